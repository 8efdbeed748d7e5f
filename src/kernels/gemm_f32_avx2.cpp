// gemm_f32__avx2: y[t][r] = dot(x[t][0..k), w[r][0..k)) with AVX2 + FMA (see gemm_f32.hpp).
// Micro-tile: 3 tokens x 4 weight rows = 12 ymm accumulators; x stays in 3 registers, each weight
// vector is loaded once per 8 columns and used by 3 FMAs. The k tail (< 8) uses masked loads. The 4
// accumulators of one token reduce together (3 hadd + 1 add) into 4 adjacent outputs.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2_math.hpp"
#include "kernels/gemm_f32.hpp"

namespace lowbit::kernels {
namespace {

using avx2::hsum;
using avx2::hsum4;
using avx2::tail_mask;

template <int MT, int NR>
inline void tile(int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy) {
    __m256 acc[MT][NR];
    for (int t = 0; t < MT; ++t)
        for (int r = 0; r < NR; ++r) acc[t][r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = _mm256_loadu_ps(x + t * ldx + i);
        for (int r = 0; r < NR; ++r) {
            const __m256 wv = _mm256_loadu_ps(w + r * ldw + i);
            for (int t = 0; t < MT; ++t) acc[t][r] = _mm256_fmadd_ps(xv[t], wv, acc[t][r]);
        }
    }
    if (i < k) {
        const __m256i m = tail_mask(k - i);
        __m256 xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = _mm256_maskload_ps(x + t * ldx + i, m);
        for (int r = 0; r < NR; ++r) {
            const __m256 wv = _mm256_maskload_ps(w + r * ldw + i, m);
            for (int t = 0; t < MT; ++t) acc[t][r] = _mm256_fmadd_ps(xv[t], wv, acc[t][r]);
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
inline void row_tail(int64_t nr, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw,
                     float* y, int64_t ldy) {
    switch (nr) {
        case 1: tile<MT, 1>(k, x, ldx, w, ldw, y, ldy); break;
        case 2: tile<MT, 2>(k, x, ldx, w, ldw, y, ldy); break;
        case 3: tile<MT, 3>(k, x, ldx, w, ldw, y, ldy); break;
        default: break;
    }
}

template <int MT>
inline void token_group(int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw,
                        float* y, int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= n; r += 4) tile<MT, 4>(k, x, ldx, w + r * ldw, ldw, y + r, ldy);
    if (r < n) row_tail<MT>(n - r, k, x, ldx, w + r * ldw, ldw, y + r, ldy);
}

}  // namespace

void gemm_f32__avx2(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                    int64_t ldw, float* y, int64_t ldy) {
    // Token blocks small enough that x stays in L1 while every row of w passes over it.
    const int64_t mb = std::max<int64_t>(3, (16384 / (4 * std::max<int64_t>(k, 1))) / 3 * 3);
    for (int64_t t0 = 0; t0 < m; t0 += mb) {
        const int64_t t1 = std::min(m, t0 + mb);
        for (int64_t r0 = 0; r0 < n; r0 += 64) {
            const int64_t nr = std::min<int64_t>(64, n - r0);
            int64_t t = t0;
            for (; t + 3 <= t1; t += 3)
                token_group<3>(nr, k, x + t * ldx, ldx, w + r0 * ldw, ldw, y + t * ldy + r0, ldy);
            if (t1 - t == 2) token_group<2>(nr, k, x + t * ldx, ldx, w + r0 * ldw, ldw, y + t * ldy + r0, ldy);
            if (t1 - t == 1) token_group<1>(nr, k, x + t * ldx, ldx, w + r0 * ldw, ldw, y + t * ldy + r0, ldy);
        }
    }
}

}  // namespace lowbit::kernels
#endif
