// AVX2 W8A8 kernels (w8a8.hpp): the same integers and float operations as the __ref versions.
//   quantize: x * (1/d) -> round to nearest even -> clamp [-127, 127] -> pack to int8
//   dot:      w = u ^ 0x80 (int8 in [-128, 127]); maddubs(|w|, sign(q, w)) gives int16 pairs of
//             |w| * sign(w) q <= 128 * 127 * 2 < 2^15 (no saturation), madd with 1 -> int32 lanes,
//             flushed to int64 every 2^14 steps of 32 (each lane grows by < 2^16 per step).
//   dot4:     the same per row, four rows sharing each activation load.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/w8a8.hpp"

namespace lowbit::kernels {

void quantize_row_s8__avx2(const float* x, int8_t* q, int64_t n, float d) {
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    const __m256 vid = _mm256_set1_ps(id), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    int64_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256i v[4];
        for (int i = 0; i < 4; ++i) {
            __m256 f = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * i), vid);
            f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
            v[i] = _mm256_cvtps_epi32(f);
        }
        // packs interleave 128-bit lanes; the permute restores element order.
        const __m256i a = _mm256_packs_epi32(v[0], v[1]), b = _mm256_packs_epi32(v[2], v[3]);
        __m256i p = _mm256_packs_epi16(a, b);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j), p);
    }
    for (; j < n; ++j) {
        float v = std::nearbyint(x[j] * id);
        if (!(v >= -127.0f)) v = -127.0f;
        if (v > 127.0f) v = 127.0f;
        q[j] = static_cast<int8_t>(v);
    }
}

float absmax_f32__avx2(const float* x, int64_t n) {
    const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), mask));
    alignas(32) float t[8];
    _mm256_store_ps(t, m);
    float r = 0.0f;
    for (float v : t) r = r > v ? r : v;
    for (; j < n; ++j) {
        const float a = std::fabs(x[j]);
        r = r > a ? r : a;
    }
    return r;
}

int64_t dot_u8off_s8__avx2(const uint8_t* u, const int8_t* q, int64_t n) {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
    int64_t total = 0;
    int64_t j = 0;
    while (j + 32 <= n) {
        const int64_t end = std::min<int64_t>(n - (n - j) % 32, j + int64_t(32) * 16384);
        __m256i acc = _mm256_setzero_si256();
        for (; j < end; j += 32) {
            const __m256i w = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + j)), flip);
            const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j));
            const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
        }
        alignas(32) int32_t t[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(t), acc);
        for (int32_t v : t) total += v;
    }
    for (; j < n; ++j) total += (int64_t(u[j]) - 128) * int64_t(q[j]);
    return total;
}

void dot4_u8off_s8__avx2(const uint8_t* const* u, const int8_t* q, int64_t n, int64_t* out) {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
    int64_t total[4] = {0, 0, 0, 0};
    int64_t j = 0;
    while (j + 32 <= n) {
        const int64_t end = std::min<int64_t>(n - (n - j) % 32, j + int64_t(32) * 16384);
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
        for (; j < end; j += 32) {
            const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j));
            for (int i = 0; i < 4; ++i) {
                const __m256i w = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u[i] + j)), flip);
                const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(p, ones));
            }
        }
        for (int i = 0; i < 4; ++i) {
            alignas(32) int32_t t[8];
            _mm256_store_si256(reinterpret_cast<__m256i*>(t), acc[i]);
            for (int32_t v : t) total[i] += v;
        }
    }
    for (int i = 0; i < 4; ++i) {
        for (int64_t jj = j; jj < n; ++jj) total[i] += (int64_t(u[i][jj]) - 128) * int64_t(q[jj]);
        out[i] = total[i];
    }
}

}  // namespace lowbit::kernels
