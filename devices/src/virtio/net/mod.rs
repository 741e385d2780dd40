//! virtio-net (Virtio 1.2, section 5.1): an Ethernet NIC whose frames go to a
//! host backend, user-mode networking through libslirp ([`slirp`]) or a tap
//! device ([`tap`]).
//!
//! Queue 0 receives (host to guest), queue 1 transmits. Every frame carries the
//! 12-byte `virtio_net_hdr` (no offloads are offered, so it is all zeroes but
//! `num_buffers` = 1). A worker thread owns both queues; frames from the host
//! wait in the backend's bounded channel until the guest has posted receive
//! buffers, so a flood from the host costs a bounded amount of memory (frames
//! beyond it are dropped, as a full NIC ring does).

pub mod options;
pub mod slirp;
pub mod tap;

use crossbeam_channel::{select, Receiver};
use virtio_bindings::virtio_ids::VIRTIO_ID_NET;
use virtio_bindings::virtio_net::{VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_S_LINK_UP};

use super::chain::Cursor;
use super::queue::MAX_QUEUE_SIZE;
use super::{serve_queue, DeviceContext, Queue, VirtioDevice, Worker, WorkerMsg};
use crate::Locked;
pub use options::NetOptions;

const RXQ: u16 = 0;
const TXQ: u16 = 1;
/// struct virtio_net_hdr_v1 (5.1.6): 12 bytes with VIRTIO_F_VERSION_1.
const HEADER_LEN: usize = 12;
/// Largest frame taken from the guest (Ethernet with a VLAN tag, no GSO).
const MAX_FRAME: u64 = 1522;

/// Where frames go and come from.
pub trait NetBackend: Send {
    /// A frame from the guest.
    fn send(&mut self, frame: &[u8]);
    /// Frames for the guest (a bounded channel).
    fn frames(&self) -> Receiver<Vec<u8>>;
}

pub struct Net {
    mac: [u8; 6],
    backend: std::sync::Arc<std::sync::Mutex<Box<dyn NetBackend>>>,
    worker: Option<Worker>,
}

impl Net {
    pub fn new(mac: [u8; 6], backend: Box<dyn NetBackend>) -> Net {
        Net {
            mac,
            backend: std::sync::Arc::new(std::sync::Mutex::new(backend)),
            worker: None,
        }
    }
}

impl VirtioDevice for Net {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_NET
    }
    fn features(&self) -> u64 {
        (1 << VIRTIO_NET_F_MAC) | (1 << VIRTIO_NET_F_STATUS)
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![MAX_QUEUE_SIZE; 2]
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // mac[6], status (link up).
        let mut config = [0u8; 8];
        config[..6].copy_from_slice(&self.mac);
        config[6..8].copy_from_slice(&(VIRTIO_NET_S_LINK_UP as u16).to_le_bytes());
        super::block::read_bytes(&config, offset, data);
    }
    fn activate(&mut self, ctx: DeviceContext, queues: Vec<Option<Queue>>) {
        self.reset();
        let mut queues = queues.into_iter();
        let (rx, tx) = (queues.next().flatten(), queues.next().flatten());
        let backend = self.backend.clone();
        self.worker = Some(Worker::spawn("virtio-net", move |msgs| {
            serve_net(ctx, rx, tx, backend, msgs)
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
}

type SharedBackend = std::sync::Arc<std::sync::Mutex<Box<dyn NetBackend>>>;

fn serve_net(
    ctx: DeviceContext,
    mut rx: Option<Queue>,
    mut tx: Option<Queue>,
    backend: SharedBackend,
    msgs: Receiver<WorkerMsg>,
) {
    let frames = backend.locked().frames();
    let never = crossbeam_channel::never();
    let mut pending: Option<Vec<u8>> = None;
    let mut rx_buffers_posted = true;
    loop {
        let incoming = if pending.is_none() && rx_buffers_posted {
            &frames
        } else {
            &never
        };
        select! {
            recv(msgs) -> msg => match msg {
                Ok(WorkerMsg::Notify(TXQ)) => {
                    if let Some(q) = &mut tx {
                        let mut backend = backend.locked();
                        let served = serve_queue(&ctx, q, |chain| {
                            let mut packet = Cursor::new(&ctx.memory, &chain.readable);
                            let mut header = [0u8; HEADER_LEN];
                            if packet.read(&mut header) == Ok(HEADER_LEN) {
                                if let Ok(frame) = packet.read_to_vec(MAX_FRAME) {
                                    backend.send(&frame);
                                }
                            }
                            0
                        });
                        if served.is_err() {
                            tx = None;
                        }
                    }
                }
                Ok(WorkerMsg::Notify(RXQ)) => rx_buffers_posted = true,
                Ok(WorkerMsg::Notify(_)) => {}
                Ok(WorkerMsg::Stop) | Err(_) => return,
            },
            recv(incoming) -> frame => match frame {
                Ok(f) => pending = Some(f),
                Err(_) => rx_buffers_posted = false,
            },
        }
        // Hand over what waits, frame by frame, while the guest has buffers.
        while let (Some(q), Some(frame)) = (&mut rx, &pending) {
            match receive(&ctx, q, frame) {
                Ok(true) => pending = frames.try_recv().ok(),
                Ok(false) => {
                    rx_buffers_posted = false;
                    break;
                }
                Err(()) => {
                    rx = None;
                    break;
                }
            }
        }
        if rx.is_none() {
            pending = None;
        }
    }
}

/// Puts one frame into the next receive buffer; Ok(false) if there is none.
fn receive(ctx: &DeviceContext, q: &mut Queue, frame: &[u8]) -> Result<bool, ()> {
    let fail = |e| {
        ctx.interrupt.needs_reset(&e);
    };
    let chain = match q.pop(&ctx.memory) {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(false),
        Err(e) => {
            fail(e);
            return Err(());
        }
    };
    let mut header = [0u8; HEADER_LEN];
    header[10] = 1; // num_buffers
    let mut out = Cursor::new(&ctx.memory, &chain.writable);
    // A buffer too small for the frame gets what fits (the guest sees a
    // truncated frame and drops it, as with a NIC given short buffers).
    let written = out
        .write(&header)
        .and_then(|h| out.write(frame).map(|f| h + f))
        .unwrap_or(0);
    let r = q
        .push_used(&ctx.memory, chain.head, written as u32)
        .and_then(|()| q.needs_interrupt(&ctx.memory));
    match r {
        Ok(notify) => {
            if notify {
                ctx.interrupt.used_buffer();
            }
            Ok(true)
        }
        Err(e) => {
            fail(e);
            Err(())
        }
    }
}
