// `lowbit inspect FILE [--json]`: metadata, tensors, types, shapes, bits per weight, size, fallbacks.
#include <cstdio>

#include "command.hpp"
#include "lowbit/inspect.hpp"

namespace {

void setup(CLI::App& app) {
    struct args {
        std::string path, tokenizer;
        bool json = false, arrays = false, summary = false;
    };
    auto a = std::make_shared<args>();
    auto* s = app.add_subcommand("inspect", "show what a model file (GGUF, safetensors, llama2.c) holds");
    s->add_option("file", a->path, "model file")->required();
    s->add_flag("--json", a->json, "machine-readable output");
    s->add_flag("--arrays", a->arrays, "with --json: include long metadata arrays in full");
    s->add_flag("--summary", a->summary, "totals only, no per-tensor table");
    s->add_option("--tokenizer", a->tokenizer, "llama2.c input: tokenizer file");
    s->callback([a] {
        lowbit::load_options lo;
        lo.tokenizer_path = a->tokenizer;
        const auto m = lowbit::load_model(a->path, lo);
        if (a->json) std::printf("%s\n", lowbit::inspect_json(m, a->arrays).c_str());
        else std::printf("%s", lowbit::inspect_text(m, !a->summary).c_str());
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
