#!/usr/bin/env bash
# Installs what armvm's tests and benchmarks need on a Debian/Ubuntu x86-64 host,
# and fetches Debian's ARM guest packages into a cache outside the clone.
#
#   scripts/setup.sh            host tools (cross compilers, qemu-user, qemu-system-arm, ...)
#   scripts/setup.sh guests     also the arm64 guest packages (installer, busybox, EDK2, U-Boot,
#                               systemd-boot, ...)
#   scripts/setup.sh path PKG   print the directory a guest package is unpacked in
#
# PKG linux-image-arm64 (Debian's generic arm64 kernel) is a metapackage: its
# directory also holds the versioned package it depends on (linux-image-6.1.0-NN-arm64),
# so boot/vmlinuz-*, boot/config-* and lib/modules/*/ are found under it.
#
# The cache is $ARMVM_CACHE (default ~/.cache/armvm); nothing is written into the repo.
set -euo pipefail

CACHE="${ARMVM_CACHE:-$HOME/.cache/armvm}"
HOST_PACKAGES=(qemu-user qemu-system-arm qemu-utils gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
               libc6-dev-arm64-cross
               device-tree-compiler gdb-multiarch e2fsprogs gdisk mtools dosfstools
               libslirp-dev libglib2.0-dev pkg-config)
GUEST_PACKAGES=(debian-installer-12-netboot-arm64 busybox-static:arm64 qemu-efi-aarch64 u-boot-qemu
                linux-image-arm64 systemd-boot-efi:arm64)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_updated=0
apt_update() {
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
}

install_host_tools() {
    local missing=()
    for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "setup: installing ${missing[*]}"
        apt_update
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Downloads one Debian package into $CACHE/debs and unpacks it into DIR.
unpack_package() {
    local pkg="$1" dir="$2" name="${1%%:*}"
    (cd "$CACHE/debs" && apt-get download -qq "$pkg")
    local deb
    deb=$(ls -t "$CACHE/debs/${name}"_*.deb | head -n 1)
    dpkg -x "$deb" "$dir"
}

# Unpacks one Debian package (e.g. busybox-static:arm64) into $CACHE/pkgs/NAME.
# Tests call this in parallel: a lock on the cache serialises apt and dpkg, and
# the directory counts only once .complete is in it (a run killed half-way is redone).
fetch_guest_package() {
    local pkg="$1" name="${1%%:*}" dir="$CACHE/pkgs/${1%%:*}"
    [ -f "$dir/.complete" ] && return 0
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    [ -f "$dir/.complete" ] && return 0
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $SUDO dpkg --add-architecture arm64
        apt_updated=0
    fi
    apt_update
    rm -rf "$dir"
    mkdir -p "$CACHE/debs" "$dir"
    if [ "$name" = linux-image-arm64 ]; then
        # The metapackage only names the current versioned kernel package, which
        # holds the kernel and its modules: unpack both.
        local versioned
        versioned=$(apt-cache depends linux-image-arm64:arm64 |
                    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }')
        if [ -z "$versioned" ]; then
            echo "setup: cannot tell which kernel package linux-image-arm64 depends on" >&2
            exit 1
        fi
        unpack_package linux-image-arm64:arm64 "$dir"
        unpack_package "$versioned:arm64" "$dir"
    else
        unpack_package "$pkg" "$dir"
    fi
    touch "$dir/.complete"
    echo "setup: $pkg unpacked in $dir"
}

case "${1:-tools}" in
    tools) install_host_tools ;;
    guests)
        install_host_tools
        for p in "${GUEST_PACKAGES[@]}"; do fetch_guest_package "$p"; done ;;
    path)
        fetch_guest_package "$2" >&2
        echo "$CACHE/pkgs/${2%%:*}" ;;
    *) echo "usage: $0 [tools|guests|path PKG]" >&2; exit 2 ;;
esac
