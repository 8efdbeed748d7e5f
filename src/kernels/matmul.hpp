// y = x W^T with W kept in its stored number format. Weight rows are de-quantized (dequantize_row)
// tile by tile into a small per-thread buffer, once per call, and each tile is multiplied against all
// n_tokens activation rows with gemm_f32 -- so a batch of tokens pays for de-quantization once and a
// full F32 copy of W never exists. F32 weights are used in place.
// Small batches (n_tokens <= quantized_max_tokens(), 4 by default; generation is 1 token) of a weight
// type with a quantized dot product (kernels/dot.hpp; on SIMD tiers only where that dot product has a
// SIMD version) take the generation path instead: the
// activations are quantized once to Q8_0 / Q8_1 / Q8_K and each output is one integer dot product
// over the stored row, so W is streamed from memory once and never expanded to F32.
// Matrices repacked at load into 8-row tiles (weight_matrix::tiles, kernels/repack.hpp) take the tiled
// GEMV there instead: 8 rows per kernel call, one result per SIMD lane, bit-identical to the per-row
// __ref dot products; their prompt GEMM unpacks each tile in place of packing the rows.
// Larger batches of the types in gemm_q_kernel's table (Q4_0, Q5_0, Q8_0, Q2_K..Q6_K, IQ4_NL, IQ4_XS)
// take the integer prompt GEMM (kernels/gemm_q.hpp): activations
// quantized once per call (or once per shared input, see share_input_begin), 8-row groups of W packed
// into a per-thread buffer, and 8-row x 4-token integer micro-kernels. Other types use the F32 GEMM.
//   w: [n_rows][n_cols] stored rows;  x: [n_tokens][n_cols] (row stride ldx);  y: [n_tokens][n_rows] (ldy)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit {

struct repacked_matrix;  // kernels/repack.hpp

// Activation quantization of a product with this matrix (kernels/w8a8.hpp): none (weight-only, A16/A32),
// dynamic (one int8 scale per token, computed at run time) or static (one calibrated scale per tensor).
enum class act_mode : uint8_t { none = 0, dynamic = 1, static_tensor = 2 };
struct act_quant_desc {
    act_mode mode = act_mode::none;
    float scale = 0.0f;  // static_tensor: d_x (q = round(x / d_x) clamped to [-127, 127])
};

struct weight_matrix {
    std::string name;
    type t = type::f32;
    int64_t n_rows = 0, n_cols = 0;
    const uint8_t* data = nullptr;
    size_t row_stride = 0;  // bytes per stored row
    act_quant_desc act;     // mode none: matmul's ordinary weight-only paths
    // Optional load-time copy of the rows in interleaved 8-row tiles (kernels/repack.hpp; the types for
    // which repack_supported holds). When set (and act.mode is none), the generation path and the integer prompt GEMM read the
    // tiles and never `data`; the de-quantizing F32 path still reads `data`.
    std::shared_ptr<const repacked_matrix> tiles;
    // Owner of `data` when the rows are a load-time copy (copy_rows, kernels/repack.hpp); null when
    // `data` points into a file mapping or caller memory.
    std::shared_ptr<const uint8_t> rows_owner;

    const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_stride; }
    size_t n_bytes() const { return static_cast<size_t>(n_rows) * row_stride; }

    // A weight-only matrix over n_rows stored rows of type t, row_bytes(t, n_cols) apart from `data`.
    static weight_matrix stored_rows(std::string name, type t, int64_t n_rows, int64_t n_cols, const uint8_t* data) {
        weight_matrix w;
        w.name = std::move(name);
        w.t = t;
        w.n_rows = n_rows;
        w.n_cols = n_cols;
        w.data = data;
        w.row_stride = row_bytes(t, n_cols);
        return w;
    }
};

// Per-thread tile buffers, grown on first use and reused (no allocation in steady state).
class matmul_scratch {
public:
    float* tile(int worker, size_t n_floats);
    // Makes n worker buffers of at least n_floats each, in the calling thread: a loop that hands out work
    // dynamically calls it before its parallel region, so that what is allocated does not depend on
    // which worker happened to take an item (a worker that woke late in the first calls would otherwise
    // grow its buffer in a later one).
    void reserve_workers(int n, size_t n_floats = 0);
    // Quantized activation rows (grown on first use and reused).
    uint8_t* act(size_t n_bytes);
    // Batches of at most this many tokens use the quantized dot products, larger ones the integer
    // GEMM where the type has one. 0: never quantize activations (every batch de-quantizes W to F32).
    int quantized_max_tokens() const { return q_max_tokens_; }
    void set_quantized_max_tokens(int n) { q_max_tokens_ = n; }

    // Input sharing for the integer prompt GEMM: between share_input_begin() and share_input_end(),
    // a matmul whose x, n_tokens, ldx, n_cols and activation format equal the previous one's reuses
    // its quantized activations (q/k/v, or gate/up, read the same normed x). The caller must not change
    // x in between. Outside such a scope every call quantizes afresh.
    void share_input_begin() {
        sharing_ = true;
        ++gact.gen;
    }
    void share_input_end() {
        sharing_ = false;
        ++gact.gen;
    }
    bool sharing_input() const { return sharing_; }

    // Quantized activations of the integer GEMM path and the key of the input they hold.
    struct gemm_act_cache {
        std::vector<uint8_t> q;
        std::vector<float> d;
        std::vector<int32_t> s;
        const float* x = nullptr;
        int64_t n_tokens = 0, ldx = 0, n_cols = 0;
        type act = type::f32;
        bool a16 = false;  // block_a16 rows (the FP8 kernel), act unused
        uint64_t gen = 0, key_gen = ~uint64_t(0);
    } gact;

private:
    std::vector<std::vector<float>> buf_;
    std::vector<uint8_t> act_;
    int q_max_tokens_ = 4;
    bool sharing_ = false;
};

// RAII scope for matmul_scratch::share_input_begin/end (ends the scope on every exit path).
class matmul_shared_input {
public:
    explicit matmul_shared_input(matmul_scratch& s) : s_(s) { s_.share_input_begin(); }
    ~matmul_shared_input() { s_.share_input_end(); }
    matmul_shared_input(const matmul_shared_input&) = delete;
    matmul_shared_input& operator=(const matmul_shared_input&) = delete;

private:
    matmul_scratch& s_;
};

// Rows per de-quantized tile for a row of n_cols weights (a multiple of 4, about 32 KiB of floats).
int64_t matmul_tile_rows(int64_t n_cols);

// y[t][r] = sum_k x[t][k] * W[r][k] over n_threads threads (split by rows). Never throws for valid
// shapes; shapes are checked when the weight_matrix is built.
void matmul(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
            int n_threads, matmul_scratch& scratch);
// matmul's weight-only paths, whatever w.act says (matmul_w8a8 runs them on its rounded activations).
void matmul_weight_only(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y,
                        int64_t ldy, int n_threads, matmul_scratch& scratch);

}  // namespace lowbit
