//! The interpreter: one handler per row family of the decode tables.
//!
//! Handlers follow the ARM ARM's pseudocode; each family shares one helper.

pub mod bitmask;
mod branch;
mod dp;
mod fp;
mod ldst;
pub mod prepared;
mod simd;
mod system;

/// AdvSIMDExpandImm(), for translators.
pub use simd::expand_imm as simd_expand_imm;
pub use system::check_fp_enabled;

pub use system::{debug_read_sysreg, debug_write_sysreg};

use crate::cpu::{Cpu, Exit, Platform};
use crate::decode::Insn;
use crate::exception::Exception;

/// What happens after an instruction.
#[derive(Debug, PartialEq)]
pub enum Flow {
    /// Continue with the next instruction.
    Next,
    /// The handler set the PC.
    Jump,
    /// Return to the board; the PC is already past the instruction.
    Exit(Exit),
}

pub type ExecResult = Result<Flow, Exception>;

/// Executes one decoded instruction with its family's handler (no specialised
/// form): the reference for [`prepared`]'s specialised handlers, and for tests.
pub fn execute(cpu: &mut Cpu, plat: &mut dyn Platform, insn: Insn) -> ExecResult {
    prepared::Prepared::unspecialised(insn).run(cpu, plat)
}
