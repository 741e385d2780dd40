//! Which firmware answers an HVC or SMC: PSCI and SMCCC at immediate #0 on the
//! configured conduit, the built-in UEFI's services above it. The board asks
//! here instead of special-casing immediates in its run loop.

use crate::uefi::service::Service;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Psci,
    Uefi(Service),
    /// Nothing answers: the guest gets an Undefined Instruction exception.
    Unknown,
}

/// Routes `HVC #imm` (or `SMC #imm` when `smc`). PSCI answers on the conduit
/// the device tree names; UEFI trampolines always use HVC.
pub fn route(imm: u16, smc: bool, psci_smc: bool, uefi: bool) -> Call {
    if imm == 0 {
        return if smc == psci_smc {
            Call::Psci
        } else {
            Call::Unknown
        };
    }
    match Service::from_imm(imm) {
        Some(s) if uefi && !smc => Call::Uefi(s),
        _ => Call::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psci_on_its_conduit_uefi_on_hvc_only_when_present() {
        assert_eq!(route(0, false, false, true), Call::Psci);
        assert_eq!(route(0, true, false, true), Call::Unknown);
        assert_eq!(route(0, true, true, false), Call::Psci);
        let imm = Service::GetTime.imm();
        assert_eq!(route(imm, false, false, true), Call::Uefi(Service::GetTime));
        assert_eq!(route(imm, false, false, false), Call::Unknown);
        assert_eq!(route(imm, true, false, true), Call::Unknown);
        assert_eq!(route(0xffff, false, false, true), Call::Unknown);
    }
}
