//! Passes over a block's IR, each a small function, run in the order
//! [`optimise`] lists. [`verify`] checks the invariants the backend relies on.

use crate::ir::{BinOp, Block, Loc, Op, Value, Width};
use std::collections::HashMap;

/// The passes, in order.
pub fn optimise(block: &mut Block) {
    forward_registers(block);
    fold_constants(block);
    remove_dead_code(block);
}

/// Replaces every use of a value by `replacement[value]` (itself if absent).
fn rename(block: &mut Block, replacement: &HashMap<Value, Value>) {
    if replacement.is_empty() {
        return;
    }
    let find = |v: Value| {
        let mut v = v;
        while let Some(&r) = replacement.get(&v) {
            v = r;
        }
        v
    };
    for op in &mut block.ops {
        op.map_operands(find);
    }
    block.terminal.map_operands(find);
}

/// Register get elimination: a read of guest state that the block already
/// read or wrote uses that value instead. Guest state itself is still written
/// at every `Set` (so it is exact wherever the block may leave); only the
/// reads go. An interpreted instruction may change anything.
pub fn forward_registers(block: &mut Block) {
    let mut known: HashMap<Loc, Value> = HashMap::new();
    let mut replacement = HashMap::new();
    for (i, op) in block.ops.iter().enumerate() {
        let v = Value(i as u32);
        match *op {
            Op::Get(loc) => match known.get(&loc) {
                Some(&earlier) => {
                    replacement.insert(v, earlier);
                }
                None => {
                    known.insert(loc, v);
                }
            },
            Op::Set(loc, value) => {
                // A 32-bit result is stored zero-extended, as it is held.
                known.insert(loc, value);
            }
            Op::FlagSetting(..) => {
                known.remove(&Loc::Flags);
            }
            Op::Interpret(_) => known.clear(),
            _ => {}
        }
    }
    rename(block, &replacement);
}

fn fits_identity(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add
            | BinOp::Sub
            | BinOp::Or
            | BinOp::Xor
            | BinOp::Shl
            | BinOp::Lshr
            | BinOp::Ashr
            | BinOp::Ror
    )
}

/// Evaluates operations on constants, and drops 64-bit operations whose
/// second operand changes nothing (`x + 0`, `x | 0`, `x << 0`).
pub fn fold_constants(block: &mut Block) {
    let mut replacement = HashMap::new();
    for i in 0..block.ops.len() {
        let constant = |v: Value, ops: &[Op]| match ops[v.0 as usize] {
            Op::Const(c) => Some(c),
            _ => None,
        };
        let Op::Binary(op, w, a, b) = block.ops[i] else {
            continue;
        };
        match (constant(a, &block.ops), constant(b, &block.ops)) {
            (Some(x), Some(y)) => block.ops[i] = Op::Const(evaluate(op, w, x, y)),
            (_, Some(0)) if w == Width::W64 && fits_identity(op) => {
                replacement.insert(Value(i as u32), a);
            }
            (Some(0), _)
                if w == Width::W64 && matches!(op, BinOp::Or | BinOp::Add | BinOp::Xor) =>
            {
                replacement.insert(Value(i as u32), b);
            }
            _ => {}
        }
    }
    rename(block, &replacement);
}

/// What a binary operation gives on constants, as the backend computes it.
pub fn evaluate(op: BinOp, w: Width, a: u64, b: u64) -> u64 {
    let bits = match w {
        Width::W32 => 32,
        Width::W64 => 64,
    };
    let mask = if bits == 32 { 0xffff_ffff } else { u64::MAX };
    let (a, amount) = (a & mask, (b % bits) as u32);
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Shl => a << amount,
        BinOp::Lshr => a >> amount,
        BinOp::Ashr if bits == 32 => ((a as i32) >> amount) as u32 as u64,
        BinOp::Ashr => ((a as i64) >> amount) as u64,
        BinOp::Ror if bits == 32 => (a as u32).rotate_right(amount) as u64,
        BinOp::Ror => a.rotate_right(amount),
    };
    r & mask
}

/// Drops pure operations whose value nothing uses.
pub fn remove_dead_code(block: &mut Block) {
    let n = block.ops.len();
    let mut used = vec![false; n];
    for v in block.terminal.operands() {
        used[v.0 as usize] = true;
    }
    for i in (0..n).rev() {
        let op = &block.ops[i];
        if op.is_pure() && !used[i] {
            continue;
        }
        for v in op.operands() {
            used[v.0 as usize] = true;
        }
    }
    // Renumber the survivors.
    let mut new_index = vec![u32::MAX; n];
    let mut ops = Vec::new();
    let mut insn_of = Vec::new();
    for i in 0..n {
        if block.ops[i].is_pure() && !used[i] {
            continue;
        }
        new_index[i] = ops.len() as u32;
        ops.push(block.ops[i]);
        insn_of.push(block.insn_of[i]);
    }
    let map = |v: Value| Value(new_index[v.0 as usize]);
    for op in &mut ops {
        op.map_operands(map);
    }
    block.terminal.map_operands(map);
    block.ops = ops;
    block.insn_of = insn_of;
}

/// Checks what the backend relies on: every operand is defined earlier by an
/// operation with a result, and no value is used after an `Interpret` that
/// follows its definition (the interpreter clobbers the host registers).
pub fn verify(block: &Block) -> Result<(), String> {
    let mut last_barrier = 0usize;
    let check = |v: Value, at: usize, barrier: usize| -> Result<(), String> {
        let d = v.0 as usize;
        if d >= at {
            return Err(format!("v{d} used at {at} before its definition"));
        }
        if !block.ops[d].has_result() {
            return Err(format!("v{d} has no result (used at {at})"));
        }
        if d < barrier {
            return Err(format!("v{d} lives across the Interpret at {barrier}"));
        }
        Ok(())
    };
    for (i, op) in block.ops.iter().enumerate() {
        for v in op.operands() {
            check(v, i, last_barrier)?;
        }
        if let Op::Interpret(_) = op {
            last_barrier = i;
        }
    }
    for v in block.terminal.operands() {
        check(v, block.ops.len(), last_barrier)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Terminal;

    fn block(ops: Vec<Op>, terminal: Terminal) -> Block {
        Block {
            insn_of: vec![0; ops.len()],
            ops,
            terminal,
            insns: 1,
        }
    }

    #[test]
    fn a_register_read_after_a_write_uses_the_written_value() {
        let mut b = block(
            vec![
                Op::Const(5),
                Op::Set(Loc::Gpr(1), Value(0)),
                Op::Get(Loc::Gpr(1)),
                Op::Set(Loc::Gpr(2), Value(2)),
            ],
            Terminal::Next(4),
        );
        optimise(&mut b);
        assert_eq!(
            b.ops,
            vec![
                Op::Const(5),
                Op::Set(Loc::Gpr(1), Value(0)),
                Op::Set(Loc::Gpr(2), Value(0))
            ]
        );
        verify(&b).unwrap();
    }

    #[test]
    fn an_interpreted_instruction_forgets_what_was_read() {
        let mut b = block(
            vec![
                Op::Get(Loc::Gpr(1)),
                Op::Set(Loc::Gpr(2), Value(0)),
                Op::Interpret(1),
                Op::Get(Loc::Gpr(1)),
                Op::Set(Loc::Gpr(3), Value(3)),
            ],
            Terminal::Next(8),
        );
        optimise(&mut b);
        assert_eq!(b.ops[3], Op::Get(Loc::Gpr(1)));
        assert_eq!(b.ops[4], Op::Set(Loc::Gpr(3), Value(3)));
        verify(&b).unwrap();
    }

    #[test]
    fn constants_fold_with_the_backends_arithmetic() {
        assert_eq!(evaluate(BinOp::Sub, Width::W32, 0, 1), 0xffff_ffff);
        assert_eq!(
            evaluate(BinOp::Ashr, Width::W32, 0x8000_0000, 4),
            0xf800_0000
        );
        assert_eq!(evaluate(BinOp::Ror, Width::W64, 1, 1), 1 << 63);
        assert_eq!(evaluate(BinOp::Shl, Width::W64, 1, 65), 2);
        let mut b = block(
            vec![
                Op::Const(6),
                Op::Const(7),
                Op::Binary(BinOp::Mul, Width::W64, Value(0), Value(1)),
                Op::Set(Loc::Gpr(0), Value(2)),
            ],
            Terminal::Next(4),
        );
        optimise(&mut b);
        assert_eq!(b.ops, vec![Op::Const(42), Op::Set(Loc::Gpr(0), Value(0))]);
    }

    #[test]
    fn the_verifier_rejects_a_value_living_across_an_interpreted_instruction() {
        let b = block(
            vec![
                Op::Get(Loc::Gpr(1)),
                Op::Interpret(0),
                Op::Set(Loc::Gpr(2), Value(0)),
            ],
            Terminal::Next(4),
        );
        assert!(verify(&b).unwrap_err().contains("across"));
        let b = block(vec![Op::Set(Loc::Gpr(2), Value(0))], Terminal::Next(4));
        assert!(verify(&b).is_err());
    }
}
