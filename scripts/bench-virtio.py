#!/usr/bin/env python3
"""Virtio I/O benchmark: the device tests' Linux guest (Debian 12's generic arm64
kernel and a busybox initramfs, tests/common/guest.rs) on armvm and on QEMU (TCG),
same kernel, initramfs, disk image and network setup, in one run. Per boot the
guest runs:

  disk-write  dd if=/dev/zero of=/dev/vda bs=1M count=DISK_MB oflag=direct
  disk-read   dd if=/dev/vda of=/dev/null bs=1M count=DISK_MB iflag=direct
              on a preallocated raw image (serial=bench, each emulator's default
              cache mode: the host page cache is used, the guest's is not)
  net-g2h     wget --post-file of NET_MB to this script's HTTP server on
              127.0.0.1, reached as 10.0.2.2 through user networking (libslirp
              on both) after udhcpc; busybox wget sends the body in one write
  net-h2g     wget -O /dev/null of NET_MB from that server
  net-g2h-nc  dd if=/dev/zero bs=64k count=.. | nc 10.0.2.2 PORT of NC_MB; busybox
              nc copies 1 KiB per write, so this measures packets per second
              rather than bulk throughput

Disk and net-h2g are timed in the guest (/proc/uptime, 10 ms resolution; the
guest's clock follows the host's on both); net-g2h and net-g2h-nc on the host,
from the connection to the last byte. It prints the mean MiB/s of each over RUNS
boots per emulator with the range, and armvm's throughput over QEMU's (above 1:
armvm is faster); also the boot time to the scenario.

    scripts/bench-virtio.py [--runs N] [--disk-mb N] [--net-mb N] [--nc-mb N]
                            [--timeout S] [--armvm PATH] [--no-qemu] [--rebuild-guest]
    RUNS=5 scripts/bench-virtio.py

It builds armvm in release mode (unless --armvm names a binary) and the guest
with `cargo test --release --test bench_guest -- --ignored` (tests/bench_guest.rs),
reused from target/bench-virtio/ while this script's guest scenario is unchanged.
Each boot's serial output is logged there too. A benchmark, not a test: it never
fails on a slow result; a boot that does not finish is reported (with the last
step it reached) and its missing figures left out.
"""
import argparse
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20
BENCHES = ["disk-write", "disk-read", "net-g2h", "net-h2g", "net-g2h-nc"]
# Measured on the host: the guest's own figure is replaced by the host's.
HOST_TIMED = ["net-g2h", "net-g2h-nc"]

# Run by the guest's /init under `set -e` (tests/common/guest.rs); parameters come
# from the kernel command line so that one initramfs serves every run.
SCENARIO = r"""
param() {
    for w in $(cat /proc/cmdline); do
        case "$w" in "$1"=*) echo "${w#*=}" ;; esac
    done
}
now() { cut -d' ' -f1 /proc/uptime; }
step() { echo "ARMVM-BENCH-STEP: $1 $(now)"; }
disk_mb=$(param bench_disk_mb)
net_mb=$(param bench_net_mb)
nc_mb=$(param bench_nc_mb)
host=10.0.2.2:$(param bench_http_port)
nc_port=$(param bench_nc_port)
disk=$(disk_by_serial bench)
step booted

t0=$(now)
dd if=/dev/zero of="$disk" bs=1M count="$disk_mb" oflag=direct 2>/dev/null
t1=$(now)
echo "ARMVM-BENCH: disk-write $((disk_mb * 1048576)) $t0 $t1"
t0=$(now)
dd if="$disk" of=/dev/null bs=1M count="$disk_mb" iflag=direct 2>/dev/null
t1=$(now)
echo "ARMVM-BENCH: disk-read $((disk_mb * 1048576)) $t0 $t1"

step dhcp
cat > /dhcp.sh <<'EOS'
#!/bin/sh
case "$1" in
bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    ip route add default via "$router" ;;
esac
EOS
chmod +x /dhcp.sh
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /dhcp.sh -n -q -t 10 >/dev/null 2>&1

# wget --post-file sends the file's text (up to its first NUL) in one write.
step blob
dd if=/dev/zero bs=1M count="$net_mb" 2>/dev/null | tr '\0' x > /tmp/blob
step net-g2h
t0=$(now)
wget -q -O /dev/null --post-file /tmp/blob "http://$host/upload"
t1=$(now)
echo "ARMVM-BENCH: net-g2h $((net_mb * 1048576)) $t0 $t1"
rm /tmp/blob

step net-h2g
t0=$(now)
wget -q -O /dev/null "http://$host/download/$((net_mb * 1048576))"
t1=$(now)
echo "ARMVM-BENCH: net-h2g $((net_mb * 1048576)) $t0 $t1"

step net-g2h-nc
t0=$(now)
dd if=/dev/zero bs=64k count=$((nc_mb * 16)) 2>/dev/null | nc 10.0.2.2 "$nc_port"
t1=$(now)
echo "ARMVM-BENCH: net-g2h-nc $((nc_mb * 1048576)) $t0 $t1"
step done
"""


def build_guest(out, disk, rebuild):
    """Builds the guest, or reuses the one a previous run built from the same
    scenario; returns (armvm args, qemu args) without networking."""
    scenario = os.path.join(out, "scenario.sh")
    products = [os.path.join(out, f) for f in ("initramfs.cpio", "armvm.args", "qemu.args")]
    try:
        with open(scenario) as f:
            same = f.read() == SCENARIO and all(os.path.exists(p) for p in products)
    except OSError:
        same = False
    if rebuild or not same:
        build_guest_now(out, disk, scenario)

    def args(name):
        with open(os.path.join(out, name)) as f:
            return f.read().splitlines()
    return args("armvm.args"), args("qemu.args")


def build_guest_now(out, disk, scenario):
    print("building the guest (cargo test --release --test bench_guest)...", file=sys.stderr)
    with open(scenario, "w") as f:
        f.write(SCENARIO)
    env = dict(os.environ, ARMVM_BENCH_DIR=out, ARMVM_BENCH_SCENARIO=scenario, ARMVM_BENCH_DISK=disk)
    p = subprocess.run(["cargo", "test", "--release", "--quiet", "--test", "bench_guest", "--",
                        "--ignored", "--nocapture", "--exact", "emit_bench_guest"],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0 or "ARMVM-BENCH-GUEST:" not in p.stdout:
        os.remove(scenario)
        sys.exit(f"building the guest failed:\n{p.stdout}\n{p.stderr}")


def with_append(args, flag, extra):
    args = list(args)
    i = args.index(flag)
    args[i + 1] = f"{args[i + 1]} {extra}"
    return args


def with_append(args, flag, extra):
    args = list(args)
    i = args.index(flag)
    args[i + 1] = f"{args[i + 1]} {extra}"
    return args


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    return s


class Host:
    """The guest's peers on 127.0.0.1: an HTTP server (POST /upload counts the
    body, GET /download/N sends N bytes) and a byte counter for nc. Records
    {bench: (bytes, seconds)} for the transfers it times."""

    def __init__(self):
        self.http = listener()
        self.nc = listener()
        self.timed = {}
        for sock, handler in ((self.http, self.http_conn), (self.nc, self.nc_conn)):
            threading.Thread(target=self.serve, args=(sock, handler), daemon=True).start()

    def serve(self, sock, handler):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    def nc_conn(self, conn):
        start, n = time.monotonic(), 0
        while chunk := conn.recv(1 << 16):
            n += len(chunk)
        self.timed["net-g2h-nc"] = (n, time.monotonic() - start)
        conn.close()

    def http_conn(self, conn):
        start, buf = time.monotonic(), b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(1 << 16)
            if not chunk:
                conn.close()
                return
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        method, path = lines[0].split()[:2]
        if method == "POST":
            length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
            n = len(body)
            while n < length:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
            self.timed["net-g2h"] = (n, time.monotonic() - start)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        else:
            left = int(path.rsplit("/", 1)[1])
            conn.sendall(f"HTTP/1.0 200 OK\r\nContent-Length: {left}\r\n\r\n".encode())
            block = memoryview(bytes(1 << 20))
            while left:
                n = min(left, len(block))
                conn.sendall(block[:n])
                left -= n
        conn.close()

    def close(self):
        self.http.close()
        self.nc.close()


def run_once(name, cmd, disk, sizes, timeout, log):
    """One boot; returns ({bench: MiB/s}, boot seconds, last step reached)."""
    disk_mb, net_mb, nc_mb = sizes
    with open(disk, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, disk_mb * MiB)
    host = Host()
    params = (f"bench_disk_mb={disk_mb} bench_net_mb={net_mb} bench_nc_mb={nc_mb} "
              f"bench_http_port={host.http.getsockname()[1]} bench_nc_port={host.nc.getsockname()[1]}")
    if name == "armvm":
        cmd = with_append(cmd, "--append", params) + ["--net", "user"]
    else:
        cmd = with_append(cmd, "-append", params) + ["-netdev", "user,id=n0",
                                                     "-device", "virtio-net-device,netdev=n0"]
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    results, boot, step, buf, exit_line = {}, None, "start", b"", None
    while exit_line is None and time.monotonic() - start < timeout:
        if not sel.select(timeout=1):
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        log.write(chunk)
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            line = line.decode(errors="replace").strip()
            if line.startswith("ARMVM-BENCH-STEP: "):
                step = line.split()[1]
                if step == "booted":
                    boot = time.monotonic() - start
            elif line.startswith("ARMVM-BENCH: "):
                bench, nbytes, t0, t1 = line.split()[1:5]
                results[bench] = int(nbytes) / MiB / max(float(t1) - float(t0), 0.01)
            elif line.startswith("ARMVM-SCENARIO-EXIT"):
                exit_line = line
    p.kill()
    p.wait()
    host.close()
    for bench in HOST_TIMED:
        if bench in results:
            nbytes, seconds = host.timed.get(bench, (0, 0))
            expected = (net_mb if bench == "net-g2h" else nc_mb) * MiB
            if nbytes == expected:
                results[bench] = nbytes / MiB / seconds
            else:
                del results[bench]
                print(f"  {name}: {bench}: the host received {nbytes} of {expected} bytes", file=sys.stderr)
    if exit_line != "ARMVM-SCENARIO-EXIT: 0":
        print(f"  {name}: the scenario did not finish ({exit_line or 'timeout'}) after step {step}; "
              f"see {log.name}", file=sys.stderr)
    return results, boot


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "3")))
    ap.add_argument("--disk-mb", type=int, default=256)
    ap.add_argument("--net-mb", type=int, default=64)
    ap.add_argument("--nc-mb", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per boot")
    ap.add_argument("--no-qemu", action="store_true", help="armvm only")
    ap.add_argument("--armvm", metavar="PATH", help="this armvm binary (not built) instead of target/release/armvm")
    ap.add_argument("--rebuild-guest", action="store_true", help="build the guest even if one is there")
    a = ap.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    out = os.path.join(target, "bench-virtio")
    os.makedirs(out, exist_ok=True)
    disk = os.path.join(out, "disk.raw")
    armvm = a.armvm
    if not armvm:
        print("building armvm (release)...", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "armvm"], cwd=ROOT, check=True)
        armvm = os.path.join(target, "release/armvm")
    armvm_args, qemu_args = build_guest(out, disk, a.rebuild_guest)
    emulators = [("armvm", [armvm] + armvm_args)]
    if not a.no_qemu:
        emulators.append(("qemu", ["qemu-system-aarch64"] + qemu_args))

    sizes = (a.disk_mb, a.net_mb, a.nc_mb)
    samples = {name: {b: [] for b in BENCHES + ["boot"]} for name, _ in emulators}
    for run in range(a.runs):
        for name, cmd in emulators:
            with open(os.path.join(out, f"{name}-{run}.log"), "wb") as log:
                results, boot = run_once(name, cmd, disk, sizes, a.timeout, log)
            for b, v in results.items():
                samples[name][b].append(v)
            if boot:
                samples[name]["boot"].append(boot)
            shown = ", ".join(f"{b} {results[b]:.1f}" for b in BENCHES if b in results)
            print(f"run {run + 1}/{a.runs} {name}: boot {boot or 0:.1f} s; MiB/s: {shown}", file=sys.stderr)
    os.remove(disk)

    names = [n for n, _ in emulators]
    print(f"virtio, Debian arm64 guest: disk {a.disk_mb} MiB, net {a.net_mb} MiB, nc {a.nc_mb} MiB, "
          f"RUNS={a.runs}")
    print(f"{'benchmark':<12}" + "".join(f"{n + ' MiB/s':>14}{'(min-max)':>14}" for n in names)
          + (f"{'armvm/qemu':>12}" if len(names) > 1 else ""))
    for b in BENCHES + ["boot"]:
        row = f"{'boot s' if b == 'boot' else b:<12}"
        means = []
        for n in names:
            v = samples[n][b]
            means.append(sum(v) / len(v) if v else None)
            row += f"{means[-1]:>14.1f}{f'{min(v):.1f}-{max(v):.1f}':>14}" if v else f"{'failed':>14}{'':>14}"
        if len(names) > 1:
            row += f"{means[0] / means[1]:>12.2f}" if all(means) else f"{'-':>12}"
        print(row)
    if len(names) > 1:
        print("armvm/qemu: of throughputs (above 1: armvm is faster); for boot, of seconds")


if __name__ == "__main__":
    sys.exit(main())
