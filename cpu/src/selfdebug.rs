//! Self-hosted debug (ARM ARM D2): the guest's own hardware breakpoints,
//! watchpoints and software step, as a debugger inside the guest (gdb through
//! ptrace, kgdb) programs them. Pure functions of the debug registers and
//! PSTATE; the run loop (cpu.rs) asks them where the architecture says a
//! debug event is checked.
//!
//! The model: ARMv8.0 debug with no EL2 or EL3, so debug exceptions target
//! EL1, HMC and SSC select nothing beyond EL1/EL0, and security state is not
//! modelled. 6 breakpoints (the last one context-aware), 4 watchpoints.
//! Register combinations the architecture calls reserved or CONSTRAINED
//! UNPREDICTABLE match nothing (a permitted behaviour), so a guest can write
//! anything without harm.

use crate::state::{Regs, DAIF_D};
use crate::sysreg::SysRegs;
pub use crate::sysreg::{BREAKPOINTS, WATCHPOINTS};
/// Breakpoints from this number on can match CONTEXTIDR_EL1
/// (ID_AA64DFR0_EL1.CTX_CMPs + 1 of them, the highest-numbered).
pub const FIRST_CONTEXT_BREAKPOINT: usize = BREAKPOINTS - 1;

/// MDSCR_EL1 bits.
pub mod mdscr {
    /// Software step enable.
    pub const SS: u64 = 1 << 0;
    /// Traps EL0 accesses to the debug communication channel.
    pub const TDCC: u64 = 1 << 12;
    /// Debug exceptions from EL1 (with PSTATE.D clear).
    pub const KDE: u64 = 1 << 13;
    /// Breakpoint and watchpoint debug exceptions.
    pub const MDE: u64 = 1 << 15;
    /// The bits software can write: also HDE (14) and INTdis (23:22), kept
    /// but without effect (no external debugger, no EL2).
    pub const WRITABLE: u64 = SS | TDCC | KDE | MDE | (1 << 14) | (3 << 22);
}

/// Writable bits of DBGBCR<n>_EL1: E, PMC, BAS, HMC, SSC, LBN, BT.
pub const BCR_WRITABLE: u64 = 0x00ff_e1e7;
/// Writable bits of DBGWCR<n>_EL1: E, PAC, LSC, BAS, HMC, SSC, LBN, WT, MASK.
pub const WCR_WRITABLE: u64 = 0x1f1f_ffff;
/// Writable bits of DBGBVR/DBGWVR: a 49-bit VA (bits 63:49 sign-extend it)
/// with bits 1:0 RES0; context-ID breakpoints use bits 31:0.
pub const VR_WRITABLE: u64 = !3;

/// What the debug registers have armed, recomputed whenever one changes, so
/// that the run loop pays nothing while the guest debugs nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Armed {
    /// Some breakpoint is enabled (MDE set, OS lock clear).
    pub breakpoints: bool,
    /// MDSCR_EL1.SS is set (and the OS lock clear).
    pub step: bool,
    /// Virtual-address ranges `[start, end)` of enabled watchpoints; pages
    /// touching them take the memory slow path, which checks them.
    pub watch_ranges: [(u64, u64); WATCHPOINTS],
    pub watch_count: usize,
}

impl Armed {
    pub fn of(sys: &SysRegs) -> Armed {
        let mut armed = Armed::default();
        if os_locked(sys) {
            return armed;
        }
        armed.step = sys.mdscr & mdscr::SS != 0;
        if sys.mdscr & mdscr::MDE == 0 {
            return armed;
        }
        armed.breakpoints = sys.dbgbcr.iter().any(|c| c & 1 != 0);
        for n in 0..WATCHPOINTS {
            if let Some(range) = watch_range(sys, n) {
                armed.watch_ranges[armed.watch_count] = range;
                armed.watch_count += 1;
            }
        }
        armed
    }

    /// Whether every instruction must be looked at before it runs.
    #[inline(always)]
    pub fn per_instruction(&self) -> bool {
        self.breakpoints || self.step
    }

    /// Whether a watchpoint covers part of the 4 KiB page at `page`.
    pub fn watches_page(&self, page: u64) -> bool {
        self.watch_ranges[..self.watch_count]
            .iter()
            .any(|&(start, end)| start < page.wrapping_add(0x1000) && end > page)
    }
}

/// The OS lock or the OS double lock is set: no debug exceptions but BRK.
pub fn os_locked(sys: &SysRegs) -> bool {
    sys.oslsr & 2 != 0 || (sys.osdlr & 1 != 0 && sys.dbgprcr & 1 == 0)
}

/// Whether debug exceptions (other than BRK) can be generated at `el` with
/// PSTATE.D `d_masked` (AArch64.GenerateDebugExceptionsFrom, target EL1).
pub fn enabled_from(sys: &SysRegs, el: u8, d_masked: bool) -> bool {
    if os_locked(sys) {
        return false;
    }
    el == 0 || (sys.mdscr & mdscr::KDE != 0 && !d_masked)
}

/// Whether debug exceptions can be generated now.
pub fn enabled(sys: &SysRegs, regs: &Regs) -> bool {
    enabled_from(sys, regs.el, regs.daif & DAIF_D != 0)
}

/// Software step is active at the current EL: each instruction run with
/// PSTATE.SS set is followed by a Software Step exception.
pub fn step_active(sys: &SysRegs, regs: &Regs) -> bool {
    sys.mdscr & mdscr::SS != 0 && enabled(sys, regs)
}

/// PSTATE.SS after an exception return with `spsr` (DebugExceptionReturnSS):
/// SPSR.SS if software step is active at the EL returned to, else 0.
pub fn return_ss(sys: &SysRegs, spsr: u64, target_el: u8) -> u8 {
    let d_masked = spsr & DAIF_D as u64 != 0;
    let active = sys.mdscr & mdscr::SS != 0 && enabled_from(sys, target_el, d_masked);
    (active && spsr & (1 << 21) != 0) as u8
}

/// The PMC/PAC field (bits 2:1) with HMC and SSC: whether a breakpoint or
/// watchpoint applies at `el`. Without EL2/EL3 only HMC=0 and SSC=00 (or
/// 01/11, which name the security state armvm always has) are meaningful.
fn state_matches(ctrl: u64, el: u8) -> bool {
    let (pmc, hmc, ssc) = ((ctrl >> 1) & 3, (ctrl >> 13) & 1, (ctrl >> 14) & 3);
    if hmc != 0 || ssc == 2 {
        return false;
    }
    match el {
        0 => pmc & 2 != 0,
        _ => pmc & 1 != 0,
    }
}

/// A DBGBVR/DBGWVR address: bits 48:2, sign-extended from bit 48.
fn vr_address(v: u64) -> u64 {
    (((v << 15) as i64) >> 15) as u64 & !3
}

/// Breakpoint `n` as a context-ID comparator: whether CONTEXTIDR_EL1 matches.
fn context_matches(sys: &SysRegs, n: usize) -> bool {
    n >= FIRST_CONTEXT_BREAKPOINT && sys.dbgbvr[n] & 0xffff_ffff == sys.contextidr & 0xffff_ffff
}

/// Whether breakpoint `n` fires for an instruction at `pc` fetched at `el`
/// (AArch64.BreakpointMatch). Types: unlinked and linked address match
/// (BAS must be 0b1111: A64 instructions are 4 bytes), unlinked context-ID
/// match; the rest (mismatch, VMID, linked context as a breakpoint of its own)
/// match nothing.
fn breakpoint_matches(sys: &SysRegs, n: usize, pc: u64, el: u8) -> bool {
    let ctrl = sys.dbgbcr[n];
    if ctrl & 1 == 0 || !state_matches(ctrl, el) {
        return false;
    }
    let bt = (ctrl >> 20) & 0xf;
    let address = || (ctrl >> 5) & 0xf == 0xf && vr_address(sys.dbgbvr[n]) == pc & !3;
    match bt {
        0b0000 => address(),
        0b0001 => {
            // Linked to a context-ID breakpoint (type 0b0011) numbered LBN.
            let lbn = ((ctrl >> 16) & 0xf) as usize;
            let linked_ok = (FIRST_CONTEXT_BREAKPOINT..BREAKPOINTS).contains(&lbn)
                && sys.dbgbcr[lbn] & 1 != 0
                && (sys.dbgbcr[lbn] >> 20) & 0xf == 0b0011;
            address() && linked_ok && context_matches(sys, lbn)
        }
        0b0010 => context_matches(sys, n),
        _ => false,
    }
}

/// Whether a breakpoint fires for the instruction at `pc`, given that debug
/// exceptions are enabled.
pub fn breakpoint_hit(sys: &SysRegs, pc: u64, el: u8) -> bool {
    (0..BREAKPOINTS).any(|n| breakpoint_matches(sys, n, pc, el))
}

/// The bytes watchpoint `n` covers, as `[start, end)`, if it is enabled and
/// well-formed: a MASK range (MASK >= 3, BAS all ones) or the bytes BAS
/// selects in the doubleword (or word, when DBGWVR bit 2 is set) at DBGWVR.
fn watch_range(sys: &SysRegs, n: usize) -> Option<(u64, u64)> {
    let ctrl = sys.dbgwcr[n];
    if ctrl & 1 == 0 || (ctrl >> 3) & 3 == 0 {
        return None;
    }
    let addr = vr_address(sys.dbgwvr[n]);
    let mask = (ctrl >> 24) & 0x1f;
    let bas = (ctrl >> 5) & 0xff;
    if mask != 0 {
        if mask < 3 || bas != 0xff {
            return None;
        }
        let start = addr & !((1u64 << mask) - 1);
        return Some((start, start.wrapping_add(1 << mask)));
    }
    let bytes = byte_select(addr, bas)?;
    let base = addr & !7;
    let first = bytes.trailing_zeros() as u64;
    let last = 7 - bytes.leading_zeros() as u64;
    Some((base + first, base + last + 1))
}

/// The bytes of the doubleword at `addr & !7` that BAS selects, as a bit set.
/// With DBGWVR bit 2 set, BAS[3:0] select bytes 4-7 and BAS[7:4] must be 0.
fn byte_select(addr: u64, bas: u64) -> Option<u8> {
    let bytes = if addr & 4 != 0 {
        if bas & 0xf0 != 0 {
            return None;
        }
        (bas << 4) as u8
    } else {
        bas as u8
    };
    (bytes != 0).then_some(bytes)
}

/// Whether watchpoint `n` fires for an access of `size` bytes at `va`
/// (AArch64.WatchpointMatch); the first watched byte accessed if so.
fn watchpoint_matches(
    sys: &SysRegs,
    n: usize,
    va: u64,
    size: u64,
    el: u8,
    write: bool,
) -> Option<u64> {
    let ctrl = sys.dbgwcr[n];
    let lsc = (ctrl >> 3) & 3;
    let kind_ok = if write { lsc & 2 != 0 } else { lsc & 1 != 0 };
    if !kind_ok || !state_matches(ctrl, el) {
        return None;
    }
    let (start, end) = watch_range(sys, n)?;
    let addr = vr_address(sys.dbgwvr[n]);
    let bytes = byte_select(addr, (ctrl >> 5) & 0xff);
    let masked = (ctrl >> 24) & 0x1f != 0;
    (0..size).map(|i| va.wrapping_add(i)).find(|&b| {
        if masked {
            b >= start && b < end
        } else {
            b & !7 == addr & !7 && bytes.is_some_and(|s| s & (1 << (b & 7)) != 0)
        }
    })
}

/// The first watched byte of an access of `size` bytes at `va` made with the
/// privilege of `el` (0 for LDTR/STTR), if a watchpoint fires for it and
/// debug exceptions are enabled; for FAR_EL1.
pub fn watchpoint_hit(
    sys: &SysRegs,
    regs: &Regs,
    va: u64,
    size: u64,
    el: u8,
    write: bool,
) -> Option<u64> {
    if sys.mdscr & mdscr::MDE == 0 || !enabled(sys, regs) {
        return None;
    }
    (0..WATCHPOINTS).find_map(|n| watchpoint_matches(sys, n, va, size, el, write))
}

#[cfg(test)]
mod tests;
