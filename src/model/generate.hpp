// Text generation with a llama_context: prompt in one batch, then one token per step, sampled with
// temperature / top-k / top-p from a seeded generator (same seed, same model, same threads: same text).
// temperature 0 is greedy. Stops at n_predict tokens, an end-of-generation token or a full context.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/llama.hpp"

namespace lowbit {

struct generate_options {
    int64_t n_predict = 128;
    float temperature = 0.8f;
    int top_k = 40;        // 0: off
    float top_p = 0.95f;   // 1: off
    uint64_t seed = 0;
    int n_threads = 0;
    int64_t n_ctx = 0;     // 0: the model's context
    bool add_bos = true;
};

struct generate_result {
    std::vector<int32_t> prompt_tokens, tokens;  // tokens: generated only
    std::string text;                            // decoded generated text
    double prompt_seconds = 0, gen_seconds = 0;
};

// `on_piece` (may be empty) receives each generated token's text as it is produced.
generate_result generate(std::shared_ptr<const llama_model> model, const std::string& prompt,
                         const generate_options& opt, const std::function<void(const std::string&)>& on_piece = {});

// One sampling step over logits[n_vocab]; `rng_state` is advanced.
int32_t sample_token(const float* logits, int64_t n_vocab, const generate_options& opt, uint64_t& rng_state);

}  // namespace lowbit
