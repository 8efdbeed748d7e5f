#!/usr/bin/env bash
# One command that measures load-time 8-row tile repacking (kernels/repack.hpp) against the plain
# per-row generation path, both measured in the same run, and optionally against llama.cpp:
#   1. GEMV on a 131072 x 4096 matrix (bench_gemv_bench: BM_gemv_big vs BM_gemv_big_tiled, Q4_0 / Q4_K /
#      Q8_0, 1 and 2 threads, repetitions interleaved at random), in GB/s of stored weights and as a
#      fraction of the read bandwidth (BM_bandwidth) measured in the same run; best repetition kept.
#   2. Whole model: `lowbit bench -p 128 -n 64` on the synthetic LLaMA models of
#      bench/compare_llama_cpp.sh with LOWBIT_REPACK=0 (plain rows) and 1 (tiles) -- and llama.cpp's
#      llama-bench when LLAMA_CPP_DIR is set -- alternated ROUNDS times so every variant sees the same
#      load; prints each variant's range (min..max) and the ratios of the medians.
#
# usage: [BUILD=build] [LLAMA_CPP_DIR=/path/to/llama-build] [THREADS=2] [ROUNDS=3] [REPS=3] \
#        [TYPES="q4_0 q4_k q8_0"] [WORK=/tmp/lowbit-cmp] [SKIP_GEMV=1] [SKIP_MODEL=1] bench/repack_compare.sh
# Needs $BUILD/lowbit and $BUILD/bench/bench_gemv_bench (configure with -DLOWBIT_BUILD_BENCH=ON).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build}
LOWBIT=${LOWBIT:-$BUILD/lowbit}
BENCH=${BENCH:-$BUILD/bench/bench_gemv_bench}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
TYPES=${TYPES:-"q4_0 q4_k q8_0"}
WORK=${WORK:-/tmp/lowbit-cmp}
TOKENIZER=${TOKENIZER:-$here/../shared/models/stories260K/stories260K-f32.gguf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -z ${SKIP_GEMV:-} ]]; then
  [[ -x $BENCH ]] || { echo "no $BENCH (configure with -DLOWBIT_BUILD_BENCH=ON)" >&2; exit 1; }
  re=$(echo "$TYPES" | tr ' ' '|')
  echo "GEMV 131072 x 4096, plain rows vs tiles (about a minute)..." >&2
  "$BENCH" --benchmark_filter="BM_bandwidth|BM_gemv_big(_tiled)?/($re)/" --benchmark_format=json \
    --benchmark_repetitions="${REPS:-3}" --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="${MIN_TIME:-0.3}" >"$work/gemv.json" 2>/dev/null
  python3 - "$work/gemv.json" <<'PY'
import json, re, sys
res = json.load(open(sys.argv[1]))
bw, g = {}, {}
for b in res["benchmarks"]:
    if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
        continue
    gbs = b["bytes_per_second"] / 1e9
    m = re.match(r"BM_bandwidth/threads:(\d+)", b["name"])
    if m:
        bw[int(m.group(1))] = max(bw.get(int(m.group(1)), 0.0), gbs)
    m = re.match(r"BM_gemv_big(_tiled)?/([^/]+)/threads:(\d+)", b["name"])
    if m:
        k = (m.group(2), int(m.group(3)), bool(m.group(1)))
        g.setdefault(k, []).append(gbs)
print("\nread bandwidth: " + ", ".join(f"{t} thread(s) {v:.1f} GB/s" for t, v in sorted(bw.items())))
print("\n| type | threads | plain GB/s (range) | tiled GB/s (range) | tiled/plain (best) | plain % bw | tiled % bw |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for (t, th, tiled) in sorted(g):
    if tiled:
        continue
    p, q = g[(t, th, False)], g.get((t, th, True), [0.0])
    b = bw.get(th, 0.0) or float("nan")
    print(f"| {t} | {th} | {max(p):.2f} ({min(p):.2f}..{max(p):.2f}) | {max(q):.2f} ({min(q):.2f}..{max(q):.2f}) "
          f"| {max(q) / max(p):.3f} | {100 * max(p) / b:.0f}% | {100 * max(q) / b:.0f}% |")
PY
fi

if [[ -z ${SKIP_MODEL:-} ]]; then
  [[ -x $LOWBIT ]] || { echo "no lowbit binary at $LOWBIT (set BUILD= or LOWBIT=)" >&2; exit 1; }
  LLAMA_BENCH=${LLAMA_CPP_DIR:+$LLAMA_CPP_DIR/bin/llama-bench}
  mkdir -p "$WORK"
  tok_args=()
  [[ -f $TOKENIZER ]] && tok_args=(--tokenizer-from "$TOKENIZER")
  : >"$work/model.tsv"
  for t in $TYPES; do
    model=$WORK/synth-2048-$t.gguf
    [[ -f $model ]] || "$LOWBIT" synth "$model" --dim 2048 --ffn 5632 --layers 8 --heads 16 --kv-heads 4 \
                         --vocab 512 --type "$t" --seed 1 "${tok_args[@]}" >&2
    for ((r = 1; r <= ROUNDS; ++r)); do
      echo "$t round $r/$ROUNDS..." >&2
      for mode in 0 1; do
        LOWBIT_REPACK=$mode "$LOWBIT" bench "$model" -p 128 -n 64 -r 1 -t "$THREADS" --json >"$work/lb.json"
        python3 - "$work/lb.json" "$t" "$([[ $mode == 1 ]] && echo tiled || echo plain)" >>"$work/model.tsv" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{sys.argv[2]}\t{sys.argv[3]}\t{r['test']}\t{r['tokens_per_s']}")
PY
      done
      if [[ -n $LLAMA_BENCH ]]; then
        "$LLAMA_BENCH" -m "$model" -p 128 -n 64 -r 1 -t "$THREADS" -o json >"$work/lc.json" 2>/dev/null
        python3 - "$work/lc.json" "$t" >>"$work/model.tsv" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    test = f"pp{r['n_prompt']}" if r["n_gen"] == 0 else f"tg{r['n_gen']}"
    print(f"{sys.argv[2]}\tllama.cpp\t{test}\t{r['avg_ts']}")
PY
      fi
    done
  done
  python3 - "$work/model.tsv" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    t, v, test, ts = line.split("\t")
    d.setdefault((t, test), {}).setdefault(v, []).append(float(ts))
print("\n| type | test | plain t/s (range) | tiled t/s (range) | llama.cpp t/s (range) | tiled/plain | tiled/llama.cpp |")
print("| --- | --- | --- | --- | --- | --- | --- |")
fmt = lambda xs: f"{statistics.median(xs):.1f} ({min(xs):.1f}..{max(xs):.1f})" if xs else "-"
for (t, test), vs in sorted(d.items(), key=lambda kv: (kv[0][0], kv[0][1] != "pp128")):
    p, q, l = vs.get("plain", []), vs.get("tiled", []), vs.get("llama.cpp", [])
    r1 = f"{statistics.median(q) / statistics.median(p):.3f}" if p and q else "-"
    r2 = f"{statistics.median(q) / statistics.median(l):.3f}" if l and q else "-"
    print(f"| {t} | {test} | {fmt(p)} | {fmt(q)} | {fmt(l)} | {r1} | {r2} |")
print("(medians of the rounds; ratios are of medians)")
PY
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
