//! `monitor` commands: the machine's view that gdb's own commands do not give.

use std::fmt::Write;

use armvm_cpu::exception::FaultKind;
use armvm_cpu::mmu::WalkStep;
use armvm_cpu::Cpu;
use gdbstub::target::ext::monitor_cmd::ConsoleOutput;

use super::{Guest, Request};
use crate::machine::Machine;

const HELP: &str = "\
armvm monitor commands:
  info registers     exception-level state and translation registers of every vCPU
  translate VA       walk VA through the selected vCPU's page tables, every descriptor
  phys on|off        memory commands use physical addresses (default off)
  step-irq on|off    take interrupts while single-stepping (default off)
  reset              reset the machine (it stays stopped)
  quit               stop armvm
  help               this text";

pub fn run(m: &mut Machine, cmd: &[u8], mut out: ConsoleOutput<'_>) {
    let text = String::from_utf8_lossy(cmd);
    let words: Vec<&str> = text.split_whitespace().collect();
    let reply = match words.as_slice() {
        ["info", "registers"] | ["info", "reg"] => info_registers(m),
        ["translate", va] => match crate::cli::parse_u64(va) {
            Ok(va) => translate(m, va),
            Err(e) => e,
        },
        ["phys", on] | ["step-irq", on] => match (parse_switch(on), m.debugger()) {
            (Some(v), Some(dbg)) => {
                let (what, mode) = if words[0] == "phys" {
                    dbg.phys = v;
                    ("memory addresses are", ["virtual", "physical"])
                } else {
                    dbg.step_irq = v;
                    ("single steps", ["hold interrupts off", "take interrupts"])
                };
                format!("{what} now {}", mode[v as usize])
            }
            _ => format!("expected on or off, not '{on}'"),
        },
        ["reset"] => {
            if let Some(dbg) = m.debugger() {
                dbg.request = Some(Request::Reset);
            }
            "resetting the machine; it stays stopped until you continue".into()
        }
        ["quit"] => {
            if let Some(dbg) = m.debugger() {
                dbg.request = Some(Request::Exit(0));
            }
            "armvm quits".into()
        }
        ["help"] | [] => HELP.into(),
        _ => format!("unknown command '{text}'\n{HELP}"),
    };
    for line in reply.lines() {
        let _ = writeln!(out, "{line}");
    }
}

fn parse_switch(s: &str) -> Option<bool> {
    match s {
        "on" | "1" => Some(true),
        "off" | "0" => Some(false),
        _ => None,
    }
}

fn info_registers(m: &mut Machine) -> String {
    let p = m.parts();
    let mut s = String::new();
    for (i, cpu) in p.cpus.into_iter().enumerate() {
        let r = &cpu.regs;
        let y = &cpu.sys;
        let sp = if r.el == 0 || r.sp_sel == 0 { "t" } else { "h" };
        let _ = writeln!(
            s,
            "vCPU {i}: EL{}{sp}  PC {:016x}  PSTATE {:08x}",
            r.el,
            r.pc,
            r.spsr()
        );
        let rows = [
            ("SP_EL0", r.sp_el[0]),
            ("SP_EL1", r.sp_el[1]),
            ("SPSR_EL1", y.spsr),
            ("ELR_EL1", y.elr),
            ("ESR_EL1", y.esr),
            ("FAR_EL1", y.far),
            ("VBAR_EL1", y.vbar),
            ("SCTLR_EL1", y.sctlr),
            ("TCR_EL1", y.tcr),
            ("TTBR0_EL1", y.ttbr0),
            ("TTBR1_EL1", y.ttbr1),
            ("MAIR_EL1", y.mair),
        ];
        for pair in rows.chunks(2) {
            let _ = write!(s, " ");
            for (name, v) in pair {
                let _ = write!(s, " {name:>9} {v:016x}");
            }
            s.push('\n');
        }
    }
    s
}

fn translate(m: &mut Machine, va: u64) -> String {
    let p = m.parts();
    let selected = p.debugger.as_ref().map_or(0, |d| d.selected);
    let Some(cpu) = p.cpus.into_iter().nth(selected) else {
        return "no such vCPU".into();
    };
    let cpu: &Cpu = cpu;
    let mut steps: Vec<WalkStep> = Vec::new();
    let result = cpu.translate_debug(p.board, va, Some(&mut steps));
    let mut s = format!("vCPU {selected}: VA {va:#018x}");
    if cpu.sys.sctlr & 1 == 0 {
        s.push_str(" (MMU off: VA = PA)");
    } else {
        let ttbr = if (va >> 55) & 1 == 1 {
            "TTBR1"
        } else {
            "TTBR0"
        };
        let _ = write!(s, " via {ttbr}");
    }
    s.push('\n');
    for st in &steps {
        let _ = writeln!(
            s,
            "  level {} descriptor at PA {:#x}: {:#018x} ({})",
            st.level,
            st.table_pa,
            st.descriptor,
            describe(st)
        );
    }
    match result {
        Ok(t) => {
            let perms = |p: armvm_cpu::mmu::Perms| {
                format!(
                    "{}{}{}",
                    if p.read { 'r' } else { '-' },
                    if p.write { 'w' } else { '-' },
                    if p.exec { 'x' } else { '-' }
                )
            };
            let _ = writeln!(
                s,
                "  => PA {:#x}, EL1 {}, EL0 {}, {} memory (MAIR attr {:#04x}), {}",
                t.pa,
                perms(t.el1),
                perms(t.el0),
                if t.device { "Device" } else { "Normal" },
                t.attr,
                if t.ng { "not global" } else { "global" }
            );
        }
        Err(f) => {
            let _ = writeln!(s, "  => fault: {}", fault(f));
        }
    }
    s
}

fn describe(st: &WalkStep) -> &'static str {
    match (st.descriptor & 3, st.level) {
        (0 | 2, _) => "invalid",
        (3, 3) => "page",
        (3, _) => "table",
        _ => "block",
    }
}

fn fault(f: FaultKind) -> String {
    match f {
        FaultKind::AddressSize(l) => format!("address size fault at level {l}"),
        FaultKind::Translation(l) => format!("translation fault at level {l} (not mapped)"),
        FaultKind::AccessFlag(l) => format!("access flag fault at level {l}"),
        FaultKind::Permission(l) => format!("permission fault at level {l}"),
        FaultKind::Alignment => "alignment fault".into(),
        FaultKind::External => "external abort".into(),
        FaultKind::ExternalOnWalk(l) => format!("external abort on the walk at level {l}"),
    }
}
