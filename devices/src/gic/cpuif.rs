//! The GICv2 memory-mapped CPU interface (GICC), IHI 0048B 4.1.3 Table 4-2, in the
//! layout of an implementation without the Security Extensions.

use super::{is_word, Gic, GicVersion, IIDR_ARM, MIN_BPR0, MIN_BPR1, PRIORITY_MASK};
use super::{SPURIOUS, SPURIOUS_GROUP1};

const GICC_CTLR: u64 = 0x0000; // CPU interface control, RW
const GICC_PMR: u64 = 0x0004; // Priority mask, RW
const GICC_BPR: u64 = 0x0008; // Binary point (Group 0, or both with CBPR), RW
const GICC_IAR: u64 = 0x000c; // Interrupt acknowledge, RO
const GICC_EOIR: u64 = 0x0010; // End of interrupt, WO
const GICC_RPR: u64 = 0x0014; // Running priority, RO
const GICC_HPPIR: u64 = 0x0018; // Highest priority pending interrupt, RO
const GICC_ABPR: u64 = 0x001c; // Aliased binary point (Group 1), RW
const GICC_AIAR: u64 = 0x0020; // Aliased interrupt acknowledge (Group 1), RO
const GICC_AEOIR: u64 = 0x0024; // Aliased end of interrupt (Group 1), WO
const GICC_AHPPIR: u64 = 0x0028; // Aliased highest priority pending (Group 1), RO
const GICC_APR0: u64 = 0x00d0; // Active priorities (Group 0), RW; APR1-3 RAZ/WI
const GICC_NSAPR0: u64 = 0x00e0; // Active priorities (Group 1), RW; NSAPR1-3 RAZ/WI
const GICC_IIDR: u64 = 0x00fc; // CPU interface identification, RO
const GICC_DIR: u64 = 0x1000; // Deactivate interrupt, WO

const CTLR_ENABLE_GRP0: u32 = 1 << 0;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ACK_CTL: u32 = 1 << 2;
const CTLR_FIQ_EN: u32 = 1 << 3;
const CTLR_CBPR: u32 = 1 << 4;
const CTLR_BYPASS: u32 = 0xf << 5; // FIQBypDisGrp0 .. IRQBypDisGrp1
const CTLR_EOIMODE: u32 = 1 << 9;

/// GICC_IIDR: architecture version 2 [19:16], ARM [11:0] (Linux checks both).
const IIDR: u32 = (2 << 16) | IIDR_ARM;

impl Gic {
    /// A guest read of the GICv2 CPU interface by CPU `cpu`.
    pub fn cpuif_read(&mut self, cpu: usize, offset: u64, size: u8) -> u64 {
        if cpu >= self.num_cpus || self.version != GicVersion::V2 || !is_word(offset, size) {
            return self.bad();
        }
        let c = &self.cpus[cpu];
        match offset {
            GICC_CTLR => {
                let mut v = c.bypass;
                for (bit, on) in [
                    (CTLR_ENABLE_GRP0, c.grp_en[0]),
                    (CTLR_ENABLE_GRP1, c.grp_en[1]),
                    (CTLR_ACK_CTL, c.ack_ctl),
                    (CTLR_FIQ_EN, c.fiq_en),
                    (CTLR_CBPR, c.cbpr),
                    (CTLR_EOIMODE, c.eoimode),
                ] {
                    if on {
                        v |= bit;
                    }
                }
                v as u64
            }
            GICC_PMR => c.pmr as u64,
            GICC_BPR => c.bpr[0] as u64,
            GICC_ABPR => c.bpr[1] as u64,
            GICC_IAR => self.gicc_iar(cpu, false) as u64,
            GICC_AIAR => self.gicc_iar(cpu, true) as u64,
            GICC_RPR => self.rpr(cpu),
            GICC_HPPIR => self.gicc_hppir(cpu, false) as u64,
            GICC_AHPPIR => self.gicc_hppir(cpu, true) as u64,
            GICC_APR0 => c.apr[0] as u64,
            GICC_NSAPR0 => c.apr[1] as u64,
            0x00d4..=0x00dc | 0x00e4..=0x00ec => 0,
            GICC_IIDR => IIDR as u64,
            // Write-only.
            GICC_EOIR | GICC_AEOIR | GICC_DIR => 0,
            _ => self.bad(),
        }
    }

    /// A guest write to the GICv2 CPU interface by CPU `cpu`.
    pub fn cpuif_write(&mut self, cpu: usize, offset: u64, size: u8, value: u64) {
        if cpu >= self.num_cpus || self.version != GicVersion::V2 || !is_word(offset, size) {
            self.bad();
            return;
        }
        let v = value as u32;
        let c = &mut self.cpus[cpu];
        match offset {
            GICC_CTLR => {
                c.grp_en = [v & CTLR_ENABLE_GRP0 != 0, v & CTLR_ENABLE_GRP1 != 0];
                c.ack_ctl = v & CTLR_ACK_CTL != 0;
                c.fiq_en = v & CTLR_FIQ_EN != 0;
                c.cbpr = v & CTLR_CBPR != 0;
                c.eoimode = v & CTLR_EOIMODE != 0;
                c.bypass = v & CTLR_BYPASS;
            }
            GICC_PMR => c.pmr = v as u8 & PRIORITY_MASK,
            GICC_BPR => c.bpr[0] = (v as u8 & 7).max(MIN_BPR0),
            GICC_ABPR => c.bpr[1] = (v as u8 & 7).max(MIN_BPR1),
            GICC_EOIR => self.gicc_eoi(cpu, v, false),
            GICC_AEOIR => self.gicc_eoi(cpu, v, true),
            GICC_DIR => {
                // With EOImode 0 a write to GICC_DIR is UNPREDICTABLE: ignored.
                if c.eoimode {
                    self.deactivate(cpu, v & 0x3ff);
                }
            }
            GICC_APR0 => c.apr[0] = v,
            GICC_NSAPR0 => c.apr[1] = v,
            0x00d4..=0x00dc | 0x00e4..=0x00ec => {}
            // Read-only.
            GICC_IAR | GICC_AIAR | GICC_RPR | GICC_HPPIR | GICC_AHPPIR | GICC_IIDR => {}
            _ => {
                self.bad();
            }
        }
        self.update();
    }

    /// GICC_IAR (`alias` false) or GICC_AIAR (true, Group 1 only).
    fn gicc_iar(&mut self, cpu: usize, alias: bool) -> u32 {
        let Some(p) = self.ackable(cpu) else {
            return SPURIOUS;
        };
        if alias && !p.group1 {
            return SPURIOUS;
        }
        if !alias && p.group1 && !self.cpus[cpu].ack_ctl {
            return SPURIOUS_GROUP1;
        }
        self.acknowledge(cpu, p)
    }

    /// GICC_HPPIR / GICC_AHPPIR: the pending interrupt regardless of priority masking.
    fn gicc_hppir(&self, cpu: usize, alias: bool) -> u32 {
        let c = &self.cpus[cpu];
        match c.hppi {
            None => SPURIOUS,
            Some(p) if !c.grp_en[p.group1 as usize] => SPURIOUS,
            Some(p) if alias && !p.group1 => SPURIOUS,
            Some(p) if !alias && p.group1 && !c.ack_ctl => SPURIOUS_GROUP1,
            Some(p) => self.iar_value(&p),
        }
    }

    /// GICC_EOIR / GICC_AEOIR: priority drop for the interrupt's group, and deactivation
    /// unless EOImode is 1. INTIDs that do not exist (spurious ones included) are ignored.
    fn gicc_eoi(&mut self, cpu: usize, value: u32, alias: bool) {
        let intid = value & 0x3ff;
        let Some(group1) = self.irq(cpu, intid).map(|i| i.group1) else {
            return;
        };
        if alias && !group1 {
            return;
        }
        self.drop_priority(cpu, group1);
        if !self.cpus[cpu].eoimode {
            self.deactivate(cpu, intid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_values_and_write_behaviour() {
        // (offset, reset, written, read back)
        let table: &[(u64, u64, u64, u64)] = &[
            (GICC_CTLR, 0, 0xffff_ffff, 0x3ff),
            (GICC_PMR, 0, 0xff, 0xf8),
            (GICC_PMR, 0, 0xf0, 0xf0),
            (GICC_BPR, 2, 0, 2),
            (GICC_BPR, 2, 0xff, 7),
            (GICC_BPR, 2, 4, 4),
            (GICC_ABPR, 3, 0, 3),
            (GICC_ABPR, 3, 5, 5),
            (GICC_IAR, 1023, 5, 1023),
            (GICC_RPR, 0xff, 0, 0xff),
            (GICC_HPPIR, 1023, 0, 1023),
            (GICC_AIAR, 1023, 0, 1023),
            (GICC_AHPPIR, 1023, 0, 1023),
            (GICC_APR0, 0, 0x10, 0x10),
            (GICC_APR0 + 4, 0, 0xffff_ffff, 0),
            (GICC_NSAPR0, 0, 0x8000_0000, 0x8000_0000),
            (GICC_NSAPR0 + 12, 0, 0xffff_ffff, 0),
            (GICC_IIDR, 0x2043b, 0, 0x2043b),
            (GICC_EOIR, 0, 0, 0),
            (GICC_DIR, 0, 0, 0),
        ];
        for &(offset, reset, value, want) in table {
            let mut g = Gic::new(GicVersion::V2, 2, 64);
            assert_eq!(g.cpuif_read(1, offset, 4), reset, "reset {offset:#x}");
            g.cpuif_write(1, offset, 4, value);
            assert_eq!(g.cpuif_read(1, offset, 4), want, "write {offset:#x}");
            assert_eq!(g.bad_accesses, 0, "{offset:#x}");
        }
    }

    #[test]
    fn banked_per_cpu() {
        let mut g = Gic::new(GicVersion::V2, 2, 64);
        g.cpuif_write(0, GICC_PMR, 4, 0xf0);
        g.cpuif_write(1, GICC_PMR, 4, 0x80);
        assert_eq!(g.cpuif_read(0, GICC_PMR, 4), 0xf0);
        assert_eq!(g.cpuif_read(1, GICC_PMR, 4), 0x80);
    }

    #[test]
    fn bad_accesses_counted() {
        let mut g = Gic::new(GicVersion::V2, 1, 64);
        g.cpuif_read(0, GICC_CTLR, 1);
        g.cpuif_read(0, 0x2000, 4);
        g.cpuif_read(0, 0x40, 4);
        g.cpuif_write(0, GICC_PMR, 8, 0xff);
        g.cpuif_write(1, GICC_PMR, 4, 0xff);
        assert_eq!(g.cpuif_read(0, GICC_PMR, 4), 0);
        assert_eq!(g.bad_accesses, 5);
        // No memory-mapped CPU interface on GICv3.
        let mut g3 = Gic::new(GicVersion::V3, 1, 64);
        assert_eq!(g3.cpuif_read(0, GICC_IIDR, 4), 0);
        assert_eq!(g3.bad_accesses, 1);
    }
}
