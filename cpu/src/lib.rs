//! armvm's CPU model: AArch64 architectural state and semantics at EL0 and EL1.
//!
//! Decoding is table-driven ([`decode`]); execution runs pre-decoded basic blocks
//! ([`cpu::Cpu::run`]) against a software TLB ([`mmu`]). The crate knows nothing
//! about boards or devices: it reaches them through [`memory::PhysMemory`] and
//! [`cpu::Platform`], and returns [`cpu::Exit`] reasons for the board to service.

#[cfg(target_endian = "big")]
compile_error!("armvm's memory paths assume a little-endian host");

pub mod cpu;
pub mod decode;
pub mod exception;
pub mod exec;
pub mod idiom;
pub mod memory;
pub mod mmu;
pub mod model;
pub mod native;
pub mod pmu;
pub mod selfdebug;
pub mod state;
pub mod sysreg;
#[cfg(any(test, feature = "testkit"))]
mod test_rng;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;

pub use cpu::{Access, Cpu, Exit, Platform};
pub use exception::Exception;
pub use memory::{BusError, PhysMemory, Ram};
