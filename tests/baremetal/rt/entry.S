/*
 * Reset entry, exception vector table and EL0 calls for the test runtime.
 */

#define FRAME_SIZE 272 /* struct frame in rt.h: x0-x30, ELR, SPSR, pad */
#define EL0_EXIT_SVC 0xfff

    .section .text.boot, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    /* Start from a known SCTLR_EL1 (QEMU's reset value differs from armvm's):
     * MMU, caches, alignment and SP alignment checks off. */
    ldr     x0, =0x30d00800
    msr     sctlr_el1, x0
    isb
    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0
    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:  adrp    x0, vectors
    add     x0, x0, :lo12:vectors
    msr     vbar_el1, x0
#ifdef RT_FPSIMD
    /* Programs built with FP/SIMD (bench/compute.c): no FP/SIMD traps at EL1/EL0
     * (CPACR_EL1.FPEN = 0b11) before any compiled code runs. Everything else keeps
     * FPEN = 0 and traps. */
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
#endif
    isb
    bl      main
    bl      sh_exit
3:  b       3b

/* ---- Vector table: 16 entries of 0x80 bytes; entry i passes i to the dispatcher. */

    .text
    .macro ventry idx
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x0, #\idx
    b       exc_common
    .endm

    .balign 2048
    .global vectors
vectors:
    ventry 0
    ventry 1
    ventry 2
    ventry 3
    ventry 4
    ventry 5
    ventry 6
    ventry 7
    ventry 8
    ventry 9
    ventry 10
    ventry 11
    ventry 12
    ventry 13
    ventry 14
    ventry 15

exc_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, elr_el1
    stp     x30, x1, [sp, #240]
    mrs     x1, spsr_el1
    str     x1, [sp, #256]
    mov     x1, x0
    mov     x0, sp
    bl      exc_dispatch
    ldr     x1, [sp, #256]
    msr     spsr_el1, x1
    ldp     x30, x1, [sp, #240]
    msr     elr_el1, x1
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret

/*
 * u64 run_el0(u64 (*fn)(u64), u64 arg, u64 sp, u64 daif)
 * Saves the callee-saved registers and SP_EL1, then ERETs to fn at EL0t with
 * x0 = arg and x30 = el0_exit_trampoline. The dispatcher sends the EL0_EXIT SVC
 * to el0_return, which restores them and returns EL0's x0.
 */
    .global run_el0
run_el0:
    adrp    x9, el0_ctx
    add     x9, x9, :lo12:el0_ctx
    mov     x10, sp
    stp     x10, x19, [x9, #0]
    stp     x20, x21, [x9, #16]
    stp     x22, x23, [x9, #32]
    stp     x24, x25, [x9, #48]
    stp     x26, x27, [x9, #64]
    stp     x28, x29, [x9, #80]
    str     x30, [x9, #96]
    msr     sp_el0, x2
    msr     elr_el1, x0
    and     x3, x3, #0x3c0      /* SPSR: EL0t with the requested DAIF */
    msr     spsr_el1, x3
    mov     x0, x1
    adrp    x30, el0_exit_trampoline
    add     x30, x30, :lo12:el0_exit_trampoline
    eret

    .global el0_return
el0_return:
    adrp    x9, el0_ctx
    add     x9, x9, :lo12:el0_ctx
    ldp     x10, x19, [x9, #0]
    mov     sp, x10
    ldp     x20, x21, [x9, #16]
    ldp     x22, x23, [x9, #32]
    ldp     x24, x25, [x9, #48]
    ldp     x26, x27, [x9, #64]
    ldp     x28, x29, [x9, #80]
    ldr     x30, [x9, #96]
    ret

    .section .usertext, "ax"
    .global el0_exit_trampoline
el0_exit_trampoline:
    svc     #EL0_EXIT_SVC
    b       el0_exit_trampoline

    .bss
    .balign 16
el0_ctx:
    .space  112

    /* The EL0 stack. */
    .section .userdata, "aw"
    .balign 16
    .global el0_stack_base
el0_stack_base:
    .space  16384
    .global el0_stack_end
el0_stack_end:
