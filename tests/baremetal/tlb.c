/*
 * TLB maintenance and ASIDs (ARM ARM D8.13, C5.5 "TLB maintenance instructions").
 *
 * A test VA is remapped between physical pages A, B and C, each holding its own
 * marker. Every change is break-before-make: write an invalid descriptor, TLBI,
 * write the new descriptor. After that the old translation cannot be used, so a
 * TLBI that fails to remove it shows as a stale read. Without a TLBI the
 * architecture allows either value, so staleness itself is never asserted.
 *
 * Check codes: 1-9 TLBI kinds, 10-19 ASIDs, 20-29 blocks, code and writes.
 */
#include "rt.h"

#define TV 0x1000000000ul       /* the remapped 4K page */
#define TV_CODE 0x1000010000ul  /* a remapped code page */
#define TV_BLOCK 0x1000400000ul /* a remapped 2M block */
/* Two 2M-aligned physical blocks well above the image. */
#define BLOCK_X (RAM_BASE + (64ul << 20))
#define BLOCK_Y (RAM_BASE + (66ul << 20))

enum { PA_A, PA_B, PA_C, CODE_1, CODE_2, NPAGES };
static u8 pages[NPAGES * 4096] __attribute__((aligned(4096)));
static const u64 marker[3] = {0xaaaaaaaa00000001ul, 0xbbbbbbbb00000002ul, 0xcccccccc00000003ul};

static struct pt t1, t2;
static int asid16;

static u64 pa(int p) { return (u64)pages + (u64)p * 4096; }
static u64 rd(u64 va)
{
    barrier();
    u64 v = *(volatile u64 *)va;
    barrier();
    return v;
}

#define DATA (NORMAL | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN)
#define TLBI(op, arg) __asm__ volatile("tlbi " op ", %0" ::"r"((u64)(arg)) : "memory")
#define TLBI_ALL(op) __asm__ volatile("tlbi " op ::: "memory")
/* The operand of TLBI by VA: ASID in bits 63:48, VA[55:12] in bits 43:0. */
static u64 va_op(u64 asid, u64 va) { return (asid << 48) | ((va >> 12) & 0xfffffffffful); }

static void set_ttbr0(struct pt *pt, u64 asid)
{
    write_sysreg(ttbr0_el1, (u64)pt->root | (asid << 48));
    isb();
}

/* Names the page a marker value belongs to, for messages. */
static const char *which(u64 v)
{
    return v == marker[0] ? "A" : v == marker[1] ? "B" : v == marker[2] ? "C" : "?";
}

static void expect_page(int code, const char *what, u64 va, int page)
{
    u64 v = rd(va);
    if (!CHECK_EQ(code, what, v, marker[page]))
        printf("  ^ [%d] read page %s, expected %s\n", code, which(v), which(marker[page]));
}

/* Break-before-make remap of `va` in `pt`, with `tlbi` run between the two writes. */
#define REMAP(pt, va, desc, tlbi_stmt)                                                   \
    do {                                                                                 \
        u64 *pte_ = pt_leaf((pt), (va), 0);                                              \
        *pte_ = 0;                                                                       \
        dsb(ishst);                                                                      \
        tlbi_stmt;                                                                       \
        dsb(ish);                                                                        \
        *pte_ = (desc);                                                                  \
        dsb(ishst);                                                                      \
        isb();                                                                           \
    } while (0)

static u64 page_desc(int p, u64 attrs) { return pa(p) | attrs | PTE_TYPE_PAGE; }

static void test_tlbi_kinds(void)
{
    const u64 asid = 1, other = 6;
    u64 ng = DATA | PTE_NG;
    set_ttbr0(&t1, asid);
    tlbi_all();
    expect_page(1, "initial mapping", TV, PA_A);

    REMAP(&t1, TV, page_desc(PA_B, ng), TLBI("vae1", va_op(asid, TV)));
    expect_page(1, "after TLBI VAE1 (current ASID)", TV, PA_B);
    REMAP(&t1, TV, page_desc(PA_A, ng), TLBI("vale1", va_op(asid, TV)));
    expect_page(2, "after TLBI VALE1 (current ASID)", TV, PA_A);
    REMAP(&t1, TV, page_desc(PA_C, ng), TLBI("aside1", asid << 48));
    expect_page(3, "after TLBI ASIDE1 (current ASID)", TV, PA_C);
    REMAP(&t1, TV, page_desc(PA_A, ng), TLBI_ALL("vmalle1"));
    expect_page(4, "after TLBI VMALLE1", TV, PA_A);
    REMAP(&t1, TV, page_desc(PA_B, ng), TLBI("vaae1", va_op(0, TV)));
    expect_page(5, "after TLBI VAAE1", TV, PA_B);
    REMAP(&t1, TV, page_desc(PA_C, ng), TLBI("vaale1", va_op(0, TV)));
    expect_page(6, "after TLBI VAALE1", TV, PA_C);
    REMAP(&t1, TV, page_desc(PA_A, ng), TLBI("vae1is", va_op(asid, TV)));
    expect_page(9, "after TLBI VAE1IS", TV, PA_A);
    REMAP(&t1, TV, page_desc(PA_B, ng), TLBI("aside1is", asid << 48));
    expect_page(9, "after TLBI ASIDE1IS", TV, PA_B);
    REMAP(&t1, TV, page_desc(PA_C, ng), TLBI_ALL("vmalle1is"));
    expect_page(9, "after TLBI VMALLE1IS", TV, PA_C);

    /* A global entry matches every ASID, so TLBI by VA removes it whatever ASID
     * the operand names. */
    u64 global = DATA;
    REMAP(&t1, TV, page_desc(PA_A, global), TLBI_ALL("vmalle1"));
    expect_page(7, "global mapping", TV, PA_A);
    REMAP(&t1, TV, page_desc(PA_B, global), TLBI("vae1", va_op(other, TV)));
    expect_page(7, "global entry after TLBI VAE1 naming another ASID", TV, PA_B);
    REMAP(&t1, TV, page_desc(PA_C, global), TLBI("vale1", va_op(other, TV)));
    expect_page(8, "global entry after TLBI VALE1 naming another ASID", TV, PA_C);

    /* Writes go through the new mapping too. */
    REMAP(&t1, TV, page_desc(PA_A, ng), TLBI("vae1", va_op(asid, TV)));
    rd(TV);
    REMAP(&t1, TV, page_desc(PA_B, ng), TLBI("vae1", va_op(asid, TV)));
    *(volatile u64 *)(TV + 8) = 0x77;
    barrier();
    CHECK_EQ(25, "write after remap lands in the new page", *(volatile u64 *)(pa(PA_B) + 8),
             0x77);
    CHECK_EQ(25, "write after remap leaves the old page alone", *(volatile u64 *)(pa(PA_A) + 8),
             0);
    *(volatile u64 *)(pa(PA_B) + 8) = 0;
}

static void test_asids(void)
{
    /* t1 maps TV to A, t2 to B, both non-global. */
    REMAP(&t1, TV, page_desc(PA_A, DATA | PTE_NG), TLBI_ALL("vmalle1"));
    REMAP(&t2, TV, page_desc(PA_B, DATA | PTE_NG), TLBI_ALL("vmalle1"));
    for (int round = 0; round < 3; round++) {
        set_ttbr0(&t1, 1);
        expect_page(10, "ASID 1 sees its mapping", TV, PA_A);
        set_ttbr0(&t2, 2);
        expect_page(11, "ASID 2 sees its mapping", TV, PA_B);
    }

    /* Maintenance for an ASID that is not current takes effect when it returns. */
    set_ttbr0(&t1, 1);
    rd(TV);
    set_ttbr0(&t2, 2);
    rd(TV);
    REMAP(&t1, TV, page_desc(PA_C, DATA | PTE_NG), TLBI("aside1", 1ul << 48));
    expect_page(12, "ASID 2 unaffected by TLBI ASIDE1 for ASID 1", TV, PA_B);
    set_ttbr0(&t1, 1);
    expect_page(12, "ASID 1 after TLBI ASIDE1 issued under ASID 2", TV, PA_C);
    set_ttbr0(&t2, 2);
    rd(TV);
    REMAP(&t1, TV, page_desc(PA_A, DATA | PTE_NG), TLBI("vae1", va_op(1, TV)));
    expect_page(13, "ASID 2 unaffected by TLBI VAE1 for ASID 1", TV, PA_B);
    set_ttbr0(&t1, 1);
    expect_page(13, "ASID 1 after TLBI VAE1 issued under ASID 2", TV, PA_A);

    /* 16-bit ASIDs: 0x0105 and 0x0205 differ only above bit 7. */
    if (asid16) {
        for (int round = 0; round < 3; round++) {
            set_ttbr0(&t1, 0x0105);
            expect_page(14, "16-bit ASID 0x0105 sees its mapping", TV, PA_A);
            set_ttbr0(&t2, 0x0205);
            expect_page(15, "16-bit ASID 0x0205 sees its mapping", TV, PA_B);
        }
    } else {
        printf("16-bit ASIDs not supported, skipped\n");
    }
    set_ttbr0(&t1, 1);
    tlbi_all();
}

static void test_block(void)
{
    /* Markers at the start of several 4K pages of each 2M block. */
    for (u64 off = 0; off < (2ul << 20); off += 0x40000) {
        *(volatile u64 *)(BLOCK_X + off) = 0x5800000000000000ul | off;
        *(volatile u64 *)(BLOCK_Y + off) = 0x5900000000000000ul | off;
    }
    pt_map(&t1, TV_BLOCK, BLOCK_X, 2ul << 20, DATA | PTE_NG, 1);
    unsigned level = 0;
    CHECK(20, "test block built at level 2", pt_leaf(&t1, TV_BLOCK, &level) && level == 2);
    tlbi_all();
    for (u64 off = 0; off < (2ul << 20); off += 0x40000)
        CHECK_EQ(20, "read through the block", rd(TV_BLOCK + off), 0x5800000000000000ul | off);

    /* TLBI VAE1 for any address inside the block removes the whole block entry. */
    REMAP(&t1, TV_BLOCK, BLOCK_Y | DATA | PTE_NG | PTE_TYPE_BLOCK,
          TLBI("vae1", va_op(1, TV_BLOCK + 0x40000)));
    for (u64 off = 0; off < (2ul << 20); off += 0x40000)
        if (!CHECK_EQ(21, "block after TLBI VAE1 of an address inside it",
                      rd(TV_BLOCK + off), 0x5900000000000000ul | off))
            printf("  ^ [21] at block offset 0x%lx\n", off);
    REMAP(&t1, TV_BLOCK, BLOCK_X | DATA | PTE_NG | PTE_TYPE_BLOCK,
          TLBI("vaale1", va_op(0, TV_BLOCK + 0x1c0000)));
    for (u64 off = 0; off < (2ul << 20); off += 0x40000)
        if (!CHECK_EQ(22, "block after TLBI VAALE1 of an address inside it",
                      rd(TV_BLOCK + off), 0x5800000000000000ul | off))
            printf("  ^ [22] at block offset 0x%lx\n", off);
}

static void test_code(void)
{
    /* CODE_1: mov x0, #1; ret   CODE_2: mov x0, #2; ret */
    static const u32 code1[] = {0xd2800020, 0xd65f03c0}, code2[] = {0xd2800040, 0xd65f03c0};
    memcpy((void *)pa(CODE_1), code1, sizeof(code1));
    memcpy((void *)pa(CODE_2), code2, sizeof(code2));
    sync_icache((void *)pa(CODE_1), 4096);
    sync_icache((void *)pa(CODE_2), 4096);
    u64 exec = NORMAL | PTE_AP_EL1_RO | PTE_UXN | PTE_NG;
    pt_map(&t1, TV_CODE, pa(CODE_1), 4096, exec, 0);
    tlbi_all();
    exc_expect();
    exc.resume_pc = (u64)probe_call_resume;
    CHECK_EQ(23, "call through the code mapping", probe_call(TV_CODE), 1);
    REMAP(&t1, TV_CODE, page_desc(CODE_2, exec), TLBI("vae1", va_op(1, TV_CODE)));
    CHECK_EQ(24, "call after remapping the code page and TLBI VAE1", probe_call(TV_CODE), 2);
    CHECK_EQ(24, "exceptions taken", exc.count, 0);
}

int main(void)
{
    asid16 = ((read_sysreg(id_aa64mmfr0_el1) >> 4) & 0xf) == 2;
    for (int i = 0; i < 3; i++)
        *(volatile u64 *)pa(i) = marker[i];

    pt_pool_reset();
    pt_init(&t1, 12, 39);
    pt_init(&t2, 12, 39);
    pt_map_standard(&t1, 0);
    pt_map_standard(&t2, 0);
    pt_map(&t1, TV, pa(PA_A), 4096, DATA | PTE_NG, 0);
    pt_map(&t2, TV, pa(PA_B), 4096, DATA | PTE_NG, 0);
    mmu_enable(&t1, 0, 1);

    test_tlbi_kinds();
    test_asids();
    test_block();
    test_code();

    mmu_disable();
    return finish("tlb");
}
