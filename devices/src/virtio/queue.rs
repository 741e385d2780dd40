//! Split virtqueues, device side (Virtio 1.2, section 2.7).
//!
//! The driver owns the descriptor table and the available ring; the device reads
//! them and writes the used ring. Everything read from guest memory is checked:
//! indices against the queue size, chains against loops and length, indirect
//! tables against nesting and size, buffers against RAM. A violation is a
//! [`QueueError`], which the device answers by entering DEVICE_NEEDS_RESET; the
//! host never panics and never writes outside a buffer the driver offered.
//!
//! Ordering (the device-side mirror of the driver's barriers in 2.7.13): an
//! acquire load of `avail.idx` before reading the ring and descriptors; buffer
//! data and used elements written before a release store of `used.idx`; a full
//! fence between publishing `used.idx` (or `avail_event`) and reading the
//! driver's suppression fields (`used_event`, `avail.flags`, `avail.idx`).

use std::sync::atomic::{fence, Ordering};

use armvm_cpu::memory::GuestMemory;
use virtio_bindings::virtio_ring::{
    VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE,
};

/// Largest queue size a device offers (QueueNumMax).
pub const MAX_QUEUE_SIZE: u16 = 256;

/// What makes a queue unusable until the driver resets the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("ring or descriptor table at {0:#x} is not in RAM")]
    BadRingAddress(u64),
    #[error("descriptor index {0} is beyond the queue")]
    BadIndex(u16),
    #[error("descriptor chain is longer than the queue (a loop?)")]
    ChainTooLong,
    #[error("indirect table of {0} bytes is empty, too large or not a multiple of 16")]
    BadIndirectTable(u32),
    #[error("indirect descriptor inside an indirect table, or not at the head of its chain")]
    NestedIndirect,
    #[error("indirect descriptors were not negotiated")]
    IndirectNotNegotiated,
    #[error("a device-readable descriptor follows a device-writable one")]
    ReadableAfterWritable,
    #[error("the driver made {0} more buffers available than the queue holds")]
    TooManyAvailable(u16),
    #[error("buffer at {0:#x} is not in RAM")]
    BadBuffer(u64),
}

/// One guest buffer of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    pub addr: u64,
    pub len: u32,
}

/// A descriptor chain taken from the available ring: its head (to hand back in
/// the used ring) and its buffers, device-readable ones first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    pub head: u16,
    pub readable: Vec<Buffer>,
    pub writable: Vec<Buffer>,
}

impl Chain {
    pub fn readable_len(&self) -> u64 {
        self.readable.iter().map(|b| b.len as u64).sum()
    }
    pub fn writable_len(&self) -> u64 {
        self.writable.iter().map(|b| b.len as u64).sum()
    }
}

/// Where a queue lives, as the driver configured it through the transport.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueLayout {
    pub size: u16,
    pub desc: u64,
    pub avail: u64,
    pub used: u64,
}

impl QueueLayout {
    /// Whether the size is usable: a power of two from 1 to `max`.
    pub fn size_ok(&self, max: u16) -> bool {
        self.size.is_power_of_two() && self.size <= max
    }
}

/// The device's side of one split virtqueue.
pub struct Queue {
    layout: QueueLayout,
    event_idx: bool,
    indirect: bool,
    /// The next available-ring slot to take.
    next_avail: u16,
    /// The next used-ring slot to fill.
    next_used: u16,
    /// `next_used` when the driver was last interrupted (event index rules).
    signalled_used: u16,
}

/// Offsets inside the rings.
const AVAIL_FLAGS: u64 = 0;
const AVAIL_IDX: u64 = 2;
const AVAIL_RING: u64 = 4;
const USED_IDX: u64 = 2;
const USED_RING: u64 = 4;
const DESC_SIZE: u64 = 16;

impl Queue {
    /// A queue at `layout`, whose rings must lie in RAM; `event_idx` and
    /// `indirect` are the negotiated ring features.
    pub fn new(
        mem: &GuestMemory,
        layout: QueueLayout,
        event_idx: bool,
        indirect: bool,
    ) -> Result<Queue, QueueError> {
        let n = layout.size as u64;
        if n == 0 || !layout.size.is_power_of_two() {
            return Err(QueueError::BadIndex(layout.size));
        }
        let parts = [
            (layout.desc, DESC_SIZE * n),
            (layout.avail, AVAIL_RING + 2 * n + 2),
            (layout.used, USED_RING + 8 * n + 2),
        ];
        for (addr, len) in parts {
            // The 16-bit fields are accessed atomically: they must be aligned.
            if !mem.contains(addr, len) || !addr.is_multiple_of(2) {
                return Err(QueueError::BadRingAddress(addr));
            }
        }
        let used_idx = mem
            .read_u16(layout.used + USED_IDX)
            .map_err(|_| QueueError::BadRingAddress(layout.used))?;
        Ok(Queue {
            layout,
            event_idx,
            indirect,
            // A fresh queue starts at 0; the driver zeroes the used ring before
            // QueueReady, so the used index tells where a re-activated queue is.
            next_avail: used_idx,
            next_used: used_idx,
            signalled_used: used_idx,
        })
    }

    pub fn size(&self) -> u16 {
        self.layout.size
    }

    /// Whether the driver negotiated VIRTIO_RING_F_EVENT_IDX.
    pub fn event_idx(&self) -> bool {
        self.event_idx
    }

    fn load(mem: &GuestMemory, pa: u64, order: Ordering) -> Result<u16, QueueError> {
        mem.atomic_u16(pa)
            .map(|a| u16::from_le(a.load(order)))
            .ok_or(QueueError::BadRingAddress(pa))
    }

    fn store(mem: &GuestMemory, pa: u64, v: u16, order: Ordering) -> Result<(), QueueError> {
        mem.atomic_u16(pa)
            .map(|a| a.store(v.to_le(), order))
            .ok_or(QueueError::BadRingAddress(pa))
    }

    /// Takes the next available chain, or `None` when the driver has made none
    /// available. With event index, also tells the driver (through
    /// `avail_event`) to notify once it adds more.
    pub fn pop(&mut self, mem: &GuestMemory) -> Result<Option<Chain>, QueueError> {
        let mut avail_idx = Self::load(mem, self.layout.avail + AVAIL_IDX, Ordering::Acquire)?;
        if avail_idx == self.next_avail {
            if self.event_idx {
                self.set_avail_event(mem, self.next_avail)?;
                fence(Ordering::SeqCst);
                avail_idx = Self::load(mem, self.layout.avail + AVAIL_IDX, Ordering::Acquire)?;
            }
            if avail_idx == self.next_avail {
                return Ok(None);
            }
        }
        let pending = avail_idx.wrapping_sub(self.next_avail);
        if pending > self.layout.size {
            return Err(QueueError::TooManyAvailable(pending - self.layout.size));
        }
        let slot = self.next_avail % self.layout.size;
        let head = mem
            .read_u16(self.layout.avail + AVAIL_RING + 2 * slot as u64)
            .map_err(|_| QueueError::BadRingAddress(self.layout.avail))?;
        self.next_avail = self.next_avail.wrapping_add(1);
        self.read_chain(mem, head).map(Some)
    }

    fn set_avail_event(&self, mem: &GuestMemory, v: u16) -> Result<(), QueueError> {
        let at = self.layout.used + USED_RING + 8 * self.layout.size as u64;
        Self::store(mem, at, v, Ordering::Relaxed)
    }

    /// Reads descriptor `index` of the table at `table` holding `count` entries.
    fn descriptor(
        mem: &GuestMemory,
        table: u64,
        count: u32,
        index: u16,
    ) -> Result<(Buffer, u16, u16), QueueError> {
        if index as u32 >= count {
            return Err(QueueError::BadIndex(index));
        }
        let mut raw = [0u8; DESC_SIZE as usize];
        let at = table + DESC_SIZE * index as u64;
        mem.read(at, &mut raw)
            .map_err(|_| QueueError::BadRingAddress(at))?;
        let addr = u64::from_le_bytes(raw[0..8].try_into().unwrap());
        let len = u32::from_le_bytes(raw[8..12].try_into().unwrap());
        let flags = u16::from_le_bytes(raw[12..14].try_into().unwrap());
        let next = u16::from_le_bytes(raw[14..16].try_into().unwrap());
        Ok((Buffer { addr, len }, flags, next))
    }

    /// Follows the chain starting at descriptor `head`.
    fn read_chain(&self, mem: &GuestMemory, head: u16) -> Result<Chain, QueueError> {
        let mut chain = Chain {
            head,
            ..Chain::default()
        };
        let (mut table, mut count) = (self.layout.desc, self.layout.size as u32);
        let mut index = head;
        let mut in_indirect = false;
        // Each descriptor is visited at most once in a well-formed chain, so a
        // chain longer than its table is a loop.
        let mut budget = count;
        loop {
            let (buf, flags, next) = Self::descriptor(mem, table, count, index)?;
            if flags as u32 & VRING_DESC_F_INDIRECT != 0 {
                if !self.indirect {
                    return Err(QueueError::IndirectNotNegotiated);
                }
                // Only the first descriptor taken (not one the chain comes back
                // to, which a driver rewriting it meanwhile could make indirect).
                let at_head =
                    !in_indirect && chain.readable.is_empty() && chain.writable.is_empty();
                if !at_head || flags as u32 & VRING_DESC_F_NEXT != 0 {
                    return Err(QueueError::NestedIndirect);
                }
                let entries = buf.len / DESC_SIZE as u32;
                if buf.len == 0
                    || !buf.len.is_multiple_of(DESC_SIZE as u32)
                    || entries > u16::MAX as u32 + 1
                    || !mem.contains(buf.addr, buf.len as u64)
                {
                    return Err(QueueError::BadIndirectTable(buf.len));
                }
                (table, count, index, in_indirect) = (buf.addr, entries, 0, true);
                budget = count;
                continue;
            }
            if budget == 0 {
                return Err(QueueError::ChainTooLong);
            }
            budget -= 1;
            if !mem.contains(buf.addr, buf.len as u64) {
                return Err(QueueError::BadBuffer(buf.addr));
            }
            if flags as u32 & VRING_DESC_F_WRITE != 0 {
                chain.writable.push(buf);
            } else if chain.writable.is_empty() {
                chain.readable.push(buf);
            } else {
                return Err(QueueError::ReadableAfterWritable);
            }
            if flags as u32 & VRING_DESC_F_NEXT == 0 {
                return Ok(chain);
            }
            index = next;
        }
    }

    /// Returns a chain to the driver with `written` bytes written into its
    /// device-writable buffers.
    pub fn push_used(
        &mut self,
        mem: &GuestMemory,
        head: u16,
        written: u32,
    ) -> Result<(), QueueError> {
        let slot = self.next_used % self.layout.size;
        let elem = self.layout.used + USED_RING + 8 * slot as u64;
        let mut raw = [0u8; 8];
        raw[..4].copy_from_slice(&(head as u32).to_le_bytes());
        raw[4..].copy_from_slice(&written.to_le_bytes());
        mem.write(elem, &raw)
            .map_err(|_| QueueError::BadRingAddress(elem))?;
        self.next_used = self.next_used.wrapping_add(1);
        // Release: the buffer data and the element are visible before the index.
        Self::store(
            mem,
            self.layout.used + USED_IDX,
            self.next_used,
            Ordering::Release,
        )
    }

    /// Whether the driver wants an interrupt for the chains used since the last
    /// one (event index: `used_event`; otherwise `avail.flags`).
    pub fn needs_interrupt(&mut self, mem: &GuestMemory) -> Result<bool, QueueError> {
        fence(Ordering::SeqCst);
        let (old, new) = (self.signalled_used, self.next_used);
        if old == new {
            return Ok(false);
        }
        let wanted = if self.event_idx {
            let at = self.layout.avail + AVAIL_RING + 2 * self.layout.size as u64;
            let used_event = Self::load(mem, at, Ordering::Relaxed)?;
            // vring_need_event: used_event lies in [old, new), i.e. the
            // device filled the used-ring entry the driver waits for.
            new.wrapping_sub(used_event).wrapping_sub(1) < new.wrapping_sub(old)
        } else {
            let flags = Self::load(mem, self.layout.avail + AVAIL_FLAGS, Ordering::Relaxed)?;
            flags as u32 & VRING_AVAIL_F_NO_INTERRUPT == 0
        };
        self.signalled_used = new;
        Ok(wanted)
    }
}

#[cfg(test)]
mod tests;
