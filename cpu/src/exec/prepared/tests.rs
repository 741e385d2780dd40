//! The specialised handlers against their families' ([`execute`] runs only
//! those, exactly as in the ARM pseudocode): the same random words run
//! from the same random states must leave identical registers, flags, memory and
//! results (including faults and their syndromes).

use super::{Prepared, Step};
use crate::cpu::Cpu;
use crate::decode::decode;
use crate::exec::execute;
use crate::exec::Flow;
use crate::memory::Ram;
use crate::state::Regs;
use crate::sysreg::sctlr;
use crate::sysreg::SysRegs;
use crate::test_rng::Rng;

const RAM_BASE: u64 = 0x4000_0000;
const RAM_SIZE: u64 = 0x4000;

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A register value: an address in or near RAM (often misaligned), a small
    /// number (an index or offset), an edge value, or anything.
    fn value(&mut self) -> u64 {
        match self.below(6) {
            0 | 1 => RAM_BASE + 0x1000 + self.below(0x2000),
            2 => self.below(64).wrapping_sub(16),
            3 => [
                0,
                1,
                u64::MAX,
                1 << 63,
                (1 << 63) - 1,
                0xffff_ffff,
                0x8000_0000,
            ][self.below(7) as usize],
            4 => RAM_BASE + RAM_SIZE - self.below(16),
            _ => self.next(),
        }
    }
}

/// Puts `cpu` and `ram` in a random state made from `rng`. The machines are
/// reused between cases (a new CPU is costly), so everything an instruction can
/// change is set here.
fn randomise(cpu: &mut Cpu, ram: &mut Ram, rng: &mut Rng) {
    cpu.regs = Regs::default();
    cpu.sys = SysRegs::default();
    cpu.monitor = None;
    cpu.event_register = false;
    cpu.flush_tlb();
    for x in cpu.regs.x[..31].iter_mut() {
        *x = rng.value();
    }
    cpu.regs.sp_el = [rng.value() & !rng.below(2), rng.value() & !15];
    cpu.regs.nzcv = (rng.next() as u32) & 0xf000_0000;
    cpu.regs.el = rng.below(2) as u8;
    cpu.regs.sp_sel = rng.below(2) as u8;
    cpu.regs.pc = RAM_BASE + 4 * rng.below(0x400);
    if rng.below(4) != 0 {
        cpu.sys.cpacr = 3 << 20; // FP and SIMD enabled
    }
    for v in cpu.regs.v.iter_mut() {
        *v = (rng.next() as u128) << 64 | rng.next() as u128;
    }
    for (bit, chance) in [(sctlr::A, 4), (sctlr::SA, 2), (sctlr::SA0, 2)] {
        if rng.below(chance) == 0 {
            cpu.sys.sctlr |= bit;
        }
    }
    for chunk in ram
        .slice_mut(RAM_BASE, RAM_SIZE as usize)
        .unwrap()
        .chunks_mut(8)
    {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
}

#[test]
fn specialised_handlers_agree_with_their_family() {
    let mut rng = Rng(0x5eed);
    let mut specialised = 0;
    let mut faults = 0;
    let (mut a, mut ram_a) = (Cpu::new(0), Ram::new(RAM_BASE, RAM_SIZE).unwrap());
    let (mut b, mut ram_b) = (Cpu::new(0), Ram::new(RAM_BASE, RAM_SIZE).unwrap());
    while specialised < 100_000 {
        let word = rng.next() as u32;
        let insn = decode(word);
        let prepared = Prepared::new(insn);
        if !prepared.is_specialised() {
            continue;
        }
        specialised += 1;
        let seed = rng.next();
        randomise(&mut a, &mut ram_a, &mut Rng(seed));
        randomise(&mut b, &mut ram_b, &mut Rng(seed));
        let want = execute(&mut a, &mut ram_a, insn);
        let got = prepared.run(&mut b, &mut ram_b);
        faults += want.is_err() as u32;
        assert_eq!(
            format!("{got:?}"),
            format!("{want:?}"),
            "result of {word:#010x} (seed {seed:#x})"
        );
        assert_eq!(
            b.regs, a.regs,
            "registers after {word:#010x} (seed {seed:#x})"
        );
        assert_eq!(b.regs.x[31], 0, "the zero register after {word:#010x}");
        assert!(
            ram_a.slice(RAM_BASE, RAM_SIZE as usize) == ram_b.slice(RAM_BASE, RAM_SIZE as usize),
            "memory after {word:#010x} (seed {seed:#x})"
        );
    }
    // The states are built so that both successful and faulting accesses occur.
    assert!(faults > 1_000, "only {faults} faults");
}

#[test]
fn common_forms_are_specialised() {
    for word in [
        0x8b020021u32, // add x1, x1, x2
        0xca010063,    // eor x3, x3, x1
        0xd37df064,    // lsl x4, x3, #3
        0xf1000400,    // subs x0, x0, #1
        0x54ffff61,    // b.ne
        0xf8626823,    // ldr x3, [x1, x2]
        0xa9bf7bfd,    // stp x29, x30, [sp, #-16]!
        0xaa0103e0,    // mov x0, x1
    ] {
        assert!(Prepared::new(decode(word)).is_specialised(), "{word:#010x}");
    }
}

/// A random ADDS/SUBS (immediate or unshifted register) with a random B.cond
/// after it.
fn compare_and_branch(rng: &mut Rng) -> (u32, u32) {
    let sf_sub = (rng.below(4) as u32) << 30;
    let regs = (rng.below(32) as u32) << 5 | rng.below(32) as u32;
    let compare = if rng.below(2) == 0 {
        // ADDS/SUBS (immediate), either shift of the immediate.
        0x3100_0000 | sf_sub | (rng.below(2) as u32) << 22 | (rng.below(4096) as u32) << 10 | regs
    } else {
        // ADDS/SUBS (shifted register) with a zero amount, any shift kind.
        0x2b00_0000 | sf_sub | (rng.below(3) as u32) << 22 | (rng.below(32) as u32) << 16 | regs
    };
    let branch = 0x5400_0000 | (rng.below(1 << 19) as u32) << 5 | rng.below(16) as u32;
    (compare, branch)
}

#[test]
fn fused_compare_and_branch_agrees_with_the_pair() {
    let mut rng = Rng(0xf0_5ed);
    let (mut a, mut ram_a) = (Cpu::new(0), Ram::new(RAM_BASE, RAM_SIZE).unwrap());
    let (mut b, mut ram_b) = (Cpu::new(0), Ram::new(RAM_BASE, RAM_SIZE).unwrap());
    let mut taken = 0;
    for _ in 0..50_000 {
        let (compare, branch) = compare_and_branch(&mut rng);
        let (first, second) = (
            Prepared::new(decode(compare)),
            Prepared::new(decode(branch)),
        );
        let fused = first
            .fused_with(&second)
            .unwrap_or_else(|| panic!("{compare:#010x} with {branch:#010x} not fused"));
        let seed = rng.next();
        randomise(&mut a, &mut ram_a, &mut Rng(seed));
        randomise(&mut b, &mut ram_b, &mut Rng(seed));
        // The pair, one at a time, as the reference executor runs them.
        let start = a.regs.pc;
        assert!(matches!(
            execute(&mut a, &mut ram_a, decode(compare)),
            Ok(Flow::Next)
        ));
        a.regs.pc = start + 4;
        assert!(execute(&mut a, &mut ram_a, decode(branch)).is_ok());
        if a.regs.pc == start + 4 {
            a.regs.pc = start + 8;
        } else {
            taken += 1;
        }
        // Fused: one entry, two instructions retired.
        let icount = b.icount;
        assert_eq!(fused.step(&mut b, &mut ram_b), Step::Jump);
        assert_eq!(b.icount, icount + 1, "the branch counts as retired");
        assert_eq!(
            b.regs, a.regs,
            "{compare:#010x} then {branch:#010x} (seed {seed:#x})"
        );
    }
    assert!((10_000..40_000).contains(&taken), "{taken} branches taken");
}

#[test]
fn only_compares_before_a_conditional_branch_are_fused() {
    let prepare = |word: u32| Prepared::new(decode(word));
    let b_ne = prepare(0x54ff_ff61);
    // subs x0, x0, #1 / cmp x1, x2 before b.ne: fused.
    assert!(prepare(0xf100_0400).fused_with(&b_ne).is_some());
    assert!(prepare(0xeb02_003f).fused_with(&b_ne).is_some());
    // sub x0, x0, #1 (no flags), cmp x1, x2, lsl #1 (shifted), or a plain B.
    assert!(prepare(0xd100_0400).fused_with(&b_ne).is_none());
    assert!(prepare(0xeb02_043f).fused_with(&b_ne).is_none());
    assert!(prepare(0xf100_0400)
        .fused_with(&prepare(0x17ff_ffff))
        .is_none());
}
