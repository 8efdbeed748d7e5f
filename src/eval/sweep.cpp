#include "eval/sweep.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/parallel.hpp"
#include "eval/html_report.hpp"
#include "eval/throughput.hpp"
#include "lowbit/error.hpp"
#include "model/llama.hpp"
#include "quant/weight_methods.hpp"

namespace lowbit::eval {

run_report evaluate_model(const eval_request& req) {
    LOWBIT_REQUIRE(req.model != nullptr, "evaluate_model: no model");
    LOWBIT_REQUIRE(!req.text_paths.empty(), "{}: no text files to evaluate", req.model_path);
    for (const auto& c : req.gate)
        LOWBIT_REQUIRE(!gate_needs_reference(c) || req.reference != nullptr,
                       "gate: '{}' needs a reference model", c.text);
    ppl_options o = req.options;
    if (o.n_threads <= 0) o.n_threads = default_threads();
    // Read every text first: a missing or empty file fails before any model work.
    std::vector<std::string> texts;
    for (const auto& f : req.text_paths) texts.push_back(read_text_file(f));
    evaluator e(req.model, req.reference, o);

    run_report r;
    r.context = current_context(o.n_threads);
    r.model_path = req.model_path;
    r.reference_path = req.reference ? req.reference_path : "";
    r.protocol = protocol_name(o.proto);
    r.n_ctx = e.n_ctx();
    r.model_bytes = req.model->n_bytes();
    r.model_params = req.model->n_params();
    r.bits_per_weight = req.model->bits_per_weight();
    double secs = 0;
    int64_t evaluated = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        const auto s = e.score_text(texts[i], req.text_paths[i]);
        r.files.push_back(summarize(req.text_paths[i], s));
        secs += s.seconds;
        evaluated += s.n_evaluated;
    }
    r.prompt_tokens_per_s = secs > 0 ? double(evaluated) / secs : 0;
    if (req.gen > 0) {
        const int64_t n_ctx_train = req.model->config().n_ctx_train;
        const int64_t n_gen = n_ctx_train > 0 ? std::min(req.gen, n_ctx_train) : req.gen;
        r.gen_tokens = n_gen;
        r.gen_tokens_per_s = bench_generation(req.model, n_gen, 1, o.n_threads).mean;
    }
    r.peak_rss = peak_rss_bytes();
    if (!req.gate.empty()) {
        r.gated = true;
        r.gate_failures = check_gate(req.gate, r.files);
    }
    return r;
}

std::string source_commit() {
    if (const char* c = std::getenv("LOWBIT_COMMIT"); c && *c) return c;
    FILE* p = popen("git rev-parse HEAD 2>/dev/null", "r");
    if (!p) return "";
    char buf[128] = {};
    std::string s;
    if (std::fgets(buf, sizeof(buf), p)) s = buf;
    pclose(p);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.size() != 40 || s.find_first_not_of("0123456789abcdef") != std::string::npos) return "";
    return s;
}

std::vector<std::string> supported_methods() { return {"rtn", "mse", "hqq", "gptq", "awq"}; }

namespace {

void check_method(const std::string& m) {
    const auto ms = supported_methods();
    if (std::find(ms.begin(), ms.end(), m) != ms.end()) return;
    fail("unknown method '{}' (expected rtn, mse, gptq, awq or hqq)", m);
}

std::string file_stem_for(const std::string& type, const std::string& method) {
    std::string s = type + "-" + method;
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    return s;
}

}  // namespace

sweep_result run_sweep(const sweep_options& opt) {
    LOWBIT_REQUIRE(!opt.types.empty(), "sweep: --types is empty");
    LOWBIT_REQUIRE(!opt.methods.empty(), "sweep: --methods is empty");
    LOWBIT_REQUIRE(!opt.texts.empty(), "sweep: no text files (--text)");
    LOWBIT_REQUIRE(!opt.out_dir.empty(), "sweep: no output folder (-o)");
    for (const auto& m : opt.methods) {
        check_method(m);
        LOWBIT_REQUIRE(!(m == "gptq" || m == "awq") || !opt.calib_text.empty(),
                       "sweep: method '{}' needs a calibration text (--calib FILE)", m);
    }
    for (const auto& t : opt.types) (void)find_preset(t);  // fail on a bad name before any work
    for (const auto& f : opt.texts) (void)read_text_file(f);
    std::error_code ec;
    std::filesystem::create_directories(opt.out_dir, ec);
    LOWBIT_REQUIRE(!ec, "{}: cannot create output folder: {}", opt.out_dir, ec.message());

    const int threads = opt.threads > 0 ? opt.threads : default_threads();
    auto progress = [&](const std::string& s) {
        if (opt.on_progress) opt.on_progress(s);
    };
    load_options lo;
    lo.tokenizer_path = opt.tokenizer;
    const std::string ref_path = opt.reference.empty() ? opt.model : opt.reference;

    sweep_result r;
    r.context = current_context(threads);
    r.commit = source_commit();
    r.model = opt.model;
    r.reference = ref_path;
    progress("loading " + ref_path);
    auto ref = llama_model::load(ref_path, lo);
    r.reference_bytes = ref->n_bytes();
    r.reference_bpw = ref->bits_per_weight();

    ppl_options eo = opt.eval;
    eo.n_threads = threads;
    {
        progress("evaluating the reference");
        eval_request q;
        q.model = ref;
        q.model_path = ref_path;
        q.text_paths = opt.texts;
        q.options = eo;
        q.gen = opt.gen;
        r.reference_eval = evaluate_model(q);
    }
    if (eo.n_ctx <= 0) eo.n_ctx = r.reference_eval.n_ctx;  // every point at the reference's context
    const model_data input = load_model(opt.model, lo);
    for (const auto& method : opt.methods) {
        for (const auto& type : opt.types) {
            sweep_point p;
            p.type = type;
            p.method = method;
            p.model_file = (std::filesystem::path(opt.out_dir) / (file_stem_for(type, method) + ".gguf")).string();
            progress("quantizing " + type + " (" + method + ")");
            quantize_options qo;
            qo.preset = type;
            qo.fallback = opt.fallback;
            qo.threads = threads;
            if (method == "mse") qo.method = quant_method::mse;
            if (method == "gptq" || method == "awq" || method == "hqq") {
                weight_method_options wm;
                wm.method = method;
                wm.calib.text_path = opt.calib_text;
                wm.calib.threads = wm.gptq.threads = wm.awq.threads = wm.hqq.threads = threads;
                p.quantize = quantize_model_with_method(input, p.model_file, qo, wm);
            } else {
                p.quantize = quantize_model(input, p.model_file, qo);
            }
            progress("evaluating " + type + " (" + method + ")");
            eval_request q;
            q.model = llama_model::load(p.model_file, lo);
            q.reference = ref;
            q.model_path = p.model_file;
            q.reference_path = ref_path;
            q.text_paths = opt.texts;
            q.options = eo;
            // The quantized file may declare a shorter context than the reference (llama.cpp's
            // converter): the sweep scores every point at the same n_ctx.
            q.options.allow_long_context = true;
            q.gen = opt.gen;
            p.eval = evaluate_model(q);
            if (!opt.keep_models) std::filesystem::remove(p.model_file, ec);
            r.points.push_back(std::move(p));
        }
    }
    return r;
}

nlohmann::json sweep_json(const sweep_result& r) {
    nlohmann::json j;
    j["context"] = {{"host", r.context.host},       {"cpu", r.context.cpu},         {"threads", r.context.n_threads},
                    {"version", r.context.version}, {"isa", r.context.isa},         {"date", r.context.date},
                    {"commit", r.commit}};
    j["model"] = r.model;
    j["reference"] = {{"path", r.reference}, {"bytes", r.reference_bytes}, {"bits_per_weight", r.reference_bpw}};
    j["reference_eval"] = to_json(r.reference_eval);
    j["reference_eval"].erase("context");
    auto& pts = j["points"] = nlohmann::json::array();
    for (const auto& p : r.points) {
        nlohmann::json e = to_json(p.eval);
        e.erase("context");
        pts.push_back({{"type", p.type},
                       {"method", p.method},
                       {"file", std::filesystem::path(p.model_file).filename().string()},
                       {"quantize", nlohmann::json::parse(quantize_report_json(p.quantize))},
                       {"eval", std::move(e)}});
    }
    return j;
}

void write_sweep_report(const sweep_result& r, const std::string& out_dir) {
    const nlohmann::json j = sweep_json(r);
    auto write = [](const std::filesystem::path& path, const std::string& s) {
        const auto tmp = path.string() + ".tmp";
        {
            std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
            LOWBIT_REQUIRE(f.good(), "{}: cannot write", tmp);
            f << s;
            LOWBIT_REQUIRE(f.good(), "{}: write failed", tmp);
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        LOWBIT_REQUIRE(!ec, "{}: cannot rename: {}", tmp, ec.message());
    };
    write(std::filesystem::path(out_dir) / "report.json", j.dump(2) + "\n");
    write(std::filesystem::path(out_dir) / "report.html", render_html_report(j));
}

}  // namespace lowbit::eval
