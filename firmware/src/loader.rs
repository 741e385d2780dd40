//! Loading a guest program into RAM: AArch64 ELF files (PT_LOAD segments at their
//! physical addresses) and raw images at a given address.

use goblin::elf::{header, program_header, Elf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not an AArch64 ELF file: e_machine is {0} (AArch64 is 183)")]
    WrongMachine(u16),
    #[error("not a 64-bit little-endian ELF file")]
    WrongClass,
    #[error("malformed ELF file")]
    BadElf(#[source] goblin::error::Error),
    #[error("ELF segment at file offset {offset:#x} ({size:#x} bytes) lies beyond the end of the file ({file_size:#x} bytes): the file is truncated")]
    Truncated {
        offset: u64,
        size: u64,
        file_size: u64,
    },
    #[error("{what} at {addr:#x} ({size:#x} bytes) does not fit in guest RAM")]
    OutsideRam {
        what: &'static str,
        addr: u64,
        size: u64,
    },
    #[error("not an ELF file; give --load-addr to load it as a raw image")]
    NeedLoadAddress,
    #[error("the ELF file has no loadable segments")]
    Empty,
}

/// Where a program was put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub entry: u64,
    /// Lowest and one-past-highest physical address written.
    pub start: u64,
    pub end: u64,
}

/// Writes `data` to guest RAM at a physical address; false if it does not fit.
pub type RamWriter<'a> = &'a mut dyn FnMut(u64, &[u8]) -> bool;

pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Loads an ELF file or, with `load_addr`, a raw image.
pub fn load(data: &[u8], load_addr: Option<u64>, ram: RamWriter) -> Result<Loaded, LoadError> {
    match load_addr {
        Some(addr) if !is_elf(data) => load_raw(data, addr, ram),
        _ if is_elf(data) => load_elf(data, ram),
        _ => Err(LoadError::NeedLoadAddress),
    }
}

pub fn load_raw(data: &[u8], addr: u64, ram: RamWriter) -> Result<Loaded, LoadError> {
    let size = data.len() as u64;
    if !ram(addr, data) {
        return Err(LoadError::OutsideRam {
            what: "the image",
            addr,
            size,
        });
    }
    Ok(Loaded {
        entry: addr,
        start: addr,
        end: addr + size,
    })
}

pub fn load_elf(data: &[u8], ram: RamWriter) -> Result<Loaded, LoadError> {
    // Check the identification bytes first: goblin would accept other machines.
    if data.len() < header::SIZEOF_IDENT
        || data[header::EI_CLASS] != header::ELFCLASS64
        || data[header::EI_DATA] != header::ELFDATA2LSB
    {
        return Err(LoadError::WrongClass);
    }
    let elf = Elf::parse(data).map_err(LoadError::BadElf)?;
    if elf.header.e_machine != header::EM_AARCH64 {
        return Err(LoadError::WrongMachine(elf.header.e_machine));
    }
    let mut start = u64::MAX;
    let mut end = 0;
    for ph in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
    {
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if file_end.is_none_or(|e| e > data.len() as u64) || ph.p_filesz > ph.p_memsz {
            return Err(LoadError::Truncated {
                offset: ph.p_offset,
                size: ph.p_filesz,
                file_size: data.len() as u64,
            });
        }
        let mut bytes = data[ph.p_offset as usize..(ph.p_offset + ph.p_filesz) as usize].to_vec();
        bytes.resize(ph.p_memsz as usize, 0);
        if !ram(ph.p_paddr, &bytes) {
            return Err(LoadError::OutsideRam {
                what: "an ELF segment",
                addr: ph.p_paddr,
                size: ph.p_memsz,
            });
        }
        start = start.min(ph.p_paddr);
        end = end.max(ph.p_paddr + ph.p_memsz);
    }
    if start == u64::MAX {
        return Err(LoadError::Empty);
    }
    Ok(Loaded {
        entry: elf.header.e_entry,
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with one PT_LOAD segment of `payload` at `paddr`.
    fn elf(machine: u16, paddr: u64, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 64 + 56];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little-endian
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&machine.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&paddr.to_le_bytes()); // e_entry
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = &mut f[64..];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        ph[4..8].copy_from_slice(&5u32.to_le_bytes());
        ph[8..16].copy_from_slice(&120u64.to_le_bytes()); // p_offset
        ph[16..24].copy_from_slice(&paddr.to_le_bytes());
        ph[24..32].copy_from_slice(&paddr.to_le_bytes());
        ph[32..40].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        ph[40..48].copy_from_slice(&(payload.len() as u64 + 16).to_le_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ram_at(base: u64, size: usize) -> (Vec<u8>, impl FnMut(u64, &[u8]) -> bool) {
        let mem = vec![0xaa; size];
        let mut copy = mem.clone();
        let writer = move |pa: u64, d: &[u8]| {
            let off = match pa.checked_sub(base) {
                Some(o) => o as usize,
                None => return false,
            };
            if off + d.len() > copy.len() {
                return false;
            }
            copy[off..off + d.len()].copy_from_slice(d);
            true
        };
        (mem, writer)
    }

    #[test]
    fn loads_segments_and_entry() {
        let (_, mut w) = ram_at(0x4000_0000, 4096);
        let l = load(&elf(183, 0x4000_0100, &[1, 2, 3, 4]), None, &mut w).unwrap();
        assert_eq!(
            l,
            Loaded {
                entry: 0x4000_0100,
                start: 0x4000_0100,
                end: 0x4000_0114
            }
        );
    }

    #[test]
    fn rejects_bad_files() {
        let (_, mut w) = ram_at(0x4000_0000, 4096);
        assert!(matches!(
            load(&elf(62, 0x4000_0000, &[0; 4]), None, &mut w),
            Err(LoadError::WrongMachine(62))
        ));
        let mut truncated = elf(183, 0x4000_0000, &[0; 64]);
        truncated.truncate(150);
        assert!(matches!(
            load(&truncated, None, &mut w),
            Err(LoadError::Truncated { .. })
        ));
        assert!(matches!(
            load(&elf(183, 0x1000, &[0; 4]), None, &mut w),
            Err(LoadError::OutsideRam { .. })
        ));
        assert!(matches!(
            load(b"raw bytes", None, &mut w),
            Err(LoadError::NeedLoadAddress)
        ));
        assert!(matches!(
            load(b"\x7fELF", None, &mut w),
            Err(LoadError::WrongClass)
        ));
        assert_eq!(
            load(b"raw", Some(0x4000_0000), &mut w).unwrap().entry,
            0x4000_0000
        );
    }
}
