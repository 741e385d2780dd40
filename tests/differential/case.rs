//! A test case: an instruction sequence, the register state it starts from, and its
//! scratch memory; and the state block layout shared by the ELF and the comparison.

/// Offsets in a state block (input and output use the same layout).
pub const OFF_X: usize = 0;
pub const OFF_SP: usize = 248;
pub const OFF_NZCV: usize = 256;
pub const OFF_FPCR: usize = 264;
pub const OFF_FPSR: usize = 272;
/// Input only: TPIDR_EL0 is the epilogue's stash register, so it is not in the output
/// (cases that use it read it back into a general-purpose register).
pub const OFF_TPIDR: usize = 280;
pub const OFF_V: usize = 288;
pub const STATE_SIZE: usize = OFF_V + 32 * 16;
/// Bytes of scratch memory per case.
pub const SCRATCH_SIZE: usize = 4096;

/// Register number that stands for SP in a [`Pin`].
pub const SP: usize = 31;

/// FPCR bits that armvm implements (AHP, DN, FZ, RMode). qemu's cortex-a76 also keeps
/// FZ16 and the AArch32 Len/Stride fields, which armvm does not implement.
pub const FPCR_MASK: u64 = 0x07c0_0000;
/// FPSR bits: the AArch32 NZCV copy, QC, IDC and the cumulative exception flags.
pub const FPSR_MASK: u64 = 0xf800_009f;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub x: [u64; 31],
    pub sp: u64,
    pub nzcv: u64,
    pub fpcr: u64,
    pub fpsr: u64,
    pub tpidr: u64,
    pub v: [u128; 32],
}

fn rd64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

impl State {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; STATE_SIZE];
        for (i, x) in self.x.iter().enumerate() {
            b[OFF_X + 8 * i..][..8].copy_from_slice(&x.to_le_bytes());
        }
        b[OFF_SP..][..8].copy_from_slice(&self.sp.to_le_bytes());
        b[OFF_NZCV..][..8].copy_from_slice(&self.nzcv.to_le_bytes());
        b[OFF_FPCR..][..8].copy_from_slice(&self.fpcr.to_le_bytes());
        b[OFF_FPSR..][..8].copy_from_slice(&self.fpsr.to_le_bytes());
        b[OFF_TPIDR..][..8].copy_from_slice(&self.tpidr.to_le_bytes());
        for (i, v) in self.v.iter().enumerate() {
            b[OFF_V + 16 * i..][..16].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8]) -> State {
        let mut s = State::default();
        for i in 0..31 {
            s.x[i] = rd64(b, OFF_X + 8 * i);
        }
        s.sp = rd64(b, OFF_SP);
        s.nzcv = rd64(b, OFF_NZCV);
        s.fpcr = rd64(b, OFF_FPCR);
        s.fpsr = rd64(b, OFF_FPSR);
        s.tpidr = rd64(b, OFF_TPIDR);
        for i in 0..32 {
            s.v[i] = u128::from_le_bytes(b[OFF_V + 16 * i..][..16].try_into().unwrap());
        }
        s
    }

    /// `(name, value)` of every field, for diffs and dumps.
    pub fn fields(&self) -> Vec<(String, u128)> {
        let mut f: Vec<(String, u128)> = Vec::with_capacity(70);
        for (i, x) in self.x.iter().enumerate() {
            f.push((format!("x{i}"), *x as u128));
        }
        f.push(("sp".into(), self.sp as u128));
        f.push(("nzcv".into(), self.nzcv as u128));
        f.push(("fpcr".into(), self.fpcr as u128));
        f.push(("fpsr".into(), self.fpsr as u128));
        for (i, v) in self.v.iter().enumerate() {
            f.push((format!("v{i}"), *v));
        }
        f
    }
}

/// "Register `reg` (31: SP) holds the address `scratch + offset`", with an optional
/// top-byte tag (TBI is on for EL0, as under Linux). Resolved when the batch is laid
/// out, since the scratch address depends on the case's place in the batch.
#[derive(Clone, Copy, Debug)]
pub struct Pin {
    pub reg: usize,
    pub offset: i64,
    pub tag: u8,
    /// `offset` is an absolute address (used to aim at unmapped or read-only memory).
    pub absolute: bool,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub group: &'static str,
    /// What produced the case (directed case name or "random #n").
    pub label: String,
    pub insns: Vec<u32>,
    pub state: State,
    pub pins: Vec<Pin>,
    pub scratch: Vec<u8>,
}

impl Case {
    /// The initial state with the pins resolved for a scratch area at `scratch`.
    pub fn resolved_state(&self, scratch: u64) -> State {
        let mut s = self.state.clone();
        for p in &self.pins {
            let base = if p.absolute { 0 } else { scratch };
            let mut v = base.wrapping_add(p.offset as u64);
            // Tag only addresses whose top byte is free, so that adding the
            // instruction's offset cannot carry into (or borrow from) the tag.
            if v >> 56 == 0 {
                v |= (p.tag as u64) << 56;
            }
            if p.reg == SP {
                s.sp = v;
            } else {
                s.x[p.reg] = v;
            }
        }
        s
    }
}

/// What a case produced on one implementation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The output block followed by the scratch memory.
    Record(Vec<u8>),
    /// The case raised a signal (qemu) or the equivalent exception (armvm).
    Fault { signal: i32, detail: String },
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        7 => "SIGBUS",
        8 => "SIGFPE",
        11 => "SIGSEGV",
        _ => "signal",
    }
}
