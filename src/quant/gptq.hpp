// GPTQ (Frantar, Ashkboos, Hoefler, Alistarh 2022, "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers", arXiv:2210.17323) for lowbit's INT formats and (gptq_blocks.hpp)
// every block format with an encoder: ggml's legacy, K and i-quant types, lowbit's block formats.
//
// For one linear layer y = W x (W: [rows][n], x: [n]), with calibration inputs X: [T][n], GPTQ
// minimises ||W X^T - Q X^T||^2 column by column: H = 2 X^T X (+ damp * mean(diag H) * I),
// U = upper Cholesky factor of H^-1 (H^-1 = U^T U). Quantizing column i of every row gives the error
// e = (w_i - q_i) / U_ii, which is spread over the not-yet-quantized columns: w_j -= e * U_ij (j > i).
// Updates are applied lazily: inside a block of `block_size` columns at once, to later columns once
// per block. A group's grid (scale, min) is computed from the group's current (error-updated) weights
// when the first of its columns is quantized. With act_order, columns go in order of decreasing
// H_ii; groups stay the format's fixed column groups.
// With a diagonal H there is nothing to spread: with n_grid = 0 the result is exactly the format's
// RTN encoding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit {

struct gptq_options {
    int64_t block_size = 128;  // lazy-batch width
    double damp = 0.01;        // fraction of mean(diag H) added to the diagonal
    bool act_order = false;
    // Grid search at each group start (as the reference quantizer's `mse` option): the clamp
    // c = amax * (1 - k / n_grid * max_shrink), k = 0..n_grid, with the lowest H_ii-weighted squared
    // error over the group's current weights. 0 = plain absmax/min-max grids (RTN's).
    int n_grid = 20;
    double max_shrink = 0.6;
    // Sweeps of coordinate descent on the codes after GPTQ (gptq_refine_row), with the group/block
    // scales GPTQ chose fixed, on the row's exact objective (w - q)^T H (w - q) (damped H).
    int refine_sweeps = 4;
    int threads = 0;           // 0 = default_threads()
};

// Whether gptq_quantize can encode type t (the lowbit INT formats; block formats with an encoder).
bool gptq_supports(type t);

// Adds X^T X of `n_tokens` inputs x: [n_tokens][n] to h: [n][n] (row-major, doubles; only the
// sum of outer products: the factor 2 and 1/T do not change GPTQ's result).
void hessian_accumulate(std::vector<double>& h, const float* x, int64_t n_tokens, int64_t n, int threads = 0);

// Quantizes w: [rows][n] to format t using h: [n][n] (any positive multiple of X^T X). Returns
// rows * row_bytes(t, n) bytes. Throws lowbit::error if t is not supported. Formats other than the
// INT ones go to gptq_quantize_blocks (gptq_blocks.hpp; n_grid does not apply there).
std::vector<uint8_t> gptq_quantize(type t, const float* w, int64_t rows, int64_t n, std::span<const double> h,
                                   const gptq_options& opt);

}  // namespace lowbit
