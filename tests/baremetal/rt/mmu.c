/*
 * A VMSAv8-64 stage-1 page-table builder for 4K, 16K and 64K granules
 * (ARM ARM D8.2, "Translation table walks"), and MMU on/off helpers.
 *
 * Tables come from a bump allocator over a static pool and are always one
 * granule in size and alignment, which satisfies every level's requirement.
 * The tests map RAM identity, so table pointers are physical addresses too.
 */
#include "rt.h"

#define POOL_SIZE (2ul << 20)
static u8 pool[POOL_SIZE] __attribute__((aligned(65536)));
static u64 pool_next;

void pt_pool_reset(void) { pool_next = 0; }

static u64 *pt_alloc(unsigned gshift)
{
    u64 size = 1ul << gshift;
    pool_next = (pool_next + size - 1) & ~(size - 1);
    if (pool_next + size > POOL_SIZE) {
        printf("rt: page-table pool exhausted\n");
        sh_exit(251);
    }
    u64 *t = (u64 *)(pool + pool_next);
    pool_next += size;
    for (u64 i = 0; i < size / 8; i++)
        t[i] = 0;
    return t;
}

static unsigned stride(const struct pt *pt) { return pt->gshift - 3; }

/* Bit position of the lowest VA bit that `level` resolves. */
static unsigned level_shift(const struct pt *pt, unsigned level)
{
    return pt->gshift + (3 - level) * stride(pt);
}

static u64 index_of(const struct pt *pt, unsigned level, u64 va)
{
    unsigned shift = level_shift(pt, level);
    unsigned bits = level == pt->start_level ? pt->va_bits - shift : stride(pt);
    return (va >> shift) & ((1ul << bits) - 1);
}

/* Block descriptors allowed without FEAT_LPA/LPA2: level 1 and 2 with 4K
 * granules, level 2 with 16K and 64K. */
static int block_allowed(const struct pt *pt, unsigned level)
{
    return pt->gshift == 12 ? (level == 1 || level == 2) : level == 2;
}

void pt_init(struct pt *pt, unsigned gshift, unsigned va_bits)
{
    pt->gshift = gshift;
    pt->va_bits = va_bits;
    unsigned levels = (va_bits - gshift + stride(pt) - 1) / stride(pt);
    pt->start_level = 4 - levels;
    pt->root = pt_alloc(gshift);
}

void pt_map(struct pt *pt, u64 va, u64 pa, u64 size, u64 attrs, int allow_blocks)
{
    u64 page = 1ul << pt->gshift;
    if ((va | pa | size) & (page - 1)) {
        printf("rt: pt_map(0x%lx, 0x%lx, 0x%lx) not granule-aligned\n", va, pa, size);
        sh_exit(252);
    }
    while (size) {
        u64 *table = pt->root;
        for (unsigned level = pt->start_level;; level++) {
            u64 bsize = 1ul << level_shift(pt, level);
            u64 *e = &table[index_of(pt, level, va)];
            int leaf = level == 3 || (allow_blocks && block_allowed(pt, level) &&
                                      ((va | pa) & (bsize - 1)) == 0 && size >= bsize);
            if (leaf) {
                u64 type = level == 3 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK;
                *e = (pa & PTE_OA_MASK) | attrs | type;
                va += bsize;
                pa += bsize;
                size -= bsize;
                break;
            }
            if ((*e & 3) != 3) {
                if (*e & PTE_VALID) {
                    printf("rt: pt_map(0x%lx) would split a block\n", va);
                    sh_exit(252);
                }
                *e = (u64)pt_alloc(pt->gshift) | PTE_TYPE_TABLE;
            }
            table = (u64 *)(*e & PTE_OA_MASK);
        }
    }
    dsb(ishst);
}

u64 *pt_leaf(struct pt *pt, u64 va, unsigned *level_out)
{
    u64 *table = pt->root;
    for (unsigned level = pt->start_level; level <= 3; level++) {
        u64 *e = &table[index_of(pt, level, va)];
        if (!(*e & PTE_VALID))
            return 0;
        if (level == 3 || (*e & 3) == 1) {
            if (level_out)
                *level_out = level;
            return e;
        }
        table = (u64 *)(*e & PTE_OA_MASK);
    }
    return 0;
}

void pt_unmap(struct pt *pt, u64 va)
{
    u64 *e = pt_leaf(pt, va, 0);
    if (e)
        *e = 0;
    dsb(ishst);
}

void pt_map_standard(struct pt *pt, u64 extra)
{
    u64 ut0 = (u64)__user_text_start, ut1 = (u64)__user_text_end;
    u64 ud0 = (u64)__user_data_start, ud1 = (u64)__user_data_end;
    u64 kernel = NORMAL | PTE_AP_EL1_RW | PTE_UXN | extra;
    pt_map(pt, RAM_BASE, RAM_BASE, ut0 - RAM_BASE, kernel, 1);
    pt_map(pt, ut0, ut0, ut1 - ut0, NORMAL | PTE_AP_RO | extra, 0);
    pt_map(pt, ut1, ut1, ud0 - ut1, kernel, 1);
    pt_map(pt, ud0, ud0, ud1 - ud0, NORMAL | PTE_AP_RW | PTE_UXN | PTE_PXN | extra, 0);
    pt_map(pt, ud1, ud1, RAM_BASE + RAM_SIZE - ud1, kernel, 1);
    pt_map(pt, 0x08000000, 0x08000000, 0x02000000, DEVICE | PTE_AP_EL1_RW | extra, 1);
}

/* TCR_EL1.TG0 and TG1 encodings of the granules. */
static u64 tg0(unsigned gshift) { return gshift == 12 ? 0 : gshift == 16 ? 1 : 2; }
static u64 tg1(unsigned gshift) { return gshift == 14 ? 1 : gshift == 12 ? 2 : 3; }

u64 tcr_value(struct pt *t0, struct pt *t1)
{
    u64 tcr = (64 - t0->va_bits) | (1ul << 8) | (1ul << 10) | (3ul << 12) | (tg0(t0->gshift) << 14);
    if (t1)
        tcr |= ((u64)(64 - t1->va_bits) << 16) | (1ul << 24) | (1ul << 26) | (3ul << 28) |
               (tg1(t1->gshift) << 30);
    else
        tcr |= (1ul << 23) | (2ul << 30); /* EPD1: no TTBR1 walks */
    tcr |= 2ul << 32;                     /* IPS: 40-bit physical addresses */
    if (((read_sysreg(id_aa64mmfr0_el1) >> 4) & 0xf) == 2)
        tcr |= 1ul << 36; /* AS: 16-bit ASIDs */
    return tcr;
}

void tlbi_all(void)
{
    dsb(ishst);
    __asm__ volatile("tlbi vmalle1" ::: "memory");
    dsb(ish);
    isb();
}

void mmu_enable(struct pt *t0, struct pt *t1, u64 asid)
{
    write_sysreg(mair_el1, MAIR_VALUE);
    write_sysreg(tcr_el1, tcr_value(t0, t1));
    write_sysreg(ttbr0_el1, (u64)t0->root | (asid << 48));
    write_sysreg(ttbr1_el1, t1 ? (u64)t1->root : 0);
    isb();
    tlbi_all();
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
    isb();
}

void mmu_disable(void)
{
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~(SCTLR_M | SCTLR_C | SCTLR_I));
    isb();
    tlbi_all();
}

void sync_icache(void *p, size_t n)
{
    u64 start = (u64)p & ~63ul, end = (u64)p + n;
    for (u64 a = start; a < end; a += 64)
        __asm__ volatile("dc cvau, %0" ::"r"(a) : "memory");
    dsb(ish);
    for (u64 a = start; a < end; a += 64)
        __asm__ volatile("ic ivau, %0" ::"r"(a) : "memory");
    dsb(ish);
    isb();
}
