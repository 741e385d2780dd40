//! GUIDs as GPT stores them (the first three fields little-endian), the partition
//! types armvm knows by name, and GUIDs for new images (random, or derived from a
//! seed for reproducible images).

pub use uuid::Uuid;

/// The EFI System Partition type.
pub const ESP: Uuid = Uuid::from_u128(0xC12A7328_F81F_11D2_BA4B_00A0C93EC93B);
/// Linux filesystem data: the default type of `--partition`.
pub const LINUX_FS: Uuid = Uuid::from_u128(0x0FC63DAF_8483_4772_8E79_3D69D8477DE4);

/// A partition type with its name and the short name `--partition FILE:TYPE` takes.
pub struct PartType {
    pub guid: Uuid,
    pub alias: &'static str,
    pub name: &'static str,
}

const fn t(guid: u128, alias: &'static str, name: &'static str) -> PartType {
    PartType {
        guid: Uuid::from_u128(guid),
        alias,
        name,
    }
}

/// Partition types from the UEFI specification and the Discoverable Partitions
/// Specification that an image for an ARM VM is likely to hold.
pub const PART_TYPES: &[PartType] = &[
    t(0xC12A7328_F81F_11D2_BA4B_00A0C93EC93B, "esp", "EFI System"),
    t(
        0x0FC63DAF_8483_4772_8E79_3D69D8477DE4,
        "linux",
        "Linux filesystem",
    ),
    t(
        0xB921B045_1DF0_41C3_AF44_4C6F280D3FAE,
        "root-arm64",
        "Linux root (ARM64)",
    ),
    t(
        0x69DAD710_2CE4_4E3C_B16C_21A1D49ABED3,
        "root-arm",
        "Linux root (ARM)",
    ),
    t(
        0x4F68BCE3_E8CD_4DB1_96E7_FBCAF984B709,
        "root-x86-64",
        "Linux root (x86-64)",
    ),
    t(
        0xB0E01050_EE5F_4390_949A_9101B17104E9,
        "usr-arm64",
        "Linux /usr (ARM64)",
    ),
    t(
        0x7D0359A3_02B3_4F0A_865C_654403E70625,
        "usr-arm",
        "Linux /usr (ARM)",
    ),
    t(0x0657FD6D_A4AB_43C4_84E5_0933C84B4F4F, "swap", "Linux swap"),
    t(
        0x933AC7E1_2EB4_4F13_B844_0E14E2AEF915,
        "home",
        "Linux /home",
    ),
    t(0x3B8F8425_20E0_4F3B_907F_1A25A76F98E8, "srv", "Linux /srv"),
    t(0x4D21B016_B534_45C2_A9FB_5C16E091FD2D, "var", "Linux /var"),
    t(
        0xBC13C2FF_59E6_4262_A352_B275FD6F7172,
        "xbootldr",
        "Linux extended boot",
    ),
    t(0xE6D6D379_F507_44C2_A23C_238F2A3DF928, "lvm", "Linux LVM"),
    t(0xA19D880F_05FC_4D3B_A006_743F0F84911E, "raid", "Linux RAID"),
    t(0xCA7D7CCB_63ED_4C53_861C_1742536059CC, "luks", "Linux LUKS"),
    t(
        0x21686148_6449_6E6F_744E_656564454649,
        "bios-boot",
        "BIOS boot",
    ),
    t(
        0xEBD0A0A2_B9E5_4433_87C0_68B6B72699C7,
        "basic-data",
        "Microsoft basic data",
    ),
    t(
        0xE3C9E316_0B5C_4DB8_817D_F92DF00215AE,
        "msr",
        "Microsoft reserved",
    ),
];

/// The name of a known partition type.
pub fn type_name(guid: &Uuid) -> Option<&'static str> {
    PART_TYPES.iter().find(|p| p.guid == *guid).map(|p| p.name)
}

/// A type given on the command line: a short name (`root-arm64`) or a GUID.
pub fn parse_type(s: &str) -> Option<Uuid> {
    let s = s.trim();
    if let Some(p) = PART_TYPES.iter().find(|p| p.alias.eq_ignore_ascii_case(s)) {
        return Some(p.guid);
    }
    Uuid::try_parse(s).ok().filter(|g| !g.is_nil())
}

/// The short names `parse_type` accepts, for error messages.
pub fn type_aliases() -> String {
    PART_TYPES
        .iter()
        .map(|p| p.alias)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A GUID from its 16 on-disk bytes.
pub fn from_disk(bytes: &[u8]) -> Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    Uuid::from_bytes_le(b)
}

/// Upper-case hyphenated form, as UEFI and sgdisk print GUIDs.
pub fn fmt(g: &Uuid) -> String {
    g.hyphenated().to_string().to_ascii_uppercase()
}

/// Where new GUIDs come from: the system's random source, or a seeded generator
/// (splitmix64) so that the same options make the same image.
pub enum GuidSource {
    Random,
    Seeded(u64),
}

impl GuidSource {
    /// A version-4 (random) GUID.
    pub fn guid(&mut self) -> Uuid {
        match self {
            GuidSource::Random => Uuid::new_v4(),
            GuidSource::Seeded(state) => {
                let mut bytes = [0u8; 16];
                for half in bytes.chunks_mut(8) {
                    half.copy_from_slice(&splitmix64(state).to_le_bytes());
                }
                uuid::Builder::from_random_bytes(bytes).into_uuid()
            }
        }
    }

    /// A 32-bit value (the FAT volume serial number).
    pub fn next_u32(&mut self) -> u32 {
        let g = self.guid();
        u32::from_le_bytes(g.as_bytes()[..4].try_into().unwrap())
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_by_alias_or_guid() {
        for (text, want) in [
            ("esp", Some(ESP)),
            ("ROOT-ARM64", Some(PART_TYPES[2].guid)),
            ("linux", Some(LINUX_FS)),
            ("0fc63daf-8483-4772-8e79-3d69d8477de4", Some(LINUX_FS)),
            ("00000000-0000-0000-0000-000000000000", None),
            ("ext4", None),
            ("", None),
        ] {
            assert_eq!(parse_type(text), want, "{text}");
        }
        assert_eq!(type_name(&ESP), Some("EFI System"));
        assert!(type_aliases().contains("root-arm64"));
    }

    #[test]
    fn guids_are_mixed_endian_on_disk() {
        // The ESP type as it appears in a partition entry.
        let bytes = [
            0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
            0xC9, 0x3B,
        ];
        assert_eq!(from_disk(&bytes), ESP);
        assert_eq!(fmt(&ESP), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    }

    #[test]
    fn seeded_guids_repeat_and_differ() {
        let (mut a, mut b) = (GuidSource::Seeded(7), GuidSource::Seeded(7));
        let first = a.guid();
        assert_eq!(first, b.guid());
        assert_ne!(first, a.guid());
        assert_eq!(first.get_version_num(), 4);
        assert_ne!(GuidSource::Seeded(8).guid(), first);
    }
}
