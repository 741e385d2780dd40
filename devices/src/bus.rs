//! The physical address map: guest RAM and MMIO devices.

use std::sync::{Arc, Mutex};

use crate::Locked;
use armvm_cpu::memory::{BusError, GuestMemory, PhysMemory};

/// A memory-mapped device. Offsets are relative to the device's base; `size` is
/// 1, 2, 4 or 8 bytes; `cpu` is the index of the vCPU making the access (banked
/// registers depend on it). A device answers every offset of its window (reads of
/// unknown registers return 0, writes are ignored) so that a guest cannot crash it.
pub trait MmioDevice: Send {
    fn read(&mut self, cpu: usize, offset: u64, size: u8) -> u64;
    fn write(&mut self, cpu: usize, offset: u64, size: u8, value: u64);
}

/// A device on the bus: behind its own lock, so that I/O threads (and later one
/// host thread per vCPU) can reach it.
pub type SharedDevice = Arc<Mutex<dyn MmioDevice>>;

struct Window {
    base: u64,
    size: u64,
    device: SharedDevice,
}

/// RAM and devices, dispatching physical accesses.
pub struct Bus {
    memory: Arc<GuestMemory>,
    windows: Vec<Window>,
    /// Unanswered physical addresses already reported, so each is logged once.
    reported: std::collections::HashSet<u64>,
    /// Log unanswered accesses on stderr.
    pub log_unmapped: bool,
}

impl Bus {
    pub fn new(memory: Arc<GuestMemory>) -> Bus {
        Bus {
            memory,
            windows: Vec::new(),
            reported: Default::default(),
            log_unmapped: false,
        }
    }

    /// Maps `device` at `base..base+size`.
    pub fn add_device(&mut self, base: u64, size: u64, device: SharedDevice) {
        self.windows.push(Window { base, size, device });
    }

    /// Guest RAM.
    pub fn memory(&self) -> &Arc<GuestMemory> {
        &self.memory
    }

    fn window(&self, pa: u64) -> Option<(u64, &SharedDevice)> {
        self.windows
            .iter()
            .find(|w| pa >= w.base && pa - w.base < w.size)
            .map(|w| (pa - w.base, &w.device))
    }

    fn unmapped(&mut self, pa: u64) -> BusError {
        if self.log_unmapped && self.reported.insert(pa) {
            eprintln!("armvm: guest access to unmapped physical address {pa:#x} (external abort)");
        }
        BusError(pa)
    }
}

impl PhysMemory for Bus {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.memory.ram_page(pa)
    }

    fn mmio_read(&mut self, cpu: usize, pa: u64, size: u8) -> Result<u64, BusError> {
        match self.window(pa) {
            Some((off, dev)) => Ok(dev.locked().read(cpu, off, size)),
            None => Err(self.unmapped(pa)),
        }
    }

    fn mmio_write(&mut self, cpu: usize, pa: u64, size: u8, value: u64) -> Result<(), BusError> {
        match self.window(pa) {
            Some((off, dev)) => {
                dev.locked().write(cpu, off, size, value);
                Ok(())
            }
            None => Err(self.unmapped(pa)),
        }
    }
}
