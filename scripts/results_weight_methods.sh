#!/bin/bash
# Regenerates the GPTQ/AWQ/HQQ measurements of docs/methods.md ("Results: GPTQ, AWQ, HQQ").
# usage: scripts/results_weight_methods.sh LOWBIT_BINARY [OUT_DIR]
# (g32 and g128 INT formats only; scripts/results_methods.sh makes the combined table of all methods
# with the ggml types in docs/results.md.)
# Calibration: stories 201-1000 of tinystories_valid_first1000.txt (first200.txt, the evaluation
# text, is its exact 158182-byte prefix; the separator line after it is skipped too).
# Evaluation: first200, -c 256, KLD vs the F32 model.
set -euo pipefail
L=${1:?lowbit binary}; O=${2:-/tmp/lowbit-weight-methods}
S=${LOWBIT_SHARED:-$(dirname "$0")/../../shared}
T=$S/data/tinystories_valid_first200.txt
mkdir -p "$O"
C=$O/calib_stories_201_1000.txt
tail -c +158197 "$S/data/tinystories_valid_first1000.txt" > "$C"
run() {  # MODEL TAG [eval args]
  local M=$1 TAG=$2; shift 2
  for ty in int4_g32 int3_g32 int2_g32 int4_g128 int3_g128 int2_g128; do
    for meth in rtn gptq awq hqq; do
      local out=$O/$TAG-$ty-$meth.gguf s e
      s=$(date +%s.%N)
      "$L" quantize "$M" "$out" -t $ty --token-embedding-type q8_0 --method $meth --method-calib "$C" --threads 2 -q
      e=$(date +%s.%N)
      echo "$e - $s" | bc > "$O/$TAG-$ty-$meth.time"
      "$L" eval "$out" "$T" --reference "$M" -c 256 -t 2 --gen 0 --json "$@" > "$O/$TAG-$ty-$meth.json"
    done
  done
}
run "$S/models/stories260K/stories260K-f32.gguf" stories
run "$S/ggml-vectors/synth-llama-256-f32.gguf" synth --max-units 100
