#!/usr/bin/env python3
"""Runs a case list from the Rust `simd_gen` test under qemu and writes results
for `simd_ref`: `word seed sig qc ; sets ; outs ; mem` per line."""
import sys, struct
import ref

def main():
    cases = ref.parse_spec(sys.argv[1])
    out = open(sys.argv[2], 'w')
    words = [int(a.split()[1], 16) for a, _, _ in cases]
    recs, states = [], []
    for (asm, seed, sets), w in zip(cases, words):
        st = ref.apply_set(ref.state(seed), sets)
        states.append(st)
        recs.append(ref.pack(w, st))
    results = []
    CH = 20000
    for i in range(0, len(recs), CH):
        results += ref.run(recs[i:i + CH])
    for (asm, seed, sets), w, st, res in zip(cases, words, states, results):
        v0, x0, sp0, buf0 = st
        v, x, sp, fpsr, sig, buf = res
        outs = []
        for i in range(32):
            if v[i] != v0[i]: outs.append('v%d=%x' % (i, v[i]))
        for i in range(31):
            if x[i] != x0[i]: outs.append('x%d=%x' % (i, x[i]))
        if sp != sp0: outs.append('sp=%x' % sp)
        mem = []
        for off in range(0, 256, 8):
            if buf[off:off+8] != buf0[off:off+8]:
                mem.append('%d=%x' % (off, struct.unpack_from('<Q', buf, off)[0]))
        setl = ' '.join('%s=%x' % (k, val) for k, val in sets)
        out.write('%08x %d %d %d ; %s ; %s ; %s\n' % (w, seed, sig, 1 if fpsr & (1 << 27) else 0, setl, ' '.join(outs), ' '.join(mem)))

main()
