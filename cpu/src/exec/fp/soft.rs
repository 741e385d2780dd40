//! Exact software floating point with the ARM ARM's semantics.
//!
//! Every operation here follows the pseudocode of the ARM ARM (shared/functions/float:
//! `FPUnpack`, `FPRoundBase`, `FPProcessNaNs`, `FPAdd`, `FPMulAdd`, `FPRecipEstimate`, ...)
//! step by step, on integers: an operand is unpacked to `mant * 2^exp`, the exact
//! result is formed in a `u128` (with a "sticky" low bit standing for discarded
//! non-zero bits, always far below the rounding position), and `round` turns it into
//! an encoding exactly as `FPRoundBase` does.
//!
//! Why our own routines and not a crate: Berkeley SoftFloat (via `softfloat-sys`) keeps
//! its rounding mode and exception flags in process globals, has no flush-to-zero and
//! no ARM reciprocal estimates or alternative half precision; `simple-soft-float` is a
//! big-integer reference model (slow for an interpreter's hot path) without FPCR.FZ or
//! FPCR.AHP. ARM's rules that matter here — tininess detected *before* rounding, FZ
//! flushing on the unrounded exponent, default-NaN, NaN operand priority, the FMA
//! `0*inf+qNaN` case, FRECPE/FRSQRTE tables — are all written out below instead.
//!
//! Values are passed as raw encodings in the low bits of a `u64`; [`Fmt`] says which
//! format. Exceptions accumulate in [`Fpc::exc`] as FPSR cumulative bits.

pub use crate::decode::a64_fp::Rounding;
use crate::state::{fpcr, fpsr};

/// A floating-point format: half, single or double precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    H,
    S,
    D,
}

impl Fmt {
    /// Total width N.
    pub const fn n(self) -> u32 {
        match self {
            Fmt::H => 16,
            Fmt::S => 32,
            Fmt::D => 64,
        }
    }
    /// Exponent width E.
    const fn e(self) -> u32 {
        match self {
            Fmt::H => 5,
            Fmt::S => 8,
            Fmt::D => 11,
        }
    }
    /// Fraction width F.
    const fn f(self) -> u32 {
        match self {
            Fmt::H => 10,
            Fmt::S => 23,
            Fmt::D => 52,
        }
    }
    const fn bias(self) -> i32 {
        (1 << (self.e() - 1)) - 1
    }
    const fn exp_ones(self) -> u64 {
        (1 << self.e()) - 1
    }
    pub const fn mask(self) -> u64 {
        u64::MAX >> (64 - self.n())
    }
    pub const fn sign_bit(self) -> u64 {
        1 << (self.n() - 1)
    }
    const fn frac_mask(self) -> u64 {
        (1 << self.f()) - 1
    }
    const fn quiet_bit(self) -> u64 {
        1 << (self.f() - 1)
    }
    fn sign(self, s: bool) -> u64 {
        if s {
            self.sign_bit()
        } else {
            0
        }
    }
    /// FPDefaultNaN().
    pub const fn default_nan(self) -> u64 {
        (self.exp_ones() << self.f()) | self.quiet_bit()
    }
    pub fn zero(self, s: bool) -> u64 {
        self.sign(s)
    }
    pub fn inf(self, s: bool) -> u64 {
        self.sign(s) | (self.exp_ones() << self.f())
    }
    fn max_normal(self, s: bool) -> u64 {
        self.sign(s) | ((self.exp_ones() - 1) << self.f()) | self.frac_mask()
    }
    /// A small power-of-two-ish constant `m * 2^k` with `m < 2^F` (FPTwo, FPOnePointFive).
    fn constant(self, s: bool, biased_exp: u64, frac_top: u64) -> u64 {
        self.sign(s) | (biased_exp << self.f()) | (frac_top << (self.f() - 1))
    }
    fn two(self, s: bool) -> u64 {
        self.constant(s, self.bias() as u64 + 1, 0)
    }
    fn one_point_five(self, s: bool) -> u64 {
        self.constant(s, self.bias() as u64, 1)
    }
    fn is_neg(self, x: u64) -> bool {
        x & self.sign_bit() != 0
    }
}

/// The floating-point context of one instruction: FPCR, and the FPSR cumulative
/// exception bits it raised.
#[derive(Clone, Copy, Debug)]
pub struct Fpc {
    pub fpcr: u32,
    pub exc: u32,
    /// FPSR.IXC is already set: an operation that can only raise Inexact need
    /// not find out whether it does (its host fast path skips the check).
    pub inexact_already: bool,
}

impl Fpc {
    pub fn new(fpcr: u32) -> Fpc {
        Fpc {
            fpcr,
            exc: 0,
            inexact_already: false,
        }
    }
    fn fz(&self) -> bool {
        self.fpcr & fpcr::FZ != 0
    }
    fn dn(&self) -> bool {
        self.fpcr & fpcr::DN != 0
    }
    fn ahp(&self) -> bool {
        self.fpcr & fpcr::AHP != 0
    }
    /// FPRoundingMode(FPCR).
    pub fn rounding(&self) -> Rounding {
        match (self.fpcr >> fpcr::RMODE_SHIFT) & 3 {
            0 => Rounding::TieEven,
            1 => Rounding::PosInf,
            2 => Rounding::NegInf,
            _ => Rounding::Zero,
        }
    }
    fn raise(&mut self, bits: u32) {
        self.exc |= bits;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zero,
    Num,
    Inf,
    QNaN,
    SNaN,
}

/// An unpacked operand: for `Num`, the value is `(-1)^sign * mant * 2^exp`.
#[derive(Clone, Copy, Debug)]
struct Val {
    kind: Kind,
    sign: bool,
    mant: u64,
    exp: i32,
}

impl Val {
    fn is_nan(&self) -> bool {
        matches!(self.kind, Kind::QNaN | Kind::SNaN)
    }
    /// floor(log2(|value|)) of a `Num`.
    fn log2(&self) -> i32 {
        63 - self.mant.leading_zeros() as i32 + self.exp
    }
}

/// FPUnpack(): classifies `x`, flushing single/double denormals to zero under FPCR.FZ
/// (raising IDC). Half precision is never flushed (FZ16 is not implemented) and has no
/// infinities or NaNs under FPCR.AHP.
fn unpack(c: &mut Fpc, f: Fmt, x: u64) -> Val {
    let sign = f.is_neg(x);
    let exp = (x >> f.f()) & f.exp_ones();
    let frac = x & f.frac_mask();
    let num = |mant, exp| Val {
        kind: Kind::Num,
        sign,
        mant,
        exp,
    };
    let other = |kind| Val {
        kind,
        sign,
        mant: 0,
        exp: 0,
    };
    if exp == 0 {
        if frac == 0 {
            other(Kind::Zero)
        } else if f != Fmt::H && c.fz() {
            c.raise(fpsr::IDC);
            other(Kind::Zero)
        } else {
            num(frac, 1 - f.bias() - f.f() as i32)
        }
    } else if exp == f.exp_ones() && !(f == Fmt::H && c.ahp()) {
        if frac == 0 {
            other(Kind::Inf)
        } else if frac & f.quiet_bit() != 0 {
            other(Kind::QNaN)
        } else {
            other(Kind::SNaN)
        }
    } else {
        num(frac | (1 << f.f()), exp as i32 - f.bias() - f.f() as i32)
    }
}

/// How the discarded part of a value compares with half a unit in the last place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rem {
    Zero,
    BelowHalf,
    Half,
    AboveHalf,
}

fn classify(r: u128, half: u128) -> Rem {
    if r == 0 {
        Rem::Zero
    } else if r < half {
        Rem::BelowHalf
    } else if r == half {
        Rem::Half
    } else {
        Rem::AboveHalf
    }
}

/// `m / 2^sh` as integer part and remainder class. `sh <= 0` only where the result
/// fits (callers keep at most F+1 bits).
fn shr_rem(m: u128, sh: i32) -> (u128, Rem) {
    if sh <= 0 {
        (m << (-sh) as u32, Rem::Zero)
    } else if sh > 128 {
        (0, if m == 0 { Rem::Zero } else { Rem::BelowHalf })
    } else if sh == 128 {
        (0, classify(m, 1 << 127))
    } else {
        let r = m & ((1u128 << sh) - 1);
        (m >> sh, classify(r, 1u128 << (sh - 1)))
    }
}

/// Shifts right, ORing every discarded bit into bit 0 ("jamming").
fn shr_jam(m: u128, sh: u32) -> u128 {
    if sh == 0 {
        m
    } else if sh >= 128 {
        (m != 0) as u128
    } else {
        (m >> sh) | ((m & ((1u128 << sh) - 1) != 0) as u128)
    }
}

/// Whether a magnitude rounds up (away from zero), given the rounding mode, the sign
/// and the discarded part. Covers FPRoundBase, FPRoundInt and FPToFixed alike (the
/// latter two round the signed value down first; in magnitude terms that is this).
fn round_up(r: Rounding, sign: bool, lsb_odd: bool, rem: Rem) -> bool {
    match r {
        Rounding::TieEven => rem == Rem::AboveHalf || (rem == Rem::Half && lsb_odd),
        Rounding::TieAway => rem == Rem::AboveHalf || rem == Rem::Half,
        Rounding::PosInf => rem != Rem::Zero && !sign,
        Rounding::NegInf => rem != Rem::Zero && sign,
        Rounding::Zero | Rounding::Odd => false,
    }
}

/// FPRoundBase(): encodes the non-zero value `(-1)^sign * mant * 2^exp` in format `f`.
///
/// `mant` may carry a sticky bit at bit 0 provided it has at least F+3 significant
/// bits, so that the sticky bit lies below the rounding bit.
fn round(c: &mut Fpc, f: Fmt, sign: bool, mant: u128, exp: i32, rnd: Rounding) -> u64 {
    debug_assert!(mant != 0);
    let p = 127 - mant.leading_zeros() as i32;
    let exponent = p + exp;
    let min_exp = 1 - f.bias();
    let fb = f.f() as i32;
    // Flush-to-zero acts on the unrounded value and never raises Inexact.
    if f != Fmt::H && c.fz() && exponent < min_exp {
        c.raise(fpsr::UFC);
        return f.zero(sign);
    }
    let mut biased = (exponent - min_exp + 1).max(0) as u64;
    let shift = if biased == 0 {
        p - fb + (min_exp - exponent)
    } else {
        p - fb
    };
    let (m, rem) = shr_rem(mant, shift);
    let mut int_mant = m as u64;
    // ARM detects tininess before rounding.
    if biased == 0 && rem != Rem::Zero {
        c.raise(fpsr::UFC);
    }
    let overflow_to_inf = match rnd {
        Rounding::TieEven | Rounding::TieAway => true,
        Rounding::PosInf => !sign,
        Rounding::NegInf => sign,
        Rounding::Zero | Rounding::Odd => false,
    };
    if round_up(rnd, sign, int_mant & 1 != 0, rem) {
        int_mant += 1;
        if int_mant == 1 << fb {
            biased = 1;
        }
        if int_mant == 1 << (fb + 1) {
            biased += 1;
            int_mant >>= 1;
        }
    }
    if rem != Rem::Zero && rnd == Rounding::Odd {
        int_mant |= 1;
    }
    let mut inexact = rem != Rem::Zero;
    let result = if !(f == Fmt::H && c.ahp()) {
        if biased >= f.exp_ones() {
            c.raise(fpsr::OFC);
            inexact = true;
            if overflow_to_inf {
                f.inf(sign)
            } else {
                f.max_normal(sign)
            }
        } else {
            f.sign(sign) | (biased << fb) | (int_mant & f.frac_mask())
        }
    } else if biased >= 1 << f.e() {
        // Alternative half precision has no infinity: saturate, Invalid Operation.
        c.raise(fpsr::IOC);
        inexact = false;
        f.sign(sign) | (f.mask() >> 1)
    } else {
        f.sign(sign) | (biased << fb) | (int_mant & f.frac_mask())
    };
    if inexact {
        c.raise(fpsr::IXC);
    }
    result
}

/// FPProcessNaN().
fn process_nan(c: &mut Fpc, f: Fmt, v: &Val, x: u64) -> u64 {
    let mut r = x;
    if v.kind == Kind::SNaN {
        r |= f.quiet_bit();
        c.raise(fpsr::IOC);
    }
    if c.dn() {
        f.default_nan()
    } else {
        r
    }
}

/// FPProcessNaNs(): signalling NaNs first, then quiet ones, in operand order.
fn process_nans(c: &mut Fpc, f: Fmt, ops: &[(Val, u64)]) -> Option<u64> {
    for kind in [Kind::SNaN, Kind::QNaN] {
        if let Some((v, x)) = ops.iter().find(|(v, _)| v.kind == kind) {
            return Some(process_nan(c, f, v, *x));
        }
    }
    None
}

/// An exact intermediate result: `None` is an exact zero.
type Exact = Option<(bool, u128, i32)>;

/// Exact (up to a sticky bit) sum of two signed values `m * 2^e`.
fn add_exact(s1: bool, m1: u128, e1: i32, s2: bool, m2: u128, e2: i32) -> Exact {
    if m1 == 0 {
        return (m2 != 0).then_some((s2, m2, e2));
    }
    if m2 == 0 {
        return Some((s1, m1, e1));
    }
    // Put both MSBs at bit 125 (two bits of headroom for the carry).
    let norm = |m: u128, e: i32| {
        let sh = m.leading_zeros() as i32 - 2;
        (m << sh, e - sh)
    };
    let (mut a, mut b) = ((s1, norm(m1, e1)), (s2, norm(m2, e2)));
    if a.1 .1 < b.1 .1 {
        std::mem::swap(&mut a, &mut b);
    }
    let (sa, (ma, ea)) = a;
    let (sb, (mb, eb)) = b;
    let mb = shr_jam(mb, (ea - eb).min(200) as u32);
    if sa == sb {
        Some((sa, ma + mb, ea))
    } else if ma > mb {
        Some((sa, ma - mb, ea))
    } else if mb > ma {
        Some((sb, mb - ma, ea))
    } else {
        None
    }
}

/// Rounds an exact result; an exact zero gets the sign the rounding mode gives it.
fn round_exact(c: &mut Fpc, f: Fmt, r: Exact, rnd: Rounding) -> u64 {
    match r {
        None => f.zero(rnd == Rounding::NegInf),
        Some((s, m, e)) => round(c, f, s, m, e, rnd),
    }
}

fn mant_of(v: &Val) -> u128 {
    if v.kind == Kind::Num {
        v.mant as u128
    } else {
        0
    }
}

/// FPAdd() and FPSub().
pub fn add_sub(c: &mut Fpc, f: Fmt, a: u64, b: u64, sub: bool) -> u64 {
    if let Some(r) = host::run(
        c,
        f,
        &[a, b],
        || host::s::add(a, b, sub),
        || host::d::add(a, b, sub),
    ) {
        return r;
    }
    add_sub_soft(c, f, a, b, sub)
}

/// The software path of [`add_sub`].
fn add_sub_soft(c: &mut Fpc, f: Fmt, a: u64, b: u64, sub: bool) -> u64 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if let Some(r) = process_nans(c, f, &[(x, a), (y, b)]) {
        return r;
    }
    let ys = y.sign ^ sub;
    let (inf1, inf2) = (x.kind == Kind::Inf, y.kind == Kind::Inf);
    if inf1 && inf2 && x.sign != ys {
        c.raise(fpsr::IOC);
        return f.default_nan();
    }
    if inf1 {
        return f.inf(x.sign);
    }
    if inf2 {
        return f.inf(ys);
    }
    if x.kind == Kind::Zero && y.kind == Kind::Zero && x.sign == ys {
        return f.zero(x.sign);
    }
    let r = add_exact(x.sign, mant_of(&x), x.exp, ys, mant_of(&y), y.exp);
    round_exact(c, f, r, c.rounding())
}

pub fn add(c: &mut Fpc, f: Fmt, a: u64, b: u64) -> u64 {
    add_sub(c, f, a, b, false)
}

pub fn sub(c: &mut Fpc, f: Fmt, a: u64, b: u64) -> u64 {
    add_sub(c, f, a, b, true)
}

/// FPMul() (`mulx == false`) and FPMulX(): FMULX gives ±2.0 for 0 × ∞.
pub fn mul_x(c: &mut Fpc, f: Fmt, a: u64, b: u64, mulx: bool) -> u64 {
    if let Some(r) = host::run(c, f, &[a, b], || host::s::mul(a, b), || host::d::mul(a, b)) {
        return r;
    }
    mul_x_soft(c, f, a, b, mulx)
}

/// The software path of [`mul_x`].
fn mul_x_soft(c: &mut Fpc, f: Fmt, a: u64, b: u64, mulx: bool) -> u64 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if let Some(r) = process_nans(c, f, &[(x, a), (y, b)]) {
        return r;
    }
    let s = x.sign ^ y.sign;
    let (inf1, inf2) = (x.kind == Kind::Inf, y.kind == Kind::Inf);
    let (zero1, zero2) = (x.kind == Kind::Zero, y.kind == Kind::Zero);
    if (inf1 && zero2) || (zero1 && inf2) {
        if mulx {
            return f.two(s);
        }
        c.raise(fpsr::IOC);
        return f.default_nan();
    }
    if inf1 || inf2 {
        return f.inf(s);
    }
    if zero1 || zero2 {
        return f.zero(s);
    }
    let m = x.mant as u128 * y.mant as u128;
    round(c, f, s, m, x.exp + y.exp, c.rounding())
}

pub fn mul(c: &mut Fpc, f: Fmt, a: u64, b: u64) -> u64 {
    mul_x(c, f, a, b, false)
}

/// FPDiv().
pub fn div(c: &mut Fpc, f: Fmt, a: u64, b: u64) -> u64 {
    if let Some(r) = host::run(c, f, &[a, b], || host::s::div(a, b), || host::d::div(a, b)) {
        return r;
    }
    div_soft(c, f, a, b)
}

/// The software path of [`div`].
fn div_soft(c: &mut Fpc, f: Fmt, a: u64, b: u64) -> u64 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if let Some(r) = process_nans(c, f, &[(x, a), (y, b)]) {
        return r;
    }
    let s = x.sign ^ y.sign;
    let (inf1, inf2) = (x.kind == Kind::Inf, y.kind == Kind::Inf);
    let (zero1, zero2) = (x.kind == Kind::Zero, y.kind == Kind::Zero);
    if (inf1 && inf2) || (zero1 && zero2) {
        c.raise(fpsr::IOC);
        return f.default_nan();
    }
    if inf1 || zero2 {
        if !inf1 {
            c.raise(fpsr::DZC);
        }
        return f.inf(s);
    }
    if zero1 || inf2 {
        return f.zero(s);
    }
    // Dividend with its MSB at bit 116, divisor at bit 52: the quotient has 64 or 65
    // bits, the remainder becomes the sticky bit.
    let sh1 = 116 - (63 - x.mant.leading_zeros() as i32);
    let sh2 = 52 - (63 - y.mant.leading_zeros() as i32);
    let n = (x.mant as u128) << sh1;
    let d = (y.mant as u128) << sh2;
    let q = n / d;
    let sticky = !n.is_multiple_of(d) as u128;
    round(
        c,
        f,
        s,
        q | sticky,
        (x.exp - sh1) - (y.exp - sh2),
        c.rounding(),
    )
}

/// Integer square root: the largest `r` with `r * r <= n`.
fn isqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    // A float estimate (never the result itself), made exact by Newton's method and
    // a final correction.
    let mut r = (n as f64).sqrt() as u128;
    if r == 0 {
        r = 1;
    }
    r = (r + n / r) / 2;
    while r * r > n {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= n {
        r += 1;
    }
    r
}

/// FPSqrt().
pub fn sqrt(c: &mut Fpc, f: Fmt, a: u64) -> u64 {
    if let Some(r) = host::run(c, f, &[a], || host::s::sqrt(a), || host::d::sqrt(a)) {
        return r;
    }
    sqrt_soft(c, f, a)
}

/// The software path of [`sqrt`].
fn sqrt_soft(c: &mut Fpc, f: Fmt, a: u64) -> u64 {
    let x = unpack(c, f, a);
    match x.kind {
        Kind::QNaN | Kind::SNaN => process_nan(c, f, &x, a),
        Kind::Zero => f.zero(x.sign),
        Kind::Inf if !x.sign => f.inf(false),
        _ if x.sign => {
            c.raise(fpsr::IOC);
            f.default_nan()
        }
        _ => {
            // Scale the mantissa to [2^116, 2^118) with an even exponent.
            let mut sh = 116 - (63 - x.mant.leading_zeros() as i32);
            if (x.exp - sh) & 1 != 0 {
                sh += 1;
            }
            let n = (x.mant as u128) << sh;
            let r = isqrt(n);
            let sticky = (r * r != n) as u128;
            round(c, f, false, r | sticky, (x.exp - sh) / 2, c.rounding())
        }
    }
}

/// The exact value `addend + op1 * op2` of three numeric-or-zero operands.
fn fma_exact(va: &Val, v1: &Val, v2: &Val) -> Exact {
    let p = mant_of(v1) * mant_of(v2);
    add_exact(
        va.sign,
        mant_of(va),
        va.exp,
        v1.sign ^ v2.sign,
        p,
        v1.exp + v2.exp,
    )
}

/// FPMulAdd(): `addend + op1 * op2` with a single rounding.
pub fn mul_add(c: &mut Fpc, f: Fmt, addend: u64, op1: u64, op2: u64) -> u64 {
    // The host's fused multiply-add rounds once, as FPMulAdd() does. Whether it
    // was exact is cheap to find out in single precision (see
    // `host::fma_single`); in double precision the host is used only when
    // Inexact is already set and need not be found out.
    if f == Fmt::S || c.inexact_already {
        let double = || (host::fma_double(addend, op1, op2), false);
        let single = || host::fma_single(addend, op1, op2);
        if let Some(r) = host::run(c, f, &[addend, op1, op2], single, double) {
            return r;
        }
    }
    mul_add_soft(c, f, addend, op1, op2)
}

/// The software path of [`mul_add`].
fn mul_add_soft(c: &mut Fpc, f: Fmt, addend: u64, op1: u64, op2: u64) -> u64 {
    let va = unpack(c, f, addend);
    let v1 = unpack(c, f, op1);
    let v2 = unpack(c, f, op2);
    let (inf1, inf2) = (v1.kind == Kind::Inf, v2.kind == Kind::Inf);
    let (zero1, zero2) = (v1.kind == Kind::Zero, v2.kind == Kind::Zero);
    let nan = process_nans(c, f, &[(va, addend), (v1, op1), (v2, op2)]);
    if va.kind == Kind::QNaN && ((inf1 && zero2) || (zero1 && inf2)) {
        c.raise(fpsr::IOC);
        return f.default_nan();
    }
    if let Some(r) = nan {
        return r;
    }
    let (infa, zeroa) = (va.kind == Kind::Inf, va.kind == Kind::Zero);
    let sp = v1.sign ^ v2.sign;
    let infp = inf1 || inf2;
    let zerop = zero1 || zero2;
    if (inf1 && zero2) || (zero1 && inf2) || (infa && infp && va.sign != sp) {
        c.raise(fpsr::IOC);
        return f.default_nan();
    }
    if (infa && !va.sign) || (infp && !sp) {
        return f.inf(false);
    }
    if (infa && va.sign) || (infp && sp) {
        return f.inf(true);
    }
    if zeroa && zerop && va.sign == sp {
        return f.zero(va.sign);
    }
    round_exact(c, f, fma_exact(&va, &v1, &v2), c.rounding())
}

/// Value order of two non-NaN operands of one format (zeros of either sign equal).
fn order(f: Fmt, x: &Val, a: u64, y: &Val, b: u64) -> std::cmp::Ordering {
    let key = |v: &Val, raw: u64| {
        let mag = if v.kind == Kind::Zero {
            0
        } else {
            (raw & !f.sign_bit()) as i128
        };
        if v.sign {
            -mag
        } else {
            mag
        }
    };
    key(x, a).cmp(&key(y, b))
}

/// FPMax() / FPMin().
pub fn max_min(c: &mut Fpc, f: Fmt, a: u64, b: u64, is_max: bool) -> u64 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if let Some(r) = process_nans(c, f, &[(x, a), (y, b)]) {
        return r;
    }
    let ord = order(f, &x, a, &y, b);
    let first = if is_max {
        ord == std::cmp::Ordering::Greater
    } else {
        ord == std::cmp::Ordering::Less
    };
    let (v, raw) = if first { (x, a) } else { (y, b) };
    match v.kind {
        Kind::Zero => f.zero(if is_max {
            x.sign && y.sign
        } else {
            x.sign || y.sign
        }),
        // A number (or infinity) is its own exact rounding.
        _ => raw,
    }
}

/// FPMaxNum() / FPMinNum(): one quiet NaN loses against a number.
pub fn max_min_num(c: &mut Fpc, f: Fmt, a: u64, b: u64, is_max: bool) -> u64 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    let replacement = f.inf(is_max);
    let (a, b) = match (x.kind == Kind::QNaN, y.kind == Kind::QNaN) {
        (true, false) => (replacement, b),
        (false, true) => (a, replacement),
        _ => (a, b),
    };
    max_min(c, f, a, b, is_max)
}

/// FPCompare(): NZCV in bits 31:28.
pub fn compare(c: &mut Fpc, f: Fmt, a: u64, b: u64, signal_nans: bool) -> u32 {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if x.is_nan() || y.is_nan() {
        if x.kind == Kind::SNaN || y.kind == Kind::SNaN || signal_nans {
            c.raise(fpsr::IOC);
        }
        return 0b0011 << 28;
    }
    match order(f, &x, a, &y, b) {
        std::cmp::Ordering::Equal => 0b0110 << 28,
        std::cmp::Ordering::Less => 0b1000 << 28,
        std::cmp::Ordering::Greater => 0b0010 << 28,
    }
}

/// The vector comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ge,
    Gt,
}

/// FPCompareEQ() / FPCompareGE() / FPCompareGT(). EQ signals only on signalling NaNs.
pub fn compare_cond(c: &mut Fpc, f: Fmt, a: u64, b: u64, cond: Cond) -> bool {
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if x.is_nan() || y.is_nan() {
        if cond != Cond::Eq || x.kind == Kind::SNaN || y.kind == Kind::SNaN {
            c.raise(fpsr::IOC);
        }
        return false;
    }
    let o = order(f, &x, a, &y, b);
    match cond {
        Cond::Eq => o.is_eq(),
        Cond::Ge => o.is_ge(),
        Cond::Gt => o.is_gt(),
    }
}

/// FPRecipStepFused() (`rsqrt == false`: 2 - a*b) and FPRSqrtStepFused() ((3 - a*b)/2).
pub fn step_fused(c: &mut Fpc, f: Fmt, a: u64, b: u64, rsqrt: bool) -> u64 {
    let a = a ^ f.sign_bit();
    let x = unpack(c, f, a);
    let y = unpack(c, f, b);
    if let Some(r) = process_nans(c, f, &[(x, a), (y, b)]) {
        return r;
    }
    let (inf1, inf2) = (x.kind == Kind::Inf, y.kind == Kind::Inf);
    let (zero1, zero2) = (x.kind == Kind::Zero, y.kind == Kind::Zero);
    if (inf1 && zero2) || (zero1 && inf2) {
        return if rsqrt {
            f.one_point_five(false)
        } else {
            f.two(false)
        };
    }
    if inf1 || inf2 {
        return f.inf(x.sign ^ y.sign);
    }
    let addend = Val {
        kind: Kind::Num,
        sign: false,
        mant: if rsqrt { 3 } else { 1 },
        exp: if rsqrt { 0 } else { 1 },
    };
    let r = fma_exact(&addend, &x, &y).map(|(s, m, e)| (s, m, if rsqrt { e - 1 } else { e }));
    round_exact(c, f, r, c.rounding())
}

/// FPConvert(): from format `from` to format `to`, honouring FPCR.AHP for half
/// precision and FPCR.DN.
pub fn convert(c: &mut Fpc, from: Fmt, to: Fmt, a: u64, rnd: Rounding) -> u64 {
    let alt = to == Fmt::H && c.ahp();
    let x = unpack(c, from, a);
    match x.kind {
        Kind::QNaN | Kind::SNaN => {
            // Alternative half precision has no NaN: any NaN is an invalid operation.
            if x.kind == Kind::SNaN || alt {
                c.raise(fpsr::IOC);
            }
            if alt {
                to.zero(x.sign)
            } else if c.dn() {
                to.default_nan()
            } else {
                // FPConvertNaN(): quiet, payload kept from the top of the fraction.
                let payload = a & (from.quiet_bit() - 1);
                let payload = if to.f() >= from.f() {
                    payload << (to.f() - from.f())
                } else {
                    payload >> (from.f() - to.f())
                };
                to.sign(x.sign) | to.default_nan() | payload
            }
        }
        Kind::Inf if alt => {
            c.raise(fpsr::IOC);
            to.sign(x.sign) | (to.mask() >> 1)
        }
        Kind::Inf => to.inf(x.sign),
        Kind::Zero => to.zero(x.sign),
        Kind::Num => round(c, to, x.sign, x.mant as u128, x.exp, rnd),
    }
}

/// FPRoundInt(): round to an integral value in the same format; `exact` raises
/// Inexact (FRINTX).
pub fn round_int(c: &mut Fpc, f: Fmt, a: u64, rnd: Rounding, exact: bool) -> u64 {
    let x = unpack(c, f, a);
    match x.kind {
        Kind::QNaN | Kind::SNaN => process_nan(c, f, &x, a),
        Kind::Inf => f.inf(x.sign),
        Kind::Zero => f.zero(x.sign),
        Kind::Num if x.exp >= 0 => a,
        Kind::Num => {
            let (int, rem) = shr_rem(x.mant as u128, -x.exp);
            let int = int + round_up(rnd, x.sign, int & 1 != 0, rem) as u128;
            if rem != Rem::Zero && exact {
                c.raise(fpsr::IXC);
            }
            if int == 0 {
                f.zero(x.sign)
            } else {
                let mut scratch = Fpc::new(c.fpcr);
                round(&mut scratch, f, x.sign, int, 0, Rounding::Zero)
            }
        }
    }
}

/// FPToFixed(): `a * 2^fbits` rounded to a `width`-bit integer, saturating with
/// Invalid Operation.
pub fn to_fixed(
    c: &mut Fpc,
    f: Fmt,
    a: u64,
    fbits: u32,
    unsigned: bool,
    width: u32,
    rnd: Rounding,
) -> u64 {
    let x = unpack(c, f, a);
    let sat = |c: &mut Fpc, neg: bool| {
        c.raise(fpsr::IOC);
        match (unsigned, neg) {
            (true, true) => 0,
            (true, false) => u64::MAX >> (64 - width),
            (false, true) => (1u64 << (width - 1)).wrapping_neg() & (u64::MAX >> (64 - width)),
            (false, false) => (1u64 << (width - 1)) - 1,
        }
    };
    match x.kind {
        Kind::QNaN | Kind::SNaN => {
            c.raise(fpsr::IOC);
            return 0;
        }
        Kind::Inf => return sat(c, x.sign),
        Kind::Zero => return 0,
        Kind::Num => {}
    }
    let e = x.exp + fbits as i32;
    let (int, rem) = if e >= 0 {
        if x.log2() + fbits as i32 >= 66 {
            return sat(c, x.sign);
        }
        ((x.mant as u128) << e, Rem::Zero)
    } else {
        shr_rem(x.mant as u128, -e)
    };
    let int = int + round_up(rnd, x.sign, int & 1 != 0, rem) as u128;
    let limit: u128 = if unsigned {
        if x.sign {
            0
        } else {
            (1u128 << width) - 1
        }
    } else if x.sign {
        1u128 << (width - 1)
    } else {
        (1u128 << (width - 1)) - 1
    };
    if int > limit {
        return sat(c, x.sign);
    }
    if rem != Rem::Zero {
        c.raise(fpsr::IXC);
    }
    let v = if x.sign {
        (int as u64).wrapping_neg()
    } else {
        int as u64
    };
    v & (u64::MAX >> (64 - width))
}

/// FixedToFP(): the `width`-bit integer `a` divided by `2^fbits`, rounded to `f`.
pub fn from_fixed(
    c: &mut Fpc,
    f: Fmt,
    a: u64,
    width: u32,
    fbits: u32,
    unsigned: bool,
    rnd: Rounding,
) -> u64 {
    let a = a & (u64::MAX >> (64 - width));
    let neg = !unsigned && (a >> (width - 1)) & 1 != 0;
    let mag = if neg {
        // Two's complement magnitude, 2^(width-1) for the most negative value.
        (a | !(u64::MAX >> (64 - width))).wrapping_neg()
    } else {
        a
    };
    if mag == 0 {
        return f.zero(false);
    }
    round(c, f, neg, mag as u128, -(fbits as i32), rnd)
}

/// FPRecipEstimate helper RecipEstimate(): 9-bit in, 9-bit out.
fn recip_estimate(a: u64) -> u64 {
    let a = a * 2 + 1;
    let b = (1u64 << 19) / a;
    b.div_ceil(2)
}

/// RecipSqrtEstimate(): 9-bit in (128..511), 9-bit out.
fn rsqrt_estimate(a: u64) -> u64 {
    let a = if a < 256 {
        // 0.25 .. 0.5, in units of 1/512 rounded to nearest.
        a * 2 + 1
    } else {
        // 0.5 .. 1.0: drop the bottom bit, in units of 1/256 rounded to nearest.
        (((a >> 1) << 1) + 1) * 2
    };
    // The largest b with b < 2^14 / sqrt(a).
    let mut b: u64 = 512;
    while a * (b + 1) * (b + 1) < (1 << 28) {
        b += 1;
    }
    b.div_ceil(2)
}

/// FPRecipEstimate() (FRECPE).
pub fn recip_estimate_fp(c: &mut Fpc, f: Fmt, a: u64) -> u64 {
    let x = unpack(c, f, a);
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(c, f, &x, a),
        Kind::Inf => return f.zero(x.sign),
        Kind::Zero => {
            c.raise(fpsr::DZC);
            return f.inf(x.sign);
        }
        Kind::Num => {}
    }
    let (tiny, huge, base) = match f {
        Fmt::H => (-16, 14, 29),
        Fmt::S => (-128, 126, 253),
        Fmt::D => (-1024, 1022, 2045),
    };
    if x.log2() < tiny {
        let to_inf = match c.rounding() {
            Rounding::PosInf => !x.sign,
            Rounding::NegInf => x.sign,
            Rounding::Zero => false,
            _ => true,
        };
        c.raise(fpsr::OFC | fpsr::IXC);
        return if to_inf {
            f.inf(x.sign)
        } else {
            f.max_normal(x.sign)
        };
    }
    if f != Fmt::H && c.fz() && x.log2() >= huge {
        c.raise(fpsr::UFC);
        return f.zero(x.sign);
    }
    const M52: u64 = (1 << 52) - 1;
    let mut fraction = (a & f.frac_mask()) << (52 - f.f());
    let mut exp = ((a >> f.f()) & f.exp_ones()) as i32;
    if exp == 0 {
        if fraction >> 51 & 1 == 0 {
            exp = -1;
            fraction = (fraction << 2) & M52;
        } else {
            fraction = (fraction << 1) & M52;
        }
    }
    let scaled = 256 | (fraction >> 44);
    let mut result_exp = base - exp;
    let estimate = recip_estimate(scaled);
    let mut fraction = (estimate & 0xff) << 44;
    if result_exp == 0 {
        fraction = (1 << 51) | (fraction >> 1);
    } else if result_exp == -1 {
        fraction = (1 << 50) | (fraction >> 2);
        result_exp = 0;
    }
    f.sign(x.sign) | ((result_exp as u64 & f.exp_ones()) << f.f()) | (fraction >> (52 - f.f()))
}

/// FPRSqrtEstimate() (FRSQRTE).
pub fn rsqrt_estimate_fp(c: &mut Fpc, f: Fmt, a: u64) -> u64 {
    let x = unpack(c, f, a);
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(c, f, &x, a),
        Kind::Zero => {
            c.raise(fpsr::DZC);
            return f.inf(x.sign);
        }
        _ if x.sign => {
            c.raise(fpsr::IOC);
            return f.default_nan();
        }
        Kind::Inf => return f.zero(false),
        Kind::Num => {}
    }
    const M52: u64 = (1 << 52) - 1;
    let mut fraction = (a & f.frac_mask()) << (52 - f.f());
    let mut exp = ((a >> f.f()) & f.exp_ones()) as i32;
    if exp == 0 {
        while fraction >> 51 & 1 == 0 {
            fraction = (fraction << 1) & M52;
            exp -= 1;
        }
        fraction = (fraction << 1) & M52;
    }
    let scaled = if exp & 1 == 0 {
        256 | (fraction >> 44)
    } else {
        128 | (fraction >> 45)
    };
    let base = match f {
        Fmt::H => 44,
        Fmt::S => 380,
        Fmt::D => 3068,
    };
    let result_exp = (base - exp).div_euclid(2);
    let estimate = rsqrt_estimate(scaled);
    ((result_exp as u64 & f.exp_ones()) << f.f()) | ((estimate & 0xff) << (f.f() - 8))
}

/// FPRecpX() (FRECPX): the reciprocal exponent.
pub fn recpx(c: &mut Fpc, f: Fmt, a: u64) -> u64 {
    let x = unpack(c, f, a);
    if x.is_nan() {
        return process_nan(c, f, &x, a);
    }
    let exp = (a >> f.f()) & f.exp_ones();
    let new_exp = if exp == 0 {
        f.exp_ones() - 1
    } else {
        !exp & f.exp_ones()
    };
    f.sign(x.sign) | (new_exp << f.f())
}

/// UnsignedRecipEstimate() (URECPE).
pub fn urecpe(a: u32) -> u32 {
    if a >> 31 == 0 {
        u32::MAX
    } else {
        (recip_estimate((a >> 23) as u64) as u32) << 23
    }
}

/// UnsignedRSqrtEstimate() (URSQRTE).
pub fn ursqrte(a: u32) -> u32 {
    if a >> 30 == 0 {
        u32::MAX
    } else {
        (rsqrt_estimate((a >> 23) as u64) as u32) << 23
    }
}

/// VFPExpandImm(): the 8-bit FMOV immediate in format `f`.
pub fn expand_imm(f: Fmt, imm8: u32) -> u64 {
    let imm8 = imm8 as u64;
    let sign = imm8 >> 7;
    let b6 = (imm8 >> 6) & 1;
    let e = f.e() as u64;
    // NOT(b6) : Replicate(b6, E-3) : imm8<5:4>
    let rep = if b6 == 1 { (1 << (e - 3)) - 1 } else { 0 };
    let exp = ((b6 ^ 1) << (e - 1)) | (rep << 2) | ((imm8 >> 4) & 3);
    (sign << (f.n() - 1)) | (exp << f.f()) | ((imm8 & 15) << (f.f() - 4))
}

/// Host floating point where it provably gives the architected result.
///
/// Conditions: round to nearest (the host's mode), single or double precision, and
/// every operand and the result a normal number whose biased exponent lies in
/// `[F+3, 2^E-4]`. Then there is no NaN (DN irrelevant), no denormal in or out (FZ
/// irrelevant, no flush, no tininess), no overflow, and IEEE 754 round-to-nearest is
/// ARM's FPRound. The one flag left, Inexact, comes from an error-free
/// transformation: the rounding error of a sum (TwoSum), or the residual of a
/// product, quotient or square root computed exactly by a fused multiply-add (exact
/// because the exponent margin keeps the residual above the denormal range).
mod host {
    use super::{Fmt, Fpc, Rounding};

    fn safe(f: Fmt, x: u64) -> bool {
        let e = (x >> f.f()) & f.exp_ones();
        e >= f.f() as u64 + 3 && e <= f.exp_ones() - 3
    }

    /// Whether the fast path may be tried for these operands.
    pub fn usable(c: &Fpc, f: Fmt, ops: &[u64]) -> bool {
        f != Fmt::H && c.rounding() == Rounding::TieEven && ops.iter().all(|&x| safe(f, x))
    }

    /// The host's result for `ops` (`single` or `double` by format, each giving
    /// `(bits, inexact)`), if the operands and the result are in the safe range.
    #[inline(always)]
    pub fn run(
        c: &mut Fpc,
        f: Fmt,
        ops: &[u64],
        single: impl FnOnce() -> (u64, bool),
        double: impl FnOnce() -> (u64, bool),
    ) -> Option<u64> {
        if !usable(c, f, ops) {
            return None;
        }
        accept(c, f, pick(f, single, double))
    }

    /// Accepts a host result `(bits, inexact)` if it is in the safe range.
    fn accept(c: &mut Fpc, f: Fmt, r: (u64, bool)) -> Option<u64> {
        if !safe(f, r.0) {
            return None;
        }
        if r.1 {
            c.raise(super::fpsr::IXC);
        }
        Some(r.0)
    }

    macro_rules! host_ops {
        ($m:ident, $t:ty, $bits:ty) => {
            pub mod $m {
                fn v(x: u64) -> $t {
                    <$t>::from_bits(x as $bits)
                }
                fn raw(x: $t) -> u64 {
                    x.to_bits() as u64
                }
                pub fn add(a: u64, b: u64, sub: bool) -> (u64, bool) {
                    let (x, y) = (v(a), if sub { -v(b) } else { v(b) });
                    let s = x + y;
                    let bb = s - x;
                    let err = (x - (s - bb)) + (y - bb);
                    (raw(s), err != 0.0)
                }
                pub fn mul(a: u64, b: u64) -> (u64, bool) {
                    let (x, y) = (v(a), v(b));
                    let p = x * y;
                    (raw(p), x.mul_add(y, -p) != 0.0)
                }
                pub fn div(a: u64, b: u64) -> (u64, bool) {
                    let (x, y) = (v(a), v(b));
                    let q = x / y;
                    (raw(q), (-q).mul_add(y, x) != 0.0)
                }
                pub fn sqrt(a: u64) -> (u64, bool) {
                    let x = v(a);
                    let r = x.sqrt();
                    (raw(r), r.mul_add(r, -x) != 0.0)
                }
            }
        };
    }
    host_ops!(s, f32, u32);
    host_ops!(d, f64, u64);

    /// Double-precision `addend + a * b`, rounded once.
    pub fn fma_double(addend: u64, a: u64, b: u64) -> u64 {
        f64::from_bits(a)
            .mul_add(f64::from_bits(b), f64::from_bits(addend))
            .to_bits()
    }

    /// Single-precision `addend + a * b` rounded once, and whether it was
    /// inexact. In double precision the product is exact and TwoSum gives the
    /// sum exactly as `s + e`. For a result `r` in the safe range, `s - r` is
    /// exact (Sterbenz: both approximate the same value closely), so the
    /// operation was exact exactly when `(s - r) + e` is zero.
    pub fn fma_single(addend: u64, a: u64, b: u64) -> (u64, bool) {
        let single = |x: u64| f32::from_bits(x as u32);
        let r = single(a).mul_add(single(b), single(addend));
        let p = single(a) as f64 * single(b) as f64;
        let z = single(addend) as f64;
        let s = p + z;
        let bb = s - p;
        let e = (p - (s - bb)) + (z - bb);
        (r.to_bits() as u64, (s - r as f64) + e != 0.0)
    }

    /// Runs `single` or `double` for format `f` (only S and D pass [`usable`]).
    fn pick(
        f: Fmt,
        single: impl FnOnce() -> (u64, bool),
        double: impl FnOnce() -> (u64, bool),
    ) -> (u64, bool) {
        if f == Fmt::S {
            single()
        } else {
            double()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: deterministic operands.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// A value of format `f`, often with an exponent at an edge of the host
        /// fast path's range, or with few significant bits (exact results).
        fn operand(&mut self, f: Fmt) -> u64 {
            let r = self.next();
            let ones = f.exp_ones();
            let exp = match r % 8 {
                0 => f.f() as u64 + 3 + (r >> 8) % 3,
                1 => ones - 3 - (r >> 8) % 3,
                2 => f.bias() as u64 + (r >> 8) % 5,
                3 => f.bias() as u64 - (r >> 8) % 5,
                _ => (r >> 8) % (ones + 1),
            };
            let mut frac = (r >> 16) & f.frac_mask();
            if r & (1 << 12) != 0 {
                frac &= !((1 << (f.f() / 2)) - 1);
            }
            ((r >> 13) & 1) << (f.n() - 1) | (exp << f.f()) | frac
        }
    }

    /// The host fast path must agree with the software path, result and flags, for
    /// every operand it accepts (and it must accept most in-range operands).
    #[test]
    fn host_fast_path_equals_soft() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut fast = 0;
        for k in 0..400_000 {
            let f = if k & 1 == 0 { Fmt::S } else { Fmt::D };
            let fpcr = if k & 2 == 0 { 0 } else { fpcr::FZ | fpcr::DN };
            let (a, b) = (rng.operand(f), rng.operand(f));
            let (a, b) = (a & f.mask(), b & f.mask());
            let op = k / 4 % 5;
            let run = |soft: bool| {
                let mut c = Fpc::new(fpcr);
                let r = match (op, soft) {
                    (0, false) => add_sub(&mut c, f, a, b, false),
                    (0, true) => add_sub_soft(&mut c, f, a, b, false),
                    (1, false) => add_sub(&mut c, f, a, b, true),
                    (1, true) => add_sub_soft(&mut c, f, a, b, true),
                    (2, false) => mul_x(&mut c, f, a, b, false),
                    (2, true) => mul_x_soft(&mut c, f, a, b, false),
                    (3, false) => div(&mut c, f, a, b),
                    (3, true) => div_soft(&mut c, f, a, b),
                    (_, false) => sqrt(&mut c, f, a & !f.sign_bit()),
                    (_, true) => sqrt_soft(&mut c, f, a & !f.sign_bit()),
                };
                (r, c.exc)
            };
            let c = Fpc::new(fpcr);
            if host::usable(&c, f, &[a, b]) {
                fast += 1;
            }
            assert_eq!(run(false), run(true), "op {op} {f:?} {a:#x} {b:#x}");
        }
        assert!(fast > 50_000, "fast path taken only {fast} times");
    }

    /// The same for the fused multiply-add, whose fast path also depends on
    /// whether Inexact is already set. Operands with few significant bits make
    /// many results exact, which the single-precision path must notice.
    #[test]
    fn host_fused_multiply_add_equals_soft() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut fast, mut exact) = (0, 0);
        for k in 0..400_000 {
            let f = if k & 1 == 0 { Fmt::S } else { Fmt::D };
            let fpcr = if k & 2 == 0 { 0 } else { fpcr::FZ | fpcr::DN };
            let inexact_already = k & 4 != 0;
            let mut ops = [0; 3].map(|_| rng.operand(f) & f.mask());
            if k % 8 >= 5 {
                // Small integers over powers of two: mostly exact results.
                ops = [0; 3].map(|_| {
                    let r = rng.next();
                    let x = ((r % 2001) as f64 - 1000.0) * 2f64.powi((r >> 16) as i32 % 9 - 4);
                    if f == Fmt::S {
                        (x as f32).to_bits() as u64
                    } else {
                        x.to_bits()
                    }
                });
            }
            let run = |soft: bool| {
                let mut c = Fpc::new(fpcr);
                c.inexact_already = inexact_already;
                let r = if soft {
                    mul_add_soft(&mut c, f, ops[0], ops[1], ops[2])
                } else {
                    mul_add(&mut c, f, ops[0], ops[1], ops[2])
                };
                (r, c.exc)
            };
            let mut c = Fpc::new(fpcr);
            c.inexact_already = inexact_already;
            if host::usable(&c, f, &ops) && (f == Fmt::S || inexact_already) {
                fast += 1;
            }
            let (soft, soft_exc) = run(true);
            if soft_exc == 0 {
                exact += 1;
            }
            let (host, host_exc) = run(false);
            assert_eq!(host, soft, "{f:?} {ops:#x?}");
            // Under `inexact_already` the fast path may leave IXC out: it is set.
            let ignore = if inexact_already { fpsr::IXC } else { 0 };
            assert_eq!(host_exc & !ignore, soft_exc & !ignore, "{f:?} {ops:#x?}");
        }
        assert!(fast > 50_000, "fast path taken only {fast} times");
        assert!(exact > 50_000, "only {exact} exact results");
    }
}
