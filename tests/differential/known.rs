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

pub const KNOWN: &[Known] = &[Known {
    // LDNP/STNP (general registers) with opc=01: there is no "LDNPSW".
    mask: 0xff80_0000,
    value: 0x6800_0000,
    note: "decode: STNP/LDNP with opc=01 (e.g. 0x6879b7a6) is UNALLOCATED but armvm \
               decodes it (ldst_pair_gpr_ok admits opc=01 with L=1 for the no-allocate \
               row as well as for LDPSW); qemu raises SIGILL, armvm loads a pair",
}];

/// The known-failure entry matching an instruction of `insns`, if any.
pub fn classify(insns: &[u32]) -> Option<&'static Known> {
    KNOWN
        .iter()
        .find(|k| insns.iter().any(|&w| w & k.mask == k.value))
}
