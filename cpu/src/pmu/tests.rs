use super::*;
use crate::decode::decode;

/// A PMU with PMCR_EL0.E set and counter `n` counting `e` (enabled).
fn counting(n: usize, e: u16) -> Pmu {
    let mut p = Pmu::default();
    p.write(Reg::Pmcr, pmcr::E, 1);
    p.write(Reg::EvTyper(n), e as u64, 1);
    p.write(Reg::CntenSet, 1 << n, 1);
    p
}

#[test]
fn instructions_fold_in_at_the_el_they_ran_at() {
    let mut p = counting(0, event::INST_RETIRED);
    // EL0 only (P set).
    p.write(Reg::EvTyper(1), FILTER_P | event::INST_RETIRED as u64, 1);
    p.write(Reg::CntenSet, (1 << 1) | CYCLE_BIT, 1);
    p.fold_instructions(100, 1);
    p.fold_instructions(130, 0);
    assert_eq!(p.read(Reg::EvCntr(0)), 130);
    assert_eq!(p.read(Reg::EvCntr(1)), 30);
    assert_eq!(p.read(Reg::Ccntr), 130, "one cycle per instruction");
    // Disabled: nothing counts, and re-enabling does not count the gap.
    p.write(Reg::Pmcr, 0, 1);
    p.fold_instructions(200, 1);
    p.write(Reg::Pmcr, pmcr::E, 1);
    p.fold_instructions(210, 1);
    assert_eq!(p.read(Reg::EvCntr(0)), 140);
}

#[test]
fn a_32_bit_counter_overflows_into_its_flag_and_chain() {
    let mut p = counting(2, event::INST_RETIRED);
    p.write(Reg::EvTyper(3), event::CHAIN as u64, 1);
    p.write(Reg::CntenSet, 1 << 3, 1);
    p.write(Reg::EvCntr(2), 0xffff_fff0, 1);
    p.write(Reg::IntenSet, 1 << 2, 1);
    assert_eq!(p.instructions_to_overflow(), Some(0x10));
    assert!(!p.interrupt());
    p.fold_instructions(0x10, 1);
    assert_eq!(p.read(Reg::EvCntr(2)), 0);
    assert_eq!(p.read(Reg::OvsSet), 1 << 2);
    assert_eq!(p.read(Reg::EvCntr(3)), 1, "CHAIN counts the overflow");
    assert!(p.interrupt());
    p.write(Reg::OvsClr, 1 << 2, 1);
    assert!(!p.interrupt());
}

#[test]
fn the_cycle_counter_overflows_at_32_bits_unless_lc() {
    let mut p = Pmu::default();
    p.write(Reg::Pmcr, pmcr::E, 1);
    p.write(Reg::CntenSet, CYCLE_BIT, 1);
    p.write(Reg::Ccntr, 0xffff_fffe, 1);
    p.fold_instructions(3, 1);
    assert_eq!(p.read(Reg::Ccntr), 0x1_0000_0001, "64 bits wide");
    assert_eq!(p.read(Reg::OvsSet), CYCLE_BIT);
    p.write(Reg::OvsClr, CYCLE_BIT, 1);
    p.write(Reg::Pmcr, pmcr::E | pmcr::LC, 1);
    p.write(Reg::Ccntr, 0xffff_fffe, 1);
    p.fold_instructions(6, 1);
    assert_eq!(p.read(Reg::OvsSet), 0, "LC: no overflow at bit 31");
    // PMCR.C resets it.
    p.write(Reg::Pmcr, pmcr::E | pmcr::C, 1);
    assert_eq!(p.read(Reg::Ccntr), 0);
}

#[test]
fn sw_incr_selr_and_ids() {
    let mut p = counting(4, event::SW_INCR);
    p.write(Reg::Swinc, (1 << 4) | (1 << 5), 1);
    assert_eq!(p.read(Reg::EvCntr(4)), 1);
    assert_eq!(p.read(Reg::EvCntr(5)), 0, "not enabled");
    p.write(Reg::Selr, 4, 1);
    assert_eq!(p.read(Reg::XevCntr), 1);
    p.write(Reg::XevTyper, event::BR_RETIRED as u64, 1);
    assert_eq!(p.read(Reg::EvTyper(4)), event::BR_RETIRED as u64);
    assert!(
        p.per_instruction,
        "a branch event needs a look at each instruction"
    );
    p.write(Reg::Selr, 31, 1);
    p.write(Reg::XevTyper, FILTER_U | 0x3ff, 1);
    assert_eq!(p.read(Reg::Ccfiltr), FILTER_U);
    assert_eq!((p.read(Reg::Pmcr) >> 11) & 0x1f, COUNTERS as u64);
    let (ceid0, ceid1) = (p.read(Reg::Ceid0), p.read(Reg::Ceid1));
    assert_eq!(
        ceid0 & 0x20101,
        0x20101,
        "SW_INCR, INST_RETIRED, CPU_CYCLES"
    );
    assert_eq!(ceid1, 1 << 1, "BR_RETIRED");
    assert_eq!(Reg::decode(3, 3, 14, 8, 6), None, "counter 6 is beyond N");
    assert_eq!(Reg::decode(3, 3, 14, 15, 7), Some(Reg::Ccfiltr));
}

#[test]
fn el0_access_follows_pmuserenr() {
    assert_eq!(Reg::Ccntr.el0_access(0, true), Err(true));
    assert_eq!(Reg::Ccntr.el0_access(userenr::CR, true), Ok(()));
    assert_eq!(Reg::Ccntr.el0_access(userenr::CR, false), Err(true));
    assert_eq!(Reg::EvCntr(0).el0_access(userenr::ER, true), Ok(()));
    assert_eq!(Reg::Swinc.el0_access(userenr::SW, false), Ok(()));
    assert_eq!(Reg::IntenSet.el0_access(0xf, true), Err(false));
    assert_eq!(Reg::Userenr.el0_access(0, true), Ok(()));
}

#[test]
fn instruction_kinds() {
    let k = |w: u32| InsnKinds::of(decode(w));
    let none = InsnKinds::default();
    let load = InsnKinds { load: true, ..none };
    let store = InsnKinds {
        store: true,
        ..none
    };
    let branch = InsnKinds {
        branch: true,
        ..none
    };
    let both = InsnKinds {
        load: true,
        store: true,
        ..none
    };
    assert_eq!(k(0xf940_0002), load, "ldr x2, [x0]");
    assert_eq!(k(0xf900_0001), store, "str x1, [x0]");
    assert_eq!(k(0xa9bf_7bfd), store, "stp x29, x30, [sp, #-16]!");
    assert_eq!(k(0x3dc0_0000), load, "ldr q0, [x0]");
    assert_eq!(k(0x3d80_0000), store, "str q0, [x0]");
    assert_eq!(k(0xf980_0000), none, "prfm");
    assert_eq!(k(0xf820_0041), both, "ldadd");
    assert_eq!(k(0x1400_0000), branch, "b .");
    assert_eq!(k(0xd65f_03c0), branch, "ret");
    assert_eq!(k(0xb400_0000), branch, "cbz");
    assert_eq!(k(0x9100_0400), none, "add");
}
