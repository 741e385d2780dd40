/*
 * Stage-1 translation with each granule (4K with 39- and 48-bit inputs, 16K, 64K):
 * identity and offset mappings through TTBR0, a high-half mapping through TTBR1,
 * page and block descriptors, and AT S1E1R/S1E1W/S1E0R with PAR_EL1's success
 * and fault encodings (ARM ARM D8, D19.2 PAR_EL1).
 *
 * Each configuration prints "mmu <name>: ok" when all its checks pass (the
 * driver looks for all four lines). Check codes: 10 + 20 * config + n.
 */
#include "rt.h"

#define OFF_VA 0x1000000000ul          /* offset mapping of region A, TTBR0 */
#define BLK_VA 0x2000000000ul          /* block mapping, TTBR0 */
#define HI_VA 0xffffff8012340000ul     /* region B through TTBR1 (39-bit upper range) */
#define REGION 0x10000ul                /* 64 KiB: a whole number of pages in every granule */

static u8 region_a[REGION] __attribute__((aligned(65536)));
static u8 region_b[REGION] __attribute__((aligned(65536)));

static u64 pat_a(unsigned i) { return 0xa000000000000000ul | ((u64)i * 0x10001); }
static u64 pat_b(unsigned i) { return 0xb000000000000000ul | ((u64)i * 0x20003); }

/* Runs an AT instruction and returns PAR_EL1. */
#define AT(op, va)                                                                       \
    ({                                                                                   \
        __asm__ volatile("at " op ", %0" ::"r"((u64)(va)) : "memory");                   \
        isb();                                                                           \
        read_sysreg(par_el1);                                                            \
    })
#define AT_S1E1R(va) AT("s1e1r", va)
#define AT_S1E1W(va) AT("s1e1w", va)
#define AT_S1E0R(va) AT("s1e0r", va)

/* PAR_EL1 success: F=0 and bits 6:1 RES0; PA, SH and ATTR as given. */
static void check_par_ok(int code, const char *what, u64 par, u64 pa, u64 attr, u64 sh)
{
    unsigned before = rt_failures;
    CHECK_EQ(code, "PAR_EL1.F and RES0 bits 6:1", par & 0x7f, 0);
    CHECK_EQ(code, "PAR_EL1.PA", par & 0x0000fffffffff000ul, pa & ~0xffful);
    CHECK_EQ(code, "PAR_EL1.ATTR", par >> 56, attr);
    CHECK_EQ(code, "PAR_EL1.SH", (par >> 7) & 3, sh);
    if (rt_failures != before)
        printf("  ^ in [%d] %s: PAR 0x%lx\n", code, what, par);
}

/* PAR_EL1 fault: F=1, FST, PTW=0, S=0 (stage 1). */
static void check_par_fault(int code, const char *what, u64 par, u64 fst)
{
    if (!CHECK_EQ(code, "PAR_EL1 fault bits (S, PTW, FST, F)", par & 0x37f, (fst << 1) | 1))
        printf("  ^ in [%d] %s: PAR 0x%lx\n", code, what, par);
}

struct config {
    const char *name;
    unsigned gshift, va_bits;
};

static int granule_supported(unsigned gshift)
{
    u64 mmfr0 = read_sysreg(id_aa64mmfr0_el1);
    switch (gshift) {
    case 12:
        return ((mmfr0 >> 28) & 0xf) != 0xf; /* TGran4 */
    case 14:
        return ((mmfr0 >> 20) & 0xf) != 0; /* TGran16 */
    default:
        return ((mmfr0 >> 24) & 0xf) != 0xf; /* TGran64 */
    }
}

static void run_config(int k, const struct config *c)
{
    int base = 10 + 20 * k;
    unsigned failures = rt_failures;
    if (!granule_supported(c->gshift)) {
        printf("mmu %s: granule not supported by this CPU (ID_AA64MMFR0_EL1 0x%lx), skipped\n",
               c->name, read_sysreg(id_aa64mmfr0_el1));
        return;
    }
    u64 page = 1ul << c->gshift;
    /* Volatile: the same memory is also written through other mappings. */
    volatile u64 *a = (u64 *)region_a, *b = (u64 *)region_b;
    for (unsigned i = 0; i < REGION / 8; i++) {
        a[i] = pat_a(i);
        b[i] = pat_b(i);
    }

    struct pt t0, t1;
    pt_pool_reset();
    pt_init(&t0, c->gshift, c->va_bits);
    pt_init(&t1, c->gshift, 39);
    pt_map_standard(&t0, 0);
    u64 rw = NORMAL | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN;
    pt_map(&t0, OFF_VA, (u64)region_a, REGION, rw, 0);
    /* The page after the offset mapping: read-only, then no access flag. */
    pt_map(&t0, OFF_VA + REGION, (u64)region_a, page, NORMAL | PTE_AP_EL1_RO | PTE_UXN, 0);
    pt_map(&t0, OFF_VA + REGION + page, (u64)region_a, page, (rw & ~PTE_AF), 0);
    pt_map(&t1, HI_VA, (u64)region_b, REGION, rw, 0);
    /* The largest level-2 block of the granule (2M, 32M, 512M), covering region A. */
    u64 bsize = 1ul << (c->gshift + (c->gshift - 3));
    u64 bbase = (u64)region_a & ~(bsize - 1);
    pt_map(&t0, BLK_VA, bbase, bsize, rw, 1);
    unsigned level = 0;
    CHECK(base + 4, "block descriptor built at level 2",
          pt_leaf(&t0, BLK_VA, &level) && level == 2);
    /* 4K also has level-1 blocks (1G). */
    u64 blk1_va = BLK_VA + (4ul << 30), blk1_base = (u64)region_a & ~((1ul << 30) - 1);
    if (c->gshift == 12) {
        pt_map(&t0, blk1_va, blk1_base, 1ul << 30, rw, 1);
        CHECK(base + 12, "block descriptor built at level 1",
              pt_leaf(&t0, blk1_va, &level) && level == 1);
    }
    mmu_enable(&t0, &t1, 0);

    /* Offset mapping: every page of the region, at its start, middle and end. */
    int ok = 1;
    for (u64 off = 0; off < REGION; off += page)
        for (u64 o = off; o < off + page; o += page / 2 - 8) {
            u64 got = *(volatile u64 *)(OFF_VA + o);
            if (got != pat_a((unsigned)(o / 8))) {
                ok = CHECK_EQ(base + 0, "read through the offset mapping", got,
                              pat_a((unsigned)(o / 8)));
                break;
            }
        }
    if (ok)
        CHECK(base + 0, "read through the offset mapping", 1);
    *(volatile u64 *)(OFF_VA + REGION - 8) = 0x1234;
    CHECK_EQ(base + 1, "write through the offset mapping, read through identity",
             a[REGION / 8 - 1], 0x1234);

    CHECK_EQ(base + 2, "read through TTBR1", *(volatile u64 *)(HI_VA + 0x88), pat_b(0x11));
    *(volatile u64 *)(HI_VA + REGION / 2 + 16) = 0x5678;
    CHECK_EQ(base + 3, "write through TTBR1, read through identity", b[(REGION / 2 + 16) / 8],
             0x5678);

    u64 in_block = (u64)region_a - bbase;
    CHECK_EQ(base + 4, "read through the level-2 block",
             *(volatile u64 *)(BLK_VA + in_block + 0x100), pat_a(0x20));
    if (c->gshift == 12)
        CHECK_EQ(base + 12, "read through the level-1 block",
                 *(volatile u64 *)(blk1_va + ((u64)region_a - blk1_base) + 0x108), pat_a(0x21));

    check_par_ok(base + 5, "AT S1E1R, page", AT_S1E1R(OFF_VA + REGION / 2 + 0x123),
                 (u64)region_a + REGION / 2 + 0x123, 0xff, 3);
    check_par_fault(base + 6, "AT S1E1W, read-only page", AT_S1E1W(OFF_VA + REGION + 8),
                    FSC_PERM(3));
    check_par_ok(base + 6, "AT S1E1R, read-only page", AT_S1E1R(OFF_VA + REGION + 8),
                 (u64)region_a + 8, 0xff, 3);
    check_par_fault(base + 7, "AT S1E1R, unmapped page",
                    AT_S1E1R(OFF_VA + REGION + 2 * page), FSC_TRANS(3));
    check_par_fault(base + 8, "AT S1E0R, EL1-only page", AT_S1E0R(OFF_VA + 0x10), FSC_PERM(3));
    check_par_ok(base + 9, "AT S1E1R, TTBR1", AT_S1E1R(HI_VA + 0x40), (u64)region_b + 0x40,
                 0xff, 3);
    check_par_ok(base + 10, "AT S1E1R, block", AT_S1E1R(BLK_VA + in_block + 0x2000),
                 (u64)region_a + 0x2000, 0xff, 3);
    check_par_fault(base + 11, "AT S1E1R, access flag clear",
                    AT_S1E1R(OFF_VA + REGION + page), FSC_ACCESS(3));
    /* SH reads as Outer Shareable (0b10) for Device memory whatever the descriptor
     * says (QEMU 7.2 returns the descriptor's field). */
    check_par_ok(base + 13, "AT S1E1R, Device memory", AT_S1E1R(0x09000000), 0x09000000, 0x00,
                 ON_QEMU ? 0 : 2);

    mmu_disable();
    if (rt_failures == failures)
        printf("mmu %s: ok\n", c->name);
}

int main(void)
{
    static const struct config configs[] = {
        {"4K/39-bit", 12, 39},
        {"4K/48-bit", 12, 48},
        {"16K/39-bit", 14, 39},
        {"64K/39-bit", 16, 39},
    };
    for (int k = 0; k < 4; k++)
        run_config(k, &configs[k]);

    /* MMU off: AT returns the flat mapping. */
    u64 par = AT_S1E1R(0x40001238);
    CHECK_EQ(100, "PAR_EL1.F with the MMU off", par & 1, 0);
    CHECK_EQ(100, "PAR_EL1.PA with the MMU off", par & 0x0000fffffffff000ul, 0x40001000);
    return finish("mmu");
}
