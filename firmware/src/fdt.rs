//! The flattened device tree, generated from the board's description so that it
//! describes exactly the machine that was built (Devicetree Specification v0.4 and
//! the Linux bindings for each device).

use vm_fdt::{Error as FdtError, FdtWriter};

/// Interrupt specifier cell values (bindings/interrupt-controller/arm,gic*.yaml).
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
const IRQ_TYPE_EDGE_RISING: u32 = 1;
const IRQ_TYPE_LEVEL_HIGH: u32 = 4;

const PHANDLE_GIC: u32 = 1;
const PHANDLE_APB_CLOCK: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicKind {
    /// Distributor and CPU interface windows.
    V2 { dist: (u64, u64), cpu: (u64, u64) },
    /// Distributor and redistributor windows.
    V3 {
        dist: (u64, u64),
        redist: (u64, u64),
    },
}

/// A memory-mapped device with one SPI (numbered from 0, i.e. INTID - 32).
#[derive(Clone, Copy, Debug)]
pub struct MmioWithSpi {
    pub base: u64,
    pub size: u64,
    pub spi: u32,
}

/// Everything the tree describes.
#[derive(Clone, Debug)]
pub struct BoardDescription {
    pub ram: (u64, u64),
    /// MPIDR of each CPU.
    pub cpu_mpidrs: Vec<u64>,
    pub gic: GicKind,
    /// Timer PPIs (INTID - 16): secure physical, non-secure physical, virtual, hypervisor.
    pub timer_ppis: [u32; 4],
    /// The PMU's overflow interrupt (INTID - 16), when the CPUs have a PMU.
    pub pmu_ppi: Option<u32>,
    pub counter_frequency: u32,
    pub uart: MmioWithSpi,
    pub rtc: MmioWithSpi,
    pub virtio: Vec<MmioWithSpi>,
    /// "hvc" or "smc".
    pub psci_method: &'static str,
    pub bootargs: String,
    pub initrd: Option<(u64, u64)>,
    pub rng_seed: [u8; 32],
    /// `/chosen/kaslr-seed`: randomises where Linux places itself, as on QEMU.
    pub kaslr_seed: u64,
    /// The two CFI flash banks (base, size), when firmware runs from them.
    pub flash: Option<[(u64, u64); 2]>,
}

fn reg(base: u64, size: u64) -> [u64; 2] {
    [base, size]
}

/// Builds the DTB.
pub fn build(d: &BoardDescription) -> Result<Vec<u8>, FdtError> {
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_string("compatible", "linux,dummy-virt")?;
    fdt.property_string("model", "armvm virt")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_u32("interrupt-parent", PHANDLE_GIC)?;

    create_chosen_node(&mut fdt, d)?;
    create_memory_node(&mut fdt, d)?;
    create_cpu_nodes(&mut fdt, d)?;
    create_psci_node(&mut fdt, d)?;
    create_gic_node(&mut fdt, d)?;
    create_timer_node(&mut fdt, d)?;
    create_pmu_node(&mut fdt, d)?;
    create_clock_node(&mut fdt)?;
    create_uart_node(&mut fdt, d)?;
    create_rtc_node(&mut fdt, d)?;
    if let Some(banks) = &d.flash {
        create_flash_node(&mut fdt, banks)?;
    }
    for v in &d.virtio {
        create_virtio_node(&mut fdt, v)?;
    }

    fdt.end_node(root)?;
    fdt.finish()
}

fn create_chosen_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let chosen = fdt.begin_node("chosen")?;
    // No empty bootargs: under UEFI the EFI stub and GRUB add their own, and a
    // stale property would override theirs.
    if !d.bootargs.is_empty() {
        fdt.property_string("bootargs", &d.bootargs)?;
    }
    fdt.property_string("stdout-path", &format!("/pl011@{:x}", d.uart.base))?;
    if let Some((start, end)) = d.initrd {
        fdt.property_u64("linux,initrd-start", start)?;
        fdt.property_u64("linux,initrd-end", end)?;
    }
    fdt.property("rng-seed", &d.rng_seed)?;
    fdt.property_u64("kaslr-seed", d.kaslr_seed)?;
    fdt.end_node(chosen)
}

fn create_memory_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let mem = fdt.begin_node(&format!("memory@{:x}", d.ram.0))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &reg(d.ram.0, d.ram.1))?;
    fdt.end_node(mem)
}

fn create_cpu_nodes(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    for &mpidr in &d.cpu_mpidrs {
        let aff = (mpidr & 0xff_ffff) as u32;
        let cpu = fdt.begin_node(&format!("cpu@{aff:x}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_string("compatible", "arm,armv8")?;
        fdt.property_u32("reg", aff)?;
        fdt.property_string("enable-method", "psci")?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)
}

fn create_psci_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let psci = fdt.begin_node("psci")?;
    fdt.property_string_list(
        "compatible",
        vec![
            "arm,psci-1.0".into(),
            "arm,psci-0.2".into(),
            "arm,psci".into(),
        ],
    )?;
    fdt.property_string("method", d.psci_method)?;
    // Function IDs for the PSCI 0.1 binding, which older kernels read.
    fdt.property_u32("cpu_suspend", crate::psci::fid::CPU_SUSPEND_64)?;
    fdt.property_u32("cpu_off", crate::psci::fid::CPU_OFF)?;
    fdt.property_u32("cpu_on", crate::psci::fid::CPU_ON_64)?;
    fdt.property_u32("migrate", 0xc400_0005)?;
    fdt.end_node(psci)
}

fn create_gic_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let (compatible, dist, second) = match d.gic {
        GicKind::V2 { dist, cpu } => ("arm,cortex-a15-gic", dist, cpu),
        GicKind::V3 { dist, redist } => ("arm,gic-v3", dist, redist),
    };
    let gic = fdt.begin_node(&format!("intc@{:x}", dist.0))?;
    fdt.property_string("compatible", compatible)?;
    fdt.property_u32("#interrupt-cells", 3)?;
    // No child nodes, but interrupt-map parsing (and dtc) wants the cell count.
    fdt.property_u32("#address-cells", 0)?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_array_u64("reg", &[dist.0, dist.1, second.0, second.1])?;
    if let GicKind::V3 { .. } = d.gic {
        fdt.property_u32("#redistributor-regions", 1)?;
    }
    fdt.property_u32("phandle", PHANDLE_GIC)?;
    fdt.end_node(gic)
}

/// Interrupt flags of a PPI: GICv2 carries a mask of the CPUs it reaches.
fn ppi_flags(d: &BoardDescription) -> u32 {
    match d.gic {
        GicKind::V2 { .. } => {
            let n = d.cpu_mpidrs.len().min(8) as u32;
            (((1u32 << n) - 1) << 8) | IRQ_TYPE_LEVEL_HIGH
        }
        GicKind::V3 { .. } => IRQ_TYPE_LEVEL_HIGH,
    }
}

fn create_timer_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let timer = fdt.begin_node("timer")?;
    fdt.property_string_list(
        "compatible",
        vec!["arm,armv8-timer".into(), "arm,armv7-timer".into()],
    )?;
    let flags = ppi_flags(d);
    let cells: Vec<u32> = d
        .timer_ppis
        .iter()
        .flat_map(|&ppi| [GIC_PPI, ppi, flags])
        .collect();
    fdt.property_array_u32("interrupts", &cells)?;
    fdt.property_null("always-on")?;
    fdt.property_u32("clock-frequency", d.counter_frequency)?;
    fdt.end_node(timer)
}

/// The PMUv3 of the CPUs: Linux's perf finds its counters through this node.
fn create_pmu_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let Some(ppi) = d.pmu_ppi else {
        return Ok(());
    };
    let pmu = fdt.begin_node("pmu")?;
    fdt.property_string("compatible", "arm,armv8-pmuv3")?;
    fdt.property_array_u32("interrupts", &[GIC_PPI, ppi, ppi_flags(d)])?;
    fdt.end_node(pmu)
}

fn create_clock_node(fdt: &mut FdtWriter) -> Result<(), FdtError> {
    let clk = fdt.begin_node("apb-pclk")?;
    fdt.property_string("compatible", "fixed-clock")?;
    fdt.property_u32("#clock-cells", 0)?;
    fdt.property_u32("clock-frequency", 24_000_000)?;
    fdt.property_string("clock-output-names", "clk24mhz")?;
    fdt.property_u32("phandle", PHANDLE_APB_CLOCK)?;
    fdt.end_node(clk)
}

fn create_uart_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let u = d.uart;
    let node = fdt.begin_node(&format!("pl011@{:x}", u.base))?;
    fdt.property_string_list(
        "compatible",
        vec!["arm,pl011".into(), "arm,primecell".into()],
    )?;
    fdt.property_array_u64("reg", &reg(u.base, u.size))?;
    fdt.property_array_u32("interrupts", &[GIC_SPI, u.spi, IRQ_TYPE_LEVEL_HIGH])?;
    fdt.property_array_u32("clocks", &[PHANDLE_APB_CLOCK, PHANDLE_APB_CLOCK])?;
    fdt.property_string_list("clock-names", vec!["uartclk".into(), "apb_pclk".into()])?;
    fdt.end_node(node)
}

fn create_rtc_node(fdt: &mut FdtWriter, d: &BoardDescription) -> Result<(), FdtError> {
    let r = d.rtc;
    let node = fdt.begin_node(&format!("pl031@{:x}", r.base))?;
    fdt.property_string_list(
        "compatible",
        vec!["arm,pl031".into(), "arm,primecell".into()],
    )?;
    fdt.property_array_u64("reg", &reg(r.base, r.size))?;
    fdt.property_array_u32("interrupts", &[GIC_SPI, r.spi, IRQ_TYPE_LEVEL_HIGH])?;
    fdt.property_u32("clocks", PHANDLE_APB_CLOCK)?;
    fdt.property_string("clock-names", "apb_pclk")?;
    fdt.end_node(node)
}

fn create_flash_node(fdt: &mut FdtWriter, banks: &[(u64, u64); 2]) -> Result<(), FdtError> {
    let node = fdt.begin_node(&format!("flash@{:x}", banks[0].0))?;
    fdt.property_string("compatible", "cfi-flash")?;
    let [(b0, s0), (b1, s1)] = *banks;
    fdt.property_array_u64("reg", &[b0, s0, b1, s1])?;
    fdt.property_u32("bank-width", 4)?;
    fdt.end_node(node)
}

fn create_virtio_node(fdt: &mut FdtWriter, v: &MmioWithSpi) -> Result<(), FdtError> {
    let node = fdt.begin_node(&format!("virtio_mmio@{:x}", v.base))?;
    fdt.property_string("compatible", "virtio,mmio")?;
    fdt.property_array_u64("reg", &reg(v.base, v.size))?;
    fdt.property_array_u32("interrupts", &[GIC_SPI, v.spi, IRQ_TYPE_EDGE_RISING])?;
    fdt.property_null("dma-coherent")?;
    fdt.end_node(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample(gic: GicKind, cpus: usize) -> BoardDescription {
        BoardDescription {
            ram: (0x4000_0000, 0x800_0000),
            cpu_mpidrs: (0..cpus as u64).map(|i| 0x8000_0000 | i).collect(),
            gic,
            timer_ppis: [13, 14, 11, 10],
            pmu_ppi: Some(7),
            counter_frequency: 62_500_000,
            uart: MmioWithSpi {
                base: 0x0900_0000,
                size: 0x1000,
                spi: 1,
            },
            rtc: MmioWithSpi {
                base: 0x0901_0000,
                size: 0x1000,
                spi: 2,
            },
            virtio: (0..4)
                .map(|i| MmioWithSpi {
                    base: 0x0a00_0000 + i * 0x200,
                    size: 0x200,
                    spi: 16 + i as u32,
                })
                .collect(),
            psci_method: "hvc",
            bootargs: "console=ttyAMA0".into(),
            initrd: Some((0x4800_0000, 0x4810_0000)),
            rng_seed: [7; 32],
            kaslr_seed: 0x1234_5678_9abc_def0,
            flash: None,
        }
    }

    #[test]
    fn tree_has_header_and_names_every_device() {
        let dtb = build(&sample(
            GicKind::V2 {
                dist: (0x0800_0000, 0x10000),
                cpu: (0x0801_0000, 0x10000),
            },
            2,
        ))
        .unwrap();
        assert_eq!(&dtb[..4], &[0xd0, 0x0d, 0xfe, 0xed], "FDT magic");
        let text = String::from_utf8_lossy(&dtb);
        for needle in [
            "cpu@1",
            "arm,cortex-a15-gic",
            "pl011@9000000",
            "pl031@9010000",
            "virtio_mmio@a000600",
            "console=ttyAMA0",
            "arm,psci-1.0",
        ] {
            assert!(text.contains(needle), "missing {needle}");
        }
        let v3 = build(&sample(
            GicKind::V3 {
                dist: (0x0800_0000, 0x10000),
                redist: (0x080a_0000, 0x40000),
            },
            2,
        ))
        .unwrap();
        assert!(String::from_utf8_lossy(&v3).contains("arm,gic-v3"));
    }
}
