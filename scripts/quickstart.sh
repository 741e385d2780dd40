#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu x86-64 machine and boots a real AArch64 guest on armvm.
#
#   scripts/quickstart.sh             a bare-metal demo built with Debian's cross compiler
#   scripts/quickstart.sh installer   Debian 12's arm64 installer (kernel + initrd from
#                                     Debian's archive) to its "Select a language" screen;
#                                     Ctrl-A x quits
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
case "${1:-demo}" in
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
    *) echo "usage: $0 [demo|installer]" >&2; exit 2 ;;
esac
