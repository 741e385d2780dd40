//! Floating-point encodings: scalar FP data processing and conversions (ARM ARM
//! C4.1.96 "Data Processing -- Scalar Floating-Point and Advanced SIMD", the
//! `x0x11110` groups) and the floating-point rows of the Advanced SIMD groups (three
//! same, two-register miscellaneous, scalar pairwise, across lanes, by element,
//! shift by immediate). Same table form as [`super::a64`].
//!
//! Advertised: single and double precision, plus the ARMv8.0 half-precision
//! conversions (FCVT, FCVTL, FCVTN). FEAT_FP16 arithmetic (`ftype == 11`, the
//! "three same FP16" and "two-register misc FP16" groups, the `size == 00` by-element
//! forms), FEAT_FHM, FEAT_FCMA, FEAT_FRINTTS, FEAT_BF16 and FEAT_JSCVT are not
//! advertised: their encodings stay unallocated (listed below as comments).
//!
//! Shape conventions the executor relies on: bit 28 is 1 for scalar forms (one
//! element, the rest of the register zeroed) and 0 for vector forms; bit 22 selects
//! double precision (`ftype<0>`, `sz` or `immh<3>`); bit 30 is `Q` in vector forms.

use super::a64::Encoding;
use super::pattern;
use super::Op;

/// FPRounding: a rounding mode named by an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Round to nearest, ties to even.
    TieEven,
    /// Towards plus infinity.
    PosInf,
    /// Towards minus infinity.
    NegInf,
    /// Towards zero.
    Zero,
    /// Round to nearest, ties away from zero.
    TieAway,
    /// Round to odd (FCVTXN).
    Odd,
}

/// One-operand element operations (same format in and out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Un {
    /// FMOV (register): scalar only.
    Mov,
    Abs,
    Neg,
    Sqrt,
    /// FRINTN/P/M/Z/A: a fixed rounding, no Inexact.
    Rint(Rounding),
    /// FRINTX: FPCR rounding, Inexact raised.
    RintX,
    /// FRINTI: FPCR rounding, no Inexact.
    RintI,
    Recpe,
    Rsqrte,
    Recpx,
}

/// Two-operand element operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    MaxNm,
    MinNm,
    Nmul,
    Mulx,
    Abd,
    Recps,
    Rsqrts,
    CmEq,
    CmGe,
    CmGt,
    AcGe,
    AcGt,
}

/// Comparisons against zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp0 {
    Gt,
    Eq,
    Lt,
    Ge,
    Le,
}

/// The scalar fused multiply-adds (FMADD family, `d = ±a ± n*m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fma {
    Madd,
    Msub,
    Nmadd,
    Nmsub,
}

/// Floating-point instruction kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FpOp {
    // ---- Scalar FP <-> general registers
    /// SCVTF/UCVTF (scalar, fixed-point).
    GenFromFixed {
        unsigned: bool,
    },
    /// FCVTZS/FCVTZU (scalar, fixed-point).
    GenToFixed {
        unsigned: bool,
    },
    /// SCVTF/UCVTF (scalar, integer).
    GenFromInt {
        unsigned: bool,
    },
    /// FCVT{N,P,M,Z,A}{S,U} (scalar, integer).
    GenToInt {
        rounding: Rounding,
        unsigned: bool,
    },
    /// FMOV Wd, Sn / Xd, Dn.
    FmovToGen,
    /// FMOV Sd, Wn / Dd, Xn.
    FmovFromGen,
    /// FMOV Xd, Vn.D[1].
    FmovToGenTop,
    /// FMOV Vd.D[1], Xn.
    FmovFromGenTop,
    // ---- Scalar FP data processing
    /// FCVT between half, single and double precision.
    Fcvt,
    Fcmp {
        signal: bool,
        zero: bool,
    },
    Fccmp {
        signal: bool,
    },
    Fcsel,
    FmovImm,
    /// FMADD, FMSUB, FNMADD, FNMSUB.
    Fmadd(Fma),
    // ---- Element-wise, scalar FP or Advanced SIMD (scalar and vector)
    Unary(Un),
    Binary(Bin),
    CmpZero(Cmp0),
    /// FMLA/FMLS (vector): `d = d ± n*m`.
    Fmla {
        sub: bool,
    },
    /// FCVT{N,P,M,Z,A}{S,U} (vector and Advanced SIMD scalar).
    ToInt {
        rounding: Rounding,
        unsigned: bool,
    },
    /// SCVTF/UCVTF (vector and Advanced SIMD scalar, integer).
    FromInt {
        unsigned: bool,
    },
    /// FCVTZS/FCVTZU (vector and scalar, fixed-point).
    ToFixed {
        unsigned: bool,
    },
    /// SCVTF/UCVTF (vector and scalar, fixed-point).
    FromFixed {
        unsigned: bool,
    },
    Urecpe,
    Ursqrte,
    /// FCVTL/FCVTL2.
    Fcvtl,
    /// FCVTN/FCVTN2.
    Fcvtn,
    /// FCVTXN/FCVTXN2, vector and scalar.
    Fcvtxn,
    /// FADDP, FMAXP, ... (vector).
    Pairwise(Bin),
    /// FADDP, FMAXP, ... (scalar).
    PairwiseScalar(Bin),
    /// FMAXV, FMINV, FMAXNMV, FMINNMV.
    Reduce(Bin),
    /// FMUL/FMULX (by element), vector and scalar.
    ElemBinary(Bin),
    /// FMLA/FMLS (by element), vector and scalar.
    ElemFmla {
        sub: bool,
    },
}

/// Overlapping rows, first listed wins.
pub const ALLOWED_OVERLAPS: &[(Op, Op)] = &[];

macro_rules! fp {
    ($op:expr, $title:expr, $pat:expr) => {
        Encoding {
            op: Op::Fp($op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: None,
        }
    };
    ($op:expr, $title:expr, $pat:expr, $guard:expr) => {
        Encoding {
            op: Op::Fp($op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: Some($guard),
        }
    };
}

fn bit(w: u32, n: u32) -> bool {
    (w >> n) & 1 != 0
}

/// Vector element-wise forms: `sz == 1` (double) needs `Q == 1` (2D; "1D" is reserved).
fn sz_q(w: u32) -> bool {
    !bit(w, 22) || bit(w, 30)
}
/// By element, vector: double precision needs `L == 0` and `Q == 1`.
fn elem_vec(w: u32) -> bool {
    !bit(w, 22) || (!bit(w, 21) && bit(w, 30))
}
/// By element, scalar: double precision needs `L == 0`.
fn elem_scalar(w: u32) -> bool {
    !bit(w, 22) || !bit(w, 21)
}

use Bin::*;
use FpOp::*;
use Rounding::*;

const S: bool = false;
const U: bool = true;

#[rustfmt::skip]
pub static FP: &[Encoding] = &[
    // ==== C4.1.96.30 Conversion between floating-point and fixed-point
    //      sf 0 S 11110 ftype 0 rmode opcode scale Rn Rd; fbits = 64 - scale
    // FEAT_FP16: ftype == 11.
    fp!(GenFromFixed { unsigned: S }, "SCVTF (scalar, fixed-point), 32-bit", "0 0 0 11110 0t 0 00 010 1sssss nnnnn ddddd"),
    fp!(GenFromFixed { unsigned: S }, "SCVTF (scalar, fixed-point), 64-bit", "1 0 0 11110 0t 0 00 010 ssssss nnnnn ddddd"),
    fp!(GenFromFixed { unsigned: U }, "UCVTF (scalar, fixed-point), 32-bit", "0 0 0 11110 0t 0 00 011 1sssss nnnnn ddddd"),
    fp!(GenFromFixed { unsigned: U }, "UCVTF (scalar, fixed-point), 64-bit", "1 0 0 11110 0t 0 00 011 ssssss nnnnn ddddd"),
    fp!(GenToFixed { unsigned: S },   "FCVTZS (scalar, fixed-point), 32-bit", "0 0 0 11110 0t 0 11 000 1sssss nnnnn ddddd"),
    fp!(GenToFixed { unsigned: S },   "FCVTZS (scalar, fixed-point), 64-bit", "1 0 0 11110 0t 0 11 000 ssssss nnnnn ddddd"),
    fp!(GenToFixed { unsigned: U },   "FCVTZU (scalar, fixed-point), 32-bit", "0 0 0 11110 0t 0 11 001 1sssss nnnnn ddddd"),
    fp!(GenToFixed { unsigned: U },   "FCVTZU (scalar, fixed-point), 64-bit", "1 0 0 11110 0t 0 11 001 ssssss nnnnn ddddd"),

    // ==== C4.1.96.31 Conversion between floating-point and integer
    //      sf 0 S 11110 ftype 1 rmode opcode 000000 Rn Rd
    // FEAT_FP16: ftype == 11 (and FMOV Wd/Xd <-> Hn). FEAT_JSCVT: FJCVTZS "0 0 0 11110 01 1 11 110 000000".
    fp!(GenToInt { rounding: TieEven, unsigned: S }, "FCVTNS (scalar)", "f 0 0 11110 0t 1 00 000 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: TieEven, unsigned: U }, "FCVTNU (scalar)", "f 0 0 11110 0t 1 00 001 000000 nnnnn ddddd"),
    fp!(GenFromInt { unsigned: S },                  "SCVTF (scalar, integer)", "f 0 0 11110 0t 1 00 010 000000 nnnnn ddddd"),
    fp!(GenFromInt { unsigned: U },                  "UCVTF (scalar, integer)", "f 0 0 11110 0t 1 00 011 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: TieAway, unsigned: S }, "FCVTAS (scalar)", "f 0 0 11110 0t 1 00 100 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: TieAway, unsigned: U }, "FCVTAU (scalar)", "f 0 0 11110 0t 1 00 101 000000 nnnnn ddddd"),
    fp!(FmovToGen,      "FMOV (general), Wd <- Sn",    "0 0 0 11110 00 1 00 110 000000 nnnnn ddddd"),
    fp!(FmovFromGen,    "FMOV (general), Sd <- Wn",    "0 0 0 11110 00 1 00 111 000000 nnnnn ddddd"),
    fp!(FmovToGen,      "FMOV (general), Xd <- Dn",    "1 0 0 11110 01 1 00 110 000000 nnnnn ddddd"),
    fp!(FmovFromGen,    "FMOV (general), Dd <- Xn",    "1 0 0 11110 01 1 00 111 000000 nnnnn ddddd"),
    fp!(FmovToGenTop,   "FMOV (general), Xd <- Vn.D[1]", "1 0 0 11110 10 1 01 110 000000 nnnnn ddddd"),
    fp!(FmovFromGenTop, "FMOV (general), Vd.D[1] <- Xn", "1 0 0 11110 10 1 01 111 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: PosInf, unsigned: S },  "FCVTPS (scalar)", "f 0 0 11110 0t 1 01 000 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: PosInf, unsigned: U },  "FCVTPU (scalar)", "f 0 0 11110 0t 1 01 001 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: NegInf, unsigned: S },  "FCVTMS (scalar)", "f 0 0 11110 0t 1 10 000 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: NegInf, unsigned: U },  "FCVTMU (scalar)", "f 0 0 11110 0t 1 10 001 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: Zero, unsigned: S },    "FCVTZS (scalar, integer)", "f 0 0 11110 0t 1 11 000 000000 nnnnn ddddd"),
    fp!(GenToInt { rounding: Zero, unsigned: U },    "FCVTZU (scalar, integer)", "f 0 0 11110 0t 1 11 001 000000 nnnnn ddddd"),

    // ==== C4.1.96.32 Floating-point data-processing (1 source)
    //      M 0 S 11110 ftype 1 opcode 10000 Rn Rd
    // FEAT_FRINTTS: FRINT32Z.. "000 11110 0t 1 0100xx 10000"; FEAT_BF16: BFCVT "000 11110 01 1 000110 10000".
    fp!(Unary(Un::Mov),          "FMOV (register)", "0 0 0 11110 0t 1 000000 10000 nnnnn ddddd"),
    fp!(Unary(Un::Abs),          "FABS (scalar)",   "0 0 0 11110 0t 1 000001 10000 nnnnn ddddd"),
    fp!(Unary(Un::Neg),          "FNEG (scalar)",   "0 0 0 11110 0t 1 000010 10000 nnnnn ddddd"),
    fp!(Unary(Un::Sqrt),         "FSQRT (scalar)",  "0 0 0 11110 0t 1 000011 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, single to double", "0 0 0 11110 00 1 0001 01 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, single to half",   "0 0 0 11110 00 1 0001 11 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, double to single", "0 0 0 11110 01 1 0001 00 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, double to half",   "0 0 0 11110 01 1 0001 11 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, half to single",   "0 0 0 11110 11 1 0001 00 10000 nnnnn ddddd"),
    fp!(Fcvt,                    "FCVT, half to double",   "0 0 0 11110 11 1 0001 01 10000 nnnnn ddddd"),
    fp!(Unary(Un::Rint(TieEven)), "FRINTN (scalar)", "0 0 0 11110 0t 1 001000 10000 nnnnn ddddd"),
    fp!(Unary(Un::Rint(PosInf)),  "FRINTP (scalar)", "0 0 0 11110 0t 1 001001 10000 nnnnn ddddd"),
    fp!(Unary(Un::Rint(NegInf)),  "FRINTM (scalar)", "0 0 0 11110 0t 1 001010 10000 nnnnn ddddd"),
    fp!(Unary(Un::Rint(Zero)),    "FRINTZ (scalar)", "0 0 0 11110 0t 1 001011 10000 nnnnn ddddd"),
    fp!(Unary(Un::Rint(TieAway)), "FRINTA (scalar)", "0 0 0 11110 0t 1 001100 10000 nnnnn ddddd"),
    fp!(Unary(Un::RintX),         "FRINTX (scalar)", "0 0 0 11110 0t 1 001110 10000 nnnnn ddddd"),
    fp!(Unary(Un::RintI),         "FRINTI (scalar)", "0 0 0 11110 0t 1 001111 10000 nnnnn ddddd"),

    // ==== C4.1.96.33 Floating-point compare
    //      M 0 S 11110 ftype 1 Rm op 1000 Rn opcode2; the zero forms ignore Rm.
    fp!(Fcmp { signal: false, zero: false }, "FCMP",          "0 0 0 11110 0t 1 mmmmm 00 1000 nnnnn 00000"),
    fp!(Fcmp { signal: false, zero: true },  "FCMP (zero)",   "0 0 0 11110 0t 1 mmmmm 00 1000 nnnnn 01000"),
    fp!(Fcmp { signal: true, zero: false },  "FCMPE",         "0 0 0 11110 0t 1 mmmmm 00 1000 nnnnn 10000"),
    fp!(Fcmp { signal: true, zero: true },   "FCMPE (zero)",  "0 0 0 11110 0t 1 mmmmm 00 1000 nnnnn 11000"),

    // ==== C4.1.96.34 Floating-point immediate: M 0 S 11110 ftype 1 imm8 100 imm5 Rd
    fp!(FmovImm,                 "FMOV (scalar, immediate)", "0 0 0 11110 0t 1 iiiiiiii 100 00000 ddddd"),

    // ==== C4.1.96.35 Floating-point conditional compare
    fp!(Fccmp { signal: false }, "FCCMP",  "0 0 0 11110 0t 1 mmmmm cccc 01 nnnnn 0 vvvv"),
    fp!(Fccmp { signal: true },  "FCCMPE", "0 0 0 11110 0t 1 mmmmm cccc 01 nnnnn 1 vvvv"),

    // ==== C4.1.96.36 Floating-point data-processing (2 source)
    fp!(Binary(Mul),   "FMUL (scalar)",   "0 0 0 11110 0t 1 mmmmm 0000 10 nnnnn ddddd"),
    fp!(Binary(Div),   "FDIV (scalar)",   "0 0 0 11110 0t 1 mmmmm 0001 10 nnnnn ddddd"),
    fp!(Binary(Add),   "FADD (scalar)",   "0 0 0 11110 0t 1 mmmmm 0010 10 nnnnn ddddd"),
    fp!(Binary(Sub),   "FSUB (scalar)",   "0 0 0 11110 0t 1 mmmmm 0011 10 nnnnn ddddd"),
    fp!(Binary(Max),   "FMAX (scalar)",   "0 0 0 11110 0t 1 mmmmm 0100 10 nnnnn ddddd"),
    fp!(Binary(Min),   "FMIN (scalar)",   "0 0 0 11110 0t 1 mmmmm 0101 10 nnnnn ddddd"),
    fp!(Binary(MaxNm), "FMAXNM (scalar)", "0 0 0 11110 0t 1 mmmmm 0110 10 nnnnn ddddd"),
    fp!(Binary(MinNm), "FMINNM (scalar)", "0 0 0 11110 0t 1 mmmmm 0111 10 nnnnn ddddd"),
    fp!(Binary(Nmul),  "FNMUL (scalar)",  "0 0 0 11110 0t 1 mmmmm 1000 10 nnnnn ddddd"),

    // ==== C4.1.96.37 Floating-point conditional select
    fp!(Fcsel,                   "FCSEL", "0 0 0 11110 0t 1 mmmmm cccc 11 nnnnn ddddd"),

    // ==== C4.1.96.38 Floating-point data-processing (3 source): M 0 S 11111 ftype o1 Rm o0 Ra Rn Rd
    fp!(Fmadd(Fma::Madd),        "FMADD",  "0 0 0 11111 0t 0 mmmmm 0 aaaaa nnnnn ddddd"),
    fp!(Fmadd(Fma::Msub),        "FMSUB",  "0 0 0 11111 0t 0 mmmmm 1 aaaaa nnnnn ddddd"),
    fp!(Fmadd(Fma::Nmadd),       "FNMADD", "0 0 0 11111 0t 1 mmmmm 0 aaaaa nnnnn ddddd"),
    fp!(Fmadd(Fma::Nmsub),       "FNMSUB", "0 0 0 11111 0t 1 mmmmm 1 aaaaa nnnnn ddddd"),

    // ==== C4.1.96.19 Advanced SIMD three same (FP rows: opcode 11xxx, size = a:sz)
    //      0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd
    // FEAT_FHM: FMLAL/FMLSL "0q0 01110 a0 1 ... 11101", FMLAL2/FMLSL2 "0q1 01110 a0 1 ... 11001".
    // FEAT_FP16: "Advanced SIMD three same (FP16)" 0 Q U 01110 a 10 Rm 00 opcode 1.
    fp!(Binary(MaxNm),       "FMAXNM (vector)",  "0 q 0 01110 0s 1 mmmmm 11000 1 nnnnn ddddd", sz_q),
    fp!(Fmla { sub: false }, "FMLA (vector)",    "0 q 0 01110 0s 1 mmmmm 11001 1 nnnnn ddddd", sz_q),
    fp!(Binary(Add),         "FADD (vector)",    "0 q 0 01110 0s 1 mmmmm 11010 1 nnnnn ddddd", sz_q),
    fp!(Binary(Mulx),        "FMULX (vector)",   "0 q 0 01110 0s 1 mmmmm 11011 1 nnnnn ddddd", sz_q),
    fp!(Binary(CmEq),        "FCMEQ (register), vector", "0 q 0 01110 0s 1 mmmmm 11100 1 nnnnn ddddd", sz_q),
    fp!(Binary(Max),         "FMAX (vector)",    "0 q 0 01110 0s 1 mmmmm 11110 1 nnnnn ddddd", sz_q),
    fp!(Binary(Recps),       "FRECPS (vector)",  "0 q 0 01110 0s 1 mmmmm 11111 1 nnnnn ddddd", sz_q),
    fp!(Binary(MinNm),       "FMINNM (vector)",  "0 q 0 01110 1s 1 mmmmm 11000 1 nnnnn ddddd", sz_q),
    fp!(Fmla { sub: true },  "FMLS (vector)",    "0 q 0 01110 1s 1 mmmmm 11001 1 nnnnn ddddd", sz_q),
    fp!(Binary(Sub),         "FSUB (vector)",    "0 q 0 01110 1s 1 mmmmm 11010 1 nnnnn ddddd", sz_q),
    fp!(Binary(Min),         "FMIN (vector)",    "0 q 0 01110 1s 1 mmmmm 11110 1 nnnnn ddddd", sz_q),
    fp!(Binary(Rsqrts),      "FRSQRTS (vector)", "0 q 0 01110 1s 1 mmmmm 11111 1 nnnnn ddddd", sz_q),
    fp!(Pairwise(MaxNm),     "FMAXNMP (vector)", "0 q 1 01110 0s 1 mmmmm 11000 1 nnnnn ddddd", sz_q),
    fp!(Pairwise(Add),       "FADDP (vector)",   "0 q 1 01110 0s 1 mmmmm 11010 1 nnnnn ddddd", sz_q),
    fp!(Binary(Mul),         "FMUL (vector)",    "0 q 1 01110 0s 1 mmmmm 11011 1 nnnnn ddddd", sz_q),
    fp!(Binary(CmGe),        "FCMGE (register), vector", "0 q 1 01110 0s 1 mmmmm 11100 1 nnnnn ddddd", sz_q),
    fp!(Binary(AcGe),        "FACGE (vector)",   "0 q 1 01110 0s 1 mmmmm 11101 1 nnnnn ddddd", sz_q),
    fp!(Pairwise(Max),       "FMAXP (vector)",   "0 q 1 01110 0s 1 mmmmm 11110 1 nnnnn ddddd", sz_q),
    fp!(Binary(Div),         "FDIV (vector)",    "0 q 1 01110 0s 1 mmmmm 11111 1 nnnnn ddddd", sz_q),
    fp!(Pairwise(MinNm),     "FMINNMP (vector)", "0 q 1 01110 1s 1 mmmmm 11000 1 nnnnn ddddd", sz_q),
    fp!(Binary(Abd),         "FABD (vector)",    "0 q 1 01110 1s 1 mmmmm 11010 1 nnnnn ddddd", sz_q),
    fp!(Binary(CmGt),        "FCMGT (register), vector", "0 q 1 01110 1s 1 mmmmm 11100 1 nnnnn ddddd", sz_q),
    fp!(Binary(AcGt),        "FACGT (vector)",   "0 q 1 01110 1s 1 mmmmm 11101 1 nnnnn ddddd", sz_q),
    fp!(Pairwise(Min),       "FMINP (vector)",   "0 q 1 01110 1s 1 mmmmm 11110 1 nnnnn ddddd", sz_q),

    // ==== C4.1.96.11 Advanced SIMD scalar three same (FP rows)
    //      01 U 11110 a sz 1 Rm opcode 1 Rn Rd
    // FEAT_FP16: "Advanced SIMD scalar three same FP16".
    fp!(Binary(Mulx),        "FMULX (scalar)",   "01 0 11110 0s 1 mmmmm 11011 1 nnnnn ddddd"),
    fp!(Binary(CmEq),        "FCMEQ (register), scalar", "01 0 11110 0s 1 mmmmm 11100 1 nnnnn ddddd"),
    fp!(Binary(Recps),       "FRECPS (scalar)",  "01 0 11110 0s 1 mmmmm 11111 1 nnnnn ddddd"),
    fp!(Binary(Rsqrts),      "FRSQRTS (scalar)", "01 0 11110 1s 1 mmmmm 11111 1 nnnnn ddddd"),
    fp!(Binary(CmGe),        "FCMGE (register), scalar", "01 1 11110 0s 1 mmmmm 11100 1 nnnnn ddddd"),
    fp!(Binary(AcGe),        "FACGE (scalar)",   "01 1 11110 0s 1 mmmmm 11101 1 nnnnn ddddd"),
    fp!(Binary(Abd),         "FABD (scalar)",    "01 1 11110 1s 1 mmmmm 11010 1 nnnnn ddddd"),
    fp!(Binary(CmGt),        "FCMGT (register), scalar", "01 1 11110 1s 1 mmmmm 11100 1 nnnnn ddddd"),
    fp!(Binary(AcGt),        "FACGT (scalar)",   "01 1 11110 1s 1 mmmmm 11101 1 nnnnn ddddd"),

    // ==== C4.1.96.21 Advanced SIMD two-register miscellaneous (FP rows)
    //      0 Q U 01110 a sz 10000 opcode 10 Rn Rd
    // FEAT_FRINTTS: FRINT32Z.. opcode 1111x; FEAT_BF16: BFCVTN "0q0 01110 10 10000 10110".
    // FEAT_FP16: "Advanced SIMD two-register miscellaneous (FP16)".
    fp!(Fcvtn,                "FCVTN, FCVTN2",   "0 q 0 01110 0s 10000 10110 10 nnnnn ddddd"),
    fp!(Fcvtl,                "FCVTL, FCVTL2",   "0 q 0 01110 0s 10000 10111 10 nnnnn ddddd"),
    fp!(Unary(Un::Rint(TieEven)), "FRINTN (vector)", "0 q 0 01110 0s 10000 11000 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Rint(NegInf)),  "FRINTM (vector)", "0 q 0 01110 0s 10000 11001 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: TieEven, unsigned: S }, "FCVTNS (vector)", "0 q 0 01110 0s 10000 11010 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: NegInf, unsigned: S },  "FCVTMS (vector)", "0 q 0 01110 0s 10000 11011 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: TieAway, unsigned: S }, "FCVTAS (vector)", "0 q 0 01110 0s 10000 11100 10 nnnnn ddddd", sz_q),
    fp!(FromInt { unsigned: S },  "SCVTF (vector, integer)", "0 q 0 01110 0s 10000 11101 10 nnnnn ddddd", sz_q),
    fp!(CmpZero(Cmp0::Gt),        "FCMGT (zero), vector", "0 q 0 01110 1s 10000 01100 10 nnnnn ddddd", sz_q),
    fp!(CmpZero(Cmp0::Eq),        "FCMEQ (zero), vector", "0 q 0 01110 1s 10000 01101 10 nnnnn ddddd", sz_q),
    fp!(CmpZero(Cmp0::Lt),        "FCMLT (zero), vector", "0 q 0 01110 1s 10000 01110 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Abs),           "FABS (vector)",   "0 q 0 01110 1s 10000 01111 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Rint(PosInf)),  "FRINTP (vector)", "0 q 0 01110 1s 10000 11000 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Rint(Zero)),    "FRINTZ (vector)", "0 q 0 01110 1s 10000 11001 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: PosInf, unsigned: S },  "FCVTPS (vector)", "0 q 0 01110 1s 10000 11010 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: Zero, unsigned: S },    "FCVTZS (vector, integer)", "0 q 0 01110 1s 10000 11011 10 nnnnn ddddd", sz_q),
    fp!(Urecpe,                   "URECPE",          "0 q 0 01110 10 10000 11100 10 nnnnn ddddd"),
    fp!(Unary(Un::Recpe),         "FRECPE (vector)", "0 q 0 01110 1s 10000 11101 10 nnnnn ddddd", sz_q),
    fp!(Fcvtxn,                   "FCVTXN, FCVTXN2 (vector)", "0 q 1 01110 01 10000 10110 10 nnnnn ddddd"),
    fp!(Unary(Un::Rint(TieAway)), "FRINTA (vector)", "0 q 1 01110 0s 10000 11000 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::RintX),         "FRINTX (vector)", "0 q 1 01110 0s 10000 11001 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: TieEven, unsigned: U }, "FCVTNU (vector)", "0 q 1 01110 0s 10000 11010 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: NegInf, unsigned: U },  "FCVTMU (vector)", "0 q 1 01110 0s 10000 11011 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: TieAway, unsigned: U }, "FCVTAU (vector)", "0 q 1 01110 0s 10000 11100 10 nnnnn ddddd", sz_q),
    fp!(FromInt { unsigned: U },  "UCVTF (vector, integer)", "0 q 1 01110 0s 10000 11101 10 nnnnn ddddd", sz_q),
    fp!(CmpZero(Cmp0::Ge),        "FCMGE (zero), vector", "0 q 1 01110 1s 10000 01100 10 nnnnn ddddd", sz_q),
    fp!(CmpZero(Cmp0::Le),        "FCMLE (zero), vector", "0 q 1 01110 1s 10000 01101 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Neg),           "FNEG (vector)",   "0 q 1 01110 1s 10000 01111 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::RintI),         "FRINTI (vector)", "0 q 1 01110 1s 10000 11001 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: PosInf, unsigned: U },  "FCVTPU (vector)", "0 q 1 01110 1s 10000 11010 10 nnnnn ddddd", sz_q),
    fp!(ToInt { rounding: Zero, unsigned: U },    "FCVTZU (vector, integer)", "0 q 1 01110 1s 10000 11011 10 nnnnn ddddd", sz_q),
    fp!(Ursqrte,                  "URSQRTE",         "0 q 1 01110 10 10000 11100 10 nnnnn ddddd"),
    fp!(Unary(Un::Rsqrte),        "FRSQRTE (vector)", "0 q 1 01110 1s 10000 11101 10 nnnnn ddddd", sz_q),
    fp!(Unary(Un::Sqrt),          "FSQRT (vector)",  "0 q 1 01110 1s 10000 11111 10 nnnnn ddddd", sz_q),

    // ==== C4.1.96.12 Advanced SIMD scalar two-register miscellaneous (FP rows)
    //      01 U 11110 a sz 10000 opcode 10 Rn Rd
    fp!(ToInt { rounding: TieEven, unsigned: S }, "FCVTNS (vector), scalar", "01 0 11110 0s 10000 11010 10 nnnnn ddddd"),
    fp!(ToInt { rounding: NegInf, unsigned: S },  "FCVTMS (vector), scalar", "01 0 11110 0s 10000 11011 10 nnnnn ddddd"),
    fp!(ToInt { rounding: TieAway, unsigned: S }, "FCVTAS (vector), scalar", "01 0 11110 0s 10000 11100 10 nnnnn ddddd"),
    fp!(FromInt { unsigned: S },  "SCVTF (vector, integer), scalar", "01 0 11110 0s 10000 11101 10 nnnnn ddddd"),
    fp!(CmpZero(Cmp0::Gt),        "FCMGT (zero), scalar", "01 0 11110 1s 10000 01100 10 nnnnn ddddd"),
    fp!(CmpZero(Cmp0::Eq),        "FCMEQ (zero), scalar", "01 0 11110 1s 10000 01101 10 nnnnn ddddd"),
    fp!(CmpZero(Cmp0::Lt),        "FCMLT (zero), scalar", "01 0 11110 1s 10000 01110 10 nnnnn ddddd"),
    fp!(ToInt { rounding: PosInf, unsigned: S },  "FCVTPS (vector), scalar", "01 0 11110 1s 10000 11010 10 nnnnn ddddd"),
    fp!(ToInt { rounding: Zero, unsigned: S },    "FCVTZS (vector, integer), scalar", "01 0 11110 1s 10000 11011 10 nnnnn ddddd"),
    fp!(Unary(Un::Recpe),         "FRECPE (scalar)", "01 0 11110 1s 10000 11101 10 nnnnn ddddd"),
    fp!(Unary(Un::Recpx),         "FRECPX",          "01 0 11110 1s 10000 11111 10 nnnnn ddddd"),
    fp!(Fcvtxn,                   "FCVTXN (scalar)", "01 1 11110 01 10000 10110 10 nnnnn ddddd"),
    fp!(ToInt { rounding: TieEven, unsigned: U }, "FCVTNU (vector), scalar", "01 1 11110 0s 10000 11010 10 nnnnn ddddd"),
    fp!(ToInt { rounding: NegInf, unsigned: U },  "FCVTMU (vector), scalar", "01 1 11110 0s 10000 11011 10 nnnnn ddddd"),
    fp!(ToInt { rounding: TieAway, unsigned: U }, "FCVTAU (vector), scalar", "01 1 11110 0s 10000 11100 10 nnnnn ddddd"),
    fp!(FromInt { unsigned: U },  "UCVTF (vector, integer), scalar", "01 1 11110 0s 10000 11101 10 nnnnn ddddd"),
    fp!(CmpZero(Cmp0::Ge),        "FCMGE (zero), scalar", "01 1 11110 1s 10000 01100 10 nnnnn ddddd"),
    fp!(CmpZero(Cmp0::Le),        "FCMLE (zero), scalar", "01 1 11110 1s 10000 01101 10 nnnnn ddddd"),
    fp!(ToInt { rounding: PosInf, unsigned: U },  "FCVTPU (vector), scalar", "01 1 11110 1s 10000 11010 10 nnnnn ddddd"),
    fp!(ToInt { rounding: Zero, unsigned: U },    "FCVTZU (vector, integer), scalar", "01 1 11110 1s 10000 11011 10 nnnnn ddddd"),
    fp!(Unary(Un::Rsqrte),        "FRSQRTE (scalar)", "01 1 11110 1s 10000 11101 10 nnnnn ddddd"),

    // ==== C4.1.96.13 Advanced SIMD scalar pairwise (FP rows): 01 U 11110 a sz 11000 opcode 10 Rn Rd
    // FEAT_FP16: the U == 0 forms.
    fp!(PairwiseScalar(MaxNm), "FMAXNMP (scalar)", "01 1 11110 0s 11000 01100 10 nnnnn ddddd"),
    fp!(PairwiseScalar(Add),   "FADDP (scalar)",   "01 1 11110 0s 11000 01101 10 nnnnn ddddd"),
    fp!(PairwiseScalar(Max),   "FMAXP (scalar)",   "01 1 11110 0s 11000 01111 10 nnnnn ddddd"),
    fp!(PairwiseScalar(MinNm), "FMINNMP (scalar)", "01 1 11110 1s 11000 01100 10 nnnnn ddddd"),
    fp!(PairwiseScalar(Min),   "FMINP (scalar)",   "01 1 11110 1s 11000 01111 10 nnnnn ddddd"),

    // ==== C4.1.96.22 Advanced SIMD across lanes (FP rows): 0 Q U 01110 a sz 11000 opcode 10 Rn Rd
    // Only 4S exists (sz == 1 and Q == 0 are reserved). FEAT_FP16: the U == 0 forms.
    fp!(Reduce(MaxNm), "FMAXNMV", "0 1 1 01110 00 11000 01100 10 nnnnn ddddd"),
    fp!(Reduce(Max),   "FMAXV",   "0 1 1 01110 00 11000 01111 10 nnnnn ddddd"),
    fp!(Reduce(MinNm), "FMINNMV", "0 1 1 01110 10 11000 01100 10 nnnnn ddddd"),
    fp!(Reduce(Min),   "FMINV",   "0 1 1 01110 10 11000 01111 10 nnnnn ddddd"),

    // ==== C4.1.96.27 Advanced SIMD vector x indexed element (FP rows, size = 1x)
    //      0 Q U 01111 size L M Rm opcode H 0 Rn Rd; index = H:L (single) or H (double)
    // FEAT_FP16: size == 00. FEAT_FHM: FMLAL (by element). FEAT_FCMA: FCMLA (by element).
    fp!(ElemFmla { sub: false }, "FMLA (by element), vector",  "0 q 0 01111 1s l M mmmm 0001 h 0 nnnnn ddddd", elem_vec),
    fp!(ElemFmla { sub: true },  "FMLS (by element), vector",  "0 q 0 01111 1s l M mmmm 0101 h 0 nnnnn ddddd", elem_vec),
    fp!(ElemBinary(Mul),         "FMUL (by element), vector",  "0 q 0 01111 1s l M mmmm 1001 h 0 nnnnn ddddd", elem_vec),
    fp!(ElemBinary(Mulx),        "FMULX (by element), vector", "0 q 1 01111 1s l M mmmm 1001 h 0 nnnnn ddddd", elem_vec),

    // ==== C4.1.96.16 Advanced SIMD scalar x indexed element (FP rows)
    fp!(ElemFmla { sub: false }, "FMLA (by element), scalar",  "01 0 11111 1s l M mmmm 0001 h 0 nnnnn ddddd", elem_scalar),
    fp!(ElemFmla { sub: true },  "FMLS (by element), scalar",  "01 0 11111 1s l M mmmm 0101 h 0 nnnnn ddddd", elem_scalar),
    fp!(ElemBinary(Mul),         "FMUL (by element), scalar",  "01 0 11111 1s l M mmmm 1001 h 0 nnnnn ddddd", elem_scalar),
    fp!(ElemBinary(Mulx),        "FMULX (by element), scalar", "01 1 11111 1s l M mmmm 1001 h 0 nnnnn ddddd", elem_scalar),

    // ==== C4.1.96.26 Advanced SIMD shift by immediate (fixed-point conversion rows)
    //      0 Q U 011110 immh immb opcode 1 Rn Rd; immh 01xx: single, 1xxx: double (Q == 1)
    // FEAT_FP16: immh == 001x.
    fp!(FromFixed { unsigned: S }, "SCVTF (vector, fixed-point), single",  "0 q 0 011110 01hh bbb 11100 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: S }, "SCVTF (vector, fixed-point), double",  "0 1 0 011110 1hhh bbb 11100 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: S },   "FCVTZS (vector, fixed-point), single", "0 q 0 011110 01hh bbb 11111 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: S },   "FCVTZS (vector, fixed-point), double", "0 1 0 011110 1hhh bbb 11111 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: U }, "UCVTF (vector, fixed-point), single",  "0 q 1 011110 01hh bbb 11100 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: U }, "UCVTF (vector, fixed-point), double",  "0 1 1 011110 1hhh bbb 11100 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: U },   "FCVTZU (vector, fixed-point), single", "0 q 1 011110 01hh bbb 11111 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: U },   "FCVTZU (vector, fixed-point), double", "0 1 1 011110 1hhh bbb 11111 1 nnnnn ddddd"),

    // ==== C4.1.96.10 Advanced SIMD scalar shift by immediate (fixed-point conversion rows)
    //      01 U 111110 immh immb opcode 1 Rn Rd
    fp!(FromFixed { unsigned: S }, "SCVTF (vector, fixed-point), scalar single",  "01 0 111110 01hh bbb 11100 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: S }, "SCVTF (vector, fixed-point), scalar double",  "01 0 111110 1hhh bbb 11100 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: S },   "FCVTZS (vector, fixed-point), scalar single", "01 0 111110 01hh bbb 11111 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: S },   "FCVTZS (vector, fixed-point), scalar double", "01 0 111110 1hhh bbb 11111 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: U }, "UCVTF (vector, fixed-point), scalar single",  "01 1 111110 01hh bbb 11100 1 nnnnn ddddd"),
    fp!(FromFixed { unsigned: U }, "UCVTF (vector, fixed-point), scalar double",  "01 1 111110 1hhh bbb 11100 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: U },   "FCVTZU (vector, fixed-point), scalar single", "01 1 111110 01hh bbb 11111 1 nnnnn ddddd"),
    fp!(ToFixed { unsigned: U },   "FCVTZU (vector, fixed-point), scalar double", "01 1 111110 1hhh bbb 11111 1 nnnnn ddddd"),
];
