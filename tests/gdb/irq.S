// Interrupts and single steps, for tests/gdb.rs (needs a GICv2 at QEMU virt's
// addresses). The virtual timer is made to fire at once (CVAL 0) and routed through
// the GIC as PPI 27 before IRQs are unmasked at `unmask`; from there on an IRQ is
// pending at every instruction boundary. The handler at VBAR_EL1 + 0x280 acknowledges
// it, turns the timer off and counts in x25.
    .equ GICD, 0x08000000
    .equ GICC, 0x08010000
    .equ TIMER_PPI, 27

    .text
    .global _start
    .type _start, %function
_start:
    adr     x0, vectors
    msr     vbar_el1, x0
    isb
    mov     x25, #0
    // Distributor: enable, PPI 27 enabled at priority 0.
    ldr     x1, =GICD
    mov     w2, #1
    str     w2, [x1, #0x000]                // GICD_CTLR
    mov     w2, #(1 << TIMER_PPI)
    str     w2, [x1, #0x100]                // GICD_ISENABLER0
    // CPU interface: every priority passes, enabled.
    ldr     x1, =GICC
    mov     w2, #0xff
    str     w2, [x1, #0x004]                // GICC_PMR
    mov     w2, #1
    str     w2, [x1, #0x000]                // GICC_CTLR
    // Virtual timer: compare value 0, enabled, unmasked: it fires now.
    msr     cntv_cval_el0, xzr
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    isb
    .global unmask
unmask:
    msr     daifclr, #2
    .global after_unmask
after_unmask:
    nop
    nop
    nop
    .global spin
spin:
    add     x26, x26, #1
    b       spin

    .balign 2048
    .global vectors
vectors:
    .rept 5
    b       .
    .balign 128
    .endr
    // 0x280: current EL with SP_ELx, IRQ
    .global el1h_irq
el1h_irq:
    ldr     x1, =GICC
    ldr     w3, [x1, #0x00c]                // GICC_IAR
    msr     cntv_ctl_el0, xzr               // timer off
    str     w3, [x1, #0x010]                // GICC_EOIR
    add     x25, x25, #1
    eret
    .ltorg
    .balign 128
    .rept 10
    b       .
    .balign 128
    .endr
