//! The UEFI variable store of the built-in firmware: what GetVariable,
//! SetVariable, GetNextVariableName and QueryVariableInfo act on, and the
//! `--vars FILE` that keeps the non-volatile variables of a VM between runs.
//!
//! The firmware's glue moves bytes between guest memory and this store and
//! reports EFI_BUFFER_TOO_SMALL itself; this module decides everything else
//! (UEFI 2.10 §8.2, with EDK2's choices where the spec leaves room).
//! [`VarStatus::efi_status`] gives the EFI_STATUS of each refusal.
//!
//! # Rules
//!
//! - Names are UTF-16 without their terminating NUL; an empty name, or one
//!   with a NUL inside, is refused.
//! - This firmware has no Secure Boot and no hardware error record store, so
//!   the authenticated-write bits (AUTHENTICATED_WRITE_ACCESS, deprecated;
//!   TIME_BASED_AUTHENTICATED_WRITE_ACCESS; ENHANCED_AUTHENTICATED_ACCESS) and
//!   HARDWARE_ERROR_RECORD are Unsupported.
//! - A variable always has BOOTSERVICE_ACCESS: a write with no access bits is
//!   a delete (the spec's "no access attributes specified"), and RUNTIME_ACCESS
//!   without BOOTSERVICE_ACCESS is refused.
//! - A write with other attributes than the variable has (APPEND_WRITE
//!   aside) is InvalidParameter, a delete included unless it gives none.
//! - After ExitBootServices (`runtime == true`) only RUNTIME_ACCESS variables
//!   exist for the caller, and only non-volatile ones can change, as the spec
//!   says: creating needs NV+BS+RT (else InvalidParameter); a volatile
//!   runtime variable is WriteProtected; a boot-services-only one is NotFound
//!   to a delete and WriteProtected to a write (so it is never replaced).
//! - Sizes: name bytes (with the NUL) + data ≤ [`MAX_VARIABLE_SIZE`], or
//!   InvalidParameter (as EDK2). Non-volatile variables together take at most
//!   [`MAX_STORAGE`] bytes counted as in the file (entry header + name without
//!   NUL + data), else OutOfResources; volatile ones have a budget of the same
//!   size so that a guest cannot fill host memory.
//!
//! # The `--vars` file (version 1)
//!
//! All integers little-endian:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ARMVMVAR"
//! 8       4     version = 1
//! 12      4     count: number of entries
//! 16      ...   count entries, each:
//!                 16  vendor GUID (EFI_GUID byte layout)
//!                  4  attributes (NON_VOLATILE | BOOTSERVICE_ACCESS [| RUNTIME_ACCESS])
//!                  4  name length in UTF-16 units (no NUL stored)
//!                  4  data length in bytes
//!                  …  name, UTF-16LE
//!                  …  data
//! end-4   4     CRC-32 (IEEE, as zlib) of every byte before it
//! ```
//!
//! Only non-volatile variables are written. A file is accepted only whole:
//! wrong magic, another version, truncation, bytes after the last entry, a
//! CRC mismatch, an entry that `SetVariable` could not have made (not
//! non-volatile, bits other than NV/BS/RT, no BOOTSERVICE_ACCESS, empty name,
//! NUL in the name, no data, over the size limit) or a duplicate GUID+name
//! is an error naming the reason, and the file is left as it is. Because the
//! store's accounting counts exactly the entry bytes, no valid file is larger
//! than 16 + [`MAX_STORAGE`] + 4 bytes, so larger files are refused before
//! being read whole.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::guid::Guid;

pub const ATTR_NON_VOLATILE: u32 = 0x1;
pub const ATTR_BOOTSERVICE_ACCESS: u32 = 0x2;
pub const ATTR_RUNTIME_ACCESS: u32 = 0x4;
pub const ATTR_HARDWARE_ERROR_RECORD: u32 = 0x8;
/// Deprecated by UEFI 2.3.1; never supported here.
pub const ATTR_AUTHENTICATED_WRITE_ACCESS: u32 = 0x10;
pub const ATTR_TIME_BASED_AUTHENTICATED_WRITE_ACCESS: u32 = 0x20;
pub const ATTR_APPEND_WRITE: u32 = 0x40;
/// UEFI 2.8+; like the other authenticated bits, unsupported without Secure Boot.
pub const ATTR_ENHANCED_AUTHENTICATED_ACCESS: u32 = 0x80;

/// Largest name bytes (UTF-16 with its NUL) + data of one variable.
pub const MAX_VARIABLE_SIZE: usize = 64 * 1024;
/// Room for all non-volatile variables (and, separately, all volatile ones),
/// counted as [`Variable`] entries take in the file.
pub const MAX_STORAGE: usize = 1 << 20;

/// The bits a stored variable can have.
const STORED_ATTRS: u32 = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS;
/// Bits the spec defines but this firmware cannot honour (no Secure Boot, no
/// hardware error record store).
const UNSUPPORTED_ATTRS: u32 = ATTR_HARDWARE_ERROR_RECORD
    | ATTR_AUTHENTICATED_WRITE_ACCESS
    | ATTR_TIME_BASED_AUTHENTICATED_WRITE_ACCESS
    | ATTR_ENHANCED_AUTHENTICATED_ACCESS;
/// Every bit the spec defines; anything else is a reserved bit.
const KNOWN_ATTRS: u32 = STORED_ATTRS | UNSUPPORTED_ATTRS | ATTR_APPEND_WRITE;

const MAGIC: &[u8; 8] = b"ARMVMVAR";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 16;
const CRC_LEN: usize = 4;
/// GUID + attributes + name length + data length.
const ENTRY_HEADER_LEN: usize = 16 + 4 + 4 + 4;
/// No file that this module writes is larger (see the module comment).
const MAX_FILE_LEN: usize = HEADER_LEN + MAX_STORAGE + CRC_LEN;

/// Why a variable service refused; see [`VarStatus::efi_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarStatus {
    InvalidParameter,
    NotFound,
    OutOfResources,
    WriteProtected,
    Unsupported,
    /// Never returned by this store (no authenticated variables); here so the
    /// glue can map every SetVariable status the spec lists.
    SecurityViolation,
}

impl VarStatus {
    /// The EFI_STATUS (UEFI 2.10 Appendix D, error bit set for 64-bit).
    pub const fn efi_status(self) -> u64 {
        const ERROR: u64 = 1 << 63;
        ERROR
            | match self {
                VarStatus::InvalidParameter => 2,
                VarStatus::Unsupported => 3,
                VarStatus::WriteProtected => 8,
                VarStatus::OutOfResources => 9,
                VarStatus::NotFound => 14,
                VarStatus::SecurityViolation => 26,
            }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub guid: Guid,
    /// Without the terminating NUL.
    pub name: Vec<u16>,
    /// Never includes APPEND_WRITE.
    pub attributes: u32,
    pub data: Vec<u8>,
}

impl Variable {
    fn is_nv(&self) -> bool {
        self.attributes & ATTR_NON_VOLATILE != 0
    }

    fn is_runtime(&self) -> bool {
        self.attributes & ATTR_RUNTIME_ACCESS != 0
    }

    /// Whether a caller in this phase may see it at all.
    fn visible(&self, runtime: bool) -> bool {
        !runtime || self.is_runtime()
    }

    /// What it takes of [`MAX_STORAGE`].
    fn footprint(&self) -> usize {
        footprint(self.name.len(), self.data.len())
    }

    fn display_name(&self) -> String {
        String::from_utf16_lossy(&self.name)
    }
}

/// Bytes of a file entry (the storage accounting unit).
fn footprint(name_units: usize, data_len: usize) -> usize {
    ENTRY_HEADER_LEN
        .saturating_add(name_units.saturating_mul(2))
        .saturating_add(data_len)
}

/// The size SetVariable limits: name bytes including the NUL, plus data.
fn variable_size(name_units: usize, data_len: usize) -> usize {
    name_units
        .saturating_add(1)
        .saturating_mul(2)
        .saturating_add(data_len)
}

/// Problems with the `--vars` file.
#[derive(Debug, thiserror::Error)]
pub enum VarsError {
    #[error("cannot read the UEFI variable store {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is not an armvm variable store (EDK2 flash variable images are for --bios)",
        path.display()
    )]
    NotVariableStore { path: PathBuf },
    #[error(
        "{}: unsupported variable store version {version} (this armvm reads version {VERSION})",
        path.display()
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("{}: truncated variable store: {detail}", path.display())]
    Truncated { path: PathBuf, detail: String },
    #[error(
        "{}: variable store is larger than {max} bytes, more than any valid store",
        path.display()
    )]
    TooLarge { path: PathBuf, max: usize },
    #[error(
        "{}: {count} unexpected bytes after the last variable entry",
        path.display()
    )]
    TrailingData { path: PathBuf, count: usize },
    #[error(
        "{}: variable store is corrupt: CRC-32 is {stored:#010x} but the contents give {computed:#010x}",
        path.display()
    )]
    CrcMismatch {
        path: PathBuf,
        stored: u32,
        computed: u32,
    },
    #[error("{}: variable entry {index} is malformed: {reason}", path.display())]
    MalformedEntry {
        path: PathBuf,
        /// 0-based position in the file.
        index: u32,
        reason: String,
    },
}

type Key = (Guid, Vec<u16>);

fn key(name: &[u16], guid: &Guid) -> Key {
    (*guid, name.to_vec())
}

/// All variables of one VM, volatile and non-volatile.
#[derive(Debug)]
pub struct VariableStore {
    /// Ordered so that GetNextVariableName has a stable order.
    vars: BTreeMap<Key, Variable>,
    /// Where non-volatile variables are saved; None: nowhere.
    path: Option<PathBuf>,
    /// Footprints of the non-volatile and of the volatile variables.
    nv_used: usize,
    volatile_used: usize,
    /// A non-volatile variable changed since open or the last save.
    dirty: bool,
}

impl VariableStore {
    /// A store whose variables live for this run only.
    pub fn in_memory() -> VariableStore {
        VariableStore {
            vars: BTreeMap::new(),
            path: None,
            nv_used: 0,
            volatile_used: 0,
            dirty: false,
        }
    }

    /// The store kept in `path`. A missing file gives an empty store that
    /// [`save`](Self::save) creates; a present one must be valid as a whole
    /// (it is never changed when it is not).
    pub fn open(path: &Path) -> Result<VariableStore, VarsError> {
        let mut store = match read_store_file(path)? {
            Some(bytes) => VariableStore::load(&bytes, path)?,
            None => VariableStore::in_memory(),
        };
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// The store that a `--vars` file holding `bytes` opens to, checked as
    /// [`open`](Self::open) checks the file, but bound to no file (for the
    /// fuzz targets and tests). Errors name the file `(bytes)`.
    pub fn parse_file(bytes: &[u8]) -> Result<VariableStore, VarsError> {
        let path = Path::new("(bytes)");
        check_size(bytes, path)?;
        VariableStore::load(bytes, path)
    }

    /// The variables of a file image; `path` names it in errors.
    fn load(bytes: &[u8], path: &Path) -> Result<VariableStore, VarsError> {
        let mut store = VariableStore::in_memory();
        for var in decode(bytes, path)? {
            store.insert(var);
        }
        store.dirty = false;
        Ok(store)
    }

    /// The file this store is saved to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes the non-volatile variables to the bound file if one of them
    /// changed since open or the last save. The old file is replaced only by
    /// a complete, synced new one, so a crash leaves one or the other.
    pub fn save(&mut self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let bytes = encode(self.vars.values().filter(|v| v.is_nv()));
        write_atomically(path, &bytes)?;
        self.dirty = false;
        Ok(())
    }

    /// GetVariable's lookup; `runtime`: after ExitBootServices.
    pub fn get(&self, name: &[u16], guid: &Guid, runtime: bool) -> Option<&Variable> {
        self.vars
            .get(&key(name, guid))
            .filter(|v| v.visible(runtime))
    }

    /// SetVariable from the guest (see the module comment for the rules).
    pub fn set(
        &mut self,
        name: &[u16],
        guid: &Guid,
        attributes: u32,
        data: &[u8],
        runtime: bool,
    ) -> Result<(), VarStatus> {
        check_name(name)?;
        check_set_attributes(attributes)?;
        if variable_size(name.len(), data.len()) > MAX_VARIABLE_SIZE {
            return Err(VarStatus::InvalidParameter);
        }
        let append = attributes & ATTR_APPEND_WRITE != 0;
        let attrs = attributes & !ATTR_APPEND_WRITE;
        // No access bits, or no data without APPEND_WRITE: a delete.
        let delete = attrs & ATTR_BOOTSERVICE_ACCESS == 0 || (data.is_empty() && !append);
        let key = key(name, guid);
        let existing = self.vars.get(&key);
        if let Some(var) = existing {
            check_existing(var, attrs, delete, runtime)?;
        }
        if delete {
            return match self.remove(&key) {
                Some(_) => Ok(()),
                None => Err(VarStatus::NotFound),
            };
        }
        if runtime {
            check_runtime_write(attrs)?;
        }
        if data.is_empty() {
            // Appending nothing: success, and nothing to create or change.
            return Ok(());
        }
        let new_data = match existing {
            Some(var) if append => [var.data.as_slice(), data].concat(),
            Some(var) if var.data == data => return Ok(()),
            _ => data.to_vec(),
        };
        let var = Variable {
            guid: *guid,
            name: name.to_vec(),
            attributes: attrs,
            data: new_data,
        };
        self.check_limits(&var)?;
        self.insert(var);
        Ok(())
    }

    /// The firmware's own writes (BootCurrent, PlatformLangCodes, ...): no
    /// access checks, the data replaced whole, empty data deletes. A write
    /// that would break the size limits is dropped: the file must stay
    /// loadable, and a guest may have filled the storage.
    pub fn set_firmware(&mut self, name: &str, guid: &Guid, attributes: u32, data: &[u8]) {
        let name: Vec<u16> = name.encode_utf16().collect();
        let attributes = attributes & !ATTR_APPEND_WRITE;
        debug_assert!(
            check_name(&name).is_ok() && valid_stored_attributes(attributes).is_ok(),
            "firmware variable {} with attributes {attributes:#x}",
            String::from_utf16_lossy(&name)
        );
        if data.is_empty() {
            self.remove(&key(&name, guid));
            return;
        }
        let var = Variable {
            guid: *guid,
            name,
            attributes,
            data: data.to_vec(),
        };
        let key = (var.guid, var.name.clone());
        if self.vars.get(&key) == Some(&var) || self.check_limits(&var).is_err() {
            return;
        }
        self.insert(var);
    }

    /// GetNextVariableName: the variable after (`prev_name`, `prev_guid`) in
    /// a fixed order, or the first one for an empty `prev_name`.
    pub fn next_name(
        &self,
        prev_name: &[u16],
        prev_guid: &Guid,
        runtime: bool,
    ) -> Result<(Vec<u16>, Guid), VarStatus> {
        let start = if prev_name.is_empty() {
            Bound::Unbounded
        } else {
            // The spec: the input must name an existing (visible) variable.
            if self.get(prev_name, prev_guid, runtime).is_none() {
                return Err(VarStatus::InvalidParameter);
            }
            Bound::Excluded(key(prev_name, prev_guid))
        };
        self.vars
            .range((start, Bound::Unbounded))
            .map(|(_, v)| v)
            .find(|v| v.visible(runtime))
            .map(|v| (v.name.clone(), v.guid))
            .ok_or(VarStatus::NotFound)
    }

    /// QueryVariableInfo: (maximum storage, remaining storage, maximum
    /// variable size) for non-volatile or volatile variables, as the
    /// NON_VOLATILE bit of `attributes` says.
    pub fn query_info(&self, attributes: u32, runtime: bool) -> Result<(u64, u64, u64), VarStatus> {
        check_known_attributes(attributes)?;
        let attrs = attributes & !ATTR_APPEND_WRITE;
        // No access bits (this includes 0 and NON_VOLATILE alone), or RT
        // without BS, describe no variable that can exist.
        if attrs & ATTR_BOOTSERVICE_ACCESS == 0 {
            return Err(VarStatus::InvalidParameter);
        }
        // As EDK2: after ExitBootServices only runtime variables are asked about.
        if runtime && attrs & ATTR_RUNTIME_ACCESS == 0 {
            return Err(VarStatus::InvalidParameter);
        }
        let used = self.used(attrs & ATTR_NON_VOLATILE != 0);
        Ok((
            MAX_STORAGE as u64,
            MAX_STORAGE.saturating_sub(used) as u64,
            MAX_VARIABLE_SIZE as u64,
        ))
    }

    /// Every variable, without access checks.
    pub fn iter(&self) -> impl Iterator<Item = &Variable> {
        self.vars.values()
    }

    /// For the firmware (boot manager): lookup by a `&str` name, no access check.
    pub fn get_str(&self, name: &str, guid: &Guid) -> Option<&Variable> {
        let name: Vec<u16> = name.encode_utf16().collect();
        self.vars.get(&(*guid, name))
    }

    /// For the firmware (BootNext before it is tried): true if it existed.
    pub fn delete_firmware(&mut self, name: &str, guid: &Guid) -> bool {
        let name: Vec<u16> = name.encode_utf16().collect();
        self.remove(&(*guid, name)).is_some()
    }

    fn used(&self, nv: bool) -> usize {
        if nv {
            self.nv_used
        } else {
            self.volatile_used
        }
    }

    fn used_mut(&mut self, nv: bool) -> &mut usize {
        if nv {
            &mut self.nv_used
        } else {
            &mut self.volatile_used
        }
    }

    /// Whether `var` may replace the variable of the same name: its own size
    /// and the storage of its kind once the old one is gone.
    fn check_limits(&self, var: &Variable) -> Result<(), VarStatus> {
        if variable_size(var.name.len(), var.data.len()) > MAX_VARIABLE_SIZE {
            return Err(VarStatus::InvalidParameter);
        }
        let freed = match self.vars.get(&(var.guid, var.name.clone())) {
            Some(old) if old.is_nv() == var.is_nv() => old.footprint(),
            _ => 0,
        };
        let after = self
            .used(var.is_nv())
            .saturating_sub(freed)
            .saturating_add(var.footprint());
        if after > MAX_STORAGE {
            return Err(VarStatus::OutOfResources);
        }
        Ok(())
    }

    /// Adds or replaces, keeping the accounting and the dirty flag right.
    fn insert(&mut self, var: Variable) {
        let nv = var.is_nv();
        let size = var.footprint();
        let used = self.used_mut(nv);
        *used = used.saturating_add(size);
        self.dirty |= nv;
        if let Some(old) = self.vars.insert((var.guid, var.name.clone()), var) {
            self.forget(&old);
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Variable> {
        let old = self.vars.remove(key)?;
        self.forget(&old);
        Some(old)
    }

    /// Accounts for a variable that left the map.
    fn forget(&mut self, old: &Variable) {
        let nv = old.is_nv();
        let used = self.used_mut(nv);
        *used = used.saturating_sub(old.footprint());
        self.dirty |= nv;
    }
}

fn check_name(name: &[u16]) -> Result<(), VarStatus> {
    if name.is_empty() || name.contains(&0) {
        return Err(VarStatus::InvalidParameter);
    }
    Ok(())
}

/// Reserved bits are invalid; defined bits that need Secure Boot or a
/// hardware error record store are unsupported (this firmware has neither).
fn check_known_attributes(attributes: u32) -> Result<(), VarStatus> {
    if attributes & !KNOWN_ATTRS != 0 {
        return Err(VarStatus::InvalidParameter);
    }
    if attributes & UNSUPPORTED_ATTRS != 0 {
        return Err(VarStatus::Unsupported);
    }
    Ok(())
}

/// SetVariable's checks of the attributes alone.
fn check_set_attributes(attributes: u32) -> Result<(), VarStatus> {
    check_known_attributes(attributes)?;
    let attrs = attributes & !ATTR_APPEND_WRITE;
    let rt_without_bs =
        attrs & (ATTR_RUNTIME_ACCESS | ATTR_BOOTSERVICE_ACCESS) == ATTR_RUNTIME_ACCESS;
    // NON_VOLATILE alone is neither a variable nor "no access attributes".
    if rt_without_bs || attrs == ATTR_NON_VOLATILE {
        return Err(VarStatus::InvalidParameter);
    }
    Ok(())
}

/// SetVariable's checks against the variable it would change.
fn check_existing(
    var: &Variable,
    attrs: u32,
    delete: bool,
    runtime: bool,
) -> Result<(), VarStatus> {
    if !var.visible(runtime) {
        // Boot-services-only variables do not exist for the OS: deleting one
        // finds nothing, creating one over it must not replace it.
        return Err(if delete {
            VarStatus::NotFound
        } else {
            VarStatus::WriteProtected
        });
    }
    // Different attributes are refused unless none are given (a delete);
    // APPEND_WRITE is already stripped.
    if attrs != 0 && attrs != var.attributes {
        return Err(VarStatus::InvalidParameter);
    }
    // The spec: volatile runtime variables are read-only after ExitBootServices.
    if runtime && !var.is_nv() {
        return Err(VarStatus::WriteProtected);
    }
    Ok(())
}

/// After ExitBootServices only NV+BS+RT variables can be written.
fn check_runtime_write(attrs: u32) -> Result<(), VarStatus> {
    if attrs & STORED_ATTRS != STORED_ATTRS {
        return Err(VarStatus::InvalidParameter);
    }
    Ok(())
}

/// What a variable in the file (or one the firmware stores) may carry:
/// exactly what SetVariable can store, checked with a reason.
fn valid_stored_attributes(attributes: u32) -> Result<(), String> {
    if attributes & !STORED_ATTRS != 0 {
        return Err(format!(
            "attributes {attributes:#x} have bits other than NON_VOLATILE, BOOTSERVICE_ACCESS and RUNTIME_ACCESS"
        ));
    }
    if attributes & ATTR_BOOTSERVICE_ACCESS == 0 {
        return Err(format!(
            "attributes {attributes:#x} lack BOOTSERVICE_ACCESS, which every variable has"
        ));
    }
    Ok(())
}

/// The file's bytes, None if it does not exist; never reads more than a
/// valid store can be.
fn read_store_file(path: &Path) -> Result<Option<Vec<u8>>, VarsError> {
    let io_error = |source| VarsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    let mut bytes = Vec::new();
    let limit = MAX_FILE_LEN as u64 + 1;
    file.take(limit).read_to_end(&mut bytes).map_err(io_error)?;
    check_size(&bytes, path)?;
    Ok(Some(bytes))
}

/// Refuses a file longer than any valid store. A foreign file (an EDK2
/// flash image is 64 MiB) is named as such before its size is held against
/// it.
fn check_size(bytes: &[u8], path: &Path) -> Result<(), VarsError> {
    if bytes.len() > MAX_FILE_LEN && !bytes.starts_with(MAGIC) {
        return Err(VarsError::NotVariableStore {
            path: path.to_path_buf(),
        });
    }
    if bytes.len() > MAX_FILE_LEN {
        return Err(VarsError::TooLarge {
            path: path.to_path_buf(),
            max: MAX_FILE_LEN,
        });
    }
    Ok(())
}

/// The file image of `vars` (see the module comment).
fn encode<'a>(vars: impl Iterator<Item = &'a Variable>) -> Vec<u8> {
    let vars: Vec<&Variable> = vars.collect();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&le_len(vars.len()));
    for var in vars {
        out.extend_from_slice(&var.guid.0);
        out.extend_from_slice(&var.attributes.to_le_bytes());
        out.extend_from_slice(&le_len(var.name.len()));
        out.extend_from_slice(&le_len(var.data.len()));
        for unit in &var.name {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out.extend_from_slice(&var.data);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A length as a file field. The store's limits keep every length far
/// below 4 GiB; were one not, the saturated value makes the file fail to
/// load with a reason instead of silently wrapping.
fn le_len(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

/// An entry as laid out in the file, before its checks.
struct RawEntry<'a> {
    guid: Guid,
    attributes: u32,
    name: &'a [u8],
    data: &'a [u8],
}

/// Reads a file image, or says what is wrong with it.
fn decode(bytes: &[u8], path: &Path) -> Result<Vec<Variable>, VarsError> {
    check_magic(bytes, path)?;
    let mut r = Reader {
        bytes,
        pos: MAGIC.len(),
        path,
    };
    let version = u32::from_le_bytes(r.array(|| "the header".into())?);
    if version != VERSION {
        return Err(VarsError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let count = u32::from_le_bytes(r.array(|| "the header".into())?);
    // No capacity from `count`: it is untrusted; truncation ends the loop.
    let mut raw = Vec::new();
    for index in 0..count {
        raw.push(read_entry(&mut r, index)?);
    }
    check_tail(&r)?;
    let vars = raw
        .iter()
        .zip(0u32..)
        .map(|(entry, index)| check_entry(entry, index, path))
        .collect::<Result<Vec<_>, _>>()?;
    check_duplicates(&vars, path)?;
    Ok(vars)
}

/// Tells a truncated store from a file that is something else.
fn check_magic(bytes: &[u8], path: &Path) -> Result<(), VarsError> {
    match bytes.get(..MAGIC.len()) {
        Some(m) if m == MAGIC => Ok(()),
        None if MAGIC.starts_with(bytes) => Err(VarsError::Truncated {
            path: path.to_path_buf(),
            detail: format!(
                "the file is {} bytes long, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            ),
        }),
        _ => Err(VarsError::NotVariableStore {
            path: path.to_path_buf(),
        }),
    }
}

/// Walks one entry's fields, checking lengths before slicing by them.
fn read_entry<'a>(r: &mut Reader<'a>, index: u32) -> Result<RawEntry<'a>, VarsError> {
    let header = || format!("entry {index}'s header");
    let guid = Guid(r.array(header)?);
    let attributes = u32::from_le_bytes(r.array(header)?);
    let name_units = u32::from_le_bytes(r.array(header)?);
    let data_len = u32::from_le_bytes(r.array(header)?);
    let (name_units, data_len) = (name_units as usize, data_len as usize);
    let size = variable_size(name_units, data_len);
    if size > MAX_VARIABLE_SIZE {
        return Err(VarsError::MalformedEntry {
            path: r.path.to_path_buf(),
            index,
            reason: format!(
                "a name of {name_units} UTF-16 units and {data_len} bytes of data make {size} bytes, \
                 over the {MAX_VARIABLE_SIZE}-byte limit of one variable"
            ),
        });
    }
    let name = r.take(name_units.saturating_mul(2), || {
        format!("entry {index}'s name")
    })?;
    let data = r.take(data_len, || format!("entry {index}'s data"))?;
    Ok(RawEntry {
        guid,
        attributes,
        name,
        data,
    })
}

/// After the entries comes exactly the CRC, which must match.
fn check_tail(r: &Reader<'_>) -> Result<(), VarsError> {
    let path = r.path.to_path_buf();
    let body = r.bytes.get(..r.pos).unwrap_or_default();
    let rest = r.bytes.get(r.pos..).unwrap_or_default();
    let stored = match rest.len() {
        CRC_LEN => rest,
        n if n < CRC_LEN => {
            return Err(VarsError::Truncated {
                path,
                detail: format!(
                "the CRC-32 needs {CRC_LEN} bytes at offset {}, but the file is only {} bytes long",
                r.pos,
                r.bytes.len()
            ),
            })
        }
        n => {
            return Err(VarsError::TrailingData {
                path,
                count: n - CRC_LEN,
            })
        }
    };
    let mut crc = [0u8; CRC_LEN];
    crc.copy_from_slice(stored);
    let stored = u32::from_le_bytes(crc);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(VarsError::CrcMismatch {
            path,
            stored,
            computed,
        });
    }
    Ok(())
}

/// Accepts only what SetVariable itself could have stored.
fn check_entry(entry: &RawEntry<'_>, index: u32, path: &Path) -> Result<Variable, VarsError> {
    let name: Vec<u16> = entry
        .name
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let var = Variable {
        guid: entry.guid,
        name,
        attributes: entry.attributes,
        data: entry.data.to_vec(),
    };
    match entry_problem(&var) {
        Some(reason) => Err(VarsError::MalformedEntry {
            path: path.to_path_buf(),
            index,
            reason,
        }),
        None => Ok(var),
    }
}

/// Why a variable read from the file cannot be, if it cannot.
fn entry_problem(var: &Variable) -> Option<String> {
    let what = format!("variable {:?} ({})", var.display_name(), var.guid);
    if var.name.is_empty() {
        return Some(format!("variable of {} has an empty name", var.guid));
    }
    if var.name.contains(&0) {
        return Some(format!("{what} has a NUL inside its name"));
    }
    if !var.is_nv() {
        return Some(format!(
            "{what} is not NON_VOLATILE (attributes {:#x}); only non-volatile variables are saved",
            var.attributes
        ));
    }
    if let Err(why) = valid_stored_attributes(var.attributes) {
        return Some(format!("{what}: {why}"));
    }
    if var.data.is_empty() {
        return Some(format!(
            "{what} has no data (a UEFI variable without data does not exist)"
        ));
    }
    None
}

/// Each GUID+name at most once.
fn check_duplicates(vars: &[Variable], path: &Path) -> Result<(), VarsError> {
    let mut seen: BTreeMap<(Guid, &[u16]), u32> = BTreeMap::new();
    for (var, index) in vars.iter().zip(0u32..) {
        if let Some(first) = seen.insert((var.guid, &var.name), index) {
            return Err(VarsError::MalformedEntry {
                path: path.to_path_buf(),
                index,
                reason: format!(
                    "variable {:?} ({}) is also entry {first}",
                    var.display_name(),
                    var.guid
                ),
            });
        }
    }
    Ok(())
}

/// A cursor over the file that reports truncation instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: impl FnOnce() -> String) -> Result<&'a [u8], VarsError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end));
        match slice {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(VarsError::Truncated {
                path: self.path.to_path_buf(),
                detail: format!(
                    "{} needs {n} bytes at offset {}, but the file is only {} bytes long",
                    what(),
                    self.pos,
                    self.bytes.len()
                ),
            }),
        }
    }

    fn array<const N: usize>(
        &mut self,
        what: impl FnOnce() -> String,
    ) -> Result<[u8; N], VarsError> {
        let mut a = [0u8; N];
        // `take` returns exactly N bytes or an error.
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old file
/// or the new one: a temporary file in the same directory (rename is atomic
/// only within a filesystem), written and synced, renamed over, and the
/// directory synced so that the rename itself is durable.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(temp_name(file_name));
    let written = write_synced(&tmp, path, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // Best effort: the error that matters is the one reported.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// A name no other writer (process or save) uses at the same time.
fn temp_name(file_name: &std::ffi::OsStr) -> OsString {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut name = OsString::from(".");
    name.push(file_name);
    name.push(format!(".{}-{seq}.tmp", std::process::id()));
    name
}

/// Creates `tmp` (never reusing a file), with the permissions of the file it
/// will replace if there is one, and syncs the bytes to disk.
fn write_synced(tmp: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    if let Ok(meta) = fs::metadata(target) {
        file.set_permissions(meta.permissions())?;
    }
    file.sync_all()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing here; rename is what there is.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NV_BS_RT: u32 = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS;
    const NV_BS: u32 = ATTR_NON_VOLATILE | ATTR_BOOTSERVICE_ACCESS;
    const BS_RT: u32 = ATTR_BOOTSERVICE_ACCESS | ATTR_RUNTIME_ACCESS;
    const BS: u32 = ATTR_BOOTSERVICE_ACCESS;
    const G1: Guid = Guid::from_u128(0x8BE4DF61_93CA_11D2_AA0D_00E098032B8C);
    const G2: Guid = Guid::from_u128(0x12345678_9ABC_DEF0_1122_334455667788);

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn data_of<'a>(s: &'a VariableStore, name: &str, guid: &Guid) -> Option<&'a [u8]> {
        s.get(&u(name), guid, false).map(|v| v.data.as_slice())
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("armvm-vars-test-{}-{n}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create test dir");
            TempDir(dir)
        }

        fn file(&self) -> PathBuf {
            self.0.join("vars.bin")
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(&self.0)
                .expect("read test dir")
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    // ---- SetVariable / GetVariable ----

    #[test]
    fn set_get_delete() {
        let mut s = VariableStore::in_memory();
        s.set(&u("Foo"), &G1, NV_BS_RT, b"abc", false).unwrap();
        let v = s.get(&u("Foo"), &G1, false).unwrap();
        assert_eq!(v.attributes, NV_BS_RT);
        assert_eq!(v.data, b"abc");
        assert_eq!(v.name, u("Foo"));
        // Same name, other GUID: another variable.
        assert!(s.get(&u("Foo"), &G2, false).is_none());
        // Replace the data.
        s.set(&u("Foo"), &G1, NV_BS_RT, b"xy", false).unwrap();
        assert_eq!(data_of(&s, "Foo", &G1), Some(&b"xy"[..]));
        // Delete with empty data, then again: NotFound.
        s.set(&u("Foo"), &G1, NV_BS_RT, b"", false).unwrap();
        assert!(s.get(&u("Foo"), &G1, false).is_none());
        assert_eq!(
            s.set(&u("Foo"), &G1, NV_BS_RT, b"", false),
            Err(VarStatus::NotFound)
        );
        // Delete with attributes 0 even when data is given.
        s.set(&u("Bar"), &G1, BS, b"1", false).unwrap();
        s.set(&u("Bar"), &G1, 0, b"ignored", false).unwrap();
        assert!(s.get(&u("Bar"), &G1, false).is_none());
        assert_eq!(
            s.set(&u("Bar"), &G1, 0, b"", false),
            Err(VarStatus::NotFound)
        );
        assert_eq!(s.iter().count(), 0);
    }

    #[test]
    fn names_are_checked() {
        let mut s = VariableStore::in_memory();
        assert_eq!(
            s.set(&[], &G1, BS, b"x", false),
            Err(VarStatus::InvalidParameter)
        );
        assert_eq!(
            s.set(&[0x41, 0, 0x42], &G1, BS, b"x", false),
            Err(VarStatus::InvalidParameter)
        );
        assert_eq!(s.iter().count(), 0);
    }

    #[test]
    fn attribute_combinations() {
        let mut s = VariableStore::in_memory();
        let n = u("A");
        let cases = [
            (ATTR_RUNTIME_ACCESS, VarStatus::InvalidParameter),
            (
                ATTR_NON_VOLATILE | ATTR_RUNTIME_ACCESS,
                VarStatus::InvalidParameter,
            ),
            (ATTR_NON_VOLATILE, VarStatus::InvalidParameter),
            (NV_BS_RT | 0x100, VarStatus::InvalidParameter),
            (NV_BS_RT | 0x8000_0000, VarStatus::InvalidParameter),
            (
                NV_BS_RT | ATTR_AUTHENTICATED_WRITE_ACCESS,
                VarStatus::Unsupported,
            ),
            (
                NV_BS_RT | ATTR_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
                VarStatus::Unsupported,
            ),
            (
                NV_BS_RT | ATTR_ENHANCED_AUTHENTICATED_ACCESS,
                VarStatus::Unsupported,
            ),
            (
                NV_BS_RT | ATTR_HARDWARE_ERROR_RECORD,
                VarStatus::Unsupported,
            ),
        ];
        for (attrs, want) in cases {
            assert_eq!(s.set(&n, &G1, attrs, b"x", false), Err(want), "{attrs:#x}");
        }
        assert_eq!(s.iter().count(), 0);
        // Every legal combination works.
        for attrs in [BS, BS_RT, NV_BS, NV_BS_RT] {
            let name = u(&format!("V{attrs}"));
            s.set(&name, &G1, attrs, b"x", false).unwrap();
            assert_eq!(s.get(&name, &G1, false).unwrap().attributes, attrs);
        }
    }

    #[test]
    fn different_attributes_are_refused() {
        let mut s = VariableStore::in_memory();
        s.set(&u("Foo"), &G1, BS_RT, b"one", false).unwrap();
        for attrs in [NV_BS_RT, BS, NV_BS] {
            assert_eq!(
                s.set(&u("Foo"), &G1, attrs, b"two", false),
                Err(VarStatus::InvalidParameter)
            );
            // Deleting with the wrong (non-zero) attributes is refused too.
            assert_eq!(
                s.set(&u("Foo"), &G1, attrs, b"", false),
                Err(VarStatus::InvalidParameter)
            );
        }
        assert_eq!(data_of(&s, "Foo", &G1), Some(&b"one"[..]));
        // APPEND_WRITE is not a difference.
        s.set(&u("Foo"), &G1, BS_RT | ATTR_APPEND_WRITE, b"+", false)
            .unwrap();
        assert_eq!(data_of(&s, "Foo", &G1), Some(&b"one+"[..]));
        assert_eq!(s.get(&u("Foo"), &G1, false).unwrap().attributes, BS_RT);
    }

    #[test]
    fn append_write() {
        let mut s = VariableStore::in_memory();
        let ap = NV_BS_RT | ATTR_APPEND_WRITE;
        // Appending to nothing creates, without APPEND_WRITE in the attributes.
        s.set(&u("Log"), &G1, ap, b"ab", false).unwrap();
        assert_eq!(s.get(&u("Log"), &G1, false).unwrap().attributes, NV_BS_RT);
        s.set(&u("Log"), &G1, ap, b"cd", false).unwrap();
        assert_eq!(data_of(&s, "Log", &G1), Some(&b"abcd"[..]));
        // Appending nothing: success, no change, nothing to save.
        s.dirty = false;
        s.set(&u("Log"), &G1, ap, b"", false).unwrap();
        assert_eq!(data_of(&s, "Log", &G1), Some(&b"abcd"[..]));
        assert!(!s.dirty);
        // Appending nothing to a missing variable: success, nothing created.
        s.set(&u("Missing"), &G1, ap, b"", false).unwrap();
        assert!(s.get(&u("Missing"), &G1, false).is_none());
        // Attributes must match.
        assert_eq!(
            s.set(&u("Log"), &G1, BS_RT | ATTR_APPEND_WRITE, b"x", false),
            Err(VarStatus::InvalidParameter)
        );
        // Growing past the size limit is refused and changes nothing.
        let name_bytes = (u("Log").len() + 1) * 2;
        let room = MAX_VARIABLE_SIZE - name_bytes - 4;
        s.set(&u("Log"), &G1, ap, &vec![7; room], false).unwrap();
        assert_eq!(
            s.set(&u("Log"), &G1, ap, b"!", false),
            Err(VarStatus::InvalidParameter)
        );
        assert_eq!(s.get(&u("Log"), &G1, false).unwrap().data.len(), room + 4);
    }

    #[test]
    fn rewriting_the_same_data_is_not_a_change() {
        let mut s = VariableStore::in_memory();
        s.set(&u("Foo"), &G1, NV_BS, b"same", false).unwrap();
        s.dirty = false;
        s.set(&u("Foo"), &G1, NV_BS, b"same", false).unwrap();
        assert!(!s.dirty);
        s.set(&u("Foo"), &G1, NV_BS, b"diff", false).unwrap();
        assert!(s.dirty);
    }

    #[test]
    fn volatile_changes_do_not_dirty() {
        let mut s = VariableStore::in_memory();
        s.set(&u("V"), &G1, BS_RT, b"1", false).unwrap();
        s.set(&u("V"), &G1, BS_RT, b"2", false).unwrap();
        s.set(&u("V"), &G1, 0, b"", false).unwrap();
        assert!(!s.dirty);
    }

    // ---- runtime (after ExitBootServices) ----

    #[test]
    fn runtime_sees_only_runtime_variables() {
        let mut s = VariableStore::in_memory();
        s.set(&u("BsOnly"), &G1, NV_BS, b"1", false).unwrap();
        s.set(&u("Rt"), &G1, NV_BS_RT, b"2", false).unwrap();
        assert!(s.get(&u("BsOnly"), &G1, false).is_some());
        assert!(s.get(&u("BsOnly"), &G1, true).is_none());
        assert!(s.get(&u("Rt"), &G1, true).is_some());
        let first = s.next_name(&[], &G1, true).unwrap();
        assert_eq!(first, (u("Rt"), G1));
        assert_eq!(
            s.next_name(&first.0, &first.1, true),
            Err(VarStatus::NotFound)
        );
        // A hidden variable is no starting point either.
        assert_eq!(
            s.next_name(&u("BsOnly"), &G1, true),
            Err(VarStatus::InvalidParameter)
        );
        // get_str is the firmware's: no access check.
        assert!(s.get_str("BsOnly", &G1).is_some());
    }

    #[test]
    fn runtime_write_rules() {
        let mut s = VariableStore::in_memory();
        s.set(&u("BsOnly"), &G1, NV_BS, b"1", false).unwrap();
        s.set(&u("VolRt"), &G1, BS_RT, b"2", false).unwrap();
        s.set(&u("NvRt"), &G1, NV_BS_RT, b"3", false).unwrap();

        // Creating needs NV+BS+RT.
        for attrs in [BS, BS_RT, NV_BS] {
            assert_eq!(
                s.set(&u("New"), &G1, attrs, b"x", true),
                Err(VarStatus::InvalidParameter),
                "{attrs:#x}"
            );
        }
        s.set(&u("New"), &G1, NV_BS_RT, b"x", true).unwrap();
        assert_eq!(data_of(&s, "New", &G1), Some(&b"x"[..]));

        // Boot-services-only variables cannot be touched.
        assert_eq!(
            s.set(&u("BsOnly"), &G1, 0, b"", true),
            Err(VarStatus::NotFound)
        );
        assert_eq!(
            s.set(&u("BsOnly"), &G1, NV_BS_RT, b"y", true),
            Err(VarStatus::WriteProtected)
        );
        assert_eq!(data_of(&s, "BsOnly", &G1), Some(&b"1"[..]));

        // Volatile runtime variables are read-only.
        assert_eq!(
            s.set(&u("VolRt"), &G1, BS_RT, b"z", true),
            Err(VarStatus::WriteProtected)
        );
        assert_eq!(
            s.set(&u("VolRt"), &G1, 0, b"", true),
            Err(VarStatus::WriteProtected)
        );
        assert_eq!(data_of(&s, "VolRt", &G1), Some(&b"2"[..]));

        // NV runtime variables can be updated, appended to and deleted
        // (Linux deletes with attributes 0).
        s.set(&u("NvRt"), &G1, NV_BS_RT, b"4", true).unwrap();
        s.set(&u("NvRt"), &G1, NV_BS_RT | ATTR_APPEND_WRITE, b"5", true)
            .unwrap();
        assert_eq!(data_of(&s, "NvRt", &G1), Some(&b"45"[..]));
        s.set(&u("NvRt"), &G1, 0, b"", true).unwrap();
        assert!(s.get(&u("NvRt"), &G1, false).is_none());
    }

    // ---- GetNextVariableName ----

    fn enumerate(s: &VariableStore, runtime: bool) -> Vec<(Vec<u16>, Guid)> {
        let mut out = Vec::new();
        let (mut name, mut guid) = (Vec::new(), Guid::default());
        loop {
            match s.next_name(&name, &guid, runtime) {
                Ok(next) => {
                    assert!(out.len() <= s.iter().count(), "enumeration does not end");
                    out.push(next.clone());
                    (name, guid) = next;
                }
                Err(e) => {
                    assert_eq!(e, VarStatus::NotFound);
                    return out;
                }
            }
        }
    }

    #[test]
    fn next_name_enumerates_each_visible_variable_once() {
        let mut s = VariableStore::in_memory();
        let mut want_all = Vec::new();
        let mut want_rt = Vec::new();
        for (i, name) in ["Boot0001", "BootOrder", "Zeta", "a", "Boot0000"]
            .iter()
            .enumerate()
        {
            for (j, guid) in [G1, G2].iter().enumerate() {
                let attrs = [NV_BS_RT, BS, NV_BS, BS_RT][(i + j) % 4];
                s.set(&u(name), guid, attrs, b"d", false).unwrap();
                want_all.push((u(name), *guid));
                if attrs & ATTR_RUNTIME_ACCESS != 0 {
                    want_rt.push((u(name), *guid));
                }
            }
        }
        for (runtime, want) in [(false, &mut want_all), (true, &mut want_rt)] {
            let got = enumerate(&s, runtime);
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), got.len(), "duplicates in {got:?}");
            want.sort();
            assert_eq!(&sorted, want);
            // The same order every time while the store is unchanged.
            assert_eq!(enumerate(&s, runtime), got);
        }
    }

    #[test]
    fn next_name_edge_cases() {
        let mut s = VariableStore::in_memory();
        assert_eq!(s.next_name(&[], &G1, false), Err(VarStatus::NotFound));
        s.set(&u("Only"), &G1, BS, b"1", false).unwrap();
        assert_eq!(s.next_name(&[], &G2, false), Ok((u("Only"), G1)));
        assert_eq!(
            s.next_name(&u("Nope"), &G1, false),
            Err(VarStatus::InvalidParameter)
        );
        assert_eq!(
            s.next_name(&u("Only"), &G2, false),
            Err(VarStatus::InvalidParameter)
        );
        assert_eq!(
            s.next_name(&u("Only"), &G1, false),
            Err(VarStatus::NotFound)
        );
    }

    // ---- limits and QueryVariableInfo ----

    #[test]
    fn variable_size_limit() {
        let mut s = VariableStore::in_memory();
        let name = u("Big");
        let fits = MAX_VARIABLE_SIZE - (name.len() + 1) * 2;
        assert_eq!(
            s.set(&name, &G1, NV_BS, &vec![1; fits + 1], false),
            Err(VarStatus::InvalidParameter)
        );
        assert!(s.get(&name, &G1, false).is_none());
        s.set(&name, &G1, NV_BS, &vec![1; fits], false).unwrap();
        assert_eq!(s.get(&name, &G1, false).unwrap().data.len(), fits);
    }

    /// Fills one kind of storage with `attrs` variables until it refuses.
    fn fill(s: &mut VariableStore, attrs: u32) -> usize {
        let chunk = vec![0xAB; 60 * 1024];
        // Twice what could ever fit: the limit must have been hit by then.
        for i in 0..2 * MAX_STORAGE / chunk.len() {
            match s.set(&u(&format!("Fill{i:04}")), &G2, attrs, &chunk, false) {
                Ok(()) => {}
                Err(e) => {
                    assert_eq!(e, VarStatus::OutOfResources);
                    return i;
                }
            }
        }
        panic!("{} bytes stored without OutOfResources", 2 * MAX_STORAGE)
    }

    #[test]
    fn storage_limit_and_query_info() {
        let mut s = VariableStore::in_memory();
        let (max, remaining, max_var) = s.query_info(NV_BS, false).unwrap();
        assert_eq!(
            (max, remaining, max_var),
            (
                MAX_STORAGE as u64,
                MAX_STORAGE as u64,
                MAX_VARIABLE_SIZE as u64
            )
        );
        s.set(&u("A"), &G1, NV_BS, b"12345", false).unwrap();
        let entry = (ENTRY_HEADER_LEN + 2 + 5) as u64;
        assert_eq!(s.query_info(NV_BS_RT, false).unwrap().1, max - entry);
        // Volatile storage is counted apart.
        assert_eq!(s.query_info(BS, false).unwrap().1, max);

        let n = fill(&mut s, NV_BS);
        assert!(n > 0);
        let remaining = s.query_info(NV_BS, false).unwrap().1;
        assert!(remaining < (ENTRY_HEADER_LEN + 16 + 60 * 1024) as u64);
        // Full NV storage does not stop volatile variables...
        s.set(&u("Vol"), &G1, BS, b"v", false).unwrap();
        // ...nor a smaller rewrite, nor deletes, which give room back.
        s.set(&u("Fill0000"), &G2, NV_BS, b"small", false).unwrap();
        assert!(s.query_info(NV_BS, false).unwrap().1 > remaining);
        s.set(&u("Fill0001"), &G2, 0, b"", false).unwrap();
        s.set(&u("Again"), &G2, NV_BS, &vec![1; 60 * 1024], false)
            .unwrap();

        // The volatile budget refuses too.
        let mut v = VariableStore::in_memory();
        assert!(fill(&mut v, BS) > 0);
        assert_eq!(v.query_info(NV_BS, false).unwrap().1, max);
    }

    #[test]
    fn accounting_matches_contents() {
        // A pseudo-random mix of operations; the running counters must equal
        // a recount after each, and every stored variable must be valid.
        let mut s = VariableStore::in_memory();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let attrs = [0, BS, BS_RT, NV_BS, NV_BS_RT, NV_BS_RT | ATTR_APPEND_WRITE];
        for _ in 0..3000 {
            let name = u(&format!("N{}", rng.below(12)));
            let guid = if rng.below(2) == 0 { G1 } else { G2 };
            let a = attrs[rng.below(attrs.len() as u64) as usize];
            let data = vec![rng.next_u64() as u8; rng.below(40) as usize];
            let runtime = rng.below(4) == 0;
            let _ = s.set(&name, &guid, a, &data, runtime);
            let recount = |nv: bool| -> usize {
                s.iter()
                    .filter(|v| v.is_nv() == nv)
                    .map(Variable::footprint)
                    .sum()
            };
            assert_eq!(s.nv_used, recount(true));
            assert_eq!(s.volatile_used, recount(false));
            for v in s.iter() {
                assert_eq!(check_name(&v.name), Ok(()));
                assert_eq!(valid_stored_attributes(v.attributes), Ok(()));
                assert!(!v.data.is_empty());
            }
        }
    }

    #[test]
    fn query_info_checks_attributes() {
        let s = VariableStore::in_memory();
        for (attrs, runtime, want) in [
            (0, false, VarStatus::InvalidParameter),
            (ATTR_RUNTIME_ACCESS, false, VarStatus::InvalidParameter),
            (
                ATTR_NON_VOLATILE | ATTR_RUNTIME_ACCESS,
                false,
                VarStatus::InvalidParameter,
            ),
            (ATTR_NON_VOLATILE, false, VarStatus::InvalidParameter),
            (NV_BS_RT | 0x200, false, VarStatus::InvalidParameter),
            (NV_BS, true, VarStatus::InvalidParameter),
            (
                NV_BS_RT | ATTR_AUTHENTICATED_WRITE_ACCESS,
                false,
                VarStatus::Unsupported,
            ),
            (
                NV_BS_RT | ATTR_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
                false,
                VarStatus::Unsupported,
            ),
            (
                NV_BS_RT | ATTR_HARDWARE_ERROR_RECORD,
                false,
                VarStatus::Unsupported,
            ),
        ] {
            assert_eq!(
                s.query_info(attrs, runtime),
                Err(want),
                "{attrs:#x} {runtime}"
            );
        }
        assert!(s.query_info(NV_BS_RT, true).is_ok());
        assert!(s.query_info(BS_RT, true).is_ok());
    }

    // ---- firmware access ----

    #[test]
    fn firmware_writes_bypass_access_checks() {
        let mut s = VariableStore::in_memory();
        s.set(&u("BootNext"), &G1, NV_BS_RT, &[1, 0], false)
            .unwrap();
        // Replaces data and attributes alike.
        s.set_firmware("BootNext", &G1, NV_BS, &[2, 0]);
        let v = s.get_str("BootNext", &G1).unwrap();
        assert_eq!((v.attributes, v.data.as_slice()), (NV_BS, &[2u8, 0][..]));
        s.set_firmware("BootCurrent", &G1, BS_RT, &[2, 0]);
        assert_eq!(data_of(&s, "BootCurrent", &G1), Some(&[2u8, 0][..]));
        assert!(s.delete_firmware("BootNext", &G1));
        assert!(!s.delete_firmware("BootNext", &G1));
        s.set_firmware("BootCurrent", &G1, BS_RT, &[]);
        assert!(s.get_str("BootCurrent", &G1).is_none());
        // Over the size limit: dropped, not stored.
        s.set_firmware("Huge", &G1, NV_BS, &vec![0; MAX_VARIABLE_SIZE]);
        assert!(s.get_str("Huge", &G1).is_none());
    }

    #[test]
    fn efi_status_values() {
        assert_eq!(
            VarStatus::InvalidParameter.efi_status(),
            0x8000_0000_0000_0002
        );
        assert_eq!(VarStatus::Unsupported.efi_status(), 0x8000_0000_0000_0003);
        assert_eq!(
            VarStatus::WriteProtected.efi_status(),
            0x8000_0000_0000_0008
        );
        assert_eq!(
            VarStatus::OutOfResources.efi_status(),
            0x8000_0000_0000_0009
        );
        assert_eq!(VarStatus::NotFound.efi_status(), 0x8000_0000_0000_000E);
        assert_eq!(
            VarStatus::SecurityViolation.efi_status(),
            0x8000_0000_0000_001A
        );
    }

    // ---- the file ----

    #[test]
    fn persistence_round_trip() {
        let dir = TempDir::new("roundtrip");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        assert_eq!(s.iter().count(), 0);
        assert_eq!(s.path(), Some(path.as_path()));
        s.set(&u("BootOrder"), &G1, NV_BS_RT, &[1, 0, 0, 0], false)
            .unwrap();
        s.set(&u("Ünïcødé✓"), &G2, NV_BS, &[0xFF; 300], false)
            .unwrap();
        s.set(&u("Volatile"), &G1, BS_RT, b"gone", false).unwrap();
        s.save().unwrap();
        assert!(path.exists());

        let t = VariableStore::open(&path).unwrap();
        let nv: Vec<&Variable> = s.iter().filter(|v| v.is_nv()).collect();
        let loaded: Vec<&Variable> = t.iter().collect();
        assert_eq!(loaded, nv);
        assert!(t.get_str("Volatile", &G1).is_none());
        assert_eq!(t.nv_used, s.nv_used);
        // The file is exactly what encode makes of the NV variables.
        assert_eq!(fs::read(&path).unwrap(), encode(nv.into_iter()));
    }

    #[test]
    fn save_writes_only_after_nv_changes() {
        let dir = TempDir::new("nowrite");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        // Nothing at all, then only volatile changes: no file.
        s.save().unwrap();
        s.set(&u("Vol"), &G1, BS, b"1", false).unwrap();
        s.save().unwrap();
        assert!(!path.exists());
        // An NV change is saved.
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap();
        s.save().unwrap();
        assert!(path.exists());
        // Saved once: with the file gone, a second save must not recreate it.
        fs::remove_file(&path).unwrap();
        s.save().unwrap();
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap(); // same data
        s.set(&u("Vol"), &G1, BS, b"2", false).unwrap();
        s.save().unwrap();
        assert!(!path.exists());
        // A delete is a change.
        s.set(&u("Nv"), &G1, 0, b"", false).unwrap();
        s.save().unwrap();
        assert!(path.exists());
        assert_eq!(VariableStore::open(&path).unwrap().iter().count(), 0);
        // Opening an existing file is not a change either.
        let mut reopened = VariableStore::open(&path).unwrap();
        fs::remove_file(&path).unwrap();
        reopened.save().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn in_memory_save_does_nothing() {
        let mut s = VariableStore::in_memory();
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap();
        s.save().unwrap();
        assert_eq!(s.path(), None);
    }

    #[test]
    fn save_leaves_no_temporary_files() {
        let dir = TempDir::new("atomic");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        for i in 0..5u8 {
            s.set(&u("Counter"), &G1, NV_BS_RT, &[i], false).unwrap();
            s.save().unwrap();
            assert_eq!(dir.entries(), vec!["vars.bin".to_string()]);
        }
        assert_eq!(
            data_of(&VariableStore::open(&path).unwrap(), "Counter", &G1),
            Some(&[4u8][..])
        );
    }

    #[test]
    fn failed_save_keeps_changes_pending() {
        let dir = TempDir::new("failsave");
        let path = dir.0.join("no-such-dir").join("vars.bin");
        let mut s = VariableStore::open(&path).unwrap();
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap();
        assert!(s.save().is_err());
        fs::create_dir(dir.0.join("no-such-dir")).unwrap();
        s.save().unwrap();
        assert!(path.exists());
    }

    #[test]
    fn failed_rename_leaves_no_temporary_file() {
        let dir = TempDir::new("failrename");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap();
        // A non-empty directory where the file goes: the rename fails after
        // the temporary file was written.
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        assert!(s.save().is_err());
        assert_eq!(dir.entries(), vec!["vars.bin".to_string()]);
        assert!(path.is_dir());
    }

    #[test]
    #[cfg(unix)]
    fn save_keeps_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("perms");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        s.set(&u("Nv"), &G1, NV_BS, b"1", false).unwrap();
        s.save().unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        s.set(&u("Nv"), &G1, NV_BS, b"2", false).unwrap();
        s.save().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn corrupt_file_is_refused_and_left_alone() {
        let dir = TempDir::new("corrupt");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        s.set(&u("BootOrder"), &G1, NV_BS_RT, &[1, 0], false)
            .unwrap();
        s.save().unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last_data = bytes.len() - CRC_LEN - 1;
        bytes[last_data] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let err = VariableStore::open(&path).unwrap_err();
        assert!(matches!(err, VarsError::CrcMismatch { .. }), "{err}");
        assert!(err.to_string().contains("vars.bin"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
        assert_eq!(dir.entries(), vec!["vars.bin".to_string()]);
    }

    #[test]
    fn edk2_image_gets_a_pointer_to_bios() {
        let dir = TempDir::new("edk2");
        let path = dir.file();
        // An erased flash: what an EDK2 VARS image of an unused VM looks like.
        let bytes = vec![0xFFu8; 4096];
        fs::write(&path, &bytes).unwrap();
        let err = VariableStore::open(&path).unwrap_err();
        assert!(matches!(err, VarsError::NotVariableStore { .. }));
        assert!(err.to_string().contains("--bios"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn oversized_file_is_refused_unread() {
        let dir = TempDir::new("big");
        let path = dir.file();
        let mut bytes = encode(std::iter::empty());
        bytes.resize(MAX_FILE_LEN + 1, 0);
        fs::write(&path, &bytes).unwrap();
        let err = VariableStore::open(&path).unwrap_err();
        assert!(matches!(err, VarsError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn unreadable_path_is_an_io_error() {
        let dir = TempDir::new("io");
        // A directory where the file should be.
        let err = VariableStore::open(&dir.0).unwrap_err();
        assert!(matches!(err, VarsError::Io { .. }), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn full_storage_round_trips() {
        let dir = TempDir::new("full");
        let path = dir.file();
        let mut s = VariableStore::open(&path).unwrap();
        fill(&mut s, NV_BS);
        s.save().unwrap();
        assert!(fs::metadata(&path).unwrap().len() as usize <= MAX_FILE_LEN);
        let t = VariableStore::open(&path).unwrap();
        assert_eq!(t.iter().count(), s.iter().count());
    }

    // ---- rejected file contents ----

    fn decode_bytes(bytes: &[u8]) -> Result<Vec<Variable>, VarsError> {
        decode(bytes, Path::new("test.vars"))
    }

    /// One entry with the given fields, lengths as declared.
    fn raw_entry(guid: Guid, attrs: u32, name: &[u16], data: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&guid.0);
        e.extend_from_slice(&attrs.to_le_bytes());
        e.extend_from_slice(&(name.len() as u32).to_le_bytes());
        e.extend_from_slice(&(data.len() as u32).to_le_bytes());
        for c in name {
            e.extend_from_slice(&c.to_le_bytes());
        }
        e.extend_from_slice(data);
        e
    }

    /// A file of raw entries with a correct CRC.
    fn file_of(version: u32, count: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&version.to_le_bytes());
        f.extend_from_slice(&count.to_le_bytes());
        for e in entries {
            f.extend_from_slice(e);
        }
        fix_crc_appended(f)
    }

    fn fix_crc_appended(mut body: Vec<u8>) -> Vec<u8> {
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    }

    fn malformed_reason(bytes: &[u8], want_index: u32) -> String {
        match decode_bytes(bytes) {
            Err(VarsError::MalformedEntry { index, reason, .. }) => {
                assert_eq!(index, want_index, "{reason}");
                reason
            }
            other => panic!("expected a malformed entry, got {other:?}"),
        }
    }

    fn good_entry(name: &str) -> Vec<u8> {
        raw_entry(G1, NV_BS_RT, &u(name), b"data")
    }

    #[test]
    fn valid_files_load() {
        assert_eq!(decode_bytes(&file_of(1, 0, &[])).unwrap(), vec![]);
        let vars = decode_bytes(&file_of(1, 2, &[good_entry("A"), good_entry("B")])).unwrap();
        assert_eq!(vars.len(), 2);
        assert_eq!(vars[1].name, u("B"));
        assert_eq!(vars[1].data, b"data");
        assert_eq!(vars[1].attributes, NV_BS_RT);
    }

    #[test]
    fn header_problems() {
        let good = file_of(1, 1, &[good_entry("A")]);
        // Not ours.
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            decode_bytes(&bad),
            Err(VarsError::NotVariableStore { .. })
        ));
        assert!(matches!(
            decode_bytes(b"hello"),
            Err(VarsError::NotVariableStore { .. })
        ));
        // Another version, even with a correct CRC.
        for v in [0, 2, u32::MAX] {
            match decode_bytes(&file_of(v, 1, &[good_entry("A")])) {
                Err(VarsError::UnsupportedVersion { version, .. }) => assert_eq!(version, v),
                other => panic!("version {v}: {other:?}"),
            }
        }
        // Every truncation of a good file, the empty file included.
        for len in 0..good.len() {
            let err = decode_bytes(&good[..len]).unwrap_err();
            assert!(matches!(err, VarsError::Truncated { .. }), "{len}: {err}");
        }
        // The count says more than there is.
        let err = decode_bytes(&file_of(1, 2, &[good_entry("A")])).unwrap_err();
        assert!(matches!(err, VarsError::Truncated { .. }), "{err}");
        // Bytes after the last entry.
        let err = decode_bytes(&file_of(1, 0, &[good_entry("A")])).unwrap_err();
        assert!(
            matches!(err, VarsError::TrailingData { count: 34, .. }),
            "{err}"
        );
        // A flipped bit anywhere past the header: CRC (or worse), never Ok.
        for at in HEADER_LEN..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert!(decode_bytes(&bad).is_err(), "flip at {at}");
        }
        let mut bad = good.clone();
        let data_at = good.len() - CRC_LEN - 2;
        bad[data_at] ^= 0x10;
        assert!(matches!(
            decode_bytes(&bad),
            Err(VarsError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn entry_problems() {
        let ok = good_entry("First");
        let e = |entry: Vec<u8>| file_of(1, 2, &[ok.clone(), entry]);
        let r = malformed_reason(&e(raw_entry(G1, BS_RT, &u("Vol"), b"d")), 1);
        assert!(r.contains("NON_VOLATILE"), "{r}");
        let r = malformed_reason(&e(raw_entry(G1, NV_BS, &[], b"d")), 1);
        assert!(r.contains("empty name"), "{r}");
        let r = malformed_reason(&e(raw_entry(G1, NV_BS, &[0x41, 0], b"d")), 1);
        assert!(r.contains("NUL"), "{r}");
        let r = malformed_reason(&e(raw_entry(G1, NV_BS, &u("E"), b"")), 1);
        assert!(r.contains("no data"), "{r}");
        for attrs in [
            ATTR_NON_VOLATILE,
            ATTR_NON_VOLATILE | ATTR_RUNTIME_ACCESS,
            NV_BS | ATTR_APPEND_WRITE,
            NV_BS | ATTR_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
            NV_BS | 0x1000,
        ] {
            malformed_reason(&e(raw_entry(G1, attrs, &u("X"), b"d")), 1);
        }
        // Same name, same GUID: a duplicate; another GUID is fine.
        let r = malformed_reason(&e(good_entry("First")), 1);
        assert!(r.contains("entry 0"), "{r}");
        let other_guid = raw_entry(G2, NV_BS_RT, &u("First"), b"data");
        assert_eq!(decode_bytes(&e(other_guid)).unwrap().len(), 2);
    }

    #[test]
    fn entry_size_limits() {
        // Over the limit by one byte, with the bytes really there.
        let name = u("Big");
        let fits = MAX_VARIABLE_SIZE - (name.len() + 1) * 2;
        let at_limit = raw_entry(G1, NV_BS, &name, &vec![1; fits]);
        assert_eq!(decode_bytes(&file_of(1, 1, &[at_limit])).unwrap().len(), 1);
        let over = raw_entry(G1, NV_BS, &name, &vec![1; fits + 1]);
        let r = malformed_reason(&file_of(1, 1, &[over]), 0);
        assert!(r.contains("limit"), "{r}");
        // Absurd declared lengths are refused before anything is sliced.
        for (name_units, data_len) in [(u32::MAX, 1), (1, u32::MAX), (u32::MAX, u32::MAX)] {
            let mut entry = raw_entry(G1, NV_BS, &u("A"), b"d");
            entry[20..24].copy_from_slice(&name_units.to_le_bytes());
            entry[24..28].copy_from_slice(&data_len.to_le_bytes());
            malformed_reason(&file_of(1, 1, &[entry]), 0);
        }
    }

    // ---- robustness ----

    /// xorshift64*: deterministic, good enough to shake the parser.
    struct XorShift(u64);

    impl XorShift {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
    }

    /// What a successfully decoded file must satisfy.
    fn assert_sane(vars: &[Variable]) {
        let mut keys = std::collections::BTreeSet::new();
        for v in vars {
            assert_eq!(entry_problem(v), None);
            assert!(variable_size(v.name.len(), v.data.len()) <= MAX_VARIABLE_SIZE);
            assert!(keys.insert((v.guid, v.name.clone())));
        }
    }

    fn mutate(rng: &mut XorShift, base: &[u8]) -> Vec<u8> {
        let mut b = base.to_vec();
        match rng.below(6) {
            // Pure noise, sometimes behind a good magic and version.
            0 => {
                let len = rng.below(300) as usize;
                b = (0..len).map(|_| rng.next_u64() as u8).collect();
                if rng.below(2) == 0 && b.len() >= 12 {
                    b[..8].copy_from_slice(MAGIC);
                    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
                }
            }
            // Flipped bytes.
            1 => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= (rng.next_u64() as u8) | 1;
                }
            }
            // Cut short.
            2 => b.truncate(rng.below(b.len() as u64) as usize),
            // Bytes inserted in the middle.
            3 => {
                let at = rng.below(b.len() as u64) as usize;
                for _ in 0..=rng.below(8) {
                    b.insert(at, rng.next_u64() as u8);
                }
            }
            // A length, count or attribute field overwritten with an
            // interesting value.
            4 => {
                let at = rng.below(b.len().saturating_sub(4) as u64) as usize;
                let v: u32 = match rng.below(5) {
                    0 => 0,
                    1 => u32::MAX,
                    2 => rng.below(8) as u32,
                    3 => (MAX_VARIABLE_SIZE / 2) as u32,
                    _ => rng.next_u64() as u32,
                };
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            // Random entry bytes after a valid header.
            _ => {
                b.truncate(HEADER_LEN);
                for _ in 0..rng.below(200) {
                    b.push(if rng.below(3) == 0 {
                        0
                    } else {
                        rng.next_u64() as u8
                    });
                }
            }
        }
        // Most mutations only reach the CRC check; fix it up half of the time
        // so that the entry checks see the damage.
        if rng.below(2) == 0 && b.len() >= CRC_LEN {
            b.truncate(b.len() - CRC_LEN);
            b = fix_crc_appended(b);
        }
        b
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let base = file_of(
            1,
            3,
            &[
                good_entry("Boot0000"),
                raw_entry(G2, NV_BS, &u("X"), &[9; 17]),
                good_entry("BootOrder"),
            ],
        );
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let (mut ok, mut err) = (0, 0);
        for _ in 0..50_000 {
            let bytes = mutate(&mut rng, &base);
            match decode_bytes(&bytes) {
                Ok(vars) => {
                    assert_sane(&vars);
                    // What loads saves back to something that loads the same.
                    let again = decode_bytes(&encode(vars.iter())).unwrap();
                    assert_eq!(again, vars);
                    ok += 1;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    err += 1;
                }
            }
        }
        // Both paths were exercised.
        assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
    }
}
