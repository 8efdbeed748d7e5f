#!/usr/bin/env bash
# Builds lowbit for 64-bit ARM Linux with Debian's cross compiler and runs its test suite under
# qemu-aarch64: the check that the portable path (the `__ref` kernels and the generic tier's Advanced
# SIMD ones, `*_simd128.cpp`; no x86 tier files) builds and gives the same answers on another
# architecture, where `char` is unsigned and there is no cpuid. qemu's default CPU has the dot-product
# extension, so the tests run the generic tier's `sdot` builds (`*_simd128_dotprod.cpp`) and, where they
# ask for both, the plain Advanced SIMD ones; before the tests the script checks that no `sdot` lies outside
# namespace kernels::dot. Not part of scripts/test.sh: it needs arm64 packages (multiarch) and runs the
# suite emulated.
#
#   bash scripts/cross_check.sh --install    # once, as root or with sudo: the cross compiler, qemu-user
#                                            # and the arm64 -dev packages
#   bash scripts/cross_check.sh [fast|all]   # build in build-aarch64/ and run the fast tier (default)
#                                            # or every test
# LOWBIT_SHARED as for scripts/test.sh. Exit status: ctest's (1 if the sdot check fails).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --install ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++-aarch64-linux-gnu qemu-user \
        libfmt-dev:arm64 libgtest-dev:arm64 libtomlplusplus-dev:arm64 nlohmann-json3-dev libcli11-dev >/dev/null
    exit 0
fi
tier=${1:-fast}
case "$tier" in fast|all) ;; *) echo "usage: $0 [--install | fast | all]" >&2; exit 2 ;; esac
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
    command -v "$tool" >/dev/null || { echo "cross_check: $tool not found; run: bash $0 --install" >&2; exit 2; }
done

dir=${LOWBIT_CROSS_BUILD_DIR:-build-aarch64}
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DLOWBIT_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)"
# The generic tier's sdot builds (kernels/*_simd128_dotprod.cpp, -march=armv8.2-a+dotprod) must define
# nothing outside namespace kernels::dot (no weak copy of an inline function built for Armv8.2 that the
# linker could hand a portable caller), and no other object may hold an sdot.
dot_syms=$(find "$dir" -name '*_simd128_dotprod.cpp.o' -exec aarch64-linux-gnu-nm --defined-only -g -C {} + |
    grep -v '^$' | grep -v ':$' | grep -cv 'lowbit::kernels::dot::' || true)
sdot_objs=$(aarch64-linux-gnu-objdump -d "$dir/liblowbit.a" | awk '/file format/ {f = $1} /\tsdot\t/ {print f}' |
    sort -u | tr '\n' ' ')
if [ "$dot_syms" != 0 ] || [ "$sdot_objs" != "gemm_q_simd128_dotprod.cpp.o: repack_simd128_dotprod.cpp.o: " ]; then
    echo "cross_check: sdot outside kernels::dot ($dot_syms other symbols; objects with sdot: $sdot_objs)" >&2
    exit 1
fi
echo "cross_check: sdot only in kernels::dot ($sdot_objs)"
export LOWBIT_SHARED=${LOWBIT_SHARED:-$(cd .. && pwd)/shared}
label=()
[ "$tier" = fast ] && label=(-L fast)
# Emulated, the tests run several times slower than natively: a longer per-test limit.
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 1800 "${label[@]}"
