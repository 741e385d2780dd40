//! Test harness for the Advanced SIMD executor.
//!
//! A [`Case`] is one instruction run from a pseudo-random initial state (V0-V31,
//! X0-X30, SP and a 256-byte buffer at [`BUF`]) made by [`State::new`] from a
//! seed, with optional register overrides. The expected results, the registers
//! and buffer words that changed and FPSR.QC, were produced by running the same
//! instruction from the same state under qemu-aarch64 (QEMU 7.2, user mode,
//! `-cpu max` default) with a small harness program that loads the state,
//! executes the word and dumps the state (`reference/`, see its README); the
//! generator here and the harness driver's are the same algorithm. Everything not
//! listed must stay unchanged.

use crate::cpu::Cpu;
use crate::decode::decode;
use crate::exception::Exception;
use crate::exec::{execute, Flow};
use crate::memory::Ram;
use crate::state::fpsr;
use crate::test_rng::Rng;

/// The data buffer, at the same address as in the reference harness.
pub const BUF: u64 = 0x3000_8000;
const BUF_LEN: usize = 256;

/// The address `BUF + offset`, as a register value.
pub const fn buf(offset: u128) -> u128 {
    BUF as u128 + offset
}
const RAM_BASE: u64 = 0x3000_0000;
const RAM_SIZE: u64 = 0x1_0000;

#[derive(Clone, Copy, Debug)]
pub enum Reg {
    V(usize),
    X(usize),
    Sp,
}
pub use Reg::*;

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

// The generator is splitmix64, as in the reference harness's driver.
impl Rng {
    /// A doubleword that is half the time uniformly random and half the time made
    /// of lanes of one size (8 to 64 bits) holding edge values: 0, 1, the signed
    /// maximum and minimum, all ones, small positive and negative numbers (shift
    /// counts), or random.
    fn value64(&mut self) -> u64 {
        let r = self.next();
        if r & 7 < 4 {
            return self.next();
        }
        let lane = 8u32 << ((r >> 3) & 3);
        let ones = u64::MAX >> (64 - lane);
        let mut v = 0u64;
        for k in 0..64 / lane {
            let c = self.next();
            let x = match c % 8 {
                0 => 0,
                1 => 1,
                2 => ones >> 1,
                3 => 1 << (lane - 1),
                4 => ones,
                5 => (c >> 8) % 70,
                6 => ((c >> 8) % 70).wrapping_neg(),
                _ => self.next(),
            };
            v |= (x & ones) << (k * lane);
        }
        v
    }
}

/// A test machine: one CPU at EL1 with FP enabled, MMU off, RAM around [`BUF`].
pub struct Machine {
    pub cpu: Cpu,
    pub mem: Ram,
}

impl Machine {
    /// The state the reference harness builds from `seed`.
    pub fn new(seed: u64) -> Machine {
        let mut cpu = Cpu::new(0);
        cpu.sys.cpacr = 3 << 20;
        let mut rng = Rng(seed);
        for v in cpu.regs.v.iter_mut() {
            let lo = rng.value64();
            let hi = rng.value64();
            *v = lo as u128 | ((hi as u128) << 64);
        }
        for x in cpu.regs.x[..31].iter_mut() {
            *x = rng.value64();
        }
        cpu.regs.set_sp(BUF + 0x80);
        let mut mem = Ram::new(RAM_BASE, RAM_SIZE).expect("test RAM");
        let buf = mem.slice_mut(BUF, BUF_LEN).expect("buffer inside RAM");
        for b in buf.iter_mut() {
            *b = rng.next() as u8;
        }
        Machine { cpu, mem }
    }

    pub fn set(&mut self, r: Reg, value: u128) {
        match r {
            V(n) => self.cpu.regs.v[n] = value,
            X(n) => self.cpu.regs.x[n] = value as u64,
            Sp => self.cpu.regs.set_sp(value as u64),
        }
    }

    pub fn get(&self, r: Reg) -> u128 {
        match r {
            V(n) => self.cpu.regs.v[n],
            X(n) => self.cpu.regs.x[n] as u128,
            Sp => self.cpu.regs.sp() as u128,
        }
    }

    pub fn buffer(&self) -> Vec<u8> {
        self.mem.slice(BUF, BUF_LEN).expect("buffer").to_vec()
    }

    /// Executes one instruction word.
    pub fn step(&mut self, word: u32) -> Result<Flow, Exception> {
        execute(&mut self.cpu, &mut self.mem, decode(word))
    }
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

/// Bulk differential testing against the reference harness, run by hand:
///
/// 1. `SIMD_GEN_OUT=cases.txt cargo test -p armvm-cpu -- --ignored simd_gen` writes
///    random words for every row of the SIMD table (with base registers pointed
///    into the buffer for the structure loads/stores), and random words from the
///    whole Advanced SIMD encoding space;
/// 2. `reference/bulk.py` runs them under qemu-aarch64 and writes the results;
/// 3. `SIMD_REF_IN=results.txt cargo test -p armvm-cpu -- --ignored simd_ref`
///    compares. Words that no SIMD row claims only have to agree on UNDEFINED when
///    the reference also rejects them (the reference implements more features).
#[cfg(test)]
mod bulk {
    use super::*;
    use crate::decode::{a64_simd, lookup, Op};
    use std::fmt::Write as _;

    fn is_memory(word: u32) -> bool {
        word & 0xbf00_0000 == 0x0c00_0000 || word & 0xbf00_0000 == 0x0d00_0000
    }

    /// Register overrides that keep a structure access inside the buffer.
    fn memory_sets(word: u32, rng: &mut Rng) -> Vec<(String, u64)> {
        // Element size: size (bits 11:10) for the multiple-structure and replicate
        // forms, opcode<2:1> (bits 15:14, with size<0> telling S from D) otherwise.
        let size = match (word >> 24 & 1, word >> 14 & 3) {
            (0, _) | (_, 3) => (word >> 10) & 3,
            (_, 2) => 2 + (word >> 10 & 1),
            (_, s) => s,
        };
        // Half the bases doubleword-aligned, half only element-aligned.
        let mut off = (rng.next() % 96) & !((1 << size) - 1);
        if rng.next() & 1 == 0 {
            off &= !7;
        }
        let mut sets = Vec::new();
        let rn = (word >> 5) & 31;
        let base = BUF + off;
        sets.push((
            if rn == 31 {
                "sp".to_string()
            } else {
                format!("x{rn}")
            },
            base,
        ));
        let rm = (word >> 16) & 31;
        if word & (1 << 23) != 0 && rm != 31 && rm != rn {
            sets.push((format!("x{rm}"), rng.next() % 512));
        }
        sets
    }

    #[test]
    #[ignore]
    fn simd_gen() {
        let Ok(path) = std::env::var("SIMD_GEN_OUT") else {
            return;
        };
        let per_row: usize = std::env::var("SIMD_GEN_PER_ROW")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(40);
        let mut rng = Rng(0x5eed ^ per_row as u64);
        let mut out = String::new();
        let emit = |word: u32, rng: &mut Rng, out: &mut String| {
            let seed = rng.next() % 1_000_000;
            let mut line = format!(".inst {word:#010x} | {seed} |");
            if is_memory(word) {
                let sets = memory_sets(word, rng);
                let s: Vec<String> = sets.iter().map(|(r, v)| format!("{r}={v:#x}")).collect();
                line.push_str(&s.join(","));
            }
            writeln!(out, "{line}").unwrap();
        };
        for row in a64_simd::SIMD {
            let mut found = 0;
            let mut tries = 0;
            while found < per_row && tries < per_row * 1000 {
                tries += 1;
                let word = (rng.next() as u32 & !row.mask) | row.value;
                if lookup(word).map(|e| e.title) == Some(row.title) {
                    emit(word, &mut rng, &mut out);
                    found += 1;
                }
            }
        }
        // The rest of the Advanced SIMD space: data processing (bits 27:25 = 111,
        // bit 31 = 0) and the structure load/store groups.
        for k in 0..per_row * 200 {
            let r = rng.next() as u32;
            let word = if k % 8 == 0 {
                (r & !0xbf80_0000) | (0x0c00_0000 | ((r >> 7) & 3) << 23)
            } else {
                (r & 0x7fff_ffff) | 0x0e00_0000
            };
            if !matches!(decode(word).op, Op::Simd(_)) {
                emit(word, &mut rng, &mut out);
            }
        }
        std::fs::write(path, out).unwrap();
    }

    fn parse_reg(s: &str) -> Reg {
        match s {
            "sp" => Sp,
            _ if s.starts_with('v') => V(s[1..].parse().unwrap()),
            _ => X(s[1..].parse().unwrap()),
        }
    }

    /// Compares with reference results, one line per case:
    /// `word seed sig qc fpsr ; sets ; outs ; mem` with `reg=value` lists.
    #[test]
    #[ignore]
    fn simd_ref() {
        let Ok(path) = std::env::var("SIMD_REF_IN") else {
            return;
        };
        let text = std::fs::read_to_string(path).unwrap();
        let mut failures = Vec::new();
        let mut unclaimed = 0;
        let mut checked = 0;
        for line in text.lines() {
            let parts: Vec<&str> = line.split(';').map(str::trim).collect();
            let head: Vec<&str> = parts[0].split_whitespace().collect();
            let word = u32::from_str_radix(head[0].trim_start_matches("0x"), 16).unwrap();
            let seed: u64 = head[1].parse().unwrap();
            let sig: u32 = head[2].parse().unwrap();
            let qc = head[3] == "1";
            let list = |s: &str| -> Vec<(String, u128)> {
                s.split_whitespace()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (
                            k.to_string(),
                            u128::from_str_radix(v.trim_start_matches("0x"), 16).unwrap(),
                        )
                    })
                    .collect()
            };
            let sets = list(parts[1]);
            let outs = list(parts[2]);
            let mems = list(parts[3]);
            let claimed = matches!(decode(word).op, Op::Simd(_));
            if !claimed && sig == 0 {
                unclaimed += 1;
                if let Ok(p) = std::env::var("SIMD_UNCLAIMED_OUT") {
                    use std::io::Write as _;
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(p)
                        .unwrap();
                    writeln!(f, "{word:08x}").unwrap();
                }
                continue;
            }
            checked += 1;
            let mut m = Machine::new(seed);
            for (k, v) in &sets {
                m.set(parse_reg(k), *v);
            }
            let before = m.buffer();
            let r = m.step(word);
            if sig != 0 {
                if !matches!(r, Err(Exception::Undefined)) {
                    failures.push(format!(
                        "{word:#010x}: reference SIG{sig}, here {:?}",
                        r.err()
                    ));
                }
                continue;
            }
            if let Err(e) = r {
                failures.push(format!("{word:#010x}: raised {e:?}"));
                continue;
            }
            let mut expect = Machine::new(seed);
            for (k, v) in sets.iter().chain(&outs) {
                expect.set(parse_reg(k), *v);
            }
            let mut diffs = Vec::new();
            for r in (0..32).map(V).chain((0..31).map(X)).chain([Sp]) {
                if m.get(r) != expect.get(r) {
                    diffs.push(format!("{r:?}={:#x} want {:#x}", m.get(r), expect.get(r)));
                }
            }
            if (m.cpu.regs.fpsr & fpsr::QC != 0) != qc {
                diffs.push(format!("QC want {qc}"));
            }
            let mut want_buf = before;
            for (off, v) in &mems {
                let off: usize = off.parse().unwrap();
                want_buf[off..off + 8].copy_from_slice(&(*v as u64).to_le_bytes());
            }
            if m.buffer() != want_buf {
                diffs.push("buffer differs".into());
            }
            if !diffs.is_empty() {
                let title = lookup(word).map_or("?", |e| e.title);
                failures.push(format!(
                    "{word:#010x} {title} seed {seed}: {}",
                    diffs.join(", ")
                ));
            }
        }
        println!("checked {checked}, unclaimed and executed by the reference {unclaimed}");
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
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
