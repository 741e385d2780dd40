//! The "virt" board: its memory map, its devices and their interrupt wiring, and
//! the description the FDT is generated from. Modelled on QEMU's virt machine so that
//! firmware and kernels written for it find what they expect.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use armvm_cpu::memory::{BusError, PhysMemory};
use armvm_cpu::Platform;
use armvm_devices::clock::{Clock, HostClock};
use armvm_devices::gic::{Gic, GicVersion};
use armvm_devices::pl011::Pl011;
use armvm_devices::pl031::Pl031;
use armvm_devices::Bus;
use armvm_firmware::fdt::{BoardDescription, GicKind, MmioWithSpi};

/// Physical memory map.
pub mod map {
    pub const GIC_DIST: (u64, u64) = (0x0800_0000, 0x1_0000);
    pub const GIC_CPU: (u64, u64) = (0x0801_0000, 0x1_0000);
    /// GICv3 redistributors: 128 KiB per CPU.
    pub const GIC_REDIST_BASE: u64 = 0x080a_0000;
    pub const GIC_REDIST_PER_CPU: u64 = 0x2_0000;
    pub const GIC_REDIST_LIMIT: u64 = 0x0900_0000;
    pub const UART: (u64, u64) = (0x0900_0000, 0x1000);
    pub const RTC: (u64, u64) = (0x0901_0000, 0x1000);
    pub const VIRTIO_BASE: u64 = 0x0a00_0000;
    pub const VIRTIO_SLOTS: u64 = 32;
    pub const RAM_BASE: u64 = 0x4000_0000;
}

/// SPI numbers (INTID - 32) of the devices.
pub mod spi {
    pub const UART: u32 = 1;
    pub const RTC: u32 = 2;
    pub const VIRTIO_FIRST: u32 = 16;
}

/// Timer PPIs as INTIDs (ARM BSA): virtual 27, non-secure physical 30.
pub const PPI_VIRT_TIMER: u32 = 27;
pub const PPI_PHYS_TIMER: u32 = 30;
/// Total INTIDs of the GIC: 32 private + 256 SPIs.
pub const GIC_IRQS: u32 = 288;

/// Largest CPU count for each GIC version on this map.
pub fn max_cpus(version: GicVersion) -> usize {
    match version {
        GicVersion::V2 => 8,
        GicVersion::V3 => {
            ((map::GIC_REDIST_LIMIT - map::GIC_REDIST_BASE) / map::GIC_REDIST_PER_CPU) as usize
        }
    }
}

/// What the vCPUs see of the machine: the bus, the clock, the interrupt controller.
pub struct Board {
    pub bus: Bus,
    pub clock: Rc<HostClock>,
    pub gic: Rc<RefCell<Gic>>,
    pub uart: Rc<RefCell<Pl011>>,
    pub rtc: Rc<RefCell<Pl031>>,
    /// The vCPU currently running (banked GIC registers depend on it).
    pub current_cpu: Rc<Cell<usize>>,
    /// Each vCPU's "interrupt lines may have changed" flag.
    pub irq_flags: Vec<Arc<AtomicBool>>,
}

impl Board {
    /// Feeds the devices' interrupt outputs into the GIC and tells every vCPU to
    /// look at its lines again.
    pub fn sync_device_irqs(&mut self) {
        let uart = self.uart.borrow().irq_level();
        let rtc = self.rtc.borrow_mut().irq_level();
        let mut gic = self.gic.borrow_mut();
        gic.set_level(0, 32 + spi::UART, uart);
        gic.set_level(0, 32 + spi::RTC, rtc);
        drop(gic);
        self.flag_all();
    }

    /// Sets the timer PPIs of `cpu`.
    pub fn set_timer_levels(&mut self, cpu: usize, virt: bool, phys: bool) {
        let mut gic = self.gic.borrow_mut();
        gic.set_level(cpu, PPI_VIRT_TIMER, virt);
        gic.set_level(cpu, PPI_PHYS_TIMER, phys);
        drop(gic);
        self.flag_all();
    }

    pub fn flag_all(&self) {
        for f in &self.irq_flags {
            f.store(true, Ordering::Relaxed);
        }
    }

    fn is_gic(&self, pa: u64) -> bool {
        (map::GIC_DIST.0..map::GIC_REDIST_LIMIT).contains(&pa)
    }
}

impl PhysMemory for Board {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.bus.ram_page(pa)
    }
    fn mmio_read(&mut self, pa: u64, size: u8) -> Result<u64, BusError> {
        let v = self.bus.mmio_read(pa, size);
        // Reads change state too (the UART's FIFO, the GIC's acknowledge).
        if self.is_gic(pa) {
            self.flag_all();
        } else {
            self.sync_device_irqs();
        }
        v
    }
    fn mmio_write(&mut self, pa: u64, size: u8, value: u64) -> Result<(), BusError> {
        let r = self.bus.mmio_write(pa, size, value);
        if self.is_gic(pa) {
            self.flag_all();
        } else {
            self.sync_device_irqs();
        }
        r
    }
}

impl Platform for Board {
    fn counter(&mut self) -> u64 {
        self.clock.ticks()
    }
    fn counter_frequency(&self) -> u64 {
        self.clock.frequency()
    }
    fn device_sysreg_read(&mut self, cpu: usize, key: u32) -> Option<u64> {
        let v = self.gic.borrow_mut().sysreg_read(cpu, key);
        // Acknowledging an interrupt (ICC_IAR*) changes the outputs.
        self.flag_all();
        v
    }
    fn device_sysreg_write(&mut self, cpu: usize, key: u32, value: u64) -> bool {
        let ok = self.gic.borrow_mut().sysreg_write(cpu, key, value);
        self.flag_all();
        ok
    }
    fn interrupt_lines(&mut self, cpu: usize) -> Option<(bool, bool)> {
        let gic = self.gic.borrow();
        Some((gic.irq_line(cpu), gic.fiq_line(cpu)))
    }
    fn timer_changed(&mut self, cpu: usize, virt: bool, phys: bool) {
        self.set_timer_levels(cpu, virt, phys);
    }
}

/// The FDT description of this board.
pub fn describe(
    version: GicVersion,
    mpidrs: Vec<u64>,
    ram_size: u64,
    psci_method: &'static str,
    bootargs: String,
    initrd: Option<(u64, u64)>,
    counter_frequency: u64,
) -> BoardDescription {
    let cpus = mpidrs.len() as u64;
    let gic = match version {
        GicVersion::V2 => GicKind::V2 {
            dist: map::GIC_DIST,
            cpu: map::GIC_CPU,
        },
        GicVersion::V3 => GicKind::V3 {
            dist: map::GIC_DIST,
            redist: (map::GIC_REDIST_BASE, cpus * map::GIC_REDIST_PER_CPU),
        },
    };
    BoardDescription {
        ram: (map::RAM_BASE, ram_size),
        cpu_mpidrs: mpidrs,
        gic,
        // Secure physical, non-secure physical, virtual, hypervisor (INTID - 16).
        timer_ppis: [13, 14, 11, 10],
        counter_frequency: counter_frequency as u32,
        uart: MmioWithSpi {
            base: map::UART.0,
            size: map::UART.1,
            spi: spi::UART,
        },
        rtc: MmioWithSpi {
            base: map::RTC.0,
            size: map::RTC.1,
            spi: spi::RTC,
        },
        virtio: (0..map::VIRTIO_SLOTS)
            .map(|i| MmioWithSpi {
                base: map::VIRTIO_BASE + i * armvm_devices::virtio_mmio::SLOT_SIZE,
                size: armvm_devices::virtio_mmio::SLOT_SIZE,
                spi: spi::VIRTIO_FIRST + i as u32,
            })
            .collect(),
        psci_method,
        bootargs,
        initrd,
        rng_seed: random_seed(),
    }
}

/// 32 bytes of host randomness for the guest's `rng-seed`.
fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut seed);
    }
    seed
}
