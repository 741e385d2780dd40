//! The GICv3 CPU interface system registers (ICC_*_EL1), IHI 0069 12.2 and the ARM ARM
//! register descriptions, for a PE at EL1 with no EL2/EL3 and `GICD_CTLR.DS == 1`.
//!
//! Registers are named by their MRS/MSR encoding key (`armvm_cpu::sysreg::key`).
//! A write-only register read, or a read-only register written, is UNDEFINED: the
//! accessors answer `None`/`false` exactly as for a key that is not a GIC register.

use armvm_cpu::sysreg::key;

use super::{Gic, GicVersion, MIN_BPR0, MIN_BPR1, PRIORITY_BITS, PRIORITY_MASK, SPURIOUS};

pub const ICC_PMR_EL1: u32 = key(3, 0, 4, 6, 0); // Priority mask, RW
pub const ICC_IAR0_EL1: u32 = key(3, 0, 12, 8, 0); // Acknowledge Group 0, RO
pub const ICC_EOIR0_EL1: u32 = key(3, 0, 12, 8, 1); // End of interrupt Group 0, WO
pub const ICC_HPPIR0_EL1: u32 = key(3, 0, 12, 8, 2); // Highest pending Group 0, RO
pub const ICC_BPR0_EL1: u32 = key(3, 0, 12, 8, 3); // Binary point Group 0, RW
pub const ICC_AP0R0_EL1: u32 = key(3, 0, 12, 8, 4); // Active priorities Group 0 (AP0R0-3)
pub const ICC_AP0R3_EL1: u32 = key(3, 0, 12, 8, 7);
pub const ICC_AP1R0_EL1: u32 = key(3, 0, 12, 9, 0); // Active priorities Group 1 (AP1R0-3)
pub const ICC_AP1R3_EL1: u32 = key(3, 0, 12, 9, 3);
pub const ICC_DIR_EL1: u32 = key(3, 0, 12, 11, 1); // Deactivate interrupt, WO
pub const ICC_RPR_EL1: u32 = key(3, 0, 12, 11, 3); // Running priority, RO
pub const ICC_SGI1R_EL1: u32 = key(3, 0, 12, 11, 5); // Generate Group 1 SGI, WO
pub const ICC_ASGI1R_EL1: u32 = key(3, 0, 12, 11, 6); // Generate SGI, other Security state, WO
pub const ICC_SGI0R_EL1: u32 = key(3, 0, 12, 11, 7); // Generate Group 0 SGI, WO
pub const ICC_IAR1_EL1: u32 = key(3, 0, 12, 12, 0); // Acknowledge Group 1, RO
pub const ICC_EOIR1_EL1: u32 = key(3, 0, 12, 12, 1); // End of interrupt Group 1, WO
pub const ICC_HPPIR1_EL1: u32 = key(3, 0, 12, 12, 2); // Highest pending Group 1, RO
pub const ICC_BPR1_EL1: u32 = key(3, 0, 12, 12, 3); // Binary point Group 1, RW
pub const ICC_CTLR_EL1: u32 = key(3, 0, 12, 12, 4); // Control, RW
pub const ICC_SRE_EL1: u32 = key(3, 0, 12, 12, 5); // System register enable, RW
pub const ICC_IGRPEN0_EL1: u32 = key(3, 0, 12, 12, 6); // Group 0 enable, RW
pub const ICC_IGRPEN1_EL1: u32 = key(3, 0, 12, 12, 7); // Group 1 enable, RW

/// ICC_CTLR_EL1 fields.
const CTLR_CBPR: u64 = 1 << 0;
const CTLR_EOIMODE: u64 = 1 << 1;
const CTLR_PRIBITS: u64 = ((PRIORITY_BITS - 1) as u64) << 8; // RO
const CTLR_A3V: u64 = 1 << 15; // RO: SGIs may target a non-zero Aff3
const CTLR_RSS: u64 = 1 << 18; // RO: SGI range selector (Aff0 16-255)
                               // IDbits [13:11] = 0 (16-bit INTIDs), SEIS = 0, PMHE = 0 (RAZ/WI), ExtRange = 0.

/// ICC_SRE_EL1: SRE, DFB, DIB all RAO/WI (system registers only, no legacy mode).
const SRE_VALUE: u64 = 0b111;

/// ICC_SGI*R_EL1 fields.
const SGIR_IRM: u64 = 1 << 40;

impl Gic {
    /// An MRS of a GICv3 CPU interface register by CPU `cpu`. `None` if `key` is not a
    /// readable GIC register (the CPU raises UNDEFINED).
    pub fn sysreg_read(&mut self, cpu: usize, key: u32) -> Option<u64> {
        if self.version != GicVersion::V3 || !is_icc_key(key) {
            return None;
        }
        if cpu >= self.num_cpus {
            return Some(self.bad());
        }
        let c = &self.cpus[cpu];
        let v = match key {
            ICC_PMR_EL1 => c.pmr as u64,
            ICC_IAR0_EL1 => self.icc_iar(cpu, false),
            ICC_IAR1_EL1 => self.icc_iar(cpu, true),
            ICC_HPPIR0_EL1 => self.icc_hppir(cpu, false),
            ICC_HPPIR1_EL1 => self.icc_hppir(cpu, true),
            ICC_BPR0_EL1 => c.bpr[0] as u64,
            ICC_BPR1_EL1 => {
                if c.cbpr {
                    (c.bpr[0] + 1).min(7) as u64
                } else {
                    c.bpr[1] as u64
                }
            }
            ICC_AP0R0_EL1 => c.apr[0] as u64,
            ICC_AP1R0_EL1 => c.apr[1] as u64,
            // Registers for priority bits we do not implement: RAZ/WI.
            k if (ICC_AP0R0_EL1 + 1..=ICC_AP0R3_EL1).contains(&k) => 0,
            k if (ICC_AP1R0_EL1 + 1..=ICC_AP1R3_EL1).contains(&k) => 0,
            ICC_RPR_EL1 => self.rpr(cpu),
            ICC_CTLR_EL1 => {
                let mut v = CTLR_PRIBITS | CTLR_A3V | CTLR_RSS;
                if c.cbpr {
                    v |= CTLR_CBPR;
                }
                if c.eoimode {
                    v |= CTLR_EOIMODE;
                }
                v
            }
            ICC_SRE_EL1 => SRE_VALUE,
            ICC_IGRPEN0_EL1 => c.grp_en[0] as u64,
            ICC_IGRPEN1_EL1 => c.grp_en[1] as u64,
            // Write-only: UNDEFINED.
            _ => return None,
        };
        Some(v)
    }

    /// An MSR to a GICv3 CPU interface register by CPU `cpu`. False if `key` is not a
    /// writable GIC register (the CPU raises UNDEFINED).
    pub fn sysreg_write(&mut self, cpu: usize, key: u32, value: u64) -> bool {
        if self.version != GicVersion::V3 || !is_icc_key(key) {
            return false;
        }
        if matches!(
            key,
            ICC_IAR0_EL1 | ICC_IAR1_EL1 | ICC_HPPIR0_EL1 | ICC_HPPIR1_EL1 | ICC_RPR_EL1
        ) {
            return false;
        }
        if cpu >= self.num_cpus {
            self.bad();
            return true;
        }
        let c = &mut self.cpus[cpu];
        match key {
            ICC_PMR_EL1 => c.pmr = value as u8 & PRIORITY_MASK,
            ICC_BPR0_EL1 => c.bpr[0] = (value as u8 & 7).max(MIN_BPR0),
            // With CBPR set, ICC_BPR1_EL1 mirrors BPR0 and ignores writes.
            ICC_BPR1_EL1 if !c.cbpr => c.bpr[1] = (value as u8 & 7).max(MIN_BPR1),
            ICC_AP0R0_EL1 => c.apr[0] = value as u32,
            ICC_AP1R0_EL1 => c.apr[1] = value as u32,
            ICC_CTLR_EL1 => {
                c.cbpr = value & CTLR_CBPR != 0;
                c.eoimode = value & CTLR_EOIMODE != 0;
            }
            ICC_SRE_EL1 => {}
            ICC_IGRPEN0_EL1 => c.grp_en[0] = value & 1 != 0,
            ICC_IGRPEN1_EL1 => c.grp_en[1] = value & 1 != 0,
            ICC_EOIR0_EL1 => self.icc_eoi(cpu, false, value),
            ICC_EOIR1_EL1 => self.icc_eoi(cpu, true, value),
            // With EOImode 0 a write to ICC_DIR_EL1 is UNPREDICTABLE: ignored.
            ICC_DIR_EL1 if c.eoimode => self.deactivate(cpu, (value & 0xff_ffff) as u32),
            ICC_SGI0R_EL1 => self.icc_generate_sgi(cpu, value, false),
            ICC_SGI1R_EL1 => self.icc_generate_sgi(cpu, value, true),
            // With one Security state the "other" state's Group 1 is Group 0 (as QEMU):
            // the SGI reaches targets that configured it as Group 0.
            ICC_ASGI1R_EL1 => self.icc_generate_sgi(cpu, value, false),
            // AP0R1-3 and AP1R1-3 (RAZ/WI); BPR1 under CBPR; DIR with EOImode 0.
            _ => {}
        }
        self.update();
        true
    }

    /// ICC_IAR0/1_EL1: acknowledges the highest-priority pending interrupt if it can be
    /// signalled and belongs to the group; otherwise 1023.
    fn icc_iar(&mut self, cpu: usize, group1: bool) -> u64 {
        match self.ackable(cpu) {
            Some(p) if p.group1 == group1 => self.acknowledge(cpu, p) as u64,
            _ => SPURIOUS as u64,
        }
    }

    fn icc_hppir(&self, cpu: usize, group1: bool) -> u64 {
        let c = &self.cpus[cpu];
        match c.hppi {
            Some(p) if p.group1 == group1 && c.grp_en[p.group1 as usize] => p.intid as u64,
            _ => SPURIOUS as u64,
        }
    }

    /// ICC_EOIR0/1_EL1: drops the highest active priority if it belongs to the group
    /// (otherwise the write is ignored), then deactivates unless EOImode is 1.
    fn icc_eoi(&mut self, cpu: usize, group1: bool, value: u64) {
        let intid = (value & 0xff_ffff) as u32;
        if (1020..=1023).contains(&intid) || self.highest_active_group(cpu) != Some(group1) {
            return;
        }
        self.drop_priority(cpu, group1);
        if !self.cpus[cpu].eoimode {
            self.deactivate(cpu, intid);
        }
    }

    /// ICC_SGI0R/SGI1R/ASGI1R_EL1: INTID [27:24], TargetList [15:0] of the cluster
    /// Aff3 [55:48].Aff2 [39:32].Aff1 [23:16] with Aff0 = RS [47:44] * 16 + bit, or every
    /// other CPU when IRM [40] is set. A target takes the SGI only if it configured that
    /// SGI in the generated group.
    fn icc_generate_sgi(&mut self, cpu: usize, value: u64, group1: bool) {
        let sgi = ((value >> 24) & 0xf) as usize;
        let cluster =
            (((value >> 48) & 0xff) << 16) | (((value >> 32) & 0xff) << 8) | ((value >> 16) & 0xff);
        let rs = (value >> 44) & 0xf;
        let list = value & 0xffff;
        for t in 0..self.num_cpus {
            let hit = if value & SGIR_IRM != 0 {
                t != cpu
            } else {
                let aff = Self::affinity(t) as u64;
                let aff0 = aff & 0xff;
                aff >> 8 == cluster && aff0 >> 4 == rs && list & (1 << (aff0 & 0xf)) != 0
            };
            let irq = &mut self.cpus[t].private[sgi];
            if hit && irq.group1 == group1 {
                irq.latch = true;
            }
        }
    }
}

/// Whether `key` is one of the ICC_*_EL1 registers handled here.
fn is_icc_key(key: u32) -> bool {
    matches!(
        key,
        ICC_PMR_EL1 | ICC_DIR_EL1 | ICC_RPR_EL1 | ICC_SGI1R_EL1 | ICC_ASGI1R_EL1 | ICC_SGI0R_EL1
    ) || (ICC_IAR0_EL1..=ICC_AP0R3_EL1).contains(&key)
        || (ICC_AP1R0_EL1..=ICC_AP1R3_EL1).contains(&key)
        || (ICC_IAR1_EL1..=ICC_IGRPEN1_EL1).contains(&key)
}
