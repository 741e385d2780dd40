//! Loads and stores (ARM ARM C4.1.88): single registers in every addressing mode,
//! pairs, literals, exclusives, load-acquire/store-release, and the LSE atomics.

use super::dp::extend_reg;
use super::system::check_fp_enabled;
use super::{ExecResult, Flow};
use crate::cpu::{Access, Cpu, Monitor, Platform};
use crate::decode::{Insn, Op};
use crate::exception::{Exception, Fault, FaultKind};
use crate::sysreg::sctlr;

/// Sign-extends the low `bytes` bytes of `x`.
#[inline(always)]
pub(super) fn sign_extend(x: u64, bytes: usize) -> u64 {
    let shift = 64 - 8 * bytes as u32;
    (((x << shift) as i64) >> shift) as u64
}

#[inline(always)]
fn size_mask(bytes: usize) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

/// The base register value; with SP as base, checks SP alignment (SCTLR_EL1.SA/SA0).
#[inline(always)]
pub(super) fn base(cpu: &Cpu, rn: usize) -> Result<u64, Exception> {
    if rn == 31 {
        let sp = cpu.regs.sp();
        let check = if cpu.regs.el == 0 {
            sctlr::SA0
        } else {
            sctlr::SA
        };
        if sp & 0xf != 0 && cpu.sys.sctlr & check != 0 {
            return Err(Exception::SpAlignment);
        }
        Ok(sp)
    } else {
        Ok(cpu.regs.x[rn])
    }
}

/// ISS bits for a data abort on a single general-purpose register access without
/// writeback (ISV=1, SAS, SSE, SRT, SF, AR).
pub(super) fn iss(size_log2: u32, sign: bool, rt: usize, sf: bool, acq_rel: bool) -> u32 {
    (1 << 24)
        | (size_log2 << 22)
        | ((sign as u32) << 21)
        | ((rt as u32) << 16)
        | ((sf as u32) << 15)
        | ((acq_rel as u32) << 14)
}

/// Addressing of the single-register forms: `(address, writeback address)`.
fn single_address(cpu: &Cpu, i: Insn, scale: u32) -> Result<(u64, Option<u64>), Exception> {
    let b = base(cpu, i.rn())?;
    Ok(match i.op {
        Op::LdstUimm | Op::LdstUimmFp => (b.wrapping_add((i.bits(21, 10) as u64) << scale), None),
        Op::LdstRegOff | Op::LdstRegOffFp => {
            let shift = if i.bit(12) { scale } else { 0 };
            (
                b.wrapping_add(extend_reg(cpu.regs.xr(i.rm()), i.bits(15, 13), shift)),
                None,
            )
        }
        _ => {
            let imm = i.sbits(20, 12) as u64;
            match i.bits(11, 10) {
                0b01 => (b, Some(b.wrapping_add(imm))),
                0b11 => (b.wrapping_add(imm), Some(b.wrapping_add(imm))),
                _ => (b.wrapping_add(imm), None),
            }
        }
    })
}

/// LDR/STR/LDRS*/PRFM in the immediate, register-offset and unprivileged forms.
pub fn single(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let size_log2 = i.bits(31, 30);
    let bytes = 1usize << size_log2;
    let opc = i.bits(23, 22);
    if opc == 2 && size_log2 == 3 {
        // PRFM/PRFUM: a hint; never faults.
        return Ok(Flow::Next);
    }
    let (addr, wb) = single_address(cpu, i, size_log2)?;
    let unprivileged = i.op == Op::LdstImm9 && i.bits(11, 10) == 0b10;
    let rt = i.rt();
    let sign = opc >= 2;
    let sf = opc == 2 || (opc != 3 && size_log2 == 3);
    let acc = Access {
        unprivileged,
        aligned: false,
        iss: if wb.is_none() {
            iss(size_log2, sign, rt, sf, false)
        } else {
            0
        },
    };
    transfer_single(cpu, plat, addr, bytes, opc, rt, acc)?;
    if let Some(a) = wb {
        cpu.regs.set_xsp(i.rn(), a);
    }
    Ok(Flow::Next)
}

/// The access of a single-register load or store: `opc` is bits 23:22 (0 store,
/// 1 load, 2 load signed to 64 bits, 3 load signed to 32 bits).
#[inline(always)]
pub(super) fn transfer_single(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    bytes: usize,
    opc: u32,
    rt: usize,
    acc: Access,
) -> Result<(), Exception> {
    if opc == 0 {
        let value = cpu.regs.xr(rt);
        cpu.write(plat, addr, bytes, value, acc)
    } else {
        let raw = cpu.read(plat, addr, bytes, acc)?;
        let value = match opc {
            1 => raw,
            2 => sign_extend(raw, bytes),
            _ => sign_extend(raw, bytes) & 0xffff_ffff,
        };
        cpu.regs.set_xr(rt, value);
        Ok(())
    }
}

/// LDR (literal), LDRSW (literal), PRFM (literal).
pub fn literal(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let addr = cpu.regs.pc.wrapping_add((i.sbits(23, 5) << 2) as u64);
    let acc = Access::default();
    let value = match i.bits(31, 30) {
        0 => cpu.read(plat, addr, 4, acc)?,
        1 => cpu.read(plat, addr, 8, acc)?,
        2 => sign_extend(cpu.read(plat, addr, 4, acc)?, 4),
        _ => return Ok(Flow::Next),
    };
    cpu.regs.set_xr(i.rt(), value);
    Ok(Flow::Next)
}

/// Addressing of the pair forms: `(address, writeback address)`.
fn pair_address(cpu: &Cpu, i: Insn, scale: u32) -> Result<(u64, Option<u64>), Exception> {
    let b = base(cpu, i.rn())?;
    let off = (i.sbits(21, 15) << scale) as u64;
    Ok(match i.bits(24, 23) {
        0b01 => (b, Some(b.wrapping_add(off))),
        0b11 => (b.wrapping_add(off), Some(b.wrapping_add(off))),
        _ => (b.wrapping_add(off), None),
    })
}

/// LDP/STP/LDNP/STNP/LDPSW.
pub fn pair(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let opc = i.bits(31, 30);
    let scale = if opc == 2 { 3 } else { 2 };
    let (addr, wb) = pair_address(cpu, i, scale)?;
    transfer_pair(cpu, plat, addr, opc, i.bit(22), i.rt(), i.rt2())?;
    if let Some(a) = wb {
        cpu.regs.set_xsp(i.rn(), a);
    }
    Ok(Flow::Next)
}

/// The accesses of LDP/STP/LDPSW: `opc` is bits 31:30 (0: 32-bit, 1: LDPSW,
/// 2: 64-bit).
#[inline(always)]
pub(super) fn transfer_pair(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    opc: u32,
    load: bool,
    rt: usize,
    rt2: usize,
) -> Result<(), Exception> {
    let bytes = if opc == 2 { 8 } else { 4 };
    let second = addr.wrapping_add(bytes as u64);
    let acc = Access::default();
    if load {
        let mut a = cpu.read(plat, addr, bytes, acc)?;
        let mut b = cpu.read(plat, second, bytes, acc)?;
        if opc == 1 {
            a = sign_extend(a, 4);
            b = sign_extend(b, 4);
        }
        cpu.regs.set_xr(rt, a);
        cpu.regs.set_xr(rt2, b);
    } else {
        let (a, b) = (cpu.regs.xr(rt), cpu.regs.xr(rt2));
        // Check both elements before writing either; a fault on the first reports it.
        cpu.probe_write(plat, addr, acc)?;
        cpu.probe_write(plat, second, acc)?;
        cpu.write(plat, addr, bytes, a, acc)?;
        cpu.write(plat, second, bytes, b, acc)?;
    }
    Ok(())
}

/// Reads a SIMD&FP element of `bytes` (1 to 16).
fn read_fp(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    bytes: usize,
) -> Result<u128, Exception> {
    let acc = Access::default();
    if bytes == 16 {
        cpu.read128(plat, addr, acc)
    } else {
        Ok(cpu.read(plat, addr, bytes, acc)? as u128)
    }
}

fn write_fp(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    bytes: usize,
    value: u128,
) -> Result<(), Exception> {
    let acc = Access::default();
    if bytes == 16 {
        // write128 probes the second half first: probe the first, so that a fault on
        // both reports `addr`.
        cpu.probe_write(plat, addr, acc)?;
        cpu.write128(plat, addr, value, acc)
    } else {
        cpu.write(plat, addr, bytes, value as u64, acc)
    }
}

#[inline(always)]
fn fp_mask(bytes: usize) -> u128 {
    if bytes == 16 {
        u128::MAX
    } else {
        (1u128 << (8 * bytes)) - 1
    }
}

/// SIMD&FP LDR/STR (all forms), LDP/STP/LDNP/STNP, LDR (literal).
pub fn fp(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    check_fp_enabled(cpu)?;
    match i.op {
        Op::LdrLiteralFp => {
            let bytes = 4 << i.bits(31, 30);
            let addr = cpu.regs.pc.wrapping_add((i.sbits(23, 5) << 2) as u64);
            cpu.regs.v[i.rt()] = read_fp(cpu, plat, addr, bytes)?;
        }
        Op::LdstPairFp => {
            let scale = 2 + i.bits(31, 30);
            let bytes = 1usize << scale;
            let (addr, wb) = pair_address(cpu, i, scale)?;
            let second = addr.wrapping_add(bytes as u64);
            if i.bit(22) {
                let a = read_fp(cpu, plat, addr, bytes)?;
                let b = read_fp(cpu, plat, second, bytes)?;
                cpu.regs.v[i.rt()] = a;
                cpu.regs.v[i.rt2()] = b;
            } else {
                let (a, b) = (
                    cpu.regs.v[i.rt()] & fp_mask(bytes),
                    cpu.regs.v[i.rt2()] & fp_mask(bytes),
                );
                cpu.probe_write(plat, addr, Access::default())?;
                cpu.probe_write(plat, second, Access::default())?;
                write_fp(cpu, plat, addr, bytes, a)?;
                write_fp(cpu, plat, second, bytes, b)?;
            }
            if let Some(a) = wb {
                cpu.regs.set_xsp(i.rn(), a);
            }
        }
        _ => {
            let scale = (i.bits(23, 23) << 2) | i.bits(31, 30);
            let bytes = 1usize << scale;
            let (addr, wb) = single_address(cpu, i, scale)?;
            if i.bit(22) {
                cpu.regs.v[i.rt()] = read_fp(cpu, plat, addr, bytes)?;
            } else {
                let v = cpu.regs.v[i.rt()] & fp_mask(bytes);
                write_fp(cpu, plat, addr, bytes, v)?;
            }
            if let Some(a) = wb {
                cpu.regs.set_xsp(i.rn(), a);
            }
        }
    }
    Ok(Flow::Next)
}

/// The alignment fault of an access at `va` (FAR holds `va` itself).
fn alignment_fault(va: u64, write: bool) -> Exception {
    Exception::DataAbort {
        fault: Fault {
            kind: FaultKind::Alignment,
            va,
            write,
            cache_maintenance: false,
        },
        iss_valid: 0,
    }
}

const ORDERED: Access = Access {
    unprivileged: false,
    aligned: true,
    iss: 0,
};

/// Reads `bytes` (up to 16) as one single-copy-atomic, aligned access.
fn read_ordered(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    bytes: usize,
) -> Result<u128, Exception> {
    if bytes == 16 {
        if addr & 15 != 0 {
            return Err(alignment_fault(addr, false));
        }
        cpu.read128(plat, addr, ORDERED)
    } else {
        Ok(cpu.read(plat, addr, bytes, ORDERED)? as u128)
    }
}

fn write_ordered(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    addr: u64,
    bytes: usize,
    value: u128,
) -> Result<(), Exception> {
    if bytes == 16 {
        if addr & 15 != 0 {
            return Err(alignment_fault(addr, true));
        }
        // Probe the first half first, so that a fault reports `addr`.
        cpu.probe_write(plat, addr, ORDERED)?;
        cpu.write128(plat, addr, value, ORDERED)
    } else {
        cpu.write(plat, addr, bytes, value as u64, ORDERED)
    }
}

/// LDXR/LDAXR/STXR/STLXR and their pair forms.
pub fn exclusive(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let size_log2 = i.bits(31, 30);
    let elem = 1usize << size_log2;
    let pair = matches!(i.op, Op::LoadExclPair | Op::StoreExclPair);
    let total = if pair { 2 * elem } else { elem };
    let addr = base(cpu, i.rn())?;
    let split = |v: u128| {
        (
            v as u64 & size_mask(elem),
            (v >> (8 * elem)) as u64 & size_mask(elem),
        )
    };
    if matches!(i.op, Op::LoadExcl | Op::LoadExclPair) {
        let v = read_ordered(cpu, plat, addr, total)?;
        cpu.monitor = Some(Monitor {
            va: addr,
            size: total,
            value: v,
        });
        let (lo, hi) = split(v);
        cpu.regs.set_xr(i.rt(), lo);
        if pair {
            cpu.regs.set_xr(i.rt2(), hi);
        }
        return Ok(Flow::Next);
    }
    // Store-exclusive: alignment is checked whether or not the monitor matches.
    if addr & (total as u64 - 1) != 0 {
        return Err(alignment_fault(addr, true));
    }
    let value = if pair {
        (cpu.regs.xr(i.rt()) & size_mask(elem)) as u128
            | (((cpu.regs.xr(i.rt2()) & size_mask(elem)) as u128) << (8 * elem))
    } else {
        (cpu.regs.xr(i.rt()) & size_mask(elem)) as u128
    };
    let status = match cpu.monitor.take() {
        Some(m) if m.va == addr && m.size == total => {
            let current = read_ordered(cpu, plat, addr, total)?;
            if current == m.value {
                write_ordered(cpu, plat, addr, total, value)?;
                0
            } else {
                1
            }
        }
        _ => 1,
    };
    cpu.regs.set_xr(i.rs(), status);
    Ok(Flow::Next)
}

/// LDAR/STLR (byte, halfword, word, doubleword).
pub fn acquire_release(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let size_log2 = i.bits(31, 30);
    let bytes = 1usize << size_log2;
    let addr = base(cpu, i.rn())?;
    let acc = Access {
        iss: iss(size_log2, false, i.rt(), size_log2 == 3, true),
        ..ORDERED
    };
    if i.op == Op::LoadAcquire {
        let v = cpu.read(plat, addr, bytes, acc)?;
        cpu.regs.set_xr(i.rt(), v);
    } else {
        let v = cpu.regs.xr(i.rt());
        cpu.write(plat, addr, bytes, v, acc)?;
    }
    Ok(Flow::Next)
}

/// CAS, CASA, CASL, CASAL (all sizes).
pub fn cas(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let bytes = 1usize << i.bits(31, 30);
    let addr = base(cpu, i.rn())?;
    let mask = size_mask(bytes);
    let expected = cpu.regs.xr(i.rs()) & mask;
    cpu.probe_write(plat, addr, ORDERED)?;
    let old = cpu.read(plat, addr, bytes, ORDERED)?;
    if old == expected {
        let new = cpu.regs.xr(i.rt());
        cpu.write(plat, addr, bytes, new, ORDERED)?;
    }
    cpu.regs.set_xr(i.rs(), old);
    Ok(Flow::Next)
}

/// CASP, CASPA, CASPL, CASPAL: compare and swap a pair of registers.
pub fn casp(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let elem = if i.bit(30) { 8 } else { 4 };
    let (rs, rt) = (i.rs(), i.rt());
    let addr = base(cpu, i.rn())?;
    let mask = size_mask(elem);
    let join = |lo: u64, hi: u64| (lo & mask) as u128 | (((hi & mask) as u128) << (8 * elem));
    let expected = join(cpu.regs.xr(rs), cpu.regs.xr(rs + 1));
    if addr & (2 * elem as u64 - 1) != 0 {
        read_ordered(cpu, plat, addr, 2 * elem)?;
    }
    cpu.probe_write(plat, addr, ORDERED)?;
    let old = read_ordered(cpu, plat, addr, 2 * elem)?;
    if old == expected {
        let new = join(cpu.regs.xr(rt), cpu.regs.xr(rt + 1));
        write_ordered(cpu, plat, addr, 2 * elem, new)?;
    }
    cpu.regs.set_xr(rs, old as u64 & mask);
    cpu.regs.set_xr(rs + 1, (old >> (8 * elem)) as u64 & mask);
    Ok(Flow::Next)
}

/// LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN, SWP (all sizes and
/// orderings). Returns the old value in Rt.
pub fn atomic(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let bytes = 1usize << i.bits(31, 30);
    let addr = base(cpu, i.rn())?;
    let mask = size_mask(bytes);
    let operand = cpu.regs.xr(i.rs()) & mask;
    cpu.probe_write(plat, addr, ORDERED)?;
    let old = cpu.read(plat, addr, bytes, ORDERED)?;
    let signed = |x: u64| sign_extend(x, bytes) as i64;
    let new = if i.bit(15) {
        operand
    } else {
        match i.bits(14, 12) {
            0 => old.wrapping_add(operand),
            1 => old & !operand,
            2 => old ^ operand,
            3 => old | operand,
            4 => {
                if signed(old) >= signed(operand) {
                    old
                } else {
                    operand
                }
            }
            5 => {
                if signed(old) <= signed(operand) {
                    old
                } else {
                    operand
                }
            }
            6 => old.max(operand),
            _ => old.min(operand),
        }
    };
    cpu.write(plat, addr, bytes, new & mask, ORDERED)?;
    cpu.regs.set_xr(i.rt(), old);
    Ok(Flow::Next)
}
