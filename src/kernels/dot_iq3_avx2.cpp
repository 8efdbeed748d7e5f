// AVX2 dot products of IQ3_XXS / IQ3_S weight rows with Q8_K activation rows (math in dot_iq3.hpp).
//
// Per 32-weight sub-block: the 8 grid points (4 unsigned magnitudes each) are fetched by index into
// one 256-bit vector, the 32 sign bits are expanded to a byte mask m and applied to the activations
// ((q ^ m) - m), _mm256_maddubs_epi16 multiplies magnitudes by signed activations (|G| <= 62,
// |q| <= 127: no saturation), _mm256_madd_epi16 with the sub-block's (2 sc + 1) widens to int32.
//
// Activations must lie in [-127, 127] (what the Q8_K quantizers write): -128 would not negate.
//
// Sign bytes (bit j of byte l: weight 8 l + j of a sub-block): IQ3_S stores them; IQ3_XXS stores 7
// bits per 8 weights and the 8th is their parity (k_iq_ksigns), computed here for all 32 sign bytes
// of a block at once (fields spread to bytes by shifts, parity by two 16-entry pshufb lookups).
//
// Grid points are read with one scalar load per index inserted into the vector (64 per block): on
// Zen 3 this beat vpgatherdd by ~1.5x and broadcast+blend or 64-bit pair assembly by 10-20%. IQ3_S's
// 9-bit indices are formed with vector ops and stored to a stack buffer one block ahead, since
// scalar loads right after the vector store stall on store forwarding (~25% slower).
//
// The int32 lanes are summed to the block's exact integer, and the float step is done as __ref does
// it (no FMA contraction), so the result equals __ref bit for bit.
#include <immintrin.h>

#include <cstring>
#include <type_traits>
#include <utility>

#include "formats/ggml_blocks.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/avx2_math.hpp"
#include "kernels/dot_iq3.hpp"

namespace lowbit::kernels {
using namespace avx2;  // shared AVX2 helpers (kernels/avx2_math.hpp)

namespace {

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

// Sub-block s (0..7) of a block whose 32 sign bytes (4 per sub-block) and 8 int32 scales (one per
// sub-block) are given with each 128-bit half duplicated into both lanes (lane = s < 4 ? lo : hi):
//   sign_mask: 32 bytes, 0xFF where weight j of the sub-block is negative;
//   scale16:   the sub-block's scale in every int16.
template <int S>
inline __m256i sign_mask(__m256i signs_dup) {
    constexpr char b = static_cast<char>(4 * (S % 4));
    const __m256i idx = _mm256_setr_epi8(b, b, b, b, b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1,
                                         b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 2, b + 2, b + 2, b + 2,
                                         b + 3, b + 3, b + 3, b + 3, b + 3, b + 3, b + 3, b + 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(signs_dup, idx), bit), bit);
}
template <int S>
inline __m256i scale16(__m256i scales_dup) {
    constexpr char b = static_cast<char>(4 * (S % 4));
    constexpr char c = static_cast<char>(b + 1);
    const __m256i idx = _mm256_setr_epi8(b, c, b, c, b, c, b, c, b, c, b, c, b, c, b, c,  //
                                         b, c, b, c, b, c, b, c, b, c, b, c, b, c, b, c);
    return _mm256_shuffle_epi8(scales_dup, idx);
}

// sum_j G_j (-1)^sgn_j q_j for one sub-block, times its scale, as 8 int32 lanes.
inline __m256i sub_dot(__m256i grid, __m256i mask, __m256i scale, const int8_t* q) {
    const __m256i qa = load32(q);
    const __m256i qs = _mm256_sub_epi8(_mm256_xor_si256(qa, mask), mask);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(grid, qs), scale);
}

template <class F, size_t... S>
inline void for_subblocks(F f, std::index_sequence<S...>) {
    (f(std::integral_constant<int, static_cast<int>(S)>{}), ...);
}

// sum_s scale_s * sub_dot(s) over the 8 sub-blocks, with grid(s) the 8 grid points of sub-block s.
template <class Grid>
inline int block_sum(__m256i signs, __m256i scales, const int8_t* q, Grid grid) {
    const __m256i sg[2] = {_mm256_permute2x128_si256(signs, signs, 0x00),
                           _mm256_permute2x128_si256(signs, signs, 0x11)};
    const __m256i sc[2] = {_mm256_permute2x128_si256(scales, scales, 0x00),
                           _mm256_permute2x128_si256(scales, scales, 0x11)};
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for_subblocks(
        [&](auto s) {
            constexpr int k = decltype(s)::value;
            const __m256i p = sub_dot(grid(k), sign_mask<k>(sg[k / 4]), scale16<k>(sc[k / 4]), q + 32 * k);
            if constexpr (k % 2 == 0) acc0 = _mm256_add_epi32(acc0, p);
            else acc1 = _mm256_add_epi32(acc1, p);
        },
        std::make_index_sequence<8>{});
    return hsum_i32(_mm256_add_epi32(acc0, acc1));
}

// The 8 grid points of indices idx[0..7], gathered with scalar loads (vpgatherdd is slower here; on
// Zen 3 the index and table loads plus one insert per point is the cheapest way found).
template <class Index>
inline __m256i grid8(const uint32_t* grid, const Index* idx) {
    return _mm256_setr_epi32(static_cast<int>(grid[idx[0]]), static_cast<int>(grid[idx[1]]),
                             static_cast<int>(grid[idx[2]]), static_cast<int>(grid[idx[3]]),
                             static_cast<int>(grid[idx[4]]), static_cast<int>(grid[idx[5]]),
                             static_cast<int>(grid[idx[6]]), static_cast<int>(grid[idx[7]]));
}

// IQ3_S: the 64 9-bit grid indices of a block, qs[i] | (bit i of the 64-bit qh) << 8, into idx, 32 at
// a time: the qh bits become 0/1 bytes (as bits_to_bytes) and are interleaved with the qs bytes
// (unpacklo/hi, per 128-bit lane), so index i of a 32-chunk lands at idx16 position
// (i % 16 < 8 ? 0 : 16) + (i / 16) * 8 + i % 8; iq3_s_slot() gives the start of 8 consecutive ones.
inline void iq3_s_indices(const uint8_t* qs, const uint8_t* qh, uint16_t* idx) {
    const __m256i rep_idx = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i sel = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    for (int c = 0; c < 2; ++c) {
        uint32_t bits;
        std::memcpy(&bits, qh + 4 * c, 4);
        const __m256i rep = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), rep_idx);
        const __m256i hb = _mm256_min_epu8(_mm256_and_si256(rep, sel), _mm256_set1_epi8(1));
        const __m256i lo = load32(qs + 32 * c);
        _mm256_store_si256(reinterpret_cast<__m256i*>(idx + 32 * c), _mm256_unpacklo_epi8(lo, hb));
        _mm256_store_si256(reinterpret_cast<__m256i*>(idx + 32 * c + 16), _mm256_unpackhi_epi8(lo, hb));
    }
}
// Position in idx of indices 8 s .. 8 s + 7 (sub-block s).
constexpr int iq3_s_slot(int s) { return 32 * (s / 4) + 16 * (s % 2) + 8 * ((s % 4) / 2); }

// IQ3_XXS: the 32 sign bytes of a block from its 8 scale-and-sign words (7-bit fields at bits 0, 7,
// 14, 21 -> bytes 0..3 of each word, bit 7 = parity of bits 0..6).
inline __m256i xxs_signs(__m256i aux) {
    const __m256i f = _mm256_or_si256(
        _mm256_or_si256(_mm256_and_si256(aux, _mm256_set1_epi32(0x7F)),
                        _mm256_and_si256(_mm256_slli_epi32(aux, 1), _mm256_set1_epi32(0x7F00))),
        _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi32(aux, 2), _mm256_set1_epi32(0x7F0000)),
                        _mm256_and_si256(_mm256_slli_epi32(aux, 3), _mm256_set1_epi32(0x7F000000))));
    // 0x80 where the nibble has an odd number of bits.
    const __m256i par =
        _mm256_setr_epi8(0, -128, -128, 0, -128, 0, 0, -128, -128, 0, 0, -128, 0, -128, -128, 0,  //
                         0, -128, -128, 0, -128, 0, 0, -128, -128, 0, 0, -128, 0, -128, -128, 0);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_shuffle_epi8(par, _mm256_and_si256(f, m4));
    const __m256i hi = _mm256_shuffle_epi8(par, _mm256_and_si256(_mm256_srli_epi16(f, 4), m4));
    return _mm256_or_si256(f, _mm256_xor_si256(lo, hi));
}

}  // namespace

float dot_iq3_xxs_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq3_xxs*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        const uint8_t* qs = x[b].qs;
        const __m256i aux = load32(qs + k_qk_k / 4);
        const __m256i scales =
            _mm256_or_si256(_mm256_slli_epi32(_mm256_srli_epi32(aux, 28), 1), _mm256_set1_epi32(1));
        const int sumi = block_sum(xxs_signs(aux), scales, y[b].qs,
                                   [&](int s) { return grid8(k_iq3xxs_grid, qs + 8 * s); });
        sum = block_term(sum, y[b].d, fp16(x[b].d), sumi);
    }
    return 0.25f * sum;
}

float dot_iq3_s_q8_k__avx2(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq3_s*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    const int64_t nb = n / k_qk_k;
    const __m256i nib_shift = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    float sum = 0;
    // Indices of block b in idx[b % 2], written one block ahead so that the scalar loads of a block's
    // indices do not wait on the vector stores just made.
    alignas(32) uint16_t idx[2][k_qk_k / 4];
    if (nb > 0) iq3_s_indices(x[0].qs, x[0].qh, idx[0]);
    for (int64_t b = 0; b < nb; ++b) {
        if (b + 1 < nb) iq3_s_indices(x[b + 1].qs, x[b + 1].qh, idx[(b + 1) & 1]);
        const uint16_t* ix = idx[b & 1];
        uint32_t sc4;
        std::memcpy(&sc4, x[b].scales, 4);
        const __m256i nib = _mm256_and_si256(
            _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(sc4)), nib_shift), _mm256_set1_epi32(0x0F));
        const __m256i scales = _mm256_or_si256(_mm256_slli_epi32(nib, 1), _mm256_set1_epi32(1));
        const int sumi = block_sum(load32(x[b].signs), scales, y[b].qs,
                                   [&](int s) { return grid8(k_iq3s_grid, ix + iq3_s_slot(s)); });
        sum = block_term(sum, y[b].d, fp16(x[b].d), sumi);
    }
    return sum;
}

}  // namespace lowbit::kernels
