//! The `armvm run` command line: booting a program, exit statuses, tracing, and
//! clear errors (exit status 2) for bad input.

mod common;

use std::os::unix::fs::PermissionsExt;
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
            "--cpu",
            "cortex-a53",
            "--kernel",
            raw.to_str().unwrap(),
        ],
        "possible values: cortex-a57, cortex-a72, max",
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

/// armvm with the demo and `extra` arguments must exit with status 2 before the
/// demo runs, naming the problem (every string of `needles` on stderr).
fn expect_refused_before_guest(extra: &[&str], needles: &[&str]) {
    let out = armvm()
        .args(["run", "--semihosting", "--kernel"])
        .arg(demo_elf())
        .args(extra)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{extra:?}: status {:?}, stderr: {stderr}",
        out.status
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{extra:?}: expected '{needle}' in: {stderr}"
        );
    }
    assert!(
        !stdout.contains("2 3 5 7"),
        "{extra:?}: the guest ran: {stdout}"
    );
}

fn qemu_img(args: &[&str]) {
    // Creating a LUKS image times the key derivation with the thread's CPU
    // clock; where that clock advances in scheduler ticks (VMs) qemu-img
    // sometimes measures nothing and gives up ("Unable to get accurate CPU
    // usage"). That is qemu-img's flake, not armvm's: try again, a few times.
    for _ in 0..10 {
        let out = std::process::Command::new("qemu-img")
            .args(args)
            .output()
            .expect("run qemu-img: run scripts/setup.sh first");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return;
        }
        assert!(
            stderr.contains("Unable to get accurate CPU usage"),
            "qemu-img {args:?} failed: {stderr}"
        );
    }
    panic!("qemu-img {args:?} kept failing to time its key derivation");
}

/// A copy of `from` with `bytes` written at `offset`.
fn patched(from: &Path, to: &Path, offset: usize, bytes: &[u8]) {
    let mut data = std::fs::read(from).unwrap();
    data[offset..offset + bytes.len()].copy_from_slice(bytes);
    std::fs::write(to, data).unwrap();
}

#[test]
fn bad_disks_and_consoles_are_refused_before_the_guest_runs() {
    let dir = scratch_dir("cli").join("bad_disks");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();

    // The options themselves.
    expect_refused_before_guest(&["--disk", "x.img,format=vmdk"], &["format=vmdk"]);
    expect_refused_before_guest(
        &["--disk", "x.img,bogus=1"],
        &["unknown disk option 'bogus=1'"],
    );
    expect_refused_before_guest(&["--disk", ""], &["no file given"]);
    expect_refused_before_guest(&["--disk", "x.img,readonly"], &["not KEY=VALUE"]);
    expect_refused_before_guest(
        &["--disk", "x.img,serial=123456789012345678901"],
        &["at most 20"],
    );
    expect_refused_before_guest(&["--console", "tcp:1"], &["'tcp:1' is not"]);

    // Files that cannot be used.
    expect_refused_before_guest(
        &["--disk", "/nonexistent/armvm.img"],
        &[
            "cannot open disk image /nonexistent/armvm.img",
            "No such file",
        ],
    );
    expect_refused_before_guest(
        &["--disk", &format!("{},readonly=on", dir.display())],
        &[
            "cannot open disk image",
            "not a regular file or a block device",
        ],
    );
    let unreadable = p("unreadable.img");
    std::fs::write(&unreadable, vec![0u8; 1 << 20]).unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&unreadable).is_ok() {
        eprintln!(
            "NOTE: skipping the unreadable-image case: this user (root?) can read a \
             mode 000 file"
        );
    } else {
        expect_refused_before_guest(
            &["--disk", &unreadable],
            &["cannot open disk image", "Permission denied"],
        );
    }

    // qcow2 images armvm cannot serve.
    let good = p("good.qcow2");
    qemu_img(&["create", "-q", "-f", "qcow2", &good, "16M"]);
    let q = |name: &str| format!("{},format=qcow2", p(name));
    // Not qcow2 at all: the magic is gone.
    patched(Path::new(&good), &dir.join("magic.qcow2"), 0, b"XXXX");
    expect_refused_before_guest(&["--disk", &q("magic.qcow2")], &["is not a qcow2 image"]);
    // An incompatible feature bit nobody knows (bit 63 of the v3 header's
    // incompatible_features at offset 72).
    patched(Path::new(&good), &dir.join("feature.qcow2"), 72, &[0x80]);
    expect_refused_before_guest(
        &["--disk", &q("feature.qcow2")],
        &["not a usable qcow2 image", "incompatible feature"],
    );
    // The header cut short.
    let full = std::fs::read(&good).unwrap();
    std::fs::write(dir.join("truncated.qcow2"), &full[..100]).unwrap();
    expect_refused_before_guest(
        &["--disk", &q("truncated.qcow2")],
        &["not a usable qcow2 image", "too short"],
    );
    // zstd compression (an incompatible feature: compression type).
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        "compression_type=zstd",
        &p("zstd.qcow2"),
        "16M",
    ]);
    expect_refused_before_guest(
        &["--disk", &q("zstd.qcow2")],
        &["not a usable qcow2 image", "compression type"],
    );
    // Encrypted: LUKS and the old AES method.
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "--object",
        "secret,id=s0,data=x",
        "-o",
        // Little key-derivation time: the default (2 s, more when busy) is of no use here.
        "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10",
        &p("luks.qcow2"),
        "16M",
    ]);
    expect_refused_before_guest(&["--disk", &q("luks.qcow2")], &["encrypted"]);
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "--object",
        "secret,id=s0,data=x",
        "-o",
        "encryption=on,encrypt.key-secret=s0",
        &p("aes.qcow2"),
        "16M",
    ]);
    expect_refused_before_guest(&["--disk", &q("aes.qcow2")], &["encrypted"]);
    // A backing file that is not there.
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-u",
        "-b",
        "/nonexistent/armvm-base.img",
        "-F",
        "raw",
        &p("orphan.qcow2"),
        "16M",
    ]);
    expect_refused_before_guest(
        &["--disk", &q("orphan.qcow2")],
        &["not a usable qcow2 image", "/nonexistent/armvm-base.img"],
    );
}
