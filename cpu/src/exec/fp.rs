//! Floating-point arithmetic and conversions, scalar and vector (ARM ARM C7.2).
//!
//! Every handler reads its operands, runs the ARM pseudocode's element operation
//! from [`soft`] with a context holding FPCR, and ORs the exceptions it raised into
//! FPSR. Element-wise instructions share one shape rule (see [`Shape`]): scalar forms
//! write one element and zero the rest of the register, 64-bit vector forms zero the
//! upper half.

pub mod soft;

use super::system::check_fp_enabled;
use super::{ExecResult, Flow};
use crate::cpu::{Cpu, Platform};
use crate::decode::a64_fp::{Bin, Cmp0, Fma, Rounding, Un};
use crate::decode::{FpOp, Insn};
use soft::{Cond, Fmt, Fpc};

pub fn execute(cpu: &mut Cpu, _plat: &mut dyn Platform, i: Insn, op: FpOp) -> ExecResult {
    check_fp_enabled(cpu)?;
    if moved(cpu, i, op) {
        return Ok(Flow::Next);
    }
    let mut c = Fpc::new(cpu.regs.fpcr);
    c.inexact_already = cpu.regs.fpsr & crate::state::fpsr::IXC != 0;
    run(cpu, &mut c, i, op);
    cpu.regs.fpsr |= c.exc;
    Ok(Flow::Next)
}

/// The plain moves (FMOV between general and FP registers, FMOV register),
/// which compilers use as spare registers in integer code: done without the
/// FP context (they raise no FP exceptions). False for anything else.
#[inline(always)]
fn moved(cpu: &mut Cpu, i: Insn, op: FpOp) -> bool {
    match op {
        FpOp::FmovToGen => {
            let f = shape(i).f;
            cpu.regs.set_xr(i.rd(), elem(cpu.regs.v[i.rn()], 0, f));
        }
        FpOp::FmovFromGen => {
            let f = shape(i).f;
            cpu.regs.v[i.rd()] = put(cpu.regs.xr(i.rn()), 0, f);
        }
        FpOp::Unary(Un::Mov) if i.bit(28) => {
            let f = shape(i).f;
            cpu.regs.v[i.rd()] = put(elem(cpu.regs.v[i.rn()], 0, f), 0, f);
        }
        _ => return false,
    }
    true
}

/// The element format and count of an element-wise instruction.
#[derive(Clone, Copy, Debug)]
struct Shape {
    f: Fmt,
    elems: usize,
}

/// Bit 22 selects double precision (`ftype<0>`, `sz`, `immh<3>`); bit 28 marks the
/// scalar forms; bit 30 is `Q` in the vector forms.
fn shape(i: Insn) -> Shape {
    let f = if i.bit(22) { Fmt::D } else { Fmt::S };
    let elems = if i.bit(28) {
        1
    } else {
        (if i.bit(30) { 128 } else { 64 }) / f.n() as usize
    };
    Shape { f, elems }
}

/// Element `e` of a vector register value.
fn elem(v: u128, e: usize, f: Fmt) -> u64 {
    (v >> (e * f.n() as usize)) as u64 & f.mask()
}

/// Places `x` as element `e`.
fn put(x: u64, e: usize, f: Fmt) -> u128 {
    ((x & f.mask()) as u128) << (e * f.n() as usize)
}

/// All ones in an element: a true comparison.
fn ones(f: Fmt, t: bool) -> u64 {
    if t {
        f.mask()
    } else {
        0
    }
}

/// The element-wise two-operand operations.
fn binary(c: &mut Fpc, f: Fmt, op: Bin, a: u64, b: u64) -> u64 {
    let abs = |x: u64| x & !f.sign_bit();
    match op {
        Bin::Add => soft::add(c, f, a, b),
        Bin::Sub => soft::sub(c, f, a, b),
        Bin::Mul => soft::mul(c, f, a, b),
        Bin::Div => soft::div(c, f, a, b),
        Bin::Max => soft::max_min(c, f, a, b, true),
        Bin::Min => soft::max_min(c, f, a, b, false),
        Bin::MaxNm => soft::max_min_num(c, f, a, b, true),
        Bin::MinNm => soft::max_min_num(c, f, a, b, false),
        Bin::Nmul => soft::mul(c, f, a, b) ^ f.sign_bit(),
        Bin::Mulx => soft::mul_x(c, f, a, b, true),
        Bin::Abd => abs(soft::sub(c, f, a, b)),
        Bin::Recps => soft::step_fused(c, f, a, b, false),
        Bin::Rsqrts => soft::step_fused(c, f, a, b, true),
        Bin::CmEq => ones(f, soft::compare_cond(c, f, a, b, Cond::Eq)),
        Bin::CmGe => ones(f, soft::compare_cond(c, f, a, b, Cond::Ge)),
        Bin::CmGt => ones(f, soft::compare_cond(c, f, a, b, Cond::Gt)),
        Bin::AcGe => ones(f, soft::compare_cond(c, f, abs(a), abs(b), Cond::Ge)),
        Bin::AcGt => ones(f, soft::compare_cond(c, f, abs(a), abs(b), Cond::Gt)),
    }
}

/// The element-wise one-operand operations.
fn unary(c: &mut Fpc, f: Fmt, op: Un, a: u64) -> u64 {
    match op {
        Un::Mov => a,
        Un::Abs => a & !f.sign_bit(),
        Un::Neg => a ^ f.sign_bit(),
        Un::Sqrt => soft::sqrt(c, f, a),
        Un::Rint(r) => soft::round_int(c, f, a, r, false),
        Un::RintX => soft::round_int(c, f, a, c.rounding(), true),
        Un::RintI => soft::round_int(c, f, a, c.rounding(), false),
        Un::Recpe => soft::recip_estimate_fp(c, f, a),
        Un::Rsqrte => soft::rsqrt_estimate_fp(c, f, a),
        Un::Recpx => soft::recpx(c, f, a),
    }
}

/// Comparison with +0.0: `op1 <cond> 0` (LT and LE compare `0 <cond'> op1`).
fn cmp_zero(c: &mut Fpc, f: Fmt, op: Cmp0, a: u64) -> u64 {
    let t = match op {
        Cmp0::Gt => soft::compare_cond(c, f, a, 0, Cond::Gt),
        Cmp0::Ge => soft::compare_cond(c, f, a, 0, Cond::Ge),
        Cmp0::Eq => soft::compare_cond(c, f, a, 0, Cond::Eq),
        Cmp0::Lt => soft::compare_cond(c, f, 0, a, Cond::Gt),
        Cmp0::Le => soft::compare_cond(c, f, 0, a, Cond::Ge),
    };
    ones(f, t)
}

/// Runs `op(element of Vn, element of Vm, element of Vd)` over the shape and writes Vd.
fn map3(
    cpu: &mut Cpu,
    c: &mut Fpc,
    i: Insn,
    mut op: impl FnMut(&mut Fpc, Fmt, u64, u64, u64) -> u64,
) {
    let s = shape(i);
    let (n, m, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()], cpu.regs.v[i.rd()]);
    let mut r = 0u128;
    for e in 0..s.elems {
        let x = op(c, s.f, elem(n, e, s.f), elem(m, e, s.f), elem(d, e, s.f));
        r |= put(x, e, s.f);
    }
    cpu.regs.v[i.rd()] = r;
}

/// The fractional bits of a shift-by-immediate conversion: `2 * esize - immh:immb`.
fn shift_fbits(i: Insn, f: Fmt) -> u32 {
    2 * f.n() - i.bits(22, 16)
}

fn run(cpu: &mut Cpu, c: &mut Fpc, i: Insn, op: FpOp) {
    match op {
        FpOp::Unary(u) => map3(cpu, c, i, |c, f, a, _, _| unary(c, f, u, a)),
        FpOp::Binary(b) => map3(cpu, c, i, |c, f, a, m, _| binary(c, f, b, a, m)),
        FpOp::CmpZero(k) => map3(cpu, c, i, |c, f, a, _, _| cmp_zero(c, f, k, a)),
        FpOp::Fmla { sub } => map3(cpu, c, i, |c, f, a, m, d| {
            let a = if sub { a ^ f.sign_bit() } else { a };
            soft::mul_add(c, f, d, a, m)
        }),
        FpOp::ToInt { rounding, unsigned } => map3(cpu, c, i, |c, f, a, _, _| {
            soft::to_fixed(c, f, a, 0, unsigned, f.n(), rounding)
        }),
        FpOp::FromInt { unsigned } => map3(cpu, c, i, |c, f, a, _, _| {
            let r = c.rounding();
            soft::from_fixed(c, f, a, f.n(), 0, unsigned, r)
        }),
        FpOp::ToFixed { unsigned } => {
            let fbits = shift_fbits(i, shape(i).f);
            map3(cpu, c, i, |c, f, a, _, _| {
                soft::to_fixed(c, f, a, fbits, unsigned, f.n(), Rounding::Zero)
            })
        }
        FpOp::FromFixed { unsigned } => {
            let fbits = shift_fbits(i, shape(i).f);
            map3(cpu, c, i, |c, f, a, _, _| {
                let r = c.rounding();
                soft::from_fixed(c, f, a, f.n(), fbits, unsigned, r)
            })
        }
        FpOp::Urecpe => map3(cpu, c, i, |_, _, a, _, _| soft::urecpe(a as u32) as u64),
        FpOp::Ursqrte => map3(cpu, c, i, |_, _, a, _, _| soft::ursqrte(a as u32) as u64),
        FpOp::Fmadd(k) => fmadd(cpu, c, i, k),
        FpOp::Fcvt => fcvt(cpu, c, i),
        FpOp::Fcvtl => fcvtl(cpu, c, i),
        FpOp::Fcvtn => fcvtn(cpu, c, i, Fmt::H, None),
        FpOp::Fcvtxn => fcvtn(cpu, c, i, Fmt::S, Some(Rounding::Odd)),
        FpOp::Fcmp { signal, zero } => {
            let f = shape(i).f;
            let a = elem(cpu.regs.v[i.rn()], 0, f);
            let b = if zero {
                0
            } else {
                elem(cpu.regs.v[i.rm()], 0, f)
            };
            cpu.regs.nzcv = soft::compare(c, f, a, b, signal);
        }
        FpOp::Fccmp { signal } => {
            if cpu.regs.condition_holds(i.bits(15, 12)) {
                let f = shape(i).f;
                let a = elem(cpu.regs.v[i.rn()], 0, f);
                let b = elem(cpu.regs.v[i.rm()], 0, f);
                cpu.regs.nzcv = soft::compare(c, f, a, b, signal);
            } else {
                cpu.regs.nzcv = i.bits(3, 0) << 28;
            }
        }
        FpOp::Fcsel => {
            let f = shape(i).f;
            let src = if cpu.regs.condition_holds(i.bits(15, 12)) {
                i.rn()
            } else {
                i.rm()
            };
            cpu.regs.v[i.rd()] = put(elem(cpu.regs.v[src], 0, f), 0, f);
        }
        FpOp::FmovImm => {
            let f = shape(i).f;
            cpu.regs.v[i.rd()] = put(soft::expand_imm(f, i.bits(20, 13)), 0, f);
        }
        FpOp::FmovToGen | FpOp::FmovFromGen => {
            moved(cpu, i, op);
        }
        FpOp::FmovToGenTop => {
            cpu.regs.set_xr(i.rd(), (cpu.regs.v[i.rn()] >> 64) as u64);
        }
        FpOp::FmovFromGenTop => {
            let x = cpu.regs.xr(i.rn());
            let v = &mut cpu.regs.v[i.rd()];
            *v = (*v & u64::MAX as u128) | ((x as u128) << 64);
        }
        FpOp::GenToInt { rounding, unsigned } => {
            let f = shape(i).f;
            let a = elem(cpu.regs.v[i.rn()], 0, f);
            let width = if i.sf() { 64 } else { 32 };
            let r = soft::to_fixed(c, f, a, 0, unsigned, width, rounding);
            cpu.regs.set_xr(i.rd(), r);
        }
        FpOp::GenToFixed { unsigned } => {
            let f = shape(i).f;
            let a = elem(cpu.regs.v[i.rn()], 0, f);
            let width = if i.sf() { 64 } else { 32 };
            let fbits = 64 - i.bits(15, 10);
            let r = soft::to_fixed(c, f, a, fbits, unsigned, width, Rounding::Zero);
            cpu.regs.set_xr(i.rd(), r);
        }
        FpOp::GenFromInt { unsigned } => gen_from_fixed(cpu, c, i, 0, unsigned),
        FpOp::GenFromFixed { unsigned } => gen_from_fixed(cpu, c, i, 64 - i.bits(15, 10), unsigned),
        FpOp::Pairwise(b) => pairwise(cpu, c, i, b),
        FpOp::PairwiseScalar(b) => {
            let f = shape(i).f;
            let n = cpu.regs.v[i.rn()];
            let r = binary(c, f, b, elem(n, 0, f), elem(n, 1, f));
            cpu.regs.v[i.rd()] = put(r, 0, f);
        }
        FpOp::Reduce(b) => {
            let n = cpu.regs.v[i.rn()];
            let e: [u64; 4] = std::array::from_fn(|k| elem(n, k, Fmt::S));
            let lo = binary(c, Fmt::S, b, e[0], e[1]);
            let hi = binary(c, Fmt::S, b, e[2], e[3]);
            let r = binary(c, Fmt::S, b, lo, hi);
            cpu.regs.v[i.rd()] = put(r, 0, Fmt::S);
        }
        FpOp::ElemBinary(b) => by_element(cpu, c, i, |c, f, a, m, _| binary(c, f, b, a, m)),
        FpOp::ElemFmla { sub } => by_element(cpu, c, i, |c, f, a, m, d| {
            let a = if sub { a ^ f.sign_bit() } else { a };
            soft::mul_add(c, f, d, a, m)
        }),
    }
}

/// FMADD, FMSUB, FNMADD, FNMSUB: `FPMulAdd(±Va, ±Vn, Vm)` (the negations are FPNeg
/// of the operands, so a NaN operand comes out with its sign flipped).
fn fmadd(cpu: &mut Cpu, c: &mut Fpc, i: Insn, k: Fma) {
    let f = shape(i).f;
    let v = &cpu.regs.v;
    let (n, m, a) = (
        elem(v[i.rn()], 0, f),
        elem(v[i.rm()], 0, f),
        elem(v[i.ra()], 0, f),
    );
    let (neg_a, neg_n) = match k {
        Fma::Madd => (false, false),
        Fma::Msub => (false, true),
        Fma::Nmadd => (true, true),
        Fma::Nmsub => (true, false),
    };
    let a = if neg_a { a ^ f.sign_bit() } else { a };
    let n = if neg_n { n ^ f.sign_bit() } else { n };
    let r = soft::mul_add(c, f, a, n, m);
    cpu.regs.v[i.rd()] = put(r, 0, f);
}

/// FCVT (scalar): `ftype` (bits 23:22) is the source, `opc` (bits 16:15) the target.
fn fcvt(cpu: &mut Cpu, c: &mut Fpc, i: Insn) {
    let fmt = |code| match code {
        0 => Fmt::S,
        1 => Fmt::D,
        _ => Fmt::H,
    };
    let (from, to) = (fmt(i.bits(23, 22)), fmt(i.bits(16, 15)));
    let a = elem(cpu.regs.v[i.rn()], 0, from);
    let r = soft::convert(c, from, to, a, c.rounding());
    cpu.regs.v[i.rd()] = put(r, 0, to);
}

/// FCVTL/FCVTL2: widen the lower (Q == 0) or upper half of Vn.
fn fcvtl(cpu: &mut Cpu, c: &mut Fpc, i: Insn) {
    let (from, to) = if i.bit(22) {
        (Fmt::S, Fmt::D)
    } else {
        (Fmt::H, Fmt::S)
    };
    let elems = 64 / from.n() as usize;
    let src = if i.bit(30) {
        cpu.regs.v[i.rn()] >> 64
    } else {
        cpu.regs.v[i.rn()]
    };
    let mut r = 0u128;
    for e in 0..elems {
        let x = soft::convert(c, from, to, elem(src, e, from), c.rounding());
        r |= put(x, e, to);
    }
    cpu.regs.v[i.rd()] = r;
}

/// FCVTN/FCVTN2 and FCVTXN/FCVTXN2: narrow Vn into the lower half of Vd (upper half
/// zeroed) or, for the "2" forms (Q == 1), into the upper half (lower half kept).
/// `narrow` is the target format for single sources; double sources narrow to single.
fn fcvtn(cpu: &mut Cpu, c: &mut Fpc, i: Insn, narrow: Fmt, rounding: Option<Rounding>) {
    let (from, to) = if i.bit(22) {
        (Fmt::D, Fmt::S)
    } else {
        (Fmt::S, narrow)
    };
    let rounding = rounding.unwrap_or(c.rounding());
    let n = cpu.regs.v[i.rn()];
    let elems = if i.bit(28) {
        1
    } else {
        128 / from.n() as usize
    };
    let mut half = 0u128;
    for e in 0..elems {
        half |= put(
            soft::convert(c, from, to, elem(n, e, from), rounding),
            e,
            to,
        );
    }
    let d = &mut cpu.regs.v[i.rd()];
    *d = if i.bit(28) || !i.bit(30) {
        half
    } else {
        (*d & u64::MAX as u128) | (half << 64)
    };
}

/// SCVTF/UCVTF from a general register, integer (`fbits == 0`) or fixed-point.
fn gen_from_fixed(cpu: &mut Cpu, c: &mut Fpc, i: Insn, fbits: u32, unsigned: bool) {
    let f = shape(i).f;
    let width = if i.sf() { 64 } else { 32 };
    let x = cpu.regs.xr(i.rn());
    let r = soft::from_fixed(c, f, x, width, fbits, unsigned, c.rounding());
    cpu.regs.v[i.rd()] = put(r, 0, f);
}

/// Pairwise (vector): the pairs of the concatenation Vm:Vn.
fn pairwise(cpu: &mut Cpu, c: &mut Fpc, i: Insn, b: Bin) {
    let s = shape(i);
    let (n, m) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()]);
    let half = s.elems / 2;
    let mut r = 0u128;
    for e in 0..s.elems {
        let (src, k) = if e < half {
            (n, 2 * e)
        } else {
            (m, 2 * (e - half))
        };
        let x = binary(c, s.f, b, elem(src, k, s.f), elem(src, k + 1, s.f));
        r |= put(x, e, s.f);
    }
    cpu.regs.v[i.rd()] = r;
}

/// By element: element 2 is `Vm[index]`, where `Rm = M:Rm` and the index is `H:L`
/// (single) or `H` (double).
fn by_element(
    cpu: &mut Cpu,
    c: &mut Fpc,
    i: Insn,
    mut op: impl FnMut(&mut Fpc, Fmt, u64, u64, u64) -> u64,
) {
    let s = shape(i);
    let index = if s.f == Fmt::D {
        i.bits(11, 11)
    } else {
        (i.bits(11, 11) << 1) | i.bits(21, 21)
    } as usize;
    let m = elem(cpu.regs.v[i.rm()], index, s.f);
    let (n, d) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rd()]);
    let mut r = 0u128;
    for e in 0..s.elems {
        let x = op(c, s.f, elem(n, e, s.f), m, elem(d, e, s.f));
        r |= put(x, e, s.f);
    }
    cpu.regs.v[i.rd()] = r;
}

#[cfg(test)]
mod tests;
