#!/usr/bin/env bash
# Regenerates the table of docs/methods.md: rtn vs mse vs imatrix on stories260K and the synthetic
# llama, KLD vs F32 and PPL on tinystories_valid_first200 (-c 256), imatrix calibrated on the held-out
# stories 201-1000 of tinystories_valid_first1000 (--skip-bytes = size of the first-200 file, which is
# its exact prefix). Usage: scripts/results_methods.sh [LOWBIT_BINARY] [WORKDIR] > table.md
set -euo pipefail
LOWBIT=${1:-build/lowbit}
WORK=${2:-$(mktemp -d)}
SHARED=${LOWBIT_SHARED:-$(cd "$(dirname "$0")/.." && pwd)/../shared}
THREADS=${THREADS:-2}
EVAL_TEXT=$SHARED/data/tinystories_valid_first200.txt
CALIB_TEXT=$SHARED/data/tinystories_valid_first1000.txt
SKIP=$(stat -c %s "$EVAL_TEXT")
mkdir -p "$WORK"

eval_row() {  # model-label type method file f32
    "$LOWBIT" eval "$4" "$EVAL_TEXT" --reference "$5" -c 256 --threads "$THREADS" --gen 0 --json > "$WORK/ev.json"
    python3 - "$1" "$2" "$3" "$WORK/ev.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[4])); f = r["files"][0]
print(f"| {sys.argv[1]} | {sys.argv[2]} | {sys.argv[3]} | {r['model']['bits_per_weight']:.3f} | "
      f"{f['kld']['mean']:.5f} ± {f['kld']['se']:.5f} | {f['ppl']:.4f} ± {f['ppl_se']:.4f} | {f['top1']['mean']*100:.2f} |")
PY
}

echo "| model | type | method | bpw | KLD vs F32 | PPL | top-1 agree % |"
echo "|---|---|---|---|---|---|---|"
for M in stories260K:$SHARED/models/stories260K/stories260K-f32.gguf synth:$SHARED/ggml-vectors/synth-llama-256-f32.gguf; do
    NAME=${M%%:*}; F32=${M#*:}
    "$LOWBIT" imatrix "$F32" --text "$CALIB_TEXT" --skip-bytes "$SKIP" -c 256 --chunks 200 --threads "$THREADS" \
        -o "$WORK/$NAME.imatrix.gguf" -q
    eval_row "$NAME" f32 - "$F32" "$F32"
    for T in q4_k q3_k q2_k int4_g32 int3_g32 int2_g32; do
        case $T in q*) METHODS="rtn imatrix" ;; *) METHODS="rtn mse mse+imatrix" ;; esac
        for METH in $METHODS; do
            ARGS=""
            case $METH in mse) ARGS="--method mse" ;; imatrix) ARGS="--imatrix $WORK/$NAME.imatrix.gguf" ;;
                mse+imatrix) ARGS="--method mse --imatrix $WORK/$NAME.imatrix.gguf" ;; esac
            OUT=$WORK/$NAME-$T-$METH.gguf
            "$LOWBIT" quantize "$F32" "$OUT" -t "$T" --pure --threads "$THREADS" -q $ARGS
            eval_row "$NAME" "$T" "$METH" "$OUT" "$F32"
        done
    done
    if [ "$NAME" = synth ]; then
        for L in Q4_K_S-imat Q2_K-imat; do
            eval_row synth "llama.cpp $L" "llama.cpp imatrix (ts200)" "$SHARED/ggml-vectors/synth-llama-256-$L.gguf" "$F32"
        done
    fi
done
