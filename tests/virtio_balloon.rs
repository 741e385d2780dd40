//! End-to-end: the virtio balloon gives guest memory back to the host.
//!
//! Debian's generic arm64 kernel (tests/common/guest.rs) dirties 400 MiB of
//! guest RAM in a tmpfs and frees it again; the test then asks for 512 MiB
//! through the monitor (`balloon 512M` on a 1 GiB guest), waits until the guest
//! reports the balloon full (`info balloon`), and checks that armvm's resident
//! size on the host fell by at least 256 MiB.

mod common;

use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::host::{rss_kib, Running};

use common::guest::{linux_guest, test_dir};
use common::*;

const SCENARIO: &str = "\
mkdir -p /dirty
mount -t tmpfs -o size=600m tmpfs /dirty
dd if=/dev/zero of=/dirty/fill bs=1M count=400 2>/dev/null
rm /dirty/fill
echo ARMVM-DIRTIED
sleep 600
";

/// Sends one monitor command and returns its reply (up to the next prompt).
fn monitor(sock: &mut BufReader<UnixStream>, command: &str) -> String {
    sock.get_mut()
        .write_all(format!("{command}\n").as_bytes())
        .unwrap();
    let mut reply = Vec::new();
    while !reply.ends_with(b"(armvm) ") {
        let mut byte = [0u8];
        sock.read_exact(&mut byte).unwrap();
        reply.push(byte[0]);
    }
    String::from_utf8_lossy(&reply).to_string()
}

#[test]
fn balloon_returns_memory_to_the_host() {
    let dir = test_dir("virtio_balloon", "balloon");
    let guest = linux_guest();
    let initrd = guest.initramfs(&dir, SCENARIO);
    let socket = dir.join("monitor.sock");
    let mut cmd = armvm();
    cmd.args(["run", "-m", "1024", "--balloon", "--monitor"])
        .arg(&socket)
        .arg("--kernel")
        .arg(&guest.kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--append", "console=ttyAMA0"]);
    let mut child = Running::spawn(cmd, Stdio::null());
    let dirtied = child.wait_for("ARMVM-DIRTIED", Duration::from_secs(300));
    assert!(
        dirtied.is_ok(),
        "the guest did not dirty its memory: {dirtied:?}\n{}",
        child.output()
    );
    let before = rss_kib(child.pid());
    let mut sock = BufReader::new(UnixStream::connect(&socket).expect("monitor socket"));
    let mut banner = Vec::new();
    while !banner.ends_with(b"(armvm) ") {
        let mut byte = [0u8];
        sock.read_exact(&mut byte).unwrap();
        banner.push(byte[0]);
    }
    assert_eq!(
        monitor(&mut sock, "info balloon"),
        "balloon: actual=1024\n(armvm) "
    );
    monitor(&mut sock, "balloon 512M");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reply = String::new();
    while Instant::now() < deadline {
        reply = monitor(&mut sock, "info balloon");
        if reply.starts_with("balloon: actual=512\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let after = rss_kib(child.pid());
    monitor(&mut sock, "quit");
    let status = child.wait_exit(Duration::from_secs(30));
    assert_no_kernel_trouble(&child.stdout());
    assert!(
        reply.starts_with("balloon: actual=512\n"),
        "the guest did not fill the balloon: {reply}"
    );
    eprintln!("armvm RSS {} MiB -> {} MiB", before >> 10, after >> 10);
    assert!(
        before.saturating_sub(after) >= 256 << 10,
        "RSS fell only from {before} KiB to {after} KiB"
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "monitor quit is a clean exit"
    );
}
