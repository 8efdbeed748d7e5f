// Block structs of lowbit's own formats and the small helpers their codecs share.
//
// Conventions (all formats here; docs/formats.md gives the full picture):
// - Codes are packed as an LSB-first bit stream: weight i of a block (or of a per-channel row) holds
//   bits [i*b, (i+1)*b) of the code bytes, bit 0 = the least significant bit of byte 0. For b = 4
//   that is "even weight in the low nibble"; for b = 3 every 8 weights fill 3 bytes.
// - Scales are IEEE fp16 (little-endian) unless stated; per-row headers of the *_pt formats are fp32.
// - Group formats zero-pad the last block of a row: scale/min come from the real weights only, the
//   padded positions hold the code of 0.0 (exactly 0 except in the asymmetric INT formats, where it
//   is the code nearest to 0). Decoders write exactly n floats.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half.hpp"

namespace lowbit {

// ---- INT<Bits>, group G --------------------------------------------------------------------------
// Symmetric: w = d * (u - 2^(Bits-1)), u the stored unsigned code; the encoder uses
//   q = u - 2^(Bits-1) in [-(2^(Bits-1)-1), 2^(Bits-1)-1] (restricted, zero-centred range; code 0
//   decodes to -2^(Bits-1)*d but is never written), d = absmax / (2^(Bits-1)-1) rounded UP to fp16.
//   bits per weight: Bits + 16/G.
template <int Bits, int G>
struct block_int_sym {
    uint16_t d;                  // fp16 scale
    uint8_t qs[G * Bits / 8];    // codes, LSB-first bit stream
};
// Asymmetric: w = d * u + m, u in [0, 2^Bits - 1]; m = min rounded DOWN to fp16,
//   d = (max - m) / (2^Bits - 1) rounded UP to fp16. bits per weight: Bits + 32/G.
template <int Bits, int G>
struct block_int_asym {
    uint16_t d;                  // fp16 scale
    uint16_t m;                  // fp16 minimum (the value of code 0)
    uint8_t qs[G * Bits / 8];    // codes, LSB-first bit stream
};
#define LOWBIT_INT_BLOCK_ASSERTS(B)                                                           \
    static_assert(sizeof(block_int_sym<B, 32>) == 2 + 32 * (B) / 8, "int block size");          \
    static_assert(sizeof(block_int_sym<B, 64>) == 2 + 64 * (B) / 8, "int block size");          \
    static_assert(sizeof(block_int_sym<B, 128>) == 2 + 128 * (B) / 8, "int block size");        \
    static_assert(sizeof(block_int_asym<B, 32>) == 4 + 32 * (B) / 8, "int block size");         \
    static_assert(sizeof(block_int_asym<B, 64>) == 4 + 64 * (B) / 8, "int block size");         \
    static_assert(sizeof(block_int_asym<B, 128>) == 4 + 128 * (B) / 8, "int block size");
LOWBIT_INT_BLOCK_ASSERTS(8)
LOWBIT_INT_BLOCK_ASSERTS(4)
LOWBIT_INT_BLOCK_ASSERTS(3)
LOWBIT_INT_BLOCK_ASSERTS(2)
#undef LOWBIT_INT_BLOCK_ASSERTS

// Per-channel INT rows (block_size 0): [header][ceil(n*Bits/8) code bytes], no alignment padding.
// Same math as the group formats with one group = the whole row. bits per weight: Bits (+16 or +32
// bits per row).
struct row_header_int_sym {
    uint16_t d;
};
struct row_header_int_asym {
    uint16_t d;
    uint16_t m;
};
static_assert(sizeof(row_header_int_sym) == 2);
static_assert(sizeof(row_header_int_asym) == 4);

// ---- NF4 -----------------------------------------------------------------------------------------
// w = d * k_nf4_values[u], d = absmax of the 64 weights rounded UP to fp16 (bitsandbytes keeps an
// fp32 absmax: 4.5 bpw; lowbit's fp16 gives 4.25 bpw).
constexpr int k_qk_nf4 = 64;
struct block_nf4 {
    uint16_t d;                  // fp16 absmax
    uint8_t qs[k_qk_nf4 / 2];    // 4-bit codes, even weight in the low nibble
};
static_assert(sizeof(block_nf4) == 34, "nf4 block size");

// NF4 with double-quantized scales (QLoRA "double quantization", adapted to fixed-size blocks):
// a super-block of 256 weights = 4 NF4 sub-blocks of 64. Sub-block j has scale
// D * sc[j], D an fp16 super-scale (max sub-block absmax / 255, rounded UP to fp16), sc[j] = the
// sub-block absmax / D rounded UP to an integer in [0, 255] (so no weight is clipped).
// w = D * sc[j] * k_nf4_values[u]. bits per weight: (16 + 4*8 + 256*4) / 256 = 4.1875.
constexpr int k_qk_nf4_dq = 256;
struct block_nf4_dq {
    uint16_t d;                        // fp16 super-scale D
    uint8_t sc[k_qk_nf4_dq / 64];      // 8-bit sub-block scales
    uint8_t qs[k_qk_nf4_dq / 2];       // 4-bit codes, even weight in the low nibble
};
static_assert(sizeof(block_nf4_dq) == 134, "nf4_dq block size");

// ---- FP8 with an fp16 scale per 32 ------------------------------------------------------------------
// w = d * fp8(u); d = absmax / fp8_max (448 for E4M3, 57344 for E5M2) rounded UP to fp16; each
// weight/d is rounded to nearest-even FP8 and saturated. bits per weight: 8.5.
constexpr int k_qk_fp8 = 32;
struct block_fp8 {
    uint16_t d;                  // fp16 scale
    uint8_t qs[k_qk_fp8];        // FP8 codes (E4M3 or E5M2, by the row's type)
};
static_assert(sizeof(block_fp8) == 34, "fp8 block size");
// Per-row variant (fp8_*_pt, block_size 0): [fp32 scale s][n FP8 codes]; w = s * fp8(u),
// s = row absmax / fp8_max. "Per tensor" in the sense of one scale per stored row: 8 bpw + 32 bits/row.
struct row_header_fp8_pt {
    float s;
};
static_assert(sizeof(row_header_fp8_pt) == 4);

// ---- FP4 E2M1 with an fp16 scale per 32 ------------------------------------------------------------
// w = d * e2m1(u); d = absmax / 6 rounded UP to fp16; nearest-even E2M1. bits per weight: 4.5.
constexpr int k_qk_fp4 = 32;
struct block_fp4_e2m1 {
    uint16_t d;                  // fp16 scale
    uint8_t qs[k_qk_fp4 / 2];    // E2M1 codes, even weight in the low nibble
};
static_assert(sizeof(block_fp4_e2m1) == 18, "fp4_e2m1 block size");

// ---- ternary (BitNet b1.58 style) -------------------------------------------------------------------
// w = d * (u - 1), u in {0, 1, 2} (3 is never written and decodes to 2d). Encoding: gamma = mean |w|
// of the group (absmean, BitNet b1.58), q = clamp(round(w / gamma), -1, 1); then d is refitted as the
// least-squares scale for those q (mean |w| over q != 0), stored fp16. bits per weight: 2.25.
constexpr int k_qk_ternary = 64;
struct block_ternary {
    uint16_t d;                     // fp16 scale
    uint8_t qs[k_qk_ternary / 4];   // 2-bit codes, LSB-first
};
static_assert(sizeof(block_ternary) == 18, "ternary block size");

// ---- helpers --------------------------------------------------------------------------------------
namespace lbfmt {

// Non-finite weights are read as 0 (documented rule; the quantize pipeline rejects them earlier).
inline float sanitize(float x) { return std::isfinite(x) ? x : 0.0f; }

// Codes are written into zeroed bytes.
inline void put_bits(uint8_t* p, int64_t i, int b, uint32_t u) {
    const int64_t pos = i * b;
    const int64_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    const uint32_t v = u << shift;
    p[byte] = static_cast<uint8_t>(p[byte] | (v & 0xFF));
    if (shift + b > 8) p[byte + 1] = static_cast<uint8_t>(p[byte + 1] | (v >> 8));
}
inline uint32_t get_bits(const uint8_t* p, int64_t i, int b) {
    const int64_t pos = i * b;
    const int64_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    uint32_t v = p[byte];
    if (shift + b > 8) v |= static_cast<uint32_t>(p[byte + 1]) << 8;
    return (v >> shift) & ((1u << b) - 1);
}

inline constexpr uint16_t k_fp16_max_bits = 0x7BFF;  // 65504

// Smallest fp16 >= max(v, 0) whose value times `mult` reaches `target` (a positive scale that
// covers the range without clipping); saturates at 65504. v, target finite and >= 0.
inline uint16_t fp16_scale_up(float v, float mult, float target) {
    uint16_t h = f32_to_fp16(v);
    if ((h & 0x7FFF) > k_fp16_max_bits) h = k_fp16_max_bits;  // overflow to inf
    if (h & 0x8000) h = 0;                                      // -0
    while (h < k_fp16_max_bits && fp16_to_f32(h) * mult < target) ++h;
    return h;
}

// Largest fp16 <= v (v finite), saturating at -65504 / 65504.
inline uint16_t fp16_round_down(float v) {
    uint16_t h = f32_to_fp16(v);
    if ((h & 0x7FFF) > k_fp16_max_bits) h = static_cast<uint16_t>((h & 0x8000) | k_fp16_max_bits);
    if (fp16_to_f32(h) > v) {
        if (h == 0x0000) h = 0x8001;                 // +0 -> smallest negative subnormal
        else if (h & 0x8000) {
            if ((h & 0x7FFF) < k_fp16_max_bits) h = static_cast<uint16_t>(h + 1);  // more negative
        } else {
            h = static_cast<uint16_t>(h - 1);
        }
    }
    return h;
}

inline uint16_t load_u16(const void* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline void store_u16(void* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace lbfmt
}  // namespace lowbit
