/*
 * Code for debug.c whose addresses the checks need: breakpoint targets, byte
 * probes for watchpoints, the software-step sequences, a BRK.
 */
    .text

    /* u64 bp_fn0(void): returns 42; breakpoints are set on its first instruction. */
    .global bp_fn0
bp_fn0:
    mov     x0, #40
    add     x0, x0, #2
    ret

    /* u64 bp_fn1(void): returns 43; breakpoints are set on bp_fn1_second, its
     * second instruction. */
    .global bp_fn1, bp_fn1_second
bp_fn1:
    mov     x0, #40
bp_fn1_second:
    add     x0, x0, #3
    ret

    /* void dbg_strb(u64 va, u64 value) */
    .global dbg_strb, dbg_strb_insn
dbg_strb:
dbg_strb_insn:
    strb    w1, [x0]
    ret

    /* u64 dbg_brk(void): BRK #0x4d2 at dbg_brk_insn, then returns 5. */
    .global dbg_brk, dbg_brk_insn
dbg_brk:
dbg_brk_insn:
    brk     #0x4d2
    mov     x0, #5
    ret

/*
 * u64 step_run(u64 spsr): ERETs to step_seq at EL1 with SPSR_EL1 = spsr (the
 * caller chooses SS, D and the mode) and returns the sequence's x0 (3). PSTATE.D
 * is set before the ERET, so software step can only become active through it.
 * The step exceptions' ELRs are step_e1 .. step_e5 in that order (step_e5 ==
 * step_seq_end): two ADDs, a taken B, a taken CBNZ, a NOP.
 */
    .global step_run, step_seq, step_e1, step_e2, step_e3, step_e4, step_e5, step_seq_end
step_run:
    msr     daifset, #8
    adr     x9, step_seq
    msr     elr_el1, x9
    msr     spsr_el1, x0
    mov     x0, #0
    eret
step_seq:
    add     x0, x0, #1
step_e1:
    add     x0, x0, #2
step_e2:
    b       step_e3
    add     x0, x0, #100        /* skipped */
step_e3:
    cbnz    x0, step_e4
    add     x0, x0, #100        /* skipped */
step_e4:
    nop
step_e5:
step_seq_end:
    ret

/*
 * u64 step_ldx_run(u64 spsr, u64 va): like step_run, over LDAXR, CLREX and LDR
 * from va; returns the loaded value. ELRs: step_x1 .. step_x3 (== step_ldx_end).
 */
    .global step_ldx_run, step_ldx, step_x1, step_x2, step_x3, step_ldx_end
step_ldx_run:
    msr     daifset, #8
    adr     x9, step_ldx
    msr     elr_el1, x9
    msr     spsr_el1, x0
    mov     x2, x1
    mov     x0, #0
    eret
step_ldx:
    ldaxr   x0, [x2]
step_x1:
    clrex
step_x2:
    ldr     x0, [x2]
step_x3:
step_ldx_end:
    ret

    /* ---- EL0 code */
    .section .usertext, "ax"

    /* u64 user_bp_fn(u64): returns 7. */
    .global user_bp_fn
user_bp_fn:
    mov     x0, #7
    ret
