// Token sampling (see sampler.hpp for the order of the steps and the conventions).
#include "model/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lowbit/error.hpp"

namespace lowbit {

sampler::sampler(const sampler_params& p) : p_(p), rng_(p.seed) {}

void sampler::reseed(uint64_t seed) {
    p_.seed = seed;
    rng_.seed(seed);
}

double sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t sampler::argmax(std::span<const float> logits) {
    LOWBIT_REQUIRE(!logits.empty(), "sampler: empty logits");
    int32_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
    return best;
}

int32_t sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    LOWBIT_REQUIRE(!logits.empty(), "sampler: empty logits");
    const int32_t n = static_cast<int32_t>(logits.size());
    // NaN breaks the sort's ordering and +inf the softmax; -inf (a banned token) is fine.
    for (int32_t i = 0; i < n; ++i)
        LOWBIT_REQUIRE(!std::isnan(logits[i]) && logits[i] != std::numeric_limits<float>::infinity(),
                       "sampler: the logit of token {} is {}: the model's output is not finite (non-finite "
                       "weights, or activations that overflow)",
                       i, logits[i]);

    // Repetition penalty on a copy, each distinct recent token once.
    std::span<const float> lg = logits;
    if (p_.repeat_penalty != 1.0f && !history.empty()) {
        work_.assign(logits.begin(), logits.end());
        const size_t n_last = p_.repeat_last_n < 0 ? history.size()
                                                   : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
        seen_.assign(history.end() - n_last, history.end());
        std::sort(seen_.begin(), seen_.end());
        seen_.erase(std::unique(seen_.begin(), seen_.end()), seen_.end());
        for (int32_t id : seen_) {
            if (id < 0 || id >= n) continue;
            float& x = work_[id];
            x = x > 0 ? x / p_.repeat_penalty : x * p_.repeat_penalty;
        }
        lg = work_;
    }

    if (p_.temperature <= 0.0f || p_.top_k == 1) return argmax(lg);

    // Candidates sorted by logit (descending, ties by id); top-k keeps only the first k.
    cands_.resize(n);
    for (int32_t i = 0; i < n; ++i) cands_[i] = {i, lg[i]};
    auto by_logit = [](const cand& a, const cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
    size_t k = cands_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < k) {
        k = static_cast<size_t>(p_.top_k);
        std::partial_sort(cands_.begin(), cands_.begin() + k, cands_.end(), by_logit);
        cands_.resize(k);
    } else {
        std::sort(cands_.begin(), cands_.end(), by_logit);
    }

    // Probabilities at temperature 1 for the filters.
    const double max_logit = cands_[0].logit;
    probs_.resize(k);
    double sum = 0;
    for (size_t i = 0; i < k; ++i) sum += probs_[i] = std::exp(static_cast<double>(cands_[i].logit) - max_logit);
    if (p_.top_p < 1.0f) {
        double cum = 0;
        size_t keep = k;
        for (size_t i = 0; i < k; ++i) {
            cum += probs_[i] / sum;
            if (cum >= p_.top_p) {
                keep = i + 1;
                break;
            }
        }
        k = keep;
    }
    if (p_.min_p > 0.0f) {
        const double threshold = p_.min_p;  // relative to p_max, which is probs_[0] / sum = 1 / sum
        size_t keep = 1;
        while (keep < k && probs_[keep] >= threshold) ++keep;
        k = keep;
    }

    // Temperature on the survivors, then draw by inverse CDF.
    const double inv_t = 1.0 / p_.temperature;
    double total = 0;
    for (size_t i = 0; i < k; ++i)
        total += probs_[i] = std::exp((static_cast<double>(cands_[i].logit) - max_logit) * inv_t);
    const double r = uniform() * total;
    double cum = 0;
    for (size_t i = 0; i < k; ++i) {
        cum += probs_[i];
        if (r < cum) return cands_[i].id;
    }
    return cands_[k - 1].id;  // rounding at the very top
}

}  // namespace lowbit
