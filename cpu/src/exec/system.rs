//! Exception generation, hints, PSTATE writes, system instructions (AT, DC, IC,
//! TLBI) and system register moves (ARM ARM C4.1.87, C5, D19).

use super::{ExecResult, Flow};
use crate::cpu::{Cpu, Exit, Platform};
use crate::decode::{Insn, Op};
use crate::exception::{Exception, Fault, FaultKind};
use crate::pmu;
use crate::selfdebug::{self, mdscr};
use crate::state::{fpcr, DAIF_A, DAIF_D, DAIF_F, DAIF_I};
use crate::sysreg::{self as sr, id, key, sctlr};

/// The immediate of `HLT` that requests a semihosting call (A64).
pub const SEMIHOSTING_HLT: u16 = 0xf000;

/// Leaves the instruction and returns `exit` to the board.
fn exit_after(cpu: &mut Cpu, exit: Exit) -> ExecResult {
    cpu.regs.pc = cpu.regs.pc.wrapping_add(4);
    Ok(Flow::Exit(exit))
}

/// SVC, HVC, SMC, BRK, HLT.
pub fn exception_generating(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let imm = i.bits(20, 5) as u16;
    match i.op {
        Op::Svc => Err(Exception::Svc(imm)),
        Op::Brk => Err(Exception::Brk(imm)),
        // Without EL2/EL3 these are UNDEFINED, except that the board's firmware (PSCI)
        // answers them; it raises UNDEFINED itself for calls it does not serve.
        Op::Hvc if cpu.regs.el > 0 => exit_after(cpu, Exit::Hvc(imm)),
        Op::Smc if cpu.regs.el > 0 => exit_after(cpu, Exit::Smc(imm)),
        Op::Hlt if cpu.semihosting && imm == SEMIHOSTING_HLT => exit_after(cpu, Exit::Semihosting),
        _ => Err(Exception::Undefined),
    }
}

/// The syndrome of a trapped MSR/MRS/SYS (EC 0x18).
fn trap_iss(i: Insn, read: bool) -> u32 {
    let w = i.word;
    let f = |hi: u32, lo: u32| (w >> lo) & ((1 << (hi - lo + 1)) - 1);
    let op0 = f(20, 19);
    (op0 << 20)
        | (f(7, 5) << 17)
        | (f(18, 16) << 14)
        | (f(15, 12) << 10)
        | (f(4, 0) << 5)
        | (f(11, 8) << 1)
        | read as u32
}

fn trap(i: Insn, read: bool) -> Exception {
    Exception::SysRegTrap {
        iss: trap_iss(i, read),
    }
}

/// MSR (immediate): SPSel, DAIFSet, DAIFClr.
pub fn msr_imm(cpu: &mut Cpu, i: Insn) -> ExecResult {
    let imm = i.bits(11, 8);
    match (i.bits(18, 16), i.bits(7, 5)) {
        (0b000, 0b101) => {
            if cpu.regs.el == 0 {
                return Err(Exception::Undefined);
            }
            cpu.regs.sp_sel = (imm & 1) as u8;
        }
        (0b011, op2 @ (0b110 | 0b111)) => {
            if cpu.regs.el == 0 && cpu.sys.sctlr & sctlr::UMA == 0 {
                return Err(trap(i, false));
            }
            let bits = imm << 6;
            if op2 == 0b110 {
                cpu.regs.daif |= bits;
            } else {
                cpu.regs.daif &= !bits;
            }
        }
        // FEAT_PAN, FEAT_UAO, FEAT_SSBS, FEAT_DIT, FEAT_MTE fields are not implemented.
        _ => return Err(Exception::Undefined),
    }
    Ok(Flow::Next)
}

/// HINT space: NOP, YIELD, WFE, WFI, SEV, SEVL; other hints execute as NOP.
pub fn hint(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    match i.bits(11, 5) {
        2 => {
            // A set event register is consumed before the trap check (WFE pseudocode).
            if std::mem::take(&mut cpu.event_register) {
                return Ok(Flow::Next);
            }
            if cpu.regs.el == 0 && cpu.sys.sctlr & sctlr::NTWE == 0 {
                return Err(Exception::WfxTrap { wfe: true });
            }
            exit_after(cpu, Exit::Wfe)
        }
        3 => {
            if cpu.regs.el == 0 && cpu.sys.sctlr & sctlr::NTWI == 0 {
                return Err(Exception::WfxTrap { wfe: false });
            }
            // A pending interrupt wakes WFI even when PSTATE masks it.
            cpu.refresh_interrupt_lines(plat);
            if cpu.irq_line || cpu.fiq_line {
                Ok(Flow::Next)
            } else {
                exit_after(cpu, Exit::Wfi)
            }
        }
        4 | 5 => {
            cpu.event_register = true;
            Ok(Flow::Next)
        }
        _ => Ok(Flow::Next),
    }
}

/// SYS and SYSL: AT, DC, IC and TLBI. Anything else is UNDEFINED.
pub fn sys(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    if i.op == Op::Sysl {
        return Err(Exception::Undefined);
    }
    let (op1, crn, crm, op2) = (i.bits(18, 16), i.bits(15, 12), i.bits(11, 8), i.bits(7, 5));
    let el0 = cpu.regs.el == 0;
    let xt = cpu.regs.xr(i.rt());
    match (op1, crn, crm, op2) {
        // AT S1E1R, S1E1W, S1E0R, S1E0W
        (0, 7, 8, 0..=3) if !el0 => {
            at(cpu, plat, xt, op2 & 1 == 1, op2 >= 2);
            Ok(Flow::Next)
        }
        // DC IVAC: needs write permission.
        (0, 7, 6, 1) if !el0 => dc_by_va(cpu, plat, xt, true),
        // DC ISW, CSW, CISW: set/way operations have nothing to do.
        (0, 7, 6, 2) | (0, 7, 10, 2) | (0, 7, 14, 2) if !el0 => Ok(Flow::Next),
        // DC ZVA
        (3, 7, 4, 1) => {
            if el0 && cpu.sys.sctlr & sctlr::DZE == 0 {
                return Err(trap(i, false));
            }
            dc_zva(cpu, plat, xt)
        }
        // DC CVAC, CVAU, CIVAC
        (3, 7, 10, 1) | (3, 7, 11, 1) | (3, 7, 14, 1) => {
            if el0 && cpu.sys.sctlr & sctlr::UCI == 0 {
                return Err(trap(i, false));
            }
            dc_by_va(cpu, plat, xt, false)
        }
        // IC IALLUIS, IALLU: instruction fetch is kept coherent with writes already.
        (0, 7, 1, 0) | (0, 7, 5, 0) if !el0 => Ok(Flow::Next),
        // IC IVAU
        (3, 7, 5, 1) => {
            if el0 && cpu.sys.sctlr & sctlr::UCI == 0 {
                return Err(trap(i, false));
            }
            Ok(Flow::Next)
        }
        // TLBI VMALLE1(IS), VAE1(IS), ASIDE1(IS), VAAE1(IS), VALE1(IS), VAALE1(IS);
        // the Inner Shareable forms (CRm 3) reach every vCPU.
        (0, 8, 3 | 7, 0 | 1 | 2 | 3 | 5 | 7) if !el0 => {
            let va = sign_extend_va(xt << 12);
            match (crm == 3, op2) {
                (false, 1 | 3 | 5 | 7) => cpu.flush_tlb_va(va),
                (false, _) => cpu.flush_tlb(),
                (true, 1 | 3 | 5 | 7) => cpu.flush_tlb_va_broadcast(va),
                (true, _) => cpu.flush_tlb_broadcast(),
            }
            Ok(Flow::Next)
        }
        _ => Err(Exception::Undefined),
    }
}

/// The VA from a TLBI operand: bits 55:12 of the address, sign-extended from bit 55.
fn sign_extend_va(va: u64) -> u64 {
    (((va << 8) as i64) >> 8) as u64
}

/// AT: translates and writes PAR_EL1 (ARM ARM D19.2 PAR_EL1).
fn at(cpu: &mut Cpu, plat: &mut dyn Platform, va: u64, write: bool, user: bool) {
    let regime = cpu.regime();
    cpu.sys.par = match regime.walk(plat, va, true, None) {
        Ok(t) => {
            let perms = if user { t.el0 } else { t.el1 };
            if (write && !perms.write) || (!write && !perms.read) {
                at_fault(FaultKind::Permission(t.level))
            } else {
                let attr = if regime.mmu_enabled() {
                    t.attr as u64
                } else {
                    0
                };
                (attr << 56)
                    | (t.pa & 0x0000_ffff_ffff_f000)
                    | (par_shareability(&t, attr) << 7)
                    | (1 << 11)
            }
        }
        Err(kind) => at_fault(kind),
    };
}

/// PAR_EL1.SH: Device and Normal Non-cacheable memory report Outer Shareable.
fn par_shareability(t: &crate::mmu::Translation, attr: u64) -> u64 {
    if t.device || attr == 0x44 {
        0b10
    } else {
        t.sh as u64
    }
}

fn at_fault(kind: FaultKind) -> u64 {
    let ptw = matches!(kind, FaultKind::ExternalOnWalk(_)) as u64;
    1 | ((kind.status_code() as u64) << 1) | (ptw << 8) | (1 << 11)
}

/// DC by VA: no data to move, but translation and permission faults are reported.
fn dc_by_va(cpu: &mut Cpu, plat: &mut dyn Platform, va: u64, write: bool) -> ExecResult {
    let user = cpu.regs.el == 0;
    match cpu.translate_data(plat, va, write, user) {
        Ok(_) => Ok(Flow::Next),
        Err(kind) => Err(Exception::DataAbort {
            fault: Fault {
                kind,
                va,
                write: true,
                cache_maintenance: true,
            },
            iss_valid: 0,
        }),
    }
}

/// DC ZVA: zeroes the 64-byte block holding `va`.
fn dc_zva(cpu: &mut Cpu, plat: &mut dyn Platform, va: u64) -> ExecResult {
    cpu.zero_block(plat, va, id::DCZ_BLOCK_BYTES)?;
    Ok(Flow::Next)
}

/// Generic timer registers whose writes change the timer outputs.
const TIMER_REGISTERS: [u32; 6] = [
    sr::CNTP_CTL_EL0,
    sr::CNTP_CVAL_EL0,
    sr::CNTP_TVAL_EL0,
    sr::CNTV_CTL_EL0,
    sr::CNTV_CVAL_EL0,
    sr::CNTV_TVAL_EL0,
];

/// MSR (register) and MRS.
pub fn msr_mrs(cpu: &mut Cpu, plat: &mut dyn Platform, i: Insn) -> ExecResult {
    let k = i.bits(20, 5);
    let read = i.op == Op::Mrs;
    if read {
        let v = read_sysreg(cpu, plat, k, i)?;
        cpu.regs.set_xr(i.rt(), v);
        if TIMER_REGISTERS.contains(&k) || k == sr::CNTVCT_EL0 || k == sr::CNTPCT_EL0 {
            // The guest sees the time: a timer that has fired by now must
            // interrupt it before it can act on what it read.
            cpu.sync_timer_lines(plat);
        }
        Ok(Flow::Next)
    } else {
        let v = cpu.regs.xr(i.rt());
        write_sysreg(cpu, plat, k, v, i)?;
        if TIMER_REGISTERS.contains(&k) {
            // The timer outputs may have changed: the board must see it before the
            // guest's next instruction (an IRQ handler lowers the line this way).
            let levels = cpu.timer_levels(plat.counter());
            cpu.set_timer_outputs(plat, levels);
        }
        Ok(Flow::Next)
    }
}

/// Checks CPACR_EL1.FPEN for an access to SIMD&FP state.
pub fn check_fp_enabled(cpu: &Cpu) -> Result<(), Exception> {
    match (cpu.sys.cpacr >> 20) & 3 {
        0b11 => Ok(()),
        0b01 if cpu.regs.el == 1 => Ok(()),
        _ => Err(Exception::FpAccess),
    }
}

/// EL0 access rules for the registers EL0 may reach at all; everything else is
/// UNDEFINED at EL0.
fn check_el0(cpu: &Cpu, k: u32, i: Insn, read: bool) -> Result<(), Exception> {
    let kctl = cpu.sys.cntkctl;
    let allowed = |cond: bool| if cond { Ok(()) } else { Err(trap(i, read)) };
    match k {
        sr::NZCV | sr::TPIDR_EL0 => Ok(()),
        sr::DCZID_EL0 if read => Ok(()),
        sr::TPIDRRO_EL0 if read => Ok(()),
        sr::FPCR | sr::FPSR => Ok(()),
        sr::DAIF => allowed(cpu.sys.sctlr & sctlr::UMA != 0),
        sr::CTR_EL0 if read => allowed(cpu.sys.sctlr & sctlr::UCT != 0),
        sr::CNTFRQ_EL0 if read => allowed(kctl & 3 != 0),
        sr::CNTPCT_EL0 if read => allowed(kctl & 1 != 0),
        sr::CNTVCT_EL0 if read => allowed(kctl & 2 != 0),
        sr::CNTP_CTL_EL0 | sr::CNTP_CVAL_EL0 | sr::CNTP_TVAL_EL0 => allowed(kctl & (1 << 9) != 0),
        sr::CNTV_CTL_EL0 | sr::CNTV_CVAL_EL0 | sr::CNTV_TVAL_EL0 => allowed(kctl & (1 << 8) != 0),
        // The debug communication channel, unless MDSCR_EL1.TDCC traps it.
        sr::MDCCSR_EL0 if read => allowed(cpu.sys.mdscr & mdscr::TDCC == 0),
        sr::DBGDTR_EL0 | sr::DBGDTRRX_EL0 => allowed(cpu.sys.mdscr & mdscr::TDCC == 0),
        _ => Err(Exception::Undefined),
    }
}

/// Debug breakpoint/watchpoint registers: `(op2, index)` for DBGB/WVR/CR<n>_EL1
/// (op2 4, 5, 6, 7); the registers of breakpoints and watchpoints beyond
/// those implemented are UNDEFINED.
fn debug_reg(k: u32) -> Option<(u32, usize)> {
    let (op0, op1, crn, crm, op2) = sr::fields(k);
    let count = match op2 {
        4 | 5 => sr::BREAKPOINTS,
        6 | 7 => sr::WATCHPOINTS,
        _ => 0,
    };
    (op0 == 2 && op1 == 0 && crn == 0 && (crm as usize) < count).then_some((op2, crm as usize))
}

fn timer_ctl(ctl: u64, cval: u64, now: u64) -> u64 {
    let istatus = (ctl & 1 == 1 && now >= cval) as u64;
    (ctl & 3) | (istatus << 2)
}

/// The PMU register with key `k`, after the access checks of EL0
/// (PMUSERENR_EL0).
fn pmu_register(cpu: &Cpu, k: u32, i: Insn, read: bool) -> Result<Option<pmu::Reg>, Exception> {
    let (op0, op1, crn, crm, op2) = sr::fields(k);
    let Some(r) = pmu::Reg::decode(op0, op1, crn, crm, op2) else {
        return Ok(None);
    };
    if cpu.regs.el == 0 {
        match r.el0_access(cpu.pmu.user_enable(), read) {
            Ok(()) => {}
            Err(true) => return Err(trap(i, read)),
            Err(false) => return Err(Exception::Undefined),
        }
    }
    Ok(Some(r))
}

fn read_sysreg(cpu: &mut Cpu, plat: &mut dyn Platform, k: u32, i: Insn) -> Result<u64, Exception> {
    if let Some(r) = pmu_register(cpu, k, i, true)? {
        cpu.fold_pmu_instructions();
        return Ok(cpu.pmu.read(r));
    }
    if cpu.regs.el == 0 {
        check_el0(cpu, k, i, true)?;
    }
    let s = &cpu.sys;
    let v = match k {
        sr::MIDR_EL1 => cpu.id.midr,
        sr::MPIDR_EL1 => cpu.mpidr(),
        sr::REVIDR_EL1 => cpu.id.revidr,
        sr::AIDR_EL1 => 0,
        sr::ID_AA64PFR0_EL1 => cpu.id.aa64pfr0 | cpu.pfr0_extra,
        sr::ID_AA64DFR0_EL1 => cpu.id.aa64dfr0,
        sr::ID_AA64ISAR0_EL1 => cpu.id.aa64isar0,
        sr::ID_AA64MMFR0_EL1 => cpu.id.aa64mmfr0,
        // The rest of the ID register space (op0=3, op1=0, CRn=0, CRm=1..7) reads
        // as zero: features not implemented, AArch32 not implemented.
        _ if k & !0x3f == key(3, 0, 0, 0, 0) && (k >> 3) & 0xf != 0 => 0,
        sr::CTR_EL0 => cpu.id.ctr,
        sr::DCZID_EL0 => {
            let prohibited = cpu.regs.el == 0 && s.sctlr & sctlr::DZE == 0;
            id::DCZID_BLOCK_LOG2_WORDS | ((prohibited as u64) << 4)
        }
        sr::CLIDR_EL1 => cpu.id.clidr,
        sr::CCSIDR_EL1 => cpu.id.ccsidr[(s.csselr & 0xf) as usize],
        sr::CSSELR_EL1 => s.csselr,
        sr::SCTLR_EL1 => s.sctlr,
        sr::ACTLR_EL1 => s.actlr,
        sr::CPACR_EL1 => s.cpacr,
        sr::TTBR0_EL1 => s.ttbr0,
        sr::TTBR1_EL1 => s.ttbr1,
        sr::TCR_EL1 => s.tcr,
        sr::MAIR_EL1 => s.mair,
        sr::AMAIR_EL1 => s.amair,
        sr::CONTEXTIDR_EL1 => s.contextidr,
        sr::SPSR_EL1 => s.spsr,
        sr::ELR_EL1 => s.elr,
        sr::SP_EL0 => {
            if cpu.regs.sp_sel == 0 {
                return Err(Exception::Undefined);
            }
            cpu.regs.sp_el[0]
        }
        sr::SPSEL => cpu.regs.sp_sel as u64,
        sr::CURRENTEL => (cpu.regs.el as u64) << 2,
        sr::AFSR0_EL1 => s.afsr0,
        sr::AFSR1_EL1 => s.afsr1,
        sr::ESR_EL1 => s.esr,
        sr::FAR_EL1 => s.far,
        sr::PAR_EL1 => s.par,
        sr::VBAR_EL1 => s.vbar,
        sr::ISR_EL1 => ((cpu.irq_line as u64) << 7) | ((cpu.fiq_line as u64) << 6),
        sr::NZCV => cpu.regs.nzcv as u64,
        sr::DAIF => cpu.regs.daif as u64,
        sr::FPCR => {
            check_fp_enabled(cpu)?;
            cpu.regs.fpcr as u64
        }
        sr::FPSR => {
            check_fp_enabled(cpu)?;
            cpu.regs.fpsr as u64
        }
        sr::TPIDR_EL1 => s.tpidr_el1,
        sr::TPIDR_EL0 => s.tpidr_el0,
        sr::TPIDRRO_EL0 => s.tpidrro_el0,
        sr::CNTKCTL_EL1 => s.cntkctl,
        sr::CNTFRQ_EL0 => plat.counter_frequency(),
        sr::CNTPCT_EL0 | sr::CNTVCT_EL0 => plat.counter(),
        sr::CNTP_CTL_EL0 => timer_ctl(s.cntp_ctl, s.cntp_cval, plat.counter()),
        sr::CNTV_CTL_EL0 => timer_ctl(s.cntv_ctl, s.cntv_cval, plat.counter()),
        sr::CNTP_CVAL_EL0 => s.cntp_cval,
        sr::CNTV_CVAL_EL0 => s.cntv_cval,
        // TimerValue is bits 31:0 (signed); bits 63:32 are RES0.
        sr::CNTP_TVAL_EL0 => s.cntp_cval.wrapping_sub(plat.counter()) as u32 as u64,
        sr::CNTV_TVAL_EL0 => s.cntv_cval.wrapping_sub(plat.counter()) as u32 as u64,
        sr::MDSCR_EL1 => s.mdscr,
        sr::MDCCINT_EL1 => s.mdccint,
        sr::OSLSR_EL1 => s.oslsr,
        sr::OSDLR_EL1 => s.osdlr,
        sr::MDCCSR_EL0 => 0,
        // No external debugger: the data transfer registers read as zero.
        sr::DBGDTR_EL0 | sr::DBGDTRRX_EL0 => 0,
        sr::MDRAR_EL1 => 0,
        sr::DBGPRCR_EL1 => s.dbgprcr,
        sr::DBGCLAIMSET_EL1 => 0xff,
        sr::DBGCLAIMCLR_EL1 => s.dbgclaim,
        // Non-secure invasive and non-invasive debug implemented and enabled;
        // no Secure state.
        sr::DBGAUTHSTATUS_EL1 => 0b1111,
        _ => match debug_reg(k) {
            Some((4, n)) => s.dbgbvr[n],
            Some((5, n)) => s.dbgbcr[n],
            Some((6, n)) => s.dbgwvr[n],
            Some((_, n)) => s.dbgwcr[n],
            None => plat
                .device_sysreg_read(cpu.index, k)
                .ok_or(Exception::Undefined)?,
        },
    };
    Ok(v)
}

fn write_sysreg(
    cpu: &mut Cpu,
    plat: &mut dyn Platform,
    k: u32,
    v: u64,
    i: Insn,
) -> Result<(), Exception> {
    if let Some(r) = pmu_register(cpu, k, i, false)? {
        cpu.fold_pmu_instructions();
        let el = cpu.regs.el;
        cpu.pmu.write(r, v, el);
        cpu.pmu_configured(plat);
        return Ok(());
    }
    if cpu.regs.el == 0 {
        check_el0(cpu, k, i, false)?;
    }
    let s = &mut cpu.sys;
    match k {
        sr::SCTLR_EL1 => {
            s.sctlr = (v & 0x0000_0000_f7ff_ffff) | sctlr::RES1;
            cpu.flush_tlb();
        }
        sr::ACTLR_EL1 => {}
        sr::CPACR_EL1 => s.cpacr = v & (3 << 20),
        sr::TTBR0_EL1 => {
            let old = std::mem::replace(&mut s.ttbr0, v);
            cpu.ttbr_changed(false, old, v);
        }
        sr::TTBR1_EL1 => {
            let old = std::mem::replace(&mut s.ttbr1, v);
            cpu.ttbr_changed(true, old, v);
        }
        sr::TCR_EL1 => {
            s.tcr = v & 0x0000_007f_ffff_ffbf;
            cpu.flush_tlb();
        }
        sr::MAIR_EL1 => {
            s.mair = v;
            cpu.flush_tlb();
        }
        sr::AMAIR_EL1 => s.amair = v,
        sr::CONTEXTIDR_EL1 => s.contextidr = v & 0xffff_ffff,
        sr::CSSELR_EL1 => s.csselr = v & 0xf,
        sr::SPSR_EL1 => s.spsr = v & 0xf03f_03df,
        sr::ELR_EL1 => s.elr = v,
        sr::SP_EL0 => {
            if cpu.regs.sp_sel == 0 {
                return Err(Exception::Undefined);
            }
            cpu.regs.sp_el[0] = v;
        }
        sr::SPSEL => cpu.regs.sp_sel = (v & 1) as u8,
        sr::AFSR0_EL1 => s.afsr0 = v,
        sr::AFSR1_EL1 => s.afsr1 = v,
        sr::ESR_EL1 => s.esr = v & 0xffff_ffff,
        sr::FAR_EL1 => s.far = v,
        sr::PAR_EL1 => s.par = v,
        sr::VBAR_EL1 => s.vbar = v & !0x7ff,
        sr::NZCV => cpu.regs.nzcv = (v as u32) & 0xf000_0000,
        sr::DAIF => cpu.regs.daif = (v as u32) & (DAIF_D | DAIF_A | DAIF_I | DAIF_F),
        sr::FPCR => {
            check_fp_enabled(cpu)?;
            cpu.regs.fpcr = (v as u32) & fpcr::WRITABLE;
        }
        sr::FPSR => {
            check_fp_enabled(cpu)?;
            cpu.regs.fpsr = (v as u32) & 0xf800_009f;
        }
        sr::TPIDR_EL1 => s.tpidr_el1 = v,
        sr::TPIDR_EL0 => s.tpidr_el0 = v,
        sr::TPIDRRO_EL0 => s.tpidrro_el0 = v,
        sr::CNTKCTL_EL1 => s.cntkctl = v & 0x3ff,
        sr::CNTP_CTL_EL0 => s.cntp_ctl = v & 3,
        sr::CNTV_CTL_EL0 => s.cntv_ctl = v & 3,
        sr::CNTP_CVAL_EL0 => s.cntp_cval = v,
        sr::CNTV_CVAL_EL0 => s.cntv_cval = v,
        sr::CNTP_TVAL_EL0 => s.cntp_cval = plat.counter().wrapping_add(v as i32 as i64 as u64),
        sr::CNTV_TVAL_EL0 => s.cntv_cval = plat.counter().wrapping_add(v as i32 as i64 as u64),
        sr::MDSCR_EL1 => {
            s.mdscr = v & mdscr::WRITABLE;
            cpu.debug_registers_changed();
        }
        sr::MDCCINT_EL1 => s.mdccint = v & (1 << 29),
        sr::OSLAR_EL1 => {
            s.oslsr = (s.oslsr & !2) | ((v & 1) << 1);
            cpu.debug_registers_changed();
        }
        sr::OSDLR_EL1 => {
            s.osdlr = v & 1;
            cpu.debug_registers_changed();
        }
        sr::DBGPRCR_EL1 => {
            s.dbgprcr = v & 1;
            cpu.debug_registers_changed();
        }
        sr::DBGDTR_EL0 | sr::DBGDTRRX_EL0 => {}
        sr::DBGCLAIMSET_EL1 => s.dbgclaim |= v & 0xff,
        sr::DBGCLAIMCLR_EL1 => s.dbgclaim &= !(v & 0xff),
        _ => match debug_reg(k) {
            Some((op2, n)) => {
                match op2 {
                    4 => s.dbgbvr[n] = v & selfdebug::VR_WRITABLE,
                    5 => s.dbgbcr[n] = v & selfdebug::BCR_WRITABLE,
                    6 => s.dbgwvr[n] = v & selfdebug::VR_WRITABLE,
                    _ => s.dbgwcr[n] = v & selfdebug::WCR_WRITABLE,
                }
                cpu.debug_registers_changed();
            }
            None => {
                if !plat.device_sysreg_write(cpu.index, k, v) {
                    return Err(Exception::Undefined);
                }
            }
        },
    }
    Ok(())
}

// ---- Debugger access

/// What a debugger's register access may reach of the platform: the counter, but not
/// device registers (reading ICC_IAR1_EL1 would acknowledge an interrupt).
struct DebugPlatform<'a>(&'a mut dyn Platform);

impl crate::memory::PhysMemory for DebugPlatform<'_> {
    fn ram_page(&mut self, _pa: u64) -> Option<*mut u8> {
        None
    }
    fn mmio_read(&mut self, _: usize, pa: u64, _size: u8) -> Result<u64, crate::memory::BusError> {
        Err(crate::memory::BusError(pa))
    }
    fn mmio_write(
        &mut self,
        _: usize,
        pa: u64,
        _: u8,
        _: u64,
    ) -> Result<(), crate::memory::BusError> {
        Err(crate::memory::BusError(pa))
    }
}

impl Platform for DebugPlatform<'_> {
    fn counter(&mut self) -> u64 {
        self.0.counter()
    }
    fn counter_frequency(&self) -> u64 {
        self.0.counter_frequency()
    }
}

/// Runs `f` as if at EL1 with SIMD&FP enabled, so that no access rule traps, and
/// puts PSTATE.EL and CPACR_EL1 back unless `f` wrote CPACR_EL1 itself.
fn as_debugger<R>(cpu: &mut Cpu, k: u32, f: impl FnOnce(&mut Cpu) -> R) -> R {
    let (el, cpacr) = (cpu.regs.el, cpu.sys.cpacr);
    cpu.regs.el = 1;
    cpu.sys.cpacr |= 3 << 20;
    let r = f(cpu);
    cpu.regs.el = el;
    if k != sr::CPACR_EL1 {
        cpu.sys.cpacr = cpacr;
    }
    r
}

/// A system register as a debugger sees it: as MRS at EL1 would read it, without
/// access traps and without side effects; SP_EL0 is readable whatever PSTATE.SP
/// says. Registers of devices (the GICv3 CPU interface) are not reached. `None`
/// if armvm does not implement the register.
pub fn debug_read_sysreg(cpu: &mut Cpu, plat: &mut dyn Platform, k: u32) -> Option<u64> {
    if k == sr::SP_EL0 {
        return Some(cpu.regs.sp_el[0]);
    }
    let insn = crate::decode::decode(0xd530_0000 | (k << 5));
    let mut p = DebugPlatform(plat);
    as_debugger(cpu, k, |cpu| read_sysreg(cpu, &mut p, k, insn).ok())
}

/// Writes a system register for a debugger, as MSR at EL1 would (with the same
/// masking of reserved bits and TLB maintenance); false if armvm does not
/// implement it or it is read-only.
pub fn debug_write_sysreg(cpu: &mut Cpu, plat: &mut dyn Platform, k: u32, v: u64) -> bool {
    if k == sr::SP_EL0 {
        cpu.regs.sp_el[0] = v;
        return true;
    }
    let insn = crate::decode::decode(0xd510_0000 | (k << 5));
    let mut p = DebugPlatform(plat);
    as_debugger(cpu, k, |cpu| write_sysreg(cpu, &mut p, k, v, insn).is_ok())
}
