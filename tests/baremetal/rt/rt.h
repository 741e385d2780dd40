/*
 * The tiny runtime shared by armvm's bare-metal test programs: semihosting,
 * printing, checks, exception capture, EL0 calls, page tables and the timer.
 *
 * Programs run at EL1 from reset (MMU off, interrupts masked) on armvm's board or
 * on QEMU's virt machine, report through semihosting, and exit with 0 on success
 * or with the code of the first failed check.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t i64;

/* ---- System registers and barriers */

#define STR_(x) #x
#define STR(x) STR_(x)
#define read_sysreg(r)                                                                   \
    ({                                                                                   \
        u64 v_;                                                                          \
        __asm__ volatile("mrs %0, " #r : "=r"(v_)::"memory");                            \
        v_;                                                                              \
    })
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((u64)(v)) : "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
#define barrier() __asm__ volatile("" ::: "memory")
#define irq_enable() __asm__ volatile("msr daifclr, #2" ::: "memory")
#define irq_disable() __asm__ volatile("msr daifset, #2" ::: "memory")

/* SCTLR_EL1 bits (ARM ARM D19.2 SCTLR_EL1). */
#define SCTLR_M (1ul << 0)
#define SCTLR_A (1ul << 1)
#define SCTLR_C (1ul << 2)
#define SCTLR_SA (1ul << 3)
#define SCTLR_SA0 (1ul << 4)
#define SCTLR_UMA (1ul << 9)
#define SCTLR_I (1ul << 12)
#define SCTLR_DZE (1ul << 14)
#define SCTLR_UCT (1ul << 15)
#define SCTLR_NTWI (1ul << 16)
#define SCTLR_NTWE (1ul << 18)
/* The ARMv8.0 RES1 bits; the runtime starts from exactly this value. */
#define SCTLR_RES1 0x30d00800ul

/* Exception classes (ESR_EL1.EC). */
#define EC_UNKNOWN 0x00
#define EC_WFX 0x01
#define EC_ILLEGAL 0x0e
#define EC_SVC64 0x15
#define EC_SYSREG 0x18
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_PC_ALIGN 0x22
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25
#define EC_SP_ALIGN 0x26
#define EC_BRK64 0x3c

/* Fault status codes (ESR_EL1.ISS.xFSC, PAR_EL1.FST). */
#define FSC_TRANS(l) (0x04 | (l))
#define FSC_ACCESS(l) (0x08 | (l))
#define FSC_PERM(l) (0x0c | (l))
#define FSC_ALIGN 0x21

#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_IL (1ul << 25)
#define ESR_ISS(esr) ((esr) & 0x1ffffff)

/* Vector offsets / 0x80: the 16 entries of the table at VBAR_EL1. */
#define VEC_SP0_SYNC 0
#define VEC_SP0_IRQ 1
#define VEC_SPX_SYNC 4
#define VEC_SPX_IRQ 5
#define VEC_LOW64_SYNC 8
#define VEC_LOW64_IRQ 9

/* ---- Semihosting (ARM "Semihosting for AArch32 and AArch64") */

#define SYS_OPEN 0x01
#define SYS_WRITEC 0x03
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READC 0x07
#define SYS_CLOCK 0x10
#define SYS_EXIT 0x18
#define SYS_ELAPSED 0x30
#define SYS_TICKFREQ 0x31
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023

long semihost(u64 op, u64 arg);
__attribute__((noreturn)) void sh_exit(int code);

/* ---- Output (through SYS_WRITE0) */

void putstr(const char *s);
void printf_(const char *fmt, ...);
void vprintf_(const char *fmt, va_list ap);
#define printf printf_

/* ---- Known QEMU 7.2 deviations
 * run-qemu.sh defines QEMU_QUIRKS; checks of behaviour that QEMU 7.2 does not
 * model are then skipped with a note (armvm builds never define it).
 */
#ifdef QEMU_QUIRKS
#define ON_QEMU 1
#else
#define ON_QEMU 0
#endif
#define QEMU_SKIP(what) printf("skipped on QEMU 7.2: %s\n", (what))

/* ---- Checks
 * Each failed check prints its code and what differed; the program's exit status
 * is the code of the first failure. Codes are chosen per program, 1..239.
 * 250 and up belong to the runtime (unexpected exceptions).
 */
extern int rt_first_failure;
extern unsigned rt_checks, rt_failures;
int check_(int code, int ok, const char *what, u64 got, u64 want);
#define CHECK(code, what, cond) check_((code), !!(cond), (what), 0, 0)
#define CHECK_EQ(code, what, got, want)                                                  \
    ({                                                                                   \
        u64 g_ = (u64)(got), w_ = (u64)(want);                                           \
        check_((code), g_ == w_, (what), g_, w_);                                        \
    })
/* Prints the summary line and returns the exit code (0 if all checks passed). */
int finish(const char *program);

/* ---- Exceptions
 * The vector table saves all registers in a frame and calls rt's dispatcher.
 * A synchronous exception is expected only after exc_expect(); it is recorded in
 * `exc` and the handler resumes at `exc.resume_pc` if set, else after the
 * instruction (SVC: ELR already points past it; Illegal State: SPSR.IL is cleared
 * and the instruction is retried). An unexpected one prints its syndrome and
 * exits with status 250.
 */
struct frame {
    u64 x[31];
    u64 elr;
    u64 spsr;
    u64 pad;
};

struct exc_record {
    unsigned expected; /* how many more synchronous exceptions are allowed */
    unsigned count;    /* synchronous exceptions taken since exc_expect() */
    unsigned vector;   /* vector entry index (offset / 0x80) */
    u64 esr, far, elr, spsr;
    u64 resume_pc; /* if non-zero, where to resume after the next exception */
};
extern volatile struct exc_record exc;
void exc_expect(void);

/* What check_exc() compares with the recorded exception. */
struct want {
    unsigned vector;
    u64 ec;
    u64 iss;
    /* Data abort: ISS[13:0] must equal iss; if the CPU sets ISV (optional for
     * aborts taken to EL1), SAS, SRT and SF must match and SSE, AR be 0. */
    int dabt;
    u64 sas, srt, sf;
    u64 elr;
    int far_valid;
    u64 far;
    u64 spsr, spsr_mask; /* spsr_mask 0 means SPSR_MASK */
};
/* SPSR fields compared by default: IL, DAIF, M[3:0]. */
#define SPSR_MASK 0x001003cful
#define SPSR_EL1H_MASKED 0x3c5ul
#define SPSR_EL1T_MASKED 0x3c4ul
#define SPSR_EL0_MASKED 0x3c0ul

/* If set, called by the dispatcher for each expected synchronous exception after
 * it is recorded in `exc`; returns nonzero if it has chosen where to resume itself
 * (by editing f->elr / f->spsr), zero for the default resume described above.
 * exc_expect() does not reset it. */
extern int (*volatile exc_hook)(struct frame *f, u64 esr);

/* Checks that exactly one exception was taken since exc_expect(), as described. */
void check_exc(int code, const char *name, struct want want);
/* Checks that no exception was taken since exc_expect(). */
void check_no_exc(int code, const char *name);
/* A data abort on one of the 64-bit probes (rt/probes.S) at `insn`. */
struct want want_dabt64(u64 fsc, int write, u64 va, const char *insn, unsigned vector,
                        u64 spsr);

struct irq_record {
    unsigned count;
    unsigned spurious;
    unsigned vector;
    unsigned intid; /* the last one acknowledged (ARMVM_GIC builds), else ~0 */
    u64 elr, spsr;
};
extern volatile struct irq_record irqs;
/* If set, called by the IRQ handler for an interrupt other than the virtual
 * timer's, with its INTID (~0u without ARMVM_GIC); it must quiet the source and
 * return nonzero, or return zero to have the IRQ counted as spurious. */
extern int (*volatile irq_hook)(unsigned intid);

/* Runs fn(arg) at EL0 (EL0t) with SP_EL0 = sp and SPSR.DAIF = daif (bits 9:6),
 * until it returns or executes `svc #EL0_EXIT_SVC`; returns its x0. */
#define EL0_EXIT_SVC 0xfff
u64 run_el0(u64 (*fn)(u64), u64 arg, u64 sp, u64 daif);
/* Top of the EL0 stack, in the .userdata section. */
u64 el0_stack_top(void);

/* Code and data that EL0 uses when the MMU is on (see link.ld). */
#define USERTEXT __attribute__((section(".usertext"), noinline))
#define USERDATA __attribute__((section(".userdata")))

extern char __image_start[], __user_text_start[], __user_text_end[];
extern char __user_data_start[], __user_data_end[], __image_end[];

/* ---- Memory-access probes (rt/probes.S). A load skipped after a fault returns
 * PROBE_NONE; the *_insn labels are the accessing instructions (for ELR). */
#define PROBE_NONE 0xf00d0badbeefdeadul
u64 probe_ldr64(u64 va);
u64 probe_ldr32(u64 va);
u64 probe_ldrb(u64 va);
u64 probe_ldxr64(u64 va);
u64 probe_ldtr64(u64 va);
u64 probe_ldtrb(u64 va);
u64 probe_ldtrsw(u64 va);
void probe_str64(u64 va, u64 value);
void probe_str32(u64 va, u64 value);
void probe_sttr64(u64 va, u64 value);
void probe_sttrh(u64 va, u64 value);
u64 probe_call(u64 target);
u64 user_ldr64(u64 va);
u64 user_str64(u64 va);
extern char probe_ldr64_insn[], probe_ldr32_insn[], probe_ldrb_insn[], probe_ldxr64_insn[];
extern char probe_ldtr64_insn[], probe_ldtrb_insn[], probe_ldtrsw_insn[];
extern char probe_str64_insn[], probe_str32_insn[], probe_sttr64_insn[], probe_sttrh_insn[];
extern char probe_call_resume[], user_ldr64_insn[], user_str64_insn[];
extern char el0_exit_trampoline[];

/* ---- Generic timer and interrupt controller */

u64 counter(void); /* CNTVCT_EL0, after an ISB */
void delay_ticks(u64 ticks);
/* Enables PPI 27 (the virtual timer) in QEMU virt's GICv2 when built with
 * ARMVM_GIC; without it the board must wire the timer to the IRQ line itself. */
void irq_controller_init(void);
#define VTIMER_PPI 27
/* Enables another PPI (INTID 16-31) at priority 0 in the GIC distributor, after
 * irq_controller_init(); does nothing without ARMVM_GIC. */
void irq_enable_ppi(unsigned intid);
#define PMU_PPI 23 /* QEMU virt's PMU overflow interrupt (PPI 7) */

/* ---- Memory */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define RAM_BASE 0x40000000ul
#define RAM_SIZE (128ul << 20)

/* ---- Page tables (VMSAv8-64 stage 1, rt/mmu.c) */

#define PTE_VALID (1ul << 0)
#define PTE_TYPE_TABLE (3ul << 0)
#define PTE_TYPE_PAGE (3ul << 0)
#define PTE_TYPE_BLOCK (1ul << 0)
#define PTE_ATTR(i) ((u64)(i) << 2)
#define PTE_AP_EL1_RW (0ul << 6)
#define PTE_AP_RW (1ul << 6) /* EL1 and EL0 read/write */
#define PTE_AP_EL1_RO (2ul << 6)
#define PTE_AP_RO (3ul << 6) /* EL1 and EL0 read-only */
#define PTE_SH_INNER (3ul << 8)
#define PTE_AF (1ul << 10)
#define PTE_NG (1ul << 11)
#define PTE_PXN (1ul << 53)
#define PTE_UXN (1ul << 54)
#define PTE_OA_MASK 0x0000fffffffff000ul

/* MAIR_EL1 attribute indexes set by mmu_enable(). */
#define MT_DEVICE 0    /* Device-nGnRnE */
#define MT_NORMAL 1    /* Normal, write-back read/write-allocate */
#define MT_NORMAL_NC 2 /* Normal, non-cacheable */
#define MAIR_VALUE 0x44ff00ul

#define NORMAL (PTE_ATTR(MT_NORMAL) | PTE_SH_INNER | PTE_AF)
#define DEVICE (PTE_ATTR(MT_DEVICE) | PTE_AF | PTE_PXN | PTE_UXN)

struct pt {
    unsigned gshift;      /* 12, 14 or 16 */
    unsigned va_bits;     /* input address size */
    unsigned start_level; /* first lookup level */
    u64 *root;
};

void pt_pool_reset(void);
void pt_init(struct pt *pt, unsigned gshift, unsigned va_bits);
/* Maps [va, va+size) to [pa, ...) with `attrs` (AP, SH, AF, nG, XN, AttrIndx;
 * the descriptor type is added). With allow_blocks, aligned stretches use block
 * descriptors. */
void pt_map(struct pt *pt, u64 va, u64 pa, u64 size, u64 attrs, int allow_blocks);
/* Unmaps the leaf (page or block) covering va. */
void pt_unmap(struct pt *pt, u64 va);
/* The leaf descriptor covering va, or 0 if none; its level in *level. */
u64 *pt_leaf(struct pt *pt, u64 va, unsigned *level);
/* The standard map: all RAM identity-mapped EL1 RW (executable at EL1 only), the
 * .usertext range read-only and executable at EL0 and EL1, .userdata EL0 RW, and
 * the device range 0x0800_0000-0x0a00_0000 (GIC, UART) as Device memory. */
void pt_map_standard(struct pt *pt, u64 extra_attrs);
/* Programs TCR/MAIR/TTBR0 (ASID asid) and TTBR1 (if ttbr1 != 0), then turns the
 * MMU and caches on. */
void mmu_enable(struct pt *ttbr0, struct pt *ttbr1, u64 asid);
void mmu_disable(void);
void tlbi_all(void);
u64 tcr_value(struct pt *ttbr0, struct pt *ttbr1);
/* Makes new code at [p, p+n) visible to instruction fetch. */
void sync_icache(void *p, size_t n);

#endif
