#include "eval/kld.hpp"

#include <algorithm>
#include <cmath>

namespace lowbit::eval {

double log_sum_exp(const float* logits, int64_t n_vocab, int32_t* argmax) {
    float mx = logits[0];
    int32_t im = 0;
    for (int64_t i = 1; i < n_vocab; ++i)
        if (logits[i] > mx) {
            mx = logits[i];
            im = static_cast<int32_t>(i);
        }
    double sum = 0.0;
    for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(double(logits[i]) - double(mx));
    if (argmax) *argmax = im;
    return double(mx) + std::log(sum);
}

token_nll score_token(const float* logits, int64_t n_vocab, int32_t tok) {
    token_nll r;
    const double lse = log_sum_exp(logits, n_vocab, &r.top);
    r.nll = lse - double(logits[tok]);
    return r;
}

token_kld score_token_kld(const float* logits, const float* ref, int64_t n_vocab, int32_t tok) {
    int32_t top = 0, top_ref = 0;
    const double lse = log_sum_exp(logits, n_vocab, &top);
    const double lse_ref = log_sum_exp(ref, n_vocab, &top_ref);
    double kld = 0.0;
    for (int64_t i = 0; i < n_vocab; ++i) {
        const double lp_ref = double(ref[i]) - lse_ref;
        const double lp = double(logits[i]) - lse;
        kld += std::exp(lp_ref) * (lp_ref - lp);
    }
    token_kld r;
    r.nll = lse - double(logits[tok]);
    r.nll_ref = lse_ref - double(ref[tok]);
    r.kld = std::max(0.0, kld);  // exact 0 for identical logits; tiny negative rounding clamped
    r.p_diff = std::exp(-r.nll) - std::exp(-r.nll_ref);
    r.same_top = top == top_ref;
    return r;
}

mean_se mean_and_se(const std::vector<double>& x, int64_t min_count) {
    mean_se r;
    const auto n = static_cast<int64_t>(x.size());
    if (n < 1) return r;
    double s = 0, s2 = 0;
    for (double v : x) {
        s += v;
        s2 += v * v;
    }
    r.mean = s / double(n);
    const double var = s2 / double(n) - r.mean * r.mean;
    r.se = (var > 0 && n > min_count) ? std::sqrt(var / double(n - 1)) : 0.0;
    return r;
}

double percentile_sorted(const std::vector<double>& v, double fraction) {
    if (v.empty()) return 0.0;
    if (fraction <= 0) return v.front();
    if (fraction >= 1) return v.back();
    const double p = fraction * double(v.size() - 1);
    const auto ip = static_cast<size_t>(p);
    const double f = p - double(ip);
    return (1 - f) * v[ip] + f * v[std::min(ip + 1, v.size() - 1)];
}

}  // namespace lowbit::eval
