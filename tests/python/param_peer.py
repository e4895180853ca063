#!/usr/bin/env python3
"""Independent rmw_zenoh parameter client for a node's rcl_interfaces parameter services.

Built on ``eclipse-zenoh`` alone from rmw_zenoh's (Jazzy) wire description and the
``rcl_interfaces`` message definitions; it shares no code with rosync. It finds the node's
``list_parameters`` server token (``SS``), then calls ``list_parameters``, ``get_parameters``,
``get_parameter_types``, ``describe_parameters`` and ``set_parameters`` as queries on
``<domain>/<node>/<service>/rcl_interfaces::srv::dds_::<Type>_/<hash>`` (the hash read from the
server's token), each request encoded here as CDR (little endian, header 00 01 00 00) with the
33-byte attachment, while subscribed to ``<domain>/parameter_events/**``.

Usage::

    param_peer.py --connect E --node /talker --set NAME=TYPE:VALUE [--set ...]

``TYPE`` is ``bool``, ``integer``, ``double`` or ``string``. Prints one JSON line per answer
(``list``, ``get``, ``types``, ``describe``, one ``set`` per --set) and finally ``events``: the
decoded ``/parameter_events`` messages of that node.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time

import zenoh

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_peer import CDR_HEADER, attachment, fail, open_session, parse_attachment  # noqa: E402

TYPES = {'bool': 1, 'integer': 2, 'double': 3, 'string': 4}


class Writer:
    """CDR little-endian writer; alignment counts from after the 4-byte header."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def align(self, n: int) -> None:
        self.buf += b'\x00' * ((-len(self.buf)) % n)

    def put(self, fmt: str, value) -> None:
        size = struct.calcsize('<' + fmt)
        self.align(size)
        self.buf += struct.pack('<' + fmt, value)

    def string(self, s: str) -> None:
        data = s.encode() + b'\x00'
        self.put('I', len(data))
        self.buf += data

    def seq(self, items, write) -> None:
        self.put('I', len(items))
        for item in items:
            write(item)

    def bytes(self) -> bytes:
        return CDR_HEADER + bytes(self.buf)


class Reader:
    """CDR little-endian reader matching :class:`Writer`."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != CDR_HEADER:
            fail(f'bad CDR header {data[:4].hex()}')
        self.data = data[4:]
        self.pos = 0

    def get(self, fmt: str):
        size = struct.calcsize('<' + fmt)
        self.pos += (-self.pos) % size
        (value,) = struct.unpack_from('<' + fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.get('I')
        s = self.data[self.pos:self.pos + n - 1].decode()
        self.pos += n
        return s

    def seq(self, read) -> list:
        return [read() for _ in range(self.get('I'))]


def write_value(w: Writer, kind: int, value) -> None:
    """rcl_interfaces/msg/ParameterValue with one scalar set."""
    w.put('B', kind)
    w.put('?', value if kind == 1 else False)
    w.put('q', value if kind == 2 else 0)
    w.put('d', value if kind == 3 else 0.0)
    w.string(value if kind == 4 else '')
    for fmt in ('B', '?', 'q', 'd'):  # byte, bool, integer and double arrays, all empty
        w.seq([], lambda x, f=fmt: w.put(f, x))
    w.seq([], w.string)


def read_value(r: Reader) -> dict:
    kind = r.get('B')
    out = {'type': kind, 'bool': r.get('?'), 'integer': r.get('q'), 'double': r.get('d'),
           'string': r.string()}
    out['byte_array'] = r.seq(lambda: r.get('B'))
    out['bool_array'] = r.seq(lambda: r.get('?'))
    out['integer_array'] = r.seq(lambda: r.get('q'))
    out['double_array'] = r.seq(lambda: r.get('d'))
    out['string_array'] = r.seq(r.string)
    return out


def read_parameter(r: Reader) -> dict:
    return {'name': r.string(), 'value': read_value(r)}


class Node:
    """The parameter services of one remote node."""

    def __init__(self, args, session) -> None:
        self.args, self.session = args, session
        self.gid = os.urandom(16)
        self.seq = 0
        self.keys = {}

    def wait(self) -> None:
        deadline = time.monotonic() + self.args.timeout
        mangled = self.args.node.replace('/', '%')
        while time.monotonic() < deadline and len(self.keys) < 5:
            for reply in self.session.liveliness().get(f'@ros2_lv/{self.args.domain}/**', timeout=1.0):
                if reply.ok is None:
                    continue
                parts = str(reply.ok.key_expr).split('/')
                # .../SS/<enclave>/<ns>/<node>/<service>/<type>/<hash>/<qos>
                if len(parts) > 12 and parts[5] == 'SS' and parts[9].startswith(mangled + '%'):
                    service = parts[9][len(mangled) + 1:]
                    self.keys[service] = (parts[10], parts[11])
            time.sleep(0.1)
        if len(self.keys) < 5:
            fail(f'parameter services not found, saw {sorted(self.keys)}')

    def call(self, service: str, request: bytes) -> Reader:
        dds_type, hash_ = self.keys[service]
        expected = f'rcl_interfaces::srv::dds_::{"".join(p.title() for p in service.split("_"))}_'
        if dds_type != expected:
            fail(f'{service} announced type {dds_type}, expected {expected}')
        key = f'{self.args.domain}/{self.args.node.strip("/")}/{service}/{dds_type}/{hash_}'
        self.seq += 1
        replies = list(self.session.get(key, payload=request,
                                        attachment=attachment(self.seq, time.time_ns(), self.gid),
                                        target=zenoh.QueryTarget.ALL_COMPLETE,
                                        timeout=self.args.timeout))
        if len(replies) != 1 or replies[0].ok is None:
            fail(f'{service}: {len(replies)} replies')
        sample = replies[0].ok
        rseq, _, rgid = parse_attachment(sample.attachment.to_bytes())
        if rseq != self.seq or rgid != self.gid:
            fail(f'{service}: reply attachment does not match the request')
        return Reader(sample.payload.to_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--listen', action='append', default=[])
    parser.add_argument('--connect', action='append', default=[])
    parser.add_argument('--domain', type=int, default=0)
    parser.add_argument('--node', required=True)
    parser.add_argument('--set', action='append', default=[])
    parser.add_argument('--timeout', type=float, default=20.0)
    args = parser.parse_args()
    session = open_session(args)
    events = []

    def on_event(sample) -> None:
        r = Reader(sample.payload.to_bytes())
        stamp = (r.get('i'), r.get('I'))
        event = {'stamp': stamp, 'node': r.string(), 'key': str(sample.key_expr),
                 'new': r.seq(lambda: read_parameter(r)),
                 'changed': r.seq(lambda: read_parameter(r)),
                 'deleted': r.seq(lambda: read_parameter(r))}
        if event['node'] == args.node:
            events.append(event)

    subscriber = session.declare_subscriber(f'{args.domain}/parameter_events/**', on_event)
    node = Node(args, session)
    node.wait()

    w = Writer()
    w.seq([], w.string)
    w.put('Q', 0)
    r = node.call('list_parameters', w.bytes())
    names = r.seq(r.string)
    prefixes = r.seq(r.string)
    print(json.dumps({'list': names, 'prefixes': prefixes}), flush=True)

    w = Writer()
    w.seq(names, w.string)
    r = node.call('get_parameters', w.bytes())
    values = r.seq(lambda: read_value(r))
    print(json.dumps({'get': dict(zip(names, values))}), flush=True)

    r = node.call('get_parameter_types', w.bytes())
    print(json.dumps({'types': dict(zip(names, r.seq(lambda: r.get('B'))))}), flush=True)

    r = node.call('describe_parameters', w.bytes())

    def read_descriptor() -> dict:
        d = {'name': r.string(), 'type': r.get('B'), 'description': r.string(),
             'additional_constraints': r.string(), 'read_only': r.get('?'),
             'dynamic_typing': r.get('?')}
        d['floating_point_range'] = r.seq(lambda: [r.get('d'), r.get('d'), r.get('d')])
        d['integer_range'] = r.seq(lambda: [r.get('q'), r.get('q'), r.get('Q')])
        return d

    print(json.dumps({'describe': r.seq(read_descriptor)}), flush=True)

    for item in args.set:
        name, typed = item.split('=', 1)
        kind, text = typed.split(':', 1)
        value = {'bool': lambda t: t == 'true', 'integer': int, 'double': float,
                 'string': str}[kind](text)
        w = Writer()

        def write_parameter(_p, w=w, name=name, kind=kind, value=value) -> None:
            w.string(name)
            write_value(w, TYPES[kind], value)

        w.seq([None], write_parameter)
        r = node.call('set_parameters', w.bytes())
        results = r.seq(lambda: {'successful': r.get('?'), 'reason': r.string()})
        print(json.dumps({'set': name, 'results': results}), flush=True)

    time.sleep(1.0)
    print(json.dumps({'events': events}), flush=True)
    subscriber.undeclare()
    session.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
