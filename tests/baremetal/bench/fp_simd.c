/* Bench: scalar FP and Advanced SIMD loop. ITERS iterations of bench/loops.S
 * fp_loop. */
#include "rt.h"

#ifndef ITERS
#define ITERS 20000000
#endif

void fp_loop(u64 n);

int main(void)
{
    write_sysreg(cpacr_el1, 3ul << 20); /* FPEN: no FP/SIMD traps at EL0/EL1 */
    isb();
    fp_loop(ITERS);
    return 0;
}
