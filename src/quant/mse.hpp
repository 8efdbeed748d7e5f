// --method mse: error-minimizing group scales for lowbit's INT (int{8,4,3,2}_{g32,g64,g128,pc}[_asym]),
// NF4 (nf4) and FP4 (fp4_e2m1) formats, as alternative encoders that write the same layouts (the
// formats' own decoders read them; the reference encoders, pinned to RTN, are untouched).
//
// Per group (per row for the per-channel INT formats), candidates are tried and the one with the
// smallest weighted squared error  sum_i w_i (x_i - dequant(x_i))^2  is kept, w_i = importance[i]
// (the imatrix value of the column) or 1 without an imatrix:
//   - the reference encoder's own grid (so mse is never worse than rtn on this measure);
//   - clipping ratios r = 1.00, 0.99, ..., 0.50 (INT; 0.70 for NF4/FP4): symmetric scale
//     d = r * absmax / qmax, asymmetric range [r * min, r * max]; scales rounded to the nearest fp16;
//   - a least-squares refit of the best candidate's scale (and minimum) for its codes, re-rounded.
// Codes are always the nearest grid point for the candidate's scale (as the decoder expects).
#pragma once

#include <cstdint>

#include "lowbit/types.hpp"

namespace lowbit {

// Whether quantize_row_mse handles `t` (otherwise the format's own encoder is used).
bool mse_supported(type t);
// Encodes one row of n weights (row_bytes(t, n) bytes at dst). importance: n values or null.
void quantize_row_mse(type t, const float* x, uint8_t* dst, int64_t n, const float* importance);
// Weighted squared error of a stored row against x (helper for tests and reports).
double weighted_sq_error(type t, const float* x, const uint8_t* row, int64_t n, const float* importance);

}  // namespace lowbit
