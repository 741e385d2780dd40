//! Interpreter throughput: guest instructions retired per second on three
//! hand-encoded loops, driving `armvm_cpu::Cpu` directly with a minimal board
//! (RAM only, a counter that does not move). Criterion reports throughput in
//! elements = guest instructions (`cpu.icount`).
//!
//! - `integer`: ALU operations and a taken conditional branch, MMU off.
//! - `memory_mmu`: load/add/store striding through 1 MiB, MMU on (4K granule,
//!   2 MiB blocks), so every access goes through the software TLB.
//! - `fp_simd`: scalar FP and Advanced SIMD arithmetic (a loop that raises any
//!   exception is a bug: the bench stops with its syndrome).
//!
//! `scripts/bench-vs-qemu.sh` compares whole-system runs against QEMU.

use armvm_cpu::memory::Ram;
use armvm_cpu::{Cpu, Exit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 16 << 20;
/// Guest instructions per measured iteration.
const BUDGET: u64 = 1_000_000;

struct Board {
    ram: Ram,
}

impl Board {
    fn new() -> Board {
        Board {
            ram: Ram::new(RAM_BASE, RAM_SIZE).expect("allocate guest RAM"),
        }
    }
    fn write_u32s(&mut self, pa: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.write(pa, &bytes);
    }
    fn write_u64(&mut self, pa: u64, value: u64) {
        self.write(pa, &value.to_le_bytes());
    }
    fn write(&mut self, pa: u64, bytes: &[u8]) {
        self.ram
            .slice_mut(pa, bytes.len())
            .expect("bench code and tables lie in RAM")
            .copy_from_slice(bytes);
    }
}

/// `add x1,x1,x2; eor x3,x3,x1; lsl x4,x3,#3; sub x5,x4,x1; subs x0,x0,#1; b.ne`
const INTEGER_LOOP: &[u32] = &[
    0x8b02_0021,
    0xca01_0063,
    0xd37d_f064,
    0xcb01_0085,
    0xf100_0400,
    0x54ff_ff61,
];

/// `ldr x3,[x1,x2]; add x4,x4,x3; str x4,[x1,x2]; add x2,x2,#64;
///  and x2,x2,#0xfffff; b` — x1 = buffer, x2 = offset within 1 MiB.
const MEMORY_LOOP: &[u32] = &[
    0xf862_6823,
    0x8b03_0084,
    0xf822_6824,
    0x9101_0042,
    0x9240_4c42,
    0x17ff_fffb,
];

/// `fadd d0,d0,d1; fmul d2,d2,d3; fmla v4.4s,v5.4s,v6.4s; add v7.4s,v7.4s,v8.4s;
///  subs x0,x0,#1; b.ne`
const FP_SIMD_LOOP: &[u32] = &[
    0x1e61_2800,
    0x1e63_0842,
    0x4e26_cca4,
    0x4ea8_84e7,
    0xf100_0400,
    0x54ff_ff61,
];

const CODE: u64 = RAM_BASE;
/// Exception vectors: every entry is `b .`, so that an exception (an unimplemented
/// instruction) spins in place and retires instructions instead of faulting on
/// an unmapped vector address forever.
const VECTORS: u64 = RAM_BASE + 0x800;
const B_SELF: u32 = 0x1400_0000;
const TABLES: u64 = RAM_BASE + 0x10_0000;
const BUFFER: u64 = RAM_BASE + 0x20_0000;

/// A CPU at EL1 with the loop at `CODE`; x0 = u64::MAX so `subs/b.ne` never falls
/// through.
fn setup(code: &[u32]) -> (Cpu, Board) {
    let mut board = Board::new();
    board.write_u32s(CODE, code);
    for entry in 0..16 {
        board.write_u32s(VECTORS + entry * 0x80, &[B_SELF]);
    }
    let mut cpu = Cpu::new(0);
    cpu.sys.vbar = VECTORS;
    cpu.regs.pc = CODE;
    cpu.regs.x[0] = u64::MAX;
    cpu.regs.x[2] = 3;
    (cpu, board)
}

/// Identity-maps the first 16 MiB of RAM with 2 MiB blocks (4K granule, 39-bit
/// VAs: level 1 -> level 2) and turns the MMU on.
fn enable_mmu(cpu: &mut Cpu, board: &mut Board) {
    let l1 = TABLES;
    let l2 = TABLES + 0x1000;
    board.write_u64(l1 + 8 * (RAM_BASE >> 30), l2 | 3);
    for i in 0..(RAM_SIZE >> 21) {
        let pa = RAM_BASE + (i << 21);
        // Block, AttrIndx 0 (MAIR 0xff: Normal WB), inner shareable, AF.
        let desc = pa | (1 << 10) | (3 << 8) | 1;
        board.write_u64(l2 + 8 * ((pa >> 21) & 511), desc);
    }
    cpu.sys.mair = 0xff;
    // T0SZ = 25, IRGN0/ORGN0 = WBWA, SH0 = inner, TG0 = 4K, EPD1, IPS = 40 bits.
    cpu.sys.tcr = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (2 << 32);
    cpu.sys.ttbr0 = l1;
    cpu.sys.sctlr |= 1 | (1 << 2) | (1 << 12);
    cpu.flush_tlb();
}

/// Runs one measured iteration and checks that the whole budget was retired.
fn run_budget(cpu: &mut Cpu, board: &mut Board) {
    let before = cpu.icount;
    let exit = cpu.run(&mut board.ram, BUDGET);
    assert_eq!(exit, Exit::BudgetSpent);
    assert_eq!(cpu.icount - before, BUDGET);
}

fn exceptions_taken(cpu: &Cpu) -> u64 {
    cpu.exception_counts.iter().sum()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("interpreter");
    group.throughput(Throughput::Elements(BUDGET));
    group.sample_size(20);

    let (mut cpu, mut board) = setup(INTEGER_LOOP);
    run_budget(&mut cpu, &mut board);
    assert_eq!(
        exceptions_taken(&cpu),
        0,
        "the integer loop raised an exception"
    );
    group.bench_function("integer", |b| b.iter(|| run_budget(&mut cpu, &mut board)));

    let (mut cpu, mut board) = setup(MEMORY_LOOP);
    cpu.regs.x[1] = BUFFER;
    cpu.regs.x[2] = 0;
    enable_mmu(&mut cpu, &mut board);
    run_budget(&mut cpu, &mut board);
    assert_eq!(
        exceptions_taken(&cpu),
        0,
        "the memory loop raised an exception"
    );
    group.bench_function("memory_mmu", |b| {
        b.iter(|| run_budget(&mut cpu, &mut board))
    });

    let (mut cpu, mut board) = setup(FP_SIMD_LOOP);
    cpu.sys.cpacr = 3 << 20; // FPEN: no FP/SIMD traps
    cpu.run(&mut board.ram, 100);
    let ec = cpu.exception_counts.iter().position(|&n| n > 0);
    assert_eq!(
        exceptions_taken(&cpu),
        0,
        "interpreter/fp_simd: the loop raised an exception (EC {ec:#x?})"
    );
    group.bench_function("fp_simd", |b| b.iter(|| run_budget(&mut cpu, &mut board)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
