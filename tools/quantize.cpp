// `lowbit quantize IN OUT --type T`: see include/lowbit/quantize.hpp for the rules.
#include <cstdio>
#include <filesystem>

#include "command.hpp"
#include "core/progress.hpp"
#include "lowbit/error.hpp"
#include "lowbit/quantize.hpp"
#include "quant/weight_methods.hpp"
#include "eval/perplexity.hpp"
#include "quant/mixed_precision.hpp"
#include "quant/imatrix.hpp"
#include "quant/act_quant.hpp"

namespace {

struct args {
    std::string in, out, type = "q4_0", output_type, embd_type, fallback = "ggml", tokenizer;
    std::vector<std::string> tensor_types;
    bool pure = false, requant = false, dry_run = false, json = false, quiet = false, verbose = false;
    int threads = 0;
    std::string imatrix;  // importance matrix file (src/quant/imatrix.hpp)
    // weight methods (src/quant/weight_methods.hpp)
    std::string method = "rtn", method_calib;
    int64_t method_seqs = 32, method_len = 256;
    uint64_t seed = 1234;
    bool act_order = false, no_clip = false;
    int gptq_refine = 4;
    // automatic mixed precision (src/quant/mixed_precision.hpp)
    double target_bpw = 0, max_kld = -1;
    uint64_t target_size = 0;
    std::string calib, mp_measure = "auto", mp_candidates, mp_report, mp_cache, method_cache;
    int64_t calib_ctx = 128, calib_chunks = 8;
    // activation quantization (src/quant/act_quant.hpp)
    std::string act_quant = "none", act_observer = "minmax", act_calib;
    double act_percentile = 99.99, smoothquant = -1, act_fallback = 0;
    int64_t act_seqs = 16, act_len = 256;
};

lowbit::type parse_type(const std::string& flag, const std::string& name) {
    auto t = lowbit::type_from_name(name);
    LOWBIT_REQUIRE(t.has_value(), "{}: unknown type '{}' (see `lowbit types`)", flag, name);
    return *t;
}

void run(const args& a) {
    lowbit::quantize_options opt;
    opt.preset = a.type;
    opt.pure = a.pure;
    opt.allow_requantize = a.requant;
    opt.threads = a.threads;
    if (a.fallback == "lowbit") opt.fallback = lowbit::fallback_mode::lowbit;
    else LOWBIT_REQUIRE(a.fallback == "ggml", "--fallback: expected 'ggml' or 'lowbit', got '{}'", a.fallback);
    if (!a.output_type.empty()) opt.output_tensor_type = parse_type("--output-tensor-type", a.output_type);
    if (!a.embd_type.empty()) opt.token_embedding_type = parse_type("--token-embedding-type", a.embd_type);
    for (const auto& tt : a.tensor_types) {
        auto eq = tt.rfind('=');
        LOWBIT_REQUIRE(eq != std::string::npos && eq > 0, "--tensor-type: expected REGEX=TYPE, got '{}'", tt);
        opt.tensor_types.emplace_back(tt.substr(0, eq), parse_type("--tensor-type", tt.substr(eq + 1)));
    }
    // --method mse: error-minimizing group scales inside the pipeline's encoders (docs/methods.md).
    if (a.method == "mse") opt.method = lowbit::quant_method::mse;
    std::map<std::string, std::vector<float>> importance;
    if (!a.imatrix.empty()) {
        const lowbit::imatrix_data im = lowbit::read_imatrix(a.imatrix);
        importance = im.importance_map();
        opt.metadata = lowbit::imatrix_quantize_metadata(im, a.imatrix);
        opt.importance = [&importance](const std::string& t) -> const std::vector<float>* {
            const auto it = importance.find(t);
            return it == importance.end() ? nullptr : &it->second;
        };
    }
    if (!a.dry_run) {
        std::error_code ec;
        LOWBIT_REQUIRE(!std::filesystem::equivalent(a.in, a.out, ec), "{}: output would overwrite the input", a.out);
    }
    lowbit::load_options lo;
    lo.tokenizer_path = a.tokenizer;
    // --act-quant: SmoothQuant (if asked) folds before anything else sees the weights.
    lowbit::act_quant_options ao;
    ao.mode = lowbit::parse_act_mode(a.act_quant);
    ao.observer = lowbit::parse_act_observer(a.act_observer);
    ao.percentile = a.act_percentile;
    ao.fallback_bound = a.act_fallback;
    ao.smoothquant_alpha = a.smoothquant;
    ao.threads = a.threads;
    lowbit::calib_options ac;
    ac.text_path = a.act_calib;
    ac.n_seq = a.act_seqs;
    ac.seq_len = a.act_len;
    ac.seed = a.seed;
    ac.threads = a.threads;
    LOWBIT_REQUIRE(ao.mode != lowbit::act_mode::none || (a.smoothquant < 0 && a.act_fallback <= 0),
                   "--smoothquant / --act-fallback need --act-quant dynamic or static");
    const lowbit::model_data m =
        ao.mode == lowbit::act_mode::none ? lowbit::load_model(a.in, lo)
                                          : lowbit::act_quant_prepare(lowbit::load_model(a.in, lo), ao, ac);

    const bool mixed = a.target_bpw > 0 || a.target_size > 0 || a.max_kld >= 0;
    if (mixed) {
        LOWBIT_REQUIRE(!a.calib.empty(), "--target-bpw/--target-size/--max-kld need a calibration text (--calib FILE)");
        lowbit::mp_options mo;
        mo.calib_text = lowbit::eval::read_text_file(a.calib);
        mo.n_ctx = a.calib_ctx;
        mo.n_chunks = a.calib_chunks;
        mo.threads = a.threads;
        mo.fallback = opt.fallback;
        mo.target_bpw = a.target_bpw;
        mo.target_file_bytes = a.target_size;
        mo.max_kld = a.max_kld;
        mo.cache_path = a.mp_cache;
        if (a.mp_measure == "all") mo.measure = lowbit::mp_measure::all;
        else if (a.mp_measure == "anchor") mo.measure = lowbit::mp_measure::anchor;
        else LOWBIT_REQUIRE(a.mp_measure == "auto", "--mp-measure: expected auto, all or anchor, got '{}'", a.mp_measure);
        if (!a.mp_candidates.empty()) {
            mo.candidates.clear();
            std::string s = a.mp_candidates;
            for (size_t p = 0; p <= s.size();) {
                size_t q = s.find(',', p);
                if (q == std::string::npos) q = s.size();
                if (q > p) mo.candidates.push_back(parse_type("--mp-candidates", s.substr(p, q - p)));
                p = q + 1;
            }
        }
        lowbit::progress_bar bar("sensitivity", !a.quiet && !a.json);
        mo.on_progress = [&](size_t done, size_t total, const std::string& name) {
            bar.update(total ? double(done) / double(total) : 1.0, name);
        };
        mo.output = opt;
        const lowbit::mp_plan plan = lowbit::plan_mixed_precision(m, mo);
        bar.finish("done");
        lowbit::apply_mixed_plan(plan, m, opt);
        if (!a.mp_report.empty()) {
            std::FILE* f = std::fopen(a.mp_report.c_str(), "w");
            LOWBIT_REQUIRE(f != nullptr, "--mp-report: cannot write '{}'", a.mp_report);
            const std::string js = lowbit::mp_report_json(plan);
            std::fwrite(js.data(), 1, js.size(), f);
            std::fclose(f);
        }
        if (!a.quiet && !a.json) std::printf("%s", lowbit::format_mp_report(plan).c_str());
    }

    lowbit::weight_method_options wm;
    wm.method = a.method == "mse" ? "rtn" : a.method;
    LOWBIT_REQUIRE(lowbit::is_weight_method(wm.method), "--method: expected rtn, mse, gptq, awq or hqq, got '{}'", a.method);
    if (a.method == "gptq" || a.method == "awq") {
        LOWBIT_REQUIRE(!a.method_calib.empty(), "--method {} needs a calibration text (--method-calib FILE)", a.method);
        wm.calib.text_path = a.method_calib;
        wm.calib.n_seq = a.method_seqs;
        wm.calib.seq_len = a.method_len;
        wm.calib.seed = a.seed;
        wm.calib.threads = a.threads;
    }
    wm.gptq.act_order = a.act_order;
    wm.gptq.refine_sweeps = a.gptq_refine;
    LOWBIT_REQUIRE(a.method_cache.empty() || a.method == "gptq", "--method-cache applies to --method gptq only");
    wm.cache_path = a.method_cache;
    wm.gptq.threads = wm.awq.threads = wm.hqq.threads = a.threads;
    wm.awq.clip = !a.no_clip;
    wm.verbose = a.verbose;

    lowbit::quantize_report rep;
    if (a.dry_run) {
        rep = lowbit::plan_quantization(m, opt);
    } else {
        lowbit::progress_bar bar("quantize", !a.quiet && !a.json);
        opt.on_progress = [&](size_t, size_t, uint64_t done, uint64_t total, const std::string& name) {
            bar.update(total ? double(done) / double(total) : 1.0, name);
        };
        rep = lowbit::quantize_model_with_method(m, a.out, opt, wm);
        bar.finish(a.out);
    }
    if (a.json) std::printf("%s\n", lowbit::quantize_report_json(rep).c_str());
    else if (!a.quiet) std::printf("%s", lowbit::format_quantize_report(rep, a.verbose || a.dry_run).c_str());
    if (ao.mode != lowbit::act_mode::none && !a.dry_run) {
        lowbit::act_quant_report ar;
        try {
            ar = lowbit::act_quant_finish(a.out, ao, ac);
        } catch (...) {  // no output without the activation quantization that was asked for
            std::error_code ec;
            std::filesystem::remove(a.out, ec);
            throw;
        }
        if (!a.quiet) std::fprintf(a.json ? stderr : stdout, "%s", lowbit::format_act_quant_report(ar, a.verbose).c_str());
    }
}

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* s = app.add_subcommand("quantize", "quantize a model (GGUF, safetensors or llama2.c) to a GGUF file");
    s->add_option("input", a->in, "input model")->required();
    s->add_option("output", a->out, "output GGUF file")->required();
    s->add_option("-t,--type", a->type, "type or preset: q4_0, q4_k_m, q8_0, int4_g32, nf4, ... (default q4_0)");
    s->add_option("--tensor-type", a->tensor_types, "REGEX=TYPE override for matching tensors (repeatable)");
    s->add_option("--output-tensor-type", a->output_type, "type of output.weight");
    s->add_option("--token-embedding-type", a->embd_type, "type of token_embd.weight");
    s->add_option("--fallback", a->fallback,
                  "for rows the type's block does not divide: 'ggml' (llama.cpp-compatible, default) or "
                  "'lowbit' (padded lowbit formats)");
    s->add_flag("--pure", a->pure, "no mixture rules: every weight gets the base type (shape fallbacks still apply)");
    s->add_flag("--allow-requantize", a->requant, "allow re-encoding tensors that are already quantized");
    s->add_flag("--dry-run", a->dry_run, "plan and report sizes only; write nothing");
    s->add_option("--threads", a->threads, "worker threads (default: all cores)")
        ->check(lowbit::cli::threads_range());
    s->add_option("--tokenizer", a->tokenizer, "llama2.c input: tokenizer file");
    s->add_option("--imatrix", a->imatrix, "importance matrix (GGUF, from `lowbit imatrix` or llama-imatrix)");
    s->add_option("--target-bpw", a->target_bpw, "automatic mixed precision: at most this many bits per weight");
    s->add_option("--target-size", a->target_size, "automatic mixed precision: output file of at most this many bytes");
    s->add_option("--max-kld", a->max_kld, "automatic mixed precision: smallest model with estimated KLD <= this");
    s->add_option("--calib", a->calib, "calibration text for mixed-precision sensitivities");
    s->add_option("--calib-ctx", a->calib_ctx, "tokens per calibration chunk (default 128)");
    s->add_option("--calib-chunks", a->calib_chunks, "calibration chunks (default 8)");
    s->add_option("--mp-measure", a->mp_measure, "sensitivity: auto, all (every tensor x format) or anchor (one format per tensor, scaled by reconstruction error)");
    s->add_option("--mp-candidates", a->mp_candidates, "comma-separated candidate types (default q2_k,q3_k,q4_k,q5_k,q6_k,q8_0,f16)");
    s->add_option("--mp-cache", a->mp_cache, "sensitivity cache file: reused when it matches the calibration, else written");
    s->add_option("--mp-report", a->mp_report, "write the mixed-precision decisions as JSON to this file");
    s->add_option("--method", a->method,
                  "weight method: rtn (default), mse (error-minimizing group scales), gptq, awq (calibrated, llama models), hqq (lowbit INT formats)");
    s->add_option("--method-calib", a->method_calib, "calibration text for --method gptq/awq");
    s->add_option("--method-seqs", a->method_seqs, "calibration sequences for gptq/awq (default 32)");
    s->add_option("--method-ctx", a->method_len, "tokens per calibration sequence for gptq/awq (default 256)");
    s->add_option("--seed", a->seed, "seed picking the calibration windows (default 1234)");
    s->add_option("--method-cache", a->method_cache,
                  "gptq: calibration statistics file, reused across formats (non-sequential GPTQ from the F32 model's inputs)");
    s->add_flag("--act-order", a->act_order, "gptq: quantize columns in order of decreasing activation energy");
    s->add_option("--gptq-refine", a->gptq_refine,
                  "gptq, ggml block types: coordinate-descent sweeps over the codes after GPTQ (default 4, 0 = off)")
        ->check(CLI::Range(0, 100));
    s->add_flag("--no-clip", a->no_clip, "awq: skip the clipping search");
    s->add_option("--act-quant", a->act_quant,
                  "int8 activations (W8A8 with --type int8_pc): none (default), dynamic (per token) or static (calibrated per tensor)");
    s->add_option("--act-observer", a->act_observer, "static scales: minmax (default), percentile, entropy (KL) or mse");
    s->add_option("--act-percentile", a->act_percentile, "percentile observer: percentile of |x| (default 99.99)");
    s->add_option("--act-calib", a->act_calib, "calibration text for --act-quant static, --smoothquant, --act-fallback");
    s->add_option("--act-seqs", a->act_seqs, "activation calibration sequences (default 16)");
    s->add_option("--act-ctx", a->act_len, "tokens per activation calibration sequence (default 256)");
    s->add_option("--smoothquant", a->smoothquant, "SmoothQuant migration strength alpha in [0, 1] (default off)");
    s->add_option("--act-fallback", a->act_fallback,
                  "keep a matrix weight-only when its int8-activation output error (relative) exceeds this (default off)");
    s->add_flag("--json", a->json, "print the report as JSON");
    s->add_flag("-q,--quiet", a->quiet, "no progress or report");
    s->add_flag("-v,--verbose", a->verbose, "per-tensor table");
    s->callback([a] { run(*a); });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
