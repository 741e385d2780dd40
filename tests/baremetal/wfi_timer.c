/*
 * The virtual timer and WFI (ARM ARM D11 "The Generic Timer"): TVAL/CVAL/CTL,
 * ISTATUS, IMASK, ISR_EL1, and WFI waking on a pending interrupt that PSTATE
 * masks.
 *
 * On armvm the timer's output is the CPU's IRQ line. QEMU's virt routes it
 * through its GICv2, so the QEMU build (run-qemu.sh) defines ARMVM_GIC and
 * irq_controller_init() enables PPI 27 there; without it WFI would never wake on
 * QEMU. Interrupt delivery is not instantaneous architecturally, so checks on
 * ISR_EL1 and on interrupts being taken poll with a timeout.
 *
 * Check codes 1-29.
 */
#include "rt.h"

#define CTL_ENABLE 1ul
#define CTL_IMASK 2ul
#define CTL_ISTATUS 4ul
#define ISR_I (1ul << 7)

static u64 freq;

/* Waits up to `ticks` for (ISR_EL1 & ISR_I) == want; returns whether it happened. */
static int wait_isr(u64 want, u64 ticks)
{
    u64 t0 = counter();
    do {
        if ((read_sysreg(isr_el1) & ISR_I) == want)
            return 1;
    } while (counter() - t0 < ticks);
    return 0;
}

/* Unmasks IRQs for up to `ticks` or until one is taken; returns how many were. */
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

int main(void)
{
    freq = read_sysreg(cntfrq_el0);
    printf("CNTFRQ_EL0 = %lu\n", freq);
    CHECK_EQ(1, "CNTFRQ_EL0 is 62.5 MHz", freq, 62500000);
    if (!freq)
        return finish("wfi_timer");
    irq_controller_init();
    write_sysreg(cntv_ctl_el0, 0);
    isb();

    u64 v0 = counter();
    u64 p0 = read_sysreg(cntpct_el0);
    u64 v1 = counter();
    CHECK(2, "CNTVCT_EL0 does not go back", v1 >= v0);
    /* No EL2, so CNTVOFF_EL2 is 0 and both counters agree. */
    CHECK(2, "CNTPCT_EL0 equals CNTVCT_EL0 (no EL2 offset)", p0 >= v0 && p0 <= v1);

    /* ---- Program ~5 ms ahead through TVAL. */
    u64 ticks = freq * 5 / 1000;
    u64 c0 = counter();
    write_sysreg(cntv_tval_el0, ticks);
    u64 c1 = counter();
    write_sysreg(cntv_ctl_el0, CTL_ENABLE);
    isb();
    u64 cval = read_sysreg(cntv_cval_el0);
    CHECK(3, "CVAL = counter + TVAL at the write", cval >= c0 + ticks && cval <= c1 + ticks);
    /* Under host load the 5 ms may pass at any point, so each value read is
     * compared with what the counter read just before and after it allows. */
    u64 a = counter();
    u64 ctl = read_sysreg(cntv_ctl_el0);
    u64 isr = read_sysreg(isr_el1);
    u64 b = counter();
    if (b < cval) {
        CHECK_EQ(4, "ISTATUS before expiry", ctl & CTL_ISTATUS, 0);
        CHECK_EQ(4, "no IRQ pending before expiry (ISR_EL1.I)", isr & ISR_I, 0);
    } else if (a >= cval) {
        CHECK_EQ(4, "ISTATUS after expiry", ctl & CTL_ISTATUS, CTL_ISTATUS);
    }
    a = counter();
    u64 tval1 = read_sysreg(cntv_tval_el0);
    b = counter();
    delay_ticks(freq / 10000);
    u64 c = counter();
    u64 tval2 = read_sysreg(cntv_tval_el0);
    u64 d = counter();
    printf("TVAL %ld -> %ld (programmed %lu)\n", (long)(int)tval1, (long)(int)tval2, ticks);
    /* TVAL is CVAL - counter as a signed 32-bit value. */
    i64 t1 = (int)tval1, t2 = (int)tval2;
    CHECK(5, "TVAL = CVAL - counter (first read)",
          t1 <= (i64)(cval - a) && t1 >= (i64)(cval - b));
    CHECK(5, "TVAL = CVAL - counter (second read)",
          t2 <= (i64)(cval - c) && t2 >= (i64)(cval - d));
    CHECK(5, "TVAL counts down", t2 < t1);

    /* ---- WFI with IRQs masked in PSTATE: the pending interrupt still wakes it.
     * WFI may wake spuriously, hence the loop; a WFI that does not wait at all
     * shows as many iterations. */
    unsigned irqs_before = irqs.count, wfis = 0;
    while (!(read_sysreg(cntv_ctl_el0) & CTL_ISTATUS) && wfis < 1000) {
        __asm__ volatile("dsb sy\n\twfi" ::: "memory");
        wfis++;
    }
    u64 woke = counter();
    printf("woke after %u WFI, %lu ticks after programming\n", wfis, woke - c0);
    CHECK_EQ(6, "ISTATUS after WFI", read_sysreg(cntv_ctl_el0) & CTL_ISTATUS, CTL_ISTATUS);
    CHECK(7, "counter advanced by at least the programmed ticks", woke - c0 >= ticks);
    CHECK(7, "woke at most 1 s late (host load allowing)", woke - c0 < ticks + freq);
    CHECK(8, "WFI waited (at most 10 wake-ups)", wfis <= 10);
    CHECK_EQ(8, "no IRQ taken while masked", irqs.count - irqs_before, 0);
    u64 tval = read_sysreg(cntv_tval_el0);
    CHECK_EQ(9, "TVAL bits 63:32 are RES0", tval >> 32, 0);
    CHECK(9, "TVAL negative after expiry", (tval & 0x80000000ul) != 0);
    CHECK(10, "IRQ pending while masked (ISR_EL1.I)", wait_isr(ISR_I, freq / 100));

    /* ---- Unmask: the IRQ is taken once and the handler disables the timer. */
    CHECK_EQ(11, "IRQs taken after unmasking", irqs_while_unmasked(freq / 10), 1);
    CHECK_EQ(11, "spurious IRQs", irqs.spurious, 0);
    CHECK_EQ(11, "IRQ vector (current EL, SPx)", irqs.vector, VEC_SPX_IRQ);
    CHECK(12, "no IRQ pending after the handler (ISR_EL1.I)", wait_isr(0, freq / 100));

    /* ---- IMASK: ISTATUS still rises, but no interrupt is signalled. */
    write_sysreg(cntv_tval_el0, freq / 1000);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
    isb();
    u64 t0 = counter();
    while (!(read_sysreg(cntv_ctl_el0) & CTL_ISTATUS) && counter() - t0 < freq / 10)
        ;
    CHECK_EQ(13, "ISTATUS with IMASK set", read_sysreg(cntv_ctl_el0) & CTL_ISTATUS, CTL_ISTATUS);
    CHECK_EQ(14, "no IRQ pending with IMASK set (ISR_EL1.I)", read_sysreg(isr_el1) & ISR_I, 0);
    CHECK_EQ(15, "no IRQ taken with IMASK set", irqs_while_unmasked(freq / 500), 0);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE);
    isb();
    CHECK(16, "IRQ pending after clearing IMASK (ISR_EL1.I)", wait_isr(ISR_I, freq / 100));
    write_sysreg(cntv_ctl_el0, 0);
    isb();
    CHECK(17, "no IRQ pending after disabling the timer (ISR_EL1.I)",
          wait_isr(0, freq / 100));

    /* ---- CVAL in the past: ISTATUS at once. */
    write_sysreg(cntv_cval_el0, counter() - 1);
    write_sysreg(cntv_ctl_el0, CTL_ENABLE | CTL_IMASK);
    isb();
    CHECK_EQ(18, "ISTATUS with CVAL in the past", read_sysreg(cntv_ctl_el0) & CTL_ISTATUS,
             CTL_ISTATUS);
    /* CVAL far ahead: TVAL reads its low 32 bits. */
    u64 now = counter();
    write_sysreg(cntv_cval_el0, now + (1ul << 33) + 0x100000);
    isb();
    tval = read_sysreg(cntv_tval_el0);
    CHECK(19, "TVAL is CVAL - counter, truncated to 32 bits",
          tval >> 32 == 0 && tval <= 0x100000 && tval > 0x100000 - freq / 100);
    CHECK_EQ(19, "no ISTATUS with CVAL ahead", read_sysreg(cntv_ctl_el0) & CTL_ISTATUS, 0);
    write_sysreg(cntv_ctl_el0, 0);
    isb();

    return finish("wfi_timer");
}
