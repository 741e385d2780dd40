#!/bin/sh
# Builds one bare-metal test program and runs it on qemu-system-aarch64, the
# reference the programs are checked against. Usage:
#   tests/baremetal/run-qemu.sh PROGRAM [extra gcc flags...]   (e.g. exceptions -DFOO)
# QEMU's virt routes the timer through its GICv2, so ARMVM_GIC is always defined.
# QEMU 7.2's SYS_READC answers 0 to the first call and holds back the last input
# byte until more input arrives: QEMU_QUIRKS makes it skip the 0, and the semihosting
# program is fed a trailing newline (printf 'Az\n' | run-qemu.sh semihosting).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prog=$1
shift
out=${TMPDIR:-/tmp}/armvm-baremetal-qemu
mkdir -p "$out"
aarch64-linux-gnu-gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -ffreestanding -nostdlib -static \
    -fno-pie -no-pie -mgeneral-regs-only -mstrict-align -fno-stack-protector \
    -fno-asynchronous-unwind-tables -Wl,--build-id=none -T "$here/link.ld" -I "$here/rt" \
    -DARMVM_GIC -DQEMU_QUIRKS "$@" -o "$out/$prog.elf" \
    "$here/rt/entry.S" "$here/rt/probes.S" "$here/rt/rt.c" "$here/rt/mmu.c" "$here/$prog.c" \
    $(test -f "$here/$prog.S" && echo "$here/$prog.S")
# pmu counts INST_RETIRED, which QEMU implements only with -icount.
extra=
case $prog in
pmu) extra="-icount shift=0" ;;
esac
set +e
# Semihosting console on stdio (so SYS_READC reads this script's stdin). No NIC:
# the default one needs a ROM file (efi-virtio.rom) that not every install has.
timeout 60 qemu-system-aarch64 -M virt -cpu "${QEMU_CPU:-cortex-a57}" -display none \
    -serial none -monitor none -nic none $extra -chardev stdio,id=sh0 \
    -semihosting-config enable=on,target=native,chardev=sh0 -kernel "$out/$prog.elf"
rc=$?
echo "[$prog: exit status $rc]"
exit $rc
