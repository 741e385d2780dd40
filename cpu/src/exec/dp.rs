//! Data processing, immediate and register (ARM ARM C4.1.86, C4.1.89; semantics C6.2).

use super::bitmask::decode_bit_masks;
use super::{ExecResult, Flow};
use crate::cpu::Cpu;
use crate::decode::Insn;
use crate::state::NZCV_C;

/// Truncates to the operation size: 64 bits if `sf`, else 32 bits.
#[inline(always)]
pub(super) fn sized(sf: bool, x: u64) -> u64 {
    if sf {
        x
    } else {
        x & 0xffff_ffff
    }
}

#[inline(always)]
fn datasize(sf: bool) -> u32 {
    if sf {
        64
    } else {
        32
    }
}

/// AddWithCarry(): result and NZCV flags, for 32- or 64-bit operands.
#[inline(always)]
pub fn add_with_carry(x: u64, y: u64, carry: bool, sf: bool) -> (u64, u32) {
    if sf {
        let (r1, c1) = x.overflowing_add(y);
        let (r, c2) = r1.overflowing_add(carry as u64);
        let v = ((x ^ r) & (y ^ r)) >> 63;
        (r, nz64(r) | (((c1 | c2) as u32) << 29) | ((v as u32) << 28))
    } else {
        let (x, y) = (x as u32, y as u32);
        let (r1, c1) = x.overflowing_add(y);
        let (r, c2) = r1.overflowing_add(carry as u32);
        let v = ((x ^ r) & (y ^ r)) >> 31;
        (r as u64, nz32(r) | (((c1 | c2) as u32) << 29) | (v << 28))
    }
}

#[inline(always)]
fn nz64(r: u64) -> u32 {
    (((r >> 63) as u32) << 31) | (((r == 0) as u32) << 30)
}

#[inline(always)]
fn nz32(r: u32) -> u32 {
    ((r >> 31) << 31) | (((r == 0) as u32) << 30)
}

/// N and Z of a logical result, C and V cleared.
#[inline(always)]
pub(super) fn logic_flags(r: u64, sf: bool) -> u32 {
    if sf {
        nz64(r)
    } else {
        nz32(r as u32)
    }
}

/// The shared ADD/SUB/ADDS/SUBS step. Returns the result; sets flags if asked.
#[inline(always)]
pub(super) fn add_sub(cpu: &mut Cpu, x: u64, y: u64, sub: bool, set_flags: bool, sf: bool) -> u64 {
    let (r, flags) = if sub {
        add_with_carry(x, !y, true, sf)
    } else {
        add_with_carry(x, y, false, sf)
    };
    if set_flags {
        cpu.regs.nzcv = flags;
    }
    sized(sf, r)
}

/// ShiftReg(): LSL, LSR, ASR, ROR of a 32- or 64-bit value.
#[inline(always)]
pub(super) fn shift_reg(x: u64, kind: u32, amount: u32, sf: bool) -> u64 {
    if sf {
        match kind {
            0 => x << amount,
            1 => x >> amount,
            2 => ((x as i64) >> amount) as u64,
            _ => x.rotate_right(amount),
        }
    } else {
        let x = x as u32;
        (match kind {
            0 => x << amount,
            1 => x >> amount,
            2 => ((x as i32) >> amount) as u32,
            _ => x.rotate_right(amount),
        }) as u64
    }
}

/// ExtendReg(): extend the low bits of `x` as `option` says, then shift left.
#[inline(always)]
pub fn extend_reg(x: u64, option: u32, shift: u32) -> u64 {
    let v = match option {
        0 => x as u8 as u64,
        1 => x as u16 as u64,
        2 => x as u32 as u64,
        3 => x,
        4 => x as i8 as i64 as u64,
        5 => x as i16 as i64 as u64,
        6 => x as i32 as i64 as u64,
        _ => x,
    };
    v << shift
}

/// ADR, ADRP.
pub fn adr(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let imm = (i.sbits(23, 5) << 2) | i.bits(30, 29) as i64;
    let pc = cpu.regs.pc;
    let value = if i.bit(31) {
        (pc & !0xfff).wrapping_add((imm << 12) as u64)
    } else {
        pc.wrapping_add(imm as u64)
    };
    cpu.regs.set_xr(i.rd(), value);
    Ok(Flow::Next)
}

/// ADD/ADDS/SUB/SUBS (immediate). Rn may be SP; Rd is SP unless flags are set.
pub fn add_sub_imm(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let imm = (i.bits(21, 10) as u64) << (12 * i.bits(22, 22));
    let x = cpu.regs.xsp(i.rn());
    let s = i.bit(29);
    let r = add_sub(cpu, x, imm, i.bit(30), s, sf);
    if s {
        cpu.regs.set_xr(i.rd(), r)
    } else {
        cpu.regs.set_xsp(i.rd(), r)
    }
    Ok(Flow::Next)
}

/// AND/ORR/EOR/ANDS (immediate).
pub fn logical_imm(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let (imm, _) = decode_bit_masks(
        i.bits(22, 22),
        i.bits(15, 10),
        i.bits(21, 16),
        true,
        datasize(sf),
    )
    .expect("the decode table rejects reserved bitmasks");
    let x = cpu.regs.xr(i.rn());
    logical_result(cpu, i, x, imm, sf, true);
    Ok(Flow::Next)
}

/// The shared AND/ORR/EOR/ANDS step; `rd_is_sp` for the immediate forms.
#[inline(always)]
fn logical_result(cpu: &mut Cpu, i: Insn, x: u64, y: u64, sf: bool, rd_is_sp: bool) {
    let r = sized(
        sf,
        match i.bits(30, 29) {
            0 | 3 => x & y,
            1 => x | y,
            _ => x ^ y,
        },
    );
    if i.bits(30, 29) == 3 {
        cpu.regs.nzcv = logic_flags(r, sf);
        cpu.regs.set_xr(i.rd(), r);
    } else if rd_is_sp {
        cpu.regs.set_xsp(i.rd(), r);
    } else {
        cpu.regs.set_xr(i.rd(), r);
    }
}

/// MOVN, MOVZ, MOVK.
pub fn move_wide(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let pos = i.bits(22, 21) * 16;
    let imm = (i.bits(20, 5) as u64) << pos;
    let r = match i.bits(30, 29) {
        0 => !imm,
        2 => imm,
        _ => (cpu.regs.xr(i.rd()) & !(0xffffu64 << pos)) | imm,
    };
    cpu.regs.set_xr(i.rd(), sized(sf, r));
    Ok(Flow::Next)
}

/// SBFM, BFM, UBFM (and their aliases ASR, LSL, LSR, SXTB, UBFX, BFI, ...).
pub fn bitfield(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let size = datasize(sf);
    let (r, s) = (i.bits(21, 16), i.bits(15, 10));
    let (wmask, tmask) = decode_bit_masks(i.bits(22, 22), s, r, false, size)
        .expect("the decode table rejects reserved bitfields");
    let opc = i.bits(30, 29);
    let src = cpu.regs.xr(i.rn());
    let dst = if opc == 1 { cpu.regs.xr(i.rd()) } else { 0 };
    let bot = (dst & !wmask) | (shift_reg(src, 3, r, sf) & wmask);
    let top = if opc == 0 {
        if (src >> s) & 1 == 1 {
            u64::MAX
        } else {
            0
        }
    } else {
        dst
    };
    cpu.regs
        .set_xr(i.rd(), sized(sf, (top & !tmask) | (bot & tmask)));
    Ok(Flow::Next)
}

/// EXTR (and ROR (immediate)).
pub fn extr(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let lsb = i.bits(15, 10);
    let (hi, lo) = (cpu.regs.xr(i.rn()), cpu.regs.xr(i.rm()));
    let r = if sf {
        ((hi as u128) << 64 | lo as u128) >> lsb
    } else {
        (((hi as u32 as u64) << 32 | lo as u32 as u64) >> lsb) as u128
    };
    cpu.regs.set_xr(i.rd(), sized(sf, r as u64));
    Ok(Flow::Next)
}

/// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register).
pub fn logical_reg(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let mut y = shift_reg(cpu.regs.xr(i.rm()), i.bits(23, 22), i.bits(15, 10), sf);
    if i.bit(21) {
        y = !y;
    }
    let x = cpu.regs.xr(i.rn());
    logical_result(cpu, i, x, y, sf, false);
    Ok(Flow::Next)
}

/// ADD/ADDS/SUB/SUBS (shifted register).
pub fn add_sub_shifted(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let y = shift_reg(cpu.regs.xr(i.rm()), i.bits(23, 22), i.bits(15, 10), sf);
    let x = cpu.regs.xr(i.rn());
    let r = add_sub(cpu, x, y, i.bit(30), i.bit(29), sf);
    cpu.regs.set_xr(i.rd(), r);
    Ok(Flow::Next)
}

/// ADD/ADDS/SUB/SUBS (extended register). Rn may be SP; Rd is SP unless flags are set.
pub fn add_sub_ext(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let y = extend_reg(cpu.regs.xr(i.rm()), i.bits(15, 13), i.bits(12, 10));
    let x = cpu.regs.xsp(i.rn());
    let s = i.bit(29);
    let r = add_sub(cpu, x, y, i.bit(30), s, sf);
    if s {
        cpu.regs.set_xr(i.rd(), r)
    } else {
        cpu.regs.set_xsp(i.rd(), r)
    }
    Ok(Flow::Next)
}

/// ADC/ADCS/SBC/SBCS.
pub fn adc_sbc(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let x = cpu.regs.xr(i.rn());
    let mut y = cpu.regs.xr(i.rm());
    if i.bit(30) {
        y = !y;
    }
    let (r, flags) = add_with_carry(x, y, cpu.regs.nzcv & NZCV_C != 0, sf);
    if i.bit(29) {
        cpu.regs.nzcv = flags;
    }
    cpu.regs.set_xr(i.rd(), sized(sf, r));
    Ok(Flow::Next)
}

/// CCMN/CCMP (register and immediate).
pub fn cond_compare(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    if cpu.regs.condition_holds(i.bits(15, 12)) {
        let x = cpu.regs.xr(i.rn());
        let y = if i.bit(11) {
            i.bits(20, 16) as u64
        } else {
            cpu.regs.xr(i.rm())
        };
        add_sub(cpu, x, y, i.bit(30), true, sf);
    } else {
        cpu.regs.nzcv = i.bits(3, 0) << 28;
    }
    Ok(Flow::Next)
}

/// CSEL/CSINC/CSINV/CSNEG.
pub fn cond_select(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let r = if cpu.regs.condition_holds(i.bits(15, 12)) {
        cpu.regs.xr(i.rn())
    } else {
        let y = cpu.regs.xr(i.rm());
        match (i.bit(30), i.bit(10)) {
            (false, false) => y,
            (false, true) => y.wrapping_add(1),
            (true, false) => !y,
            (true, true) => y.wrapping_neg(),
        }
    };
    cpu.regs.set_xr(i.rd(), sized(sf, r));
    Ok(Flow::Next)
}

/// MADD/MSUB.
pub fn madd(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let product = cpu.regs.xr(i.rn()).wrapping_mul(cpu.regs.xr(i.rm()));
    let a = cpu.regs.xr(i.ra());
    let r = if i.bit(15) {
        a.wrapping_sub(product)
    } else {
        a.wrapping_add(product)
    };
    cpu.regs.set_xr(i.rd(), sized(i.sf(), r));
    Ok(Flow::Next)
}

/// SMADDL/SMSUBL/UMADDL/UMSUBL: 32x32 -> 64-bit multiply-accumulate.
pub fn mul_long(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let (n, m) = (cpu.regs.xr(i.rn()), cpu.regs.xr(i.rm()));
    let product = if i.bit(23) {
        (n as u32 as u64).wrapping_mul(m as u32 as u64)
    } else {
        (n as i32 as i64).wrapping_mul(m as i32 as i64) as u64
    };
    let a = cpu.regs.xr(i.ra());
    let r = if i.bit(15) {
        a.wrapping_sub(product)
    } else {
        a.wrapping_add(product)
    };
    cpu.regs.set_xr(i.rd(), r);
    Ok(Flow::Next)
}

/// SMULH/UMULH.
pub fn mul_high(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let (n, m) = (cpu.regs.xr(i.rn()), cpu.regs.xr(i.rm()));
    let r = if i.bit(23) {
        ((n as u128 * m as u128) >> 64) as u64
    } else {
        ((n as i64 as i128 * m as i64 as i128) >> 64) as u64
    };
    cpu.regs.set_xr(i.rd(), r);
    Ok(Flow::Next)
}

/// UDIV/SDIV. Division by zero gives zero; the signed overflow case wraps.
pub fn divide(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let (n, m) = (cpu.regs.xr(i.rn()), cpu.regs.xr(i.rm()));
    let signed = i.bit(10);
    let r = match (sf, signed) {
        _ if sized(sf, m) == 0 => 0,
        (true, false) => n / m,
        (true, true) => (n as i64).wrapping_div(m as i64) as u64,
        (false, false) => ((n as u32) / (m as u32)) as u64,
        (false, true) => (n as i32).wrapping_div(m as i32) as u32 as u64,
    };
    cpu.regs.set_xr(i.rd(), r);
    Ok(Flow::Next)
}

/// LSLV/LSRV/ASRV/RORV.
pub fn shift_variable(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let amount = (cpu.regs.xr(i.rm()) % datasize(sf) as u64) as u32;
    let r = shift_reg(cpu.regs.xr(i.rn()), i.bits(11, 10), amount, sf);
    cpu.regs.set_xr(i.rd(), sized(sf, r));
    Ok(Flow::Next)
}

const fn crc_table(poly: u32) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// Reflected CRC-32 (ISO 3309) and CRC-32C (Castagnoli) byte tables.
static CRC32: [u32; 256] = crc_table(0xedb8_8320);
static CRC32C: [u32; 256] = crc_table(0x82f6_3b78);

/// CRC32B/H/W/X and CRC32CB/H/W/X: the accumulator is not inverted before or after.
pub fn crc32(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let table = if i.bit(12) { &CRC32C } else { &CRC32 };
    let bytes = 1usize << i.bits(11, 10);
    let mut acc = cpu.regs.xr(i.rn()) as u32;
    let data = cpu.regs.xr(i.rm());
    for k in 0..bytes {
        let b = (data >> (8 * k)) as u8;
        acc = (acc >> 8) ^ table[((acc as u8) ^ b) as usize];
    }
    cpu.regs.set_xr(i.rd(), acc as u64);
    Ok(Flow::Next)
}

/// RBIT, REV16, REV32, REV, CLZ, CLS.
pub fn one_source(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let sf = i.sf();
    let x = cpu.regs.xr(i.rn());
    let r = match (i.bits(15, 10), sf) {
        (0, true) => x.reverse_bits(),
        (0, false) => (x as u32).reverse_bits() as u64,
        (1, _) => ((x & 0xff00_ff00_ff00_ff00) >> 8) | ((x & 0x00ff_00ff_00ff_00ff) << 8),
        (2, true) => {
            ((x as u32).swap_bytes() as u64) | (((x >> 32) as u32).swap_bytes() as u64) << 32
        }
        (2, false) | (3, false) => (x as u32).swap_bytes() as u64,
        (3, true) => x.swap_bytes(),
        (4, true) => x.leading_zeros() as u64,
        (4, false) => (x as u32).leading_zeros() as u64,
        (_, true) => ((((x >> 1) ^ x) & (u64::MAX >> 1)).leading_zeros() - 1) as u64,
        (_, false) => {
            (((((x as u32) >> 1) ^ x as u32) & (u32::MAX >> 1)).leading_zeros() - 1) as u64
        }
    };
    cpu.regs.set_xr(i.rd(), sized(sf, r));
    Ok(Flow::Next)
}
