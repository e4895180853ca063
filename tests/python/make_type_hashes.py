#!/usr/bin/env python3
"""Write tests/golden/type_hashes.json: REP-2016 RIHS01 hashes of every type
shipped in msgs/<pkg>/<Type>.msg, as computed by the rosbags ROS 2 Jazzy
typestore. Keys look like "std_msgs/msg/Header"."""
import json
import sys
from pathlib import Path

from rosbags.typesys import Stores, get_typestore

ROOT = Path(__file__).resolve().parents[2]


def main():
    ts = get_typestore(Stores.ROS2_JAZZY)
    names = sorted(f'{p.parent.name}/msg/{p.stem}' for p in (ROOT / 'msgs').glob('*/*.msg'))
    missing = [n for n in names if n not in ts.fielddefs]
    if missing:
        sys.exit(f'not in the Jazzy typestore: {", ".join(missing)}')
    hashes = {n: ts.hash_rihs01(n) for n in names}
    out = ROOT / 'tests' / 'golden' / 'type_hashes.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(hashes, sort_keys=True, indent=1) + '\n', encoding='utf-8')
    print(f'wrote {len(hashes)} hashes to {out.relative_to(ROOT)}')


if __name__ == '__main__':
    main()
