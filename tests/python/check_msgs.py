#!/usr/bin/env python3
"""Check msgs/<pkg>/<Type>.msg against the rosbags ROS 2 Jazzy typestore.

The .msg files are parsed by the small parser below (not by rosbags), then
compared field by field (names, order, base types, fixed/unbounded/bounded
arrays, string bounds, nested types) and constant by constant with
``get_typestore(Stores.ROS2_JAZZY).fielddefs``. Types of the covered packages
that the typestore has but msgs/ lacks, and vice versa, are reported too.

rosbags records no default values, so defaults are checked for syntax and
type range, and compared with EXPECTED_DEFAULTS (taken from the ROS 2 Jazzy
common_interfaces sources).

Usage: python3 tests/python/check_msgs.py [MSGS_DIR]
Exit status 0 and "N passed, 0 failed" on success.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_typestore

PACKAGES = ('builtin_interfaces', 'std_msgs', 'geometry_msgs', 'sensor_msgs', 'rosgraph_msgs',
            'service_msgs', 'unique_identifier_msgs', 'rcl_interfaces', 'tf2_msgs')

# Every non-zero / non-empty default value expected in the .msg files.
EXPECTED_DEFAULTS = {
    ('geometry_msgs/msg/Quaternion', 'x'): 0,
    ('geometry_msgs/msg/Quaternion', 'y'): 0,
    ('geometry_msgs/msg/Quaternion', 'z'): 0,
    ('geometry_msgs/msg/Quaternion', 'w'): 1,
    ('sensor_msgs/msg/NavSatStatus', 'status'): -2,
    ('rcl_interfaces/msg/ParameterDescriptor', 'read_only'): False,
    ('rcl_interfaces/msg/ParameterDescriptor', 'dynamic_typing'): False,
}

INT_RANGES = {
    'int8': (-(2**7), 2**7 - 1), 'uint8': (0, 2**8 - 1),
    'int16': (-(2**15), 2**15 - 1), 'uint16': (0, 2**16 - 1),
    'int32': (-(2**31), 2**31 - 1), 'uint32': (0, 2**32 - 1),
    'int64': (-(2**63), 2**63 - 1), 'uint64': (0, 2**64 - 1),
    'byte': (0, 255), 'char': (0, 255),
}
FLOATS = {'float32', 'float64'}
PRIMITIVES = set(INT_RANGES) | FLOATS | {'bool', 'string', 'wstring'}

IDENT = r'[A-Za-z][A-Za-z0-9_]*'
TYPE_RE = re.compile(
    rf'^(?P<base>(?:{IDENT}/)?{IDENT})'
    r'(?:<=(?P<strbound>\d+))?'
    r'(?:\[(?P<arr>(?:<=)?\d*)\])?$'
)


class ParseError(Exception):
    pass


def strip_comment(text: str) -> str:
    """Remove a trailing '# ...' comment that is not inside quotes."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == '\\':
                continue
            if ch == quote:
                quote = None
        elif ch in '"\'':
            quote = ch
        elif ch == '#':
            return text[:i]
    return text


def parse_scalar(base: str, raw: str):
    """Parse a constant/default literal of primitive type BASE."""
    raw = raw.strip()
    if base in INT_RANGES:
        try:
            val = int(raw, 0)
        except ValueError as exc:
            raise ParseError(f'bad {base} literal {raw!r}') from exc
        lo, hi = INT_RANGES[base]
        if not lo <= val <= hi:
            raise ParseError(f'{base} literal {raw!r} out of range')
        return val
    if base in FLOATS:
        try:
            return float(raw)
        except ValueError as exc:
            raise ParseError(f'bad {base} literal {raw!r}') from exc
    if base == 'bool':
        low = raw.lower()
        if low in ('true', '1'):
            return True
        if low in ('false', '0'):
            return False
        raise ParseError(f'bad bool literal {raw!r}')
    if base in ('string', 'wstring'):
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in '"\'':
            return raw[1:-1]
        return raw
    raise ParseError(f'literal given for non-primitive type {base}')


def parse_type(tok: str, pkg: str):
    """Return a rosbags-style node for a .msg type token."""
    m = TYPE_RE.match(tok)
    if not m:
        raise ParseError(f'cannot parse type {tok!r}')
    base, strbound, arr = m['base'], m['strbound'], m['arr']
    if base in PRIMITIVES:
        if strbound and base not in ('string', 'wstring'):
            raise ParseError(f'bound on non-string type {tok!r}')
        node = (Nodetype.BASE, (base, int(strbound) if strbound else 0))
    else:
        if strbound:
            raise ParseError(f'bound on message type {tok!r}')
        if '/' in base:
            p, t = base.split('/')
        elif base == 'Header':
            p, t = 'std_msgs', 'Header'
        else:
            p, t = pkg, base
        node = (Nodetype.NAME, f'{p}/msg/{t}')
    if arr is None:
        return node
    if arr == '':
        return (Nodetype.SEQUENCE, (node, 0))
    if arr.startswith('<='):
        return (Nodetype.SEQUENCE, (node, int(arr[2:])))
    return (Nodetype.ARRAY, (node, int(arr)))


def parse_msg(text: str, pkg: str):
    """Return (constants, fields, defaults) of one .msg file."""
    consts, fields, defaults = [], [], {}
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            stripped = line.strip()
            if not stripped or stripped.startswith('#'):
                continue
            m = re.match(rf'^(\S+)\s+({IDENT})\s*=(.*)$', stripped)
            if m:  # constant
                typ, name, rest = m.groups()
                if typ not in PRIMITIVES:
                    raise ParseError(f'constant of non-primitive type {typ!r}')
                # string constants take the rest of the line verbatim
                raw = rest if typ in ('string', 'wstring') else strip_comment(rest)
                consts.append((name, typ, parse_scalar(typ, raw)))
                continue
            body = strip_comment(stripped).strip()
            parts = body.split(None, 2)
            if len(parts) < 2:
                raise ParseError(f'expected "TYPE NAME [DEFAULT]", got {body!r}')
            node = parse_type(parts[0], pkg)
            name = parts[1]
            if not re.fullmatch(r'[a-z][a-z0-9_]*', name):
                raise ParseError(f'bad field name {name!r}')
            if len(parts) == 3:
                if node[0] != Nodetype.BASE:
                    # array defaults: [a, b, c] of primitives
                    inner = node[1][0]
                    if node[0] == Nodetype.NAME or inner[0] != Nodetype.BASE:
                        raise ParseError(f'default on message-typed field {name!r}')
                    lit = parts[2].strip()
                    if not (lit.startswith('[') and lit.endswith(']')):
                        raise ParseError(f'array default must be [..]: {lit!r}')
                    items = [x for x in lit[1:-1].split(',') if x.strip()]
                    defaults[name] = [parse_scalar(inner[1][0], x) for x in items]
                else:
                    defaults[name] = parse_scalar(node[1][0], parts[2])
            fields.append((name, node))
        except ParseError as exc:
            raise ParseError(f'line {lineno}: {exc}') from None
    return consts, fields, defaults


def fmt(node) -> str:
    kind, arg = node
    if kind == Nodetype.BASE:
        return f'{arg[0]}<={arg[1]}' if arg[1] else arg[0]
    if kind == Nodetype.NAME:
        return arg
    inner, n = arg
    if kind == Nodetype.ARRAY:
        return f'{fmt(inner)}[{n}]'
    return f'{fmt(inner)}[<={n}]' if n else f'{fmt(inner)}[]'


def norm(node):
    """Normalize a fielddefs node to plain tuples for comparison."""
    kind, arg = node
    kind = Nodetype(kind)
    if kind == Nodetype.BASE:
        return (kind, (arg[0], int(arg[1])))
    if kind == Nodetype.NAME:
        return (kind, arg)
    return (kind, (norm(arg[0]), int(arg[1])))


def same_value(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def check_type(name, parsed, ref, known_types):
    errs = []
    consts, fields, defaults = parsed
    rconsts, rfields = ref
    # rosbags gives empty messages a placeholder member
    if not fields and [f for f, _ in rfields] == ['structure_needs_at_least_one_member']:
        rfields = []

    names, rnames = [f for f, _ in fields], [f for f, _ in rfields]
    if names != rnames:
        errs.append(f'field names/order differ: msg {names} vs typestore {rnames}')
    for (fname, node), (rname, rnode) in zip(fields, rfields):
        if fname == rname and norm(node) != norm(rnode):
            errs.append(f'field {fname!r}: msg type {fmt(node)} vs typestore {fmt(norm(rnode))}')
    for fname, node in fields:
        inner = node
        while inner[0] in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            inner = inner[1][0]
        if inner[0] == Nodetype.NAME and inner[1] not in known_types:
            errs.append(f'field {fname!r}: unknown nested type {inner[1]}')

    cmap = {c[0]: c for c in consts}
    rmap = {c[0]: c for c in rconsts}
    if len(cmap) != len(consts):
        errs.append('duplicate constant names')
    if [c[0] for c in consts] != [c[0] for c in rconsts]:
        errs.append(f'constant names/order differ: msg {[c[0] for c in consts]} '
                    f'vs typestore {[c[0] for c in rconsts]}')
    for cname in cmap.keys() & rmap.keys():
        _, t, v = cmap[cname]
        _, rt, rv = rmap[cname]
        if t != rt:
            errs.append(f'constant {cname}: msg type {t} vs typestore {rt}')
        if not same_value(v, rv):
            errs.append(f'constant {cname}: msg value {v!r} vs typestore {rv!r}')

    expected = {f: v for (t, f), v in EXPECTED_DEFAULTS.items() if t == name}
    for fname in sorted(defaults.keys() | expected.keys()):
        if fname not in defaults:
            errs.append(f'field {fname!r}: missing default {expected[fname]!r}')
        elif fname not in expected:
            errs.append(f'field {fname!r}: unexpected default {defaults[fname]!r}')
        elif not same_value(defaults[fname], expected[fname]):
            errs.append(f'field {fname!r}: default {defaults[fname]!r}, expected {expected[fname]!r}')
    return errs


def main(argv):
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / 'msgs'
    ts = get_typestore(Stores.ROS2_JAZZY)
    ref_types = {n for n in ts.fielddefs if n.split('/')[0] in PACKAGES}

    files = {}
    failures = []
    for path in sorted(root.glob('*/*.msg')):
        pkg, typ = path.parent.name, path.stem
        files[f'{pkg}/msg/{typ}'] = path
    # .msg files must sit at msgs/<pkg>/<Type>.msg; other folders under msgs/
    # (e.g. code generators) are not ours to judge, but package folders must
    # hold nothing but .msg files (and .srv files, checked by service_hashes.py).
    stray = [p for p in root.rglob('*.msg') if p.parent.parent != root]
    for pkg in PACKAGES:
        if (root / pkg).is_dir():
            stray += [p for p in (root / pkg).iterdir() if p.suffix not in ('.msg', '.srv') or not p.is_file()]
    for p in sorted(stray):
        failures.append((str(p.relative_to(root)), ['unexpected file location']))

    known = ref_types | set(files)
    passed = 0
    for name in sorted(ref_types | set(files)):
        if name not in files:
            failures.append((name, [f'missing: no {root.name}/{name.replace("/msg/", "/")}.msg']))
            continue
        if name not in ref_types:
            failures.append((name, ['not a type of the Jazzy typestore for '
                                    f'{", ".join(PACKAGES)}']))
            continue
        pkg = name.split('/')[0]
        try:
            parsed = parse_msg(files[name].read_text(encoding='utf-8'), pkg)
        except (ParseError, UnicodeDecodeError) as exc:
            failures.append((name, [f'parse error: {exc}']))
            continue
        errs = check_type(name, parsed, ts.fielddefs[name], known)
        if errs:
            failures.append((name, errs))
        else:
            passed += 1

    for name in sorted(t for t, _ in EXPECTED_DEFAULTS if t not in ref_types):
        failures.append((name, ['EXPECTED_DEFAULTS names an unknown type']))

    for name, errs in failures:
        for e in errs:
            print(f'FAIL {name}: {e}')
    print(f'{passed} passed, {len(failures)} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
