//! Branches (ARM ARM C4.1.87): immediate, conditional, compare/test, register, ERET.

use super::{ExecResult, Flow};
use crate::cpu::Cpu;
use crate::decode::Insn;
use crate::exception::Exception;

#[inline(always)]
pub(super) fn jump(cpu: &mut Cpu, offset: i64) -> ExecResult {
    cpu.regs.pc = cpu.regs.pc.wrapping_add(offset as u64);
    Ok(Flow::Jump)
}

/// B, BL.
pub fn imm(cpu: &mut Cpu, i: Insn) -> ExecResult {
    if i.bit(31) {
        cpu.regs.x[30] = cpu.regs.pc.wrapping_add(4);
    }
    jump(cpu, i.sbits(25, 0) << 2)
}

/// B.cond.
pub fn cond(cpu: &mut Cpu, i: Insn) -> ExecResult {
    if cpu.regs.condition_holds(i.bits(3, 0)) {
        jump(cpu, i.sbits(23, 5) << 2)
    } else {
        Ok(Flow::Next)
    }
}

/// CBZ, CBNZ.
pub fn cbz(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let mut x = cpu.regs.xr(i.rt());
    if !i.sf() {
        x &= 0xffff_ffff;
    }
    if (x == 0) != i.bit(24) {
        jump(cpu, i.sbits(23, 5) << 2)
    } else {
        Ok(Flow::Next)
    }
}

/// TBZ, TBNZ.
pub fn tbz(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let bit = (i.bits(31, 31) << 5) | i.bits(23, 19);
    let set = (cpu.regs.xr(i.rt()) >> bit) & 1 == 1;
    if set == i.bit(24) {
        jump(cpu, i.sbits(18, 5) << 2)
    } else {
        Ok(Flow::Next)
    }
}

/// BR, BLR, RET.
pub fn reg(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let target = cpu.regs.xr(i.rn());
    if i.bits(22, 21) == 1 {
        cpu.regs.x[30] = cpu.regs.pc.wrapping_add(4);
    }
    cpu.regs.pc = target;
    Ok(Flow::Jump)
}

/// ERET: UNDEFINED at EL0.
pub fn eret(cpu: &mut Cpu) -> ExecResult {
    if cpu.regs.el == 0 {
        return Err(Exception::Undefined);
    }
    cpu.pmu_exception_return();
    cpu.exception_return();
    Ok(Flow::Jump)
}
