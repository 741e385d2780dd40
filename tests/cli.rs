//! The `armvm run` command line: booting a program, exit statuses, tracing, and
//! clear errors (exit status 2) for bad input.

mod common;

use std::path::Path;

use common::{armvm, build_baremetal, scratch_dir};

/// The demo program, built once: tests run in parallel, and rebuilding the file
/// while another test runs it would hand armvm a half-written ELF.
fn demo_elf() -> std::path::PathBuf {
    static ELF: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ELF.get_or_init(build_demo_elf).clone()
}

fn build_demo_elf() -> std::path::PathBuf {
    let out = scratch_dir("cli").join("hello.elf");
    build_baremetal(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/demo/hello.S"),
        &out,
    );
    out
}

#[test]
fn demo_prints_primes_and_exits_zero() {
    let out = armvm()
        .args(["run", "--semihosting", "--kernel"])
        .arg(demo_elf())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 3 5 7 11 13"), "{stdout}");
    assert!(stdout.trim_end().ends_with("89 97"), "{stdout}");
}

#[test]
fn trace_lists_instructions_and_exception_summary() {
    let trace = scratch_dir("cli").join("trace.txt");
    let out = armvm()
        .args(["run", "--semihosting", "--trace-limit", "5", "--trace"])
        .arg(&trace)
        .arg("--kernel")
        .arg(demo_elf())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with("cpu0 EL1 0000000040080000 "),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("ldr x19"), "{}", lines[0]);
    assert!(text.contains("instructions retired"), "{text}");
}

fn expect_usage_error(args: &[&str], needle: &str) {
    let out = armvm().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in: {stderr}"
    );
}

#[test]
fn bad_input_is_a_clear_error_with_status_2() {
    let dir = scratch_dir("cli");
    let x86 = dir.join("x86.elf");
    // An x86-64 ELF header (e_machine 62).
    let mut elf = vec![0u8; 64];
    elf[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    elf[16] = 2;
    elf[18] = 62;
    std::fs::write(&x86, &elf).unwrap();
    let truncated = dir.join("truncated.elf");
    let full = std::fs::read(demo_elf()).unwrap();
    std::fs::write(&truncated, &full[..200]).unwrap();
    let raw = dir.join("raw.bin");
    std::fs::write(&raw, [0u8; 64]).unwrap();

    expect_usage_error(&["run", "--kernel", "/nonexistent/kernel"], "cannot read");
    expect_usage_error(
        &["run", "--kernel", x86.to_str().unwrap()],
        "e_machine is 62",
    );
    expect_usage_error(
        &["run", "--kernel", truncated.to_str().unwrap()],
        "truncated",
    );
    expect_usage_error(&["run", "--kernel", raw.to_str().unwrap()], "bad magic");
    expect_usage_error(
        &["run", "--smp", "0", "--kernel", raw.to_str().unwrap()],
        "--smp must be at least 1",
    );
    expect_usage_error(
        &["run", "--smp", "9", "--kernel", raw.to_str().unwrap()],
        "GICv2 supports at most 8",
    );
    expect_usage_error(
        &["run", "--gic", "4", "--kernel", raw.to_str().unwrap()],
        "invalid value",
    );
    expect_usage_error(
        &[
            "run",
            "--initrd",
            "/nonexistent",
            "--kernel",
            raw.to_str().unwrap(),
        ],
        "cannot read",
    );
    expect_usage_error(
        &[
            "run",
            "--load-addr",
            "0x1000",
            "--kernel",
            raw.to_str().unwrap(),
        ],
        "does not fit in guest RAM",
    );
    expect_usage_error(
        &[
            "run",
            "--memory",
            "200000G",
            "--kernel",
            raw.to_str().unwrap(),
        ],
        "RAM",
    );
    expect_usage_error(
        &["run", "--memory", "lots", "--kernel", raw.to_str().unwrap()],
        "invalid value 'lots'",
    );
}

#[test]
fn raw_image_at_load_address_runs() {
    // `mov x0, #0x18; ldr x1, =block; hlt #0xf000` as a raw image: SYS_EXIT with
    // ADP_Stopped_ApplicationExit and status 7.
    let words: [u32; 8] = [
        0x5280_0400, // mov w0, #0x20 (SYS_EXIT_EXTENDED)
        0x1000_0061, // adr x1, #12 (the block)
        0xd45e_0000, // hlt #0xf000
        0x1400_0000, // b .
        0x0002_0026,
        0,
        7,
        0, // block: {0x20026, 7}
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let raw = scratch_dir("cli").join("exit7.bin");
    std::fs::write(&raw, bytes).unwrap();
    let out = armvm()
        .args([
            "run",
            "--semihosting",
            "--load-addr",
            "0x40000000",
            "--kernel",
        ])
        .arg(&raw)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
