//! Advanced SIMD encodings other than floating-point arithmetic:
//! integer, permute, move and structure load/store (ARM ARM C4.1.88, C4.1.90-C4.1.96). Same table form as [`super::a64`].

use super::a64::Encoding;
use super::pattern;
use super::Op;

/// Advanced SIMD (non-floating-point) instruction kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdOp {}

/// Overlapping rows, first listed wins.
pub const ALLOWED_OVERLAPS: &[(Op, Op)] = &[];

#[allow(unused_macros)]
macro_rules! simd {
    ($op:ident, $title:expr, $pat:expr) => {
        Encoding {
            op: Op::Simd(SimdOp::$op),
            title: $title,
            mask: pattern::mask($pat),
            value: pattern::value($pat),
            guard: None,
        }
    };
    ($op:ident, $title:expr, $pat:expr, $guard:expr) => {
        Encoding {
            op: Op::Simd(SimdOp::$op),
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
pub static SIMD: &[Encoding] = &[];
