//! Floating-point arithmetic and conversions, scalar and vector.

use super::system::check_fp_enabled;
use super::ExecResult;
use crate::cpu::{Cpu, Platform};
use crate::decode::{FpOp, Insn};

pub fn execute(cpu: &mut Cpu, _plat: &mut dyn Platform, _i: Insn, op: FpOp) -> ExecResult {
    check_fp_enabled(cpu)?;
    match op {}
}
