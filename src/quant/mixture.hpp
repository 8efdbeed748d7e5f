// llama.cpp's per-tensor mixture rules (src/llama-quant.cpp, llama_tensor_get_type_impl) for dense
// llama-family models: which type each tensor gets under a preset such as Q4_K_M. Reproducing them
// lets lowbit write the same mixtures as llama-quantize and compare against them at equal size.
#pragma once

#include <string>
#include <vector>

#include "lowbit/model_file.hpp"
#include "lowbit/quantize.hpp"

namespace lowbit {

enum class tensor_category {
    token_embd, output, attn_q, attn_k, attn_v, attn_qkv, attn_output, ffn_gate, ffn_up, ffn_down, other
};
tensor_category categorize_tensor(const std::string& name);

// Whether a tensor is a weight that quantization applies to (>= 2 dims, name ends in "weight",
// not a norm), as llama.cpp's tensor_allows_quantization.
bool is_quantizable_weight(const model_tensor& t);

// Stateful rule engine: call type_for() for the tensors in file order (the rules count attn_v and
// ffn_down tensors as they go, like llama.cpp).
class mixture_rules {
public:
    mixture_rules(const model_data& m, const quant_preset& p, bool has_imatrix);
    // The mixture's type for tensor `t` (before shape fallback), with a short reason.
    type type_for(const model_tensor& t, std::string& reason);

private:
    quant_preset preset_;
    bool has_imatrix_;
    bool tied_embeddings_;
    int n_gqa_;
    int n_attn_v_ = 0, n_ffn_down_ = 0, n_ffn_gate_ = 0, n_ffn_up_ = 0;
    int i_attn_v_ = 0, i_ffn_down_ = 0, i_ffn_gate_ = 0, i_ffn_up_ = 0;
};

}  // namespace lowbit
