/*
 * Synchronous exceptions and interrupts: for each, the vector taken and
 * ESR_EL1 (EC, IL, ISS), ELR_EL1, FAR_EL1 and SPSR_EL1 (ARM ARM D1.10, D17.2).
 *
 * Part 1 runs with the MMU off, part 2 with the 4K-granule standard map plus a
 * window of scratch pages with one attribute each. Check codes: 1-29 MMU off,
 * 30-59 MMU on.
 */
#include "rt.h"

/* exceptions.S */
u64 do_svc(void);
void do_brk(void), do_udf(void), do_hlt(void), do_msr_midr(void), do_pc_align(void);
void do_sp_align_el1t(u64 sp0);
void do_illegal_eret(u64 spsr);
void do_wait_irq_el1t(volatile unsigned *count, unsigned old, u64 sp0, u64 timeout);
u64 user_svc(u64), user_mrs_sctlr(u64), user_daifset(u64), user_ctr(u64), user_cntvct(u64);
u64 user_dczva(u64), user_wfi(u64), user_wfe(u64), user_sp_align(u64), user_wait_irq(u64);
extern char svc_after[], brk_insn[], udf_insn[], hlt_insn[], msr_midr_insn[];
extern char pc_align_target[], pc_align_resume[], sp_align_el1t_insn[], illegal_target[];
extern char user_svc_after[], user_mrs_sctlr_insn[], user_daifset_insn[], user_ctr_insn[];
extern char user_cntvct_insn[], user_dczva_insn[], user_wfi_insn[], user_wfe_insn[];
extern char user_sp_align_insn[], code_ret42[], code_ret42_end[];

static void set_sctlr_bits(u64 set, u64 clear)
{
    write_sysreg(sctlr_el1, (read_sysreg(sctlr_el1) | set) & ~clear);
    isb();
}

static u64 el0(u64 (*fn)(u64), u64 arg)
{
    return run_el0(fn, arg, el0_stack_top(), 0x3c0);
}

/* ---- Part 1: MMU off */

static void test_el1_exceptions(void)
{
    exc_expect();
    u64 nzcv = do_svc();
    check_exc(1, "SVC #0x1234 at EL1h",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_SVC64, .iss = 0x1234,
                             .elr = (u64)svc_after, .spsr = 0x900003c5ul,
                             .spsr_mask = 0xf01003cful});
    CHECK_EQ(1, "NZCV after returning from the SVC", nzcv, 0x90000000ul);

    exc_expect();
    do_brk();
    check_exc(2, "BRK #0x77",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_BRK64, .iss = 0x77,
                             .elr = (u64)brk_insn, .spsr = SPSR_EL1H_MASKED});

    exc_expect();
    do_udf();
    check_exc(3, "UDF #0x42",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_UNKNOWN, .iss = 0,
                             .elr = (u64)udf_insn, .spsr = SPSR_EL1H_MASKED});

    exc_expect();
    do_hlt();
    check_exc(4, "HLT #1 (not the semihosting immediate)",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_UNKNOWN, .iss = 0,
                             .elr = (u64)hlt_insn, .spsr = SPSR_EL1H_MASKED});

    exc_expect();
    do_msr_midr();
    check_exc(5, "MSR MIDR_EL1 (read-only register)",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_UNKNOWN, .iss = 0,
                             .elr = (u64)msr_midr_insn, .spsr = SPSR_EL1H_MASKED});
}

/* ISS of a trapped MSR/MRS/SYS (EC 0x18). */
static u64 sysreg_iss(u64 op0, u64 op1, u64 crn, u64 crm, u64 op2, u64 rt, int read)
{
    return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) |
           (u64)read;
}

static void test_el0_exceptions(void)
{
    exc_expect();
    u64 r = el0(user_svc, 0);
    check_exc(6, "SVC #0x42 at EL0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SVC64, .iss = 0x42,
                             .elr = (u64)user_svc_after, .spsr = SPSR_EL0_MASKED});
    CHECK_EQ(6, "EL0 code resumed after the SVC", r, 7);

    exc_expect();
    el0(user_mrs_sctlr, 0);
    check_exc(7, "MRS SCTLR_EL1 at EL0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_UNKNOWN, .iss = 0,
                             .elr = (u64)user_mrs_sctlr_insn, .spsr = SPSR_EL0_MASKED});

    exc_expect();
    el0(user_daifset, 0);
    /* MSR DAIFSet is op1 = 0b011, op2 = 0b110 (QEMU 7.2 swaps them in the ISS). */
    check_exc(8, "MSR DAIFSet at EL0 with SCTLR.UMA=0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                             .iss = ON_QEMU ? sysreg_iss(0, 6, 4, 2, 3, 31, 0)
                                            : sysreg_iss(0, 3, 4, 2, 6, 31, 0),
                             .elr = (u64)user_daifset_insn, .spsr = SPSR_EL0_MASKED});

    exc_expect();
    el0(user_ctr, 0);
    check_exc(9, "MRS X5, CTR_EL0 at EL0 with SCTLR.UCT=0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                             .iss = sysreg_iss(3, 3, 0, 0, 1, 5, 1),
                             .elr = (u64)user_ctr_insn, .spsr = SPSR_EL0_MASKED});
    set_sctlr_bits(SCTLR_UCT, 0);
    exc_expect();
    CHECK_EQ(10, "CTR_EL0 read at EL0 with SCTLR.UCT=1", el0(user_ctr, 0),
             read_sysreg(ctr_el0));
    check_no_exc(10, "MRS CTR_EL0 at EL0 with SCTLR.UCT=1");
    set_sctlr_bits(0, SCTLR_UCT);

    write_sysreg(cntkctl_el1, 0);
    isb();
    exc_expect();
    el0(user_cntvct, 0);
    check_exc(11, "MRS X0, CNTVCT_EL0 at EL0 with CNTKCTL_EL1.EL0VCTEN=0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                             .iss = sysreg_iss(3, 3, 14, 0, 2, 0, 1),
                             .elr = (u64)user_cntvct_insn, .spsr = SPSR_EL0_MASKED});
    write_sysreg(cntkctl_el1, 2);
    isb();
    exc_expect();
    u64 c0 = counter();
    u64 c1 = el0(user_cntvct, 0);
    check_no_exc(12, "MRS CNTVCT_EL0 at EL0 with EL0VCTEN=1");
    CHECK(12, "CNTVCT_EL0 read at EL0 with EL0VCTEN=1 is current",
          c1 >= c0 && c1 < c0 + (1ul << 32));
    write_sysreg(cntkctl_el1, 0);

    static u64 zva_buf[32] __attribute__((aligned(128)));
    exc_expect();
    el0(user_dczva, (u64)zva_buf);
    check_exc(13, "DC ZVA at EL0 with SCTLR.DZE=0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                             .iss = sysreg_iss(1, 3, 7, 4, 1, 1, 0),
                             .elr = (u64)user_dczva_insn, .spsr = SPSR_EL0_MASKED});

    exc_expect();
    el0(user_wfi, 0);
    check_exc(14, "WFI at EL0 with SCTLR.nTWI=0",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_WFX,
                             .iss = (1ul << 24) | (0xeul << 20) | 0, .elr = (u64)user_wfi_insn,
                             .spsr = SPSR_EL0_MASKED});
    /* WFE traps only if it would wait: the ERET into EL0 set the event register,
     * so the first WFE completes and the second one traps. */
    if (ON_QEMU) {
        QEMU_SKIP("WFE trap (nTWE=0)");
    } else {
        exc_expect();
        exc.expected = 2;
        el0(user_wfe, 0);
        check_exc(15, "WFE; WFE at EL0 with SCTLR.nTWE=0",
                  (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_WFX,
                                .iss = (1ul << 24) | (0xeul << 20) | 1,
                                .elr = (u64)user_wfe_insn + 4, .spsr = SPSR_EL0_MASKED});
    }
}

static void test_alignment_mmu_off(void)
{
    exc_expect();
    exc.resume_pc = (u64)pc_align_resume;
    do_pc_align();
    check_exc(16, "BR to a misaligned address",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_PC_ALIGN, .iss = 0,
                             .elr = (u64)pc_align_target + 2, .far_valid = 1,
                             .far = (u64)pc_align_target + 2, .spsr = SPSR_EL1H_MASKED});

    static u64 buf[4] __attribute__((aligned(16))) = {0x1122334455667788ul, 0, 0, 0};
    if (ON_QEMU) {
        QEMU_SKIP("SP alignment checks (SCTLR.SA, SA0), Device-memory alignment faults");
        return;
    }
    set_sctlr_bits(SCTLR_SA, 0);
    exc_expect();
    do_sp_align_el1t((u64)buf + 8);
    check_exc(17, "LDR [SP] at EL1t with SP % 16 = 8 and SCTLR.SA=1",
              (struct want){.vector = VEC_SP0_SYNC, .ec = EC_SP_ALIGN, .iss = 0,
                             .elr = (u64)sp_align_el1t_insn, .spsr = SPSR_EL1T_MASKED});
    set_sctlr_bits(0, SCTLR_SA);
    exc_expect();
    do_sp_align_el1t((u64)buf + 8);
    check_no_exc(18, "LDR [SP] at EL1t with SCTLR.SA=0");

    set_sctlr_bits(SCTLR_SA0, 0);
    exc_expect();
    el0(user_sp_align, 0);
    check_exc(19, "LDR [SP] at EL0 with SP % 16 = 8 and SCTLR.SA0=1",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_SP_ALIGN, .iss = 0,
                             .elr = (u64)user_sp_align_insn, .spsr = SPSR_EL0_MASKED});
    set_sctlr_bits(0, SCTLR_SA0);
    exc_expect();
    el0(user_sp_align, 0);
    check_no_exc(20, "LDR [SP] at EL0 with SCTLR.SA0=0");

    /* With the MMU off, data accesses are to Device-nGnRnE memory, where unaligned
     * accesses fault whatever SCTLR.A says. */
    exc_expect();
    u64 v = probe_ldr64((u64)buf + 1);
    check_exc(21, "unaligned LDR with the MMU off (Device memory)",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_DABT_CUR, .iss = FSC_ALIGN,
                             .dabt = 1, .sas = 3, .srt = 1, .sf = 1,
                             .elr = (u64)probe_ldr64_insn, .far_valid = 1,
                             .far = (u64)buf + 1, .spsr = SPSR_EL1H_MASKED});
    CHECK_EQ(21, "faulting load left its register unchanged", v, PROBE_NONE);
    exc_expect();
    probe_str32((u64)buf + 2, 0);
    check_exc(22, "unaligned STR W with the MMU off (Device memory)",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_DABT_CUR,
                             .iss = FSC_ALIGN | (1 << 6), .dabt = 1, .sas = 2, .srt = 1,
                             .sf = 0, .elr = (u64)probe_str32_insn, .far_valid = 1,
                             .far = (u64)buf + 2, .spsr = SPSR_EL1H_MASKED});
    CHECK_EQ(22, "faulting store wrote nothing", buf[0], 0x1122334455667788ul);
}

static void test_illegal_return(void)
{
    /* SPSR.M = EL2h: EL2 is not implemented, so the return is illegal. */
    exc_expect();
    do_illegal_eret(0x3c9);
    check_exc(23, "ERET with SPSR.M = EL2h",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_ILLEGAL, .iss = 0,
                             .elr = (u64)illegal_target, .spsr = 0x1003c5ul});
    /* SPSR.M = 0b0001 (EL0 with SP_EL1) is a reserved encoding. */
    exc_expect();
    do_illegal_eret(0x3c1);
    check_exc(24, "ERET with SPSR.M = 0b0001",
              (struct want){.vector = VEC_SPX_SYNC, .ec = EC_ILLEGAL, .iss = 0,
                             .elr = (u64)illegal_target, .spsr = 0x1003c5ul});
}

static void timer_fire_in(u64 ticks)
{
    write_sysreg(cntv_ctl_el0, 0);
    write_sysreg(cntv_cval_el0, counter() + ticks);
    write_sysreg(cntv_ctl_el0, 1);
    isb();
}

static void check_irq(int code, const char *name, unsigned before, unsigned vector, u64 spsr,
                      u64 elr_lo, u64 elr_hi)
{
    unsigned failures = rt_failures;
    CHECK_EQ(code, "IRQs taken", irqs.count - before, 1);
    CHECK_EQ(code, "IRQ vector (offset / 0x80)", irqs.vector, vector);
    CHECK_EQ(code, "SPSR_EL1 (masked)", irqs.spsr & SPSR_MASK, spsr);
    CHECK(code, "ELR_EL1 inside the interrupted code", irqs.elr >= elr_lo && irqs.elr < elr_hi);
    CHECK_EQ(code, "spurious IRQs", irqs.spurious, 0);
    CHECK_EQ(code, "timer disabled by the handler", read_sysreg(cntv_ctl_el0) & 1, 0);
    if (rt_failures != failures)
        printf("  ^ in [%d] %s: vector %u ELR 0x%lx SPSR 0x%lx\n", code, name, irqs.vector,
               irqs.elr, irqs.spsr);
}

static void test_irq_vectors(void)
{
    u64 freq = read_sysreg(cntfrq_el0);
    irq_controller_init();

    unsigned before = irqs.count;
    timer_fire_in(freq / 1000);
    irq_enable();
    u64 t0 = counter();
    while (irqs.count == before && counter() - t0 < freq / 8)
        ;
    irq_disable();
    check_irq(25, "timer IRQ at EL1h", before, VEC_SPX_IRQ, 0x345, (u64)__image_start,
              (u64)__user_text_start);

    static u64 sp0_stack[64] __attribute__((aligned(16)));
    before = irqs.count;
    timer_fire_in(freq / 1000);
    do_wait_irq_el1t(&irqs.count, before, (u64)&sp0_stack[64], freq / 8);
    check_irq(26, "timer IRQ at EL1t", before, VEC_SP0_IRQ, 0x344, (u64)do_wait_irq_el1t,
              (u64)do_wait_irq_el1t + 0x100);

    write_sysreg(cntkctl_el1, 2); /* EL0VCTEN: user_wait_irq reads the counter */
    before = irqs.count;
    timer_fire_in(freq / 500);
    run_el0(user_wait_irq, (u64)&irqs.count, el0_stack_top(), 0x340);
    check_irq(27, "timer IRQ at EL0", before, VEC_LOW64_IRQ, 0x340, (u64)user_wait_irq,
              (u64)user_wait_irq + 0x100);
    write_sysreg(cntkctl_el1, 0);
}

/* ---- Part 2: MMU on, 4K granule, 39-bit VAs */

#define TEST_VA 0x1000000000ul
#define PG 4096ul
enum {
    P_RW,         /* EL1 RW */
    P_UNMAPPED,   /* invalid level-3 descriptor */
    P_RO,         /* EL1 read-only */
    P_NOAF,       /* access flag clear */
    P_EL1ONLY,    /* EL1 RW, no EL0 access */
    P_PXN,        /* code, PXN */
    P_UXN,        /* code, readable at EL0, UXN */
    P_EXEC,       /* code, executable at EL1 */
    P_EL0EXEC,    /* code, read-only and executable at EL0 and EL1 */
    P_DEVICE,     /* Device-nGnRnE */
    P_EL0W,       /* code in a page writable at EL0: never executable at EL1 */
    NPAGES
};
static u8 scratch[NPAGES * PG] __attribute__((aligned(4096)));
static struct pt pt;

static u64 tva(int p) { return TEST_VA + (u64)p * PG; }
static u64 tpa(int p) { return (u64)scratch + (u64)p * PG; }
static u64 pattern(int p, unsigned i) { return 0x5a00000000000000ul | ((u64)p << 32) | i; }

static void mmu_setup(void)
{
    for (int p = 0; p < NPAGES; p++) {
        u64 *w = (u64 *)tpa(p);
        for (unsigned i = 0; i < PG / 8; i++)
            w[i] = pattern(p, i);
    }
    int code_pages[] = {P_PXN, P_UXN, P_EXEC, P_EL0EXEC, P_EL0W};
    for (unsigned i = 0; i < sizeof(code_pages) / sizeof(code_pages[0]); i++) {
        memcpy((void *)tpa(code_pages[i]), code_ret42, code_ret42_end - code_ret42);
        sync_icache((void *)tpa(code_pages[i]), PG);
    }

    pt_pool_reset();
    pt_init(&pt, 12, 39);
    pt_map_standard(&pt, 0);
    static const u64 attrs[NPAGES] = {
        [P_RW] = NORMAL | PTE_AP_EL1_RW | PTE_UXN,
        [P_RO] = NORMAL | PTE_AP_EL1_RO | PTE_UXN,
        [P_NOAF] = (NORMAL & ~PTE_AF) | PTE_AP_EL1_RW | PTE_UXN,
        [P_EL1ONLY] = NORMAL | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN,
        [P_PXN] = NORMAL | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN,
        [P_UXN] = NORMAL | PTE_AP_RO | PTE_UXN | PTE_PXN,
        [P_EXEC] = NORMAL | PTE_AP_EL1_RW | PTE_UXN,
        [P_EL0EXEC] = NORMAL | PTE_AP_RO,
        [P_DEVICE] = DEVICE | PTE_AP_EL1_RW,
        [P_EL0W] = NORMAL | PTE_AP_RW | PTE_UXN,
    };
    for (int p = 0; p < NPAGES; p++)
        if (p != P_UNMAPPED)
            pt_map(&pt, tva(p), tpa(p), PG, attrs[p], 0);
    mmu_enable(&pt, 0, 0);
}

static void test_data_aborts(void)
{
    u64 va = tva(P_UNMAPPED) + 0x18;
    exc_expect();
    u64 v = probe_ldr64(va);
    check_exc(30, "load from an unmapped page (level 3)",
              want_dabt64(FSC_TRANS(3), 0, va, probe_ldr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    CHECK_EQ(30, "faulting load left its register unchanged", v, PROBE_NONE);
    exc_expect();
    probe_str64(va, 1);
    check_exc(31, "store to an unmapped page (level 3)",
              want_dabt64(FSC_TRANS(3), 1, va, probe_str64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    va = TEST_VA + (2ul << 20) + 8;
    exc_expect();
    probe_ldr64(va);
    check_exc(32, "load with no level-2 entry",
              want_dabt64(FSC_TRANS(2), 0, va, probe_ldr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    va = TEST_VA + (1ul << 30) + 16;
    exc_expect();
    probe_ldr64(va);
    check_exc(33, "load with no level-1 entry",
              want_dabt64(FSC_TRANS(1), 0, va, probe_ldr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));

    va = tva(P_RO) + 0x20;
    exc_expect();
    probe_str64(va, 0);
    check_exc(34, "store to an EL1 read-only page",
              want_dabt64(FSC_PERM(3), 1, va, probe_str64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    exc_expect();
    CHECK_EQ(35, "load from the read-only page", probe_ldr64(va), pattern(P_RO, 4));
    check_no_exc(35, "load from the read-only page");
    CHECK_EQ(35, "the faulting store wrote nothing", *(volatile u64 *)(tpa(P_RO) + 0x20),
             pattern(P_RO, 4));

    va = tva(P_NOAF) + 8;
    exc_expect();
    probe_ldr64(va);
    check_exc(36, "load from a page with AF=0",
              want_dabt64(FSC_ACCESS(3), 0, va, probe_ldr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    u64 *pte = pt_leaf(&pt, va, 0);
    *pte |= PTE_AF;
    dsb(ishst);
    __asm__ volatile("tlbi vae1, %0" ::"r"(va >> 12) : "memory");
    dsb(ish);
    isb();
    exc_expect();
    CHECK_EQ(37, "load after setting AF and TLBI VAE1", probe_ldr64(va), pattern(P_NOAF, 1));
    check_no_exc(37, "load after setting AF and TLBI VAE1");

    va = tva(P_EL1ONLY) + 0x40;
    exc_expect();
    run_el0(user_ldr64, va, el0_stack_top(), 0x3c0);
    check_exc(38, "EL0 load from an EL1-only page",
              want_dabt64(FSC_PERM(3), 0, va, user_ldr64_insn, VEC_LOW64_SYNC,
                                    SPSR_EL0_MASKED));
    exc_expect();
    run_el0(user_str64, va, el0_stack_top(), 0x3c0);
    check_exc(39, "EL0 store to an EL1-only page",
              want_dabt64(FSC_PERM(3), 1, va, user_str64_insn, VEC_LOW64_SYNC,
                                    SPSR_EL0_MASKED));
    exc_expect();
    static u64 user_word USERDATA = 0x0123456789abcdeful;
    CHECK_EQ(40, "EL0 load from .userdata",
             run_el0(user_ldr64, (u64)&user_word, el0_stack_top(), 0x3c0), 0x0123456789abcdeful);
    CHECK_EQ(40, "EL1 load from the EL1-only page", probe_ldr64(va), pattern(P_EL1ONLY, 8));
    check_no_exc(40, "EL0 load from .userdata, EL1 load from the EL1-only page");
}

static void test_alignment_mmu_on(void)
{
    u64 va = tva(P_RW) + 4;
    set_sctlr_bits(SCTLR_A, 0);
    exc_expect();
    probe_ldr64(va);
    check_exc(41, "unaligned LDR to Normal memory with SCTLR.A=1",
              want_dabt64(FSC_ALIGN, 0, va, probe_ldr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
    set_sctlr_bits(0, SCTLR_A);
    exc_expect();
    u64 want = (pattern(P_RW, 0) >> 32) | (pattern(P_RW, 1) << 32);
    CHECK_EQ(42, "unaligned LDR to Normal memory with SCTLR.A=0", probe_ldr64(va), want);
    check_no_exc(42, "unaligned LDR to Normal memory with SCTLR.A=0");

    va = tva(P_DEVICE) + 4;
    if (ON_QEMU) {
        QEMU_SKIP("Device-memory alignment faults");
    } else {
        exc_expect();
        probe_ldr64(va);
        check_exc(43, "unaligned LDR to Device memory with SCTLR.A=0",
                  want_dabt64(FSC_ALIGN, 0, va, probe_ldr64_insn, VEC_SPX_SYNC, SPSR_EL1H_MASKED));
    }

    va = tva(P_RW) + 4;
    exc_expect();
    probe_ldxr64(va);
    check_exc(44, "unaligned LDXR to Normal memory with SCTLR.A=0",
              want_dabt64(FSC_ALIGN, 0, va, probe_ldxr64_insn, VEC_SPX_SYNC,
                                    SPSR_EL1H_MASKED));
}

static struct want iabt(u64 fsc, u64 va, unsigned vector, u64 spsr)
{
    return (struct want){.vector = vector,
                         .ec = vector == VEC_LOW64_SYNC ? EC_IABT_LOW : EC_IABT_CUR,
                         .iss = fsc,
                         .elr = va,
                         .far_valid = 1,
                         .far = va,
                         .spsr = spsr};
}

static void test_instruction_aborts(void)
{
    exc_expect();
    exc.resume_pc = (u64)probe_call_resume;
    CHECK_EQ(47, "call into an EL1-executable scratch page", probe_call(tva(P_EXEC)), 42);
    check_no_exc(47, "call into an EL1-executable scratch page");

    u64 va = tva(P_PXN);
    exc_expect();
    exc.resume_pc = (u64)probe_call_resume;
    probe_call(va);
    check_exc(45, "EL1 execution from a PXN page",
              iabt(FSC_PERM(3), va, VEC_SPX_SYNC, SPSR_EL1H_MASKED));

    va = tva(P_UNMAPPED);
    exc_expect();
    exc.resume_pc = (u64)probe_call_resume;
    probe_call(va);
    check_exc(46, "EL1 execution from an unmapped page",
              iabt(FSC_TRANS(3), va, VEC_SPX_SYNC, SPSR_EL1H_MASKED));

    va = tva(P_EL0W);
    exc_expect();
    exc.resume_pc = (u64)probe_call_resume;
    probe_call(va);
    check_exc(48, "EL1 execution from a page writable at EL0 (PXN=0)",
              iabt(FSC_PERM(3), va, VEC_SPX_SYNC, SPSR_EL1H_MASKED));

    va = tva(P_UXN);
    exc_expect();
    exc.resume_pc = (u64)el0_exit_trampoline;
    run_el0((u64(*)(u64))va, 0, el0_stack_top(), 0x3c0);
    check_exc(49, "EL0 execution from a UXN page",
              iabt(FSC_PERM(3), va, VEC_LOW64_SYNC, SPSR_EL0_MASKED));

    exc_expect();
    exc.resume_pc = (u64)el0_exit_trampoline;
    CHECK_EQ(50, "EL0 execution from an EL0-executable scratch page",
             run_el0((u64(*)(u64))tva(P_EL0EXEC), 0, el0_stack_top(), 0x3c0), 42);
    check_no_exc(50, "EL0 execution from an EL0-executable scratch page");
}

int main(void)
{
    test_el1_exceptions();
    test_el0_exceptions();
    test_alignment_mmu_off();
    test_illegal_return();
    test_irq_vectors();

    mmu_setup();
    test_data_aborts();
    test_alignment_mmu_on();
    test_instruction_aborts();
    mmu_disable();

    return finish("exceptions");
}
