// Two-vCPU bare-metal program for tests/gdb.rs (run with --smp 2). CPU 0 starts
// CPU 1 with PSCI CPU_ON (HVC #0: x0 = CPU_ON_64, x1 = target MPIDR, x2 = entry,
// x3 = context ID), then both count in loops of their own: each vCPU has its own PC.
    .equ PSCI_CPU_ON_64, 0xc4000003

    .text
    .global _start
    .type _start, %function
_start:
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #1                  // MPIDR of CPU 1 (Aff0 = 1)
    adr     x2, cpu1_entry
    mov     x3, #0x55               // context ID, arrives in CPU 1's x0
    hvc     #0
    mov     x20, x0                 // PSCI status (0: success)
    .global cpu0_loop
cpu0_loop:
    add     x21, x21, #1
    b       cpu0_loop

    .global cpu1_entry
    .type cpu1_entry, %function
cpu1_entry:
    mov     x22, x0                 // the context ID
    .global cpu1_loop
cpu1_loop:
    add     x23, x23, #1
    b       cpu1_loop
