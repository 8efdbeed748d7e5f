// `lowbit sweep`: quantize one model to a grid of (type, method) points, evaluate each against the
// full-precision reference on the same texts, and collect everything into one report (report.json
// for machines, report.html for people: eval/html_report.hpp).
//
// Also the one library entry point that evaluates a model file on text files into a run_report (what
// `lowbit eval` prints), shared by sweeps and recipes.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eval/gate.hpp"
#include "eval/perplexity.hpp"
#include "eval/report.hpp"
#include "lowbit/quantize.hpp"

namespace lowbit::eval {

struct eval_request {
    std::shared_ptr<const llama_model> model, reference;  // reference may be null
    std::string model_path, reference_path;
    std::vector<std::string> text_paths;
    ppl_options options;
    int64_t gen = 0;                         // tokens for the generation speed figure, 0 = skip
    std::vector<gate_condition> gate;        // empty = not gated
};
// Scores every text, measures speed and memory and applies the gate (failures in the report).
run_report evaluate_model(const eval_request& req);

// The source commit ($LOWBIT_COMMIT, else `git rev-parse HEAD` in the current folder), or "".
std::string source_commit();

struct sweep_options {
    std::string model, reference, tokenizer;  // reference empty: the model itself
    std::vector<std::string> types;            // presets or type names
    std::vector<std::string> methods = {"rtn"};
    std::vector<std::string> texts;
    std::string calib_text;  // calibration text file for gptq / awq
    std::string out_dir;
    ppl_options eval;
    int64_t gen = 0;
    int threads = 0;
    fallback_mode fallback = fallback_mode::ggml;
    bool keep_models = true;  // keep DIR/<type>-<method>.gguf
    std::function<void(const std::string& what)> on_progress;
};

struct sweep_point {
    std::string type, method, model_file;
    quantize_report quantize;
    run_report eval;
};

struct sweep_result {
    run_context context;
    std::string commit, model, reference;
    uint64_t reference_bytes = 0;
    double reference_bpw = 0;
    run_report reference_eval;  // the reference against itself: PPL baseline, speed
    std::vector<sweep_point> points;
};

// Methods lowbit can apply today (others are rejected with "not supported yet").
std::vector<std::string> supported_methods();

// Runs the grid. Writes the quantized models to out_dir; report files are written by the caller
// (write_sweep_report).
sweep_result run_sweep(const sweep_options& opt);

// report.json: {"context": {...}, "model", "reference", "points": [{type, method, file,
// quantize: {...per-tensor...}, eval: {...}}], "reference_eval": {...}}.
nlohmann::json sweep_json(const sweep_result& r);

// Writes DIR/report.json and DIR/report.html.
void write_sweep_report(const sweep_result& r, const std::string& out_dir);

}  // namespace lowbit::eval
