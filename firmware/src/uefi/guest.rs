//! The calling vCPU and its memory, as a service sees them: arguments by
//! position (x0-x7, then the stack, AAPCS64) and memory by the caller's
//! virtual addresses, translated through its page tables. After
//! ExitBootServices the kernel passes its own virtual addresses, so no service
//! may assume that an address is physical.

use armvm_cpu::memory::{GuestMemory, PhysMemory};
use armvm_cpu::Cpu;

use super::guid::Guid;
use super::status::{self, Status};

/// The longest string a service reads from the guest (in UTF-16 units).
pub const MAX_STRING: usize = 64 * 1024;

pub struct Guest<'a> {
    pub cpu: &'a mut Cpu,
    pub phys: &'a mut dyn PhysMemory,
    pub mem: &'a GuestMemory,
}

/// A guest address that does not lead to RAM: the service answers
/// EFI_INVALID_PARAMETER.
pub type Access<T> = Result<T, Status>;

impl Guest<'_> {
    /// Argument `n` (0-based) of the call.
    pub fn arg(&mut self, n: usize) -> Access<u64> {
        if n < 8 {
            return Ok(self.cpu.regs.x[n]);
        }
        let sp = self.cpu.regs.sp();
        self.read_u64(sp + 8 * (n as u64 - 8))
    }

    /// The physical address of `va` and how many bytes of its page follow.
    fn translate(&mut self, va: u64) -> Access<(u64, u64)> {
        let t = self
            .cpu
            .translate_debug(self.phys, va, None)
            .map_err(|_| status::INVALID_PARAMETER)?;
        let in_page = 0x1000 - (va & 0xfff);
        Ok((t.pa, in_page))
    }

    /// Visits `len` bytes at `va` page by page as (physical address, offset, length).
    fn each_page(
        &mut self,
        va: u64,
        len: usize,
        mut f: impl FnMut(&GuestMemory, u64, usize, usize) -> bool,
    ) -> Access<()> {
        let mut done = 0usize;
        while done < len {
            let at = va
                .checked_add(done as u64)
                .ok_or(status::INVALID_PARAMETER)?;
            let (pa, room) = self.translate(at)?;
            let n = (room as usize).min(len - done);
            if !f(self.mem, pa, done, n) {
                return Err(status::INVALID_PARAMETER);
            }
            done += n;
        }
        Ok(())
    }

    pub fn read(&mut self, va: u64, buf: &mut [u8]) -> Access<()> {
        let len = buf.len();
        self.each_page(va, len, |mem, pa, off, n| {
            mem.read(pa, &mut buf[off..off + n]).is_ok()
        })
    }

    pub fn write(&mut self, va: u64, data: &[u8]) -> Access<()> {
        self.each_page(va, data.len(), |mem, pa, off, n| {
            mem.write(pa, &data[off..off + n]).is_ok()
        })
    }

    pub fn fill(&mut self, va: u64, len: u64, byte: u8) -> Access<()> {
        let len = usize::try_from(len).map_err(|_| status::INVALID_PARAMETER)?;
        self.each_page(va, len, |mem, pa, _, n| {
            mem.fill(pa, n as u64, byte).is_ok()
        })
    }

    pub fn read_vec(&mut self, va: u64, len: u64) -> Access<Vec<u8>> {
        // Bounded by what RAM could hold, so a wild size cannot exhaust the host.
        let total: u64 = self.mem.regions().map(|(_, s)| s).sum();
        if len > total {
            return Err(status::INVALID_PARAMETER);
        }
        let mut v = vec![0; len as usize];
        self.read(va, &mut v)?;
        Ok(v)
    }

    pub fn read_u8(&mut self, va: u64) -> Access<u8> {
        let mut b = [0; 1];
        self.read(va, &mut b)?;
        Ok(b[0])
    }

    pub fn read_u16(&mut self, va: u64) -> Access<u16> {
        let mut b = [0; 2];
        self.read(va, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    pub fn read_u32(&mut self, va: u64) -> Access<u32> {
        let mut b = [0; 4];
        self.read(va, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn read_u64(&mut self, va: u64) -> Access<u64> {
        let mut b = [0; 8];
        self.read(va, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn read_guid(&mut self, va: u64) -> Access<Guid> {
        if va == 0 {
            return Err(status::INVALID_PARAMETER);
        }
        let mut b = [0; 16];
        self.read(va, &mut b)?;
        Ok(Guid(b))
    }

    pub fn write_u8(&mut self, va: u64, v: u8) -> Access<()> {
        self.write(va, &[v])
    }

    pub fn write_u16(&mut self, va: u64, v: u16) -> Access<()> {
        self.write(va, &v.to_le_bytes())
    }

    pub fn write_u32(&mut self, va: u64, v: u32) -> Access<()> {
        self.write(va, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, va: u64, v: u64) -> Access<()> {
        self.write(va, &v.to_le_bytes())
    }

    /// Writes `v` through an output pointer that may be NULL (then nothing).
    pub fn put_u64(&mut self, va: u64, v: u64) -> Access<()> {
        if va == 0 {
            return Ok(());
        }
        self.write_u64(va, v)
    }

    /// A NUL-terminated UTF-16 string (without its NUL).
    pub fn read_utf16(&mut self, va: u64) -> Access<Vec<u16>> {
        if va == 0 {
            return Err(status::INVALID_PARAMETER);
        }
        let mut out = Vec::new();
        let mut at = va;
        loop {
            // Read to the end of the page at most, so a string at a page's
            // end is not an error.
            let room = (0x1000 - (at & 0xfff)) as usize;
            let mut chunk = vec![0u8; (room.min(512) & !1).max(2)];
            self.read(at, &mut chunk)?;
            for c in chunk.chunks_exact(2) {
                let u = u16::from_le_bytes([c[0], c[1]]);
                if u == 0 {
                    return Ok(out);
                }
                out.push(u);
            }
            if out.len() > MAX_STRING {
                return Err(status::INVALID_PARAMETER);
            }
            at += chunk.len() as u64;
        }
    }

    /// The return value (x0).
    pub fn ret(&mut self, s: Status) {
        self.cpu.regs.x[0] = s;
    }
}

/// `s` as UTF-16 with its NUL.
pub fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(|u| u.to_le_bytes())
        .collect()
}
