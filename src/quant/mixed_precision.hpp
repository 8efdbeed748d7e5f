// Automatic mixed precision: choose each weight tensor's format so that the model meets a size
// budget (bits per weight or file bytes) or a quality budget (KL divergence) at the least cost in the
// other.
//
// 1. Candidates. For every quantizable weight, each candidate format (default: llama.cpp-compatible
//    Q2_K Q3_K Q4_K Q5_K Q6_K Q8_0 F16) is resolved through the pipeline's own plan (so rows a
//    format's block does not divide fall back exactly as `lowbit quantize --pure` does) and
//    de-duplicated; its cost is the tensor's stored bytes in that format.
// 2. Sensitivity. ΔKLD(t, f) = mean KL(reference || model) over a calibration text when tensor t alone
//    is quantized (RTN) to f and every other tensor keeps its input values; measured with the eval
//    harness's per-token math (eval/kld.hpp) against reference logits computed once. Mode `all`
//    measures every (tensor, format); mode `anchor` measures one format per tensor (the candidate
//    nearest 3.5 bits) and scales it to the others by the ratio of their weight reconstruction
//    errors ||W - Q(W)||^2 (KLD is quadratic in a small perturbation, so within one tensor it
//    tracks the squared error). `auto` picks `all` when it costs at most ~4x `anchor`'s passes or
//    the model is small.
// 3. Allocation (HAWQ-V2 / "Mixed precision as a knapsack", greedy on the Lagrangian): assume
//    ΔKLDs add across tensors; per tensor keep the lower convex hull of (bytes, ΔKLD); start every
//    tensor at its cheapest hull point and repeatedly take the upgrade with the largest
//    ΔKLD-decrease per extra byte that still fits the byte budget, until nothing fits or the
//    estimated total ΔKLD is <= the KLD budget.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/model_file.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

// ---- the allocator (pure; tested on synthetic tables) ----
struct mp_item {
    std::vector<uint64_t> bytes;  // per option
    std::vector<double> cost;     // per option (estimated ΔKLD)
};
// Returns one option index per item. Bytes of all items <= budget_bytes (if the cheapest options
// already exceed it, returns the cheapest options). Stops early once the summed cost <= max_cost
// (max_cost < 0: no cost target).
std::vector<size_t> allocate_greedy(const std::vector<mp_item>& items, uint64_t budget_bytes, double max_cost = -1);

// ---- sensitivity measurement and the plan ----
enum class mp_measure { automatic, all, anchor };

struct mp_options {
    std::vector<type> candidates = {type::q2_k, type::q3_k, type::q4_k, type::q5_k,
                                    type::q6_k, type::q8_0, type::f16};
    fallback_mode fallback = fallback_mode::ggml;
    std::string calib_text;          // contents of the calibration file
    int64_t n_ctx = 128;             // tokens per calibration chunk
    int64_t n_chunks = 8;            // chunks (all positions after the first are scored)
    mp_measure measure = mp_measure::automatic;
    int threads = 0;
    // Budgets: at least one. Size budgets are upper bounds; max_kld alone gives the smallest model
    // whose estimated KLD is <= max_kld.
    double target_bpw = 0;           // bits per weight as quantize_report::bits_per_weight()
    uint64_t target_file_bytes = 0;  // whole output file
    double max_kld = -1;
    std::function<void(size_t, size_t, const std::string&)> on_progress;  // (done, total, tensor)
    // Sensitivity cache (text, one line per tensor x candidate): reused when it holds every
    // (tensor, type) of this plan with the same calibration settings, else measured and written.
    std::string cache_path;
    // The options the file will be written with (preset, metadata such as an imatrix's, method)
    // before apply_mixed_plan: target_file_bytes is checked against the exact file they give.
    quantize_options output;
};

struct mp_candidate {
    type t = type::f32;
    uint64_t bytes = 0;
    double rel_err = 0;   // ||W - Q(W)||^2 / ||W||^2
    double dkld = 0;      // estimated (or measured) ΔKLD when only this tensor is quantized to t
    bool measured = false;
    bool on_hull = false;  // on the lower convex hull the allocator walks
};

struct mp_tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<mp_candidate> candidates;  // by increasing bytes
    size_t chosen = 0;
};

struct mp_plan {
    std::vector<mp_tensor> tensors;
    uint64_t budget_bytes = 0;        // for the quantizable tensors' data (UINT64_MAX: none)
    uint64_t fixed_bytes = 0;         // tensors that are not quantizable (kept)
    uint64_t chosen_bytes = 0;        // quantizable tensors' data as chosen
    double est_kld = 0;               // sum of chosen ΔKLDs
    uint64_t n_elements = 0;          // all tensors
    std::string measure;              // "all" | "anchor"
    int64_t n_passes = 0, n_calib_tokens = 0;
    double seconds = 0;
    // Exact-name type assignment for quantize_options::tensor_types (escaped regexes).
    std::vector<std::pair<std::string, type>> tensor_types() const;
};

// Measures sensitivities on `in` (its own values are the reference) and allocates.
mp_plan plan_mixed_precision(const model_data& in, const mp_options& opt);

// Turns `qo` into the quantization the plan chose: the plan's exact-name types go before the user's
// --tensor-type rules, no mixture rules, re-encoding allowed; the output's general.file_type becomes
// the dominant type's llama.cpp ftype (dominant_llama_ftype) instead of the base preset's, and
// lowbit.quantize.mixed_precision is set.
void apply_mixed_plan(const mp_plan& plan, const model_data& in, quantize_options& qo);

// Human table (per tensor: candidates with bytes and ΔKLD, the choice) and JSON.
std::string format_mp_report(const mp_plan& p);
std::string mp_report_json(const mp_plan& p);

// Mean KLD of `model` against reference logits computed once from `reference`, over chunks of the
// calibration text (used by the sensitivity measurement; exposed for tests).
class kld_probe {
public:
    kld_probe(const model_data& reference, const std::string& text, int64_t n_ctx, int64_t n_chunks, int threads);
    double measure(const model_data& model) const;
    int64_t n_tokens_scored() const;
    struct impl;  // chunks and cached reference logits

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace lowbit
