//! Machine assembly and the run loop.
//!
//! vCPUs run round-robin on one thread, a slice of instructions each: deterministic
//! by construction and simple; all per-vCPU state stays in the vCPU so that one host
//! thread per vCPU can come later. Between slices the loop feeds the timers and the
//! UART into the GIC, services exits (PSCI, semihosting), and sleeps when every
//! running vCPU waits in WFI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use armvm_cpu::cpu::{mpidr_of, SharedCode};
use armvm_cpu::{Cpu, Exit};
use armvm_devices::clock::Clock;
use armvm_devices::gic::GicVersion;
use armvm_devices::virtio::balloon::{Balloon, BalloonControl};
use armvm_devices::virtio::block::image::ImageError;
use armvm_devices::virtio::block::{Block, DiskImage};
use armvm_devices::virtio::console::Console;
use armvm_devices::virtio::net::{self, Net, NetOptions};
use armvm_devices::virtio::rng::{OsEntropy, Rng};
use armvm_devices::virtio::VirtioDevice;
use armvm_firmware::calls::{self, Call};
use armvm_firmware::linux::{self, LinuxError, DTB_MAX};
use armvm_firmware::loader::{self, LoadError};
use armvm_firmware::psci::{self, Outcome as PsciOutcome, PowerState};
use armvm_firmware::semihosting::{HeapInfo, Outcome, Semihosting};
use armvm_firmware::uefi::service::Service;
use armvm_firmware::uefi::variables::VarsError;
use armvm_firmware::uefi::{self, DirectKernel, Guest, Uefi};
use armvm_firmware::{fdt, linux::Layout};

use crate::board::{self, map, Board, BoardConfig, BoardError};
use crate::cli::{DeviceKind, EngineArg, FirmwareArg, PsciConduit, RunArgs};
use crate::console::{self, ConsoleTarget, Control, HostInput, RawMode, SerialTarget};
use crate::firmware::{self, FirmwareDisks};
use crate::gdb;
use crate::monitor;
use crate::trace::Tracer;
use armvm_devices::Locked;

/// Instructions per vCPU between looks at timers, interrupts and input.
const SLICE_ONE_CPU: u64 = 100_000;
const SLICE_SMP: u64 = 20_000;
/// Longest sleep while every vCPU waits for an interrupt.
const MAX_IDLE: Duration = Duration::from_millis(10);
/// Exit status when the guest resets the machine under --no-reboot.
pub const NO_REBOOT_STATUS: u8 = 3;
const TWO_MIB: u64 = 2 << 20;

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load {}", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: LoadError,
    },
    #[error("cannot boot {}", path.display())]
    Linux {
        path: PathBuf,
        #[source]
        source: LinuxError,
    },
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error(transparent)]
    Disk(#[from] ImageError),
    #[error("cannot listen on {} for the monitor", path.display())]
    Monitor {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the variables file {} is larger than the 64 MiB flash bank", path.display())]
    VarsTooLarge { path: PathBuf },
    #[error("network: {0}")]
    Network(String),
    #[error("cannot open the host's random source for virtio-rng")]
    Entropy(#[source] std::io::Error),
    #[error("cannot listen on {} for the virtio console", path.display())]
    ConsoleSocket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Variables(#[from] VarsError),
    #[error("the built-in UEFI cannot start: {0}")]
    Uefi(#[from] uefi::UefiError),
    #[error("--smp must be at least 1")]
    NoCpus,
    #[error("GICv{version} supports at most {max} vCPUs; {asked} were asked for")]
    TooManyCpus {
        version: u8,
        max: usize,
        asked: usize,
    },
    #[error("cannot build the device tree: {0}")]
    Fdt(String),
    #[error("the device tree {} is larger than 2 MiB", path.display())]
    DtbTooLarge { path: PathBuf },
    #[error("{what} ({size:#x} bytes) does not fit in guest RAM")]
    DoesNotFit { what: &'static str, size: u64 },
    #[error("cannot listen for gdb on {addr}")]
    Gdb {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

fn read_file(path: &Path) -> Result<Vec<u8>, MachineError> {
    std::fs::read(path).map_err(|source| MachineError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Boots the machine described by `args`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<u8, MachineError> {
    let version = args.gic.version();
    if args.smp == 0 {
        return Err(MachineError::NoCpus);
    }
    let max = board::max_cpus(version);
    if args.smp > max {
        return Err(MachineError::TooManyCpus {
            version: if version == GicVersion::V3 { 3 } else { 2 },
            max,
            asked: args.smp,
        });
    }
    if let Some(path) = &args.dump_dtb {
        let m = Machine::build(args, version, None, None)?;
        std::fs::write(path, &m.dtb).map_err(|source| MachineError::Create {
            path: path.clone(),
            source,
        })?;
        return Ok(0);
    }

    // gdb: one debugger for the whole run; it moves into each machine a reset builds.
    let mut gdb = match gdb::listen_address(args.gdb.as_deref(), args.gdb_default, args.gdb_stop) {
        Some(addr) => Some(
            gdb::Debugger::start(&addr, args.gdb_stop)
                .map_err(|source| MachineError::Gdb { addr, source })?,
        ),
        None => None,
    };
    let stdio = args.serial == SerialTarget::Stdio || args.console == Some(ConsoleTarget::Stdio);
    let _raw = if stdio { RawMode::enter() } else { None };
    let input = console::spawn_input(_raw.is_some());
    let balloon_slot = Arc::new(Mutex::new(None));
    if let Some(path) = &args.monitor {
        let target = monitor::MonitorTarget {
            balloon: balloon_slot.clone(),
            ram_size: args.memory,
            control: input.control_sender.clone(),
        };
        monitor::start(path, target).map_err(|source| MachineError::Monitor {
            path: path.clone(),
            source,
        })?;
    }
    loop {
        let tracer = match &args.trace {
            Some(path) => {
                let file = std::fs::File::create(path).map_err(|source| MachineError::Create {
                    path: path.clone(),
                    source,
                })?;
                Some(Tracer::new(
                    Box::new(std::io::BufWriter::new(file)),
                    args.trace_limit,
                    args.trace_range,
                ))
            }
            None => None,
        };
        let mut m = Machine::build(args, version, tracer, Some(&input))?;
        m.gdb = gdb.take();
        *balloon_slot.locked() = m.balloon.clone();
        let stop = m.run(&input);
        gdb = m.gdb.take();
        match stop {
            Stop::Exit(code) => return Ok(code),
            Stop::Reset if args.no_reboot => return Ok(NO_REBOOT_STATUS),
            Stop::Reset => continue,
        }
    }
}

enum Stop {
    Exit(u8),
    Reset,
}

struct Vcpu {
    cpu: Cpu,
    power: PowerState,
    /// Waiting in WFI (or PSCI CPU_SUSPEND) for an interrupt.
    sleeping: bool,
}

pub(crate) struct Machine {
    vcpus: Vec<Vcpu>,
    board: Board,
    semihosting: Option<Semihosting>,
    /// UART input is taken from the console (not when semihosting reads it).
    uart_input: bool,
    psci_smc: bool,
    dtb: Vec<u8>,
    tracer: Option<Tracer>,
    /// `--stats`: print statistics on exit.
    stats: bool,
    /// The gdb stub (src/gdb), when --gdb/-s/-S asked for one.
    gdb: Option<gdb::Debugger>,
    /// The balloon's control, for the monitor.
    balloon: Option<Arc<BalloonControl>>,
    /// Where the firmware's variables are kept (`--vars`).
    vars_path: Option<PathBuf>,
    /// The built-in UEFI, when it boots the machine.
    uefi: Option<Uefi>,
    /// The built-in UEFI waits (for a key or a timer): sleep this long at most.
    firmware_wait: Option<Duration>,
}

/// Whether the built-in UEFI boots this machine.
fn builtin_uefi(args: &RunArgs) -> bool {
    args.bios.is_none()
        && match args.firmware {
            FirmwareArg::Uefi => true,
            FirmwareArg::None => false,
            FirmwareArg::Auto => args.kernel.is_none(),
        }
}

impl Machine {
    fn build(
        args: &RunArgs,
        version: GicVersion,
        tracer: Option<Tracer>,
        input: Option<&HostInput>,
    ) -> Result<Machine, MachineError> {
        let VirtioSetup {
            devices: virtio,
            balloon,
            disks,
        } = virtio_devices(args, input)?;
        let builtin = builtin_uefi(args);
        // Before anything else: a bad variables file stops here, untouched.
        let variables = if builtin {
            Some(firmware::open_variables(args.vars.as_ref())?)
        } else {
            None
        };
        let serial_out: Box<dyn Write + Send> = match &args.serial {
            SerialTarget::Stdio => Box::new(std::io::stdout()),
            SerialTarget::None => Box::new(std::io::sink()),
            SerialTarget::File(p) => {
                Box::new(
                    std::fs::File::create(p).map_err(|source| MachineError::Create {
                        path: p.clone(),
                        source,
                    })?,
                )
            }
        };
        let shared_code = SharedCode::new(args.smp);
        if args.engine == EngineArg::Jit {
            match armvm_jit::Jit::new(args.jit_cache_size as usize) {
                Some(jit) => shared_code.set_translator(Some(Box::new(jit))),
                None => eprintln!("armvm: this host cannot run the JIT; interpreting"),
            }
        }
        let id_registers = args.cpu.model().id_registers();
        let mut vcpus: Vec<Vcpu> = (0..args.smp)
            .map(|i| {
                let mut cpu = Cpu::new(i);
                cpu.id = id_registers.clone();
                cpu.share_code(shared_code.clone());
                cpu.semihosting = args.semihosting;
                if version == GicVersion::V3 {
                    // ID_AA64PFR0_EL1.GIC: the GICv3 system-register interface.
                    cpu.pfr0_extra = 1 << 24;
                }
                Vcpu {
                    cpu,
                    power: if i == 0 {
                        PowerState::On
                    } else {
                        PowerState::Off
                    },
                    sleeping: false,
                }
            })
            .collect();
        if let Some(t) = &tracer {
            for v in &mut vcpus {
                v.cpu.set_trace(Some(t.hook()));
            }
        }
        let mut board = Board::build(BoardConfig {
            gic: version,
            cpus: args.smp,
            ram_size: args.memory,
            serial_out,
            irq_flags: vcpus
                .iter()
                .map(|v| v.cpu.interrupts_changed.clone())
                .collect(),
            code: shared_code,
            virtio,
            firmware: args.bios.as_deref().map(read_file).transpose()?,
            vars: if args.bios.is_some() {
                read_vars(args)?
            } else {
                None
            },
        })?;

        let (dtb, heap, uefi) = match variables {
            Some(variables) => {
                let dtb = guest_dtb(args, version, None, "")?;
                let direct = direct_kernel(args)?;
                let mut uefi =
                    firmware::build(&board, args.memory, dtb.clone(), disks, variables, direct);
                uefi.install(&mut vcpus[0].cpu)?;
                (dtb, firmware_heap(args), Some(uefi))
            }
            None => {
                let (entry, dtb, heap) = load_guest(args, version, &mut board)?;
                let boot = &mut vcpus[0].cpu;
                boot.regs.pc = entry.pc;
                boot.regs.x[0] = entry.dtb_addr;
                (dtb, heap, None)
            }
        };
        let semihosting = args.semihosting.then(|| {
            Semihosting::new(
                Box::new(std::io::stdout()),
                Box::new(std::io::stderr()),
                Box::new(|| None),
                args.append.clone(),
                heap,
            )
        });
        Ok(Machine {
            vcpus,
            board,
            semihosting,
            // With the virtio console on stdio, typed input goes there instead.
            uart_input: !args.semihosting
                && args.serial != SerialTarget::None
                && args.console != Some(ConsoleTarget::Stdio),
            psci_smc: args.psci_conduit == PsciConduit::Smc,
            dtb,
            tracer,
            stats: args.stats,
            gdb: None,
            balloon,
            vars_path: args.vars.clone(),
            uefi,
            firmware_wait: None,
        })
    }

    fn run(&mut self, input: &HostInput) -> Stop {
        if let Some(s) = &mut self.semihosting {
            let (bytes, control) = (input.bytes.clone(), input.control.clone());
            // A blocking read that gives up (end of input) when the host wants to
            // stop, leaving that request for the run loop.
            s.set_input(Box::new(move || loop {
                if !control.is_empty() {
                    return None;
                }
                match bytes.recv_timeout(Duration::from_millis(50)) {
                    Ok(b) => return Some(b),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
                }
            }));
        }
        let slice = if self.vcpus.len() == 1 {
            SLICE_ONE_CPU
        } else {
            SLICE_SMP
        };
        let stop = loop {
            // gdb: serve the debugger; while it holds the machine stopped, this waits.
            if self.gdb.is_some() {
                match gdb::serve(self) {
                    Some(gdb::Request::Exit(code)) => break Stop::Exit(code),
                    Some(gdb::Request::Reset) => break Stop::Reset,
                    None => {}
                }
            }
            if let Some(stop) = self.poll_input(input) {
                break stop;
            }
            self.update_timers();
            self.board.poll_timed_devices();
            self.board.service_devices();
            let mut ran = false;
            for i in 0..self.vcpus.len() {
                if let Some(stop) = self.run_vcpu(i, slice, &mut ran) {
                    return self.finish(stop);
                }
                // gdb: a vCPU stopped for the debugger stops the machine (all-stop).
                if self.gdb.as_ref().is_some_and(|g| g.wants_stop()) {
                    break;
                }
            }
            if self.vcpus.iter().all(|v| v.power == PowerState::Off) {
                eprintln!("armvm: every vCPU is off; stopping");
                break Stop::Exit(0);
            }
            let firmware_wait = self.firmware_wait.take();
            if !ran || firmware_wait.is_some() {
                if let Some(stop) = self.idle(input, firmware_wait.unwrap_or(MAX_IDLE)) {
                    break stop;
                }
            }
            if self.tracer.as_ref().is_some_and(|t| t.finished()) {
                for v in &mut self.vcpus {
                    v.cpu.set_trace(None);
                }
            }
        };
        self.finish(stop)
    }

    fn finish(&mut self, stop: Stop) -> Stop {
        // gdb: tell a waiting debugger that the program exited.
        if self.gdb.is_some() {
            let code = match stop {
                Stop::Exit(code) => Some(code),
                Stop::Reset => None,
            };
            gdb::machine_stopped(self, code);
        }
        self.board.shutdown();
        self.save_vars();
        self.board.uart.locked().flush();
        let _ = std::io::stdout().flush();
        if let Some(t) = self.tracer.take() {
            for v in &self.vcpus {
                t.summarize(&v.cpu);
            }
            t.close();
        }
        if self.stats {
            self.print_statistics();
        }
        stop
    }

    /// `--stats`: what ran, on standard error.
    fn print_statistics(&self) {
        for v in &self.vcpus {
            eprintln!(
                "armvm: cpu{}: {} instructions retired",
                v.cpu.index, v.cpu.icount
            );
        }
        for (name, value) in self.board.code.translator_statistics() {
            eprintln!("armvm: {name}: {value}");
        }
    }

    /// Writes the firmware's variables flash back to `--vars` if the firmware
    /// changed it: to a temporary file, synced, then renamed over the old one,
    /// so that a crash leaves the previous contents whole.
    fn save_vars(&mut self) {
        if let Some(u) = &mut self.uefi {
            if let Err(e) = u.save_variables() {
                eprintln!("armvm: cannot save the UEFI variables: {e}");
            }
        }
        let (Some(path), Some(flash)) = (&self.vars_path, &self.board.vars_flash) else {
            return;
        };
        let mut flash = flash.locked();
        if !flash.take_dirty() {
            return;
        }
        if let Err(e) = write_atomically(path, flash.contents()) {
            eprintln!(
                "armvm: cannot save the firmware variables to {}: {e}",
                path.display()
            );
        }
    }

    /// Ctrl-A x and host signals stop the machine; console input moves into the
    /// UART as far as its FIFO has room.
    fn poll_input(&mut self, input: &HostInput) -> Option<Stop> {
        if let Ok(c) = input.control.try_recv() {
            return Some(control_stop(c));
        }
        if !self.uart_input {
            return None;
        }
        let mut uart = self.board.uart.locked();
        while uart.can_receive() {
            match input.bytes.try_recv() {
                Ok(b) => uart.receive(b),
                Err(_) => break,
            }
        }
        None
    }

    fn update_timers(&mut self) {
        let now = self.board.clock.ticks();
        let mut gic = self.board.gic.locked();
        for (i, v) in self.vcpus.iter().enumerate() {
            let (virt, phys) = v.cpu.timer_levels(now);
            gic.set_level(i, board::PPI_VIRT_TIMER, virt);
            gic.set_level(i, board::PPI_PHYS_TIMER, phys);
        }
        drop(gic);
        self.board.flag_all();
    }

    /// Runs vCPU `i` for a slice if it can run; sets `ran` if it did.
    fn run_vcpu(&mut self, i: usize, slice: u64, ran: &mut bool) -> Option<Stop> {
        if self.vcpus[i].power != PowerState::On {
            return None;
        }
        // gdb: a vCPU the debugger holds does not run; a stepping one runs one instruction.
        let slice = self.gdb.as_ref().map_or(slice, |g| g.budget(i, slice));
        if slice == 0 {
            return None;
        }
        let v = &mut self.vcpus[i];
        if v.sleeping {
            v.cpu.refresh_interrupt_lines(&mut self.board);
            if !(v.cpu.irq_line || v.cpu.fiq_line) {
                return None;
            }
            v.sleeping = false;
        }
        *ran = true;
        let exit = v.cpu.run(&mut self.board, slice);
        // gdb: breakpoints, watchpoints and finished steps become stops.
        if let Some(g) = &mut self.gdb {
            g.after_run(i, exit, &mut v.cpu);
        }
        match exit {
            Exit::BudgetSpent | Exit::Wfe | Exit::Breakpoint | Exit::Watchpoint(_) => None,
            Exit::Wfi => {
                self.vcpus[i].sleeping = true;
                None
            }
            Exit::Hvc(imm) | Exit::Smc(imm) => {
                let is_smc = matches!(exit, Exit::Smc(_));
                match calls::route(imm, is_smc, self.psci_smc, self.uefi.is_some()) {
                    Call::Psci => self.psci(i),
                    Call::Uefi(service) => self.uefi_call(i, service),
                    Call::Unknown => {
                        let cpu = &mut self.vcpus[i].cpu;
                        let pc = cpu.regs.pc.wrapping_sub(4);
                        cpu.undefined_instruction(pc);
                        None
                    }
                }
            }
            Exit::Semihosting => {
                let s = self
                    .semihosting
                    .as_mut()
                    .expect("semihosting exits only when enabled");
                match s.handle(&mut self.vcpus[i].cpu, &mut self.board) {
                    Outcome::Continue => None,
                    Outcome::Exit(code) => Some(Stop::Exit(code as u8)),
                }
            }
        }
    }

    /// A call into the built-in UEFI from vCPU `i`.
    fn uefi_call(&mut self, i: usize, service: Service) -> Option<Stop> {
        let mem = self.board.memory.clone();
        let uefi = self.uefi.as_mut()?;
        let mut guest = Guest {
            cpu: &mut self.vcpus[i].cpu,
            phys: &mut self.board,
            mem: &mem,
        };
        match uefi.call(service, &mut guest) {
            uefi::Outcome::Continue => None,
            uefi::Outcome::Wait(d) => {
                self.firmware_wait = Some(d);
                None
            }
            uefi::Outcome::Reset => Some(Stop::Reset),
            uefi::Outcome::PowerOff => Some(Stop::Exit(0)),
            uefi::Outcome::Halt(why) => {
                eprintln!("armvm: {why}");
                Some(Stop::Exit(1))
            }
        }
    }

    fn psci(&mut self, caller: usize) -> Option<Stop> {
        let mpidrs: Vec<u64> = (0..self.vcpus.len()).map(mpidr_of).collect();
        let power: Vec<PowerState> = self.vcpus.iter().map(|v| v.power).collect();
        let x = &self.vcpus[caller].cpu.regs.x;
        match psci::call(x[0], [x[1], x[2], x[3]], &mpidrs, &power) {
            PsciOutcome::Return(v) => self.vcpus[caller].cpu.regs.x[0] = v as u64,
            PsciOutcome::CpuOn {
                target,
                entry,
                context_id,
            } => {
                let t = &mut self.vcpus[target];
                t.cpu.reset();
                t.cpu.regs.pc = entry;
                t.cpu.regs.x[0] = context_id;
                t.power = PowerState::On;
                t.sleeping = false;
                self.vcpus[caller].cpu.regs.x[0] = psci::status::SUCCESS as u64;
            }
            PsciOutcome::CpuOff => self.vcpus[caller].power = PowerState::Off,
            PsciOutcome::Suspend => {
                let v = &mut self.vcpus[caller];
                v.cpu.regs.x[0] = psci::status::SUCCESS as u64;
                v.sleeping = true;
            }
            PsciOutcome::SystemOff => return Some(Stop::Exit(0)),
            PsciOutcome::SystemReset => return Some(Stop::Reset),
        }
        None
    }

    /// Every running vCPU waits: sleep until the next timer deadline, console
    /// input, a device interrupt, a host signal, or a short while, whichever
    /// comes first.
    fn idle(&mut self, input: &HostInput, longest: Duration) -> Option<Stop> {
        let deadline = self
            .vcpus
            .iter()
            .filter(|v| v.power == PowerState::On)
            .filter_map(|v| v.cpu.next_timer_deadline())
            .min();
        let wait = deadline.map_or(longest, |d| self.board.clock.until(d).min(longest));
        if wait.is_zero() {
            return None;
        }
        // Input that the UART has no room for waits in its channel.
        let uart_ready = self.uart_input && self.board.uart.locked().can_receive();
        let never = crossbeam_channel::never();
        let bytes = if uart_ready { &input.bytes } else { &never };
        crossbeam_channel::select! {
            recv(bytes) -> b => match b {
                Ok(b) => self.board.uart.locked().receive(b),
                // Input ended (a closed pipe): keep time moving without it.
                Err(_) => std::thread::sleep(wait),
            },
            recv(input.control) -> c => {
                if let Ok(c) = c {
                    return Some(control_stop(c));
                }
            }
            recv(self.board.wakeups()) -> _ => {}
            default(wait) => {}
        }
        None
    }
}

/// How a host request ends the machine: Ctrl-A x as a clean exit (0), a signal
/// with 128 + its number, as shells report it.
fn control_stop(c: Control) -> Stop {
    match c {
        Control::Quit => Stop::Exit(0),
        Control::Signal(sig) => {
            eprintln!("armvm: stopping on signal {sig}");
            Stop::Exit(128u8.wrapping_add(sig as u8))
        }
    }
}

/// gdb: what the debugger sees of the machine.
impl gdb::Guest for Machine {
    fn debugger(&mut self) -> Option<&mut gdb::Debugger> {
        self.gdb.as_mut()
    }
    fn parts(&mut self) -> gdb::Parts<'_> {
        gdb::Parts {
            debugger: self.gdb.as_mut(),
            cpus: self.vcpus.iter_mut().map(|v| &mut v.cpu).collect(),
            board: &mut self.board,
        }
    }
    fn vcpu_status(&self, i: usize) -> Option<gdb::VcpuStatus> {
        self.vcpus.get(i).map(|v| gdb::VcpuStatus {
            on: v.power == PowerState::On,
            sleeping: v.sleeping,
        })
    }
}

/// The virtio devices of a machine, and the host's handles on them.
struct VirtioSetup {
    /// In slot order.
    devices: Vec<Box<dyn VirtioDevice>>,
    balloon: Option<Arc<BalloonControl>>,
    /// The disks, for the built-in firmware.
    disks: FirmwareDisks,
}

/// The virtio devices of `args`, in slot order: the devices in command-line
/// order, then the RNG.
/// Disk images are opened (and locked) here, before the guest starts.
fn virtio_devices(args: &RunArgs, input: Option<&HostInput>) -> Result<VirtioSetup, MachineError> {
    let mut devices: Vec<Box<dyn VirtioDevice>> = Vec::new();
    let mut balloon_control = None;
    let mut disks = Vec::new();
    for kind in device_order(args) {
        match kind {
            DeviceKind::Disk(n) => {
                let image = DiskImage::open(&args.disks[n])?;
                let block = Block::new(Box::new(image));
                let slot = devices.len() as u64;
                disks.push((block.shared_disk(), board::slot_base(slot)));
                devices.push(Box::new(block));
            }
            DeviceKind::Net(n) => devices.push(Box::new(network(n, &args.nets[n])?)),
            DeviceKind::Console => devices.extend(console_device(args, input)?),
            DeviceKind::Balloon => {
                let balloon = Balloon::new(args.balloon.unwrap_or(0));
                balloon_control = Some(balloon.control());
                devices.push(Box::new(balloon));
            }
        }
    }
    if !args.no_rng {
        let source = OsEntropy::open().map_err(MachineError::Entropy)?;
        devices.push(Box::new(Rng::new(Box::new(source))));
    }
    Ok(VirtioSetup {
        devices,
        balloon: balloon_control,
        disks: FirmwareDisks(disks),
    })
}

/// The order of the virtio options on the command line, or (when the
/// arguments did not come from it) disks, cards, console, balloon.
fn device_order(args: &RunArgs) -> Vec<DeviceKind> {
    if !args.device_order.is_empty() {
        return args.device_order.clone();
    }
    let mut order: Vec<DeviceKind> = (0..args.disks.len()).map(DeviceKind::Disk).collect();
    order.extend((0..args.nets.len()).map(DeviceKind::Net));
    order.extend(args.console.is_some().then_some(DeviceKind::Console));
    order.extend(args.balloon.is_some().then_some(DeviceKind::Balloon));
    order
}

/// The virtio console `--console` asks for (none for `none`).
fn console_device(
    args: &RunArgs,
    input: Option<&HostInput>,
) -> Result<Option<Box<dyn VirtioDevice>>, MachineError> {
    Ok(match &args.console {
        None | Some(ConsoleTarget::None) => None,
        Some(ConsoleTarget::Stdio) => Some(Box::new(Console::new(
            Box::new(std::io::stdout()),
            input.map(|i| i.bytes.clone()),
        ))),
        Some(ConsoleTarget::File(path)) => {
            let file = std::fs::File::create(path).map_err(|source| MachineError::Create {
                path: path.clone(),
                source,
            })?;
            Some(Box::new(Console::new(Box::new(file), None)))
        }
        Some(ConsoleTarget::Socket(path)) => {
            let (output, input) =
                console::socket_console(path).map_err(|source| MachineError::ConsoleSocket {
                    path: path.clone(),
                    source,
                })?;
            Some(Box::new(Console::new(output, Some(input))))
        }
    })
}

/// The `index`th network card. Without `mac=`, cards get QEMU's default MAC
/// with the last byte counting up, so that each is stable across runs.
fn network(index: usize, options: &NetOptions) -> Result<Net, MachineError> {
    let mut mac = options.mac;
    if mac == net::options::DEFAULT_MAC {
        mac[5] = mac[5].wrapping_add(index as u8);
    }
    let backend: Box<dyn net::NetBackend> = match &options.backend {
        net::options::Backend::User { net, forwards } => {
            Box::new(net::slirp::start(*net, forwards).map_err(MachineError::Network)?)
        }
        net::options::Backend::Tap { ifname } => Box::new(
            net::tap::open(ifname)
                .map_err(|e| MachineError::Network(format!("cannot open tap {ifname}: {e}")))?,
        ),
    };
    Ok(Net::new(mac, backend))
}

/// Where the boot vCPU starts.
struct Entry {
    pc: u64,
    dtb_addr: u64,
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// The `--vars` file's contents: empty (erased flash) if it does not exist yet.
fn read_vars(args: &RunArgs) -> Result<Option<Vec<u8>>, MachineError> {
    let Some(path) = &args.vars else {
        return Ok(None);
    };
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(MachineError::Read {
                path: path.clone(),
                source,
            })
        }
    };
    if data.len() as u64 > map::FLASH1.1 {
        return Err(MachineError::VarsTooLarge { path: path.clone() });
    }
    Ok(Some(data))
}

/// Replaces `path` with `data` so that a crash leaves either the old or the
/// new contents: a temporary file beside it, synced, then renamed.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("armvm-tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The device tree the guest gets: `--dtb` as given, or generated from the board.
fn guest_dtb(
    args: &RunArgs,
    version: GicVersion,
    initrd_range: Option<(u64, u64)>,
    bootargs: &str,
) -> Result<Vec<u8>, MachineError> {
    if let Some(path) = &args.dtb {
        let d = read_file(path)?;
        if d.len() as u64 > DTB_MAX {
            return Err(MachineError::DtbTooLarge { path: path.clone() });
        }
        return Ok(d);
    }
    let mpidrs = (0..args.smp).map(mpidr_of).collect();
    let desc = board::describe(
        version,
        mpidrs,
        args.memory,
        args.psci_conduit.name(),
        bootargs.to_string(),
        initrd_range,
        args.bios.is_some(),
    );
    fdt::build(&desc).map_err(|e| MachineError::Fdt(e.to_string()))
}

/// For firmware (`--bios`): the DTB at the start of RAM, where EDK2 and U-Boot
/// look for it on QEMU's virt, and the vCPU at the flash's first word.
fn load_firmware_dtb(
    args: &RunArgs,
    version: GicVersion,
    board: &mut Board,
) -> Result<(Entry, Vec<u8>, HeapInfo), MachineError> {
    let dtb = guest_dtb(args, version, None, &args.append)?;
    if !board.load(map::RAM_BASE, &dtb) {
        return Err(MachineError::DoesNotFit {
            what: "the device tree",
            size: dtb.len() as u64,
        });
    }
    let ram_top = map::RAM_BASE + args.memory;
    let heap = HeapInfo {
        heap_base: map::RAM_BASE + DTB_MAX,
        heap_limit: ram_top - (1 << 20),
        stack_base: ram_top,
        stack_limit: ram_top - (1 << 20),
    };
    let entry = Entry {
        pc: map::FLASH0.0,
        dtb_addr: 0,
    };
    Ok((entry, dtb, heap))
}

/// Semihosting's heap and stack under the built-in firmware: the top of RAM
/// (only bare-metal programs that never call UEFI use them).
fn firmware_heap(args: &RunArgs) -> HeapInfo {
    let ram_top = map::RAM_BASE + args.memory;
    HeapInfo {
        heap_base: map::RAM_BASE + DTB_MAX,
        heap_limit: ram_top - (1 << 20),
        stack_base: ram_top,
        stack_limit: ram_top - (1 << 20),
    }
}

/// `--kernel` under the built-in UEFI: the kernel (decompressed if gzipped:
/// the EFI stub is in the Image), its initrd and command line.
fn direct_kernel(args: &RunArgs) -> Result<Option<DirectKernel>, MachineError> {
    let Some(path) = &args.kernel else {
        return Ok(None);
    };
    let kernel = linux::decompress(read_file(path)?).map_err(|source| MachineError::Linux {
        path: path.clone(),
        source,
    })?;
    Ok(Some(DirectKernel {
        kernel,
        initrd: args.initrd.as_deref().map(read_file).transpose()?,
        cmdline: args.append.clone(),
    }))
}

/// Loads the kernel (Linux Image, ELF or raw), the initrd and the DTB into RAM.
fn load_guest(
    args: &RunArgs,
    version: GicVersion,
    board: &mut Board,
) -> Result<(Entry, Vec<u8>, HeapInfo), MachineError> {
    let ram_top = map::RAM_BASE + args.memory;
    let Some(kernel_path) = &args.kernel else {
        return load_firmware_dtb(args, version, board);
    };
    let image = read_file(kernel_path)?;
    let initrd = args.initrd.as_deref().map(read_file).transpose()?;
    let bus = &*board;

    let (pc, image_end, layout_dtb, initrd_range) =
        if loader::is_elf(&image) || args.load_addr.is_some() {
            let loaded = loader::load(&image, args.load_addr, &mut |pa, d| bus.load(pa, d))
                .map_err(|source| MachineError::Load {
                    path: kernel_path.clone(),
                    source,
                })?;
            let mut next = align_up(loaded.end, TWO_MIB);
            let initrd_range = match &initrd {
                Some(data) => {
                    let r = (next, next + data.len() as u64);
                    next = align_up(r.1, TWO_MIB);
                    Some(r)
                }
                None => None,
            };
            // The DTB goes at the start of RAM when the program leaves it free, as QEMU does.
            let dtb = if loaded.start >= map::RAM_BASE + DTB_MAX || loaded.end <= map::RAM_BASE {
                map::RAM_BASE
            } else {
                next
            };
            (loaded.entry, loaded.end, dtb, initrd_range)
        } else {
            let image = linux::decompress(image).map_err(|source| MachineError::Linux {
                path: kernel_path.clone(),
                source,
            })?;
            let header = linux::parse_header(&image).map_err(|source| MachineError::Linux {
                path: kernel_path.clone(),
                source,
            })?;
            let Layout {
                kernel,
                initrd: initrd_range,
                dtb,
            } = linux::layout(
                &header,
                image.len() as u64,
                initrd.as_ref().map(|d| d.len() as u64),
                map::RAM_BASE,
                args.memory,
            )
            .map_err(|source| MachineError::Linux {
                path: kernel_path.clone(),
                source,
            })?;
            if !bus.load(kernel, &image) {
                return Err(MachineError::DoesNotFit {
                    what: "the kernel",
                    size: image.len() as u64,
                });
            }
            (
                kernel,
                kernel + header.image_size.max(image.len() as u64),
                dtb,
                initrd_range,
            )
        };

    if let (Some(data), Some((start, _))) = (&initrd, initrd_range) {
        if !bus.load(start, data) {
            return Err(MachineError::DoesNotFit {
                what: "the initrd",
                size: data.len() as u64,
            });
        }
    }
    let dtb = guest_dtb(args, version, initrd_range, &args.append)?;
    if layout_dtb + dtb.len() as u64 > ram_top || !bus.load(layout_dtb, &dtb) {
        return Err(MachineError::DoesNotFit {
            what: "the device tree",
            size: dtb.len() as u64,
        });
    }
    let heap_base = align_up(image_end.max(initrd_range.map_or(0, |r| r.1)), 0x1000);
    let heap = HeapInfo {
        heap_base,
        heap_limit: ram_top - (1 << 20),
        stack_base: ram_top,
        stack_limit: ram_top - (1 << 20),
    };
    Ok((
        Entry {
            pc,
            dtb_addr: layout_dtb,
        },
        dtb,
        heap,
    ))
}
