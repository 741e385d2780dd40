//! GICv3 redistributors (GICR), IHI 0069 12.10 Tables 12-27 and 12-28. The region holds
//! one redistributor per CPU, [`GICR_STRIDE`] bytes each: the RD_base frame (control,
//! identification, power) and the SGI_base frame (the CPU's SGI and PPI registers, laid
//! out as their GICD counterparts).

use super::dist::{decode_irq_reg, IrqReg};
use super::{id_register, is_word, Frame, Gic, GicVersion, GICR_STRIDE, IIDR_ARM};

/// Offset of the SGI_base frame within a redistributor.
const SGI_BASE: u64 = 0x1_0000;

// RD_base frame.
const GICR_CTLR: u64 = 0x0000; // Redistributor control, RW
const GICR_IIDR: u64 = 0x0004; // Implementer identification, RO
const GICR_TYPER: u64 = 0x0008; // Redistributor type, RO, 64-bit
const GICR_STATUSR: u64 = 0x0010; // Error reporting status (optional): RAZ/WI
const GICR_WAKER: u64 = 0x0014; // Power management control, RW
const GICR_LPI_FIRST: u64 = 0x0040; // GICR_SETLPIR .. GICR_SYNCR: no LPIs, RAZ/WI
const GICR_LPI_LAST: u64 = 0x00c7;
const GICR_ID: u64 = 0xffd0; // PIDR4..CIDR3, RO

// SGI_base frame (offsets within it).
const GICR_IGRPMODR0: u64 = 0x0d00; // Group modifier: RAZ/WI with DS=1
const GICR_NSACR: u64 = 0x0e00; // Non-secure access control: RAZ/WI with DS=1

/// GICR_CTLR: Disable Processor selection for Group 0 / Group 1 (NS) / Group 1 (S).
pub(super) const GICR_CTLR_DPG0: u32 = 1 << 24;
pub(super) const GICR_CTLR_DPG1NS: u32 = 1 << 25;
const GICR_CTLR_DPG1S: u32 = 1 << 26;
const GICR_CTLR_DPG: u32 = GICR_CTLR_DPG0 | GICR_CTLR_DPG1NS | GICR_CTLR_DPG1S;

/// GICR_TYPER: Last [4], DPGS [5], Processor_Number [23:8], Affinity_Value [63:32].
const TYPER_LAST: u64 = 1 << 4;
const TYPER_DPGS: u64 = 1 << 5;

/// GICR_WAKER: ProcessorSleep [1] RW, ChildrenAsleep [2] RO.
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;

impl Gic {
    /// Splits a redistributor-region offset into (CPU, offset in its redistributor).
    fn redist_target(&self, offset: u64) -> Option<(usize, u64)> {
        if self.version != GicVersion::V3 {
            return None;
        }
        let cpu = usize::try_from(offset / GICR_STRIDE).ok()?;
        (cpu < self.num_cpus).then_some((cpu, offset % GICR_STRIDE))
    }

    /// A guest read of the redistributor region. The redistributor addressed is
    /// `offset / GICR_STRIDE`, whichever CPU makes the access.
    pub fn redist_read(&mut self, _cpu: usize, offset: u64, size: u8) -> u64 {
        let Some((target, rel)) = self.redist_target(offset) else {
            return self.bad();
        };
        let v = if rel >= SGI_BASE {
            self.gicr_sgi_read(target, rel - SGI_BASE, size)
        } else {
            self.gicr_rd_read(target, rel, size)
        };
        match v {
            Some(v) => v,
            None => self.bad(),
        }
    }

    /// A guest write to the redistributor region.
    pub fn redist_write(&mut self, _cpu: usize, offset: u64, size: u8, value: u64) {
        let ok = match self.redist_target(offset) {
            Some((target, rel)) if rel >= SGI_BASE => {
                self.gicr_sgi_write(target, rel - SGI_BASE, size, value)
            }
            Some((target, rel)) => self.gicr_rd_write(target, rel, size, value),
            None => false,
        };
        if !ok {
            self.bad();
        }
        self.update();
    }

    fn gicr_typer(&self, cpu: usize) -> u64 {
        let last = if cpu + 1 == self.num_cpus {
            TYPER_LAST
        } else {
            0
        };
        ((Self::affinity(cpu) as u64) << 32) | ((cpu as u64 & 0xffff) << 8) | TYPER_DPGS | last
    }

    fn gicr_rd_read(&self, cpu: usize, rel: u64, size: u8) -> Option<u64> {
        if rel == GICR_TYPER && size == 8 {
            return Some(self.gicr_typer(cpu));
        }
        if !is_word(rel, size) {
            return None;
        }
        let c = &self.cpus[cpu];
        let v = match rel {
            GICR_CTLR => c.gicr_dpg as u64,
            GICR_IIDR => IIDR_ARM as u64,
            GICR_TYPER => self.gicr_typer(cpu) & 0xffff_ffff,
            0x000c => self.gicr_typer(cpu) >> 32,
            GICR_STATUSR => 0,
            GICR_WAKER => {
                if c.asleep {
                    (WAKER_PROCESSOR_SLEEP | WAKER_CHILDREN_ASLEEP) as u64
                } else {
                    0
                }
            }
            GICR_LPI_FIRST..=GICR_LPI_LAST => 0,
            GICR_ID..=0xffff => id_register(self.version, (rel - GICR_ID) / 4) as u64,
            _ => return None,
        };
        Some(v)
    }

    fn gicr_rd_write(&mut self, cpu: usize, rel: u64, size: u8, value: u64) -> bool {
        if !is_word(rel, size) {
            return false;
        }
        let v = value as u32;
        let c = &mut self.cpus[cpu];
        match rel {
            // EnableLPIs is RAZ/WI without LPIs; RWP and UWP read as 0.
            GICR_CTLR => c.gicr_dpg = v & GICR_CTLR_DPG,
            // ChildrenAsleep follows ProcessorSleep at once; bits 0 and 31 are RAZ/WI.
            GICR_WAKER => c.asleep = v & WAKER_PROCESSOR_SLEEP != 0,
            GICR_IIDR | GICR_TYPER | 0x000c | GICR_STATUSR => {}
            GICR_LPI_FIRST..=GICR_LPI_LAST => {}
            GICR_ID..=0xffff => {}
            _ => return false,
        }
        true
    }

    fn gicr_sgi_read(&mut self, cpu: usize, rel: u64, size: u8) -> Option<u64> {
        match decode_irq_reg(rel) {
            // There is no ITARGETSR in a redistributor.
            Some((IrqReg::Targets, _)) => None,
            Some((reg, r)) => self.irq_reg_read(Frame::Redist, cpu, reg, r, size),
            None if is_word(rel, size) => match rel {
                GICR_IGRPMODR0 | GICR_NSACR => Some(0),
                _ => None,
            },
            None => None,
        }
    }

    fn gicr_sgi_write(&mut self, cpu: usize, rel: u64, size: u8, value: u64) -> bool {
        match decode_irq_reg(rel) {
            Some((IrqReg::Targets, _)) => false,
            Some((reg, r)) => self.irq_reg_write(Frame::Redist, cpu, reg, r, size, value),
            None => is_word(rel, size) && matches!(rel, GICR_IGRPMODR0 | GICR_NSACR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SGI: u64 = SGI_BASE;

    #[test]
    fn reset_values() {
        let mut g = Gic::new(GicVersion::V3, 2, 96);
        // (offset in the region, expected) as 32-bit reads; CPU 1's frame at 0x20000.
        let table: &[(u64, u64)] = &[
            (GICR_CTLR, 0),
            (GICR_IIDR, 0x43b),
            (GICR_TYPER, 0x20),
            (0x000c, 0),
            (GICR_STRIDE + GICR_TYPER, (1 << 8) | 0x20 | 0x10),
            (GICR_STRIDE + 0x000c, 1),
            (GICR_WAKER, 0),
            (0xffe8, 0x3b),
            (SGI + 0x080, 0),
            (SGI + 0x100, 0),
            (SGI + 0x200, 0),
            (SGI + 0x300, 0),
            (SGI + 0x400, 0),
            (SGI + 0xc00, 0xaaaa_aaaa),
            (SGI + 0xc04, 0),
            (SGI + GICR_IGRPMODR0, 0),
            (SGI + GICR_NSACR, 0),
        ];
        for &(offset, want) in table {
            assert_eq!(g.redist_read(0, offset, 4), want, "offset {offset:#x}");
        }
        assert_eq!(g.redist_read(0, GICR_TYPER, 8), 0x20);
        assert_eq!(
            g.redist_read(0, GICR_STRIDE + GICR_TYPER, 8),
            (1 << 32) | (1 << 8) | 0x30
        );
        assert_eq!(g.bad_accesses, 0);
    }

    #[test]
    fn write_behaviour() {
        // (offset, written, read back)
        let table: &[(u64, u64, u64)] = &[
            (GICR_CTLR, 0xffff_ffff, 0x0700_0000),
            (GICR_IIDR, 0, 0x43b),
            (GICR_TYPER, 0xffff_ffff, 0x30),
            (GICR_WAKER, 0xffff_ffff, 6),
            (GICR_WAKER, 0, 0),
            (0x0070, 0xffff_ffff, 0), // GICR_PROPBASER: no LPIs
            (SGI + 0x080, 0xffff_ffff, 0xffff_ffff),
            (SGI + 0x084, 0xffff_ffff, 0), // extended PPI range: none
            (SGI + 0x100, 0xffff_ffff, 0xffff_ffff), // SGI enables are writable on v3
            (SGI + 0x180, 0xffff_ffff, 0),
            (SGI + 0x200, 0x0001_0002, 0x0001_0002), // SGIs can be set pending
            (SGI + 0x300, 0x8000_0000, 0x8000_0000),
            (SGI + 0x41c, 0xffff_ffff, 0xf8f8_f8f8),
            (SGI + 0xc00, 0, 0xaaaa_aaaa),
            (SGI + 0xc04, 0xffff_ffff, 0xaaaa_aaaa),
            (SGI + GICR_NSACR, 0xffff_ffff, 0),
        ];
        for &(offset, value, want) in table {
            let mut g = Gic::new(GicVersion::V3, 1, 96);
            g.redist_write(0, offset, 4, value);
            assert_eq!(g.redist_read(0, offset, 4), want, "offset {offset:#x}");
            assert_eq!(g.bad_accesses, 0, "offset {offset:#x}");
        }
    }

    #[test]
    fn addressed_cpu_is_the_frame_not_the_accessor() {
        let mut g = Gic::new(GicVersion::V3, 2, 96);
        g.redist_write(0, GICR_STRIDE + SGI + 0x100, 4, 1 << 27);
        assert_eq!(g.redist_read(0, SGI + 0x100, 4), 0);
        assert_eq!(g.redist_read(0, GICR_STRIDE + SGI + 0x100, 4), 1 << 27);
        assert_eq!(g.redist_read(1, GICR_STRIDE + SGI + 0x100, 4), 1 << 27);
        g.redist_write(1, SGI + 0x400, 1, 0x80);
        assert_eq!(g.redist_read(0, SGI + 0x400, 4), 0x80);
    }

    #[test]
    fn bad_accesses_counted() {
        let mut g = Gic::new(GicVersion::V3, 2, 96);
        g.redist_read(0, 2 * GICR_STRIDE, 4); // no third CPU
        g.redist_write(0, 2 * GICR_STRIDE + GICR_WAKER, 4, 0);
        g.redist_read(0, GICR_WAKER, 1);
        g.redist_read(0, SGI + 0x800, 4); // no ITARGETSR
        g.redist_read(0, 0x5000, 4);
        g.redist_read(0, SGI + 0x100, 8);
        assert_eq!(g.bad_accesses, 6);
        let mut g2 = Gic::new(GicVersion::V2, 1, 96);
        assert_eq!(g2.redist_read(0, GICR_TYPER, 8), 0);
        assert_eq!(g2.bad_accesses, 1);
    }
}
