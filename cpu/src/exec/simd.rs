//! Advanced SIMD integer, permute, move and structure load/store.

use super::system::check_fp_enabled;
use super::ExecResult;
use crate::cpu::{Cpu, Platform};
use crate::decode::{Insn, SimdOp};

pub fn execute(cpu: &mut Cpu, _plat: &mut dyn Platform, _i: Insn, op: SimdOp) -> ExecResult {
    check_fp_enabled(cpu)?;
    match op {}
}
