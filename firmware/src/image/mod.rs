//! Portable disk images as the ARM VM System Specification describes them: a raw
//! disk with a GUID Partition Table whose EFI System Partition (FAT32) holds the
//! boot program at the UEFI removable-media path, `\EFI\BOOT\BOOTAA64.EFI`
//! (`BOOTARM.EFI` for AArch32).
//!
//! - [`create`] writes such an image (the `gpt` crate for the tables, `fatfs` for
//!   the ESP);
//! - [`inspect`] describes one: the protective MBR, both GPT headers, the
//!   partition entries and the ESP's files;
//! - [`check`] tests the specification's rules one by one.
//!
//! Reading never trusts the image: every offset and count is checked before it is
//! used, entry arrays are capped, the FAT driver runs under a read budget (a cycle
//! in a cluster chain would otherwise loop for ever) and behind a panic guard, and
//! PE headers are bounds-checked. The readers work on any [`Disk`] (a file, or
//! bytes in memory for the tests).

pub mod check;
pub mod create;
pub mod esp;
pub mod fat;
mod fatfix;
pub mod gpt;
pub(crate) mod guard;
pub mod guid;
pub mod inspect;
pub mod mbr;
pub mod pe;

#[cfg(test)]
mod robustness_tests;

use std::io;

/// Logical sector size of the images armvm reads and writes.
pub const SECTOR: u64 = 512;

/// Partition alignment of created images: 1 MiB.
pub const ALIGN: u64 = 1 << 20;

/// Random access to the bytes of a disk image. Reads past the end return fewer
/// bytes (0 at or past the end), as for a file.
pub trait Disk {
    /// The image's length in bytes.
    fn len(&self) -> u64;

    /// Reads at `offset` into `buf`; returns how many bytes were read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads as much of `buf` as the image has at `offset`; returns the count.
    fn read_full(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let Some(at) = offset.checked_add(done as u64) else {
                break;
            };
            match self.read_at(at, &mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Reads sector `lba` (zero-filled past the end); false if it is not all there.
    fn read_sector(&self, lba: u64, buf: &mut [u8; SECTOR as usize]) -> io::Result<bool> {
        buf.fill(0);
        let Some(offset) = lba.checked_mul(SECTOR) else {
            return Ok(false);
        };
        Ok(self.read_full(offset, buf)? == buf.len())
    }

    /// Whole sectors in the image.
    fn sectors(&self) -> u64 {
        self.len() / SECTOR
    }
}

impl Disk for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(src) = self.get(start..) else {
            return Ok(0);
        };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

impl Disk for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// A disk image file, with its length taken when it was opened.
pub struct FileDisk {
    file: std::fs::File,
    len: u64,
}

impl FileDisk {
    /// Opens an image read-only. Fails for anything but a regular file or a block
    /// device.
    pub fn open(path: &std::path::Path) -> io::Result<FileDisk> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        let len = file.seek(SeekFrom::End(0))?;
        Ok(FileDisk { file, len })
    }
}

impl Disk for FileDisk {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf
            .len()
            .min((self.len - offset).min(usize::MAX as u64) as usize);
        self.file.read_at(&mut buf[..n], offset)
    }
}

/// Errors of `armvm image create` (the readers report problems instead of failing).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("writing the GPT: {0}")]
    Gpt(#[from] ::gpt::GptError),
    #[error("{what}: {source}")]
    Fat {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// The boot program's architecture: which removable-media file name and which PE
/// format and machine it must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// AArch64: `BOOTAA64.EFI`, PE32+ with machine 0xAA64.
    Aarch64,
    /// AArch32: `BOOTARM.EFI`, PE32 with machine 0x01C2 (ARM Thumb/Thumb-2).
    Arm,
}

impl Arch {
    /// The removable-media file name in `\EFI\BOOT`.
    pub fn boot_file(self) -> &'static str {
        match self {
            Arch::Aarch64 => "BOOTAA64.EFI",
            Arch::Arm => "BOOTARM.EFI",
        }
    }

    /// `\EFI\BOOT\BOOTxxx.EFI`.
    pub fn boot_path(self) -> String {
        format!("\\EFI\\BOOT\\{}", self.boot_file())
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "AArch64",
            Arch::Arm => "AArch32",
        }
    }
}

/// `1234` → "1234 bytes"; larger sizes also in KiB/MiB/GiB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, unit) in UNITS {
        if bytes >= unit {
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_read_short_at_the_end() {
        let data: Vec<u8> = (0..10).collect();
        let mut buf = [0u8; 4];
        assert_eq!(data.read_full(8, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], &[8, 9]);
        assert_eq!(data.read_full(10, &mut buf).unwrap(), 0);
        assert_eq!(data.read_full(u64::MAX, &mut buf).unwrap(), 0);
        let mut sector = [0xAAu8; 512];
        assert!(!data.read_sector(0, &mut sector).unwrap());
        assert_eq!(sector[9], 9);
        assert_eq!(sector[10], 0);
        assert!(!data.read_sector(u64::MAX, &mut sector).unwrap());
    }

    #[test]
    fn sizes_are_human() {
        for (bytes, text) in [
            (0, "0 bytes"),
            (1023, "1023 bytes"),
            (1024, "1.0 KiB"),
            (64 << 20, "64.0 MiB"),
            (3 << 29, "1.5 GiB"),
        ] {
            assert_eq!(human_size(bytes), text);
        }
    }
}
