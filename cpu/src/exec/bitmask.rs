//! DecodeBitMasks (ARM ARM, shared pseudocode J1.1): the immediate of the logical
//! (immediate) and bitfield instructions.

/// Returns `(wmask, tmask)` for an element described by `n:imms` rotated by `immr`,
/// replicated to `datasize` bits, or `None` for a reserved combination.
pub fn decode_bit_masks(
    n: u32,
    imms: u32,
    immr: u32,
    immediate: bool,
    datasize: u32,
) -> Option<(u64, u64)> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros(); // highest set bit
    if len < 1 {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if immediate && (imms & levels) == levels {
        return None;
    }
    let esize = 1u32 << len;
    if esize > datasize {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let d = s.wrapping_sub(r) & levels;
    let welem = ones(s + 1);
    let telem = ones(d + 1);
    let wmask = replicate(ror(welem, r, esize), esize, datasize);
    let tmask = replicate(telem, esize, datasize);
    Some((wmask, tmask))
}

fn ones(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn ror(x: u64, r: u32, esize: u32) -> u64 {
    if r == 0 {
        return x;
    }
    let mask = ones(esize);
    ((x >> r) | (x << (esize - r))) & mask
}

fn replicate(x: u64, esize: u32, datasize: u32) -> u64 {
    let mut out = 0u64;
    let mut pos = 0;
    while pos < datasize {
        out |= x << pos;
        pos += esize;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_immediates() {
        // (N, immr, imms, datasize) -> wmask, from the ARM ARM's examples and objdump.
        let cases: &[(u32, u32, u32, u32, u64)] = &[
            (1, 0, 0, 64, 1),                            // #0x1
            (0, 0, 0b111100, 64, 0x5555_5555_5555_5555), // #0x5555555555555555
            (1, 1, 0, 64, 0x8000_0000_0000_0000),
            (0, 0, 7, 32, 0xff), // and w0, w0, #0xff
            (1, 0, 62, 64, 0x7fff_ffff_ffff_ffff),
        ];
        for &(n, immr, imms, size, want) in cases {
            assert_eq!(
                decode_bit_masks(n, imms, immr, true, size).map(|m| m.0),
                Some(want)
            );
        }
        assert_eq!(decode_bit_masks(1, 0b111111, 0, true, 64), None); // all ones: reserved
        assert_eq!(decode_bit_masks(0, 0b111111, 0, true, 64), None); // no element size
    }
}
