//! Host-side helpers for the device tests:
//!
//! - host tools: `host_tool` (any command that must succeed), ext4 images made
//!   with `mke2fs -d`, `e2fsck`, `debugfs`;
//! - [`Running`]: armvm (or QEMU) started in the background, its output collected
//!   while the test acts on it (signals, a second emulator on the same image),
//!   with bounded waits;
//! - figures from /proc: a process's resident size, the OFD lock bytes held on a
//!   file;
//! - [`sleeping_guest`]: a bare-metal program that prints a marker on the PL011
//!   and then sleeps in WFI forever, for tests about the host side that need no
//!   Linux (it boots at once and costs no host CPU).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs `cmd`, which must succeed; returns its stdout. Panics with its output
/// otherwise, and with a hint at scripts/setup.sh if the tool is missing.
pub fn host_tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}): run scripts/setup.sh first"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Converts disk image `from` (format `from_format`) to `to` (`to_format`)
/// with `qemu-img convert`.
pub fn qemu_img_convert(from: &Path, from_format: &str, to: &Path, to_format: &str) {
    host_tool(
        Command::new("qemu-img")
            .args(["convert", "-f", from_format, "-O", to_format])
            .arg(from)
            .arg(to),
    );
}

/// An ext4 image of `size` (mke2fs syntax, e.g. "64M") holding `files` at its root.
pub fn make_ext4(dir: &Path, name: &str, size: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let src = dir.join(format!("{name}.root"));
    std::fs::create_dir_all(&src).unwrap();
    for (f, data) in files {
        std::fs::write(src.join(f), data).unwrap();
    }
    let img = dir.join(name);
    host_tool(
        Command::new("mke2fs")
            .args(["-F", "-q", "-t", "ext4", "-L", "armvm", "-d"])
            .arg(&src)
            .arg(&img)
            .arg(size),
    );
    img
}

/// `e2fsck -fn`: the file system must be clean.
pub fn assert_fsck_clean(img: &Path) {
    let out = Command::new("e2fsck")
        .arg("-fn")
        .arg(img)
        .output()
        .expect("e2fsck (e2fsprogs) not runnable: run scripts/setup.sh first");
    assert!(
        out.status.success(),
        "e2fsck found problems in {}:\n{}{}",
        img.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a machine that lost power leaves is a file system whose last
/// transactions may sit in the journal only: replay it (`e2fsck -E
/// journal_only`), as the next mount would.
pub fn replay_journal(img: &Path) {
    let out = Command::new("e2fsck")
        .args(["-fy", "-E", "journal_only"])
        .arg(img)
        .output()
        .expect("e2fsck (e2fsprogs) not runnable: run scripts/setup.sh first");
    // 0: nothing to do, 1: the journal was replayed.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "replaying the journal of {} failed ({:?}):\n{}{}",
        img.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A file read out of an ext4 image with debugfs.
pub fn debugfs_dump(img: &Path, file: &str, out: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(out);
    host_tool(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("dump {file} {}", out.display()))
            .arg(img),
    );
    std::fs::read(out)
        .unwrap_or_else(|e| panic!("debugfs did not dump {file} from {}: {e}", img.display()))
}

/// Deterministic pseudo-random bytes (splitmix64).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The hex SHA-256 of some bytes (through `sha256sum`, as the guests print it).
pub fn sha256_of(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The resident set size of a process, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("no /proc/{pid}/status: {e}"));
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/PID/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The bytes of `path` covered by open file description locks (QEMU's and
/// armvm's image locks), sorted, from /proc/locks. OFD locks show no owner pid
/// there, so this is the union over all holders.
pub fn ofd_lock_bytes(path: &Path) -> Vec<u64> {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // As the kernel prints it: major and minor in hex, the inode in decimal.
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").expect("/proc/locks");
    let mut bytes = Vec::new();
    // "1: OFDLCK ADVISORY  READ  -1 08:01:1234 100 100"
    for line in locks.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[1] != "OFDLCK" {
            continue;
        }
        if f[5] != id {
            continue;
        }
        let (Ok(start), Ok(end)) = (f[6].parse::<u64>(), f[7].parse::<u64>()) else {
            continue;
        };
        bytes.extend(start..=end);
    }
    bytes.sort_unstable();
    bytes.dedup();
    bytes
}

/// A process started in the background whose stdout and stderr are collected.
/// Dropping it kills the process if it still runs.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Running {
    /// Starts `cmd` with `stdin` (stdout and stderr are collected).
    pub fn spawn(mut cmd: Command, stdin: Stdio) -> Running {
        let mut child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let pipes: [(Box<dyn Read + Send>, _); 2] = [
            (Box::new(child.stdout.take().unwrap()), stdout.clone()),
            (Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ];
        for (mut pipe, sink) in pipes {
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
        }
        Running {
            child,
            stdout,
            stderr,
            readers,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).to_string()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).to_string()
    }

    /// Stdout, then stderr, for failure messages (the last 6000 characters).
    pub fn output(&self) -> String {
        let text = format!("{}\n--- stderr ---\n{}", self.stdout(), self.stderr());
        let chars: Vec<char> = text.chars().collect();
        chars[chars.len().saturating_sub(6000)..].iter().collect()
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits until `needle` appears on stdout. Err says why not: the process
    /// exited first, or `timeout` passed.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            if self.stdout().contains(needle) {
                return Ok(start.elapsed());
            }
            if let Some(st) = self.try_status() {
                // Output written just before the exit may still be in the pipe.
                std::thread::sleep(Duration::from_millis(200));
                if self.stdout().contains(needle) {
                    return Ok(start.elapsed());
                }
                return Err(format!("exited ({st}) before printing {needle}"));
            }
            if start.elapsed() > timeout {
                return Err(format!("no {needle} within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `timeout` for the process to exit; None if it did not (it is
    /// then killed). The output readers are finished when this returns.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.try_status() {
                break Some(st);
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The marker [`sleeping_guest`] prints once it runs.
pub const SLEEPING_GUEST_READY: &str = "ARMVM-BAREMETAL-READY";

const SLEEPING_GUEST_SOURCE: &str = r#"
// Prints a marker on the PL011 and sleeps in WFI forever (interrupts stay
// masked and no timer is set, so nothing ever wakes it).
    .text
    .global _start
_start:
    ldr     x1, =0x09000000
    adr     x2, msg
1:  ldrb    w3, [x2], #1
    cbz     w3, 2f
    strb    w3, [x1]
    b       1b
2:  wfi
    b       2b
msg:
    .asciz  "ARMVM-BAREMETAL-READY\nprompt> "
"#;

/// The bare-metal sleeper (an ELF for `--kernel`), built once per test binary
/// under `scratch_dir(binary)`.
pub fn sleeping_guest(binary: &str) -> PathBuf {
    static ELF: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ELF.get_or_init(|| {
        let dir = super::scratch_dir(binary);
        let src = dir.join("sleeper.S");
        std::fs::write(&src, SLEEPING_GUEST_SOURCE).unwrap();
        let elf = dir.join("sleeper.elf");
        super::build_baremetal(&src, &elf);
        elf
    })
    .clone()
}
