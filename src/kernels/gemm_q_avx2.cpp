// AVX2 packing and micro-kernels of the integer prompt GEMM (see gemm_q.hpp for layouts and math).
//
// Packing: each row's block is loaded as 32 code bytes (Q4_0: nibbles unpacked, low = columns 0..15;
// Q8_0: as stored; Q4_K/Q5_K: one 32-column sub-block; Q2_K/Q3_K/Q6_K: bit fields of 32 bytes;
// IQ4_NL/IQ4_XS: nibbles unpacked as Q4_0, then mapped to the signed codebook values by pshufb), then
// 8 rows are transposed as an 8x8 matrix of 32-bit elements, so register g holds columns 4g..4g+3 of
// rows 0..7.
//
// Micro-kernels: an 8-row x T-token tile (T = 1..4) of float accumulators, one lane per row. For each
// group of 4 columns one 32-byte weight load is multiplied against each token's 4 activation bytes
// broadcast to all lanes:
//   Q4_0, Q5_0, Q4_K: unsigned codes (0..15, Q5_0 0..31) x signed activations (|a| <= 127) -> _mm256_maddubs_epi16; the
//               int16 pair sums (<= 3810) of the 8 groups of one 32-column block are added in int16
//               (<= 30480, no overflow) before one _mm256_madd_epi16 widens them (with ones, or with
//               the Q4_K sub-block scales). Q4_0's -8 offset enters as the starting value of those
//               int16 sums: lane 2r starts at -8 x (activations of columns 4g, 4g+1 over all g), lane
//               2r+1 at -8 x (columns 4g+2, 4g+3), so each lane ends at sum (q - 8) a, |.| <= 16256
//               (intermediate sums may wrap; int16 addition is modular, so the final value is exact).
//   Q8_0:       signed x signed through the vpsignb trick (|w| times sign(w) a), widened per group
//               (IQ4_NL runs this kernel on its codebook values; IQ4_XS widens with its sub-block scales).
//   K-quants: see the kernels below (Q5_K widens every 4 groups; Q2_K/Q3_K per 16-column sub-block).
// The float operations match gemm_q.cpp's __ref exactly (same products, fma, order), so the results
// are bit-identical.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "formats/lowbit_blocks.hpp"
#include "kernels/avx2_math.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/int_formats.hpp"
#include "kernels/simd_tile_common.hpp"

namespace lowbit::kernels {
using namespace avx2;  // shared AVX2 helpers (kernels/avx2_math.hpp)
using simd::bcast4;
using simd::store_rows;
using simd::token_rows;

void unpack_q3_k_scales(const uint8_t* packed, int8_t* out);  // dot_ref.cpp: 16 scales, minus 32

namespace {

inline void store32(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }


// r[0..7] rows of 8 int32 -> out + 32 * g: element g of every row.
inline void transpose_store(const __m256i r[8], uint8_t* out) {
    __m256i v[8] = {r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]};
    simd::transpose8x8_epi32(v);
    for (int g = 0; g < 8; ++g) store32(out + 32 * g, v[g]);
}

// The walk of the row packers into gemm_block_q8x8 (32 columns per block): for block b, row i < n_rows
// gives its 32 codes, codes(row i, b, d) with d set to the row's scale; rows past n_rows get zero codes
// and scale; the 8 rows are then transposed into the block's layout.
// Out: gemm_block_q8x8, or gemm_block_q8x8m, whose codes(row, b, d, m) also sets the row's minimum.
template <class Out = gemm_block_q8x8, class Codes>
inline void pack_q8x8(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, void* dst, Codes codes) {
    constexpr bool asym = std::is_same_v<Out, gemm_block_q8x8m>;
    auto* out = static_cast<Out*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        __m256i r[8];
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) {
                if constexpr (asym) r[i] = codes(w + row_stride * static_cast<size_t>(i), b, out[b].d[i], out[b].m[i]);
                else r[i] = codes(w + row_stride * static_cast<size_t>(i), b, out[b].d[i]);
            } else {
                r[i] = _mm256_setzero_si256();
                out[b].d[i] = 0.0f;
                if constexpr (asym) out[b].m[i] = 0.0f;
            }
        }
        transpose_store(r, reinterpret_cast<uint8_t*>(out[b].q));
    }
}

// The integer block sums of the 8-row x 32-column packed blocks for T tokens (qa[t]: the token's 32
// activation codes). Unsigned codes (<= 31): maddubs summed in int16 from the start values p16 (the
// lanes may wrap but end in range), widened once. Signed codes: Q8_0's sign trick, widened per group
// into isum, which holds the start values.
//
// add_group_products: p16[t] += maddubs(group g's 8-row codes, token t's 4 activation bytes at 4 g) over
// G groups of 4 columns, in int16. Fully unrolled, with each sum pinned to a register after every group
// (avx2::pin): left alone, GCC 12 reassociates the unrolled additions into a tree over all G
// products and spills them to the stack (Q4_K's kernel ran at 3/4 of this speed), and with the loop
// kept it rotates the sums through registers with 4 moves per group (docs/performance.md, "Prompt path").
template <int T, int G, class Code>
inline void add_group_products(const Code (*q)[8][4], const int8_t* const (&qa)[T], __m256i (&p16)[T]) {
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
        const __m256i wv = load32(q[g]);
        for (int t = 0; t < T; ++t) {
            p16[t] = _mm256_add_epi16(_mm256_maddubs_epi16(wv, bcast4(qa[t] + 4 * g)), p16[t]);
            pin(p16[t]);
        }
    }
}

template <int T>
inline void block_sums_unsigned(const int8_t (*q)[8][4], const int8_t* const (&qa)[T], __m256i (&p16)[T],
                                __m256i (&isum)[T]) {
    add_group_products<T, 8>(q, qa, p16);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int t = 0; t < T; ++t) isum[t] = _mm256_madd_epi16(p16[t], ones);
}
template <int T>
inline void block_sums_signed(const int8_t (*q)[8][4], const int8_t* const (&qa)[T], __m256i (&isum)[T]) {
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 1
    for (int g = 0; g < 8; ++g) {
        const __m256i wv = load32(q[g]);
        const __m256i aw = _mm256_sign_epi8(wv, wv);
        for (int t = 0; t < T; ++t) {
            const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast4(qa[t] + 4 * g), wv));
            isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, ones));
        }
    }
}

// Off: 8 (Q4_0), 16 (Q5_0, codes 0..31: the int16 lane sums end at sum (q - 16) a, |.| <= 32512) or
// 0 (Q8_0, signed codes, sign trick).
template <int T, int Off>
void gemm_q8x8(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q8x8*>(pw);
    const block_q8_0* x[T];
    const float* da[T];
    const int32_t* s8[T];
    token_rows(a, t0, x, da);
    for (int t = 0; t < T; ++t) s8[t] = a.s + (t0 + t) * a.n_blocks;
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const int8_t* qa[T];
        for (int t = 0; t < T; ++t) qa[t] = x[t][b].qs;
        __m256i isum[T];
        if constexpr (Off != 0) {
            // Start from the -8 correction (see gemm_act): the int16 lane sums wrap but end in range.
            __m256i p16[T];
            for (int t = 0; t < T; ++t) {
                p16[t] = _mm256_set1_epi32(s8[t][b]);
                if constexpr (Off == 16) p16[t] = _mm256_slli_epi16(p16[t], 1);  // -16 sum: exact in int16
            }
            block_sums_unsigned<T>(w[b].q, qa, p16, isum);
        } else {
            for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
            block_sums_signed<T>(w[b].q, qa, isum);
        }
        const __m256 dw = _mm256_loadu_ps(w[b].d);
        for (int t = 0; t < T; ++t) {
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(da[t][b]));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), scale, acc[t]);
        }
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// Q4_1-style asymmetric blocks (codes 0..15, int16 sums <= 8 x 2 x 15 x 127 = 30480) against Q8_1:
// acc = fma(float(sum), d_w * d_a, acc), then acc = fma(m_w, s_a, acc), as gemm_q4_1_q8_1_8x4__ref.
// Signed (the 8-bit asymmetric formats, codes c = u - 128): sum c a by Q8_0's sign trick in int32, plus
// 128 x the activation sum, = sum u a (gemm_q8_1s_q8_1_8x4__ref).
template <int T, bool Signed = false>
void gemm_q8x8m(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q8x8m*>(pw);
    const block_q8_1* x[T];
    const float* da[T];
    const int32_t* sa[T];
    token_rows(a, t0, x, da);
    for (int t = 0; t < T; ++t) sa[t] = a.s + (t0 + t) * a.n_blocks * k_q8_1_sides;
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const int8_t* qa[T];
        for (int t = 0; t < T; ++t) qa[t] = x[t][b].qs;
        __m256i isum[T];
        if constexpr (Signed) {
            for (int t = 0; t < T; ++t) isum[t] = _mm256_set1_epi32(128 * sa[t][k_q8_1_sides * b + 1]);
            block_sums_signed<T>(w[b].q, qa, isum);
        } else {
            __m256i p16[T];
            for (int t = 0; t < T; ++t) p16[t] = _mm256_setzero_si256();
            block_sums_unsigned<T>(w[b].q, qa, p16, isum);
        }
        const __m256 dw = _mm256_loadu_ps(w[b].d), mw = _mm256_loadu_ps(w[b].m);
        for (int t = 0; t < T; ++t) {
            float s;
            std::memcpy(&s, &sa[t][k_q8_1_sides * b], 4);
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(da[t][b]));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), scale, acc[t]);
            acc[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(s), acc[t]);
        }
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// Split: groups of 4 columns summed in int16 before widening. Q4_K (codes 0..15): 8 (<= 30480);
// Q5_K (codes 0..31, pair sums <= 7874): 4 (<= 31496), so a 32-column sub-block is widened twice.
template <int T, int Split = 8>
void gemm_q4_k(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q4_kx8*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    const int32_t* bs[T];
    token_rows(a, t0, x, da);
    for (int t = 0; t < T; ++t) bs[t] = a.s + (t0 + t) * a.n_blocks * k_q8_k_sides;
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i sc = load32(w[b].sc[s]);
            for (int g0 = 0; g0 < 8; g0 += Split) {
                __m256i p16[T];
                for (int t = 0; t < T; ++t) p16[t] = _mm256_setzero_si256();
                const int8_t* qa[T];
                for (int t = 0; t < T; ++t) qa[t] = x[t][b].qs + 32 * s + 4 * g0;
                add_group_products<T, Split>(w[b].q + 8 * s + g0, qa, p16);
                for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16[t], sc));
            }
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d), dminv = _mm256_loadu_ps(w[b].dmin);
        for (int t = 0; t < T; ++t) {
            __m256i summ = _mm256_setzero_si256();
            for (int p = 0; p < 4; ++p)
                summ = _mm256_add_epi32(summ, _mm256_madd_epi16(load32(w[b].mn[p]), _mm256_set1_epi32(bs[t][b * k_q8_k_sides + p])));
            const __m256 dab = _mm256_set1_ps(da[t][b]);
            const __m256 m = _mm256_mul_ps(_mm256_mul_ps(dab, dminv), _mm256_cvtepi32_ps(summ));
            acc[t] = _mm256_add_ps(acc[t], _mm256_fmsub_ps(_mm256_mul_ps(dab, dv), _mm256_cvtepi32_ps(sumi[t]), m));
        }
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

template <int T>
void gemm_q6_k(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q6_kx8*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    const int32_t* cs[T];
    token_rows(a, t0, x, da);
    for (int t = 0; t < T; ++t) cs[t] = a.s + (t0 + t) * a.n_blocks * k_q8_k_sides;
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 16; ++s) {
            // Codes 0..63: pair sums <= 16002; the 4 groups of a 16-column sub-block start from the -32
            // correction and end at sum (q - 32) a, |.| <= 32512 (modular int16, exact).
            __m256i p16[T];
            for (int t = 0; t < T; ++t) p16[t] = _mm256_set1_epi32(cs[t][b * k_q8_k_sides + 4 + s]);
            const int8_t* qa[T];
            for (int t = 0; t < T; ++t) qa[t] = x[t][b].qs + 16 * s;
            add_group_products<T, 4>(w[b].q + 4 * s, qa, p16);
            const __m256i sc = load32(w[b].sc[s]);
            for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16[t], sc));
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d);
        for (int t = 0; t < T; ++t)
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(da[t][b]), dv), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// Q2_K (Q3 false): codes 0..3 (pair sums <= 762, 4 groups <= 3048), 16-column sub-blocks with 4-bit
// scales; mins against Q8_K's bsums, read as int16 pairs straight from the activation block.
// Q3_K (Q3 true): codes 0..7 (4 groups <= 7112), signed scales; the -4 offset as -4 x sum_s sc[s] bs16[s],
// subtracted in int32 once per super-block (an int16 start value per sub-block cost ~40% here).
// The int16 pair operands against Q8_K's bsums: Q2_K's mins, Q3_K's scales.
inline const int16_t* pair_weights(const gemm_block_q2_kx8& b, int p) { return b.mn[p]; }
inline const int16_t* pair_weights(const gemm_block_q3_kx8& b, int p) { return b.sp[p]; }

template <int T, bool Q3>
void gemm_q2_k(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    using blk_t = std::conditional_t<Q3, gemm_block_q3_kx8, gemm_block_q2_kx8>;
    const auto* w = static_cast<const blk_t*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    token_rows(a, t0, x, da);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 16; ++s) {
            __m256i p16[T];
            for (int t = 0; t < T; ++t) p16[t] = _mm256_setzero_si256();
            const int8_t* qa[T];
            for (int t = 0; t < T; ++t) qa[t] = x[t][b].qs + 16 * s;
            add_group_products<T, 4>(w[b].q + 4 * s, qa, p16);
            const __m256i sc = load32(w[b].sc[s]);
            for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p16[t], sc));
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d);
        for (int t = 0; t < T; ++t) {
            __m256i summ = _mm256_setzero_si256();
            for (int p = 0; p < 8; ++p) {
                int32_t pair;
                std::memcpy(&pair, x[t][b].bsums + 2 * p, 4);
                const __m256i m = load32(pair_weights(w[b], p));
                summ = _mm256_add_epi32(summ, _mm256_madd_epi16(m, _mm256_set1_epi32(pair)));
            }
            const __m256 dab = _mm256_set1_ps(da[t][b]);
            if constexpr (Q3) {
                const __m256i si = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(summ, 2));
                acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dab, dv), _mm256_cvtepi32_ps(si), acc[t]);
            } else {
                const __m256 m = _mm256_mul_ps(_mm256_mul_ps(dab, _mm256_loadu_ps(w[b].dmin)), _mm256_cvtepi32_ps(summ));
                acc[t] = _mm256_add_ps(acc[t], _mm256_fmsub_ps(_mm256_mul_ps(dab, dv), _mm256_cvtepi32_ps(sumi[t]), m));
            }
        }
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// IQ4_XS: signed codebook values x signed activations (|a| <= 127) through the sign trick, as Q8_0; each
// group's int16 pair sums (|.| <= 32258) are widened at once by madd with the sub-block's scale (|sc| <= 32).
template <int T>
void gemm_iq4_xs(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_iq4_xsx8*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    token_rows(a, t0, x, da);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i sc = load32(w[b].sc[s]);
#pragma GCC unroll 2
            for (int g = 0; g < 8; ++g) {
                const __m256i wv = load32(w[b].q[8 * s + g]);
                const __m256i aw = _mm256_sign_epi8(wv, wv);
                for (int t = 0; t < T; ++t) {
                    const __m256i p =
                        _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast4(x[t][b].qs + 32 * s + 4 * g), wv));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sc));
                }
            }
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d);
        for (int t = 0; t < T; ++t)
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(da[t][b]), dv), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// FP8 prompts (gemm_q.hpp, "FP8 prompts"): int16 weight pairs x 12-bit activation pairs by
// _mm256_madd_epi16, one int32 sum per row and block (exact), then Q8_0's float step. The column-pair
// loop is fully unrolled with the sums pinned per pair, as in add_group_products: left alone, GCC 12 kept
// every product in a stack slot (two thirds of the in-cache rate); unrolled by 2 it rotated the sums.
template <int T>
void gemm_i16(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_i16x8*>(pw);
    const block_a16* x[T];
    const float* da[T];
    token_rows(a, t0, x, da);
    __m256 acc[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i isum[T];
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 16
        for (int p = 0; p < 16; ++p) {
            const __m256i wv = load32(w[b].q[p]);
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) {
                isum[t] = _mm256_add_epi32(_mm256_madd_epi16(wv, bcast4(x[t][b].q + 2 * p)), isum[t]);
                pin(isum[t]);
            }
        }
        const __m256 dw = _mm256_loadu_ps(w[b].d);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t)
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, _mm256_set1_ps(da[t][b])), acc[t]);
    }
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// The micro-kernels as simd::dispatch_tokens takes them: K<T>::run for T tokens.
#define LOWBIT_TOKEN_KERNEL(name, ...)                                                                         \
    template <int T>                                                                                       \
    struct name {                                                                                          \
        static void run(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy,  \
                        int n_rows) {                                                                      \
            __VA_ARGS__(nb, pw, a, t0, y, ldy, n_rows);                                                    \
        }                                                                                                  \
    };
LOWBIT_TOKEN_KERNEL(k_q4_0, gemm_q8x8<T, 8>)
LOWBIT_TOKEN_KERNEL(k_q4_1, gemm_q8x8m<T>)
LOWBIT_TOKEN_KERNEL(k_q8_1s, gemm_q8x8m<T, true>)
LOWBIT_TOKEN_KERNEL(k_q8_0, gemm_q8x8<T, 0>)
LOWBIT_TOKEN_KERNEL(k_iq4_xs, gemm_iq4_xs<T>)
LOWBIT_TOKEN_KERNEL(k_q5_0, gemm_q8x8<T, 16>)
LOWBIT_TOKEN_KERNEL(k_q4_k, gemm_q4_k<T>)
LOWBIT_TOKEN_KERNEL(k_q6_k, gemm_q6_k<T>)
LOWBIT_TOKEN_KERNEL(k_q5_k, gemm_q4_k<T, 4>)
LOWBIT_TOKEN_KERNEL(k_q3_k, gemm_q2_k<T, true>)
LOWBIT_TOKEN_KERNEL(k_q2_k, gemm_q2_k<T, false>)
LOWBIT_TOKEN_KERNEL(k_i16, gemm_i16<T>)
#undef LOWBIT_TOKEN_KERNEL

// Bits 2j, 2j+1 of each byte (0..3 per byte).
inline __m256i crumb(__m256i v, int j) {
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * j)), _mm256_set1_epi8(3));
}
// Row i's d, dmin and 6-bit sub-block scales and mins in a packed Q4_K/Q5_K block (the two types
// store them alike); zeros when the row is missing (blk null).
template <class Src>
void pack_k4_header(gemm_block_q4_kx8& o, int i, const Src* blk) {
    o.d[i] = blk ? _cvtsh_ss(blk->d) : 0.0f;
    o.dmin[i] = blk ? _cvtsh_ss(blk->dmin) : 0.0f;
    for (int s = 0; s < 8; ++s) {
        int sc = 0, m = 0;
        if (blk) scale_min_k4(s, blk->scales, sc, m);
        o.sc[s][2 * i] = o.sc[s][2 * i + 1] = static_cast<int16_t>(sc);
        o.mn[s / 2][2 * i + s % 2] = static_cast<int16_t>(m);
    }
}

// Bit `bit` of each byte (0 or 1 per byte).
inline __m256i bit_of(__m256i v, int bit) {
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(bit)), _mm256_set1_epi8(1));
}

}  // namespace

void gemm_pack_q5_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_q5_k* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) blk[i] = reinterpret_cast<const block_q5_k*>(w + row_stride * static_cast<size_t>(i)) + b;
            pack_k4_header(out[b], i, blk[i]);
        }
        for (int j = 0; j < 4; ++j) {
            __m256i lo[8], hi[8];
            for (int i = 0; i < 8; ++i) {
                if (blk[i]) {
                    const __m256i q = load32(blk[i]->qs + 32 * j), qh = load32(blk[i]->qh);
                    lo[i] = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_slli_epi16(bit_of(qh, 2 * j), 4));
                    hi[i] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                            _mm256_slli_epi16(bit_of(qh, 2 * j + 1), 4));
                } else {
                    lo[i] = hi[i] = _mm256_setzero_si256();
                }
            }
            transpose_store(lo, reinterpret_cast<uint8_t*>(out[b].q[8 * (2 * j)]));
            transpose_store(hi, reinterpret_cast<uint8_t*>(out[b].q[8 * (2 * j + 1)]));
        }
    }
}

void gemm_pack_q3_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_q3_kx8*>(dst);
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_q3_k* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            int8_t sc[16] = {};
            if (i < n_rows) {
                blk[i] = reinterpret_cast<const block_q3_k*>(w + row_stride * static_cast<size_t>(i)) + b;
                out[b].d[i] = _cvtsh_ss(blk[i]->d);
                unpack_q3_k_scales(blk[i]->scales, sc);
            } else {
                out[b].d[i] = 0.0f;
            }
            for (int s = 0; s < 16; ++s) {
                out[b].sc[s][2 * i] = out[b].sc[s][2 * i + 1] = sc[s];
                out[b].sp[s / 2][2 * i + s % 2] = sc[s];
            }
        }
        for (int n = 0; n < 2; ++n) {
            for (int j = 0; j < 4; ++j) {
                __m256i u[8];
                for (int i = 0; i < 8; ++i) {
                    if (!blk[i]) {
                        u[i] = _mm256_setzero_si256();
                        continue;
                    }
                    const __m256i q = load32(blk[i]->qs + 32 * n), hm = load32(blk[i]->hmask);
                    u[i] = _mm256_or_si256(crumb(q, j), _mm256_slli_epi16(bit_of(hm, 4 * n + j), 2));
                }
                transpose_store(u, reinterpret_cast<uint8_t*>(out[b].q[32 * n + 8 * j]));
            }
        }
    }
}

void gemm_pack_q2_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_q2_kx8*>(dst);
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_q2_k* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) {
                blk[i] = reinterpret_cast<const block_q2_k*>(w + row_stride * static_cast<size_t>(i)) + b;
                out[b].d[i] = _cvtsh_ss(blk[i]->d);
                out[b].dmin[i] = _cvtsh_ss(blk[i]->dmin);
            } else {
                out[b].d[i] = out[b].dmin[i] = 0.0f;
            }
            for (int s = 0; s < 16; ++s) {
                const int v = blk[i] ? blk[i]->scales[s] : 0;
                out[b].sc[s][2 * i] = out[b].sc[s][2 * i + 1] = static_cast<int16_t>(v & 0x0F);
                out[b].mn[s / 2][2 * i + s % 2] = static_cast<int16_t>(v >> 4);
            }
        }
        for (int n = 0; n < 2; ++n) {
            for (int j = 0; j < 4; ++j) {
                __m256i u[8];
                for (int i = 0; i < 8; ++i) u[i] = blk[i] ? crumb(load32(blk[i]->qs + 32 * n), j) : _mm256_setzero_si256();
                transpose_store(u, reinterpret_cast<uint8_t*>(out[b].q[32 * n + 8 * j]));
            }
        }
    }
}

void gemm_pack_q6_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_q6_kx8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_q6_k* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) {
                blk[i] = reinterpret_cast<const block_q6_k*>(w + row_stride * static_cast<size_t>(i)) + b;
                out[b].d[i] = _cvtsh_ss(blk[i]->d);
                for (int s = 0; s < 16; ++s) out[b].sc[s][2 * i] = out[b].sc[s][2 * i + 1] = blk[i]->scales[s];
            } else {
                out[b].d[i] = 0.0f;
                for (int s = 0; s < 16; ++s) out[b].sc[s][2 * i] = out[b].sc[s][2 * i + 1] = 0;
            }
        }
        for (int h = 0; h < 2; ++h) {
            __m256i u[4][8];
            for (int i = 0; i < 8; ++i) {
                if (!blk[i]) {
                    for (int m = 0; m < 4; ++m) u[m][i] = _mm256_setzero_si256();
                    continue;
                }
                const __m256i ql0 = load32(blk[i]->ql + 64 * h), ql1 = load32(blk[i]->ql + 64 * h + 32);
                const __m256i qh = load32(blk[i]->qh + 32 * h);
                u[0][i] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                u[1][i] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                u[2][i] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
                u[3][i] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            }
            for (int m = 0; m < 4; ++m) transpose_store(u[m], reinterpret_cast<uint8_t*>(out[b].q[32 * h + 8 * m]));
        }
    }
}

void gemm_pack_q4_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_q8x8(w, row_stride, n_rows, k / k_qk4_0, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const auto& blk = reinterpret_cast<const block_q4_0*>(row)[b];
        d = _cvtsh_ss(blk.d);
        return unpack_nibbles(blk.qs);
    });
}

void gemm_pack_q5_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    pack_q8x8(w, row_stride, n_rows, k / k_qk5_0, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const auto& blk = reinterpret_cast<const block_q5_0*>(row)[b];
        d = _cvtsh_ss(blk.d);
        return _mm256_or_si256(unpack_nibbles(blk.qs), _mm256_and_si256(bits_to_bytes(blk.qh), bit4));
    });
}

void gemm_pack_q8_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_q8x8(w, row_stride, n_rows, k / k_qk8_0, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const auto& blk = reinterpret_cast<const block_q8_0*>(row)[b];
        d = _cvtsh_ss(blk.d);
        return load32(blk.qs);
    });
}

// 2-bit codes (weight i of a 32-column chunk at bits 2i, 2i + 1 of its 8 bytes) to 32 code bytes: byte g
// of the chunk copied to positions 4g .. 4g + 3, then position 4g + j takes bits 2j, 2j + 1.
inline __m256i unpack_2bit(const uint8_t* qs) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5,
                                            6, 6, 6, 6, 7, 7, 7, 7);
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i pos = _mm256_and_si256(_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31),
                                         m3);
    const __m256i is1 = _mm256_cmpeq_epi8(pos, _mm256_set1_epi8(1)), is2 = _mm256_cmpeq_epi8(pos, _mm256_set1_epi8(2)),
                  is3 = _mm256_cmpeq_epi8(pos, m3);
    int64_t v;
    std::memcpy(&v, qs, 8);
    const __m256i x = _mm256_shuffle_epi8(_mm256_set1_epi64x(v), spread);
    __m256i c = _mm256_and_si256(x, m3);
    c = _mm256_blendv_epi8(c, _mm256_and_si256(_mm256_srli_epi16(x, 2), m3), is1);
    c = _mm256_blendv_epi8(c, _mm256_and_si256(_mm256_srli_epi16(x, 4), m3), is2);
    return _mm256_blendv_epi8(c, _mm256_and_si256(_mm256_srli_epi16(x, 6), m3), is3);
}

// lowbit's 4-bit codes (int4 formats, nf4, fp4_e2m1): one 32-column chunk's 16 bytes of LSB-first codes
// (weight 2j in the low nibble of byte j) -> 32 code bytes in weight order (low / high nibbles
// interleaved by unpacklo / unpackhi).
inline __m256i unpack_lsb_nibbles(const uint8_t* qs) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)), m = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
}

// lowbit's integer formats (int_formats.hpp): a chunk's codes by the unpack of its width (8: as
// stored; 4: unpack_lsb_nibbles; 3: unpack3; 2: unpack_2bit), then as gemm_pack_int__ref: Bits 8
// symmetric ^ 0x80, other symmetric + 8 - Off, asymmetric as they are.
template <int Bits, int G, bool Asym, int Off>
void gemm_pack_int__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    using chunk = int_chunk<Bits, G, Asym>;
    using out_block = std::conditional_t<Asym, gemm_block_q8x8m, gemm_block_q8x8>;
    const auto codes = [](const uint8_t* row, int64_t b) {
        const uint8_t* c = chunk::codes(row, b);
        if constexpr (Bits == 8) return _mm256_xor_si256(load32(c), _mm256_set1_epi8(static_cast<char>(0x80)));
        else {
            const __m256i u = Bits == 4 ? unpack_lsb_nibbles(c) : Bits == 3 ? unpack3(c) : unpack_2bit(c);
            return Asym ? u : _mm256_add_epi8(u, _mm256_set1_epi8(8 - Off));
        }
    };
    if constexpr (Asym) {
        pack_q8x8<out_block>(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d, float& m) {
            d = _cvtsh_ss(chunk::d(row, b));
            m = _cvtsh_ss(chunk::m(row, b));
            return codes(row, b);
        });
    } else {
        pack_q8x8<out_block>(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
            d = _cvtsh_ss(chunk::d(row, b));
            return codes(row, b);
        });
    }
}
#define LOWBIT_INST(name, B, G, A, O) \
    template void gemm_pack_int__avx2<B, G, A, O>(const uint8_t*, size_t, int, int64_t, void*);
LOWBIT_INT_FORMATS(LOWBIT_INST)
#undef LOWBIT_INST

// nf4 / fp4_e2m1: the codes mapped to the codebook's int8 values by pshufb, scale d / Div, for Q8_0's
// kernel (gemm_pack_table4_ref).
template <class Block, int G, const int8_t* Table, int Div>
void gemm_pack_table4_avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    constexpr int per = G / 32;
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(Table));
    const __m256i table = _mm256_set_m128i(t, t);
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const Block& blk = reinterpret_cast<const Block*>(row)[b / per];
        d = _cvtsh_ss(blk.d) * (1.0f / Div);
        return _mm256_shuffle_epi8(table, unpack_lsb_nibbles(blk.qs + 16 * (b % per)));
    });
}
void gemm_pack_nf4__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    gemm_pack_table4_avx2<block_nf4, k_qk_nf4, k_nf4_i8, 127>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_nf4_dq__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_nf4_i8));
    const __m256i table = _mm256_set_m128i(t, t);
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const auto& blk = reinterpret_cast<const block_nf4_dq*>(row)[b / 8];
        d = _cvtsh_ss(blk.d) * static_cast<float>(blk.sc[(b % 8) / 2]) * (1.0f / 127.0f);
        return _mm256_shuffle_epi8(table, unpack_lsb_nibbles(blk.qs + 16 * (b % 8)));
    });
}
void gemm_pack_fp4_e2m1__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    gemm_pack_table4_avx2<block_fp4_e2m1, k_qk_fp4, k_fp4_e2m1_x2, 2>(w, row_stride, n_rows, k, dst);
}

// Q4_1 rows (gemm_block_q8x8m): the nibbles in Q4_0's order.
void gemm_pack_q4_1__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_q8x8<gemm_block_q8x8m>(w, row_stride, n_rows, k / k_qk4_1, dst, [&](const uint8_t* row, int64_t b, float& d, float& m) {
        const auto& blk = reinterpret_cast<const block_q4_1*>(row)[b];
        d = _cvtsh_ss(blk.d);
        m = _cvtsh_ss(blk.m);
        return unpack_nibbles(blk.qs);
    });
}

// A 16-entry int8 codebook in both 128-bit lanes (a pshufb table).
template <const int8_t* Table>
inline __m256i table16() {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(Table)));
}
inline __m256i iq4nl_table() { return table16<k_iq4nl_values>(); }

// 32-weight blocks of 16 nibble bytes indexing a 16-entry table (IQ4_NL, MXFP4), scale(block): the
// AVX2 twin of gemm_q.cpp's pack_table4.
template <class Block, const int8_t* Table, class Scale>
void pack_table4_avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst, Scale scale) {
    const __m256i table = table16<Table>();
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const Block& blk = reinterpret_cast<const Block*>(row)[b];
        d = scale(blk);
        return _mm256_shuffle_epi8(table, unpack_nibbles(blk.qs));
    });
}

void gemm_pack_iq4_nl__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_table4_avx2<block_iq4_nl, k_iq4nl_values>(w, row_stride, n_rows, k, dst,
                                                   [](const block_iq4_nl& b) { return _cvtsh_ss(b.d); });
}

void gemm_pack_tq2_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    const __m256i m3 = _mm256_set1_epi8(3), seven = _mm256_set1_epi8(7);
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        const auto& blk = reinterpret_cast<const block_tq2_0*>(row)[b / 8];
        const int ch = static_cast<int>(b % 8), h = ch / 4, l = ch % 4;
        d = _cvtsh_ss(blk.d);
        return _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(load32(blk.qs + 32 * h), 2 * l), m3), seven);
    });
}

namespace {
// An IQ3 sub-block (iq3_subblock) as 32 signed codes: (g ^ m) - m with the sign bits spread to byte masks.
inline __m256i signed_grid(const iq3_subblock& sb, float& d) {
    const __m256i g = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sb.g));
    const __m256i m = bits_to_bytes(reinterpret_cast<const uint8_t*>(&sb.signs));
    d = sb.d;
    return _mm256_sub_epi8(_mm256_xor_si256(g, m), m);
}
}  // namespace

void gemm_pack_iq3_xxs__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        return signed_grid(iq3_xxs_subblock(reinterpret_cast<const block_iq3_xxs*>(row)[b / 8], static_cast<int>(b % 8)), d);
    });
}

void gemm_pack_iq3_s__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_q8x8(w, row_stride, n_rows, k / 32, dst, [&](const uint8_t* row, int64_t b, float& d) {
        return signed_grid(iq3_s_subblock(reinterpret_cast<const block_iq3_s*>(row)[b / 8], static_cast<int>(b % 8)), d);
    });
}

void gemm_pack_mxfp4__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_table4_avx2<block_mxfp4, k_mxfp4_kvalues>(w, row_stride, n_rows, k, dst,
                                                   [](const block_mxfp4& b) { return e8m0_to_f32_half(b.e); });
}

void gemm_pack_iq4_xs__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_iq4_xsx8*>(dst);
    const __m256i table = iq4nl_table();
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_iq4_xs* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) {
                blk[i] = reinterpret_cast<const block_iq4_xs*>(w + row_stride * static_cast<size_t>(i)) + b;
                out[b].d[i] = _cvtsh_ss(blk[i]->d);
            } else {
                out[b].d[i] = 0.0f;
            }
            for (int s = 0; s < 8; ++s) {
                int16_t v = 0;
                if (blk[i]) {
                    v = static_cast<int16_t>(iq4_xs_scale(*blk[i], s) - 32);
                }
                out[b].sc[s][2 * i] = out[b].sc[s][2 * i + 1] = v;
            }
        }
        for (int s = 0; s < 8; ++s) {
            __m256i r[8];
            for (int i = 0; i < 8; ++i) {
                r[i] = blk[i] ? _mm256_shuffle_epi8(table, unpack_nibbles(blk[i]->qs + 16 * s))
                              : _mm256_setzero_si256();
            }
            transpose_store(r, reinterpret_cast<uint8_t*>(out[b].q[8 * s]));
        }
    }
}

void gemm_pack_q4_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < k / k_qk_k; ++b) {
        const block_q4_k* blk[8] = {};
        for (int i = 0; i < 8; ++i) {
            if (i < n_rows) blk[i] = reinterpret_cast<const block_q4_k*>(w + row_stride * static_cast<size_t>(i)) + b;
            pack_k4_header(out[b], i, blk[i]);
        }
        for (int j = 0; j < 4; ++j) {
            __m256i lo[8], hi[8];
            for (int i = 0; i < 8; ++i) {
                if (blk[i]) {
                    const __m256i q = load32(blk[i]->qs + 32 * j);
                    lo[i] = _mm256_and_si256(q, m4);
                    hi[i] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                } else {
                    lo[i] = hi[i] = _mm256_setzero_si256();
                }
            }
            transpose_store(lo, reinterpret_cast<uint8_t*>(out[b].q[8 * (2 * j)]));
            transpose_store(hi, reinterpret_cast<uint8_t*>(out[b].q[8 * (2 * j + 1)]));
        }
    }
}

void gemm_q4_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q4_0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q4_1_q8_1_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q4_1>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void gemm_q8_1s_q8_1_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q8_1s>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q5_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q5_0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q8_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q8_0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q6_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q6_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q4_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q4_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q5_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q5_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q3_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q3_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_q2_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q2_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_iq4_nl_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_q8_0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);  // signed codes in gemm_block_q8x8, as Q8_0
}

void gemm_iq4_xs_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_iq4_xs>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

void gemm_i16_a16_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                            int64_t ldy, int n_rows) {
    simd::dispatch_tokens<k_i16>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

// As quantize_act_a16__ref: the same amax, 2047 / amax and products; cvtps rounds to nearest even.
void quantize_act_a16__avx2(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_a16*>(dst);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / 32; ++b) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(x + 32 * b + 8 * i);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        const float id = amax > 0.0f ? 2047.0f / amax : 0.0f;
        y[b].d = amax / 2047.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
        // packs works per 128-bit lane: [q0 0-3, q1 0-3, q0 4-7, q1 4-7] -> 64-bit quarters 0, 2, 1, 3
        store32(y[b].q, _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8));
        store32(y[b].q + 16, _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8));
    }
}

}  // namespace lowbit::kernels
