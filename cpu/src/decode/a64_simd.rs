//! Advanced SIMD encodings other than floating-point arithmetic:
//! integer, permute, move and structure load/store (ARM ARM C4.1.88, C4.1.90-C4.1.96).
//! Same table form as [`super::a64`].
//!
//! Field letters: `q` Q, `u` U, `ss` size, `m`/`n`/`d`/`t` register numbers,
//! `h`/`b` immh/immb, `l`/`k`/`j` (L, M, H) element index bits, `i` immediates.
//!
//! Reserved size/Q combinations are rejected by the row guards below, so the
//! handlers never see them. The floating-point rows of the same groups (three same
//! with opcode 11xxx, FCMxx #0, FCVT*, by-element FMLA/FMUL, ...) belong to
//! [`super::a64_fp`]; this table never matches them.
//!
//! The cryptographic extension of ARMv8.0 is here (FEAT_AES, FEAT_PMULL,
//! FEAT_SHA1, FEAT_SHA256). Not implemented (features not advertised by
//! ID_AA64ISAR0_EL1/ID_AA64PFR0_EL1), hence UNDEFINED: SHA512, SHA3, SM3, SM4
//! (FEAT_SHA512, FEAT_SHA3, FEAT_SM*), SQRDMLAH/SQRDMLSH (FEAT_RDM), SDOT/UDOT
//! (FEAT_DotProd), FMOV (vector, half-precision immediate) and all other FP16
//! forms (FEAT_FP16).

use super::a64::Encoding;
use super::pattern;
use super::Op;

/// Advanced SIMD (non-floating-point) instruction kinds. One kind covers the
/// vector and the scalar form, and the signed and unsigned (U bit) variants where
/// the manual pairs them (e.g. `Hadd` is SHADD/UHADD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdOp {
    // Copy, permute, extract, table lookup
    DupElem,
    DupGen,
    InsGen,
    InsElem,
    Smov,
    Umov,
    Uzp,
    Trn,
    Zip,
    Ext,
    Tbl,
    // Modified immediate
    Movi,
    Mvni,
    OrrImm,
    BicImm,
    FmovImm,
    // Structure loads and stores
    LdStMulti,
    LdStSingle,
    LdRepl,
    // Three same
    Hadd,
    Qadd,
    Rhadd,
    And,
    Bic,
    Orr,
    Orn,
    Eor,
    Bsl,
    Bit,
    Bif,
    Hsub,
    Qsub,
    CmGt,
    CmGe,
    Shl,
    Qshl,
    Rshl,
    Qrshl,
    Max,
    Min,
    Abd,
    Aba,
    Add,
    Sub,
    Cmtst,
    Cmeq,
    Mla,
    Mls,
    Mul,
    Pmul,
    Maxp,
    Minp,
    Sqdmulh,
    Sqrdmulh,
    Addp,
    // Three different
    AddL,
    AddW,
    SubL,
    SubW,
    AddHn,
    SubHn,
    AbaL,
    AbdL,
    MlaL,
    MlsL,
    MulL,
    SqdmlaL,
    SqdmlsL,
    SqdmulL,
    Pmull,
    // Cryptographic extension
    Pmull64,
    Aes,
    ShaThree,
    ShaTwo,
    // Two-register miscellaneous
    Rev64,
    Rev32,
    Rev16,
    AddLp,
    AdaLp,
    Suqadd,
    Usqadd,
    Cls,
    Clz,
    Cnt,
    Not,
    Rbit,
    Sqabs,
    Sqneg,
    Abs,
    Neg,
    CmGtZero,
    CmGeZero,
    CmEqZero,
    CmLeZero,
    CmLtZero,
    Xtn,
    Qxtn,
    Sqxtun,
    Shll,
    // Across lanes
    AddLv,
    MaxV,
    MinV,
    AddV,
    // Shift by immediate
    ShrImm,
    SraImm,
    RshrImm,
    RsraImm,
    SriImm,
    ShlImm,
    SliImm,
    SqshluImm,
    QshlImm,
    Shrn,
    Rshrn,
    Sqshrun,
    Sqrshrun,
    Qshrn,
    Qrshrn,
    ShllImm,
    // By element
    MulElem,
    MlaElem,
    MlsElem,
    MulLElem,
    MlaLElem,
    MlsLElem,
    SqdmulhElem,
    SqrdmulhElem,
    SqdmulLElem,
    SqdmlaLElem,
    SqdmlsLElem,
}

/// Overlapping rows, first listed wins.
pub const ALLOWED_OVERLAPS: &[(Op, Op)] = &[];

macro_rules! simd {
    ($op:ident, $title:expr, $pat:expr) => {
        Encoding {
            op: Op::Simd(SimdOp::$op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: None,
        }
    };
    ($op:ident, $title:expr, $pat:expr, $guard:expr) => {
        Encoding {
            op: Op::Simd(SimdOp::$op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: Some($guard),
        }
    };
}

fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}
fn q(w: u32) -> u32 {
    bits(w, 30, 30)
}
fn size(w: u32) -> u32 {
    bits(w, 23, 22)
}

// ---- Guards on the size field (bits 23:22) and Q

/// size:Q = 11:0 (a 64-bit vector of one doubleword, "1D") is reserved.
fn no_1d(w: u32) -> bool {
    size(w) != 3 || q(w) == 1
}
/// size = 11 is reserved (byte, halfword and word elements only).
fn no_d(w: u32) -> bool {
    size(w) != 3
}
/// Only halfword and word elements (size 01 or 10): the doubling multiplies.
/// Opcode 111 of the three-register SHA group is unallocated.
fn sha_three_allocated(w: u32) -> bool {
    bits(w, 14, 12) != 0b111
}

/// Opcode 00011 of the two-register SHA group is unallocated.
fn sha_two_allocated(w: u32) -> bool {
    bits(w, 13, 12) != 0b11
}

fn h_or_s(w: u32) -> bool {
    matches!(size(w), 1 | 2)
}
/// Across lanes: size 11 and "2S" (size 10, Q 0) are reserved.
fn across_ok(w: u32) -> bool {
    size(w) != 3 && !(size(w) == 2 && q(w) == 0)
}

// ---- Guards on imm5 (bits 20:16) of the copy group

fn imm5(w: u32) -> u32 {
    bits(w, 20, 16)
}
/// imm5 = x0000 names no element size.
fn imm5_ok(w: u32) -> bool {
    imm5(w) & 0xf != 0
}
/// DUP (vector): a doubleword element needs Q = 1.
fn dup_ok(w: u32) -> bool {
    imm5_ok(w) && (imm5(w) & 0xf != 8 || q(w) == 1)
}
/// SMOV: to W from B or H; to X from B, H or S.
fn smov_ok(w: u32) -> bool {
    let sz = imm5(w).trailing_zeros();
    if q(w) == 0 {
        sz <= 1
    } else {
        sz <= 2
    }
}
/// UMOV: to W from B, H or S; to X from D only.
fn umov_ok(w: u32) -> bool {
    let sz = imm5(w).trailing_zeros();
    if q(w) == 0 {
        sz <= 2
    } else {
        sz == 3
    }
}

/// EXT: with Q = 0 the byte index must be below 8.
fn ext_ok(w: u32) -> bool {
    q(w) == 1 || bits(w, 14, 14) == 0
}

// ---- Guards on immh (bits 22:19) of the shift-by-immediate groups.
// immh = 0000 is the modified-immediate group.

fn immh(w: u32) -> u32 {
    bits(w, 22, 19)
}
/// Vector shifts: immh = 1xxx (doubleword) needs Q = 1.
fn vshift_ok(w: u32) -> bool {
    immh(w) != 0 && (immh(w) & 8 == 0 || q(w) == 1)
}
/// Narrowing and lengthening shifts: the narrow element is B, H or S.
fn narrow_shift_ok(w: u32) -> bool {
    immh(w) != 0 && immh(w) & 8 == 0
}
/// Scalar shifts of any element size.
fn sshift_ok(w: u32) -> bool {
    immh(w) != 0
}

// ---- Structure loads and stores: size is bits 11:10.

/// LD2/LD3/LD4 (multiple structures): "1D" is reserved.
fn ldst_multi_ok(w: u32) -> bool {
    bits(w, 11, 10) != 3 || q(w) == 1
}

#[rustfmt::skip]
pub static SIMD: &[Encoding] = &[
    // ---- C4.1.88 Advanced SIMD load/store multiple structures (no offset, post-index)
    simd!(LdStMulti, "LD4/ST4 (multiple structures)",              "0 q 0011000 l 000000 0000 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 4 registers)", "0 q 0011000 l 000000 0010 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD3/ST3 (multiple structures)",              "0 q 0011000 l 000000 0100 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 3 registers)", "0 q 0011000 l 000000 0110 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 1 register)",  "0 q 0011000 l 000000 0111 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD2/ST2 (multiple structures)",              "0 q 0011000 l 000000 1000 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 2 registers)", "0 q 0011000 l 000000 1010 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD4/ST4 (multiple structures, post-index)",  "0 q 0011001 l 0 mmmmm 0000 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 4 registers, post-index)", "0 q 0011001 l 0 mmmmm 0010 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD3/ST3 (multiple structures, post-index)",  "0 q 0011001 l 0 mmmmm 0100 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 3 registers, post-index)", "0 q 0011001 l 0 mmmmm 0110 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 1 register, post-index)",  "0 q 0011001 l 0 mmmmm 0111 ss nnnnn ttttt"),
    simd!(LdStMulti, "LD2/ST2 (multiple structures, post-index)",  "0 q 0011001 l 0 mmmmm 1000 ss nnnnn ttttt", ldst_multi_ok),
    simd!(LdStMulti, "LD1/ST1 (multiple structures, 2 registers, post-index)", "0 q 0011001 l 0 mmmmm 1010 ss nnnnn ttttt"),

    // ---- C4.1.88 Advanced SIMD load/store single structure (no offset, post-index)
    // opcode<2:1> gives the element size; opcode<0>:R gives the number of registers.
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, B)",         "0 q 0011010 l r 00000 00o s ss nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, H)",         "0 q 0011010 l r 00000 01o s s0 nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, S)",         "0 q 0011010 l r 00000 10o s 00 nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, D)",         "0 q 0011010 l r 00000 10o 0 01 nnnnn ttttt"),
    simd!(LdRepl,     "LD1R/LD2R/LD3R/LD4R",                       "0 q 0011010 1 r 00000 11o 0 ss nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, B, post-index)", "0 q 0011011 l r mmmmm 00o s ss nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, H, post-index)", "0 q 0011011 l r mmmmm 01o s s0 nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, S, post-index)", "0 q 0011011 l r mmmmm 10o s 00 nnnnn ttttt"),
    simd!(LdStSingle, "LD1-4/ST1-4 (single structure, D, post-index)", "0 q 0011011 l r mmmmm 10o 0 01 nnnnn ttttt"),
    simd!(LdRepl,     "LD1R/LD2R/LD3R/LD4R (post-index)",          "0 q 0011011 1 r mmmmm 11o 0 ss nnnnn ttttt"),

    // ---- Advanced SIMD scalar copy
    simd!(DupElem,  "DUP (element), scalar",      "01 0 11110000 iiiii 0 0000 1 nnnnn ddddd", imm5_ok),

    // ---- Advanced SIMD table lookup, permute, extract, copy
    simd!(Tbl,      "TBL/TBX",                    "0 q 001110 00 0 mmmmm 0 ll o 00 nnnnn ddddd"),
    simd!(Uzp,      "UZP1/UZP2",                  "0 q 001110 ss 0 mmmmm 0 p 01 10 nnnnn ddddd", no_1d),
    simd!(Trn,      "TRN1/TRN2",                  "0 q 001110 ss 0 mmmmm 0 p 10 10 nnnnn ddddd", no_1d),
    simd!(Zip,      "ZIP1/ZIP2",                  "0 q 001110 ss 0 mmmmm 0 p 11 10 nnnnn ddddd", no_1d),
    simd!(Ext,      "EXT",                        "0 q 101110 00 0 mmmmm 0 iiii 0 nnnnn ddddd", ext_ok),
    simd!(DupElem,  "DUP (element), vector",      "0 q 0 01110000 iiiii 0 0000 1 nnnnn ddddd", dup_ok),
    simd!(DupGen,   "DUP (general)",              "0 q 0 01110000 iiiii 0 0001 1 nnnnn ddddd", dup_ok),
    simd!(InsGen,   "INS (general)",              "0 1 0 01110000 iiiii 0 0011 1 nnnnn ddddd", imm5_ok),
    simd!(Smov,     "SMOV",                       "0 q 0 01110000 iiiii 0 0101 1 nnnnn ddddd", smov_ok),
    simd!(Umov,     "UMOV",                       "0 q 0 01110000 iiiii 0 0111 1 nnnnn ddddd", umov_ok),
    simd!(InsElem,  "INS (element)",              "0 1 1 01110000 iiiii 0 jjjj 1 nnnnn ddddd", imm5_ok),

    // ---- Advanced SIMD modified immediate (op, cmode; o2 = 0)
    simd!(Movi,     "MOVI (32-bit shifted immediate)",  "0 q 0 0111100000 iii 0 hh 0 01 iiiii ddddd"),
    simd!(OrrImm,   "ORR (vector, 32-bit immediate)",   "0 q 0 0111100000 iii 0 hh 1 01 iiiii ddddd"),
    simd!(Movi,     "MOVI (16-bit shifted immediate)",  "0 q 0 0111100000 iii 10 h 0 01 iiiii ddddd"),
    simd!(OrrImm,   "ORR (vector, 16-bit immediate)",   "0 q 0 0111100000 iii 10 h 1 01 iiiii ddddd"),
    simd!(Movi,     "MOVI (32-bit shifting ones)",      "0 q 0 0111100000 iii 110 h 01 iiiii ddddd"),
    simd!(Movi,     "MOVI (8-bit)",                     "0 q 0 0111100000 iii 1110 01 iiiii ddddd"),
    simd!(FmovImm,  "FMOV (vector, immediate), single", "0 q 0 0111100000 iii 1111 01 iiiii ddddd"),
    // FEAT_FP16: FMOV (vector, immediate), half "0 q 0 0111100000 iii 1111 11 iiiii ddddd"
    simd!(Mvni,     "MVNI (32-bit shifted immediate)",  "0 q 1 0111100000 iii 0 hh 0 01 iiiii ddddd"),
    simd!(BicImm,   "BIC (vector, 32-bit immediate)",   "0 q 1 0111100000 iii 0 hh 1 01 iiiii ddddd"),
    simd!(Mvni,     "MVNI (16-bit shifted immediate)",  "0 q 1 0111100000 iii 10 h 0 01 iiiii ddddd"),
    simd!(BicImm,   "BIC (vector, 16-bit immediate)",   "0 q 1 0111100000 iii 10 h 1 01 iiiii ddddd"),
    simd!(Mvni,     "MVNI (32-bit shifting ones)",      "0 q 1 0111100000 iii 110 h 01 iiiii ddddd"),
    simd!(Movi,     "MOVI (64-bit scalar or 2D)",       "0 q 1 0111100000 iii 1110 01 iiiii ddddd"),
    simd!(FmovImm,  "FMOV (vector, immediate), double", "0 1 1 0111100000 iii 1111 01 iiiii ddddd"),

    // ---- Advanced SIMD three same (integer; opcode 11xxx is floating-point)
    simd!(Hadd,     "SHADD/UHADD",                "0 q u 01110 ss 1 mmmmm 00000 1 nnnnn ddddd", no_d),
    simd!(Qadd,     "SQADD/UQADD",                "0 q u 01110 ss 1 mmmmm 00001 1 nnnnn ddddd", no_1d),
    simd!(Rhadd,    "SRHADD/URHADD",              "0 q u 01110 ss 1 mmmmm 00010 1 nnnnn ddddd", no_d),
    simd!(And,      "AND (vector)",               "0 q 0 01110 00 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Bic,      "BIC (vector, register)",     "0 q 0 01110 01 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Orr,      "ORR (vector, register)",     "0 q 0 01110 10 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Orn,      "ORN (vector)",               "0 q 0 01110 11 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Eor,      "EOR (vector)",               "0 q 1 01110 00 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Bsl,      "BSL",                        "0 q 1 01110 01 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Bit,      "BIT",                        "0 q 1 01110 10 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Bif,      "BIF",                        "0 q 1 01110 11 1 mmmmm 00011 1 nnnnn ddddd"),
    simd!(Hsub,     "SHSUB/UHSUB",                "0 q u 01110 ss 1 mmmmm 00100 1 nnnnn ddddd", no_d),
    simd!(Qsub,     "SQSUB/UQSUB",                "0 q u 01110 ss 1 mmmmm 00101 1 nnnnn ddddd", no_1d),
    simd!(CmGt,     "CMGT/CMHI (register)",       "0 q u 01110 ss 1 mmmmm 00110 1 nnnnn ddddd", no_1d),
    simd!(CmGe,     "CMGE/CMHS (register)",       "0 q u 01110 ss 1 mmmmm 00111 1 nnnnn ddddd", no_1d),
    simd!(Shl,      "SSHL/USHL",                  "0 q u 01110 ss 1 mmmmm 01000 1 nnnnn ddddd", no_1d),
    simd!(Qshl,     "SQSHL/UQSHL (register)",     "0 q u 01110 ss 1 mmmmm 01001 1 nnnnn ddddd", no_1d),
    simd!(Rshl,     "SRSHL/URSHL",                "0 q u 01110 ss 1 mmmmm 01010 1 nnnnn ddddd", no_1d),
    simd!(Qrshl,    "SQRSHL/UQRSHL",              "0 q u 01110 ss 1 mmmmm 01011 1 nnnnn ddddd", no_1d),
    simd!(Max,      "SMAX/UMAX",                  "0 q u 01110 ss 1 mmmmm 01100 1 nnnnn ddddd", no_d),
    simd!(Min,      "SMIN/UMIN",                  "0 q u 01110 ss 1 mmmmm 01101 1 nnnnn ddddd", no_d),
    simd!(Abd,      "SABD/UABD",                  "0 q u 01110 ss 1 mmmmm 01110 1 nnnnn ddddd", no_d),
    simd!(Aba,      "SABA/UABA",                  "0 q u 01110 ss 1 mmmmm 01111 1 nnnnn ddddd", no_d),
    simd!(Add,      "ADD (vector)",               "0 q 0 01110 ss 1 mmmmm 10000 1 nnnnn ddddd", no_1d),
    simd!(Sub,      "SUB (vector)",               "0 q 1 01110 ss 1 mmmmm 10000 1 nnnnn ddddd", no_1d),
    simd!(Cmtst,    "CMTST",                      "0 q 0 01110 ss 1 mmmmm 10001 1 nnnnn ddddd", no_1d),
    simd!(Cmeq,     "CMEQ (register)",            "0 q 1 01110 ss 1 mmmmm 10001 1 nnnnn ddddd", no_1d),
    simd!(Mla,      "MLA (vector)",               "0 q 0 01110 ss 1 mmmmm 10010 1 nnnnn ddddd", no_d),
    simd!(Mls,      "MLS (vector)",               "0 q 1 01110 ss 1 mmmmm 10010 1 nnnnn ddddd", no_d),
    simd!(Mul,      "MUL (vector)",               "0 q 0 01110 ss 1 mmmmm 10011 1 nnnnn ddddd", no_d),
    simd!(Pmul,     "PMUL",                       "0 q 1 01110 00 1 mmmmm 10011 1 nnnnn ddddd"),
    simd!(Maxp,     "SMAXP/UMAXP",                "0 q u 01110 ss 1 mmmmm 10100 1 nnnnn ddddd", no_d),
    simd!(Minp,     "SMINP/UMINP",                "0 q u 01110 ss 1 mmmmm 10101 1 nnnnn ddddd", no_d),
    simd!(Sqdmulh,  "SQDMULH (vector)",           "0 q 0 01110 ss 1 mmmmm 10110 1 nnnnn ddddd", h_or_s),
    simd!(Sqrdmulh, "SQRDMULH (vector)",          "0 q 1 01110 ss 1 mmmmm 10110 1 nnnnn ddddd", h_or_s),
    simd!(Addp,     "ADDP (vector)",              "0 q 0 01110 ss 1 mmmmm 10111 1 nnnnn ddddd", no_1d),

    // ---- Advanced SIMD scalar three same (integer)
    simd!(Qadd,     "SQADD/UQADD, scalar",        "01 u 11110 ss 1 mmmmm 00001 1 nnnnn ddddd"),
    simd!(Qsub,     "SQSUB/UQSUB, scalar",        "01 u 11110 ss 1 mmmmm 00101 1 nnnnn ddddd"),
    simd!(CmGt,     "CMGT/CMHI (register), scalar", "01 u 11110 11 1 mmmmm 00110 1 nnnnn ddddd"),
    simd!(CmGe,     "CMGE/CMHS (register), scalar", "01 u 11110 11 1 mmmmm 00111 1 nnnnn ddddd"),
    simd!(Shl,      "SSHL/USHL, scalar",          "01 u 11110 11 1 mmmmm 01000 1 nnnnn ddddd"),
    simd!(Qshl,     "SQSHL/UQSHL (register), scalar", "01 u 11110 ss 1 mmmmm 01001 1 nnnnn ddddd"),
    simd!(Rshl,     "SRSHL/URSHL, scalar",        "01 u 11110 11 1 mmmmm 01010 1 nnnnn ddddd"),
    simd!(Qrshl,    "SQRSHL/UQRSHL, scalar",      "01 u 11110 ss 1 mmmmm 01011 1 nnnnn ddddd"),
    simd!(Add,      "ADD (vector), scalar",       "01 0 11110 11 1 mmmmm 10000 1 nnnnn ddddd"),
    simd!(Sub,      "SUB (vector), scalar",       "01 1 11110 11 1 mmmmm 10000 1 nnnnn ddddd"),
    simd!(Cmtst,    "CMTST, scalar",              "01 0 11110 11 1 mmmmm 10001 1 nnnnn ddddd"),
    simd!(Cmeq,     "CMEQ (register), scalar",    "01 1 11110 11 1 mmmmm 10001 1 nnnnn ddddd"),
    simd!(Sqdmulh,  "SQDMULH (vector), scalar",   "01 0 11110 ss 1 mmmmm 10110 1 nnnnn ddddd", h_or_s),
    simd!(Sqrdmulh, "SQRDMULH (vector), scalar",  "01 1 11110 ss 1 mmmmm 10110 1 nnnnn ddddd", h_or_s),
    // FEAT_RDM: SQRDMLAH/SQRDMLSH "01 1 11110 ss 0 mmmmm 1000 o 1 ..."

    // ---- Advanced SIMD scalar pairwise (integer)
    simd!(Addp,     "ADDP (scalar)",              "01 0 11110 11 11000 11011 10 nnnnn ddddd"),

    // ---- Advanced SIMD three different
    simd!(AddL,     "SADDL/UADDL",                "0 q u 01110 ss 1 mmmmm 0000 00 nnnnn ddddd", no_d),
    simd!(AddW,     "SADDW/UADDW",                "0 q u 01110 ss 1 mmmmm 0001 00 nnnnn ddddd", no_d),
    simd!(SubL,     "SSUBL/USUBL",                "0 q u 01110 ss 1 mmmmm 0010 00 nnnnn ddddd", no_d),
    simd!(SubW,     "SSUBW/USUBW",                "0 q u 01110 ss 1 mmmmm 0011 00 nnnnn ddddd", no_d),
    simd!(AddHn,    "ADDHN/RADDHN",               "0 q u 01110 ss 1 mmmmm 0100 00 nnnnn ddddd", no_d),
    simd!(AbaL,     "SABAL/UABAL",                "0 q u 01110 ss 1 mmmmm 0101 00 nnnnn ddddd", no_d),
    simd!(SubHn,    "SUBHN/RSUBHN",               "0 q u 01110 ss 1 mmmmm 0110 00 nnnnn ddddd", no_d),
    simd!(AbdL,     "SABDL/UABDL",                "0 q u 01110 ss 1 mmmmm 0111 00 nnnnn ddddd", no_d),
    simd!(MlaL,     "SMLAL/UMLAL (vector)",       "0 q u 01110 ss 1 mmmmm 1000 00 nnnnn ddddd", no_d),
    simd!(SqdmlaL,  "SQDMLAL (vector)",           "0 q 0 01110 ss 1 mmmmm 1001 00 nnnnn ddddd", h_or_s),
    simd!(MlsL,     "SMLSL/UMLSL (vector)",       "0 q u 01110 ss 1 mmmmm 1010 00 nnnnn ddddd", no_d),
    simd!(SqdmlsL,  "SQDMLSL (vector)",           "0 q 0 01110 ss 1 mmmmm 1011 00 nnnnn ddddd", h_or_s),
    simd!(MulL,     "SMULL/UMULL (vector)",       "0 q u 01110 ss 1 mmmmm 1100 00 nnnnn ddddd", no_d),
    simd!(SqdmulL,  "SQDMULL (vector)",           "0 q 0 01110 ss 1 mmmmm 1101 00 nnnnn ddddd", h_or_s),
    simd!(Pmull,    "PMULL (8-bit)",              "0 q 0 01110 00 1 mmmmm 1110 00 nnnnn ddddd"),
    simd!(Pmull64,  "PMULL (64-bit)",             "0 q 0 01110 11 1 mmmmm 1110 00 nnnnn ddddd"),

    // ---- Cryptographic AES, three-register SHA, two-register SHA
    simd!(Aes,      "AESE/AESD/AESMC/AESIMC",     "01001110 00 10100 001oo 10 nnnnn ddddd"),
    simd!(ShaThree, "SHA1C/P/M/SU0, SHA256H/H2/SU1", "01011110 00 0 mmmmm 0 ooo 00 nnnnn ddddd", sha_three_allocated),
    simd!(ShaTwo,   "SHA1H/SHA1SU1/SHA256SU0",    "01011110 00 10100 000oo 10 nnnnn ddddd", sha_two_allocated),

    // ---- Advanced SIMD scalar three different
    simd!(SqdmlaL,  "SQDMLAL, scalar",            "01 0 11110 ss 1 mmmmm 1001 00 nnnnn ddddd", h_or_s),
    simd!(SqdmlsL,  "SQDMLSL, scalar",            "01 0 11110 ss 1 mmmmm 1011 00 nnnnn ddddd", h_or_s),
    simd!(SqdmulL,  "SQDMULL, scalar",            "01 0 11110 ss 1 mmmmm 1101 00 nnnnn ddddd", h_or_s),

    // ---- Advanced SIMD two-register miscellaneous (integer)
    simd!(Rev64,    "REV64",                      "0 q 0 01110 ss 10000 00000 10 nnnnn ddddd", no_d),
    simd!(Rev16,    "REV16 (vector)",             "0 q 0 01110 00 10000 00001 10 nnnnn ddddd"),
    simd!(AddLp,    "SADDLP/UADDLP",              "0 q u 01110 ss 10000 00010 10 nnnnn ddddd", no_d),
    simd!(Suqadd,   "SUQADD",                     "0 q 0 01110 ss 10000 00011 10 nnnnn ddddd", no_1d),
    simd!(Cls,      "CLS (vector)",               "0 q 0 01110 ss 10000 00100 10 nnnnn ddddd", no_d),
    simd!(Cnt,      "CNT",                        "0 q 0 01110 00 10000 00101 10 nnnnn ddddd"),
    simd!(AdaLp,    "SADALP/UADALP",              "0 q u 01110 ss 10000 00110 10 nnnnn ddddd", no_d),
    simd!(Sqabs,    "SQABS",                      "0 q 0 01110 ss 10000 00111 10 nnnnn ddddd", no_1d),
    simd!(CmGtZero, "CMGT (zero)",                "0 q 0 01110 ss 10000 01000 10 nnnnn ddddd", no_1d),
    simd!(CmEqZero, "CMEQ (zero)",                "0 q 0 01110 ss 10000 01001 10 nnnnn ddddd", no_1d),
    simd!(CmLtZero, "CMLT (zero)",                "0 q 0 01110 ss 10000 01010 10 nnnnn ddddd", no_1d),
    simd!(Abs,      "ABS",                        "0 q 0 01110 ss 10000 01011 10 nnnnn ddddd", no_1d),
    simd!(Xtn,      "XTN/XTN2",                   "0 q 0 01110 ss 10000 10010 10 nnnnn ddddd", no_d),
    simd!(Qxtn,     "SQXTN/UQXTN",                "0 q u 01110 ss 10000 10100 10 nnnnn ddddd", no_d),
    simd!(Rev32,    "REV32 (vector)",             "0 q 1 01110 0s 10000 00000 10 nnnnn ddddd"),
    simd!(Usqadd,   "USQADD",                     "0 q 1 01110 ss 10000 00011 10 nnnnn ddddd", no_1d),
    simd!(Clz,      "CLZ (vector)",               "0 q 1 01110 ss 10000 00100 10 nnnnn ddddd", no_d),
    simd!(Not,      "NOT",                        "0 q 1 01110 00 10000 00101 10 nnnnn ddddd"),
    simd!(Rbit,     "RBIT (vector)",              "0 q 1 01110 01 10000 00101 10 nnnnn ddddd"),
    simd!(Sqneg,    "SQNEG",                      "0 q 1 01110 ss 10000 00111 10 nnnnn ddddd", no_1d),
    simd!(CmGeZero, "CMGE (zero)",                "0 q 1 01110 ss 10000 01000 10 nnnnn ddddd", no_1d),
    simd!(CmLeZero, "CMLE (zero)",                "0 q 1 01110 ss 10000 01001 10 nnnnn ddddd", no_1d),
    simd!(Neg,      "NEG (vector)",               "0 q 1 01110 ss 10000 01011 10 nnnnn ddddd", no_1d),
    simd!(Sqxtun,   "SQXTUN",                     "0 q 1 01110 ss 10000 10010 10 nnnnn ddddd", no_d),
    simd!(Shll,     "SHLL/SHLL2",                 "0 q 1 01110 ss 10000 10011 10 nnnnn ddddd", no_d),

    // ---- Advanced SIMD scalar two-register miscellaneous (integer)
    simd!(Suqadd,   "SUQADD, scalar",             "01 0 11110 ss 10000 00011 10 nnnnn ddddd"),
    simd!(Sqabs,    "SQABS, scalar",              "01 0 11110 ss 10000 00111 10 nnnnn ddddd"),
    simd!(CmGtZero, "CMGT (zero), scalar",        "01 0 11110 11 10000 01000 10 nnnnn ddddd"),
    simd!(CmEqZero, "CMEQ (zero), scalar",        "01 0 11110 11 10000 01001 10 nnnnn ddddd"),
    simd!(CmLtZero, "CMLT (zero), scalar",        "01 0 11110 11 10000 01010 10 nnnnn ddddd"),
    simd!(Abs,      "ABS, scalar",                "01 0 11110 11 10000 01011 10 nnnnn ddddd"),
    simd!(Qxtn,     "SQXTN/UQXTN, scalar",        "01 u 11110 ss 10000 10100 10 nnnnn ddddd", no_d),
    simd!(Usqadd,   "USQADD, scalar",             "01 1 11110 ss 10000 00011 10 nnnnn ddddd"),
    simd!(Sqneg,    "SQNEG, scalar",              "01 1 11110 ss 10000 00111 10 nnnnn ddddd"),
    simd!(CmGeZero, "CMGE (zero), scalar",        "01 1 11110 11 10000 01000 10 nnnnn ddddd"),
    simd!(CmLeZero, "CMLE (zero), scalar",        "01 1 11110 11 10000 01001 10 nnnnn ddddd"),
    simd!(Neg,      "NEG (vector), scalar",       "01 1 11110 11 10000 01011 10 nnnnn ddddd"),
    simd!(Sqxtun,   "SQXTUN, scalar",             "01 1 11110 ss 10000 10010 10 nnnnn ddddd", no_d),

    // ---- Advanced SIMD across lanes (integer)
    simd!(AddLv,    "SADDLV/UADDLV",              "0 q u 01110 ss 11000 00011 10 nnnnn ddddd", across_ok),
    simd!(MaxV,     "SMAXV/UMAXV",                "0 q u 01110 ss 11000 01010 10 nnnnn ddddd", across_ok),
    simd!(MinV,     "SMINV/UMINV",                "0 q u 01110 ss 11000 11010 10 nnnnn ddddd", across_ok),
    simd!(AddV,     "ADDV",                       "0 q 0 01110 ss 11000 11011 10 nnnnn ddddd", across_ok),

    // ---- Advanced SIMD shift by immediate (integer; opcodes 11100 and 11111 are the
    // fixed-point conversions)
    simd!(ShrImm,   "SSHR/USHR",                  "0 q u 011110 hhhh bbb 00000 1 nnnnn ddddd", vshift_ok),
    simd!(SraImm,   "SSRA/USRA",                  "0 q u 011110 hhhh bbb 00010 1 nnnnn ddddd", vshift_ok),
    simd!(RshrImm,  "SRSHR/URSHR",                "0 q u 011110 hhhh bbb 00100 1 nnnnn ddddd", vshift_ok),
    simd!(RsraImm,  "SRSRA/URSRA",                "0 q u 011110 hhhh bbb 00110 1 nnnnn ddddd", vshift_ok),
    simd!(SriImm,   "SRI",                        "0 q 1 011110 hhhh bbb 01000 1 nnnnn ddddd", vshift_ok),
    simd!(ShlImm,   "SHL",                        "0 q 0 011110 hhhh bbb 01010 1 nnnnn ddddd", vshift_ok),
    simd!(SliImm,   "SLI",                        "0 q 1 011110 hhhh bbb 01010 1 nnnnn ddddd", vshift_ok),
    simd!(SqshluImm, "SQSHLU",                    "0 q 1 011110 hhhh bbb 01100 1 nnnnn ddddd", vshift_ok),
    simd!(QshlImm,  "SQSHL/UQSHL (immediate)",    "0 q u 011110 hhhh bbb 01110 1 nnnnn ddddd", vshift_ok),
    simd!(Shrn,     "SHRN/SHRN2",                 "0 q 0 011110 hhhh bbb 10000 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Sqshrun,  "SQSHRUN/SQSHRUN2",           "0 q 1 011110 hhhh bbb 10000 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Rshrn,    "RSHRN/RSHRN2",               "0 q 0 011110 hhhh bbb 10001 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Sqrshrun, "SQRSHRUN/SQRSHRUN2",         "0 q 1 011110 hhhh bbb 10001 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Qshrn,    "SQSHRN/UQSHRN",              "0 q u 011110 hhhh bbb 10010 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Qrshrn,   "SQRSHRN/UQRSHRN",            "0 q u 011110 hhhh bbb 10011 1 nnnnn ddddd", narrow_shift_ok),
    simd!(ShllImm,  "SSHLL/USHLL (SXTL/UXTL)",    "0 q u 011110 hhhh bbb 10100 1 nnnnn ddddd", narrow_shift_ok),

    // ---- Advanced SIMD scalar shift by immediate (integer)
    simd!(ShrImm,   "SSHR/USHR, scalar",          "01 u 111110 1hhh bbb 00000 1 nnnnn ddddd"),
    simd!(SraImm,   "SSRA/USRA, scalar",          "01 u 111110 1hhh bbb 00010 1 nnnnn ddddd"),
    simd!(RshrImm,  "SRSHR/URSHR, scalar",        "01 u 111110 1hhh bbb 00100 1 nnnnn ddddd"),
    simd!(RsraImm,  "SRSRA/URSRA, scalar",        "01 u 111110 1hhh bbb 00110 1 nnnnn ddddd"),
    simd!(SriImm,   "SRI, scalar",                "01 1 111110 1hhh bbb 01000 1 nnnnn ddddd"),
    simd!(ShlImm,   "SHL, scalar",                "01 0 111110 1hhh bbb 01010 1 nnnnn ddddd"),
    simd!(SliImm,   "SLI, scalar",                "01 1 111110 1hhh bbb 01010 1 nnnnn ddddd"),
    simd!(SqshluImm, "SQSHLU, scalar",            "01 1 111110 hhhh bbb 01100 1 nnnnn ddddd", sshift_ok),
    simd!(QshlImm,  "SQSHL/UQSHL (immediate), scalar", "01 u 111110 hhhh bbb 01110 1 nnnnn ddddd", sshift_ok),
    simd!(Sqshrun,  "SQSHRUN, scalar",            "01 1 111110 hhhh bbb 10000 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Sqrshrun, "SQRSHRUN, scalar",           "01 1 111110 hhhh bbb 10001 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Qshrn,    "SQSHRN/UQSHRN, scalar",      "01 u 111110 hhhh bbb 10010 1 nnnnn ddddd", narrow_shift_ok),
    simd!(Qrshrn,   "SQRSHRN/UQRSHRN, scalar",    "01 u 111110 hhhh bbb 10011 1 nnnnn ddddd", narrow_shift_ok),

    // ---- Advanced SIMD vector x indexed element (integer)
    simd!(MlaElem,  "MLA (by element)",           "0 q 1 01111 ss l k mmmm 0000 j 0 nnnnn ddddd", h_or_s),
    simd!(MlaLElem, "SMLAL/UMLAL (by element)",   "0 q u 01111 ss l k mmmm 0010 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmlaLElem, "SQDMLAL (by element)",    "0 q 0 01111 ss l k mmmm 0011 j 0 nnnnn ddddd", h_or_s),
    simd!(MlsElem,  "MLS (by element)",           "0 q 1 01111 ss l k mmmm 0100 j 0 nnnnn ddddd", h_or_s),
    simd!(MlsLElem, "SMLSL/UMLSL (by element)",   "0 q u 01111 ss l k mmmm 0110 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmlsLElem, "SQDMLSL (by element)",    "0 q 0 01111 ss l k mmmm 0111 j 0 nnnnn ddddd", h_or_s),
    simd!(MulElem,  "MUL (by element)",           "0 q 0 01111 ss l k mmmm 1000 j 0 nnnnn ddddd", h_or_s),
    simd!(MulLElem, "SMULL/UMULL (by element)",   "0 q u 01111 ss l k mmmm 1010 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmulLElem, "SQDMULL (by element)",    "0 q 0 01111 ss l k mmmm 1011 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmulhElem, "SQDMULH (by element)",    "0 q 0 01111 ss l k mmmm 1100 j 0 nnnnn ddddd", h_or_s),
    simd!(SqrdmulhElem, "SQRDMULH (by element)",  "0 q 0 01111 ss l k mmmm 1101 j 0 nnnnn ddddd", h_or_s),
    // FEAT_DotProd: SDOT/UDOT (by element) "0 q u 01111 ss l k mmmm 1110 j 0 ..."
    // FEAT_RDM: SQRDMLAH/SQRDMLSH (by element) "0 q 1 01111 ss l k mmmm 11o1 j 0 ..."

    // ---- Advanced SIMD scalar x indexed element (integer)
    simd!(SqdmlaLElem, "SQDMLAL (by element), scalar", "01 0 11111 ss l k mmmm 0011 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmlsLElem, "SQDMLSL (by element), scalar", "01 0 11111 ss l k mmmm 0111 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmulLElem, "SQDMULL (by element), scalar", "01 0 11111 ss l k mmmm 1011 j 0 nnnnn ddddd", h_or_s),
    simd!(SqdmulhElem, "SQDMULH (by element), scalar", "01 0 11111 ss l k mmmm 1100 j 0 nnnnn ddddd", h_or_s),
    simd!(SqrdmulhElem, "SQRDMULH (by element), scalar", "01 0 11111 ss l k mmmm 1101 j 0 nnnnn ddddd", h_or_s),
];

#[cfg(test)]
mod tests {
    use super::super::{decode, Op};
    use super::SimdOp;

    /// Words from aarch64-linux-gnu-as.
    #[test]
    fn table_driven_examples() {
        let cases: &[(u32, SimdOp)] = &[
            (0x4e22_8420, SimdOp::Add),         // add v0.16b, v1.16b, v2.16b
            (0x5ee2_8420, SimdOp::Add),         // add d0, d1, d2
            (0x4c40_7020, SimdOp::LdStMulti),   // ld1 {v0.16b}, [x1]
            (0x0d40_c020, SimdOp::LdRepl),      // ld1r {v0.8b}, [x1]
            (0x0d82_b020, SimdOp::LdStSingle),  // st3 {v0.s-v2.s}[1], [x1], x2
            (0x0e0c_3c20, SimdOp::Umov),        // mov w0, v1.s[1]
            (0x6f00_e400, SimdOp::Movi),        // movi v0.2d, #0
            (0x4f3d_0420, SimdOp::ShrImm),      // sshr v0.4s, v1.4s, #3
            (0x5fa2_c020, SimdOp::SqdmulhElem), // sqdmulh s0, s1, v2.s[1]
            (0x4e02_0020, SimdOp::Tbl),         // tbl v0.16b, {v1.16b}, v2.16b
            (0x6e30_3820, SimdOp::AddLv),       // uaddlv h0, v1.16b
        ];
        for &(word, op) in cases {
            assert_eq!(decode(word).op, Op::Simd(op), "{word:#010x}");
        }
    }

    /// Features armvm does not advertise stay unallocated (UNDEFINED).
    #[test]
    fn unadvertised_features_are_unallocated() {
        let words = [
            0xce60_8020, // sha512h q0, q1, v0.2d (FEAT_SHA512)
            0x6e82_8420, // sqrdmlah v0.4s, v1.4s, v2.4s (FEAT_RDM)
            0x6fa2_d020, // sqrdmlah v0.4s, v1.4s, v2.s[1] (FEAT_RDM)
            0x4e82_9420, // sdot v0.4s, v1.16b, v2.16b (FEAT_DotProd)
            0x0f03_fe00, // fmov v0.4h, #1.0 (FEAT_FP16)
            0xce02_0c20, // eor3 v0.16b, v1.16b, v2.16b, v3.16b (FEAT_SHA3)
            0xce42_0c20, // sm3ss1 v0.4s, v1.4s, v2.4s, v3.4s (FEAT_SM3)
        ];
        for w in words {
            assert_eq!(decode(w).op, Op::Unallocated, "{w:#010x}");
        }
    }
}
