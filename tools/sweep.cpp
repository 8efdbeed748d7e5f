// `lowbit sweep MODEL --types q8_0,q4_k_m,... --text FILE --reference REF -o DIR`: quantize to every
// (type, method), evaluate each against the reference, write DIR/report.json and DIR/report.html.
// Logic: src/eval/sweep.hpp and src/eval/html_report.hpp.
#include <cstdio>

#include "command.hpp"
#include "eval/sweep.hpp"
#include "lowbit/error.hpp"

namespace {

struct args {
    std::string model, reference, tokenizer, calib, out, protocol = "chunks", fallback = "ggml";
    std::vector<std::string> types, methods = {"rtn"}, texts;
    int64_t n_ctx = 0, max_units = 0, gen = 0;
    int threads = 0;
    bool quiet = false;
};

void run(const args& a) {
    namespace ev = lowbit::eval;
    ev::sweep_options o;
    o.model = a.model;
    o.reference = a.reference;
    o.tokenizer = a.tokenizer;
    o.types = a.types;
    o.methods = a.methods;
    o.texts = a.texts;
    o.calib_text = a.calib;
    o.out_dir = a.out;
    o.eval.proto = ev::parse_protocol(a.protocol);
    LOWBIT_REQUIRE(a.n_ctx >= 0, "-c: context {} must not be negative", a.n_ctx);
    o.eval.n_ctx = a.n_ctx;
    o.eval.max_units = a.max_units;
    o.gen = a.gen;
    o.threads = a.threads;
    if (a.fallback == "lowbit") o.fallback = lowbit::fallback_mode::lowbit;
    else LOWBIT_REQUIRE(a.fallback == "ggml", "--fallback: expected 'ggml' or 'lowbit', got '{}'", a.fallback);
    if (!a.quiet) o.on_progress = [](const std::string& s) { std::fprintf(stderr, "sweep: %s\n", s.c_str()); };
    const auto r = ev::run_sweep(o);
    ev::write_sweep_report(r, a.out);
    if (!a.quiet) std::printf("wrote %s/report.json and %s/report.html (%zu points)\n", a.out.c_str(), a.out.c_str(), r.points.size());
}

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* s = app.add_subcommand("sweep", "quantize to a grid of types/methods, evaluate each, write JSON + HTML report");
    s->add_option("model", a->model, "full-precision model")->required();
    s->add_option("--types", a->types, "comma-separated presets/types, e.g. q8_0,q4_k_m,int4_g32")->required()->delimiter(',');
    s->add_option("--methods", a->methods, "comma-separated methods: rtn, mse, hqq, gptq, awq (default rtn)")->delimiter(',');
    s->add_option("--text", a->texts, "text file to evaluate on (repeatable; one report row per file)")->required();
    s->add_option("--calib", a->calib, "calibration text for --methods gptq/awq");
    s->add_option("--reference", a->reference, "reference model (default: MODEL itself)");
    s->add_option("-o,--out", a->out, "output folder (models, report.json, report.html)")->required();
    s->add_option("-c,--ctx", a->n_ctx, "context / chunk size (default: the reference's)");
    s->add_option("--protocol", a->protocol, "chunks or documents");
    s->add_option("--max-units", a->max_units, "at most this many chunks/documents per file");
    s->add_option("--gen", a->gen, "tokens for the generation speed figure (default 0: skip)");
    s->add_option("--fallback", a->fallback, "shape fallback: ggml or lowbit");
    s->add_option("-t,--threads", a->threads, "threads (default: all)")->check(lowbit::cli::threads_range());
    s->add_option("--tokenizer", a->tokenizer, "tokenizer file for llama2.c checkpoints");
    s->add_flag("-q,--quiet", a->quiet, "no progress");
    s->callback([a] { run(*a); });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
