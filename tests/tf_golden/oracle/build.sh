#!/usr/bin/env bash
# Builds tf_oracle: ROS tf2's BufferCore (Debian libtf2-dev) driven by a timeline.
# usage: tests/tf_golden/oracle/build.sh [OUTPUT_BINARY]   (default: ./tf_oracle beside this file)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/tf_oracle}
if ! dpkg -s libtf2-dev >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtf2-dev g++ >/dev/null
fi
g++ -std=c++17 -O2 -o "$out" "$here/tf_oracle.cpp" -ltf2 -lconsole_bridge -lrostime -lcpp_common
echo "built $out"
