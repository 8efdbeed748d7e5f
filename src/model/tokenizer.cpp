// tokenizer::from_model and decode, plus what SPM and BPE share: reading `tokenizer.ggml.*`
// metadata into a checked vocabulary (defaults as llama.cpp's llama_vocab::impl::load) and the
// special-token partition of the input (llama.cpp's tokenizer_st_partition).
#include <algorithm>
#include <cmath>

#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/tokenizer_impl.hpp"

namespace lowbit {

std::vector<int32_t> tokenizer::encode_llama2c(std::string_view, bool) const {
    fail("encode_llama2c: only SentencePiece ('llama') vocabularies have llama2.c encoding; this "
         "tokenizer is '{}'",
         kind());
}

std::string tokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    bool first = true;
    for (int32_t id : ids) {
        std::string piece = token_to_piece(id);
        if (piece.empty()) continue;
        // SPM put a space in front of the text (add_space_prefix); take it off again so that
        // decode(encode(text)) == text.
        if (first && decode_strip_space_ && piece[0] == ' ') piece.erase(0, 1);
        first = false;
        out += piece;
    }
    return out;
}

std::unique_ptr<tokenizer> tokenizer::from_model(const model_data& m) {
    detail::vocab_data v = detail::read_vocab(m);
    if (v.model == "llama") return detail::make_spm_tokenizer(std::move(v));
    if (v.model == "gpt2") return detail::make_bpe_tokenizer(std::move(v));
    fail("{}: tokenizer.ggml.model '{}' is not supported (supported: 'llama' SentencePiece, 'gpt2' "
         "byte-level BPE)",
         m.source_path, v.model);
}

namespace detail {
namespace {

const gguf_value* find_kv(const model_data& m, std::string_view key) {
    for (const auto& [k, val] : m.metadata)
        if (k == key) return &val;
    return nullptr;
}

const std::vector<gguf_value>& require_array(const model_data& m, const char* key, gguf_type elem,
                                             size_t min_len) {
    const gguf_value* val = find_kv(m, key);
    LOWBIT_REQUIRE(val, "{}: metadata key '{}' is missing", m.source_path, key);
    LOWBIT_REQUIRE(val->type == gguf_type::array && val->elem_type == elem,
                   "{}: metadata '{}' has type {} (elements {}), expected an array of {}", m.source_path,
                   key, gguf_type_name(val->type), gguf_type_name(val->elem_type), gguf_type_name(elem));
    LOWBIT_REQUIRE(val->array.size() >= min_len, "{}: metadata '{}' has {} entries, fewer than the {} tokens",
                   m.source_path, key, val->array.size(), min_len);
    return val->array;
}

// A token id key: absent -> fallback; outside the vocabulary (e.g. 0xFFFFFFFF for "none") -> -1.
int32_t token_id_key(const model_data& m, const char* key, int32_t fallback, size_t n_vocab) {
    const gguf_value* val = find_kv(m, key);
    int64_t id = fallback;
    if (val) {
        LOWBIT_REQUIRE(val->is_integer(), "{}: metadata '{}' has type {}, expected an integer token id",
                       m.source_path, key, gguf_type_name(val->type));
        const gguf_type t = val->type;
        const bool is_signed = t == gguf_type::i8 || t == gguf_type::i16 || t == gguf_type::i32 || t == gguf_type::i64;
        id = is_signed ? val->as_i64() : static_cast<int64_t>(std::min<uint64_t>(val->as_u64(), uint64_t{1} << 40));
    }
    return id >= 0 && static_cast<uint64_t>(id) < n_vocab ? static_cast<int32_t>(id) : -1;
}

bool bool_key(const model_data& m, const char* key, bool fallback) {
    const gguf_value* val = find_kv(m, key);
    if (!val) return fallback;
    LOWBIT_REQUIRE(val->type == gguf_type::boolean, "{}: metadata '{}' has type {}, expected bool",
                   m.source_path, key, gguf_type_name(val->type));
    return val->as_bool();
}

bool is_byte_text(const std::string& s) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    return s.size() == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

}  // namespace

vocab_data read_vocab(const model_data& m) {
    vocab_data v;
    const gguf_value* model = find_kv(m, "tokenizer.ggml.model");
    LOWBIT_REQUIRE(model && model->type == gguf_type::string,
                   "{}: metadata 'tokenizer.ggml.model' is missing or not a string: the model has no "
                   "tokenizer",
                   m.source_path);
    v.model = model->as_string();
    if (const gguf_value* pre = find_kv(m, "tokenizer.ggml.pre"); pre && pre->type == gguf_type::string)
        v.pre = pre->as_string();
    if (v.model != "llama" && v.model != "gpt2") return v;  // from_model reports it

    const auto& tokens = require_array(m, "tokenizer.ggml.tokens", gguf_type::string, 1);
    const size_t n = tokens.size();
    LOWBIT_REQUIRE(n < (size_t{1} << 31), "{}: {} tokens exceed the limit of 2^31", m.source_path, n);
    v.text.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        std::string t = tokens[i].as_string();
        if (t.empty()) t = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp: never match ""
        v.text.push_back(std::move(t));
    }
    v.score.assign(n, 0.0f);
    if (const gguf_value* sc = find_kv(m, "tokenizer.ggml.scores")) {
        LOWBIT_REQUIRE(sc->type == gguf_type::array && (sc->elem_type == gguf_type::f32 || sc->elem_type == gguf_type::i32),
                       "{}: metadata 'tokenizer.ggml.scores' must be an array of f32 or i32", m.source_path);
        LOWBIT_REQUIRE(sc->array.size() >= n, "{}: metadata 'tokenizer.ggml.scores' has {} entries, fewer than the {} tokens",
                       m.source_path, sc->array.size(), n);
        for (size_t i = 0; i < n; ++i) v.score[i] = static_cast<float>(sc->array[i].as_f64());
    }
    v.to_id.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) v.to_id[v.text[i]] = static_cast<int32_t>(i);

    if (v.model == "llama") {
        v.bos = token_id_key(m, "tokenizer.ggml.bos_token_id", 1, n);
        v.eos = token_id_key(m, "tokenizer.ggml.eos_token_id", 2, n);
        v.unk = token_id_key(m, "tokenizer.ggml.unknown_token_id", 0, n);
        v.add_bos = true;
        v.add_space_prefix = true;
    } else {
        const auto& merges = require_array(m, "tokenizer.ggml.merges", gguf_type::string, 0);
        v.merges.reserve(merges.size());
        for (const auto& mg : merges) v.merges.push_back(mg.as_string());
        v.bos = token_id_key(m, "tokenizer.ggml.bos_token_id", -1, n);
        v.eos = token_id_key(m, "tokenizer.ggml.eos_token_id", -1, n);
        v.unk = token_id_key(m, "tokenizer.ggml.unknown_token_id", -1, n);
        v.add_bos = v.pre == "llama3" || v.pre == "llama-v3" || v.pre == "llama-bpe";
    }
    v.eot = token_id_key(m, "tokenizer.ggml.eot_token_id", -1, n);
    v.eom = token_id_key(m, "tokenizer.ggml.eom_token_id", -1, n);
    v.add_bos = bool_key(m, "tokenizer.ggml.add_bos_token", v.add_bos);
    v.add_eos = bool_key(m, "tokenizer.ggml.add_eos_token", v.add_eos);
    v.add_space_prefix = bool_key(m, "tokenizer.ggml.add_space_prefix", v.add_space_prefix);

    v.type.assign(n, tt_normal);
    if (find_kv(m, "tokenizer.ggml.token_type")) {
        const auto& types = require_array(m, "tokenizer.ggml.token_type", gguf_type::i32, n);
        for (size_t i = 0; i < n; ++i) {
            const int64_t t = types[i].as_i64();
            v.type[i] = t >= tt_normal && t <= tt_byte ? static_cast<int32_t>(t) : tt_undefined;
        }
    } else {
        // No types (hand-made or converted vocabularies): infer the usual ones.
        for (size_t i = 0; i < n; ++i)
            if (v.model == "llama" && is_byte_text(v.text[i])) v.type[i] = tt_byte;
        for (int32_t id : {v.bos, v.eos, v.eot, v.eom})
            if (id >= 0) v.type[id] = tt_control;
        if (v.unk >= 0) v.type[v.unk] = tt_unknown;
    }

    // End-of-generation tokens, as llama.cpp: the ids above plus control-looking texts.
    for (int32_t id : {v.eos, v.eot, v.eom})
        if (id >= 0) v.eog.push_back(id);
    static constexpr std::string_view k_eog_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    };
    for (std::string_view t : k_eog_texts) {
        const int32_t id = v.find(t);
        if (id < 0) continue;
        if (v.type[id] != tt_control && v.type[id] != tt_user_defined) continue;  // plain text here
        if (std::find(v.eog.begin(), v.eog.end(), id) == v.eog.end()) v.eog.push_back(id);
    }

    for (size_t i = 0; i < n; ++i) {
        const int32_t t = v.type[i];
        if (t == tt_control || t == tt_user_defined || t == tt_unknown) v.special.push_back(static_cast<int32_t>(i));
    }
    std::stable_sort(v.special.begin(), v.special.end(),
                     [&](int32_t a, int32_t b) { return v.text[a].size() > v.text[b].size(); });
    return v;
}

std::vector<fragment> partition_special(const vocab_data& v, std::string_view text, bool parse_special) {
    std::vector<fragment> frags;
    if (text.empty()) return frags;
    frags.push_back({-1, text});
    std::vector<fragment> next;
    for (int32_t id : v.special) {
        if (!parse_special && v.type[id] != tt_user_defined) continue;
        const std::string_view tok = v.text[id];
        bool changed = false;
        next.clear();
        for (const fragment& f : frags) {
            if (f.id >= 0) {
                next.push_back(f);
                continue;
            }
            size_t pos = 0;
            for (;;) {
                const size_t hit = f.text.find(tok, pos);
                if (hit == std::string_view::npos) break;
                if (hit > pos) next.push_back({-1, f.text.substr(pos, hit - pos)});
                next.push_back({id, tok});
                pos = hit + tok.size();
                changed = true;
            }
            if (pos < f.text.size()) next.push_back({-1, f.text.substr(pos)});
        }
        if (changed) frags.swap(next);
    }
    return frags;
}

}  // namespace detail
}  // namespace lowbit
