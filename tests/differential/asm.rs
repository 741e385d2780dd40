//! Encoders for the few fixed instructions the harness itself emits (prologue,
//! epilogue, syscalls), and helpers to read and patch instruction fields.

/// Bits `hi..=lo` of `w`.
pub fn field(w: u32, hi: u32, lo: u32) -> u32 {
    (w >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

/// `w` with bits `hi..=lo` replaced by `v` (truncated to the field).
pub fn set_field(w: u32, hi: u32, lo: u32, v: u32) -> u32 {
    let m = ((1u32 << (hi - lo + 1)) - 1) << lo;
    (w & !m) | ((v << lo) & m)
}

pub fn sext(v: u32, bits: u32) -> i64 {
    ((v as i64) << (64 - bits)) >> (64 - bits)
}

pub const XZR: u32 = 31;

pub fn movz(rd: u32, imm16: u32, hw: u32) -> u32 {
    0xd280_0000 | (hw << 21) | ((imm16 & 0xffff) << 5) | rd
}
pub fn movk(rd: u32, imm16: u32, hw: u32) -> u32 {
    0xf280_0000 | (hw << 21) | ((imm16 & 0xffff) << 5) | rd
}
/// Loads a 32-bit unsigned constant into Xd (two instructions).
pub fn mov32(rd: u32, v: u32) -> [u32; 2] {
    [movz(rd, v & 0xffff, 0), movk(rd, v >> 16, 1)]
}
/// LDR Xt, [Xn, #off] (unsigned offset, multiple of 8).
pub fn ldr_x(rt: u32, rn: u32, off: u32) -> u32 {
    debug_assert!(off.is_multiple_of(8) && off / 8 < 4096);
    0xf940_0000 | ((off / 8) << 10) | (rn << 5) | rt
}
pub fn str_x(rt: u32, rn: u32, off: u32) -> u32 {
    debug_assert!(off.is_multiple_of(8) && off / 8 < 4096);
    0xf900_0000 | ((off / 8) << 10) | (rn << 5) | rt
}
fn pair(base: u32, rt: u32, rt2: u32, rn: u32, off: u32, scale: u32) -> u32 {
    debug_assert!(off.is_multiple_of(scale) && off / scale < 64);
    base | ((off / scale) << 15) | (rt2 << 10) | (rn << 5) | rt
}
/// LDP Xt, Xt2, [Xn, #off] (signed offset).
pub fn ldp_x(rt: u32, rt2: u32, rn: u32, off: u32) -> u32 {
    pair(0xa940_0000, rt, rt2, rn, off, 8)
}
pub fn stp_x(rt: u32, rt2: u32, rn: u32, off: u32) -> u32 {
    pair(0xa900_0000, rt, rt2, rn, off, 8)
}
/// LDP Qt, Qt2, [Xn, #off].
pub fn ldp_q(rt: u32, rt2: u32, rn: u32, off: u32) -> u32 {
    pair(0xad40_0000, rt, rt2, rn, off, 16)
}
pub fn stp_q(rt: u32, rt2: u32, rn: u32, off: u32) -> u32 {
    pair(0xad00_0000, rt, rt2, rn, off, 16)
}
/// ADD Xd|SP, Xn|SP, #imm12.
pub fn add_imm(rd: u32, rn: u32, imm: u32) -> u32 {
    0x9100_0000 | ((imm & 0xfff) << 10) | (rn << 5) | rd
}
/// ADR Xd, #off (bytes from this instruction).
pub fn adr(rd: u32, off: i64) -> u32 {
    let off = off as u32;
    0x1000_0000 | ((off & 3) << 29) | (((off >> 2) & 0x7ffff) << 5) | rd
}

/// System register keys (op0:op1:CRn:CRm:op2) the harness moves.
pub const NZCV: u32 = sysreg(3, 3, 4, 2, 0);
pub const FPCR: u32 = sysreg(3, 3, 4, 4, 0);
pub const FPSR: u32 = sysreg(3, 3, 4, 4, 1);
pub const TPIDR_EL0: u32 = sysreg(3, 3, 13, 0, 2);
pub const CTR_EL0: u32 = sysreg(3, 3, 0, 0, 1);
pub const DCZID_EL0: u32 = sysreg(3, 3, 0, 0, 7);

pub const fn sysreg(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}
pub fn msr(key: u32, rt: u32) -> u32 {
    0xd500_0000 | (key << 5) | rt
}
pub fn mrs(rt: u32, key: u32) -> u32 {
    0xd520_0000 | (key << 5) | rt
}
/// SYS #op1, Cn, Cm, #op2, Xt (DC/IC by VA).
pub fn sys(op1: u32, crn: u32, crm: u32, op2: u32, rt: u32) -> u32 {
    0xd508_0000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt
}
pub fn hint(imm: u32) -> u32 {
    0xd503_201f | ((imm & 0x7f) << 5)
}
pub const CLREX: u32 = 0xd503_3f5f;
pub fn dmb(crm: u32) -> u32 {
    0xd503_30bf | ((crm & 15) << 8)
}
pub fn dsb(crm: u32) -> u32 {
    0xd503_309f | ((crm & 15) << 8)
}
pub const ISB: u32 = 0xd503_3fdf;
pub const SVC0: u32 = 0xd400_0001;
pub const HVC0: u32 = 0xd400_0002;
/// AND Xd, Xn, #~0x3000_0000 (N=1, immr=34, imms=61): clears CTR_EL0.{DIC,IDC}.
pub fn and_clear_bits_29_28(rd: u32, rn: u32) -> u32 {
    0x9240_0000 | (1 << 22) | (34 << 16) | (61 << 10) | (rn << 5) | rd
}

/// Branch offset fields, in instructions: `(hi, lo)` of the immediate.
pub fn branch_imm_field(w: u32) -> Option<(u32, u32)> {
    if w & 0x7c00_0000 == 0x1400_0000 {
        Some((25, 0)) // B, BL
    } else if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 {
        Some((23, 5)) // B.cond, CBZ/CBNZ
    } else if w & 0x7e00_0000 == 0x3600_0000 {
        Some((18, 5)) // TBZ/TBNZ
    } else {
        None
    }
}

/// Checks the encoders against capstone; run at start-up, since a wrong prologue
/// would make every case meaningless.
pub fn self_check() -> Result<(), String> {
    use capstone::prelude::*;
    let cs = Capstone::new()
        .arm64()
        .mode(capstone::arch::arm64::ArchMode::Arm)
        .build()
        .map_err(|e| e.to_string())?;
    let dis = |w: u32| -> String {
        cs.disasm_count(&w.to_le_bytes(), 0x1000, 1)
            .ok()
            .and_then(|insns| {
                insns.iter().next().map(|i| {
                    format!(
                        "{} {}",
                        i.mnemonic().unwrap_or(""),
                        i.op_str().unwrap_or("")
                    )
                    .trim_end()
                    .to_string()
                })
            })
            .unwrap_or_default()
    };
    let cases: &[(u32, &str)] = &[
        (movz(3, 0x1234, 0), "mov x3, #0x1234"),
        (movk(3, 0x40, 1), "movk x3, #0x40, lsl #16"),
        (ldr_x(0, 30, 256), "ldr x0, [x30, #0x100]"),
        (str_x(1, 0, 272), "str x1, [x0, #0x110]"),
        (ldp_x(28, 29, 30, 224), "ldp x28, x29, [x30, #0xe0]"),
        (stp_x(1, 2, 0, 8), "stp x1, x2, [x0, #8]"),
        (ldp_q(30, 31, 30, 768), "ldp q30, q31, [x30, #0x300]"),
        (stp_q(0, 1, 0, 288), "stp q0, q1, [x0, #0x120]"),
        (add_imm(31, 0, 0), "mov sp, x0"),
        (add_imm(1, 31, 0), "mov x1, sp"),
        (msr(NZCV, 0), "msr nzcv, x0"),
        (mrs(1, FPSR), "mrs x1, fpsr"),
        (msr(TPIDR_EL0, 0), "msr tpidr_el0, x0"),
        (mrs(2, CTR_EL0), "mrs x2, ctr_el0"),
        (mrs(2, DCZID_EL0), "mrs x2, dczid_el0"),
        (sys(3, 7, 4, 1, 5), "dc zva, x5"),
        (sys(3, 7, 5, 1, 5), "ic ivau, x5"),
        (hint(0), "nop"),
        (CLREX, "clrex"),
        (dmb(11), "dmb ish"),
        (dsb(15), "dsb sy"),
        (ISB, "isb"),
        (SVC0, "svc #0"),
        (HVC0, "hvc #0"),
        (
            and_clear_bits_29_28(2, 2),
            "and x2, x2, #0xffffffffcfffffff",
        ),
        (adr(5, 8), "adr x5, #0x1008"),
    ];
    for &(w, want) in cases {
        let got = dis(w);
        if got != want {
            return Err(format!(
                "encoder: {w:#010x} is \"{got}\", expected \"{want}\""
            ));
        }
    }
    Ok(())
}
