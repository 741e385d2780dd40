/*
 * Self-hosted debug at EL1 (ARM ARM D2 "AArch64 Self-hosted Debug"): the debug
 * ID register, the OS lock, hardware breakpoints, watchpoints, software step and
 * BRK, with the enables that gate them (MDSCR_EL1.MDE/KDE/SS, PSTATE.D, the OS
 * lock, the breakpoint/watchpoint privilege fields).
 *
 * Debug exceptions taken from EL1 to EL1 need the OS lock clear, MDSCR_EL1.KDE=1
 * and PSTATE.D=0 (AArch64.GenerateDebugExceptionsFrom); breakpoints and
 * watchpoints also need MDSCR_EL1.MDE=1. From EL0 they are taken to EL1 whatever
 * KDE and PSTATE.D say. Exception entry sets PSTATE.D, so the handler runs with
 * debug exceptions masked; to let a breakpointed instruction or a watched access
 * complete, debug_hook() returns to it with SPSR_EL1.D set (as Linux and
 * kvm-unit-tests do), and the test unmasks D again afterwards.
 *
 * Check codes: 1-9 ID registers, OS lock, register state; 10-29 breakpoints;
 * 30-49 watchpoints; 50-59 software step; 60-62 BRK.
 *
 * QEMU 7.2 ignores the OS lock when deciding whether to generate breakpoint,
 * watchpoint and step exceptions, so QEMU_QUIRKS skips the checks that need it
 * to (the lock's state in OSLSR_EL1 is still checked).
 */
#include "rt.h"

/* debug.S */
u64 bp_fn0(void), bp_fn1(void), dbg_brk(void);
void dbg_strb(u64 va, u64 value);
u64 step_run(u64 spsr), step_ldx_run(u64 spsr, u64 va);
u64 user_bp_fn(u64);
extern char bp_fn1_second[], dbg_strb_insn[], dbg_brk_insn[];
extern char step_seq[], step_e1[], step_e2[], step_e3[], step_e4[], step_e5[], step_seq_end[];
extern char step_ldx[], step_x1[], step_x2[], step_x3[], step_ldx_end[];

#define EC_BKPT_LOW 0x30
#define EC_BKPT_CUR 0x31
#define EC_STEP_LOW 0x32
#define EC_STEP_CUR 0x33
#define EC_WPT_LOW 0x34
#define EC_WPT_CUR 0x35
#define FSC_DEBUG 0x22 /* IFSC/DFSC "debug exception" */

#define ISS_WNR (1ul << 6)
#define ISS_EX (1ul << 6)   /* software step: the stepped instruction was a load-exclusive */
#define ISS_ISV (1ul << 24) /* software step: EX is valid */

#define MDSCR_SS (1ul << 0)
#define MDSCR_KDE (1ul << 13)
#define MDSCR_MDE (1ul << 15)

#define SPSR_D (1ul << 9)
#define SPSR_SS (1ul << 21)
/* What PSTATE holds while the tests run at EL1: EL1h, A/I/F masked, D clear. */
#define SPSR_EL1H_DEBUG 0x1c5ul

/* DBGBCR<n>_EL1 / DBGWCR<n>_EL1 fields. */
#define BCR_E 1ul
#define PMC_EL1 (1ul << 1)
#define PMC_EL0 (2ul << 1)
#define BCR_BAS_A64 (0xful << 5)
#define WCR_LSC_LOAD (1ul << 3)
#define WCR_LSC_STORE (2ul << 3)
#define WCR_LSC_BOTH (3ul << 3)
#define WCR_BAS(b) ((u64)(b) << 5)
#define WCR_MASK(m) ((u64)(m) << 24)

#define NUM_BPS 6
#define NUM_WPS 4

static inline void debug_unmask(void)
{
    __asm__ volatile("msr daifclr, #8\n\tisb" ::: "memory");
}
static inline void debug_mask(void) { __asm__ volatile("msr daifset, #8" ::: "memory"); }

static void set_mdscr(u64 v)
{
    write_sysreg(mdscr_el1, v);
    isb();
}

static void set_os_lock(int locked)
{
    write_sysreg(oslar_el1, locked ? 1 : 0);
    isb();
}

/* ---- Breakpoint and watchpoint registers by number */

#define SWITCH_BP(n, op)                                                                 \
    switch (n) {                                                                         \
    case 0: op(0); break;                                                                \
    case 1: op(1); break;                                                                \
    case 2: op(2); break;                                                                \
    case 3: op(3); break;                                                                \
    case 4: op(4); break;                                                                \
    case 5: op(5); break;                                                                \
    }
#define SWITCH_WP(n, op)                                                                 \
    switch (n) {                                                                         \
    case 0: op(0); break;                                                                \
    case 1: op(1); break;                                                                \
    case 2: op(2); break;                                                                \
    case 3: op(3); break;                                                                \
    }

static void write_bp(unsigned n, u64 bvr, u64 bcr)
{
#define W(i)                                                                             \
    write_sysreg(dbgbcr##i##_el1, 0);                                                    \
    write_sysreg(dbgbvr##i##_el1, bvr);                                                  \
    write_sysreg(dbgbcr##i##_el1, bcr)
    SWITCH_BP(n, W)
#undef W
    isb();
}

static void read_bp(unsigned n, u64 *bvr, u64 *bcr)
{
#define R(i)                                                                             \
    *bvr = read_sysreg(dbgbvr##i##_el1);                                                 \
    *bcr = read_sysreg(dbgbcr##i##_el1)
    SWITCH_BP(n, R)
#undef R
}

static void write_wp(unsigned n, u64 wvr, u64 wcr)
{
#define W(i)                                                                             \
    write_sysreg(dbgwcr##i##_el1, 0);                                                    \
    write_sysreg(dbgwvr##i##_el1, wvr);                                                  \
    write_sysreg(dbgwcr##i##_el1, wcr)
    SWITCH_WP(n, W)
#undef W
    isb();
}

static void read_wp(unsigned n, u64 *wvr, u64 *wcr)
{
#define R(i)                                                                             \
    *wvr = read_sysreg(dbgwvr##i##_el1);                                                 \
    *wcr = read_sysreg(dbgwcr##i##_el1)
    SWITCH_WP(n, R)
#undef R
}

/* Disables every breakpoint and watchpoint (no ISB: the handler's ERET is one). */
static void disable_bps(void)
{
    write_sysreg(dbgbcr0_el1, 0);
    write_sysreg(dbgbcr1_el1, 0);
    write_sysreg(dbgbcr2_el1, 0);
    write_sysreg(dbgbcr3_el1, 0);
    write_sysreg(dbgbcr4_el1, 0);
    write_sysreg(dbgbcr5_el1, 0);
}

static void disable_wps(void)
{
    write_sysreg(dbgwcr0_el1, 0);
    write_sysreg(dbgwcr1_el1, 0);
    write_sysreg(dbgwcr2_el1, 0);
    write_sysreg(dbgwcr3_el1, 0);
}

/* ---- The exception hook */

#define MAX_STEPS 16
static volatile struct {
    unsigned n;
    u64 stop; /* stop stepping once ELR reaches this */
    u64 elr[MAX_STEPS], esr[MAX_STEPS], spsr[MAX_STEPS];
} steps;

static int debug_hook(struct frame *f, u64 esr)
{
    switch (ESR_EC(esr)) {
    case EC_BKPT_CUR:
    case EC_WPT_CUR:
        /* Retry the instruction with debug exceptions masked. */
        f->spsr |= SPSR_D;
        return 1;
    case EC_BKPT_LOW:
        /* From EL0, PSTATE.D does not mask them: disable, then retry. */
        disable_bps();
        return 1;
    case EC_WPT_LOW:
        disable_wps();
        return 1;
    case EC_STEP_CUR:
        if (steps.n < MAX_STEPS) {
            steps.elr[steps.n] = f->elr;
            steps.esr[steps.n] = esr;
            steps.spsr[steps.n] = f->spsr;
        }
        steps.n++;
        if (f->elr == steps.stop || steps.n >= MAX_STEPS) {
            /* Continue unstepped: with D set, software step is inactive. */
            f->spsr = (f->spsr | SPSR_D) & ~SPSR_SS;
        } else {
            f->spsr |= SPSR_SS;
        }
        return 1;
    }
    return 0;
}

/* Allows up to `n` exceptions, so that a wrongly taken one is reported by
 * check_none() instead of ending the program. */
static void exc_allow(unsigned n)
{
    exc_expect();
    exc.expected = n;
}

/* No exception since exc_allow(); if one was wrongly taken, the hook returned
 * with PSTATE.D set: clear it for the next check. */
static void check_none(int code, const char *name)
{
    check_no_exc(code, name);
    if (exc.count)
        debug_unmask();
}

static struct want want_bp(u64 elr)
{
    return (struct want){.vector = VEC_SPX_SYNC, .ec = EC_BKPT_CUR, .iss = FSC_DEBUG,
                         .elr = elr, .spsr = SPSR_EL1H_DEBUG};
}

static struct want want_wp(u64 elr, int write, int far_exact, u64 far)
{
    return (struct want){.vector = VEC_SPX_SYNC, .ec = EC_WPT_CUR,
                         .iss = FSC_DEBUG | (write ? ISS_WNR : 0), .elr = elr,
                         .far_valid = far_exact, .far = far, .spsr = SPSR_EL1H_DEBUG};
}

/* The standard enabled state: OS lock clear, MDE and KDE set, D clear. */
static void debug_on(void)
{
    set_os_lock(0);
    set_mdscr(MDSCR_KDE | MDSCR_MDE);
    debug_unmask();
}

static void debug_reset(void)
{
    debug_mask();
    disable_bps();
    disable_wps();
    isb();
    debug_on();
}

/* ---- 1-9: ID register, OS lock, register state */

static void test_id_and_state(void)
{
    u64 dfr0 = read_sysreg(id_aa64dfr0_el1);
    u64 debugver = dfr0 & 0xf, pmuver = (dfr0 >> 8) & 0xf;
    u64 brps = (dfr0 >> 12) & 0xf, wrps = (dfr0 >> 20) & 0xf, ctx = (dfr0 >> 28) & 0xf;
    printf("ID_AA64DFR0_EL1 = 0x%lx: DebugVer %lu, PMUVer %lu, BRPs %lu, WRPs %lu, "
           "CTX_CMPs %lu\n",
           dfr0, debugver, pmuver, brps + 1, wrps + 1, ctx + 1);
    CHECK(1, "ID_AA64DFR0_EL1.DebugVer >= 6 (ARMv8 debug)", debugver >= 6 && debugver != 0xf);
    CHECK_EQ(2, "ID_AA64DFR0_EL1.PMUVer (PMUv3 for ARMv8.0)", pmuver, 1);
    CHECK_EQ(3, "ID_AA64DFR0_EL1.BRPs (6 breakpoints)", brps, NUM_BPS - 1);
    CHECK_EQ(4, "ID_AA64DFR0_EL1.WRPs (4 watchpoints)", wrps, NUM_WPS - 1);
    /* Context-aware breakpoints are the highest-numbered ones. */
    CHECK(5, "ID_AA64DFR0_EL1.CTX_CMPs <= BRPs", ctx <= brps);

    /* OSLSR_EL1: OSLM = 0b10 (bits 3 and 0) in ARMv8; OSLK (bit 1) is set by a
     * cold reset. */
    u64 oslsr = read_sysreg(oslsr_el1);
    CHECK_EQ(6, "OSLSR_EL1 at reset (OSLM 0b10, OSLK 1)", oslsr & 0xb, 0xa);
    set_os_lock(0);
    CHECK_EQ(6, "OSLSR_EL1 after OSLAR_EL1 = 0", read_sysreg(oslsr_el1) & 0xb, 0x8);
    set_os_lock(1);
    CHECK_EQ(6, "OSLSR_EL1 after OSLAR_EL1 = 1", read_sysreg(oslsr_el1) & 0xb, 0xa);
    set_os_lock(0);
    write_sysreg(osdlr_el1, 0);
    isb();
    CHECK_EQ(6, "OSDLR_EL1.DLK after writing 0", read_sysreg(osdlr_el1) & 1, 0);

    set_mdscr(MDSCR_KDE | MDSCR_MDE);
    CHECK_EQ(7, "MDSCR_EL1 (SS, KDE, MDE) read back", read_sysreg(mdscr_el1) & 0xa001,
             MDSCR_KDE | MDSCR_MDE);
    set_mdscr(MDSCR_SS);
    CHECK_EQ(7, "MDSCR_EL1.SS read back", read_sysreg(mdscr_el1) & 0xa001, MDSCR_SS);
    set_mdscr(0);

    /* Every breakpoint and watchpoint register pair holds what was written (all
     * disabled, so nothing can match). */
    for (unsigned n = 0; n < NUM_BPS; n++) {
        u64 bvr = 0x40001000ul + 0x40 * n, bcr = PMC_EL1 | PMC_EL0 | BCR_BAS_A64, v, c;
        write_bp(n, bvr, bcr);
        read_bp(n, &v, &c);
        CHECK_EQ(8, "DBGBVR<n>_EL1 read back", v, bvr);
        CHECK_EQ(8, "DBGBCR<n>_EL1 read back", c, bcr);
    }
    for (unsigned n = 0; n < NUM_WPS; n++) {
        u64 wvr = 0x40002000ul + 0x40 * n, v, c;
        u64 wcr = PMC_EL1 | PMC_EL0 | WCR_LSC_BOTH | WCR_BAS(0xf0 >> n);
        write_wp(n, wvr, wcr);
        read_wp(n, &v, &c);
        CHECK_EQ(9, "DBGWVR<n>_EL1 read back", v, wvr);
        CHECK_EQ(9, "DBGWCR<n>_EL1 read back", c, wcr);
    }
    disable_bps();
    disable_wps();
    isb();
}

/* ---- 10-29: breakpoints */

static void test_breakpoints(void)
{
    const u64 bcr_el1 = BCR_E | PMC_EL1 | BCR_BAS_A64;
    debug_reset();

    write_bp(0, (u64)bp_fn0, bcr_el1);
    exc_allow(1);
    u64 r = bp_fn0();
    check_exc(10, "breakpoint 0 on bp_fn0 at EL1", want_bp((u64)bp_fn0));
    CHECK_EQ(10, "bp_fn0 ran after the handler returned with SPSR.D set", r, 42);
    debug_unmask();

    /* Each call hits again (the D mask lasted until the unmask above). */
    exc_allow(1);
    r = bp_fn0();
    check_exc(11, "breakpoint 0 hit again", want_bp((u64)bp_fn0));
    CHECK_EQ(11, "bp_fn0 result", r, 42);
    debug_unmask();

    /* Other functions do not match. */
    exc_allow(2);
    r = bp_fn1();
    check_none(12, "call to bp_fn1 with breakpoint 0 on bp_fn0");
    CHECK_EQ(12, "bp_fn1 result", r, 43);
    debug_reset();

    /* The last slot (context-aware on many cores, address match here), on an
     * instruction other than the first. */
    write_bp(NUM_BPS - 1, (u64)bp_fn1_second, bcr_el1);
    exc_allow(1);
    r = bp_fn1();
    check_exc(13, "breakpoint 5 on bp_fn1's second instruction", want_bp((u64)bp_fn1_second));
    CHECK_EQ(13, "bp_fn1 ran after the handler", r, 43);
    debug_unmask();

    /* Two slots at once. */
    write_bp(0, (u64)bp_fn0, bcr_el1);
    exc_allow(1);
    bp_fn0();
    check_exc(14, "breakpoint 0 with breakpoint 5 also set", want_bp((u64)bp_fn0));
    debug_unmask();
    exc_allow(1);
    bp_fn1();
    check_exc(14, "breakpoint 5 with breakpoint 0 also set", want_bp((u64)bp_fn1_second));
    debug_unmask();

    /* E=0 disables a breakpoint. */
    write_bp(0, (u64)bp_fn0, bcr_el1 & ~BCR_E);
    write_bp(NUM_BPS - 1, (u64)bp_fn1_second, bcr_el1 & ~BCR_E);
    exc_allow(2);
    r = bp_fn0() + bp_fn1();
    check_none(15, "breakpoints 0 and 5 with DBGBCR.E=0");
    CHECK_EQ(15, "results", r, 85);
    debug_reset();

    /* The global and per-EL enables, one at a time. */
    write_bp(0, (u64)bp_fn0, bcr_el1);
    set_mdscr(MDSCR_KDE);
    exc_allow(2);
    bp_fn0();
    check_none(16, "breakpoint with MDSCR_EL1.MDE=0");
    debug_reset();

    write_bp(0, (u64)bp_fn0, bcr_el1);
    set_mdscr(MDSCR_MDE);
    exc_allow(2);
    bp_fn0();
    check_none(17, "breakpoint at EL1 with MDSCR_EL1.KDE=0");
    debug_reset();

    write_bp(0, (u64)bp_fn0, bcr_el1);
    debug_mask();
    exc_allow(2);
    bp_fn0();
    check_none(18, "breakpoint at EL1 with PSTATE.D=1");
    debug_reset();

    write_bp(0, (u64)bp_fn0, bcr_el1);
    set_os_lock(1);
    if (ON_QEMU) {
        QEMU_SKIP("breakpoint with the OS lock set (QEMU ignores the lock)");
    } else {
        exc_allow(2);
        bp_fn0();
        check_none(19, "breakpoint with the OS lock set");
    }
    set_os_lock(0);
    exc_allow(1);
    bp_fn0();
    check_exc(19, "breakpoint after clearing the OS lock again", want_bp((u64)bp_fn0));
    debug_reset();

    /* PMC selects the ELs: EL0-only does not match at EL1. */
    write_bp(0, (u64)bp_fn0, BCR_E | PMC_EL0 | BCR_BAS_A64);
    exc_allow(2);
    bp_fn0();
    check_none(20, "EL0-only breakpoint (PMC=0b10) at EL1");
    debug_reset();

    /* From EL0 the exception goes to EL1 (EC 0x30) whatever KDE and PSTATE.D say.
     * The hook disables the breakpoint and retries, so the function completes. */
    write_bp(2, (u64)user_bp_fn, BCR_E | PMC_EL0 | BCR_BAS_A64);
    set_mdscr(MDSCR_MDE);
    exc_allow(1);
    r = run_el0(user_bp_fn, 0, el0_stack_top(), 0x3c0);
    check_exc(21, "EL0-only breakpoint at EL0 (KDE=0, SPSR.D=1)",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_BKPT_LOW, .iss = FSC_DEBUG,
                            .elr = (u64)user_bp_fn, .spsr = SPSR_EL0_MASKED});
    CHECK_EQ(21, "user_bp_fn ran after the handler", r, 7);
    debug_reset();

    write_bp(2, (u64)user_bp_fn, bcr_el1);
    exc_allow(2);
    r = run_el0(user_bp_fn, 0, el0_stack_top(), 0x3c0);
    check_none(22, "EL1-only breakpoint (PMC=0b01) at EL0");
    CHECK_EQ(22, "user_bp_fn result", r, 7);

    write_bp(2, (u64)user_bp_fn, BCR_E | PMC_EL0 | BCR_BAS_A64);
    set_mdscr(MDSCR_KDE);
    exc_allow(2);
    run_el0(user_bp_fn, 0, el0_stack_top(), 0x3c0);
    check_none(23, "breakpoint at EL0 with MDSCR_EL1.MDE=0");
    debug_reset();
}

/* ---- 30-49: watchpoints */

static u64 wbuf[16] __attribute__((aligned(64)));
static u64 wbuf_va(unsigned off) { return (u64)wbuf + off; }

/* The checks' own reads of watched memory run with PSTATE.D set, so that they
 * never match a watchpoint. */
static u64 peek(unsigned off, unsigned size)
{
    u64 daif = read_sysreg(daif), v;
    debug_mask();
    if (size == 1)
        v = ((volatile u8 *)wbuf)[off];
    else
        v = ((volatile u64 *)wbuf)[off / 8];
    write_sysreg(daif, daif);
    isb();
    return v;
}
static u64 wbuf_byte(unsigned off) { return peek(off, 1); }
static u64 wbuf_dword(unsigned off) { return peek(off, 8); }

static void wbuf_fill(void)
{
    for (unsigned i = 0; i < 16; i++)
        ((volatile u64 *)wbuf)[i] = 0x1111111111111111ul * (i + 1);
}

static void check_far_in(int code, u64 lo, u64 hi)
{
    CHECK(code, "FAR_EL1 within the bytes accessed", exc.far >= lo && exc.far <= hi);
    if (!(exc.far >= lo && exc.far <= hi))
        printf("  ^ FAR 0x%lx, accessed 0x%lx-0x%lx\n", exc.far, lo, hi);
}

static void test_watchpoints(void)
{
    const u64 wcr_el1 = BCR_E | PMC_EL1;
    u64 a = wbuf_va(16); /* a doubleword; byte 3 is watched */
    debug_reset();
    wbuf_fill();

    /* Store-only watchpoint on byte 3. */
    write_wp(0, a, wcr_el1 | WCR_LSC_STORE | WCR_BAS(1 << 3));
    exc_allow(1);
    dbg_strb(a + 3, 0xa5);
    check_exc(30, "STRB to a watched byte", want_wp((u64)dbg_strb_insn, 1, 1, a + 3));
    CHECK_EQ(30, "the store completed after the handler", wbuf_byte(19), 0xa5);
    debug_unmask();

    exc_allow(2);
    dbg_strb(a + 2, 0x5a);
    dbg_strb(a + 4, 0x5b);
    check_none(31, "STRB to the unwatched neighbours in the same doubleword");
    CHECK_EQ(31, "stores completed", wbuf_byte(18) | wbuf_byte(20) << 8, 0x5b5a);

    exc_allow(2);
    u64 v = probe_ldrb(a + 3);
    check_none(32, "LDRB of a store-only watched byte");
    CHECK_EQ(32, "loaded value", v, 0xa5);

    /* An access covering the watched byte: FAR is within what was accessed. */
    exc_allow(1);
    probe_str64(a, 0x0123456789abcdeful);
    check_exc(33, "64-bit STR covering the watched byte",
              want_wp((u64)probe_str64_insn, 1, 0, 0));
    check_far_in(33, a, a + 7);
    CHECK_EQ(33, "the store completed", wbuf_dword(16), 0x0123456789abcdeful);
    debug_unmask();

    /* Load-only. */
    write_wp(0, a, wcr_el1 | WCR_LSC_LOAD | WCR_BAS(1 << 3));
    exc_allow(1);
    v = probe_ldrb(a + 3);
    check_exc(34, "LDRB of a load-watched byte", want_wp((u64)probe_ldrb_insn, 0, 1, a + 3));
    CHECK_EQ(34, "the load completed after the handler", v, 0x89);
    debug_unmask();

    exc_allow(2);
    dbg_strb(a + 3, 0x3c);
    check_none(35, "STRB to a load-only watched byte");
    CHECK_EQ(35, "store completed", wbuf_byte(19), 0x3c);

    /* Loads and stores, several bytes (BAS 0b00111100: bytes 2-5). */
    write_wp(1, a, wcr_el1 | WCR_LSC_BOTH | WCR_BAS(0x3c));
    write_wp(0, 0, 0);
    exc_allow(1);
    dbg_strb(a + 5, 0x77);
    check_exc(36, "STRB to byte 5 of a load/store watchpoint on bytes 2-5",
              want_wp((u64)dbg_strb_insn, 1, 1, a + 5));
    debug_unmask();
    exc_allow(1);
    v = probe_ldrb(a + 2);
    check_exc(36, "LDRB of byte 2 of the same watchpoint",
              want_wp((u64)probe_ldrb_insn, 0, 1, a + 2));
    CHECK_EQ(36, "loaded value", v, 0xab);
    debug_unmask();
    exc_allow(1);
    v = probe_ldr64(a);
    check_exc(36, "64-bit LDR covering bytes 2-5", want_wp((u64)probe_ldr64_insn, 0, 0, 0));
    check_far_in(36, a, a + 7);
    CHECK_EQ(36, "loaded value", v, 0x012377673cabcdeful);
    debug_unmask();
    exc_allow(4);
    dbg_strb(a + 1, 1);
    dbg_strb(a + 6, 6);
    v = probe_ldrb(a + 7);
    v |= probe_ldr64(a + 8) << 8;
    check_none(37, "accesses to bytes 1, 6 and 7 and to the next doubleword (BAS 0b00111100)");
    CHECK_EQ(37, "loaded values", v, 0x4444444444444401ul);
    debug_reset();

    /* MASK: 2^5 = 32 bytes from a 32-byte aligned address (BAS all ones). */
    u64 m = wbuf_va(32);
    write_wp(3, m, wcr_el1 | WCR_LSC_STORE | WCR_BAS(0xff) | WCR_MASK(5));
    exc_allow(1);
    dbg_strb(m + 24, 0x24);
    check_exc(38, "STRB 24 bytes into a 32-byte MASK watchpoint",
              want_wp((u64)dbg_strb_insn, 1, 1, m + 24));
    CHECK_EQ(38, "store completed", wbuf_byte(56), 0x24);
    debug_unmask();
    exc_allow(1);
    dbg_strb(m, 0x20);
    check_exc(38, "STRB to the first byte of the MASK range",
              want_wp((u64)dbg_strb_insn, 1, 1, m));
    debug_unmask();
    exc_allow(3);
    dbg_strb(m + 32, 0x40);
    dbg_strb(m - 1, 0x1f);
    check_none(39, "STRB just past either end of the MASK range");
    debug_reset();

    /* The enables: E, MDE, KDE, PSTATE.D, the OS lock. */
    write_wp(0, a, (wcr_el1 | WCR_LSC_BOTH | WCR_BAS(0xff)) & ~BCR_E);
    exc_allow(2);
    probe_str64(a, 1);
    check_none(40, "watchpoint with DBGWCR.E=0");
    write_wp(0, a, wcr_el1 | WCR_LSC_BOTH | WCR_BAS(0xff));
    set_mdscr(MDSCR_KDE);
    exc_allow(2);
    probe_str64(a, 2);
    check_none(41, "watchpoint with MDSCR_EL1.MDE=0");
    set_mdscr(MDSCR_MDE);
    exc_allow(2);
    probe_str64(a, 3);
    check_none(42, "watchpoint at EL1 with MDSCR_EL1.KDE=0");
    set_mdscr(MDSCR_KDE | MDSCR_MDE);
    debug_mask();
    exc_allow(2);
    probe_str64(a, 4);
    check_none(43, "watchpoint at EL1 with PSTATE.D=1");
    debug_unmask();
    set_os_lock(1);
    if (ON_QEMU) {
        QEMU_SKIP("watchpoint with the OS lock set (QEMU ignores the lock)");
    } else {
        exc_allow(2);
        probe_str64(a, 5);
        check_none(44, "watchpoint with the OS lock set");
    }
    set_os_lock(0);
    exc_allow(1);
    probe_str64(a, 6);
    check_exc(44, "watchpoint after clearing the OS lock again",
              want_wp((u64)probe_str64_insn, 1, 0, 0));
    check_far_in(44, a, a + 7);
    CHECK_EQ(44, "store completed", wbuf_dword(16), 6);
    debug_reset();

    /* PAC: LDTR/STTR at EL1 are checked as EL0 accesses. */
    write_wp(2, a, BCR_E | PMC_EL0 | WCR_LSC_BOTH | WCR_BAS(0xff));
    exc_allow(3);
    probe_str64(a, 7);
    v = probe_ldr64(a);
    check_none(45, "STR/LDR at EL1 on an EL0-only watchpoint (PAC=0b10)");
    exc_allow(1);
    probe_sttr64(a, 8);
    check_exc(46, "STTR at EL1 on an EL0-only watchpoint",
              want_wp((u64)probe_sttr64_insn, 1, 0, 0));
    check_far_in(46, a, a + 7);
    CHECK_EQ(46, "store completed", wbuf_dword(16), 8);
    debug_unmask();
    write_wp(2, a, wcr_el1 | WCR_LSC_BOTH | WCR_BAS(0xff));
    exc_allow(2);
    v = probe_ldtr64(a);
    check_none(47, "LDTR at EL1 on an EL1-only watchpoint (PAC=0b01)");
    CHECK_EQ(47, "loaded value", v, 8);

    /* From EL0: taken to EL1 with EC 0x34; the hook disables and retries. */
    write_wp(2, a, BCR_E | PMC_EL0 | WCR_LSC_STORE | WCR_BAS(0xff));
    exc_allow(1);
    run_el0(user_str64, a, el0_stack_top(), 0x3c0);
    check_exc(48, "EL0 STR on an EL0 store watchpoint",
              (struct want){.vector = VEC_LOW64_SYNC, .ec = EC_WPT_LOW,
                            .iss = FSC_DEBUG | ISS_WNR, .elr = (u64)user_str64_insn,
                            .spsr = SPSR_EL0_MASKED});
    check_far_in(48, a, a + 7);
    CHECK_EQ(48, "store completed", wbuf_dword(16), a);
    write_wp(2, a, wcr_el1 | WCR_LSC_STORE | WCR_BAS(0xff));
    exc_allow(2);
    run_el0(user_str64, a, el0_stack_top(), 0x3c0);
    check_none(49, "EL0 STR on an EL1-only watchpoint");
    debug_reset();
}

/* ---- 50-59: software step */

static void step_begin(u64 stop)
{
    steps.n = 0;
    steps.stop = stop;
    exc_allow(MAX_STEPS);
}

/* Checks the recorded step exceptions against the expected ELRs / ISSs. */
static void check_steps(int code, const char *name, const u64 *elr, const u64 *iss,
                        unsigned n)
{
    unsigned before = rt_failures;
    CHECK_EQ(code, "software step exceptions taken", steps.n, n);
    for (unsigned i = 0; i < n && i < steps.n; i++) {
        CHECK_EQ(code, "ESR.EC (software step, same EL)", ESR_EC(steps.esr[i]), EC_STEP_CUR);
        CHECK_EQ(code, "ESR.IL", (steps.esr[i] >> 25) & 1, 1);
        CHECK_EQ(code, "ESR.ISS", ESR_ISS(steps.esr[i]), iss[i]);
        CHECK_EQ(code, "ELR_EL1", steps.elr[i], elr[i]);
        /* PSTATE.SS was 0 (active-pending) when the exception was taken. */
        CHECK_EQ(code, "SPSR_EL1 (SS, IL, DAIF, M)", steps.spsr[i] & (SPSR_MASK | SPSR_SS),
                 SPSR_EL1H_DEBUG);
    }
    CHECK_EQ(code, "exception vector", exc.vector, VEC_SPX_SYNC);
    if (rt_failures != before)
        for (unsigned i = 0; i < steps.n && i < MAX_STEPS; i++)
            printf("  ^ in [%d] %s: step %u ESR 0x%lx ELR 0x%lx SPSR 0x%lx\n", code, name, i,
                   steps.esr[i], steps.elr[i], steps.spsr[i]);
}

/* Sets MDSCR_EL1 with PSTATE.D set: with stepping enabled and PSTATE.SS=0, D
 * clear would make software step active-pending here and now. step_run() sets D
 * too, and the hook returns with D set once it stops stepping. */
static void step_config(u64 mdscr)
{
    debug_mask();
    set_mdscr(mdscr);
}

static void test_software_step(void)
{
    const u64 iss_step = ISS_ISV | FSC_DEBUG;
    const u64 all = MDSCR_SS | MDSCR_KDE | MDSCR_MDE;
    debug_reset();

    /* ERET with SPSR.SS=1 (and D=0): one instruction, then the exception, each
     * time the handler returns with SPSR.SS=1 again. */
    step_config(all);
    step_begin((u64)step_seq_end);
    u64 r = step_run(SPSR_EL1H_DEBUG | SPSR_SS);
    const u64 elr1[] = {(u64)step_e1, (u64)step_e2, (u64)step_e3, (u64)step_e4,
                        (u64)step_e5};
    const u64 iss1[] = {iss_step, iss_step, iss_step, iss_step, iss_step};
    check_steps(50, "stepping ADD, ADD, B, CBNZ, NOP", elr1, iss1, 5);
    CHECK_EQ(50, "the stepped code's result", r, 3);

    /* A load-exclusive sets ISS.EX. */
    static u64 word = 0x5eed;
    step_config(all);
    step_begin((u64)step_ldx_end);
    r = step_ldx_run(SPSR_EL1H_DEBUG | SPSR_SS, (u64)&word);
    const u64 elr2[] = {(u64)step_x1, (u64)step_x2, (u64)step_x3};
    const u64 iss2[] = {iss_step | ISS_EX, iss_step, iss_step};
    check_steps(51, "stepping LDAXR, CLREX, LDR", elr2, iss2, 3);
    CHECK_EQ(51, "the stepped code's result", r, 0x5eed);

    /* ERET with SPSR.SS=0 while stepping is active: active-pending at once, so
     * the exception comes before the first instruction, with ISV=0. */
    step_config(all);
    step_begin((u64)step_seq);
    r = step_run(SPSR_EL1H_DEBUG);
    const u64 elr3[] = {(u64)step_seq};
    const u64 iss3[] = {FSC_DEBUG};
    check_steps(52, "ERET with SPSR.SS=0 and MDSCR_EL1.SS=1", elr3, iss3, 1);
    CHECK_EQ(52, "the code ran unstepped afterwards", r, 3);

    /* Stepping inactive after the ERET: SPSR.D=1, KDE=0, MDSCR.SS=0, OS lock. */
    step_config(all);
    step_begin((u64)step_seq_end);
    r = step_run(SPSR_EL1H_DEBUG | SPSR_D | SPSR_SS);
    CHECK_EQ(53, "step exceptions with SPSR.D=1", steps.n, 0);
    check_no_exc(53, "step with SPSR.D=1");
    CHECK_EQ(53, "result", r, 3);

    step_config(MDSCR_SS | MDSCR_MDE);
    step_begin((u64)step_seq_end);
    r = step_run(SPSR_EL1H_DEBUG | SPSR_SS);
    CHECK_EQ(54, "step exceptions with MDSCR_EL1.KDE=0", steps.n, 0);
    check_no_exc(54, "step with KDE=0");
    CHECK_EQ(54, "result", r, 3);

    step_config(MDSCR_KDE | MDSCR_MDE);
    step_begin((u64)step_seq_end);
    r = step_run(SPSR_EL1H_DEBUG | SPSR_SS);
    CHECK_EQ(55, "step exceptions with MDSCR_EL1.SS=0", steps.n, 0);
    check_no_exc(55, "step with MDSCR_EL1.SS=0");
    CHECK_EQ(55, "result", r, 3);

    if (ON_QEMU) {
        QEMU_SKIP("software step with the OS lock set (QEMU ignores the lock)");
    } else {
        step_config(all);
        set_os_lock(1);
        step_begin((u64)step_seq_end);
        r = step_run(SPSR_EL1H_DEBUG | SPSR_SS);
        CHECK_EQ(56, "step exceptions with the OS lock set", steps.n, 0);
        check_no_exc(56, "step with the OS lock set");
        CHECK_EQ(56, "result", r, 3);
    }
    step_config(0);
    debug_reset();
}

/* ---- 60-62: BRK is not subject to any of the enables */

static void test_brk(void)
{
    struct want want = {.vector = VEC_SPX_SYNC, .ec = EC_BRK64, .iss = 0x4d2,
                        .elr = (u64)dbg_brk_insn, .spsr = SPSR_EL1H_DEBUG};
    debug_reset();
    set_os_lock(1);
    exc_allow(1);
    u64 r = dbg_brk();
    check_exc(60, "BRK with the OS lock set", want);
    CHECK_EQ(60, "resumed after the BRK", r, 5);

    set_os_lock(0);
    debug_mask();
    exc_allow(1);
    dbg_brk();
    want.spsr = SPSR_EL1H_MASKED;
    check_exc(61, "BRK with PSTATE.D=1", want);

    set_mdscr(0);
    exc_allow(1);
    dbg_brk();
    check_exc(62, "BRK with MDSCR_EL1.KDE and MDE clear, D masked", want);
    debug_reset();
}

int main(void)
{
    exc_hook = debug_hook;
    test_id_and_state();
    test_breakpoints();
    test_watchpoints();
    test_software_step();
    test_brk();
    debug_mask();
    set_mdscr(0);
    exc_hook = 0;
    return finish("debug");
}
