//! AArch64 system registers of the EL1&0 regime: storage, ID values, and the access
//! rules of MRS/MSR (ARM ARM D19, "AArch64 System Register Descriptions").
//!
//! A register is named by its encoding key `op0:op1:CRn:CRm:op2`, the 16 bits that
//! MRS/MSR carry in bits 20:5.

/// Builds an encoding key from its fields.
pub const fn key(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}

// Identification registers.
pub const MIDR_EL1: u32 = key(3, 0, 0, 0, 0);
pub const MPIDR_EL1: u32 = key(3, 0, 0, 0, 5);
pub const REVIDR_EL1: u32 = key(3, 0, 0, 0, 6);
pub const ID_AA64PFR0_EL1: u32 = key(3, 0, 0, 4, 0);
pub const ID_AA64DFR0_EL1: u32 = key(3, 0, 0, 5, 0);
pub const ID_AA64ISAR0_EL1: u32 = key(3, 0, 0, 6, 0);
pub const ID_AA64MMFR0_EL1: u32 = key(3, 0, 0, 7, 0);
pub const CCSIDR_EL1: u32 = key(3, 1, 0, 0, 0);
pub const CLIDR_EL1: u32 = key(3, 1, 0, 0, 1);
pub const AIDR_EL1: u32 = key(3, 1, 0, 0, 7);
pub const CSSELR_EL1: u32 = key(3, 2, 0, 0, 0);
pub const CTR_EL0: u32 = key(3, 3, 0, 0, 1);
pub const DCZID_EL0: u32 = key(3, 3, 0, 0, 7);
// Control and translation.
pub const SCTLR_EL1: u32 = key(3, 0, 1, 0, 0);
pub const ACTLR_EL1: u32 = key(3, 0, 1, 0, 1);
pub const CPACR_EL1: u32 = key(3, 0, 1, 0, 2);
pub const TTBR0_EL1: u32 = key(3, 0, 2, 0, 0);
pub const TTBR1_EL1: u32 = key(3, 0, 2, 0, 1);
pub const TCR_EL1: u32 = key(3, 0, 2, 0, 2);
pub const MAIR_EL1: u32 = key(3, 0, 10, 2, 0);
pub const AMAIR_EL1: u32 = key(3, 0, 10, 3, 0);
pub const CONTEXTIDR_EL1: u32 = key(3, 0, 13, 0, 1);
// Exception handling.
pub const SPSR_EL1: u32 = key(3, 0, 4, 0, 0);
pub const ELR_EL1: u32 = key(3, 0, 4, 0, 1);
pub const SP_EL0: u32 = key(3, 0, 4, 1, 0);
pub const SPSEL: u32 = key(3, 0, 4, 2, 0);
pub const CURRENTEL: u32 = key(3, 0, 4, 2, 2);
pub const AFSR0_EL1: u32 = key(3, 0, 5, 1, 0);
pub const AFSR1_EL1: u32 = key(3, 0, 5, 1, 1);
pub const ESR_EL1: u32 = key(3, 0, 5, 2, 0);
pub const FAR_EL1: u32 = key(3, 0, 6, 0, 0);
pub const PAR_EL1: u32 = key(3, 0, 7, 4, 0);
pub const VBAR_EL1: u32 = key(3, 0, 12, 0, 0);
pub const ISR_EL1: u32 = key(3, 0, 12, 1, 0);
// PSTATE and FP.
pub const NZCV: u32 = key(3, 3, 4, 2, 0);
pub const DAIF: u32 = key(3, 3, 4, 2, 1);
pub const FPCR: u32 = key(3, 3, 4, 4, 0);
pub const FPSR: u32 = key(3, 3, 4, 4, 1);
// Thread IDs.
pub const TPIDR_EL1: u32 = key(3, 0, 13, 0, 4);
pub const TPIDR_EL0: u32 = key(3, 3, 13, 0, 2);
pub const TPIDRRO_EL0: u32 = key(3, 3, 13, 0, 3);
// Generic timer.
pub const CNTKCTL_EL1: u32 = key(3, 0, 14, 1, 0);
pub const CNTFRQ_EL0: u32 = key(3, 3, 14, 0, 0);
pub const CNTPCT_EL0: u32 = key(3, 3, 14, 0, 1);
pub const CNTVCT_EL0: u32 = key(3, 3, 14, 0, 2);
pub const CNTP_TVAL_EL0: u32 = key(3, 3, 14, 2, 0);
pub const CNTP_CTL_EL0: u32 = key(3, 3, 14, 2, 1);
pub const CNTP_CVAL_EL0: u32 = key(3, 3, 14, 2, 2);
pub const CNTV_TVAL_EL0: u32 = key(3, 3, 14, 3, 0);
pub const CNTV_CTL_EL0: u32 = key(3, 3, 14, 3, 1);
pub const CNTV_CVAL_EL0: u32 = key(3, 3, 14, 3, 2);
// Debug (self-hosted debug is cpu/src/selfdebug.rs).
pub const MDRAR_EL1: u32 = key(2, 0, 1, 0, 0);
pub const DBGPRCR_EL1: u32 = key(2, 0, 1, 4, 4);
pub const DBGCLAIMSET_EL1: u32 = key(2, 0, 7, 8, 6);
pub const DBGCLAIMCLR_EL1: u32 = key(2, 0, 7, 9, 6);
pub const DBGAUTHSTATUS_EL1: u32 = key(2, 0, 7, 14, 6);
pub const DBGDTR_EL0: u32 = key(2, 3, 0, 4, 0);
pub const DBGDTRRX_EL0: u32 = key(2, 3, 0, 5, 0);
pub const MDSCR_EL1: u32 = key(2, 0, 0, 2, 2);
pub const MDCCINT_EL1: u32 = key(2, 0, 0, 2, 0);
pub const OSLAR_EL1: u32 = key(2, 0, 1, 0, 4);
pub const OSLSR_EL1: u32 = key(2, 0, 1, 1, 4);
pub const OSDLR_EL1: u32 = key(2, 0, 1, 3, 4);
pub const MDCCSR_EL0: u32 = key(2, 3, 0, 1, 0);

/// Hardware breakpoints (ID_AA64DFR0_EL1.BRPs + 1) and watchpoints (WRPs + 1).
pub const BREAKPOINTS: usize = 6;
pub const WATCHPOINTS: usize = 4;

/// ID values common to every CPU model (the others are in [`crate::model`]).
pub mod id {
    pub const PA_BITS: u32 = 48;
    /// DC ZVA block of 64 bytes.
    pub const DCZID_BLOCK_LOG2_WORDS: u64 = 4;
    pub const DCZ_BLOCK_BYTES: u64 = 64;
}

/// SCTLR_EL1 bits that armvm acts on.
pub mod sctlr {
    pub const M: u64 = 1 << 0;
    pub const A: u64 = 1 << 1;
    pub const C: u64 = 1 << 2;
    pub const SA: u64 = 1 << 3;
    pub const SA0: u64 = 1 << 4;
    pub const UMA: u64 = 1 << 9;
    pub const I: u64 = 1 << 12;
    pub const DZE: u64 = 1 << 14;
    pub const UCT: u64 = 1 << 15;
    pub const NTWI: u64 = 1 << 16;
    pub const NTWE: u64 = 1 << 18;
    pub const WXN: u64 = 1 << 19;
    pub const UCI: u64 = 1 << 26;
    /// RES1 bits in ARMv8.0 (11, 20, 22, 23, 28, 29).
    pub const RES1: u64 = 0x30d0_0800;
}

/// The system registers of one vCPU that are plain storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysRegs {
    pub sctlr: u64,
    pub actlr: u64,
    pub cpacr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
    pub tcr: u64,
    pub mair: u64,
    pub amair: u64,
    pub contextidr: u64,
    pub spsr: u64,
    pub elr: u64,
    pub afsr0: u64,
    pub afsr1: u64,
    pub esr: u64,
    pub far: u64,
    pub par: u64,
    pub vbar: u64,
    pub csselr: u64,
    pub tpidr_el1: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
    pub cntkctl: u64,
    pub cntp_ctl: u64,
    pub cntp_cval: u64,
    pub cntv_ctl: u64,
    pub cntv_cval: u64,
    pub mdscr: u64,
    pub mdccint: u64,
    pub oslsr: u64,
    pub osdlr: u64,
    pub dbgprcr: u64,
    pub dbgclaim: u64,
    pub dbgbcr: [u64; BREAKPOINTS],
    pub dbgbvr: [u64; BREAKPOINTS],
    pub dbgwcr: [u64; WATCHPOINTS],
    pub dbgwvr: [u64; WATCHPOINTS],
}

impl Default for SysRegs {
    fn default() -> Self {
        SysRegs {
            sctlr: sctlr::RES1,
            actlr: 0,
            cpacr: 0,
            ttbr0: 0,
            ttbr1: 0,
            tcr: 0,
            mair: 0,
            amair: 0,
            contextidr: 0,
            spsr: 0,
            elr: 0,
            afsr0: 0,
            afsr1: 0,
            esr: 0,
            far: 0,
            par: 0,
            vbar: 0,
            csselr: 0,
            tpidr_el1: 0,
            tpidr_el0: 0,
            tpidrro_el0: 0,
            cntkctl: 0,
            cntp_ctl: 0,
            cntp_cval: 0,
            cntv_ctl: 0,
            cntv_cval: 0,
            mdscr: 0,
            mdccint: 0,
            // OS lock is locked out of reset (OSLK, bit 1) with the v8 model (OSLM=0b10).
            oslsr: 0b1010,
            osdlr: 0,
            dbgprcr: 0,
            dbgclaim: 0,
            dbgbcr: [0; BREAKPOINTS],
            dbgbvr: [0; BREAKPOINTS],
            dbgwcr: [0; WATCHPOINTS],
            dbgwvr: [0; WATCHPOINTS],
        }
    }
}

/// Splits a key into `(op0, op1, crn, crm, op2)`.
pub const fn fields(k: u32) -> (u32, u32, u32, u32, u32) {
    (
        (k >> 14) & 3,
        (k >> 11) & 7,
        (k >> 7) & 15,
        (k >> 3) & 15,
        k & 7,
    )
}

/// A readable name for a key, for traces and the debugger.
pub fn name(k: u32) -> String {
    const NAMES: &[(u32, &str)] = &[
        (MIDR_EL1, "MIDR_EL1"),
        (MPIDR_EL1, "MPIDR_EL1"),
        (SCTLR_EL1, "SCTLR_EL1"),
        (CPACR_EL1, "CPACR_EL1"),
        (TTBR0_EL1, "TTBR0_EL1"),
        (TTBR1_EL1, "TTBR1_EL1"),
        (TCR_EL1, "TCR_EL1"),
        (MAIR_EL1, "MAIR_EL1"),
        (SPSR_EL1, "SPSR_EL1"),
        (ELR_EL1, "ELR_EL1"),
        (SP_EL0, "SP_EL0"),
        (ESR_EL1, "ESR_EL1"),
        (FAR_EL1, "FAR_EL1"),
        (PAR_EL1, "PAR_EL1"),
        (VBAR_EL1, "VBAR_EL1"),
        (TPIDR_EL0, "TPIDR_EL0"),
        (TPIDR_EL1, "TPIDR_EL1"),
        (NZCV, "NZCV"),
        (DAIF, "DAIF"),
        (FPCR, "FPCR"),
        (FPSR, "FPSR"),
        (CNTVCT_EL0, "CNTVCT_EL0"),
        (CNTV_CTL_EL0, "CNTV_CTL_EL0"),
        (CNTV_CVAL_EL0, "CNTV_CVAL_EL0"),
    ];
    match NAMES.iter().find(|(kk, _)| *kk == k) {
        Some((_, n)) => n.to_string(),
        None => {
            let (op0, op1, crn, crm, op2) = fields(k);
            format!("S{op0}_{op1}_C{crn}_C{crm}_{op2}")
        }
    }
}
