// Text generation with a llama_context: prompt in one batch, then one token per step, drawn by the
// sampler (model/sampler.hpp: temperature / top-k / top-p / min-p / repetition penalty, seeded; same
// seed, same model, same threads: same text). Stops at n_predict tokens, an end-of-generation token or
// a full context.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/llama.hpp"
#include "model/sampler.hpp"

namespace lowbit {

struct generate_options {
    int64_t n_predict = 128;
    sampler_params sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f};
    int n_threads = 0;
    int64_t n_ctx = 0;     // 0: the model's context
    kv_type kv = kv_type::f32;  // KV cache elements
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

}  // namespace lowbit
