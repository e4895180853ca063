#!/usr/bin/env python3
"""tf lookup speed: rosync's Buffer vs ROS tf2's BufferCore (C++), on the same timelines.

Builds the oracle (tests/tf_golden/oracle/build.sh) and the `tf_lookup` bench (release),
generates robot-like trees (map -> odom -> base -> N links, static and 10..100 Hz dynamic
links, 10 s of history) followed by random lookups between frame pairs at times inside the
data (5 % at time 0), runs `tf_oracle --bench` and `cargo bench --bench tf_lookup` on each
(best of several runs; both time only the lookups) and prints lookups/s and the ratio.

    python3 benches/tf_vs_oracle.py [--lookups 200000] [--runs 5]
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "python"))
import gen_tf_timelines  # noqa: E402


def parse(out):
    f = out.split()
    return int(f[1]), int(f[3]), int(f[5])  # queries, ok, elapsed_ns


def bench(cmd, path, runs, cwd=None):
    best = None
    for _ in range(runs):
        with open(path, "rb") as f:
            res = subprocess.run(cmd, stdin=f, capture_output=True, check=True, cwd=cwd)
        got = parse(res.stdout.decode().strip().splitlines()[-1])
        if best is None or got[2] < best[2]:
            best = got
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lookups", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="rosync-tf-bench-")
    oracle = os.path.join(tmp, "tf_oracle")
    subprocess.run(["bash", os.path.join(REPO, "tests", "tf_golden", "oracle", "build.sh"), oracle],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cargo", "bench", "--quiet", "--bench", "tf_lookup", "--no-run"], cwd=REPO,
                   check=True)

    print(f"{args.lookups} lookups per timeline, best of {args.runs} runs")
    print(f"{'frames':>6} {'ok':>8} {'tf2 C++ lookups/s':>18} {'rosync lookups/s':>17} {'ratio':>7}")
    for links in (5, 30, 100):
        path = os.path.join(tmp, f"tree_{links}.timeline")
        with open(path, "w") as f:
            f.write(gen_tf_timelines.bench_timeline("2026", links, args.lookups))
        ros = bench([oracle, "--bench"], path, args.runs)
        ours = bench(["cargo", "bench", "--quiet", "--bench", "tf_lookup", "--", path], path,
                     args.runs, cwd=REPO)
        if ros[:2] != ours[:2]:
            sys.exit(f"{links} links: outcomes differ (tf2 {ros[:2]}, rosync {ours[:2]})")
        ros_rate = ros[0] / ros[2] * 1e9
        our_rate = ours[0] / ours[2] * 1e9
        print(f"{links + 3:>6} {ours[1]:>8} {ros_rate:>18,.0f} {our_rate:>17,.0f} "
              f"{our_rate / ros_rate:>6.1f}x")


if __name__ == "__main__":
    main()
