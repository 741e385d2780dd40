//! Guest exceptions: what an instruction raises, and their syndromes (ESR_EL1).
//! These are architectural events delivered to the guest, never host errors.

/// Fault status codes for data and instruction aborts (ESR_ELx.ISS.xFSC, long
/// descriptor format; ARM ARM D17.2.37).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    AddressSize(u8),
    Translation(u8),
    AccessFlag(u8),
    Permission(u8),
    Alignment,
    /// Synchronous external abort, not on a table walk.
    External,
    /// Synchronous external abort on a table walk, at a level.
    ExternalOnWalk(u8),
}

impl FaultKind {
    /// The xFSC code.
    pub fn status_code(self) -> u32 {
        match self {
            FaultKind::AddressSize(l) => l as u32,
            FaultKind::Translation(l) => 0b000100 | l as u32,
            FaultKind::AccessFlag(l) => 0b001000 | l as u32,
            FaultKind::Permission(l) => 0b001100 | l as u32,
            FaultKind::Alignment => 0b100001,
            FaultKind::External => 0b010000,
            FaultKind::ExternalOnWalk(l) => 0b010100 | l as u32,
        }
    }
}

/// A fault found while accessing memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub va: u64,
    /// The access was a write (WnR).
    pub write: bool,
    /// The access came from a cache maintenance or address translation instruction (CM).
    pub cache_maintenance: bool,
}

/// A synchronous exception raised by an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exception {
    /// Undefined Instruction (EC 0x00).
    Undefined,
    /// WFI/WFE trapped by SCTLR_EL1.nTWI/nTWE (EC 0x01); `wfe` says which.
    WfxTrap {
        wfe: bool,
    },
    /// Access to SIMD&FP registers trapped by CPACR_EL1.FPEN (EC 0x07).
    FpAccess,
    /// Illegal Execution state (EC 0x0E).
    IllegalState,
    Svc(u16),
    Hvc(u16),
    Smc(u16),
    /// MSR/MRS/SYS trapped (EC 0x18); `iss` is the full syndrome.
    SysRegTrap {
        iss: u32,
    },
    InstructionAbort(Fault),
    /// PC alignment fault, with the misaligned PC.
    PcAlignment(u64),
    DataAbort {
        fault: Fault,
        iss_valid: u32,
    },
    SpAlignment,
    /// A hardware breakpoint (EC 0x30/0x31) on the instruction.
    Breakpoint,
    /// Software step (EC 0x32/0x33): an instruction was stepped (`isv`; `ex`
    /// if it was a load-exclusive), or stepping began with none to step.
    SoftwareStep {
        isv: bool,
        ex: bool,
    },
    /// A watchpoint (EC 0x34/0x35) on a data access; `va` is the watched
    /// byte accessed.
    Watchpoint {
        va: u64,
        write: bool,
    },
    Brk(u16),
}

/// The fault status code of debug exceptions ("debug event").
const DEBUG_STATUS: u32 = 0b100010;

impl Exception {
    /// The exception class and ISS for ESR_EL1, given whether the exception came
    /// from a lower exception level (for the abort classes).
    pub fn syndrome(&self, from_lower_el: bool) -> (u32, u32) {
        let lower = from_lower_el as u32;
        match *self {
            Exception::Undefined => (0x00, 0),
            Exception::WfxTrap { wfe } => (0x01, (1 << 24) | (0xe << 20) | wfe as u32),
            Exception::FpAccess => (0x07, (1 << 24) | (0xe << 20)),
            Exception::IllegalState => (0x0e, 0),
            Exception::Svc(imm) => (0x15, imm as u32),
            Exception::Hvc(imm) => (0x16, imm as u32),
            Exception::Smc(imm) => (0x17, imm as u32),
            Exception::SysRegTrap { iss } => (0x18, iss),
            Exception::InstructionAbort(f) => (0x21 - lower, f.kind.status_code()),
            Exception::PcAlignment(_) => (0x22, 0),
            Exception::DataAbort { fault, iss_valid } => {
                let iss = iss_valid
                    | ((fault.cache_maintenance as u32) << 8)
                    | ((fault.write as u32) << 6)
                    | fault.kind.status_code();
                (0x25 - lower, iss)
            }
            Exception::SpAlignment => (0x26, 0),
            Exception::Breakpoint => (0x31 - lower, DEBUG_STATUS),
            Exception::SoftwareStep { isv, ex } => (
                0x33 - lower,
                ((isv as u32) << 24) | ((ex as u32) << 6) | DEBUG_STATUS,
            ),
            Exception::Watchpoint { write, .. } => {
                (0x35 - lower, ((write as u32) << 6) | DEBUG_STATUS)
            }
            Exception::Brk(imm) => (0x3c, imm as u32),
        }
    }

    /// The fault address to record in FAR_EL1, if this exception sets it.
    pub fn fault_address(&self) -> Option<u64> {
        match self {
            Exception::InstructionAbort(f) => Some(f.va),
            Exception::DataAbort { fault, .. } => Some(fault.va),
            Exception::PcAlignment(pc) => Some(*pc),
            Exception::Watchpoint { va, .. } => Some(*va),
            _ => None,
        }
    }
}

/// Asynchronous exceptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    Irq,
    Fiq,
    SError,
}
