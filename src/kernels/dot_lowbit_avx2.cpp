// AVX2 dot products of lowbit's own formats with Q8_0 / Q8_1 activation rows (math: dot_lowbit_ref.cpp).
//
// Codes are an LSB-first bit stream, so a chunk of 32 codes is expanded as follows:
//   8-bit: loaded as is;  sym: u - 128 (a wrapping byte subtract = the signed value).
//   4-bit: 16 bytes -> low and high nibbles, interleaved back to weight order with unpacklo/hi_epi8.
//   2-bit: the 8 code bytes broadcast to four 64-bit lanes and lane g shifted right by 2g, so byte
//          8g + k holds weight 4k + g; the 32 activation bytes get the same permutation (a 4x4 byte
//          transpose per 128-bit lane with pshufb, then vpermd), which is cheaper than re-ordering
//          the weights.
// Signed x signed bytes use the vpsignb trick (|w| * sign(w) a, dot_avx2.cpp); unsigned asymmetric
// codes (<= 15) go straight into maddubs. Each chunk's int32 lanes are scaled by d_w * d_a and
// accumulated in two 8-lane float accumulators; asymmetric mins add m_w * s_a in a scalar sum.
// FP8 codes are turned into fp16 bits (E5M2: u << 8; E4M3: the code re-biased, value / 256) and
// converted with F16C, then multiplied by the f32 activations (FP8 kernels read unquantized floats).
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "formats/ggml_blocks.hpp"
#include "formats/lowbit_blocks.hpp"
#include "kernels/avx2_math.hpp"
#include "kernels/dot.hpp"

namespace lowbit::kernels {
using namespace avx2;  // shared AVX2 helpers (kernels/avx2_math.hpp)
namespace {

inline float fp16(const uint8_t* p) { return _cvtsh_ss(lbfmt::load_u16(p)); }

inline __m256i dot_u8_i8(__m256i u, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1));
}

// 16 bytes of LSB-first nibbles -> 32 codes in weight order.
inline __m256i unpack4(const uint8_t* p) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
}

// 8 bytes of LSB-first 2-bit codes -> byte 8g + k = weight 4k + g.
inline __m256i unpack2_perm(const uint8_t* p) {
    long long v;
    std::memcpy(&v, p, 8);
    const __m256i s = _mm256_srlv_epi64(_mm256_set1_epi64x(v), _mm256_setr_epi64x(0, 2, 4, 6));
    return _mm256_and_si256(s, _mm256_set1_epi8(3));
}
// The same permutation of 32 activation bytes.
inline __m256i perm_act2(__m256i a) {
    const __m256i t = _mm256_shuffle_epi8(
        a, _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10,
                            14, 3, 7, 11, 15));
    return _mm256_permutevar8x32_epi32(t, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Sums chunk(c, acc) over the n / 32 chunks, alternating two accumulators.
template <class F>
inline float sum_chunks(int64_t n, F chunk) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int64_t nc = n / 32;
    int64_t c = 0;
    for (; c + 1 < nc; c += 2) {
        acc0 = chunk(c, acc0);
        acc1 = chunk(c + 1, acc1);
    }
    if (c < nc) acc0 = chunk(c, acc0);
    return hsum(_mm256_add_ps(acc0, acc1));
}

// Group start and byte offset of chunk c's codes inside it (G = 0: one group = the row).
template <int G, int Bits>
inline const uint8_t* chunk_codes(const uint8_t* row, size_t header, int64_t c, const uint8_t** group) {
    if constexpr (G == 0) {
        *group = row;
        return row + header + c * (32 * Bits / 8);
    } else {
        constexpr int64_t per = G / 32;
        const uint8_t* g = row + (c / per) * static_cast<int64_t>(header + G * Bits / 8);
        *group = g;
        return g + header + (c % per) * (32 * Bits / 8);
    }
}

template <int Bits, int G, bool Asym, int Off>
float dot_int_avx2(int64_t n, const void* w, const void* a) {
    using act_block = std::conditional_t<Asym, block_q8_1, block_q8_0>;
    const auto* y = static_cast<const act_block*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    constexpr size_t header = Asym ? 4 : 2;
    float summ = 0;
    const float dot = sum_chunks(n, [&](int64_t c, __m256 acc) {
        const uint8_t* g;
        const uint8_t* codes = chunk_codes<G, Bits>(row, header, c, &g);
        __m256i qa = load32(y[c].qs), u;
        if constexpr (Bits == 8) {
            u = load32(codes);
        } else if constexpr (Bits == 4) {
            u = unpack4(codes);
        } else {
            u = unpack2_perm(codes);
            qa = perm_act2(qa);
        }
        __m256i isum;
        if constexpr (Asym) {
            isum = dot_u8_i8(u, qa);
            summ += fp16(g + 2) * _cvtsh_ss(y[c].s);
        } else {
            isum = dot_i8_i8(_mm256_sub_epi8(u, _mm256_set1_epi8(static_cast<char>(Off))), qa);
        }
        return _mm256_fmadd_ps(_mm256_set1_ps(fp16(g) * _cvtsh_ss(y[c].d)), _mm256_cvtepi32_ps(isum), acc);
    });
    return dot + summ;
}

// 4-bit codebook formats with one fp16 scale per G: weight = d * mult * table[u].
template <int G>
float dot_table4_avx2(int64_t n, const void* w, const void* a, const int8_t* table16, float mult) {
    const auto* y = static_cast<const block_q8_0*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table16));
    const __m256i table = _mm256_set_m128i(t, t);
    return sum_chunks(n, [&](int64_t c, __m256 acc) {
        const uint8_t* g;
        const uint8_t* codes = chunk_codes<G, 4>(row, 2, c, &g);
        const __m256i isum = dot_i8_i8(_mm256_shuffle_epi8(table, unpack4(codes)), load32(y[c].qs));
        return _mm256_fmadd_ps(_mm256_set1_ps(fp16(g) * mult * _cvtsh_ss(y[c].d)), _mm256_cvtepi32_ps(isum), acc);
    });
}

// 16 fp8 codes (16-bit lanes) -> fp16 bits: E5M2 is the top byte of a half; E4M3 re-biased (7 -> 15)
// by placing s.eeee.mmm at bits 15 and 13..7, which is the value / 256, subnormals included.
template <bool E4M3>
inline __m256i fp8_to_half_bits(__m256i u16) {
    if constexpr (E4M3) {
        const __m256i mag = _mm256_slli_epi16(_mm256_and_si256(u16, _mm256_set1_epi16(0x7F)), 7);
        const __m256i sgn = _mm256_slli_epi16(_mm256_and_si256(u16, _mm256_set1_epi16(0x80)), 8);
        return _mm256_or_si256(mag, sgn);
    } else {
        return _mm256_slli_epi16(u16, 8);
    }
}

template <bool E4M3, bool PerRow>
float dot_fp8_avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    float row_scale = 0;
    if constexpr (PerRow) std::memcpy(&row_scale, row, 4);
    const float unit = E4M3 ? 256.0f : 1.0f;  // fp16 value = fp8 value / unit
    return sum_chunks(n, [&](int64_t c, __m256 acc) {
        const uint8_t* codes = PerRow ? row + 4 + 32 * c : row + 34 * c + 2;
        const float d = PerRow ? row_scale : fp16(row + 34 * c);
        const float* xc = x + 32 * c;
        const __m256i u = load32(codes);
        const __m256i h0 = fp8_to_half_bits<E4M3>(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(u)));
        const __m256i h1 = fp8_to_half_bits<E4M3>(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(u, 1)));
        __m256 s = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h0)), _mm256_loadu_ps(xc));
        __m256 s1 = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h0, 1)), _mm256_loadu_ps(xc + 8));
        s = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(h1)), _mm256_loadu_ps(xc + 16), s);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(h1, 1)), _mm256_loadu_ps(xc + 24), s1);
        return _mm256_fmadd_ps(_mm256_set1_ps(d * unit), _mm256_add_ps(s, s1), acc);
    });
}

}  // namespace

template <int Bits, int G>
float dot_int_sym_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_int_avx2<Bits, G, false, 1 << (Bits - 1)>(n, w, a);
}
template <int Bits, int G>
float dot_int_asym_q8_1__avx2(int64_t n, const void* w, const void* a) {
    return dot_int_avx2<Bits, G, true, 0>(n, w, a);
}
#define LOWBIT_INST(B, G)                                                                  \
    template float dot_int_sym_q8_0__avx2<B, G>(int64_t n, const void* w, const void* a); \
    template float dot_int_asym_q8_1__avx2<B, G>(int64_t n, const void* w, const void* a);
LOWBIT_INST(4, 32)
LOWBIT_INST(4, 64)
LOWBIT_INST(4, 128)
LOWBIT_INST(4, 0)
LOWBIT_INST(2, 32)
LOWBIT_INST(2, 64)
LOWBIT_INST(2, 128)
LOWBIT_INST(2, 0)
#undef LOWBIT_INST
// int8: symmetric only (asymmetric codes up to 255 would overflow maddubs' int16 pair sums).
template float dot_int_sym_q8_0__avx2<8, 32>(int64_t n, const void* w, const void* a);
template float dot_int_sym_q8_0__avx2<8, 64>(int64_t n, const void* w, const void* a);
template float dot_int_sym_q8_0__avx2<8, 128>(int64_t n, const void* w, const void* a);
template float dot_int_sym_q8_0__avx2<8, 0>(int64_t n, const void* w, const void* a);

float dot_ternary_g64_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_int_avx2<2, k_qk_ternary, false, 1>(n, w, a);
}
float dot_nf4_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_table4_avx2<k_qk_nf4>(n, w, a, k_nf4_i8, 1.0f / 127.0f);
}
float dot_fp4_e2m1_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_table4_avx2<k_qk_fp4>(n, w, a, k_fp4_e2m1_x2, 0.5f);
}

float dot_nf4_dq_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* y = static_cast<const block_q8_0*>(a);
    const auto* x = static_cast<const block_nf4_dq*>(w);
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_nf4_i8));
    const __m256i table = _mm256_set_m128i(t, t);
    return sum_chunks(n, [&](int64_t c, __m256 acc) {
        const block_nf4_dq& b = x[c / 8];
        const int first = 32 * static_cast<int>(c % 8);
        const __m256i isum = dot_i8_i8(_mm256_shuffle_epi8(table, unpack4(b.qs + first / 2)), load32(y[c].qs));
        const float scale = _cvtsh_ss(b.d) * static_cast<float>(b.sc[first / 64]) * (1.0f / 127.0f);
        return _mm256_fmadd_ps(_mm256_set1_ps(scale * _cvtsh_ss(y[c].d)), _mm256_cvtepi32_ps(isum), acc);
    });
}

float dot_fp8_e4m3_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<true, false>(n, w, a); }
float dot_fp8_e5m2_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<false, false>(n, w, a); }
float dot_fp8_e4m3_pt_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<true, true>(n, w, a); }
float dot_fp8_e5m2_pt_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<false, true>(n, w, a); }

}  // namespace lowbit::kernels
