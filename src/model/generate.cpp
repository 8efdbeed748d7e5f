#include "model/generate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit {
generate_result generate(std::shared_ptr<const llama_model> model, const std::string& prompt,
                         const generate_options& opt, const std::function<void(const std::string&)>& on_piece) {
    LOWBIT_REQUIRE(opt.n_predict >= 0, "generate: n_predict {} must not be negative", opt.n_predict);
    const sampler_params& sp = opt.sampling;
    LOWBIT_REQUIRE(sp.temperature >= 0 && sp.top_p > 0 && sp.top_p <= 1 && sp.top_k >= 0 && sp.min_p >= 0 &&
                       sp.repeat_penalty > 0,
                   "generate: invalid sampling options (temperature {}, top-k {}, top-p {}, min-p {}, repeat "
                   "penalty {})", sp.temperature, sp.top_k, sp.top_p, sp.min_p, sp.repeat_penalty);
    const auto tok = tokenizer::from_model(model->data());
    generate_result r;
    r.prompt_tokens = tok->encode(prompt, opt.add_bos && tok->bos_id() >= 0);
    LOWBIT_REQUIRE(!r.prompt_tokens.empty(), "generate: the prompt is empty and the vocabulary has no BOS token");
    context_options co;
    co.n_ctx = opt.n_ctx;
    co.n_threads = opt.n_threads;
    co.kv = opt.kv;
    llama_context ctx(model, co);
    LOWBIT_REQUIRE(static_cast<int64_t>(r.prompt_tokens.size()) < ctx.n_ctx(),
                   "generate: the prompt has {} tokens, the context only {}", r.prompt_tokens.size(), ctx.n_ctx());
    sampler smp(sp);
    std::vector<int32_t> history = r.prompt_tokens;
    auto t0 = std::chrono::steady_clock::now();
    auto logits = ctx.decode_last(r.prompt_tokens);
    r.prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < opt.n_predict; ++i) {
        const int32_t t = smp.sample(logits, history);
        if (tok->is_eog(t)) break;
        r.tokens.push_back(t);
        history.push_back(t);
        if (on_piece) on_piece(tok->token_to_piece(t));
        if (ctx.n_past() >= ctx.n_ctx()) break;
        logits = ctx.decode_last(std::span<const int32_t>(&t, 1));
    }
    r.gen_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.text = tok->decode(r.tokens);
    return r;
}

}  // namespace lowbit
