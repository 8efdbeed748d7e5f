// Summaries of scored tokens (perplexity ± standard error, KL divergence, top-1 agreement, Δp), and
// the reports the CLI prints: a table for people and JSON for machines, with a context block (host,
// CPU, threads, version) as Google Benchmark's --benchmark_format=json.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "eval/perplexity.hpp"

namespace lowbit::eval {

struct file_report {
    std::string path;
    int64_t n_text_tokens = 0, n_units = 0, n_scored = 0, n_evaluated = 0;
    double seconds = 0, tokens_per_s = 0;  // model passes over this file (prompt processing)
    double ppl = 0, ppl_se = 0, mean_nll = 0;
    bool has_reference = false;
    double ref_ppl = 0, ref_ppl_se = 0, ppl_ratio = 0;  // ppl / ref_ppl
    double kld_mean = 0, kld_se = 0, kld_median = 0, kld_p99 = 0, kld_max = 0;
    double top1 = 0, top1_se = 0;                        // fraction of tokens with the same argmax
    double dp_mean = 0, dp_se = 0, dp_rms = 0, dp_p1 = 0, dp_median = 0, dp_p99 = 0, dp_max_abs = 0;
};

// Statistics as llama.cpp's perplexity tool: PPL = exp(mean nll), ± = PPL * se(nll); KLD ± se (se is 0
// for 10 tokens or fewer); top-1 ± sqrt(p (1 - p) / (n - 1)).
file_report summarize(const std::string& path, const token_scores& s);

struct run_context {
    std::string host, cpu, version, isa;
    int n_threads = 0;
    std::string date;  // ISO 8601, local time
};
run_context current_context(int n_threads);

// Peak resident set size of this process, bytes (0 if unknown).
uint64_t peak_rss_bytes();

struct run_report {
    run_context context;
    std::string model_path, reference_path;
    std::string protocol;
    int64_t n_ctx = 0;
    uint64_t model_bytes = 0;     // stored tensor bytes
    int64_t model_params = 0;
    double bits_per_weight = 0;
    double prompt_tokens_per_s = 0;  // all files' model passes
    double gen_tokens_per_s = 0;     // 0 when not measured
    int64_t gen_tokens = 0;
    uint64_t peak_rss = 0;
    std::vector<file_report> files;
    std::vector<std::string> gate_failures;  // filled by the gate, empty = pass
    bool gated = false;
};

nlohmann::json to_json(const run_report& r);
std::string to_table(const run_report& r);

}  // namespace lowbit::eval
