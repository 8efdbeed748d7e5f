#!/bin/bash
# Regenerates the W8A8 table of docs/results.md ("Activation quantization (W8A8)").
# usage: scripts/results_act_quant.sh LOWBIT_BINARY [OUT_DIR]
# Weights: int8_pc (symmetric int8, one fp16 scale per row) for every matrix (--pure).
# Calibration (static scales, SmoothQuant, guard): 16 x 256 tokens from stories 201-1000 of
# tinystories_valid_first1000.txt (disjoint from the evaluation text).
# Evaluation: tinystories_valid_first200.txt, -c 256, KLD / top-1 vs the F32 model.
set -euo pipefail
L=${1:?lowbit binary}; O=${2:-/tmp/lowbit-act-quant}
S=${LOWBIT_SHARED:-$(dirname "$0")/../../shared}
T=$S/data/tinystories_valid_first200.txt
mkdir -p "$O"
C=$O/calib_stories_201_1000.txt
tail -c +158197 "$S/data/tinystories_valid_first1000.txt" > "$C"
echo "| model | activations | observer | SmoothQuant | guard (fell back) | KLD | PPL (F32) | top-1 % |"
echo "|---|---|---|---|---|---|---|---|"
row() {  # MODEL NAME TAG MODE OBSERVER ALPHA BOUND [eval args]
  local M=$1 NAME=$2 TAG=$3 MODE=$4 OBS=$5 ALPHA=$6 BOUND=$7; shift 7
  local out=$O/$NAME-$TAG.gguf args=(--type int8_pc --pure --threads 2 -q)
  [ "$MODE" != none ] && args+=(--act-quant "$MODE" --act-calib "$C")
  [ "$OBS" != - ] && args+=(--act-observer "$OBS")
  [ "$ALPHA" != - ] && args+=(--smoothquant "$ALPHA")
  [ "$BOUND" != - ] && args+=(--act-fallback "$BOUND")
  "$L" quantize "$M" "$out" "${args[@]}"
  "$L" eval "$out" "$T" --reference "$M" -c 256 -t 2 --gen 0 --json "$@" > "$O/$NAME-$TAG.json"
  python3 - "$O/$NAME-$TAG.json" "$NAME" "$MODE" "$OBS" "$ALPHA" "$BOUND" "$out" "$L" <<'PY'
import json, subprocess, sys
j = json.load(open(sys.argv[1])); f = j["files"][0]
name, mode, obs, alpha, bound, path, lb = sys.argv[2:9]
fb = "-"
if bound != "-":
    out = subprocess.run([lb, "inspect", path], capture_output=True, text=True).stdout
    n = "?"
    for line in out.splitlines():
        w = line.split()
        if w and w[0] == "lowbit.act_quant.fallback":  # [string x N]
            n = w[-1].rstrip("]")
    fb = f"{bound} ({n})"
acts = {"none": "A16 (weight-only)", "dynamic": "int8 per token", "static": "int8 per tensor"}[mode]
print(f"| {name} | {acts} | {obs if mode == 'static' else '-'} | {alpha} | {fb} | {f['kld']['mean']:.5f} | "
      f"{f['ppl']:.4f} ({f['ref_ppl']:.4f}) | {100 * f['top1']['mean']:.2f} |")
PY
}
for spec in "stories260K:$S/models/stories260K/stories260K-f32.gguf" "synth-256:$S/ggml-vectors/synth-llama-256-f32.gguf"; do
  NAME=${spec%%:*}; M=${spec#*:}
  row "$M" "$NAME" w8a16 none - - -
  row "$M" "$NAME" dyn dynamic - - -
  for obs in minmax percentile entropy mse; do row "$M" "$NAME" st-$obs static $obs - -; done
  row "$M" "$NAME" st-mse-sq static mse 0.5 -
  row "$M" "$NAME" dyn-sq dynamic - 0.5 -
  row "$M" "$NAME" st-mse-guard static mse - 0.05
  row "$M" "$NAME" st-mse-sq75-guard static mse 0.75 0.02
done
