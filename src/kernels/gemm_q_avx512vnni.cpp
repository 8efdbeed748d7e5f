// The integer prompt GEMM's VNNI micro-kernels (gemm_q_vnni.hpp; layouts and math: gemm_q.hpp) built for
// AVX-512 VNNI (EVEX vpdpbusd, 256-bit AVX512VL form). Tier avx512vnni. Bit-exact with gemm_q.cpp's __ref.
#define LOWBIT_DPBUSD _mm256_dpbusd_epi32
#define LOWBIT_VNNI_NAME(f) f##__avx512vnni
#include "kernels/gemm_q_vnni.hpp"
