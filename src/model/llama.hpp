// The LLaMA-family decoder: configuration from GGUF-style metadata, a view of the weights in their
// stored formats (nothing is de-quantized ahead of time; see kernels/matmul.hpp), and a context that
// runs the forward pass over batches of tokens with a KV cache.
//
// Per layer, for a batch x: [n_tokens, n_embd]
//   h = x + Wo . attention(rope(Wq . rms(x)), rope(Wk . rms(x)), Wv . rms(x))   (causal, GQA)
//   x = h + Wdown . (silu(Wgate . rms(h)) * (Wup . rms(h)))                       (SwiGLU)
// logits = Wout . rms(x), Wout = token_embd when the model ties them.
// RoPE: "normal" (GGUF llama: rotates adjacent pairs x[2i], x[2i+1]) or "neox" (pairs x[i], x[i+n_rot/2]).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/matmul.hpp"
#include "lowbit/model_file.hpp"
#include "model/kv_cache.hpp"

namespace lowbit {

// y = x / sqrt(mean(x^2) + eps) * w for each of n_rows rows of n values (sum of squares in double).
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

enum class rope_style { normal, neox };

struct llama_config {
    std::string arch;  // general.architecture
    int64_t n_vocab = 0, n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
    int64_t head_dim = 0;     // per head, for q, k and v
    int64_t n_rot = 0;        // dimensions RoPE rotates (<= head_dim)
    int64_t n_ctx_train = 0;  // <arch>.context_length
    float rms_eps = 1e-5f;
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // linear scaling: positions are multiplied by this
    rope_style rope = rope_style::normal;
    bool tied_output = false;

    // Reads `<arch>.*` keys and tensor shapes; throws lowbit::error naming the missing/bad key.
    static llama_config from_model(const model_data& m);
};

// RoPE angles pos * freq_scale * freq_base^(-2i / n_rot) for positions [0, n_pos) and i < n_rot / 2, as
// cos and sin tables [n_pos][n_rot / 2] (computed in double, stored as float).
struct rope_table {
    rope_table() = default;
    rope_table(const llama_config& c, int64_t n_pos);
    // Rotates the first n_rot dimensions of n_heads heads (head_dim apart from y) of one token at
    // position pos, in c.rope's pairing (normal: x[2i], x[2i+1]; neox: x[i], x[i + n_rot/2]).
    void apply(const llama_config& c, float* y, int64_t n_heads, int64_t pos) const;
    size_t n_floats() const { return cos.size() + sin.size(); }
    std::vector<float> cos, sin;
};

struct llama_layer {
    std::vector<float> attn_norm, ffn_norm;  // [n_embd]
    weight_matrix wq, wk, wv, wo, w_gate, w_up, w_down;
    // Repacked models: q, k, v (and gate, up) stacked into one matrix of tiles only (no rows; the parts'
    // tiles are views into it, stack_repacked) for one-token generation: one product and one parallel
    // region instead of three (two). n_rows == 0 when the parts are not all tiled alike.
    weight_matrix wqkv, w_gate_up;
};

// The repack mode llama_model's loader applies (load_options::repack): `all` becomes `compact` when the
// tiles that take more memory than their rows would add extra_bytes over half of available_bytes (0:
// unknown, no check); any other request stands.
repack_mode resolve_repack_mode(repack_mode requested, size_t extra_bytes, size_t available_bytes);

class llama_model {
public:
    // Takes ownership of the loaded data (the mappings stay alive with it) and checks every tensor's
    // presence, shape and byte size.
    // `opt.act_quant` chooses activation quantization (quant/act_quant.hpp); the rest of opt is unused.
    explicit llama_model(model_data m, const load_options& opt = {});
    static std::shared_ptr<const llama_model> load(const std::string& path, const load_options& opt = {});

    const llama_config& config() const { return cfg_; }
    const model_data& data() const { return data_; }
    const weight_matrix& tok_embd() const { return tok_embd_; }
    const weight_matrix& output() const { return output_; }
    const std::vector<float>& output_norm() const { return output_norm_; }
    const std::vector<llama_layer>& layers() const { return layers_; }

    int64_t n_params() const { return n_params_; }    // elements of all tensors
    uint64_t n_bytes() const { return n_bytes_; }     // stored bytes of all tensors
    double bits_per_weight() const { return n_params_ ? 8.0 * double(n_bytes_) / double(n_params_) : 0.0; }

private:
    model_data data_;
    llama_config cfg_;
    weight_matrix tok_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<llama_layer> layers_;
    int64_t n_params_ = 0;
    uint64_t n_bytes_ = 0;
};

// Sees the input of every matrix product of the forward pass before it runs: (weight tensor name,
// X as [n_tokens][n_cols] row-major, n_tokens, n_cols). Used to collect activation statistics
// (quant/imatrix.hpp). Called on the thread that runs decode(); unset, it costs one test per product.
using matmul_observer = std::function<void(const std::string& weight, const float* x, int64_t n_tokens, int64_t n_cols)>;

struct context_options {
    int64_t n_ctx = 0;     // 0: the model's training context
    int64_t n_batch = 512; // tokens per forward pass (longer inputs are split)
    int n_threads = 0;     // 0: default_threads()
    matmul_observer observer;  // optional
    kv_type kv = kv_type::f32;  // KV cache elements (model/kv_cache.hpp)
};

// One sequence's state: KV cache, scratch buffers (allocated once), per-thread kernel buffers.
// Not thread-safe: use one context per thread for independent sequences.
class llama_context {
public:
    llama_context(std::shared_ptr<const llama_model> model, const context_options& opt);

    // Appends `tokens` at positions n_past()..; returns the logits of the tokens with index
    // >= first_logit in this call, as [n - first_logit][n_vocab] (valid until the next call).
    // Throws lowbit::error if the context would overflow or a token id is out of range.
    std::span<const float> decode(std::span<const int32_t> tokens, int64_t first_logit);
    // Logits of the last token only.
    std::span<const float> decode_last(std::span<const int32_t> tokens) {
        return decode(tokens, static_cast<int64_t>(tokens.size()) - 1);
    }

    void clear() { kv_.clear(); }
    // Forgets the positions from n on (n <= n_past()): the next decode continues at position n.
    void rewind(int64_t n);
    int64_t n_past() const { return kv_.n_past(); }
    int64_t n_ctx() const { return kv_.n_ctx(); }
    int n_threads() const { return n_threads_; }
    const llama_model& model() const { return *model_; }
    size_t n_bytes() const;  // memory held by the KV cache and buffers

private:
    void forward(const int32_t* tokens, int64_t n, int64_t n_out, float* logits);

    std::shared_ptr<const llama_model> model_;
    int n_threads_ = 1;
    int64_t n_batch_ = 512;
    matmul_observer observer_;
    kv_cache kv_;
    matmul_scratch mm_;
    rope_table rope_;  // positions [0, n_ctx)
    std::vector<float> x_, xn_, q_, k_, v_, att_, g_, u_, attn_scratch_, logits_;
    std::vector<float> stacked_;  // one token's output of a stacked product (llama_layer::wqkv, w_gate_up)
    size_t attn_scratch_per_worker_ = 0;  // floats: a GQA group's scores, kernels::attn_f32
};

}  // namespace lowbit
