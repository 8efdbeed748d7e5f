// AVX2 GEMV over 8-row tiles and tile -> prompt-GEMM unpacking (layouts and math in kernels/repack.hpp).
//
// One tile block at a time, the 8 rows in the 8 int32 / float lanes:
//   Q4_0 / Q4_K: a 32-byte load holds 4 columns x 8 rows twice over (low and high nibbles); each half,
//     masked to codes 0..15, meets the 4 activation bytes of its columns broadcast to all lanes in
//     _mm256_maddubs_epi16 (unsigned x signed). The int16 pair sums of one 32-column (sub-)block, 8
//     of them, are added in int16 (each lane covers 16 columns: |.| <= 16 x 15 x 127 = 30480, no
//     overflow) and widened once by _mm256_madd_epi16 (with ones, or with the Q4_K sub-block scales
//     as int16 pairs). Q4_0's -8 enters as -8 x (activation sum), a per-row constant from repack_act_sides;
//     Q4_K's mins as madd of the (min, min) pairs with the activation's (bs, bs) pairs.
//   Q8_0: signed x signed through vpsignb (dot_i8_i8), widened per 4-column group.
//   Q5_K: codes 0..31 (lo: one AND; hi: 3 bits of the same byte + 2 of the shared byte), int16 sums of
//     4 groups (|.| <= 8 x 31 x 128 = 31744) widened by madd with the scale pairs; mins as Q4_K.
//   Q6_K: codes 0..63 (three of four code vectors: one AND), int16 sums of 2 groups (<= 32256) widened
//     by madd with (sc, sc) pairs; the -32 as madd of (sc[2p], sc[2p+1]) with Q8_K's bsums pairs, x 32.
// Float: the products and order of kernels/dot_ref.cpp, each product kept apart from the following
// add or subtract (no FMA contraction), so every lane equals the per-row __ref dot product bit for bit.
// Integer sums are pinned to registers after each group (avx2::pin), so that GCC does not reassociate
// an unrolled chain of additions into a tree kept in stack slots (docs/performance.md, "Prompt path").
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/avx2_math.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_f32.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/repack.hpp"
#include "kernels/simd_tile_common.hpp"

namespace lowbit::kernels {
using namespace avx2;  // shared AVX2 helpers (kernels/avx2_math.hpp)
using simd::bcast4;
using simd::store_rows;
namespace {

// Keeps the compiler from fusing this product into a following add (the __ref build has no FMA).
inline __m256 opaque(__m256 v) {
    __asm__("" : "+x"(v));
    return v;
}

inline __m256 load_fp16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// A tile's 8 row scales: fp16 (most tiles) or f32 (tile_q4_0x8f).
inline __m256 load_scales(const uint16_t* p) { return load_fp16x8(p); }
inline __m256 load_scales(const float* p) { return _mm256_loadu_ps(p); }


// Software prefetch of the tile bytes k_prefetch_bytes ahead of the block being read (a thread's tiles
// are contiguous, so this runs on into its next tile; past the end it is harmless, prefetches never
// fault). On the 2-core AMD EPYC VM the hardware prefetcher alone left the 32768 x 4096 GEMV 15-60%
// slower (alternating runs, 768 / 1536 / 3072 bytes ahead all within the noise of each other).
constexpr long k_prefetch_bytes = 1536;
template <size_t N>
inline void prefetch_ahead(const void* block) {
    const char* p = static_cast<const char*>(block) + k_prefetch_bytes;
    for (size_t o = 0; o < N; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
}

inline void store32(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

// Q6_K codes (0..63) of columns 128h + 32g + 4c + i, g = 0..3, from the 3 bytes q[h][0..2][c] (layout in
// kernels/repack.hpp): u0..u2 = low 6 bits, u3 = the 3 top bit pairs.
template <int G>
inline __m256i q6_k_code(const tile_q6_kx8& x, int h, int c) {
    if constexpr (G < 3) {
        return _mm256_and_si256(load32(x.q[h][G][c]), _mm256_set1_epi8(0x3F));
    } else {
        const __m256i b0 = _mm256_and_si256(_mm256_srli_epi16(load32(x.q[h][0][c]), 6), _mm256_set1_epi8(0x03));
        const __m256i b1 = _mm256_and_si256(_mm256_srli_epi16(load32(x.q[h][1][c]), 4), _mm256_set1_epi8(0x0C));
        const __m256i b2 = _mm256_and_si256(_mm256_srli_epi16(load32(x.q[h][2][c]), 2), _mm256_set1_epi8(0x30));
        return _mm256_or_si256(_mm256_or_si256(b0, b1), b2);
    }
}

// Q5_K codes (0..31) of columns 64J + 4c + i (lo) and 64J + 32 + 4c + i (hi) (layout in kernels/repack.hpp).
template <int J>
inline void q5_k_codes(const tile_q5_kx8& x, int c, __m256i& lo, __m256i& hi) {
    const __m256i w = load32(x.qs[J][c]), e = load32(x.qh[c]);
    // bits 2J, 2J + 1 of e -> bits 3, 4 (16-bit shifts: the bits crossing bytes are masked off)
    const __m256i e34 = J == 0 ? _mm256_slli_epi16(e, 3) : J == 1 ? _mm256_slli_epi16(e, 1)
                      : J == 2 ? _mm256_srli_epi16(e, 1) : _mm256_srli_epi16(e, 3);
    lo = _mm256_and_si256(w, _mm256_set1_epi8(0x1F));
    hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w, 5), _mm256_set1_epi8(0x07)),
                         _mm256_and_si256(e34, _mm256_set1_epi8(0x18)));
}

// int16 pairs (a, b) per int32 lane -> (a, a) / (b, b).
inline __m256i pair_lo(__m256i v) {
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5,
                                                   4, 5, 8, 9, 8, 9, 12, 13, 12, 13));
}
inline __m256i pair_hi(__m256i v) {
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15, 2, 3, 2, 3,
                                                   6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15));
}

// Q5_0 codes (0..31) of columns 4C + i (lo) and 16 + 4C + i (hi) of every tile row: the nibbles of
// qs[C] with bits 2C and 2C + 1 of qh moved to bit 4 (16-bit shifts by at most 4 left / 3 right: a bit
// crossing into the next byte lands below bit 4 or above it, and the 0x10 mask drops it).
template <int C, class Tile>
inline void q5_0_codes(const Tile& x, __m256i h, __m256i& lo, __m256i& hi) {
    const __m256i w = load32(x.qs[C]), m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    const __m256i hl = C == 0 ? _mm256_slli_epi16(h, 4) : C == 1 ? _mm256_slli_epi16(h, 2)
                     : C == 2 ? h : _mm256_srli_epi16(h, 2);
    const __m256i hh = C == 0 ? _mm256_slli_epi16(h, 3) : C == 1 ? _mm256_slli_epi16(h, 1)
                     : C == 2 ? _mm256_srli_epi16(h, 1) : _mm256_srli_epi16(h, 3);
    lo = _mm256_or_si256(_mm256_and_si256(w, m4), _mm256_and_si256(hl, b4));
    hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w, 4), m4), _mm256_and_si256(hh, b4));
}

template <int C, class Tile>
inline __m256i q5_0_pair_sums(const Tile& x, __m256i h, const int8_t* qa) {
    __m256i lo, hi;
    q5_0_codes<C>(x, h, lo, hi);
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(qa + 4 * C)), _mm256_maddubs_epi16(hi, bcast4(qa + 16 + 4 * C)));
}

// sum_j q[j] a[j] of one tile block, 8 int32 lanes (one per row), for the Q8_0 / Q8_1-activation tiles:
//   Q4_0 / Q4_1 nibbles: 8 maddubs summed in int16 (|.| <= 16 x 15 x 127 = 30480), widened once;
//   Q5_0 / Q5_1 codes 0..31: pair sums reach 2 x 31 x 127 = 7874, so column groups 0-1 and 2-3 are
//     summed in separate int16 accumulators (<= 31496 each) and widened separately;
//   IQ4_NL codebook values (signed): Q8_0's signed dot per 4-column group (pair sums up to
//     2 x 127 x 127, widened at once).
template <class Tile>
inline __m256i nibble_sums(const Tile& x, const int8_t* qa) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i s16 = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
        const __m256i w = load32(x.qs[c]);
        const __m256i lo = _mm256_and_si256(w, m4), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), m4);
        s16 = _mm256_add_epi16(s16, _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(qa + 4 * c)),
                                                     _mm256_maddubs_epi16(hi, bcast4(qa + 16 + 4 * c))));
        pin(s16);
    }
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
}

// int2 / ternary codes 0..3: 8 maddubs (2 loads x 4 shifts) summed in int16 (<= 8 x 2 x 3 x 127 = 6096).
// Tile: tile_int2x8 or tile_int2ax8 (the same qs).
template <class Tile>
inline __m256i int2_sums(const Tile& x, const int8_t* qa) {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i s16 = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
        const __m256i w = load32(x.qs[h]);
        for (int k = 0; k < 4; ++k)
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 2 * k), m3),
                                                             bcast4(qa + 16 * h + 4 * k)));
    }
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
}

template <class Tile>
inline __m256i q5_sums(const Tile& x, const int8_t* qa) {
    const __m256i h = load32(x.qh), ones = _mm256_set1_epi16(1);
    const __m256i s01 = _mm256_add_epi16(q5_0_pair_sums<0>(x, h, qa), q5_0_pair_sums<1>(x, h, qa));
    const __m256i s23 = _mm256_add_epi16(q5_0_pair_sums<2>(x, h, qa), q5_0_pair_sums<3>(x, h, qa));
    return _mm256_add_epi32(_mm256_madd_epi16(s01, ones), _mm256_madd_epi16(s23, ones));
}

// The 16 IQ4_NL codebook values in both 128-bit lanes (pshufb table).
// A 16-entry int8 codebook (IQ4_NL's, NF4's) in both 128-bit lanes (pshufb table).
template <const int8_t* Lut>
inline __m256i lut16() {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(Lut)));
}

// sum_j Lut[code_j] a_j over one 32-column group in tile_q4_0x8's qs layout, 8 int32 lanes (rows).
template <const int8_t* Lut>
inline __m256i table4_group_sums(const uint8_t (*qs)[8][4], const int8_t* qa) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), lut = lut16<Lut>();
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
        const __m256i w = load32(qs[c]);
        const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(w, m4));
        const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(w, 4), m4));
        s0 = _mm256_add_epi32(s0, dot_i8_i8(lo, bcast4(qa + 4 * c)));
        s1 = _mm256_add_epi32(s1, dot_i8_i8(hi, bcast4(qa + 16 + 4 * c)));
    }
    return _mm256_add_epi32(s0, s1);
}

template <const int8_t* Lut, class Tile = tile_q4_0x8>
inline __m256i table4_sums(const Tile& x, const int8_t* qa) {
    return table4_group_sums<Lut>(x.qs, qa);
}

// The tile GEMVs are written as one block step, step(x, b, acc) -> acc plus tile block b of the tile
// at x; tiles_gemv runs it over N tiles in lockstep (N = 2: gemv_tile2_fn), each tile with its own
// accumulator, so every tile's float sums are those of N = 1. gemv1 / gemv2 give the two signatures
// for a step made by Make(a, side). The result is multiplied by 2^PostLog2.
template <int N, class Tile, int PostLog2, class Step>
inline void tiles_gemv(int64_t nb, const void* const (&tiles)[N], float* const (&y)[N],
                       const int (&n_rows)[N], Step step) {
    const Tile* x[N];
    __m256 acc[N];
    for (int s = 0; s < N; ++s) {
        x[s] = static_cast<const Tile*>(tiles[s]);
        acc[s] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b)
        for (int s = 0; s < N; ++s) acc[s] = step(x[s], b, acc[s]);
    for (int s = 0; s < N; ++s) {
        if constexpr (PostLog2 != 0) acc[s] = _mm256_mul_ps(acc[s], _mm256_set1_ps(pow2f(PostLog2)));
        store_rows(y[s], acc[s], n_rows[s]);
    }
}
template <class Tile, auto Make, int PostLog2 = 0>
void gemv1(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {
    tiles_gemv<1, Tile, PostLog2>(nb, {tiles}, {y}, {n_rows}, Make(a, side));
}
template <class Tile, auto Make, int PostLog2 = 0>
void gemv2(int64_t nb, const void* tiles_a, const void* tiles_b, const void* a, const int32_t* side,
           float* y_a, float* y_b, int rows_a, int rows_b) {
    tiles_gemv<2, Tile, PostLog2>(nb, {tiles_a, tiles_b}, {y_a, y_b}, {rows_a, rows_b}, Make(a, side));
}
// Defines the exported GEMV `name` (gemv_tile_fn) and its two-tile twin name##_x2 (gemv_tile2_fn) from one
// block step (the template arguments of gemv1 / gemv2: Tile, Make[, PostLog2]).
#define LOWBIT_TILE_GEMV(name, ...)                                                                                  \
    void name(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {             \
        gemv1<__VA_ARGS__>(nb, tiles, a, side, y, n_rows);                                                           \
    }                                                                                                                \
    void name##_x2(int64_t nb, const void* ta, const void* tb, const void* a, const int32_t* side, float* ya,        \
                   float* yb, int ra, int rb) {                                                                      \
        gemv2<__VA_ARGS__>(nb, ta, tb, a, side, ya, yb, ra, rb);                                                     \
    }

// Q8_0 activations: acc += float(sums + side[b]) * (d_w[r] * d_a); the side value is Q4_0's / Q5_0's
// -8 / -16 x (activation sum), none for IQ4_NL / NF4. Div > 1 (NF4): d_w / Div, as (d_w * (1 / Div)) * d_a.
template <class Tile, __m256i (*Sums)(const Tile&, const int8_t*), bool Side, int Div = 1>
inline auto q8_0_act_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_0*>(a);
    return [=](const Tile* x, int64_t b, __m256 acc) {  // side only where Side
        prefetch_ahead<sizeof(Tile)>(x + b);
        __m256i sumi = Sums(x[b], q[b].qs);
        if constexpr (Side) sumi = _mm256_add_epi32(sumi, _mm256_set1_epi32(side[b]));
        __m256 dw = load_scales(x[b].d);
        if constexpr (Div != 1) dw = _mm256_mul_ps(dw, _mm256_set1_ps(1.0f / Div));
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(q[b].d)));
        return _mm256_add_ps(acc, opaque(_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), d)));
    };
}

// Q8_1 activations (Q4_1, Q5_1): acc += float(sums) * (d_w[r] * d_a) + m_w[r] * s_a.
// Side (the 8-bit asymmetric tiles): sums + side[b], 128 x the activation sum.
template <class Tile, __m256i (*Sums)(const Tile&, const int8_t*), bool Side = false>
inline auto q8_1_act_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_1*>(a);
    return [=](const Tile* x, int64_t b, __m256 acc) {  // side only where Side
        prefetch_ahead<sizeof(Tile)>(x + b);
        __m256i sumi = Sums(x[b], q[b].qs);
        if constexpr (Side) sumi = _mm256_add_epi32(sumi, _mm256_set1_epi32(side[b]));
        const __m256 d = _mm256_mul_ps(load_fp16x8(x[b].d), _mm256_set1_ps(_cvtsh_ss(q[b].d)));
        const __m256 prod = opaque(_mm256_mul_ps(_mm256_cvtepi32_ps(sumi), d));
        const __m256 mins = opaque(_mm256_mul_ps(load_fp16x8(x[b].m), _mm256_set1_ps(_cvtsh_ss(q[b].s))));
        return _mm256_add_ps(acc, opaque(_mm256_add_ps(prod, mins)));
    };
}

}  // namespace

LOWBIT_TILE_GEMV(gemv_q4_0x8_q8_0__avx2, tile_q4_0x8, q8_0_act_step<tile_q4_0x8, nibble_sums<tile_q4_0x8>, true>)

// Bit k of each byte of v moved to bit 2 (masked by m4 = 4 in every byte): one 16-bit shift, which for
// k <= 7 never carries a bit across the byte boundary into bit 2.
inline __m256i high_bit_at_2(__m256i v, int k, __m256i m4) {
    return _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(v, k - 2) : _mm256_slli_epi16(v, 2 - k), m4);
}

// Q2_K / Q3_K tiles (layouts in repack.hpp). Per pair p = 4h + g of 16-column sub-blocks, the 8 rows'
// scale bytes of sub-blocks 2p, 2p + 1 widen to int16 pairs (Q2_K: raw bytes, scale = low nibble, min =
// high nibble; Q3_K: signed scales). The scales are duplicated into both halves of each row's dword by
// pshufb for the madd of the int16 maddubs sums; Q2_K's mins, and Q3_K's scales for its -4 offset, are
// madd'ed with Q8_K's bsums pair (read in place). Codes: a shift and mask of a 32-byte load, Q3_K's high
// bit ORed in as bit 2. Epilogue in dot_q2_k / dot_q3_k_q8_k__ref's float order, products kept from FMA
// contraction.
template <bool Q3, class Tile>
inline auto k23_step(const void* a, const int32_t* /*side*/) {
    const auto* q = static_cast<const block_q8_k*>(a);
    return [q](const Tile* x, int64_t b, __m256 acc) {
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4), m15 = _mm256_set1_epi16(15);
    const __m256i dup_lo = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0, 1, 4, 5, 4, 5, 8,
                                            9, 8, 9, 12, 13, 12, 13);
    const __m256i dup_hi = _mm256_setr_epi8(2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15, 2, 3, 2, 3, 6, 7, 6,
                                            7, 10, 11, 10, 11, 14, 15, 14, 15);
        prefetch_ahead<sizeof(Tile)>(x + b);
        const int8_t* qa = q[b].qs;
        __m256i sumi = _mm256_setzero_si256(), side = _mm256_setzero_si256();  // side: Q2_K mins / Q3_K offset
        // Unrolled, so that the shift counts 2g and 4h + g are immediates.
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
            for (int g = 0; g < 4; ++g) {
                const int p = 4 * h + g;
                const __m128i raw8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].sc[p]));
                const __m256i raw = Q3 ? _mm256_cvtepi8_epi16(raw8) : _mm256_cvtepu8_epi16(raw8);
                int32_t bs;
                std::memcpy(&bs, q[b].bsums + 2 * p, 4);
                side = _mm256_add_epi32(side, _mm256_madd_epi16(Q3 ? raw : _mm256_srli_epi16(raw, 4), _mm256_set1_epi32(bs)));
                const __m256i scl = Q3 ? raw : _mm256_and_si256(raw, m15);
                __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
                for (int c = 0; c < 4; ++c) {
                    __m256i u0 = _mm256_and_si256(_mm256_srli_epi16(load32(x[b].qs[h][c]), 2 * g), m3);
                    __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(load32(x[b].qs[h][c + 4]), 2 * g), m3);
                    if constexpr (Q3) {
                        u0 = _mm256_or_si256(u0, high_bit_at_2(load32(x[b].hm[c]), 4 * h + g, m4));
                        u1 = _mm256_or_si256(u1, high_bit_at_2(load32(x[b].hm[c + 4]), 4 * h + g, m4));
                    }
                    s0 =
                        _mm256_add_epi16(_mm256_maddubs_epi16(u0, bcast4(qa + 128 * h + 32 * g + 4 * c)), s0);
                    s1 = _mm256_add_epi16(
                        _mm256_maddubs_epi16(u1, bcast4(qa + 128 * h + 32 * g + 16 + 4 * c)), s1);
                    pin(s0);
                    pin(s1);
                }
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(s0, _mm256_shuffle_epi8(scl, dup_lo)),
                                                               _mm256_madd_epi16(s1, _mm256_shuffle_epi8(scl, dup_hi))));
                pin(sumi);
                pin(side);
            }
        const __m256 da = _mm256_set1_ps(q[b].d);
        if constexpr (Q3) {
            sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(side, 2));
            const __m256 dd = opaque(_mm256_mul_ps(da, load_fp16x8(x[b].d)));
            acc = _mm256_add_ps(acc, opaque(_mm256_mul_ps(dd, _mm256_cvtepi32_ps(sumi))));
        } else {
            const __m256 t1 = opaque(_mm256_mul_ps(opaque(_mm256_mul_ps(da, load_fp16x8(x[b].d))), _mm256_cvtepi32_ps(sumi)));
            const __m256 t2 = opaque(_mm256_mul_ps(opaque(_mm256_mul_ps(da, load_fp16x8(x[b].dmin))), _mm256_cvtepi32_ps(side)));
            acc = _mm256_add_ps(acc, _mm256_sub_ps(t1, t2));
        }
        return acc;
    };
}

LOWBIT_TILE_GEMV(gemv_q2_kx8_q8_k__avx2, tile_q2_kx8, k23_step<false, tile_q2_kx8>)
LOWBIT_TILE_GEMV(gemv_q3_kx8_q8_k__avx2, tile_q3_kx8, k23_step<true, tile_q3_kx8>)

// int3 codes 0..7: int2's low bits ORed with bit 2 from hb; int16 sums <= 8 x 2 x 7 x 127 = 14224.
// Tile: tile_int3x8 or tile_int3ax8.
template <class Tile>
inline __m256i int3_sums(const Tile& x, const int8_t* qa) {
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4), hb = load32(x.hb);
    __m256i s16 = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
        const __m256i w = load32(x.qs[h]);
        for (int k = 0; k < 4; ++k) {
            const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w, 2 * k), m3), high_bit_at_2(hb, 4 * h + k, m4));
            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(u, bcast4(qa + 16 * h + 4 * k)));
        }
    }
    return _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
}

LOWBIT_TILE_GEMV(gemv_int3x8_q8_0__avx2, tile_int3x8, q8_0_act_step<tile_int3x8, int3_sums<tile_int3x8>, true>)  // -4 via side

LOWBIT_TILE_GEMV(gemv_int2x8_q8_0__avx2, tile_int2x8, q8_0_act_step<tile_int2x8, int2_sums<tile_int2x8>, true>)  // -Off via side

// TQ2_0 tiles (layout in repack.hpp): per 256-block the 8 rows' code sums against Q8_K in two int16
// halves, widened, minus the activation sum; the float step as dot_tq2_0_q8_k__ref.
inline auto tq2_0_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_k*>(a);
    (void)side;
    return [q](const tile_tq2_0x8* x, int64_t b, __m256 acc) {
        const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
        prefetch_ahead<sizeof(tile_tq2_0x8)>(x + b);
        const int8_t* qa = q[b].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; ++half) {
            __m256i s16 = _mm256_setzero_si256();
            for (int g = 8 * half; g < 8 * half + 8; ++g) {
                const __m256i w = load32(x[b].qs[g]);
                for (int k = 0; k < 4; ++k)
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 2 * k), m3),
                                                                     bcast4(qa + 16 * g + 4 * k)));
            }
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(s16, ones));
        }
        const __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[b].bsums)), ones);
        const __m256i off = _mm256_set1_epi32(hsum_i32(bs));
        const __m256 d = opaque(_mm256_mul_ps(_mm256_set1_ps(q[b].d), load_fp16x8(x[b].d)));
        return _mm256_add_ps(acc, opaque(_mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, off)))));
    };
}
LOWBIT_TILE_GEMV(gemv_tq2_0x8_q8_k__avx2, tile_tq2_0x8, tq2_0_step)

void repack_unpack_tq2_0__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_tq2_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    const __m256i m3 = _mm256_set1_epi8(3), seven = _mm256_set1_epi8(7);
    for (int64_t b = 0; b < nb; ++b) {
        const __m256 d = load_fp16x8(x[b].d);
        for (int j = 0; j < 8; ++j) {
            gemm_block_q8x8& o = out[8 * b + j];
            _mm256_storeu_ps(o.d, d);
            for (int h = 0; h < 2; ++h) {  // groups 2j, 2j + 1: columns 16h + 4k .. of the 32-block
                const __m256i w = load32(x[b].qs[2 * j + h]);
                for (int k = 0; k < 4; ++k)
                    store32(o.q[4 * h + k], _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(w, 2 * k), m3), seven));
            }
        }
    }
}

// Codes u + 8 - Off (Q4_0's kernel's unsigned codes) into gemm_block_q8x8: group g = 4h + k is qs[h]
// shifted right by 2k.
namespace {
// The 2- and 3-bit tiles (symmetric, or asymmetric with the minimums) -> Q4_0's gemm_block_q8x8 with
// codes u + 8 - Off, or the asymmetric gemm_block_q8x8m with codes u.
template <int Bits, bool Asym, int Off>
void unpack_int_tiles(int64_t nb, const void* tiles, void* dst) {
    using tile = std::conditional_t<Bits == 3, std::conditional_t<Asym, tile_int3ax8, tile_int3x8>,
                                    std::conditional_t<Asym, tile_int2ax8, tile_int2x8>>;
    using out_block = std::conditional_t<Asym, gemm_block_q8x8m, gemm_block_q8x8>;
    const auto* x = static_cast<const tile*>(tiles);
    auto* out = static_cast<out_block*>(dst);
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4), off = _mm256_set1_epi8(Asym ? 0 : 8 - Off);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        if constexpr (Asym) _mm256_storeu_ps(out[b].m, load_fp16x8(x[b].m));
        __m256i hb = _mm256_setzero_si256();
        if constexpr (Bits == 3) hb = load32(x[b].hb);
        for (int h = 0; h < 2; ++h) {
            const __m256i w = load32(x[b].qs[h]);
            for (int k = 0; k < 4; ++k) {
                __m256i u = _mm256_and_si256(_mm256_srli_epi16(w, 2 * k), m3);
                if constexpr (Bits == 3) u = _mm256_or_si256(u, high_bit_at_2(hb, 4 * h + k, m4));
                store32(out[b].q[4 * h + k], _mm256_add_epi8(u, off));
            }
        }
    }
}
}  // namespace

template <int Off>
void repack_unpack_int2__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_int_tiles<2, false, Off>(nb, tiles, dst);
}
template void repack_unpack_int2__avx2<1>(int64_t, const void*, void*);
template void repack_unpack_int2__avx2<2>(int64_t, const void*, void*);
void repack_unpack_int2a__avx2(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles<2, true, 0>(nb, tiles, dst); }
void repack_unpack_int3__avx2(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles<3, false, 4>(nb, tiles, dst); }
void repack_unpack_int3a__avx2(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles<3, true, 0>(nb, tiles, dst); }


LOWBIT_TILE_GEMV(gemv_q5_0x8_q8_0__avx2, tile_q5_0x8, q8_0_act_step<tile_q5_0x8, q5_sums<tile_q5_0x8>, true>)

LOWBIT_TILE_GEMV(gemv_iq4_nlx8_q8_0__avx2, tile_q4_0x8, q8_0_act_step<tile_q4_0x8, table4_sums<k_iq4nl_values>, false>)

LOWBIT_TILE_GEMV(gemv_mxfp4x8_q8_0__avx2, tile_q4_0x8, q8_0_act_step<tile_q4_0x8, table4_sums<k_mxfp4_kvalues>, false>)

LOWBIT_TILE_GEMV(gemv_nf4x8_q8_0__avx2, tile_q4_0x8, q8_0_act_step<tile_q4_0x8, table4_sums<k_nf4_i8>, false, 127>)
LOWBIT_TILE_GEMV(gemv_nf4_dqx8_q8_0__avx2, tile_q4_0x8f, q8_0_act_step<tile_q4_0x8f, table4_sums<k_nf4_i8, tile_q4_0x8f>, false, 127>)
LOWBIT_TILE_GEMV(gemv_fp4_e2m1x8_q8_0__avx2, tile_q4_0x8, q8_0_act_step<tile_q4_0x8, table4_sums<k_fp4_e2m1_x2>, false, 2>)

LOWBIT_TILE_GEMV(gemv_q4_1x8_q8_1__avx2, tile_q4_1x8, q8_1_act_step<tile_q4_1x8, nibble_sums<tile_q4_1x8>>)
LOWBIT_TILE_GEMV(gemv_int2ax8_q8_1__avx2, tile_int2ax8, q8_1_act_step<tile_int2ax8, int2_sums<tile_int2ax8>>)
LOWBIT_TILE_GEMV(gemv_int3ax8_q8_1__avx2, tile_int3ax8, q8_1_act_step<tile_int3ax8, int3_sums<tile_int3ax8>>)

LOWBIT_TILE_GEMV(gemv_q5_1x8_q8_1__avx2, tile_q5_1x8, q8_1_act_step<tile_q5_1x8, q5_sums<tile_q5_1x8>>)

// IQ4_NL tile -> the integer GEMM's packed block of codebook values.
namespace {

// Codebook values of the Q4_0-shaped tiles of IQ4_NL / NF4 into Q8_0's packed blocks; scale d / Div.
template <const int8_t* Lut, int Div, class Tile = tile_q4_0x8>
void unpack_table4(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const Tile*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F), lut = lut16<Lut>();
    for (int64_t b = 0; b < nb; ++b) {
        __m256 d = load_scales(x[b].d);
        if constexpr (Div != 1) d = _mm256_mul_ps(d, _mm256_set1_ps(1.0f / Div));
        _mm256_storeu_ps(out[b].d, d);
        for (int c = 0; c < 4; ++c) {
            const __m256i w = load32(x[b].qs[c]);
            store32(out[b].q[c], _mm256_shuffle_epi8(lut, _mm256_and_si256(w, m4)));
            store32(out[b].q[c + 4], _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(w, 4), m4)));
        }
    }
}

}  // namespace

void repack_unpack_iq4_nl__avx2(int64_t nb, const void* tiles, void* dst) { unpack_table4<k_iq4nl_values, 1>(nb, tiles, dst); }
void repack_unpack_nf4__avx2(int64_t nb, const void* tiles, void* dst) { unpack_table4<k_nf4_i8, 127>(nb, tiles, dst); }
void repack_unpack_nf4_dq__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_table4<k_nf4_i8, 127, tile_q4_0x8f>(nb, tiles, dst);
}
void repack_unpack_fp4_e2m1__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_table4<k_fp4_e2m1_x2, 2>(nb, tiles, dst);
}
void repack_unpack_mxfp4__avx2(int64_t nb, const void* tiles, void* dst) { unpack_table4<k_mxfp4_kvalues, 1>(nb, tiles, dst); }

// tile_iq4_xsx8 (IQ4_XS, IQ3_XXS, IQ3_S): per sub-block the table sums times the rows' scales (int32),
// then per 256-block the float step: IQ4_XS (Fma) acc = fma(d_a * d_w, float(sum), acc), as
// gemv_iq4_xsx8_q8_k__ref; IQ3 acc += (d_a * d_w) * float(sum) and times 2^PostLog2 at the end, as
// gemv_iq3x8_ref (the per-row dots' order).
template <const int8_t* Lut, bool Fma>
inline auto sub8_table4_step(const void* a, const int32_t* /*side*/) {
    const auto* q = static_cast<const block_q8_k*>(a);
    return [q](const tile_iq4_xsx8* x, int64_t b, __m256 acc) {
        prefetch_ahead<sizeof(tile_iq4_xsx8)>(x + b);
        __m256i sumi = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].sc[s])));
            sumi = _mm256_add_epi32(sumi, _mm256_mullo_epi32(table4_group_sums<Lut>(x[b].qs[s], q[b].qs + 32 * s), sc));
        }
        const __m256 d = _mm256_mul_ps(_mm256_set1_ps(q[b].d), load_fp16x8(x[b].d));
        if constexpr (Fma) return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
        else return _mm256_add_ps(acc, opaque(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi))));
    };
}

LOWBIT_TILE_GEMV(gemv_iq4_xsx8_q8_k__avx2, tile_iq4_xsx8, sub8_table4_step<k_iq4nl_values, true>)
LOWBIT_TILE_GEMV(gemv_iq3_xxsx8_q8_k__avx2, tile_iq4_xsx8, sub8_table4_step<k_iq3xxs_lut16, false>, -2)
LOWBIT_TILE_GEMV(gemv_iq3_sx8_q8_k__avx2, tile_iq4_xsx8, sub8_table4_step<k_iq3s_lut16, false>)

// IQ3 tiles -> Q8_0's packed blocks, one per 32-column sub-block (as unpack_iq3_ref).
namespace {
template <const int8_t* Lut, int PostLog2>
void unpack_iq3(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_iq4_xsx8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F), lut = lut16<Lut>();
    for (int64_t b = 0; b < nb; ++b) {
        const __m256 d = load_fp16x8(x[b].d);
        for (int s = 0; s < 8; ++s) {
            gemm_block_q8x8& o = out[8 * b + s];
            const __m256 sc = _mm256_cvtepi32_ps(
                _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].sc[s]))));
            _mm256_storeu_ps(o.d, _mm256_mul_ps(_mm256_mul_ps(d, sc), _mm256_set1_ps(pow2f(PostLog2))));
            for (int c = 0; c < 4; ++c) {
                const __m256i w = load32(x[b].qs[s][c]);
                store32(o.q[c], _mm256_shuffle_epi8(lut, _mm256_and_si256(w, m4)));
                store32(o.q[c + 4], _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(w, 4), m4)));
            }
        }
    }
}
}  // namespace
void repack_unpack_iq3_xxs__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_iq3<k_iq3xxs_lut16, -2>(nb, tiles, dst);
}
void repack_unpack_iq3_s__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_iq3<k_iq3s_lut16, 0>(nb, tiles, dst);
}

namespace {
// Signed int8 codes in Q8_0's tile layout (tile_q8_0x8, tile_q8_1x8) times the activations: int32 lanes.
template <class Tile>
inline __m256i q8_signed_sums(const Tile& x, const int8_t* qa) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int g = 0; g < 8; g += 2) {
        s0 = _mm256_add_epi32(s0, dot_i8_i8(load32(x.qs[g]), bcast4(qa + 4 * g)));
        s1 = _mm256_add_epi32(s1, dot_i8_i8(load32(x.qs[g + 1]), bcast4(qa + 4 * g + 4)));
    }
    return _mm256_add_epi32(s0, s1);
}
}  // namespace

inline auto q8_0_step(const void* a, const int32_t* /*side*/) {
    const auto* q = static_cast<const block_q8_0*>(a);
    return [q](const tile_q8_0x8* x, int64_t b, __m256 acc) {
        prefetch_ahead<sizeof(tile_q8_0x8)>(x + b);
        const __m256 d = _mm256_mul_ps(load_fp16x8(x[b].d), _mm256_set1_ps(_cvtsh_ss(q[b].d)));
        return _mm256_add_ps(acc, opaque(_mm256_mul_ps(_mm256_cvtepi32_ps(q8_signed_sums(x[b], q[b].qs)), d)));
    };
}
LOWBIT_TILE_GEMV(gemv_q8_0x8_q8_0__avx2, tile_q8_0x8, q8_0_step)

LOWBIT_TILE_GEMV(gemv_int8ax8_q8_1__avx2, tile_q8_1x8, q8_1_act_step<tile_q8_1x8, q8_signed_sums<tile_q8_1x8>, true>)  // + 128 sum a
void repack_unpack_int8a__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q8_1x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8m*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        _mm256_storeu_ps(out[b].m, load_fp16x8(x[b].m));
        for (int g = 0; g < 8; ++g) store32(out[b].q[g], load32(x[b].qs[g]));
    }
}

// Q4_K / Q5_K tile scales and mins of 8 rows (k_scales_x8, layout in repack.hpp) decoded by shifts and
// masks: byte 16h + 4j + i of sc_e / sc_o = 6-bit scale of sub-block 2j / 2j + 1 of row 4h + i; mn_e /
// mn_o the mins. (A 16-bit shift carries bits across the byte boundary only into bits the 0x30 mask drops.)
struct k_scales_v {
    __m256i sc_e, sc_o, mn_e, mn_o;
};
inline k_scales_v decode_k_scales(const k_scales_x8& k) {
    const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(0x30);
    const __m256i l = load32(k.sl), m = load32(k.ml), h = load32(k.hb);
    return {_mm256_or_si256(_mm256_and_si256(l, m15), _mm256_and_si256(_mm256_slli_epi16(h, 4), m48)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), m15), _mm256_and_si256(_mm256_slli_epi16(h, 2), m48)),
            _mm256_or_si256(_mm256_and_si256(m, m15), _mm256_and_si256(h, m48)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(m, 4), m15), _mm256_and_si256(_mm256_srli_epi16(h, 2), m48))};
}

// (v[j][r], v[j][r]) as an int16 pair in int32 lane r: the 8 rows' scales of one sub-block (sc_e / sc_o,
// pair j) as the madd operand of the int16 code sums.
template <int J>
inline __m256i k_scale_pair(__m256i v) {
    constexpr char a = 4 * J, b = a + 1, c = a + 2, d = a + 3, z = -128;
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(a, z, a, z, b, z, b, z, c, z, c, z, d, z, d, z, a, z, a, z, b, z, b,
                                                   z, c, z, c, z, d, z, d, z));
}

// The 8 rows' mins of sub-blocks 2p and 2p + 1 as int16 pairs (mn[2p], mn[2p + 1]), one row per int32
// lane: the madd operand against Q8_K's bsums pairs.
inline void k_min_pairs(const k_scales_v& k, __m256i (&mp)[4]) {
    const __m256i s0 = _mm256_setr_epi8(0, -128, 1, -128, 2, -128, 3, -128, 4, -128, 5, -128, 6, -128, 7, -128, 0, -128,
                                        1, -128, 2, -128, 3, -128, 4, -128, 5, -128, 6, -128, 7, -128);
    const __m256i s1 = _mm256_add_epi8(s0, _mm256_set1_epi16(8));
    const __m256i lo = _mm256_unpacklo_epi8(k.mn_e, k.mn_o), hi = _mm256_unpackhi_epi8(k.mn_e, k.mn_o);
    mp[0] = _mm256_shuffle_epi8(lo, s0);
    mp[1] = _mm256_shuffle_epi8(lo, s1);
    mp[2] = _mm256_shuffle_epi8(hi, s0);
    mp[3] = _mm256_shuffle_epi8(hi, s1);
}

// Q4_K / Q5_K: acc + d_a d_w sumi - d_a dmin_w sum_p (mins of pair p) . (Q8_K bsums of pair p, side).
template <class Tile>
inline __m256 scale_min_acc(const Tile& x, const k_scales_v& k, const int32_t* side, float d_a, __m256i sumi,
                            __m256 acc) {
    __m256i mp[4];
    k_min_pairs(k, mp);
    __m256i summ = _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) summ = _mm256_add_epi32(summ, _mm256_madd_epi16(mp[p], _mm256_set1_epi32(side[p])));
    const __m256 da = _mm256_set1_ps(d_a);
    const __m256 t1 = opaque(_mm256_mul_ps(_mm256_mul_ps(da, load_fp16x8(x.d)), _mm256_cvtepi32_ps(sumi)));
    const __m256 t2 = opaque(_mm256_mul_ps(_mm256_mul_ps(da, load_fp16x8(x.dmin)), _mm256_cvtepi32_ps(summ)));
    return _mm256_add_ps(acc, _mm256_sub_ps(t1, t2));
}

inline auto q4_k_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_k*>(a);
    return [q, side](const tile_q4_kx8* x, int64_t b, __m256 acc) {
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        const int8_t* qa = q[b].qs;
        __m256i sumi = _mm256_setzero_si256();
        prefetch_ahead<offsetof(tile_q4_kx8, qs)>(x + b);
        const k_scales_v ks = decode_k_scales(x[b].s);
        const __m256i sc_e[4] = {k_scale_pair<0>(ks.sc_e), k_scale_pair<1>(ks.sc_e), k_scale_pair<2>(ks.sc_e),
                                 k_scale_pair<3>(ks.sc_e)};  // sub-blocks 2j
        const __m256i sc_o[4] = {k_scale_pair<0>(ks.sc_o), k_scale_pair<1>(ks.sc_o), k_scale_pair<2>(ks.sc_o),
                                 k_scale_pair<3>(ks.sc_o)};  // sub-blocks 2j + 1
        for (int j = 0; j < 4; ++j) {
            prefetch_ahead<sizeof(x[b].qs[j])>(x[b].qs[j]);
            __m256i slo = _mm256_setzero_si256(), shi = _mm256_setzero_si256();
            for (int c = 0; c < 8; ++c) {
                const __m256i w = load32(x[b].qs[j][c]);
                slo = _mm256_add_epi16(
                    _mm256_maddubs_epi16(_mm256_and_si256(w, m4), bcast4(qa + 64 * j + 4 * c)), slo);
                shi = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), m4),
                                                            bcast4(qa + 64 * j + 32 + 4 * c)),
                                       shi);
                pin(slo);
                pin(shi);
            }
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(slo, sc_e[j]), _mm256_madd_epi16(shi, sc_o[j])));
            pin(sumi);
        }
        return scale_min_acc(x[b], ks, side + 4 * b, q[b].d, sumi, acc);
    };
}
LOWBIT_TILE_GEMV(gemv_q4_kx8_q8_k__avx2, tile_q4_kx8, q4_k_step)

template <int J>
inline __m256i q5_k_part(const tile_q5_kx8& x, const k_scales_v& ks, const int8_t* qa) {
    const __m256i sc_lo = k_scale_pair<J>(ks.sc_e), sc_hi = k_scale_pair<J>(ks.sc_o);
    __m256i sumi = _mm256_setzero_si256();
    // Codes up to 31: 4 groups per int16 sum (|.| <= 8 x 31 x 128 = 31744), then widened.
    for (int c0 = 0; c0 < 8; c0 += 4) {
        __m256i slo = _mm256_setzero_si256(), shi = _mm256_setzero_si256();
        for (int c = c0; c < c0 + 4; ++c) {
            __m256i lo, hi;
            q5_k_codes<J>(x, c, lo, hi);
            slo = _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(qa + 64 * J + 4 * c)), slo);
            shi = _mm256_add_epi16(_mm256_maddubs_epi16(hi, bcast4(qa + 64 * J + 32 + 4 * c)), shi);
            pin(slo);
            pin(shi);
        }
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(slo, sc_lo), _mm256_madd_epi16(shi, sc_hi)));
        pin(sumi);
    }
    return sumi;
}

inline auto q5_k_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_k*>(a);
    return [q, side](const tile_q5_kx8* x, int64_t b, __m256 acc) {
        const int8_t* qa = q[b].qs;
        prefetch_ahead<sizeof(tile_q5_kx8) + 64>(x + b);
        const k_scales_v ks = decode_k_scales(x[b].s);
        const __m256i sumi = _mm256_add_epi32(_mm256_add_epi32(q5_k_part<0>(x[b], ks, qa), q5_k_part<1>(x[b], ks, qa)),
                                              _mm256_add_epi32(q5_k_part<2>(x[b], ks, qa), q5_k_part<3>(x[b], ks, qa)));
        return scale_min_acc(x[b], ks, side + 4 * b, q[b].d, sumi, acc);
    };
}
LOWBIT_TILE_GEMV(gemv_q5_kx8_q8_k__avx2, tile_q5_kx8, q5_k_step)

// sum_s sc[s] (sum_j q a - 32 bs16[s]): one column group g (32 columns, 2 sub-blocks) at a time; the int16 sums of 2 groups (|.| <= 4 x 63 x 128 = 32256) meet
// (sc, sc) pairs in madd; the -32 term is madd of the (sc[2p], sc[2p+1]) pairs with Q8_K's bsums pairs.
template <int G>
inline __m256i q6_k_group(const tile_q6_kx8& x, int h, const int8_t* qa, __m256i sp) {
    const __m256i sc_lo = pair_lo(sp), sc_hi = pair_hi(sp);
    __m256i sumi = _mm256_setzero_si256();
    for (int c0 = 0; c0 < 8; c0 += 2) {
        __m256i s16 = _mm256_setzero_si256();
        for (int c = c0; c < c0 + 2; ++c) {
            s16 = _mm256_add_epi16(
                _mm256_maddubs_epi16(q6_k_code<G>(x, h, c), bcast4(qa + 128 * h + 32 * G + 4 * c)), s16);
            pin(s16);
        }
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(s16, c0 < 4 ? sc_lo : sc_hi));
        pin(sumi);
    }
    return sumi;
}

inline auto q6_k_step(const void* a, const int32_t* side) {
    const auto* q = static_cast<const block_q8_k*>(a);
    (void)side;
    return [q](const tile_q6_kx8* x, int64_t b, __m256 acc) {
        const int8_t* qa = q[b].qs;
        prefetch_ahead<offsetof(tile_q6_kx8, q)>(x + b);
        __m256i sumi = _mm256_setzero_si256(), corr = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            prefetch_ahead<sizeof(x[b].q[h])>(x[b].q[h]);
            __m256i sp[4];
            for (int g = 0; g < 4; ++g) {
                sp[g] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].sc[4 * h + g])));
                corr = _mm256_add_epi32(corr, _mm256_madd_epi16(sp[g], bcast4(q[b].bsums + 8 * h + 2 * g)));
            }
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(q6_k_group<0>(x[b], h, qa, sp[0]),
                                                           q6_k_group<1>(x[b], h, qa, sp[1])));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(q6_k_group<2>(x[b], h, qa, sp[2]),
                                                           q6_k_group<3>(x[b], h, qa, sp[3])));
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5));
        const __m256 d = _mm256_mul_ps(_mm256_set1_ps(q[b].d), load_fp16x8(x[b].d));
        return _mm256_add_ps(acc, opaque(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi))));
    };
}
LOWBIT_TILE_GEMV(gemv_q6_kx8_q8_k__avx2, tile_q6_kx8, q6_k_step)

void repack_unpack_q4_1__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_1x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8m*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        _mm256_storeu_ps(out[b].m, load_fp16x8(x[b].m));
        for (int c = 0; c < 4; ++c) {
            const __m256i w = load32(x[b].qs[c]);
            store32(out[b].q[c], _mm256_and_si256(w, m4));
            store32(out[b].q[c + 4], _mm256_and_si256(_mm256_srli_epi16(w, 4), m4));
        }
    }
}

void repack_unpack_q4_0__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        for (int c = 0; c < 4; ++c) {
            const __m256i w = load32(x[b].qs[c]);
            store32(out[b].q[c], _mm256_and_si256(w, m4));
            store32(out[b].q[c + 4], _mm256_and_si256(_mm256_srli_epi16(w, 4), m4));
        }
    }
}

namespace {
template <int C>
inline void unpack_q5_0_group(const tile_q5_0x8& x, __m256i h, gemm_block_q8x8& out) {
    __m256i lo, hi;
    q5_0_codes<C>(x, h, lo, hi);
    store32(out.q[C], lo);
    store32(out.q[C + 4], hi);
}
}  // namespace

void repack_unpack_q5_0__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q5_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        const __m256i h = load32(x[b].qh);
        unpack_q5_0_group<0>(x[b], h, out[b]);
        unpack_q5_0_group<1>(x[b], h, out[b]);
        unpack_q5_0_group<2>(x[b], h, out[b]);
        unpack_q5_0_group<3>(x[b], h, out[b]);
    }
}

void repack_unpack_q8_0__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q8_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        for (int g = 0; g < 8; ++g) store32(out[b].q[g], load32(x[b].qs[g]));
    }
}

// Q4_K / Q5_K tiles into the GEMM's packed block: d and dmin as floats, each row's scale as an int16
// pair (sc, sc), the mins widened to int16.
template <class Tile>
inline void unpack_scales_mins(const Tile& x, gemm_block_q4_kx8& out) {
    _mm256_storeu_ps(out.d, load_fp16x8(x.d));
    _mm256_storeu_ps(out.dmin, load_fp16x8(x.dmin));
    const k_scales_v ks = decode_k_scales(x.s);
    store32(out.sc[0], k_scale_pair<0>(ks.sc_e));
    store32(out.sc[1], k_scale_pair<0>(ks.sc_o));
    store32(out.sc[2], k_scale_pair<1>(ks.sc_e));
    store32(out.sc[3], k_scale_pair<1>(ks.sc_o));
    store32(out.sc[4], k_scale_pair<2>(ks.sc_e));
    store32(out.sc[5], k_scale_pair<2>(ks.sc_o));
    store32(out.sc[6], k_scale_pair<3>(ks.sc_e));
    store32(out.sc[7], k_scale_pair<3>(ks.sc_o));
    __m256i mp[4];
    k_min_pairs(ks, mp);
    for (int p = 0; p < 4; ++p) store32(out.mn[p], mp[p]);
}

void repack_unpack_q4_k__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; ++b) {
        unpack_scales_mins(x[b], out[b]);
        for (int j = 0; j < 4; ++j)
            for (int c = 0; c < 8; ++c) {
                const __m256i w = load32(x[b].qs[j][c]);
                store32(out[b].q[16 * j + c], _mm256_and_si256(w, m4));
                store32(out[b].q[16 * j + 8 + c], _mm256_and_si256(_mm256_srli_epi16(w, 4), m4));
            }
    }
}

template <int J>
inline void unpack_q5_k_codes(const tile_q5_kx8& x, gemm_block_q4_kx8& out) {
    for (int c = 0; c < 8; ++c) {
        __m256i lo, hi;
        q5_k_codes<J>(x, c, lo, hi);
        store32(out.q[16 * J + c], lo);
        store32(out.q[16 * J + 8 + c], hi);
    }
}

void repack_unpack_q5_k__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q5_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        unpack_scales_mins(x[b], out[b]);
        unpack_q5_k_codes<0>(x[b], out[b]);
        unpack_q5_k_codes<1>(x[b], out[b]);
        unpack_q5_k_codes<2>(x[b], out[b]);
        unpack_q5_k_codes<3>(x[b], out[b]);
    }
}

void repack_unpack_q6_k__avx2(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q6_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q6_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        _mm256_storeu_ps(out[b].d, load_fp16x8(x[b].d));
        for (int p = 0; p < 8; ++p) {
            const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].sc[p])));
            store32(out[b].sc[2 * p], pair_lo(v));
            store32(out[b].sc[2 * p + 1], pair_hi(v));
        }
        for (int h = 0; h < 2; ++h)
            for (int c = 0; c < 8; ++c) {
                store32(out[b].q[32 * h + c], q6_k_code<0>(x[b], h, c));
                store32(out[b].q[32 * h + 8 + c], q6_k_code<1>(x[b], h, c));
                store32(out[b].q[32 * h + 16 + c], q6_k_code<2>(x[b], h, c));
                store32(out[b].q[32 * h + 24 + c], q6_k_code<3>(x[b], h, c));
            }
    }
}

namespace {

// FP8 tiles (kernels/repack.hpp): one 32-byte load of dwords (g, r), row r's codes of columns 4g + i in
// byte i, -> the 8 rows of columns 4g .. 4g + 3 as f32 bits of fp8 * 2^-120 (E4M3) / 2^-112 (E5M2).
// A 16-bit arithmetic shift lines up the code in each word's top byte under the exponent / mantissa
// bits of that word's dword half, sign smeared down; the AND keeps sign, exponent and mantissa.
struct fp8_cols {
    __m256 c[4];
};
template <bool E4M3>
inline fp8_cols decode_fp8x4(__m256i v) {
    const __m256i keep = _mm256_set1_epi32(E4M3 ? static_cast<int>(0x87F00000) : static_cast<int>(0x8FE00000));
    constexpr int sh = E4M3 ? 4 : 3;
    const __m256i odd = _mm256_srai_epi16(v, sh);                          // bytes 3 (high word), 1 (low word)
    const __m256i even = _mm256_srai_epi16(_mm256_slli_epi16(v, 8), sh);  // bytes 2, 0
    fp8_cols o;
    o.c[0] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(even, 16), keep));
    o.c[1] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(odd, 16), keep));
    o.c[2] = _mm256_castsi256_ps(_mm256_and_si256(even, keep));
    o.c[3] = _mm256_castsi256_ps(_mm256_and_si256(odd, keep));
    return o;
}

constexpr int fp8_half_scale_log2(bool e4m3) {
    return e4m3 ? 60 : 56;
}

// Per block: 4 column sums (one per byte position, 8 rows each) over the 32 columns, added and FMA'd
// with the rows' d. The prepared activations carry 2^60 (2^56), the decode 2^-120 (2^-112): the GEMV's
// PostLog2 is fp8_half_scale_log2.
template <bool E4M3, class Tile = tile_q8_0x8>
inline auto fp8_step(const void* a, const int32_t* /*side*/) {
    const auto* xp = static_cast<const float*>(a);
    return [xp](const Tile* x, int64_t b, __m256 acc) {
        prefetch_ahead<sizeof(Tile)>(x + b);
        const float* xb = xp + 32 * b;
        __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int g = 0; g < 8; ++g) {
            const fp8_cols w = decode_fp8x4<E4M3>(load32(x[b].qs[g]));
            for (int i = 0; i < 4; ++i) s[i] = _mm256_fmadd_ps(w.c[i], _mm256_broadcast_ss(xb + 4 * g + i), s[i]);
        }
        const __m256 sum = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
        return _mm256_fmadd_ps(load_scales(x[b].d), sum, acc);
    };
}

// ---- FP8 prompts: tiles (or rows) -> gemm_block_i16x8 (gemm_q.hpp, "FP8 prompts") ----

// One 32-column block of 8 rows, given as the tile's 8 groups (dword (g, r) = row r's codes of columns
// 4g .. 4g + 3) and the rows' scales, as fp8_block_to_i16__ref: a first decode finds each row's largest
// magnitude m (f32, exact: the decode's 2^-120 (2^-112) undone by one product), sh = 14 - exponent(m) from
// its bits, a second decode scales by 2^sh (two exact products) and rounds (cvtps: nearest even); the
// int32 codes of columns 2p, 2p + 1 become row r's int16 pair p by one shift and blend.
template <bool E4M3>
inline void fp8_block_to_i16(const __m256i (&g)[8], __m256 d, gemm_block_i16x8& o) {
    const __m256 unscale = _mm256_set1_ps(E4M3 ? 0x1p120f : 0x1p112f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 8; ++i) {
        const fp8_cols c = decode_fp8x4<E4M3>(g[i]);
        for (int j = 0; j < 4; ++j) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, c.c[j]));
    }
    m = _mm256_mul_ps(m, unscale);
    const __m256 zero = _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_EQ_OQ);
    const __m256i sh = _mm256_sub_epi32(_mm256_set1_epi32(14 + 127), _mm256_srli_epi32(_mm256_castps_si256(m), 23));
    const __m256 up = _mm256_andnot_ps(zero, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(sh, _mm256_set1_epi32(127)), 23)));
    const __m256 down = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(_mm256_set1_epi32(127), sh), 23));
    _mm256_storeu_ps(o.d, _mm256_andnot_ps(zero, _mm256_mul_ps(d, down)));
    for (int i = 0; i < 8; ++i) {
        const fp8_cols c = decode_fp8x4<E4M3>(g[i]);
        __m256i q[4];
        for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_mul_ps(c.c[j], unscale), up));
        store32(o.q[2 * i], _mm256_blend_epi16(q[0], _mm256_slli_epi32(q[1], 16), 0xAA));
        store32(o.q[2 * i + 1], _mm256_blend_epi16(q[2], _mm256_slli_epi32(q[3], 16), 0xAA));
    }
}

template <bool E4M3, class Tile>
void unpack_fp8_i16(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const Tile*>(tiles);
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        __m256i g[8];
        for (int i = 0; i < 8; ++i) g[i] = load32(x[b].qs[i]);
        fp8_block_to_i16<E4M3>(g, load_scales(x[b].d), out[b]);
    }
}

// Rows (block_fp8, or per row an f32 scale then the codes): each row's 32 codes of a block as 8
// dwords, transposed into the tile's groups.
template <bool E4M3, bool PerRow>
void pack_fp8_i16(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    alignas(32) float d[8] = {};
    for (int r = 0; r < n_rows && PerRow; ++r) std::memcpy(&d[r], w + row_stride * static_cast<size_t>(r), 4);
    for (int64_t b = 0; b < k / 32; ++b) {
        __m256i g[8];
        for (int r = 0; r < 8; ++r) {
            if (r >= n_rows) {
                g[r] = _mm256_setzero_si256();
                continue;
            }
            const uint8_t* row = w + row_stride * static_cast<size_t>(r);
            if constexpr (PerRow) {
                g[r] = load32(row + sizeof(float) + 32 * b);
            } else {
                const auto& blk = reinterpret_cast<const block_q8_0*>(row)[b];  // block_fp8's bytes
                d[r] = fp16_to_f32(blk.d);
                g[r] = load32(blk.qs);
            }
        }
        simd::transpose8x8_epi32(g);
        fp8_block_to_i16<E4M3>(g, _mm256_load_ps(d), out[b]);
    }
}

}  // namespace

namespace {

// ---- F16 / BF16 tiles ----

template <bool BF16>
inline __m256 half8(const uint16_t* h) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
    if constexpr (BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
    else return _mm256_cvtph_ps(v);
}

// Per block: column c's 8 rows times x[c], into 4 partial sums (c mod 4) so 4 FMA chains are in
// flight, then added to the accumulator.
template <bool BF16>
inline auto half_step(const void* a, const int32_t* /*side*/) {
    const auto* xf = static_cast<const float*>(a);
    return [xf](const tile_h16x8* x, int64_t b, __m256 acc) {
        prefetch_ahead<sizeof(tile_h16x8)>(x + b);
        const float* xb = xf + 32 * b;
        __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma GCC unroll 32
        for (int j = 0; j < 32; ++j)
            s[j % 4] = _mm256_fmadd_ps(half8<BF16>(x[b].v[j]), _mm256_broadcast_ss(xb + j), s[j % 4]);
        return _mm256_add_ps(acc, _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3])));
    };
}

// Per slice of k_tile_gemm_kc columns and 6-token block, the panel kernel over each pair of tiles.
template <bool BF16>
void gemm_half_avx2(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles, int64_t n_rows, const float* xi,
                    int64_t n_tokens, float* y, int64_t ldy) {
    constexpr int64_t T = k_tile_gemm_tokens, KB = k_tile_gemm_kc / 32;
    const int64_t k = 32 * nb, n_groups = (n_tiles + 1) / 2;
    const auto tile = [&](int64_t i) { return reinterpret_cast<const uint16_t*>(tiles + tile_bytes * static_cast<size_t>(i)); };
    for (int64_t b0 = 0; b0 < nb; b0 += KB) {
        const int64_t kc = 32 * (std::min(nb, b0 + KB) - b0);
        for (int64_t tb = 0; tb < panel_token_blocks(n_tokens); ++tb) {
            const panel_token_block tk = panel_block(n_tokens, tb);
            const float* xs = xi + T * k * tb + T * 32 * b0;
            for (int64_t gi = 0; gi < n_groups; ++gi) {
                const int rows = static_cast<int>(std::min<int64_t>(16, n_rows - 16 * gi));
                const uint16_t* lo = tile(2 * gi) + 8 * 32 * b0;
                const uint16_t* hi = 2 * gi + 1 < n_tiles ? tile(2 * gi + 1) + 8 * 32 * b0 : lo;
                if constexpr (BF16) gemm_panel_bf16x2__avx2(kc, lo, hi, xs, tk.count, y + tk.first * ldy + 16 * gi, ldy, rows, b0 > 0);
                else gemm_panel_f16x2__avx2(kc, lo, hi, xs, tk.count, y + tk.first * ldy + 16 * gi, ldy, rows, b0 > 0);
            }
        }
    }
}

}  // namespace

LOWBIT_TILE_GEMV(gemv_f16x8_f32__avx2, tile_h16x8, half_step<false>)
LOWBIT_TILE_GEMV(gemv_bf16x8_f32__avx2, tile_h16x8, half_step<true>)
void gemm_f16x8_f32__avx2(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles, int64_t n_rows,
                          const float* xi, int64_t n_tokens, float* y, int64_t ldy) {
    gemm_half_avx2<false>(nb, tiles, tile_bytes, n_tiles, n_rows, xi, n_tokens, y, ldy);
}
void gemm_bf16x8_f32__avx2(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles, int64_t n_rows,
                           const float* xi, int64_t n_tokens, float* y, int64_t ldy) {
    gemm_half_avx2<true>(nb, tiles, tile_bytes, n_tiles, n_rows, xi, n_tokens, y, ldy);
}

LOWBIT_TILE_GEMV(gemv_fp8_e4m3x8_f32__avx2, tile_q8_0x8, fp8_step<true>, fp8_half_scale_log2(true))
LOWBIT_TILE_GEMV(gemv_fp8_e5m2x8_f32__avx2, tile_q8_0x8, fp8_step<false>, fp8_half_scale_log2(false))
LOWBIT_TILE_GEMV(gemv_fp8_e4m3_ptx8_f32__avx2, tile_q8_0x8f, fp8_step<true, tile_q8_0x8f>,
                 fp8_half_scale_log2(true))
LOWBIT_TILE_GEMV(gemv_fp8_e5m2_ptx8_f32__avx2, tile_q8_0x8f, fp8_step<false, tile_q8_0x8f>,
                 fp8_half_scale_log2(false))

gemv_tile2_fn gemv2_kernel_avx2(gemv_tile_fn one) {
#define LOWBIT_PAIR(name) \
    if (one == name) return name##_x2;
    LOWBIT_PAIR(gemv_q4_0x8_q8_0__avx2) LOWBIT_PAIR(gemv_q5_0x8_q8_0__avx2) LOWBIT_PAIR(gemv_q8_0x8_q8_0__avx2)
    LOWBIT_PAIR(gemv_iq4_nlx8_q8_0__avx2) LOWBIT_PAIR(gemv_mxfp4x8_q8_0__avx2) LOWBIT_PAIR(gemv_nf4x8_q8_0__avx2)
    LOWBIT_PAIR(gemv_nf4_dqx8_q8_0__avx2) LOWBIT_PAIR(gemv_fp4_e2m1x8_q8_0__avx2)
    LOWBIT_PAIR(gemv_int2x8_q8_0__avx2)
    LOWBIT_PAIR(gemv_int3x8_q8_0__avx2) LOWBIT_PAIR(gemv_q4_1x8_q8_1__avx2) LOWBIT_PAIR(gemv_q5_1x8_q8_1__avx2)
    LOWBIT_PAIR(gemv_int2ax8_q8_1__avx2) LOWBIT_PAIR(gemv_int3ax8_q8_1__avx2) LOWBIT_PAIR(gemv_int8ax8_q8_1__avx2)
    LOWBIT_PAIR(gemv_q4_kx8_q8_k__avx2)
    LOWBIT_PAIR(gemv_q5_kx8_q8_k__avx2) LOWBIT_PAIR(gemv_q6_kx8_q8_k__avx2) LOWBIT_PAIR(gemv_tq2_0x8_q8_k__avx2)
    LOWBIT_PAIR(gemv_iq4_xsx8_q8_k__avx2) LOWBIT_PAIR(gemv_iq3_xxsx8_q8_k__avx2) LOWBIT_PAIR(gemv_iq3_sx8_q8_k__avx2)
    LOWBIT_PAIR(gemv_f16x8_f32__avx2)
    // Q2_K, Q3_K, BF16 and FP8 keep one stream: their twins ran 9%, 13%, 13% and 7-10% slower
    // (bench/ab.sh tg64, 3-6 rounds); F16's 10% faster.
#undef LOWBIT_PAIR
    return nullptr;
}

void repack_unpack_fp8_e4m3__avx2(int64_t nb, const void* tiles, void* dst) { unpack_fp8_i16<true, tile_q8_0x8>(nb, tiles, dst); }
void repack_unpack_fp8_e5m2__avx2(int64_t nb, const void* tiles, void* dst) { unpack_fp8_i16<false, tile_q8_0x8>(nb, tiles, dst); }
void repack_unpack_fp8_e4m3_pt__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_i16<true, tile_q8_0x8f>(nb, tiles, dst);
}
void repack_unpack_fp8_e5m2_pt__avx2(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_i16<false, tile_q8_0x8f>(nb, tiles, dst);
}
void gemm_pack_fp8_e4m3__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_i16<true, false>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e5m2__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_i16<false, false>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e4m3_pt__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_i16<true, true>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e5m2_pt__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_i16<false, true>(w, row_stride, n_rows, k, dst);
}

}  // namespace lowbit::kernels
