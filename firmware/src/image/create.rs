//! `armvm image create`: a raw GPT disk image (512-byte sectors, partitions on
//! 1 MiB boundaries) whose first partition is a FAT32 EFI System Partition with
//! the boot program at the removable-media path, followed by partitions filled
//! from file system images (an ext4 root made by `mke2fs`, say).
//!
//! The protective MBR and both GPT copies are written by the `gpt` crate, the ESP
//! by `fatfs`. The image is built in a temporary file beside the output and renamed
//! into place, so a failed run leaves nothing behind.

use std::fmt::Debug;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::fat::FatKind;
use super::guid::{self, GuidSource};
use super::{human_size, pe, Arch, ImageError, ALIGN, SECTOR};

/// The default ESP size: room for GRUB or a kernel, and above FAT32's minimum.
pub const DEFAULT_ESP_SIZE: u64 = 64 << 20;
/// FAT32 needs 65525 clusters: with 512-byte clusters, about 33 MiB.
pub const MIN_FAT32_ESP: u64 = 33 << 20;
/// Space after the last partition, for the backup GPT.
const TAIL: u64 = ALIGN;
/// The largest image `create` makes (the `gpt` crate and FAT need LBAs to fit).
pub const MAX_IMAGE: u64 = 1 << 50;
/// The largest boot program `create` reads to verify it.
const MAX_EFI: u64 = 256 << 20;

/// Where a file's contents come from.
#[derive(Clone, Debug)]
pub enum Source {
    Host(PathBuf),
    Bytes(Vec<u8>),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Host(p) => p.display().to_string(),
            Source::Bytes(_) => "(data)".into(),
        }
    }

    fn len(&self) -> Result<u64, ImageError> {
        match self {
            Source::Host(p) => {
                let meta = std::fs::metadata(p).map_err(|e| io_err(p, e))?;
                if !meta.is_file() {
                    return Err(ImageError::Invalid(format!(
                        "{}: not a regular file",
                        p.display()
                    )));
                }
                Ok(meta.len())
            }
            Source::Bytes(b) => Ok(b.len() as u64),
        }
    }

    fn open(&self) -> Result<Box<dyn Read + '_>, ImageError> {
        match self {
            Source::Host(p) => Ok(Box::new(std::fs::File::open(p).map_err(|e| io_err(p, e))?)),
            Source::Bytes(b) => Ok(Box::new(b.as_slice())),
        }
    }

    fn read_all(&self, cap: u64) -> Result<Vec<u8>, ImageError> {
        let mut data = Vec::new();
        self.open()?
            .take(cap + 1)
            .read_to_end(&mut data)
            .map_err(|e| self.error(e))?;
        Ok(data)
    }

    fn error(&self, e: io::Error) -> ImageError {
        match self {
            Source::Host(p) => io_err(p, e),
            Source::Bytes(_) => ImageError::Invalid(format!("reading data: {e}")),
        }
    }
}

fn io_err(path: &Path, source: io::Error) -> ImageError {
    ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A partition after the ESP.
#[derive(Clone, Debug)]
pub struct ExtraPartition {
    pub source: Source,
    pub type_guid: Uuid,
}

/// What to put in the image.
#[derive(Clone, Debug)]
pub struct CreateOptions {
    /// The boot program, stored as `\EFI\BOOT\BOOTAA64.EFI` (`BOOTARM.EFI`).
    pub efi: Source,
    pub arch: Arch,
    /// More files for the ESP: (path in the ESP, contents).
    pub files: Vec<(String, Source)>,
    /// Host directories copied into the ESP: (host directory, path in the ESP).
    pub dirs: Vec<(PathBuf, String)>,
    pub esp_size: u64,
    /// The whole image's size; by default just what the partitions need.
    pub size: Option<u64>,
    pub partitions: Vec<ExtraPartition>,
    /// Derive the GUIDs and the volume ID from this seed, and stamp files with a
    /// fixed date: the same options then make the same image.
    pub seed: Option<u64>,
    /// FAT32 as the specification says; the tests make small FAT12/16 ESPs.
    pub esp_fat: FatKind,
    /// Refuse a boot program that is not a UEFI application for `arch`.
    pub verify_efi: bool,
}

impl CreateOptions {
    pub fn new(efi: Source) -> CreateOptions {
        CreateOptions {
            efi,
            arch: Arch::Aarch64,
            files: Vec::new(),
            dirs: Vec::new(),
            esp_size: DEFAULT_ESP_SIZE,
            size: None,
            partitions: Vec::new(),
            seed: None,
            esp_fat: FatKind::Fat32,
            verify_efi: true,
        }
    }
}

/// Partition placement: (first LBA, sectors) for the ESP and each extra partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub total_sectors: u64,
    pub parts: Vec<(u64, u64)>,
}

/// Places partitions of the given byte sizes one after the other on 1 MiB
/// boundaries, each rounded up to whole MiB, starting at 1 MiB; the image ends
/// 1 MiB after the last (room for the backup GPT) unless `requested` is larger.
pub fn plan(sizes: &[u64], requested: Option<u64>) -> Result<Layout, String> {
    let align = ALIGN / SECTOR;
    let mut next = align;
    let mut parts = Vec::new();
    for &bytes in sizes {
        let sectors = bytes
            .checked_next_multiple_of(ALIGN)
            .filter(|&b| b > 0 && b <= MAX_IMAGE)
            .ok_or_else(|| format!("a partition of {bytes} bytes is not possible"))?
            / SECTOR;
        parts.push((next, sectors));
        next += sectors;
    }
    let needed = (next * SECTOR)
        .checked_add(TAIL)
        .filter(|&b| b <= MAX_IMAGE)
        .ok_or("the partitions are too large")?;
    let total = match requested {
        None => needed,
        Some(r) if r % SECTOR != 0 => {
            return Err(format!("--size {r} is not a multiple of {SECTOR} bytes"))
        }
        Some(r) if r < needed => {
            return Err(format!(
                "--size {} is too small: the partitions need {} ({needed} bytes)",
                human_size(r),
                human_size(needed)
            ))
        }
        Some(r) if r > MAX_IMAGE => return Err(format!("--size {} is too large", human_size(r))),
        Some(r) => r,
    };
    Ok(Layout {
        total_sectors: total / SECTOR,
        parts,
    })
}

/// Splits a path in the ESP (`\EFI\debian\grub.cfg` or `EFI/debian/grub.cfg`)
/// into components.
pub fn esp_path(dest: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = dest
        .split(['/', '\\'])
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    if parts.is_empty() {
        return Err(format!("{dest:?} names no file in the ESP"));
    }
    if let Some(bad) = parts.iter().find(|c| *c == "." || *c == "..") {
        return Err(format!("{dest:?}: {bad:?} is not allowed in an ESP path"));
    }
    if let Some(bad) = parts
        .iter()
        .find(|c| c.len() > 255 || c.chars().any(|ch| ch < ' ' || "\"*:<>?|".contains(ch)))
    {
        return Err(format!("{dest:?}: {bad:?} is not a valid FAT file name"));
    }
    Ok(parts)
}

/// `--file SRC:DEST` / `--dir SRC:DEST` (split at the last colon). A DEST ending
/// in a separator (for --file) means "in this directory, under SRC's name".
pub fn parse_src_dest(arg: &str, is_dir: bool) -> Result<(PathBuf, String), String> {
    let (src, dest) = arg
        .rsplit_once(':')
        .filter(|(s, d)| !s.is_empty() && !d.is_empty())
        .ok_or_else(|| {
            format!(
                "{arg:?}: expected SRC:DEST (DEST is a path in the ESP, e.g. EFI/debian/grub.cfg)"
            )
        })?;
    let mut dest = dest.to_string();
    if !is_dir && (dest.ends_with('/') || dest.ends_with('\\')) {
        let name = Path::new(src)
            .file_name()
            .ok_or_else(|| format!("{arg:?}: SRC has no file name"))?;
        dest.push_str(&name.to_string_lossy());
    }
    if !is_dir {
        esp_path(&dest)?;
    }
    Ok((PathBuf::from(src), dest))
}

/// `--partition FILE[:TYPE]`: TYPE is a short name (see [`guid::PART_TYPES`]) or a
/// GUID; without one, Linux filesystem.
pub fn parse_partition(arg: &str) -> Result<(PathBuf, Uuid), String> {
    if let Some((file, ty)) = arg.rsplit_once(':') {
        if let Some(g) = guid::parse_type(ty) {
            if file.is_empty() {
                return Err(format!("{arg:?}: no FILE before the type"));
            }
            return Ok((PathBuf::from(file), g));
        }
        if !Path::new(arg).exists() {
            return Err(format!(
                "{arg:?}: unknown partition type {ty:?} (a GUID or one of: {})",
                guid::type_aliases()
            ));
        }
    }
    Ok((PathBuf::from(arg), guid::LINUX_FS))
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Summary {
    pub bytes: u64,
    pub disk_guid: Uuid,
    /// (index, name, type GUID, unique GUID, first LBA, last LBA)
    pub partitions: Vec<(u32, String, Uuid, Uuid, u64, u64)>,
    pub esp_files: usize,
}

/// Writes the image to `out` (through a temporary file in the same directory).
pub fn create(out: &Path, opts: &CreateOptions) -> Result<Summary, ImageError> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| ImageError::Invalid(format!("{}: not a file name", out.display())))?;
    let tmp = dir.join(format!(
        ".{}.armvm-tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err(out, e))?;
    let result = build_file(file, &tmp, opts).and_then(|summary| {
        std::fs::rename(&tmp, out).map_err(|e| io_err(out, e))?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn build_file(
    file: std::fs::File,
    path: &Path,
    opts: &CreateOptions,
) -> Result<Summary, ImageError> {
    let (file, summary) =
        build(file, opts, |f: &mut std::fs::File, len| f.set_len(len)).map_err(|e| match e {
            ImageError::Io { path: p, source } if p.as_os_str().is_empty() => io_err(path, source),
            e => e,
        })?;
    file.sync_all().map_err(|e| io_err(path, e))?;
    Ok(summary)
}

/// Builds the image on `dev`, first sized with `set_len` (for a file) and
/// expected to read back zeros where nothing was written.
pub fn build<D: Read + Write + Seek + Debug>(
    mut dev: D,
    opts: &CreateOptions,
    set_len: impl FnOnce(&mut D, u64) -> io::Result<()>,
) -> Result<(D, Summary), ImageError> {
    let device_err = |e: io::Error| ImageError::Io {
        path: PathBuf::new(),
        source: e,
    };
    if opts.esp_fat == FatKind::Fat32 && opts.esp_size < MIN_FAT32_ESP {
        return Err(ImageError::Invalid(format!(
            "--esp-size {}: a FAT32 ESP needs at least {}",
            human_size(opts.esp_size),
            human_size(MIN_FAT32_ESP)
        )));
    }
    if opts.partitions.len() > 127 {
        return Err(ImageError::Invalid(
            "at most 127 partitions besides the ESP".into(),
        ));
    }

    // Everything that goes in, checked before anything is written.
    let efi = opts.efi.read_all(MAX_EFI)?;
    if efi.len() as u64 > MAX_EFI {
        return Err(ImageError::Invalid(format!(
            "{}: larger than {}",
            opts.efi.describe(),
            human_size(MAX_EFI)
        )));
    }
    if opts.verify_efi {
        let v = pe::check(&efi, opts.arch);
        let problems: Vec<String> = [v.application, v.sections]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if !problems.is_empty() {
            return Err(ImageError::Invalid(format!(
                "{}: not a UEFI application for {}: {}",
                opts.efi.describe(),
                opts.arch.name(),
                problems.join("; ")
            )));
        }
    }
    let files = esp_files(opts)?;
    let mut sizes = vec![opts.esp_size];
    for p in &opts.partitions {
        let len = p.source.len()?;
        if len == 0 {
            return Err(ImageError::Invalid(format!(
                "{}: empty file",
                p.source.describe()
            )));
        }
        sizes.push(len);
    }
    let layout = plan(&sizes, opts.size).map_err(ImageError::Invalid)?;

    let mut guids = match opts.seed {
        Some(s) => GuidSource::Seeded(s),
        None => GuidSource::Random,
    };
    let disk_guid = guids.guid();
    set_len(&mut dev, layout.total_sectors * SECTOR).map_err(device_err)?;

    // Protective MBR and GPT.
    let mbr = ::gpt::mbr::ProtectiveMBR::with_lb_size(
        u32::try_from(layout.total_sectors - 1).unwrap_or(u32::MAX),
    );
    mbr.overwrite_lba0(&mut dev)
        .map_err(|e| ImageError::Invalid(format!("writing the protective MBR: {e}")))?;
    let mut disk = ::gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(::gpt::disk::LogicalBlockSize::Lb512)
        .create_from_device(dev, Some(disk_guid))?;
    let mut types = vec![guid::ESP];
    types.extend(opts.partitions.iter().map(|p| p.type_guid));
    for (i, (&(first, sectors), ty)) in layout.parts.iter().zip(&types).enumerate() {
        let name = if i == 0 {
            "EFI System Partition"
        } else {
            guid::type_name(ty).unwrap_or("data")
        };
        disk.add_partition_at(name, i as u32 + 1, first, sectors, (*ty).into(), 0)?;
    }
    let mut table = disk.take_partitions();
    for p in table.values_mut() {
        p.part_guid = guids.guid();
    }
    let summary_parts = table
        .iter()
        .map(|(i, p)| {
            (
                *i,
                p.name.clone(),
                p.part_type_guid.guid,
                p.part_guid,
                p.first_lba,
                p.last_lba,
            )
        })
        .collect();
    disk.update_partitions(table)?;
    let mut dev = disk.write()?;

    // The ESP.
    let (esp_first, esp_sectors) = layout.parts[0];
    format_and_fill_esp(
        &mut dev,
        esp_first * SECTOR,
        esp_sectors * SECTOR,
        opts,
        &mut guids,
        &efi,
        &files,
    )?;

    // The other partitions' contents.
    for (p, &(first, _)) in opts.partitions.iter().zip(&layout.parts[1..]) {
        dev.seek(SeekFrom::Start(first * SECTOR))
            .map_err(device_err)?;
        let mut src = p.source.open()?;
        io::copy(&mut src, &mut dev).map_err(|e| p.source.error(e))?;
    }
    dev.flush().map_err(device_err)?;
    Ok((
        dev,
        Summary {
            bytes: layout.total_sectors * SECTOR,
            disk_guid,
            partitions: summary_parts,
            esp_files: files.len() + 1,
        },
    ))
}

/// A file or directory for the ESP: components of its path, and its contents
/// (None for a directory).
type EspItem = (Vec<String>, Option<Source>);

/// The extra files and directory trees, expanded and checked for clashes.
fn esp_files(opts: &CreateOptions) -> Result<Vec<EspItem>, ImageError> {
    let mut items: Vec<EspItem> = Vec::new();
    for (dest, src) in &opts.files {
        items.push((
            esp_path(dest).map_err(ImageError::Invalid)?,
            Some(src.clone()),
        ));
    }
    for (host, dest) in &opts.dirs {
        let base = if dest.split(['/', '\\']).all(str::is_empty) {
            Vec::new()
        } else {
            esp_path(dest).map_err(ImageError::Invalid)?
        };
        if !host.is_dir() {
            return Err(ImageError::Invalid(format!(
                "{}: not a directory",
                host.display()
            )));
        }
        expand_dir(host, &base, 0, &mut items)?;
    }
    let boot = ["EFI", "BOOT", opts.arch.boot_file()];
    let mut seen = std::collections::HashSet::new();
    seen.insert(boot.join("\\").to_ascii_uppercase());
    for (path, src) in &items {
        let key = path.join("\\").to_ascii_uppercase();
        if src.is_some() && !seen.insert(key) {
            return Err(ImageError::Invalid(format!(
                "\\{} is given twice (the boot program goes to {})",
                path.join("\\"),
                opts.arch.boot_path()
            )));
        }
    }
    Ok(items)
}

fn expand_dir(
    host: &Path,
    base: &[String],
    depth: usize,
    items: &mut Vec<EspItem>,
) -> Result<(), ImageError> {
    if depth > 32 {
        return Err(ImageError::Invalid(format!(
            "{}: directories nested too deep (a symlink loop?)",
            host.display()
        )));
    }
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .map_err(|e| io_err(host, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_err(host, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let mut dest = base.to_vec();
        dest.push(name);
        let dest_text = dest.join("\\");
        esp_path(&dest_text).map_err(ImageError::Invalid)?;
        let meta = std::fs::metadata(&path).map_err(|e| io_err(&path, e))?;
        if meta.is_dir() {
            items.push((dest.clone(), None));
            expand_dir(&path, &dest, depth + 1, items)?;
        } else if meta.is_file() {
            items.push((dest, Some(Source::Host(path))));
        } else {
            return Err(ImageError::Invalid(format!(
                "{}: not a regular file or directory",
                path.display()
            )));
        }
    }
    Ok(())
}

/// A window on part of a device, for the FAT driver.
struct Window<'d, D> {
    dev: &'d mut D,
    start: u64,
    len: u64,
    pos: u64,
}

impl<D: Read + Seek> Read for Window<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.dev.seek(SeekFrom::Start(self.start + self.pos))?;
        let got = self.dev.read(&mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

impl<D: Write + Seek> Write for Window<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        if n == 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the partition",
            ));
        }
        self.dev.seek(SeekFrom::Start(self.start + self.pos))?;
        let put = self.dev.write(&buf[..n])?;
        self.pos += put as u64;
        Ok(put)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.dev.flush()
    }
}

impl<D> Seek for Window<'_, D> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        let p = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        self.pos = p;
        Ok(p)
    }
}

fn format_and_fill_esp<D: Read + Write + Seek>(
    dev: &mut D,
    start: u64,
    len: u64,
    opts: &CreateOptions,
    guids: &mut GuidSource,
    efi: &[u8],
    files: &[EspItem],
) -> Result<(), ImageError> {
    let fat_err = |what: String| move |source: io::Error| ImageError::Fat { what, source };
    let fat_type = match opts.esp_fat {
        FatKind::Fat12 => fatfs::FatType::Fat12,
        FatKind::Fat16 => fatfs::FatType::Fat16,
        FatKind::Fat32 => fatfs::FatType::Fat32,
    };
    let format = fatfs::FormatVolumeOptions::new()
        .fat_type(fat_type)
        .volume_id(guids.next_u32())
        .volume_label(*b"ESP        ");
    fatfs::format_volume(
        Window {
            dev: &mut *dev,
            start,
            len,
            pos: 0,
        },
        format,
    )
    .map_err(fat_err(format!(
        "formatting the {} ESP ({})",
        opts.esp_fat,
        human_size(len)
    )))?;
    let clock: &'static Clock = if opts.seed.is_some() {
        &FIXED_CLOCK
    } else {
        &SYSTEM_CLOCK
    };
    let fs = fatfs::FileSystem::new(
        Window {
            dev: &mut *dev,
            start,
            len,
            pos: 0,
        },
        fatfs::FsOptions::new().time_provider(clock),
    )
    .map_err(fat_err("mounting the new ESP".into()))?;
    let root = fs.root_dir();
    let full = |what: &str| {
        format!(
            "writing {what} into the ESP of {} (is --esp-size large enough?)",
            human_size(len)
        )
    };
    enum Content<'s> {
        Efi,
        File(&'s Source),
        Dir,
    }
    let boot = [
        "EFI".to_string(),
        "BOOT".to_string(),
        opts.arch.boot_file().to_string(),
    ];
    let mut all: Vec<(&[String], Content)> = vec![(&boot[..], Content::Efi)];
    all.extend(
        files
            .iter()
            .map(|(p, s)| (&p[..], s.as_ref().map_or(Content::Dir, Content::File))),
    );
    for (path, content) in all {
        let shown = format!("\\{}", path.join("\\"));
        let mut dir = root.clone();
        let (dirs, name) = match content {
            Content::Dir => (path, None),
            _ => (&path[..path.len() - 1], path.last()),
        };
        for c in dirs {
            dir = dir.create_dir(c).map_err(fat_err(full(&shown)))?;
        }
        let Some(name) = name else { continue };
        let mut f = dir.create_file(name).map_err(fat_err(full(&shown)))?;
        f.truncate().map_err(fat_err(full(&shown)))?;
        match content {
            Content::Efi => f.write_all(efi).map_err(fat_err(full(&shown)))?,
            Content::File(source) => {
                let mut r = source.open()?;
                copy_into(&mut r, &mut f).map_err(|e| match e {
                    CopyError::Read(e) => source.error(e),
                    CopyError::Write(e) => ImageError::Fat {
                        what: full(&shown),
                        source: e,
                    },
                })?;
            }
            Content::Dir => {}
        }
        f.flush().map_err(fat_err(full(&shown)))?;
    }
    drop(root);
    // Count the free clusters so that the FSInfo sector holds the number.
    fs.stats()
        .map_err(fat_err("counting the ESP's free clusters".into()))?;
    fs.unmount().map_err(fat_err("closing the ESP".into()))?;
    super::fatfix::finish_volume(dev, start, len)
        .map_err(fat_err("fixing the ESP's directories".into()))?;
    Ok(())
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn copy_into(r: &mut dyn Read, w: &mut dyn Write) -> Result<(), CopyError> {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}

/// File times for the FAT driver: the current UTC time, or a fixed one for
/// reproducible images.
#[derive(Debug)]
struct Clock {
    fixed: bool,
}

static SYSTEM_CLOCK: Clock = Clock { fixed: false };
static FIXED_CLOCK: Clock = Clock { fixed: true };

/// The fixed time of reproducible images: 2020-01-01 00:00:00.
const FIXED_TIME: u64 = 1_577_836_800;

impl Clock {
    fn now(&self) -> fatfs::DateTime {
        let secs = if self.fixed {
            FIXED_TIME
        } else {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(FIXED_TIME, |d| d.as_secs())
        };
        let (year, month, day) = civil_date(secs / 86_400);
        // FAT dates run from 1980 to 2107.
        let (year, month, day) = if !(1980..=2107).contains(&year) {
            (1980, 1, 1)
        } else {
            (year, month, day)
        };
        let t = secs % 86_400;
        fatfs::DateTime {
            date: fatfs::Date {
                year: year as u16,
                month,
                day,
            },
            time: fatfs::Time {
                hour: (t / 3600) as u16,
                min: (t / 60 % 60) as u16,
                sec: (t % 60) as u16,
                millis: 0,
            },
        }
    }
}

impl fatfs::TimeProvider for Clock {
    fn get_current_date(&self) -> fatfs::Date {
        self.now().date
    }

    fn get_current_date_time(&self) -> fatfs::DateTime {
        self.now()
    }
}

/// The proleptic Gregorian (year, month, day) of a day number counted from
/// 1970-01-01, by 400-year eras of 146097 days starting on March 1.
fn civil_date(days: u64) -> (u64, u16, u16) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u16;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u16;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::image::{check, esp::Esp, gpt::Gpt};

    /// A small image in memory: a FAT16 ESP of `esp_mib` MiB holding a minimal
    /// AArch64 application, plus `extra` partitions of the given bytes.
    pub(crate) fn small_image(esp_fat: FatKind, esp_mib: u64, extra: &[&[u8]]) -> Vec<u8> {
        let mut opts = CreateOptions::new(Source::Bytes(pe::minimal_image(
            pe::MACHINE_ARM64,
            true,
            10,
        )));
        opts.esp_fat = esp_fat;
        opts.esp_size = esp_mib << 20;
        opts.seed = Some(1);
        opts.files.push((
            "EFI/debian/grub.cfg".into(),
            Source::Bytes(b"set timeout=0\n".to_vec()),
        ));
        for e in extra {
            opts.partitions.push(ExtraPartition {
                source: Source::Bytes(e.to_vec()),
                type_guid: guid::LINUX_FS,
            });
        }
        let (cursor, _) = build(io::Cursor::new(Vec::new()), &opts, |c, len| {
            c.get_mut().resize(len as usize, 0);
            Ok(())
        })
        .unwrap();
        cursor.into_inner()
    }

    #[test]
    fn layouts() {
        const M: u64 = 1 << 20;
        const S: u64 = SECTOR;
        type Want = Result<(u64, &'static [(u64, u64)]), &'static str>;
        let cases: &[(&[u64], Option<u64>, Want)] = &[
            (&[64 * M], None, Ok((66 * M / S, &[(2048, 64 * M / S)]))),
            (
                &[64 * M, 1],
                None,
                Ok((67 * M / S, &[(2048, 131072), (133120, 2048)])),
            ),
            (
                &[64 * M, M + 1],
                None,
                Ok((68 * M / S, &[(2048, 131072), (133120, 4096)])),
            ),
            (
                &[64 * M],
                Some(100 * M),
                Ok((100 * M / S, &[(2048, 131072)])),
            ),
            (&[64 * M], Some(65 * M), Err("too small")),
            (&[64 * M], Some(65 * M + 1), Err("not a multiple")),
            (&[0], None, Err("not possible")),
            (&[u64::MAX], None, Err("not possible")),
            (&[1 << 49, 1 << 49], None, Err("too large")),
        ];
        for (sizes, req, want) in cases {
            let got = plan(sizes, *req);
            match want {
                Ok((total, parts)) => {
                    let l = got.unwrap();
                    assert_eq!(
                        (l.total_sectors, l.parts.as_slice()),
                        (*total, *parts),
                        "{sizes:?}"
                    );
                }
                Err(msg) => assert!(got.unwrap_err().contains(msg), "{sizes:?} {req:?}"),
            }
        }
    }

    #[test]
    fn command_line_forms() {
        assert_eq!(
            parse_src_dest("grub.cfg:EFI/debian/grub.cfg", false).unwrap(),
            (PathBuf::from("grub.cfg"), "EFI/debian/grub.cfg".into())
        );
        assert_eq!(
            parse_src_dest("/tmp/x/startup.nsh:\\", false).unwrap(),
            (PathBuf::from("/tmp/x/startup.nsh"), "\\startup.nsh".into())
        );
        assert_eq!(
            parse_src_dest("dir:/", true).unwrap(),
            (PathBuf::from("dir"), "/".into())
        );
        for bad in ["nocolon", ":dest", "src:", "a:EFI/../x", "a:EFI/b?d"] {
            assert!(parse_src_dest(bad, false).is_err(), "{bad}");
        }
        assert_eq!(
            parse_partition("root.ext4").unwrap(),
            (PathBuf::from("root.ext4"), guid::LINUX_FS)
        );
        assert_eq!(
            parse_partition("root.ext4:root-arm64").unwrap().1,
            guid::parse_type("root-arm64").unwrap()
        );
        assert!(parse_partition("root.ext4:nonsense")
            .unwrap_err()
            .contains("unknown partition type"));
        assert!(parse_partition(":linux").is_err());
        assert_eq!(
            esp_path("\\EFI\\BOOT\\x.efi").unwrap(),
            ["EFI", "BOOT", "x.efi"]
        );
        assert!(esp_path("//").is_err());
    }

    #[test]
    fn dates() {
        for (days, want) in [
            (0, (1970, 1, 1)),
            (FIXED_TIME / 86_400, (2020, 1, 1)),
            (11_016, (2000, 2, 29)),
            (19_782, (2024, 2, 29)),
            (19_783, (2024, 3, 1)),
            (47_481, (2099, 12, 31)),
            (47_482, (2100, 1, 1)),
        ] {
            assert_eq!(civil_date(days), want, "{days}");
        }
    }

    #[test]
    fn a_created_image_passes_its_own_check() {
        // FAT32 needs a 33 MiB ESP: the full-size case, once.
        let img = small_image(FatKind::Fat32, 34, &[&[0x5A; 3000]]);
        let report = check::check(&img, None);
        assert!(report.passed(), "{report}");
        let gpt = Gpt::read(&img);
        let parts = &gpt.primary.entries;
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].first_lba, parts[0].last_lba),
            (2048, 2048 + 34 * 2048 - 1)
        );
        assert_eq!(parts[1].first_lba, 2048 + 34 * 2048);
        assert_eq!(parts[0].name, "EFI System Partition");
        assert_eq!(parts[1].name, "Linux filesystem");
        // The partition's contents, then zeros to the MiB boundary.
        let start = (parts[1].first_lba * SECTOR) as usize;
        assert!(img[start..start + 3000].iter().all(|&b| b == 0x5A));
        assert!(img[start + 3000..start + (1 << 20)].iter().all(|&b| b == 0));
        let (s, l) = parts[0].byte_range().unwrap();
        let esp = Esp::open(&img, s, l).unwrap();
        let tree = esp.walk();
        let paths: Vec<&str> = tree.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "\\EFI",
                "\\EFI\\BOOT",
                "\\EFI\\BOOT\\BOOTAA64.EFI",
                "\\EFI\\debian",
                "\\EFI\\debian\\grub.cfg"
            ]
        );
        assert_eq!(
            esp.read_file(&["efi", "debian", "GRUB.CFG"], 100).unwrap(),
            b"set timeout=0\n"
        );
        // The same seed, the same image.
        assert_eq!(img, small_image(FatKind::Fat32, 34, &[&[0x5A; 3000]]));
    }

    #[test]
    fn a_fat16_esp_fails_the_fat32_rule_only() {
        let img = small_image(FatKind::Fat16, 8, &[]);
        let report = check::check(&img, None);
        let failed: Vec<&str> = report
            .rules
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.name)
            .collect();
        assert_eq!(failed, ["ESP file system"], "{report}");
        assert!(
            report
                .rule("ESP file system")
                .unwrap()
                .detail
                .starts_with("FAT16"),
            "{report}"
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let efi = || Source::Bytes(pe::minimal_image(pe::MACHINE_ARM64, true, 10));
        let try_build = |opts: &CreateOptions| {
            build(io::Cursor::new(Vec::new()), opts, |c, len| {
                c.get_mut().resize(len as usize, 0);
                Ok(())
            })
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        let mut o = CreateOptions::new(Source::Bytes(pe::minimal_image(
            pe::MACHINE_X86_64,
            true,
            10,
        )));
        assert!(try_build(&o).contains("not a UEFI application for AArch64"));
        o.arch = Arch::Arm;
        o.efi = efi();
        assert!(try_build(&o).contains("not 0x01C2"));
        let mut o = CreateOptions::new(efi());
        o.esp_size = 16 << 20;
        assert!(try_build(&o).contains("a FAT32 ESP needs at least 33.0 MiB"));
        let mut o = CreateOptions::new(efi());
        o.files.push(("\\efi\\boot\\bootaa64.efi".into(), efi()));
        assert!(try_build(&o).contains("given twice"));
        let mut o = CreateOptions::new(efi());
        o.esp_fat = FatKind::Fat16;
        o.esp_size = 4 << 20;
        o.files
            .push(("big.bin".into(), Source::Bytes(vec![1; 5 << 20])));
        let err = try_build(&o);
        assert!(err.contains("writing \\big.bin into the ESP"), "{err}");
        let mut o = CreateOptions::new(efi());
        o.size = Some(10 << 20);
        assert!(try_build(&o).contains("too small"));
        let mut o = CreateOptions::new(efi());
        o.partitions.push(ExtraPartition {
            source: Source::Bytes(Vec::new()),
            type_guid: guid::LINUX_FS,
        });
        assert!(try_build(&o).contains("empty file"));
    }
}
