//! Floating-point arithmetic on the host's SSE and FMA3 units, used only
//! where the result is provably the architecture's (see
//! [`FloatArith`](crate::ir::FloatArith)): the emitted code checks the host's
//! exception flags and the result, and hands the instruction to the
//! interpreter (the exact software path) otherwise.

use super::Emitter;
use crate::ir::{FloatArith, FloatOp};
use armvm_cpu::state::{fpsr, Regs};
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};
use std::mem::offset_of;

const V: i32 = offset_of!(Regs, v) as i32;
const FPCR: i32 = offset_of!(Regs, fpcr) as i32;
const FPSR: i32 = offset_of!(Regs, fpsr) as i32;

/// MXCSR with every exception masked, round to nearest, no flush-to-zero or
/// denormals-are-zero, and no flags: what the checks start from.
const MXCSR_CLEAR: i32 = 0x1f80;
/// MXCSR flags after which the host's result may differ from the guest's:
/// invalid operation, division by zero, overflow, underflow (x86 detects
/// tininess after rounding, A64 before). Denormal operands are fine: without
/// DAZ and FZ both compute them exactly.
const MXCSR_DIFFERS: i32 = 0x01 | 0x04 | 0x08 | 0x10;
/// MXCSR precision (inexact) flag.
const MXCSR_INEXACT: i32 = 0x20;

fn v(r: u8) -> i32 {
    V + 16 * r as i32
}

impl Emitter<'_> {
    pub(super) fn float(&mut self, f: FloatArith) {
        let bail = self.bail_label(f.insn);
        dynasm!(self.ops
            ; .arch x64
            ; cmp DWORD [rbx + FPCR], 0
            ; jne =>bail
            ; mov DWORD [rsp], MXCSR_CLEAR
            ; ldmxcsr [rsp]
        );
        // Operands: n in xmm0, m in xmm1, the addend in xmm2; the unused
        // parts zero, so that they compute nothing that raises a flag.
        let half = f.scalar || !f.full;
        for (reg, xmm) in [(f.n, 0u8), (f.m, 1), (f.a, 2)] {
            if xmm == 2 && !is_fused(f.op) {
                break;
            }
            match (half, f.scalar && !f.double) {
                (true, true) => dynasm!(self.ops ; .arch x64 ; movd Rx(xmm), DWORD [rbx + v(reg)]),
                (true, false) => dynasm!(self.ops ; .arch x64 ; movq Rx(xmm), QWORD [rbx + v(reg)]),
                _ => dynasm!(self.ops ; .arch x64 ; movdqa Rx(xmm), [rbx + v(reg)]),
            }
        }
        self.float_operation(f);
        // The checks: flags, then NaNs in the result (their propagation
        // rules differ from x86's, and the fused forms' also among
        // themselves).
        dynasm!(self.ops
            ; .arch x64
            ; stmxcsr [rsp]
            ; mov eax, [rsp]
            ; test eax, MXCSR_DIFFERS
            ; jnz =>bail
            ; movaps xmm1, xmm0
        );
        if f.double {
            dynasm!(self.ops ; .arch x64 ; cmpunordpd xmm1, xmm0 ; movmskpd ecx, xmm1);
        } else {
            dynasm!(self.ops ; .arch x64 ; cmpunordps xmm1, xmm0 ; movmskps ecx, xmm1);
        }
        let lanes = if f.scalar { 1 } else { 0xf };
        dynasm!(self.ops
            ; .arch x64
            ; test ecx, lanes
            ; jnz =>bail
            ; and eax, MXCSR_INEXACT
            ; shr eax, 1
            ; or [rbx + FPSR], eax
        );
        const _: () = assert!(MXCSR_INEXACT >> 1 == fpsr::IXC as i32);
        if half {
            dynasm!(self.ops ; .arch x64 ; movq xmm0, xmm0);
        }
        dynasm!(self.ops ; .arch x64 ; movdqa [rbx + v(f.d)], xmm0);
    }

    /// `xmm0 = xmm0 op xmm1` (with `xmm2` the addend of the fused forms).
    fn float_operation(&mut self, f: FloatArith) {
        let packed = !f.scalar;
        match (f.op, f.double, packed) {
            (FloatOp::Add, true, false) => dynasm!(self.ops ; .arch x64 ; addsd xmm0, xmm1),
            (FloatOp::Add, false, false) => dynasm!(self.ops ; .arch x64 ; addss xmm0, xmm1),
            (FloatOp::Add, true, true) => dynasm!(self.ops ; .arch x64 ; addpd xmm0, xmm1),
            (FloatOp::Add, false, true) => dynasm!(self.ops ; .arch x64 ; addps xmm0, xmm1),
            (FloatOp::Sub, true, false) => dynasm!(self.ops ; .arch x64 ; subsd xmm0, xmm1),
            (FloatOp::Sub, false, false) => dynasm!(self.ops ; .arch x64 ; subss xmm0, xmm1),
            (FloatOp::Sub, true, true) => dynasm!(self.ops ; .arch x64 ; subpd xmm0, xmm1),
            (FloatOp::Sub, false, true) => dynasm!(self.ops ; .arch x64 ; subps xmm0, xmm1),
            (FloatOp::Mul, true, false) => dynasm!(self.ops ; .arch x64 ; mulsd xmm0, xmm1),
            (FloatOp::Mul, false, false) => dynasm!(self.ops ; .arch x64 ; mulss xmm0, xmm1),
            (FloatOp::Mul, true, true) => dynasm!(self.ops ; .arch x64 ; mulpd xmm0, xmm1),
            (FloatOp::Mul, false, true) => dynasm!(self.ops ; .arch x64 ; mulps xmm0, xmm1),
            (FloatOp::Div, true, false) => dynasm!(self.ops ; .arch x64 ; divsd xmm0, xmm1),
            (FloatOp::Div, false, false) => dynasm!(self.ops ; .arch x64 ; divss xmm0, xmm1),
            (FloatOp::Div, true, true) => dynasm!(self.ops ; .arch x64 ; divpd xmm0, xmm1),
            (FloatOp::Div, false, true) => dynasm!(self.ops ; .arch x64 ; divps xmm0, xmm1),
            (fused, double, packed) => {
                // xmm2 = ±(xmm0 * xmm1) ± xmm2, rounded once: VFM*231 with
                // VEX.W selecting double precision. Encoded here because the
                // assembler drops VEX.W for these (it emitted the single
                // precision form for VFMADD231PD).
                let opcode = match fused {
                    FloatOp::MulAdd => 0xb8,    // VFMADD231
                    FloatOp::MulSub => 0xbc,    // VFNMADD231: -(n*m) + a
                    FloatOp::NegMulAdd => 0xbe, // VFNMSUB231: -(n*m) - a
                    _ => 0xba,                  // VFMSUB231: n*m - a
                } + !packed as u8;
                let w_vvvv_l_pp = if double { 0xf9 } else { 0x79 };
                // C4 (three-byte VEX), RXB=111 map 0F38, W vvvv=~xmm0 L=0 pp=66,
                // opcode, ModRM reg=xmm2 rm=xmm1.
                self.ops.extend([0xc4, 0xe2, w_vvvv_l_pp, opcode, 0xd1]);
                dynasm!(self.ops ; .arch x64 ; movaps xmm0, xmm2);
            }
        }
    }
}

fn is_fused(op: FloatOp) -> bool {
    matches!(
        op,
        FloatOp::MulAdd | FloatOp::MulSub | FloatOp::NegMulAdd | FloatOp::NegMulSub
    )
}
