//! A minimal virtio driver for unit tests and fuzzing: lays out a split
//! virtqueue in guest RAM and makes descriptor chains available, as a guest's
//! driver would. Not part of armvm's API.

use std::sync::Arc;

use armvm_cpu::memory::{GuestMemory, Ram};
use virtio_bindings::virtio_ring::{VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};

use super::mmio::VirtioMmio;
use super::queue::{Queue, QueueLayout};
use crate::MmioDevice;

/// Where test RAM starts (not 0, so that a forgotten base shows).
pub const RAM_BASE: u64 = 0x4000_0000;

/// `size` bytes of zeroed RAM at [`RAM_BASE`].
pub fn ram(size: u64) -> Arc<GuestMemory> {
    GuestMemory::new(vec![Ram::new(RAM_BASE, size).expect("test RAM")])
}

/// A buffer of a chain as the driver describes it.
#[derive(Clone, Copy, Debug)]
pub struct Buf {
    pub addr: u64,
    pub len: u32,
    pub writable: bool,
}

/// Device-readable buffer.
pub fn r(addr: u64, len: u32) -> Buf {
    Buf {
        addr,
        len,
        writable: false,
    }
}

/// Device-writable buffer.
pub fn w(addr: u64, len: u32) -> Buf {
    Buf {
        addr,
        len,
        writable: true,
    }
}

/// A queue of `size` entries laid out from `at` as [`Driver::new`] does.
pub fn layout_at(size: u16, at: u64) -> QueueLayout {
    let n = size as u64;
    let avail = at + 16 * n;
    QueueLayout {
        size,
        desc: at,
        avail,
        used: (avail + 6 + 2 * n + 3) & !3,
    }
}

/// What a driver does to bring a virtio-mmio device up: reset, ACKNOWLEDGE
/// and DRIVER, the offered features in `want` (and VERSION_1), FEATURES_OK,
/// queue `index` as `layout` says, QueueReady, DRIVER_OK. Returns the status
/// read back at the end.
pub fn start_driver(dev: &mut VirtioMmio, want: u64, index: u32, layout: QueueLayout) -> u32 {
    use virtio_bindings::virtio_mmio::*;
    let mut wr = |offset: u32, value: u64| dev.write(0, offset as u64, 4, value);
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, 1);
    wr(VIRTIO_MMIO_STATUS, 3);
    let mut offered = 0;
    for sel in [0, 1] {
        dev.write(0, VIRTIO_MMIO_DEVICE_FEATURES_SEL as u64, 4, sel);
        offered |= dev.read(0, VIRTIO_MMIO_DEVICE_FEATURES as u64, 4) << (32 * sel);
    }
    let features = offered & (want | 1 << virtio_bindings::virtio_config::VIRTIO_F_VERSION_1);
    let mut wr = |offset: u32, value: u64| dev.write(0, offset as u64, 4, value);
    for sel in [0, 1] {
        wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        wr(
            VIRTIO_MMIO_DRIVER_FEATURES,
            (features >> (32 * sel)) & 0xffff_ffff,
        );
    }
    wr(VIRTIO_MMIO_STATUS, 0xb);
    wr(VIRTIO_MMIO_QUEUE_SEL, index as u64);
    wr(VIRTIO_MMIO_QUEUE_NUM, layout.size as u64);
    for (reg, addr) in [
        (VIRTIO_MMIO_QUEUE_DESC_LOW, layout.desc),
        (VIRTIO_MMIO_QUEUE_AVAIL_LOW, layout.avail),
        (VIRTIO_MMIO_QUEUE_USED_LOW, layout.used),
    ] {
        wr(reg, addr & 0xffff_ffff);
        wr(reg + 4, addr >> 32);
    }
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_STATUS, 0xf);
    dev.read(0, VIRTIO_MMIO_STATUS as u64, 4) as u32
}

/// The driver's side of one split virtqueue.
pub struct Driver {
    pub mem: Arc<GuestMemory>,
    pub layout: QueueLayout,
    /// The next descriptor to hand out (descriptors are used round-robin).
    next_desc: u16,
    /// The driver's copy of `avail.idx`.
    pub avail_idx: u16,
}

impl Driver {
    /// A queue of `size` entries whose descriptor table starts at `at`, the
    /// available ring right after it and the used ring after that (aligned to
    /// 4). The rings are zeroed.
    pub fn new(mem: Arc<GuestMemory>, size: u16, at: u64) -> Driver {
        let n = size as u64;
        let desc = at;
        let avail = desc + 16 * n;
        let used = (avail + 6 + 2 * n + 3) & !3;
        mem.fill(at, used + 6 + 8 * n - at, 0)
            .expect("rings in RAM");
        Driver {
            mem,
            layout: QueueLayout {
                size,
                desc,
                avail,
                used,
            },
            next_desc: 0,
            avail_idx: 0,
        }
    }

    /// The device's side of this queue.
    pub fn queue(&self, event_idx: bool, indirect: bool) -> Queue {
        Queue::new(&self.mem, self.layout, event_idx, indirect).expect("valid queue")
    }

    /// Writes one descriptor of a table at `table`.
    pub fn write_desc(&self, table: u64, index: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut raw = [0u8; 16];
        raw[0..8].copy_from_slice(&addr.to_le_bytes());
        raw[8..12].copy_from_slice(&len.to_le_bytes());
        raw[12..14].copy_from_slice(&flags.to_le_bytes());
        raw[14..16].copy_from_slice(&next.to_le_bytes());
        self.mem
            .write(table + 16 * index as u64, &raw)
            .expect("descriptor in RAM");
    }

    /// Writes descriptor `index` of the queue's own table.
    pub fn desc(&self, index: u16, addr: u64, len: u32, flags: u16, next: u16) {
        self.write_desc(self.layout.desc, index, addr, len, flags, next);
    }

    /// Writes `bufs` as a chain of consecutive descriptors (modulo the queue
    /// size) without making it available; returns its head.
    pub fn write_chain(&mut self, bufs: &[Buf]) -> u16 {
        let head = self.next_desc;
        for (i, b) in bufs.iter().enumerate() {
            let index = self.next_desc;
            self.next_desc = (self.next_desc + 1) % self.layout.size;
            let mut flags = if b.writable {
                VRING_DESC_F_WRITE as u16
            } else {
                0
            };
            if i + 1 < bufs.len() {
                flags |= VRING_DESC_F_NEXT as u16;
            }
            self.desc(index, b.addr, b.len, flags, self.next_desc);
        }
        head
    }

    /// Writes `bufs` as a chain and makes it available; returns its head.
    pub fn add(&mut self, bufs: &[Buf]) -> u16 {
        let head = self.write_chain(bufs);
        self.publish(head);
        head
    }

    /// Puts `head` in the next available-ring slot and bumps `avail.idx`.
    pub fn publish(&mut self, head: u16) {
        let slot = self.avail_idx % self.layout.size;
        self.mem
            .write_u16(self.layout.avail + 4 + 2 * slot as u64, head)
            .unwrap();
        self.set_avail_idx(self.avail_idx.wrapping_add(1));
    }

    pub fn set_avail_idx(&mut self, idx: u16) {
        self.avail_idx = idx;
        self.mem.write_u16(self.layout.avail + 2, idx).unwrap();
    }

    pub fn set_avail_flags(&self, flags: u16) {
        self.mem.write_u16(self.layout.avail, flags).unwrap();
    }

    /// `used_event`, at the end of the available ring.
    pub fn set_used_event(&self, v: u16) {
        let at = self.layout.avail + 4 + 2 * self.layout.size as u64;
        self.mem.write_u16(at, v).unwrap();
    }

    /// `used.idx`.
    pub fn used_idx(&self) -> u16 {
        self.mem.read_u16(self.layout.used + 2).unwrap()
    }

    /// Sets `used.idx` (before the device starts: where a re-activated queue resumes).
    pub fn set_used_idx(&mut self, idx: u16) {
        self.mem.write_u16(self.layout.used + 2, idx).unwrap();
    }

    /// Used-ring element `slot` (modulo the size): (id, len).
    pub fn used_elem(&self, slot: u16) -> (u32, u32) {
        let at = self.layout.used + 4 + 8 * (slot % self.layout.size) as u64;
        (
            self.mem.read_u32(at).unwrap(),
            self.mem.read_u32(at + 4).unwrap(),
        )
    }

    /// `avail_event`, at the end of the used ring.
    pub fn avail_event(&self) -> u16 {
        let at = self.layout.used + 4 + 8 * self.layout.size as u64;
        self.mem.read_u16(at).unwrap()
    }

    /// The byte ranges the device may write: the used ring (with `avail_event`).
    pub fn used_ring_range(&self) -> (u64, u64) {
        (self.layout.used, 6 + 8 * self.layout.size as u64)
    }
}

/// Entropy that counts up from the byte after its own: the same run gives
/// the same bytes.
pub struct CounterEntropy(pub u8);

impl super::rng::EntropySource for CounterEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}
