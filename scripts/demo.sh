#!/usr/bin/env bash
# The main job on a default that works out of the box: install dependencies, build, quantize the
# shared stories260K model (a real trained LLaMA) to Q4_K_M and Q8_0 (llama.cpp-loadable files),
# and evaluate each against the full-precision model on 200 TinyStories: perplexity, KL-divergence,
# top-1 agreement and speed, under a quality gate that fails the script when violated.
# Override: MODEL=..., TEXT=..., TYPES="q4_k_m q8_0", QUANT_ARGS="--fallback lowbit", GATE=..., OUT=dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
shared=${LOWBIT_SHARED:-$(cd .. && pwd)/shared}
model=${MODEL:-$shared/models/stories260K/stories260K-f32.gguf}
text=${TEXT:-$shared/data/tinystories_valid_first200.txt}
out=${OUT:-build/demo}
types=${TYPES:-q4_k_m q8_0}
gate=${GATE:-kld<=0.1,top1>=0.85}
lowbit=${LOWBIT_BUILD_DIR:-build}/lowbit
[ -f "$model" ] || { echo "demo: model $model not found (set LOWBIT_SHARED or MODEL)" >&2; exit 1; }
mkdir -p "$out"
for t in $types; do
  echo "== quantize $(basename "$model") -> $t"
  # shellcheck disable=SC2086
  "$lowbit" quantize "$model" "$out/model-$t.gguf" --type "$t" ${QUANT_ARGS:-}
  echo "== evaluate $t against the full-precision model (gate: $gate)"
  "$lowbit" eval "$out/model-$t.gguf" "$text" -c 256 --reference "$model" --gate "$gate"
done
echo "demo: quantized models in $out"
