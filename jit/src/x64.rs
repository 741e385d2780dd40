//! The x86-64 backend: register allocation and one emit function per IR
//! operation.
//!
//! Generated code follows the System V ABI. Pinned registers: `rbx` points
//! at the guest registers ([`Regs`]), `r12` at the [`NativeContext`], `r13`
//! at the TLB entries, `r14` holds the PC of the block's first instruction.
//! IR values live in the eight registers of [`VALUE_REGISTERS`]; `rax`, `rcx`
//! and `rdx` are scratch within one operation. Paths that leave the block
//! early (to let the interpreter run an instruction) are emitted after the
//! main path, so that the main path is straight code.

mod float;
mod vector;

use crate::ir::{BinOp, Block, FlagOp, Loc, Op, Terminal, Value, Width};
use armvm_cpu::exec::prepared::Step;
use armvm_cpu::mmu::{TlbDetail, TlbEntry, TLB_SIZE};
use armvm_cpu::native::{packed, ChainSlot, NativeContext};
use armvm_cpu::state::Regs;
use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};
use std::mem::offset_of;

const RBP: u8 = 5;
const RSI: u8 = 6;
const RDI: u8 = 7;

/// Host registers that hold IR values.
const VALUE_REGISTERS: [u8; 8] = [RSI, RDI, 8, 9, 10, 11, 15, RBP];

const X: i32 = offset_of!(Regs, x) as i32;
const SP_EL: i32 = offset_of!(Regs, sp_el) as i32;
const PC: i32 = offset_of!(Regs, pc) as i32;
const NZCV: i32 = offset_of!(Regs, nzcv) as i32;
const EL: i32 = offset_of!(Regs, el) as i32;
const SP_SEL: i32 = offset_of!(Regs, sp_sel) as i32;

/// What the backend needs from outside: where the interpreter's entry is.
pub struct Environment {
    /// `extern "C" fn(*mut NativeContext, *const Prepared) -> u64`: runs one
    /// prepared instruction, returns its [`Step`].
    pub interpret: usize,
    /// The address of the prepared form of instruction `i` is
    /// `prepared + i * prepared_size`.
    pub prepared: usize,
    pub prepared_size: usize,
    /// The physical page the block was decoded from.
    pub pa_page: u64,
}

/// N, Z and C in NZCV format for each value of AH after LAHF (SF bit 7, ZF
/// bit 6, CF bit 0), for additions (C = CF) and subtractions (C = !CF).
static NZC_FROM_AH: [[u32; 256]; 2] = {
    let mut table = [[0u32; 256]; 2];
    let mut ah = 0;
    while ah < 256 {
        let nz = (((ah >> 7) & 1) << 31) | (((ah >> 6) & 1) << 30);
        let cf = (ah & 1) as u32;
        table[0][ah] = nz as u32 | (cf << 29);
        table[1][ah] = nz as u32 | ((cf ^ 1) << 29);
        ah += 1;
    }
    table
};

/// For each condition, the set of NZCV values (bit `nzcv >> 28`) where it holds.
fn condition_mask(cond: u8) -> u32 {
    (0..16u32)
        .filter(|&flags| armvm_cpu::state::condition_holds(flags << 28, cond as u32))
        .fold(0, |mask, flags| mask | (1 << flags))
}

fn fits_i32(v: u64) -> bool {
    v as i64 == v as i32 as i64
}

/// The register of each value (None: no register needed), or None if the
/// block needs more registers than there are.
fn allocate(block: &Block, immediate: &[bool]) -> Option<Vec<Option<u8>>> {
    let n = block.ops.len();
    let mut last_use = vec![None::<usize>; n];
    for (i, op) in block.ops.iter().enumerate() {
        for v in op.operands() {
            last_use[v.0 as usize] = Some(i);
        }
    }
    for v in block.terminal.operands() {
        last_use[v.0 as usize] = Some(n);
    }
    let mut free: Vec<u8> = VALUE_REGISTERS.iter().rev().copied().collect();
    let mut reg = vec![None; n];
    for (i, op) in block.ops.iter().enumerate() {
        let dying: Vec<Value> = op
            .operands()
            .into_iter()
            .filter(|v| last_use[v.0 as usize] == Some(i))
            .collect();
        let mut reused = None;
        if op.has_result() && !immediate[i] {
            // Two-address operations write over their first operand if it dies.
            let first = match *op {
                Op::Binary(_, _, a, _) | Op::FlagSetting(_, _, a, _) => Some(a),
                _ => None,
            };
            reg[i] = match first {
                Some(a) if dying.contains(&a) && reg[a.0 as usize].is_some() => {
                    reused = Some(a);
                    reg[a.0 as usize]
                }
                _ => Some(free.pop()?),
            };
        }
        let mut released = Vec::new();
        for v in dying {
            if Some(v) != reused {
                if let Some(r) = reg[v.0 as usize] {
                    if !released.contains(&r) && Some(r) != reg[i] {
                        released.push(r);
                    }
                }
            }
        }
        free.extend(released);
        if last_use[i].is_none() {
            if let Some(r) = reg[i] {
                free.push(r);
            }
        }
    }
    Some(reg)
}

/// Which values are constants used only where an instruction takes an
/// immediate, so that they need no register.
fn immediates(block: &Block) -> Vec<bool> {
    let n = block.ops.len();
    let mut only_immediate: Vec<bool> = block
        .ops
        .iter()
        .map(|op| matches!(op, Op::Const(c) if fits_i32(*c)))
        .collect();
    let mut needs_register = |v: Value, ok: bool| {
        if !ok {
            only_immediate[v.0 as usize] = false;
        }
    };
    for op in &block.ops {
        match *op {
            Op::Binary(_, _, a, b) | Op::FlagSetting(_, _, a, b) => {
                needs_register(a, false);
                needs_register(b, true);
            }
            Op::Set(_, v) => needs_register(v, true),
            _ => {
                for v in op.operands() {
                    needs_register(v, false);
                }
            }
        }
    }
    for v in block.terminal.operands() {
        needs_register(v, false);
    }
    only_immediate.truncate(n);
    only_immediate
}

/// An operand: a register or an immediate.
#[derive(Clone, Copy)]
enum Operand {
    Reg(u8),
    Imm(i32),
}

struct Emitter<'a> {
    ops: VecAssembler<X64Relocation>,
    block: &'a Block,
    reg: Vec<Option<u8>>,
    env: &'a Environment,
    epilogue: DynamicLabel,
    /// Per instruction: the label of its "interpret and leave" path, if used.
    bail: Vec<Option<DynamicLabel>>,
    /// The chainable exits: (label of the slot's target word, label of the
    /// exit's return to the run loop).
    slots: Vec<(DynamicLabel, DynamicLabel)>,
    /// The labels of each slot's two words.
    slot_words: Vec<(DynamicLabel, DynamicLabel)>,
}

/// Host code for a block, with what must be filled in once it is in place.
pub struct Emitted {
    pub code: Vec<u8>,
    /// Offset of the chain entry (see [`armvm_cpu::native::NativeCode`]).
    pub chain_entry: usize,
    /// The exits' [`ChainSlot`]s: (offset of the slot, offset of the exit's
    /// return to the run loop, its initial target).
    pub slots: Vec<(usize, usize)>,
}

/// Emits host code for `block`; None if it needs more registers than there
/// are (or an assembler error, which would be a bug).
pub fn emit(block: &Block, env: &Environment) -> Option<Emitted> {
    let immediate = immediates(block);
    let reg = allocate(block, &immediate)?;
    let mut ops = VecAssembler::<X64Relocation>::new(0);
    let epilogue = ops.new_dynamic_label();
    let chain_entry = ops.new_dynamic_label();
    let mut e = Emitter {
        ops,
        block,
        reg,
        env,
        epilogue,
        bail: vec![None; block.insns as usize],
        slots: Vec::new(),
        slot_words: Vec::new(),
    };
    e.prologue(chain_entry);
    for i in 0..block.ops.len() {
        e.op(i);
    }
    e.terminal();
    e.cold_paths();
    let slots = e.emit_slots();
    let labels = e.ops.labels();
    let offset = |l: DynamicLabel| labels.resolve_dynamic(l).ok().map(|o| o.0);
    let chain_entry = offset(chain_entry)?;
    let slots = slots
        .into_iter()
        .map(|(slot, exit)| Some((offset(slot)?, offset(exit)?)))
        .collect::<Option<Vec<_>>>()?;
    let code = e.ops.finalize().ok()?;
    Some(Emitted {
        code,
        chain_entry,
        slots,
    })
}

impl Emitter<'_> {
    fn r(&self, v: Value) -> u8 {
        self.reg[v.0 as usize].expect("value without a register")
    }

    fn operand(&self, v: Value) -> Operand {
        match (self.reg[v.0 as usize], self.block.ops[v.0 as usize]) {
            (Some(r), _) => Operand::Reg(r),
            (None, Op::Const(c)) => Operand::Imm(c as i32),
            _ => panic!("v{} has neither register nor immediate", v.0),
        }
    }

    /// The entry from the run loop, then the chain entry from the block
    /// before (in the same frame), which first checks that this block may
    /// run: it fits in the budget, no interrupt line may have changed, and the
    /// TLB maps its PC, executable, to the physical page it was decoded from
    /// (the translations may have changed since the link was made).
    fn prologue(&mut self, chain_entry: DynamicLabel) {
        let body = self.ops.new_dynamic_label();
        let refuse = self.ops.new_dynamic_label();
        let epilogue = self.epilogue;
        let len = self.block.insns as i32;
        dynasm!(self.ops
            ; .arch x64
            ; push rbx
            ; push rbp
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; sub rsp, 8
            ; mov r12, rdi
            ; mov rbx, [rdi + NativeContext::REGS as i32]
            ; mov r13, [rdi + NativeContext::TLB as i32]
            ; mov r14, [rbx + PC]
            ; jmp =>body
            ; =>chain_entry
            ; mov rax, [r12 + NativeContext::RETIRED as i32]
            ; add rax, len
            ; cmp rax, [r12 + NativeContext::BUDGET as i32]
            ; ja =>refuse
            ; mov rax, [r12 + NativeContext::INTERRUPTS as i32]
            ; cmp BYTE [rax], 0
            ; jne =>refuse
            ; mov r14, [rbx + PC]
            ; mov rax, r14
            ; shr rax, 12
            ; and eax, (TLB_SIZE - 1) as i32
            ; shl eax, 5
            ; mov rcx, r14
            ; and rcx, !0xfff
            ; cmp rcx, [r13 + rax + TlbEntry::TAG_EXEC as i32]
            ; jne =>refuse
            ; mov rcx, [r12 + NativeContext::TLB_DETAILS as i32]
            ; mov rdx, QWORD self.env.pa_page as i64
            ; cmp rdx, [rcx + rax + TlbDetail::PA_PAGE as i32]
            ; jne =>refuse
            ; jmp =>body
            ; =>refuse
            // The block before set the PC and counted its instructions.
            ; mov eax, packed(0, Step::Jump) as i32
            ; jmp =>epilogue
            ; =>body
        );
    }

    /// Leaves for the instruction at the first PC plus `offset`: straight to
    /// its block if this exit was linked to it in the translations and code
    /// in force, else back to the run loop, asking it to link the exit.
    fn chained_exit(&mut self, offset: i64) {
        let slot = self.ops.new_dynamic_label();
        let slot_version = self.ops.new_dynamic_label();
        let exit = self.ops.new_dynamic_label();
        let epilogue = self.epilogue;
        let len = self.block.insns as i32;
        dynasm!(self.ops
            ; .arch x64
            ; lea rax, [r14 + offset as i32]
            ; mov [rbx + PC], rax
            ; add QWORD [r12 + NativeContext::RETIRED as i32], len
            ; mov rax, [r12 + NativeContext::CODE_VERSION as i32]
            ; mov rax, [rax]
            ; cmp rax, [=>slot_version]
            ; jne =>exit
            ; jmp QWORD [=>slot]
            ; =>exit
            ; lea rax, [=>slot]
            ; mov [r12 + NativeContext::EXIT_SLOT as i32], rax
            ; mov eax, packed(0, Step::Jump) as i32
            ; jmp =>epilogue
        );
        self.slots.push((slot, exit));
        self.slot_words.push((slot, slot_version));
    }

    /// The slots' words, after the code (filled in when installed).
    fn emit_slots(&mut self) -> Vec<(DynamicLabel, DynamicLabel)> {
        const _: () = assert!(ChainSlot::TARGET == 0 && ChainSlot::CODE_VERSION == 8);
        dynasm!(self.ops ; .arch x64 ; .align 8);
        for (target, version) in std::mem::take(&mut self.slot_words) {
            dynasm!(self.ops
                ; .arch x64
                ; =>target
                ; .u64 0
                ; =>version
                ; .u64 0
            );
        }
        std::mem::take(&mut self.slots)
    }

    /// Leaves with the packed outcome in `rax`.
    fn leave(&mut self) {
        let epilogue = self.epilogue;
        dynasm!(self.ops ; .arch x64 ; jmp =>epilogue);
    }

    fn load_imm(&mut self, r: u8, v: u64) {
        if v <= u32::MAX as u64 {
            dynasm!(self.ops ; .arch x64 ; mov Rd(r), v as i32);
        } else if fits_i32(v) {
            dynasm!(self.ops ; .arch x64 ; mov Rq(r), v as i32);
        } else {
            dynasm!(self.ops ; .arch x64 ; mov Rq(r), QWORD v as i64);
        }
    }

    /// `rax` = index of the stack pointer in use (EL & SPSel) — see `Regs::sp`.
    fn sp_index(&mut self) {
        dynasm!(self.ops
            ; .arch x64
            ; movzx eax, BYTE [rbx + EL]
            ; and al, BYTE [rbx + SP_SEL]
        );
    }

    fn op(&mut self, i: usize) {
        let op = self.block.ops[i];
        let d = self.reg[i];
        match op {
            Op::Const(c) => {
                if let Some(d) = d {
                    self.load_imm(d, c);
                }
            }
            Op::PcRelative(offset) => {
                let d = d.unwrap();
                if fits_i32(offset as u64) {
                    dynasm!(self.ops ; .arch x64 ; lea Rq(d), [r14 + offset as i32]);
                } else {
                    self.load_imm(d, offset as u64);
                    dynasm!(self.ops ; .arch x64 ; add Rq(d), r14);
                }
            }
            Op::Get(loc) => {
                let d = d.unwrap();
                match loc {
                    Loc::Gpr(n) => {
                        dynasm!(self.ops ; .arch x64 ; mov Rq(d), [rbx + X + 8 * n as i32])
                    }
                    Loc::Sp => {
                        self.sp_index();
                        dynasm!(self.ops ; .arch x64 ; mov Rq(d), [rbx + rax * 8 + SP_EL]);
                    }
                    Loc::Flags => dynasm!(self.ops ; .arch x64 ; mov Rd(d), [rbx + NZCV]),
                }
            }
            Op::Set(loc, v) => self.set(loc, v),
            Op::Binary(bop, w, a, b) => self.binary(d.unwrap(), bop, w, a, b),
            Op::FlagSetting(fop, w, a, b) => {
                let bop = match fop {
                    FlagOp::Add => BinOp::Add,
                    FlagOp::Sub => BinOp::Sub,
                    FlagOp::And => BinOp::And,
                };
                self.binary(d.unwrap(), bop, w, a, b);
                self.pack_flags(fop == FlagOp::Sub);
            }
            Op::SignExtend(bits, v) => {
                let (d, s) = (d.unwrap(), self.r(v));
                if bits == 32 {
                    dynasm!(self.ops ; .arch x64 ; movsxd Rq(d), Rd(s));
                } else {
                    self.mov(d, s);
                    if bits < 64 {
                        let k = 64 - bits as i8;
                        dynasm!(self.ops ; .arch x64 ; shl Rq(d), k ; sar Rq(d), k);
                    }
                }
            }
            Op::ZeroExtend(bits, v) => {
                let (d, s) = (d.unwrap(), self.r(v));
                if bits == 32 {
                    dynasm!(self.ops ; .arch x64 ; mov Rd(d), Rd(s));
                } else {
                    self.mov(d, s);
                    if bits < 64 {
                        let k = 64 - bits as i8;
                        dynasm!(self.ops ; .arch x64 ; shl Rq(d), k ; shr Rq(d), k);
                    }
                }
            }
            Op::Condition(cond) => {
                let d = d.unwrap();
                let mask = condition_mask(cond) as i32;
                dynasm!(self.ops
                    ; .arch x64
                    ; mov eax, [rbx + NZCV]
                    ; shr eax, 28
                    ; mov ecx, mask
                    ; bt ecx, eax
                    ; setc al
                    ; movzx Rd(d), al
                );
            }
            Op::IsZero(v) => {
                let (d, s) = (d.unwrap(), self.r(v));
                dynasm!(self.ops
                    ; .arch x64
                    ; xor eax, eax
                    ; test Rq(s), Rq(s)
                    ; setz al
                    ; mov Rq(d), rax
                );
            }
            Op::Select(c, a, b) => {
                let (d, c, a, b) = (d.unwrap(), self.r(c), self.r(a), self.r(b));
                dynasm!(self.ops
                    ; .arch x64
                    ; mov rax, Rq(b)
                    ; test Rq(c), Rq(c)
                    ; cmovnz rax, Rq(a)
                    ; mov Rq(d), rax
                );
            }
            Op::Access {
                address,
                size,
                align,
                write,
                insn,
            } => self.access(d, self.r(address), size, align, write, insn),
            Op::HostLoad {
                host,
                offset,
                size,
                signed,
            } => self.host_load(d.unwrap(), self.r(host), offset as i32, size, signed),
            Op::HostStore {
                host,
                offset,
                size,
                value,
            } => {
                let (h, v) = (self.r(host), self.r(value));
                let o = offset as i32;
                match size {
                    1 => dynasm!(self.ops ; .arch x64 ; mov rax, Rq(v) ; mov [Rq(h) + o], al),
                    2 => dynasm!(self.ops ; .arch x64 ; mov rax, Rq(v) ; mov [Rq(h) + o], ax),
                    4 => dynasm!(self.ops ; .arch x64 ; mov [Rq(h) + o], Rd(v)),
                    _ => dynasm!(self.ops ; .arch x64 ; mov [Rq(h) + o], Rq(v)),
                }
            }
            Op::Vector(v) => self.vector(v),
            Op::Float(f) => self.float(f),
            Op::GetVectorPart { reg, size, upper } => {
                self.get_vector_part(d.unwrap(), reg, size, upper)
            }
            Op::SetVectorPart {
                reg,
                size,
                upper,
                value,
            } => self.set_vector_part(reg, size, upper, self.r(value)),
            Op::VectorLoad {
                host,
                offset,
                size,
                reg,
            } => self.vector_load(self.r(host), offset as i32, size, reg),
            Op::VectorStore {
                host,
                offset,
                size,
                reg,
            } => self.vector_store(self.r(host), offset as i32, size, reg),
            Op::BailUnlessFpEnabled(insn) => self.bail_unless_fp_enabled(insn),
            Op::BailUnlessZero(v, insn) => {
                let s = self.r(v);
                let bail = self.bail_label(insn);
                dynasm!(self.ops ; .arch x64 ; test Rq(s), Rq(s) ; jnz =>bail);
            }
            Op::Interpret(insn) => {
                self.call_interpreter(insn);
                // Anything but Next leaves with this instruction's outcome.
                let next = self.ops.new_dynamic_label();
                let retired = (insn as i32 + 1) << 8;
                dynasm!(self.ops
                    ; .arch x64
                    ; test eax, eax
                    ; jz =>next
                    ; movzx eax, al
                    ; or eax, retired
                );
                self.leave();
                dynasm!(self.ops ; .arch x64 ; =>next);
            }
        }
    }

    fn mov(&mut self, d: u8, s: u8) {
        if d != s {
            dynasm!(self.ops ; .arch x64 ; mov Rq(d), Rq(s));
        }
    }

    fn set(&mut self, loc: Loc, v: Value) {
        let value = self.operand(v);
        match (loc, value) {
            (Loc::Gpr(n), Operand::Reg(s)) => {
                dynasm!(self.ops ; .arch x64 ; mov [rbx + X + 8 * n as i32], Rq(s))
            }
            (Loc::Gpr(n), Operand::Imm(c)) => {
                dynasm!(self.ops ; .arch x64 ; mov QWORD [rbx + X + 8 * n as i32], c)
            }
            (Loc::Sp, value) => {
                self.sp_index();
                match value {
                    Operand::Reg(s) => {
                        dynasm!(self.ops ; .arch x64 ; mov [rbx + rax * 8 + SP_EL], Rq(s))
                    }
                    Operand::Imm(c) => {
                        dynasm!(self.ops ; .arch x64 ; mov QWORD [rbx + rax * 8 + SP_EL], c)
                    }
                }
            }
            (Loc::Flags, Operand::Reg(s)) => {
                dynasm!(self.ops ; .arch x64 ; mov [rbx + NZCV], Rd(s))
            }
            (Loc::Flags, Operand::Imm(c)) => {
                dynasm!(self.ops ; .arch x64 ; mov DWORD [rbx + NZCV], c)
            }
        }
    }

    /// `d = a op b` at width `w` (32-bit results zero-extended).
    fn binary(&mut self, d: u8, op: BinOp, w: Width, a: Value, b: Value) {
        let a = self.r(a);
        let b = self.operand(b);
        // `d` is `a`'s register, or one that is neither `a`'s nor `b`'s.
        self.mov(d, a);
        let wide = w == Width::W64;
        match (op, b) {
            (BinOp::Shl | BinOp::Lshr | BinOp::Ashr | BinOp::Ror, Operand::Imm(c)) => {
                let k = (c & if wide { 63 } else { 31 }) as i8;
                match (op, wide) {
                    (BinOp::Shl, true) => dynasm!(self.ops ; .arch x64 ; shl Rq(d), k),
                    (BinOp::Shl, false) => dynasm!(self.ops ; .arch x64 ; shl Rd(d), k),
                    (BinOp::Lshr, true) => dynasm!(self.ops ; .arch x64 ; shr Rq(d), k),
                    (BinOp::Lshr, false) => dynasm!(self.ops ; .arch x64 ; shr Rd(d), k),
                    (BinOp::Ashr, true) => dynasm!(self.ops ; .arch x64 ; sar Rq(d), k),
                    (BinOp::Ashr, false) => dynasm!(self.ops ; .arch x64 ; sar Rd(d), k),
                    (_, true) => dynasm!(self.ops ; .arch x64 ; ror Rq(d), k),
                    (_, false) => dynasm!(self.ops ; .arch x64 ; ror Rd(d), k),
                }
                if !wide && k == 0 {
                    // A shift by 0 writes nothing: clear the upper half here.
                    dynasm!(self.ops ; .arch x64 ; mov Rd(d), Rd(d));
                }
            }
            (BinOp::Shl | BinOp::Lshr | BinOp::Ashr | BinOp::Ror, Operand::Reg(s)) => {
                dynasm!(self.ops ; .arch x64 ; mov rcx, Rq(s));
                match (op, wide) {
                    (BinOp::Shl, true) => dynasm!(self.ops ; .arch x64 ; shl Rq(d), cl),
                    (BinOp::Shl, false) => dynasm!(self.ops ; .arch x64 ; shl Rd(d), cl),
                    (BinOp::Lshr, true) => dynasm!(self.ops ; .arch x64 ; shr Rq(d), cl),
                    (BinOp::Lshr, false) => dynasm!(self.ops ; .arch x64 ; shr Rd(d), cl),
                    (BinOp::Ashr, true) => dynasm!(self.ops ; .arch x64 ; sar Rq(d), cl),
                    (BinOp::Ashr, false) => dynasm!(self.ops ; .arch x64 ; sar Rd(d), cl),
                    (_, true) => dynasm!(self.ops ; .arch x64 ; ror Rq(d), cl),
                    (_, false) => dynasm!(self.ops ; .arch x64 ; ror Rd(d), cl),
                }
                if !wide {
                    dynasm!(self.ops ; .arch x64 ; mov Rd(d), Rd(d));
                }
            }
            (BinOp::Mul, Operand::Imm(c)) if wide => {
                dynasm!(self.ops ; .arch x64 ; imul Rq(d), Rq(d), c)
            }
            (BinOp::Mul, Operand::Imm(c)) => dynasm!(self.ops ; .arch x64 ; imul Rd(d), Rd(d), c),
            (BinOp::Mul, Operand::Reg(s)) if wide => {
                dynasm!(self.ops ; .arch x64 ; imul Rq(d), Rq(s))
            }
            (BinOp::Mul, Operand::Reg(s)) => dynasm!(self.ops ; .arch x64 ; imul Rd(d), Rd(s)),
            (_, Operand::Imm(c)) => match (op, wide) {
                (BinOp::Add, true) => dynasm!(self.ops ; .arch x64 ; add Rq(d), c),
                (BinOp::Add, false) => dynasm!(self.ops ; .arch x64 ; add Rd(d), c),
                (BinOp::Sub, true) => dynasm!(self.ops ; .arch x64 ; sub Rq(d), c),
                (BinOp::Sub, false) => dynasm!(self.ops ; .arch x64 ; sub Rd(d), c),
                (BinOp::And, true) => dynasm!(self.ops ; .arch x64 ; and Rq(d), c),
                (BinOp::And, false) => dynasm!(self.ops ; .arch x64 ; and Rd(d), c),
                (BinOp::Or, true) => dynasm!(self.ops ; .arch x64 ; or Rq(d), c),
                (BinOp::Or, false) => dynasm!(self.ops ; .arch x64 ; or Rd(d), c),
                (_, true) => dynasm!(self.ops ; .arch x64 ; xor Rq(d), c),
                (_, false) => dynasm!(self.ops ; .arch x64 ; xor Rd(d), c),
            },
            (_, Operand::Reg(s)) => match (op, wide) {
                (BinOp::Add, true) => dynasm!(self.ops ; .arch x64 ; add Rq(d), Rq(s)),
                (BinOp::Add, false) => dynasm!(self.ops ; .arch x64 ; add Rd(d), Rd(s)),
                (BinOp::Sub, true) => dynasm!(self.ops ; .arch x64 ; sub Rq(d), Rq(s)),
                (BinOp::Sub, false) => dynasm!(self.ops ; .arch x64 ; sub Rd(d), Rd(s)),
                (BinOp::And, true) => dynasm!(self.ops ; .arch x64 ; and Rq(d), Rq(s)),
                (BinOp::And, false) => dynasm!(self.ops ; .arch x64 ; and Rd(d), Rd(s)),
                (BinOp::Or, true) => dynasm!(self.ops ; .arch x64 ; or Rq(d), Rq(s)),
                (BinOp::Or, false) => dynasm!(self.ops ; .arch x64 ; or Rd(d), Rd(s)),
                (_, true) => dynasm!(self.ops ; .arch x64 ; xor Rq(d), Rq(s)),
                (_, false) => dynasm!(self.ops ; .arch x64 ; xor Rd(d), Rd(s)),
            },
        }
    }

    /// Writes the guest flags from the host flags of the operation just
    /// emitted (`sub`: A64's carry is the inverse of x86's borrow).
    fn pack_flags(&mut self, sub: bool) {
        let table = NZC_FROM_AH[sub as usize].as_ptr() as i64;
        dynasm!(self.ops
            ; .arch x64
            ; lahf
            ; seto cl
            ; movzx eax, ah
            ; mov rdx, QWORD table
            ; mov eax, [rdx + rax * 4]
            ; movzx ecx, cl
            ; shl ecx, 28
            ; or eax, ecx
            ; mov [rbx + NZCV], eax
        );
    }

    /// The TLB lookup: `d` = host address of guest `a`, or the bail path.
    fn access(&mut self, d: Option<u8>, a: u8, size: u8, align: u8, write: bool, insn: u16) {
        const _: () = assert!(std::mem::size_of::<TlbEntry>() == 32);
        const _: () = assert!(std::mem::size_of::<TlbDetail>() == 32);
        let bail = self.bail_label(insn);
        let tag = if write {
            TlbEntry::TAG_WRITE
        } else {
            TlbEntry::TAG_READ
        } as i32;
        let page_and_alignment = (!0xfffu64 | (align as u64 - 1)) as i32;
        dynasm!(self.ops
            ; .arch x64
            ; mov rax, Rq(a)
            ; shr rax, 12
            ; and eax, (TLB_SIZE - 1) as i32
            ; shl eax, 5
            ; mov rcx, Rq(a)
            ; and rcx, page_and_alignment
            ; cmp rcx, [r13 + rax + tag]
            ; jne =>bail
        );
        if size > align {
            // Several elements: the last byte must be on the same page.
            dynasm!(self.ops
                ; .arch x64
                ; lea rcx, [Rq(a) + size as i32 - 1]
                ; xor rcx, Rq(a)
                ; test rcx, !0xfff
                ; jnz =>bail
            );
        }
        if let Some(d) = d {
            dynasm!(self.ops
                ; .arch x64
                ; mov Rq(d), [r13 + rax + TlbEntry::ADDEND as i32]
                ; add Rq(d), Rq(a)
            );
        }
    }

    fn host_load(&mut self, d: u8, h: u8, o: i32, size: u8, signed: bool) {
        match (size, signed) {
            (1, false) => dynasm!(self.ops ; .arch x64 ; movzx Rd(d), BYTE [Rq(h) + o]),
            (1, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), BYTE [Rq(h) + o]),
            (2, false) => dynasm!(self.ops ; .arch x64 ; movzx Rd(d), WORD [Rq(h) + o]),
            (2, true) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), WORD [Rq(h) + o]),
            (4, false) => dynasm!(self.ops ; .arch x64 ; mov Rd(d), [Rq(h) + o]),
            (4, true) => dynasm!(self.ops ; .arch x64 ; movsxd Rq(d), DWORD [Rq(h) + o]),
            _ => dynasm!(self.ops ; .arch x64 ; mov Rq(d), [Rq(h) + o]),
        }
    }

    fn bail_label(&mut self, insn: u16) -> DynamicLabel {
        match self.bail[insn as usize] {
            Some(label) => label,
            None => {
                let label = self.ops.new_dynamic_label();
                self.bail[insn as usize] = Some(label);
                label
            }
        }
    }

    /// Sets the guest PC to instruction `insn` and has the interpreter run
    /// it; its [`Step`] is in `eax` after.
    fn call_interpreter(&mut self, insn: u16) {
        let offset = 4 * insn as i32;
        let prepared = (self.env.prepared + insn as usize * self.env.prepared_size) as i64;
        let helper = self.env.interpret as i64;
        dynasm!(self.ops
            ; .arch x64
            ; lea rax, [r14 + offset]
            ; mov [rbx + PC], rax
            ; mov rdi, r12
            ; mov rsi, QWORD prepared
            ; mov rax, QWORD helper
            ; call rax
        );
    }

    /// The PC offset a value holds, if it is one of `PcRelative`.
    fn pc_offset(&self, v: Value) -> Option<i64> {
        match self.block.ops[v.0 as usize] {
            Op::PcRelative(offset) => Some(offset),
            _ => None,
        }
    }

    fn terminal(&mut self) {
        let retired = self.block.insns as u64;
        match self.block.terminal {
            Terminal::Next(offset) => self.chained_exit(offset),
            Terminal::Leave(offset) => {
                dynasm!(self.ops
                    ; .arch x64
                    ; lea rax, [r14 + offset as i32]
                    ; mov [rbx + PC], rax
                    ; mov eax, packed(retired, Step::Next) as i32
                );
            }
            Terminal::Jump(v) => {
                let s = self.r(v);
                dynasm!(self.ops
                    ; .arch x64
                    ; mov [rbx + PC], Rq(s)
                    ; mov eax, packed(retired, Step::Jump) as i32
                );
            }
            Terminal::Branch(c, taken, not_taken) => {
                match (self.pc_offset(taken), self.pc_offset(not_taken)) {
                    (Some(t), Some(n)) => {
                        let c = self.r(c);
                        let branch = self.ops.new_dynamic_label();
                        dynasm!(self.ops ; .arch x64 ; test Rq(c), Rq(c) ; jnz =>branch);
                        self.chained_exit(n);
                        dynasm!(self.ops ; .arch x64 ; =>branch);
                        self.chained_exit(t);
                    }
                    _ => {
                        let (c, t, n) = (self.r(c), self.r(taken), self.r(not_taken));
                        dynasm!(self.ops
                            ; .arch x64
                            ; mov rax, Rq(n)
                            ; test Rq(c), Rq(c)
                            ; cmovnz rax, Rq(t)
                            ; mov [rbx + PC], rax
                            ; mov eax, packed(retired, Step::Jump) as i32
                        );
                    }
                }
            }
        }
        let epilogue = self.epilogue;
        dynasm!(self.ops
            ; .arch x64
            ; =>epilogue
            ; add rsp, 8
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbp
            ; pop rbx
            ; ret
        );
    }

    /// The bail paths: the interpreter runs the instruction (its rare case),
    /// and the block ends after it.
    fn cold_paths(&mut self) {
        for insn in 0..self.block.insns {
            let Some(label) = self.bail[insn as usize] else {
                continue;
            };
            dynasm!(self.ops ; .arch x64 ; =>label);
            self.call_interpreter(insn);
            let retired = (insn as i32 + 1) << 8;
            let stopped = self.ops.new_dynamic_label();
            dynasm!(self.ops
                ; .arch x64
                ; test eax, eax
                ; jnz =>stopped
                // It continued: the PC is the next instruction's.
                ; lea rcx, [r14 + 4 * insn as i32 + 4]
                ; mov [rbx + PC], rcx
                ; mov eax, retired | Step::Jump as i32
            );
            self.leave();
            dynasm!(self.ops
                ; .arch x64
                ; =>stopped
                ; movzx eax, al
                ; or eax, retired
            );
            self.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_tables_follow_lahf() {
        // AH after LAHF: SF=bit 7, ZF=bit 6, CF=bit 0.
        assert_eq!(NZC_FROM_AH[0][0x80], 1 << 31);
        assert_eq!(NZC_FROM_AH[0][0x41], (1 << 30) | (1 << 29));
        assert_eq!(NZC_FROM_AH[1][0x41], 1 << 30);
        assert_eq!(NZC_FROM_AH[1][0x00], 1 << 29);
    }

    #[test]
    fn condition_masks_match_the_architecture() {
        // EQ holds exactly when Z is set; AL always.
        assert_eq!(condition_mask(0), 0xf0f0);
        assert_eq!(condition_mask(14), 0xffff);
    }
}
