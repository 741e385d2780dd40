//! The A64 base instruction encodings: one row per encoding, in the order of the
//! ARM ARM's "A64 instruction set encoding" chapter (C4).
//!
//! Each row names an [`Op`], the manual's instruction title and the bit pattern.
//! A row may carry a guard that rejects reserved field values which a pattern cannot
//! express (e.g. `imm3 > 4`). Rows are searched in order and the first match wins;
//! `tests::no_unlisted_overlaps` fails if two rows match one word unless the pair is
//! in [`ALLOWED_OVERLAPS`]. A word that matches no row is unallocated: executing it
//! raises the Undefined Instruction exception.
//!
//! Encodings left out on purpose are kept as comments tagged with their feature.

use super::pattern;
use super::Op;

/// One row of an encoding table.
pub struct Encoding {
    pub op: Op,
    pub title: &'static str,
    pub mask: u32,
    pub value: u32,
    /// Extra validity check for reserved field values; `None` means always valid.
    pub guard: Option<fn(u32) -> bool>,
}

impl Encoding {
    pub fn matches(&self, word: u32) -> bool {
        word & self.mask == self.value && self.guard.is_none_or(|g| g(word))
    }
}

macro_rules! enc {
    ($op:ident, $title:expr, $pat:expr) => {
        Encoding {
            op: Op::$op,
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: None,
        }
    };
    ($op:ident, $title:expr, $pat:expr, $guard:expr) => {
        Encoding {
            op: Op::$op,
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

/// Logical immediates: the (N, imms) pair must describe a valid element size.
fn valid_bitmask(w: u32) -> bool {
    crate::exec::bitmask::decode_bit_masks(
        bits(w, 22, 22),
        bits(w, 15, 10),
        bits(w, 21, 16),
        true,
        64,
    )
    .is_some()
}
/// MOVN/MOVZ/MOVK: a 32-bit form may only shift by 0 or 16.
fn movewide_hw_ok(w: u32) -> bool {
    bits(w, 31, 31) == 1 || bits(w, 22, 22) == 0
}
/// Add/subtract (shifted register): shift type ROR is reserved.
fn addsub_shift_ok(w: u32) -> bool {
    bits(w, 23, 22) != 3
}
/// Add/subtract (extended register): shifts beyond 4 are reserved.
fn addsub_ext_ok(w: u32) -> bool {
    bits(w, 12, 10) <= 4
}
/// CRC32: sf must be set exactly for the doubleword forms.
fn crc_size_ok(w: u32) -> bool {
    (bits(w, 31, 31) == 1) == (bits(w, 11, 10) == 3)
}
/// Load/store register, general-purpose: size/opc combinations that exist.
/// `opc=10` with size 11 is PRFM (accepted here, handled by the executor) only in
/// the forms that have it: `allow_prfm` says whether this addressing form does.
fn ldst_gpr_ok(w: u32, allow_prfm: bool) -> bool {
    match (bits(w, 31, 30), bits(w, 23, 22)) {
        (3, 2) => allow_prfm,
        (3, 3) | (2, 3) => false,
        _ => true,
    }
}
fn ldst_gpr_prfm(w: u32) -> bool {
    ldst_gpr_ok(w, true)
}
fn ldst_gpr_no_prfm(w: u32) -> bool {
    ldst_gpr_ok(w, false)
}
/// Load/store register, SIMD&FP: only B/H/S/D/Q exist (Q is size 00 with opc 1x).
fn ldst_fp_ok(w: u32) -> bool {
    bits(w, 31, 30) == 0 || bits(w, 23, 23) == 0
}
/// Register-offset loads/stores: option<1> must be set (UXTW, LSL/UXTX, SXTW, SXTX).
fn ldst_regoff_gpr_ok(w: u32) -> bool {
    bits(w, 14, 14) == 1 && ldst_gpr_ok(w, true)
}
fn ldst_regoff_fp_ok(w: u32) -> bool {
    bits(w, 14, 14) == 1 && ldst_fp_ok(w)
}
/// LSE atomics: o3:opc of 0xxx are the LD<op> forms, 1000 is SWP.
/// (1100 is LDAPR, FEAT_LRCPC, not implemented.)
fn atomic_op_ok(w: u32) -> bool {
    bits(w, 15, 15) == 0 || bits(w, 14, 12) == 0
}
/// Load/store pair, general-purpose: opc 11 is reserved, opc 01 exists only as LDPSW.
fn ldst_pair_gpr_ok(w: u32) -> bool {
    match bits(w, 31, 30) {
        0 | 2 => true,
        1 => bits(w, 22, 22) == 1,
        _ => false,
    }
}
/// LDNP/STNP (general-purpose): no LDPSW-like form, so opc must be 00 or 10.
fn ldst_nopair_gpr_ok(w: u32) -> bool {
    bits(w, 30, 30) == 0
}
fn ldst_pair_fp_ok(w: u32) -> bool {
    bits(w, 31, 30) != 3
}
/// CASP: Rs and Rt must be even-numbered (the pairs are Rs,Rs+1 and Rt,Rt+1).
fn casp_regs_even(w: u32) -> bool {
    bits(w, 16, 16) == 0 && bits(w, 0, 0) == 0
}
/// DCPS: LL = 00 is unallocated.
fn dcps_level_ok(w: u32) -> bool {
    bits(w, 1, 0) != 0
}
/// Conditional select: op2<1> is reserved.
fn csel_ok(w: u32) -> bool {
    bits(w, 11, 11) == 0
}

/// The priority list: pairs of rows that may both match a word, the first listed
/// row of the table taking it.
pub const ALLOWED_OVERLAPS: &[(Op, Op)] = &[];

#[rustfmt::skip]
pub static BASE: &[Encoding] = &[
    // ---- C4.1.86 Data processing -- immediate
    enc!(Adr,         "ADR",                       "0ii10000 iiiiiiiiiiiiiiiiiii ddddd"),
    enc!(Adrp,        "ADRP",                      "1ii10000 iiiiiiiiiiiiiiiiiii ddddd"),
    enc!(AddSubImm,   "ADD/ADDS/SUB/SUBS (immediate)", "fos100010 h iiiiiiiiiiii nnnnn ddddd"),
    // FEAT_MTE: ADDG/SUBG "1o0100011 0 ..."
    enc!(LogicalImm,  "AND/ORR/EOR/ANDS (immediate), 32-bit", "0oo100100 0 rrrrrr ssssss nnnnn ddddd", valid_bitmask),
    enc!(LogicalImm,  "AND/ORR/EOR/ANDS (immediate), 64-bit", "1oo100100 N rrrrrr ssssss nnnnn ddddd", valid_bitmask),
    enc!(Movn,        "MOVN",                      "f00100101 hh iiiiiiiiiiiiiiii ddddd", movewide_hw_ok),
    enc!(Movz,        "MOVZ",                      "f10100101 hh iiiiiiiiiiiiiiii ddddd", movewide_hw_ok),
    enc!(Movk,        "MOVK",                      "f11100101 hh iiiiiiiiiiiiiiii ddddd", movewide_hw_ok),
    enc!(Sbfm,        "SBFM, 32-bit",              "000100110 0 0rrrrr 0sssss nnnnn ddddd"),
    enc!(Sbfm,        "SBFM, 64-bit",              "100100110 1 rrrrrr ssssss nnnnn ddddd"),
    enc!(Bfm,         "BFM, 32-bit",               "001100110 0 0rrrrr 0sssss nnnnn ddddd"),
    enc!(Bfm,         "BFM, 64-bit",               "101100110 1 rrrrrr ssssss nnnnn ddddd"),
    enc!(Ubfm,        "UBFM, 32-bit",              "010100110 0 0rrrrr 0sssss nnnnn ddddd"),
    enc!(Ubfm,        "UBFM, 64-bit",              "110100110 1 rrrrrr ssssss nnnnn ddddd"),
    enc!(Extr,        "EXTR, 32-bit",              "000100111 0 0 mmmmm 0sssss nnnnn ddddd"),
    enc!(Extr,        "EXTR, 64-bit",              "100100111 1 0 mmmmm ssssss nnnnn ddddd"),

    // ---- C4.1.87 Branches, exception generating and system instructions
    enc!(BCond,       "B.cond",                    "01010100 iiiiiiiiiiiiiiiiiii 0 cccc"),
    // FEAT_HBC: BC.cond "01010100 ... 1 cccc"
    enc!(Svc,         "SVC",                       "11010100 000 iiiiiiiiiiiiiiii 000 01"),
    enc!(Hvc,         "HVC",                       "11010100 000 iiiiiiiiiiiiiiii 000 10"),
    enc!(Smc,         "SMC",                       "11010100 000 iiiiiiiiiiiiiiii 000 11"),
    enc!(Brk,         "BRK",                       "11010100 001 iiiiiiiiiiiiiiii 000 00"),
    enc!(Hlt,         "HLT",                       "11010100 010 iiiiiiiiiiiiiiii 000 00"),
    // DCPS1-3 exist only in Debug state, which armvm does not model: UNDEFINED here.
    enc!(DebugOnly,   "DCPS1/DCPS2/DCPS3",         "11010100 101 iiiiiiiiiiiiiiii 000 ll", dcps_level_ok),
    enc!(MsrImm,      "MSR (immediate)",           "1101010100 0 00 ppp 0100 mmmm qqq 11111"),
    enc!(Hint,        "HINT (NOP, YIELD, WFE, WFI, SEV, SEVL, ...)", "1101010100 0 00 011 0010 mmmm qqq 11111"),
    enc!(Clrex,       "CLREX",                     "1101010100 0 00 011 0011 mmmm 010 11111"),
    enc!(Barrier,     "DSB",                       "1101010100 0 00 011 0011 mmmm 100 11111"),
    enc!(Barrier,     "DMB",                       "1101010100 0 00 011 0011 mmmm 101 11111"),
    enc!(Isb,         "ISB",                       "1101010100 0 00 011 0011 mmmm 110 11111"),
    // FEAT_SB: SB "1101010100 0 00 011 0011 0000 111 11111"
    enc!(Sys,         "SYS (AT, DC, IC, TLBI)",    "1101010100 0 01 ppp nnnn mmmm qqq ttttt"),
    enc!(Sysl,        "SYSL",                      "1101010100 1 01 ppp nnnn mmmm qqq ttttt"),
    enc!(Msr,         "MSR (register)",            "1101010100 0 1o ppp nnnn mmmm qqq ttttt"),
    enc!(Mrs,         "MRS",                       "1101010100 1 1o ppp nnnn mmmm qqq ttttt"),
    enc!(Br,          "BR",                        "1101011 0000 11111 000000 nnnnn 00000"),
    enc!(Blr,         "BLR",                       "1101011 0001 11111 000000 nnnnn 00000"),
    enc!(Ret,         "RET",                       "1101011 0010 11111 000000 nnnnn 00000"),
    // FEAT_PAuth: BRAA/BLRAA/RETAA/ERETAA ... ("1101011 x00x 11111 00001x ...")
    enc!(Eret,        "ERET",                      "1101011 0100 11111 000000 11111 00000"),
    enc!(DebugOnly,   "DRPS",                      "1101011 0101 11111 000000 11111 00000"),
    enc!(B,           "B",                         "000101 iiiiiiiiiiiiiiiiiiiiiiiiii"),
    enc!(Bl,          "BL",                        "100101 iiiiiiiiiiiiiiiiiiiiiiiiii"),
    enc!(Cbz,         "CBZ/CBNZ",                  "f011010 o iiiiiiiiiiiiiiiiiii ttttt"),
    enc!(Tbz,         "TBZ/TBNZ",                  "b011011 o bbbbb iiiiiiiiiiiiii ttttt"),

    // ---- C4.1.88 Loads and stores
    enc!(StoreExcl,   "STXR/STLXR(B/H)",           "ss 001000 0 0 0 sssss a ttttt nnnnn ttttt"),
    enc!(LoadExcl,    "LDXR/LDAXR(B/H)",           "ss 001000 0 1 0 sssss a ttttt nnnnn ttttt"),
    enc!(StoreExclPair, "STXP/STLXP",              "1s 001000 0 0 1 sssss a ttttt nnnnn ttttt"),
    enc!(LoadExclPair, "LDXP/LDAXP",               "1s 001000 0 1 1 sssss a ttttt nnnnn ttttt"),
    enc!(Casp,        "CASP/CASPA/CASPL/CASPAL",   "0s 001000 0 l 1 sssss a 11111 nnnnn ttttt", casp_regs_even),
    enc!(StoreRelease, "STLR(B/H)",                "ss 001000 1 0 0 sssss 1 ttttt nnnnn ttttt"),
    // FEAT_LOR: STLLR(B/H) "ss 001000 1 0 0 sssss 0 ..."
    enc!(LoadAcquire, "LDAR(B/H)",                 "ss 001000 1 1 0 sssss 1 ttttt nnnnn ttttt"),
    // FEAT_LOR: LDLAR(B/H) "ss 001000 1 1 0 sssss 0 ..."
    enc!(Cas,         "CAS/CASA/CASL/CASAL(B/H)",  "ss 001000 1 l 1 sssss a 11111 nnnnn ttttt"),
    // FEAT_LRCPC2: LDAPUR/STLUR "ss 011001 ..."
    enc!(LdrLiteral,  "LDR/LDRSW/PRFM (literal)",  "oo 011 0 00 iiiiiiiiiiiiiiiiiii ttttt"),
    enc!(LdrLiteralFp, "LDR (literal, SIMD&FP)",   "0o 011 1 00 iiiiiiiiiiiiiiiiiii ttttt"),
    enc!(LdrLiteralFp, "LDR (literal, SIMD&FP), Q", "10 011 1 00 iiiiiiiiiiiiiiiiiii ttttt"),
    enc!(LdstPair,    "STNP/LDNP",                 "oo 101 0 000 l iiiiiii uuuuu nnnnn ttttt", ldst_nopair_gpr_ok),
    enc!(LdstPair,    "STP/LDP/LDPSW (post-index)", "oo 101 0 001 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_gpr_ok),
    enc!(LdstPair,    "STP/LDP/LDPSW (signed offset)", "oo 101 0 010 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_gpr_ok),
    enc!(LdstPair,    "STP/LDP/LDPSW (pre-index)", "oo 101 0 011 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_gpr_ok),
    enc!(LdstPairFp,  "STNP/LDNP (SIMD&FP)",       "oo 101 1 000 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_fp_ok),
    enc!(LdstPairFp,  "STP/LDP (SIMD&FP, post-index)", "oo 101 1 001 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_fp_ok),
    enc!(LdstPairFp,  "STP/LDP (SIMD&FP, signed offset)", "oo 101 1 010 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_fp_ok),
    enc!(LdstPairFp,  "STP/LDP (SIMD&FP, pre-index)", "oo 101 1 011 l iiiiiii uuuuu nnnnn ttttt", ldst_pair_fp_ok),
    enc!(LdstImm9,    "STUR/LDUR/PRFUM (unscaled immediate)", "ss 111 0 00 oo 0 iiiiiiiii 00 nnnnn ttttt", ldst_gpr_prfm),
    enc!(LdstImm9,    "STR/LDR (immediate, post-index)", "ss 111 0 00 oo 0 iiiiiiiii 01 nnnnn ttttt", ldst_gpr_no_prfm),
    enc!(LdstImm9,    "STTR/LDTR (unprivileged)",  "ss 111 0 00 oo 0 iiiiiiiii 10 nnnnn ttttt", ldst_gpr_no_prfm),
    enc!(LdstImm9,    "STR/LDR (immediate, pre-index)", "ss 111 0 00 oo 0 iiiiiiiii 11 nnnnn ttttt", ldst_gpr_no_prfm),
    enc!(LdstRegOff,  "STR/LDR/PRFM (register offset)", "ss 111 0 00 oo 1 mmmmm xxx S 10 nnnnn ttttt", ldst_regoff_gpr_ok),
    enc!(Atomic,      "LDADD/LDCLR/LDEOR/LDSET/LD{S,U}{MAX,MIN}/SWP", "ss 111 0 00 a r 1 sssss o ppp 00 nnnnn ttttt", atomic_op_ok),
    // FEAT_PAuth: LDRAA/LDRAB "11 111 0 00 m s 1 ... w 1 ..."
    enc!(LdstUimm,    "STR/LDR/PRFM (unsigned offset)", "ss 111 0 01 oo iiiiiiiiiiii nnnnn ttttt", ldst_gpr_prfm),
    enc!(LdstImm9Fp,  "STUR/LDUR (SIMD&FP)",       "ss 111 1 00 oo 0 iiiiiiiii 00 nnnnn ttttt", ldst_fp_ok),
    enc!(LdstImm9Fp,  "STR/LDR (SIMD&FP, post-index)", "ss 111 1 00 oo 0 iiiiiiiii 01 nnnnn ttttt", ldst_fp_ok),
    enc!(LdstImm9Fp,  "STR/LDR (SIMD&FP, pre-index)", "ss 111 1 00 oo 0 iiiiiiiii 11 nnnnn ttttt", ldst_fp_ok),
    enc!(LdstRegOffFp, "STR/LDR (SIMD&FP, register offset)", "ss 111 1 00 oo 1 mmmmm xxx S 10 nnnnn ttttt", ldst_regoff_fp_ok),
    enc!(LdstUimmFp,  "STR/LDR (SIMD&FP, unsigned offset)", "ss 111 1 01 oo iiiiiiiiiiii nnnnn ttttt", ldst_fp_ok),

    // ---- C4.1.89 Data processing -- register
    enc!(Udiv,        "UDIV",                      "f 0 0 11010110 mmmmm 00001 0 nnnnn ddddd"),
    enc!(Sdiv,        "SDIV",                      "f 0 0 11010110 mmmmm 00001 1 nnnnn ddddd"),
    enc!(ShiftV,      "LSLV/LSRV/ASRV/RORV",       "f 0 0 11010110 mmmmm 0010 tt nnnnn ddddd"),
    enc!(Crc32,       "CRC32B/H/W/X, CRC32CB/H/W/X", "f 0 0 11010110 mmmmm 010 c zz nnnnn ddddd", crc_size_ok),
    enc!(Rbit,        "RBIT",                      "f 1 0 11010110 00000 000000 nnnnn ddddd"),
    enc!(Rev16,       "REV16",                     "f 1 0 11010110 00000 000001 nnnnn ddddd"),
    enc!(Rev,         "REV (32-bit)",              "0 1 0 11010110 00000 000010 nnnnn ddddd"),
    enc!(Rev32,       "REV32",                     "1 1 0 11010110 00000 000010 nnnnn ddddd"),
    enc!(Rev,         "REV (64-bit)",              "1 1 0 11010110 00000 000011 nnnnn ddddd"),
    enc!(Clz,         "CLZ",                       "f 1 0 11010110 00000 000100 nnnnn ddddd"),
    enc!(Cls,         "CLS",                       "f 1 0 11010110 00000 000101 nnnnn ddddd"),
    // FEAT_PAuth: PACIA.. "1 1 0 11010110 00001 ..."
    enc!(LogicalReg,  "AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register), 32-bit", "0 oo 01010 hh N mmmmm 0iiiii nnnnn ddddd"),
    enc!(LogicalReg,  "AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register), 64-bit", "1 oo 01010 hh N mmmmm iiiiii nnnnn ddddd"),
    enc!(AddSubShifted, "ADD/ADDS/SUB/SUBS (shifted register), 32-bit", "0 os 01011 hh 0 mmmmm 0iiiii nnnnn ddddd", addsub_shift_ok),
    enc!(AddSubShifted, "ADD/ADDS/SUB/SUBS (shifted register), 64-bit", "1 os 01011 hh 0 mmmmm iiiiii nnnnn ddddd", addsub_shift_ok),
    enc!(AddSubExt,   "ADD/ADDS/SUB/SUBS (extended register)", "f os 01011 00 1 mmmmm xxx iii nnnnn ddddd", addsub_ext_ok),
    enc!(AdcSbc,      "ADC/ADCS/SBC/SBCS",         "f os 11010000 mmmmm 000000 nnnnn ddddd"),
    // FEAT_FlagM: RMIF, SETF8/16 "f os 11010000 ... 00001 ..."
    enc!(CondCmpReg,  "CCMN/CCMP (register)",      "f o 1 11010010 mmmmm cccc 0 0 nnnnn 0 vvvv"),
    enc!(CondCmpImm,  "CCMN/CCMP (immediate)",     "f o 1 11010010 iiiii cccc 1 0 nnnnn 0 vvvv"),
    enc!(CondSel,     "CSEL/CSINC/CSINV/CSNEG",    "f o 0 11010100 mmmmm cccc pp nnnnn ddddd", csel_ok),
    enc!(Madd,        "MADD/MSUB",                 "f 00 11011 000 mmmmm o aaaaa nnnnn ddddd"),
    enc!(MulLong,     "SMADDL/SMSUBL",             "1 00 11011 001 mmmmm o aaaaa nnnnn ddddd"),
    enc!(MulLong,     "UMADDL/UMSUBL",             "1 00 11011 101 mmmmm o aaaaa nnnnn ddddd"),
    enc!(MulHigh,     "SMULH",                     "1 00 11011 010 mmmmm 0 aaaaa nnnnn ddddd"),
    enc!(MulHigh,     "UMULH",                     "1 00 11011 110 mmmmm 0 aaaaa nnnnn ddddd"),
];
