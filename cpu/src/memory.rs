//! Guest physical memory: RAM regions backed by anonymous host mappings, and the
//! trait through which the CPU reaches everything else (MMIO).

use memmap2::MmapMut;

/// Physical address space as seen by a vCPU. The board implements it.
pub trait PhysMemory {
    /// The host address of the 4 KiB RAM page holding `pa`, or `None` if `pa` is not
    /// RAM. The pointer stays valid for the lifetime of the machine.
    fn ram_page(&mut self, pa: u64) -> Option<*mut u8>;
    /// A read of `size` bytes (1, 2, 4 or 8) that is not RAM, made by vCPU `cpu`
    /// (banked device registers depend on it); `Err` is an external abort.
    fn mmio_read(&mut self, cpu: usize, pa: u64, size: u8) -> Result<u64, BusError>;
    /// A write that is not RAM, made by vCPU `cpu`; `Err` is an external abort.
    fn mmio_write(&mut self, cpu: usize, pa: u64, size: u8, value: u64) -> Result<(), BusError>;
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
    fn mmio_read(&mut self, _cpu: usize, pa: u64, _size: u8) -> Result<u64, BusError> {
        Err(BusError(pa))
    }
    fn mmio_write(&mut self, _cpu: usize, pa: u64, _size: u8, _value: u64) -> Result<(), BusError> {
        Err(BusError(pa))
    }
}

/// Guest RAM as devices and host threads see it: shareable (`Arc`), every access
/// bounds-checked against one RAM region, no pointer handed out without its length.
///
/// Device writes (DMA) are logged by page range: the board drains the log and
/// drops decoded code on those pages before any vCPU runs another block (the
/// notifier set with [`GuestMemory::on_dma_write`] tells the vCPUs to look), so a
/// page that a disk read fills with new code is decoded afresh.
///
/// Bulk data is copied with plain memory copies, as a DMA engine does; the
/// virtqueue indices that the ring protocol orders are accessed atomically
/// ([`GuestMemory::atomic_u16`]) with explicit fences at the points the virtio
/// specification asks for them.
pub struct GuestMemory {
    /// The mappings, owned here; `regions` points into them.
    _rams: Vec<Ram>,
    regions: Vec<Region>,
    dma_log: std::sync::Mutex<Vec<(u64, u64)>>,
    dma_notify: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

#[derive(Clone, Copy)]
struct Region {
    base: u64,
    size: u64,
    host: *mut u8,
}

// SAFETY: the regions point into mappings owned by the same struct, which live as
// long as it does and never move; concurrent access to guest RAM is the guest's
// business, as on real hardware (vCPUs and DMA race in the guest's own memory
// model, never on armvm's own data structures).
unsafe impl Send for GuestMemory {}
unsafe impl Sync for GuestMemory {}

/// The DMA log keeps at most this many ranges; past it, everything is reported
/// as written (one flush of all decoded code).
const DMA_LOG_LIMIT: usize = 4096;

impl GuestMemory {
    pub fn new(mut rams: Vec<Ram>) -> std::sync::Arc<GuestMemory> {
        let regions = rams
            .iter_mut()
            .map(|r| Region {
                base: r.base,
                size: r.size(),
                host: r.map.as_mut_ptr(),
            })
            .collect();
        std::sync::Arc::new(GuestMemory {
            _rams: rams,
            regions,
            dma_log: Default::default(),
            dma_notify: Default::default(),
        })
    }

    /// (base, size) of each RAM region.
    pub fn regions(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.regions.iter().map(|r| (r.base, r.size))
    }

    /// The host address of `pa..pa+len`, if that range lies inside one region.
    fn host(&self, pa: u64, len: u64) -> Option<*mut u8> {
        self.regions.iter().find_map(|r| {
            let off = pa.checked_sub(r.base)?;
            let end = off.checked_add(len)?;
            // SAFETY: off + len is inside the region's mapping.
            (end <= r.size).then(|| unsafe { r.host.add(off as usize) })
        })
    }

    /// Whether `pa..pa+len` is RAM (inside one region).
    pub fn contains(&self, pa: u64, len: u64) -> bool {
        self.host(pa, len).is_some()
    }

    /// The host address of the 4 KiB page holding `pa` (for the CPU's TLB).
    pub fn ram_page(&self, pa: u64) -> Option<*mut u8> {
        self.host(pa & !0xfff, 0x1000)
    }

    /// Copies guest RAM at `pa` into `buf`.
    pub fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), BusError> {
        let src = self.host(pa, buf.len() as u64).ok_or(BusError(pa))?;
        // SAFETY: `src` has buf.len() bytes (checked above); the ranges cannot
        // overlap (buf is host memory outside the mappings).
        unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Writes `data` into guest RAM at `pa` as a device does (logged for the code
    /// cache, see the type's documentation).
    pub fn write(&self, pa: u64, data: &[u8]) -> Result<(), BusError> {
        let dst = self.host(pa, data.len() as u64).ok_or(BusError(pa))?;
        // SAFETY: `dst` has data.len() bytes (checked above).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        self.log_dma(pa, data.len() as u64);
        Ok(())
    }

    /// Sets `len` bytes at `pa` to `byte` (a device write, logged like [`write`](Self::write)).
    pub fn fill(&self, pa: u64, len: u64, byte: u8) -> Result<(), BusError> {
        let dst = self.host(pa, len).ok_or(BusError(pa))?;
        // SAFETY: `dst` has len bytes (checked above).
        unsafe { std::ptr::write_bytes(dst, byte, len as usize) };
        self.log_dma(pa, len);
        Ok(())
    }

    pub fn read_u16(&self, pa: u64) -> Result<u16, BusError> {
        let mut b = [0; 2];
        self.read(pa, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    pub fn read_u32(&self, pa: u64) -> Result<u32, BusError> {
        let mut b = [0; 4];
        self.read(pa, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn read_u64(&self, pa: u64) -> Result<u64, BusError> {
        let mut b = [0; 8];
        self.read(pa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub fn write_u16(&self, pa: u64, v: u16) -> Result<(), BusError> {
        self.write(pa, &v.to_le_bytes())
    }
    pub fn write_u32(&self, pa: u64, v: u32) -> Result<(), BusError> {
        self.write(pa, &v.to_le_bytes())
    }

    /// A naturally aligned 16-bit guest word as an atomic (virtqueue indices and
    /// flags, which driver and device update concurrently). `None` outside RAM or
    /// when misaligned.
    pub fn atomic_u16(&self, pa: u64) -> Option<&std::sync::atomic::AtomicU16> {
        if !pa.is_multiple_of(2) {
            return None;
        }
        let p = self.host(pa, 2)?;
        // SAFETY: aligned, inside a mapping that lives as long as `self`; AtomicU16
        // has the layout of u16 (little-endian host, as the crate requires).
        Some(unsafe { &*(p as *const std::sync::atomic::AtomicU16) })
    }

    /// Gives the host pages of `pa..pa+len` back (a balloon): they read as zeroes
    /// afterwards. Only whole 4 KiB pages inside one region.
    pub fn discard(&self, pa: u64, len: u64) -> Result<(), BusError> {
        if !pa.is_multiple_of(4096) || !len.is_multiple_of(4096) {
            return Err(BusError(pa));
        }
        let p = self.host(pa, len).ok_or(BusError(pa))?;
        // SAFETY: a page-aligned range inside a private anonymous mapping;
        // MADV_DONTNEED makes it read as zeroes afterwards.
        let r = unsafe { libc_madvise_dontneed(p, len as usize) };
        if r != 0 {
            return Err(BusError(pa));
        }
        self.log_dma(pa, len);
        Ok(())
    }

    /// Called (from any thread) after device writes, so that the vCPUs drain the
    /// DMA log before their next block. Set once by the board.
    pub fn on_dma_write(&self, notify: Box<dyn Fn() + Send + Sync>) {
        let _ = self.dma_notify.set(notify);
    }

    fn log_dma(&self, pa: u64, len: u64) {
        if len == 0 {
            return;
        }
        {
            let mut log = self.dma_log.lock().unwrap_or_else(|e| e.into_inner());
            let full = log.len() >= DMA_LOG_LIMIT;
            match log.last_mut() {
                // Everything is already reported as written.
                Some((0, u64::MAX)) => {}
                // Consecutive writes (a large read filling a buffer) extend one range.
                Some((start, l)) if start.checked_add(*l) == Some(pa) => *l += len,
                _ if full => {
                    log.clear();
                    log.push((0, u64::MAX));
                }
                _ => log.push((pa, len)),
            }
        }
        if let Some(n) = self.dma_notify.get() {
            n();
        }
    }

    /// Takes the ranges devices wrote since the last call. `(0, u64::MAX)` means
    /// "assume everything changed".
    pub fn take_dma_writes(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.dma_log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// madvise(MADV_DONTNEED) without a libc dependency in this crate.
///
/// # Safety
/// `addr..addr+len` must be a page-aligned range of a private anonymous mapping.
unsafe fn libc_madvise_dontneed(addr: *mut u8, len: usize) -> i32 {
    extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
    }
    const MADV_DONTNEED: i32 = 4;
    madvise(addr.cast(), len, MADV_DONTNEED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> std::sync::Arc<GuestMemory> {
        GuestMemory::new(vec![
            Ram::new(0x1000, 0x2000).unwrap(),
            Ram::new(0x10_0000, 0x1000).unwrap(),
        ])
    }

    #[test]
    fn accesses_stay_inside_one_region() {
        let m = memory();
        m.write(0x2ff0, &[7; 16]).unwrap();
        let mut b = [0; 16];
        m.read(0x2ff0, &mut b).unwrap();
        assert_eq!(b, [7; 16]);
        // Crossing the region's end, below it, between regions, wrapping around.
        assert_eq!(m.write(0x2ff8, &[0; 16]), Err(BusError(0x2ff8)));
        assert!(m.read(0xff8, &mut b).is_err());
        assert!(m.read(0x3000, &mut b).is_err());
        assert!(m.read(u64::MAX - 4, &mut b).is_err());
        assert!(m.fill(0x10_0800, 0x801, 0).is_err());
        assert!(m.atomic_u16(0x1001).is_none());
        assert!(m.atomic_u16(0x2ffe).is_some());
        assert!(m.atomic_u16(0x3000).is_none());
        // The failed write changed nothing.
        m.read(0x2ff8, &mut b[..8]).unwrap();
        assert_eq!(b[..8], [7; 8]);
    }

    #[test]
    fn device_writes_are_logged_and_notified() {
        let m = memory();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        m.on_dma_write(Box::new(move || {
            h.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }));
        m.write(0x1000, &[1; 8]).unwrap();
        m.write(0x1008, &[2; 8]).unwrap();
        m.fill(0x10_0000, 16, 0).unwrap();
        assert_eq!(m.take_dma_writes(), vec![(0x1000, 16), (0x10_0000, 16)]);
        assert!(m.take_dma_writes().is_empty());
        assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 3);
        for i in 0..DMA_LOG_LIMIT as u64 + 1 {
            m.write(0x1000 + 2 * i % 0x1000, &[0]).unwrap();
        }
        assert_eq!(m.take_dma_writes(), vec![(0, u64::MAX)]);
    }

    #[test]
    fn discarded_pages_read_as_zero() {
        let m = memory();
        m.fill(0x1000, 0x2000, 0xaa).unwrap();
        m.discard(0x2000, 0x1000).unwrap();
        let mut b = [0xff; 2];
        m.read(0x1fff, &mut b).unwrap();
        assert_eq!(b, [0xaa, 0]);
        assert!(m.discard(0x2001, 0x1000).is_err());
    }
}
