//! Tests of the FP instructions, run through the decoder and the executor.
//!
//! Expected values are results of real AArch64 code run under `qemu-aarch64` (QEMU
//! 7.2, user mode): `cpu/tools/fp_directed.py` assembles each directed case, runs it
//! and writes [`cases`]; each case sets V0-V3, X0-X1, NZCV and FPCR, clears FPSR,
//! executes one instruction and records V0-V3, X0-X1, NZCV and FPSR.
//! `cpu/tools/fp_vectors.py` makes large random vector files for
//! [`qemu_vector_file`].

mod cases;

use crate::cpu::{Cpu, Platform};
use crate::decode::{decode, Op};
use crate::memory::{BusError, PhysMemory};

/// A platform with no memory: FP instructions never touch it.
struct NoMemory;

impl PhysMemory for NoMemory {
    fn ram_page(&mut self, _pa: u64) -> Option<*mut u8> {
        None
    }
    fn mmio_read(&mut self, _: usize, pa: u64, _size: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, _: usize, pa: u64, _size: u8, _value: u64) -> Result<(), BusError> {
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
    assert!(
        matches!(insn.op, Op::Fp(_)),
        "{word:#010x} is not an FP row"
    );
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
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
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

/// A directed case (see `cases.rs`).
pub struct Case {
    pub asm: &'static str,
    pub word: u32,
    pub fpcr: u32,
    pub nzcv: u32,
    pub v: [u128; 4],
    pub x: [u64; 2],
    pub out_v: [u128; 4],
    pub out_x: [u64; 2],
    pub out_nzcv: u32,
    pub out_fpsr: u32,
}

#[test]
fn directed_cases_match_qemu() {
    let mut bad = Vec::new();
    for k in cases::CASES {
        let mut s = State {
            v: [0; 8],
            x: [0; 8],
            nzcv: k.nzcv,
            fpsr: 0,
        };
        s.v[..4].copy_from_slice(&k.v);
        s.x[..2].copy_from_slice(&k.x);
        let mut want = s.clone();
        want.v[..4].copy_from_slice(&k.out_v);
        want.x[..2].copy_from_slice(&k.out_x);
        want.nzcv = k.out_nzcv;
        want.fpsr = k.out_fpsr;
        let got = run(k.word, k.fpcr, &s);
        if got != want {
            bad.push(format!(
                "{} (fpcr {:#x}): want v0={:#034x} x0={:#x} nzcv={:#x} fpsr={:#x}, got v0={:#034x} x0={:#x} nzcv={:#x} fpsr={:#x}",
                k.asm, k.fpcr, want.v[0], want.x[0], want.nzcv, want.fpsr, got.v[0], got.x[0], got.nzcv, got.fpsr
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases differ:\n{}",
        bad.len(),
        cases::CASES.len(),
        bad.join("\n")
    );
}

/// Every directed case's instruction decodes to an FP row, and the cases cover every
/// row kind of the table.
#[test]
fn directed_cases_cover_every_op() {
    use crate::decode::a64_fp::FP;
    let seen: std::collections::HashSet<Op> =
        cases::CASES.iter().map(|k| decode(k.word).op).collect();
    let missing: Vec<&str> = FP
        .iter()
        .filter(|e| !seen.contains(&e.op))
        .map(|e| e.title)
        .collect();
    assert!(missing.is_empty(), "no directed case for {missing:?}");
}

/// Encodings of features armvm does not advertise, and reserved forms, stay
/// unallocated (words from aarch64-linux-gnu-as / the ARM ARM encoding tables).
#[test]
fn unadvertised_and_reserved_encodings_are_unallocated() {
    let cases: &[(u32, &str)] = &[
        (0x1ee2_2820, "fadd h0, h1, h2 (FEAT_FP16)"),
        (0x1e7e_0020, "fjcvtzs w0, d1 (FEAT_JSCVT)"),
        (0x4e42_1420, "fadd v0.8h, v1.8h, v2.8h (FEAT_FP16)"),
        (0x4e22_ec20, "fmlal v0.4s, v1.4h, v2.4h (FEAT_FHM)"),
        (0x6e82_e420, "fcadd v0.4s, v1.4s, v2.4s, #90 (FEAT_FCMA)"),
        (0x1e28_4020, "frint32z s0, s1 (FEAT_FRINTTS)"),
        (0x0e62_d420, "fadd v0.1d: sz=1 with Q=0 is reserved"),
        (0x5e30_d820, "faddp h0, v1.2h (FEAT_FP16)"),
        (0x6e70_c820, "fmaxnmv with sz=1 is reserved"),
        (0x1e22_4020, "fcvt s0, s1: opc == ftype is reserved"),
        (0x1ea2_2820, "fadd with ftype=10 is unallocated"),
        (
            0x1e02_0020,
            "scvtf s0, w1, #fbits with scale<5> == 0 in 32-bit",
        ),
        (0x0fc0_9020, "fmul by element, double with Q=0, is reserved"),
        (0x4fe0_9020, "fmul by element, double with L=1, is reserved"),
    ];
    for &(word, what) in cases {
        assert_eq!(decode(word).op, Op::Unallocated, "{word:#010x} {what}");
    }
}

/// With CPACR_EL1.FPEN trapping, every FP instruction takes the FP access trap.
#[test]
fn fp_instructions_check_cpacr() {
    for (k, fpen) in cases::CASES.iter().zip([0u64, 1, 2].iter().cycle()) {
        let mut cpu = Cpu::new(0);
        cpu.regs.el = 0;
        cpu.sys.cpacr = fpen << 20;
        let r = super::super::execute(&mut cpu, &mut NoMemory, decode(k.word));
        assert!(
            matches!(r, Err(crate::exception::Exception::FpAccess)),
            "{} did not trap",
            k.asm
        );
    }
}

/// Rough cost of the soft-float routines (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn soft_float_speed() {
    use super::soft::{self, Fmt, Fpc};
    let mut c = Fpc::new(0);
    let mut x: u64 = 0x3ff0_0000_0000_0001;
    let n = 2_000_000u32;
    let vals: Vec<u64> = (0..1024u64)
        .map(|k| 0x3fe0_0000_0000_0000 + k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (1 << 53))
        .collect();
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::add(&mut c, Fmt::D, vals[k & 1023], vals[(k + 7) & 1023]) ^ (x & 1);
    }
    eprintln!("add: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::mul(&mut c, Fmt::D, vals[k & 1023], vals[(k + 7) & 1023]) ^ (x & 1);
    }
    eprintln!("mul: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::mul_add(
            &mut c,
            Fmt::D,
            vals[k & 1023],
            vals[(k + 3) & 1023],
            vals[(k + 7) & 1023],
        ) ^ (x & 1);
    }
    eprintln!("fma: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::div(&mut c, Fmt::D, vals[k & 1023], vals[(k + 7) & 1023]) ^ (x & 1);
    }
    eprintln!("div: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::sqrt(&mut c, Fmt::D, vals[k & 1023]) ^ (x & 1);
    }
    eprintln!("sqrt: {:?}/op", t.elapsed() / n);
    let t = std::time::Instant::now();
    for k in 0..n as usize {
        x = soft::from_fixed(
            &mut c,
            Fmt::D,
            vals[k & 1023],
            64,
            0,
            false,
            soft::Rounding::TieEven,
        ) ^ (x & 1);
    }
    eprintln!("scvtf: {:?}/op", t.elapsed() / n);
    assert!(x != 1);
}
