#include "eval/throughput.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lowbit/error.hpp"

namespace lowbit::eval {
namespace {

throughput stats(const std::vector<double>& s) {
    throughput t;
    t.samples = s;
    if (s.empty()) return t;
    double sum = 0;
    for (double v : s) sum += v;
    t.mean = sum / double(s.size());
    if (s.size() > 1) {
        double ss = 0;
        for (double v : s) ss += (v - t.mean) * (v - t.mean);
        t.stddev = std::sqrt(ss / double(s.size() - 1));
    }
    return t;
}

// Deterministic pseudo-random prompt (llama-bench uses random tokens too).
std::vector<int32_t> prompt_tokens(int64_t n, int64_t n_vocab) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto& v : t) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = static_cast<int32_t>(x % static_cast<uint64_t>(n_vocab));
    }
    return t;
}

// A context of depth + n tokens whose cache holds `depth` tokens of random context.
llama_context context_at_depth(std::shared_ptr<const llama_model> model, int64_t depth, int64_t n, int n_threads,
                               int64_t n_batch, kv_type kv) {
    LOWBIT_REQUIRE(depth >= 0, "bench: depth {} is negative", depth);
    context_options co;
    co.n_ctx = depth + n;
    co.n_batch = n_batch;
    co.n_threads = n_threads;
    co.kv = kv;
    llama_context ctx(std::move(model), co);
    if (depth > 0) {
        const auto ctx_tokens = prompt_tokens(depth + 1, ctx.model().config().n_vocab);
        ctx.decode_last(std::span<const int32_t>(ctx_tokens).subspan(1));
    }
    return ctx;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

throughput bench_prompt(std::shared_ptr<const llama_model> model, int64_t n_prompt, int reps, int n_threads,
                        int64_t n_batch, int64_t depth, kv_type kv) {
    LOWBIT_REQUIRE(n_prompt > 0 && reps > 0, "bench: prompt tokens ({}) and repetitions ({}) must be positive",
                   n_prompt, reps);
    const auto toks = prompt_tokens(n_prompt, model->config().n_vocab);
    llama_context ctx = context_at_depth(std::move(model), depth, n_prompt, n_threads, n_batch, kv);
    std::vector<double> s;
    for (int r = -1; r < reps; ++r) {
        ctx.rewind(depth);
        const auto t0 = std::chrono::steady_clock::now();
        ctx.decode_last(toks);
        const double dt = seconds_since(t0);
        if (r >= 0) s.push_back(double(n_prompt) / std::max(dt, 1e-9));
    }
    return stats(s);
}

throughput bench_generation(std::shared_ptr<const llama_model> model, int64_t n_gen, int reps, int n_threads,
                            int64_t depth, kv_type kv) {
    LOWBIT_REQUIRE(n_gen > 0 && reps > 0, "bench: generated tokens ({}) and repetitions ({}) must be positive",
                   n_gen, reps);
    const int64_t V = model->config().n_vocab;
    llama_context ctx = context_at_depth(std::move(model), depth, n_gen, n_threads, 512, kv);
    std::vector<double> s;
    for (int r = -1; r < reps; ++r) {
        ctx.rewind(depth);
        int32_t tok = 1 % static_cast<int32_t>(V);
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < n_gen; ++i) {
            const auto logits = ctx.decode_last(std::span<const int32_t>(&tok, 1));
            tok = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
        const double dt = seconds_since(t0);
        if (r >= 0) s.push_back(double(n_gen) / std::max(dt, 1e-9));
    }
    return stats(s);
}

}  // namespace lowbit::eval
