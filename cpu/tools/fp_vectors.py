#!/usr/bin/env python3
"""Random cases for every row of the FP decode table, run on qemu-aarch64, written as
a vector file for the `qemu_vector_file` test (cpu/src/exec/fp/tests.rs):

    python3 cpu/tools/fp_vectors.py SEED COUNT OUT [row-title-regex]
    ARMVM_FP_VECTORS=OUT cargo test -p armvm-cpu qemu_vector_file -- --ignored

FOCUS=1 draws the lanes of a case around one shared exponent (cancellation, ties,
underflow) instead of from the general mix of special and random values.
Needs qemu-aarch64 and the aarch64-linux-gnu toolchain."""
import re, random, subprocess, struct, sys, os
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '../src/decode/a64_fp.rs')).read()
rows = []
for m in re.finditer(r'fp!\((.*?),\s*"([^"]*)",\s*"([^"]*)"(?:,\s*(\w+))?\)', src):
    op, title, pat, guard = m.groups()
    bits = [ch for ch in pat if ch not in ' _']
    mask = val = 0
    fields = {}
    for i, ch in enumerate(bits):
        mask <<= 1; val <<= 1
        if ch in '01':
            mask |= 1; val |= int(ch)
        else:
            fields.setdefault(ch, []).append(31 - i)
    rows.append(dict(op=op, title=title, mask=mask, val=val, guard=guard, fields=fields))
def bit(w,n): return (w>>n)&1
guards = {
 'sz_q': lambda w: not bit(w,22) or bit(w,30),
 'elem_vec': lambda w: not bit(w,22) or (not bit(w,21) and bit(w,30)),
 'elem_scalar': lambda w: not bit(w,22) or not bit(w,21),
 None: lambda w: True,
}
R = random.Random(int(sys.argv[1]))
count = int(sys.argv[2]); out = sys.argv[3]
sel = re.compile(sys.argv[4]) if len(sys.argv) > 4 else None
rows_sel = [r for r in rows if not sel or sel.search(r['title'])]

def fp_val(E, F):
    N = 1 + E + F
    bias = (1 << (E-1)) - 1
    k = R.random()
    s = R.getrandbits(1) << (N-1)
    emax = (1 << E) - 1
    if k < 0.06: return s                                   # zero
    if k < 0.10: return s | (emax << F)                      # inf
    if k < 0.16: return s | (emax << F) | R.choice([1 << (F-1), 0]) | R.getrandbits(F-2) | R.choice([0,1])  # NaN
    if k < 0.22: return s | R.choice([1, R.getrandbits(F), (1<<F)-1])   # denormal
    if k < 0.30: return s | (R.choice([1, 2, emax-1, emax-2]) << F) | R.getrandbits(F)  # extreme exps
    if k < 0.45: return s | ((bias + R.randint(-3, 3)) << F) | R.choice([0, R.getrandbits(F), R.getrandbits(3) << (F-3), (1<<F)-1])  # near 1
    if k < 0.55: return s | ((bias + R.randint(0, 66)) << F) | R.getrandbits(F) & ~((1 << R.randint(0, F)) - 1)  # integers-ish / big
    if k < 0.65: return s | (R.randint(1, 40) << F) | R.getrandbits(F)   # small normals
    return R.getrandbits(N)

def lanes(esize, E, F):
    v = 0
    for i in range(128 // esize):
        v |= (fp_val(E, F) & ((1 << esize) - 1)) << (i * esize)
    return v

FOCUS = os.environ.get('FOCUS')
def focused(esize, E, F, base):
    v = 0
    for i in range(128 // esize):
        bias = (1 << (E-1)) - 1
        e = base + R.choice([0, 0, 1, -1, R.randint(-F-3, F+3)])
        e = max(0, min((1 << E) - 1, e))
        m = R.getrandbits(F) & ~((1 << R.randint(0, F)) - 1)
        if R.random() < 0.2: m = R.getrandbits(F)
        if R.random() < 0.05: m = ((1 << F) - 1) ^ R.getrandbits(2)
        x = (R.getrandbits(1) << (esize-1)) | (e << F) | m
        if R.random() < 0.05: x = fp_val(E, F) & ((1 << esize) - 1)
        v |= x << (i * esize)
    return v
def vreg():
    if FOCUS:
        k = R.random()
        if k < 0.45: return focused(32, 8, 23, BASE32)
        if k < 0.9: return focused(64, 11, 52, BASE64)
        return focused(16, 5, 10, BASE16)
    k = R.random()
    if k < 0.4: return lanes(32, 8, 23)
    if k < 0.8: return lanes(64, 11, 52)
    if k < 0.9: return lanes(16, 5, 10)
    return R.getrandbits(128)

def xreg():
    k = R.random()
    if k < 0.3: return R.getrandbits(64)
    if k < 0.5: return R.getrandbits(32)
    if k < 0.7:
        b = 1 << R.randint(0, 63)
        return (b + R.randint(-3, 3)) % (1 << 64)
    if k < 0.85: return (-R.getrandbits(R.randint(1, 64))) % (1 << 64)
    return R.getrandbits(R.randint(1, 60))

cases = []
while len(cases) < count:
    r = R.choice(rows_sel)
    w = (R.getrandbits(32) & ~r['mask']) | r['val']
    # registers in 0..7
    for f in 'dnmat':
        if f in r['fields']:
            pos = r['fields'][f]
            lo = min(pos)
            if len(pos) == 5:
                w = (w & ~(31 << lo)) | (R.randint(0, 7) << lo)
    if 'M' in r['fields']: w &= ~(1 << 20)
    if not (w & r['mask'] == r['val'] and guards[r['guard']](w)): continue
    fpcr = (R.getrandbits(2) << 22)
    if R.random() < 0.25: fpcr |= 1 << 24
    if R.random() < 0.25: fpcr |= 1 << 25
    if R.random() < 0.25: fpcr |= 1 << 26
    nzcv = R.getrandbits(4) << 28
    def pick_base(E, F):
        bias = (1 << (E-1)) - 1
        return R.choice([bias + R.randint(-4, 4), R.randint(1, 2*F), (1<<E) - R.randint(2, 6), R.randint(1, (1<<E)-2), bias // 2 + R.randint(-2,2), bias + bias//2 + R.randint(-2,2)])
    global BASE32, BASE64, BASE16
    BASE32, BASE64, BASE16 = pick_base(8, 23), pick_base(11, 52), pick_base(5, 10)
    vs = [vreg() for _ in range(8)]
    xs = [xreg() for _ in range(8)]
    cases.append((w, fpcr, nzcv, vs, xs))

import tempfile
TMP = tempfile.mkdtemp()
# Assemble: stubs (.inst w; ret), case data, a driver loop.
asm = ['.text', '.global _start', '_start:',
 'adr x19, cases', 'adr x20, stubs', 'ldr x21, =%d' % len(cases), 'ldr x22, =outbuf', 'mov x23, x22',
 'loop:',
 'ldp q0, q1, [x19], #32', 'ldp q2, q3, [x19], #32', 'ldp q4, q5, [x19], #32', 'ldp q6, q7, [x19], #32',
 'ldp x0, x1, [x19], #16', 'ldp x2, x3, [x19], #16', 'ldp x4, x5, [x19], #16', 'ldp x6, x7, [x19], #16',
 'ldr x9, [x19], #8', 'msr nzcv, x9', 'ldr x9, [x19], #8', 'msr fpcr, x9', 'msr fpsr, xzr',
 'blr x20', 'add x20, x20, #8',
 'stp q0, q1, [x22], #32', 'stp q2, q3, [x22], #32', 'stp q4, q5, [x22], #32', 'stp q6, q7, [x22], #32',
 'stp x0, x1, [x22], #16', 'stp x2, x3, [x22], #16', 'stp x4, x5, [x22], #16', 'stp x6, x7, [x22], #16',
 'mrs x9, nzcv', 'str x9, [x22], #8', 'mrs x9, fpsr', 'str x9, [x22], #8',
 'subs x21, x21, #1', 'b.ne loop',
 'mov x0, #1', 'mov x1, x23', 'sub x2, x22, x23', 'mov x8, #64', 'svc #0',
 'mov x0, #0', 'mov x8, #93', 'svc #0',
 '.ltorg', '.balign 8', 'stubs:']
for c in cases:
    asm += ['.inst 0x%08x' % c[0], 'ret']
asm += ['.data', '.balign 16', 'cases:']
for (w, fpcr, nzcv, vs, xs) in cases:
    for v in vs: asm.append('.quad 0x%x, 0x%x' % (v & (2**64-1), v >> 64))
    asm.append('.quad ' + ', '.join('0x%x' % x for x in xs))
    asm.append('.quad 0x%x, 0x%x' % (nzcv, fpcr))
asm += ['.bss', '.balign 16', 'outbuf:', '.skip %d' % (208 * len(cases))]
open(TMP + '/g.s', 'w').write('\n'.join(asm) + '\n')
subprocess.run(['aarch64-linux-gnu-gcc', '-static', '-nostdlib', '-o', TMP + '/g', TMP + '/g.s'], check=True)
res = subprocess.run(['qemu-aarch64', TMP + '/g'], capture_output=True, check=True).stdout
assert len(res) == 208 * len(cases), len(res)
with open(out, 'w') as fo:
    for k, (w, fpcr, nzcv, vs, xs) in enumerate(cases):
        o = res[208*k:208*(k+1)]
        ov = [int.from_bytes(o[16*j:16*j+16], 'little') for j in range(8)]
        ox = [int.from_bytes(o[128+8*j:136+8*j], 'little') for j in range(8)]
        onz = int.from_bytes(o[192:200], 'little'); ofs = int.from_bytes(o[200:208], 'little')
        fo.write('%08x %08x %08x %s %s | %s %s %08x %08x\n' % (w, fpcr, nzcv,
            ' '.join('%032x' % v for v in vs), ' '.join('%016x' % x for x in xs),
            ' '.join('%032x' % v for v in ov), ' '.join('%016x' % x for x in ox), onz, ofs))
print('wrote', len(cases), 'cases to', out)
