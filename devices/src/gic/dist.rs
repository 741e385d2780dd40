//! The distributor (GICD), and the per-interrupt registers that GICv3 redistributors
//! repeat in their SGI_base frame. Register map: IHI 0048B 4.1.2 Table 4-1 (GICv2),
//! IHI 0069 12.8 Table 12-25 (GICv3).

use super::PRIORITY_MASK;
use super::{id_register, is_word, Frame, Gic, GicVersion, IIDR_ARM, NUM_PRIVATE, NUM_SGIS};

const GICD_CTLR: u64 = 0x000; // Distributor control, RW
const GICD_TYPER: u64 = 0x004; // Interrupt controller type, RO
const GICD_IIDR: u64 = 0x008; // Implementer identification, RO
const GICD_TYPER2: u64 = 0x00c; // GICv4.1 type register 2, RO (zero here)
const GICD_STATUSR: u64 = 0x010; // Error reporting status (GICv3, optional): RAZ/WI
const GICD_SETSPI_NSR: u64 = 0x040; // Message-based SPIs, GICv3 with MBIS only: RAZ/WI
const GICD_CLRSPI_SR_END: u64 = 0x060;
const GICD_IGROUPR: u64 = 0x080; // Interrupt group, RW
const GICD_ISENABLER: u64 = 0x100; // Interrupt set-enable, RW
const GICD_ICENABLER: u64 = 0x180; // Interrupt clear-enable, RW
const GICD_ISPENDR: u64 = 0x200; // Interrupt set-pending, RW
const GICD_ICPENDR: u64 = 0x280; // Interrupt clear-pending, RW
const GICD_ISACTIVER: u64 = 0x300; // Interrupt set-active, RW
const GICD_ICACTIVER: u64 = 0x380; // Interrupt clear-active, RW
const GICD_IPRIORITYR: u64 = 0x400; // Interrupt priority, RW, byte-accessible
const GICD_ITARGETSR: u64 = 0x800; // Interrupt processor targets (GICv2), byte-accessible
const GICD_ICFGR: u64 = 0xc00; // Interrupt configuration, RW
const GICD_IGRPMODR: u64 = 0xd00; // Group modifier (GICv3): RAZ/WI with DS=1
const GICD_NSACR: u64 = 0xe00; // Non-secure access control: RAZ/WI without security
const GICD_SGIR: u64 = 0xf00; // Software generated interrupt (GICv2), WO
const GICD_CPENDSGIR: u64 = 0xf10; // SGI clear-pending (GICv2), byte-accessible
const GICD_SPENDSGIR: u64 = 0xf20; // SGI set-pending (GICv2), byte-accessible
const GICD_IROUTER: u64 = 0x6000; // Interrupt routing (GICv3), 64-bit, one per INTID
const GICD_ID_V2: u64 = 0xfd0; // PIDR4..CIDR3 (GICv2)
const GICD_ID_V3: u64 = 0xffd0; // PIDR4..CIDR3 (GICv3)

const CTLR_ENABLE_GRP0: u32 = 1 << 0;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
/// GICv3 DS=1: affinity routing enable, RAO/WI (no legacy operation).
const CTLR_ARE: u32 = 1 << 4;
/// GICv3: Disable Security, RAO/WI (single Security state).
const CTLR_DS: u32 = 1 << 6;

/// GICD_IROUTER.Interrupt_Routing_Mode: 1-of-N.
pub(super) const IROUTER_IRM: u64 = 1 << 31;
/// Writable GICD_IROUTER bits: Aff3, IRM, Aff2, Aff1, Aff0.
const IROUTER_MASK: u64 = 0xff_0000_0000 | IROUTER_IRM | 0xff_ffff;

/// GICD_TYPER (GICv3) fields.
const TYPER_IDBITS_10: u32 = 9 << 19; // INTIDs have 10 bits (no LPIs)
const TYPER_A3V: u32 = 1 << 24; // Aff3 supported
const TYPER_RSS: u32 = 1 << 26; // SGI range selector supported

/// The per-interrupt register arrays, shared by GICD and the GICR SGI_base frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IrqReg {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
    Priority,
    Targets,
    Config,
}

/// Decodes an offset in the GICD layout into an interrupt register array and the byte
/// offset within it.
pub(super) fn decode_irq_reg(offset: u64) -> Option<(IrqReg, u64)> {
    let (reg, base) = match offset {
        0x080..=0x0ff => (IrqReg::Group, GICD_IGROUPR),
        0x100..=0x17f => (IrqReg::SetEnable, GICD_ISENABLER),
        0x180..=0x1ff => (IrqReg::ClearEnable, GICD_ICENABLER),
        0x200..=0x27f => (IrqReg::SetPending, GICD_ISPENDR),
        0x280..=0x2ff => (IrqReg::ClearPending, GICD_ICPENDR),
        0x300..=0x37f => (IrqReg::SetActive, GICD_ISACTIVER),
        0x380..=0x3ff => (IrqReg::ClearActive, GICD_ICACTIVER),
        0x400..=0x7ff => (IrqReg::Priority, GICD_IPRIORITYR),
        0x800..=0xbff => (IrqReg::Targets, GICD_ITARGETSR),
        0xc00..=0xcff => (IrqReg::Config, GICD_ICFGR),
        _ => return None,
    };
    Some((reg, offset - base))
}

impl Gic {
    /// A guest read of the distributor by CPU `cpu`.
    pub fn dist_read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        if cpu >= self.num_cpus {
            return self.bad();
        }
        match self.dist_reg_read(cpu, offset, size) {
            Some(v) => v,
            None => self.bad(),
        }
    }

    /// A guest write to the distributor by CPU `cpu`.
    pub fn dist_write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        if cpu >= self.num_cpus || !self.dist_reg_write(cpu, offset, size, value) {
            self.bad();
        }
        self.update();
    }

    fn dist_ctlr(&self) -> u32 {
        let mut v = 0;
        if self.dist_en[0] {
            v |= CTLR_ENABLE_GRP0;
        }
        if self.dist_en[1] {
            v |= CTLR_ENABLE_GRP1;
        }
        if self.version == GicVersion::V3 {
            v |= CTLR_ARE | CTLR_DS;
        }
        v
    }

    fn dist_typer(&self) -> u32 {
        let lines = self.it_lines - 1;
        match self.version {
            GicVersion::V2 => lines | ((self.num_cpus as u32 - 1) << 5),
            // CPUNumber is 0 when ARE cannot be 0; SecurityExtn 0 (DS=1); no LPIs/MBIs;
            // 1-of-N supported (No1N = 0).
            GicVersion::V3 => lines | TYPER_IDBITS_10 | TYPER_A3V | TYPER_RSS,
        }
    }

    /// Reads a GICD register; `None` for a bad access.
    fn dist_reg_read(&mut self, cpu: usize, offset: u64, size: u8) -> Option<u64> {
        let v3 = self.version == GicVersion::V3;
        if let Some((reg, rel)) = decode_irq_reg(offset) {
            if v3 && reg == IrqReg::Targets {
                // GICD_ITARGETSR: RES0 with affinity routing.
                return byte_or_word(offset, size).then_some(0);
            }
            return self.irq_reg_read(Frame::Dist, cpu, reg, rel, size);
        }
        if v3 && (GICD_IROUTER..GICD_IROUTER + 8 * 1024).contains(&offset) {
            return self.irouter_read(offset, size);
        }
        if !is_word(offset, size) {
            if (GICD_CPENDSGIR..GICD_SPENDSGIR + 0x10).contains(&offset) && size == 1 {
                return Some(if v3 {
                    0
                } else {
                    self.sgi_pend_read(cpu, offset) as u64
                });
            }
            return None;
        }
        let v = match offset {
            GICD_CTLR => self.dist_ctlr(),
            GICD_TYPER => self.dist_typer(),
            GICD_IIDR => IIDR_ARM,
            GICD_TYPER2 | GICD_STATUSR if v3 => 0,
            GICD_SETSPI_NSR..GICD_CLRSPI_SR_END if v3 => 0,
            GICD_IGRPMODR..=0xd7f if v3 => 0,
            GICD_NSACR..=0xeff => 0,
            // Write-only.
            GICD_SGIR => 0,
            GICD_CPENDSGIR..=0xf2f => {
                if v3 {
                    0
                } else {
                    (0..4).fold(0, |v, i| v | self.sgi_pend_read(cpu, offset + i) << (8 * i))
                }
            }
            GICD_ID_V2..=0xfff if !v3 => id_register(self.version, (offset - GICD_ID_V2) / 4),
            GICD_ID_V3..=0xffff if v3 => id_register(self.version, (offset - GICD_ID_V3) / 4),
            _ => return None,
        };
        Some(v as u64)
    }

    /// Writes a GICD register; false for a bad access.
    fn dist_reg_write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) -> bool {
        let v3 = self.version == GicVersion::V3;
        if let Some((reg, rel)) = decode_irq_reg(offset) {
            if v3 && reg == IrqReg::Targets {
                return byte_or_word(offset, size);
            }
            return self.irq_reg_write(Frame::Dist, cpu, reg, rel, size, value);
        }
        if v3 && (GICD_IROUTER..GICD_IROUTER + 8 * 1024).contains(&offset) {
            return self.irouter_write(offset, size, value);
        }
        if !is_word(offset, size) {
            if (GICD_CPENDSGIR..GICD_SPENDSGIR + 0x10).contains(&offset) && size == 1 {
                if !v3 {
                    self.sgi_pend_write(cpu, offset, value as u8);
                }
                return true;
            }
            return false;
        }
        let v = value as u32;
        match offset {
            GICD_CTLR => {
                self.dist_en = [v & CTLR_ENABLE_GRP0 != 0, v & CTLR_ENABLE_GRP1 != 0];
            }
            // Read-only.
            GICD_TYPER | GICD_IIDR => {}
            GICD_TYPER2 | GICD_STATUSR if v3 => {}
            GICD_SETSPI_NSR..GICD_CLRSPI_SR_END if v3 => {}
            GICD_IGRPMODR..=0xd7f if v3 => {}
            GICD_NSACR..=0xeff => {}
            GICD_SGIR => {
                if !v3 {
                    self.gicd_sgir(cpu, v);
                }
            }
            GICD_CPENDSGIR..=0xf2f => {
                if !v3 {
                    for i in 0..4 {
                        self.sgi_pend_write(cpu, offset + i, (v >> (8 * i)) as u8);
                    }
                }
            }
            GICD_ID_V2..=0xfff if !v3 => {}
            GICD_ID_V3..=0xffff if v3 => {}
            _ => return false,
        }
        true
    }

    /// GICD_SGIR (GICv2): TargetListFilter [25:24], CPUTargetList [23:16], SGIINTID [3:0].
    /// NSATT is ignored: without Security Extensions every SGI is forwarded.
    fn gicd_sgir(&mut self, cpu: usize, v: u32) {
        let sgi = (v & 0xf) as usize;
        let targets = match (v >> 24) & 3 {
            0 => (v >> 16) as u8,
            1 => !(1u8 << cpu),
            2 => 1u8 << cpu,
            _ => return, // reserved filter: no SGI
        } & self.cpu_mask();
        for (t, c) in self.cpus.iter_mut().enumerate() {
            if targets & (1 << t) != 0 {
                c.sgi_sources[sgi] |= 1 << cpu;
            }
        }
    }

    /// One byte of GICD_CPENDSGIR/GICD_SPENDSGIR: the source CPUs of SGI n pending on `cpu`.
    fn sgi_pend_read(&self, cpu: usize, offset: u64) -> u32 {
        let sgi = ((offset - GICD_CPENDSGIR) % 16) as usize;
        self.cpus[cpu].sgi_sources[sgi] as u32
    }

    fn sgi_pend_write(&mut self, cpu: usize, offset: u64, sources: u8) {
        let sources = sources & self.cpu_mask();
        let sgi = ((offset - GICD_CPENDSGIR) % 16) as usize;
        let pending = &mut self.cpus[cpu].sgi_sources[sgi];
        if offset < GICD_SPENDSGIR {
            *pending &= !sources;
        } else {
            *pending |= sources;
        }
    }

    /// GICD_IROUTER<n>: 64-bit, or either 32-bit half. INTIDs below 32 are reserved.
    fn irouter_read(&mut self, offset: u64, size: u8) -> Option<u64> {
        let rel = offset - GICD_IROUTER;
        let (intid, half) = ((rel / 8) as u32, rel % 8);
        let router = if (NUM_PRIVATE..self.num_irqs).contains(&intid) {
            self.router[(intid - NUM_PRIVATE) as usize]
        } else {
            0
        };
        match (size, half) {
            (8, 0) => Some(router),
            (4, 0) => Some(router & 0xffff_ffff),
            (4, 4) => Some(router >> 32),
            _ => None,
        }
    }

    fn irouter_write(&mut self, offset: u64, size: u8, value: u64) -> bool {
        let rel = offset - GICD_IROUTER;
        let (intid, half) = ((rel / 8) as u32, rel % 8);
        let slot = if (NUM_PRIVATE..self.num_irqs).contains(&intid) {
            Some(&mut self.router[(intid - NUM_PRIVATE) as usize])
        } else {
            None
        };
        let new = |old: u64| match (size, half) {
            (8, 0) => Some(value),
            (4, 0) => Some((old & !0xffff_ffff) | (value & 0xffff_ffff)),
            (4, 4) => Some((old & 0xffff_ffff) | (value << 32)),
            _ => None,
        };
        match slot {
            Some(router) => match new(*router) {
                Some(v) => {
                    *router = v & IROUTER_MASK;
                    true
                }
                None => false,
            },
            None => new(0).is_some(),
        }
    }

    // ---- interrupt register arrays (GICD and GICR SGI_base) ----

    /// Reads `size` bytes at byte `rel` of array `reg`, seen through `frame` by `cpu`
    /// (whose bank holds SGIs and PPIs). Interrupts that `frame` does not reach read as 0.
    pub(super) fn irq_reg_read(
        &self,
        frame: Frame,
        cpu: usize,
        reg: IrqReg,
        rel: u64,
        size: u8,
    ) -> Option<u64> {
        let mut v = 0u64;
        match reg {
            IrqReg::Priority | IrqReg::Targets => {
                if !byte_or_word(rel, size) {
                    return None;
                }
                for i in 0..size as u64 {
                    v |= (self.irq_byte_read(frame, cpu, reg, (rel + i) as u32) as u64) << (8 * i);
                }
            }
            IrqReg::Config => {
                if !is_word(rel, size) {
                    return None;
                }
                for i in 0..16 {
                    let intid = (rel * 4 + i) as u32;
                    if self.visible(frame, intid) && self.irq(cpu, intid).is_some_and(|s| s.edge) {
                        v |= 2 << (2 * i);
                    }
                }
            }
            _ => {
                if !is_word(rel, size) {
                    return None;
                }
                for i in 0..32 {
                    let intid = (rel * 8 + i) as u32;
                    if self.visible(frame, intid) && self.irq_bit(cpu, reg, intid) {
                        v |= 1 << i;
                    }
                }
            }
        }
        Some(v)
    }

    /// Writes `size` bytes at byte `rel` of array `reg`; false for a bad access size.
    pub(super) fn irq_reg_write(
        &mut self,
        frame: Frame,
        cpu: usize,
        reg: IrqReg,
        rel: u64,
        size: u8,
        value: u64,
    ) -> bool {
        match reg {
            IrqReg::Priority | IrqReg::Targets => {
                if !byte_or_word(rel, size) {
                    return false;
                }
                for i in 0..size as u64 {
                    let byte = (value >> (8 * i)) as u8;
                    self.irq_byte_write(frame, cpu, reg, (rel + i) as u32, byte);
                }
            }
            IrqReg::Config => {
                if !is_word(rel, size) {
                    return false;
                }
                for i in 0..16 {
                    let intid = (rel * 4 + i) as u32;
                    // SGIs are always edge-triggered; Int_config[0] is reserved.
                    if intid >= NUM_SGIS && self.visible(frame, intid) {
                        if let Some(irq) = self.irq_mut(cpu, intid) {
                            irq.edge = value & (2 << (2 * i)) != 0;
                        }
                    }
                }
            }
            _ => {
                if !is_word(rel, size) {
                    return false;
                }
                for i in 0..32 {
                    let intid = (rel * 8 + i) as u32;
                    if self.visible(frame, intid) {
                        self.irq_bit_write(cpu, reg, intid, value & (1 << i) != 0);
                    }
                }
            }
        }
        true
    }

    /// One bit of a set/clear or group array.
    fn irq_bit(&self, cpu: usize, reg: IrqReg, intid: u32) -> bool {
        let Some(irq) = self.irq(cpu, intid) else {
            return false;
        };
        match reg {
            IrqReg::Group => irq.group1,
            IrqReg::SetEnable | IrqReg::ClearEnable => irq.enabled,
            IrqReg::SetPending | IrqReg::ClearPending => self.is_pending(cpu, intid),
            IrqReg::SetActive | IrqReg::ClearActive => irq.active,
            IrqReg::Priority | IrqReg::Targets | IrqReg::Config => false,
        }
    }

    /// Writes one bit: the group itself, or a set/clear request where 1 acts.
    fn irq_bit_write(&mut self, cpu: usize, reg: IrqReg, intid: u32, bit: bool) {
        // GICv2 SGIs: enables are RAO/WI, pending state is per source and set or
        // cleared through GICD_SPENDSGIR/GICD_CPENDSGIR only.
        let v2_sgi = self.version == GicVersion::V2 && intid < NUM_SGIS;
        let Some(irq) = self.irq_mut(cpu, intid) else {
            return;
        };
        match reg {
            IrqReg::Group => irq.group1 = bit,
            _ if !bit => {}
            IrqReg::SetEnable if !v2_sgi => irq.enabled = true,
            IrqReg::ClearEnable if !v2_sgi => irq.enabled = false,
            IrqReg::SetPending if !v2_sgi => irq.latch = true,
            IrqReg::ClearPending if !v2_sgi => irq.latch = false,
            IrqReg::SetActive => irq.active = true,
            IrqReg::ClearActive => irq.active = false,
            _ => {}
        }
    }

    /// One byte of GICD_IPRIORITYR or GICD_ITARGETSR.
    fn irq_byte_read(&self, frame: Frame, cpu: usize, reg: IrqReg, intid: u32) -> u8 {
        if !self.visible(frame, intid) {
            return 0;
        }
        match reg {
            IrqReg::Priority => self.irq(cpu, intid).map_or(0, |i| i.priority),
            // Uniprocessor: RAZ/WI. SGIs/PPIs: the reading CPU's own bit.
            _ if self.num_cpus == 1 => 0,
            _ if intid < NUM_PRIVATE => 1u8.checked_shl(cpu as u32).unwrap_or(0),
            _ => self.targets[(intid - NUM_PRIVATE) as usize],
        }
    }

    fn irq_byte_write(&mut self, frame: Frame, cpu: usize, reg: IrqReg, intid: u32, byte: u8) {
        if !self.visible(frame, intid) {
            return;
        }
        match reg {
            IrqReg::Priority => {
                if let Some(irq) = self.irq_mut(cpu, intid) {
                    irq.priority = byte & PRIORITY_MASK;
                }
            }
            _ if intid >= NUM_PRIVATE && self.num_cpus > 1 => {
                let mask = self.cpu_mask();
                self.targets[(intid - NUM_PRIVATE) as usize] = byte & mask;
            }
            _ => {}
        }
    }
}

/// Byte or naturally aligned word access (the byte-accessible registers).
fn byte_or_word(offset: u64, size: u8) -> bool {
    size == 1 || is_word(offset, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2() -> Gic {
        Gic::new(GicVersion::V2, 2, 288)
    }

    fn v3() -> Gic {
        Gic::new(GicVersion::V3, 2, 288)
    }

    #[test]
    fn reset_values() {
        // (version, offset, expected) read as 32-bit words by CPU 1.
        let table: &[(GicVersion, u64, u64)] = &[
            (GicVersion::V2, GICD_CTLR, 0),
            (GicVersion::V2, GICD_TYPER, 8 | (1 << 5)),
            (GicVersion::V2, GICD_IIDR, 0x43b),
            (GicVersion::V2, GICD_IGROUPR, 0),
            (GicVersion::V2, GICD_ISENABLER, 0xffff), // SGIs RAO
            (GicVersion::V2, GICD_ISENABLER + 4, 0),
            (GicVersion::V2, GICD_ISPENDR, 0),
            (GicVersion::V2, GICD_ISACTIVER, 0),
            (GicVersion::V2, GICD_IPRIORITYR, 0),
            (GicVersion::V2, GICD_ITARGETSR, 0x0202_0202), // CPU 1's own bit
            (GicVersion::V2, GICD_ITARGETSR + 28, 0x0202_0202),
            (GicVersion::V2, GICD_ITARGETSR + 32, 0),
            (GicVersion::V2, GICD_ICFGR, 0xaaaa_aaaa),
            (GicVersion::V2, GICD_ICFGR + 4, 0),
            (GicVersion::V2, GICD_ICFGR + 8, 0),
            (GicVersion::V2, GICD_SPENDSGIR, 0),
            (GicVersion::V2, 0xfe8, 0x2b),
            (GicVersion::V2, 0xff0, 0x0d),
            (GicVersion::V2, 0xffc, 0xb1),
            (GicVersion::V3, GICD_CTLR, 0x50),
            (
                GicVersion::V3,
                GICD_TYPER,
                8 | (9 << 19) | (1 << 24) | (1 << 26),
            ),
            (GicVersion::V3, GICD_IIDR, 0x43b),
            (GicVersion::V3, GICD_TYPER2, 0),
            (GicVersion::V3, GICD_ISENABLER, 0), // private: in the redistributor
            (GicVersion::V3, GICD_ICFGR, 0),
            (GicVersion::V3, GICD_ITARGETSR + 32, 0),
            (GicVersion::V3, 0xffe8, 0x3b),
            (GicVersion::V3, 0xffd0, 0x04),
        ];
        for &(version, offset, want) in table {
            let mut g = Gic::new(version, 2, 288);
            assert_eq!(
                g.dist_read(1, offset, 4),
                want,
                "{version:?} offset {offset:#x}"
            );
            assert_eq!(g.bad_accesses, 0, "{version:?} offset {offset:#x}");
        }
    }

    #[test]
    fn write_behaviour() {
        // (version, offset, written, read back) as 32-bit words by CPU 0.
        let table: &[(GicVersion, u64, u64, u64)] = &[
            (GicVersion::V2, GICD_CTLR, 0xffff_ffff, 3),
            (GicVersion::V2, GICD_TYPER, 0, 8 | (1 << 5)),
            (GicVersion::V2, GICD_IIDR, 0, 0x43b),
            (GicVersion::V2, GICD_IGROUPR, 0xffff_ffff, 0xffff_ffff),
            (GicVersion::V2, GICD_IGROUPR + 36, 0xffff_ffff, 0), // INTID 288+: none
            (GicVersion::V2, GICD_ICENABLER, 0xffff_ffff, 0xffff), // SGIs stay enabled
            (GicVersion::V2, GICD_ISENABLER + 4, 0x8000_0001, 0x8000_0001),
            (GicVersion::V2, GICD_ISPENDR, 0xffff_ffff, 0xffff_0000), // SGI bits WI
            (GicVersion::V2, GICD_ISACTIVER + 8, 0x10, 0x10),
            (GicVersion::V2, GICD_IPRIORITYR, 0xffff_ffff, 0xf8f8_f8f8), // 5 bits
            (
                GicVersion::V2,
                GICD_IPRIORITYR + 40,
                0x1234_5678,
                0x1030_5078,
            ),
            (GicVersion::V2, GICD_ITARGETSR, 0xffff_ffff, 0x0101_0101), // RO for 0-31
            (
                GicVersion::V2,
                GICD_ITARGETSR + 32,
                0xffff_ffff,
                0x0303_0303,
            ), // 2 CPUs
            (GicVersion::V2, GICD_ICFGR, 0, 0xaaaa_aaaa),               // SGIs edge
            (GicVersion::V2, GICD_ICFGR + 4, 0xffff_ffff, 0xaaaa_aaaa), // PPIs
            (GicVersion::V2, GICD_ICFGR + 8, 0x5555_aaaa, 0x0000_aaaa),
            (GicVersion::V2, GICD_NSACR, 0xffff_ffff, 0),
            (GicVersion::V2, GICD_SGIR, 0xffff_ffff, 0),
            (GicVersion::V2, 0xfe8, 0, 0x2b),
            (GicVersion::V3, GICD_CTLR, 0xffff_ffff, 0x53),
            (GicVersion::V3, GICD_CTLR, 0, 0x50),
            (GicVersion::V3, GICD_IGROUPR, 0xffff_ffff, 0), // private: RAZ/WI
            (GicVersion::V3, GICD_IGROUPR + 4, 0xffff_ffff, 0xffff_ffff),
            (GicVersion::V3, GICD_ISENABLER, 0xffff_ffff, 0),
            (GicVersion::V3, GICD_ISENABLER + 4, 0xffff_ffff, 0xffff_ffff),
            (GicVersion::V3, GICD_IPRIORITYR, 0xffff_ffff, 0),
            (
                GicVersion::V3,
                GICD_IPRIORITYR + 32,
                0xa0a0_a0a0,
                0xa0a0_a0a0,
            ),
            (GicVersion::V3, GICD_ITARGETSR + 32, 0xffff_ffff, 0),
            (GicVersion::V3, GICD_ICFGR + 8, 0xffff_ffff, 0xaaaa_aaaa),
            (GicVersion::V3, GICD_IGRPMODR + 4, 0xffff_ffff, 0),
            (GicVersion::V3, GICD_SGIR, 0xffff_ffff, 0),
            (GicVersion::V3, GICD_SPENDSGIR, 0xffff_ffff, 0),
        ];
        for &(version, offset, value, want) in table {
            let mut g = Gic::new(version, 2, 288);
            g.dist_write(0, offset, 4, value);
            assert_eq!(
                g.dist_read(0, offset, 4),
                want,
                "{version:?} offset {offset:#x}"
            );
            assert_eq!(g.bad_accesses, 0, "{version:?} offset {offset:#x}");
        }
    }

    #[test]
    fn set_and_clear_registers_act_on_ones_only() {
        for mut g in [v2(), v3()] {
            g.dist_write(0, GICD_ISENABLER + 4, 4, 0b1111);
            g.dist_write(0, GICD_ICENABLER + 4, 4, 0b0101);
            assert_eq!(g.dist_read(0, GICD_ISENABLER + 4, 4), 0b1010);
            assert_eq!(g.dist_read(0, GICD_ICENABLER + 4, 4), 0b1010);
            g.dist_write(0, GICD_ISPENDR + 4, 4, 0b11);
            g.dist_write(0, GICD_ICPENDR + 4, 4, 0b10);
            assert_eq!(g.dist_read(0, GICD_ICPENDR + 4, 4), 0b01);
            g.dist_write(0, GICD_ISACTIVER + 4, 4, 0b110);
            g.dist_write(0, GICD_ICACTIVER + 4, 4, 0b010);
            assert_eq!(g.dist_read(0, GICD_ISACTIVER + 4, 4), 0b100);
        }
    }

    #[test]
    fn byte_access_where_allowed_only() {
        let mut g = v2();
        g.dist_write(0, GICD_IPRIORITYR + 33, 1, 0xa7);
        assert_eq!(g.dist_read(0, GICD_IPRIORITYR + 32, 4), 0xa000);
        assert_eq!(g.dist_read(0, GICD_IPRIORITYR + 33, 1), 0xa0);
        g.dist_write(0, GICD_ITARGETSR + 34, 1, 0xff);
        assert_eq!(g.dist_read(0, GICD_ITARGETSR + 32, 4), 0x0003_0000);
        assert_eq!(g.dist_read(1, GICD_ITARGETSR + 3, 1), 0x02);
        assert_eq!(g.bad_accesses, 0);
        // Word-only registers refuse bytes and halfwords; unaligned words too.
        g.dist_write(0, GICD_ISENABLER + 4, 1, 0xff);
        g.dist_write(0, GICD_CTLR, 2, 3);
        g.dist_write(0, GICD_IPRIORITYR + 33, 4, 0xffff_ffff);
        assert_eq!(g.bad_accesses, 3);
        assert_eq!(g.dist_read(0, GICD_ISENABLER + 4, 4), 0);
        assert_eq!(g.dist_read(0, GICD_CTLR, 4), 0);
        assert_eq!(g.dist_read(0, GICD_CTLR, 8), 0);
        assert_eq!(g.bad_accesses, 4);
    }

    #[test]
    fn sgi_pending_registers_v2() {
        let mut g = v2();
        // CPU 0 sends SGI 3 to CPU 1 (target list), CPU 1 sends SGI 3 to itself.
        g.dist_write(0, GICD_SGIR, 4, (0b10 << 16) | 3);
        g.dist_write(1, GICD_SGIR, 4, (2 << 24) | 3);
        assert_eq!(g.dist_read(1, GICD_SPENDSGIR, 4), 0x0300_0000);
        assert_eq!(g.dist_read(1, GICD_CPENDSGIR + 3, 1), 0x03);
        assert_eq!(g.dist_read(0, GICD_SPENDSGIR, 4), 0);
        assert_eq!(g.dist_read(1, GICD_ISPENDR, 4), 1 << 3);
        g.dist_write(1, GICD_CPENDSGIR + 3, 1, 0x01);
        assert_eq!(g.dist_read(1, GICD_SPENDSGIR + 3, 1), 0x02);
        // Sources that do not exist are RAZ/WI.
        g.dist_write(0, GICD_SPENDSGIR + 4, 4, 0xff);
        assert_eq!(g.dist_read(0, GICD_SPENDSGIR + 4, 4), 0x03);
        // Filter 1: all but self; filter 3 is reserved.
        g.dist_write(1, GICD_SGIR, 4, (1 << 24) | 9);
        assert_eq!(g.dist_read(0, GICD_SPENDSGIR + 9, 1), 0x02);
        assert_eq!(g.dist_read(1, GICD_SPENDSGIR + 9, 1), 0);
        g.dist_write(0, GICD_SGIR, 4, (3 << 24) | (0xff << 16) | 10);
        assert_eq!(g.dist_read(0, GICD_SPENDSGIR + 8, 4), 0x0200);
        assert_eq!(g.dist_read(1, GICD_SPENDSGIR + 8, 4), 0);
    }

    #[test]
    fn irouter_v3() {
        let mut g = v3();
        let r = GICD_IROUTER + 8 * 40;
        assert_eq!(g.dist_read(0, r, 8), 0);
        g.dist_write(0, r, 8, u64::MAX);
        assert_eq!(g.dist_read(0, r, 8), 0xff_80ff_ffff);
        g.dist_write(0, r + 4, 4, 0);
        assert_eq!(g.dist_read(0, r, 8), 0x80ff_ffff);
        g.dist_write(0, r, 4, 1);
        assert_eq!(g.dist_read(0, r, 4), 1);
        assert_eq!(g.dist_read(0, r + 4, 4), 0);
        // INTIDs below 32 and beyond the last SPI are RAZ/WI.
        g.dist_write(0, GICD_IROUTER + 8 * 5, 8, 1);
        assert_eq!(g.dist_read(0, GICD_IROUTER + 8 * 5, 8), 0);
        g.dist_write(0, GICD_IROUTER + 8 * 300, 8, 1);
        assert_eq!(g.dist_read(0, GICD_IROUTER + 8 * 300, 8), 0);
        assert_eq!(g.bad_accesses, 0);
        g.dist_write(0, r + 2, 2, 1);
        assert_eq!(g.bad_accesses, 1);
    }

    #[test]
    fn bad_cpu_and_offsets_are_counted() {
        let mut g = v2();
        assert_eq!(g.dist_read(5, GICD_CTLR, 4), 0);
        g.dist_write(5, GICD_CTLR, 4, 1);
        assert_eq!(g.dist_read(0, GICD_CTLR, 4), 0);
        assert_eq!(g.dist_read(0, 0x1000, 4), 0);
        assert_eq!(g.dist_read(0, 0x6100, 8), 0); // no IROUTER on v2
        assert_eq!(g.bad_accesses, 4);
    }
}
