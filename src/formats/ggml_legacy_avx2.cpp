// AVX2 + F16C decoders for llama.cpp's legacy types and half floats, bit-exact with the scalar
// references in ggml_legacy.cpp (layouts and math: ggml_blocks.hpp, docs/formats.md).
//
// Per block of 32: codes are widened to int32, offset in the integer domain, converted to float
// (exact) and multiplied by the fp16 scale, then (Q4_1/Q5_1) the min is added as a separate rounding
// step — the same two roundings as `x*d + m` in ggml's C (never a fused multiply-add).
//
// Nothing here is inline in a shared header: this file is compiled with -mavx2, and an inline
// function instantiated here could otherwise be picked by the linker for portable callers.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "formats/ggml_blocks.hpp"
#include "formats/ggml_legacy.hpp"

namespace lowbit {
namespace {

inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// 16 packed bytes -> 32 codes as 4 x 8 int32 (weights j, j+8 from the low nibbles, j+16, j+24 from
// the high ones), minus `offset`, times d (+ m).
template <bool k_has_min>
inline void store_nibbles(const uint8_t* qs, __m256i hi0, __m256i hi1, __m256i hi2, __m256i hi3, int offset,
                          __m256 d, __m256 m, float* y) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(raw, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
    const __m256i off = _mm256_set1_epi32(offset);
    __m256i q[4] = {
        _mm256_cvtepu8_epi32(lo),
        _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)),
        _mm256_cvtepu8_epi32(hi),
        _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)),
    };
    q[0] = _mm256_or_si256(q[0], hi0);
    q[1] = _mm256_or_si256(q[1], hi1);
    q[2] = _mm256_or_si256(q[2], hi2);
    q[3] = _mm256_or_si256(q[3], hi3);
    for (int k = 0; k < 4; ++k) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], off)), d);
        if constexpr (k_has_min) v = _mm256_add_ps(v, m);
        _mm256_storeu_ps(y + 8 * k, v);
    }
}

// 5th bits of weights base..base+7 from qh, as 0 or 16 per int32 lane.
inline __m256i high_bits(uint32_t qh, int base) {
    const __m256i shifts = _mm256_setr_epi32(base, base + 1, base + 2, base + 3, base + 4, base + 5,
                                             base + 6, base + 7);
    const __m256i bits = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(qh)), shifts),
                                          _mm256_set1_epi32(1));
    return _mm256_slli_epi32(bits, 4);
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace

void dequantize_row_q4_0__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_0*>(src);
    const __m256i z = _mm256_setzero_si256();
    for (int64_t i = 0; i < n / k_qk4_0; ++i) {
        const __m256 d = _mm256_set1_ps(half_to_float(x[i].d));
        store_nibbles<false>(x[i].qs, z, z, z, z, 8, d, d, dst + i * k_qk4_0);
    }
}

void dequantize_row_q4_1__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_1*>(src);
    const __m256i z = _mm256_setzero_si256();
    for (int64_t i = 0; i < n / k_qk4_1; ++i) {
        const __m256 d = _mm256_set1_ps(half_to_float(x[i].d));
        const __m256 m = _mm256_set1_ps(half_to_float(x[i].m));
        store_nibbles<true>(x[i].qs, z, z, z, z, 0, d, m, dst + i * k_qk4_1);
    }
}

void dequantize_row_q5_0__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_0*>(src);
    for (int64_t i = 0; i < n / k_qk5_0; ++i) {
        const __m256 d = _mm256_set1_ps(half_to_float(x[i].d));
        const uint32_t qh = load_u32(x[i].qh);
        store_nibbles<false>(x[i].qs, high_bits(qh, 0), high_bits(qh, 8), high_bits(qh, 16), high_bits(qh, 24),
                             16, d, d, dst + i * k_qk5_0);
    }
}

void dequantize_row_q5_1__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_1*>(src);
    for (int64_t i = 0; i < n / k_qk5_1; ++i) {
        const __m256 d = _mm256_set1_ps(half_to_float(x[i].d));
        const __m256 m = _mm256_set1_ps(half_to_float(x[i].m));
        const uint32_t qh = load_u32(x[i].qh);
        store_nibbles<true>(x[i].qs, high_bits(qh, 0), high_bits(qh, 8), high_bits(qh, 16), high_bits(qh, 24),
                            0, d, m, dst + i * k_qk5_1);
    }
}

namespace {
// 32 int8 codes times d.
inline void store_q8(const int8_t* qs, __m256 d, float* y) {
    for (int k = 0; k < 4; ++k) {
        const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(qs + 8 * k));
        _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), d));
    }
}
}  // namespace

void dequantize_row_q8_0__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_0*>(src);
    for (int64_t i = 0; i < n / k_qk8_0; ++i)
        store_q8(x[i].qs, _mm256_set1_ps(half_to_float(x[i].d)), dst + i * k_qk8_0);
}

void dequantize_row_q8_1__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_1*>(src);
    for (int64_t i = 0; i < n / k_qk8_1; ++i)
        store_q8(x[i].qs, _mm256_set1_ps(half_to_float(x[i].d)), dst + i * k_qk8_1);
}

void dequantize_row_f16__avx2(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint8_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 2 * i))));
    for (; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, h + 2 * i, 2);
        dst[i] = half_to_float(v);
    }
}

void dequantize_row_bf16__avx2(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint8_t*>(src);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 2 * i)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_slli_epi32(w, 16));
    }
    for (; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, h + 2 * i, 2);
        const uint32_t u = static_cast<uint32_t>(v) << 16;
        std::memcpy(dst + i, &u, 4);
    }
}

}  // namespace lowbit
