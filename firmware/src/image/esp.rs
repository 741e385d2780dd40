//! Reading the EFI System Partition through the `fatfs` driver, safely: the boot
//! sector is checked first ([`Bpb::parse`]), the driver sees the partition through
//! a read-only window that charges every read against a budget (so a cycle in a
//! cluster chain ends with an error instead of looping for ever), directory walks
//! are bounded in depth and entries, and each driver call is guarded against
//! panics.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use super::fat::Bpb;
use super::{guard, Disk};

/// Bytes the driver may read for one directory walk or lookup.
pub const WALK_BUDGET: u64 = 32 << 20;
/// Directory levels a walk descends.
pub const MAX_DEPTH: usize = 16;
/// Entries a walk lists.
pub const MAX_ENTRIES: usize = 10_000;
/// Every read costs at least this much budget, so that tiny reads add up too.
const MIN_READ_COST: u64 = 64;

/// A read-only, budgeted window on the partition, as the driver's block device.
struct Window<'a> {
    disk: &'a dyn Disk,
    start: u64,
    len: u64,
    pos: u64,
    budget: Rc<Cell<u64>>,
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget.get();
        let want = (buf.len() as u64).min(self.len.saturating_sub(self.pos));
        let cost = want.max(MIN_READ_COST);
        if cost > left {
            self.budget.set(0);
            return Err(io::Error::other(
                "read budget exhausted: the FAT structures loop (a cycle in a cluster chain?)",
            ));
        }
        self.budget.set(left - cost);
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .disk
            .read_at(self.start + self.pos, &mut buf[..want as usize])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for Window<'_> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the image is opened read-only",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek out of range",
            )),
        }
    }
}

type Fs<'a> = fatfs::FileSystem<Window<'a>>;

/// A file or directory in the ESP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// `\EFI\BOOT\BOOTAA64.EFI`
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
}

/// The ESP's files, and why the listing may be incomplete.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub problems: Vec<String>,
}

/// A FAT partition of a disk image, opened for reading.
pub struct Esp<'a> {
    disk: &'a dyn Disk,
    start: u64,
    len: u64,
    pub bpb: Bpb,
}

impl<'a> Esp<'a> {
    /// Checks the boot sector of the partition at `start` (`len` bytes).
    pub fn open(disk: &'a dyn Disk, start: u64, len: u64) -> Result<Esp<'a>, String> {
        let mut sector = [0u8; 512];
        match disk.read_full(start, &mut sector) {
            Ok(512) => {}
            Ok(_) => return Err("the partition's first sector is past the end of the image".into()),
            Err(e) => return Err(format!("cannot read the partition: {e}")),
        }
        let bpb = Bpb::parse(&sector, len)?;
        Ok(Esp {
            disk,
            start,
            len,
            bpb,
        })
    }

    /// Mounts the file system with `budget` bytes of reads and runs `f` on it,
    /// under the panic guard.
    fn with_fs<T>(
        &self,
        budget: u64,
        f: impl FnOnce(&Fs<'a>) -> Result<T, String>,
    ) -> Result<T, String> {
        let window = Window {
            disk: self.disk,
            start: self.start,
            len: self.len,
            pos: 0,
            budget: Rc::new(Cell::new(budget)),
        };
        guard::contain("the FAT driver", move || {
            let fs = fatfs::FileSystem::new(window, fatfs::FsOptions::new())
                .map_err(|e| format!("cannot mount the FAT file system: {e}"))?;
            f(&fs)
        })?
    }

    /// Lists every file and directory (bounded by [`MAX_DEPTH`] and
    /// [`MAX_ENTRIES`]).
    pub fn walk(&self) -> Tree {
        let mut tree = Tree::default();
        let result = self.with_fs(WALK_BUDGET, |fs| {
            walk_dir(&fs.root_dir(), "", 0, &mut tree);
            Ok(())
        });
        if let Err(e) = result {
            tree.problems.push(e);
        }
        tree
    }

    /// Looks `path` up (components compared without regard to case, as UEFI
    /// does): Ok(None) when it is not there.
    pub fn find(&self, path: &[&str]) -> Result<Option<Node>, String> {
        self.with_fs(WALK_BUDGET, |fs| {
            Ok(lookup(fs, path)?.map(|e| Node {
                path: display_path(path),
                is_dir: e.is_dir(),
                size: e.len(),
            }))
        })
    }

    /// Reads the file at `path`, which must be at most `cap` bytes.
    pub fn read_file(&self, path: &[&str], cap: u64) -> Result<Vec<u8>, String> {
        self.with_fs(WALK_BUDGET + 2 * cap, |fs| {
            let entry = lookup(fs, path)?.ok_or_else(|| format!("{} is not there", display_path(path)))?;
            if entry.is_dir() {
                return Err(format!("{} is a directory", display_path(path)));
            }
            let size = entry.len();
            if size > cap {
                return Err(format!(
                    "{} is {size} bytes, more than armvm reads ({cap})",
                    display_path(path)
                ));
            }
            let mut data = Vec::with_capacity(size as usize);
            entry
                .to_file()
                .take(size)
                .read_to_end(&mut data)
                .map_err(|e| format!("reading {}: {e}", display_path(path)))?;
            if (data.len() as u64) < size {
                return Err(format!(
                    "{} is {size} bytes by its directory entry, but its cluster chain holds only {}",
                    display_path(path),
                    data.len()
                ));
            }
            Ok(data)
        })
    }
}

/// `["EFI", "BOOT"]` → `\EFI\BOOT`.
pub fn display_path(path: &[&str]) -> String {
    path.iter().map(|c| format!("\\{c}")).collect()
}

fn lookup<'b, 'a>(
    fs: &'b Fs<'a>,
    path: &[&str],
) -> Result<Option<fatfs::DirEntry<'b, Window<'a>>>, String> {
    let mut dir = fs.root_dir();
    for (i, want) in path.iter().enumerate() {
        let mut found = None;
        for (n, entry) in dir.iter().enumerate() {
            if n >= MAX_ENTRIES {
                return Err(format!(
                    "{} has more than {MAX_ENTRIES} entries (a loop?)",
                    display_path(&path[..i])
                ));
            }
            let entry = entry.map_err(|e| format!("reading {}: {e}", display_path(&path[..i])))?;
            if entry.file_name().eq_ignore_ascii_case(want)
                || entry.short_file_name().eq_ignore_ascii_case(want)
            {
                found = Some(entry);
                break;
            }
        }
        let Some(entry) = found else {
            return Ok(None);
        };
        if i + 1 == path.len() {
            return Ok(Some(entry));
        }
        if !entry.is_dir() {
            return Ok(None);
        }
        dir = entry.to_dir();
    }
    Ok(None)
}

fn walk_dir<T: fatfs::ReadWriteSeek>(
    dir: &fatfs::Dir<T>,
    prefix: &str,
    depth: usize,
    tree: &mut Tree,
) {
    for entry in dir.iter() {
        if tree.nodes.len() >= MAX_ENTRIES {
            tree.problems.push(format!(
                "the listing stops after {MAX_ENTRIES} entries (a loop?)"
            ));
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                tree.problems.push(format!(
                    "reading directory {}: {e}",
                    if prefix.is_empty() { "\\" } else { prefix }
                ));
                return;
            }
        };
        let name = entry.file_name();
        if name == "." || name == ".." {
            continue;
        }
        let path = format!("{prefix}\\{name}");
        let is_dir = entry.is_dir();
        tree.nodes.push(Node {
            path: path.clone(),
            is_dir,
            size: if is_dir { 0 } else { entry.len() },
        });
        if is_dir {
            if depth + 1 >= MAX_DEPTH {
                tree.problems.push(format!(
                    "{path}: directories nested deeper than {MAX_DEPTH} levels (a loop?)"
                ));
                continue;
            }
            walk_dir(&entry.to_dir(), &path, depth + 1, tree);
        }
    }
}
