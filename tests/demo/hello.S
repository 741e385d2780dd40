// Quick-start demo: a bare-metal AArch64 program. Prints a greeting and the primes
// below 100 on the PL011 UART (0x09000000), then exits through semihosting with
// status 0. Built by scripts/quickstart.sh; runs the same way on QEMU's virt board.
    .equ UART_DR, 0x09000000
    .equ SYS_EXIT_EXTENDED, 0x20

    .text
    .global _start
_start:
    ldr     x19, =UART_DR
    adr     x0, greeting
    bl      puts
    mov     x20, #2                 // candidate
next_candidate:
    mov     x21, #2                 // divisor
try_divisor:
    mul     x9, x21, x21
    cmp     x9, x20
    b.gt    is_prime
    udiv    x10, x20, x21
    msub    x11, x10, x21, x20      // remainder
    cbz     x11, not_prime
    add     x21, x21, #1
    b       try_divisor
is_prime:
    mov     x0, x20
    bl      put_decimal
    mov     w0, #' '
    strb    w0, [x19]
not_prime:
    add     x20, x20, #1
    cmp     x20, #100
    b.lt    next_candidate
    mov     w0, #'\n'
    strb    w0, [x19]
    adr     x1, exit_block
    mov     w0, #SYS_EXIT_EXTENDED
    hlt     #0xf000
1:  b       1b

// puts(x0 = NUL-terminated string)
puts:
    ldrb    w1, [x0], #1
    cbz     w1, 2f
    strb    w1, [x19]
    b       puts
2:  ret

// put_decimal(x0 = value < 1000)
put_decimal:
    mov     x2, #100
    mov     x4, #0                  // printed a digit yet
3:  udiv    x3, x0, x2
    msub    x0, x3, x2, x0
    cbnz    x3, 4f
    cbz     x4, 5f
4:  add     w3, w3, #'0'
    strb    w3, [x19]
    mov     x4, #1
5:  mov     x5, #10
    udiv    x2, x2, x5
    cbnz    x2, 3b
    ret

    .balign 8
exit_block:
    .quad   0x20026, 0              // ADP_Stopped_ApplicationExit, status 0
greeting:
    .asciz  "Hello from a bare-metal AArch64 guest on armvm. Primes below 100:\n"
