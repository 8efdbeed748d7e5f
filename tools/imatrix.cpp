// `lowbit imatrix MODEL --text FILE -o imatrix.gguf [-c 512] [--chunks N] [--threads N]`: collects an
// importance matrix (llama-imatrix protocol and GGUF format; see src/quant/imatrix.hpp) for
// `lowbit quantize --imatrix`.
#include <cstdio>
#include <filesystem>

#include "command.hpp"
#include "eval/perplexity.hpp"
#include "lowbit/error.hpp"
#include "quant/imatrix.hpp"

namespace {

struct args {
    std::string model, text, out = "imatrix.gguf", tokenizer;
    int64_t n_ctx = 512, chunks = -1, skip_bytes = 0;
    int threads = 0;
    bool include_output = false, quiet = false;
};

void run(const args& a) {
    std::string text = lowbit::eval::read_text_file(a.text);
    LOWBIT_REQUIRE(a.skip_bytes >= 0 && static_cast<size_t>(a.skip_bytes) < text.size(),
                   "--skip-bytes {}: the text has {} bytes", a.skip_bytes, text.size());
    text.erase(0, static_cast<size_t>(a.skip_bytes));
    lowbit::load_options lo;
    lo.tokenizer_path = a.tokenizer;
    auto model = lowbit::llama_model::load(a.model, lo);
    lowbit::imatrix_options o;
    o.n_ctx = a.n_ctx;
    o.n_chunks = a.chunks;
    o.n_threads = a.threads;
    o.include_output = a.include_output;
    o.dataset = std::filesystem::path(a.text).filename().string();
    const lowbit::imatrix_data m = lowbit::collect_imatrix(model, text, o);
    lowbit::write_imatrix(m, a.out);
    if (!a.quiet)
        std::printf("imatrix: %zu weight matrices, %u chunks of %u tokens -> %s\n", m.entries.size(), m.chunk_count,
                    m.chunk_size, a.out.c_str());
}

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* s = app.add_subcommand("imatrix", "collect an importance matrix (llama.cpp GGUF imatrix) from calibration text");
    s->add_option("model", a->model, "model (GGUF, safetensors or llama2.c)")->required();
    s->add_option("--text,-f", a->text, "calibration text file")->required();
    s->add_option("-o,--output", a->out, "output imatrix GGUF (default imatrix.gguf)");
    s->add_option("-c,--ctx", a->n_ctx, "tokens per chunk (default 512)");
    s->add_option("--chunks", a->chunks, "at most this many chunks (default: all)");
    s->add_option("--skip-bytes", a->skip_bytes, "ignore the first N bytes of the text (calibrate on a held-out part)");
    s->add_option("--threads", a->threads, "worker threads (default: all cores)")
        ->check(lowbit::cli::threads_range());
    s->add_option("--tokenizer", a->tokenizer, "llama2.c input: tokenizer file");
    s->add_flag("--process-output", a->include_output, "also collect the output matrix");
    s->add_flag("-q,--quiet", a->quiet, "no summary");
    s->callback([a] { run(*a); });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
