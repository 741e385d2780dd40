//! Executable memory for translated code: one mapping, filled from the start,
//! emptied as a whole when full.

use std::ptr::NonNull;

pub struct Arena {
    base: NonNull<u8>,
    size: usize,
    used: usize,
}

impl Arena {
    /// Maps `size` bytes readable, writable and executable; None if the host
    /// refuses (a hardened kernel may forbid such mappings).
    pub fn new(size: usize) -> Option<Arena> {
        // SAFETY: an anonymous private mapping with no address hint.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(Arena {
            base: NonNull::new(p as *mut u8)?,
            size,
            used: 0,
        })
    }

    /// Copies `code` in; returns its address, or None if it does not fit.
    pub fn add(&mut self, code: &[u8]) -> Option<*const u8> {
        // 16-byte alignment for the entry, as compilers align functions.
        let start = (self.used + 15) & !15;
        if start + code.len() > self.size {
            return None;
        }
        // SAFETY: start..start+len is inside the mapping, which nothing
        // executes while translation runs.
        unsafe {
            let at = self.base.as_ptr().add(start);
            std::ptr::copy_nonoverlapping(code.as_ptr(), at, code.len());
            self.used = start + code.len();
            Some(at)
        }
    }

    /// Forgets all code (the caller has made sure none of it runs again).
    pub fn clear(&mut self) {
        self.used = 0;
    }

    pub fn used(&self) -> usize {
        self.used
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`.
        unsafe {
            libc::munmap(self.base.as_ptr() as *mut _, self.size);
        }
    }
}
