//! The physical address map: RAM regions and MMIO devices.

use std::cell::RefCell;
use std::rc::Rc;

use armvm_cpu::memory::{BusError, PhysMemory, Ram};

/// A memory-mapped device. Offsets are relative to the device's base; `size` is
/// 1, 2, 4 or 8 bytes. A device answers every offset of its window (reads of
/// unknown registers return 0, writes are ignored) so that a guest cannot crash it.
pub trait MmioDevice {
    fn read(&mut self, offset: u64, size: u8) -> u64;
    fn write(&mut self, offset: u64, size: u8, value: u64);
}

struct Window {
    base: u64,
    size: u64,
    device: Rc<RefCell<dyn MmioDevice>>,
}

/// RAM and devices, dispatching physical accesses.
#[derive(Default)]
pub struct Bus {
    ram: Vec<Ram>,
    windows: Vec<Window>,
    /// Unanswered physical addresses already reported, so each is logged once.
    reported: std::collections::HashSet<u64>,
    /// Log unanswered accesses on stderr.
    pub log_unmapped: bool,
}

impl Bus {
    pub fn add_ram(&mut self, ram: Ram) {
        self.ram.push(ram);
    }

    pub fn add_device(&mut self, base: u64, size: u64, device: Rc<RefCell<dyn MmioDevice>>) {
        self.windows.push(Window { base, size, device });
    }

    pub fn ram(&self) -> &[Ram] {
        &self.ram
    }

    fn ram_region(&mut self, pa: u64) -> Option<&mut Ram> {
        self.ram.iter_mut().find(|r| r.contains(pa))
    }

    /// Copies `data` into RAM at `pa`; false if it does not fit in one region.
    pub fn write_ram(&mut self, pa: u64, data: &[u8]) -> bool {
        match self
            .ram
            .iter_mut()
            .find_map(|r| r.slice_mut(pa, data.len()))
        {
            Some(dst) => {
                dst.copy_from_slice(data);
                true
            }
            None => false,
        }
    }

    /// Reads RAM at `pa`; `None` if the range is not inside one region.
    pub fn read_ram(&self, pa: u64, len: usize) -> Option<&[u8]> {
        self.ram.iter().find_map(|r| r.slice(pa, len))
    }

    fn window(&mut self, pa: u64) -> Option<(u64, Rc<RefCell<dyn MmioDevice>>)> {
        self.windows
            .iter()
            .find(|w| pa >= w.base && pa - w.base < w.size)
            .map(|w| (pa - w.base, w.device.clone()))
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
        let page = pa & !0xfff;
        self.ram_region(page).map(|r| r.host_ptr(page))
    }

    fn mmio_read(&mut self, pa: u64, size: u8) -> Result<u64, BusError> {
        match self.window(pa) {
            Some((off, dev)) => Ok(dev.borrow_mut().read(off, size)),
            None => Err(self.unmapped(pa)),
        }
    }

    fn mmio_write(&mut self, pa: u64, size: u8, value: u64) -> Result<(), BusError> {
        match self.window(pa) {
            Some((off, dev)) => {
                dev.borrow_mut().write(off, size, value);
                Ok(())
            }
            None => Err(self.unmapped(pa)),
        }
    }
}
