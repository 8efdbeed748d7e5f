#!/usr/bin/env bash
# The same lowbit binary must run on x86-64 CPUs without AVX2 or AVX-512: only the tier files
# (*_avx2.cpp, *_avx512*.cpp, *_avxvnni.cpp, *_avx512vnni.cpp, and the generic tier's SSSE3 *_simd128.cpp)
# are compiled with SIMD flags, and code
# reaches them only through the runtime dispatch. This checks a built static library so that it stays so:
#  1. the portable objects hold no VEX / EVEX instruction (AVX, AVX2, FMA, F16C, AVX-512), no BMI2 one and no
#     SSSE3 one (x86-64's baseline is SSE2)
#     (a file compiled with the wrong flags, or an intrinsic outside a tier file);
#  2. no function that a tier object defines weak (an inline function or template instance: a COMDAT
#     copy) is also defined by a portable object: the linker keeps one copy, and where it kept the tier
#     object's, portable code would run AVX2 instructions on every CPU (e.g. a std::vector member used
#     in both kinds of file, compiled with -mavx2 in one of them);
#  3. nor by tier objects of two different tiers (an AVX-512 copy of a helper would run on the AVX2 path).
# QEMU's user-mode emulator does not help here: its TCG runs AVX2 whatever -cpu model it is given.
#
# usage: scripts/check_isa_isolation.sh LIB.a     exit 0 ok, 1 violations (listed), 77 no binutils
set -euo pipefail
[[ $# -eq 1 && -f $1 ]] || { echo "usage: $0 LIB.a" >&2; exit 2; }
command -v objdump >/dev/null && command -v nm >/dev/null || { echo "objdump / nm not found: skipped" >&2; exit 77; }
lib=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ar x "$lib"
is_tier() { [[ $1 =~ _(avx2|avx512[a-z]*|avxvnni|simd128)\.[a-z]+\.o$ ]]; }
tier=() portable=()
for o in *.o; do
  if is_tier "$o"; then tier+=("$o"); else portable+=("$o"); fi
done
[[ $((${#portable[@]} + ${#tier[@]})) -gt 0 ]] || { echo "$lib: no objects" >&2; exit 1; }
bad=0
# 1. Mnemonics: VEX / EVEX ones all start with 'v' (vmovups, vfmadd..., vcvtph2ps, vpdpbusd); BMI2's are
# named, as are SSSE3's (pshufb, pmaddubsw, psign*, pabs*, palignr, phadd*, phsub*, pmulhrsw). (tzcnt /
# lzcnt are not checked: GCC's `rep bsf` decodes as tzcnt and runs as bsf anywhere.)
for o in "${portable[@]}"; do
  hits=$(objdump -d --no-show-raw-insn "$o" | awk -F'\t' 'NF >= 2 { split($2, m, " "); print m[1] }' |
    grep -E '^(v[a-z0-9]+|shlx|shrx|sarx|rorx|pdep|pext|mulx|bzhi|pshufb|pmaddubsw|psign[bwd]|pabs[bwd]|palignr|ph(add|sub)[a-z]*|pmulhrsw)$' | sort | uniq -c | sort -rn | head -5 || true)
  if [[ -n $hits ]]; then
    echo "portable object $o holds SIMD instructions (count, mnemonic):"
    echo "$hits"
    bad=1
  fi
done
# 2. Weak functions defined on both sides.
if [[ ${#tier[@]} -gt 0 ]]; then
  nm --defined-only "${tier[@]}" 2>/dev/null | awk '$2 == "W" { print $3 }' | sort -u >tier_weak.txt
  : >portable_def.txt
  [[ ${#portable[@]} -eq 0 ]] ||
    nm --defined-only "${portable[@]}" 2>/dev/null | awk '$2 == "W" || $2 == "T" { print $3 }' | sort -u >portable_def.txt
  both=$(comm -12 tier_weak.txt portable_def.txt)
  if [[ -n $both ]]; then
    echo "functions defined weak in a tier object and also in a portable object (the linker may keep the tier's copy):"
    echo "$both" | c++filt | head -20
    bad=1
  fi
  # 3. The same across tiers: "symbol tier" pairs, symbols with more than one tier.
  for o in "${tier[@]}"; do
    t=$(sed -E 's/.*_(avx2|avx512[a-z]*|avxvnni|simd128)\.[a-z]+\.o$/\1/' <<<"$o")
    nm --defined-only "$o" 2>/dev/null | awk -v t="$t" '$2 == "W" { print $3, t }'
  done | sort -u >tier_pairs.txt
  across=$(awk '{ n[$1]++ } END { for (s in n) if (n[s] > 1) print s }' tier_pairs.txt)
  if [[ -n $across ]]; then
    echo "functions defined weak in tier objects of different tiers (the linker may keep the wrong tier's copy):"
    echo "$across" | c++filt | head -20
    bad=1
  fi
fi
if [[ $bad -eq 0 ]]; then
  echo "$(basename "$lib"): ${#portable[@]} portable objects without SIMD instructions, ${#tier[@]} tier objects, no shared weak functions"
fi
exit $bad
