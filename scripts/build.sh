#!/usr/bin/env bash
# Configures and builds lowbit (Release) into ${LOWBIT_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${LOWBIT_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
