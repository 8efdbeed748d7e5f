// The quantization grid of lowbit's INT formats (int{8,4,3,2}_{g32,g64,g128,pc}[_asym]) made
// explicit, so that weight methods (GPTQ, HQQ) can choose a group's scale/minimum and each weight's
// code themselves and still write bytes that the format's decoder reads back exactly.
//   symmetric:  w = d * q, q in [-(2^(b-1)-1), 2^(b-1)-1]  (stored u = q + 2^(b-1))
//   asymmetric: w = d * u + m, u in [0, 2^b - 1]
// d and m are fp16 values (the grid holds them already rounded). Layout: formats/lowbit_blocks.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit {

struct int_spec {
    int bits = 4;
    int64_t group = 32;  // 0: one group per row (per-channel)
    bool asym = false;
    int qmin() const { return asym ? 0 : -((1 << (bits - 1)) - 1); }
    int qmax() const { return asym ? (1 << bits) - 1 : (1 << (bits - 1)) - 1; }
    int64_t group_len(int64_t n) const { return group > 0 ? group : n; }
};

// The spec of a lowbit INT format; nullopt for any other type.
std::optional<int_spec> int_spec_of(type t);

struct int_grid {
    float d = 0.0f;  // fp16-representable
    float m = 0.0f;  // fp16-representable; 0 when symmetric
};

// The grid the format's reference encoder picks for these nv weights (absmax or min/max, fp16
// rounding as in formats/lowbit_int.cpp).
int_grid int_grid_rtn(const int_spec& s, const float* x, int64_t nv);
// The grid for a wanted (d, m): d rounded to the nearest fp16 (>= 0), m to the nearest fp16.
int_grid int_grid_round(const int_spec& s, float d, float m);
// Nearest code (q or u) of x on the grid, clamped to the range.
int int_code(const int_spec& s, const int_grid& g, float x);
inline float int_value(const int_spec& s, const int_grid& g, int q) {
    return s.asym ? g.d * static_cast<float>(q) + g.m : g.d * static_cast<float>(q);
}

// Writes one row of n weights in format (spec s): grids[n / group_len] and codes[n] (q or u).
// Padding positions get the code of 0. Requires row_bytes(t, n) bytes at dst.
void int_pack_row(const int_spec& s, const int_grid* grids, const int* codes, int64_t n, uint8_t* dst);

}  // namespace lowbit
