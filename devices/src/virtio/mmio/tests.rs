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

mod random;
