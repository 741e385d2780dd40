//! Registers as gdb sees them: gdbstub_arch's AArch64 layout (x0-x30, sp, pc, cpsr,
//! v0-v31, fpsr, fpcr) and its system registers, named in the target description by
//! their MRS encoding.

use armvm_cpu::memory::{BusError, PhysMemory};
use armvm_cpu::state::{fpcr, DAIF_A, DAIF_D, DAIF_F, DAIF_I};
use armvm_cpu::sysreg::{self as sr};
use armvm_cpu::{Cpu, Platform};
use gdbstub::arch::Arch;
use gdbstub_arch::aarch64::reg::id::AArch64RegId;
use gdbstub_arch::aarch64::reg::AArch64CoreRegs;
use gdbstub_arch::aarch64::AArch64;

/// FPSR bits that exist (cumulative flags and QC, NZCV of AArch32 kept for symmetry
/// with MSR FPSR).
const FPSR_MASK: u32 = 0xf800_009f;

/// Reads the core registers of `cpu`.
pub fn read_core(cpu: &Cpu, regs: &mut AArch64CoreRegs) {
    let r = &cpu.regs;
    regs.x.copy_from_slice(&r.x[..31]);
    regs.sp = r.sp();
    regs.pc = r.pc;
    regs.cpsr = r.spsr() as u32;
    regs.v = r.v;
    // gdbstub_arch 0.3 serializes the `g` packet as ..., fpcr, fpsr while its target
    // description numbers fpsr (66) before fpcr (67), and gdb lays the packet out by
    // number: the two fields are swapped here so that gdb sees each in its place.
    regs.fpcr = r.fpsr;
    regs.fpsr = r.fpcr;
}

/// Writes the core registers of `cpu` (PSTATE first, so that SP lands in the bank
/// the new PSTATE selects).
pub fn write_core(cpu: &mut Cpu, regs: &AArch64CoreRegs) {
    write_pstate(cpu, regs.cpsr as u64);
    let r = &mut cpu.regs;
    r.x[..31].copy_from_slice(&regs.x);
    r.set_sp(regs.sp);
    r.pc = regs.pc;
    r.v = regs.v;
    // Swapped: see `read_core`.
    r.fpsr = regs.fpcr & FPSR_MASK;
    r.fpcr = regs.fpsr & fpcr::WRITABLE;
}

/// Sets PSTATE from a value in SPSR format: flags, DAIF, and the mode if it is one
/// armvm has (EL0t, EL1t, EL1h); other modes leave EL and SPSel as they were.
pub fn write_pstate(cpu: &mut Cpu, v: u64) {
    let r = &mut cpu.regs;
    r.nzcv = (v as u32) & 0xf000_0000;
    r.daif = (v as u32) & (DAIF_D | DAIF_A | DAIF_I | DAIF_F);
    r.il = ((v >> 20) & 1) as u8;
    r.ss = ((v >> 21) & 1) as u8;
    match v & 0x1f {
        0b00000 => r.el = 0,
        0b00100 => (r.el, r.sp_sel) = (1, 0),
        0b00101 => (r.el, r.sp_sel) = (1, 1),
        _ => {}
    }
}

/// SP_EL1 (op0=3, op1=4: reachable by MRS only from EL2, but the debugger shows it).
const SP_EL1: u32 = sr::key(3, 4, 4, 1, 0);

/// Reads one register into `buf`; returns the bytes written, 0 if it does not exist.
pub fn read_one(cpu: &mut Cpu, plat: &mut dyn Platform, id: AArch64RegId, buf: &mut [u8]) -> usize {
    let r = &cpu.regs;
    let bytes: Vec<u8> = match id {
        AArch64RegId::X(n) if n < 31 => r.x[n as usize].to_le_bytes().to_vec(),
        AArch64RegId::Sp => r.sp().to_le_bytes().to_vec(),
        AArch64RegId::Pc => r.pc.to_le_bytes().to_vec(),
        AArch64RegId::Pstate => (r.spsr() as u32).to_le_bytes().to_vec(),
        AArch64RegId::V(n) if n < 32 => r.v[n as usize].to_le_bytes().to_vec(),
        // Only gdb's 32-bit fpsr/fpcr (numbers 66, 67) map here: the description
        // has no 64-bit FPSR/FPCR.
        AArch64RegId::System(k) if k as u32 == sr::FPSR => r.fpsr.to_le_bytes().to_vec(),
        AArch64RegId::System(k) if k as u32 == sr::FPCR => r.fpcr.to_le_bytes().to_vec(),
        AArch64RegId::System(k) => match read_sysreg(cpu, plat, k as u32) {
            Some(v) => v.to_le_bytes().to_vec(),
            None => return 0,
        },
        _ => return 0,
    };
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    n
}

/// Writes one register from little-endian `val` (shorter values are zero-extended);
/// false if it does not exist or cannot be written.
pub fn write_one(cpu: &mut Cpu, plat: &mut dyn Platform, id: AArch64RegId, val: &[u8]) -> bool {
    if val.len() > 16 {
        return false;
    }
    let mut b = [0u8; 16];
    b[..val.len()].copy_from_slice(val);
    let v128 = u128::from_le_bytes(b);
    let v = v128 as u64;
    let r = &mut cpu.regs;
    match id {
        AArch64RegId::X(n) if n < 31 => r.x[n as usize] = v,
        AArch64RegId::Sp => r.set_sp(v),
        AArch64RegId::Pc => r.pc = v,
        AArch64RegId::V(n) if n < 32 => r.v[n as usize] = v128,
        AArch64RegId::Pstate => write_pstate(cpu, v),
        AArch64RegId::System(k) => return write_sysreg(cpu, plat, k as u32, v),
        _ => return false,
    }
    true
}

/// A system register by encoding, for the debugger (no traps, no device side effects).
pub fn read_sysreg(cpu: &mut Cpu, plat: &mut dyn Platform, k: u32) -> Option<u64> {
    if k == SP_EL1 {
        return Some(cpu.regs.sp_el[1]);
    }
    cpu.debugger_read_sysreg(plat, k)
}

pub fn write_sysreg(cpu: &mut Cpu, plat: &mut dyn Platform, k: u32, v: u64) -> bool {
    if k == SP_EL1 {
        cpu.regs.sp_el[1] = v;
        return true;
    }
    cpu.debugger_write_sysreg(plat, k, v)
}

/// A platform with nothing behind it, to find out which system registers the CPU
/// itself implements.
struct Probe;

impl PhysMemory for Probe {
    fn ram_page(&mut self, _: u64) -> Option<*mut u8> {
        None
    }
    fn mmio_read(&mut self, _: usize, pa: u64, _: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, _: usize, pa: u64, _: u8, _: u64) -> Result<(), BusError> {
        Err(BusError(pa))
    }
}

impl Platform for Probe {
    fn counter(&mut self) -> u64 {
        0
    }
    fn counter_frequency(&self) -> u64 {
        1
    }
}

/// gdbstub_arch's target description, with only the system registers armvm
/// implements (the crate lists some 870, most of which do not exist here), and
/// without its 64-bit FPSR/FPCR duplicates of the 32-bit fpsr/fpcr.
pub fn target_xml() -> &'static str {
    static XML: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    XML.get_or_init(build_target_xml)
}

fn build_target_xml() -> String {
    let full = AArch64::target_description_xml().unwrap_or_default();
    let mut cpu = Cpu::new(0);
    let mut out = String::with_capacity(full.len() / 4);
    for line in full.split_inclusive('\n') {
        if let Some(k) = sysreg_regnum(line) {
            let dup = k == sr::FPSR || k == sr::FPCR;
            if dup || read_sysreg(&mut cpu, &mut Probe, k).is_none() {
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// The `regnum` of a system-register line of the description.
fn sysreg_regnum(line: &str) -> Option<u32> {
    if !line.contains("group=\"system\"") {
        return None;
    }
    let rest = &line[line.find("regnum=\"")? + 8..];
    rest[..rest.find('"')?].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_keeps_core_and_implemented_system_registers() {
        let xml = target_xml();
        for needle in [
            "org.gnu.gdb.aarch64.core",
            "org.gnu.gdb.aarch64.fpu",
            "name=\"cpsr\"",
            "name=\"v31\"",
            "name=\"SCTLR_EL1\"",
            "name=\"TTBR1_EL1\"",
            "name=\"VBAR_EL1\"",
            "name=\"SP_EL0\"",
            "name=\"SP_EL1\"",
            "name=\"ESR_EL1\"",
            "</target>",
        ] {
            assert!(xml.contains(needle), "missing {needle}");
        }
        for absent in ["name=\"ZCR_EL1\"", "name=\"HCR_EL2\"", "name=\"FPSR\""] {
            assert!(!xml.contains(absent), "{absent} should be filtered out");
        }
        let kept = xml.matches("group=\"system\"").count();
        assert!((30..200).contains(&kept), "{kept} system registers");
    }

    #[test]
    fn core_registers_round_trip() {
        let mut cpu = Cpu::new(0);
        cpu.regs.x[5] = 0x1234;
        cpu.regs.fpsr = 0x1f;
        cpu.regs.fpcr = 1 << 24;
        cpu.regs.nzcv = 0x6000_0000;
        let mut regs = AArch64CoreRegs::default();
        read_core(&cpu, &mut regs);
        assert_eq!(regs.cpsr, 0x6000_03c5, "EL1h, DAIF masked, Z and C");
        let mut other = Cpu::new(1);
        write_core(&mut other, &regs);
        assert_eq!(other.regs, cpu.regs);
        // EL0t in cpsr switches to EL0 and SP_EL0.
        regs.cpsr = 0;
        regs.sp = 0x8000;
        write_core(&mut other, &regs);
        assert_eq!((other.regs.el, other.regs.sp_el[0]), (0, 0x8000));
    }

    #[test]
    fn system_registers_by_encoding() {
        let mut cpu = Cpu::new(0);
        let vbar = AArch64RegId::System(sr::VBAR_EL1 as u16);
        assert!(write_one(
            &mut cpu,
            &mut Probe,
            vbar,
            &0x4008_0800u64.to_le_bytes()
        ));
        assert_eq!(cpu.sys.vbar, 0x4008_0800);
        let mut buf = [0u8; 8];
        assert_eq!(read_one(&mut cpu, &mut Probe, vbar, &mut buf), 8);
        assert_eq!(u64::from_le_bytes(buf), 0x4008_0800);
        // SP_EL0 is readable while it is the current stack pointer, and at EL0.
        cpu.regs.sp_sel = 0;
        cpu.regs.sp_el[0] = 77;
        assert_eq!(read_sysreg(&mut cpu, &mut Probe, sr::SP_EL0), Some(77));
        cpu.regs.el = 0;
        assert_eq!(read_sysreg(&mut cpu, &mut Probe, sr::TTBR0_EL1), Some(0));
        assert_eq!(cpu.regs.el, 0, "EL restored");
        let hcr = AArch64RegId::System(sr::key(3, 4, 1, 1, 0) as u16);
        assert_eq!(read_one(&mut cpu, &mut Probe, hcr, &mut buf), 0);
    }
}
