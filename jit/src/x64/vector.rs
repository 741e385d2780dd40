//! Vector operations on SSE2 (SSE4.1 where the frontend was told the host
//! has it). Guest vector registers are read and written in place in
//! [`Regs::v`](armvm_cpu::state::Regs), which is 16-byte aligned, so they can
//! be memory operands; `xmm0`-`xmm2` are scratch.

use super::Emitter;
use crate::ir::{VecOp, VecShift, VectorOp};
use armvm_cpu::state::Regs;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi};
use std::mem::offset_of;

const V: i32 = offset_of!(Regs, v) as i32;

/// The offset of guest vector register `r` from `rbx`.
fn v(r: u8) -> i32 {
    V + 16 * r as i32
}

impl Emitter<'_> {
    pub(super) fn vector(&mut self, op: VectorOp) {
        match op {
            VectorOp::Lanes {
                op,
                esize,
                full,
                d,
                n,
                m,
            } => {
                self.lanes(op, esize, v(n), v(m));
                self.store_result(d, full);
            }
            VectorOp::Shift {
                op,
                esize,
                full,
                d,
                n,
                amount,
            } => {
                dynasm!(self.ops ; .arch x64 ; movdqa xmm0, [rbx + v(n)]);
                self.shift(op, esize, amount as i8);
                self.store_result(d, full);
            }
            VectorOp::Widen {
                signed,
                upper,
                esize,
                d,
                n,
                shift,
            } => {
                self.widen(signed, upper, esize, v(n));
                if shift != 0 {
                    self.shift(VecShift::Left, 2 * esize, shift as i8);
                }
                self.store_result(d, true);
            }
            VectorOp::WidenArith {
                sub,
                signed,
                upper,
                esize,
                wide_n,
                d,
                n,
                m,
            } => {
                // xmm1 = the first operand (wide), xmm0 = the second, widened.
                if wide_n {
                    dynasm!(self.ops ; .arch x64 ; movdqa xmm1, [rbx + v(n)]);
                } else {
                    self.widen(signed, upper, esize, v(n));
                    dynasm!(self.ops ; .arch x64 ; movdqa xmm1, xmm0);
                }
                self.widen(signed, upper, esize, v(m));
                let wide = if sub { VecOp::Sub } else { VecOp::Add };
                // xmm1 op= xmm0
                self.lanes_registers(wide, 2 * esize);
                dynasm!(self.ops ; .arch x64 ; movdqa xmm0, xmm1);
                self.store_result(d, true);
            }
            VectorOp::MulLong {
                signed,
                upper,
                accumulate,
                esize,
                d,
                n,
                m,
            } => {
                self.multiply_long(signed, upper, esize, v(n), v(m));
                if accumulate {
                    match esize {
                        2 => dynasm!(self.ops ; .arch x64 ; paddd xmm0, [rbx + v(d)]),
                        _ => dynasm!(self.ops ; .arch x64 ; paddq xmm0, [rbx + v(d)]),
                    }
                }
                self.store_result(d, true);
            }
            VectorOp::Const { d, value } => {
                let (low, high) = (value as u64 as i64, (value >> 64) as u64 as i64);
                dynasm!(self.ops
                    ; .arch x64
                    ; mov rax, QWORD low
                    ; mov [rbx + v(d)], rax
                    ; mov rax, QWORD high
                    ; mov [rbx + v(d) + 8], rax
                );
            }
        }
    }

    /// `xmm0` into guest register `d`, the high half cleared unless `full`.
    fn store_result(&mut self, d: u8, full: bool) {
        if !full {
            dynasm!(self.ops ; .arch x64 ; movq xmm0, xmm0);
        }
        dynasm!(self.ops ; .arch x64 ; movdqa [rbx + v(d)], xmm0);
    }

    /// `xmm0 = [n] op [m]`.
    fn lanes(&mut self, op: VecOp, esize: u8, n: i32, m: i32) {
        match op {
            VecOp::AndNot => {
                // PANDN complements its destination.
                dynasm!(self.ops ; .arch x64 ; movdqa xmm0, [rbx + m] ; pandn xmm0, [rbx + n]);
                return;
            }
            VecOp::OrNot => {
                dynasm!(self.ops
                    ; .arch x64
                    ; movdqa xmm0, [rbx + m]
                    ; pcmpeqd xmm1, xmm1
                    ; pxor xmm0, xmm1
                    ; por xmm0, [rbx + n]
                );
                return;
            }
            _ => {}
        }
        dynasm!(self.ops ; .arch x64 ; movdqa xmm1, [rbx + n] ; movdqa xmm0, [rbx + m]);
        self.lanes_registers(op, esize);
        dynasm!(self.ops ; .arch x64 ; movdqa xmm0, xmm1);
    }

    /// `xmm1 = xmm1 op xmm0`.
    fn lanes_registers(&mut self, op: VecOp, esize: u8) {
        match (op, esize) {
            (VecOp::Add, 1) => dynasm!(self.ops ; .arch x64 ; paddb xmm1, xmm0),
            (VecOp::Add, 2) => dynasm!(self.ops ; .arch x64 ; paddw xmm1, xmm0),
            (VecOp::Add, 4) => dynasm!(self.ops ; .arch x64 ; paddd xmm1, xmm0),
            (VecOp::Add, _) => dynasm!(self.ops ; .arch x64 ; paddq xmm1, xmm0),
            (VecOp::Sub, 1) => dynasm!(self.ops ; .arch x64 ; psubb xmm1, xmm0),
            (VecOp::Sub, 2) => dynasm!(self.ops ; .arch x64 ; psubw xmm1, xmm0),
            (VecOp::Sub, 4) => dynasm!(self.ops ; .arch x64 ; psubd xmm1, xmm0),
            (VecOp::Sub, _) => dynasm!(self.ops ; .arch x64 ; psubq xmm1, xmm0),
            (VecOp::And, _) => dynasm!(self.ops ; .arch x64 ; pand xmm1, xmm0),
            (VecOp::Or, _) => dynasm!(self.ops ; .arch x64 ; por xmm1, xmm0),
            (VecOp::Xor, _) => dynasm!(self.ops ; .arch x64 ; pxor xmm1, xmm0),
            (VecOp::CmpEq, 1) => dynasm!(self.ops ; .arch x64 ; pcmpeqb xmm1, xmm0),
            (VecOp::CmpEq, 2) => dynasm!(self.ops ; .arch x64 ; pcmpeqw xmm1, xmm0),
            (VecOp::CmpEq, 4) => dynasm!(self.ops ; .arch x64 ; pcmpeqd xmm1, xmm0),
            (VecOp::CmpEq, _) => dynasm!(self.ops ; .arch x64 ; pcmpeqq xmm1, xmm0),
            (VecOp::Mul, 2) => dynasm!(self.ops ; .arch x64 ; pmullw xmm1, xmm0),
            (VecOp::Mul, _) => dynasm!(self.ops ; .arch x64 ; pmulld xmm1, xmm0),
            (VecOp::AndNot | VecOp::OrNot, _) => unreachable!("lowered in `lanes`"),
        }
    }

    /// `xmm0 = xmm0 shifted` by `k`, lanes of `esize` (2, 4 or 8) bytes.
    fn shift(&mut self, op: VecShift, esize: u8, k: i8) {
        match (op, esize) {
            (VecShift::Left, 2) => dynasm!(self.ops ; .arch x64 ; psllw xmm0, k),
            (VecShift::Left, 4) => dynasm!(self.ops ; .arch x64 ; pslld xmm0, k),
            (VecShift::Left, _) => dynasm!(self.ops ; .arch x64 ; psllq xmm0, k),
            (VecShift::RightLogical, 2) => dynasm!(self.ops ; .arch x64 ; psrlw xmm0, k),
            (VecShift::RightLogical, 4) => dynasm!(self.ops ; .arch x64 ; psrld xmm0, k),
            (VecShift::RightLogical, _) => dynasm!(self.ops ; .arch x64 ; psrlq xmm0, k),
            (VecShift::RightArithmetic, 2) => dynasm!(self.ops ; .arch x64 ; psraw xmm0, k),
            (VecShift::RightArithmetic, _) => dynasm!(self.ops ; .arch x64 ; psrad xmm0, k),
        }
    }

    /// `xmm0` = the low (or high) half of `[n]` widened from `esize` bytes.
    fn widen(&mut self, signed: bool, upper: bool, esize: u8, n: i32) {
        dynasm!(self.ops ; .arch x64 ; movdqa xmm0, [rbx + n]);
        if upper {
            dynasm!(self.ops ; .arch x64 ; psrldq xmm0, 8);
        }
        match (signed, esize) {
            (false, _) => {
                dynasm!(self.ops ; .arch x64 ; pxor xmm2, xmm2);
                match esize {
                    1 => dynasm!(self.ops ; .arch x64 ; punpcklbw xmm0, xmm2),
                    2 => dynasm!(self.ops ; .arch x64 ; punpcklwd xmm0, xmm2),
                    _ => dynasm!(self.ops ; .arch x64 ; punpckldq xmm0, xmm2),
                }
            }
            // Each element next to a copy of itself, then shifted down
            // arithmetically; for words, next to its sign.
            (true, 1) => dynasm!(self.ops ; .arch x64 ; punpcklbw xmm0, xmm0 ; psraw xmm0, 8),
            (true, 2) => dynasm!(self.ops ; .arch x64 ; punpcklwd xmm0, xmm0 ; psrad xmm0, 16),
            (true, _) => dynasm!(self.ops
                ; .arch x64
                ; movdqa xmm2, xmm0
                ; psrad xmm2, 31
                ; punpckldq xmm0, xmm2
            ),
        }
    }

    /// `xmm0` = products of the low (or high) halves' lanes of `[n]` and
    /// `[m]` (`esize` 2 or 4), each twice as wide.
    fn multiply_long(&mut self, signed: bool, upper: bool, esize: u8, n: i32, m: i32) {
        if esize == 4 {
            // PMULUDQ/PMULDQ multiply lanes 0 and 2: move the half there.
            let order = if upper { 0xfau8 } else { 0x50 } as i8;
            dynasm!(self.ops
                ; .arch x64
                ; pshufd xmm0, [rbx + n], order
                ; pshufd xmm1, [rbx + m], order
            );
            if signed {
                dynasm!(self.ops ; .arch x64 ; pmuldq xmm0, xmm1);
            } else {
                dynasm!(self.ops ; .arch x64 ; pmuludq xmm0, xmm1);
            }
            return;
        }
        dynasm!(self.ops ; .arch x64 ; movdqa xmm0, [rbx + n] ; movdqa xmm1, [rbx + m]);
        if upper {
            dynasm!(self.ops ; .arch x64 ; psrldq xmm0, 8 ; psrldq xmm1, 8);
        }
        // The low and high halves of each 16-bit product, interleaved.
        dynasm!(self.ops ; .arch x64 ; movdqa xmm2, xmm0 ; pmullw xmm0, xmm1);
        if signed {
            dynasm!(self.ops ; .arch x64 ; pmulhw xmm2, xmm1);
        } else {
            dynasm!(self.ops ; .arch x64 ; pmulhuw xmm2, xmm1);
        }
        dynasm!(self.ops ; .arch x64 ; punpcklwd xmm0, xmm2);
    }

    pub(super) fn vector_load(&mut self, h: u8, o: i32, size: u8, reg: u8) {
        match size {
            16 => dynasm!(self.ops ; .arch x64 ; movdqu xmm0, [Rq(h) + o]),
            8 => dynasm!(self.ops ; .arch x64 ; movq xmm0, QWORD [Rq(h) + o]),
            4 => dynasm!(self.ops ; .arch x64 ; movd xmm0, DWORD [Rq(h) + o]),
            2 => dynasm!(self.ops ; .arch x64 ; movzx eax, WORD [Rq(h) + o] ; movd xmm0, eax),
            _ => dynasm!(self.ops ; .arch x64 ; movzx eax, BYTE [Rq(h) + o] ; movd xmm0, eax),
        }
        dynasm!(self.ops ; .arch x64 ; movdqa [rbx + v(reg)], xmm0);
    }

    pub(super) fn vector_store(&mut self, h: u8, o: i32, size: u8, reg: u8) {
        let r = v(reg);
        match size {
            16 => dynasm!(self.ops ; .arch x64 ; movdqa xmm0, [rbx + r] ; movdqu [Rq(h) + o], xmm0),
            8 => dynasm!(self.ops ; .arch x64 ; mov rax, [rbx + r] ; mov [Rq(h) + o], rax),
            4 => dynasm!(self.ops ; .arch x64 ; mov eax, [rbx + r] ; mov [Rq(h) + o], eax),
            2 => dynasm!(self.ops ; .arch x64 ; mov eax, [rbx + r] ; mov [Rq(h) + o], ax),
            _ => dynasm!(self.ops ; .arch x64 ; mov eax, [rbx + r] ; mov [Rq(h) + o], al),
        }
    }

    pub(super) fn get_vector_part(&mut self, d: u8, reg: u8, size: u8, upper: bool) {
        match (size, upper) {
            (_, true) => dynasm!(self.ops ; .arch x64 ; mov Rq(d), [rbx + v(reg) + 8]),
            (8, false) => dynasm!(self.ops ; .arch x64 ; mov Rq(d), [rbx + v(reg)]),
            _ => dynasm!(self.ops ; .arch x64 ; mov Rd(d), [rbx + v(reg)]),
        }
    }

    pub(super) fn set_vector_part(&mut self, reg: u8, size: u8, upper: bool, s: u8) {
        match (size, upper) {
            (_, true) => dynasm!(self.ops ; .arch x64 ; mov [rbx + v(reg) + 8], Rq(s)),
            (8, false) => dynasm!(self.ops
                ; .arch x64
                ; mov [rbx + v(reg)], Rq(s)
                ; mov QWORD [rbx + v(reg) + 8], 0
            ),
            _ => dynasm!(self.ops
                ; .arch x64
                ; mov eax, Rd(s)
                ; mov [rbx + v(reg)], rax
                ; mov QWORD [rbx + v(reg) + 8], 0
            ),
        }
    }

    pub(super) fn bail_unless_fp_enabled(&mut self, insn: u16) {
        let bail = self.bail_label(insn);
        dynasm!(self.ops
            ; .arch x64
            ; cmp QWORD [r12 + armvm_cpu::native::NativeContext::FP_ENABLED as i32], 0
            ; je =>bail
        );
    }
}
