//! Not a test: the guest of `scripts/bench-virtio.py`, built by the same code as
//! the device tests' guest (tests/common/guest.rs) so that the benchmark boots
//! exactly what they boot. Ignored by default; the script runs
//!
//! ```sh
//! ARMVM_BENCH_DIR=DIR ARMVM_BENCH_SCENARIO=FILE ARMVM_BENCH_DISK=IMAGE \
//!     cargo test --release --test bench_guest -- --ignored --nocapture
//! ```
//!
//! which writes into DIR: `initramfs.cpio` (the common archive plus FILE as
//! /scenario), and `armvm.args` and `qemu.args`, the command lines of
//! `Machine::armvm_args` and `Machine::qemu_args` for a machine with IMAGE as a
//! raw virtio disk with serial `bench`, one argument per line (the script adds
//! the network options).

mod common;

use std::path::PathBuf;

use common::guest::{linux_guest, Disk, Machine};

#[test]
#[ignore = "a helper of scripts/bench-virtio.py"]
fn emit_bench_guest() {
    let (Ok(dir), Ok(scenario), Ok(disk)) = (
        std::env::var("ARMVM_BENCH_DIR"),
        std::env::var("ARMVM_BENCH_SCENARIO"),
        std::env::var("ARMVM_BENCH_DISK"),
    ) else {
        eprintln!(
            "emit_bench_guest: ARMVM_BENCH_DIR, ARMVM_BENCH_SCENARIO and ARMVM_BENCH_DISK \
             are not all set (scripts/bench-virtio.py sets them); nothing written"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create ARMVM_BENCH_DIR");
    let scenario = std::fs::read_to_string(&scenario)
        .unwrap_or_else(|e| panic!("cannot read ARMVM_BENCH_SCENARIO {scenario}: {e}"));
    let guest = linux_guest();
    let initrd = guest.initramfs(&dir, &scenario);
    let machine = Machine {
        disks: vec![Disk {
            serial: Some("bench".into()),
            ..Disk::raw(&PathBuf::from(disk))
        }],
        ..Machine::default()
    };
    for (name, args) in [
        ("armvm.args", machine.armvm_args(&guest.kernel, &initrd)),
        ("qemu.args", machine.qemu_args(&guest.kernel, &initrd)),
    ] {
        assert!(
            args.iter().all(|a| !a.contains('\n')),
            "an argument holds a newline: {args:?}"
        );
        std::fs::write(dir.join(name), args.join("\n") + "\n").expect("write args");
    }
    println!("ARMVM-BENCH-GUEST: {}", dir.display());
}
