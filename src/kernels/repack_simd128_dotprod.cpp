// The generic tier's tile GEMVs again, built for aarch64 CPUs with the dot-product extension (FEAT_DotProd:
// Cortex-A55 / A76 and later, Neoverse N1 and later, Apple M1 and later): CMakeLists.txt compiles this file
// on aarch64 only, with -march=armv8.2-a+dotprod (GCC 12 defines its sdot intrinsics for Armv8.2), into
// namespace kernels::dot. There simd128.hpp's row_acc is one `sdot` per 4 rows x 4 columns
// (__ARM_FEATURE_DOTPROD) instead of `smlal` products summed in int16 lanes and reduced pairwise; the
// integer sums, and so the results, are the same bit for bit. The dispatch (repack_kernel) takes these
// where dotprod_active() (core/cpu.hpp). The object defines only its two table functions: every helper
// has internal linkage, so no Armv8.2 copy of an inline function can stand in for a portable caller's
// (scripts/cross_check.sh checks this).
#define LOWBIT_SIMD128_DOTPROD_COPY 1
#include "kernels/repack_simd128.cpp"
