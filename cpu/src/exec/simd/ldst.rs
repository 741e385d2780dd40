//! Advanced SIMD structure loads and stores (ARM ARM C4.1.88): LD1-LD4/ST1-ST4
//! (multiple structures, single structure), LD1R-LD4R, each without offset or
//! post-indexed by an immediate (the bytes transferred, Rm = 31) or by Xm.
//!
//! Every element is one `cpu.read`/`cpu.write` of its own size, so alignment and
//! Device-memory rules apply per element as in the pseudocode. Loaded values are
//! collected first and written to the registers only when every access has
//! succeeded, and the base is written back last: a fault leaves the registers as
//! they were. A faulting store may have written its earlier elements, which the
//! architecture allows.

use super::super::ldst::base;
use super::super::{ExecResult, Flow};
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
    let size = i.bits(11, 10);
    let esize = 8 << size;
    let ebytes = 1usize << size;
    let elements = datasize(i) / esize;
    let load = i.bit(22);
    let t = i.rt();
    let address = base(cpu, i.rn())?;
    let nregs = rpt * selem;
    let mut regs = [0u128; 4];
    if !load {
        for (k, r) in regs.iter_mut().enumerate().take(nregs) {
            *r = cpu.regs.v[(t + k) % 32];
        }
    }
    let mut offs = 0u64;
    for r in 0..rpt {
        for e in 0..elements {
            for s in 0..selem {
                let k = r + s;
                let a = address.wrapping_add(offs);
                if load {
                    let x = cpu.read(plat, a, ebytes, ACC)?;
                    regs[k] = with_elem(regs[k], e, esize, x);
                } else {
                    let x = elem(regs[k], e, esize);
                    cpu.write(plat, a, ebytes, x, ACC)?;
                }
                offs += ebytes as u64;
            }
        }
    }
    if load {
        // A 64-bit load clears the upper half: regs started from zero.
        for (k, r) in regs.iter().enumerate().take(nregs) {
            cpu.regs.v[(t + k) % 32] = *r;
        }
    }
    writeback(cpu, i, address, offs);
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
    let elements = datasize(i) / esize;
    for (s, lane) in lanes.iter().enumerate().take(selem) {
        let mut r = 0u128;
        for e in 0..elements {
            r = with_elem(r, e, esize, *lane);
        }
        cpu.regs.v[(t + s) % 32] = r;
    }
    writeback(cpu, i, address, (selem * ebytes) as u64);
    Ok(Flow::Next)
}

#[cfg(test)]
mod tests;
