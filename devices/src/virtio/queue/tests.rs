use super::*;
use crate::virtio::testing::{r, ram, w, Driver, RAM_BASE};

const RAM_SIZE: u64 = 0x10000;
const RAM_END: u64 = RAM_BASE + RAM_SIZE;
/// Data buffers live here, the rings at RAM_BASE.
const DATA: u64 = RAM_BASE + 0x8000;
const INDIRECT: u16 = VRING_DESC_F_INDIRECT as u16;
const NEXT: u16 = VRING_DESC_F_NEXT as u16;
const WRITE: u16 = VRING_DESC_F_WRITE as u16;

fn driver(size: u16) -> Driver {
    Driver::new(ram(RAM_SIZE), size, RAM_BASE)
}

fn buf(addr: u64, len: u32) -> Buffer {
    Buffer { addr, len }
}

/// Pops once, expecting an error.
fn pop_err(d: &Driver, event_idx: bool, indirect: bool) -> QueueError {
    d.queue(event_idx, indirect)
        .pop(&d.mem)
        .expect_err("the chain should be refused")
}

#[test]
fn simple_chain_readable_then_writable() {
    let mut d = driver(8);
    let head = d.add(&[r(DATA, 16), r(DATA + 0x100, 8), w(DATA + 0x200, 32)]);
    let mut q = d.queue(false, false);
    let chain = q.pop(&d.mem).unwrap().unwrap();
    assert_eq!(chain.head, head);
    assert_eq!(chain.readable, [buf(DATA, 16), buf(DATA + 0x100, 8)]);
    assert_eq!(chain.writable, [buf(DATA + 0x200, 32)]);
    assert_eq!((chain.readable_len(), chain.writable_len()), (24, 32));
    assert_eq!(q.pop(&d.mem).unwrap(), None);
}

#[test]
fn multiple_chains_come_out_in_order() {
    let mut d = driver(8);
    let a = d.add(&[r(DATA, 1)]);
    let b = d.add(&[w(DATA + 0x10, 2), w(DATA + 0x20, 3)]);
    let c = d.add(&[r(DATA + 0x30, 4), w(DATA + 0x40, 5)]);
    assert_eq!((a, b, c), (0, 1, 3));
    let mut q = d.queue(false, false);
    let heads: Vec<u16> = std::iter::from_fn(|| q.pop(&d.mem).unwrap())
        .map(|c| c.head)
        .collect();
    assert_eq!(heads, [0, 1, 3]);
    assert_eq!(q.pop(&d.mem).unwrap(), None);
}

#[test]
fn push_used_writes_id_len_and_index() {
    let mut d = driver(4);
    let a = d.add(&[w(DATA, 64)]);
    let b = d.add(&[w(DATA + 0x100, 64)]);
    let mut q = d.queue(false, false);
    let (ca, cb) = (
        q.pop(&d.mem).unwrap().unwrap(),
        q.pop(&d.mem).unwrap().unwrap(),
    );
    // Used out of order: the ring records what the device says.
    q.push_used(&d.mem, cb.head, 1234).unwrap();
    assert_eq!(d.used_idx(), 1);
    assert_eq!(d.used_elem(0), (b as u32, 1234));
    q.push_used(&d.mem, ca.head, 7).unwrap();
    assert_eq!(d.used_idx(), 2);
    assert_eq!(d.used_elem(1), (a as u32, 7));
}

#[test]
fn indices_wrap_around_at_16_bits() {
    let mut d = driver(4);
    // A re-activated queue resumes at used.idx; start just before the wrap.
    let start = u16::MAX - 5;
    d.set_used_idx(start);
    d.set_avail_idx(start);
    let mut q = d.queue(false, false);
    for i in 0..20u16 {
        let head = d.add(&[w(DATA + 0x10 * i as u64, 8)]);
        let chain = q.pop(&d.mem).unwrap().expect("a chain");
        assert_eq!(chain.head, head);
        assert_eq!(chain.writable, [buf(DATA + 0x10 * i as u64, 8)]);
        assert_eq!(q.pop(&d.mem).unwrap(), None);
        q.push_used(&d.mem, chain.head, i as u32).unwrap();
        let idx = start.wrapping_add(i + 1);
        assert_eq!(d.used_idx(), idx);
        assert_eq!(d.used_elem(idx.wrapping_sub(1)), (head as u32, i as u32));
    }
    // A full ring across the wrap.
    let heads: Vec<u16> = (0..4).map(|i| d.add(&[r(DATA, i + 1)])).collect();
    let got: Vec<u16> = std::iter::from_fn(|| q.pop(&d.mem).unwrap())
        .map(|c| c.head)
        .collect();
    assert_eq!(got, heads);
}

#[test]
fn zero_length_buffers_are_fine() {
    let mut d = driver(8);
    d.add(&[r(DATA, 0), w(RAM_END, 0), w(DATA, 4)]);
    let chain = d.queue(false, false).pop(&d.mem).unwrap().unwrap();
    assert_eq!(chain.readable, [buf(DATA, 0)]);
    assert_eq!(chain.writable, [buf(RAM_END, 0), buf(DATA, 4)]);
}

/// An indirect table of `entries` at `table`, chained in order.
fn write_table(d: &Driver, table: u64, entries: &[(u64, u32, u16)]) {
    for (i, &(addr, len, flags)) in entries.iter().enumerate() {
        let next = if i + 1 < entries.len() { NEXT } else { 0 };
        d.write_desc(table, i as u16, addr, len, flags | next, i as u16 + 1);
    }
}

#[test]
fn indirect_table_is_followed_when_negotiated() {
    let mut d = driver(4);
    let table = RAM_BASE + 0x4000;
    write_table(
        &d,
        table,
        &[
            (DATA, 10, 0),
            (DATA + 0x10, 20, 0),
            (DATA + 0x20, 30, WRITE),
        ],
    );
    d.desc(2, table, 3 * 16, INDIRECT, 0);
    d.publish(2);
    let chain = d.queue(false, true).pop(&d.mem).unwrap().unwrap();
    assert_eq!(chain.head, 2);
    assert_eq!(chain.readable, [buf(DATA, 10), buf(DATA + 0x10, 20)]);
    assert_eq!(chain.writable, [buf(DATA + 0x20, 30)]);
    // The same chain without the feature.
    assert_eq!(pop_err(&d, false, false), QueueError::IndirectNotNegotiated);
}

#[test]
fn indirect_only_at_the_head_of_a_chain() {
    let table = RAM_BASE + 0x4000;
    // After a direct descriptor.
    let mut d = driver(4);
    write_table(&d, table, &[(DATA, 10, 0)]);
    d.desc(0, DATA, 4, NEXT, 1);
    d.desc(1, table, 16, INDIRECT, 0);
    d.publish(0);
    assert_eq!(pop_err(&d, false, true), QueueError::NestedIndirect);
    // An indirect head that goes on (INDIRECT with NEXT).
    let mut d = driver(4);
    write_table(&d, table, &[(DATA, 10, 0)]);
    d.desc(0, table, 16, INDIRECT | NEXT, 1);
    d.desc(1, DATA, 4, 0, 0);
    d.publish(0);
    assert_eq!(pop_err(&d, false, true), QueueError::NestedIndirect);
}

#[test]
fn nested_indirect_is_refused() {
    let (outer, inner) = (RAM_BASE + 0x4000, RAM_BASE + 0x5000);
    // Inside the table, after a direct entry and as its first entry (index 0,
    // like the head of the chain).
    let tables: [&[(u64, u32, u16)]; 2] = [
        &[(DATA, 4, 0), (inner, 16, INDIRECT)],
        &[(inner, 16, INDIRECT)],
    ];
    for table in tables {
        let mut d = driver(4);
        write_table(&d, inner, &[(DATA, 10, 0)]);
        write_table(&d, outer, table);
        d.desc(0, outer, 16 * table.len() as u32, INDIRECT, 0);
        d.publish(0);
        assert_eq!(pop_err(&d, false, true), QueueError::NestedIndirect);
    }
}

#[test]
fn bad_indirect_tables_are_refused() {
    let table = RAM_BASE + 0x4000;
    let cases = [
        (table, 0),              // empty
        (table, 24),             // not a multiple of 16
        (table, 8),              // shorter than one descriptor
        (RAM_END, 16),           // outside RAM
        (RAM_END - 16, 32),      // straddling the end of RAM
        (u64::MAX - 15, 32),     // wrapping the address space
        (table, 0x10_0000 + 16), // more entries than a 16-bit index reaches
    ];
    for (addr, len) in cases {
        let mut d = driver(4);
        write_table(&d, table, &[(DATA, 10, 0), (DATA, 10, 0)]);
        d.desc(0, addr, len, INDIRECT, 0);
        d.publish(0);
        assert_eq!(
            pop_err(&d, false, true),
            QueueError::BadIndirectTable(len),
            "table at {addr:#x}, {len} bytes"
        );
    }
}

#[test]
fn indirect_chain_checks_its_own_indices_and_loops() {
    let table = RAM_BASE + 0x4000;
    // `next` beyond the table (but inside the queue).
    let mut d = driver(8);
    d.write_desc(table, 0, DATA, 4, NEXT, 2);
    d.desc(0, table, 32, INDIRECT, 0);
    d.publish(0);
    assert_eq!(pop_err(&d, false, true), QueueError::BadIndex(2));
    // A loop inside the table.
    let mut d = driver(8);
    d.write_desc(table, 0, DATA, 4, NEXT, 1);
    d.write_desc(table, 1, DATA, 4, NEXT, 0);
    d.desc(0, table, 32, INDIRECT, 0);
    d.publish(0);
    assert_eq!(pop_err(&d, false, true), QueueError::ChainTooLong);
}

#[test]
fn looping_chains_are_errors_not_hangs() {
    for size in [1u16, 2, 8, 256] {
        // Each descriptor points to the next and the last back to the first.
        let mut d = driver(size);
        for i in 0..size {
            d.desc(i, DATA, 4, NEXT, (i + 1) % size);
        }
        d.publish(size - 1);
        assert_eq!(pop_err(&d, false, false), QueueError::ChainTooLong);
        // A loop that does not return to the head.
        let mut d = driver(size);
        d.desc(0, DATA, 4, NEXT, size - 1);
        d.desc(size - 1, DATA, 4, WRITE | NEXT, size - 1);
        d.publish(0);
        assert_eq!(pop_err(&d, false, false), QueueError::ChainTooLong);
    }
}

#[test]
fn a_chain_as_long_as_the_queue_is_fine() {
    let mut d = driver(16);
    let bufs: Vec<_> = (0..16).map(|i| r(DATA + i, 1)).collect();
    d.add(&bufs);
    let chain = d.queue(false, false).pop(&d.mem).unwrap().unwrap();
    assert_eq!(chain.readable.len(), 16);
}

#[test]
fn descriptor_indices_beyond_the_queue_are_refused() {
    // A head beyond the table.
    let mut d = driver(4);
    d.publish(4);
    assert_eq!(pop_err(&d, false, false), QueueError::BadIndex(4));
    // A `next` beyond it.
    let mut d = driver(4);
    d.desc(0, DATA, 4, NEXT, 0xffff);
    d.publish(0);
    assert_eq!(pop_err(&d, false, false), QueueError::BadIndex(0xffff));
}

#[test]
fn buffers_outside_ram_are_refused() {
    let cases = [
        (RAM_END, 1),      // just past RAM
        (RAM_END - 4, 8),  // straddling its end
        (RAM_BASE - 1, 2), // straddling its start
        (0, 4),            // below RAM
        (u64::MAX - 1, 4), // wrapping the address space
        (DATA, u32::MAX),  // far too long
    ];
    for writable in [false, true] {
        for (addr, len) in cases {
            let mut d = driver(4);
            let b = if writable { w(addr, len) } else { r(addr, len) };
            d.add(&[r(DATA, 4), b]);
            assert_eq!(
                pop_err(&d, false, false),
                QueueError::BadBuffer(addr),
                "{addr:#x}+{len}"
            );
        }
    }
    // The last byte of RAM is fine.
    let mut d = driver(4);
    d.add(&[w(RAM_END - 1, 1)]);
    assert!(d.queue(false, false).pop(&d.mem).unwrap().is_some());
}

#[test]
fn readable_after_writable_is_refused() {
    let mut d = driver(4);
    d.add(&[r(DATA, 4), w(DATA + 4, 4), r(DATA + 8, 4)]);
    assert_eq!(pop_err(&d, false, false), QueueError::ReadableAfterWritable);
}

#[test]
fn avail_index_running_ahead_is_refused() {
    let mut d = driver(4);
    for _ in 0..4 {
        d.add(&[r(DATA, 4)]);
    }
    // Exactly a full ring is fine.
    let mut q = d.queue(false, false);
    for _ in 0..4 {
        q.pop(&d.mem).unwrap().unwrap();
    }
    // Five more than the device took: one more than the ring holds.
    let mut d = driver(4);
    d.set_avail_idx(5);
    assert_eq!(pop_err(&d, false, false), QueueError::TooManyAvailable(1));
    let mut d = driver(4);
    d.set_avail_idx(0x8000);
    assert_eq!(
        pop_err(&d, false, false),
        QueueError::TooManyAvailable(0x8000 - 4)
    );
}

#[test]
fn rings_must_be_in_ram_aligned_and_sized() {
    let mem = ram(RAM_SIZE);
    let good = QueueLayout {
        size: 8,
        desc: RAM_BASE,
        avail: RAM_BASE + 0x1000,
        used: RAM_BASE + 0x2000,
    };
    assert!(Queue::new(&mem, good, false, false).is_ok());
    let bad = [
        QueueLayout { size: 0, ..good },
        QueueLayout { size: 6, ..good },
        QueueLayout {
            desc: RAM_END - 16 * 7,
            ..good
        },
        QueueLayout {
            avail: RAM_BASE + 0x1001,
            ..good
        },
        QueueLayout {
            avail: RAM_END - 4,
            ..good
        },
        QueueLayout {
            used: RAM_BASE + 0x2001,
            ..good
        },
        QueueLayout {
            used: RAM_END - 8 * 8,
            ..good
        },
        QueueLayout {
            used: u64::MAX - 1,
            ..good
        },
    ];
    for layout in bad {
        assert!(
            Queue::new(&mem, layout, false, false).is_err(),
            "{layout:x?}"
        );
    }
}

/// vring_need_event spelled out: whether the device filled used-ring entry
/// `event` (the driver's used_event) since the last interrupt, that is whether
/// it is one of old, old+1, ..., new-1.
fn reference_need_event(event: u16, new: u16, old: u16) -> bool {
    let mut i = old;
    while i != new {
        if i == event {
            return true;
        }
        i = i.wrapping_add(1);
    }
    false
}

#[test]
fn needs_interrupt_follows_vring_need_event() {
    let d = driver(8);
    let mut q = d.queue(true, false);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..20_000 {
        let v = next();
        let old = v as u16;
        // Mostly small distances (and events near them), some anywhere.
        let (new, event) = if i % 4 == 0 {
            ((v >> 16) as u16, (v >> 32) as u16)
        } else {
            let new = old.wrapping_add((v >> 16) as u16 % 8);
            (
                new,
                old.wrapping_add(((v >> 32) as u16 % 12).wrapping_sub(2)),
            )
        };
        d.set_used_event(event);
        (q.signalled_used, q.next_used) = (old, new);
        assert_eq!(
            q.needs_interrupt(&d.mem).unwrap(),
            reference_need_event(event, new, old),
            "used_event {event}, old {old}, new {new}"
        );
        // Nothing used since: no interrupt, whatever the event.
        assert!(!q.needs_interrupt(&d.mem).unwrap());
    }
}

#[test]
fn event_index_interrupts_once_the_used_event_passes() {
    let mut d = driver(8);
    let mut q = d.queue(true, false);
    d.set_used_event(1); // interrupt after the second used buffer
    for i in 0..3 {
        d.add(&[w(DATA, 4)]);
        let c = q.pop(&d.mem).unwrap().unwrap();
        q.push_used(&d.mem, c.head, 4).unwrap();
        // Avail flags mean nothing with event index.
        d.set_avail_flags(VRING_AVAIL_F_NO_INTERRUPT as u16);
        assert_eq!(q.needs_interrupt(&d.mem).unwrap(), i == 1, "buffer {i}");
    }
}

#[test]
fn avail_event_is_written_on_an_empty_pop() {
    let mut d = driver(8);
    let sentinel = 0xabcd;
    d.mem
        .write_u16(d.layout.used + 4 + 8 * 8, sentinel)
        .unwrap();
    // Without event index the field is not the device's.
    let mut plain = d.queue(false, false);
    assert_eq!(plain.pop(&d.mem).unwrap(), None);
    assert_eq!(d.avail_event(), sentinel);

    let mut q = d.queue(true, false);
    d.add(&[r(DATA, 1)]);
    d.add(&[r(DATA, 1)]);
    q.pop(&d.mem).unwrap().unwrap();
    assert_eq!(
        d.avail_event(),
        sentinel,
        "written only when the ring is empty"
    );
    q.pop(&d.mem).unwrap().unwrap();
    assert_eq!(q.pop(&d.mem).unwrap(), None);
    assert_eq!(d.avail_event(), 2);
}

#[test]
fn no_interrupt_flag_suppresses_without_event_index() {
    let mut d = driver(8);
    let mut q = d.queue(false, false);
    // Nothing used yet: no interrupt.
    assert!(!q.needs_interrupt(&d.mem).unwrap());
    for suppress in [true, false, true] {
        d.add(&[w(DATA, 4)]);
        let c = q.pop(&d.mem).unwrap().unwrap();
        q.push_used(&d.mem, c.head, 0).unwrap();
        d.set_avail_flags(if suppress {
            VRING_AVAIL_F_NO_INTERRUPT as u16
        } else {
            0
        });
        // used_event means nothing without event index.
        d.set_used_event(0x1234);
        assert_eq!(q.needs_interrupt(&d.mem).unwrap(), !suppress);
    }
}
