//! CPU models (`--cpu`): the identification registers and cache geometry a
//! guest reads. A named core shows its own MIDR, cache sizes and feature
//! fields, cut down to what armvm implements (no AArch32, no EL2/EL3, no big
//! endian); `max` shows everything armvm implements. The behaviour of the
//! CPU is the same for every model: only what it advertises differs.

/// A CPU model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Model {
    CortexA57,
    /// The default: a real core (so guests apply its known errata handling
    /// and tools recognise it) with everything armvm implements of ARMv8.0,
    /// including the cryptographic extension.
    #[default]
    CortexA72,
    /// Everything armvm implements, also beyond ARMv8.0 (LSE atomics), with
    /// a MIDR of no real core.
    Max,
}

/// The identification registers of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdRegisters {
    pub midr: u64,
    pub revidr: u64,
    /// ID_AA64PFR0_EL1 without the GIC field, which the board adds.
    pub aa64pfr0: u64,
    pub aa64dfr0: u64,
    pub aa64isar0: u64,
    pub aa64mmfr0: u64,
    pub ctr: u64,
    pub clidr: u64,
    /// CCSIDR_EL1 for each CSSELR_EL1 value (Level << 1 | InD); caches the
    /// CLIDR does not list read as 0.
    pub ccsidr: [u64; 16],
}

/// EL0 and EL1 AArch64 only; FP and AdvSIMD implemented (fields 0); CSV2 and
/// CSV3 (bits 59:56, 63:60): armvm does not speculate, so it is immune to
/// Spectre-v2 and Meltdown, and kernels need no mitigations (no KPTI) for it.
const AA64PFR0: u64 = 0x1100_0000_0000_0011;
/// Debug v8 (6); PMUv3 (PMUVer 1); 6 breakpoints (BRPs 5), one of them
/// context-aware (CTX_CMPs 0), 4 watchpoints (WRPs 3). Cortex-A57 and A72
/// have two context-aware breakpoints; armvm implements one.
const AA64DFR0: u64 = 0x0000_0000_0030_5106;
/// AES with PMULL (bits 7:4 = 2), SHA1 (11:8 = 1), SHA256 (15:12 = 1),
/// CRC32 (19:16 = 1): Cortex-A57/A72 with the cryptographic extension.
const AA64ISAR0_V80: u64 = 0x0000_0000_0001_1120;
/// The same with LSE atomics (23:20 = 2).
const AA64ISAR0_MAX: u64 = 0x0000_0000_0021_1120;
/// 44-bit PA, 16-bit ASIDs, 4K and 64K granules, little-endian only (the
/// Cortex-A57/A72 value without mixed-endian support).
const AA64MMFR0_A57: u64 = 0x0000_0000_0000_0024;
/// 48-bit PA, 16-bit ASIDs, 4K/16K/64K granules, little-endian only.
const AA64MMFR0_MAX: u64 = 0x0000_0000_0010_0025;
/// Cortex-A57/A72: 64-byte lines, PIPT I-cache, no IDC/DIC.
const CTR_A57: u64 = 0x0000_0000_8444_c004;
/// 64-byte lines, PIPT I-cache, IDC and DIC set: armvm keeps instruction
/// fetch coherent with data writes, so the guest needs no cache maintenance.
const CTR_MAX: u64 = 0x0000_0000_b444_c004;
/// Separate L1 instruction and data caches and a unified L2; LoUU 1, LoC 2
/// (as on Cortex-A57/A72).
const CLIDR_A57: u64 = 0x0a20_0023;
/// One level of separate instruction and data caches.
const CLIDR_MAX: u64 = 0x0920_0003;

/// CCSIDR_EL1 (the ARMv8.0 format) of a cache.
const fn ccsidr(sets: u64, ways: u64, line_bytes_log2: u64) -> u64 {
    (1 << 30) | (1 << 29) | ((sets - 1) << 13) | ((ways - 1) << 3) | (line_bytes_log2 - 4)
}

impl Model {
    pub fn id_registers(self) -> IdRegisters {
        let mut caches = [0; 16];
        match self {
            Model::CortexA57 | Model::CortexA72 => {
                // L1D 32 KiB 2-way; L1I 48 KiB 3-way; L2 2 MiB (A57) or
                // 1 MiB (A72) 16-way; all 64-byte lines.
                caches[0] = ccsidr(256, 2, 6) | (1 << 31);
                caches[1] = ccsidr(256, 3, 6) & !(1 << 30);
                let l2_sets = if self == Model::CortexA57 { 2048 } else { 1024 };
                caches[2] = ccsidr(l2_sets, 16, 6) | (1 << 31);
                let (midr, revidr) = match self {
                    // r1p3, r0p3: the revisions QEMU's models report.
                    Model::CortexA57 => (0x411f_d070, 0),
                    _ => (0x410f_d083, 0),
                };
                IdRegisters {
                    midr,
                    revidr,
                    aa64pfr0: AA64PFR0,
                    aa64dfr0: AA64DFR0,
                    aa64isar0: AA64ISAR0_V80,
                    aa64mmfr0: AA64MMFR0_A57,
                    ctr: CTR_A57,
                    clidr: CLIDR_A57,
                    ccsidr: caches,
                }
            }
            Model::Max => {
                // 64-byte lines, 4-way, 256 sets (64 KiB), data and instruction.
                caches[0] = ccsidr(256, 4, 6);
                caches[1] = ccsidr(256, 4, 6);
                IdRegisters {
                    // Implementer 0 ("reserved for software use"), architecture
                    // "see ID registers", part number 0x001: no real core's MIDR,
                    // so guests apply no errata.
                    midr: 0x000f_0010,
                    revidr: 0,
                    aa64pfr0: AA64PFR0,
                    aa64dfr0: AA64DFR0,
                    aa64isar0: AA64ISAR0_MAX,
                    aa64mmfr0: AA64MMFR0_MAX,
                    ctr: CTR_MAX,
                    clidr: CLIDR_MAX,
                    ccsidr: caches,
                }
            }
        }
    }
}

impl Default for IdRegisters {
    fn default() -> Self {
        Model::default().id_registers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_differ_only_where_the_cores_do() {
        let a57 = Model::CortexA57.id_registers();
        let a72 = Model::CortexA72.id_registers();
        let max = Model::Max.id_registers();
        assert_eq!(a57.midr >> 4 & 0xfff, 0xd07, "part number");
        assert_eq!(a72.midr >> 4 & 0xfff, 0xd08);
        assert_eq!(a57.midr >> 24, 0x41, "Arm Ltd");
        // Crypto on all; LSE atomics only on max.
        for m in [&a57, &a72, &max] {
            assert_eq!(m.aa64isar0 & 0xffff0, 0x11120);
        }
        assert_eq!((a72.aa64isar0 >> 20) & 0xf, 0);
        assert_eq!((max.aa64isar0 >> 20) & 0xf, 2);
        // The L1 data cache: 32 KiB on the Cortex cores.
        let size = |c: u64| {
            let line = 16u64 << (c & 7);
            let ways = ((c >> 3) & 0x3ff) + 1;
            let sets = ((c >> 13) & 0x7fff) + 1;
            line * ways * sets
        };
        assert_eq!(size(a57.ccsidr[0]), 32 << 10);
        assert_eq!(size(a57.ccsidr[1]), 48 << 10);
        assert_eq!(size(a57.ccsidr[2]), 2 << 20);
        assert_eq!(size(a72.ccsidr[2]), 1 << 20);
        assert_eq!(a57.ccsidr[4], 0, "no L3");
    }
}
