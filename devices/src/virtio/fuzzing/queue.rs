//! `virtqueue`: a split virtqueue over arbitrary guest RAM.
//!
//! Input: size (1 << (byte % 10)), flags (bit 0 EVENT_IDX, bit 1
//! INDIRECT_DESC, bit 2 the device writes into the writable buffers, bit 3
//! needs_interrupt after every used chain), the descriptor table, available
//! ring and used ring offsets in RAM (u16 each), then the RAM image.

use virtio_bindings::virtio_ring::{VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};

use super::{assert_writes_within, ram_with, Input};
use crate::virtio::chain::Cursor;
use crate::virtio::queue::{Buffer, Chain, Queue, QueueError, QueueLayout};
use crate::virtio::testing::RAM_BASE;
use armvm_cpu::memory::GuestMemory;

pub fn virtqueue(data: &[u8]) {
    let mut input = Input::new(data);
    let size = 1u16 << (input.u8() % 10);
    let flags = input.u8();
    let (event_idx, indirect) = (flags & 1 != 0, flags & 2 != 0);
    let (device_writes, interrupt_each) = (flags & 4 != 0, flags & 8 != 0);
    let layout = QueueLayout {
        size,
        desc: RAM_BASE + input.u16() as u64,
        avail: RAM_BASE + input.u16() as u64,
        used: RAM_BASE + input.u16() as u64,
    };
    let mem = ram_with(input.rest());
    let Ok(mut queue) = Queue::new(&mem, layout, event_idx, indirect) else {
        return;
    };
    let used_ring = Buffer {
        addr: layout.used,
        len: 6 + 8 * size as u32,
    };
    let mut allowed = vec![used_ring];
    let start = mem.read_u16(layout.used + 2).unwrap();
    let mut used = 0u16;
    // Without device writes into the rings, a pop loop ends after at most
    // `size` chains; with them the guest may keep "adding" (its own doing),
    // so the loop is bounded here.
    for round in 0..=4 * size as u32 {
        let chain = match queue.pop(&mem) {
            Ok(Some(chain)) => chain,
            Ok(None) => {
                if !device_writes {
                    let idx = mem.read_u16(layout.used + 2).unwrap();
                    assert_eq!(idx, start.wrapping_add(used), "used.idx");
                }
                let _ = queue.needs_interrupt(&mem);
                break;
            }
            Err(QueueError::TooManyAvailable(_) | QueueError::BadRingAddress(_)) => break,
            Err(e) => {
                // A malformed chain: the reference refuses it too.
                let slot = start.wrapping_add(round as u16) % size;
                let head = mem.read_u16(layout.avail + 4 + 2 * slot as u64).unwrap();
                let reference = reference_chain(&mem, layout, indirect, head);
                assert_eq!(reference, None, "the queue refused chain {head}: {e}");
                break;
            }
        };
        assert!(
            device_writes || round < size as u32,
            "more chains than the ring holds"
        );
        check_chain(&mem, layout, indirect, &chain);
        let mut written = 0;
        if device_writes {
            let pattern = [0xa5u8; 512];
            let mut out = Cursor::new(&mem, &chain.writable);
            while written < 4096 {
                match out.write(&pattern) {
                    Ok(0) => break,
                    Ok(n) => written += n as u32,
                    Err(e) => panic!("a checked writable buffer failed: {e:?}"),
                }
            }
            allowed.extend(&chain.writable);
        }
        queue
            .push_used(&mem, chain.head, written)
            .expect("the used ring was checked");
        used = used.wrapping_add(1);
        if interrupt_each {
            let _ = queue.needs_interrupt(&mem);
        }
    }
    assert_writes_within(&mem, &allowed);
}

/// The chain agrees with [`reference_chain`] and lies in RAM.
fn check_chain(mem: &GuestMemory, layout: QueueLayout, indirect: bool, chain: &Chain) {
    for b in chain.readable.iter().chain(&chain.writable) {
        assert!(mem.contains(b.addr, b.len as u64), "{b:x?} outside RAM");
    }
    let reference = reference_chain(mem, layout, indirect, chain.head);
    assert_eq!(
        reference.as_ref(),
        Some(&(chain.readable.clone(), chain.writable.clone())),
        "the reference parser disagrees about the chain at {}",
        chain.head
    );
}

type Buffers = (Vec<Buffer>, Vec<Buffer>);

/// The chain at `head` read the simplest way (Virtio 1.2, 2.7.5 and 2.7.7):
/// `None` where the driver broke a rule, including visiting a descriptor
/// twice.
fn reference_chain(
    mem: &GuestMemory,
    layout: QueueLayout,
    indirect_ok: bool,
    head: u16,
) -> Option<Buffers> {
    let (mut table, mut count) = (layout.desc, layout.size as u64);
    let mut seen = vec![false; count as usize];
    let (mut index, mut first, mut in_table) = (head as u64, true, false);
    let (mut readable, mut writable) = (Vec::new(), Vec::new());
    loop {
        if index >= count || std::mem::replace(&mut seen[index as usize], true) {
            return None;
        }
        let mut raw = [0u8; 16];
        mem.read(table + 16 * index, &mut raw).ok()?;
        let addr = u64::from_le_bytes(raw[0..8].try_into().unwrap());
        let len = u32::from_le_bytes(raw[8..12].try_into().unwrap());
        let flags = u16::from_le_bytes(raw[12..14].try_into().unwrap()) as u32;
        let next = u16::from_le_bytes(raw[14..16].try_into().unwrap());
        if flags & VRING_DESC_F_INDIRECT != 0 {
            let entries = len as u64 / 16;
            let table_ok =
                len > 0 && len % 16 == 0 && entries <= 65536 && mem.contains(addr, len as u64);
            if !indirect_ok || !first || in_table || flags & VRING_DESC_F_NEXT != 0 || !table_ok {
                return None;
            }
            (table, count, index, in_table) = (addr, entries, 0, true);
            seen = vec![false; entries as usize];
            first = false;
            continue;
        }
        first = false;
        if !mem.contains(addr, len as u64) {
            return None;
        }
        let buffer = Buffer { addr, len };
        if flags & VRING_DESC_F_WRITE != 0 {
            writable.push(buffer);
        } else if writable.is_empty() {
            readable.push(buffer);
        } else {
            return None;
        }
        if flags & VRING_DESC_F_NEXT == 0 {
            return Some((readable, writable));
        }
        index = next as u64;
    }
}
