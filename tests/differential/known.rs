//! Known CPU mismatches: each entry names the instructions it covers (mask/value),
//! the reproducer and what is wrong. A mismatching case containing such an
//! instruction is reported as known and does not fail the run; the list is printed
//! every run so that it stays visible. Remove an entry once the bug is fixed (the run
//! then says the entry matched nothing).

pub struct Known {
    pub mask: u32,
    pub value: u32,
    pub note: &'static str,
}

/// Known armvm mismatches, each with its reproducer. Empty: the LDNP/STNP opc=01
/// decode bug found by this harness is fixed.
pub const KNOWN: &[Known] = &[];

/// The known-failure entry matching an instruction of `insns`, if any.
pub fn classify(insns: &[u32]) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| insns.iter().any(|&w| w & k.mask == k.value))
}
