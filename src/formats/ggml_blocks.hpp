// POD block structs of every ggml tensor type lowbit reads or writes, laid out byte for byte as in
// llama.cpp's ggml-common.h (and so as stored in GGUF files). Half-precision fields are raw IEEE
// binary16 bit patterns (uint16_t): convert them with core/half.hpp (fp16_to_f32 / f32_to_fp16).
// All multi-byte fields are little-endian, as on every host lowbit supports.
//
// Notation: a block holds `QK` weights w[0..QK); d, m are per-block scales/mins; q are the stored
// integer codes. "bpw" = bits per weight of the whole block, headers included.
// Bit layouts in detail: docs/formats.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {

constexpr int k_qk4_0 = 32;
constexpr int k_qk4_1 = 32;
constexpr int k_qk5_0 = 32;
constexpr int k_qk5_1 = 32;
constexpr int k_qk8_0 = 32;
constexpr int k_qk8_1 = 32;
constexpr int k_qk4_nl = 32;
constexpr int k_qk_mxfp4 = 32;
constexpr int k_qk_k = 256;       // super-block size of the K-quants, i-quants and ternary types
constexpr int k_k_scale_size = 12;  // packed 6-bit scales+mins of q4_K / q5_K

// ---------------------------------------------------------------------------------------------
// Legacy types (blocks of 32)
// ---------------------------------------------------------------------------------------------

// Q4_0 — 4.5 bpw. w[j] = d * (q[j] - 8), q in [0, 15].
// qs[j] holds q[j] in its low nibble and q[j + 16] in its high nibble (j = 0..15).
struct block_q4_0 {
    uint16_t d;                  // fp16 scale
    uint8_t qs[k_qk4_0 / 2];     // nibbles
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 18 bytes");

// Q4_1 — 5.0 bpw. w[j] = d * q[j] + m, q in [0, 15]. Nibble order as Q4_0.
struct block_q4_1 {
    uint16_t d;                  // fp16 scale
    uint16_t m;                  // fp16 min
    uint8_t qs[k_qk4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must be 20 bytes");

// Q5_0 — 5.5 bpw. w[j] = d * (q[j] - 16), q in [0, 31].
// Low 4 bits as Q4_0's nibbles; bit 4 of q[j] is bit j of the little-endian uint32 qh.
struct block_q5_0 {
    uint16_t d;                  // fp16 scale
    uint8_t qh[4];               // 5th bits, bit j <-> weight j
    uint8_t qs[k_qk5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 22 bytes");

// Q5_1 — 6.0 bpw. w[j] = d * q[j] + m, q in [0, 31]. Bits as Q5_0.
struct block_q5_1 {
    uint16_t d;                  // fp16 scale
    uint16_t m;                  // fp16 min
    uint8_t qh[4];
    uint8_t qs[k_qk5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must be 24 bytes");

// Q8_0 — 8.5 bpw. w[j] = d * q[j], q in [-127, 127]. Also the activation partner of Q4_0/Q5_0/Q8_0.
struct block_q8_0 {
    uint16_t d;                  // fp16 scale
    int8_t qs[k_qk8_0];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 34 bytes");

// Q8_1 — 9.0 bpw. w[j] = d * q[j]; s = d * sum(q) (fp16) lets Q4_1/Q5_1 dot products apply the min.
// Activation-only format (llama.cpp never stores weights in it).
struct block_q8_1 {
    uint16_t d;                  // fp16 scale
    uint16_t s;                  // fp16 d * sum(qs)
    int8_t qs[k_qk8_1];
};
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 must be 36 bytes");

// ---------------------------------------------------------------------------------------------
// K-quants (super-blocks of 256)
// ---------------------------------------------------------------------------------------------

// Q2_K — 2.625 bpw. 16 sub-blocks of 16: w = d * (scales[i] & 0xF) * q - dmin * (scales[i] >> 4),
// q in [0, 3] (2 bits, 4 per byte in qs).
struct block_q2_k {
    uint8_t scales[k_qk_k / 16];  // low nibble: scale, high nibble: min (4 bits each)
    uint8_t qs[k_qk_k / 4];       // 2-bit quants
    uint16_t d;                   // fp16 super-scale for the scales
    uint16_t dmin;                // fp16 super-scale for the mins
};
static_assert(sizeof(block_q2_k) == 84, "block_q2_k must be 84 bytes");

// Q3_K — 3.4375 bpw. 16 sub-blocks of 16: w = d * (sc[i] - 32) * (q - 4 * !hbit), sc 6-bit,
// q low 2 bits in qs, high bit in hmask (set bit means "no -4").
struct block_q3_k {
    uint8_t hmask[k_qk_k / 8];    // high bit of each quant
    uint8_t qs[k_qk_k / 4];       // low 2 bits
    uint8_t scales[12];           // 16 x 6-bit scales, packed
    uint16_t d;                   // fp16 super-scale
};
static_assert(sizeof(block_q3_k) == 110, "block_q3_k must be 110 bytes");

// Q4_K — 4.5 bpw. 8 sub-blocks of 32: w = d * sc[i] * q - dmin * mn[i], sc/mn 6-bit packed in
// scales[12], q in [0, 15].
struct block_q4_k {
    uint16_t d;                   // fp16 super-scale for the scales
    uint16_t dmin;                // fp16 super-scale for the mins
    uint8_t scales[k_k_scale_size];
    uint8_t qs[k_qk_k / 2];       // 4-bit quants
};
static_assert(sizeof(block_q4_k) == 144, "block_q4_k must be 144 bytes");

// Q5_K — 5.5 bpw. As Q4_K with a 5th bit per quant in qh; q in [0, 31].
struct block_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[k_k_scale_size];
    uint8_t qh[k_qk_k / 8];       // high bits
    uint8_t qs[k_qk_k / 2];       // low 4 bits
};
static_assert(sizeof(block_q5_k) == 176, "block_q5_k must be 176 bytes");

// Q6_K — 6.5625 bpw. 16 sub-blocks of 16: w = d * scales[i] * (q - 32), scales int8, q 6-bit
// (low 4 in ql, high 2 in qh).
struct block_q6_k {
    uint8_t ql[k_qk_k / 2];
    uint8_t qh[k_qk_k / 4];
    int8_t scales[k_qk_k / 16];
    uint16_t d;                   // fp16 super-scale
};
static_assert(sizeof(block_q6_k) == 210, "block_q6_k must be 210 bytes");

// Q8_K — 9.125 bpw. Activation partner of the K-quants: w = d * q, d is a float32;
// bsums[i] = sum of q over sub-block i of 16.
struct block_q8_k {
    float d;
    int8_t qs[k_qk_k];
    int16_t bsums[k_qk_k / 16];
};
static_assert(sizeof(block_q8_k) == 292, "block_q8_k must be 292 bytes");

// ---------------------------------------------------------------------------------------------
// i-quants
// ---------------------------------------------------------------------------------------------

// IQ4_NL — 4.5 bpw. w[j] = d * kvalues_iq4nl[q[j]] (16-entry non-linear codebook), nibbles as Q4_0.
struct block_iq4_nl {
    uint16_t d;
    uint8_t qs[k_qk4_nl / 2];
};
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl must be 18 bytes");

// IQ4_XS — 4.25 bpw. 8 sub-blocks of 32: w = d * (ls[i] - 32) * kvalues_iq4nl[q], ls 6-bit
// (low 4 bits in scales_l nibbles, high 2 bits in scales_h).
struct block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[k_qk_k / 64];
    uint8_t qs[k_qk_k / 2];
};
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs must be 136 bytes");
// The 6-bit scale ls (0..63) of 32-weight sub-block s: low 4 bits in scales_l, high 2 in scales_h;
// the sub-block's weights are d * (ls - 32) * kvalues_iq4nl[code].
inline int iq4_xs_scale(const block_iq4_xs& b, int s) {
    return ((b.scales_l[s / 2] >> (4 * (s % 2))) & 0x0F) | (((b.scales_h >> (2 * s)) & 3) << 4);
}

// IQ3_XXS — 3.0625 bpw. 256 weights as 64 groups of 4 drawn from a 256-entry grid (iq3xxs_grid);
// qs[0..64) grid indices, then 8 uint32 each holding 4 x 7-bit sign indices and a 4-bit scale:
// w = d * (0.5 + scale) * 0.5 * grid * sign.
struct block_iq3_xxs {
    uint16_t d;
    uint8_t qs[3 * k_qk_k / 8];
};
static_assert(sizeof(block_iq3_xxs) == 98, "block_iq3_xxs must be 98 bytes");

// IQ3_S — 3.4375 bpw. 64 groups of 4 from a 512-entry grid (iq3s_grid; 8 low index bits in qs,
// 9th bit in qh), explicit sign bits, 4-bit scales per 32: w = d * (1 + 2 * sc) * grid * sign.
struct block_iq3_s {
    uint16_t d;
    uint8_t qs[k_qk_k / 4];
    uint8_t qh[k_qk_k / 32];
    uint8_t signs[k_qk_k / 8];
    uint8_t scales[k_qk_k / 64];
};
static_assert(sizeof(block_iq3_s) == 110, "block_iq3_s must be 110 bytes");

// ---------------------------------------------------------------------------------------------
// Ternary and microscaling
// ---------------------------------------------------------------------------------------------

// TQ1_0 — 1.6875 bpw. Ternary w = d * (t - 1), t in {0,1,2}; qs packs 5 trits per byte
// (base-3, scaled to a byte), qh 4 trits per byte.
struct block_tq1_0 {
    uint8_t qs[(k_qk_k - 4 * k_qk_k / 64) / 5];  // 48 bytes: 240 trits
    uint8_t qh[k_qk_k / 64];                     // 4 bytes: 16 trits
    uint16_t d;
};
static_assert(sizeof(block_tq1_0) == 54, "block_tq1_0 must be 54 bytes");

// TQ1_0: the code (0..2; w = d (code - 1)) of weight c (0..255) of a block: weights 0..159 are trit
// c / 32 of qs[c % 32], 160..239 trit (c - 160) / 16 of qs[32 + (c - 160) % 16], 240..255 trit
// (c - 240) / 4 of qh[(c - 240) % 4]; trit t of byte b is ((b * 3^t) mod 256) * 3 >> 8 (the bytes hold
// ceil(v * 256 / 243) of the base-3 number v).
inline int tq1_0_code(const block_tq1_0& blk, int c) {
    static constexpr uint8_t k_pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t b = c < 160 ? blk.qs[c % 32] : c < 240 ? blk.qs[32 + (c - 160) % 16] : blk.qh[(c - 240) % 4];
    const int t = c < 160 ? c / 32 : c < 240 ? (c - 160) / 16 : (c - 240) / 4;
    return (static_cast<uint8_t>(b * k_pow3[t]) * 3) >> 8;
}

// TQ2_0 — 2.0625 bpw. Ternary w = d * (q - 1), q 2-bit in {0,1,2}, 4 per byte.
struct block_tq2_0 {
    uint8_t qs[k_qk_k / 4];
    uint16_t d;
};
static_assert(sizeof(block_tq2_0) == 66, "block_tq2_0 must be 66 bytes");

// MXFP4 — 4.25 bpw (OCP microscaling). w[j] = 2^(e - 127) * e2m1(q[j]) (ggml stores the E2M1 table
// doubled and multiplies by 2^(e-128)); nibbles as Q4_0.
struct block_mxfp4 {
    uint8_t e;                   // E8M0 shared exponent
    uint8_t qs[k_qk_mxfp4 / 2];
};
static_assert(sizeof(block_mxfp4) == 17, "block_mxfp4 must be 17 bytes");

// Q4_K/Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed scale bytes.
inline void scale_min_k4(int j, const uint8_t* q, int& sc, int& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

}  // namespace lowbit
