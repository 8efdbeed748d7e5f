#!/usr/bin/env bash
# Regenerates the combined weight-method table of docs/results.md (between the markers
# <!-- methods-table:begin --> and <!-- methods-table:end -->): stories260K and synth-llama-256,
# KLD vs F32 and PPL on tinystories_valid_first200 (-c 256), for rtn / mse / imatrix / gptq / awq / hqq
# at 8, 4, 3 and 2 bits (ggml types and lowbit INT-g32 formats), with each quantize's wall time.
# Calibration (imatrix, gptq, awq): stories 201-1000 of tinystories_valid_first1000 (the evaluation
# text is its exact 158182-byte prefix; the separator after it is skipped too). Every tensor gets the
# type (--pure); ggml types on stories260K's 64/172-wide rows take llama.cpp's shape fallbacks.
# Usage: scripts/results_methods.sh [LOWBIT_BINARY] [WORKDIR]   (about 10 minutes on 2 cores)
#   NO_WRITE=1: print the table only, leave docs/results.md alone.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOWBIT=${1:-$ROOT/build/lowbit}
WORK=${2:-$(mktemp -d)}
SHARED=${LOWBIT_SHARED:-$ROOT/../shared}
THREADS=${THREADS:-2}
EVAL_TEXT=$SHARED/data/tinystories_valid_first200.txt
mkdir -p "$WORK"
CALIB=$WORK/calib_stories_201_1000.txt
tail -c +158197 "$SHARED/data/tinystories_valid_first1000.txt" > "$CALIB"
TABLE=$WORK/table.md

row() {  # model type method file f32 seconds
    "$LOWBIT" eval "$4" "$EVAL_TEXT" --reference "$5" -c 256 --allow-long-context --threads "$THREADS" --gen 0 --json > "$WORK/ev.json"
    python3 - "$1" "$2" "$3" "$WORK/ev.json" "$6" <<'PY' >> "$TABLE"
import json, sys
r = json.load(open(sys.argv[4])); f = r["files"][0]
print(f"| {sys.argv[1]} | {sys.argv[2]} | {sys.argv[3]} | {r['model']['bits_per_weight']:.3f} | "
      f"{f['kld']['mean']:.5f} ± {f['kld']['se']:.5f} | {f['ppl']:.4f} ± {f['ppl_se']:.4f} | "
      f"{f['top1']['mean']*100:.2f} | {sys.argv[5]} |")
PY
}

echo "| model | type | method | bpw | KLD vs F32 | PPL | top-1 % | quantize s |" > "$TABLE"
echo "|---|---|---|---:|---:|---:|---:|---:|" >> "$TABLE"
for M in stories260K:$SHARED/models/stories260K/stories260K-f32.gguf synth-256:$SHARED/ggml-vectors/synth-llama-256-f32.gguf; do
    NAME=${M%%:*}; F32=${M#*:}
    s=$(date +%s.%N)
    "$LOWBIT" imatrix "$F32" --text "$CALIB" -c 256 --chunks 200 --threads "$THREADS" -o "$WORK/$NAME.imatrix.gguf" -q
    IMAT_S=$(echo "$(date +%s.%N) - $s" | bc)
    row "$NAME" f32 - "$F32" "$F32" -
    for T in q8_0 q4_k q3_k q2_k int8_g32 int4_g32 int3_g32 int2_g32; do
        case $T in q*) METHODS="rtn imatrix gptq awq" ;; *) METHODS="rtn mse imatrix gptq awq hqq" ;; esac
        for METH in $METHODS; do
            case $METH in
                rtn) ARGS="" ;;
                mse) ARGS="--method mse" ;;
                imatrix) ARGS="--imatrix $WORK/$NAME.imatrix.gguf" ;;
                hqq) ARGS="--method hqq" ;;
                gptq) ARGS="--method gptq --act-order --method-calib $CALIB" ;;
                *) ARGS="--method $METH --method-calib $CALIB" ;;
            esac
            OUT=$WORK/$NAME-$T-$METH.gguf
            s=$(date +%s.%N)
            "$LOWBIT" quantize "$F32" "$OUT" -t "$T" --pure --threads "$THREADS" -q $ARGS
            SEC=$(printf %.1f "$(echo "$(date +%s.%N) - $s" | bc)")
            [ "$METH" = imatrix ] && SEC="$SEC (+$(printf %.1f "$IMAT_S") imatrix)"
            row "$NAME" "$T" "$METH" "$OUT" "$F32" "$SEC"
        done
    done
    if [ "$NAME" = synth-256 ]; then
        for L in Q4_K_S-imat Q3_K_S Q2_K-imat; do
            row synth-256 "$L (llama.cpp)" "llama.cpp file" "$SHARED/ggml-vectors/synth-llama-256-$L.gguf" "$F32" -
        done
    else
        for L in Q4_K_M Q3_K_M Q2_K; do
            row stories260K "$L (llama.cpp)" "llama.cpp mixture" "$SHARED/models/stories260K/llama.cpp-quantized/s260k-$L.gguf" "$F32" -
        done
    fi
done
cat "$TABLE"
if [ -z "${NO_WRITE:-}" ]; then
    python3 - "$ROOT/docs/results.md" "$TABLE" <<'PY'
import sys
p, t = sys.argv[1], open(sys.argv[2]).read()
s = open(p).read()
b, e = "<!-- methods-table:begin -->", "<!-- methods-table:end -->"
i, j = s.index(b) + len(b), s.index(e)
open(p, "w").write(s[:i] + "\n" + t + s[j:])
PY
fi
