#!/usr/bin/env bash
# A/B of two lowbit binaries on one model in interleaved rounds (A, B, A, B, ...), so that both see the
# same minutes of a machine whose read bandwidth moves by 10-20% from one minute to the next. Prints
# each side's median t/s and the median and range of the per-round ratios B / A.
#
# usage: bench/ab.sh BIN_A BIN_B MODEL [ROUNDS=5] [TEST=tg64|pp128|tg<N>|pp<N>] [THREADS=2]
# e.g.   bench/ab.sh /tmp/old/lowbit build/lowbit /tmp/lowbit-cmp/synth-2048-f16.gguf 5 tg64
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,7p' "$0" >&2; exit 2; }
A=$1 B=$2 MODEL=$3 ROUNDS=${4:-5} TEST=${5:-tg64} THREADS=${6:-2}
for bin in "$A" "$B"; do [[ -x $bin ]] || { echo "not an executable: $bin" >&2; exit 1; }; done
[[ -f $MODEL ]] || { echo "no model file $MODEL" >&2; exit 1; }
n=${TEST:2}
[[ $n =~ ^[0-9]+$ ]] || { echo "TEST must be tg<N> or pp<N>, not $TEST" >&2; exit 2; }
case $TEST in
  tg*) args=(-p 0 -n "$n") ;;
  pp*) args=(-p "$n" -n 0) ;;
  *) echo "TEST must be tg<N> or pp<N>, not $TEST" >&2; exit 2 ;;
esac
tps() { "$1" bench "$MODEL" "${args[@]}" -r 2 -t "$THREADS" --json | jq -r '.results[0].tokens_per_s'; }
for ((i = 0; i < ROUNDS; i++)); do echo "$(tps "$A") $(tps "$B")"; done | python3 -c '
import statistics as st, sys
r = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
q = [b / a for a, b in r]
print("%s, %d rounds: A median %.2f t/s, B median %.2f t/s, B/A per round: median %.3f, range %.3f-%.3f" % (
    sys.argv[1], len(r), st.median(a for a, _ in r), st.median(b for _, b in r), st.median(q), min(q), max(q)))' "$TEST"
