//! End-to-end: firmware from Debian's archive boots a portable disk image.
//!
//! The image is made by `armvm image create` (the ARM VM System Specification's
//! layout: GPT, a FAT32 EFI System Partition with `\EFI\BOOT\BOOTAA64.EFI`):
//! Debian's GRUB (`grubaa64.efi` from the netboot installer) with a grub.cfg
//! that boots the installer's kernel and initrd from the ESP. `--bios` starts
//! EDK2 (`qemu-efi-aarch64`, QEMU_EFI.fd) or U-Boot (`u-boot-qemu`) from the
//! flash, which finds the removable-media path on the virtio disk, runs GRUB,
//! which runs the kernel's EFI stub; the installer reaches "Select a language".
//! EDK2 keeps its variables in the second flash bank, saved to `--vars`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::host::Running;
use common::images::installer_image;
use common::*;

/// Generous: on an idle machine EDK2 or U-Boot reaches the EFI stub in about
/// 20 s and the installer screen follows about a minute later; CI has 2 cores.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

const INSTALLER_SCREEN: &str = "Select a language";

fn fresh_dir(test: &str) -> PathBuf {
    let dir = scratch_dir("firmware_boot").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn edk2() -> PathBuf {
    guest_package("qemu-efi-aarch64").join("usr/share/qemu-efi-aarch64/QEMU_EFI.fd")
}

fn uboot() -> PathBuf {
    guest_package("u-boot-qemu").join("usr/lib/u-boot/qemu_arm64/u-boot.bin")
}

/// Boots `image` with `firmware` (and `extra` options) until the console shows
/// `until` (after the kernel's EFI stub started); returns the console output.
fn boot_until(firmware: &Path, image: &Path, extra: &[&str], until: &str) -> String {
    let mut cmd = armvm();
    cmd.args(["run", "-m", "1024", "--bios"])
        .arg(firmware)
        .arg("--disk")
        .arg(image)
        .args(extra);
    let mut guest = Running::spawn(cmd, Stdio::null());
    let reached = guest.wait_for(until, BOOT_TIMEOUT);
    guest.signal(libc::SIGTERM);
    let status = guest.wait_exit(Duration::from_secs(30));
    let out = format!("{}\n--- stderr ---\n{}", guest.stdout(), guest.stderr());
    assert_no_kernel_trouble(&out);
    assert!(
        reached.is_ok(),
        "no '{until}': {:?}\n{}",
        reached.err(),
        tail(&out)
    );
    assert!(
        out.contains("EFI stub: Booting Linux Kernel"),
        "{}",
        tail(&out)
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(143),
        "SIGTERM stops armvm"
    );
    out
}

fn tail(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(4000)..].iter().collect()
}

#[test]
fn uboot_boots_grub_from_a_spec_image_to_the_installer() {
    let dir = fresh_dir("uboot");
    let image = installer_image(&dir);
    let out = boot_until(&uboot(), &image, &[], INSTALLER_SCREEN);
    assert!(out.contains("U-Boot"), "{}", tail(&out));
    assert!(
        out.contains("efi/boot/bootaa64.efi"),
        "U-Boot found the removable-media path:\n{}",
        tail(&out)
    );
}

#[test]
fn edk2_boots_grub_from_a_spec_image_and_keeps_its_variables() {
    let dir = fresh_dir("edk2");
    let image = installer_image(&dir);
    let vars = dir.join("vars.fd");
    let vars_arg = vars.to_str().unwrap();
    let out = boot_until(&edk2(), &image, &["--vars", vars_arg], INSTALLER_SCREEN);
    assert!(out.contains("UEFI firmware"), "{}", tail(&out));
    // EDK2 created its boot options; they were saved when armvm stopped.
    let store = std::fs::read(&vars).expect("--vars written at exit");
    assert_eq!(store.len(), 64 << 20, "the whole flash bank");
    let boot_order: Vec<u8> = "BootOrder"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert!(
        store.windows(boot_order.len()).any(|w| w == boot_order),
        "no BootOrder variable in the saved store"
    );
    // The image's bytes do not change with variable writes (they live in the VM).
    let before = std::fs::read(&image).unwrap();
    // A second run starts from the saved store.
    boot_until(&edk2(), &image, &["--vars", vars_arg], "Linux version");
    assert_eq!(
        before,
        std::fs::read(&image).unwrap(),
        "the ESP is untouched"
    );
}
