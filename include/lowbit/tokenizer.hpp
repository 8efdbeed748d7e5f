// Tokenizers built from GGUF tokenizer metadata (`tokenizer.ggml.*`): SentencePiece-style (llama:
// score-driven merges with byte fallback; llama2.c checkpoints map onto it) and byte-level BPE
// (gpt2: GPT-2 / SmolLM / Llama-3 style, ranked merges with a pre-tokenizer regex).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/model_file.hpp"

namespace lowbit {

class tokenizer {
public:
    virtual ~tokenizer() = default;
    // Builds the tokenizer a model's metadata describes; throws lowbit::error if it is missing or
    // of an unsupported kind.
    static std::unique_ptr<tokenizer> from_model(const model_data& m);

    // Encodes UTF-8 text; `add_bos` prepends the BOS id when the vocabulary has one. Matches
    // llama.cpp's llama_tokenize(text, add_special = add_bos, parse_special): user-defined tokens
    // are always matched in the text; control tokens (`<s>`, `<|im_start|>`) only when
    // `parse_special`, otherwise they are plain text. See docs/tokenizers.md.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos,
                                        bool parse_special = false) const = 0;
    // llama2.c's run.c `encode` (dummy " " prefix token, byte fallback before merging, greedy
    // best-score pair merges, no special-token parsing): SPM ("llama") vocabularies only, else
    // throws lowbit::error. Differs from encode() only on rare inputs (docs/tokenizers.md).
    virtual std::vector<int32_t> encode_llama2c(std::string_view text, bool add_bos) const;
    // The text of one token (byte tokens give their raw byte; SPM's U+2581 becomes a space).
    virtual std::string token_to_piece(int32_t id) const = 0;
    // The pieces of `ids` concatenated (control tokens give nothing); SPM drops the one space its
    // add-space-prefix rule put before the first text, so decode(encode(t)) == t.
    std::string decode(std::span<const int32_t> ids) const;

    int32_t n_vocab() const { return n_vocab_; }
    int32_t bos_id() const { return bos_; }  // -1 if none
    int32_t eos_id() const { return eos_; }  // -1 if none
    // Whether the model asks for BOS at the start of a sequence (tokenizer.ggml.add_bos_token,
    // default true for SPM, false for BPE), as llama.cpp's llama_vocab_get_add_bos.
    bool add_bos_default() const { return add_bos_default_; }
    // End of generation: EOS, EOT/EOM ids and control tokens such as `<|im_end|>`, `<|eot_id|>`.
    virtual bool is_eog(int32_t id) const { return id >= 0 && id == eos_; }
    virtual std::string kind() const = 0;     // "llama" or "gpt2"

protected:
    int32_t n_vocab_ = 0, bos_ = -1, eos_ = -1;
    bool add_bos_default_ = false;
    bool decode_strip_space_ = false;  // set by SPM when add_space_prefix
};

}  // namespace lowbit
