#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu x86-64 machine and boots a real AArch64 program on
# armvm: a bare-metal demo built with Debian's cross compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
out="${CARGO_TARGET_DIR:-target}/demo"
mkdir -p "$out"
aarch64-linux-gnu-gcc -nostdlib -static -Wl,-N -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-Ttext=0x40080000 \
    -o "$out/hello.elf" tests/demo/hello.S
exec "${CARGO_TARGET_DIR:-target}/release/armvm" run --semihosting --kernel "$out/hello.elf"
