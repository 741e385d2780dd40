//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod guest;
pub mod host;
pub mod images;

/// The armvm binary under test.
pub fn armvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_armvm"))
}

/// A scratch directory for this test binary's build products.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Assembles and links a bare-metal AArch64 program at 0x40080000 with Debian's
/// cross compiler. Panics with a clear message if the compiler is missing: the
/// tests must fail, not skip, on a machine that was not set up.
pub fn build_baremetal(source: &Path, out: &Path) {
    let status = Command::new("aarch64-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wl,-N",
            "-Wl,--build-id=none",
            "-Wl,--no-warn-rwx-segments",
        ])
        .args(["-Wl,-Ttext=0x40080000", "-o"])
        .arg(out)
        .arg(source)
        .status()
        .unwrap_or_else(|e| {
            panic!("aarch64-linux-gnu-gcc not runnable ({e}): run scripts/setup.sh first")
        });
    assert!(status.success(), "building {} failed", source.display());
}

/// Builds a static AArch64 Linux program from C (`-static -O2`, warnings are
/// errors) with Debian's cross compiler and its arm64 libc
/// (libc6-dev-arm64-cross). Panics with the compiler's messages if that fails,
/// and with a hint at scripts/setup.sh if the compiler is missing.
pub fn build_linux_program(source: &Path, out: &Path) {
    let output = Command::new("aarch64-linux-gnu-gcc")
        .args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(out)
        .arg(source)
        .output()
        .unwrap_or_else(|e| {
            panic!("aarch64-linux-gnu-gcc not runnable ({e}): run scripts/setup.sh first")
        });
    assert!(
        output.status.success(),
        "building {} failed (scripts/setup.sh installs the arm64 libc, \
         libc6-dev-arm64-cross):\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The directory where a Debian guest package is unpacked, fetching it with the
/// project's setup script if needed. Panics (the test fails) if that fails.
pub fn guest_package(pkg: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["path", pkg])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "fetching {pkg} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("path is UTF-8").trim())
}

/// The Debian 12 arm64 installer kernel and initrd.
pub fn installer_images() -> (PathBuf, PathBuf) {
    let dir = guest_package("debian-installer-12-netboot-arm64")
        .join("usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64");
    (dir.join("linux"), dir.join("initrd.gz"))
}

/// Writes a newc-format cpio archive (the initramfs format) from (path, mode, data)
/// entries; directories have mode 0o040755 and empty data, symlinks 0o120777 with
/// the target as data.
pub fn cpio_newc(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    fn header(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, size: usize) {
        let fields = [
            ino,
            mode,
            0,
            0,
            1,
            0,
            size as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    for (i, (name, mode, data)) in entries.iter().enumerate() {
        header(&mut out, i as u32 + 1, name, *mode, data.len());
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    header(&mut out, 0, "TRAILER!!!", 0, 0);
    out
}

/// Runs armvm with `args`, feeding `input` to stdin after `prompt` appears on
/// stdout, until `done(output)` holds, the process exits, or `timeout` passes.
/// Returns (output, exit status if it exited).
pub fn run_until(
    args: &[&str],
    prompt_and_input: Option<(&str, &str)>,
    timeout: std::time::Duration,
    done: impl Fn(&str) -> bool,
) -> (String, Option<i32>) {
    let mut cmd = armvm();
    cmd.args(args);
    run_command_until(cmd, prompt_and_input, timeout, done)
}

/// `run_until` for any command (e.g. QEMU running the same guest).
pub fn run_command_until(
    cmd: Command,
    prompt_and_input: Option<(&str, &str)>,
    timeout: std::time::Duration,
    done: impl Fn(&str) -> bool,
) -> (String, Option<i32>) {
    run_command_script(
        cmd,
        prompt_and_input.as_slice(),
        std::time::Duration::ZERO,
        timeout,
        done,
    )
}

/// `run_command_until` with a sequence of (prompt, input) steps, e.g. a login:
/// each input is written once its prompt has appeared on stdout after the place
/// where the previous step's prompt appeared, and `settle` has passed since it
/// was seen (a program that flushes its terminal's input after printing its
/// prompt, as `login` does for the password, would lose input typed at once).
pub fn run_command_script(
    mut cmd: Command,
    steps: &[(&str, &str)],
    settle: std::time::Duration,
    timeout: std::time::Duration,
    done: impl Fn(&str) -> bool,
) -> (String, Option<i32>) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take();
    let mut steps = steps.iter();
    let mut pending_input = steps.next();
    // Where the next prompt is looked for, and when the pending one was seen.
    let mut search_from = 0;
    let mut prompt_seen: Option<std::time::Instant> = None;
    let start = std::time::Instant::now();
    let mut output = Vec::new();
    let status = loop {
        if let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            output.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&output).to_string();
        while let Some((prompt, input)) = pending_input {
            if prompt_seen.is_none() {
                match text.get(search_from..).and_then(|t| t.find(prompt)) {
                    Some(pos) => {
                        search_from += pos + prompt.len();
                        prompt_seen = Some(std::time::Instant::now());
                    }
                    None => break,
                }
            }
            if prompt_seen.is_some_and(|t| t.elapsed() < settle) {
                break;
            }
            if let Some(s) = stdin.as_mut() {
                let _ = s.write_all(input.as_bytes());
                let _ = s.flush();
            }
            prompt_seen = None;
            pending_input = steps.next();
        }
        if let Ok(Some(st)) = child.try_wait() {
            while let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
                output.extend_from_slice(&chunk);
            }
            break st.code();
        }
        if done(&text) || start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let mut text = String::from_utf8_lossy(&output).to_string();
    if !err.is_empty() {
        text.push_str("\n--- stderr ---\n");
        text.push_str(&err);
    }
    (text, status)
}

/// Kernel log lines that mean the guest kernel is unhappy.
pub const KERNEL_TROUBLE: &[&str] = &[
    "BUG:",
    "WARNING:",
    "Oops",
    "Unable to handle",
    // RCU stalls in all their forms ("rcu: INFO: rcu_sched detected stalls on
    // CPUs/tasks", "rcu_sched self-detected stall on CPU", expedited ones).
    "self-detected stall",
    "detected stalls on",
    "detected expedited stalls",
    // The hung-task detector ("INFO: task X blocked for more than N seconds").
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
    "Kernel panic",
];

pub fn assert_no_kernel_trouble(output: &str) {
    for bad in KERNEL_TROUBLE {
        if let Some(pos) = output.find(bad) {
            let start = output[..pos].rfind('\n').map_or(0, |p| p + 1);
            let context: String = output[start..].chars().take(2000).collect();
            panic!("kernel reported '{bad}':\n{context}");
        }
    }
}
