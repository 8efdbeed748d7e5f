// Activation observers; see act_observer.hpp.
#include "quant/act_observer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lowbit/error.hpp"

namespace lowbit {

act_observer parse_act_observer(const std::string& name) {
    if (name == "minmax") return act_observer::minmax;
    if (name == "percentile") return act_observer::percentile;
    if (name == "entropy" || name == "kl") return act_observer::entropy;
    if (name == "mse") return act_observer::mse;
    fail("activation observer '{}' is unknown (expected minmax, percentile, entropy or mse)", name);
}

const char* act_observer_name(act_observer o) {
    switch (o) {
        case act_observer::minmax: return "minmax";
        case act_observer::percentile: return "percentile";
        case act_observer::entropy: return "entropy";
        case act_observer::mse: return "mse";
    }
    return "?";
}

abs_histogram::abs_histogram(int n_bins) : bins_(static_cast<size_t>(std::max(n_bins, 2)), 0.0) {
    // An even bin count keeps the pairwise merge exact.
    if (bins_.size() % 2) bins_.push_back(0.0);
}

void abs_histogram::add(const float* x, int64_t n) {
    const auto nb = static_cast<int64_t>(bins_.size());
    float m = 0.0f;
    for (int64_t i = 0; i < n; ++i)
        if (std::isfinite(x[i])) m = std::max(m, std::fabs(x[i]));
    if (m > 0.0f) {
        if (width_ == 0.0) width_ = double(m) * 1.0000001 / double(nb);
        while (double(m) >= width_ * double(nb)) {  // double the range: merge adjacent bins
            for (int64_t b = 0; b < nb / 2; ++b) bins_[b] = bins_[2 * b] + bins_[2 * b + 1];
            std::fill(bins_.begin() + nb / 2, bins_.end(), 0.0);
            width_ *= 2.0;
        }
        max_ = std::max(max_, double(m));
    }
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i])) continue;
        const double a = std::fabs(double(x[i]));
        const int64_t b = width_ > 0 ? std::min<int64_t>(nb - 1, static_cast<int64_t>(a / width_)) : 0;
        bins_[b] += 1.0;
        count_ += 1.0;
    }
}

namespace {

double clip_percentile(const abs_histogram& h, double p) {
    const auto& b = h.bins();
    const double target = h.count() * p / 100.0;
    double cum = 0.0;
    for (size_t i = 0; i < b.size(); ++i) {
        cum += b[i];
        if (cum >= target) {
            // Linear interpolation inside the bin.
            const double before = cum - b[i];
            const double f = b[i] > 0 ? (target - before) / b[i] : 1.0;
            return std::min(h.max(), (double(i) + f) * h.bin_width());
        }
    }
    return h.max();
}

double clip_mse(const abs_histogram& h) {
    const auto& b = h.bins();
    const double w = h.bin_width();
    const auto last = static_cast<int64_t>(std::min<double>(double(b.size()) - 1, std::floor(h.max() / w)));
    double best_c = h.max(), best = std::numeric_limits<double>::infinity();
    // Candidates: the upper edge of every bin up to the maximum, and the maximum itself.
    for (int64_t i = 0; i <= last + 1; ++i) {
        const double c = i <= last ? std::min(h.max(), double(i + 1) * w) : h.max();
        const double d = c / 127.0;
        double err = 0.0;
        for (int64_t k = 0; k <= last; ++k) {
            if (b[k] == 0) continue;
            const double v = (double(k) + 0.5) * w;
            err += b[k] * (v <= c ? d * d / 12.0 : (v - c) * (v - c) + d * d / 12.0);
        }
        if (err < best) {
            best = err;
            best_c = c;
        }
    }
    return best_c;
}

double clip_entropy(const abs_histogram& h) {
    const auto& b = h.bins();
    const int64_t levels = 128;
    const int64_t last = std::min<int64_t>(static_cast<int64_t>(b.size()) - 1,
                                           static_cast<int64_t>(std::floor(h.max() / h.bin_width())));
    const int64_t n_used = last + 1;  // bins that can hold data
    if (n_used <= levels) return h.max();
    double best_kl = std::numeric_limits<double>::infinity();
    int64_t best_i = n_used;
    std::vector<double> p, q;
    for (int64_t i = levels; i <= n_used; ++i) {
        p.assign(b.begin(), b.begin() + i);
        double tail = 0.0;
        for (int64_t k = i; k < n_used; ++k) tail += b[k];
        p[i - 1] += tail;
        q.assign(static_cast<size_t>(i), 0.0);
        // Level l covers bins [i*l/levels, i*(l+1)/levels).
        for (int64_t l = 0; l < levels; ++l) {
            const int64_t s = i * l / levels, e = i * (l + 1) / levels;
            double mass = 0.0;
            int64_t nz = 0;
            for (int64_t k = s; k < e; ++k) {
                mass += b[k];  // the unclipped counts, as TensorRT
                nz += b[k] != 0;
            }
            if (nz == 0) continue;
            for (int64_t k = s; k < e; ++k)
                if (b[k] != 0) q[k] = mass / double(nz);
        }
        double sp = 0.0, sq = 0.0;
        for (int64_t k = 0; k < i; ++k) {
            sp += p[k];
            sq += q[k];
        }
        if (sp <= 0 || sq <= 0) continue;
        double kl = 0.0;
        for (int64_t k = 0; k < i; ++k) {
            if (p[k] == 0) continue;
            const double pk = p[k] / sp;
            const double qk = q[k] > 0 ? q[k] / sq : 1e-12;  // P > 0 where Q = 0: heavily penalised
            kl += pk * std::log(pk / qk);
        }
        if (kl < best_kl) {
            best_kl = kl;
            best_i = i;
        }
    }
    return std::min(h.max(), (double(best_i) + 0.5) * h.bin_width());
}

}  // namespace

double observe_clip(const abs_histogram& h, act_observer o, double percentile) {
    LOWBIT_REQUIRE(percentile > 0 && percentile <= 100, "activation percentile {} is outside (0, 100]", percentile);
    if (h.max() <= 0 || h.count() <= 0) return 0.0;
    switch (o) {
        case act_observer::minmax: return h.max();
        case act_observer::percentile: return clip_percentile(h, percentile);
        case act_observer::entropy: return clip_entropy(h);
        case act_observer::mse: return clip_mse(h);
    }
    return h.max();
}

}  // namespace lowbit
