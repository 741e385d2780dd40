#!/usr/bin/env python3
"""Writes cpu/src/exec/simd/<module>/tests.rs from the generated rows."""
import sys, os
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'specs')
# generated rows (*.rs.txt) go to the system temporary directory
OUT = os.path.join(__import__('tempfile').gettempdir(), 'armvm-simd-rows')

HEADER = '''//! Reference cases for {what}.
//!
//! Expected values come from qemu-aarch64 (QEMU 7.2, user mode): each instruction
//! was run from the state [`Machine::new`] builds from the row's seed and the
//! reference's registers, FPSR.QC and buffer were recorded (see `testutil`). The
//! UNDEFINED rows are words the reference rejects with SIGILL.

use super::super::testutil::*;
'''

def rows(name):
    cases, undefs = [], []
    for l in open(os.path.join(OUT, name + '.rs.txt')):
        l = l.rstrip('\n')
        if l.strip().startswith('undef('):
            undefs.append(l.split(' // ')[0])
        elif l.strip():
            cases.append(l)
    return cases, undefs

def emit(module, what, groups, extra=''):
    out = [HEADER.format(what=what)]
    all_undef = []
    for const, name, test in groups:
        cases, undefs = rows(name)
        all_undef += undefs
        out.append('#[rustfmt::skip]\nconst %s: &[Case] = &[\n%s\n];\n' % (const, '\n'.join(cases)))
        out.append('#[test]\nfn %s() {\n    run_cases(%s);\n}\n' % (test, const))
    if all_undef:
        out.append('#[rustfmt::skip]\nconst RESERVED: &[(&str, u32)] = &[\n%s\n];\n' % '\n'.join(all_undef))
        out.append('#[test]\nfn reserved_encodings_are_undefined() {\n    check_undef(RESERVED);\n}\n')
    if extra:
        out.append(extra)
    os.makedirs(os.path.join(ROOT, module), exist_ok=True)
    path = os.path.join(ROOT, module, 'tests.rs')
    # keep a hand-written tail after the marker, if any
    tail = ''
    if os.path.exists(path):
        old = open(path).read()
        marker = '// ---- Hand-written tests'
        if marker in old:
            tail = old[old.index(marker):]
    open(path, 'w').write('\n'.join(out) + ('\n' + tail if tail else ''))

emit('copy', 'DUP, INS, UMOV, SMOV, ZIP/UZP/TRN, EXT, TBL/TBX and the modified-immediate moves',
     [('COPY', 'copy', 'copy_permute_extract_table_immediate')])
emit('ldst', 'the structure loads and stores',
     [('LDST', 'ldst', 'structure_loads_and_stores')])
emit('arith', 'the integer arithmetic groups',
     [('THREE_SAME', 'three_same', 'three_same'),
      ('THREE_DIFFERENT', 'three_different', 'three_different'),
      ('TWO_REG_MISC', 'misc', 'two_register_miscellaneous'),
      ('ACROSS_LANES', 'across', 'across_lanes'),
      ('BY_ELEMENT', 'by_element', 'by_element')])
emit('shift', 'the shifts by immediate',
     [('SHIFT', 'shift', 'shift_by_immediate')])
