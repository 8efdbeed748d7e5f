// Codebook/lattice tables of llama.cpp's i-quant formats (data reproduced from ggml-common.h; they
// define the formats). Bit layouts and math: docs/formats.md, section "ggml i-quants and ternary".
#pragma once

#include <cstdint>

namespace lowbit {

// IQ4_NL / IQ4_XS levels: w = d * k_iq4nl_values[q], q in 0..15.
extern const int8_t k_iq4nl_values[16];
// 7-bit sign index -> 8 sign bits (bit j set = lane j negative); bit 7 is the parity of bits 0..6.
extern const uint8_t k_iq_ksigns[128];
// IQ3_XXS grid: 256 points x 4 unsigned byte lanes in {4,12,...,52,62}.
extern const uint32_t k_iq3xxs_grid[256];
// IQ3_S grid: 512 points x 4 unsigned byte lanes in {1,3,...,15}.
extern const uint32_t k_iq3s_grid[512];

// Byte `lane` (0..3) of a packed grid point.
constexpr uint8_t iq_grid_lane(uint32_t point, int lane) { return static_cast<uint8_t>(point >> (8 * lane)); }

}  // namespace lowbit
