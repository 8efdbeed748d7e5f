// AVX2 dot products of quantized weight rows with Q8_0 / Q8_1 / Q8_K activation rows (see dot.hpp).
//
// Signed x signed bytes: _mm256_maddubs_epi16 needs an unsigned first operand, so |w| is multiplied
// by sign(w) * a (vpsignb), giving int16 pair sums (|.| <= 2 * 128 * 127, no saturation because
// activations stay in [-127, 127]); _mm256_madd_epi16 with ones (or with per-sub-block scales) widens
// to int32. K-quant codes are unsigned (0..63) and go straight into maddubs; their offsets (-8, -32,
// -4, mins) are applied through the activation block sums (Q8_K bsums).
//
// K-quants: per super-block the exact integer sums are formed and the float scales applied in the
// same order as __ref, so the result equals __ref bit for bit. 32-blocks: the scaled block sums are
// accumulated in 8 float lanes (llama.cpp does the same), so only the float summation order differs.
#include <immintrin.h>

#include <cstring>

#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/avx2_math.hpp"
#include "kernels/dot.hpp"

namespace lowbit::kernels {
using namespace avx2;  // shared AVX2 helpers (kernels/avx2_math.hpp)


namespace {

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

// Q2_K / Q3_K: the 16 sub-block scales of a super-block as int16 (sc16: lane 0 = scales 0..7, lane 1 =
// 8..15). half_scales(sc16, h) puts scales 8h .. 8h + 7 in both 128-bit lanes; pair_scales(v, g) then
// gives scale 8h + 2g in every int16 of the low lane and 8h + 2g + 1 in the high lane (one pshufb), the
// madd operand of the maddubs over sub-blocks 8h + 2g (weights 0..15) and 8h + 2g + 1 (16..31).
inline __m256i half_scales(__m256i sc16, int h) {
    return h == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00) : _mm256_permute2x128_si256(sc16, sc16, 0x11);
}
inline __m256i pair_scales(__m256i half, int g) {
    const char lo0 = static_cast<char>(4 * g), lo1 = static_cast<char>(4 * g + 1);
    const char hi0 = static_cast<char>(4 * g + 2), hi1 = static_cast<char>(4 * g + 3);
    const __m256i idx = _mm256_setr_epi8(lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1, lo0, lo1,
                                         hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1, hi0, hi1);
    return _mm256_shuffle_epi8(half, idx);
}

// sum_b d_w[b] d_a[b] * (block_dot(b) summed over its 8 int32 lanes), two blocks per step in two
// float accumulators (independent dependency chains).
// scale(b): the block's float scale product (fp16 d_w d_a, or MXFP4's power of two times d_a).
template <class S, class F>
inline float sum_blocks32_scaled(int64_t nb, S scale, F block_dot) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(b)), _mm256_cvtepi32_ps(block_dot(b)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(scale(b + 1)), _mm256_cvtepi32_ps(block_dot(b + 1)), acc1);
    }
    if (b < nb) acc0 = _mm256_fmadd_ps(_mm256_set1_ps(scale(b)), _mm256_cvtepi32_ps(block_dot(b)), acc0);
    return hsum(_mm256_add_ps(acc0, acc1));
}
template <class W, class A, class F>
inline float sum_blocks32(int64_t nb, const W* x, const A* y, F block_dot) {
    return sum_blocks32_scaled(nb, [&](int64_t b) { return fp16(x[b].d) * fp16(y[b].d); }, block_dot);
}

// sum += y_d * d * sumi - y_d * dmin * summ, rounded as __ref rounds it.
inline float k_term(float sum, float y_d, float d, float dmin, int sumi, int summ) {
    const float a = no_contract(no_contract(y_d * d) * static_cast<float>(sumi));
    const float b = no_contract(no_contract(y_d * dmin) * static_cast<float>(summ));
    return sum + (a - b);
}

}  // namespace

float dot_q4_0_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    const __m256i eight = _mm256_set1_epi8(8);
    return sum_blocks32(n / k_qk4_0, x, y, [&](int64_t b) {
        return dot_i8_i8(_mm256_sub_epi8(unpack_nibbles(x[b].qs), eight), load32(y[b].qs));
    });
}

namespace {
// 32-weight blocks of 16 nibble bytes indexing a 16-entry int8 table (IQ4_NL, MXFP4); scale(b) is the
// block's weight scale times d_a (as dot_table4_q8_0_ref).
template <class Block, const int8_t* Table, class Scale>
float dot_table4_q8_0_avx2(int64_t n, const Block* x, const block_q8_0* y, Scale scale) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(Table)));
    return sum_blocks32_scaled(n / 32, scale, [&](int64_t b) {
        return dot_i8_i8(_mm256_shuffle_epi8(table, unpack_nibbles(x[b].qs)), load32(y[b].qs));
    });
}
}  // namespace

float dot_iq4_nl_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq4_nl*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    return dot_table4_q8_0_avx2<block_iq4_nl, k_iq4nl_values>(n, x, y, [&](int64_t b) { return fp16(x[b].d) * fp16(y[b].d); });
}

float dot_mxfp4_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_mxfp4*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    return dot_table4_q8_0_avx2<block_mxfp4, k_mxfp4_kvalues>(
        n, x, y, [&](int64_t b) { return e8m0_to_f32_half(x[b].e) * fp16(y[b].d); });
}

// Ternary TQ2_0 / TQ1_0 . Q8_K: the codes 0..2 (unsigned) meet the activations in maddubs, summed in
// int16 (8 maddubs per block: |.| <= 8 x 2 x 2 x 127 = 4064); the -1 enters as the activations' sum
// (Q8_K bsums). Float step as __ref: sum + (d_a d_w) * float(sumi).
namespace {
inline float tq_block(float sum, const block_q8_k& y, uint16_t d, __m256i s16) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.bsums)), ones);
    const int sumi = hsum_i32(_mm256_sub_epi32(_mm256_madd_epi16(s16, ones), bs));
    return block_term(sum, y.d, fp16(d), sumi);
}

// Trit of each byte held in a 16-bit lane (value 0..255) times mul (per lane, mod 256): the top trit
// of (byte * mul mod 256), i.e. (. * 3) >> 8 (formats/ggml_iquants.cpp), in the lane's low byte.
inline __m256i trit16(__m256i b, __m256i mul) {
    const __m256i q = _mm256_and_si256(_mm256_mullo_epi16(b, mul), _mm256_set1_epi16(0xFF));
    return _mm256_mulhi_epu16(q, _mm256_set1_epi16(768));
}

// The trits of the 32 bytes of v (each byte's 16-bit multiplier: lo for bytes 0..7 / 16..23, hi for
// 8..15 / 24..31 of the 128-bit lanes), in byte order, as unsigned bytes 0..2.
inline __m256i trits32(__m256i v, __m256i mul_lo, __m256i mul_hi) {
    const __m256i z = _mm256_setzero_si256();
    return _mm256_packus_epi16(trit16(_mm256_unpacklo_epi8(v, z), mul_lo), trit16(_mm256_unpackhi_epi8(v, z), mul_hi));
}
}  // namespace

float dot_tq2_0_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_tq2_0*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        __m256i s16 = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load32(x[b].qs + 32 * h);
            for (int l = 0; l < 4; ++l)
                s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 2 * l), m3),
                                                                 load32(y[b].qs + 128 * h + 32 * l)));
        }
        sum = tq_block(sum, y[b], x[b].d, s16);
    }
    return sum;
}

// TQ1_0 (weight order in dot_ref.cpp): qs[0..32) x 5 trits in 5 vectors; qs[32..48) broadcast to both
// lanes for trits (0, 1) and (2, 3); trit 4 of qs[32..48) in the low lane with the 16 qh trits (qh[j]
// repeated, position 4t + j, multiplier 3^t) in the high lane.
float dot_tq1_0_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_tq1_0*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    static constexpr int16_t k_pow3[5] = {1, 3, 9, 27, 81};
    const __m256i m01 = _mm256_setr_epi16(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i m23 = _mm256_setr_epi16(9, 9, 9, 9, 9, 9, 9, 9, 27, 27, 27, 27, 27, 27, 27, 27);
    const __m256i m4_lo = _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 1, 1, 1, 1, 3, 3, 3, 3);
    const __m256i m4_hi = _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 9, 9, 9, 9, 27, 27, 27, 27);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        const int8_t* q = y[b].qs;
        __m256i s16 = _mm256_setzero_si256();
        const __m256i v = load32(x[b].qs);
        for (int t = 0; t < 5; ++t) {
            const __m256i m = _mm256_set1_epi16(k_pow3[t]);
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trits32(v, m, m), load32(q + 32 * t)));
        }
        const __m128i v2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs + 32));
        const __m256i v2x = _mm256_set_m128i(v2, v2);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trits32(v2x, m01, m01), load32(q + 160)));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trits32(v2x, m23, m23), load32(q + 192)));
        int32_t qh;
        std::memcpy(&qh, x[b].qh, 4);
        const __m256i v3 = _mm256_set_m128i(_mm_set1_epi32(qh), v2);
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(trits32(v3, m4_lo, m4_hi), load32(q + 224)));
        sum = tq_block(sum, y[b], x[b].d, s16);
    }
    return sum;
}

// Q4_1 / Q5_1: unsigned codes (0..15 / 0..31) go straight into maddubs; the mins are added as
// m_w * s_a per block in a scalar sum (as ggml does).
namespace {
template <class W, class F>
inline float sum_blocks32_min(int64_t nb, const W* x, const block_q8_1* y, F block_dot) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float summ = 0;
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[b].d) * fp16(y[b].d)), _mm256_cvtepi32_ps(block_dot(b)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[b + 1].d) * fp16(y[b + 1].d)),
                               _mm256_cvtepi32_ps(block_dot(b + 1)), acc1);
        summ += fp16(x[b].m) * fp16(y[b].s) + fp16(x[b + 1].m) * fp16(y[b + 1].s);
    }
    if (b < nb) {
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(x[b].d) * fp16(y[b].d)), _mm256_cvtepi32_ps(block_dot(b)), acc0);
        summ += fp16(x[b].m) * fp16(y[b].s);
    }
    return hsum(_mm256_add_ps(acc0, acc1)) + summ;
}
}  // namespace

float dot_q4_1_q8_1__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    const __m256i ones = _mm256_set1_epi16(1);
    return sum_blocks32_min(n / k_qk4_1, x, y, [&](int64_t b) {
        return _mm256_madd_epi16(_mm256_maddubs_epi16(unpack_nibbles(x[b].qs), load32(y[b].qs)), ones);
    });
}

float dot_q5_1_q8_1__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    const __m256i ones = _mm256_set1_epi16(1), bit4 = _mm256_set1_epi8(0x10);
    return sum_blocks32_min(n / k_qk5_1, x, y, [&](int64_t b) {
        const __m256i u = _mm256_or_si256(unpack_nibbles(x[b].qs), _mm256_and_si256(bits_to_bytes(x[b].qh), bit4));
        return _mm256_madd_epi16(_mm256_maddubs_epi16(u, load32(y[b].qs)), ones);
    });
}

float dot_q5_0_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    const __m256i f0 = _mm256_set1_epi8(static_cast<char>(0xF0));
    // q - 16 as int8: the nibble with 0xF0 or-ed in where bit 4 is clear (nibble - 16).
    return sum_blocks32(n / k_qk5_0, x, y, [&](int64_t b) {
        const __m256i clear = _mm256_andnot_si256(bits_to_bytes(x[b].qh), f0);
        return dot_i8_i8(_mm256_or_si256(unpack_nibbles(x[b].qs), clear), load32(y[b].qs));
    });
}

float dot_q8_0_q8_0__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q8_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    return sum_blocks32(n / k_qk8_0, x, y,
                        [&](int64_t b) { return dot_i8_i8(load32(x[b].qs), load32(y[b].qs)); });
}

float dot_q2_k_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q2_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].scales));
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, _mm_set1_epi8(15)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load32(x[b].qs + 32 * h), half = half_scales(sc16, h);
            for (int g = 0; g < 4; ++g) {
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * g), m3);
                const __m256i p = _mm256_maddubs_epi16(u, load32(y[b].qs + 128 * h + 32 * g));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales(half, g)));
            }
        }
        // Mins: sum_s (sc[s] >> 4) * bsums[s].
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_srli_epi16(sc8, 4));
        const __m256i mins4 = _mm256_and_si256(mins, _mm256_set1_epi16(15));
        const int summ = hsum_i32(_mm256_madd_epi16(mins4, load32(y[b].bsums)));
        sum = k_term(sum, y[b].d, fp16(x[b].d), fp16(x[b].dmin), hsum_i32(acc), summ);
    }
    return sum;
}

float dot_q3_k_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q3_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        // The 16 6-bit scales (minus 32) from the 12 packed bytes with 32-bit operations: low 4 bits from
        // bytes 0..7 (low nibbles: scales 0..7, high nibbles: 8..15), high 2 bits from bytes 8..11.
        uint32_t u[3];
        std::memcpy(u, x[b].scales, 12);
        constexpr uint32_t k_m4 = 0x0F0F0F0F, k_m2 = 0x03030303;
        const uint32_t t = u[2];
        // Built in registers (_mm_set_epi32): a 16-byte load of the words just stored stalled on store
        // forwarding (a third of this kernel's time).
        const __m128i packed = _mm_set_epi32(static_cast<int>(((u[1] >> 4) & k_m4) | (((t >> 6) & k_m2) << 4)),
                                             static_cast<int>(((u[0] >> 4) & k_m4) | (((t >> 4) & k_m2) << 4)),
                                             static_cast<int>((u[1] & k_m4) | (((t >> 2) & k_m2) << 4)),
                                             static_cast<int>((u[0] & k_m4) | ((t & k_m2) << 4)));
        const __m128i sc8 = _mm_sub_epi8(packed, _mm_set1_epi8(32));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        const __m256i hm = load32(x[b].hmask);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load32(x[b].qs + 32 * h), half = half_scales(sc16, h);
            for (int g = 0; g < 4; ++g) {
                // u = low 2 bits + 4 * high bit (0..7); q - 4 * !high = u - 4.
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * g), m3);
                const __m256i hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hm, 4 * h + g), 2), m4);
                const __m256i p = _mm256_maddubs_epi16(_mm256_or_si256(lo, hi), load32(y[b].qs + 128 * h + 32 * g));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales(half, g)));
            }
        }
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(y[b].bsums)), 2);
        const int sumi = hsum_i32(_mm256_sub_epi32(acc, off));
        sum = k_term(sum, y[b].d, fp16(x[b].d), 0.0f, sumi, 0);
    }
    return sum;
}

// Q4_K: the 12 packed scale bytes are unpacked with 32-bit mask/shift operations into 8 scales and
// 8 mins (bytes), the mins dotted with the pair sums of bsums in one madd, and each sub-block's scale
// broadcast to 16-bit lanes by a byte shuffle.
float dot_q4_k_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    constexpr uint32_t k_m6 = 0x3F3F3F3F, k_m4 = 0x0F0F0F0F, k_m2 = 0x03030303;
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        // scale_min_k4: sc[j] = q[j] & 63, m[j] = q[j+4] & 63 (j < 4); sc[j] = (q[j+4] & 15) | (q[j-4] >> 6) << 4,
        // m[j] = (q[j+4] >> 4) | (q[j] >> 6) << 4 (j >= 4). u[0..1]: the 8 scales, u[2..3]: the 8 mins.
        uint32_t u[4];
        std::memcpy(u, x[b].scales, 12);
        u[3] = ((u[2] >> 4) & k_m4) | (((u[1] >> 6) & k_m2) << 4);
        const uint32_t mins_lo = u[1] & k_m6;
        u[1] = (u[2] & k_m4) | (((u[0] >> 6) & k_m2) << 4);
        u[2] = mins_lo;
        u[0] &= k_m6;
        const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
        // Mins: sum_s m[s] * (bsums[2s] + bsums[2s+1]), exact in int32.
        const __m128i bs = _mm_hadd_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].bsums)),
                                          _mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].bsums + 8)));
        const __m128i pm = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)), bs);
        __m128i s4 = _mm_add_epi32(pm, _mm_unpackhi_epi64(pm, pm));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x1));
        const int summ = _mm_cvtsi128_si32(s4);
        // Scales as int16, both 128-bit lanes: [sc0..sc7].
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q = load32(x[b].qs + 32 * j);
            const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), load32(y[b].qs + 64 * j));
            const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                                    load32(y[b].qs + 64 * j + 32));
            // Broadcast int16 scale 2j (2j+1) to every 16-bit lane.
            const __m256i s0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0202 * (2 * j))));
            const __m256i s1 =
                _mm256_shuffle_epi8(sc16, _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0202 * (2 * j + 1))));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1)));
        }
        sum = k_term(sum, y[b].d, fp16(x[b].d), fp16(x[b].dmin), hsum_i32(acc), summ);
    }
    return sum;
}

float dot_q5_k_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sc[8], mn[8];
        for (int s = 0; s < 8; ++s) scale_min_k4(s, x[b].scales, sc[s], mn[s]);
        const __m256i qh = load32(x[b].qh);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            const __m256i q = load32(x[b].qs + 32 * j);
            // bit 2j (2j+1) of qh[l] -> 0x10 of byte l.
            const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * j), 4), bit4);
            const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * j + 1), 4), bit4);
            const __m256i u0 = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            const __m256i u1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            const __m256i p0 = _mm256_maddubs_epi16(u0, load32(y[b].qs + 64 * j));
            const __m256i p1 = _mm256_maddubs_epi16(u1, load32(y[b].qs + 64 * j + 32));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p0, _mm256_set1_epi16(static_cast<short>(sc[2 * j]))));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<short>(sc[2 * j + 1]))));
        }
        int summ = 0;
        for (int s = 0; s < 8; ++s) summ += mn[s] * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
        sum = k_term(sum, y[b].d, fp16(x[b].d), fp16(x[b].dmin), hsum_i32(acc), summ);
    }
    return sum;
}

float dot_q6_k_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q6_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].scales)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i half = half_scales(sc16, h);
            const __m256i ql0 = load32(x[b].ql + 64 * h), ql1 = load32(x[b].ql + 64 * h + 32);
            const __m256i qh = load32(x[b].qh + 32 * h);
            // u = low 4 bits | high 2 bits << 4, 0..63; weight = u - 32.
            const __m256i u[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)),
            };
            for (int g = 0; g < 4; ++g) {
                const __m256i p = _mm256_maddubs_epi16(u[g], load32(y[b].qs + 128 * h + 32 * g));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair_scales(half, g)));
            }
        }
        const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(y[b].bsums)), 5);
        sum = k_term(sum, y[b].d, fp16(x[b].d), 0.0f, hsum_i32(_mm256_sub_epi32(acc, off)), 0);
    }
    return sum;
}

namespace {

// 8 F16 / BF16 weights -> 8 floats.
template <bool Bf16>
inline __m256 half8(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (Bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

// 32 weights per step into 4 accumulators, then 8 at a time, then a masked tail (the tail's
// conversion is done on a zero-padded copy so nothing past w + n is read).
template <bool Bf16>
float dot_half_f32(int64_t n, const void* w, const void* a) {
    const auto* h = static_cast<const uint16_t*>(w);
    const auto* x = static_cast<const float*>(a);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch(reinterpret_cast<const char*>(h + i) + 1536, _MM_HINT_T0);
        s0 = _mm256_fmadd_ps(half8<Bf16>(h + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(half8<Bf16>(h + i + 8), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(half8<Bf16>(h + i + 16), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(half8<Bf16>(h + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(half8<Bf16>(h + i), _mm256_loadu_ps(x + i), s0);
    if (i < n) {
        alignas(16) uint16_t t[8] = {};
        std::memcpy(t, h + i, sizeof(uint16_t) * static_cast<size_t>(n - i));
        s1 = _mm256_fmadd_ps(half8<Bf16>(t), _mm256_maskload_ps(x + i, tail_mask(n - i)), s1);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

}  // namespace

float dot_f16_f32__avx2(int64_t n, const void* w, const void* a) { return dot_half_f32<false>(n, w, a); }
float dot_bf16_f32__avx2(int64_t n, const void* w, const void* a) { return dot_half_f32<true>(n, w, a); }

}  // namespace lowbit::kernels
