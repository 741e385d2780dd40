#!/usr/bin/env python3
"""Reference values for armvm's Advanced SIMD tests, from qemu-aarch64 user mode.

Each case is an instruction (assembly text or `.inst 0x...`), a seed for the
initial state (same generator as cpu/src/exec/simd/testutil.rs) and optional
register overrides. The harness runs the instruction under qemu-aarch64 and we
print a Rust `Case` row listing the registers that changed, FPSR.QC, memory
words that changed, or UNDEF.
"""
import struct, subprocess, sys, os, re, tempfile

M64 = (1 << 64) - 1
BUF = 0x30008000
REC = 1040
HERE = os.path.dirname(os.path.abspath(__file__))

class Rng:
    def __init__(self, seed):
        self.s = seed & M64
    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

def ones(n):
    return (1 << n) - 1

def value64(rng):
    r = rng.next()
    if r & 7 < 4:
        return rng.next()
    lane = 8 << ((r >> 3) & 3)
    v = 0
    for k in range(64 // lane):
        c = rng.next()
        sel = c % 8
        if sel == 0: x = 0
        elif sel == 1: x = 1
        elif sel == 2: x = ones(lane) >> 1
        elif sel == 3: x = 1 << (lane - 1)
        elif sel == 4: x = ones(lane)
        elif sel == 5: x = (c >> 8) % 70
        elif sel == 6: x = (-((c >> 8) % 70)) & M64
        else: x = rng.next()
        v |= (x & ones(lane)) << (k * lane)
    return v

def state(seed):
    rng = Rng(seed)
    v = [value64(rng) | (value64(rng) << 64) for _ in range(32)]
    x = [value64(rng) for _ in range(31)]
    sp = BUF + 0x80
    buf = bytes((rng.next() & 0xff) for _ in range(256))
    return v, x, sp, buf

def parse_reg(name):
    name = name.strip().lower()
    if name == 'sp': return ('sp', 0)
    return (name[0], int(name[1:]))

def apply_set(st, sets):
    v, x, sp, buf = st
    v = list(v); x = list(x)
    for (r, val) in sets:
        kind, n = parse_reg(r)
        if kind == 'v': v[n] = val
        elif kind == 'x': x[n] = val & M64
        else: sp = val & M64
    return v, x, sp, buf

def assemble(lines):
    """Words for each line (assembly text or .inst)."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'a.s'); obj = os.path.join(d, 'a.o'); bin_ = os.path.join(d, 'a.bin')
        with open(src, 'w') as f:
            f.write('.text\n')
            for l in lines:
                f.write(l + '\n')
        r = subprocess.run(['aarch64-linux-gnu-as', '-o', obj, src], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit('assembler: ' + r.stderr)
        subprocess.run(['aarch64-linux-gnu-objcopy', '-O', 'binary', '-j', '.text', obj, bin_], check=True)
        data = open(bin_, 'rb').read()
    assert len(data) == 4 * len(lines), (len(data), len(lines))
    return list(struct.unpack('<%dI' % len(lines), data))

def pack(word, st):
    v, x, sp, buf = st
    b = b''.join(struct.pack('<QQ', q & M64, q >> 64) for q in v)
    b += b''.join(struct.pack('<Q', q) for q in x)
    b += struct.pack('<QIIQ', sp, word, 0, 0)
    b += buf
    assert len(b) == REC
    return b

def unpack(b):
    v = []
    for i in range(32):
        lo, hi = struct.unpack_from('<QQ', b, 16 * i)
        v.append(lo | (hi << 64))
    x = list(struct.unpack_from('<31Q', b, 512))
    sp, fpsr, sig = struct.unpack_from('<QQQ', b, 760)
    buf = b[784:1040]
    return v, x, sp, fpsr, sig, buf

def harness():
    """Builds the harness program (once) into the temporary directory."""
    src = os.path.join(HERE, 'harness.S')
    exe = os.path.join(tempfile.gettempdir(), 'armvm-simd-harness')
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(['aarch64-linux-gnu-gcc', '-static', '-nostdlib', '-o', exe, src], check=True)
    return exe

def run(records):
    data = b''.join(records)
    r = subprocess.run(['qemu-aarch64', harness()], input=data, capture_output=True)
    if r.returncode != 0 or len(r.stdout) != len(data):
        sys.exit('harness failed: rc=%d out=%d in=%d %s' % (r.returncode, len(r.stdout), len(data), r.stderr[:500]))
    return [unpack(r.stdout[i:i + REC]) for i in range(0, len(data), REC)]

def parse_val(s):
    s = s.strip()
    m = re.fullmatch(r'BUF\s*([+-])\s*(\w+)', s)
    if m:
        off = int(m.group(2), 0)
        return BUF + off if m.group(1) == '+' else BUF - off
    if s == 'BUF': return BUF
    return int(s, 0)

def parse_spec(path):
    cases = []
    for line in open(path):
        line = line.split('//', 1)[0].strip()
        if not line: continue
        parts = [p.strip() for p in line.split('|')]
        asm = parts[0]
        seed = int(parts[1], 0) if len(parts) > 1 and parts[1] else 1
        sets = []
        if len(parts) > 2 and parts[2]:
            for kv in parts[2].split(','):
                k, val = kv.split('=')
                sets.append((k.strip(), parse_val(val)))
        if len(parts) > 3 and parts[3]:
            asm = asm + ' (' + parts[3] + ')'
        cases.append((asm, seed, sets))
    return cases

def rust_reg(kind, n):
    return {'v': 'V(%d)' % n, 'x': 'X(%d)' % n, 'sp': 'Sp'}[kind]

def fmt_val(kind, val):
    if kind == 'v':
        return '0x%032x' % val
    return '0x%016x' % val

def rust_setval(kind, val):
    val &= (1 << 128) - 1 if kind == 'v' else M64
    if kind != 'v' and BUF <= val < BUF + 0x1000:
        return 'buf(0x%x)' % (val - BUF)
    return fmt_val(kind, val)

def main():
    spec = sys.argv[1]
    cases = parse_spec(spec)
    words = assemble([c[0].split(' (')[0] if c[0].startswith('.inst') else c[0] for c in cases])
    recs = []
    states = []
    for (asm, seed, sets), w in zip(cases, words):
        st = apply_set(state(seed), sets)
        states.append(st)
        recs.append(pack(w, st))
    outs = run(recs)
    for (asm, seed, sets), w, st, out in zip(cases, words, states, outs):
        v0, x0, sp0, buf0 = st
        v, x, sp, fpsr, sig, buf = out
        if sig:
            print('    undef(%s, 0x%08x), // SIG%d' % (rust_str(asm), w, sig))
            continue
        changes = []
        for i in range(32):
            if v[i] != v0[i]: changes.append(('v', i, v[i]))
        for i in range(31):
            if x[i] != x0[i]: changes.append(('x', i, x[i]))
        if sp != sp0: changes.append(('sp', 0, sp))
        mem = []
        for off in range(0, 256, 8):
            if buf[off:off+8] != buf0[off:off+8]:
                mem.append((off, struct.unpack_from('<Q', buf, off)[0]))
        qc = bool(fpsr & (1 << 27))
        if fpsr & ~(1 << 27):
            print('// warning: fpsr %#x' % fpsr, file=sys.stderr)
        setstr = ', '.join('(%s, %s)' % (rust_reg(*parse_reg(k)), rust_setval(parse_reg(k)[0], val)) for k, val in sets)
        outstr = ', '.join('(%s, %s)' % (rust_reg(k, n), fmt_val(k, val)) for k, n, val in changes)
        memstr = ', '.join('(0x%x, 0x%016x)' % m for m in mem)
        print('    Case { asm: %s, word: 0x%08x, seed: %d, set: &[%s], out: &[%s], qc: %s, mem: &[%s] },'
              % (rust_str(asm), w, seed, setstr, outstr, 'true' if qc else 'false', memstr))

def rust_str(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'

if __name__ == '__main__':
    main()
