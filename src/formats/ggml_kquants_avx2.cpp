// AVX2 decoders of the K-quants, bit-exact with the scalar references in ggml_kquants.cpp.
//
// Each decoder unpacks one group of 16 or 32 quants to int8 lanes, widens 8 at a time to float and
// applies the same float operations, in the same order, as the reference:
//   Q2_K, Q4_K, Q5_K:  w = (d * sc) * q - (dmin * m)      (scalar products d*sc, dmin*m per group)
//   Q3_K:              w = (d * (sc - 32)) * q            (q in [-4, 3])
//   Q6_K:              w = (d * sc) * q                   (q in [-32, 31])
//   Q8_K:              w = d * q
// A multiply followed by a subtract is never fused into an fma (ISO C++ mode: GCC does not
// contract), so results equal the reference bit for bit. Bit layouts: docs/formats.md.
#include <immintrin.h>

#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_kquants.hpp"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace lowbit {
namespace {

// dst[0..8) = d * q - m for the 8 int8 lanes in the low half of `q8`.
inline void emit8(float* dst, __m128i q8, __m256 d, __m256 m) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
    _mm256_storeu_ps(dst, _mm256_sub_ps(_mm256_mul_ps(d, q), m));
}
inline void emit8(float* dst, __m128i q8, __m256 d) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
    _mm256_storeu_ps(dst, _mm256_mul_ps(d, q));
}

// 16 int8 lanes of `q16` -> dst[0..16).
inline void emit16(float* dst, __m128i q16, float d, float m) {
    const __m256 vd = _mm256_set1_ps(d), vm = _mm256_set1_ps(m);
    emit8(dst, q16, vd, vm);
    emit8(dst + 8, _mm_srli_si128(q16, 8), vd, vm);
}
inline void emit16(float* dst, __m128i q16, float d) {
    const __m256 vd = _mm256_set1_ps(d);
    emit8(dst, q16, vd);
    emit8(dst + 8, _mm_srli_si128(q16, 8), vd);
}

// 32 int8 lanes of `q32` -> dst[0..32), one scale/min for all.
inline void emit32(float* dst, __m256i q32, float d, float m) {
    emit16(dst, _mm256_castsi256_si128(q32), d, m);
    emit16(dst + 16, _mm256_extracti128_si256(q32, 1), d, m);
}

inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

}  // namespace

void dequantize_row_q2_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q2_k*>(src);
    const __m256i mask3 = _mm256_set1_epi8(3);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        int is = 0;
        for (int half = 0; half < 2; ++half) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * half));
            for (int shift = 0; shift < 8; shift += 2) {
                const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, shift), mask3);
                for (int part = 0; part < 2; ++part) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * static_cast<float>(sc & 0xF);
                    const float ml = min * static_cast<float>(sc >> 4);
                    const __m128i v16 = part == 0 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
                    emit16(dst, v16, dl, ml);
                    dst += 16;
                }
            }
        }
    }
}

void dequantize_row_q3_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q3_k*>(src);
    const __m256i mask3 = _mm256_set1_epi8(3);
    const __m256i four = _mm256_set1_epi8(4);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d_all = fp16_to_f32(x[i].d);
        // Unpack the 16 six-bit scales (minus 32).
        int8_t scales[16];
        for (int j = 0; j < 16; ++j) {
            const int lo = j < 8 ? (x[i].scales[j] & 0xF) : (x[i].scales[j - 8] >> 4);
            scales[j] = static_cast<int8_t>((lo | (((x[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
        }
        const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].hmask));
        int is = 0;
        int bit = 0;
        for (int half = 0; half < 2; ++half) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * half));
            for (int shift = 0; shift < 8; shift += 2, ++bit) {
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, shift), mask3);
                // hbit set: +0, clear: -4.
                const __m256i m = _mm256_set1_epi8(static_cast<char>(1 << bit));
                const __m256i has = _mm256_cmpeq_epi8(_mm256_and_si256(hm, m), m);
                const __m256i v = _mm256_sub_epi8(lo, _mm256_andnot_si256(has, four));
                for (int part = 0; part < 2; ++part) {
                    const float dl = d_all * static_cast<float>(scales[is++]);
                    const __m128i v16 = part == 0 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
                    emit16(dst, v16, dl);
                    dst += 16;
                }
            }
        }
    }
}

void dequantize_row_q4_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_k*>(src);
    const __m256i mask4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        for (int j = 0; j < 4; ++j) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * j));
            uint8_t sc, m;
            get_scale_min_k4(2 * j, x[i].scales, &sc, &m);
            emit32(dst, _mm256_and_si256(q, mask4), d * static_cast<float>(sc), min * static_cast<float>(m));
            get_scale_min_k4(2 * j + 1, x[i].scales, &sc, &m);
            emit32(dst + 32, _mm256_and_si256(_mm256_srli_epi16(q, 4), mask4), d * static_cast<float>(sc),
                   min * static_cast<float>(m));
            dst += 64;
        }
    }
}

void dequantize_row_q5_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_k*>(src);
    const __m256i mask4 = _mm256_set1_epi8(0xF);
    const __m256i bit4 = _mm256_set1_epi8(16);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh));
        for (int j = 0; j < 4; ++j) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs + 32 * j));
            // High bits of this pair of sub-blocks: qh bit 2j (low nibbles), bit 2j+1 (high nibbles),
            // moved to bit 4. Shifting 16-bit lanes can pull bits across bytes; the mask drops them.
            const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * j), 4), bit4);
            const __m256i h2 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * j + 1), 4), bit4);
            uint8_t sc, m;
            get_scale_min_k4(2 * j, x[i].scales, &sc, &m);
            emit32(dst, _mm256_or_si256(_mm256_and_si256(q, mask4), h1), d * static_cast<float>(sc),
                   min * static_cast<float>(m));
            get_scale_min_k4(2 * j + 1, x[i].scales, &sc, &m);
            emit32(dst + 32, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), mask4), h2),
                   d * static_cast<float>(sc), min * static_cast<float>(m));
            dst += 64;
        }
    }
}

void dequantize_row_q6_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q6_k*>(src);
    const __m256i mask4 = _mm256_set1_epi8(0xF);
    const __m256i mask2 = _mm256_set1_epi8(3);
    const __m256i bias = _mm256_set1_epi8(32);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const int8_t* sc = x[i].scales;
        for (int half = 0; half < 2; ++half) {
            const uint8_t* ql = x[i].ql + 64 * half;
            const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
            const __m256i qb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qh + 32 * half));
            auto high = [&](int shift) {
                return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), mask2), 4);
            };
            const __m256i v[4] = {
                _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qa, mask4), high(0)), bias),
                _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qb, mask4), high(2)), bias),
                _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), mask4), high(4)), bias),
                _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), mask4), high(6)), bias),
            };
            // Group k of 32 (k = 0..3) covers outputs [32k, 32k+32) with scales sc[2k], sc[2k+1].
            for (int k = 0; k < 4; ++k) {
                emit16(dst + 32 * k, _mm256_castsi256_si128(v[k]), d * static_cast<float>(sc[2 * k]));
                emit16(dst + 32 * k + 16, _mm256_extracti128_si256(v[k], 1), d * static_cast<float>(sc[2 * k + 1]));
            }
            dst += 128;
            sc += 8;
        }
    }
}

void dequantize_row_q8_k__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const __m256 d = _mm256_set1_ps(x[i].d);
        for (int j = 0; j < k_qk_k; j += 16) {
            const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + j));
            emit8(dst, q, d);
            emit8(dst + 8, _mm_srli_si128(q, 8), d);
            dst += 16;
        }
    }
}

}  // namespace lowbit
