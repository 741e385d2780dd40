//! EFI_SIMPLE_FILE_SYSTEM_PROTOCOL and EFI_FILE_PROTOCOL on FAT partitions
//! (UEFI 2.10, 13.4 and 13.5), through the `fatfs` crate.
//!
//! Each call opens the file system afresh over the partition (the disk may
//! have changed under it: the guest's virtio driver writes the same image)
//! and walks to the file by its path. Every access is budgeted and run under
//! a panic guard, so a FAT with loops or garbage gives an error, never a hang
//! or a host panic.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use super::guest::{utf16z, Guest};
use super::guid;
use super::service::Service;
use super::status::{self, Status};
use super::{FirmwareDisk, Object, Reply, Ret, Uefi};
use crate::image::guard;

const MODE_READ: u64 = 0x1;
const MODE_WRITE: u64 = 0x2;
const MODE_CREATE: u64 = 0x8000_0000_0000_0000;
const ATTR_READ_ONLY: u64 = 0x01;
const ATTR_HIDDEN: u64 = 0x02;
const ATTR_SYSTEM: u64 = 0x04;
const ATTR_DIRECTORY: u64 = 0x10;
const ATTR_ARCHIVE: u64 = 0x20;
/// EFI_FILE_INFO without its name: Size, FileSize, PhysicalSize, three
/// EFI_TIMEs, Attribute.
const FILE_INFO_HEADER: usize = 80;
/// Bytes of the file system a single call may read (a cluster chain that
/// loops ends there).
const BUDGET_FLOOR: u64 = 64 << 20;

pub struct OpenFile {
    dev: usize,
    /// Components from the root.
    path: Vec<String>,
    is_dir: bool,
    pos: u64,
    writable: bool,
}

#[derive(Default)]
pub struct Files {
    open: HashMap<u64, OpenFile>,
}

/// A budgeted read-write window on the partition.
struct Window<'a> {
    disk: &'a dyn FirmwareDisk,
    start: u64,
    len: u64,
    pos: u64,
    budget: Rc<Cell<u64>>,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos));
        let left = self.budget.get();
        if n.max(64) > left {
            return Err(io::Error::other("the FAT structures loop"));
        }
        self.budget.set(left - n.max(64));
        self.disk
            .read_at(self.start + self.pos, &mut buf[..n as usize])?;
        self.pos += n;
        Ok(n as usize)
    }
}

impl Write for Window<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos));
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::other("write past the end of the partition"));
        }
        self.disk
            .write_at(self.start + self.pos, &buf[..n as usize])?;
        self.pos += n;
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let p = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = p.ok_or_else(|| io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

type Fs<'a> = fatfs::FileSystem<Window<'a>>;

/// Runs `f` on the file system of block device `dev`.
fn with_fs<T>(u: &Uefi, dev: usize, f: impl FnOnce(&Fs) -> Result<T, Status>) -> Result<T, Status> {
    let d = &u.blocks[dev];
    let disk = u.disks[d.disk].disk.as_ref();
    let len = d.blocks * crate::image::SECTOR;
    let window = Window {
        disk,
        start: d.offset,
        len,
        pos: 0,
        budget: Rc::new(Cell::new(BUDGET_FLOOR + 2 * len)),
    };
    guard::contain("the FAT driver", || {
        let fs = fatfs::FileSystem::new(window, fatfs::FsOptions::new())
            .map_err(|_| status::VOLUME_CORRUPTED)?;
        f(&fs)
    })
    .unwrap_or(Err(status::VOLUME_CORRUPTED))
}

fn io_status(e: io::Error) -> Status {
    match e.kind() {
        io::ErrorKind::NotFound => status::NOT_FOUND,
        io::ErrorKind::AlreadyExists => status::ACCESS_DENIED,
        io::ErrorKind::InvalidInput => status::INVALID_PARAMETER,
        _ => status::DEVICE_ERROR,
    }
}

fn join(path: &[String]) -> String {
    path.join("/")
}

/// Reads a whole file (for LoadImage and the boot manager): `path` uses
/// backslashes, from the root.
pub fn read_file(u: &Uefi, dev: usize, path: &str) -> Result<Vec<u8>, (Status, String)> {
    let parts = split(&[], path).ok_or((status::NOT_FOUND, "bad path".to_string()))?;
    with_fs(u, dev, |fs| {
        let mut f = fs.root_dir().open_file(&join(&parts)).map_err(io_status)?;
        let mut data = Vec::new();
        f.read_to_end(&mut data).map_err(io_status)?;
        Ok(data)
    })
    .map_err(|s| {
        let why = match s {
            status::NOT_FOUND => "not found".to_string(),
            status::VOLUME_CORRUPTED => "the FAT file system is damaged".to_string(),
            s => status::name(s),
        };
        (s, why)
    })
}

/// `name` resolved against directory `base`: a leading backslash starts at
/// the root; "." and ".." are followed; None when ".." leaves the root.
fn split(base: &[String], name: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = if name.starts_with('\\') {
        Vec::new()
    } else {
        base.to_vec()
    };
    for c in name.split(['\\', '/']) {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c.to_string()),
        }
    }
    Some(parts)
}

/// A new EFI_FILE_PROTOCOL instance for `file`.
fn new_file(u: &mut Uefi, file: OpenFile) -> u64 {
    use Service as S;
    let table = u.service_table(
        &0x0001_0000u64.to_le_bytes(),
        &[
            S::FileOpen,
            S::FileClose,
            S::FileDelete,
            S::FileRead,
            S::FileWrite,
            S::FileGetPosition,
            S::FileSetPosition,
            S::FileGetInfo,
            S::FileSetInfo,
            S::FileFlush,
        ],
    );
    let at = u.alloc_bytes(&table);
    u.objects.insert(at, Object::File);
    u.files.open.insert(at, file);
    at
}

pub fn call(u: &mut Uefi, s: Service, g: &mut Guest) -> Ret {
    let this = g.arg(0)?;
    if s == Service::OpenVolume {
        let Some(Object::FileSystem(dev)) = u.object(this) else {
            return Err(status::INVALID_PARAMETER);
        };
        let out = g.arg(1)?;
        with_fs(u, dev, |_| Ok(()))?;
        let read_only = u.blocks[dev].read_only;
        let root = new_file(
            u,
            OpenFile {
                dev,
                path: Vec::new(),
                is_dir: true,
                pos: 0,
                writable: !read_only,
            },
        );
        g.write_u64(out, root)?;
        return ok();
    }
    if !u.files.open.contains_key(&this) {
        return Err(status::INVALID_PARAMETER);
    }
    match s {
        Service::FileOpen => open(u, g, this),
        Service::FileClose => {
            u.files.open.remove(&this);
            u.objects.remove(&this);
            ok()
        }
        Service::FileDelete => delete(u, this),
        Service::FileRead => read(u, g, this),
        Service::FileWrite => write(u, g, this),
        Service::FileGetPosition => {
            let f = &u.files.open[&this];
            if f.is_dir {
                return Err(status::UNSUPPORTED);
            }
            let (out, pos) = (g.arg(1)?, f.pos);
            g.write_u64(out, pos)?;
            ok()
        }
        Service::FileSetPosition => set_position(u, g, this),
        Service::FileGetInfo => get_info(u, g, this),
        Service::FileSetInfo => set_info(u, g, this),
        Service::FileFlush => {
            let dev = u.files.open[&this].dev;
            let d = &u.blocks[dev];
            u.disks[d.disk]
                .disk
                .flush()
                .map_err(|_| status::DEVICE_ERROR)?;
            ok()
        }
        _ => Err(status::UNSUPPORTED),
    }
}

fn ok() -> Ret {
    Ok(Reply::Status(status::SUCCESS))
}

fn open(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let (out, name_ptr, mode, attrs) = (g.arg(1)?, g.arg(2)?, g.arg(3)?, g.arg(4)?);
    if out == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    let name = String::from_utf16(&g.read_utf16(name_ptr)?).map_err(|_| status::NOT_FOUND)?;
    let valid_mode = matches!(
        mode,
        MODE_READ | 0x3 /* READ|WRITE */ | 0x8000_0000_0000_0003
    );
    if !valid_mode {
        return Err(status::INVALID_PARAMETER);
    }
    let parent = &u.files.open[&this];
    let dev = parent.dev;
    let path = split(&parent.path, &name).ok_or(status::NOT_FOUND)?;
    let wants_write = mode & MODE_WRITE != 0;
    if wants_write && u.blocks[dev].read_only {
        return Err(status::WRITE_PROTECTED);
    }
    let create = mode & MODE_CREATE != 0;
    let p = join(&path);
    let is_dir = with_fs(u, dev, |fs| {
        let root = fs.root_dir();
        if path.is_empty() {
            return Ok(true);
        }
        if root.open_dir(&p).is_ok() {
            return Ok(true);
        }
        match root.open_file(&p) {
            Ok(_) => Ok(false),
            Err(_) if create => {
                if attrs & ATTR_DIRECTORY != 0 {
                    root.create_dir(&p).map_err(io_status)?;
                    Ok(true)
                } else {
                    root.create_file(&p).map_err(io_status)?;
                    Ok(false)
                }
            }
            Err(e) => Err(io_status(e)),
        }
    })?;
    let file = new_file(
        u,
        OpenFile {
            dev,
            path,
            is_dir,
            pos: 0,
            writable: wants_write,
        },
    );
    g.write_u64(out, file)?;
    ok()
}

fn delete(u: &mut Uefi, this: u64) -> Ret {
    let f = u
        .files
        .open
        .remove(&this)
        .ok_or(status::INVALID_PARAMETER)?;
    u.objects.remove(&this);
    // EFI_WARN_DELETE_FAILURE when the file stays.
    const WARN_DELETE_FAILURE: Status = 2;
    if !f.writable || f.path.is_empty() {
        return Ok(Reply::Status(WARN_DELETE_FAILURE));
    }
    let p = join(&f.path);
    match with_fs(u, f.dev, |fs| fs.root_dir().remove(&p).map_err(io_status)) {
        Ok(()) => ok(),
        Err(_) => Ok(Reply::Status(WARN_DELETE_FAILURE)),
    }
}

fn read(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let (size_ptr, buf) = (g.arg(1)?, g.arg(2)?);
    let room = g.read_u64(size_ptr)?;
    let f = &u.files.open[&this];
    let (dev, p, pos) = (f.dev, join(&f.path), f.pos);
    if f.is_dir {
        // The next entry as EFI_FILE_INFO; size 0 at the end.
        let entry = with_fs(u, dev, |fs| {
            let dir = if p.is_empty() {
                fs.root_dir()
            } else {
                fs.root_dir().open_dir(&p).map_err(io_status)?
            };
            let e = dir.iter().nth(pos as usize);
            match e {
                None => Ok(None),
                Some(e) => Ok(Some(file_info(&e.map_err(io_status)?))),
            }
        })?;
        let Some(info) = entry else {
            g.write_u64(size_ptr, 0)?;
            return ok();
        };
        if room < info.len() as u64 {
            g.write_u64(size_ptr, info.len() as u64)?;
            return Err(status::BUFFER_TOO_SMALL);
        }
        g.write(buf, &info)?;
        g.write_u64(size_ptr, info.len() as u64)?;
        if let Some(f) = u.files.open.get_mut(&this) {
            f.pos += 1;
        }
        return ok();
    }
    let room = room.min(1 << 30);
    let data = with_fs(u, dev, |fs| {
        let mut file = fs.root_dir().open_file(&p).map_err(io_status)?;
        let len = file.seek(SeekFrom::End(0)).map_err(io_status)?;
        if pos > len {
            return Err(status::DEVICE_ERROR);
        }
        file.seek(SeekFrom::Start(pos)).map_err(io_status)?;
        let n = room.min(len - pos);
        let mut data = vec![0u8; n as usize];
        file.read_exact(&mut data).map_err(io_status)?;
        Ok(data)
    })?;
    if !data.is_empty() {
        g.write(buf, &data)?;
    }
    g.write_u64(size_ptr, data.len() as u64)?;
    if let Some(f) = u.files.open.get_mut(&this) {
        f.pos += data.len() as u64;
    }
    ok()
}

fn write(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let (size_ptr, buf) = (g.arg(1)?, g.arg(2)?);
    let f = &u.files.open[&this];
    if f.is_dir {
        return Err(status::UNSUPPORTED);
    }
    if !f.writable {
        return Err(status::ACCESS_DENIED);
    }
    let (dev, p, pos) = (f.dev, join(&f.path), f.pos);
    let size = g.read_u64(size_ptr)?;
    let data = g.read_vec(buf, size)?;
    with_fs(u, dev, |fs| {
        let mut file = fs.root_dir().open_file(&p).map_err(io_status)?;
        file.seek(SeekFrom::Start(pos)).map_err(io_status)?;
        file.write_all(&data).map_err(|_| status::VOLUME_FULL)?;
        file.flush().map_err(io_status)
    })?;
    if let Some(f) = u.files.open.get_mut(&this) {
        f.pos += size;
    }
    ok()
}

fn set_position(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let to = g.arg(1)?;
    let f = &u.files.open[&this];
    if f.is_dir {
        if to != 0 {
            return Err(status::UNSUPPORTED);
        }
    } else if to == u64::MAX {
        let (dev, p) = (f.dev, join(&f.path));
        let len = with_fs(u, dev, |fs| {
            let mut file = fs.root_dir().open_file(&p).map_err(io_status)?;
            file.seek(SeekFrom::End(0)).map_err(io_status)
        })?;
        if let Some(f) = u.files.open.get_mut(&this) {
            f.pos = len;
        }
        return ok();
    }
    if let Some(f) = u.files.open.get_mut(&this) {
        f.pos = to;
    }
    ok()
}

fn get_info(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let (type_ptr, size_ptr, buf) = (g.arg(1)?, g.arg(2)?, g.arg(3)?);
    let kind = g.read_guid(type_ptr)?;
    let room = g.read_u64(size_ptr)?;
    let f = &u.files.open[&this];
    let (dev, path) = (f.dev, f.path.clone());
    let read_only = u.blocks[dev].read_only;
    let info = if kind == guid::FILE_INFO {
        with_fs(u, dev, |fs| {
            if path.is_empty() {
                return Ok(root_info());
            }
            let (parent, name) = path.split_at(path.len() - 1);
            let dir = if parent.is_empty() {
                fs.root_dir()
            } else {
                fs.root_dir().open_dir(&join(parent)).map_err(io_status)?
            };
            for e in dir.iter() {
                let e = e.map_err(io_status)?;
                if e.file_name().eq_ignore_ascii_case(&name[0]) {
                    return Ok(file_info(&e));
                }
            }
            Err(status::NOT_FOUND)
        })?
    } else if kind == guid::FILE_SYSTEM_INFO || kind == guid::FILE_SYSTEM_VOLUME_LABEL {
        let (size, free, cluster, label) = with_fs(u, dev, |fs| {
            let stats = fs.stats().map_err(io_status)?;
            let c = u64::from(stats.cluster_size());
            Ok((
                c * u64::from(stats.total_clusters()),
                c * u64::from(stats.free_clusters()),
                stats.cluster_size(),
                fs.volume_label().trim_end().to_string(),
            ))
        })?;
        let label = utf16z(&label);
        if kind == guid::FILE_SYSTEM_VOLUME_LABEL {
            label
        } else {
            let mut b = vec![0u8; 36];
            b[0..8].copy_from_slice(&((36 + label.len()) as u64).to_le_bytes());
            b[8] = read_only as u8;
            b[16..24].copy_from_slice(&size.to_le_bytes());
            b[24..32].copy_from_slice(&free.to_le_bytes());
            b[32..36].copy_from_slice(&cluster.to_le_bytes());
            b.extend_from_slice(&label);
            b
        }
    } else {
        return Err(status::UNSUPPORTED);
    };
    g.write_u64(size_ptr, info.len() as u64)?;
    if room < info.len() as u64 {
        return Err(status::BUFFER_TOO_SMALL);
    }
    g.write(buf, &info)?;
    ok()
}

/// SetInfo: only a new FileSize (truncation or extension) of a file opened
/// for writing is supported; renames and attribute changes are refused.
fn set_info(u: &mut Uefi, g: &mut Guest, this: u64) -> Ret {
    let (type_ptr, size, buf) = (g.arg(1)?, g.arg(2)?, g.arg(3)?);
    let kind = g.read_guid(type_ptr)?;
    let f = &u.files.open[&this];
    if u.blocks[f.dev].read_only {
        return Err(status::WRITE_PROTECTED);
    }
    if kind != guid::FILE_INFO || size < FILE_INFO_HEADER as u64 || f.is_dir {
        return Err(status::UNSUPPORTED);
    }
    if !f.writable {
        return Err(status::ACCESS_DENIED);
    }
    let new_len = g.read_u64(buf + 8)?;
    let (dev, p) = (f.dev, join(&f.path));
    with_fs(u, dev, |fs| {
        let mut file = fs.root_dir().open_file(&p).map_err(io_status)?;
        let len = file.seek(SeekFrom::End(0)).map_err(io_status)?;
        if new_len < len {
            file.seek(SeekFrom::Start(new_len)).map_err(io_status)?;
            file.truncate().map_err(io_status)?;
        } else if new_len > len {
            let zeros = vec![0u8; (new_len - len).min(1 << 30) as usize];
            file.write_all(&zeros).map_err(|_| status::VOLUME_FULL)?;
        }
        file.flush().map_err(io_status)
    })?;
    ok()
}

fn efi_time(d: fatfs::DateTime) -> [u8; 16] {
    let mut t = [0u8; 16];
    t[0..2].copy_from_slice(&d.date.year.to_le_bytes());
    t[2] = d.date.month as u8;
    t[3] = d.date.day as u8;
    t[4] = d.time.hour as u8;
    t[5] = d.time.min as u8;
    t[6] = d.time.sec as u8;
    t[8..12].copy_from_slice(&(u32::from(d.time.millis) * 1_000_000).to_le_bytes());
    // TimeZone EFI_UNSPECIFIED_TIMEZONE.
    t[12..14].copy_from_slice(&0x07FFu16.to_le_bytes());
    t
}

fn info_bytes(name: &str, size: u64, times: [[u8; 16]; 3], attr: u64) -> Vec<u8> {
    let name = utf16z(name);
    let mut b = vec![0u8; FILE_INFO_HEADER];
    b[0..8].copy_from_slice(&((FILE_INFO_HEADER + name.len()) as u64).to_le_bytes());
    b[8..16].copy_from_slice(&size.to_le_bytes());
    b[16..24].copy_from_slice(&size.div_ceil(512).saturating_mul(512).to_le_bytes());
    for (i, t) in times.iter().enumerate() {
        b[24 + 16 * i..40 + 16 * i].copy_from_slice(t);
    }
    b[72..80].copy_from_slice(&attr.to_le_bytes());
    b.extend_from_slice(&name);
    b
}

fn file_info<T: fatfs::ReadWriteSeek>(e: &fatfs::DirEntry<T>) -> Vec<u8> {
    let a = e.attributes();
    let mut attr = 0;
    for (fat, efi) in [
        (fatfs::FileAttributes::READ_ONLY, ATTR_READ_ONLY),
        (fatfs::FileAttributes::HIDDEN, ATTR_HIDDEN),
        (fatfs::FileAttributes::SYSTEM, ATTR_SYSTEM),
        (fatfs::FileAttributes::DIRECTORY, ATTR_DIRECTORY),
        (fatfs::FileAttributes::ARCHIVE, ATTR_ARCHIVE),
    ] {
        if a.contains(fat) {
            attr |= efi;
        }
    }
    let accessed = fatfs::DateTime {
        date: e.accessed(),
        time: fatfs::Time {
            hour: 0,
            min: 0,
            sec: 0,
            millis: 0,
        },
    };
    let size = if e.is_dir() { 0 } else { e.len() };
    info_bytes(
        &e.file_name(),
        size,
        [
            efi_time(e.created()),
            efi_time(accessed),
            efi_time(e.modified()),
        ],
        attr,
    )
}

fn root_info() -> Vec<u8> {
    info_bytes("", 0, [[0; 16]; 3], ATTR_DIRECTORY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_uefi() {
        let base = vec!["EFI".to_string()];
        assert_eq!(
            split(&base, "BOOT\\BOOTAA64.EFI").unwrap(),
            vec!["EFI", "BOOT", "BOOTAA64.EFI"]
        );
        assert_eq!(split(&base, "\\loader\\..\\x").unwrap(), vec!["x"]);
        assert_eq!(split(&base, ".").unwrap(), vec!["EFI"]);
        assert_eq!(split(&[], ".."), None);
    }

    #[test]
    fn file_info_layout() {
        let b = info_bytes("a", 10, [[0; 16]; 3], ATTR_ARCHIVE);
        assert_eq!(b.len(), FILE_INFO_HEADER + 4);
        assert_eq!(u64::from_le_bytes(b[0..8].try_into().unwrap()), 84);
        assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 10);
        assert_eq!(
            u64::from_le_bytes(b[72..80].try_into().unwrap()),
            ATTR_ARCHIVE
        );
    }
}
