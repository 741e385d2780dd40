//! ARM Generic Interrupt Controller: GICv2 (ARM IHI 0048B) and GICv3 (ARM IHI 0069),
//! as non-secure software sees them on QEMU's virt board without EL3.
//!
//! One [`Gic`] holds the distributor, the per-CPU banked state (SGIs, PPIs, the CPU
//! interface and, for GICv3, the redistributor) and the IRQ/FIQ outputs. It is a plain
//! state machine: devices drive its inputs with [`Gic::set_level`], the board reads
//! [`Gic::irq_line`] / [`Gic::fiq_line`], and guest accesses arrive through the MMIO
//! entry points (`dist_*`, `cpuif_*`, `redist_*`) or, for the GICv3 CPU interface,
//! through [`Gic::sysreg_read`] / [`Gic::sysreg_write`]. Every entry point takes the
//! index of the CPU making the access because many registers are banked per CPU.
//!
//! Configuration choices (all allowed by the specifications):
//! - No Security Extensions (GICv2) / a single Security state, `GICD_CTLR.DS == 1`
//!   (GICv3): there is Group 0 and Group 1, nothing is Secure-only.
//! - 5 bits of priority (32 levels), as QEMU's GICv3 CPU interface: the low 3 bits of every priority field
//!   (GICD/GICR_IPRIORITYR, GICC_PMR, ICC_PMR_EL1) are RAZ/WI; ICC_CTLR_EL1.PRIbits = 4;
//!   the minimum binary points are 2 (Group 0 / GICC_BPR) and 3 (Group 1 / GICC_ABPR),
//!   which are also their reset values. One 32-bit active-priority register per group
//!   (GICC_APR0/GICC_NSAPR0, ICC_AP0R0/ICC_AP1R0); the others are RAZ/WI.
//! - GICv2: at most 8 CPUs; SGI enable bits are RAO/WI (as GIC-400 and QEMU); PPIs
//!   may be configured level or edge; the aliased Group 1 registers (GICC_ABPR,
//!   GICC_AIAR, GICC_AEOIR, GICC_AHPPIR) are implemented. An SGI is pending per
//!   source CPU but active per target CPU (as QEMU), so a second source's request waits
//!   in the active-and-pending state until the first is deactivated.
//! - GICv3: affinity routing only (`GICD_CTLR.ARE` RAO/WI, legacy mode unsupported), no
//!   LPIs/ITS, range selectors (RSS) and 1-of-N SPI routing supported, at most 256 CPUs.
//!   CPU `n` has affinity 0.0.0.n, as `armvm_cpu::Cpu::mpidr` reports. Redistributors
//!   start awake (`GICR_WAKER.ProcessorSleep` 0), as firmware leaves them before an
//!   OS runs and as QEMU and KVM present them; one that software puts to sleep
//!   forwards no interrupt to its CPU until it is woken.
//! - Among pending interrupts of equal priority the lowest INTID wins. A group disabled
//!   in the distributor hides its interrupts; a group disabled in a CPU interface does
//!   not: if such an interrupt is the highest pending one, the CPU sees 1023 (spurious)
//!   and no signal, as the GICC_HPPIR / ICC_HPPIR descriptions require.

use std::sync::{Arc, Mutex};

use crate::Locked;
use crate::MmioDevice;

mod cpuif;
mod dist;
pub mod icc;
mod redist;

/// Size of the distributor window (GICD). QEMU virt puts it at 0x0800_0000.
pub const GICD_SIZE: u64 = 0x1_0000;
/// Size of the GICv2 memory-mapped CPU interface window (GICC; GICC_DIR is at 0x1000).
/// QEMU virt puts it at 0x0801_0000.
pub const GICC_SIZE: u64 = 0x1_0000;
/// Size of one GICv3 redistributor: an RD_base frame and an SGI_base frame of 64 KiB.
/// QEMU virt puts the first at 0x080A_0000, the others follow contiguously.
pub const GICR_STRIDE: u64 = 0x2_0000;

/// Size of the GICv3 redistributor region for `num_cpus` CPUs.
pub const fn gicr_size(num_cpus: usize) -> u64 {
    GICR_STRIDE * num_cpus as u64
}

/// Largest number of CPUs a GICv2 can serve (one GICD_ITARGETSR bit each).
pub const V2_MAX_CPUS: usize = 8;
/// Largest number of CPUs this GICv3 serves (Aff0 = 0..=255, one redistributor each).
pub const V3_MAX_CPUS: usize = 256;

/// INTIDs 0-15 are SGIs, 16-31 PPIs, 32.. SPIs.
const NUM_SGIS: u32 = 16;
const NUM_PRIVATE: u32 = 32;
/// SPIs end below the special INTIDs 1020-1023.
const MAX_IRQS: u32 = 1020;
/// INTID returned when no interrupt can be acknowledged.
const SPURIOUS: u32 = 1023;
/// GICv2 GICC_IAR/GICC_HPPIR value for a Group 1 interrupt when GICC_CTLR.AckCtl is 0.
const SPURIOUS_GROUP1: u32 = 1022;

/// Implemented priority bits: 5, so priorities step by 8.
const PRIORITY_BITS: u32 = 5;
const PRIORITY_MASK: u8 = !((1u8 << (8 - PRIORITY_BITS)) - 1);
/// Minimum binary point for Group 0 (GICC_BPR, ICC_BPR0_EL1): 7 - PRIORITY_BITS.
const MIN_BPR0: u8 = (7 - PRIORITY_BITS) as u8;
/// Minimum binary point for Group 1 (GICC_ABPR, ICC_BPR1_EL1): one more.
const MIN_BPR1: u8 = MIN_BPR0 + 1;
/// Running priority with nothing active (above any priority value).
const IDLE_PRIORITY: u32 = 0x100;

/// JEP106 code of ARM as the ID registers carry it.
const IIDR_ARM: u32 = 0x43b;

/// Peripheral/component ID registers PIDR4-7, PIDR0-3, CIDR0-3 (IHI 0048B 4.3.x,
/// IHI 0069 12.1.x): ARM's JEP106 identity, part number 0x490 (v2) / 0x492 (v3),
/// PIDR2.ArchRev = 2 or 3.
fn id_register(version: GicVersion, index: u64) -> u32 {
    let (part_lo, arch) = match version {
        GicVersion::V2 => (0x90, 0x2),
        GicVersion::V3 => (0x92, 0x3),
    };
    match index {
        0 => 0x04, // PIDR4: 4 KiB count 0, JEP106 continuation code 4
        4 => part_lo,
        5 => 0xb4, // PIDR1: part number [11:8] = 4, JEP106 identity [3:0] = 0xb
        6 => (arch << 4) | 0x0b, // PIDR2: ArchRev, JEDEC, JEP106 identity [6:4] = 3
        8 => 0x0d,
        9 => 0xf0,
        10 => 0x05,
        11 => 0xb1,
        _ => 0,
    }
}

/// Architecture version of the GIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    V2,
    V3,
}

/// State of one interrupt (for SGIs and PPIs: one CPU's copy).
#[derive(Clone, Copy, Debug, Default)]
struct IrqState {
    enabled: bool,
    /// Pending latch: set by an edge, GICD_ISPENDR or an SGI; cleared by acknowledge or
    /// GICD_ICPENDR. A level-sensitive interrupt is also pending while its input is high.
    latch: bool,
    /// The input line.
    level: bool,
    active: bool,
    group1: bool,
    /// Edge-triggered (GICD_ICFGR Int_config[1]); level-sensitive otherwise.
    edge: bool,
    priority: u8,
}

impl IrqState {
    fn pending(&self) -> bool {
        self.latch || (!self.edge && self.level)
    }
}

/// The interrupt a CPU interface would take next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    intid: u32,
    priority: u8,
    group1: bool,
    /// GICv2 SGIs: the CPU that sent it.
    source: u8,
}

/// Per-CPU state: banked interrupts, CPU interface, redistributor, outputs.
#[derive(Clone, Debug)]
struct CpuState {
    private: [IrqState; NUM_PRIVATE as usize],
    /// GICv2: for each SGI, the CPUs whose request is pending (GICD_SPENDSGIRn).
    sgi_sources: [u8; NUM_SGIS as usize],

    /// Group enables of the CPU interface (GICC_CTLR.EnableGrp0/1, ICC_IGRPEN0/1_EL1).
    grp_en: [bool; 2],
    /// GICC_CTLR.AckCtl (GICv2).
    ack_ctl: bool,
    /// GICC_CTLR.FIQEn (GICv2): Group 0 is signalled as FIQ. Always so on GICv3.
    fiq_en: bool,
    /// GICC_CTLR.CBPR / ICC_CTLR_EL1.CBPR: BPR0 controls both groups.
    cbpr: bool,
    /// GICC_CTLR.EOImode / ICC_CTLR_EL1.EOImode: EOI only drops priority, DIR deactivates.
    eoimode: bool,
    /// GICC_CTLR bypass-disable bits [8:5] (stored; there is no bypass).
    bypass: u32,
    pmr: u8,
    /// Binary points of Group 0 and Group 1 (GICC_BPR/GICC_ABPR, ICC_BPR0/1_EL1).
    bpr: [u8; 2],
    /// Active priorities of Group 0 and Group 1: bit n = group priority n << 3.
    apr: [u32; 2],

    /// GICR_WAKER.ProcessorSleep (GICv3).
    asleep: bool,
    /// GICR_CTLR.DPG0/DPG1NS/DPG1S (GICv3), as written.
    gicr_dpg: u32,

    /// Derived by `Gic::update`: the highest-priority pending interrupt offered to this CPU.
    hppi: Option<Pending>,
    irq: bool,
    fiq: bool,
}

impl CpuState {
    fn new(version: GicVersion) -> CpuState {
        let mut private = [IrqState::default(); NUM_PRIVATE as usize];
        for sgi in private.iter_mut().take(NUM_SGIS as usize) {
            sgi.edge = true;
            // GICv2: SGI enables are RAO/WI.
            sgi.enabled = version == GicVersion::V2;
        }
        CpuState {
            private,
            sgi_sources: [0; NUM_SGIS as usize],
            grp_en: [false; 2],
            ack_ctl: false,
            fiq_en: false,
            cbpr: false,
            eoimode: false,
            bypass: 0,
            pmr: 0,
            bpr: [MIN_BPR0, MIN_BPR1],
            apr: [0; 2],
            // Awake: what firmware leaves behind on real machines.
            asleep: false,
            gicr_dpg: 0,
            hppi: None,
            irq: false,
            fiq: false,
        }
    }
}

/// The interrupt controller.
pub struct Gic {
    version: GicVersion,
    num_cpus: usize,
    /// Implemented INTIDs: 32 private + SPIs, a multiple of 32 capped at 1020.
    num_irqs: u32,
    /// GICD_TYPER.ITLinesNumber + 1.
    it_lines: u32,
    /// GICD_CTLR.EnableGrp0 / EnableGrp1.
    dist_en: [bool; 2],
    spis: Vec<IrqState>,
    /// GICv2 GICD_ITARGETSR of each SPI.
    targets: Vec<u8>,
    /// GICv3 GICD_IROUTER of each SPI.
    router: Vec<u64>,
    cpus: Vec<CpuState>,
    /// Accesses to offsets that are not registers or with a size the register does not
    /// allow (counted, read as zero, writes ignored).
    pub bad_accesses: u64,
}

/// Which register frame an access to the interrupt registers came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// GICD: every interrupt (GICv2) or the SPIs only (GICv3, affinity routing).
    Dist,
    /// GICR SGI_base: the SGIs and PPIs of one CPU.
    Redist,
}

impl Gic {
    /// A GIC in its reset state. `num_cpus` is clamped to 1..=8 (v2) or 1..=256 (v3);
    /// `num_irqs` counts all INTIDs including the 32 private ones and is rounded up to a
    /// multiple of 32, at most 1020.
    pub fn new(version: GicVersion, num_cpus: usize, num_irqs: u32) -> Gic {
        let max_cpus = match version {
            GicVersion::V2 => V2_MAX_CPUS,
            GicVersion::V3 => V3_MAX_CPUS,
        };
        let num_cpus = num_cpus.clamp(1, max_cpus);
        let it_lines = num_irqs.clamp(NUM_PRIVATE, 1024).div_ceil(32);
        let num_irqs = (it_lines * 32).min(MAX_IRQS);
        let num_spis = (num_irqs - NUM_PRIVATE) as usize;
        let mut gic = Gic {
            version,
            num_cpus,
            num_irqs,
            it_lines,
            dist_en: [false; 2],
            spis: vec![IrqState::default(); num_spis],
            targets: vec![0; num_spis],
            router: vec![0; num_spis],
            cpus: vec![CpuState::new(version); num_cpus],
            bad_accesses: 0,
        };
        gic.update();
        gic
    }

    /// Returns the GIC to its reset state (the bad-access counter is kept).
    pub fn reset(&mut self) {
        let bad = self.bad_accesses;
        *self = Gic::new(self.version, self.num_cpus, self.num_irqs);
        self.bad_accesses = bad;
    }

    pub fn version(&self) -> GicVersion {
        self.version
    }

    pub fn num_cpus(&self) -> usize {
        self.num_cpus
    }

    /// Number of implemented INTIDs (32 private + SPIs).
    pub fn num_irqs(&self) -> u32 {
        self.num_irqs
    }

    /// A device's interrupt input. `intid` < 32 is a PPI of `cpu` (SGIs are raised by
    /// software only and ignored here); `intid` >= 32 is an SPI and `cpu` is ignored.
    /// A rising edge latches an edge-triggered interrupt pending; a level-sensitive one
    /// is pending while the input is high.
    pub fn set_level(&mut self, cpu: usize, intid: u32, level: bool) {
        if intid < NUM_SGIS || (intid < NUM_PRIVATE && cpu >= self.num_cpus) {
            return;
        }
        let Some(irq) = self.irq_mut(cpu, intid) else {
            return;
        };
        if irq.level == level {
            return;
        }
        irq.level = level;
        if level && irq.edge {
            irq.latch = true;
        }
        self.update();
    }

    /// The IRQ output to `cpu`.
    pub fn irq_line(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.irq)
    }

    /// The FIQ output to `cpu`.
    pub fn fiq_line(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.fiq)
    }

    // ---- interrupt state ----

    /// The state of `intid` as `cpu` sees it (its own bank for SGIs and PPIs).
    fn irq(&self, cpu: usize, intid: u32) -> Option<&IrqState> {
        if intid < NUM_PRIVATE {
            self.cpus.get(cpu).map(|c| &c.private[intid as usize])
        } else if intid < self.num_irqs {
            self.spis.get((intid - NUM_PRIVATE) as usize)
        } else {
            None
        }
    }

    fn irq_mut(&mut self, cpu: usize, intid: u32) -> Option<&mut IrqState> {
        if intid < NUM_PRIVATE {
            self.cpus
                .get_mut(cpu)
                .map(|c| &mut c.private[intid as usize])
        } else if intid < self.num_irqs {
            self.spis.get_mut((intid - NUM_PRIVATE) as usize)
        } else {
            None
        }
    }

    /// Whether `intid` is pending for `cpu` (GICv2 SGIs: from any source).
    fn is_pending(&self, cpu: usize, intid: u32) -> bool {
        if self.version == GicVersion::V2 && intid < NUM_SGIS {
            return self.cpus[cpu].sgi_sources[intid as usize] != 0;
        }
        self.irq(cpu, intid).is_some_and(|i| i.pending())
    }

    /// Whether `intid` can be reached through `frame`.
    fn visible(&self, frame: Frame, intid: u32) -> bool {
        match frame {
            Frame::Dist => {
                intid < self.num_irqs && (self.version == GicVersion::V2 || intid >= NUM_PRIVATE)
            }
            Frame::Redist => intid < NUM_PRIVATE,
        }
    }

    /// Mask of the CPUs that exist (GICv2 target lists).
    fn cpu_mask(&self) -> u8 {
        (1u32 << self.num_cpus.min(8)).wrapping_sub(1) as u8
    }

    /// Affinity of CPU `cpu` packed as GICR_TYPER[63:32]: Aff3.Aff2.Aff1.Aff0.
    fn affinity(cpu: usize) -> u32 {
        cpu as u32
    }

    /// The CPU whose affinity a GICD_IROUTER value names, if it exists (the inverse of
    /// [`Gic::affinity`]).
    fn routed_cpu(&self, router: u64) -> Option<usize> {
        let packed = ((router >> 8) & 0xff00_0000) | (router & 0x00ff_ffff);
        usize::try_from(packed).ok().filter(|&c| c < self.num_cpus)
    }

    /// Whether SPI number `spi` (INTID - 32) is forwarded to `cpu`.
    fn spi_reaches(&self, spi: usize, cpu: usize, group1: bool) -> bool {
        match self.version {
            GicVersion::V2 => self.num_cpus == 1 || self.targets[spi] & (1 << cpu) != 0,
            GicVersion::V3 => {
                let router = self.router[spi];
                if router & dist::IROUTER_IRM != 0 {
                    // 1-of-N: any CPU that has not opted out with GICR_CTLR.DPG*.
                    let dpg = if group1 {
                        redist::GICR_CTLR_DPG1NS
                    } else {
                        redist::GICR_CTLR_DPG0
                    };
                    self.cpus[cpu].gicr_dpg & dpg == 0
                } else {
                    self.routed_cpu(router) == Some(cpu)
                }
            }
        }
    }

    // ---- the CPU interface's view ----

    /// The highest-priority interrupt that is enabled, pending, not active, routed to
    /// `cpu` and whose group is enabled in the distributor. If its group is disabled in
    /// the CPU interface it is still the highest pending interrupt, but it is not
    /// signalled and cannot be acknowledged (IHI 0069 GICC_HPPIR, ICC_HPPIR1_EL1).
    fn compute_hppi(&self, cpu: usize) -> Option<Pending> {
        let c = &self.cpus[cpu];
        if self.version == GicVersion::V3 && c.asleep {
            return None;
        }
        let usable = |group1: bool| self.dist_en[group1 as usize];
        let mut best: Option<Pending> = None;
        let mut offer = |intid: u32, irq: &IrqState, source: u8| {
            if best.is_none_or(|b| irq.priority < b.priority) {
                best = Some(Pending {
                    intid,
                    priority: irq.priority,
                    group1: irq.group1,
                    source,
                });
            }
        };
        for (intid, irq) in (0..).zip(c.private.iter()) {
            if irq.enabled && !irq.active && usable(irq.group1) && self.is_pending(cpu, intid) {
                let source = if intid < NUM_SGIS {
                    c.sgi_sources[intid as usize].trailing_zeros() as u8
                } else {
                    0
                };
                offer(intid, irq, source);
            }
        }
        for (spi, irq) in self.spis.iter().enumerate() {
            if irq.enabled
                && irq.pending()
                && !irq.active
                && usable(irq.group1)
                && self.spi_reaches(spi, cpu, irq.group1)
            {
                offer(spi as u32 + NUM_PRIVATE, irq, 0);
            }
        }
        best
    }

    /// Mask selecting the group priority bits of a priority, per the binary point that
    /// applies to the group (IHI 0048B 3.3.3, IHI 0069 4.8.5). Group 1 binary points
    /// count one less: GICC_ABPR/ICC_BPR1 = n splits like GICC_BPR/ICC_BPR0 = n - 1.
    fn group_mask(&self, cpu: usize, group1: bool) -> u8 {
        let c = &self.cpus[cpu];
        let bpr = if group1 && !c.cbpr {
            c.bpr[1] - 1
        } else {
            c.bpr[0]
        };
        (0xffu32 << (bpr + 1)) as u8
    }

    /// Running priority: the highest active group priority, or IDLE_PRIORITY.
    fn running_priority(&self, cpu: usize) -> u32 {
        let active = self.cpus[cpu].apr[0] | self.cpus[cpu].apr[1];
        if active == 0 {
            IDLE_PRIORITY
        } else {
            active.trailing_zeros() << (8 - PRIORITY_BITS)
        }
    }

    /// Running priority as GICC_RPR / ICC_RPR_EL1 report it (0xff when idle).
    fn rpr(&self, cpu: usize) -> u64 {
        self.running_priority(cpu).min(0xff) as u64
    }

    /// Whether `p`'s group is enabled in the CPU interface, `p` passes the priority mask
    /// and preempts the running priority.
    fn can_signal(&self, cpu: usize, p: &Pending) -> bool {
        self.cpus[cpu].grp_en[p.group1 as usize]
            && p.priority < self.cpus[cpu].pmr
            && ((p.priority & self.group_mask(cpu, p.group1)) as u32) < self.running_priority(cpu)
    }

    /// The interrupt an acknowledge by `cpu` would take now, if any.
    fn ackable(&self, cpu: usize) -> Option<Pending> {
        self.cpus[cpu].hppi.filter(|p| self.can_signal(cpu, p))
    }

    /// INTID value of `p` as GICC_IAR/GICC_HPPIR return it: GICv2 SGIs carry the source
    /// CPU in bits [12:10].
    fn iar_value(&self, p: &Pending) -> u32 {
        if self.version == GicVersion::V2 && p.intid < NUM_SGIS {
            p.intid | (p.source as u32) << 10
        } else {
            p.intid
        }
    }

    /// Acknowledges `p` on `cpu`: pending -> active (or active and pending), its group
    /// priority becomes the running priority. Returns the GICC_IAR/ICC_IAR value.
    fn acknowledge(&mut self, cpu: usize, p: Pending) -> u32 {
        let group_priority = p.priority & self.group_mask(cpu, p.group1);
        let value = self.iar_value(&p);
        let c = &mut self.cpus[cpu];
        c.apr[p.group1 as usize] |= 1 << (group_priority >> (8 - PRIORITY_BITS));
        if self.version == GicVersion::V2 && p.intid < NUM_SGIS {
            c.sgi_sources[p.intid as usize] &= !(1 << p.source);
        }
        if let Some(irq) = self.irq_mut(cpu, p.intid) {
            irq.latch = false;
            irq.active = true;
        }
        self.update();
        value
    }

    /// Priority drop: clears the highest active priority of the group.
    fn drop_priority(&mut self, cpu: usize, group1: bool) {
        let apr = &mut self.cpus[cpu].apr[group1 as usize];
        *apr &= apr.wrapping_sub(1);
    }

    /// The group holding the highest active priority of `cpu`, if any is active.
    fn highest_active_group(&self, cpu: usize) -> Option<bool> {
        let [g0, g1] = self.cpus[cpu].apr;
        match (g0, g1) {
            (0, 0) => None,
            (0, _) => Some(true),
            (_, 0) => Some(false),
            _ => Some(g1.trailing_zeros() < g0.trailing_zeros()),
        }
    }

    fn deactivate(&mut self, cpu: usize, intid: u32) {
        if let Some(irq) = self.irq_mut(cpu, intid) {
            irq.active = false;
        }
    }

    /// Recomputes every CPU's highest pending interrupt and its IRQ/FIQ outputs. Called
    /// after every state change.
    fn update(&mut self) {
        for cpu in 0..self.num_cpus {
            let hppi = self.compute_hppi(cpu);
            let (irq, fiq) = match hppi {
                Some(p) if self.can_signal(cpu, &p) => {
                    let fiq =
                        !p.group1 && (self.version == GicVersion::V3 || self.cpus[cpu].fiq_en);
                    (!fiq, fiq)
                }
                _ => (false, false),
            };
            let c = &mut self.cpus[cpu];
            c.hppi = hppi;
            c.irq = irq;
            c.fiq = fiq;
        }
    }

    /// Counts a bad access; returns the read-as-zero value.
    fn bad(&mut self) -> u64 {
        self.bad_accesses += 1;
        0
    }
}

/// Whether an access is one naturally aligned 32-bit word.
fn is_word(offset: u64, size: u8) -> bool {
    size == 4 && offset.is_multiple_of(4)
}

/// GICD as a bus device.
pub struct GicDistributor(pub Arc<Mutex<Gic>>);

impl MmioDevice for GicDistributor {
    fn read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        self.0.locked().dist_read(cpu, offset, size)
    }
    fn write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        self.0.locked().dist_write(cpu, offset, size, value)
    }
}

/// GICv2 GICC as a bus device.
pub struct GicCpuInterface(pub Arc<Mutex<Gic>>);

impl MmioDevice for GicCpuInterface {
    fn read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        self.0.locked().cpuif_read(cpu, offset, size)
    }
    fn write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        self.0.locked().cpuif_write(cpu, offset, size, value)
    }
}

/// GICv3 redistributor region (all CPUs' GICR frames) as a bus device.
pub struct GicRedistributor(pub Arc<Mutex<Gic>>);

impl MmioDevice for GicRedistributor {
    fn read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        self.0.locked().redist_read(cpu, offset, size)
    }
    fn write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        self.0.locked().redist_write(cpu, offset, size, value)
    }
}

#[cfg(test)]
mod tests;
