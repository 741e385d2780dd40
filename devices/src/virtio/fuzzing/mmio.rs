//! `virtio_mmio`: a sequence of register accesses and RAM writes against a
//! virtio-mmio transport with an entropy device (served on the calling
//! thread, so deterministic) or a block device (served on its worker thread).
//!
//! Input: the device (bit 0: block, bit 1: read-only), the length of the RAM
//! image (u16) and the image, then operations until the bytes run out; each
//! starts with a byte `op`, whose low 3 bits select:
//! - 0-3: write a register (u8 * 4 as the offset, the access size from bits
//!   3-5 of `op`, a u32 value; a u64 one for 8-byte accesses),
//! - 4: read a register (offset and size as for writes),
//! - 5: write RAM (u16 offset, length byte % 32, the bytes),
//! - 6: bring the device up as a driver does (features: u64, queue size
//!   1 << (u8 % 10), ring offset u16),
//! - 7: an access anywhere in the slot or past it (u16 offset, size from
//!   `op`, write if bit 6 of `op`, u64 value).

use virtio_bindings::virtio_mmio::{VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_STATUS};

use super::{ram_with, Input, RAM_SIZE};
use crate::irq::IrqLine;
use crate::virtio::block::{Block, MemDisk};
use crate::virtio::mmio::VirtioMmio;
use crate::virtio::rng::Rng;
use crate::virtio::testing::{layout_at, start_driver, CounterEntropy, RAM_BASE};
use crate::virtio::VirtioDevice;
use crate::MmioDevice;

const SIZES: [u8; 8] = [4, 4, 4, 4, 1, 2, 8, 0];

pub fn virtio_mmio(data: &[u8]) {
    let mut input = Input::new(data);
    let kind = input.u8();
    let synchronous = kind & 1 == 0;
    let device: Box<dyn VirtioDevice> = if synchronous {
        Box::new(Rng::new(Box::new(CounterEntropy(0))))
    } else {
        Box::new(Block::new(Box::new(MemDisk {
            data: vec![0x5a; 32 * 512],
            read_only: kind & 2 != 0,
            serial: Some("fuzz".into()),
            flushes: 0,
        })))
    };
    let image_len = input.u16() as usize;
    let mem = ram_with(input.bytes(image_len));
    let line = IrqLine::detached();
    let mut dev = VirtioMmio::new(device, mem.clone(), line.clone());
    let reg = |dev: &mut VirtioMmio, offset: u32| dev.read(0, offset as u64, 4);
    // Bounded, whatever the input's length.
    for _ in 0..10_000 {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        let size = SIZES[(op >> 3) as usize % 8];
        match op % 8 {
            0..=4 => {
                let offset = input.u8() as u64 * 4;
                if op % 8 == 4 {
                    let _ = dev.read(0, offset, size);
                } else {
                    let value = if size == 8 {
                        input.u64()
                    } else {
                        input.u32() as u64
                    };
                    dev.write(0, offset, size, value);
                }
            }
            5 => {
                let at = RAM_BASE + input.u16() as u64;
                let n = input.u8() as usize % 32;
                let _ = mem.write(at, input.bytes(n));
            }
            6 => {
                let want = input.u64();
                let size = 1u16 << (input.u8() % 10);
                let at = RAM_BASE + (input.u16() as u64 % RAM_SIZE);
                start_driver(&mut dev, want, 0, layout_at(size, at));
            }
            _ => {
                let offset = input.u16() as u64;
                let value = input.u64();
                if op & 0x40 != 0 {
                    dev.write(0, offset, size, value);
                } else {
                    let _ = dev.read(0, offset, size);
                }
            }
        }
        if synchronous {
            // The line follows InterruptStatus.
            let status = reg(&mut dev, VIRTIO_MMIO_INTERRUPT_STATUS);
            assert_eq!(line.level(), status != 0, "InterruptStatus {status:#x}");
        }
    }
    // A reset always brings the transport back to its power-on state.
    dev.write(0, VIRTIO_MMIO_STATUS as u64, 4, 0);
    assert_eq!(reg(&mut dev, VIRTIO_MMIO_STATUS), 0);
    assert_eq!(reg(&mut dev, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert!(!line.level());
    dev.shutdown();
}
