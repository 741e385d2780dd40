//! gdbstub's `Target` for the machine: registers, memory by virtual (or physical)
//! address, threads, resumption, breakpoints and watchpoints.

use armvm_cpu::cpu::{WatchKind as CpuWatchKind, Watchpoint};
use armvm_cpu::Cpu;
use gdbstub::common::{Signal, Tid};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::ext::thread_extra_info::{ThreadExtraInfo, ThreadExtraInfoOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::aarch64::reg::id::AArch64RegId;
use gdbstub_arch::aarch64::reg::AArch64CoreRegs;
use gdbstub_arch::aarch64::AArch64;

use super::{regs, Action, BreakKinds, Guest, Parts, MAX_BREAKPOINTS, MAX_WATCHPOINTS};
use crate::board::Board;
use crate::machine::Machine;

/// errno values gdb shows for failed requests.
const EFAULT: u8 = 14;
const EINVAL: u8 = 22;
const ENOSPC: u8 = 28;

/// The parts of the machine for one request on vCPU `tid`.
fn parts_for(m: &mut Machine, tid: Tid) -> Result<Parts<'_>, TargetError<&'static str>> {
    let p = m.parts();
    if p.debugger.is_none() || tid.get() > p.cpus.len() {
        return Err(TargetError::Errno(EINVAL));
    }
    Ok(p)
}

/// Splits parts into the debugger, vCPU `i` and the board.
macro_rules! split {
    ($p:expr, $i:expr) => {{
        let p = $p;
        let dbg = p.debugger.ok_or(TargetError::Errno(EINVAL))?;
        let cpu = p
            .cpus
            .into_iter()
            .nth($i)
            .ok_or(TargetError::Errno(EINVAL))?;
        (dbg, cpu, p.board)
    }};
}

impl Target for Machine {
    type Arch = AArch64;
    type Error = &'static str;

    fn base_ops(&mut self) -> BaseOps<'_, AArch64, &'static str> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadBase for Machine {
    fn read_registers(&mut self, regs: &mut AArch64CoreRegs, tid: Tid) -> TargetResult<(), Self> {
        let i = tid.get() - 1;
        let (dbg, cpu, _) = split!(parts_for(self, tid)?, i);
        dbg.selected = i;
        regs::read_core(cpu, regs);
        Ok(())
    }

    fn write_registers(&mut self, regs: &AArch64CoreRegs, tid: Tid) -> TargetResult<(), Self> {
        let i = tid.get() - 1;
        let (_, cpu, _) = split!(parts_for(self, tid)?, i);
        regs::write_core(cpu, regs);
        Ok(())
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], tid: Tid) -> TargetResult<usize, Self> {
        let i = tid.get() - 1;
        let (dbg, cpu, board) = split!(parts_for(self, tid)?, i);
        let phys = dbg.phys;
        let mut done = 0;
        while done < data.len() {
            let va = start.wrapping_add(done as u64);
            let Some(pa) = locate(cpu, board, va, phys) else {
                break;
            };
            let n = chunk(va, data.len() - done);
            if board.memory.read(pa, &mut data[done..done + n]).is_err() {
                break;
            }
            done += n;
        }
        if done == 0 && !data.is_empty() {
            return Err(TargetError::Errno(EFAULT));
        }
        Ok(done)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], tid: Tid) -> TargetResult<(), Self> {
        let i = tid.get() - 1;
        let p = parts_for(self, tid)?;
        let phys = p.debugger.as_ref().is_some_and(|d| d.phys);
        let board = p.board;
        let mut cpus = p.cpus;
        // Translate every page first, so that a fault leaves memory as it was.
        let mut pieces = Vec::new();
        let mut done = 0;
        while done < data.len() {
            let va = start.wrapping_add(done as u64);
            let pa = locate(&*cpus[i], board, va, phys).ok_or(TargetError::Errno(EFAULT))?;
            let n = chunk(va, data.len() - done);
            if !board.memory.contains(pa, n as u64) {
                return Err(TargetError::Errno(EFAULT));
            }
            pieces.push((pa, done, n));
            done += n;
        }
        for (pa, off, n) in pieces {
            let _ = board.memory.write(pa, &data[off..off + n]);
            // Code decoded from these bytes is stale on every vCPU.
            for cpu in cpus.iter_mut() {
                cpu.invalidate_code_page(pa);
            }
        }
        Ok(())
    }

    fn list_active_threads(&mut self, register: &mut dyn FnMut(Tid)) -> Result<(), &'static str> {
        let n = self.parts().cpus.len();
        for i in 0..n {
            register(super::tid_of(i));
        }
        Ok(())
    }

    fn is_thread_alive(&mut self, tid: Tid) -> Result<bool, &'static str> {
        Ok(tid.get() <= self.parts().cpus.len())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_thread_extra_info(&mut self) -> Option<ThreadExtraInfoOps<'_, Self>> {
        Some(self)
    }
}

/// The physical address of `va` for the debugger: through `cpu`'s translation
/// regime, or `va` itself in physical mode.
fn locate(cpu: &Cpu, board: &mut Board, va: u64, phys: bool) -> Option<u64> {
    if phys {
        return Some(va);
    }
    cpu.translate_debug(board, va, None).ok().map(|t| t.pa)
}

/// How many of `left` bytes from `va` stay in its 4 KiB page.
fn chunk(va: u64, left: usize) -> usize {
    let in_page = (0x1000 - (va & 0xfff)) as usize;
    in_page.min(left)
}

impl SingleRegisterAccess<Tid> for Machine {
    fn read_register(
        &mut self,
        tid: Tid,
        reg: AArch64RegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let i = tid.get() - 1;
        let (_, cpu, board) = split!(parts_for(self, tid)?, i);
        // 0 bytes: gdb shows the register as unavailable.
        Ok(regs::read_one(cpu, board, reg, buf))
    }

    fn write_register(
        &mut self,
        tid: Tid,
        reg: AArch64RegId,
        val: &[u8],
    ) -> TargetResult<(), Self> {
        let i = tid.get() - 1;
        let (_, cpu, board) = split!(parts_for(self, tid)?, i);
        if regs::write_one(cpu, board, reg, val) {
            Ok(())
        } else {
            Err(TargetError::Errno(EINVAL))
        }
    }
}

impl MultiThreadResume for Machine {
    fn resume(&mut self) -> Result<(), &'static str> {
        apply_actions(self);
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), &'static str> {
        let n = self.parts().cpus.len();
        let dbg = self.debugger().ok_or("no debugger")?;
        dbg.actions = vec![Action::Unset; n];
        dbg.scheduler_lock = false;
        Ok(())
    }

    fn set_resume_action_continue(
        &mut self,
        tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        // Signals mean nothing to a machine; like QEMU, continue without one.
        set_action(self, tid, Action::Continue)
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

fn set_action(m: &mut Machine, tid: Tid, action: Action) -> Result<(), &'static str> {
    let dbg = m.debugger().ok_or("no debugger")?;
    // An unknown thread is ignored rather than failing the whole vCont.
    if let Some(a) = dbg.actions.get_mut(tid.get() - 1) {
        *a = action;
    }
    Ok(())
}

/// Puts the resume actions into effect: vCPUs left out stop under scheduler locking
/// and continue otherwise; a stepping vCPU holds interrupts off (unless `step-irq`);
/// the vCPU that reported a breakpoint or watchpoint resumes past it.
pub(super) fn apply_actions(m: &mut Machine) {
    let p = m.parts();
    let Some(dbg) = p.debugger else { return };
    dbg.actions.resize(p.cpus.len(), Action::Unset);
    for a in dbg.actions.iter_mut() {
        if *a == Action::Unset {
            *a = if dbg.scheduler_lock {
                Action::Stop
            } else {
                Action::Continue
            };
        }
    }
    for (i, cpu) in p.cpus.into_iter().enumerate() {
        cpu.debug.hold_interrupts = dbg.actions[i] == Action::Step && !dbg.step_irq;
        let skip = match dbg.resume_from {
            Some((j, pc)) if j == i && cpu.regs.pc == pc => Some(pc),
            _ => None,
        };
        cpu.debug.skip_breakpoint_at = skip;
        cpu.debug.skip_watch_at = skip;
    }
    dbg.resume_from = None;
    dbg.pending = None;
    dbg.halted = false;
}

impl MultiThreadSingleStep for Machine {
    fn set_resume_action_step(
        &mut self,
        tid: Tid,
        _signal: Option<Signal>,
    ) -> Result<(), &'static str> {
        set_action(self, tid, Action::Step)
    }
}

impl MultiThreadSchedulerLocking for Machine {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), &'static str> {
        self.debugger().ok_or("no debugger")?.scheduler_lock = true;
        Ok(())
    }
}

impl ThreadExtraInfo for Machine {
    fn thread_extra_info(&self, tid: Tid, buf: &mut [u8]) -> Result<usize, &'static str> {
        let i = tid.get() - 1;
        let text = match self.vcpu_status(i) {
            Some(s) if !s.on => format!("vCPU {i}, powered off"),
            Some(s) if s.sleeping => format!("vCPU {i}, waiting for an interrupt"),
            Some(_) => format!("vCPU {i}"),
            None => return Ok(0),
        };
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
        Ok(n)
    }
}

impl Breakpoints for Machine {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

/// Adds a breakpoint of one kind at `addr` to every vCPU.
fn add_breakpoint(m: &mut Machine, addr: u64, hw: bool) -> TargetResult<bool, Machine> {
    let p = m.parts();
    let dbg = p.debugger.ok_or(TargetError::Errno(EINVAL))?;
    if !hw {
        // A software breakpoint replaces an instruction: it needs one in RAM, mapped
        // in the regime of the selected vCPU.
        let cpu = p.cpus.get(dbg.selected).ok_or(TargetError::Errno(EINVAL))?;
        let mapped =
            locate(cpu, p.board, addr, dbg.phys).is_some_and(|pa| p.board.memory.contains(pa, 4));
        if !mapped || addr & 3 != 0 {
            return Err(TargetError::Errno(EFAULT));
        }
    }
    if !dbg.breakpoints.contains_key(&addr) && dbg.breakpoints.len() >= MAX_BREAKPOINTS {
        return Err(TargetError::Errno(ENOSPC));
    }
    let k = dbg.breakpoints.entry(addr).or_insert(BreakKinds::default());
    if hw {
        k.hw += 1;
    } else {
        k.sw += 1;
    }
    for cpu in p.cpus {
        cpu.add_breakpoint(addr);
    }
    Ok(true)
}

fn remove_breakpoint(m: &mut Machine, addr: u64, hw: bool) -> TargetResult<bool, Machine> {
    let p = m.parts();
    let dbg = p.debugger.ok_or(TargetError::Errno(EINVAL))?;
    let Some(k) = dbg.breakpoints.get_mut(&addr) else {
        return Ok(false);
    };
    let n = if hw { &mut k.hw } else { &mut k.sw };
    if *n == 0 {
        return Ok(false);
    }
    *n -= 1;
    if k.sw == 0 && k.hw == 0 {
        dbg.breakpoints.remove(&addr);
        for cpu in p.cpus {
            cpu.remove_breakpoint(addr);
        }
    }
    Ok(true)
}

impl SwBreakpoint for Machine {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        add_breakpoint(self, addr, false)
    }
    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        remove_breakpoint(self, addr, false)
    }
}

impl HwBreakpoint for Machine {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        add_breakpoint(self, addr, true)
    }
    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        remove_breakpoint(self, addr, true)
    }
}

fn watchpoint(addr: u64, len: u64, kind: WatchKind) -> Watchpoint {
    Watchpoint {
        addr,
        len,
        kind: match kind {
            WatchKind::Write => CpuWatchKind::Write,
            WatchKind::Read => CpuWatchKind::Read,
            WatchKind::ReadWrite => CpuWatchKind::Access,
        },
    }
}

impl HwWatchpoint for Machine {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let p = self.parts();
        let dbg = p.debugger.ok_or(TargetError::Errno(EINVAL))?;
        if len == 0 {
            return Err(TargetError::Errno(EINVAL));
        }
        if dbg.watchpoints.len() >= MAX_WATCHPOINTS {
            return Err(TargetError::Errno(ENOSPC));
        }
        let w = watchpoint(addr, len, kind);
        dbg.watchpoints.push(w);
        for cpu in p.cpus {
            cpu.add_watchpoint(w);
        }
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        let p = self.parts();
        let dbg = p.debugger.ok_or(TargetError::Errno(EINVAL))?;
        let w = watchpoint(addr, len, kind);
        let Some(pos) = dbg.watchpoints.iter().position(|x| *x == w) else {
            return Ok(false);
        };
        dbg.watchpoints.remove(pos);
        for cpu in p.cpus {
            cpu.remove_watchpoint(w);
            // remove_watchpoint drops every copy; put back the ones gdb still has.
            for _ in dbg.watchpoints.iter().filter(|x| **x == w) {
                cpu.add_watchpoint(w);
            }
        }
        Ok(true)
    }
}

impl MonitorCmd for Machine {
    fn handle_monitor_cmd(
        &mut self,
        cmd: &[u8],
        out: ConsoleOutput<'_>,
    ) -> Result<(), &'static str> {
        super::monitor::run(self, cmd, out);
        Ok(())
    }
}

impl TargetDescriptionXmlOverride for Machine {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::Errno(EINVAL));
        }
        let xml = regs::target_xml().as_bytes();
        let start = (offset.min(xml.len() as u64)) as usize;
        let n = length.min(buf.len()).min(xml.len() - start);
        buf[..n].copy_from_slice(&xml[start..start + n]);
        Ok(n)
    }
}
