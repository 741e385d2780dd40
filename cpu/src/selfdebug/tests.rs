use super::*;

/// Debug registers with the OS lock clear and MDE/KDE set.
fn unlocked() -> SysRegs {
    SysRegs {
        oslsr: 0b1000,
        mdscr: mdscr::MDE | mdscr::KDE,
        ..SysRegs::default()
    }
}

fn regs(el: u8, d_masked: bool) -> Regs {
    Regs {
        el,
        daif: if d_masked { DAIF_D } else { 0 },
        ..Regs::default()
    }
}

/// DBGBCR: enabled, EL1 and EL0 (PMC 0b11), BAS 0b1111, type `bt`.
fn bcr(bt: u64) -> u64 {
    1 | (0b11 << 1) | (0xf << 5) | (bt << 20)
}

/// DBGWCR: enabled, EL1 and EL0, LSC `lsc`, BAS `bas`, MASK `mask`.
fn wcr(lsc: u64, bas: u64, mask: u64) -> u64 {
    1 | (0b11 << 1) | (lsc << 3) | (bas << 5) | (mask << 24)
}

#[test]
fn the_os_lock_and_pstate_d_gate_debug_exceptions() {
    let mut sys = unlocked();
    assert!(enabled_from(&sys, 0, true), "EL0 ignores PSTATE.D");
    assert!(enabled_from(&sys, 1, false));
    assert!(!enabled_from(&sys, 1, true), "PSTATE.D masks at EL1");
    sys.mdscr &= !mdscr::KDE;
    assert!(!enabled_from(&sys, 1, false), "KDE clear: none from EL1");
    sys.mdscr |= mdscr::KDE;
    sys.oslsr |= 2;
    assert!(!enabled_from(&sys, 0, false), "OS lock set");
    sys.oslsr &= !2;
    sys.osdlr = 1;
    assert!(!enabled_from(&sys, 0, false), "OS double lock");
    sys.dbgprcr = 1;
    assert!(
        enabled_from(&sys, 0, false),
        "CORENPDRQ keeps the core debuggable"
    );
    // Reset leaves the OS lock set, as on hardware.
    assert!(os_locked(&SysRegs::default()));
}

#[test]
fn breakpoints_match_address_privilege_and_context() {
    let mut sys = unlocked();
    sys.dbgbvr[0] = 0xffff_8000_0010_2040;
    sys.dbgbcr[0] = bcr(0);
    assert!(breakpoint_hit(&sys, 0xffff_8000_0010_2040, 1));
    assert!(!breakpoint_hit(&sys, 0xffff_8000_0010_2044, 1));
    sys.dbgbcr[0] = (bcr(0) & !(0b11 << 1)) | (0b10 << 1);
    assert!(!breakpoint_hit(&sys, 0xffff_8000_0010_2040, 1), "EL0 only");
    assert!(breakpoint_hit(&sys, 0xffff_8000_0010_2040, 0));
    sys.dbgbcr[0] = bcr(0) & !(0xf << 5);
    assert!(
        !breakpoint_hit(&sys, 0xffff_8000_0010_2040, 1),
        "BAS 0 is reserved"
    );
    sys.dbgbcr[0] = bcr(0) & !1;
    assert!(!breakpoint_hit(&sys, 0xffff_8000_0010_2040, 1), "disabled");

    // Context ID: only the last breakpoint can compare it.
    sys.contextidr = 77;
    sys.dbgbvr[2] = 77;
    sys.dbgbcr[2] = bcr(0b0010);
    assert!(
        !breakpoint_hit(&sys, 0x1000, 1),
        "breakpoint 2 is not context-aware"
    );
    sys.dbgbvr[5] = 77;
    sys.dbgbcr[5] = bcr(0b0010);
    assert!(breakpoint_hit(&sys, 0x1000, 1));
    sys.contextidr = 78;
    assert!(!breakpoint_hit(&sys, 0x1000, 1));

    // An address breakpoint linked to breakpoint 5 as a linked context match.
    sys.dbgbcr[5] = bcr(0b0011);
    sys.dbgbvr[1] = 0x4000;
    sys.dbgbcr[1] = bcr(0b0001) | (5 << 16);
    assert!(!breakpoint_hit(&sys, 0x4000, 1), "context differs");
    sys.contextidr = 77;
    assert!(breakpoint_hit(&sys, 0x4000, 1));
    sys.dbgbcr[1] = bcr(0b0001) | (2 << 16);
    assert!(
        !breakpoint_hit(&sys, 0x4000, 1),
        "linked to a non-context breakpoint"
    );
}

#[test]
fn watchpoints_select_bytes_kinds_and_ranges() {
    let mut sys = unlocked();
    let r = regs(1, false);
    sys.dbgwvr[0] = 0x8000;
    // Bytes 2 and 3 of the doubleword, stores only.
    sys.dbgwcr[0] = wcr(0b10, 0b0000_1100, 0);
    assert_eq!(watchpoint_hit(&sys, &r, 0x8002, 1, 1, true), Some(0x8002));
    assert_eq!(watchpoint_hit(&sys, &r, 0x8000, 8, 1, true), Some(0x8002));
    assert_eq!(
        watchpoint_hit(&sys, &r, 0x8000, 2, 1, true),
        None,
        "bytes 0-1"
    );
    assert_eq!(
        watchpoint_hit(&sys, &r, 0x8004, 4, 1, true),
        None,
        "bytes 4-7"
    );
    assert_eq!(
        watchpoint_hit(&sys, &r, 0x8002, 1, 1, false),
        None,
        "a load"
    );
    sys.dbgwcr[0] = wcr(0b11, 0b0000_1100, 0);
    assert_eq!(watchpoint_hit(&sys, &r, 0x8003, 1, 1, false), Some(0x8003));
    // DBGWVR bit 2: BAS selects from the word at +4.
    sys.dbgwvr[0] = 0x8004;
    sys.dbgwcr[0] = wcr(0b11, 0b0001, 0);
    assert_eq!(watchpoint_hit(&sys, &r, 0x8004, 1, 1, true), Some(0x8004));
    assert_eq!(watchpoint_hit(&sys, &r, 0x8000, 1, 1, true), None);
    sys.dbgwcr[0] = wcr(0b11, 0b1_0000, 0);
    assert_eq!(
        watchpoint_hit(&sys, &r, 0x8004, 4, 1, true),
        None,
        "reserved BAS"
    );
    // MASK 12: the whole 4 KiB page; MASK needs BAS all ones.
    sys.dbgwvr[0] = 0x9abc;
    sys.dbgwcr[0] = wcr(0b11, 0xff, 12);
    assert_eq!(watchpoint_hit(&sys, &r, 0x9ff8, 8, 1, true), Some(0x9ff8));
    assert_eq!(watchpoint_hit(&sys, &r, 0xa000, 8, 1, true), None);
    sys.dbgwcr[0] = wcr(0b11, 0x0f, 12);
    assert_eq!(watchpoint_hit(&sys, &r, 0x9ff8, 8, 1, true), None);
    // Gated by MDE and the debug exception rules.
    sys.dbgwcr[0] = wcr(0b11, 0xff, 12);
    assert_eq!(
        watchpoint_hit(&sys, &regs(1, true), 0x9000, 8, 1, true),
        None
    );
    assert_eq!(
        watchpoint_hit(&sys, &regs(0, true), 0x9000, 8, 0, true),
        Some(0x9000)
    );
    sys.mdscr &= !mdscr::MDE;
    assert_eq!(watchpoint_hit(&sys, &r, 0x9000, 8, 1, true), None);
}

#[test]
fn armed_summarises_what_the_run_loop_must_check() {
    let mut sys = unlocked();
    assert_eq!(Armed::of(&sys), Armed::default());
    sys.dbgwvr[3] = 0x1_0ff8;
    sys.dbgwcr[3] = wcr(0b01, 0xf0, 0);
    let armed = Armed::of(&sys);
    assert_eq!(
        &armed.watch_ranges[..armed.watch_count],
        &[(0x1_0ffc, 0x1_1000)]
    );
    assert!(armed.watches_page(0x1_0000));
    assert!(!armed.watches_page(0x1_1000));
    assert!(!armed.per_instruction());
    sys.dbgbcr[4] = bcr(0);
    sys.mdscr |= mdscr::SS;
    assert!(Armed::of(&sys).breakpoints && Armed::of(&sys).step);
    sys.oslsr |= 2;
    assert_eq!(
        Armed::of(&sys),
        Armed::default(),
        "the OS lock arms nothing"
    );
}

#[test]
fn an_exception_return_keeps_spsr_ss_only_where_stepping_is_active() {
    let mut sys = unlocked();
    let ss = 1 << 21;
    assert_eq!(return_ss(&sys, ss, 0), 0, "MDSCR.SS clear");
    sys.mdscr |= mdscr::SS;
    assert_eq!(return_ss(&sys, ss, 0), 1);
    assert_eq!(return_ss(&sys, 0, 0), 0);
    assert_eq!(return_ss(&sys, ss | DAIF_D as u64, 1), 0, "D masks at EL1");
    assert_eq!(return_ss(&sys, ss, 1), 1);
    sys.mdscr &= !mdscr::KDE;
    assert_eq!(return_ss(&sys, ss, 1), 0, "KDE clear");
}
