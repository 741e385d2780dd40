//! Comparing two outcomes, and describing a mismatch so that it can be reproduced.

use std::fmt::Write;

use capstone::prelude::*;

use crate::case::*;
use crate::elf::{OFF_SIGADDR, OFF_SIGNAL, OUT_OFF, SCRATCH_OFF};

pub struct Mismatch {
    pub case: Case,
    pub armvm: Outcome,
    pub qemu: Outcome,
    /// Where the case's instructions and scratch memory were in the run shown.
    pub body_addr: u64,
    pub scratch_addr: u64,
    /// Whether the case, run alone, mismatches too (`None`: not tried).
    pub alone: Option<bool>,
    /// The known-failure entry that explains it, if any.
    pub known: Option<&'static str>,
}

pub fn disassemble(words: &[u32], addr: u64) -> Vec<String> {
    let cs = Capstone::new()
        .arm64()
        .mode(capstone::arch::arm64::ArchMode::Arm)
        .build();
    words
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let a = addr + 4 * i as u64;
            let text = cs
                .as_ref()
                .ok()
                .and_then(|cs| cs.disasm_count(&w.to_le_bytes(), a, 1).ok())
                .and_then(|insns| {
                    insns.iter().next().map(|i| {
                        format!(
                            "{} {}",
                            i.mnemonic().unwrap_or("?"),
                            i.op_str().unwrap_or("")
                        )
                    })
                })
                .unwrap_or_else(|| "(capstone: undefined)".into());
            format!("{a:#010x}: {w:08x}  {text}")
        })
        .collect()
}

fn state_of(rec: &[u8]) -> State {
    State::from_bytes(&rec[..STATE_SIZE])
}

fn scratch_of(rec: &[u8]) -> &[u8] {
    &rec[(SCRATCH_OFF - OUT_OFF) as usize..]
}

/// Differences between two records, one line each.
pub fn record_diff(a: &[u8], q: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let (sa, sq) = (state_of(a), state_of(q));
    for ((name, va), (_, vq)) in sa.fields().iter().zip(sq.fields()) {
        if *va != vq {
            lines.push(format!("{name}: armvm {va:#x}, qemu {vq:#x}"));
        }
    }
    let (ma, mq) = (scratch_of(a), scratch_of(q));
    let mut i = 0;
    let mut ranges = 0;
    while i < ma.len() {
        if ma[i] == mq[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < ma.len() && ma[i] != mq[i] && i - start < 16 {
            i += 1;
        }
        ranges += 1;
        if ranges <= 8 {
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            lines.push(format!(
                "scratch[{start:#x}..{i:#x}]: armvm {}, qemu {}",
                hex(&ma[start..i]),
                hex(&mq[start..i])
            ));
        }
    }
    if ranges > 8 {
        lines.push(format!(
            "... and {} more differing scratch ranges",
            ranges - 8
        ));
    }
    lines
}

/// The signal and `si_addr` of a record whose case faulted.
pub fn fault_of(rec: &[u8]) -> Option<(u64, u64)> {
    let rd = |off: usize| u64::from_le_bytes(rec[off..off + 8].try_into().unwrap());
    let sig = rd(OFF_SIGNAL);
    (sig != 0).then(|| (sig, rd(OFF_SIGADDR)))
}

fn record_line(who: &str, rec: &[u8]) -> String {
    match fault_of(rec) {
        Some((sig, addr)) => format!(
            "{who}: {} (signal {sig}), si_addr {addr:#x}",
            signal_name(sig as i32)
        ),
        None => format!("{who}: completed"),
    }
}

/// Whether two outcomes agree.
pub fn same(a: &Outcome, q: &Outcome) -> bool {
    match (a, q) {
        (Outcome::Record(x), Outcome::Record(y)) => x == y,
        (Outcome::Fault { signal: s, .. }, Outcome::Fault { signal: t, .. }) => s == t,
        _ => false,
    }
}

fn outcome_line(who: &str, o: &Outcome) -> String {
    match o {
        Outcome::Record(_) => format!("{who}: completed"),
        Outcome::Fault { signal, detail } => {
            format!("{who}: {} ({detail})", signal_name(*signal))
        }
    }
}

impl Mismatch {
    pub fn describe(&self, seed: u64) -> String {
        let mut s = String::new();
        let c = &self.case;
        let _ = writeln!(
            s,
            "MISMATCH in {}, {} (reproduce: ARMVM_DIFF_SEED={seed:#x} ARMVM_DIFF_CASE=\"{}\" \
             cargo test --release --test differential -- --exact {})",
            c.group,
            c.label,
            c.label.split(':').next().unwrap_or(&c.label),
            c.group
        );
        if let Some(k) = self.known {
            let _ = writeln!(s, "  known failure: {k}");
        }
        match self.alone {
            Some(true) => {
                let _ = writeln!(s, "  reproduces when run alone (shown)");
            }
            Some(false) => {
                let _ = writeln!(
                    s,
                    "  does NOT reproduce alone: depends on earlier cases in the batch (batch run shown)"
                );
            }
            None => {}
        }
        let _ = writeln!(s, "  instructions:");
        for l in disassemble(&c.insns, self.body_addr) {
            let _ = writeln!(s, "    {l}");
        }
        let st = c.resolved_state(self.scratch_addr);
        let _ = writeln!(s, "  initial state (scratch at {:#x}):", self.scratch_addr);
        for row in 0..8 {
            let mut line = String::from("   ");
            for col in 0..4 {
                let r = row * 4 + col;
                if r < 31 {
                    let _ = write!(line, " x{r:<2}={:#018x}", st.x[r]);
                }
            }
            if row == 7 {
                let _ = write!(line, " sp ={:#018x}", st.sp);
            }
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(
            s,
            "    nzcv={:#x} fpcr={:#x} fpsr={:#x} tpidr_el0={:#x}",
            st.nzcv, st.fpcr, st.fpsr, st.tpidr
        );
        if matches!(c.group, "fp" | "simd" | "ldst") {
            for (i, v) in st.v.iter().enumerate() {
                if i % 2 == 0 {
                    let _ = write!(s, "   ");
                }
                let _ = write!(s, " v{i:<2}={v:#034x}");
                if i % 2 == 1 {
                    let _ = writeln!(s);
                }
            }
        }
        match (&self.armvm, &self.qemu) {
            (Outcome::Record(a), Outcome::Record(q)) => {
                if fault_of(a).is_some() || fault_of(q).is_some() {
                    let _ = writeln!(s, "  {}", record_line("armvm", a));
                    let _ = writeln!(s, "  {}", record_line("qemu", q));
                }
                let _ = writeln!(s, "  differences:");
                for l in record_diff(a, q) {
                    let _ = writeln!(s, "    {l}");
                }
            }
            (a, q) => {
                let _ = writeln!(s, "  {}", outcome_line("armvm", a));
                let _ = writeln!(s, "  {}", outcome_line("qemu", q));
            }
        }
        s
    }
}
