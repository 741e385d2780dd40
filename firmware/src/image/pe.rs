//! Checking that a file is a UEFI application for the VM's architecture: a PE32+
//! (AArch64) or PE32 (AArch32) image with the right machine type and subsystem 10,
//! whose sections lie inside the file.
//!
//! The COFF and optional headers are parsed with `goblin`; the DOS header and the
//! section table are read here, with bounds checks, because goblin's DOS-stub
//! parser rejects the arm64 Linux kernel (whose PE header sits right after its
//! 64-byte boot header, at 0x40) and its section-name lookup follows untrusted
//! string-table offsets.

use goblin::pe::header::{CoffHeader, PE_MAGIC, SIZEOF_COFF_HEADER};
use goblin::pe::optional_header::OptionalHeader;
use scroll::Pread;

use super::{guard, Arch};

pub const MACHINE_ARM64: u16 = 0xAA64;
/// IMAGE_FILE_MACHINE_THUMB: UEFI's machine type for 32-bit ARM.
pub const MACHINE_ARM_THUMB: u16 = 0x01C2;
pub const MACHINE_X86_64: u16 = 0x8664;
pub const MAGIC_PE32: u16 = 0x10B;
pub const MAGIC_PE32_PLUS: u16 = 0x20B;
pub const SUBSYSTEM_EFI_APPLICATION: u16 = 10;

const SECTION_SIZE: u64 = 40;

/// One section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
}

/// What the headers say.
#[derive(Clone, Debug)]
pub struct PeInfo {
    pub pe_offset: u64,
    pub machine: u16,
    /// None when there is no optional header.
    pub magic: Option<u16>,
    pub subsystem: Option<u16>,
    pub entry: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    /// The section table's file offset and entry count.
    pub section_table: (u64, u16),
    /// Where the image was linked to run (relocations say how to move it).
    pub image_base: u64,
    pub section_alignment: u32,
    /// The base relocation directory (RVA, size), when there is one.
    pub base_relocations: Option<(u32, u32)>,
}

/// The two rules' outcomes: Ok(what it is) or Err(why not).
#[derive(Clone, Debug)]
pub struct PeVerdict {
    pub application: Result<String, String>,
    pub sections: Result<String, String>,
}

/// Machine type names for messages.
pub fn machine_name(m: u16) -> &'static str {
    match m {
        MACHINE_ARM64 => "ARM64",
        MACHINE_ARM_THUMB => "ARM Thumb",
        0x01C0 => "ARM (not Thumb)",
        0x01C4 => "ARMv7 Thumb-2 (ARMNT)",
        MACHINE_X86_64 => "x86-64",
        0x014C => "i386",
        0x0200 => "IA-64",
        0x5032 => "RISC-V 32",
        0x5064 => "RISC-V 64",
        0x6264 => "LoongArch64",
        0x0EBC => "EFI byte code",
        _ => "unknown",
    }
}

fn subsystem_name(s: u16) -> &'static str {
    match s {
        1 => "native",
        2 => "Windows GUI",
        3 => "Windows console",
        10 => "EFI application",
        11 => "EFI boot service driver",
        12 => "EFI runtime driver",
        13 => "EFI ROM",
        _ => "unknown",
    }
}

fn u32_at(b: &[u8], o: u64) -> Option<u32> {
    let o = usize::try_from(o).ok()?;
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Parses the headers; the error says why this is not a PE image.
pub fn parse(bytes: &[u8]) -> Result<PeInfo, String> {
    if bytes.len() < 2 || &bytes[..2] != b"MZ" {
        return Err("not a PE file (no \"MZ\" at the start)".into());
    }
    let pe_offset = u32_at(bytes, 0x3C).ok_or("the file ends inside the DOS header")? as u64;
    match u32_at(bytes, pe_offset) {
        None => {
            return Err(format!(
                "the PE header offset 0x{pe_offset:X} is past the end of the file ({} bytes)",
                bytes.len()
            ))
        }
        Some(sig) if sig != PE_MAGIC => {
            return Err(format!(
                "no \"PE\\0\\0\" signature at 0x{pe_offset:X}: an MS-DOS program, not a PE image"
            ))
        }
        Some(_) => {}
    }
    let coff_at = pe_offset as usize + 4;
    let coff = guard::contain("the PE parser", || {
        CoffHeader::parse(bytes, &mut coff_at.clone())
    })?
    .map_err(|e| format!("the COFF header is truncated ({e})"))?;
    let opt_at = coff_at + SIZEOF_COFF_HEADER;
    let opt_size = coff.size_of_optional_header as usize;
    let optional = if opt_size == 0 {
        None
    } else {
        let end = opt_at.checked_add(opt_size).filter(|&e| e <= bytes.len()).ok_or_else(|| {
            format!(
                "the optional header ({opt_size} bytes at 0x{opt_at:X}) runs past the end of the file ({} bytes)",
                bytes.len()
            )
        })?;
        let header = guard::contain("the PE parser", || {
            bytes[..end].pread_with::<OptionalHeader>(opt_at, scroll::LE)
        })?
        .map_err(|e| format!("malformed optional header: {e}"))?;
        Some(header)
    };
    let table_at = (opt_at + opt_size) as u64;
    Ok(PeInfo {
        pe_offset,
        machine: coff.machine,
        magic: optional.map(|o| o.standard_fields.magic),
        subsystem: optional.map(|o| o.windows_fields.subsystem),
        entry: optional.map_or(0, |o| o.standard_fields.address_of_entry_point as u32),
        size_of_image: optional.map_or(0, |o| o.windows_fields.size_of_image),
        size_of_headers: optional.map_or(0, |o| o.windows_fields.size_of_headers),
        section_table: (table_at, coff.number_of_sections),
        image_base: optional.map_or(0, |o| o.windows_fields.image_base),
        section_alignment: optional.map_or(0, |o| o.windows_fields.section_alignment),
        base_relocations: optional.and_then(|o| {
            // Entry 5 of the data directories: the base relocation table.
            o.data_directories.data_directories[5]
                .map(|(_, d)| (d.virtual_address, d.size))
                .filter(|&(_, size)| size != 0)
        }),
    })
}

/// The section headers, when the table lies inside the file.
pub fn sections(bytes: &[u8], info: &PeInfo) -> Result<Vec<Section>, String> {
    let (at, count) = info.section_table;
    let end = at + count as u64 * SECTION_SIZE;
    if end > bytes.len() as u64 {
        return Err(format!(
            "the section table ({count} entries at 0x{at:X}..0x{end:X}) runs past the end of the file ({} bytes)",
            bytes.len()
        ));
    }
    Ok((0..count as u64)
        .map(|i| {
            let o = at + i * SECTION_SIZE;
            let raw = &bytes[o as usize..o as usize + 8];
            let name_len = raw.iter().position(|&b| b == 0).unwrap_or(8);
            Section {
                name: String::from_utf8_lossy(&raw[..name_len]).into_owned(),
                virtual_size: u32_at(bytes, o + 8).unwrap(),
                virtual_address: u32_at(bytes, o + 12).unwrap(),
                raw_size: u32_at(bytes, o + 16).unwrap(),
                raw_offset: u32_at(bytes, o + 20).unwrap(),
            }
        })
        .collect())
}

/// Is `bytes` a UEFI application for `arch`, with its sections inside the file?
pub fn check(bytes: &[u8], arch: Arch) -> PeVerdict {
    let info = match parse(bytes) {
        Ok(i) => i,
        Err(e) => {
            return PeVerdict {
                application: Err(e),
                sections: Err("not checked: the headers are unusable".into()),
            }
        }
    };
    PeVerdict {
        application: check_application(&info, arch),
        sections: check_sections(bytes, &info),
    }
}

fn check_application(info: &PeInfo, arch: Arch) -> Result<String, String> {
    let (want_magic, want_machine) = match arch {
        Arch::Aarch64 => (MAGIC_PE32_PLUS, MACHINE_ARM64),
        Arch::Arm => (MAGIC_PE32, MACHINE_ARM_THUMB),
    };
    let format = |m: u16| {
        if m == MAGIC_PE32_PLUS {
            "PE32+"
        } else if m == MAGIC_PE32 {
            "PE32"
        } else {
            "unknown"
        }
    };
    let mut why = Vec::new();
    if info.machine != want_machine {
        why.push(format!(
            "machine 0x{:04X} ({}), not 0x{want_machine:04X} ({}): a program for another architecture",
            info.machine,
            machine_name(info.machine),
            machine_name(want_machine)
        ));
    }
    match info.magic {
        None => why.push("no optional header (an object file, not an image)".into()),
        Some(m) if m != want_magic => why.push(format!(
            "optional header magic 0x{m:03X} ({}), not 0x{want_magic:03X} ({})",
            format(m),
            format(want_magic)
        )),
        Some(_) => {}
    }
    match info.subsystem {
        Some(s) if s != SUBSYSTEM_EFI_APPLICATION => why.push(format!(
            "subsystem {s} ({}), not {SUBSYSTEM_EFI_APPLICATION} (EFI application)",
            subsystem_name(s)
        )),
        _ => {}
    }
    if why.is_empty() {
        Ok(format!(
            "{} for {} (machine 0x{:04X}), subsystem 10 (EFI application)",
            format(want_magic),
            machine_name(want_machine),
            want_machine
        ))
    } else {
        Err(why.join("; "))
    }
}

fn check_sections(bytes: &[u8], info: &PeInfo) -> Result<String, String> {
    let sections = sections(bytes, info)?;
    if sections.is_empty() {
        return Err("the image has no sections".into());
    }
    let file_len = bytes.len() as u64;
    let mut why = Vec::new();
    for s in &sections {
        let raw_end = s.raw_offset as u64 + s.raw_size as u64;
        if s.raw_size > 0 && raw_end > file_len {
            why.push(format!(
                "section {:?}: file data 0x{:X}..0x{raw_end:X} runs past the end of the file (0x{file_len:X} bytes)",
                s.name, s.raw_offset
            ));
        }
        let span = if s.virtual_size > 0 {
            s.virtual_size
        } else {
            s.raw_size
        };
        let virt_end = s.virtual_address as u64 + span as u64;
        if info.magic.is_some() && virt_end > info.size_of_image as u64 {
            why.push(format!(
                "section {:?}: 0x{:X}..0x{virt_end:X} in memory is beyond SizeOfImage 0x{:X}",
                s.name, s.virtual_address, info.size_of_image
            ));
        }
    }
    if info.magic.is_some() && info.entry as u64 >= info.size_of_image as u64 {
        why.push(format!(
            "the entry point 0x{:X} is outside the image (SizeOfImage 0x{:X})",
            info.entry, info.size_of_image
        ));
    }
    const SHOWN: usize = 4;
    if why.is_empty() {
        Ok(format!(
            "{} sections, all inside the file ({file_len} bytes) and the image (0x{:X} bytes)",
            sections.len(),
            info.size_of_image
        ))
    } else {
        let more = why.len().saturating_sub(SHOWN);
        why.truncate(SHOWN);
        if more > 0 {
            why.push(format!("and {more} more"));
        }
        Err(why.join("; "))
    }
}

/// A minimal, well-formed PE image: headers in the first 0x200 bytes and one
/// `.text` section of 0x200 bytes at 0x1000 in memory (`RET` instructions for
/// AArch64). For tests, and to make sample images.
pub fn minimal_image(machine: u16, pe32_plus: bool, subsystem: u16) -> Vec<u8> {
    let mut b = vec![0u8; 0x400];
    let put16 = |b: &mut Vec<u8>, o: usize, v: u16| b[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    b[..2].copy_from_slice(b"MZ");
    put32(&mut b, 0x3C, 0x80);
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    let coff = 0x84;
    let opt_size: u16 = if pe32_plus { 112 + 16 * 8 } else { 96 + 16 * 8 };
    put16(&mut b, coff, machine);
    put16(&mut b, coff + 2, 1); // one section
    put16(&mut b, coff + 16, opt_size);
    put16(&mut b, coff + 18, 0x0206); // executable image, debug info stripped, large-address aware
    let opt = coff + 20;
    put16(
        &mut b,
        opt,
        if pe32_plus {
            MAGIC_PE32_PLUS
        } else {
            MAGIC_PE32
        },
    );
    put32(&mut b, opt + 4, 0x200); // SizeOfCode
    put32(&mut b, opt + 16, 0x1000); // AddressOfEntryPoint
    put32(&mut b, opt + 20, 0x1000); // BaseOfCode
                                     // Windows fields: PE32+ has an 8-byte ImageBase where PE32 has BaseOfData and
                                     // a 4-byte ImageBase; both zero here, so the fields up to the stack sizes are
                                     // at the same offsets.
    let w = opt + 24;
    put32(&mut b, w + 8, 0x1000); // SectionAlignment
    put32(&mut b, w + 12, 0x200); // FileAlignment
    put32(&mut b, w + 32, 0x2000); // SizeOfImage
    put32(&mut b, w + 36, 0x200); // SizeOfHeaders
    put16(&mut b, w + 44, subsystem);
    let rva_count = if pe32_plus { w + 84 } else { w + 68 };
    put32(&mut b, rva_count, 16);
    let sec = opt + opt_size as usize;
    b[sec..sec + 5].copy_from_slice(b".text");
    put32(&mut b, sec + 8, 0x200); // VirtualSize
    put32(&mut b, sec + 12, 0x1000); // VirtualAddress
    put32(&mut b, sec + 16, 0x200); // SizeOfRawData
    put32(&mut b, sec + 20, 0x200); // PointerToRawData
    put32(&mut b, sec + 36, 0x6000_0020); // code, execute, read
    for i in (0x200..0x400).step_by(4) {
        put32(&mut b, i, 0xD65F_03C0); // RET
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_images_pass_for_their_architecture() {
        let v = check(&minimal_image(MACHINE_ARM64, true, 10), Arch::Aarch64);
        assert!(
            v.application
                .as_ref()
                .unwrap()
                .starts_with("PE32+ for ARM64"),
            "{v:?}"
        );
        assert!(v.sections.is_ok(), "{v:?}");
        let v = check(&minimal_image(MACHINE_ARM_THUMB, false, 10), Arch::Arm);
        assert!(v.application.is_ok() && v.sections.is_ok(), "{v:?}");
    }

    /// (case, image edit, arch, which rule fails, message part)
    #[test]
    fn wrong_programs_are_named() {
        type Edit = fn(&mut Vec<u8>);
        let x86: Edit = |b| *b = minimal_image(MACHINE_X86_64, true, 10);
        let cases: &[(&str, Edit, Arch, bool, &str)] = &[
            (
                "x86-64",
                x86,
                Arch::Aarch64,
                true,
                "machine 0x8664 (x86-64)",
            ),
            (
                "pe32 for arm64",
                |b| *b = minimal_image(MACHINE_ARM64, false, 10),
                Arch::Aarch64,
                true,
                "not 0x20B (PE32+)",
            ),
            (
                "arm64 for arm",
                |_| {},
                Arch::Arm,
                true,
                "not 0x01C2 (ARM Thumb)",
            ),
            (
                "driver",
                |b| *b = minimal_image(MACHINE_ARM64, true, 11),
                Arch::Aarch64,
                true,
                "EFI boot service driver",
            ),
            ("not MZ", |b| b[0] = b'X', Arch::Aarch64, true, "no \"MZ\""),
            ("empty", |b| b.clear(), Arch::Aarch64, true, "no \"MZ\""),
            (
                "DOS program",
                |b| b[0x80] = 0,
                Arch::Aarch64,
                true,
                "MS-DOS program",
            ),
            (
                "PE offset",
                |b| b[0x3C..0x40].fill(0xFF),
                Arch::Aarch64,
                true,
                "past the end of the file",
            ),
            (
                "truncated COFF",
                |b| b.truncate(0x90),
                Arch::Aarch64,
                true,
                "COFF header is truncated",
            ),
            (
                "truncated optional",
                |b| b.truncate(0x100),
                Arch::Aarch64,
                true,
                "optional header",
            ),
            (
                "no optional header",
                |b| b[0x84 + 16..0x84 + 18].fill(0),
                Arch::Aarch64,
                true,
                "no optional header",
            ),
            (
                "section past the end",
                |b| b.truncate(0x300),
                Arch::Aarch64,
                false,
                "runs past the end of the file",
            ),
            (
                "section offset",
                |b| {
                    let sec = 0x84 + 20 + 240;
                    b[sec + 20..sec + 24].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
                },
                Arch::Aarch64,
                false,
                "runs past the end of the file",
            ),
            (
                "section table",
                |b| b[0x84 + 2..0x84 + 4].copy_from_slice(&0xFFFFu16.to_le_bytes()),
                Arch::Aarch64,
                false,
                "section table (65535 entries",
            ),
            (
                "no sections",
                |b| b[0x84 + 2..0x84 + 4].fill(0),
                Arch::Aarch64,
                false,
                "no sections",
            ),
            (
                "beyond SizeOfImage",
                |b| {
                    let sec = 0x84 + 20 + 240;
                    b[sec + 12..sec + 16].copy_from_slice(&0x8000u32.to_le_bytes());
                },
                Arch::Aarch64,
                false,
                "beyond SizeOfImage",
            ),
        ];
        for (name, edit, arch, application, want) in cases {
            let mut b = minimal_image(MACHINE_ARM64, true, 10);
            edit(&mut b);
            let v = check(&b, *arch);
            let msg = if *application {
                v.application.clone()
            } else {
                v.sections.clone()
            };
            let msg = msg.expect_err(name);
            assert!(msg.contains(want), "{name}: {msg}");
        }
    }

    #[test]
    fn the_linux_kernel_header_layout_is_accepted() {
        // The arm64 Image puts its PE header at 0x40, right after its own header.
        let mut b = minimal_image(MACHINE_ARM64, true, 10);
        let pe: Vec<u8> = b[0x80..0x200].to_vec();
        b[0x40..0x40 + pe.len()].copy_from_slice(&pe);
        b[0x3C..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        let v = check(&b, Arch::Aarch64);
        assert!(v.application.is_ok() && v.sections.is_ok(), "{v:?}");
    }
}
