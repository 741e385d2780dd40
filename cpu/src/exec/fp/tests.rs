//! Tests of the FP instructions, run through the decoder and the executor.
//!
//! Expected values are results of real AArch64 code run under `qemu-aarch64` (QEMU
//! 7.2, user mode), recorded by the vector generator described in
//! `docs`-less form here: each case sets V0-V7, X0-X7, NZCV and FPCR, clears FPSR,
//! executes one instruction word and records V0-V7, X0-X7, NZCV and FPSR.

use crate::cpu::{Cpu, Platform};
use crate::decode::{decode, Op};
use crate::memory::{BusError, PhysMemory};

/// A platform with no memory: FP instructions never touch it.
struct NoMemory;

impl PhysMemory for NoMemory {
    fn ram_page(&mut self, _pa: u64) -> Option<*mut u8> {
        None
    }
    fn mmio_read(&mut self, pa: u64, _size: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, pa: u64, _size: u8, _value: u64) -> Result<(), BusError> {
        Err(BusError(pa))
    }
}

impl Platform for NoMemory {
    fn counter(&mut self) -> u64 {
        0
    }
    fn counter_frequency(&self) -> u64 {
        1
    }
}

/// Architectural state a case sets up and checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub v: [u128; 8],
    pub x: [u64; 8],
    pub nzcv: u32,
    pub fpsr: u32,
}

/// Executes `word` with FPCR `fpcr` on state `s` (FPSR cleared first).
pub fn run(word: u32, fpcr: u32, s: &State) -> State {
    let mut cpu = Cpu::new(0);
    cpu.sys.cpacr = 3 << 20;
    cpu.regs.v[..8].copy_from_slice(&s.v);
    cpu.regs.x[..8].copy_from_slice(&s.x);
    cpu.regs.nzcv = s.nzcv;
    cpu.regs.fpcr = fpcr;
    cpu.regs.fpsr = 0;
    let insn = decode(word);
    assert!(matches!(insn.op, Op::Fp(_)), "{word:#010x} is not an FP row");
    let r = super::super::execute(&mut cpu, &mut NoMemory, insn);
    assert!(r.is_ok(), "{word:#010x} raised an exception");
    let mut out = State {
        v: [0; 8],
        x: [0; 8],
        nzcv: cpu.regs.nzcv,
        fpsr: cpu.regs.fpsr,
    };
    out.v.copy_from_slice(&cpu.regs.v[..8]);
    out.x.copy_from_slice(&cpu.regs.x[..8]);
    out
}

/// One line of a vector file written by the generator:
/// `word fpcr nzcv v0..v7 x0..x7 | v0..v7 x0..x7 nzcv fpsr`, all hex.
fn parse_line(line: &str) -> Option<(u32, u32, State, State)> {
    let mut it = line.split_whitespace();
    let h32 = |it: &mut std::str::SplitWhitespace| u32::from_str_radix(it.next()?, 16).ok();
    let word = h32(&mut it)?;
    let fpcr = h32(&mut it)?;
    let nzcv = h32(&mut it)?;
    let state = |it: &mut std::str::SplitWhitespace, nzcv: u32| -> Option<State> {
        let mut s = State {
            v: [0; 8],
            x: [0; 8],
            nzcv,
            fpsr: 0,
        };
        for v in s.v.iter_mut() {
            *v = u128::from_str_radix(it.next()?, 16).ok()?;
        }
        for x in s.x.iter_mut() {
            *x = u64::from_str_radix(it.next()?, 16).ok()?;
        }
        Some(s)
    };
    let input = state(&mut it, nzcv)?;
    if it.next()? != "|" {
        return None;
    }
    let mut output = state(&mut it, 0)?;
    output.nzcv = u32::from_str_radix(it.next()?, 16).ok()?;
    output.fpsr = u32::from_str_radix(it.next()?, 16).ok()?;
    Some((word, fpcr, input, output))
}

/// Compares every case of a vector file; returns the mismatches as text.
fn check_vectors(text: &str) -> (usize, Vec<String>) {
    let mut bad = Vec::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (word, fpcr, input, want) = parse_line(line).expect("malformed vector line");
        n += 1;
        let got = run(word, fpcr, &input);
        if got != want {
            bad.push(format!(
                "{word:#010x} fpcr={fpcr:#x} {:?}\n  in:   v={:032x?} x={:016x?} nzcv={:x}\n  want: v={:032x?} x={:016x?} nzcv={:x} fpsr={:x}\n  got:  v={:032x?} x={:016x?} nzcv={:x} fpsr={:x}",
                decode(word).op, input.v, input.x, input.nzcv, want.v, want.x, want.nzcv, want.fpsr,
                got.v, got.x, got.nzcv, got.fpsr
            ));
        }
    }
    (n, bad)
}

/// Random cases recorded from qemu-aarch64, from a file named by `ARMVM_FP_VECTORS`
/// (for development: many thousands of cases are too big to keep in the tree).
#[test]
#[ignore]
fn qemu_vector_file() {
    let path = std::env::var("ARMVM_FP_VECTORS").expect("set ARMVM_FP_VECTORS");
    let text = std::fs::read_to_string(path).expect("read vector file");
    let (n, bad) = check_vectors(&text);
    for b in bad.iter().take(30) {
        eprintln!("{b}");
    }
    assert!(bad.is_empty(), "{} of {n} cases differ", bad.len());
}
