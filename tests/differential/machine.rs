//! Runs a test executable on armvm's CPU, as a user-mode process would run.
//!
//! The ELF's segments are copied into RAM and identity-mapped by a stage-1 table
//! (4 KiB pages, Normal write-back memory): code read-only and executable at EL0,
//! data read-write and not executable, so EL0 sees what a Linux process sees, and
//! unaligned accesses are allowed as on Normal memory. The CPU starts at EL0 at the
//! ELF entry. Every vector of VBAR_EL1 holds `HVC #0`, so any exception from EL0
//! comes back to this file as `Exit::Hvc`: an SVC is a system call (`write` and
//! `exit` are emulated), anything else is handled as the guest's signal handler
//! handles the signal Linux would send (see `elf.rs`).

use armvm_cpu::sysreg::sctlr;
use armvm_cpu::{Cpu, Exit, Ram};

use crate::asm::HVC0;
use crate::case::Outcome;
use crate::elf::{
    Image, CODE_BASE, DATA_BASE, OFF_RESUME, OFF_SIGADDR, OFF_SIGNAL, OUT_OFF, RECORD_LEN,
    SYS_EXIT, SYS_RT_SIGACTION, SYS_SIGALTSTACK, SYS_WRITE,
};

const RAM_SIZE: u64 = 64 << 20;
/// Translation tables are allocated from here.
const TABLES: u64 = 0x10_0000;
const VECTORS: u64 = 0x20_0000;

struct Board {
    ram: Ram,
}

impl Board {
    fn write64(&mut self, pa: u64, v: u64) {
        self.ram
            .slice_mut(pa, 8)
            .expect("table inside RAM")
            .copy_from_slice(&v.to_le_bytes());
    }
    fn read64(&self, pa: u64) -> u64 {
        u64::from_le_bytes(self.ram.slice(pa, 8).unwrap().try_into().unwrap())
    }
}

/// Descriptor bits (VMSAv8-64 stage 1, 4 KiB granule).
const VALID_TABLE: u64 = 0b11;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 0b11 << 8;
const AP_EL1_RW: u64 = 0b00 << 6;
const AP_ALL_RW: u64 = 0b01 << 6;
const AP_ALL_RO: u64 = 0b11 << 6;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;

/// Identity-maps the page at `va` with the leaf attributes `attrs` (AttrIndx 0).
fn map_page(b: &mut Board, next_table: &mut u64, va: u64, attrs: u64) {
    let mut table = TABLES;
    // T0SZ=25: a 39-bit space starting at level 1.
    for shift in [30u32, 21] {
        let slot = table + ((va >> shift) & 511) * 8;
        let desc = b.read64(slot);
        table = if desc & 3 == VALID_TABLE {
            desc & 0x0000_ffff_ffff_f000
        } else {
            *next_table += 0x1000;
            b.write64(slot, *next_table | VALID_TABLE);
            *next_table
        };
    }
    let slot = table + ((va >> 12) & 511) * 8;
    b.write64(slot, (va & !0xfff) | attrs | AF | SH_INNER | VALID_TABLE);
}

/// What a run produced: one record per case; or a harness error (hang, unexpected
/// system call).
pub fn run(img: &Image, n_cases: usize) -> Result<Vec<Outcome>, String> {
    let ram = Ram::new(0, RAM_SIZE).map_err(|e| format!("armvm RAM: {e}"))?;
    let mut b = Board { ram };
    let code_end = CODE_BASE + img.code_len as u64;
    let data_end = DATA_BASE + img.data_len as u64;
    if data_end > RAM_SIZE {
        return Err("batch too large for the armvm RAM".into());
    }
    b.ram
        .slice_mut(CODE_BASE, img.code_len)
        .unwrap()
        .copy_from_slice(&img.file[..img.code_len]);
    b.ram
        .slice_mut(DATA_BASE, img.data_len)
        .unwrap()
        .copy_from_slice(&img.file[img.data_off..img.data_off + img.data_len]);
    for off in (0..0x800).step_by(4) {
        b.ram
            .slice_mut(VECTORS + off, 4)
            .unwrap()
            .copy_from_slice(&HVC0.to_le_bytes());
    }
    let mut next_table = TABLES;
    for va in (CODE_BASE..code_end).step_by(0x1000) {
        map_page(&mut b, &mut next_table, va, AP_ALL_RO | PXN);
    }
    for va in (DATA_BASE..data_end).step_by(0x1000) {
        map_page(&mut b, &mut next_table, va, AP_ALL_RW | PXN | UXN);
    }
    map_page(&mut b, &mut next_table, VECTORS, AP_EL1_RW | UXN);

    let mut cpu = Cpu::new(0);
    cpu.sys.mair = 0xff; // Attr0: Normal, write-back
    cpu.sys.tcr = 25 // T0SZ: 39-bit addresses
        | (0b01 << 8) | (0b01 << 10) | (0b11 << 12) // IRGN0, ORGN0, SH0
        | (1 << 23) // EPD1: no TTBR1 walks
        | (0b101 << 32) // IPS: 48 bits
        | (1 << 37); // TBI0: top byte ignored, as Linux sets for user space
    cpu.sys.ttbr0 = TABLES;
    cpu.sys.sctlr = sctlr::RES1
        | sctlr::M
        | sctlr::C
        | sctlr::I
        | sctlr::DZE
        | sctlr::UCT
        | sctlr::NTWI
        | sctlr::NTWE
        | sctlr::UCI;
    cpu.sys.cpacr = 0b11 << 20;
    cpu.sys.vbar = VECTORS;
    cpu.regs.el = 0;
    cpu.regs.sp_sel = 0;
    cpu.regs.daif = 0;
    cpu.regs.pc = img.entry;

    let mut out = Vec::new();
    // Each case runs about 110 instructions of harness and at most a few dozen of its own.
    let limit = 10_000 + 1_000 * n_cases as u64;
    loop {
        match cpu.run(&mut b.ram, 1_000_000) {
            Exit::Hvc(0) => {}
            Exit::BudgetSpent => {
                if cpu.icount > limit {
                    return Err(format!(
                        "armvm: no exit after {} instructions (pc {:#x}, case {})",
                        cpu.icount,
                        cpu.regs.pc,
                        out.len()
                    ));
                }
                continue;
            }
            other => {
                return Err(format!(
                    "armvm: unexpected exit {other:?} at pc {:#x}, case {}",
                    cpu.regs.pc,
                    out.len()
                ))
            }
        }
        let esr = cpu.sys.esr;
        let ec = (esr >> 26) & 0x3f;
        if ec != 0x15 {
            // What the guest's signal handler does under qemu: note the signal and
            // the fault address in the case's output block, write the record, and
            // resume at the next case.
            let iss = esr & 0x1ff_ffff;
            let (signal, addr) = match ec {
                0x24 | 0x25 if iss & 0x3f == 0x21 => (7, cpu.sys.far), // alignment
                0x20 | 0x21 | 0x24 | 0x25 => (11, cpu.sys.far),
                0x22 => (7, cpu.sys.far),
                0x26 => (7, cpu.sys.elr),
                0x3c => (5, cpu.sys.elr),
                _ => (4, cpu.sys.elr),
            };
            // Linux reports fault addresses without the TBI tag (bits 63:56 of a
            // lower-half address), and so does qemu.
            let addr = if matches!(signal, 7 | 11) && addr & (1 << 55) == 0 {
                addr & 0x00ff_ffff_ffff_ffff
            } else {
                addr
            };
            let state = b.read64(img.current);
            let out_block = state + OUT_OFF;
            b.write64(out_block + OFF_SIGNAL as u64, signal);
            b.write64(out_block + OFF_SIGADDR as u64, addr);
            let bytes = b.ram.slice(out_block, RECORD_LEN).ok_or_else(|| {
                format!(
                    "armvm: fault in a case with no state block (pc {:#x})",
                    cpu.sys.elr
                )
            })?;
            out.push(Outcome::Record(bytes.to_vec()));
            cpu.sys.elr = b.read64(state + OFF_RESUME);
            cpu.exception_return();
            continue;
        }
        let x = &cpu.regs.x;
        match x[8] {
            SYS_WRITE => {
                let (fd, buf, len) = (x[0], x[1], x[2] as usize);
                if fd != 1 || len != RECORD_LEN {
                    return Err(format!("armvm: unexpected write({fd}, {buf:#x}, {len})"));
                }
                let bytes = b
                    .ram
                    .slice(buf, len)
                    .ok_or_else(|| format!("armvm: write buffer {buf:#x} outside RAM"))?;
                out.push(Outcome::Record(bytes.to_vec()));
                cpu.regs.x[0] = len as u64;
            }
            SYS_EXIT => return Ok(out),
            // The handler set-up: nothing to do here, faults are handled above.
            SYS_SIGALTSTACK | SYS_RT_SIGACTION => cpu.regs.x[0] = 0,
            nr => return Err(format!("armvm: unexpected system call {nr}")),
        }
        cpu.exception_return();
    }
}
