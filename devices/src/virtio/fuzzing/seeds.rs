//! Well-formed inputs for each target, written as a driver would lay them out
//! (the committed corpus under `fuzz/corpus/` starts from these).

use virtio_bindings::virtio_blk::*;
use virtio_bindings::virtio_mmio::*;
use virtio_bindings::virtio_ring::{
    VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT,
    VRING_DESC_F_WRITE,
};

use super::RAM_SIZE;
use crate::virtio::testing::{r, ram, w, Driver, RAM_BASE};

/// Where seeds put their rings and their data (low, to keep the images small).
const RINGS: u64 = RAM_BASE + 0x100;
const DATA: u64 = RAM_BASE + 0x800;
const INDIRECT: u16 = VRING_DESC_F_INDIRECT as u16;
const NEXT: u16 = VRING_DESC_F_NEXT as u16;
const WRITE: u16 = VRING_DESC_F_WRITE as u16;

/// (target, name, input) for every seed.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut all = Vec::new();
    for (name, input) in virtqueue_seeds() {
        all.push(("virtqueue", name, input));
    }
    for (name, input) in blk_seeds() {
        all.push(("virtio_blk", name, input));
    }
    for (name, input) in mmio_seeds() {
        all.push(("virtio_mmio", name, input));
    }
    all
}

/// RAM as bytes, without its trailing zeroes.
fn image(mem: &armvm_cpu::memory::GuestMemory) -> Vec<u8> {
    let mut v = vec![0u8; RAM_SIZE as usize];
    mem.read(RAM_BASE, &mut v).unwrap();
    let end = v.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    v.truncate(end);
    v
}

fn le16(v: u64) -> [u8; 2] {
    ((v - RAM_BASE) as u16).to_le_bytes()
}

/// A `virtqueue` input: a queue of 1 << `log2` at RINGS built by `build`.
fn vq(log2: u8, flags: u8, build: impl FnOnce(&mut Driver)) -> Vec<u8> {
    let mut d = Driver::new(ram(RAM_SIZE), 1 << log2, RINGS);
    build(&mut d);
    let l = d.layout;
    let mut v = vec![log2, flags];
    for addr in [l.desc, l.avail, l.used] {
        v.extend(le16(addr));
    }
    v.extend(image(&d.mem));
    v
}

fn virtqueue_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let table = RAM_BASE + 0x600;
    vec![
        (
            "simple",
            vq(3, 4, |d| {
                d.add(&[r(DATA, 16), w(DATA + 0x10, 32)]);
            }),
        ),
        (
            "several_event_idx",
            vq(3, 1 | 4 | 8, |d| {
                d.add(&[r(DATA, 1)]);
                d.add(&[w(DATA, 8), w(DATA + 0x20, 8)]);
                d.add(&[r(DATA, 4), r(DATA + 4, 4), w(DATA + 0x40, 1)]);
                d.set_used_event(1);
            }),
        ),
        (
            "indirect",
            vq(3, 2 | 4, |d| {
                d.write_desc(table, 0, DATA, 16, NEXT, 1);
                d.write_desc(table, 1, DATA + 0x10, 16, WRITE, 0);
                d.desc(0, table, 32, INDIRECT, 0);
                d.publish(0);
            }),
        ),
        (
            "nested_indirect",
            vq(3, 2, |d| {
                d.write_desc(table, 0, table, 16, INDIRECT, 0);
                d.desc(0, table, 16, INDIRECT, 0);
                d.publish(0);
            }),
        ),
        (
            "loop",
            vq(2, 0, |d| {
                d.desc(0, DATA, 4, NEXT, 1);
                d.desc(1, DATA, 4, NEXT, 0);
                d.publish(0);
            }),
        ),
        (
            "wrap",
            vq(1, 4 | 8, |d| {
                d.set_used_idx(0xffff);
                d.set_avail_idx(0xffff);
                d.add(&[w(DATA, 4)]);
                d.add(&[w(DATA + 4, 4)]);
            }),
        ),
        (
            "full_ring",
            vq(4, 1, |d| {
                for i in 0..16 {
                    d.add(&[r(DATA + i, 1)]);
                }
            }),
        ),
        (
            "readable_after_writable",
            vq(3, 4, |d| {
                d.add(&[w(DATA, 4), r(DATA, 4)]);
            }),
        ),
        ("too_many_available", vq(2, 0, |d| d.set_avail_idx(5))),
        (
            "zero_length",
            vq(0, 4, |d| {
                d.add(&[w(DATA, 0)]);
            }),
        ),
    ]
}

/// A `virtio_blk` input: `flags`, buffers as (addr, len) inside RAM, and RAM
/// pieces.
fn blk(
    flags: u8,
    readable: &[(u64, u32)],
    writable: &[(u64, u32)],
    ram: &[(u64, &[u8])],
) -> Vec<u8> {
    let mut v = vec![flags, readable.len() as u8, writable.len() as u8];
    for &(addr, len) in readable.iter().chain(writable) {
        // The smallest shift that makes the length fit 16 bits.
        let shift = (0..17)
            .find(|s| len >> s <= 0xffff && (len >> s) << s == len)
            .unwrap();
        v.push(shift as u8);
        v.extend(le16(addr));
        v.extend(((len >> shift) as u16).to_le_bytes());
    }
    let mut image = Vec::new();
    for &(addr, bytes) in ram {
        let at = (addr - RAM_BASE) as usize;
        if image.len() < at + bytes.len() {
            image.resize(at + bytes.len(), 0);
        }
        image[at..at + bytes.len()].copy_from_slice(bytes);
    }
    v.extend(image);
    v
}

fn header(kind: u32, sector: u64) -> Vec<u8> {
    let mut h = kind.to_le_bytes().to_vec();
    h.extend([0; 4]);
    h.extend(sector.to_le_bytes());
    h
}

fn segment(sector: u64, sectors: u32, flags: u32) -> Vec<u8> {
    let mut s = sector.to_le_bytes().to_vec();
    s.extend(sectors.to_le_bytes());
    s.extend(flags.to_le_bytes());
    s
}

fn blk_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (h, d, s) = (RAM_BASE, RAM_BASE + 0x10, RAM_BASE + 0x7ff);
    let disk = 4 << 2; // 8 sectors
    let data: Vec<u8> = (0..1024).map(|i| i as u8).collect();
    let io = |kind, sector| header(kind, sector);
    vec![
        (
            "in",
            blk(
                disk,
                &[(h, 16)],
                &[(d, 1024), (s, 1)],
                &[(h, &io(VIRTIO_BLK_T_IN, 2))],
            ),
        ),
        (
            "out",
            blk(
                disk,
                &[(h, 16), (d, 1024)],
                &[(s, 1)],
                &[(h, &io(VIRTIO_BLK_T_OUT, 6)), (d, &data)],
            ),
        ),
        (
            "flush",
            blk(
                disk,
                &[(h, 16)],
                &[(s, 1)],
                &[(h, &io(VIRTIO_BLK_T_FLUSH, 0))],
            ),
        ),
        (
            "get_id",
            blk(
                disk | 2,
                &[(h, 16)],
                &[(d, 20), (s, 1)],
                &[(h, &io(VIRTIO_BLK_T_GET_ID, 0))],
            ),
        ),
        (
            "discard",
            blk(
                disk,
                &[(h, 16), (d, 16)],
                &[(s, 1)],
                &[(h, &io(VIRTIO_BLK_T_DISCARD, 0)), (d, &segment(1, 2, 0))],
            ),
        ),
        (
            "write_zeroes",
            blk(
                disk,
                &[(h, 16), (d, 16)],
                &[(s, 1)],
                &[
                    (h, &io(VIRTIO_BLK_T_WRITE_ZEROES, 0)),
                    (d, &segment(7, 1, 1)),
                ],
            ),
        ),
        (
            "out_of_range",
            blk(
                disk,
                &[(h, 16)],
                &[(d, 1024), (s, 1)],
                &[(h, &io(VIRTIO_BLK_T_IN, 7))],
            ),
        ),
        (
            "read_only_out",
            blk(
                disk | 1,
                &[(h, 16), (d, 512)],
                &[(s, 1)],
                &[(h, &io(VIRTIO_BLK_T_OUT, 0))],
            ),
        ),
        (
            "unknown",
            blk(disk, &[(h, 16)], &[(s, 1)], &[(h, &io(9, 0))]),
        ),
        (
            "short_header",
            blk(disk, &[(h, 8)], &[(s, 1)], &[(h, &io(VIRTIO_BLK_T_OUT, 0))]),
        ),
        (
            "no_status",
            blk(disk, &[(h, 16)], &[], &[(h, &io(VIRTIO_BLK_T_IN, 0))]),
        ),
        (
            "huge",
            blk(
                7 << 2,
                &[(h, 16)],
                &[(d, 0xffff << 16), (s, 1)],
                &[(h, &io(VIRTIO_BLK_T_IN, 0))],
            ),
        ),
    ]
}

/// A `virtio_mmio` input: `kind`, RAM holding a queue of 8 at RINGS with
/// the chains `build` adds, the device brought up with `features`, then
/// `ops`.
fn mmio(kind: u8, features: u64, build: impl FnOnce(&mut Driver), ops: &[u8]) -> Vec<u8> {
    let mut d = Driver::new(ram(RAM_SIZE), 8, RINGS);
    build(&mut d);
    let image = image(&d.mem);
    let mut v = vec![kind];
    v.extend((image.len() as u16).to_le_bytes());
    v.extend(image);
    v.push(6);
    v.extend(features.to_le_bytes());
    v.push(3);
    v.extend(le16(RINGS));
    v.extend(ops);
    v
}

/// Operations: a 4-byte register write, a register read.
fn wr(offset: u32, value: u32) -> Vec<u8> {
    let mut v = vec![0, (offset / 4) as u8];
    v.extend(value.to_le_bytes());
    v
}

fn rd(offset: u32) -> Vec<u8> {
    vec![4, (offset / 4) as u8]
}

fn mmio_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let serve = [
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0),
        rd(VIRTIO_MMIO_INTERRUPT_STATUS),
        wr(VIRTIO_MMIO_INTERRUPT_ACK, 1),
    ]
    .concat();
    let event_idx = 1 << VIRTIO_RING_F_EVENT_IDX;
    let indirect = 1 << VIRTIO_RING_F_INDIRECT_DESC;
    let io = |kind| header(kind, 1);
    let blk_request = |kind| {
        move |d: &mut Driver| {
            d.mem.write(DATA, &io(kind)).unwrap();
            let data = if kind == VIRTIO_BLK_T_IN {
                w(DATA + 0x10, 512)
            } else {
                r(DATA + 0x10, 512)
            };
            d.add(&[r(DATA, 16), data, w(DATA + 0x300, 1)]);
        }
    };
    // Config space reads of every size, a bad activation and a notify too early.
    let mut config = Vec::new();
    for size_code in 0..8u8 {
        config.extend([
            4 | size_code << 3,
            (VIRTIO_MMIO_CONFIG / 4) as u8 + size_code,
        ]);
    }
    let bad_start = [
        vec![6],
        u64::MAX.to_le_bytes().to_vec(),
        vec![9, 0xf0, 0xff],
    ]
    .concat();
    let early = [
        wr(VIRTIO_MMIO_STATUS, 0),
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0),
        rd(VIRTIO_MMIO_STATUS),
    ]
    .concat();
    vec![
        (
            "rng",
            mmio(
                0,
                event_idx,
                |d| {
                    d.add(&[w(DATA, 64)]);
                    d.add(&[w(DATA + 0x40, 8), w(DATA + 0x80, 8)]);
                },
                &serve,
            ),
        ),
        (
            "rng_indirect",
            mmio(
                0,
                indirect,
                |d| {
                    d.write_desc(DATA, 0, DATA + 0x100, 16, WRITE, 0);
                    d.desc(0, DATA, 16, INDIRECT, 0);
                    d.publish(0);
                },
                &serve,
            ),
        ),
        (
            "blk_read",
            mmio(1, event_idx, blk_request(VIRTIO_BLK_T_IN), &serve),
        ),
        (
            "blk_write",
            mmio(1, 0, blk_request(VIRTIO_BLK_T_OUT), &serve),
        ),
        ("config", mmio(1, 0, |_| {}, &config)),
        ("bad_start", [vec![0, 0, 0], bad_start].concat()),
        ("notify_early", mmio(0, 0, |_| {}, &early)),
    ]
}
