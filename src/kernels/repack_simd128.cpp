// The `generic` tier's tile GEMVs: 128-bit SIMD, SSSE3 on x86 (this file is compiled with -mssse3 there
// and reached only through the runtime dispatch), Advanced SIMD (NEON) on aarch64, where every CPU has
// it. One tile block (8 rows) is two 4-row halves, each a 128-bit vector of int32 row sums, then of
// float accumulators. Integer sums are exact and the float operations per row are those of the __ref
// GEMVs (repack.cpp; e.g. float(sum) * (d_w * d_a) added in block order, IQ4_XS's fma), so the results
// are bit-identical (Repack.TiledGemvEqualsPerRowRefDotBitExact runs every tier). The file is compiled
// with -ffp-contract=off (CMakeLists.txt), so no multiply is fused into the add that follows it; where
// __ref fuses (std::fma), so does f_fma (kernels/simd128.hpp).
//
// On aarch64 the file is built twice: as it is, and with the dot-product extension into namespace
// kernels::dot (repack_simd128_dotprod.cpp), where simd128.hpp's row_acc is one sdot per add; only the two
// table functions at the end have external linkage.
//
// Not Highway (libhwy, Debian 12: 1.0.3): it has no lane-preserving int8 dot product (u8 x s8 pairs,
// SumOfMulQuadAccumulate came in 1.2), and its ReorderWidenMulAccumulate leaves the lane order to the
// target, where these tiles need lane = row.
#include "core/x86_kernel.hpp"

#if LOWBIT_HAVE_SIMD128

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "formats/lowbit_blocks.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/repack.hpp"
#include "kernels/simd128.hpp"

namespace lowbit::kernels {
#if LOWBIT_SIMD128_DOTPROD_COPY
namespace dot {
#endif
using namespace simd128;
namespace {

// ---- the integer sums of each tile layout, per architecture --------------------------------------
#if LOWBIT_SIMD128_X86
// Q4_0's tile (also Q4_1's): the 32 unsigned nibbles of each row times the activations, as Q4_0's AVX2
// GEMV does it (maddubs pairs summed in int16, <= 8 x 2 x 15 x 127, then widened); rows 0..3 -> s0, 4..7
// -> s1.
template <class Tile>
inline void nibble_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m128i t0 = _mm_setzero_si128(), t1 = _mm_setzero_si128();
    for (int c = 0; c < 4; ++c) {
        const __m128i al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        const __m128i w0 = load16(x.qs[c][0]), w1 = load16(x.qs[c][4]);
        t0 =
            _mm_add_epi16(t0, _mm_add_epi16(_mm_maddubs_epi16(_mm_and_si128(w0, m4), al),
                                            _mm_maddubs_epi16(_mm_and_si128(_mm_srli_epi16(w0, 4), m4), ah)));
        t1 =
            _mm_add_epi16(t1, _mm_add_epi16(_mm_maddubs_epi16(_mm_and_si128(w1, m4), al),
                                            _mm_maddubs_epi16(_mm_and_si128(_mm_srli_epi16(w1, 4), m4), ah)));
    }
    const __m128i ones = _mm_set1_epi16(1);
    s0 = _mm_madd_epi16(t0, ones);
    s1 = _mm_madd_epi16(t1, ones);
}

// Q5_0 / Q5_1 tiles: codes 0..31, the nibbles of qs[c] with bits 2c (column 4c + i) and 2c + 1 (column
// 16 + 4c + i) of qh moved to bit 4 (16-bit shifts: a bit crossing into the next byte lands away from
// bit 4 and the mask drops it). Pair sums reach 2 x 31 x 127, so groups 0-1 and 2-3 are summed in
// separate int16 accumulators and widened separately.
template <class Tile>
inline void q5_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i m4 = _mm_set1_epi8(0x0F), b4 = _mm_set1_epi8(0x10), ones = _mm_set1_epi16(1);
    const auto shift = [](__m128i v, int n) {  // left by n, right by -n
        return n >= 0 ? _mm_sll_epi16(v, _mm_cvtsi32_si128(n)) : _mm_srl_epi16(v, _mm_cvtsi32_si128(-n));
    };
    __m128i t[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
    for (int h = 0; h < 2; ++h) {
        const __m128i e = load16(x.qh[4 * h]);
        for (int c0 = 0; c0 < 4; c0 += 2) {
            __m128i s16 = _mm_setzero_si128();
            for (int c = c0; c < c0 + 2; ++c) {
                const __m128i w = load16(x.qs[c][4 * h]);
                const __m128i lo = _mm_or_si128(_mm_and_si128(w, m4), _mm_and_si128(shift(e, 4 - 2 * c), b4));
                const __m128i hi = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(w, 4), m4),
                                                _mm_and_si128(shift(e, 3 - 2 * c), b4));
                s16 = _mm_add_epi16(s16, _mm_add_epi16(_mm_maddubs_epi16(lo, bcast4(qa + 4 * c)),
                                                       _mm_maddubs_epi16(hi, bcast4(qa + 16 + 4 * c))));
            }
            t[h] = _mm_add_epi32(t[h], _mm_madd_epi16(s16, ones));
        }
    }
    s0 = t[0];
    s1 = t[1];
}

// Q4_0-shaped tiles with a 16-entry int8 codebook (IQ4_NL, MXFP4, NF4, FP4): the codes' values by
// pshufb, then signed dot products per group.
template <const int8_t* Lut>
inline void table4_group_sums(const uint8_t (*qs)[8][4], const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i m4 = _mm_set1_epi8(0x0F), lut = load16(Lut);
    __m128i t[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
    for (int c = 0; c < 4; ++c) {
        const __m128i al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        for (int h = 0; h < 2; ++h) {
            const __m128i w = load16(qs[c][4 * h]);
            const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(w, m4));
            const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(w, 4), m4));
            t[h] = _mm_add_epi32(t[h], _mm_add_epi32(dot_i8_i8(lo, al), dot_i8_i8(hi, ah)));
        }
    }
    s0 = t[0];
    s1 = t[1];
}

// Q4_K: the 6-bit scales and mins of rows 4h .. 4h + 3 (k_scales_x8), byte 4j + i = row 4h + i's value
// for sub-block 2j (sc_e, mn_e) or 2j + 1 (sc_o, mn_o), decoded as the AVX2 GEMV does (a 16-bit shift
// carries bits across the byte boundary only into bits the masks drop).
struct k_scales4 {
    __m128i sc_e, sc_o, mn_e, mn_o;
};
inline k_scales4 decode_k_scales(const k_scales_x8& k, int h) {
    const __m128i m15 = _mm_set1_epi8(15), m48 = _mm_set1_epi8(0x30);
    const __m128i l = load16(k.sl[h]), m = load16(k.ml[h]), hb = load16(k.hb[h]);
    return {
        _mm_or_si128(_mm_and_si128(l, m15), _mm_and_si128(_mm_slli_epi16(hb, 4), m48)),
        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(l, 4), m15), _mm_and_si128(_mm_slli_epi16(hb, 2), m48)),
        _mm_or_si128(_mm_and_si128(m, m15), _mm_and_si128(hb, m48)),
        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(m, 4), m15), _mm_and_si128(_mm_srli_epi16(hb, 2), m48))};
}

// Rows 4h .. 4h + 3 of a Q4_K tile block: sumi = sum over sub-blocks of scale x (codes . activations),
// summ = sum over sub-blocks of min x (activation sum), one row per int32 lane. side[p] holds the Q8_K
// bsums of sub-blocks 2p, 2p + 1 as an int16 pair (repack_act_sides).
// The codes of rows 4h .. 4h + 3, columns 64j + 4c + i (lo) and 64j + 32 + 4c + i (hi): Q4_K's nibbles;
// Q5_K's low 5 bits / top 3 bits with the 5th bits from qh[c] (bits 2j, 2j + 1 moved to bits 3, 4; a
// 16-bit shift carries bits across bytes only into bits the mask drops). Group: how many 4-column
// groups' maddubs pairs an int16 sum holds (<= 32767: Q4_K 8 x 2 x 15 x 128, Q5_K 4 x 2 x 31 x 128).
struct q4_k_codes {
    static constexpr int group = 8;
    static void get(const tile_q4_kx8& x, int j, int c, int h, __m128i& lo, __m128i& hi) {
        const __m128i w = load16(x.qs[j][c][4 * h]), m4 = _mm_set1_epi8(0x0F);
        lo = _mm_and_si128(w, m4);
        hi = _mm_and_si128(_mm_srli_epi16(w, 4), m4);
    }
};
struct q5_k_codes {
    static constexpr int group = 4;
    static void get(const tile_q5_kx8& x, int j, int c, int h, __m128i& lo, __m128i& hi) {
        const __m128i w = load16(x.qs[j][c][4 * h]), e = load16(x.qh[c][4 * h]);
        const __m128i e34 = j < 2 ? _mm_sll_epi16(e, _mm_cvtsi32_si128(3 - 2 * j))
                                  : _mm_srl_epi16(e, _mm_cvtsi32_si128(2 * j - 3));
        lo = _mm_and_si128(w, _mm_set1_epi8(0x1F));
        hi = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(w, 5), _mm_set1_epi8(0x07)),
                          _mm_and_si128(e34, _mm_set1_epi8(0x18)));
    }
};

// Rows 4h .. 4h + 3 of a Q4_K / Q5_K tile block: sumi = sum over sub-blocks of scale x (codes .
// activations), summ = sum over sub-blocks of min x (activation sum), one row per int32 lane. side[p]
// holds the Q8_K bsums of sub-blocks 2p, 2p + 1 as an int16 pair (repack_act_sides).
template <class Codes, class Tile>
inline void scale_min_sums(const Tile& x, int h, const int8_t* qa, const int32_t* side, vi32& sumi,
                           vi32& summ) {
    const __m128i z = _mm_setzero_si128();
    const k_scales4 k = decode_k_scales(x.s, h);
    sumi = _mm_setzero_si128();
    for (int j = 0; j < 4; ++j) {
        // (scale, scale) as an int16 pair per row lane: the madd operand of the pair sums
        const char a = static_cast<char>(4 * j), b = a + 1, c = a + 2, d = a + 3, n = -128;
        const __m128i pair = _mm_setr_epi8(a, n, a, n, b, n, b, n, c, n, c, n, d, n, d, n);
        const __m128i sc_lo = _mm_shuffle_epi8(k.sc_e, pair), sc_hi = _mm_shuffle_epi8(k.sc_o, pair);
        for (int c0 = 0; c0 < 8; c0 += Codes::group) {
            __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();  // int16 pair sums
            for (int g = c0; g < c0 + Codes::group; ++g) {
                __m128i ul, uh;
                Codes::get(x, j, g, h, ul, uh);
                lo = _mm_add_epi16(lo, _mm_maddubs_epi16(ul, bcast4(qa + 64 * j + 4 * g)));
                hi = _mm_add_epi16(hi, _mm_maddubs_epi16(uh, bcast4(qa + 64 * j + 32 + 4 * g)));
            }
            sumi = _mm_add_epi32(sumi, _mm_add_epi32(_mm_madd_epi16(lo, sc_lo), _mm_madd_epi16(hi, sc_hi)));
        }
    }
    // (min of 2p, min of 2p + 1) as int16 pairs per row lane, madd with side[p]'s pair
    const __m128i eo_lo = _mm_unpacklo_epi8(k.mn_e, k.mn_o), eo_hi = _mm_unpackhi_epi8(k.mn_e, k.mn_o);
    const __m128i mp[4] = {_mm_unpacklo_epi8(eo_lo, z), _mm_unpackhi_epi8(eo_lo, z),
                           _mm_unpacklo_epi8(eo_hi, z), _mm_unpackhi_epi8(eo_hi, z)};
    summ = _mm_setzero_si128();
    for (int p = 0; p < 4; ++p) summ = _mm_add_epi32(summ, _mm_madd_epi16(mp[p], _mm_set1_epi32(side[p])));
}

// Q6_K codes (0..63) of columns 128h + 32G + 4c + i of rows 4r2 .. 4r2 + 3 (layout in kernels/repack.hpp):
// groups 0..2 the low 6 bits of their byte, group 3 the 3 top bit pairs.
template <int G>
inline __m128i q6_k_code(const tile_q6_kx8& x, int h, int c, int r2) {
    if constexpr (G < 3) {
        return _mm_and_si128(load16(x.q[h][G][c][4 * r2]), _mm_set1_epi8(0x3F));
    } else {
        const __m128i b0 =
            _mm_and_si128(_mm_srli_epi16(load16(x.q[h][0][c][4 * r2]), 6), _mm_set1_epi8(0x03));
        const __m128i b1 =
            _mm_and_si128(_mm_srli_epi16(load16(x.q[h][1][c][4 * r2]), 4), _mm_set1_epi8(0x0C));
        const __m128i b2 =
            _mm_and_si128(_mm_srli_epi16(load16(x.q[h][2][c][4 * r2]), 2), _mm_set1_epi8(0x30));
        return _mm_or_si128(_mm_or_si128(b0, b1), b2);
    }
}

// Q6_K, rows 4r2 .. 4r2 + 3: sum over sub-blocks of sc (codes . a) - 32 sc bsum, as the AVX2 GEMV: the
// maddubs pairs of two 4-column groups summed in int16 (<= 4 x 63 x 128), then madd with (sc, sc); the
// -32 term madd of the (sc[2p], sc[2p + 1]) pairs with Q8_K's bsums pairs.
template <int G>
inline __m128i q6_k_group(const tile_q6_kx8& x, int h, int r2, const int8_t* qa, __m128i sp) {
    const __m128i sc_lo = _mm_shufflehi_epi16(_mm_shufflelo_epi16(sp, 0xA0), 0xA0);  // (sc[2p], sc[2p])
    const __m128i sc_hi = _mm_shufflehi_epi16(_mm_shufflelo_epi16(sp, 0xF5), 0xF5);  // (sc[2p+1], sc[2p+1])
    __m128i sumi = _mm_setzero_si128();
    for (int c0 = 0; c0 < 8; c0 += 2) {
        __m128i s16 = _mm_setzero_si128();
        for (int c = c0; c < c0 + 2; ++c)
            s16 = _mm_add_epi16(
                s16, _mm_maddubs_epi16(q6_k_code<G>(x, h, c, r2), bcast4(qa + 128 * h + 32 * G + 4 * c)));
        sumi = _mm_add_epi32(sumi, _mm_madd_epi16(s16, c0 < 4 ? sc_lo : sc_hi));
    }
    return sumi;
}
inline vi32 q6_k_sums(const tile_q6_kx8& x, int r2, const int8_t* qa, const int16_t* bsums) {
    __m128i sumi = _mm_setzero_si128(), corr = _mm_setzero_si128();
    for (int h = 0; h < 2; ++h) {
        __m128i sp[4];  // (sc[2p], sc[2p + 1]) of group g as int16 pairs, one row per int32 lane
        for (int g = 0; g < 4; ++g) {
            const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.sc[4 * h + g][4 * r2]));
            sp[g] = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
            corr =
                _mm_add_epi32(corr, _mm_madd_epi16(sp[g], _mm_set1_epi32(load_i32(bsums + 8 * h + 2 * g))));
        }
        sumi = _mm_add_epi32(
            sumi, _mm_add_epi32(q6_k_group<0>(x, h, r2, qa, sp[0]), q6_k_group<1>(x, h, r2, qa, sp[1])));
        sumi = _mm_add_epi32(
            sumi, _mm_add_epi32(q6_k_group<2>(x, h, r2, qa, sp[2]), q6_k_group<3>(x, h, r2, qa, sp[3])));
    }
    return _mm_sub_epi32(sumi, _mm_slli_epi32(corr, 5));
}

// Q2_K / Q3_K, rows 4r2 .. 4r2 + 3, as the AVX2 GEMV: per pair p = 4h + g of 16-column sub-blocks the
// scale bytes of sub-blocks 2p, 2p + 1 widened to int16 pairs (Q2_K: low nibble scale, high nibble min;
// Q3_K: signed scales), duplicated for the madd of the int16 maddubs sums (<= 4 x 2 x 7 x 127); Q2_K's
// mins, and Q3_K's scales for its -4 offset, madd'ed with Q8_K's bsums pair into `side`.
template <bool Q3, class Tile>
inline void k23_sums(const Tile& x, int r2, const int8_t* qa, const int16_t* bsums, vi32& sumi, vi32& side) {
    const __m128i m3 = _mm_set1_epi8(3), m4 = _mm_set1_epi8(4), m15 = _mm_set1_epi16(15);
    sumi = side = _mm_setzero_si128();
    for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g) {
            const int p = 4 * h + g;
            const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x.sc[p][4 * r2]));
            const __m128i raw =
                Q3 ? _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8) : _mm_unpacklo_epi8(v, _mm_setzero_si128());
            side = _mm_add_epi32(side, _mm_madd_epi16(Q3 ? raw : _mm_srli_epi16(raw, 4),
                                                      _mm_set1_epi32(load_i32(bsums + 2 * p))));
            const __m128i scl = Q3 ? raw : _mm_and_si128(raw, m15);
            const __m128i shift = _mm_cvtsi32_si128(2 * g);
            // bit 4h + g of hm moved to bit 2 (a 16-bit shift by at most 5 right / 2 left: nothing crosses
            // into bit 2 of the next byte)
            const int k = 4 * h + g;
            const __m128i hshift = _mm_cvtsi32_si128(k >= 2 ? k - 2 : 2 - k);
            __m128i s0 = _mm_setzero_si128(), s1 = _mm_setzero_si128();
            for (int c = 0; c < 4; ++c) {
                __m128i u0 = _mm_and_si128(_mm_srl_epi16(load16(x.qs[h][c][4 * r2]), shift), m3);
                __m128i u1 = _mm_and_si128(_mm_srl_epi16(load16(x.qs[h][c + 4][4 * r2]), shift), m3);
                if constexpr (Q3) {
                    const __m128i e0 = load16(x.hm[c][4 * r2]), e1 = load16(x.hm[c + 4][4 * r2]);
                    u0 = _mm_or_si128(
                        u0,
                        _mm_and_si128(k >= 2 ? _mm_srl_epi16(e0, hshift) : _mm_sll_epi16(e0, hshift), m4));
                    u1 = _mm_or_si128(
                        u1,
                        _mm_and_si128(k >= 2 ? _mm_srl_epi16(e1, hshift) : _mm_sll_epi16(e1, hshift), m4));
                }
                s0 = _mm_add_epi16(s0, _mm_maddubs_epi16(u0, bcast4(qa + 128 * h + 32 * g + 4 * c)));
                s1 = _mm_add_epi16(s1, _mm_maddubs_epi16(u1, bcast4(qa + 128 * h + 32 * g + 16 + 4 * c)));
            }
            const __m128i sc0 = _mm_shufflehi_epi16(_mm_shufflelo_epi16(scl, 0xA0), 0xA0);
            const __m128i sc1 = _mm_shufflehi_epi16(_mm_shufflelo_epi16(scl, 0xF5), 0xF5);
            sumi = _mm_add_epi32(sumi, _mm_add_epi32(_mm_madd_epi16(s0, sc0), _mm_madd_epi16(s1, sc1)));
        }
}

// Tiles of 2-bit code fields in Q4_0's shape (tile_int2x8, tile_int3x8 and their asymmetric twins,
// tile_tq2_0x8): Codes(h, k, half) gives the codes (0..7) of columns 16h + 4k + i of rows 4 half ..
// 4 half + 3, a dword per row; times the 4 activation bytes of those columns broadcast, maddubs pairs
// summed in int16 over Chunk groups h (<= Chunk x 4 x 2 x 7 x 127: int2 / int3 2, TQ2_0's codes <= 3 8)
// and widened; rows 0..3 -> s0, 4..7 -> s1.
template <int NH, int Chunk, class Codes>
inline void crumb_sums(Codes codes, const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i ones = _mm_set1_epi16(1);
    __m128i t[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
    for (int h0 = 0; h0 < NH; h0 += Chunk) {
        __m128i p[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
        for (int h = h0; h < h0 + Chunk; ++h)
            for (int k = 0; k < 4; ++k) {
                const __m128i a = bcast4(qa + 16 * h + 4 * k);
                for (int half = 0; half < 2; ++half)
                    p[half] = _mm_add_epi16(p[half], _mm_maddubs_epi16(codes(h, k, half), a));
            }
        for (int half = 0; half < 2; ++half) t[half] = _mm_add_epi32(t[half], _mm_madd_epi16(p[half], ones));
    }
    s0 = t[0];
    s1 = t[1];
}
// Bits 2k, 2k + 1 of each byte of qs[4 half .. 4 half + 3] (a 16-bit shift carries bits across the byte
// boundary only into bits the mask drops).
inline __m128i crumbs(const uint8_t (*qs)[4], int k, int half) {
    return _mm_and_si128(_mm_srl_epi16(load16(qs[4 * half]), _mm_cvtsi32_si128(2 * k)), _mm_set1_epi8(3));
}
// int3's codes: the crumbs with bit n = 4h + k of each byte of hb[4 half ..] moved to bit 2 (a 16-bit
// shift by at most 5 right / 2 left: nothing crosses into bit 2 of the next byte).
inline __m128i int3_codes(const uint8_t (*qs)[4], const uint8_t (*hb)[4], int h, int k, int half) {
    const __m128i e = load16(hb[4 * half]);
    const int n = 4 * h + k;
    const __m128i top =
        n >= 2 ? _mm_srl_epi16(e, _mm_cvtsi32_si128(n - 2)) : _mm_sll_epi16(e, _mm_cvtsi32_si128(2 - n));
    return _mm_or_si128(crumbs(qs, k, half), _mm_and_si128(top, _mm_set1_epi8(4)));
}

// FP8 codes in byte i of each int32 lane of w -> floats, exactly fp8_e4m3_to_f32 / fp8_e5m2_to_f32 (NaN
// codes as NaN). E4M3: s eeee mmm -> f32 bits s << 31 | eeeemmm << 20 = fp8 x 2^-120 (fp8 subnormals on
// f32 subnormals), times 2^120 (exact); E5M2 likewise (2^-112), its Inf / NaN codes as below.
template <bool E4M3>
inline vf32 fp8_byte_to_f32(__m128i w, int i) {
    const __m128i c = _mm_and_si128(_mm_srl_epi32(w, _mm_cvtsi32_si128(8 * i)), _mm_set1_epi32(0xFF));
    if constexpr (E4M3) {
        const __m128i mag = _mm_and_si128(c, _mm_set1_epi32(0x7F));
        const __m128i b = _mm_or_si128(_mm_slli_epi32(mag, 20), _mm_slli_epi32(_mm_xor_si128(c, mag), 24));
        const __m128i nan = _mm_cmpeq_epi32(mag, _mm_set1_epi32(0x7F));
        return _mm_or_ps(_mm_mul_ps(_mm_castsi128_ps(b), _mm_set1_ps(0x1p120f)), _mm_castsi128_ps(nan));
    } else {
        // s eeeee mm -> s << 31 | eeeeemm << 21 = fp8 x 2^-112, times 2^112; Inf / NaN (eeeee = 31) get
        // 224 more on the exponent (255), so the product is Inf or the quieted NaN, as fp16_to_f32 gives.
        const __m128i mag = _mm_and_si128(c, _mm_set1_epi32(0x7F));
        const __m128i special = _mm_cmpgt_epi32(mag, _mm_set1_epi32(0x7B));
        const __m128i b =
            _mm_add_epi32(_mm_or_si128(_mm_slli_epi32(mag, 21), _mm_slli_epi32(_mm_xor_si128(c, mag), 24)),
                          _mm_and_si128(special, _mm_set1_epi32(0x70000000)));
        return _mm_mul_ps(_mm_castsi128_ps(b), _mm_set1_ps(0x1p112f));
    }
}
// 8 bf16 values -> rows 0..3 (lo), 4..7 (hi): the upper halves of their floats.
inline void load_bf16x8(const uint16_t* p, vf32& lo, vf32& hi) {
    const __m128i h = load16(p);
    lo = _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
    hi = _mm_castsi128_ps(_mm_unpackhi_epi16(_mm_setzero_si128(), h));
}

#else  // Advanced SIMD
// Q4_0's tile (also Q4_1's): products of the unsigned nibbles (as signed bytes 0..15) and the
// activations, per row (row_acc16: <= 8 x 15 x 127 per int16 lane).
template <class Tile>
inline void nibble_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    row_acc16 r0, r1;
    for (int c = 0; c < 4; ++c) {
        const int8x16_t al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        const uint8x16_t w0 = vld1q_u8(x.qs[c][0]), w1 = vld1q_u8(x.qs[c][4]);
        r0.add(vreinterpretq_s8_u8(vandq_u8(w0, m4)), al);
        r0.add(vreinterpretq_s8_u8(vshrq_n_u8(w0, 4)), ah);
        r1.add(vreinterpretq_s8_u8(vandq_u8(w1, m4)), al);
        r1.add(vreinterpretq_s8_u8(vshrq_n_u8(w1, 4)), ah);
    }
    s0 = r0.sums();
    s1 = r1.sums();
}

// Q5_0 / Q5_1 tiles: codes 0..31 (bits 2c, 2c + 1 of qh moved to bit 4 by a byte shift), row_acc16
// (<= 8 x 31 x 127).
template <class Tile>
inline void q5_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    row_acc16 r[2];
    for (int h = 0; h < 2; ++h) {
        const uint8x16_t e = vld1q_u8(x.qh[4 * h]);
        for (int c = 0; c < 4; ++c) {
            const uint8x16_t w = vld1q_u8(x.qs[c][4 * h]);
            const int8x16_t lo = vreinterpretq_s8_u8(vorrq_u8(
                vandq_u8(w, m4), vandq_u8(vshlq_u8(e, vdupq_n_s8(static_cast<int8_t>(4 - 2 * c))), b4)));
            const int8x16_t hi = vreinterpretq_s8_u8(vorrq_u8(
                vshrq_n_u8(w, 4), vandq_u8(vshlq_u8(e, vdupq_n_s8(static_cast<int8_t>(3 - 2 * c))), b4)));
            r[h].add(lo, bcast4(qa + 4 * c));
            r[h].add(hi, bcast4(qa + 16 + 4 * c));
        }
    }
    s0 = r[0].sums();
    s1 = r[1].sums();
}

// Q4_0-shaped tiles with a 16-entry int8 codebook: the codes' values by vqtbl1q, signed products
// (<= 127 x 127) in row_acc32.
template <const int8_t* Lut>
inline void table4_group_sums(const uint8_t (*qs)[8][4], const int8_t* qa, vi32& s0, vi32& s1) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t lut = vld1q_s8(Lut);
    row_acc32 r[2];
    for (int c = 0; c < 4; ++c) {
        const int8x16_t al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        for (int h = 0; h < 2; ++h) {
            const uint8x16_t w = vld1q_u8(qs[c][4 * h]);
            r[h].add(vqtbl1q_s8(lut, vandq_u8(w, m4)), al);
            r[h].add(vqtbl1q_s8(lut, vshrq_n_u8(w, 4)), ah);
        }
    }
    s0 = r[0].sums();
    s1 = r[1].sums();
}

// Bytes 4j .. 4j + 3 of v, zero-extended to the 4 int32 lanes (vqtbl1q gives 0 for index 255).
inline vi32 bytes4_to_i32(uint8x16_t v, int j) {
    alignas(16) static const uint8_t idx[4][16] = {
        {0, 255, 255, 255, 1, 255, 255, 255, 2, 255, 255, 255, 3, 255, 255, 255},
        {4, 255, 255, 255, 5, 255, 255, 255, 6, 255, 255, 255, 7, 255, 255, 255},
        {8, 255, 255, 255, 9, 255, 255, 255, 10, 255, 255, 255, 11, 255, 255, 255},
        {12, 255, 255, 255, 13, 255, 255, 255, 14, 255, 255, 255, 15, 255, 255, 255}};
    return vreinterpretq_s32_u8(vqtbl1q_u8(v, vld1q_u8(idx[j])));
}

// Q4_K: rows 4h .. 4h + 3 of a tile block, as the x86 version above: per sub-block the products summed
// per lane in int16 (<= 8 x 15 x 128), reduced to row sums and multiplied by the row's scale in int32;
// the mins times the sub-blocks' activation sums (side[p]: the int16 pair of sub-blocks 2p, 2p + 1).
// The codes as on x86 above (Q5_K's 5th bits: qh[c] shifted left by 3 - 2j bits, right where negative).
struct q4_k_codes {
    static void get(const tile_q4_kx8& x, int j, int c, int h, int8x16_t& lo, int8x16_t& hi) {
        const uint8x16_t w = vld1q_u8(x.qs[j][c][4 * h]);
        lo = vreinterpretq_s8_u8(vandq_u8(w, vdupq_n_u8(0x0F)));
        hi = vreinterpretq_s8_u8(vshrq_n_u8(w, 4));
    }
};
struct q5_k_codes {
    static void get(const tile_q5_kx8& x, int j, int c, int h, int8x16_t& lo, int8x16_t& hi) {
        const uint8x16_t w = vld1q_u8(x.qs[j][c][4 * h]), e = vld1q_u8(x.qh[c][4 * h]);
        const uint8x16_t e34 =
            vandq_u8(vshlq_u8(e, vdupq_n_s8(static_cast<int8_t>(3 - 2 * j))), vdupq_n_u8(0x18));
        lo = vreinterpretq_s8_u8(vandq_u8(w, vdupq_n_u8(0x1F)));
        hi = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(w, 5), e34));
    }
};

// Q4_K / Q5_K: rows 4h .. 4h + 3 of a tile block, as the x86 version above: per sub-block the products
// summed per lane in int16 (<= 8 x 31 x 128), reduced to row sums and multiplied by the row's scale in
// int32; the mins times the sub-blocks' activation sums (side[p]: the int16 pair of sub-blocks 2p, 2p + 1).
template <class Codes, class Tile>
inline void scale_min_sums(const Tile& x, int h, const int8_t* qa, const int32_t* side, vi32& sumi,
                           vi32& summ) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m48 = vdupq_n_u8(0x30);
    const uint8x16_t l = vld1q_u8(x.s.sl[h][0]), m = vld1q_u8(x.s.ml[h][0]), hb = vld1q_u8(x.s.hb[h][0]);
    const uint8x16_t sc_e = vorrq_u8(vandq_u8(l, m4), vandq_u8(vshlq_n_u8(hb, 4), m48));
    const uint8x16_t sc_o = vorrq_u8(vshrq_n_u8(l, 4), vandq_u8(vshlq_n_u8(hb, 2), m48));
    const uint8x16_t mn_e = vorrq_u8(vandq_u8(m, m4), vandq_u8(hb, m48));
    const uint8x16_t mn_o = vorrq_u8(vshrq_n_u8(m, 4), vandq_u8(vshrq_n_u8(hb, 2), m48));
    sumi = vdupq_n_s32(0);
    summ = vdupq_n_s32(0);
    for (int j = 0; j < 4; ++j) {
        row_acc16 lo, hi;
        for (int c = 0; c < 8; ++c) {
            int8x16_t wl, wh;
            Codes::get(x, j, c, h, wl, wh);
            lo.add(wl, bcast4(qa + 64 * j + 4 * c));
            hi.add(wh, bcast4(qa + 64 * j + 32 + 4 * c));
        }
        sumi = vmlaq_s32(sumi, lo.sums(), bytes4_to_i32(sc_e, j));
        sumi = vmlaq_s32(sumi, hi.sums(), bytes4_to_i32(sc_o, j));
        const int32_t sp = side[j];
        summ = vmlaq_n_s32(summ, bytes4_to_i32(mn_e, j), static_cast<int16_t>(sp & 0xFFFF));
        summ =
            vmlaq_n_s32(summ, bytes4_to_i32(mn_o, j), static_cast<int16_t>(static_cast<uint32_t>(sp) >> 16));
    }
}

// Q6_K codes (0..63) of columns 128h + 32G + 4c + i of rows 4r2 .. 4r2 + 3, as signed bytes.
template <int G>
inline int8x16_t q6_k_code(const tile_q6_kx8& x, int h, int c, int r2) {
    if constexpr (G < 3) {
        return vreinterpretq_s8_u8(vandq_u8(vld1q_u8(x.q[h][G][c][4 * r2]), vdupq_n_u8(0x3F)));
    } else {
        const uint8x16_t b0 = vshrq_n_u8(vld1q_u8(x.q[h][0][c][4 * r2]), 6);
        const uint8x16_t b1 = vandq_u8(vshrq_n_u8(vld1q_u8(x.q[h][1][c][4 * r2]), 4), vdupq_n_u8(0x0C));
        const uint8x16_t b2 = vandq_u8(vshrq_n_u8(vld1q_u8(x.q[h][2][c][4 * r2]), 2), vdupq_n_u8(0x30));
        return vreinterpretq_s8_u8(vorrq_u8(vorrq_u8(b0, b1), b2));
    }
}

// Q6_K, rows 4r2 .. 4r2 + 3: per 16-column sub-block the products summed per lane in int16 (<= 4 x 63 x
// 128), reduced to row sums and multiplied by the signed scale; minus 32 sc bsum.
template <int G>
inline void q6_k_group(const tile_q6_kx8& x, int h, int r2, const int8_t* qa, const int16_t* bsums,
                       vi32& sumi, vi32& corr) {
    // the scale pairs (sc[2p], sc[2p + 1]) of the 4 rows: int16 lanes (row 0 first, second), ...
    const int32x4_t sp = vreinterpretq_s32_s16(vmovl_s8(vld1_s8(x.sc[4 * h + G][4 * r2])));
    const vi32 sc_lo = vmovl_s16(vmovn_s32(sp)), sc_hi = vmovl_s16(vshrn_n_s32(sp, 16));
    for (int half = 0; half < 2; ++half) {
        row_acc16 r;
        for (int c = 4 * half; c < 4 * half + 4; ++c)
            r.add(q6_k_code<G>(x, h, c, r2), bcast4(qa + 128 * h + 32 * G + 4 * c));
        const vi32 sc = half == 0 ? sc_lo : sc_hi;
        sumi = vmlaq_s32(sumi, r.sums(), sc);
        corr = vmlaq_n_s32(corr, sc, bsums[8 * h + 2 * G + half]);
    }
}
inline vi32 q6_k_sums(const tile_q6_kx8& x, int r2, const int8_t* qa, const int16_t* bsums) {
    vi32 sumi = vdupq_n_s32(0), corr = sumi;
    for (int h = 0; h < 2; ++h) {
        q6_k_group<0>(x, h, r2, qa, bsums, sumi, corr);
        q6_k_group<1>(x, h, r2, qa, bsums, sumi, corr);
        q6_k_group<2>(x, h, r2, qa, bsums, sumi, corr);
        q6_k_group<3>(x, h, r2, qa, bsums, sumi, corr);
    }
    return vsubq_s32(sumi, vshlq_n_s32(corr, 5));
}

// Q2_K / Q3_K, rows 4r2 .. 4r2 + 3: per 16-column sub-block the products summed per lane in int16 (<= 4
// x 7 x 128), reduced to row sums and multiplied by the scale in int32; `side` as on x86.
template <bool Q3, class Tile>
inline void k23_sums(const Tile& x, int r2, const int8_t* qa, const int16_t* bsums, vi32& sumi, vi32& side) {
    const uint8x16_t m3 = vdupq_n_u8(3), m4 = vdupq_n_u8(4);
    sumi = side = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g) {
            const int p = 4 * h + g;
            const uint8x8_t raw = vld1_u8(reinterpret_cast<const uint8_t*>(x.sc[p][4 * r2]));
            // the int16 pairs (sub-block 2p, 2p + 1) of the 4 rows as int32 lanes, then each half
            int32x4_t sc2, side2;
            if constexpr (Q3) {
                sc2 = vreinterpretq_s32_s16(vmovl_s8(vreinterpret_s8_u8(raw)));
                side2 = sc2;
            } else {
                sc2 = vreinterpretq_s32_u16(vmovl_u8(vand_u8(raw, vdup_n_u8(15))));
                side2 = vreinterpretq_s32_u16(vmovl_u8(vshr_n_u8(raw, 4)));
            }
            const vi32 sc0 = vmovl_s16(vmovn_s32(sc2)), sc1 = vmovl_s16(vshrn_n_s32(sc2, 16));
            side = vmlaq_n_s32(side, vmovl_s16(vmovn_s32(side2)), bsums[2 * p]);
            side = vmlaq_n_s32(side, vmovl_s16(vshrn_n_s32(side2, 16)), bsums[2 * p + 1]);
            const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(-2 * g));
            const int8x16_t hshift = vdupq_n_s8(static_cast<int8_t>(2 - p));
            row_acc16 q[2];  // sub-blocks 2p, 2p + 1
            for (int c = 0; c < 8; ++c) {
                uint8x16_t u = vandq_u8(vshlq_u8(vld1q_u8(x.qs[h][c][4 * r2]), shift), m3);
                if constexpr (Q3) u = vorrq_u8(u, vandq_u8(vshlq_u8(vld1q_u8(x.hm[c][4 * r2]), hshift), m4));
                q[c / 4].add(vreinterpretq_s8_u8(u), bcast4(qa + 128 * h + 32 * g + 4 * c));
            }
            sumi = vmlaq_s32(sumi, q[0].sums(), sc0);
            sumi = vmlaq_s32(sumi, q[1].sums(), sc1);
        }
}
// Tiles of 2-bit code fields in Q4_0's shape, as on x86 above: Codes(h, k, half) gives the codes (0..7)
// of columns 16h + 4k + i of rows 4 half .. 4 half + 3; products summed per lane in int16 (<= NH x 4 x 7
// x 127: TQ2_0's 16 groups of codes <= 3 24384), reduced to row sums at the end.
template <int NH, int /*Chunk*/, class Codes>
inline void crumb_sums(Codes codes, const int8_t* qa, vi32& s0, vi32& s1) {
    row_acc16 r[2];
    for (int h = 0; h < NH; ++h)
        for (int k = 0; k < 4; ++k) {
            const int8x16_t a = bcast4(qa + 16 * h + 4 * k);
            for (int half = 0; half < 2; ++half) r[half].add(vreinterpretq_s8_u8(codes(h, k, half)), a);
        }
    s0 = r[0].sums();
    s1 = r[1].sums();
}
inline uint8x16_t crumbs(const uint8_t (*qs)[4], int k, int half) {
    return vandq_u8(vshlq_u8(vld1q_u8(qs[4 * half]), vdupq_n_s8(static_cast<int8_t>(-2 * k))), vdupq_n_u8(3));
}
inline uint8x16_t int3_codes(const uint8_t (*qs)[4], const uint8_t (*hb)[4], int h, int k, int half) {
    const uint8x16_t top = vshlq_u8(vld1q_u8(hb[4 * half]), vdupq_n_s8(static_cast<int8_t>(2 - 4 * h - k)));
    return vorrq_u8(crumbs(qs, k, half), vandq_u8(top, vdupq_n_u8(4)));
}

template <bool E4M3>
inline vf32 fp8_byte_to_f32(uint8x16_t w, int i) {
    const uint32x4_t c =
        vandq_u32(vshlq_u32(vreinterpretq_u32_u8(w), vdupq_n_s32(-8 * i)), vdupq_n_u32(0xFF));
    if constexpr (E4M3) {
        const uint32x4_t mag = vandq_u32(c, vdupq_n_u32(0x7F));
        const uint32x4_t b = vorrq_u32(vshlq_n_u32(mag, 20), vshlq_n_u32(veorq_u32(c, mag), 24));
        const uint32x4_t nan = vceqq_u32(mag, vdupq_n_u32(0x7F));
        const float32x4_t v = vmulq_f32(vreinterpretq_f32_u32(b), vdupq_n_f32(0x1p120f));
        return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(v), nan));
    } else {
        return vcvt_f32_f16(vreinterpret_f16_u16(vmovn_u32(vshlq_n_u32(c, 8))));
    }
}
inline void load_bf16x8(const uint16_t* p, vf32& lo, vf32& hi) {
    const uint16x8_t h = vld1q_u16(p);
    lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
}
#endif

// Q8_0's tile: 8 groups of 4 columns, each 8 rows x 4 signed bytes.
inline void q8_sums(const tile_q8_0x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    signed_group_sums(x.qs, qa, s0, s1);
}

// The Q4_0-shaped codebook tiles (one tile block: its 4 column groups).
template <const int8_t* Lut, class Tile>
inline void table4_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    table4_group_sums<Lut>(x.qs, qa, s0, s1);
}

// The walk of every generic tile GEMV: for each tile block b (prefetched ahead), step(x[b], activation
// block b, b, acc) adds the block to the two 4-row accumulators, so every row takes its blocks in order;
// then y[0 .. n_rows) = the rows times `post` (1, or IQ3_XXS's 1/4, as its __ref).
template <class Tile, class Act, class Step>
void gemv_walk(int64_t nb, const void* tiles, const void* a, float* y, int n_rows, Step step,
               float post = 1.0f) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const Act*>(a);
    vf32 acc[2] = {f_zero(), f_zero()};
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead<sizeof(Tile)>(x + b);
        step(x[b], q[b], b, acc);
    }
    if (post != 1.0f)
        for (auto& v : acc) v = f_mul(v, f_set(post));
    store_rows(y, acc[0], acc[1], n_rows);
}

// Q8_0 activations: acc += float(sums [+ side[b]]) * (d_w[r] * d_a), the side value being Q4_0's
// -8 x (activation sum) (repack_act_sides).
// Div > 1 (NF4 127, FP4 2): the row scale is d_w / Div, as (d_w * (1 / Div)) * d_a.
template <class Tile, void (*Sums)(const Tile&, const int8_t*, vi32&, vi32&), bool Side, int Div = 1>
void gemv_q8_0_act(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {
    gemv_walk<Tile, block_q8_0>(nb, tiles, a, y, n_rows,
                                [&](const Tile& x, const block_q8_0& q, int64_t b, vf32(&acc)[2]) {
                                    vi32 s[2];
                                    Sums(x, q.qs, s[0], s[1]);
                                    vf32 d[2];
                                    load_scales(x.d, d[0], d[1]);
                                    const vf32 da = f_set(fp16_to_f32(q.d));
                                    for (int h = 0; h < 2; ++h) {
                                        if constexpr (Side) s[h] = i_add(s[h], i_set(side[b]));
                                        if constexpr (Div != 1) d[h] = f_mul(d[h], f_set(1.0f / Div));
                                        acc[h] = f_add(acc[h], f_mul(f_from_i32(s[h]), f_mul(d[h], da)));
                                    }
                                });
}

// Q8_1 activations (Q4_1): acc += (float(sums [+ side[b]]) * (d_w[r] * d_a) + m_w[r] * s_a), as
// gemv_q8_1_act_ref, the side value being the 8-bit asymmetric tiles' 128 x (activation sum).
template <class Tile, void (*Sums)(const Tile&, const int8_t*, vi32&, vi32&), bool Side = false>
void gemv_q8_1_act(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {
    gemv_walk<Tile, block_q8_1>(
        nb, tiles, a, y, n_rows, [&](const Tile& x, const block_q8_1& q, int64_t b, vf32(&acc)[2]) {
            vi32 s[2];
            Sums(x, q.qs, s[0], s[1]);
            if constexpr (Side)
                for (auto& v : s) v = i_add(v, i_set(side[b]));
            vf32 d[2], m[2];
            load_scales(x.d, d[0], d[1]);
            load_scales(x.m, m[0], m[1]);
            const vf32 da = f_set(fp16_to_f32(q.d)), sa = f_set(fp16_to_f32(q.s));
            for (int h = 0; h < 2; ++h)
                acc[h] = f_add(acc[h], f_add(f_mul(f_from_i32(s[h]), f_mul(d[h], da)), f_mul(m[h], sa)));
        });
}

// acc + ((d_a d_w[r]) float(sumi) - (d_a dmin_w[r]) float(summ)): the float step of the scale / min
// K-quants' __ref GEMVs (Q2_K, Q4_K, Q5_K).
inline vf32 scale_min_step(vf32 acc, vf32 da, vf32 d, vf32 dmin, vi32 sumi, vi32 summ) {
    return f_add(acc, f_sub(f_mul(f_mul(da, d), f_from_i32(sumi)), f_mul(f_mul(da, dmin), f_from_i32(summ))));
}

// Q4_K / Q5_K over Q8_K activations (scale_min_step), as gemv_scale_min_ref.
template <class Tile, class Codes>
void gemv_scale_min(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {
    gemv_walk<Tile, block_q8_k>(nb, tiles, a, y, n_rows,
                                [&](const Tile& x, const block_q8_k& q, int64_t b, vf32(&acc)[2]) {
                                    vf32 d[2], dmin[2];
                                    load_scales(x.d, d[0], d[1]);
                                    load_scales(x.dmin, dmin[0], dmin[1]);
                                    const vf32 da = f_set(q.d);
                                    for (int h = 0; h < 2; ++h) {
                                        vi32 sumi, summ;
                                        scale_min_sums<Codes>(x, h, q.qs, side + 4 * b, sumi, summ);
                                        acc[h] = scale_min_step(acc[h], da, d[h], dmin[h], sumi, summ);
                                    }
                                });
}

// Q2_K / Q3_K over Q8_K activations, in dot_q2_k / dot_q3_k_q8_k__ref's float order: Q3_K acc +=
// (d_a d_w[r]) float(sumi - 4 side); Q2_K acc += (d_a d_w[r]) float(sumi) - (d_a dmin_w[r]) float(side).
template <bool Q3, class Tile>
void gemv_k23(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_walk<Tile, block_q8_k>(
        nb, tiles, a, y, n_rows, [](const Tile& x, const block_q8_k& q, int64_t, vf32(&acc)[2]) {
            vf32 d[2], dmin[2];
            load_scales(x.d, d[0], d[1]);
            if constexpr (!Q3) load_scales(x.dmin, dmin[0], dmin[1]);
            const vf32 da = f_set(q.d);
            for (int h = 0; h < 2; ++h) {
                vi32 sumi, side;
                k23_sums<Q3>(x, h, q.qs, q.bsums, sumi, side);
                if constexpr (Q3)
                    acc[h] = f_add(acc[h], f_mul(f_mul(da, d[h]), f_from_i32(i_sub(sumi, i_shl2(side)))));
                else
                    acc[h] = scale_min_step(acc[h], da, d[h], dmin[h], sumi, side);
            }
        });
}

// tile_iq4_xsx8 (IQ4_XS, IQ3_XXS, IQ3_S) over Q8_K activations: per sub-block the table sums times the
// rows' scales (int32), then per 256-column block IQ4_XS (Fma) acc = fma(d_a * d_w, float(sum), acc), as
// gemv_iq4_xsx8_q8_k__ref; IQ3 acc += (d_a * d_w) * float(sum), times 2^PostLog2 at the end, as
// gemv_iq3x8_ref.
template <const int8_t* Lut, bool Fma, int PostLog2 = 0>
void gemv_sub8_table4(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                      int n_rows) {
    const auto step = [](const tile_iq4_xsx8& x, const block_q8_k& q, int64_t, vf32(&acc)[2]) {
        vi32 sum[2] = {i_set(0), i_set(0)};
        for (int s = 0; s < 8; ++s) {
            vi32 t[2], sc[2];
            table4_group_sums<Lut>(x.qs[s], q.qs + 32 * s, t[0], t[1]);
            widen_s8x8(x.sc[s], sc[0], sc[1]);
            for (int h = 0; h < 2; ++h) sum[h] = i_add(sum[h], i_mul(t[h], sc[h]));
        }
        vf32 d[2];
        load_scales(x.d, d[0], d[1]);
        const vf32 da = f_set(q.d);
        for (int h = 0; h < 2; ++h) {
            if constexpr (Fma)
                acc[h] = f_fma(f_mul(da, d[h]), f_from_i32(sum[h]), acc[h]);
            else
                acc[h] = f_add(acc[h], f_mul(f_mul(da, d[h]), f_from_i32(sum[h])));
        }
    };
    gemv_walk<tile_iq4_xsx8, block_q8_k>(nb, tiles, a, y, n_rows, step, std::ldexp(1.0f, PostLog2));
}

// Q6_K over Q8_K activations: acc += (d_a d_w[r]) float(sumi), as gemv_signed_scale_ref.
void gemv_q6_k(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_walk<tile_q6_kx8, block_q8_k>(
        nb, tiles, a, y, n_rows, [](const tile_q6_kx8& x, const block_q8_k& q, int64_t, vf32(&acc)[2]) {
            vf32 d[2];
            load_scales(x.d, d[0], d[1]);
            const vf32 da = f_set(q.d);
            for (int h = 0; h < 2; ++h)
                acc[h] = f_add(acc[h], f_mul(f_mul(da, d[h]), f_from_i32(q6_k_sums(x, h, q.qs, q.bsums))));
        });
}

// The 2-bit code fields of tile_int2x8 / tile_int2ax8 and int3's tiles (two 16-column groups per block).
template <class Tile>
inline void int2_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    crumb_sums<2, 2>([&](int h, int k, int half) { return crumbs(x.qs[h], k, half); }, qa, s0, s1);
}
template <class Tile>
inline void int3_sums(const Tile& x, const int8_t* qa, vi32& s0, vi32& s1) {
    crumb_sums<2, 2>([&](int h, int k, int half) { return int3_codes(x.qs[h], x.hb, h, k, half); }, qa, s0,
                     s1);
}
// The 8-bit asymmetric tiles' signed codes u - 128 (side: + 128 x the activation sum).
inline void int8a_sums(const tile_q8_1x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    signed_group_sums(x.qs, qa, s0, s1);
}

// TQ2_0 over Q8_K activations: per 256-column block acc += (d_a d_w[r]) float(sum code a - sum a), as
// gemv_tq2_0x8_q8_k__ref (its 16 groups of codes <= 3 summed in int16 eight groups at a time).
void gemv_tq2_0(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_walk<tile_tq2_0x8, block_q8_k>(
        nb, tiles, a, y, n_rows, [](const tile_tq2_0x8& x, const block_q8_k& q, int64_t, vf32(&acc)[2]) {
            vi32 s[2];
            crumb_sums<16, 8>([&](int h, int k, int half) { return crumbs(x.qs[h], k, half); }, q.qs, s[0],
                              s[1]);
            int bs = 0;
            for (int16_t v : q.bsums) bs += v;
            vf32 d[2];
            load_scales(x.d, d[0], d[1]);
            const vf32 da = f_set(q.d);
            for (int h = 0; h < 2; ++h)
                acc[h] = f_add(acc[h], f_mul(f_mul(da, d[h]), f_from_i32(i_sub(s[h], i_set(bs)))));
        });
}

// The float tiles' activations: 32 floats per tile block.
struct f32_block {
    float v[32];
};

// FP8 (tile_q8_0x8, or tile_q8_0x8f with f32 row scales) over prepared activations x' = x 2^60 (E5M2
// 2^56): per block s = the float sum of fp8(u) x' in column order, then acc += d_w[r] (s 2^-60), as
// gemv_fp8_ref (every code decoded exactly, fp8_byte_to_f32).
template <bool E4M3, class Tile>
void gemv_fp8(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    const vf32 unscale = f_set(E4M3 ? 0x1p-60f : 0x1p-56f);
    gemv_walk<Tile, f32_block>(nb, tiles, a, y, n_rows,
                               [&](const Tile& x, const f32_block& q, int64_t, vf32(&acc)[2]) {
                                   vf32 s[2] = {f_zero(), f_zero()};
                                   for (int g = 0; g < 8; ++g) {
                                       const auto w0 = load16(x.qs[g][0]), w1 = load16(x.qs[g][4]);
                                       for (int i = 0; i < 4; ++i) {
                                           const vf32 xv = f_set(q.v[4 * g + i]);
                                           s[0] = f_add(s[0], f_mul(fp8_byte_to_f32<E4M3>(w0, i), xv));
                                           s[1] = f_add(s[1], f_mul(fp8_byte_to_f32<E4M3>(w1, i), xv));
                                       }
                                   }
                                   vf32 d[2];
                                   load_scales(x.d, d[0], d[1]);
                                   for (int h = 0; h < 2; ++h)
                                       acc[h] = f_add(acc[h], f_mul(d[h], f_mul(s[h], unscale)));
                               });
}

// F16 / BF16 (tile_h16x8, f32 activations): per row the float sum of h x in column order, as
// gemv_half_ref; a column's 8 rows are one 16-byte load.
template <bool F16>
void gemv_half(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_walk<tile_h16x8, f32_block>(nb, tiles, a, y, n_rows,
                                     [](const tile_h16x8& x, const f32_block& q, int64_t, vf32(&acc)[2]) {
                                         for (int j = 0; j < 32; ++j) {
                                             vf32 lo, hi;
                                             if constexpr (F16)
                                                 load_scales(x.v[j], lo, hi);
                                             else
                                                 load_bf16x8(x.v[j], lo, hi);
                                             const vf32 xv = f_set(q.v[j]);
                                             acc[0] = f_add(acc[0], f_mul(lo, xv));
                                             acc[1] = f_add(acc[1], f_mul(hi, xv));
                                         }
                                     });
}
// Q4_0 tiles -> the prompt GEMM's packed blocks (as repack_unpack_q4_0__ref): scales as floats, low
// nibbles to groups 0..3, high nibbles to groups 4..7.
void unpack_q4_0(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        vf32 d0, d1;
        load_scales(x[b].d, d0, d1);
        f_store(out[b].d, d0);
        f_store(out[b].d + 4, d1);
        for (int c = 0; c < 4; ++c)
            for (int h = 0; h < 2; ++h) {
#if LOWBIT_SIMD128_X86
                const __m128i w = load16(x[b].qs[c][4 * h]), m4 = _mm_set1_epi8(0x0F);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q[c][4 * h]), _mm_and_si128(w, m4));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q[c + 4][4 * h]),
                                 _mm_and_si128(_mm_srli_epi16(w, 4), m4));
#else
                const uint8x16_t w = vld1q_u8(x[b].qs[c][4 * h]);
                vst1q_u8(reinterpret_cast<uint8_t*>(out[b].q[c][4 * h]), vandq_u8(w, vdupq_n_u8(0x0F)));
                vst1q_u8(reinterpret_cast<uint8_t*>(out[b].q[c + 4][4 * h]), vshrq_n_u8(w, 4));
#endif
            }
    }
}

// One 32-column block of 8 rows of FP8 codes (dword (g, r) = row r's codes of columns 4g .. 4g + 3, the
// tiles' layout) with the rows' scales d -> the FP8 prompt GEMM's gemm_block_i16x8, as
// fp8_block_to_i16__ref per row: every code decoded exactly (fp8_byte_to_f32) and kept; per row its
// largest magnitude m (a normal float: the smallest nonzero FP8 value is 2^-16), sh = 14 - exponent(m)
// from m's bits, the scale d 2^-sh and the factor 2^sh as exact powers of two (zero for an all-zero
// row); the codes times 2^sh (exact) rounded to nearest even; columns 2p and 2p + 1 of a row become its
// int16 pair p.
template <bool E4M3>
void fp8_block_to_i16(const int8_t (*qs)[8][4], const float* d, gemm_block_i16x8& out) {
    vf32 v[8][4][2];  // group g (columns 4g .. 4g + 3), byte i, rows 0..3 / 4..7
    vf32 m[2] = {f_zero(), f_zero()};
    for (int g = 0; g < 8; ++g) {
        const auto w0 = load16(qs[g][0]), w1 = load16(qs[g][4]);
        for (int i = 0; i < 4; ++i) {
            v[g][i][0] = fp8_byte_to_f32<E4M3>(w0, i);
            v[g][i][1] = fp8_byte_to_f32<E4M3>(w1, i);
            m[0] = f_max(m[0], f_abs(v[g][i][0]));
            m[1] = f_max(m[1], f_abs(v[g][i][1]));
        }
    }
    float mr[8], up[8];
    f_store(mr, m[0]);
    f_store(mr + 4, m[1]);
    for (int r = 0; r < 8; ++r) {
        uint32_t bits;
        std::memcpy(&bits, &mr[r], 4);
        const int sh = 14 - (static_cast<int>(bits >> 23) - 127);  // 14 - ilogb(m)
        const uint32_t up_bits = mr[r] > 0.0f ? static_cast<uint32_t>(127 + sh) << 23 : 0u;
        const uint32_t down_bits = static_cast<uint32_t>(127 - sh) << 23;
        float down;
        std::memcpy(&up[r], &up_bits, 4);
        std::memcpy(&down, &down_bits, 4);
        out.d[r] = mr[r] > 0.0f ? d[r] * down : 0.0f;
    }
    for (int h = 0; h < 2; ++h) {
        const vf32 u = f_load(up + 4 * h);
        for (int g = 0; g < 8; ++g) {
            vi32 q[4];
            for (int i = 0; i < 4; ++i) q[i] = i_round(f_mul(v[g][i][h], u));
            i_store(out.q[2 * g][4 * h], i_pairs16(q[0], q[1]));
            i_store(out.q[2 * g + 1][4 * h], i_pairs16(q[2], q[3]));
        }
    }
}

// FP8 tiles (tile_q8_0x8: fp16 row scales; tile_q8_0x8f: f32) -> gemm_block_i16x8.
template <bool E4M3, class Tile>
void unpack_fp8(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const Tile*>(tiles);
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        float d[8];
        vf32 dv[2];
        load_scales(x[b].d, dv[0], dv[1]);
        f_store(d, dv[0]);
        f_store(d + 4, dv[1]);
        fp8_block_to_i16<E4M3>(x[b].qs, d, out[b]);
    }
}

// FP8 rows (block_fp8, or per row an f32 scale then the codes) -> gemm_block_i16x8, as
// gemm_pack_fp8_*__ref: each block's 8 rows gathered into the tiles' layout (rows past n_rows zero), then
// the tiles' conversion.
template <bool E4M3, bool PerRow>
void pack_fp8(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    float d[8] = {};
    for (int r = 0; r < n_rows && PerRow; ++r) std::memcpy(&d[r], w + row_stride * static_cast<size_t>(r), 4);
    for (int64_t b = 0; b < k / 32; ++b) {
        int8_t qs[8][8][4] = {};
        for (int r = 0; r < n_rows; ++r) {
            const uint8_t* row = w + row_stride * static_cast<size_t>(r);
            const uint8_t* codes;
            if constexpr (PerRow) {
                codes = row + sizeof(row_header_fp8_pt) + 32 * b;
            } else {
                const auto& blk = reinterpret_cast<const block_fp8*>(row)[b];
                d[r] = fp16_to_f32(blk.d);
                codes = blk.qs;
            }
            for (int g = 0; g < 8; ++g) std::memcpy(qs[g][r], codes + 4 * g, 4);
        }
        fp8_block_to_i16<E4M3>(qs, d, out[b]);
    }
}

}  // namespace

// The kernel table (repack.hpp): each __ref tile GEMV's version here, bit-exact with it.
gemv_tile_fn gemv_kernel_simd128(gemv_tile_fn ref) {
    static const kernel_entry<gemv_tile_fn> table[] = {
        {gemv_q4_0x8_q8_0__ref, gemv_q8_0_act<tile_q4_0x8, nibble_sums<tile_q4_0x8>, true>},
        {gemv_q8_0x8_q8_0__ref, gemv_q8_0_act<tile_q8_0x8, q8_sums, false>},
        {gemv_iq4_nlx8_q8_0__ref,
         gemv_q8_0_act<tile_q4_0x8, table4_sums<k_iq4nl_values, tile_q4_0x8>, false>},
        {gemv_mxfp4x8_q8_0__ref,
         gemv_q8_0_act<tile_q4_0x8, table4_sums<k_mxfp4_kvalues, tile_q4_0x8>, false>},
        {gemv_nf4x8_q8_0__ref, gemv_q8_0_act<tile_q4_0x8, table4_sums<k_nf4_i8, tile_q4_0x8>, false, 127>},
        {gemv_nf4_dqx8_q8_0__ref,
         gemv_q8_0_act<tile_q4_0x8f, table4_sums<k_nf4_i8, tile_q4_0x8f>, false, 127>},
        {gemv_fp4_e2m1x8_q8_0__ref,
         gemv_q8_0_act<tile_q4_0x8, table4_sums<k_fp4_e2m1_x2, tile_q4_0x8>, false, 2>},
        {gemv_q4_1x8_q8_1__ref, gemv_q8_1_act<tile_q4_1x8, nibble_sums<tile_q4_1x8>>},
        {gemv_q5_0x8_q8_0__ref, gemv_q8_0_act<tile_q5_0x8, q5_sums<tile_q5_0x8>, true>},
        {gemv_q5_1x8_q8_1__ref, gemv_q8_1_act<tile_q5_1x8, q5_sums<tile_q5_1x8>>},
        {gemv_iq4_xsx8_q8_k__ref, gemv_sub8_table4<k_iq4nl_values, true>},
        {gemv_iq3_xxsx8_q8_k__ref, gemv_sub8_table4<k_iq3xxs_lut16, false, -2>},
        {gemv_iq3_sx8_q8_k__ref, gemv_sub8_table4<k_iq3s_lut16, false>},
        {gemv_q2_kx8_q8_k__ref, gemv_k23<false, tile_q2_kx8>},
        {gemv_q3_kx8_q8_k__ref, gemv_k23<true, tile_q3_kx8>},
        {gemv_q4_kx8_q8_k__ref, gemv_scale_min<tile_q4_kx8, q4_k_codes>},
        {gemv_q5_kx8_q8_k__ref, gemv_scale_min<tile_q5_kx8, q5_k_codes>},
        {gemv_q6_kx8_q8_k__ref, gemv_q6_k},
        // the side term carries int2's offset (2, ternary 1) and int3's (4)
        {gemv_int2x8_q8_0__ref<1>, gemv_q8_0_act<tile_int2x8, int2_sums<tile_int2x8>, true>},
        {gemv_int2x8_q8_0__ref<2>, gemv_q8_0_act<tile_int2x8, int2_sums<tile_int2x8>, true>},
        {gemv_int3x8_q8_0__ref, gemv_q8_0_act<tile_int3x8, int3_sums<tile_int3x8>, true>},
        {gemv_int2ax8_q8_1__ref, gemv_q8_1_act<tile_int2ax8, int2_sums<tile_int2ax8>>},
        {gemv_int3ax8_q8_1__ref, gemv_q8_1_act<tile_int3ax8, int3_sums<tile_int3ax8>>},
        {gemv_int8ax8_q8_1__ref, gemv_q8_1_act<tile_q8_1x8, int8a_sums, true>},
        {gemv_tq2_0x8_q8_k__ref, gemv_tq2_0},
        {gemv_fp8_e4m3x8_f32__ref, gemv_fp8<true, tile_q8_0x8>},
        {gemv_fp8_e5m2x8_f32__ref, gemv_fp8<false, tile_q8_0x8>},
        {gemv_fp8_e4m3_ptx8_f32__ref, gemv_fp8<true, tile_q8_0x8f>},
        {gemv_fp8_e5m2_ptx8_f32__ref, gemv_fp8<false, tile_q8_0x8f>},
        {gemv_f16x8_f32__ref, gemv_half<true>},
        {gemv_bf16x8_f32__ref, gemv_half<false>},
    };
    return find_kernel(table, ref);
}

#if !LOWBIT_SIMD128_DOTPROD_COPY  // the packers hold no integer dot products: one build serves both
gemm_pack_fn gemm_pack_kernel_simd128(gemm_pack_fn ref) {
    static const kernel_entry<gemm_pack_fn> table[] = {
        {gemm_pack_fp8_e4m3__ref, pack_fp8<true, false>},
        {gemm_pack_fp8_e5m2__ref, pack_fp8<false, false>},
        {gemm_pack_fp8_e4m3_pt__ref, pack_fp8<true, true>},
        {gemm_pack_fp8_e5m2_pt__ref, pack_fp8<false, true>},
    };
    return find_kernel(table, ref);
}
#endif

repack_unpack_fn unpack_kernel_simd128(repack_unpack_fn ref) {
    static const kernel_entry<repack_unpack_fn> table[] = {
        {repack_unpack_q4_0__ref, unpack_q4_0},
        {repack_unpack_fp8_e4m3__ref, unpack_fp8<true, tile_q8_0x8>},
        {repack_unpack_fp8_e5m2__ref, unpack_fp8<false, tile_q8_0x8>},
        {repack_unpack_fp8_e4m3_pt__ref, unpack_fp8<true, tile_q8_0x8f>},
        {repack_unpack_fp8_e5m2_pt__ref, unpack_fp8<false, tile_q8_0x8f>},
    };
    return find_kernel(table, ref);
}

#if LOWBIT_SIMD128_DOTPROD_COPY
}  // namespace dot
#endif
}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
