/*
 * The Performance Monitors Extension, PMUv3 (ARM ARM D11 "The Performance
 * Monitors Extension" and the PMU registers in D19/D23), at EL1 and EL0:
 * PMCR_EL0, the cycle counter, event counters with INST_RETIRED and SW_INCR,
 * the set/clear register pairs, PMSELR_EL0 with PMXEVTYPER/PMXEVCNTR, the EL
 * filters, overflow with its interrupt (PPI 7 = INTID 23 on QEMU virt's GICv2,
 * as on armvm's board), and PMUSERENR_EL0's EL0 access controls.
 *
 * Writes to PMU registers take effect at the next context synchronization event,
 * so the counted loops (pmu.S) have an ISB after enabling and count in a range
 * that allows the enabling/disabling instructions and ISBs to be counted or not.
 *
 * QEMU implements INST_RETIRED only with -icount, so the QEMU runs of this
 * program use `-icount shift=0` (run-qemu.sh and tests/baremetal.rs add it).
 * QEMU 7.2 re-evaluates the PMU interrupt on overflow and on PMOVS/PMINTEN
 * writes but not on PMCR_EL0 writes, so QEMU_QUIRKS skips the check that
 * clearing PMCR_EL0.E drops it (ARM ARM CheckForPMUOverflow() includes E).
 *
 * Check codes 1-49.
 */
#include "rt.h"

/* pmu.S */
void pmu_loop(u64 iters, u64 mask);
void busy_loop(u64 iters);
u64 user_loop(u64), user_read_pmccntr(u64), user_read_pmevcntr0(u64);
extern char user_read_pmccntr_insn[], user_read_pmevcntr0_insn[];

#define PMCR_E (1ul << 0)
#define PMCR_P (1ul << 1)
#define PMCR_C (1ul << 2)
#define PMCR_N(pmcr) (((pmcr) >> 11) & 0x1f)

#define EVT_SW_INCR 0x00
#define EVT_INST_RETIRED 0x08
#define EVT_CPU_CYCLES 0x11
#define EVT_P (1ul << 31) /* do not count at EL1 */
#define EVT_U (1ul << 30) /* do not count at EL0 */

#define CYCLE_BIT (1ul << 31)
#define ISR_I (1ul << 7)

#define PMUSERENR_EN (1ul << 0)
#define PMUSERENR_CR (1ul << 2)
#define PMUSERENR_ER (1ul << 3)

/* Counters the program uses (PMCR_EL0.N >= 6 is checked first). */
#define NCOUNTERS 6

static unsigned n_counters;
static u64 all_mask; /* the cycle counter and counters 0..N-1 */
static u64 freq;

static inline void set_pmcr(u64 v)
{
    write_sysreg(pmcr_el0, v);
    isb();
}

/* ---- Event counters by number */

#define SWITCH_CTR(n, op)                                                                \
    switch (n) {                                                                         \
    case 0: op(0); break;                                                                \
    case 1: op(1); break;                                                                \
    case 2: op(2); break;                                                                \
    case 3: op(3); break;                                                                \
    case 4: op(4); break;                                                                \
    case 5: op(5); break;                                                                \
    }

static void set_evtyper(unsigned n, u64 v)
{
#define W(i) write_sysreg(pmevtyper##i##_el0, v)
    SWITCH_CTR(n, W)
#undef W
    isb();
}

static u64 get_evtyper(unsigned n)
{
    u64 v = 0;
#define R(i) v = read_sysreg(pmevtyper##i##_el0)
    SWITCH_CTR(n, R)
#undef R
    return v;
}

static void set_evcntr(unsigned n, u64 v)
{
#define W(i) write_sysreg(pmevcntr##i##_el0, v)
    SWITCH_CTR(n, W)
#undef W
    isb();
}

static u64 get_evcntr(unsigned n)
{
    u64 v = 0;
    isb();
#define R(i) v = read_sysreg(pmevcntr##i##_el0)
    SWITCH_CTR(n, R)
#undef R
    return v;
}

static u64 cycles(void)
{
    isb();
    return read_sysreg(pmccntr_el0);
}

/* Everything off and zero: no counter enabled, no interrupt enable or overflow
 * flag, no filters, EL0 access disabled. */
static void pmu_reset(void)
{
    set_pmcr(0);
    write_sysreg(pmcntenclr_el0, 0xffffffffu);
    write_sysreg(pmintenclr_el1, 0xffffffffu);
    write_sysreg(pmovsclr_el0, 0xffffffffu);
    write_sysreg(pmccfiltr_el0, 0);
    write_sysreg(pmuserenr_el0, 0);
    for (unsigned n = 0; n < NCOUNTERS; n++)
        set_evtyper(n, 0);
    set_pmcr(PMCR_P | PMCR_C);
}

/* INST_RETIRED on counter n over pmu_loop(iters): what it counted. */
static u64 count_loop(unsigned n, u64 evtyper, u64 iters)
{
    set_evtyper(n, evtyper);
    set_evcntr(n, 0);
    pmu_loop(iters, 1ul << n);
    return get_evcntr(n);
}

/* Within [2 * iters, 2 * iters + 4]: the loop, plus at most the enabling MSR, the
 * ISBs and the disabling MSR. */
static int loop_count_ok(u64 got, u64 iters) { return got >= 2 * iters && got <= 2 * iters + 4; }

/* ---- 1-9: identification and the register pairs */

static void test_id(void)
{
    u64 pmcr = read_sysreg(pmcr_el0);
    n_counters = PMCR_N(pmcr);
    all_mask = CYCLE_BIT | ((1ul << n_counters) - 1);
    printf("PMCR_EL0 = 0x%lx: IMP 0x%lx, IDCODE 0x%lx, N %u\n", pmcr, pmcr >> 24,
           (pmcr >> 16) & 0xff, n_counters);
    CHECK(1, "PMCR_EL0.N >= 6 event counters", n_counters >= NCOUNTERS);
    u64 dfr0 = read_sysreg(id_aa64dfr0_el1);
    u64 pmuver = (dfr0 >> 8) & 0xf;
    CHECK(1, "ID_AA64DFR0_EL1.PMUVer is a PMUv3", pmuver >= 1 && pmuver != 0xf);

    u64 ceid0 = read_sysreg(pmceid0_el0);
    printf("PMCEID0_EL0 = 0x%lx, PMCEID1_EL0 = 0x%lx\n", ceid0, read_sysreg(pmceid1_el0));
    CHECK(2, "PMCEID0_EL0 lists SW_INCR (0x00)", ceid0 & (1ul << EVT_SW_INCR));
    CHECK(2, "PMCEID0_EL0 lists INST_RETIRED (0x08)", ceid0 & (1ul << EVT_INST_RETIRED));
    CHECK(2, "PMCEID0_EL0 lists CPU_CYCLES (0x11)", ceid0 & (1ul << EVT_CPU_CYCLES));
}

static void test_register_pairs(void)
{
    pmu_reset();
    /* Bits for counters that do not exist are RAZ/WI. */
    write_sysreg(pmcntenset_el0, 0xffffffffu);
    CHECK_EQ(3, "PMCNTENSET_EL0 after setting all bits", read_sysreg(pmcntenset_el0), all_mask);
    CHECK_EQ(3, "PMCNTENCLR_EL0 reads the same", read_sysreg(pmcntenclr_el0), all_mask);
    write_sysreg(pmcntenclr_el0, 1ul << 1 | CYCLE_BIT);
    CHECK_EQ(3, "PMCNTENSET_EL0 after clearing bits 1 and 31", read_sysreg(pmcntenset_el0),
             all_mask & ~(1ul << 1 | CYCLE_BIT));
    write_sysreg(pmcntenclr_el0, 0xffffffffu);
    CHECK_EQ(3, "PMCNTENSET_EL0 after clearing all bits", read_sysreg(pmcntenset_el0), 0);

    write_sysreg(pmintenset_el1, 0xffffffffu);
    CHECK_EQ(4, "PMINTENSET_EL1 after setting all bits", read_sysreg(pmintenset_el1), all_mask);
    CHECK_EQ(4, "PMINTENCLR_EL1 reads the same", read_sysreg(pmintenclr_el1), all_mask);
    write_sysreg(pmintenclr_el1, 0xffffffffu);
    CHECK_EQ(4, "PMINTENSET_EL1 after clearing all bits", read_sysreg(pmintenset_el1), 0);

    write_sysreg(pmovsset_el0, 0xffffffffu);
    CHECK_EQ(5, "PMOVSSET_EL0 after setting all bits", read_sysreg(pmovsset_el0), all_mask);
    CHECK_EQ(5, "PMOVSCLR_EL0 reads the same", read_sysreg(pmovsclr_el0), all_mask);
    write_sysreg(pmovsclr_el0, 1ul << 2);
    CHECK_EQ(5, "PMOVSCLR_EL0 after clearing bit 2", read_sysreg(pmovsclr_el0),
             all_mask & ~(1ul << 2));
    write_sysreg(pmovsclr_el0, 0xffffffffu);
    CHECK_EQ(5, "PMOVSCLR_EL0 after clearing all bits", read_sysreg(pmovsclr_el0), 0);

    /* PMSELR_EL0.SEL picks the counter that PMXEVTYPER/PMXEVCNTR access. */
    static const u64 events[] = {EVT_INST_RETIRED, EVT_SW_INCR, EVT_CPU_CYCLES};
    for (unsigned n = 0; n < NCOUNTERS; n++) {
        u64 t1 = events[n % 3] | (n & 1 ? EVT_P : EVT_U), t2 = events[(n + 1) % 3];
        write_sysreg(pmselr_el0, n);
        isb();
        CHECK_EQ(6, "PMSELR_EL0.SEL read back", read_sysreg(pmselr_el0) & 0x1f, n);
        write_sysreg(pmxevtyper_el0, t1);
        isb();
        CHECK_EQ(6, "PMEVTYPER<n>_EL0 after writing PMXEVTYPER_EL0", get_evtyper(n), t1);
        set_evtyper(n, t2);
        CHECK_EQ(6, "PMXEVTYPER_EL0 after writing PMEVTYPER<n>_EL0",
                 read_sysreg(pmxevtyper_el0), t2);
        /* Counters are disabled: the values stay as written. */
        write_sysreg(pmxevcntr_el0, 0x1000 + n);
        isb();
        CHECK_EQ(7, "PMEVCNTR<n>_EL0 after writing PMXEVCNTR_EL0", get_evcntr(n), 0x1000 + n);
        set_evcntr(n, 0x87654321 - n);
        CHECK_EQ(7, "PMXEVCNTR_EL0 after writing PMEVCNTR<n>_EL0", read_sysreg(pmxevcntr_el0),
                 0x87654321 - n);
    }
    for (unsigned n = 0; n < NCOUNTERS; n++)
        CHECK_EQ(7, "PMEVCNTR<n>_EL0 kept its value", get_evcntr(n), 0x87654321 - n);
    /* SEL = 31: PMXEVTYPER_EL0 is PMCCFILTR_EL0. */
    write_sysreg(pmselr_el0, 31);
    isb();
    write_sysreg(pmxevtyper_el0, EVT_U);
    isb();
    CHECK_EQ(8, "PMCCFILTR_EL0 after writing PMXEVTYPER_EL0 with SEL=31",
             read_sysreg(pmccfiltr_el0), EVT_U);
    write_sysreg(pmccfiltr_el0, EVT_P);
    isb();
    CHECK_EQ(8, "PMXEVTYPER_EL0 with SEL=31 after writing PMCCFILTR_EL0",
             read_sysreg(pmxevtyper_el0), EVT_P);
    write_sysreg(pmselr_el0, 0);
    pmu_reset();
}

/* ---- 10-19: the cycle counter */

static void test_cycle_counter(void)
{
    pmu_reset();
    CHECK_EQ(10, "PMCCNTR_EL0 after PMCR_EL0.C", cycles(), 0);
    write_sysreg(pmccntr_el0, 0x123456789aul);
    CHECK_EQ(10, "PMCCNTR_EL0 (64 bits) read back while disabled", cycles(), 0x123456789aul);
    busy_loop(1000);
    CHECK_EQ(10, "PMCCNTR_EL0 does not count while disabled", cycles(), 0x123456789aul);
    set_pmcr(PMCR_C);
    CHECK_EQ(10, "PMCCNTR_EL0 after PMCR_EL0.C again", cycles(), 0);
    CHECK_EQ(10, "PMCR_EL0.C and .P read as 0", read_sysreg(pmcr_el0) & (PMCR_C | PMCR_P), 0);

    set_pmcr(PMCR_E);
    write_sysreg(pmcntenset_el0, CYCLE_BIT);
    u64 c0 = cycles();
    busy_loop(10000);
    u64 c1 = cycles();
    printf("PMCCNTR_EL0: %lu cycles over 20001 instructions\n", c1 - c0);
    CHECK(11, "PMCCNTR_EL0 counts with PMCR_EL0.E and PMCNTENSET_EL0[31]", c1 > c0);

    write_sysreg(pmcntenclr_el0, CYCLE_BIT);
    c0 = cycles();
    busy_loop(10000);
    CHECK_EQ(12, "PMCCNTR_EL0 stopped by PMCNTENCLR_EL0[31]", cycles(), c0);

    write_sysreg(pmcntenset_el0, CYCLE_BIT);
    set_pmcr(0);
    c0 = cycles();
    busy_loop(10000);
    CHECK_EQ(13, "PMCCNTR_EL0 stopped by PMCR_EL0.E=0", cycles(), c0);

    set_pmcr(PMCR_E);
    write_sysreg(pmccfiltr_el0, EVT_P);
    isb();
    c0 = cycles();
    busy_loop(10000);
    CHECK_EQ(14, "PMCCNTR_EL0 does not count at EL1 with PMCCFILTR_EL0.P=1", cycles(), c0);
    write_sysreg(pmccfiltr_el0, 0);
    isb();
    c0 = cycles();
    busy_loop(10000);
    CHECK(14, "PMCCNTR_EL0 counts again with PMCCFILTR_EL0.P=0", cycles() > c0);

    /* PMCR_EL0.P resets the event counters, not the cycle counter. */
    set_pmcr(0);
    set_evcntr(0, 1234);
    c0 = cycles();
    set_pmcr(PMCR_P);
    CHECK_EQ(15, "PMEVCNTR0_EL0 after PMCR_EL0.P", get_evcntr(0), 0);
    CHECK_EQ(15, "PMCCNTR_EL0 unchanged by PMCR_EL0.P", cycles(), c0);
    CHECK(15, "PMCCNTR_EL0 not zero before PMCR_EL0.C", c0 != 0);
    pmu_reset();
}

/* ---- 20-29: event counters */

static void test_event_counters(void)
{
    pmu_reset();
    set_pmcr(PMCR_E);

    /* INST_RETIRED over 2 * iters instructions. The two loops differ by exactly
     * 2000 instructions; that difference is checked exactly, since whatever the
     * PE does at the loop's boundaries it does the same way both times. */
    u64 a = count_loop(0, EVT_INST_RETIRED, 1000);
    u64 b = count_loop(0, EVT_INST_RETIRED, 2000);
    printf("INST_RETIRED: %lu over 2000 instructions, %lu over 4000\n", a, b);
    CHECK(20, "INST_RETIRED over a 2000-instruction loop (within +4)", loop_count_ok(a, 1000));
    CHECK(20, "INST_RETIRED over a 4000-instruction loop (within +4)", loop_count_ok(b, 2000));
    CHECK_EQ(21, "INST_RETIRED difference between the two loops", b - a, 2000);

    /* Every counter. */
    for (unsigned n = 0; n < NCOUNTERS; n++) {
        u64 c = count_loop(n, EVT_INST_RETIRED, 500);
        if (!CHECK(22, "INST_RETIRED on counter n over 1000 instructions", loop_count_ok(c, 500)))
            printf("  ^ counter %u: %lu\n", n, c);
    }

    /* Not counting: the EL1 filter, the enable bit, PMCR_EL0.E. */
    CHECK_EQ(23, "INST_RETIRED at EL1 with PMEVTYPER.P=1", count_loop(1, EVT_P | EVT_INST_RETIRED, 500),
             0);
    set_evtyper(2, EVT_INST_RETIRED);
    set_evcntr(2, 0);
    busy_loop(500);
    CHECK_EQ(24, "INST_RETIRED with PMCNTENSET_EL0[2] clear", get_evcntr(2), 0);
    set_pmcr(0);
    CHECK_EQ(25, "INST_RETIRED with PMCR_EL0.E=0", count_loop(3, EVT_INST_RETIRED, 500), 0);
    set_pmcr(PMCR_E);

    /* EL0 only (P=1): the EL0 loop, its RET and the trampoline's SVC. */
    set_evtyper(4, EVT_P | EVT_INST_RETIRED);
    set_evcntr(4, 0);
    write_sysreg(pmcntenset_el0, 1ul << 4);
    isb();
    run_el0(user_loop, 1000, el0_stack_top(), 0x3c0);
    write_sysreg(pmcntenclr_el0, 1ul << 4);
    u64 c = get_evcntr(4);
    printf("INST_RETIRED at EL0 only: %lu over 2001 EL0 instructions and an SVC\n", c);
    CHECK(26, "INST_RETIRED at EL0 only (PMEVTYPER.P=1) over run_el0(user_loop)",
          c >= 2001 && c <= 2002);

    /* SW_INCR: each PMSWINC_EL0 write increments the enabled counters it names
     * that count SW_INCR. */
    set_evtyper(1, EVT_SW_INCR);
    set_evcntr(1, 0);
    set_evtyper(2, EVT_SW_INCR); /* not enabled */
    set_evcntr(2, 0);
    set_evtyper(3, EVT_P | EVT_INST_RETIRED); /* enabled, not SW_INCR, not counting at EL1 */
    set_evcntr(3, 0);
    write_sysreg(pmcntenset_el0, 1ul << 1 | 1ul << 3);
    isb();
    for (int i = 0; i < 3; i++)
        write_sysreg(pmswinc_el0, 1ul << 1 | 1ul << 2 | 1ul << 3);
    isb();
    CHECK_EQ(27, "SW_INCR counter after 3 PMSWINC_EL0 writes", get_evcntr(1), 3);
    CHECK_EQ(27, "disabled SW_INCR counter", get_evcntr(2), 0);
    CHECK_EQ(27, "INST_RETIRED counter (EL1 filtered) named in PMSWINC_EL0", get_evcntr(3), 0);
    set_pmcr(0);
    write_sysreg(pmswinc_el0, 1ul << 1);
    isb();
    CHECK_EQ(28, "SW_INCR counter after PMSWINC_EL0 with PMCR_EL0.E=0", get_evcntr(1), 3);
    set_pmcr(PMCR_E);
    write_sysreg(pmswinc_el0, 1ul << 1);
    isb();
    CHECK_EQ(28, "SW_INCR counter after one more write with PMCR_EL0.E=1", get_evcntr(1), 4);
    pmu_reset();
}

/* ---- 30-39: overflow and the PMU interrupt */

static volatile unsigned pmu_irqs;
static volatile u64 pmu_irq_ovs;

static int pmu_irq(unsigned intid)
{
    /* Quiet the source in any case (the interrupt is level-sensitive). */
    u64 ovs = read_sysreg(pmovsclr_el0);
    write_sysreg(pmovsclr_el0, ovs);
    isb();
    pmu_irq_ovs = ovs;
    if (intid != PMU_PPI && intid != ~0u)
        return 0;
    pmu_irqs++;
    return 1;
}

static int wait_isr(u64 want, u64 ticks)
{
    u64 t0 = counter();
    do {
        if ((read_sysreg(isr_el1) & ISR_I) == want)
            return 1;
    } while (counter() - t0 < ticks);
    return 0;
}

/* Unmasks IRQs until one is taken or `ticks` pass; returns how many were. */
static unsigned irqs_while_unmasked(u64 ticks)
{
    unsigned before = irqs.count;
    irq_enable();
    u64 t0 = counter();
    while (irqs.count == before && counter() - t0 < ticks)
        ;
    irq_disable();
    return irqs.count - before;
}

static void check_pmu_irq(int code, const char *name)
{
    unsigned before = rt_failures, spurious = irqs.spurious;
    pmu_irqs = 0;
    pmu_irq_ovs = 0;
    CHECK_EQ(code, "IRQs taken after unmasking", irqs_while_unmasked(freq / 10), 1);
    CHECK_EQ(code, "INTID (the PMU's PPI)", irqs.intid, PMU_PPI);
    CHECK_EQ(code, "IRQ vector (current EL, SPx)", irqs.vector, VEC_SPX_IRQ);
    CHECK_EQ(code, "spurious IRQs", irqs.spurious - spurious, 0);
    CHECK_EQ(code, "overflow flags the handler found", pmu_irq_ovs, 1);
    CHECK(code, "no IRQ pending after the handler (ISR_EL1.I)", wait_isr(0, freq / 100));
    if (rt_failures != before)
        printf("  ^ in [%d] %s: INTID %u, PMU handler calls %u\n", code, name, irqs.intid,
               pmu_irqs);
}

static void test_overflow(void)
{
    pmu_reset();
    irq_controller_init();
    irq_enable_ppi(PMU_PPI);
    irq_hook = pmu_irq;
    set_pmcr(PMCR_E);

    /* A 32-bit event counter 16 instructions from overflowing. */
    set_evtyper(0, EVT_INST_RETIRED);
    set_evcntr(0, 0xfffffff0);
    CHECK_EQ(30, "PMEVCNTR0_EL0 read back", get_evcntr(0), 0xfffffff0);
    write_sysreg(pmintenset_el1, 1);
    pmu_loop(100, 1);
    u64 c = get_evcntr(0);
    CHECK_EQ(30, "PMOVSCLR_EL0 after the counter wrapped", read_sysreg(pmovsclr_el0), 1);
    if (!CHECK(30, "PMEVCNTR0_EL0 wrapped to the count minus 16 (32 bits)",
               c >= 200 - 16 && c <= 204 - 16))
        printf("  ^ PMEVCNTR0_EL0 = 0x%lx\n", c);
    CHECK(31, "PMU IRQ pending while masked (ISR_EL1.I)", wait_isr(ISR_I, freq / 100));
    check_pmu_irq(32, "counter overflow IRQ");
    CHECK_EQ(32, "PMOVSCLR_EL0 after the handler", read_sysreg(pmovsclr_el0), 0);

    /* No interrupt when PMINTENSET does not enable it. */
    write_sysreg(pmintenclr_el1, 1);
    set_evcntr(0, 0xfffffff0);
    pmu_loop(100, 1);
    CHECK_EQ(33, "PMOVSCLR_EL0 after a wrap with the interrupt disabled",
             read_sysreg(pmovsclr_el0), 1);
    CHECK(33, "no IRQ pending (ISR_EL1.I)", wait_isr(0, freq / 100));
    CHECK_EQ(33, "no IRQ taken", irqs_while_unmasked(freq / 500), 0);

    /* The request is overflow flag AND interrupt enable AND PMCR_EL0.E: enabling
     * the interrupt for the flag already set raises it; PMCR_EL0.E=0 drops it. */
    write_sysreg(pmintenset_el1, 1);
    isb();
    CHECK(34, "IRQ pending after PMINTENSET_EL1 for a set overflow flag",
          wait_isr(ISR_I, freq / 100));
    set_pmcr(0);
    if (ON_QEMU)
        QEMU_SKIP("PMCR_EL0.E=0 dropping the PMU interrupt (QEMU updates it on other writes)");
    else
        CHECK(35, "no IRQ pending with PMCR_EL0.E=0", wait_isr(0, freq / 100));
    set_pmcr(PMCR_E);
    CHECK(35, "IRQ pending again with PMCR_EL0.E=1", wait_isr(ISR_I, freq / 100));
    check_pmu_irq(36, "IRQ for an overflow flag set before PMINTENSET");

    /* PMOVSSET_EL0 sets a flag as an overflow would (the cycle counter's here). */
    write_sysreg(pmintenset_el1, CYCLE_BIT);
    write_sysreg(pmovsset_el0, CYCLE_BIT);
    isb();
    CHECK(37, "IRQ pending after PMOVSSET_EL0[31] with PMINTENSET_EL1[31]",
          wait_isr(ISR_I, freq / 100));
    pmu_irq_ovs = 0;
    unsigned n = irqs_while_unmasked(freq / 10);
    CHECK_EQ(37, "IRQs taken", n, 1);
    CHECK_EQ(37, "overflow flags the handler found", pmu_irq_ovs, CYCLE_BIT);

    irq_hook = 0;
    pmu_reset();
}

/* ---- 40-49: EL0 access (PMUSERENR_EL0) */

static u64 sysreg_iss(u64 op0, u64 op1, u64 crn, u64 crm, u64 op2, u64 rt, int read)
{
    return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) |
           (u64)read;
}

#define SENTINEL 0x5e171e1ul

static u64 el0(u64 (*fn)(u64)) { return run_el0(fn, SENTINEL, el0_stack_top(), 0x3c0); }

static void test_el0_access(void)
{
    pmu_reset();
    set_pmcr(PMCR_E);
    write_sysreg(pmcntenset_el0, CYCLE_BIT);
    isb();
    struct want trap_ccntr = {.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                              .iss = sysreg_iss(3, 3, 9, 13, 0, 0, 1),
                              .elr = (u64)user_read_pmccntr_insn, .spsr = SPSR_EL0_MASKED};
    struct want trap_evcntr = {.vector = VEC_LOW64_SYNC, .ec = EC_SYSREG,
                               .iss = sysreg_iss(3, 3, 14, 8, 0, 0, 1),
                               .elr = (u64)user_read_pmevcntr0_insn, .spsr = SPSR_EL0_MASKED};

    exc_expect();
    CHECK_EQ(40, "EL0 MRS PMCCNTR_EL0 with PMUSERENR_EL0=0 skipped", el0(user_read_pmccntr),
             SENTINEL);
    check_exc(40, "EL0 MRS PMCCNTR_EL0 with PMUSERENR_EL0=0", trap_ccntr);
    exc_expect();
    el0(user_read_pmevcntr0);
    check_exc(41, "EL0 MRS PMEVCNTR0_EL0 with PMUSERENR_EL0=0", trap_evcntr);

    /* CR: cycle counter reads only. */
    write_sysreg(pmuserenr_el0, PMUSERENR_CR);
    isb();
    exc_expect();
    exc.expected = 2;
    u64 c0 = cycles(), c = el0(user_read_pmccntr), c1 = cycles();
    check_no_exc(42, "EL0 MRS PMCCNTR_EL0 with PMUSERENR_EL0.CR=1");
    CHECK(42, "the value read at EL0 is the running count", c > c0 && c < c1);
    exc_expect();
    el0(user_read_pmevcntr0);
    check_exc(43, "EL0 MRS PMEVCNTR0_EL0 with only PMUSERENR_EL0.CR=1", trap_evcntr);

    /* ER: event counter reads. */
    set_evcntr(0, 0x4242);
    write_sysreg(pmuserenr_el0, PMUSERENR_ER);
    isb();
    exc_expect();
    exc.expected = 2;
    CHECK_EQ(44, "EL0 MRS PMEVCNTR0_EL0 with PMUSERENR_EL0.ER=1", el0(user_read_pmevcntr0),
             0x4242);
    check_no_exc(44, "EL0 MRS PMEVCNTR0_EL0 with PMUSERENR_EL0.ER=1");

    /* EN: everything. */
    write_sysreg(pmuserenr_el0, PMUSERENR_EN);
    isb();
    exc_expect();
    exc.expected = 2;
    c0 = cycles();
    c = el0(user_read_pmccntr);
    c1 = cycles();
    CHECK_EQ(45, "EL0 MRS PMEVCNTR0_EL0 with PMUSERENR_EL0.EN=1", el0(user_read_pmevcntr0),
             0x4242);
    check_no_exc(45, "EL0 MRS PMCCNTR_EL0 and PMEVCNTR0_EL0 with PMUSERENR_EL0.EN=1");
    CHECK(45, "the cycle count read at EL0 is the running count", c > c0 && c < c1);
    pmu_reset();
}

int main(void)
{
    freq = read_sysreg(cntfrq_el0);
    test_id();
    if (n_counters < NCOUNTERS)
        return finish("pmu");
    test_register_pairs();
    test_cycle_counter();
    test_event_counters();
    test_overflow();
    test_el0_access();
    return finish("pmu");
}
