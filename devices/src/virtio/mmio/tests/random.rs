//! The transport under random accesses and a careless driver.

use virtio_bindings::virtio_mmio::*;

use crate::irq::IrqLine;
use crate::virtio::mmio::VirtioMmio;
use crate::virtio::queue::QueueLayout;
use crate::virtio::testing::{layout_at, ram, start_driver, CounterEntropy, RAM_BASE};
use crate::virtio::VirtioDevice;
use crate::MmioDevice;
use armvm_cpu::memory::GuestMemory;

/// Random register accesses, with guest RAM full of random bytes that the
/// queues point into: nothing may panic, whatever the order.
#[test]
fn guest_cannot_panic_the_transport() {
    use crate::virtio::block::{Block, MemDisk};
    use crate::virtio::rng::Rng;

    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let registers = [
        VIRTIO_MMIO_STATUS,
        VIRTIO_MMIO_QUEUE_SEL,
        VIRTIO_MMIO_QUEUE_NUM,
        VIRTIO_MMIO_QUEUE_READY,
        VIRTIO_MMIO_QUEUE_NOTIFY,
        VIRTIO_MMIO_INTERRUPT_ACK,
        VIRTIO_MMIO_INTERRUPT_STATUS,
        VIRTIO_MMIO_DRIVER_FEATURES,
        VIRTIO_MMIO_DRIVER_FEATURES_SEL,
        VIRTIO_MMIO_DEVICE_FEATURES_SEL,
        VIRTIO_MMIO_QUEUE_DESC_LOW,
        VIRTIO_MMIO_QUEUE_AVAIL_LOW,
        VIRTIO_MMIO_QUEUE_USED_LOW,
        VIRTIO_MMIO_QUEUE_DESC_HIGH,
        VIRTIO_MMIO_CONFIG_GENERATION,
    ];
    let ram_size = 0x10000u64;
    // Whether the random accesses reach the queues at all.
    let mut used_interrupts = 0;
    for round in 0..8 {
        let mem = ram(ram_size);
        let mut bytes = vec![0u8; ram_size as usize];
        bytes.iter_mut().for_each(|b| *b = next() as u8);
        mem.write(RAM_BASE, &bytes).unwrap();
        let device: Box<dyn VirtioDevice> = if round % 2 == 0 {
            Box::new(Rng::new(Box::new(CounterEntropy(0))))
        } else {
            let disk = MemDisk {
                data: vec![0x5a; 64 * 1024],
                read_only: round % 4 == 3,
                serial: Some("fuzz".into()),
                flushes: 0,
            };
            Box::new(Block::new(Box::new(disk)))
        };
        let line = IrqLine::detached();
        let mut dev = VirtioMmio::new(device, mem.clone(), line.clone());
        for _ in 0..20_000 {
            let r = next();
            let size = [4u8, 4, 4, 1, 2, 8, 3, 0][(r >> 8) as usize % 8];
            let offset = match (r >> 16) % 4 {
                0 | 1 => registers[(r >> 20) as usize % registers.len()] as u64,
                2 => (r >> 20) % 0x200,
                _ => r >> 20,
            };
            let v = next();
            // Mostly values that make sense for the register: statuses on
            // the way to DRIVER_OK, features that may be accepted, ring
            // addresses inside RAM, small numbers.
            let value = match offset as u32 {
                _ if v >> 61 == 0 => v,
                VIRTIO_MMIO_QUEUE_DESC_LOW
                | VIRTIO_MMIO_QUEUE_AVAIL_LOW
                | VIRTIO_MMIO_QUEUE_USED_LOW => RAM_BASE + ((v % ram_size) & !((v >> 8) & 1)),
                VIRTIO_MMIO_STATUS => [0, 1, 3, 0xb, 0xf, 0x8f, 0x4f][v as usize % 7],
                VIRTIO_MMIO_DRIVER_FEATURES => [1, v & 0x3000_6264][v as usize % 2],
                VIRTIO_MMIO_QUEUE_NUM => 1 << (v % 10),
                _ => v % 3,
            };
            if r % 3 == 0 {
                let v = dev.read(0, offset, size);
                if offset == VIRTIO_MMIO_INTERRUPT_STATUS as u64 && size == 4 && v & 1 != 0 {
                    used_interrupts += 1;
                }
            } else {
                dev.write(0, offset, size, value);
            }
            if r % 16 == 0 {
                scribble(&dev, &mem, &mut next);
            }
            if r % 256 == 0 {
                let (want, at) = (next(), RAM_BASE + ((next() % 0x8000) & !0xf));
                start_driver(&mut dev, want, 0, layout_at(1 << (next() % 9), at));
            }
        }
        // A reset always brings the transport back to a clean state.
        dev.write(0, VIRTIO_MMIO_STATUS as u64, 4, 0);
        assert_eq!(dev.read(0, VIRTIO_MMIO_STATUS as u64, 4), 0);
        assert_eq!(dev.read(0, VIRTIO_MMIO_INTERRUPT_STATUS as u64, 4), 0);
        assert!(!line.level());
        dev.shutdown();
    }
    assert!(used_interrupts > 0, "no chain was ever served");
}

/// A careless driver: makes a few chains available on the selected queue
/// (mostly well-formed, now and then with a random flag, length or index), or
/// writes random bytes anywhere in RAM.
fn scribble(dev: &VirtioMmio, mem: &GuestMemory, next: &mut impl FnMut() -> u64) {
    let r = next();
    let Some(q) = dev.queues.get(dev.queue_sel as usize) else {
        return;
    };
    let QueueLayout {
        size,
        desc,
        avail,
        used,
    } = q.layout;
    if r.is_multiple_of(8) || !size.is_power_of_two() {
        let at = RAM_BASE + next() % 0x10000;
        let _ = mem.write(at, &next().to_le_bytes()[..(r >> 8) as usize % 9]);
        return;
    }
    let Ok(used_idx) = mem.read_u16(used + 2) else {
        return;
    };
    let added = (r >> 8) as u16 % 4;
    for i in 0..added {
        let slot = used_idx.wrapping_add(i) % size;
        let mut index = next() as u16 % size;
        let _ = mem.write_u16(avail + 4 + 2 * slot as u64, index);
        let len = 1 + next() % 3;
        for j in 0..len {
            let v = next();
            let mut raw = [0u8; 16];
            let addr = RAM_BASE + 0x8000 + v % 0x7000;
            let mut flags: u16 = if j + 1 < len { 1 } else { 0 } | if j > 0 { 2 } else { 0 };
            let mut next_index = (index + 1) % size;
            let mut buf_len = (v >> 16) as u32 % 0x800;
            match v >> 59 {
                0 => flags ^= 1 << ((v >> 32) % 3),
                1 => next_index = (v >> 32) as u16,
                2 => buf_len = (v >> 32) as u32,
                _ => {}
            }
            raw[0..8].copy_from_slice(&addr.to_le_bytes());
            raw[8..12].copy_from_slice(&buf_len.to_le_bytes());
            raw[12..14].copy_from_slice(&flags.to_le_bytes());
            raw[14..16].copy_from_slice(&next_index.to_le_bytes());
            let _ = mem.write(desc + 16 * index as u64, &raw);
            index = next_index;
        }
    }
    let _ = mem.write_u16(avail + 2, used_idx.wrapping_add(added));
}
