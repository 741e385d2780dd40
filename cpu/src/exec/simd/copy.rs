//! Copy (DUP, INS, UMOV, SMOV), permute (UZP, TRN, ZIP), EXT, TBL/TBX and the
//! modified-immediate moves (MOVI, MVNI, ORR, BIC, FMOV).

use super::{datasize, elem, sext, truncate, with_elem};
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
fn replicate(x: u64, esize: u32, datasize: u32) -> u128 {
    let mut r = 0u128;
    for e in 0..datasize / esize {
        r = with_elem(r, e, esize, x);
    }
    r
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
    let part = i.bits(14, 14);
    let (n, m) = (cpu.regs.v[i.rn()], cpu.regs.v[i.rm()]);
    let mut r = 0u128;
    match op {
        SimdOp::Uzp => {
            // The even (UZP1) or odd (UZP2) elements of the concatenation Vm:Vn.
            for e in 0..count {
                let k = 2 * e + part;
                let x = if k < count {
                    elem(n, k, esize)
                } else {
                    elem(m, k - count, esize)
                };
                r = with_elem(r, e, esize, x);
            }
        }
        SimdOp::Trn => {
            for p in 0..count / 2 {
                r = with_elem(r, 2 * p, esize, elem(n, 2 * p + part, esize));
                r = with_elem(r, 2 * p + 1, esize, elem(m, 2 * p + part, esize));
            }
        }
        _ => {
            // ZIP: interleave the low (ZIP1) or high (ZIP2) halves.
            let base = part * count / 2;
            for p in 0..count / 2 {
                r = with_elem(r, 2 * p, esize, elem(n, base + p, esize));
                r = with_elem(r, 2 * p + 1, esize, elem(m, base + p, esize));
            }
        }
    }
    cpu.regs.v[i.rd()] = r;
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
    let bytes = datasize(i) / 8;
    let indices = cpu.regs.v[i.rm()];
    let dest = cpu.regs.v[i.rd()];
    let mut table = [0u128; 4];
    for (k, t) in table.iter_mut().enumerate().take(regs) {
        *t = cpu.regs.v[(i.rn() + k) % 32];
    }
    let mut r = 0u128;
    for e in 0..bytes {
        let idx = elem(indices, e, 8) as usize;
        let x = if idx < 16 * regs {
            elem(table[idx / 16], (idx % 16) as u32, 8)
        } else if tbx {
            elem(dest, e, 8)
        } else {
            0
        };
        r = with_elem(r, e, 8, x);
    }
    cpu.regs.v[i.rd()] = r;
}

/// AdvSIMDExpandImm(op, cmode, imm8): the 64-bit pattern of a modified immediate.
pub(super) fn expand_imm(op: bool, cmode: u32, imm8: u64) -> u64 {
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
