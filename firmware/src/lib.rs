//! What prepares or serves the guest: kernel loaders, the FDT generator, PSCI and
//! semihosting, the built-in UEFI, and the
//! disk image tools behind `armvm image`.

pub mod calls;
pub mod fdt;
pub mod image;
pub mod linux;
pub mod loader;
pub mod psci;
pub mod semihosting;
pub mod uefi;
