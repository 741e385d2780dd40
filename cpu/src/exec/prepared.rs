//! Instructions prepared for the interpreter.
//!
//! When a block is decoded, each instruction gets a handler chosen for its exact
//! form (operation, operand size, shift kind, whether it sets flags) with its
//! register numbers and immediates extracted once. Running it is then one
//! indirect call into a few lines of straight code, instead of a dispatch on the
//! operation followed by a re-decode of the word on every execution.
//!
//! Only the forms that dominate real code get their own handler; every other
//! instruction runs its family's handler ([`super::execute`] runs only those).
//! The two must agree exactly: `tests` runs both on random words and random
//! states and compares.

use super::bitmask::decode_bit_masks;
use super::branch::jump;
use super::dp::{add_sub, extend_reg, logic_flags, shift_reg, sized};
use super::ldst::{base, iss, transfer_pair, transfer_single};
use super::{ExecResult, Flow};
use crate::cpu::{Access, Cpu, Platform};
use crate::decode::{Insn, Op};
use crate::exception::Exception;
use crate::state::condition_holds;

/// Runs one prepared instruction.
pub type Handler = fn(&mut Cpu, &mut dyn Platform, &Prepared) -> Step;

/// What a handler tells the run loop. One byte, so that it comes back in a
/// register: the rare outcomes (an exception, a return to the board) are parked
/// in the CPU instead of widening the result of every instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    /// Continue with the next instruction.
    Next,
    /// The handler set the PC.
    Jump,
    /// The outcome is parked in the CPU: take it with [`Cpu::take_parked`].
    Stop,
}

/// Turns an executor's result into a step, parking the rare outcomes.
#[inline(always)]
fn park(cpu: &mut Cpu, result: ExecResult) -> Step {
    match result {
        Ok(Flow::Next) => Step::Next,
        Ok(Flow::Jump) => Step::Jump,
        other => {
            cpu.park(other);
            Step::Stop
        }
    }
}

/// `expr?` for a handler: an exception is parked and the handler stops.
macro_rules! or_stop {
    ($cpu:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return park($cpu, Err(e)),
        }
    };
}

/// A family handler: an executor call (a closure returning [`ExecResult`])
/// wrapped to return a [`Step`].
macro_rules! stepped {
    (|$c:tt, $pl:tt, $p:tt| $body:expr) => {
        |cpu: &mut Cpu, plat: &mut dyn Platform, prepared: &Prepared| -> Step {
            let run = |$c: &mut Cpu, $pl: &mut dyn Platform, $p: &Prepared| -> ExecResult { $body };
            let result = run(cpu, plat, prepared);
            park(cpu, result)
        }
    };
}

/// A decoded instruction with its handler and pre-extracted operands. What the
/// operand fields mean depends on the handler that was chosen.
#[derive(Clone, Copy)]
pub struct Prepared {
    handler: Handler,
    /// The instruction itself, for tracing and for the generic handler.
    pub insn: Insn,
    imm: u64,
    /// The data-abort syndrome of a load or store (ISS bits 24:14).
    iss: u32,
    d: u8,
    n: u8,
    m: u8,
    aux: u8,
}

impl Prepared {
    /// Chooses the handler for `insn` and extracts its operands.
    pub fn new(insn: Insn) -> Prepared {
        let unspecialised = Prepared::unspecialised(insn);
        specialise(unspecialised).unwrap_or(unspecialised)
    }

    /// `insn` with its family's handler: the reference that the specialised
    /// handlers must agree with.
    pub fn unspecialised(insn: Insn) -> Prepared {
        Prepared {
            handler: family(insn.op),
            insn,
            imm: 0,
            iss: 0,
            d: insn.rd() as u8,
            n: insn.rn() as u8,
            m: insn.rm() as u8,
            aux: 0,
        }
    }

    /// Executes the instruction; a [`Step::Stop`] leaves its outcome parked.
    #[inline(always)]
    pub fn step(&self, cpu: &mut Cpu, plat: &mut dyn Platform) -> Step {
        (self.handler)(cpu, plat, self)
    }

    /// Executes the instruction and returns its whole result.
    #[inline(always)]
    pub fn run(&self, cpu: &mut Cpu, plat: &mut dyn Platform) -> ExecResult {
        match self.step(cpu, plat) {
            Step::Next => Ok(Flow::Next),
            Step::Jump => Ok(Flow::Jump),
            Step::Stop => cpu.take_parked(),
        }
    }

    /// Whether a handler specialised for this form (not its family's) runs it.
    pub fn is_specialised(&self) -> bool {
        specialise(Prepared::unspecialised(self.insn)).is_some()
    }

    fn with(self, handler: Handler) -> Prepared {
        Prepared { handler, ..self }
    }

    /// Fuses a compare with the B.cond that follows it (`subs x0, x0, #1;
    /// b.ne 1b`, `cmp x1, x2; b.lo 2f`, the end of most loops) into one
    /// handler that runs both: the form of `self` to put in its place, or `None`
    /// if the pair has no fused form. The fused handler counts the branch as
    /// retired and always ends the block (the B.cond is the block's last
    /// instruction), so the B.cond's own entry is skipped. Only the run loop's
    /// fast path may run it: single steps and breakpoints need the pair apart.
    pub fn fused_with(&self, branch: &Prepared) -> Option<Prepared> {
        let i = self.insn;
        if branch.insn.op != Op::BCond || !i.bit(29) || !self.is_specialised() {
            return None;
        }
        let (sf, sub) = (i.sf(), i.bit(30));
        let handler: Handler = match i.op {
            Op::AddSubImm => match (sf, sub) {
                (true, true) => compare_imm_branch::<true, true>,
                (true, false) => compare_imm_branch::<true, false>,
                (false, true) => compare_imm_branch::<false, true>,
                (false, false) => compare_imm_branch::<false, false>,
            },
            // Register operand, unshifted.
            Op::AddSubShifted if self.aux == 0 => match (sf, sub) {
                (true, true) => compare_reg_branch::<true, true>,
                (true, false) => compare_reg_branch::<true, false>,
                (false, true) => compare_reg_branch::<false, true>,
                (false, false) => compare_reg_branch::<false, false>,
            },
            _ => return None,
        };
        // The branch's offset from the compare's PC (it fits: B.cond reaches
        // +-1 MiB).
        let offset = (branch.imm as i64).wrapping_add(4);
        Some(Prepared {
            iss: offset as i32 as u32,
            aux: branch.aux,
            ..self.with(handler)
        })
    }
}

/// The handler of the family of `op`: one row per operation, the interpreter's
/// dispatch table. Forms without a specialised handler run it.
fn family(op: Op) -> Handler {
    use super::{branch, dp, fp, ldst, simd, system};
    use Op::*;
    match op {
        Unallocated | DebugOnly => stepped!(|_, _, _| Err(Exception::Undefined)),
        Adr | Adrp => stepped!(|c, _, p| dp::adr(c, p.insn)),
        AddSubImm => stepped!(|c, _, p| dp::add_sub_imm(c, p.insn)),
        LogicalImm => stepped!(|c, _, p| dp::logical_imm(c, p.insn)),
        Movn | Movz | Movk => stepped!(|c, _, p| dp::move_wide(c, p.insn)),
        Sbfm | Bfm | Ubfm => stepped!(|c, _, p| dp::bitfield(c, p.insn)),
        Extr => stepped!(|c, _, p| dp::extr(c, p.insn)),
        LogicalReg => stepped!(|c, _, p| dp::logical_reg(c, p.insn)),
        AddSubShifted => stepped!(|c, _, p| dp::add_sub_shifted(c, p.insn)),
        AddSubExt => stepped!(|c, _, p| dp::add_sub_ext(c, p.insn)),
        AdcSbc => stepped!(|c, _, p| dp::adc_sbc(c, p.insn)),
        CondCmpReg | CondCmpImm => stepped!(|c, _, p| dp::cond_compare(c, p.insn)),
        CondSel => stepped!(|c, _, p| dp::cond_select(c, p.insn)),
        Madd => stepped!(|c, _, p| dp::madd(c, p.insn)),
        MulLong => stepped!(|c, _, p| dp::mul_long(c, p.insn)),
        MulHigh => stepped!(|c, _, p| dp::mul_high(c, p.insn)),
        Udiv | Sdiv => stepped!(|c, _, p| dp::divide(c, p.insn)),
        ShiftV => stepped!(|c, _, p| dp::shift_variable(c, p.insn)),
        Crc32 => stepped!(|c, _, p| dp::crc32(c, p.insn)),
        Rbit | Rev16 | Rev | Rev32 | Clz | Cls => stepped!(|c, _, p| dp::one_source(c, p.insn)),
        B | Bl => stepped!(|c, _, p| branch::imm(c, p.insn)),
        BCond => stepped!(|c, _, p| branch::cond(c, p.insn)),
        Cbz => stepped!(|c, _, p| branch::cbz(c, p.insn)),
        Tbz => stepped!(|c, _, p| branch::tbz(c, p.insn)),
        Br | Blr | Ret => stepped!(|c, _, p| branch::reg(c, p.insn)),
        Eret => stepped!(|c, _, _| branch::eret(c)),
        Svc | Hvc | Smc | Brk | Hlt => stepped!(|c, _, p| system::exception_generating(c, p.insn)),
        MsrImm => stepped!(|c, _, p| system::msr_imm(c, p.insn)),
        Hint => stepped!(|c, pl, p| system::hint(c, pl, p.insn)),
        Clrex => |c, _, _| {
            c.monitor = None;
            Step::Next
        },
        Barrier | Isb => no_operation,
        Sys | Sysl => stepped!(|c, pl, p| system::sys(c, pl, p.insn)),
        Msr | Mrs => stepped!(|c, pl, p| system::msr_mrs(c, pl, p.insn)),
        LoadExcl | StoreExcl | LoadExclPair | StoreExclPair => {
            stepped!(|c, pl, p| ldst::exclusive(c, pl, p.insn))
        }
        LoadAcquire | StoreRelease => stepped!(|c, pl, p| ldst::acquire_release(c, pl, p.insn)),
        Cas => stepped!(|c, pl, p| ldst::cas(c, pl, p.insn)),
        Casp => stepped!(|c, pl, p| ldst::casp(c, pl, p.insn)),
        Atomic => stepped!(|c, pl, p| ldst::atomic(c, pl, p.insn)),
        LdrLiteral => stepped!(|c, pl, p| ldst::literal(c, pl, p.insn)),
        LdstPair => stepped!(|c, pl, p| ldst::pair(c, pl, p.insn)),
        LdstImm9 | LdstRegOff | LdstUimm => stepped!(|c, pl, p| ldst::single(c, pl, p.insn)),
        LdrLiteralFp | LdstPairFp | LdstImm9Fp | LdstRegOffFp | LdstUimmFp => {
            stepped!(|c, pl, p| ldst::fp(c, pl, p.insn))
        }
        // The operation is read again from the instruction (always Fp or Simd
        // here): a handler is a plain function pointer and carries no data.
        Fp(_) => stepped!(|c, pl, p| match p.insn.op {
            Fp(op) => fp::execute(c, pl, p.insn, op),
            _ => Err(Exception::Undefined),
        }),
        Simd(_) => stepped!(|c, pl, p| match p.insn.op {
            Simd(op) => simd::execute(c, pl, p.insn, op),
            _ => Err(Exception::Undefined),
        }),
    }
}

/// Picks a specialised handler, or `None` to run the family's.
fn specialise(p: Prepared) -> Option<Prepared> {
    let i = p.insn;
    let sf = i.sf();
    match i.op {
        Op::AddSubImm => {
            let imm = (i.bits(21, 10) as u64) << (12 * i.bits(22, 22));
            let h: Handler = match (sf, i.bit(30), i.bit(29)) {
                (true, false, false) => add_sub_imm::<true, false, false>,
                (true, false, true) => add_sub_imm::<true, false, true>,
                (true, true, false) => add_sub_imm::<true, true, false>,
                (true, true, true) => add_sub_imm::<true, true, true>,
                (false, false, false) => add_sub_imm::<false, false, false>,
                (false, false, true) => add_sub_imm::<false, false, true>,
                (false, true, false) => add_sub_imm::<false, true, false>,
                (false, true, true) => add_sub_imm::<false, true, true>,
            };
            Some(Prepared { imm, ..p.with(h) })
        }
        Op::AddSubShifted => {
            let amount = i.bits(15, 10);
            if (!sf && amount >= 32) || i.bits(23, 22) == 3 {
                return None;
            }
            let h = add_sub_shifted_handler(sf, i.bit(30), i.bit(29), i.bits(23, 22))?;
            Some(Prepared {
                aux: amount as u8,
                ..p.with(h)
            })
        }
        Op::LogicalReg => {
            let amount = i.bits(15, 10);
            if !sf && amount >= 32 {
                return None;
            }
            let h = logical_reg_handler(sf, i.bits(30, 29), i.bit(21), i.bits(23, 22))?;
            Some(Prepared {
                aux: amount as u8,
                ..p.with(h)
            })
        }
        Op::LogicalImm => {
            let size = if sf { 64 } else { 32 };
            let (imm, _) =
                decode_bit_masks(i.bits(22, 22), i.bits(15, 10), i.bits(21, 16), true, size)?;
            let h: Handler = match (sf, i.bits(30, 29)) {
                (true, 0) => logical_imm::<true, 0>,
                (true, 1) => logical_imm::<true, 1>,
                (true, 2) => logical_imm::<true, 2>,
                (true, _) => logical_imm::<true, 3>,
                (false, 0) => logical_imm::<false, 0>,
                (false, 1) => logical_imm::<false, 1>,
                (false, 2) => logical_imm::<false, 2>,
                (false, _) => logical_imm::<false, 3>,
            };
            Some(Prepared { imm, ..p.with(h) })
        }
        Op::Movz | Op::Movn => {
            let imm = (i.bits(20, 5) as u64) << (i.bits(22, 21) * 16);
            let value = if i.op == Op::Movn { !imm } else { imm };
            let value = if sf { value } else { value & 0xffff_ffff };
            Some(Prepared {
                imm: value,
                ..p.with(move_constant)
            })
        }
        Op::Movk => {
            let shift = i.bits(22, 21) * 16;
            if !sf && shift >= 32 {
                return None;
            }
            Some(Prepared {
                imm: (i.bits(20, 5) as u64) << shift,
                aux: shift as u8,
                ..p.with(if sf { movk::<true> } else { movk::<false> })
            })
        }
        Op::Ubfm | Op::Sbfm => prepare_bitfield(p),
        Op::AddSubExt => {
            let shift = i.bits(12, 10);
            if shift > 4 {
                return None;
            }
            let h: Handler = match (sf, i.bit(30), i.bit(29)) {
                (true, false, false) => add_sub_ext::<true, false, false>,
                (true, false, true) => add_sub_ext::<true, false, true>,
                (true, true, false) => add_sub_ext::<true, true, false>,
                (true, true, true) => add_sub_ext::<true, true, true>,
                (false, false, false) => add_sub_ext::<false, false, false>,
                (false, false, true) => add_sub_ext::<false, false, true>,
                (false, true, false) => add_sub_ext::<false, true, false>,
                (false, true, true) => add_sub_ext::<false, true, true>,
            };
            Some(Prepared {
                aux: i.bits(15, 13) as u8,
                imm: shift as u64,
                ..p.with(h)
            })
        }
        Op::ShiftV => {
            let h: Handler = match (sf, i.bits(11, 10)) {
                (true, 0) => shift_variable::<true, 0>,
                (true, 1) => shift_variable::<true, 1>,
                (true, 2) => shift_variable::<true, 2>,
                (true, _) => shift_variable::<true, 3>,
                (false, 0) => shift_variable::<false, 0>,
                (false, 1) => shift_variable::<false, 1>,
                (false, 2) => shift_variable::<false, 2>,
                (false, _) => shift_variable::<false, 3>,
            };
            Some(p.with(h))
        }
        Op::CondCmpReg | Op::CondCmpImm => {
            let imm = i.op == Op::CondCmpImm;
            let h: Handler = match (sf, i.bit(30), imm) {
                (true, false, false) => cond_compare::<true, false, false>,
                (true, false, true) => cond_compare::<true, false, true>,
                (true, true, false) => cond_compare::<true, true, false>,
                (true, true, true) => cond_compare::<true, true, true>,
                (false, false, false) => cond_compare::<false, false, false>,
                (false, false, true) => cond_compare::<false, false, true>,
                (false, true, false) => cond_compare::<false, true, false>,
                (false, true, true) => cond_compare::<false, true, true>,
            };
            Some(Prepared {
                aux: i.bits(15, 12) as u8,
                imm: i.bits(20, 16) as u64,
                iss: i.bits(3, 0) << 28,
                ..p.with(h)
            })
        }
        Op::Adr | Op::Adrp => {
            let offset = (i.sbits(23, 5) << 2) | i.bits(30, 29) as i64;
            Some(if i.op == Op::Adrp {
                Prepared {
                    imm: (offset << 12) as u64,
                    ..p.with(adr::<true>)
                }
            } else {
                Prepared {
                    imm: offset as u64,
                    ..p.with(adr::<false>)
                }
            })
        }
        // NOP, YIELD, BTI, the pointer-authentication hints of the NOP space, ...:
        // everything but WFE, WFI, SEV and SEVL does nothing here.
        Op::Hint if !(2..=5).contains(&i.bits(11, 5)) => Some(p.with(no_operation)),
        Op::CondSel => {
            let h: Handler = match (sf, i.bit(30), i.bit(10)) {
                (true, false, false) => cond_select::<true, false, false>,
                (true, false, true) => cond_select::<true, false, true>,
                (true, true, false) => cond_select::<true, true, false>,
                (true, true, true) => cond_select::<true, true, true>,
                (false, false, false) => cond_select::<false, false, false>,
                (false, false, true) => cond_select::<false, false, true>,
                (false, true, false) => cond_select::<false, true, false>,
                (false, true, true) => cond_select::<false, true, true>,
            };
            Some(Prepared {
                aux: i.bits(15, 12) as u8,
                ..p.with(h)
            })
        }
        Op::BCond => Some(Prepared {
            imm: (i.sbits(23, 5) << 2) as u64,
            aux: i.bits(3, 0) as u8,
            ..p.with(branch_cond)
        }),
        Op::B | Op::Bl => Some(Prepared {
            imm: (i.sbits(25, 0) << 2) as u64,
            ..p.with(if i.op == Op::Bl {
                branch::<true>
            } else {
                branch::<false>
            })
        }),
        Op::Cbz => {
            let h: Handler = match (sf, i.bit(24)) {
                (true, false) => compare_branch::<true, false>,
                (true, true) => compare_branch::<true, true>,
                (false, false) => compare_branch::<false, false>,
                (false, true) => compare_branch::<false, true>,
            };
            Some(Prepared {
                imm: (i.sbits(23, 5) << 2) as u64,
                ..p.with(h)
            })
        }
        Op::Br | Op::Blr | Op::Ret => Some(p.with(if i.op == Op::Blr {
            branch_register::<true>
        } else {
            branch_register::<false>
        })),
        Op::Tbz => Some(Prepared {
            imm: (i.sbits(18, 5) << 2) as u64,
            aux: ((i.bits(31, 31) << 5) | i.bits(23, 19)) as u8,
            ..p.with(if i.bit(24) {
                test_branch::<true>
            } else {
                test_branch::<false>
            })
        }),
        Op::LdstUimm | Op::LdstRegOff | Op::LdstImm9 => prepare_single(p),
        Op::LdstPair => prepare_pair(p),
        _ => None,
    }
}

// ---- Data processing -------------------------------------------------------

/// ADD/ADDS/SUB/SUBS (extended register): `aux` is the option, `imm` the shift.
/// Rn may be SP; Rd is SP unless flags are set.
fn add_sub_ext<const SF: bool, const SUB: bool, const S: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let y = extend_reg(cpu.regs.xr(p.m as usize), p.aux as u32, p.imm as u32);
    let x = cpu.regs.xsp(p.n as usize);
    let r = add_sub(cpu, x, y, SUB, S, SF);
    if S {
        cpu.regs.set_xr(p.d as usize, r);
    } else {
        cpu.regs.set_xsp(p.d as usize, r);
    }
    Step::Next
}

/// LSLV/LSRV/ASRV/RORV.
fn shift_variable<const SF: bool, const KIND: u32>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let amount = (cpu.regs.xr(p.m as usize) & if SF { 63 } else { 31 }) as u32;
    let r = shift_reg(cpu.regs.xr(p.n as usize), KIND, amount, SF);
    cpu.regs.set_xr(p.d as usize, sized(SF, r));
    Step::Next
}

/// CCMN/CCMP: `aux` is the condition, `imm` the immediate operand (for `IMM`),
/// `iss` the flags to set when the condition fails.
fn cond_compare<const SF: bool, const SUB: bool, const IMM: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    if condition_holds(cpu.regs.nzcv, p.aux as u32) {
        let x = cpu.regs.xr(p.n as usize);
        let y = if IMM {
            p.imm
        } else {
            cpu.regs.xr(p.m as usize)
        };
        add_sub(cpu, x, y, SUB, true, SF);
    } else {
        cpu.regs.nzcv = p.iss;
    }
    Step::Next
}

/// ADR, ADRP: `imm` is the offset (in bytes, or pages shifted into bytes).
fn adr<const PAGE: bool>(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    let base = if PAGE {
        cpu.regs.pc & !0xfff
    } else {
        cpu.regs.pc
    };
    cpu.regs.set_xr(p.d as usize, base.wrapping_add(p.imm));
    Step::Next
}

fn no_operation(_: &mut Cpu, _: &mut dyn Platform, _: &Prepared) -> Step {
    Step::Next
}

/// ADD/ADDS/SUB/SUBS (immediate): Rn may be SP; Rd is SP unless flags are set.
fn add_sub_imm<const SF: bool, const SUB: bool, const S: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let x = cpu.regs.xsp(p.n as usize);
    let r = add_sub(cpu, x, p.imm, SUB, S, SF);
    if S {
        cpu.regs.set_xr(p.d as usize, r);
    } else {
        cpu.regs.set_xsp(p.d as usize, r);
    }
    Step::Next
}

fn add_sub_shifted<const SF: bool, const SUB: bool, const S: bool, const KIND: u32>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let y = shift_reg(cpu.regs.xr(p.m as usize), KIND, p.aux as u32, SF);
    let x = cpu.regs.xr(p.n as usize);
    let r = add_sub(cpu, x, y, SUB, S, SF);
    cpu.regs.set_xr(p.d as usize, r);
    Step::Next
}

fn add_sub_shifted_handler(sf: bool, sub: bool, s: bool, kind: u32) -> Option<Handler> {
    macro_rules! pick {
        ($sf:literal) => {
            match (sub, s, kind) {
                (false, false, 0) => add_sub_shifted::<$sf, false, false, 0>,
                (false, false, 1) => add_sub_shifted::<$sf, false, false, 1>,
                (false, false, 2) => add_sub_shifted::<$sf, false, false, 2>,
                (false, true, 0) => add_sub_shifted::<$sf, false, true, 0>,
                (false, true, 1) => add_sub_shifted::<$sf, false, true, 1>,
                (false, true, 2) => add_sub_shifted::<$sf, false, true, 2>,
                (true, false, 0) => add_sub_shifted::<$sf, true, false, 0>,
                (true, false, 1) => add_sub_shifted::<$sf, true, false, 1>,
                (true, false, 2) => add_sub_shifted::<$sf, true, false, 2>,
                (true, true, 0) => add_sub_shifted::<$sf, true, true, 0>,
                (true, true, 1) => add_sub_shifted::<$sf, true, true, 1>,
                (true, true, 2) => add_sub_shifted::<$sf, true, true, 2>,
                _ => return None,
            }
        };
    }
    Some(if sf { pick!(true) } else { pick!(false) })
}

/// AND/ORR/EOR/ANDS, `OPC` as in bits 30:29.
#[inline(always)]
fn logical_op<const SF: bool, const OPC: u32>(cpu: &mut Cpu, x: u64, y: u64) -> u64 {
    let r = sized(
        SF,
        match OPC {
            0 | 3 => x & y,
            1 => x | y,
            _ => x ^ y,
        },
    );
    if OPC == 3 {
        cpu.regs.nzcv = logic_flags(r, SF);
    }
    r
}

/// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register).
fn logical_reg<const SF: bool, const OPC: u32, const INVERT: bool, const KIND: u32>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let mut y = shift_reg(cpu.regs.xr(p.m as usize), KIND, p.aux as u32, SF);
    if INVERT {
        y = !y;
    }
    let x = cpu.regs.xr(p.n as usize);
    let r = logical_op::<SF, OPC>(cpu, x, y);
    cpu.regs.set_xr(p.d as usize, r);
    Step::Next
}

fn logical_reg_handler(sf: bool, opc: u32, invert: bool, kind: u32) -> Option<Handler> {
    macro_rules! kinds {
        ($sf:literal, $opc:literal, $inv:literal) => {
            match kind {
                0 => logical_reg::<$sf, $opc, $inv, 0>,
                1 => logical_reg::<$sf, $opc, $inv, 1>,
                2 => logical_reg::<$sf, $opc, $inv, 2>,
                _ => logical_reg::<$sf, $opc, $inv, 3>,
            }
        };
    }
    macro_rules! opcs {
        ($sf:literal) => {
            match (opc, invert) {
                (0, false) => kinds!($sf, 0, false),
                (0, true) => kinds!($sf, 0, true),
                (1, false) => kinds!($sf, 1, false),
                (1, true) => kinds!($sf, 1, true),
                (2, false) => kinds!($sf, 2, false),
                (2, true) => kinds!($sf, 2, true),
                (3, false) => kinds!($sf, 3, false),
                (3, true) => kinds!($sf, 3, true),
                _ => return None,
            }
        };
    }
    Some(if sf { opcs!(true) } else { opcs!(false) })
}

/// AND/ORR/EOR/ANDS (immediate): Rd is SP unless flags are set.
fn logical_imm<const SF: bool, const OPC: u32>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let x = cpu.regs.xr(p.n as usize);
    let r = logical_op::<SF, OPC>(cpu, x, p.imm);
    if OPC == 3 {
        cpu.regs.set_xr(p.d as usize, r);
    } else {
        cpu.regs.set_xsp(p.d as usize, r);
    }
    Step::Next
}

/// MOVZ, MOVN: the value is computed when preparing.
fn move_constant(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    cpu.regs.set_xr(p.d as usize, p.imm);
    Step::Next
}

/// MOVK: `imm` is the shifted immediate, `aux` its position.
fn movk<const SF: bool>(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    let old = cpu.regs.xr(p.d as usize) & !(0xffffu64 << p.aux);
    cpu.regs.set_xr(p.d as usize, sized(SF, old | p.imm));
    Step::Next
}

/// UBFM and SBFM as two shifts: the field's top bit is moved to bit 63, then
/// shifted down to its destination (sign- or zero-filling), then up again for
/// the insert-in-zero forms (LSL, UBFIZ, SBFIZ). `aux` and `m` hold the first
/// two shift amounts, `imm` the last.
fn prepare_bitfield(p: Prepared) -> Option<Prepared> {
    let i = p.insn;
    let sf = i.sf();
    let (immr, imms) = (i.bits(21, 16), i.bits(15, 10));
    let size = if sf { 64 } else { 32 };
    if i.bit(22) != sf || immr >= size || imms >= size {
        return None;
    }
    let up = 63 - imms;
    let (down, last) = if imms >= immr {
        (63 - imms + immr, 0)
    } else {
        (63 - imms, size - immr)
    };
    let h: Handler = match (sf, i.op == Op::Sbfm) {
        (true, true) => bitfield_move::<true, true>,
        (true, false) => bitfield_move::<true, false>,
        (false, true) => bitfield_move::<false, true>,
        (false, false) => bitfield_move::<false, false>,
    };
    Some(Prepared {
        aux: up as u8,
        m: down as u8,
        imm: last as u64,
        ..p.with(h)
    })
}

fn bitfield_move<const SF: bool, const SIGNED: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let src = sized(SF, cpu.regs.xr(p.n as usize)) << p.aux;
    let field = if SIGNED {
        ((src as i64) >> p.m) as u64
    } else {
        src >> p.m
    };
    cpu.regs.set_xr(p.d as usize, sized(SF, field << p.imm));
    Step::Next
}

/// CSEL/CSINC/CSINV/CSNEG.
fn cond_select<const SF: bool, const INVERT: bool, const INCREMENT: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let r = if condition_holds(cpu.regs.nzcv, p.aux as u32) {
        cpu.regs.xr(p.n as usize)
    } else {
        let y = cpu.regs.xr(p.m as usize);
        match (INVERT, INCREMENT) {
            (false, false) => y,
            (false, true) => y.wrapping_add(1),
            (true, false) => !y,
            (true, true) => y.wrapping_neg(),
        }
    };
    cpu.regs.set_xr(p.d as usize, sized(SF, r));
    Step::Next
}

// ---- Branches --------------------------------------------------------------

/// A fused ADDS/SUBS (immediate) and B.cond (see [`Prepared::fused_with`]):
/// `imm` is the immediate, `aux` the condition, `iss` the branch offset.
fn compare_imm_branch<const SF: bool, const SUB: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let x = cpu.regs.xsp(p.n as usize);
    let r = add_sub(cpu, x, p.imm, SUB, true, SF);
    cpu.regs.set_xr(p.d as usize, r);
    branch_after_compare(cpu, p)
}

/// A fused ADDS/SUBS (unshifted register) and B.cond: `aux` is the condition,
/// `iss` the branch offset.
fn compare_reg_branch<const SF: bool, const SUB: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let y = sized(SF, cpu.regs.xr(p.m as usize));
    let x = cpu.regs.xr(p.n as usize);
    let r = add_sub(cpu, x, y, SUB, true, SF);
    cpu.regs.set_xr(p.d as usize, r);
    branch_after_compare(cpu, p)
}

/// The B.cond half of a fused compare: the compare is at the PC and the branch
/// after it.
#[inline(always)]
fn branch_after_compare(cpu: &mut Cpu, p: &Prepared) -> Step {
    // The run loop counts the compare; the branch retires here.
    cpu.icount += 1;
    let offset = if condition_holds(cpu.regs.nzcv, p.aux as u32) {
        p.iss as i32 as u64
    } else {
        8
    };
    cpu.regs.pc = cpu.regs.pc.wrapping_add(offset);
    Step::Jump
}

/// A PC-relative jump by `offset` bytes (the executor's [`jump`], as a step).
#[inline(always)]
fn jump_by(cpu: &mut Cpu, offset: u64) -> Step {
    let result = jump(cpu, offset as i64);
    park(cpu, result)
}

/// B.cond.
fn branch_cond(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    if condition_holds(cpu.regs.nzcv, p.aux as u32) {
        jump_by(cpu, p.imm)
    } else {
        Step::Next
    }
}

/// B, BL.
fn branch<const LINK: bool>(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    if LINK {
        cpu.regs.x[30] = cpu.regs.pc.wrapping_add(4);
    }
    jump_by(cpu, p.imm)
}

/// BR, BLR, RET.
fn branch_register<const LINK: bool>(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    let target = cpu.regs.xr(p.n as usize);
    if LINK {
        cpu.regs.x[30] = cpu.regs.pc.wrapping_add(4);
    }
    cpu.regs.pc = target;
    Step::Jump
}

/// CBZ, CBNZ.
fn compare_branch<const SF: bool, const NONZERO: bool>(
    cpu: &mut Cpu,
    _: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    if (sized(SF, cpu.regs.xr(p.d as usize)) == 0) != NONZERO {
        jump_by(cpu, p.imm)
    } else {
        Step::Next
    }
}

/// TBZ, TBNZ; `aux` is the bit number.
fn test_branch<const NONZERO: bool>(cpu: &mut Cpu, _: &mut dyn Platform, p: &Prepared) -> Step {
    if ((cpu.regs.xr(p.d as usize) >> p.aux) & 1 == 1) == NONZERO {
        jump_by(cpu, p.imm)
    } else {
        Step::Next
    }
}

// ---- Loads and stores ------------------------------------------------------

/// How a single-register access forms its address.
mod mode {
    /// Base plus a scaled or unscaled immediate (`imm`), no writeback.
    pub const OFFSET: u32 = 0;
    /// Base plus a shifted 64-bit register (`m`; `imm` = shift).
    pub const REGISTER: u32 = 1;
    /// Base plus an extended and shifted register (`m`, `aux` = option,
    /// `imm` = shift).
    pub const EXTENDED: u32 = 4;
    /// Access at the base, then write back base + `imm`.
    pub const POST_INDEX: u32 = 2;
    /// Access at and write back base + `imm`.
    pub const PRE_INDEX: u32 = 3;
}

/// `(address, writeback address)` of a single or pair access.
#[inline(always)]
fn address<const MODE: u32>(
    cpu: &Cpu,
    p: &Prepared,
) -> Result<(u64, u64), crate::exception::Exception> {
    let b = base(cpu, p.n as usize)?;
    Ok(match MODE {
        mode::OFFSET => (b.wrapping_add(p.imm), 0),
        mode::REGISTER => (b.wrapping_add(cpu.regs.xr(p.m as usize) << p.imm), 0),
        mode::EXTENDED => (
            b.wrapping_add(extend_reg(
                cpu.regs.xr(p.m as usize),
                p.aux as u32,
                p.imm as u32,
            )),
            0,
        ),
        mode::POST_INDEX => (b, b.wrapping_add(p.imm)),
        _ => {
            let a = b.wrapping_add(p.imm);
            (a, a)
        }
    })
}

#[inline(always)]
fn writes_back(mode: u32) -> bool {
    mode == mode::POST_INDEX || mode == mode::PRE_INDEX
}

/// LDR/STR/LDRS* of one general-purpose register: `SIZE` is log2 of the access
/// size, `OPC` bits 23:22 (0 store, 1 load, 2 load signed to 64 bits, 3 load
/// signed to 32 bits).
fn single<const MODE: u32, const SIZE: u32, const OPC: u32>(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let bytes = 1usize << SIZE;
    let (addr, wb) = or_stop!(cpu, address::<MODE>(cpu, p));
    let acc = Access {
        unprivileged: false,
        aligned: false,
        iss: p.iss,
    };
    or_stop!(
        cpu,
        transfer_single(cpu, plat, addr, bytes, OPC, p.d as usize, acc)
    );
    if writes_back(MODE) {
        cpu.regs.set_xsp(p.n as usize, wb);
    }
    Step::Next
}

fn prepare_single(p: Prepared) -> Option<Prepared> {
    let i = p.insn;
    let size = i.bits(31, 30);
    let opc = i.bits(23, 22);
    if i.bit(26) || (opc == 2 && size == 3) || (opc == 3 && size >= 2) {
        // SIMD&FP registers, PRFM, and unallocated combinations.
        return None;
    }
    let (mode, imm, aux) = match i.op {
        Op::LdstUimm => (mode::OFFSET, (i.bits(21, 10) as u64) << size, 0),
        Op::LdstRegOff => {
            let shift = if i.bit(12) { size } else { 0 };
            let option = i.bits(15, 13);
            // Option 0b011 (LSL) and 0b111 (SXTX) use all 64 bits unchanged.
            let m = if option & 3 == 3 {
                mode::REGISTER
            } else {
                mode::EXTENDED
            };
            (m, shift as u64, option)
        }
        _ => {
            let imm = i.sbits(20, 12) as u64;
            match i.bits(11, 10) {
                0b00 => (mode::OFFSET, imm, 0),
                0b01 => (mode::POST_INDEX, imm, 0),
                0b11 => (mode::PRE_INDEX, imm, 0),
                _ => return None, // LDTR/STTR
            }
        }
    };
    if writes_back(mode) && i.rn() == i.rt() && i.rn() != 31 {
        return None; // CONSTRAINED UNPREDICTABLE: left to the generic handler.
    }
    let sign = opc >= 2;
    let sf = opc == 2 || (opc != 3 && size == 3);
    let syndrome = if writes_back(mode) {
        0
    } else {
        iss(size, sign, i.rt(), sf, false)
    };
    macro_rules! sizes {
        ($mode:expr, $opc:literal) => {
            match size {
                0 => single::<{ $mode }, 0, $opc>,
                1 => single::<{ $mode }, 1, $opc>,
                2 => single::<{ $mode }, 2, $opc>,
                _ => single::<{ $mode }, 3, $opc>,
            }
        };
    }
    macro_rules! opcs {
        ($mode:expr) => {
            match opc {
                0 => sizes!($mode, 0),
                1 => sizes!($mode, 1),
                2 => sizes!($mode, 2),
                _ => sizes!($mode, 3),
            }
        };
    }
    let h: Handler = match mode {
        mode::OFFSET => opcs!(mode::OFFSET),
        mode::REGISTER => opcs!(mode::REGISTER),
        mode::EXTENDED => opcs!(mode::EXTENDED),
        mode::POST_INDEX => opcs!(mode::POST_INDEX),
        _ => opcs!(mode::PRE_INDEX),
    };
    Some(Prepared {
        imm,
        aux: aux as u8,
        iss: syndrome,
        ..p.with(h)
    })
}

/// LDP/STP/LDPSW of general-purpose registers; `OPC` is bits 31:30 (0: 32-bit,
/// 1: LDPSW, 2: 64-bit). `m` holds Rt2.
fn pair<const MODE: u32, const OPC: u32, const LOAD: bool>(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    p: &Prepared,
) -> Step {
    let (addr, wb) = or_stop!(cpu, address::<MODE>(cpu, p));
    or_stop!(
        cpu,
        transfer_pair(cpu, plat, addr, OPC, LOAD, p.d as usize, p.m as usize)
    );
    if writes_back(MODE) {
        cpu.regs.set_xsp(p.n as usize, wb);
    }
    Step::Next
}

fn prepare_pair(p: Prepared) -> Option<Prepared> {
    let i = p.insn;
    let opc = i.bits(31, 30);
    let load = i.bit(22);
    if opc == 3 || (opc == 1 && !load) {
        return None;
    }
    let scale = if opc == 2 { 3 } else { 2 };
    let imm = (i.sbits(21, 15) << scale) as u64;
    let mode = match i.bits(24, 23) {
        0b01 => mode::POST_INDEX,
        0b11 => mode::PRE_INDEX,
        _ => mode::OFFSET,
    };
    let (rt, rt2, rn) = (i.rt(), i.rt2(), i.rn());
    if (load && rt == rt2) || (writes_back(mode) && rn != 31 && (rn == rt || rn == rt2)) {
        return None; // CONSTRAINED UNPREDICTABLE: left to the generic handler.
    }
    macro_rules! opcs {
        ($mode:expr) => {
            match (opc, load) {
                (0, false) => pair::<{ $mode }, 0, false>,
                (0, true) => pair::<{ $mode }, 0, true>,
                (1, _) => pair::<{ $mode }, 1, true>,
                (_, false) => pair::<{ $mode }, 2, false>,
                (_, true) => pair::<{ $mode }, 2, true>,
            }
        };
    }
    let h: Handler = match mode {
        mode::OFFSET => opcs!(mode::OFFSET),
        mode::POST_INDEX => opcs!(mode::POST_INDEX),
        _ => opcs!(mode::PRE_INDEX),
    };
    Some(Prepared {
        imm,
        m: rt2 as u8,
        ..p.with(h)
    })
}

#[cfg(test)]
mod tests;
