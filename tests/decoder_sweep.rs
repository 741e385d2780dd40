//! Decoder sweep: armvm's decode tables against capstone's ARM64 decoder.
//!
//! Two questions per word: do both decode it (or neither), and where both do, is it
//! the same instruction? For the second, armvm's decoded [`Op`] (what the executor
//! will run), refined by the fields that tell apart the instructions one `Op` covers
//! where they differ in kind (load or store, add or subtract, ...), names the
//! mnemonics capstone may print for it, its aliases included (`mov`, `cmp`, `lsl`,
//! `nop`, ...): see [`same_instruction`]. A word armvm routes to the wrong `Op` (a
//! load as a store, an add as a subtract, a UDIV as an SDIV) fails the sweep.
//!
//! Words come from four sources: uniformly random words; random words in each of the
//! sixteen top-level encoding classes (op0, bits 28:25); random words matching each
//! row of armvm's decode tables; and the neighbourhood of each row (one fixed bit
//! flipped, the rest random). Every disagreement must fall into a class of the
//! allow-list below, which says why armvm and capstone may differ there, and each
//! class has a bound: the number of words it may take in the default run (scaled
//! for other counts and seeds). The sweep fails on any unclassified disagreement and
//! on any class above its bound, and prints examples. A class whose cause is fixed
//! must be deleted, not left at zero: it would hide the bug coming back.
//!
//! One test, `decoder_sweep`, run through libtest-mimic (so libtest's options and
//! filters work); it spreads the words over `--test-threads` threads (default: the
//! available cores), with results independent of the thread count.
//!
//! Environment: `ARMVM_SWEEP_COUNT` scales the number of words (default 2,000,000
//! random words plus the systematic parts), `ARMVM_SWEEP_SEED` the seed;
//! `ARMVM_SWEEP_SHOW=<class>` prints examples of one class.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use armvm_cpu::decode::a64_fp::{Bin, Cmp0, Fma, FpOp, Rounding, Un};
use armvm_cpu::decode::{self, a64, a64_fp, a64_simd, Op, SimdOp};
use capstone::prelude::*;
use libtest_mimic::{Arguments, Failed, Trial};

/// How the two decoders disagree on a word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    /// Capstone decodes it, armvm treats it as unallocated.
    CapstoneOnly,
    /// armvm decodes it, capstone rejects it.
    ArmvmOnly,
    /// Both decode it, as different instructions.
    Different,
}

impl Dir {
    fn describe(self) -> &'static str {
        match self {
            Dir::CapstoneOnly => "capstone only",
            Dir::ArmvmOnly => "armvm only",
            Dir::Different => "different insn",
        }
    }
}

/// One disagreement.
struct Sample<'a> {
    word: u32,
    /// Capstone's mnemonic and operands (empty for `ArmvmOnly`).
    mnemonic: String,
    operands: String,
    /// armvm's row (`None` for `CapstoneOnly`).
    row: Option<&'static a64::Encoding>,
    /// Whether capstone decodes another word: a class that blames one field checks
    /// that capstone accepts the word with that field repaired.
    capstone_ok: &'a dyn Fn(u32) -> bool,
}

impl Sample<'_> {
    /// Whether `repaired` differs from the word, armvm decodes it with the same row,
    /// and capstone accepts it: the disagreement is down to the repaired fields.
    fn only_because_of(&self, repaired: u32) -> bool {
        repaired != self.word
            && decode::lookup(repaired).map(|e| e as *const _) == self.row.map(|e| e as *const _)
            && (self.capstone_ok)(repaired)
    }
}

/// `w` with the 5-bit field at `lo` set to `v`.
fn with_field(w: u32, lo: u32, v: u32) -> u32 {
    (w & !(31 << lo)) | (v << lo)
}

/// A register number other than those in `avoid`.
fn other_reg(avoid: &[u32]) -> u32 {
    (0..31).find(|r| !avoid.contains(r)).unwrap_or(0)
}

struct Class {
    name: &'static str,
    dir: Dir,
    reason: &'static str,
    /// The most words the class may take in the default run (`ARMVM_SWEEP_COUNT` and
    /// `ARMVM_SWEEP_SEED` unset): the count seen when the bound was set plus about
    /// max(1%, 2 sqrt(count)). A class that grows past it fails the sweep: look at its
    /// new words (`ARMVM_SWEEP_SHOW`) before raising it. Scaled for other runs.
    bound: u64,
    test: fn(&Sample<'_>) -> bool,
}

fn bits(w: u32, hi: u32, lo: u32) -> u32 {
    (w >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn op0(w: u32) -> u32 {
    bits(w, 28, 25)
}

fn has_prefix(m: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| m.starts_with(p))
}

fn is(m: &str, names: &[&str]) -> bool {
    names.contains(&m)
}

/// Advanced SIMD and floating-point encodings: op0 = x111, plus the SIMD structure
/// loads/stores (LD1-LD4, ST1-ST4 and the replicating forms).
fn fp_simd_space(w: u32) -> bool {
    op0(w) & 0b0111 == 0b0111 || (w & 0xbe00_0000 == 0x0c00_0000)
}

fn row_op(s: &Sample) -> Option<Op> {
    s.row.map(|r| r.op)
}

// ---- Which capstone mnemonics name the instruction armvm decoded

/// Loads and stores of general-purpose registers, all addressing forms.
const GPR_STORES: &[&str] = &[
    "str", "strb", "strh", "stur", "sturb", "sturh", "sttr", "sttrb", "sttrh",
];
const GPR_LOADS: &[&str] = &[
    "ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrsw", "ldur", "ldurb", "ldurh", "ldursb", "ldursh",
    "ldursw", "ldtr", "ldtrb", "ldtrh", "ldtrsb", "ldtrsh", "ldtrsw",
];
/// The HINT space: capstone names the allocated hints (and the PAuth, BTI, RAS, SPE
/// and speculation-barrier ones), and prints `hint #n` for the rest.
const HINTS: &[&str] = &[
    "hint",
    "nop",
    "yield",
    "wfe",
    "wfi",
    "sev",
    "sevl",
    "dgh",
    "esb",
    "psb",
    "tsb",
    "csdb",
    "bti",
    "clrbhb",
    "xpaclri",
    "pacia1716",
    "pacib1716",
    "autia1716",
    "autib1716",
    "paciaz",
    "paciasp",
    "pacibz",
    "pacibsp",
    "autiaz",
    "autiasp",
    "autibz",
    "autibsp",
];
/// SYS and the names capstone gives to its operations (all aliases of SYS).
const SYS_ALIASES: &[&str] = &["sys", "at", "dc", "ic", "tlbi", "brb", "cfp", "dvp", "cpp"];

/// Whether capstone's mnemonic `m` names an instruction that armvm's `op` stands for,
/// given the word `w`. Where one `Op` covers instructions of different kinds (load
/// and store, add and subtract, ...) the fields that tell them apart pick the list.
/// The matches are exhaustive on purpose: a new `Op` must be described here.
fn same_instruction(op: Op, w: u32, m: &str) -> bool {
    use Op::*;
    let b = |hi, lo| bits(w, hi, lo);
    match op {
        Unallocated => false,
        Adr => m == "adr",
        Adrp => m == "adrp",
        AddSubImm => is(
            m,
            [
                &["add", "mov"][..],
                &["adds", "cmn"],
                &["sub"],
                &["subs", "cmp"],
            ][b(30, 29) as usize],
        ),
        LogicalImm => is(
            m,
            [&["and"][..], &["orr", "mov"], &["eor"], &["ands", "tst"]][b(30, 29) as usize],
        ),
        Movn => is(m, &["movn", "mov"]),
        Movz => is(m, &["movz", "mov"]),
        Movk => m == "movk",
        Sbfm => is(m, &["sbfm", "sbfiz", "sbfx", "asr", "sxtb", "sxth", "sxtw"]),
        Bfm => is(m, &["bfm", "bfi", "bfxil", "bfc"]),
        Ubfm => is(m, &["ubfm", "ubfiz", "ubfx", "lsl", "lsr", "uxtb", "uxth"]),
        Extr => is(m, &["extr", "ror"]),
        BCond => m.starts_with("b."),
        Svc => m == "svc",
        Hvc => m == "hvc",
        Smc => m == "smc",
        Brk => m == "brk",
        Hlt => m == "hlt",
        DebugOnly => is(m, &["dcps1", "dcps2", "dcps3", "drps"]),
        MsrImm => m == "msr",
        Hint => is(m, HINTS),
        Clrex => m == "clrex",
        // DMB is op2 = 101; DSB (op2 = 100) with CRm 0000/0100 is SSBB/PSSBB, and
        // capstone calls DSB #12 DFB.
        Barrier if b(7, 5) == 0b101 => m == "dmb",
        Barrier => is(m, &["dsb", "ssbb", "pssbb", "dfb"]),
        Isb => m == "isb",
        Sys => is(m, SYS_ALIASES),
        Sysl => m == "sysl",
        Msr => m == "msr",
        Mrs => m == "mrs",
        Br => m == "br",
        Blr => m == "blr",
        Ret => m == "ret",
        Eret => m == "eret",
        B => m == "b",
        Bl => m == "bl",
        Cbz => m == ["cbz", "cbnz"][b(24, 24) as usize],
        Tbz => m == ["tbz", "tbnz"][b(24, 24) as usize],
        StoreExcl => is(m, &["stxr", "stlxr", "stxrb", "stlxrb", "stxrh", "stlxrh"]),
        LoadExcl => is(m, &["ldxr", "ldaxr", "ldxrb", "ldaxrb", "ldxrh", "ldaxrh"]),
        StoreExclPair => is(m, &["stxp", "stlxp"]),
        LoadExclPair => is(m, &["ldxp", "ldaxp"]),
        Casp => is(m, &["casp", "caspa", "caspl", "caspal"]),
        StoreRelease => is(m, &["stlr", "stlrb", "stlrh"]),
        LoadAcquire => is(m, &["ldar", "ldarb", "ldarh"]),
        Cas => m.starts_with("cas") && !m.starts_with("casp"),
        LdrLiteral => is(m, &["ldr", "ldrsw", "prfm"]),
        LdrLiteralFp => m == "ldr",
        // L (bit 22) is the direction.
        LdstPair if b(22, 22) == 1 => is(m, &["ldp", "ldnp", "ldpsw"]),
        LdstPair => is(m, &["stp", "stnp"]),
        LdstPairFp if b(22, 22) == 1 => is(m, &["ldp", "ldnp"]),
        LdstPairFp => is(m, &["stp", "stnp"]),
        // opc (bits 23:22) 00 stores, size:opc 11:10 is a prefetch, the rest load.
        LdstImm9 | LdstRegOff | LdstUimm => match (b(31, 30), b(23, 22)) {
            (_, 0) => is(m, GPR_STORES),
            (3, 2) => is(m, &["prfm", "prfum"]),
            _ => is(m, GPR_LOADS),
        },
        // SIMD&FP registers: opc<0> is the direction.
        LdstImm9Fp | LdstRegOffFp | LdstUimmFp if b(22, 22) == 1 => is(m, &["ldr", "ldur"]),
        LdstImm9Fp | LdstRegOffFp | LdstUimmFp => is(m, &["str", "stur"]),
        // o3:opc name the operation (o3 = 1 is SWP); LD<op> without a destination
        // is ST<op>. The suffixes (A, L, AL, B, H) are the same instruction.
        Atomic if b(15, 15) == 1 => m.starts_with("swp"),
        Atomic => {
            let op =
                ["add", "clr", "eor", "set", "smax", "smin", "umax", "umin"][b(14, 12) as usize];
            ["ld", "st"]
                .iter()
                .any(|p| m.strip_prefix(p).is_some_and(|m| m.starts_with(op)))
        }
        Udiv => m == "udiv",
        Sdiv => m == "sdiv",
        ShiftV => is(
            m,
            [
                &["lsl", "lslv"][..],
                &["lsr", "lsrv"],
                &["asr", "asrv"],
                &["ror", "rorv"],
            ][b(11, 10) as usize],
        ),
        Crc32 => m.starts_with("crc32"),
        Rbit => m == "rbit",
        Rev16 => m == "rev16",
        Rev => is(m, &["rev", "rev64"]),
        Rev32 => m == "rev32",
        Clz => m == "clz",
        Cls => m == "cls",
        // opc:N.
        LogicalReg => is(
            m,
            [
                &["and"][..],
                &["bic"],
                &["orr", "mov"],
                &["orn", "mvn"],
                &["eor"],
                &["eon"],
                &["ands", "tst"],
                &["bics"],
            ][(b(30, 29) << 1 | b(21, 21)) as usize],
        ),
        // op:S.
        AddSubShifted => is(
            m,
            [
                &["add"][..],
                &["adds", "cmn"],
                &["sub", "neg"],
                &["subs", "cmp", "negs"],
            ][b(30, 29) as usize],
        ),
        AddSubExt => is(
            m,
            [&["add"][..], &["adds", "cmn"], &["sub"], &["subs", "cmp"]][b(30, 29) as usize],
        ),
        AdcSbc => is(
            m,
            [&["adc"][..], &["adcs"], &["sbc", "ngc"], &["sbcs", "ngcs"]][b(30, 29) as usize],
        ),
        CondCmpReg | CondCmpImm => m == ["ccmn", "ccmp"][b(30, 30) as usize],
        // op:op2<0>.
        CondSel => is(
            m,
            [
                &["csel"][..],
                &["csinc", "cinc", "cset"],
                &["csinv", "cinv", "csetm"],
                &["csneg", "cneg"],
            ][(b(30, 30) << 1 | b(10, 10)) as usize],
        ),
        Madd => is(
            m,
            [&["madd", "mul"][..], &["msub", "mneg"]][b(15, 15) as usize],
        ),
        // U:o0.
        MulLong => is(
            m,
            [
                &["smaddl", "smull"][..],
                &["smsubl", "smnegl"],
                &["umaddl", "umull"],
                &["umsubl", "umnegl"],
            ][(b(23, 23) << 1 | b(15, 15)) as usize],
        ),
        MulHigh => m == ["smulh", "umulh"][b(23, 23) as usize],
        // The "2" (upper half) forms of the long, narrow and widening instructions
        // are the same instruction with Q = 1.
        Fp(f) => fp_same(f, m) || m.strip_suffix('2').is_some_and(|m| fp_same(f, m)),
        Simd(s) => simd_same(s, w, m) || m.strip_suffix('2').is_some_and(|m| simd_same(s, w, m)),
    }
}

fn rounding_letter(r: Rounding) -> char {
    match r {
        Rounding::TieEven => 'n',
        Rounding::PosInf => 'p',
        Rounding::NegInf => 'm',
        Rounding::Zero => 'z',
        Rounding::TieAway => 'a',
        // Round to odd is FCVTXN's alone, which has an Op of its own.
        Rounding::Odd => '?',
    }
}

fn bin_name(b: Bin) -> &'static str {
    match b {
        Bin::Add => "fadd",
        Bin::Sub => "fsub",
        Bin::Mul => "fmul",
        Bin::Div => "fdiv",
        Bin::Max => "fmax",
        Bin::Min => "fmin",
        Bin::MaxNm => "fmaxnm",
        Bin::MinNm => "fminnm",
        Bin::Nmul => "fnmul",
        Bin::Mulx => "fmulx",
        Bin::Abd => "fabd",
        Bin::Recps => "frecps",
        Bin::Rsqrts => "frsqrts",
        Bin::CmEq => "fcmeq",
        Bin::CmGe => "fcmge",
        Bin::CmGt => "fcmgt",
        Bin::AcGe => "facge",
        Bin::AcGt => "facgt",
    }
}

/// `same_instruction` for the floating-point kinds.
fn fp_same(f: FpOp, m: &str) -> bool {
    let su = |unsigned: bool| if unsigned { 'u' } else { 's' };
    match f {
        FpOp::GenFromFixed { unsigned }
        | FpOp::GenFromInt { unsigned }
        | FpOp::FromInt { unsigned }
        | FpOp::FromFixed { unsigned } => m == format!("{}cvtf", su(unsigned)),
        FpOp::GenToFixed { unsigned } | FpOp::ToFixed { unsigned } => {
            m == format!("fcvtz{}", su(unsigned))
        }
        FpOp::GenToInt { rounding, unsigned } | FpOp::ToInt { rounding, unsigned } => {
            m == format!("fcvt{}{}", rounding_letter(rounding), su(unsigned))
        }
        FpOp::FmovToGen
        | FpOp::FmovFromGen
        | FpOp::FmovToGenTop
        | FpOp::FmovFromGenTop
        | FpOp::FmovImm => m == "fmov",
        FpOp::Fcvt => m == "fcvt",
        FpOp::Fcmp { signal, .. } => m == if signal { "fcmpe" } else { "fcmp" },
        FpOp::Fccmp { signal } => m == if signal { "fccmpe" } else { "fccmp" },
        FpOp::Fcsel => m == "fcsel",
        FpOp::Fmadd(k) => {
            m == match k {
                Fma::Madd => "fmadd",
                Fma::Msub => "fmsub",
                Fma::Nmadd => "fnmadd",
                Fma::Nmsub => "fnmsub",
            }
        }
        FpOp::Unary(u) => match u {
            Un::Mov => m == "fmov",
            Un::Abs => m == "fabs",
            Un::Neg => m == "fneg",
            Un::Sqrt => m == "fsqrt",
            Un::Rint(r) => m == format!("frint{}", rounding_letter(r)),
            Un::RintX => m == "frintx",
            Un::RintI => m == "frinti",
            Un::Recpe => m == "frecpe",
            Un::Rsqrte => m == "frsqrte",
            Un::Recpx => m == "frecpx",
        },
        FpOp::Binary(b) | FpOp::ElemBinary(b) => m == bin_name(b),
        FpOp::CmpZero(c) => {
            m == match c {
                Cmp0::Gt => "fcmgt",
                Cmp0::Eq => "fcmeq",
                Cmp0::Lt => "fcmlt",
                Cmp0::Ge => "fcmge",
                Cmp0::Le => "fcmle",
            }
        }
        FpOp::Fmla { sub } | FpOp::ElemFmla { sub } => m == if sub { "fmls" } else { "fmla" },
        FpOp::Urecpe => m == "urecpe",
        FpOp::Ursqrte => m == "ursqrte",
        FpOp::Fcvtl => m == "fcvtl",
        FpOp::Fcvtn => m == "fcvtn",
        FpOp::Fcvtxn => m == "fcvtxn",
        FpOp::Pairwise(b) | FpOp::PairwiseScalar(b) => {
            m.strip_suffix('p').is_some_and(|m| m == bin_name(b))
        }
        FpOp::Reduce(b) => m.strip_suffix('v').is_some_and(|m| m == bin_name(b)),
    }
}

/// `same_instruction` for the Advanced SIMD kinds. One kind covers the signed and
/// unsigned forms where the manual pairs them; both names are accepted.
fn simd_same(s: SimdOp, w: u32, m: &str) -> bool {
    use SimdOp::*;
    // Structure loads and stores: L (bit 22) is the direction.
    let load = bits(w, 22, 22) == 1;
    let names: &[&str] = match s {
        DupElem => &["dup", "mov"],
        DupGen => &["dup"],
        InsGen | InsElem => &["ins", "mov"],
        Smov => &["smov"],
        Umov => &["umov", "mov"],
        Uzp => &["uzp1", "uzp2"],
        Trn => &["trn1", "trn2"],
        Zip => &["zip1", "zip2"],
        Ext => &["ext"],
        Tbl => &["tbl", "tbx"],
        Movi => &["movi"],
        Mvni => &["mvni"],
        OrrImm => &["orr"],
        BicImm => &["bic"],
        FmovImm => &["fmov"],
        LdStMulti | LdStSingle if load => &["ld1", "ld2", "ld3", "ld4"],
        LdStMulti | LdStSingle => &["st1", "st2", "st3", "st4"],
        LdRepl => &["ld1r", "ld2r", "ld3r", "ld4r"],
        Hadd => &["shadd", "uhadd"],
        Qadd => &["sqadd", "uqadd"],
        Rhadd => &["srhadd", "urhadd"],
        And => &["and"],
        Bic => &["bic"],
        Orr => &["orr", "mov"],
        Orn => &["orn"],
        Eor => &["eor"],
        Bsl => &["bsl"],
        Bit => &["bit"],
        Bif => &["bif"],
        Hsub => &["shsub", "uhsub"],
        Qsub => &["sqsub", "uqsub"],
        CmGt => &["cmgt", "cmhi"],
        CmGe => &["cmge", "cmhs"],
        Shl => &["sshl", "ushl"],
        Qshl => &["sqshl", "uqshl"],
        Rshl => &["srshl", "urshl"],
        Qrshl => &["sqrshl", "uqrshl"],
        Max => &["smax", "umax"],
        Min => &["smin", "umin"],
        Abd => &["sabd", "uabd"],
        Aba => &["saba", "uaba"],
        Add => &["add"],
        Sub => &["sub"],
        Cmtst => &["cmtst"],
        Cmeq => &["cmeq"],
        Mla | MlaElem => &["mla"],
        Mls | MlsElem => &["mls"],
        Mul | MulElem => &["mul"],
        Pmul => &["pmul"],
        Maxp => &["smaxp", "umaxp"],
        Minp => &["sminp", "uminp"],
        Sqdmulh | SqdmulhElem => &["sqdmulh"],
        Sqrdmulh | SqrdmulhElem => &["sqrdmulh"],
        Addp => &["addp"],
        AddL => &["saddl", "uaddl"],
        AddW => &["saddw", "uaddw"],
        SubL => &["ssubl", "usubl"],
        SubW => &["ssubw", "usubw"],
        AddHn => &["addhn", "raddhn"],
        SubHn => &["subhn", "rsubhn"],
        AbaL => &["sabal", "uabal"],
        AbdL => &["sabdl", "uabdl"],
        MlaL | MlaLElem => &["smlal", "umlal"],
        MlsL | MlsLElem => &["smlsl", "umlsl"],
        MulL | MulLElem => &["smull", "umull"],
        SqdmlaL | SqdmlaLElem => &["sqdmlal"],
        SqdmlsL | SqdmlsLElem => &["sqdmlsl"],
        SqdmulL | SqdmulLElem => &["sqdmull"],
        Pmull | Pmull64 => &["pmull"],
        Aes => &["aese", "aesd", "aesmc", "aesimc"],
        ShaThree => &[
            "sha1c",
            "sha1p",
            "sha1m",
            "sha1su0",
            "sha256h",
            "sha256h2",
            "sha256su1",
        ],
        ShaTwo => &["sha1h", "sha1su1", "sha256su0"],
        Rev64 => &["rev64"],
        Rev32 => &["rev32"],
        Rev16 => &["rev16"],
        AddLp => &["saddlp", "uaddlp"],
        AdaLp => &["sadalp", "uadalp"],
        Suqadd => &["suqadd"],
        Usqadd => &["usqadd"],
        Cls => &["cls"],
        Clz => &["clz"],
        Cnt => &["cnt"],
        Not => &["not", "mvn"],
        Rbit => &["rbit"],
        Sqabs => &["sqabs"],
        Sqneg => &["sqneg"],
        Abs => &["abs"],
        Neg => &["neg"],
        CmGtZero => &["cmgt"],
        CmGeZero => &["cmge"],
        CmEqZero => &["cmeq"],
        CmLeZero => &["cmle"],
        CmLtZero => &["cmlt"],
        Xtn => &["xtn"],
        Qxtn => &["sqxtn", "uqxtn"],
        Sqxtun => &["sqxtun"],
        Shll => &["shll"],
        AddLv => &["saddlv", "uaddlv"],
        MaxV => &["smaxv", "umaxv"],
        MinV => &["sminv", "uminv"],
        AddV => &["addv"],
        ShrImm => &["sshr", "ushr"],
        SraImm => &["ssra", "usra"],
        RshrImm => &["srshr", "urshr"],
        RsraImm => &["srsra", "ursra"],
        SriImm => &["sri"],
        ShlImm => &["shl"],
        SliImm => &["sli"],
        SqshluImm => &["sqshlu"],
        QshlImm => &["sqshl", "uqshl"],
        Shrn => &["shrn"],
        Rshrn => &["rshrn"],
        Sqshrun => &["sqshrun"],
        Sqrshrun => &["sqrshrun"],
        Qshrn => &["sqshrn", "uqshrn"],
        Qrshrn => &["sqrshrn", "uqrshrn"],
        ShllImm => &["sshll", "ushll", "sxtl", "uxtl"],
    };
    is(m, names)
}

/// Register-combination rules the architecture makes CONSTRAINED UNPREDICTABLE,
/// which LLVM's (and so capstone's) decoder rejects while armvm executes them one of
/// the permitted ways (as qemu does).
fn unpredictable_regs(s: &Sample) -> bool {
    let w = s.word;
    let (rt, rn, rt2, rs) = (
        bits(w, 4, 0),
        bits(w, 9, 5),
        bits(w, 14, 10),
        bits(w, 20, 16),
    );
    let mut r = w;
    match row_op(s) {
        Some(Op::LdstPair) | Some(Op::LdstPairFp) => {
            let load = bits(w, 22, 22) == 1;
            let writeback = matches!(bits(w, 24, 23), 0b01 | 0b11);
            let gpr = row_op(s) == Some(Op::LdstPair);
            let mut rt2 = rt2;
            if load && rt == rt2 {
                rt2 = other_reg(&[rt, rn]);
                r = with_field(r, 10, rt2);
            }
            if gpr && writeback && rn != 31 && (rn == rt || rn == rt2) {
                r = with_field(r, 5, other_reg(&[rt, rt2]));
            }
        }
        Some(Op::LdstImm9) if matches!(bits(w, 11, 10), 0b01 | 0b11) && rn != 31 && rn == rt => {
            r = with_field(r, 5, other_reg(&[rt]));
        }
        Some(Op::LoadExclPair) if rt == rt2 => r = with_field(r, 10, other_reg(&[rt, rn])),
        Some(Op::StoreExcl) | Some(Op::StoreExclPair) => {
            let pair = row_op(s) == Some(Op::StoreExclPair);
            if rs == rt || (pair && rs == rt2) || (rs == rn && rn != 31) {
                r = with_field(r, 16, other_reg(&[rt, rt2, rn]));
            }
        }
        _ => {}
    }
    s.only_because_of(r)
}

/// Should-be-one register fields of the exclusive and ordered loads/stores that are
/// not all ones: CONSTRAINED UNPREDICTABLE; armvm's rows leave them free and the
/// executor ignores them (as qemu does), capstone rejects the word.
fn sbo_fields(s: &Sample) -> bool {
    let w = s.word;
    let r = match row_op(s) {
        Some(Op::LoadExcl) | Some(Op::LoadAcquire) | Some(Op::StoreRelease) => {
            with_field(with_field(w, 10, 31), 16, 31)
        }
        Some(Op::StoreExcl) => with_field(w, 10, 31),
        Some(Op::LoadExclPair) => with_field(w, 16, 31),
        _ => w,
    };
    s.only_because_of(r)
}

/// MSR (immediate) PSTATE fields the executor implements (op1, op2): SPSel,
/// DAIFSet, DAIFClr. Every other field raises UNDEFINED.
fn msr_imm_implemented(w: u32) -> bool {
    matches!(
        (bits(w, 18, 16), bits(w, 7, 5)),
        (0, 0b101) | (3, 0b110) | (3, 0b111)
    )
}

const CLASSES: &[Class] = &[
    // ---- Capstone decodes, armvm does not: features armvm leaves out on purpose.
    Class {
        name: "sve",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_SVE/SVE2 (op0=0010): not implemented, not advertised",
        bound: 106_400,
        test: |s| op0(s.word) == 0b0010,
    },
    Class {
        name: "fp16",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_FP16 half-precision arithmetic: not implemented, not advertised",
        bound: 36_000,
        test: |s| {
            let m = s.mnemonic.as_str();
            let half = s.operands.split([',', ' ', '{', '}']).any(|t| {
                let t = t.trim();
                (t.starts_with('h') && t[1..].parse::<u32>().is_ok())
                    || t.ends_with(".4h")
                    || t.ends_with(".8h")
                    || t.ends_with(".h")
            });
            fp_simd_space(s.word)
                && half
                && (m.starts_with('f') || is(m, &["scvtf", "ucvtf"]))
                && !is(m, &["fcvt", "fcvtl", "fcvtl2", "fcvtn", "fcvtn2"])
        },
    },
    Class {
        name: "crypto",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_SHA512/SHA3/SM3/SM4 (ARMv8.2 crypto): not implemented, not advertised",
        bound: 7_150,
        test: |s| {
            let m = s.mnemonic.as_str();
            has_prefix(m, &["sha512", "sm3", "sm4"]) || is(m, &["eor3", "bcax", "rax1", "xar"])
        },
    },
    Class {
        name: "simd-extensions",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_DotProd, FEAT_I8MM, FEAT_RDM, FEAT_FCMA, FEAT_FHM, FEAT_BF16, \
                 FEAT_JSCVT, FEAT_FRINTTS: ARMv8.1+ SIMD/FP extensions not implemented",
        bound: 7_150,
        test: |s| {
            let m = s.mnemonic.as_str();
            is(
                m,
                &[
                    "sdot", "udot", "usdot", "sudot", "smmla", "ummla", "usmmla", "sqrdmlah",
                    "sqrdmlsh", "fcmla", "fcadd", "fmlal", "fmlal2", "fmlsl", "fmlsl2", "fjcvtzs",
                    "frint32x", "frint32z", "frint64x", "frint64z", "bfcvt", "bfcvtn", "bfcvtn2",
                    "bfdot", "bfmmla", "bfmlalb", "bfmlalt",
                ],
            )
        },
    },
    Class {
        name: "pauth",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_PAuth outside the HINT space (PAC*/AUT*/XPAC*, BRAA..., RETAA, \
                 ERETAA, LDRAA): not implemented (the architected algorithm is expensive); \
                 the HINT-space forms run as NOPs as on a CPU without PAuth",
        bound: 4_450,
        test: |s| {
            has_prefix(
                &s.mnemonic,
                &["pac", "aut", "xpac", "bra", "blra", "reta", "ereta", "ldra"],
            )
        },
    },
    Class {
        name: "lrcpc",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_LRCPC/LRCPC2 (LDAPR*, LDAPUR*, STLUR*): not implemented",
        bound: 5_100,
        test: |s| has_prefix(&s.mnemonic, &["ldapr", "ldapur", "stlur"]),
    },
    Class {
        name: "lor",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_LOR (LDLAR*, STLLR*): not implemented",
        bound: 25,
        test: |s| has_prefix(&s.mnemonic, &["ldlar", "stllr"]),
    },
    Class {
        name: "flagm",
        dir: Dir::CapstoneOnly,
        reason: "FEAT_FlagM/FlagM2 (RMIF, SETF8/16, CFINV, AXFLAG, XAFLAG): not implemented",
        bound: 55,
        test: |s| {
            is(
                &s.mnemonic,
                &["rmif", "setf8", "setf16", "cfinv", "axflag", "xaflag"],
            )
        },
    },
    Class {
        name: "capstone-sysreg-op0-0",
        dir: Dir::CapstoneOnly,
        reason: "MRS/MSR with op0=0 (capstone prints S0_*): not a system-register encoding; \
                 unallocated in the architecture, capstone decodes it permissively",
        bound: 21_250,
        test: |s| {
            is(&s.mnemonic, &["mrs", "msr"])
                && s.word & 0xffd8_0000 == 0xd500_0000
                && s.operands.contains("s0_")
        },
    },
    // ---- armvm decodes, capstone does not.
    Class {
        name: "unpredictable-registers",
        dir: Dir::ArmvmOnly,
        reason: "CONSTRAINED UNPREDICTABLE register combinations (LDP Rt==Rt2, writeback \
                 with Rn==Rt, LDXP Rt==Rt2, STXR Rs==Rt/Rn): LLVM rejects them; armvm \
                 executes one permitted behaviour, as qemu does",
        bound: 5_650,
        test: unpredictable_regs,
    },
    Class {
        name: "should-be-one-fields",
        dir: Dir::ArmvmOnly,
        reason: "exclusive/ordered loads and stores with should-be-one Rs/Rt2 fields not \
                 all ones (CONSTRAINED UNPREDICTABLE): armvm ignores the fields, as qemu does",
        bound: 27_250,
        test: sbo_fields,
    },
    Class {
        name: "unprivileged-rt-eq-rn",
        dir: Dir::ArmvmOnly,
        reason: "LDTR*/STTR* with Rt==Rn: capstone (LLVM) rejects it as if it had \
                 writeback; the unprivileged forms have none, so it is a plain load/store",
        bound: 170,
        test: |s| {
            row_op(s) == Some(Op::LdstImm9)
                && bits(s.word, 11, 10) == 0b10
                && bits(s.word, 4, 0) == bits(s.word, 9, 5)
                && s.only_because_of(with_field(s.word, 5, other_reg(&[bits(s.word, 4, 0)])))
        },
    },
    Class {
        name: "msr-imm-reserved-field",
        dir: Dir::ArmvmOnly,
        reason: "MSR (immediate) with an op1/op2 pair naming no PSTATE field: armvm's row \
                 matches the whole space and the executor raises UNDEFINED for fields it \
                 does not implement, so the effect is that of an unallocated encoding",
        bound: 3_900,
        test: |s| row_op(s) == Some(Op::MsrImm) && !msr_imm_implemented(s.word),
    },
    // ---- Both decode, as different instructions.
    Class {
        name: "msr-imm-other-features",
        dir: Dir::Different,
        reason: "CFINV/XAFLAG/AXFLAG (FEAT_FlagM/FlagM2) and SMSTART/SMSTOP (FEAT_SME) sit \
                 in the MSR (immediate) space: armvm's row takes them as MSR and the \
                 executor raises UNDEFINED for those fields, as for an unallocated word",
        bound: 10,
        test: |s| {
            row_op(s) == Some(Op::MsrImm)
                && !msr_imm_implemented(s.word)
                && is(
                    &s.mnemonic,
                    &["cfinv", "xaflag", "axflag", "smstart", "smstop"],
                )
        },
    },
];

struct Rng(u64);
impl Rng {
    /// The generator for the job named `key` under `seed`, independent of the other
    /// jobs (and of their order: a new table row leaves the other rows' words alone).
    fn for_job(seed: u64, key: u64) -> Rng {
        let mut r = Rng(seed ^ key.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

const DEFAULT_COUNT: u64 = 2_000_000;
const DEFAULT_SEED: u64 = 0x5eed_dec0de;
/// Uniformly random words per job.
const CHUNK: u64 = 1 << 17;

/// A batch of words, generated from its own seed so that the result does not depend
/// on which thread runs it or when.
enum Job {
    /// Uniformly random words: chunk number, words.
    Random(u64, u64),
    /// Random words with op0 (bits 28:25) fixed.
    Op0(u32, u64),
    /// Random words matching a table row, then its neighbourhood.
    Row(&'static a64::Encoding, u64),
}

impl Job {
    fn words(&self) -> u64 {
        match *self {
            Job::Random(_, n) | Job::Op0(_, n) => n,
            Job::Row(row, n) => n + row.mask.count_ones() as u64 * (n / 16),
        }
    }

    /// What the job's random stream is derived from.
    fn key(&self) -> u64 {
        match *self {
            Job::Random(chunk, _) => 1 + chunk,
            Job::Op0(class, _) => 1 << 40 | class as u64,
            // FNV-1a over the row's pattern and title.
            Job::Row(row, _) => {
                let mut h = 0xcbf2_9ce4_8422_2325u64;
                let bytes = row
                    .mask
                    .to_le_bytes()
                    .into_iter()
                    .chain(row.value.to_le_bytes());
                for b in bytes.chain(row.title.bytes()) {
                    h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
                }
                h
            }
        }
    }
}

fn jobs(count: u64) -> Vec<Job> {
    let mut jobs = Vec::new();
    // 1. Uniformly random words.
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK);
        jobs.push(Job::Random(jobs.len() as u64, n));
        left -= n;
    }
    // 2. Each top-level class (op0, bits 28:25) in turn.
    let per_class = (count / 32).max(1024);
    for class in 0..16 {
        jobs.push(Job::Op0(class, per_class));
    }
    // 3. Each row of armvm's tables, and 4. its neighbourhood (one fixed bit flipped).
    let per_row = (count / 500).max(256);
    for row in a64::BASE
        .iter()
        .chain(a64_fp::FP.iter())
        .chain(a64_simd::SIMD.iter())
    {
        jobs.push(Job::Row(row, per_row));
    }
    jobs
}

/// Where a word was seen first: (job, position in the job). Examples are the first
/// in this order, so the report is the same for any number of threads.
type Place = (usize, u64);

#[derive(Default)]
struct Stats {
    words: u64,
    both: u64,
    same: u64,
    neither: u64,
    /// Per class: words, and the first example.
    per_class: BTreeMap<&'static str, (u64, Place, u32)>,
    /// Unclassified disagreements, grouped: words, first example, description.
    unclassified: BTreeMap<String, (u64, Place, String)>,
    /// Examples of the class named by `ARMVM_SWEEP_SHOW`.
    shown: Vec<(Place, String)>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.words += o.words;
        self.both += o.both;
        self.same += o.same;
        self.neither += o.neither;
        for (k, (n, at, w)) in o.per_class {
            let e = self.per_class.entry(k).or_insert((0, at, w));
            e.0 += n;
            if at < e.1 {
                (e.1, e.2) = (at, w);
            }
        }
        for (k, (n, at, d)) in o.unclassified {
            let e = self.unclassified.entry(k).or_insert((0, at, d.clone()));
            e.0 += n;
            if at < e.1 {
                (e.1, e.2) = (at, d);
            }
        }
        self.shown.extend(o.shown);
    }
}

fn capstone() -> Result<Capstone, String> {
    Capstone::new()
        .arm64()
        .mode(capstone::arch::arm64::ArchMode::Arm)
        .build()
        .map_err(|e| format!("capstone: {e}"))
}

/// Checks one word.
fn check(
    w: u32,
    at: Place,
    cs: &Capstone,
    capstone_ok: &dyn Fn(u32) -> bool,
    show: Option<&str>,
    st: &mut Stats,
) {
    st.words += 1;
    let vm = decode::lookup(w);
    let insns = cs.disasm_count(&w.to_le_bytes(), 0x1000, 1).ok();
    let cap = insns.as_ref().and_then(|i| {
        i.iter().next().map(|i| {
            (
                i.mnemonic().unwrap_or("").to_string(),
                i.op_str().unwrap_or("").to_string(),
            )
        })
    });
    let dir = match (vm, &cap) {
        (Some(row), Some((m, _))) => {
            st.both += 1;
            if same_instruction(row.op, w, m) {
                st.same += 1;
                return;
            }
            Dir::Different
        }
        (None, None) => {
            st.neither += 1;
            return;
        }
        (Some(_), None) => Dir::ArmvmOnly,
        (None, Some(_)) => Dir::CapstoneOnly,
    };
    let (mnemonic, operands) = cap.unwrap_or_default();
    let sample = Sample {
        word: w,
        mnemonic,
        operands,
        row: vm,
        capstone_ok,
    };
    let armvm = |r: &a64::Encoding| format!("\"{}\" ({:?})", r.title, r.op);
    match CLASSES.iter().find(|c| c.dir == dir && (c.test)(&sample)) {
        Some(c) => {
            let e = st.per_class.entry(c.name).or_insert((0, at, w));
            e.0 += 1;
            // Each thread sees its jobs in order: its first 30 hold the run's first 30.
            if show == Some(c.name) && st.shown.len() < 30 {
                st.shown.push((
                    at,
                    format!(
                        "{w:#010x} {} {} {}",
                        sample.mnemonic,
                        sample.operands,
                        sample.row.map_or(String::new(), armvm)
                    ),
                ));
            }
        }
        None => {
            let (key, text) = match (dir, sample.row) {
                (Dir::CapstoneOnly, _) | (_, None) => (
                    format!("capstone only: {}", sample.mnemonic),
                    format!(
                        "capstone decodes \"{} {}\", armvm: unallocated",
                        sample.mnemonic, sample.operands
                    ),
                ),
                (Dir::ArmvmOnly, Some(r)) => (
                    format!("armvm only: {}", r.title),
                    format!("armvm decodes row {}, capstone: invalid", armvm(r)),
                ),
                (Dir::Different, Some(r)) => (
                    format!("different: {} vs {}", r.title, sample.mnemonic),
                    format!(
                        "armvm decodes row {}, capstone \"{} {}\"",
                        armvm(r),
                        sample.mnemonic,
                        sample.operands
                    ),
                ),
            };
            let e = st.unclassified.entry(key).or_insert((0, at, String::new()));
            e.0 += 1;
            if e.0 == 1 {
                e.2 = format!("{w:#010x}: {text}");
            }
        }
    }
}

/// Runs one job's words through `check`.
fn run_job(index: usize, job: &Job, seed: u64, cs: &Capstone, show: Option<&str>, st: &mut Stats) {
    let capstone_ok = |w: u32| {
        cs.disasm_count(&w.to_le_bytes(), 0x1000, 1)
            .is_ok_and(|i| i.len() == 1)
    };
    let mut rng = Rng::for_job(seed, job.key());
    let mut pos = 0u64;
    let mut one = |w: u32, st: &mut Stats| {
        check(w, (index, pos), cs, &capstone_ok, show, st);
        pos += 1;
    };
    match *job {
        Job::Random(_, n) => {
            for _ in 0..n {
                one(rng.next(), st);
            }
        }
        Job::Op0(class, n) => {
            for _ in 0..n {
                one((rng.next() & !(0xf << 25)) | (class << 25), st);
            }
        }
        Job::Row(row, n) => {
            for _ in 0..n {
                one(row.value | (rng.next() & !row.mask), st);
            }
            for bit in 0..32 {
                if row.mask & (1 << bit) == 0 {
                    continue;
                }
                for _ in 0..n / 16 {
                    one((row.value ^ (1 << bit)) | (rng.next() & !row.mask), st);
                }
            }
        }
    }
}

/// The bound of a class for this run: as written for the default run; scaled by the
/// number of words, with room for sampling noise, for any other.
fn effective_bound(bound: u64, default_run: bool, scale: f64) -> u64 {
    if default_run {
        return bound;
    }
    let b = bound as f64 * scale;
    (b + 4.0 * b.sqrt() + 10.0).ceil() as u64
}

fn sweep(threads: usize) -> Result<(), Failed> {
    capstone()?;
    let count = env_u64("ARMVM_SWEEP_COUNT").unwrap_or(DEFAULT_COUNT);
    let seed = env_u64("ARMVM_SWEEP_SEED").unwrap_or(DEFAULT_SEED);
    let show = std::env::var("ARMVM_SWEEP_SHOW").ok();
    let started = std::time::Instant::now();
    let job_list = jobs(count);
    let next = AtomicUsize::new(0);
    let total = Mutex::new(Stats::default());
    let errors = Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let cs = match capstone() {
                    Ok(cs) => cs,
                    Err(e) => return errors.lock().unwrap().push(e),
                };
                let mut st = Stats::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = job_list.get(i) else { break };
                    run_job(i, job, seed, &cs, show.as_deref(), &mut st);
                }
                total.lock().unwrap().merge(st);
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap().pop() {
        return Err(e.into());
    }
    let mut st = total.into_inner().unwrap();

    let default_run = count == DEFAULT_COUNT && seed == DEFAULT_SEED;
    let default_words: u64 = jobs(DEFAULT_COUNT).iter().map(Job::words).sum();
    let scale = st.words as f64 / default_words as f64;
    let mut out = format!(
        "decoder_sweep: seed {seed:#x}: {} words in {:.1}s on {threads} threads: {} decoded \
         by both ({} as the same instruction), {} by neither\n",
        st.words,
        started.elapsed().as_secs_f64(),
        st.both,
        st.same,
        st.neither
    );
    let mut failures = Vec::new();
    for c in CLASSES {
        let (n, _, example) = st.per_class.get(c.name).copied().unwrap_or((0, (0, 0), 0));
        let bound = effective_bound(c.bound, default_run, scale);
        let over = n > bound;
        out += &format!(
            "  {:<26} {:<14} {n:>8} of {bound:>8}{}",
            c.name,
            c.dir.describe(),
            if over { "  OVER ITS BOUND" } else { "" }
        );
        if n > 0 {
            out += &format!("  e.g. {example:#010x}  ({})", c.reason);
        }
        out.push('\n');
        if over {
            failures.push(format!(
                "class {} took {n} words, more than its bound {bound}: a decoder change \
                 made it grow (ARMVM_SWEEP_SHOW={} prints examples)",
                c.name, c.name
            ));
        }
    }
    if !st.shown.is_empty() {
        st.shown.sort();
        out += &format!("examples of {}:\n", show.as_deref().unwrap_or(""));
        for (_, line) in st.shown.iter().take(30) {
            out += &format!("  {line}\n");
        }
    }
    print!("{out}");
    if !st.unclassified.is_empty() {
        let n: u64 = st.unclassified.values().map(|v| v.0).sum();
        let mut groups: Vec<_> = st.unclassified.into_iter().collect();
        groups.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
        let mut msg = format!(
            "{n} unclassified disagreements in {} groups; the largest groups, one example each:",
            groups.len()
        );
        for (key, (count, _, example)) in groups.iter().take(40) {
            msg += &format!("\n  {count:>7} x {key}\n            e.g. {example}");
        }
        failures.push(msg);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let threads = args
        .test_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let trials = vec![Trial::test("decoder_sweep", move || sweep(threads))];
    libtest_mimic::run(&args, trials).exit();
}
