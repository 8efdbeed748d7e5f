#include "io/hf_config.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "lowbit/error.hpp"

namespace lowbit::io {

using nlohmann::json;

namespace {

// Token types as llama.cpp stores them in tokenizer.ggml.token_type.
constexpr int32_t k_tok_normal = 1, k_tok_unknown = 2, k_tok_control = 3, k_tok_user = 4,
                  k_tok_unused = 5, k_tok_byte = 6;

int64_t get_int(const json& cfg, const char* key, const std::string& path, int64_t lo, int64_t hi,
                std::optional<int64_t> fallback = std::nullopt) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) {
        LOWBIT_REQUIRE(fallback.has_value(), "{}: required field '{}' is missing", path, key);
        return *fallback;
    }
    LOWBIT_REQUIRE(it->is_number_integer(), "{}: field '{}' must be an integer, got {}", path, key,
                   it->dump());
    const int64_t v = it->get<int64_t>();
    LOWBIT_REQUIRE(v >= lo && v <= hi, "{}: field '{}' = {} is outside [{}, {}]", path, key, v, lo, hi);
    return v;
}

double get_float(const json& cfg, const char* key, const std::string& path, double fallback) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return fallback;
    LOWBIT_REQUIRE(it->is_number(), "{}: field '{}' must be a number, got {}", path, key, it->dump());
    return it->get<double>();
}

std::string token_content(const json& v) {
    // tokenizer_config.json spells special tokens as a string or as {"content": ...}.
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    return {};
}

}  // namespace

json read_json_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    LOWBIT_REQUIRE(f.good(), "{}: cannot open", path);
    std::stringstream ss;
    ss << f.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::exception& e) {
        fail("{}: invalid JSON: {}", path, e.what());
    }
}

hf_llama_config parse_hf_llama_config(const json& cfg, const std::string& path) {
    LOWBIT_REQUIRE(cfg.is_object(), "{}: expected a JSON object", path);
    bool is_llama = false;
    if (auto it = cfg.find("model_type"); it != cfg.end() && it->is_string()) {
        const auto mt = it->get<std::string>();
        is_llama = mt == "llama" || mt == "mistral";
        LOWBIT_REQUIRE(is_llama,
                       "{}: model_type '{}' is not supported (llama-architecture models only: llama, "
                       "mistral)",
                       path, mt);
    }
    if (auto it = cfg.find("architectures"); !is_llama && it != cfg.end() && it->is_array()) {
        for (const auto& a : *it)
            if (a.is_string() && (a == "LlamaForCausalLM" || a == "MistralForCausalLM")) is_llama = true;
        LOWBIT_REQUIRE(is_llama, "{}: architectures {} are not supported (LlamaForCausalLM only)", path,
                       it->dump());
    }
    LOWBIT_REQUIRE(is_llama, "{}: neither model_type nor architectures says this is a llama model", path);

    hf_llama_config c;
    constexpr int64_t big = int64_t(1) << 24;
    c.n_embd = get_int(cfg, "hidden_size", path, 1, big);
    c.n_ff = get_int(cfg, "intermediate_size", path, 1, big);
    c.n_layer = get_int(cfg, "num_hidden_layers", path, 1, 1 << 16);
    c.n_head = get_int(cfg, "num_attention_heads", path, 1, 1 << 16);
    c.n_head_kv = get_int(cfg, "num_key_value_heads", path, 1, 1 << 16, c.n_head);
    c.n_ctx = get_int(cfg, "max_position_embeddings", path, 1, int64_t(1) << 32, 0);
    c.n_vocab = get_int(cfg, "vocab_size", path, 1, big);
    c.has_head_dim = cfg.contains("head_dim") && !cfg["head_dim"].is_null();
    c.head_dim = get_int(cfg, "head_dim", path, 2, big, c.n_embd / c.n_head);
    c.rms_eps = get_float(cfg, "rms_norm_eps", path, 1e-5);
    c.rope_theta = get_float(cfg, "rope_theta", path, 0);
    // transformers >= 5 writes RoPE settings as one object: "rope_parameters": {"rope_theta": ..., "rope_type": ...}.
    if (auto it = cfg.find("rope_parameters"); it != cfg.end() && it->is_object() && c.rope_theta == 0)
        c.rope_theta = get_float(*it, "rope_theta", path + ": rope_parameters", 0);
    if (auto it = cfg.find("tie_word_embeddings"); it != cfg.end() && !it->is_null()) {
        LOWBIT_REQUIRE(it->is_boolean(), "{}: field 'tie_word_embeddings' must be true or false, got {}",
                       path, it->dump());
        c.tie_word_embeddings = it->get<bool>();
    }
    LOWBIT_REQUIRE(c.has_head_dim || c.n_embd % c.n_head == 0,
                   "{}: hidden_size {} is not a multiple of num_attention_heads {}", path, c.n_embd,
                   c.n_head);
    LOWBIT_REQUIRE(c.n_head % c.n_head_kv == 0,
                   "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path,
                   c.n_head, c.n_head_kv);
    LOWBIT_REQUIRE(c.head_dim % 2 == 0, "{}: head dimension {} is odd (RoPE needs pairs)", path,
                   c.head_dim);
    return c;
}

std::vector<gguf_kv> hf_config_metadata(const hf_llama_config& c, const json& cfg,
                                        const std::string& path) {
    auto u32 = [](int64_t v) { return gguf_value::u32(static_cast<uint32_t>(v)); };
    std::vector<gguf_kv> kv;
    kv.emplace_back("general.architecture", gguf_value::str("llama"));
    kv.emplace_back("llama.block_count", u32(c.n_layer));
    if (c.n_ctx > 0) kv.emplace_back("llama.context_length", u32(c.n_ctx));
    kv.emplace_back("llama.embedding_length", u32(c.n_embd));
    kv.emplace_back("llama.feed_forward_length", u32(c.n_ff));
    kv.emplace_back("llama.attention.head_count", u32(c.n_head));
    kv.emplace_back("llama.attention.head_count_kv", u32(c.n_head_kv));
    // The scaling lives in "rope_scaling" (transformers 4) or "rope_parameters" (transformers 5, where
    // rope_type "default" means none).
    auto scaling = cfg.find("rope_scaling");
    if (scaling == cfg.end() || !scaling->is_object()) {
        scaling = cfg.find("rope_parameters");
        if (scaling != cfg.end() && scaling->is_object() && scaling->value("rope_type", std::string("default")) == "default")
            scaling = cfg.end();
    }
    if (auto it = scaling; it != cfg.end() && it->is_object()) {
        const std::string t = it->value("rope_type", it->value("type", std::string()));
        LOWBIT_REQUIRE(t == "linear",
                       "{}: rope_scaling type '{}' is not supported (only 'linear'; remove rope_scaling "
                       "or convert with llama.cpp)",
                       path, t);
        auto f = it->find("factor");
        LOWBIT_REQUIRE(f != it->end() && f->is_number(), "{}: rope_scaling.factor is missing", path);
        kv.emplace_back("llama.rope.scaling.type", gguf_value::str("linear"));
        kv.emplace_back("llama.rope.scaling.factor", gguf_value::f32(f->get<float>()));
    }
    if (c.rope_theta > 0)
        kv.emplace_back("llama.rope.freq_base", gguf_value::f32(static_cast<float>(c.rope_theta)));
    kv.emplace_back("llama.attention.layer_norm_rms_epsilon",
                    gguf_value::f32(static_cast<float>(c.rms_eps)));
    if (c.has_head_dim) {
        kv.emplace_back("llama.attention.key_length", u32(c.head_dim));
        kv.emplace_back("llama.attention.value_length", u32(c.head_dim));
    }
    kv.emplace_back("llama.vocab_size", u32(c.n_vocab));
    kv.emplace_back("llama.rope.dimension_count", u32(c.head_dim));
    return kv;
}

std::optional<std::string> hf_to_gguf_tensor_name(std::string_view n) {
    static const std::unordered_map<std::string_view, std::string_view> k_global = {
        {"model.embed_tokens.weight", "token_embd.weight"},
        {"model.norm.weight", "output_norm.weight"},
        {"lm_head.weight", "output.weight"},
    };
    static const std::unordered_map<std::string_view, std::string_view> k_block = {
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
    };
    if (auto it = k_global.find(n); it != k_global.end()) return std::string(it->second);
    constexpr std::string_view prefix = "model.layers.";
    if (n.substr(0, prefix.size()) != prefix) return std::nullopt;
    n.remove_prefix(prefix.size());
    size_t digits = 0;
    while (digits < n.size() && digits < 6 && n[digits] >= '0' && n[digits] <= '9') ++digits;
    if (digits == 0 || digits >= n.size() || n[digits] != '.') return std::nullopt;
    if (digits > 1 && n[0] == '0') return std::nullopt;
    auto it = k_block.find(n.substr(digits + 1));
    if (it == k_block.end()) return std::nullopt;
    return "blk." + std::string(n.substr(0, digits)) + "." + std::string(it->second);
}

bool hf_tensor_is_ignored(std::string_view n) {
    constexpr std::string_view s = "rotary_emb.inv_freq";
    return n.size() >= s.size() && n.substr(n.size() - s.size()) == s;
}

std::pair<int64_t, int> gguf_tensor_order(std::string_view n) {
    static const std::map<std::string_view, int> k_global = {
        {"token_embd.weight", 0}, {"output_norm.weight", 1}, {"output.weight", 2}};
    static const std::map<std::string_view, int> k_block = {
        {"attn_q.weight", 0},    {"attn_k.weight", 1},   {"attn_v.weight", 2},
        {"attn_output.weight", 3}, {"attn_norm.weight", 4}, {"ffn_gate.weight", 5},
        {"ffn_down.weight", 6},  {"ffn_up.weight", 7},   {"ffn_norm.weight", 8}};
    if (auto it = k_global.find(n); it != k_global.end()) return {-1, it->second};
    if (n.substr(0, 4) == "blk.") {
        int64_t b = 0;
        size_t i = 4;
        while (i < n.size() && n[i] >= '0' && n[i] <= '9') b = b * 10 + (n[i++] - '0');
        if (i < n.size() && n[i] == '.') {
            auto it = k_block.find(n.substr(i + 1));
            return {b, it == k_block.end() ? 100 : it->second};
        }
    }
    return {int64_t(1) << 40, 0};
}

void unpermute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, size_t row_bytes,
                       int64_t n_head) {
    const int64_t hd = n_rows / n_head, half = hd / 2;
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::memcpy(dst + (h * hd + 2 * i + j) * row_bytes, src + (h * hd + j * half + i) * row_bytes,
                            row_bytes);
}

void permute_qk_rows(const uint8_t* src, uint8_t* dst, int64_t n_rows, size_t row_bytes,
                     int64_t n_head) {
    const int64_t hd = n_rows / n_head, half = hd / 2;
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::memcpy(dst + (h * hd + j * half + i) * row_bytes, src + (h * hd + 2 * i + j) * row_bytes,
                            row_bytes);
}

namespace {

// llama.cpp's tokenizer.ggml.pre for a byte-level BPE tokenizer. llama.cpp identifies it by hashing the
// tokenization of a probe text; without a tokenizer to run we infer it from the pre-tokenizer spec.
std::string infer_bpe_pre(const json& tok) {
    const std::string pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"].dump() : std::string();
    // Llama 3's split regex: contractions, then \p{L}+, then digits in groups of 1-3.
    if (pre.find("(?i:'s|'t|'re|'ve|'m|'ll|'d)") != std::string::npos &&
        pre.find("\\\\p{N}{1,3}") != std::string::npos)
        return "llama-bpe";
    // SmolLM: Digits(individual_digits) followed by ByteLevel.
    if (pre.find("\"Digits\"") != std::string::npos &&
        pre.find("\"individual_digits\":true") != std::string::npos &&
        pre.find("\"ByteLevel\"") != std::string::npos)
        return "smollm";
    // A lone ByteLevel with use_regex (GPT-2's split) is llama.cpp's "gpt-2" pre-type; its "default"
    // would split punctuation off first (" =" -> " ", "=").
    if (tok.contains("pre_tokenizer") && tok["pre_tokenizer"].is_object() &&
        tok["pre_tokenizer"].value("type", std::string()) == "ByteLevel" &&
        tok["pre_tokenizer"].value("use_regex", true))
        return "gpt-2";
    return "default";
}

}  // namespace

std::vector<gguf_kv> hf_tokenizer_metadata(const json& tok, const json* tok_cfg, const json& cfg,
                                           int64_t n_vocab, const std::string& path) {
    LOWBIT_REQUIRE(tok.is_object() && tok.contains("model") && tok["model"].is_object(),
                   "{}: no 'model' object", path);
    const json& model = tok["model"];
    const std::string mtype = model.value("type", std::string());
    LOWBIT_REQUIRE(mtype == "BPE",
                   "{}: model.type '{}' is not supported (BPE only: byte-level or byte_fallback)", path,
                   mtype);
    LOWBIT_REQUIRE(model.contains("vocab") && model["vocab"].is_object(), "{}: model.vocab is missing",
                   path);
    const bool spm = model.value("byte_fallback", false);

    // id -> text, from model.vocab and added_tokens.
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<bool> present;
    auto place = [&](int64_t id, const std::string& text, const char* where) {
        LOWBIT_REQUIRE(id >= 0 && id < (int64_t(1) << 24), "{}: {} token '{}' has id {} out of range", path,
                       where, text, id);
        if (id >= static_cast<int64_t>(tokens.size())) {
            tokens.resize(id + 1), types.resize(id + 1, k_tok_normal), present.resize(id + 1, false);
        }
        tokens[id] = text, present[id] = true;
    };
    std::unordered_map<std::string, int64_t> ids;
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        LOWBIT_REQUIRE(it.value().is_number_integer(), "{}: model.vocab['{}'] is not an integer id", path,
                       it.key());
        place(it.value().get<int64_t>(), it.key(), "model.vocab");
        ids[it.key()] = it.value().get<int64_t>();
    }
    const std::string unk = model.contains("unk_token") && model["unk_token"].is_string()
                                ? model["unk_token"].get<std::string>()
                                : std::string();
    if (auto it = tok.find("added_tokens"); it != tok.end() && it->is_array()) {
        for (const auto& a : *it) {
            LOWBIT_REQUIRE(a.is_object() && a.contains("id") && a["id"].is_number_integer() &&
                               a.contains("content") && a["content"].is_string(),
                           "{}: malformed added_tokens entry {}", path, a.dump());
            const int64_t id = a["id"].get<int64_t>();
            const std::string text = a["content"].get<std::string>();
            place(id, text, "added_tokens");
            ids[text] = id;
            types[id] = a.value("special", false) ? k_tok_control : k_tok_user;
        }
    }
    LOWBIT_REQUIRE(static_cast<int64_t>(tokens.size()) <= n_vocab,
                   "{}: token id {} is beyond the model's vocab_size {}", path, tokens.size() - 1, n_vocab);
    tokens.resize(n_vocab), types.resize(n_vocab, k_tok_normal), present.resize(n_vocab, false);
    for (int64_t i = 0; i < n_vocab; ++i)
        if (!present[i]) tokens[i] = fmt::format("[PAD{}]", i), types[i] = k_tok_unused;

    std::vector<gguf_kv> kv;
    auto special_id = [&](const char* name, const char* cfg_key) -> std::optional<int64_t> {
        // tokenizer_config.json names the token; config.json may give the id.
        if (tok_cfg && tok_cfg->contains(name)) {
            const std::string s = token_content((*tok_cfg)[name]);
            if (auto it = ids.find(s); !s.empty() && it != ids.end()) return it->second;
        }
        if (auto it = cfg.find(cfg_key); it != cfg.end() && it->is_number_integer()) {
            const int64_t v = it->get<int64_t>();
            if (v >= 0 && v < n_vocab) return v;
        }
        return std::nullopt;
    };

    if (spm) {
        // SentencePiece BPE converted to tokenizer.json: llama.cpp's SPM tokenizer merges the pair whose
        // merged token scores highest, so score = -(rank of the merge that creates the token); tokens no
        // merge creates (single pieces, bytes, specials) get 0 or a score below every merge.
        std::vector<float> scores(n_vocab, 0.0f);
        std::vector<bool> scored(n_vocab, false);
        int64_t rank = 0;
        if (auto it = model.find("merges"); it != model.end() && it->is_array()) {
            for (const auto& mg : *it) {
                std::string merged;
                if (mg.is_string()) {
                    const std::string s = mg.get<std::string>();
                    const auto sp = s.find(' ');
                    merged = sp == std::string::npos ? s : s.substr(0, sp) + s.substr(sp + 1);
                } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
                    merged = mg[0].get<std::string>() + mg[1].get<std::string>();
                }
                if (auto f = ids.find(merged); f != ids.end() && !scored[f->second]) {
                    scores[f->second] = -static_cast<float>(rank), scored[f->second] = true;
                }
                ++rank;
            }
        }
        for (int64_t i = 0; i < n_vocab; ++i) {
            const std::string& t = tokens[i];
            if (types[i] == k_tok_normal && t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
                types[i] = k_tok_byte;
            if (!unk.empty() && t == unk) types[i] = k_tok_unknown;
            if (!scored[i] && types[i] == k_tok_normal && t.size() > 1)
                scores[i] = -static_cast<float>(rank + i);
        }
        kv.emplace_back("tokenizer.ggml.model", gguf_value::str("llama"));
        kv.emplace_back("tokenizer.ggml.pre", gguf_value::str("default"));
        kv.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
        kv.emplace_back("tokenizer.ggml.scores", gguf_value::f32_array(scores));
        kv.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
    } else {
        std::vector<std::string> merges;
        if (auto it = model.find("merges"); it != model.end() && it->is_array()) {
            merges.reserve(it->size());
            for (const auto& mg : *it) {
                if (mg.is_string()) {
                    merges.push_back(mg.get<std::string>());
                } else {
                    LOWBIT_REQUIRE(mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string(),
                                   "{}: malformed merge {} (expected \"a b\" or [\"a\", \"b\"])", path,
                                   mg.dump());
                    merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
                }
            }
        }
        kv.emplace_back("tokenizer.ggml.model", gguf_value::str("gpt2"));
        kv.emplace_back("tokenizer.ggml.pre", gguf_value::str(infer_bpe_pre(tok)));
        kv.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
        kv.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
        kv.emplace_back("tokenizer.ggml.merges", gguf_value::str_array(merges));
    }
    if (auto id = special_id("bos_token", "bos_token_id"))
        kv.emplace_back("tokenizer.ggml.bos_token_id", gguf_value::u32(static_cast<uint32_t>(*id)));
    if (auto id = special_id("eos_token", "eos_token_id"))
        kv.emplace_back("tokenizer.ggml.eos_token_id", gguf_value::u32(static_cast<uint32_t>(*id)));
    if (auto id = special_id("unk_token", "unk_token_id"))
        kv.emplace_back("tokenizer.ggml.unknown_token_id", gguf_value::u32(static_cast<uint32_t>(*id)));
    else if (auto it = ids.find(unk); !unk.empty() && it != ids.end())
        kv.emplace_back("tokenizer.ggml.unknown_token_id", gguf_value::u32(static_cast<uint32_t>(it->second)));
    if (auto id = special_id("pad_token", "pad_token_id"))
        kv.emplace_back("tokenizer.ggml.padding_token_id", gguf_value::u32(static_cast<uint32_t>(*id)));
    if (tok_cfg) {
        for (const char* k : {"add_bos_token", "add_eos_token"})
            if (auto it = tok_cfg->find(k); it != tok_cfg->end() && it->is_boolean())
                kv.emplace_back(std::string("tokenizer.ggml.") + k, gguf_value::boolean(it->get<bool>()));
        if (auto it = tok_cfg->find("chat_template"); it != tok_cfg->end() && it->is_string())
            kv.emplace_back("tokenizer.chat_template", gguf_value::str(it->get<std::string>()));
    }
    return kv;
}

}  // namespace lowbit::io
