#!/usr/bin/env python3
"""Writes the arithmetic and shift spec files."""
import itertools, sys, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + '/..')
import ref

def undef(asm, desc, **fields):
    """A reserved variant of `asm`: fields given as name=(hi, lo, value)."""
    w = ref.assemble([asm])[0]
    for name, (hi, lo, v) in fields.items():
        m = ((1 << (hi - lo + 1)) - 1) << lo
        w = (w & ~m) | (v << lo)
    return '.inst 0x%08x | 1 | | %s' % (w, desc)

SIZE = lambda v: (23, 22, v)
Q = lambda v: (30, 30, v)

VEC = {'b': ['8b', '16b'], 'h': ['4h', '8h'], 's': ['2s', '4s'], 'd': ['2d']}
seed_counter = itertools.count(1000)

def arrs(sizes, every=False):
    """Arrangements: one Q=0 and one Q=1 form, rotating sizes; all if every."""
    out = []
    for s in sizes:
        out += VEC[s]
    if every:
        return out
    # keep: first Q=0 form, Q=1 forms of all sizes
    q0 = [a for a in out if a in ('8b', '4h', '2s')]
    q1 = [a for a in out if a not in ('8b', '4h', '2s')]
    return q0[:2] + q1

def line(asm, sets=''):
    return '%s | %d%s' % (asm, next(seed_counter), (' | ' + sets) if sets else '')

SHIFTS_B = '0x80c17fc040bf3ff1e010f808f907ff01'
SHIFTS_H = '0x00ef0011ffc2003e0030ff8000c10007'
SHIFTS_S = '0x000000f0000000100000001f000000e1'
SHIFTS_D = '0x00000000000000c100000000000000bf'
SHIFT_VEC = {'b': SHIFTS_B, 'h': SHIFTS_H, 's': SHIFTS_S, 'd': SHIFTS_D}

def three_same():
    L = []
    ops = [
        ('shadd uhadd srhadd urhadd shsub uhsub', 'bhs'),
        ('sqadd uqadd sqsub uqsub', 'bhsd'),
        ('cmgt cmhi cmge cmhs', 'bhsd'),
        ('sshl ushl sqshl uqshl srshl urshl sqrshl uqrshl', 'bhsd'),
        ('smax umax smin umin sabd uabd saba uaba', 'bhs'),
        ('add sub cmtst cmeq', 'bhsd'),
        ('mla mls mul', 'bhs'),
        ('pmul', 'b'),
        ('smaxp umaxp sminp uminp', 'bhs'),
        ('addp', 'bhsd'),
        ('sqdmulh sqrdmulh', 'hs'),
    ]
    for names, sizes in ops:
        for op in names.split():
            for a in arrs(sizes):
                L.append(line('%s v0.%s, v1.%s, v2.%s' % (op, a, a, a)))
    for op in 'and bic orr orn eor bsl bit bif'.split():
        for a in ('8b', '16b'):
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (op, a, a, a)))
    # shifts by register with chosen shift counts
    for op in 'sshl ushl sqshl uqshl srshl urshl sqrshl uqrshl'.split():
        for s in 'bhsd':
            a = VEC[s][-1]
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (op, a, a, a), 'v2=' + SHIFT_VEC[s]))
    # saturation
    L.append(line('sqadd v0.16b, v1.16b, v2.16b', 'v1=0x7f7f80800102037f80fe7f00ff017f80, v2=0x01ff80ff7f7f7e7f7f027fff00ff0080'))
    L.append(line('uqsub v0.8h, v1.8h, v2.8h', 'v1=0x0000ffff00017fff8000000100020003, v2=0x0001fffe00028000800000000003ffff'))
    L.append(line('sqdmulh v0.8h, v1.8h, v2.8h', 'v1=0x80008000400080017fff000180008000, v2=0x8000800140007fff7fffffff7fff0001'))
    L.append(line('sqrdmulh v0.4s, v1.4s, v2.4s', 'v1=0x80000000800000004000000080000001, v2=0x800000007fffffff400000007fffffff'))
    # scalar
    for op in 'sqadd uqadd sqsub uqsub sqshl uqshl sqrshl uqrshl'.split():
        for r in 'bhsd':
            L.append(line('%s %s0, %s1, %s2' % (op, r, r, r)))
    for op in 'cmgt cmhi cmge cmhs sshl ushl srshl urshl add sub cmtst cmeq'.split():
        L.append(line('%s d0, d1, d2' % op))
    for op in 'sshl ushl srshl urshl'.split():
        L.append(line('%s d0, d1, d2' % op, 'v2=' + SHIFTS_D))
    for op in 'sqdmulh sqrdmulh'.split():
        for r in 'hs':
            L.append(line('%s %s0, %s1, %s2' % (op, r, r, r)))
    L.append(line('sqdmulh h0, h1, h2', 'v1=0x8000, v2=0x8000'))
    L.append(line('sqrdmulh s0, s1, s2', 'v1=0x80000000, v2=0x80000000'))
    L.append(line('addp d0, v1.2d'))
    L.append(line('add v3.2d, v3.2d, v3.2d'))
    L += [
        undef('add v0.2d, v1.2d, v2.2d', 'ADD .1d', q=Q(0)),
        undef('shadd v0.4s, v1.4s, v2.4s', 'SHADD .2d', s=SIZE(3)),
        undef('mul v0.4s, v1.4s, v2.4s', 'MUL .2d', s=SIZE(3)),
        undef('pmul v0.16b, v1.16b, v2.16b', 'PMUL .8h', s=SIZE(1)),
        undef('sqdmulh v0.8h, v1.8h, v2.8h', 'SQDMULH .16b', s=SIZE(0)),
        undef('sqdmulh v0.8h, v1.8h, v2.8h', 'SQDMULH .2d', s=SIZE(3)),
        undef('addp v0.2d, v1.2d, v2.2d', 'ADDP .1d', q=Q(0)),
        undef('smaxp v0.4s, v1.4s, v2.4s', 'SMAXP .2d', s=SIZE(3)),
        undef('add d0, d1, d2', 'ADD (scalar) S', s=SIZE(2)),
        undef('cmeq d0, d1, d2', 'CMEQ (scalar) H', s=SIZE(1)),
        undef('sqdmulh h0, h1, h2', 'SQDMULH (scalar) B', s=SIZE(0)),
        undef('addp d0, v1.2d', 'ADDP (scalar) size 10', s=SIZE(2)),
    ]
    return L

def three_different():
    L = []
    narrow = {'8b': ('8h', '8b'), '16b': ('8h', '16b'), '4h': ('4s', '4h'), '8h': ('4s', '8h'),
              '2s': ('2d', '2s'), '4s': ('2d', '4s')}
    def two(op, a):
        return op + '2' if a in ('16b', '8h', '4s') else op
    for op in 'saddl uaddl ssubl usubl sabal uabal sabdl uabdl smlal umlal smlsl umlsl smull umull'.split():
        for a in ('8b', '8h', '2s', '16b'):
            w, n = narrow[a]
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (two(op, a), w, n, n)))
    for op in 'saddw uaddw ssubw usubw'.split():
        for a in ('8b', '4h', '4s'):
            w, n = narrow[a]
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (two(op, a), w, w, n)))
    for op in 'addhn raddhn subhn rsubhn'.split():
        for a in ('8b', '8h', '2s', '16b'):
            w, n = narrow[a]
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (two(op, a), n, w, w)))
    for op in 'sqdmlal sqdmlsl sqdmull'.split():
        for a in ('4h', '8h', '2s', '4s'):
            w, n = narrow[a]
            L.append(line('%s v0.%s, v1.%s, v2.%s' % (two(op, a), w, n, n)))
        L.append(line('%s s0, h1, h2' % op))
        L.append(line('%s d0, s1, s2' % op))
    L.append(line('sqdmull v0.4s, v1.4h, v2.4h', 'v1=0x80008000800000010000000000000000, v2=0x0000000080008000'))
    L.append(line('sqdmlal v0.2d, v1.2s, v2.2s', 'v0=0x7fffffffffffffff8000000000000000, v1=0x7fffffff80000000, v2=0x7fffffff7fffffff'))
    L.append(line('sqdmlsl s0, h1, h2', 'v0=0x80000000, v1=0x1, v2=0x1'))
    L.append(line('sqdmlal d0, s1, s2', 'v0=0x0, v1=0x80000000, v2=0x80000000'))
    for a in ('8b', '16b'):
        L.append(line('%s v0.8h, v1.%s, v2.%s' % (two('pmull', a), a, a)))
    L += [
        undef('saddl v0.8h, v1.8b, v2.8b', 'SADDL size 11', s=SIZE(3)),
        undef('addhn v0.8b, v1.8h, v2.8h', 'ADDHN size 11', s=SIZE(3)),
        undef('sqdmlal v0.4s, v1.4h, v2.4h', 'SQDMLAL size 00', s=SIZE(0)),
        undef('sqdmull s0, h1, h2', 'SQDMULL (scalar) size 00', s=SIZE(0)),
        undef('pmull v0.8h, v1.8b, v2.8b', 'PMULL size 01', s=SIZE(1)),
        undef('smull v0.8h, v1.8b, v2.8b', 'three different opcode 1111', o=(15, 12, 15)),
    ]
    return L

def two_reg_misc():
    L = []
    def un(op, sizes, every=False):
        for a in arrs(sizes, every):
            L.append(line('%s v0.%s, v1.%s' % (op, a, a)))
    un('rev64', 'bhs', True); un('rev32', 'bh', True); un('rev16', 'b', True)
    for op in 'suqadd usqadd sqabs sqneg abs neg'.split():
        un(op, 'bhsd')
    for op in 'cls clz'.split():
        un(op, 'bhs')
    un('cnt', 'b', True); un('not', 'b', True); un('rbit', 'b', True)
    for op in 'cmgt cmge cmeq cmle cmlt'.split():
        for a in arrs('bhsd'):
            L.append(line('%s v0.%s, v1.%s, #0' % (op, a, a)))
    widen = {'8b': '4h', '16b': '8h', '4h': '2s', '8h': '4s', '2s': '1d', '4s': '2d'}
    for op in 'saddlp uaddlp sadalp uadalp'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s'):
            L.append(line('%s v0.%s, v1.%s' % (op, widen[a], a)))
    narrow = {'8b': '8h', '16b': '8h', '4h': '4s', '8h': '4s', '2s': '2d', '4s': '2d'}
    for op in 'xtn sqxtn uqxtn sqxtun'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s'):
            o = op + '2' if a in ('16b', '8h', '4s') else op
            L.append(line('%s v0.%s, v1.%s' % (o, a, narrow[a])))
    for a in ('8b', '16b', '4h', '8h', '2s', '4s'):
        o = 'shll2' if a in ('16b', '8h', '4s') else 'shll'
        L.append(line('%s v0.%s, v1.%s, #%d' % (o, narrow[a], a, {'b': 8, 'h': 16, 's': 32}[a[-1]])))
    # scalar
    for op in 'suqadd usqadd sqabs sqneg'.split():
        for r in 'bhsd':
            L.append(line('%s %s0, %s1' % (op, r, r)))
    for op in 'abs neg'.split():
        L.append(line('%s d0, d1' % op))
    for op in 'cmgt cmge cmeq cmle cmlt'.split():
        L.append(line('%s d0, d1, #0' % op))
    for op in 'sqxtn uqxtn sqxtun'.split():
        for r, w in (('b', 'h'), ('h', 's'), ('s', 'd')):
            L.append(line('%s %s0, %s1' % (op, r, w)))
    # edge values
    L.append(line('sqabs v0.16b, v1.16b', 'v1=0x80817fff0001fe7f80808080ff00017f'))
    L.append(line('sqneg v0.2d, v1.2d', 'v1=0x80000000000000007fffffffffffffff'))
    L.append(line('abs v0.8h, v1.8h', 'v1=0x80008001ffff00007fff000100028000'))
    L.append(line('suqadd v0.4s, v1.4s', 'v0=0x7fffffff80000000fffffffe00000001, v1=0x00000001ffffffff00000005fffffffe'))
    L.append(line('usqadd v0.16b, v1.16b', 'v0=0xff00807f01fe10ef00ff80ff7f000102, v1=0x01ff7f8080028001ff80ff807f7f0102'))
    L.append(line('cls v0.4s, v1.4s', 'v1=0x00000000ffffffff4000000080000001'))
    L.append(line('clz v0.8h, v1.8h', 'v1=0x0000ffff00010002800040000fff7fff'))
    L.append(line('sqxtun v0.8b, v1.8h', 'v1=0x800000ff01007fff0100ffff00800001'))
    L.append(line('uqxtn s0, d1', 'v1=0x100000000'))
    L += [
        undef('rev64 v0.4s, v1.4s', 'REV64 .2d', s=SIZE(3)),
        undef('rev16 v0.16b, v1.16b', 'REV16 size 01', s=SIZE(1)),
        undef('rev32 v0.8h, v1.8h', 'REV32 size 10', s=SIZE(2)),
        undef('cnt v0.16b, v1.16b', 'CNT size 01', s=SIZE(1)),
        undef('rbit v0.16b, v1.16b', 'RBIT size 10', s=SIZE(2)),
        undef('abs v0.2d, v1.2d', 'ABS .1d', q=Q(0)),
        undef('xtn v0.2s, v1.2d', 'XTN size 11', s=SIZE(3)),
        undef('cls v0.4s, v1.4s', 'CLS .2d', s=SIZE(3)),
        undef('saddlp v0.2d, v1.4s', 'SADDLP size 11', s=SIZE(3)),
        undef('abs d0, d1', 'ABS (scalar) S', s=SIZE(2)),
        undef('cmgt d0, d1, #0', 'CMGT #0 (scalar) B', s=SIZE(0)),
        undef('sqxtn s0, d1', 'SQXTN (scalar) size 11', s=SIZE(3)),
        undef('shll v0.2d, v1.2s, #32', 'SHLL size 11', s=SIZE(3)),
    ]
    return L

def across():
    L = []
    for op in 'addv smaxv umaxv sminv uminv'.split():
        for a in ('8b', '16b', '4h', '8h', '4s'):
            r = {'b': 'b', 'h': 'h', 's': 's'}[a[-1]]
            L.append(line('%s %s0, v1.%s' % (op, r, a)))
    for op in 'saddlv uaddlv'.split():
        for a in ('8b', '16b', '4h', '8h', '4s'):
            r = {'b': 'h', 'h': 's', 's': 'd'}[a[-1]]
            L.append(line('%s %s0, v1.%s' % (op, r, a)))
    L.append(line('uaddlv h0, v1.16b', 'v1=0xffffffffffffffffffffffffffffffff'))
    L.append(line('saddlv d0, v1.4s', 'v1=0x80000000800000008000000080000000'))
    L += [
        undef('addv s0, v1.4s', 'ADDV .2s', q=Q(0)),
        undef('addv s0, v1.4s', 'ADDV size 11', s=SIZE(3)),
        undef('saddlv d0, v1.4s', 'SADDLV .2s', q=Q(0)),
        undef('umaxv s0, v1.4s', 'UMAXV size 11', s=SIZE(3)),
    ]
    return L

def by_element():
    L = []
    for op in 'mul mla mls sqdmulh sqrdmulh'.split():
        L.append(line('%s v0.4h, v1.4h, v2.h[7]' % op))
        L.append(line('%s v0.8h, v1.8h, v15.h[2]' % op))
        L.append(line('%s v0.2s, v1.2s, v31.s[1]' % op))
        L.append(line('%s v0.4s, v1.4s, v16.s[3]' % op))
    for op in 'sqdmulh sqrdmulh'.split():
        L.append(line('%s h0, h1, v2.h[5]' % op))
        L.append(line('%s s0, s1, v20.s[2]' % op))
    for op in 'smull umull smlal umlal smlsl umlsl sqdmull sqdmlal sqdmlsl'.split():
        L.append(line('%s v0.4s, v1.4h, v2.h[3]' % op))
        L.append(line('%s2 v0.4s, v1.8h, v9.h[6]' % op))
        L.append(line('%s v0.2d, v1.2s, v17.s[0]' % op))
        L.append(line('%s2 v0.2d, v1.4s, v30.s[3]' % op))
    for op in 'sqdmull sqdmlal sqdmlsl'.split():
        L.append(line('%s s0, h1, v3.h[1]' % op))
        L.append(line('%s d0, s1, v25.s[1]' % op))
    L.append(line('sqdmulh v0.8h, v1.8h, v2.h[0]', 'v1=0x80008000800000017fff8000ffff0001, v2=0x8000'))
    L.append(line('sqdmull d0, s1, v2.s[3]', 'v1=0x80000000, v2=0x80000000000000000000000000000000'))
    L.append(line('sqdmlal v0.4s, v1.4h, v2.h[1]', 'v0=0x7fffffff7fffffff8000000000000000, v1=0x0001800080000001, v2=0x80000000'))
    L += [
        undef('mul v0.8h, v1.8h, v2.h[0]', 'MUL (element) size 00', s=SIZE(0)),
        undef('mul v0.8h, v1.8h, v2.h[0]', 'MUL (element) size 11', s=SIZE(3)),
        undef('sqdmull s0, h1, v2.h[0]', 'SQDMULL (element, scalar) size 00', s=SIZE(0)),
        undef('smull v0.4s, v1.4h, v2.h[0]', 'SMULL (element) size 11', s=SIZE(3)),
    ]
    return L

def shift_imm():
    L = []
    rot = itertools.count()
    def imm_r(s):
        return {'b': (1, 8), 'h': (1, 16), 's': (1, 32), 'd': (1, 64)}[s]
    for op in 'sshr ushr ssra usra srshr urshr srsra ursra sri'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s', '2d'):
            lo, hi = imm_r(a[-1])
            sh = (lo, hi, (lo + hi) // 2 + 1)[next(rot) % 3]
            L.append(line('%s v0.%s, v1.%s, #%d' % (op, a, a, sh)))
        for sh in (1, 64):
            L.append(line('%s d0, d1, #%d' % (op, sh)))
    for op in 'shl sli sqshl uqshl sqshlu'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s', '2d'):
            hi = imm_r(a[-1])[1] - 1
            sh = (0, hi, hi // 2 + 1)[next(rot) % 3]
            L.append(line('%s v0.%s, v1.%s, #%d' % (op, a, a, sh)))
    for op in 'shl sli'.split():
        for sh in (0, 63):
            L.append(line('%s d0, d1, #%d' % (op, sh)))
    for op in 'sqshl uqshl sqshlu'.split():
        for r, hi in (('b', 7), ('h', 15), ('s', 31), ('d', 63)):
            sh = (0, hi, hi // 2 + 1)[next(rot) % 3]
            L.append(line('%s %s0, %s1, #%d' % (op, r, r, sh)))
    narrow = {'8b': '8h', '16b': '8h', '4h': '4s', '8h': '4s', '2s': '2d', '4s': '2d'}
    for op in 'shrn rshrn sqshrn uqshrn sqrshrn uqrshrn sqshrun sqrshrun'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s'):
            o = op + '2' if a in ('16b', '8h', '4s') else op
            hi = imm_r(a[-1])[1]
            sh = (1, hi, hi // 2 + 1)[next(rot) % 3]
            L.append(line('%s v0.%s, v1.%s, #%d' % (o, a, narrow[a], sh)))
    for op in 'sqshrn uqshrn sqrshrn uqrshrn sqshrun sqrshrun'.split():
        for r, w, hi in (('b', 'h', 8), ('h', 's', 16), ('s', 'd', 32)):
            sh = (1, hi, hi // 2 + 1)[next(rot) % 3]
            L.append(line('%s %s0, %s1, #%d' % (op, r, w, sh)))
    for op in 'sshll ushll'.split():
        for a in ('8b', '16b', '4h', '8h', '2s', '4s'):
            o = op + '2' if a in ('16b', '8h', '4s') else op
            hi = imm_r(a[-1])[1] - 1
            sh = (0, hi, 3)[next(rot) % 3]
            L.append(line('%s v0.%s, v1.%s, #%d' % (o, narrow[a], a, sh)))
    L.append(line('sqshl v0.16b, v1.16b, #1', 'v1=0x80c03f407f01ff0081c1bf3e7e02fe00'))
    L.append(line('sqshlu v0.8h, v1.8h, #2', 'v1=0x80003fff200020001fffffff00017fff'))
    L.append(line('uqrshrn v0.8b, v1.8h, #1', 'v1=0xffff01ff01fe01fd0100008000ff0003'))
    L.append(line('srshr d0, d1, #64', 'v1=0x8000000000000000'))
    L.append(line('urshr d0, d1, #64', 'v1=0x8000000000000000'))
    L += [
        undef('sshr v0.2d, v1.2d, #3', 'SSHR .1d', q=Q(0)),
        undef('shl v0.2d, v1.2d, #3', 'SHL .1d', q=Q(0)),
        undef('shrn v0.2s, v1.2d, #3', 'SHRN immh=1xxx', h=(22, 19, 8)),
        undef('sshll v0.2d, v1.2s, #3', 'SSHLL immh=1xxx', h=(22, 19, 9)),
        undef('sshr d0, d1, #3', 'SSHR (scalar) immh=0xxx', h=(22, 19, 4)),
        undef('shl d0, d1, #3', 'SHL (scalar) immh=0001', h=(22, 19, 1)),
        undef('sqshrn s0, d1, #3', 'SQSHRN (scalar) immh=1xxx', h=(22, 19, 8)),
        undef('sqshl d0, d1, #3', 'SQSHL (scalar) immh=0000', h=(22, 19, 0)),
        undef('sshr v0.4s, v1.4s, #3', 'shift by immediate opcode 00001', o=(15, 11, 1)),
    ]
    return L

for name, f in [('three_same', three_same), ('three_different', three_different),
                ('misc', two_reg_misc), ('across', across), ('by_element', by_element),
                ('shift', shift_imm)]:
    with open(name + '.spec', 'w') as fh:
        fh.write('\n'.join(f()) + '\n')
