#!/usr/bin/env python3
"""Independent zenoh peer for rosync's shared-memory tests (PyPI ``eclipse-zenoh`` only).

    shm_peer.py sub KEY --connect EP --shm on|off [--count N] [--timeout S]
        prints one JSON line per sample: {"len": .., "shm": true|false, "sha256": ".."}
    shm_peer.py pub KEY --connect EP --file PATH [--count N] [--period S]
        publishes the file's bytes N times, each from a buffer of its own shared-memory pool

Peer mode, multicast scouting off, only the given endpoint; ``--shm off`` sets
``transport/shared_memory/enabled`` to false, so samples from a shared-memory publisher
must reach it over the network.
"""
import argparse
import hashlib
import json
import sys
import threading
import time

import zenoh


def open_session(connect: str, shm: bool):
    conf = zenoh.Config()
    conf.insert_json5('mode', json.dumps('peer'))
    conf.insert_json5('scouting/multicast/enabled', 'false')
    conf.insert_json5('scouting/gossip/enabled', 'false')
    conf.insert_json5('listen/endpoints', '[]')
    conf.insert_json5('connect/endpoints', json.dumps([connect]))
    conf.insert_json5('transport/shared_memory/enabled', 'true' if shm else 'false')
    return zenoh.open(conf)


def cmd_sub(args) -> int:
    session = open_session(args.connect, args.shm == 'on')
    done = threading.Event()
    seen = []

    def on_sample(sample):
        payload = sample.payload
        data = payload.to_bytes()
        line = {'len': len(data), 'shm': payload.as_shm() is not None,
                'sha256': hashlib.sha256(data).hexdigest()}
        print(json.dumps(line), flush=True)
        seen.append(line)
        if len(seen) >= args.count:
            done.set()

    sub = session.declare_subscriber(args.key, on_sample)
    print(json.dumps({'ready': True}), flush=True)
    ok = done.wait(args.timeout)
    sub.undeclare()
    session.close()
    return 0 if ok else 1


def cmd_pub(args) -> int:
    import zenoh.shm as shm
    data = open(args.file, 'rb').read()
    session = open_session(args.connect, True)
    provider = shm.ShmProvider.default_backend(max(4 * len(data), 1 << 20))
    publisher = session.declare_publisher(args.key)
    time.sleep(args.wait)
    for _ in range(args.count):
        buf = provider.alloc(len(data), policy=shm.BlockOn(shm.GarbageCollect()))
        buf[0:len(data)] = data
        publisher.put(buf)
        time.sleep(args.period)
    time.sleep(0.5)
    session.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    s = sub.add_parser('sub')
    s.add_argument('key')
    s.add_argument('--connect', required=True)
    s.add_argument('--shm', choices=['on', 'off'], required=True)
    s.add_argument('--count', type=int, default=1)
    s.add_argument('--timeout', type=float, default=20.0)
    p = sub.add_parser('pub')
    p.add_argument('key')
    p.add_argument('--connect', required=True)
    p.add_argument('--file', required=True)
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--period', type=float, default=0.1)
    p.add_argument('--wait', type=float, default=1.0)
    args = parser.parse_args()
    return cmd_sub(args) if args.command == 'sub' else cmd_pub(args)


if __name__ == '__main__':
    sys.exit(main())
