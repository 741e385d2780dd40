//! Behaviour tests across the GIC: delivery, routing, priorities, triggering and
//! completion, driven through the guest-visible registers the way Linux's
//! drivers/irqchip/irq-gic.c and irq-gic-v3.c drive them.

use super::icc::*;
use super::*;

// GICD (IHI 0048B Table 4-1, IHI 0069 Table 12-25).
const GICD_CTLR: u64 = 0x000;
const GICD_IGROUPR: u64 = 0x080;
const GICD_ISENABLER: u64 = 0x100;
const GICD_ICENABLER: u64 = 0x180;
const GICD_ISPENDR: u64 = 0x200;
const GICD_ICPENDR: u64 = 0x280;
const GICD_ISACTIVER: u64 = 0x300;
const GICD_ICACTIVER: u64 = 0x380;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR: u64 = 0x800;
const GICD_ICFGR: u64 = 0xc00;
const GICD_SGIR: u64 = 0xf00;
const GICD_IROUTER: u64 = 0x6000;
// GICC (IHI 0048B Table 4-2).
const GICC_CTLR: u64 = 0x00;
const GICC_PMR: u64 = 0x04;
const GICC_BPR: u64 = 0x08;
const GICC_IAR: u64 = 0x0c;
const GICC_EOIR: u64 = 0x10;
const GICC_RPR: u64 = 0x14;
const GICC_HPPIR: u64 = 0x18;
const GICC_AIAR: u64 = 0x20;
const GICC_AEOIR: u64 = 0x24;
const GICC_APR0: u64 = 0xd0;
const GICC_DIR: u64 = 0x1000;
// GICR (IHI 0069 Tables 12-27, 12-28).
const GICR_WAKER: u64 = 0x14;
const GICR_TYPER: u64 = 0x08;
const GICR_PIDR2: u64 = 0xffe8;
const SGI_BASE: u64 = 0x1_0000;

const SPI: u32 = 40;

fn bit(intid: u32) -> (u64, u64) {
    ((intid / 32 * 4) as u64, 1 << (intid % 32))
}

/// Distributor and CPU interface set up as Linux's irq-gic.c does (everything Group 0,
/// priority 0xa0, SPIs level-triggered and targeted at CPU 0, PMR 0xf0).
fn linux_v2(num_cpus: usize) -> Gic {
    let mut g = Gic::new(GicVersion::V2, num_cpus, 288);
    // gic_dist_init
    g.dist_write(0, GICD_CTLR, 4, 0);
    let mut mask = 0;
    for i in (0..32).step_by(4) {
        mask = g.dist_read(0, GICD_ITARGETSR + i, 4) as u32;
        mask |= mask >> 16;
        mask |= mask >> 8;
        if mask != 0 {
            break;
        }
    }
    let mask = (mask & 0xff) * 0x0101_0101;
    for i in (32..288).step_by(16) {
        g.dist_write(0, GICD_ICFGR + i / 4, 4, 0);
    }
    for i in (32..288).step_by(4) {
        g.dist_write(0, GICD_ITARGETSR + i, 4, mask as u64);
        g.dist_write(0, GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
    }
    for i in (32..288).step_by(32) {
        g.dist_write(0, GICD_ICACTIVER + i / 8, 4, 0xffff_ffff);
        g.dist_write(0, GICD_ICENABLER + i / 8, 4, 0xffff_ffff);
    }
    g.dist_write(0, GICD_CTLR, 4, 1);
    // gic_cpu_init on every CPU
    for cpu in 0..num_cpus {
        g.dist_write(cpu, GICD_ICACTIVER, 4, 0xffff_ffff);
        g.dist_write(cpu, GICD_ICENABLER, 4, 0xffff_ffff);
        g.dist_write(cpu, GICD_ISENABLER, 4, 0xffff);
        for i in (0..32).step_by(4) {
            g.dist_write(cpu, GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
        }
        g.cpuif_write(cpu, GICC_PMR, 4, 0xf0);
        for i in 0..4 {
            g.cpuif_write(cpu, GICC_APR0 + 4 * i, 4, 0);
        }
        let bypass = g.cpuif_read(cpu, GICC_CTLR, 4) & 0x1e0;
        g.cpuif_write(cpu, GICC_CTLR, 4, bypass | 1);
    }
    assert_eq!(g.bad_accesses, 0);
    g
}

fn enable_spi_v2(g: &mut Gic, intid: u32, targets: u8) {
    let (off, b) = bit(intid);
    g.dist_write(0, GICD_ITARGETSR + intid as u64, 1, targets as u64);
    g.dist_write(0, GICD_ISENABLER + off, 4, b);
}

fn gicr(cpu: usize) -> u64 {
    GICR_STRIDE * cpu as u64
}

/// A GICv3 set up as Linux's irq-gic-v3.c does: everything Group 1, priority 0xa0,
/// SPIs routed to CPU 0, redistributors awake, PMR 0xf0, Group 1 enabled.
fn linux_v3(num_cpus: usize) -> Gic {
    let mut g = Gic::new(GicVersion::V3, num_cpus, 288);
    assert_eq!(g.dist_read(0, 0xffe8, 4) & 0xf0, 0x30);
    let typer = g.dist_read(0, 0x004, 4);
    let lines = ((typer & 0x1f) + 1) * 32;
    assert_eq!(lines, 288);
    // gic_dist_init
    g.dist_write(0, GICD_CTLR, 4, 0);
    assert_eq!(g.dist_read(0, GICD_CTLR, 4) & (1 << 31), 0, "RWP");
    for i in (32..lines).step_by(32) {
        g.dist_write(0, GICD_IGROUPR + i / 8, 4, 0xffff_ffff);
    }
    for i in (32..lines).step_by(16) {
        g.dist_write(0, GICD_ICFGR + i / 4, 4, 0);
    }
    for i in (32..lines).step_by(4) {
        g.dist_write(0, GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
    }
    for i in (32..lines).step_by(32) {
        g.dist_write(0, GICD_ICACTIVER + i / 8, 4, 0xffff_ffff);
        g.dist_write(0, GICD_ICENABLER + i / 8, 4, 0xffff_ffff);
    }
    g.dist_write(0, GICD_CTLR, 4, 0b1_0011);
    for i in 32..lines {
        g.dist_write(0, GICD_IROUTER + 8 * i, 8, 0);
    }
    for cpu in 0..num_cpus {
        // gic_populate_rdist: walk the frames until GICR_TYPER.Affinity matches.
        let mut frame = 0;
        loop {
            assert_eq!(g.redist_read(cpu, frame + GICR_PIDR2, 4) & 0xf0, 0x30);
            let typer = g.redist_read(cpu, frame + GICR_TYPER, 8);
            if typer >> 32 == cpu as u64 {
                break;
            }
            assert_eq!(typer & 0x10, 0, "ran past the last redistributor");
            frame += GICR_STRIDE;
        }
        assert_eq!(frame, gicr(cpu));
        // gic_enable_redist
        let waker = g.redist_read(cpu, frame + GICR_WAKER, 4);
        g.redist_write(cpu, frame + GICR_WAKER, 4, waker & !2);
        assert_eq!(g.redist_read(cpu, frame + GICR_WAKER, 4) & 4, 0);
        // gic_cpu_init
        let sgi = frame + SGI_BASE;
        g.redist_write(cpu, sgi + GICD_IGROUPR, 4, 0xffff_ffff);
        g.redist_write(cpu, sgi + GICD_ICACTIVER, 4, 0xffff_ffff);
        g.redist_write(cpu, sgi + GICD_ICENABLER, 4, 0xffff_ffff);
        for i in (0..32).step_by(4) {
            g.redist_write(cpu, sgi + GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
        }
        // gic_cpu_sys_reg_init
        let sre = g.sysreg_read(cpu, ICC_SRE_EL1).unwrap();
        assert!(g.sysreg_write(cpu, ICC_SRE_EL1, sre | 1));
        assert_eq!(g.sysreg_read(cpu, ICC_SRE_EL1).unwrap() & 1, 1);
        let pribits = ((g.sysreg_read(cpu, ICC_CTLR_EL1).unwrap() >> 8) & 7) + 1;
        assert_eq!(pribits, 5);
        let old = g.sysreg_read(cpu, ICC_PMR_EL1).unwrap();
        assert!(g.sysreg_write(cpu, ICC_PMR_EL1, 1 << (8 - pribits)));
        let group0 = g.sysreg_read(cpu, ICC_PMR_EL1).unwrap() != 0;
        assert!(group0);
        assert!(g.sysreg_write(cpu, ICC_PMR_EL1, old));
        assert!(g.sysreg_write(cpu, ICC_PMR_EL1, 0xf0));
        assert!(g.sysreg_write(cpu, ICC_BPR1_EL1, 0));
        assert!(g.sysreg_write(cpu, ICC_CTLR_EL1, 0));
        assert!(g.sysreg_write(cpu, ICC_AP0R0_EL1, 0));
        assert!(g.sysreg_write(cpu, ICC_AP1R0_EL1, 0));
        assert!(g.sysreg_write(cpu, ICC_IGRPEN1_EL1, 1));
        assert_ne!(
            g.sysreg_read(cpu, ICC_CTLR_EL1).unwrap() & (1 << 18),
            0,
            "RSS"
        );
    }
    assert_ne!(g.dist_read(0, GICD_CTLR, 4) & (1 << 6), 0, "DS");
    assert_eq!(g.bad_accesses, 0);
    g
}

fn enable_spi_v3(g: &mut Gic, intid: u32, router: u64) {
    let (off, b) = bit(intid);
    g.dist_write(0, GICD_IROUTER + 8 * intid as u64, 8, router);
    g.dist_write(0, GICD_ISENABLER + off, 4, b);
}

fn iar1(g: &mut Gic, cpu: usize) -> u64 {
    g.sysreg_read(cpu, ICC_IAR1_EL1).unwrap()
}

fn eoir1(g: &mut Gic, cpu: usize, intid: u64) {
    assert!(g.sysreg_write(cpu, ICC_EOIR1_EL1, intid));
}

fn lines(g: &Gic) -> Vec<(bool, bool)> {
    (0..g.num_cpus())
        .map(|c| (g.irq_line(c), g.fiq_line(c)))
        .collect()
}

// ---------------------------------------------------------------- GICv2

#[test]
fn v2_sgi_between_cpus() {
    let mut g = linux_v2(2);
    g.dist_write(0, GICD_SGIR, 4, (0b10 << 16) | 5);
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    assert_eq!(g.cpuif_read(1, GICC_HPPIR, 4), 5);
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), 5, "source CPU 0");
    assert!(!g.irq_line(1));
    assert_eq!(g.dist_read(1, GICD_ISACTIVER, 4), 1 << 5);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER, 4), 0, "banked");
    g.cpuif_write(1, GICC_EOIR, 4, 5);
    assert_eq!(g.dist_read(1, GICD_ISACTIVER, 4), 0);
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), 1023);
    // CPU 1 to CPU 0: GICC_IAR carries the source in bits [12:10].
    g.dist_write(1, GICD_SGIR, 4, (0b01 << 16) | 7);
    assert_eq!(lines(&g), [(true, false), (false, false)]);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), (1 << 10) | 7);
    g.cpuif_write(0, GICC_EOIR, 4, (1 << 10) | 7);
    assert!(!g.irq_line(0));
}

#[test]
fn v2_sgi_from_two_sources_is_active_and_pending() {
    let mut g = linux_v2(2);
    g.dist_write(0, GICD_SGIR, 4, (0b10 << 16) | 2);
    g.dist_write(1, GICD_SGIR, 4, (2 << 24) | 2);
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), 2);
    // Still pending from CPU 1, and active: not signalled until deactivated.
    assert_eq!(g.dist_read(1, GICD_ISPENDR, 4), 1 << 2);
    assert_eq!(g.dist_read(1, GICD_ISACTIVER, 4), 1 << 2);
    assert!(!g.irq_line(1));
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), 1023);
    g.cpuif_write(1, GICC_EOIR, 4, 2);
    assert!(g.irq_line(1));
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), (1 << 10) | 2);
    g.cpuif_write(1, GICC_EOIR, 4, (1 << 10) | 2);
    assert_eq!(g.dist_read(1, GICD_ISPENDR, 4), 0);
    assert!(!g.irq_line(1));
}

#[test]
fn v2_spi_routing_by_itargetsr() {
    let mut g = linux_v2(2);
    enable_spi_v2(&mut g, SPI, 0b10);
    g.set_level(0, SPI, true);
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    g.dist_write(0, GICD_ITARGETSR + SPI as u64, 1, 0b01);
    assert_eq!(lines(&g), [(true, false), (false, false)]);
    g.dist_write(0, GICD_ITARGETSR + SPI as u64, 1, 0);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    // Both targeted: the first to acknowledge takes it; the other sees nothing.
    g.dist_write(0, GICD_ITARGETSR + SPI as u64, 1, 0b11);
    assert_eq!(lines(&g), [(true, false), (true, false)]);
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), SPI as u64);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    g.set_level(0, SPI, false);
    g.cpuif_write(1, GICC_EOIR, 4, SPI as u64);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
}

#[test]
fn v2_uniprocessor_ignores_targets() {
    let mut g = linux_v2(1);
    assert_eq!(g.dist_read(0, GICD_ITARGETSR + SPI as u64, 1), 0);
    enable_spi_v2(&mut g, SPI, 0);
    g.set_level(0, SPI, true);
    assert!(g.irq_line(0));
}

#[test]
fn v2_priority_mask() {
    let mut g = linux_v2(1);
    enable_spi_v2(&mut g, SPI, 1);
    g.dist_write(0, GICD_IPRIORITYR + SPI as u64, 1, 0x80);
    g.set_level(0, SPI, true);
    // (PMR written, signalled): only priorities strictly below the mask pass.
    for (pmr, signalled) in [(0xf0, true), (0x88, true), (0x80, false), (0x00, false)] {
        g.cpuif_write(0, GICC_PMR, 4, pmr);
        assert_eq!(g.irq_line(0), signalled, "PMR {pmr:#x}");
        let iar = g.cpuif_read(0, GICC_IAR, 4);
        assert_eq!(iar, if signalled { SPI as u64 } else { 1023 });
        if signalled {
            g.cpuif_write(0, GICC_EOIR, 4, iar);
        }
        // Masked, but still the highest pending interrupt.
        assert_eq!(g.cpuif_read(0, GICC_HPPIR, 4), SPI as u64);
    }
}

#[test]
fn v2_preemption_by_group_priority() {
    let mut g = linux_v2(1);
    let (low, high) = (SPI, SPI + 1);
    enable_spi_v2(&mut g, low, 1);
    enable_spi_v2(&mut g, high, 1);
    g.dist_write(0, GICD_IPRIORITYR + high as u64, 1, 0x98);
    g.set_level(0, low, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), low as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0xa0);
    assert_eq!(g.cpuif_read(0, GICC_APR0, 4), 1 << (0xa0 >> 3));
    // Same priority: no preemption.
    g.dist_write(0, GICD_IPRIORITYR + high as u64, 1, 0xa0);
    g.set_level(0, high, true);
    assert!(!g.irq_line(0));
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    // Higher priority: preempts, nests, and completes in order.
    g.dist_write(0, GICD_IPRIORITYR + high as u64, 1, 0x98);
    assert!(g.irq_line(0));
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), high as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0x98);
    g.set_level(0, high, false);
    g.cpuif_write(0, GICC_EOIR, 4, high as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0xa0);
    g.set_level(0, low, false);
    g.cpuif_write(0, GICC_EOIR, 4, low as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0xff);
    assert_eq!(g.cpuif_read(0, GICC_APR0, 4), 0);
}

#[test]
fn v2_binary_point_limits_preemption() {
    let mut g = linux_v2(1);
    let (a, b, c) = (SPI, SPI + 1, SPI + 2);
    for (intid, prio) in [(a, 0xa0), (b, 0x98), (c, 0x78)] {
        enable_spi_v2(&mut g, intid, 1);
        g.dist_write(0, GICD_IPRIORITYR + intid as u64, 1, prio);
    }
    // BPR 5: group priority is bits [7:6].
    g.cpuif_write(0, GICC_BPR, 4, 5);
    g.set_level(0, a, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), a as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0x80);
    g.set_level(0, b, true); // 0x98 -> group 0x80: same group priority
    assert!(!g.irq_line(0));
    g.set_level(0, c, true); // 0x78 -> group 0x40
    assert!(g.irq_line(0));
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), c as u64);
}

#[test]
fn v2_level_and_edge() {
    let mut g = linux_v2(1);
    let (off, b) = bit(SPI);
    enable_spi_v2(&mut g, SPI, 1);
    // Level: pending while high (and only then), active and pending when
    // acknowledged while high.
    g.set_level(0, SPI, true);
    assert!(g.irq_line(0));
    g.set_level(0, SPI, false);
    assert!(!g.irq_line(0));
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), 0);
    g.set_level(0, SPI, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), b);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
    g.dist_write(0, GICD_ICPENDR + off, 4, b);
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), b, "line still high");
    g.cpuif_write(0, GICC_EOIR, 4, SPI as u64);
    assert!(g.irq_line(0), "re-signalled while the line is high");
    g.set_level(0, SPI, false);
    assert!(!g.irq_line(0));
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), 0);
    // A software-set pending level interrupt stays pending until cleared.
    g.dist_write(0, GICD_ISPENDR + off, 4, b);
    g.set_level(0, SPI, true);
    g.set_level(0, SPI, false);
    assert!(g.irq_line(0));
    g.dist_write(0, GICD_ICPENDR + off, 4, b);
    assert!(!g.irq_line(0));
    // Edge: a rising edge latches; acknowledge clears; a held line does not re-trigger.
    let cfg = GICD_ICFGR + (SPI / 16 * 4) as u64;
    g.dist_write(0, cfg, 4, 2 << (2 * (SPI % 16)));
    g.set_level(0, SPI, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), 0);
    g.cpuif_write(0, GICC_EOIR, 4, SPI as u64);
    assert!(!g.irq_line(0));
    g.set_level(0, SPI, false);
    assert!(!g.irq_line(0), "falling edge");
    g.set_level(0, SPI, true);
    assert!(g.irq_line(0));
}

#[test]
fn v2_edge_active_and_pending() {
    let mut g = linux_v2(1);
    let (off, b) = bit(SPI);
    g.dist_write(
        0,
        GICD_ICFGR + (SPI / 16 * 4) as u64,
        4,
        2 << (2 * (SPI % 16)),
    );
    enable_spi_v2(&mut g, SPI, 1);
    g.set_level(0, SPI, true);
    g.set_level(0, SPI, false);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    g.set_level(0, SPI, true);
    g.set_level(0, SPI, false);
    assert_eq!(g.dist_read(0, GICD_ISPENDR + off, 4), b);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
    assert!(!g.irq_line(0));
    g.cpuif_write(0, GICC_EOIR, 4, SPI as u64);
    assert!(g.irq_line(0));
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
}

#[test]
fn v2_eoimode_split_with_dir() {
    let mut g = linux_v2(1);
    let (off, b) = bit(SPI);
    g.cpuif_write(0, GICC_CTLR, 4, 1 | (1 << 9));
    g.dist_write(
        0,
        GICD_ICFGR + (SPI / 16 * 4) as u64,
        4,
        2 << (2 * (SPI % 16)),
    );
    enable_spi_v2(&mut g, SPI, 1);
    g.set_level(0, SPI, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    g.cpuif_write(0, GICC_EOIR, 4, SPI as u64);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0xff, "priority dropped");
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b, "still active");
    g.set_level(0, SPI, false);
    g.set_level(0, SPI, true);
    assert!(!g.irq_line(0), "active: not signalled again");
    g.cpuif_write(0, GICC_DIR, 4, SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), 0);
    assert!(g.irq_line(0));
    // With EOImode 0, GICC_DIR is ignored.
    g.cpuif_write(0, GICC_CTLR, 4, 1);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    g.cpuif_write(0, GICC_DIR, 4, SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
}

#[test]
fn v2_spurious_1023() {
    let mut g = linux_v2(1);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    enable_spi_v2(&mut g, SPI, 1);
    g.set_level(0, SPI, true);
    // Disabled distributor, disabled CPU interface, disabled interrupt: 1023.
    g.dist_write(0, GICD_CTLR, 4, 0);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    g.dist_write(0, GICD_CTLR, 4, 1);
    g.cpuif_write(0, GICC_CTLR, 4, 0);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    assert_eq!(g.cpuif_read(0, GICC_HPPIR, 4), 1023);
    g.cpuif_write(0, GICC_CTLR, 4, 1);
    let (off, b) = bit(SPI);
    g.dist_write(0, GICD_ICENABLER + off, 4, b);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1023);
    g.dist_write(0, GICD_ISENABLER + off, 4, b);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
    // EOI of 1023 is ignored: the interrupt stays active and the priority held.
    g.cpuif_write(0, GICC_EOIR, 4, 1023);
    assert_eq!(g.cpuif_read(0, GICC_RPR, 4), 0xa0);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
}

#[test]
fn v2_groups_fiq_and_ackctl() {
    let mut g = linux_v2(1);
    let (off, b) = bit(SPI);
    enable_spi_v2(&mut g, SPI, 1);
    g.set_level(0, SPI, true);
    // Group 0 with FIQEn: FIQ.
    g.cpuif_write(0, GICC_CTLR, 4, 0b1001);
    assert_eq!(lines(&g), [(false, true)]);
    // Group 1: IRQ, but only once Group 1 is enabled in both places.
    g.dist_write(0, GICD_IGROUPR + off, 4, b);
    assert_eq!(lines(&g), [(false, false)]);
    g.dist_write(0, GICD_CTLR, 4, 3);
    g.cpuif_write(0, GICC_CTLR, 4, 0b1011);
    assert_eq!(lines(&g), [(true, false)]);
    // AckCtl 0: GICC_IAR answers 1022 for Group 1; GICC_AIAR acknowledges.
    assert_eq!(g.cpuif_read(0, GICC_HPPIR, 4), 1022);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), 1022);
    assert_eq!(g.cpuif_read(0, GICC_AIAR, 4), SPI as u64);
    g.set_level(0, SPI, false);
    g.cpuif_write(0, GICC_AEOIR, 4, SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), 0);
    // AckCtl 1: GICC_IAR acknowledges Group 1 too.
    g.cpuif_write(0, GICC_CTLR, 4, 0b1111);
    g.set_level(0, SPI, true);
    assert_eq!(g.cpuif_read(0, GICC_IAR, 4), SPI as u64);
}

#[test]
fn v2_ppi_is_per_cpu() {
    let mut g = linux_v2(2);
    g.dist_write(1, GICD_ISENABLER, 4, 1 << 27);
    g.set_level(1, 27, true);
    g.set_level(0, 27, true); // CPU 0's copy is disabled
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    assert_eq!(g.dist_read(0, GICD_ISPENDR, 4), 1 << 27);
    assert_eq!(g.cpuif_read(1, GICC_IAR, 4), 27);
    g.set_level(1, 27, false);
    g.cpuif_write(1, GICC_EOIR, 4, 27);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
}

// ---------------------------------------------------------------- GICv3

#[test]
fn v3_sgi_between_cpus() {
    let mut g = linux_v3(2);
    g.redist_write(1, gicr(1) + SGI_BASE + GICD_ISENABLER, 4, 0xffff);
    g.redist_write(0, gicr(0) + SGI_BASE + GICD_ISENABLER, 4, 0xffff);
    // CPU 0 -> CPU 1, SGI 3, cluster 0.0.0 target list {1}.
    assert!(g.sysreg_write(0, ICC_SGI1R_EL1, (3 << 24) | 0b10));
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    assert_eq!(g.sysreg_read(1, ICC_HPPIR1_EL1), Some(3));
    assert_eq!(iar1(&mut g, 1), 3);
    assert!(!g.irq_line(1));
    eoir1(&mut g, 1, 3);
    assert_eq!(g.redist_read(0, gicr(1) + SGI_BASE + GICD_ISACTIVER, 4), 0);
    // IRM: everyone but the sender.
    assert!(g.sysreg_write(1, ICC_SGI1R_EL1, (1 << 40) | (6 << 24)));
    assert_eq!(lines(&g), [(true, false), (false, false)]);
    assert_eq!(iar1(&mut g, 0), 6);
    eoir1(&mut g, 0, 6);
    // Another cluster (Aff1 = 1) does not exist: nothing.
    assert!(g.sysreg_write(0, ICC_SGI1R_EL1, (1 << 16) | (3 << 24) | 0b11));
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    // An SGI configured as Group 0 is not raised by ICC_SGI1R_EL1, but by SGI0R.
    g.redist_write(0, gicr(1) + SGI_BASE + GICD_IGROUPR, 4, 0xffff_fff7);
    assert!(g.sysreg_write(0, ICC_SGI1R_EL1, (3 << 24) | 0b10));
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    assert!(g.sysreg_write(1, ICC_IGRPEN0_EL1, 1));
    assert!(g.sysreg_write(0, ICC_SGI0R_EL1, (3 << 24) | 0b10));
    assert_eq!(lines(&g), [(false, false), (false, true)], "Group 0 is FIQ");
    assert_eq!(iar1(&mut g, 1), 1023);
    assert_eq!(g.sysreg_read(1, ICC_IAR0_EL1), Some(3));
}

#[test]
fn v3_sgi_range_selector() {
    let mut g = linux_v3(20);
    g.redist_write(0, gicr(17) + SGI_BASE + GICD_ISENABLER, 4, 0xffff);
    // Aff0 17 = RS 1, bit 1.
    assert!(g.sysreg_write(0, ICC_SGI1R_EL1, (1 << 44) | (1 << 24) | 0b10));
    let hit: Vec<usize> = (0..20).filter(|&c| g.irq_line(c)).collect();
    assert_eq!(hit, [17]);
    assert_eq!(iar1(&mut g, 17), 1);
}

#[test]
fn v3_spi_routing_by_irouter() {
    let mut g = linux_v3(2);
    enable_spi_v3(&mut g, SPI, 1);
    g.set_level(0, SPI, true);
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    g.dist_write(0, GICD_IROUTER + 8 * SPI as u64, 8, 0);
    assert_eq!(lines(&g), [(true, false), (false, false)]);
    // An affinity that names no CPU: not forwarded.
    g.dist_write(0, GICD_IROUTER + 8 * SPI as u64, 8, 0x100);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    // 1-of-N: every CPU is a candidate; one takes it.
    g.dist_write(0, GICD_IROUTER + 8 * SPI as u64, 8, 1 << 31);
    assert_eq!(lines(&g), [(true, false), (true, false)]);
    // CPU 0 opts out of 1-of-N Group 1 with GICR_CTLR.DPG1NS.
    g.redist_write(0, gicr(0), 4, 1 << 25);
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    assert_eq!(iar1(&mut g, 1), SPI as u64);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
}

#[test]
fn v3_gicr_waker_gates_delivery() {
    let mut g = linux_v3(1);
    enable_spi_v3(&mut g, SPI, 0);
    g.redist_write(0, GICR_WAKER, 4, 2);
    assert_eq!(g.redist_read(0, GICR_WAKER, 4), 6);
    g.set_level(0, SPI, true);
    assert!(!g.irq_line(0));
    assert_eq!(iar1(&mut g, 0), 1023);
    g.redist_write(0, GICR_WAKER, 4, 0);
    assert_eq!(g.redist_read(0, GICR_WAKER, 4), 0);
    assert!(g.irq_line(0));
    // A fresh GIC starts awake, as firmware leaves it.
    let mut fresh = Gic::new(GicVersion::V3, 1, 64);
    assert_eq!(fresh.redist_read(0, GICR_WAKER, 4), 0);
}

/// A guest that never touches GICR_WAKER (as on QEMU and KVM, where firmware
/// woke the redistributors) still gets its SGIs, PPIs and SPIs.
#[test]
fn v3_delivers_without_waking_the_redistributor() {
    let mut g = Gic::new(GicVersion::V3, 1, 64);
    g.dist_write(0, GICD_CTLR, 4, 0x12); // ARE_NS | EnableGrp1NS
    g.dist_write(0, 0x0084, 4, 1); // GICD_IGROUPR1: SPI 32 in group 1
    g.dist_write(0, 0x0104, 4, 1); // GICD_ISENABLER1
    g.sysreg_write(0, ICC_PMR_EL1, 0xff);
    g.sysreg_write(0, ICC_IGRPEN1_EL1, 1);
    g.set_level(0, 32, true);
    assert!(
        g.irq_line(0),
        "SPI delivered with the redistributor as reset left it"
    );
    assert_eq!(iar1(&mut g, 0), 32);
}

#[test]
fn v3_priority_mask_and_preemption() {
    let mut g = linux_v3(1);
    let (low, high) = (SPI, SPI + 1);
    enable_spi_v3(&mut g, low, 0);
    enable_spi_v3(&mut g, high, 0);
    g.dist_write(0, GICD_IPRIORITYR + high as u64, 1, 0x90);
    g.set_level(0, low, true);
    assert!(g.sysreg_write(0, ICC_PMR_EL1, 0xa0));
    assert!(!g.irq_line(0), "priority 0xa0 is masked by PMR 0xa0");
    assert_eq!(iar1(&mut g, 0), 1023);
    assert!(g.sysreg_write(0, ICC_PMR_EL1, 0xf0));
    assert_eq!(iar1(&mut g, 0), low as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0xa0));
    assert_eq!(g.sysreg_read(0, ICC_AP1R0_EL1), Some(1 << 20));
    g.set_level(0, high, true);
    assert!(g.irq_line(0));
    assert_eq!(iar1(&mut g, 0), high as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0x90));
    g.set_level(0, high, false);
    eoir1(&mut g, 0, high as u64);
    g.set_level(0, low, false);
    eoir1(&mut g, 0, low as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0xff));
    assert_eq!(g.sysreg_read(0, ICC_AP1R0_EL1), Some(0));
    // BPR1 5: the group priority is bits [7:5]: 0x90 (0x80) preempts 0xa0.
    assert!(g.sysreg_write(0, ICC_BPR1_EL1, 5));
    g.set_level(0, low, true);
    assert_eq!(iar1(&mut g, 0), low as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0xa0));
    g.set_level(0, high, true);
    assert!(g.irq_line(0));
    assert_eq!(iar1(&mut g, 0), high as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0x80));
    g.set_level(0, high, false);
    g.set_level(0, low, false);
    eoir1(&mut g, 0, high as u64);
    eoir1(&mut g, 0, low as u64);
    // BPR1 6: the group priority is bits [7:6], so 0xa0 and 0x90 are both 0x80.
    assert!(g.sysreg_write(0, ICC_BPR1_EL1, 6));
    assert_eq!(g.sysreg_read(0, ICC_BPR1_EL1), Some(6));
    g.set_level(0, low, true);
    assert_eq!(iar1(&mut g, 0), low as u64);
    assert_eq!(
        g.sysreg_read(0, ICC_RPR_EL1),
        Some(0x80),
        "BPR1 6: bits [7:6]"
    );
    g.set_level(0, high, true);
    assert!(!g.irq_line(0), "0x90 is group priority 0x80 too");
}

#[test]
fn v3_binary_points_and_cbpr() {
    let mut g = linux_v3(1);
    assert_eq!(g.sysreg_read(0, ICC_BPR0_EL1), Some(2));
    assert_eq!(g.sysreg_read(0, ICC_BPR1_EL1), Some(3), "Linux wrote 0");
    assert!(g.sysreg_write(0, ICC_BPR0_EL1, 4));
    assert!(g.sysreg_write(0, ICC_CTLR_EL1, 1));
    assert_eq!(g.sysreg_read(0, ICC_BPR1_EL1), Some(5));
    assert!(g.sysreg_write(0, ICC_BPR1_EL1, 7));
    assert!(g.sysreg_write(0, ICC_CTLR_EL1, 0));
    assert_eq!(
        g.sysreg_read(0, ICC_BPR1_EL1),
        Some(3),
        "write ignored under CBPR"
    );
}

#[test]
fn v3_level_edge_and_active_pending_ppi() {
    let mut g = linux_v3(2);
    let sgi1 = gicr(1) + SGI_BASE;
    g.redist_write(1, sgi1 + GICD_ISENABLER, 4, 1 << 27);
    // Level PPI on CPU 1 (the virtual timer).
    g.set_level(1, 27, true);
    assert_eq!(lines(&g), [(false, false), (true, false)]);
    assert_eq!(iar1(&mut g, 1), 27);
    assert_eq!(g.redist_read(0, sgi1 + GICD_ISPENDR, 4), 1 << 27);
    assert_eq!(g.redist_read(0, sgi1 + GICD_ISACTIVER, 4), 1 << 27);
    g.set_level(1, 27, false);
    eoir1(&mut g, 1, 27);
    assert_eq!(lines(&g), [(false, false), (false, false)]);
    // Edge PPI: GICR_ICFGR1 bit 2n+1.
    g.redist_write(1, sgi1 + GICD_ICFGR + 4, 4, 2 << (2 * 11));
    assert_eq!(g.redist_read(1, sgi1 + GICD_ICFGR + 4, 4), 2 << 22);
    g.set_level(1, 27, true);
    assert_eq!(iar1(&mut g, 1), 27);
    g.set_level(1, 27, false);
    g.set_level(1, 27, true);
    assert!(!g.irq_line(1), "active and pending");
    eoir1(&mut g, 1, 27);
    assert!(g.irq_line(1));
}

#[test]
fn v3_eoimode_split_with_dir() {
    let mut g = linux_v3(1);
    let (off, b) = bit(SPI);
    assert!(g.sysreg_write(0, ICC_CTLR_EL1, 2));
    assert_eq!(g.sysreg_read(0, ICC_CTLR_EL1).unwrap() & 2, 2);
    enable_spi_v3(&mut g, SPI, 0);
    g.set_level(0, SPI, true);
    assert_eq!(iar1(&mut g, 0), SPI as u64);
    eoir1(&mut g, 0, SPI as u64);
    assert_eq!(g.sysreg_read(0, ICC_RPR_EL1), Some(0xff));
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
    assert!(!g.irq_line(0), "level still high but active");
    assert!(g.sysreg_write(0, ICC_DIR_EL1, SPI as u64));
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), 0);
    assert!(g.irq_line(0));
}

#[test]
fn v3_group0_is_fiq_and_eoi_checks_group() {
    let mut g = linux_v3(1);
    let (off, b) = bit(SPI);
    enable_spi_v3(&mut g, SPI, 0);
    g.dist_write(0, GICD_IGROUPR + off, 4, 0);
    g.set_level(0, SPI, true);
    assert_eq!(lines(&g), [(false, false)], "ICC_IGRPEN0 off");
    assert!(g.sysreg_write(0, ICC_IGRPEN0_EL1, 1));
    assert_eq!(lines(&g), [(false, true)]);
    assert_eq!(g.sysreg_read(0, ICC_HPPIR1_EL1), Some(1023));
    assert_eq!(g.sysreg_read(0, ICC_HPPIR0_EL1), Some(SPI as u64));
    assert_eq!(g.sysreg_read(0, ICC_IAR0_EL1), Some(SPI as u64));
    assert_eq!(g.sysreg_read(0, ICC_AP0R0_EL1), Some(1 << 20));
    // EOIR1 does not complete a Group 0 interrupt.
    eoir1(&mut g, 0, SPI as u64);
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), b);
    assert!(g.sysreg_write(0, ICC_EOIR0_EL1, SPI as u64));
    assert_eq!(g.dist_read(0, GICD_ISACTIVER + off, 4), 0);
}

#[test]
fn v3_group_disabled_in_cpu_interface_still_hides_lower_priorities() {
    let mut g = linux_v3(1);
    let (g0, g1) = (SPI, SPI + 1);
    enable_spi_v3(&mut g, g0, 0);
    enable_spi_v3(&mut g, g1, 0);
    let (off, b) = bit(g0);
    g.dist_write(0, GICD_IGROUPR + off, 4, !b & 0xffff_ffff);
    g.dist_write(0, GICD_IPRIORITYR + g0 as u64, 1, 0x80);
    g.set_level(0, g0, true);
    g.set_level(0, g1, true);
    // Group 0 (priority 0x80) is highest but disabled at the CPU interface.
    assert_eq!(lines(&g), [(false, false)]);
    assert_eq!(g.sysreg_read(0, ICC_HPPIR0_EL1), Some(1023));
    assert_eq!(g.sysreg_read(0, ICC_HPPIR1_EL1), Some(1023));
    assert_eq!(iar1(&mut g, 0), 1023);
    // Disabled in the distributor instead: hidden, Group 1 is delivered.
    g.dist_write(0, GICD_CTLR, 4, 0b10);
    assert_eq!(lines(&g), [(true, false)]);
    assert_eq!(g.sysreg_read(0, ICC_HPPIR1_EL1), Some(g1 as u64));
    assert_eq!(iar1(&mut g, 0), g1 as u64);
}

#[test]
fn v3_sysreg_access_rules() {
    let mut g = Gic::new(GicVersion::V3, 1, 64);
    // (key, reset value) for the readable registers.
    let readable: &[(u32, u64)] = &[
        (ICC_PMR_EL1, 0),
        (ICC_IAR0_EL1, 1023),
        (ICC_IAR1_EL1, 1023),
        (ICC_HPPIR0_EL1, 1023),
        (ICC_HPPIR1_EL1, 1023),
        (ICC_BPR0_EL1, 2),
        (ICC_BPR1_EL1, 3),
        (ICC_AP0R0_EL1, 0),
        (ICC_AP1R0_EL1, 0),
        (ICC_AP1R3_EL1, 0),
        (ICC_RPR_EL1, 0xff),
        (ICC_CTLR_EL1, (4 << 8) | (1 << 15) | (1 << 18)),
        (ICC_SRE_EL1, 7),
        (ICC_IGRPEN0_EL1, 0),
        (ICC_IGRPEN1_EL1, 0),
    ];
    for &(key, want) in readable {
        assert_eq!(g.sysreg_read(0, key), Some(want), "key {key:#x}");
    }
    // Write-only registers are not readable, read-only ones not writable.
    for key in [
        ICC_EOIR0_EL1,
        ICC_EOIR1_EL1,
        ICC_DIR_EL1,
        ICC_SGI0R_EL1,
        ICC_SGI1R_EL1,
        ICC_ASGI1R_EL1,
    ] {
        assert_eq!(g.sysreg_read(0, key), None, "key {key:#x}");
        assert!(g.sysreg_write(0, key, 0));
    }
    for key in [ICC_IAR0_EL1, ICC_IAR1_EL1, ICC_HPPIR1_EL1, ICC_RPR_EL1] {
        assert!(!g.sysreg_write(0, key, 0), "key {key:#x}");
    }
    // (key, written, read back)
    let writes: &[(u32, u64, u64)] = &[
        (ICC_PMR_EL1, 0xff, 0xf8),
        (ICC_BPR0_EL1, 0, 2),
        (ICC_BPR0_EL1, 0xff, 7),
        (ICC_BPR1_EL1, 1, 3),
        (ICC_CTLR_EL1, u64::MAX, 3 | (4 << 8) | (1 << 15) | (1 << 18)),
        (ICC_SRE_EL1, 0, 7),
        (ICC_IGRPEN0_EL1, 3, 1),
        (ICC_IGRPEN1_EL1, u64::MAX, 1),
        (ICC_AP1R0_EL1, 0x8000_0001, 0x8000_0001),
        (ICC_AP0R3_EL1, 5, 0),
    ];
    for &(key, value, want) in writes {
        let mut g = Gic::new(GicVersion::V3, 1, 64);
        assert!(g.sysreg_write(0, key, value));
        assert_eq!(g.sysreg_read(0, key), Some(want), "key {key:#x}");
    }
    // Not GIC registers, or a GICv2: UNDEFINED.
    assert_eq!(g.sysreg_read(0, armvm_cpu::sysreg::MIDR_EL1), None);
    assert_eq!(
        g.sysreg_read(0, armvm_cpu::sysreg::key(3, 0, 12, 9, 5)),
        None
    );
    let mut g2 = Gic::new(GicVersion::V2, 1, 64);
    assert_eq!(g2.sysreg_read(0, ICC_SRE_EL1), None);
    assert!(!g2.sysreg_write(0, ICC_PMR_EL1, 0));
}

// ---------------------------------------------------------------- both

#[test]
fn set_level_ignores_sgis_and_unknown_interrupts() {
    for version in [GicVersion::V2, GicVersion::V3] {
        let mut g = Gic::new(version, 2, 64);
        g.set_level(0, 3, true);
        g.set_level(7, 20, true);
        g.set_level(0, 64, true);
        g.set_level(0, 5000, true);
        assert_eq!(g.dist_read(0, GICD_ISPENDR, 4), 0);
        assert_eq!(g.dist_read(0, GICD_ISPENDR + 4, 4), 0);
        assert_eq!(g.dist_read(0, GICD_ISPENDR + 8, 4), 0);
        assert_eq!(g.num_irqs(), 64);
    }
}

#[test]
fn construction_clamps() {
    let g = Gic::new(GicVersion::V2, 12, 5000);
    assert_eq!((g.num_cpus(), g.num_irqs()), (8, 1020));
    let g = Gic::new(GicVersion::V3, 0, 0);
    assert_eq!((g.num_cpus(), g.num_irqs()), (1, 32));
    let g = Gic::new(GicVersion::V3, 4, 100);
    assert_eq!(g.num_irqs(), 128);
    assert!(!g.irq_line(9));
    assert!(!g.fiq_line(9));
    assert_eq!(gicr_size(4), 0x8_0000);
}

#[test]
fn reset_restores_reset_state() {
    let mut g = linux_v3(2);
    enable_spi_v3(&mut g, SPI, 0);
    g.set_level(0, SPI, true);
    assert!(g.irq_line(0));
    g.reset();
    assert!(!g.irq_line(0));
    assert_eq!(g.redist_read(0, GICR_WAKER, 4), 0);
    assert_eq!(g.dist_read(0, GICD_CTLR, 4), 0x50);
}

#[test]
fn mmio_adapters_pass_the_accessing_cpu() {
    let gic = Arc::new(Mutex::new(Gic::new(GicVersion::V2, 2, 64)));
    let mut dist = GicDistributor(gic.clone());
    let mut cpuif = GicCpuInterface(gic.clone());
    assert_eq!(dist.read(1, GICD_ITARGETSR, 1), 0b10);
    cpuif.write(1, GICC_PMR, 4, 0x80);
    assert_eq!(dist.read(0, GICD_ITARGETSR, 1), 0b01);
    assert_eq!(cpuif.read(0, GICC_PMR, 4), 0);
    assert_eq!(gic.locked().cpuif_read(1, GICC_PMR, 4), 0x80);
    let gic3 = Arc::new(Mutex::new(Gic::new(GicVersion::V3, 2, 64)));
    let mut redist = GicRedistributor(gic3);
    redist.write(0, GICR_STRIDE + GICR_WAKER, 4, 2);
    assert_eq!(redist.read(0, GICR_WAKER, 4), 0);
    assert_eq!(redist.read(0, GICR_STRIDE + GICR_WAKER, 4), 6);
}

/// Checks a value read from an acknowledge or highest-pending register (GICC_IAR,
/// GICC_AIAR, GICC_HPPIR, GICC_AHPPIR, ICC_IAR0/1_EL1, ICC_HPPIR0/1_EL1): a special
/// INTID 1022/1023, or an implemented INTID with, on GICv2, the source CPU of an SGI
/// in bits [12:10] (an existing CPU, and 0 for other interrupts). Returns whether it
/// named an interrupt.
fn assert_valid_ack(g: &Gic, value: u64, what: &str) -> bool {
    if value == 1022 || value == 1023 {
        return false;
    }
    let ok = match g.version() {
        GicVersion::V2 => {
            let (intid, source) = (value & 0x3ff, value >> 10);
            let source_ok = if intid < 16 {
                source < g.num_cpus() as u64
            } else {
                source == 0
            };
            intid < g.num_irqs() as u64 && source_ok
        }
        GicVersion::V3 => value < g.num_irqs() as u64,
    };
    assert!(
        ok,
        "{what} read {value:#x} on a {:?} with {} CPUs and {} INTIDs",
        g.version(),
        g.num_cpus(),
        g.num_irqs()
    );
    true
}

// Registers not named above that the storm and the re-initialisation below use.
const GICD_TYPER: u64 = 0x004;
const GICD_CPENDSGIR: u64 = 0xf10;
const GICR_CTLR: u64 = 0x00;
const GICC_ABPR: u64 = 0x1c;
const GICC_AHPPIR: u64 = 0x28;
const GICC_NSAPR0: u64 = 0xe0;

/// Brings a GIC in any state back to a known configuration through its registers,
/// as a guest (or a kexec'd kernel) that cannot reset it would: everything disabled,
/// not pending, not active, priority 0xa0, SPIs edge-triggered and aimed at CPU 0;
/// GICv2 all Group 0, GICv3 all Group 1 and the redistributors awake; every CPU
/// interface with PMR 0xf0, no active priorities, EOImode 0 and only the group in
/// use enabled. Afterwards nothing may be pending anywhere.
fn guest_reinit(g: &mut Gic) {
    let v3 = g.version() == GicVersion::V3;
    let intids = ((g.dist_read(0, GICD_TYPER, 4) & 0x1f) + 1) * 32;
    g.dist_write(0, GICD_CTLR, 4, 0);
    for i in (32..intids).step_by(32) {
        g.dist_write(0, GICD_ICENABLER + i / 8, 4, 0xffff_ffff);
        g.dist_write(0, GICD_ICPENDR + i / 8, 4, 0xffff_ffff);
        g.dist_write(0, GICD_ICACTIVER + i / 8, 4, 0xffff_ffff);
        let group = if v3 { 0xffff_ffff } else { 0 };
        g.dist_write(0, GICD_IGROUPR + i / 8, 4, group);
    }
    for i in (32..intids).step_by(16) {
        // Edge: an input the guest cannot see may be stuck high.
        g.dist_write(0, GICD_ICFGR + i / 4, 4, 0xaaaa_aaaa);
    }
    for i in (32..intids).step_by(4) {
        g.dist_write(0, GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
        if !v3 {
            g.dist_write(0, GICD_ITARGETSR + i, 4, 0x0101_0101);
        }
    }
    if v3 {
        for i in 32..intids {
            g.dist_write(0, GICD_IROUTER + 8 * i, 8, 0);
        }
    }
    for cpu in 0..g.num_cpus() {
        if v3 {
            let rd = gicr(cpu);
            g.redist_write(cpu, rd + GICR_WAKER, 4, 0);
            assert_eq!(g.redist_read(cpu, rd + GICR_WAKER, 4) & 4, 0, "awake");
            g.redist_write(cpu, rd + GICR_CTLR, 4, 0);
            let sgi = rd + SGI_BASE;
            g.redist_write(cpu, sgi + GICD_ICENABLER, 4, 0xffff_ffff);
            g.redist_write(cpu, sgi + GICD_ICPENDR, 4, 0xffff_ffff);
            g.redist_write(cpu, sgi + GICD_ICACTIVER, 4, 0xffff_ffff);
            g.redist_write(cpu, sgi + GICD_IGROUPR, 4, 0xffff_ffff);
            g.redist_write(cpu, sgi + GICD_ICFGR + 4, 4, 0);
            for i in (0..32).step_by(4) {
                g.redist_write(cpu, sgi + GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
            }
            assert!(g.sysreg_write(cpu, ICC_IGRPEN0_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_IGRPEN1_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_CTLR_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_PMR_EL1, 0xf0));
            assert!(g.sysreg_write(cpu, ICC_BPR0_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_BPR1_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_AP0R0_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_AP1R0_EL1, 0));
            assert!(g.sysreg_write(cpu, ICC_IGRPEN1_EL1, 1));
        } else {
            // The banked SGIs and PPIs (SGI enables are RAO/WI, their pending
            // state is cleared per source through GICD_CPENDSGIR).
            g.dist_write(cpu, GICD_ICENABLER, 4, 0xffff_ffff);
            g.dist_write(cpu, GICD_ICPENDR, 4, 0xffff_ffff);
            g.dist_write(cpu, GICD_ICACTIVER, 4, 0xffff_ffff);
            g.dist_write(cpu, GICD_IGROUPR, 4, 0);
            g.dist_write(cpu, GICD_ICFGR + 4, 4, 0);
            for i in (0..16).step_by(4) {
                g.dist_write(cpu, GICD_CPENDSGIR + i, 4, 0xffff_ffff);
            }
            for i in (0..32).step_by(4) {
                g.dist_write(cpu, GICD_IPRIORITYR + i, 4, 0xa0a0_a0a0);
            }
            g.cpuif_write(cpu, GICC_CTLR, 4, 0);
            g.cpuif_write(cpu, GICC_PMR, 4, 0xf0);
            g.cpuif_write(cpu, GICC_BPR, 4, 0);
            g.cpuif_write(cpu, GICC_ABPR, 4, 0);
            g.cpuif_write(cpu, GICC_APR0, 4, 0);
            g.cpuif_write(cpu, GICC_NSAPR0, 4, 0);
            g.cpuif_write(cpu, GICC_CTLR, 4, 1);
        }
    }
    g.dist_write(0, GICD_CTLR, 4, if v3 { 0x12 } else { 1 });
    for cpu in 0..g.num_cpus() {
        assert_eq!(
            lines(g)[cpu],
            (false, false),
            "CPU {cpu} signalled after re-init"
        );
        let (iar, rpr) = if v3 {
            (iar1(g, cpu), g.sysreg_read(cpu, ICC_RPR_EL1).unwrap())
        } else {
            (
                g.cpuif_read(cpu, GICC_IAR, 4),
                g.cpuif_read(cpu, GICC_RPR, 4),
            )
        };
        assert_eq!(iar, 1023, "CPU {cpu}: something pending after re-init");
        assert_eq!(rpr, 0xff, "CPU {cpu}: something active after re-init");
    }
}

/// After [`guest_reinit`]: on every CPU, an SPI set pending through GICD_ISPENDR and an
/// SGI from another CPU are each signalled to that CPU alone, acknowledged with the
/// right INTID, and completed (inactive, running priority idle, nothing left).
fn deliver_spi_and_sgi_everywhere(g: &mut Gic) {
    let v3 = g.version() == GicVersion::V3;
    let n = g.num_cpus();
    let (off, b) = bit(SPI);
    const SGI: u64 = 5;
    for t in 0..n {
        let src = (t + 1) % n;
        let only_t: Vec<(bool, bool)> = (0..n).map(|c| (c == t, false)).collect();
        let idle: Vec<(bool, bool)> = vec![(false, false); n];
        // The SPI, routed to `t`.
        if v3 {
            enable_spi_v3(g, SPI, t as u64);
        } else {
            enable_spi_v2(g, SPI, 1 << t);
        }
        g.dist_write(src, GICD_ISPENDR + off, 4, b);
        assert_eq!(lines(g), only_t, "SPI {SPI} to CPU {t}");
        let ack = if v3 {
            iar1(g, t)
        } else {
            g.cpuif_read(t, GICC_IAR, 4)
        };
        assert_eq!(ack, SPI as u64, "SPI acknowledged by CPU {t}");
        assert_eq!(lines(g), idle, "SPI {SPI} active on CPU {t}");
        assert_eq!(g.dist_read(t, GICD_ISACTIVER + off, 4), b);
        if v3 {
            eoir1(g, t, ack);
        } else {
            g.cpuif_write(t, GICC_EOIR, 4, ack);
        }
        assert_eq!(g.dist_read(t, GICD_ISACTIVER + off, 4), 0, "SPI completed");
        assert_eq!(g.dist_read(t, GICD_ISPENDR + off, 4), 0, "SPI completed");
        g.dist_write(0, GICD_ICENABLER + off, 4, b);
        // An SGI from `src` (itself on a uniprocessor) to `t`.
        let sgi_frame = gicr(t) + SGI_BASE;
        let want = if v3 {
            g.redist_write(t, sgi_frame + GICD_ISENABLER, 4, 1 << SGI);
            assert!(g.sysreg_write(src, ICC_SGI1R_EL1, (SGI << 24) | (1 << t)));
            SGI
        } else {
            g.dist_write(src, GICD_SGIR, 4, (1 << (16 + t)) | SGI);
            SGI | ((src as u64) << 10)
        };
        assert_eq!(lines(g), only_t, "SGI {SGI} from CPU {src} to CPU {t}");
        let ack = if v3 {
            iar1(g, t)
        } else {
            g.cpuif_read(t, GICC_IAR, 4)
        };
        assert_eq!(ack, want, "SGI acknowledged by CPU {t}");
        assert_eq!(lines(g), idle, "SGI {SGI} active on CPU {t}");
        let (rpr, iar) = if v3 {
            eoir1(g, t, ack);
            (g.sysreg_read(t, ICC_RPR_EL1).unwrap(), iar1(g, t))
        } else {
            g.cpuif_write(t, GICC_EOIR, 4, ack);
            (g.cpuif_read(t, GICC_RPR, 4), g.cpuif_read(t, GICC_IAR, 4))
        };
        assert_eq!((rpr, iar), (0xff, 1023), "CPU {t} idle after the SGI");
        let active = if v3 {
            g.redist_read(t, sgi_frame + GICD_ISACTIVER, 4)
        } else {
            g.dist_read(t, GICD_ISACTIVER, 4)
        };
        assert_eq!(active, 0, "SGI completed on CPU {t}");
    }
}

/// The GICv3 CPU interface registers, which random 16-bit keys would hardly ever hit.
const ICC_KEYS: &[u32] = &[
    ICC_PMR_EL1,
    ICC_IAR0_EL1,
    ICC_EOIR0_EL1,
    ICC_HPPIR0_EL1,
    ICC_BPR0_EL1,
    ICC_AP0R0_EL1,
    ICC_AP0R3_EL1,
    ICC_AP1R0_EL1,
    ICC_AP1R3_EL1,
    ICC_DIR_EL1,
    ICC_RPR_EL1,
    ICC_SGI1R_EL1,
    ICC_ASGI1R_EL1,
    ICC_SGI0R_EL1,
    ICC_IAR1_EL1,
    ICC_EOIR1_EL1,
    ICC_HPPIR1_EL1,
    ICC_BPR1_EL1,
    ICC_CTLR_EL1,
    ICC_SRE_EL1,
    ICC_IGRPEN0_EL1,
    ICC_IGRPEN1_EL1,
];

/// Every offset, size and value on every entry point: no panic, every acknowledge
/// reads a valid INTID or a special one, and the state stays usable: the guest can
/// re-initialise that same GIC through its registers and then get an SPI and an SGI
/// delivered, acknowledged and completed on every CPU.
#[test]
fn guest_cannot_panic_the_gic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let v2_acks = [GICC_IAR, GICC_AIAR, GICC_HPPIR, GICC_AHPPIR];
    let v3_acks = [ICC_IAR0_EL1, ICC_IAR1_EL1, ICC_HPPIR0_EL1, ICC_HPPIR1_EL1];
    for version in [GicVersion::V2, GicVersion::V3] {
        for num_cpus in [1, 3, 8] {
            let mut g = Gic::new(version, num_cpus, 1024);
            // Reads by existing CPUs of acknowledge and highest-pending registers
            // that named an interrupt.
            let mut named = 0;
            let mut check_ack = |g: &Gic, cpu: usize, v: u64, what: &str| {
                if assert_valid_ack(g, v, what) && cpu < g.num_cpus() {
                    named += 1;
                }
            };
            for _ in 0..100_000 {
                let (r, value, aux) = (next(), next(), next());
                // Random bits, or the values that flip whole registers at once.
                let value = match (aux >> 8) % 8 {
                    0 => 0,
                    1 | 2 => u64::MAX,
                    3 => 1 << (value % 64),
                    _ => value,
                };
                let cpu = (r % 10) as usize;
                let mut size = [1u8, 2, 4, 8, 3][(r >> 8) as usize % 5];
                let offset = match (r >> 16) % 8 {
                    0 => (r >> 20) % 0x1_0000,
                    1 => (r >> 20) % 0x1000,
                    2 => (r >> 20) % (GICR_STRIDE * 10),
                    3 => r >> 20,
                    // Mostly words (GICD_IROUTER: doublewords) in the registers that
                    // decide delivery, for the INTIDs below 128 only, so that the storm
                    // configures some interrupts completely now and then.
                    k => {
                        if aux & 3 != 0 {
                            size = if k == 7 { 8 } else { 4 };
                        }
                        let word = 4 * ((r >> 24) % 4);
                        match k {
                            // GICC's registers (GICD_CTLR, TYPER, IIDR at 0-8 too).
                            4 => match (r >> 28) % 16 {
                                0 => GICC_APR0,
                                1 => GICC_NSAPR0,
                                2 => GICC_DIR,
                                _ => ((r >> 20) % 0x30) & !3,
                            },
                            // GICD: CTLR, the interrupt arrays, SGIR, C/SPENDSGIR.
                            5 => {
                                let arrays = [
                                    GICD_CTLR,
                                    GICD_IGROUPR,
                                    GICD_ISENABLER,
                                    GICD_ICENABLER,
                                    GICD_ISPENDR,
                                    GICD_ICPENDR,
                                    GICD_ISACTIVER,
                                    GICD_ICACTIVER,
                                    GICD_IPRIORITYR,
                                    GICD_IPRIORITYR + 0x20,
                                    GICD_ITARGETSR,
                                    GICD_ITARGETSR + 0x20,
                                    GICD_ICFGR,
                                    GICD_SGIR,
                                    GICD_CPENDSGIR,
                                    GICD_CPENDSGIR + 0x10,
                                ];
                                arrays[(r >> 28) as usize % 16] + word
                            }
                            // A redistributor: GICR_CTLR, GICR_WAKER, SGI_base arrays.
                            6 => {
                                let regs = [
                                    GICR_CTLR,
                                    GICR_WAKER,
                                    SGI_BASE + GICD_IGROUPR,
                                    SGI_BASE + GICD_ISENABLER,
                                    SGI_BASE + GICD_ICENABLER,
                                    SGI_BASE + GICD_ISPENDR,
                                    SGI_BASE + GICD_ICPENDR,
                                    SGI_BASE + GICD_ISACTIVER,
                                    SGI_BASE + GICD_ICACTIVER,
                                    SGI_BASE + GICD_IPRIORITYR + word,
                                    SGI_BASE + GICD_IPRIORITYR + 0x10 + word,
                                    SGI_BASE + GICD_ICFGR + word % 8,
                                ];
                                gicr(((r >> 20) % 10) as usize) + regs[(r >> 28) as usize % 12]
                            }
                            _ => GICD_IROUTER + 8 * (32 + (r >> 20) % 96),
                        }
                    }
                };
                let key = if aux & 4 != 0 {
                    ICC_KEYS[(aux >> 3) as usize % ICC_KEYS.len()]
                } else {
                    (value & 0xffff) as u32
                };
                // Active priorities mostly get none or one bit: random ones would
                // mask every interrupt behind a running priority near 0 for good.
                let apr = matches!(key, ICC_AP0R0_EL1 | ICC_AP1R0_EL1)
                    || matches!(offset, GICC_APR0 | GICC_NSAPR0);
                let value = if apr && aux & (3 << 12) != 0 {
                    (1u64 << (value % 40)) & 0xffff_ffff
                } else {
                    value
                };
                match (r >> 12) % 8 {
                    0 => g.dist_write(cpu, offset, size, value),
                    1 => {
                        let _ = g.dist_read(cpu, offset, size);
                    }
                    2 => g.cpuif_write(cpu, offset, size, value),
                    3 => {
                        let v = g.cpuif_read(cpu, offset, size);
                        if v2_acks.contains(&offset) {
                            check_ack(&g, cpu, v, "GICC acknowledge");
                        }
                    }
                    4 => g.redist_write(cpu, offset, size, value),
                    5 => {
                        let _ = g.redist_read(cpu, offset, size);
                    }
                    6 => {
                        let _ = g.sysreg_write(cpu, key, value);
                    }
                    _ => {
                        if let Some(v) = g.sysreg_read(cpu, key) {
                            if v3_acks.contains(&key) {
                                check_ack(&g, cpu, v, "ICC acknowledge");
                            }
                        }
                        g.set_level(cpu, (value >> 20) as u32 % 1100, value & 1 != 0);
                    }
                }
                // Keep the acknowledge and completion registers busy too, completing
                // what was acknowledged half of the time.
                if r % 16 == 0 {
                    let k = (r >> 4) as usize % 4;
                    match version {
                        GicVersion::V2 => {
                            let v = g.cpuif_read(cpu, [GICC_IAR, GICC_AIAR][k % 2], 4);
                            check_ack(&g, cpu, v, "GICC acknowledge");
                            let eoi = if k < 2 { v } else { value & 0x1fff };
                            g.cpuif_write(cpu, [GICC_EOIR, GICC_AEOIR][k % 2], 4, eoi);
                        }
                        GicVersion::V3 => {
                            let v = g.sysreg_read(cpu, [ICC_IAR1_EL1, ICC_IAR0_EL1][k % 2]);
                            let v = v.expect("ICC_IAR*_EL1 is readable");
                            check_ack(&g, cpu, v, "ICC acknowledge");
                            let eoi = if k < 2 { v } else { value & 0x3ff };
                            let key = [ICC_EOIR1_EL1, ICC_EOIR0_EL1][k % 2];
                            assert!(g.sysreg_write(cpu, key, eoi));
                        }
                    }
                }
            }
            // Not vacuous: the storm does get interrupts acknowledged.
            assert!(
                named > 0,
                "{version:?} x{num_cpus}: no acknowledge named an interrupt"
            );
            let bad = g.bad_accesses;
            guest_reinit(&mut g);
            deliver_spi_and_sgi_everywhere(&mut g);
            assert_eq!(
                g.bad_accesses, bad,
                "re-init and delivery made bad accesses"
            );
        }
    }
}
