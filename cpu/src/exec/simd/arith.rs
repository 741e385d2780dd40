//! Integer arithmetic: three same, pairwise, three different, two-register
//! miscellaneous, across lanes and by element, vector and scalar.
//!
//! Intermediate results are computed in `i128`, wide enough for any product or
//! sum of two 64-bit values, so the pseudocode's unbounded integers never wrap.

use std::cell::Cell;

use super::{
    datasize, elem, half, int, map1, map2, map3, ones, pack, sat, set_qc, sext, shape, unpack,
    write_part,
};
use crate::cpu::Cpu;
use crate::decode::{Insn, SimdOp};

/// Result of a comparison: all ones or zero.
#[inline(always)]
fn mask_if(c: bool) -> u64 {
    if c {
        u64::MAX
    } else {
        0
    }
}

/// Shift of `x` by the signed low byte of `shift_reg`, as SSHL, USHL, SRSHL,
/// URSHL, SQSHL, UQSHL, SQRSHL and UQRSHL do: positive shifts go left (saturating
/// if `saturate`), negative ones right (rounding if `round`).
pub(super) fn shift_by_reg(
    x: u64,
    shift_reg: u64,
    esize: u32,
    unsigned: bool,
    round: bool,
    saturate: bool,
    qc: &Cell<bool>,
) -> u64 {
    let shift = shift_reg as u8 as i8 as i32;
    let v = int(x, esize, unsigned);
    if shift >= 0 {
        let s = shift as u32;
        if saturate {
            shl_sat(v, s, esize, unsigned, qc)
        } else if s >= esize {
            0
        } else {
            (x << s) & ones(esize)
        }
    } else {
        // Shifting an operand of at most 64 bits right by 127 or 128 gives the same
        // result, and the rounding constant 2^126 still fits in an i128.
        let s = ((-shift) as u32).min(127);
        let r = if round {
            (v + (1i128 << (s - 1))) >> s
        } else {
            v >> s
        };
        if saturate {
            sat(r, esize, unsigned, qc)
        } else {
            r as u64 & ones(esize)
        }
    }
}

/// SatQ(v << s): `v` (at most 64 significant bits) shifted left and saturated to
/// `esize` bits.
pub(super) fn shl_sat(v: i128, s: u32, esize: u32, unsigned: bool, qc: &Cell<bool>) -> u64 {
    if v == 0 {
        0
    } else if s >= esize {
        // Any non-zero value overflows; the sign picks the bound.
        sat(
            if v > 0 { i128::MAX } else { i128::MIN },
            esize,
            unsigned,
            qc,
        )
    } else {
        sat(v << s, esize, unsigned, qc)
    }
}

/// Polynomial (carry-less) multiplication of two 8-bit values.
fn pmul8(a: u64, b: u64) -> u64 {
    (0..8).fold(
        0,
        |acc, k| if b >> k & 1 != 0 { acc ^ (a << k) } else { acc },
    )
}

/// The doubling multiply high half: SQDMULH, SQRDMULH.
#[inline(always)]
fn qdmulh(a: u64, b: u64, esize: u32, round: bool, qc: &Cell<bool>) -> u64 {
    let p = 2 * int(a, esize, false) * int(b, esize, false);
    let r = if round { 1i128 << (esize - 1) } else { 0 };
    sat((p + r) >> esize, esize, false, qc)
}

/// Three same (integer), vector and scalar: the element-wise operations.
pub(super) fn three_same(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    if !i.bit(28) {
        let (es, count) = shape(i);
        let (n, m, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()], cpu.regs.v[i.rd()]);
        if let Some(r) = super::lanes::three_same(op, es, i.bit(29), d, n, m) {
            cpu.regs.v[i.rd()] = super::truncate(r, es * count);
            return;
        }
    }
    three_same_generic(cpu, i, op);
}

/// [`three_same`] element by element, for every operation.
pub(super) fn three_same_generic(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let (es, count) = shape(i);
    let u = i.bit(29);
    let (n, m, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()], cpu.regs.v[i.rd()]);
    let qc = Cell::new(false);
    let x = |v: u64| int(v, es, u);
    let bitwise = |r: u128| super::truncate(r, es * count);
    let r = match op {
        Hadd => map2(n, m, es, count, |a, b| ((x(a) + x(b)) >> 1) as u64),
        Rhadd => map2(n, m, es, count, |a, b| ((x(a) + x(b) + 1) >> 1) as u64),
        Hsub => map2(n, m, es, count, |a, b| ((x(a) - x(b)) >> 1) as u64),
        Qadd => map2(n, m, es, count, |a, b| sat(x(a) + x(b), es, u, &qc)),
        Qsub => map2(n, m, es, count, |a, b| sat(x(a) - x(b), es, u, &qc)),
        And => bitwise(n & m),
        Bic => bitwise(n & !m),
        Orr => bitwise(n | m),
        Orn => bitwise(n | !m),
        Eor => bitwise(n ^ m),
        Bsl => bitwise((d & n) | (!d & m)),
        Bit => bitwise((d & !m) | (n & m)),
        Bif => bitwise((d & m) | (n & !m)),
        CmGt => map2(n, m, es, count, |a, b| mask_if(x(a) > x(b))),
        CmGe => map2(n, m, es, count, |a, b| mask_if(x(a) >= x(b))),
        Shl => map2(n, m, es, count, |a, b| {
            shift_by_reg(a, b, es, u, false, false, &qc)
        }),
        Qshl => map2(n, m, es, count, |a, b| {
            shift_by_reg(a, b, es, u, false, true, &qc)
        }),
        Rshl => map2(n, m, es, count, |a, b| {
            shift_by_reg(a, b, es, u, true, false, &qc)
        }),
        Qrshl => map2(n, m, es, count, |a, b| {
            shift_by_reg(a, b, es, u, true, true, &qc)
        }),
        Max => map2(n, m, es, count, |a, b| x(a).max(x(b)) as u64),
        Min => map2(n, m, es, count, |a, b| x(a).min(x(b)) as u64),
        Abd => map2(n, m, es, count, |a, b| (x(a) - x(b)).unsigned_abs() as u64),
        Aba => map3(d, n, m, es, count, |acc, a, b| {
            acc.wrapping_add((x(a) - x(b)).unsigned_abs() as u64)
        }),
        Add => map2(n, m, es, count, |a, b| a.wrapping_add(b)),
        Sub => map2(n, m, es, count, |a, b| a.wrapping_sub(b)),
        Cmtst => map2(n, m, es, count, |a, b| mask_if(a & b != 0)),
        Cmeq => map2(n, m, es, count, |a, b| mask_if(a == b)),
        Mla => map3(d, n, m, es, count, |acc, a, b| {
            acc.wrapping_add(a.wrapping_mul(b))
        }),
        Mls => map3(d, n, m, es, count, |acc, a, b| {
            acc.wrapping_sub(a.wrapping_mul(b))
        }),
        Mul => map2(n, m, es, count, |a, b| a.wrapping_mul(b)),
        Pmul => map2(n, m, es, count, pmul8),
        Sqdmulh => map2(n, m, es, count, |a, b| qdmulh(a, b, es, false, &qc)),
        _ => map2(n, m, es, count, |a, b| qdmulh(a, b, es, true, &qc)),
    };
    cpu.regs.v[i.rd()] = r;
    set_qc(cpu, &qc);
}

/// ADDP (vector and scalar), SMAXP/UMAXP, SMINP/UMINP: operations on adjacent
/// pairs of the concatenation Vm:Vn.
pub(super) fn pairwise(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let (es, count) = shape(i);
    let u = i.bit(29);
    let (n, m) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()]);
    let f = |a: u64, b: u64| match op {
        SimdOp::Maxp => int(a, es, u).max(int(b, es, u)) as u64,
        SimdOp::Minp => int(a, es, u).min(int(b, es, u)) as u64,
        _ => a.wrapping_add(b),
    };
    cpu.regs.v[i.rd()] = if i.bit(28) {
        // ADDP (scalar): Dd = Vn.D[0] + Vn.D[1].
        f(n as u64, (n >> 64) as u64) as u128
    } else {
        let (a, b) = (unpack(n, es), unpack(m, es));
        let half = count as usize / 2;
        let mut r = [0u64; 16];
        for e in 0..half {
            r[e] = f(a[2 * e], a[2 * e + 1]);
            r[half + e] = f(b[2 * e], b[2 * e + 1]);
        }
        pack(&r, es, count)
    };
}

/// Three different: widening, narrowing and long multiply-accumulate forms
/// (and the scalar SQDMLAL, SQDMLSL, SQDMULL). `esize` is the narrow size.
pub(super) fn three_different(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    if !i.bit(28) {
        let (n, m, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()], cpu.regs.v[i.rd()]);
        let upper = i.bit(30);
        let (nh, mh) = (half(n, upper), half(m, upper));
        let es = 8 << i.bits(23, 22);
        if let Some(r) = super::lanes::widening(op, es, i.bit(29), nh, mh, n, d) {
            cpu.regs.v[i.rd()] = r;
            return;
        }
    }
    three_different_generic(cpu, i, op);
}

/// [`three_different`] element by element, for every operation.
pub(super) fn three_different_generic(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let es = 8 << i.bits(23, 22);
    let wide = 2 * es;
    let scalar = i.bit(28);
    let part = i.bit(30) && !scalar;
    let count = if scalar { 1 } else { 64 / es };
    let u = i.bit(29);
    let (n, m, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()], cpu.regs.v[i.rd()]);
    let qc = Cell::new(false);
    let (nw, mw) = (unpack(n, wide), unpack(m, wide));
    let mut r = [0u64; 16];
    if let AddHn | SubHn = op {
        // Narrowing high half: operands are wide; round if U (RADDHN, RSUBHN).
        let round = if u { 1u128 << (es - 1) } else { 0 };
        for e in 0..count as usize {
            let (a, b) = (nw[e] as u128, mw[e] as u128);
            let s = if op == AddHn {
                a.wrapping_add(b)
            } else {
                a.wrapping_sub(b)
            };
            r[e] = (s.wrapping_add(round) >> es) as u64;
        }
        write_part(cpu, i.rd(), part, pack(&r, es, count));
        return;
    }
    let (nh, mh) = (unpack(half(n, part), es), unpack(half(m, part), es));
    let dw = unpack(d, wide);
    let xw = |v: u64| int(v, wide, u);
    let x = |v: u64| int(v, es, u);
    for e in 0..count as usize {
        let (a, b, acc) = (nh[e], mh[e], dw[e]);
        let prod = || x(a) * x(b);
        let dbl = || sat(2 * int(a, es, false) * int(b, es, false), wide, false, &qc);
        let sacc = sext(acc, wide) as i128;
        r[e] = match op {
            AddL => (x(a) + x(b)) as u64,
            SubL => (x(a) - x(b)) as u64,
            AddW => (xw(nw[e]) + x(b)) as u64,
            SubW => (xw(nw[e]) - x(b)) as u64,
            AbaL => acc.wrapping_add((x(a) - x(b)).unsigned_abs() as u64),
            AbdL => (x(a) - x(b)).unsigned_abs() as u64,
            MlaL => acc.wrapping_add(prod() as u64),
            MlsL => acc.wrapping_sub(prod() as u64),
            MulL => prod() as u64,
            SqdmulL => dbl(),
            SqdmlaL => sat(sacc + sext(dbl(), wide) as i128, wide, false, &qc),
            SqdmlsL => sat(sacc - sext(dbl(), wide) as i128, wide, false, &qc),
            _ => pmul8(a, b),
        };
    }
    cpu.regs.v[i.rd()] = pack(&r, wide, count);
    set_qc(cpu, &qc);
}

/// Two-register miscellaneous, element-wise (vector and scalar).
pub(super) fn two_reg_misc(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let (es, count) = shape(i);
    let (n, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rd()]);
    let qc = Cell::new(false);
    let s = |v: u64| sext(v, es) as i128;
    let r = match op {
        Rev64 | Rev32 | Rev16 => {
            let container = match op {
                Rev64 => 64,
                Rev32 => 32,
                _ => 16,
            };
            // Reversing elements within each container is XOR of the element index
            // with (elements per container - 1).
            let flip = (container / es - 1) as usize;
            let a = unpack(n, es);
            let mut r = [0u64; 16];
            for e in 0..count as usize {
                r[e ^ flip] = a[e];
            }
            pack(&r, es, count)
        }
        Suqadd => map2(n, d, es, count, |a, acc| {
            sat(int(a, es, true) + s(acc), es, false, &qc)
        }),
        Usqadd => map2(n, d, es, count, |a, acc| {
            sat(s(a) + int(acc, es, true), es, true, &qc)
        }),
        Cls => map1(n, es, count, |a| {
            // Leading bits equal to the sign bit, not counting the sign bit.
            let v = a << (64 - es);
            let t = if (v as i64) < 0 { !v } else { v };
            (t.leading_zeros().min(es) - 1) as u64
        }),
        Clz => map1(n, es, count, |a| {
            (a << (64 - es)).leading_zeros().min(es) as u64
        }),
        Cnt => map1(n, es, count, |a| a.count_ones() as u64),
        Not => super::truncate(!n, es * count),
        // RBIT's size field (01) only tells it from NOT: the elements are bytes.
        Rbit => map1(n, 8, datasize(i) / 8, |a| (a as u8).reverse_bits() as u64),
        Sqabs => map1(n, es, count, |a| sat(s(a).abs(), es, false, &qc)),
        Sqneg => map1(n, es, count, |a| sat(-s(a), es, false, &qc)),
        Abs => map1(n, es, count, |a| s(a).unsigned_abs() as u64),
        Neg => map1(n, es, count, |a| a.wrapping_neg()),
        CmGtZero => map1(n, es, count, |a| mask_if(s(a) > 0)),
        CmGeZero => map1(n, es, count, |a| mask_if(s(a) >= 0)),
        CmEqZero => map1(n, es, count, |a| mask_if(a == 0)),
        CmLeZero => map1(n, es, count, |a| mask_if(s(a) <= 0)),
        _ => map1(n, es, count, |a| mask_if(s(a) < 0)),
    };
    cpu.regs.v[i.rd()] = r;
    set_qc(cpu, &qc);
}

/// SADDLP, UADDLP, SADALP, UADALP: adjacent pairs added into double-width
/// elements (and accumulated).
pub(super) fn add_long_pairwise(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let es = 8 << i.bits(23, 22);
    let count = datasize(i) / (2 * es);
    let u = i.bit(29);
    let (a, acc) = (
        unpack(cpu.regs.v[i.rn()], es),
        unpack(cpu.regs.v[i.rd()], 2 * es),
    );
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        let sum = (int(a[2 * e], es, u) + int(a[2 * e + 1], es, u)) as u64;
        r[e] = if op == SimdOp::AdaLp {
            sum.wrapping_add(acc[e])
        } else {
            sum
        };
    }
    cpu.regs.v[i.rd()] = pack(&r, 2 * es, count);
}

/// XTN, SQXTN, UQXTN, SQXTUN (vector and scalar): narrow to `esize`.
pub(super) fn extract_narrow(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let es = 8 << i.bits(23, 22);
    let scalar = i.bit(28);
    let count = if scalar { 1 } else { 64 / es };
    let part = i.bit(30) && !scalar;
    let u = i.bit(29);
    let n = unpack(cpu.regs.v[i.rn()], 2 * es);
    let qc = Cell::new(false);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        let a = n[e];
        r[e] = match op {
            SimdOp::Xtn => a,
            SimdOp::Qxtn => sat(int(a, 2 * es, u), es, u, &qc),
            _ => sat(int(a, 2 * es, false), es, true, &qc),
        };
    }
    write_part(cpu, i.rd(), part, pack(&r, es, count));
    set_qc(cpu, &qc);
}

/// SHLL, SHLL2: widen and shift left by the element size.
pub(super) fn shll(cpu: &mut Cpu, i: Insn) {
    let es = 8 << i.bits(23, 22);
    let nh = half(cpu.regs.v[i.rn()], i.bit(30));
    // USHLL by the element size: the extension is shifted out either way.
    if let Some(r) = super::lanes::shift_long(es, true, es, nh) {
        cpu.regs.v[i.rd()] = r;
        return;
    }
    let count = 64 / es;
    let n = unpack(nh, es);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        r[e] = n[e] << es;
    }
    cpu.regs.v[i.rd()] = pack(&r, 2 * es, count);
}

/// ADDV, SADDLV, UADDLV, SMAXV, UMAXV, SMINV, UMINV.
pub(super) fn across_lanes(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let es = 8 << i.bits(23, 22);
    let count = (datasize(i) / es) as usize;
    let u = i.bit(29);
    let n = unpack(cpu.regs.v[i.rn()], es);
    let values = n[..count].iter().map(|&x| int(x, es, u));
    let r = match op {
        SimdOp::AddV => values.sum::<i128>() as u64 & ones(es),
        SimdOp::AddLv => values.sum::<i128>() as u64 & ones(2 * es),
        SimdOp::MaxV => values.max().unwrap_or(0) as u64 & ones(es),
        _ => values.min().unwrap_or(0) as u64 & ones(es),
    };
    cpu.regs.v[i.rd()] = r as u128;
}

/// The element size, register Vm and index of the by-element forms. With 16-bit
/// elements only V0-V15 are addressable and the index is H:L:M; with 32-bit
/// elements M is the top bit of the register number and the index is H:L.
fn elem_operand(i: Insn) -> (u32, usize, u32) {
    let hl = (i.bits(11, 11) << 1) | i.bits(21, 21);
    if i.bits(23, 22) == 1 {
        (16, i.bits(19, 16) as usize, (hl << 1) | i.bits(20, 20))
    } else {
        (32, i.rm(), hl)
    }
}

/// MUL, MLA, MLS, SQDMULH, SQRDMULH (by element; the last two also scalar).
pub(super) fn by_element(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let (es, rm, index) = elem_operand(i);
    let count = if i.bit(28) { 1 } else { datasize(i) / es };
    let b = elem(cpu.regs.v[rm], index, es);
    let (n, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rd()]);
    let qc = Cell::new(false);
    let r = match op {
        SimdOp::MulElem => map1(n, es, count, |a| a.wrapping_mul(b)),
        SimdOp::MlaElem => map2(n, d, es, count, |a, acc| {
            acc.wrapping_add(a.wrapping_mul(b))
        }),
        SimdOp::MlsElem => map2(n, d, es, count, |a, acc| {
            acc.wrapping_sub(a.wrapping_mul(b))
        }),
        SimdOp::SqdmulhElem => map1(n, es, count, |a| qdmulh(a, b, es, false, &qc)),
        _ => map1(n, es, count, |a| qdmulh(a, b, es, true, &qc)),
    };
    cpu.regs.v[i.rd()] = r;
    set_qc(cpu, &qc);
}

/// SMULL, UMULL, SMLAL, UMLAL, SMLSL, UMLSL, SQDMULL, SQDMLAL, SQDMLSL (by
/// element; the SQD forms also scalar).
pub(super) fn by_element_long(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    use SimdOp::*;
    let (es, rm, index) = elem_operand(i);
    let wide = 2 * es;
    let scalar = i.bit(28);
    let part = i.bit(30) && !scalar;
    let count = if scalar { 1 } else { 64 / es };
    let u = i.bit(29);
    let b = elem(cpu.regs.v[rm], index, es);
    let n = unpack(half(cpu.regs.v[i.rn()], part), es);
    let d = unpack(cpu.regs.v[i.rd()], wide);
    let qc = Cell::new(false);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        let (a, acc) = (n[e], d[e]);
        let prod = int(a, es, u) * int(b, es, u);
        let dbl = || sat(2 * int(a, es, false) * int(b, es, false), wide, false, &qc);
        let sacc = sext(acc, wide) as i128;
        r[e] = match op {
            MulLElem => prod as u64,
            MlaLElem => acc.wrapping_add(prod as u64),
            MlsLElem => acc.wrapping_sub(prod as u64),
            SqdmulLElem => dbl(),
            SqdmlaLElem => sat(sacc + sext(dbl(), wide) as i128, wide, false, &qc),
            _ => sat(sacc - sext(dbl(), wide) as i128, wide, false, &qc),
        };
    }
    cpu.regs.v[i.rd()] = pack(&r, wide, count);
    set_qc(cpu, &qc);
}

#[cfg(test)]
mod tests;
