// Activation quantization (W8A8) for LLaMA-family models: calibration of static scales, SmoothQuant
// folding, the per-tensor fallback guard, and the metadata that tells the runtime what to do.
//
// Which products: the seven per-layer matrices (attn_q/k/v/output, ffn_gate/up/down). The output head
// and the embedding stay weight-only. int8_pc weights run the integer W8A8 kernels
// (kernels/w8a8.hpp); any other stored type gets the same activation rounding simulated.
//
// File metadata (written by `lowbit quantize --act-quant`, read by llama_model):
//   lowbit.act_quant.mode            "dynamic" | "static"
//   lowbit.act_quant.tensors         [string]  tensors whose input is quantized to int8
//   lowbit.act_quant.scales          [f32]     static: d_x of each listed tensor (same order)
//   lowbit.act_quant.fallback        [string]  tensors the guard kept weight-only (A16)
//   lowbit.act_quant.observer, .percentile, .fallback_bound, .smoothquant_alpha,
//   lowbit.act_quant.top1_agreement  provenance and the calibration-set check
//
// SmoothQuant (Xiao et al. 2022, arXiv:2211.10438): for a group of matrices W_k reading the same
// input X, s_j = max_t |X_tj|^alpha / max_k,r |W_k[r][j]|^(1 - alpha); W_k[:, j] *= s_j and X_j /= s_j
// is folded into what produces X (attn_norm for q/k/v, ffn_norm for gate/up, the rows of ffn_up for
// down), so the F32 model computes the same function while activation outlier channels shrink.
//
// Fallback guard: on the calibration tokens each listed matrix's output with int8 activations is
// compared with its weight-only output, e = ||Y_w8a8 - Y_w||_F / ||Y_w||_F; above the bound the
// matrix is kept weight-only (the known failure of per-tensor int8 on outlier channels).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "lowbit/model_file.hpp"
#include "model/llama.hpp"
#include "quant/act_observer.hpp"
#include "quant/calib_data.hpp"

namespace lowbit {

// "none", "dynamic", "static"; throws lowbit::error otherwise.
act_mode parse_act_mode(const std::string& name);
const char* act_mode_name(act_mode m);

struct act_quant_options {
    act_mode mode = act_mode::dynamic;
    act_observer observer = act_observer::minmax;
    double percentile = 99.99;
    double fallback_bound = 0.0;       // relative output error above which a matrix stays A16; 0: off
    double smoothquant_alpha = -1.0;   // recorded only (the folding is smoothquant_transform)
    int threads = 0;
};

struct act_tensor_report {
    std::string name;
    type t = type::f32;
    double amax = 0, clip = 0, scale = 0;  // observed max |x|, observer's threshold, d_x (static)
    double rel_err = -1;                   // guard's relative output error (-1: not measured)
    bool fallback = false;
};

struct act_quant_report {
    act_mode mode = act_mode::dynamic;
    act_observer observer = act_observer::minmax;
    std::vector<act_tensor_report> tensors;
    int64_t n_tokens = 0;          // calibration tokens
    double top1_agreement = -1;    // argmax(W8A8) == argmax(weight-only) on calibration tokens
    double kld = -1;               // mean KL(weight-only || W8A8) on calibration tokens
    size_t n_fallback() const;
};

// The per-layer matrices of a llama model (blk.N.attn_q.weight, ...).
std::vector<std::string> act_quant_tensor_names(const llama_config& c);

// Calibrates `m` (weights as they will be stored) on `seqs`: static scales from the observer, the
// fallback guard, and the top-1 / KLD check of the final assignment against weight-only. With
// mode dynamic and no sequences, only the tensor list is produced.
act_quant_report calibrate_act_quant(const model_data& m, const std::vector<std::vector<int32_t>>& seqs,
                                     const act_quant_options& opt);
// Writes the report's lowbit.act_quant.* keys into m.
void set_act_quant_metadata(model_data& m, const act_quant_report& r, const act_quant_options& opt);

// Sets each layer matrix's act descriptor from m's metadata; `override_mode` "" keeps the file's
// choice, "none" turns activation quantization off, "dynamic" turns per-token int8 on for every
// per-layer matrix. Throws lowbit::error on inconsistent metadata (array lengths, bad scales).
void apply_act_quant(const model_data& m, std::vector<llama_layer>& layers, const std::string& override_mode);

// SmoothQuant folding (see above) of q/k/v, gate/up and down; returns `in` with the changed tensors
// as F32 (others shared). Before rounding the F32 model computes the same function.
model_data smoothquant_transform(const model_data& in, const std::vector<std::vector<int32_t>>& seqs, double alpha,
                                 int threads);

std::string format_act_quant_report(const act_quant_report& r, bool per_tensor);

// `lowbit quantize --act-quant` in two steps around the weight quantization:
//   prepare: with opt.smoothquant_alpha >= 0, SmoothQuant-folds `m` on sequences of calib.text_path;
//            otherwise returns m unchanged;
//   finish:  loads the written file, calibrates (calibration text optional for plain dynamic), adds
//            the lowbit.act_quant.* keys and rewrites the file (temporary file + rename).
model_data act_quant_prepare(model_data m, const act_quant_options& opt, const calib_options& calib);
act_quant_report act_quant_finish(const std::string& path, const act_quant_options& opt, const calib_options& calib);

}  // namespace lowbit
