//! Devices of the armvm board. Each device is a plain state machine behind the
//! [`MmioDevice`] trait: no host I/O inside (output, input and time are injected),
//! no panics on guest input (bad offsets are counted and ignored).

pub mod bus;
pub mod cfi_flash;
pub mod clock;
pub mod gic;
pub mod irq;
pub mod pl011;
pub mod pl031;
pub mod virtio;

pub use bus::{Bus, MmioDevice, SharedDevice};
pub use clock::{Clock, HostClock};
pub use irq::{IrqHub, IrqLine};
