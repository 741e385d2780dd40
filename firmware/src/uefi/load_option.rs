//! EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): the contents of Boot####, Driver####,
//! SysPrep#### and PlatformRecovery#### variables, and the UINT16 arrays
//! (BootOrder, ...) that rank them.
//!
//! Layout: `UINT32 Attributes; UINT16 FilePathListLength; CHAR16
//! Description[] (NUL-terminated); EFI_DEVICE_PATH FilePathList
//! [FilePathListLength bytes]; UINT8 OptionalData[]` (the rest). The fields
//! are packed, so nothing here assumes alignment. Guests (efibootmgr, GRUB's
//! installer, systemd-boot) write these, so parsing checks every length.

use super::devpath::{DevicePath, PathError};

pub const LOAD_OPTION_ACTIVE: u32 = 0x1;
pub const LOAD_OPTION_FORCE_RECONNECT: u32 = 0x2;
pub const LOAD_OPTION_HIDDEN: u32 = 0x8;
pub const LOAD_OPTION_CATEGORY_MASK: u32 = 0x1F00;
pub const LOAD_OPTION_CATEGORY_BOOT: u32 = 0x0;
pub const LOAD_OPTION_CATEGORY_APP: u32 = 0x100;

/// Attributes and FilePathListLength.
const HEADER_LEN: usize = 6;

/// A decoded EFI_LOAD_OPTION.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOption {
    pub attributes: u32,
    pub description: String,
    /// FilePathList: `paths[0]` is the image; further paths are
    /// OS-specific (U-Boot puts its initrd and FDT paths there).
    pub paths: Vec<DevicePath>,
    /// Passed to the image as LoadedImage.LoadOptions.
    pub optional_data: Vec<u8>,
}

/// What is wrong with a load option or option list. The caller names the
/// variable ("Boot0003: ...").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("{len} bytes is shorter than the 6-byte Attributes and FilePathListLength header")]
    TooShort { len: usize },
    #[error("description has no NUL terminator")]
    UnterminatedDescription,
    #[error("FilePathListLength is 0; a load option needs at least one device path")]
    EmptyPathList,
    #[error(
        "FilePathListLength is {declared} bytes but only {available} bytes follow the \
         description (file path list at byte {offset})"
    )]
    PathListOverrun {
        declared: usize,
        available: usize,
        offset: usize,
    },
    #[error("file path list (starting at byte {offset}, offsets below relative to it): {source}")]
    BadPathList {
        offset: usize,
        #[source]
        source: PathError,
    },
    #[error("length {len} is odd; expected an array of UINT16")]
    OddLength { len: usize },
}

impl LoadOption {
    pub fn parse(bytes: &[u8]) -> Result<LoadOption, OptionError> {
        let Some((header, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(OptionError::TooShort { len: bytes.len() });
        };
        let attributes = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let list_len = usize::from(u16::from_le_bytes([header[4], header[5]]));
        let (description, desc_len) = read_description(rest)?;
        let offset = HEADER_LEN + desc_len;
        let after_desc = rest.get(desc_len..).unwrap_or(&[]);
        if list_len == 0 {
            return Err(OptionError::EmptyPathList);
        }
        let Some((list, optional)) = after_desc.split_at_checked(list_len) else {
            return Err(OptionError::PathListOverrun {
                declared: list_len,
                available: after_desc.len(),
                offset,
            });
        };
        // parse_instances demands that the paths fill the list exactly.
        let paths = DevicePath::parse_instances(list)
            .map_err(|source| OptionError::BadPathList { offset, source })?;
        Ok(LoadOption {
            attributes,
            description,
            paths,
            optional_data: optional.to_vec(),
        })
    }

    /// The option as stored in the variable. Each path is closed by its own
    /// End-Entire (the packed array of §3.1.3): a reader that only wants the
    /// image, as EDK2's boot manager does, then stops after `paths[0]`.
    /// Whole paths that would push FilePathListLength past 65535 are left
    /// out, since the length field could not describe them; parsed options
    /// never have any. A `'\0'` in the description ends it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let list = self.path_list_bytes();
        // path_list_bytes() stops before u16::MAX.
        let list_len = u16::try_from(list.len()).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(HEADER_LEN + list.len() + self.optional_data.len());
        out.extend_from_slice(&self.attributes.to_le_bytes());
        out.extend_from_slice(&list_len.to_le_bytes());
        let text = self.description.split('\0').next().unwrap_or_default();
        for unit in text.encode_utf16().chain([0]) {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out.extend_from_slice(&list);
        out.extend_from_slice(&self.optional_data);
        out
    }

    fn path_list_bytes(&self) -> Vec<u8> {
        let mut list = Vec::new();
        for path in &self.paths {
            if list.len() + path.byte_len() > usize::from(u16::MAX) {
                break;
            }
            list.extend(path.to_bytes());
        }
        list
    }

    pub fn is_active(&self) -> bool {
        self.attributes & LOAD_OPTION_ACTIVE != 0
    }

    pub fn is_boot_category(&self) -> bool {
        self.attributes & LOAD_OPTION_CATEGORY_MASK == LOAD_OPTION_CATEGORY_BOOT
    }
}

/// Reads the NUL-terminated CHAR16 description at the start of `bytes`;
/// returns it and the bytes it took, terminator included. Bad UTF-16 is
/// replaced with U+FFFD rather than rejected: the description is only shown
/// to the user, and a mangled name should not stop the entry from booting.
fn read_description(bytes: &[u8]) -> Result<(String, usize), OptionError> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let len = (units.len() + 1) * 2;
    if len > bytes.len() {
        return Err(OptionError::UnterminatedDescription);
    }
    Ok((String::from_utf16_lossy(&units), len))
}

/// "Boot0003" with prefix "Boot" -> Some(3). The number must be exactly
/// four upper-case hex digits: variable names are case-sensitive and the
/// spec spells them that way, so "Boot000a" is a different, unrelated
/// variable that the boot manager must not pick up.
pub fn option_number(name: &str, prefix: &str) -> Option<u16> {
    let digits = name.strip_prefix(prefix)?;
    let upper_hex = |c: char| c.is_ascii_digit() || ('A'..='F').contains(&c);
    if digits.len() != 4 || !digits.chars().all(upper_hex) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

/// ("Boot", 3) -> "Boot0003".
pub fn option_name(prefix: &str, n: u16) -> String {
    format!("{prefix}{n:04X}")
}

/// A BootOrder-style array of little-endian UINT16.
pub fn parse_u16_list(bytes: &[u8]) -> Result<Vec<u16>, OptionError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(OptionError::OddLength { len: bytes.len() });
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect())
}

/// OptionalData read as a Linux command line: when it is UTF-16LE (even
/// length, no unpaired surrogate before the first NUL), the text up to the
/// first NUL; otherwise None, and the firmware passes the raw bytes. Note
/// that plain ASCII of even length also decodes (to CJK-looking text), so
/// this cannot tell ASCII from UTF-16; the Linux EFI stub itself reads
/// LoadOptions as UTF-16.
pub fn optional_data_text(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let units = data
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::super::devpath::Node;
    use super::super::guid::Guid;
    use super::*;

    const PART_GUID: Guid = Guid::from_u128(0x1B4A9D0E_2C3F_4E5D_8A6B_7C8D9E0F1A2B);

    fn utf16z(text: &str) -> Vec<u8> {
        text.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    /// The FilePathList efibootmgr writes for
    /// `efibootmgr -c -d /dev/vda -p 1 -L debian -l \EFI\debian\grubaa64.efi`,
    /// laid out by hand from UEFI 2.10 §10.3.5.1 and §10.3.5.4.
    fn debian_path_list() -> Vec<u8> {
        let mut b = vec![0x04, 0x01, 42, 0]; // Media / Hard Drive, 42 bytes
        b.extend_from_slice(&1u32.to_le_bytes()); // PartitionNumber
        b.extend_from_slice(&0x800u64.to_le_bytes()); // PartitionStart
        b.extend_from_slice(&0x10_0000u64.to_le_bytes()); // PartitionSize
        b.extend_from_slice(&PART_GUID.0); // PartitionSignature
        b.extend_from_slice(&[0x02, 0x02]); // MBRType GPT, SignatureType GUID
        let name = utf16z("\\EFI\\debian\\grubaa64.efi");
        b.extend_from_slice(&[0x04, 0x04]); // Media / File Path
        b.extend_from_slice(&((4 + name.len()) as u16).to_le_bytes());
        b.extend_from_slice(&name);
        b.extend_from_slice(&[0x7F, 0xFF, 0x04, 0x00]); // End Entire
        b
    }

    fn option_bytes(attributes: u32, desc: &str, list: &[u8], optional: &[u8]) -> Vec<u8> {
        let mut b = attributes.to_le_bytes().to_vec();
        b.extend_from_slice(&(list.len() as u16).to_le_bytes());
        b.extend_from_slice(&utf16z(desc));
        b.extend_from_slice(list);
        b.extend_from_slice(optional);
        b
    }

    #[test]
    fn parses_efibootmgr_option() {
        let list = debian_path_list();
        assert_eq!(list.len(), 100);
        let bytes = option_bytes(1, "debian", &list, &[]);
        let option = LoadOption::parse(&bytes).unwrap();
        assert_eq!(option.attributes, LOAD_OPTION_ACTIVE);
        assert!(option.is_active());
        assert!(option.is_boot_category());
        assert_eq!(option.description, "debian");
        assert_eq!(option.paths.len(), 1);
        let path = &option.paths[0];
        assert_eq!(
            path.to_string(),
            format!("HD(1,GPT,{PART_GUID},0x800,0x100000)/\\EFI\\debian\\grubaa64.efi")
        );
        assert_eq!(
            path.file_path().as_deref(),
            Some("\\EFI\\debian\\grubaa64.efi")
        );
        assert!(matches!(
            path.nodes[0],
            Node::HardDrive { partition: 1, .. }
        ));
        assert!(option.optional_data.is_empty());
        assert_eq!(option.to_bytes(), bytes);
    }

    #[test]
    fn parses_option_with_command_line() {
        let cmdline = utf16z("root=/dev/vda2 ro");
        let bytes = option_bytes(1, "Linux", &debian_path_list(), &cmdline);
        let option = LoadOption::parse(&bytes).unwrap();
        assert_eq!(option.optional_data, cmdline);
        assert_eq!(
            optional_data_text(&option.optional_data).as_deref(),
            Some("root=/dev/vda2 ro")
        );
        assert_eq!(option.to_bytes(), bytes);
        assert_eq!(LoadOption::parse(&option.to_bytes()), Ok(option));
    }

    #[test]
    fn attributes_and_categories() {
        let mut option = LoadOption {
            attributes: LOAD_OPTION_HIDDEN | LOAD_OPTION_CATEGORY_APP,
            ..LoadOption::default()
        };
        assert!(!option.is_active());
        assert!(!option.is_boot_category());
        option.attributes = LOAD_OPTION_ACTIVE | LOAD_OPTION_FORCE_RECONNECT;
        assert!(option.is_active());
        assert!(option.is_boot_category());
    }

    #[test]
    fn several_paths_round_trip() {
        let initrd = DevicePath::new(vec![
            Node::VendorMedia {
                guid: Guid::from_u128(0x5568E427_68FC_4F3D_AC74_CA555231CC68),
                data: vec![],
            },
            Node::FilePath("\\initrd.img".into()),
        ]);
        let image = DevicePath::parse(&debian_path_list()).unwrap().0;
        let option = LoadOption {
            attributes: 1,
            description: "k\u{e9}rnel \u{1F427}".into(),
            paths: vec![image.clone(), initrd.clone()],
            optional_data: vec![1, 2, 3],
        };
        let bytes = option.to_bytes();
        // The first path ends with End-Entire, so single-path readers work.
        assert_eq!(
            DevicePath::parse(&bytes[6 + utf16z(&option.description).len()..])
                .unwrap()
                .0,
            image
        );
        assert_eq!(LoadOption::parse(&bytes), Ok(option));
    }

    #[test]
    fn rejects_short_and_unterminated() {
        assert_eq!(
            LoadOption::parse(&[1, 0, 0, 0, 4]),
            Err(OptionError::TooShort { len: 5 })
        );
        let mut no_nul = 1u32.to_le_bytes().to_vec();
        no_nul.extend_from_slice(&[4, 0, b'd', 0, b'e', 0, b'b']);
        assert_eq!(
            LoadOption::parse(&no_nul),
            Err(OptionError::UnterminatedDescription)
        );
        assert_eq!(
            LoadOption::parse(&[1, 0, 0, 0, 4, 0]),
            Err(OptionError::UnterminatedDescription)
        );
    }

    #[test]
    fn rejects_list_length_beyond_buffer() {
        let list = debian_path_list();
        let mut bytes = option_bytes(1, "debian", &list, &[]);
        bytes[4..6].copy_from_slice(&101u16.to_le_bytes());
        let err = LoadOption::parse(&bytes).unwrap_err();
        assert_eq!(
            err,
            OptionError::PathListOverrun {
                declared: 101,
                available: 100,
                offset: 20
            }
        );
        assert_eq!(
            err.to_string(),
            "FilePathListLength is 101 bytes but only 100 bytes follow the description \
             (file path list at byte 20)"
        );
        bytes[4..6].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(LoadOption::parse(&bytes), Err(OptionError::EmptyPathList));
    }

    #[test]
    fn rejects_list_not_consumed_exactly() {
        let list = debian_path_list();
        // Two bytes too long: they belong to OptionalData but are claimed by
        // the list, where they make a cut-off node header.
        let mut long = option_bytes(1, "debian", &list, &[0xAA, 0xBB]);
        long[4..6].copy_from_slice(&102u16.to_le_bytes());
        assert_eq!(
            LoadOption::parse(&long),
            Err(OptionError::BadPathList {
                offset: 20,
                source: PathError::TruncatedHeader {
                    offset: 100,
                    available: 2
                }
            })
        );
        // Four bytes too short: the End node is left out of the list.
        let mut short = option_bytes(1, "debian", &list, &[]);
        short[4..6].copy_from_slice(&96u16.to_le_bytes());
        let err = LoadOption::parse(&short).unwrap_err();
        assert_eq!(
            err,
            OptionError::BadPathList {
                offset: 20,
                source: PathError::MissingEnd { offset: 96 }
            }
        );
        assert!(err
            .to_string()
            .starts_with("file path list (starting at byte 20"));
        // Cutting into the file node makes it overrun the list.
        let mut cut = option_bytes(1, "debian", &list, &[]);
        cut[4..6].copy_from_slice(&60u16.to_le_bytes());
        assert!(matches!(
            LoadOption::parse(&cut),
            Err(OptionError::BadPathList {
                source: PathError::NodeOverrun { offset: 42, .. },
                ..
            })
        ));
    }

    #[test]
    fn bad_description_text_is_replaced_not_rejected() {
        let mut bytes = 1u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&100u16.to_le_bytes());
        bytes.extend_from_slice(&[b'x', 0, 0x00, 0xD8, 0, 0]);
        bytes.extend_from_slice(&debian_path_list());
        let option = LoadOption::parse(&bytes).unwrap();
        assert_eq!(option.description, "x\u{FFFD}");
        assert_eq!(LoadOption::parse(&option.to_bytes()), Ok(option));
    }

    #[test]
    fn description_stops_at_nul_when_written() {
        let option = LoadOption {
            attributes: 1,
            description: "a\0b".into(),
            paths: vec![DevicePath::default()],
            optional_data: vec![],
        };
        assert_eq!(
            LoadOption::parse(&option.to_bytes()).unwrap().description,
            "a"
        );
    }

    #[test]
    fn oversized_path_lists_drop_whole_paths() {
        let big = DevicePath::new(vec![Node::Other {
            kind: 3,
            subtype: 99,
            data: vec![0; 40_000],
        }]);
        let option = LoadOption {
            attributes: 1,
            description: String::new(),
            paths: vec![big.clone(), big.clone()],
            optional_data: vec![9],
        };
        let back = LoadOption::parse(&option.to_bytes()).unwrap();
        assert_eq!(back.paths, vec![big]);
        assert_eq!(back.optional_data, vec![9]);
    }

    #[test]
    fn option_numbers_and_names() {
        assert_eq!(option_number("Boot0003", "Boot"), Some(3));
        assert_eq!(option_number("BootFFFF", "Boot"), Some(0xFFFF));
        assert_eq!(option_number("Driver00A1", "Driver"), Some(0xA1));
        assert_eq!(
            option_number("PlatformRecovery0000", "PlatformRecovery"),
            Some(0)
        );
        for bad in [
            "Boot000a",
            "Boot003",
            "Boot00003",
            "BootOrder",
            "Boot+003",
            "boot0003",
            "Boot",
            "Boot 003",
            "Boot00\u{e9}",
        ] {
            assert_eq!(option_number(bad, "Boot"), None, "{bad}");
        }
        assert_eq!(option_number("Driver0001", "Boot"), None);
        assert_eq!(option_name("Boot", 3), "Boot0003");
        assert_eq!(option_name("SysPrep", 0xBEEF), "SysPrepBEEF");
        for n in [0, 1, 0x1234, 0xFFFF] {
            assert_eq!(option_number(&option_name("Boot", n), "Boot"), Some(n));
        }
    }

    #[test]
    fn u16_lists() {
        assert_eq!(
            parse_u16_list(&[3, 0, 1, 0, 0x10, 0x20]),
            Ok(vec![3, 1, 0x2010])
        );
        assert_eq!(parse_u16_list(&[]), Ok(vec![]));
        let err = parse_u16_list(&[3, 0, 1]).unwrap_err();
        assert_eq!(err, OptionError::OddLength { len: 3 });
        assert_eq!(
            err.to_string(),
            "length 3 is odd; expected an array of UINT16"
        );
    }

    #[test]
    fn optional_data_as_text() {
        assert_eq!(
            optional_data_text(&utf16z("quiet")).as_deref(),
            Some("quiet")
        );
        // No terminator: the whole buffer is the text.
        assert_eq!(
            optional_data_text(&[b'a', 0, b'b', 0]).as_deref(),
            Some("ab")
        );
        // Anything after the first NUL is not part of the command line.
        assert_eq!(
            optional_data_text(&[b'a', 0, 0, 0, 0x00, 0xD8]).as_deref(),
            Some("a")
        );
        assert_eq!(optional_data_text(&[]).as_deref(), Some(""));
        assert_eq!(optional_data_text(&[b'a', 0, b'b']), None);
        assert_eq!(optional_data_text(&[0x00, 0xD8, b'a', 0]), None);
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_and_mutated_options_never_panic_and_round_trip() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let seeds = [
            option_bytes(1, "debian", &debian_path_list(), &[]),
            option_bytes(
                1,
                "Linux",
                &debian_path_list(),
                &utf16z("root=/dev/vda2 ro"),
            ),
        ];
        let mut parsed = 0;
        for round in 0..30_000 {
            let mut bytes = if round % 4 == 0 {
                (0..rng.below(48)).map(|_| rng.next() as u8).collect()
            } else {
                seeds[round % 2].clone()
            };
            for _ in 0..rng.below(4) {
                match rng.below(3) {
                    0 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len());
                        bytes[at] = rng.next() as u8;
                    }
                    1 => bytes.truncate(rng.below(bytes.len() + 1)),
                    _ => bytes.push(rng.next() as u8),
                }
            }
            if let Ok(option) = LoadOption::parse(&bytes) {
                parsed += 1;
                assert_eq!(LoadOption::parse(&option.to_bytes()), Ok(option.clone()));
                let _ = optional_data_text(&option.optional_data);
            }
            let _ = (parse_u16_list(&bytes), optional_data_text(&bytes));
        }
        assert!(parsed > 1_000, "only {parsed} options parsed");
    }
}
