// Quantized dot products of llama.cpp's 3-bit lattice i-quants (IQ3_XXS, IQ3_S; block layouts in
// formats/ggml_blocks.hpp, grids in formats/iq_grids.hpp) with Q8_K activation rows, for the
// generation path. Per 256-block b, sub-block s of 32 weights, group g of 4 weights (grid point G_g,
// unsigned bytes), sign bits sgn_j and the Q8_K codes q_j:
//
//   IQ3_XXS . Q8_K:  0.25 * sum_b  d_a[b] d_w[b] * sum_s (2 sc_s + 1) sum_j G_j (-1)^sgn_j q_j
//                    (w = d * (0.5 + sc) * 0.5 * G * sign = d * (2 sc + 1) / 4 * G * sign)
//   IQ3_S   . Q8_K:         sum_b  d_a[b] d_w[b] * sum_s (2 sc_s + 1) sum_j G_j (-1)^sgn_j q_j
//
// The integer sum of a block is exact (|.| < 2^26 for IQ3_XXS, < 2^24 for IQ3_S); the float step per
// block is sum += (d_a * d_w) * float(sumi) in that order, and IQ3_XXS multiplies the total by 0.25 at
// the end (exact). The __avx2 versions form the same integers and apply the same float operations in
// the same order, so they equal __ref bit for bit. n: a multiple of 256; never throw.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"

namespace lowbit::kernels {

float dot_iq3_xxs_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_iq3_s_q8_k__ref(int64_t n, const void* w, const void* a);

// AVX2 + FMA + F16C only (call after checking the tier).
LOWBIT_X86_KERNEL float dot_iq3_xxs_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_iq3_s_q8_k__avx2(int64_t n, const void* w, const void* a);

}  // namespace lowbit::kernels
