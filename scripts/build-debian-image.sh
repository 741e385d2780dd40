#!/usr/bin/env bash
# Builds a bootable Debian 12 (bookworm) arm64 system for armvm: a root file system
# made by mmdebstrap (arm64 maintainer scripts run under qemu-user-static through
# binfmt_misc), packed into an ext4 image with `mke2fs -d` (no loop mounts), and the
# kernel and initramfs of that same system beside it.
#
#   scripts/build-debian-image.sh [OUT]
#
# OUT defaults to $ARMVM_CACHE/debian-12-arm64 ($ARMVM_CACHE defaults to
# ~/.cache/armvm). It ends up holding
#
#   rootfs.img    raw ext4 image (sparse, $ARMVM_DEBIAN_IMAGE_SIZE, default 2G) for
#                 --disk; the guest's root is /dev/vda (fstab)
#   vmlinuz       the system's kernel (Debian's linux-image-arm64)
#   initrd.img    its initramfs (initramfs-tools, MODULES=list), which loads virtio_mmio,
#                 virtio_blk and ext4
#   release       the kernel release, e.g. 6.1.0-57-arm64
#   .complete     written last: a complete OUT is left alone (the script is idempotent)
#
# Boot it with
#
#   armvm run -m 1024 --smp 2 --kernel OUT/vmlinuz --initrd OUT/initrd.img \
#       --append "root=/dev/vda console=ttyAMA0" --disk COPY-OF-rootfs.img --net user
#
# The system: minbase plus systemd-sysv, udev, dbus, the kernel, iproute2, procps and
# efibootmgr (for tests/debian_system.rs booted through the built-in UEFI);
# hostname armvm-debian; root has an empty password (login asks for none, so a
# script can log in without racing login's flush of the terminal before the password
# prompt); systemd starts a serial getty on the console= device; systemd-networkd
# configures any wired interface by DHCP. It is a test system: do not expose it.
#
# Packages come from the Debian mirror this host's apt uses (bookworm,
# bookworm-updates and bookworm-security, as found in /etc/apt/sources.list*), or
# from $ARMVM_DEBIAN_MIRROR (e.g. http://deb.debian.org/debian) for all three.
# Needs root (or sudo): mmdebstrap runs in root mode and binfmt_misc may need
# mounting. Host tools (mmdebstrap, arch-test, qemu-user-static, binfmt-support, e2fsprogs)
# are installed with apt when missing.
set -euo pipefail

CACHE="${ARMVM_CACHE:-$HOME/.cache/armvm}"
OUT="${1:-$CACHE/debian-12-arm64}"
SIZE="${ARMVM_DEBIAN_IMAGE_SIZE:-2G}"
SUITE=bookworm
PACKAGES=systemd-sysv,udev,dbus,linux-image-arm64,initramfs-tools,iproute2,procps,efibootmgr
HOST_PACKAGES=(mmdebstrap arch-test qemu-user-static binfmt-support e2fsprogs)

if [ -f "$OUT/.complete" ]; then
    echo "build-debian-image: $OUT is complete"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
# One build at a time for this OUT; a second caller waits and then finds it complete.
exec 8>"$OUT/.lock"
flock 8
if [ -f "$OUT/.complete" ]; then
    echo "build-debian-image: $OUT is complete"
    exit 0
fi

install_host_tools() {
    local missing=()
    for p in "${HOST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "build-debian-image: installing ${missing[*]}"
        # The cache lock of scripts/setup.sh: tests may be running apt through it.
        mkdir -p "$CACHE"
        (
            flock 9
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null
        ) 9>"$CACHE/.lock"
    fi
}

# arm64 executables must run through qemu-aarch64-static, with the F (fix binary)
# flag so that they also run inside the chroot.
setup_binfmt() {
    local bm=/proc/sys/fs/binfmt_misc
    if [ ! -e "$bm/register" ]; then
        $SUDO mount -t binfmt_misc binfmt_misc "$bm"
    fi
    if [ ! -e "$bm/qemu-aarch64" ]; then
        $SUDO update-binfmts --enable qemu-aarch64 ||
            $SUDO /lib/systemd/systemd-binfmt /usr/lib/binfmt.d/qemu-aarch64.conf || true
    fi
    if ! grep -qx enabled "$bm/qemu-aarch64" 2>/dev/null ||
       ! grep -q '^flags:.*F' "$bm/qemu-aarch64"; then
        echo "build-debian-image: no usable qemu-aarch64 binfmt_misc entry (enabled, flag F):" >&2
        cat "$bm/qemu-aarch64" >&2 2>/dev/null || true
        exit 1
    fi
}

# The host's apt sources for bookworm, bookworm-updates and bookworm-security as
# one-line "deb URI SUITE main" entries (deb822 .sources stanzas and one-line
# .list entries), in the order found.
host_mirrors() {
    local files=()
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || return 0
    awk -v want="$SUITE" '
        function emit(uri, suite) {
            if ((suite == want || suite == want "-updates" || suite == want "-security") &&
                !seen[uri " " suite]++)
                print "deb " uri " " suite " main"
        }
        function flush(   u, s, nu, ns, i, j) {
            if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
                nu = split(uris, u, " "); ns = split(suites, s, " ")
                for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) emit(u[i], s[j])
            }
            types = uris = suites = comps = ""; enabled = ""
        }
        FILENAME ~ /\.sources$/ {
            if (FILENAME != last) { flush(); last = FILENAME }
            if ($0 ~ /^[ \t]*$/) { flush(); next }
            if ($0 ~ /^#/) next
            key = tolower($1); sub(/^[^:]*:[ \t]*/, "")
            if (key == "types:") types = $0
            else if (key == "uris:") uris = $0
            else if (key == "suites:") suites = $0
            else if (key == "components:") comps = $0
            else if (key == "enabled:") enabled = tolower($0)
            next
        }
        {
            flush()
            if ($1 != "deb") next
            i = 2
            if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            uri = $i; suite = $(i + 1)
            for (k = i + 2; k <= NF; k++) if ($k == "main") emit(uri, suite)
        }
        END { flush() }
    ' "${files[@]}"
}

mirrors() {
    if [ -n "${ARMVM_DEBIAN_MIRROR:-}" ]; then
        printf 'deb %s %s main\n' "$ARMVM_DEBIAN_MIRROR" "$SUITE" \
            "$ARMVM_DEBIAN_MIRROR" "$SUITE-updates"
        printf 'deb %s %s-security main\n' "${ARMVM_DEBIAN_MIRROR%/debian}/debian-security" "$SUITE"
        return
    fi
    local found
    found="$(host_mirrors)"
    if grep -q " $SUITE main\$" <<<"$found"; then
        echo "$found"
    else
        echo "deb http://deb.debian.org/debian $SUITE main"
        echo "deb http://deb.debian.org/debian $SUITE-updates main"
        echo "deb http://deb.debian.org/debian-security $SUITE-security main"
    fi
}

install_host_tools
setup_binfmt

start=$(date +%s)
ROOT="$OUT/rootfs"
HOOKS="$OUT/hooks"
# A build that was killed may have left the chroot's mounts behind.
if [ -d "$ROOT" ]; then
    awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do $SUDO umount "$m"; done
fi
$SUDO rm -rf --one-file-system "$ROOT" "$HOOKS" "$OUT/rootfs.img" "$OUT/rootfs.img.tmp"
mkdir -p "$HOOKS"

# An initramfs-tools hook: virtio_mmio (the transport; the board has no PCI),
# virtio_blk and ext4 go into the initramfs and are loaded at its start. With
# MODULES=list (conf.d/armvm) they and their dependencies are the only modules
# there (and fsck.ext4): with MODULES=most (Debian's default) each mkinitramfs run takes half an
# hour under qemu-user on a busy 2-core machine and makes a 35 MB initramfs.
cat >"$HOOKS/initramfs-hook" <<'END'
#!/bin/sh
# armvm: the root disk is virtio-blk on virtio-mmio, formatted ext4.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
force_load virtio_mmio
force_load virtio_blk
force_load ext4
END

# After the Essential packages, before the others (the kernel among them): the
# initramfs configuration, and update-initramfs diverted to a no-op so that the
# kernel's postinst and the initramfs-tools trigger (which runs again when udev
# and others are configured later) do not each build one under qemu-user.
cat >"$HOOKS/essential.sh" <<END
set -eu
mkdir -p "\$1/etc/initramfs-tools/hooks" "\$1/etc/initramfs-tools/conf.d"
install -m 0755 '$HOOKS/initramfs-hook' "\$1/etc/initramfs-tools/hooks/armvm"
# FSTYPE: the root's type for the fsck hook, which cannot find out itself here
# (it would probe /dev/vda on the build host).
printf 'MODULES=list\nFSTYPE=ext4\n' > "\$1/etc/initramfs-tools/conf.d/armvm"
chroot "\$1" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.armvm \\
    --add /usr/sbin/update-initramfs
printf '#!/bin/sh\nexit 0\n' > "\$1/usr/sbin/update-initramfs"
chmod 0755 "\$1/usr/sbin/update-initramfs"
END

# After all packages: the system's configuration, and its one initramfs.
cat >"$HOOKS/customize.sh" <<END
set -eu
echo armvm-debian > "\$1/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tarmvm-debian\n::1\tlocalhost ip6-localhost ip6-loopback\n' \\
    > "\$1/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "\$1/etc/fstab"
# systemd-networkd: DHCP on any wired interface (--net user).
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > "\$1/etc/systemd/network/80-dhcp.network"
chroot "\$1" systemctl enable systemd-networkd
chroot "\$1" passwd --delete root
rm "\$1/usr/sbin/update-initramfs"
chroot "\$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
chroot "\$1" update-initramfs -c -k all
chroot "\$1" sh -c 'lsinitramfs /boot/initrd.img-*' > '$HOOKS/initrd.list'
END

mapfile -t MIRRORS < <(mirrors)
echo "build-debian-image: mirrors: ${MIRRORS[*]}"

$SUDO mmdebstrap --mode=root --arch=arm64 --variant=minbase \
    --include="$PACKAGES" \
    --essential-hook="sh '$HOOKS/essential.sh' \"\$1\"" \
    --customize-hook="sh '$HOOKS/customize.sh' \"\$1\"" \
    "$SUITE" "$ROOT" "${MIRRORS[@]}"

# The initramfs must carry the three modules (Debian builds them as modules) and
# the root's fsck.
for f in virtio_mmio.ko virtio_blk.ko ext4.ko fsck.ext4; do
    if ! grep -q "/$f\$" "$HOOKS/initrd.list"; then
        echo "build-debian-image: $f is not in the initramfs" >&2
        exit 1
    fi
done

kernel=$(cd "$ROOT/boot" && ls vmlinuz-* | head -n 1)
release=${kernel#vmlinuz-}
$SUDO cp "$ROOT/boot/vmlinuz-$release" "$OUT/vmlinuz"
$SUDO cp "$ROOT/boot/initrd.img-$release" "$OUT/initrd.img"

rm -f "$OUT/rootfs.img.tmp"
truncate -s "$SIZE" "$OUT/rootfs.img.tmp"
$SUDO mke2fs -q -t ext4 -L armvm-root -d "$ROOT" -F "$OUT/rootfs.img.tmp"
mv "$OUT/rootfs.img.tmp" "$OUT/rootfs.img"
echo "$release" >"$OUT/release"
$SUDO rm -rf --one-file-system "$ROOT" "$HOOKS"
if [ -n "$SUDO" ]; then $SUDO chown "$(id -u):$(id -g)" "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/rootfs.img"; fi
touch "$OUT/.complete"
echo "build-debian-image: $OUT (kernel $release) built in $(( $(date +%s) - start )) s"
