//! virtio-console (Virtio 1.2, section 5.3), a single port (hvc0 in Linux):
//! queue 0 carries host input to the guest, queue 1 guest output to the host.
//!
//! A worker thread owns both queues. Output goes to the host writer as the guest
//! sends it. Input is taken from the host only while the guest has posted
//! receive buffers (a bounded channel in between), so a fast host producer waits
//! instead of filling armvm's memory.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{select, Receiver};
use virtio_bindings::virtio_ids::VIRTIO_ID_CONSOLE;

use super::chain::Cursor;
use super::queue::MAX_QUEUE_SIZE;
use super::{serve_queue, DeviceContext, Queue, VirtioDevice, Worker, WorkerMsg};
use crate::Locked;

const RECEIVEQ: u16 = 0;
const TRANSMITQ: u16 = 1;
/// Most output bytes taken from one transmit buffer at a time.
const MAX_OUTPUT: u64 = 64 * 1024;

pub type SharedOutput = Arc<Mutex<Box<dyn Write + Send>>>;

pub struct Console {
    output: SharedOutput,
    input: Option<Receiver<u8>>,
    worker: Option<Worker>,
}

impl Console {
    /// `input`: bytes from the host, if the console has an input side.
    pub fn new(output: Box<dyn Write + Send>, input: Option<Receiver<u8>>) -> Console {
        Console {
            output: Arc::new(Mutex::new(output)),
            input,
            worker: None,
        }
    }
}

impl VirtioDevice for Console {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_CONSOLE
    }
    fn features(&self) -> u64 {
        0
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![MAX_QUEUE_SIZE; 2]
    }
    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }
    fn activate(&mut self, ctx: DeviceContext, queues: Vec<Option<Queue>>) {
        self.reset();
        let mut queues = queues.into_iter();
        let (rx, tx) = (queues.next().flatten(), queues.next().flatten());
        let output = self.output.clone();
        let input = self.input.clone();
        self.worker = Some(Worker::spawn("virtio-console", move |msgs| {
            serve_console(ctx, rx, tx, output, input, msgs)
        }));
    }
    fn notify(&mut self, index: u16) {
        if let Some(w) = &self.worker {
            w.notify(index);
        }
    }
    fn reset(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.stop();
        }
    }
    fn shutdown(&mut self) {
        self.reset();
        let _ = self.output.locked().flush();
    }
}

fn serve_console(
    ctx: DeviceContext,
    mut rx: Option<Queue>,
    mut tx: Option<Queue>,
    output: SharedOutput,
    input: Option<Receiver<u8>>,
    msgs: Receiver<WorkerMsg>,
) {
    let never = crossbeam_channel::never();
    // Host input taken but not yet in a guest buffer.
    let mut pending: Vec<u8> = Vec::new();
    // Whether the guest may have receive buffers (it notifies when it posts some).
    let mut rx_buffers_posted = false;
    loop {
        let input_rx = match &input {
            Some(i) if pending.is_empty() && rx_buffers_posted => i,
            _ => &never,
        };
        select! {
            recv(msgs) -> msg => match msg {
                Ok(WorkerMsg::Notify(TRANSMITQ)) => {
                    if let Some(q) = &mut tx {
                        if transmit(&ctx, q, &output).is_err() {
                            tx = None;
                        }
                    }
                }
                Ok(WorkerMsg::Notify(RECEIVEQ)) => rx_buffers_posted = true,
                Ok(WorkerMsg::Notify(_)) => {}
                Ok(WorkerMsg::Stop) | Err(_) => return,
            },
            recv(input_rx) -> byte => match byte {
                Ok(first) => {
                    pending.push(first);
                    pending.extend(input.iter().flat_map(|i| i.try_iter()).take(4095));
                }
                // The host side closed: nothing more will come.
                Err(_) => rx_buffers_posted = false,
            },
        }
        if let (Some(q), false) = (&mut rx, pending.is_empty()) {
            match deliver(&ctx, q, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                    if !pending.is_empty() {
                        rx_buffers_posted = false;
                    }
                }
                Err(()) => rx = None,
            }
        }
    }
}

/// Writes what the guest sent to the host.
fn transmit(ctx: &DeviceContext, q: &mut Queue, output: &SharedOutput) -> Result<(), ()> {
    let mut out = output.locked();
    let served = serve_queue(ctx, q, |chain| {
        let data = Cursor::new(&ctx.memory, &chain.readable)
            .read_to_vec(MAX_OUTPUT)
            .unwrap_or_default();
        // Host output errors (a closed pipe) must not stop the guest.
        let _ = out.write_all(&data);
        0
    });
    let _ = out.flush();
    served.map_err(|_| ())
}

/// Puts as much of `bytes` as fits into the guest's receive buffers; returns
/// how much that was.
fn deliver(ctx: &DeviceContext, q: &mut Queue, bytes: &[u8]) -> Result<usize, ()> {
    let mut done = 0;
    let result = (|| {
        while done < bytes.len() {
            let Some(chain) = q.pop(&ctx.memory)? else {
                break;
            };
            let n = Cursor::new(&ctx.memory, &chain.writable)
                .write(&bytes[done..])
                .unwrap_or(0);
            done += n;
            q.push_used(&ctx.memory, chain.head, n as u32)?;
        }
        q.needs_interrupt(&ctx.memory)
    })();
    match result {
        Ok(notify) => {
            if notify {
                ctx.interrupt.used_buffer();
            }
            Ok(done)
        }
        Err(e) => {
            ctx.interrupt.needs_reset(&e);
            Err(())
        }
    }
}
