// `lowbit synth OUT.gguf [--dim 2048] [--ffn 5632] [--layers 8] [--heads 16] [--kv-heads 4] [--vocab 512]
// [--type q4_0] [--seed 1] [--tokenizer-from GGUF]`: a LLaMA-shaped GGUF with random weights, for
// benchmarks and kernel tests. Logic: src/model/synth.cpp.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "command.hpp"
#include "lowbit/error.hpp"
#include "model/synth.hpp"

namespace {

struct synth_args {
    std::string out, type_name = "q4_0";
    lowbit::synth_options opt;
};

void setup(CLI::App& app) {
    auto a = std::make_shared<synth_args>();
    auto* sub = app.add_subcommand("synth", "write a LLaMA-shaped GGUF with random weights (for benchmarks)");
    sub->add_option("output", a->out, "output .gguf")->required();
    sub->add_option("--dim", a->opt.n_embd, "embedding length");
    sub->add_option("--ffn", a->opt.n_ff, "feed-forward length");
    sub->add_option("--layers", a->opt.n_layer, "layers");
    sub->add_option("--heads", a->opt.n_head, "attention heads");
    sub->add_option("--kv-heads", a->opt.n_head_kv, "KV heads");
    sub->add_option("--vocab", a->opt.n_vocab, "vocabulary size");
    sub->add_option("--ctx", a->opt.n_ctx, "context length");
    sub->add_option("--type", a->type_name, "storage type of every matrix (q4_0, q4_k, q8_0, f32, ...)");
    sub->add_option("--seed", a->opt.seed, "random seed");
    sub->add_option("--tokenizer-from", a->opt.tokenizer_from,
                    "GGUF whose tokenizer is copied (vocab must match; default: a built-in SPM vocab)");
    sub->add_option("-t,--threads", a->opt.n_threads, "threads (default: all)")
        ->check(lowbit::cli::threads_range());
    sub->callback([a] {
        const auto t = lowbit::type_from_name(a->type_name);
        if (!t) lowbit::fail("synth: unknown type '{}' (see `lowbit types`)", a->type_name);
        a->opt.t = *t;
        lowbit::write_synth_llama(a->opt, a->out);
        std::printf("%s: llama dim %lld, ffn %lld, %lld layers, %lld/%lld heads, vocab %lld, %s (%ju bytes)\n",
                    a->out.c_str(), static_cast<long long>(a->opt.n_embd), static_cast<long long>(a->opt.n_ff),
                    static_cast<long long>(a->opt.n_layer), static_cast<long long>(a->opt.n_head),
                    static_cast<long long>(a->opt.n_head_kv), static_cast<long long>(a->opt.n_vocab),
                    lowbit::type_name(a->opt.t).c_str(), static_cast<uintmax_t>(std::filesystem::file_size(a->out)));
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
