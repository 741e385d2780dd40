//! Test harness for the Advanced SIMD executor.
//!
//! A [`Case`] is one instruction run from a pseudo-random initial state (V0-V31,
//! X0-X30, SP and a 256-byte buffer at [`BUF`]) made by [`Machine::new`] (see
//! `crate::testkit`) from a seed, with optional register overrides. The expected
//! results, the registers and buffer words that changed and FPSR.QC, were produced
//! by running the same instruction from the same state under qemu-aarch64 (QEMU 7.2,
//! user mode, `-cpu max` default) with a small harness program that loads the
//! state, executes the word and dumps the state (`reference/`, see its README); the
//! generator of `testkit` and the harness driver's are the same algorithm.
//! Everything not listed must stay unchanged.
//!
//! Bulk random comparison with the reference harness (`simd_gen`, `simd_ref`) is the
//! crate's integration test `tests/simd_bulk.rs`.

use crate::decode::decode;
use crate::exception::Exception;
use crate::exec::{execute, Flow};
use crate::state::fpsr;
pub use crate::testkit::*;

/// One instruction and its reference results.
pub struct Case {
    pub asm: &'static str,
    pub word: u32,
    pub seed: u64,
    /// Registers set after generating the state from `seed` (e.g. base addresses).
    pub set: &'static [(Reg, u128)],
    /// Registers whose values changed, with their new values.
    pub out: &'static [(Reg, u128)],
    /// FPSR.QC after the instruction (it starts clear).
    pub qc: bool,
    /// Doublewords of the buffer that changed: (offset, new value).
    pub mem: &'static [(u64, u64)],
}

/// An instruction the reference rejects with SIGILL: must be UNDEFINED here.
pub const fn undef(asm: &'static str, word: u32) -> (&'static str, u32) {
    (asm, word)
}

/// Runs every case and reports all mismatches at once.
pub fn run_cases(cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        if let Err(e) = run_case(c) {
            failures.push(format!(
                "{} ({:#010x}, seed {}): {e}",
                c.asm, c.word, c.seed
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn run_case(c: &Case) -> Result<(), String> {
    let mut m = Machine::new(c.seed);
    for &(r, v) in c.set {
        m.set(r, v);
    }
    let mut expect = Machine::new(c.seed);
    for &(r, v) in c.set.iter().chain(c.out) {
        expect.set(r, v);
    }
    let mut expect_buf = m.buffer();
    for &(off, v) in c.mem {
        expect_buf[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
    }
    match m.step(c.word) {
        Ok(Flow::Next) => {}
        Ok(_) => return Err("did not continue to the next instruction".into()),
        Err(e) => return Err(format!("raised {e:?}")),
    }
    let mut diffs = Vec::new();
    let regs = (0..32).map(V).chain((0..31).map(X)).chain([Sp]);
    for r in regs {
        let (got, want) = (m.get(r), expect.get(r));
        if got != want {
            diffs.push(format!("{r:?} = {got:#x}, expected {want:#x}"));
        }
    }
    let qc = m.cpu.regs.fpsr & fpsr::QC != 0;
    if qc != c.qc || m.cpu.regs.fpsr & !fpsr::QC != 0 {
        diffs.push(format!(
            "FPSR = {:#x}, expected QC {}",
            m.cpu.regs.fpsr, c.qc
        ));
    }
    let buf = m.buffer();
    for off in (0..BUF_LEN).step_by(8) {
        if buf[off..off + 8] != expect_buf[off..off + 8] {
            diffs.push(format!(
                "BUF+{off:#x} = {:#018x}, expected {:#018x}",
                u64::from_le_bytes(buf[off..off + 8].try_into().unwrap()),
                u64::from_le_bytes(expect_buf[off..off + 8].try_into().unwrap())
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// Every word must raise the Undefined Instruction exception.
pub fn check_undef(cases: &[(&'static str, u32)]) {
    let mut m = Machine::new(1);
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(asm, w)| match m.step(w) {
            Err(Exception::Undefined) => None,
            _ => Some(format!("{asm} ({w:#010x})")),
        })
        .collect();
    assert!(bad.is_empty(), "not UNDEFINED: {}", bad.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator matches the reference driver's: values printed by
    /// `reference/ref.py`'s `state(1)`.
    #[test]
    fn generator_matches_reference() {
        let m = Machine::new(1);
        assert_eq!(m.cpu.regs.v[0], 0x8000000000000000beeb8da1658eec67);
        assert_eq!(m.cpu.regs.v[31], 0xb5c1a86ff40ff011d3c4d30994a2fb8d);
        assert_eq!(m.cpu.regs.x[0], 0x1);
        assert_eq!(m.cpu.regs.x[30], 0x6f623889546ec486);
        let buf = m.buffer();
        assert_eq!(&buf[..4], &[0x31, 0x12, 0x19, 0x04]);
        assert_eq!(buf[255], 252);
    }
}

#[cfg(test)]
mod fp_trap {
    use super::*;

    /// Every SIMD instruction checks CPACR_EL1.FPEN first (EC 0x07 when trapped),
    /// before it reads a register or touches memory.
    #[test]
    fn simd_instructions_trap_when_fp_disabled() {
        let words = [
            0x4e228420, // add v0.16b, v1.16b, v2.16b
            0x4c407020, // ld1 {v0.16b}, [x1]
            0x0e0a3c83, // umov w3, v4.h[2]
            0x4f000400, // movi v0.4s, #0
        ];
        for w in words {
            let mut m = Machine::new(3);
            m.cpu.sys.cpacr = 0;
            let before = m.cpu.regs.clone();
            assert!(matches!(m.step(w), Err(Exception::FpAccess)), "{w:#010x}");
            assert!(m.cpu.regs == before);
            // FPEN = 01 traps EL0 only.
            m.cpu.sys.cpacr = 1 << 20;
            m.cpu.regs.el = 0;
            assert!(matches!(m.step(w), Err(Exception::FpAccess)), "{w:#010x}");
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Rough cost per instruction, run by hand:
    /// `cargo test --release -p armvm-cpu -- --ignored simd_timing --nocapture`.
    #[test]
    #[ignore]
    fn simd_timing() {
        let words: &[(&str, u32)] = &[
            ("add x0, x1, x2 (base ISA)", 0x8b020020),
            ("add v0.16b, v1.16b, v2.16b", 0x4e228420),
            ("cmeq v0.16b, v1.16b, v2.16b", 0x6e228c20),
            ("eor v0.16b, v1.16b, v2.16b", 0x6e221c20),
            ("uminv b0, v1.16b", 0x6e31a820),
            ("umaxp v0.16b, v1.16b, v2.16b", 0x6e22a420),
            ("shrn v0.8b, v1.8h, #4", 0x0f0c8420),
            ("sqadd v0.8h, v1.8h, v2.8h", 0x4e620c20),
            ("dup v0.16b, w1", 0x4e010c20),
            ("ld1 {v0.16b}, [x1]", 0x4c407020),
            ("st1 {v0.16b, v1.16b}, [x1]", 0x4c00a020),
            ("ld4 {v0.16b-v3.16b}, [x1]", 0x4c400020),
            ("tbl v0.16b, {v1.16b}, v2.16b", 0x4e020020),
        ];
        let only = std::env::var("SIMD_TIMING_ONLY").unwrap_or_default();
        for &(asm, w) in words.iter().filter(|(a, _)| a.contains(only.as_str())) {
            let mut m = Machine::new(1);
            m.set(X(1), buf(0x10));
            let insn = decode(w);
            let n = 2_000_000;
            let t = std::time::Instant::now();
            for _ in 0..n {
                let _ = execute(&mut m.cpu, &mut m.mem, insn);
            }
            let ns = t.elapsed().as_nanos() as f64 / n as f64;
            println!("{asm:36} {ns:6.1} ns");
        }
    }
}
