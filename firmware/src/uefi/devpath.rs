//! UEFI device paths (UEFI 2.10 chapter 10, "Device Path Protocol").
//!
//! Guests hand the firmware device paths in guest memory (LoadImage, the
//! Boot#### variables, LocateDevicePath); the firmware also builds paths for
//! its own handles. A path is a chain of nodes, each `Type u8, SubType u8,
//! Length u16 (little-endian, header included)` followed by its data, and is
//! closed by an End-Entire node (0x7F/0xFF). Everything here is parsed from
//! untrusted bytes, so every length is checked before it is used and no input
//! can make the parser panic.

use std::fmt;

use super::guid::Guid;

// Node types and subtypes that are decoded into their own variants (§10.3).
const TYPE_HARDWARE: u8 = 0x01;
const HW_MEMORY_MAPPED: u8 = 0x03;
const HW_VENDOR: u8 = 0x04;
const TYPE_MEDIA: u8 = 0x04;
const MEDIA_HARD_DRIVE: u8 = 0x01;
const MEDIA_VENDOR: u8 = 0x03;
const MEDIA_FILE_PATH: u8 = 0x04;
const TYPE_END: u8 = 0x7F;
const END_INSTANCE: u8 = 0x01;
const END_ENTIRE: u8 = 0xFF;

const HEADER_LEN: usize = 4;
/// The length field is 16 bits wide, header included.
const MAX_NODE_LEN: usize = u16::MAX as usize;
const MAX_BODY_LEN: usize = MAX_NODE_LEN - HEADER_LEN;
const MEMORY_MAPPED_LEN: usize = 24;
const HARD_DRIVE_LEN: usize = 42;
const VENDOR_MIN_LEN: usize = HEADER_LEN + 16;
/// UTF-16 units a FilePath node can hold besides its NUL terminator.
const MAX_FILE_UNITS: usize = MAX_BODY_LEN / 2 - 1;

/// One device path node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// Hardware / Vendor (1/4): a vendor GUID and vendor-defined data.
    VendorHw { guid: Guid, data: Vec<u8> },
    /// Hardware / Memory Mapped (1/3): an EFI_MEMORY_TYPE and an inclusive
    /// address range.
    MemoryMapped {
        memory_type: u32,
        start: u64,
        end: u64,
    },
    /// Media / Hard Drive (4/1): a partition. `format` is 1 for MBR, 2 for
    /// GPT; `signature_type` 0 for none, 1 for an MBR disk signature (first
    /// four bytes of `signature`), 2 for the GPT partition GUID.
    HardDrive {
        partition: u32,
        start_lba: u64,
        size_lba: u64,
        signature: [u8; 16],
        format: u8,
        signature_type: u8,
    },
    /// Media / File Path (4/4): one piece of a file path. Encoded as UTF-16
    /// up to the first NUL; a `'\0'` in the string ends it.
    FilePath(String),
    /// Media / Vendor (4/3), e.g. the Linux initrd LoadFile2 path.
    VendorMedia { guid: Guid, data: Vec<u8> },
    /// Any other node, kept verbatim (`data` excludes the 4-byte header).
    /// Never an End node: those are implied by the path structure.
    Other {
        kind: u8,
        subtype: u8,
        data: Vec<u8>,
    },
}

/// One device path instance; its End node is implied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicePath {
    pub nodes: Vec<Node>,
}

/// What is wrong with a device path; offsets count from the start of the
/// bytes handed to the parser.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("device path has no End-Entire node (input ends at byte {offset})")]
    MissingEnd { offset: usize },
    #[error("node header at byte {offset} is cut off ({available} of 4 bytes present)")]
    TruncatedHeader { offset: usize, available: usize },
    #[error("node at byte {offset} has length {length}, less than its 4-byte header")]
    LengthTooSmall { offset: usize, length: u16 },
    #[error("node at byte {offset} has length {length} but only {available} bytes remain")]
    NodeOverrun {
        offset: usize,
        length: u16,
        available: usize,
    },
    #[error("{node} node at byte {offset} has length {length}; it must be {expected}")]
    WrongLength {
        offset: usize,
        node: &'static str,
        length: u16,
        expected: &'static str,
    },
    #[error("FilePath node at byte {offset} has no NUL terminator")]
    UnterminatedFilePath { offset: usize },
    #[error("FilePath node at byte {offset} is not valid UTF-16: unpaired surrogate {unit:#06X} at byte {at}")]
    InvalidUtf16 { offset: usize, at: usize, unit: u16 },
    #[error("End-Instance node at byte {offset} in a single-instance device path")]
    UnexpectedEndInstance { offset: usize },
    #[error("End node at byte {offset} has unknown subtype {subtype:#04X}")]
    UnknownEndSubtype { offset: usize, subtype: u8 },
    #[error("cannot read guest memory at byte {offset} of the device path")]
    Unreadable { offset: u64 },
    #[error("device path is longer than {max_len} bytes")]
    TooLong { max_len: usize },
}

impl Node {
    fn kind_subtype(&self) -> (u8, u8) {
        match self {
            Node::VendorHw { .. } => (TYPE_HARDWARE, HW_VENDOR),
            Node::MemoryMapped { .. } => (TYPE_HARDWARE, HW_MEMORY_MAPPED),
            Node::HardDrive { .. } => (TYPE_MEDIA, MEDIA_HARD_DRIVE),
            Node::FilePath(_) => (TYPE_MEDIA, MEDIA_FILE_PATH),
            Node::VendorMedia { .. } => (TYPE_MEDIA, MEDIA_VENDOR),
            Node::Other { kind, subtype, .. } => (*kind, *subtype),
        }
    }

    /// Encoded size, header included. Data that a 16-bit length cannot
    /// describe is dropped (see `write_to`), so this never exceeds 65535.
    pub fn byte_len(&self) -> usize {
        HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        match self {
            Node::VendorHw { data, .. } | Node::VendorMedia { data, .. } => {
                16 + vendor_data(data).len()
            }
            Node::MemoryMapped { .. } => MEMORY_MAPPED_LEN - HEADER_LEN,
            Node::HardDrive { .. } => HARD_DRIVE_LEN - HEADER_LEN,
            Node::FilePath(text) => (encodable_text(text).encode_utf16().count() + 1) * 2,
            Node::Other { data, .. } => other_data(data).len(),
        }
    }

    /// The node as it sits in memory.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        self.write_to(&mut out);
        out
    }

    /// Appends the encoded node. Oversized data (only constructible in Rust,
    /// never produced by the parser) is cut so the length field stays true:
    /// a wrong length would corrupt every node after this one.
    fn write_to(&self, out: &mut Vec<u8>) {
        let (kind, subtype) = self.kind_subtype();
        // byte_len() <= MAX_NODE_LEN by construction of body_len().
        let len = u16::try_from(self.byte_len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[kind, subtype]);
        out.extend_from_slice(&len.to_le_bytes());
        self.write_body(out);
    }

    fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            Node::VendorHw { guid, data } | Node::VendorMedia { guid, data } => {
                out.extend_from_slice(&guid.0);
                out.extend_from_slice(vendor_data(data));
            }
            Node::MemoryMapped {
                memory_type,
                start,
                end,
            } => {
                out.extend_from_slice(&memory_type.to_le_bytes());
                out.extend_from_slice(&start.to_le_bytes());
                out.extend_from_slice(&end.to_le_bytes());
            }
            Node::HardDrive {
                partition,
                start_lba,
                size_lba,
                signature,
                format,
                signature_type,
            } => {
                out.extend_from_slice(&partition.to_le_bytes());
                out.extend_from_slice(&start_lba.to_le_bytes());
                out.extend_from_slice(&size_lba.to_le_bytes());
                out.extend_from_slice(signature);
                out.extend_from_slice(&[*format, *signature_type]);
            }
            Node::FilePath(text) => {
                for unit in encodable_text(text).encode_utf16().chain([0]) {
                    out.extend_from_slice(&unit.to_le_bytes());
                }
            }
            Node::Other { data, .. } => out.extend_from_slice(other_data(data)),
        }
    }
}

fn vendor_data(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_BODY_LEN - 16)]
}

fn other_data(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_BODY_LEN)]
}

/// The part of a FilePath string that is written: up to the first NUL (the
/// terminator a reader would stop at) and no more whole characters than fit
/// in one node.
fn encodable_text(text: &str) -> &str {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        if c == '\0' || units + c.len_utf16() > MAX_FILE_UNITS {
            return &text[..at];
        }
        units += c.len_utf16();
    }
    text
}

/// A node as found in the input, before its data is interpreted.
struct RawNode<'a> {
    kind: u8,
    subtype: u8,
    body: &'a [u8],
    offset: usize,
}

impl RawNode<'_> {
    fn len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    fn length_field(&self) -> u16 {
        u16::try_from(self.len()).unwrap_or(u16::MAX)
    }

    fn wrong_length(&self, node: &'static str, expected: &'static str) -> PathError {
        PathError::WrongLength {
            offset: self.offset,
            node,
            length: self.length_field(),
            expected,
        }
    }

    fn expect_len(
        &self,
        node: &'static str,
        len: usize,
        text: &'static str,
    ) -> Result<(), PathError> {
        if self.len() == len {
            Ok(())
        } else {
            Err(self.wrong_length(node, text))
        }
    }
}

/// Reads the node header at `offset` and checks that the node fits.
fn read_raw(bytes: &[u8], offset: usize) -> Result<RawNode<'_>, PathError> {
    let rest = bytes.get(offset..).unwrap_or(&[]);
    if rest.is_empty() {
        return Err(PathError::MissingEnd { offset });
    }
    let Some((header, _)) = rest.split_first_chunk::<HEADER_LEN>() else {
        return Err(PathError::TruncatedHeader {
            offset,
            available: rest.len(),
        });
    };
    let length = u16::from_le_bytes([header[2], header[3]]);
    let len = usize::from(length);
    if len < HEADER_LEN {
        return Err(PathError::LengthTooSmall { offset, length });
    }
    let Some(node) = rest.get(..len) else {
        return Err(PathError::NodeOverrun {
            offset,
            length,
            available: rest.len(),
        });
    };
    Ok(RawNode {
        kind: header[0],
        subtype: header[1],
        body: &node[HEADER_LEN..],
        offset,
    })
}

/// Little-endian fields read in order from a node body.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

/// Interprets a non-End node.
fn decode(raw: &RawNode) -> Result<Node, PathError> {
    match (raw.kind, raw.subtype) {
        (TYPE_HARDWARE, HW_VENDOR) => {
            let (guid, data) = decode_vendor(raw, "VenHw")?;
            Ok(Node::VendorHw { guid, data })
        }
        (TYPE_HARDWARE, HW_MEMORY_MAPPED) => decode_memory_mapped(raw),
        (TYPE_MEDIA, MEDIA_HARD_DRIVE) => decode_hard_drive(raw),
        (TYPE_MEDIA, MEDIA_VENDOR) => {
            let (guid, data) = decode_vendor(raw, "VenMedia")?;
            Ok(Node::VendorMedia { guid, data })
        }
        (TYPE_MEDIA, MEDIA_FILE_PATH) => decode_file_path(raw).map(Node::FilePath),
        (kind, subtype) => Ok(Node::Other {
            kind,
            subtype,
            data: raw.body.to_vec(),
        }),
    }
}

fn decode_vendor(raw: &RawNode, name: &'static str) -> Result<(Guid, Vec<u8>), PathError> {
    let too_short = || raw.wrong_length(name, "at least 20");
    if raw.len() < VENDOR_MIN_LEN {
        return Err(too_short());
    }
    let (guid, data) = raw.body.split_first_chunk::<16>().ok_or_else(too_short)?;
    Ok((Guid(*guid), data.to_vec()))
}

fn decode_memory_mapped(raw: &RawNode) -> Result<Node, PathError> {
    raw.expect_len("MemoryMapped", MEMORY_MAPPED_LEN, "24")?;
    let mut f = Fields(raw.body);
    // Struct fields are evaluated in the order written, matching the layout.
    let node = (|| {
        Some(Node::MemoryMapped {
            memory_type: f.u32()?,
            start: f.u64()?,
            end: f.u64()?,
        })
    })();
    node.ok_or_else(|| raw.wrong_length("MemoryMapped", "24"))
}

fn decode_hard_drive(raw: &RawNode) -> Result<Node, PathError> {
    raw.expect_len("HardDrive", HARD_DRIVE_LEN, "42")?;
    let mut f = Fields(raw.body);
    let node = (|| {
        Some(Node::HardDrive {
            partition: f.u32()?,
            start_lba: f.u64()?,
            size_lba: f.u64()?,
            signature: f.take()?,
            format: f.u8()?,
            signature_type: f.u8()?,
        })
    })();
    node.ok_or_else(|| raw.wrong_length("HardDrive", "42"))
}

/// The text up to the first NUL unit. Bytes after the NUL (padding some
/// writers add) are ignored rather than rejected: refusing a boot entry over
/// them would gain nothing.
fn decode_file_path(raw: &RawNode) -> Result<String, PathError> {
    let units: Vec<u16> = raw
        .body
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let nul = units
        .iter()
        .position(|&u| u == 0)
        .ok_or(PathError::UnterminatedFilePath { offset: raw.offset })?;
    let mut text = String::with_capacity(nul);
    let mut pos = 0;
    for decoded in char::decode_utf16(units[..nul].iter().copied()) {
        match decoded {
            Ok(c) => {
                text.push(c);
                pos += c.len_utf16();
            }
            Err(e) => {
                return Err(PathError::InvalidUtf16 {
                    offset: raw.offset,
                    at: raw.offset + HEADER_LEN + 2 * pos,
                    unit: e.unpaired_surrogate(),
                })
            }
        }
    }
    Ok(text)
}

/// How a device path instance ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Terminator {
    Instance,
    Entire,
}

/// Checks an End node and says which one it is.
fn end_kind(raw: &RawNode) -> Result<Terminator, PathError> {
    raw.expect_len("End", HEADER_LEN, "4")?;
    match raw.subtype {
        END_ENTIRE => Ok(Terminator::Entire),
        END_INSTANCE => Ok(Terminator::Instance),
        subtype => Err(PathError::UnknownEndSubtype {
            offset: raw.offset,
            subtype,
        }),
    }
}

/// Parses nodes from `start` through the next End node. Returns the
/// instance, the offset just past its End node, and which End it was.
fn parse_instance(
    bytes: &[u8],
    start: usize,
) -> Result<(DevicePath, usize, Terminator), PathError> {
    let mut nodes = Vec::new();
    let mut offset = start;
    loop {
        let raw = read_raw(bytes, offset)?;
        let next = offset + raw.len();
        if raw.kind == TYPE_END {
            let end = end_kind(&raw)?;
            return Ok((DevicePath { nodes }, next, end));
        }
        nodes.push(decode(&raw)?);
        offset = next;
    }
}

impl DevicePath {
    pub fn new(nodes: Vec<Node>) -> DevicePath {
        DevicePath { nodes }
    }

    /// Parses one device path from the start of `bytes` (which may be longer
    /// than the path), up to and including its End-Entire node. Returns the
    /// path and the number of bytes it occupied. An End-Instance node is an
    /// error here; multi-instance paths go through `parse_instances`.
    pub fn parse(bytes: &[u8]) -> Result<(DevicePath, usize), PathError> {
        match parse_instance(bytes, 0)? {
            (path, len, Terminator::Entire) => Ok((path, len)),
            (_, len, Terminator::Instance) => Err(PathError::UnexpectedEndInstance {
                offset: len - HEADER_LEN,
            }),
        }
    }

    /// Parses a list of device paths that fills `bytes` exactly, as
    /// EFI_LOAD_OPTION.FilePathList does. Instances may be separated by
    /// End-Instance nodes (a multi-instance path) or each closed by its own
    /// End-Entire (the "packed array of device paths" of UEFI 2.10 §3.1.3,
    /// which U-Boot writes for its initrd entries); both are accepted. The
    /// list must end with End-Entire at the last byte: anything left over
    /// is parsed as a further path and so reported as an error.
    pub fn parse_instances(bytes: &[u8]) -> Result<Vec<DevicePath>, PathError> {
        let mut paths = Vec::new();
        let mut offset = 0;
        loop {
            let (path, next, end) = parse_instance(bytes, offset)?;
            paths.push(path);
            offset = next;
            if end == Terminator::Entire && offset == bytes.len() {
                return Ok(paths);
            }
        }
    }

    /// The path as it sits in memory, End-Entire included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        for node in &self.nodes {
            node.write_to(&mut out);
        }
        out.extend_from_slice(&[TYPE_END, END_ENTIRE, HEADER_LEN as u8, 0]);
        out
    }

    /// `to_bytes().len()`, without building the bytes.
    pub fn byte_len(&self) -> usize {
        self.nodes.iter().map(Node::byte_len).sum::<usize>() + HEADER_LEN
    }

    /// Number of FilePath nodes at the end of the path.
    fn trailing_files(&self) -> usize {
        self.nodes
            .iter()
            .rev()
            .take_while(|n| matches!(n, Node::FilePath(_)))
            .count()
    }

    /// The file named by the FilePath nodes at the end of the path, joined
    /// into one path with single backslashes: firmware and loaders split a
    /// path across nodes freely ("\EFI" + "BOOT" + "\BOOTAA64.EFI"). None
    /// when the path does not end in a FilePath node.
    pub fn file_path(&self) -> Option<String> {
        let count = self.trailing_files();
        if count == 0 {
            return None;
        }
        let mut joined = String::new();
        for node in &self.nodes[self.nodes.len() - count..] {
            if let Node::FilePath(piece) = node {
                if !joined.is_empty() && !piece.is_empty() {
                    joined.push('\\');
                }
                joined.push_str(piece);
            }
        }
        Some(collapse_backslashes(&joined))
    }

    /// The device part: the nodes before the trailing FilePath nodes.
    pub fn without_files(&self) -> DevicePath {
        let keep = self.nodes.len() - self.trailing_files();
        DevicePath::new(self.nodes[..keep].to_vec())
    }

    /// Whether `prefix`'s nodes begin this path, compared as encoded bytes
    /// (so an `Other` node matches the decoded node with the same bytes).
    pub fn starts_with(&self, prefix: &DevicePath) -> bool {
        prefix.nodes.len() <= self.nodes.len()
            && self
                .nodes
                .iter()
                .zip(&prefix.nodes)
                .all(|(a, b)| a == b || a.to_bytes() == b.to_bytes())
    }

    /// This path followed by `tail`'s nodes.
    pub fn join(&self, tail: &DevicePath) -> DevicePath {
        let mut nodes = self.nodes.clone();
        nodes.extend_from_slice(&tail.nodes);
        DevicePath::new(nodes)
    }
}

/// Turns every run of backslashes into one, so that pieces joined from
/// several nodes (or written with doubled separators) name one file.
fn collapse_backslashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '\\' && out.ends_with('\\')) {
            out.push(c);
        }
    }
    out
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// `Name(GUID)` or `Name(GUID,HEXDATA)`, as DevicePathToText prints vendor
/// nodes.
fn fmt_vendor(f: &mut fmt::Formatter<'_>, name: &str, guid: &Guid, data: &[u8]) -> fmt::Result {
    write!(f, "{name}({guid}")?;
    if !data.is_empty() {
        write!(f, ",{}", Hex(data))?;
    }
    f.write_str(")")
}

fn fmt_hard_drive(f: &mut fmt::Formatter<'_>, node: &Node) -> fmt::Result {
    let Node::HardDrive {
        partition,
        start_lba,
        size_lba,
        signature,
        signature_type,
        ..
    } = node
    else {
        return Ok(());
    };
    // Like EDK2, the signature type (not the format byte) picks the form.
    match signature_type {
        1 => {
            let sig = u32::from_le_bytes([signature[0], signature[1], signature[2], signature[3]]);
            write!(f, "HD({partition},MBR,0x{sig:08X},")?;
        }
        2 => write!(f, "HD({partition},GPT,{},", Guid(*signature))?,
        other => write!(f, "HD({partition},{other},0,")?,
    }
    write!(f, "{start_lba:#X},{size_lba:#X})")
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::VendorHw { guid, data } => fmt_vendor(f, "VenHw", guid, data),
            Node::VendorMedia { guid, data } => fmt_vendor(f, "VenMedia", guid, data),
            Node::MemoryMapped {
                memory_type,
                start,
                end,
            } => write!(f, "MemoryMapped({memory_type:#X},{start:#X},{end:#X})"),
            Node::HardDrive { .. } => fmt_hard_drive(f, self),
            Node::FilePath(text) => f.write_str(text),
            Node::Other {
                kind,
                subtype,
                data,
            } => {
                write!(f, "Path({kind},{subtype}")?;
                if !data.is_empty() {
                    write!(f, ",{}", Hex(data))?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Close to DevicePathToText's display-only form, nodes separated by "/".
impl fmt::Display for DevicePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{node}")?;
        }
        Ok(())
    }
}

/// Measures a device path that sits in guest memory by walking its node
/// headers through `read(offset, buf)` (offset from the start of the path;
/// false when the memory cannot be read). Returns the length up to and
/// including the first End-Entire node; End-Instance nodes are walked past,
/// so a multi-instance path measures whole. Fails on a node shorter than
/// its header or when the path would run past `max_len` bytes, so a hostile
/// guest cannot make the firmware copy without bound. The node contents are
/// not checked: `DevicePath::parse` does that on the copied bytes.
pub fn measure(
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
    max_len: usize,
) -> Result<usize, PathError> {
    let too_long = PathError::TooLong { max_len };
    let mut offset: usize = 0;
    loop {
        if offset
            .checked_add(HEADER_LEN)
            .is_none_or(|end| end > max_len)
        {
            return Err(too_long);
        }
        let mut header = [0u8; HEADER_LEN];
        if !read(offset as u64, &mut header) {
            return Err(PathError::Unreadable {
                offset: offset as u64,
            });
        }
        let length = u16::from_le_bytes([header[2], header[3]]);
        if usize::from(length) < HEADER_LEN {
            return Err(PathError::LengthTooSmall { offset, length });
        }
        // Saturating: with max_len near usize::MAX the sum could wrap.
        offset = offset.saturating_add(usize::from(length));
        if offset > max_len {
            return Err(too_long);
        }
        if header[0] == TYPE_END && header[1] == END_ENTIRE {
            return Ok(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PART_GUID: Guid = Guid::from_u128(0x5E5E9B7A_0C4D_4F4B_9A3C_1D2E3F405162);
    const INITRD_GUID: Guid = Guid::from_u128(0x5568E427_68FC_4F3D_AC74_CA555231CC68);

    fn utf16z(text: &str) -> Vec<u8> {
        text.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    fn node_bytes(kind: u8, subtype: u8, body: &[u8]) -> Vec<u8> {
        let len = (body.len() + 4) as u16;
        let mut out = vec![kind, subtype];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    const END: [u8; 4] = [0x7F, 0xFF, 4, 0];
    const END_INST: [u8; 4] = [0x7F, 0x01, 4, 0];

    /// HD(1,GPT,PART_GUID,0x800,0x100000) laid out by hand from §10.3.5.1.
    fn hd_bytes() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&1u32.to_le_bytes());
        body.extend_from_slice(&0x800u64.to_le_bytes());
        body.extend_from_slice(&0x10_0000u64.to_le_bytes());
        body.extend_from_slice(&PART_GUID.0);
        body.extend_from_slice(&[2, 2]);
        node_bytes(4, 1, &body)
    }

    fn hd_node() -> Node {
        Node::HardDrive {
            partition: 1,
            start_lba: 0x800,
            size_lba: 0x10_0000,
            signature: PART_GUID.0,
            format: 2,
            signature_type: 2,
        }
    }

    fn file(text: &str) -> Node {
        Node::FilePath(text.to_string())
    }

    fn grub_path_bytes() -> Vec<u8> {
        let mut b = hd_bytes();
        b.extend(node_bytes(4, 4, &utf16z("\\EFI\\debian\\grubaa64.efi")));
        b.extend_from_slice(&END);
        b
    }

    #[test]
    fn parses_hard_drive_and_file() {
        let bytes = grub_path_bytes();
        assert_eq!(hd_bytes().len(), 42);
        let (path, len) = DevicePath::parse(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(
            path.nodes,
            vec![hd_node(), file("\\EFI\\debian\\grubaa64.efi")]
        );
        assert_eq!(path.to_bytes(), bytes);
        assert_eq!(path.byte_len(), bytes.len());
        assert_eq!(
            path.to_string(),
            "HD(1,GPT,5E5E9B7A-0C4D-4F4B-9A3C-1D2E3F405162,0x800,0x100000)/\\EFI\\debian\\grubaa64.efi"
        );
        assert_eq!(
            path.file_path().as_deref(),
            Some("\\EFI\\debian\\grubaa64.efi")
        );
        assert_eq!(path.without_files().nodes, vec![hd_node()]);
    }

    #[test]
    fn parse_reports_consumed_length_with_trailing_bytes() {
        let mut bytes = grub_path_bytes();
        let len = bytes.len();
        bytes.extend_from_slice(&[0xAA; 7]);
        assert_eq!(DevicePath::parse(&bytes).unwrap().1, len);
    }

    #[test]
    fn every_node_kind_round_trips_byte_exact() {
        let mut bytes = Vec::new();
        let mut vendor = INITRD_GUID.0.to_vec();
        bytes.extend(node_bytes(1, 4, &vendor));
        vendor.extend_from_slice(&[0xDE, 0xAD]);
        bytes.extend(node_bytes(4, 3, &vendor));
        let mut mm = 2u32.to_le_bytes().to_vec();
        mm.extend_from_slice(&0x4000_0000u64.to_le_bytes());
        mm.extend_from_slice(&0x4000_FFFFu64.to_le_bytes());
        bytes.extend(node_bytes(1, 3, &mm));
        // PciRoot(0): ACPI node, kept as Other.
        bytes.extend(node_bytes(2, 1, &[0xD0, 0x41, 0x03, 0x0A, 0, 0, 0, 0]));
        bytes.extend(node_bytes(4, 4, &utf16z("k\u{e9}rnel\u{1F600}")));
        bytes.extend_from_slice(&END);
        let (path, len) = DevicePath::parse(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(path.nodes.len(), 5);
        assert_eq!(path.to_bytes(), bytes);
        assert_eq!(
            path.to_string(),
            "VenHw(5568E427-68FC-4F3D-AC74-CA555231CC68)/\
             VenMedia(5568E427-68FC-4F3D-AC74-CA555231CC68,DEAD)/\
             MemoryMapped(0x2,0x40000000,0x4000FFFF)/\
             Path(2,1,D041030A00000000)/k\u{e9}rnel\u{1F600}"
        );
    }

    #[test]
    fn mbr_and_unsigned_hard_drives_display() {
        let mut signature = [0u8; 16];
        signature[..4].copy_from_slice(&0x1234_ABCDu32.to_le_bytes());
        let mbr = Node::HardDrive {
            partition: 2,
            start_lba: 0x800,
            size_lba: 0x1000,
            signature,
            format: 1,
            signature_type: 1,
        };
        assert_eq!(mbr.to_string(), "HD(2,MBR,0x1234ABCD,0x800,0x1000)");
        let none = Node::HardDrive {
            partition: 3,
            start_lba: 1,
            size_lba: 2,
            signature: [0; 16],
            format: 1,
            signature_type: 0,
        };
        assert_eq!(none.to_string(), "HD(3,0,0,0x1,0x2)");
        assert_eq!(
            Node::Other {
                kind: 3,
                subtype: 0x18,
                data: vec![]
            }
            .to_string(),
            "Path(3,24)"
        );
        assert_eq!(DevicePath::default().to_string(), "");
    }

    #[test]
    fn file_path_joins_pieces_with_single_backslashes() {
        let path = DevicePath::new(vec![
            hd_node(),
            file("\\EFI"),
            file("BOOT"),
            file("\\BOOTAA64.EFI"),
        ]);
        assert_eq!(
            path.file_path().as_deref(),
            Some("\\EFI\\BOOT\\BOOTAA64.EFI")
        );
        assert_eq!(path.without_files().nodes, vec![hd_node()]);

        let doubled = DevicePath::new(vec![file("\\EFI\\"), file("\\\\BOOT\\\\x.efi")]);
        assert_eq!(doubled.file_path().as_deref(), Some("\\EFI\\BOOT\\x.efi"));
        assert!(doubled.without_files().nodes.is_empty());

        let with_empty = DevicePath::new(vec![file(""), file("\\a"), file("")]);
        assert_eq!(with_empty.file_path().as_deref(), Some("\\a"));
    }

    #[test]
    fn file_path_is_none_without_trailing_file_nodes() {
        assert_eq!(DevicePath::new(vec![hd_node()]).file_path(), None);
        assert_eq!(DevicePath::default().file_path(), None);
        let file_then_vendor = DevicePath::new(vec![
            file("\\x"),
            Node::VendorMedia {
                guid: INITRD_GUID,
                data: vec![],
            },
        ]);
        assert_eq!(file_then_vendor.file_path(), None);
        assert_eq!(file_then_vendor.without_files(), file_then_vendor);
    }

    #[test]
    fn starts_with_and_join() {
        let device = DevicePath::new(vec![hd_node()]);
        let tail = DevicePath::new(vec![file("\\EFI\\x.efi")]);
        let full = device.join(&tail);
        assert_eq!(full.nodes, vec![hd_node(), file("\\EFI\\x.efi")]);
        assert!(full.starts_with(&device));
        assert!(full.starts_with(&DevicePath::default()));
        assert!(full.starts_with(&full));
        assert!(!device.starts_with(&full));
        assert!(!full.starts_with(&tail));
        // Byte-exact: an Other node carrying the same bytes matches.
        let raw = hd_bytes();
        let other = DevicePath::new(vec![Node::Other {
            kind: 4,
            subtype: 1,
            data: raw[4..].to_vec(),
        }]);
        assert!(full.starts_with(&other));
    }

    #[test]
    fn file_path_padding_after_nul_is_ignored() {
        let mut body = utf16z("\\a.efi");
        body.extend_from_slice(&[0, 0, 0x41]);
        let mut bytes = node_bytes(4, 4, &body);
        bytes.extend_from_slice(&END);
        let (path, len) = DevicePath::parse(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(path.nodes, vec![file("\\a.efi")]);
    }

    fn parse_err(bytes: &[u8]) -> PathError {
        DevicePath::parse(bytes).unwrap_err()
    }

    #[test]
    fn rejects_structural_errors_with_offsets() {
        let hd = hd_bytes();
        assert_eq!(parse_err(&[]), PathError::MissingEnd { offset: 0 });
        assert_eq!(parse_err(&hd), PathError::MissingEnd { offset: 42 });
        let mut cut = hd.clone();
        cut.extend_from_slice(&[0x7F, 0xFF]);
        assert_eq!(
            parse_err(&cut),
            PathError::TruncatedHeader {
                offset: 42,
                available: 2
            }
        );
        let mut short = hd.clone();
        short.extend_from_slice(&[0x7F, 0xFF, 3, 0]);
        assert_eq!(
            parse_err(&short),
            PathError::LengthTooSmall {
                offset: 42,
                length: 3
            }
        );
        assert_eq!(
            parse_err(&hd[..41]),
            PathError::NodeOverrun {
                offset: 0,
                length: 42,
                available: 41
            }
        );
        let err = parse_err(&hd[..41]).to_string();
        assert_eq!(err, "node at byte 0 has length 42 but only 41 bytes remain");
    }

    #[test]
    fn rejects_wrong_fixed_lengths() {
        let mut hd = node_bytes(4, 1, &[0; 36]);
        hd.extend_from_slice(&END);
        assert_eq!(
            parse_err(&hd).to_string(),
            "HardDrive node at byte 0 has length 40; it must be 42"
        );
        let mut mm = node_bytes(1, 3, &[0; 16]);
        mm.extend_from_slice(&END);
        assert!(matches!(
            parse_err(&mm),
            PathError::WrongLength {
                node: "MemoryMapped",
                length: 20,
                ..
            }
        ));
        let mut ven = node_bytes(1, 4, &[0; 15]);
        ven.extend_from_slice(&END);
        assert_eq!(
            parse_err(&ven).to_string(),
            "VenHw node at byte 0 has length 19; it must be at least 20"
        );
        let mut long_end = hd_bytes();
        long_end.extend_from_slice(&[0x7F, 0xFF, 8, 0, 0, 0, 0, 0]);
        assert!(matches!(
            parse_err(&long_end),
            PathError::WrongLength {
                node: "End",
                offset: 42,
                length: 8,
                ..
            }
        ));
    }

    #[test]
    fn rejects_bad_file_path_text() {
        let mut no_nul = node_bytes(4, 4, &[b'a', 0, b'b', 0]);
        no_nul.extend_from_slice(&END);
        assert_eq!(
            parse_err(&no_nul),
            PathError::UnterminatedFilePath { offset: 0 }
        );
        // The terminator must be a whole unit inside the node.
        let mut odd = node_bytes(4, 4, &[b'a', 0, 0]);
        odd.extend_from_slice(&END);
        assert_eq!(
            parse_err(&odd),
            PathError::UnterminatedFilePath { offset: 0 }
        );

        let mut lone = hd_bytes();
        lone.extend(node_bytes(4, 4, &[b'a', 0, 0x00, 0xD8, b'b', 0, 0, 0]));
        lone.extend_from_slice(&END);
        assert_eq!(
            parse_err(&lone),
            PathError::InvalidUtf16 {
                offset: 42,
                at: 48,
                unit: 0xD800
            }
        );
        let mut trail = node_bytes(4, 4, &[0x00, 0xDC, 0, 0]);
        trail.extend_from_slice(&END);
        assert!(matches!(
            parse_err(&trail),
            PathError::InvalidUtf16 { unit: 0xDC00, .. }
        ));
    }

    #[test]
    fn end_nodes() {
        let mut inst = hd_bytes();
        inst.extend_from_slice(&END_INST);
        inst.extend_from_slice(&END);
        assert_eq!(
            parse_err(&inst),
            PathError::UnexpectedEndInstance { offset: 42 }
        );
        assert_eq!(
            parse_err(&[0x7F, 0x02, 4, 0]),
            PathError::UnknownEndSubtype {
                offset: 0,
                subtype: 2
            }
        );
        let (empty, len) = DevicePath::parse(&END).unwrap();
        assert_eq!((empty, len), (DevicePath::default(), 4));
    }

    #[test]
    fn parse_instances_accepts_both_separators() {
        let first = grub_path_bytes();
        let initrd = {
            let mut b = node_bytes(4, 3, &INITRD_GUID.0);
            b.extend(node_bytes(4, 4, &utf16z("\\initrd.img")));
            b
        };
        // Multi-instance: first instance closed by End-Instance.
        let mut multi = first[..first.len() - 4].to_vec();
        multi.extend_from_slice(&END_INST);
        multi.extend_from_slice(&initrd);
        multi.extend_from_slice(&END);
        // Packed array (§3.1.3, U-Boot): each path closed by End-Entire.
        let mut packed = first.clone();
        packed.extend_from_slice(&initrd);
        packed.extend_from_slice(&END);
        for bytes in [&multi, &packed] {
            let paths = DevicePath::parse_instances(bytes).unwrap();
            assert_eq!(paths.len(), 2);
            assert_eq!(paths[0], DevicePath::parse(&first).unwrap().0);
            assert_eq!(paths[1].file_path().as_deref(), Some("\\initrd.img"));
        }
        assert_eq!(DevicePath::parse_instances(&first).unwrap().len(), 1);
    }

    #[test]
    fn parse_instances_needs_exact_fill() {
        let first = grub_path_bytes();
        let mut trailing = first.clone();
        trailing.extend_from_slice(&[0, 0]);
        assert_eq!(
            DevicePath::parse_instances(&trailing),
            Err(PathError::TruncatedHeader {
                offset: first.len(),
                available: 2
            })
        );
        let mut open = first[..first.len() - 4].to_vec();
        open.extend_from_slice(&END_INST);
        assert_eq!(
            DevicePath::parse_instances(&open),
            Err(PathError::MissingEnd {
                offset: first.len()
            })
        );
        assert_eq!(
            DevicePath::parse_instances(&[]),
            Err(PathError::MissingEnd { offset: 0 })
        );
    }

    fn measure_slice(bytes: &[u8], max_len: usize) -> Result<usize, PathError> {
        let mut read = |offset: u64, buf: &mut [u8]| {
            let start = offset as usize;
            match bytes.get(start..start + buf.len()) {
                Some(src) => {
                    buf.copy_from_slice(src);
                    true
                }
                None => false,
            }
        };
        measure(&mut read, max_len)
    }

    #[test]
    fn measure_walks_headers() {
        let bytes = grub_path_bytes();
        assert_eq!(measure_slice(&bytes, 4096), Ok(bytes.len()));
        assert_eq!(measure_slice(&bytes, bytes.len()), Ok(bytes.len()));
        assert_eq!(
            measure_slice(&bytes, bytes.len() - 1),
            Err(PathError::TooLong {
                max_len: bytes.len() - 1
            })
        );
        assert_eq!(
            measure_slice(&bytes[..bytes.len() - 4], 4096),
            Err(PathError::Unreadable {
                offset: bytes.len() as u64 - 4
            })
        );
        assert_eq!(
            measure_slice(&[1, 1, 2, 0], 4096),
            Err(PathError::LengthTooSmall {
                offset: 0,
                length: 2
            })
        );
        let mut multi = bytes[..bytes.len() - 4].to_vec();
        multi.extend_from_slice(&END_INST);
        multi.extend_from_slice(&END);
        assert_eq!(measure_slice(&multi, 4096), Ok(multi.len()));
        assert_eq!(
            measure_slice(&END, 0),
            Err(PathError::TooLong { max_len: 0 })
        );
    }

    #[test]
    fn oversized_nodes_are_cut_to_fit() {
        let huge = DevicePath::new(vec![
            Node::Other {
                kind: 3,
                subtype: 9,
                data: vec![7; 70_000],
            },
            Node::VendorHw {
                guid: INITRD_GUID,
                data: vec![1; 70_000],
            },
            file(&"\u{1F600}".repeat(20_000)),
            file("a\0b"),
        ]);
        let bytes = huge.to_bytes();
        assert_eq!(bytes.len(), huge.byte_len());
        let (back, len) = DevicePath::parse(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        for node in &back.nodes {
            assert!(node.byte_len() <= 65535);
        }
        assert_eq!(back.nodes[3], file("a"));
        let Node::FilePath(cut) = &back.nodes[2] else {
            panic!("not a file node")
        };
        // Whole surrogate pairs only: 32764 units is 16382 pairs.
        assert_eq!(cut.chars().count(), 16_382);
    }

    /// xorshift64*: enough randomness for a no-panic sweep, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }

        fn bytes_upto(&mut self, max: usize) -> Vec<u8> {
            let n = self.below(max);
            self.bytes(n)
        }
    }

    /// A node that is often nearly right: a known type with a length near
    /// the correct one, or text with or without its terminator.
    fn plausible_node(rng: &mut Rng) -> Vec<u8> {
        const KINDS: [(u8, u8, usize); 9] = [
            (1, 4, 16),
            (1, 3, 20),
            (4, 1, 38),
            (4, 3, 16),
            (4, 4, 0),
            (2, 1, 8),
            (0x7F, 0x01, 0),
            (0x7F, 0xFF, 0),
            (0x7F, 0x42, 0),
        ];
        let (kind, subtype, base) = KINDS[rng.below(KINDS.len())];
        let body = if (kind, subtype) == (4, 4) && rng.below(2) == 0 {
            let text: String = (0..rng.below(12))
                .map(|_| char::from(b'A' + rng.below(26) as u8))
                .collect();
            utf16z(&text)
        } else {
            let jitter = rng.below(5);
            let len = if rng.below(2) == 0 {
                base + jitter
            } else {
                base.saturating_sub(jitter)
            };
            rng.bytes(len)
        };
        node_bytes(kind, subtype, &body)
    }

    fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
        for _ in 0..rng.below(4) {
            match rng.below(4) {
                0 if !bytes.is_empty() => {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next() as u8;
                }
                1 => bytes.truncate(rng.below(bytes.len() + 1)),
                2 => bytes.extend(rng.bytes_upto(6)),
                _ if !bytes.is_empty() => {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
                _ => {}
            }
        }
    }

    fn check_invariants(bytes: &[u8]) {
        if let Ok((path, len)) = DevicePath::parse(bytes) {
            assert!(len <= bytes.len());
            let again = path.to_bytes();
            assert_eq!(again.len(), path.byte_len());
            assert_eq!(DevicePath::parse(&again), Ok((path.clone(), again.len())));
            assert_eq!(measure_slice(bytes, bytes.len()), Ok(len));
            let _ = (path.to_string(), path.file_path(), path.without_files());
        }
        if let Ok(paths) = DevicePath::parse_instances(bytes) {
            assert!(!paths.is_empty());
            let packed: Vec<u8> = paths.iter().flat_map(DevicePath::to_bytes).collect();
            assert_eq!(DevicePath::parse_instances(&packed), Ok(paths));
        }
        let _ = measure_slice(bytes, 256);
    }

    #[test]
    fn random_and_mutated_inputs_never_panic_and_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for round in 0..40_000 {
            let mut bytes = match round % 3 {
                0 => rng.bytes_upto(64),
                1 => (0..rng.below(5))
                    .flat_map(|_| plausible_node(&mut rng))
                    .collect(),
                _ => grub_path_bytes(),
            };
            if round % 3 != 0 && rng.below(3) != 0 {
                bytes.extend_from_slice(&END);
            }
            mutate(&mut rng, &mut bytes);
            parsed += usize::from(DevicePath::parse(&bytes).is_ok());
            check_invariants(&bytes);
        }
        // The generator must reach the success path often enough to matter.
        assert!(parsed > 2_000, "only {parsed} inputs parsed");
    }
}
