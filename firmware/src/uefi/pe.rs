//! Loading a PE32+ image for AArch64 (UEFI 2.10, 2.1.1; the PE/COFF
//! specification): the image laid out as it runs — SizeOfImage bytes, zeroed
//! (BSS), headers copied, each section at its RVA — then moved to where it
//! was placed by applying the base relocations.

use crate::image::pe::{self as headers, MACHINE_ARM64, MAGIC_PE32_PLUS};

/// Images larger than this are refused (the kernel is about 40 MiB).
const MAX_IMAGE: u64 = 512 << 20;

pub const SUBSYSTEM_APPLICATION: u16 = 10;
pub const SUBSYSTEM_BOOT_DRIVER: u16 = 11;
pub const SUBSYSTEM_RUNTIME_DRIVER: u16 = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeError {
    #[error("{0}")]
    Malformed(String),
    #[error("it is a PE image for {0}, not for ARM64 (machine type 0xAA64)")]
    WrongMachine(&'static str),
    #[error("it is not a UEFI image (subsystem {0})")]
    NotUefi(u16),
}

/// An image ready to be copied into guest memory.
pub struct PeImage {
    /// SizeOfImage bytes, laid out at their RVAs.
    pub bytes: Vec<u8>,
    pub entry: u64,
    /// The image's placement alignment (SectionAlignment, at least a page).
    pub alignment: u64,
    pub subsystem: u16,
    image_base: u64,
    relocations: Option<(u32, u32)>,
}

fn malformed(why: impl Into<String>) -> PeError {
    PeError::Malformed(why.into())
}

pub fn prepare(file: &[u8]) -> Result<PeImage, PeError> {
    let info = headers::parse(file).map_err(PeError::Malformed)?;
    if info.machine != MACHINE_ARM64 {
        return Err(PeError::WrongMachine(headers::machine_name(info.machine)));
    }
    if info.magic != Some(MAGIC_PE32_PLUS) {
        return Err(malformed("it has no PE32+ optional header"));
    }
    let subsystem = info.subsystem.unwrap_or(0);
    if !(SUBSYSTEM_APPLICATION..=SUBSYSTEM_RUNTIME_DRIVER).contains(&subsystem) {
        return Err(PeError::NotUefi(subsystem));
    }
    let size = u64::from(info.size_of_image);
    if size == 0 || size > MAX_IMAGE {
        return Err(malformed(format!("SizeOfImage {size:#x} is absurd")));
    }
    let header_len = u64::from(info.size_of_headers);
    if header_len > size || header_len > file.len() as u64 {
        return Err(malformed(format!(
            "SizeOfHeaders {header_len:#x} exceeds the image or the file"
        )));
    }
    if u64::from(info.entry) >= size {
        return Err(malformed(format!(
            "the entry point {:#x} is outside the image ({size:#x} bytes)",
            info.entry
        )));
    }
    let alignment = u64::from(info.section_alignment).max(4096);
    if !alignment.is_power_of_two() || alignment > 2 << 20 {
        return Err(malformed(format!(
            "SectionAlignment {:#x} is not a power of two up to 2 MiB",
            info.section_alignment
        )));
    }
    let mut bytes = vec![0u8; size as usize];
    bytes[..header_len as usize].copy_from_slice(&file[..header_len as usize]);
    for s in headers::sections(file, &info).map_err(PeError::Malformed)? {
        let at = u64::from(s.virtual_address);
        // Raw data beyond VirtualSize is file padding (the rest of the
        // section is zero); some linkers leave VirtualSize 0 to mean "all".
        let len = match s.virtual_size {
            0 => u64::from(s.raw_size),
            v => u64::from(s.raw_size.min(v)),
        };
        let raw = u64::from(s.raw_offset);
        if at.checked_add(len).is_none_or(|end| end > size) {
            return Err(malformed(format!(
                "section {:?} ({len:#x} bytes at RVA {at:#x}) runs past SizeOfImage {size:#x}",
                s.name
            )));
        }
        if len > 0
            && raw
                .checked_add(len)
                .is_none_or(|end| end > file.len() as u64)
        {
            return Err(malformed(format!(
                "section {:?} ({len:#x} bytes at file offset {raw:#x}) runs past the end of the file",
                s.name
            )));
        }
        if len > 0 {
            bytes[at as usize..(at + len) as usize]
                .copy_from_slice(&file[raw as usize..(raw + len) as usize]);
        }
    }
    Ok(PeImage {
        bytes,
        entry: u64::from(info.entry),
        alignment,
        subsystem,
        image_base: info.image_base,
        relocations: info.base_relocations,
    })
}

impl PeImage {
    /// Applies the base relocations for running at `base`.
    pub fn relocate(&mut self, base: u64) -> Result<(), PeError> {
        let delta = base.wrapping_sub(self.image_base);
        let Some((rva, len)) = self.relocations else {
            return Ok(());
        };
        let size = self.bytes.len();
        let (start, end) = (rva as usize, rva as usize + len as usize);
        if end > size {
            return Err(malformed("the base relocation table runs past the image"));
        }
        let mut at = start;
        while at + 8 <= end {
            let page = u32_at(&self.bytes, at) as usize;
            let block = u32_at(&self.bytes, at + 4) as usize;
            if block < 8 || at + block > end {
                return Err(malformed(format!(
                    "base relocation block at RVA {at:#x} has a bad size {block:#x}"
                )));
            }
            for e in (at + 8..at + block).step_by(2) {
                if e + 2 > at + block {
                    break;
                }
                let entry = u16::from_le_bytes([self.bytes[e], self.bytes[e + 1]]);
                let target = page + (entry & 0xfff) as usize;
                match entry >> 12 {
                    // IMAGE_REL_BASED_ABSOLUTE: padding.
                    0 => {}
                    // IMAGE_REL_BASED_DIR64
                    10 => {
                        let slot = self
                            .bytes
                            .get_mut(target..target + 8)
                            .ok_or_else(|| malformed(reloc_outside(target)))?;
                        let v = u64::from_le_bytes(slot.try_into().unwrap_or([0; 8]));
                        slot.copy_from_slice(&v.wrapping_add(delta).to_le_bytes());
                    }
                    // IMAGE_REL_BASED_HIGHLOW
                    3 => {
                        let slot = self
                            .bytes
                            .get_mut(target..target + 4)
                            .ok_or_else(|| malformed(reloc_outside(target)))?;
                        let v = u32::from_le_bytes(slot.try_into().unwrap_or([0; 4]));
                        slot.copy_from_slice(&v.wrapping_add(delta as u32).to_le_bytes());
                    }
                    t => {
                        return Err(malformed(format!(
                            "base relocation type {t} at RVA {target:#x} is not supported"
                        )))
                    }
                }
            }
            at += block;
        }
        Ok(())
    }
}

fn reloc_outside(target: usize) -> String {
    format!("a base relocation at RVA {target:#x} is outside the image")
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pe::{minimal_image, MACHINE_X86_64, SUBSYSTEM_EFI_APPLICATION};

    #[test]
    fn refuses_other_machines_and_garbage() {
        let x86 = minimal_image(MACHINE_X86_64, true, SUBSYSTEM_EFI_APPLICATION);
        assert!(matches!(prepare(&x86), Err(PeError::WrongMachine(_))));
        assert!(matches!(prepare(b"MZ"), Err(PeError::Malformed(_))));
        assert!(matches!(prepare(&[]), Err(PeError::Malformed(_))));
    }

    #[test]
    fn loads_a_minimal_arm64_application() {
        let pe = minimal_image(MACHINE_ARM64, true, SUBSYSTEM_EFI_APPLICATION);
        let mut img = prepare(&pe).unwrap();
        assert_eq!(img.subsystem, SUBSYSTEM_APPLICATION);
        assert!(img.bytes.len() >= 0x200);
        assert_eq!(&img.bytes[..2], b"MZ");
        img.relocate(0x4000_0000).unwrap();
    }

    #[test]
    fn mutated_images_never_panic() {
        let pe = minimal_image(MACHINE_ARM64, true, SUBSYSTEM_EFI_APPLICATION);
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..5000 {
            let mut m = pe.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed as usize) % m.len();
                m[at] = (seed >> 32) as u8;
            }
            if let Ok(mut img) = prepare(&m) {
                let _ = img.relocate(seed & !0xfff);
            }
        }
    }
}
