//! Fast paths for the integer vector operations compilers emit most (ADD,
//! SUB, MUL, MLA/MLS, compares, MAX/MIN, shifts by immediate): the register
//! is viewed as an array of lanes of one width and the operation written
//! once per lane type, which the host compiler turns into its own vector
//! instructions. The generic per-element code in `arith` and `shift`
//! (widening every lane to i128) stays the reference and handles everything
//! else; a unit test holds both to the same results.

use crate::decode::SimdOp;

/// The lanes of `v` as an array of `$t`: lane k is the guest's element k,
/// bits k*size.. of the register. The shifts are by constants once the
/// small loop is unrolled, so this compiles to register moves.
macro_rules! lanes {
    ($t:ty, $v:expr) => {{
        const BITS: usize = <$t>::BITS as usize;
        let v: u128 = $v;
        let out: [$t; 128 / BITS] = core::array::from_fn(|k| (v >> (k * BITS)) as $t);
        out
    }};
}

macro_rules! from_lanes {
    ($t:ty, $a:expr) => {{
        const BITS: usize = <$t>::BITS as usize;
        $a.iter().enumerate().fold(0u128, |acc, (k, &lane)| {
            acc | ((lane as u128) << (k * BITS))
        })
    }};
}

/// Applies `f` to each pair of lanes of `n` and `m` as unsigned `$u` (and
/// signed `$s`) values.
macro_rules! each2 {
    ($u:ty, $s:ty, $n:expr, $m:expr, $f:expr) => {{
        let (a, b) = (lanes!($u, $n), lanes!($u, $m));
        let mut r = a;
        for k in 0..r.len() {
            r[k] = $f(a[k], b[k]);
        }
        from_lanes!($u, r)
    }};
}

macro_rules! each3 {
    ($u:ty, $d:expr, $n:expr, $m:expr, $f:expr) => {{
        let (acc, a, b) = (lanes!($u, $d), lanes!($u, $n), lanes!($u, $m));
        let mut r = acc;
        for k in 0..r.len() {
            r[k] = $f(acc[k], a[k], b[k]);
        }
        from_lanes!($u, r)
    }};
}

/// All ones if `c`.
#[inline(always)]
fn all_if<T: From<u8> + std::ops::Not<Output = T>>(c: bool) -> T {
    if c {
        !T::from(0)
    } else {
        T::from(0)
    }
}

/// One width's three-same operations.
macro_rules! three_same_for {
    ($u:ty, $s:ty, $op:expr, $unsigned:expr, $d:expr, $n:expr, $m:expr) => {{
        use SimdOp::*;
        let (d, n, m, u) = ($d, $n, $m, $unsigned);
        Some(match $op {
            Add => each2!($u, $s, n, m, |a: $u, b: $u| a.wrapping_add(b)),
            Sub => each2!($u, $s, n, m, |a: $u, b: $u| a.wrapping_sub(b)),
            Mul => each2!($u, $s, n, m, |a: $u, b: $u| a.wrapping_mul(b)),
            Mla => each3!($u, d, n, m, |acc: $u, a: $u, b: $u| acc
                .wrapping_add(a.wrapping_mul(b))),
            Mls => each3!($u, d, n, m, |acc: $u, a: $u, b: $u| acc
                .wrapping_sub(a.wrapping_mul(b))),
            Cmeq => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(a == b)),
            Cmtst => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(a & b != 0)),
            CmGt if u => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(a > b)),
            CmGt => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(
                (a as $s) > (b as $s)
            )),
            CmGe if u => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(a >= b)),
            CmGe => each2!($u, $s, n, m, |a: $u, b: $u| all_if::<$u>(
                (a as $s) >= (b as $s)
            )),
            Max if u => each2!($u, $s, n, m, |a: $u, b: $u| a.max(b)),
            Max => each2!($u, $s, n, m, |a: $u, b: $u| (a as $s).max(b as $s) as $u),
            Min if u => each2!($u, $s, n, m, |a: $u, b: $u| a.min(b)),
            Min => each2!($u, $s, n, m, |a: $u, b: $u| (a as $s).min(b as $s) as $u),
            _ => return None,
        })
    }};
}

/// Three same, vector: the result over all 128 bits (the caller keeps the
/// lanes the instruction has), or None for operations without a fast path.
/// MUL/MLA/MLS with 64-bit lanes are unallocated, so never asked for.
#[inline]
pub(super) fn three_same(
    op: SimdOp,
    esize: u32,
    unsigned: bool,
    d: u128,
    n: u128,
    m: u128,
) -> Option<u128> {
    use SimdOp::*;
    // The bitwise operations do not care about lanes.
    match op {
        And => return Some(n & m),
        Bic => return Some(n & !m),
        Orr => return Some(n | m),
        Orn => return Some(n | !m),
        Eor => return Some(n ^ m),
        Bsl => return Some((d & n) | (!d & m)),
        Bit => return Some((d & !m) | (n & m)),
        Bif => return Some((d & m) | (n & !m)),
        _ => {}
    }
    match esize {
        8 => three_same_for!(u8, i8, op, unsigned, d, n, m),
        16 => three_same_for!(u16, i16, op, unsigned, d, n, m),
        32 => three_same_for!(u32, i32, op, unsigned, d, n, m),
        _ => three_same_for!(u64, i64, op, unsigned, d, n, m),
    }
}

/// One width's shifts by immediate. `right` is 1 to esize, `left` 0 to
/// esize - 1 (whichever the operation uses).
macro_rules! shift_for {
    ($u:ty, $s:ty, $op:expr, $unsigned:expr, $right:expr, $left:expr, $d:expr, $n:expr) => {{
        use SimdOp::*;
        const BITS: u32 = <$u>::BITS;
        let (d, n, u, right, left) = ($d, $n, $unsigned, $right, $left);
        // A right shift by the whole width: 0, or the sign in every bit.
        let shr = |a: $u| -> $u {
            if u {
                a.checked_shr(right).unwrap_or(0)
            } else {
                ((a as $s) >> right.min(BITS - 1)) as $u
            }
        };
        Some(match $op {
            ShrImm => each2!($u, $s, n, n, |a: $u, _b: $u| shr(a)),
            SraImm => each2!($u, $s, n, d, |a: $u, acc: $u| acc.wrapping_add(shr(a))),
            ShlImm => each2!($u, $s, n, n, |a: $u, _b: $u| a << left),
            SliImm => each2!($u, $s, n, d, |a: $u, acc: $u| {
                let keep = (1 as $u).checked_shl(left).map_or(0, |b| b - 1);
                (acc & keep) | (a << left)
            }),
            SriImm => each2!($u, $s, n, d, |a: $u, acc: $u| {
                let inserted = (!(0 as $u)).checked_shr(right).unwrap_or(0);
                (acc & !inserted) | (a.checked_shr(right).unwrap_or(0) & inserted)
            }),
            _ => return None,
        })
    }};
}

/// Shifts by immediate, vector (SSHR, USHR, SSRA, USRA, SHL, SLI, SRI).
#[inline]
pub(super) fn shift_imm(
    op: SimdOp,
    esize: u32,
    unsigned: bool,
    right: u32,
    left: u32,
    d: u128,
    n: u128,
) -> Option<u128> {
    match esize {
        8 => shift_for!(u8, i8, op, unsigned, right, left, d, n),
        16 => shift_for!(u16, i16, op, unsigned, right, left, d, n),
        32 => shift_for!(u32, i32, op, unsigned, right, left, d, n),
        _ => shift_for!(u64, i64, op, unsigned, right, left, d, n),
    }
}

/// One width's widening operations: `$nu`/`$ns` the narrow lanes, `$wu`
/// the wide ones. `nh`/`mh` hold the narrow source lanes (the half the
/// instruction reads, in the low 64 bits), `nw` the wide first operand of
/// the W forms, `d` the wide accumulator.
macro_rules! widening_for {
    ($nu:ty, $ns:ty, $wu:ty, $ws:ty, $op:expr, $u:expr, $nh:expr, $mh:expr, $nw:expr, $d:expr) => {{
        use SimdOp::*;
        let u = $u;
        let (a, b) = (lanes!($nu, $nh), lanes!($nu, $mh));
        let (nw, acc) = (lanes!($wu, $nw), lanes!($wu, $d));
        let ext = |v: $nu| -> $wu {
            if u {
                v as $wu
            } else {
                v as $ns as $ws as $wu
            }
        };
        let abd = |x: $nu, y: $nu| -> $wu {
            if u {
                x.abs_diff(y) as $wu
            } else {
                (x as $ns).abs_diff(y as $ns) as $wu
            }
        };
        let mut r = acc;
        for k in 0..r.len() {
            r[k] = match $op {
                AddL => ext(a[k]).wrapping_add(ext(b[k])),
                SubL => ext(a[k]).wrapping_sub(ext(b[k])),
                AddW => nw[k].wrapping_add(ext(b[k])),
                SubW => nw[k].wrapping_sub(ext(b[k])),
                MulL => ext(a[k]).wrapping_mul(ext(b[k])),
                MlaL => acc[k].wrapping_add(ext(a[k]).wrapping_mul(ext(b[k]))),
                MlsL => acc[k].wrapping_sub(ext(a[k]).wrapping_mul(ext(b[k]))),
                AbdL => abd(a[k], b[k]),
                AbaL => acc[k].wrapping_add(abd(a[k], b[k])),
                _ => return None,
            };
        }
        Some(from_lanes!($wu, r))
    }};
}

/// Three different, vector, the widening forms (SADDL/UADDL, SSUBL/USUBL,
/// SADDW/UADDW, SSUBW/USUBW, SMULL/UMULL, SMLAL/UMLAL, SMLSL/UMLSL,
/// SABDL/UABDL, SABAL/UABAL): `nh`/`mh` are the narrow halves read (in the
/// low 64 bits), `nw` the whole first register, `d` the destination. None
/// for the others.
#[inline]
pub(super) fn widening(
    op: SimdOp,
    esize: u32,
    unsigned: bool,
    nh: u128,
    mh: u128,
    nw: u128,
    d: u128,
) -> Option<u128> {
    match esize {
        8 => widening_for!(u8, i8, u16, i16, op, unsigned, nh, mh, nw, d),
        16 => widening_for!(u16, i16, u32, i32, op, unsigned, nh, mh, nw, d),
        32 => widening_for!(u32, i32, u64, i64, op, unsigned, nh, mh, nw, d),
        _ => None,
    }
}

/// SSHLL/USHLL (SXTL/UXTL): the narrow lanes of `nh` (low 64 bits)
/// extended and shifted left by `shift` (at most esize: SHLL shifts by it).
#[inline]
pub(super) fn shift_long(esize: u32, unsigned: bool, shift: u32, nh: u128) -> Option<u128> {
    macro_rules! long {
        ($nu:ty, $ns:ty, $wu:ty, $ws:ty) => {{
            let a = lanes!($nu, nh);
            let mut r = [0 as $wu; 16 / std::mem::size_of::<$wu>()];
            for k in 0..r.len() {
                let v = if unsigned {
                    a[k] as $wu
                } else {
                    a[k] as $ns as $ws as $wu
                };
                r[k] = v << shift;
            }
            Some(from_lanes!($wu, r))
        }};
    }
    match esize {
        8 => long!(u8, i8, u16, i16),
        16 => long!(u16, i16, u32, i32),
        32 => long!(u32, i32, u64, i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::Cpu;
    use crate::decode::{decode, Op};
    use crate::test_rng::Rng;

    /// Runs `word` through the fast and the generic path from the same
    /// random registers; they must agree.
    fn agree(word: u32, rng: &mut Rng, fast: impl Fn(&mut Cpu), generic: impl Fn(&mut Cpu)) {
        let mut a = Cpu::new(0);
        for r in a.regs.v.iter_mut() {
            *r = rng.next() as u128 | (rng.next() as u128) << 64;
        }
        let mut b = Cpu::new(0);
        b.regs = a.regs.clone();
        fast(&mut a);
        generic(&mut b);
        assert_eq!(a.regs.v, b.regs.v, "{word:#010x}");
    }

    #[test]
    fn three_same_fast_path_agrees_with_the_generic_one() {
        use super::super::arith::{three_same, three_same_generic};
        let mut rng = Rng(0x1a9e5);
        // (U, opcode) of ADD, SUB, MUL, MLA, MLS, CMTST, CMEQ, CMGT, CMHI,
        // CMGE, CMHS, SMAX, UMAX, SMIN, UMIN.
        let ops = [
            (0, 0b10000),
            (1, 0b10000),
            (0, 0b10011),
            (0, 0b10010),
            (1, 0b10010),
            (0, 0b10001),
            (1, 0b10001),
            (0, 0b00110),
            (1, 0b00110),
            (0, 0b00111),
            (1, 0b00111),
            (0, 0b01100),
            (1, 0b01100),
            (0, 0b01101),
            (1, 0b01101),
            // AND/BIC/ORR/ORN (U 0) and EOR/BSL/BIT/BIF (U 1), by size.
            (0, 0b00011),
            (1, 0b00011),
        ];
        let mut tried = 0;
        for _ in 0..20_000 {
            let (u, opcode) = ops[rng.next() as usize % ops.len()];
            let r = rng.next() as u32;
            let word = (r & (1 << 30)) // Q
                | (u << 29)
                | (0b01110 << 24)
                | (r & (3 << 22)) // size
                | (1 << 21)
                | (r & (0x1f << 16)) // Rm
                | (opcode << 11)
                | (1 << 10)
                | (r & 0x3ff); // Rn, Rd
            let i = decode(word);
            let Op::Simd(op) = i.op else {
                continue; // e.g. 64-bit MUL: unallocated
            };
            tried += 1;
            agree(
                word,
                &mut rng,
                |c| three_same(c, i, op),
                |c| three_same_generic(c, i, op),
            );
        }
        assert!(tried > 15_000, "{tried}");
    }

    #[test]
    fn shift_imm_fast_path_agrees_with_the_generic_one() {
        use super::super::shift::{shift_imm, shift_imm_generic};
        let mut rng = Rng(0x5417);
        // (U, opcode): SSHR, USHR, SSRA, USRA, SHL, SLI, SRI.
        let ops = [
            (0, 0b00000),
            (1, 0b00000),
            (0, 0b00010),
            (1, 0b00010),
            (0, 0b01010),
            (1, 0b01010),
            (1, 0b01000),
        ];
        let mut tried = 0;
        for _ in 0..20_000 {
            let (u, opcode) = ops[rng.next() as usize % ops.len()];
            let r = rng.next() as u32;
            let immh = 1 + (r >> 24) % 15;
            let word = (r & (1 << 30))
                | (u << 29)
                | (0b011110 << 23)
                | (immh << 19)
                | (r & (7 << 16)) // immb
                | (opcode << 11)
                | (1 << 10)
                | (r & 0x3ff);
            let i = decode(word);
            let Op::Simd(op) = i.op else {
                continue; // 64-bit lanes need Q=1
            };
            tried += 1;
            agree(
                word,
                &mut rng,
                |c| shift_imm(c, i, op),
                |c| shift_imm_generic(c, i, op),
            );
        }
        assert!(tried > 12_000, "{tried}");
    }

    #[test]
    fn widening_fast_paths_agree_with_the_generic_ones() {
        use super::super::arith::{three_different, three_different_generic};
        use super::super::shift::{shift_long, shift_long_generic};
        let mut rng = Rng(0x3d1ff);
        let mut tried = 0;
        for _ in 0..20_000 {
            let r = rng.next() as u32;
            let word = if r & 1 == 0 {
                // Three different: SADDL, SADDW, SSUBL, SSUBW, SABAL, SABDL,
                // SMLAL, SMLSL, SMULL and their U forms, sizes 8-32.
                let opcodes = [0, 1, 2, 3, 5, 7, 8, 10, 12];
                let opcode = opcodes[(r >> 1) as usize % opcodes.len()];
                (r & (1 << 30))
                    | (r & (1 << 29))
                    | (0b01110 << 24)
                    | ((((r >> 22) & 3) % 3) << 22)
                    | (1 << 21)
                    | (r & (0x1f << 16))
                    | (opcode << 12)
                    | (rng.next() as u32 & 0x3ff)
            } else {
                // SSHLL/USHLL with immh 0001-0111.
                let immh = 1 + (r >> 4) % 7;
                (r & (1 << 30))
                    | (r & (1 << 29))
                    | (0b011110 << 23)
                    | (immh << 19)
                    | (((r >> 8) & 7) << 16)
                    | (0b10100 << 11)
                    | (1 << 10)
                    | (rng.next() as u32 & 0x3ff)
            };
            let i = decode(word);
            let Op::Simd(op) = i.op else {
                continue;
            };
            tried += 1;
            if r & 1 == 0 {
                agree(
                    word,
                    &mut rng,
                    |c| three_different(c, i, op),
                    |c| three_different_generic(c, i, op),
                );
            } else {
                agree(
                    word,
                    &mut rng,
                    |c| shift_long(c, i),
                    |c| shift_long_generic(c, i),
                );
            }
        }
        assert!(tried > 15_000, "{tried}");
    }
}
