#include "model/generate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit {
namespace {

// splitmix64: a small, portable, seedable generator (std::uniform_real_distribution is not portable).
uint64_t next_u64(uint64_t& s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double uniform01(uint64_t& s) { return double(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace

int32_t sample_token(const float* logits, int64_t n_vocab, const generate_options& opt, uint64_t& rng_state) {
    if (opt.temperature <= 0.0f)
        return static_cast<int32_t>(std::max_element(logits, logits + n_vocab) - logits);
    std::vector<int32_t> idx(static_cast<size_t>(n_vocab));
    std::iota(idx.begin(), idx.end(), 0);
    // Sort by logit, ties by id: a total order, so the result does not depend on the sort algorithm.
    auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    size_t k = idx.size();
    if (opt.top_k > 0 && static_cast<size_t>(opt.top_k) < k) {
        k = static_cast<size_t>(opt.top_k);
        std::partial_sort(idx.begin(), idx.begin() + static_cast<ptrdiff_t>(k), idx.end(), by_logit);
    } else {
        std::sort(idx.begin(), idx.end(), by_logit);
    }
    std::vector<double> p(k);
    const double mx = logits[idx[0]];
    double sum = 0;
    for (size_t i = 0; i < k; ++i) sum += (p[i] = std::exp((double(logits[idx[i]]) - mx) / opt.temperature));
    if (opt.top_p < 1.0f) {
        double c = 0;
        size_t keep = k;
        for (size_t i = 0; i < k; ++i) {
            c += p[i] / sum;
            if (c >= opt.top_p) {
                keep = i + 1;
                break;
            }
        }
        k = keep;
        sum = 0;
        for (size_t i = 0; i < k; ++i) sum += p[i];
    }
    double u = uniform01(rng_state) * sum;
    for (size_t i = 0; i < k; ++i) {
        u -= p[i];
        if (u < 0) return idx[i];
    }
    return idx[k - 1];
}

generate_result generate(std::shared_ptr<const llama_model> model, const std::string& prompt,
                         const generate_options& opt, const std::function<void(const std::string&)>& on_piece) {
    LOWBIT_REQUIRE(opt.n_predict >= 0, "generate: n_predict {} must not be negative", opt.n_predict);
    LOWBIT_REQUIRE(opt.temperature >= 0 && opt.top_p > 0 && opt.top_p <= 1 && opt.top_k >= 0,
                   "generate: invalid sampling options (temperature {}, top-k {}, top-p {})", opt.temperature,
                   opt.top_k, opt.top_p);
    const auto tok = tokenizer::from_model(model->data());
    generate_result r;
    r.prompt_tokens = tok->encode(prompt, opt.add_bos && tok->bos_id() >= 0);
    LOWBIT_REQUIRE(!r.prompt_tokens.empty(), "generate: the prompt is empty and the vocabulary has no BOS token");
    context_options co;
    co.n_ctx = opt.n_ctx;
    co.n_threads = opt.n_threads;
    llama_context ctx(model, co);
    LOWBIT_REQUIRE(static_cast<int64_t>(r.prompt_tokens.size()) < ctx.n_ctx(),
                   "generate: the prompt has {} tokens, the context only {}", r.prompt_tokens.size(), ctx.n_ctx());
    uint64_t rng = opt.seed;
    const int64_t V = model->config().n_vocab;
    auto t0 = std::chrono::steady_clock::now();
    auto logits = ctx.decode_last(r.prompt_tokens);
    r.prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < opt.n_predict; ++i) {
        const int32_t t = sample_token(logits.data(), V, opt, rng);
        if (tok->is_eog(t)) break;
        r.tokens.push_back(t);
        if (on_piece) on_piece(tok->token_to_piece(t));
        if (ctx.n_past() >= ctx.n_ctx()) break;
        logits = ctx.decode_last(std::span<const int32_t>(&t, 1));
    }
    r.gen_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.text = tok->decode(r.tokens);
    return r;
}

}  // namespace lowbit
