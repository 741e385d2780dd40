// Runs test cases under qemu-aarch64: reads records from stdin, executes each
// record's instruction word with the record's register and memory state, writes
// the resulting state to stdout. Record layout (1040 bytes):
//   0    v0..v31 (16 bytes each)
//   512  x0..x30
//   760  sp
//   768  in: instruction word (u32); out: fpsr
//   776  out: signal number (0 = none; the instruction was skipped otherwise)
//   784  256-byte memory buffer at BUF
#define REC 1040
#define BUF 0x30008000
        .text
        .globl _start
_start:
        // input area: 512 MiB
        mov x0, #0
        mov x1, #0x20000000
        mov x2, #3
        mov x3, #0x22
        mov x4, #-1
        mov x5, #0
        mov x8, #222
        svc #0
        adrp x9, g_in; str x0, [x9, :lo12:g_in]
        mov x19, x0
        mov x20, #0
1:      mov x0, #0
        add x1, x19, x20
        mov x2, #0x100000
        mov x8, #63
        svc #0
        cmp x0, #0
        b.le 2f
        add x20, x20, x0
        b 1b
2:      mov x0, x20
        mov x1, #REC
        udiv x0, x0, x1
        adrp x9, g_count; str x0, [x9, :lo12:g_count]
        adrp x9, g_total; str x20, [x9, :lo12:g_total]
        // output area
        mov x0, #0
        mov x1, #0x20000000
        mov x2, #3
        mov x3, #0x22
        mov x4, #-1
        mov x5, #0
        mov x8, #222
        svc #0
        adrp x9, g_out; str x0, [x9, :lo12:g_out]
        adrp x9, g_out0; str x0, [x9, :lo12:g_out0]
        // the memory buffer page(s)
        mov x0, #0x30000000
        mov x1, #0x10000
        mov x2, #3
        mov x3, #0x32       // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
        mov x4, #-1
        mov x5, #0
        mov x8, #222
        svc #0
        // alternate signal stack
        adrp x0, altstack_desc; add x0, x0, :lo12:altstack_desc
        adrp x1, altstack; add x1, x1, :lo12:altstack
        str x1, [x0]
        str wzr, [x0, #8]
        mov x1, #65536
        str x1, [x0, #16]
        mov x1, #0
        mov x8, #132
        svc #0
        // handlers for SIGILL(4), SIGBUS(7), SIGSEGV(11)
        adrp x10, sa; add x10, x10, :lo12:sa
        adr x1, handler
        str x1, [x10]
        mov x1, #0x4        // SA_SIGINFO
        movk x1, #0x4800, lsl #16  // SA_NODEFER|SA_ONSTACK
        str x1, [x10, #8]
        str xzr, [x10, #16]
        str xzr, [x10, #24]
        mov x0, #4
        mov x1, x10
        mov x2, #0
        mov x3, #8
        mov x8, #134
        svc #0
        mov x0, #7
        mov x1, x10
        mov x2, #0
        mov x3, #8
        mov x8, #134
        svc #0
        mov x0, #11
        mov x1, x10
        mov x2, #0
        mov x3, #8
        mov x8, #134
        svc #0
        // make the slot's page writable
        adr x0, slot
        and x0, x0, #~0xfff
        mov x1, #0x2000
        mov x2, #7
        mov x8, #226
        svc #0

next_case:
        adrp x9, g_count; ldr x21, [x9, :lo12:g_count]
        cbz x21, done
        adrp x9, g_in; ldr x19, [x9, :lo12:g_in]
        ldr w0, [x19, #768]
        adr x1, slot
        str w0, [x1]
        dc cvau, x1
        dsb ish
        ic ivau, x1
        dsb ish
        isb
        // memory buffer
        mov x2, #BUF & 0xffff
        movk x2, #BUF >> 16, lsl #16
        add x3, x19, #784
        mov x4, #32
3:      ldr x5, [x3], #8
        str x5, [x2], #8
        subs x4, x4, #1
        b.ne 3b
        adrp x9, g_sig; str xzr, [x9, :lo12:g_sig]
        msr fpsr, xzr
        mov x0, x19
        ldp q0, q1, [x0, #0]
        ldp q2, q3, [x0, #32]
        ldp q4, q5, [x0, #64]
        ldp q6, q7, [x0, #96]
        ldp q8, q9, [x0, #128]
        ldp q10, q11, [x0, #160]
        ldp q12, q13, [x0, #192]
        ldp q14, q15, [x0, #224]
        ldp q16, q17, [x0, #256]
        ldp q18, q19, [x0, #288]
        ldp q20, q21, [x0, #320]
        ldp q22, q23, [x0, #352]
        ldp q24, q25, [x0, #384]
        ldp q26, q27, [x0, #416]
        ldp q28, q29, [x0, #448]
        ldp q30, q31, [x0, #480]
        add x0, x0, #512
        ldr x1, [x0, #248]
        mov sp, x1
        ldp x1, x2, [x0, #8]
        ldp x3, x4, [x0, #24]
        ldp x5, x6, [x0, #40]
        ldp x7, x8, [x0, #56]
        ldp x9, x10, [x0, #72]
        ldp x11, x12, [x0, #88]
        ldp x13, x14, [x0, #104]
        ldp x15, x16, [x0, #120]
        ldp x17, x18, [x0, #136]
        ldp x19, x20, [x0, #152]
        ldp x21, x22, [x0, #168]
        ldp x23, x24, [x0, #184]
        ldp x25, x26, [x0, #200]
        ldp x27, x28, [x0, #216]
        ldp x29, x30, [x0, #232]
        ldr x0, [x0]
        .balign 4096
slot:
        nop
        msr tpidr_el0, x0
        adrp x0, g_out; ldr x0, [x0, :lo12:g_out]
        stp q0, q1, [x0, #0]
        stp q2, q3, [x0, #32]
        stp q4, q5, [x0, #64]
        stp q6, q7, [x0, #96]
        stp q8, q9, [x0, #128]
        stp q10, q11, [x0, #160]
        stp q12, q13, [x0, #192]
        stp q14, q15, [x0, #224]
        stp q16, q17, [x0, #256]
        stp q18, q19, [x0, #288]
        stp q20, q21, [x0, #320]
        stp q22, q23, [x0, #352]
        stp q24, q25, [x0, #384]
        stp q26, q27, [x0, #416]
        stp q28, q29, [x0, #448]
        stp q30, q31, [x0, #480]
        add x0, x0, #512
        stp x1, x2, [x0, #8]
        stp x3, x4, [x0, #24]
        stp x5, x6, [x0, #40]
        stp x7, x8, [x0, #56]
        stp x9, x10, [x0, #72]
        stp x11, x12, [x0, #88]
        stp x13, x14, [x0, #104]
        stp x15, x16, [x0, #120]
        stp x17, x18, [x0, #136]
        stp x19, x20, [x0, #152]
        stp x21, x22, [x0, #168]
        stp x23, x24, [x0, #184]
        stp x25, x26, [x0, #200]
        stp x27, x28, [x0, #216]
        stp x29, x30, [x0, #232]
        mrs x1, tpidr_el0
        str x1, [x0]
        mov x1, sp
        str x1, [x0, #248]
        mrs x1, fpsr
        str x1, [x0, #256]
        adrp x9, g_sig; ldr x1, [x9, :lo12:g_sig]
        str x1, [x0, #264]
        add x3, x0, #272
        mov x2, #BUF & 0xffff
        movk x2, #BUF >> 16, lsl #16
        mov x4, #32
4:      ldr x5, [x2], #8
        str x5, [x3], #8
        subs x4, x4, #1
        b.ne 4b
        adrp x9, g_in; ldr x1, [x9, :lo12:g_in]
        add x1, x1, #REC
        str x1, [x9, :lo12:g_in]
        adrp x9, g_out; ldr x1, [x9, :lo12:g_out]
        add x1, x1, #REC
        str x1, [x9, :lo12:g_out]
        adrp x9, g_count; ldr x1, [x9, :lo12:g_count]
        sub x1, x1, #1
        str x1, [x9, :lo12:g_count]
        b next_case

done:
        adrp x9, g_out0; ldr x19, [x9, :lo12:g_out0]
        adrp x9, g_total; ldr x20, [x9, :lo12:g_total]
5:      cbz x20, 6f
        mov x0, #1
        mov x1, x19
        mov x2, x20
        mov x8, #64
        svc #0
        cmp x0, #0
        b.le 6f
        add x19, x19, x0
        sub x20, x20, x0
        b 5b
6:      mov x0, #0
        mov x8, #93
        svc #0

handler:
        adrp x3, g_sig; str x0, [x3, :lo12:g_sig]
        ldr x4, [x2, #440]
        add x4, x4, #4
        str x4, [x2, #440]
        ret

        .data
        .balign 16
g_in: .quad 0
g_out: .quad 0
g_out0: .quad 0
g_count: .quad 0
g_total: .quad 0
g_sig: .quad 0
sa: .space 32
altstack_desc: .space 24
        .bss
        .balign 16
altstack: .space 65536
