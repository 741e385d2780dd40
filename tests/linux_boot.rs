//! End-to-end: Debian's own arm64 kernel and userland on the virt board.
//!
//! - The Debian 12 installer (netboot kernel + initrd) boots to its "Select a
//!   language" screen on the serial console, for 1 and 2 vCPUs and GICv2 and GICv3.
//! - A busybox initramfs built here from Debian's busybox-static:arm64 reports the
//!   date, the CPUs and the interrupt counts, echoes a line typed into the UART, and
//!   powers the machine off (armvm exits with status 0).
//!
//! Any kernel line with BUG:, WARNING:, Oops, ... fails the test.

mod common;

use std::time::Duration;

use common::*;

/// Generous: the guest boots in a fraction of this on an idle machine; CI has 2 cores.
const BOOT_TIMEOUT: Duration = Duration::from_secs(600);

fn boot_installer(smp: &str, gic: &str) {
    let (kernel, initrd) = installer_images();
    let args = [
        "run",
        "-m",
        "1024",
        "--smp",
        smp,
        "--gic",
        gic,
        "--kernel",
        kernel.to_str().unwrap(),
        "--initrd",
        initrd.to_str().unwrap(),
        "--append",
        "console=ttyAMA0",
    ];
    let (out, status) = run_until(&args, None, BOOT_TIMEOUT, |o| {
        o.contains("Select a language") || KERNEL_TROUBLE.iter().any(|t| o.contains(t))
    });
    assert_no_kernel_trouble(&out);
    assert!(
        out.contains("Select a language"),
        "no installer screen (status {status:?}); last output:\n{}",
        out.chars()
            .rev()
            .take(3000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );
    assert!(out.contains("Run /init as init process"), "{out}");
    assert_cpus_brought_up(&out, smp);
}

/// The kernel brought up all `smp` vCPUs ("smp: Brought up 1 node, 1 CPU" for
/// one).
fn assert_cpus_brought_up(out: &str, smp: &str) {
    let line = match smp {
        "1" => "smp: Brought up 1 node, 1 CPU\n".to_string(),
        n => format!("smp: Brought up 1 node, {n} CPUs"),
    };
    assert!(
        out.replace('\r', "").contains(&line),
        "no '{}':\n{out}",
        line.trim()
    );
}

#[test]
fn installer_smp1_gic2() {
    boot_installer("1", "2");
}

#[test]
fn installer_smp2_gic2() {
    boot_installer("2", "2");
}

#[test]
fn installer_smp1_gic3() {
    boot_installer("1", "3");
}

#[test]
fn installer_smp2_gic3() {
    boot_installer("2", "3");
}

const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "ARMVM-DATE: $(date +%s)"
echo "ARMVM-CPUINFO-BEGIN"
cat /proc/cpuinfo
echo "ARMVM-CPUINFO-END"
echo "ARMVM-IRQ1-BEGIN"
cat /proc/interrupts
echo "ARMVM-IRQ1-END"
sleep 1
echo "ARMVM-TYPE-A-LINE"
read line
echo "ARMVM-ECHO: $line"
echo "ARMVM-IRQ2-BEGIN"
cat /proc/interrupts
echo "ARMVM-IRQ2-END"
poweroff -f
"#;

/// The initramfs, built once: the busybox tests run in parallel, and rewriting the
/// file while another test's guest loads it would hand it a half-written archive.
fn busybox_initramfs() -> std::path::PathBuf {
    static CPIO: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CPIO.get_or_init(build_busybox_initramfs).clone()
}

fn build_busybox_initramfs() -> std::path::PathBuf {
    let busybox = std::fs::read(guest_package("busybox-static:arm64").join("bin/busybox"))
        .expect("busybox binary");
    let cpio = cpio_newc(&[
        ("bin", 0o040755, b""),
        ("proc", 0o040755, b""),
        ("sys", 0o040755, b""),
        ("dev", 0o040755, b""),
        ("bin/busybox", 0o100755, &busybox),
        ("bin/sh", 0o120777, b"busybox"),
        ("init", 0o100755, INIT_SCRIPT.as_bytes()),
    ]);
    let path = scratch_dir("linux_boot").join("busybox-initramfs.cpio");
    std::fs::write(&path, cpio).unwrap();
    path
}

/// The count in the first column of the /proc/interrupts line mentioning `name`.
fn irq_count(block: &str, name: &str) -> u64 {
    block
        .lines()
        .find(|l| l.contains(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no '{name}' line in:\n{block}"))
}

fn between<'a>(text: &'a str, begin: &str, end: &str) -> &'a str {
    let s = text
        .find(begin)
        .unwrap_or_else(|| panic!("no {begin} in:\n{text}"))
        + begin.len();
    let e = s + text[s..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end} in:\n{text}"));
    &text[s..e]
}

/// What Linux 6.1 lists in /proc/cpuinfo for each `--cpu` model: the
/// Features line (the same as QEMU's for the same core name) and the CPU part.
fn expected_cpuinfo(cpu: &str) -> (&'static str, &'static str) {
    match cpu {
        "cortex-a57" => ("fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid", "0xd07"),
        "cortex-a72" => ("fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid", "0xd08"),
        // max adds LSE atomics; its MIDR is no real core's (part 0x001).
        "max" => (
            "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid",
            "0x001",
        ),
        other => panic!("no expectation for --cpu {other}"),
    }
}

fn busybox_session(smp: &str, gic: &str, cpu: &str) {
    let (kernel, _) = installer_images();
    let initramfs = busybox_initramfs();
    let args = [
        "run",
        "-m",
        "512",
        "--smp",
        smp,
        "--gic",
        gic,
        "--cpu",
        cpu,
        "--kernel",
        kernel.to_str().unwrap(),
        "--initrd",
        initramfs.to_str().unwrap(),
        "--append",
        // Not `quiet`: every kernel warning must reach the check below.
        "console=ttyAMA0",
    ];
    let started = std::time::SystemTime::now();
    let (out, status) = run_until(
        &args,
        Some(("ARMVM-TYPE-A-LINE", "hello from the host\n")),
        BOOT_TIMEOUT,
        |_| false,
    );
    assert_no_kernel_trouble(&out);
    assert_eq!(
        status,
        Some(0),
        "poweroff -f must end armvm with status 0:\n{out}"
    );

    let secs =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (first, last) = (secs(started), secs(std::time::SystemTime::now()));
    let date: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("ARMVM-DATE: "))
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or_else(|| panic!("no date:\n{out}"));
    // The RTC gives the host's time: the guest's date lies within the run.
    assert!(
        (first..=last + 1).contains(&date),
        "guest date {date} outside the run {first}..{last}"
    );
    assert_cpus_brought_up(&out, smp);

    let cpuinfo = between(&out, "ARMVM-CPUINFO-BEGIN", "ARMVM-CPUINFO-END");
    assert_eq!(
        cpuinfo.matches("processor\t:").count(),
        smp.parse::<usize>().unwrap(),
        "{cpuinfo}"
    );
    // The features the model's ID registers advertise, as Linux reads them
    // (HWCAP names), on every CPU, and the model's part number.
    let (features, part) = expected_cpuinfo(cpu);
    let lines: Vec<&str> = cpuinfo.lines().map(str::trim).collect();
    let feature_lines: Vec<&&str> = lines.iter().filter(|l| l.starts_with("Features")).collect();
    assert_eq!(
        feature_lines.len(),
        smp.parse::<usize>().unwrap(),
        "{cpuinfo}"
    );
    for l in feature_lines {
        let listed = l.split_once(':').map(|(_, f)| f.trim()).unwrap_or("");
        assert_eq!(listed, features, "--cpu {cpu}:\n{cpuinfo}");
    }
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("CPU part"))
            .all(|l| l.ends_with(part)),
        "--cpu {cpu}: CPU part is not {part}:\n{cpuinfo}"
    );

    assert!(out.contains("ARMVM-ECHO: hello from the host"), "{out}");
    let irq1 = between(&out, "ARMVM-IRQ1-BEGIN", "ARMVM-IRQ1-END");
    let irq2 = between(&out, "ARMVM-IRQ2-BEGIN", "ARMVM-IRQ2-END");
    assert!(
        irq_count(irq2, "arch_timer") > irq_count(irq1, "arch_timer"),
        "timer count did not rise:\n{irq1}\n{irq2}"
    );
    assert!(
        irq_count(irq2, "uart-pl011") > irq_count(irq1, "uart-pl011"),
        "UART count did not rise:\n{irq1}\n{irq2}"
    );
}

#[test]
fn busybox_smp2_gic3() {
    busybox_session("2", "3", "cortex-a72");
}

#[test]
fn busybox_smp1_gic2() {
    busybox_session("1", "2", "cortex-a57");
}

#[test]
fn busybox_smp2_gic2_cpu_max() {
    busybox_session("2", "2", "max");
}
