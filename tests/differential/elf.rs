//! Lays out a batch of cases as a minimal static AArch64 Linux executable.
//!
//! Code segment (R-X) at [`CODE_BASE`]: the ELF and program headers, a pool of random
//! words for literal loads, then per case a prologue that loads the whole register
//! state from the case's state block, the case's instructions, and an epilogue that
//! stores the state to the output block and calls `write(1, output, RECORD_LEN)`.
//! After the last case, `exit(0)`. Data segment (RW) at [`DATA_BASE`]: per case,
//! at `DATA_BASE + k * CASE_STRIDE`, the state block, the output block and the
//! scratch memory. The scratch area straddles a page boundary in its middle, so that
//! unaligned accesses there cross pages.

use crate::asm::*;
use crate::case::*;
use crate::rng::Rng;

pub const CODE_BASE: u64 = 0x40_0000;
pub const DATA_BASE: u64 = 0x100_0000;
pub const CASE_STRIDE: u64 = 0x2000;
pub const OUT_OFF: u64 = 0x400;
pub const SCRATCH_OFF: u64 = 0x800;
/// Output block plus scratch memory, written by each case's `write` call.
pub const RECORD_LEN: usize = (SCRATCH_OFF - OUT_OFF) as usize + SCRATCH_SIZE;
/// Random words at the start of the code segment, for PC-relative literal loads.
const POOL_OFF: usize = 0x100;
const POOL_WORDS: usize = 0x100;
const EHDR: usize = 64;
const PHDR: usize = 56;

pub const SYS_WRITE: u64 = 64;
pub const SYS_EXIT: u64 = 93;

pub struct Image {
    /// The whole ELF file.
    pub file: Vec<u8>,
    /// File bytes `0..code_len` are mapped at `CODE_BASE`.
    pub code_len: usize,
    /// File bytes `data_off..data_off + data_len` are mapped at `DATA_BASE`.
    pub data_off: usize,
    pub data_len: usize,
    pub entry: u64,
    /// Address of each case's first instruction.
    pub body_addr: Vec<u64>,
}

pub fn scratch_addr(k: usize) -> u64 {
    DATA_BASE + k as u64 * CASE_STRIDE + SCRATCH_OFF
}

fn prologue(code: &mut Vec<u32>, state: u32) {
    code.extend(mov32(30, state));
    for (off, key) in [
        (OFF_NZCV, NZCV),
        (OFF_FPCR, FPCR),
        (OFF_FPSR, FPSR),
        (OFF_TPIDR, TPIDR_EL0),
    ] {
        code.push(ldr_x(0, 30, off as u32));
        code.push(msr(key, 0));
    }
    code.push(ldr_x(0, 30, OFF_SP as u32));
    code.push(add_imm(XZR, 0, 0)); // mov sp, x0
    for i in 0..16 {
        code.push(ldp_q(2 * i, 2 * i + 1, 30, (OFF_V as u32) + 32 * i));
    }
    for i in 0..15 {
        code.push(ldp_x(2 * i, 2 * i + 1, 30, (OFF_X as u32) + 16 * i));
    }
    code.push(ldr_x(30, 30, (OFF_X + 8 * 30) as u32));
}

fn epilogue(code: &mut Vec<u32>, out: u32) {
    // X0 is needed as the base: park it in TPIDR_EL0 first.
    code.push(msr(TPIDR_EL0, 0));
    code.extend(mov32(0, out));
    for i in 0..15 {
        let r = 2 * i + 1;
        code.push(stp_x(r, r + 1, 0, (OFF_X as u32) + 8 * r));
    }
    code.push(mrs(1, TPIDR_EL0));
    code.push(str_x(1, 0, OFF_X as u32));
    code.push(add_imm(1, XZR, 0)); // mov x1, sp
    code.push(str_x(1, 0, OFF_SP as u32));
    for (off, key) in [(OFF_NZCV, NZCV), (OFF_FPCR, FPCR), (OFF_FPSR, FPSR)] {
        code.push(mrs(1, key));
        code.push(str_x(1, 0, off as u32));
    }
    for i in 0..16 {
        code.push(stp_q(2 * i, 2 * i + 1, 0, (OFF_V as u32) + 32 * i));
    }
    code.push(add_imm(1, 0, 0)); // mov x1, x0
    code.push(movz(0, 1, 0));
    code.push(movz(2, RECORD_LEN as u32, 0));
    code.push(movz(8, SYS_WRITE as u32, 0));
    code.push(SVC0);
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn phdr(b: &mut Vec<u8>, flags: u32, off: u64, vaddr: u64, size: u64) {
    put32(b, 1); // PT_LOAD
    put32(b, flags);
    put64(b, off);
    put64(b, vaddr);
    put64(b, vaddr);
    put64(b, size); // p_filesz
    put64(b, size); // p_memsz
    put64(b, 0x1000);
}

/// Builds the executable for `cases`. `pool_seed` fills the literal pool.
pub fn build(cases: &[Case], pool_seed: u64) -> Image {
    let code_start = POOL_OFF + 4 * POOL_WORDS;
    let entry = CODE_BASE + code_start as u64;
    let mut code: Vec<u32> = Vec::new();
    let mut body_addr = Vec::with_capacity(cases.len());
    let mut data = vec![0u8; cases.len() * CASE_STRIDE as usize];
    for (k, case) in cases.iter().enumerate() {
        let base = DATA_BASE + k as u64 * CASE_STRIDE;
        let state = case.resolved_state(base + SCRATCH_OFF);
        let d = k * CASE_STRIDE as usize;
        data[d..d + STATE_SIZE].copy_from_slice(&state.to_bytes());
        let s = d + SCRATCH_OFF as usize;
        data[s..s + SCRATCH_SIZE].copy_from_slice(&case.scratch);

        prologue(&mut code, base as u32);
        body_addr.push(entry + 4 * code.len() as u64);
        code.extend_from_slice(&case.insns);
        epilogue(&mut code, (base + OUT_OFF) as u32);
    }
    code.push(movz(0, 0, 0));
    code.push(movz(8, SYS_EXIT as u32, 0));
    code.push(SVC0);

    let code_len = code_start + 4 * code.len();
    let data_off = code_len.next_multiple_of(0x1000);
    let mut file = Vec::with_capacity(data_off + data.len());
    // ELF header (ELF64, little-endian, executable, AArch64).
    file.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
    file.extend_from_slice(&[0; 8]);
    put16(&mut file, 2); // ET_EXEC
    put16(&mut file, 183); // EM_AARCH64
    put32(&mut file, 1);
    put64(&mut file, entry);
    put64(&mut file, EHDR as u64); // e_phoff
    put64(&mut file, 0); // e_shoff
    put32(&mut file, 0); // e_flags
    put16(&mut file, EHDR as u16);
    put16(&mut file, PHDR as u16);
    put16(&mut file, 2);
    put16(&mut file, 64);
    put16(&mut file, 0);
    put16(&mut file, 0);
    phdr(&mut file, 4 | 1, 0, CODE_BASE, code_len as u64);
    phdr(
        &mut file,
        4 | 2,
        data_off as u64,
        DATA_BASE,
        data.len() as u64,
    );
    file.resize(POOL_OFF, 0);
    let mut rng = Rng::new(pool_seed);
    for _ in 0..POOL_WORDS {
        put32(&mut file, rng.next32());
    }
    for w in &code {
        put32(&mut file, *w);
    }
    file.resize(data_off, 0);
    file.extend_from_slice(&data);
    Image {
        file,
        code_len,
        data_off,
        data_len: data.len(),
        entry,
        body_addr,
    }
}
