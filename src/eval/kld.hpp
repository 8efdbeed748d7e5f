// Per-token statistics of a model's next-token distribution, as llama.cpp's perplexity tool computes
// them (tools/perplexity/perplexity.cpp: log_softmax, kl_divergence), but streaming: the reference
// model runs in the same pass, so no logits file is written.
//   nll    = -log softmax(logits)[tok]                          (natural log)
//   kld    = sum_i p_ref,i (log p_ref,i - log p_i)              KL(reference || model), >= 0
//   p_diff = p(tok) - p_ref(tok);  same_top = argmax p == argmax p_ref
// The softmax normaliser is accumulated in double, in index order (deterministic).
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit::eval {

// log sum_i exp(logits[i]) with the max subtracted first; writes the argmax.
double log_sum_exp(const float* logits, int64_t n_vocab, int32_t* argmax = nullptr);

struct token_nll {
    double nll;
    int32_t top;  // argmax of the logits
};
token_nll score_token(const float* logits, int64_t n_vocab, int32_t tok);

struct token_kld {
    double nll, nll_ref, kld;
    double p_diff;
    bool same_top;
};
// `logits` from the model under test, `ref` from the reference, same vocabulary.
token_kld score_token_kld(const float* logits, const float* ref, int64_t n_vocab, int32_t tok);

// Mean and its standard error as llama.cpp: sqrt((E[x^2] - E[x]^2) / (n - 1)), 0 when n <= 10 (KLD)
// or n <= 1 (PPL).
struct mean_se {
    double mean = 0, se = 0;
};
mean_se mean_and_se(const std::vector<double>& x, int64_t min_count = 1);

// llama.cpp's percentile over sorted values: linear interpolation at fraction * (n - 1).
double percentile_sorted(const std::vector<double>& sorted, double fraction);

}  // namespace lowbit::eval
