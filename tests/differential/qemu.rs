//! Runs a test executable under qemu-aarch64 (user mode), the reference.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::case::Outcome;
use crate::elf::RECORD_LEN;

/// The CPU model qemu emulates: ARMv8.2 with LSE and CRC32 but without pointer
/// authentication (whose hint-space instructions armvm executes as NOPs) or MTE.
pub const QEMU_CPU: &str = "cortex-a76";

/// `qemu-aarch64` from `ARMVM_QEMU_AARCH64` or the PATH.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ARMVM_QEMU_AARCH64") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("qemu-aarch64"))
            .find(|p| p.is_file())
    })
}

/// Runs `elf` and splits its output into records; a fatal signal ends the list with
/// a fault. `Err` for anything the harness did not expect.
pub fn run(qemu: &Path, elf: &Path, n_cases: usize) -> Result<Vec<Outcome>, String> {
    let dir = elf.parent().unwrap_or(Path::new("."));
    let stdout_path = elf.with_extension("out");
    let stderr_path = elf.with_extension("err");
    let stdout = std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
    // The shell only sets RLIMIT_CORE to 0, so that a crashing guest leaves no core
    // file, and then becomes qemu.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c 0; exec \"$0\" -cpu \"$1\" \"$2\"")
        .arg(qemu)
        .arg(QEMU_CPU)
        .arg(elf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", qemu.display()))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("qemu: timed out".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("qemu: wait: {e}")),
        }
    };
    let bytes = std::fs::read(&stdout_path).map_err(|e| e.to_string())?;
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stdout_path);
    let _ = std::fs::remove_file(&stderr_path);
    if bytes.len() % RECORD_LEN != 0 {
        return Err(format!(
            "qemu: output of {} bytes is not whole records ({status}; {})",
            bytes.len(),
            err.trim()
        ));
    }
    let mut out: Vec<Outcome> = bytes
        .chunks(RECORD_LEN)
        .map(|c| Outcome::Record(c.to_vec()))
        .collect();
    if let Some(sig) = status.signal() {
        out.push(Outcome::Fault {
            signal: sig,
            detail: format!("qemu: {}", err.lines().next().unwrap_or("").trim()),
        });
        return Ok(out);
    }
    if !status.success() || out.len() != n_cases {
        return Err(format!(
            "qemu: {status} after {} of {n_cases} cases: {}",
            out.len(),
            err.trim()
        ));
    }
    Ok(out)
}
