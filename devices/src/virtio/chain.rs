//! Reading a chain's device-readable buffers and writing its device-writable
//! ones as byte streams. Accesses never leave the buffers the driver offered
//! (each buffer was checked to lie in RAM when the chain was taken).

use armvm_cpu::memory::{BusError, GuestMemory};

use super::queue::Buffer;

/// A cursor over a list of guest buffers.
pub struct Cursor<'a> {
    mem: &'a GuestMemory,
    buffers: &'a [Buffer],
    /// Index of the current buffer and the offset inside it.
    at: usize,
    offset: u32,
}

impl<'a> Cursor<'a> {
    pub fn new(mem: &'a GuestMemory, buffers: &'a [Buffer]) -> Cursor<'a> {
        Cursor {
            mem,
            buffers,
            at: 0,
            offset: 0,
        }
    }

    /// Bytes left from the cursor to the end of the buffers.
    pub fn remaining(&self) -> u64 {
        let rest: u64 = self.buffers[self.at.min(self.buffers.len())..]
            .iter()
            .map(|b| b.len as u64)
            .sum();
        rest - self.offset as u64
    }

    /// The next piece of guest memory, at most `max` bytes: (address, length).
    fn next_piece(&mut self, max: usize) -> Option<(u64, usize)> {
        while let Some(b) = self.buffers.get(self.at) {
            let left = (b.len - self.offset) as usize;
            if left == 0 {
                self.at += 1;
                self.offset = 0;
                continue;
            }
            let n = left.min(max);
            let addr = b.addr + self.offset as u64;
            self.offset += n as u32;
            return Some((addr, n));
        }
        None
    }

    /// Reads up to `buf.len()` bytes; returns how many.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, BusError> {
        let mut done = 0;
        while done < buf.len() {
            let Some((addr, n)) = self.next_piece(buf.len() - done) else {
                break;
            };
            self.mem.read(addr, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    /// Writes up to `data.len()` bytes; returns how many fitted.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, BusError> {
        let mut done = 0;
        while done < data.len() {
            let Some((addr, n)) = self.next_piece(data.len() - done) else {
                break;
            };
            self.mem.write(addr, &data[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    /// Reads everything left (at most `limit` bytes).
    pub fn read_to_vec(&mut self, limit: u64) -> Result<Vec<u8>, BusError> {
        let mut v = vec![0; self.remaining().min(limit) as usize];
        let n = self.read(&mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use armvm_cpu::memory::Ram;

    #[test]
    fn reads_and_writes_span_buffers_and_stop_at_their_end() {
        let mem = GuestMemory::new(vec![Ram::new(0, 0x10000).unwrap()]);
        mem.write(0x100, b"hello").unwrap();
        mem.write(0x200, b" world").unwrap();
        let bufs = [
            Buffer {
                addr: 0x100,
                len: 5,
            },
            Buffer {
                addr: 0x200,
                len: 0,
            },
            Buffer {
                addr: 0x200,
                len: 6,
            },
        ];
        let mut c = Cursor::new(&mem, &bufs);
        assert_eq!(c.remaining(), 11);
        let mut head = [0; 3];
        assert_eq!(c.read(&mut head).unwrap(), 3);
        assert_eq!(&head, b"hel");
        assert_eq!(c.read_to_vec(100).unwrap(), b"lo world");
        assert_eq!(c.remaining(), 0);

        let out = [
            Buffer {
                addr: 0x300,
                len: 2,
            },
            Buffer {
                addr: 0x400,
                len: 2,
            },
        ];
        let mut w = Cursor::new(&mem, &out);
        assert_eq!(w.write(b"abcdef").unwrap(), 4);
        let mut got = [0; 3];
        mem.read(0x300, &mut got).unwrap();
        assert_eq!(&got, b"ab\0");
        mem.read(0x400, &mut got).unwrap();
        assert_eq!(&got, b"cd\0");
    }
}
