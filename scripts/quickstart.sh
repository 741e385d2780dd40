#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu x86-64 machine and boots a real AArch64 guest on armvm.
#
#   scripts/quickstart.sh             a portable disk image (GPT, FAT32 EFI System Partition
#                                     with \EFI\BOOT\BOOTAA64.EFI, as the ARM VM System
#                                     Specification describes it) made by `armvm image create`
#                                     from Debian's GRUB and installer, booted through armvm's
#                                     built-in UEFI (no firmware file) to "Select a language";
#                                     Ctrl-A x quits
#   scripts/quickstart.sh edk2        the same image booted through Debian's EDK2 (--bios)
#   scripts/quickstart.sh installer   the same installer booted directly (--kernel/--initrd)
#   scripts/quickstart.sh demo        a bare-metal demo built with Debian's cross compiler
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
case "${1:-disk}" in
    disk|edk2)
        scripts/setup.sh guests
        cargo build --release --quiet
        images="$(scripts/setup.sh path debian-installer-12-netboot-arm64)/usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64"
        firmware="$(scripts/setup.sh path qemu-efi-aarch64)/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
        out="$target/quickstart"
        mkdir -p "$out"
        printf '%s\n' 'set timeout=0' 'menuentry Install {' \
            '  linux /debian-installer/arm64/linux console=ttyAMA0 ---' \
            '  initrd /debian-installer/arm64/initrd.gz' '}' > "$out/grub.cfg"
        rm -f "$out/debian-installer.img"
        "$target/release/armvm" image create "$out/debian-installer.img" --efi "$images/grubaa64.efi" \
            --file "$out/grub.cfg:debian-installer/arm64/grub/grub.cfg" \
            --file "$images/linux:debian-installer/arm64/linux" \
            --file "$images/initrd.gz:debian-installer/arm64/initrd.gz" --size 128M --esp-size 120M
        "$target/release/armvm" image check "$out/debian-installer.img"
        if [ "${1:-disk}" = edk2 ]; then
            exec "$target/release/armvm" run -m 1024 --smp 2 --bios "$firmware" --vars "$out/vars.fd" \
                --disk "$out/debian-installer.img" --net user
        fi
        exec "$target/release/armvm" run -m 1024 --smp 2 --vars "$out/vars.bin" \
            --disk "$out/debian-installer.img" --net user ;;
    demo)
        scripts/setup.sh
        cargo build --release --quiet
        mkdir -p "$target/demo"
        aarch64-linux-gnu-gcc -nostdlib -static -Wl,-N -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
            -Wl,-Ttext=0x40080000 -o "$target/demo/hello.elf" tests/demo/hello.S
        exec "$target/release/armvm" run --semihosting --kernel "$target/demo/hello.elf" ;;
    installer)
        scripts/setup.sh
        cargo build --release --quiet
        images="$(scripts/setup.sh path debian-installer-12-netboot-arm64)/usr/lib/debian-installer/images/12/arm64/text/debian-installer/arm64"
        exec "$target/release/armvm" run -m 1024 --smp 2 --kernel "$images/linux" --initrd "$images/initrd.gz" \
            --append "console=ttyAMA0" ;;
    *) echo "usage: $0 [disk|edk2|installer|demo]" >&2; exit 2 ;;
esac
