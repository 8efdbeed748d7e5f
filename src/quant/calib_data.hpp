// Calibration data for the weight methods that need activations (GPTQ, AWQ): token sequences cut
// from a text, and a layer-by-layer runner of the LLaMA graph (model/llama.hpp) over all of them.
//
// The runner keeps the hidden states of every calibration token between layers ([n_tokens][n_embd]),
// so a method can change a layer's weights (quantize them, fold scales) before they are used to
// propagate: later layers then see the outputs of the already-processed ones (GPTQ's sequential
// mode). At four points of each layer it shows the method the input activations of a group of
// weight matrices:
//   attn_in  X = rms(x) * attn_norm  ->  wq, wk, wv          [n_tokens][n_embd]
//   attn_out X = attention output    ->  wo                  [n_tokens][n_head * head_dim]
//   ffn_in   X = rms(h) * ffn_norm   ->  w_gate, w_up        [n_tokens][n_embd]
//   ffn_mid  X = silu(gate) * up     ->  w_down              [n_tokens][n_ff]
// After each visit the values that depend on changed weights are recomputed, so a change that
// leaves the F32 function alone (AWQ's folded scales) leaves the propagation alone too.
// This is the same math as llama_context::forward (tests/quant/awq_test.cpp compares logits).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lowbit/model_file.hpp"

namespace lowbit {

struct calib_options {
    std::string text_path;  // UTF-8 text to cut sequences from
    int64_t n_seq = 32;     // sequences
    int64_t seq_len = 256;  // tokens per sequence (the first one replaced by BOS)
    uint64_t seed = 1234;   // picks the windows (mt19937_64)
    int threads = 0;
};

// n_seq windows of seq_len tokens at seeded random offsets of the tokenized text (the model's own
// tokenizer). Throws lowbit::error if the text has fewer than seq_len + 1 tokens.
std::vector<std::vector<int32_t>> calib_sequences(const model_data& m, const calib_options& opt);

// The F32 values of tensor `name` of `m` (any stored type); throws if it is missing, truncated or
// does not have n_expected elements.
std::vector<float> tensor_f32(const model_data& m, const std::string& name, int64_t n_expected);

// One layer's weights as editable F32 matrices ([n_rows][n_cols] row-major, ggml's row = output).
struct layer_f32 {
    std::vector<float> attn_norm, ffn_norm;  // [n_embd]
    std::vector<float> wq, wk, wv, wo, w_gate, w_up, w_down;
    int64_t n_ff = 0;
};

enum class calib_point { attn_in, attn_out, ffn_in, ffn_mid };
const char* calib_point_name(calib_point p);

// Called at each point: (layer, point, that layer's weights (editable), X: [n_tokens][n_in]).
using calib_visitor =
    std::function<void(int64_t layer, calib_point p, layer_f32& w, const float* x, int64_t n_tokens, int64_t n_in)>;

// De-quantized copies of every layer's weights of a LLaMA-family model.
std::vector<layer_f32> load_layers_f32(const model_data& m);

// The way back: a copy of `in` whose per-layer norms and matrices hold the F32 values of `layers`
// (type f32, owned by the copy). The attention output matrix is stored only if `with_attn_output`
// (a method that never changes it leaves it in its stored format). `who` names the caller in errors.
model_data store_layers_f32(const model_data& in, const std::vector<layer_f32>& layers, bool with_attn_output,
                            const char* who);

// Runs the sequences through all layers, visiting each point; `layers` holds the weights used (and
// changed by the visitor). If `final_logits` is given it receives the logits of every token,
// [n_seq * seq_len][n_vocab], from the final norm and output matrix of `m` (for tests). If
// `final_hidden` is given it receives the output matrix's input, rms(x) * output_norm,
// [n_seq * seq_len][n_embd] (GPTQ's calibration of output.weight). If `residual_gain` is given it
// receives, for each RMS norm in order (attn_norm and ffn_norm of every layer, then output_norm), the
// mean over tokens of ms(x_0) / ms(x) (ms: mean square of the residual stream x there, x_0: the token
// embedding): how much an error in the embedding is scaled down by that norm relative to layer 0's.
void run_layerwise(const model_data& m, const std::vector<std::vector<int32_t>>& seqs, std::vector<layer_f32>& layers,
                   const calib_visitor& visit, int threads, std::vector<float>* final_logits = nullptr,
                   std::vector<float>* final_hidden = nullptr, std::vector<double>* residual_gain = nullptr);

// Second-moment matrix for quantizing the token embedding (GPTQ's H for token_embd, [n_embd]^2): an
// error e in a token's embedding reaches every matrix W that reads a norm of the residual stream as
// W diag(g) e / rms(x), so M = sum over those W of gain * diag(g) W^T W diag(g), with g the norm's
// weight and gain its residual_gain (run_layerwise; n_layer * 2 + 1 values). Covers q/k/v and
// gate/up of every layer (from `layers`) and the output matrix of `m` if it has its own.
std::vector<double> embedding_hessian(const model_data& m, const std::vector<layer_f32>& layers,
                                      const std::vector<double>& residual_gain, int threads);

}  // namespace lowbit
