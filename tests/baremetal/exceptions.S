/*
 * Instruction sequences for exceptions.c whose addresses the checks need.
 */
    .text

    /* u64 do_svc(void): svc with NZCV = N|V; svc_after is ELR's expected value. */
    .global do_svc, svc_after
do_svc:
    mov     x9, #0x90000000
    msr     nzcv, x9
    svc     #0x1234
svc_after:
    mrs     x0, nzcv
    ret

    .global do_brk, brk_insn
do_brk:
brk_insn:
    brk     #0x77
    ret

    .global do_udf, udf_insn
do_udf:
udf_insn:
    udf     #0x42
    ret

    /* HLT with an immediate other than semihosting's 0xf000 is UNDEFINED. */
    .global do_hlt, hlt_insn
do_hlt:
hlt_insn:
    hlt     #0x1
    ret

    /* MSR to a read-only register (MIDR_EL1) is UNDEFINED. */
    .global do_msr_midr, msr_midr_insn
do_msr_midr:
msr_midr_insn:
    msr     s3_0_c0_c0_0, x0
    ret

    /* void do_pc_align(void): BR to pc_align_target + 2. */
    .global do_pc_align, pc_align_target, pc_align_resume
do_pc_align:
    adr     x9, pc_align_target
    add     x9, x9, #2
    br      x9
pc_align_target:
    nop
    nop
pc_align_resume:
    ret

    /* void do_sp_align_el1t(u64 sp0): loads through SP at EL1t with SP_EL0 = sp0. */
    .global do_sp_align_el1t, sp_align_el1t_insn
do_sp_align_el1t:
    mrs     x9, sp_el0
    msr     sp_el0, x0
    msr     spsel, #0
sp_align_el1t_insn:
    ldr     x1, [sp]
    msr     spsel, #1
    msr     sp_el0, x9
    ret

    /* void do_illegal_eret(u64 spsr): ERET to illegal_target with SPSR = spsr. */
    .global do_illegal_eret, illegal_target
do_illegal_eret:
    adr     x10, illegal_target
    msr     elr_el1, x10
    msr     spsr_el1, x0
    eret
illegal_target:
    nop
    ret

    /* void do_wait_irq_el1t(volatile unsigned *count, unsigned old, u64 sp0,
     *                       u64 timeout_ticks):
     * at EL1t with IRQs unmasked, waits until *count != old or the timeout. */
    .global do_wait_irq_el1t
do_wait_irq_el1t:
    mrs     x9, sp_el0
    msr     sp_el0, x2
    msr     spsel, #0
    isb
    mrs     x5, cntvct_el0
    msr     daifclr, #2
1:  ldr     w4, [x0]
    cmp     w4, w1
    b.ne    2f
    mrs     x6, cntvct_el0
    sub     x6, x6, x5
    cmp     x6, x3
    b.lo    1b
2:  msr     daifset, #2
    msr     spsel, #1
    msr     sp_el0, x9
    ret

    /* Code copied into scratch pages: mov x0, #42; ret */
    .global code_ret42, code_ret42_end
code_ret42:
    mov     x0, #42
    ret
code_ret42_end:

    /* ---- EL0 code */
    .section .usertext, "ax"

    .global user_svc, user_svc_after
user_svc:
    svc     #0x42
user_svc_after:
    mov     x0, #7
    ret

    .global user_mrs_sctlr, user_mrs_sctlr_insn
user_mrs_sctlr:
user_mrs_sctlr_insn:
    mrs     x0, sctlr_el1
    ret

    .global user_daifset, user_daifset_insn
user_daifset:
user_daifset_insn:
    msr     daifset, #2
    ret

    /* Returns CTR_EL0 read into x5 (so the trap's syndrome names Rt = 5). */
    .global user_ctr, user_ctr_insn
user_ctr:
    mov     x5, #0
user_ctr_insn:
    mrs     x5, ctr_el0
    mov     x0, x5
    ret

    .global user_cntvct, user_cntvct_insn
user_cntvct:
    mov     x0, #0
user_cntvct_insn:
    mrs     x0, cntvct_el0
    ret

    .global user_dczva, user_dczva_insn
user_dczva:
    mov     x1, x0
user_dczva_insn:
    dc      zva, x1
    ret

    .global user_wfi, user_wfi_insn
user_wfi:
user_wfi_insn:
    wfi
    ret

    .global user_wfe, user_wfe_insn
user_wfe:
user_wfe_insn:
    wfe
    wfe
    ret

    .global user_sp_align, user_sp_align_insn
user_sp_align:
    sub     sp, sp, #8
user_sp_align_insn:
    ldr     x1, [sp]
    add     sp, sp, #8
    ret

    /* u64 user_wait_irq(volatile unsigned *count): waits (with EL0 access to
     * CNTVCT) until *count changes or ~125 ms passed; returns *count. */
    .global user_wait_irq
user_wait_irq:
    ldr     w1, [x0]
    mrs     x5, cntfrq_el0
    lsr     x3, x5, #3
    isb
    mrs     x5, cntvct_el0
1:  ldr     w4, [x0]
    cmp     w4, w1
    b.ne    2f
    mrs     x6, cntvct_el0
    sub     x6, x6, x5
    cmp     x6, x3
    b.lo    1b
2:  mov     x0, x4
    ret
