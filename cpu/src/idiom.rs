//! Loop idioms run natively: a block that is, instruction for instruction, a
//! loop whose every iteration the host can do in one go is recognised when
//! the block is decoded, and the run loop does many iterations at once,
//! leaving exactly the state those iterations would have left.
//!
//! One idiom so far, because it dominates a real boot: the byte-by-byte
//! forward copy that GRUB's `grub_memmove` compiles to (and many `-Os`
//! memcpy loops look like), which is most of the time GRUB spends loading a
//! kernel and initrd:
//!
//! ```text
//! L:  ldrb  wT, [xS, xI]
//!     strb  wT, [xD, xI]
//!     add   xI, xI, #1
//!     cmp   xI, xN
//!     b.ne  L
//! ```
//!
//! Iterations run natively only on RAM the TLB maps for the access (so not on
//! code pages, watched pages or MMIO, which keep the exact slow paths), a page
//! at a time, within the instruction budget; anything else is left to the
//! interpreter for the next iteration.

use crate::decode::Insn;

/// Instructions per iteration of the byte-copy loop.
pub const BYTE_COPY_LEN: u64 = 5;

/// A recognised loop and its registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idiom {
    /// The forward byte copy above.
    ByteCopy {
        value: usize,
        src: usize,
        dst: usize,
        index: usize,
        end: usize,
    },
}

impl Idiom {
    /// The idiom the block `insns` (starting at its loop head) is, if any.
    pub fn detect(insns: &[Insn]) -> Option<Idiom> {
        let [load, store, add, cmp, branch] = insns else {
            return None;
        };
        let reg = |w: u32, lsb: u32| ((w >> lsb) & 31) as usize;
        let (l, s) = (load.word, store.word);
        // LDRB/STRB (register), option LSL/UXTX, no shift.
        if l & 0xffe0_fc00 != 0x3860_6800 || s & 0xffe0_fc00 != 0x3820_6800 {
            return None;
        }
        let (value, src, index) = (reg(l, 0), reg(l, 5), reg(l, 16));
        let dst = reg(s, 5);
        if reg(s, 0) != value || reg(s, 16) != index {
            return None;
        }
        // ADD xI, xI, #1; CMP xI, xN (SUBS XZR, xI, xN, LSL #0); B.NE -16.
        let end = reg(cmp.word, 16);
        let add_word = 0x9100_0400 | ((index as u32) << 5) | index as u32;
        let cmp_word = 0xeb00_001f | ((end as u32) << 16) | ((index as u32) << 5);
        if add.word != add_word || cmp.word != cmp_word || branch.word != 0x54ff_ff81 {
            return None;
        }
        // Register 31 is SP or ZR depending on the field: leave such loops
        // alone. The value register must be none of the others.
        let regs = [value, src, dst, index, end];
        if regs.contains(&31)
            || [src, dst, end].contains(&index)
            || [src, dst, index, end].contains(&value)
        {
            return None;
        }
        Some(Idiom::ByteCopy {
            value,
            src,
            dst,
            index,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    fn block(words: &[u32]) -> Vec<Insn> {
        words.iter().map(|&w| decode(w)).collect()
    }

    /// GRUB 2.06's grub_memmove forward loop.
    const GRUB: [u32; 5] = [
        0x3863_6824,
        0x3823_6804,
        0x9100_0463,
        0xeb02_007f,
        0x54ff_ff81,
    ];

    #[test]
    fn grubs_copy_loop_is_recognised() {
        assert_eq!(
            Idiom::detect(&block(&GRUB)),
            Some(Idiom::ByteCopy {
                value: 4,
                src: 1,
                dst: 0,
                index: 3,
                end: 2
            })
        );
    }

    #[test]
    fn near_misses_are_not() {
        let mut changed = GRUB;
        changed[2] = 0x9100_0863; // add x3, x3, #2
        assert_eq!(Idiom::detect(&block(&changed)), None);
        let mut changed = GRUB;
        changed[4] = 0x54ff_ff80; // b.eq
        assert_eq!(Idiom::detect(&block(&changed)), None);
        let mut changed = GRUB;
        changed[1] = 0x3823_6803; // strb w3: another value register (the index)
        assert_eq!(Idiom::detect(&block(&changed)), None);
        let mut changed = GRUB;
        changed[0] = 0x7863_6824; // ldrh
        assert_eq!(Idiom::detect(&block(&changed)), None);
        assert_eq!(Idiom::detect(&block(&GRUB[..4])), None);
    }
}
