//! The cryptographic extension of ARMv8.0 (FEAT_AES, FEAT_PMULL, FEAT_SHA1,
//! FEAT_SHA256): AESE/AESD/AESMC/AESIMC, PMULL/PMULL2 (64x64 -> 128),
//! SHA1C/P/M/H/SU0/SU1 and SHA256H/H2/SU0/SU1, following the ARM ARM's
//! pseudocode (C7.2 and the shared functions AESSubBytes, SHA256hash, ...).
//!
//! Exact software implementations; the AES tables are computed once from
//! the field arithmetic rather than written out. On x86-64 hosts with AES-NI
//! and PCLMULQDQ (detected at run time) AES and PMULL run on those
//! instructions instead (`host`), with the same results. SHA stays in
//! software: SHA-NI's round instructions split the work differently from
//! SHA1C/SHA256H and would need as many fix-ups as they save.

use std::sync::OnceLock;

use crate::cpu::Cpu;
use crate::decode::Insn;

// ---- AES

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

/// The S-box and its inverse: the multiplicative inverse, then the affine
/// transformation (FIPS-197, 5.1.1).
fn sboxes() -> &'static ([u8; 256], [u8; 256]) {
    static TABLES: OnceLock<([u8; 256], [u8; 256])> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut sbox = [0u8; 256];
        let mut inv = [0u8; 256];
        for x in 0..=255u8 {
            let mut inverse = 0u8;
            if x != 0 {
                inverse = (1..=255u8).find(|&y| gf_mul(x, y) == 1).unwrap_or(0);
            }
            let b = inverse;
            let s = b
                ^ b.rotate_left(1)
                ^ b.rotate_left(2)
                ^ b.rotate_left(3)
                ^ b.rotate_left(4)
                ^ 0x63;
            sbox[x as usize] = s;
            inv[s as usize] = x;
        }
        (sbox, inv)
    })
}

/// The state as bytes: byte `4 * column + row`, as the ARM ARM numbers them.
fn bytes(v: u128) -> [u8; 16] {
    v.to_le_bytes()
}

fn shift_rows(s: [u8; 16], inverse: bool) -> [u8; 16] {
    let mut out = [0u8; 16];
    for c in 0..4 {
        for r in 0..4 {
            let from = if inverse {
                (c + 4 - r) % 4
            } else {
                (c + r) % 4
            };
            out[4 * c + r] = s[4 * from + r];
        }
    }
    out
}

fn mix_columns(s: [u8; 16], inverse: bool) -> [u8; 16] {
    let m: [u8; 4] = if inverse {
        [14, 11, 13, 9]
    } else {
        [2, 3, 1, 1]
    };
    let mut out = [0u8; 16];
    for c in 0..4 {
        for r in 0..4 {
            out[4 * c + r] =
                (0..4).fold(0, |acc, k| acc ^ gf_mul(m[(k + 4 - r) % 4], s[4 * c + k]));
        }
    }
    out
}

/// AESE, AESD, AESMC, AESIMC (opcode bits 13:12 after the fixed 001).
pub(super) fn aes(cpu: &mut Cpu, i: Insn) {
    let (d, n) = (cpu.regs.v[i.rd()], cpu.regs.v[i.rn()]);
    let op = i.bits(13, 12);
    cpu.regs.v[i.rd()] = match host::aes(op, d, n) {
        Some(v) => v,
        None => aes_soft(op, d, n),
    };
}

/// AESE (op 0), AESD (1), AESMC (2), AESIMC (3) in software.
fn aes_soft(op: u32, d: u128, n: u128) -> u128 {
    let (sbox, inv) = sboxes();
    let result = match op {
        // AESE: AddRoundKey, ShiftRows, SubBytes.
        0 => shift_rows(bytes(d ^ n), false).map(|b| sbox[b as usize]),
        // AESD: AddRoundKey, InvShiftRows, InvSubBytes.
        1 => shift_rows(bytes(d ^ n), true).map(|b| inv[b as usize]),
        2 => mix_columns(bytes(n), false),
        _ => mix_columns(bytes(n), true),
    };
    u128::from_le_bytes(result)
}

// ---- PMULL (64-bit)

/// Carry-less product of two 64-bit polynomials.
fn clmul(a: u64, b: u64) -> u128 {
    (0..64)
        .filter(|k| b >> k & 1 != 0)
        .fold(0u128, |acc, k| acc ^ ((a as u128) << k))
}

/// PMULL/PMULL2 Vd.1Q, Vn.1D/2D, Vm.1D/2D.
pub(super) fn pmull64(cpu: &mut Cpu, i: Insn) {
    let shift = if i.bit(30) { 64 } else { 0 };
    let n = (cpu.regs.v[i.rn()] >> shift) as u64;
    let m = (cpu.regs.v[i.rm()] >> shift) as u64;
    cpu.regs.v[i.rd()] = host::clmul(n, m).unwrap_or_else(|| clmul(n, m));
}

/// AES and carry-less multiplication on the host's instructions, when it has
/// them; None otherwise.
#[cfg(target_arch = "x86_64")]
mod host {
    use std::arch::x86_64::*;

    fn has_aes() -> bool {
        std::arch::is_x86_feature_detected!("aes")
    }

    fn has_clmul() -> bool {
        std::arch::is_x86_feature_detected!("pclmulqdq")
    }

    // A vector register's bytes are numbered as the guest's (both hosts and
    // guests are little-endian here), so a u128 moves straight across.
    fn xmm(v: u128) -> __m128i {
        // SAFETY: both types are 16 plain bytes.
        unsafe { std::mem::transmute::<u128, __m128i>(v) }
    }

    fn u128_of(v: __m128i) -> u128 {
        // SAFETY: as in `xmm`.
        unsafe { std::mem::transmute::<__m128i, u128>(v) }
    }

    pub fn aes(op: u32, d: u128, n: u128) -> Option<u128> {
        // SAFETY: AES-NI is present (checked just before).
        has_aes().then(|| unsafe { aes_ni(op, d, n) })
    }

    /// AESE is AESENCLAST with a zero key after the key addition (ShiftRows
    /// and SubBytes commute); AESD likewise with AESDECLAST; MixColumns alone
    /// is AESENC (zero key) after AESDECLAST (zero key) undoes its
    /// ShiftRows and SubBytes; AESIMC is the host's AESIMC.
    #[target_feature(enable = "aes")]
    unsafe fn aes_ni(op: u32, d: u128, n: u128) -> u128 {
        let zero = _mm_setzero_si128();
        let x = xmm(d ^ n);
        u128_of(match op {
            0 => _mm_aesenclast_si128(x, zero),
            1 => _mm_aesdeclast_si128(x, zero),
            2 => _mm_aesenc_si128(_mm_aesdeclast_si128(xmm(n), zero), zero),
            _ => _mm_aesimc_si128(xmm(n)),
        })
    }

    pub fn clmul(a: u64, b: u64) -> Option<u128> {
        // SAFETY: PCLMULQDQ is present (checked just before).
        has_clmul().then(|| unsafe { pclmul(a, b) })
    }

    #[target_feature(enable = "pclmulqdq")]
    unsafe fn pclmul(a: u64, b: u64) -> u128 {
        u128_of(_mm_clmulepi64_si128(xmm(a as u128), xmm(b as u128), 0x00))
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod host {
    pub fn aes(_op: u32, _d: u128, _n: u128) -> Option<u128> {
        None
    }
    pub fn clmul(_a: u64, _b: u64) -> Option<u128> {
        None
    }
}

// ---- SHA

fn word(v: u128, e: u32) -> u32 {
    (v >> (32 * e)) as u32
}

fn with_word(v: u128, e: u32, w: u32) -> u128 {
    (v & !(0xffff_ffffu128 << (32 * e))) | ((w as u128) << (32 * e))
}

fn choose(x: u32, y: u32, z: u32) -> u32 {
    ((y ^ z) & x) ^ z
}

fn parity(x: u32, y: u32, z: u32) -> u32 {
    x ^ y ^ z
}

fn majority(x: u32, y: u32, z: u32) -> u32 {
    (x & y) | ((x | y) & z)
}

/// SHA1C/SHA1P/SHA1M: four rounds on (Qd, Sn) with Vm's schedule words.
fn sha1_rounds(mut x: u128, mut y: u32, w: u128, f: fn(u32, u32, u32) -> u32) -> u128 {
    for e in 0..4 {
        let t = f(word(x, 1), word(x, 2), word(x, 3));
        y = y
            .wrapping_add(word(x, 0).rotate_left(5))
            .wrapping_add(t)
            .wrapping_add(word(w, e));
        x = with_word(x, 1, word(x, 1).rotate_left(30));
        // <Y, X> = ROL(Y:X, 32): a 160-bit rotation.
        let top = word(x, 3);
        x = (x << 32) | y as u128;
        y = top;
    }
    x
}

fn sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}

fn sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}

/// SHA256hash(X, Y, W, part1): four rounds; X or Y as the result.
fn sha256_hash(mut x: u128, mut y: u128, w: u128, part1: bool) -> u128 {
    for e in 0..4 {
        let chs = choose(word(y, 0), word(y, 1), word(y, 2));
        let maj = majority(word(x, 0), word(x, 1), word(x, 2));
        let t = word(y, 3)
            .wrapping_add(sigma1(word(y, 0)))
            .wrapping_add(chs)
            .wrapping_add(word(w, e));
        x = with_word(x, 3, t.wrapping_add(word(x, 3)));
        y = with_word(y, 3, t.wrapping_add(sigma0(word(x, 0))).wrapping_add(maj));
        // <Y, X> = ROL(Y:X, 32): a 256-bit rotation.
        let (x_top, y_top) = (word(x, 3), word(y, 3));
        x = (x << 32) | y_top as u128;
        y = (y << 32) | x_top as u128;
    }
    if part1 {
        x
    } else {
        y
    }
}

/// The three-register SHA instructions (opcode in bits 14:12).
pub(super) fn sha_three(cpu: &mut Cpu, i: Insn) {
    let (d, n, m) = (cpu.regs.v[i.rd()], cpu.regs.v[i.rn()], cpu.regs.v[i.rm()]);
    let result = match i.bits(14, 12) {
        0 => sha1_rounds(d, n as u32, m, choose),
        1 => sha1_rounds(d, n as u32, m, parity),
        2 => sha1_rounds(d, n as u32, m, majority),
        // SHA1SU0
        3 => ((n << 64) | (d >> 64)) ^ d ^ m,
        4 => sha256_hash(d, n, m, true),
        5 => sha256_hash(n, d, m, false),
        // SHA256SU1
        _ => {
            let t0 = (m << 96) | (n >> 32);
            let mut r = 0u128;
            for e in 0..4 {
                let src = if e < 2 {
                    word(m, e + 2)
                } else {
                    word(r, e - 2)
                };
                let s = src.rotate_right(17) ^ src.rotate_right(19) ^ (src >> 10);
                r = with_word(r, e, s.wrapping_add(word(d, e)).wrapping_add(word(t0, e)));
            }
            r
        }
    };
    cpu.regs.v[i.rd()] = result;
}

/// The two-register SHA instructions (opcode in bits 16:12).
pub(super) fn sha_two(cpu: &mut Cpu, i: Insn) {
    let (d, n) = (cpu.regs.v[i.rd()], cpu.regs.v[i.rn()]);
    let result = match i.bits(13, 12) {
        // SHA1H: a scalar result, the rest of the register cleared.
        0 => (n as u32).rotate_left(30) as u128,
        // SHA1SU1
        1 => {
            let t = d ^ (n >> 32);
            let mut r = 0u128;
            for e in 0..4 {
                r = with_word(r, e, word(t, e).rotate_left(1));
            }
            with_word(r, 3, word(r, 3) ^ word(t, 0).rotate_left(2))
        }
        // SHA256SU0
        _ => {
            let t = (n << 96) | (d >> 32);
            let mut r = 0u128;
            for e in 0..4 {
                let x = word(t, e);
                let s = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
                r = with_word(r, e, s.wrapping_add(word(d, e)));
            }
            r
        }
    };
    cpu.regs.v[i.rd()] = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbox_matches_fips_197() {
        let (sbox, inv) = sboxes();
        assert_eq!(sbox[0x00], 0x63);
        assert_eq!(sbox[0x53], 0xed);
        assert_eq!(sbox[0xff], 0x16);
        for x in 0..=255u8 {
            assert_eq!(inv[sbox[x as usize] as usize], x);
        }
    }

    #[test]
    fn mix_columns_round_trips_and_matches_the_standard_example() {
        // FIPS-197 appendix B, round 1: a column before and after MixColumns.
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&[0xd4, 0xbf, 0x5d, 0x30]);
        assert_eq!(&mix_columns(s, false)[..4], &[0x04, 0x66, 0x81, 0xe5]);
        let x: [u8; 16] = core::array::from_fn(|k| (k as u8).wrapping_mul(37));
        assert_eq!(mix_columns(mix_columns(x, false), true), x);
    }

    #[test]
    fn host_instructions_agree_with_software() {
        let mut rng = crate::test_rng::Rng(0xae5);
        let mut wide = || rng.next() as u128 | (rng.next() as u128) << 64;
        for _ in 0..2000 {
            let (d, n) = (wide(), wide());
            for op in 0..4 {
                if let Some(fast) = host::aes(op, d, n) {
                    assert_eq!(fast, aes_soft(op, d, n), "op {op} {d:#x} {n:#x}");
                }
            }
            let (a, b) = (d as u64, n as u64);
            if let Some(fast) = host::clmul(a, b) {
                assert_eq!(fast, clmul(a, b), "{a:#x} {b:#x}");
            }
        }
    }

    #[test]
    fn carry_less_multiplication() {
        assert_eq!(clmul(0b11, 0b11), 0b101);
        assert_eq!(clmul(u64::MAX, 2), (u64::MAX as u128) << 1);
        assert_eq!(clmul(1 << 63, 1 << 63), 1 << 126);
    }
}
