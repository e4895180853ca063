#!/usr/bin/env python3
"""Generate CDR golden vectors for rosync from rosbags' ROS 2 Jazzy type store.

For each case NAME this writes into tests/golden/cdr/:

* NAME.cdr  - the bytes exactly as ``rosbags`` serializes them (little-endian
  CDR, 4-byte encapsulation header 00 01 00 00, no trailing padding),
* NAME.json - {"type": "<pkg>/msg/<Type>", "value": {...}} with the message as
  plain JSON (convention documented in zenoh_peer.py: nested messages are
  objects, Time is {"sec", "nanosec"}, all arrays/sequences are lists, byte is
  0..255, Empty is {}).

Every case is checked by a round trip: deserializing the written bytes must
give back exactly the JSON value, and re-serializing must give the same bytes.
All float32 values are chosen exactly representable so JSON stays exact.

Usage: python3 tests/python/make_cdr_golden.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
from pathlib import Path

# The generic JSON <-> rosbags conversion lives next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from zenoh_peer import json_to_msg, msg_to_json, typestore  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / 'golden' / 'cdr'


def stamp(sec: int, nanosec: int) -> dict:
    return {'sec': sec, 'nanosec': nanosec}


def header(frame_id: str, sec: int = 1717171717, nanosec: int = 123456789) -> dict:
    return {'stamp': stamp(sec, nanosec), 'frame_id': frame_id}


def f32(x: float) -> float:
    """Round to the nearest float32 so the JSON value is exactly the wire value."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def cdr_string_size(s: str) -> int:
    """Serialized size of a CDR string: uint32 length + UTF-8 bytes + NUL."""
    return 4 + len(s.encode()) + 1


def align(pos: int, n: int) -> int:
    return (pos + n - 1) // n * n


def build_cases() -> dict[str, tuple[str, dict]]:
    """Return {name: (typename, json_value)} with deterministic values."""
    cases: dict[str, tuple[str, dict]] = {}

    # std_msgs/msg/Header, frame_id of odd length.
    cases['header'] = ('std_msgs/msg/Header', header('base_link', 1700000000, 987654321))

    # UTF-8 string: accents, CJK, emoji (4-byte UTF-8).
    cases['string_utf8'] = ('std_msgs/msg/String', {'data': 'héllo wörld ñ 日本語 🤖 ok'})

    # 5x3 rgb8 image, step 15, 45 data bytes, odd-length frame_id (7 chars).
    cases['image'] = ('sensor_msgs/msg/Image', {
        'header': header('cam_rgb', 1700000001, 5),
        'height': 3,
        'width': 5,
        'encoding': 'rgb8',
        'is_bigendian': 0,
        'step': 15,
        'data': [(i * 37 + 11) % 256 for i in range(45)],
    })

    # CameraInfo: frame_id 'left_cam' (8 chars) + 'plumb_bob' put the uint32
    # length of d at offset 48 (after the CDR header), so the float64 data
    # starts at 52 and needs 4 bytes of padding to 56 - checked below.
    cases['camera_info'] = ('sensor_msgs/msg/CameraInfo', {
        'header': header('left_cam', 1700000002, 250000000),
        'height': 480,
        'width': 640,
        'distortion_model': 'plumb_bob',
        'd': [-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05, 0.0],
        'k': [458.654, 0.0, 367.215, 0.0, 457.296, 248.375, 0.0, 0.0, 1.0],
        'r': [0.999966347530033, -0.001422739138722922, 0.008079580483432283,
              0.001365741834644127, 0.9999741760894847, 0.007055629199258132,
              -0.008089410156878961, -0.007044357138835809, 0.9999424675829176],
        'p': [435.2046959714599, 0.0, 367.4517211914062, 0.0,
              0.0, 435.2046959714599, 252.2008514404297, 0.0,
              0.0, 0.0, 1.0, 0.0],
        'binning_x': 2,
        'binning_y': 1,
        'roi': {'x_offset': 10, 'y_offset': 20, 'height': 240, 'width': 320, 'do_rectify': True},
    })

    cases['imu'] = ('sensor_msgs/msg/Imu', {
        'header': header('imu_link', 1700000003, 999999999),
        'orientation': {'x': 0.0, 'y': 0.0, 'z': 0.3826834323650898, 'w': 0.9238795325112867},
        'orientation_covariance': [0.01 * (i + 1) for i in range(9)],
        'angular_velocity': {'x': 0.1, 'y': -0.2, 'z': 0.3},
        'angular_velocity_covariance': [0.0, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3, 8e-3],
        'linear_acceleration': {'x': 0.05, 'y': -0.04, 'z': 9.80665},
        'linear_acceleration_covariance': [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    })

    # PointCloud2: 4 points of x,y,z float32 (datatype 7 = FLOAT32), point_step 12.
    points = [(1.0, 2.0, 3.0), (-1.5, 0.25, 10.125), (0.1, 0.2, 0.3), (100.0, -200.5, 0.0)]
    data = b''.join(struct.pack('<fff', *p) for p in points)
    cases['pointcloud2'] = ('sensor_msgs/msg/PointCloud2', {
        'header': header('lidar', 1700000004, 1),
        'height': 1,
        'width': len(points),
        'fields': [
            {'name': 'x', 'offset': 0, 'datatype': 7, 'count': 1},
            {'name': 'y', 'offset': 4, 'datatype': 7, 'count': 1},
            {'name': 'z', 'offset': 8, 'datatype': 7, 'count': 1},
        ],
        'is_bigendian': False,
        'point_step': 12,
        'row_step': 12 * len(points),
        'data': list(data),
        'is_dense': True,
    })

    n_rays = 7
    cases['laser_scan'] = ('sensor_msgs/msg/LaserScan', {
        'header': header('laser', 1700000005, 500),
        'angle_min': f32(-math.pi / 2),
        'angle_max': f32(math.pi / 2),
        'angle_increment': f32(math.pi / (n_rays - 1)),
        'time_increment': f32(1e-4),
        'scan_time': f32(0.1),
        'range_min': 0.125,
        'range_max': 30.0,
        'ranges': [f32(1.0 + 0.37 * i) for i in range(n_rays)],
        'intensities': [float(100 + i) for i in range(n_rays)],
    })

    cases['nav_sat_fix'] = ('sensor_msgs/msg/NavSatFix', {
        'header': header('gps', 1700000006, 42),
        'status': {'status': -1, 'service': 1},  # STATUS_NO_FIX, SERVICE_GPS
        'latitude': 48.858093,
        'longitude': 2.294694,
        'altitude': 330.5,
        'position_covariance': [2.25, 0.0, 0.0, 0.0, 2.25, 0.0, 0.0, 0.0, 9.0],
        'position_covariance_type': 2,
    })

    cases['pose_with_covariance_stamped'] = ('geometry_msgs/msg/PoseWithCovarianceStamped', {
        'header': header('map', 1700000007, 7),
        'pose': {
            'pose': {
                'position': {'x': 1.5, 'y': -2.25, 'z': 0.1},
                'orientation': {'x': 0.0, 'y': 0.0, 'z': 0.7071067811865476, 'w': 0.7071067811865476},
            },
            'covariance': [round(0.001 * (i * 7 % 36), 6) for i in range(36)],
        },
    })

    cases['transform_stamped'] = ('geometry_msgs/msg/TransformStamped', {
        'header': header('odom', 1700000008, 8),
        'child_frame_id': 'base_footprint',
        'transform': {
            'translation': {'x': 3.0, 'y': 4.0, 'z': -0.5},
            'rotation': {'x': 0.1, 'y': 0.2, 'z': 0.3, 'w': 0.9273618495495703},
        },
    })

    cases['empty'] = ('std_msgs/msg/Empty', {})

    cases['multi_array'] = ('std_msgs/msg/Float64MultiArray', {
        'layout': {
            'dim': [
                {'label': 'rows', 'size': 2, 'stride': 6},
                {'label': 'cols', 'size': 3, 'stride': 3},
            ],
            'data_offset': 0,
        },
        'data': [1.0, -2.5, 3.25, 1e-9, 6.02214076e23, -0.0],
    })

    cases['joint_state'] = ('sensor_msgs/msg/JointState', {
        'header': header('', 1700000009, 9),
        'name': ['shoulder', 'elbow', 'wrist_1'],
        'position': [0.5, -1.25, 3.0],
        'velocity': [0.0, 0.1, -0.1],
        'effort': [],
    })

    cases['clock'] = ('rosgraph_msgs/msg/Clock', {'clock': stamp(1234, 567890123)})

    # Edge cases.
    cases['header_empty_frame_id'] = ('std_msgs/msg/Header', header('', 0, 0))
    cases['image_empty'] = ('sensor_msgs/msg/Image', {
        'header': header('cam', 1, 2),
        'height': 0,
        'width': 0,
        'encoding': 'mono8',
        'is_bigendian': 0,
        'step': 0,
        'data': [],
    })
    cases['string_empty'] = ('std_msgs/msg/String', {'data': ''})
    return cases


def check_camera_info_padding(value: dict, raw: bytes) -> None:
    """Assert the camera_info case really exercises float64 sequence padding."""
    pos = 8  # stamp (int32 + uint32), offsets relative to the CDR body
    pos += cdr_string_size(value['header']['frame_id'])
    pos = align(pos, 4) + 8  # height, width
    pos = align(pos, 4) + cdr_string_size(value['distortion_model'])
    len_pos = align(pos, 4)  # uint32 length of d
    data_pos = align(len_pos + 4, 8)
    assert data_pos != len_pos + 4, 'camera_info: d needs no padding, adjust string lengths'
    body = raw[4:]
    assert struct.unpack_from('<I', body, len_pos)[0] == len(value['d'])
    assert struct.unpack_from('<d', body, data_pos)[0] == value['d'][0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help='output directory')
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    ts = typestore()
    passed = failed = 0
    for name, (typename, value) in build_cases().items():
        try:
            msg = json_to_msg(value, typename)
            raw = bytes(ts.serialize_cdr(msg, typename))
            assert raw[:4] == b'\x00\x01\x00\x00', f'unexpected CDR header {raw[:4].hex()}'
            (args.out / f'{name}.cdr').write_bytes(raw)
            doc = {'type': typename, 'value': value}
            (args.out / f'{name}.json').write_text(
                json.dumps(doc, indent=2, ensure_ascii=False) + '\n', encoding='utf-8')

            # Round trip from the written files.
            raw_back = (args.out / f'{name}.cdr').read_bytes()
            doc_back = json.loads((args.out / f'{name}.json').read_text(encoding='utf-8'))
            decoded = msg_to_json(ts.deserialize_cdr(raw_back, typename), typename)
            assert decoded == doc_back['value'], f'decoded value differs:\n{decoded}\n{doc_back["value"]}'
            reencoded = bytes(ts.serialize_cdr(json_to_msg(doc_back['value'], typename), typename))
            assert reencoded == raw_back, 're-serialized bytes differ'
            if name == 'camera_info':
                check_camera_info_padding(value, raw)
            passed += 1
            print(f'ok   {name:32s} {typename:45s} {len(raw):5d} bytes')
        except Exception as exc:  # noqa: BLE001 - report and keep going
            failed += 1
            print(f'FAIL {name}: {exc!r}')
    print(f'{passed} passed, {failed} failed')
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
