//! Repairs to the directories the `fatfs` 0.3 driver creates, run on a new ESP
//! after it is unmounted.
//!
//! fatfs 0.3 writes a long-file-name entry before the "." and ".." entries of
//! every directory it creates, so "." is not the first entry nor ".." the second,
//! as the FAT specification requires (`fsck.vfat` renames them); and on FAT32 its
//! ".." of a directory in the root names the root's cluster where the
//! specification says 0. Here each such directory's first four entries
//! `[LFN][.][LFN][..]` become `[.][..][deleted][deleted]`, and ".." of a
//! directory in the root points to cluster 0. The boot sector (and its FAT32
//! backup) also gets the partition's first LBA as its hidden sector count, which
//! fatfs leaves at 0 and `mkfs.vfat` sets.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::fat::{Bpb, FatKind};

const ENTRY: usize = 32;
const ATTR_LFN: u8 = 0x0F;
const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
const DOT: &[u8; 11] = b".          ";
const DOTDOT: &[u8; 11] = b"..         ";

struct Volume<'d, D> {
    dev: &'d mut D,
    start: u64,
    bpb: Bpb,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<D: Read + Write + Seek> Volume<'_, D> {
    fn read(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.dev.seek(SeekFrom::Start(self.start + at))?;
        self.dev.read_exact(buf)
    }

    fn write(&mut self, at: u64, buf: &[u8]) -> io::Result<()> {
        self.dev.seek(SeekFrom::Start(self.start + at))?;
        self.dev.write_all(buf)
    }

    fn cluster_offset(&self, c: u32) -> u64 {
        let b = &self.bpb;
        (b.first_data_sector as u64 + (c as u64 - 2) * b.sectors_per_cluster as u64)
            * b.bytes_per_sector as u64
    }

    fn valid_cluster(&self, c: u32) -> bool {
        c >= 2 && (c as u64) < self.bpb.clusters as u64 + 2
    }

    /// The next cluster in a chain, None at its end.
    fn next(&mut self, c: u32) -> io::Result<Option<u32>> {
        let fat = self.bpb.reserved_sectors as u64 * self.bpb.bytes_per_sector as u64;
        let (value, end) = match self.bpb.kind {
            FatKind::Fat32 => {
                let mut b = [0u8; 4];
                self.read(fat + c as u64 * 4, &mut b)?;
                (u32::from_le_bytes(b) & 0x0FFF_FFFF, 0x0FFF_FFF8)
            }
            FatKind::Fat16 => {
                let mut b = [0u8; 2];
                self.read(fat + c as u64 * 2, &mut b)?;
                (u16::from_le_bytes(b) as u32, 0xFFF8)
            }
            FatKind::Fat12 => {
                let mut b = [0u8; 2];
                self.read(fat + c as u64 * 3 / 2, &mut b)?;
                let v = u16::from_le_bytes(b) as u32;
                (
                    if c.is_multiple_of(2) {
                        v & 0xFFF
                    } else {
                        v >> 4
                    },
                    0xFF8,
                )
            }
        };
        Ok((value < end && self.valid_cluster(value)).then_some(value))
    }

    /// A directory's clusters (bounded: a chain cannot be longer than the volume).
    fn chain(&mut self, first: u32) -> io::Result<Vec<u32>> {
        let mut chain = vec![first];
        let mut seen = HashSet::from([first]);
        let mut c = first;
        while let Some(n) = self.next(c)? {
            if !seen.insert(n) {
                return Err(bad(format!("cluster chain from {first} loops at {n}")));
            }
            chain.push(n);
            c = n;
        }
        Ok(chain)
    }

    /// The subdirectories (first clusters) listed in a directory's bytes.
    fn subdirs(&self, bytes: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        for e in bytes.chunks_exact(ENTRY) {
            match e[0] {
                0 => break,
                0xE5 => continue,
                _ => {}
            }
            let attr = e[11];
            if attr & 0x3F == ATTR_LFN || attr & ATTR_VOLUME != 0 || attr & ATTR_DIR == 0 {
                continue;
            }
            if &e[..11] == DOT || &e[..11] == DOTDOT {
                continue;
            }
            let hi = if self.bpb.kind == FatKind::Fat32 {
                u16::from_le_bytes([e[20], e[21]]) as u32
            } else {
                0
            };
            let c = hi << 16 | u16::from_le_bytes([e[26], e[27]]) as u32;
            if self.valid_cluster(c) {
                out.push(c);
            }
        }
        out
    }

    fn read_dir(&mut self, first: u32) -> io::Result<Vec<u8>> {
        let cluster = self.bpb.cluster_bytes() as usize;
        let mut bytes = Vec::new();
        for c in self.chain(first)? {
            let mut buf = vec![0u8; cluster];
            self.read(self.cluster_offset(c), &mut buf)?;
            bytes.extend_from_slice(&buf);
        }
        Ok(bytes)
    }

    /// Puts "." and ".." first in the directory at cluster `c`; returns whether
    /// anything changed.
    fn fix(&mut self, c: u32, parent_is_root: bool) -> io::Result<bool> {
        let at = self.cluster_offset(c);
        let mut e = [0u8; 4 * ENTRY];
        self.read(at, &mut e)?;
        let name = |i: usize| &e[i * ENTRY..i * ENTRY + 11];
        let attr = |i: usize| e[i * ENTRY + 11];
        let mut fixed = e;
        if attr(0) == ATTR_LFN && name(1) == DOT && attr(2) == ATTR_LFN && name(3) == DOTDOT {
            fixed[..ENTRY].copy_from_slice(&e[ENTRY..2 * ENTRY]);
            fixed[ENTRY..2 * ENTRY].copy_from_slice(&e[3 * ENTRY..]);
            for slot in [2, 3] {
                fixed[slot * ENTRY..(slot + 1) * ENTRY].fill(0);
                fixed[slot * ENTRY] = 0xE5;
            }
        }
        if parent_is_root && &fixed[ENTRY..ENTRY + 11] == DOTDOT {
            fixed[ENTRY + 20..ENTRY + 22].fill(0);
            fixed[ENTRY + 26..ENTRY + 28].fill(0);
        }
        if fixed == e {
            return Ok(false);
        }
        self.write(at, &fixed)?;
        Ok(true)
    }
}

/// Repairs every directory of the FAT volume at `start` (`len` bytes) and sets
/// its hidden sector count to `start` in sectors; returns how many directories
/// were changed.
pub fn finish_volume<D: Read + Write + Seek>(
    dev: &mut D,
    start: u64,
    len: u64,
) -> io::Result<usize> {
    let mut boot = [0u8; 512];
    dev.seek(SeekFrom::Start(start))?;
    dev.read_exact(&mut boot)?;
    let bpb = Bpb::parse(&boot, len).map_err(bad)?;
    let hidden = u32::try_from(start / bpb.bytes_per_sector as u64).unwrap_or(u32::MAX);
    let mut v = Volume { dev, start, bpb };
    let mut copies = vec![0u64];
    if v.bpb.kind == FatKind::Fat32 {
        copies.push(u16::from_le_bytes([boot[50], boot[51]]) as u64);
    }
    for sector in copies {
        v.write(
            sector * v.bpb.bytes_per_sector as u64 + 28,
            &hidden.to_le_bytes(),
        )?;
    }
    let root = match v.bpb.kind {
        FatKind::Fat32 => v.read_dir(v.bpb.root_cluster)?,
        _ => {
            let b = &v.bpb;
            let at = (b.reserved_sectors as u64 + b.fats as u64 * b.sectors_per_fat as u64)
                * b.bytes_per_sector as u64;
            let mut buf = vec![0u8; b.root_entries as usize * ENTRY];
            v.read(at, &mut buf)?;
            buf
        }
    };
    let mut fixed = 0;
    let mut seen = HashSet::new();
    let mut todo: Vec<(u32, bool)> = v.subdirs(&root).into_iter().map(|c| (c, true)).collect();
    while let Some((c, parent_is_root)) = todo.pop() {
        if !seen.insert(c) {
            continue;
        }
        if v.fix(c, parent_is_root)? {
            fixed += 1;
        }
        let bytes = v.read_dir(c)?;
        todo.extend(v.subdirs(&bytes).into_iter().map(|s| (s, false)));
    }
    Ok(fixed)
}
