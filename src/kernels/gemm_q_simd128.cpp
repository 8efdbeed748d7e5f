// The `generic` tier's prompt GEMM micro-kernel for the packed 32-column blocks of Q4_0, Q5_0 and Q8_0
// (gemm_block_q8x8: also the formats that use those kernels) over Q8_0 activations: 128-bit SIMD, SSSE3
// on x86 and Advanced SIMD on aarch64 (kernels/simd128.hpp). Each block's 8 rows are two 4-row halves of
// int32 sums per token; the float step is the __ref kernel's, acc = fma(float(sum), d_w * d_a, acc),
// so the results are bit-identical with gemm_q8x8_ref (GemmQ.MicroKernelGenericBitExactWithRef). On
// aarch64 it is also built with the dot-product extension into namespace kernels::dot
// (gemm_q_simd128_dotprod.cpp; simd128.hpp's row_acc is one sdot), reached through dot::gemm_kernel_simd128.
#include "kernels/simd128.hpp"

#if LOWBIT_HAVE_SIMD128

#include <cstring>

#include "formats/ggml_blocks.hpp"
#include "kernels/gemm_q.hpp"

namespace lowbit::kernels {
#if LOWBIT_SIMD128_DOTPROD_COPY
namespace dot {
#endif
using namespace simd128;
namespace {

#if LOWBIT_SIMD128_X86
// Rows 0..3 and 4..7 of a packed block times one token's activations. Unsigned codes (Q4_0 0..15, Q5_0
// 0..31): maddubs pairs of four groups summed in int16 (<= 4 x 2 x 31 x 127), widened per four groups.
// Signed codes (Q8_0): psignb / maddubs per group (pairs <= 2 x 128 x 127), widened per group.
template <bool Unsigned, class Block>
inline void block_sums(const Block& w, const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i ones = _mm_set1_epi16(1);
    s0 = s1 = _mm_setzero_si128();
    if constexpr (Unsigned) {
        for (int g0 = 0; g0 < 8; g0 += 4) {
            __m128i t0 = _mm_setzero_si128(), t1 = t0;
            for (int g = g0; g < g0 + 4; ++g) {
                const __m128i a = bcast4(qa + 4 * g);
                t0 = _mm_add_epi16(t0, _mm_maddubs_epi16(load16(w.q[g][0]), a));
                t1 = _mm_add_epi16(t1, _mm_maddubs_epi16(load16(w.q[g][4]), a));
            }
            s0 = _mm_add_epi32(s0, _mm_madd_epi16(t0, ones));
            s1 = _mm_add_epi32(s1, _mm_madd_epi16(t1, ones));
        }
    } else {
        signed_group_sums(w.q, qa, s0, s1);
    }
}
#else
// The products summed per lane in int16 (unsigned codes: <= 8 x 31 x 127) or widened pairwise per group
// (signed: <= 128 x 127 each), reduced to row sums.
template <bool Unsigned, class Block>
inline void block_sums(const Block& w, const int8_t* qa, vi32& s0, vi32& s1) {
    if constexpr (Unsigned) {
        row_acc16 r0, r1;
        for (int g = 0; g < 8; ++g) {
            const int8x16_t a = bcast4(qa + 4 * g);
            r0.add(vld1q_s8(w.q[g][0]), a);
            r1.add(vld1q_s8(w.q[g][4]), a);
        }
        s0 = r0.sums();
        s1 = r1.sums();
    } else {
        signed_group_sums(w.q, qa, s0, s1);
    }
}
#endif

#if LOWBIT_SIMD128_X86
// Q4_K / Q5_K packed block, rows 0..3 (h = 0) or 4..7: sumi = sum over 32-column sub-blocks of scale x
// (codes . activations), codes <= 31: maddubs pairs of 4 groups in int16 (<= 4 x 2 x 31 x 127), madd with
// the block's duplicated (scale, scale) pairs; summ = the (min 2p, min 2p + 1) pairs madd'ed with the
// activation's bsums pairs (side values 0..3).
inline void k4_sums(const gemm_block_q4_kx8& w, int h, const int8_t* qa, const int32_t* bs, vi32& sumi,
                    vi32& summ) {
    sumi = summ = _mm_setzero_si128();
    for (int s = 0; s < 8; ++s) {
        const __m128i sc = load16(&w.sc[s][8 * h]);
        for (int g0 = 0; g0 < 8; g0 += 4) {
            __m128i t = _mm_setzero_si128();
            for (int g = g0; g < g0 + 4; ++g)
                t = _mm_add_epi16(
                    t, _mm_maddubs_epi16(load16(w.q[8 * s + g][4 * h]), bcast4(qa + 32 * s + 4 * g)));
            sumi = _mm_add_epi32(sumi, _mm_madd_epi16(t, sc));
        }
    }
    for (int p = 0; p < 4; ++p)
        summ = _mm_add_epi32(summ, _mm_madd_epi16(load16(&w.mn[p][8 * h]), _mm_set1_epi32(bs[p])));
}
#else
// As on x86: products per lane in int16 (<= 8 x 31 x 127), row sums times the scale in int32; the mins
// pairs times the bsums pairs by widening multiplies, added pairwise.
inline void k4_sums(const gemm_block_q4_kx8& w, int h, const int8_t* qa, const int32_t* bs, vi32& sumi,
                    vi32& summ) {
    sumi = vdupq_n_s32(0);
    for (int s = 0; s < 8; ++s) {
        row_acc16 r;
        for (int g = 0; g < 8; ++g)
            r.add(vld1q_s8(reinterpret_cast<const int8_t*>(w.q[8 * s + g][4 * h])),
                  bcast4(qa + 32 * s + 4 * g));
        sumi = vmlaq_s32(sumi, r.sums(), even_i16_to_i32(&w.sc[s][8 * h]));
    }
    int32x4_t m01 = vdupq_n_s32(0), m23 = m01;
    for (int p = 0; p < 4; ++p) {
        const int16x8_t mn = vld1q_s16(&w.mn[p][8 * h]), b = vreinterpretq_s16_s32(vdupq_n_s32(bs[p]));
        m01 = vmlal_s16(m01, vget_low_s16(mn), vget_low_s16(b));
        m23 = vmlal_high_s16(m23, mn, b);
    }
    summ = vpaddq_s32(m01, m23);
}
#endif

#if LOWBIT_SIMD128_X86
// Q6_K packed block, rows 4h .. 4h + 3: sum over 16-column sub-blocks of scale x (codes . activations -
// 32 x activation sum), codes <= 63: maddubs pairs of 2 groups in int16 (<= 2 x 2 x 63 x 127), madd with
// the duplicated (scale, scale) pairs; the -32 term is side value 4 + s (an int16 pair) madd'ed with
// the same pairs.
inline vi32 k6_sums(const gemm_block_q6_kx8& w, int h, const int8_t* qa, const int32_t* cs) {
    __m128i sumi = _mm_setzero_si128();
    for (int s = 0; s < 16; ++s) {
        const __m128i sc = load16(&w.sc[s][8 * h]);
        sumi = _mm_add_epi32(sumi, _mm_madd_epi16(sc, _mm_set1_epi32(cs[4 + s])));
        for (int g0 = 4 * s; g0 < 4 * s + 4; g0 += 2) {
            const __m128i t =
                _mm_add_epi16(_mm_maddubs_epi16(load16(w.q[g0][4 * h]), bcast4(qa + 4 * g0)),
                              _mm_maddubs_epi16(load16(w.q[g0 + 1][4 * h]), bcast4(qa + 4 * g0 + 4)));
            sumi = _mm_add_epi32(sumi, _mm_madd_epi16(t, sc));
        }
    }
    return sumi;
}
#else
// As on x86: per sub-block the products per lane in int16 (<= 4 x 63 x 127), row sums plus the -32 term,
// times the scale in int32.
inline vi32 k6_sums(const gemm_block_q6_kx8& w, int h, const int8_t* qa, const int32_t* cs) {
    int32x4_t sumi = vdupq_n_s32(0);
    for (int s = 0; s < 16; ++s) {
        row_acc16 r;
        for (int g = 4 * s; g < 4 * s + 4; ++g)
            r.add(vld1q_s8(reinterpret_cast<const int8_t*>(w.q[g][4 * h])), bcast4(qa + 4 * g));
        const int32_t corr = static_cast<int16_t>(cs[4 + s] & 0xFFFF) + static_cast<int16_t>(cs[4 + s] >> 16);
        sumi = vmlaq_s32(sumi, vaddq_s32(r.sums(), vdupq_n_s32(corr)), even_i16_to_i32(&w.sc[s][8 * h]));
    }
    return sumi;
}
#endif

// Q2_K / Q3_K packed blocks (the same layout: sc, then the pair table P = Q2_K's mn / Q3_K's sp), rows
// 4h .. 4h + 3: sumi = sum over 16-column sub-blocks of scale x (codes . activations), codes <= 7;
// side = the (sub-block 2p, 2p + 1) pairs of P times Q8_K's bsums pairs.
#if LOWBIT_SIMD128_X86
template <class Block>
inline void k23_gemm_sums(const Block& w, const int16_t (*pairs)[16], int h, const block_q8_k& x, vi32& sumi,
                          vi32& side) {
    sumi = side = _mm_setzero_si128();
    for (int s = 0; s < 16; ++s) {
        __m128i t = _mm_setzero_si128();  // maddubs pairs, <= 4 x 2 x 7 x 127
        for (int g = 4 * s; g < 4 * s + 4; ++g)
            t = _mm_add_epi16(t, _mm_maddubs_epi16(load16(w.q[g][4 * h]), bcast4(x.qs + 4 * g)));
        sumi = _mm_add_epi32(sumi, _mm_madd_epi16(t, load16(&w.sc[s][8 * h])));
    }
    for (int p = 0; p < 8; ++p)
        side = _mm_add_epi32(
            side, _mm_madd_epi16(load16(&pairs[p][8 * h]), _mm_set1_epi32(load_i32(x.bsums + 2 * p))));
}
#else
template <class Block>
inline void k23_gemm_sums(const Block& w, const int16_t (*pairs)[16], int h, const block_q8_k& x, vi32& sumi,
                          vi32& side) {
    sumi = vdupq_n_s32(0);
    for (int s = 0; s < 16; ++s) {
        row_acc16 r;  // products per lane, <= 4 x 7 x 127
        for (int g = 4 * s; g < 4 * s + 4; ++g)
            r.add(vld1q_s8(reinterpret_cast<const int8_t*>(w.q[g][4 * h])), bcast4(x.qs + 4 * g));
        sumi = vmlaq_s32(sumi, r.sums(), even_i16_to_i32(&w.sc[s][8 * h]));
    }
    int32x4_t m01 = vdupq_n_s32(0), m23 = m01;
    for (int p = 0; p < 8; ++p) {
        const int16x8_t pr = vld1q_s16(&pairs[p][8 * h]);
        const int16x8_t b = vreinterpretq_s16_s32(vdupq_n_s32(load_i32(x.bsums + 2 * p)));
        m01 = vmlal_s16(m01, vget_low_s16(pr), vget_low_s16(b));
        m23 = vmlal_high_s16(m23, pr, b);
    }
    side = vpaddq_s32(m01, m23);
}
#endif

// FP8 prompts' packed block (int16 codes, column pairs) times one token's 12-bit activations: per row the
// exact int32 sum of the 32 products (|.| <= 32 x 30720 x 2047 < 2^31), rows 0..3 in s0, 4..7 in s1.
#if LOWBIT_SIMD128_X86
inline void i16_sums(const gemm_block_i16x8& w, const int16_t* qa, vi32& s0, vi32& s1) {
    s0 = s1 = _mm_setzero_si128();
    for (int p = 0; p < 16; ++p) {
        const __m128i a = _mm_set1_epi32(load_i32(qa + 2 * p));
        s0 = _mm_add_epi32(s0, _mm_madd_epi16(load16(w.q[p][0]), a));
        s1 = _mm_add_epi32(s1, _mm_madd_epi16(load16(w.q[p][4]), a));
    }
}
#else
// Widening multiplies of each row's pair with the token's pair, the pair's two halves added at the end.
inline void i16_sums(const gemm_block_i16x8& w, const int16_t* qa, vi32& s0, vi32& s1) {
    int32x4_t l0 = vdupq_n_s32(0), h0 = l0, l1 = l0, h1 = l0;
    for (int p = 0; p < 16; ++p) {
        const int16x8_t a = vreinterpretq_s16_s32(vdupq_n_s32(load_i32(qa + 2 * p)));
        const int16x8_t w0 = vld1q_s16(w.q[p][0]), w1 = vld1q_s16(w.q[p][4]);
        l0 = vmlal_s16(l0, vget_low_s16(w0), vget_low_s16(a));
        h0 = vmlal_high_s16(h0, w0, a);
        l1 = vmlal_s16(l1, vget_low_s16(w1), vget_low_s16(a));
        h1 = vmlal_high_s16(h1, w1, a);
    }
    s0 = vpaddq_s32(l0, h0);
    s1 = vpaddq_s32(l1, h1);
}
#endif

// The walk of every generic GEMM, as __ref's ref_gemm_walk: for each packed block b and token t,
// step(w[b], the token's activation block b, its index i into a.d / a.s, acc) adds the block to the
// token's two 4-row accumulators, so every (token, row) takes its blocks in order.
template <class Block, class Act, class Step>
void gemm_walk(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
               int n_rows, Step step) {
    const auto* w = static_cast<const Block*>(pw);
    vf32 acc[4][2];
    for (auto& t : acc) t[0] = t[1] = f_zero();
    for (int64_t b = 0; b < nb; ++b)
        for (int t = 0; t < n_tok; ++t) {
            const auto* x = reinterpret_cast<const Act*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
            step(w[b], x[b], (t0 + t) * a.n_blocks + b, acc[t]);
        }
    for (int t = 0; t < n_tok; ++t) store_rows(y + t * ldy, acc[t][0], acc[t][1], n_rows);
}

// acc + fma(d_a d, float(sumi), -(d_a dmin) float(summ)) for rows 4h .. 4h + 3 of a packed block: the
// float step of Q2_K's and Q4_K's __ref micro-kernels.
template <class Block>
inline vf32 scale_min_fma_step(vf32 acc, vf32 da, const Block& w, int h, vi32 sumi, vi32 summ) {
    const vf32 m = f_mul(f_mul(da, f_load(w.dmin + 4 * h)), f_from_i32(summ));
    return f_add(acc, f_fma(f_mul(da, f_load(w.d + 4 * h)), f_from_i32(sumi), f_neg(m)));
}

// gemm_q3_k / gemm_q2_k_q8_k_8x4__ref's arithmetic per (token, row, 256-column block): Q3_K acc =
// fma(d_a d, float(sumi - 4 side), acc); Q2_K m = (d_a dmin) float(side), acc = acc + fma(d_a d,
// float(sumi), -m).
template <bool Q3, class Block>
void gemm_k23(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
              int n_rows) {
    gemm_walk<Block, block_q8_k>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const Block& w, const block_q8_k& x, int64_t i, vf32(&acc)[2]) {
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h) {
                vi32 sumi, side;
                if constexpr (Q3) {
                    k23_gemm_sums(w, w.sp, h, x, sumi, side);
                    acc[h] =
                        f_fma(f_mul(da, f_load(w.d + 4 * h)), f_from_i32(i_sub(sumi, i_shl2(side))), acc[h]);
                } else {
                    k23_gemm_sums(w, w.mn, h, x, sumi, side);
                    acc[h] = scale_min_fma_step(acc[h], da, w, h, sumi, side);
                }
            }
        });
}

// gemm_iq4_xs_q8_k_8x4__ref's arithmetic per (token, row, 256-column block): per 32-column sub-block
// the signed codebook values . activations (signed_group_sums) times the row's scale, then acc =
// fma(d_a d, float(sumi), acc).
void gemm_iq4_xs(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
                 int n_rows) {
    gemm_walk<gemm_block_iq4_xsx8, block_q8_k>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_iq4_xsx8& w, const block_q8_k& x, int64_t i, vf32(&acc)[2]) {
            vi32 sumi[2] = {i_set(0), i_set(0)};
            for (int s = 0; s < 8; ++s) {
                vi32 r[2];
                signed_group_sums(&w.q[8 * s], x.qs + 32 * s, r[0], r[1]);
                for (int h = 0; h < 2; ++h)
                    sumi[h] = i_add(sumi[h], i_mul(r[h], even_i16_to_i32(&w.sc[s][8 * h])));
            }
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h)
                acc[h] = f_fma(f_mul(da, f_load(w.d + 4 * h)), f_from_i32(sumi[h]), acc[h]);
        });
}

// gemm_q6_k_q8_k_8x4__ref's arithmetic per (token, row, 256-column block): acc = fma(d_a d, float(sumi),
// acc).
void gemm_k6(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
             int n_rows) {
    gemm_walk<gemm_block_q6_kx8, block_q8_k>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q6_kx8& w, const block_q8_k& x, int64_t i, vf32(&acc)[2]) {
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h)
                acc[h] = f_fma(f_mul(da, f_load(w.d + 4 * h)),
                               f_from_i32(k6_sums(w, h, x.qs, a.s + i * k_q8_k_sides)), acc[h]);
        });
}

// gemm_q4_k_q8_k_8x4__ref's arithmetic per (token, row, 256-column block): m = (d_a dmin) float(summ),
// acc = acc + fma(d_a d, float(sumi), -m).
void gemm_k4(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
             int n_rows) {
    gemm_walk<gemm_block_q4_kx8, block_q8_k>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q4_kx8& w, const block_q8_k& x, int64_t i, vf32(&acc)[2]) {
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h) {
                vi32 sumi, summ;
                k4_sums(w, h, x.qs, a.s + i * k_q8_k_sides, sumi, summ);
                acc[h] = scale_min_fma_step(acc[h], da, w, h, sumi, summ);
            }
        });
}

// gemm_q8x8m_ref's arithmetic (Q4_1 and the asymmetric lowbit formats, Q8_1 activations): per (token, row)
// the exact code sum (Signed: codes u - 128, plus 128 x the activation sum), then acc = fma(float(sum),
// d_w * d_a, acc), acc = fma(m_w, s_a, acc), blocks in order.
template <bool Signed>
void gemm_q8x8m(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
                int n_rows) {
    gemm_walk<gemm_block_q8x8m, block_q8_1>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q8x8m& w, const block_q8_1& x, int64_t i, vf32(&acc)[2]) {
            const int32_t* sa = a.s + i * k_q8_1_sides;
            vi32 sum[2];
            block_sums<!Signed>(w, x.qs, sum[0], sum[1]);
            float s;
            std::memcpy(&s, &sa[0], 4);
            const vf32 da = f_set(a.d[i]), vs = f_set(s);
            for (int h = 0; h < 2; ++h) {
                if constexpr (Signed) sum[h] = i_add(sum[h], i_set(128 * sa[1]));
                acc[h] = f_fma(f_load(w.m + 4 * h), vs,
                               f_fma(f_from_i32(sum[h]), f_mul(f_load(w.d + 4 * h), da), acc[h]));
            }
        });
}

// gemm_q8x8_ref's arithmetic: per (token, row) the exact code sum (Unsigned: plus Offset / 8 times the
// side value's two int16 halves, -8 x the activation sum), then acc = fma(float(sum), d_w * d_a, acc),
// blocks in order.
template <bool Unsigned, int Offset = 8>
void gemm_q8x8(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
               int n_rows) {
    gemm_walk<gemm_block_q8x8, block_q8_0>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q8x8& w, const block_q8_0& x, int64_t i, vf32(&acc)[2]) {
            vi32 sum[2];
            block_sums<Unsigned>(w, x.qs, sum[0], sum[1]);
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h) {
                if constexpr (Unsigned) {
                    const int32_t s8 = a.s[i];
                    sum[h] = i_add(
                        sum[h], i_set(Offset / 8 *
                                      (static_cast<int16_t>(s8 & 0xFFFF) + static_cast<int16_t>(s8 >> 16))));
                }
                acc[h] = f_fma(f_from_i32(sum[h]), f_mul(f_load(w.d + 4 * h), da), acc[h]);
            }
        });
}

// gemm_i16_a16_8x4__ref's arithmetic (FP8 prompts): per (token, row) the exact sum, then acc =
// fma(float(sum), d_w * d_a, acc), blocks in order.
void gemm_i16(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
              int n_rows) {
    gemm_walk<gemm_block_i16x8, block_a16>(
        nb, pw, a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_i16x8& w, const block_a16& x, int64_t i, vf32(&acc)[2]) {
            vi32 sum[2];
            i16_sums(w, x.q, sum[0], sum[1]);
            const vf32 da = f_set(a.d[i]);
            for (int h = 0; h < 2; ++h)
                acc[h] = f_fma(f_from_i32(sum[h]), f_mul(f_load(w.d + 4 * h), da), acc[h]);
        });
}

}  // namespace

void fma_f32__simd128(const float* a, const float* b, const float* c, float* out, int64_t n) {
    for (int64_t i = 0; i + 4 <= n; i += 4)
        f_store(out + i, f_fma(f_load(a + i), f_load(b + i), f_load(c + i)));
    for (int64_t i = n / 4 * 4; i < n; ++i) {  // the tail through a padded vector
        float x[4] = {a[i]}, y[4] = {b[i]}, z[4] = {c[i]}, r[4];
        f_store(r, f_fma(f_load(x), f_load(y), f_load(z)));
        out[i] = r[0];
    }
}

// gemm_q.hpp: the micro-kernel here for a __ref one, bit-exact with it.
gemm_q_fn gemm_kernel_simd128(gemm_q_fn ref) {
    static const kernel_entry<gemm_q_fn> table[] = {
        {gemm_q4_0_q8_0_8x4__ref, gemm_q8x8<true>},
        {gemm_q5_0_q8_0_8x4__ref, gemm_q8x8<true, 16>},
        {gemm_q8_0_q8_0_8x4__ref, gemm_q8x8<false>},
        {gemm_iq4_nl_q8_0_8x4__ref, gemm_q8x8<false>},  // Q8_0's arithmetic on the codebook values
        {gemm_q4_1_q8_1_8x4__ref, gemm_q8x8m<false>},
        {gemm_q8_1s_q8_1_8x4__ref, gemm_q8x8m<true>},
        {gemm_q4_k_q8_k_8x4__ref, gemm_k4},
        {gemm_q5_k_q8_k_8x4__ref, gemm_k4},  // Q4_K's packed block, codes up to 31
        {gemm_q6_k_q8_k_8x4__ref, gemm_k6},
        {gemm_q3_k_q8_k_8x4__ref, gemm_k23<true, gemm_block_q3_kx8>},
        {gemm_q2_k_q8_k_8x4__ref, gemm_k23<false, gemm_block_q2_kx8>},
        {gemm_iq4_xs_q8_k_8x4__ref, gemm_iq4_xs},
        {gemm_i16_a16_8x4__ref, gemm_i16},
    };
    return find_kernel(table, ref);
}

#if LOWBIT_SIMD128_DOTPROD_COPY
}  // namespace dot
#endif
}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
