//! virtio-blk (Virtio 1.2, section 5.2): a disk image as a block device.
//!
//! Requests run on the device's worker thread ([`super::Worker`]), never on a
//! vCPU. Data moves in bounded chunks, so a guest that describes a huge request
//! cannot make armvm allocate more than [`CHUNK`] bytes for it.

pub mod image;

use std::sync::{Arc, Mutex};

use armvm_cpu::memory::GuestMemory;
use virtio_bindings::virtio_blk::*;
use virtio_bindings::virtio_ids::VIRTIO_ID_BLOCK;

use super::chain::Cursor;
use super::queue::{Buffer, Chain, MAX_QUEUE_SIZE};
use super::{serve_queue, DeviceContext, Queue, VirtioDevice, Worker, WorkerMsg};
use crate::Locked;
pub use image::{Disk, DiskImage, DiskOptions};

const SECTOR: u64 = 512;
/// Largest piece of a request held in host memory at once.
const CHUNK: usize = 1 << 20;
/// The request header: type, reserved, sector.
const HEADER_LEN: usize = 16;
/// A discard / write-zeroes segment: sector, sectors, flags.
const SEGMENT_LEN: usize = 16;
const SEGMENT_FLAG_UNMAP: u32 = 1;
/// GET_ID's answer is at most this long.
const ID_LEN: usize = 20;
/// Discard granularity advertised: 4 KiB, so that holes can be punched.
const DISCARD_ALIGN_SECTORS: u32 = 8;

pub type SharedDisk = Arc<Mutex<Box<dyn Disk>>>;

pub struct Block {
    disk: SharedDisk,
    worker: Option<Worker>,
    /// The configuration space (struct virtio_blk_config), fixed at creation.
    config: Vec<u8>,
    read_only: bool,
}

impl Block {
    pub fn new(disk: Box<dyn Disk>) -> Block {
        let read_only = disk.read_only();
        let config = config_space(disk.size());
        Block {
            disk: Arc::new(Mutex::new(disk)),
            worker: None,
            config,
            read_only,
        }
    }

    /// The disk behind the device, for the firmware (which reads the same
    /// image before the guest's driver takes over).
    pub fn shared_disk(&self) -> SharedDisk {
        self.disk.clone()
    }
}

/// struct virtio_blk_config (5.2.4), little-endian.
fn config_space(size: u64) -> Vec<u8> {
    let mut c = vec![0u8; 60];
    let mut put = |at: usize, bytes: &[u8]| c[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &(size / SECTOR).to_le_bytes()); // capacity
    put(12, &(MAX_QUEUE_SIZE as u32 - 2).to_le_bytes()); // seg_max
    put(20, &(SECTOR as u32).to_le_bytes()); // blk_size
    put(36, &u32::MAX.to_le_bytes()); // max_discard_sectors
    put(40, &1u32.to_le_bytes()); // max_discard_seg
    put(44, &DISCARD_ALIGN_SECTORS.to_le_bytes()); // discard_sector_alignment
    put(48, &u32::MAX.to_le_bytes()); // max_write_zeroes_sectors
    put(52, &1u32.to_le_bytes()); // max_write_zeroes_seg
    c
}

impl VirtioDevice for Block {
    fn device_id(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }
    fn features(&self) -> u64 {
        let mut f =
            (1 << VIRTIO_BLK_F_SEG_MAX) | (1 << VIRTIO_BLK_F_BLK_SIZE) | (1 << VIRTIO_BLK_F_FLUSH);
        if self.read_only {
            f |= 1 << VIRTIO_BLK_F_RO;
        } else {
            f |= (1 << VIRTIO_BLK_F_DISCARD) | (1 << VIRTIO_BLK_F_WRITE_ZEROES);
        }
        f
    }
    fn queue_max_sizes(&self) -> Vec<u16> {
        vec![MAX_QUEUE_SIZE]
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_bytes(&self.config, offset, data);
    }
    fn activate(&mut self, ctx: DeviceContext, mut queues: Vec<Option<Queue>>) {
        self.reset();
        let Some(mut queue) = queues.pop().flatten() else {
            return;
        };
        let disk = self.disk.clone();
        self.worker = Some(Worker::spawn("virtio-blk", move |rx| {
            for msg in rx {
                if msg == WorkerMsg::Stop {
                    return;
                }
                let mut disk = disk.locked();
                let served = serve_queue(&ctx, &mut queue, |chain| {
                    handle_request(&mut **disk, &ctx.memory, chain)
                });
                if served.is_err() {
                    return;
                }
            }
        }));
    }
    fn notify(&mut self, _index: u16) {
        if let Some(w) = &self.worker {
            w.notify(0);
        }
    }
    fn reset(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.stop();
        }
    }
    fn shutdown(&mut self) {
        self.reset();
        if let Err(e) = self.disk.locked().flush() {
            eprintln!("armvm: flushing a disk at exit failed: {e}");
        }
    }
}

/// Copies `src[offset..]` into `data`, zeroes past its end.
pub(crate) fn read_bytes(src: &[u8], offset: u64, data: &mut [u8]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(i))
            .and_then(|o| src.get(o))
            .copied()
            .unwrap_or(0);
    }
}

/// Serves one request; returns the bytes written into the chain (data and status).
pub fn handle_request(disk: &mut dyn Disk, mem: &GuestMemory, chain: &Chain) -> u32 {
    // The status byte is the last device-writable byte; without one there is
    // no way to answer, so the chain goes back untouched.
    let Some((status_at, data_out)) = split_status(&chain.writable) else {
        return 0;
    };
    let mut input = Cursor::new(mem, &chain.readable);
    let mut header = [0u8; HEADER_LEN];
    let (status, written) = if input.read(&mut header) != Ok(HEADER_LEN) {
        (VIRTIO_BLK_S_IOERR, 0)
    } else {
        let kind = u32::from_le_bytes(header[0..4].try_into().unwrap());
        let sector = u64::from_le_bytes(header[8..16].try_into().unwrap());
        let mut output = Cursor::new(mem, &data_out);
        serve(disk, kind, sector, &mut input, &mut output)
    };
    let _ = mem.write(status_at, &[status as u8]);
    written.saturating_add(1)
}

/// The last writable byte (the status) and the writable buffers before it.
fn split_status(writable: &[Buffer]) -> Option<(u64, Vec<Buffer>)> {
    let mut bufs: Vec<Buffer> = writable.iter().copied().filter(|b| b.len > 0).collect();
    let last = bufs.last_mut()?;
    let at = last.addr + last.len as u64 - 1;
    last.len -= 1;
    Some((at, bufs))
}

/// Whether `len` bytes at `sector` lie on the disk.
fn in_range(disk: &dyn Disk, sector: u64, len: u64) -> bool {
    sector
        .checked_mul(SECTOR)
        .and_then(|start| start.checked_add(len))
        .is_some_and(|end| end <= disk.size())
}

/// Runs one request; returns (status, data bytes written to the guest).
fn serve(
    disk: &mut dyn Disk,
    kind: u32,
    sector: u64,
    input: &mut Cursor,
    output: &mut Cursor,
) -> (u32, u32) {
    match kind {
        VIRTIO_BLK_T_IN => {
            let len = output.remaining();
            if !in_range(disk, sector, len) {
                return (VIRTIO_BLK_S_IOERR, 0);
            }
            let mut offset = sector * SECTOR;
            let mut done = 0u64;
            let mut buf = vec![0u8; (len as usize).min(CHUNK)];
            while done < len {
                let n = ((len - done) as usize).min(CHUNK);
                if disk.read_at(&mut buf[..n], offset).is_err() {
                    return (VIRTIO_BLK_S_IOERR, done as u32);
                }
                if output.write(&buf[..n]) != Ok(n) {
                    return (VIRTIO_BLK_S_IOERR, done as u32);
                }
                offset += n as u64;
                done += n as u64;
            }
            (VIRTIO_BLK_S_OK, len as u32)
        }
        VIRTIO_BLK_T_OUT => {
            let len = input.remaining();
            if disk.read_only() || !in_range(disk, sector, len) {
                return (VIRTIO_BLK_S_IOERR, 0);
            }
            let mut offset = sector * SECTOR;
            let mut buf = vec![0u8; (len as usize).min(CHUNK)];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return (VIRTIO_BLK_S_OK, 0),
                    Ok(n) => n,
                    Err(_) => return (VIRTIO_BLK_S_IOERR, 0),
                };
                if disk.write_at(&buf[..n], offset).is_err() {
                    return (VIRTIO_BLK_S_IOERR, 0);
                }
                offset += n as u64;
            }
        }
        VIRTIO_BLK_T_FLUSH => match disk.flush() {
            Ok(()) => (VIRTIO_BLK_S_OK, 0),
            Err(_) => (VIRTIO_BLK_S_IOERR, 0),
        },
        VIRTIO_BLK_T_GET_ID => {
            let mut id = [0u8; ID_LEN];
            let serial = disk.serial().unwrap_or("").as_bytes();
            id[..serial.len().min(ID_LEN)].copy_from_slice(&serial[..serial.len().min(ID_LEN)]);
            let n = (output.remaining() as usize).min(ID_LEN);
            match output.write(&id[..n]) {
                Ok(n) => (VIRTIO_BLK_S_OK, n as u32),
                Err(_) => (VIRTIO_BLK_S_IOERR, 0),
            }
        }
        VIRTIO_BLK_T_DISCARD | VIRTIO_BLK_T_WRITE_ZEROES => {
            if disk.read_only() {
                return (VIRTIO_BLK_S_IOERR, 0);
            }
            // One segment per request, as the configuration space says.
            let mut seg = [0u8; SEGMENT_LEN];
            if input.read(&mut seg) != Ok(SEGMENT_LEN) || input.remaining() != 0 {
                return (VIRTIO_BLK_S_UNSUPP, 0);
            }
            let start = u64::from_le_bytes(seg[0..8].try_into().unwrap());
            let sectors = u32::from_le_bytes(seg[8..12].try_into().unwrap()) as u64;
            let flags = u32::from_le_bytes(seg[12..16].try_into().unwrap());
            let discard = kind == VIRTIO_BLK_T_DISCARD;
            // DISCARD takes no flags; WRITE_ZEROES only "unmap" (5.2.6.2).
            let allowed = if discard { 0 } else { SEGMENT_FLAG_UNMAP };
            if flags & !allowed != 0 {
                return (VIRTIO_BLK_S_UNSUPP, 0);
            }
            if !in_range(disk, start, sectors * SECTOR) {
                return (VIRTIO_BLK_S_IOERR, 0);
            }
            let r = if discard {
                disk.discard(start * SECTOR, sectors * SECTOR)
            } else {
                disk.write_zeroes(start * SECTOR, sectors * SECTOR)
            };
            match r {
                Ok(()) => (VIRTIO_BLK_S_OK, 0),
                Err(_) => (VIRTIO_BLK_S_IOERR, 0),
            }
        }
        _ => (VIRTIO_BLK_S_UNSUPP, 0),
    }
}

/// A disk in memory (tests and fuzzing).
pub struct MemDisk {
    pub data: Vec<u8>,
    pub read_only: bool,
    pub serial: Option<String>,
    pub flushes: u32,
}

impl Disk for MemDisk {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let o = offset as usize;
        let src = self
            .data
            .get(o..o + buf.len())
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        let o = offset as usize;
        self.data
            .get_mut(o..o + buf.len())
            .ok_or(std::io::ErrorKind::UnexpectedEof)?
            .copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.flushes += 1;
        Ok(())
    }
    fn write_zeroes(&mut self, offset: u64, len: u64) -> std::io::Result<()> {
        let o = offset as usize;
        self.data
            .get_mut(o..o + len as usize)
            .ok_or(std::io::ErrorKind::UnexpectedEof)?
            .fill(0);
        Ok(())
    }
    fn discard(&mut self, offset: u64, len: u64) -> std::io::Result<()> {
        self.write_zeroes(offset, len)
    }
}

#[cfg(test)]
mod tests;
