#!/usr/bin/env python3
"""Boot benchmark: Debian 12's arm64 installer on armvm and on QEMU (TCG), same
kernel, initrd and machine size, in one run. Prints the seconds each takes to reach
"Run /init" and the installer's "Select a language" screen, and the ratios.

    scripts/bench-boot.py [--smp N] [--gic 2|3] [--timeout SECONDS]

It builds armvm in release mode and fetches the installer with scripts/setup.sh.
A benchmark, not a test: it never fails on a slow result.
"""
import argparse
import os
import selectors
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKS = ["Run /init", "Select a language"]


def installer():
    pkg = subprocess.run([os.path.join(ROOT, "scripts/setup.sh"), "path", "debian-installer-12-netboot-arm64"],
                         check=True, capture_output=True, text=True).stdout.strip()
    d = os.path.join(pkg, "usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64")
    return os.path.join(d, "linux"), os.path.join(d, "initrd.gz")


def time_marks(cmd, timeout):
    """Runs cmd, returns {mark: seconds} for each mark seen on its output."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    seen, buf = {}, b""
    while len(seen) < len(MARKS) and time.monotonic() - start < timeout:
        if not sel.select(timeout=1):
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf = (buf + chunk)[-4096:]
        for m in MARKS:
            if m not in seen and m.encode() in buf:
                seen[m] = time.monotonic() - start
    p.kill()
    p.wait()
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smp", default="1")
    ap.add_argument("--gic", default="2", choices=["2", "3"])
    ap.add_argument("--timeout", type=float, default=1800)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    kernel, initrd = installer()
    armvm = [os.path.join(ROOT, "target/release/armvm"), "run", "-m", "1024", "--smp", a.smp, "--gic", a.gic,
             "--kernel", kernel, "--initrd", initrd, "--append", "console=ttyAMA0"]
    qemu = ["qemu-system-aarch64", "-M", f"virt,gic-version={a.gic}", "-cpu", "cortex-a57", "-m", "1024",
            "-smp", a.smp, "-nographic", "-nic", "none", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyAMA0"]
    results = {}
    for name, cmd in (("armvm", armvm), ("qemu", qemu)):
        results[name] = time_marks(cmd, a.timeout)
    print(f"boot of Debian 12 installer, smp={a.smp} gic={a.gic}")
    print(f"{'milestone':<20}{'armvm s':>10}{'qemu s':>10}{'armvm/qemu':>12}")
    for m in MARKS:
        av, qv = results["armvm"].get(m), results["qemu"].get(m)
        ratio = f"{av / qv:.2f}" if av and qv else "-"
        fmt = lambda v: f"{v:.1f}" if v else "not seen"
        print(f"{m:<20}{fmt(av):>10}{fmt(qv):>10}{ratio:>12}")


if __name__ == "__main__":
    sys.exit(main())
