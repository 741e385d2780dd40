//! Case generators, one per instruction group.
//!
//! The encoding space comes from armvm's own decode tables: a random case draws rows
//! of its group and fills the rows' free bits at random, so new rows are covered as
//! soon as they land. The generators then constrain what must be constrained for a
//! user-mode process to run the sequence deterministically:
//! - memory instructions get a base register pointing into the case's scratch area
//!   (with in-range offsets and index registers), never a register an earlier
//!   instruction of the sequence wrote;
//! - branches go forward only, within the sequence or to its end;
//! - UNPREDICTABLE and CONSTRAINED UNPREDICTABLE forms are avoided (LDP Rt==Rt2,
//!   writeback onto a data register, STXR Rs==Rt/Rn, store-exclusive of a different
//!   size or address than the open load-exclusive, ...);
//! - nothing that needs EL1, traps, or ends the process (SVC, BRK, WFI, ...).

use armvm_cpu::decode::{self, a64, a64::Encoding, a64_fp, a64_simd, Op};

use crate::asm::*;
use crate::case::*;
use crate::rng::Rng;

/// The instruction groups, each with its decode-table rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    DpImm,
    DpReg,
    Branch,
    Ldst,
    Excl,
    Atomic,
    Sys,
    /// Data processing, loads/stores and atomics in one sequence.
    Mixed,
    Fp,
    Simd,
}

pub struct Group {
    pub name: &'static str,
    pub kind: Kind,
    pub rows: Vec<&'static Encoding>,
}

pub const KINDS: &[(Kind, &str)] = &[
    (Kind::DpImm, "dp_imm"),
    (Kind::DpReg, "dp_reg"),
    (Kind::Branch, "branch"),
    (Kind::Ldst, "ldst"),
    (Kind::Excl, "excl"),
    (Kind::Atomic, "atomic"),
    (Kind::Sys, "sys"),
    (Kind::Mixed, "mixed"),
    (Kind::Fp, "fp"),
    (Kind::Simd, "simd"),
];

/// Base-table ops that user mode cannot run as part of a case: they end the process
/// (SVC, BRK, HLT), need EL1/EL2 (HVC, SMC, ERET, DCPS, DRPS, SPSel), or trap to the
/// kernel (MSR DAIFSet/DAIFClr with SCTLR_EL1.UMA clear, SYSL).
const NOT_IN_USER_MODE: &[Op] = &[
    Op::Svc,
    Op::Hvc,
    Op::Smc,
    Op::Brk,
    Op::Hlt,
    Op::DebugOnly,
    Op::Eret,
    Op::MsrImm,
    Op::Sysl,
];

/// The group of a base-table op; unknown (new) ops by their top-level encoding class.
fn base_kind(e: &Encoding) -> Option<Kind> {
    use Op::*;
    Some(match e.op {
        Adr | Adrp | AddSubImm | LogicalImm | Movn | Movz | Movk | Sbfm | Bfm | Ubfm | Extr => {
            Kind::DpImm
        }
        Udiv | Sdiv | ShiftV | Crc32 | Rbit | Rev16 | Rev | Rev32 | Clz | Cls | LogicalReg
        | AddSubShifted | AddSubExt | AdcSbc | CondCmpReg | CondCmpImm | CondSel | Madd
        | MulLong | MulHigh => Kind::DpReg,
        BCond | B | Bl | Cbz | Tbz | Br | Blr | Ret => Kind::Branch,
        LdrLiteral | LdrLiteralFp | LdstPair | LdstPairFp | LdstImm9 | LdstRegOff | LdstUimm
        | LdstImm9Fp | LdstRegOffFp | LdstUimmFp => Kind::Ldst,
        StoreExcl | LoadExcl | StoreExclPair | LoadExclPair | StoreRelease | LoadAcquire => {
            Kind::Excl
        }
        Cas | Casp | Atomic => Kind::Atomic,
        Hint | Clrex | Barrier | Isb | Sys | Msr | Mrs => Kind::Sys,
        op if NOT_IN_USER_MODE.contains(&op) => return None,
        // A row added after this harness was written: data processing rows are safe to
        // run with random fields; others need a generator that knows their rules.
        _ => match (e.value >> 25) & 0xf {
            0b1000 | 0b1001 => Kind::DpImm,
            0b0101 | 0b1101 => Kind::DpReg,
            _ => return None,
        },
    })
}

pub fn groups() -> Vec<Group> {
    let mut gs: Vec<Group> = KINDS
        .iter()
        .map(|&(kind, name)| Group {
            name,
            kind,
            rows: Vec::new(),
        })
        .collect();
    let slot = |k: Kind| KINDS.iter().position(|&(kk, _)| kk == k).unwrap();
    for e in a64::BASE {
        if let Some(k) = base_kind(e) {
            gs[slot(k)].rows.push(e);
        }
    }
    let mixed: Vec<&'static Encoding> = gs
        .iter()
        .filter(|g| {
            matches!(
                g.kind,
                Kind::DpImm | Kind::DpReg | Kind::Ldst | Kind::Atomic
            )
        })
        .flat_map(|g| g.rows.iter().copied())
        .collect();
    gs[slot(Kind::Mixed)].rows = mixed;
    gs[slot(Kind::Fp)].rows.extend(a64_fp::FP.iter());
    gs[slot(Kind::Simd)].rows.extend(a64_simd::SIMD.iter());
    gs
}

/// Base-table rows no group generates (printed, so they are not forgotten).
pub fn untested_rows() -> Vec<&'static str> {
    a64::BASE
        .iter()
        .filter(|e| base_kind(e).is_none() && !NOT_IN_USER_MODE.contains(&e.op))
        .map(|e| e.title)
        .collect()
}

pub fn decodes_to(w: u32, row: &Encoding) -> bool {
    decode::lookup(w).is_some_and(|e| std::ptr::eq(e, row))
}

/// A random word that `row` decodes (first match in the tables).
pub fn random_word(rng: &mut Rng, row: &'static Encoding) -> Option<u32> {
    for _ in 0..200 {
        let w = row.value | (rng.next32() & !row.mask);
        if decodes_to(w, row) {
            return Some(w);
        }
    }
    None
}

/// Low bit of each general-purpose register field of a data-processing op, the
/// destination first (if the op has one).
fn gpr_fields(op: Op) -> &'static [u32] {
    use Op::*;
    match op {
        Adr | Adrp | Movn | Movz | Movk => &[0],
        AddSubImm | LogicalImm | Sbfm | Bfm | Ubfm | Rbit | Rev16 | Rev | Rev32 | Clz | Cls => {
            &[0, 5]
        }
        Extr | Udiv | Sdiv | ShiftV | Crc32 | LogicalReg | AddSubShifted | AddSubExt | AdcSbc
        | CondSel | MulHigh => &[0, 5, 16],
        Madd | MulLong => &[0, 5, 16, 10],
        CondCmpReg => &[5, 16],
        CondCmpImm => &[5],
        _ => &[],
    }
}

fn has_rd(op: Op) -> bool {
    !matches!(op, Op::CondCmpReg | Op::CondCmpImm)
}

// ---- Values

const EDGES: &[u64] = &[
    0,
    1,
    2,
    u64::MAX,
    u64::MAX - 1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0xffff_ffff_8000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0x8000_0000_0000_0001,
    0x0000_0000_7fff_fffe,
    0x5555_5555_5555_5555,
    0xaaaa_aaaa_aaaa_aaaa,
    0x0123_4567_89ab_cdef,
    63,
    64,
    31,
    32,
];

/// A 64-bit value biased towards edge cases.
pub fn interesting_u64(rng: &mut Rng) -> u64 {
    match rng.below(12) {
        0..=3 => rng.next(),
        4 => rng.range(-70, 70) as u64,
        5 | 6 => *rng.pick(EDGES),
        7 => {
            let b = 1u64 << rng.below(64);
            match rng.below(3) {
                0 => b,
                1 => b.wrapping_sub(1),
                _ => b.wrapping_neg(),
            }
        }
        8 => rng.next32() as i32 as i64 as u64,
        9 => rng.next32() as u64,
        10 => rng.next() & rng.next() & rng.next(),
        _ => rng.next() | rng.next() | rng.next(),
    }
}

/// A floating-point bit pattern of a format with `e` exponent and `m` fraction bits.
pub fn fp_bits(rng: &mut Rng, e: u32, m: u32) -> u64 {
    let sign = rng.below(2) << (e + m);
    let emax = (1u64 << e) - 1;
    let bias = emax >> 1;
    let frac = rng.next() & ((1u64 << m) - 1);
    let body = match rng.below(14) {
        0 => 0,
        1 => emax << m,                                  // infinity
        2 => (emax << m) | (1 << (m - 1)) | (frac >> 1), // quiet NaN
        3 => (emax << m) | ((frac >> 1).max(1)),         // signalling NaN
        4 => frac.max(1),                                // subnormal
        5 => ((emax - 1) << m) | ((1u64 << m) - 1),      // largest normal
        6 => 1 << m,                                     // smallest normal
        7 => bias << m,                                  // 1.0
        8 => ((bias + rng.below(8)) << m) | (frac & !((1u64 << m.saturating_sub(3)) - 1)), // small numbers
        9 => ((bias + 31 + rng.below(3)) << m) | (frac & rng.next()), // near 2^32
        10 => ((bias + 62 + rng.below(3)) << m) | (frac & rng.next()), // near 2^64
        11 => ((bias - 1) << m) | (1 << (m - 1)),                     // 0.75: rounding ties nearby
        _ => ((rng.below(emax.min(2 * bias + 1))) << m) | frac,
    };
    sign | body
}

/// A SIMD&FP register value: lanes of one format, or raw random bits.
pub fn interesting_v(rng: &mut Rng) -> u128 {
    let (lane, e, m) = match rng.below(5) {
        0 => return (rng.next() as u128) | ((rng.next() as u128) << 64),
        1 => (16, 5, 10),
        2 => (32, 8, 23),
        _ => (64, 11, 52),
    };
    let mut v = 0u128;
    for i in 0..128 / lane {
        v |= (fp_bits(rng, e, m) as u128) << (i * lane);
    }
    v
}

// ---- The case builder

/// Builds one case: the instructions, the initial state, the pinned registers.
pub struct Gen<'r> {
    pub rng: &'r mut Rng,
    pub insns: Vec<u32>,
    pub state: State,
    pub pins: Vec<Pin>,
    pub scratch: Vec<u8>,
    /// Indexed by register number, 31 = SP.
    pinned: [bool; 32],
    written: [bool; 32],
    reserved: [bool; 32],
    last_target: Option<usize>,
}

impl<'r> Gen<'r> {
    pub fn new(rng: &'r mut Rng, fp: bool) -> Gen<'r> {
        let mut state = State::default();
        for x in state.x.iter_mut() {
            *x = interesting_u64(rng);
        }
        state.sp = interesting_u64(rng);
        state.nzcv = rng.below(16) << 28;
        state.fpsr = rng.next() & FPSR_MASK;
        state.fpcr = if fp { rng.next() & FPCR_MASK } else { 0 };
        state.tpidr = interesting_u64(rng);
        for v in state.v.iter_mut() {
            *v = interesting_v(rng);
        }
        let scratch = rng.bytes(SCRATCH_SIZE);
        Gen {
            rng,
            insns: Vec::new(),
            state,
            pins: Vec::new(),
            scratch,
            pinned: [false; 32],
            written: [false; 32],
            reserved: [false; 32],
            last_target: None,
        }
    }

    pub fn finish(self, group: &'static str, label: String) -> Case {
        Case {
            group,
            label,
            insns: self.insns,
            state: self.state,
            pins: self.pins,
            scratch: self.scratch,
        }
    }

    fn free(&self, r: usize) -> bool {
        !self.pinned[r] && !self.written[r] && !self.reserved[r]
    }

    /// `want` if it is free and not in `avoid`, else another free register (SP only
    /// if `allow_sp`).
    fn choose(&mut self, want: usize, avoid: &[usize], allow_sp: bool) -> usize {
        let ok = |g: &Self, r: usize| g.free(r) && !avoid.contains(&r) && (r != SP || allow_sp);
        if ok(self, want) {
            return want;
        }
        for _ in 0..100 {
            let r = self.rng.below(if allow_sp { 32 } else { 31 }) as usize;
            if ok(self, r) {
                return r;
            }
        }
        (0..31).find(|&r| ok(self, r)).expect("a free register")
    }

    /// Sets register `r` (31 = SP) and keeps later instructions from reusing it.
    pub fn set(&mut self, r: usize, v: u64) {
        if r == SP {
            self.state.sp = v;
        } else {
            self.state.x[r] = v;
        }
        self.reserved[r] = true;
    }

    pub fn mark_written(&mut self, r: usize) {
        self.written[r] = true;
    }

    /// A scratch offset for an access of `bytes` aligned to `align`; unaligned
    /// accesses cross the page boundary in the middle of the scratch area now and then.
    pub fn target(&mut self, bytes: usize, align: usize) -> usize {
        let t = if self.last_target.is_some() && self.rng.chance(1, 3) {
            // Near the previous access, so that accesses of different sizes overlap.
            let near = self.last_target.unwrap_or(0) as i64 + self.rng.range(-8, 8);
            (near.clamp(0, (SCRATCH_SIZE - bytes) as i64) as usize) & !(align - 1)
        } else if align < bytes && bytes > 1 && self.rng.chance(1, 4) {
            let back = self.rng.range(1, bytes as i64 - 1) as usize;
            (SCRATCH_SIZE / 2 - back) & !(align - 1)
        } else {
            let t = self.rng.below((SCRATCH_SIZE - bytes + 1) as u64) as usize;
            t & !(align - 1)
        };
        self.last_target = Some(t);
        t
    }

    /// Pins register `r` so that `r + delta` is scratch offset `t`.
    pub fn pin(&mut self, r: usize, t: usize, delta: i64) {
        let tag = if self.rng.chance(1, 8) {
            self.rng.below(256) as u8
        } else {
            0
        };
        self.pins.push(Pin {
            reg: r,
            offset: t as i64 - delta,
            tag,
            absolute: false,
        });
        self.pinned[r] = true;
    }

    /// A scratch offset for an access that must be aligned to `bytes`, misaligned now
    /// and then (1 in 40) to check that both sides raise the alignment fault.
    pub fn target_aligned(&mut self, bytes: usize) -> usize {
        if bytes > 1 && self.rng.chance(1, 40) {
            // Leave room for the bytes past the misaligned start.
            self.target(2 * bytes, bytes) + self.rng.range(1, bytes as i64 - 1) as usize
        } else {
            self.target(bytes, bytes)
        }
    }

    /// Chooses and pins a base register for an access of `bytes` at `base + delta`.
    fn base(
        &mut self,
        want: usize,
        avoid: &[usize],
        bytes: usize,
        align: usize,
        delta: i64,
    ) -> usize {
        let r = self.choose(want, avoid, true);
        let t = self.target(bytes, align);
        self.pin(r, t, delta);
        r
    }

    /// A base for an access that must be aligned to `bytes`, misaligned now and then.
    fn base_misalignable(&mut self, want: usize, avoid: &[usize], bytes: usize) -> usize {
        let r = self.choose(want, avoid, true);
        let t = self.target_aligned(bytes);
        self.pin(r, t, 0);
        r
    }

    /// As [`Gen::base`] for the plain loads and stores, which now and then (1 in 100)
    /// aim at memory they may not access instead: a store at the read-only code
    /// segment, or any access at an unmapped page. Both sides must fault alike.
    fn base_or_wild(
        &mut self,
        want: usize,
        avoid: &[usize],
        bytes: usize,
        delta: i64,
        store: bool,
    ) -> usize {
        if !self.rng.chance(1, 100) {
            return self.base(want, avoid, bytes, 1, delta);
        }
        let r = self.choose(want, avoid, true);
        let ea = if store && self.rng.chance(1, 2) {
            crate::elf::CODE_BASE + 0x100 + self.rng.below(0x300)
        } else {
            crate::elf::DATA_BASE - 0x10_0000 + self.rng.below(0x8_0000)
        };
        self.pins.push(Pin {
            reg: r,
            offset: (ea as i64).wrapping_sub(delta),
            tag: 0,
            absolute: true,
        });
        self.pinned[r] = true;
        r
    }

    pub fn push(&mut self, w: u32) {
        self.insns.push(w);
    }
}

// ---- Data processing

/// A register pool for a sequence: fields are mapped into it so that instructions
/// feed each other.
fn reg_pool(rng: &mut Rng) -> Vec<u32> {
    let k = rng.range(2, 6) as usize;
    let mut pool: Vec<u32> = Vec::new();
    while pool.len() < k {
        let r = rng.below(31) as u32;
        if !pool.contains(&r) {
            pool.push(r);
        }
    }
    pool
}

/// Maps the register fields of a data-processing word into `pool` (sometimes keeping
/// 31, which is XZR or SP depending on the field).
fn remap(rng: &mut Rng, w: u32, op: Op, pool: &[u32], avoid_rd: &[usize]) -> u32 {
    let mut out = w;
    for (i, &lo) in gpr_fields(op).iter().enumerate() {
        let r = field(w, lo + 4, lo);
        let mut nr = if r == 31 && rng.chance(1, 3) {
            31
        } else {
            pool[r as usize % pool.len()]
        };
        if i == 0 && has_rd(op) && avoid_rd.contains(&(nr as usize)) {
            nr = 31;
        }
        out = set_field(out, lo + 4, lo, nr);
    }
    out
}

/// One random data-processing instruction from `rows`, with its destination marked
/// written. `avoid_rd`: registers it must not write.
fn dp_insn(g: &mut Gen, rows: &[&'static Encoding], pool: &[u32], avoid_rd: &[usize]) -> u32 {
    loop {
        let row = *g.rng.pick(rows);
        let Some(w) = random_word(g.rng, row) else {
            continue;
        };
        let w2 = remap(g.rng, w, row.op, pool, avoid_rd);
        let w = if decodes_to(w2, row) { w2 } else { w };
        if has_rd(row.op) && !gpr_fields(row.op).is_empty() {
            let rd = (w & 31) as usize;
            if avoid_rd.contains(&rd) {
                continue;
            }
            // Rd=31 is SP for some forms: treat it as written either way.
            g.mark_written(rd);
        } else if gpr_fields(row.op).is_empty()
            && !matches!(row.op, Op::CondCmpReg | Op::CondCmpImm)
        {
            // An op this file knows no fields of: assume it writes bits 4:0.
            g.mark_written((w & 31) as usize);
        }
        return w;
    }
}

pub fn gen_dp(g: &mut Gen, rows: &[&'static Encoding]) {
    let pool = reg_pool(g.rng);
    let n = g.rng.range(1, 8);
    for _ in 0..n {
        let w = dp_insn(g, rows, &pool, &[]);
        g.push(w);
    }
}

// ---- Branches

enum Slot {
    Plain(u32),
    /// A branch whose offset is chosen once the sequence is laid out.
    Direct(u32),
    /// BR/BLR/RET through a register set by an ADR just before it.
    Indirect(u32),
}

pub fn gen_branch(g: &mut Gen, branch_rows: &[&'static Encoding], dp_rows: &[&'static Encoding]) {
    let pool = reg_pool(g.rng);
    // Registers CBZ/TBZ test are often zero or have few bits set.
    for &r in &pool {
        if g.rng.chance(1, 2) {
            g.state.x[r as usize] = if g.rng.chance(1, 2) {
                0
            } else {
                1u64 << g.rng.below(64)
            };
        }
    }
    let n = g.rng.range(1, 6);
    let mut slots = Vec::new();
    for _ in 0..n {
        if g.rng.chance(1, 2) {
            let w = dp_insn(g, dp_rows, &pool, &[]);
            slots.push(Slot::Plain(w));
            continue;
        }
        let row = *g.rng.pick(branch_rows);
        let Some(w) = random_word(g.rng, row) else {
            continue;
        };
        match row.op {
            Op::Br | Op::Blr | Op::Ret => {
                let rn = field(w, 9, 5);
                let rn = if rn == 31 { pool[0] } else { rn };
                slots.push(Slot::Indirect(set_field(w, 9, 5, rn)));
            }
            Op::Cbz | Op::Tbz => {
                let rt = pool[field(w, 4, 0) as usize % pool.len()];
                slots.push(Slot::Direct(set_field(w, 4, 0, rt)));
            }
            Op::B | Op::Bl | Op::BCond => slots.push(Slot::Direct(w)),
            // A branch row this generator does not know: leave it out.
            _ => {}
        }
    }
    // Lay out, then point every branch forward within the sequence (or to its end).
    let mut words = Vec::new();
    let mut fix = Vec::new(); // (index, is_indirect)
    for s in &slots {
        match *s {
            Slot::Plain(w) => words.push(w),
            Slot::Direct(w) => {
                fix.push((words.len(), false));
                words.push(w);
            }
            Slot::Indirect(w) => {
                fix.push((words.len(), true));
                words.push(adr(field(w, 9, 5), 0));
                words.push(w);
            }
        }
    }
    let len = words.len();
    // A direct branch must not land on an indirect branch past its ADR.
    let landing_ok =
        |t: usize, fix: &[(usize, bool)]| !fix.iter().any(|&(j, ind)| ind && t == j + 1);
    let fixes = fix.clone();
    for (i, indirect) in fix {
        if indirect {
            // ADR at i, BR at i+1: target in i+2..=len.
            let t = loop {
                let t = g.rng.range(i as i64 + 2, len as i64);
                if landing_ok(t as usize, &fixes) {
                    break t;
                }
            };
            let rn = field(words[i + 1], 9, 5);
            words[i] = adr(rn, 4 * (t - i as i64));
        } else {
            let t = loop {
                let t = g.rng.range(i as i64 + 1, len as i64);
                if landing_ok(t as usize, &fixes) {
                    break t;
                }
            };
            let off = (t - i as i64) as u32;
            let (hi, lo) = branch_imm_field(words[i]).expect("a direct branch");
            words[i] = set_field(words[i], hi, lo, off);
        }
    }
    for w in words {
        g.push(w);
    }
}

// ---- Loads and stores

/// Size in bytes of the single-register SIMD&FP access in `w` (opc<1>:size).
fn fp_scale(w: u32) -> u32 {
    (field(w, 23, 23) << 2) | field(w, 31, 30)
}

/// Constrains one load/store word of `row`; returns the word to emit, or `None` to
/// draw again.
pub fn constrain_ldst(g: &mut Gen, row: &'static Encoding, w: u32) -> Option<u32> {
    let rt = field(w, 4, 0) as usize;
    let rn = field(w, 9, 5) as usize;
    let rt2 = field(w, 14, 10) as usize;
    let mut w = w;
    let load_gpr = |g: &mut Gen, r: usize| {
        if r != 31 {
            g.mark_written(r);
        }
    };
    match row.op {
        Op::LdstUimm | Op::LdstUimmFp => {
            let (scale, load, fp) = if row.op == Op::LdstUimm {
                let (size, opc) = (field(w, 31, 30), field(w, 23, 22));
                if size == 3 && opc == 2 {
                    return Some(w); // PRFM: no access
                }
                (size, opc != 0, false)
            } else {
                (fp_scale(w), field(w, 22, 22) == 1, true)
            };
            let off = (field(w, 21, 10) as i64) << scale;
            let r = g.base_or_wild(rn, &[], 1 << scale, off, !load);
            w = set_field(w, 9, 5, r as u32);
            if load && !fp {
                load_gpr(g, rt);
            }
        }
        Op::LdstImm9 | Op::LdstImm9Fp => {
            let (scale, load, fp) = if row.op == Op::LdstImm9 {
                let (size, opc) = (field(w, 31, 30), field(w, 23, 22));
                if size == 3 && opc == 2 {
                    return Some(w); // PRFUM
                }
                (size, opc != 0, false)
            } else {
                (fp_scale(w), field(w, 22, 22) == 1, true)
            };
            let mode = field(w, 11, 10);
            let imm = sext(field(w, 20, 12), 9);
            let writeback = mode == 0b01 || mode == 0b11;
            let delta = if mode == 0b01 { 0 } else { imm };
            let avoid: Vec<usize> = if writeback && !fp { vec![rt] } else { vec![] };
            let r = g.base_or_wild(rn, &avoid, 1 << scale, delta, !load);
            w = set_field(w, 9, 5, r as u32);
            if writeback {
                g.mark_written(r);
            }
            if load && !fp {
                load_gpr(g, rt);
            }
        }
        Op::LdstRegOff | Op::LdstRegOffFp => {
            let (scale, load, fp) = if row.op == Op::LdstRegOff {
                let (size, opc) = (field(w, 31, 30), field(w, 23, 22));
                if size == 3 && opc == 2 {
                    return Some(w); // PRFM (register)
                }
                (size, opc != 0, false)
            } else {
                (fp_scale(w), field(w, 22, 22) == 1, true)
            };
            let option = field(w, 15, 13);
            let shift = if field(w, 12, 12) == 1 { scale } else { 0 };
            let rm = field(w, 20, 16) as usize;
            let ext: i64 = if rm == 31 {
                0
            } else if g.rng.chance(1, 8) {
                g.rng.next32() as i32 as i64
            } else {
                g.rng.range(-300, 300)
            };
            let signed = option & 0b100 != 0;
            let word = option & 1 == 0; // UXTW/SXTW use the low 32 bits
            let ext = if !signed && ext < 0 {
                if word {
                    ext & 0xffff_ffff
                } else {
                    -ext
                }
            } else {
                ext
            };
            let delta = ext.wrapping_shl(shift);
            let r = g.base_or_wild(rn, &[], 1 << scale, delta, !load);
            w = set_field(w, 9, 5, r as u32);
            if rm != 31 {
                let m = g.choose(rm, &[r], false);
                let value = if word {
                    (g.rng.next() & !0xffff_ffff) | (ext as u64 & 0xffff_ffff)
                } else {
                    ext as u64
                };
                g.set(m, value);
                w = set_field(w, 20, 16, m as u32);
            }
            if load && !fp {
                load_gpr(g, rt);
            }
        }
        Op::LdstPair | Op::LdstPairFp => {
            let load = field(w, 22, 22) == 1;
            let opc = field(w, 31, 30);
            let fp = row.op == Op::LdstPairFp;
            let scale = if fp {
                2 + opc
            } else if opc == 2 {
                3
            } else {
                2
            };
            let mode = field(w, 24, 23);
            let writeback = mode == 0b01 || mode == 0b11;
            let imm = sext(field(w, 21, 15), 7) << scale;
            let delta = if mode == 0b01 { 0 } else { imm };
            let mut rt2 = rt2;
            if load && rt2 == rt {
                // LDP with Rt == Rt2 is CONSTRAINED UNPREDICTABLE.
                rt2 = (rt + 1 + g.rng.below(30) as usize) % 32;
                if rt2 == rt {
                    rt2 = (rt + 1) % 32;
                }
                w = set_field(w, 14, 10, rt2 as u32);
            }
            let avoid: Vec<usize> = if writeback && !fp {
                vec![rt, rt2]
            } else {
                vec![]
            };
            let r = g.base_or_wild(rn, &avoid, 2 << scale, delta, !load);
            w = set_field(w, 9, 5, r as u32);
            if writeback {
                g.mark_written(r);
            }
            if load && !fp {
                load_gpr(g, rt);
                load_gpr(g, rt2);
            }
        }
        Op::LdrLiteral | Op::LdrLiteralFp => {
            // Into the literal pool or the code before, or a little way forward.
            let off = g.rng.range(-280, 40) as u32;
            w = set_field(w, 23, 5, off);
            if row.op == Op::LdrLiteral && field(w, 31, 30) != 3 {
                load_gpr(g, rt);
            }
        }
        _ => {
            // A load/store row this generator does not know: point Rn into scratch
            // (16-byte aligned, 64 bytes of room) and hope the rest is benign.
            let r = g.base(rn, &[rt], 64, 16, 0);
            w = set_field(w, 9, 5, r as u32);
            g.mark_written(rt);
        }
    }
    decodes_to(w, row).then_some(w)
}

pub fn gen_ldst(g: &mut Gen, rows: &[&'static Encoding], dp_rows: &[&'static Encoding]) {
    let n = g.rng.range(1, 4);
    let pool = reg_pool(g.rng);
    let mut done = 0;
    while done < n {
        if g.rng.chance(1, 6) {
            let w = dp_insn(g, dp_rows, &pool, &[]);
            g.push(w);
        }
        let row = *g.rng.pick(rows);
        let Some(w) = random_word(g.rng, row) else {
            continue;
        };
        if let Some(w) = constrain_ldst(g, row, w) {
            g.push(w);
            done += 1;
        }
    }
}

// ---- Exclusives, load-acquire/store-release

struct Monitor {
    base: usize,
    size: u32,
    pair: bool,
}

pub fn gen_excl(g: &mut Gen, rows: &[&'static Encoding]) {
    let n = g.rng.range(1, 5);
    let mut monitor: Option<Monitor> = None;
    let mut done = 0;
    let mut tries = 0;
    while done < n && tries < 200 {
        tries += 1;
        if g.rng.chance(1, 10) {
            g.push(CLREX);
            monitor = None;
            done += 1;
            continue;
        }
        let row = *g.rng.pick(rows);
        let Some(mut w) = random_word(g.rng, row) else {
            continue;
        };
        // Should-be-one fields: Rs of the loads, Rt2 of the single-register forms.
        if matches!(row.op, Op::LoadExcl | Op::LoadExclPair | Op::LoadAcquire) {
            w = set_field(w, 20, 16, 31);
        }
        if matches!(
            row.op,
            Op::LoadExcl | Op::StoreExcl | Op::LoadAcquire | Op::StoreRelease
        ) {
            w = set_field(w, 14, 10, 31);
        }
        if row.op == Op::StoreRelease {
            w = set_field(w, 20, 16, 31);
        }
        let pair = matches!(row.op, Op::LoadExclPair | Op::StoreExclPair);
        let is_store = matches!(row.op, Op::StoreExcl | Op::StoreExclPair | Op::StoreRelease);
        let rt = field(w, 4, 0) as usize;
        let mut rt2 = field(w, 14, 10) as usize;
        // Memory writes while a reservation is open: whether they clear it is
        // IMPLEMENTATION DEFINED, so no STLR between LDXR and STXR.
        if row.op == Op::StoreRelease && monitor.is_some() {
            continue;
        }
        let elem = 1usize << field(w, 31, 30);
        let total = if pair { 2 * elem } else { elem };
        match row.op {
            Op::LoadExcl | Op::LoadExclPair | Op::LoadAcquire => {
                if pair && rt2 == rt {
                    rt2 = (rt + 1) % 32;
                    w = set_field(w, 14, 10, rt2 as u32);
                }
                // The open reservation's base must survive until its store.
                if let Some(m) = &monitor {
                    if rt == m.base || (pair && rt2 == m.base) {
                        continue;
                    }
                }
                // A load-exclusive must not overwrite its own base, which the
                // store-exclusive will use.
                let avoid: Vec<usize> = if row.op == Op::LoadAcquire {
                    vec![]
                } else if pair {
                    vec![rt, rt2]
                } else {
                    vec![rt]
                };
                let r = g.base_misalignable(field(w, 9, 5) as usize, &avoid, total);
                w = set_field(w, 9, 5, r as u32);
                if row.op != Op::LoadAcquire {
                    monitor = Some(Monitor {
                        base: r,
                        size: field(w, 31, 30),
                        pair,
                    });
                }
            }
            Op::StoreExcl | Op::StoreExclPair | Op::StoreRelease => {
                let r = match &monitor {
                    Some(m) if row.op != Op::StoreRelease => {
                        // Same address and size as the load-exclusive (anything else is
                        // CONSTRAINED UNPREDICTABLE).
                        if m.pair != pair {
                            continue;
                        }
                        w = set_field(w, 31, 30, m.size);
                        m.base
                    }
                    // STLR may be misaligned; a store-exclusive with no reservation
                    // may not: qemu checks the reservation before the alignment
                    // (the architecture checks the alignment first).
                    _ if row.op == Op::StoreRelease => {
                        g.base_misalignable(field(w, 9, 5) as usize, &[], total)
                    }
                    _ => g.base(field(w, 9, 5) as usize, &[], total, total, 0),
                };
                w = set_field(w, 9, 5, r as u32);
                if row.op != Op::StoreRelease {
                    // Rs (the status) must differ from Rt, Rt2 and Rn.
                    let mut avoid = vec![rt];
                    if pair {
                        avoid.push(rt2);
                    }
                    if r != SP {
                        avoid.push(r);
                    }
                    let mut rs = field(w, 20, 16) as usize;
                    if avoid.contains(&rs) {
                        rs = (0..31)
                            .map(|_| g.rng.below(31) as usize)
                            .find(|x| !avoid.contains(x))
                            .unwrap_or(0);
                    }
                    w = set_field(w, 20, 16, rs as u32);
                    if rs != 31 {
                        g.mark_written(rs);
                    }
                    monitor = None;
                }
            }
            _ => continue,
        }
        if !decodes_to(w, row) {
            continue;
        }
        if !is_store {
            if rt != 31 {
                g.mark_written(rt);
            }
            if pair && rt2 != 31 {
                g.mark_written(rt2);
            }
        }
        g.push(w);
        done += 1;
    }
}

// ---- LSE atomics

/// Reads `bytes` of scratch at `t` as a little-endian integer.
fn scratch_value(g: &Gen, t: usize, bytes: usize) -> u64 {
    let mut v = 0u64;
    for i in 0..bytes {
        v |= (g.scratch[t + i] as u64) << (8 * i);
    }
    v
}

pub fn gen_atomic(g: &mut Gen, rows: &[&'static Encoding]) {
    let n = g.rng.range(1, 4);
    let mut done = 0;
    let mut tries = 0;
    while done < n && tries < 200 {
        tries += 1;
        let row = *g.rng.pick(rows);
        let Some(w) = random_word(g.rng, row) else {
            continue;
        };
        if let Some(w) = constrain_atomic(g, row, w) {
            g.push(w);
            done += 1;
        }
    }
}

/// Constrains one CAS, CASP or LD<op>/SWP word; `None` to draw again.
pub fn constrain_atomic(g: &mut Gen, row: &'static Encoding, w: u32) -> Option<u32> {
    let mut w = w;
    let rn = field(w, 9, 5) as usize;
    match row.op {
        Op::Cas | Op::Atomic => {
            let bytes = 1usize << field(w, 31, 30);
            let r = g.choose(rn, &[], true);
            let t = g.target_aligned(bytes);
            g.pin(r, t, 0);
            w = set_field(w, 9, 5, r as u32);
            let rs = field(w, 20, 16) as usize;
            // Often make the comparison (CAS) or the operand (LD<op>) equal the
            // memory value; the unused upper bits stay random.
            if rs != 31 && g.rng.chance(1, 2) {
                let rs = g.choose(rs, &[r], false);
                let mask = if bytes == 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * bytes)) - 1
                };
                let v = (g.rng.next() & !mask) | scratch_value(g, t, bytes);
                g.set(rs, v);
                w = set_field(w, 20, 16, rs as u32);
            }
            let rt = (w & 31) as usize;
            if row.op == Op::Cas {
                g.mark_written(field(w, 20, 16) as usize);
            } else if rt != 31 {
                g.mark_written(rt);
            }
        }
        Op::Casp => {
            let elem = if field(w, 30, 30) == 1 { 8 } else { 4 };
            let r = g.choose(rn, &[], true);
            let t = g.target_aligned(2 * elem);
            g.pin(r, t, 0);
            w = set_field(w, 9, 5, r as u32);
            if g.rng.chance(1, 2) {
                // An even pair of free registers holding the memory value.
                let start = 2 * g.rng.below(15) as usize;
                let pair = (0..15)
                    .map(|k| (start + 2 * k) % 30)
                    .find(|&p| g.free(p) && g.free(p + 1) && p != r && p + 1 != r);
                if let Some(p) = pair {
                    let mask = if elem == 8 { u64::MAX } else { 0xffff_ffff };
                    let lo = (g.rng.next() & !mask) | scratch_value(g, t, elem);
                    let hi = (g.rng.next() & !mask) | scratch_value(g, t + elem, elem);
                    g.set(p, lo);
                    g.set(p + 1, hi);
                    w = set_field(w, 20, 16, p as u32);
                }
            }
            let rs = field(w, 20, 16) as usize;
            g.mark_written(rs);
            if rs + 1 < 31 {
                g.mark_written(rs + 1);
            }
        }
        _ => return None,
    }
    decodes_to(w, row).then_some(w)
}

// ---- Mixed sequences

/// Data processing, loads/stores and atomics interleaved in one sequence.
pub fn gen_mixed(
    g: &mut Gen,
    dp_rows: &[&'static Encoding],
    ldst_rows: &[&'static Encoding],
    atomic_rows: &[&'static Encoding],
) {
    let pool = reg_pool(g.rng);
    let n = g.rng.range(2, 8);
    let mut done = 0;
    let mut tries = 0;
    while done < n && tries < 200 {
        tries += 1;
        let w = match g.rng.below(20) {
            0..=7 => Some(dp_insn(g, dp_rows, &pool, &[])),
            8..=16 => {
                let row = *g.rng.pick(ldst_rows);
                random_word(g.rng, row).and_then(|w| constrain_ldst(g, row, w))
            }
            _ => {
                let row = *g.rng.pick(atomic_rows);
                random_word(g.rng, row).and_then(|w| constrain_atomic(g, row, w))
            }
        };
        if let Some(w) = w {
            g.push(w);
            done += 1;
        }
    }
}

// ---- System instructions readable or executable at EL0

pub fn gen_sys(g: &mut Gen, dp_rows: &[&'static Encoding]) {
    let pool = reg_pool(g.rng);
    let n = g.rng.range(1, 6);
    let mut tpidr_written = false;
    for _ in 0..n {
        match g.rng.below(16) {
            0 => {
                let want = g.rng.below(31) as usize;
                let r = g.choose(want, &[], false);
                let v = interesting_u64(g.rng);
                g.set(r, v);
                g.push(msr(NZCV, r as u32));
            }
            1 => {
                // FPCR: bits 21:16 clear (qemu's cortex-a76 keeps FZ16 and the
                // AArch32 Stride and Len fields there; armvm implements neither).
                let want = g.rng.below(31) as usize;
                let r = g.choose(want, &[], false);
                let v = g.rng.next() & !0x003f_0000;
                g.set(r, v);
                g.push(msr(FPCR, r as u32));
            }
            2 => {
                let want = g.rng.below(31) as usize;
                let r = g.choose(want, &[], false);
                let v = g.rng.next();
                g.set(r, v);
                g.push(msr(FPSR, r as u32));
            }
            3 => {
                let r = g.rng.below(32) as u32;
                g.push(msr(TPIDR_EL0, r));
                tpidr_written = true;
            }
            4..=6 => {
                let key = *g.rng.pick(&[NZCV, FPCR, FPSR, TPIDR_EL0, DCZID_EL0]);
                let rd = *g.rng.pick(&pool);
                g.mark_written(rd as usize);
                g.push(mrs(rd, key));
            }
            7 => {
                // CTR_EL0's IDC/DIC bits describe the cache model, which differs (armvm
                // sets both): compare the other fields.
                let rd = *g.rng.pick(&pool);
                g.mark_written(rd as usize);
                g.push(mrs(rd, CTR_EL0));
                g.push(and_clear_bits_29_28(rd, rd));
            }
            8 => {
                let want = g.rng.below(31) as usize;
                let r = g.choose(want, &[], false);
                let t = g.target(1, 1);
                g.pin(r, t, 0);
                g.push(sys(3, 7, 4, 1, r as u32)); // DC ZVA
            }
            9 => {
                let want = g.rng.below(31) as usize;
                let r = g.choose(want, &[], false);
                let t = g.target(1, 1);
                g.pin(r, t, 0);
                let (crm, op1) = *g.rng.pick(&[(10, 3), (11, 3), (14, 3), (5, 3)]);
                // DC CVAC, DC CVAU, DC CIVAC, IC IVAU
                g.push(sys(op1, 7, crm, 1, r as u32));
            }
            10 => {
                // Hints other than WFE and WFI execute as NOPs.
                let imm = loop {
                    let i = g.rng.below(128) as u32;
                    if i != 2 && i != 3 {
                        break i;
                    }
                };
                g.push(hint(imm));
            }
            11 => {
                let crm = g.rng.below(16) as u32;
                let w = *g.rng.pick(&[dmb(crm), dsb(crm), ISB, CLREX]);
                g.push(w);
            }
            _ => {
                let w = dp_insn(g, dp_rows, &pool, &[]);
                g.push(w);
            }
        }
    }
    if tpidr_written {
        let rd = *g.rng.pick(&pool);
        g.push(mrs(rd, TPIDR_EL0));
    }
    // Now and then a random system-register or system instruction word: most are
    // UNDEFINED or trapped at EL0, and both sides must agree on which.
    if g.rng.chance(1, 20) {
        if let Some(w) = random_system_word(g.rng) {
            g.push(w);
        }
    }
}

/// A random MRS, MSR (register or immediate), SYS or SYSL word, leaving out what
/// must differ between a user-mode process under qemu and armvm at EL0: the ID
/// registers (Linux emulates EL0 reads of them), the generic timer (its values
/// depend on time), CTR_EL0 and FPCR writes (implementation-defined bits, covered by
/// the templates), the EL0 cache maintenance space (qemu's DC by VA ignores the
/// address; the templates cover it with valid addresses), and FEAT_SSBS.
fn random_system_word(rng: &mut Rng) -> Option<u32> {
    let rows: Vec<&'static Encoding> = a64::BASE
        .iter()
        .filter(|e| matches!(e.op, Op::Mrs | Op::Msr | Op::Sys | Op::Sysl | Op::MsrImm))
        .collect();
    for _ in 0..100 {
        let row = *rng.pick(&rows);
        let Some(w) = random_word(rng, row) else {
            continue;
        };
        let key = field(w, 20, 5);
        let (op0, op1, crn) = (key >> 14, (key >> 11) & 7, (key >> 7) & 15);
        let skip = (op0 == 3 && op1 == 0 && crn == 0)
            || (op0 == 3 && op1 == 3 && crn == 14)
            || key == CTR_EL0
            || (key == FPCR && row.op == Op::Msr)
            || (op0 == 1 && op1 == 3 && crn == 7)
            // FEAT_SSBS, which qemu's cortex-a76 has and armvm does not: MSR SSBS, #imm
            // and the SSBS register.
            || (row.op == Op::MsrImm && field(w, 18, 16) == 3 && field(w, 7, 5) == 1)
            || key == sysreg(3, 3, 4, 2, 6);
        if !skip {
            return Some(w);
        }
    }
    None
}

// ---- Floating point and Advanced SIMD (table-driven)

/// Whether `w` is in the load/store encoding class (op0 = x1x0).
fn is_ldst_class(w: u32) -> bool {
    w & 0x0a00_0000 == 0x0800_0000
}

pub fn gen_fp_simd(g: &mut Gen, rows: &[&'static Encoding]) {
    let n = g.rng.range(1, 4);
    let mut done = 0;
    let mut tries = 0;
    while done < n && tries < 100 {
        tries += 1;
        let row = *g.rng.pick(rows);
        let Some(mut w) = random_word(g.rng, row) else {
            continue;
        };
        if is_ldst_class(w) {
            // Structure loads/stores: up to 64 bytes from Rn; post-index by Rm.
            let r = g.base(field(w, 9, 5) as usize, &[], 64, 16, 0);
            w = set_field(w, 9, 5, r as u32);
            g.mark_written(r);
            if !decodes_to(w, row) {
                continue;
            }
        }
        g.push(w);
        done += 1;
    }
}
