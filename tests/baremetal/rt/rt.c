/*
 * The test runtime: semihosting, printing, checks, the exception dispatcher, the
 * timer and (optionally) QEMU virt's GICv2. See rt.h.
 */
#include "rt.h"

/* ---- Semihosting */

long semihost(u64 op, u64 arg)
{
    register u64 x0 __asm__("x0") = op;
    register u64 x1 __asm__("x1") = arg;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    return (long)x0;
}

void sh_exit(int code)
{
    /* On AArch64 SYS_EXIT takes a parameter block {reason, subcode}. */
    static volatile u64 block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (u64)code;
    semihost(SYS_EXIT, (u64)block);
    for (;;)
        __asm__ volatile("wfi");
}

/* ---- Output */

void putstr(const char *s) { semihost(SYS_WRITE0, (u64)s); }

struct outbuf {
    char buf[256];
    unsigned len;
};

static void out_flush(struct outbuf *o)
{
    if (o->len) {
        o->buf[o->len] = 0;
        putstr(o->buf);
        o->len = 0;
    }
}

static void out_char(struct outbuf *o, char c)
{
    if (o->len == sizeof(o->buf) - 1)
        out_flush(o);
    o->buf[o->len++] = c;
}

static void out_num(struct outbuf *o, u64 v, unsigned base, int neg, int width, char pad)
{
    char tmp[24];
    int n = 0;
    do {
        unsigned d = v % base;
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    while (width-- > n)
        out_char(o, pad);
    while (n)
        out_char(o, tmp[--n]);
}

/* A small printf: %d %u %x %c %s %p, with 'l'/'ll' and a zero-padded width. */
void vprintf_(const char *fmt, va_list ap)
{
    struct outbuf o;
    o.len = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            i64 v = lng ? va_arg(ap, long) : va_arg(ap, int);
            out_num(&o, v < 0 ? (u64)-v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            out_num(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, 0, width,
                    pad);
            break;
        case 'x':
            out_num(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0, width,
                    pad);
            break;
        case 'p':
            out_char(&o, '0');
            out_char(&o, 'x');
            out_num(&o, (u64)va_arg(ap, void *), 16, 0, width, pad);
            break;
        case 'c':
            out_char(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            while (*s)
                out_char(&o, *s++);
            break;
        }
        case '%':
            out_char(&o, '%');
            break;
        default:
            out_char(&o, '?');
            break;
        }
    }
    out_flush(&o);
}

void printf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf_(fmt, ap);
    va_end(ap);
}

/* ---- Checks */

int rt_first_failure;
unsigned rt_checks, rt_failures;

int check_(int code, int ok, const char *what, u64 got, u64 want)
{
    rt_checks++;
    if (ok)
        return 1;
    rt_failures++;
    if (!rt_first_failure)
        rt_first_failure = code;
    if (got || want)
        printf("FAIL [%d] %s: got 0x%lx, expected 0x%lx\n", code, what, got, want);
    else
        printf("FAIL [%d] %s\n", code, what);
    return 0;
}

int finish(const char *program)
{
    if (rt_failures == 0) {
        printf("%s: all %u checks passed\n", program, rt_checks);
        return 0;
    }
    printf("%s: %u of %u checks failed, first [%d]\n", program, rt_failures, rt_checks,
           rt_first_failure);
    return rt_first_failure;
}

/* ---- Exceptions */

volatile struct exc_record exc;
volatile struct irq_record irqs;
int (*volatile exc_hook)(struct frame *f, u64 esr);
int (*volatile irq_hook)(unsigned intid);
extern char el0_return[];
extern char el0_stack_end[];

u64 el0_stack_top(void) { return (u64)el0_stack_end; }

void exc_expect(void)
{
    exc.count = 0;
    exc.vector = ~0u;
    exc.esr = exc.far = exc.elr = exc.spsr = 0;
    exc.resume_pc = 0;
    exc.expected = 1;
}

static void irq_acknowledge(void);

void check_exc(int code, const char *name, struct want want)
{
    const struct want *w = &want;
    unsigned before = rt_failures;
    if (!CHECK_EQ(code, "exceptions taken", exc.count, 1))
        goto out;
    CHECK_EQ(code, "vector (offset / 0x80)", exc.vector, w->vector);
    CHECK_EQ(code, "ESR.EC", ESR_EC(exc.esr), w->ec);
    CHECK_EQ(code, "ESR.IL", (exc.esr >> 25) & 1, 1);
    u64 iss = ESR_ISS(exc.esr);
    if (w->dabt) {
        CHECK_EQ(code, "ESR.ISS[13:0] (xFSC, WnR, S1PTW, CM, EA, FnV)", iss & 0x3fff,
                 w->iss & 0x3fff);
        if (iss & (1ul << 24)) {
            CHECK_EQ(code, "ESR.ISS.SAS", (iss >> 22) & 3, w->sas);
            CHECK_EQ(code, "ESR.ISS.SSE", (iss >> 21) & 1, 0);
            CHECK_EQ(code, "ESR.ISS.SRT", (iss >> 16) & 31, w->srt);
            CHECK_EQ(code, "ESR.ISS.SF", (iss >> 15) & 1, w->sf);
            CHECK_EQ(code, "ESR.ISS.AR", (iss >> 14) & 1, 0);
        }
    } else {
        CHECK_EQ(code, "ESR.ISS", iss, w->iss);
    }
    CHECK_EQ(code, "ELR_EL1", exc.elr, w->elr);
    if (w->far_valid)
        CHECK_EQ(code, "FAR_EL1", exc.far, w->far);
    u64 mask = w->spsr_mask ? w->spsr_mask : SPSR_MASK;
    CHECK_EQ(code, "SPSR_EL1 (masked)", exc.spsr & mask, w->spsr & mask);
out:
    if (rt_failures != before)
        printf("  ^ in [%d] %s: vector %u ESR 0x%lx ELR 0x%lx FAR 0x%lx SPSR 0x%lx\n", code,
               name, exc.vector, exc.esr, exc.elr, exc.far, exc.spsr);
}

void check_no_exc(int code, const char *name)
{
    if (!CHECK_EQ(code, "exceptions taken (none expected)", exc.count, 0))
        printf("  ^ in [%d] %s: vector %u ESR 0x%lx ELR 0x%lx FAR 0x%lx SPSR 0x%lx\n", code,
               name, exc.vector, exc.esr, exc.elr, exc.far, exc.spsr);
}

struct want want_dabt64(u64 fsc, int write, u64 va, const char *insn, unsigned vector,
                        u64 spsr)
{
    return (struct want){.vector = vector,
                         .ec = vector >= VEC_LOW64_SYNC ? EC_DABT_LOW : EC_DABT_CUR,
                         .iss = fsc | ((u64)write << 6),
                         .dabt = 1,
                         .sas = 3,
                         /* user_str64 stores x0; the other probes use x1. */
                         .srt = insn == user_str64_insn ? 0 : 1,
                         .sf = 1,
                         .elr = (u64)insn,
                         .far_valid = 1,
                         .far = va,
                         .spsr = spsr};
}

__attribute__((noreturn)) static void unexpected(struct frame *f, u64 idx, u64 esr)
{
    printf("UNEXPECTED exception: vector %lu (offset 0x%lx) ESR 0x%lx (EC 0x%lx) "
           "ELR 0x%lx FAR 0x%lx SPSR 0x%lx\n",
           idx, idx * 0x80, esr, ESR_EC(esr), f->elr, read_sysreg(far_el1), f->spsr);
    sh_exit(250);
}

void exc_dispatch(struct frame *f, u64 idx)
{
    u64 kind = idx & 3; /* 0 sync, 1 IRQ, 2 FIQ, 3 SError */
    if (kind == 1) {
        irqs.count++;
        irqs.vector = (unsigned)idx;
        irqs.elr = f->elr;
        irqs.spsr = f->spsr;
        irq_acknowledge();
        return;
    }
    u64 esr = read_sysreg(esr_el1);
    if (kind != 0)
        unexpected(f, idx, esr);
    u64 ec = ESR_EC(esr);
    /* The EL0 call's way back: `svc #EL0_EXIT_SVC` from EL0. */
    if (idx >= VEC_LOW64_SYNC && ec == EC_SVC64 && ESR_ISS(esr) == EL0_EXIT_SVC) {
        f->elr = (u64)el0_return;
        f->spsr = 0x3c5; /* EL1h, DAIF masked */
        return;
    }
    if (!exc.expected)
        unexpected(f, idx, esr);
    exc.expected--;
    exc.count++;
    exc.vector = (unsigned)idx;
    exc.esr = esr;
    exc.far = read_sysreg(far_el1);
    exc.elr = f->elr;
    exc.spsr = f->spsr;
    if (exc_hook && exc_hook(f, esr))
        return;
    if (exc.resume_pc) {
        f->elr = exc.resume_pc;
        exc.resume_pc = 0;
    } else if (ec == EC_SVC64) {
        /* ELR already points past the SVC. */
    } else if (ec == EC_ILLEGAL) {
        f->spsr &= ~(1ul << 20);
    } else {
        f->elr += 4;
    }
}

/* ---- Memory */

void *memset(void *d, int c, size_t n)
{
    volatile u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    volatile u8 *p = d;
    const u8 *q = s;
    if (p < q) {
        while (n--)
            *p++ = *q++;
    } else {
        while (n--)
            p[n] = q[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

/* ---- Timer and interrupt controller */

u64 counter(void)
{
    isb();
    return read_sysreg(cntvct_el0);
}

void delay_ticks(u64 ticks)
{
    u64 start = counter();
    while (counter() - start < ticks)
        ;
}

#ifdef ARMVM_GIC
/* QEMU virt's GICv2 (ARM IHI 0048B): distributor and CPU interface. */
#define GICD_BASE 0x08000000ul
#define GICC_BASE 0x08010000ul
#define GICD_CTLR 0x000
#define GICD_ISENABLER 0x100
#define GICD_IPRIORITYR 0x400
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00c
#define GICC_EOIR 0x010

static inline void mmio_write32(u64 addr, u32 v) { *(volatile u32 *)addr = v; }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }

void irq_controller_init(void)
{
    mmio_write32(GICD_BASE + GICD_CTLR, 1);
    /* Priority 0 (highest) for the timer PPI; byte access is allowed there. */
    *(volatile u8 *)(GICD_BASE + GICD_IPRIORITYR + VTIMER_PPI) = 0;
    mmio_write32(GICD_BASE + GICD_ISENABLER, 1u << VTIMER_PPI);
    mmio_write32(GICC_BASE + GICC_PMR, 0xff);
    mmio_write32(GICC_BASE + GICC_CTLR, 1);
    dsb(sy);
    isb();
}

void irq_enable_ppi(unsigned intid)
{
    *(volatile u8 *)(GICD_BASE + GICD_IPRIORITYR + intid) = 0;
    mmio_write32(GICD_BASE + GICD_ISENABLER, 1u << intid);
    dsb(sy);
    isb();
}

static void irq_acknowledge(void)
{
    u32 iar = mmio_read32(GICC_BASE + GICC_IAR);
    u32 id = iar & 0x3ff;
    irqs.intid = id;
    if (id == VTIMER_PPI)
        write_sysreg(cntv_ctl_el0, 0);
    else if (!(id < 1020 && irq_hook && irq_hook(id)))
        irqs.spurious++;
    if (id < 1020)
        mmio_write32(GICC_BASE + GICC_EOIR, iar);
    isb();
}
#else
/* armvm's board wires the virtual timer's output straight to the IRQ line. */
void irq_controller_init(void) {}
void irq_enable_ppi(unsigned intid) { (void)intid; }

static void irq_acknowledge(void)
{
    u64 ctl = read_sysreg(cntv_ctl_el0);
    irqs.intid = ~0u;
    if ((ctl & 7) == 5) /* ENABLE, not IMASK, ISTATUS */
        write_sysreg(cntv_ctl_el0, 0);
    else if (!(irq_hook && irq_hook(~0u)))
        irqs.spurious++;
    isb();
}
#endif
