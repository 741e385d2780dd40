//! The contract between the run loop and a translator of guest code into host
//! code (the `armvm-jit` crate): what translated code is handed, what it
//! returns, and how a translator is asked for it.
//!
//! Translated code runs a whole block on the run loop's fast path, exactly as
//! [`crate::exec::prepared`] handlers would one after another: it keeps the
//! guest registers in [`Regs`] at every point where it can leave, and it
//! leaves with the outcome of the instruction that ended it.

use crate::decode::Insn;
use crate::exec::prepared::Step;
use crate::mmu::{TlbDetail, TlbEntry};
use crate::state::Regs;
use std::ffi::c_void;

/// What translated code is called with. `#[repr(C)]`: generated code reads
/// the fields at the offsets below.
#[repr(C)]
pub struct NativeContext {
    /// The guest registers of the running vCPU.
    pub regs: *mut Regs,
    /// The TLB entries for the running EL's ordinary (not unprivileged)
    /// accesses, and their cold halves.
    pub tlb: *const TlbEntry,
    pub tlb_details: *const TlbDetail,
    /// The running vCPU (`*mut Cpu`), for helpers.
    pub cpu: *mut c_void,
    /// The board (`*mut &mut dyn Platform`), for helpers.
    pub plat: *mut c_void,
    /// Non-zero if SIMD&FP instructions may run at the current EL
    /// (CPACR_EL1.FPEN); they go to the interpreter (which traps) otherwise.
    pub fp_enabled: u64,
    /// Instructions the run may retire in all (blocks chain onwards only
    /// while they fit).
    pub budget: u64,
    /// Instructions retired by the blocks that chained onwards (the last
    /// block's own count is in its outcome).
    pub retired: u64,
    /// The vCPU's instruction count when the run began: helpers that run an
    /// instruction in the interpreter set the count to this plus `retired`
    /// first, as the interpreter's block loop has it (the PMU reads it).
    pub icount_base: u64,
    /// The machine's code version, which changes whenever decoded code is
    /// dropped; links made before are not followed.
    pub code_version: *const u64,
    /// The vCPU's "interrupt lines may have changed" flag (a byte, non-zero
    /// when set): chaining stops so that the run loop looks.
    pub interrupts: *const u8,
    /// Set by an exit that could chain to the next block but was not linked
    /// yet: the run loop links it once it knows that block.
    pub exit_slot: *mut ChainSlot,
}

/// A direct exit's link to the next block, inside translated code: followed
/// while the code version is the one it was made in (no block was dropped
/// since). The next block's chain entry checks that the TLB still maps its
/// PC to the physical page it was decoded from, so links survive TLB
/// flushes and are shared by vCPUs.
#[repr(C)]
pub struct ChainSlot {
    /// Where the exit jumps: the next block's chain entry, or the exit's own
    /// return to the run loop.
    pub target: u64,
    pub code_version: u64,
}

impl ChainSlot {
    pub const TARGET: usize = std::mem::offset_of!(ChainSlot, target);
    pub const CODE_VERSION: usize = std::mem::offset_of!(ChainSlot, code_version);
}

impl NativeContext {
    pub const REGS: usize = std::mem::offset_of!(NativeContext, regs);
    pub const TLB: usize = std::mem::offset_of!(NativeContext, tlb);
    pub const TLB_DETAILS: usize = std::mem::offset_of!(NativeContext, tlb_details);
    pub const FP_ENABLED: usize = std::mem::offset_of!(NativeContext, fp_enabled);
    pub const BUDGET: usize = std::mem::offset_of!(NativeContext, budget);
    pub const RETIRED: usize = std::mem::offset_of!(NativeContext, retired);
    pub const CODE_VERSION: usize = std::mem::offset_of!(NativeContext, code_version);
    pub const INTERRUPTS: usize = std::mem::offset_of!(NativeContext, interrupts);
    pub const EXIT_SLOT: usize = std::mem::offset_of!(NativeContext, exit_slot);
}

/// Translated code for one block. It returns [`packed`] outcome.
pub type NativeFn = unsafe extern "C" fn(*mut NativeContext) -> u64;

/// A translated block's entry points.
#[derive(Clone, Copy, Debug)]
pub struct NativeCode {
    /// Called by the run loop.
    pub entry: NativeFn,
    /// Jumped to by the block before, from inside its code (a [`ChainSlot`]
    /// holds it): checks the budget, the interrupt flag and the TLB's
    /// mapping of the PC, then runs the block in the caller's frame.
    pub chain_entry: u64,
}

/// The outcome translated code returns: instructions retired, and how the
/// last one ended (the [`Step`] a handler would have returned). With
/// [`Step::Next`], the block ran to its end and set the PC past it; with
/// [`Step::Jump`], the last instruction set the PC; with [`Step::Stop`], the
/// PC is the last instruction's and its outcome is parked in the CPU. The
/// count is the last block's: blocks chained onwards before it add theirs to
/// [`NativeContext::retired`].
pub const fn packed(retired: u64, step: Step) -> u64 {
    (retired << 8) | step as u64
}

/// Splits a [`packed`] outcome.
pub fn unpack(outcome: u64) -> (u64, Step) {
    let step = match outcome & 0xff {
        0 => Step::Next,
        1 => Step::Jump,
        _ => Step::Stop,
    };
    (outcome >> 8, step)
}

/// Something that turns blocks into host code.
pub trait Translator {
    /// Host code for the block of `insns` (in order, from its first PC),
    /// decoded from physical address `pa`, or `None` to leave it to the
    /// interpreter.
    fn translate(&mut self, insns: &[Insn], pa: u64) -> Option<NativeCode>;
    /// Changes whenever code returned earlier stops being valid (the code
    /// cache was flushed).
    fn epoch(&self) -> u64;
    /// Statistics for `--stats`, as (name, value).
    fn statistics(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// How far a block has come towards translation.
#[derive(Clone, Copy, Debug)]
pub enum NativeState {
    /// Not translated: the number of times it ran.
    Cold(u32),
    /// The translator declined it in this epoch.
    Declined(u64),
    /// Translated in this epoch.
    Ready(u64, NativeCode),
}

impl Default for NativeState {
    fn default() -> Self {
        NativeState::Cold(0)
    }
}

/// How many times a block runs interpreted before it is translated: code
/// that runs once (boot, initialisation) is not worth translating.
pub const HOT_THRESHOLD: u32 = 8;
