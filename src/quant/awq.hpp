// AWQ, activation-aware weight quantization (Lin et al. 2023, arXiv:2306.00978), for LLaMA models.
//
// For a group of matrices that read the same input X (q/k/v after attn_norm, gate/up after
// ffn_norm, o after attention, down after silu(gate)*up), a per-input-channel scale
// s = mean_t |x_t|^alpha (normalised to geometric-mean-of-extremes 1) is searched over alpha in
// {0, 1/n_grid, ..., (n_grid-1)/n_grid} to minimise sum_k ||Q(W_k diag(s)) diag(1/s) X^T - W_k X^T||^2
// (computed exactly as trace(E H E^T), H = X^T X over all calibration tokens; alpha = 0 is plain
// RTN, so the search never loses to it on this loss). W_k diag(s) replaces W_k and 1/s is folded into
// what produces X: the RMSNorm weight, the rows of w_v (for o; with GQA one scale per KV channel,
// shared by the query heads that read it) or the rows of w_up (for down). Before rounding, the F32
// model computes the same function. Optional clipping (AWQ's auto-clip) then searches, per output
// row and quantization block, the clamp [-c, c], c = amax * (1 - i/n_clip * max_shrink), with the
// lowest block output error; it skips q and k (attention scores are sensitive), as the paper does.
// Quantization inside the search uses the target format's own encoder, so any format works.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/model_file.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

struct awq_options {
    int n_grid = 20;          // alpha candidates
    bool clip = true;         // auto-clip search after scaling
    int n_clip = 20;          // clip candidates
    double max_shrink = 0.5;  // smallest clamp = (1 - max_shrink) * amax
    int threads = 0;
};

// The target type of a weight tensor, or nullopt if it stays unquantized.
using awq_type_fn = std::function<std::optional<type>(const std::string& tensor)>;

// Returns `in` with AWQ applied to every layer: scaled (and clipped) weight matrices and the
// norm weights with 1/s folded in, as F32 tensors owned by the result (others shared with `in`).
model_data awq_transform(const model_data& in, const std::vector<std::vector<int32_t>>& seqs, const awq_type_fn& type_of,
                         const awq_options& opt);

}  // namespace lowbit
