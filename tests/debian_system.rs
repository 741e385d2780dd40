//! End-to-end, opt-in: a real Debian 12 arm64 system on armvm.
//!
//! `scripts/build-debian-image.sh` builds (once, into `$ARMVM_CACHE`) a bookworm
//! root file system with mmdebstrap on an ext4 image, with the kernel and
//! initramfs of that system beside it. This test boots it from a scratch copy of
//! the image (runs never change the cache) with root=/dev/vda on two vCPUs with
//! user networking, waits for systemd's serial getty, logs in as root (empty
//! password), runs a few commands (uname, `systemctl is-system-running --wait`,
//! /etc/debian_version, networkctl), and powers off: armvm must exit with
//! status 0, and the kernel log must be free of BUG:/WARNING:/Oops/...
//!
//! It runs only with `ARMVM_DEBIAN_SYSTEM=1`: building the image needs root (or
//! sudo), binfmt_misc, qemu-user-static and a Debian mirror, and takes several
//! minutes; the boot takes a few more. Otherwise it prints why it was skipped
//! and passes. `ARMVM_DEBIAN_QEMU=1` runs the same session on
//! `qemu-system-aarch64 -M virt` instead (to compare times or check the guest).
//! The times to the login prompt and to the end are printed (`--nocapture`).
//!
//! ```sh
//! ARMVM_DEBIAN_SYSTEM=1 cargo test --release --test debian_system -- --nocapture
//! ```

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const ENABLE_ENV: &str = "ARMVM_DEBIAN_SYSTEM";
const QEMU_ENV: &str = "ARMVM_DEBIAN_QEMU";

/// Generous: a full systemd boot on the interpreter takes minutes, and CI-sized
/// machines have 2 cores shared with other work.
const TIMEOUT: Duration = Duration::from_secs(1800);

/// The line agetty prints (from /etc/issue) just before "armvm-debian login: ".
/// The test types at this line rather than at the prompt: armvm's PL011 passes
/// output to the host at each newline, so a prompt without one only shows up
/// with the next line. Input typed after the banner is safe: agetty flushes its
/// terminal's input before printing the banner, not after.
const LOGIN_BANNER: &str = "Debian GNU/Linux 12 armvm-debian ttyAMA0";

/// The end of /etc/motd, printed by login before root's shell starts (the shell's
/// prompt has no newline either; input typed early waits in the terminal).
const MOTD_END: &str = "permitted by applicable law.";

const APPEND: &str = "root=/dev/vda console=ttyAMA0";

/// Printed by the guest's shell after the commands (computed there, so the
/// echoed command line does not match it).
const DONE_MARKER: &str = "ARMVM-COMMANDS-DONE-42";

/// The image directory, built by the script if needed.
fn debian_image() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-debian-image.sh");
    let cache = std::env::var_os("ARMVM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/armvm")
        });
    let dir = cache.join("debian-12-arm64");
    let start = Instant::now();
    let status = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(status.success(), "{} failed: {status}", script.display());
    say(&format!(
        "debian_system: image ready in {:.0} s: {}",
        start.elapsed().as_secs_f64(),
        dir.display()
    ));
    dir
}

/// Writes a line to the real stderr, past libtest's capture of print!/eprint!,
/// so that the skip notice and the timings show without --nocapture.
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn tail(s: &str, n: usize) -> String {
    let start = s.len() - s.chars().rev().take(n).map(char::len_utf8).sum::<usize>();
    s[start..].to_string()
}

#[test]
fn debian_boots_to_login_runs_commands_and_powers_off() {
    if !std::env::var(ENABLE_ENV).is_ok_and(|v| v == "1") {
        say(&format!(
            "debian_system: skipped: set {ENABLE_ENV}=1 (builds a Debian image, ~5-10 \
             minutes the first time, then boots it, ~2-3 minutes)"
        ));
        return;
    }
    let image = debian_image();
    let dir = scratch_dir("debian_system");
    let disk = dir.join("rootfs.img");
    let _ = std::fs::remove_file(&disk);
    let status = Command::new("cp")
        .arg("--sparse=always")
        .arg(image.join("rootfs.img"))
        .arg(&disk)
        .status()
        .expect("run cp");
    assert!(status.success(), "copying rootfs.img failed");

    let on_qemu = std::env::var(QEMU_ENV).is_ok_and(|v| v == "1");
    let (kernel, initrd, disk_path) = (
        image.join("vmlinuz").display().to_string(),
        image.join("initrd.img").display().to_string(),
        disk.display().to_string(),
    );
    let cmd = if on_qemu {
        let mut c = Command::new("qemu-system-aarch64");
        c.args("-M virt -cpu cortex-a57 -m 1024 -smp 2 -nographic -no-reboot".split(' '));
        c.args(["-kernel", &kernel, "-initrd", &initrd, "-append", APPEND]);
        c.arg("-drive")
            .arg(format!("if=none,id=d0,file={disk_path},format=raw"));
        c.args("-device virtio-blk-device,drive=d0 -netdev user,id=n0".split(' '));
        c.args("-device virtio-net-device,netdev=n0".split(' '));
        c
    } else {
        let mut c = armvm();
        c.args(["run", "-m", "1024", "--smp", "2", "--kernel", &kernel]);
        c.args(["--initrd", &initrd, "--append", APPEND]);
        c.args(["--disk", &disk_path, "--net", "user"]);
        c
    };
    let commands = "uname -a; systemctl is-system-running --wait || true; \
                    systemctl --failed --no-legend --no-pager; cat /etc/debian_version; \
                    networkctl --no-pager list; echo ARMVM-COMMANDS-DONE-$((6*7))\n";
    let steps = [
        (LOGIN_BANNER, "root\n"),
        (MOTD_END, commands),
        (DONE_MARKER, "poweroff\n"),
    ];

    let start = Instant::now();
    let login_at = Cell::new(None);
    let done_at = Cell::new(None);
    let (out, status) =
        run_command_script(cmd, &steps, Duration::from_secs(2), TIMEOUT, |o: &str| {
            if login_at.get().is_none() && o.contains(LOGIN_BANNER) {
                login_at.set(Some(start.elapsed()));
            }
            if done_at.get().is_none() && o.contains(DONE_MARKER) {
                done_at.set(Some(start.elapsed()));
            }
            KERNEL_TROUBLE.iter().any(|t| o.contains(t))
        });
    let total = start.elapsed();
    let _ = std::fs::write(dir.join("console.log"), &out);
    let secs =
        |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64()));
    say(&format!(
        "debian_system: {}: login prompt after {} s, commands done after {} s, exit after {:.1} s \
         (status {status:?}); console log in {}",
        if on_qemu {
            "qemu-system-aarch64"
        } else {
            "armvm"
        },
        secs(login_at.get()),
        secs(done_at.get()),
        total.as_secs_f64(),
        dir.join("console.log").display()
    ));

    assert_no_kernel_trouble(&out);
    assert!(
        login_at.get().is_some(),
        "no login prompt (status {status:?}); last output:\n{}",
        tail(&out, 4000)
    );
    assert!(
        done_at.get().is_some(),
        "the commands did not run (status {status:?}); last output:\n{}",
        tail(&out, 4000)
    );
    let session = &out[out.find(MOTD_END).unwrap()..];
    assert!(
        session.contains("aarch64 GNU/Linux"),
        "uname -a:\n{session}"
    );
    let version = session
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("12.") && l.chars().all(|c| c.is_ascii_digit() || c == '.'));
    assert!(version.is_some(), "no Debian 12 version:\n{session}");
    let state = ["running", "degraded", "starting", "maintenance"]
        .into_iter()
        .find(|s| session.lines().any(|l| l.trim() == *s));
    say(&format!(
        "debian_system: systemctl is-system-running: {state:?}"
    ));
    assert_eq!(
        status,
        Some(0),
        "poweroff did not end the machine with status 0; last output:\n{}",
        tail(&out, 4000)
    );
    let _ = std::fs::remove_file(&disk);
}
