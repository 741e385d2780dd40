#!/usr/bin/env python3
"""Regenerates cpu/src/exec/fp/tests/cases.rs: directed FP cases with the results of
real AArch64 code under qemu-aarch64.

Each case: an instruction (assembled by aarch64-linux-gnu-as), FPCR, inputs V0-V3,
X0-X1, NZCV. The destination is always V0 or X0 (or NZCV). The driver program runs
every case, recording V0-V3, X0-X1, NZCV and FPSR afterwards.
usage: fp_directed.py > ../src/exec/fp/tests/cases.rs   (needs qemu-aarch64 and the
aarch64-linux-gnu toolchain)"""
import struct, subprocess, tempfile, os, sys

def f32(x): return struct.unpack('<I', struct.pack('<f', x))[0]
def f64(x): return struct.unpack('<Q', struct.pack('<d', x))[0]
def s4(*xs):  # four single lanes
    v = 0
    for i, x in enumerate(xs): v |= (x if isinstance(x, int) else f32(x)) << (32 * i)
    return v
def d2(*xs):
    v = 0
    for i, x in enumerate(xs): v |= (x if isinstance(x, int) else f64(x)) << (64 * i)
    return v
S = lambda x: x if isinstance(x, int) else f32(x)
D = lambda x: x if isinstance(x, int) else f64(x)
QN, SN, QNN = 0x7fc00001, 0x7f800011, 0xffc00002      # single NaNs with payloads
DQN, DSN = 0x7ff8000000000123, 0x7ff0000000000456
INF, NINF, DINF = 0x7f800000, 0xff800000, 0x7ff0000000000000
DEN, NDEN, DDEN = 0x00000001, 0x80400000, 0x0000000000000003
MINN, MAXN = 0x00800000, 0x7f7fffff
DMINN, DMAXN = 0x0010000000000000, 0x7fefffffffffffff
RN, RP, RM, RZ = 0, 1 << 22, 2 << 22, 3 << 22
FZ, DN, AHP = 1 << 24, 1 << 25, 1 << 26
FILL = 0x0123456789abcdef_fedcba9876543210      # upper lanes that must be zeroed

cases = []
def c(asm, v=(), x=(), fpcr=0, nzcv=0):
    v = list(v) + [FILL] * (4 - len(v))
    x = list(x) + [0x1111111111111111] * (2 - len(x))
    cases.append((asm, fpcr, nzcv, v, x))

# ---- scalar arithmetic: FADD FSUB FMUL FDIV FNMUL, NaN order, rounding, FZ, DN
for fp in [0, RP, RM, RZ]:
    c('fadd s0, s1, s2', [0, S(1.0), S(2 ** -24 + 2 ** -47)], fpcr=fp)
    c('fadd d0, d1, d2', [0, D(1.0), D(-2 ** -53 - 2 ** -100)], fpcr=fp)
    c('fmul s0, s1, s2', [0, S(3.0), S(1.0 / 3)], fpcr=fp)
    c('fdiv d0, d1, d2', [0, D(1.0), D(3.0)], fpcr=fp)
    c('fsub s0, s1, s2', [0, S(1.5), S(1.5)], fpcr=fp)          # exact zero: sign from mode
    c('fadd s0, s1, s2', [0, MAXN, MAXN], fpcr=fp)               # overflow
    c('fmul s0, s1, s2', [0, S(2 ** -100), S(2 ** -40)], fpcr=fp)  # underflow
c('fadd s0, s1, s2', [0, QN, SN])              # SNaN wins over QNaN
c('fadd s0, s1, s2', [0, QNN, QN])             # first QNaN
c('fadd s0, s1, s2', [0, S(1.0), SN], fpcr=DN) # default NaN
c('fsub d0, d1, d2', [0, DINF, DINF])          # inf - inf
c('fadd s0, s1, s2', [0, S(-0.0), S(-0.0)])
c('fadd s0, s1, s2', [0, DEN, S(0.0)], fpcr=FZ)          # input flush: IDC
c('fsub s0, s1, s2', [0, 0x00800003, 0x00800001], fpcr=FZ) # tiny result flushed: UFC
c('fsub s0, s1, s2', [0, 0x00800003, 0x00800001])          # exact denormal: no UFC
c('fmul s0, s1, s2', [0, 0x3f7fffff, 0x00800000])          # tiny before rounding, rounds to min normal
c('fmul s0, s1, s2', [0, 0x3f7fffff, 0x00800000], fpcr=FZ)
c('fmul d0, d1, d2', [0, DINF, 0])
c('fdiv s0, s1, s2', [0, S(1.0), S(-0.0)])     # DZC
c('fdiv s0, s1, s2', [0, 0, 0])
c('fdiv s0, s1, s2', [0, S(1.0), DEN])
c('fnmul s0, s1, s2', [0, S(2.0), S(3.0)])
c('fnmul d0, d1, d2', [0, DQN, D(1.0)])        # FNMUL negates a NaN result
c('fnmul s0, s1, s2', [0, INF, 0])             # ... and the default NaN
# ---- min/max
for op in ['fmax', 'fmin', 'fmaxnm', 'fminnm']:
    c(op + ' s0, s1, s2', [0, S(0.0), S(-0.0)])
    c(op + ' s0, s1, s2', [0, S(-0.0), S(0.0)])
    c(op + ' s0, s1, s2', [0, QN, S(1.0)])
    c(op + ' s0, s1, s2', [0, S(1.0), SN])
    c(op + ' d0, d1, d2', [0, D(-3.0), DQN])
    c(op + ' s0, s1, s2', [0, DEN, NDEN], fpcr=FZ)
    c(op + ' d0, d1, d2', [0, DINF, D(5.0)])
# ---- FMADD family: single rounding, NaN order, 0*inf+qnan
c('fmadd s0, s1, s2, s3', [0, S(1.0 + 2 ** -23), S(1.0 - 2 ** -23), S(-1.0)])
c('fmadd d0, d1, d2, d3', [0, D(1.0 + 2 ** -52), D(1.0 - 2 ** -52), D(-1.0)])
c('fmsub s0, s1, s2, s3', [0, S(2.0), S(3.0), S(1.0)])
c('fnmadd s0, s1, s2, s3', [0, S(2.0), S(3.0), S(1.0)])
c('fnmsub s0, s1, s2, s3', [0, S(2.0), S(3.0), S(1.0)])
c('fmadd s0, s1, s2, s3', [0, INF, 0, QN])     # default NaN + IOC
c('fmadd s0, s1, s2, s3', [0, QN, SN, QNN])    # SNaN operand first
c('fmadd s0, s1, s2, s3', [0, QN, S(1.0), QNN]) # QNaN: addend first
c('fmsub s0, s1, s2, s3', [0, QN, S(1.0), S(1.0)]) # negated NaN
c('fnmadd d0, d1, d2, d3', [0, D(1.0), D(1.0), DQN])
c('fmadd s0, s1, s2, s3', [0, S(1.0), S(-1.0), S(1.0)], fpcr=RM)  # exact zero -> -0
c('fmadd s0, s1, s2, s3', [0, S(-0.0), S(0.0), S(-0.0)])
c('fmadd s0, s1, s2, s3', [0, INF, S(2.0), NINF])
c('fmadd s0, s1, s2, s3', [0, 0x00800001, S(0.5), 0x80000001], fpcr=FZ)
c('fmadd d0, d1, d2, d3', [0, D(2 ** -600), D(2 ** -500), D(1.0)], fpcr=RP)
# ---- sqrt, abs, neg, mov
c('fsqrt s0, s1', [0, S(2.0)]); c('fsqrt d0, d1', [0, D(2.0)])
c('fsqrt s0, s1', [0, S(-1.0)]); c('fsqrt s0, s1', [0, S(-0.0)]); c('fsqrt s0, s1', [0, SN])
c('fsqrt d0, d1', [0, DDEN]); c('fsqrt s0, s1', [0, S(2.0)], fpcr=RP)
c('fabs s0, s1', [0, SN]); c('fneg d0, d1', [0, DQN]); c('fmov s0, s1', [0, S(-2.5)])
c('fmov d0, #-1.25'); c('fmov s0, #31.0'); c('fmov d0, #0.125')
# ---- rounding to integral
for op in ['frintn', 'frintp', 'frintm', 'frintz', 'frinta', 'frintx', 'frinti']:
    for val in [2.5, -2.5, 3.5, -0.2, 0.5]:
        c(op + ' s0, s1', [0, S(val)], fpcr=RM)
    c(op + ' d0, d1', [0, D(-1.5)], fpcr=RP)
    c(op + ' d0, d1', [0, D(2.0 ** 60 + 2 ** 8)])
c('frintn s0, s1', [0, SN]); c('frintx s0, s1', [0, DEN], fpcr=FZ)
# ---- precision conversions incl. half, AHP, DN
c('fcvt d0, s1', [0, S(1.1)]); c('fcvt s0, d1', [0, D(1.1)]); c('fcvt s0, d1', [0, D(1.1)], fpcr=RP)
c('fcvt s0, d1', [0, D(1e300)]); c('fcvt s0, d1', [0, D(1e-300)]); c('fcvt s0, d1', [0, D(1e-40)])
c('fcvt s0, d1', [0, D(1e-40)], fpcr=FZ); c('fcvt d0, s1', [0, DEN], fpcr=FZ)
c('fcvt s0, d1', [0, DSN]); c('fcvt d0, s1', [0, QNN]); c('fcvt d0, s1', [0, SN], fpcr=DN)
c('fcvt h0, s1', [0, S(65520.0)]); c('fcvt h0, s1', [0, S(65520.0)], fpcr=AHP)
c('fcvt h0, s1', [0, S(131000.0)], fpcr=AHP); c('fcvt h0, s1', [0, INF], fpcr=AHP)
c('fcvt h0, s1', [0, QNN], fpcr=AHP); c('fcvt h0, d1', [0, DQN]); c('fcvt h0, s1', [0, S(1e-7)])
c('fcvt h0, s1', [0, S(1e-7)], fpcr=FZ); c('fcvt h0, s1', [0, SN]); c('fcvt h0, d1', [0, D(1 / 3)])
c('fcvt s0, h1', [0, 0x7c00]); c('fcvt s0, h1', [0, 0x7c00], fpcr=AHP); c('fcvt d0, h1', [0, 0xfe01])
c('fcvt s0, h1', [0, 0x7d01]); c('fcvt d0, h1', [0, 0x0001], fpcr=FZ); c('fcvt s0, h1', [0, 0x8001])
# ---- integer conversions
for op in ['fcvtns', 'fcvtnu', 'fcvtps', 'fcvtpu', 'fcvtms', 'fcvtmu', 'fcvtzs', 'fcvtzu', 'fcvtas', 'fcvtau']:
    c(op + ' w0, s1', [0, S(-2.5)]); c(op + ' x0, d1', [0, D(2.5)]); c(op + ' w0, d1', [0, D(3e9)])
    c(op + ' x0, s1', [0, S(-1e19)]); c(op + ' w0, s1', [0, QN]); c(op + ' x0, d1', [0, D(-0.5)])
c('fcvtzs w0, s1', [0, S(-2147483648.0)]); c('fcvtzs w0, s1', [0, S(2147483648.0)])
c('fcvtzu x0, d1', [0, D(1.8446744073709552e19)]); c('fcvtzs x0, d1', [0, DINF])
c('fcvtzs w0, s1, #8', [0, S(-1.00390625)]); c('fcvtzu x0, d1, #64', [0, D(0.75)])
c('fcvtzs x0, d1, #1', [0, D(2.0 ** 62)]); c('fcvtzs w0, s1', [0, DEN], fpcr=FZ)
for fp in [0, RP, RM, RZ]:
    c('scvtf s0, x1', x=[0, 0x7fffffffffffffff], fpcr=fp); c('ucvtf d0, x1', x=[0, 0xffffffffffffffff], fpcr=fp)
    c('scvtf s0, w1', x=[0, 0x80000001], fpcr=fp)
c('ucvtf s0, w1', x=[0, 0x80000001]); c('scvtf d0, w1, #3', x=[0, 0xfffffff9]); c('ucvtf s0, x1, #64', x=[0, 1])
c('scvtf d0, x1, #10', x=[0, 0x8000000000000000]); c('scvtf s0, w1', x=[0, 0])
# ---- FMOV general
c('fmov w0, s1', [0, S(1.5)]); c('fmov s0, w1', x=[0, 0xaaaaaaaabbbbbbbb]); c('fmov x0, d1', [0, FILL])
c('fmov d0, x1', x=[0, 0x123456789]); c('fmov x0, v1.d[1]', [0, FILL]); c('fmov v0.d[1], x1', [FILL], x=[0, 0x42])
# ---- compares
for op in ['fcmp', 'fcmpe']:
    for a, b in [(1.0, 2.0), (2.0, 1.0), (0.0, -0.0), (QN, S(1.0)), (SN, S(1.0))]:
        c(op + ' s1, s2', [0, S(a), S(b)], nzcv=0xf0000000)
    c(op + ' d1, #0.0', [0, D(-1.0)]); c(op + ' s1, #0.0', [0, QN]); c(op + ' s1, s2', [0, DEN, 0], fpcr=FZ)
c('fccmp s1, s2, #5, eq', [0, S(1.0), S(1.0)], nzcv=0x40000000)
c('fccmp s1, s2, #5, eq', [0, S(1.0), S(1.0)], nzcv=0x00000000)
c('fccmp d1, d2, #2, ne', [0, DQN, D(1.0)], nzcv=0x00000000)
c('fccmpe s1, s2, #2, ne', [0, QN, S(1.0)], nzcv=0x00000000)
c('fccmpe s1, s2, #2, ne', [0, QN, S(1.0)], nzcv=0x40000000)
c('fcsel s0, s1, s2, ge', [0, S(1.0), S(2.0)], nzcv=0x90000000)
c('fcsel d0, d1, d2, ge', [0, FILL, D(2.0)], nzcv=0x00000000)
# ---- vector three-same
c('fadd v0.4s, v1.4s, v2.4s', [0, s4(1.0, 2.0, QN, INF), s4(0.5, SN, 1.0, NINF)])
c('fadd v0.2s, v1.2s, v2.2s', [FILL, s4(1.0, 2.0, 3.0, 4.0), s4(1.0, 1.0, 1.0, 1.0)])
c('fsub v0.2d, v1.2d, v2.2d', [0, d2(1.0, 2.0), d2(1.0, 2 ** -60)], fpcr=RM)
c('fmul v0.4s, v1.4s, v2.4s', [0, s4(3.0, MAXN, DEN, 0x3f7fffff), s4(1 / 3, 2.0, 1.0, 0x00800000)], fpcr=FZ)
c('fdiv v0.2d, v1.2d, v2.2d', [0, d2(1.0, 0), d2(0, 0)])
c('fmax v0.4s, v1.4s, v2.4s', [0, s4(0.0, -0.0, 1.0, QN), s4(-0.0, 0.0, SN, 2.0)])
c('fminnm v0.4s, v1.4s, v2.4s', [0, s4(0.0, -0.0, QN, QN), s4(-0.0, 0.0, 1.0, QNN)])
c('fmaxnm v0.2d, v1.2d, v2.2d', [0, d2(DQN, 1.0), d2(-5.0, DSN)])
c('fmla v0.4s, v1.4s, v2.4s', [s4(1.0, QN, 0, -1.0), s4(2.0, 1.0, INF, 1.0 + 2 ** -23), s4(3.0, 1.0, 0, 1.0 - 2 ** -23)])
c('fmls v0.2d, v1.2d, v2.2d', [d2(1.0, 1.0), d2(2.0, DQN), d2(3.0, 1.0)])
c('fabd v0.4s, v1.4s, v2.4s', [0, s4(1.0, -3.0, QNN, 0.0), s4(3.0, 1.0, 1.0, -0.0)])
c('fmulx v0.4s, v1.4s, v2.4s', [0, s4(INF, 0.0, NINF, 2.0), s4(-0.0, NINF, 0.0, 3.0)])
c('frecps v0.4s, v1.4s, v2.4s', [0, s4(2.0, INF, QN, 1.0), s4(0.5, 0.0, 1.0, 2.0)])
c('frsqrts v0.2d, v1.2d, v2.2d', [0, d2(2.0, DINF), d2(0.5, 0.0)])
c('fcmeq v0.4s, v1.4s, v2.4s', [0, s4(1.0, QN, SN, 0.0), s4(1.0, QN, 1.0, -0.0)])
c('fcmge v0.4s, v1.4s, v2.4s', [0, s4(1.0, QN, 2.0, 0.0), s4(1.0, 1.0, 1.0, -0.0)])
c('fcmgt v0.2d, v1.2d, v2.2d', [0, d2(1.0, 2.0), d2(1.0, 1.0)])
c('facge v0.4s, v1.4s, v2.4s', [0, s4(-2.0, 1.0, QN, -0.0), s4(1.0, -2.0, 1.0, 0.0)])
c('facgt v0.4s, v1.4s, v2.4s', [0, s4(-2.0, 1.0, 3.0, -0.0), s4(1.0, -2.0, -3.0, 0.0)])
c('faddp v0.4s, v1.4s, v2.4s', [0, s4(1.0, 2.0, 3.0, 4.0), s4(10.0, 20.0, QN, SN)])
c('fmaxp v0.2s, v1.2s, v2.2s', [FILL, s4(1.0, 2.0, 9.0, 9.0), s4(-1.0, -2.0, 9.0, 9.0)])
c('fminnmp v0.2d, v1.2d, v2.2d', [0, d2(DQN, 1.0), d2(3.0, -3.0)])
# ---- vector two-register misc
c('fabs v0.4s, v1.4s', [0, s4(-1.0, QNN, SN, -0.0)]); c('fneg v0.2d, v1.2d', [0, d2(1.0, DQN)])
c('fsqrt v0.4s, v1.4s', [0, s4(4.0, -1.0, 2.0, DEN)])
c('frintn v0.4s, v1.4s', [0, s4(0.5, 1.5, -2.5, 2 ** 23 + 1.0)]); c('frinta v0.2d, v1.2d', [0, d2(0.5, -2.5)])
c('frintx v0.4s, v1.4s', [0, s4(0.5, 1.5, -2.5, 7.0)], fpcr=RP); c('frinti v0.2s, v1.2s', [FILL, s4(0.5, 1.5, 0, 0)], fpcr=RM)
c('fcvtns v0.4s, v1.4s', [0, s4(2.5, -2.5, 3e9, QN)]); c('fcvtzu v0.2d, v1.2d', [0, d2(-1.0, 1e20)])
c('fcvtau v0.4s, v1.4s', [0, s4(2.5, -0.5, 4294967295.0, 0.5)]); c('fcvtms v0.2s, v1.2s', [FILL, s4(-0.5, 0.5, 0, 0)])
c('scvtf v0.4s, v1.4s', [0, 0xffffffff_80000000_7fffffff_00000001]); c('ucvtf v0.2d, v1.2d', [0, 0xffffffffffffffff_8000000000000001])
c('fcvtl v0.4s, v1.4h', [0, 0x7e01_fc00_8001_3c00]); c('fcvtl2 v0.2d, v1.4s', [0, s4(0, 0, 1.5, SN)])
c('fcvtl v0.4s, v1.4h', [0, 0x7e01_fc00_8001_3c00], fpcr=AHP)
c('fcvtn v0.4h, v1.4s', [FILL, s4(1.0, 65520.0, QN, 1e-8)]); c('fcvtn2 v0.4s, v1.2d', [FILL, d2(1.1, 1e300)])
c('fcvtn v0.4h, v1.4s', [FILL, s4(1.0, 65520.0, QN, INF)], fpcr=AHP)
c('fcvtxn v0.2s, v1.2d', [FILL, d2(1.0 + 2 ** -40, 1e300)]); c('fcvtxn2 v0.4s, v1.2d', [FILL, d2(1e-50, DSN)])
c('fcvtxn s0, d1', [FILL, D(1.0 + 2 ** -40)])
c('frecpe v0.4s, v1.4s', [0, s4(2.0, 0.0, INF, 3.0)]); c('frecpe v0.4s, v1.4s', [0, s4(DEN, 0x00400000, 2.0 ** 127, 2.0 ** 126)])
c('frecpe v0.4s, v1.4s', [0, s4(DEN, 0x00400000, 2.0 ** 127, 2.0 ** 126)], fpcr=FZ | RZ)
c('frecpe v0.2d, v1.2d', [0, d2(3.0, DDEN)]); c('frecpe v0.2d, v1.2d', [0, d2(-1e-310, 5e-324)], fpcr=RP)
c('frsqrte v0.4s, v1.4s', [0, s4(4.0, 2.0, -1.0, 0.0)]); c('frsqrte v0.2d, v1.2d', [0, d2(DINF, 5e-324)])
c('frsqrte v0.4s, v1.4s', [0, s4(DEN, 0x00400001, 3.0, QN)])
c('urecpe v0.4s, v1.4s', [0, 0x00000000_7fffffff_80000000_ffffffff]); c('ursqrte v0.4s, v1.4s', [0, 0x3fffffff_40000000_80000000_ffffffff])
c('fcmgt v0.4s, v1.4s, #0.0', [0, s4(1.0, -1.0, 0.0, QN)]); c('fcmle v0.4s, v1.4s, #0.0', [0, s4(1.0, -1.0, -0.0, QN)])
c('fcmlt v0.2d, v1.2d, #0.0', [0, d2(-1.0, DQN)]); c('fcmeq v0.4s, v1.4s, #0.0', [0, s4(-0.0, SN, QN, DEN)], fpcr=FZ)
c('fcmge v0.2s, v1.2s, #0.0', [FILL, s4(0.0, -1.0, 0, 0)])
# ---- scalar SIMD forms
c('fmulx d0, d1, d2', [0, DINF, D(-0.0)]); c('fcmeq s0, s1, s2', [0, S(1.0), S(1.0)]); c('facgt d0, d1, d2', [0, D(-2.0), D(1.0)])
c('fabd s0, s1, s2', [0, S(1.0), S(4.0)]); c('frecps s0, s1, s2', [0, S(1.5), S(2.0)]); c('frsqrts d0, d1, d2', [0, D(1.5), D(2.0)])
c('frecpe s0, s1', [0, S(0.1)]); c('frsqrte d0, d1', [0, D(0.1)]); c('frecpx s0, s1', [0, S(3.0)]); c('frecpx d0, d1', [0, DDEN])
c('frecpx s0, s1', [0, SN]); c('frecpx s0, s1', [0, DEN], fpcr=FZ)
c('fcvtzs s0, s1', [0, S(-3.7)]); c('fcvtnu d0, d1', [0, D(2.5)]); c('scvtf d0, d1', [0, 0xfffffffffffffffd]); c('ucvtf s0, s1', [0, 0xffffffff])
c('fcmle d0, d1, #0.0', [0, D(-0.0)]); c('fcmgt s0, s1, #0.0', [0, QN])
c('faddp s0, v1.2s', [0, s4(1.0, 2.0, 100.0, 100.0)]); c('fmaxnmp d0, v1.2d', [0, d2(DQN, -1.0)]); c('fminp s0, v1.2s', [0, s4(0.0, -0.0, 5, 5)])
c('fmaxv s0, v1.4s', [0, s4(1.0, 5.0, QN, 2.0)]); c('fminnmv s0, v1.4s', [0, s4(1.0, QN, -5.0, 2.0)]); c('fmaxnmv s0, v1.4s', [0, s4(QN, QN, QN, QNN)])
c('fminv s0, v1.4s', [0, s4(0.0, -0.0, 1.0, 2.0)])
# ---- by element
c('fmul v0.4s, v1.4s, v2.s[3]', [0, s4(1.0, 2.0, 3.0, 4.0), s4(9.0, 9.0, 9.0, 0.5)])
c('fmla v0.2d, v1.2d, v2.d[1]', [d2(1.0, 2.0), d2(3.0, 4.0), d2(9.0, -1.0)])
c('fmls v0.2s, v1.2s, v2.s[1]', [FILL, s4(1.0, 2.0, 7.0, 7.0), s4(9.0, 3.0, 9.0, 9.0)])
c('fmulx v0.4s, v1.4s, v2.s[2]', [0, s4(0.0, -0.0, 1.0, 2.0), s4(9.0, 9.0, INF, 9.0)])
c('fmul s0, s1, v2.s[1]', [FILL, S(3.0), s4(9.0, 0.5, 9.0, 9.0)]); c('fmla d0, d1, v2.d[1]', [D(1.0), D(2.0), d2(9.0, 3.0)])
c('fmulx d0, d1, v2.d[0]', [0, DINF, d2(0, 1)])
c('fmaxnmp v0.4s, v1.4s, v2.4s', [0, s4(QN, 1.0, 2.0, -2.0), s4(0.0, -0.0, SN, 1.0)])
c('fminp v0.2d, v1.2d, v2.2d', [0, d2(0.0, -0.0), d2(DQN, 1.0)])
c('fcvtas v0.2d, v1.2d', [0, d2(-2.5, 1e19)]); c('fcvtps v0.4s, v1.4s', [0, s4(-0.5, 0.5, 2.0 ** 31, -3e9)])
c('fcvtmu v0.4s, v1.4s', [0, s4(-0.5, 1.5, 5e9, QN)]); c('fcvtpu v0.2s, v1.2s', [FILL, s4(0.1, -0.1, 0, 0)])
c('fcvtas s0, s1', [0, S(-0.5)]); c('fcvtps d0, d1', [0, D(-1e-300)]); c('fcvtmu s0, s1', [0, S(2.75)])
c('fcvtpu d0, d1', [0, D(1e-300)]); c('fmaxp d0, v1.2d', [0, d2(DSN, 1.0)]); c('fminnmp s0, v1.2s', [0, s4(QN, -0.0, 0, 0)])
# ---- fixed-point (shift by immediate)
c('scvtf v0.4s, v1.4s, #4', [0, 0xfffffff0_00000001_7fffffff_00000010]); c('ucvtf v0.2d, v1.2d, #64', [0, 0xffffffffffffffff_0000000000000001])
c('fcvtzs v0.4s, v1.4s, #1', [0, s4(1.25, -1.75, 2.0 ** 31, QN)]); c('fcvtzu v0.2d, v1.2d, #32', [0, d2(0.5, -0.5)])
c('fcvtzs s0, s1, #32', [0, S(0.25)]); c('ucvtf d0, d1, #1', [0, 3]); c('scvtf v0.2s, v1.2s, #32', [FILL, 0x80000000_00000001])

# ---------------------------------------------------------------------------
def assemble(lines):
    with tempfile.TemporaryDirectory() as t:
        open(t + '/a.s', 'w').write('\n'.join(lines) + '\n')
        subprocess.run(['aarch64-linux-gnu-as', '-o', t + '/a.o', t + '/a.s'], check=True)
        subprocess.run(['aarch64-linux-gnu-objcopy', '-O', 'binary', '-j', '.text', t + '/a.o', t + '/a.bin'], check=True)
        data = open(t + '/a.bin', 'rb').read()
    return list(struct.unpack('<%dI' % (len(data) // 4), data))

words = assemble([a for (a, *_ ) in cases])
asm = ['.text', '.global _start', '_start:',
       'adr x19, cases', 'adr x20, stubs', 'ldr x21, =%d' % len(cases), 'ldr x22, =outbuf', 'mov x23, x22',
       'loop:', 'ldp q0, q1, [x19], #32', 'ldp q2, q3, [x19], #32', 'ldp x0, x1, [x19], #16',
       'ldr x9, [x19], #8', 'msr nzcv, x9', 'ldr x9, [x19], #8', 'msr fpcr, x9', 'msr fpsr, xzr',
       'blr x20', 'add x20, x20, #8',
       'stp q0, q1, [x22], #32', 'stp q2, q3, [x22], #32', 'stp x0, x1, [x22], #16',
       'mrs x9, nzcv', 'str x9, [x22], #8', 'mrs x9, fpsr', 'str x9, [x22], #8',
       'subs x21, x21, #1', 'b.ne loop',
       'mov x0, #1', 'mov x1, x23', 'sub x2, x22, x23', 'mov x8, #64', 'svc #0', 'mov x0, #0', 'mov x8, #93', 'svc #0',
       '.ltorg', '.balign 8', 'stubs:']
for w in words: asm += ['.inst 0x%08x' % w, 'ret']
asm += ['.data', '.balign 16', 'cases:']
for (a, fpcr, nzcv, v, x) in cases:
    for q in v: asm.append('.quad 0x%x, 0x%x' % (q & (2 ** 64 - 1), q >> 64))
    asm.append('.quad 0x%x, 0x%x, 0x%x, 0x%x' % (x[0], x[1], nzcv, fpcr))
asm += ['.bss', '.balign 16', 'outbuf:', '.skip %d' % (96 * len(cases))]
with tempfile.TemporaryDirectory() as t:
    open(t + '/d.s', 'w').write('\n'.join(asm) + '\n')
    subprocess.run(['aarch64-linux-gnu-gcc', '-static', '-nostdlib', '-o', t + '/d', t + '/d.s'], check=True)
    out = subprocess.run(['qemu-aarch64', t + '/d'], capture_output=True, check=True).stdout
qv = subprocess.run(['qemu-aarch64', '--version'], capture_output=True, text=True).stdout.splitlines()[0]
print('// @generated by cpu/tools/fp_directed.py: do not edit by hand.')
print('// Expected values: %s, user mode, running each instruction.' % qv)
print('// (asm, word, fpcr, nzcv in, [v0..v3] in, [x0, x1] in) ->')
print('// ([v0..v3] out, [x0, x1] out, nzcv out, fpsr out)')
print('use super::Case;')
print()
print('#[rustfmt::skip]')
print('pub const CASES: &[Case] = &[')
for k, ((a, fpcr, nzcv, v, x), w) in enumerate(zip(cases, words)):
    o = out[96 * k: 96 * (k + 1)]
    ov = [int.from_bytes(o[16 * j:16 * j + 16], 'little') for j in range(4)]
    ox = [int.from_bytes(o[64 + 8 * j:72 + 8 * j], 'little') for j in range(2)]
    onz = int.from_bytes(o[80:88], 'little'); ofs = int.from_bytes(o[88:96], 'little')
    print('    Case { asm: "%s", word: 0x%08x, fpcr: 0x%08x, nzcv: 0x%08x,' % (a, w, fpcr, nzcv))
    print('        v: [%s], x: [%s],' % (', '.join('0x%032x' % q for q in v), ', '.join('0x%016x' % q for q in x)))
    print('        out_v: [%s], out_x: [%s], out_nzcv: 0x%08x, out_fpsr: 0x%08x },' % (
        ', '.join('0x%032x' % q for q in ov), ', '.join('0x%016x' % q for q in ox), onz, ofs))
print('];')
