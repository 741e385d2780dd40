//! `--trace`: one line per executed instruction, then a summary of exceptions.
//!
//! Line format: `cpu0 EL1 0000000040000000 d2800540 mov x0, #0x2a ; x0=0x2a`.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use armvm_cpu::cpu::{TraceHook, TraceRecord};
use armvm_cpu::Cpu;
use capstone::prelude::*;

struct State {
    out: Box<dyn Write>,
    disasm: Option<Capstone>,
    written: u64,
    limit: Option<u64>,
    range: Option<(u64, u64)>,
}

pub struct Tracer {
    state: Rc<RefCell<State>>,
}

/// Names of the exception classes armvm raises, for the summary.
fn exception_class_name(ec: usize) -> &'static str {
    match ec {
        0x00 => "Undefined instruction",
        0x01 => "WFI/WFE trapped",
        0x07 => "SIMD/FP access trapped",
        0x0e => "Illegal execution state",
        0x15 => "SVC",
        0x16 => "HVC",
        0x17 => "SMC",
        0x18 => "MSR/MRS/SYS trapped",
        0x20 | 0x21 => "Instruction abort",
        0x22 => "PC alignment",
        0x24 | 0x25 => "Data abort",
        0x26 => "SP alignment",
        0x3c => "BRK",
        _ => "other",
    }
}

impl Tracer {
    pub fn new(out: Box<dyn Write>, limit: Option<u64>, range: Option<(u64, u64)>) -> Tracer {
        // Without capstone the trace still has the raw words; never fail a run for it.
        let disasm = Capstone::new()
            .arm64()
            .mode(arch::arm64::ArchMode::Arm)
            .build()
            .ok();
        Tracer {
            state: Rc::new(RefCell::new(State {
                out,
                disasm,
                written: 0,
                limit,
                range,
            })),
        }
    }

    /// The per-instruction hook to install in the vCPU.
    pub fn hook(&self) -> TraceHook {
        let state = self.state.clone();
        Box::new(move |rec: &TraceRecord| state.borrow_mut().record(rec))
    }

    /// The limit is reached: tracing can be switched off.
    pub fn finished(&self) -> bool {
        let s = self.state.borrow();
        s.limit.is_some_and(|l| s.written >= l)
    }

    /// Writes the summary of exceptions taken by `cpu`.
    pub fn summarize(&self, cpu: &Cpu) {
        let mut s = self.state.borrow_mut();
        let _ = writeln!(
            s.out,
            "# cpu{}: {} instructions retired",
            cpu.index, cpu.icount
        );
        for (ec, &n) in cpu
            .exception_counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
        {
            let _ = writeln!(
                s.out,
                "# cpu{}: exception class {ec:#04x} ({}): {n}",
                cpu.index,
                exception_class_name(ec)
            );
        }
        for (name, &n) in ["IRQ", "FIQ", "SError"]
            .iter()
            .zip(cpu.interrupt_counts.iter())
            .filter(|(_, &n)| n > 0)
        {
            let _ = writeln!(s.out, "# cpu{}: {name}: {n}", cpu.index);
        }
    }

    pub fn close(self) {
        let _ = self.state.borrow_mut().out.flush();
    }
}

impl State {
    fn record(&mut self, rec: &TraceRecord) {
        if self.limit.is_some_and(|l| self.written >= l)
            || self.range.is_some_and(|(a, b)| rec.pc < a || rec.pc >= b)
        {
            return;
        }
        self.written += 1;
        let text = self
            .disasm
            .as_ref()
            .and_then(|cs| {
                let insns = cs.disasm_count(&rec.word.to_le_bytes(), rec.pc, 1).ok()?;
                let i = insns.iter().next()?;
                Some(
                    format!(
                        "{} {}",
                        i.mnemonic().unwrap_or(""),
                        i.op_str().unwrap_or("")
                    )
                    .trim()
                    .to_string(),
                )
            })
            .unwrap_or_else(|| "<unallocated>".to_string());
        let mut line = format!(
            "cpu{} EL{} {:016x} {:08x} {text}",
            rec.cpu, rec.el, rec.pc, rec.word
        );
        if !rec.writes.is_empty() {
            line.push_str(" ;");
            for (name, value) in &rec.writes {
                line.push_str(&format!(" {name}={value:#x}"));
            }
        }
        let _ = writeln!(self.out, "{line}");
    }
}
