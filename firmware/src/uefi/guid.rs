//! EFI GUIDs as they sit in memory (EFI_GUID: Data1..Data3 little-endian, then
//! eight bytes), and the GUIDs the built-in firmware knows.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The GUID written `d1-d2-d3-d4[0..2]-d4[2..8]`.
    pub const fn new(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// The GUID in its 128-bit textual order (as `uuid::Uuid::as_u128`).
    pub const fn from_u128(v: u128) -> Guid {
        let d1 = (v >> 96) as u32;
        let d2 = (v >> 80) as u16;
        let d3 = (v >> 64) as u16;
        let d4 = (v as u64).to_be_bytes();
        Guid::new(d1, d2, d3, d4)
    }

    pub fn from_bytes(b: &[u8]) -> Option<Guid> {
        Some(Guid(b.get(..16)?.try_into().ok()?))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u16::from_le_bytes([b[4], b[5]]),
            u16::from_le_bytes([b[6], b[7]]),
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// EFI_GLOBAL_VARIABLE: Boot####, BootOrder, SecureBoot, ...
pub const GLOBAL_VARIABLE: Guid = Guid::from_u128(0x8BE4DF61_93CA_11D2_AA0D_00E098032B8C);
pub const LOADED_IMAGE: Guid = Guid::from_u128(0x5B1B31A1_9562_11D2_8E3F_00A0C969723B);
pub const LOADED_IMAGE_DEVICE_PATH: Guid = Guid::from_u128(0xBC62157E_3E33_4FEC_9920_2D3B36D750DF);
pub const DEVICE_PATH: Guid = Guid::from_u128(0x09576E91_6D3F_11D2_8E39_00A0C969723B);
pub const SIMPLE_TEXT_OUTPUT: Guid = Guid::from_u128(0x387477C2_69C7_11D2_8E39_00A0C969723B);
pub const SIMPLE_TEXT_INPUT: Guid = Guid::from_u128(0x387477C1_69C7_11D2_8E39_00A0C969723B);
pub const SIMPLE_TEXT_INPUT_EX: Guid = Guid::from_u128(0xDD9E7534_7762_4698_8C14_F58517A625AA);
pub const BLOCK_IO: Guid = Guid::from_u128(0x964E5B21_6459_11D2_8E39_00A0C969723B);
pub const DISK_IO: Guid = Guid::from_u128(0xCE345171_BA0B_11D2_8E4F_00A0C969723B);
pub const SIMPLE_FILE_SYSTEM: Guid = Guid::from_u128(0x964E5B22_6459_11D2_8E39_00A0C969723B);
pub const FILE_INFO: Guid = Guid::from_u128(0x09576E92_6D3F_11D2_8E39_00A0C969723B);
pub const FILE_SYSTEM_INFO: Guid = Guid::from_u128(0x09576E93_6D3F_11D2_8E39_00A0C969723B);
pub const FILE_SYSTEM_VOLUME_LABEL: Guid = Guid::from_u128(0xDB47D7D3_FE81_11D3_9A35_0090273FC14D);
pub const RNG: Guid = Guid::from_u128(0x3152BCA5_EADE_433D_862E_C01CDC291F44);
pub const RNG_ALGORITHM_RAW: Guid = Guid::from_u128(0xE43176D7_B6E8_4827_B784_7FFDC4B68561);
pub const LOAD_FILE2: Guid = Guid::from_u128(0x4006C0C1_FCB3_403E_996D_4A6C8724E06D);
pub const DEVICE_PATH_TO_TEXT: Guid = Guid::from_u128(0x8B843E20_8132_4852_90CC_551A4E4A7F1C);
/// EFI_DTB_TABLE_GUID: the device tree as a configuration table (EBBR).
pub const DTB_TABLE: Guid = Guid::from_u128(0xB1B621D5_F19C_41A5_830B_D9152C69AAE0);
pub const RT_PROPERTIES_TABLE: Guid = Guid::from_u128(0xEB66918A_7EEF_402A_842E_931D21C38AE9);
/// The vendor media node under which Linux looks for its initrd (LoadFile2).
pub const LINUX_INITRD_MEDIA: Guid = Guid::from_u128(0x5568E427_68FC_4F3D_AC74_CA555231CC68);
/// EDK2's VenHw GUID for virtio-mmio transports, followed by the MMIO base.
pub const VIRTIO_MMIO_TRANSPORT: Guid = Guid::from_u128(0x837DCA9E_E874_4D82_B29A_23FE0E23D1E2);
pub const EVENT_GROUP_EXIT_BOOT_SERVICES: Guid =
    Guid::from_u128(0x27ABF055_B1B8_4C26_8048_748F37BAA2DF);
pub const EVENT_GROUP_VIRTUAL_ADDRESS_CHANGE: Guid =
    Guid::from_u128(0x13FA7698_C831_49C7_87EA_8F43FCC25196);
/// The EFI System Partition's GPT type.
pub const ESP_TYPE: Guid = Guid::from_u128(0xC12A7328_F81F_11D2_BA4B_00A0C93EC93B);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_text_round_trip() {
        let g = GLOBAL_VARIABLE;
        assert_eq!(&g.0[..4], &[0x61, 0xDF, 0xE4, 0x8B]);
        assert_eq!(g.to_string(), "8BE4DF61-93CA-11D2-AA0D-00E098032B8C");
    }
}
