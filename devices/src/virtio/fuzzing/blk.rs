//! `virtio_blk`: one request chain over a disk in memory.
//!
//! Input: flags (bit 0 read-only, bit 1 a serial, bits 2-4 the disk size),
//! the number of readable and writable buffers (byte % 5 each), each buffer
//! as (shift: u8, offset: u16, len: u16) meaning RAM_BASE + offset and
//! len << (shift % 17) bytes (so up to twice the RAM and up to 4 GiB long),
//! then the RAM image (request header, data, segments).

use virtio_bindings::virtio_blk::*;

use super::{assert_writes_within, ram_with, Input};
use crate::virtio::block::{handle_request, MemDisk};
use crate::virtio::chain::Cursor;
use crate::virtio::queue::{Buffer, Chain};
use crate::virtio::testing::RAM_BASE;

const DISK_SECTORS: [usize; 8] = [0, 1, 2, 3, 8, 16, 64, 256];

pub fn virtio_blk(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let sectors = DISK_SECTORS[(flags >> 2) as usize % 8];
    let contents: Vec<u8> = (0..sectors * 512)
        .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 9) as u8)
        .collect();
    let mut disk = MemDisk {
        data: contents.clone(),
        read_only: flags & 1 != 0,
        serial: (flags & 2 != 0).then(|| "fuzz-serial-0123456789".into()),
        flushes: 0,
    };
    let (n_readable, n_writable) = (input.u8() % 5, input.u8() % 5);
    let mut buffers = |n| -> Vec<Buffer> {
        (0..n)
            .map(|_| {
                let shift = input.u8() % 17;
                let addr = RAM_BASE + input.u16() as u64;
                let len = (input.u16() as u32) << shift;
                Buffer { addr, len }
            })
            .collect()
    };
    let chain = Chain {
        head: 0,
        readable: buffers(n_readable),
        writable: buffers(n_writable),
    };
    let mem = ram_with(input.rest());
    // The request type as the device will read it.
    let mut header = [0u8; 16];
    let header_read = Cursor::new(&mem, &chain.readable).read(&mut header);
    let kind = u32::from_le_bytes(header[0..4].try_into().unwrap());

    let written = handle_request(&mut disk, &mem, &chain);

    let writable = chain.writable_len();
    if writable == 0 {
        assert_eq!(written, 0, "answered without a writable byte");
    }
    assert!(written as u64 <= writable, "{written} bytes in {writable}");
    assert_writes_within(&mem, &chain.writable);
    assert_eq!(disk.data.len(), contents.len(), "the disk changed size");
    let may_write = header_read == Ok(16)
        && !disk.read_only
        && matches!(
            kind,
            VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_DISCARD | VIRTIO_BLK_T_WRITE_ZEROES
        );
    if !may_write || writable == 0 {
        assert!(disk.data == contents, "type {kind} changed the disk");
    }
    // The status, written last, is the chain's last writable byte.
    if let Some(last) = chain.writable.iter().rev().find(|b| b.len > 0) {
        let mut status = [0u8];
        if mem
            .read(last.addr + last.len as u64 - 1, &mut status)
            .is_ok()
        {
            let status = status[0] as u32;
            assert!(
                [VIRTIO_BLK_S_OK, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_UNSUPP].contains(&status),
                "status {status}"
            );
        }
    }
    if kind == VIRTIO_BLK_T_FLUSH && writable > 0 && header_read == Ok(16) {
        assert_eq!(disk.flushes, 1);
    }
}
