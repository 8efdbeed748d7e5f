// AVX2 decoders of lowbit's own formats, bit-exact with the scalar references (lowbit_int.cpp, ...):
// the same float operations in the same order (int -> float conversion, one multiply, one add for an
// asymmetric min; never fused). Chosen at run time by the format table (tier >= avx2).
//
// Codes are an LSB-first bit stream (lowbit_blocks.hpp), and every group size is a multiple of 8, so
// each run of 8 weights starts on a byte boundary and spans exactly `b` bytes. Expanding 8 codes:
// broadcast those b bytes as one 32-bit word and shift lane k right by k*b (vpsrlvd), mask b bits.
// b = 8 uses a zero-extension of 8 bytes. Tails (n not a multiple of 8) fall back to scalar code.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"

namespace lowbit {
namespace {

using namespace lbfmt;

// 8 codes of `Bits` bits starting at byte p, as 8 int32 lanes in weight order.
template <int Bits>
inline __m256i expand8(const uint8_t* p) {
    if constexpr (Bits == 8) {
        int64_t w;
        std::memcpy(&w, p, 8);
        return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(w));
    } else {
        uint32_t w = 0;
        if constexpr (Bits == 3) w = p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16);  // no 3-byte memcpy
        else std::memcpy(&w, p, Bits);
        const __m256i shifts = _mm256_setr_epi32(0, Bits, 2 * Bits, 3 * Bits, 4 * Bits, 5 * Bits, 6 * Bits, 7 * Bits);
        return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(w)), shifts),
                                _mm256_set1_epi32((1 << Bits) - 1));
    }
}

// Decodes nv weights (codes start at the byte-aligned bit stream qs) of one INT group.
template <int Bits, bool Asym>
inline void int_group(uint16_t hd, uint16_t hm, const uint8_t* qs, float* y, int64_t nv) {
    const float d = fp16_to_f32(hd);
    const float m = Asym ? fp16_to_f32(hm) : 0.0f;
    constexpr int half = 1 << (Bits - 1);
    const __m256 vd = _mm256_set1_ps(d);
    const __m256 vm = _mm256_set1_ps(m);
    const __m256i voff = _mm256_set1_epi32(half);
    int64_t i = 0;
    for (; i + 8 <= nv; i += 8) {
        const __m256i u = expand8<Bits>(qs + i * Bits / 8);
        if constexpr (Asym) {
            _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(vd, _mm256_cvtepi32_ps(u)), vm));
        } else {
            _mm256_storeu_ps(y + i, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_sub_epi32(u, voff))));
        }
    }
    for (; i < nv; ++i) {
        const uint32_t u = get_bits(qs, i, Bits);
        if constexpr (Asym) y[i] = d * static_cast<float>(u) + m;
        else y[i] = d * static_cast<float>(static_cast<int>(u) - half);
    }
}

// 16-entry float table lookup for 8 int32 indices in [0, 15].
inline __m256 lut16(__m256 lo, __m256 hi, __m256i idx) {
    const __m256 a = _mm256_permutevar8x32_ps(lo, idx);
    const __m256 b = _mm256_permutevar8x32_ps(hi, idx);
    const __m256 sel = _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(7)));
    return _mm256_blendv_ps(a, b, sel);
}

// nv weights with 4-bit codes at qs (bit-stream offset 0) = scale * table[code].
inline void lut4_group(float scale, const float* table, const uint8_t* qs, float* y, int64_t nv) {
    const __m256 lo = _mm256_loadu_ps(table);
    const __m256 hi = _mm256_loadu_ps(table + 8);
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= nv; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(vs, lut16(lo, hi, expand8<4>(qs + i / 2))));
    for (; i < nv; ++i) y[i] = scale * table[get_bits(qs, i, 4)];
}

// 8 FP8 codes (zero-extended to int32 lanes) to their exact float values.
// E4M3: (c & 0x7F) << 20 is a binary32 with exponent field e and mantissa m << 20, i.e.
// (1 + m/8) 2^(e-127) (or m 2^-129 when e = 0); times 2^120 gives the E4M3 value exactly. 0x7F/0xFF: NaN.
inline __m256 e4m3x8(__m256i c) {
    const __m256i mag = _mm256_and_si256(c, _mm256_set1_epi32(0x7F));
    __m256 v = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_slli_epi32(mag, 20)), _mm256_set1_ps(0x1p120f));
    v = _mm256_or_ps(v, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(c, _mm256_set1_epi32(0x80)), 24)));
    const __m256 is_nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F)));
    return _mm256_blendv_ps(v, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()), is_nan);
}
// E5M2: c << 8 is an IEEE half; F16C converts it exactly (Inf/NaN included).
inline __m256 e5m2x8(const uint8_t* p) {
    int64_t w;
    std::memcpy(&w, p, 8);
    return _mm256_cvtph_ps(_mm_slli_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(w)), 8));
}

// nv FP8 codes = scale * fp8(code).
template <bool E4M3>
inline void fp8_group(float scale, const uint8_t* qs, float* y, int64_t nv) {
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= nv; i += 8) {
        const __m256 v = E4M3 ? e4m3x8(expand8<8>(qs + i)) : e5m2x8(qs + i);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(vs, v));
    }
    for (; i < nv; ++i) y[i] = scale * (E4M3 ? fp8_e4m3_to_f32(qs[i]) : fp8_e5m2_to_f32(qs[i]));
}

}  // namespace

template <int Bits, int G, bool Asym>
void dequantize_row_int__avx2(const void* src, float* dst, int64_t n) {
    if constexpr (G == 0) {
        const auto* p = static_cast<const uint8_t*>(src);
        const uint16_t hd = load_u16(p);
        const uint16_t hm = Asym ? load_u16(p + 2) : 0;
        int_group<Bits, Asym>(hd, hm, p + (Asym ? 4 : 2), dst, n);
    } else {
        using block = std::conditional_t<Asym, block_int_asym<Bits, G>, block_int_sym<Bits, G>>;
        const auto* x = static_cast<const block*>(src);
        const int64_t nb = (n + G - 1) / G;
        for (int64_t ib = 0; ib < nb; ++ib) {
            uint16_t hm = 0;
            if constexpr (Asym) hm = x[ib].m;
            int_group<Bits, Asym>(x[ib].d, hm, x[ib].qs, dst + ib * G, std::min<int64_t>(G, n - ib * G));
        }
    }
}

#define LOWBIT_INSTANTIATE_INT_AVX2(B)                                                    \
    template void dequantize_row_int__avx2<B, 32, false>(const void*, float*, int64_t);  \
    template void dequantize_row_int__avx2<B, 32, true>(const void*, float*, int64_t);   \
    template void dequantize_row_int__avx2<B, 64, false>(const void*, float*, int64_t);  \
    template void dequantize_row_int__avx2<B, 64, true>(const void*, float*, int64_t);   \
    template void dequantize_row_int__avx2<B, 128, false>(const void*, float*, int64_t); \
    template void dequantize_row_int__avx2<B, 128, true>(const void*, float*, int64_t);  \
    template void dequantize_row_int__avx2<B, 0, false>(const void*, float*, int64_t);   \
    template void dequantize_row_int__avx2<B, 0, true>(const void*, float*, int64_t);
LOWBIT_INSTANTIATE_INT_AVX2(8)
LOWBIT_INSTANTIATE_INT_AVX2(4)
LOWBIT_INSTANTIATE_INT_AVX2(3)
LOWBIT_INSTANTIATE_INT_AVX2(2)
#undef LOWBIT_INSTANTIATE_INT_AVX2

void dequantize_row_nf4__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_nf4*>(src);
    const int64_t nb = (n + k_qk_nf4 - 1) / k_qk_nf4;
    for (int64_t ib = 0; ib < nb; ++ib)
        lut4_group(fp16_to_f32(x[ib].d), k_nf4_values, x[ib].qs, dst + ib * k_qk_nf4,
                   std::min<int64_t>(k_qk_nf4, n - ib * k_qk_nf4));
}

void dequantize_row_nf4_dq__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_nf4_dq*>(src);
    const int64_t nb = (n + k_qk_nf4_dq - 1) / k_qk_nf4_dq;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float D = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_nf4_dq, n - ib * k_qk_nf4_dq);
        for (int j = 0; j < k_qk_nf4_dq / k_qk_nf4; ++j) {
            const int64_t sub_nv = std::clamp<int64_t>(nv - j * k_qk_nf4, 0, k_qk_nf4);
            lut4_group(D * static_cast<float>(x[ib].sc[j]), k_nf4_values, x[ib].qs + j * k_qk_nf4 / 2,
                       dst + ib * k_qk_nf4_dq + j * k_qk_nf4, sub_nv);
        }
    }
}

void dequantize_row_fp4_e2m1__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_fp4_e2m1*>(src);
    const int64_t nb = (n + k_qk_fp4 - 1) / k_qk_fp4;
    for (int64_t ib = 0; ib < nb; ++ib)
        lut4_group(fp16_to_f32(x[ib].d), k_fp4_e2m1_values, x[ib].qs, dst + ib * k_qk_fp4,
                   std::min<int64_t>(k_qk_fp4, n - ib * k_qk_fp4));
}

void dequantize_row_ternary_g64__avx2(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_ternary*>(src);
    const int64_t nb = (n + k_qk_ternary - 1) / k_qk_ternary;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_ternary, n - ib * k_qk_ternary);
        const __m256 vd = _mm256_set1_ps(d);
        float* y = dst + ib * k_qk_ternary;
        int64_t i = 0;
        for (; i + 8 <= nv; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(vd, _mm256_cvtepi32_ps(_mm256_sub_epi32(
                                                          expand8<2>(x[ib].qs + i / 4), _mm256_set1_epi32(1)))));
        for (; i < nv; ++i) y[i] = d * static_cast<float>(static_cast<int>(get_bits(x[ib].qs, i, 2)) - 1);
    }
}

namespace {
template <bool E4M3>
void fp8_blocks(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_fp8*>(src);
    const int64_t nb = (n + k_qk_fp8 - 1) / k_qk_fp8;
    for (int64_t ib = 0; ib < nb; ++ib)
        fp8_group<E4M3>(fp16_to_f32(x[ib].d), x[ib].qs, dst + ib * k_qk_fp8, std::min<int64_t>(k_qk_fp8, n - ib * k_qk_fp8));
}
template <bool E4M3>
void fp8_pt(const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const uint8_t*>(src);
    float s;
    std::memcpy(&s, p, 4);
    fp8_group<E4M3>(s, p + 4, dst, n);
}
}  // namespace

void dequantize_row_fp8_e4m3__avx2(const void* src, float* dst, int64_t n) { fp8_blocks<true>(src, dst, n); }
void dequantize_row_fp8_e5m2__avx2(const void* src, float* dst, int64_t n) { fp8_blocks<false>(src, dst, n); }
void dequantize_row_fp8_e4m3_pt__avx2(const void* src, float* dst, int64_t n) { fp8_pt<true>(src, dst, n); }
void dequantize_row_fp8_e5m2_pt__avx2(const void* src, float* dst, int64_t n) { fp8_pt<false>(src, dst, n); }

}  // namespace lowbit
