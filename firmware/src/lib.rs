//! What prepares or serves the guest: kernel loaders, the FDT generator, PSCI and
//! semihosting (later the built-in UEFI).

pub mod fdt;
pub mod linux;
pub mod loader;
pub mod psci;
pub mod semihosting;
