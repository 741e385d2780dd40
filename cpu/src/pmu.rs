//! The Performance Monitors Extension, PMUv3 for ARMv8.0 (ARM ARM D11, D13):
//! a cycle counter and six 32-bit event counters, with overflow flags and
//! an overflow interrupt (the board wires it to PPI 23).
//!
//! Counting follows armvm's exact instruction count. Instructions retired
//! and cycles are folded in lazily from `Cpu::icount` at the points where
//! what is counted can change (an exception level change, a PMU register
//! access, the end of a run piece), so enabled counters cost nothing per
//! instruction. **CPU_CYCLES counts one cycle per instruction retired**:
//! armvm's CPU has no other clock, and this keeps counts deterministic
//! (WFI, like a real core's clock gating, does not count). Events that
//! depend on the kind of instruction (branches, loads, stores) need a look at
//! each instruction: while a counter counts one, the run loop counts them
//! one instruction at a time.

use crate::decode::{Insn, Op};

/// Event counters (PMCR_EL0.N).
pub const COUNTERS: usize = 6;
/// The cycle counter's bit in the enable, interrupt and overflow masks.
pub const CYCLE_BIT: u64 = 1 << 31;
/// Bits of PMCNTENSET, PMINTENSET and PMOVSSET that exist.
const COUNTER_MASK: u64 = CYCLE_BIT | ((1 << COUNTERS) - 1);

/// Common event numbers counted (PMCEID0_EL0 / PMCEID1_EL0 list exactly these).
pub mod event {
    pub const SW_INCR: u16 = 0x00;
    pub const LD_RETIRED: u16 = 0x06;
    pub const ST_RETIRED: u16 = 0x07;
    pub const INST_RETIRED: u16 = 0x08;
    pub const EXC_TAKEN: u16 = 0x09;
    pub const EXC_RETURN: u16 = 0x0a;
    pub const CPU_CYCLES: u16 = 0x11;
    pub const MEM_ACCESS: u16 = 0x13;
    pub const CHAIN: u16 = 0x1e;
    pub const BR_RETIRED: u16 = 0x21;
}

/// PMCR_EL0 bits.
pub mod pmcr {
    pub const E: u64 = 1 << 0;
    pub const P: u64 = 1 << 1;
    pub const C: u64 = 1 << 2;
    pub const D: u64 = 1 << 3;
    pub const X: u64 = 1 << 4;
    pub const DP: u64 = 1 << 5;
    pub const LC: u64 = 1 << 6;
    /// Bits that hold a value (P and C act on write and read as zero).
    pub const STORED: u64 = E | D | X | DP | LC;
    /// N, the number of event counters, in bits 15:11.
    pub const N: u64 = (super::COUNTERS as u64) << 11;
}

/// PMUSERENR_EL0 bits: what EL0 may do.
pub mod userenr {
    pub const EN: u64 = 1 << 0;
    pub const SW: u64 = 1 << 1;
    pub const CR: u64 = 1 << 2;
    pub const ER: u64 = 1 << 3;
}

/// PMEVTYPER<n>_EL0 / PMCCFILTR_EL0 filter bits: P (no EL1), U (no EL0),
/// NSK, NSU, NSH, M (kept; without EL2 or EL3 they change nothing).
const FILTER_BITS: u64 = 0xfc00_0000;
const FILTER_P: u64 = 1 << 31;
const FILTER_U: u64 = 1 << 30;
/// evtCount of ARMv8.0 (10 bits).
const EVENT_MASK: u64 = 0x3ff;

/// Events derived from the instruction count.
fn counts_instructions(event: u16) -> bool {
    event == event::INST_RETIRED || event == event::CPU_CYCLES
}

/// Events that depend on each instruction's kind.
fn counts_instruction_kinds(event: u16) -> bool {
    matches!(
        event,
        event::LD_RETIRED | event::ST_RETIRED | event::MEM_ACCESS | event::BR_RETIRED
    )
}

/// Whether `insn` is an MRS of a PMU register (whose value may depend on
/// the instructions retired so far).
pub fn reads_counters(insn: Insn) -> bool {
    if insn.op != Op::Mrs {
        return false;
    }
    let k = (insn.word >> 5) & 0xffff;
    let (op0, op1, crn, crm, op2) = crate::sysreg::fields(k);
    Reg::decode(op0, op1, crn, crm, op2).is_some()
}

/// What kinds of event an instruction is (for the per-instruction events).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsnKinds {
    pub load: bool,
    pub store: bool,
    pub branch: bool,
}

impl InsnKinds {
    pub fn of(insn: Insn) -> InsnKinds {
        use crate::decode::SimdOp;
        use Op::*;
        let l_bit = insn.bit(22);
        // Single-register loads and stores: opc (23:22) 00 stores; for the
        // general registers 1x loads except PRFM (size 11, opc 10); for FP
        // registers opc bit 0 tells loads (the 128-bit forms use bit 1).
        let single = |fp: bool| {
            let opc = insn.bits(23, 22);
            if fp {
                (opc & 1 == 1, opc & 1 == 0)
            } else if insn.bits(31, 30) == 3 && opc == 2 {
                (false, false)
            } else {
                (opc != 0, opc == 0)
            }
        };
        let (load, store) = match insn.op {
            LoadExcl | LoadExclPair | LoadAcquire | LdrLiteral | LdrLiteralFp => (true, false),
            StoreExcl | StoreExclPair | StoreRelease => (false, true),
            // Read-modify-write: both.
            Cas | Casp | Atomic => (true, true),
            LdstPair | LdstPairFp => (l_bit, !l_bit),
            Simd(SimdOp::LdStMulti | SimdOp::LdStSingle) => (l_bit, !l_bit),
            LdstImm9 | LdstRegOff | LdstUimm => single(false),
            LdstImm9Fp | LdstRegOffFp | LdstUimmFp => single(true),
            _ => (false, false),
        };
        let branch = matches!(insn.op, BCond | Br | Blr | Ret | B | Bl | Cbz | Tbz);
        InsnKinds {
            load,
            store,
            branch,
        }
    }
}

/// The PMU registers of one vCPU and what it has counted.
#[derive(Clone, Debug)]
pub struct Pmu {
    pub pmcr: u64,
    cnten: u64,
    inten: u64,
    ovs: u64,
    selr: u64,
    userenr: u64,
    evtype: [u64; COUNTERS],
    evcnt: [u64; COUNTERS],
    ccfilter: u64,
    ccnt: u64,
    /// `Cpu::icount` when instructions were last folded in.
    last_icount: u64,
    /// Cycles not yet counted under PMCR_EL0.D (one count per 64).
    divided: u64,
    /// Some counter counts instructions or cycles (lazily folded in).
    counts_icount: bool,
    /// Some counter counts an event that needs a look at each instruction.
    pub per_instruction: bool,
}

impl Default for Pmu {
    fn default() -> Self {
        Pmu {
            pmcr: 0,
            cnten: 0,
            inten: 0,
            ovs: 0,
            selr: 0,
            userenr: 0,
            evtype: [0; COUNTERS],
            evcnt: [0; COUNTERS],
            ccfilter: 0,
            ccnt: 0,
            last_icount: 0,
            divided: 0,
            counts_icount: false,
            per_instruction: false,
        }
    }
}

/// A PMU register, as the system-register code names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Pmcr,
    CntenSet,
    CntenClr,
    OvsClr,
    OvsSet,
    Swinc,
    Selr,
    Ceid0,
    Ceid1,
    Ccntr,
    XevTyper,
    XevCntr,
    Userenr,
    IntenSet,
    IntenClr,
    EvCntr(usize),
    EvTyper(usize),
    Ccfiltr,
}

impl Reg {
    /// The PMU register with system-register encoding `(op0, op1, crn, crm, op2)`.
    pub fn decode(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> Option<Reg> {
        if op0 != 3 {
            return None;
        }
        Some(match (op1, crn, crm, op2) {
            (3, 9, 12, 0) => Reg::Pmcr,
            (3, 9, 12, 1) => Reg::CntenSet,
            (3, 9, 12, 2) => Reg::CntenClr,
            (3, 9, 12, 3) => Reg::OvsClr,
            (3, 9, 12, 4) => Reg::Swinc,
            (3, 9, 12, 5) => Reg::Selr,
            (3, 9, 12, 6) => Reg::Ceid0,
            (3, 9, 12, 7) => Reg::Ceid1,
            (3, 9, 13, 0) => Reg::Ccntr,
            (3, 9, 13, 1) => Reg::XevTyper,
            (3, 9, 13, 2) => Reg::XevCntr,
            (3, 9, 14, 0) => Reg::Userenr,
            (0, 9, 14, 1) => Reg::IntenSet,
            (0, 9, 14, 2) => Reg::IntenClr,
            (3, 9, 14, 3) => Reg::OvsSet,
            (3, 14, 8..=15, _) => {
                let n = (((crm & 3) << 3) | op2) as usize;
                match (crm < 12, n) {
                    (false, 31) => Reg::Ccfiltr,
                    // Counters beyond N are UNDEFINED (the architecture allows it).
                    (_, n) if n >= COUNTERS => return None,
                    (true, n) => Reg::EvCntr(n),
                    (false, n) => Reg::EvTyper(n),
                }
            }
            _ => return None,
        })
    }

    /// Whether EL0 may make this access with PMUSERENR_EL0 = `en`; Err(true)
    /// for a trap to EL1 (EC 0x18), Err(false) for UNDEFINED.
    pub fn el0_access(self, en: u64, read: bool) -> Result<(), bool> {
        let allowed = |bits: u64| if en & bits != 0 { Ok(()) } else { Err(true) };
        match self {
            Reg::IntenSet | Reg::IntenClr => Err(false),
            Reg::Userenr if read => Ok(()),
            Reg::Userenr => Err(false),
            Reg::Swinc => allowed(userenr::EN | userenr::SW),
            Reg::Ccntr if read => allowed(userenr::EN | userenr::CR),
            Reg::XevCntr | Reg::EvCntr(_) | Reg::Selr if read => allowed(userenr::EN | userenr::ER),
            Reg::Selr => allowed(userenr::EN | userenr::ER),
            _ => allowed(userenr::EN),
        }
    }
}

/// PMCEID0_EL0 and PMCEID1_EL0: the common events 0x00-0x3F counted.
fn event_ids() -> (u64, u64) {
    let all = [
        event::SW_INCR,
        event::LD_RETIRED,
        event::ST_RETIRED,
        event::INST_RETIRED,
        event::EXC_TAKEN,
        event::EXC_RETURN,
        event::CPU_CYCLES,
        event::MEM_ACCESS,
        event::CHAIN,
        event::BR_RETIRED,
    ];
    let (mut lo, mut hi) = (0, 0);
    for e in all {
        if e < 32 {
            lo |= 1 << e;
        } else {
            hi |= 1 << (e - 32);
        }
    }
    (lo, hi)
}

impl Pmu {
    /// Counter `n`'s event number.
    fn event(&self, n: usize) -> u16 {
        (self.evtype[n] & EVENT_MASK) as u16
    }

    /// Whether event counter `n` counts at `el` now.
    fn counting(&self, n: usize, el: u8) -> bool {
        self.pmcr & pmcr::E != 0 && self.cnten & (1 << n) != 0 && filter_allows(self.evtype[n], el)
    }

    fn cycle_counting(&self, el: u8) -> bool {
        self.pmcr & pmcr::E != 0 && self.cnten & CYCLE_BIT != 0 && filter_allows(self.ccfilter, el)
    }

    /// Recomputes what the run loop must do for the PMU.
    fn configured(&mut self) {
        let enabled = self.pmcr & pmcr::E != 0;
        let on = |n: usize| enabled && self.cnten & (1 << n) != 0;
        self.counts_icount = (enabled && self.cnten & CYCLE_BIT != 0)
            || (0..COUNTERS).any(|n| on(n) && counts_instructions(self.event(n)));
        self.per_instruction =
            (0..COUNTERS).any(|n| on(n) && counts_instruction_kinds(self.event(n)));
    }

    /// Whether the run loop must stop within some instructions to fold them
    /// in: the number before the first counter with its interrupt enabled
    /// overflows.
    pub fn instructions_to_overflow(&self) -> Option<u64> {
        if !self.counts_icount {
            return None;
        }
        let mut nearest: Option<u64> = None;
        let mut consider = |left: u64| nearest = Some(nearest.map_or(left, |n| n.min(left)));
        if self.inten & CYCLE_BIT != 0 && self.cnten & CYCLE_BIT != 0 {
            let width = if self.pmcr & pmcr::LC != 0 { 64 } else { 32 };
            let scale = if self.pmcr & pmcr::D != 0 { 64 } else { 1 };
            consider(to_wrap(self.ccnt, width).saturating_mul(scale));
        }
        for n in 0..COUNTERS {
            if self.inten & (1 << n) != 0
                && self.cnten & (1 << n) != 0
                && counts_instructions(self.event(n))
            {
                consider(to_wrap(self.evcnt[n], 32));
            }
        }
        nearest
    }

    /// Folds in the instructions retired since the last call, all at `el`.
    pub fn fold_instructions(&mut self, icount: u64, el: u8) {
        let delta = icount.wrapping_sub(self.last_icount);
        self.last_icount = icount;
        if !self.counts_icount || delta == 0 {
            return;
        }
        if self.cycle_counting(el) {
            let cycles = if self.pmcr & pmcr::D != 0 {
                self.divided += delta;
                let whole = self.divided / 64;
                self.divided %= 64;
                whole
            } else {
                delta
            };
            // The cycle counter is 64 bits wide; it overflows out of bit 31
            // unless PMCR_EL0.LC asks for the whole width.
            let before = self.ccnt;
            let (after, wrapped) = before.overflowing_add(cycles);
            self.ccnt = after;
            let overflow = if self.pmcr & pmcr::LC != 0 {
                wrapped
            } else {
                (before & 0xffff_ffff) + (cycles & 0xffff_ffff) > 0xffff_ffff || cycles >> 32 != 0
            };
            if overflow {
                self.ovs |= CYCLE_BIT;
            }
        }
        for n in 0..COUNTERS {
            if counts_instructions(self.event(n)) && self.counting(n, el) {
                self.add_event(n, delta);
            }
        }
    }

    /// Counts `count` events on event counter `n`: a 32-bit counter whose
    /// overflow sets its flag and feeds an odd neighbour counting CHAIN.
    fn add_event(&mut self, n: usize, count: u64) {
        let before = self.evcnt[n];
        let total = before + count;
        self.evcnt[n] = total & 0xffff_ffff;
        let wraps = total >> 32;
        if wraps > 0 {
            self.ovs |= 1 << n;
            let odd = n | 1;
            if n.is_multiple_of(2)
                && odd < COUNTERS
                && self.event(odd) == event::CHAIN
                && self.pmcr & pmcr::E != 0
                && self.cnten & (1 << odd) != 0
            {
                self.add_event(odd, wraps);
            }
        }
    }

    /// Counts one event `e` on every counter counting it at `el`.
    pub fn count(&mut self, e: u16, el: u8) {
        for n in 0..COUNTERS {
            if self.event(n) == e && self.counting(n, el) {
                self.add_event(n, 1);
            }
        }
    }

    /// Counts an instruction's kinds (LD_RETIRED, ST_RETIRED, MEM_ACCESS,
    /// BR_RETIRED) at `el`.
    pub fn count_kinds(&mut self, kinds: InsnKinds, el: u8) {
        if kinds.load {
            self.count(event::LD_RETIRED, el);
        }
        if kinds.store {
            self.count(event::ST_RETIRED, el);
        }
        if kinds.load || kinds.store {
            self.count(event::MEM_ACCESS, el);
        }
        if kinds.branch {
            self.count(event::BR_RETIRED, el);
        }
    }

    /// The overflow interrupt request: PMCR_EL0.E and an overflow whose
    /// interrupt is enabled.
    pub fn interrupt(&self) -> bool {
        self.pmcr & pmcr::E != 0 && self.ovs & self.inten != 0
    }

    /// Reads a PMU register (instructions folded in by the caller).
    pub fn read(&self, r: Reg) -> u64 {
        match r {
            Reg::Pmcr => (self.pmcr & pmcr::STORED) | pmcr::N,
            Reg::CntenSet | Reg::CntenClr => self.cnten,
            Reg::IntenSet | Reg::IntenClr => self.inten,
            Reg::OvsSet | Reg::OvsClr => self.ovs,
            Reg::Swinc => 0,
            Reg::Selr => self.selr,
            Reg::Ceid0 => event_ids().0,
            Reg::Ceid1 => event_ids().1,
            Reg::Ccntr => self.ccnt,
            Reg::Userenr => self.userenr,
            Reg::Ccfiltr => self.ccfilter,
            Reg::EvCntr(n) => self.evcnt[n],
            Reg::EvTyper(n) => self.evtype[n],
            Reg::XevTyper => match self.selected() {
                Selected::Counter(n) => self.evtype[n],
                Selected::Cycles => self.ccfilter,
                Selected::None => 0,
            },
            Reg::XevCntr => match self.selected() {
                Selected::Counter(n) => self.evcnt[n],
                // PMXEVCNTR with SEL 31 or beyond N: CONSTRAINED UNPREDICTABLE,
                // RAZ/WI here.
                _ => 0,
            },
        }
    }

    /// Writes a PMU register at `el` (instructions folded in by the caller).
    pub fn write(&mut self, r: Reg, v: u64, el: u8) {
        match r {
            Reg::Pmcr => {
                if v & pmcr::C != 0 {
                    self.ccnt = 0;
                }
                if v & pmcr::P != 0 {
                    self.evcnt = [0; COUNTERS];
                }
                self.pmcr = v & pmcr::STORED;
            }
            Reg::CntenSet => self.cnten |= v & COUNTER_MASK,
            Reg::CntenClr => self.cnten &= !(v & COUNTER_MASK),
            Reg::IntenSet => self.inten |= v & COUNTER_MASK,
            Reg::IntenClr => self.inten &= !(v & COUNTER_MASK),
            Reg::OvsSet => self.ovs |= v & COUNTER_MASK,
            Reg::OvsClr => self.ovs &= !(v & COUNTER_MASK),
            Reg::Swinc => {
                for n in 0..COUNTERS {
                    if v & (1 << n) != 0 && self.event(n) == event::SW_INCR && self.counting(n, el)
                    {
                        self.add_event(n, 1);
                    }
                }
            }
            Reg::Selr => self.selr = v & 0x1f,
            Reg::Ceid0 | Reg::Ceid1 => {}
            Reg::Ccntr => self.ccnt = v,
            Reg::Userenr => self.userenr = v & 0xf,
            Reg::Ccfiltr => self.ccfilter = v & FILTER_BITS,
            Reg::EvCntr(n) => self.evcnt[n] = v & 0xffff_ffff,
            Reg::EvTyper(n) => self.evtype[n] = v & (FILTER_BITS | EVENT_MASK),
            Reg::XevTyper => match self.selected() {
                Selected::Counter(n) => self.evtype[n] = v & (FILTER_BITS | EVENT_MASK),
                Selected::Cycles => self.ccfilter = v & FILTER_BITS,
                Selected::None => {}
            },
            Reg::XevCntr => {
                if let Selected::Counter(n) = self.selected() {
                    self.evcnt[n] = v & 0xffff_ffff;
                }
            }
        }
        self.configured();
    }

    /// What PMSELR_EL0.SEL selects.
    fn selected(&self) -> Selected {
        match self.selr as usize {
            31 => Selected::Cycles,
            n if n < COUNTERS => Selected::Counter(n),
            _ => Selected::None,
        }
    }

    /// PMUSERENR_EL0, for EL0 access checks.
    pub fn user_enable(&self) -> u64 {
        self.userenr
    }
}

enum Selected {
    Counter(usize),
    Cycles,
    None,
}

/// Whether filter bits P/U let a counter count at `el`.
fn filter_allows(filter: u64, el: u8) -> bool {
    match el {
        0 => filter & FILTER_U == 0,
        _ => filter & FILTER_P == 0,
    }
}

/// Events left before a `width`-bit counter holding `value` wraps.
fn to_wrap(value: u64, width: u32) -> u64 {
    if width == 64 {
        (!value).saturating_add(1).max(1)
    } else {
        (1u64 << 32) - (value & 0xffff_ffff)
    }
}

#[cfg(test)]
mod tests;
