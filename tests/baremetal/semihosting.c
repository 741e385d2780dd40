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

static void test_time(void)
{
    u64 freq = read_sysreg(cntfrq_el0);
    long tickfreq = semihost(SYS_TICKFREQ, 0);
    printf("tickfreq %ld\n", tickfreq);
    CHECK(120, "SYS_TICKFREQ > 0", tickfreq > 0);

    volatile u64 e0 = 0, e1 = 0;
    long c0 = semihost(SYS_CLOCK, 0);
    long r0 = semihost(SYS_ELAPSED, (u64)&e0);
    u64 t0 = counter();
    delay_ticks(freq / 20); /* 50 ms by the generic timer */
    u64 t1 = counter();
    long c1 = semihost(SYS_CLOCK, 0);
    long r1 = semihost(SYS_ELAPSED, (u64)&e1);
    printf("clock %ld -> %ld cs, elapsed %lu -> %lu ticks, counter %lu ticks\n", c0, c1,
           (u64)e0, (u64)e1, t1 - t0);

    CHECK(121, "SYS_CLOCK >= 0", c0 >= 0);
    /* Not "advanced by 5": QEMU counts host CPU time, armvm wall-clock time. */
    CHECK(122, "SYS_CLOCK does not go back", c1 >= c0);
    CHECK(123, "SYS_CLOCK advanced by < 10 s over 50 ms", c1 - c0 < 1000);
    CHECK_EQ(124, "SYS_ELAPSED returns 0", r0, 0);
    CHECK_EQ(125, "SYS_ELAPSED returns 0 (second call)", r1, 0);
    if (tickfreq > 0) {
        /* Elapsed time in microseconds, compared with the counter's. */
        u64 el_us = (e1 - e0) * 1000000 / (u64)tickfreq;
        u64 ct_us = (t1 - t0) * 1000000 / freq;
        printf("elapsed %lu us, counter %lu us\n", el_us, ct_us);
        CHECK(126, "SYS_ELAPSED advanced", e1 > e0);
        CHECK(127, "SYS_ELAPSED interval >= half the counter's", el_us * 2 >= ct_us);
        CHECK(128, "SYS_ELAPSED interval <= 10x the counter's + 1 s",
              el_us <= ct_us * 10 + 1000000);
    }
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
