#!/usr/bin/env bash
# Installs what the tests need besides Rust: Debian's chromium (the HTML report test,
# tests/sync_inspect.rs) and libtf2-dev with g++ (the tf2 oracle, tests/tf_golden.rs) where
# they are missing, and the independent Python reference implementations (rosbags, mcap,
# eclipse-zenoh). The README's test command and .ci/run call it.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1; then
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    dpkg -s libtf2-dev >/dev/null 2>&1 || missing+=(libtf2-dev)
    command -v g++ >/dev/null 2>&1 || missing+=(g++)
    if [ ${#missing[@]} -gt 0 ]; then
        sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        echo "installing Debian packages: ${missing[*]}"
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
else
    echo "warning: no apt-get: install chromium and libtf2-dev yourself; without libtf2-dev," \
        "tests/tf_golden.rs compares with the committed tf2 outcomes only" >&2
fi

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/python/requirements.txt
