//! virtio-mmio transport slots (Virtio 1.2, section 4.2). Until device backends are
//! attached, a slot reports DeviceID 0 ("no device"), which drivers skip.

const MAGIC_VALUE: u64 = 0x000; // "virt", RO
const VERSION: u64 = 0x004; // 2 = virtio 1.x (non-legacy), RO
const DEVICE_ID: u64 = 0x008; // 0 = no device, RO
const VENDOR_ID: u64 = 0x00c; // RO

pub const SLOT_SIZE: u64 = 0x200;
const MAGIC: u32 = 0x7472_6976;
/// "ARMV" in ASCII, little-endian: armvm's vendor ID for its virtio devices.
const ARMVM_VENDOR: u32 = 0x564d_5241;

/// A transport slot with nothing attached.
#[derive(Default)]
pub struct EmptySlot;

impl crate::MmioDevice for EmptySlot {
    fn read(&mut self, _cpu: usize, offset: u64, _size: u8) -> u64 {
        (match offset {
            MAGIC_VALUE => MAGIC,
            VERSION => 2,
            DEVICE_ID => 0,
            VENDOR_ID => ARMVM_VENDOR,
            _ => 0,
        }) as u64
    }
    fn write(&mut self, _cpu: usize, _offset: u64, _size: u8, _value: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmioDevice;

    #[test]
    fn empty_slot_identifies_as_no_device() {
        let mut s = EmptySlot;
        assert_eq!(s.read(0, MAGIC_VALUE, 4), 0x7472_6976);
        assert_eq!(s.read(0, VERSION, 4), 2);
        assert_eq!(s.read(0, DEVICE_ID, 4), 0);
        s.write(0, 0x070, 4, 0xff); // Status: ignored
        assert_eq!(s.read(0, 0x070, 4), 0);
    }
}
