//! The guest register file. `#[repr(C)]` so that generated code can address every
//! field at a fixed offset from one host register.

/// General-purpose, SIMD&FP and PSTATE registers of one vCPU.
#[repr(C, align(16))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regs {
    /// SIMD&FP registers V0-V31.
    pub v: [u128; 32],
    /// X0-X30, then a slot that always holds zero, so that reading XZR needs no
    /// branch. SP is kept in `sp_el`. Write through [`Regs::set_xr`], which keeps
    /// the zero slot zero.
    pub x: [u64; 32],
    /// SP_EL0 and SP_EL1.
    pub sp_el: [u64; 2],
    pub pc: u64,
    /// PSTATE.{N,Z,C,V} in bits 31:28, as in the NZCV register.
    pub nzcv: u32,
    /// PSTATE.{D,A,I,F} in bits 9:6, as in the DAIF register.
    pub daif: u32,
    pub fpcr: u32,
    pub fpsr: u32,
    /// PSTATE.EL: 0 or 1.
    pub el: u8,
    /// PSTATE.SP: 1 selects SP_ELx at EL1.
    pub sp_sel: u8,
    /// PSTATE.IL: set by an illegal exception return.
    pub il: u8,
    /// PSTATE.SS (software step); kept only to round-trip SPSR.
    pub ss: u8,
}

pub const NZCV_N: u32 = 1 << 31;
pub const NZCV_Z: u32 = 1 << 30;
pub const NZCV_C: u32 = 1 << 29;
pub const NZCV_V: u32 = 1 << 28;

pub const DAIF_D: u32 = 1 << 9;
pub const DAIF_A: u32 = 1 << 8;
pub const DAIF_I: u32 = 1 << 7;
pub const DAIF_F: u32 = 1 << 6;

/// FPSR cumulative exception bits (ARM ARM D19.2 FPSR).
pub mod fpsr {
    pub const IOC: u32 = 1 << 0;
    pub const DZC: u32 = 1 << 1;
    pub const OFC: u32 = 1 << 2;
    pub const UFC: u32 = 1 << 3;
    pub const IXC: u32 = 1 << 4;
    pub const IDC: u32 = 1 << 7;
    pub const QC: u32 = 1 << 27;
}

/// FPCR control bits (ARM ARM D19.2 FPCR).
pub mod fpcr {
    pub const AHP: u32 = 1 << 26;
    pub const DN: u32 = 1 << 25;
    pub const FZ: u32 = 1 << 24;
    pub const RMODE_SHIFT: u32 = 22;
    /// Bits that are writable: AHP, DN, FZ, RMode (the trap enables are RAZ/WI since
    /// armvm does not implement floating-point exception trapping).
    pub const WRITABLE: u32 = 0x07c0_0000;
}

impl Default for Regs {
    fn default() -> Self {
        Regs {
            v: [0; 32],
            x: [0; 32],
            sp_el: [0; 2],
            pc: 0,
            nzcv: 0,
            daif: DAIF_D | DAIF_A | DAIF_I | DAIF_F,
            fpcr: 0,
            fpsr: 0,
            el: 1,
            sp_sel: 1,
            il: 0,
            ss: 0,
        }
    }
}

impl Regs {
    /// Reads Xn, where 31 is XZR.
    #[inline(always)]
    pub fn xr(&self, n: usize) -> u64 {
        self.x[n & 31]
    }
    /// Writes Xn, where 31 is XZR (discarded).
    #[inline(always)]
    pub fn set_xr(&mut self, n: usize, value: u64) {
        // Two stores instead of a branch on n.
        self.x[n & 31] = value;
        self.x[31] = 0;
    }
    /// The stack pointer in use.
    #[inline(always)]
    pub fn sp(&self) -> u64 {
        self.sp_el[self.sp_index()]
    }
    #[inline(always)]
    pub fn set_sp(&mut self, value: u64) {
        let i = self.sp_index();
        self.sp_el[i] = value;
    }
    #[inline(always)]
    fn sp_index(&self) -> usize {
        (self.el & self.sp_sel) as usize
    }
    /// Reads Xn, where 31 is SP.
    #[inline(always)]
    pub fn xsp(&self, n: usize) -> u64 {
        if n == 31 {
            self.sp()
        } else {
            self.x[n]
        }
    }
    /// Writes Xn, where 31 is SP.
    #[inline(always)]
    pub fn set_xsp(&mut self, n: usize, value: u64) {
        if n == 31 {
            self.set_sp(value)
        } else {
            self.x[n] = value
        }
    }
    /// PSTATE as saved into SPSR_EL1 (AArch64 format).
    pub fn spsr(&self) -> u64 {
        let m = match (self.el, self.sp_sel) {
            (0, _) => 0b0000,
            (_, 0) => 0b0100,
            _ => 0b0101,
        };
        (self.nzcv as u64)
            | (self.daif as u64)
            | m
            | ((self.il as u64) << 20)
            | ((self.ss as u64) << 21)
    }
    /// Whether condition `cond` (ARM ARM C1.2.4) holds for the current flags.
    #[inline(always)]
    pub fn condition_holds(&self, cond: u32) -> bool {
        condition_holds(self.nzcv, cond)
    }
}

/// ConditionHolds() for flags in NZCV-register format.
#[inline(always)]
pub fn condition_holds(nzcv: u32, cond: u32) -> bool {
    (CONDITION_TABLE[(cond & 15) as usize] >> (nzcv >> 28)) & 1 != 0
}

/// For each condition, a 16-bit set of the NZCV values (bit `nzcv`) for which
/// it holds: ConditionHolds() evaluated once for every input.
const CONDITION_TABLE: [u16; 16] = {
    let mut table = [0u16; 16];
    let mut cond = 0;
    while cond < 16 {
        let mut flags = 0;
        while flags < 16 {
            if condition_holds_slow(flags << 28, cond) {
                table[cond as usize] |= 1 << flags;
            }
            flags += 1;
        }
        cond += 1;
    }
    table
};

/// ConditionHolds() as the ARM ARM writes it.
const fn condition_holds_slow(nzcv: u32, cond: u32) -> bool {
    let n = nzcv & NZCV_N != 0;
    let z = nzcv & NZCV_Z != 0;
    let c = nzcv & NZCV_C != 0;
    let v = nzcv & NZCV_V != 0;
    let result = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => true,
    };
    if cond & 1 == 1 && cond != 0b1111 {
        !result
    } else {
        result
    }
}
