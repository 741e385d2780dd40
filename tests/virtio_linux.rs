//! End-to-end: the virtio devices under Debian 12's generic arm64 kernel
//! (linux-image-arm64, its own modules) and a busybox initramfs (tests/common/guest.rs).
//!
//! - virtio-blk: an ext4 image made on the host (`mke2fs -d`, holding a
//!   pseudo-random file) is mounted in the guest, which checks the file's sha256,
//!   writes a text file and a copy of the input, syncs and unmounts; the host then
//!   checks the image with `e2fsck -fn` and reads both files back with `debugfs`.
//!   The same on a qcow2 image (`--disk FILE,format=qcow2`), which must then pass
//!   `qemu-img check`. A read-only disk (`readonly=on`) reads but refuses writes
//!   and stays byte-for-byte unchanged. Two disks come as /dev/vda and /dev/vdb in
//!   command-line order, each with its `serial=`.
//! - virtio-console: text written to /dev/hvc0 arrives in the `--console file:` file.
//! - virtio-rng (on by default): the kernel picks it as the current hwrng and
//!   /dev/hwrng gives bytes.
//!
//! Every run must load all modules, end its scenario with status 0, power off
//! (armvm exits 0) and log no BUG:, WARNING:, Oops, ...
//!
//! `ARMVM_VIRTIO_QEMU=1` runs the same guests on `qemu-system-aarch64 -M virt`,
//! to check the guest side of these tests.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::guest::{linux_guest, marker, on_qemu, test_dir, Disk, Machine};
use common::host::{
    assert_fsck_clean, debugfs_dump, host_tool, make_ext4, pseudo_random, qemu_img_convert,
};
use common::*;

/// Generous: armvm boots this guest to its scenario in about 7 s on an idle
/// machine and QEMU runs the longest scenario in about 15 s; CI has 2 cores and
/// runs tests in parallel. A hung guest costs this much per test.
const TIMEOUT: Duration = Duration::from_secs(300);

const BINARY: &str = "virtio_linux";

/// Boots `machine` with `scenario` and checks that it went well; returns the output.
fn run_ok(test: &str, dir: &Path, machine: &Machine, scenario: &str) -> String {
    let (out, status, secs) = machine.run(dir, scenario, TIMEOUT);
    let host = if on_qemu() { "qemu" } else { "armvm" };
    eprintln!("{test}: {host} ran the guest in {secs:.1} s (status {status:?})");
    std::fs::write(dir.join("output.txt"), &out).unwrap();
    assert_no_kernel_trouble(&out);
    let guest = linux_guest();
    assert!(
        out.contains(&format!("ARMVM-GUEST-KERNEL: {}", guest.release)),
        "the guest's /init did not start (status {status:?}):\n{}",
        tail(&out)
    );
    assert!(
        !out.contains("ARMVM-INSMOD-FAILED"),
        "modules failed to load:\n{out}"
    );
    assert!(
        out.contains("ARMVM-SCENARIO-EXIT: 0"),
        "the scenario failed (status {status:?}):\n{}",
        tail(&out)
    );
    assert_eq!(
        status,
        Some(0),
        "poweroff -f must end the emulator with status 0:\n{}",
        tail(&out)
    );
    out
}

fn tail(out: &str) -> String {
    let chars: Vec<char> = out.chars().collect();
    chars[chars.len().saturating_sub(6000)..].iter().collect()
}

fn sha256(path: &Path) -> String {
    host_tool(Command::new("sha256sum").arg(path))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

const INPUT_LEN: usize = 3 << 20;
const SEQ_COUNT: u32 = 400_000;

/// Mount /dev/vda, check the host's file, write two files, unmount.
const WRITE_SCENARIO: &str = r#"
wait_for /dev/vda
echo "ARMVM-VDA-SECTORS: $(cat /sys/block/vda/size)"
mount -t ext4 /dev/vda /mnt
h=$(sha256sum /mnt/in.bin)
echo "ARMVM-SHA-IN: ${h%% *}"
seq 1 400000 > /mnt/seq.txt
cat /mnt/in.bin > /mnt/copy.bin
sync
h=$(sha256sum /mnt/seq.txt)
echo "ARMVM-SHA-SEQ: ${h%% *}"
umount /mnt
echo "ARMVM-WRITE-DONE"
"#;

fn expected_seq() -> Vec<u8> {
    (1..=SEQ_COUNT)
        .map(|i| format!("{i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// Runs WRITE_SCENARIO on a disk and checks what the guest saw; `raw_image`
/// gives the host a raw ext4 image of the disk afterwards.
fn write_scenario(test: &str, format: &'static str) {
    let dir = test_dir(BINARY, test);
    let input = pseudo_random(INPUT_LEN, 1);
    let raw = make_ext4(&dir, "disk.img", "64M", &[("in.bin", &input)]);
    std::fs::write(dir.join("in.bin"), &input).unwrap();
    let disk_path = if format == "qcow2" {
        let q = dir.join("disk.qcow2");
        qemu_img_convert(&raw, "raw", &q, "qcow2");
        std::fs::remove_file(&raw).unwrap();
        q
    } else {
        raw.clone()
    };
    let machine = Machine {
        disks: vec![Disk {
            format,
            ..Disk::raw(&disk_path)
        }],
        ..Machine::default()
    };
    let out = run_ok(test, &dir, &machine, WRITE_SCENARIO);

    assert_eq!(marker(&out, "ARMVM-VDA-SECTORS:"), "131072", "64 MiB disk");
    assert_eq!(
        marker(&out, "ARMVM-SHA-IN:"),
        sha256(&dir.join("in.bin")),
        "the guest read the host's file wrongly"
    );
    let seq = expected_seq();
    std::fs::write(dir.join("seq.expected"), &seq).unwrap();
    assert_eq!(
        marker(&out, "ARMVM-SHA-SEQ:"),
        sha256(&dir.join("seq.expected"))
    );
    assert!(out.contains("ARMVM-WRITE-DONE"));

    if format == "qcow2" {
        let check = host_tool(
            Command::new("qemu-img")
                .args(["check", "-f", "qcow2"])
                .arg(&disk_path),
        );
        assert!(check.contains("No errors were found"), "{check}");
        qemu_img_convert(&disk_path, "qcow2", &raw, "raw");
    }
    assert_fsck_clean(&raw);
    assert!(
        debugfs_dump(&raw, "/seq.txt", &dir.join("seq.out")) == seq,
        "seq.txt as written by the guest differs from `seq 1 {SEQ_COUNT}`"
    );
    assert!(
        debugfs_dump(&raw, "/copy.bin", &dir.join("copy.out")) == input,
        "copy.bin as written by the guest differs from in.bin"
    );
}

#[test]
fn blk_raw_ext4_read_write() {
    write_scenario("blk_raw_ext4_read_write", "raw");
}

#[test]
fn blk_qcow2_ext4_read_write() {
    write_scenario("blk_qcow2_ext4_read_write", "qcow2");
}

#[test]
fn blk_readonly() {
    let test = "blk_readonly";
    let dir = test_dir(BINARY, test);
    let input = pseudo_random(1 << 20, 2);
    std::fs::write(dir.join("in.bin"), &input).unwrap();
    let img = make_ext4(&dir, "disk.img", "64M", &[("in.bin", &input)]);
    let before = std::fs::read(&img).unwrap();
    let machine = Machine {
        disks: vec![Disk {
            readonly: true,
            ..Disk::raw(&img)
        }],
        ..Machine::default()
    };
    let scenario = r#"
wait_for /dev/vda
echo "ARMVM-VDA-RO: $(cat /sys/block/vda/ro)"
mount -t ext4 -o ro /dev/vda /mnt
h=$(sha256sum /mnt/in.bin)
echo "ARMVM-SHA-IN: ${h%% *}"
if mount -o remount,rw /mnt; then echo "ARMVM-REMOUNT-RW: allowed"; else echo "ARMVM-REMOUNT-RW: refused"; fi
if echo x > /mnt/new.txt; then echo "ARMVM-FILE-WRITE: allowed"; else echo "ARMVM-FILE-WRITE: refused"; fi
umount /mnt
if dd if=/dev/zero of=/dev/vda bs=4096 count=16 conv=fsync; then echo "ARMVM-DEV-WRITE: allowed"; else echo "ARMVM-DEV-WRITE: refused"; fi
sync
echo "ARMVM-RO-DONE"
"#;
    let out = run_ok(test, &dir, &machine, scenario);
    assert_eq!(
        marker(&out, "ARMVM-VDA-RO:"),
        "1",
        "virtio-blk must offer VIRTIO_BLK_F_RO"
    );
    assert_eq!(marker(&out, "ARMVM-SHA-IN:"), sha256(&dir.join("in.bin")));
    assert_eq!(marker(&out, "ARMVM-REMOUNT-RW:"), "refused");
    assert_eq!(marker(&out, "ARMVM-FILE-WRITE:"), "refused");
    assert_eq!(marker(&out, "ARMVM-DEV-WRITE:"), "refused");
    assert!(out.contains("ARMVM-RO-DONE"));
    assert!(
        std::fs::read(&img).unwrap() == before,
        "the read-only image was modified"
    );
}

#[test]
fn blk_two_disks_order_and_serial() {
    let test = "blk_two_disks_order_and_serial";
    let dir = test_dir(BINARY, test);
    let mut disks = Vec::new();
    for (i, label) in ["first", "second"].iter().enumerate() {
        let path = dir.join(format!("{label}.img"));
        let mut data = format!("ARMVM-DISK-{label}\n").into_bytes();
        data.resize(1 << 20, 0);
        std::fs::write(&path, data).unwrap();
        disks.push(Disk {
            serial: Some(format!("armvm-{label}")),
            readonly: i == 1,
            ..Disk::raw(&path)
        });
    }
    let machine = Machine {
        disks,
        ..Machine::default()
    };
    let scenario = r#"
wait_for /dev/vda
wait_for /dev/vdb
for d in vda vdb; do
    echo "ARMVM-$d-SERIAL: $(cat /sys/block/$d/serial)"
    echo "ARMVM-$d-RO: $(cat /sys/block/$d/ro)"
    echo "ARMVM-$d-SECTORS: $(cat /sys/block/$d/size)"
    echo "ARMVM-$d-DATA: $(head -n 1 /dev/$d)"
done
echo "ARMVM-BY-SERIAL: $(disk_by_serial armvm-second)"
"#;
    let out = run_ok(test, &dir, &machine, scenario);
    assert_eq!(marker(&out, "ARMVM-vda-SERIAL:"), "armvm-first");
    assert_eq!(marker(&out, "ARMVM-vdb-SERIAL:"), "armvm-second");
    assert_eq!(marker(&out, "ARMVM-vda-DATA:"), "ARMVM-DISK-first");
    assert_eq!(marker(&out, "ARMVM-vdb-DATA:"), "ARMVM-DISK-second");
    assert_eq!(marker(&out, "ARMVM-vda-RO:"), "0");
    assert_eq!(marker(&out, "ARMVM-vdb-RO:"), "1");
    assert_eq!(marker(&out, "ARMVM-vda-SECTORS:"), "2048");
    assert_eq!(marker(&out, "ARMVM-vdb-SECTORS:"), "2048");
    assert_eq!(marker(&out, "ARMVM-BY-SERIAL:"), "/dev/vdb");
}

#[test]
fn console_hvc0() {
    let test = "console_hvc0";
    let dir = test_dir(BINARY, test);
    let console = dir.join("hvc0.txt");
    let machine = Machine {
        console: Some(console.clone()),
        ..Machine::default()
    };
    // The hvc layer drains its buffer from a kernel thread and waits only briefly
    // for it on close: sleep before powering off.
    let scenario = r#"
wait_for /dev/hvc0
echo "ARMVM-HVC-DEVICE: $(cat /sys/class/tty/hvc0/dev)"
echo "ARMVM-HVC-HELLO" > /dev/hvc0
seq 1 3000 > /dev/hvc0
echo "ARMVM-HVC-END" > /dev/hvc0
sleep 2
echo "ARMVM-HVC-WRITTEN"
"#;
    let out = run_ok(test, &dir, &machine, scenario);
    assert!(out.contains("ARMVM-HVC-WRITTEN"));
    let got = std::fs::read_to_string(&console)
        .unwrap_or_else(|e| panic!("no console file {}: {e}", console.display()));
    // The tty turns \n into \r\n (ONLCR).
    let got = got.replace("\r\n", "\n");
    let mut expected = String::from("ARMVM-HVC-HELLO\n");
    for i in 1..=3000 {
        expected.push_str(&format!("{i}\n"));
    }
    expected.push_str("ARMVM-HVC-END\n");
    assert!(
        got == expected,
        "the console file differs from what the guest wrote to hvc0 \
         ({} bytes, {} expected); its start:\n{}",
        got.len(),
        expected.len(),
        got.chars().take(500).collect::<String>()
    );
}

#[test]
fn rng_hwrng() {
    let test = "rng_hwrng";
    let dir = test_dir(BINARY, test);
    let scenario = r#"
wait_for /dev/hwrng
echo "ARMVM-RNG-AVAILABLE: $(cat /sys/class/misc/hw_random/rng_available)"
echo "ARMVM-RNG-CURRENT: $(cat /sys/class/misc/hw_random/rng_current)"
echo "ARMVM-RNG-64: $(head -c 64 /dev/hwrng | wc -c)"
echo "ARMVM-RNG-4096: $(head -c 4096 /dev/hwrng | wc -c)"
echo "ARMVM-RNG-A: $(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \n')"
echo "ARMVM-RNG-B: $(head -c 32 /dev/hwrng | od -An -tx1 | tr -d ' \n')"
"#;
    let out = run_ok(test, &dir, &Machine::default(), scenario);
    let current = marker(&out, "ARMVM-RNG-CURRENT:");
    assert!(
        current.starts_with("virtio_rng"),
        "current hwrng is {current}, not virtio"
    );
    assert_eq!(marker(&out, "ARMVM-RNG-64:"), "64");
    assert_eq!(marker(&out, "ARMVM-RNG-4096:"), "4096");
    let a = marker(&out, "ARMVM-RNG-A:");
    let b = marker(&out, "ARMVM-RNG-B:");
    assert_eq!(a.len(), 64, "{a}");
    assert_ne!(a, b, "two reads of /dev/hwrng gave the same bytes");
    assert_ne!(a, "0".repeat(64));
}

/// The guest itself: the module list resolves and every module loads with no
/// device of its kind (virtio-net, virtio-balloon) as well.
#[test]
fn modules_load() {
    let test = "modules_load";
    let dir = test_dir(BINARY, test);
    let guest = linux_guest();
    eprintln!(
        "kernel {} ({}); modules in load order: {}; built in: {:?}",
        guest.release,
        guest.kernel.display(),
        guest.modules.join(" "),
        guest.builtin
    );
    for m in ["virtio_mmio", "virtio_blk", "ext4"] {
        assert!(guest.modules.iter().any(|x| x == m), "{m} not loaded");
    }
    let scenario = r#"
echo "ARMVM-LSMOD-BEGIN"
cat /proc/modules
echo "ARMVM-LSMOD-END"
"#;
    let out = run_ok(test, &dir, &Machine::default(), scenario);
    let start = out.find("ARMVM-LSMOD-BEGIN").unwrap();
    let end = out.find("ARMVM-LSMOD-END").unwrap();
    let lsmod = &out[start..end];
    for m in &guest.modules {
        assert!(
            lsmod.lines().any(|l| l.starts_with(&format!("{m} "))),
            "{m} is not in /proc/modules:\n{lsmod}"
        );
    }
}
