//! virtio-rng (entropy device, Virtio 1.2 section 5.4): one request queue whose
//! device-writable buffers the device fills with random bytes.

use std::io::Read;

use virtio_bindings::virtio_ids::VIRTIO_ID_RNG;

use super::chain::Cursor;
use super::{serve_queue, DeviceContext, Queue, VirtioDevice};

/// Where the random bytes come from: the host OS normally; a seeded generator
/// can take its place for deterministic runs.
pub trait EntropySource: Send {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()>;
}

/// The host kernel's random source.
pub struct OsEntropy(std::fs::File);

impl OsEntropy {
    pub fn open() -> std::io::Result<OsEntropy> {
        std::fs::File::open("/dev/urandom").map(OsEntropy)
    }
}

impl EntropySource for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_exact(buf)
    }
}

/// Most bytes given for one request (the driver asks for what it wants).
const MAX_REQUEST: usize = 64 * 1024;

pub struct Rng {
    source: Box<dyn EntropySource>,
    active: Option<(DeviceContext, Queue)>,
}

impl Rng {
    pub fn new(source: Box<dyn EntropySource>) -> Rng {
        Rng {
            source,
            active: None,
        }
    }
}

impl VirtioDevice for Rng {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_RNG
    }
    fn features(&self) -> u64 {
        0
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![super::queue::MAX_QUEUE_SIZE]
    }
    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }
    fn activate(&mut self, ctx: DeviceContext, mut queues: Vec<Option<Queue>>) {
        self.active = queues.pop().flatten().map(|q| (ctx, q));
    }
    fn notify(&mut self, _index: u16) {
        let Some((ctx, queue)) = &mut self.active else {
            return;
        };
        let source = &mut self.source;
        // Reading the host's random source is quick: no worker thread needed.
        let served = serve_queue(ctx, queue, |chain| {
            let want = (chain.writable_len() as usize).min(MAX_REQUEST);
            let mut bytes = vec![0; want];
            if source.fill(&mut bytes).is_err() {
                return 0;
            }
            Cursor::new(&ctx.memory, &chain.writable)
                .write(&bytes)
                .unwrap_or(0) as u32
        });
        if served.is_err() {
            self.active = None;
        }
    }
    fn reset(&mut self) {
        self.active = None;
    }
}
