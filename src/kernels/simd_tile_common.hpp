// Small helpers shared by the 8-row SIMD kernels (gemm_q_avx2.cpp, repack_avx2.cpp, gemm_f32_avx2.cpp). They are `static` (internal linkage): each ISA build keeps its own copy, so no
// out-of-line copy compiled with AVX-512 flags can be picked by the linker for an AVX2-only caller.
// Include from SIMD translation units only (AVX2 at least).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm_q.hpp"

namespace lowbit::kernels::simd {

// 4 bytes broadcast to the 8 int32 lanes.
static inline __m256i bcast4(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// The 8 lanes of v to y[0 .. n_rows), n_rows in 1..8.
static inline void store_rows(float* y, __m256 v, int n_rows) {
    if (n_rows == 8) {
        _mm256_storeu_ps(y, v);
        return;
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    std::memcpy(y, t, sizeof(float) * static_cast<size_t>(n_rows));
}

// Token t0 + t's quantized activation row and its per-block scales, for the T tokens of a micro-kernel.
template <class Blk, int T>
static inline void token_rows(const gemm_act& a, int64_t t0, const Blk* (&x)[T], const float* (&da)[T]) {
    for (int t = 0; t < T; ++t) {
        x[t] = reinterpret_cast<const Blk*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
        da[t] = a.d + (t0 + t) * a.n_blocks;
    }
}

// 8 rows of 8 32-bit elements -> v[g] = element g of every row (an 8x8 transpose, in place).
static inline void transpose8x8_epi32(__m256i v[8]) {
    const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(v[4], v[5]), t5 = _mm256_unpackhi_epi32(v[4], v[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(v[6], v[7]), t7 = _mm256_unpackhi_epi32(v[6], v[7]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    v[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    v[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    v[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    v[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    v[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    v[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    v[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    v[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// A micro-kernel K<T>::run for n_tok = 1..4 tokens (more than 4: 4).
template <template <int> class K>
static inline void dispatch_tokens(int n_tok, int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y,
                                   int64_t ldy, int n_rows) {
    switch (n_tok) {
        case 1: K<1>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        case 2: K<2>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        case 3: K<3>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        default: K<4>::run(nb, pw, a, t0, y, ldy, n_rows); break;
    }
}

}  // namespace lowbit::kernels::simd
