#!/usr/bin/env bash
# Compares lowbit's and llama.cpp's prompt-processing (pp) and generation (tg) throughput on the same
# synthetic LLaMA-shaped models (random weights; dim 2048, ffn 5632, 8 layers, 16 heads, 4 KV heads,
# vocab 512 -- about 363M parameters) in Q4_0, Q4_K (pure, llama.cpp's Q4_K_S minus its mixture) and
# Q8_0, run in alternating rounds so both see the same machine load.
#
# usage: LLAMA_CPP_DIR=/path/to/llama.cpp/build [LOWBIT=build/lowbit] [THREADS=2] [WORK=/tmp/lowbit-cmp] \
#        [DEPTH=0] [KV=f32] [TYPES="q4_0 q4_k q8_0"] [ROUNDS=3] [MODELS="a.gguf b.gguf"] \
#        [GEMV_BENCH=build/bench/bench_gemv_bench] bench/compare_llama_cpp.sh
# GEMV_BENCH: where it exists (a build with -DLOWBIT_BUILD_BENCH=ON), every round also measures the read
# bandwidth (BM_bandwidth, THREADS threads) right after the two runs, and a second table gives each
# side's generation read rate (tg64 t/s x file bytes: every weight is read once per token) as a fraction
# of the bandwidth of its own round (not at DEPTH > 0, where the KV cache is read too).
# MODELS: compare on these GGUF files (real models, e.g. scripts/fetch_smollm2.sh's) instead of the
# synthetic ones; each row is labelled with the file's name.
# DEPTH > 0 runs both with that many tokens already in the KV cache (lowbit bench -d, llama-bench -d).
# KV: lowbit's KV cache elements (f32, its default, or f16, llama.cpp's default).
# LLAMA_CPP_DIR is a llama.cpp build made outside this repository (its bin/llama-bench is used), e.g.
#   cmake -S llama.cpp -B llama-build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release
#   cmake --build llama-build -j2 --target llama-bench
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
LOWBIT=${LOWBIT:-$here/build/lowbit}
GEMV_BENCH=${GEMV_BENCH:-$(dirname "$LOWBIT")/bench/bench_gemv_bench}
THREADS=${THREADS:-2}
DEPTH=${DEPTH:-0}
KV=${KV:-f32}
WORK=${WORK:-/tmp/lowbit-cmp}
TYPES=${TYPES:-"q4_0 q4_k q8_0"}
MODELS=${MODELS:-}
ROUNDS=${ROUNDS:-3}
TOKENIZER=${TOKENIZER:-$here/../shared/models/stories260K/stories260K-f32.gguf}
: "${LLAMA_CPP_DIR:?set LLAMA_CPP_DIR to a llama.cpp build directory (containing bin/llama-bench)}"
LLAMA_BENCH=$LLAMA_CPP_DIR/bin/llama-bench
[[ -x $LLAMA_BENCH ]] || { echo "no llama-bench at $LLAMA_BENCH" >&2; exit 1; }
[[ -x $LOWBIT ]] || { echo "no lowbit binary at $LOWBIT (set LOWBIT=)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
mkdir -p "$WORK"

depth_args=()
[[ $DEPTH != 0 ]] && depth_args=(-d "$DEPTH")
tok_args=()
[[ -f $TOKENIZER ]] && tok_args=(--tokenizer-from "$TOKENIZER")

# Each round runs lowbit then llama-bench (-r 3 each) on one file; the machine's read bandwidth moves
# from minute to minute, so the rounds alternate and the table gives each side's median t/s and the
# median (and range) of the per-round ratios.
if [[ -n $MODELS ]]; then
  for m in $MODELS; do [[ -f $m ]] || { echo "no model file $m" >&2; exit 1; }; done
  items=$MODELS
else
  items=$TYPES
fi
bw_rows=$(mktemp)
trap 'rm -f "$bw_rows"' EXIT
printf '| %-6s | %-11s | %12s | %12s | %7s | %13s |\n' "$([[ -n $MODELS ]] && echo model || echo type)" test \
  lowbit_t/s llama_t/s ratio "ratio min-max"
printf '| %-6s | %-11s | %12s | %12s | %7s | %13s |\n' --- --- --- --- --- ---
for t in $items; do
  if [[ -n $MODELS ]]; then
    model=$t
    t=$(basename "$model" .gguf)
  else
    model=$WORK/synth-2048-$t.gguf
    [[ -f $model ]] || "$LOWBIT" synth "$model" --dim 2048 --ffn 5632 --layers 8 --heads 16 --kv-heads 4 \
                         --vocab 512 --type "$t" --seed 1 "${tok_args[@]}" >&2
  fi
  rounds=()
  for ((i = 0; i < ROUNDS; i++)); do
    lb=$("$LOWBIT" bench "$model" -p 128 -n 64 "${depth_args[@]}" --kv-type "$KV" -r 3 -t "$THREADS" --json)
    lc=$("$LLAMA_BENCH" -m "$model" -p 128 -n 64 "${depth_args[@]}" -r 3 -t "$THREADS" -o json)
    a=$(jq -r '[.results[] | select(.test | startswith("pp128")) | .tokens_per_s][0],
               [.results[] | select(.test | startswith("tg64")) | .tokens_per_s][0]' <<<"$lb" | tr '\n' ' ')
    b=$(jq -r '[.[] | select(.n_prompt > 0 and .n_gen == 0) | .avg_ts][0],
               [.[] | select(.n_gen > 0 and .n_prompt == 0) | .avg_ts][0]' <<<"$lc" | tr '\n' ' ')
    bw=nan
    if [[ -x $GEMV_BENCH && $DEPTH == 0 ]]; then
      bw=$("$GEMV_BENCH" --benchmark_filter="^BM_bandwidth/threads:$THREADS/" --benchmark_min_time=0.2 \
             --benchmark_format=json 2>/dev/null | jq -r '[.benchmarks[].bytes_per_second][0] / 1e9') || bw=nan
    fi
    rounds+=("$a $b $bw")  # lowbit pp, tg, llama.cpp pp, tg, read bandwidth GB/s
  done
  bytes=$(stat -c %s "$model")
  for r in "${rounds[@]}"; do echo "$t $bytes $r"; done >>"$bw_rows"
  label_sfx=""
  [[ $DEPTH != 0 ]] && label_sfx="@d$DEPTH"
  printf '%s\n' "${rounds[@]}" | python3 -c '
import statistics as st, sys
t, sfx = sys.argv[1], sys.argv[2]
r = [list(map(float, l.split()))[:4] for l in sys.stdin if l.strip()]
for k, test in ((0, "pp128"), (1, "tg64")):
    a = [x[k] for x in r]; b = [x[k + 2] for x in r]; q = [x / y for x, y in zip(a, b)]
    print("| %-6s | %-11s | %12.2f | %12.2f | %7.3f | %13s |" % (
        t, test + sfx, st.median(a), st.median(b), st.median(q), "%.3f-%.3f" % (min(q), max(q))))' "$t" "$label_sfx"
done
# Generation's read rate against the bandwidth of the same round (median and range over the rounds).
python3 - "$bw_rows" "$THREADS" <<'PY'
import math, statistics as st, sys
def number(v):
    try:
        return float(v)
    except ValueError:  # e.g. jq's null where no benchmark ran
        return math.nan
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if len(r) == 7 and not math.isnan(number(r[-1]))]
if rows:
    print()
    print("Generation's read rate: tg64 t/s x file bytes (every weight read once per token), as a fraction of "
          "the read bandwidth measured in the same round (BM_bandwidth, %s threads); median (range) over the rounds:"
          % sys.argv[2])
    print()
    print("| type | file MB | bandwidth GB/s | lowbit GB/s | lowbit of bandwidth | llama.cpp GB/s | llama.cpp of bandwidth |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    fmt = lambda v, f: (f + " (" + f + "-" + f + ")") % (st.median(v), min(v), max(v))
    for t in dict.fromkeys(r[0] for r in rows):
        rs = [list(map(float, r[1:])) for r in rows if r[0] == t]
        gb = rs[0][0] / 1e9
        bw = [r[5] for r in rs]
        lb = [r[2] * gb for r in rs]
        lc = [r[4] * gb for r in rs]
        print("| %s | %.0f | %s | %.1f | %s | %.1f | %s |" % (
            t, rs[0][0] / 1e6, fmt(bw, "%.1f"), st.median(lb), fmt([100 * x / y for x, y in zip(lb, bw)], "%.0f%%"),
            st.median(lc), fmt([100 * x / y for x, y in zip(lc, bw)], "%.0f%%")))
PY
