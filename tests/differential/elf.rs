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
//!
//! A case that faults does not end the process: the program installs a handler (on
//! an alternate stack, since SP belongs to the case) for SIGILL, SIGTRAP, SIGBUS,
//! SIGFPE and SIGSEGV, which writes the signal number and `si_addr` into the case's
//! output block, writes the record (so the scratch memory at the time of the fault is
//! compared too), and resumes at the next case's prologue by rewriting the PC in the
//! signal frame. Each prologue stores its state block's address in a global word for
//! the handler. armvm's runner does the same in Rust (`machine.rs`).

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
/// In each state block, after the registers: where the signal handler resumes
/// (the next case's prologue).
pub const OFF_RESUME: u64 = 0x3f8;
/// In each output block (so at this offset of a record): the signal number of a
/// faulting case (0 if it completed), then its `si_addr`.
pub const OFF_SIGNAL: usize = 0x320;
pub const OFF_SIGADDR: usize = 0x328;
/// Global data after the cases: the current state block's address, the sigaction
/// and sigaltstack structures, and the alternate signal stack.
const G_CURRENT: u64 = 0;
const G_SIGACTION: u64 = 0x10;
const G_SIGALTSTACK: u64 = 0x30;
const G_STACK: u64 = 0x1000;
const G_SIZE: u64 = 0x11000;
/// Offset of `uc_mcontext.pc` in the arm64 `ucontext_t` of a signal frame.
const UC_PC: u32 = 440;
/// Offset of `si_addr` in `siginfo_t`.
const SI_ADDR: u32 = 16;
/// The signals a case may raise.
pub const SIGNALS: [u32; 5] = [4, 5, 7, 8, 11];
/// Random words at the start of the code segment, for PC-relative literal loads.
const POOL_OFF: usize = 0x100;
const POOL_WORDS: usize = 0x100;
const EHDR: usize = 64;
const PHDR: usize = 56;

pub const SYS_WRITE: u64 = 64;
pub const SYS_EXIT: u64 = 93;
pub const SYS_SIGALTSTACK: u64 = 132;
pub const SYS_RT_SIGACTION: u64 = 134;
const SYS_RT_SIGRETURN: u32 = 139;
const SA_SIGINFO: u64 = 0x4;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTORER: u64 = 0x0400_0000;

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
    /// Address of the word holding the current case's state block address.
    pub current: u64,
}

pub fn scratch_addr(k: usize) -> u64 {
    DATA_BASE + k as u64 * CASE_STRIDE + SCRATCH_OFF
}

fn prologue(code: &mut Vec<u32>, state: u32, current: u32) {
    code.extend(mov32(30, state));
    code.extend(mov32(0, current));
    code.push(str_x(30, 0, 0));
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

/// The signal handler (x0: signal, x1: siginfo, x2: ucontext) and its restorer.
fn handler(code: &mut Vec<u32>, current: u32) -> (u64, u64) {
    let start = code.len();
    code.push(add_imm(19, 2, 0)); // x19 = ucontext
    code.extend(mov32(3, current));
    code.push(ldr_x(3, 3, 0)); // x3 = state block
    code.push(add_imm(4, 3, OUT_OFF as u32)); // x4 = output block
    code.push(str_x(0, 4, OFF_SIGNAL as u32));
    code.push(ldr_x(5, 1, SI_ADDR));
    code.push(str_x(5, 4, OFF_SIGADDR as u32));
    code.push(ldr_x(5, 3, OFF_RESUME as u32));
    code.push(str_x(5, 19, UC_PC));
    code.push(add_imm(1, 4, 0));
    code.push(movz(0, 1, 0));
    code.push(movz(2, RECORD_LEN as u32, 0));
    code.push(movz(8, SYS_WRITE as u32, 0));
    code.push(SVC0);
    code.push(0xd65f_03c0); // ret (to the restorer)
    let restorer = code.len();
    code.push(movz(8, SYS_RT_SIGRETURN, 0));
    code.push(SVC0);
    (4 * start as u64, 4 * restorer as u64)
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
    let code_addr = |index: usize| CODE_BASE + (code_start + 4 * index) as u64;
    let globals = DATA_BASE + cases.len() as u64 * CASE_STRIDE;
    let current = (globals + G_CURRENT) as u32;
    let mut code: Vec<u32> = Vec::new();
    let (handler_off, restorer_off) = handler(&mut code, current);

    // Entry: the alternate signal stack and the handlers.
    let entry = code_addr(code.len());
    code.extend(mov32(0, (globals + G_SIGALTSTACK) as u32));
    code.push(movz(1, 0, 0));
    code.push(movz(8, SYS_SIGALTSTACK as u32, 0));
    code.push(SVC0);
    for sig in SIGNALS {
        code.push(movz(0, sig, 0));
        code.extend(mov32(1, (globals + G_SIGACTION) as u32));
        code.push(movz(2, 0, 0));
        code.push(movz(3, 8, 0)); // sizeof(sigset_t)
        code.push(movz(8, SYS_RT_SIGACTION as u32, 0));
        code.push(SVC0);
    }

    let mut body_addr = Vec::with_capacity(cases.len());
    let mut prologue_addr = Vec::with_capacity(cases.len());
    let mut data = vec![0u8; (globals + G_SIZE - DATA_BASE) as usize];
    for (k, case) in cases.iter().enumerate() {
        let base = DATA_BASE + k as u64 * CASE_STRIDE;
        let state = case.resolved_state(base + SCRATCH_OFF);
        let d = k * CASE_STRIDE as usize;
        data[d..d + STATE_SIZE].copy_from_slice(&state.to_bytes());
        let s = d + SCRATCH_OFF as usize;
        data[s..s + SCRATCH_SIZE].copy_from_slice(&case.scratch);

        prologue_addr.push(code_addr(code.len()));
        prologue(&mut code, base as u32, current);
        body_addr.push(code_addr(code.len()));
        code.extend_from_slice(&case.insns);
        epilogue(&mut code, (base + OUT_OFF) as u32);
    }
    let exit = code_addr(code.len());
    code.push(movz(0, 0, 0));
    code.push(movz(8, SYS_EXIT as u32, 0));
    code.push(SVC0);

    // Where the handler resumes after case k: case k+1, or the exit.
    for k in 0..cases.len() {
        let resume = prologue_addr.get(k + 1).copied().unwrap_or(exit);
        let at = k * CASE_STRIDE as usize + OFF_RESUME as usize;
        data[at..at + 8].copy_from_slice(&resume.to_le_bytes());
    }
    let g = (globals - DATA_BASE) as usize;
    let mut put = |off: u64, v: u64| {
        let at = g + off as usize;
        data[at..at + 8].copy_from_slice(&v.to_le_bytes());
    };
    put(G_SIGACTION, code_addr(0) + handler_off);
    put(G_SIGACTION + 8, SA_SIGINFO | SA_ONSTACK | SA_RESTORER);
    put(G_SIGACTION + 16, code_addr(0) + restorer_off);
    put(G_SIGACTION + 24, 0);
    put(G_SIGALTSTACK, globals + G_STACK);
    put(G_SIGALTSTACK + 8, 0);
    put(G_SIGALTSTACK + 16, G_SIZE - G_STACK);

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
        current: current as u64,
    }
}
