#!/usr/bin/env python3
"""A zenoh router configured like ROS 2's ``rmw_zenohd``, for rosync's router tests.

Usage::

    zenoh_router.py ENDPOINT

Opens an eclipse-zenoh session in router mode listening on ENDPOINT (e.g.
``tcp/127.0.0.1:7447``) with multicast scouting off, as ``rmw_zenohd``'s default
configuration does, prints ``ready`` once it listens, and runs until its stdin
closes (so it ends with the test that started it).
"""

from __future__ import annotations

import json
import sys

import zenoh


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    config = zenoh.Config()
    config.insert_json5("mode", '"router"')
    config.insert_json5("listen/endpoints", json.dumps([sys.argv[1]]))
    config.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(config)
    print("ready", flush=True)
    sys.stdin.read()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
