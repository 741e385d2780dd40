//! The intermediate form of one translated block: a list of operations in SSA
//! form (each operation defines at most one [`Value`], used only after it) and
//! one [`Terminal`]. It knows nothing of A64: a frontend for another
//! instruction set maps its registers onto [`Loc`] and its instructions onto
//! the same operations.

use std::fmt;

/// The result of the operation at this index of [`Block::ops`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

/// Operand width: 32-bit results are zero-extended to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    W32,
    W64,
}

/// Guest state the IR reads and writes by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loc {
    /// A general-purpose register (0 to 30).
    Gpr(u8),
    /// The stack pointer selected by the current exception level.
    Sp,
    /// The condition flags, N Z C V in bits 31:28.
    Flags,
}

/// Lane-wise operations on 128-bit guest vector registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecOp {
    Add,
    Sub,
    And,
    /// First operand and not second.
    AndNot,
    Or,
    /// First operand or not second.
    OrNot,
    Xor,
    /// All ones where the lanes are equal.
    CmpEq,
    Mul,
}

/// Floating-point arithmetic, IEEE 754 with round to nearest even.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `a + n*m`, fused.
    MulAdd,
    /// `a - n*m`, fused.
    MulSub,
    /// `-a - n*m`, fused.
    NegMulAdd,
    /// `-a + n*m`, fused.
    NegMulSub,
}

/// Floating-point arithmetic on guest vector registers in place: lane by lane
/// (a scalar is lane 0, the rest of the register cleared). The host computes
/// it only where its result is the architecture's bit for bit: FPCR all
/// zeros (round to nearest, no flush-to-zero, no default NaN), and no NaN,
/// overflow, underflow, division by zero or invalid operation in the result
/// — otherwise instruction `insn` goes to the interpreter. Inexact sets
/// FPSR.IXC.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatArith {
    pub op: FloatOp,
    pub double: bool,
    /// A scalar (lane 0 only).
    pub scalar: bool,
    /// 128-bit vector (else 64-bit); ignored for scalars.
    pub full: bool,
    pub d: u8,
    pub n: u8,
    pub m: u8,
    /// The addend of the fused forms.
    pub a: u8,
    pub insn: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VecShift {
    Left,
    RightLogical,
    RightArithmetic,
}

/// Vector operations work on guest vector registers in place (by number),
/// not on IR values: `esize` is the lane size in bytes, and a `full: false`
/// result keeps only the low 64 bits (the rest of the register cleared).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VectorOp {
    /// `d = n op m` lane by lane.
    Lanes {
        op: VecOp,
        esize: u8,
        full: bool,
        d: u8,
        n: u8,
        m: u8,
    },
    Shift {
        op: VecShift,
        esize: u8,
        full: bool,
        d: u8,
        n: u8,
        amount: u8,
    },
    /// `d` = the lanes of the low (high if `upper`) half of `n`, widened
    /// from `esize` to twice that by zero or sign extension, then shifted left.
    Widen {
        signed: bool,
        upper: bool,
        esize: u8,
        d: u8,
        n: u8,
        shift: u8,
    },
    /// `d = n op m` on lanes of twice `esize`, where `m` is a half widened
    /// as by `Widen`, and `n` too unless `wide_n`.
    WidenArith {
        sub: bool,
        signed: bool,
        upper: bool,
        esize: u8,
        wide_n: bool,
        d: u8,
        n: u8,
        m: u8,
    },
    /// `d = widen(n) * widen(m)` (plus `d` if `accumulate`), lanes of
    /// twice `esize`, from the low (high if `upper`) halves.
    MulLong {
        signed: bool,
        upper: bool,
        accumulate: bool,
        esize: u8,
        d: u8,
        n: u8,
        m: u8,
    },
    Const {
        d: u8,
        value: u128,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Mul,
    /// Shifts by the second operand modulo the width (as x86 and A64 do).
    Shl,
    Lshr,
    Ashr,
    Ror,
}

/// Operations that also set the guest flags from their result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Carry out of the addition.
    Add,
    /// Carry as A64 defines it for subtraction: set when there is no borrow.
    Sub,
    /// Carry and overflow cleared.
    And,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Const(u64),
    /// The guest PC of the block's first instruction plus an offset (blocks
    /// do not depend on the virtual address they run at).
    PcRelative(i64),
    Get(Loc),
    Set(Loc, Value),
    Binary(BinOp, Width, Value, Value),
    /// Like `Binary`, and writes [`Loc::Flags`].
    FlagSetting(FlagOp, Width, Value, Value),
    /// Sign-extends the low `bits` bits to 64.
    SignExtend(u8, Value),
    /// Keeps the low `bits` bits.
    ZeroExtend(u8, Value),
    /// 1 if the A64-style condition (0 to 15) holds for [`Loc::Flags`], else 0.
    Condition(u8),
    /// 1 if the value is zero, else 0.
    IsZero(Value),
    /// `if first != 0 { second } else { third }`.
    Select(Value, Value, Value),
    /// The host address of `size` bytes of guest memory at the address,
    /// readable (`write` false) or writable, if the TLB maps them to RAM with
    /// no reason to look closer (aligned to `align`, in one page, no
    /// watchpoint or code on the page). Otherwise the instruction `insn` is
    /// run by the interpreter instead and the block ends after it.
    Access {
        address: Value,
        size: u8,
        align: u8,
        write: bool,
        insn: u16,
    },
    /// Loads `size` bytes at a host address from `Access` plus `offset`;
    /// `signed` sign-extends to 64 bits.
    HostLoad {
        host: Value,
        offset: u8,
        size: u8,
        signed: bool,
    },
    HostStore {
        host: Value,
        offset: u8,
        size: u8,
        value: Value,
    },
    /// A vector operation on guest vector registers.
    Vector(VectorOp),
    Float(FloatArith),
    /// The low `size` (4 or 8) bytes of guest vector register `reg`, or its
    /// high 8 bytes if `upper`, zero-extended.
    GetVectorPart {
        reg: u8,
        size: u8,
        upper: bool,
    },
    /// Writes the value's low `size` (4 or 8) bytes to guest vector register
    /// `reg`, clearing the rest of it; with `upper`, writes the high 8 bytes
    /// and keeps the low ones.
    SetVectorPart {
        reg: u8,
        size: u8,
        upper: bool,
        value: Value,
    },
    /// Loads `size` (1 to 16) bytes at a host address plus `offset` into
    /// guest vector register `reg`, clearing the rest of it.
    VectorLoad {
        host: Value,
        offset: u8,
        size: u8,
        reg: u8,
    },
    /// Stores the low `size` bytes of guest vector register `reg`.
    VectorStore {
        host: Value,
        offset: u8,
        size: u8,
        reg: u8,
    },
    /// Unless SIMD&FP instructions may run, the interpreter runs instruction
    /// `insn` (and traps) instead and the block ends.
    BailUnlessFpEnabled(u16),
    /// Unless the value is zero, the interpreter runs instruction `insn`
    /// instead and the block ends after it (its rare cases).
    BailUnlessZero(Value, u16),
    /// The interpreter runs instruction `insn`; the block continues after it
    /// unless it jumped, stopped or raised an exception. Clobbers everything:
    /// no value lives across it.
    Interpret(u16),
}

impl Op {
    /// The values the operation reads.
    pub fn operands(&self) -> Vec<Value> {
        match *self {
            Op::Set(_, v)
            | Op::SignExtend(_, v)
            | Op::ZeroExtend(_, v)
            | Op::IsZero(v)
            | Op::BailUnlessZero(v, _)
            | Op::SetVectorPart { value: v, .. } => vec![v],
            Op::Binary(_, _, a, b) | Op::FlagSetting(_, _, a, b) => vec![a, b],
            Op::Select(c, a, b) => vec![c, a, b],
            Op::Access { address, .. } => vec![address],
            Op::HostLoad { host, .. }
            | Op::VectorLoad { host, .. }
            | Op::VectorStore { host, .. } => {
                vec![host]
            }
            Op::HostStore { host, value, .. } => vec![host, value],
            Op::Const(_)
            | Op::PcRelative(_)
            | Op::Get(_)
            | Op::Condition(_)
            | Op::Interpret(_)
            | Op::Vector(_)
            | Op::Float(_)
            | Op::GetVectorPart { .. }
            | Op::BailUnlessFpEnabled(_) => vec![],
        }
    }

    /// Rewrites the values the operation reads.
    pub fn map_operands(&mut self, f: impl Fn(Value) -> Value) {
        match self {
            Op::Set(_, v)
            | Op::SignExtend(_, v)
            | Op::ZeroExtend(_, v)
            | Op::IsZero(v)
            | Op::BailUnlessZero(v, _)
            | Op::SetVectorPart { value: v, .. } => *v = f(*v),
            Op::Binary(_, _, a, b) | Op::FlagSetting(_, _, a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Select(c, a, b) => {
                *c = f(*c);
                *a = f(*a);
                *b = f(*b);
            }
            Op::Access { address, .. } => *address = f(*address),
            Op::HostLoad { host, .. }
            | Op::VectorLoad { host, .. }
            | Op::VectorStore { host, .. } => *host = f(*host),
            Op::HostStore { host, value, .. } => {
                *host = f(*host);
                *value = f(*value);
            }
            Op::Const(_)
            | Op::PcRelative(_)
            | Op::Get(_)
            | Op::Condition(_)
            | Op::Interpret(_)
            | Op::Vector(_)
            | Op::Float(_)
            | Op::GetVectorPart { .. }
            | Op::BailUnlessFpEnabled(_) => {}
        }
    }

    /// Whether the operation defines a value.
    pub fn has_result(&self) -> bool {
        !matches!(
            self,
            Op::Set(..)
                | Op::HostStore { .. }
                | Op::BailUnlessZero(..)
                | Op::Interpret(_)
                | Op::Vector(_)
                | Op::Float(_)
                | Op::VectorLoad { .. }
                | Op::VectorStore { .. }
                | Op::SetVectorPart { .. }
                | Op::BailUnlessFpEnabled(_)
        )
    }

    /// Whether the operation does nothing but define its value, so that it can
    /// go when the value is unused.
    pub fn is_pure(&self) -> bool {
        matches!(
            self,
            Op::Const(_)
                | Op::PcRelative(_)
                | Op::Get(_)
                | Op::Binary(..)
                | Op::SignExtend(..)
                | Op::ZeroExtend(..)
                | Op::Condition(_)
                | Op::IsZero(_)
                | Op::Select(..)
                | Op::GetVectorPart { .. }
        )
    }
}

/// How a block ends when it runs to its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Terminal {
    /// Continue at the first PC plus an offset (chaining to the block there).
    Next(i64),
    /// Continue at the first PC plus an offset, through the run loop.
    Leave(i64),
    /// Continue at the value.
    Jump(Value),
    /// Continue at the second value if the first is non-zero, else at the third.
    Branch(Value, Value, Value),
}

impl Terminal {
    pub fn operands(&self) -> Vec<Value> {
        match *self {
            Terminal::Next(_) | Terminal::Leave(_) => vec![],
            Terminal::Jump(v) => vec![v],
            Terminal::Branch(c, a, b) => vec![c, a, b],
        }
    }
    pub fn map_operands(&mut self, f: impl Fn(Value) -> Value) {
        match self {
            Terminal::Next(_) | Terminal::Leave(_) => {}
            Terminal::Jump(v) => *v = f(*v),
            Terminal::Branch(c, a, b) => {
                *c = f(*c);
                *a = f(*a);
                *b = f(*b);
            }
        }
    }
}

/// One translated block.
#[derive(Clone, Debug)]
pub struct Block {
    pub ops: Vec<Op>,
    /// The guest instruction each operation belongs to (for exits and traces).
    pub insn_of: Vec<u16>,
    pub terminal: Terminal,
    /// Guest instructions in the block.
    pub insns: u16,
}

impl Block {
    pub fn new() -> Block {
        Block {
            ops: Vec::new(),
            insn_of: Vec::new(),
            terminal: Terminal::Next(0),
            insns: 0,
        }
    }

    /// Appends an operation of instruction `insn`; returns its value.
    pub fn push(&mut self, insn: u16, op: Op) -> Value {
        self.ops.push(op);
        self.insn_of.push(insn);
        Value(self.ops.len() as u32 - 1)
    }
}

impl Default for Block {
    fn default() -> Self {
        Block::new()
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.ops.iter().enumerate() {
            let target = if op.has_result() {
                format!("v{i} = ")
            } else {
                String::new()
            };
            writeln!(f, "  [{}] {target}{op:?}", self.insn_of[i])?;
        }
        writeln!(f, "  {:?}", self.terminal)
    }
}
