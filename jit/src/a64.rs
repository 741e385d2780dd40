//! The A64 frontend: decoded instructions to IR.
//!
//! The forms that dominate compiled code (integer arithmetic and logic, moves,
//! bitfield extracts, loads and stores of general-purpose registers, branches)
//! become IR operations. Every other instruction becomes
//! [`Op::Interpret`]: the interpreter runs it in place, so a block is always
//! translated whole. The semantics mirror the interpreter's handlers in
//! `armvm_cpu::exec` (including the order of register writes), which the
//! lockstep tests compare against.

use crate::ir::{
    BinOp, Block, FlagOp, FloatArith, FloatOp, Loc, Op, Terminal, Value, VecOp, VecShift, VectorOp,
    Width,
};
use armvm_cpu::decode::a64_fp::{Bin, Fma, Un};
use armvm_cpu::decode::{FpOp, Insn, Op as A64, SimdOp};
use armvm_cpu::exec::bitmask::decode_bit_masks;
use armvm_cpu::exec::simd_expand_imm;

/// What the backend can do beyond the baseline (x86-64: SSE2).
#[derive(Clone, Copy, Debug, Default)]
pub struct Capabilities {
    /// SSE4.1: 64-bit lane compares, 32-bit lane multiplies, signed 32-bit
    /// widening multiplies.
    pub sse41: bool,
    /// FMA3: fused multiply-add.
    pub fma: bool,
}

/// Translates a block of decoded instructions, the first at the block's PC.
pub fn translate(insns: &[Insn], caps: Capabilities) -> Block {
    let mut b = Builder {
        block: Block::new(),
        insn: 0,
        caps,
    };
    b.block.insns = insns.len() as u16;
    b.block.terminal = Terminal::Next(4 * insns.len() as i64);
    for (index, &insn) in insns.iter().enumerate() {
        b.insn = index as u16;
        let last = index + 1 == insns.len();
        if !b.instruction(insn, last) {
            b.push(Op::Interpret(index as u16));
            if last {
                // It may have changed what the run loop checks between
                // blocks (translations, interrupt masks, the EL).
                b.block.terminal = Terminal::Leave(4 * insns.len() as i64);
            }
        }
    }
    b.block
}

struct Builder {
    block: Block,
    /// Index of the instruction being translated.
    insn: u16,
    caps: Capabilities,
}

fn width(sf: bool) -> Width {
    if sf {
        Width::W64
    } else {
        Width::W32
    }
}

fn datasize(w: Width) -> u32 {
    match w {
        Width::W32 => 32,
        Width::W64 => 64,
    }
}

impl Builder {
    fn push(&mut self, op: Op) -> Value {
        self.block.push(self.insn, op)
    }
    fn konst(&mut self, v: u64) -> Value {
        self.push(Op::Const(v))
    }
    /// The PC of the current instruction plus `offset`.
    fn pc(&mut self, offset: i64) -> Value {
        self.push(Op::PcRelative(4 * self.insn as i64 + offset))
    }
    fn bin(&mut self, op: BinOp, w: Width, a: Value, b: Value) -> Value {
        self.push(Op::Binary(op, w, a, b))
    }
    fn bin_imm(&mut self, op: BinOp, w: Width, a: Value, imm: u64) -> Value {
        let b = self.konst(imm);
        self.bin(op, w, a, b)
    }
    /// Xn, where 31 is XZR.
    fn x(&mut self, n: usize) -> Value {
        if n == 31 {
            self.konst(0)
        } else {
            self.push(Op::Get(Loc::Gpr(n as u8)))
        }
    }
    /// Xn, where 31 is SP.
    fn xsp(&mut self, n: usize) -> Value {
        if n == 31 {
            self.push(Op::Get(Loc::Sp))
        } else {
            self.push(Op::Get(Loc::Gpr(n as u8)))
        }
    }
    fn set_x(&mut self, n: usize, v: Value) {
        if n != 31 {
            self.push(Op::Set(Loc::Gpr(n as u8), v));
        }
    }
    fn set_xsp(&mut self, n: usize, v: Value) {
        let loc = if n == 31 { Loc::Sp } else { Loc::Gpr(n as u8) };
        self.push(Op::Set(loc, v));
    }
    /// The base register of a load or store. With SP, a misaligned SP goes to
    /// the interpreter, which checks SCTLR_EL1.SA/SA0.
    fn base(&mut self, n: usize) -> Value {
        let b = self.xsp(n);
        if n == 31 {
            let low = self.bin_imm(BinOp::And, Width::W64, b, 15);
            self.push(Op::BailUnlessZero(low, self.insn));
        }
        b
    }

    /// Register `m` shifted (LSL, LSR, ASR, ROR by `kind`) by `amount`.
    fn shifted(&mut self, m: usize, kind: u32, amount: u32, w: Width) -> Value {
        let v = self.x(m);
        if amount == 0 {
            return v;
        }
        let op = match kind {
            0 => BinOp::Shl,
            1 => BinOp::Lshr,
            2 => BinOp::Ashr,
            _ => BinOp::Ror,
        };
        self.bin_imm(op, w, v, amount as u64)
    }

    /// ExtendReg(): register `m` extended by `option` and shifted left.
    fn extended(&mut self, m: usize, option: u32, shift: u32) -> Value {
        let v = self.x(m);
        let v = match option {
            0 => self.push(Op::ZeroExtend(8, v)),
            1 => self.push(Op::ZeroExtend(16, v)),
            2 => self.push(Op::ZeroExtend(32, v)),
            4 => self.push(Op::SignExtend(8, v)),
            5 => self.push(Op::SignExtend(16, v)),
            6 => self.push(Op::SignExtend(32, v)),
            _ => v,
        };
        if shift == 0 {
            v
        } else {
            self.bin_imm(BinOp::Shl, Width::W64, v, shift as u64)
        }
    }

    /// ADD/SUB with the operands ready: writes the result (and the flags).
    fn add_sub(&mut self, sub: bool, set_flags: bool, w: Width, a: Value, b: Value) -> Value {
        if set_flags {
            let op = if sub { FlagOp::Sub } else { FlagOp::Add };
            self.push(Op::FlagSetting(op, w, a, b))
        } else {
            let op = if sub { BinOp::Sub } else { BinOp::Add };
            self.bin(op, w, a, b)
        }
    }

    /// AND/ORR/EOR/ANDS (`opc`) with the operands ready.
    fn logical(&mut self, opc: u32, w: Width, a: Value, b: Value) -> Value {
        match opc {
            0 => self.bin(BinOp::And, w, a, b),
            1 => self.bin(BinOp::Or, w, a, b),
            2 => self.bin(BinOp::Xor, w, a, b),
            _ => self.push(Op::FlagSetting(FlagOp::And, w, a, b)),
        }
    }

    /// Translates one instruction; false leaves it to the interpreter.
    fn instruction(&mut self, i: Insn, last: bool) -> bool {
        let w = width(i.sf());
        match i.op {
            A64::AddSubImm => {
                let imm = (i.bits(21, 10) as u64) << (12 * i.bits(22, 22));
                let a = self.xsp(i.rn());
                let b = self.konst(imm);
                let r = self.add_sub(i.bit(30), i.bit(29), w, a, b);
                if i.bit(29) {
                    self.set_x(i.rd(), r);
                } else {
                    self.set_xsp(i.rd(), r);
                }
            }
            A64::AddSubShifted => {
                let a = self.x(i.rn());
                let b = self.shifted(i.rm(), i.bits(23, 22), i.bits(15, 10), w);
                let r = self.add_sub(i.bit(30), i.bit(29), w, a, b);
                self.set_x(i.rd(), r);
            }
            A64::AddSubExt => {
                let a = self.xsp(i.rn());
                let b = self.extended(i.rm(), i.bits(15, 13), i.bits(12, 10));
                let r = self.add_sub(i.bit(30), i.bit(29), w, a, b);
                if i.bit(29) {
                    self.set_x(i.rd(), r);
                } else {
                    self.set_xsp(i.rd(), r);
                }
            }
            A64::LogicalImm => {
                let Some((mask, _)) = decode_bit_masks(
                    i.bits(22, 22),
                    i.bits(15, 10),
                    i.bits(21, 16),
                    true,
                    datasize(w),
                ) else {
                    return false;
                };
                let a = self.x(i.rn());
                let b = self.konst(mask);
                let opc = i.bits(30, 29);
                let r = self.logical(opc, w, a, b);
                if opc == 3 {
                    self.set_x(i.rd(), r);
                } else {
                    self.set_xsp(i.rd(), r);
                }
            }
            A64::LogicalReg => {
                let a = self.x(i.rn());
                let mut b = self.shifted(i.rm(), i.bits(23, 22), i.bits(15, 10), w);
                if i.bit(21) {
                    b = self.bin_imm(BinOp::Xor, w, b, u64::MAX);
                }
                let r = self.logical(i.bits(30, 29), w, a, b);
                self.set_x(i.rd(), r);
            }
            A64::Movz | A64::Movn | A64::Movk => {
                let pos = 16 * i.bits(22, 21);
                let imm = (i.bits(20, 5) as u64) << pos;
                let r = match i.op {
                    A64::Movz => self.konst(imm),
                    A64::Movn if i.sf() => self.konst(!imm),
                    A64::Movn => self.konst(!imm & 0xffff_ffff),
                    _ => {
                        let old = self.x(i.rd());
                        let kept = self.bin_imm(BinOp::And, w, old, !(0xffffu64 << pos));
                        self.bin_imm(BinOp::Or, w, kept, imm)
                    }
                };
                self.set_x(i.rd(), r);
            }
            A64::Ubfm | A64::Sbfm => self.bitfield(i, w),
            A64::Extr => {
                let lsb = i.bits(15, 10) as u64;
                let low = self.x(i.rm());
                let r = if lsb == 0 {
                    self.push(Op::ZeroExtend(datasize(w) as u8, low))
                } else {
                    let high = self.x(i.rn());
                    let low = self.bin_imm(BinOp::Lshr, w, low, lsb);
                    let high = self.bin_imm(BinOp::Shl, w, high, datasize(w) as u64 - lsb);
                    self.bin(BinOp::Or, w, low, high)
                };
                self.set_x(i.rd(), r);
            }
            A64::ShiftV => {
                let op = match i.bits(11, 10) {
                    0 => BinOp::Shl,
                    1 => BinOp::Lshr,
                    2 => BinOp::Ashr,
                    _ => BinOp::Ror,
                };
                let a = self.x(i.rn());
                let b = self.x(i.rm());
                let r = self.bin(op, w, a, b);
                self.set_x(i.rd(), r);
            }
            A64::Madd => {
                let a = self.x(i.rn());
                let b = self.x(i.rm());
                let product = self.bin(BinOp::Mul, w, a, b);
                let acc = self.x(i.ra());
                let op = if i.bit(15) { BinOp::Sub } else { BinOp::Add };
                let r = self.bin(op, w, acc, product);
                self.set_x(i.rd(), r);
            }
            A64::CondSel => {
                let holds = self.push(Op::Condition(i.bits(15, 12) as u8));
                let a = self.x(i.rn());
                let m = self.x(i.rm());
                let b = match (i.bit(30), i.bit(10)) {
                    (false, false) => m,
                    (false, true) => self.bin_imm(BinOp::Add, w, m, 1),
                    (true, false) => self.bin_imm(BinOp::Xor, w, m, u64::MAX),
                    (true, true) => {
                        let zero = self.konst(0);
                        self.bin(BinOp::Sub, w, zero, m)
                    }
                };
                let r = self.push(Op::Select(holds, a, b));
                let r = match w {
                    Width::W32 => self.push(Op::ZeroExtend(32, r)),
                    Width::W64 => r,
                };
                self.set_x(i.rd(), r);
            }
            A64::Adr => {
                let imm = (i.sbits(23, 5) << 2) | i.bits(30, 29) as i64;
                let r = self.pc(imm);
                self.set_x(i.rd(), r);
            }
            A64::Adrp => {
                let imm = ((i.sbits(23, 5) << 2) | i.bits(30, 29) as i64) << 12;
                let pc = self.pc(0);
                let page = self.bin_imm(BinOp::And, Width::W64, pc, !0xfff);
                let r = self.bin_imm(BinOp::Add, Width::W64, page, imm as u64);
                self.set_x(i.rd(), r);
            }
            A64::Hint if i.bits(11, 5) == 0 => {} // NOP
            A64::LdstUimm => {
                let size = i.bits(31, 30);
                let offset = (i.bits(21, 10) as u64) << size;
                return self.load_store_single(i, offset, 0b10);
            }
            A64::LdstImm9 => {
                let mode = i.bits(11, 10);
                if mode == 0b10 {
                    return false; // LDTR/STTR: EL0 permissions
                }
                return self.load_store_single(i, i.sbits(20, 12) as u64, mode);
            }
            A64::LdstRegOff => {
                let size = i.bits(31, 30);
                if i.bits(23, 22) == 2 && size == 3 {
                    return true; // PRFM: a hint
                }
                let shift = if i.bit(12) { size } else { 0 };
                let base = self.base(i.rn());
                let offset = self.extended(i.rm(), i.bits(15, 13), shift);
                let address = self.bin(BinOp::Add, Width::W64, base, offset);
                self.transfer_single(i, address);
            }
            A64::LdstPair => self.load_store_pair(i),
            A64::LdstUimmFp | A64::LdstImm9Fp | A64::LdstRegOffFp => {
                return self.vector_load_store(i)
            }
            A64::LdstPairFp => self.vector_load_store_pair(i),
            A64::Fp(op) => return self.fp_move(i, op),
            // The vector forms (bit 28 clear; scalar forms set it).
            A64::Simd(op) if !i.bit(28) => {
                let Some(v) = self.simd(i, op) else {
                    return false;
                };
                self.push(Op::BailUnlessFpEnabled(self.insn));
                self.push(Op::Vector(v));
            }
            A64::B | A64::Bl if last => {
                let target = 4 * self.insn as i64 + (i.sbits(25, 0) << 2);
                if i.op == A64::Bl {
                    let link = self.pc(4);
                    self.set_x(30, link);
                }
                self.block.terminal = Terminal::Next(target);
            }
            A64::BCond if last => {
                let holds = self.push(Op::Condition(i.bits(3, 0) as u8));
                self.branch(holds, i.sbits(23, 5) << 2, false);
            }
            A64::Cbz if last => {
                let v = self.x(i.rt());
                let v = match w {
                    Width::W32 => self.push(Op::ZeroExtend(32, v)),
                    Width::W64 => v,
                };
                // CBNZ branches when the value is not zero.
                let zero = self.push(Op::IsZero(v));
                self.branch(zero, i.sbits(23, 5) << 2, i.bit(24));
            }
            A64::Tbz if last => {
                let bit = (i.bits(31, 31) << 5) | i.bits(23, 19);
                let v = self.x(i.rt());
                let shifted = self.bin_imm(BinOp::Lshr, Width::W64, v, bit as u64);
                let set = self.bin_imm(BinOp::And, Width::W64, shifted, 1);
                // TBZ branches when the bit is clear.
                self.branch(set, i.sbits(18, 5) << 2, !i.bit(24));
            }
            A64::Br | A64::Ret if last => {
                let target = self.x(i.rn());
                self.block.terminal = Terminal::Jump(target);
            }
            A64::Blr if last => {
                let target = self.x(i.rn());
                let link = self.pc(4);
                self.set_x(30, link);
                self.block.terminal = Terminal::Jump(target);
            }
            _ => return false,
        }
        true
    }

    /// Ends the block with a conditional branch `offset` bytes from the
    /// current instruction, taken when `flag` is non-zero (zero, if `invert`).
    fn branch(&mut self, flag: Value, offset: i64, invert: bool) {
        let taken = self.pc(offset);
        let next = self.pc(4);
        self.block.terminal = if invert {
            Terminal::Branch(flag, next, taken)
        } else {
            Terminal::Branch(flag, taken, next)
        };
    }

    /// UBFM and SBFM (LSL, LSR, ASR, UBFX, SBFX, UBFIZ, SBFIZ, UXTB, SXTW, ...).
    fn bitfield(&mut self, i: Insn, w: Width) {
        let size = datasize(w);
        let (immr, imms) = (i.bits(21, 16), i.bits(15, 10));
        let signed = i.op == A64::Sbfm;
        let src = self.x(i.rn());
        let r = if imms >= immr {
            // Bits imms:immr moved to the bottom.
            let field = (imms - immr + 1) as u8;
            if signed {
                let up = self.bin_imm(BinOp::Shl, Width::W64, src, 63 - imms as u64);
                let down = self.bin_imm(BinOp::Ashr, Width::W64, up, (63 - imms + immr) as u64);
                self.push(Op::ZeroExtend(size as u8, down))
            } else {
                let down = self.bin_imm(BinOp::Lshr, Width::W64, src, immr as u64);
                self.push(Op::ZeroExtend(field.min(size as u8), down))
            }
        } else {
            // Bits imms:0 moved up to size - immr.
            let field = (imms + 1) as u8;
            let low = if signed {
                self.push(Op::SignExtend(field, src))
            } else {
                self.push(Op::ZeroExtend(field, src))
            };
            self.bin_imm(BinOp::Shl, w, low, (size - immr) as u64)
        };
        self.set_x(i.rd(), r);
    }

    /// LDR/STR/LDRS* (immediate): `offset` from the base register, `mode` as
    /// bits 11:10 of the unscaled forms (0 unscaled, 1 post-index, 3
    /// pre-index; 2 for the unsigned-offset form).
    fn load_store_single(&mut self, i: Insn, offset: u64, mode: u32) -> bool {
        if i.bits(23, 22) == 2 && i.bits(31, 30) == 3 {
            return true; // PRFM/PRFUM: a hint
        }
        let base = self.base(i.rn());
        let (address, writeback) = match mode {
            0b01 => {
                let wb = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (base, Some(wb))
            }
            0b11 => {
                let a = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (a, Some(a))
            }
            _ => (self.bin_imm(BinOp::Add, Width::W64, base, offset), None),
        };
        self.transfer_single(i, address);
        if let Some(wb) = writeback {
            self.set_xsp(i.rn(), wb);
        }
        true
    }

    /// The access of a single-register load or store at `address`.
    fn transfer_single(&mut self, i: Insn, address: Value) {
        let size = 1u8 << i.bits(31, 30);
        let opc = i.bits(23, 22);
        let host = self.push(Op::Access {
            address,
            size,
            align: size,
            write: opc == 0,
            insn: self.insn,
        });
        if opc == 0 {
            let value = self.x(i.rt());
            self.push(Op::HostStore {
                host,
                offset: 0,
                size,
                value,
            });
        } else {
            let mut value = self.push(Op::HostLoad {
                host,
                offset: 0,
                size,
                signed: opc >= 2,
            });
            if opc == 3 {
                value = self.push(Op::ZeroExtend(32, value));
            }
            self.set_x(i.rt(), value);
        }
    }

    /// LDP/STP/LDNP/STNP/LDPSW.
    fn load_store_pair(&mut self, i: Insn) {
        let opc = i.bits(31, 30);
        let scale = if opc == 2 { 3 } else { 2 };
        let size = 1u8 << scale;
        let offset = (i.sbits(21, 15) << scale) as u64;
        let base = self.base(i.rn());
        let (address, writeback) = match i.bits(24, 23) {
            0b01 => {
                let wb = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (base, Some(wb))
            }
            0b11 => {
                let a = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (a, Some(a))
            }
            _ => (self.bin_imm(BinOp::Add, Width::W64, base, offset), None),
        };
        let load = i.bit(22);
        let host = self.push(Op::Access {
            address,
            size: 2 * size,
            align: size,
            write: !load,
            insn: self.insn,
        });
        if load {
            let signed = opc == 1;
            let a = self.push(Op::HostLoad {
                host,
                offset: 0,
                size,
                signed,
            });
            let b = self.push(Op::HostLoad {
                host,
                offset: size,
                size,
                signed,
            });
            self.set_x(i.rt(), a);
            self.set_x(i.rt2(), b);
        } else {
            let a = self.x(i.rt());
            let b = self.x(i.rt2());
            self.push(Op::HostStore {
                host,
                offset: 0,
                size,
                value: a,
            });
            self.push(Op::HostStore {
                host,
                offset: size,
                size,
                value: b,
            });
        }
        if let Some(wb) = writeback {
            self.set_xsp(i.rn(), wb);
        }
    }

    /// An Advanced SIMD vector instruction as a vector operation, if the
    /// backend has it.
    fn simd(&self, i: Insn, op: SimdOp) -> Option<VectorOp> {
        let full = i.bit(30);
        let unsigned = i.bit(29);
        let esize = 1u8 << i.bits(23, 22);
        let (d, n, m) = (i.rd() as u8, i.rn() as u8, i.rm() as u8);
        let lanes = |op: VecOp, esize: u8| VectorOp::Lanes {
            op,
            esize,
            full,
            d,
            n,
            m,
        };
        // Shift by immediate: the lane size from immh, the amount from immh:immb.
        let immh = i.bits(22, 19);
        let shift_esize = if immh == 0 {
            0
        } else {
            1u8 << (31 - immh.leading_zeros())
        };
        let immhb = i.bits(22, 16);
        let sse41 = self.caps.sse41;
        Some(match op {
            SimdOp::Add => lanes(VecOp::Add, esize),
            SimdOp::Sub => lanes(VecOp::Sub, esize),
            SimdOp::And => lanes(VecOp::And, 1),
            SimdOp::Bic => lanes(VecOp::AndNot, 1),
            SimdOp::Orr => lanes(VecOp::Or, 1),
            SimdOp::Orn => lanes(VecOp::OrNot, 1),
            SimdOp::Eor => lanes(VecOp::Xor, 1),
            SimdOp::Cmeq if esize < 8 || sse41 => lanes(VecOp::CmpEq, esize),
            SimdOp::Mul if esize == 2 || (esize == 4 && sse41) => lanes(VecOp::Mul, esize),
            SimdOp::ShrImm if shift_esize >= 2 && (unsigned || shift_esize <= 4) => {
                VectorOp::Shift {
                    op: if unsigned {
                        VecShift::RightLogical
                    } else {
                        VecShift::RightArithmetic
                    },
                    esize: shift_esize,
                    full,
                    d,
                    n,
                    amount: (2 * 8 * shift_esize as u32 - immhb) as u8,
                }
            }
            SimdOp::ShlImm if shift_esize >= 2 => VectorOp::Shift {
                op: VecShift::Left,
                esize: shift_esize,
                full,
                d,
                n,
                amount: (immhb - 8 * shift_esize as u32) as u8,
            },
            SimdOp::ShllImm => VectorOp::Widen {
                signed: !unsigned,
                upper: full,
                esize: shift_esize,
                d,
                n,
                shift: (immhb - 8 * shift_esize as u32) as u8,
            },
            SimdOp::AddW | SimdOp::SubW | SimdOp::AddL | SimdOp::SubL => VectorOp::WidenArith {
                sub: matches!(op, SimdOp::SubW | SimdOp::SubL),
                signed: !unsigned,
                upper: full,
                esize,
                wide_n: matches!(op, SimdOp::AddW | SimdOp::SubW),
                d,
                n,
                m,
            },
            SimdOp::MulL | SimdOp::MlaL if esize == 2 || (esize == 4 && (unsigned || sse41)) => {
                VectorOp::MulLong {
                    signed: !unsigned,
                    upper: full,
                    accumulate: op == SimdOp::MlaL,
                    esize,
                    d,
                    n,
                    m,
                }
            }
            SimdOp::Movi | SimdOp::Mvni => {
                let imm8 = ((i.bits(18, 16) << 5) | i.bits(9, 5)) as u64;
                let imm64 = simd_expand_imm(i.bit(29), i.bits(15, 12), imm8) as u128;
                let mut value = imm64 | (imm64 << 64);
                if op == SimdOp::Mvni {
                    value = !value;
                }
                if !full {
                    value &= u64::MAX as u128;
                }
                VectorOp::Const { d, value }
            }
            _ => return None,
        })
    }

    /// FMOV between general-purpose and SIMD&FP registers, and FMOV
    /// (register); other floating-point instructions are interpreted.
    fn fp_move(&mut self, i: Insn, op: FpOp) -> bool {
        let size = if i.sf() { 8 } else { 4 };
        let (d, n) = (i.rd(), i.rn());
        let get = |reg: usize, size: u8, upper: bool| Op::GetVectorPart {
            reg: reg as u8,
            size,
            upper,
        };
        let set = |reg: usize, size: u8, upper: bool, value: Value| Op::SetVectorPart {
            reg: reg as u8,
            size,
            upper,
            value,
        };
        match op {
            FpOp::FmovToGen | FpOp::FmovToGenTop => {
                self.push(Op::BailUnlessFpEnabled(self.insn));
                let v = self.push(get(n, size, op == FpOp::FmovToGenTop));
                self.set_x(d, v);
            }
            FpOp::FmovFromGen | FpOp::FmovFromGenTop => {
                self.push(Op::BailUnlessFpEnabled(self.insn));
                let v = self.x(n);
                self.push(set(d, size, op == FpOp::FmovFromGenTop, v));
            }
            FpOp::Unary(Un::Mov) => {
                let size = if i.bit(22) { 8 } else { 4 };
                self.push(Op::BailUnlessFpEnabled(self.insn));
                let v = self.push(get(n, size, false));
                self.push(set(d, size, false, v));
            }
            FpOp::Binary(op) => return self.float(i, op_of(op), None),
            FpOp::Fmla { sub } if self.caps.fma => {
                let op = if sub {
                    FloatOp::MulSub
                } else {
                    FloatOp::MulAdd
                };
                return self.float(i, Some(op), Some(i.rd()));
            }
            FpOp::Fmadd(kind) if self.caps.fma => {
                let op = match kind {
                    Fma::Madd => FloatOp::MulAdd,
                    Fma::Msub => FloatOp::MulSub,
                    Fma::Nmadd => FloatOp::NegMulAdd,
                    Fma::Nmsub => FloatOp::NegMulSub,
                };
                return self.float(i, Some(op), Some(i.ra()));
            }
            _ => return false,
        }
        true
    }

    /// FADD, FSUB, FMUL, FDIV, FMLA/FMLS (vector) and FMADD and its
    /// relatives (scalar) on the host's floating point, with the addend
    /// register `a` for the fused forms.
    fn float(&mut self, i: Insn, op: Option<FloatOp>, a: Option<usize>) -> bool {
        let Some(op) = op else {
            return false;
        };
        // Scalar: M 0 S 11110 (or 11111: FMADD) ftype; vector: 0 Q U 01110 . sz.
        let scalar = i.bits(31, 25) == 0b0001111;
        let vector = !i.bit(31) && i.bits(28, 24) == 0b01110;
        if !(scalar || vector) || (scalar && i.bit(23)) {
            return false; // half precision, or a form with other operands
        }
        self.push(Op::BailUnlessFpEnabled(self.insn));
        self.push(Op::Float(FloatArith {
            op,
            double: i.bit(22),
            scalar,
            full: i.bit(30),
            d: i.rd() as u8,
            n: i.rn() as u8,
            m: i.rm() as u8,
            a: a.unwrap_or(0) as u8,
            insn: self.insn,
        }));
        true
    }

    /// SIMD&FP LDR/STR in the unsigned-offset, unscaled, pre/post-index and
    /// register-offset forms.
    fn vector_load_store(&mut self, i: Insn) -> bool {
        let scale = (i.bits(23, 23) << 2) | i.bits(31, 30);
        let size = 1u8 << scale;
        self.push(Op::BailUnlessFpEnabled(self.insn));
        let base = self.base(i.rn());
        let (address, writeback) = match i.op {
            A64::LdstUimmFp => {
                let offset = (i.bits(21, 10) as u64) << scale;
                (self.bin_imm(BinOp::Add, Width::W64, base, offset), None)
            }
            A64::LdstRegOffFp => {
                let shift = if i.bit(12) { scale } else { 0 };
                let offset = self.extended(i.rm(), i.bits(15, 13), shift);
                (self.bin(BinOp::Add, Width::W64, base, offset), None)
            }
            _ => {
                let imm = i.sbits(20, 12) as u64;
                match i.bits(11, 10) {
                    0b01 => {
                        let wb = self.bin_imm(BinOp::Add, Width::W64, base, imm);
                        (base, Some(wb))
                    }
                    0b11 => {
                        let a = self.bin_imm(BinOp::Add, Width::W64, base, imm);
                        (a, Some(a))
                    }
                    _ => (self.bin_imm(BinOp::Add, Width::W64, base, imm), None),
                }
            }
        };
        let load = i.bit(22);
        let host = self.push(Op::Access {
            address,
            size,
            align: size,
            write: !load,
            insn: self.insn,
        });
        let reg = i.rt() as u8;
        if load {
            self.push(Op::VectorLoad {
                host,
                offset: 0,
                size,
                reg,
            });
        } else {
            self.push(Op::VectorStore {
                host,
                offset: 0,
                size,
                reg,
            });
        }
        if let Some(wb) = writeback {
            self.set_xsp(i.rn(), wb);
        }
        true
    }

    /// SIMD&FP LDP/STP/LDNP/STNP.
    fn vector_load_store_pair(&mut self, i: Insn) {
        let scale = 2 + i.bits(31, 30);
        let size = 1u8 << scale;
        let offset = (i.sbits(21, 15) << scale) as u64;
        self.push(Op::BailUnlessFpEnabled(self.insn));
        let base = self.base(i.rn());
        let (address, writeback) = match i.bits(24, 23) {
            0b01 => {
                let wb = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (base, Some(wb))
            }
            0b11 => {
                let a = self.bin_imm(BinOp::Add, Width::W64, base, offset);
                (a, Some(a))
            }
            _ => (self.bin_imm(BinOp::Add, Width::W64, base, offset), None),
        };
        let load = i.bit(22);
        let host = self.push(Op::Access {
            address,
            size: 2 * size,
            align: size,
            write: !load,
            insn: self.insn,
        });
        for (k, reg) in [(0, i.rt()), (size, i.rt2())] {
            let reg = reg as u8;
            if load {
                self.push(Op::VectorLoad {
                    host,
                    offset: k,
                    size,
                    reg,
                });
            } else {
                self.push(Op::VectorStore {
                    host,
                    offset: k,
                    size,
                    reg,
                });
            }
        }
        if let Some(wb) = writeback {
            self.set_xsp(i.rn(), wb);
        }
    }
}

/// The host operation for a two-operand floating-point instruction.
fn op_of(op: Bin) -> Option<FloatOp> {
    Some(match op {
        Bin::Add => FloatOp::Add,
        Bin::Sub => FloatOp::Sub,
        Bin::Mul => FloatOp::Mul,
        Bin::Div => FloatOp::Div,
        _ => return None,
    })
}
