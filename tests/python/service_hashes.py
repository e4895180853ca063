"""RIHS01 hashes of the service types in msgs/, computed with rosbags' message hasher.

rosbags hashes messages; a service is hashed as rosidl describes it: a type `pkg/srv/Name`
with the fields request_message, response_message and event_message, the event message being
`pkg/srv/Name_Event` (service_msgs/ServiceEventInfo info, Name_Request[<=1] request,
Name_Response[<=1] response). rosidl turns a .msg `char` into `uint8` before hashing, which
rosbags does not, so `char` is spelled `uint8` here.

Usage: python3 service_hashes.py [MSGS_DIR] [pkg/srv/Name ...]
"""
import re
import sys
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore


def as_idl(text):
    """The .msg text with `char` spelled as rosidl hashes it."""
    return re.sub(r'^(\s*)char\b', r'\1uint8', text, flags=re.M)


def rename(value, names):
    """Replaces the pkg/msg/ spelling of a service's own types by pkg/srv/."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, (list, tuple)):
        return type(value)(rename(v, names) for v in value)
    if isinstance(value, dict):
        return {rename(k, names): rename(v, names) for k, v in value.items()}
    return value


def main():
    msgs = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / 'msgs'
    wanted = set(sys.argv[2:])
    store = get_typestore(Stores.EMPTY)
    types = {}
    for pkg in sorted(p for p in msgs.iterdir() if p.is_dir()):
        for f in sorted(pkg.glob('*.msg')):
            types.update(get_types_from_msg(as_idl(f.read_text()), f'{pkg.name}/msg/{f.stem}'))
    store.register(types)
    for pkg in sorted(p for p in msgs.iterdir() if p.is_dir()):
        for f in sorted(pkg.glob('*.srv')):
            full = f'{pkg.name}/srv/{f.stem}'
            if wanted and full not in wanted:
                continue
            lines = as_idl(f.read_text()).splitlines()
            sep = next(i for i, line in enumerate(lines) if line.split('#')[0].strip() == '---')
            as_msg = f'{pkg.name}/msg/{f.stem}'
            parts = {
                '_Request': '\n'.join(lines[:sep]) + '\n',
                '_Response': '\n'.join(lines[sep + 1:]) + '\n',
                '_Event': f'service_msgs/ServiceEventInfo info\n{as_msg}_Request[<=1] request\n'
                f'{as_msg}_Response[<=1] response\n',
                '': f'{as_msg}_Request request_message\n{as_msg}_Response response_message\n'
                f'{as_msg}_Event event_message\n',
            }
            names = {f'{as_msg}{suffix}': f'{full}{suffix}' for suffix in parts}
            found = {}
            for suffix, text in parts.items():
                found.update(get_types_from_msg(text, f'{as_msg}{suffix}'))
            store.register(rename(found, names))
            print(full, store.hash_rihs01(full))


if __name__ == '__main__':
    main()
