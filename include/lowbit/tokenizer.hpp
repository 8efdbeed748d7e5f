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

    // Encodes UTF-8 text; `add_bos` prepends the BOS id when the vocabulary has one.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
    // The text of one token (byte tokens give their raw byte; SPM's U+2581 becomes a space).
    virtual std::string token_to_piece(int32_t id) const = 0;
    std::string decode(std::span<const int32_t> ids) const;

    int32_t n_vocab() const { return n_vocab_; }
    int32_t bos_id() const { return bos_; }  // -1 if none
    int32_t eos_id() const { return eos_; }  // -1 if none
    virtual std::string kind() const = 0;     // "llama" or "gpt2"

protected:
    int32_t n_vocab_ = 0, bos_ = -1, eos_ = -1;
};

}  // namespace lowbit
