//! Reference cases for the structure loads and stores.
//!
//! Expected values come from qemu-aarch64 (QEMU 7.2, user mode): each instruction
//! was run from the state [`Machine::new`] builds from the row's seed and the
//! reference's registers, FPSR.QC and buffer were recorded (see `testutil`). The
//! UNDEFINED rows are words the reference rejects with SIGILL.

use super::super::testutil::*;

#[rustfmt::skip]
const LDST: &[Case] = &[
    Case { asm: "ld1 {v0.16b}, [x1]", word: 0x4c407020, seed: 1, set: &[(X(1), buf(0x13))], out: &[(V(0), 0x352d683b611c1c0db6c76665ee4965e1)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.8b}, [x1]", word: 0x0c407020, seed: 2, set: &[(X(1), buf(0x20))], out: &[(V(0), 0x0000000000000000df554ee0d90853df)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.4h, v1.4h}, [x1]", word: 0x0c40a420, seed: 3, set: &[(X(1), buf(0x22))], out: &[(V(0), 0x0000000000000000d7d4f9f988ca3e3e), (V(1), 0x0000000000000000ecb324afe508d231)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.8h, v1.8h, v2.8h}, [x1]", word: 0x4c406420, seed: 4, set: &[(X(1), buf(0x10))], out: &[(V(0), 0xfe1d36936f2e9bb1e301b4fc743c8fc4), (V(1), 0x8a31703ef45692d5745cd6b325386fb5), (V(2), 0x74c1c2d04957b07e3a08cadf69153a09)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.2s, v1.2s, v2.2s, v3.2s}, [x1]", word: 0x0c402820, seed: 5, set: &[(X(1), buf(0x4))], out: &[(V(0), 0x00000000000000009b06978bec558042), (V(1), 0x0000000000000000202d0382b1ea953d), (V(2), 0x00000000000000003350e5b384de2a6f), (V(3), 0x00000000000000004aa78d7118e26fd5)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.2d, v1.2d, v2.2d, v3.2d}, [x1]", word: 0x4c402c20, seed: 6, set: &[(X(1), buf(0x8))], out: &[(V(0), 0xf5fd0b82faf417078539bb47a08e1799), (V(1), 0x5677435e52aa491a04ee1ea3fd686181), (V(2), 0x8fe6b3b098672772d30f1fa27c42a276), (V(3), 0xe08c99d18c1b7180e9d66888fb9e08a0)], qc: false, mem: &[] },
    Case { asm: "ld1 {v31.1d, v0.1d}, [x1]", word: 0x0c40ac3f, seed: 7, set: &[(X(1), buf(0x8))], out: &[(V(0), 0x0000000000000000624e544226383392), (V(31), 0x0000000000000000bf985d424e0e6c67)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.16b}, [x1], #16", word: 0x4cdf7020, seed: 8, set: &[(X(1), buf(0x20))], out: &[(V(0), 0xa8e5000a6f240a660d1dceec661136a7), (X(1), 0x0000000030008030)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.4s, v1.4s}, [x1], #32", word: 0x4cdfa820, seed: 9, set: &[(X(1), buf(0x20))], out: &[(V(0), 0x66e35e262ed9fcaeb3225c4d87d6a8a2), (V(1), 0xf901e39dc537ab109de82e0b7803ff43), (X(1), 0x0000000030008040)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.8b, v1.8b, v2.8b}, [x1], #24", word: 0x0cdf6020, seed: 10, set: &[(X(1), buf(0x3))], out: &[(V(0), 0x0000000000000000b9e7925605ab5dea), (V(1), 0x0000000000000000710e79765b6dd0b7), (V(2), 0x00000000000000002a05d524d9247387), (X(1), 0x000000003000801b)], qc: false, mem: &[] },
    Case { asm: "ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x1], #64", word: 0x4cdf2024, seed: 11, set: &[(X(1), buf(0x40))], out: &[(V(4), 0x962cc3d91805d18b7d54fc4976f4606e), (V(5), 0x7692c766f8e285bebc72aa656698c726), (V(6), 0xe3c111983ca4d4a28441a1d5bc8bceb2), (V(7), 0x677228bad76eb76c13f5d369b1c14bb8), (X(1), 0x0000000030008080)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.2d}, [x1], x2", word: 0x4cc27c20, seed: 12, set: &[(X(1), buf(0x10)), (X(2), 0x0000000000000123)], out: &[(V(0), 0xcb70d719266c43cbe355660b967b0efe), (X(1), 0x0000000030008133)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.4h, v1.4h}, [x1], x2", word: 0x0cc2a420, seed: 13, set: &[(X(1), buf(0x10)), (X(2), 0xffffffffffffffc0)], out: &[(V(0), 0x0000000000000000d2a00531cd7f6005), (V(1), 0x0000000000000000ec13770e7ee5f69c), (X(1), 0x0000000030007fd0)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.16b}, [sp]", word: 0x4c4073e0, seed: 14, set: &[(Sp, buf(0x40))], out: &[(V(0), 0x41cdbae52458c90b35f902d949c3755e)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.16b, v1.16b}, [sp], #32", word: 0x4cdfa3e0, seed: 15, set: &[(Sp, buf(0x40))], out: &[(V(0), 0xa07c839bb0344281c80de0b89fe929f6), (V(1), 0x31d3a7c6fc9baa1c727dc5c7995fb763), (Sp, 0x0000000030008060)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.8b, v1.8b}, [x1]", word: 0x0c408020, seed: 16, set: &[(X(1), buf(0x5))], out: &[(V(0), 0x00000000000000002d5254d23e51b5e7), (V(1), 0x00000000000000002dba83946015c625)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.16b, v1.16b}, [x1], #32", word: 0x4cdf8020, seed: 17, set: &[(X(1), buf(0x5))], out: &[(V(0), 0x9d6fd41993c793ccd2780c0742fb6542), (V(1), 0xe842ad9608d3864c1cc6df231c345b40), (X(1), 0x0000000030008025)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.4h, v1.4h}, [x1]", word: 0x0c408420, seed: 18, set: &[(X(1), buf(0x6))], out: &[(V(0), 0x0000000000000000e158afc7b57dba07), (V(1), 0x0000000000000000514463ae2be00432)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.8h, v1.8h}, [x1], x3", word: 0x4cc38420, seed: 19, set: &[(X(1), buf(0x6)), (X(3), 0x0000000000000008)], out: &[(V(0), 0x292f3e9d0986a321b89b9c9c3e045a1b), (V(1), 0xe78bd2056c35e0ace9e358f064658495), (X(1), 0x000000003000800e)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.2s, v1.2s}, [x1]", word: 0x0c408820, seed: 20, set: &[(X(1), buf(0x4))], out: &[(V(0), 0x000000000000000029f3eaa0a6593f54), (V(1), 0x000000000000000089b757206762fb52)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.4s, v1.4s}, [x1]", word: 0x4c408820, seed: 21, set: &[(X(1), buf(0x4))], out: &[(V(0), 0x81e9aa94270a88c23cfa1a80a1dbbf3b), (V(1), 0xc67de94f8e52ecd3c5efead618fb7312)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.2d, v1.2d}, [x1], #32", word: 0x4cdf8c20, seed: 22, set: &[(X(1), buf(0x8))], out: &[(V(0), 0xa65bed7017cf7f1929da2aafcc885981), (V(1), 0xf74687e3d5c7df38224f76687709be52), (X(1), 0x0000000030008028)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.8b, v1.8b, v2.8b}, [x1]", word: 0x0c404020, seed: 23, set: &[(X(1), buf(0x1))], out: &[(V(0), 0x0000000000000000949669451f996c6b), (V(1), 0x000000000000000084eb922919708bb1), (V(2), 0x000000000000000033a95e6b937f5012)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.16b, v1.16b, v2.16b}, [x1], #48", word: 0x4cdf4020, seed: 24, set: &[(X(1), buf(0x1))], out: &[(V(0), 0xe6d1058ce41c4f2f43f6ea3addc7c8ed), (V(1), 0x306ba8b22e0ec27ff94d4585ebbee1e6), (V(2), 0x9ade9293fde4e531943dd177a18e9d5b), (X(1), 0x0000000030008031)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.4h, v1.4h, v2.4h}, [x1]", word: 0x0c404420, seed: 25, set: &[(X(1), buf(0x2))], out: &[(V(0), 0x0000000000000000923102dbf111b962), (V(1), 0x00000000000000009ba0c13b239bf9aa), (V(2), 0x0000000000000000bb6cfe63ad2b841d)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.8h, v1.8h, v2.8h}, [x1]", word: 0x4c404420, seed: 26, set: &[(X(1), buf(0x2))], out: &[(V(0), 0xb198a9669b029dafcfbf7c0664bab981), (V(1), 0xf8ee6c37cb3c0b60e885f4bf177a19c3), (V(2), 0x0c666009958823c1a84a4e420e9d5424)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.2s, v1.2s, v2.2s}, [x1], x2", word: 0x0cc24820, seed: 27, set: &[(X(1), buf(0x4)), (X(2), 0x0000000000000000)], out: &[(V(0), 0x0000000000000000c4d1516abc9a2cdc), (V(1), 0x0000000000000000eb6c16763278da6f), (V(2), 0x0000000000000000d95f9db963c18ba1)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.4s, v1.4s, v2.4s}, [x1]", word: 0x4c404820, seed: 28, set: &[(X(1), buf(0x4))], out: &[(V(0), 0xd26c1920f4941966a13f5d1a3cf7da09), (V(1), 0x2709a083660267b4848edff586276c1e), (V(2), 0x4ff908e720090b649bb511f8fda88ff5)], qc: false, mem: &[] },
    Case { asm: "ld3 {v30.2d, v31.2d, v0.2d}, [x1]", word: 0x4c404c3e, seed: 29, set: &[(X(1), buf(0x8))], out: &[(V(0), 0x4d3bf034d193f4a35bffeeef47048611), (V(30), 0xb8c192175096b3bda6e56bc96946f1bd), (V(31), 0xa5b3de19bb35b212f82d5d4c4048eaad)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.8b, v1.8b, v2.8b, v3.8b}, [x1]", word: 0x0c400020, seed: 30, set: &[(X(1), buf(0x7))], out: &[(V(0), 0x0000000000000000b0d4fe056f1bf298), (V(1), 0x0000000000000000d8a91d34e24f3318), (V(2), 0x00000000000000009e80dc5a702b6c83), (V(3), 0x0000000000000000155b0e34add12ba1)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.16b, v1.16b, v2.16b, v3.16b}, [x1], #64", word: 0x4cdf0020, seed: 31, set: &[(X(1), buf(0x7))], out: &[(V(0), 0x72466e5d957e50742e0878642a19e9f9), (V(1), 0x1da65e86d1bf8caf720b343417527a7e), (V(2), 0xa5e9dfce91a94e52f7441bafc7955440), (V(3), 0x6a5743d81160c802e35c2064dbffc1e9), (X(1), 0x0000000030008047)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.4h, v1.4h, v2.4h, v3.4h}, [x1]", word: 0x0c400420, seed: 32, set: &[(X(1), buf(0x2))], out: &[(V(0), 0x0000000000000000ce8070f1012f4e97), (V(1), 0x000000000000000001a718011aff290b), (V(2), 0x000000000000000066f095087a75de23), (V(3), 0x0000000000000000b843df0813f6d2e8)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.8h, v1.8h, v2.8h, v3.8h}, [x1]", word: 0x4c400420, seed: 33, set: &[(X(1), buf(0x2))], out: &[(V(0), 0xb0a844126604c17f296e300178cd1b43), (V(1), 0x2da0c212f7f3a211171017cdea1114b0), (V(2), 0xee8819c07c7711c3524e947f82ecfe63), (V(3), 0xc81fa0f1e7ae534f9ed36ce6ceac857a)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.2s, v1.2s, v2.2s, v3.2s}, [x1], #32", word: 0x0cdf0820, seed: 34, set: &[(X(1), buf(0x4))], out: &[(V(0), 0x0000000000000000897a82cfa42f5769), (V(1), 0x0000000000000000ed15cbf2ebb2ae28), (V(2), 0x000000000000000097b913ba9200804f), (V(3), 0x0000000000000000616903df86cf8df9), (X(1), 0x0000000030008024)], qc: false, mem: &[] },
    Case { asm: "ld4 {v29.4s, v30.4s, v31.4s, v0.4s}, [x1]", word: 0x4c40083d, seed: 35, set: &[(X(1), buf(0x4))], out: &[(V(0), 0xd819a1f979b530b8e747f6c4120d3d5d), (V(29), 0x53d61398fc1c7ae35ba969ef23d6946d), (V(30), 0x680846b6582e95a299a15d16f8b01a88), (V(31), 0xefef6efac8824716ebc0073bd4b96f98)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.2d, v1.2d, v2.2d, v3.2d}, [x1], x5", word: 0x4cc50c20, seed: 36, set: &[(X(1), buf(0x8)), (X(5), 0x0000000000000007)], out: &[(V(0), 0xd108f60589a7dde2a4e4ec01cf96e263), (V(1), 0xbef602819f96547259d7432bf44281da), (V(2), 0xe7fa1ca5d0ca157271f059cc8dda1237), (V(3), 0xe7ecdddeffd7ec8f34bdfed52f396854), (X(1), 0x000000003000800f)], qc: false, mem: &[] },
    Case { asm: "st1 {v0.16b}, [x1]", word: 0x4c007020, seed: 40, set: &[(X(1), buf(0x13))], out: &[], qc: false, mem: &[(0x10, 0xea0035a71bd80098), (0x18, 0xfffffffffff8ef8a), (0x20, 0x658baccc61ffffff)] },
    Case { asm: "st1 {v0.8b}, [x1], #8", word: 0x0c9f7020, seed: 41, set: &[(X(1), buf(0x20))], out: &[(X(1), 0x0000000030008028)], qc: false, mem: &[(0x20, 0x992ffac69a7acd4c)] },
    Case { asm: "st1 {v0.4h, v1.4h}, [x1]", word: 0x0c00a420, seed: 42, set: &[(X(1), buf(0x22))], out: &[], qc: false, mem: &[(0x20, 0xffff800000005189), (0x28, 0xffffffffffff7fff), (0x30, 0x989ab80ecf84ffff)] },
    Case { asm: "st1 {v0.8h, v1.8h, v2.8h}, [x1], #48", word: 0x4c9f6420, seed: 43, set: &[(X(1), buf(0x10))], out: &[(X(1), 0x0000000030008040)], qc: false, mem: &[(0x10, 0x9cde98852e60034b), (0x18, 0x01007ff87f00dbff), (0x20, 0xb1e16dddd7443c0d), (0x28, 0x5492956713eac068), (0x30, 0xffc8002bffff1fc8), (0x38, 0xfffffff57fffffff)] },
    Case { asm: "st1 {v0.2s, v1.2s, v2.2s, v3.2s}, [x1], x2", word: 0x0c822820, seed: 44, set: &[(X(1), buf(0x4)), (X(2), 0x0000000000000010)], out: &[(X(1), 0x0000000030008014)], qc: false, mem: &[(0x0, 0x167b61220597260d), (0x8, 0x7f4c7f0090f83af9), (0x10, 0xb9f8eafbd18080ff), (0x18, 0xe80fb06174137ee3), (0x20, 0x9cb96e7205a34f3e)] },
    Case { asm: "st1 {v30.2d, v31.2d, v0.2d, v1.2d}, [x1]", word: 0x4c002c3e, seed: 45, set: &[(X(1), buf(0x8))], out: &[], qc: false, mem: &[(0x8, 0x7fff800000120000), (0x10, 0x5212b43d7fffffff), (0x18, 0x00b67a9eab9aef92), (0x20, 0x7fffffffffffffff), (0x28, 0x00000040ffffffff), (0x30, 0x04d0788e03ebff87), (0x38, 0xffffffffffffffcc), (0x40, 0xbc01a7ff005301bf)] },
    Case { asm: "st1 {v0.1d}, [sp], #8", word: 0x0c9f7fe0, seed: 46, set: &[(Sp, buf(0x40))], out: &[(Sp, 0x0000000030008048)], qc: false, mem: &[(0x40, 0x0000012ce600cd20)] },
    Case { asm: "st2 {v0.8b, v1.8b}, [x1]", word: 0x0c008020, seed: 47, set: &[(X(1), buf(0x5))], out: &[], qc: false, mem: &[(0x0, 0x00ec80f9ae142311), (0x8, 0xb59f1aaad4e5f922), (0x10, 0xda6ad04500498082)] },
    Case { asm: "st2 {v0.16b, v1.16b}, [x1], #32", word: 0x4c9f8020, seed: 48, set: &[(X(1), buf(0x5))], out: &[(X(1), 0x0000000030008025)], qc: false, mem: &[(0x0, 0x120041786fca725d), (0x8, 0x04ff6c8027008800), (0x10, 0xbb252f7fa9ffd2ff), (0x18, 0xff72ff7a9476346d), (0x20, 0xbbeef151ffc6ff14)] },
    Case { asm: "st2 {v0.4h, v1.4h}, [x1]", word: 0x0c008420, seed: 49, set: &[(X(1), buf(0x6))], out: &[], qc: false, mem: &[(0x0, 0x51cb6836485c40cd), (0x8, 0xae9e2981f28ded71), (0x10, 0x6c5aee845a078552)] },
    Case { asm: "st2 {v0.4s, v1.4s}, [x1], x9", word: 0x4c898820, seed: 50, set: &[(X(1), buf(0x4)), (X(9), 0xfffffffffffffffc)], out: &[(X(1), 0x0000000030008000)], qc: false, mem: &[(0x0, 0x79e66277cdb85e1d), (0x8, 0x93eb5f0700000000), (0x10, 0x0000ffffffffffc6), (0x18, 0xffff0033b21e2c56), (0x20, 0x02b027ecfe584a58)] },
    Case { asm: "st2 {v0.2d, v1.2d}, [x1]", word: 0x4c008c20, seed: 51, set: &[(X(1), buf(0x8))], out: &[], qc: false, mem: &[(0x8, 0x5080e4863a45d029), (0x10, 0xe4fc80a660511587), (0x18, 0xa8ca71f9526e3310), (0x20, 0x01a396421c7f007f)] },
    Case { asm: "st3 {v0.8b, v1.8b, v2.8b}, [x1]", word: 0x0c004020, seed: 52, set: &[(X(1), buf(0x1))], out: &[], qc: false, mem: &[(0x0, 0x0e005fd7007fec02), (0x8, 0x0000415401328017), (0x10, 0x8037ff39d82f0043), (0x18, 0xfeda44d72824b680)] },
    Case { asm: "st3 {v0.8h, v1.8h, v2.8h}, [x1], #48", word: 0x4c9f4420, seed: 53, set: &[(X(1), buf(0x2))], out: &[(X(1), 0x0000000030008032)], qc: false, mem: &[(0x0, 0xf1ff0045fffff550), (0x8, 0xffff7ffb00007fff), (0x10, 0xffff7fff7faaffda), (0x18, 0xf3aa7b22ffc001ff), (0x20, 0x0001b720d143ffff), (0x28, 0x7fff0000a395f0d6), (0x30, 0x240c8fa72d7e0948)] },
    Case { asm: "st3 {v0.2s, v1.2s, v2.2s}, [x1]", word: 0x0c004820, seed: 54, set: &[(X(1), buf(0x4))], out: &[], qc: false, mem: &[(0x0, 0xffffffdc8cac25f8), (0x8, 0xffffffcd728b7655), (0x10, 0x33f91043ff79d9c6), (0x18, 0xad95af66ffffffff)] },
    Case { asm: "st3 {v0.2d, v1.2d, v2.2d}, [x1]", word: 0x4c004c20, seed: 55, set: &[(X(1), buf(0x8))], out: &[], qc: false, mem: &[(0x8, 0x0000000000000001), (0x10, 0x3fae8ab6683ca936), (0x18, 0x8be941b55424dbf1), (0x20, 0xecc056572e205ba0), (0x28, 0xea715219c91f3b04), (0x30, 0xffffffffffffffbb)] },
    Case { asm: "st4 {v0.16b, v1.16b, v2.16b, v3.16b}, [x1]", word: 0x4c000020, seed: 56, set: &[(X(1), buf(0x7))], out: &[], qc: false, mem: &[(0x0, 0x01847d1ca0feead4), (0x8, 0x7fe6cf9a802baf87), (0x10, 0xffb03b0e800e9ae7), (0x18, 0x80218ff22cd32d17), (0x20, 0x0159e93ab92f0247), (0x28, 0x01d8e0e300c8bf7f), (0x30, 0xd0d7527f0071587f), (0x38, 0x8a091000ffc465ff), (0x40, 0xcca4c57f0a885880)] },
    Case { asm: "st4 {v0.4h, v1.4h, v2.4h, v3.4h}, [x1], #32", word: 0x0c9f0420, seed: 57, set: &[(X(1), buf(0x2))], out: &[(X(1), 0x0000000030008022)], qc: false, mem: &[(0x0, 0xb0464ebd8416828a), (0x8, 0xe1a8c0625ab5d4d8), (0x10, 0x4b80799da3bbad54), (0x18, 0x78d1579c70cfb779), (0x20, 0x91eaa017b2f95b87)] },
    Case { asm: "st4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x1]", word: 0x4c000820, seed: 58, set: &[(X(1), buf(0x4))], out: &[], qc: false, mem: &[(0x0, 0xbd19e98f43efc34e), (0x8, 0xffffffff00000001), (0x10, 0x6d716e8f7fffffda), (0x18, 0x7fffffff00000000), (0x20, 0x4e46cc3600377fff), (0x28, 0xff80eceaffffffff), (0x30, 0x792cc7de28c0e1ab), (0x38, 0x80bf00ff7fffffff), (0x40, 0x927c384d136b0640)] },
    Case { asm: "st4 {v31.2d, v0.2d, v1.2d, v2.2d}, [sp]", word: 0x4c000fff, seed: 59, set: &[(Sp, buf(0x10))], out: &[], qc: false, mem: &[(0x10, 0xead78ef047d73f78), (0x18, 0x0000000000000000), (0x20, 0xb80d2bc567dda39c), (0x28, 0x0000000100007fff), (0x30, 0x223cf9ba00836c51), (0x38, 0xa35d7c0e7a680f59), (0x40, 0xa660809827dceb30), (0x48, 0x50d725091bf03d6b)] },
    Case { asm: "ld1 {v0.b}[15], [x1]", word: 0x4d401c20, seed: 60, set: &[(X(1), buf(0x9))], out: &[(V(0), 0xf5ffffde800000012401802380ee7f3b)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.b}[3], [x1], #1", word: 0x0ddf0c20, seed: 61, set: &[(X(1), buf(0x9))], out: &[(V(0), 0xa1d7fffffffa00000afa20b66d6a059f), (X(1), 0x000000003000800a)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.h}[7], [x1]", word: 0x4d405820, seed: 62, set: &[(X(1), buf(0xa))], out: &[(V(0), 0x42740101807f7fc2bcb971f459c962ec)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.h}[2], [x1], x2", word: 0x0dc25020, seed: 63, set: &[(X(1), buf(0xa)), (X(2), 0x0000000000000002)], out: &[(V(0), 0x139c1ae580000000000058ed256bde4f), (X(1), 0x000000003000800c)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.s}[3], [x1]", word: 0x4d409020, seed: 64, set: &[(X(1), buf(0xc))], out: &[(V(0), 0xe9c42f822f80ff7f27b0f6e26c58cf1d)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.s}[1], [x1], #4", word: 0x0ddf9020, seed: 65, set: &[(X(1), buf(0xc))], out: &[(V(0), 0xc4f578652d4db04cc08fcec02e044f84), (X(1), 0x0000000030008010)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.d}[1], [x1]", word: 0x4d408420, seed: 66, set: &[(X(1), buf(0x18))], out: &[(V(0), 0xd1b426f60012d684a211b519d9a09a1c)], qc: false, mem: &[] },
    Case { asm: "ld1 {v0.d}[0], [x1], #8", word: 0x0ddf8420, seed: 67, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x010013807f012f3fa93c398eac1793e8), (X(1), 0x0000000030008020)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.b, v1.b}[9], [x1]", word: 0x4d600420, seed: 68, set: &[(X(1), buf(0x9))], out: &[(V(0), 0xd00011122e803f3cdb73d1b77f5c4672), (V(1), 0xa331aeb55cbd475d000000000000003b)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.h, v1.h}[5], [x1], #4", word: 0x4dff4820, seed: 69, set: &[(X(1), buf(0xa))], out: &[(V(0), 0x007f7f01ad0080d6ffffbc580080111f), (V(1), 0xd62eeb174fdfb4fa925a615499e565ff), (X(1), 0x000000003000800e)], qc: false, mem: &[] },
    Case { asm: "ld2 {v0.s, v1.s}[2], [x1]", word: 0x4d608020, seed: 70, set: &[(X(1), buf(0xc))], out: &[(V(0), 0x7fdb001167dbf937ffec800080000000), (V(1), 0x000000005fdb7d3d8000000000000000)], qc: false, mem: &[] },
    Case { asm: "ld2 {v31.d, v0.d}[1], [x1], #16", word: 0x4dff843f, seed: 71, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x4d23ce6a77a00cc68000000080007fff), (V(31), 0xc862142b26a87d7eb4de560c3a7b7c79), (X(1), 0x0000000030008028)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.b, v1.b, v2.b}[14], [x1], #3", word: 0x4ddf3820, seed: 72, set: &[(X(1), buf(0x9))], out: &[(V(0), 0x465740449b6cdf82cc90d92185f3c308), (V(1), 0x0036ffd17fff7fff675f751723f31766), (V(2), 0xac70e9850da015138000000000000000), (X(1), 0x000000003000800c)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.h, v1.h, v2.h}[1], [x1]", word: 0x0d406820, seed: 73, set: &[(X(1), buf(0xa))], out: &[(V(0), 0xad7b921889ecd6138293ca9a10fa5ac9), (V(1), 0x0000000000000029039cca409588827d), (V(2), 0x19f89caaf21b424cc1d4860a2809104e)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.s, v1.s, v2.s}[3], [x1], x4", word: 0x4dc4b020, seed: 74, set: &[(X(1), buf(0xc)), (X(4), 0x0000000000000100)], out: &[(V(0), 0x803b0682486f20a703581193c6409874), (V(1), 0x8e5d551e5091a48759f9fcaf170488b5), (V(2), 0x2dfd1def58aea05be6010100ffff017f), (X(1), 0x000000003000810c)], qc: false, mem: &[] },
    Case { asm: "ld3 {v0.d, v1.d, v2.d}[0], [x1]", word: 0x0d40a420, seed: 75, set: &[(X(1), buf(0x18))], out: &[(V(0), 0xffffffffffffffff7b324e9a786d0287), (V(1), 0x73d6d71f99561389d8d9aec9f835ea6c), (V(2), 0xffffffffffffffc84601e821892d1fec)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.b, v1.b, v2.b, v3.b}[0], [x1]", word: 0x0d602020, seed: 76, set: &[(X(1), buf(0x9))], out: &[(V(0), 0x55eaface3eba982bf8c72270ea450d79), (V(1), 0x75914da2bd0b8b06ffe60000ffffff2d), (V(2), 0x00000000000000006f20594fccfbf157), (V(3), 0xffffffff00000001ffffffc80000006f)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.h, v1.h, v2.h, v3.h}[6], [x1], #8", word: 0x4dff7020, seed: 77, set: &[(X(1), buf(0xa))], out: &[(V(0), 0xffff5b1c000180007e54a4883a969e54), (V(1), 0x000045b00000000168b4fbc4253d2e71), (V(2), 0x597e22aaffffffe2cdfbfcda84ffbdd3), (V(3), 0x2a322025092b9bed8917d9e32ad65dfe), (X(1), 0x0000000030008012)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.s, v1.s, v2.s, v3.s}[2], [x1]", word: 0x4d60a020, seed: 78, set: &[(X(1), buf(0xc))], out: &[(V(0), 0x80ffff05961b3e0d1907938da67f37fb), (V(1), 0x000000009d5c7a14f4410e3db318f02c), (V(2), 0x8926926b3fe8f890b4bd1fe823c550cb), (V(3), 0x81b382e733327bc61771fc5b000bbe8b)], qc: false, mem: &[] },
    Case { asm: "ld4 {v0.d, v1.d, v2.d, v3.d}[1], [sp], #32", word: 0x4dffa7e0, seed: 79, set: &[(Sp, buf(0x20))], out: &[(V(0), 0x825551d34c302f0bbd3f66a48bd953e4), (V(1), 0xc7095fdbad10f9faffffffffffffffc6), (V(2), 0x1ac65e8099c89d568000000000000000), (V(3), 0x4dfd74fb01457b980000003900000001), (Sp, 0x0000000030008040)], qc: false, mem: &[] },
    Case { asm: "st1 {v0.b}[15], [x1]", word: 0x4d001c20, seed: 80, set: &[(X(1), buf(0x9))], out: &[], qc: false, mem: &[(0x8, 0x8d7e3bed626cff1a)] },
    Case { asm: "st1 {v0.h}[6], [x1], #2", word: 0x4d9f5020, seed: 81, set: &[(X(1), buf(0xa))], out: &[(X(1), 0x000000003000800c)], qc: false, mem: &[(0x8, 0x240d46ef017f9c1f)] },
    Case { asm: "st1 {v0.s}[2], [x1], x2", word: 0x4d828020, seed: 82, set: &[(X(1), buf(0xc)), (X(2), 0x0000000000000030)], out: &[(X(1), 0x000000003000803c)], qc: false, mem: &[(0x8, 0xce959cc1d25f7898)] },
    Case { asm: "st1 {v0.d}[1], [x1]", word: 0x4d008420, seed: 83, set: &[(X(1), buf(0x18))], out: &[], qc: false, mem: &[(0x18, 0x065d3438c29e285d)] },
    Case { asm: "st2 {v0.b, v1.b}[7], [x1], #2", word: 0x0dbf1c20, seed: 84, set: &[(X(1), buf(0x9))], out: &[(X(1), 0x000000003000800b)], qc: false, mem: &[(0x8, 0x6c74819470cde483)] },
    Case { asm: "st2 {v0.h, v1.h}[3], [x1]", word: 0x0d205820, seed: 85, set: &[(X(1), buf(0xa))], out: &[], qc: false, mem: &[(0x8, 0x6ed810f5dcc8b892)] },
    Case { asm: "st2 {v0.s, v1.s}[1], [x1]", word: 0x0d209020, seed: 86, set: &[(X(1), buf(0xc))], out: &[], qc: false, mem: &[(0x8, 0x8000000032fa498f), (0x10, 0x8c8cb8e700000001)] },
    Case { asm: "st2 {v0.d, v1.d}[0], [x1], #16", word: 0x0dbf8420, seed: 87, set: &[(X(1), buf(0x18))], out: &[(X(1), 0x0000000030008028)], qc: false, mem: &[(0x18, 0xdf0526e805332605), (0x20, 0x3bd2dbb903da4a94)] },
    Case { asm: "st3 {v0.b, v1.b, v2.b}[11], [x1]", word: 0x4d002c20, seed: 88, set: &[(X(1), buf(0x9))], out: &[], qc: false, mem: &[(0x8, 0xa1a9aabc0bc40036)] },
    Case { asm: "st3 {v0.h, v1.h, v2.h}[4], [x1], #6", word: 0x4d9f6020, seed: 89, set: &[(X(1), buf(0xa))], out: &[(X(1), 0x0000000030008010)], qc: false, mem: &[(0x8, 0x8000ffff00004a90)] },
    Case { asm: "st3 {v0.s, v1.s, v2.s}[0], [x1]", word: 0x0d00a020, seed: 90, set: &[(X(1), buf(0xc))], out: &[], qc: false, mem: &[(0x8, 0x7fdd0101ba4a221e), (0x10, 0xfa2d2d67aab29aec)] },
    Case { asm: "st3 {v0.d, v1.d, v2.d}[1], [x1]", word: 0x4d00a420, seed: 91, set: &[(X(1), buf(0x18))], out: &[], qc: false, mem: &[(0x18, 0x5ce6d5104a1348c9), (0x20, 0xaf3da53d80b776d4), (0x28, 0xffffffffffffffd2)] },
    Case { asm: "st4 {v0.b, v1.b, v2.b, v3.b}[13], [x1], #4", word: 0x4dbf3420, seed: 92, set: &[(X(1), buf(0x9))], out: &[(X(1), 0x000000003000800d)], qc: false, mem: &[(0x8, 0xf2da19e2f0713604)] },
    Case { asm: "st4 {v30.h, v31.h, v0.h, v1.h}[2], [x1]", word: 0x0d20703e, seed: 93, set: &[(X(1), buf(0xa))], out: &[], qc: false, mem: &[(0x8, 0xffc6fff1f8c8bf75), (0x10, 0xc22ce3eade2affff)] },
    Case { asm: "st4 {v0.s, v1.s, v2.s, v3.s}[3], [x1], x2", word: 0x4da2b020, seed: 94, set: &[(X(1), buf(0xc)), (X(2), 0xfffffffffffffff8)], out: &[(X(1), 0x0000000030008004)], qc: false, mem: &[(0x8, 0xe8d0ffda4fbc37b6), (0x10, 0xa69569abae9fbb0d), (0x18, 0xd8d1c3d88c75186f)] },
    Case { asm: "st4 {v0.d, v1.d, v2.d, v3.d}[0], [x1]", word: 0x0d20a420, seed: 95, set: &[(X(1), buf(0x18))], out: &[], qc: false, mem: &[(0x18, 0x0001ffee7fff7fff), (0x20, 0xb2e9fbf78eac85c7), (0x28, 0x80000000f561a94b), (0x30, 0x64ed7fff80000001)] },
    Case { asm: "ld1r {v0.8b}, [x1]", word: 0x0d40c020, seed: 100, set: &[(X(1), buf(0x9))], out: &[(V(0), 0x00000000000000004242424242424242)], qc: false, mem: &[] },
    Case { asm: "ld1r {v0.16b}, [x1], #1", word: 0x4ddfc020, seed: 101, set: &[(X(1), buf(0x9))], out: &[(V(0), 0xfcfcfcfcfcfcfcfcfcfcfcfcfcfcfcfc), (X(1), 0x000000003000800a)], qc: false, mem: &[] },
    Case { asm: "ld1r {v0.4h}, [x1], x2", word: 0x0dc2c420, seed: 102, set: &[(X(1), buf(0xa)), (X(2), 0x0000000000000006)], out: &[(V(0), 0x0000000000000000bd1dbd1dbd1dbd1d), (X(1), 0x0000000030008010)], qc: false, mem: &[] },
    Case { asm: "ld1r {v0.4s}, [x1]", word: 0x4d40c820, seed: 103, set: &[(X(1), buf(0xc))], out: &[(V(0), 0x7546f9967546f9967546f9967546f996)], qc: false, mem: &[] },
    Case { asm: "ld1r {v0.1d}, [x1]", word: 0x0d40cc20, seed: 104, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x0000000000000000e4044f5e104f3afe)], qc: false, mem: &[] },
    Case { asm: "ld1r {v0.2d}, [x1], #8", word: 0x4ddfcc20, seed: 105, set: &[(X(1), buf(0x18))], out: &[(V(0), 0xc893bd8d532600bac893bd8d532600ba), (X(1), 0x0000000030008020)], qc: false, mem: &[] },
    Case { asm: "ld2r {v0.16b, v1.16b}, [x1]", word: 0x4d60c020, seed: 106, set: &[(X(1), buf(0x9))], out: &[(V(0), 0xe3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3), (V(1), 0x09090909090909090909090909090909)], qc: false, mem: &[] },
    Case { asm: "ld2r {v0.4h, v1.4h}, [x1], #4", word: 0x0dffc420, seed: 107, set: &[(X(1), buf(0xa))], out: &[(V(0), 0x0000000000000000ade1ade1ade1ade1), (V(1), 0x00000000000000007bba7bba7bba7bba), (X(1), 0x000000003000800e)], qc: false, mem: &[] },
    Case { asm: "ld2r {v0.2s, v1.2s}, [x1]", word: 0x0d60c820, seed: 108, set: &[(X(1), buf(0xc))], out: &[(V(0), 0x000000000000000073cbb4fd73cbb4fd), (V(1), 0x000000000000000063cc358463cc3584)], qc: false, mem: &[] },
    Case { asm: "ld2r {v31.2d, v0.2d}, [x1], #16", word: 0x4dffcc3f, seed: 109, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x810a0eda485e2791810a0eda485e2791), (V(31), 0x23a605b60297da9723a605b60297da97), (X(1), 0x0000000030008028)], qc: false, mem: &[] },
    Case { asm: "ld3r {v0.8b, v1.8b, v2.8b}, [x1], #3", word: 0x0ddfe020, seed: 110, set: &[(X(1), buf(0x9))], out: &[(V(0), 0x0000000000000000ffffffffffffffff), (V(1), 0x0000000000000000a9a9a9a9a9a9a9a9), (V(2), 0x00000000000000006363636363636363), (X(1), 0x000000003000800c)], qc: false, mem: &[] },
    Case { asm: "ld3r {v0.8h, v1.8h, v2.8h}, [x1]", word: 0x4d40e420, seed: 111, set: &[(X(1), buf(0xa))], out: &[(V(0), 0x67ce67ce67ce67ce67ce67ce67ce67ce), (V(1), 0x206d206d206d206d206d206d206d206d), (V(2), 0x9b4a9b4a9b4a9b4a9b4a9b4a9b4a9b4a)], qc: false, mem: &[] },
    Case { asm: "ld3r {v0.4s, v1.4s, v2.4s}, [x1], x3", word: 0x4dc3e820, seed: 112, set: &[(X(1), buf(0xc)), (X(3), 0x0000000000000010)], out: &[(V(0), 0xf9053451f9053451f9053451f9053451), (V(1), 0x28049d0928049d0928049d0928049d09), (V(2), 0xc31ae741c31ae741c31ae741c31ae741), (X(1), 0x000000003000801c)], qc: false, mem: &[] },
    Case { asm: "ld3r {v0.1d, v1.1d, v2.1d}, [x1]", word: 0x0d40ec20, seed: 113, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x00000000000000003c68e3977c376b20), (V(1), 0x0000000000000000d5d2a86730774e68), (V(2), 0x000000000000000028b848a39bedbb91)], qc: false, mem: &[] },
    Case { asm: "ld4r {v0.16b, v1.16b, v2.16b, v3.16b}, [x1]", word: 0x4d60e020, seed: 114, set: &[(X(1), buf(0x9))], out: &[(V(0), 0x21212121212121212121212121212121), (V(1), 0x4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a), (V(2), 0xf1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1), (V(3), 0xc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1)], qc: false, mem: &[] },
    Case { asm: "ld4r {v0.4h, v1.4h, v2.4h, v3.4h}, [x1], #8", word: 0x0dffe420, seed: 115, set: &[(X(1), buf(0xa))], out: &[(V(0), 0x0000000000000000d652d652d652d652), (V(1), 0x0000000000000000674c674c674c674c), (V(2), 0x00000000000000007936793679367936), (V(3), 0x0000000000000000a87fa87fa87fa87f), (X(1), 0x0000000030008012)], qc: false, mem: &[] },
    Case { asm: "ld4r {v0.2s, v1.2s, v2.2s, v3.2s}, [sp]", word: 0x0d60ebe0, seed: 116, set: &[(Sp, buf(0x40))], out: &[(V(0), 0x0000000000000000bf907e13bf907e13), (V(1), 0x0000000000000000ac484c78ac484c78), (V(2), 0x0000000000000000f6c95a25f6c95a25), (V(3), 0x0000000000000000fe60049bfe60049b)], qc: false, mem: &[] },
    Case { asm: "ld4r {v0.2d, v1.2d, v2.2d, v3.2d}, [x1], #32", word: 0x4dffec20, seed: 117, set: &[(X(1), buf(0x18))], out: &[(V(0), 0x6b54bcea2bd85b546b54bcea2bd85b54), (V(1), 0xb03cd741ed790573b03cd741ed790573), (V(2), 0x3eebfcbbe7de2c0f3eebfcbbe7de2c0f), (V(3), 0x6805c89215480ac26805c89215480ac2), (X(1), 0x0000000030008038)], qc: false, mem: &[] },
];

#[test]
fn structure_loads_and_stores() {
    run_cases(LDST);
}

#[rustfmt::skip]
const RESERVED: &[(&str, u32)] = &[
    undef(".inst 0x0c400c20 (LD4 .1d)", 0x0c400c20),
    undef(".inst 0x0c404c20 (LD3 .1d)", 0x0c404c20),
    undef(".inst 0x0c408c20 (LD2 .1d)", 0x0c408c20),
    undef(".inst 0x0c401c20 (LD multiple opcode 0001)", 0x0c401c20),
    undef(".inst 0x0c403020 (LD multiple opcode 0011)", 0x0c403020),
    undef(".inst 0x0d404420 (LD1 single H with size<0>=1)", 0x0d404420),
    undef(".inst 0x0d409820 (LD1 single S with size=10)", 0x0d409820),
    undef(".inst 0x0d408c20 (LD1 single S/D with S=1 size=01)", 0x0d408c20),
    undef(".inst 0x0d00c020 (ST1R)", 0x0d00c020),
    undef(".inst 0x0d40d020 (LD1R with S=1)", 0x0d40d020),
    undef(".inst 0x0c600020 (LD multiple no-offset with Rm bits)", 0x0c600020),
    undef(".inst 0x0d410020 (LD single no-offset with Rm bits)", 0x0d410020),
];

#[test]
fn reserved_encodings_are_undefined() {
    check_undef(RESERVED);
}

// ---- Hand-written tests: architectural rules rather than reference values.

use crate::exception::Exception;
use crate::sysreg::sctlr;

/// The test RAM ends here; the next byte is not memory.
const RAM_END: u64 = 0x3001_0000;

/// A structure load that faults on a later element changes no register: neither
/// the destinations it had read elements for nor the base (no writeback).
#[test]
fn faulting_load_changes_no_register() {
    // (instruction, base): the last elements lie past the end of RAM.
    let cases: &[(&str, u32, u64)] = &[
        ("ld1 {v0.16b, v1.16b}, [x1], #32", 0x4cdfa020, RAM_END - 24),
        // Aligned and inside one (missing) page: the doubleword path.
        ("ld1 {v0.16b, v1.16b}, [x1], #32", 0x4cdfa020, RAM_END),
        ("ld2 {v0.8h, v1.8h}, [x1]", 0x4c408420, RAM_END + 0x40),
        (
            "ld4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x1], x2",
            0x4cc20820,
            RAM_END - 60,
        ),
        (
            "ld3 {v0.h, v1.h, v2.h}[5], [x1], #6",
            0x4ddf6820,
            RAM_END - 4,
        ),
        ("ld2r {v0.2d, v1.2d}, [x1], #16", 0x4dffcc20, RAM_END - 8),
    ];
    for &(asm, word, base) in cases {
        let mut m = Machine::new(7);
        m.set(X(1), base as u128);
        let before = m.cpu.regs.clone();
        let r = m.step(word);
        match r {
            Err(Exception::DataAbort { fault, .. }) => {
                assert!(fault.va >= RAM_END && !fault.write, "{asm}: {fault:?}")
            }
            other => panic!("{asm}: expected a data abort, got {:?}", other.err()),
        }
        assert!(m.cpu.regs == before, "{asm}: registers changed");
    }
}

/// A faulting store does not write back its base (its earlier elements may have
/// been stored, which the architecture allows).
#[test]
fn faulting_store_does_not_write_back() {
    // Element by element (crossing into the missing page), then as doublewords.
    for base in [RAM_END - 16, RAM_END] {
        let mut m = Machine::new(8);
        m.set(X(1), base as u128);
        let before = m.cpu.regs.clone();
        // st1 {v0.16b, v1.16b}, [x1], #32
        let r = m.step(0x4c9fa020);
        assert!(
            matches!(r, Err(Exception::DataAbort { fault, .. }) if fault.write && fault.va == RAM_END)
        );
        assert!(m.cpu.regs == before);
    }
}

/// With SP as the base, a misaligned SP raises the SP alignment fault when
/// SCTLR_EL1.SA is set, before any access.
#[test]
fn sp_base_is_alignment_checked() {
    let mut m = Machine::new(9);
    m.cpu.sys.sctlr |= sctlr::SA;
    m.set(Sp, buf(0x48));
    // ld1 {v0.16b}, [sp]
    assert!(matches!(m.step(0x4c4073e0), Err(Exception::SpAlignment)));
    m.set(Sp, buf(0x40));
    assert!(m.step(0x4c4073e0).is_ok());
}
