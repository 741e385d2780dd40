//! Bulk differential testing of the Advanced SIMD executor against the reference
//! harness (`cpu/src/exec/simd/reference/`, qemu-aarch64 user mode), run by hand in
//! three steps:
//!
//! 1. `SIMD_GEN_OUT=cases.txt cargo test -p armvm-cpu --test simd_bulk simd_gen`
//!    writes random words for every row of the SIMD table (`SIMD_GEN_PER_ROW`, default
//!    40, with base registers pointed into the buffer for the structure
//!    loads/stores), and random words from the whole Advanced SIMD encoding space;
//! 2. `reference/bulk.py cases.txt results.txt` runs them under qemu-aarch64;
//! 3. `SIMD_REF_IN=results.txt cargo test -p armvm-cpu --test simd_bulk simd_ref`
//!    compares. Words that no SIMD row claims only have to agree on UNDEFINED when
//!    the reference also rejects them (the reference implements more features);
//!    `SIMD_UNCLAIMED_OUT=file` appends those words to a file.
//!
//! Each step is a libtest-mimic trial that reports itself as ignored, with the
//! reason, while its environment variable is unset (as in a plain `cargo test`).
//! The machine and its generator are the unit tests' (`armvm_cpu::testkit`).

use std::fmt::Write as _;

use armvm_cpu::decode::{a64_simd, decode, lookup, Op};
use armvm_cpu::exception::Exception;
use armvm_cpu::state::fpsr;
use armvm_cpu::testkit::{Machine, Reg, Rng, BUF};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use Reg::{Sp, V, X};

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("simd_gen", simd_gen),
        Trial::ignorable_test("simd_ref", simd_ref),
    ];
    libtest_mimic::run(&args, trials).exit();
}

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

/// Writes the cases: random words for every row of the SIMD table (with base
/// registers pointed into the buffer for the structure loads/stores), and random
/// words from the whole Advanced SIMD encoding space.
fn simd_gen() -> Result<Completion, Failed> {
    let Ok(path) = std::env::var("SIMD_GEN_OUT") else {
        return Ok(Completion::ignored_with(
            "SIMD_GEN_OUT is not set: a step run by hand, see cpu/tests/simd_bulk.rs",
        ));
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
    std::fs::write(&path, out).map_err(|e| format!("{path}: {e}"))?;
    Ok(Completion::Completed)
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
fn simd_ref() -> Result<Completion, Failed> {
    let Ok(path) = std::env::var("SIMD_REF_IN") else {
        return Ok(Completion::ignored_with(
            "SIMD_REF_IN is not set: a step run by hand, see cpu/tests/simd_bulk.rs",
        ));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
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
    if failures.is_empty() {
        Ok(Completion::Completed)
    } else {
        Err(format!("{} failures:\n{}", failures.len(), failures.join("\n")).into())
    }
}
