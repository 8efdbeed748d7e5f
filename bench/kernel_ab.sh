#!/usr/bin/env bash
# In-process A/B of one kernel source file: two builds of it linked into one program and timed in
# alternating calls (bench/kernel_ab/kernel_ab.hpp), so that a change of a few percent shows through
# the tens-of-percent swings of a shared machine, which separate runs (bench/ab.sh) cannot resolve.
#
# usage: bench/kernel_ab.sh [options] gemm|gemv [BASE]
#   gemm   the integer prompt GEMM micro-kernels, src/kernels/gemm_q_avx2.cpp (GOPS, in L2)
#   gemv   the one-token tile GEMVs, src/kernels/repack_avx2.cpp (GB/s of weights, in L2)
#   BASE   side A: a git revision (default HEAD) or a file; side B: the working tree's file
# options:
#   --b-file FILE     side B from FILE instead of the working tree
#   --build-dir DIR   a configured and built tree (default build): its liblowbit.a and compile flags
#   --rounds N        alternating call pairs per kernel (default 2000)
#   --types a,b       only these kernels (names as printed, e.g. q4_0,q4_k)
#   --flags "..."     extra compiler flags for both sides, e.g. -falign-loops=64 (fixes the code
#                     placement that otherwise moves some tile GEMVs by 15-25% between builds)
# e.g. bench/kernel_ab.sh gemm HEAD~1            (the last commit's GEMM change, every type)
#      bench/kernel_ab.sh --types q4_k gemv main (working tree against main, Q4_K tile GEMV)
# Prints, per kernel, each side's fastest / 10th-percentile / median call and the ratios B/A (> 1: B
# faster). Exit status 1 if a kernel's outputs differ between A and B (the kernels are bit-exact with
# their __ref, so a speed change must not move a bit), 2 on bad usage, 77 without AVX2.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '6,21p' "$0" >&2; exit 2; }

build=build rounds=2000 types="" b_file="" extra=""
while [[ $# -gt 0 && $1 == --* ]]; do
  [[ $# -ge 2 ]] || usage
  case $1 in
    --build-dir) build=$2 ;;
    --rounds) rounds=$2 ;;
    --types) types=$2 ;;
    --b-file) b_file=$2 ;;
    --flags) extra=$2 ;;
    *) usage ;;
  esac
  shift 2
done
[[ $# -ge 1 && $# -le 2 ]] || usage
case $1 in
  gemm) src=src/kernels/gemm_q_avx2.cpp harness=bench/kernel_ab/gemm_q.cpp ;;
  gemv) src=src/kernels/repack_avx2.cpp harness=bench/kernel_ab/gemv_tiles.cpp ;;
  *) usage ;;
esac
base=${2:-HEAD}
[[ $rounds =~ ^[0-9]+$ ]] || { echo "kernel_ab: --rounds must be a number" >&2; exit 2; }
lib=$build/liblowbit.a
[[ -f $lib ]] || { echo "kernel_ab: no $lib; build first (bash scripts/build.sh)" >&2; exit 2; }
[[ -f $build/compile_commands.json ]] || { echo "kernel_ab: no $build/compile_commands.json" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -f $base ]]; then
  cp "$base" "$work/A.cpp"
else
  git show "$base:$src" >"$work/A.cpp" 2>/dev/null || { echo "kernel_ab: $base is neither a file nor a revision with $src" >&2; exit 2; }
fi
cp "${b_file:-$src}" "$work/B.cpp"

# The kernel file's own flags (ISA options, defines, includes) from the build, minus -c/-o and the path.
mapfile -t flags < <(python3 - "$build/compile_commands.json" "$src" <<'EOF'
import json, os, shlex, sys
db, src = sys.argv[1], os.path.abspath(sys.argv[2])
for e in json.load(open(db)):
    if os.path.abspath(os.path.join(e["directory"], e["file"])) == src:
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        out, skip = [], False
        for a in args[1:]:
            if skip: skip = False; continue
            if a in ("-o", "-c", "-MF", "-MT", "-MQ"): skip = True; continue
            if a in ("-MD", "-MMD") or os.path.abspath(os.path.join(e["directory"], a)) == src: continue
            out.append(a)
        print("\n".join(out)); break
else:
    sys.exit("kernel_ab: %s is not in %s" % (src, db))
EOF
)
cxx=$(python3 -c 'import json,shlex,sys; e=json.load(open(sys.argv[1]))[0]; print((e["arguments"] if "arguments" in e else shlex.split(e["command"]))[0])' "$build/compile_commands.json")

# Each side in its own namespace (lowbit -> lowbitA / lowbitB); the symbols it takes from the library
# (tables, helpers in other files) renamed back to lowbit's.
for side in A B; do
  # shellcheck disable=SC2086  # $extra: flags split on spaces on purpose
  (cd "$work" && "$cxx" "${flags[@]}" $extra -I"$OLDPWD/include" -I"$OLDPWD/src" -Dlowbit=lowbit$side -c $side.cpp -o $side.o) ||
    { echo "kernel_ab: side $side does not compile" >&2; exit 2; }
  nm -u "$work/$side.o" | awk -v s="lowbit$side" '$NF ~ "7" s { n = $NF; gsub("7" s, "6lowbit", n); print $NF, n }' >"$work/$side.map"
  objcopy --redefine-syms="$work/$side.map" "$work/$side.o"
done
"$cxx" -O2 -std=c++20 -Iinclude -Isrc -Ibench/kernel_ab "$harness" "$work/A.o" "$work/B.o" "$lib" -lfmt -lpthread \
  -o "$work/ab" || { echo "kernel_ab: the harness does not link (a kernel missing on one side?)" >&2; exit 2; }
echo "A: $base  B: ${b_file:-working tree}  ($src, $rounds alternating pairs${extra:+, extra flags $extra})"
args=(--rounds "$rounds")
[[ -n $types ]] && args+=(--types "$types")
"$work/ab" "${args[@]}"
