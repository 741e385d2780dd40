//! Bare-metal AArch64 test programs (tests/baremetal/, see its README.md): each is
//! built with Debian's cross compiler, run on armvm with semihosting, and must exit
//! with the expected status and print the expected lines. A failed check inside a
//! program prints `FAIL [code] ...` and becomes the exit status.
//!
//! Environment:
//! - `ARMVM_BAREMETAL_QEMU=1` also runs every program on qemu-system-aarch64 (the
//!   reference the programs were written against) and checks its exit status.
//!
//! armvm's virt board, like QEMU's, routes the timer through a GICv2 at
//! 0x0800_0000 / 0x0801_0000, so every build defines `ARMVM_GIC` (the runtime then
//! enables the virtual timer's PPI 27 there).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const CC: &str = "aarch64-linux-gnu-gcc";
/// Longest a program may run before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(60);

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/baremetal")
}

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("baremetal")
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Builds `<prog>.c` (and `<prog>.S` if present) with the runtime into
/// `<out>/<name>.elf`.
fn build(prog: &str, name: &str, defines: &[&str]) -> PathBuf {
    if Command::new(CC).arg("--version").output().is_err() {
        panic!("{CC} not found: run scripts/setup.sh to install the cross toolchain");
    }
    let src = src_dir();
    let out = out_dir();
    std::fs::create_dir_all(&out).expect("create the output directory");
    let elf = out.join(format!("{name}.elf"));
    let mut cmd = Command::new(CC);
    cmd.args([
        "-O2",
        "-g",
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffreestanding",
        "-nostdlib",
        "-static",
        "-fno-pie",
        "-no-pie",
        // No FP/SIMD registers: the programs run with CPACR_EL1.FPEN trapping.
        "-mgeneral-regs-only",
        // With the MMU off all data accesses are Device memory: no unaligned ones.
        "-mstrict-align",
        "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables",
        "-Wl,--build-id=none",
    ]);
    cmd.arg("-T").arg(src.join("link.ld"));
    cmd.arg("-I").arg(src.join("rt"));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg("-o").arg(&elf);
    for f in ["rt/entry.S", "rt/probes.S", "rt/rt.c", "rt/mmu.c"] {
        cmd.arg(src.join(f));
    }
    cmd.arg(src.join(format!("{prog}.c")));
    let asm = src.join(format!("{prog}.S"));
    if asm.exists() {
        cmd.arg(asm);
    }
    let output = cmd.output().expect("run the cross compiler");
    assert!(
        output.status.success(),
        "building {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    elf
}

struct Outcome {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }
    fn describe(&self) -> String {
        let status = match self.status {
            None => format!("killed after {TIMEOUT:?}"),
            Some(s) => s.to_string(),
        };
        format!(
            "status: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with `stdin` as its input, killing it after [`TIMEOUT`].
fn run(mut cmd: Command, stdin: &[u8]) -> Outcome {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Feed stdin and drain the outputs on threads so that no pipe fills up.
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The program may exit without reading its input: ignore EPIPE.
        let _ = input.write_all(&data);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    let start = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for the emulator") {
            Some(status) => break Some(status),
            None if start.elapsed() > TIMEOUT => {
                // Only this child, by its own handle.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let _ = feeder.join();
    Outcome {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn run_armvm(elf: &Path, stdin: &[u8]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_armvm"));
    // `max`: the programs check everything armvm implements (the 16K
    // granule, for one, which Cortex-A57/A72 do not advertise).
    cmd.args(["run", "--cpu", "max", "--semihosting", "--kernel"])
        .arg(elf);
    run(cmd, stdin)
}

/// Extra QEMU arguments a program needs (kept in step with run-qemu.sh).
fn qemu_extra_args(prog: &str) -> &'static [&'static str] {
    match prog {
        // INST_RETIRED exists in QEMU only with -icount.
        "pmu" => &["-icount", "shift=0"],
        _ => &[],
    }
}

fn run_qemu(elf: &Path, prog: &str, stdin: &[u8]) -> Outcome {
    let mut cmd = Command::new("qemu-system-aarch64");
    // The semihosting console on stdio, so that SYS_READC reads our stdin. No
    // NIC: the default one needs a ROM file that not every install has.
    cmd.args([
        "-M",
        "virt",
        "-cpu",
        "cortex-a57",
        "-display",
        "none",
        "-serial",
        "none",
        "-monitor",
        "none",
        "-nic",
        "none",
        "-chardev",
        "stdio,id=sh0",
        "-semihosting-config",
        "enable=on,target=native,chardev=sh0",
    ]);
    cmd.args(qemu_extra_args(prog));
    cmd.arg("-kernel").arg(elf);
    run(cmd, stdin)
}

/// One run of one program and what it must produce.
struct Case<'a> {
    /// Source name (`<prog>.c`).
    prog: &'a str,
    /// Build name, distinct per set of defines.
    name: &'a str,
    defines: &'a [&'a str],
    stdin: &'a [u8],
    status: i32,
    /// Lines that stdout must contain, besides the pass line `<prog>: all N checks
    /// passed` with N > 0 that every run must print.
    stdout: &'a [&'a str],
    /// Lines that stderr must contain (armvm only).
    stderr: &'a [&'a str],
}

/// Output that means a check failed or was skipped, whatever the exit status.
const FORBIDDEN: &[&str] = &["FAIL", "UNEXPECTED", "skipped", "not supported"];

/// The number N of the pass line `<prog>: all N checks passed` that rt.c's `finish()`
/// prints when no check failed, if `stdout` has such a line.
fn checks_passed(stdout: &str, prog: &str) -> Option<u64> {
    let head = format!("{prog}: all ");
    stdout.lines().find_map(|l| {
        l.strip_prefix(&head)?
            .strip_suffix(" checks passed")?
            .parse()
            .ok()
    })
}

/// Problems with the pass line: a program whose checks did not run (N = 0) has not
/// passed.
fn pass_line_problem(stdout: &str, prog: &str) -> Option<String> {
    match checks_passed(stdout, prog) {
        Some(n) if n > 0 => None,
        Some(n) => Some(format!("pass line counts {n} checks")),
        None => Some(format!("stdout lacks \"{prog}: all N checks passed\"")),
    }
}

fn check(case: &Case) {
    // The reference first, so that a failure below is armvm's.
    if env_flag("ARMVM_BAREMETAL_QEMU") {
        let mut defines = case.defines.to_vec();
        defines.extend(["ARMVM_GIC", "QEMU_QUIRKS"]);
        let elf = build(case.prog, &format!("{}-qemu", case.name), &defines);
        let o = run_qemu(&elf, case.prog, case.stdin);
        assert_eq!(
            o.code(),
            Some(case.status),
            "{} on QEMU:\n{}",
            case.name,
            o.describe()
        );
        if let Some(problem) = pass_line_problem(&o.stdout, case.prog) {
            panic!("{} on QEMU: {problem}\n{}", case.name, o.describe());
        }
    }

    let mut defines = case.defines.to_vec();
    defines.push("ARMVM_GIC");
    let elf = build(case.prog, case.name, &defines);
    let o = run_armvm(&elf, case.stdin);
    let mut problems = Vec::new();
    if o.code() != Some(case.status) {
        problems.push(format!(
            "exit status {:?}, expected {} (a program exits with the code of its first failed check; 250 = unexpected exception)",
            o.code(),
            case.status
        ));
    }
    if let Some(problem) = pass_line_problem(&o.stdout, case.prog) {
        problems.push(problem);
    }
    for line in case.stdout {
        if !o.stdout.lines().any(|l| l.contains(line)) {
            problems.push(format!("stdout lacks {line:?}"));
        }
    }
    for line in case.stderr {
        if !o.stderr.lines().any(|l| l.contains(line)) {
            problems.push(format!("stderr lacks {line:?}"));
        }
    }
    for bad in FORBIDDEN {
        if o.stdout.contains(bad) {
            problems.push(format!("stdout contains {bad:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} on armvm: {}\n{}",
        case.name,
        problems.join("; "),
        o.describe()
    );
}

/// A program that takes no input and exits with 0 after its pass line (which
/// [`check`] requires of every program).
fn check_simple(prog: &str, extra_stdout: &[&str]) {
    check(&Case {
        prog,
        name: prog,
        defines: &[],
        stdin: b"",
        status: 0,
        stdout: extra_stdout,
        stderr: &[],
    });
}

#[test]

fn exceptions() {
    check_simple("exceptions", &[]);
}

#[test]

fn mmu() {
    check_simple(
        "mmu",
        &[
            "mmu 4K/39-bit: ok",
            "mmu 4K/48-bit: ok",
            "mmu 16K/39-bit: ok",
            "mmu 64K/39-bit: ok",
        ],
    );
}

#[test]

fn tlb() {
    check_simple("tlb", &[]);
}

#[test]
fn unprivileged() {
    check_simple("unprivileged", &[]);
}

#[test]

fn wfi_timer() {
    check_simple("wfi_timer", &[]);
}

#[test]
fn debug() {
    check_simple("debug", &[]);
}

#[test]
fn pmu() {
    check_simple("pmu", &[]);
}

#[test]
fn semihosting() {
    // (build name, defines, expected exit status)
    let variants: &[(&str, &[&str], i32)] = &[
        ("semihosting", &[], 0),
        ("semihosting-exit1", &["EXIT_CODE=1"], 1),
        ("semihosting-exit42", &["EXIT_CODE=42"], 42),
        ("semihosting-exit255", &["EXIT_CODE=255"], 255),
        (
            "semihosting-sys-exit42",
            &["EXIT_OP=SYS_EXIT", "EXIT_CODE=42"],
            42,
        ),
        // A reason other than ADP_Stopped_ApplicationExit: status 1.
        (
            "semihosting-runtime-error",
            &[
                "EXIT_REASON=ADP_STOPPED_RUNTIME_ERROR_UNKNOWN",
                "EXIT_CODE=42",
            ],
            1,
        ),
    ];
    for &(name, defines, status) in variants {
        check(&Case {
            prog: "semihosting",
            name,
            defines,
            // A trailing newline: QEMU's console holds back the last byte.
            stdin: b"Az\n",
            status,
            stdout: &["writec ok", "write0 ok", "write stdout ok", "readc: 65 122"],
            stderr: &["write stderr ok"],
        });
    }
}
