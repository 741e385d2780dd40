//! `armvm image create|inspect|check` against the standard tools: images armvm
//! makes pass `sgdisk -v`, `fsck.vfat -n` and `mdir`; an image made with sgdisk,
//! mkfs.vfat and mcopy passes armvm's check; damaged images (a bad primary GPT
//! CRC, truncation, a missing or foreign boot program) give the right FAIL lines
//! and exit statuses. The boot program is Debian's grubaa64.efi.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use armvm_firmware::image::pe::{minimal_image, MACHINE_ARM64, MACHINE_ARM_THUMB, MACHINE_X86_64};
use common::host::host_tool;
use common::{armvm, guest_package, scratch_dir};

/// Debian 12's GRUB for arm64, as an EFI application.
fn grub() -> PathBuf {
    let f = guest_package("debian-installer-12-netboot-arm64")
        .join("usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64/grubaa64.efi");
    assert!(f.is_file(), "{} is missing", f.display());
    f
}

/// Runs armvm; returns (exit status, stdout, stderr).
fn armvm_out(args: &[&str]) -> (i32, String, String) {
    let out = armvm().args(args).output().unwrap();
    (
        out.status.code().expect("armvm was killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a host tool (mtools without their floppy-geometry check), which must
/// succeed; returns its stdout.
fn tool(cmd: &mut Command) -> String {
    host_tool(cmd.env("MTOOLS_SKIP_CHECK", "1"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `IMG@@1M`: mtools' way to address the ESP at 1 MiB.
fn esp_of(img: &Path) -> String {
    format!("{}@@1M", img.display())
}

/// The FAIL lines of a check report.
fn fails(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.starts_with("FAIL")).collect()
}

/// An image made by armvm from grubaa64.efi, a grub.cfg and an ext4 root.
fn make_image(dir: &Path, name: &str) -> PathBuf {
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, "set timeout=1\nmenuentry Debian { linux /vmlinuz }\n").unwrap();
    let root_src = dir.join("root");
    std::fs::create_dir_all(&root_src).unwrap();
    std::fs::write(root_src.join("hello"), "hello from ext4\n").unwrap();
    let root = dir.join("root.ext4");
    tool(
        Command::new("mke2fs")
            .args(["-F", "-q", "-t", "ext4", "-d"])
            .arg(&root_src)
            .arg(&root)
            .arg("24M"),
    );
    let img = dir.join(name);
    let (code, out, err) = armvm_out(&[
        "image",
        "create",
        s(&img),
        "--efi",
        s(&grub()),
        "--file",
        &format!("{}:EFI/debian/grub.cfg", cfg.display()),
        "--partition",
        &format!("{}:root-arm64", root.display()),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("EFI System Partition"), "{out}");
    img
}

#[test]
fn created_images_pass_armvm_sgdisk_and_fsck() {
    let dir = scratch_dir("image-create");
    let img = make_image(&dir, "disk.img");

    let (code, report, err) = armvm_out(&["image", "check", s(&img)]);
    assert_eq!(code, 0, "{report}{err}");
    assert!(report.contains("all 14 rules pass"), "{report}");
    assert!(
        report.contains("OK    EFI application: PE32+ for ARM64"),
        "{report}"
    );

    // sgdisk: both headers, both entry arrays, the protective MBR.
    let v = tool(Command::new("sgdisk").arg("-v").arg(&img));
    assert!(v.contains("No problems found"), "{v}");
    let p = tool(Command::new("sgdisk").arg("-p").arg(&img));
    assert!(p.contains("EF00"), "{p}");
    assert!(p.contains("8305"), "{p}"); // Linux root (ARM64)
    assert!(
        p.contains("Partitions will be aligned on 2048-sector boundaries"),
        "{p}"
    );

    // The ESP: mtools in place, fsck.vfat on a copy.
    let listing = tool(Command::new("mdir").args(["-i", &esp_of(&img), "-/", "::"]));
    assert!(listing.contains("BOOTAA64 EFI"), "{listing}");
    assert!(listing.contains("grub.cfg"), "{listing}");
    let cfg = tool(Command::new("mtype").args(["-i", &esp_of(&img), "::/EFI/debian/grub.cfg"]));
    assert!(cfg.starts_with("set timeout=1"), "{cfg}");
    let esp = dir.join("esp.img");
    tool(
        Command::new("dd")
            .arg(format!("if={}", img.display()))
            .arg(format!("of={}", esp.display()))
            .args(["bs=1M", "skip=1", "count=64", "status=none"]),
    );
    let fsck = tool(Command::new("fsck.vfat").arg("-n").arg(&esp));
    assert!(!fsck.contains("FSCK"), "{fsck}");
    let copied = dir.join("BOOTAA64.EFI");
    tool(
        Command::new("mcopy")
            .args(["-o", "-i", &esp_of(&img), "::/EFI/BOOT/BOOTAA64.EFI"])
            .arg(&copied),
    );
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(grub()).unwrap()
    );

    // The root partition is the ext4 image, intact.
    let root = dir.join("root-out.ext4");
    tool(
        Command::new("dd")
            .arg(format!("if={}", img.display()))
            .arg(format!("of={}", root.display()))
            .args(["bs=1M", "skip=65", "count=24", "status=none"]),
    );
    tool(Command::new("e2fsck").arg("-fn").arg(&root));

    // inspect: headers, entries and files.
    let (code, text, err) = armvm_out(&["image", "inspect", s(&img)]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "protective MBR (LBA 0): valid",
        "primary GPT header (LBA 1): valid",
        "CRC32 0x",
        "(correct)",
        "EFI System (C12A7328-F81F-11D2-BA4B-00A0C93EC93B)",
        "Linux root (ARM64) (B921B045-1DF0-41C3-AF44-4C6F280D3FAE)",
        "LBAs 2048..133119 (131072 sectors, 64.0 MiB)",
        "ESP (partition 1): FAT32",
        "\\EFI\\BOOT\\BOOTAA64.EFI",
        "\\EFI\\debian\\grub.cfg",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

#[test]
fn seeded_images_are_reproducible_and_arm_works_too() {
    let dir = scratch_dir("image-seed");
    let efi = dir.join("arm.efi");
    std::fs::write(&efi, minimal_image(MACHINE_ARM_THUMB, false, 10)).unwrap();
    let make = |name: &str| {
        let img = dir.join(name);
        let (code, out, err) = armvm_out(&[
            "image",
            "create",
            s(&img),
            "--efi",
            s(&efi),
            "--arch",
            "arm",
            "--seed",
            "42",
            "--esp-size",
            "40M",
            "--size",
            "50M",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        std::fs::read(&img).unwrap()
    };
    let a = make("a.img");
    assert_eq!(a.len(), 50 << 20);
    assert_eq!(a, make("b.img"), "the same seed must give the same bytes");
    let (code, report, _) = armvm_out(&["image", "check", s(&dir.join("a.img"))]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("\\EFI\\BOOT\\BOOTARM.EFI"), "{report}");
    assert!(report.contains("PE32 for ARM Thumb"), "{report}");
    // Required as AArch64, it is missing.
    let (code, report, _) =
        armvm_out(&["image", "check", "--arch", "aarch64", s(&dir.join("a.img"))]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL  removable media path: no \\EFI\\BOOT\\BOOTAA64.EFI; \\EFI\\BOOT holds BOOTARM.EFI"), "{report}");
}

#[test]
fn images_made_with_standard_tools_are_read() {
    let dir = scratch_dir("image-std");
    let img = dir.join("std.img");
    let _ = std::fs::remove_file(&img);
    tool(Command::new("truncate").args(["-s", "100M"]).arg(&img));
    tool(
        Command::new("sgdisk")
            .args([
                "-n",
                "1:2048:+64M",
                "-t",
                "1:EF00",
                "-c",
                "1:ESP",
                "-n",
                "2:0:0",
                "-t",
                "2:8300",
            ])
            .arg(&img),
    );
    tool(
        Command::new("mkfs.vfat")
            .args(["-F", "32", "-n", "STDESP", "--offset", "2048"])
            .arg(&img)
            .arg("65536"),
    );
    tool(Command::new("mmd").args(["-i", &esp_of(&img), "::/EFI", "::/EFI/BOOT"]));
    tool(
        Command::new("mcopy")
            .args(["-i", &esp_of(&img)])
            .arg(grub())
            .arg("::/EFI/BOOT/BOOTAA64.EFI"),
    );

    let (code, report, err) = armvm_out(&["image", "check", s(&img)]);
    assert_eq!(code, 0, "{report}{err}");
    assert!(report.contains("label \"STDESP\""), "{report}");
    let (code, text, _) = armvm_out(&["image", "inspect", s(&img)]);
    assert_eq!(code, 0);
    assert!(text.contains("name \"ESP\""), "{text}");
    assert!(
        text.contains("Linux filesystem (0FC63DAF-8483-4772-8E79-3D69D8477DE4)"),
        "{text}"
    );
    assert!(text.contains("\\EFI\\BOOT\\BOOTAA64.EFI"), "{text}");
    assert!(
        text.contains(&std::fs::metadata(grub()).unwrap().len().to_string()),
        "{text}"
    );

    // The same with a FAT16 ESP: one failure, with the reason.
    let img16 = dir.join("fat16.img");
    let _ = std::fs::remove_file(&img16);
    tool(Command::new("truncate").args(["-s", "40M"]).arg(&img16));
    tool(
        Command::new("sgdisk")
            .args(["-n", "1:2048:+32M", "-t", "1:EF00"])
            .arg(&img16),
    );
    tool(
        Command::new("mkfs.vfat")
            .args(["-F", "16", "--offset", "2048"])
            .arg(&img16)
            .arg("32768"),
    );
    tool(Command::new("mmd").args(["-i", &esp_of(&img16), "::/EFI", "::/EFI/BOOT"]));
    tool(
        Command::new("mcopy")
            .args(["-i", &esp_of(&img16)])
            .arg(grub())
            .arg("::/EFI/BOOT/BOOTAA64.EFI"),
    );
    let (code, report, _) = armvm_out(&["image", "check", s(&img16)]);
    assert_eq!(code, 1, "{report}");
    let f = fails(&report);
    assert_eq!(f.len(), 1, "{report}");
    assert!(f[0].starts_with("FAIL  ESP file system: FAT16"), "{report}");
    assert!(
        f[0].contains("the specification requires FAT32"),
        "{report}"
    );
}

#[test]
fn a_bad_primary_gpt_falls_back_to_the_backup() {
    let dir = scratch_dir("image-crc");
    let img = make_image(&dir, "crc.img");
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[512 + 16] ^= 0xFF; // the primary header's CRC32
    std::fs::write(&img, &bytes).unwrap();
    let (code, report, _) = armvm_out(&["image", "check", s(&img)]);
    assert_eq!(code, 1, "{report}");
    let f = fails(&report);
    let last = bytes.len() / 512 - 1;
    assert!(
        f.iter().any(
            |l| l.starts_with("FAIL  primary GPT header: header CRC32 mismatch")
                && l.contains(&format!(
                    "using the backup GPT at LBA {last}, as UEFI requires"
                ))
        ),
        "{report}"
    );
    // Everything after the tables is checked from the backup, and passes.
    for ok in [
        "backup GPT header",
        "backup GPT entries",
        "EFI System Partition",
        "EFI application",
        "PE sections",
    ] {
        assert!(report.contains(&format!("OK    {ok}")), "{ok}: {report}");
    }
    assert!(
        report.contains("partition 1 (from the backup GPT)"),
        "{report}"
    );
    let (code, text, _) = armvm_out(&["image", "inspect", s(&img)]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("primary GPT header (LBA 1): INVALID: header CRC32 mismatch"),
        "{text}"
    );
    assert!(text.contains("(WRONG, computed 0x"), "{text}");
    assert!(text.contains("partitions (from the backup GPT)"), "{text}");
}

#[test]
fn damaged_images_fail_the_right_rules() {
    let dir = scratch_dir("image-damage");
    let good = make_image(&dir, "good.img");

    // Truncated in the root partition: the backup GPT and the partition's end
    // are gone; the ESP is intact.
    let cut = dir.join("cut.img");
    std::fs::copy(&good, &cut).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .unwrap()
        .set_len(70 << 20)
        .unwrap();
    let (code, report, _) = armvm_out(&["image", "check", s(&cut)]);
    assert_eq!(code, 1, "{report}");
    for want in [
        "FAIL  primary GPT header: LastUsableLBA",
        "FAIL  backup GPT header: LBA",
        "FAIL  GPT copies agree",
        "FAIL  partitions in usable range: partition 2 ends at LBA",
        "OK    EFI application",
    ] {
        assert!(report.contains(want), "{want:?} not in:\n{report}");
    }

    // No BOOTAA64.EFI.
    let none = dir.join("none.img");
    std::fs::copy(&good, &none).unwrap();
    tool(Command::new("mdel").args(["-i", &esp_of(&none), "::/EFI/BOOT/BOOTAA64.EFI"]));
    let (code, report, _) = armvm_out(&["image", "check", s(&none)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("FAIL  removable media path: no \\EFI\\BOOT\\BOOTAA64.EFI or \\EFI\\BOOT\\BOOTARM.EFI; \\EFI\\BOOT holds nothing"),
        "{report}"
    );
    assert_eq!(fails(&report).len(), 3, "{report}");

    // An x86-64 program in its place.
    let x86 = dir.join("x86.efi");
    std::fs::write(&x86, minimal_image(MACHINE_X86_64, true, 10)).unwrap();
    let wrong = dir.join("x86.img");
    std::fs::copy(&none, &wrong).unwrap();
    tool(
        Command::new("mcopy")
            .args(["-i", &esp_of(&wrong)])
            .arg(&x86)
            .arg("::/EFI/BOOT/BOOTAA64.EFI"),
    );
    let (code, report, _) = armvm_out(&["image", "check", s(&wrong)]);
    assert_eq!(code, 1, "{report}");
    let f = fails(&report);
    assert_eq!(f.len(), 1, "{report}");
    assert!(
        f[0].starts_with("FAIL  EFI application: machine 0x8664 (x86-64), not 0xAA64 (ARM64)"),
        "{report}"
    );

    // A PE whose section runs past the end of the file.
    let mut short = minimal_image(MACHINE_ARM64, true, 10);
    short.truncate(0x300);
    let short_efi = dir.join("short.efi");
    std::fs::write(&short_efi, &short).unwrap();
    let cut_pe = dir.join("short.img");
    std::fs::copy(&none, &cut_pe).unwrap();
    tool(
        Command::new("mcopy")
            .args(["-i", &esp_of(&cut_pe)])
            .arg(&short_efi)
            .arg("::/EFI/BOOT/BOOTAA64.EFI"),
    );
    let (code, report, _) = armvm_out(&["image", "check", s(&cut_pe)]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL  PE sections: section \".text\": file data 0x200..0x400 runs past the end of the file (0x300 bytes)"), "{report}");

    // Not a disk image at all: no GPT, so inspect gives up with status 2.
    let junk = dir.join("junk.img");
    std::fs::write(&junk, vec![0x42u8; 1 << 20]).unwrap();
    let (code, report, _) = armvm_out(&["image", "check", s(&junk)]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("FAIL  protective MBR: no MBR signature"),
        "{report}"
    );
    assert!(
        report.contains("not checked: neither GPT copy is valid"),
        "{report}"
    );
    let (code, _, err) = armvm_out(&["image", "inspect", s(&junk)]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("armvm: ") && err.contains("no valid GPT"),
        "{err}"
    );
}

#[test]
fn bad_input_and_options_exit_2() {
    let dir = scratch_dir("image-bad");
    let efi = dir.join("ok.efi");
    std::fs::write(&efi, minimal_image(MACHINE_ARM64, true, 10)).unwrap();
    let x86 = dir.join("x86.efi");
    std::fs::write(&x86, minimal_image(MACHINE_X86_64, true, 10)).unwrap();
    let out = dir.join("out.img");
    let missing = dir.join("missing.img");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["check".into(), missing.display().to_string()],
            "No such file",
        ),
        (
            vec!["inspect".into(), dir.display().to_string()],
            "is a directory",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                missing.display().to_string(),
            ],
            "No such file",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                x86.display().to_string(),
            ],
            "not a UEFI application for AArch64",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                efi.display().to_string(),
                "--size".into(),
                "10M".into(),
            ],
            "too small",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                efi.display().to_string(),
                "--esp-size".into(),
                "8M".into(),
            ],
            "a FAT32 ESP needs at least 33.0 MiB",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                efi.display().to_string(),
                "--partition".into(),
                "x:ext9".into(),
            ],
            "unknown partition type",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                efi.display().to_string(),
                "--file".into(),
                "nodest".into(),
            ],
            "expected SRC:DEST",
        ),
        (
            vec![
                "create".into(),
                out.display().to_string(),
                "--efi".into(),
                efi.display().to_string(),
                "--arch".into(),
                "x86".into(),
            ],
            "invalid value",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["image".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let (code, stdout, err) = armvm_out(&refs);
        assert_eq!(code, 2, "{all:?}: {stdout}{err}");
        assert!(err.contains(want), "{all:?}: {err}");
        assert!(!err.contains("panicked"), "{all:?}: {err}");
    }
    assert!(!out.exists(), "a failed create must leave nothing behind");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("armvm-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
