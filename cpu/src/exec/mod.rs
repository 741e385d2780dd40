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

pub use system::{debug_read_sysreg, debug_write_sysreg};

use crate::cpu::{Cpu, Exit, Platform};
use crate::decode::{Insn, Op};
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

/// Executes one decoded instruction.
#[inline(always)]
pub fn execute(cpu: &mut Cpu, plat: &mut dyn Platform, insn: Insn) -> ExecResult {
    use Op::*;
    match insn.op {
        Unallocated | DebugOnly => Err(Exception::Undefined),
        Adr | Adrp => dp::adr(cpu, insn),
        AddSubImm => dp::add_sub_imm(cpu, insn),
        LogicalImm => dp::logical_imm(cpu, insn),
        Movn | Movz | Movk => dp::move_wide(cpu, insn),
        Sbfm | Bfm | Ubfm => dp::bitfield(cpu, insn),
        Extr => dp::extr(cpu, insn),
        LogicalReg => dp::logical_reg(cpu, insn),
        AddSubShifted => dp::add_sub_shifted(cpu, insn),
        AddSubExt => dp::add_sub_ext(cpu, insn),
        AdcSbc => dp::adc_sbc(cpu, insn),
        CondCmpReg | CondCmpImm => dp::cond_compare(cpu, insn),
        CondSel => dp::cond_select(cpu, insn),
        Madd => dp::madd(cpu, insn),
        MulLong => dp::mul_long(cpu, insn),
        MulHigh => dp::mul_high(cpu, insn),
        Udiv | Sdiv => dp::divide(cpu, insn),
        ShiftV => dp::shift_variable(cpu, insn),
        Crc32 => dp::crc32(cpu, insn),
        Rbit | Rev16 | Rev | Rev32 | Clz | Cls => dp::one_source(cpu, insn),
        B | Bl => branch::imm(cpu, insn),
        BCond => branch::cond(cpu, insn),
        Cbz => branch::cbz(cpu, insn),
        Tbz => branch::tbz(cpu, insn),
        Br | Blr | Ret => branch::reg(cpu, insn),
        Eret => branch::eret(cpu),
        Svc | Hvc | Smc | Brk | Hlt => system::exception_generating(cpu, insn),
        MsrImm => system::msr_imm(cpu, insn),
        Hint => system::hint(cpu, plat, insn),
        Clrex => {
            cpu.monitor = None;
            Ok(Flow::Next)
        }
        Barrier | Isb => Ok(Flow::Next),
        Sys | Sysl => system::sys(cpu, plat, insn),
        Msr | Mrs => system::msr_mrs(cpu, plat, insn),
        LoadExcl | StoreExcl | LoadExclPair | StoreExclPair => ldst::exclusive(cpu, plat, insn),
        LoadAcquire | StoreRelease => ldst::acquire_release(cpu, plat, insn),
        Cas => ldst::cas(cpu, plat, insn),
        Casp => ldst::casp(cpu, plat, insn),
        Atomic => ldst::atomic(cpu, plat, insn),
        LdrLiteral => ldst::literal(cpu, plat, insn),
        LdstPair => ldst::pair(cpu, plat, insn),
        LdstImm9 | LdstRegOff | LdstUimm => ldst::single(cpu, plat, insn),
        LdrLiteralFp | LdstPairFp | LdstImm9Fp | LdstRegOffFp | LdstUimmFp => {
            ldst::fp(cpu, plat, insn)
        }
        Fp(op) => fp::execute(cpu, plat, insn, op),
        Simd(op) => simd::execute(cpu, plat, insn, op),
    }
}
