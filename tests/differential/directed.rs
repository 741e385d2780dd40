//! Directed cases: edge values, every condition against every flag combination,
//! and a few fixed sequences per group.
//!
//! Words are as the GNU assembler encodes them (`x0` destination, `x1`, `x2`, ...
//! sources), written with the assembly beside them.

use crate::asm::*;
use crate::case::*;
use crate::gen::{Gen, Kind};
use crate::rng::Rng;

/// Edge operand values for two-operand cases.
const EDGE: &[u64] = &[
    0,
    1,
    u64::MAX,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
];

/// A directed case: `insns` from a random state with `regs` set.
struct D {
    label: String,
    insns: Vec<u32>,
    regs: Vec<(usize, u64)>,
    nzcv: Option<u64>,
    fpcr: Option<u64>,
    /// (register, scratch offset) pins.
    pins: Vec<(usize, usize)>,
}

fn d(label: String, insns: Vec<u32>) -> D {
    D {
        label,
        insns,
        regs: Vec::new(),
        nzcv: None,
        fpcr: None,
        pins: Vec::new(),
    }
}

impl D {
    fn regs(mut self, r: &[(usize, u64)]) -> Self {
        self.regs.extend_from_slice(r);
        self
    }
    fn nzcv(mut self, n: u64) -> Self {
        self.nzcv = Some(n << 28);
        self
    }
    fn pin(mut self, r: usize, t: usize) -> Self {
        self.pins.push((r, t));
        self
    }
}

/// The directed cases of a group, built from `seed` (for the registers they leave
/// random).
pub fn cases(kind: Kind, group: &'static str, seed: u64) -> Vec<Case> {
    let list = match kind {
        Kind::DpImm => dp_imm(),
        Kind::DpReg => dp_reg(),
        Kind::Branch => branch(),
        Kind::Ldst => ldst(),
        Kind::Excl => excl(),
        Kind::Atomic => atomic(),
        Kind::Sys => sys_cases(),
        Kind::Mixed => Vec::new(),
        Kind::Fp => fp(),
        Kind::Simd => simd(),
    };
    let fp = matches!(kind, Kind::Fp | Kind::Simd);
    list.into_iter()
        .enumerate()
        .map(|(i, dc)| {
            let mut rng = Rng::derive(seed, 0xd1ec7ed, i as u64);
            let mut g = Gen::new(&mut rng, fp);
            for &(r, v) in &dc.regs {
                g.set(r, v);
            }
            if let Some(n) = dc.nzcv {
                g.state.nzcv = n;
            }
            if let Some(f) = dc.fpcr {
                g.state.fpcr = f;
            }
            for &(r, t) in &dc.pins {
                g.pin(r, t, 0);
            }
            for &w in &dc.insns {
                g.push(w);
            }
            g.finish(group, format!("directed #{i}: {}", dc.label))
        })
        .collect()
}

fn dp_imm() -> Vec<D> {
    let mut v = Vec::new();
    // Shifts by immediate via UBFM/SBFM/EXTR at 0, 1, 31, 32, 63.
    for &s in &[0u32, 1, 31, 32, 63] {
        for &x in EDGE {
            // lsl x0, x1, #s = ubfm x0, x1, #(-s mod 64), #(63-s)
            let lsl = 0xd340_0020 | (((64 - s) % 64) << 16) | ((63 - s) << 10);
            // asr x0, x1, #s = sbfm x0, x1, #s, #63
            let asr = 0x9340_fc20 | (s << 16);
            // extr x0, x1, x2, #s
            let extr = 0x93c2_0020 | (s << 10);
            for (name, w) in [("lsl", lsl), ("asr", asr), ("extr", extr)] {
                v.push(d(format!("{name} #{s} of {x:#x}"), vec![w]).regs(&[(1, x), (2, !x)]));
            }
            if s < 32 {
                // lsr w0, w1, #s = ubfm w0, w1, #s, #31
                let lsr32 = 0x5300_7c20 | (s << 16);
                v.push(d(format!("lsr w #{s} of {x:#x}"), vec![lsr32]).regs(&[(1, x)]));
            }
        }
    }
    // add/sub immediate setting flags at the carry and overflow boundaries.
    for &x in EDGE {
        for (name, w) in [
            ("adds x0, x1, #1", 0xb100_0420u32),
            ("subs x0, x1, #1", 0xf100_0420),
            ("adds w0, w1, #1", 0x3100_0420),
            ("subs w0, w1, #1", 0x7100_0420),
            ("cmp x1, #0", 0xf100_003f),
            ("cmn w1, #4095, lsl #12", 0x317f_fc3f),
        ] {
            v.push(d(format!("{name} with x1={x:#x}"), vec![w]).regs(&[(1, x)]));
        }
    }
    v
}

fn dp_reg() -> Vec<D> {
    let mut v = Vec::new();
    let two_op: &[(&str, u32)] = &[
        ("adds x0, x1, x2", 0xab02_0020),
        ("subs x0, x1, x2", 0xeb02_0020),
        ("adcs x0, x1, x2", 0xba02_0020),
        ("sbcs x0, x1, x2", 0xfa02_0020),
        ("adds w0, w1, w2", 0x2b02_0020),
        ("subs w0, w1, w2", 0x6b02_0020),
        ("adcs w0, w1, w2", 0x3a02_0020),
        ("sbcs w0, w1, w2", 0x7a02_0020),
        ("mul x0, x1, x2", 0x9b02_7c20),
        ("smulh x0, x1, x2", 0x9b42_7c20),
        ("umulh x0, x1, x2", 0x9bc2_7c20),
        ("sdiv x0, x1, x2", 0x9ac2_0c20),
        ("udiv x0, x1, x2", 0x9ac2_0820),
        ("sdiv w0, w1, w2", 0x1ac2_0c20),
        ("udiv w0, w1, w2", 0x1ac2_0820),
        ("crc32b w0, w1, w2", 0x1ac2_4020),
        ("crc32h w0, w1, w2", 0x1ac2_4420),
        ("crc32w w0, w1, w2", 0x1ac2_4820),
        ("crc32x w0, w1, x2", 0x9ac2_4c20),
        ("crc32cb w0, w1, w2", 0x1ac2_5020),
        ("crc32ch w0, w1, w2", 0x1ac2_5420),
        ("crc32cw w0, w1, w2", 0x1ac2_5820),
        ("crc32cx w0, w1, x2", 0x9ac2_5c20),
        ("smaddl x0, w1, w2, x1", 0x9b22_0420),
        ("umsubl x0, w1, w2, x2", 0x9ba2_8820),
    ];
    for &(name, w) in two_op {
        for &a in EDGE {
            for &b in EDGE {
                for c in [0u64, 2] {
                    v.push(
                        d(format!("{name} with {a:#x}, {b:#x}, C={}", c / 2), vec![w])
                            .regs(&[(1, a), (2, b)])
                            .nzcv(c),
                    );
                }
            }
        }
    }
    // Variable shifts by 0, 1, 31, 32, 63, 64, 65 and -1.
    let shifts: &[(&str, u32)] = &[
        ("lslv x", 0x9ac2_2020),
        ("lsrv x", 0x9ac2_2420),
        ("asrv x", 0x9ac2_2820),
        ("rorv x", 0x9ac2_2c20),
        ("lslv w", 0x1ac2_2020),
        ("lsrv w", 0x1ac2_2420),
        ("asrv w", 0x1ac2_2820),
        ("rorv w", 0x1ac2_2c20),
    ];
    for &(name, w) in shifts {
        for &x in EDGE {
            for s in [0u64, 1, 31, 32, 63, 64, 65, u64::MAX] {
                v.push(d(format!("{name} {x:#x} by {s}"), vec![w]).regs(&[(1, x), (2, s)]));
            }
        }
    }
    let one_op: &[(&str, u32)] = &[
        ("clz x", 0xdac0_1020),
        ("cls x", 0xdac0_1420),
        ("rbit x", 0xdac0_0020),
        ("rev x", 0xdac0_0c20),
        ("rev16 x", 0xdac0_0420),
        ("rev32 x", 0xdac0_0820),
        ("clz w", 0x5ac0_1020),
        ("cls w", 0x5ac0_1420),
        ("rev w", 0x5ac0_0820),
    ];
    for &(name, w) in one_op {
        for &x in EDGE
            .iter()
            .chain(&[1u64 << 31, 1 << 32, 0x00ff_0000_0000_0000])
        {
            v.push(d(format!("{name} {x:#x}"), vec![w]).regs(&[(1, x)]));
        }
    }
    // Every condition against every flag value: CSEL, CSINC, CSNEG, CCMP, CCMN.
    for cond in 0..16u32 {
        for nzcv in 0..16u64 {
            let csel = 0x9a82_0020 | (cond << 12);
            let csneg = 0xda82_0420 | (cond << 12);
            let csinc_w = 0x1a82_0420 | (cond << 12);
            let ccmp = 0xfa42_0020 | (cond << 12) | (nzcv as u32 ^ 0b1010);
            let ccmn_imm = 0x3a40_0820 | (cond << 12) | (5 << 16) | (nzcv as u32 ^ 0b0101);
            for (name, w) in [
                ("csel", csel),
                ("csneg", csneg),
                ("csinc w", csinc_w),
                ("ccmp", ccmp),
                ("ccmn w #5", ccmn_imm),
            ] {
                v.push(
                    d(format!("{name} cond {cond:#x} nzcv {nzcv:#x}"), vec![w])
                        .regs(&[(1, 5), (2, u64::MAX - 4)])
                        .nzcv(nzcv),
                );
            }
        }
    }
    v
}

fn branch() -> Vec<D> {
    let mut v = Vec::new();
    // b.cond over one instruction, for every condition and flag value.
    for cond in 0..16u32 {
        for nzcv in 0..16u64 {
            let bcond = 0x5400_0040 | cond; // b.cond .+8
            v.push(
                d(
                    format!("b.{cond:#x} with nzcv {nzcv:#x}"),
                    vec![bcond, movz(0, 1, 0)],
                )
                .nzcv(nzcv),
            );
        }
    }
    // cbz/cbnz/tbz/tbnz on zero, one bit, and sign bits.
    for &x in &[0u64, 1, 1 << 31, 1 << 32, 1 << 63, u64::MAX] {
        for (name, w) in [
            ("cbz x1", 0xb400_0041u32),
            ("cbnz x1", 0xb500_0041),
            ("cbz w1", 0x3400_0041),
            ("cbnz w1", 0x3500_0041),
            ("tbz x1, #0", 0x3600_0041),
            ("tbnz x1, #31", 0x37f8_0041),
            ("tbz x1, #32", 0xb600_0041),
            ("tbnz x1, #63", 0xb7f8_0041),
        ] {
            v.push(d(format!("{name} with {x:#x}"), vec![w, movz(0, 1, 0)]).regs(&[(1, x)]));
        }
    }
    // bl / blr / ret: the link register, and branching through x30.
    v.push(d("bl .+8".into(), vec![0x9400_0002, movz(0, 1, 0)]));
    v.push(d(
        "adr x5; blr x5".into(),
        vec![adr(5, 12), 0xd63f_00a0, movz(0, 1, 0), movz(1, 2, 0)],
    ));
    v.push(d(
        "adr x30; ret".into(),
        vec![adr(30, 8), 0xd65f_03c0, movz(0, 1, 0)],
    ));
    v.push(d(
        "adr x16; br x16".into(),
        vec![adr(16, 8), 0xd61f_0200, movz(0, 1, 0)],
    ));
    v
}

fn ldst() -> Vec<D> {
    let mut v = Vec::new();
    // Unaligned accesses across the page boundary in the middle of the scratch area.
    let page = SCRATCH_SIZE / 2;
    for back in 1..8usize {
        for (name, w) in [
            ("ldr x0, [x1]", 0xf940_0020u32),
            ("str x2, [x1]", 0xf900_0022),
            ("ldr w0, [x1]", 0xb940_0020),
            ("ldrsh x0, [x1]", 0x7980_0020),
            ("ldp x0, x2, [x1]", 0xa940_0820),
            ("stp x2, x3, [x1], #16", 0xa881_0c22),
            ("ldr q0, [x1]", 0x3dc0_0020),
            ("ldp q0, q2, [x1, #-32]!", 0xadff_0820),
        ] {
            v.push(d(format!("{name} at page-{back}"), vec![w]).pin(1, page - back));
        }
    }
    // Loads that overwrite their own base without writeback; sign extensions.
    v.push(d("ldr x1, [x1]".into(), vec![0xf940_0021]).pin(1, 8));
    v.push(d("ldrsw x1, [x1, #4]".into(), vec![0xb980_0421]).pin(1, 8));
    v.push(d("ldrsb w1, [x1]".into(), vec![0x39c0_0021]).pin(1, 9));
    v.push(d("ldp x2, x1, [x1]".into(), vec![0xa940_0422]).pin(1, 64));
    v.push(d("ldpsw x2, x3, [x1]".into(), vec![0x6940_0c22]).pin(1, 64));
    // Stores of the base register itself.
    v.push(d("str x1, [x1]".into(), vec![0xf900_0021]).pin(1, 128));
    v.push(d("stp x1, x1, [x1]".into(), vec![0xa900_0421]).pin(1, 128));
    // SP as base, with writeback.
    v.push(d("str x0, [sp, #-16]!".into(), vec![0xf81f_0fe0]).pin(SP, 256));
    v.push(d("ldp x0, x1, [sp], #16".into(), vec![0xa8c1_07e0]).pin(SP, 256));
    v
}

fn excl() -> Vec<D> {
    let mut v = Vec::new();
    let pairs: &[(&str, u32, u32)] = &[
        ("ldxrb/stxrb", 0x085f_7c41, 0x0803_7c44),
        ("ldxrh/stxrh", 0x485f_7c41, 0x4803_7c44),
        ("ldxr w/stxr w", 0x885f_7c41, 0x8803_7c44),
        ("ldxr/stxr", 0xc85f_7c41, 0xc803_7c44),
        ("ldaxr/stlxr", 0xc85f_fc41, 0xc803_fc44),
        ("ldxp/stxp x", 0xc87f_1441, 0xc823_1444), // ldxp x1, x5, [x2]; stxp w3, x4, x5, [x2]
        ("ldaxp/stlxp w", 0x887f_9441, 0x8823_9444),
    ];
    for &(name, ld, st) in pairs {
        v.push(d(format!("{name} succeeds"), vec![ld, st]).pin(2, 64));
        v.push(d(format!("{name} after clrex fails"), vec![ld, CLREX, st]).pin(2, 64));
        v.push(d(format!("{name} without load fails"), vec![st]).pin(2, 64));
    }
    v.push(d("ldar/stlr".into(), vec![0xc8df_fc41, 0xc89f_fc44]).pin(2, 32));
    v
}

fn atomic() -> Vec<D> {
    let mut v = Vec::new();
    // x3 -> a zero doubleword pair, so that x1 == 0 compares equal.
    for (name, w) in [
        ("cas x1, x2, [x3]", 0xc8a1_7c62u32),
        ("casal w1, w2, [x3]", 0x88e1_fc62),
        ("casb w1, w2, [x3]", 0x08a1_7c62),
        ("ldadd x1, x2, [x3]", 0xf821_0062),
        ("ldsmax w1, w2, [x3]", 0xb821_4062),
        ("ldumin x1, x2, [x3]", 0xf821_7062),
        ("swp x1, x2, [x3]", 0xf821_8062),
        ("ldclrh w1, w2, [x3]", 0x7821_1062),
    ] {
        for &a in &[0u64, 1, u64::MAX, 0x8000_0000, 0x7fff_ffff_ffff_ffff] {
            v.push(
                d(format!("{name} with x1={a:#x}"), vec![w])
                    .regs(&[(1, a), (2, !a)])
                    .pin(3, 512),
            );
        }
    }
    // casp x0, x1, x2, x3, [x4]
    v.push(d("casp x".into(), vec![0x4820_7c82]).pin(4, 1024));
    v
}

fn sys_cases() -> Vec<D> {
    let mut v = Vec::new();
    for n in 0..16u64 {
        v.push(
            d(
                format!("msr nzcv {n:#x}; mrs"),
                vec![msr(NZCV, 1), mrs(2, NZCV)],
            )
            .regs(&[(1, (n << 28) | 0x0fff_ffff)]),
        );
    }
    v.push(d(
        "mrs dczid, ctr".into(),
        vec![
            mrs(1, DCZID_EL0),
            mrs(2, CTR_EL0),
            and_clear_bits_29_28(2, 2),
        ],
    ));
    v.push(
        d(
            "tpidr_el0 round trip".into(),
            vec![mrs(2, TPIDR_EL0), msr(TPIDR_EL0, 1), mrs(3, TPIDR_EL0)],
        )
        .regs(&[(1, 0x1234_5678_9abc_def0)]),
    );
    v.push(
        d(
            "fpcr/fpsr round trip".into(),
            vec![msr(FPCR, 1), msr(FPSR, 2), mrs(3, FPCR), mrs(4, FPSR)],
        )
        .regs(&[(1, FPCR_MASK), (2, u64::MAX)]),
    );
    for t in [0, 63, 64, 100, 4095] {
        v.push(d(format!("dc zva at {t}"), vec![sys(3, 7, 4, 1, 1)]).pin(1, t));
    }
    v
}

fn fp() -> Vec<D> {
    let words: &[(&str, u32)] = &[
        ("fadd d0, d1, d2", 0x1e62_2820),
        ("fsub s0, s1, s2", 0x1e22_3820),
        ("fmul d0, d1, d2", 0x1e62_0820),
        ("fdiv d0, d1, d2", 0x1e62_1820),
        ("fmadd d0, d1, d2, d3", 0x1f42_0c20),
        ("fsqrt d0, d1", 0x1e61_c020),
        ("fcvtzs x0, d1", 0x9e78_0020),
        ("scvtf d0, x1", 0x9e62_0020),
        ("fcmp d1, d2", 0x1e62_2020),
        ("fcmpe s1, s2", 0x1e22_2030),
        ("fcvt s0, d1", 0x1e62_4020),
        ("frintn d0, d1", 0x1e64_4020),
        ("frinta d0, d1", 0x1e66_4020),
        ("fmov x0, d1", 0x9e66_0020),
        ("fmaxnm d0, d1, d2", 0x1e62_6820),
        ("fminnm s0, s1, s2", 0x1e22_7820),
        ("fcsel d0, d1, d2, eq", 0x1e62_0c20),
        ("fccmp d1, d2, #0, ne", 0x1e62_1420),
        ("fcvtzu w0, s1", 0x1e39_0020),
        ("ucvtf s0, w1", 0x1e23_0020),
        ("fnmul s0, s1, s2", 0x1e22_8820),
        ("fabs d0, d1", 0x1e60_c020),
        ("fneg s0, s1", 0x1e21_4020),
        ("fadd v0.4s, v1.4s, v2.4s", 0x4e22_d420),
        ("fcvtzs v0.2d, v1.2d", 0x4ee1_b820),
        ("fmla v0.2d, v1.2d, v2.2d", 0x4e62_cc20),
        ("frecpe v0.4s, v1.4s", 0x4ea1_d820),
    ];
    let mut v = Vec::new();
    // Each word under every rounding mode with FZ and DN on and off.
    for &(name, w) in words {
        for mode in 0..16u64 {
            let mut dc = d(format!("{name}, fpcr mode {mode:#x}"), vec![w]);
            dc.fpcr = Some(((mode & 3) << 22) | ((mode >> 2) << 24));
            v.push(dc);
        }
    }
    v
}

fn simd() -> Vec<D> {
    let words: &[(&str, u32)] = &[
        ("add v0.4s, v1.4s, v2.4s", 0x4ea2_8420),
        ("mul v0.8h, v1.8h, v2.8h", 0x4e62_9c20),
        ("cmeq v0.16b, v1.16b, v2.16b", 0x6e22_8c20),
        ("tbl v0.16b, {v1.16b}, v2.16b", 0x4e02_0020),
        ("uzp1 v0.4s, v1.4s, v2.4s", 0x4e82_1820),
        ("sqadd v0.2d, v1.2d, v2.2d", 0x4ee2_0c20),
        ("addv s0, v1.4s", 0x4eb1_b820),
        ("dup v0.4s, w1", 0x4e04_0c20),
        ("mov x0, v1.d[1]", 0x4e18_3c20),
        ("ext v0.16b, v1.16b, v2.16b, #3", 0x6e02_1820),
        ("sshr v0.4s, v1.4s, #3", 0x4f3d_0420),
        ("rev64 v0.16b, v1.16b", 0x4e20_0820),
        ("cnt v0.8b, v1.8b", 0x0e20_5820),
        ("uqrshl v0.8h, v1.8h, v2.8h", 0x6e62_5c20),
        ("movi v0.2d, #0xff00ff00ff00ff00", 0x6f05_e540),
        // The cryptographic extension.
        ("aese v0.16b, v1.16b", 0x4e28_4820),
        ("aesd v0.16b, v1.16b", 0x4e28_5820),
        ("aesmc v0.16b, v1.16b", 0x4e28_6820),
        ("aesimc v0.16b, v1.16b", 0x4e28_7820),
        ("pmull v0.1q, v1.1d, v2.1d", 0x0ee2_e020),
        ("pmull2 v0.1q, v1.2d, v2.2d", 0x4ee2_e020),
        ("sha1c q0, s1, v2.4s", 0x5e02_0020),
        ("sha1p q0, s1, v2.4s", 0x5e02_1020),
        ("sha1m q0, s1, v2.4s", 0x5e02_2020),
        ("sha1su0 v0.4s, v1.4s, v2.4s", 0x5e02_3020),
        ("sha256h q0, q1, v2.4s", 0x5e02_4020),
        ("sha256h2 q0, q1, v2.4s", 0x5e02_5020),
        ("sha256su1 v0.4s, v1.4s, v2.4s", 0x5e02_6020),
        ("sha1h s0, s1", 0x5e28_0820),
        ("sha1su1 v0.4s, v1.4s", 0x5e28_1820),
        ("sha256su0 v0.4s, v1.4s", 0x5e28_2820),
    ];
    let mut v: Vec<D> = words
        .iter()
        .map(|&(name, w)| d(name.to_string(), vec![w]))
        .collect();
    v.push(d("ld1 {v0.16b}, [x0]".into(), vec![0x4c40_7000]).pin(0, 100));
    v.push(d("st1 {v1.4s, v2.4s}, [x0]".into(), vec![0x4c00_a801]).pin(0, 200));
    v
}
