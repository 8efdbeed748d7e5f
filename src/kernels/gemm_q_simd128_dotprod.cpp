// The generic tier's prompt GEMM micro-kernels again, built for aarch64 CPUs with the dot-product extension,
// as kernels/repack_simd128_dotprod.cpp does for the tile GEMVs (CMakeLists.txt: aarch64 only,
// -march=armv8.2-a+dotprod; namespace kernels::dot; simd128.hpp's row_acc is one sdot). Bit-exact with the
// Advanced SIMD build; gemm_q_kernel takes these where dotprod_active() (core/cpu.hpp).
#define LOWBIT_SIMD128_DOTPROD_COPY 1
#include "kernels/gemm_q_simd128.cpp"
