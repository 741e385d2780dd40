//! Disk images for the boot tests (`tests/firmware_boot.rs`, `tests/uefi_boot.rs`,
//! `tests/debian_system.rs`):
//!
//! - [`spec_image`]: `armvm image create` (GPT, a FAT32 ESP at 1 MiB holding
//!   `\EFI\BOOT\BOOTAA64.EFI` and more files), and
//!   [`spec_image_with_partitions`] with file system images after the ESP;
//! - [`installer_image`]: such an image with Debian's GRUB (`grubaa64.efi` from
//!   the netboot installer), a grub.cfg that boots the installer's kernel and
//!   initrd from the ESP, and those two files;
//! - mtools on an image's ESP ([`mtools`], [`esp_of`]);
//! - [`esp_partition`]: where the ESP is and its unique GUID, read from the
//!   primary GPT (what a Boot#### HardDrive node names).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::host::host_tool;
use super::{armvm, installer_images};

/// The grub.cfg of [`installer_image`]: the installer at once, on the serial console.
pub const GRUB_CFG: &str = "set timeout=0
set default=0
menuentry 'Install' {
    linux /debian-installer/arm64/linux console=ttyAMA0 ---
    initrd /debian-installer/arm64/initrd.gz
}
";

/// Where Debian's netboot GRUB looks for its grub.cfg on the device it was
/// loaded from (its built-in prefix).
pub const GRUB_CFG_PATH: &str = "debian-installer/arm64/grub/grub.cfg";
/// Where [`GRUB_CFG`] finds the installer.
pub const INSTALLER_KERNEL_PATH: &str = "debian-installer/arm64/linux";
pub const INSTALLER_INITRD_PATH: &str = "debian-installer/arm64/initrd.gz";

/// Makes `dir/name` with `armvm image create`: `efi` as the removable-media
/// program and `files` as (source, path in the ESP). `size` and `esp_size`
/// as the options take them (e.g. "128M"). Panics if armvm refuses.
pub fn spec_image(
    dir: &Path,
    name: &str,
    efi: &Path,
    files: &[(PathBuf, &str)],
    size: &str,
    esp_size: &str,
) -> PathBuf {
    spec_image_with_partitions(dir, name, efi, files, Some(size), esp_size, &[])
}

/// [`spec_image`] with more partitions after the ESP: `partitions` as (file
/// system image, type as `--partition` takes it, e.g. "root-arm64"), copied
/// into the image (the files are only read). `size` None: what the
/// partitions need.
pub fn spec_image_with_partitions(
    dir: &Path,
    name: &str,
    efi: &Path,
    files: &[(PathBuf, &str)],
    size: Option<&str>,
    esp_size: &str,
    partitions: &[(&Path, &str)],
) -> PathBuf {
    let image = dir.join(name);
    let _ = std::fs::remove_file(&image);
    let mut create = armvm();
    create
        .args(["image", "create"])
        .arg(&image)
        .arg("--efi")
        .arg(efi);
    for (src, dest) in files {
        create
            .arg("--file")
            .arg(format!("{}:{dest}", src.display()));
    }
    for (file, kind) in partitions {
        create
            .arg("--partition")
            .arg(format!("{}:{kind}", file.display()));
    }
    if let Some(size) = size {
        create.args(["--size", size]);
    }
    create.args(["--esp-size", esp_size]);
    let out = create.output().expect("run armvm image create");
    assert!(
        out.status.success(),
        "armvm image create failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    image
}

/// Debian 12's netboot GRUB (`grubaa64.efi`): ext2, part_gpt and more built
/// in; it reads its grub.cfg from [`GRUB_CFG_PATH`] on the device it was
/// loaded from.
pub fn netboot_grub() -> PathBuf {
    installer_images().0.with_file_name("grubaa64.efi")
}

/// A spec disk image (`dir/disk.img`) holding GRUB, its grub.cfg and the installer.
pub fn installer_image(dir: &Path) -> PathBuf {
    let (kernel, initrd) = installer_images();
    let grub = netboot_grub();
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, GRUB_CFG).unwrap();
    let files = [
        (cfg, GRUB_CFG_PATH),
        (kernel, INSTALLER_KERNEL_PATH),
        (initrd, INSTALLER_INITRD_PATH),
    ];
    spec_image(dir, "disk.img", &grub, &files, "128M", "120M")
}

/// Runs an mtools command (without its floppy-geometry check), which must
/// succeed; returns its stdout.
pub fn mtools(cmd: &mut Command) -> String {
    host_tool(cmd.env("MTOOLS_SKIP_CHECK", "1"))
}

/// `IMG@@1M`: mtools' way to address an ESP that starts at 1 MiB (as in
/// every image `armvm image create` makes).
pub fn esp_of(img: &Path) -> String {
    format!("{}@@1M", img.display())
}

/// The EFI System Partition as the primary GPT describes it.
#[derive(Clone, Copy, Debug)]
pub struct EspLocation {
    /// 1-based partition number.
    pub number: u32,
    pub start_lba: u64,
    pub size_lba: u64,
    /// The partition's unique GUID as stored (EFI_GUID byte layout), which is
    /// also the HardDrive node's signature.
    pub unique_guid: [u8; 16],
}

/// The ESP (type C12A7328-F81F-11D2-BA4B-00A0C93EC93B) of a GPT disk with
/// 512-byte sectors, from the primary header and entries. Panics if there is
/// none.
pub fn esp_partition(img: &Path) -> EspLocation {
    use std::io::{Read, Seek, SeekFrom};
    const ESP_TYPE: [u8; 16] = [
        0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9,
        0x3B,
    ];
    let mut f = std::fs::File::open(img).unwrap_or_else(|e| panic!("{}: {e}", img.display()));
    let mut header = [0u8; 92];
    f.seek(SeekFrom::Start(512)).unwrap();
    f.read_exact(&mut header).unwrap();
    assert_eq!(
        &header[..8],
        b"EFI PART",
        "no primary GPT in {}",
        img.display()
    );
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    let entries_lba = u64_at(&header, 72);
    let count = u32_at(&header, 80) as usize;
    let entry_size = u32_at(&header, 84) as usize;
    let mut entries = vec![0u8; count * entry_size];
    f.seek(SeekFrom::Start(entries_lba * 512)).unwrap();
    f.read_exact(&mut entries).unwrap();
    for (i, e) in entries.chunks_exact(entry_size).enumerate() {
        if e[..16] == ESP_TYPE {
            let first = u64_at(e, 32);
            let last = u64_at(e, 40);
            return EspLocation {
                number: i as u32 + 1,
                start_lba: first,
                size_lba: last - first + 1,
                unique_guid: e[16..32].try_into().unwrap(),
            };
        }
    }
    panic!("no EFI System Partition in {}", img.display());
}
