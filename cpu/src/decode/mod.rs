//! A64 decoding: encoding tables (one row per encoding) and the decoded form.
//!
//! A decoded instruction is an [`Insn`]: the table's [`Op`] plus the raw word, whose
//! fields the executor extracts with the accessors below (named as in the ARM ARM).
//! Keeping the word instead of a struct per encoding keeps the block cache compact
//! and lets the trace and the JIT use the same table.

pub mod a64;
pub mod a64_fp;
pub mod a64_simd;
pub mod pattern;

pub use a64_fp::FpOp;
pub use a64_simd::SimdOp;

/// What an instruction is, as named by the row of the table that matched it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// No row matched: the encoding is unallocated (or not implemented).
    Unallocated,
    Adr,
    Adrp,
    AddSubImm,
    LogicalImm,
    Movn,
    Movz,
    Movk,
    Sbfm,
    Bfm,
    Ubfm,
    Extr,
    BCond,
    Svc,
    Hvc,
    Smc,
    Brk,
    Hlt,
    DebugOnly,
    MsrImm,
    Hint,
    Clrex,
    Barrier,
    Isb,
    Sys,
    Sysl,
    Msr,
    Mrs,
    Br,
    Blr,
    Ret,
    Eret,
    B,
    Bl,
    Cbz,
    Tbz,
    StoreExcl,
    LoadExcl,
    StoreExclPair,
    LoadExclPair,
    Casp,
    StoreRelease,
    LoadAcquire,
    Cas,
    LdrLiteral,
    LdrLiteralFp,
    LdstPair,
    LdstPairFp,
    LdstImm9,
    LdstRegOff,
    Atomic,
    LdstUimm,
    LdstImm9Fp,
    LdstRegOffFp,
    LdstUimmFp,
    Udiv,
    Sdiv,
    ShiftV,
    Crc32,
    Rbit,
    Rev16,
    Rev,
    Rev32,
    Clz,
    Cls,
    LogicalReg,
    AddSubShifted,
    AddSubExt,
    AdcSbc,
    CondCmpReg,
    CondCmpImm,
    CondSel,
    Madd,
    MulLong,
    MulHigh,
    /// Floating-point arithmetic and conversions, scalar and vector ([`a64_fp`]).
    Fp(FpOp),
    /// Advanced SIMD integer, permute and structure load/store ([`a64_simd`]).
    Simd(SimdOp),
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    pub word: u32,
}

/// Decodes one A64 instruction word.
pub fn decode(word: u32) -> Insn {
    Insn {
        op: lookup(word).map_or(Op::Unallocated, |e| e.op),
        word,
    }
}

/// The table row that decodes `word`, if any.
pub fn lookup(word: u32) -> Option<&'static a64::Encoding> {
    a64::BASE
        .iter()
        .chain(a64_fp::FP.iter())
        .chain(a64_simd::SIMD.iter())
        .find(|e| e.matches(word))
}

/// Whether `word` is an allocated, implemented encoding.
pub fn is_allocated(word: u32) -> bool {
    lookup(word).is_some()
}

impl Insn {
    /// Bits `hi..=lo` of the instruction word.
    #[inline(always)]
    pub fn bits(&self, hi: u32, lo: u32) -> u32 {
        (self.word >> lo) & ((1u32 << (hi - lo + 1)) - 1)
    }
    #[inline(always)]
    pub fn bit(&self, n: u32) -> bool {
        (self.word >> n) & 1 != 0
    }
    /// Sign-extended bits `hi..=lo`.
    #[inline(always)]
    pub fn sbits(&self, hi: u32, lo: u32) -> i64 {
        let width = hi - lo + 1;
        ((self.bits(hi, lo) as i64) << (64 - width)) >> (64 - width)
    }
    #[inline(always)]
    pub fn rd(&self) -> usize {
        (self.word & 31) as usize
    }
    #[inline(always)]
    pub fn rt(&self) -> usize {
        self.rd()
    }
    #[inline(always)]
    pub fn rn(&self) -> usize {
        ((self.word >> 5) & 31) as usize
    }
    #[inline(always)]
    pub fn rt2(&self) -> usize {
        ((self.word >> 10) & 31) as usize
    }
    #[inline(always)]
    pub fn ra(&self) -> usize {
        self.rt2()
    }
    #[inline(always)]
    pub fn rm(&self) -> usize {
        ((self.word >> 16) & 31) as usize
    }
    #[inline(always)]
    pub fn rs(&self) -> usize {
        self.rm()
    }
    /// The `sf` bit: 64-bit operation.
    #[inline(always)]
    pub fn sf(&self) -> bool {
        self.bit(31)
    }
    /// Whether this instruction ends a basic block.
    pub fn ends_block(&self) -> bool {
        use Op::*;
        // WFE and WFI may hand control to the board; other hints do nothing.
        if self.op == Hint {
            return matches!(self.bits(11, 5), 2 | 3);
        }
        matches!(
            self.op,
            Unallocated
                | BCond
                | Svc
                | Hvc
                | Smc
                | Brk
                | Hlt
                | DebugOnly
                | MsrImm
                | Isb
                | Sys
                | Sysl
                | Msr
                | Br
                | Blr
                | Ret
                | Eret
                | B
                | Bl
                | Cbz
                | Tbz
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `first` and `second` (in table order) may both match a word, the first
    /// taking it.
    fn overlap_listed(first: Op, second: Op) -> bool {
        let pair = (first, second);
        a64::ALLOWED_OVERLAPS.contains(&pair)
            || a64_fp::ALLOWED_OVERLAPS.contains(&pair)
            || a64_simd::ALLOWED_OVERLAPS.contains(&pair)
    }

    /// Any word matched by two rows must be a listed overlap. Uniform random words
    /// hardly ever reach a row with many fixed bits (one with 24 is hit once in 2^24
    /// words), so the candidates are also derived from the rows themselves: each
    /// row's pattern with its fields filled in (all zeros, all ones, random), the
    /// same for each one-bit neighbour of the pattern (one fixed bit flipped), and,
    /// for every two rows whose fixed bits agree, words matching both patterns.
    /// Guards are what tells those apart, so every candidate is tried against all rows.
    #[test]
    fn no_unlisted_overlaps() {
        let tables: Vec<&a64::Encoding> = a64::BASE
            .iter()
            .chain(a64_fp::FP.iter())
            .chain(a64_simd::SIMD.iter())
            .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut random = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 16) as u32
        };
        // Values for the field bits of a pattern: the extremes first, then random.
        let mut fill = move |k: usize| match k {
            0 => 0,
            1 => u32::MAX,
            _ => random(),
        };
        // Unlisted overlaps found, by pair of rows (in table order): a word both
        // match and how it was found.
        let mut found: std::collections::BTreeMap<(usize, usize), (u32, &str)> = Default::default();
        let mut words = 0u64;
        let mut check = |word: u32, how: &'static str| {
            words += 1;
            let mut hits = (0..tables.len()).filter(|&i| tables[i].matches(word));
            let Some(first) = hits.next() else {
                return;
            };
            let mut earlier = vec![first];
            for j in hits {
                for &i in &earlier {
                    if !overlap_listed(tables[i].op, tables[j].op) {
                        found.entry((i, j)).or_insert((word, how));
                    }
                }
                earlier.push(j);
            }
        };

        for _ in 0..200_000 {
            let word = fill(2);
            check(word, "random word");
        }
        for e in &tables {
            let free = !e.mask;
            for k in 0..128 {
                check(e.value | (fill(k) & free), "row pattern");
            }
            for b in (0..32).filter(|b| e.mask & (1 << b) != 0) {
                let neighbour = e.value ^ (1 << b);
                for k in 0..32 {
                    check(neighbour | (fill(k) & free), "one-bit neighbour");
                }
            }
        }
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[i + 1..] {
                if (a.value ^ b.value) & a.mask & b.mask != 0 {
                    continue;
                }
                // Only guards keep these two apart: sample them harder.
                let (mask, value) = (a.mask | b.mask, a.value | b.value);
                for k in 0..1024 {
                    check(value | (fill(k) & !mask), "both patterns");
                }
            }
        }
        let report: Vec<String> = found
            .iter()
            .map(|(&(i, j), &(word, how))| {
                format!(
                    "{word:#010x} ({how}) matches {:?} \"{}\" and then {:?} \"{}\"",
                    tables[i].op, tables[i].title, tables[j].op, tables[j].title
                )
            })
            .collect();
        assert!(
            report.is_empty(),
            "{} unlisted overlaps in {words} words:\n{}",
            report.len(),
            report.join("\n")
        );

        // Each row must be reachable: its own fixed value decodes to it (guards aside).
        for e in &tables {
            if e.guard.is_none() {
                assert_eq!(
                    lookup(e.value).map(|h| h.title),
                    Some(e.title),
                    "row {} is shadowed",
                    e.title
                );
            }
        }
    }

    #[test]
    fn table_driven_examples() {
        let cases: &[(u32, Op)] = &[
            (0x9100_0420, Op::AddSubImm),   // add x0, x1, #1
            (0xd280_0540, Op::Movz),        // mov x0, #42
            (0xd65f_03c0, Op::Ret),         // ret
            (0xd503_201f, Op::Hint),        // nop
            (0xf940_0020, Op::LdstUimm),    // ldr x0, [x1]
            (0x9b02_7c20, Op::Madd),        // mul x0, x1, x2
            (0x0000_0000, Op::Unallocated), // udf #0
            (0xd4a0_0001, Op::DebugOnly),   // dcps1
            (0x52c0_0000, Op::Unallocated), // movz w0 with hw=2: reserved in 32-bit
        ];
        for &(word, op) in cases {
            assert_eq!(decode(word).op, op, "{word:#010x}");
        }
    }
}
