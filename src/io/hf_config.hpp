// Hugging Face checkpoint conventions mapped onto GGUF's (as llama.cpp's convert_hf_to_gguf.py does it
// for LlamaForCausalLM): config.json -> llama.* metadata, HF tensor names -> GGUF names, the q/k rotary
// permutation, and tokenizer.json (+ tokenizer_config.json) -> tokenizer.ggml.* metadata.
// Mapping tables: docs/model-io.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/gguf.hpp"

namespace lowbit::io {

// Parses a JSON file; throws lowbit::error naming the file and the parse position.
nlohmann::json read_json_file(const std::string& path);

// The hyper-parameters of a llama-architecture config.json, checked for consistency.
struct hf_llama_config {
    int64_t n_embd = 0;     // hidden_size
    int64_t n_ff = 0;       // intermediate_size
    int64_t n_layer = 0;    // num_hidden_layers
    int64_t n_head = 0;     // num_attention_heads
    int64_t n_head_kv = 0;  // num_key_value_heads (default n_head)
    int64_t n_ctx = 0;      // max_position_embeddings (0 = absent)
    int64_t n_vocab = 0;    // vocab_size
    int64_t head_dim = 0;   // head_dim, default n_embd / n_head
    bool has_head_dim = false;
    double rms_eps = 1e-5;    // rms_norm_eps
    double rope_theta = 0;    // rope_theta (0 = absent)
    bool tie_word_embeddings = false;
};

// `path` names config.json in error messages.
hf_llama_config parse_hf_llama_config(const nlohmann::json& cfg, const std::string& path);

// general.architecture and llama.* keys, in convert_hf_to_gguf.py's order.
std::vector<gguf_kv> hf_config_metadata(const hf_llama_config& c, const nlohmann::json& cfg,
                                        const std::string& path);

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt for a name that is not
// part of a llama model.
std::optional<std::string> hf_to_gguf_tensor_name(std::string_view hf_name);
// Tensors llama.cpp drops on conversion (rotary_emb.inv_freq: recomputed at run time).
bool hf_tensor_is_ignored(std::string_view hf_name);
// Sort key giving llama.cpp's tensor order (token_embd, output_norm, output, then per block).
std::pair<int64_t, int> gguf_tensor_order(std::string_view gguf_name);

// Undoes HF's rotary permutation of q_proj/k_proj rows (convert_hf_to_gguf.py LlamaModel.permute):
// HF stores each head's rows as [2 halves][head_dim/2], GGUF as [head_dim/2][2 interleaved]:
//   dst row h*hd + 2*i + j  =  src row h*hd + j*(hd/2) + i.
// `n_rows` = n_head * hd rows of `row_bytes` bytes each.
void unpermute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, size_t row_bytes,
                       int64_t n_head);
// The inverse (GGUF -> HF), for writers and tests.
void permute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, size_t row_bytes,
                     int64_t n_head);

// tokenizer.ggml.* keys from tokenizer.json. `tok_cfg` (tokenizer_config.json) may be null.
// Byte-level BPE -> model "gpt2" with merges; BPE with byte_fallback (SentencePiece converted) ->
// model "llama" with scores. `n_vocab` pads the token list to the model's embedding rows.
std::vector<gguf_kv> hf_tokenizer_metadata(const nlohmann::json& tok, const nlohmann::json* tok_cfg,
                                           const nlohmann::json& cfg, int64_t n_vocab,
                                           const std::string& path);

}  // namespace lowbit::io
