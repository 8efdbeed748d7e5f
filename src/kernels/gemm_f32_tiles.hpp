// The register-tiled f32 GEMM of gemm_f32__avx2, gemm_f32__avx512 and gemm_f32__simd128 (gemm_f32.hpp), one
// source for every vector width. Each includes it under its tier's flags, with a vector traits V:
//   V::reg                       the vector register type; V::width floats
//   V::zero(), V::load(p)        a zero register; width floats from p (unaligned)
//   V::fma(a, b, acc)            a * b + acc, fused
//   V::mask(rem), V::load_masked(p, m)   the k tail (rem < width): lanes past rem are 0 and their memory
//                                is not read (the row may end there)
//   V::hsum(v), V::hsum4(a, b, c, d)     the sum of v's lanes; the 4 sums as one 4-float vector
//   V::store4(p, v)              that vector to p[0..3]
// Micro-tile: MT tokens x NR weight rows = MT x NR accumulators over `width` columns per step; x stays in
// MT registers, each weight vector is loaded once and used by MT FMAs. The 4 accumulators of one token
// reduce together into 4 adjacent outputs.
#pragma once

#include <algorithm>
#include <cstdint>

namespace lowbit::kernels::f32_tiles {

template <class V, int MT, int NR>
inline void tile(int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw, float* y, int64_t ldy) {
    typename V::reg acc[MT][NR];
    for (int t = 0; t < MT; ++t)
        for (int r = 0; r < NR; ++r) acc[t][r] = V::zero();
    int64_t i = 0;
    for (; i + V::width <= k; i += V::width) {
        typename V::reg xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = V::load(x + t * ldx + i);
        for (int r = 0; r < NR; ++r) {
            const typename V::reg wv = V::load(w + r * ldw + i);
            for (int t = 0; t < MT; ++t) acc[t][r] = V::fma(xv[t], wv, acc[t][r]);
        }
    }
    if (i < k) {
        const auto m = V::mask(k - i);
        typename V::reg xv[MT];
        for (int t = 0; t < MT; ++t) xv[t] = V::load_masked(x + t * ldx + i, m);
        for (int r = 0; r < NR; ++r) {
            const typename V::reg wv = V::load_masked(w + r * ldw + i, m);
            for (int t = 0; t < MT; ++t) acc[t][r] = V::fma(xv[t], wv, acc[t][r]);
        }
    }
    for (int t = 0; t < MT; ++t) {
        if constexpr (NR == 4) {
            V::store4(y + t * ldy, V::hsum4(acc[t][0], acc[t][1], acc[t][2], acc[t][3]));
        } else {
            for (int r = 0; r < NR; ++r) y[t * ldy + r] = V::hsum(acc[t][r]);
        }
    }
}

// MT tokens against n weight rows: groups of 4 rows, then the 1-3 left.
template <class V, int MT>
inline void token_group(int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw, float* y,
                        int64_t ldy) {
    int64_t r = 0;
    for (; r + 4 <= n; r += 4) tile<V, MT, 4>(k, x, ldx, w + r * ldw, ldw, y + r, ldy);
    const float* wr = w + r * ldw;
    switch (n - r) {
        case 1: tile<V, MT, 1>(k, x, ldx, wr, ldw, y + r, ldy); break;
        case 2: tile<V, MT, 2>(k, x, ldx, wr, ldw, y + r, ldy); break;
        case 3: tile<V, MT, 3>(k, x, ldx, wr, ldw, y + r, ldy); break;
        default: break;
    }
}

// y[t][r] = dot(x[t], w[r]): token blocks of whole MT-token groups holding at most about x_bytes of x
// (so that x stays in L1 while every row of a 64-row block of w passes over it).
template <class V, int MT>
void gemm(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw, float* y,
          int64_t ldy, int64_t x_bytes) {
    static_assert(MT == 3 || MT == 4, "token tails of 1..MT-1");
    const int64_t mb = std::max<int64_t>(MT, (x_bytes / (4 * std::max<int64_t>(k, 1))) / MT * MT);
    for (int64_t t0 = 0; t0 < m; t0 += mb) {
        const int64_t t1 = std::min(m, t0 + mb);
        for (int64_t r0 = 0; r0 < n; r0 += 64) {
            const int64_t nr = std::min<int64_t>(64, n - r0);
            const float* wr = w + r0 * ldw;
            int64_t t = t0;
            for (; t + MT <= t1; t += MT) token_group<V, MT>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy);
            switch (t1 - t) {
                case 1: token_group<V, 1>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy); break;
                case 2: token_group<V, 2>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy); break;
                case 3:
                    if constexpr (MT == 4) token_group<V, 3>(nr, k, x + t * ldx, ldx, wr, ldw, y + t * ldy + r0, ldy);
                    break;
                default: break;
            }
        }
    }
}

}  // namespace lowbit::kernels::f32_tiles
