//! The SIMD executor's reference machine, shared by the crate's unit tests (the
//! recorded cases in `exec/simd/*/tests.rs`) and its harness-less integration test
//! `cpu/tests/simd_bulk.rs` (bulk comparison with the reference harness).
//!
//! A [`Machine`] is one CPU at EL1 with FP enabled, the MMU off and RAM around a
//! 256-byte buffer at [`BUF`], in the pseudo-random initial state (V0-V31, X0-X30,
//! SP and the buffer) that [`Machine::new`] makes from a seed. The generator is the
//! one of the reference harness's driver (`exec/simd/reference/`): it must not
//! change, or the recorded results no longer apply.
//!
//! Test support only: compiled for the crate's tests, and with the `testkit`
//! feature (which this crate's own dev-dependency on itself turns on) for its
//! integration tests. Not part of the API.

use crate::cpu::Cpu;
use crate::decode::decode;
use crate::exception::Exception;
use crate::exec::{execute, Flow};
use crate::memory::Ram;
pub use crate::test_rng::Rng;

/// The data buffer, at the same address as in the reference harness.
pub const BUF: u64 = 0x3000_8000;
/// The buffer's length in bytes.
pub const BUF_LEN: usize = 256;

/// The address `BUF + offset`, as a register value.
pub const fn buf(offset: u128) -> u128 {
    BUF as u128 + offset
}
const RAM_BASE: u64 = 0x3000_0000;
const RAM_SIZE: u64 = 0x1_0000;

/// A register of the [`Machine`].
#[derive(Clone, Copy, Debug)]
pub enum Reg {
    V(usize),
    X(usize),
    Sp,
}
pub use Reg::*;

// The generator is splitmix64, as in the reference harness's driver.
impl Rng {
    /// A doubleword that is half the time uniformly random and half the time made
    /// of lanes of one size (8 to 64 bits) holding edge values: 0, 1, the signed
    /// maximum and minimum, all ones, small positive and negative numbers (shift
    /// counts), or random.
    fn value64(&mut self) -> u64 {
        let r = self.next();
        if r & 7 < 4 {
            return self.next();
        }
        let lane = 8u32 << ((r >> 3) & 3);
        let ones = u64::MAX >> (64 - lane);
        let mut v = 0u64;
        for k in 0..64 / lane {
            let c = self.next();
            let x = match c % 8 {
                0 => 0,
                1 => 1,
                2 => ones >> 1,
                3 => 1 << (lane - 1),
                4 => ones,
                5 => (c >> 8) % 70,
                6 => ((c >> 8) % 70).wrapping_neg(),
                _ => self.next(),
            };
            v |= (x & ones) << (k * lane);
        }
        v
    }
}

/// A test machine: one CPU at EL1 with FP enabled, MMU off, RAM around [`BUF`].
pub struct Machine {
    pub cpu: Cpu,
    pub mem: Ram,
}

impl Machine {
    /// The state the reference harness builds from `seed`.
    pub fn new(seed: u64) -> Machine {
        let mut cpu = Cpu::new(0);
        cpu.sys.cpacr = 3 << 20;
        let mut rng = Rng(seed);
        for v in cpu.regs.v.iter_mut() {
            let lo = rng.value64();
            let hi = rng.value64();
            *v = lo as u128 | ((hi as u128) << 64);
        }
        for x in cpu.regs.x[..31].iter_mut() {
            *x = rng.value64();
        }
        cpu.regs.set_sp(BUF + 0x80);
        let mut mem = Ram::new(RAM_BASE, RAM_SIZE).expect("test RAM");
        let buf = mem.slice_mut(BUF, BUF_LEN).expect("buffer inside RAM");
        for b in buf.iter_mut() {
            *b = rng.next() as u8;
        }
        Machine { cpu, mem }
    }

    pub fn set(&mut self, r: Reg, value: u128) {
        match r {
            V(n) => self.cpu.regs.v[n] = value,
            X(n) => self.cpu.regs.x[n] = value as u64,
            Sp => self.cpu.regs.set_sp(value as u64),
        }
    }

    pub fn get(&self, r: Reg) -> u128 {
        match r {
            V(n) => self.cpu.regs.v[n],
            X(n) => self.cpu.regs.x[n] as u128,
            Sp => self.cpu.regs.sp() as u128,
        }
    }

    pub fn buffer(&self) -> Vec<u8> {
        self.mem.slice(BUF, BUF_LEN).expect("buffer").to_vec()
    }

    /// Executes one instruction word.
    pub fn step(&mut self, word: u32) -> Result<Flow, Exception> {
        execute(&mut self.cpu, &mut self.mem, decode(word))
    }
}
