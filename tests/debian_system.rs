//! End-to-end, opt-in: a real Debian 12 arm64 system on armvm.
//!
//! `scripts/build-debian-image.sh` builds (once, into `$ARMVM_CACHE`) a bookworm
//! root file system with mmdebstrap on an ext4 image, with the kernel and
//! initramfs of that system beside it. Runs never change the cache.
//!
//! - `debian_boots_to_login_runs_commands_and_powers_off`: boots a scratch copy
//!   of the image with the system's kernel and initramfs (Linux boot protocol,
//!   no firmware), root=/dev/vda, on two vCPUs with user networking; waits for
//!   systemd's serial getty, logs in as root (empty password), runs a few
//!   commands (uname, `systemctl is-system-running --wait`, /etc/debian_version,
//!   networkctl), and powers off.
//! - `debian_system_through_builtin_uefi`: the same system through armvm's
//!   built-in UEFI, as a disk with no --kernel: `armvm image create` makes a
//!   GPT image whose ESP holds Debian's netboot GRUB as
//!   `\EFI\BOOT\BOOTAA64.EFI` (with a grub.cfg that boots /vmlinuz and
//!   /initrd.img from partition 2 with root=/dev/vda2) and whose partition 2
//!   is a copy of the cached rootfs.img. First boot (`--disk IMG --vars VARS`,
//!   the removable-media path): /proc/cmdline has root=/dev/vda2,
//!   /sys/firmware/efi exists, a non-volatile variable is written through
//!   efivarfs and, if the image has efibootmgr, `efibootmgr --create` adds
//!   Boot0000 "armvm-test" for the ESP's BOOTAA64.EFI. After poweroff the vars
//!   file, read with the firmware crate's `VariableStore`, holds the variable
//!   (and Boot0000 with its HardDrive path and BootOrder), and the ESP's bytes
//!   in the disk image are unchanged (variables live in the vars file only).
//!   Second boot with the same vars file: the guest still reads the variable
//!   and, with Boot0000, BootCurrent says the firmware booted it. Armvm only
//!   (`ARMVM_DEBIAN_QEMU` does not apply).
//!
//! Every boot must reach the login prompt, power off with armvm's exit status
//! 0, and leave a kernel log free of BUG:/WARNING:/Oops/...
//!
//! They run only with `ARMVM_DEBIAN_SYSTEM=1`: building the image needs root (or
//! sudo), binfmt_misc, qemu-user-static and a Debian mirror, and takes several
//! minutes; each boot takes a few more. Otherwise they print why they were
//! skipped and pass. `ARMVM_DEBIAN_QEMU=1` runs the first test's session on
//! `qemu-system-aarch64 -M virt` instead (to compare times or check the guest).
//! The times to the login prompt and to the end are printed (`--nocapture`).
//!
//! ```sh
//! ARMVM_DEBIAN_SYSTEM=1 cargo test --release --test debian_system -- --nocapture
//! ```

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use armvm_firmware::uefi::devpath::Node;
use armvm_firmware::uefi::guid::{Guid, GLOBAL_VARIABLE};
use armvm_firmware::uefi::load_option::{parse_u16_list, LoadOption};
use armvm_firmware::uefi::variables::{
    VariableStore, ATTR_BOOTSERVICE_ACCESS, ATTR_NON_VOLATILE, ATTR_RUNTIME_ACCESS,
};
use common::guest::test_dir;
use common::host::sha256_of;
use common::images::{
    esp_partition, netboot_grub, spec_image_with_partitions, EspLocation, GRUB_CFG_PATH,
};
use common::*;

const ENABLE_ENV: &str = "ARMVM_DEBIAN_SYSTEM";
const QEMU_ENV: &str = "ARMVM_DEBIAN_QEMU";

/// Generous: a full systemd boot on the interpreter takes minutes, and CI-sized
/// machines have 2 cores shared with other work.
const TIMEOUT: Duration = Duration::from_secs(1800);

/// The line agetty prints (from /etc/issue) just before "armvm-debian login: ".
/// The test types at this line rather than at the prompt: armvm's PL011 passes
/// output to the host at each newline, so a prompt without one only shows up
/// with the next line. Input typed after the banner is safe: agetty flushes its
/// terminal's input before printing the banner, not after.
const LOGIN_BANNER: &str = "Debian GNU/Linux 12 armvm-debian ttyAMA0";

/// The end of /etc/motd, printed by login before root's shell starts (the shell's
/// prompt has no newline either; input typed early waits in the terminal).
const MOTD_END: &str = "permitted by applicable law.";

const APPEND: &str = "root=/dev/vda console=ttyAMA0";

/// Printed by the guest's shell after the commands (computed there, so the
/// echoed command line does not match it).
const DONE_MARKER: &str = "ARMVM-COMMANDS-DONE-42";

/// The grub.cfg of the UEFI test: the system's kernel and initramfs (the
/// /vmlinuz and /initrd.img symlinks at the root of its file system) from
/// partition 2, which is also the kernel's root.
const UEFI_GRUB_CFG: &str = "set timeout=0
set default=0
menuentry 'Debian' {
    set root=(hd0,gpt2)
    linux /vmlinuz root=/dev/vda2 ro console=ttyAMA0
    initrd /initrd.img
}
";

/// The variable the guest writes through efivarfs, its vendor GUID (as in the
/// efivarfs file name) and data; written with attributes NV|BS|RT.
const TEST_VAR: &str = "ArmvmTest";
const TEST_VAR_GUID: Guid = Guid::from_u128(0x12345678_1234_1234_1234_123456789abc);
const TEST_VAR_FILE: &str =
    "/sys/firmware/efi/efivars/ArmvmTest-12345678-1234-1234-1234-123456789abc";
const TEST_VAR_DATA: &str = "armvm-efivarfs-value";

/// The efibootmgr entry of the UEFI test.
const BOOT_LABEL: &str = "armvm-test";
const REMOVABLE_PATH: &str = "\\EFI\\BOOT\\BOOTAA64.EFI";

/// Defines `report KEY VALUE` in the guest's shell, which prints a line
/// "armvm-KEY=VALUE" (see [`reported`]); the echoed command lines never hold
/// "armvm-KEY=" themselves.
const REPORT_FN: &str = "report() { printf 'armvm-%s=%s\\n' \"$1\" \"$2\"; }";

/// Held by each test while it boots: the two tests' guests would otherwise
/// share the machine's cores (libtest runs tests in parallel) and each take
/// twice as long.
static ONE_BOOT_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_boot_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_BOOT_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the opt-in variable is set; if not, says why `test` is skipped.
fn enabled(test: &str) -> bool {
    if std::env::var(ENABLE_ENV).is_ok_and(|v| v == "1") {
        return true;
    }
    say(&format!(
        "{test}: skipped: set {ENABLE_ENV}=1 (builds a Debian image, ~5-10 \
         minutes the first time, then boots it, ~2-3 minutes a boot)"
    ));
    false
}

/// The image directory, built by the script if needed.
fn debian_image() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-debian-image.sh");
    let cache = std::env::var_os("ARMVM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/armvm")
        });
    let dir = cache.join("debian-12-arm64");
    let start = Instant::now();
    let status = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
    say(&format!(
        "debian_system: image ready in {:.0} s: {}",
        start.elapsed().as_secs_f64(),
        dir.display()
    ));
    dir
}

/// Writes a line to the real stderr, past libtest's capture of print!/eprint!,
/// so that the skip notice and the timings show without --nocapture.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn tail(s: &str, n: usize) -> String {
    let start = s.len() - s.chars().rev().take(n).map(char::len_utf8).sum::<usize>();
    s[start..].to_string()
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64()))
}

/// One boot of the system (which ended with status 0): its console (stdout,
/// then armvm's stderr) and times to the login banner and to the end of the
/// commands.
struct Boot {
    out: String,
    login_at: Option<Duration>,
    done_at: Option<Duration>,
    total: Duration,
}

impl Boot {
    /// The root session: the console from the end of the motd on.
    fn session(&self) -> &str {
        &self.out[self.out.find(MOTD_END).expect("logged in")..]
    }
}

/// Boots `cmd` to the login prompt, logs in as root, runs `commands` (shell
/// commands on one line, no newline) and powers off. Writes the console to
/// `log` and prints the timings as `what`. Asserts a clean kernel log (the run
/// is cut short at the first sign of trouble), the login, the commands'
/// completion and armvm's exit status 0.
fn boot_and_run(what: &str, cmd: Command, commands: &str, log: &Path) -> Boot {
    let commands = format!("{commands}; echo ARMVM-COMMANDS-DONE-$((6*7))\n");
    let steps = [
        (LOGIN_BANNER, "root\n"),
        (MOTD_END, commands.as_str()),
        (DONE_MARKER, "poweroff\n"),
    ];
    let start = Instant::now();
    let login_at = Cell::new(None);
    let done_at = Cell::new(None);
    let (out, status) =
        run_command_script(cmd, &steps, Duration::from_secs(2), TIMEOUT, |o: &str| {
            if login_at.get().is_none() && o.contains(LOGIN_BANNER) {
                login_at.set(Some(start.elapsed()));
            }
            if done_at.get().is_none() && o.contains(DONE_MARKER) {
                done_at.set(Some(start.elapsed()));
            }
            KERNEL_TROUBLE.iter().any(|t| o.contains(t))
        });
    let boot = Boot {
        out,
        login_at: login_at.get(),
        done_at: done_at.get(),
        total: start.elapsed(),
    };
    let _ = std::fs::write(log, &boot.out);
    say(&format!(
        "{what}: login prompt after {} s, commands done after {} s, exit after {:.1} s \
         (status {status:?}); console log in {}",
        secs(boot.login_at),
        secs(boot.done_at),
        boot.total.as_secs_f64(),
        log.display()
    ));

    assert_no_kernel_trouble(&boot.out);
    assert!(
        boot.login_at.is_some(),
        "{what}: no login prompt (status {status:?}); last output:\n{}",
        tail(&boot.out, 4000)
    );
    assert!(
        boot.done_at.is_some(),
        "{what}: the commands did not run (status {status:?}); last output:\n{}",
        tail(&boot.out, 4000)
    );
    assert_eq!(
        status,
        Some(0),
        "{what}: poweroff did not end the machine with status 0; last output:\n{}",
        tail(&boot.out, 4000)
    );
    boot
}

/// The value the guest reported with `report KEY VALUE` (trimmed; "" for an empty
/// one). Panics with the session if it reported none.
fn reported(session: &str, key: &str) -> String {
    let needle = format!("armvm-{key}=");
    session
        .lines()
        .find_map(|l| {
            l.find(&needle)
                .map(|p| l[p + needle.len()..].trim().to_string())
        })
        .unwrap_or_else(|| panic!("the guest reported no {key}:\n{}", tail(session, 6000)))
}

#[test]
fn debian_boots_to_login_runs_commands_and_powers_off() {
    if !enabled("debian_system") {
        return;
    }
    let _one = one_boot_at_a_time();
    let image = debian_image();
    let dir = scratch_dir("debian_system");
    let disk = dir.join("rootfs.img");
    let _ = std::fs::remove_file(&disk);
    let status = Command::new("cp")
        .arg("--sparse=always")
        .arg(image.join("rootfs.img"))
        .arg(&disk)
        .status()
        .expect("run cp");
    assert!(status.success(), "copying rootfs.img failed");

    let on_qemu = std::env::var(QEMU_ENV).is_ok_and(|v| v == "1");
    let (kernel, initrd, disk_path) = (
        image.join("vmlinuz").display().to_string(),
        image.join("initrd.img").display().to_string(),
        disk.display().to_string(),
    );
    let cmd = if on_qemu {
        let mut c = Command::new("qemu-system-aarch64");
        c.args("-M virt -cpu cortex-a57 -m 1024 -smp 2 -nographic -no-reboot".split(' '));
        c.args(["-kernel", &kernel, "-initrd", &initrd, "-append", APPEND]);
        c.arg("-drive")
            .arg(format!("if=none,id=d0,file={disk_path},format=raw"));
        c.args("-device virtio-blk-device,drive=d0 -netdev user,id=n0".split(' '));
        c.args("-device virtio-net-device,netdev=n0".split(' '));
        c
    } else {
        let mut c = armvm();
        c.args(["run", "-m", "1024", "--smp", "2", "--kernel", &kernel]);
        c.args(["--initrd", &initrd, "--append", APPEND]);
        c.args(["--disk", &disk_path, "--net", "user"]);
        c
    };
    let commands = "uname -a; systemctl is-system-running --wait || true; \
                    systemctl --failed --no-legend --no-pager; cat /etc/debian_version; \
                    networkctl --no-pager list";
    let what = if on_qemu {
        "debian_system: qemu-system-aarch64"
    } else {
        "debian_system: armvm"
    };
    let boot = boot_and_run(what, cmd, commands, &dir.join("console.log"));

    let session = boot.session();
    assert!(
        session.contains("aarch64 GNU/Linux"),
        "uname -a:\n{session}"
    );
    let version = session
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("12.") && l.chars().all(|c| c.is_ascii_digit() || c == '.'));
    assert!(version.is_some(), "no Debian 12 version:\n{session}");
    let state = ["running", "degraded", "starting", "maintenance"]
        .into_iter()
        .find(|s| session.lines().any(|l| l.trim() == *s));
    say(&format!(
        "debian_system: systemctl is-system-running: {state:?}"
    ));
    let _ = std::fs::remove_file(&disk);
}

/// The SHA-256 of the ESP's bytes in the disk image.
fn esp_hash(img: &Path, esp: &EspLocation) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(img).unwrap_or_else(|e| panic!("{}: {e}", img.display()));
    f.seek(SeekFrom::Start(esp.start_lba * 512)).unwrap();
    let mut bytes = vec![0u8; (esp.size_lba * 512) as usize];
    f.read_exact(&mut bytes).unwrap();
    sha256_of(&bytes)
}

/// `armvm run --disk DISK --vars VARS` on two vCPUs: the built-in UEFI boots
/// the disk (no --kernel).
fn uefi_boot_command(disk: &Path, vars: &Path) -> Command {
    let mut c = armvm();
    c.args(["run", "-m", "1024", "--smp", "2", "--no-reboot", "--disk"])
        .arg(disk)
        .arg("--vars")
        .arg(vars);
    c
}

#[test]
fn debian_system_through_builtin_uefi() {
    const NAME: &str = "debian_system_through_builtin_uefi";
    if !enabled(NAME) {
        return;
    }
    let _one = one_boot_at_a_time();
    let image = debian_image();
    let dir = test_dir("debian_system", "builtin_uefi");
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, UEFI_GRUB_CFG).unwrap();
    // --partition only reads the cached image: the root partition is a copy.
    let start = Instant::now();
    let disk = spec_image_with_partitions(
        &dir,
        "disk.img",
        &netboot_grub(),
        &[(cfg, GRUB_CFG_PATH)],
        None,
        "64M",
        &[(&image.join("rootfs.img"), "root-arm64")],
    );
    let esp = esp_partition(&disk);
    assert_eq!(esp.number, 1, "the ESP is partition 1: {esp:?}");
    let esp_before = esp_hash(&disk, &esp);
    say(&format!(
        "{NAME}: disk image made in {:.1} s: {}",
        start.elapsed().as_secs_f64(),
        disk.display()
    ));
    let vars = dir.join("vars");

    // First boot: the removable-media path (the vars file does not exist yet).
    // efivarfs files cannot seek: tail reads them through a pipe.
    let commands = format!(
        "{REPORT_FN}; report cmdline \"$(cat /proc/cmdline)\"; \
         report efi \"$(test -d /sys/firmware/efi && echo yes || echo no)\"; \
         printf '\\007\\000\\000\\000{TEST_VAR_DATA}' > {TEST_VAR_FILE}; report written $?; \
         report var \"$(cat {TEST_VAR_FILE} | tail -c +5)\"; \
         if command -v efibootmgr >/dev/null; then report efibootmgr yes; \
         efibootmgr --create --disk /dev/vda --part 1 --label {BOOT_LABEL} \
         --loader '{REMOVABLE_PATH}'; report created $?; efibootmgr; \
         else report efibootmgr no; fi"
    );
    let first = boot_and_run(
        &format!("{NAME}: first boot"),
        uefi_boot_command(&disk, &vars),
        &commands,
        &dir.join("console-1.log"),
    );
    let session = first.session();
    let cmdline = reported(session, "cmdline");
    assert!(
        cmdline.split_whitespace().any(|w| w == "root=/dev/vda2"),
        "/proc/cmdline is {cmdline:?}, not GRUB's root=/dev/vda2"
    );
    assert_eq!(
        reported(session, "efi"),
        "yes",
        "no /sys/firmware/efi: the kernel did not see the UEFI"
    );
    assert_eq!(
        reported(session, "written"),
        "0",
        "writing {TEST_VAR_FILE} failed:\n{}",
        tail(session, 4000)
    );
    assert_eq!(reported(session, "var"), TEST_VAR_DATA);
    let with_efibootmgr = match reported(session, "efibootmgr").as_str() {
        "yes" => true,
        "no" => false,
        other => panic!("efibootmgr: {other:?}"),
    };
    if with_efibootmgr {
        assert_eq!(
            reported(session, "created"),
            "0",
            "efibootmgr --create failed:\n{}",
            tail(session, 4000)
        );
        assert!(
            session.contains(&format!("Boot0000* {BOOT_LABEL}")),
            "efibootmgr does not list Boot0000* {BOOT_LABEL}:\n{}",
            tail(session, 4000)
        );
    } else {
        say(&format!(
            "{NAME}: the image has no efibootmgr (an image built before it joined \
             build-debian-image.sh's packages): no Boot#### is created"
        ));
    }

    // The vars file, as the firmware will read it.
    let store = VariableStore::open(&vars)
        .unwrap_or_else(|e| panic!("{}: not a valid vars file: {e}", vars.display()));
    let var = store
        .get_str(TEST_VAR, &TEST_VAR_GUID)
        .unwrap_or_else(|| panic!("{TEST_VAR}-{TEST_VAR_GUID} is not in the vars file"));
    assert_eq!(
        var.attributes,
        ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS
    );
    assert_eq!(var.data, TEST_VAR_DATA.as_bytes());
    if with_efibootmgr {
        let boot0000 = store
            .get_str("Boot0000", &GLOBAL_VARIABLE)
            .expect("efibootmgr's Boot0000 is in the vars file");
        let option = LoadOption::parse(&boot0000.data)
            .unwrap_or_else(|e| panic!("Boot0000 as efibootmgr wrote it: {e}"));
        assert_eq!(option.description, BOOT_LABEL);
        assert!(option.is_active(), "Boot0000 is not active: {option:?}");
        let path = option.paths.first().expect("Boot0000 has a device path");
        assert_eq!(
            path.file_path().as_deref(),
            Some(REMOVABLE_PATH),
            "Boot0000: {option:?}"
        );
        assert!(
            matches!(
                path.nodes.first(),
                Some(Node::HardDrive { partition: 1, start_lba, size_lba, signature, .. })
                    if *start_lba == esp.start_lba && *size_lba == esp.size_lba
                        && *signature == esp.unique_guid
            ),
            "Boot0000's path does not start with the ESP's HardDrive node ({esp:?}): {option:?}"
        );
        let order = store
            .get_str("BootOrder", &GLOBAL_VARIABLE)
            .expect("efibootmgr's BootOrder is in the vars file");
        let order = parse_u16_list(&order.data).expect("BootOrder is a UINT16 array");
        assert_eq!(order.first(), Some(&0), "BootOrder {order:04X?}");
    }
    assert_eq!(
        esp_hash(&disk, &esp),
        esp_before,
        "the ESP's bytes changed in the first boot: variables belong in --vars"
    );

    // Second boot with the same vars file: Boot0000 (BootOrder) if efibootmgr
    // made it, the removable-media path otherwise.
    let commands = format!(
        "{REPORT_FN}; report cmdline \"$(cat /proc/cmdline)\"; \
         report var \"$(cat {TEST_VAR_FILE} | tail -c +5)\"; \
         report bootcurrent \"$(od -An -tx1 \
         /sys/firmware/efi/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c)\""
    );
    let second = boot_and_run(
        &format!("{NAME}: second boot"),
        uefi_boot_command(&disk, &vars),
        &commands,
        &dir.join("console-2.log"),
    );
    let session = second.session();
    let cmdline = reported(session, "cmdline");
    assert!(
        cmdline.split_whitespace().any(|w| w == "root=/dev/vda2"),
        "second boot: /proc/cmdline is {cmdline:?}"
    );
    assert_eq!(
        reported(session, "var"),
        TEST_VAR_DATA,
        "second boot: {TEST_VAR_FILE} does not read back"
    );
    // efivarfs: the attributes (UINT32 LE), then the data.
    let boot_current = reported(session, "bootcurrent");
    say(&format!(
        "{NAME}: second boot: BootCurrent (efivarfs) {boot_current:?}"
    ));
    if with_efibootmgr {
        let bytes: Vec<&str> = boot_current.split_whitespace().collect();
        assert!(
            bytes.len() == 6 && bytes[4..] == ["00", "00"],
            "second boot: BootCurrent is {boot_current:?}, not Boot0000: the firmware \
             did not boot efibootmgr's entry:\n{}",
            tail(&second.out, 6000)
        );
    }
    let store = VariableStore::open(&vars).expect("the vars file is valid after the second boot");
    assert_eq!(
        store.get_str(TEST_VAR, &TEST_VAR_GUID).map(|v| &v.data[..]),
        Some(TEST_VAR_DATA.as_bytes()),
        "{TEST_VAR} after the second boot"
    );
    assert_eq!(
        esp_hash(&disk, &esp),
        esp_before,
        "the ESP's bytes changed in the second boot"
    );
    say(&format!(
        "{NAME}: two boots in {:.1} s",
        (first.total + second.total).as_secs_f64()
    ));
    let _ = std::fs::remove_file(&disk);
}
