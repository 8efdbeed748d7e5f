// gemm_f32__avx512: the AVX-512F version of gemm_f32 (see gemm_f32.hpp and gemm_f32_avx2.cpp).
// Micro-tile: 4 tokens x 4 weight rows = 16 zmm accumulators over 16 columns per step; the k tail
// (< 16) uses a masked load. Each accumulator folds to 256 bits, then 4 reduce together.
//
// Included by gemm_f32_avx512.cpp (built with -mavx512f ...), and by the tests'
// gemm_f32_avx512_emu_avx2.cpp, which first includes SIMDe with its native aliases so that the same
// _mm512_* code runs emulated on AVX2 CPUs (CI has no AVX-512). Each defines LOWBIT_GEMM_F32_AVX512_NAME
// as the entry point's name; everything else has internal linkage.
#pragma once

#if !defined(LOWBIT_GEMM_F32_AVX512_NAME)
#error "define LOWBIT_GEMM_F32_AVX512_NAME before including gemm_f32_avx512.hpp"
#endif

#if defined(__x86_64__) || defined(_M_X64)
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* placeholders.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm_f32.hpp"

namespace lowbit::kernels {
namespace {

inline __m256 fold(__m512 v) {
    const __m512 hi = _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2));
    return _mm512_castps512_ps256(_mm512_add_ps(v, hi));
}

inline float hsum(__m512 v) {
    const __m256 h = fold(v);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

template <int MT, int NR>
inline void tile(int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy) {
    __m512 acc[MT][NR];
    for (int t = 0; t < MT; ++t)
        for (int r = 0; r < NR; ++r) acc[t][r] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m512 xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = _mm512_loadu_ps(x + t * ldx + i);
        for (int r = 0; r < NR; ++r) {
            const __m512 wv = _mm512_loadu_ps(w + r * ldw + i);
            for (int t = 0; t < MT; ++t) acc[t][r] = _mm512_fmadd_ps(xv[t], wv, acc[t][r]);
        }
    }
    if (i < k) {
        const __mmask16 m = static_cast<__mmask16>((1u << (k - i)) - 1);
        __m512 xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x + t * ldx + i);
        for (int r = 0; r < NR; ++r) {
            const __m512 wv = _mm512_maskz_loadu_ps(m, w + r * ldw + i);
            for (int t = 0; t < MT; ++t) acc[t][r] = _mm512_fmadd_ps(xv[t], wv, acc[t][r]);
        }
    }
    for (int t = 0; t < MT; ++t) {
        if constexpr (NR == 4) {
            _mm_storeu_ps(y + t * ldy, hsum4(acc[t][0], acc[t][1], acc[t][2], acc[t][3]));
        } else {
            for (int r = 0; r < NR; ++r) y[t * ldy + r] = hsum(acc[t][r]);
        }
    }
}

template <int MT>
inline void token_group(int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw,
                        float* y, int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= n; r += 4) tile<MT, 4>(k, x, ldx, w + r * ldw, ldw, y + r, ldy);
    const float* wr = w + r * ldw;
    switch (n - r) {
        case 1: tile<MT, 1>(k, x, ldx, wr, ldw, y + r, ldy); break;
        case 2: tile<MT, 2>(k, x, ldx, wr, ldw, y + r, ldy); break;
        case 3: tile<MT, 3>(k, x, ldx, wr, ldw, y + r, ldy); break;
        default: break;
    }
}

}  // namespace

void LOWBIT_GEMM_F32_AVX512_NAME(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                                 int64_t ldw, float* y, int64_t ldy) {
    const int64_t mb = std::max<int64_t>(4, (32768 / (4 * std::max<int64_t>(k, 1))) / 4 * 4);
    for (int64_t t0 = 0; t0 < m; t0 += mb) {
        const int64_t t1 = std::min(m, t0 + mb);
        for (int64_t r0 = 0; r0 < n; r0 += 64) {
            const int64_t nr = std::min<int64_t>(64, n - r0);
            const float* wr = w + r0 * ldw;
            int64_t t = t0;
            for (; t + 4 <= t1; t += 4) token_group<4>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy);
            switch (t1 - t) {
                case 1: token_group<1>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy); break;
                case 2: token_group<2>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy); break;
                case 3: token_group<3>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy); break;
                default: break;
            }
        }
    }
}

}  // namespace lowbit::kernels
#endif
