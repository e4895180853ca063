#!/usr/bin/env python3
"""Independent reader and writer of ROS 2 MCAP logs, used by rosync's tests (tests/bag_files.rs).

Shares no code with rosync: it uses the PyPI ``mcap`` package (Foxglove's reference reader and
writer) and ``rosbags`` (which parses the ``ros2msg`` definitions stored in the file, checks
their REP-2016 hashes against the ``topic_type_hash`` channel metadata, and decodes CDR).

Subcommands::

    bag_check.py read FILE
        Prints one JSON line per message read by each reader:
        {"reader": "mcap"|"rosbags", "topic", "log_time", "publish_time", "type", "value"}
        and one line per channel seen by the mcap reader:
        {"reader": "mcap", "kind": "channel", "topic", "type", "schema_encoding",
         "message_encoding", "metadata"}
        Exits non-zero (message on stderr) if the profile is not ros2, a schema is not ros2msg
        or a channel is not cdr, or either reader fails.

    bag_check.py write FILE
        Writes a small MCAP with the mcap writer (profile ros2, ros2msg schemas from rosbags'
        typestore, cdr payloads from rosbags), and prints what it wrote as
        {"reader": "written", "topic", "log_time", "type", "value"} lines.

    bag_check.py write-rosbags DIR --storage mcap|sqlite3
        Writes the same messages as a rosbag2 folder with rosbags' Writer (version 9).

    bag_check.py read-folder DIR
        Reads a rosbag2 folder (metadata.yaml and its files) with rosbags' AnyReader and prints
        {"reader": "rosbags-folder", "topic", "log_time", "type", "value"} lines, then one
        {"reader": "rosbags-folder", "kind": "summary", "message_count", "topics"}.

Message values are JSON as ``zenoh_peer.msg_to_json`` makes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from zenoh_peer import json_to_msg, msg_to_json, typestore  # noqa: E402


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def read_with_mcap(path: str) -> None:
    from mcap.reader import make_reader
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    stores: dict[int, Any] = {}
    with open(path, 'rb') as f:
        reader = make_reader(f)
        header = reader.get_header()
        if header.profile != 'ros2':
            raise SystemExit(f'{path}: profile is {header.profile!r}, not ros2')
        summary = reader.get_summary()
        if summary is None:
            raise SystemExit(f'{path}: no summary section')
        for channel in sorted(summary.channels.values(), key=lambda c: c.id):
            schema = summary.schemas.get(channel.schema_id)
            emit({
                'reader': 'mcap',
                'kind': 'channel',
                'topic': channel.topic,
                'type': schema.name if schema else '',
                'schema_encoding': schema.encoding if schema else '',
                'message_encoding': channel.message_encoding,
                'metadata': dict(channel.metadata),
            })
        for schema, channel, message in reader.iter_messages(log_time_order=True):
            if schema is None or schema.encoding != 'ros2msg':
                raise SystemExit(f'{path}: topic {channel.topic}: schema is not ros2msg')
            if channel.message_encoding != 'cdr':
                raise SystemExit(f'{path}: topic {channel.topic}: encoding is not cdr')
            if schema.id not in stores:
                store = get_typestore(Stores.EMPTY)
                store.register(get_types_from_msg(schema.data.decode(), schema.name))
                stores[schema.id] = store
            msg = stores[schema.id].deserialize_cdr(message.data, schema.name)
            emit({
                'reader': 'mcap',
                'topic': channel.topic,
                'log_time': message.log_time,
                'publish_time': message.publish_time,
                'type': schema.name,
                'value': msg_to_json(msg, schema.name),
            })


def read_with_rosbags(path: str) -> None:
    from rosbags.highlevel import AnyReader

    with AnyReader([Path(path)], default_typestore=typestore()) as reader:
        for connection, timestamp, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            emit({
                'reader': 'rosbags',
                'topic': connection.topic,
                'log_time': timestamp,
                'type': connection.msgtype,
                'value': msg_to_json(msg, connection.msgtype),
            })


# What `write` and `write-rosbags` record: (topic, type, log_time, value).
SAMPLES: list[tuple[str, str, int, dict[str, Any]]] = [
    ('/chatter', 'std_msgs/msg/String', 1_000_000_000 + i * 100_000_000,
     {'data': f'grüße {i} – 東京'}) for i in range(5)
] + [
    ('/camera/image', 'sensor_msgs/msg/Image', 1_050_000_000 + i * 200_000_000, {
        'header': {'stamp': {'sec': 1, 'nanosec': 50_000_000 + i}, 'frame_id': 'cam'},
        'height': 2, 'width': 3, 'encoding': 'rgb8', 'is_bigendian': 0, 'step': 9,
        'data': [(i * 7 + k) % 256 for k in range(18)],
    }) for i in range(3)
] + [
    ('/camera/info', 'sensor_msgs/msg/CameraInfo', 1_060_000_000, {
        'header': {'stamp': {'sec': 1, 'nanosec': 60_000_000}, 'frame_id': 'cam'},
        'height': 480, 'width': 640, 'distortion_model': 'plumb_bob',
        'd': [0.1, -0.2, 0.001, 0.0, 0.0],
        'k': [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0],
        'r': [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        'p': [500.0, 0.0, 320.0, 0.0, 0.0, 500.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    }),
]


def samples() -> list[tuple[str, str, int, Any]]:
    return [(topic, typ, t, json_to_msg(value, typ)) for topic, typ, t, value in SAMPLES]


def emit_written(topic: str, typ: str, log_time: int, msg: Any) -> None:
    emit({'reader': 'written', 'topic': topic, 'log_time': log_time, 'type': typ,
          'value': msg_to_json(msg, typ)})


def write_with_mcap(path: str) -> None:
    from mcap.writer import CompressionType, Writer

    ts = typestore()
    with open(path, 'wb') as f:
        writer = Writer(f, chunk_size=512, compression=CompressionType.LZ4)
        writer.start(profile='ros2', library='bag_check.py')
        channels: dict[str, int] = {}
        for topic, typ, log_time, msg in samples():
            if topic not in channels:
                text, _ = ts.generate_msgdef(typ, ros_version=2)
                schema_id = writer.register_schema(typ, 'ros2msg', text.encode())
                channels[topic] = writer.register_channel(topic, 'cdr', schema_id, {
                    'offered_qos_profiles': '',
                    'topic_type_hash': ts.hash_rihs01(typ),
                })
            data = ts.serialize_cdr(msg, typ)
            writer.add_message(channels[topic], log_time, data, log_time)
            emit_written(topic, typ, log_time, msg)
        writer.finish()


def write_with_rosbags(path: str, storage: str) -> None:
    from rosbags.rosbag2 import StoragePlugin, Writer

    ts = typestore()
    plugin = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}[storage]
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        connections: dict[str, Any] = {}
        for topic, typ, log_time, msg in samples():
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, typ, typestore=ts)
            writer.write(connections[topic], log_time, ts.serialize_cdr(msg, typ))
            emit_written(topic, typ, log_time, msg)


def read_folder_with_rosbags(path: str) -> None:
    """Reads a rosbag2 folder (as `rosync record` writes it) through its metadata.yaml."""
    from rosbags.highlevel import AnyReader
    from rosbags.rosbag2 import Reader

    with Reader(Path(path)) as bag:
        summary = {
            'reader': 'rosbags-folder',
            'kind': 'summary',
            'message_count': bag.message_count,
            'topics': {c.topic: c.msgcount for c in bag.connections},
        }
    with AnyReader([Path(path)], default_typestore=typestore()) as reader:
        for connection, timestamp, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            emit({
                'reader': 'rosbags-folder',
                'topic': connection.topic,
                'log_time': timestamp,
                'type': connection.msgtype,
                'value': msg_to_json(msg, connection.msgtype),
            })
    emit(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    read = sub.add_parser('read')
    read.add_argument('file')
    write = sub.add_parser('write')
    write.add_argument('file')
    write_rb = sub.add_parser('write-rosbags')
    write_rb.add_argument('dir')
    write_rb.add_argument('--storage', choices=['mcap', 'sqlite3'], default='mcap')
    read_folder = sub.add_parser('read-folder')
    read_folder.add_argument('dir')
    args = parser.parse_args(argv)
    if args.cmd == 'read':
        read_with_mcap(args.file)
        read_with_rosbags(args.file)
    elif args.cmd == 'read-folder':
        read_folder_with_rosbags(args.dir)
    elif args.cmd == 'write':
        write_with_mcap(args.file)
    else:
        write_with_rosbags(args.dir, args.storage)
    return 0


if __name__ == '__main__':
    sys.exit(main())
