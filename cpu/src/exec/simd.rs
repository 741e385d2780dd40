//! Advanced SIMD integer, permute, move and structure load/store (ARM ARM C7,
//! "A64 Advanced SIMD and floating-point instruction descriptions").
//!
//! A vector register is a `u128`; element `e` of `esize` bits is bits
//! `e*esize .. (e+1)*esize`. Scalar forms (bit 28 set) operate on element 0 only.
//! Results are built from zero, so a 64-bit (Q = 0) or scalar result clears the
//! rest of the destination, as writing V[d] with fewer than 128 bits does.
//! Saturating operations set FPSR.QC.
//!
//! The families live in submodules: [`copy`] (DUP, INS, UMOV, SMOV, permutes,
//! EXT, TBL/TBX, modified immediate), [`ldst`] (structure loads and stores),
//! [`arith`] (three same, three different, two-register miscellaneous, across
//! lanes, by element) and [`shift`] (shift by immediate).

mod arith;
mod copy;
mod crypto;
mod lanes;
mod ldst;
mod shift;
#[cfg(test)]
mod testutil;

pub use copy::expand_imm;
use std::cell::Cell;

use super::system::check_fp_enabled;
use super::{ExecResult, Flow};
use crate::cpu::{Cpu, Platform};
use crate::decode::{Insn, SimdOp};
use crate::state::fpsr;

pub fn execute(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn, op: SimdOp) -> ExecResult {
    check_fp_enabled(cpu)?;
    use SimdOp::*;
    match op {
        DupElem | DupGen | InsGen | InsElem | Smov | Umov => copy::copy(cpu, i, op),
        Uzp | Trn | Zip => copy::permute(cpu, i, op),
        Ext => copy::ext(cpu, i),
        Tbl => copy::tbl(cpu, i),
        Movi | Mvni | OrrImm | BicImm | FmovImm => copy::modified_imm(cpu, i, op),
        LdStMulti => return ldst::multiple(cpu, plat, i),
        LdStSingle => return ldst::single(cpu, plat, i),
        LdRepl => return ldst::replicate(cpu, plat, i),
        Hadd | Qadd | Rhadd | And | Bic | Orr | Orn | Eor | Bsl | Bit | Bif | Hsub | Qsub
        | CmGt | CmGe | Shl | Qshl | Rshl | Qrshl | Max | Min | Abd | Aba | Add | Sub | Cmtst
        | Cmeq | Mla | Mls | Mul | Pmul | Sqdmulh | Sqrdmulh => arith::three_same(cpu, i, op),
        Maxp | Minp | Addp => arith::pairwise(cpu, i, op),
        AddL | AddW | SubL | SubW | AddHn | SubHn | AbaL | AbdL | MlaL | MlsL | MulL | SqdmlaL
        | SqdmlsL | SqdmulL | Pmull => arith::three_different(cpu, i, op),
        Pmull64 => crypto::pmull64(cpu, i),
        Aes => crypto::aes(cpu, i),
        ShaThree => crypto::sha_three(cpu, i),
        ShaTwo => crypto::sha_two(cpu, i),
        Rev64 | Rev32 | Rev16 | Suqadd | Usqadd | Cls | Clz | Cnt | Not | Rbit | Sqabs | Sqneg
        | Abs | Neg | CmGtZero | CmGeZero | CmEqZero | CmLeZero | CmLtZero => {
            arith::two_reg_misc(cpu, i, op)
        }
        AddLp | AdaLp => arith::add_long_pairwise(cpu, i, op),
        Xtn | Qxtn | Sqxtun => arith::extract_narrow(cpu, i, op),
        Shll => arith::shll(cpu, i),
        AddLv | MaxV | MinV | AddV => arith::across_lanes(cpu, i, op),
        ShrImm | SraImm | RshrImm | RsraImm | SriImm | ShlImm | SliImm | SqshluImm | QshlImm => {
            shift::shift_imm(cpu, i, op)
        }
        Shrn | Rshrn | Sqshrun | Sqrshrun | Qshrn | Qrshrn => shift::shift_narrow(cpu, i, op),
        ShllImm => shift::shift_long(cpu, i),
        MulElem | MlaElem | MlsElem | SqdmulhElem | SqrdmulhElem => arith::by_element(cpu, i, op),
        MulLElem | MlaLElem | MlsLElem | SqdmulLElem | SqdmlaLElem | SqdmlsLElem => {
            arith::by_element_long(cpu, i, op)
        }
    }
    Ok(Flow::Next)
}

// ---- Elements

/// All ones in the low `esize` bits (1 to 64).
#[inline(always)]
fn ones(esize: u32) -> u64 {
    u64::MAX >> (64 - esize)
}

/// Elem[v, e, esize].
#[inline(always)]
fn elem(v: u128, e: u32, esize: u32) -> u64 {
    (v >> (e * esize)) as u64 & ones(esize)
}

/// `v` with element `e` replaced by the low `esize` bits of `x`.
#[inline(always)]
fn with_elem(v: u128, e: u32, esize: u32, x: u64) -> u128 {
    let shift = e * esize;
    let m = (ones(esize) as u128) << shift;
    (v & !m) | (((x & ones(esize)) as u128) << shift)
}

/// Sign-extends the low `esize` bits of `x`.
#[inline(always)]
fn sext(x: u64, esize: u32) -> i64 {
    ((x << (64 - esize)) as i64) >> (64 - esize)
}

/// Int(x, unsigned): the low `esize` bits of `x` as an integer.
#[inline(always)]
fn int(x: u64, esize: u32, unsigned: bool) -> i128 {
    if unsigned {
        (x & ones(esize)) as i128
    } else {
        sext(x, esize) as i128
    }
}

/// The low `bits` bits of a 128-bit value.
#[inline(always)]
fn truncate(v: u128, bits: u32) -> u128 {
    if bits >= 128 {
        v
    } else {
        v & ((1u128 << bits) - 1)
    }
}

/// SatQ(v, esize, unsigned): `v` clamped to the range of an `esize`-bit integer,
/// noting saturation in `qc`.
#[inline(always)]
fn sat(v: i128, esize: u32, unsigned: bool, qc: &Cell<bool>) -> u64 {
    let (lo, hi) = if unsigned {
        (0, (1i128 << esize) - 1)
    } else {
        (-(1i128 << (esize - 1)), (1i128 << (esize - 1)) - 1)
    };
    let r = if v > hi {
        qc.set(true);
        hi
    } else if v < lo {
        qc.set(true);
        lo
    } else {
        v
    };
    r as u64 & ones(esize)
}

/// Sets FPSR.QC if `qc` is set (it is cumulative: never cleared here).
#[inline(always)]
fn set_qc(cpu: &mut Cpu, qc: &Cell<bool>) {
    if qc.get() {
        cpu.regs.fpsr |= fpsr::QC;
    }
}

/// Vector or scalar operand shape from size (bits 23:22), Q (bit 30) and the
/// scalar bit (28): `(esize, elements)`.
#[inline(always)]
fn shape(i: Insn) -> (u32, u32) {
    let esize = 8 << i.bits(23, 22);
    if i.bit(28) {
        (esize, 1)
    } else {
        (esize, datasize(i) / esize)
    }
}

/// 64 or 128, from Q.
#[inline(always)]
fn datasize(i: Insn) -> u32 {
    if i.bit(30) {
        128
    } else {
        64
    }
}

/// The elements of `v` (`esize` 8 to 64), each zero-extended; unused slots are 0.
/// Fixed-size loops over the little-endian bytes keep this cheap (no variable
/// 128-bit shifts).
#[inline(always)]
fn unpack(v: u128, esize: u32) -> [u64; 16] {
    let b = v.to_le_bytes();
    let mut out = [0u64; 16];
    match esize {
        8 => {
            for (o, &x) in out.iter_mut().zip(b.iter()) {
                *o = x as u64;
            }
        }
        16 => {
            for (o, c) in out.iter_mut().zip(b.chunks_exact(2)) {
                *o = u16::from_le_bytes([c[0], c[1]]) as u64;
            }
        }
        32 => {
            for (o, c) in out.iter_mut().zip(b.chunks_exact(4)) {
                *o = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64;
            }
        }
        _ => {
            out[0] = v as u64;
            out[1] = (v >> 64) as u64;
        }
    }
    out
}

/// The inverse of [`unpack`] for the first `count` elements; the rest of the
/// result is zero.
#[inline(always)]
fn pack(lanes: &[u64; 16], esize: u32, count: u32) -> u128 {
    let mut b = [0u8; 16];
    let lanes = &lanes[..(count as usize).min(16)];
    match esize {
        8 => {
            for (o, &x) in b.iter_mut().zip(lanes) {
                *o = x as u8;
            }
        }
        16 => {
            for (o, &x) in b.chunks_exact_mut(2).zip(lanes) {
                o.copy_from_slice(&(x as u16).to_le_bytes());
            }
        }
        32 => {
            for (o, &x) in b.chunks_exact_mut(4).zip(lanes) {
                o.copy_from_slice(&(x as u32).to_le_bytes());
            }
        }
        _ => {
            for (o, &x) in b.chunks_exact_mut(8).zip(lanes) {
                o.copy_from_slice(&x.to_le_bytes());
            }
        }
    }
    u128::from_le_bytes(b)
}

/// Applies `f` to each element of `n`.
#[inline(always)]
fn map1(n: u128, esize: u32, count: u32, f: impl Fn(u64) -> u64) -> u128 {
    let a = unpack(n, esize);
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        r[e] = f(a[e]);
    }
    pack(&r, esize, count)
}

/// Applies `f` to each pair of elements of `n` and `m`.
#[inline(always)]
fn map2(n: u128, m: u128, esize: u32, count: u32, f: impl Fn(u64, u64) -> u64) -> u128 {
    let (a, b) = (unpack(n, esize), unpack(m, esize));
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        r[e] = f(a[e], b[e]);
    }
    pack(&r, esize, count)
}

/// Applies `f(d, n, m)` to each triple of elements: accumulating operations.
#[inline(always)]
fn map3(
    d: u128,
    n: u128,
    m: u128,
    esize: u32,
    count: u32,
    f: impl Fn(u64, u64, u64) -> u64,
) -> u128 {
    let (acc, a, b) = (unpack(d, esize), unpack(n, esize), unpack(m, esize));
    let mut r = [0u64; 16];
    for e in 0..count as usize {
        r[e] = f(acc[e], a[e], b[e]);
    }
    pack(&r, esize, count)
}

/// Vpart[n, part] for 64-bit halves: the low (part 0) or high (part 1) half.
#[inline(always)]
fn half(v: u128, part: bool) -> u128 {
    if part {
        v >> 64
    } else {
        v as u64 as u128
    }
}

/// Writes a 64-bit narrow result to Vd: the low half with the rest cleared (part
/// 0), or the high half keeping the low half (part 1, the "2" instructions).
#[inline(always)]
fn write_part(cpu: &mut Cpu, d: usize, part: bool, value: u128) {
    let v = &mut cpu.regs.v[d];
    if part {
        *v = (*v as u64 as u128) | (value << 64);
    } else {
        *v = value as u64 as u128;
    }
}
