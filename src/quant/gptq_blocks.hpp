// GPTQ for block formats whose blocks carry their own scales (ggml's legacy, K and i-quant types,
// lowbit's block formats): the per-block grid comes from the format's real encoder.
//
// Columns are processed in GPTQ order (gptq.hpp). When the first column of a block is reached, the
// block's current (error-updated) weights are encoded with the format's encoder, with importance =
// 1 / U_aa^2 per column (the loss GPTQ charges for that column's rounding error: H_aa conditioned on
// the columns already quantized; diag(H) when H is diagonal). For the ggml types these go to
// llama.cpp's imatrix-aware encoders. Measured on synth-256: lower KLD than importance = diag(H)
// (Q2_K 0.271 vs 0.284, Q4_K 0.0734 vs 0.0737). The
// encoded block fixes every scale/min; what is left free are the per-weight codes. For formats whose
// codes we can rewrite (`block_codes_supported`: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K
// IQ4_NL IQ4_XS TQ2_0) the values each column can take are tabulated exactly by decoding the block
// with every code in every position (value table[c][k] = decode of the block with all codes = k),
// each column is then rounded to the nearest table value with GPTQ's error compensation, and the
// chosen codes are written back into the block: the output is the format's own bytes and decodes
// to exactly the values GPTQ chose. For other block formats (IQ3_S, IQ3_XXS, TQ1_0, MXFP4, NF4, ...)
// the encoder's values are kept as they are and only the block's error is propagated to the later
// columns (block-wise OBQ).
// With a diagonal H (and no dampening) the result equals the encoder's output with importance
// diag(H) (re-rounding a column to its nearest table value
// gives back the encoder's code).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/types.hpp"
#include "quant/gptq.hpp"

namespace lowbit {

// Everything GPTQ needs from H, in the (possibly act-order permuted) column order.
struct gptq_prepared {
    std::vector<int64_t> perm, inv;  // permuted position -> column, column -> position
    std::vector<bool> dead;          // by column: H_ii == 0 (weights zeroed)
    std::vector<double> u;           // upper Cholesky factor of the damped H^-1 (permuted), [n][n]
    std::vector<double> hdiag;       // damped diag(H), by permuted position
    double mean_diag = 0.0;          // mean of hdiag
    std::vector<double> h;           // damped H (permuted), [n][n]; only if opt.refine_sweeps > 0
};
gptq_prepared gptq_prepare(std::span<const double> h, int64_t n, const gptq_options& opt);

// GPTQ's code refinement (gptq_options::refine_sweeps): cyclic coordinate descent on one row's
// objective f = e^T H e, e = w - q, over the codes, every value on its column's fixed grid.
// value(col, k) is the value of code k in column col, codes[col] in [lo, hi]. Moving column a by d
// changes f by d (d H_aa - 2 g_a) with g = H e; the best code of each column is taken in turn and g
// updated, until a sweep moves nothing. e, g: scratch of n values. Needs P.h.
template <class Value>
void gptq_refine_row(const gptq_prepared& P, int sweeps, const float* w, int* codes, int lo, int hi, Value&& value,
                     std::vector<double>& e, std::vector<double>& g) {
    const int64_t n = static_cast<int64_t>(P.perm.size());
    e.resize(static_cast<size_t>(n));
    g.resize(static_cast<size_t>(n));
    for (int64_t a = 0; a < n; ++a) {
        const int64_t col = P.perm[a];
        e[a] = P.dead[col] ? 0.0 : double(w[col]) - double(value(col, codes[col]));
    }
    for (int64_t a = 0; a < n; ++a) {
        const double* ha = &P.h[a * n];
        double acc = 0.0;
        for (int64_t b = 0; b < n; ++b) acc += ha[b] * e[b];
        g[a] = acc;
    }
    for (int sweep = 0; sweep < sweeps; ++sweep) {
        int64_t moved = 0;
        for (int64_t a = 0; a < n; ++a) {
            const int64_t col = P.perm[a];
            if (P.dead[col]) continue;
            const double cur = value(col, codes[col]), haa = P.h[a * n + a];
            int best = codes[col];
            double bf = -1e-12 * haa * cur * cur, bdel = 0.0;  // ignore rounding-level gains
            for (int k = lo; k <= hi; ++k) {
                const double d = double(value(col, k)) - cur;
                const double df = d * (d * haa - 2.0 * g[a]);
                if (df < bf) {
                    bf = df;
                    best = k;
                    bdel = d;
                }
            }
            if (best == codes[col]) continue;
            codes[col] = best;
            e[a] -= bdel;
            const double* ha = &P.h[a * n];
            for (int64_t b = 0; b < n; ++b) g[b] -= bdel * ha[b];
            ++moved;
        }
        if (moved == 0) break;
    }
}

// Largest code of a block format whose per-weight codes can be rewritten (0 if they cannot).
int block_codes_max(type t);
// Writes codes[0..block_size) (0..block_codes_max) into an encoded block of `t`, keeping its scales.
void block_set_codes(type t, uint8_t* block, const int* codes);

// Whether gptq_quantize_blocks handles `t` (any encodable block format).
bool gptq_blocks_supports(type t);
// GPTQ as described above; rows * row_bytes(t, n) bytes. n must be a multiple of the block size
// unless the format pads rows.
std::vector<uint8_t> gptq_quantize_blocks(type t, const float* w, int64_t rows, int64_t n, std::span<const double> h,
                                          const gptq_options& opt);

}  // namespace lowbit
