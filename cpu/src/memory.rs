//! Guest physical memory: RAM regions backed by anonymous host mappings, and the
//! trait through which the CPU reaches everything else (MMIO).

use memmap2::MmapMut;

/// Physical address space as seen by a vCPU. The board implements it.
pub trait PhysMemory {
    /// The host address of the 4 KiB RAM page holding `pa`, or `None` if `pa` is not
    /// RAM. The pointer stays valid for the lifetime of the machine.
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8>;
    /// A read of `size` bytes (1, 2, 4 or 8) that is not RAM; `Err` is an external abort.
    fn mmio_read(&mut self, pa: u64, size: u8) -> Result<u64, BusError>;
    /// A write that is not RAM; `Err` is an external abort.
    fn mmio_write(&mut self, pa: u64, size: u8, value: u64) -> Result<(), BusError>;
}

/// An access to a physical address that nothing answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no device or memory at physical address {0:#x}")]
pub struct BusError(pub u64);

/// One contiguous RAM region.
pub struct Ram {
    base: u64,
    map: MmapMut,
}

#[derive(Debug, thiserror::Error)]
pub enum RamError {
    #[error("cannot allocate {size} bytes of guest RAM")]
    Allocate {
        size: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("guest RAM size {0:#x} is not a non-zero multiple of 4 KiB")]
    BadSize(u64),
}

impl Ram {
    pub fn new(base: u64, size: u64) -> Result<Ram, RamError> {
        if size == 0 || !size.is_multiple_of(4096) || usize::try_from(size).is_err() {
            return Err(RamError::BadSize(size));
        }
        let map = MmapMut::map_anon(size as usize)
            .map_err(|source| RamError::Allocate { size, source })?;
        Ok(Ram { base, map })
    }
    pub fn base(&self) -> u64 {
        self.base
    }
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }
    pub fn contains(&self, pa: u64) -> bool {
        pa >= self.base && pa - self.base < self.size()
    }
    /// Host pointer for `pa`, which must be inside this region.
    pub fn host_ptr(&mut self, pa: u64) -> *mut u8 {
        debug_assert!(self.contains(pa));
        // SAFETY: the offset is inside the mapping.
        unsafe { self.map.as_mut_ptr().add((pa - self.base) as usize) }
    }
    /// The bytes at `pa..pa+len`, if they lie entirely inside this region.
    pub fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let off = pa.checked_sub(self.base)? as usize;
        self.map.get(off..off.checked_add(len)?)
    }
    pub fn slice_mut(&mut self, pa: u64, len: usize) -> Option<&mut [u8]> {
        let off = pa.checked_sub(self.base)? as usize;
        self.map.get_mut(off..off.checked_add(len)?)
    }
}

/// One RAM region is a whole physical address space on its own (tests, benchmarks):
/// everything outside it is an external abort.
impl PhysMemory for Ram {
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8> {
        self.contains(pa).then(|| self.host_ptr(pa & !0xfff))
    }
    fn mmio_read(&mut self, pa: u64, _size: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, pa: u64, _size: u8, _value: u64) -> Result<(), BusError> {
        Err(BusError(pa))
    }
}
