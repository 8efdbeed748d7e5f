// AVX2 dot products of lowbit's own formats with Q8_0 / Q8_1 activation rows (math: dot_lowbit_ref.cpp).
//
// Codes are an LSB-first bit stream, so a chunk of 32 codes is expanded as follows:
//   8-bit: loaded as is;  sym: u - 128 (a wrapping byte subtract = the signed value); asym: the
//          same signed u - 128 plus 128 * sum(a) (exact), as u up to 255 overflows maddubs.
//   4-bit (int4, nf4, fp4): two chunks per step (dot_4bit_pairs below): 32 code bytes -> nibbles
//          interleaved back to weight order per 128-bit lane, activations of the two chunks loaded in
//          the same lane arrangement, one scale vector and one FMA per pair.
//   3-bit: 12 bytes -> 32 codes with a pshufb, a per-lane shift by multiply-high and a pack (unpack3).
//   2-bit (int2, ternary): also two chunks per step (dot_4bit_pairs with Bits = 2): per 128-bit lane
//          (one chunk) 4 code bytes broadcast to the 4 dwords, dword g shifted right by 2g, so byte
//          4g + j = weight 4j + g; one pshufb per half puts the activations in that order. An odd
//          last chunk: the 8 code bytes broadcast to four 64-bit lanes, lane g shifted by 2g (byte
//          8g + k = weight 4k + g), the activations transposed to match (pshufb + vpermd).
// Signed x signed bytes use the vpsignb trick (|w| * sign(w) a, dot_avx2.cpp); unsigned asymmetric
// codes (<= 15) go straight into maddubs. Each chunk's int32 lanes are scaled by d_w * d_a and
// accumulated in two 8-lane float accumulators; asymmetric mins add m_w * s_a in a scalar sum.
// FP8 codes become f32 bit patterns without a conversion instruction (F16C's vcvtph2ps, 2 uops on
// Zen 3, was the bottleneck): a pshufb puts code j in the top byte of dword j, an arithmetic shift
// right (4 for E4M3, 3 for E5M2) lines its exponent and mantissa up under f32's with the sign bit
// smeared down, and an AND clears the smeared copies. The float is fp8 * 2^-120 (E4M3) or * 2^-112
// (E5M2), fp8 subnormals landing on f32 subnormals: the decode is exact (lowbit never sets FTZ/DAZ).
// Products are FMA'd into 8 float lanes in that scaled domain, so a lane result below 2^-6 (in
// fp8 * x units) rounds to the f32 subnormal grid: an absolute error of at most 2^-30 * d per
// multiply-add (5 per lane per chunk) instead of a relative 2^-24, negligible unless the
// activations are tiny (|x| ~ 1e-6) against tiny codes. Chunk sums are scaled by d * 2^60 (2^56),
// the total by 2^60 (2^56): powers of two, exact. The weight stream is prefetched 2 KiB ahead.
// FP8 kernels read unquantized f32 activations; per-row (_pt) formats apply their one scale last.
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

// ---- 4-bit codes, two chunks per step -------------------------------------------------------------
// Chunks c and c+1 (c even) are decoded together: their 2 x 16 code bytes form one 256-bit value L
// (one load when they are contiguous: G >= 64 or per channel; two 128-bit loads for G = 32), whose
// low and high nibbles re-interleaved per 128-bit lane (unpacklo/hi_epi8) give
//   U1 = [c: w0..15 | c+1: w0..15],  U2 = [c: w16..31 | c+1: w16..31].
// The activations are loaded in the same arrangement (a 128-bit insert each, no weight permutes), so
// the int32 lanes 0..3 hold chunk c's partial sums and lanes 4..7 chunk c+1's; one scale vector
// [d_w d_a(c) x4 | d_w d_a(c+1) x4] and one FMA serve both chunks. The four fp16 scales of a pair
// (two activation, two weight) are converted in one vcvtph2ps.

// Code bytes of chunks c, c+1 (c even) and their groups' headers.
template <int G>
inline __m256i load_pair4(const uint8_t* row, size_t header, int64_t c, const uint8_t** g0, const uint8_t** g1) {
    if constexpr (G == 32) {
        const uint8_t* a = row + c * static_cast<int64_t>(header + 16);
        *g0 = a;
        *g1 = a + header + 16;
        const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + header));
        const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(*g1 + header));
        return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    } else {
        const uint8_t* codes = chunk_codes<G, 4>(row, header, c, g0);  // c even: c, c+1 share the group
        *g1 = *g0;
        return load32(codes);
    }
}

// Code bytes of 2-bit chunks c, c+1 (c even): [c: 8 bytes, c+1: 8 bytes] and their groups' headers.
template <int G>
inline __m128i load_pair2(const uint8_t* row, size_t header, int64_t c, const uint8_t** g0, const uint8_t** g1) {
    long long q0, q1;
    if constexpr (G == 32) {
        const uint8_t* a = row + c * static_cast<int64_t>(header + 8);
        *g0 = a;
        *g1 = a + header + 8;
        std::memcpy(&q0, a + header, 8);
        std::memcpy(&q1, *g1 + header, 8);
    } else {
        const uint8_t* codes = chunk_codes<G, 2>(row, header, c, g0);  // c even: c, c+1 share the group
        *g1 = *g0;
        std::memcpy(&q0, codes, 8);
        std::memcpy(&q1, codes + 8, 8);
    }
    return _mm_set_epi64x(q1, q0);
}

// [p0[0..15] | p1[0..15]]
inline __m256i load_2x16(const int8_t* p0, const int8_t* p1) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

// [x0 * x2, x1 * x3, ., .] from four fp16 values.
inline __m128 pair_products(uint16_t x0, uint16_t x1, uint16_t x2, uint16_t x3) {
    const uint64_t h = x0 | (uint32_t{x1} << 16) | (uint64_t{x2} << 32) | (uint64_t{x3} << 48);
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(h)));
    return _mm_mul_ps(f, _mm_movehl_ps(f, f));
}
// [p0 x4 | p1 x4] from [p0, p1, ., .]
inline __m256 spread_pair(__m128 p) {
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(p), _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
}

// kind: 0 = symmetric int (code - 8), 1 = asymmetric int (code as is), 2 = int8 codebook `table`
// (fp16 scale per G), 3 = nf4_dq (codebook `table`, block_nf4_dq: a pair of chunks lies in one
// 64-weight sub-block, scale D * sc[j]).
// Bits = 2 (kinds 0 and 1, Off = the symmetric offset) uses the same loop: the pair's 2 x 8 code
// bytes are spread so that, per 128-bit lane (one chunk each), dword g holds code bytes 0..3 (W1) or
// 4..7 (W2) shifted right by 2g: byte 4g + j = weight 4j + g (+16 for W2). The activations get that
// order with one pshufb per pair half (the same [c | c+1] arrangement as the 4-bit path).
template <int G, int Kind, int Bits = 4, int Off = 8>
float dot_4bit_pairs(int64_t n, const void* w, const void* a, const int8_t* table16, float mult) {
    constexpr bool Asym = Kind == 1;
    using act_block = std::conditional_t<Asym, block_q8_1, block_q8_0>;
    const auto* y = static_cast<const act_block*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    constexpr size_t header = Asym ? 4 : 2;
    __m256i table = _mm256_setzero_si256();
    if constexpr (Kind >= 2) {
        const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table16));
        table = _mm256_set_m128i(t, t);
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    // The signed 32-byte product sums of one decoded vector with its activations, as int16 pairs.
    auto prod16 = [&](__m256i u, __m256i qa) {
        if constexpr (Kind == 1) return _mm256_maddubs_epi16(u, qa);
        const __m256i v = Kind == 0 ? _mm256_sub_epi8(u, _mm256_set1_epi8(Off)) : _mm256_shuffle_epi8(table, u);
        return _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(qa, v));
    };
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    auto pair = [&](int64_t c, __m256 acc) {
        const uint8_t *g0 = row, *g1 = row;
        __m256i u1, u2, a1 = load_2x16(y[c].qs, y[c + 1].qs), a2 = load_2x16(y[c].qs + 16, y[c + 1].qs + 16);
        if constexpr (Bits == 2) {
            const __m256i L = _mm256_castsi128_si256(load_pair2<G>(row, header, c, &g0, &g1));
            const __m256i sh = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6), m2 = _mm256_set1_epi8(3);
            const __m256i d1 = _mm256_permutevar8x32_epi32(L, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2));
            const __m256i d2 = _mm256_permutevar8x32_epi32(L, _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3));
            u1 = _mm256_and_si256(_mm256_srlv_epi32(d1, sh), m2);
            u2 = _mm256_and_si256(_mm256_srlv_epi32(d2, sh), m2);
            const __m256i t = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1,
                                               5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            a1 = _mm256_shuffle_epi8(a1, t);
            a2 = _mm256_shuffle_epi8(a2, t);
        } else {
            __m256i L;
            if constexpr (Kind == 3)
                L = load32(reinterpret_cast<const block_nf4_dq*>(row)[c / 8].qs + 16 * (c % 8));
            else
                L = load_pair4<G>(row, header, c, &g0, &g1);
            const __m256i lo = _mm256_and_si256(L, m4), hi = _mm256_and_si256(_mm256_srli_epi16(L, 4), m4);
            u1 = _mm256_unpacklo_epi8(lo, hi);
            u2 = _mm256_unpackhi_epi8(lo, hi);
        }
        // |pair sums| <= 2 * 15 * 128 each (asym; 2 * 8 * 127 or 2 * 127 * 127 signed): their sum
        // fits int16 for the 4-bit codes; the codebooks (|v| <= 127) are widened separately.
        __m256i isum;
        if constexpr (Kind >= 2) {
            const __m256i ones = _mm256_set1_epi16(1);
            isum = _mm256_add_epi32(_mm256_madd_epi16(prod16(u1, a1), ones), _mm256_madd_epi16(prod16(u2, a2), ones));
        } else {
            isum = _mm256_madd_epi16(_mm256_add_epi16(prod16(u1, a1), prod16(u2, a2)), _mm256_set1_epi16(1));
        }
        if constexpr (Asym)
            accm = _mm_add_ps(accm,
                              pair_products(y[c].s, y[c + 1].s, lbfmt::load_u16(g0 + 2), lbfmt::load_u16(g1 + 2)));
        __m256 s;
        if constexpr (Kind == 3) {
            const block_nf4_dq& b = reinterpret_cast<const block_nf4_dq*>(row)[c / 8];
            s = spread_pair(pair_products(y[c].d, y[c + 1].d, b.d, b.d));
            s = _mm256_mul_ps(s, _mm256_set1_ps(static_cast<float>(b.sc[(c % 8) / 2]) * mult));
        } else {
            s = spread_pair(pair_products(y[c].d, y[c + 1].d, lbfmt::load_u16(g0), lbfmt::load_u16(g1)));
            if constexpr (Kind == 2) s = _mm256_mul_ps(s, _mm256_set1_ps(mult));
        }
        return _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(isum), acc);
    };
    const int64_t nc = n / 32;
    int64_t c = 0;
    for (; c + 3 < nc; c += 4) {
        acc0 = pair(c, acc0);
        acc1 = pair(c + 2, acc1);
    }
    if (c + 1 < nc) {
        acc0 = pair(c, acc0);
        c += 2;
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    if constexpr (Asym) sum += _mm_cvtss_f32(accm) + _mm_cvtss_f32(_mm_movehdup_ps(accm));
    if (Kind != 3 && c < nc) {  // an odd last chunk (G = 32 or per channel)
        const uint8_t* g;
        const uint8_t* codes = chunk_codes<G, Bits>(row, header, c, &g);
        const __m256i u = Bits == 2 ? unpack2_perm(codes) : unpack4(codes);
        const __m256i qa = Bits == 2 ? perm_act2(load32(y[c].qs)) : load32(y[c].qs);
        const __m256i isum = _mm256_madd_epi16(prod16(u, qa), _mm256_set1_epi16(1));
        float s = fp16(g) * _cvtsh_ss(y[c].d);
        if constexpr (Kind == 2) s *= mult;
        sum += s * hsum(_mm256_cvtepi32_ps(isum));
        if constexpr (Asym) sum += fp16(g + 2) * _cvtsh_ss(y[c].s);
    }
    return sum;
}

template <int Bits, int G, bool Asym, int Off>
float dot_int_avx2(int64_t n, const void* w, const void* a) {
    if constexpr (Bits == 4 || Bits == 2) {
        return dot_4bit_pairs<G, Asym ? 1 : 0, Bits, Off>(n, w, a, nullptr, 1.0f);
    } else {
    using act_block = std::conditional_t<Asym, block_q8_1, block_q8_0>;
    const auto* y = static_cast<const act_block*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    constexpr size_t header = Asym ? 4 : 2;
    float summ = 0;
    const float dot = sum_chunks(n, [&](int64_t c, __m256 acc) {
        const uint8_t* g;
        const uint8_t* codes = chunk_codes<G, Bits>(row, header, c, &g);
        const __m256i qa = load32(y[c].qs);
        __m256i u;
        if constexpr (Bits == 8) {
            u = load32(codes);
        } else {
            u = unpack3(codes);
        }
        __m256i isum;
        if constexpr (Asym && Bits == 8) {
            // u up to 255 would overflow maddubs' int16 pair sums: sum u a = sum (u - 128) a + 128 sum a,
            // u - 128 being the code byte with its top bit flipped read as signed; both sums exact.
            const __m256i ones = _mm256_set1_epi16(1);
            const __m256i sa = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), qa), ones);
            isum = _mm256_add_epi32(dot_i8_i8(_mm256_xor_si256(u, _mm256_set1_epi8(static_cast<char>(0x80))), qa),
                                    _mm256_slli_epi32(sa, 7));
            summ += fp16(g + 2) * _cvtsh_ss(y[c].s);
        } else if constexpr (Asym) {
            isum = dot_u8_i8(u, qa);
            summ += fp16(g + 2) * _cvtsh_ss(y[c].s);
        } else {
            isum = dot_i8_i8(_mm256_sub_epi8(u, _mm256_set1_epi8(static_cast<char>(Off))), qa);
        }
        return _mm256_fmadd_ps(_mm256_set1_ps(fp16(g) * _cvtsh_ss(y[c].d)), _mm256_cvtepi32_ps(isum), acc);
    });
    return dot + summ;
    }
}

// 8 code bytes (pshufb'd into the top byte of each dword) -> f32 bits of fp8 * 2^-120 (E4M3:
// s.eeee.mmm shifted right by 4 puts eeee on the low exponent bits 26..23 and mmm on 22..20) or
// fp8 * 2^-112 (E5M2: s.eeeee.mm shifted by 3), the smeared sign copies cleared.
template <bool E4M3>
inline __m256 fp8_f32(__m256i top) {
    const __m256i keep = _mm256_set1_epi32(E4M3 ? static_cast<int>(0x87FFFFFF) : static_cast<int>(0x8FFFFFFF));
    return _mm256_castsi256_ps(_mm256_and_si256(_mm256_srai_epi32(top, E4M3 ? 4 : 3), keep));
}

// sum_j fp8(code_j) * x_j * 2^-120 (E4M3) / 2^-112 (E5M2) over one chunk of 32, as 8 float lanes.
template <bool E4M3>
inline __m256 fp8_chunk(const uint8_t* codes, const float* x) {
    // Code i of the 16 broadcast to both lanes -> byte 3 of dword i (lane 0: codes 0..3, lane 1: 4..7),
    // the other bytes zero; lo takes codes 0..7, hi 8..15.
    const __m256i lo = _mm256_setr_epi8(-1, -1, -1, 0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1, 4, -1,
                                        -1, -1, 5, -1, -1, -1, 6, -1, -1, -1, 7);
    const __m256i hi = _mm256_setr_epi8(-1, -1, -1, 8, -1, -1, -1, 9, -1, -1, -1, 10, -1, -1, -1, 11, -1, -1, -1, 12, -1,
                                        -1, -1, 13, -1, -1, -1, 14, -1, -1, -1, 15);
    const __m256i c0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes)));
    const __m256i c1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + 16)));
    __m256 s0 = _mm256_mul_ps(fp8_f32<E4M3>(_mm256_shuffle_epi8(c0, lo)), _mm256_loadu_ps(x));
    __m256 s1 = _mm256_mul_ps(fp8_f32<E4M3>(_mm256_shuffle_epi8(c0, hi)), _mm256_loadu_ps(x + 8));
    s0 = _mm256_fmadd_ps(fp8_f32<E4M3>(_mm256_shuffle_epi8(c1, lo)), _mm256_loadu_ps(x + 16), s0);
    s1 = _mm256_fmadd_ps(fp8_f32<E4M3>(_mm256_shuffle_epi8(c1, hi)), _mm256_loadu_ps(x + 24), s1);
    return _mm256_add_ps(s0, s1);
}

// Two chunks per step into two accumulators; chunk c's codes at codes(c), its scale times 2^60 (2^56).
template <bool E4M3, bool PerRow>
float dot_fp8_avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    constexpr float half = E4M3 ? 0x1p60f : 0x1p56f;  // the square root of the decode's 2^120 (2^112)
    constexpr int64_t stride = PerRow ? 32 : 34;       // bytes per chunk
    constexpr int64_t k_prefetch = 2048;                // bytes ahead
    const uint8_t* codes = row + (PerRow ? 4 : 2);
    const auto scale = [&](int64_t c) { return PerRow ? half : fp16(row + stride * c) * half; };
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int64_t nc = n / 32;
    int64_t c = 0;
    for (; c + 1 < nc; c += 2) {
        const char* ahead = reinterpret_cast<const char*>(row + stride * c + k_prefetch);
        _mm_prefetch(ahead, _MM_HINT_T0);
        _mm_prefetch(ahead + 64, _MM_HINT_T0);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(c)), fp8_chunk<E4M3>(codes + stride * c, x + 32 * c), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(scale(c + 1)), fp8_chunk<E4M3>(codes + stride * (c + 1), x + 32 * c + 32),
                               acc1);
    }
    if (c < nc) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(c)), fp8_chunk<E4M3>(codes + stride * c, x + 32 * c), acc0);
    const float dot = hsum(_mm256_add_ps(acc0, acc1)) * half;
    if constexpr (PerRow) {
        float row_scale;
        std::memcpy(&row_scale, row, 4);
        return row_scale * dot;
    }
    return dot;
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
LOWBIT_INT_DOT_SHAPES(LOWBIT_INST)
#undef LOWBIT_INST

float dot_ternary_g64_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_int_avx2<2, k_qk_ternary, false, 1>(n, w, a);
}
float dot_nf4_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_4bit_pairs<k_qk_nf4, 2>(n, w, a, k_nf4_i8, 1.0f / 127.0f);
}
float dot_fp4_e2m1_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_4bit_pairs<k_qk_fp4, 2>(n, w, a, k_fp4_e2m1_x2, 0.5f);
}

float dot_nf4_dq_q8_0__avx2(int64_t n, const void* w, const void* a) {
    return dot_4bit_pairs<k_qk_nf4_dq, 3>(n, w, a, k_nf4_i8, 1.0f / 127.0f);
}

float dot_fp8_e4m3_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<true, false>(n, w, a); }
float dot_fp8_e5m2_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<false, false>(n, w, a); }
float dot_fp8_e4m3_pt_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<true, true>(n, w, a); }
float dot_fp8_e5m2_pt_f32__avx2(int64_t n, const void* w, const void* a) { return dot_fp8_avx2<false, true>(n, w, a); }

}  // namespace lowbit::kernels
