#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (fast and slow tiers).
# `scripts/test.sh fast` runs only the fast tier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
export LOWBIT_SHARED=${LOWBIT_SHARED:-$(cd .. && pwd)/shared}
# SmolLM2-135M for the SlowSmolLM2 tests (cached outside the repo; they skip if this fails, e.g. offline).
if [ "${1:-}" != fast ]; then
    bash scripts/fetch_smollm2.sh >/dev/null || echo "test.sh: SmolLM2 not fetched; SlowSmolLM2 tests will skip" >&2
fi
label=()
[ "${1:-}" = fast ] && label=(-L fast)
ctest --test-dir "${LOWBIT_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "${label[@]}"
