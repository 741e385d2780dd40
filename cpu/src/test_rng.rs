//! The pseudo-random generator of the unit tests: splitmix64, reproducible from
//! the seed a failing test prints. Test modules add the value generators they
//! need as methods of their own. The SIMD tests' expected results were made by
//! a reference harness that uses the same sequence: the algorithm must not
//! change.

pub struct Rng(pub u64);

impl Rng {
    // Not an Iterator: it never ends, and the tests call it by this name.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
