//! End-to-end: virtio-net on a host tap interface (`--net tap,ifname=NAME`).
//!
//! The host side lives in a network namespace this test creates (`ip netns
//! add`), so nothing touches the host's own interfaces: the tap interface
//! armvmtap0 (`ip tuntap add ... mode tap`) gets 192.168.123.1/24 there,
//! `python3 -m http.server` serves a file bound to that address, and armvm itself
//! runs in the namespace (`ip netns exec`) to open the tap. Debian's generic arm64
//! kernel (tests/common/guest.rs) sets 192.168.123.2/24 on eth0 statically, pings
//! the host side, fetches the file, and serves a page with busybox httpd that the
//! test fetches from inside the namespace. A guard deletes the tap interface and
//! the namespace at the end, also when the test fails.
//!
//! Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (CI runs as root). Without them the test
//! says why on stderr and returns early; any other failure to set up fails it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::guest::{linux_guest, test_dir};
use common::*;

const TAP: &str = "armvmtap0";
const HOST_ADDR: &str = "192.168.123.1";
const GUEST_ADDR: &str = "192.168.123.2";
const HTTP_PORT: u16 = 8000;
const GUEST_HTTP_PORT: u16 = 8080;

/// The network namespace and its tap interface; deleted on drop.
struct Namespace {
    name: String,
}

impl Namespace {
    /// `ip ARGS` in the namespace (`ip -n NAME ARGS`); Err holds its stderr.
    fn ip(&self, args: &[&str]) -> Result<(), String> {
        run_ip(&[&["-n", &self.name], args].concat())
    }

    /// A command run in the namespace (`ip netns exec NAME PROGRAM`).
    fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the namespace would destroy the tap interface too; deleting it
        // first keeps it from outliving a namespace still held by a process.
        let _ = self.ip(&["link", "del", TAP]);
        if let Err(e) = run_ip(&["netns", "del", &self.name]) {
            eprintln!("cannot delete network namespace {}: {e}", self.name);
        }
    }
}

fn run_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip ({e}): iproute2 is needed"));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_permission_error(message: &str) -> bool {
    message.contains("Operation not permitted") || message.contains("Permission denied")
}

/// Kills a child process on drop (the HTTP server, armvm).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Creates the namespace with the tap interface up and addressed; None (after
/// saying why) when this user may not.
fn namespace() -> Option<Namespace> {
    let name = format!("armvm-tap-{}", std::process::id());
    if let Err(e) = run_ip(&["netns", "add", &name]) {
        if is_permission_error(&e) {
            eprintln!("SKIPPED virtio_tap: no permission to create a network namespace ({e})");
            return None;
        }
        panic!("{e}");
    }
    let ns = Namespace { name };
    if let Err(e) = ns.ip(&["tuntap", "add", TAP, "mode", "tap"]) {
        if is_permission_error(&e) {
            eprintln!("SKIPPED virtio_tap: no permission to create a tap interface ({e})");
            return None;
        }
        panic!("{e}");
    }
    for args in [
        &["addr", "add", &format!("{HOST_ADDR}/24"), "dev", TAP][..],
        &["link", "set", TAP, "up"],
        &["link", "set", "lo", "up"],
    ] {
        ns.ip(args).unwrap_or_else(|e| panic!("{e}"));
    }
    Some(ns)
}

#[test]
fn tap_network_ping_and_http_both_ways() {
    let Some(ns) = namespace() else { return };
    let dir = test_dir("virtio_tap", "tap");

    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("hello.txt"), "hello from the tap host\n").unwrap();
    let mut server = ns.exec("python3");
    server
        .args([
            "-u",
            "-m",
            "http.server",
            "--bind",
            HOST_ADDR,
            "--directory",
        ])
        .arg(&www)
        .arg(HTTP_PORT.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = KillOnDrop(server.spawn().expect("start python3 -m http.server"));
    // It prints "Serving HTTP on ..." once it listens.
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("Serving HTTP"), "http.server: {first}");

    let scenario = format!(
        r#"
ip link set lo up
ip link set eth0 up
ip addr add {GUEST_ADDR}/24 dev eth0
cat /sys/class/net/eth0/address
ping -c 3 {HOST_ADDR}
echo ARMVM-PING-OK
echo "ARMVM-WGET: $(wget -q -O - http://{HOST_ADDR}:{HTTP_PORT}/hello.txt)"
mkdir -p /www
echo "hello from the tap guest" > /www/index.html
httpd -p {GUEST_HTTP_PORT} -h /www
echo ARMVM-NET-READY
sleep 600
"#
    );
    let guest = linux_guest();
    let initrd = guest.initramfs(&dir, &scenario);
    let mut armvm_cmd = ns.exec(env!("CARGO_BIN_EXE_armvm"));
    armvm_cmd
        .args(["run", "-m", "1024", "--net"])
        .arg(format!("tap,ifname={TAP}"))
        .arg("--kernel")
        .arg(&guest.kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--append", "console=ttyAMA0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = KillOnDrop(armvm_cmd.spawn().expect("start armvm"));
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
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
    while !output.contains("ARMVM-NET-READY") && !output.contains("ARMVM-SCENARIO-EXIT") {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
            }
            Err(_) if Instant::now() < deadline => {}
            Err(_) => break,
        }
    }
    // The host side reaches the guest's server over the tap interface.
    let fetched = if output.contains("ARMVM-NET-READY") {
        let out = ns
            .exec("python3")
            .args([
                "-c",
                "import sys, urllib.request; \
                 sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=60).read().decode())",
                &format!("http://{GUEST_ADDR}:{GUEST_HTTP_PORT}/index.html"),
            ])
            .output()
            .expect("run python3 in the namespace");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    } else {
        String::new()
    };
    drop(child);
    while let Ok(line) = rx.try_recv() {
        output.push_str(&line);
        output.push('\n');
    }
    assert_no_kernel_trouble(&output);
    assert!(
        output.contains("52:54:00:12:34:56"),
        "default MAC:\n{output}"
    );
    assert!(
        output.contains("ARMVM-PING-OK"),
        "the guest could not ping the host side:\n{output}"
    );
    assert!(
        output.contains("ARMVM-WGET: hello from the tap host"),
        "the guest could not fetch from the host side:\n{output}"
    );
    assert!(
        output.contains("ARMVM-NET-READY"),
        "the guest did not start its server:\n{output}"
    );
    assert!(
        fetched.contains("hello from the tap guest"),
        "the host side could not fetch from the guest: {fetched}\n{output}"
    );
}
