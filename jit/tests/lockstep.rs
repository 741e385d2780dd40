//! The JIT against the interpreter: random loops of instructions drawn from
//! the decode tables run on two identical machines, one interpreting and one
//! translating, and must leave the same registers, system registers, memory
//! and instruction count. `ARMVM_JIT_LOCKSTEP_COUNT` sets the number of
//! programs (default 3000), `ARMVM_JIT_LOCKSTEP_SEED` the seed.

use armvm_cpu::cpu::{Cpu, Exit, SharedCode};
use armvm_cpu::decode::a64_fp::{self, Bin, Fma, Un};
use armvm_cpu::decode::{a64, a64_simd, decode, FpOp, Op, SimdOp};
use armvm_cpu::memory::Ram;
use armvm_jit::Jit;
use std::rc::Rc;

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 0x4_0000;
const CODE: u64 = RAM_BASE + 0x1_0000;
/// Where the memory operands point: the middle of a 64 KiB data area.
const DATA: u64 = RAM_BASE + 0x2_8000;
/// `b .`: fills memory, so that exceptions and the loop's exit spin.
const SPIN: u32 = 0x1400_0000;
/// Registers the generator keeps for itself: the data pointer and the loop
/// counter.
const BASE_REG: u32 = 27;
const COUNTER: u32 = 28;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The instruction classes the frontend translates, and some it leaves to
/// the interpreter (to exercise the mixed blocks).
const CLASSES: &[Op] = &[
    Op::AddSubImm,
    Op::AddSubShifted,
    Op::AddSubExt,
    Op::LogicalImm,
    Op::LogicalReg,
    Op::Movz,
    Op::Movn,
    Op::Movk,
    Op::Ubfm,
    Op::Sbfm,
    Op::Extr,
    Op::ShiftV,
    Op::Madd,
    Op::CondSel,
    Op::Adr,
    Op::Adrp,
    Op::LdstUimm,
    Op::LdstImm9,
    Op::LdstRegOff,
    Op::LdstPair,
    Op::LdstUimmFp,
    Op::LdstImm9Fp,
    Op::LdstRegOffFp,
    Op::LdstPairFp,
    Op::Simd(SimdOp::Add),
    Op::Simd(SimdOp::Sub),
    Op::Simd(SimdOp::And),
    Op::Simd(SimdOp::Bic),
    Op::Simd(SimdOp::Orr),
    Op::Simd(SimdOp::Orn),
    Op::Simd(SimdOp::Eor),
    Op::Simd(SimdOp::Cmeq),
    Op::Simd(SimdOp::Mul),
    Op::Simd(SimdOp::ShrImm),
    Op::Simd(SimdOp::ShlImm),
    Op::Simd(SimdOp::ShllImm),
    Op::Simd(SimdOp::AddW),
    Op::Simd(SimdOp::SubW),
    Op::Simd(SimdOp::AddL),
    Op::Simd(SimdOp::SubL),
    Op::Simd(SimdOp::MulL),
    Op::Simd(SimdOp::MlaL),
    Op::Simd(SimdOp::Movi),
    Op::Simd(SimdOp::Mvni),
    Op::Fp(FpOp::FmovToGen),
    Op::Fp(FpOp::FmovFromGen),
    Op::Fp(FpOp::FmovToGenTop),
    Op::Fp(FpOp::FmovFromGenTop),
    Op::Fp(FpOp::Unary(Un::Mov)),
    Op::Fp(FpOp::Binary(Bin::Add)),
    Op::Fp(FpOp::Binary(Bin::Sub)),
    Op::Fp(FpOp::Binary(Bin::Mul)),
    Op::Fp(FpOp::Binary(Bin::Div)),
    Op::Fp(FpOp::Fmla { sub: false }),
    Op::Fp(FpOp::Fmla { sub: true }),
    Op::Fp(FpOp::Fmadd(Fma::Madd)),
    Op::Fp(FpOp::Fmadd(Fma::Msub)),
    Op::Fp(FpOp::Fmadd(Fma::Nmadd)),
    Op::Fp(FpOp::Fmadd(Fma::Nmsub)),
    // Interpreted inside translated blocks.
    Op::Bfm,
    Op::AdcSbc,
    Op::CondCmpImm,
    Op::Clz,
    Op::Rev,
    Op::Udiv,
];

fn is_memory(op: Op) -> bool {
    matches!(
        op,
        Op::LdstUimm
            | Op::LdstImm9
            | Op::LdstRegOff
            | Op::LdstPair
            | Op::LdstUimmFp
            | Op::LdstImm9Fp
            | Op::LdstRegOffFp
            | Op::LdstPairFp
    )
}

fn has_gpr_destination(op: Op) -> bool {
    !matches!(
        op,
        Op::Simd(_) | Op::LdstUimmFp | Op::LdstImm9Fp | Op::LdstRegOffFp | Op::LdstPairFp
    )
}

/// A random instruction of one of [`CLASSES`], keeping the generator's own
/// registers out of its destinations and, mostly, its memory operands near
/// the data area.
fn instruction(rng: &mut Rng) -> u32 {
    let rows: Vec<&a64::Encoding> = a64::BASE
        .iter()
        .chain(a64_simd::SIMD.iter())
        .chain(a64_fp::FP.iter())
        .filter(|e| CLASSES.contains(&e.op))
        .collect();
    loop {
        let row = rows[rng.below(rows.len() as u64) as usize];
        let mut word = row.value | (rng.next() as u32 & !row.mask);
        let fix = |word: u32, shift: u32, rng: &mut Rng| {
            let r = (word >> shift) & 31;
            if r == BASE_REG || r == COUNTER {
                (word & !(31 << shift)) | ((rng.below(27) as u32) << shift)
            } else {
                word
            }
        };
        if has_gpr_destination(row.op) {
            word = fix(word, 0, rng);
        }
        if row.op == Op::LdstPair {
            word = fix(word, 10, rng);
        }
        if is_memory(row.op) {
            let base = match rng.below(10) {
                0..=6 => BASE_REG,
                7 | 8 => 31,
                _ => (word >> 5) & 31,
            };
            word = (word & !(31 << 5)) | (base << 5);
            if row.op == Op::LdstRegOff {
                // A small index register: the offset stays near the data.
                word = (word & !(31 << 16)) | ((rng.below(4) as u32) << 16);
            }
        }
        if row.matches(word) && decode(word).op == row.op {
            return word;
        }
    }
}

struct Machine {
    cpu: Cpu,
    ram: Ram,
    code: Rc<SharedCode>,
}

impl Machine {
    fn statistic(&self, name: &str) -> u64 {
        let stats = self.code.translator_statistics();
        stats.iter().find(|(n, _)| *n == name).map_or(0, |s| s.1)
    }
}

fn machine(code: &[u32], rng: &mut Rng, jit: bool) -> Machine {
    let mut ram = Ram::new(RAM_BASE, RAM_SIZE).unwrap();
    let bytes = ram.slice_mut(RAM_BASE, RAM_SIZE as usize).unwrap();
    for word in bytes.chunks_mut(4) {
        word.copy_from_slice(&SPIN.to_le_bytes());
    }
    for (i, w) in code.iter().enumerate() {
        let at = (CODE - RAM_BASE) as usize + 4 * i;
        bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
    }
    let data = (DATA - RAM_BASE) as usize;
    for b in &mut bytes[data - 0x8000..data + 0x8000] {
        *b = rng.next() as u8;
    }
    let mut cpu = Cpu::new(0);
    let shared = SharedCode::new(1);
    if jit {
        shared.set_translator(Some(Box::new(
            Jit::new(armvm_jit::DEFAULT_CACHE_SIZE).unwrap(),
        )));
    }
    cpu.share_code(shared.clone());
    for r in 0..31 {
        let v = rng.next();
        // Small values half the time: shift amounts, indices.
        cpu.regs
            .set_xr(r, if v & 1 == 0 { v >> 1 } else { (v >> 1) % 64 });
    }
    cpu.regs.x[BASE_REG as usize] = DATA + (rng.below(64) * 8);
    cpu.regs.x[COUNTER as usize] = 20;
    // SP: aligned half the time (the interpreter checks alignment).
    cpu.regs.sp_el[1] = DATA - 0x100 + rng.below(4) * 8 * (rng.below(2) * 2);
    cpu.regs.nzcv = (rng.next() as u32) & 0xf000_0000;
    for v in cpu.regs.v.iter_mut() {
        *v = match rng.below(4) {
            // Ordinary numbers, so that floating point mostly stays exact
            // and finite: doubles, or singles.
            0 => {
                let mut d = || ((rng.below(4001) as f64 - 2000.0) / 16.0).to_bits() as u128;
                d() | (d() << 64)
            }
            1 => (0..4).fold(0u128, |acc, k| {
                let f = ((rng.below(4001) as f32 - 2000.0) / 16.0).to_bits() as u128;
                acc | (f << (32 * k))
            }),
            _ => ((rng.next() as u128) << 64) | rng.next() as u128,
        };
    }
    // FPCR: round to nearest, except sometimes.
    cpu.regs.fpcr = if rng.below(8) == 0 { 1 << 22 } else { 0 };
    // SIMD&FP enabled, except sometimes (they trap).
    cpu.sys.cpacr = if rng.below(8) == 0 { 0 } else { 3 << 20 };
    cpu.regs.pc = CODE;
    cpu.sys.vbar = RAM_BASE;
    Machine {
        cpu,
        ram,
        code: shared,
    }
}

/// A loop of `body` that runs 20 times (enough to get translated), then spins.
fn program(rng: &mut Rng) -> Vec<u32> {
    let len = 1 + rng.below(24) as usize;
    let body: Vec<u32> = (0..len).map(|_| instruction(rng)).collect();
    looped(&body)
}

/// `body`, then `subs x28, x28, #1; b.ne <start>`.
fn looped(body: &[u32]) -> Vec<u32> {
    let mut code = body.to_vec();
    code.push(0xf100_0000 | (COUNTER << 5) | COUNTER | (1 << 10));
    let back = -(body.len() as i32 + 1);
    code.push(0x5400_0001 | (((back as u32) & 0x7ffff) << 5));
    code
}

fn compare(seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let code = program(&mut rng);
    let state_seed = rng.next();
    compare_program(&code, state_seed).map_err(|e| {
        // Drop the instructions the difference does not need, for the report.
        let mut body = code[..code.len() - 2].to_vec();
        let mut i = 0;
        while i < body.len() {
            let mut fewer = body.clone();
            fewer.remove(i);
            if compare_program(&looped(&fewer), state_seed).is_err() {
                body = fewer;
            } else {
                i += 1;
            }
        }
        let minimal = compare_program(&looped(&body), state_seed).unwrap_err();
        format!("seed {seed:#x}: {e}\n\nreduced to:\n{minimal}")
    })
}

fn compare_program(code: &[u32], state_seed: u64) -> Result<(), String> {
    let mut a = machine(code, &mut Rng(state_seed), false);
    let mut b = machine(code, &mut Rng(state_seed), true);
    let budget = 3000;
    let exit_a = a.cpu.run(&mut a.ram, budget);
    let exit_b = b.cpu.run(&mut b.ram, budget);
    let listing = || {
        code.iter()
            .map(|w| format!("{w:08x} {:?}", decode(*w).op))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let fail = |what: String| Err(format!("{what}\nprogram:\n{}", listing()));
    if exit_a != exit_b || exit_a != Exit::BudgetSpent {
        return fail(format!("exits differ: {exit_a:?} vs {exit_b:?}"));
    }
    if a.cpu.regs != b.cpu.regs {
        let (ra, rb) = (&a.cpu.regs, &b.cpu.regs);
        let mut diff = Vec::new();
        for i in 0..32 {
            if ra.v[i] != rb.v[i] {
                diff.push(format!("v{i}: {:032x} vs {:032x}", ra.v[i], rb.v[i]));
            }
            if ra.x[i] != rb.x[i] {
                diff.push(format!("x{i}: {:016x} vs {:016x}", ra.x[i], rb.x[i]));
            }
        }
        return fail(format!(
            "registers differ (interpreter vs jit): {}\ninterpreter {ra:x?}\njit         {rb:x?}",
            diff.join(", ")
        ));
    }
    let sys = |c: &Cpu| (c.sys.elr, c.sys.esr, c.sys.far, c.icount);
    if sys(&a.cpu) != sys(&b.cpu) {
        return fail(format!(
            "ELR/ESR/FAR/icount differ: {:x?} vs {:x?}",
            sys(&a.cpu),
            sys(&b.cpu)
        ));
    }
    let (ma, mb) = (
        a.ram.slice(RAM_BASE, RAM_SIZE as usize).unwrap(),
        b.ram.slice(RAM_BASE, RAM_SIZE as usize).unwrap(),
    );
    if let Some(at) = (0..ma.len()).find(|&i| ma[i] != mb[i]) {
        return fail(format!("memory differs at {:#x}", RAM_BASE + at as u64));
    }
    Ok(())
}

#[test]
fn the_jit_matches_the_interpreter_on_random_loops() {
    let count: u64 = std::env::var("ARMVM_JIT_LOCKSTEP_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("ARMVM_JIT_LOCKSTEP_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_0001);
    let mut failures = Vec::new();
    for k in 0..count {
        if let Err(e) = compare(seed.wrapping_add(k)) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} programs differ; first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// The loop really runs translated: the statistics count its block.
#[test]
fn a_hot_loop_is_translated() {
    // add x0, x0, #1; subs x28, x28, #1; b.ne -8
    let code = [
        0x9100_0400,
        0xf100_0000 | (COUNTER << 5) | COUNTER | (1 << 10),
        0x54ff_ffc1,
    ];
    let mut m = machine(&code, &mut Rng(1), true);
    m.cpu.regs.x[0] = 0;
    m.cpu.regs.x[COUNTER as usize] = 1000;
    m.cpu.run(&mut m.ram, 3000);
    assert_eq!(m.cpu.regs.x[0], 1000);
    assert_eq!(m.cpu.regs.x[COUNTER as usize], 0);
    assert_eq!(m.cpu.regs.pc, CODE + 12);
    assert_eq!(m.statistic("jit blocks translated"), 1);
}
