/*
 * Unprivileged loads and stores (LDTR*, STTR*; ARM ARM C3.2.5): at EL1 they are
 * checked with EL0's permissions, while plain LDR/STR use EL1's.
 *
 * Pages (4K granule): U_RW EL0 and EL1 read/write, K_RW EL1 only, U_RO read-only
 * at both, K_RO read-only at EL1 and no EL0 access. Check codes 1-29.
 */
#include "rt.h"

#define TEST_VA 0x1000000000ul
enum { U_RW, K_RW, U_RO, K_RO, UNMAPPED, NPAGES };
static u8 pages[NPAGES * 4096] __attribute__((aligned(4096)));

static u64 tva(int p) { return TEST_VA + (u64)p * 4096; }
static u64 tpa(int p) { return (u64)pages + (u64)p * 4096; }
static u64 word(int p) { return 0x8000000080000000ul | ((u64)p << 40) | 0xf0e0d0c0u; }

static struct want perm_fault(int write, u64 va, const char *insn, u64 sas, u64 sf)
{
    struct want w = want_dabt64(FSC_PERM(3), write, va, insn, VEC_SPX_SYNC, SPSR_EL1H_MASKED);
    w.sas = sas;
    w.sf = sf;
    return w;
}

static void test_mmu_on(void)
{
    u64 va;

    /* EL0-accessible page: the unprivileged forms work. */
    va = tva(U_RW);
    exc_expect();
    CHECK_EQ(1, "LDTR from an EL0 read/write page", probe_ldtr64(va), word(U_RW));
    CHECK_EQ(2, "LDTRB from an EL0 read/write page", probe_ldtrb(va + 1), 0xd0);
    /* word() has bit 31 set: LDTRSW sign-extends. */
    CHECK_EQ(3, "LDTRSW from an EL0 read/write page", probe_ldtrsw(va), 0xfffffffff0e0d0c0ul);
    probe_sttr64(va + 8, 0x1122334455667788ul);
    CHECK_EQ(4, "STTR to an EL0 read/write page", *(volatile u64 *)(tpa(U_RW) + 8),
             0x1122334455667788ul);
    probe_sttrh(va + 16, 0xabcd);
    CHECK_EQ(5, "STTRH to an EL0 read/write page", *(volatile u64 *)(tpa(U_RW) + 16),
             (word(U_RW) & ~0xfffful) | 0xabcd);
    check_no_exc(5, "unprivileged accesses to an EL0 read/write page");

    /* EL1-only page: the unprivileged forms fault, the plain ones work. */
    va = tva(K_RW) + 0x30;
    exc_expect();
    u64 v = probe_ldtr64(va);
    check_exc(6, "LDTR from an EL1-only page", perm_fault(0, va, probe_ldtr64_insn, 3, 1));
    CHECK_EQ(6, "faulting LDTR left its register unchanged", v, PROBE_NONE);
    exc_expect();
    probe_sttr64(va, 0x99);
    check_exc(7, "STTR to an EL1-only page", perm_fault(1, va, probe_sttr64_insn, 3, 1));
    CHECK_EQ(7, "faulting STTR wrote nothing", *(volatile u64 *)(tpa(K_RW) + 0x30), word(K_RW));
    exc_expect();
    probe_ldtrb(va + 3);
    check_exc(8, "LDTRB from an EL1-only page", perm_fault(0, va + 3, probe_ldtrb_insn, 0, 0));
    exc_expect();
    CHECK_EQ(9, "LDR from the EL1-only page at EL1", probe_ldr64(va), word(K_RW));
    probe_str64(va + 8, 0x42);
    CHECK_EQ(10, "STR to the EL1-only page at EL1", *(volatile u64 *)(tpa(K_RW) + 0x38), 0x42);
    check_no_exc(10, "privileged accesses to the EL1-only page");

    /* Read-only at both levels: STTR faults, LDTR works. */
    va = tva(U_RO) + 0x10;
    exc_expect();
    probe_sttr64(va, 1);
    check_exc(11, "STTR to a page read-only at EL0", perm_fault(1, va, probe_sttr64_insn, 3, 1));
    exc_expect();
    CHECK_EQ(12, "LDTR from a page read-only at EL0", probe_ldtr64(va), word(U_RO));
    check_no_exc(12, "LDTR from a page read-only at EL0");

    /* EL1 read-only, no EL0 access: LDTR faults, LDR works. */
    va = tva(K_RO) + 0x18;
    exc_expect();
    probe_ldtr64(va);
    check_exc(13, "LDTR from an EL1 read-only page", perm_fault(0, va, probe_ldtr64_insn, 3, 1));
    exc_expect();
    CHECK_EQ(14, "LDR from the EL1 read-only page", probe_ldr64(va), word(K_RO));
    check_no_exc(14, "LDR from the EL1 read-only page");

    /* Unmapped: a translation fault, as for LDR. */
    va = tva(UNMAPPED) + 8;
    exc_expect();
    probe_ldtr64(va);
    check_exc(15, "LDTR from an unmapped page",
              want_dabt64(FSC_TRANS(3), 0, va, probe_ldtr64_insn, VEC_SPX_SYNC,
                          SPSR_EL1H_MASKED));
}

int main(void)
{
    for (int p = 0; p < NPAGES; p++)
        for (unsigned i = 0; i < 512; i++)
            ((volatile u64 *)tpa(p))[i] = word(p);

    /* With the MMU off EL0 may access everything, so LDTR and STTR work. */
    exc_expect();
    CHECK_EQ(20, "LDTR with the MMU off", probe_ldtr64(tpa(K_RW)), word(K_RW));
    probe_sttr64(tpa(K_RW) + 0x40, 0x5a5a);
    CHECK_EQ(21, "STTR with the MMU off", *(volatile u64 *)(tpa(K_RW) + 0x40), 0x5a5a);
    check_no_exc(21, "LDTR/STTR with the MMU off");
    *(volatile u64 *)(tpa(K_RW) + 0x40) = word(K_RW);

    static struct pt pt;
    pt_pool_reset();
    pt_init(&pt, 12, 39);
    pt_map_standard(&pt, 0);
    static const u64 attrs[] = {
        [U_RW] = NORMAL | PTE_AP_RW | PTE_UXN | PTE_PXN,
        [K_RW] = NORMAL | PTE_AP_EL1_RW | PTE_UXN | PTE_PXN,
        [U_RO] = NORMAL | PTE_AP_RO | PTE_UXN | PTE_PXN,
        [K_RO] = NORMAL | PTE_AP_EL1_RO | PTE_UXN | PTE_PXN,
    };
    for (int p = 0; p < UNMAPPED; p++)
        pt_map(&pt, tva(p), tpa(p), 4096, attrs[p], 0);
    mmu_enable(&pt, 0, 0);
    test_mmu_on();
    mmu_disable();
    return finish("unprivileged");
}
