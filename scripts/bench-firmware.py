#!/usr/bin/env python3
"""Firmware boot benchmark: one ARM VM System Specification disk image (GPT, a
FAT32 ESP holding Debian 12's GRUB as \\EFI\\BOOT\\BOOTAA64.EFI, a grub.cfg that
starts the netboot installer, and the installer's kernel and initrd: the image of
tests/firmware_boot.rs and tests/uefi_boot.rs), booted in one run three ways:

  builtin  armvm's built-in UEFI:  armvm run --disk IMG -m 1G --no-reboot
  edk2     armvm with Debian's EDK2: armvm run --bios QEMU_EFI.fd --disk IMG ...
  qemu     QEMU (TCG) with the same EDK2: qemu-system-aarch64 -M virt
           -cpu cortex-a57 -m 1G -bios QEMU_EFI.fd, the image on virtio-blk
           (a fresh copy per run, so QEMU never writes the original)

Each RUNS times (default 3). It prints the median seconds from process start to
the kernel's first "EFI stub:" line and to the installer's "Select a language"
screen, the ratios builtin/qemu and edk2/qemu, and whether the targets of the
built-in UEFI are met: the EFI stub in under 1 s, the whole boot in at most 0.5x
the time of QEMU with EDK2.

    scripts/bench-firmware.py [--runs N] [--timeout SECONDS] [--only builtin|edk2|qemu]...

It builds armvm in release mode and fetches the guest packages with
`scripts/setup.sh guests`. A benchmark, not a test: it never fails on a slow
result; a mark that a boot does not reach within the timeout is reported as
not seen and left out of the median.
"""
import argparse
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARMVM = os.path.join(ROOT, "target/release/armvm")
STUB, SCREEN = "EFI stub:", "Select a language"
MARKS = [STUB, SCREEN]
WAYS = ["builtin", "edk2", "qemu"]
TITLES = {"builtin": "armvm built-in UEFI", "edk2": "armvm + EDK2", "qemu": "QEMU + EDK2"}

# As tests/common/images.rs (GRUB_CFG, GRUB_CFG_PATH, installer_image).
GRUB_CFG = """set timeout=0
set default=0
menuentry 'Install' {
    linux /debian-installer/arm64/linux console=ttyAMA0 ---
    initrd /debian-installer/arm64/initrd.gz
}
"""
GRUB_CFG_PATH = "debian-installer/arm64/grub/grub.cfg"
KERNEL_PATH = "debian-installer/arm64/linux"
INITRD_PATH = "debian-installer/arm64/initrd.gz"


def package(name):
    return subprocess.run([os.path.join(ROOT, "scripts/setup.sh"), "path", name],
                          check=True, capture_output=True, text=True).stdout.strip()


def installer():
    d = os.path.join(package("debian-installer-12-netboot-arm64"),
                     "usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64")
    return os.path.join(d, "linux"), os.path.join(d, "initrd.gz"), os.path.join(d, "grubaa64.efi")


def edk2():
    return os.path.join(package("qemu-efi-aarch64"), "usr/share/qemu-efi-aarch64/QEMU_EFI.fd")


def make_image(dir):
    """dir/disk.img by `armvm image create`, as installer_image in tests/common/images.rs."""
    kernel, initrd, grub = installer()
    cfg = os.path.join(dir, "grub.cfg")
    with open(cfg, "w") as f:
        f.write(GRUB_CFG)
    img = os.path.join(dir, "disk.img")
    cmd = [ARMVM, "image", "create", img, "--efi", grub]
    for src, dest in ((cfg, GRUB_CFG_PATH), (kernel, KERNEL_PATH), (initrd, INITRD_PATH)):
        cmd += ["--file", f"{src}:{dest}"]
    cmd += ["--size", "128M", "--esp-size", "120M"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return img


def time_marks(cmd, timeout):
    """Runs cmd, returns ({mark: seconds} for each mark seen on its output, the
    output's last bytes). Stops it at the last mark, at the timeout or when it ends."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        seen, buf = {}, b""
        while MARKS[-1] not in seen and time.monotonic() - start < timeout:
            if not sel.select(timeout=1):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf = (buf + chunk)[-4096:]
            for m in MARKS:
                if m not in seen and m.encode() in buf:
                    seen[m] = time.monotonic() - start
        return seen, buf
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per boot (default 300)")
    ap.add_argument("--only", action="append", choices=WAYS,
                    help="boot only this way (repeatable; default all three)")
    a = ap.parse_args()
    ways = [w for w in WAYS if w in (a.only or WAYS)]
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    subprocess.run([os.path.join(ROOT, "scripts/setup.sh"), "guests"], check=True)
    bios = edk2()
    with tempfile.TemporaryDirectory(prefix="bench-firmware-") as tmp:
        img = make_image(tmp)
        armvm = [ARMVM, "run", "--disk", img, "-m", "1G", "--no-reboot"]
        cmds = {
            "builtin": lambda: armvm,
            "edk2": lambda: armvm[:2] + ["--bios", bios] + armvm[2:],
        }

        def qemu():
            copy = os.path.join(tmp, "qemu.img")
            shutil.copyfile(img, copy)
            return ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-m", "1G", "-nographic", "-nic", "none",
                    "-bios", bios, "-drive", f"if=none,file={copy},format=raw,id=d",
                    "-device", "virtio-blk-device,drive=d", "-no-reboot"]
        cmds["qemu"] = qemu

        results = {w: {m: [] for m in MARKS} for w in ways}
        for run in range(a.runs):
            for w in ways:
                seen, tail = time_marks(cmds[w](), a.timeout)
                for m in MARKS:
                    if m in seen:
                        results[w][m].append(seen[m])
                figures = "  ".join(f"{m} {seen[m]:.2f} s" if m in seen else f"{m} not seen" for m in MARKS)
                print(f"run {run + 1}/{a.runs} {w:<8} {figures}", file=sys.stderr, flush=True)
                if SCREEN not in seen:
                    print(f"  last output: {tail[-600:].decode(errors='replace')!r}", file=sys.stderr)

    def median(w, m):
        v = results.get(w, {}).get(m)
        return statistics.median(v) if v else None

    fmt = lambda v: f"{v:.2f}" if v is not None else "not seen"
    print(f"\nDebian 12 installer from a spec disk image (GRUB on the ESP), -m 1G; "
          f"seconds from process start, median of {a.runs} run(s)")
    print(f"{'':<32}" + "".join(f"{m:>20}" for m in MARKS))
    for w in ways:
        cells = []
        for m in MARKS:
            n = len(results[w][m])
            cells.append(fmt(median(w, m)) + (f" ({n}/{a.runs} seen)" if 0 < n < a.runs else ""))
        print(f"{TITLES[w]:<32}" + "".join(f"{c:>20}" for c in cells))
    for w in ("builtin", "edk2"):
        if w in ways and "qemu" in ways:
            cells = []
            for m in MARKS:
                x, q = median(w, m), median("qemu", m)
                cells.append(f"{x / q:.2f}" if x is not None and q else "-")
            print(f"{TITLES[w] + ' / QEMU + EDK2':<32}" + "".join(f"{c:>20}" for c in cells))

    if "builtin" in ways:
        print("\ntargets for the built-in UEFI (informational, never a failure):")
        stub = median("builtin", STUB)
        verdict = "not seen" if stub is None else ("met" if stub < 1.0 else "not met")
        print(f"  reaches the EFI stub in under 1 s: {fmt(stub)} s -> {verdict}")
        screen, qscreen = median("builtin", SCREEN), median("qemu", SCREEN)
        if "qemu" not in ways:
            print("  whole boot at most 0.5x QEMU + EDK2: QEMU not run")
        elif screen is None or qscreen is None:
            print("  whole boot at most 0.5x QEMU + EDK2: not measured (a boot did not finish)")
        else:
            r = screen / qscreen
            print(f"  whole boot at most 0.5x QEMU + EDK2: {r:.2f}x -> {'met' if r <= 0.5 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
