//! The FAT boot sector (BIOS Parameter Block): parsed and checked with checked
//! arithmetic before the `fatfs` driver is allowed near the volume, so that a
//! corrupt BPB is described here instead of upsetting the driver. The FAT type
//! follows from the cluster count, as the FAT specification says (fewer than 4085
//! clusters: FAT12; fewer than 65525: FAT16; else FAT32).

use std::fmt;

/// FAT12, FAT16 or FAT32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FatKind {
    Fat12,
    Fat16,
    Fat32,
}

impl fmt::Display for FatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FatKind::Fat12 => "FAT12",
            FatKind::Fat16 => "FAT16",
            FatKind::Fat32 => "FAT32",
        })
    }
}

impl FatKind {
    pub fn from_clusters(clusters: u32) -> FatKind {
        if clusters < 4085 {
            FatKind::Fat12
        } else if clusters < 65525 {
            FatKind::Fat16
        } else {
            FatKind::Fat32
        }
    }

    fn entry_bits(self) -> u64 {
        match self {
            FatKind::Fat12 => 12,
            FatKind::Fat16 => 16,
            FatKind::Fat32 => 32,
        }
    }
}

/// The geometry of a FAT volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bpb {
    pub oem_name: String,
    pub bytes_per_sector: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub fats: u32,
    pub root_entries: u32,
    pub total_sectors: u32,
    pub sectors_per_fat: u32,
    pub media: u8,
    /// FAT32: the root directory's first cluster.
    pub root_cluster: u32,
    pub volume_id: u32,
    pub volume_label: String,
    /// The "FAT32   " / "FAT16   " string (informational only).
    pub fs_type_label: String,
    pub first_data_sector: u32,
    pub clusters: u32,
    pub kind: FatKind,
}

impl Bpb {
    pub fn cluster_bytes(&self) -> u32 {
        self.bytes_per_sector * self.sectors_per_cluster
    }

    pub fn volume_bytes(&self) -> u64 {
        self.total_sectors as u64 * self.bytes_per_sector as u64
    }

    /// Parses and checks a boot sector of a volume `volume_bytes` long. The error
    /// says why the volume is not a FAT file system armvm can read.
    pub fn parse(s: &[u8; 512], volume_bytes: u64) -> Result<Bpb, String> {
        let u16_at = |o: usize| u16::from_le_bytes([s[o], s[o + 1]]) as u32;
        let u32_at = |o: usize| u32::from_le_bytes(s[o..o + 4].try_into().unwrap());
        if s.iter().all(|&b| b == 0) {
            return Err("the first sector is all zeros (not formatted)".into());
        }
        if s[510] != 0x55 || s[511] != 0xAA {
            return Err(format!(
                "no boot sector signature (bytes 510-511 are {:02X} {:02X}, not 55 AA): not a FAT file system",
                s[510], s[511]
            ));
        }
        let bytes_per_sector = u16_at(11);
        if !matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096) {
            return Err(format!(
                "bytes per sector is {bytes_per_sector} (must be 512, 1024, 2048 or 4096): not a FAT file system"
            ));
        }
        let sectors_per_cluster = s[13] as u32;
        if !sectors_per_cluster.is_power_of_two() {
            return Err(format!(
                "sectors per cluster is {sectors_per_cluster} (must be a power of two up to 128)"
            ));
        }
        let reserved_sectors = u16_at(14);
        if reserved_sectors == 0 {
            return Err("the reserved sector count is 0".into());
        }
        let fats = s[16] as u32;
        if fats == 0 {
            return Err("the number of FATs is 0".into());
        }
        let root_entries = u16_at(17);
        let total16 = u16_at(19);
        let total32 = u32_at(32);
        let total_sectors = if total16 != 0 { total16 } else { total32 };
        if total_sectors == 0 {
            return Err("the total sector count is 0".into());
        }
        let fat16_size = u16_at(22);
        let fat32_size = u32_at(36);
        let is_fat32_layout = fat16_size == 0;
        let sectors_per_fat = if is_fat32_layout {
            fat32_size
        } else {
            fat16_size
        };
        if sectors_per_fat == 0 {
            return Err("the FAT size is 0 sectors".into());
        }
        let too_big = || "the BPB's sizes overflow (the volume would be larger than 2^32 sectors)";
        let root_dir_sectors = (root_entries * 32).div_ceil(bytes_per_sector);
        let first_data_sector = fats
            .checked_mul(sectors_per_fat)
            .and_then(|n| n.checked_add(reserved_sectors))
            .and_then(|n| n.checked_add(root_dir_sectors))
            .ok_or_else(too_big)?;
        if first_data_sector >= total_sectors {
            return Err(format!(
                "the volume has {total_sectors} sectors, but its data area would start at sector {first_data_sector}"
            ));
        }
        let clusters = (total_sectors - first_data_sector) / sectors_per_cluster;
        let kind = FatKind::from_clusters(clusters);
        if is_fat32_layout != (kind == FatKind::Fat32) {
            return Err(format!(
                "the BPB has a {} layout but {clusters} clusters, which makes it {kind}",
                if is_fat32_layout { "FAT32" } else { "FAT12/16" }
            ));
        }
        // The FAT must have an entry for every cluster.
        let fat_entries = sectors_per_fat as u64 * bytes_per_sector as u64 * 8 / kind.entry_bits();
        if fat_entries < clusters as u64 + 2 {
            return Err(format!(
                "the FAT ({sectors_per_fat} sectors) has {fat_entries} entries, fewer than the {} the {clusters} clusters need",
                clusters as u64 + 2
            ));
        }
        // The `fatfs` driver computes sizes in u32 bytes.
        if sectors_per_fat as u64 * bytes_per_sector as u64 * 8 > u32::MAX as u64 {
            return Err("the FAT is too large for armvm's FAT driver".into());
        }
        let volume = total_sectors as u64 * bytes_per_sector as u64;
        if volume > volume_bytes {
            return Err(format!(
                "the file system ({volume} bytes) is larger than its partition ({volume_bytes} bytes)"
            ));
        }
        let (root_cluster, ext) = if kind == FatKind::Fat32 {
            if root_entries != 0 || total16 != 0 {
                return Err("a FAT32 BPB with FAT16 root-directory or sector-count fields".into());
            }
            if u16_at(42) != 0 {
                return Err(format!("unknown FAT32 version {:#06x}", u16_at(42)));
            }
            let root_cluster = u32_at(44);
            if root_cluster < 2 || root_cluster as u64 >= clusters as u64 + 2 {
                return Err(format!(
                    "the root directory's cluster {root_cluster} is outside the volume (clusters 2..{})",
                    clusters as u64 + 1
                ));
            }
            let fs_info = u16_at(48);
            let backup = u16_at(50);
            if fs_info >= reserved_sectors || backup >= reserved_sectors {
                return Err(format!(
                    "the FSInfo ({fs_info}) or backup boot sector ({backup}) is outside the {reserved_sectors} reserved sectors"
                ));
            }
            (root_cluster, 64)
        } else {
            if root_entries == 0 {
                return Err("a FAT12/16 volume without root directory entries".into());
            }
            (0, 36)
        };
        let text = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(&s[r])
                .trim_end_matches([' ', '\0'])
                .to_string()
        };
        // The extended BPB (volume ID, label) is there when its signature is.
        let (volume_id, volume_label, fs_type_label) = if matches!(s[ext + 2], 0x28 | 0x29) {
            (
                u32_at(ext + 3),
                if s[ext + 2] == 0x29 {
                    text(ext + 7..ext + 18)
                } else {
                    String::new()
                },
                if s[ext + 2] == 0x29 {
                    text(ext + 18..ext + 26)
                } else {
                    String::new()
                },
            )
        } else {
            (0, String::new(), String::new())
        };
        Ok(Bpb {
            oem_name: text(3..11),
            bytes_per_sector,
            sectors_per_cluster,
            reserved_sectors,
            fats,
            root_entries,
            total_sectors,
            sectors_per_fat,
            media: s[21],
            root_cluster,
            volume_id,
            volume_label,
            fs_type_label,
            first_data_sector,
            clusters,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FAT32 boot sector for a 40 MiB volume, 512-byte clusters, as mkfs.vfat
    /// would lay it out.
    fn fat32() -> [u8; 512] {
        let mut s = [0u8; 512];
        s[0..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
        s[3..11].copy_from_slice(b"mkfs.fat");
        s[11..13].copy_from_slice(&512u16.to_le_bytes());
        s[13] = 1;
        s[14..16].copy_from_slice(&32u16.to_le_bytes());
        s[16] = 2;
        s[21] = 0xF8;
        s[32..36].copy_from_slice(&81920u32.to_le_bytes());
        s[36..40].copy_from_slice(&632u32.to_le_bytes());
        s[44..48].copy_from_slice(&2u32.to_le_bytes());
        s[48..50].copy_from_slice(&1u16.to_le_bytes());
        s[50..52].copy_from_slice(&6u16.to_le_bytes());
        s[66] = 0x29;
        s[67..71].copy_from_slice(&0x1234_ABCDu32.to_le_bytes());
        s[71..82].copy_from_slice(b"ESP        ");
        s[82..90].copy_from_slice(b"FAT32   ");
        s[510] = 0x55;
        s[511] = 0xAA;
        s
    }

    #[test]
    fn a_fat32_boot_sector() {
        let b = Bpb::parse(&fat32(), 40 << 20).unwrap();
        assert_eq!(b.kind, FatKind::Fat32);
        assert_eq!(b.first_data_sector, 32 + 2 * 632);
        assert_eq!(b.clusters, 81920 - 1296);
        assert_eq!(b.volume_label, "ESP");
        assert_eq!(b.volume_id, 0x1234_ABCD);
        assert_eq!(b.cluster_bytes(), 512);
    }

    #[test]
    fn broken_boot_sectors() {
        type Edit = fn(&mut [u8; 512]);
        let cases: &[(&str, Edit, &str)] = &[
            ("zeros", |s| s.fill(0), "all zeros"),
            ("signature", |s| s[511] = 0, "no boot sector signature"),
            ("sector size", |s| s[12] = 0, "bytes per sector"),
            ("cluster", |s| s[13] = 3, "sectors per cluster is 3"),
            ("cluster 0", |s| s[13] = 0, "sectors per cluster is 0"),
            ("reserved", |s| s[14] = 0, "reserved sector count"),
            ("fats", |s| s[16] = 0, "number of FATs"),
            ("total", |s| s[32..36].fill(0), "total sector count"),
            ("fat size", |s| s[36..40].fill(0), "FAT size is 0"),
            ("overflow", |s| s[36..40].fill(0xFF), "overflow"),
            (
                "data start",
                |s| s[36..40].copy_from_slice(&50000u32.to_le_bytes()),
                "data area",
            ),
            (
                "small FAT",
                |s| s[36..40].copy_from_slice(&100u32.to_le_bytes()),
                "fewer than",
            ),
            (
                "root cluster",
                |s| s[44..48].fill(0xFF),
                "root directory's cluster",
            ),
            ("fsinfo", |s| s[48] = 40, "FSInfo"),
            ("version", |s| s[42] = 1, "unknown FAT32 version"),
            (
                "fat16 layout, fat32 size",
                |s| s[22..24].copy_from_slice(&632u16.to_le_bytes()),
                "FAT12/16 layout",
            ),
        ];
        for (name, edit, want) in cases {
            let mut s = fat32();
            edit(&mut s);
            let err = Bpb::parse(&s, 40 << 20).expect_err(name);
            assert!(err.contains(want), "{name}: {err}");
        }
        let err = Bpb::parse(&fat32(), 20 << 20).unwrap_err();
        assert!(err.contains("larger than its partition"), "{err}");
    }

    #[test]
    fn fat_kind_follows_the_cluster_count() {
        for (clusters, kind) in [
            (0, FatKind::Fat12),
            (4084, FatKind::Fat12),
            (4085, FatKind::Fat16),
            (65524, FatKind::Fat16),
            (65525, FatKind::Fat32),
        ] {
            assert_eq!(FatKind::from_clusters(clusters), kind);
        }
    }
}
