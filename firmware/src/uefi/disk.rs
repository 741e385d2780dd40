//! Disks and partitions: a handle per virtio disk and per GPT partition, each
//! with a device path (VenHw(virtio-mmio, base) for the disk, then
//! HD(n,GPT,guid,start,size) for a partition — the shape EDK2 gives and GRUB
//! matches), EFI_BLOCK_IO_PROTOCOL and EFI_DISK_IO_PROTOCOL; FAT partitions
//! also get a file system ([`super::fs`]).

use std::io;

use super::devpath::{DevicePath, Node};
use super::guest::Guest;
use super::guid::{self, Guid};
use super::service::Service;
use super::status;
use super::{FirmwareDisk, Object, Reply, Ret, Uefi};
use crate::image::gpt::Gpt;
use crate::image::SECTOR;

/// The largest transfer moved in one piece (bigger requests are split).
const CHUNK: u64 = 1 << 20;

pub struct BlockDev {
    pub disk: usize,
    /// Byte offset of the first block on the disk.
    pub offset: u64,
    pub blocks: u64,
    pub read_only: bool,
    pub path: DevicePath,
    pub partition: Option<Partition>,
}

#[derive(Clone, Debug)]
pub struct Partition {
    pub number: u32,
    pub unique: Guid,
    pub kind: Guid,
    pub fat: bool,
}

/// image::Disk over a firmware disk, to reuse the GPT and FAT readers.
pub struct DiskView<'a>(pub &'a dyn FirmwareDisk);

impl crate::image::Disk for DiskView<'_> {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.0.len();
        if offset >= len {
            return Ok(0);
        }
        let n = buf.len().min((len - offset) as usize);
        self.0.read_at(offset, &mut buf[..n])?;
        Ok(n)
    }
}

pub fn install(u: &mut Uefi) {
    for i in 0..u.disks.len() {
        let disk = &u.disks[i];
        let len = disk.disk.len();
        let read_only = disk.disk.read_only();
        let disk_path = DevicePath::new(vec![Node::VendorHw {
            guid: guid::VIRTIO_MMIO_TRANSPORT,
            data: disk.mmio_base.to_le_bytes().to_vec(),
        }]);
        let (partitions, problems) = partitions(disk.disk.as_ref());
        for p in problems {
            u.print(&format!("armvm: disk {}: {p}; ignored\r\n", i + 1));
        }
        add_device(u, i, 0, len / SECTOR, read_only, disk_path.clone(), None);
        for (p, first, count) in partitions {
            let path = disk_path.join(&DevicePath::new(vec![Node::HardDrive {
                partition: p.number,
                start_lba: first,
                size_lba: count,
                signature: p.unique.0,
                format: 2,
                signature_type: 2,
            }]));
            add_device(u, i, first * SECTOR, count, read_only, path, Some(p));
        }
    }
}

type Found = (Partition, u64, u64);

/// The usable partitions of the valid GPT (the backup when the primary is
/// damaged): (partition, first LBA, sectors), and why others were left out.
fn partitions(disk: &dyn FirmwareDisk) -> (Vec<Found>, Vec<String>) {
    let view = DiskView(disk);
    let gpt = Gpt::read(&view);
    let Some(table) = gpt.active() else {
        return (Vec::new(), Vec::new());
    };
    let sectors = disk.len() / SECTOR;
    let mut out: Vec<Found> = Vec::new();
    let mut problems = Vec::new();
    for e in &table.entries {
        let Some(count) = e.sectors() else {
            problems.push(format!("partition {} ends before it starts", e.index));
            continue;
        };
        if e.first_lba < table.header.as_ref().map_or(1, |h| h.first_usable)
            || e.first_lba.saturating_add(count) > sectors
        {
            problems.push(format!(
                "partition {} (LBAs {}..{}) lies outside the disk's usable space",
                e.index, e.first_lba, e.last_lba
            ));
            continue;
        }
        let end = e.first_lba + count;
        if let Some((other, _, _)) = out
            .iter()
            .find(|(_, first, n)| e.first_lba < first + n && *first < end)
        {
            problems.push(format!(
                "partition {} overlaps partition {}",
                e.index, other.number
            ));
            continue;
        }
        let mut boot = [0u8; 512];
        let fat = disk.read_at(e.first_lba * SECTOR, &mut boot).is_ok()
            && crate::image::fat::Bpb::parse(&boot, count * SECTOR).is_ok();
        out.push((
            Partition {
                number: e.index,
                unique: Guid::from_u128(e.unique_guid.as_u128()),
                kind: Guid::from_u128(e.type_guid.as_u128()),
                fat,
            },
            e.first_lba,
            count,
        ));
    }
    (out, problems)
}

fn add_device(
    u: &mut Uefi,
    disk: usize,
    offset: u64,
    blocks: u64,
    read_only: bool,
    path: DevicePath,
    partition: Option<Partition>,
) {
    let index = u.blocks.len();
    let handle = u.new_handle();
    // EFI_BLOCK_IO_MEDIA (revision 1 fields).
    let mut media = vec![0u8; 48];
    media[5] = 1; // MediaPresent
    media[6] = partition.is_some() as u8; // LogicalPartition
    media[7] = read_only as u8;
    media[12..16].copy_from_slice(&(SECTOR as u32).to_le_bytes());
    media[16..20].copy_from_slice(&1u32.to_le_bytes()); // IoAlign
    media[24..32].copy_from_slice(&blocks.saturating_sub(1).to_le_bytes());
    let media = u.alloc_bytes(&media);
    let mut block_io = 0x0001_0000u64.to_le_bytes().to_vec();
    block_io.extend_from_slice(&media.to_le_bytes());
    let block_io = u.service_table(
        &block_io,
        &[
            Service::BlockReset,
            Service::ReadBlocks,
            Service::WriteBlocks,
            Service::FlushBlocks,
        ],
    );
    let block_io = u.alloc_bytes(&block_io);
    let disk_io = u.service_table(
        &0x0001_0000u64.to_le_bytes(),
        &[Service::ReadDisk, Service::WriteDisk],
    );
    let disk_io = u.alloc_bytes(&disk_io);
    let path_at = u.alloc_bytes(&path.to_bytes());
    let _ = u.handles.install(handle, guid::DEVICE_PATH, path_at);
    u.install_object(handle, guid::BLOCK_IO, block_io, Object::BlockIo(index));
    u.install_object(handle, guid::DISK_IO, disk_io, Object::DiskIo(index));
    if partition.as_ref().is_some_and(|p| p.fat) {
        let fs = u.service_table(&0x0001_0000u64.to_le_bytes(), &[Service::OpenVolume]);
        let fs = u.alloc_bytes(&fs);
        u.install_object(
            handle,
            guid::SIMPLE_FILE_SYSTEM,
            fs,
            Object::FileSystem(index),
        );
    }
    u.blocks.push(BlockDev {
        disk,
        offset,
        blocks,
        read_only,
        path,
        partition,
    });
}

pub fn call(u: &mut Uefi, s: Service, g: &mut Guest) -> Ret {
    let this = g.arg(0)?;
    let dev = match (s, u.object(this)) {
        (Service::ReadDisk | Service::WriteDisk, Some(Object::DiskIo(i))) => i,
        (Service::ReadDisk | Service::WriteDisk, _) => return Err(status::INVALID_PARAMETER),
        (_, Some(Object::BlockIo(i))) => i,
        _ => return Err(status::INVALID_PARAMETER),
    };
    match s {
        Service::BlockReset => ok(),
        Service::FlushBlocks => {
            let d = &u.blocks[dev];
            u.disks[d.disk]
                .disk
                .flush()
                .map_err(|_| status::DEVICE_ERROR)?;
            ok()
        }
        Service::ReadBlocks | Service::WriteBlocks => {
            let (media, lba, size, buf) = (g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?);
            if media as u32 != 0 {
                return Err(status::MEDIA_CHANGED);
            }
            if size % SECTOR != 0 {
                return Err(status::BAD_BUFFER_SIZE);
            }
            let blocks = u.blocks[dev].blocks;
            if lba > blocks || size / SECTOR > blocks - lba {
                return Err(status::INVALID_PARAMETER);
            }
            if size == 0 {
                return ok();
            }
            if buf == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            transfer(
                u,
                g,
                dev,
                lba * SECTOR,
                size,
                buf,
                s == Service::WriteBlocks,
            )
        }
        Service::ReadDisk | Service::WriteDisk => {
            let (media, offset, size, buf) = (g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?);
            if media as u32 != 0 {
                return Err(status::MEDIA_CHANGED);
            }
            let bytes = u.blocks[dev].blocks * SECTOR;
            if offset > bytes || size > bytes - offset {
                return Err(status::INVALID_PARAMETER);
            }
            if size == 0 {
                return ok();
            }
            if buf == 0 {
                return Err(status::INVALID_PARAMETER);
            }
            transfer(u, g, dev, offset, size, buf, s == Service::WriteDisk)
        }
        _ => Err(status::UNSUPPORTED),
    }
}

fn ok() -> Ret {
    Ok(Reply::Status(status::SUCCESS))
}

/// Moves `size` bytes between device byte `at` and guest buffer `buf`.
fn transfer(
    u: &mut Uefi,
    g: &mut Guest,
    dev: usize,
    at: u64,
    size: u64,
    buf: u64,
    write: bool,
) -> Ret {
    let d = &u.blocks[dev];
    if write && d.read_only {
        return Err(status::WRITE_PROTECTED);
    }
    let disk = u.disks[d.disk].disk.as_ref();
    let base = d.offset + at;
    let mut done = 0;
    while done < size {
        let n = (size - done).min(CHUNK);
        let mut chunk = vec![0u8; n as usize];
        if write {
            g.read(buf + done, &mut chunk)?;
            disk.write_at(base + done, &chunk)
                .map_err(|_| status::DEVICE_ERROR)?;
        } else {
            disk.read_at(base + done, &mut chunk)
                .map_err(|_| status::DEVICE_ERROR)?;
            g.write(buf + done, &chunk)?;
        }
        done += n;
    }
    ok()
}
