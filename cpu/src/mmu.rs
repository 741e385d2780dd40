//! VMSAv8-64 stage-1 translation for the EL1&0 regime (ARM ARM D8).
//!
//! `walk` reads descriptors through [`PhysMemory`] and returns the output address
//! with the permissions for both EL1 and EL0, so that one walk can fill either of the
//! vCPU's software TLBs. Every descriptor read is recorded for `monitor translate`.

use crate::exception::FaultKind;
use crate::memory::PhysMemory;

/// The translation controls a walk needs, copied from the system registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regime {
    pub sctlr: u64,
    pub tcr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
    pub mair: u64,
    /// Physical address size in bits implemented (ID_AA64MMFR0_EL1.PARange).
    pub pa_bits: u32,
}

/// Access permissions of a translated page, for one exception level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// A successful translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Output address of the byte at the input address.
    pub pa: u64,
    pub el1: Perms,
    pub el0: Perms,
    /// The memory is Device memory (MAIR attribute 0b0000xxxx, or MMU off for data).
    pub device: bool,
    /// MAIR attribute byte of the mapping.
    pub attr: u8,
    /// Shareability field of the descriptor.
    pub sh: u8,
    /// Not-global: the mapping belongs to an ASID.
    pub ng: bool,
    /// The level of the leaf descriptor (or 0 with the MMU off).
    pub level: u8,
    /// Bytes covered by the leaf descriptor (4 KiB with the MMU off).
    pub leaf_size: u64,
}

/// One step of a walk, recorded for debugging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkStep {
    pub level: u8,
    pub table_pa: u64,
    pub descriptor: u64,
}

/// Why a walk failed, with the level it failed at.
pub type WalkFault = FaultKind;

const SCTLR_M: u64 = 1 << 0;
const SCTLR_WXN: u64 = 1 << 19;

impl Regime {
    pub fn mmu_enabled(&self) -> bool {
        self.sctlr & SCTLR_M != 0
    }

    /// Translates `va`. `data` selects the MMU-off memory type (Device for data,
    /// Normal for instruction fetches). `steps`, if given, receives each descriptor.
    pub fn walk(
        &self,
        mem: &mut dyn PhysMemory,
        va: u64,
        data: bool,
        mut steps: Option<&mut Vec<WalkStep>>,
    ) -> Result<Translation, WalkFault> {
        if !self.mmu_enabled() {
            if va >> self.pa_bits != 0 {
                return Err(FaultKind::AddressSize(0));
            }
            let all = Perms {
                read: true,
                write: true,
                exec: true,
            };
            return Ok(Translation {
                pa: va,
                el1: all,
                el0: all,
                device: data,
                attr: if data { 0 } else { 0xff },
                sh: 0b10,
                ng: false,
                level: 0,
                leaf_size: 0x1000,
            });
        }

        let upper = (va >> 55) & 1 == 1;
        let (tsz, tg, epd, tbi, ttbr) = if upper {
            (
                (self.tcr >> 16) & 0x3f,
                match (self.tcr >> 30) & 3 {
                    0b01 => 14,
                    0b11 => 16,
                    _ => 12,
                },
                (self.tcr >> 23) & 1,
                (self.tcr >> 38) & 1,
                self.ttbr1,
            )
        } else {
            (
                self.tcr & 0x3f,
                match (self.tcr >> 14) & 3 {
                    0b01 => 16,
                    0b10 => 14,
                    _ => 12,
                },
                (self.tcr >> 7) & 1,
                (self.tcr >> 37) & 1,
                self.ttbr0,
            )
        };
        // T0SZ/T1SZ outside 16..=39 are treated as the nearest legal value
        // (CONSTRAINED UNPREDICTABLE; this is the option QEMU also takes).
        let tsz = tsz.clamp(16, 39) as u32;
        let in_bits = 64 - tsz;
        let top = if tbi == 1 { 55 } else { 63 };
        // The bits above the input range must all equal bit 55 (TTBR1: ones).
        let checked = (va >> in_bits) & ((1u64 << (top + 1 - in_bits)) - 1);
        let want = if upper {
            (1u64 << (top + 1 - in_bits)) - 1
        } else {
            0
        };
        if checked != want || epd == 1 {
            return Err(FaultKind::Translation(0));
        }

        let granule: u32 = tg;
        let stride = granule - 3;
        let levels = (in_bits - granule).div_ceil(stride);
        let mut level = 4 - levels;
        // Table base: TTBR BADDR, aligned to the size of the first table.
        let first_bits = in_bits - granule - (levels - 1) * stride;
        let table_align = (first_bits + 3).max(6);
        let pa_mask = (1u64 << 48) - 1;
        let mut table = ttbr & pa_mask & !((1u64 << table_align) - 1);
        if table >> self.pa_bits != 0 {
            return Err(FaultKind::AddressSize(level as u8));
        }

        // Hierarchical permission limits from table descriptors.
        let mut ap_table = 0u64;
        let mut uxn_table = false;
        let mut pxn_table = false;

        loop {
            let shift = granule + (3 - level) * stride;
            let index_bits = if level == 4 - levels {
                first_bits
            } else {
                stride
            };
            let index = (va >> shift) & ((1u64 << index_bits) - 1);
            let desc_pa = table + index * 8;
            let desc =
                read_descriptor(mem, desc_pa).ok_or(FaultKind::ExternalOnWalk(level as u8))?;
            if let Some(s) = steps.as_deref_mut() {
                s.push(WalkStep {
                    level: level as u8,
                    table_pa: desc_pa,
                    descriptor: desc,
                });
            }
            let lvl = level as u8;
            let kind = desc & 3;
            let is_table = kind == 3 && level < 3;
            let is_page = kind == 3 && level == 3;
            let block_ok = match granule {
                12 => level == 1 || level == 2,
                _ => level == 2,
            };
            let is_block = kind == 1 && block_ok;
            if !(is_table || is_page || is_block) {
                return Err(FaultKind::Translation(lvl));
            }
            let oa = desc & pa_mask & !((1u64 << granule) - 1);
            if oa >> self.pa_bits != 0 {
                return Err(FaultKind::AddressSize(lvl));
            }
            if is_table {
                ap_table |= (desc >> 61) & 3;
                uxn_table |= (desc >> 60) & 1 == 1;
                pxn_table |= (desc >> 59) & 1 == 1;
                table = oa;
                level += 1;
                continue;
            }

            // Leaf: block or page.
            let out_mask = (1u64 << shift) - 1;
            let base = desc & pa_mask & !out_mask;
            if base >> self.pa_bits != 0 {
                return Err(FaultKind::AddressSize(lvl));
            }
            if desc & (1 << 10) == 0 {
                return Err(FaultKind::AccessFlag(lvl));
            }
            let attr_index = (desc >> 2) & 7;
            let attr = (self.mair >> (attr_index * 8)) as u8;
            let ap = (desc >> 6) & 3;
            let uxn = (desc >> 54) & 1 == 1 || uxn_table;
            let pxn = (desc >> 53) & 1 == 1 || pxn_table;
            let mut t = self.leaf(
                va,
                base | (va & out_mask),
                ap,
                ap_table,
                uxn,
                pxn,
                attr,
                desc,
                lvl,
            );
            t.leaf_size = out_mask + 1;
            return Ok(t);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &self,
        _va: u64,
        pa: u64,
        ap: u64,
        ap_table: u64,
        uxn: bool,
        pxn: bool,
        attr: u8,
        desc: u64,
        level: u8,
    ) -> Translation {
        // AP[2:1]: bit 1 (AP[2]) read-only, bit 0 (AP[1]) EL0 access.
        // APTable bit 1 forces read-only, bit 0 removes EL0 access.
        let read_only = ap & 2 != 0 || ap_table & 2 != 0;
        let el0_access = ap & 1 != 0 && ap_table & 1 == 0;
        let wxn = self.sctlr & SCTLR_WXN != 0;
        let el0_write = el0_access && !read_only;
        // WXN: writable memory is never executable.
        let el1_wxn = wxn && !read_only;
        let el0_wxn = wxn && el0_write;
        let el1 = Perms {
            read: true,
            write: !read_only,
            // Memory writable at EL0 is never executable at EL1.
            exec: !(pxn || el0_write || el1_wxn),
        };
        let el0 = Perms {
            read: el0_access,
            write: el0_write,
            exec: !(uxn || el0_wxn),
        };
        Translation {
            pa,
            el1,
            el0,
            device: attr & 0xf0 == 0,
            attr,
            sh: ((desc >> 8) & 3) as u8,
            ng: desc & (1 << 11) != 0,
            level,
            leaf_size: 0x1000,
        }
    }
}

/// A table descriptor. Tables live in RAM: a walk that reaches a device (or
/// nothing) is an external abort on the walk.
fn read_descriptor(mem: &mut dyn PhysMemory, pa: u64) -> Option<u64> {
    if !pa.is_multiple_of(8) {
        return None;
    }
    let page = mem.ram_page(pa)?;
    // SAFETY: ram_page returns a valid pointer to a 4 KiB page; the offset is
    // 8-aligned and inside it.
    let raw = unsafe { (page.add((pa & 0xfff) as usize) as *const u64).read_unaligned() };
    Some(u64::from_le(raw))
}

/// The direct-mapped software TLB of one translation regime and privilege.
///
/// An entry caches one 4 KiB virtual page. Each access kind has its own tag: the
/// page's address when that access is allowed and goes to RAM, with flag bits set
/// (never equal to a page address) when it must take the slow path.
///
/// Each entry is split in two arrays: what the access fast paths read (the tags
/// and the host address), 32 bytes, and the rest, which only fills, flushes and
/// slow paths need. The hot half of the whole TLB then takes half the host
/// cache it would otherwise.
pub struct Tlb {
    /// Fixed-size arrays, so that indexing by [`Tlb::index`] needs no bounds check.
    pub entries: Box<[TlbEntry; TLB_SIZE]>,
    pub details: Box<[TlbDetail; TLB_SIZE]>,
}

pub const TLB_BITS: u32 = 10;
pub const TLB_SIZE: usize = 1 << TLB_BITS;
/// Tag of an empty entry: its low bits make it unequal to any page address.
pub const TAG_INVALID: u64 = u64::MAX;
/// Low tag bit: the page is MMIO (allowed, but not RAM).
pub const TAG_MMIO: u64 = 1;

/// The hot half of a TLB entry. `#[repr(C)]`: translated code compares the
/// tags and adds the addend inline (offsets below).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct TlbEntry {
    pub tag_read: u64,
    pub tag_write: u64,
    pub tag_exec: u64,
    /// host address = va + addend (wrapping), for RAM pages.
    pub addend: usize,
}

/// The cold half of a TLB entry. `#[repr(C)]`: translated code checks
/// `pa_page` when it chains from one block to the next.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct TlbDetail {
    /// Physical page address.
    pub pa_page: u64,
    /// Virtual page address of the entry.
    pub va_page: u64,
    /// Mask of the virtual address bits that select the leaf (block or page) of the
    /// translation: TLBI by VA drops every entry sharing them.
    pub leaf_mask: u64,
    /// Device memory: unaligned accesses fault, so they take the slow path.
    pub device: bool,
    /// A global mapping (nG = 0): valid whatever the ASID.
    pub global: bool,
}

impl TlbEntry {
    /// Field offsets, for translated code.
    pub const TAG_READ: usize = std::mem::offset_of!(TlbEntry, tag_read);
    pub const TAG_WRITE: usize = std::mem::offset_of!(TlbEntry, tag_write);
    pub const ADDEND: usize = std::mem::offset_of!(TlbEntry, addend);
    pub const TAG_EXEC: usize = std::mem::offset_of!(TlbEntry, tag_exec);
    const EMPTY: TlbEntry = TlbEntry {
        tag_read: TAG_INVALID,
        tag_write: TAG_INVALID,
        tag_exec: TAG_INVALID,
        addend: 0,
    };
}

impl TlbDetail {
    pub const PA_PAGE: usize = std::mem::offset_of!(TlbDetail, pa_page);
    const EMPTY: TlbDetail = TlbDetail {
        pa_page: 0,
        va_page: 0,
        leaf_mask: !0xfff,
        device: false,
        global: false,
    };
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb {
            entries: Box::new([TlbEntry::EMPTY; TLB_SIZE]),
            details: Box::new([TlbDetail::EMPTY; TLB_SIZE]),
        }
    }
}

impl Tlb {
    #[inline(always)]
    pub fn index(va: u64) -> usize {
        ((va >> 12) as usize) & (TLB_SIZE - 1)
    }
    pub fn flush(&mut self) {
        self.entries.fill(TlbEntry::EMPTY);
        self.details.fill(TlbDetail::EMPTY);
    }
    /// Drops the entries for which `drop(details)` holds.
    pub fn flush_where(&mut self, drop: impl Fn(&TlbDetail) -> bool) {
        for (e, d) in self.entries.iter_mut().zip(self.details.iter_mut()) {
            if drop(d) {
                *e = TlbEntry::EMPTY;
                *d = TlbDetail::EMPTY;
            }
        }
    }
    pub fn flush_page(&mut self, va: u64) {
        let page = va & !0xfff;
        let e = &mut self.entries[Self::index(va)];
        let tags = [e.tag_read, e.tag_write, e.tag_exec];
        if tags.iter().any(|t| t & !0xfff == page) {
            *e = TlbEntry::EMPTY;
            self.details[Self::index(va)] = TlbDetail::EMPTY;
        }
    }
    /// Makes writes to physical page `pa_page` take the slow path (it holds code).
    pub fn protect_code_page(&mut self, pa_page: u64) {
        for (e, d) in self.entries.iter_mut().zip(self.details.iter()) {
            if d.pa_page == pa_page && e.tag_write != TAG_INVALID {
                e.tag_write = TAG_INVALID;
            }
        }
    }
}
