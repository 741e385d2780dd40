/*
 * Semihosting: every call armvm serves, then an exit through the call and with the
 * code chosen at build time:
 *   -DEXIT_OP=SYS_EXIT_EXTENDED (default) or SYS_EXIT
 *   -DEXIT_REASON=0x20026 (ADP_Stopped_ApplicationExit, default) or another reason
 *   -DEXIT_CODE=N (default 0)
 * The driver feeds "Az\n" on stdin for SYS_READC and checks the exit status
 * (N, or 1 for a reason other than ApplicationExit) and the output.
 * Check codes: 100-139 (never 1, 42 or 255, the exit codes under test).
 */
#include "rt.h"

#ifndef EXIT_OP
#define EXIT_OP SYS_EXIT_EXTENDED
#endif
#ifndef EXIT_REASON
#define EXIT_REASON ADP_STOPPED_APPLICATION_EXIT
#endif
#ifndef EXIT_CODE
#define EXIT_CODE 0
#endif

static u64 sh_open(const char *name, u64 mode)
{
    volatile u64 block[3] = {(u64)name, mode, 0};
    while (name[block[2]])
        block[2]++;
    return (u64)semihost(SYS_OPEN, (u64)block);
}

static long sh_write(u64 handle, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    volatile u64 block[3] = {handle, (u64)s, n};
    return semihost(SYS_WRITE, (u64)block);
}

static void test_output(void)
{
    /* SYS_WRITEC: one character per call. */
    const char *wc = "writec ok\n";
    for (const char *p = wc; *p; p++) {
        volatile char c = *p;
        semihost(SYS_WRITEC, (u64)&c);
    }
    /* SYS_WRITE0 */
    semihost(SYS_WRITE0, (u64) "write0 ok\n");

    /* SYS_OPEN ":tt": mode 0 ("r") is stdin, 4 ("w") stdout, 8 ("a") stderr. */
    u64 in = sh_open(":tt", 0);
    u64 out = sh_open(":tt", 4);
    u64 err = sh_open(":tt", 8);
    printf("open :tt handles: in %ld out %ld err %ld\n", (long)in, (long)out, (long)err);
    CHECK(100, "SYS_OPEN(:tt, r) returned a handle", (long)in >= 0);
    CHECK(101, "SYS_OPEN(:tt, w) returned a handle", (long)out >= 0);
    CHECK(102, "SYS_OPEN(:tt, a) returned a handle", (long)err >= 0);
    CHECK(103, "SYS_OPEN(:tt, w) and (:tt, a) return different handles", out != err);

    /* SYS_WRITE returns the number of bytes NOT written. */
    CHECK_EQ(104, "SYS_WRITE to the stdout handle", sh_write(out, "write stdout ok\n"), 0);
    CHECK_EQ(105, "SYS_WRITE to the stderr handle", sh_write(err, "write stderr ok\n"), 0);
}

static void test_readc(void)
{
    long a = semihost(SYS_READC, 0);
#ifdef QEMU_QUIRKS
    /* QEMU 7.2 answers the first SYS_READC with 0 (see run-qemu.sh). */
    if (a == 0)
        a = semihost(SYS_READC, 0);
#endif
    long b = semihost(SYS_READC, 0);
    printf("readc: %ld %ld\n", a, b);
    CHECK_EQ(110, "SYS_READC first character", a, 'A');
    CHECK_EQ(111, "SYS_READC second character", b, 'z');
}

/*
 * SYS_CLOCK counts centiseconds, SYS_ELAPSED ticks of SYS_TICKFREQ. Each is polled
 * until it has advanced by a set step; the generic timer's counter (CNTVCT_EL0)
 * bounds every wait, so a clock that is stuck (or not counting at all) fails the
 * checks instead of hanging the program. The counter also checks the pace: QEMU
 * counts host CPU time for SYS_CLOCK and host time for SYS_ELAPSED, armvm derives
 * both from its counter, so neither may run much faster than the counter.
 */
#define CLOCK_STEP 5    /* centiseconds to wait for on SYS_CLOCK */
#define WAIT_LIMIT_S 5  /* longest wait for either clock, by the counter */

/* ticks at hz in microseconds, without overflow for any interval seen here. */
static u64 to_us(u64 ticks, u64 hz)
{
    return ticks / hz * 1000000 + ticks % hz * 1000000 / hz;
}

static void test_time(void)
{
    u64 freq = read_sysreg(cntfrq_el0);
    long tickfreq = semihost(SYS_TICKFREQ, 0);
    printf("tickfreq %ld, counter %lu Hz\n", tickfreq, freq);
    CHECK(120, "SYS_TICKFREQ > 0", tickfreq > 0);
    CHECK(129, "CNTFRQ_EL0 > 0", freq > 0);
    if (freq == 0)
        return;
    u64 limit = freq * WAIT_LIMIT_S;

    /* SYS_CLOCK: poll until it is CLOCK_STEP centiseconds on. */
    long c0 = semihost(SYS_CLOCK, 0), c = c0, prev = c0;
    int went_back = 0;
    u64 t0 = counter(), waited;
    do {
        c = semihost(SYS_CLOCK, 0);
        if (c < prev)
            went_back = 1;
        prev = c;
        waited = counter() - t0;
    } while (c - c0 < CLOCK_STEP && waited < limit);
    u64 waited_cs = waited * 100 / freq;
    printf("clock %ld -> %ld cs over %lu cs by the counter\n", c0, c, waited_cs);
    CHECK(121, "SYS_CLOCK >= 0", c0 >= 0);
    CHECK(122, "SYS_CLOCK does not go back", !went_back);
    CHECK(123, "SYS_CLOCK advanced by 5 cs within 5 s by the counter", c - c0 >= CLOCK_STEP);
    /* Reaching c0 + 5 takes more than 4 cs. QEMU's CPU time may run ahead of the
     * counter when more than one of its threads is busy: allow a factor of 4 (a
     * clock in milliseconds instead of centiseconds is 10 times too fast). */
    CHECK(130, "SYS_CLOCK not faster than 4 times the counter",
          waited * 100 * 4 >= (u64)(CLOCK_STEP - 1) * freq);
    CHECK(131, "SYS_CLOCK not 10 times slower than the counter (+ 1 s)",
          waited_cs <= (u64)(c - c0) * 10 + 100);
    /* Polled, so it cannot overshoot by much (10 s: a stalled host is no failure). */
    CHECK(133, "SYS_CLOCK advanced by < 10 s", c - c0 < 1000);

    /* SYS_ELAPSED: poll until it is 50 ms on by SYS_TICKFREQ. */
    volatile u64 e0 = 0, e = 0;
    long r0 = semihost(SYS_ELAPSED, (u64)&e0);
    CHECK_EQ(124, "SYS_ELAPSED returns 0", r0, 0);
    if (tickfreq <= 0)
        return;
    u64 step = (u64)tickfreq / 20;
    long r = 0;
    int e_back = 0;
    u64 e_prev = e0;
    t0 = counter();
    do {
        r |= semihost(SYS_ELAPSED, (u64)&e);
        if (e < e_prev)
            e_back = 1;
        e_prev = e;
        waited = counter() - t0;
    } while (e - e0 < step && waited < limit && !e_back);
    u64 el_us = to_us(e - e0, (u64)tickfreq);
    u64 ct_us = to_us(waited, freq);
    printf("elapsed %lu -> %lu ticks (%lu us) over %lu us by the counter\n", (u64)e0,
           (u64)e, el_us, ct_us);
    CHECK_EQ(125, "SYS_ELAPSED returns 0 (while polling)", r, 0);
    CHECK(126, "SYS_ELAPSED does not go back", !e_back);
    CHECK(127, "SYS_ELAPSED advanced by 50 ms within 5 s by the counter", e - e0 >= step);
    CHECK(128, "SYS_ELAPSED not faster than twice the counter", ct_us * 2 >= el_us);
    CHECK(132, "SYS_ELAPSED not 10 times slower than the counter (+ 1 s)",
          ct_us <= el_us * 10 + 1000000);
    CHECK(134, "SYS_ELAPSED advanced by < 10 s", el_us < 10000000);
}

int main(void)
{
    test_output();
    test_readc();
    test_time();
    int rc = finish("semihosting");
    if (rc)
        return rc;
    printf("exiting via %s, reason 0x%x, code %d\n",
           EXIT_OP == SYS_EXIT ? "SYS_EXIT" : "SYS_EXIT_EXTENDED", EXIT_REASON, EXIT_CODE);
    static volatile u64 block[2];
    block[0] = EXIT_REASON;
    block[1] = EXIT_CODE;
    semihost(EXIT_OP, (u64)block);
    printf("FAIL: the exit call returned\n");
    return 139;
}
