//! The generated device tree: Debian's `dtc` decompiles it without warnings, and it
//! describes the machine that was asked for.

mod common;

use std::process::Command;

use common::{armvm, scratch_dir};

fn dump(args: &[&str], name: &str) -> String {
    let dir = scratch_dir("fdt");
    let dtb = dir.join(format!("{name}.dtb"));
    let kernel = dir.join("dummy.bin");
    std::fs::write(&kernel, [0u8; 16]).unwrap();
    let out = armvm()
        .args(["run", "--load-addr", "0x40080000", "--kernel"])
        .arg(&kernel)
        .args(args)
        .arg("--dump-dtb")
        .arg(&dtb)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dtc = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts"])
        .arg(&dtb)
        .output()
        .unwrap_or_else(|e| panic!("dtc not runnable ({e}): run scripts/setup.sh first"));
    assert!(dtc.status.success());
    let warnings = String::from_utf8_lossy(&dtc.stderr);
    assert!(
        warnings.trim().is_empty(),
        "dtc warnings for {name}:\n{warnings}"
    );
    String::from_utf8(dtc.stdout).unwrap()
}

#[test]
fn gicv2_tree_decompiles_cleanly_and_lists_the_board() {
    let dts = dump(&["--smp", "2", "--append", "console=ttyAMA0 quiet"], "v2");
    assert!(dts.contains("arm,cortex-a15-gic"), "{dts}");
    assert_eq!(dts.matches("device_type = \"cpu\"").count(), 2);
    assert!(dts.contains("enable-method = \"psci\""));
    assert!(dts.contains("bootargs = \"console=ttyAMA0 quiet\""));
    assert!(dts.contains("stdout-path = \"/pl011@9000000\""));
    assert!(dts.contains("arm,pl031"));
    assert_eq!(dts.matches("compatible = \"virtio,mmio\"").count(), 32);
    assert!(dts.contains("method = \"hvc\""));
    // Timer PPIs with the GICv2 CPU mask for 2 CPUs (0x304).
    assert!(
        dts.contains(
            "interrupts = <0x01 0x0d 0x304 0x01 0x0e 0x304 0x01 0x0b 0x304 0x01 0x0a 0x304>"
        ),
        "{dts}"
    );
    assert!(
        dts.contains("reg = <0x00 0x40000000 0x00 0x8000000>"),
        "128 MiB of RAM: {dts}"
    );
    // The PMU's overflow interrupt: PPI 7 (INTID 23), level, both CPUs.
    let pmu = dts
        .split("pmu {")
        .nth(1)
        .unwrap_or_else(|| panic!("no pmu node: {dts}"));
    assert!(pmu.contains("compatible = \"arm,armv8-pmuv3\""), "{dts}");
    assert!(pmu.contains("interrupts = <0x01 0x07 0x304>"), "{dts}");
}

#[test]
fn gicv3_tree_with_smc_conduit() {
    let dts = dump(
        &[
            "--smp",
            "4",
            "--gic",
            "3",
            "--psci-conduit",
            "smc",
            "-m",
            "1G",
        ],
        "v3",
    );
    assert!(dts.contains("arm,gic-v3"));
    assert!(
        dts.contains("reg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x80000>"),
        "4 redistributors: {dts}"
    );
    assert_eq!(dts.matches("device_type = \"cpu\"").count(), 4);
    assert!(dts.contains("cpu@3"));
    assert!(dts.contains("method = \"smc\""));
    assert!(dts.contains("reg = <0x00 0x40000000 0x00 0x40000000>"));
    // GICv3 PPIs carry no CPU mask.
    assert!(dts.contains("interrupts = <0x01 0x07 0x04>"), "PMU: {dts}");
}
