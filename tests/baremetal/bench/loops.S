/*
 * The measured loops of the bench programs, counted by hand: instructions per
 * iteration are 6 (int_loop), 7 (mem_loop) and 6 (fp_loop).
 * scripts/bench-vs-qemu.sh computes guest MIPS from these counts; the few
 * instructions around the loops and the runtime's start-up are not counted.
 */
    .text

    /* void int_loop(u64 n): 6 instructions per iteration. */
    .global int_loop
int_loop:
    mov     x1, #1
    mov     x2, #3
1:  add     x1, x1, x2
    eor     x3, x3, x1
    lsl     x4, x3, #3
    sub     x5, x4, x1
    subs    x0, x0, #1
    b.ne    1b
    ret

    /* void mem_loop(u64 n, u64 *buf): read-modify-write every 64th byte of a
     * 1 MiB buffer, round and round. 7 instructions per iteration. */
    .global mem_loop
mem_loop:
    mov     x2, #0
    mov     x4, #0
1:  ldr     x3, [x1, x2]
    add     x4, x4, x3
    str     x4, [x1, x2]
    add     x2, x2, #64
    and     x2, x2, #0xfffff
    subs    x0, x0, #1
    b.ne    1b
    ret

    /* void fp_loop(u64 n): scalar double and 4 x single-precision vector work.
     * 6 instructions per iteration. */
    .global fp_loop
fp_loop:
    fmov    d0, #1.0
    fmov    d1, #0.5
    fmov    d2, #1.0
    fmov    d3, #1.0
    movi    v4.4s, #0
    fmov    v5.4s, #1.0
    fmov    v6.4s, #0.5
    movi    v7.4s, #1
    movi    v8.4s, #3
1:  fadd    d0, d0, d1
    fmul    d2, d2, d3
    fmla    v4.4s, v5.4s, v6.4s
    add     v7.4s, v7.4s, v8.4s
    subs    x0, x0, #1
    b.ne    1b
    ret
