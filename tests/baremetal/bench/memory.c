/* Bench: load/add/store through 1 MiB with the MMU on (4K granule, standard map).
 * ITERS iterations of bench/loops.S mem_loop. */
#include "rt.h"

#ifndef ITERS
#define ITERS 20000000
#endif

void mem_loop(u64 n, u64 *buf);
static u64 buf[(1 << 20) / 8] __attribute__((aligned(4096)));

int main(void)
{
    static struct pt pt;
    pt_pool_reset();
    pt_init(&pt, 12, 39);
    pt_map_standard(&pt, 0);
    mmu_enable(&pt, 0, 0);
    mem_loop(ITERS, buf);
    mmu_disable();
    return 0;
}
