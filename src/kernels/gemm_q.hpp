// Integer GEMM for prompt processing: y[t][r] = sum_k W[r][k] x[t][k] for many tokens at once, with
// W in its stored format (Q4_0, Q5_0, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS) and the
// activations quantized once per call to Q8_0 / Q8_K.
//
// matmul (kernels/matmul.cpp) drives it: for each group of 8 weight rows it first *packs* the rows
// into a small per-thread buffer (an interleaved copy, L2-resident, built once per call and reused by
// every token), then runs a micro-kernel that computes an 8-row x up-to-4-token tile: the 8 rows sit
// in the 8 int32 / float lanes of an AVX2 register, so a 32-byte weight load feeds 4 tokens and no
// horizontal sum is ever needed.
//
// Packed layout ("x8"): per block of 32 columns (Q4_0/Q8_0) or super-block of 256 (K-quants), groups of 4
// consecutive columns; group g holds 4 codes of row 0, then 4 codes of row 1, ... row 7 (32 bytes):
//   q[g][r][i] = code of W[r][4g + i].
// With a token's 4 activation bytes broadcast to all lanes, _mm256_maddubs_epi16 + add gives each lane
// (row) its sum over those 4 columns.
//
// Math per (row r, token t), all integer sums exact (|codes| <= 15 or 127, |activations| <= 127):
//   Q4_0 . Q8_0:  acc = fma(float(sum_j q[j] a[j] - 8 sum_j a[j]), d_w * d_a, acc)       per block
//                 (codes kept unsigned 0..15 so maddubs applies; the -8 goes through the block sum)
//   Q5_0 . Q8_0:  as Q4_0 with codes 0..31 (nibble | 5th bit << 4) and -16 in place of -8
//   Q8_0 . Q8_0:  acc = fma(float(sum_j q[j] a[j]), d_w * d_a, acc)                       per block
//   Q4_K . Q8_K:  acc = acc + fma(d_a * d, float(sum_s sc[s] sum_j q a), -((d_a * dmin) * float(sum_s m[s] bs[s])))
//                                                                                        per super-block
//                 (bs[s]: the activation sum over sub-block s of 32, from Q8_K's bsums)
//   Q6_K . Q8_K:  acc = fma(d_a * d, float(sum_s sc[s] sum_j (q - 32) a), acc)              per super-block
//                 (s: 16-column sub-blocks, sc signed; the -32 enters as int16 start values, as Q4_0's -8)
//   Q5_K . Q8_K:  as Q4_K (same packed block) with codes 0..31 (nibble | 5th bit << 4)
//   Q3_K . Q8_K:  acc = fma(d_a * d, float(sum_s sc[s] sum_j q a - 4 sum_s sc[s] bs16[s]), acc)
//                 (codes 0..7 = 2 bits | hmask bit << 2, weight = code - 4; sc = 6-bit scale - 32;
//                 the -4 enters once per super-block against Q8_K's bsums)
//   Q2_K . Q8_K:  acc = acc + fma(d_a * d, float(sum_s sc[s] sum_j q a), -((d_a * dmin) * float(sum_s m[s] bs16[s])))
//                 (s: 16-column sub-blocks, codes 0..3, sc/m 4-bit; bs16 = Q8_K's bsums)
//   IQ4_NL . Q8_0: as Q8_0: the packer stores the codebook values kvalues_iq4nl[nibble] (signed, -127..113)
//                 in gemm_block_q8x8, so Q8_0's signed x signed micro-kernel runs unchanged
//   Q4_1 . Q8_1:  acc = fma(float(sum_j q[j] a[j]), d_w * d_a, acc); acc = fma(m_w, s_a, acc)  per block
//                 (codes unsigned 0..15, weight d_w q + m_w; s_a = the Q8_1 block's s, d_a x sum a as
//                 stored in fp16; also lowbit int4_g32_asym and int2_g64_asym, codes 0..15 / 0..3)
//   IQ4_XS . Q8_K: acc = fma(d_a * d, float(sum_s sc[s] sum_j v[j] a[j]), acc)              per super-block
//                 (s: 32-column sub-blocks, sc = 6-bit scale - 32, v = kvalues_iq4nl[nibble] signed;
//                 |sum| <= 8 * 32 * 32 * 127 * 127 < 2^31, exact)
// The float operations are the same, in the same order, in __ref and __avx2, so the micro-kernels
// agree bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/x86_kernel.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/quant_act.hpp"
#include "lowbit/types.hpp"

namespace lowbit::kernels {

constexpr int k_gemm_rows = 8;    // weight rows per packed group (one per lane)
constexpr int k_gemm_tokens = 4;  // most tokens per micro-kernel call

// Q4_0 / Q5_0 / Q8_0 packed block: 32 columns x 8 rows (288 bytes).
struct gemm_block_q8x8 {
    float d[8];            // row scales (0 for padding rows)
    int8_t q[8][8][4];     // [group][row][i]: Q4_0 codes 0..15, Q5_0 0..31, Q8_0 codes as stored
};
static_assert(sizeof(gemm_block_q8x8) == 288, "gemm_block_q8x8 must be 288 bytes");

// Asymmetric packed block (Q4_1, lowbit int4_g32_asym / int2_g64_asym): 32 columns x 8 rows (320 bytes).
struct gemm_block_q8x8m {
    float d[8], m[8];      // row scales and minimums (0 for padding rows)
    int8_t q[8][8][4];     // [group][row][i] codes 0..15 (the 8-bit formats: u - 128, signed)
};
static_assert(sizeof(gemm_block_q8x8m) == 320, "gemm_block_q8x8m must be 320 bytes");

// Q4_K packed super-block: 256 columns x 8 rows (2496 bytes).
struct gemm_block_q4_kx8 {
    float d[8], dmin[8];
    int16_t sc[8][16];     // [sub-block s][2r] = [2r+1] = 6-bit scale of row r (a madd operand)
    int16_t mn[4][16];     // [pair p][2r] = min of sub-block 2p of row r, [2r+1] = min of sub-block 2p+1
    uint8_t q[64][8][4];   // [group][row][i] codes 0..15
};
static_assert(sizeof(gemm_block_q4_kx8) == 2496, "gemm_block_q4_kx8 must be 2496 bytes");

// Q6_K packed super-block: 256 columns x 8 rows (2592 bytes).
struct gemm_block_q6_kx8 {
    float d[8];
    int16_t sc[16][16];    // [16-column sub-block s][2r] = [2r+1] = signed scale of row r
    uint8_t q[64][8][4];   // [group][row][i] codes 0..63 (weight = code - 32)
};
static_assert(sizeof(gemm_block_q6_kx8) == 2592, "gemm_block_q6_kx8 must be 2592 bytes");

// Q3_K packed super-block: 256 columns x 8 rows (2848 bytes).
struct gemm_block_q3_kx8 {
    float d[8];
    int16_t sc[16][16];    // [16-column sub-block s][2r] = [2r+1] = signed scale of row r
    int16_t sp[8][16];     // [pair p][2r] = scale of sub-block 2p of row r, [2r+1] = of sub-block 2p+1
    uint8_t q[64][8][4];   // [group][row][i] codes 0..7 (weight = code - 4)
};
static_assert(sizeof(gemm_block_q3_kx8) == 2848, "gemm_block_q3_kx8 must be 2848 bytes");

// Q2_K packed super-block: 256 columns x 8 rows (2880 bytes).
struct gemm_block_q2_kx8 {
    float d[8], dmin[8];
    int16_t sc[16][16];    // [16-column sub-block s][2r] = [2r+1] = 4-bit scale of row r
    int16_t mn[8][16];     // [pair p][2r] = min of sub-block 2p of row r, [2r+1] = min of sub-block 2p+1
    uint8_t q[64][8][4];   // [group][row][i] codes 0..3
};
static_assert(sizeof(gemm_block_q2_kx8) == 2880, "gemm_block_q2_kx8 must be 2880 bytes");

// Row r of a packed Q3_K / Q2_K block, written the same way by the row packers (gemm_pack_q3_k__ref,
// gemm_pack_q2_k__ref) and by the load-time tiles' unpack (repack_unpack_q3_k__ref / q2_k__ref):
// scale(s) is sub-block s's signed scale (Q3_K, minus 32) or raw scale byte (Q2_K: low nibble scale,
// high nibble min); code(c) the code of column c (Q3_K: low | high << 2, Q2_K: 0..3).
template <class Scale, class Code>
inline void put_q3_k_row(gemm_block_q3_kx8& o, int r, float d, Scale scale, Code code) {
    o.d[r] = d;
    for (int s = 0; s < 16; ++s) {
        const int8_t v = static_cast<int8_t>(scale(s));
        o.sc[s][2 * r] = o.sc[s][2 * r + 1] = v;
        o.sp[s / 2][2 * r + s % 2] = v;
    }
    for (int c = 0; c < 256; ++c) o.q[c / 4][r][c % 4] = static_cast<uint8_t>(code(c));
}
template <class Scale, class Code>
inline void put_q2_k_row(gemm_block_q2_kx8& o, int r, float d, float dmin, Scale raw_scale, Code code) {
    o.d[r] = d;
    o.dmin[r] = dmin;
    for (int s = 0; s < 16; ++s) {
        const int raw = raw_scale(s);
        o.sc[s][2 * r] = o.sc[s][2 * r + 1] = static_cast<int16_t>(raw & 0x0F);
        o.mn[s / 2][2 * r + s % 2] = static_cast<int16_t>(raw >> 4);
    }
    for (int c = 0; c < 256; ++c) o.q[c / 4][r][c % 4] = static_cast<uint8_t>(code(c));
}

// IQ4_XS packed super-block: 256 columns x 8 rows (2336 bytes).
struct gemm_block_iq4_xsx8 {
    float d[8];
    int16_t sc[8][16];     // [32-column sub-block s][2r] = [2r+1] = signed scale (ls - 32) of row r
    int8_t q[64][8][4];    // [group][row][i] codebook values kvalues_iq4nl[nibble]
};
static_assert(sizeof(gemm_block_iq4_xsx8) == 2336, "gemm_block_iq4_xsx8 must be 2336 bytes");

// int32 side values per Q8_K block (see gemm_act::s).
constexpr int k_q8_k_sides = 20;
constexpr int k_q8_1_sides = 2;  // gemm_act::s values per Q8_1 block

// Quantized activations of n_tokens rows plus per-block side values the micro-kernels need.
struct gemm_act {
    const uint8_t* q = nullptr;  // [n_tokens] rows of Q8_0 / Q8_K blocks
    size_t row_bytes = 0;        // bytes per token row in q
    const float* d = nullptr;    // [n_tokens][n_blocks] block scales as float
    const int32_t* s = nullptr;  // Q8_1: [n_tokens][n_blocks][2]: the block's s (fp16 d x sum of codes) as f32
                                 //       bits, and the sum of its codes
                                 // Q8_0: [n_tokens][n_blocks] int16 pair (-8 x sum of codes in columns
                                 //       4g, 4g+1; -8 x sum in columns 4g+2, 4g+3): Q4_0's offset
                                 // Q8_K: [n_tokens][n_blocks][20]: 0..3: int16 pairs (bs[2p], bs[2p+1]),
                                 //       bs = sum per 32 (Q4_K/Q5_K mins); 4..19: per 16-column sub-block s the
                                 //       int16 pair -32 x (sum over columns 4g, 4g+1; over 4g+2, 4g+3) (Q6_K)
    int64_t n_blocks = 0;        // blocks per row
};

// Packs rows w[0 .. n_rows) (n_rows 1..8, row stride `row_stride` bytes, k columns) into k / block
// packed blocks at dst; rows n_rows..7 are zero. Never throws.
using gemm_pack_fn = void (*)(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
// y[t * ldy + r] for t < n_tok (1..4), r < n_rows (1..8) from packed weights `pw` (nb blocks) and
// activation tokens t0 .. t0 + n_tok of `a`. Never throws.
using gemm_q_fn = void (*)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                           int64_t ldy, int n_rows);

void gemm_pack_q4_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_q5_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_q8_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_nf4__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
// Q4_1 rows into gemm_block_q8x8m.
void gemm_pack_q4_1__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q4_1__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
void gemm_q4_1_q8_1_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q4_1_q8_1_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
// The asymmetric kernel with signed codes c = u - 128 (the 8-bit asymmetric lowbit formats): the integer
// sum is sum c a (Q8_0's sign trick) + 128 sum a = sum u a, then as gemm_q4_1_q8_1_8x4.
void gemm_q8_1s_q8_1_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q8_1s_q8_1_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                 int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_pack_fp4_e2m1__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_nf4_dq__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_nf4_dq__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                              void* dst);
// lowbit's integer formats (kernels/int_formats.hpp, LOWBIT_INT_FORMATS): Bits 8 symmetric for Q8_0's
// kernel (codes u ^ 0x80), other symmetric for Q4_0's (codes u + 8 - Off), asymmetric (Bits <= 4) into
// gemm_block_q8x8m for the asymmetric kernel (codes u); the group's scale (minimum) per 32 columns.
template <int Bits, int G, bool Asym, int Off>
void gemm_pack_int__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
template <int Bits, int G, bool Asym, int Off>
LOWBIT_X86_KERNEL void gemm_pack_int__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                           void* dst);
void gemm_pack_q4_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q4_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
// lowbit nf4 / fp4_e2m1 rows (their tiles' unpack is the other way in).
LOWBIT_X86_KERNEL void gemm_pack_nf4__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                           void* dst);
LOWBIT_X86_KERNEL void gemm_pack_fp4_e2m1__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                                void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q5_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q8_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
void gemm_pack_q6_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q6_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q4_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
// Q5_K packs into gemm_block_q4_kx8 (codes 0..31).
void gemm_pack_q5_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q5_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
void gemm_pack_q3_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q3_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
void gemm_pack_q2_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_q2_k__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                            void* dst);
// IQ4_NL packs into gemm_block_q8x8 (codebook values, signed).
void gemm_pack_iq4_nl__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_iq4_nl__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                              void* dst);
// TQ2_0 rows: codes q + 7 for Q4_0's kernel (its -8 gives q - 1: -1..1, a stored 3 gives 2), the
// 256-block's d for each of its 32-column blocks (Q8_0 activations; the generation path's dot uses Q8_K).
void gemm_pack_tq2_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_tq2_0__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                             void* dst);
// TQ1_0 rows: its trit codes + 7, as TQ2_0's (scalar at every tier: loaded models take their tiles' unpack).
void gemm_pack_tq1_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
// IQ3_XXS / IQ3_S rows: per 32-column sub-block the signed grid values (|.| <= 62) as codes and
// d (2 sc + 1) (IQ3_XXS: times 1/4) as the scale, for Q8_0's kernel (Q8_0 activations; the generation
// path's dots use Q8_K).
// Sub-block s (0..7) of an IQ3 block as both tiers' packers read it: the 8 grid entries (weight 4 l + j
// in byte j of g[l]), the 32 sign bits (bit i set: weight i negative) and the scale.
struct iq3_subblock {
    uint32_t g[8];
    uint32_t signs;
    int ls;   // the integer sub-block scale 2 sc + 1 (1..31)
    float d;  // d ls (IQ3_XXS: times 1/4)
};
inline iq3_subblock iq3_xxs_subblock(const block_iq3_xxs& blk, int s) {
    uint32_t aux;  // four 7-bit sign indices (bit 7 of each sign byte is their parity) and the scale
    std::memcpy(&aux, blk.qs + k_qk_k / 4 + 4 * s, 4);
    iq3_subblock o{};
    for (int l = 0; l < 8; ++l) o.g[l] = k_iq3xxs_grid[blk.qs[8 * s + l]];
    for (int l = 0; l < 4; ++l) o.signs |= static_cast<uint32_t>(k_iq_ksigns[(aux >> (7 * l)) & 127]) << (8 * l);
    o.ls = 2 * static_cast<int>(aux >> 28) + 1;
    o.d = fp16_to_f32(blk.d) * static_cast<float>(o.ls) * 0.25f;
    return o;
}
inline iq3_subblock iq3_s_subblock(const block_iq3_s& blk, int s) {
    iq3_subblock o{};
    for (int l = 0; l < 8; ++l) o.g[l] = k_iq3s_grid[blk.qs[8 * s + l] | ((blk.qh[s] >> l) & 1) << 8];
    std::memcpy(&o.signs, blk.signs + 4 * s, 4);
    o.ls = 2 * ((blk.scales[s / 2] >> (4 * (s % 2))) & 15) + 1;
    o.d = fp16_to_f32(blk.d) * static_cast<float>(o.ls);
    return o;
}
void gemm_pack_iq3_xxs__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_iq3_xxs__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                               void* dst);
void gemm_pack_iq3_s__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_iq3_s__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                             void* dst);
// MXFP4 rows: codes as k_mxfp4_kvalues (E2M1 doubled), d = 2^(e - 128), for IQ4_NL's (Q8_0's) kernel.
void gemm_pack_mxfp4__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_mxfp4__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                             void* dst);
void gemm_pack_iq4_xs__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_iq4_xs__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                              void* dst);

void gemm_q4_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
// The generic tier's 128-bit version of a __ref micro-kernel (kernels/gemm_q_simd128.cpp: SSSE3 on x86,
// Advanced SIMD on aarch64), bit-exact with it; `ref` itself where there is none. It has them for Q4_0,
// Q5_0 and Q8_0's packed blocks (also IQ4_NL's, on Q8_0's arithmetic), Q4_1's and the signed asymmetric
// one's, Q2_K .. Q6_K's (Q5_K on Q4_K's block) and IQ4_XS's. Weak and never called where the file is not
// built (LOWBIT_HAVE_SIMD128 0).
LOWBIT_SIMD128_KERNEL gemm_q_fn gemm_kernel_simd128(gemm_q_fn ref);
// The generic tier's row packer for a __ref one, byte-exact with it (kernels/repack_simd128.cpp; FP8's,
// else ref itself).
LOWBIT_SIMD128_KERNEL gemm_pack_fn gemm_pack_kernel_simd128(gemm_pack_fn ref);
// out[i] = fma(a[i], b[i], c[i]) by those kernels' vector fma (x86: emulated in doubles, rounded to odd;
// the tests check it against std::fma).
LOWBIT_SIMD128_KERNEL void fma_f32__simd128(const float* a, const float* b, const float* c, float* out,
                                            int64_t n);
#if LOWBIT_HAVE_SIMD128_DOTPROD
namespace dot {
// aarch64: the same kernels built with the dot-product extension (kernels/gemm_q_simd128_dotprod.cpp,
// -march=armv8.2-a+dotprod), bit-exact with them; gemm_q_kernel takes them where dotprod_active()
// (core/cpu.hpp).
gemm_q_fn gemm_kernel_simd128(gemm_q_fn ref);
}  // namespace dot
#endif
void gemm_q5_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
void gemm_q8_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
void gemm_q4_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
void gemm_q6_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q6_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q4_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q5_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q8_0_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q4_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_q5_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q5_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_q3_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q3_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_q2_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q2_k_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_iq4_nl_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_iq4_nl_q8_0_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                  int n_tok, float* y, int64_t ldy, int n_rows);
// AVX-512 VNNI (vpdpbusd, 256-bit AVX512VL forms; kernels/gemm_q_avx512vnni.cpp, gemm_q_vnni.hpp): the gemm_block_q8x8
// kernels and Q4_K / Q5_K / Q6_K, bit-exact with __ref as the AVX2 ones. IQ4_NL and the lowbit formats
// on Q8_0's kernel use the Q8_0 one.
LOWBIT_X86_KERNEL void gemm_q4_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a,
                                                      int64_t t0, int n_tok, float* y, int64_t ldy,
                                                      int n_rows);
LOWBIT_X86_KERNEL void gemm_q5_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a,
                                                      int64_t t0, int n_tok, float* y, int64_t ldy,
                                                      int n_rows);
LOWBIT_X86_KERNEL void gemm_q8_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a,
                                                      int64_t t0, int n_tok, float* y, int64_t ldy,
                                                      int n_rows);
LOWBIT_X86_KERNEL void gemm_q4_k_q8_k_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a,
                                                      int64_t t0, int n_tok, float* y, int64_t ldy,
                                                      int n_rows);  // also Q5_K (its block is Q4_K's)
LOWBIT_X86_KERNEL void gemm_q6_k_q8_k_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a,
                                                      int64_t t0, int n_tok, float* y, int64_t ldy,
                                                      int n_rows);
// AVX-VNNI (the same kernels with the VEX vpdpbusd; kernels/gemm_q_avxvnni.cpp), tier avxvnni.
LOWBIT_X86_KERNEL void gemm_q4_0_q8_0_8x4__avxvnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                   int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q5_0_q8_0_8x4__avxvnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                   int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q8_0_q8_0_8x4__avxvnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                   int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q4_k_q8_k_8x4__avxvnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                   int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_q6_k_q8_k_8x4__avxvnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                   int n_tok, float* y, int64_t ldy, int n_rows);
void gemm_iq4_xs_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_iq4_xs_q8_k_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                                  int n_tok, float* y, int64_t ldy, int n_rows);

// ---- FP8 prompts (lowbit fp8_e4m3 / fp8_e5m2 and the per-row fp8_*_pt): an int16 GEMM ----
// FP8 has no small-integer form (E4M3 spans 2^-9 .. 448), so its weights are not run on Q8_0's kernel.
// Instead, per row and 32-column block, the fp8 values v_j (exact as f32) are scaled by 2^sh with
// sh = 14 - floor(log2 max_j |v_j|) and rounded to the nearest integer (ties to even):
//   q_j = nearbyint(v_j 2^sh), |q_j| <= 30720 (E4M3: 1.875 x 2^14; E5M2 28672), d[r] = d_block 2^-sh,
// exact for every v_j that is a multiple of 2^-sh, i.e. every code whose exponent is at most 11
// below the block's largest (always for E4M3 blocks spanning 2^8 or less); smaller codes are rounded
// to 2^-15 of the block's largest magnitude or better. All-zero blocks get d = 0, q = 0.
// Activations are quantized to 12-bit integers per 32 columns (block_a16):
//   d = amax / 2047, q_j = nearbyint(x_j 2047 / amax) (|q| <= 2047; 16 x finer than Q8_0's 127 steps),
// so that a block's integer sum, |sum_j q_w q_a| <= 32 x 30720 x 2047 < 2^31, is exact in int32 and the
// kernel is Q8_0's with _mm256_madd_epi16 on int16 column pairs:
//   acc = fma(float(sum_j q_w[j] q_a[j]), d_w * d_a, acc)   per block, in block order.
// The generation path keeps the float GEMV on the tiles (repack.hpp), so prompt and generation
// products differ by the activations' 12-bit rounding (relative error <= 2^-12 of the block's largest
// activation), against Q8_0's 8-bit one.
struct block_a16 {
    float d;
    int16_t q[32];
};
static_assert(sizeof(block_a16) == 68, "block_a16 must be 68 bytes");
// 32 columns x 8 rows (544 bytes): q[p][r] = the int16 pair (column 2p, column 2p + 1) of row r.
struct gemm_block_i16x8 {
    float d[8];
    int16_t q[16][8][2];
};
static_assert(sizeof(gemm_block_i16x8) == 544, "gemm_block_i16x8 must be 544 bytes");
void quantize_act_a16__ref(const float* x, void* dst, int64_t n);   // n a multiple of 32
LOWBIT_X86_KERNEL void quantize_act_a16__avx2(const float* x, void* dst, int64_t n);
LOWBIT_SIMD128_KERNEL void quantize_act_a16__simd128(const float* x, void* dst,
                                                     int64_t n);  // quant_act_simd128.cpp
// One row's 32 fp8 codes with its block scale d -> its d and int16 codes in a gemm_block_i16x8 (the
// reference every packer and unpack equals).
void fp8_block_to_i16__ref(bool e4m3, const uint8_t* codes, float d, float& d_out, int16_t* q_out, int q_stride);
// Rows of fp8_e4m3 / fp8_e5m2 (block_fp8) and of fp8_*_pt (f32 row scale, then the codes) ->
// gemm_block_i16x8 (rows n_rows..7 zero).
void gemm_pack_fp8_e4m3__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_fp8_e5m2__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_fp8_e4m3_pt__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
void gemm_pack_fp8_e5m2_pt__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst);
LOWBIT_X86_KERNEL void gemm_pack_fp8_e4m3__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                                void* dst);
LOWBIT_X86_KERNEL void gemm_pack_fp8_e5m2__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                                void* dst);
LOWBIT_X86_KERNEL void gemm_pack_fp8_e4m3_pt__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                                   void* dst);
LOWBIT_X86_KERNEL void gemm_pack_fp8_e5m2_pt__avx2(const uint8_t* w, size_t row_stride, int n_rows, int64_t k,
                                                   void* dst);
// FP8 load-time tiles (repack.hpp: tile_q8_0x8, per-row tile_q8_0x8f) -> the same gemm_block_i16x8.
void repack_unpack_fp8_e4m3__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_fp8_e5m2__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_fp8_e4m3_pt__ref(int64_t nb, const void* tiles, void* dst);
void repack_unpack_fp8_e5m2_pt__ref(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_fp8_e4m3__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_fp8_e5m2__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_fp8_e4m3_pt__avx2(int64_t nb, const void* tiles, void* dst);
LOWBIT_X86_KERNEL void repack_unpack_fp8_e5m2_pt__avx2(int64_t nb, const void* tiles, void* dst);
// The micro-kernel (block_a16 activations: gemm_act::q rows of block_a16, d their scales, s unused).
void gemm_i16_a16_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                           int64_t ldy, int n_rows);
LOWBIT_X86_KERNEL void gemm_i16_a16_8x4__avx2(int64_t nb, const void* pw, const gemm_act& a, int64_t t0,
                                              int n_tok, float* y, int64_t ldy, int n_rows);

struct gemm_q_kernels {
    type act = type::f32;       // activation format (q8_0 / q8_k / q8_1; f32 when a16)
    int block = 0;              // columns per packed block
    size_t packed_bytes = 0;    // bytes per packed block (8 rows)
    gemm_pack_fn pack = nullptr;
    gemm_q_fn gemm = nullptr;
    bool a16 = false;           // block_a16 activations (quantize_act_a16), for the FP8 kernel
};

// The kernels for weight type `t` at `tier` (falls back to __ref); act == f32 and null functions when
// `t` has no integer GEMM. (pack null: only load-time tiles would feed the GEMM; no type is so now.)
gemm_q_kernels gemm_q_kernel(type t, isa_tier tier);

// Side values of quantized activation rows (see gemm_act): for token rows q[0 .. n_tokens) of format
// `act` (q8_0 or q8_k), n_blocks blocks each, writes d[n_tokens * n_blocks] and
// s[n_tokens * n_blocks * (act == q8_k ? k_q8_k_sides : 1)]. Never throws.
void gemm_act_sides(type act, const uint8_t* q, size_t row_bytes, int64_t n_tokens, int64_t n_blocks, float* d,
                    int32_t* s);

// The activations kq's micro-kernel reads (gemm_act) for rows of k columns (k a multiple of kq.block):
// bytes per token row in q, blocks per row (= k / kq.block), and int32 side values per block in s.
struct gemm_act_layout {
    size_t row_bytes = 0;
    int64_t n_blocks = 0;
    int n_sides = 0;
};
gemm_act_layout gemm_act_layout_of(const gemm_q_kernels& kq, int64_t k);
// kq's activation quantizer at `tier`: 12-bit block_a16 (FP8's kernel) or quantize_act_kernel(kq.act);
// null when there is none.
quantize_act_fn gemm_act_quantizer(const gemm_q_kernels& kq, isa_tier tier);
// One token's gemm_act entries: x (k values) quantized by `quant` (gemm_act_quantizer) into the row q,
// its block scales into d[0 .. n_blocks) and its side values into s[0 .. n_blocks * n_sides). Never throws.
void gemm_act_token(const gemm_q_kernels& kq, quantize_act_fn quant, const float* x, int64_t k, uint8_t* q,
                    float* d, int32_t* s);

}  // namespace lowbit::kernels
