//! Floating-point and Floating-point encodings: scalar FP data processing and
//! conversions, and the floating-point forms of Advanced SIMD (ARM ARM C4.1.90-C4.1.96). Same table form as [`super::a64`].

use super::a64::Encoding;
use super::pattern;
use super::Op;

/// Floating-point instruction kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FpOp {}

/// Overlapping rows, first listed wins.
pub const ALLOWED_OVERLAPS: &[(Op, Op)] = &[];

#[allow(unused_macros)]
macro_rules! fp {
    ($op:ident, $title:expr, $pat:expr) => {
        Encoding {
            op: Op::Fp(FpOp::$op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: None,
        }
    };
    ($op:ident, $title:expr, $pat:expr, $guard:expr) => {
        Encoding {
            op: Op::Fp(FpOp::$op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: Some($guard),
        }
    };
}

#[allow(unused_imports)]
use pattern as _;

#[rustfmt::skip]
pub static FP: &[Encoding] = &[];
