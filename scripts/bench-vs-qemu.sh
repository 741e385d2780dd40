#!/bin/sh
# Times armvm against QEMU on the same bare-metal bench programs, in the same run.
#
#   scripts/bench-vs-qemu.sh            # ITERS=20000000, COMPUTE_ITERS=25, RUNS=3
#   ITERS=5000000 COMPUTE_ITERS=10 RUNS=5 scripts/bench-vs-qemu.sh
#
# Builds armvm in release mode, builds tests/baremetal/bench/{integer,memory,
# fp_simd,compute}.c with the bare-metal runtime, runs each ELF with
#   armvm run --semihosting --kernel ELF
#   qemu-system-aarch64 -M virt -cpu cortex-a57 -semihosting -nographic -nic none -kernel ELF
# (-nic none: QEMU's default NIC needs efi-virtio.rom, which not every install has)
# and prints per program: mean wall-clock seconds of each (hyperfine if installed,
# else RUNS timed runs), the ratio armvm/QEMU, and armvm's guest MIPS computed
# from the hand-counted instructions per loop iteration (tests/baremetal/bench/
# loops.S). The times include each emulator's start-up. A run that does not exit
# with 0 (a failed check) shows as fail:STATUS with the path of its log.
#
# integer, memory and fp_simd are ITERS iterations of a hand-written loop, built
# with -mgeneral-regs-only. compute is compiler-generated code instead: plain C
# (SHA-256 of 1 MiB, a quicksort of 128 Ki integers, 64x64 double matrix
# products, byte and pattern counts over 1 MiB; COMPUTE_ITERS rounds, its -DITERS)
# built with -O2 -ftree-vectorize and FP/SIMD enabled, so GCC auto-vectorises
# parts of it into AdvSIMD, running with the MMU and caches on; it checks every
# result and exits non-zero on a wrong one. Its instructions are not counted, so
# its MIPS column is '-'. compute is the representative target for the issue
# "JIT ≤ 0.7× QEMU".
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
ITERS=${ITERS:-20000000}
COMPUTE_ITERS=${COMPUTE_ITERS:-25}
RUNS=${RUNS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/bench-vs-qemu
mkdir -p "$out"

for tool in aarch64-linux-gnu-gcc qemu-system-aarch64; do
    command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/setup.sh" >&2; exit 1; }
done

echo "building armvm (release)..." >&2
(cd "$root" && cargo build --release --bin armvm >&2)
armvm=$target/release/armvm

bm=$root/tests/baremetal
# bm_cc FLAGS... FILES...: the flags every program is built with.
bm_cc() {
    aarch64-linux-gnu-gcc -O2 -g -std=gnu11 -Wall -Wextra -Werror -ffreestanding -nostdlib \
        -static -fno-pie -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
        -I "$bm/rt" "$@"
}
# bm_link FLAGS... FILES...: with the runtime's flags (no FP/SIMD registers; no
# unaligned accesses, as with the MMU off all data accesses are Device memory),
# the linker script and the runtime.
bm_link() {
    bm_cc -mgeneral-regs-only -mstrict-align -Wl,--build-id=none -T "$bm/link.ld" "$@" \
        "$bm/rt/entry.S" "$bm/rt/probes.S" "$bm/rt/rt.c" "$bm/rt/mmu.c"
}
build() { # program
    case $1 in
    compute)
        # Compiler-generated code as ordinary programs get it: FP/SIMD and
        # unaligned accesses allowed, the vectoriser on. The runtime keeps its
        # flags; RT_FPSIMD makes entry.S set CPACR_EL1.FPEN before main.
        bm_cc -ftree-vectorize -DITERS="$COMPUTE_ITERS" -c -o "$out/compute.o" \
            "$bm/bench/compute.c"
        bm_link -DRT_FPSIMD -o "$out/compute.elf" "$out/compute.o"
        ;;
    *)
        bm_link -DITERS="$ITERS" -o "$out/$1.elf" "$bm/bench/$1.c" "$bm/bench/loops.S"
        ;;
    esac
}

# mean_seconds NAME CMD...: prints the mean wall-clock time of RUNS runs, or
# "fail:STATUS" if the command does not exit with 0.
mean_seconds() {
    name=$1
    shift
    # One untimed run that must succeed (and warms the page cache).
    "$@" </dev/null >"$out/$name.log" 2>&1 && status=0 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "fail:$status"
        return
    fi
    if command -v hyperfine >/dev/null; then
        hyperfine -N --runs "$RUNS" --export-json "$out/$name.json" "$*" >/dev/null 2>&1
        python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' \
            "$out/$name.json"
    else
        total=0
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            t0=$(date +%s.%N)
            "$@" </dev/null >/dev/null 2>&1
            t1=$(date +%s.%N)
            total=$(awk -v a="$total" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.6f", a + c - b }')
            i=$((i + 1))
        done
        awk -v t="$total" -v n="$RUNS" 'BEGIN { printf "%.3f", t / n }'
    fi
}

echo "compute (compiler-generated, auto-vectorised C) is the representative target for issue \"JIT ≤ 0.7× QEMU\"" >&2
echo "ITERS=$ITERS, COMPUTE_ITERS=$COMPUTE_ITERS, RUNS=$RUNS, timing with $(command -v hyperfine >/dev/null && echo hyperfine || echo date)" >&2
printf '%-10s %12s %12s %10s %14s\n' program "armvm s" "QEMU s" ratio "armvm MIPS"
# program:instructions per loop iteration ('-': not counted)
for spec in integer:6 memory:7 fp_simd:6 compute:-; do
    prog=${spec%%:*}
    per_iter=${spec#*:}
    build "$prog"
    a=$(mean_seconds "$prog-armvm" "$armvm" run --semihosting --kernel "$out/$prog.elf")
    q=$(mean_seconds "$prog-qemu" qemu-system-aarch64 -M virt -cpu cortex-a57 -semihosting \
        -nographic -nic none -kernel "$out/$prog.elf")
    awk -v p="$prog" -v a="$a" -v q="$q" -v n="$ITERS" -v k="$per_iter" 'BEGIN {
        fa = (a ~ /^fail/); fq = (q ~ /^fail/)
        ratio = (fa || fq) ? "-" : sprintf("%.2f", a / q)
        mips = (fa || k == "-") ? "-" : sprintf("%.1f", n * k / a / 1e6)
        printf "%-10s %12s %12s %10s %14s\n", p, a, q, ratio, mips
    }'
    case "$a" in fail*) echo "  armvm log: $out/$prog-armvm.log" ;; esac
    case "$q" in fail*) echo "  QEMU log: $out/$prog-qemu.log" ;; esac
done
