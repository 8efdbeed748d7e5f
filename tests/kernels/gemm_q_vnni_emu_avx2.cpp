// The VNNI micro-kernels of the integer prompt GEMM (src/kernels/gemm_q_vnni.hpp) built a third time,
// for the tests only, with vpdpbusd emulated exactly in AVX2: the kernels' layout, offsets, scales and
// float order then run on every AVX2 machine, where CI has no VNNI CPU to run the real builds
// (gemm_q_avxvnni.cpp, gemm_q_avx512vnni.cpp, which are the same header with the instruction itself).
// Entry points: f##__vnniemu, declared in gemm_q_test.cpp.
#include <immintrin.h>

// vpdpbusd: each int32 lane of acc plus the 4 products of its unsigned bytes of u with the signed bytes
// of s, without saturation. Even and odd bytes are widened to int16 (u zero-extended, s sign-extended)
// and multiplied by pmaddwd, whose pair sums (at most 2 x 255 x 128) are exact in int32.
static inline __m256i lowbit_dpbusd_emulated(__m256i acc, __m256i u, __m256i s) {
    const __m256i mask = _mm256_set1_epi16(0x00FF);
    const __m256i u_even = _mm256_and_si256(u, mask), u_odd = _mm256_srli_epi16(u, 8);
    const __m256i s_even = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8), s_odd = _mm256_srai_epi16(s, 8);
    const __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(u_even, s_even), _mm256_madd_epi16(u_odd, s_odd));
    return _mm256_add_epi32(acc, sum);
}

#define LOWBIT_DPBUSD lowbit_dpbusd_emulated
#define LOWBIT_VNNI_NAME(f) f##__vnniemu
#include "kernels/gemm_q_vnni.hpp"
