//! Reading and validating both copies of a GUID Partition Table (UEFI 2.x §5.3):
//! the header at LBA 1 and its backup (at the primary's AlternateLBA, or the last
//! LBA when the primary is unusable), each with its partition entry array.
//!
//! Nothing read is trusted: header sizes, LBAs, entry sizes and counts are checked
//! before use, and entry arrays larger than [`MAX_ENTRY_ARRAY`] are not read.
//! Problems are collected as sentences instead of stopping at the first one, so
//! that `inspect` and `check` can say everything that is wrong.

use uuid::Uuid;

use super::{guid, Disk, SECTOR};

/// The largest partition entry array armvm reads (16384 entries of 128 bytes;
/// images normally have 128).
pub const MAX_ENTRY_ARRAY: u64 = 2 << 20;

/// The size of the GPT header fields (UEFI: HeaderSize ≥ 92).
pub const HEADER_MIN: u32 = 92;

/// Which copy of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Primary,
    Backup,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Primary => "primary",
            Which::Backup => "backup",
        }
    }
}

/// A GPT header's fields as stored, with the CRC armvm computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub revision: u32,
    pub header_size: u32,
    pub header_crc: u32,
    /// None when HeaderSize is out of range (the CRC cannot be computed).
    pub computed_crc: Option<u32>,
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: Uuid,
    pub entries_lba: u64,
    pub num_entries: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
}

impl Header {
    fn parse(s: &[u8; SECTOR as usize]) -> Header {
        let u32_at = |o: usize| u32::from_le_bytes(s[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(s[o..o + 8].try_into().unwrap());
        let header_size = u32_at(12);
        let computed_crc = (HEADER_MIN..=SECTOR as u32)
            .contains(&header_size)
            .then(|| {
                let mut bytes = s[..header_size as usize].to_vec();
                bytes[16..20].fill(0);
                crc32fast::hash(&bytes)
            });
        Header {
            revision: u32_at(8),
            header_size,
            header_crc: u32_at(16),
            computed_crc,
            my_lba: u64_at(24),
            alternate_lba: u64_at(32),
            first_usable: u64_at(40),
            last_usable: u64_at(48),
            disk_guid: guid::from_disk(&s[56..72]),
            entries_lba: u64_at(72),
            num_entries: u32_at(80),
            entry_size: u32_at(84),
            entries_crc: u32_at(88),
        }
    }

    /// Bytes in the entry array (u32 × u32 fits in u64).
    pub fn array_bytes(&self) -> u64 {
        self.num_entries as u64 * self.entry_size as u64
    }

    /// Sectors the entry array occupies.
    pub fn array_sectors(&self) -> u64 {
        self.array_bytes().div_ceil(SECTOR)
    }

    pub fn crc_ok(&self) -> bool {
        self.computed_crc == Some(self.header_crc)
    }
}

/// A used partition entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based position in the array.
    pub index: u32,
    pub type_guid: Uuid,
    pub unique_guid: Uuid,
    pub first_lba: u64,
    pub last_lba: u64,
    pub attributes: u64,
    pub name: String,
}

impl Entry {
    /// Sectors covered, None when LastLBA < FirstLBA.
    pub fn sectors(&self) -> Option<u64> {
        self.last_lba
            .checked_sub(self.first_lba)
            .and_then(|n| n.checked_add(1))
    }

    /// The partition's byte range in the image, when it is well-formed.
    pub fn byte_range(&self) -> Option<(u64, u64)> {
        let start = self.first_lba.checked_mul(SECTOR)?;
        let len = self.sectors()?.checked_mul(SECTOR)?;
        Some((start, len))
    }

    fn parse(index: u32, b: &[u8]) -> Option<Entry> {
        let type_guid = guid::from_disk(&b[0..16]);
        if type_guid.is_nil() {
            return None;
        }
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let units: Vec<u16> = b[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        Some(Entry {
            index,
            type_guid,
            unique_guid: guid::from_disk(&b[16..32]),
            first_lba: u64_at(32),
            last_lba: u64_at(40),
            attributes: u64_at(48),
            name: String::from_utf16_lossy(&units),
        })
    }
}

/// One copy of the table: its header and entry array, and what is wrong with them.
#[derive(Clone, Debug)]
pub struct GptCopy {
    pub which: Which,
    /// Where the header was looked for.
    pub lba: u64,
    /// None when there is no "EFI PART" header at `lba`.
    pub header: Option<Header>,
    /// What makes UEFI reject the header (bad signature, CRC, MyLBA, sizes).
    pub header_problems: Vec<String>,
    /// Breaches of the rules that UEFI would still accept the header with (a
    /// misplaced backup, usable LBAs past the end of a truncated image).
    pub header_faults: Vec<String>,
    /// Remarks that are not errors.
    pub notes: Vec<String>,
    /// Whether the entry array was read (the header was sound enough to trust).
    pub entries_read: bool,
    pub computed_entries_crc: Option<u32>,
    pub entries_problems: Vec<String>,
    /// The used entries, in array order.
    pub entries: Vec<Entry>,
    /// The array's bytes, to compare the two copies.
    pub raw_entries: Vec<u8>,
}

impl GptCopy {
    /// UEFI would accept this header.
    pub fn header_ok(&self) -> bool {
        self.header.is_some() && self.header_problems.is_empty()
    }

    /// Accepted, and without faults.
    pub fn header_clean(&self) -> bool {
        self.header_ok() && self.header_faults.is_empty()
    }

    pub fn entries_ok(&self) -> bool {
        self.entries_read && self.entries_problems.is_empty()
    }

    /// Header and entry array both valid: UEFI may use this copy.
    pub fn is_valid(&self) -> bool {
        self.header_ok() && self.entries_ok()
    }

    fn read(disk: &dyn Disk, which: Which, lba: u64) -> GptCopy {
        let mut copy = GptCopy {
            which,
            lba,
            header: None,
            header_problems: Vec::new(),
            header_faults: Vec::new(),
            notes: Vec::new(),
            entries_read: false,
            computed_entries_crc: None,
            entries_problems: Vec::new(),
            entries: Vec::new(),
            raw_entries: Vec::new(),
        };
        let sectors = disk.sectors();
        let mut s = [0u8; SECTOR as usize];
        match disk.read_sector(lba, &mut s) {
            Ok(true) => {}
            Ok(false) => {
                copy.header_problems.push(format!(
                    "LBA {lba} is past the end of the image ({sectors} sectors): is the image truncated?"
                ));
                return copy;
            }
            Err(e) => {
                copy.header_problems
                    .push(format!("cannot read LBA {lba}: {e}"));
                return copy;
            }
        }
        if &s[..8] != b"EFI PART" {
            copy.header_problems.push(if s.iter().all(|&b| b == 0) {
                format!("no GPT header at LBA {lba} (the sector is all zeros)")
            } else {
                format!(
                    "no GPT header at LBA {lba} (signature {:?}, not \"EFI PART\")",
                    String::from_utf8_lossy(&s[..8])
                )
            });
            return copy;
        }
        let h = Header::parse(&s);
        copy.check_header(&h, sectors);
        copy.header = Some(h.clone());
        if h.crc_ok() {
            copy.read_entries(disk, &h, sectors);
        }
        copy
    }

    fn check_header(&mut self, h: &Header, sectors: u64) {
        let p = &mut self.header_problems;
        let lba = self.lba;
        match h.computed_crc {
            None => p.push(format!(
                "HeaderSize is {} (must be {HEADER_MIN}..={SECTOR})",
                h.header_size
            )),
            Some(c) if c != h.header_crc => p.push(format!(
                "header CRC32 mismatch: stored 0x{:08X}, computed 0x{c:08X}",
                h.header_crc
            )),
            Some(_) => {}
        }
        if h.my_lba != lba {
            p.push(format!(
                "MyLBA is {} but the header is at LBA {lba}",
                h.my_lba
            ));
        }
        if h.entry_size < 128 || !h.entry_size.is_power_of_two() {
            p.push(format!(
                "SizeOfPartitionEntry is {} (must be 128 × 2^n)",
                h.entry_size
            ));
        }
        if h.array_bytes() > MAX_ENTRY_ARRAY {
            p.push(format!(
                "the entry array ({} entries × {} bytes) is larger than armvm reads ({} bytes)",
                h.num_entries, h.entry_size, MAX_ENTRY_ARRAY
            ));
        }
        if h.first_usable > h.last_usable.saturating_add(1) {
            p.push(format!(
                "FirstUsableLBA {} is after LastUsableLBA {}",
                h.first_usable, h.last_usable
            ));
        }
        if h.last_usable >= sectors {
            self.header_faults.push(format!(
                "LastUsableLBA {} is past the end of the image ({sectors} sectors): is the image truncated?",
                h.last_usable
            ));
        }
        let p = &mut self.header_problems;
        // The entry array must lie on the disk, outside the usable range and away
        // from LBA 0 and this header.
        let array_end = h.entries_lba.saturating_add(h.array_sectors());
        if h.array_sectors() > 0 {
            if h.entries_lba <= 1 || (h.entries_lba..array_end).contains(&lba) {
                p.push(format!(
                    "the entry array (LBAs {}..{}) overlaps the MBR or this header",
                    h.entries_lba,
                    array_end - 1
                ));
            }
            if array_end > h.first_usable && h.entries_lba <= h.last_usable {
                p.push(format!(
                    "the entry array (LBAs {}..{}) overlaps the usable LBAs {}..{}",
                    h.entries_lba,
                    array_end - 1,
                    h.first_usable,
                    h.last_usable
                ));
            }
            if array_end > sectors {
                p.push(format!(
                    "the entry array (LBAs {}..{}) runs past the end of the image ({sectors} sectors)",
                    h.entries_lba,
                    array_end - 1
                ));
            }
        }
        if h.num_entries == 0 {
            self.notes.push("the entry array has no entries".into());
        }
        if h.revision != 0x0001_0000 {
            self.notes.push(format!(
                "revision 0x{:08X} (UEFI writes 0x00010000)",
                h.revision
            ));
        }
        match self.which {
            Which::Backup if h.alternate_lba != 1 => self.header_faults.push(format!(
                "AlternateLBA is {}; the backup must point to the primary at LBA 1",
                h.alternate_lba
            )),
            _ => {}
        }
    }

    fn read_entries(&mut self, disk: &dyn Disk, h: &Header, sectors: u64) {
        let bytes = h.array_bytes();
        if bytes > MAX_ENTRY_ARRAY || h.entry_size < 128 || !h.entry_size.is_power_of_two() {
            self.entries_problems
                .push("the entry array was not read (bad size or count)".into());
            return;
        }
        let Some(offset) = h.entries_lba.checked_mul(SECTOR) else {
            self.entries_problems
                .push(format!("PartitionEntryLBA {} is absurd", h.entries_lba));
            return;
        };
        let mut raw = vec![0u8; bytes as usize];
        match disk.read_full(offset, &mut raw) {
            Ok(n) if n as u64 == bytes => {}
            Ok(_) => {
                self.entries_problems.push(format!(
                    "the entry array at LBA {} runs past the end of the image ({sectors} sectors)",
                    h.entries_lba
                ));
                return;
            }
            Err(e) => {
                self.entries_problems
                    .push(format!("cannot read the entry array: {e}"));
                return;
            }
        }
        let crc = crc32fast::hash(&raw);
        self.computed_entries_crc = Some(crc);
        if crc != h.entries_crc {
            self.entries_problems.push(format!(
                "entry array CRC32 mismatch: the header says 0x{:08X}, the {} × {} bytes at LBA {} give 0x{crc:08X}",
                h.entries_crc, h.num_entries, h.entry_size, h.entries_lba
            ));
        }
        self.entries = raw
            .chunks_exact(h.entry_size as usize)
            .enumerate()
            .filter_map(|(i, e)| Entry::parse(i as u32 + 1, e))
            .collect();
        self.raw_entries = raw;
        self.entries_read = true;
    }
}

/// Both copies of a disk's GPT.
#[derive(Clone, Debug)]
pub struct Gpt {
    pub disk_bytes: u64,
    pub disk_sectors: u64,
    pub primary: GptCopy,
    pub backup: GptCopy,
    /// About the image as a whole (odd length, 4 KiB-sector GPTs).
    pub notes: Vec<String>,
}

impl Gpt {
    pub fn read(disk: &dyn Disk) -> Gpt {
        let sectors = disk.sectors();
        let primary = GptCopy::read(disk, Which::Primary, 1);
        let last = sectors.saturating_sub(1);
        // UEFI: the backup is where a valid primary says; without one, at the end.
        let backup_lba = match &primary.header {
            Some(h) if primary.header_ok() => h.alternate_lba,
            _ => last,
        };
        let mut backup = GptCopy::read(disk, Which::Backup, backup_lba);
        if backup_lba != last && backup.header.is_some() {
            backup.header_faults.push(format!(
                "the backup header is at LBA {backup_lba}, not at the end of the disk (LBA {last})"
            ));
        }
        let mut notes = Vec::new();
        if !disk.len().is_multiple_of(SECTOR) {
            notes.push(format!(
                "the image is {} bytes, not a whole number of {SECTOR}-byte sectors",
                disk.len()
            ));
        }
        if primary.header.is_none() {
            let mut s = [0u8; 8];
            if matches!(disk.read_full(4096, &mut s), Ok(8)) && &s == b"EFI PART" {
                notes.push(
                    "there is a GPT header at byte 4096: a disk with 4096-byte sectors, \
                     which armvm does not read (it uses 512-byte sectors)"
                        .into(),
                );
            }
        }
        Gpt {
            disk_bytes: disk.len(),
            disk_sectors: sectors,
            primary,
            backup,
            notes,
        }
    }

    /// The copy UEFI would use: the primary when valid, else a valid backup.
    pub fn active(&self) -> Option<&GptCopy> {
        if self.primary.is_valid() {
            Some(&self.primary)
        } else if self.backup.is_valid() {
            Some(&self.backup)
        } else {
            None
        }
    }

    /// Where the two copies disagree (both must have sound headers).
    pub fn disagreements(&self) -> Result<Vec<String>, String> {
        let (Some(p), Some(b)) = (&self.primary.header, &self.backup.header) else {
            return Err("there are not two GPT headers to compare".into());
        };
        if !self.primary.header_ok() || !self.backup.header_ok() {
            return Err(format!(
                "not compared: the {} header is invalid",
                if self.primary.header_ok() {
                    "backup"
                } else {
                    "primary"
                }
            ));
        }
        let mut d = Vec::new();
        let mut differ = |what: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{what}: primary {a}, backup {b}"));
            }
        };
        differ(
            "disk GUID",
            guid::fmt(&p.disk_guid),
            guid::fmt(&b.disk_guid),
        );
        differ(
            "FirstUsableLBA",
            p.first_usable.to_string(),
            b.first_usable.to_string(),
        );
        differ(
            "LastUsableLBA",
            p.last_usable.to_string(),
            b.last_usable.to_string(),
        );
        differ(
            "entry count",
            p.num_entries.to_string(),
            b.num_entries.to_string(),
        );
        differ(
            "entry size",
            p.entry_size.to_string(),
            b.entry_size.to_string(),
        );
        differ(
            "entry array CRC32",
            format!("0x{:08X}", p.entries_crc),
            format!("0x{:08X}", b.entries_crc),
        );
        if p.alternate_lba != self.backup.lba {
            d.push(format!(
                "the primary's AlternateLBA is {}, the backup is at LBA {}",
                p.alternate_lba, self.backup.lba
            ));
        }
        if self.primary.entries_read
            && self.backup.entries_read
            && self.primary.raw_entries != self.backup.raw_entries
        {
            d.push("the entry arrays' contents differ".into());
        }
        Ok(d)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a header for `lba` into `disk` with correct CRCs (the entry array
    /// must already be in place).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_header(
        disk: &mut [u8],
        lba: u64,
        alternate: u64,
        first_usable: u64,
        last_usable: u64,
        entries_lba: u64,
        num_entries: u32,
        entry_size: u32,
    ) {
        let off = (lba * SECTOR) as usize;
        let array = &disk[(entries_lba * SECTOR) as usize..][..(num_entries * entry_size) as usize];
        let entries_crc = crc32fast::hash(array);
        let h = &mut disk[off..off + SECTOR as usize];
        h.fill(0);
        h[..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&lba.to_le_bytes());
        h[32..40].copy_from_slice(&alternate.to_le_bytes());
        h[40..48].copy_from_slice(&first_usable.to_le_bytes());
        h[48..56].copy_from_slice(&last_usable.to_le_bytes());
        h[56..72].copy_from_slice(&[0x11; 16]);
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&num_entries.to_le_bytes());
        h[84..88].copy_from_slice(&entry_size.to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32fast::hash(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
    }

    /// Recomputes a header's CRC after a test edited it.
    pub(crate) fn fix_header_crc(disk: &mut [u8], lba: u64) {
        let off = (lba * SECTOR) as usize;
        let size = u32::from_le_bytes(disk[off + 12..off + 16].try_into().unwrap()) as usize;
        if !(92..=512).contains(&size) {
            return;
        }
        disk[off + 16..off + 20].fill(0);
        let crc = crc32fast::hash(&disk[off..off + size]);
        disk[off + 16..off + 20].copy_from_slice(&crc.to_le_bytes());
    }

    /// A 128-sector disk with one partition (LBAs 40..=80) in both copies.
    fn small_disk() -> Vec<u8> {
        let mut d = vec![0u8; 128 * SECTOR as usize];
        for array_lba in [2u64, 95] {
            let e = &mut d[(array_lba * SECTOR) as usize..][..128];
            e[..16].copy_from_slice(guid::ESP.to_bytes_le().as_slice());
            e[16..32].copy_from_slice(&[0x22; 16]);
            e[32..40].copy_from_slice(&40u64.to_le_bytes());
            e[40..48].copy_from_slice(&80u64.to_le_bytes());
            for (i, c) in "ESP".encode_utf16().enumerate() {
                e[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
            }
        }
        write_header(&mut d, 1, 127, 34, 94, 2, 128, 128);
        write_header(&mut d, 127, 1, 34, 94, 95, 128, 128);
        d
    }

    #[test]
    fn a_sound_table_reads_back() {
        let d = small_disk();
        let g = Gpt::read(&d);
        assert!(g.primary.is_valid(), "{:?}", g.primary);
        assert!(g.backup.is_valid(), "{:?}", g.backup);
        assert_eq!(g.disagreements().unwrap(), Vec::<String>::new());
        let e = &g.active().unwrap().entries;
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].index, e[0].first_lba, e[0].last_lba), (1, 40, 80));
        assert_eq!(e[0].name, "ESP");
        assert_eq!(e[0].type_guid, guid::ESP);
        assert_eq!(e[0].sectors(), Some(41));
    }

    /// Each broken table: what to edit, which copy must be reported and how.
    #[test]
    fn broken_tables_are_described() {
        type Edit = fn(&mut Vec<u8>);
        let cases: &[(&str, Edit, Which, &str)] = &[
            (
                "header CRC",
                |d| d[512 + 16] ^= 1,
                Which::Primary,
                "header CRC32 mismatch",
            ),
            (
                "signature",
                |d| d[512] = b'X',
                Which::Primary,
                "no GPT header at LBA 1",
            ),
            (
                "zeroed",
                |d| d[512..1024].fill(0),
                Which::Primary,
                "all zeros",
            ),
            (
                "entries CRC",
                |d| d[1024 + 100] ^= 1,
                Which::Primary,
                "entry array CRC32 mismatch",
            ),
            (
                "my LBA",
                |d| {
                    d[512 + 24] = 3;
                    fix_header_crc(d, 1);
                },
                Which::Primary,
                "MyLBA is 3",
            ),
            (
                "header size",
                |d| {
                    d[512 + 12] = 0xFF;
                    d[512 + 13] = 0xFF;
                },
                Which::Primary,
                "HeaderSize is 65535",
            ),
            (
                "absurd count",
                |d| {
                    d[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
                    fix_header_crc(d, 1);
                },
                Which::Primary,
                "larger than armvm reads",
            ),
            (
                "array past the end",
                |d| {
                    d[512 + 72..512 + 80].copy_from_slice(&120u64.to_le_bytes());
                    fix_header_crc(d, 1);
                },
                Which::Primary,
                "runs past the end",
            ),
            (
                "entry size",
                |d| {
                    d[512 + 84] = 100;
                    fix_header_crc(d, 1);
                },
                Which::Primary,
                "SizeOfPartitionEntry is 100",
            ),
            (
                "usable overlaps array",
                |d| {
                    d[512 + 40] = 10;
                    fix_header_crc(d, 1);
                },
                Which::Primary,
                "overlaps the usable LBAs",
            ),
            (
                "truncated",
                |d| d.truncate(100 * 512),
                Which::Backup,
                "past the end of the image",
            ),
            (
                "backup alternate",
                |d| {
                    d[127 * 512 + 32] = 5;
                    fix_header_crc(d, 127);
                },
                Which::Backup,
                "must point to the primary",
            ),
        ];
        for (name, edit, which, want) in cases {
            let mut d = small_disk();
            edit(&mut d);
            let g = Gpt::read(&d);
            let copy = match which {
                Which::Primary => &g.primary,
                Which::Backup => &g.backup,
            };
            let all: Vec<&String> = copy
                .header_problems
                .iter()
                .chain(&copy.header_faults)
                .chain(&copy.entries_problems)
                .collect();
            assert!(all.iter().any(|p| p.contains(want)), "{name}: {all:?}");
            if *which == Which::Primary {
                // The backup still serves.
                assert!(g.backup.is_valid(), "{name}: {:?}", g.backup);
                assert_eq!(g.active().unwrap().which, Which::Backup, "{name}");
            }
        }
    }

    #[test]
    fn copies_that_disagree_are_reported() {
        let mut d = small_disk();
        // A different first usable LBA in the backup.
        d[127 * 512 + 40] = 35;
        fix_header_crc(&mut d, 127);
        let g = Gpt::read(&d);
        let diff = g.disagreements().unwrap();
        assert!(
            diff.iter().any(|s| s.contains("FirstUsableLBA")),
            "{diff:?}"
        );
    }

    #[test]
    fn no_gpt_at_all() {
        let d = vec![0u8; 4096];
        let g = Gpt::read(&d);
        assert!(g.active().is_none());
        assert!(g.disagreements().is_err());
        let g = Gpt::read(&&[][..]);
        assert!(g.primary.header_problems[0].contains("past the end"));
    }
}
