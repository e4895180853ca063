#!/usr/bin/env python3
"""Independent rmw_zenoh-style peer used to test rosync interoperability.

This tool speaks the ROS 2 rmw_zenoh (Jazzy) wire format using only PyPI
packages (``eclipse-zenoh`` and ``rosbags``); it deliberately shares no code
with rosync, so rosync's Rust tests can run it as a subprocess.

Wire format reproduced here:

* data key expression::

      <domain>/<topic without leading '/'>/<pkg>::msg::dds_::<Type>_/<RIHS01 hash>

* payload: CDR little-endian with the 4-byte encapsulation header 00 01 00 00
  (exactly what ``rosbags`` serializes),
* attachment (33 bytes)::

      int64 LE sequence number | int64 LE source timestamp (ns) | 0x10 | 16-byte GID

  (0x10 is the length prefix of the 16-byte GID array.)

Subcommands::

    zenoh_peer.py [session options] pub  --topic T --type TYPE --json VALUE [--count N] [--rate HZ] [--wait S]
                                         [--skip N,N,...] [--announce] [--linger S]
                                         [--transient-local --depth N [--best-effort]]
    zenoh_peer.py [session options] sub  --topic T --type TYPE [--count N] [--timeout S]
                                         [--transient-local --depth N [--best-effort]]
    zenoh_peer.py [session options] liveliness [--timeout S]

Transient local durability is reproduced as rmw_zenoh (Jazzy and later) configures
zenoh-ext's advanced publisher and subscriber (``rmw_publisher_data.cpp``,
``rmw_subscription_data.cpp``):

* publisher: ``cache`` with ``max_samples = depth``, ``publisher_detection``, and when
  reliable ``sample_miss_detection`` with a sporadic heartbeat every 0.5 s;
* subscriber: ``history`` with ``detect_late_publishers`` and ``max_samples = depth``,
  ``subscriber_detection``, and when reliable ``recovery`` on heartbeats.

A best-effort transient-local publisher orders its cache by timestamps, so the session
enables ``timestamping`` as rmw_zenoh's session config does.

Session options (also accepted after the subcommand)::

    --listen ENDPOINT   (repeatable, e.g. tcp/127.0.0.1:7501)
    --connect ENDPOINT  (repeatable)
    --domain N          ROS domain id used in the key expression (default 0)
    --gossip            enable zenoh gossip scouting (default: off)

The JSON <-> message conversion helpers (``msg_to_json`` / ``json_to_msg``)
are generic, driven by the rosbags type store field definitions, and are also
used by ``make_cdr_golden.py``.

JSON convention for messages:

* nested messages are JSON objects keyed by the ROS field names,
* builtin_interfaces/msg/Time and Duration are ordinary nested messages
  ({"sec": .., "nanosec": ..}),
* every array / sequence (including uint8[] and byte[]) is a JSON list,
* ``byte`` values are unsigned octets 0..255 (rosbags internally uses int8),
* strings are UTF-8 strings, bools are JSON booleans,
* rosbags' dummy member ``structure_needs_at_least_one_member`` of empty
  messages (e.g. std_msgs/msg/Empty) is hidden: Empty is ``{}`` (it still
  serializes as one 0x00 byte after the CDR header, like ROS 2 does).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import struct
import sys
import threading
import time
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

# Nodetype values used in rosbags field definitions (rosbags.interfaces.Nodetype).
BASE, NAME, ARRAY, SEQUENCE = 1, 2, 3, 4

# Dummy member rosbags (like rosidl) adds to messages without fields.
DUMMY_FIELD = 'structure_needs_at_least_one_member'

# Length of the rmw_zenoh attachment and offset/value of the GID length byte.
ATTACHMENT_LEN = 33
GID_LEN_OFFSET = 16
GID_LEN = 16

_TYPESTORE: Typestore | None = None


def typestore() -> Typestore:
    """Return the (cached) rosbags ROS 2 Jazzy type store."""
    global _TYPESTORE  # noqa: PLW0603
    if _TYPESTORE is None:
        _TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
    return _TYPESTORE


# --------------------------------------------------------------------------
# Message <-> JSON conversion
# --------------------------------------------------------------------------


def _numpy_dtype(base: str) -> np.dtype:
    """numpy dtype rosbags expects for an array/sequence of a base type."""
    # Mirrors rosbags.serde.utils.ndtype: 'bool' -> bool_, 'char' -> uint8,
    # 'byte' stays numpy.byte (== int8).
    return np.dtype({'bool': 'bool_', 'char': 'uint8', 'byte': 'int8'}.get(base, base))


def _is_string(base: str) -> bool:
    return base in ('string', 'wstring')


def _base_to_json(base: str, value: Any) -> Any:
    """Convert a scalar value as rosbags returns it to plain JSON."""
    if _is_string(base):
        return str(value)
    if base == 'bool':
        return bool(value)
    if base == 'byte':
        return int(value) & 0xFF  # present bytes as unsigned octets
    if base.startswith('float'):
        return float(value)
    return int(value)


def _base_from_json(base: str, value: Any, where: str) -> Any:
    """Convert a plain JSON scalar to what rosbags expects for a base type."""
    if _is_string(base):
        if not isinstance(value, str):
            raise ValueError(f'{where}: expected a string, got {value!r}')
        return value
    if base == 'bool':
        if not isinstance(value, (bool, int)):
            raise ValueError(f'{where}: expected a bool, got {value!r}')
        return bool(value)
    if base.startswith('float'):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'{where}: expected a number, got {value!r}')
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'{where}: expected an integer, got {value!r}')
    if base == 'byte':
        # JSON carries unsigned octets; rosbags packs 'byte' as signed int8.
        if not 0 <= value <= 255:
            raise ValueError(f'{where}: byte out of range: {value}')
        return value - 256 if value > 127 else value
    return value


def msg_to_json(msg: Any, typename: str | None = None) -> dict[str, Any]:
    """Convert a rosbags message object to a plain JSON-compatible dict."""
    ts = typestore()
    typename = typename or msg.__msgtype__
    out: dict[str, Any] = {}
    for fname, (ntype, desc) in ts.fielddefs[typename][1]:
        if fname == DUMMY_FIELD:
            continue
        value = getattr(msg, fname)
        if ntype == BASE:
            out[fname] = _base_to_json(desc[0], value)
        elif ntype == NAME:
            out[fname] = msg_to_json(value, desc)
        elif ntype in (ARRAY, SEQUENCE):
            (sub_ntype, sub_desc), _ = desc
            if sub_ntype == NAME:
                out[fname] = [msg_to_json(v, sub_desc) for v in value]
            else:
                out[fname] = [_base_to_json(sub_desc[0], v) for v in value]
        else:  # pragma: no cover - no other node types in ROS 2 messages
            raise ValueError(f'{typename}.{fname}: unsupported node type {ntype}')
    return out


def _default_for(ntype: int, desc: Any) -> Any:
    """JSON default for a field missing from the input (zero/empty)."""
    if ntype == BASE:
        base = desc[0]
        if _is_string(base):
            return ''
        if base == 'bool':
            return False
        return 0.0 if base.startswith('float') else 0
    if ntype == NAME:
        return {}
    if ntype == ARRAY:
        (sub_ntype, sub_desc), length = desc
        return [_default_for(sub_ntype, sub_desc) for _ in range(length)]
    return []


def json_to_msg(value: dict[str, Any], typename: str, where: str | None = None) -> Any:
    """Build a rosbags message object of ``typename`` from a plain JSON dict.

    Missing fields take their zero/empty default; unknown fields are an error.
    Numeric arrays/sequences become numpy arrays (what rosbags serializes),
    string and message arrays become Python lists.
    """
    ts = typestore()
    where = where or typename
    if not isinstance(value, dict):
        raise ValueError(f'{where}: expected an object, got {value!r}')
    fields = ts.fielddefs[typename][1]
    known = {fname for fname, _ in fields}
    unknown = set(value) - known
    if unknown:
        raise ValueError(f'{where}: unknown field(s) {sorted(unknown)}')

    kwargs: dict[str, Any] = {}
    for fname, (ntype, desc) in fields:
        fwhere = f'{where}.{fname}'
        fval = value.get(fname, _default_for(ntype, desc))
        if ntype == BASE:
            kwargs[fname] = _base_from_json(desc[0], fval, fwhere)
        elif ntype == NAME:
            kwargs[fname] = json_to_msg(fval, desc, fwhere)
        elif ntype in (ARRAY, SEQUENCE):
            (sub_ntype, sub_desc), length = desc
            if not isinstance(fval, list):
                raise ValueError(f'{fwhere}: expected a list, got {fval!r}')
            if ntype == ARRAY and len(fval) != length:
                raise ValueError(f'{fwhere}: expected {length} elements, got {len(fval)}')
            if ntype == SEQUENCE and length and len(fval) > length:
                raise ValueError(f'{fwhere}: bounded to {length} elements, got {len(fval)}')
            if sub_ntype == NAME:
                kwargs[fname] = [
                    json_to_msg(v, sub_desc, f'{fwhere}[{i}]') for i, v in enumerate(fval)
                ]
            elif _is_string(sub_desc[0]):
                kwargs[fname] = [
                    _base_from_json(sub_desc[0], v, f'{fwhere}[{i}]') for i, v in enumerate(fval)
                ]
            else:
                items = [
                    _base_from_json(sub_desc[0], v, f'{fwhere}[{i}]') for i, v in enumerate(fval)
                ]
                kwargs[fname] = np.array(items, dtype=_numpy_dtype(sub_desc[0]))
        else:  # pragma: no cover
            raise ValueError(f'{fwhere}: unsupported node type {ntype}')
    return ts.types[typename](**kwargs)


# --------------------------------------------------------------------------
# rmw_zenoh naming and attachment helpers
# --------------------------------------------------------------------------


def dds_type_name(typename: str) -> str:
    """'std_msgs/msg/String' -> 'std_msgs::msg::dds_::String_'."""
    pkg, kind, name = typename.split('/')
    return f'{pkg}::{kind}::dds_::{name}_'


def topic_key_expr(domain: int, topic: str, typename: str) -> str:
    """rmw_zenoh data key expression of a topic."""
    topic = topic.strip('/')
    if not topic:
        raise ValueError('empty topic name')
    type_hash = typestore().hash_rihs01(typename)
    return f'{domain}/{topic}/{dds_type_name(typename)}/{type_hash}'


def qos_field(transient_local: bool = False, best_effort: bool = False, depth: int = 10) -> str:
    """QoS field of a liveliness token as rmw_zenoh writes it: every part equal to its
    default (reliable=1, volatile=2, keep last=1, depth 42, infinite durations, automatic
    liveliness) is left empty."""
    reliability = '2' if best_effort else ''
    durability = '1' if transient_local else ''
    depth_part = '' if depth == 42 else str(depth)
    return f'{reliability}:{durability}:,{depth_part}:,:,:,,'


def publisher_token(domain: int, zid: str, topic: str, typename: str, qos: str | None = None) -> str:
    """rmw_zenoh liveliness token of a publisher of node /py_talker (default QoS unless given)."""
    mangled = '%' + topic.strip('/').replace('/', '%')
    type_hash = typestore().hash_rihs01(typename)
    return (f'@ros2_lv/{domain}/{zid}/0/1/MP/%/%/py_talker/{mangled}/'
            f'{dds_type_name(typename)}/{type_hash}/{qos or qos_field()}')


def make_attachment(seq: int, source_timestamp: int, gid: bytes) -> bytes:
    """Build the 33-byte rmw_zenoh attachment."""
    assert len(gid) == GID_LEN
    return struct.pack('<qqB', seq, source_timestamp, GID_LEN) + gid


def parse_attachment(att: bytes) -> tuple[int, int, bytes]:
    """Parse/validate an rmw_zenoh attachment, raising ValueError if malformed."""
    if len(att) != ATTACHMENT_LEN:
        raise ValueError(f'attachment is {len(att)} bytes, expected {ATTACHMENT_LEN}')
    if att[GID_LEN_OFFSET] != GID_LEN:
        raise ValueError(
            f'attachment byte {GID_LEN_OFFSET} is 0x{att[GID_LEN_OFFSET]:02x}, '
            f'expected 0x{GID_LEN:02x} (GID length)'
        )
    seq, stamp = struct.unpack_from('<qq', att, 0)
    return seq, stamp, bytes(att[GID_LEN_OFFSET + 1:])


# --------------------------------------------------------------------------
# zenoh session
# --------------------------------------------------------------------------


def open_session(args: argparse.Namespace):
    """Open a zenoh peer session restricted to the given endpoints."""
    import zenoh  # imported lazily so the JSON helpers work without zenoh

    conf = zenoh.Config()
    conf.insert_json5('mode', json.dumps('peer'))
    # Only the explicitly given endpoints: no multicast discovery, and no
    # default listener on all interfaces when --listen is not given.
    conf.insert_json5('scouting/multicast/enabled', 'false')
    conf.insert_json5('scouting/gossip/enabled', 'true' if args.gossip else 'false')
    conf.insert_json5('listen/endpoints', json.dumps(args.listen or []))
    conf.insert_json5('connect/endpoints', json.dumps(args.connect or []))
    # As rmw_zenoh's session config (a best-effort transient-local cache needs timestamps).
    conf.insert_json5('timestamping/enabled', 'true')
    return zenoh.open(conf)


def declare_data_publisher(session, key: str, args: argparse.Namespace):
    """A publisher configured as rmw_zenoh configures one for the QoS given on the command line."""
    import zenoh

    reliability = zenoh.Reliability.BEST_EFFORT if args.best_effort else zenoh.Reliability.RELIABLE
    if not args.transient_local:
        return session.declare_publisher(key, reliability=reliability,
                                         congestion_control=zenoh.CongestionControl.DROP)
    import zenoh.ext

    miss = None if args.best_effort else zenoh.ext.MissDetectionConfig(sporadic_heartbeat=0.5)
    return zenoh.ext.declare_advanced_publisher(
        session, key,
        reliability=reliability,
        congestion_control=zenoh.CongestionControl.DROP,
        cache=zenoh.ext.CacheConfig(max_samples=args.depth),
        publisher_detection=True,
        sample_miss_detection=miss,
    )


def declare_data_subscriber(session, key: str, args: argparse.Namespace, callback):
    """A subscriber configured as rmw_zenoh configures one for the QoS given on the command line."""
    if not args.transient_local:
        return session.declare_subscriber(key, callback)
    import zenoh.ext

    recovery = None if args.best_effort else zenoh.ext.RecoveryConfig(heartbeat=True)
    return zenoh.ext.declare_advanced_subscriber(
        session, key, callback,
        history=zenoh.ext.HistoryConfig(detect_late_publishers=True, max_samples=args.depth),
        recovery=recovery,
        subscriber_detection=True,
    )


def fail(msg: str) -> None:
    """Print an error on stderr and exit with status 1."""
    print(f'zenoh_peer: error: {msg}', file=sys.stderr, flush=True)
    # os._exit avoids hanging on zenoh background threads.
    os._exit(1)


# --------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------


def cmd_pub(args: argparse.Namespace) -> int:
    ts = typestore()
    if args.type not in ts.types:
        fail(f'unknown type {args.type}')
    try:
        value = json.loads(args.json)
        json_to_msg(value, args.type)  # validate before opening the session
    except (ValueError, json.JSONDecodeError) as exc:
        fail(f'bad --json: {exc}')

    key = topic_key_expr(args.domain, args.topic, args.type)
    gid = os.urandom(GID_LEN)
    skip = {int(n) for n in args.skip.split(',') if n.strip()} if args.skip else set()
    session = open_session(args)
    publisher = declare_data_publisher(session, key, args)
    token = None
    if args.announce:
        qos = qos_field(args.transient_local, args.best_effort, args.depth)
        token = session.liveliness().declare_token(
            publisher_token(args.domain, str(session.zid()), args.topic, args.type, qos))
    time.sleep(args.wait)  # let the remote peer connect and declare interest

    period = 1.0 / args.rate if args.rate > 0 else 0.0
    next_time = time.monotonic()
    for seq in range(1, args.count + 1):
        sample = dict(value)
        if args.type == 'std_msgs/msg/String':
            sample['data'] = f"{value.get('data', '')} {seq}"
        if args.type == 'tf2_msgs/msg/TFMessage':  # one static transform per message
            sample['transforms'] = [dict(t, child_frame_id=f"{t.get('child_frame_id', '')}{seq}")
                                    for t in value.get('transforms', [])]
        msg = json_to_msg(sample, args.type)
        payload = bytes(ts.serialize_cdr(msg, args.type))
        if seq not in skip:  # a skipped number is a sample lost on the way
            publisher.put(payload, attachment=make_attachment(seq, time.time_ns(), gid))
        next_time += period
        delay = next_time - time.monotonic()
        if seq < args.count and delay > 0:
            time.sleep(delay)

    print(f'published {args.count}', flush=True)
    # Let the last samples leave (and, for transient local, late subscribers query the
    # cache) before tearing down.
    time.sleep(args.linger)
    if token is not None:
        token.undeclare()
    publisher.undeclare()
    session.close()
    return 0


def cmd_sub(args: argparse.Namespace) -> int:
    ts = typestore()
    if args.type not in ts.types:
        fail(f'unknown type {args.type}')
    key = topic_key_expr(args.domain, args.topic, args.type)
    samples: queue.Queue = queue.Queue()

    session = open_session(args)
    # The callback runs on a zenoh thread; hand samples to the main thread.
    subscriber = declare_data_subscriber(session, key, args, samples.put)

    deadline = time.monotonic() + args.timeout
    received = 0
    while received < args.count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            fail(f'timeout after {args.timeout}s: received {received} of {args.count} messages on {key}')
        try:
            sample = samples.get(timeout=remaining)
        except queue.Empty:
            continue
        skey = str(sample.key_expr)
        if skey != key:
            fail(f'sample on unexpected key expression {skey!r} (expected {key!r})')
        if sample.attachment is None:
            fail(f'sample #{received + 1} has no attachment')
        try:
            seq, stamp, gid = parse_attachment(sample.attachment.to_bytes())
        except ValueError as exc:
            fail(f'sample #{received + 1}: malformed attachment: {exc}')
        payload = sample.payload.to_bytes()
        if len(payload) < 4 or payload[:4] != b'\x00\x01\x00\x00':
            fail(f'sample #{received + 1}: bad CDR header {payload[:4].hex()} (expected 00010000)')
        try:
            msg = ts.deserialize_cdr(payload, args.type)
            value = msg_to_json(msg, args.type)
        except Exception as exc:  # noqa: BLE001 - report any decoding failure
            fail(f'sample #{received + 1}: cannot deserialize {len(payload)} bytes as {args.type}: {exc!r}')
        line = {'seq': seq, 'source_timestamp': stamp, 'gid': gid.hex(), 'value': value}
        print(json.dumps(line, ensure_ascii=False), flush=True)
        received += 1

    subscriber.undeclare()
    session.close()
    return 0


def cmd_liveliness(args: argparse.Namespace) -> int:
    import zenoh

    selector = '@ros2_lv/**'
    seen: set[str] = set()
    lock = threading.Lock()

    def report(key: str) -> None:
        with lock:
            if key not in seen:
                seen.add(key)
                print(key, flush=True)

    def on_sample(sample) -> None:
        if sample.kind == zenoh.SampleKind.PUT:
            report(str(sample.key_expr))

    def on_reply(reply) -> None:
        if reply.ok is not None:
            report(str(reply.ok.key_expr))

    session = open_session(args)
    # Subscriber for tokens appearing later, and a get for existing ones.
    subscriber = session.liveliness().declare_subscriber(selector, on_sample)
    session.liveliness().get(selector, on_reply, timeout=args.timeout)
    time.sleep(args.timeout)
    subscriber.undeclare()
    session.close()
    return 0


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def add_qos_arguments(parser: argparse.ArgumentParser) -> None:
    """The QoS options of pub and sub."""
    parser.add_argument('--transient-local', action='store_true',
                        help="transient local durability, as rmw_zenoh (zenoh-ext advanced pub/sub)")
    parser.add_argument('--depth', type=int, default=10, help='keep-last depth (default 10)')
    parser.add_argument('--best-effort', action='store_true', help='best-effort reliability')


def build_parser() -> argparse.ArgumentParser:
    # Session options are accepted both before and after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--listen', action='append', metavar='ENDPOINT',
                        default=argparse.SUPPRESS, help='zenoh endpoint to listen on (repeatable)')
    common.add_argument('--connect', action='append', metavar='ENDPOINT',
                        default=argparse.SUPPRESS, help='zenoh endpoint to connect to (repeatable)')
    common.add_argument('--domain', type=int, default=argparse.SUPPRESS,
                        help='ROS domain id (default 0)')
    common.add_argument('--gossip', action='store_true', default=argparse.SUPPRESS,
                        help='enable zenoh gossip scouting (default off)')

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0], parents=[common])
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('pub', parents=[common], help='publish N messages')
    p.add_argument('--topic', required=True)
    p.add_argument('--type', required=True, help='e.g. std_msgs/msg/String')
    p.add_argument('--json', required=True, help='message value as JSON')
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--rate', type=float, default=10.0, help='Hz (<=0: as fast as possible)')
    p.add_argument('--wait', type=float, default=1.5, help='seconds to wait before publishing')
    p.add_argument('--skip', default='',
                   help='comma-separated sequence numbers not to publish (samples lost on the way)')
    p.add_argument('--announce', action='store_true',
                   help='declare an rmw_zenoh publisher liveliness token for the topic')
    p.add_argument('--linger', type=float, default=0.3,
                   help='seconds to stay up after publishing (printing "published N" first)')
    add_qos_arguments(p)
    p.set_defaults(func=cmd_pub)

    s = sub.add_parser('sub', parents=[common], help='receive N messages, print JSON lines')
    s.add_argument('--topic', required=True)
    s.add_argument('--type', required=True)
    s.add_argument('--count', type=int, default=1)
    s.add_argument('--timeout', type=float, default=10.0)
    add_qos_arguments(s)
    s.set_defaults(func=cmd_sub)

    lv = sub.add_parser('liveliness', parents=[common], help='print @ros2_lv/** tokens')
    lv.add_argument('--timeout', type=float, default=3.0)
    lv.set_defaults(func=cmd_liveliness)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Fill session defaults (SUPPRESS lets options appear on either side).
    args.listen = getattr(args, 'listen', [])
    args.connect = getattr(args, 'connect', [])
    args.domain = getattr(args, 'domain', 0)
    args.gossip = getattr(args, 'gossip', False)
    if hasattr(sys.stdout, 'reconfigure'):
        sys.stdout.reconfigure(encoding='utf-8')
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
