// Next-token sampling from logits: greedy, temperature, top-k, top-p (nucleus), min-p and a
// repetition penalty, with a seeded deterministic RNG (std::mt19937_64; uniforms built from its
// top 53 bits, so results do not depend on the standard library's distributions).
//
// Order, as llama.cpp's default sampler chain: repetition penalty -> top-k -> top-p -> min-p ->
// temperature -> draw. Filters work on the probabilities at temperature 1; temperature then
// reshapes what is left. temperature <= 0 (or top_k == 1) is greedy: the arg-max after the
// penalty, ties to the lowest id, and no random number is consumed.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace lowbit {

struct sampler_params {
    float temperature = 1.0f;     // <= 0: greedy
    int32_t top_k = 0;            // <= 0: off
    float top_p = 1.0f;           // >= 1: off; keep the smallest set with probability >= top_p
    float min_p = 0.0f;           // <= 0: off; drop tokens with p < min_p * p_max
    float repeat_penalty = 1.0f;  // 1: off; CTRL-style: logit > 0 ? logit / pen : logit * pen
    int32_t repeat_last_n = 64;   // how many recent tokens the penalty looks at (-1: all)
    uint64_t seed = 0;
};

class sampler {
public:
    explicit sampler(const sampler_params& p = {});

    // Picks a token from `logits` ([n_vocab]); `history` holds the tokens so far (for the
    // repetition penalty; may be empty). Throws lowbit::error on empty logits, or a NaN or +inf one.
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history = {});

    void reseed(uint64_t seed);
    const sampler_params& params() const { return p_; }

    // Arg-max, ties to the lowest index.
    static int32_t argmax(std::span<const float> logits);

private:
    double uniform();  // [0, 1)

    sampler_params p_;
    std::mt19937_64 rng_;
    struct cand {
        int32_t id;
        float logit;
    };
    // Buffers kept across calls: sampling a token allocates nothing once they have grown.
    std::vector<cand> cands_;
    std::vector<float> work_;
    std::vector<double> probs_;
    std::vector<int32_t> seen_;  // the distinct recent tokens of the repetition penalty
};

}  // namespace lowbit
