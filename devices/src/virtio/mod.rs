//! Virtio devices on the virtio-mmio transport (Virtio 1.2).
//!
//! - [`mmio`]: the transport's registers (feature negotiation, status, queue
//!   setup, notifications, interrupt status), one per board slot.
//! - [`queue`]: split virtqueues, checked against everything a guest can get wrong.
//! - [`chain`]: reading and writing the buffers of a descriptor chain.
//! - one module per device type ([`block`], [`rng`], [`console`], [`balloon`]).
//!
//! A device backend implements [`VirtioDevice`]. The transport owns it, behind
//! the slot's lock; once the driver sets DRIVER_OK the backend gets its queues
//! and a [`DeviceContext`] (guest memory and the interrupt), and the transport
//! passes notifications on. Backends that do host I/O (disks) hand the queues to
//! a worker thread of their own, so the vCPU thread never waits for the host.

pub mod balloon;
pub mod block;
pub mod chain;
pub mod console;
#[doc(hidden)]
pub mod fuzzing;
pub mod mmio;
pub mod net;
pub mod queue;
pub mod rng;
#[doc(hidden)]
pub mod testing;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use armvm_cpu::memory::GuestMemory;
use virtio_bindings::virtio_config::VIRTIO_CONFIG_S_NEEDS_RESET;

use crate::irq::IrqLine;
use crate::Locked;
pub use queue::{Chain, Queue, QueueError, QueueLayout};

/// InterruptStatus bits (4.2.2).
pub const INT_USED_BUFFER: u32 = 1;
pub const INT_CONFIG_CHANGE: u32 = 2;

/// A virtio device behind a transport.
pub trait VirtioDevice: Send {
    /// The virtio device ID (5: "Device Types").
    fn device_id(&self) -> u32;
    /// Device-type feature bits offered (the transport adds the ring features).
    fn features(&self) -> u64;
    /// QueueNumMax of each queue; the number of queues is its length.
    fn queue_max_sizes(&self) -> Vec<u16>;
    /// Reads the device configuration space at `offset`.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Writes the device configuration space (ignored by most devices).
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}
    /// The driver set DRIVER_OK: the device may use `queues` (one per queue;
    /// `None` where the driver did not make it ready).
    fn activate(&mut self, ctx: DeviceContext, queues: Vec<Option<Queue>>);
    /// The driver notified queue `index`.
    fn notify(&mut self, index: u16);
    /// The device is reset: stop using the queues (wait for requests in flight).
    fn reset(&mut self);
    /// The machine stops: anything the guest wrote goes to stable storage.
    fn shutdown(&mut self) {
        self.reset();
    }
}

/// What an active device uses besides its queues.
#[derive(Clone)]
pub struct DeviceContext {
    pub memory: Arc<GuestMemory>,
    pub interrupt: Interrupt,
}

/// A device's interrupt: the InterruptStatus register shared between the
/// transport (which reads and acknowledges it) and the device's threads (which
/// set it), and the SPI it drives (level: high while any status bit is set).
#[derive(Clone)]
pub struct Interrupt {
    state: Arc<InterruptState>,
}

struct InterruptState {
    status: AtomicU32,
    /// Device status bits the device sets by itself (DEVICE_NEEDS_RESET).
    device_status: AtomicU32,
    line: IrqLine,
    /// ConfigGeneration: bumped by every configuration change.
    generation: AtomicU32,
    /// Serialises raising and lowering the line with changes of `status`.
    line_lock: Mutex<()>,
}

impl Interrupt {
    pub fn new(line: IrqLine) -> Interrupt {
        Interrupt {
            state: Arc::new(InterruptState {
                status: AtomicU32::new(0),
                device_status: AtomicU32::new(0),
                line,
                generation: AtomicU32::new(0),
                line_lock: Mutex::new(()),
            }),
        }
    }

    fn set(&self, bits: u32) {
        let _g = self.state.line_lock.locked();
        self.state.status.fetch_or(bits, Ordering::AcqRel);
        self.state.line.raise();
    }

    /// The device put buffers in a used ring.
    pub fn used_buffer(&self) {
        self.set(INT_USED_BUFFER);
    }

    /// The device configuration changed.
    pub fn config_changed(&self) {
        self.state.generation.fetch_add(1, Ordering::AcqRel);
        self.set(INT_CONFIG_CHANGE);
    }

    fn generation(&self) -> u32 {
        self.state.generation.load(Ordering::Acquire)
    }

    /// The driver broke the rules (a malformed queue): the device stops until
    /// reset and says so in its status (DEVICE_NEEDS_RESET, with a config
    /// change interrupt, 2.1.2).
    pub fn needs_reset(&self, why: &QueueError) {
        if self
            .state
            .device_status
            .fetch_or(VIRTIO_CONFIG_S_NEEDS_RESET, Ordering::AcqRel)
            & VIRTIO_CONFIG_S_NEEDS_RESET
            == 0
        {
            log_guest_error(why);
            self.config_changed();
        }
    }

    pub fn status(&self) -> u32 {
        self.state.status.load(Ordering::Acquire)
    }

    /// InterruptACK: clears `bits`; the line drops when nothing is left.
    pub fn acknowledge(&self, bits: u32) {
        let _g = self.state.line_lock.locked();
        let left = self.state.status.fetch_and(!bits, Ordering::AcqRel) & !bits;
        self.state.line.set(left != 0);
    }

    fn device_status(&self) -> u32 {
        self.state.device_status.load(Ordering::Acquire)
    }

    /// Device reset: no status, line low.
    fn clear(&self) {
        let _g = self.state.line_lock.locked();
        self.state.status.store(0, Ordering::Release);
        self.state.device_status.store(0, Ordering::Release);
        self.state.line.lower();
    }
}

/// Guest mistakes are reported once per device and then only counted, so a
/// hostile guest cannot flood the host's terminal.
fn log_guest_error(why: &QueueError) {
    if std::env::var_os("ARMVM_DEBUG").is_some() {
        eprintln!("armvm: virtio: {why}; the device needs a reset");
    }
}

/// Runs `work` over every available chain of `queue`, returning each with the
/// byte count `work` wrote, then interrupts the driver if it asked for it. A
/// malformed queue puts the device into DEVICE_NEEDS_RESET; the caller should
/// then stop using it (`Err`).
pub fn serve_queue(
    ctx: &DeviceContext,
    queue: &mut Queue,
    mut work: impl FnMut(&Chain) -> u32,
) -> Result<(), QueueError> {
    let result = (|| {
        while let Some(chain) = queue.pop(&ctx.memory)? {
            let written = work(&chain);
            queue.push_used(&ctx.memory, chain.head, written)?;
        }
        Ok(())
    })();
    let notify = queue.needs_interrupt(&ctx.memory);
    match (result, notify) {
        (Ok(()), Ok(notify)) => {
            if notify {
                ctx.interrupt.used_buffer();
            }
            Ok(())
        }
        (Err(e), _) | (_, Err(e)) => {
            ctx.interrupt.needs_reset(&e);
            Err(e)
        }
    }
}

/// A message to a device's worker thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerMsg {
    /// The driver notified this queue.
    Notify(u16),
    /// Finish what is in flight and end.
    Stop,
}

/// A device's worker thread: it owns the queues while the device is active, so
/// that host I/O never runs on a vCPU thread.
pub struct Worker {
    tx: crossbeam_channel::Sender<WorkerMsg>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(
        name: &str,
        body: impl FnOnce(crossbeam_channel::Receiver<WorkerMsg>) + Send + 'static,
    ) -> Worker {
        let (tx, rx) = crossbeam_channel::unbounded();
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || body(rx))
            .map_err(|e| eprintln!("armvm: cannot start the {name} thread: {e}"))
            .ok();
        Worker { tx, handle }
    }

    pub fn notify(&self, queue: u16) {
        let _ = self.tx.send(WorkerMsg::Notify(queue));
    }

    /// Asks the thread to stop and waits for it.
    pub fn stop(&mut self) {
        let _ = self.tx.send(WorkerMsg::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}
