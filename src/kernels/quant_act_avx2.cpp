// AVX2 activation quantizers, byte-exact with quant_act.cpp's __ref versions: max|x| is exact in any
// order, the scale is computed by the same scalar expression, and _mm256_round_ps(NEAREST) rounds
// ties to even as nearbyint does.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "kernels/quant_act.hpp"

namespace lowbit::kernels {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// 32 floats * scale, rounded to even, packed to 32 saturated int8 in order.
inline __m256i round_pack32(const float* x, __m256 scale) {
    const int r = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m256i a = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), scale), r));
    const __m256i b = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), scale), r));
    const __m256i c = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), scale), r));
    const __m256i d = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), scale), r));
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace

void quantize_act_q8_0__avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_0*>(dst);
    for (int64_t b = 0; b < n / k_qk8_0; ++b, x += k_qk8_0) {
        __m256 m = _mm256_setzero_ps();  // NaNs skipped, as __ref's fmax: see quantize_act_q8_k__avx2
        for (int j = 0; j < k_qk8_0; j += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + j)), m);
        const float amax = hmax(m);
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), round_pack32(x, _mm256_set1_ps(id)));
    }
}

void quantize_act_q8_1__avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_1*>(dst);
    for (int64_t b = 0; b < n / k_qk8_1; ++b, x += k_qk8_1) {
        __m256 m = _mm256_setzero_ps();  // NaNs skipped, as __ref's fmax: see quantize_act_q8_k__avx2
        for (int j = 0; j < k_qk8_1; j += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + j)), m);
        const float amax = hmax(m);
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        const __m256i q = round_pack32(x, _mm256_set1_ps(id));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), q);
        // sum of the 32 codes (exact in int32), then the same scalar expression as __ref.
        const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x1));
        y[b].d = f32_to_fp16(d);
        y[b].s = f32_to_fp16(static_cast<float>(_mm_cvtsi128_si32(s)) * d);
    }
}

void quantize_act_q8_k__avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_k*>(dst);
    for (int64_t b = 0; b < n / k_qk_k; ++b, x += k_qk_k) {
        __m256 m = _mm256_setzero_ps();
        // max_ps returns its second operand when either is NaN: with m second, NaNs are skipped (as __ref's
        // `>`), so amax is the magnitude of some x[first] below and the search stops inside the block.
        for (int j = 0; j < k_qk_k; j += 8) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + j)), m);
        const float amax = hmax(m);
        if (amax == 0) {
            std::memset(&y[b], 0, sizeof(block_q8_k));
            continue;
        }
        int first = 0;
        while (std::fabs(x[first]) != amax) ++first;  // the first value of largest magnitude, as __ref
        const float iscale = -127.0f / x[first];
        const __m256 s = _mm256_set1_ps(iscale);
        for (int j = 0; j < k_qk_k; j += 32) {
            const __m256i q = round_pack32(x + j, s);  // packs saturates +128 to 127 = min(127, q)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + j), q);
            // Two sums of 16: widen to int16 and add pairs, then within each 128-bit lane.
            const __m256i p = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(q)), _mm256_set1_epi16(1));
            const __m256i r = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(q, 1)),
                                                _mm256_set1_epi16(1));
            alignas(32) int32_t lo[8], hi[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(lo), p);
            _mm256_store_si256(reinterpret_cast<__m256i*>(hi), r);
            int sum_lo = 0, sum_hi = 0;
            for (int i = 0; i < 8; ++i) {
                sum_lo += lo[i];
                sum_hi += hi[i];
            }
            y[b].bsums[j / 16] = static_cast<int16_t>(sum_lo);
            y[b].bsums[j / 16 + 1] = static_cast<int16_t>(sum_hi);
        }
        y[b].d = 1 / iscale;
    }
}

}  // namespace lowbit::kernels
