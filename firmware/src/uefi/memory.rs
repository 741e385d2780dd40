//! The UEFI memory map and page allocator: which pages of guest RAM are free
//! and which belong to whom (UEFI 2.10, 7.2 "Memory Allocation Services").
//!
//! The map is a sorted list of ranges that covers RAM exactly; neighbours of
//! the same type are always merged, so GetMemoryMap reports the fewest
//! descriptors. Allocations are made top-down, as EDK2 does, so that low
//! memory stays free for payloads that ask for fixed addresses.

use super::status::{self, Status};

pub const PAGE: u64 = 4096;

/// EFI_MEMORY_TYPE values.
pub mod kind {
    pub const RESERVED: u32 = 0;
    pub const LOADER_CODE: u32 = 1;
    pub const LOADER_DATA: u32 = 2;
    pub const BOOT_SERVICES_CODE: u32 = 3;
    pub const BOOT_SERVICES_DATA: u32 = 4;
    pub const RUNTIME_SERVICES_CODE: u32 = 5;
    pub const RUNTIME_SERVICES_DATA: u32 = 6;
    pub const CONVENTIONAL: u32 = 7;
    pub const UNUSABLE: u32 = 8;
    pub const ACPI_RECLAIM: u32 = 9;
    pub const ACPI_NVS: u32 = 10;
    pub const PERSISTENT: u32 = 14;
    /// The first of the types reserved for OEMs (then OS loaders from 0x80000000).
    pub const OEM_FIRST: u32 = 0x7000_0000;
}

/// EFI_MEMORY_UC | WC | WT | WB: what guest RAM can be mapped as.
const ATTR_CACHEABLE: u64 = 0xF;
const ATTR_RUNTIME: u64 = 1 << 63;
/// Runtime regions are 64 KiB-aligned, for OSes with 64 KiB pages.
pub const RUNTIME_ALIGN: u64 = 64 * 1024;
/// DescriptorSize reported by GetMemoryMap: larger than the 40-byte structure,
/// as EDK2's, so that callers honour the size they are given.
pub const DESCRIPTOR_SIZE: u64 = 48;
pub const DESCRIPTOR_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub pages: u64,
    pub kind: u32,
}

impl Range {
    fn end(&self) -> u64 {
        self.start + self.pages * PAGE
    }
}

/// How AllocatePages chooses the address (EFI_ALLOCATE_TYPE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Anywhere,
    Below(u64),
    At(u64),
}

pub struct MemoryMap {
    ranges: Vec<Range>,
    /// Changes on every change of the map (GetMemoryMap's MapKey).
    key: u64,
}

impl MemoryMap {
    /// All of `[base, base + size)` free.
    pub fn new(base: u64, size: u64) -> MemoryMap {
        MemoryMap {
            ranges: vec![Range {
                start: base,
                pages: size / PAGE,
                kind: kind::CONVENTIONAL,
            }],
            key: 1,
        }
    }

    pub fn key(&self) -> u64 {
        self.key
    }

    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// Whether AllocatePages/AllocatePool accept the memory type: the
    /// architected types but free and persistent memory, and the OEM and OS
    /// ranges.
    pub fn valid_kind(k: u32) -> bool {
        match k {
            kind::CONVENTIONAL | kind::PERSISTENT => false,
            0..=13 => true,
            kind::OEM_FIRST.. => true,
            _ => false,
        }
    }

    /// AllocatePages. `align` is a power of two, at least a page.
    pub fn allocate(
        &mut self,
        place: Placement,
        k: u32,
        pages: u64,
        align: u64,
    ) -> Result<u64, Status> {
        if pages == 0 || !Self::valid_kind(k) {
            return Err(status::INVALID_PARAMETER);
        }
        let size = pages.checked_mul(PAGE).ok_or(status::OUT_OF_RESOURCES)?;
        let start = match place {
            Placement::At(addr) => {
                if !addr.is_multiple_of(PAGE) {
                    return Err(status::INVALID_PARAMETER);
                }
                let end = addr.checked_add(size).ok_or(status::NOT_FOUND)?;
                if !self.is_free(addr, end) {
                    return Err(status::NOT_FOUND);
                }
                addr
            }
            Placement::Anywhere => self.find_top(u64::MAX, size, align)?,
            Placement::Below(max) => self.find_top(max, size, align)?,
        };
        self.set(start, pages, k);
        Ok(start)
    }

    /// The highest `align`ed start of `size` free bytes ending at or below
    /// `max` + 1.
    fn find_top(&self, max: u64, size: u64, align: u64) -> Result<u64, Status> {
        let limit = max.saturating_add(1);
        for r in self.ranges.iter().rev() {
            if r.kind != kind::CONVENTIONAL {
                continue;
            }
            let end = r.end().min(limit & !(PAGE - 1));
            let Some(top) = end.checked_sub(size) else {
                continue;
            };
            let start = top & !(align - 1);
            if start >= r.start {
                return Ok(start);
            }
        }
        Err(status::OUT_OF_RESOURCES)
    }

    fn is_free(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for r in &self.ranges {
            if r.end() <= at || r.start >= end {
                continue;
            }
            if r.kind != kind::CONVENTIONAL || r.start > at {
                return false;
            }
            at = r.end();
            if at >= end {
                return true;
            }
        }
        at >= end
    }

    /// FreePages: every page must be allocated (any sub-range of earlier
    /// allocations may be freed).
    pub fn free(&mut self, start: u64, pages: u64) -> Result<(), Status> {
        if !start.is_multiple_of(PAGE) || pages == 0 {
            return Err(status::INVALID_PARAMETER);
        }
        let end = pages
            .checked_mul(PAGE)
            .and_then(|s| start.checked_add(s))
            .ok_or(status::INVALID_PARAMETER)?;
        let mut at = start;
        for r in &self.ranges {
            if r.end() <= at || r.start >= end {
                continue;
            }
            if r.kind == kind::CONVENTIONAL || r.start > at {
                return Err(status::NOT_FOUND);
            }
            at = r.end();
        }
        if at < end {
            return Err(status::NOT_FOUND);
        }
        self.set(start, pages, kind::CONVENTIONAL);
        Ok(())
    }

    /// The type of the page holding `addr`, if it is RAM.
    pub fn kind_at(&self, addr: u64) -> Option<u32> {
        self.ranges
            .iter()
            .find(|r| r.start <= addr && addr < r.end())
            .map(|r| r.kind)
    }

    /// Makes `[start, start + pages)` of type `k` (inside RAM), then merges.
    fn set(&mut self, start: u64, pages: u64, k: u32) {
        let end = start + pages * PAGE;
        let mut out = Vec::with_capacity(self.ranges.len() + 2);
        for r in &self.ranges {
            if r.end() <= start || r.start >= end {
                out.push(*r);
                continue;
            }
            if r.start < start {
                out.push(Range {
                    start: r.start,
                    pages: (start - r.start) / PAGE,
                    kind: r.kind,
                });
            }
            if r.end() > end {
                out.push(Range {
                    start: end,
                    pages: (r.end() - end) / PAGE,
                    kind: r.kind,
                });
            }
        }
        out.push(Range {
            start,
            pages,
            kind: k,
        });
        out.sort_by_key(|r| r.start);
        let mut merged: Vec<Range> = Vec::with_capacity(out.len());
        for r in out {
            match merged.last_mut() {
                Some(last) if last.kind == r.kind && last.end() == r.start => last.pages += r.pages,
                _ => merged.push(r),
            }
        }
        self.ranges = merged;
        self.key += 1;
    }

    /// The map as GetMemoryMap writes it: EFI_MEMORY_DESCRIPTORs of
    /// [`DESCRIPTOR_SIZE`] bytes.
    pub fn descriptors(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.ranges.len() * DESCRIPTOR_SIZE as usize);
        for r in &self.ranges {
            let runtime = matches!(
                r.kind,
                kind::RUNTIME_SERVICES_CODE | kind::RUNTIME_SERVICES_DATA
            );
            let attr = ATTR_CACHEABLE | if runtime { ATTR_RUNTIME } else { 0 };
            let mut d = [0u8; DESCRIPTOR_SIZE as usize];
            d[0..4].copy_from_slice(&r.kind.to_le_bytes());
            d[8..16].copy_from_slice(&r.start.to_le_bytes());
            // VirtualStart stays 0 until SetVirtualAddressMap.
            d[24..32].copy_from_slice(&r.pages.to_le_bytes());
            d[32..40].copy_from_slice(&attr.to_le_bytes());
            out.extend_from_slice(&d);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x4000_0000;

    fn map() -> MemoryMap {
        MemoryMap::new(BASE, 64 << 20)
    }

    #[test]
    fn allocates_top_down_and_merges_on_free() {
        let mut m = map();
        let a = m
            .allocate(Placement::Anywhere, kind::LOADER_DATA, 2, PAGE)
            .unwrap();
        assert_eq!(a, BASE + (64 << 20) - 2 * PAGE);
        let b = m
            .allocate(Placement::Anywhere, kind::LOADER_DATA, 1, PAGE)
            .unwrap();
        assert_eq!(b, a - PAGE);
        // Same type, adjacent: one range.
        assert_eq!(m.ranges().len(), 2);
        m.free(a, 2).unwrap();
        m.free(b, 1).unwrap();
        assert_eq!(m.ranges().len(), 1);
    }

    #[test]
    fn frees_any_sub_range_but_not_free_pages() {
        let mut m = map();
        let a = m
            .allocate(Placement::Anywhere, kind::LOADER_CODE, 16, PAGE)
            .unwrap();
        m.free(a + 4 * PAGE, 4).unwrap();
        assert_eq!(m.kind_at(a + 4 * PAGE), Some(kind::CONVENTIONAL));
        assert_eq!(m.kind_at(a + 3 * PAGE), Some(kind::LOADER_CODE));
        assert_eq!(m.free(a + 4 * PAGE, 1), Err(status::NOT_FOUND));
        assert_eq!(m.free(a + 2 * PAGE, 4), Err(status::NOT_FOUND));
        assert_eq!(m.free(a + 1, 1), Err(status::INVALID_PARAMETER));
    }

    #[test]
    fn fixed_addresses_and_limits() {
        let mut m = map();
        assert_eq!(
            m.allocate(Placement::At(BASE + 0x10000), kind::LOADER_DATA, 4, PAGE),
            Ok(BASE + 0x10000)
        );
        assert_eq!(
            m.allocate(Placement::At(BASE + 0x12000), kind::LOADER_DATA, 4, PAGE),
            Err(status::NOT_FOUND)
        );
        // Outside RAM.
        assert_eq!(
            m.allocate(Placement::At(0x1000), kind::LOADER_DATA, 1, PAGE),
            Err(status::NOT_FOUND)
        );
        let low = m
            .allocate(Placement::Below(BASE + 0x8FFF), kind::LOADER_DATA, 1, PAGE)
            .unwrap();
        assert!(low + PAGE <= BASE + 0x9000);
        assert_eq!(
            m.allocate(Placement::Below(BASE - 1), kind::LOADER_DATA, 1, PAGE),
            Err(status::OUT_OF_RESOURCES)
        );
        assert_eq!(
            m.allocate(Placement::Anywhere, kind::LOADER_DATA, 1 << 40, PAGE),
            Err(status::OUT_OF_RESOURCES)
        );
    }

    #[test]
    fn alignment_and_descriptors() {
        let mut m = map();
        let a = m
            .allocate(
                Placement::Anywhere,
                kind::RUNTIME_SERVICES_CODE,
                1,
                RUNTIME_ALIGN,
            )
            .unwrap();
        assert_eq!(a % RUNTIME_ALIGN, 0);
        let d = m.descriptors();
        assert_eq!(d.len() as u64, DESCRIPTOR_SIZE * m.ranges().len() as u64);
        let rt = m.ranges().iter().position(|r| r.start == a).unwrap();
        let attr = u64::from_le_bytes(d[rt * 48 + 32..rt * 48 + 40].try_into().unwrap());
        assert_eq!(attr, ATTR_CACHEABLE | ATTR_RUNTIME);
        let key = m.key();
        m.free(a, 1).unwrap();
        assert_ne!(m.key(), key);
    }
}
