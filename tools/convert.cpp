// `lowbit convert IN OUT.gguf [--tokenizer PATH]`: any model lowbit reads (GGUF, safetensors file /
// index / directory, llama2.c checkpoint) written as GGUF with llama.cpp's names and metadata.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "command.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"

namespace {

struct convert_args {
    std::string in, out, tokenizer;
};

void setup(CLI::App& app) {
    auto a = std::make_shared<convert_args>();
    auto* sub = app.add_subcommand("convert", "convert safetensors / llama2.c / GGUF to GGUF (tensors unchanged)");
    sub->add_option("input", a->in, "model: .gguf, .safetensors, model.safetensors.index.json, HF directory or "
                                    "llama2.c .bin")
        ->required();
    sub->add_option("output", a->out, "output .gguf (written to a temporary file, then renamed)")->required();
    sub->add_option("--tokenizer", a->tokenizer,
                    "llama2.c tokenizer (default: tok<vocab>.bin or tokenizer.bin beside the checkpoint)");
    sub->callback([a] {
        lowbit::load_options opt;
        opt.tokenizer_path = a->tokenizer;
        const lowbit::model_data m = lowbit::load_model(a->in, opt);
        lowbit::save_gguf(m, a->out);
        std::printf("%s (%s, %zu tensors, %zu metadata keys) -> %s (%ju bytes)\n", a->in.c_str(),
                    m.source_format.c_str(), m.tensors.size(), m.metadata.size(), a->out.c_str(),
                    static_cast<uintmax_t>(std::filesystem::file_size(a->out)));
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
