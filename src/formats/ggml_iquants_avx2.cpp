// AVX2 decoders of IQ4_NL, IQ4_XS, IQ3_XXS, IQ3_S, TQ1_0 and TQ2_0, bit-exact with the scalar
// references in ggml_iquants.cpp (same float products in the same order: an int -> float
// conversion is exact, each output is one or two IEEE multiplies, and a sign flip is a multiply
// by -1). Layouts: docs/formats.md, "ggml i-quants and ternary". Compiled with -mavx2 -mfma -mf16c;
// only called when the CPU has AVX2 (format_table.cpp picks it at run time).
#include <immintrin.h>

#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_iquants.hpp"
#include "formats/iq_grids.hpp"

namespace lowbit {
namespace {

// 16 int8 lanes -> 2 x 8 floats times `scale`, stored to y[0..16).
inline void store_i8x16_scaled(__m128i v, __m256 scale, float* y) {
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)));
    _mm256_storeu_ps(y, _mm256_mul_ps(lo, scale));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(hi, scale));
}

// 32 weights from 16 nibble bytes: y[j] = scale * values[low nibble j], y[j + 16] = high nibble.
inline void decode_iq4_32(const uint8_t* qs, __m128i table, __m256 scale, float* y) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_shuffle_epi8(table, _mm_and_si128(q, m4));
    const __m128i hi = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), m4));
    store_i8x16_scaled(lo, scale, y);
    store_i8x16_scaled(hi, scale, y + 16);
}

// 8 grid bytes (two 4-lane grid points) times db, lanes whose bit is set in `signs` negated.
inline void decode_grid8(uint32_t g1, uint32_t g2, uint8_t signs, __m256 db, float* y) {
    const __m128i g = _mm_set_epi32(0, 0, static_cast<int>(g2), static_cast<int>(g1));
    const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(g)), db);
    const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i neg = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(signs), bits), bits);
    const __m256i sign_bit = _mm256_and_si256(neg, _mm256_set1_epi32(static_cast<int>(0x80000000u)));
    _mm256_storeu_ps(y, _mm256_xor_ps(v, _mm256_castsi256_ps(sign_bit)));
}

// 32 int16 lanes holding trits 0..2 -> (t - 1) * d, stored to y[0..32).
inline void store_trits16(__m256i t16_lo, __m256i t16_hi, __m256 d, float* y) {
    const __m256i one = _mm256_set1_epi16(1);
    const __m256i a = _mm256_sub_epi16(t16_lo, one);
    const __m256i b = _mm256_sub_epi16(t16_hi, one);
    _mm256_storeu_ps(y + 0, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(a))), d));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(a, 1))), d));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(b))), d));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(b, 1))), d));
}

// Trit n of 16 packed bytes (as uint16 lanes b): ((b * 3^n mod 256) * 3) >> 8.
inline __m256i trit16(__m256i b, int pow3) {
    const __m256i q = _mm256_and_si256(_mm256_mullo_epi16(b, _mm256_set1_epi16(static_cast<int16_t>(pow3))),
                                       _mm256_set1_epi16(0xff));
    return _mm256_srli_epi16(_mm256_mullo_epi16(q, _mm256_set1_epi16(3)), 8);
}

constexpr int k_pow3[5] = {1, 3, 9, 27, 81};

}  // namespace

void dequantize_row_iq4_nl__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq4_nl*>(src);
    const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_iq4nl_values));
    for (int64_t i = 0; i < n / k_qk4_nl; ++i)
        decode_iq4_32(x[i].qs, table, _mm256_set1_ps(fp16_to_f32(x[i].d)), dst + i * k_qk4_nl);
}

void dequantize_row_iq4_xs__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq4_xs*>(src);
    const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_iq4nl_values));
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        for (int ib = 0; ib < k_qk_k / 32; ++ib) {
            const int ls = iq4_xs_scale(x[i], ib);
            const float dl = d * static_cast<float>(ls - 32);
            decode_iq4_32(x[i].qs + 16 * ib, table, _mm256_set1_ps(dl), dst + i * k_qk_k + 32 * ib);
        }
    }
}

void dequantize_row_iq3_xxs__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq3_xxs*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const uint8_t* qs = x[i].qs;
        const uint8_t* scales_and_signs = x[i].qs + k_qk_k / 4;
        float* y = dst + i * k_qk_k;
        for (int ib32 = 0; ib32 < k_qk_k / 32; ++ib32) {
            uint32_t aux32;
            std::memcpy(&aux32, scales_and_signs + 4 * ib32, sizeof(aux32));
            const __m256 db = _mm256_set1_ps(d * (0.5f + static_cast<float>(aux32 >> 28)) * 0.5f);
            for (int l = 0; l < 4; ++l) {
                decode_grid8(k_iq3xxs_grid[qs[8 * ib32 + 2 * l]], k_iq3xxs_grid[qs[8 * ib32 + 2 * l + 1]],
                             k_iq_ksigns[(aux32 >> 7 * l) & 127], db, y);
                y += 8;
            }
        }
    }
}

void dequantize_row_iq3_s__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq3_s*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        float* y = dst + i * k_qk_k;
        for (int ib32 = 0; ib32 < k_qk_k / 32; ++ib32) {
            const int sc = (x[i].scales[ib32 / 2] >> 4 * (ib32 % 2)) & 0xf;
            const __m256 db = _mm256_set1_ps(d * static_cast<float>(1 + 2 * sc));
            const uint8_t* qs = x[i].qs + 8 * ib32;
            const int qh = x[i].qh[ib32];
            for (int l = 0; l < 4; ++l) {
                const uint32_t g1 = k_iq3s_grid[qs[2 * l + 0] | ((qh << (8 - 2 * l)) & 256)];
                const uint32_t g2 = k_iq3s_grid[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)];
                decode_grid8(g1, g2, x[i].signs[4 * ib32 + l], db, y);
                y += 8;
            }
        }
    }
}

void dequantize_row_tq1_0__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_tq1_0*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const __m256 d = _mm256_set1_ps(fp16_to_f32(x[i].d));
        float* y = dst + i * k_qk_k;
        // qs[0..32): 5 trits each -> 5 runs of 32 weights.
        const __m256i b_lo = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs)));
        const __m256i b_hi = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + 16)));
        for (int t = 0; t < 5; ++t) {
            store_trits16(trit16(b_lo, k_pow3[t]), trit16(b_hi, k_pow3[t]), d, y);
            y += 32;
        }
        // qs[32..48): 5 trits each -> 5 runs of 16; qh[0..4): 4 trits each -> 4 runs of 4.
        const __m256i b2 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + 32)));
        for (int t = 0; t < 5; t += 2) {
            const __m256i a = trit16(b2, k_pow3[t]);
            if (t + 1 < 5) {
                store_trits16(a, trit16(b2, k_pow3[t + 1]), d, y);
                y += 32;
            } else {
                const __m256i a1 = _mm256_sub_epi16(a, _mm256_set1_epi16(1));
                _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(a1))), d));
                _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(a1, 1))), d));
                y += 16;
            }
        }
        for (int t = 0; t < 4; ++t)
            for (size_t j = 0; j < sizeof(block_tq1_0::qh); ++j) {
                const uint8_t q = static_cast<uint8_t>(x[i].qh[j] * k_pow3[t]);
                const int xi = (static_cast<uint16_t>(q) * 3) >> 8;
                *y++ = static_cast<float>(xi - 1) * fp16_to_f32(x[i].d);
            }
    }
}

void dequantize_row_tq2_0__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_tq2_0*>(src);
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const __m256 d = _mm256_set1_ps(fp16_to_f32(x[i].d));
        float* y = dst + i * k_qk_k;
        for (size_t j = 0; j < sizeof(block_tq2_0::qs); j += 32) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + j));
            for (int l = 0; l < 4; ++l) {
                const __m256i v = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 2 * l), m3), one);
                store_i8x16_scaled(_mm256_castsi256_si128(v), d, y);
                store_i8x16_scaled(_mm256_extracti128_si256(v, 1), d, y + 16);
                y += 32;
            }
        }
    }
}

}  // namespace lowbit
