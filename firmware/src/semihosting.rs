//! ARM semihosting for A64 guests (`HLT #0xF000`; "Semihosting for AArch32 and
//! AArch64", ARM IHI 0056): console I/O, time, and exit with a status.
//!
//! The operation number is in W0 and X1 points to the parameter block (or holds the
//! parameter). Pointers are guest virtual addresses, read through the vCPU's own
//! translation. A bad pointer makes the call fail (X0 = -1), never a host error.
//! Host file access is deliberately not offered: only the console ":tt".

use std::io::Write;

use armvm_cpu::{Access, Cpu, Platform};

pub const SYS_OPEN: u64 = 0x01;
pub const SYS_CLOSE: u64 = 0x02;
pub const SYS_WRITEC: u64 = 0x03;
pub const SYS_WRITE0: u64 = 0x04;
pub const SYS_WRITE: u64 = 0x05;
pub const SYS_READ: u64 = 0x06;
pub const SYS_READC: u64 = 0x07;
pub const SYS_ISERROR: u64 = 0x08;
pub const SYS_ISTTY: u64 = 0x09;
pub const SYS_CLOCK: u64 = 0x10;
pub const SYS_TIME: u64 = 0x11;
pub const SYS_ERRNO: u64 = 0x13;
pub const SYS_GET_CMDLINE: u64 = 0x15;
pub const SYS_HEAPINFO: u64 = 0x16;
pub const SYS_EXIT: u64 = 0x18;
pub const SYS_EXIT_EXTENDED: u64 = 0x20;
pub const SYS_ELAPSED: u64 = 0x30;
pub const SYS_TICKFREQ: u64 = 0x31;

/// ADP_Stopped_ApplicationExit: a normal exit whose subcode is the exit status.
pub const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Which console stream a handle stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Console {
    Stdin,
    Stdout,
    Stderr,
}

const EBADF: u64 = 9;
const EFAULT: u64 = 14;
const ENOENT: u64 = 2;

/// Heap and stack limits reported by SYS_HEAPINFO.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapInfo {
    pub heap_base: u64,
    pub heap_limit: u64,
    pub stack_base: u64,
    pub stack_limit: u64,
}

/// What the board should do after a semihosting call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Exit(i32),
}

pub struct Semihosting {
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
    /// Blocking read of one byte of console input; `None` at end of input.
    stdin: Box<dyn FnMut() -> Option<u8>>,
    cmdline: String,
    heap: HeapInfo,
    start_ticks: Option<u64>,
    errno: u64,
    /// Handles handed out by SYS_OPEN(":tt"), numbered from 1 as QEMU does.
    handles: Vec<Console>,
}

/// A guest pointer that could not be read or written.
struct BadPointer;

impl Semihosting {
    pub fn new(
        stdout: Box<dyn Write>,
        stderr: Box<dyn Write>,
        stdin: Box<dyn FnMut() -> Option<u8>>,
        cmdline: String,
        heap: HeapInfo,
    ) -> Semihosting {
        Semihosting {
            stdout,
            stderr,
            stdin,
            cmdline,
            heap,
            start_ticks: None,
            errno: 0,
            handles: Vec::new(),
        }
    }

    /// Replaces the console input (a blocking read of one byte).
    pub fn set_input(&mut self, stdin: Box<dyn FnMut() -> Option<u8>>) {
        self.stdin = stdin;
    }

    /// Services the call the vCPU just made; the result goes to X0.
    pub fn handle(&mut self, cpu: &mut Cpu, plat: &mut dyn Platform) -> Outcome {
        let start = *self.start_ticks.get_or_insert_with(|| plat.counter());
        let op = cpu.regs.x[0] & 0xffff_ffff;
        let arg = cpu.regs.x[1];
        let mut mem = Guest { cpu, plat };
        let result = match op {
            SYS_EXIT | SYS_EXIT_EXTENDED => {
                // A64 always passes a two-word block {reason, subcode}.
                let block = mem.words(arg, 2);
                let _ = self.stdout.flush();
                return Outcome::Exit(match block {
                    Ok(b) if b[0] == ADP_STOPPED_APPLICATION_EXIT => b[1] as i32,
                    _ => 1,
                });
            }
            SYS_WRITEC => mem.bytes(arg, 1).map(|b| {
                let _ = self.stdout.write_all(&b);
                let _ = self.stdout.flush();
                0
            }),
            SYS_WRITE0 => mem.c_string(arg).map(|s| {
                let _ = self.stdout.write_all(&s);
                let _ = self.stdout.flush();
                0
            }),
            SYS_WRITE => self.write(&mut mem, arg),
            SYS_READ => self.read(&mut mem, arg),
            SYS_READC => Ok((self.stdin)().map_or(u64::MAX, |b| b as u64)),
            SYS_OPEN => self.open(&mut mem, arg),
            SYS_CLOSE => mem.words(arg, 1).map(|_| 0),
            SYS_ISTTY => mem
                .words(arg, 1)
                .map(|w| self.console(w[0]).is_some() as u64),
            SYS_ISERROR => mem.words(arg, 1).map(|w| ((w[0] as i64) < 0) as u64),
            SYS_ERRNO => Ok(self.errno),
            SYS_CLOCK => {
                let freq = mem.plat.counter_frequency().max(1);
                Ok((mem.plat.counter() - start) * 100 / freq)
            }
            SYS_TIME => Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())),
            SYS_ELAPSED => {
                let ticks = mem.plat.counter() - start;
                mem.write_words(arg, &[ticks]).map(|_| 0)
            }
            SYS_TICKFREQ => Ok(mem.plat.counter_frequency()),
            SYS_GET_CMDLINE => self.get_cmdline(&mut mem, arg),
            SYS_HEAPINFO => mem.words(arg, 1).and_then(|w| {
                let h = self.heap;
                mem.write_words(
                    w[0],
                    &[h.heap_base, h.heap_limit, h.stack_base, h.stack_limit],
                )
                .map(|_| 0)
            }),
            _ => {
                self.errno = 38; // ENOSYS
                Ok(u64::MAX)
            }
        };
        cpu.regs.x[0] = result.unwrap_or_else(|BadPointer| {
            self.errno = EFAULT;
            u64::MAX
        });
        Outcome::Continue
    }

    /// The stream behind a handle. Handles never opened fall back to the POSIX
    /// numbering (0 stdin, 1 stdout, 2 stderr), which bare programs often assume.
    fn console(&self, handle: u64) -> Option<Console> {
        match self.handles.get((handle as usize).wrapping_sub(1)) {
            Some(c) => Some(*c),
            None => match handle {
                0 => Some(Console::Stdin),
                1 => Some(Console::Stdout),
                2 => Some(Console::Stderr),
                _ => None,
            },
        }
    }

    fn open(&mut self, mem: &mut Guest, arg: u64) -> Result<u64, BadPointer> {
        let w = mem.words(arg, 3)?;
        let name = mem.bytes(w[0], w[2].min(4096) as usize)?;
        if name != b":tt" {
            self.errno = ENOENT;
            return Ok(u64::MAX);
        }
        // Modes 0-3 are "r" variants, 4-7 "w", 8-11 "a" (conventionally stderr).
        self.handles.push(match w[1] {
            0..=3 => Console::Stdin,
            4..=7 => Console::Stdout,
            _ => Console::Stderr,
        });
        Ok(self.handles.len() as u64)
    }

    /// SYS_WRITE: returns the number of bytes NOT written.
    fn write(&mut self, mem: &mut Guest, arg: u64) -> Result<u64, BadPointer> {
        let w = mem.words(arg, 3)?;
        let (handle, ptr, len) = (w[0], w[1], w[2]);
        let out: &mut dyn Write = match self.console(handle) {
            Some(Console::Stdout) => &mut *self.stdout,
            Some(Console::Stderr) => &mut *self.stderr,
            _ => {
                self.errno = EBADF;
                return Ok(len);
            }
        };
        let data = mem.bytes(ptr, len.min(1 << 24) as usize)?;
        let ok = out.write_all(&data).and_then(|_| out.flush()).is_ok();
        Ok(if ok { len - data.len() as u64 } else { len })
    }

    /// SYS_READ: returns the number of bytes NOT read.
    fn read(&mut self, mem: &mut Guest, arg: u64) -> Result<u64, BadPointer> {
        let w = mem.words(arg, 3)?;
        let (handle, ptr, len) = (w[0], w[1], w[2]);
        if self.console(handle) != Some(Console::Stdin) {
            self.errno = EBADF;
            return Ok(len);
        }
        let mut got = Vec::new();
        while (got.len() as u64) < len {
            match (self.stdin)() {
                Some(b) => {
                    got.push(b);
                    if b == b'\n' {
                        break;
                    }
                }
                None => break,
            }
        }
        mem.write_bytes(ptr, &got)?;
        Ok(len - got.len() as u64)
    }

    fn get_cmdline(&mut self, mem: &mut Guest, arg: u64) -> Result<u64, BadPointer> {
        let w = mem.words(arg, 2)?;
        let mut line = self.cmdline.clone().into_bytes();
        if line.len() + 1 > w[1] as usize {
            return Ok(u64::MAX);
        }
        line.push(0);
        mem.write_bytes(w[0], &line)?;
        mem.write_words(arg + 8, &[line.len() as u64 - 1])?;
        Ok(0)
    }
}

/// Guest memory as the vCPU sees it.
struct Guest<'a> {
    cpu: &'a mut Cpu,
    plat: &'a mut dyn Platform,
}

impl Guest<'_> {
    fn bytes(&mut self, va: u64, len: usize) -> Result<Vec<u8>, BadPointer> {
        (0..len as u64)
            .map(|i| {
                self.cpu
                    .read(self.plat, va.wrapping_add(i), 1, Access::default())
                    .map(|b| b as u8)
            })
            .collect::<Result<_, _>>()
            .map_err(|_| BadPointer)
    }

    fn c_string(&mut self, va: u64) -> Result<Vec<u8>, BadPointer> {
        let mut s = Vec::new();
        for i in 0..(1u64 << 20) {
            let b = self
                .cpu
                .read(self.plat, va.wrapping_add(i), 1, Access::default())
                .map_err(|_| BadPointer)?;
            if b == 0 {
                break;
            }
            s.push(b as u8);
        }
        Ok(s)
    }

    fn words(&mut self, va: u64, n: usize) -> Result<Vec<u64>, BadPointer> {
        (0..n as u64)
            .map(|i| {
                self.cpu
                    .read(self.plat, va.wrapping_add(8 * i), 8, Access::default())
            })
            .collect::<Result<_, _>>()
            .map_err(|_| BadPointer)
    }

    fn write_bytes(&mut self, va: u64, data: &[u8]) -> Result<(), BadPointer> {
        for (i, b) in data.iter().enumerate() {
            self.cpu
                .write(
                    self.plat,
                    va.wrapping_add(i as u64),
                    1,
                    *b as u64,
                    Access::default(),
                )
                .map_err(|_| BadPointer)?;
        }
        Ok(())
    }

    fn write_words(&mut self, va: u64, words: &[u64]) -> Result<(), BadPointer> {
        for (i, w) in words.iter().enumerate() {
            self.cpu
                .write(
                    self.plat,
                    va.wrapping_add(8 * i as u64),
                    8,
                    *w,
                    Access::default(),
                )
                .map_err(|_| BadPointer)?;
        }
        Ok(())
    }
}
