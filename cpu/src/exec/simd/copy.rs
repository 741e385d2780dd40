//! Copy (DUP, INS, UMOV, SMOV), permute (UZP, TRN, ZIP), EXT, TBL/TBX and the
//! modified-immediate moves (MOVI, MVNI, ORR, BIC, FMOV).

use super::{datasize, elem, ones, pack, sext, truncate, unpack, with_elem};
use crate::cpu::Cpu;
use crate::decode::{Insn, SimdOp};

/// The element size (log2 bytes) and index encoded in imm5 (bits 20:16): the
/// size is the position of the lowest set bit, the index the bits above it.
/// The decode table guarantees that imm5<3:0> is not zero.
fn imm5_elem(i: Insn) -> (u32, u32) {
    let imm5 = i.bits(20, 16);
    let size = imm5.trailing_zeros().min(3);
    (size, imm5 >> (size + 1))
}

/// Replicates the low `esize` bits of `x` across `datasize` bits.
pub(super) fn replicate(x: u64, esize: u32, datasize: u32) -> u128 {
    // Multiplying by 0x01..01 (a one in each element) copies the element to each.
    let d = (x & ones(esize)).wrapping_mul(u64::MAX / ones(esize));
    truncate(d as u128 | ((d as u128) << 64), datasize)
}

/// DUP (element, vector and scalar), DUP (general), INS (general, element),
/// UMOV, SMOV.
pub(super) fn copy(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let (size, index) = imm5_elem(i);
    let esize = 8 << size;
    let (n, d) = (i.rn(), i.rd());
    match op {
        SimdOp::DupElem => {
            let x = elem(cpu.regs.v[n], index, esize);
            // The scalar form (bit 28) is DUP Vd, Vn.T[index], i.e. MOV (scalar).
            let width = if i.bit(28) { esize } else { datasize(i) };
            cpu.regs.v[d] = replicate(x, esize, width);
        }
        SimdOp::DupGen => {
            let x = cpu.regs.xr(n);
            cpu.regs.v[d] = replicate(x, esize, datasize(i));
        }
        SimdOp::InsGen => {
            let x = cpu.regs.xr(n);
            cpu.regs.v[d] = with_elem(cpu.regs.v[d], index, esize, x);
        }
        SimdOp::InsElem => {
            let src = i.bits(14, 11) >> size;
            let x = elem(cpu.regs.v[n], src, esize);
            cpu.regs.v[d] = with_elem(cpu.regs.v[d], index, esize, x);
        }
        SimdOp::Umov => {
            let x = elem(cpu.regs.v[n], index, esize);
            cpu.regs.set_xr(d, x);
        }
        _ => {
            // SMOV: sign-extended to 32 bits (Wd, upper half of Xd cleared) or 64.
            let x = sext(elem(cpu.regs.v[n], index, esize), esize) as u64;
            let x = if i.bit(30) { x } else { x & 0xffff_ffff };
            cpu.regs.set_xr(d, x);
        }
    }
}

/// UZP1/UZP2, TRN1/TRN2, ZIP1/ZIP2. Bit 14 selects the second form ("part").
pub(super) fn permute(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let esize = 8 << i.bits(23, 22);
    let count = datasize(i) / esize;
    let (half, part) = (count as usize / 2, i.bits(14, 14) as usize);
    let (n, m) = (
        unpack(cpu.regs.v[i.rn()], esize),
        unpack(cpu.regs.v[i.rm()], esize),
    );
    let mut r = [0u64; 16];
    for p in 0..half {
        match op {
            // The even (UZP1) or odd (UZP2) elements of the concatenation Vm:Vn.
            SimdOp::Uzp => {
                r[p] = n[2 * p + part];
                r[half + p] = m[2 * p + part];
            }
            SimdOp::Trn => {
                r[2 * p] = n[2 * p + part];
                r[2 * p + 1] = m[2 * p + part];
            }
            // ZIP: interleave the low (ZIP1) or high (ZIP2) halves.
            _ => {
                r[2 * p] = n[part * half + p];
                r[2 * p + 1] = m[part * half + p];
            }
        }
    }
    cpu.regs.v[i.rd()] = pack(&r, esize, count);
}

/// EXT: bytes `imm4..` of the concatenation Vm:Vn.
pub(super) fn ext(cpu: &mut Cpu, i: Insn) {
    let (n, m) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()]);
    let pos = i.bits(14, 11) * 8;
    let r = if i.bit(30) {
        if pos == 0 {
            n
        } else {
            (n >> pos) | (m << (128 - pos))
        }
    } else {
        // 64-bit form: the table guarantees pos < 64.
        let cat = (n as u64 as u128) | ((m as u64 as u128) << 64);
        (cat >> pos) as u64 as u128
    };
    cpu.regs.v[i.rd()] = r;
}

/// TBL/TBX: byte lookup in a table of 1 to 4 consecutive registers (wrapping at
/// V31). An out-of-range index gives 0 (TBL) or keeps the destination byte (TBX).
pub(super) fn tbl(cpu: &mut Cpu, i: Insn) {
    let regs = i.bits(14, 13) as usize + 1;
    let tbx = i.bit(12);
    let bytes = (datasize(i) / 8) as usize;
    let indices = cpu.regs.v[i.rm()].to_le_bytes();
    let dest = cpu.regs.v[i.rd()].to_le_bytes();
    let mut table = [0u8; 64];
    for k in 0..regs {
        let v = cpu.regs.v[(i.rn() + k) % 32];
        table[16 * k..16 * (k + 1)].copy_from_slice(&v.to_le_bytes());
    }
    let mut r = [0u8; 16];
    for e in 0..bytes {
        let idx = indices[e] as usize;
        r[e] = if idx < 16 * regs {
            table[idx]
        } else if tbx {
            dest[e]
        } else {
            0
        };
    }
    cpu.regs.v[i.rd()] = u128::from_le_bytes(r);
}

/// AdvSIMDExpandImm(op, cmode, imm8): the 64-bit pattern of a modified immediate.
pub fn expand_imm(op: bool, cmode: u32, imm8: u64) -> u64 {
    let rep2 = |x: u64| x | (x << 32);
    let rep4 = |x: u64| rep2(x | (x << 16));
    match cmode >> 1 {
        0 => rep2(imm8),
        1 => rep2(imm8 << 8),
        2 => rep2(imm8 << 16),
        3 => rep2(imm8 << 24),
        4 => rep4(imm8),
        5 => rep4(imm8 << 8),
        6 => {
            // Shifting ones ("MSL").
            if cmode & 1 == 0 {
                rep2((imm8 << 8) | 0xff)
            } else {
                rep2((imm8 << 16) | 0xffff)
            }
        }
        _ => match (cmode & 1, op) {
            (0, false) => imm8 * 0x0101_0101_0101_0101,
            (0, true) => {
                // Each bit of imm8 becomes a byte of ones or zeros.
                (0..8).fold(0, |acc, b| {
                    if imm8 >> b & 1 != 0 {
                        acc | (0xff << (8 * b))
                    } else {
                        acc
                    }
                })
            }
            (_, false) => {
                // Single-precision VFPExpandImm: a:NOT(b):bbbbb:cdefgh:Zeros(19).
                let a = imm8 >> 7 & 1;
                let b = imm8 >> 6 & 1;
                let f = (a << 31) | ((b ^ 1) << 30) | ((b * 0x1f) << 25) | ((imm8 & 0x3f) << 19);
                rep2(f)
            }
            (_, true) => {
                // Double-precision: a:NOT(b):bbbbbbbb:cdefgh:Zeros(48).
                let a = imm8 >> 7 & 1;
                let b = imm8 >> 6 & 1;
                (a << 63) | ((b ^ 1) << 62) | ((b * 0xff) << 54) | ((imm8 & 0x3f) << 48)
            }
        },
    }
}

/// MOVI, MVNI, ORR (vector, immediate), BIC (vector, immediate), FMOV (vector,
/// immediate).
pub(super) fn modified_imm(cpu: &mut Cpu, i: Insn, op: SimdOp) {
    let imm8 = ((i.bits(18, 16) << 5) | i.bits(9, 5)) as u64;
    let imm64 = expand_imm(i.bit(29), i.bits(15, 12), imm8);
    let width = datasize(i);
    let imm = truncate((imm64 as u128) | ((imm64 as u128) << 64), width);
    let d = i.rd();
    let old = cpu.regs.v[d];
    cpu.regs.v[d] = match op {
        SimdOp::Mvni => truncate(!imm, width),
        SimdOp::OrrImm => truncate(old | imm, width),
        SimdOp::BicImm => truncate(old & !imm, width),
        _ => imm,
    };
}

#[cfg(test)]
mod tests;
