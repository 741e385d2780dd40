//! Disk images behind virtio-blk: options as given on the command line, opening
//! (raw or qcow2, through the `imago` crate), QEMU-compatible locking, and I/O.
//!
//! Locking follows QEMU's scheme (block/file-posix.c) so that armvm and QEMU see
//! each other: one-byte OFD read locks at 100 + i for each permission i held, and
//! at 200 + i for each permission not shared with others (permission bits:
//! consistent read 0, write 1, write-unchanged 2, resize 3). After taking its own
//! bytes, an opener looks for other holders of the bytes that conflict. A writer
//! therefore refuses an image another writer (armvm or QEMU) holds, and a
//! read-only user refuses an image someone writes.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use imago::file::File as ImagoFile;
use imago::qcow2::Qcow2;
use imago::raw::Raw;
use imago::{FormatAccess, FormatDriverBuilder, PermissiveImplicitOpenGate, StorageOpenOptions};

/// `format=`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Raw,
    Qcow2,
}

/// `cache=`, with QEMU's meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// The host page cache; a guest flush reaches stable storage (fsync).
    Writeback,
    /// O_DIRECT, bypassing the host page cache; flushes as for writeback.
    None,
    /// Guest flushes are ignored (fast, for throw-away images).
    Unsafe,
}

/// One `--disk` option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskOptions {
    pub path: PathBuf,
    pub format: Format,
    pub readonly: bool,
    pub cache: Cache,
    /// Reported by GET_ID (at most 20 bytes).
    pub serial: Option<String>,
}

impl std::str::FromStr for DiskOptions {
    type Err = String;
    /// `FILE[,format=raw|qcow2][,readonly=on|off][,cache=writeback|none|unsafe][,serial=STR]`
    fn from_str(s: &str) -> Result<DiskOptions, String> {
        let mut parts = s.split(',');
        let path = parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or("no file given")?;
        let mut d = DiskOptions {
            path: PathBuf::from(path),
            format: Format::Raw,
            readonly: false,
            cache: Cache::Writeback,
            serial: None,
        };
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not KEY=VALUE"))?;
            match (key, value) {
                ("format", "raw") => d.format = Format::Raw,
                ("format", "qcow2") => d.format = Format::Qcow2,
                ("readonly", "on" | "true" | "yes") => d.readonly = true,
                ("readonly", "off" | "false" | "no") => d.readonly = false,
                ("cache", "writeback") => d.cache = Cache::Writeback,
                ("cache", "none") => d.cache = Cache::None,
                ("cache", "unsafe") => d.cache = Cache::Unsafe,
                ("serial", v) if v.len() <= 20 && v.is_ascii() => d.serial = Some(v.to_string()),
                ("serial", _) => return Err("serial= takes at most 20 ASCII characters".into()),
                _ => return Err(format!("unknown disk option '{part}'")),
            }
        }
        Ok(d)
    }
}

/// Why an image cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot open disk image {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("disk image {} is in use by another program (armvm or QEMU); {why}", path.display())]
    Locked { path: PathBuf, why: String },
    #[error("{} is not a usable {format} image", path.display())]
    Format {
        path: PathBuf,
        format: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{} is an encrypted qcow2 image; armvm does not support encryption", path.display())]
    Encrypted { path: PathBuf },
    #[error("{} is not a qcow2 image (use format=raw for raw images)", path.display())]
    NotQcow2 { path: PathBuf },
}

/// An open, locked disk image.
pub struct DiskImage {
    access: FormatAccess<ImagoFile>,
    pub options: DiskOptions,
}

// QEMU's block permissions (include/block/block-common.h) and lock byte bases.
const PERM_CONSISTENT_READ: u32 = 0x1;
const PERM_WRITE: u32 = 0x2;
const PERM_RESIZE: u32 = 0x8;
const PERM_ALL: u32 = 0xf;
const LOCK_HELD_BASE: i64 = 100;
const LOCK_UNSHARED_BASE: i64 = 200;

impl DiskImage {
    pub fn open(options: &DiskOptions) -> Result<DiskImage, ImageError> {
        let path = &options.path;
        let writable = !options.readonly;
        // As QEMU's file driver: a directory (which opens read-only) or a FIFO
        // (whose open would block) is no disk.
        let kind = std::fs::metadata(path)
            .map_err(|source| ImageError::Open {
                path: path.clone(),
                source,
            })?
            .file_type();
        if !(kind.is_file() || std::os::unix::fs::FileTypeExt::is_block_device(&kind)) {
            return Err(ImageError::Open {
                path: path.clone(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file or a block device",
                ),
            });
        }
        let mut open = OpenOptions::new();
        open.read(true).write(writable);
        if options.cache == Cache::None {
            open.custom_flags(libc::O_DIRECT);
        }
        let file = open.open(path).map_err(|source| ImageError::Open {
            path: path.clone(),
            source,
        })?;
        if options.format == Format::Qcow2 {
            check_qcow2_header(&file, path)?;
        }
        // Writers hold read+write (+resize for qcow2, which grows its file) and
        // share neither; read-only users hold read and do not share write.
        let (held, unshared) = match (writable, options.format) {
            (true, Format::Raw) => (PERM_CONSISTENT_READ | PERM_WRITE, PERM_WRITE),
            (true, Format::Qcow2) => (
                PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE,
                PERM_WRITE | PERM_RESIZE,
            ),
            (false, _) => (PERM_CONSISTENT_READ, PERM_WRITE),
        };
        lock_like_qemu(&file, held, unshared).map_err(|why| ImageError::Locked {
            path: path.clone(),
            why,
        })?;
        let storage_options = StorageOpenOptions::new()
            .write(writable)
            .direct(options.cache == Cache::None)
            .filename(path.clone());
        let format_error = |source| ImageError::Format {
            path: path.clone(),
            format: match options.format {
                Format::Raw => "raw",
                Format::Qcow2 => "qcow2",
            },
            source,
        };
        let storage = ImagoFile::from_open_file(file, storage_options).map_err(format_error)?;
        let access = match options.format {
            Format::Raw => FormatAccess::new(
                Raw::<ImagoFile>::builder(storage)
                    .write(writable)
                    .open(PermissiveImplicitOpenGate::default())
                    .map_err(format_error)?,
            ),
            // Backing files are opened (read-only) through the locking gate.
            Format::Qcow2 => FormatAccess::new(
                Qcow2::<ImagoFile>::builder(storage)
                    .write(writable)
                    .open(LockingGate)
                    .map_err(format_error)?,
            ),
        };
        Ok(DiskImage {
            access,
            options: options.clone(),
        })
    }

    /// Virtual size in bytes.
    pub fn size(&self) -> u64 {
        self.access.size()
    }
}

/// The I/O a virtio-blk device needs from its disk (a trait so that request
/// handling can be tested and fuzzed against memory).
pub trait Disk: Send {
    fn size(&self) -> u64;
    fn read_only(&self) -> bool;
    fn serial(&self) -> Option<&str>;
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Everything written so far is on stable storage.
    fn flush(&mut self) -> io::Result<()>;
    fn write_zeroes(&mut self, offset: u64, len: u64) -> io::Result<()>;
    /// A hint: the range is no longer needed (reads may return anything).
    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()>;
}

impl Disk for DiskImage {
    fn size(&self) -> u64 {
        self.access.size()
    }
    fn read_only(&self) -> bool {
        self.options.readonly
    }
    fn serial(&self) -> Option<&str> {
        self.options.serial.as_deref()
    }
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.access.read(buf, offset)
    }
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.access.write(buf, offset)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.options.cache == Cache::Unsafe || self.options.readonly {
            return Ok(());
        }
        self.access.flush()?;
        self.access.sync()
    }
    fn write_zeroes(&mut self, offset: u64, len: u64) -> io::Result<()> {
        self.access.write_zeroes(offset, len)
    }
    fn discard(&mut self, offset: u64, len: u64) -> io::Result<()> {
        match self.access.discard_to_any(offset, len) {
            // Discard is advisory (qcow2 v2 cannot).
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
            r => r,
        }
    }
}

/// Opens the files a qcow2 image refers to (backing files, external data
/// files) with QEMU's locks, as QEMU does: a reader that lets nobody write or
/// resize them underneath it, a writer (a data file) that also holds write.
#[derive(Clone, Copy)]
struct LockingGate;

impl imago::format::gate::ImplicitOpenGate<ImagoFile> for LockingGate {
    fn open_format<F: FormatDriverBuilder<ImagoFile>>(
        &mut self,
        builder: F,
    ) -> io::Result<FormatAccess<ImagoFile>> {
        Ok(FormatAccess::new(builder.open(LockingGate)?))
    }

    fn open_storage(&mut self, options: StorageOpenOptions) -> io::Result<ImagoFile> {
        let path = options
            .get_filename()
            .ok_or_else(|| io::Error::other("a referenced file has no name"))?
            .to_path_buf();
        let writable = options.get_writable();
        let mut open = OpenOptions::new();
        open.read(true).write(writable);
        if options.get_direct() {
            open.custom_flags(libc::O_DIRECT);
        }
        let file = open.open(&path)?;
        let held = PERM_CONSISTENT_READ | if writable { PERM_WRITE } else { 0 };
        lock_like_qemu(&file, held, PERM_WRITE | PERM_RESIZE).map_err(|why| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is in use by another program; {why}", path.display()),
            )
        })?;
        ImagoFile::from_open_file(file, options)
    }
}

/// Refuses what imago would open but armvm cannot serve correctly: files that
/// are not qcow2, and encrypted images (whose data the guest would see as
/// ciphertext).
fn check_qcow2_header(file: &std::fs::File, path: &Path) -> Result<(), ImageError> {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; 36];
    let n = file.read_at(&mut header, 0).unwrap_or(0);
    if n < header.len() || &header[..4] != b"QFI\xfb" {
        return Err(ImageError::NotQcow2 {
            path: path.to_path_buf(),
        });
    }
    let crypt_method = u32::from_be_bytes(header[32..36].try_into().unwrap());
    if crypt_method != 0 {
        return Err(ImageError::Encrypted {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn ofd_lock(file: &std::fs::File, cmd: i32, kind: i32, byte: i64) -> io::Result<libc::flock> {
    // SAFETY: a zeroed flock is a valid value; fcntl gets a valid fd and pointer.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = byte;
    fl.l_len = 1;
    // SAFETY: see above.
    if unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fl)
}

/// Takes QEMU's lock bytes for permissions `held`, not sharing `unshared`, then
/// checks that nobody else conflicts. The locks live as long as the file.
fn lock_like_qemu(file: &std::fs::File, held: u32, unshared: u32) -> Result<(), String> {
    for i in 0..4 {
        let bit = 1 << i;
        for (take, base) in [
            (held & bit != 0, LOCK_HELD_BASE),
            (unshared & bit != 0, LOCK_UNSHARED_BASE),
        ] {
            if take {
                ofd_lock(file, libc::F_OFD_SETLK, libc::F_RDLCK, base + i as i64)
                    .map_err(|e| format!("cannot lock it: {e}"))?;
            }
        }
    }
    let shared = PERM_ALL & !unshared;
    for i in 0..4 {
        let bit = 1 << i;
        // Someone refuses to share what we hold, or holds what we refuse to share.
        for (check, base) in [
            (held & bit != 0, LOCK_UNSHARED_BASE),
            (shared & bit == 0, LOCK_HELD_BASE),
        ] {
            if !check {
                continue;
            }
            let fl = ofd_lock(file, libc::F_OFD_GETLK, libc::F_WRLCK, base + i as i64)
                .map_err(|e| format!("cannot check its locks: {e}"))?;
            if fl.l_type != libc::F_UNLCK as _ {
                let what = if bit == PERM_WRITE { "write" } else { "a" };
                return Err(format!(
                    "{what} lock is held on it (byte {})",
                    base + i as i64
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_options_parse_like_the_command_line() {
        let d: DiskOptions = "a.img".parse().unwrap();
        assert_eq!(
            (d.format, d.readonly, d.cache, d.serial),
            (Format::Raw, false, Cache::Writeback, None)
        );
        let d: DiskOptions = "/x/b.qcow2,format=qcow2,readonly=on,cache=unsafe,serial=abc"
            .parse()
            .unwrap();
        assert_eq!(d.path, PathBuf::from("/x/b.qcow2"));
        assert_eq!(
            (d.format, d.readonly, d.cache),
            (Format::Qcow2, true, Cache::Unsafe)
        );
        assert_eq!(d.serial.as_deref(), Some("abc"));
        for bad in [
            "",
            ",format=raw",
            "a,format=vmdk",
            "a,readonly",
            "a,serial=123456789012345678901",
            "a,bogus=1",
        ] {
            assert!(bad.parse::<DiskOptions>().is_err(), "{bad}");
        }
    }

    fn scratch(name: &str, len: u64) -> PathBuf {
        let p = std::env::temp_dir().join(format!("armvm-image-{}-{name}", std::process::id()));
        std::fs::write(&p, vec![0u8; len as usize]).unwrap();
        p
    }

    #[test]
    fn a_writer_excludes_other_writers_and_readers_but_readers_share() {
        let path = scratch("lock", 1 << 20);
        let opts = |readonly| DiskOptions {
            readonly,
            ..DiskOptions::from_str(path.to_str().unwrap()).unwrap()
        };
        use std::str::FromStr;
        {
            let _w = DiskImage::open(&opts(false)).unwrap();
            for readonly in [false, true] {
                match DiskImage::open(&opts(readonly)) {
                    Err(ImageError::Locked { .. }) => {}
                    other => panic!("second open (readonly {readonly}) got {:?}", other.err()),
                }
            }
        }
        let r1 = DiskImage::open(&opts(true)).unwrap();
        let _r2 = DiskImage::open(&opts(true)).unwrap();
        assert!(matches!(
            DiskImage::open(&opts(false)),
            Err(ImageError::Locked { .. })
        ));
        drop(r1);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn qcow2_overlays_read_their_backing_file_and_lock_it() {
        use std::str::FromStr;
        let base = scratch("base.raw", 1 << 20);
        std::fs::write(&base, vec![0x5a; 1 << 20]).unwrap();
        let overlay = base.with_extension("qcow2");
        let made = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(&base)
            .arg(&overlay)
            .status()
            .expect("qemu-img (scripts/setup.sh installs qemu-utils)");
        assert!(made.success());
        let spec = format!("{},format=qcow2", overlay.display());
        let mut img = DiskImage::open(&DiskOptions::from_str(&spec).unwrap()).unwrap();
        let mut b = [0; 512];
        img.read_at(&mut b, 4096).unwrap();
        assert_eq!(b, [0x5a; 512], "data comes from the backing file");
        img.write_at(&[1; 512], 4096).unwrap();
        img.flush().unwrap();
        img.read_at(&mut b, 4096).unwrap();
        assert_eq!(b, [1; 512]);
        // The backing file is locked against writers while the overlay is open.
        let base_rw = DiskOptions::from_str(base.to_str().unwrap()).unwrap();
        assert!(matches!(
            DiskImage::open(&base_rw),
            Err(ImageError::Locked { .. })
        ));
        drop(img);
        assert_eq!(
            std::fs::read(&base).unwrap()[4096],
            0x5a,
            "writes go to the overlay"
        );
        drop(DiskImage::open(&base_rw).unwrap());
        std::fs::remove_file(&base).unwrap();
        std::fs::remove_file(&overlay).unwrap();
    }

    #[test]
    fn raw_images_read_write_and_refuse_bad_qcow2() {
        use std::str::FromStr;
        let path = scratch("rw", 1 << 20);
        let mut img =
            DiskImage::open(&DiskOptions::from_str(path.to_str().unwrap()).unwrap()).unwrap();
        assert_eq!(img.size(), 1 << 20);
        img.write_at(&[0xab; 512], 4096).unwrap();
        img.flush().unwrap();
        let mut b = [0; 512];
        img.read_at(&mut b, 4096).unwrap();
        assert_eq!(b, [0xab; 512]);
        img.write_zeroes(4096, 512).unwrap();
        img.read_at(&mut b, 4096).unwrap();
        assert_eq!(b, [0; 512]);
        assert!(img.write_at(&[0; 512], 1 << 20).is_err(), "past the end");
        drop(img);
        let q = DiskOptions::from_str(&format!("{},format=qcow2", path.display())).unwrap();
        assert!(matches!(
            DiskImage::open(&q),
            Err(ImageError::NotQcow2 { .. })
        ));
        let missing = DiskOptions::from_str("/nonexistent/armvm.img").unwrap();
        assert!(matches!(
            DiskImage::open(&missing),
            Err(ImageError::Open { .. })
        ));
        std::fs::remove_file(&path).unwrap();
    }
}
