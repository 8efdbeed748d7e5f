// `lowbit run MODEL -p TEXT -n N [--temp T --top-k K --top-p P --seed S]`: generate text. The logic
// lives in src/model/generate.cpp.
#include <cstdio>

#include "command.hpp"
#include "model/generate.hpp"

namespace {

struct args {
    std::string model, prompt, tokenizer, act_quant, kv = "f32", repack = "all";
    lowbit::generate_options g;
    bool quiet = false;
};

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* sub = app.add_subcommand("run", "generate text from a prompt");
    sub->add_option("model", a->model, "model file (GGUF, safetensors, llama2.c)")->required();
    sub->add_option("-p,--prompt", a->prompt, "prompt text");
    sub->add_option("-n,--n-predict", a->g.n_predict, "tokens to generate");
    auto& sp = a->g.sampling;
    sub->add_option("--temp", sp.temperature, "temperature (0: greedy)");
    sub->add_option("--top-k", sp.top_k, "keep the k most likely tokens (0: all)");
    sub->add_option("--top-p", sp.top_p, "keep the smallest set with this probability mass (1: all)");
    sub->add_option("--min-p", sp.min_p, "drop tokens with p < min-p * p_max (0: off)");
    sub->add_option("--repeat-penalty", sp.repeat_penalty, "penalty for recent tokens (1: off)");
    sub->add_option("--repeat-last-n", sp.repeat_last_n, "how many recent tokens the penalty sees");
    sub->add_option("--seed", sp.seed, "random seed (same seed, same text)");
    sub->add_option("-t,--threads", a->g.n_threads, "threads (default: all)")
        ->check(lowbit::cli::threads_range());
    sub->add_option("-c,--ctx", a->g.n_ctx, "context length (default: the model's)");
    sub->add_option("--kv-type", a->kv, "KV cache elements: f32 (exact) or f16 (half the memory)")
        ->check(CLI::IsMember({"f32", "f16"}));
    sub->add_option("--tokenizer", a->tokenizer, "tokenizer file for llama2.c checkpoints");
    sub->add_option("--act-quant", a->act_quant, "int8 activations: dynamic, none; default: as the model file says");
    lowbit::cli::add_repack_option(sub, a->repack);
    sub->add_flag("-q,--quiet", a->quiet, "print only the generated text, no timings");
    sub->callback([a] {
        lowbit::load_options lo;
        lo.tokenizer_path = a->tokenizer;
        lo.act_quant = a->act_quant;
        lo.repack = lowbit::cli::repack_option(a->repack);
        a->g.kv = lowbit::parse_kv_type(a->kv);
        auto model = lowbit::llama_model::load(a->model, lo);
        std::printf("%s", a->prompt.c_str());
        const auto r = lowbit::generate(model, a->prompt, a->g, [](const std::string& piece) {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
        });
        std::printf("\n");
        std::fflush(stdout);  // before the stderr line, also when both go to one pipe
        if (!a->quiet)
            std::fprintf(stderr, "prompt %zu tokens (%.1f tokens/s), generated %zu tokens (%.1f tokens/s)\n",
                         r.prompt_tokens.size(), r.prompt_seconds > 0 ? r.prompt_tokens.size() / r.prompt_seconds : 0,
                         r.tokens.size(), r.gen_seconds > 0 ? r.tokens.size() / r.gen_seconds : 0);
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
