//! The "virt" board: its memory map, its devices and their interrupt wiring, and
//! the description the FDT is generated from. Modelled on QEMU's virt machine so that
//! firmware and kernels written for it find what they expect.
//!
//! Everything about where a device sits and which SPI it drives is here: [`Board::build`]
//! wires the bus from [`map`] and [`spi`], and [`describe`] turns the same constants
//! into the FDT description.

use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use armvm_cpu::cpu::SharedCode;
use armvm_cpu::memory::{BusError, GuestMemory, PhysMemory, Ram, RamError};
use armvm_cpu::Platform;
use armvm_devices::cfi_flash::CfiFlash;
use armvm_devices::clock::{Clock, HostClock, COUNTER_HZ};
use armvm_devices::gic::{Gic, GicVersion};
use armvm_devices::pl011::Pl011;
use armvm_devices::pl031::Pl031;
use armvm_devices::virtio::mmio::{EmptySlot, VirtioMmio, SLOT_SIZE};
use armvm_devices::virtio::VirtioDevice;
use armvm_devices::Locked;
use armvm_devices::{Bus, IrqHub, SharedDevice};
use armvm_firmware::fdt::{BoardDescription, GicKind, MmioWithSpi};
use crossbeam_channel::{Receiver, Sender};
/// Physical memory map.
pub mod map {
    /// Two CFI flash banks, as on QEMU's virt: firmware code, then its variables.
    pub const FLASH0: (u64, u64) = (0x0000_0000, 0x0400_0000);
    pub const FLASH1: (u64, u64) = (0x0400_0000, 0x0400_0000);
    /// Erase block of the flash banks (both chips), as on QEMU's virt.
    pub const FLASH_BLOCK: u64 = 256 * 1024;
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
/// The PMU's overflow interrupt (ARM BSA), as an INTID.
pub const PPI_PMU: u32 = 23;
/// Total INTIDs of the GIC: 32 private + 256 SPIs.
pub const GIC_IRQS: u32 = 288;

/// Largest CPU count for each GIC version on this map.
/// The MMIO base of virtio slot `i`.
pub fn slot_base(i: u64) -> u64 {
    map::VIRTIO_BASE + i * SLOT_SIZE
}

pub fn max_cpus(version: GicVersion) -> usize {
    match version {
        GicVersion::V2 => 8,
        GicVersion::V3 => {
            ((map::GIC_REDIST_LIMIT - map::GIC_REDIST_BASE) / map::GIC_REDIST_PER_CPU) as usize
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("cannot set up guest RAM")]
    Ram(#[from] RamError),
    #[error("more virtio devices than the board's {0} slots")]
    TooManyDevices(u64),
    #[error("the firmware ({0} bytes) is larger than the 64 MiB flash bank")]
    FirmwareTooLarge(u64),
}

/// What a board is built from.
pub struct BoardConfig {
    pub gic: GicVersion,
    pub cpus: usize,
    pub ram_size: u64,
    /// Where the PL011's output goes.
    pub serial_out: Box<dyn Write + Send>,
    /// Each vCPU's "look at your interrupt lines" flag.
    pub irq_flags: Vec<Arc<AtomicBool>>,
    /// The vCPUs' decoded code, which device writes into RAM invalidate.
    pub code: Rc<SharedCode>,
    /// Virtio devices, in slot order from slot 0 (the rest stay empty).
    pub virtio: Vec<Box<dyn VirtioDevice>>,
    /// Firmware for the first flash bank (at most its size), if any; the
    /// second bank then holds its variables.
    pub firmware: Option<Vec<u8>>,
    /// The variables bank's initial contents (at most its size; the rest reads
    /// as erased flash).
    pub vars: Option<Vec<u8>>,
}

/// What the vCPUs see of the machine: the bus, the clock, the interrupt controller.
pub struct Board {
    pub bus: Bus,
    pub memory: Arc<GuestMemory>,
    pub clock: Arc<HostClock>,
    pub gic: Arc<Mutex<Gic>>,
    pub uart: Arc<Mutex<Pl011>>,
    pub rtc: Arc<Mutex<Pl031>>,
    /// Levels of the devices' interrupt lines, and the levels the GIC last got.
    irq_hub: Arc<IrqHub>,
    applied_spis: [u64; 4],
    /// Each vCPU's "interrupt lines may have changed" flag.
    irq_flags: Vec<Arc<AtomicBool>>,
    pub code: Rc<SharedCode>,
    /// Signalled when a device line changes, so that an idle machine wakes up.
    wake: (Sender<()>, Receiver<()>),
    /// The slots that hold a device.
    virtio: Vec<Arc<Mutex<VirtioMmio>>>,
    /// The firmware's variables flash (with `--bios`).
    pub vars_flash: Option<Arc<Mutex<CfiFlash>>>,
}

impl Board {
    pub fn build(config: BoardConfig) -> Result<Board, BoardError> {
        let mut regions = vec![Ram::new(map::RAM_BASE, config.ram_size)?];
        if let Some(code) = &config.firmware {
            // The code bank reads and executes like memory; firmware never
            // writes it (its variables live in the second bank).
            let mut flash = Ram::new(map::FLASH0.0, map::FLASH0.1)?;
            let Some(dst) = flash.slice_mut(map::FLASH0.0, code.len()) else {
                return Err(BoardError::FirmwareTooLarge(code.len() as u64));
            };
            dst.copy_from_slice(code);
            regions.push(flash);
        }
        let memory = GuestMemory::new(regions);
        let clock = Arc::new(HostClock::new(COUNTER_HZ));
        let irq_hub = IrqHub::new();
        let wake = crossbeam_channel::bounded(1);
        let kick = {
            let flags = config.irq_flags.clone();
            let waker = wake.0.clone();
            move || {
                for f in &flags {
                    f.store(true, Ordering::Release);
                }
                let _ = waker.try_send(());
            }
        };
        let dma_kick = kick.clone();
        irq_hub.on_change(Box::new(kick));
        memory.on_dma_write(Box::new(dma_kick));

        let mut bus = Bus::new(memory.clone());
        bus.log_unmapped = std::env::var_os("ARMVM_DEBUG").is_some();
        let uart = Arc::new(Mutex::new(Pl011::new(
            config.serial_out,
            irq_hub.line(spi::UART),
        )));
        bus.add_device(map::UART.0, map::UART.1, uart.clone());
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let rtc = Arc::new(Mutex::new(Pl031::new(
            clock.clone(),
            wall,
            irq_hub.line(spi::RTC),
        )));
        bus.add_device(map::RTC.0, map::RTC.1, rtc.clone());
        let mut devices = config.virtio.into_iter();
        let mut virtio = Vec::new();
        for i in 0..map::VIRTIO_SLOTS {
            let slot: SharedDevice = match devices.next() {
                Some(device) => {
                    let line = irq_hub.line(spi::VIRTIO_FIRST + i as u32);
                    let t = Arc::new(Mutex::new(VirtioMmio::new(device, memory.clone(), line)));
                    virtio.push(t.clone());
                    t
                }
                None => Arc::new(Mutex::new(EmptySlot)),
            };
            bus.add_device(slot_base(i), SLOT_SIZE, slot);
        }
        if devices.next().is_some() {
            return Err(BoardError::TooManyDevices(map::VIRTIO_SLOTS));
        }
        let vars_flash = config.firmware.is_some().then(|| {
            let mut contents = config.vars.unwrap_or_default();
            contents.resize(map::FLASH1.1 as usize, 0xff);
            Arc::new(Mutex::new(CfiFlash::new(contents, map::FLASH_BLOCK)))
        });
        if let Some(f) = &vars_flash {
            bus.add_device(map::FLASH1.0, map::FLASH1.1, f.clone());
        }
        let gic = Arc::new(Mutex::new(Gic::new(config.gic, config.cpus, GIC_IRQS)));
        add_gic_windows(&mut bus, &gic, config.gic, config.cpus);
        Ok(Board {
            bus,
            memory,
            clock,
            gic,
            uart,
            rtc,
            irq_hub,
            applied_spis: [0; 4],
            irq_flags: config.irq_flags,
            code: config.code,
            wake,
            virtio,
            vars_flash,
        })
    }

    /// Brings the GIC and the code cache up to date with what devices did since
    /// the last look: changed interrupt lines, and RAM they wrote (decoded code
    /// there is stale).
    pub fn service_devices(&mut self) {
        for (pa, len) in self.memory.take_dma_writes() {
            self.code.invalidate_range(pa, len);
        }
        let changes = self.irq_hub.take_changes(&mut self.applied_spis);
        if !changes.is_empty() {
            let mut gic = self.gic.locked();
            for (spi, level) in changes {
                gic.set_level(0, 32 + spi, level);
            }
            drop(gic);
            self.flag_all();
        }
    }

    /// Looks at the devices whose interrupt depends on time passing (the RTC's
    /// match), as the run loop does for the generic timers.
    pub fn poll_timed_devices(&mut self) {
        self.rtc.locked().poll();
        // A prompt without a newline shows now, not at the next newline.
        self.uart.locked().flush_partial_line();
    }

    /// Signalled when a device's interrupt line changes (to wake an idle machine).
    pub fn wakeups(&self) -> &Receiver<()> {
        &self.wake.1
    }

    /// Sets the timer PPIs of `cpu`.
    pub fn set_timer_levels(&mut self, cpu: usize, virt: bool, phys: bool) {
        let mut gic = self.gic.locked();
        gic.set_level(cpu, PPI_VIRT_TIMER, virt);
        gic.set_level(cpu, PPI_PHYS_TIMER, phys);
        drop(gic);
        self.flag_all();
    }

    pub fn flag_all(&self) {
        for f in &self.irq_flags {
            f.store(true, Ordering::Release);
        }
    }

    fn is_gic(&self, pa: u64) -> bool {
        (map::GIC_DIST.0..map::GIC_REDIST_LIMIT).contains(&pa)
    }

    /// The machine stops: every device finishes its requests and puts what the
    /// guest wrote on stable storage.
    pub fn shutdown(&mut self) {
        for t in &self.virtio {
            t.locked().shutdown();
        }
    }

    /// Copies `data` into guest RAM at `pa` (loaders); false if it does not fit.
    pub fn load(&self, pa: u64, data: &[u8]) -> bool {
        self.memory.write(pa, data).is_ok()
    }
}

impl PhysMemory for Board {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.memory.ram_page(pa)
    }
    fn mmio_read(&mut self, cpu: usize, pa: u64, size: u8) -> Result<u64, BusError> {
        let v = self.bus.mmio_read(cpu, pa, size);
        // GIC reads change its outputs (acknowledge); other devices push their
        // own lines through the interrupt hub.
        if self.is_gic(pa) {
            self.flag_all();
        }
        v
    }
    fn mmio_write(&mut self, cpu: usize, pa: u64, size: u8, value: u64) -> Result<(), BusError> {
        let r = self.bus.mmio_write(cpu, pa, size, value);
        if self.is_gic(pa) {
            self.flag_all();
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
        let v = self.gic.locked().sysreg_read(cpu, key);
        // Acknowledging an interrupt (ICC_IAR*) changes the outputs.
        self.flag_all();
        v
    }
    fn device_sysreg_write(&mut self, cpu: usize, key: u32, value: u64) -> bool {
        let ok = self.gic.locked().sysreg_write(cpu, key, value);
        self.flag_all();
        ok
    }
    fn interrupt_lines(&mut self, cpu: usize) -> Option<(bool, bool)> {
        self.service_devices();
        let gic = self.gic.locked();
        Some((gic.irq_line(cpu), gic.fiq_line(cpu)))
    }
    fn timer_changed(&mut self, cpu: usize, virt: bool, phys: bool) {
        self.set_timer_levels(cpu, virt, phys);
    }
    fn pmu_interrupt(&mut self, cpu: usize, level: bool) {
        self.gic.locked().set_level(cpu, PPI_PMU, level);
        self.flag_all();
    }
}

fn add_gic_windows(bus: &mut Bus, gic: &Arc<Mutex<Gic>>, version: GicVersion, cpus: usize) {
    use armvm_devices::gic::{GicCpuInterface, GicDistributor, GicRedistributor};
    let dist: SharedDevice = Arc::new(Mutex::new(GicDistributor(gic.clone())));
    bus.add_device(map::GIC_DIST.0, map::GIC_DIST.1, dist);
    match version {
        GicVersion::V2 => {
            let cpuif = Arc::new(Mutex::new(GicCpuInterface(gic.clone())));
            bus.add_device(map::GIC_CPU.0, map::GIC_CPU.1, cpuif);
        }
        GicVersion::V3 => {
            let redist = Arc::new(Mutex::new(GicRedistributor(gic.clone())));
            let size = cpus as u64 * map::GIC_REDIST_PER_CPU;
            bus.add_device(map::GIC_REDIST_BASE, size, redist);
        }
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
    flash: bool,
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
        pmu_ppi: Some(PPI_PMU - 16),
        counter_frequency: COUNTER_HZ as u32,
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
                base: slot_base(i),
                size: SLOT_SIZE,
                spi: spi::VIRTIO_FIRST + i as u32,
            })
            .collect(),
        psci_method,
        bootargs,
        initrd,
        rng_seed: random_seed(),
        kaslr_seed: u64::from_le_bytes(random_seed()[..8].try_into().unwrap()),
        flash: flash.then_some([map::FLASH0, map::FLASH1]),
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
