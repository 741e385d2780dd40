/*
 * Instruction sequences of known length for pmu.c.
 */
    .text

    /* void pmu_loop(u64 iters, u64 mask): enables the counters in `mask`
     * (PMCNTENSET_EL0), runs 2 * iters instructions (iters >= 1), disables them.
     * Around the loop, at most the enabling MSR, the two ISBs and the disabling
     * MSR can also be counted (architecturally the boundaries are fuzzy). */
    .global pmu_loop
pmu_loop:
    msr     pmcntenset_el0, x1
    isb
1:  subs    x0, x0, #1
    b.ne    1b
    msr     pmcntenclr_el0, x1
    isb
    ret

    /* void busy_loop(u64 iters): 2 * iters + 1 instructions. */
    .global busy_loop
busy_loop:
1:  subs    x0, x0, #1
    b.ne    1b
    ret

    /* ---- EL0 code */
    .section .usertext, "ax"

    /* u64 user_loop(u64 iters): 2 * iters + 1 instructions, then the return
     * trampoline's SVC. */
    .global user_loop
user_loop:
1:  subs    x0, x0, #1
    b.ne    1b
    ret

    /* u64 user_read_X(u64 sentinel): returns X, or the sentinel if the MRS trapped
     * (the handler skips it). */
    .global user_read_pmccntr, user_read_pmccntr_insn
user_read_pmccntr:
user_read_pmccntr_insn:
    mrs     x0, pmccntr_el0
    ret

    .global user_read_pmevcntr0, user_read_pmevcntr0_insn
user_read_pmevcntr0:
user_read_pmevcntr0_insn:
    mrs     x0, pmevcntr0_el0
    ret
