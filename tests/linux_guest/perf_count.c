/*
 * A guest's own profiler: perf_event_open on the PMUv3 through Linux's
 * armv8-pmuv3 driver, counting user-space (EL0) events of this task only.
 *
 * count_loop(n) runs exactly 2n + 1 instructions (n x (subs, b.ne), ret);
 * the ioctl that enables the counter and the one that disables it add a few
 * more at EL0 (the libc wrappers' return and call paths), under OVERHEAD.
 *
 *   instructions        PERF_COUNT_HW_INSTRUCTIONS (exclude_kernel,
 *                       exclude_hv) around count_loop(LOOPS): in
 *                       [2 LOOPS + 1, 2 LOOPS + 1 + OVERHEAD].
 *   instructions-delta  the same for 2 LOOPS and LOOPS: the counts differ by
 *                       exactly 2 LOOPS (the overhead is the same path both
 *                       times, so an exact counter shows no difference).
 *   cycles              PERF_COUNT_HW_CPU_CYCLES around count_loop(LOOPS): > 0.
 *   overflow-interrupt  a sampling instruction counter (sample_period
 *                       PERIOD): the counter overflows every PERIOD
 *                       instructions, which raises the PMU's interrupt; the
 *                       "arm-pmu" line of /proc/interrupts rises by about
 *                       2 LOOPS / PERIOD and the total count is still exact.
 *
 * Output: `PERF OK <name>: ...` or `PERF FAIL <name>: ...` per check (`PERF FAIL
 * no hardware counters: <errno>` when perf_event_open finds no hardware PMU),
 * then `PERF SUMMARY: <ok> OK, <fail> FAIL`. Exit status 0 only if all passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>

#define LOOPS 1000000ULL
#define OVERHEAD 200ULL
#define PERIOD 100000ULL
#define CHECKS 4

void count_loop(unsigned long long n);

__asm__(
    "    .text\n"
    "    .balign 16\n"
    "    .globl count_loop\n"
    "    .type count_loop, %function\n"
    "count_loop:\n"
    "1:  subs    x0, x0, #1\n"
    "    b.ne    1b\n"
    "    ret\n"
    "    .size count_loop, . - count_loop\n");

static int oks, fails;

static void report(const char *verdict, const char *name, const char *fmt,
                   va_list ap) {
    printf("PERF %s %s: ", verdict, name);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

static void __attribute__((format(printf, 2, 3)))
ok(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("OK", name, fmt, ap);
    va_end(ap);
    oks++;
}

static void __attribute__((format(printf, 2, 3)))
fail(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("FAIL", name, fmt, ap);
    va_end(ap);
    fails++;
}

/* A user-space-only hardware counter for this task on any CPU, disabled. */
static int open_counter(uint64_t config, uint64_t sample_period) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = config;
    attr.sample_period = sample_period;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

/* Counts count_loop(n) on `fd`; 0 or -1 (errno set). */
static int measure(int fd, unsigned long long n, unsigned long long *count) {
    if (ioctl(fd, PERF_EVENT_IOC_RESET, 0) != 0)
        return -1;
    if (ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0)
        return -1;
    count_loop(n);
    if (ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) != 0)
        return -1;
    if (read(fd, count, sizeof *count) != (ssize_t)sizeof *count)
        return -1;
    return 0;
}

/* The sum over all CPUs of the /proc/interrupts line naming `name`; -1 if
 * there is none. */
static long long interrupts_of(const char *name) {
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f)
        return -1;
    char line[1024];
    long long total = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, name))
            continue;
        char *p = strchr(line, ':');
        if (!p)
            continue;
        total = 0;
        p++;
        for (;;) {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p)
                break;
            total += v;
            p = end;
        }
        break;
    }
    fclose(f);
    return total;
}

static void check_instructions(int fd) {
    unsigned long long expected = 2 * LOOPS + 1;
    unsigned long long count, count2;
    if (measure(fd, LOOPS, &count) != 0) {
        fail("instructions", "measuring: %s", strerror(errno));
        fail("instructions-delta", "measuring: %s", strerror(errno));
        return;
    }
    printf("PERF INFO: instructions %llu for count_loop(%llu) "
           "(%llu instructions)\n", count, LOOPS, (unsigned long long)expected);
    if (count >= expected && count <= expected + OVERHEAD)
        ok("instructions", "%llu = %llu + %llu overhead",
           count, expected, count - expected);
    else
        fail("instructions", "%llu, expected %llu to %llu",
             count, expected, expected + OVERHEAD);

    if (measure(fd, 2 * LOOPS, &count2) != 0) {
        fail("instructions-delta", "measuring: %s", strerror(errno));
        return;
    }
    if (count2 - count == 2 * LOOPS)
        ok("instructions-delta", "%llu - %llu = %llu", count2,
           count, 2 * LOOPS);
    else
        fail("instructions-delta",
             "%llu for count_loop(%llu) minus %llu"
             " for count_loop(%llu) is %lld, expected exactly %llu",
             count2, 2 * LOOPS, count, LOOPS, (long long)(count2 - count),
             2 * LOOPS);
}

static void check_cycles(void) {
    int fd = open_counter(PERF_COUNT_HW_CPU_CYCLES, 0);
    unsigned long long count;
    if (fd < 0)
        fail("cycles", "perf_event_open: %s", strerror(errno));
    else if (measure(fd, LOOPS, &count) != 0)
        fail("cycles", "measuring: %s", strerror(errno));
    else if (count == 0)
        fail("cycles", "0 cycles for count_loop(%llu)", LOOPS);
    else
        ok("cycles", "%llu cycles for count_loop(%llu)", count, LOOPS);
    if (fd >= 0)
        close(fd);
}

static void check_overflow(void) {
    const char *name = "overflow-interrupt";
    unsigned long long expected = 2 * LOOPS + 1;
    long long overflows = (long long)(expected / PERIOD);
    int fd = open_counter(PERF_COUNT_HW_INSTRUCTIONS, PERIOD);
    if (fd < 0) {
        fail(name, "perf_event_open with sample_period %llu: %s", PERIOD,
             strerror(errno));
        return;
    }
    long long before = interrupts_of("arm-pmu");
    unsigned long long count;
    int r = measure(fd, LOOPS, &count);
    int saved = errno;
    long long after = interrupts_of("arm-pmu");
    close(fd);
    if (r != 0) {
        fail(name, "measuring: %s", strerror(saved));
        return;
    }
    if (before < 0) {
        fail(name, "no arm-pmu line in /proc/interrupts");
        return;
    }
    long long irqs = after - before;
    if (count < expected || count > expected + OVERHEAD)
        fail(name, "count %llu with sample_period %llu, expected %llu"
                   " to %llu", count, PERIOD, expected, expected + OVERHEAD);
    else if (irqs < overflows - 1 || irqs > overflows + 1)
        fail(name, "%lld PMU interrupts for %llu instructions with "
                   "sample_period %llu, expected %lld +- 1",
             irqs, count, PERIOD, overflows);
    else
        ok(name, "%lld PMU interrupts for %llu instructions with "
                 "sample_period %llu", irqs, count, PERIOD);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open_counter(PERF_COUNT_HW_INSTRUCTIONS, 0);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == EOPNOTSUPP || e == ENODEV)
            fail("no hardware counters", "%s (errno %d)", strerror(e), e);
        else
            fail("instructions", "perf_event_open: %s (errno %d)", strerror(e), e);
        printf("PERF SUMMARY: %d OK, %d FAIL\n", oks, fails);
        return 1;
    }
    check_instructions(fd);
    close(fd);
    check_cycles();
    check_overflow();
    printf("PERF SUMMARY: %d OK, %d FAIL\n", oks, fails);
    return fails == 0 && oks == CHECKS ? 0 : 1;
}
