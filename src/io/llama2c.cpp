// llama2.c checkpoints (Karpathy's legacy "version 0" export, fp32) and llama2.c tokenizers, mapped onto
// the GGUF layout of model_file.hpp exactly as llama.cpp's convert-llama2c-to-ggml writes them.
//
// Checkpoint: 7 x int32 header {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}
// (vocab_size < 0: the classifier is not shared with the embedding), then fp32 arrays, row-major:
//   token_embedding [vocab, dim]     rms_att [L, dim]          wq [L, dim, dim]
//   wk [L, kv_dim, dim]              wv [L, kv_dim, dim]       wo [L, dim, dim]
//   rms_ffn [L, dim]                 w1 [L, hidden, dim]       w2 [L, dim, hidden]
//   w3 [L, hidden, dim]              rms_final [dim]
//   freq_cis_real/imag [seq_len, head_size/2] each (optional in newer exports; skipped)
//   wcls [vocab, dim]                (only when unshared)
// A row-major [out, in] matrix is ggml shape {in, out} with the same bytes, so every tensor is a
// zero-copy view into the mapping. llama2.c trains with interleaved-pair RoPE (the ggml convention),
// so wq/wk need no permutation; a tied classifier becomes output.weight aliasing token_embd's bytes.
//
// Tokenizer: int32 max_token_length, then vocab x {f32 score, i32 len, len bytes}.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/mmap.hpp"
#include "io/byte_reader.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"

namespace lowbit {

namespace {

// Token types as llama.cpp stores them in tokenizer.ggml.token_type.
constexpr int32_t k_tok_normal = 1, k_tok_unknown = 2, k_tok_control = 3, k_tok_byte = 6;
constexpr uint32_t k_token_null = 0xFFFFFFFFu;

// Limits that keep every size computation far from overflow; real llama2.c models are far below.
constexpr int64_t k_max_dim = 1 << 16;
constexpr int64_t k_max_layers = 1 << 12;
constexpr int64_t k_max_vocab = 1 << 22;
constexpr int64_t k_max_seq = 1 << 24;

struct header {
    int64_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    bool shared_classifier;
};

int32_t read_i32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

header parse_header(const mapped_file& f) {
    const std::string& path = f.path();
    LOWBIT_REQUIRE(f.size() >= 28, "{}: llama2.c checkpoint: file has {} bytes, the header needs 28",
                   path, f.size());
    header h{};
    const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                            "seq_len"};
    int64_t v[7];
    for (int i = 0; i < 7; ++i) v[i] = read_i32(f.data() + 4 * i);
    h.dim = v[0], h.hidden = v[1], h.n_layers = v[2], h.n_heads = v[3], h.n_kv_heads = v[4];
    h.shared_classifier = v[5] > 0;
    h.vocab = v[5] < 0 ? -v[5] : v[5];
    h.seq_len = v[6];
    const int64_t limits[7] = {k_max_dim, k_max_dim * 8, k_max_layers, k_max_dim,
                               k_max_dim, k_max_vocab, k_max_seq};
    for (int i = 0; i < 7; ++i) {
        const int64_t x = i == 5 ? h.vocab : v[i];
        LOWBIT_REQUIRE(x >= 1 && x <= limits[i],
                       "{}: llama2.c header field {} = {} is outside [1, {}] (not a llama2.c checkpoint?)",
                       path, names[i], v[i], limits[i]);
    }
    LOWBIT_REQUIRE(h.dim % h.n_heads == 0, "{}: llama2.c header: dim {} is not a multiple of n_heads {}",
                   path, h.dim, h.n_heads);
    LOWBIT_REQUIRE(h.n_kv_heads <= h.n_heads && h.n_heads % h.n_kv_heads == 0,
                   "{}: llama2.c header: n_heads {} is not a multiple of n_kv_heads {}", path, h.n_heads,
                   h.n_kv_heads);
    LOWBIT_REQUIRE((h.dim / h.n_heads) % 2 == 0, "{}: llama2.c header: head size {} is odd", path,
                   h.dim / h.n_heads);
    return h;
}

std::string escape_whitespace(const std::string& s) {
    // SentencePiece's "▁" (U+2581) stands for a space, as llama.cpp's converter writes it.
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == ' ')
            out += "\xe2\x96\x81";
        else
            out += c;
    }
    return out;
}

bool is_byte_token(const std::string& s) {
    auto hex = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    };
    return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

std::string find_tokenizer(const std::string& model_path, int64_t vocab, const load_options& opt) {
    if (!opt.tokenizer_path.empty()) {
        LOWBIT_REQUIRE(std::filesystem::is_regular_file(opt.tokenizer_path),
                       "{}: tokenizer file not found (given as the tokenizer path)", opt.tokenizer_path);
        return opt.tokenizer_path;
    }
    const auto dir = std::filesystem::path(model_path).parent_path();
    for (const std::string& name : {fmt::format("tok{}.bin", vocab), std::string("tokenizer.bin")}) {
        const auto p = dir / name;
        if (std::filesystem::is_regular_file(p)) return p.string();
    }
    return {};
}

// Appends tokenizer.ggml.{tokens,scores,token_type,model} in llama.cpp's order.
void load_tokenizer(const std::string& path, int64_t vocab, std::vector<gguf_kv>& kv) {
    auto map = mapped_file::open(path);
    byte_reader r(map->data(), map->size(), path);
    const int32_t max_len = r.read_i32("llama2.c tokenizer max_token_length");
    LOWBIT_REQUIRE(max_len >= 1 && max_len <= (1 << 16),
                   "{}: llama2.c tokenizer: max_token_length {} is outside [1, 65536]", path, max_len);
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    tokens.reserve(vocab), scores.reserve(vocab), types.reserve(vocab);
    for (int64_t id = 0; id < vocab; ++id) {
        const std::string field = fmt::format("llama2.c tokenizer token {} of {}", id, vocab);
        const float score = r.read_f32(field);
        const int32_t len = r.read_i32(field);
        LOWBIT_REQUIRE(len >= 0 && len <= max_len, "{}: {}: length {} is outside [0, max_token_length {}]",
                       path, field, len, max_len);
        std::string text(r.read_string_view(static_cast<size_t>(len), field));
        int32_t type = k_tok_normal;
        // Ids 0..2 are fixed in llama2.c's tokenizer; their stored texts ("\n<s>\n") are display forms.
        if (id == 0) {
            text = "<unk>", type = k_tok_unknown;
        } else if (id == 1) {
            text = "<s>", type = k_tok_control;
        } else if (id == 2) {
            text = "</s>", type = k_tok_control;
        } else if (text.empty()) {
            type = k_tok_control;
        } else if (is_byte_token(text)) {
            type = k_tok_byte;
        }
        tokens.push_back(escape_whitespace(text));
        scores.push_back(score);
        types.push_back(type);
    }
    LOWBIT_REQUIRE(r.remaining() == 0,
                   "{}: llama2.c tokenizer has {} bytes after its {} tokens: it belongs to a model with a "
                   "larger vocabulary (pass the matching tokenizer)",
                   path, r.remaining(), vocab);
    kv.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
    kv.emplace_back("tokenizer.ggml.scores", gguf_value::f32_array(scores));
    kv.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
    kv.emplace_back("tokenizer.ggml.model", gguf_value::str("llama"));
}

}  // namespace

model_data load_llama2c_model(const std::string& path, const load_options& opt) {
    auto map = mapped_file::open(path);
    const header h = parse_header(*map);

    // Expected size, in floats (every factor is bounded above, so int64 cannot overflow).
    const int64_t head_size = h.dim / h.n_heads;
    const int64_t kv_dim = h.dim / h.n_heads * h.n_kv_heads;
    const int64_t L = h.n_layers, D = h.dim, F = h.hidden, V = h.vocab;
    const int64_t n_weights = V * D + L * D + L * D * D + 2 * L * D * kv_dim + L * D * D + L * D +
                              3 * L * F * D + D + (h.shared_classifier ? 0 : V * D);
    const int64_t n_freq = 2 * h.seq_len * (head_size / 2);
    const uint64_t size_without = 28 + 4 * static_cast<uint64_t>(n_weights);
    const uint64_t size_with = size_without + 4 * static_cast<uint64_t>(n_freq);
    const uint64_t size = map->size();
    LOWBIT_REQUIRE(size == size_with || size == size_without,
                   "{}: llama2.c checkpoint is {} bytes, but its header (dim {}, hidden_dim {}, n_layers {}, "
                   "n_heads {}, n_kv_heads {}, vocab_size {}, seq_len {}) implies {} bytes (or {} with the "
                   "freq_cis tables){}",
                   path, size, h.dim, h.hidden, h.n_layers, h.n_heads, h.n_kv_heads,
                   h.shared_classifier ? h.vocab : -h.vocab, h.seq_len, size_without, size_with,
                   size < size_without ? ": the file is truncated"
                   : size < size_with  ? fmt::format(": {} bytes short of the size with freq_cis tables "
                                                     "(truncated?)", size_with - size)
                                       : fmt::format(": {} bytes too many", size - size_with));
    const bool has_freq = size == size_with;

    model_data m;
    m.source_path = path;
    m.source_format = "llama2c";
    m.keepalive.push_back(map);

    // Metadata in the order of llama.cpp's stories260K-f32.gguf.
    auto& kv = m.metadata;
    kv.emplace_back("general.architecture", gguf_value::str("llama"));
    const std::string tok_path = find_tokenizer(path, h.vocab, opt);
    if (!tok_path.empty()) load_tokenizer(tok_path, h.vocab, kv);
    kv.emplace_back("general.name", gguf_value::str("llama"));
    if (!tok_path.empty()) {
        kv.emplace_back("tokenizer.ggml.unknown_token_id", gguf_value::u32(0));
        kv.emplace_back("tokenizer.ggml.bos_token_id", gguf_value::u32(1));
        kv.emplace_back("tokenizer.ggml.eos_token_id", gguf_value::u32(2));
        // llama.cpp spells it "seperator".
        kv.emplace_back("tokenizer.ggml.seperator_token_id", gguf_value::u32(k_token_null));
        kv.emplace_back("tokenizer.ggml.padding_token_id", gguf_value::u32(k_token_null));
    }
    kv.emplace_back("llama.context_length", gguf_value::u32(static_cast<uint32_t>(h.seq_len)));
    kv.emplace_back("llama.embedding_length", gguf_value::u32(static_cast<uint32_t>(D)));
    kv.emplace_back("llama.feed_forward_length", gguf_value::u32(static_cast<uint32_t>(F)));
    kv.emplace_back("llama.attention.head_count", gguf_value::u32(static_cast<uint32_t>(h.n_heads)));
    kv.emplace_back("llama.attention.head_count_kv",
                    gguf_value::u32(static_cast<uint32_t>(h.n_kv_heads)));
    kv.emplace_back("llama.block_count", gguf_value::u32(static_cast<uint32_t>(L)));
    kv.emplace_back("llama.rope.dimension_count", gguf_value::u32(static_cast<uint32_t>(head_size)));
    kv.emplace_back("llama.attention.layer_norm_rms_epsilon", gguf_value::f32(1e-5f));

    // Tensor views, walking the file in its order.
    const uint8_t* base = map->data() + 28;
    int64_t at = 0;  // in floats
    auto take = [&](int64_t n_floats) {
        const uint8_t* p = base + 4 * at;
        at += n_floats;
        return p;
    };
    auto view = [](const uint8_t* p, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        model_tensor t;
        t.t = type::f32;
        t.shape = std::move(shape);
        t.bytes = std::span<const uint8_t>(p, static_cast<size_t>(4 * n));
        return t;
    };
    const uint8_t* tok_embd = take(V * D);
    const uint8_t* rms_att = take(L * D);
    const uint8_t* wq = take(L * D * D);
    const uint8_t* wk = take(L * kv_dim * D);
    const uint8_t* wv = take(L * kv_dim * D);
    const uint8_t* wo = take(L * D * D);
    const uint8_t* rms_ffn = take(L * D);
    const uint8_t* w1 = take(L * F * D);
    const uint8_t* w2 = take(L * D * F);
    const uint8_t* w3 = take(L * F * D);
    const uint8_t* rms_final = take(D);
    if (has_freq) take(n_freq);
    const uint8_t* wcls = h.shared_classifier ? tok_embd : take(V * D);
    LOWBIT_ASSERT(28 + 4 * static_cast<uint64_t>(at) == size);

    auto add = [&](std::string name, model_tensor t) {
        t.name = std::move(name);
        m.tensors.push_back(std::move(t));
    };
    add("token_embd.weight", view(tok_embd, {D, V}));
    add("output_norm.weight", view(rms_final, {D}));
    add("output.weight", view(wcls, {D, V}));
    for (int64_t i = 0; i < L; ++i) {
        const std::string b = fmt::format("blk.{}.", i);
        add(b + "attn_q.weight", view(wq + 4 * i * D * D, {D, D}));
        add(b + "attn_k.weight", view(wk + 4 * i * kv_dim * D, {D, kv_dim}));
        add(b + "attn_v.weight", view(wv + 4 * i * kv_dim * D, {D, kv_dim}));
        add(b + "attn_output.weight", view(wo + 4 * i * D * D, {D, D}));
        add(b + "attn_norm.weight", view(rms_att + 4 * i * D, {D}));
        add(b + "ffn_gate.weight", view(w1 + 4 * i * F * D, {D, F}));
        add(b + "ffn_down.weight", view(w2 + 4 * i * D * F, {F, D}));
        add(b + "ffn_up.weight", view(w3 + 4 * i * F * D, {D, F}));
        add(b + "ffn_norm.weight", view(rms_ffn + 4 * i * D, {D}));
    }
    return m;
}

}  // namespace lowbit
