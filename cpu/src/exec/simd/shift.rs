//! Shift by immediate, vector and scalar: SSHR, USHR, SSRA, USRA, SRSHR, URSHR,
//! SRSRA, URSRA, SRI, SHL, SLI, SQSHLU, SQSHL, UQSHL, the narrowing shifts
//! (SHRN, RSHRN, SQSHRN, UQSHRN, SQRSHRN, UQRSHRN, SQSHRUN, SQRSHRUN) and
//! SSHLL/USHLL.
//!
//! immh (bits 22:19) gives the element size by its highest set bit; immh:immb is
//! `2*esize - shift` for right shifts and `esize + shift` for left shifts.

use std::cell::Cell;

use super::arith::shl_sat;
use super::{datasize, half, int, map1, map2, ones, pack, sat, set_qc, unpack, write_part};
use crate::cpu::Cpu;
use crate::decode::{Insn, SimdOp};

/// `(esize, immh:immb)`. The decode table guarantees immh != 0.
fn imm_shape(i: Insn) -> (u32, u32) {
    let immh = i.bits(22, 19);
    (8 << (31 - immh.leading_zeros()), i.bits(22, 16))
}

/// The rounding constant for a right shift by `shift` (1 to 64).
#[inline(always)]
fn round_const(round: bool, shift: u32) -> i128 {
    if round {
        1i128 << (shift - 1)
    } else {
        0
    }
}

/// The same-width shifts by immediate.
pub(super) fn shift_imm(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    if !i.bit(28) {
        let (es, immhb) = imm_shape(i);
        let (right, left) = ((2 * es).wrapping_sub(immhb), immhb.wrapping_sub(es));
        let (n, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rd()]);
        if let Some(r) = super::lanes::shift_imm(op, es, i.bit(29), right, left, d, n) {
            cpu.regs.v[i.rd()] = super::truncate(r, datasize(i));
            return;
        }
    }
    shift_imm_generic(cpu, i, op);
}

/// [`shift_imm`] element by element, for every operation.
pub(super) fn shift_imm_generic(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let (es, immhb) = imm_shape(i);
    let count = if i.bit(28) { 1 } else { datasize(i) / es };
    let u = i.bit(29);
    // Right shifts are by 1 to esize, left shifts by 0 to esize-1.
    let right = 2 * es - immhb;
    let left = immhb.wrapping_sub(es);
    let (n, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rd()]);
    let qc = Cell::new(false);
    let shr = |a: u64, round: bool| ((int(a, es, u) + round_const(round, right)) >> right) as u64;
    let r = match op {
        ShrImm => map1(n, es, count, |a| shr(a, false)),
        RshrImm => map1(n, es, count, |a| shr(a, true)),
        SraImm => map2(n, d, es, count, |a, acc| acc.wrapping_add(shr(a, false))),
        RsraImm => map2(n, d, es, count, |a, acc| acc.wrapping_add(shr(a, true))),
        SriImm => map2(n, d, es, count, |a, acc| {
            if right >= es {
                acc
            } else {
                let m = ones(es) >> right;
                (acc & !m) | ((a >> right) & m)
            }
        }),
        ShlImm => map1(n, es, count, |a| a << left),
        SliImm => map2(n, d, es, count, |a, acc| {
            let m = ones(es) << left;
            (acc & !m) | ((a << left) & m)
        }),
        SqshluImm => map1(n, es, count, |a| {
            shl_sat(int(a, es, false), left, es, true, &qc)
        }),
        _ => map1(n, es, count, |a| shl_sat(int(a, es, u), left, es, u, &qc)),
    };
    cpu.regs.v[i.rd()] = r;
    set_qc(cpu, &qc);
}

/// Narrowing shifts right, vector (with the "2" forms) and scalar. `esize` is the
/// narrow size; the source elements are twice as wide.
pub(super) fn shift_narrow(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let (es, immhb) = imm_shape(i);
    let scalar = i.bit(28);
    let count = if scalar { 1 } else { 64 / es };
    let part = i.bit(30) && !scalar;
    let shift = 2 * es - immhb;
    let u = i.bit(29);
    let n = unpack(cpu.regs.v[i.rn()], 2 * es);
    let qc = Cell::new(false);
    let round = matches!(op, Rshrn | Sqrshrun | Qrshrn);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        let a = n[e];
        r[e] = match op {
            Shrn | Rshrn => ((int(a, 2 * es, true) + round_const(round, shift)) >> shift) as u64,
            Sqshrun | Sqrshrun => {
                let x = (int(a, 2 * es, false) + round_const(round, shift)) >> shift;
                sat(x, es, true, &qc)
            }
            _ => {
                let x = (int(a, 2 * es, u) + round_const(round, shift)) >> shift;
                sat(x, es, u, &qc)
            }
        };
    }
    write_part(cpu, i.rd(), part, pack(&r, es, count));
    set_qc(cpu, &qc);
}

/// SSHLL, USHLL (and their aliases SXTL, UXTL), with the "2" forms.
pub(super) fn shift_long(cpu: &mut Cpu, i: Insn) {
    let (es, immhb) = imm_shape(i);
    let shift = immhb - es;
    let u = i.bit(29);
    let nh = half(cpu.regs.v[i.rn()], i.bit(30));
    if let Some(r) = super::lanes::shift_long(es, u, shift, nh) {
        cpu.regs.v[i.rd()] = r;
        return;
    }
    shift_long_generic(cpu, i);
}

/// [`shift_long`] element by element.
pub(super) fn shift_long_generic(cpu: &mut Cpu, i: Insn) {
    let (es, immhb) = imm_shape(i);
    let shift = immhb - es;
    let u = i.bit(29);
    let count = 64 / es;
    let n = unpack(half(cpu.regs.v[i.rn()], i.bit(30)), es);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        r[e] = (int(n[e], es, u) << shift) as u64;
    }
    cpu.regs.v[i.rd()] = pack(&r, 2 * es, count);
}

#[cfg(test)]
mod tests;
