//! The protective MBR in LBA 0 of a GPT disk (UEFI 2.x §5.2.3): signature
//! 0x55AA, one partition record of type 0xEE starting at LBA 1 and covering the
//! disk (or 0xFFFFFFFF sectors when the disk is larger), the other three records
//! zero.

use super::{Disk, SECTOR};

/// One of the four partition records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub boot_indicator: u8,
    pub os_type: u8,
    pub start_chs: [u8; 3],
    pub end_chs: [u8; 3],
    pub first_lba: u32,
    pub sectors: u32,
}

impl Record {
    fn parse(b: &[u8]) -> Record {
        Record {
            boot_indicator: b[0],
            start_chs: [b[1], b[2], b[3]],
            os_type: b[4],
            end_chs: [b[5], b[6], b[7]],
            first_lba: u32::from_le_bytes(b[8..12].try_into().unwrap()),
            sectors: u32::from_le_bytes(b[12..16].try_into().unwrap()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self
            == Record {
                boot_indicator: 0,
                os_type: 0,
                start_chs: [0; 3],
                end_chs: [0; 3],
                first_lba: 0,
                sectors: 0,
            }
    }
}

/// LBA 0 as read, and what is wrong with it as a protective MBR.
#[derive(Clone, Debug)]
pub struct Mbr {
    /// False if the image is shorter than one sector.
    pub present: bool,
    pub signature: u16,
    pub records: [Record; 4],
    /// Why this is not a valid protective MBR (empty when it is).
    pub problems: Vec<String>,
    /// Remarks that do not make it invalid.
    pub notes: Vec<String>,
}

impl Mbr {
    pub fn read(disk: &dyn Disk) -> Mbr {
        let mut sector = [0u8; SECTOR as usize];
        let present = matches!(disk.read_sector(0, &mut sector), Ok(true));
        let records = [0, 1, 2, 3].map(|i| Record::parse(&sector[446 + 16 * i..462 + 16 * i]));
        let signature = u16::from_le_bytes([sector[510], sector[511]]);
        let mut mbr = Mbr {
            present,
            signature,
            records,
            problems: Vec::new(),
            notes: Vec::new(),
        };
        mbr.validate(disk.sectors());
        mbr
    }

    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    fn validate(&mut self, disk_sectors: u64) {
        if !self.present {
            self.problems
                .push("the image is shorter than one sector".into());
            return;
        }
        if self.signature != 0xAA55 {
            self.problems.push(format!(
                "no MBR signature (bytes 510-511 are {:02X} {:02X}, not 55 AA)",
                self.signature & 0xFF,
                self.signature >> 8
            ));
            return;
        }
        let protective: Vec<usize> = (0..4)
            .filter(|&i| self.records[i].os_type == 0xEE)
            .collect();
        let Some(&slot) = protective.first() else {
            let types: Vec<String> = self
                .records
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| format!("0x{:02X}", r.os_type))
                .collect();
            self.problems.push(if types.is_empty() {
                "no partition record of type 0xEE (the MBR has no partitions)".into()
            } else {
                format!(
                    "no partition record of type 0xEE (types {}): an MBR disk, not GPT",
                    types.join(", ")
                )
            });
            return;
        };
        let r = self.records[slot];
        if r.first_lba != 1 {
            self.problems.push(format!(
                "the 0xEE record starts at LBA {}, not 1",
                r.first_lba
            ));
        }
        let want = disk_sectors.saturating_sub(1).min(0xFFFF_FFFF) as u32;
        if r.sectors != want && r.sectors != 0xFFFF_FFFF {
            self.problems.push(format!(
                "the 0xEE record covers {} sectors, the disk has {} after LBA 0",
                r.sectors,
                disk_sectors.saturating_sub(1)
            ));
        } else if r.sectors == 0xFFFF_FFFF && disk_sectors.saturating_sub(1) < 0xFFFF_FFFF {
            self.notes
                .push("the 0xEE record covers 0xFFFFFFFF sectors (more than the disk)".into());
        }
        let others: Vec<usize> = (0..4)
            .filter(|&i| i != slot && !self.records[i].is_empty())
            .collect();
        if !others.is_empty() {
            self.problems.push(format!(
                "records {} are not empty (a hybrid MBR; UEFI requires them to be zero)",
                others
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if r.boot_indicator != 0 {
            self.notes.push(format!(
                "the 0xEE record's boot indicator is 0x{:02X} (UEFI says 0)",
                r.boot_indicator
            ));
        }
        if slot != 0 {
            self.notes
                .push(format!("the 0xEE record is record {}, not 1", slot + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(sectors: u64, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut d = vec![0u8; (sectors * SECTOR) as usize];
        let want = (sectors - 1).min(0xFFFF_FFFF) as u32;
        d[446 + 1..446 + 4].copy_from_slice(&[0, 2, 0]);
        d[446 + 4] = 0xEE;
        d[446 + 5..446 + 8].copy_from_slice(&[0xFF; 3]);
        d[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
        d[446 + 12..446 + 16].copy_from_slice(&want.to_le_bytes());
        d[510] = 0x55;
        d[511] = 0xAA;
        edit(&mut d);
        d
    }

    #[test]
    fn protective_mbr_rules() {
        type Edit = fn(&mut [u8]);
        let cases: &[(&str, Edit, Option<&str>)] = &[
            ("valid", |_| {}, None),
            ("no signature", |d| d[511] = 0, Some("no MBR signature")),
            ("MBR disk", |d| d[446 + 4] = 0x83, Some("an MBR disk")),
            ("empty", |d| d[446..462].fill(0), Some("no partitions")),
            ("start", |d| d[446 + 8] = 2, Some("starts at LBA 2")),
            ("size", |d| d[446 + 12] = 5, Some("covers")),
            ("size max", |d| d[446 + 12..446 + 16].fill(0xFF), None),
            ("hybrid", |d| d[462 + 4] = 0x0C, Some("hybrid MBR")),
        ];
        for (name, edit, problem) in cases {
            let d = image(64, *edit);
            let mbr = Mbr::read(&d);
            match problem {
                None => assert!(mbr.is_valid(), "{name}: {:?}", mbr.problems),
                Some(p) => assert!(
                    mbr.problems.iter().any(|m| m.contains(p)),
                    "{name}: {:?}",
                    mbr.problems
                ),
            }
        }
        let short = Mbr::read(&&[0u8; 100][..]);
        assert!(short.problems[0].contains("shorter than one sector"));
    }
}
