//! PSCI 1.0 (ARM DEN 0022) and the SMCCC discovery calls, as the board's firmware
//! answering HVC (or SMC) from EL1. Pure logic: the board applies the outcome.

/// PSCI and SMCCC function IDs (SMC32 and SMC64 conventions).
pub mod fid {
    pub const PSCI_VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND_32: u32 = 0x8400_0001;
    pub const CPU_SUSPEND_64: u32 = 0xc400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON_32: u32 = 0x8400_0003;
    pub const CPU_ON_64: u32 = 0xc400_0003;
    pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
    pub const AFFINITY_INFO_64: u32 = 0xc400_0004;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const PSCI_FEATURES: u32 = 0x8400_000a;
    pub const SMCCC_VERSION: u32 = 0x8000_0000;
    pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
}

/// PSCI return codes.
pub mod status {
    pub const SUCCESS: i64 = 0;
    pub const NOT_SUPPORTED: i64 = -1;
    pub const INVALID_PARAMETERS: i64 = -2;
    pub const ALREADY_ON: i64 = -4;
    pub const ON_PENDING: i64 = -5;
}

/// PSCI 1.0.
pub const PSCI_VERSION_1_0: i64 = 0x0001_0000;
/// SMCCC 1.1.
pub const SMCCC_VERSION_1_1: i64 = 0x0001_0001;
/// MIGRATE_INFO_TYPE: no Trusted OS that needs migration.
const NO_TRUSTED_OS: i64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    On,
    Off,
    OnPending,
}

/// What the board must do for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Return this value in X0 to the caller.
    Return(i64),
    /// Power on `target` at `entry` with X0 = `context_id`; return SUCCESS to the caller.
    CpuOn {
        target: usize,
        entry: u64,
        context_id: u64,
    },
    /// Power off the calling CPU (no return).
    CpuOff,
    /// Standby: return SUCCESS after a WFI-like wait.
    Suspend,
    SystemOff,
    SystemReset,
}

/// The CPU index for an MPIDR value, given each CPU's MPIDR affinity bits.
fn cpu_by_mpidr(mpidrs: &[u64], mpidr: u64) -> Option<usize> {
    mpidrs
        .iter()
        .position(|&m| m & 0xff_00ff_ffff == mpidr & 0xff_00ff_ffff)
}

/// Services function `fid` with arguments X1-X3. `mpidrs[i]` is CPU i's MPIDR and
/// `power[i]` its state.
pub fn call(fid: u64, args: [u64; 3], mpidrs: &[u64], power: &[PowerState]) -> Outcome {
    use fid::*;
    // SMC32 calls take 32-bit arguments: the upper halves are ignored.
    let is_32 = fid & 0x4000_0000 == 0;
    let arg = |i: usize| {
        if is_32 {
            args[i] & 0xffff_ffff
        } else {
            args[i]
        }
    };
    let Ok(f) = u32::try_from(fid) else {
        return Outcome::Return(status::NOT_SUPPORTED);
    };
    match f {
        PSCI_VERSION => Outcome::Return(PSCI_VERSION_1_0),
        CPU_SUSPEND_32 | CPU_SUSPEND_64 => Outcome::Suspend,
        CPU_OFF => Outcome::CpuOff,
        CPU_ON_32 | CPU_ON_64 => match cpu_by_mpidr(mpidrs, arg(0)) {
            None => Outcome::Return(status::INVALID_PARAMETERS),
            Some(t) => match power[t] {
                PowerState::On => Outcome::Return(status::ALREADY_ON),
                PowerState::OnPending => Outcome::Return(status::ON_PENDING),
                PowerState::Off => Outcome::CpuOn {
                    target: t,
                    entry: arg(1),
                    context_id: arg(2),
                },
            },
        },
        AFFINITY_INFO_32 | AFFINITY_INFO_64 => {
            // Only level 0 (a single core) is described; higher levels aggregate.
            if arg(1) > 0 {
                let on = power.iter().any(|p| *p != PowerState::Off);
                return Outcome::Return(if on { 0 } else { 1 });
            }
            match cpu_by_mpidr(mpidrs, arg(0)) {
                None => Outcome::Return(status::INVALID_PARAMETERS),
                Some(t) => Outcome::Return(match power[t] {
                    PowerState::On => 0,
                    PowerState::Off => 1,
                    PowerState::OnPending => 2,
                }),
            }
        }
        MIGRATE_INFO_TYPE => Outcome::Return(NO_TRUSTED_OS),
        SYSTEM_OFF => Outcome::SystemOff,
        SYSTEM_RESET => Outcome::SystemReset,
        PSCI_FEATURES => Outcome::Return(match u32::try_from(arg(0)).unwrap_or(0) {
            PSCI_VERSION | CPU_OFF | CPU_ON_32 | CPU_ON_64 | AFFINITY_INFO_32
            | AFFINITY_INFO_64 | MIGRATE_INFO_TYPE | SYSTEM_OFF | SYSTEM_RESET | PSCI_FEATURES
            | SMCCC_VERSION => status::SUCCESS,
            // Original power-state format, no OS-initiated mode.
            CPU_SUSPEND_32 | CPU_SUSPEND_64 => 0,
            _ => status::NOT_SUPPORTED,
        }),
        SMCCC_VERSION => Outcome::Return(SMCCC_VERSION_1_1),
        // No architectural workarounds are needed (or offered) on armvm.
        SMCCC_ARCH_FEATURES => Outcome::Return(status::NOT_SUPPORTED),
        _ => Outcome::Return(status::NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PowerState::*;

    #[test]
    fn calls() {
        let mpidrs = [0x8000_0000, 0x8000_0001];
        let p = [On, Off];
        let c = |f: u32, a: [u64; 3]| call(f as u64, a, &mpidrs, &p);
        assert_eq!(c(fid::PSCI_VERSION, [0; 3]), Outcome::Return(0x10000));
        assert_eq!(
            c(fid::CPU_ON_64, [7, 0x4008_0000, 7]),
            Outcome::Return(status::INVALID_PARAMETERS)
        );
        assert_eq!(
            c(fid::CPU_ON_64, [0x1, 0x4008_0000, 7]),
            Outcome::CpuOn {
                target: 1,
                entry: 0x4008_0000,
                context_id: 7
            }
        );
        assert_eq!(
            c(fid::CPU_ON_64, [0x0, 0x4008_0000, 7]),
            Outcome::Return(status::ALREADY_ON)
        );
        assert_eq!(
            c(fid::CPU_ON_64, [0x5, 0, 0]),
            Outcome::Return(status::INVALID_PARAMETERS)
        );
        assert_eq!(c(fid::AFFINITY_INFO_64, [1, 0, 0]), Outcome::Return(1));
        assert_eq!(c(fid::AFFINITY_INFO_64, [0, 0, 0]), Outcome::Return(0));
        assert_eq!(
            c(fid::PSCI_FEATURES, [fid::CPU_ON_64 as u64, 0, 0]),
            Outcome::Return(0)
        );
        assert_eq!(
            c(fid::PSCI_FEATURES, [0x8400_0010, 0, 0]),
            Outcome::Return(-1)
        );
        assert_eq!(c(fid::SYSTEM_OFF, [0; 3]), Outcome::SystemOff);
        assert_eq!(c(fid::SMCCC_VERSION, [0; 3]), Outcome::Return(0x10001));
        assert_eq!(c(0xc200_0000, [0; 3]), Outcome::Return(-1));
        // SMC32 CPU_ON ignores the upper halves of its arguments.
        assert_eq!(
            c(fid::CPU_ON_32, [0xffff_ffff_0000_0001, 0x1_4008_0000, 0]),
            Outcome::CpuOn {
                target: 1,
                entry: 0x4008_0000,
                context_id: 0
            }
        );
    }
}
