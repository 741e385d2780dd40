//! Advanced SIMD structure loads and stores (ARM ARM C4.1.88): LD1-LD4/ST1-ST4
//! (multiple structures, single structure), LD1R-LD4R, each without offset or
//! post-indexed by an immediate (the bytes transferred, Rm = 31) or by Xm.
//!
//! Elements are accessed with `cpu.read`/`cpu.write` at their own size, so
//! alignment and Device-memory rules apply per element as in the pseudocode (see
//! [`multiple`] for its doubleword fast path). Loaded values are
//! collected first and written to the registers only when every access has
//! succeeded, and the base is written back last: a fault leaves the registers as
//! they were. A faulting store may have written its earlier elements, which the
//! architecture allows.

use super::super::ldst::base;
use super::super::{ExecResult, Flow};
use super::copy::replicate as fill;
use super::{datasize, elem, with_elem};
use crate::cpu::{Access, Cpu, Platform};
use crate::decode::Insn;

/// Structure accesses report no instruction syndrome (ISV = 0).
const ACC: Access = Access {
    unprivileged: false,
    aligned: false,
    iss: 0,
};

/// Post-index writeback (bit 23): by Xm, or by the bytes transferred if Rm = 31.
fn writeback(cpu: &mut Cpu, i: Insn, address: u64, transferred: u64) {
    if i.bit(23) {
        let offset = if i.rm() == 31 {
            transferred
        } else {
            cpu.regs.x[i.rm()]
        };
        cpu.regs.set_xsp(i.rn(), address.wrapping_add(offset));
    }
}

/// LD1-LD4/ST1-ST4 (multiple structures).
pub(super) fn multiple(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    match i.bits(11, 10) {
        0 => multiple_sized::<1>(cpu, plat, i),
        1 => multiple_sized::<2>(cpu, plat, i),
        2 => multiple_sized::<4>(cpu, plat, i),
        _ => multiple_sized::<8>(cpu, plat, i),
    }
}

/// LD1-LD4/ST1-ST4 (multiple structures) with `EB`-byte elements.
///
/// The transfer is staged as a byte image of the memory it covers. When that
/// image is doubleword-aligned and inside one page it moves as doublewords: on
/// Normal memory this is indistinguishable from the element accesses (a fault
/// would hit the first element, whose address is the image's start). Otherwise
/// each element is one access of its own size, as in the pseudocode. (On Device
/// memory a device would see doubleword rather than element-sized accesses.)
fn multiple_sized<const EB: usize>(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    // (repetitions, elements per structure) from opcode (bits 15:12).
    let (rpt, selem) = match i.bits(15, 12) {
        0b0000 => (1, 4),
        0b0010 => (4, 1),
        0b0100 => (1, 3),
        0b0110 => (3, 1),
        0b0111 => (1, 1),
        0b1000 => (1, 2),
        _ => (2, 1),
    };
    let rbytes = (datasize(i) / 8) as usize;
    let elements = rbytes / EB;
    let nregs = rpt * selem;
    let total = nregs * rbytes;
    let t = i.rt();
    let address = base(cpu, i.rn())?;
    let whole = address & 7 == 0 && (address & 0xfff) as usize + total <= 0x1000;
    // The registers' bytes and the memory image. With one element per structure
    // the registers lie one after the other; otherwise structure e holds element
    // e of each register in turn.
    let mut regs = [[0u8; 16]; 4];
    let mut image = [0u8; 64];
    if i.bit(22) {
        if whole {
            for c in (0..total).step_by(8) {
                let x = cpu.read(plat, address.wrapping_add(c as u64), 8, ACC)?;
                image[c..c + 8].copy_from_slice(&x.to_le_bytes());
            }
        } else {
            for off in (0..total).step_by(EB) {
                let x = cpu.read(plat, address.wrapping_add(off as u64), EB, ACC)?;
                image[off..off + EB].copy_from_slice(&x.to_le_bytes()[..EB]);
            }
        }
        for (k, reg) in regs.iter_mut().enumerate().take(nregs) {
            if selem == 1 {
                reg[..rbytes].copy_from_slice(&image[k * rbytes..(k + 1) * rbytes]);
            } else {
                for e in 0..elements {
                    let at = (e * selem + k) * EB;
                    reg[e * EB..(e + 1) * EB].copy_from_slice(&image[at..at + EB]);
                }
            }
        }
        // Only now that every access succeeded; a 64-bit load clears the upper half.
        for (k, reg) in regs.iter().enumerate().take(nregs) {
            cpu.regs.v[(t + k) % 32] = u128::from_le_bytes(*reg);
        }
    } else {
        for (k, reg) in regs.iter_mut().enumerate().take(nregs) {
            *reg = cpu.regs.v[(t + k) % 32].to_le_bytes();
            if selem == 1 {
                image[k * rbytes..(k + 1) * rbytes].copy_from_slice(&reg[..rbytes]);
            } else {
                for e in 0..elements {
                    let at = (e * selem + k) * EB;
                    image[at..at + EB].copy_from_slice(&reg[e * EB..(e + 1) * EB]);
                }
            }
        }
        if whole {
            for c in (0..total).step_by(8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(&image[c..c + 8]);
                cpu.write(
                    plat,
                    address.wrapping_add(c as u64),
                    8,
                    u64::from_le_bytes(b),
                    ACC,
                )?;
            }
        } else {
            for off in (0..total).step_by(EB) {
                let mut b = [0u8; 8];
                b[..EB].copy_from_slice(&image[off..off + EB]);
                let x = u64::from_le_bytes(b);
                cpu.write(plat, address.wrapping_add(off as u64), EB, x, ACC)?;
            }
        }
    }
    writeback(cpu, i, address, total as u64);
    Ok(Flow::Next)
}

/// Element size (log2 bytes) and index of the single-structure forms, from
/// opcode<2:1> (bits 15:14), Q, S (bit 12) and size (bits 11:10). The decode table
/// admits only the valid combinations.
fn single_lane(i: Insn) -> (u32, u32) {
    let qs = (i.bits(30, 30) << 1) | i.bits(12, 12);
    let size = i.bits(11, 10);
    match i.bits(15, 14) {
        0 => (0, (qs << 2) | size),
        1 => (1, (qs << 1) | (size >> 1)),
        _ if size & 1 == 0 => (2, qs),
        _ => (3, qs >> 1),
    }
}

/// The number of registers of a single-structure or replicate form: opcode<0>:R + 1.
fn selem(i: Insn) -> usize {
    (((i.bits(13, 13) << 1) | i.bits(21, 21)) + 1) as usize
}

/// LD1-LD4/ST1-ST4 (single structure): one lane of 1 to 4 registers.
pub(super) fn single(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let (scale, index) = single_lane(i);
    let esize = 8 << scale;
    let ebytes = 1usize << scale;
    let selem = selem(i);
    let t = i.rt();
    let address = base(cpu, i.rn())?;
    if i.bit(22) {
        let mut lanes = [0u64; 4];
        for (s, lane) in lanes.iter_mut().enumerate().take(selem) {
            *lane = cpu.read(plat, address.wrapping_add((s * ebytes) as u64), ebytes, ACC)?;
        }
        for (s, lane) in lanes.iter().enumerate().take(selem) {
            let r = (t + s) % 32;
            cpu.regs.v[r] = with_elem(cpu.regs.v[r], index, esize, *lane);
        }
    } else {
        for s in 0..selem {
            let x = elem(cpu.regs.v[(t + s) % 32], index, esize);
            cpu.write(
                plat,
                address.wrapping_add((s * ebytes) as u64),
                ebytes,
                x,
                ACC,
            )?;
        }
    }
    writeback(cpu, i, address, (selem * ebytes) as u64);
    Ok(Flow::Next)
}

/// LD1R-LD4R: one structure, replicated to all lanes of 1 to 4 registers.
pub(super) fn replicate(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let size = i.bits(11, 10);
    let esize = 8 << size;
    let ebytes = 1usize << size;
    let selem = selem(i);
    let t = i.rt();
    let address = base(cpu, i.rn())?;
    let mut lanes = [0u64; 4];
    for (s, lane) in lanes.iter_mut().enumerate().take(selem) {
        *lane = cpu.read(plat, address.wrapping_add((s * ebytes) as u64), ebytes, ACC)?;
    }
    for (s, lane) in lanes.iter().enumerate().take(selem) {
        cpu.regs.v[(t + s) % 32] = fill(*lane, esize, datasize(i));
    }
    writeback(cpu, i, address, (selem * ebytes) as u64);
    Ok(Flow::Next)
}

#[cfg(test)]
mod tests;
