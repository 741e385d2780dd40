//! virtio-balloon, the traditional memory balloon (Virtio 1.2, section 5.5).
//!
//! The host sets a target (`num_pages`, in 4 KiB pages); the guest driver
//! allocates that many pages and hands their frame numbers to the inflate queue.
//! armvm gives those pages back to the host kernel (MADV_DONTNEED on the RAM
//! mapping): armvm's resident size shrinks, and the pages read as zeroes when
//! the guest gets them back through the deflate queue (nothing to do there).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use virtio_bindings::virtio_ids::VIRTIO_ID_BALLOON;

use super::Interrupt;

use super::chain::Cursor;
use super::queue::MAX_QUEUE_SIZE;
use super::{serve_queue, DeviceContext, Queue, VirtioDevice};
use crate::Locked;

/// Queue 0 inflates; queue 1 (deflate) needs no work.
const INFLATEQ: u16 = 0;
/// Balloon page frame numbers are always in 4 KiB units.
const PFN_SHIFT: u32 = 12;
const PAGE: u64 = 1 << PFN_SHIFT;

/// The host's handle on a balloon (the monitor's `balloon` command), usable
/// from any thread.
#[derive(Default)]
pub struct BalloonControl {
    /// Pages the host wants the guest to give up.
    target_pages: AtomicU32,
    /// Pages the guest says it has given (written by the driver).
    actual_pages: AtomicU32,
    /// The active device's interrupt, to announce a new target.
    interrupt: Mutex<Option<Interrupt>>,
}

impl BalloonControl {
    /// Asks the guest to give `bytes` of its RAM back (a config change
    /// interrupt tells an active driver).
    pub fn set_target(&self, bytes: u64) {
        let pages = (bytes / PAGE).min(u32::MAX as u64) as u32;
        self.target_pages.store(pages, Ordering::Release);
        if let Some(i) = &*self.interrupt.locked() {
            i.config_changed();
        }
    }

    /// Bytes in the balloon now, as the guest reports them.
    pub fn actual(&self) -> u64 {
        self.actual_pages.load(Ordering::Acquire) as u64 * PAGE
    }
}

pub struct Balloon {
    control: Arc<BalloonControl>,
    active: Option<(DeviceContext, Vec<Option<Queue>>)>,
}

impl Balloon {
    /// A balloon that asks the guest for `target_bytes` of its memory.
    pub fn new(target_bytes: u64) -> Balloon {
        let control = Arc::new(BalloonControl::default());
        control.set_target(target_bytes);
        Balloon {
            control,
            active: None,
        }
    }

    pub fn control(&self) -> Arc<BalloonControl> {
        self.control.clone()
    }
}

impl VirtioDevice for Balloon {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_BALLOON
    }
    fn features(&self) -> u64 {
        0
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![MAX_QUEUE_SIZE; 2]
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let mut config = [0u8; 8];
        let c = &self.control;
        config[..4].copy_from_slice(&c.target_pages.load(Ordering::Acquire).to_le_bytes());
        config[4..].copy_from_slice(&c.actual_pages.load(Ordering::Acquire).to_le_bytes());
        super::block::read_bytes(&config, offset, data);
    }
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        // Only `actual` (offset 4) is the driver's to write.
        if offset == 4 && data.len() == 4 {
            let pages = u32::from_le_bytes(data.try_into().unwrap());
            self.control.actual_pages.store(pages, Ordering::Release);
        }
    }
    fn activate(&mut self, ctx: DeviceContext, queues: Vec<Option<Queue>>) {
        *self.control.interrupt.locked() = Some(ctx.interrupt.clone());
        self.active = Some((ctx, queues));
    }
    fn notify(&mut self, index: u16) {
        let Some((ctx, queues)) = &mut self.active else {
            return;
        };
        let Some(Some(queue)) = queues.get_mut(index as usize) else {
            return;
        };
        let served = serve_queue(ctx, queue, |chain| {
            if index == INFLATEQ {
                let pfns = Cursor::new(&ctx.memory, &chain.readable)
                    .read_to_vec(chain.readable_len())
                    .unwrap_or_default();
                give_back(ctx, &pfns);
            }
            // The deflate queue needs nothing: pages come back zero-filled on use.
            0
        });
        if served.is_err() {
            self.active = None;
        }
    }
    fn reset(&mut self) {
        *self.control.interrupt.locked() = None;
        self.active = None;
        self.control.actual_pages.store(0, Ordering::Release);
    }
}

/// Returns the guest pages listed in `pfns` (le32 frame numbers) to the host,
/// merging runs of consecutive frames into one call. Frames outside RAM are
/// ignored.
fn give_back(ctx: &DeviceContext, pfns: &[u8]) {
    let mut run: Option<(u64, u64)> = None;
    let flush = |run: Option<(u64, u64)>| {
        if let Some((start, pages)) = run {
            let _ = ctx.memory.discard(start, pages * PAGE);
        }
    };
    for pfn in pfns.chunks_exact(4) {
        let pa = (u32::from_le_bytes(pfn.try_into().unwrap()) as u64) << PFN_SHIFT;
        run = match run {
            Some((start, pages)) if start + pages * PAGE == pa => Some((start, pages + 1)),
            other => {
                flush(other);
                Some((pa, 1))
            }
        };
    }
    flush(run);
}
