// gemm_f32__avx2: y[t][r] = dot(x[t][0..k), w[r][0..k)) with AVX2 + FMA (see gemm_f32.hpp), on
// gemm_f32_tiles.hpp: 3 tokens x 4 weight rows = 12 ymm accumulators; the k tail (< 8) uses masked
// loads; the 4 accumulators of one token reduce together (3 hadd + 1 add) into 4 adjacent outputs.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2_math.hpp"
#include "kernels/gemm_f32.hpp"
#include "kernels/gemm_f32_tiles.hpp"

#include <type_traits>

#include "core/half.hpp"
#include "kernels/simd_tile_common.hpp"

namespace lowbit::kernels {
namespace {

// Element tags for pack_panel's F16 / BF16 rows (2-byte values).
struct f16_tag {
    uint16_t bits;
};
struct bf16_tag {
    uint16_t bits;
};


// gemm_f32_tiles.hpp's vector traits for AVX2 (8 floats).
struct v256 {
    using reg = __m256;
    static constexpr int width = 8;
    static __m256 zero() { return _mm256_setzero_ps(); }
    static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
    static __m256 fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
    static __m256i mask(int64_t rem) { return avx2::tail_mask(rem); }
    static __m256 load_masked(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
    static float hsum(__m256 v) { return avx2::hsum(v); }
    static __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) { return avx2::hsum4(a, b, c, d); }
    static void store4(float* p, __m128 v) { _mm_storeu_ps(p, v); }
};

// The 16 rows of column j: from an f32 panel, or from two tiles of 16-bit floats converted in registers.
struct f32_panel {
    const float* p;
    __m256 lo(int64_t j) const { return _mm256_load_ps(p + 16 * j); }
    __m256 hi(int64_t j) const { return _mm256_load_ps(p + 16 * j + 8); }
};
template <bool BF16>
struct half_tiles {
    const uint16_t* a;  // rows 0-7, column j at a + 8 j
    const uint16_t* b;  // rows 8-15
    static __m256 cvt(const uint16_t* h) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
        if constexpr (BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
        else return _mm256_cvtph_ps(v);
    }
    __m256 lo(int64_t j) const { return cvt(a + 8 * j); }
    __m256 hi(int64_t j) const { return cvt(b + 8 * j); }
};

// 16 panel rows x NT tokens over kc columns; y[t * ldy + r] = (or +=) the sums, r < n_rows.
template <int NT, class Src>
void panel_tokens(int64_t kc, Src panel, const float* xi, float* y, int64_t ldy, int n_rows, bool add) {
    constexpr int T = k_panel_tokens;
    __m256 a0[NT], a1[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
    for (int64_t j = 0; j < kc; ++j) {
        const __m256 w0 = panel.lo(j), w1 = panel.hi(j);
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
            const __m256 xb = _mm256_broadcast_ss(xi + T * j + t);
            a0[t] = _mm256_fmadd_ps(w0, xb, a0[t]);
            a1[t] = _mm256_fmadd_ps(w1, xb, a1[t]);
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
        float* yt = y + t * ldy;
        if (n_rows == 16) {
            if (add) {
                a0[t] = _mm256_add_ps(a0[t], _mm256_loadu_ps(yt));
                a1[t] = _mm256_add_ps(a1[t], _mm256_loadu_ps(yt + 8));
            }
            _mm256_storeu_ps(yt, a0[t]);
            _mm256_storeu_ps(yt + 8, a1[t]);
        } else {
            alignas(32) float v[16];
            _mm256_store_ps(v, a0[t]);
            _mm256_store_ps(v + 8, a1[t]);
            for (int r = 0; r < n_rows; ++r) yt[r] = add ? yt[r] + v[r] : v[r];
        }
    }
}

template <class Src>
void panel_gemm_dispatch(int64_t kc, Src panel, const float* xi, int n_tok, float* y, int64_t ldy, int n_rows,
                         bool add) {
    switch (n_tok) {
        case 1: panel_tokens<1>(kc, panel, xi, y, ldy, n_rows, add); break;
        case 2: panel_tokens<2>(kc, panel, xi, y, ldy, n_rows, add); break;
        case 3: panel_tokens<3>(kc, panel, xi, y, ldy, n_rows, add); break;
        case 4: panel_tokens<4>(kc, panel, xi, y, ldy, n_rows, add); break;
        case 5: panel_tokens<5>(kc, panel, xi, y, ldy, n_rows, add); break;
        case 6: panel_tokens<6>(kc, panel, xi, y, ldy, n_rows, add); break;
        default: break;
    }
}

}  // namespace

void gemm_f32__avx2(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                    int64_t ldw, float* y, int64_t ldy) {
    f32_tiles::gemm<v256, 3>(m, n, k, x, ldx, w, ldw, y, ldy, 16384);
}

void gemm_panel_f32__avx2(int64_t kc, const float* panel, const float* xi, int n_tok, float* y, int64_t ldy, int n_rows,
                          bool add) {
    panel_gemm_dispatch(kc, f32_panel{panel}, xi, n_tok, y, ldy, n_rows, add);
}
void gemm_panel_f16x2__avx2(int64_t kc, const uint16_t* rows0_7, const uint16_t* rows8_15, const float* xi, int n_tok,
                            float* y, int64_t ldy, int n_rows, bool add) {
    panel_gemm_dispatch(kc, half_tiles<false>{rows0_7, rows8_15}, xi, n_tok, y, ldy, n_rows, add);
}
void gemm_panel_bf16x2__avx2(int64_t kc, const uint16_t* rows0_7, const uint16_t* rows8_15, const float* xi, int n_tok,
                             float* y, int64_t ldy, int n_rows, bool add) {
    panel_gemm_dispatch(kc, half_tiles<true>{rows0_7, rows8_15}, xi, n_tok, y, ldy, n_rows, add);
}

namespace {

// 8 values of row r from column j on, as floats: F32 as is, F16 by vcvtph2ps, BF16 by a 16-bit shift.
template <class Elem>
inline __m256 load8(const Elem* p) {
    if constexpr (sizeof(Elem) == 4) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if constexpr (std::is_same_v<Elem, bf16_tag>) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        else return _mm256_cvtph_ps(h);
    }
}
template <class Elem>
inline float load1(const Elem* p) {
    if constexpr (sizeof(Elem) == 4) return *reinterpret_cast<const float*>(p);
    else if constexpr (std::is_same_v<Elem, bf16_tag>) return bf16_to_f32(p->bits);
    else return _cvtsh_ss(p->bits);
}

// 8 rows x 8 columns at a time: an 8x8 transpose puts column j's 8 rows in one vector, stored at
// panel + 16 j + (rows 0-7 or 8-15).
template <class Elem>
void pack_panel(const Elem* rows, int64_t ld, int n_rows, int64_t kc, float* panel) {
    for (int h = 0; h < 2; ++h) {
        const int r0 = 8 * h;
        const int nr = std::max(0, std::min(8, n_rows - r0));
        if (nr == 0) {
            for (int64_t j = 0; j < kc; ++j) _mm256_store_ps(panel + 16 * j + r0, _mm256_setzero_ps());
            continue;
        }
        int64_t j = 0;
        for (; j + 8 <= kc; j += 8) {
            __m256i v[8];
            for (int r = 0; r < 8; ++r)
                v[r] = _mm256_castps_si256(r < nr ? load8(rows + (r0 + r) * ld + j) : _mm256_setzero_ps());
            simd::transpose8x8_epi32(v);
            for (int c = 0; c < 8; ++c) _mm256_store_ps(panel + 16 * (j + c) + r0, _mm256_castsi256_ps(v[c]));
        }
        for (; j < kc; ++j)
            for (int r = 0; r < 8; ++r) panel[16 * j + r0 + r] = r < nr ? load1(rows + (r0 + r) * ld + j) : 0.0f;
    }
}

}  // namespace

void pack_panel_f32__avx2(const float* rows, int64_t ld, int n_rows, int64_t kc, float* panel) {
    pack_panel(rows, ld, n_rows, kc, panel);
}
void pack_panel_f16__avx2(const void* rows, int64_t ld, int n_rows, int64_t kc, float* panel) {
    pack_panel(static_cast<const f16_tag*>(rows), ld, n_rows, kc, panel);
}
void pack_panel_bf16__avx2(const void* rows, int64_t ld, int n_rows, int64_t kc, float* panel) {
    pack_panel(static_cast<const bf16_tag*>(rows), ld, n_rows, kc, panel);
}

}  // namespace lowbit::kernels
#endif
