/* Bench: integer ALU loop, MMU off. ITERS iterations of bench/loops.S int_loop. */
#include "rt.h"

#ifndef ITERS
#define ITERS 20000000
#endif

void int_loop(u64 n);

int main(void)
{
    int_loop(ITERS);
    return 0;
}
