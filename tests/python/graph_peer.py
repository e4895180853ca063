#!/usr/bin/env python3
"""An independent ROS 2 graph participant in rmw_zenoh's wire format, for rosync's graph tests.

Usage::

    graph_peer.py ENDPOINT SPEC_JSON

Opens an eclipse-zenoh peer session connecting only to ENDPOINT (multicast
scouting off), declares the liveliness tokens of one node and its endpoints as
rmw_zenoh (Jazzy) writes them, optionally publishes data on each publisher's
key expression, prints every token it declared and then ``ready``, and runs
until its stdin closes.

SPEC_JSON::

    {"domain": 0, "node": "py_talker", "namespace": "/",
     "endpoints": [{"kind": "MP", "topic": "/chatter", "type": "std_msgs/msg/String",
                    "hash": "RIHS01_...", "qos": "2:2:1,5:,:,:,,"}],
     "publish": "hello"}          # optional: a std_msgs/String payload every 100 ms

Token layout (rmw_zenoh ``liveliness_utils``)::

    @ros2_lv/<domain>/<zid>/<node id>/<entity id>/<NN|MP|MS>/<enclave>/<namespace>/<node>
        [/<topic>/<pkg>::msg::dds_::<Type>_/<type hash>/<qos>]

with every ``/`` inside a name replaced by ``%`` (so ``/`` becomes ``%``).
"""

from __future__ import annotations

import json
import struct
import sys
import threading

import zenoh


def mangle(name: str) -> str:
    return name.replace("/", "%")


def dds_type(ros_type: str) -> str:
    pkg, kind, name = ros_type.split("/")
    return f"{pkg}::{kind}::dds_::{name}_"


def cdr_string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return b"\x00\x01\x00\x00" + struct.pack("<I", len(data)) + data


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, spec = sys.argv[1], json.loads(sys.argv[2])
    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("listen/endpoints", json.dumps(["tcp/127.0.0.1:0"]))
    config.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(config)
    zid = str(session.zid())
    domain = spec.get("domain", 0)
    node = (
        f"@ros2_lv/{domain}/{zid}/0/0/NN/%/{mangle(spec.get('namespace', '/'))}/{spec['node']}"
    )
    tokens = [node]
    keys = []
    for i, ep in enumerate(spec.get("endpoints", []), start=1):
        tokens.append(
            f"@ros2_lv/{domain}/{zid}/0/{i}/{ep['kind']}/%/{mangle(spec.get('namespace', '/'))}/"
            f"{spec['node']}/{mangle(ep['topic'])}/{dds_type(ep['type'])}/{ep['hash']}/{ep['qos']}"
        )
        if ep["kind"] == "MP":
            keys.append(f"{domain}/{ep['topic'].strip('/')}/{dds_type(ep['type'])}/{ep['hash']}")
    declared = [session.liveliness().declare_token(t) for t in tokens]
    stop = threading.Event()

    def publish() -> None:
        publishers = [session.declare_publisher(k) for k in keys]
        seq = 0
        while not stop.wait(0.1):
            seq += 1
            for p in publishers:
                p.put(cdr_string(f"{spec['publish']} {seq}"))

    if spec.get("publish") is not None:
        threading.Thread(target=publish, daemon=True).start()
    for t in tokens:
        print(t, flush=True)
    print("ready", flush=True)
    sys.stdin.read()
    stop.set()
    for t in declared:
        t.undeclare()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
