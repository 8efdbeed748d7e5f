#include "model/synth.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numbers>
#include <vector>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"

namespace lowbit {
namespace {

// splitmix64: a counter-based generator, so row r of tensor i has the same values whatever the
// thread split.
uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Fills `dst` with N(0, sigma^2) by Box-Muller.
void gaussian_row(uint64_t seed, float* dst, int64_t n, float sigma) {
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i += 2) {
        const double u1 = (static_cast<double>(splitmix(s) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
        const double u2 = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(u1)) * sigma;
        dst[i] = static_cast<float>(r * std::cos(2.0 * std::numbers::pi * u2));
        if (i + 1 < n) dst[i + 1] = static_cast<float>(r * std::sin(2.0 * std::numbers::pi * u2));
    }
}

struct builder {
    const synth_options& opt;
    model_data m;
    uint64_t tensor_index = 0;

    void add(const std::string& name, type t, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
        auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
        m.tensors.push_back({name, t, std::move(shape), std::span<const uint8_t>(owned->data(), owned->size())});
        m.keepalive.push_back(owned);
    }

    // A [n_rows][n_cols] matrix (ggml shape {n_cols, n_rows}) of N(0, 1/n_cols) values in opt.t.
    void matrix(const std::string& name, int64_t n_cols, int64_t n_rows) {
        const type t = opt.t;
        LOWBIT_REQUIRE(row_supported(t, n_cols), "synth: tensor '{}': rows of {} weights cannot be stored as {}",
                       name, n_cols, type_name(t));
        const size_t rb = row_bytes(t, n_cols);
        std::vector<uint8_t> bytes(rb * static_cast<size_t>(n_rows));
        const float sigma = 1.0f / std::sqrt(static_cast<float>(n_cols));
        const uint64_t base = opt.seed * 0x100000001B3ull + (++tensor_index << 32);
        parallel_for(n_rows, opt.n_threads, [&](int64_t b, int64_t e, int) {
            std::vector<float> row(static_cast<size_t>(n_cols));
            for (int64_t r = b; r < e; ++r) {
                gaussian_row(base + static_cast<uint64_t>(r) * 0x9E3779B97F4A7C15ull, row.data(), n_cols, sigma);
                if (t == type::f32)
                    std::memcpy(bytes.data() + rb * static_cast<size_t>(r), row.data(), rb);
                else
                    quantize_row(t, row.data(), bytes.data() + rb * static_cast<size_t>(r), n_cols);
            }
        });
        add(name, t, {n_cols, n_rows}, std::move(bytes));
    }

    void ones(const std::string& name, int64_t n) {
        std::vector<uint8_t> bytes(static_cast<size_t>(n) * sizeof(float));
        const float one = 1.0f;
        for (int64_t i = 0; i < n; ++i) std::memcpy(bytes.data() + i * sizeof(float), &one, sizeof(float));
        add(name, type::f32, {n}, std::move(bytes));
    }
};

void builtin_tokenizer(model_data& m, int64_t n_vocab) {
    LOWBIT_REQUIRE(n_vocab >= 259, "synth: the built-in vocabulary needs n_vocab >= 259 (3 special + 256 byte "
                   "tokens), got {}; pass a tokenizer GGUF instead", n_vocab);
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        tokens.emplace_back(buf);
        types.push_back(6);  // byte
    }
    // Then "▁", printable ASCII characters, "▁" + lower-case letter, pairs of lower-case letters.
    std::vector<std::string> pieces = {"\xE2\x96\x81"};
    for (char c = 33; c < 127; ++c) pieces.emplace_back(1, c);
    for (char c = 'a'; c <= 'z'; ++c) pieces.push_back("\xE2\x96\x81" + std::string(1, c));
    for (char a = 'a'; a <= 'z'; ++a)
        for (char b = 'a'; b <= 'z'; ++b) pieces.push_back(std::string{a, b});
    for (size_t i = 0; static_cast<int64_t>(tokens.size()) < n_vocab; ++i) {
        LOWBIT_REQUIRE(i < pieces.size(), "synth: the built-in vocabulary has at most {} tokens, got n_vocab {}",
                       259 + pieces.size(), n_vocab);
        tokens.push_back(pieces[i]);
        types.push_back(1);  // normal
    }
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = i < 259 ? 0.0f : -static_cast<float>(i - 259);
    m.set("tokenizer.ggml.model", gguf_value::str("llama"));
    m.set("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
    m.set("tokenizer.ggml.scores", gguf_value::f32_array(scores));
    m.set("tokenizer.ggml.token_type", gguf_value::i32_array(types));
    m.set("tokenizer.ggml.unknown_token_id", gguf_value::u32(0));
    m.set("tokenizer.ggml.bos_token_id", gguf_value::u32(1));
    m.set("tokenizer.ggml.eos_token_id", gguf_value::u32(2));
}

void copy_tokenizer(model_data& m, const std::string& path, int64_t n_vocab) {
    const gguf_file src = gguf_file::open(path);
    const gguf_value* toks = src.find("tokenizer.ggml.tokens");
    LOWBIT_REQUIRE(toks != nullptr && toks->type == gguf_type::array,
                   "synth: {}: no tokenizer.ggml.tokens array to copy", path);
    LOWBIT_REQUIRE(static_cast<int64_t>(toks->array.size()) == n_vocab,
                   "synth: {}: vocabulary has {} tokens, but n_vocab is {}", path, toks->array.size(), n_vocab);
    for (const auto& [key, value] : src.metadata())
        if (key.rfind("tokenizer.", 0) == 0) m.set(key, value);
}

}  // namespace

model_data synth_llama(const synth_options& opt) {
    LOWBIT_REQUIRE(opt.n_embd > 0 && opt.n_ff > 0 && opt.n_layer > 0 && opt.n_vocab > 0 && opt.n_ctx > 0,
                   "synth: dimensions must be positive (dim {}, ffn {}, layers {}, vocab {}, ctx {})", opt.n_embd,
                   opt.n_ff, opt.n_layer, opt.n_vocab, opt.n_ctx);
    LOWBIT_REQUIRE(opt.n_head > 0 && opt.n_head_kv > 0 && opt.n_head % opt.n_head_kv == 0 &&
                       opt.n_embd % opt.n_head == 0 && (opt.n_embd / opt.n_head) % 2 == 0,
                   "synth: {} heads / {} KV heads do not divide dim {} into even head sizes", opt.n_head,
                   opt.n_head_kv, opt.n_embd);
    builder b{opt, {}};
    model_data& m = b.m;
    m.source_path = "synth";
    m.source_format = "gguf";
    const int64_t head_dim = opt.n_embd / opt.n_head, kv_dim = head_dim * opt.n_head_kv;
    m.set("general.architecture", gguf_value::str("llama"));
    m.set("general.name", gguf_value::str("lowbit-synth"));
    m.set("llama.context_length", gguf_value::u32(static_cast<uint32_t>(opt.n_ctx)));
    m.set("llama.embedding_length", gguf_value::u32(static_cast<uint32_t>(opt.n_embd)));
    m.set("llama.feed_forward_length", gguf_value::u32(static_cast<uint32_t>(opt.n_ff)));
    m.set("llama.block_count", gguf_value::u32(static_cast<uint32_t>(opt.n_layer)));
    m.set("llama.attention.head_count", gguf_value::u32(static_cast<uint32_t>(opt.n_head)));
    m.set("llama.attention.head_count_kv", gguf_value::u32(static_cast<uint32_t>(opt.n_head_kv)));
    m.set("llama.rope.dimension_count", gguf_value::u32(static_cast<uint32_t>(head_dim)));
    m.set("llama.attention.layer_norm_rms_epsilon", gguf_value::f32(1e-5f));
    if (opt.tokenizer_from.empty())
        builtin_tokenizer(m, opt.n_vocab);
    else
        copy_tokenizer(m, opt.tokenizer_from, opt.n_vocab);

    b.matrix("token_embd.weight", opt.n_embd, opt.n_vocab);
    b.ones("output_norm.weight", opt.n_embd);
    b.matrix("output.weight", opt.n_embd, opt.n_vocab);
    for (int64_t l = 0; l < opt.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        b.matrix(p + "attn_q.weight", opt.n_embd, opt.n_embd);
        b.matrix(p + "attn_k.weight", opt.n_embd, kv_dim);
        b.matrix(p + "attn_v.weight", opt.n_embd, kv_dim);
        b.matrix(p + "attn_output.weight", opt.n_embd, opt.n_embd);
        b.ones(p + "attn_norm.weight", opt.n_embd);
        b.matrix(p + "ffn_gate.weight", opt.n_embd, opt.n_ff);
        b.matrix(p + "ffn_down.weight", opt.n_ff, opt.n_embd);
        b.matrix(p + "ffn_up.weight", opt.n_embd, opt.n_ff);
        b.ones(p + "ffn_norm.weight", opt.n_embd);
    }
    return std::move(b.m);
}

void write_synth_llama(const synth_options& opt, const std::string& path) { save_gguf(synth_llama(opt), path); }

}  // namespace lowbit
