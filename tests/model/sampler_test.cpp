// Sampler tests: greedy equivalences, seeded determinism, and the distribution each mode must give
// over many draws (tolerances ~4 standard deviations at 20,000 draws).
#include "model/sampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

std::vector<float> log_probs(const std::vector<double>& p) {
    std::vector<float> l;
    for (double x : p) l.push_back(static_cast<float>(std::log(x)));
    return l;
}

std::vector<double> frequencies(sampler& s, const std::vector<float>& logits, int n_draws) {
    std::vector<double> f(logits.size(), 0.0);
    for (int i = 0; i < n_draws; ++i) f[s.sample(logits)] += 1.0 / n_draws;
    return f;
}

constexpr int k_draws = 20000;
constexpr double k_tol = 0.015;

TEST(Sampler, GreedyModesAgree) {
    const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.5f, 0.7f};
    EXPECT_EQ(sampler::argmax(logits), 1);  // ties: lowest id
    sampler t0({.temperature = 0.0f, .seed = 1});
    sampler k1({.temperature = 1.3f, .top_k = 1, .seed = 2});
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(t0.sample(logits), 1);
        EXPECT_EQ(k1.sample(logits), 1);
    }
    EXPECT_THROW(t0.sample(std::vector<float>{}), error);
}

// A model whose output is NaN or +inf (NaN weights, overflow) gets an error naming the token, in every
// mode, not a pick from a sort without an order; -inf logits (banned tokens) are allowed.
TEST(Sampler, NonFiniteLogitsAreAnError) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    for (float bad : {nan, inf}) {
        std::vector<float> logits(300, 0.5f);
        logits[7] = 1.0f;
        logits[123] = bad;
        for (sampler_params p : {sampler_params{.temperature = 0.0f}, sampler_params{.top_k = 40},
                                 sampler_params{.top_p = 0.9f}, sampler_params{}}) {
            sampler s(p);
            try {
                s.sample(logits);
                ADD_FAILURE() << "no error for " << bad;
            } catch (const error& e) {
                EXPECT_NE(std::string(e.what()).find("token 123"), std::string::npos) << e.what();
            }
        }
    }
    std::vector<float> banned(300, 0.5f);
    banned[7] = 1.0f;
    banned[8] = -inf;
    sampler s({.seed = 3});
    for (int i = 0; i < 200; ++i) EXPECT_NE(s.sample(banned), 8);
    EXPECT_EQ(sampler({.temperature = 0.0f}).sample(banned), 7);
}

TEST(Sampler, SeededDeterminism) {
    const auto logits = log_probs({0.1, 0.2, 0.3, 0.15, 0.25});
    const sampler_params p{.temperature = 0.9f, .top_k = 4, .top_p = 0.95f, .seed = 42};
    sampler a(p), b(p), c({.temperature = 0.9f, .top_k = 4, .top_p = 0.95f, .seed = 43});
    std::vector<int32_t> ra, rb, rc;
    for (int i = 0; i < 200; ++i) {
        ra.push_back(a.sample(logits));
        rb.push_back(b.sample(logits));
        rc.push_back(c.sample(logits));
    }
    EXPECT_EQ(ra, rb);
    EXPECT_NE(ra, rc);
    a.reseed(42);
    for (int i = 0; i < 200; ++i) ASSERT_EQ(a.sample(logits), ra[i]) << "draw " << i;
}

TEST(Sampler, TemperatureOneFollowsSoftmax) {
    sampler s({.temperature = 1.0f, .seed = 7});
    const auto f = frequencies(s, log_probs({0.5, 0.3, 0.2}), k_draws);
    EXPECT_NEAR(f[0], 0.5, k_tol);
    EXPECT_NEAR(f[1], 0.3, k_tol);
    EXPECT_NEAR(f[2], 0.2, k_tol);
}

TEST(Sampler, TemperatureSharpens) {
    sampler s({.temperature = 0.5f, .seed = 8});  // p^2 renormalized
    const auto f = frequencies(s, log_probs({0.5, 0.3, 0.2}), k_draws);
    EXPECT_NEAR(f[0], 0.25 / 0.38, k_tol);
    EXPECT_NEAR(f[1], 0.09 / 0.38, k_tol);
    EXPECT_NEAR(f[2], 0.04 / 0.38, k_tol);
}

TEST(Sampler, TopKTopPMinP) {
    const auto logits = log_probs({0.5, 0.3, 0.2});
    sampler k2({.top_k = 2, .seed = 9});
    auto f = frequencies(k2, logits, k_draws);
    EXPECT_EQ(f[2], 0.0);
    EXPECT_NEAR(f[0], 0.5 / 0.8, k_tol);
    sampler p7({.top_p = 0.7f, .seed = 10});  // 0.5 < 0.7 <= 0.8: keeps {0, 1}
    f = frequencies(p7, logits, k_draws);
    EXPECT_EQ(f[2], 0.0);
    EXPECT_NEAR(f[1], 0.3 / 0.8, k_tol);
    sampler p4({.top_p = 0.4f, .seed = 11});  // the top token alone covers 0.4
    f = frequencies(p4, logits, 1000);
    EXPECT_NEAR(f[0], 1.0, 1e-9);
    sampler m5({.min_p = 0.5f, .seed = 12});  // threshold 0.25: drops 0.2 only
    f = frequencies(m5, logits, k_draws);
    EXPECT_EQ(f[2], 0.0);
    EXPECT_NEAR(f[0], 0.5 / 0.8, k_tol);
}

TEST(Sampler, RepetitionPenalty) {
    sampler s({.temperature = 0.0f, .repeat_penalty = 1.5f, .repeat_last_n = 2});
    const std::vector<float> pos = {2.0f, 1.9f, -1.0f};
    EXPECT_EQ(s.sample(pos), 0);
    const std::vector<int32_t> hist = {0};
    EXPECT_EQ(s.sample(pos, hist), 1);  // 2.0 / 1.5 < 1.9
    const std::vector<float> neg = {-1.0f, -1.2f};
    sampler s2({.temperature = 0.0f, .repeat_penalty = 2.0f});
    EXPECT_EQ(s2.sample(neg, hist), 1);  // -1 * 2 < -1.2
    // Outside the window: no penalty.
    const std::vector<int32_t> old = {0, 2, 2};
    EXPECT_EQ(s.sample(pos, old), 0);
}

}  // namespace
}  // namespace lowbit
