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
use crate::mmu::TlbEntry;
use crate::state::Regs;
use std::ffi::c_void;

/// What translated code is called with. `#[repr(C)]`: generated code reads
/// the fields at the offsets below.
#[repr(C)]
pub struct NativeContext {
    /// The guest registers of the running vCPU.
    pub regs: *mut Regs,
    /// The TLB entries for the running EL's ordinary (not unprivileged)
    /// accesses.
    pub tlb: *const TlbEntry,
    /// The running vCPU (`*mut Cpu`), for helpers.
    pub cpu: *mut c_void,
    /// The board (`*mut &mut dyn Platform`), for helpers.
    pub plat: *mut c_void,
    /// Non-zero if SIMD&FP instructions may run at the current EL
    /// (CPACR_EL1.FPEN); they go to the interpreter (which traps) otherwise.
    pub fp_enabled: u64,
}

impl NativeContext {
    pub const REGS: usize = std::mem::offset_of!(NativeContext, regs);
    pub const TLB: usize = std::mem::offset_of!(NativeContext, tlb);
    pub const FP_ENABLED: usize = std::mem::offset_of!(NativeContext, fp_enabled);
}

/// Translated code for one block. It returns [`packed`] outcome.
pub type NativeFn = unsafe extern "C" fn(*mut NativeContext) -> u64;

/// The outcome translated code returns: instructions retired, and how the
/// last one ended (the [`Step`] a handler would have returned). With
/// [`Step::Next`], the block ran to its end and set the PC past it; with
/// [`Step::Jump`], the last instruction set the PC; with [`Step::Stop`], the
/// PC is the last instruction's and its outcome is parked in the CPU.
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
    /// Host code for the block of `insns` (in order, from its first PC), or
    /// `None` to leave it to the interpreter.
    fn translate(&mut self, insns: &[Insn]) -> Option<NativeFn>;
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
    Ready(u64, NativeFn),
}

impl Default for NativeState {
    fn default() -> Self {
        NativeState::Cold(0)
    }
}

/// How many times a block runs interpreted before it is translated: code
/// that runs once (boot, initialisation) is not worth translating.
pub const HOT_THRESHOLD: u32 = 8;
