//! A CFI NOR flash bank with the Intel/Sharp command set (CFI "primary
//! algorithm" 0x0001), as QEMU's virt machine has at 0x0400_0000 for firmware
//! variables: two 16-bit chips side by side, so the bus is 32 bits wide and every
//! command and status byte appears in both 16-bit lanes. EDK2's NorFlashDxe and
//! U-Boot's CFI driver program it.
//!
//! Reads in array mode return the contents; commands switch to status, ID or
//! query mode; block erase sets a block to all ones; programming (single word or
//! buffered) stores words. Operations complete at once: status always says ready.
//! The contents live in memory; [`CfiFlash::contents`] gives them to whoever
//! persists them.

/// Bytes per bus access unit (two 16-bit chips).
const BANK_WIDTH: u64 = 4;

// Commands (Intel command set).
const READ_ARRAY: u8 = 0xff;
const READ_ARRAY_ALT: u8 = 0x00;
const READ_ID: u8 = 0x90;
const READ_QUERY: u8 = 0x98;
const READ_STATUS: u8 = 0x70;
const CLEAR_STATUS: u8 = 0x50;
const BLOCK_ERASE: u8 = 0x20;
const PROGRAM: u8 = 0x40;
const PROGRAM_ALT: u8 = 0x10;
const BUFFERED_PROGRAM: u8 = 0xe8;
const CONFIRM: u8 = 0xd0;
const LOCK_SETUP: u8 = 0x60;
const LOCK_CONFIRM_LOCK: u8 = 0x01;
const LOCK_CONFIRM_DOWN: u8 = 0x2f;

/// Status register: ready.
const STATUS_READY: u8 = 0x80;
/// Status register: erase or program error (a command sequence broken off).
const STATUS_ERROR: u8 = 0x30;

/// Manufacturer and device ID (Intel, 28F128J3-like), as QEMU's virt uses.
const MANUFACTURER: u8 = 0x89;
const DEVICE: u8 = 0x18;

/// Largest buffered program, in bus words (2 KiB per chip pair).
const WRITE_BUFFER_WORDS: u64 = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Array,
    Status,
    Id,
    Query,
    /// After 0x20: waiting for the confirm at a block address.
    EraseSetup,
    /// After 0x40: the next write is the data.
    ProgramSetup,
    /// After 0xE8: the next write is the word count - 1.
    BufferCount,
    /// Collecting `left` words starting at `base` for a buffered program.
    BufferData {
        base: u64,
        left: u64,
    },
    /// The buffer is full: waiting for the confirm.
    BufferConfirm,
    /// After 0x60: a lock/unlock confirm follows.
    LockSetup,
}

pub struct CfiFlash {
    data: Vec<u8>,
    block_size: u64,
    mode: Mode,
    status: u8,
    /// Words collected for a buffered program: (offset, value).
    buffer: Vec<(u64, u32)>,
    /// Whether the contents changed since [`CfiFlash::take_dirty`].
    dirty: bool,
    pub bad_accesses: u64,
}

impl CfiFlash {
    /// A bank holding `data` (its length a multiple of `block_size`), erased
    /// in blocks of `block_size` bytes (both chips together).
    pub fn new(data: Vec<u8>, block_size: u64) -> CfiFlash {
        CfiFlash {
            data,
            block_size,
            mode: Mode::Array,
            status: STATUS_READY,
            buffer: Vec::new(),
            dirty: false,
            bad_accesses: 0,
        }
    }

    pub fn contents(&self) -> &[u8] {
        &self.data
    }

    /// Whether anything was written since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// A byte replicated into both 16-bit lanes of a bus word.
    fn dual(b: u8) -> u32 {
        (b as u32) | ((b as u32) << 16)
    }

    /// The CFI query structure of one chip, by query address (JEDEC JESD68).
    fn query(&self, index: u64) -> u8 {
        let chip_size = self.data.len() as u64 / 2;
        let chip_block = self.block_size / 2;
        let blocks = (self.data.len() as u64 / self.block_size).saturating_sub(1);
        match index {
            0x10 => b'Q',
            0x11 => b'R',
            0x12 => b'Y',
            0x13 => 0x01, // primary command set: Intel/Sharp extended
            0x15 => 0x31, // primary extended table at 0x31
            0x1b => 0x45, // Vcc min 4.5 V
            0x1c => 0x55, // Vcc max 5.5 V
            0x1f => 0x07, // typical word program: 2^7 us
            0x20 => 0x07, // typical buffer program: 2^7 us
            0x21 => 0x0a, // typical block erase: 2^10 ms
            0x23 => 0x04, // maximum word program: 2^4 times typical
            0x24 => 0x04,
            0x25 => 0x04,
            0x27 => chip_size.trailing_zeros() as u8,
            0x28 => 0x02, // x16 interface
            0x2a => (WRITE_BUFFER_WORDS * 2).trailing_zeros() as u8,
            0x2c => 0x01, // one erase block region
            0x2d => blocks as u8,
            0x2e => (blocks >> 8) as u8,
            0x2f => (chip_block >> 8) as u8,
            0x30 => (chip_block >> 16) as u8,
            0x31 => b'P',
            0x32 => b'R',
            0x33 => b'I',
            0x34 => b'1',
            0x35 => b'0',
            _ => 0,
        }
    }

    fn store(&mut self, offset: u64, value: u32) {
        let at = (offset & !(BANK_WIDTH - 1)) as usize;
        if let Some(dst) = self.data.get_mut(at..at + 4) {
            dst.copy_from_slice(&value.to_le_bytes());
            self.dirty = true;
        }
    }

    fn erase(&mut self, offset: u64) {
        let start = (offset / self.block_size * self.block_size) as usize;
        let end = (start + self.block_size as usize).min(self.data.len());
        if let Some(block) = self.data.get_mut(start..end) {
            block.fill(0xff);
            self.dirty = true;
        }
    }

    /// A broken command sequence: report an error in the status register.
    fn fail(&mut self) {
        self.status |= STATUS_ERROR;
        self.mode = Mode::Status;
    }
}

impl crate::MmioDevice for CfiFlash {
    fn read(&mut self, _cpu: usize, offset: u64, size: u8) -> u64 {
        let word = match self.mode {
            Mode::Array => {
                // Array reads may be of any size, at any alignment.
                let at = offset as usize;
                let n = size as usize;
                let mut b = [0u8; 8];
                if let Some(src) = self.data.get(at..at + n) {
                    b[..n].copy_from_slice(src);
                } else {
                    self.bad_accesses += 1;
                }
                return u64::from_le_bytes(b);
            }
            Mode::Id => match offset / BANK_WIDTH {
                0 => Self::dual(MANUFACTURER),
                1 => Self::dual(DEVICE),
                _ => 0,
            },
            Mode::Query => Self::dual(self.query(offset / BANK_WIDTH)),
            // Status (also during command sequences, as real parts do).
            _ => Self::dual(self.status),
        };
        let shift = (offset % BANK_WIDTH) * 8;
        let v = (word as u64) >> shift;
        match size {
            1 => v & 0xff,
            2 => v & 0xffff,
            _ => v & 0xffff_ffff,
        }
    }

    fn write(&mut self, _cpu: usize, offset: u64, size: u8, value: u64) {
        let value = value as u32;
        let command = value as u8;
        match self.mode {
            Mode::ProgramSetup => {
                if size == 4 {
                    self.store(offset, value);
                } else {
                    self.fail();
                    return;
                }
                self.mode = Mode::Status;
            }
            Mode::EraseSetup => {
                if command == CONFIRM {
                    self.erase(offset);
                    self.mode = Mode::Status;
                } else {
                    self.fail();
                }
            }
            Mode::BufferCount => {
                let words = (value & 0xffff) as u64 + 1;
                if words > WRITE_BUFFER_WORDS {
                    self.fail();
                } else {
                    self.buffer.clear();
                    self.mode = Mode::BufferData {
                        base: offset,
                        left: words,
                    };
                }
            }
            Mode::BufferData { base, left } => {
                let in_range = offset >= base && offset < base + WRITE_BUFFER_WORDS * BANK_WIDTH;
                if size != 4 || !in_range {
                    self.fail();
                    return;
                }
                self.buffer.push((offset, value));
                self.mode = if left == 1 {
                    Mode::BufferConfirm
                } else {
                    Mode::BufferData {
                        base,
                        left: left - 1,
                    }
                };
            }
            Mode::BufferConfirm => {
                if command == CONFIRM {
                    for (at, v) in std::mem::take(&mut self.buffer) {
                        self.store(at, v);
                    }
                    self.mode = Mode::Status;
                } else {
                    self.fail();
                }
            }
            Mode::LockSetup => {
                // Block locking is accepted and ignored: nothing is ever locked.
                if !matches!(command, CONFIRM | LOCK_CONFIRM_LOCK | LOCK_CONFIRM_DOWN) {
                    self.fail();
                } else {
                    self.mode = Mode::Status;
                }
            }
            Mode::Array | Mode::Status | Mode::Id | Mode::Query => match command {
                READ_ARRAY | READ_ARRAY_ALT => self.mode = Mode::Array,
                READ_ID => self.mode = Mode::Id,
                READ_QUERY => self.mode = Mode::Query,
                READ_STATUS => self.mode = Mode::Status,
                CLEAR_STATUS => {
                    self.status = STATUS_READY;
                }
                BLOCK_ERASE => self.mode = Mode::EraseSetup,
                PROGRAM | PROGRAM_ALT => self.mode = Mode::ProgramSetup,
                BUFFERED_PROGRAM => self.mode = Mode::BufferCount,
                LOCK_SETUP => self.mode = Mode::LockSetup,
                _ => self.bad_accesses += 1,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MmioDevice;

    const BLOCK: u64 = 256 * 1024;

    fn flash() -> CfiFlash {
        CfiFlash::new(vec![0xff; 4 * BLOCK as usize], BLOCK)
    }

    fn cmd(f: &mut CfiFlash, at: u64, c: u8) {
        f.write(0, at, 4, CfiFlash::dual(c) as u64);
    }

    #[test]
    fn query_and_id_identify_an_intel_part() {
        let mut f = flash();
        cmd(&mut f, 0, READ_QUERY);
        let q: Vec<u8> = (0x10..0x13).map(|i| f.read(0, i * 4, 4) as u8).collect();
        assert_eq!(q, b"QRY");
        assert_eq!(f.read(0, 0x10 * 4, 4), 0x0051_0051, "both lanes answer");
        assert_eq!(f.read(0, 0x27 * 4, 4) as u8, 19, "2^19 bytes per chip");
        assert_eq!(f.read(0, 0x2d * 4, 4) as u8, 3, "four blocks");
        assert_eq!(f.read(0, 0x30 * 4, 4) as u8, 2, "128 KiB per chip block");
        cmd(&mut f, 0, READ_ID);
        assert_eq!(f.read(0, 0, 4), 0x0089_0089);
        cmd(&mut f, 0, READ_ARRAY);
        assert_eq!(f.read(0, 0, 4), 0xffff_ffff);
    }

    #[test]
    fn program_erase_and_buffered_program() {
        let mut f = flash();
        cmd(&mut f, 0x100, PROGRAM);
        f.write(0, 0x100, 4, 0x1234_5678);
        assert_eq!(
            f.read(0, 0x100, 4) as u8,
            STATUS_READY,
            "status after programming"
        );
        cmd(&mut f, 0, READ_ARRAY);
        assert_eq!(f.read(0, 0x100, 4), 0x1234_5678);
        assert_eq!(f.read(0, 0x101, 1), 0x56, "array reads at any width");
        assert!(f.take_dirty());

        cmd(&mut f, BLOCK, BUFFERED_PROGRAM);
        assert_eq!(f.read(0, BLOCK, 4) as u8, STATUS_READY, "buffer available");
        f.write(0, BLOCK, 4, 2); // three words
        for i in 0..3 {
            f.write(0, BLOCK + 4 * i, 4, 0xa0 + i);
        }
        cmd(&mut f, BLOCK, CONFIRM);
        cmd(&mut f, 0, READ_ARRAY);
        assert_eq!(
            (0..3)
                .map(|i| f.read(0, BLOCK + 4 * i, 4))
                .collect::<Vec<_>>(),
            vec![0xa0, 0xa1, 0xa2]
        );

        cmd(&mut f, 0x80, BLOCK_ERASE);
        cmd(&mut f, 0x80, CONFIRM);
        cmd(&mut f, 0, READ_ARRAY);
        assert_eq!(f.read(0, 0x100, 4), 0xffff_ffff, "block 0 erased");
        assert_eq!(f.read(0, BLOCK, 4), 0xa0, "block 1 untouched");
    }

    #[test]
    fn broken_sequences_report_errors_and_never_write_out_of_range() {
        let mut f = flash();
        cmd(&mut f, 0, BLOCK_ERASE);
        cmd(&mut f, 0, READ_ARRAY); // not a confirm
        assert_eq!(f.read(0, 0, 4) as u8 & STATUS_ERROR, STATUS_ERROR);
        cmd(&mut f, 0, CLEAR_STATUS);
        assert_eq!(f.read(0, 0, 4) as u8, STATUS_READY);
        cmd(&mut f, 0, BUFFERED_PROGRAM);
        f.write(0, 0, 4, 100_000); // far too many words
        assert_eq!(f.read(0, 0, 4) as u8 & STATUS_ERROR, STATUS_ERROR);
        // Writes and reads past the end are ignored.
        cmd(&mut f, 0, PROGRAM);
        f.write(0, 1 << 40, 4, 0);
        cmd(&mut f, 0, READ_ARRAY);
        assert_eq!(f.read(0, 1 << 40, 4), 0);
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let size = [1, 2, 4, 8][(seed >> 60) as usize % 4];
            if seed & 1 == 0 {
                f.read(0, (seed >> 8) % (8 * BLOCK), size);
            } else {
                f.write(0, (seed >> 8) % (8 * BLOCK), size, seed.rotate_left(17));
            }
        }
        assert_eq!(f.contents().len(), 4 * BLOCK as usize);
    }
}
