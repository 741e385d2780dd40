//! End-to-end: virtio-net with user-mode networking (`--net user`, libslirp).
//!
//! Debian's generic arm64 kernel (tests/common/guest.rs) brings eth0 up, gets an
//! address by DHCP, fetches a file over HTTP from a server this test runs on
//! 127.0.0.1 only (reached through the user network's gateway, 10.0.2.2), and
//! serves a page with busybox httpd that the host fetches through
//! `hostfwd=tcp:127.0.0.1:PORT-:8080`. No traffic leaves the loopback interface.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use common::host::Running;

use common::guest::{linux_guest, test_dir};
use common::*;

/// A one-file HTTP server on 127.0.0.1; returns its port.
fn serve_file(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn user_network_dhcp_http_and_hostfwd() {
    let dir = test_dir("virtio_net", "user");
    let host_port = serve_file("hello from the host\n");
    let fwd_port = free_port();
    let scenario = format!(
        r#"
cat > /dhcp.sh <<'EOS'
#!/bin/sh
case "$1" in
bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    ip route add default via "$router"
    echo "ARMVM-DHCP: $ip via $router" ;;
esac
EOS
chmod +x /dhcp.sh
ip link set lo up
ip link set eth0 up
cat /sys/class/net/eth0/address
udhcpc -i eth0 -s /dhcp.sh -n -q -t 10
echo "ARMVM-WGET: $(wget -q -O - http://10.0.2.2:{host_port}/file)"
mkdir -p /www
echo "hello from the guest" > /www/index.html
httpd -p 8080 -h /www
echo ARMVM-NET-READY
sleep 600
"#
    );
    let guest = linux_guest();
    let initrd = guest.initramfs(&dir, &scenario);
    let mut cmd = armvm();
    cmd.args(["run", "-m", "1024", "--net"])
        .arg(format!("user,hostfwd=tcp:127.0.0.1:{fwd_port}-:8080"))
        .arg("--kernel")
        .arg(&guest.kernel)
        .arg("--initrd")
        .arg(&initrd)
        .args(["--append", "console=ttyAMA0"]);
    let mut child = Running::spawn(cmd, Stdio::null());
    let _ = child.wait_for("ARMVM-NET-READY", Duration::from_secs(300));
    // The host reaches the guest's server through the forwarded port.
    let fetched = (|| -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", fwd_port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
        let mut reply = String::new();
        s.read_to_string(&mut reply)?;
        Ok(reply)
    })();
    child.signal(libc::SIGTERM);
    child.wait_exit(Duration::from_secs(30));
    let output = child.stdout();
    assert_no_kernel_trouble(&output);
    assert!(
        output.contains("52:54:00:12:34:56"),
        "default MAC:\n{output}"
    );
    assert!(
        output.contains("ARMVM-DHCP: 10.0.2.15 via 10.0.2.2"),
        "no DHCP lease:\n{output}"
    );
    assert!(
        output.contains("ARMVM-WGET: hello from the host"),
        "the guest could not fetch from the host:\n{output}"
    );
    let fetched = fetched.expect("connect to the forwarded port");
    assert!(
        fetched.contains("hello from the guest"),
        "hostfwd reply: {fetched}\n{output}"
    );
}
