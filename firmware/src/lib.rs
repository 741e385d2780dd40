//! What prepares or serves the guest: kernel loaders and semihosting (later the FDT
//! generator, PSCI and the built-in UEFI).

pub mod loader;
pub mod semihosting;
