#!/usr/bin/env python3
"""Generate sync-script timelines and their expected sets from the ROS 1 C++ oracle.

Usage:
    gen_sync_timelines.py ORACLE_BINARY [--out DIR] [--seed N]
    gen_sync_timelines.py --bench-only N_MESSAGES CHANNELS OUT_FILE   (long timeline, no oracle)

Writes DIR/NAME.txt (the timeline, see shared/sync-script.md) and DIR/NAME.expected (the
oracle's SET lines) for:
  * directed_*  : the ROS 2 message_filters ApproximateTime directed test cases;
  * approx_*    : seeded random multi-rate timelines for ApproximateTime;
  * exact_*     : seeded random shared-clock timelines for ExactTime.
In every timeline each channel's stamps are non-decreasing in arrival order (strictly
increasing except in the few `dup` cases), while channels interleave out of stamp order
because of per-channel latencies. Output is deterministic for a given seed.
"""
import argparse
import os
import random
import subprocess
import sys

S = 1_000_000_000
BASE = 1_700_000_000 * S  # realistic epoch stamps (ROS 1 time is unsigned 32-bit seconds)

# --------------------------------------------------------------------------------------------
# Directed cases: the ROS 2 message_filters test_approximate_time_policy.cpp scenarios.
# Each is (name, header, [(channel, seconds), ...]); stamps start at 0 as in those tests.
# --------------------------------------------------------------------------------------------
DIRECTED = [
    ("exact_match", "approx 2 10 0 0.1 0", [(0, 0), (1, 0), (0, 3), (1, 3), (0, 6), (1, 6)]),
    ("perfect_match", "approx 2 10 0 0.1 0", [(0, 0), (1, 1), (0, 3), (1, 4), (0, 6), (1, 7)]),
    ("imperfect_match", "approx 2 10 0 0.1 0",
     [(0, 0), (1, 1), (0, 2), (0, 3), (1, 5), (0, 6), (1, 7)]),
    ("acceleration", "approx 2 10 0 0.1 0",
     [(0, 0), (1, 7), (0, 12), (1, 15), (0, 17), (1, 18)]),
    ("dropped_messages_q1", "approx 2 1 0 0.1 0",
     [(0, 0), (1, 1), (1, 3), (0, 4), (1, 7), (0, 8), (0, 10), (1, 11), (0, 13), (1, 14)]),
    ("dropped_messages_q2", "approx 2 2 0 0.1 0",
     [(0, 0), (1, 1), (1, 3), (0, 4), (1, 7), (0, 8), (0, 10), (1, 11), (0, 13), (1, 14)]),
    ("long_queue", "approx 2 5 0 0.1 0",
     [(0, t) for t in range(9)] + [(1, 3)] + [(0, t) for t in range(9, 13)] + [(1, 10), (0, 13)]),
    ("double_publish", "approx 2 10 0 0.1 0", [(0, 0), (1, 1), (1, 3), (0, 3)]),
    ("four_topics", "approx 4 10 0 0.1 0",
     [(0, 0), (1, 1), (2, 2), (3, 3), (0, 5), (3, 5), (1, 6), (2, 6), (0, 8), (1, 9), (2, 10),
      (3, 11), (0, 10), (0, 13), (1, 14)]),
    ("early_publish", "approx 4 10 0 0.1 0", [(0, 0), (1, 1), (2, 2), (3, 3), (0, 7)]),
    # The script format applies the lower bound to every channel (ROS 2 sets it on channel 0
    # only); both channels' real gaps respect these bounds.
    ("rate_bound_1_5", "approx 2 10 0 0.1 1500000000",
     [(0, 0), (1, 1), (0, 3), (1, 4), (0, 6), (1, 7)]),
    ("rate_bound_2", "approx 2 10 0 0.1 2000000000",
     [(0, 0), (1, 1), (0, 3), (1, 4), (0, 6), (1, 7)]),
]


def directed_cases():
    for name, header, msgs in DIRECTED:
        yield "directed_" + name, header, [(ch, t * S) for ch, t in msgs]


# --------------------------------------------------------------------------------------------
# Random approximate-time timelines.
# --------------------------------------------------------------------------------------------
def pick_queue(rng):
    return rng.choice([1, 1, 2, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, rng.randint(1, 50)])


def approx_timeline(rng, n, target, dup=False, limit=300):
    """Multi-rate jittered streams with drops, outages and per-channel latency."""
    shared_clock = rng.random() < 0.25  # some channels stamped from one trigger (ties)
    base_period = rng.choice([10, 20, 33, 50, 100]) * S // 1000
    chans = []
    for ch in range(n):
        period = base_period * rng.choice([1, 1, 1, 2, 3]) if rng.random() < 0.7 else \
            rng.randint(10, 200) * S // 1000
        chans.append({
            "period": period,
            "phase": rng.randint(0, period),
            "jitter": rng.random() * 0.45 * period,
            "drop": rng.choice([0.0, 0.0, 0.05, 0.1, 0.3]),
            "lat": rng.randint(0, int(base_period * rng.choice([0.5, 1, 2, 3, 10]))),
            "lat_jit": rng.randint(0, int(base_period * rng.choice([0.1, 0.5, 1.5]))),
            "start": rng.choice([0, 0, 0, rng.randint(0, 10) * base_period]),
            "tied": shared_clock and rng.random() < 0.6,
        })
    # duration so that about `target` messages are produced
    rate = sum(1.0 / c["period"] * (1 - c["drop"]) for c in chans)
    duration = max(int(target / rate), 6 * max(c["period"] + c["start"] for c in chans))
    outage = None
    if rng.random() < 0.3:
        och = rng.randrange(n)
        ostart = rng.randint(0, max(1, duration))
        outage = (och, ostart, ostart + rng.randint(1, 20) * base_period)
    events = []
    for ch, c in enumerate(chans):
        t = c["start"] + (0 if c["tied"] else c["phase"])
        last_stamp = None
        last_arrival = None
        k = 0
        while t < duration:
            if c["tied"]:
                stamp = t
            else:
                stamp = t + int(rng.uniform(-c["jitter"], c["jitter"]))
            k += 1
            t += c["tied"] and base_period or c["period"]
            if rng.random() < c["drop"]:
                continue
            if outage and outage[0] == ch and outage[1] <= stamp < outage[2]:
                continue
            if last_stamp is not None and stamp <= last_stamp:
                stamp = last_stamp + 1
            if dup and last_stamp is not None and rng.random() < 0.1:
                stamp = last_stamp  # same stamp twice on one channel
            arrival = stamp + c["lat"] + rng.randint(0, c["lat_jit"])
            if last_arrival is not None and arrival <= last_arrival:
                arrival = last_arrival + 1
            last_stamp, last_arrival = stamp, arrival
            events.append((arrival, rng.random(), ch, BASE + stamp))
    events.sort()
    events = events[:limit]
    # queue size that lets a set form despite latency and rate differences
    span = max(c["lat"] + c["lat_jit"] for c in chans) + 2 * max(c["period"] for c in chans)
    needed = max(span // c["period"] + 1 for c in chans)
    return [(ch, st) for _, _, ch, st in events], shared_clock, needed


def min_gaps(msgs, n):
    last = [None] * n
    gap = [None] * n
    for ch, st in msgs:
        if last[ch] is not None:
            d = st - last[ch]
            gap[ch] = d if gap[ch] is None else min(gap[ch], d)
        last[ch] = st
    return gap


def approx_cases(rng, count):
    for i in range(count):
        n = rng.randint(2, 9)
        target = rng.randint(20, 220)
        dup = i % 37 == 5
        msgs, tied, needed = approx_timeline(rng, n, target, dup)
        if len(msgs) < 2:
            continue
        q = pick_queue(rng)
        if rng.random() < 0.65:
            q = min(50, max(q, needed))
        periods = sorted(set(abs(b[1] - a[1]) for a, b in zip(msgs, msgs[1:])))
        med = periods[len(periods) // 2] if periods else S
        maxi = 0 if rng.random() < 0.5 else max(1, int(med * rng.choice([0.2, 0.5, 1, 2, 4, 10])))
        if tied and rng.random() < 0.3:
            maxi = rng.choice([1, 1000])  # near-exact matching only
        age = rng.choice([0.0, 0.1, 0.1, 0.5, 1.0, 2.5, round(rng.uniform(0, 3), 3)])
        lb = 0
        r = rng.random()
        gaps = [g for g in min_gaps(msgs, n) if g is not None]
        if r < 0.4 and gaps:
            lb = max(0, int(min(gaps) * rng.choice([1.0, 0.9, 0.5])))  # correct bound
        elif r < 0.5 and gaps:
            lb = int(max(gaps) * 1.5) + 1  # incorrect bound (data violates it)
        tag = "dup_" if dup else ""
        name = "approx_%s%04d_n%d_q%d" % (tag, i, n, q)
        yield name, "approx %d %d %d %r %d" % (n, q, maxi, age, lb), msgs


# --------------------------------------------------------------------------------------------
# Random exact-time timelines: shared ticks, per-channel drops, decimation, extra stamps.
# --------------------------------------------------------------------------------------------
def exact_cases(rng, count):
    for i in range(count):
        n = rng.randint(2, 9)
        q = pick_queue(rng)
        target = rng.randint(20, 300)
        tick = rng.choice([10, 20, 33, 50]) * S // 1000
        big_queue = rng.random() < 0.6
        chans = [{
            "drop": rng.choice([0.0, 0.0, 0.0, 0.05, 0.2, 0.5]),
            "every": rng.choice([1, 1, 1, 2, 3]),
            "extra": rng.choice([0.0, 0.0, 0.1, 0.3]),
            "lat": rng.randint(0, tick * rng.choice([1, 2, 4, 10])),
            "lat_jit": rng.randint(0, tick * rng.choice([1, 2, 3])),
        } for _ in range(n)]
        if big_queue:
            q = min(50, max(q, max(c["lat"] + c["lat_jit"] for c in chans) // tick + 2))
        dup = i % 29 == 3
        ticks = max(2, target // n)
        events = []
        for ch, c in enumerate(chans):
            last_arrival = None
            last_stamp = None
            for k in range(ticks):
                stamps = []
                if k % c["every"] == 0 and rng.random() >= c["drop"]:
                    stamps.append(k * tick)
                if rng.random() < c["extra"]:
                    stamps.append(k * tick + rng.randint(1, tick - 1))  # unmatched stamp
                if dup and stamps and rng.random() < 0.1:
                    stamps.insert(0, stamps[0])
                for st in stamps:
                    if last_stamp is not None and st < last_stamp:
                        continue
                    arrival = st + c["lat"] + rng.randint(0, c["lat_jit"])
                    if last_arrival is not None and arrival <= last_arrival:
                        arrival = last_arrival + 1
                    last_arrival, last_stamp = arrival, st
                    events.append((arrival, rng.random(), ch, BASE + st))
        events.sort()
        msgs = [(ch, st) for _, _, ch, st in events]
        tag = "dup_" if dup else ""
        yield "exact_%s%04d_n%d_q%d" % (tag, i, n, q), "exact %d %d" % (n, q), msgs


def exact_out_of_order_cases(rng, count):
    """ExactTime timelines whose channels deliver stamps out of order (arrival jitter up to
    several periods, always well under the 1 s reset threshold)."""
    for i in range(count):
        n = rng.randint(2, 6)
        q = rng.choice([3, 5, 10, 20, 50])
        tick = rng.choice([10, 20, 33, 50]) * S // 1000
        chans = [{
            "drop": rng.choice([0.0, 0.0, 0.1, 0.3]),
            "lat": rng.randint(0, tick * 2),
            "jit": rng.randint(tick, tick * rng.choice([2, 3, 5])),
        } for _ in range(n)]
        events = []
        for ch, c in enumerate(chans):
            for k in range(rng.randint(10, 80)):
                if rng.random() < c["drop"]:
                    continue
                st = k * tick
                events.append((st + c["lat"] + rng.randint(0, c["jit"]), rng.random(), ch, BASE + st))
        events.sort()
        msgs = [(ch, st) for _, _, ch, st in events]
        yield "exact_ooo_%04d_n%d_q%d" % (i, n, q), "exact %d %d" % (n, q), msgs


def sets_go_back(text, expected):
    """Whether the oracle emitted a set older than an earlier one. ROS's ExactTime does that
    when every message of an old stamp arrives after a newer set; rosync drops such messages
    (`superseded`) so that sets stay in stamp order, a documented difference."""
    stamps = [int(line.split()[1]) for line in text.splitlines()[1:]]
    last = None
    for line in expected.splitlines():
        ids = [int(x) for x in line.split()[1:]]
        stamp = stamps[ids[0]]
        if last is not None and stamp <= last:
            return True
        last = stamp
    return False


# --------------------------------------------------------------------------------------------
def script_text(header, msgs):
    return header + "\n" + "".join("%d %d\n" % m for m in msgs)


def run_oracle(oracle, text):
    res = subprocess.run([oracle], input=text.encode(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=120)
    if res.returncode != 0:
        return None
    return res.stdout.decode()


def bench_timeline(n_msgs, n, seed=7):
    rng = random.Random(seed)
    msgs = []
    while len(msgs) < n_msgs:
        msgs, _, _ = approx_timeline(rng, n, n_msgs * 1.05, limit=n_msgs)
    return "approx %d 10 0 0.1 0\n" % n + "".join("%d %d\n" % m for m in msgs[:n_msgs])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("oracle", nargs="?")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "sync_golden", "cases"))
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--approx", type=int, default=260)
    ap.add_argument("--exact", type=int, default=90)
    ap.add_argument("--exact-ooo", type=int, default=60)
    ap.add_argument("--bench-only", nargs=3, metavar=("N_MESSAGES", "CHANNELS", "OUT_FILE"))
    args = ap.parse_args()
    if args.bench_only:
        n_msgs, n, path = int(args.bench_only[0]), int(args.bench_only[1]), args.bench_only[2]
        with open(path, "w") as f:
            f.write(bench_timeline(n_msgs, n))
        return 0
    if not args.oracle:
        ap.error("ORACLE_BINARY is required")
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    cases = list(directed_cases())
    cases += list(approx_cases(random.Random(rng.randrange(1 << 30)), args.approx))
    cases += list(exact_cases(random.Random(rng.randrange(1 << 30)), args.exact))
    cases += list(exact_out_of_order_cases(random.Random(rng.randrange(1 << 30)), args.exact_ooo))
    written = skipped = 0
    for name, header, msgs in cases:
        text = script_text(header, msgs)
        expected = run_oracle(args.oracle, text)
        if expected is None:
            print("oracle failed on %s; skipped" % name, file=sys.stderr)
            skipped += 1
            continue
        if header.startswith("exact") and sets_go_back(text, expected):
            print("%s: ROS emits a set older than an earlier one; skipped (documented "
                  "difference)" % name, file=sys.stderr)
            skipped += 1
            continue
        with open(os.path.join(args.out, name + ".txt"), "w") as f:
            f.write(text)
        with open(os.path.join(args.out, name + ".expected"), "w") as f:
            f.write(expected)
        written += 1
    print("wrote %d cases (%d skipped) to %s" % (written, skipped, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
