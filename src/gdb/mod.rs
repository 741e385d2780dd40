//! Instruction-level debugging with gdb over the GDB remote serial protocol.
//!
//! The protocol is gdbstub's: its packet parser and command handlers, its AArch64
//! register layout (gdbstub_arch), and its state-machine API, which lets the VM loop
//! stay in charge. [`target`] implements gdbstub's `Target` for the machine.
//!
//! # How it talks to the VM
//!
//! The connection is host I/O and lives on host threads ([`conn`]): an accept thread
//! and, per client, a reader thread that cuts the byte stream into frames and sends
//! them over a bounded crossbeam channel. The VM thread owns gdbstub's state machine
//! and all machine state; it looks at the channel between slices (one `try_recv`),
//! and while the debugger holds the machine stopped it blocks on the channel instead.
//! Replies are written by the VM thread only. No device state is shared.
//!
//! # Execution model
//!
//! All-stop: each vCPU is a gdb thread (thread N is vCPU N-1). A vCPU that is
//! resumed runs its normal slice; a stepping vCPU runs exactly one instruction (with
//! interrupts held off unless `monitor step-irq on`); a vCPU that gdb leaves out of
//! a `vCont` with scheduler locking does not run. The first stop of any vCPU ends the
//! round, and the machine stops as a whole.
//!
//! Breakpoints are by virtual address and live in the CPUs (no guest memory is
//! patched; only the blocks of the breakpoint's page are re-decoded). A software
//! breakpoint needs a mapped RAM address in the selected vCPU's translation regime
//! (the error a real target, or QEMU with KVM, gives when it cannot write the BRK); a
//! hardware breakpoint may be anywhere: use `hbreak` for code that is not mapped yet,
//! such as a kernel's virtual addresses before it turns the MMU on. Watchpoints are
//! by virtual address and stop before the accessing instruction (as gdb expects of
//! AArch64, and as QEMU does); the stop reports the first watched byte accessed.
//!
//! Memory is read and written by virtual address through the thread's translation
//! regime, without permission checks, RAM only (no device side effects); an
//! unmapped address is an error. `monitor phys on` makes addresses physical.
//!
//! While the debugger holds the machine stopped, the console is not read (Ctrl-A x
//! waits until the guest runs; use `kill` or `monitor quit`) and the guest's counter
//! keeps time with the host. `monitor reset` under `--no-reboot` exits, as a guest
//! reset would.
//!
//! # Bad input
//!
//! Frames with bad checksums are NACKed and oversized ones answered with an error
//! before gdbstub sees them ([`conn`]). A packet gdbstub cannot parse or did not
//! expect ends its state machine; the session then continues on a fresh stub: the
//! client gets an error reply, the negotiated state (qSupported, no-ack mode, the
//! selected threads) is replayed into the new stub with its output muted, and a
//! running machine goes on running. A lost connection is a detach. A second client
//! while one is attached gets an `E.` reply saying why, and is hung up on.
//!
//! Parsing is gdbstub's except for the framing in [`conn`], which a unit test fuzzes;
//! tests/gdb.rs sends thousands of random packets through the whole path.

mod conn;
mod monitor;
mod regs;
mod target;

use std::collections::BTreeMap;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;

use armvm_cpu::cpu::{WatchKind as CpuWatchKind, Watchpoint};
use armvm_cpu::{Cpu, Exit};
use gdbstub::common::{Signal, Tid};
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::breakpoints::WatchKind;

use crate::board::Board;
use crate::machine::Machine;

use conn::{Frame, PACKET_SIZE};

/// Where `-s` (and `-S` alone) listen.
pub const DEFAULT_ADDR: &str = "127.0.0.1:1234";
/// More breakpoints than this is a client gone wrong, not a debugging session.
const MAX_BREAKPOINTS: usize = 4096;
const MAX_WATCHPOINTS: usize = 64;

/// What the debugger needs of the machine; `machine.rs` implements it.
pub trait Guest {
    fn debugger(&mut self) -> Option<&mut Debugger>;
    /// The debugger, the vCPUs and the board, borrowed together.
    fn parts(&mut self) -> Parts<'_>;
    fn vcpu_status(&self, i: usize) -> Option<VcpuStatus>;
}

pub struct Parts<'a> {
    pub debugger: Option<&'a mut Debugger>,
    pub cpus: Vec<&'a mut Cpu>,
    pub board: &'a mut Board,
}

#[derive(Clone, Copy, Debug)]
pub struct VcpuStatus {
    pub on: bool,
    pub sleeping: bool,
}

/// What the debugger asks of the machine loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Exit(u8),
    Reset,
}

/// A vCPU's part in the current resumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// Not named by the last `vCont`: continue, or stay stopped under scheduler locking.
    Unset,
    Stop,
    Continue,
    Step,
}

type Stub = GdbStubStateMachine<'static, Machine, conn::Conn>;
type StopReason = MultiThreadStopReason<u64>;

struct Session {
    id: u64,
    peer: SocketAddr,
    stream: TcpStream,
    stub: Option<Stub>,
    /// Packets that set negotiated state, replayed into a fresh stub after an error.
    negotiated: [Option<Vec<u8>>; 4],
    no_ack: bool,
    /// The packet being handled is `vKill`, which (unlike `k`) expects an OK.
    vkill: bool,
}

/// Breakpoints at one address, by kind (gdb may set both).
#[derive(Clone, Copy, Debug, Default)]
struct BreakKinds {
    sw: u32,
    hw: u32,
}

pub struct Debugger {
    listener: conn::Listener,
    session: Option<Session>,
    breakpoints: BTreeMap<u64, BreakKinds>,
    watchpoints: Vec<Watchpoint>,
    actions: Vec<Action>,
    scheduler_lock: bool,
    /// The machine is stopped for the debugger.
    halted: bool,
    pending: Option<StopReason>,
    request: Option<Request>,
    /// Take interrupts while single-stepping (`monitor step-irq on`).
    step_irq: bool,
    /// Memory addresses are physical (`monitor phys on`).
    phys: bool,
    /// Breakpoints and watchpoints are in the CPUs of the current machine.
    installed: bool,
    /// The vCPU of gdb's selected thread (the last one whose registers it read).
    selected: usize,
    /// The vCPU that ran last, reported on Ctrl-C.
    last_ran: usize,
    /// Where the last breakpoint or watchpoint stop was reported (vCPU, PC): resumed
    /// from without stopping there again.
    resume_from: Option<(usize, u64)>,
    /// Protocol errors recovered from, and whether a recovery is under way.
    recoveries: u64,
    recovering: bool,
}

/// The listen address from the command line: `None` without `--gdb`, `-s` or `-S`.
/// A bare port, or `:port`, listens on the loopback interface; `tcp:` is accepted
/// for QEMU users.
pub fn listen_address(gdb: Option<&str>, short: bool, stop: bool) -> Option<String> {
    let addr = match gdb {
        Some(a) => a,
        None if short || stop => DEFAULT_ADDR,
        None => return None,
    };
    let addr = addr.strip_prefix("tcp:").unwrap_or(addr);
    Some(if addr.parse::<u16>().is_ok() {
        format!("127.0.0.1:{addr}")
    } else if let Some(port) = addr.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        addr.to_string()
    })
}

impl Debugger {
    /// Listens on `addr`; with `stop`, the machine waits for gdb before its first
    /// instruction.
    pub fn start(addr: &str, stop: bool) -> std::io::Result<Debugger> {
        let listener = conn::listen(addr)?;
        eprintln!(
            "armvm: gdb: listening on {}{}",
            listener.addr,
            if stop {
                "; the guest starts when gdb continues"
            } else {
                ""
            }
        );
        Ok(Debugger {
            listener,
            session: None,
            breakpoints: BTreeMap::new(),
            watchpoints: Vec::new(),
            actions: Vec::new(),
            scheduler_lock: false,
            halted: stop,
            pending: None,
            request: None,
            step_irq: false,
            phys: false,
            installed: true,
            selected: 0,
            last_ran: 0,
            resume_from: None,
            recoveries: 0,
            recovering: false,
        })
    }

    /// The debugger wants the machine to stop: the current round of slices ends.
    #[inline]
    pub fn wants_stop(&self) -> bool {
        self.pending.is_some() || self.request.is_some()
    }

    /// How many instructions vCPU `i` may run now (`slice` when nothing says otherwise).
    #[inline]
    pub fn budget(&self, i: usize, slice: u64) -> u64 {
        if self.session.is_none() {
            return slice;
        }
        match self.actions.get(i) {
            Some(Action::Step) => 1,
            Some(Action::Stop) => 0,
            _ => slice,
        }
    }

    /// Called after vCPU `i` ran: records a breakpoint, a watchpoint or the end of a step.
    pub fn after_run(&mut self, i: usize, exit: Exit, cpu: &mut Cpu) {
        self.last_ran = i;
        if self.session.is_none() {
            return;
        }
        let tid = tid_of(i);
        let stepping = self.actions.get(i) == Some(&Action::Step);
        let reason = match exit {
            Exit::Breakpoint => {
                let pc = cpu.regs.pc;
                self.resume_from = Some((i, pc));
                match self.breakpoints.get(&pc) {
                    Some(k) if k.sw == 0 && k.hw > 0 => StopReason::HwBreak(tid),
                    _ => StopReason::SwBreak(tid),
                }
            }
            Exit::Watchpoint(hit) => {
                self.resume_from = Some((i, cpu.regs.pc));
                StopReason::Watch {
                    tid,
                    kind: match hit.watch.kind {
                        CpuWatchKind::Write => WatchKind::Write,
                        CpuWatchKind::Read => WatchKind::Read,
                        CpuWatchKind::Access => WatchKind::ReadWrite,
                    },
                    addr: hit.addr,
                }
            }
            _ if stepping => StopReason::SignalWithThread {
                tid,
                signal: Signal::SIGTRAP,
            },
            _ => return,
        };
        if stepping {
            cpu.debug.hold_interrupts = false;
        }
        self.pending.get_or_insert(reason);
    }
}

fn tid_of(i: usize) -> Tid {
    NonZeroUsize::new(i + 1).unwrap_or(NonZeroUsize::MIN)
}

/// Serves the debugger between slices: handles what the client sent, reports a
/// stop, and while the machine is stopped waits for commands. Returns what the
/// machine loop must do, if anything other than running on.
pub fn serve(m: &mut Machine) -> Option<Request> {
    if !m.debugger()?.installed {
        install(m);
    }
    loop {
        let dbg = m.debugger()?;
        if let Some(r) = dbg.request.take() {
            return Some(r);
        }
        if let Some(reason) = dbg.pending.take() {
            report(m, reason);
            continue;
        }
        let event = if dbg.halted {
            match dbg.listener.events.recv() {
                Ok(e) => e,
                // The accept thread is gone: nobody can resume the machine but itself.
                Err(_) => {
                    dbg.halted = false;
                    return None;
                }
            }
        } else {
            match dbg.listener.events.try_recv() {
                Ok(e) => e,
                Err(_) => return None,
            }
        };
        handle_event(m, event);
    }
}

/// The machine stops for good (`Some(status)`) or is about to be rebuilt by a reset
/// (`None`): tells a waiting gdb that the program exited.
pub fn machine_stopped(m: &mut Machine, exit: Option<u8>) {
    let Some(dbg) = m.debugger() else { return };
    match exit {
        None => dbg.installed = false,
        Some(code) => {
            let running = dbg
                .session
                .as_ref()
                .is_some_and(|s| matches!(s.stub, Some(GdbStubStateMachine::Running(_))));
            if running {
                report(m, StopReason::Exited(code));
            }
        }
    }
}

/// Puts the debugger's breakpoints and watchpoints into the CPUs of a new machine.
fn install(m: &mut Machine) {
    let p = m.parts();
    let Some(dbg) = p.debugger else { return };
    for cpu in p.cpus {
        for &addr in dbg.breakpoints.keys() {
            cpu.add_breakpoint(addr);
        }
        for &w in &dbg.watchpoints {
            cpu.add_watchpoint(w);
        }
    }
    dbg.installed = true;
}

fn handle_event(m: &mut Machine, event: conn::Event) {
    match event {
        conn::Event::Connected { id, stream, peer } => attach(m, id, stream, peer),
        conn::Event::Frame { id, frame } => {
            let Some(dbg) = m.debugger() else { return };
            let recoveries = dbg.recoveries;
            let Some(s) = dbg.session.as_mut().filter(|s| s.id == id) else {
                return;
            };
            let no_ack = s.no_ack;
            match frame {
                Frame::Packet(p) => {
                    s.vkill = p.starts_with(b"$vKill");
                    feed(m, &p);
                    // Only what the stub accepted is negotiated state worth replaying.
                    let Some(dbg) = m.debugger() else { return };
                    if dbg.recoveries == recoveries {
                        if let Some(s) = dbg.session.as_mut().filter(|s| s.id == id) {
                            s.remember(&p);
                        }
                    }
                }
                Frame::Interrupt => feed(m, &[0x03]),
                Frame::BadChecksum => {
                    if !no_ack {
                        send_raw(m, b"-");
                    }
                }
                Frame::Oversized => {
                    eprintln!(
                        "armvm: gdb: a packet longer than {PACKET_SIZE} bytes; answered with an error"
                    );
                    let mut reply = if no_ack { vec![] } else { b"+".to_vec() };
                    reply.extend(conn::packet(b"E01"));
                    send_raw(m, &reply);
                }
            }
        }
        conn::Event::Closed { id } => {
            let ours = m
                .debugger()
                .and_then(|d| d.session.as_ref())
                .is_some_and(|s| s.id == id);
            if ours {
                end_session(m, Some("connection closed"));
            }
        }
    }
}

impl Session {
    fn remember(&mut self, packet: &[u8]) {
        let body = &packet[1..];
        let slot = if body.starts_with(b"qSupported") {
            0
        } else if body.starts_with(b"QStartNoAckMode") {
            self.no_ack = true;
            1
        } else if body.starts_with(b"Hg") {
            2
        } else if body.starts_with(b"Hc") {
            3
        } else {
            return;
        };
        self.negotiated[slot] = Some(packet.to_vec());
    }
}

fn new_stub(m: &mut Machine, stream: &TcpStream) -> Option<Stub> {
    let conn = conn::Conn::new(stream.try_clone().ok()?);
    let stub = GdbStub::builder(conn)
        .packet_buffer_size(PACKET_SIZE)
        .build()
        .ok()?;
    stub.run_state_machine(m).ok()
}

fn attach(m: &mut Machine, id: u64, stream: TcpStream, peer: SocketAddr) {
    let Some(stub) = new_stub(m, &stream) else {
        let _ = stream.shutdown(Shutdown::Both);
        if let Some(dbg) = m.debugger() {
            dbg.listener.busy.store(false, Ordering::SeqCst);
        }
        return;
    };
    let Some(dbg) = m.debugger() else { return };
    eprintln!("armvm: gdb: {peer} attached; the guest is stopped");
    dbg.session = Some(Session {
        id,
        peer,
        stream,
        stub: Some(stub),
        negotiated: Default::default(),
        no_ack: false,
        vkill: false,
    });
    dbg.halted = true;
    dbg.pending = None;
    dbg.resume_from = None;
}

/// Detaches: forgets breakpoints and watchpoints and lets the machine run on. `why`
/// is said on stderr.
fn end_session(m: &mut Machine, why: Option<&str>) {
    let p = m.parts();
    let Some(dbg) = p.debugger else { return };
    for cpu in p.cpus {
        for &addr in dbg.breakpoints.keys() {
            cpu.remove_breakpoint(addr);
        }
        for &w in &dbg.watchpoints {
            while cpu.remove_watchpoint(w) {}
        }
        cpu.debug.hold_interrupts = false;
        cpu.debug.skip_breakpoint_at = None;
        cpu.debug.skip_watch_at = None;
    }
    dbg.breakpoints.clear();
    dbg.watchpoints.clear();
    dbg.actions.clear();
    dbg.pending = None;
    dbg.resume_from = None;
    dbg.halted = false;
    if let Some(s) = dbg.session.take() {
        let _ = s.stream.shutdown(Shutdown::Both);
        if let Some(why) = why {
            eprintln!("armvm: gdb: {} detached ({why}); the guest runs on", s.peer);
        }
    }
    dbg.listener.busy.store(false, Ordering::SeqCst);
}

fn send_raw(m: &mut Machine, bytes: &[u8]) {
    let Some(s) = m.debugger().and_then(|d| d.session.as_mut()) else {
        return;
    };
    if std::io::Write::write_all(&mut s.stream, bytes).is_err() {
        end_session(m, Some("write failed"));
    }
}

fn take_stub(m: &mut Machine) -> Option<Stub> {
    m.debugger()?.session.as_mut()?.stub.take()
}

fn put_stub(m: &mut Machine, stub: Stub) {
    if let Some(s) = m.debugger().and_then(|d| d.session.as_mut()) {
        s.stub = Some(stub);
    }
}

type StubResult = Result<Stub, gdbstub::stub::GdbStubError<&'static str, std::io::Error>>;

/// Feeds client bytes to the stub.
fn feed(m: &mut Machine, bytes: &[u8]) {
    for &b in bytes {
        let Some(stub) = take_stub(m) else { return };
        let was_running = matches!(stub, GdbStubStateMachine::Running(_));
        let r: StubResult = match stub {
            GdbStubStateMachine::Idle(s) => s.incoming_data(m, b),
            GdbStubStateMachine::Running(s) => s.incoming_data(m, b),
            other => Ok(other),
        };
        match r {
            Ok(stub) => settle(m, stub),
            Err(e) => recover(m, e, was_running),
        }
    }
}

/// Reports a stop to a client waiting for one.
fn report(m: &mut Machine, reason: StopReason) {
    let Some(stub) = take_stub(m) else { return };
    match stub {
        GdbStubStateMachine::Running(s) => match s.report_stop(m, reason) {
            Ok(stub) => settle(m, stub),
            Err(e) => recover(m, e, false),
        },
        other => put_stub(m, other),
    }
}

/// Acts on the stub's new state and stores it.
fn settle(m: &mut Machine, stub: Stub) {
    match stub {
        GdbStubStateMachine::CtrlCInterrupt(s) => {
            let Some(dbg) = m.debugger() else { return };
            let r = if dbg.halted {
                s.interrupt_handled(m, None::<StopReason>)
            } else {
                let tid = tid_of(dbg.last_ran);
                let reason = StopReason::SignalWithThread {
                    tid,
                    signal: Signal::SIGINT,
                };
                s.interrupt_handled(m, Some(reason))
            };
            match r {
                Ok(stub) => settle(m, stub),
                Err(e) => recover(m, e, false),
            }
        }
        GdbStubStateMachine::Disconnected(s) => {
            use gdbstub::stub::DisconnectReason;
            match s.get_reason() {
                DisconnectReason::Kill => {
                    eprintln!("armvm: gdb: killed by the debugger");
                    if m.debugger()
                        .and_then(|d| d.session.as_ref())
                        .is_some_and(|s| s.vkill)
                    {
                        send_raw(m, &conn::packet(b"OK"));
                    }
                    end_session(m, None);
                    if let Some(dbg) = m.debugger() {
                        dbg.request = Some(Request::Exit(0));
                    }
                }
                DisconnectReason::TargetExited(_) | DisconnectReason::TargetTerminated(_) => {
                    end_session(m, None)
                }
                DisconnectReason::Disconnect => end_session(m, Some("detach")),
            }
        }
        stub => {
            let halted = matches!(stub, GdbStubStateMachine::Idle(_));
            if let Some(dbg) = m.debugger() {
                dbg.halted = halted;
            }
            put_stub(m, stub);
        }
    }
}

/// gdbstub ended its state machine on a packet it could not parse or did not
/// expect: answer with an error and go on with a fresh stub that knows what the old
/// one had negotiated.
fn recover(
    m: &mut Machine,
    e: gdbstub::stub::GdbStubError<&'static str, std::io::Error>,
    was_running: bool,
) {
    if e.is_connection_error() {
        end_session(m, Some("connection error"));
        return;
    }
    let Some(dbg) = m.debugger() else { return };
    if dbg.recovering {
        // The replay itself failed: nothing sensible is left to do with this client.
        end_session(m, Some("protocol error"));
        return;
    }
    dbg.recoveries += 1;
    eprintln!("armvm: gdb: {e}; answered with an error");
    let Some(s) = dbg.session.as_mut() else {
        return;
    };
    let mut reply = if s.no_ack { vec![] } else { b"+".to_vec() };
    reply.extend(conn::packet(b"E01"));
    let (stream, negotiated) = match s.stream.try_clone() {
        Ok(st) => (st, s.negotiated.clone()),
        Err(_) => {
            end_session(m, Some("connection error"));
            return;
        }
    };
    let Some(mut stub) = new_stub(m, &stream) else {
        end_session(m, Some("cannot restart the stub"));
        return;
    };
    // Replay with the output muted: the client already has these answers.
    mute(&mut stub, true);
    put_stub(m, stub);
    if let Some(dbg) = m.debugger() {
        dbg.recovering = true;
    }
    for p in negotiated.iter().flatten() {
        feed(m, p);
    }
    if was_running {
        // Back to the running state without touching what the vCPUs were told.
        let saved = m
            .debugger()
            .map(|d| (d.actions.clone(), d.scheduler_lock, d.resume_from));
        feed(m, &conn::packet(b"vCont;c"));
        if let (Some(dbg), Some((actions, lock, last))) = (m.debugger(), saved) {
            (dbg.actions, dbg.scheduler_lock, dbg.resume_from) = (actions, lock, last);
        }
        // `resume` applied the new actions to the CPUs; apply the old ones again.
        target::apply_actions(m);
    }
    let Some(dbg) = m.debugger() else { return };
    dbg.recovering = false;
    if dbg.session.is_none() {
        return;
    }
    if let Some(mut stub) = take_stub(m) {
        mute(&mut stub, false);
        put_stub(m, stub);
    }
    send_raw(m, &reply);
}

fn mute(stub: &mut Stub, on: bool) {
    let conn = match stub {
        GdbStubStateMachine::Idle(s) => s.borrow_conn(),
        GdbStubStateMachine::Running(s) => s.borrow_conn(),
        GdbStubStateMachine::CtrlCInterrupt(s) => s.borrow_conn(),
        GdbStubStateMachine::Disconnected(s) => s.borrow_conn(),
    };
    conn.muted = on;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let cases: &[(Option<&str>, bool, bool, Option<&str>)] = &[
            (None, false, false, None),
            (None, true, false, Some(DEFAULT_ADDR)),
            (None, false, true, Some(DEFAULT_ADDR)),
            (Some("4321"), false, false, Some("127.0.0.1:4321")),
            (Some(":4321"), false, false, Some("127.0.0.1:4321")),
            (Some("tcp::4321"), false, false, Some("127.0.0.1:4321")),
            (Some("0.0.0.0:4321"), true, true, Some("0.0.0.0:4321")),
            (Some("[::1]:4321"), false, false, Some("[::1]:4321")),
        ];
        for &(gdb, short, stop, want) in cases {
            assert_eq!(
                listen_address(gdb, short, stop).as_deref(),
                want,
                "{gdb:?} -s {short} -S {stop}"
            );
        }
    }
}
