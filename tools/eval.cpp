// `lowbit eval MODEL TEXT... [--reference REF] [--gate SPEC]`: perplexity (llama.cpp chunks or
// per-document protocol), KL divergence against a reference in the same pass, throughput and memory,
// as a table or --json. The logic lives in src/eval/ (evaluate_model); this file only parses arguments.
#include <cstdio>

#include "command.hpp"
#include "core/parallel.hpp"
#include "eval/gate.hpp"
#include "eval/perplexity.hpp"
#include "eval/report.hpp"
#include "eval/sweep.hpp"
#include "lowbit/error.hpp"

namespace {

struct args {
    std::string model, reference, protocol = "chunks", gate, tokenizer, separator = "<|endoftext|>";
    std::string repack = "all";
    std::string act_quant;  // "" (as the file says), none, dynamic: the model only, never the reference
    std::vector<std::string> files;
    int64_t n_ctx = 0, max_units = 0, gen = 32;
    int threads = 0;
    bool json = false, allow_long = false;
};

void run(const args& a) {
    namespace ev = lowbit::eval;
    std::vector<ev::gate_condition> gate;
    if (!a.gate.empty()) {
        gate = ev::parse_gate(a.gate);
        for (const auto& c : gate)
            LOWBIT_REQUIRE(!ev::gate_needs_reference(c) || !a.reference.empty(),
                           "--gate: '{}' needs a reference model (--reference)", c.text);
    }
    ev::ppl_options o;
    o.proto = ev::parse_protocol(a.protocol);
    LOWBIT_REQUIRE(a.n_ctx >= 0, "-c: context {} must not be negative", a.n_ctx);
    LOWBIT_REQUIRE(a.gen >= 0, "--gen: {} must not be negative", a.gen);
    o.n_ctx = a.n_ctx;
    o.n_threads = a.threads > 0 ? a.threads : lowbit::default_threads();
    o.allow_long_context = a.allow_long;
    o.separator = a.separator;
    o.max_units = a.max_units;
    lowbit::load_options lo;
    lo.tokenizer_path = a.tokenizer;
    lo.repack = lowbit::cli::repack_option(a.repack);
    ev::eval_request req;
    if (!a.reference.empty()) req.reference = lowbit::llama_model::load(a.reference, lo);
    lo.act_quant = a.act_quant;
    req.model = lowbit::llama_model::load(a.model, lo);
    req.model_path = a.model;
    req.reference_path = a.reference;
    req.text_paths = a.files;
    req.options = o;
    req.gen = a.gen;
    req.gate = gate;
    const ev::run_report r = ev::evaluate_model(req);
    if (a.json)
        std::printf("%s\n", ev::to_json(r).dump(2).c_str());
    else
        std::printf("%s", ev::to_table(r).c_str());
    std::fflush(stdout);
    LOWBIT_REQUIRE(r.gate_failures.empty(), "gate failed: {} condition(s) violated (first: {})", r.gate_failures.size(),
                   r.gate_failures.empty() ? "" : r.gate_failures.front());
}

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* sub = app.add_subcommand("eval", "perplexity, KL divergence vs a reference, throughput (quality gate)");
    sub->add_option("model", a->model, "model file (GGUF, safetensors, llama2.c)")->required();
    sub->add_option("files", a->files, "text files to score (one table row each)")->required()->expected(1, -1);
    sub->add_option("-c,--ctx", a->n_ctx, "context: chunk size (chunks) or truncation (documents); default: the model's");
    sub->add_option("--protocol", a->protocol, "chunks (llama.cpp llama-perplexity) or documents (each from BOS)");
    sub->add_option("--reference", a->reference, "reference model run in the same pass (KLD, top-1, delta p)");
    sub->add_option("--gate", a->gate, "fail unless every file meets e.g. 'kld<=0.02,top1>=0.9'");
    sub->add_option("-t,--threads", a->threads, "threads (default: all)")
        ->check(lowbit::cli::threads_range());
    sub->add_option("--separator", a->separator, "document separator line (documents protocol)");
    sub->add_option("--max-units", a->max_units, "evaluate at most this many chunks/documents per file");
    sub->add_option("--gen", a->gen, "tokens to generate for the generation speed figure (0: skip)");
    sub->add_option("--tokenizer", a->tokenizer, "tokenizer file for llama2.c checkpoints");
    sub->add_option("--act-quant", a->act_quant,
                    "int8 activations of the model: dynamic (per token, any model), none (weight-only); default: as its file says");
    sub->add_flag("--allow-long-context", a->allow_long, "allow -c beyond the model's context length");
    lowbit::cli::add_repack_option(sub, a->repack);
    sub->add_flag("--json", a->json, "machine-readable output");
    sub->callback([a] { run(*a); });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
