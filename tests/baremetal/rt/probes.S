/*
 * Single memory-access and call probes. Each faulting instruction has a global
 * label so that tests can check ELR_EL1 exactly. A load that faults (and is
 * skipped by the exception handler) returns PROBE_NONE.
 */

    .macro  probe_none reg
    movz    \reg, #0xdead
    movk    \reg, #0xbeef, lsl #16
    movk    \reg, #0x0bad, lsl #32
    movk    \reg, #0xf00d, lsl #48
    .endm

    .macro  load_probe name, insn
    .global \name, \name\()_insn
\name:
    probe_none x1
\name\()_insn:
    \insn
    mov     x0, x1
    ret
    .endm

    .macro  store_probe name, insn
    .global \name, \name\()_insn
\name:
\name\()_insn:
    \insn
    ret
    .endm

    .text
    /* u64 probe_X(u64 va) */
    load_probe probe_ldr64, "ldr x1, [x0]"
    load_probe probe_ldr32, "ldr w1, [x0]"
    load_probe probe_ldrb, "ldrb w1, [x0]"
    load_probe probe_ldxr64, "ldxr x1, [x0]"
    load_probe probe_ldtr64, "ldtr x1, [x0]"
    load_probe probe_ldtrb, "ldtrb w1, [x0]"
    load_probe probe_ldtrsw, "ldtrsw x1, [x0]"
    /* void probe_X(u64 va, u64 value) */
    store_probe probe_str64, "str x1, [x0]"
    store_probe probe_str32, "str w1, [x0]"
    store_probe probe_sttr64, "sttr x1, [x0]"
    store_probe probe_sttrh, "sttrh w1, [x0]"

    /* u64 probe_call(u64 target): calls target; after an exception taken on the
     * way, set exc.resume_pc = probe_call_resume. Returns target's x0. */
    .global probe_call, probe_call_resume
probe_call:
    stp     x29, x30, [sp, #-16]!
    blr     x0
probe_call_resume:
    ldp     x29, x30, [sp], #16
    ret

    /* EL0 versions, for run_el0(fn, va, ...). The store writes va itself. */
    .section .usertext, "ax"
    load_probe user_ldr64, "ldr x1, [x0]"
    store_probe user_str64, "str x0, [x0]"
