//! The virtio-mmio transport, version 2 (Virtio 1.2, section 4.2): one per board
//! slot. A slot with no device reports DeviceID 0, which drivers skip.

use std::sync::Arc;

use armvm_cpu::memory::GuestMemory;
use virtio_bindings::virtio_config::{
    VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_F_VERSION_1,
};
use virtio_bindings::virtio_mmio::*;
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};

use super::{DeviceContext, Interrupt, Queue, QueueLayout, VirtioDevice};
use crate::irq::IrqLine;

/// Bytes of address space per slot.
pub const SLOT_SIZE: u64 = 0x200;
const MAGIC: u32 = 0x7472_6976; // "virt"
/// "ARMV" in ASCII, little-endian: armvm's vendor ID for its virtio devices.
const ARMVM_VENDOR: u32 = 0x564d_5241;
/// Ring features every device offers besides its own (ACCESS_PLATFORM is not:
/// there is no IOMMU, and drivers would then refuse legacy-free DMA).
const TRANSPORT_FEATURES: u64 =
    (1 << VIRTIO_F_VERSION_1) | (1 << VIRTIO_RING_F_INDIRECT_DESC) | (1 << VIRTIO_RING_F_EVENT_IDX);

/// A transport slot with nothing attached.
#[derive(Default)]
pub struct EmptySlot;

impl crate::MmioDevice for EmptySlot {
    fn read(&mut self, _cpu: usize, offset: u64, _size: u8) -> u64 {
        (match offset as u32 {
            VIRTIO_MMIO_MAGIC_VALUE => MAGIC,
            VIRTIO_MMIO_VERSION => 2,
            VIRTIO_MMIO_VENDOR_ID => ARMVM_VENDOR,
            _ => 0, // DeviceID 0: no device
        }) as u64
    }
    fn write(&mut self, _cpu: usize, _offset: u64, _size: u8, _value: u64) {}
}

/// The driver's view of one queue before DRIVER_OK.
#[derive(Clone, Copy, Default)]
struct QueueSetup {
    max: u16,
    layout: QueueLayout,
    ready: bool,
}

/// A slot with a device.
pub struct VirtioMmio {
    device: Box<dyn VirtioDevice>,
    memory: Arc<GuestMemory>,
    interrupt: Interrupt,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    queues: Vec<QueueSetup>,
    status: u32,
    /// Accesses to offsets that are not registers, or of the wrong size.
    pub bad_accesses: u64,
}

impl VirtioMmio {
    pub fn new(
        device: Box<dyn VirtioDevice>,
        memory: Arc<GuestMemory>,
        irq: IrqLine,
    ) -> VirtioMmio {
        let queues = device
            .queue_max_sizes()
            .into_iter()
            .map(|max| QueueSetup {
                max,
                ..QueueSetup::default()
            })
            .collect();
        VirtioMmio {
            device,
            memory,
            interrupt: Interrupt::new(irq),
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            queues,
            status: 0,
            bad_accesses: 0,
        }
    }

    fn offered(&self) -> u64 {
        self.device.features() | TRANSPORT_FEATURES
    }

    fn negotiated(&self, bit: u32) -> bool {
        self.driver_features & (1 << bit) != 0
    }

    /// Writing 0 to Status: back to the state after power-on.
    fn reset(&mut self) {
        self.device.reset();
        self.interrupt.clear();
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        for q in &mut self.queues {
            *q = QueueSetup {
                max: q.max,
                ..QueueSetup::default()
            };
        }
        self.status = 0;
    }

    /// The machine stops: the device finishes its work and flushes.
    pub fn shutdown(&mut self) {
        self.device.shutdown();
    }

    fn set_status(&mut self, value: u32) {
        if value == 0 {
            self.reset();
            return;
        }
        let newly = value & !self.status;
        let mut value = value;
        if newly & VIRTIO_CONFIG_S_FEATURES_OK != 0 {
            // Accept only what was offered, and only the modern interface.
            let ok =
                self.driver_features & !self.offered() == 0 && self.negotiated(VIRTIO_F_VERSION_1);
            if !ok {
                value &= !VIRTIO_CONFIG_S_FEATURES_OK;
            }
        }
        let activate =
            newly & VIRTIO_CONFIG_S_DRIVER_OK != 0 && value & VIRTIO_CONFIG_S_FEATURES_OK != 0;
        self.status = value;
        if activate {
            self.activate();
        }
    }

    fn activate(&mut self) {
        let event_idx = self.negotiated(VIRTIO_RING_F_EVENT_IDX);
        let indirect = self.negotiated(VIRTIO_RING_F_INDIRECT_DESC);
        let mut queues = Vec::new();
        for setup in &self.queues {
            if !setup.ready {
                queues.push(None);
                continue;
            }
            let queue = if setup.layout.size_ok(setup.max) {
                Queue::new(&self.memory, setup.layout, event_idx, indirect)
            } else {
                Err(super::QueueError::BadIndex(setup.layout.size))
            };
            match queue {
                Ok(q) => queues.push(Some(q)),
                Err(e) => {
                    self.interrupt.needs_reset(&e);
                    return;
                }
            }
        }
        let ctx = DeviceContext {
            memory: self.memory.clone(),
            interrupt: self.interrupt.clone(),
        };
        self.device.activate(ctx, queues);
    }

    fn selected(&mut self) -> Option<&mut QueueSetup> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    /// Writes to a queue's setup, allowed only while it is not ready.
    fn setup_queue(&mut self, f: impl FnOnce(&mut QueueLayout)) {
        match self.selected() {
            Some(q) if !q.ready => f(&mut q.layout),
            _ => self.bad_accesses += 1,
        }
    }

    fn driver_ok(&self) -> bool {
        self.status & VIRTIO_CONFIG_S_DRIVER_OK != 0
    }
}

fn set_low(x: &mut u64, v: u32) {
    *x = (*x & !0xffff_ffff) | v as u64;
}

fn set_high(x: &mut u64, v: u32) {
    *x = (*x & 0xffff_ffff) | ((v as u64) << 32);
}

impl crate::MmioDevice for VirtioMmio {
    fn read(&mut self, _cpu: usize, offset: u64, size: u8) -> u64 {
        if offset >= VIRTIO_MMIO_CONFIG as u64 {
            let mut buf = [0u8; 8];
            let n = (size as usize).min(8);
            self.device
                .read_config(offset - VIRTIO_MMIO_CONFIG as u64, &mut buf[..n]);
            return u64::from_le_bytes(buf);
        }
        if size != 4 {
            self.bad_accesses += 1;
            return 0;
        }
        let queue = self.queues.get(self.queue_sel as usize).copied();
        (match offset as u32 {
            VIRTIO_MMIO_MAGIC_VALUE => MAGIC,
            VIRTIO_MMIO_VERSION => 2,
            VIRTIO_MMIO_DEVICE_ID => self.device.device_id(),
            VIRTIO_MMIO_VENDOR_ID => ARMVM_VENDOR,
            VIRTIO_MMIO_DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered() as u32,
                1 => (self.offered() >> 32) as u32,
                _ => 0,
            },
            VIRTIO_MMIO_QUEUE_NUM_MAX => queue.map_or(0, |q| q.max as u32),
            VIRTIO_MMIO_QUEUE_READY => queue.is_some_and(|q| q.ready) as u32,
            VIRTIO_MMIO_INTERRUPT_STATUS => self.interrupt.status(),
            VIRTIO_MMIO_STATUS => self.status | self.interrupt.device_status(),
            // No shared memory regions: length and base read as all ones.
            VIRTIO_MMIO_SHM_LEN_LOW
            | VIRTIO_MMIO_SHM_LEN_HIGH
            | VIRTIO_MMIO_SHM_BASE_LOW
            | VIRTIO_MMIO_SHM_BASE_HIGH => u32::MAX,
            VIRTIO_MMIO_CONFIG_GENERATION => self.interrupt.generation(),
            _ => {
                self.bad_accesses += 1;
                0
            }
        }) as u64
    }

    fn write(&mut self, _cpu: usize, offset: u64, size: u8, value: u64) {
        if offset >= VIRTIO_MMIO_CONFIG as u64 {
            let n = (size as usize).min(8);
            let bytes = value.to_le_bytes();
            self.device
                .write_config(offset - VIRTIO_MMIO_CONFIG as u64, &bytes[..n]);
            return;
        }
        if size != 4 {
            self.bad_accesses += 1;
            return;
        }
        let v = value as u32;
        match offset as u32 {
            VIRTIO_MMIO_DEVICE_FEATURES_SEL => self.device_features_sel = v,
            VIRTIO_MMIO_DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            VIRTIO_MMIO_DRIVER_FEATURES => {
                // Features are fixed once FEATURES_OK is set.
                if self.status & VIRTIO_CONFIG_S_FEATURES_OK == 0 {
                    match self.driver_features_sel {
                        0 => set_low(&mut self.driver_features, v),
                        1 => set_high(&mut self.driver_features, v),
                        _ => {}
                    }
                }
            }
            VIRTIO_MMIO_QUEUE_SEL => self.queue_sel = v,
            VIRTIO_MMIO_QUEUE_NUM => self.setup_queue(|l| l.size = v.min(u16::MAX as u32) as u16),
            VIRTIO_MMIO_QUEUE_READY => {
                if let Some(q) = self.selected() {
                    q.ready = v & 1 != 0;
                }
            }
            VIRTIO_MMIO_QUEUE_NOTIFY => {
                if self.driver_ok() && self.interrupt.device_status() == 0 {
                    if (v as usize) < self.queues.len() {
                        self.device.notify(v as u16);
                    }
                } else if !self.driver_ok() {
                    // A notification before DRIVER_OK breaks the protocol (3.1.1).
                    self.interrupt
                        .needs_reset(&super::QueueError::BadIndex(v as u16));
                }
            }
            VIRTIO_MMIO_INTERRUPT_ACK => self.interrupt.acknowledge(v),
            VIRTIO_MMIO_STATUS => self.set_status(v),
            VIRTIO_MMIO_QUEUE_DESC_LOW => self.setup_queue(|l| set_low(&mut l.desc, v)),
            VIRTIO_MMIO_QUEUE_DESC_HIGH => self.setup_queue(|l| set_high(&mut l.desc, v)),
            VIRTIO_MMIO_QUEUE_AVAIL_LOW => self.setup_queue(|l| set_low(&mut l.avail, v)),
            VIRTIO_MMIO_QUEUE_AVAIL_HIGH => self.setup_queue(|l| set_high(&mut l.avail, v)),
            VIRTIO_MMIO_QUEUE_USED_LOW => self.setup_queue(|l| set_low(&mut l.used, v)),
            VIRTIO_MMIO_QUEUE_USED_HIGH => self.setup_queue(|l| set_high(&mut l.used, v)),
            VIRTIO_MMIO_SHM_SEL => {}
            _ => self.bad_accesses += 1,
        }
    }
}

#[cfg(test)]
mod tests;
