// Load-time repacking of weight matrices into interleaved 8-row tiles, and the one-token GEMV kernels
// that read them (the generation path of kernels/matmul.cpp).
//
// Why: the plain generation path does one dot product per row (kernels/dot.hpp), which ends every row
// with a horizontal sum and converts one fp16 scale pair per block and row. With 8 rows interleaved
// so that a 32-byte load holds 4 columns of each of 8 rows, one activation broadcast feeds 8 rows at
// once, each row's sum lives in its own int32 / float lane, and the 8 results are stored with no
// horizontal reduction (llama.cpp's block_q4_0x8 + ggml_gemv_q4_0_8x8_q8_0 does the same; the layouts
// below are lowbit's own, chosen so that the tile bytes are a pure re-arrangement of the stored
// blocks: no code is rewritten, and the tiles take the same bytes as the rows).
//
// Tile layouts (one tile block = 8 rows x one weight block; row r of the tile = matrix row 8t + r,
// rows past n_rows are zero, including their scales):
//   Q4_0  (tile_q4_0x8, 144 B = 8 x 18):  d[r] fp16; qs[c][r][i] = row r's qs[4c + i] (c < 4, i < 4):
//         low nibble = code of column 4c + i, high nibble = code of column 16 + 4c + i.
//   Q8_0  (tile_q8_0x8, 272 B = 8 x 34):  d[r] fp16; qs[g][r][i] = row r's qs[4g + i] (g < 8).
//   F16 / BF16  (tile_h16x8, 512 B = 8 x 32 x 2):  v[j][r] = row r's value of column j (no scales).
//   Q4_K  (tile_q4_kx8, 1152 B = 8 x 144):  d[r], dmin[r] fp16; s (k_scales_x8): the 6-bit scales
//         sc[s][r] and mins mn[s][r] of sub-block s of row r, the row's 96 bits re-arranged so that the
//         8 rows' values decode with a few shifts and masks of 32-byte loads: sl[r / 4][j][r % 4] = low
//         nibbles of sc[2j] | sc[2j + 1] << 4, ml the same for the mins, hb = their top 2 bits (sc[2j],
//         sc[2j + 1], mn[2j], mn[2j + 1] at bits 0, 2, 4, 6); qs[j][c][r][i] = row r's
//         qs[32j + 4c + i] (j < 4, c < 8): low nibble = column 64j + 4c + i (sub-block 2j), high
//         nibble = column 64j + 32 + 4c + i (sub-block 2j + 1).
//   Q5_K  (tile_q5_kx8, 1408 B = 8 x 176):  d, dmin, s as Q4_K; the 5-bit codes lo_j, hi_j of
//         columns 64j + 4c + i and 64j + 32 + 4c + i (j < 4, c < 8) of row r re-encoded (the same 40
//         bits per (c, r, i), so that lo_j needs one AND): qs[j][c][r][i] = lo_j | (hi_j & 7) << 5,
//         qh[c][r][i] bits 2j, 2j + 1 = hi_j >> 3.
//   Q6_K  (tile_q6_kx8, 1680 B = 8 x 210):  d[r] fp16; sc[p][r][k] = int8 scale of 16-column sub-block
//         2p + k of row r (p < 8); q[h][k][c][r][i] (h < 2, k < 3, c < 8): the 6-bit codes u0..u3 of
//         columns 128h + 32g + 4c + i (g = 0..3) re-encoded in 3 bytes (as Q5_K, not the stored bytes but
//         the same 24 bits, so that three codes need one AND each): byte k = u_k | (bits
//         2k, 2k + 1 of u3) << 6. Column 128h + 32g + 4c + i lies in sub-block 8h + 2g + c / 4.
//
// GEMV math per (row r, block b), for one activation row quantized to Q8_0 (Q4_0, Q5_0, Q8_0) or Q8_K (K-quants):
//   Q4_0: sum += float(sum_j q[j] a[j] - 8 * asum[b]) * (d_w[r] * d_a[b])     asum: sum of the block's a
//   Q5_0: sum += float(sum_j q[j] a[j] - 16 * asum[b]) * (d_w[r] * d_a[b])    (q: the 5-bit codes)
//   IQ4_NL: sum += float(sum_j v[q[j]] a[j]) * (d_w[r] * d_a[b])               (v: k_iq4nl_values)
//   Q5_1 (Q8_1 activations): as Q4_1 with the 5-bit codes
//   Q4_1 (Q8_1 activations): sum += (float(sum_j q[j] a[j]) * (d_w[r] * d_a[b]) + m_w[r] * s_a[b])
//   Q8_0: sum += float(sum_j q[j] a[j]) * (d_w[r] * d_a[b])
//   Q4_K: sum += (d_a * d[r]) * float(sum_s sc[s][r] sum_j q a) - (d_a * dmin[r]) * float(sum_s mn[s][r] bs[s])
//         (bs[s]: activation sum over 32-column sub-block s)
//   Q5_K: as Q4_K with codes 0..31
//   Q6_K: sum += (d_a * d[r]) * float(sum_s sc[s][r] (sum_j q a - 32 bs16[s]))   (bs16: Q8_K's bsums)
// These are the products and the order of kernels/dot_ref.cpp's dot_<w>_<a>__ref, and every integer sum
// is exact, so the tiled kernels (__ref and __avx2) equal the per-row __ref dot products bit for bit.
// (The per-row __avx2 dot products differ from those by float summation order only.)
//
// The prompt GEMM (kernels/gemm_q.hpp) reads repacked matrices too: repack_unpack_* turns one tile
// (8 rows x k) into the GEMM's packed 8-row group, in place of gemm_pack_* from the rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/cpu.hpp"
#include "core/x86_kernel.hpp"
#include "kernels/gemm_f32.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

namespace kernels {

constexpr int k_tile_rows = 8;

// 2^e as a float, at compile time. The tile kernels' power-of-two output scales are template arguments
// given as exponents: float template arguments are C++20 but clang before 18 rejects them.
constexpr float pow2f(int e) {
    float v = 1.0f;
    for (; e > 0; --e) v *= 2.0f;
    for (; e < 0; ++e) v *= 0.5f;
    return v;
}

struct tile_q4_0x8 {
    uint16_t d[8];
    uint8_t qs[4][8][4];
};
static_assert(sizeof(tile_q4_0x8) == 144, "tile_q4_0x8 must be 144 bytes");

// Q5_0 (176 B = 8 x 22): d and qs as Q4_0's tile; qh[r][i] holds row r's 5th bits of the 8 columns
// that byte i of qs[c][r] covers: bit 2c = column 4c + i (the low nibble's), bit 2c + 1 = column
// 16 + 4c + i (the high nibble's). One 32-byte load of qh lines up with every qs[c] load, and two 16-bit
// shifts and masks per c put the 5th bits at bit 4 of each code byte. (The bits are re-arranged, not
// re-encoded: the tile holds exactly the rows' bytes.)
// Q4_1 (160 B = 8 x 20): d[r], m[r] fp16; qs as Q4_0's tile. No prompt-GEMM unpack (Q4_1 has no
// integer GEMM; its prompts de-quantize the rows).
// IQ4_NL: tile_q4_0x8 as it is (block_iq4_nl has block_q4_0's bytes: fp16 d + 16 nibble bytes); the
// nibbles index the codebook k_iq4nl_values instead of being offset by -8. Its unpack gives padding
// rows (zero scale) the codebook's value for nibble 0 where gemm_pack writes 0: only those bytes differ.
struct tile_q4_1x8 {
    uint16_t d[8], m[8];
    uint8_t qs[4][8][4];
};
static_assert(sizeof(tile_q4_1x8) == 160, "tile_q4_1x8 must be 160 bytes");

struct tile_q5_0x8 {
    uint16_t d[8];
    uint8_t qh[8][4];
    uint8_t qs[4][8][4];
};
static_assert(sizeof(tile_q5_0x8) == 176, "tile_q5_0x8 must be 176 bytes");

// Q5_1 (192 B = 8 x 24): Q5_0's tile plus the per-row min m[r]; Q8_1 activations, no unpack (no
// integer GEMM).
struct tile_q5_1x8 {
    uint16_t d[8], m[8];
    uint8_t qh[8][4];
    uint8_t qs[4][8][4];
};
static_assert(sizeof(tile_q5_1x8) == 192, "tile_q5_1x8 must be 192 bytes");

struct tile_q8_0x8 {
    uint16_t d[8];
    int8_t qs[8][8][4];
};
static_assert(sizeof(tile_q8_0x8) == 272, "tile_q8_0x8 must be 272 bytes");
// Q4_0's tile with f32 row scales (160 B): lowbit nf4_dq, whose 64-column sub-block scale D * sc[j] (fp16
// times 8-bit) is exact in f32 but not in fp16. 5 bits per weight in memory against the file's 4.19.
struct tile_q4_0x8f {
    float d[8];
    uint8_t qs[4][8][4];
};
static_assert(sizeof(tile_q4_0x8f) == 160, "tile_q4_0x8f must be 160 bytes");
// Q8_0's tile with f32 row scales (288 B): lowbit fp8_e4m3_pt / fp8_e5m2_pt (one f32 scale per row,
// repeated per 32 columns: 9 bits per weight in memory against the file's 8).
struct tile_q8_0x8f {
    float d[8];
    int8_t qs[8][8][4];
};
static_assert(sizeof(tile_q8_0x8f) == 288, "tile_q8_0x8f must be 288 bytes");
// 8-bit asymmetric lowbit formats (int8_*_asym, w = d u + m, Q8_1 activations), 288 B: d, m fp16 (the
// group's per 32 columns), qs as Q8_0's tile holding u ^ 0x80 = u - 128. GEMV: the signed sums of Q8_0's
// tile plus 128 x (activation sum) (repack_act_sides) = sum u a exactly, then as Q4_1's tiles; bit-exact
// with dot_int_asym_q8_1__ref<8, G>.
struct tile_q8_1x8 {
    uint16_t d[8], m[8];
    int8_t qs[8][8][4];
};
static_assert(sizeof(tile_q8_1x8) == 288, "tile_q8_1x8 must be 288 bytes");
void gemv_int8ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_int8ax8_q8_1__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_int8a__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_int8a__avx2(int64_t nb, const void* tiles, void* dst);

// Q4_K / Q5_K scales and mins of 8 rows in the rows' own 96 bits each (layout above). Index [h][j][i]
// = row 4h + i, sub-block pair j: a 32-byte load holds rows 0-3 in its low and rows 4-7 in its high
// 128-bit lane, so that one in-lane byte shuffle spreads a sub-block's 8 values over the 8 int32 lanes.
struct k_scales_x8 {
    uint8_t sl[2][4][4];  // low 4 bits of sc[2j] | low 4 bits of sc[2j + 1] << 4
    uint8_t ml[2][4][4];  // the same for the mins
    uint8_t hb[2][4][4];  // bits 0-1: sc[2j] >> 4, 2-3: sc[2j + 1] >> 4, 4-5: mn[2j] >> 4, 6-7: mn[2j + 1] >> 4
};
static_assert(sizeof(k_scales_x8) == 96, "k_scales_x8 must be 96 bytes");

// 6-bit scale / min of sub-block s (0..7) of row r.
inline int k_scale(const k_scales_x8& k, int s, int r) {
    const int j = s / 2, o = s % 2;
    return ((k.sl[r / 4][j][r % 4] >> (4 * o)) & 15) | ((k.hb[r / 4][j][r % 4] >> (2 * o)) & 3) << 4;
}
inline int k_min(const k_scales_x8& k, int s, int r) {
    const int j = s / 2, o = s % 2;
    return ((k.ml[r / 4][j][r % 4] >> (4 * o)) & 15) | ((k.hb[r / 4][j][r % 4] >> (4 + 2 * o)) & 3) << 4;
}
inline void put_k_scale_min(k_scales_x8& k, int s, int r, int sc, int mn) {
    const int j = s / 2, o = s % 2;
    uint8_t &l = k.sl[r / 4][j][r % 4], &m = k.ml[r / 4][j][r % 4], &h = k.hb[r / 4][j][r % 4];
    l = static_cast<uint8_t>((l & (0xF0 >> (4 * o))) | (sc & 15) << (4 * o));
    m = static_cast<uint8_t>((m & (0xF0 >> (4 * o))) | (mn & 15) << (4 * o));
    h = static_cast<uint8_t>((h & ~(3 << (2 * o) | 3 << (4 + 2 * o))) | (sc >> 4) << (2 * o) | (mn >> 4) << (4 + 2 * o));
}

struct tile_q4_kx8 {
    uint16_t d[8], dmin[8];
    k_scales_x8 s;
    uint8_t qs[4][8][8][4];
};
static_assert(sizeof(tile_q4_kx8) == 1152, "tile_q4_kx8 must be 1152 bytes (8 x 144, the rows' bytes)");

struct tile_q5_kx8 {
    uint16_t d[8], dmin[8];
    k_scales_x8 s;
    uint8_t qs[4][8][8][4];
    uint8_t qh[8][8][4];
};
static_assert(sizeof(tile_q5_kx8) == 1408, "tile_q5_kx8 must be 1408 bytes (8 x 176, the rows' bytes)");

struct tile_q6_kx8 {
    uint16_t d[8];
    int8_t sc[8][8][2];   // [16-column sub-block pair][row][which of the pair]
    uint8_t q[2][3][8][8][4];
};
static_assert(sizeof(tile_q6_kx8) == 1680, "tile_q6_kx8 must be 1680 bytes");

// IQ4_XS: per 256 columns the rows' fp16 d, the signed 6-bit sub-block scales (ls - 32) and, per 32-column
// sub-block s, the rows' 16 code bytes in tile_q4_0x8's qs layout (byte 4c + i of row r at qs[s][c][r][i]:
// low nibble column 32s + 4c + i, high nibble 16 columns later). 4.31 bits per weight (the rows: 4.25).
struct tile_iq4_xsx8 {
    uint16_t d[8];
    int8_t sc[8][8];  // [sub-block][row]
    uint8_t qs[8][4][8][4];
};
static_assert(sizeof(tile_iq4_xsx8) == 1104, "tile_iq4_xsx8 must be 1104 bytes");

// Q2_K (672 B = 8 x 84, the rows' bytes re-arranged): d[r], dmin[r] fp16; sc[p][r][j] = the raw scale
// byte (low nibble scale, high nibble min) of sub-block 2p + j of row r; qs[h][c][r][i] = row r's
// qs[32h + 4c + i] (h < 2, c < 8): shifted right by 2g and masked, a 32-byte load of qs[h][c] gives the
// codes of columns 128h + 32g + 4c + i (sub-block 8h + 2g + c / 4) of the 8 rows. GEMV per (h, g) = pair
// p = 4h + g: c = 0..3 are sub-block 2p, c = 4..7 sub-block 2p + 1; int16 maddubs sums (<= 4 x 2 x 3 x
// 127 = 3048) widened by madd with the scale duplicated in both halves of each row's dword; mins as madd
// of (min 2p, min 2p + 1) with Q8_K's bsums pair, read in place. Float order of dot_q2_k_q8_k__ref.
struct tile_q2_kx8 {
    uint16_t d[8], dmin[8];
    uint8_t sc[8][8][2];
    uint8_t qs[2][8][8][4];
};
static_assert(sizeof(tile_q2_kx8) == 672, "tile_q2_kx8 must be 672 bytes");

// Q3_K (912 B = 8 x 114: +3.6% over the rows, the 6-bit scales stored unpacked): d[r] fp16;
// sc[p][r][j] = signed scale (minus 32) of sub-block 2p + j of row r; qs as Q2_K's tile; hm[c][r][i] =
// row r's hmask[4c + i], whose bit 4h + g is the high bit of column 128h + 32g + 4c + i. Codes
// u = low | high << 2 (0..7) by shifts and masks, int16 maddubs sums (<= 4 x 2 x 7 x 127 = 7112) widened
// per sub-block by madd with the duplicated scale; the -4 as 4 x (scale pairs . Q8_K bsums pairs),
// subtracted once per block. Float order of dot_q3_k_q8_k__ref.
struct tile_q3_kx8 {
    uint16_t d[8];
    int8_t sc[8][8][2];
    uint8_t qs[2][8][8][4];
    uint8_t hm[8][8][4];
};
static_assert(sizeof(tile_q3_kx8) == 912, "tile_q3_kx8 must be 912 bytes");

// 2-bit symmetric lowbit formats (int2_g32 / g64 / g128: w = d (u - 2); ternary_g64: d (u - 1)), 80 B =
// 8 x 10: d[r] fp16 (the group's scale repeated per 32 columns: 2.5 bits per weight in memory, the
// files 2.5 / 2.25 / 2.125 / 2.25); qs[h][r][i] bits 2k, 2k + 1 = code of column 16h + 4k + i (h < 2,
// k < 4, i < 4). One 32-byte load of qs[h], shifted right by 2k and masked to 2 bits, gives the 8 rows
// of columns 16h + 4k .. 16h + 4k + 3 as bytes in dword (r, i), Q4_0's shape: the GEMV runs maddubs
// against the 4 activation bytes broadcast, int16 sums (<= 8 x 2 x 3 x 127 = 6096) widened once, and
// the -Off enters as -Off x (activation sum) (repack_act_sides), as Q4_0's -8. The unpack gives
// Q4_0's integer GEMM kernel its gemm_block_q8x8 with unsigned codes u + 8 - Off (padding rows: 8 - Off
// with scale 0; the row packer writes 0 there).
struct tile_int2x8 {
    uint16_t d[8];
    uint8_t qs[2][8][4];
};
static_assert(sizeof(tile_int2x8) == 80, "tile_int2x8 must be 80 bytes");

// 2-bit asymmetric lowbit int2_g64_asym (w = d u + m, Q8_1 activations), 96 B: d[r], m[r] fp16 (the
// group's, repeated per 32 columns: 3 bits per weight in memory against the file's 2.5), qs as
// tile_int2x8's. GEMV as Q4_1's tiles (int2's code sums), bit-exact with dot_int_asym_q8_1__ref<2, 64>;
// the unpack gives the asymmetric GEMM its gemm_block_q8x8m.
struct tile_int2ax8 {
    uint16_t d[8], m[8];
    uint8_t qs[2][8][4];
};
static_assert(sizeof(tile_int2ax8) == 96, "tile_int2ax8 must be 96 bytes");
void gemv_int2ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_int2ax8_q8_1__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_int2a__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_int2a__avx2(int64_t nb, const void* tiles, void* dst);

// 3-bit symmetric lowbit formats (int3_g32 / int3_g128: w = d (u - 4)), 112 B = 8 x 14: d[r] fp16 (the
// group's scale per 32 columns: int3_g128's tiles hold 3.5 bits per weight against its file's 3.125);
// qs: the codes' low 2 bits as tile_int2x8's qs; hb[r][i] bit 4h + k = bit 2 of the code of column
// 16h + 4k + i. A load of qs[h] shifted right by 2k and masked, ORed with hb shifted to bit 2, gives
// the 8 rows' codes 0..7 of columns 16h + 4k .. + 3 in Q4_0's shape; the GEMV runs maddubs (int16 sums
// <= 8 x 2 x 7 x 127 = 14224) with -4 x (activation sum) from repack_act_sides. The unpack gives Q4_0's
// integer GEMM the codes u + 4 (padding rows: 4 with scale 0).
struct tile_int3x8 {
    uint16_t d[8];
    uint8_t qs[2][8][4];
    uint8_t hb[8][4];
};
static_assert(sizeof(tile_int3x8) == 112, "tile_int3x8 must be 112 bytes");
// 3-bit asymmetric formats (int3_*_asym, w = d u + m, Q8_1 activations): tile_int3x8 with the rows'
// minimums, 128 B; GEMV as Q4_1's tiles with int3's code sums, bit-exact with dot_int_asym_q8_1__ref<3, G>.
struct tile_int3ax8 {
    uint16_t d[8], m[8];
    uint8_t qs[2][8][4];
    uint8_t hb[8][4];
};
static_assert(sizeof(tile_int3ax8) == 128, "tile_int3ax8 must be 128 bytes");
void gemv_int3ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_int3ax8_q8_1__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_int3a__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_int3a__avx2(int64_t nb, const void* tiles, void* dst);

// TQ2_0 (528 B = 8 x 66, the rows' bytes): d[r] fp16 (one per 256 columns); qs[g][r][i] bits 2k, 2k + 1 =
// code (0..3, w = d (code - 1)) of column 16g + 4k + i (g < 16, k < 4, i < 4), the same per-16-column
// shape as tile_int2x8: one 32-byte load shifted right by 2k and masked gives columns 16g + 4k ..
// 16g + 4k + 3 of the 8 rows in Q4_0's shape. GEMV with Q8_K activations: per 256-block the int16
// maddubs sums of 8 groups (<= 32 x 2 x 3 x 127 = 24384) widened twice, minus the activation sum (its
// bsums), then sum + (d_a d_w) float(.), as dot_tq2_0_q8_k__ref. The unpack gives Q4_0's integer GEMM
// its blocks with codes + 7 (padding rows: 7 with scale 0; the row packer writes 0 there).
struct tile_tq2_0x8 {
    uint16_t d[8];
    uint8_t qs[16][8][4];
};
static_assert(sizeof(tile_tq2_0x8) == 528, "tile_tq2_0x8 must be 528 bytes");
void gemv_tq2_0x8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_tq2_0x8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_tq2_0__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_tq2_0__avx2(int64_t nb, const void* tiles, void* dst);

// FP8 (lowbit fp8_e4m3 / fp8_e5m2, block_fp8 = fp16 d + 32 codes, Q8_0's bytes): tile_q8_0x8 as it is,
// the codes in place of Q8_0's: dword (g, r) of a block holds row r's codes of columns 4g .. 4g + 3.
// The kernels read f32 activations prepared by repack_kernels::prep: x * 2^60 (fp8_act_prep), so the
// AVX2 decode below works on normal floats (tile GEMV / GEMM math):
//   GEMV: y[r] = sum_b d[b][r] * (sum_j fp8(u[b][r][j]) * x'[32b + j]) * 2^-60   (x' = x * 2^60)
//   __ref: per block the float sum in column order, times 2^-60 (exact), times d, added in block order:
//   dot_fp8_<e>_f32__ref's products and order, so it equals that per-row dot bit for bit.
//   __avx2: a 32-byte load of dword (g, r) is decoded without a conversion instruction: a 16-bit
//   arithmetic shift right (4 for E4M3, 3 for E5M2) of each word puts the code in its top byte on the
//   f32 exponent / mantissa bits of that word's dword half, and an AND with 0x87F00000 (0x8FE00000)
//   keeps sign, exponent and mantissa: f32 bits of fp8 * 2^-120 (2^-112), fp8 subnormals on f32
//   subnormals, exact. Codes in the low byte of a word are shifted up 8 first; codes in the low word
//   of a dword shifted up 16 after. One load -> 4 vectors (the 8 rows of 4 columns) in 5 shifts and
//   4 ANDs, each FMA'd with its column's x' broadcast; per block the 4 sums are added and FMA'd with
//   d; y = acc * 2^60 (E5M2: x' and the factor differ, 2^56). Float order differs from __ref.
//   Prompts: the integer GEMM of gemm_q.hpp ("FP8 prompts"), fed by repack_unpack_fp8_* (there):
//   per row and block the codes scaled by a power of two into int16, against 12-bit activations.
// FP8 codes that are NaN / Inf in OCP FP8 (never written by the encoders) decode as finite values.
// Per-row FP8 (fp8_*_pt): tile_q8_0x8f, the same kernels with f32 row scales.

// F16 / BF16 (16-bit floats, no scales): tile_h16x8, v[j][r] = row r's value of column 32b + j in tile
// block b (32 columns x 8 rows, 512 B, the rows' size). A tile is then column-major: the 8 rows of
// column c lie at halves 8c .. 8c + 7. Activations f32 as they are (act f32, no prep).
//   GEMV: y[r] = sum_c h(v[c][r]) x[c]
//   __ref: the float sum in column order, dot_<f16|bf16>_f32__ref's products and order (bit for bit);
//   __avx2: one 16-byte load per column -> 8 rows (vcvtph2ps / a 16-bit shift), FMA'd with x[c]
//   broadcast into 4 accumulators (columns c mod 4), added at the end. Float order differs from __ref.
//   Prompt GEMM (gemm_tile_fn, AVX2): the 16 x 6 panel kernel reads two tiles' columns (16 rows)
//   straight from memory and converts them in registers (gemm_panel_h16x2__avx2): no f32 panel.
struct tile_h16x8 {
    uint16_t v[32][8];
};
static_assert(sizeof(tile_h16x8) == 512, "tile_h16x8 must be 512 bytes");
void gemv_f16x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_bf16x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_f16x8_f32__avx2(int64_t nb, const void* tiles, const void* a, const int32_t* side,
                                            float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_bf16x8_f32__avx2(int64_t nb, const void* tiles, const void* a,
                                             const int32_t* side, float* y, int n_rows);

// Per-activation-row side values the tiled kernels need, computed once per row (not per tile):
//   Q8_0 (for Q4_0): [n_blocks] int32: -8 x (sum of the block's 32 codes)
//   Q8_0 (for Q5_0): [n_blocks] int32: -16 x (sum of the block's 32 codes)
//   Q8_0 (for Q8_0): unused
//   Q8_K (for Q4_K, Q5_K): [n_blocks][4] int32: int16 pair (bs[2p], bs[2p+1]), bs[s] = sum over sub-block s of 32
//   Q8_K (for Q6_K): unused (the kernel reads Q8_K's own bsums)
// repack_act_side_count: int32 values per activation row of n_cols columns.
int64_t repack_act_side_count(type t, int64_t n_cols);
void repack_act_sides(type t, const void* a, int64_t n_cols, int32_t* side);

// y[r] = row r of the tile . a, r < n_rows (1..8), from nb tile blocks at `tiles`. Never throws.
using gemv_tile_fn = void (*)(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y,
                              int n_rows);
// Two tiles of one matrix in lockstep, block by block: tile a's results to y_a (rows_a rows), tile b's
// to y_b, each bit for bit what gemv_tile_fn gives it. matmul_tiled pairs tiles from two distant parts
// of the matrix, so that each thread reads two weight streams at once: on the 2-core Zen 3 VM two
// streams per core kept more reads in flight than one (a standalone Q4_0 loop: 20 -> 26-29 GB/s on one
// core, 33-35 -> 36-38 GB/s on two).
using gemv_tile2_fn = void (*)(int64_t nb, const void* tiles_a, const void* tiles_b, const void* a, const int32_t* side,
                               float* y_a, float* y_b, int rows_a, int rows_b);

void gemv_q4_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_iq4_nlx8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_iq4_nlx8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                                const int32_t* side, float* y, int n_rows);
void repack_unpack_iq4_nl__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_iq4_nl__avx2(int64_t nb, const void* tiles, void* dst);
// MXFP4 on the Q4_0 tile (nibbles as stored, d[r] = the block's 2^(e - 128) as an exact fp16, so only
// for blocks with e in [k_mxfp4_tile_e_min, k_mxfp4_tile_e_max]: repack_rows_supported): weights
// k_mxfp4_kvalues[code] times d, as dot_mxfp4_q8_0__ref.
constexpr int k_mxfp4_tile_e_min = 104, k_mxfp4_tile_e_max = 143;  // 2^-24 .. 2^15
void gemv_mxfp4x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_mxfp4x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_mxfp4__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_mxfp4__avx2(int64_t nb, const void* tiles, void* dst);
// lowbit nf4 on the Q4_0 tile (codes, the 64-weight block's scale repeated per 32 columns): weights
// k_nf4_i8[code] (kernels/dot.hpp) times d / 127, as dot_nf4_q8_0__ref.
void gemv_nf4x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_nf4x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                             const int32_t* side, float* y, int n_rows);
void repack_unpack_nf4__ref(int64_t nb, const void* tiles, void* dst);
// lowbit nf4_dq on tile_q4_0x8f (d[r] = D * sc as f32): k_nf4_i8[code] times d / 127, as
// dot_nf4_dq_q8_0__ref.
void gemv_nf4_dqx8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_nf4_dqx8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                                const int32_t* side, float* y, int n_rows);
void repack_unpack_nf4_dq__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_nf4_dq__avx2(int64_t nb, const void* tiles, void* dst);
// lowbit fp4_e2m1 the same way with its codebook k_fp4_e2m1_x2 (dot.hpp) and d / 2, as
// dot_fp4_e2m1_q8_0__ref.
void gemv_fp4_e2m1x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_fp4_e2m1x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                                  const int32_t* side, float* y, int n_rows);
void repack_unpack_fp4_e2m1__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_fp4_e2m1__avx2(int64_t nb, const void* tiles, void* dst);
// IQ4_XS over Q8_K activations: bit-exact with dot_iq4_xs_q8_k__ref (the integer GEMM's arithmetic).
void gemv_iq4_xsx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_iq4_xsx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                                const int32_t* side, float* y, int n_rows);
void repack_unpack_iq4_xs__ref(int64_t nb, const void* tiles, void* dst);
// IQ3_XXS / IQ3_S on IQ4_XS's tile (tile_iq4_xsx8): each weight's signed grid value as a 4-bit code,
// magnitude level | sign << 3, into the format's 16-entry table (k_iq3xxs_lut16: +-{4, 12, ..., 52, 62};
// k_iq3s_lut16: +-{1, 3, ..., 15}); sc[s][r] = the sub-block scale 2 sc + 1; d[r] = the block's fp16 d.
// 4.31 bits per weight in memory against the rows' 3.06 (IQ3_XXS) / 3.44 (IQ3_S): the grid's 8-bit
// (9-bit) indices of 4 weights take one scalar table load each, which left the per-row dots compute
// bound at ~4 GB/s per thread; a 4-bit code is one pshufb. GEMV over Q8_K activations, per 256-block
// sum += (d_a * d[r]) * float(sum_s sc[s][r] sum_j v[code_j] a_j), times 1/4 at the end for IQ3_XXS:
// bit-exact with dot_iq3_xxs_q8_k__ref / dot_iq3_s_q8_k__ref. The unpack gives, per 32-column sub-block,
// the signed values and the scale d sc (IQ3_XXS: times 1/4) that gemm_pack_iq3_*'s rows give (Q8_0's GEMM).
extern const int8_t k_iq3xxs_lut16[16];
extern const int8_t k_iq3s_lut16[16];
void gemv_iq3_xxsx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_iq3_xxsx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                                 const int32_t* side, float* y, int n_rows);
void gemv_iq3_sx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_iq3_sx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                               const int32_t* side, float* y, int n_rows);
void repack_unpack_iq3_xxs__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_iq3_xxs__avx2(int64_t nb, const void* tiles, void* dst);
void repack_unpack_iq3_s__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_iq3_s__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_nf4__avx2(int64_t nb, const void* tiles, void* dst);
void gemv_q4_1x8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q4_1x8_q8_1__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void gemv_q5_1x8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q5_1x8_q8_1__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void gemv_q5_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q5_0x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void gemv_q8_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_q4_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_q5_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_q6_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q5_kx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q6_kx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q4_0x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q8_0x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q4_kx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);

void gemv_q2_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q2_kx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void repack_unpack_q2_k__ref(int64_t nb, const void* tiles, void* dst);
void gemv_q3_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_q3_kx8_q8_k__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void repack_unpack_q3_k__ref(int64_t nb, const void* tiles, void* dst);
// int2 / ternary tiles, Off = 2 / 1; bit-exact with dot_int_sym_q8_0__ref<2, G> / dot_ternary_g64_q8_0__ref.
// The AVX2 GEMV takes the -Off through the side values (repack_act_sides), so one kernel serves both.
template <int Off>
void gemv_int2x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_int2x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
template <int Off>
void repack_unpack_int2__ref(int64_t nb, const void* tiles, void* dst);
template <int Off>
LOWBIT_X86_KERNEL void repack_unpack_int2__avx2(int64_t nb, const void* tiles, void* dst);
// int3 tiles: bit-exact with dot_int_sym_q8_0__ref<3, G>.
void gemv_int3x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_int3x8_q8_0__avx2(int64_t nb, const void* tiles, const void* a,
                                              const int32_t* side, float* y, int n_rows);
void repack_unpack_int3__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_int3__avx2(int64_t nb, const void* tiles, void* dst);
void gemv_fp8_e4m3x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_fp8_e5m2x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_fp8_e4m3x8_f32__avx2(int64_t nb, const void* tiles, const void* a,
                                                 const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_fp8_e5m2x8_f32__avx2(int64_t nb, const void* tiles, const void* a,
                                                 const int32_t* side, float* y, int n_rows);
// Per-row FP8 (fp8_*_pt) on tile_q8_0x8f: the same kernels with the rows' f32 scale, as dot_fp8_ref<., true>.
void gemv_fp8_e4m3_ptx8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
void gemv_fp8_e5m2_ptx8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_fp8_e4m3_ptx8_f32__avx2(int64_t nb, const void* tiles, const void* a,
                                                    const int32_t* side, float* y, int n_rows);
LOWBIT_X86_KERNEL void gemv_fp8_e5m2_ptx8_f32__avx2(int64_t nb, const void* tiles, const void* a,
                                                    const int32_t* side, float* y, int n_rows);
// FP8's activation row prep: dst = x * 2^60 (E4M3) / 2^56 (E5M2) as f32 (n floats).
void fp8_e4m3_act_prep(const float* x, void* dst, int64_t n);
void fp8_e5m2_act_prep(const float* x, void* dst, int64_t n);

// A float prompt GEMM straight from the tiles (F16 / BF16): rows of n_tiles consecutive tiles
// (tile_bytes apart; n_tiles <= k_tile_gemm_max_tiles, n_rows valid rows in all) times n_tokens
// activation rows (prepared by repack_kernels::prep where set) interleaved by k_tile_gemm_tokens
// tokens: block i holds xi[T k i + T j + t] = x_{first + t}[j] for t < count (T = k_tile_gemm_tokens;
// first, count = panel_block(n_tokens, i), gemm_f32.hpp; other slots unused). y[t * ldy + r] = row r . x_t.
// Never throws.
constexpr int k_tile_gemm_tokens = k_panel_tokens;  // the panel kernel's token block (gemm_f32.hpp)
constexpr int k_tile_gemm_kc = 2048;
constexpr int k_tile_gemm_max_tiles = 4;
using gemm_tile_fn = void (*)(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles, int64_t n_rows,
                              const float* xi, int64_t n_tokens, float* y, int64_t ldy);
// F16 / BF16 tiles: per slice and 6-token block the panel kernel reads
// tiles 2g and 2g + 1 (an odd last tile is read twice, its copy's rows not stored).
LOWBIT_X86_KERNEL void gemm_f16x8_f32__avx2(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles,
                                            int64_t n_rows, const float* xi, int64_t n_tokens, float* y,
                                            int64_t ldy);
LOWBIT_X86_KERNEL void gemm_bf16x8_f32__avx2(int64_t nb, const uint8_t* tiles, size_t tile_bytes, int n_tiles,
                                             int64_t n_rows, const float* xi, int64_t n_tokens, float* y,
                                             int64_t ldy);

// One tile (nb tile blocks) -> nb packed blocks of the prompt GEMM (gemm_block_q8x8 / gemm_block_q4_kx8
// (Q4_K, Q5_K) / gemm_block_q6_kx8),
// byte for byte what gemm_pack_<t> writes for the same 8 rows. Never throws.
using repack_unpack_fn = void (*)(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q4_0__ref(int64_t nb, const void* tiles, void* dst);
// Q4_1 tiles (Q4_1, int4_g32_asym) -> gemm_block_q8x8m (the asymmetric GEMM's block).
void repack_unpack_q4_1__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q4_1__avx2(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q5_0__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q5_0__avx2(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q8_0__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q4_k__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q5_k__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_q6_k__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q5_k__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q6_k__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q4_0__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q8_0__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_q4_k__avx2(int64_t nb, const void* tiles, void* dst);

struct repack_kernels {
    type act = type::f32;        // activation format of the GEMV (q8_0 / q8_k)
    int block = 0;               // columns per tile block
    size_t tile_block_bytes = 0; // bytes per tile block (8 rows)
    gemv_tile_fn gemv = nullptr;
    repack_unpack_fn unpack = nullptr;
    // Activation rows for gemv / gemm: prep(x, dst, n_cols) when set (FP8), else quantize_act_kernel(act).
    void (*prep)(const float* x, void* dst, int64_t n) = nullptr;
    gemm_tile_fn gemm = nullptr;  // float prompt GEMM from the tiles (F16 / BF16 at AVX2), or none
    gemv_tile2_fn gemv2 = nullptr;  // gemv over two tiles in lockstep (AVX2), or none
};
// The kernels for weight type `t` at `tier` (falling back to __ref); block == 0 and null functions when
// `t` has no tiled layout.
repack_kernels repack_kernel(type t, isa_tier tier);
// The two-tile twin of an AVX2 tile GEMV (repack_kernels::gemv2), or null where it has none (the float
// kernels of FP8 / F16 / BF16).
LOWBIT_X86_KERNEL gemv_tile2_fn gemv2_kernel_avx2(gemv_tile_fn one);
// The generic tier's 128-bit version of a __ref tile GEMV (kernels/repack_simd128.cpp: SSSE3 on x86,
// Advanced SIMD on aarch64), bit-exact with it; `ref` itself where there is none. The generic tier has one
// for every tile layout: Q4_0 and Q8_0 (also the symmetric lowbit int4 / int8 formats), Q4_1 (also int4
// asymmetric), Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, IQ3_XXS, IQ3_S, the codebook formats on
// Q4_0's tile (IQ4_NL, MXFP4, NF4, NF4 with double-quantized scales, FP4), TQ2_0 (also TQ1_0), the lowbit
// int2 / ternary / int3 tiles and their asymmetric twins, int8 asymmetric, FP8 (per group and per row),
// F16 and BF16. Weak and never called where the file is not built (LOWBIT_HAVE_SIMD128 0).
LOWBIT_SIMD128_KERNEL gemv_tile_fn gemv_kernel_simd128(gemv_tile_fn ref);
// The same for the tile unpackers of the prompt path (Q4_0's).
LOWBIT_SIMD128_KERNEL repack_unpack_fn unpack_kernel_simd128(repack_unpack_fn ref);
#if LOWBIT_HAVE_SIMD128_DOTPROD
// aarch64: the same kernels built with the dot-product extension (kernels/repack_simd128_dotprod.cpp,
// -march=armv8.2-a+dotprod: one sdot per 4 rows x 4 columns), for CPUs that have it (dotprod_active()).
namespace dot {
gemv_tile_fn gemv_kernel_simd128(gemv_tile_fn ref);
repack_unpack_fn unpack_kernel_simd128(repack_unpack_fn ref);
}  // namespace dot
#endif
// Whether matrices of type `t` with rows of n_cols can be repacked (a tiled layout exists and n_cols
// is a whole number of blocks).
bool repack_supported(type t, int64_t n_cols);
// repack_supported, and the rows' values fit the tiles: MXFP4 only when every block's exponent lies in
// [k_mxfp4_tile_e_min, k_mxfp4_tile_e_max] (its scale is then an exact fp16); every other type: any rows.
bool repack_rows_supported(type t, const uint8_t* w, size_t row_stride, int64_t n_rows, int64_t n_cols);

// Rows r0 .. r0 + n_rows (1..8) of the stored rows at `w` (stride row_stride) -> one tile at dst
// (n_cols / block tile blocks). Never throws.
void repack_tile(type t, const uint8_t* w, size_t row_stride, int n_rows, int64_t n_cols, void* dst);

}  // namespace kernels

// A weight matrix repacked into ceil(n_rows / 8) tiles; tile i (rows 8i .. 8i+7) is
// n_blocks tile blocks, contiguous. 64-byte aligned memory, shared: a matrix can be a view into the
// tiles of a stack of matrices (stack_repacked).
struct repacked_matrix {
    type t = type::f32;
    int64_t n_rows = 0, n_cols = 0;
    int64_t n_tiles = 0, n_blocks = 0;  // tiles, and tile blocks per tile
    size_t tile_bytes = 0;              // bytes per tile (n_blocks tile blocks)
    std::shared_ptr<const uint8_t> data;

    const uint8_t* tile(int64_t i) const { return data.get() + static_cast<size_t>(i) * tile_bytes; }
    size_t n_bytes() const { return static_cast<size_t>(n_tiles) * tile_bytes; }
};

// Repacks n_rows stored rows of type t (row stride row_stride, n_cols columns) over n_threads threads.
// Throws lowbit::error if repack_supported(t, n_cols) is false or memory cannot be allocated.
std::shared_ptr<const repacked_matrix> repack_matrix(type t, const uint8_t* w, size_t row_stride, int64_t n_rows,
                                                     int64_t n_cols, int n_threads = 0);

// The matrices' rows one after another as one repacked matrix (each part's n_rows a multiple of 8,
// all of one type and n_cols): one buffer holds the stack's tiles, and each part is replaced by a view
// into it, so memory does not grow. Generation then runs the parts that read the same input (q, k, v;
// gate, up) as one product, one contiguous stream of weights and one parallel region.
// Throws lowbit::error if the parts do not fit together or memory cannot be allocated.
std::shared_ptr<const repacked_matrix> stack_repacked(std::vector<std::shared_ptr<const repacked_matrix>>& parts);

// A load-time copy of stored rows for the matrices without tiles (F32, and the growing types that
// repack_mode::compact leaves as rows): the parts' bytes one after another in one buffer, 2 MiB aligned and advised
// into transparent huge pages as the tiles are, so that generation streams them with fewer TLB misses
// than from the file's 4 KiB page-cache pages, and parts that read one input (q, k, v; gate, up) can
// run as one product over contiguous rows. Copied by n_threads threads (0: all).
// Throws lowbit::error if memory cannot be allocated.
std::shared_ptr<const uint8_t> copy_rows(const std::vector<std::pair<const uint8_t*, size_t>>& parts,
                                         const std::string& what, int n_threads = 0);

// Whether [p, p + n) lies in one read-only, file-backed mapping of this process (/proc/self/maps;
// false where that cannot be read): rows there can be replaced by a repacked copy without doubling
// memory, since release_file_pages can then hand their pages back.
bool in_readonly_file_mapping(const void* p, size_t n);

// Bytes repack_matrix takes for n_rows x n_cols weights of type t (0 when repack_supported is false).
size_t repacked_bytes(type t, int64_t n_rows, int64_t n_cols);

// The memory the system reports available (Linux: MemAvailable of /proc/meminfo), in bytes; 0 where
// that cannot be read.
size_t available_memory_bytes();

// Tells the kernel that [p, p + n) of a read-only file mapping will not be read again soon, so its
// pages leave this process's resident set (a later read faults them back in from the file). Does
// nothing (returns false) unless the whole range lies in one read-only, file-backed mapping of this
// process (checked in /proc/self/maps): anonymous memory is never touched.
bool release_file_pages(const void* p, size_t n);

}  // namespace lowbit
