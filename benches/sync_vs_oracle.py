#!/usr/bin/env python3
"""Synchronizer throughput: rosync vs ROS 1 message_filters (C++), on the same timelines.

Builds the oracle (../shared/oracle) and rosync (release), generates long jittered
multi-rate timelines with 2, 4 and 9 channels for ApproximateTime and ExactTime, runs
`mf_oracle --bench` and `rosync sync simulate --bench` on each (best of several runs; both
time only the policy's add calls) and prints a table of messages/s and the ratio.

Then the ExactTime corners, where pending stamps pile up to the queue size: one channel
silent for the first half of the run, and one channel lagging the others by half the
queue, with queues of 1,000 to 100,000 (2 and 9 channels).

    python3 benches/sync_vs_oracle.py [--messages 200000] [--runs 5] [--corners-only]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The oracle's sources: ../shared beside the repository, or $ROSYNC_SHARED (e.g. from a worktree).
SHARED = os.environ.get("ROSYNC_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
MS = 1_000_000
BASE = 1_700_000_000 * 1_000_000_000


def approx_timeline(rng, channels, n_msgs, queue):
    """Jittered streams at different rates with per-channel latency, 5% drops."""
    periods = [rng.choice([10, 20, 33, 50]) * MS for _ in range(channels)]
    events = []
    for ch, period in enumerate(periods):
        latency = rng.randint(0, 30) * MS
        t, last_arrival = rng.randint(0, period), 0
        count = int(n_msgs * (1 / period) / sum(1 / p for p in periods)) + 1
        for _ in range(count):
            stamp = t + int(rng.uniform(-0.3, 0.3) * period)
            t += period
            if rng.random() < 0.05:
                continue
            arrival = max(stamp + latency + rng.randint(0, 5 * MS), last_arrival + 1)
            last_arrival = arrival
            events.append((arrival, ch, stamp))
    events.sort()
    fix = {}
    lines = [f"approx {channels} {queue} 0 0.1 0"]
    for _, ch, stamp in events[:n_msgs]:
        stamp = max(stamp, fix.get(ch, -1) + 1)  # each channel's stamps increase
        fix[ch] = stamp
        lines.append(f"{ch} {BASE + stamp}")
    return "\n".join(lines) + "\n"


def exact_timeline(rng, channels, n_msgs, queue):
    """Shared 10 ms ticks, 5% drops per channel, per-channel latency jitter."""
    events = []
    ticks = n_msgs // channels + 1
    for ch in range(channels):
        latency, last_arrival = rng.randint(0, 20) * MS, 0
        for k in range(ticks):
            if rng.random() < 0.05:
                continue
            stamp = k * 10 * MS
            arrival = max(stamp + latency + rng.randint(0, 5 * MS), last_arrival + 1)
            last_arrival = arrival
            events.append((arrival, ch, stamp))
    events.sort()
    lines = [f"exact {channels} {queue}"]
    lines += [f"{ch} {BASE + stamp}" for _, ch, stamp in events[:n_msgs]]
    return "\n".join(lines) + "\n"


def exact_corner_timeline(rng, channels, n_msgs, queue, corner):
    """Shared 10 ms ticks, 2% drops; the last channel is `silent` for the first half of the
    ticks, or `lagging`: it delivers each stamp half a queue of ticks after the others."""
    ticks = n_msgs // channels + 1
    lag_ticks = max(1, queue // 2)
    events = []
    for ch in range(channels):
        special = ch == channels - 1
        for k in range(ticks):
            if rng.random() < 0.02:
                continue
            if special and corner == "silent" and k < ticks // 2:
                continue
            stamp = k * 10 * MS
            arrival = stamp + rng.randint(0, 3 * MS)
            if special and corner == "lagging":
                arrival += lag_ticks * 10 * MS
            events.append((arrival, ch, stamp))
    events.sort()
    lines = [f"exact {channels} {queue}"]
    lines += [f"{ch} {BASE + stamp}" for _, ch, stamp in events[:n_msgs]]
    return "\n".join(lines) + "\n"


def compare(label, path, oracle, rosync, runs):
    ros = bench([oracle, "--bench"], path, runs)
    ours = bench(rosync, path, runs)
    if ros[0] != ours[0]:
        sys.exit(f"{label}: set counts differ (ROS {ros[0]}, rosync {ours[0]})")
    ros_rate = ros[1] / ros[2] * 1e9
    our_rate = ours[1] / ours[2] * 1e9
    print(f"{label} {ours[0]:>8} {ros_rate:>14,.0f} {our_rate:>14,.0f} {our_rate / ros_rate:>6.1f}x")


def bench(cmd, path, runs):
    best = None
    for _ in range(runs):
        with open(path, "rb") as f:
            out = subprocess.run(cmd, stdin=f, capture_output=True, check=True).stdout.decode()
        fields = out.split()
        sets, messages, ns = int(fields[1]), int(fields[3]), int(fields[5])
        if best is None or ns < best[2]:
            best = (sets, messages, ns)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queue", type=int, default=10)
    ap.add_argument("--rosync", help="a built rosync binary (default: cargo build --release)")
    ap.add_argument("--corners-only", action="store_true",
                    help="run only the ExactTime corners (silent / lagging channel)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="rosync-sync-bench-")
    oracle = os.path.join(tmp, "mf_oracle")
    subprocess.run(["bash", os.path.join(SHARED, "oracle", "build.sh"), oracle], check=True,
                   stdout=subprocess.DEVNULL)
    binary = args.rosync
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "rosync"], cwd=REPO,
                       check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        binary = os.path.join(target, "release", "rosync")
    rosync = [binary, "sync", "simulate", "--bench"]

    rng = random.Random(2026)
    if not args.corners_only:
        print(f"{args.messages} messages per timeline, queue {args.queue}, best of {args.runs} runs")
        print(f"{'policy':<8} {'channels':>8} {'sets':>8} {'ROS C++ msg/s':>14} "
              f"{'rosync msg/s':>14} {'ratio':>7}")
        for policy, make in (("approx", approx_timeline), ("exact", exact_timeline)):
            for channels in (2, 4, 9):
                path = os.path.join(tmp, f"{policy}_{channels}.txt")
                with open(path, "w") as f:
                    f.write(make(rng, channels, args.messages, args.queue))
                compare(f"{policy:<8} {channels:>8}", path, oracle, rosync, args.runs)

    rng = random.Random(13)
    print(f"\nExactTime corners, {args.messages} messages per timeline, best of {args.runs} runs")
    print(f"{'corner':<8} {'channels':>8} {'queue':>7} {'sets':>8} {'ROS C++ msg/s':>14} "
          f"{'rosync msg/s':>14} {'ratio':>7}")
    for corner in ("silent", "lagging"):
        for channels in (2, 9):
            for queue in (1_000, 10_000, 100_000):
                path = os.path.join(tmp, f"exact_{corner}_{channels}_{queue}.txt")
                with open(path, "w") as f:
                    f.write(exact_corner_timeline(rng, channels, args.messages, queue, corner))
                compare(f"{corner:<8} {channels:>8} {queue:>7}", path, oracle, rosync, args.runs)


if __name__ == "__main__":
    main()
