//! End-to-end: armvm's built-in UEFI (no `--bios`) boots real EFI programs.
//!
//! - Debian's GRUB from an `armvm image create` disk, through the kernel's EFI
//!   stub, to the installer's "Select a language" (the boot manager's
//!   removable-media path); the same from a disk made with sgdisk, mkfs.vfat
//!   and mtools only.
//! - `--firmware uefi --kernel`: the installer kernel's EFI stub started
//!   directly, its command line in LoadOptions and the initrd served through
//!   LoadFile2 (the stub says it loaded it from LINUX_EFI_INITRD_MEDIA_GUID).
//! - A Boot#### variable prepared with the firmware crate's own API in a
//!   `--vars` file: a short-form (HardDrive) device path to the kernel as
//!   `\EFI\BOOT\BOOTAA64.EFI` and its command line as OptionalData.
//! - systemd-boot 252 (Debian's `systemd-boot-efi:arm64`): its menu on the
//!   serial console waits for a key (`timeout menu-force`); Enter starts its
//!   entry, whose initrd systemd-boot serves itself through LoadFile2.
//! - Images that cannot boot (zeros, no boot program, an x86-64 program, a
//!   broken primary GPT over a good backup) and bad `--vars` files give the
//!   right messages and exit statuses quickly.
//! - Variables persist across runs: BootNext is consumed once, everything
//!   else survives, and the disk image is never written.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use armvm_firmware::image::pe::{minimal_image, MACHINE_ARM64, MACHINE_X86_64};
use armvm_firmware::uefi::devpath::{DevicePath, Node};
use armvm_firmware::uefi::guid::{Guid, GLOBAL_VARIABLE};
use armvm_firmware::uefi::load_option::{LoadOption, LOAD_OPTION_ACTIVE};
use armvm_firmware::uefi::variables::{
    Variable, VariableStore, ATTR_BOOTSERVICE_ACCESS, ATTR_NON_VOLATILE, ATTR_RUNTIME_ACCESS,
};
use common::guest::test_dir;
use common::host::{host_tool, pseudo_random, Running};
use common::images::{
    esp_of, esp_partition, installer_image, mtools, spec_image, EspLocation, GRUB_CFG,
    GRUB_CFG_PATH, INSTALLER_INITRD_PATH, INSTALLER_KERNEL_PATH,
};
use common::*;

/// Generous, as in firmware_boot.rs: GRUB or the stub starts within seconds and
/// the installer screen follows about a minute later on an idle machine; CI
/// has 2 cores and runs the boots in parallel.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);
/// For runs where nothing boots: the firmware gives up in about a second, but
/// other tests' guests may hold both cores.
const FAST_TIMEOUT: Duration = Duration::from_secs(180);

const INSTALLER_SCREEN: &str = "Select a language";
const NO_BOOTABLE: &str = "no bootable";
/// The message of Linux 6.1's EFI stub when the firmware's LoadFile2 served the initrd.
const STUB_LOADFILE2_INITRD: &str =
    "EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path";
const REMOVABLE_PATH: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";

fn fresh_dir(test: &str) -> PathBuf {
    test_dir("uefi_boot", test)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn tail(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(6000)..].iter().collect()
}

/// `armvm run -m 1G --no-reboot ARGS...`.
fn armvm_run(args: &[&str]) -> Command {
    let mut cmd = armvm();
    cmd.args(["run", "-m", "1G", "--no-reboot"]).args(args);
    cmd
}

/// Stdout and stderr of a finished [`Running`].
fn all_output(guest: &Running) -> String {
    format!("{}\n--- stderr ---\n{}", guest.stdout(), guest.stderr())
}

/// Stops a guest that is still running with SIGTERM; asserts armvm's status 143.
fn stop(guest: &mut Running) {
    if guest.try_status().is_none() {
        guest.signal(libc::SIGTERM);
    }
    let status = guest.wait_exit(Duration::from_secs(30));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(143),
        "SIGTERM stops armvm:\n{}",
        tail(&all_output(guest))
    );
}

/// Boots `armvm run -m 1G --no-reboot ARGS` until the console shows `until`,
/// then stops it with SIGTERM. Returns stdout + stderr.
fn boot_until(args: &[&str], until: &str) -> String {
    let mut guest = Running::spawn(armvm_run(args), Stdio::null());
    let reached = guest.wait_for(until, BOOT_TIMEOUT);
    if reached.is_err() {
        if guest.try_status().is_none() {
            guest.signal(libc::SIGTERM);
        }
        guest.wait_exit(Duration::from_secs(30));
        panic!(
            "no '{until}': {:?}\n{}",
            reached.err(),
            tail(&all_output(&guest))
        );
    }
    stop(&mut guest);
    all_output(&guest)
}

/// Runs armvm until it exits by itself (within FAST_TIMEOUT); returns stdout +
/// stderr and the exit status (None: it had to be killed).
fn run_to_exit(args: &[&str]) -> (String, Option<i32>) {
    let mut full = vec!["run", "-m", "1G", "--no-reboot"];
    full.extend_from_slice(args);
    run_until(&full, None, FAST_TIMEOUT, |_| false)
}

/// The boot manager's lines about failed boot options: those starting with
/// "armvm: " (console lines end in CR LF).
fn armvm_lines(out: &str) -> Vec<&str> {
    out.lines()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("armvm: "))
        .collect()
}

/// Byte offset of `needle` in `out`, panicking with the output if absent.
fn position(out: &str, needle: &str) -> usize {
    out.find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in the output:\n{}", tail(out)))
}

/// The kernel's command line as it printed it ("Kernel command line: ...").
fn kernel_command_line(out: &str) -> String {
    const KEY: &str = "Kernel command line: ";
    out.lines()
        .find_map(|l| l.find(KEY).map(|p| l[p + KEY.len()..].trim().to_string()))
        .unwrap_or_else(|| panic!("no {KEY:?} in the output:\n{}", tail(out)))
}

/// Asserts a firmware run that found nothing to boot: non-zero exit by itself,
/// at least one "armvm: " line about a failed option before the final line
/// saying "no bootable". Returns the "armvm: " lines.
fn assert_nothing_boots(out: &str, status: Option<i32>) -> Vec<String> {
    assert!(
        status.is_some(),
        "armvm did not exit by itself within {FAST_TIMEOUT:?}:\n{}",
        tail(out)
    );
    assert_ne!(
        status,
        Some(0),
        "nothing bootable must not exit 0:\n{}",
        tail(out)
    );
    let last = position(out, NO_BOOTABLE);
    let lines = armvm_lines(&out[..last]);
    assert!(
        !lines.is_empty(),
        "no 'armvm: ' line about a failed option before '{NO_BOOTABLE}':\n{}",
        tail(out)
    );
    lines.iter().map(|l| l.to_string()).collect()
}

/// UTF-16LE with a NUL terminator, as LoadOptions command lines are.
fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn utf16(name: &str) -> Vec<u16> {
    name.encode_utf16().collect()
}

const NV_BS_RT: u32 = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS;

/// Sets a non-volatile EFI_GLOBAL_VARIABLE as a guest's SetVariable would.
fn set_global(store: &mut VariableStore, name: &str, data: &[u8]) {
    store
        .set(&utf16(name), &GLOBAL_VARIABLE, NV_BS_RT, data, false)
        .unwrap_or_else(|e| panic!("SetVariable {name}: {e:?}"));
}

/// An active EFI_LOAD_OPTION whose path is the short form efibootmgr writes:
/// the ESP's HardDrive node (GPT, partition GUID signature), then `file`.
fn boot_option(esp: &EspLocation, file: &str, description: &str, optional: &[u8]) -> Vec<u8> {
    let path = DevicePath::new(vec![
        Node::HardDrive {
            partition: esp.number,
            start_lba: esp.start_lba,
            size_lba: esp.size_lba,
            signature: esp.unique_guid,
            format: 2,
            signature_type: 2,
        },
        Node::FilePath(file.to_string()),
    ]);
    LoadOption {
        attributes: LOAD_OPTION_ACTIVE,
        description: description.to_string(),
        paths: vec![path],
        optional_data: optional.to_vec(),
    }
    .to_bytes()
}

fn u16_list(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A small spec image whose boot program is a minimal ARM64 PE (it is
/// replaced or deleted by the tests that use it).
fn small_image(dir: &Path, name: &str) -> PathBuf {
    let efi = dir.join("minimal.efi");
    std::fs::write(&efi, minimal_image(MACHINE_ARM64, true, 10)).unwrap();
    spec_image(dir, name, &efi, &[], "50M", "40M")
}

/// A small spec image without `\EFI\BOOT\BOOTAA64.EFI`.
fn image_without_boot_program(dir: &Path, name: &str) -> PathBuf {
    let img = small_image(dir, name);
    mtools(Command::new("mdel").args(["-i", &esp_of(&img), "::/EFI/BOOT/BOOTAA64.EFI"]));
    img
}

/// A small spec image whose `\EFI\BOOT\BOOTAA64.EFI` is an x86-64 EFI application.
fn image_with_x86_program(dir: &Path, name: &str) -> PathBuf {
    let img = small_image(dir, name);
    let x86 = dir.join("x86.efi");
    std::fs::write(&x86, minimal_image(MACHINE_X86_64, true, 10)).unwrap();
    mtools(
        Command::new("mcopy")
            .args(["-o", "-i", &esp_of(&img)])
            .arg(&x86)
            .arg("::/EFI/BOOT/BOOTAA64.EFI"),
    );
    img
}

#[test]
fn builtin_uefi_boots_grub_to_the_installer() {
    let dir = fresh_dir("grub");
    let image = installer_image(&dir);
    let out = boot_until(&["--disk", s(&image)], INSTALLER_SCREEN);
    assert_no_kernel_trouble(&out);
    let stub = position(&out, "EFI stub: ");
    assert!(
        stub < position(&out, INSTALLER_SCREEN),
        "the kernel's EFI stub ran before the installer:\n{}",
        tail(&out)
    );
}

#[test]
fn builtin_uefi_starts_the_kernel_stub_directly() {
    let (kernel, initrd) = installer_images();
    let cmdline = "console=ttyAMA0 armvm.uefi=direct";
    let out = boot_until(
        &[
            "--firmware",
            "uefi",
            "--kernel",
            s(&kernel),
            "--initrd",
            s(&initrd),
            "--append",
            cmdline,
        ],
        INSTALLER_SCREEN,
    );
    assert_no_kernel_trouble(&out);
    // The stub's order: it starts, loads the initrd, then leaves the firmware.
    let served = position(&out, STUB_LOADFILE2_INITRD);
    assert!(
        position(&out, "EFI stub: Booting Linux Kernel") < served
            && served < position(&out, "EFI stub: Exiting boot services"),
        "{}",
        tail(&out)
    );
    assert_eq!(
        kernel_command_line(&out),
        cmdline,
        "LoadOptions is the --append string"
    );
}

#[test]
fn kernel_as_bootaa64_with_load_options() {
    let dir = fresh_dir("boot_option");
    let (kernel, _) = installer_images();
    // The kernel's EFI stub is the removable-media program too: if Boot0001
    // were not used, the kernel would start without its command line.
    let image = spec_image(&dir, "kernel.img", &kernel, &[], "100M", "90M");
    let esp = esp_partition(&image);
    let cmdline = "console=ttyAMA0 armvm.option=Boot0001";
    let vars = dir.join("vars");
    let mut store = VariableStore::open(&vars).expect("a missing --vars file is an empty store");
    set_global(
        &mut store,
        "Boot0001",
        &boot_option(&esp, REMOVABLE_PATH, "linux", &ucs2(cmdline)),
    );
    set_global(&mut store, "BootOrder", &u16_list(&[1]));
    store.save().unwrap();
    assert!(vars.is_file());

    let mut guest = Running::spawn(
        armvm_run(&["--disk", s(&image), "--vars", s(&vars)]),
        Stdio::null(),
    );
    let reached = guest.wait_for("Kernel command line: ", BOOT_TIMEOUT);
    // The rest of the line.
    std::thread::sleep(Duration::from_secs(2));
    let out = all_output(&guest);
    stop(&mut guest);
    assert!(reached.is_ok(), "{:?}\n{}", reached.err(), tail(&out));
    let line_at = position(&out, "Kernel command line: ");
    // (Without an initrd the kernel panics later, looking for a root file system.)
    assert_no_kernel_trouble(&out[..line_at]);
    assert!(out[..line_at].contains("EFI stub: "), "{}", tail(&out));
    assert_eq!(
        kernel_command_line(&out),
        cmdline,
        "Boot0001's OptionalData is the kernel's LoadOptions:\n{}",
        tail(&out)
    );
    // The store is still valid and still holds the option.
    let after = VariableStore::open(&vars).expect("--vars still valid after the run");
    assert!(after.get_str("Boot0001", &GLOBAL_VARIABLE).is_some());
}

#[test]
fn systemd_boot_menu_and_entry() {
    let dir = fresh_dir("systemd_boot");
    let (kernel, initrd) = installer_images();
    let sd_boot = guest_package("systemd-boot-efi:arm64")
        .join("usr/lib/systemd/boot/efi/systemd-bootaa64.efi");
    assert!(sd_boot.is_file(), "{} is missing", sd_boot.display());
    let title = "Debian installer on armvm";
    let loader_conf = dir.join("loader.conf");
    std::fs::write(&loader_conf, "timeout menu-force\ndefault debian.conf\n").unwrap();
    let entry = dir.join("debian.conf");
    std::fs::write(
        &entry,
        format!(
            "title {title}\nlinux /installer/linux\ninitrd /installer/initrd.gz\n\
             options console=ttyAMA0\n"
        ),
    )
    .unwrap();
    let image = spec_image(
        &dir,
        "sd-boot.img",
        &sd_boot,
        &[
            (loader_conf, "loader/loader.conf"),
            (entry, "loader/entries/debian.conf"),
            (kernel, "installer/linux"),
            (initrd, "installer/initrd.gz"),
        ],
        "128M",
        "120M",
    );

    // Typed input comes through a pipe the test holds.
    let (read_end, mut keyboard) = std::io::pipe().unwrap();
    let mut guest = Running::spawn(armvm_run(&["--disk", s(&image)]), Stdio::from(read_end));

    let menu = guest.wait_for(title, BOOT_TIMEOUT);
    if let Err(e) = &menu {
        let out = guest.output();
        stop(&mut guest);
        panic!("no systemd-boot menu entry '{title}': {e}\n{out}");
    }
    // `timeout menu-force`: the menu waits for a key.
    std::thread::sleep(Duration::from_secs(3));
    let before_key = guest.stdout();
    assert!(
        !before_key.contains("EFI stub"),
        "systemd-boot booted without a key:\n{}",
        tail(&before_key)
    );
    keyboard.write_all(b"\r").unwrap();
    keyboard.flush().unwrap();
    let reached = guest.wait_for(INSTALLER_SCREEN, BOOT_TIMEOUT);
    let out = all_output(&guest);
    stop(&mut guest);
    assert!(reached.is_ok(), "{:?}\n{}", reached.err(), tail(&out));
    assert_no_kernel_trouble(&out);
    let menu_at = position(&out, title);
    assert!(
        menu_at < position(&out, "EFI stub: "),
        "the menu came before the kernel:\n{}",
        tail(&out)
    );
    // systemd-boot registers its own LoadFile2 initrd device; the stub finds it.
    assert!(
        out.contains(STUB_LOADFILE2_INITRD),
        "the stub did not get the initrd from systemd-boot's LoadFile2:\n{}",
        tail(&out)
    );
    // systemd-boot 252 puts "initrd=\installer\initrd.gz" before the options
    // (for kernels without LoadFile2 support).
    let cmdline = kernel_command_line(&out);
    assert!(
        cmdline.split_whitespace().any(|w| w == "console=ttyAMA0"),
        "the entry's options reach the kernel: {cmdline:?}\n{}",
        tail(&out)
    );
}

#[test]
fn standard_tools_image() {
    let dir = fresh_dir("standard_tools");
    let (kernel, initrd) = installer_images();
    let grub = kernel.with_file_name("grubaa64.efi");
    let img = dir.join("std.img");
    host_tool(Command::new("truncate").args(["-s", "128M"]).arg(&img));
    host_tool(
        Command::new("sgdisk")
            .args(["-n", "1:2048:+120M", "-t", "1:EF00", "-c", "1:ESP"])
            .arg(&img),
    );
    // mkfs.vfat counts 1 KiB blocks: 120 MiB.
    host_tool(
        Command::new("mkfs.vfat")
            .args(["-F", "32", "-n", "STDESP", "--offset", "2048"])
            .arg(&img)
            .arg("122880"),
    );
    let esp = esp_of(&img);
    mtools(Command::new("mmd").args([
        "-i",
        &esp,
        "::/EFI",
        "::/EFI/BOOT",
        "::/debian-installer",
        "::/debian-installer/arm64",
        "::/debian-installer/arm64/grub",
    ]));
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, GRUB_CFG).unwrap();
    for (src, dest) in [
        (grub, "EFI/BOOT/BOOTAA64.EFI".to_string()),
        (cfg, GRUB_CFG_PATH.to_string()),
        (kernel, INSTALLER_KERNEL_PATH.to_string()),
        (initrd, INSTALLER_INITRD_PATH.to_string()),
    ] {
        mtools(
            Command::new("mcopy")
                .args(["-i", &esp])
                .arg(&src)
                .arg(format!("::/{dest}")),
        );
    }
    let out = boot_until(&["--disk", s(&img)], INSTALLER_SCREEN);
    assert_no_kernel_trouble(&out);
    assert!(
        position(&out, "EFI stub: ") < position(&out, INSTALLER_SCREEN),
        "{}",
        tail(&out)
    );
}

#[test]
fn bad_images_disk_of_zeros() {
    let dir = fresh_dir("zeros");
    let img = dir.join("zeros.img");
    std::fs::write(&img, vec![0u8; 16 << 20]).unwrap();
    let (out, status) = run_to_exit(&["--disk", s(&img)]);
    assert_nothing_boots(&out, status);
    assert!(
        std::fs::read(&img).unwrap().iter().all(|&b| b == 0),
        "the firmware wrote to the disk"
    );
    // armvm's own message on stderr has its prefix once.
    assert!(
        !out.contains("armvm: armvm: "),
        "a message with its 'armvm: ' prefix twice:\n{}",
        tail(&out)
    );
}

#[test]
fn bad_images_no_boot_program() {
    let dir = fresh_dir("no_program");
    let img = image_without_boot_program(&dir, "none.img");
    let (out, status) = run_to_exit(&["--disk", s(&img)]);
    let lines = assert_nothing_boots(&out, status);
    assert!(
        lines.iter().any(|l| l.contains(REMOVABLE_PATH)),
        "no 'armvm: ' line names {REMOVABLE_PATH}: {lines:#?}\n{}",
        tail(&out)
    );
}

#[test]
fn bad_images_x86_64_boot_program() {
    let dir = fresh_dir("x86");
    let img = image_with_x86_program(&dir, "x86.img");
    let (out, status) = run_to_exit(&["--disk", s(&img)]);
    let lines = assert_nothing_boots(&out, status);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("x86-64") && l.contains("ARM64")),
        "no 'armvm: ' line says the program is for x86-64, not ARM64: {lines:#?}\n{}",
        tail(&out)
    );
}

#[test]
fn bad_images_primary_gpt_broken_backup_used() {
    // The boot manager finds the ESP through the backup GPT and reads the
    // (x86-64) program from it: the failure is about that program, not the GPT.
    let dir = fresh_dir("gpt_backup");
    let img = image_with_x86_program(&dir, "crc.img");
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[512 + 16] ^= 0xFF; // the primary header's CRC32
    std::fs::write(&img, &bytes).unwrap();
    let (out, status) = run_to_exit(&["--disk", s(&img)]);
    let lines = assert_nothing_boots(&out, status);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("x86-64") && l.contains("ARM64")),
        "the program was not read through the backup GPT: {lines:#?}\n{}",
        tail(&out)
    );
}

#[test]
fn bad_images_bad_vars_files_exit_2() {
    let dir = fresh_dir("bad_vars");
    let img = small_image(&dir, "disk.img");
    // A valid store with one byte changed (CRC mismatch).
    let corrupt = dir.join("corrupt.vars");
    let mut store = VariableStore::open(&corrupt).unwrap();
    set_global(&mut store, "BootOrder", &u16_list(&[1, 2]));
    store.save().unwrap();
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x55;
    std::fs::write(&corrupt, &bytes).unwrap();
    // Random bytes.
    let random = dir.join("random.vars");
    std::fs::write(&random, pseudo_random(4096, 7)).unwrap();
    // EDK2's variable flash image (what --bios takes).
    let edk2 = dir.join("AAVMF_VARS.fd");
    std::fs::copy(
        guest_package("qemu-efi-aarch64").join("usr/share/AAVMF/AAVMF_VARS.fd"),
        &edk2,
    )
    .unwrap();

    for (file, why) in [
        (&corrupt, "corrupt"),
        (&random, "not an armvm variable store"),
        (&edk2, "not an armvm variable store"),
    ] {
        let before = std::fs::read(file).unwrap();
        let (out, status) = run_to_exit(&["--disk", s(&img), "--vars", s(file)]);
        assert_eq!(status, Some(2), "{}: {}", file.display(), tail(&out));
        let stderr = out.split("--- stderr ---").nth(1).unwrap_or("");
        assert!(
            stderr.contains(s(file)),
            "the message names the file {}:\n{out}",
            file.display()
        );
        assert!(
            stderr.contains(why),
            "{}: the message says {why:?}:\n{out}",
            file.display()
        );
        assert!(
            !out.contains(NO_BOOTABLE),
            "the firmware ran with a bad --vars file:\n{}",
            tail(&out)
        );
        assert!(
            std::fs::read(file).unwrap() == before,
            "{} was changed",
            file.display()
        );
    }
}

#[test]
fn variables_persist_across_runs() {
    let dir = fresh_dir("persist");
    // Nothing on this disk boots, so each run ends quickly after trying every
    // option; the variables are saved when armvm stops.
    let img = image_without_boot_program(&dir, "disk.img");
    let esp = esp_partition(&img);
    let vars = dir.join("vars");
    let vendor = Guid::from_u128(0x3F2D_1B7A_8C4E_4E5B_9A61_0D7C_2E48_A915);
    let mut store = VariableStore::open(&vars).unwrap();
    set_global(
        &mut store,
        "Boot0001",
        &boot_option(&esp, "\\EFI\\armvm\\order.efi", "in BootOrder", &[]),
    );
    set_global(
        &mut store,
        "Boot0002",
        &boot_option(&esp, "\\EFI\\armvm\\next.efi", "BootNext", &[]),
    );
    set_global(&mut store, "BootOrder", &u16_list(&[1]));
    set_global(&mut store, "BootNext", &u16_list(&[2]));
    store
        .set(
            &utf16("ArmvmTest"),
            &vendor,
            ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS,
            b"kept across runs",
            false,
        )
        .unwrap();
    store.save().unwrap();
    let kept: Vec<(&str, Guid)> = vec![
        ("Boot0001", GLOBAL_VARIABLE),
        ("Boot0002", GLOBAL_VARIABLE),
        ("BootOrder", GLOBAL_VARIABLE),
        ("ArmvmTest", vendor),
    ];
    let originals: Vec<Variable> = kept
        .iter()
        .map(|(name, guid)| store.get_str(name, guid).unwrap().clone())
        .collect();
    let disk_before = std::fs::read(&img).unwrap();
    let mentions_next = |l: &str| l.contains("Boot0002") || l.contains("next.efi");
    let mentions_order = |l: &str| l.contains("Boot0001") || l.contains("order.efi");

    // First run: BootNext's option first, then BootOrder's, then the
    // removable-media path; BootNext is deleted before its option is tried.
    let (out, status) = run_to_exit(&["--disk", s(&img), "--vars", s(&vars)]);
    let lines = assert_nothing_boots(&out, status);
    let next = lines.iter().position(|l| mentions_next(l));
    let order = lines.iter().position(|l| mentions_order(l));
    assert!(
        matches!((next, order), (Some(n), Some(o)) if n < o),
        "Boot0002 (BootNext) must be tried, and before Boot0001 (BootOrder): {lines:#?}\n{}",
        tail(&out)
    );
    let check_store = |when: &str| {
        let after =
            VariableStore::open(&vars).unwrap_or_else(|e| panic!("--vars unreadable {when}: {e}"));
        assert!(
            after.get_str("BootNext", &GLOBAL_VARIABLE).is_none(),
            "BootNext is still set {when}"
        );
        for ((name, guid), original) in kept.iter().zip(&originals) {
            assert_eq!(
                after.get_str(name, guid),
                Some(original),
                "{name} changed {when}"
            );
        }
    };
    check_store("after the first run");

    // Second run: BootNext is gone, so Boot0002 is not tried again.
    let (out, status) = run_to_exit(&["--disk", s(&img), "--vars", s(&vars)]);
    let lines = assert_nothing_boots(&out, status);
    assert!(
        lines.iter().any(|l| mentions_order(l)),
        "Boot0001 is tried again: {lines:#?}\n{}",
        tail(&out)
    );
    assert!(
        !lines.iter().any(|l| mentions_next(l)),
        "Boot0002 was tried without BootNext: {lines:#?}\n{}",
        tail(&out)
    );
    check_store("after the second run");

    assert!(
        std::fs::read(&img).unwrap() == disk_before,
        "the disk image changed: variables live in --vars only"
    );
}
