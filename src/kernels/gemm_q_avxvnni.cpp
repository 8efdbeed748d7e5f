// The integer prompt GEMM's VNNI micro-kernels (gemm_q_vnni.hpp; layouts and math: gemm_q.hpp) built for
// AVX-VNNI (VEX vpdpbusd: Alder Lake and later client CPUs, Sapphire Rapids). Tier avxvnni
// (CPUs with AVX-512 VNNI but no AVX-VNNI, as Zen 4, use the avx512vnni build). Bit-exact with gemm_q.cpp's __ref.
#define LOWBIT_DPBUSD _mm256_dpbusd_avx_epi32
#define LOWBIT_VNNI_NAME(f) f##__avxvnni
#include "kernels/gemm_q_vnni.hpp"
