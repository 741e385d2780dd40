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

/// Locking a device or shared state whose mutex may be poisoned: a panic on
/// another thread leaves the data as consistent as any guest access would, so
/// the lock is taken anyway rather than spreading the panic.
pub trait Locked<T: ?Sized> {
    fn locked(&self) -> std::sync::MutexGuard<'_, T>;
}

impl<T: ?Sized> Locked<T> for std::sync::Mutex<T> {
    fn locked(&self) -> std::sync::MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|e| e.into_inner())
    }
}
