//! Machine assembly and the run loop: RAM, devices, the vCPU, and the services its
//! exits ask for (semihosting, sleeping in WFI).

use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use armvm_cpu::memory::{BusError, PhysMemory, Ram, RamError};
use armvm_cpu::{Cpu, Exit, Platform};
use armvm_devices::clock::COUNTER_HZ;
use armvm_devices::pl011::Pl011;
use armvm_devices::{Bus, Clock, HostClock};
use armvm_firmware::loader::{self, LoadError};
use armvm_firmware::semihosting::{HeapInfo, Outcome, Semihosting};
use crossbeam_channel::Receiver;

use crate::cli::RunArgs;
use crate::trace::Tracer;

/// The board's memory map (in the style of QEMU's virt).
pub const UART_BASE: u64 = 0x0900_0000;
pub const UART_SIZE: u64 = 0x1000;
pub const RAM_BASE: u64 = 0x4000_0000;

/// Instructions run between checks of timers, interrupts and input.
const SLICE: u64 = 100_000;
/// Longest sleep in WFI before looking again (input may have arrived).
const MAX_IDLE: Duration = Duration::from_millis(10);

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
    #[error("cannot set up guest RAM")]
    Ram(#[from] RamError),
    #[error("cannot create trace file {}", path.display())]
    Trace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the vCPU sees of the machine: the bus and the clock.
struct Board {
    bus: Bus,
    clock: HostClock,
}

impl PhysMemory for Board {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.bus.ram_page(pa)
    }
    fn mmio_read(&mut self, pa: u64, size: u8) -> Result<u64, BusError> {
        self.bus.mmio_read(pa, size)
    }
    fn mmio_write(&mut self, pa: u64, size: u8, value: u64) -> Result<(), BusError> {
        self.bus.mmio_write(pa, size, value)
    }
}

impl Platform for Board {
    fn counter(&mut self) -> u64 {
        self.clock.ticks()
    }
    fn counter_frequency(&self) -> u64 {
        self.clock.frequency()
    }
}

/// Host standard input as a stream of bytes, read by a thread.
fn spawn_stdin_reader() -> Receiver<u8> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 || buf[..n].iter().any(|b| tx.send(*b).is_err()) {
                break;
            }
        }
    });
    rx
}

/// Boots the machine described by `args`; returns the exit status.
pub fn run(args: &RunArgs) -> Result<u8, MachineError> {
    let mut bus = Bus::default();
    bus.log_unmapped = std::env::var_os("ARMVM_DEBUG").is_some();
    bus.add_ram(Ram::new(RAM_BASE, args.memory)?);
    let uart = Rc::new(RefCell::new(Pl011::new(Box::new(std::io::stdout()))));
    bus.add_device(UART_BASE, UART_SIZE, uart.clone());

    let image = std::fs::read(&args.kernel).map_err(|source| MachineError::Read {
        path: args.kernel.clone(),
        source,
    })?;
    let loaded = loader::load(&image, args.load_addr, &mut |pa, data| {
        bus.write_ram(pa, data)
    })
    .map_err(|source| MachineError::Load {
        path: args.kernel.clone(),
        source,
    })?;

    let mut board = Board {
        bus,
        clock: HostClock::new(COUNTER_HZ),
    };
    let mut cpu = Cpu::new(0);
    cpu.regs.pc = loaded.entry;
    cpu.semihosting = args.semihosting;

    let tracer = match &args.trace {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|source| MachineError::Trace {
                path: path.clone(),
                source,
            })?;
            let tracer = Tracer::new(
                Box::new(std::io::BufWriter::new(file)),
                args.trace_limit,
                args.trace_range,
            );
            cpu.set_trace(Some(tracer.hook()));
            Some(tracer)
        }
        None => None,
    };

    let input = spawn_stdin_reader();
    let ram_top = RAM_BASE + args.memory;
    let heap = HeapInfo {
        heap_base: (loaded.end + 0xfff) & !0xfff,
        heap_limit: ram_top - (1 << 20),
        stack_base: ram_top,
        stack_limit: ram_top - (1 << 20),
    };
    let semihost_input = input.clone();
    let mut semihosting = Semihosting::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        Box::new(move || semihost_input.recv().ok()),
        args.append.clone(),
        heap,
    );

    let status = loop {
        // No interrupt controller yet: the timers and the UART drive IRQ directly.
        let now = board.clock.ticks();
        let (virt, phys) = cpu.timer_levels(now);
        if !args.semihosting {
            let mut u = uart.borrow_mut();
            while u.can_receive() {
                match input.try_recv() {
                    Ok(b) => u.receive(b),
                    Err(_) => break,
                }
            }
        }
        cpu.irq_line = virt || phys || uart.borrow().irq_level();

        match cpu.run(&mut board, SLICE) {
            Exit::BudgetSpent | Exit::Wfe => {}
            Exit::Wfi => idle(&cpu, &board, &input),
            Exit::Hvc(_) | Exit::Smc(_) => {
                // No firmware answers HVC/SMC on this board yet.
                let pc = cpu.regs.pc.wrapping_sub(4);
                cpu.undefined_instruction(pc);
            }
            Exit::Semihosting => {
                if let Outcome::Exit(code) = semihosting.handle(&mut cpu, &mut board) {
                    break code;
                }
            }
        }
        if tracer.as_ref().is_some_and(|t| t.finished()) {
            cpu.set_trace(None);
        }
    };
    uart.borrow_mut().flush();
    let _ = std::io::stdout().flush();
    if let Some(t) = tracer {
        t.finish(&cpu);
    }
    Ok(status as u8)
}

/// WFI: sleeps until the next timer deadline or a short while, whichever is first.
/// Waking early is always allowed (WFI may return spuriously).
fn idle(cpu: &Cpu, board: &Board, input: &Receiver<u8>) {
    let wait = match cpu.next_timer_deadline() {
        Some(deadline) => board.clock.until(deadline).min(MAX_IDLE),
        None => MAX_IDLE,
    };
    if !wait.is_zero() && input.is_empty() {
        std::thread::sleep(wait);
    }
}
