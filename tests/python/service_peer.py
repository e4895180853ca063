#!/usr/bin/env python3
"""Independent rmw_zenoh service peer (server and client) for example_interfaces/srv/AddTwoInts.

Built on ``eclipse-zenoh`` alone from rmw_zenoh's (Jazzy) wire description; it shares no
code with rosync:

* service key expression (a queryable declared complete; clients query all complete
  queryables)::

      <domain>/<service without leading '/'>/example_interfaces::srv::dds_::AddTwoInts_/<hash>

* liveliness tokens ``@ros2_lv/<domain>/<zid>/<node id>/<entity id>/SS|SC/%/%/<node>/
  <service, '/' as '%'>/<dds type>/<hash>/<qos>``,
* request and reply payloads: CDR little endian, header 00 01 00 00, then int64 a, int64 b
  (request) or int64 sum (response),
* request attachment (33 bytes): int64 LE sequence number | int64 LE source timestamp |
  0x10 | 16-byte client GID; the reply's attachment carries the request's sequence number and
  client GID with the server's timestamp.

Subcommands (each prints JSON lines)::

    service_peer.py server --connect E | --listen E [--count N] [--timeout S] [--domain D]
    service_peer.py client --connect E | --listen E --a A --b B [--count N] [--timeout S]

The server prints ``{"ready": true}`` once declared, then one line per request; the client
waits for a server's SS token first and prints it, then one line per response.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import struct
import sys
import time

import zenoh

TYPE = 'example_interfaces::srv::dds_::AddTwoInts_'
HASH = 'RIHS01_e118de6bf5eeb66a2491b5bda11202e7b68f198d6f67922cf30364858239c81a'
QOS = '1:2:1,10:,:,:,,'
CDR_HEADER = b'\x00\x01\x00\x00'


def fail(message: str) -> None:
    print(json.dumps({'error': message}), flush=True)
    sys.exit(1)


def attachment(seq: int, stamp: int, gid: bytes) -> bytes:
    return struct.pack('<qq', seq, stamp) + bytes([16]) + gid


def parse_attachment(data: bytes) -> tuple[int, int, bytes]:
    if len(data) != 33 or data[16] != 16:
        fail(f'bad attachment {data.hex()}')
    seq, stamp = struct.unpack_from('<qq', data, 0)
    return seq, stamp, data[17:]


def open_session(args):
    conf = zenoh.Config()
    conf.insert_json5('mode', '"peer"')
    conf.insert_json5('scouting/multicast/enabled', 'false')
    # Only the given endpoints: no default listener on every interface.
    conf.insert_json5('listen/endpoints', json.dumps(args.listen))
    conf.insert_json5('connect/endpoints', json.dumps(args.connect))
    return zenoh.open(conf)


def key_expr(args) -> str:
    return f'{args.domain}/{args.service.strip("/")}/{TYPE}/{HASH}'


def token(args, session, node: str, entity: int, kind: str) -> str:
    mangled = args.service.replace('/', '%')
    return (f'@ros2_lv/{args.domain}/{session.info.zid()}/0/{entity}/{kind}/%/%/{node}/'
            f'{mangled}/{TYPE}/{HASH}/{QOS}')


def node_token(args, session, node: str) -> str:
    return f'@ros2_lv/{args.domain}/{session.info.zid()}/0/0/NN/%/%/{node}'


def cmd_server(args) -> int:
    session = open_session(args)
    requests: queue.Queue = queue.Queue()
    key = key_expr(args)
    queryable = session.declare_queryable(key, requests.put, complete=True)
    tokens = [
        session.liveliness().declare_token(node_token(args, session, 'py_server')),
        session.liveliness().declare_token(token(args, session, 'py_server', 1, 'SS')),
    ]
    print(json.dumps({'ready': True, 'key': key}), flush=True)
    deadline = time.monotonic() + args.timeout
    served = 0
    while served < args.count:
        try:
            query = requests.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            fail(f'timeout: served {served} of {args.count}')
        if query.attachment is None:
            fail('request without attachment')
        seq, stamp, gid = parse_attachment(query.attachment.to_bytes())
        payload = query.payload.to_bytes() if query.payload is not None else b''
        if len(payload) != 20 or payload[:4] != CDR_HEADER:
            fail(f'bad request payload {payload.hex()}')
        a, b = struct.unpack_from('<qq', payload, 4)
        query_key = str(query.key_expr)
        query.reply(key, CDR_HEADER + struct.pack('<q', a + b),
                    attachment=attachment(seq, time.time_ns(), gid))
        query.drop()
        served += 1
        print(json.dumps({'a': a, 'b': b, 'sequence_number': seq, 'gid': gid.hex(),
                          'source_timestamp': stamp, 'query_key': query_key}),
              flush=True)
    time.sleep(0.5)
    for t in tokens:
        t.undeclare()
    queryable.undeclare()
    session.close()
    return 0


def wait_for_server(args, session) -> str:
    deadline = time.monotonic() + args.timeout
    prefix = f'@ros2_lv/{args.domain}/'
    wanted = f'/SS/%/%/'
    suffix = f'/{args.service.replace("/", "%")}/{TYPE}/{HASH}/'
    while time.monotonic() < deadline:
        for reply in session.liveliness().get(f'{prefix}**', timeout=1.0):
            if reply.ok is None:
                continue
            found = str(reply.ok.key_expr)
            if wanted in found and suffix in found:
                return found
        time.sleep(0.1)
    fail('no SS token of the service appeared')
    return ''


def cmd_client(args) -> int:
    session = open_session(args)
    tokens = [
        session.liveliness().declare_token(node_token(args, session, 'py_client')),
        session.liveliness().declare_token(token(args, session, 'py_client', 1, 'SC')),
    ]
    server_token = wait_for_server(args, session)
    print(json.dumps({'server_token': server_token}), flush=True)
    gid = os.urandom(16)
    for seq in range(1, args.count + 1):
        request = CDR_HEADER + struct.pack('<qq', args.a, args.b + seq - 1)
        replies = session.get(key_expr(args), payload=request,
                              attachment=attachment(seq, time.time_ns(), gid),
                              target=zenoh.QueryTarget.ALL_COMPLETE, timeout=args.timeout)
        answers = []
        for reply in replies:
            if reply.ok is None:
                fail(f'error reply: {reply.err.payload.to_bytes()!r}')
            sample = reply.ok
            if sample.attachment is None:
                fail('reply without attachment')
            rseq, _, rgid = parse_attachment(sample.attachment.to_bytes())
            body = sample.payload.to_bytes()
            if len(body) != 12 or body[:4] != CDR_HEADER:
                fail(f'bad response payload {body.hex()}')
            (total,) = struct.unpack_from('<q', body, 4)
            answers.append({'sum': total, 'sequence_number': rseq, 'gid_matches': rgid == gid,
                            'key': str(sample.key_expr)})
        if len(answers) != 1:
            fail(f'request {seq}: {len(answers)} replies')
        print(json.dumps(answers[0]), flush=True)
    for t in tokens:
        t.undeclare()
    session.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('command', choices=['server', 'client'])
    parser.add_argument('--listen', action='append', default=[])
    parser.add_argument('--connect', action='append', default=[])
    parser.add_argument('--domain', type=int, default=0)
    parser.add_argument('--service', default='/add_two_ints')
    parser.add_argument('--count', type=int, default=1)
    parser.add_argument('--timeout', type=float, default=20.0)
    parser.add_argument('--a', type=int, default=2)
    parser.add_argument('--b', type=int, default=3)
    args = parser.parse_args()
    return cmd_server(args) if args.command == 'server' else cmd_client(args)


if __name__ == '__main__':
    sys.exit(main())
