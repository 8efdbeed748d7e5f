// gemm_f32__avx512: the AVX-512F version of gemm_f32 (see gemm_f32.hpp), on gemm_f32_tiles.hpp as
// gemm_f32__avx2: 4 tokens x 4 weight rows = 16 zmm accumulators over 16 columns per step; the k tail
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
#include "kernels/gemm_f32_tiles.hpp"

namespace lowbit::kernels {
namespace {

inline __m256 fold(__m512 v) {
    const __m512 hi = _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2));
    return _mm512_castps512_ps256(_mm512_add_ps(v, hi));
}

// gemm_f32_tiles.hpp's vector traits for AVX-512F (16 floats): each accumulator folds to 256 bits first.
struct v512 {
    using reg = __m512;
    static constexpr int width = 16;
    static __m512 zero() { return _mm512_setzero_ps(); }
    static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
    static __m512 fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
    static __mmask16 mask(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1); }
    static __m512 load_masked(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
    static float hsum(__m512 v) {
        const __m256 h = fold(v);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
    static __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
        const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
        return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    }
    static void store4(float* p, __m128 v) { _mm_storeu_ps(p, v); }
};

}  // namespace

void LOWBIT_GEMM_F32_AVX512_NAME(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                                 int64_t ldw, float* y, int64_t ldy) {
    f32_tiles::gemm<v512, 4>(m, n, k, x, ldx, w, ldw, y, ldy, 32768);
}

}  // namespace lowbit::kernels
#endif
