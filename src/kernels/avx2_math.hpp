// Vector math for AVX2 + FMA translation units only (include it from *_avx2.cpp files).
// exp256_ps: exp_poly.hpp's Cephes-style exp in 8 lanes (relative error < 2e-7; -inf gives ~0, never NaN).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/exp_poly.hpp"

namespace lowbit::kernels::avx2 {

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Pins v to a register at this point (an empty asm that may change it): GCC cannot reassociate a chain
// of additions across it. Used in fully unrolled integer loops, where GCC 12 otherwise rewrites
// s += p0; s += p1; ... into a tree over all the products and keeps them in stack slots.
inline void pin(__m256i& v) {
    __asm__("" : "+x"(v));
}

// 16 packed bytes -> 32 nibbles: low nibbles in bytes 0..15, high nibbles in bytes 16..31.
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, 0xFF where the bit is set (byte j <- bit j).
inline __m256i bits_to_bytes(const uint8_t* p) {
    uint32_t bits;
    std::memcpy(&bits, p, 4);
    const __m256i rep = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(bits)),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i sel = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(rep, sel), sel);
}

// Sum of x[i] * y[i] over 32 signed bytes, as 8 int32 lanes: maddubs needs an unsigned first operand,
// so |x| is multiplied by sign(x) * y (vpsignb); no saturation while |y| <= 127.
inline __m256i dot_i8_i8(__m256i x, __m256i y) {
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// exp_poly.hpp's operations on __m256 (fused multiply-adds).
struct exp_ops256 {
    using reg = __m256;
    static __m256 set(float f) { return _mm256_set1_ps(f); }
    static __m256 min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
    static __m256 max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
    static __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
    static __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
    static __m256 muladd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
    static __m256 nmuladd(__m256 a, __m256 b, __m256 c) { return _mm256_fnmadd_ps(a, b, c); }
    static __m256 floor(__m256 v) { return _mm256_floor_ps(v); }
    static __m256 pow2i(__m256 n) {
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23));
    }
};
inline __m256 exp256_ps(__m256 x) {
    return exp_cephes<exp_ops256>(x);
}

// Lanes [0, rem) set, rem in [0, 8].
inline __m256i tail_mask(long rem) {
    alignas(32) static const int k_bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k_bits + 8 - rem));
}

// Sum of the 8 int32 lanes.
inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x1));
    return _mm_cvtsi128_si32(s);
}

// Keeps the compiler from fusing a multiply with the following add into an FMA (which would round
// differently from the portable __ref build).
inline float no_contract(float v) {
    __asm__("" : "+x"(v));
    return v;
}

// sum + (y_d * d) * sumi, rounded as a portable (FMA-free) sum += y_d * d * (float)sumi: the float step
// of the 256-block dots that equal their __ref bit for bit.
inline float block_term(float sum, float y_d, float d, int sumi) {
    return sum + no_contract(no_contract(y_d * d) * static_cast<float>(sumi));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// [sum(a), sum(b), sum(c), sum(d)]
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// 12 bytes of LSB-first 3-bit codes -> 32 codes in weight order. Every 3 bytes hold 8 codes; code j
// of such a group starts at bit 3j, in byte 3j / 8 at shift s = 3j % 8. A pshufb places the two bytes
// that hold it in a 16-bit lane (low byte first; for s = 0 the byte goes high and is shifted by 8),
// a multiply-high by 2^(16 - s) shifts each lane right by its own s, and a mask keeps 3 bits.
// Lanes: v0 = groups 0 | 2, v1 = groups 1 | 3, so packus gives the codes in order.
inline __m256i unpack3(const uint8_t* p) {
    long long lo;
    int hi;
    std::memcpy(&lo, p, 8);  // exactly 12 bytes: a chunk may end the row
    std::memcpy(&hi, p + 8, 4);
    const __m128i b = _mm_insert_epi32(_mm_cvtsi64_si128(lo), hi, 2);
    const __m256i src = _mm256_broadcastsi128_si256(b);
    constexpr char z = -128;  // pshufb: zero byte
#define LOWBIT_G3(k) z, 3 * (k), 3 * (k), 3 * (k) + 1, 3 * (k), 3 * (k) + 1, 3 * (k) + 1, 3 * (k) + 2, \
                     3 * (k) + 1, 3 * (k) + 2, 3 * (k) + 1, 3 * (k) + 2, 3 * (k) + 2, z, 3 * (k) + 2, z
    const __m256i v0 = _mm256_shuffle_epi8(src, _mm256_setr_epi8(LOWBIT_G3(0), LOWBIT_G3(2)));
    const __m256i v1 = _mm256_shuffle_epi8(src, _mm256_setr_epi8(LOWBIT_G3(1), LOWBIT_G3(3)));
#undef LOWBIT_G3
    // s = 8, 3, 6, 1, 4, 7, 2, 5 for j = 0..7 (s = 0 read one byte higher)
    const __m256i mul = _mm256_setr_epi16(256, 8192, 1024, -32768, 4096, 512, 16384, 2048, 256, 8192, 1024, -32768,
                                          4096, 512, 16384, 2048);
    const __m256i m3 = _mm256_set1_epi16(7);
    return _mm256_packus_epi16(_mm256_and_si256(_mm256_mulhi_epu16(v0, mul), m3),
                               _mm256_and_si256(_mm256_mulhi_epu16(v1, mul), m3));
}

}  // namespace lowbit::kernels::avx2
