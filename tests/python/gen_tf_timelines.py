#!/usr/bin/env python3
"""Generate tf timelines (tests/tf_golden/README.md) and, with --oracle, tf2's outcomes.

Usage:
    gen_tf_timelines.py --out DIR [--seed N] [--count N] [--oracle TF_ORACLE]
    gen_tf_timelines.py --bench FRAMES LOOKUPS OUT_FILE [--seed N]   (one long timeline)

Writes DIR/NAME.timeline and, with --oracle, DIR/NAME.expected (the oracle's outcome lines).
Scenarios, each seeded from --seed and its index, so output is deterministic:
  chain_*       chains of 2..20 frames, static and dynamic links at different rates
  tree_*        random trees (lookups through a common parent), static/dynamic mixes
  reparent_*    frames that change parent over time (an object handed between grippers)
  forest_*      two or three unconnected trees (connectivity errors) and lookups within each
  fixed_*       lookup_full through a fixed frame at two different times
  clear_*       data, clear (time jumped back), new data from an earlier time
  edge_*        unknown, empty and '/'-prefixed frames, self transforms, NaN, denormalized
                quaternions (inside and outside tf2's 0.01 tolerance), old and repeated
                stamps, parent loops, constant rotations, tiny and short cache times
Lookups are asked between samples, exactly at them, one nanosecond around them, before the
first and after the last sample, at time 0, and between random pairs of frames.
"""
import argparse
import math
import os
import random
import subprocess
import sys

S = 1_000_000_000
BASE = 1_700_000_000 * S  # epoch stamps (ROS 1 time is unsigned 32-bit seconds)
MS = 1_000_000


def unit_quat(rng):
    while True:
        q = [rng.gauss(0, 1) for _ in range(4)]
        n = math.sqrt(sum(v * v for v in q))
        if n > 1e-3:
            return [v / n for v in q]


def small_turn(rng, q, angle):
    """q rotated by a small random angle (so successive samples are near each other)."""
    axis = unit_quat(rng)[:3]
    n = math.sqrt(sum(v * v for v in axis)) or 1.0
    h = angle / 2
    d = [math.sin(h) * v / n for v in axis] + [math.cos(h)]
    x1, y1, z1, w1 = d
    x2, y2, z2, w2 = q
    r = [w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
         w1 * y2 + y1 * w2 + z1 * x2 - x1 * z2,
         w1 * z2 + z1 * w2 + x1 * y2 - y1 * x2,
         w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2]
    if rng.random() < 0.1:
        r = [-v for v in r]  # the same rotation with the other sign
    return r


def num(v):
    """Nine decimals: short lines, and the same double for every reader."""
    v = float(v)
    return repr(round(v, 9)) if math.isfinite(v) else repr(v)


class Timeline:
    def __init__(self, cache_time=None):
        self.lines = []
        if cache_time is not None:
            self.lines.append(f"cache_time {cache_time}")
        self.stamps = {}  # child -> list of stored stamps (approximate: what we sent)

    def set(self, stamp, parent, child, xyz, q, static=False):
        vals = " ".join(num(v) for v in list(xyz) + list(q))
        self.lines.append(f"set {stamp} {parent} {child} {vals} {'static' if static else 'dynamic'}")
        self.stamps.setdefault(child, []).append(stamp)

    def lookup(self, target, source, t):
        self.lines.append(f"lookup {target} {source} {t}")

    def lookup_full(self, target, tt, source, st, fixed):
        self.lines.append(f"lookup_full {target} {tt} {source} {st} {fixed}")

    def can(self, target, source, t):
        self.lines.append(f"can {target} {source} {t}")

    def clear(self):
        self.lines.append("clear")

    def text(self):
        return "\n".join(self.lines) + "\n"


def query_time(rng, tl, frames):
    """A time around the data of some frames: between, at, next to, before, after, or 0."""
    stamps = sorted(s for f in frames for s in tl.stamps.get(f, []))
    r = rng.random()
    if not stamps or r < 0.1:
        return 0
    lo, hi = stamps[0], stamps[-1]
    if r < 0.45:
        return rng.randint(lo, hi)
    if r < 0.6:
        return rng.choice(stamps)
    if r < 0.7:
        return max(1, rng.choice(stamps) + rng.choice([-1, 1]))
    if r < 0.8:
        return max(1, lo - rng.randint(1, 2 * S))
    if r < 0.9:
        return hi + rng.randint(1, 2 * S)
    return rng.randint(max(1, hi - 200 * MS), hi)


def ask(rng, tl, frames, n):
    for _ in range(n):
        a, b = rng.choice(frames), rng.choice(frames)
        t = query_time(rng, tl, [a, b])
        r = rng.random()
        if r < 0.8:
            tl.lookup(a, b, t)
        else:
            tl.can(a, b, t)


class Link:
    """A child frame's link to its parent: static, or moving at a rate with jitter."""

    def __init__(self, rng, parent, child, static, period):
        self.parent, self.child, self.static, self.period = parent, child, static, period
        self.xyz = [rng.uniform(-5, 5) for _ in range(3)]
        self.q = unit_quat(rng)
        self.speed = [rng.uniform(-1, 1) for _ in range(3)]
        self.turn = rng.uniform(0.0, 0.3)
        self.constant_rotation = rng.random() < 0.2

    def sample(self, rng, tl, stamp):
        if self.static:
            tl.set(stamp, self.parent, self.child, self.xyz, self.q, True)
            return
        dt = self.period / S
        self.xyz = [x + v * dt + rng.uniform(-0.01, 0.01) for x, v in zip(self.xyz, self.speed)]
        if not self.constant_rotation:
            self.q = small_turn(rng, self.q, self.turn * dt * rng.uniform(0.5, 1.5))
        tl.set(stamp, self.parent, self.child, self.xyz, self.q)


def run_links(rng, tl, links, start, duration, frames, queries_per_step, jitter=True):
    """Sends each link's samples in stamp order (statics once), asking lookups as data arrives."""
    events = []
    for k, link in enumerate(links):
        if link.static:
            events.append((start + rng.randint(0, 50 * MS), k))
            continue
        t = start + rng.randint(0, link.period)
        while t < start + duration:
            events.append((t, k))
            t += link.period + (rng.randint(-link.period // 5, link.period // 5) if jitter else 0)
    events.sort()
    for i, (t, k) in enumerate(events):
        links[k].sample(rng, tl, t)
        if rng.random() < 0.3:
            ask(rng, tl, frames, queries_per_step)
    ask(rng, tl, frames, 10)


def periods(rng):
    return rng.choice([20, 33, 50, 100, 250, 500]) * MS


def chain_case(rng):
    n = rng.randint(2, 20)
    frames = [f"f{i}" for i in range(n)]
    static_share = rng.choice([0.0, 0.3, 0.7, 1.0])
    links = [Link(rng, frames[i], frames[i + 1], rng.random() < static_share, periods(rng))
             for i in range(n - 1)]
    tl = Timeline()
    start = rng.choice([BASE, S, 5 * S])
    run_links(rng, tl, links, start, S, frames + ["unknown"], 3)
    return tl


def tree_case(rng):
    n = rng.randint(3, 20)
    frames = ["root"] + [f"t{i}" for i in range(1, n)]
    links = []
    for i in range(1, n):
        parent = frames[rng.randrange(0, i)]
        links.append(Link(rng, parent, frames[i], rng.random() < 0.4, periods(rng)))
    tl = Timeline()
    run_links(rng, tl, links, BASE, S, frames, 3)
    return tl


def reparent_case(rng):
    """An object moves between parents: table -> gripper -> shelf, switching at times."""
    tl = Timeline()
    frames = ["world", "table", "arm", "gripper", "shelf", "object", "camera"]
    links = [Link(rng, "world", "table", True, 0), Link(rng, "world", "arm", False, periods(rng)),
             Link(rng, "arm", "gripper", False, periods(rng)), Link(rng, "world", "shelf", True, 0),
             Link(rng, "gripper", "camera", rng.random() < 0.5, periods(rng))]
    parents = ["table", "gripper", "shelf", "table"]
    t = BASE
    run_links(rng, tl, links, t, S, frames, 1)
    period = periods(rng)
    obj = Link(rng, "table", "object", False, period)
    for k in range(rng.randint(20, 60)):
        if k % rng.randint(5, 15) == 0:
            obj.parent = rng.choice(parents)
        obj.sample(rng, tl, t + k * period)
        for link in links:
            if not link.static and rng.random() < 0.5:
                link.sample(rng, tl, t + S + k * period + rng.randint(0, period))
        if rng.random() < 0.5:
            ask(rng, tl, frames, 3)
    ask(rng, tl, frames, 20)
    return tl


def forest_case(rng):
    tl = Timeline()
    frames, links = [], []
    for tree in range(rng.randint(2, 3)):
        names = [f"r{tree}"] + [f"r{tree}_{i}" for i in range(1, rng.randint(2, 6))]
        for i in range(1, len(names)):
            links.append(Link(rng, names[rng.randrange(0, i)], names[i], rng.random() < 0.4,
                              periods(rng)))
        frames += names
    run_links(rng, tl, links, BASE, 2 * S, frames, 3)
    return tl


def fixed_case(rng):
    tl = Timeline()
    frames = ["map", "odom", "base", "camera", "laser", "wheel"]
    links = [Link(rng, "map", "odom", rng.random() < 0.3, 100 * MS),
             Link(rng, "odom", "base", False, 20 * MS),
             Link(rng, "base", "camera", True, 0), Link(rng, "base", "laser", rng.random() < 0.5, 50 * MS),
             Link(rng, "base", "wheel", False, 10 * MS)]
    run_links(rng, tl, links, BASE, 2 * S, frames, 1)
    for _ in range(40):
        a, b, fx = rng.choice(frames), rng.choice(frames), rng.choice(frames + ["nowhere"])
        tl.lookup_full(a, query_time(rng, tl, [a, fx]), b, query_time(rng, tl, [b, fx]), fx)
    return tl


def clear_case(rng):
    tl = Timeline(cache_time=rng.choice([None, 2 * S]))
    frames = ["map", "odom", "base", "sensor"]
    links = [Link(rng, "map", "odom", True, 100 * MS), Link(rng, "odom", "base", False, 50 * MS),
             Link(rng, "base", "sensor", rng.random() < 0.5, 30 * MS)]
    run_links(rng, tl, links, BASE + 10 * S, 2 * S, frames, 2)
    tl.clear()
    ask(rng, tl, frames, 6)
    for link in links:
        link.static = link.static and rng.random() < 0.5
    run_links(rng, tl, links, BASE, 2 * S, frames, 2)  # the log looped: earlier stamps
    return tl


def edge_case(rng, k):
    tl = Timeline(cache_time=rng.choice([None, 1 * S, 300 * MS, 1]))
    a = ["a", "b", "c", "d"]
    t = BASE
    q = unit_quat(rng)
    tl.set(t, "a", "b", [1, 2, 3], q)
    tl.set(t + 100 * MS, "a", "b", [1.5, 2, 3], q)  # the same rotation twice
    tl.set(t, "b", "c", [0, 0, 1], unit_quat(rng), rng.random() < 0.5)
    tl.set(t, "/c", "/d", [0, 1, 0], unit_quat(rng))  # leading slashes are stripped
    bad = [
        lambda: tl.set(t + 5 * MS, "a", "a", [0, 0, 0], q),  # self transform
        lambda: tl.set(t + 5 * MS, "a", '""', [0, 0, 0], q),  # no child
        lambda: tl.set(t + 5 * MS, '""', "e", [0, 0, 0], q),  # no parent
        lambda: tl.set(t + 5 * MS, "a", "e", [float("nan"), 0, 0], q),
        lambda: tl.set(t + 5 * MS, "a", "e", [0, 0, 0], [0, 0, 0, 1.004]),  # inside tolerance
        lambda: tl.set(t + 5 * MS, "a", "e", [0, 0, 0], [0, 0, 0, 1.01]),  # outside
        lambda: tl.set(t + 5 * MS, "a", "f", [0, 0, 0], [v * 0.998 for v in q]),
        lambda: tl.set(t, "a", "b", [9, 9, 9], q),  # repeated stamp
        lambda: tl.set(t - 20 * S, "a", "b", [9, 9, 9], q),  # older than the cache
        lambda: tl.set(t + 50 * MS, "a", "b", [1.2, 2, 3], q),  # between stored samples
        lambda: tl.set(t + 7 * MS, "d", "a", [0, 0, 0], q),  # a loop a -> b -> c -> d -> a
        lambda: tl.set(t + 3 * S, "a", "b", [2, 2, 3], q),  # pushes old samples out
        lambda: tl.set(t + 5 * MS, "c", "b", [0, 0, 0], q),  # b re-parented
        lambda: tl.set(0, "z", "y", [0, 0, 0], q),  # stamp 0
        lambda: tl.set(t, "d", "e", [0, 0, 0], q, True),
        lambda: tl.set(t + 9 * MS, "d", "e", [1, 0, 0], q, False),  # static, then dynamic
    ]
    for f in rng.sample(bad, rng.randint(3, len(bad))):
        f()
        names = a + ["e", "f", "y", "z", "/a", '""', "NO_PARENT", "missing"]
        for _ in range(4):
            x, y = rng.choice(names), rng.choice(names)
            tq = rng.choice([0, t, t + 1, t + 50 * MS, t + 100 * MS, t + 5 * MS, t - 1, t + 4 * S, 1])
            r = rng.random()
            if r < 0.6:
                tl.lookup(x, y, tq)
            elif r < 0.8:
                tl.can(x, y, tq)
            else:
                tl.lookup_full(x, tq, y, rng.choice([0, t, t + 50 * MS]), rng.choice(names))
    return tl


SCENARIOS = [("chain", chain_case, 30), ("tree", tree_case, 20), ("reparent", reparent_case, 10),
             ("forest", forest_case, 10), ("fixed", fixed_case, 10), ("clear", clear_case, 10),
             ("edge", lambda rng: edge_case(rng, 0), 20)]


def generate(out, seed, count_scale, oracle):
    os.makedirs(out, exist_ok=True)
    written = 0
    for name, make, count in SCENARIOS:
        for i in range(max(1, int(count * count_scale))):
            rng = random.Random(f"{seed}-{name}-{i}")
            text = make(rng).text()
            path = os.path.join(out, f"{name}_{i:02d}")
            with open(path + ".timeline", "w") as f:
                f.write(text)
            if oracle:
                res = subprocess.run([oracle], input=text.encode(), capture_output=True, check=True)
                with open(path + ".expected", "wb") as f:
                    f.write(res.stdout)
            written += 1
    return written


def bench_timeline(seed, n_frames, n_lookups):
    """A robot-like tree (map, odom, base, n_frames links, mixed rates), 10 s of data, then
    lookups between random frame pairs at times inside the data (and some at time 0)."""
    rng = random.Random(seed)
    tl = Timeline()
    frames = ["map", "odom", "base"] + [f"link{i}" for i in range(n_frames)]
    links = [Link(rng, "map", "odom", False, 100 * MS), Link(rng, "odom", "base", False, 20 * MS)]
    for i in range(n_frames):
        parent = rng.choice(frames[2:3 + i])
        links.append(Link(rng, parent, frames[3 + i], rng.random() < 0.4, rng.choice([10, 20, 50]) * MS))
    events = []
    for k, link in enumerate(links):
        t = BASE
        while t < BASE + 10 * S:
            events.append((t, k))
            if link.static:
                break
            t += link.period
    for t, k in sorted(events):
        links[k].sample(rng, tl, t)
    lo, hi = BASE + S, BASE + 9 * S
    for _ in range(n_lookups):
        a, b = rng.choice(frames), rng.choice(frames)
        tl.lookup(a, b, 0 if rng.random() < 0.05 else rng.randint(lo, hi))
    return tl.text()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out")
    p.add_argument("--seed", default="1")
    p.add_argument("--count", type=float, default=1.0, help="scale the number of cases")
    p.add_argument("--oracle", help="tf_oracle binary: also write NAME.expected")
    p.add_argument("--bench", nargs=3, metavar=("FRAMES", "LOOKUPS", "OUT_FILE"))
    a = p.parse_args()
    if a.bench:
        with open(a.bench[2], "w") as f:
            f.write(bench_timeline(a.seed, int(a.bench[0]), int(a.bench[1])))
        return
    if not a.out:
        p.error("--out is required")
    n = generate(a.out, a.seed, a.count, a.oracle)
    print(f"wrote {n} timelines to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
