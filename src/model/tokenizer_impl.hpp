// Internals shared by the SPM and BPE tokenizers: the vocabulary as read from `tokenizer.ggml.*`
// metadata, special-token partitioning, and the two factories. Not public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lowbit/model_file.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::detail {

// GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum token_type : int32_t {
    tt_undefined = 0, tt_normal = 1, tt_unknown = 2, tt_control = 3, tt_user_defined = 4,
    tt_unused = 5, tt_byte = 6,
};

struct vocab_data {
    std::string model;  // tokenizer.ggml.model
    std::string pre;    // tokenizer.ggml.pre
    std::vector<std::string> text;
    std::vector<float> score;
    std::vector<int32_t> type;
    std::vector<std::string> merges;  // BPE only
    // Views into `text` (stable: `text` is never resized after construction). Duplicate texts:
    // the last id wins, as in llama.cpp's token_to_id.
    std::unordered_map<std::string_view, int32_t> to_id;
    int32_t bos = -1, eos = -1, unk = -1, eot = -1, eom = -1;
    bool add_bos = false, add_eos = false, add_space_prefix = false;
    // Tokens matched in raw text before tokenization (user-defined always; control and unknown
    // only with parse_special), longest text first, as llama.cpp's cache_special_tokens.
    std::vector<int32_t> special;
    std::vector<int32_t> eog;

    int32_t find(std::string_view s) const {
        auto it = to_id.find(s);
        return it == to_id.end() ? -1 : it->second;
    }
    bool is_control_like(int32_t id) const {
        return type[id] == tt_control || type[id] == tt_unknown;
    }
};

vocab_data read_vocab(const model_data& m);

// A piece of the input: raw text to tokenize, or a special token matched in it.
struct fragment {
    int32_t id = -1;  // >= 0: a special token
    std::string_view text;
};
std::vector<fragment> partition_special(const vocab_data& v, std::string_view text, bool parse_special);

std::unique_ptr<tokenizer> make_spm_tokenizer(vocab_data v);
// The words the BPE pre-tokenizer named by tokenizer.ggml.pre splits `text` into (for tests).
std::vector<std::string_view> bpe_pre_split(const std::string& pre, std::string_view text);
std::unique_ptr<tokenizer> make_bpe_tokenizer(vocab_data v);

}  // namespace lowbit::detail
