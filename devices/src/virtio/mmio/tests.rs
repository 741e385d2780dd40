use std::sync::Mutex;

use virtio_bindings::virtio_config::{
    VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_NEEDS_RESET,
};

use super::*;
use crate::virtio::block::read_bytes;
use crate::virtio::testing::{ram, RAM_BASE};
use crate::virtio::{QueueError, INT_CONFIG_CHANGE, INT_USED_BUFFER};
use crate::MmioDevice;

const DEVICE_ID: u32 = 42;
/// Device feature bits of the fake: one in each half.
const DEVICE_FEATURES: u64 = (1 << 3) | (1 << 40);
const CONFIG: [u8; 12] = *b"fake-config!";
const NEEDS_RESET: u32 = VIRTIO_CONFIG_S_NEEDS_RESET;
const FEATURES_OK: u32 = VIRTIO_CONFIG_S_FEATURES_OK;
const DRIVER_OK: u32 = VIRTIO_CONFIG_S_DRIVER_OK;
const VERSION_1: u64 = 1 << VIRTIO_F_VERSION_1;

/// What the transport did to the fake device.
#[derive(Default)]
struct Log {
    /// For each activation, which queues were handed over (ready) and whether
    /// they use event index.
    activations: Vec<Vec<Option<bool>>>,
    ctx: Option<DeviceContext>,
    notifies: Vec<u16>,
    resets: u32,
    config_writes: Vec<(u64, Vec<u8>)>,
}

struct Fake(Arc<Mutex<Log>>);

impl VirtioDevice for Fake {
    fn device_id(&self) -> u32 {
        DEVICE_ID
    }
    fn features(&self) -> u64 {
        DEVICE_FEATURES
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![8, 4]
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_bytes(&CONFIG, offset, data);
    }
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .config_writes
            .push((offset, data.to_vec()));
    }
    fn activate(&mut self, ctx: DeviceContext, queues: Vec<Option<Queue>>) {
        let mut log = self.0.lock().unwrap();
        let queues = queues
            .iter()
            .map(|q| q.as_ref().map(|q| q.event_idx()))
            .collect();
        log.activations.push(queues);
        log.ctx = Some(ctx);
    }
    fn notify(&mut self, index: u16) {
        self.0.lock().unwrap().notifies.push(index);
    }
    fn reset(&mut self) {
        self.0.lock().unwrap().resets += 1;
    }
}

struct T {
    dev: VirtioMmio,
    line: IrqLine,
    log: Arc<Mutex<Log>>,
}

impl T {
    fn new() -> T {
        let log = Arc::new(Mutex::new(Log::default()));
        let line = IrqLine::detached();
        let dev = VirtioMmio::new(Box::new(Fake(log.clone())), ram(0x10000), line.clone());
        T { dev, line, log }
    }
    fn rd(&mut self, offset: u32) -> u32 {
        self.dev.read(0, offset as u64, 4) as u32
    }
    fn wr(&mut self, offset: u32, value: u32) {
        self.dev.write(0, offset as u64, 4, value as u64)
    }
    fn status(&mut self) -> u32 {
        self.rd(VIRTIO_MMIO_STATUS)
    }
    fn device_features(&mut self) -> u64 {
        self.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
        let low = self.rd(VIRTIO_MMIO_DEVICE_FEATURES) as u64;
        self.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
        low | (self.rd(VIRTIO_MMIO_DEVICE_FEATURES) as u64) << 32
    }
    /// ACKNOWLEDGE, DRIVER, the driver features, FEATURES_OK; returns the
    /// status read back.
    fn negotiate(&mut self, features: u64) -> u32 {
        self.wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
        self.wr(
            VIRTIO_MMIO_STATUS,
            VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
        );
        self.wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
        self.wr(VIRTIO_MMIO_DRIVER_FEATURES, features as u32);
        self.wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        self.wr(VIRTIO_MMIO_DRIVER_FEATURES, (features >> 32) as u32);
        let s = self.status() | FEATURES_OK;
        self.wr(VIRTIO_MMIO_STATUS, s);
        self.status()
    }
    /// Sets queue `index` up at `at` (64 KiB of RAM hold rings of up to 256).
    fn setup_queue(&mut self, index: u32, size: u32, at: u64) {
        self.wr(VIRTIO_MMIO_QUEUE_SEL, index);
        self.wr(VIRTIO_MMIO_QUEUE_NUM, size);
        for (reg, addr) in [
            (VIRTIO_MMIO_QUEUE_DESC_LOW, at),
            (VIRTIO_MMIO_QUEUE_AVAIL_LOW, at + 0x1000),
            (VIRTIO_MMIO_QUEUE_USED_LOW, at + 0x2000),
        ] {
            self.wr(reg, addr as u32);
            self.wr(reg + 4, (addr >> 32) as u32);
        }
        self.wr(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    fn driver_ok(&mut self) {
        let s = self.status();
        self.wr(VIRTIO_MMIO_STATUS, s | DRIVER_OK);
    }
    /// A device activated with queue 0 (size 8) ready and event index.
    fn active() -> T {
        let mut t = T::new();
        t.negotiate(VERSION_1 | 1 << VIRTIO_RING_F_EVENT_IDX);
        t.setup_queue(0, 8, RAM_BASE);
        t.driver_ok();
        assert_eq!(t.log.lock().unwrap().activations, [vec![Some(true), None]]);
        t
    }
    fn interrupt(&self) -> Interrupt {
        self.log.lock().unwrap().ctx.clone().unwrap().interrupt
    }
    fn activations(&self) -> usize {
        self.log.lock().unwrap().activations.len()
    }
}

#[test]
fn identification_registers() {
    let mut t = T::new();
    assert_eq!(t.rd(VIRTIO_MMIO_MAGIC_VALUE), 0x7472_6976);
    assert_eq!(t.rd(VIRTIO_MMIO_VERSION), 2);
    assert_eq!(t.rd(VIRTIO_MMIO_DEVICE_ID), DEVICE_ID);
    assert_eq!(t.rd(VIRTIO_MMIO_VENDOR_ID), 0x564d_5241);
    let mut empty = EmptySlot;
    assert_eq!(
        empty.read(0, VIRTIO_MMIO_MAGIC_VALUE as u64, 4),
        0x7472_6976
    );
    assert_eq!(empty.read(0, VIRTIO_MMIO_VERSION as u64, 4), 2);
    assert_eq!(empty.read(0, VIRTIO_MMIO_DEVICE_ID as u64, 4), 0);
}

#[test]
fn features_offered_are_the_devices_and_the_rings() {
    let mut t = T::new();
    let expected = DEVICE_FEATURES
        | VERSION_1
        | 1 << VIRTIO_RING_F_INDIRECT_DESC
        | 1 << VIRTIO_RING_F_EVENT_IDX;
    assert_eq!(t.device_features(), expected);
    t.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_eq!(t.rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

#[test]
fn features_ok_needs_version_1_and_only_offered_bits() {
    let mut t = T::new();
    assert_eq!(
        t.negotiate(VERSION_1 | DEVICE_FEATURES) & FEATURES_OK,
        FEATURES_OK
    );
    assert_eq!(t.dev.driver_features, VERSION_1 | DEVICE_FEATURES);

    let mut t = T::new();
    assert_eq!(
        t.negotiate(DEVICE_FEATURES) & FEATURES_OK,
        0,
        "legacy driver"
    );
    let mut t = T::new();
    assert_eq!(
        t.negotiate(VERSION_1 | 1 << 4) & FEATURES_OK,
        0,
        "bit 4 not offered"
    );
    let mut t = T::new();
    assert_eq!(
        t.negotiate(VERSION_1 | 1 << 63) & FEATURES_OK,
        0,
        "bit 63 not offered"
    );
    // A refused driver may try again with fewer features.
    assert_eq!(t.negotiate(VERSION_1) & FEATURES_OK, FEATURES_OK);
}

#[test]
fn driver_features_are_fixed_after_features_ok() {
    let mut t = T::new();
    t.negotiate(VERSION_1);
    t.wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    t.wr(VIRTIO_MMIO_DRIVER_FEATURES, 1 << 3);
    assert_eq!(t.dev.driver_features, VERSION_1);
}

#[test]
fn reset_clears_everything() {
    let mut t = T::active();
    t.interrupt().used_buffer();
    t.interrupt().needs_reset(&QueueError::ChainTooLong);
    t.wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    t.wr(VIRTIO_MMIO_QUEUE_NUM, 4);
    t.wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_ne!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert!(t.line.level());

    t.wr(VIRTIO_MMIO_STATUS, 0);
    assert_eq!(t.status(), 0, "DEVICE_NEEDS_RESET is gone too");
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert!(!t.line.level());
    assert_eq!(t.log.lock().unwrap().resets, 1);
    assert_eq!(t.dev.driver_features, 0);
    assert_eq!((t.dev.queue_sel, t.dev.device_features_sel), (0, 0));
    for (q, max) in t.dev.queues.iter().zip([8, 4]) {
        assert!(!q.ready);
        assert_eq!((q.max, q.layout), (max, QueueLayout::default()));
    }
    assert_eq!(t.rd(VIRTIO_MMIO_QUEUE_READY), 0);
    // The device works again after a fresh start.
    t.negotiate(VERSION_1);
    t.setup_queue(1, 4, RAM_BASE + 0x8000);
    t.driver_ok();
    assert_eq!(t.log.lock().unwrap().activations[1], [None, Some(false)]);
}

#[test]
fn queue_num_max_per_queue() {
    let mut t = T::new();
    for (sel, max) in [(0, 8), (1, 4), (2, 0), (u32::MAX, 0)] {
        t.wr(VIRTIO_MMIO_QUEUE_SEL, sel);
        assert_eq!(t.rd(VIRTIO_MMIO_QUEUE_NUM_MAX), max, "queue {sel}");
    }
}

#[test]
fn queue_setup_is_ignored_while_ready() {
    let mut t = T::new();
    t.setup_queue(0, 8, RAM_BASE);
    let layout = t.dev.queues[0].layout;
    let bad = t.dev.bad_accesses;
    t.wr(VIRTIO_MMIO_QUEUE_NUM, 4);
    t.wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
    t.wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 1);
    assert_eq!(t.dev.queues[0].layout, layout);
    assert_eq!(t.dev.bad_accesses, bad + 3);
    // Not ready again: setup goes through.
    t.wr(VIRTIO_MMIO_QUEUE_READY, 0);
    t.wr(VIRTIO_MMIO_QUEUE_NUM, 4);
    assert_eq!(t.dev.queues[0].layout.size, 4);
}

/// Activation that must fail: the device reports DEVICE_NEEDS_RESET with a
/// configuration change interrupt, and is not activated.
fn assert_activation_fails(size: u32, at: u64) {
    let mut t = T::new();
    t.negotiate(VERSION_1);
    t.setup_queue(0, size, at);
    let generation = t.rd(VIRTIO_MMIO_CONFIG_GENERATION);
    t.driver_ok();
    let what = format!("size {size} at {at:#x}");
    assert_eq!(t.activations(), 0, "{what}");
    assert_eq!(t.status() & NEEDS_RESET, NEEDS_RESET, "{what}");
    assert_eq!(t.status() & !NEEDS_RESET, t.dev.status, "{what}");
    assert_eq!(
        t.rd(VIRTIO_MMIO_INTERRUPT_STATUS),
        INT_CONFIG_CHANGE,
        "{what}"
    );
    assert!(t.line.level(), "{what}");
    assert_ne!(t.rd(VIRTIO_MMIO_CONFIG_GENERATION), generation, "{what}");
    // Notifications are ignored until the reset.
    t.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert!(t.log.lock().unwrap().notifies.is_empty());
}

#[test]
fn activation_with_a_bad_queue_size_needs_reset() {
    for size in [0, 3, 6, 16, 0x1_0000, u32::MAX] {
        assert_activation_fails(size, RAM_BASE);
    }
}

#[test]
fn activation_with_rings_outside_ram_needs_reset() {
    for at in [
        0,
        RAM_BASE - 0x1000,
        RAM_BASE + 0xe000,
        RAM_BASE + 1,
        1 << 40,
    ] {
        assert_activation_fails(8, at);
    }
}

#[test]
fn activation_hands_over_the_ready_queues_with_the_negotiated_features() {
    let mut t = T::active();
    // Queue 0 with event index, queue 1 not ready (checked by `active`).
    t.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    t.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    t.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2); // no such queue
    assert_eq!(t.log.lock().unwrap().notifies, [0, 1]);
    assert_eq!(t.status() & NEEDS_RESET, 0);
    // Without FEATURES_OK there is no activation.
    let mut t = T::new();
    t.negotiate(1 << VIRTIO_RING_F_EVENT_IDX); // refused: no VERSION_1
    t.setup_queue(0, 8, RAM_BASE);
    t.driver_ok();
    assert_eq!(t.activations(), 0);
}

#[test]
fn notify_before_driver_ok_needs_reset() {
    let mut t = T::new();
    t.negotiate(VERSION_1);
    t.setup_queue(0, 8, RAM_BASE);
    t.wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert!(t.log.lock().unwrap().notifies.is_empty());
    assert_eq!(t.status() & NEEDS_RESET, NEEDS_RESET);
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), INT_CONFIG_CHANGE);
    assert!(t.line.level());
}

#[test]
fn interrupt_status_and_ack_drive_the_line() {
    let mut t = T::active();
    let irq = t.interrupt();
    assert!(!t.line.level());
    irq.used_buffer();
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), INT_USED_BUFFER);
    assert!(t.line.level());
    irq.config_changed();
    assert_eq!(
        t.rd(VIRTIO_MMIO_INTERRUPT_STATUS),
        INT_USED_BUFFER | INT_CONFIG_CHANGE
    );
    t.wr(VIRTIO_MMIO_INTERRUPT_ACK, INT_USED_BUFFER);
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), INT_CONFIG_CHANGE);
    assert!(t.line.level(), "config change still pending");
    t.wr(VIRTIO_MMIO_INTERRUPT_ACK, 0);
    assert!(t.line.level(), "acknowledging nothing changes nothing");
    t.wr(VIRTIO_MMIO_INTERRUPT_ACK, INT_CONFIG_CHANGE);
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert!(!t.line.level());
    // The interrupt status register is read-only.
    t.wr(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    assert_eq!(t.rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert!(!t.line.level());
}

#[test]
fn config_generation_changes_with_the_configuration() {
    let mut t = T::active();
    let g0 = t.rd(VIRTIO_MMIO_CONFIG_GENERATION);
    assert_eq!(
        t.rd(VIRTIO_MMIO_CONFIG_GENERATION),
        g0,
        "stable while nothing changes"
    );
    t.interrupt().config_changed();
    let g1 = t.rd(VIRTIO_MMIO_CONFIG_GENERATION);
    assert_ne!(g1, g0);
    t.interrupt().used_buffer();
    assert_eq!(
        t.rd(VIRTIO_MMIO_CONFIG_GENERATION),
        g1,
        "used buffers are no change"
    );
}

#[test]
fn config_space_reads_and_writes_reach_the_device() {
    let mut t = T::new();
    let base = VIRTIO_MMIO_CONFIG as u64;
    let le = |b: &[u8]| {
        let mut v = [0u8; 8];
        v[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(v)
    };
    assert_eq!(t.dev.read(0, base, 1), le(&CONFIG[..1]));
    assert_eq!(t.dev.read(0, base + 1, 2), le(&CONFIG[1..3]));
    assert_eq!(t.dev.read(0, base + 4, 4), le(&CONFIG[4..8]));
    assert_eq!(t.dev.read(0, base + 4, 8), le(&CONFIG[4..12]));
    assert_eq!(
        t.dev.read(0, base + 8, 8),
        le(&CONFIG[8..12]),
        "zeroes past the end"
    );
    assert_eq!(t.dev.read(0, base + 0x1000, 4), 0);
    assert_eq!(t.dev.read(0, u64::MAX, 8), 0);
    t.dev.write(0, base + 2, 2, 0xbeef);
    assert_eq!(t.log.lock().unwrap().config_writes, [(2, vec![0xef, 0xbe])]);
    assert_eq!(t.dev.bad_accesses, 0);
}

#[test]
fn bad_sizes_and_offsets_are_counted() {
    let mut t = T::new();
    assert_eq!(t.dev.read(0, VIRTIO_MMIO_MAGIC_VALUE as u64, 2), 0);
    assert_eq!(t.dev.read(0, VIRTIO_MMIO_MAGIC_VALUE as u64, 8), 0);
    assert_eq!(t.dev.bad_accesses, 2);
    assert_eq!(t.rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0, "write-only");
    assert_eq!(t.rd(0x0e0), 0, "no register");
    assert_eq!(t.dev.bad_accesses, 4);
    t.dev.write(0, VIRTIO_MMIO_STATUS as u64, 1, 1);
    assert_eq!(t.status(), 0, "byte writes are ignored");
    t.wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
    t.wr(0x0e0, 1);
    t.wr(VIRTIO_MMIO_CONFIG_GENERATION, 1);
    assert_eq!(t.dev.bad_accesses, 8);
    assert_eq!(t.rd(VIRTIO_MMIO_MAGIC_VALUE), 0x7472_6976);
}

/// A deterministic entropy source.
struct Counter(u8);

impl crate::virtio::rng::EntropySource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}

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
            Box::new(Rng::new(Box::new(Counter(0))))
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
                start(&mut dev, &mut next);
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

/// A driver that does things right: reset, the features offered (some of
/// them), queue 0 somewhere in RAM, DRIVER_OK.
fn start(dev: &mut VirtioMmio, next: &mut impl FnMut() -> u64) {
    let mut wr = |offset: u32, value: u64| dev.write(0, offset as u64, 4, value);
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, 3);
    let features = dev.offered() & next();
    let mut wr = |offset: u32, value: u64| dev.write(0, offset as u64, 4, value);
    for (sel, word) in [(0, features as u32), (1, (features >> 32) as u32 | 1)] {
        wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        wr(VIRTIO_MMIO_DRIVER_FEATURES, word as u64);
    }
    wr(VIRTIO_MMIO_STATUS, 0xb);
    let size = 1u64 << (next() % 9);
    let at = RAM_BASE + ((next() % 0x8000) & !0xf);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, size);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, at);
    wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, at + 16 * size);
    wr(VIRTIO_MMIO_QUEUE_USED_LOW, at + 0x1000 + 16 * size);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_STATUS, 0xf);
}
