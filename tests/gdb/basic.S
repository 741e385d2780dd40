// Bare-metal program for tests/gdb.rs, built with -g so that gdb knows its symbols
// and lines. It computes 7 * 6 through a branch, prints "result=N", stores to two
// watched variables, takes an SVC to its own vector table, prints "magic=N" and
// exits through semihosting with status 0. The test changes registers and memory
// from gdb and sees the output change.
    .equ UART_DR, 0x09000000
    .equ SYS_EXIT_EXTENDED, 0x20

    .text
    .global _start
    .type _start, %function
_start:
    ldr     x0, =stack_top
    mov     sp, x0
    adr     x0, vectors
    msr     vbar_el1, x0
    isb
    ldr     x19, =UART_DR
    mov     x0, #7
    bl      compute
    bl      report
    ldr     x1, =counter
    mov     x2, #3
    str     x2, [x1]                // write watchpoint on counter
    ldr     x3, [x1, #8]            // read watchpoint on counter2
    svc     #0x42
after_svc:
    ldr     x1, =magic
    ldr     x0, [x1]
    bl      report_magic
    adr     x1, exit_block
    mov     w0, #SYS_EXIT_EXTENDED
    hlt     #0xf000
1:  b       1b

// compute(x0) = x0 * 6, across a branch
    .global compute
    .type compute, %function
compute:
    mov     x1, #6
    b       compute_mul
    nop
    .global compute_mul
compute_mul:
    mul     x0, x0, x1
    ret

// report(x0): prints "result=x0\n"
    .global report
    .type report, %function
report:
    adr     x1, result_text
    b       print_labelled

// report_magic(x0): prints "magic=x0\n"
    .type report_magic, %function
report_magic:
    adr     x1, magic_text
    b       print_labelled

// print_labelled(x0 = value, x1 = label): prints the label, x0 and a newline
print_labelled:
    mov     x20, x0
    mov     x21, x30
    mov     x0, x1
    bl      puts
    mov     x0, x20
    bl      put_decimal
    mov     w0, #'\n'
    strb    w0, [x19]
    ret     x21

// puts(x0 = NUL-terminated string)
puts:
    ldrb    w1, [x0], #1
    cbz     w1, 2f
    strb    w1, [x19]
    b       puts
2:  ret

// put_decimal(x0): up to 20 digits
put_decimal:
    sub     sp, sp, #32
    mov     x2, sp
    add     x2, x2, #31
    mov     x3, #10
3:  udiv    x4, x0, x3
    msub    x5, x4, x3, x0
    add     w5, w5, #'0'
    strb    w5, [x2], #-1
    mov     x0, x4
    cbnz    x0, 3b
    add     x2, x2, #1
    add     x6, sp, #32
4:  ldrb    w5, [x2], #1
    strb    w5, [x19]
    cmp     x2, x6
    b.lo    4b
    add     sp, sp, #32
    ret

// Exception vectors: only "current EL with SP_ELx, synchronous" is used (the SVC).
    .balign 2048
    .global vectors
vectors:
    .rept 4
    b       .
    .balign 128
    .endr
    .global el1h_sync
el1h_sync:
    mrs     x9, esr_el1
    eret
    .balign 128
    .rept 11
    b       .
    .balign 128
    .endr

    .data
    .balign 16
    .global counter
counter:
    .quad   0
    .global counter2
counter2:
    .quad   5
    .global magic
magic:
    .quad   17
exit_block:
    .quad   0x20026, 0
result_text:
    .asciz  "result="
magic_text:
    .asciz  "magic="

    .bss
    .balign 16
    .space  4096
stack_top:
