//! End-to-end: the virtio balloon gives guest memory back to the host.
//!
//! Debian's generic arm64 kernel (tests/common/guest.rs) dirties 400 MiB of
//! guest RAM in a tmpfs and frees it again; the test then asks for 512 MiB
//! through the monitor (`balloon 512M` on a 1 GiB guest), waits until the guest
//! reports the balloon full (`info balloon`), and checks that armvm's resident
//! size on the host fell by at least 256 MiB.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

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
    let mut child = armvm()
        .args(["run", "-m", "1024", "--balloon", "--monitor"])
        .arg(&socket)
        .arg("--kernel")
        .arg(&guest.kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--append", "console=ttyAMA0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start armvm");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut output = String::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !output.contains("ARMVM-DIRTIED") {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
            }
            Err(_) if Instant::now() < deadline => {}
            Err(_) => {
                let _ = child.kill();
                panic!("the guest did not dirty its memory:\n{output}");
            }
        }
    }
    let before = rss_kib(child.id());
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
    let after = rss_kib(child.id());
    monitor(&mut sock, "quit");
    let status = child.wait().unwrap();
    while let Ok(line) = rx.try_recv() {
        output.push_str(&line);
        output.push('\n');
    }
    assert_no_kernel_trouble(&output);
    assert!(
        reply.starts_with("balloon: actual=512\n"),
        "the guest did not fill the balloon: {reply}"
    );
    eprintln!("armvm RSS {} MiB -> {} MiB", before >> 10, after >> 10);
    assert!(
        before.saturating_sub(after) >= 256 << 10,
        "RSS fell only from {before} KiB to {after} KiB"
    );
    assert_eq!(status.code(), Some(0), "monitor quit is a clean exit");
}
