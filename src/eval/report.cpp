#include "eval/report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "core/cpu.hpp"
#include "eval/kld.hpp"

#ifndef LOWBIT_VERSION
#define LOWBIT_VERSION "unknown"
#endif

namespace lowbit::eval {

file_report summarize(const std::string& path, const token_scores& s) {
    file_report f;
    f.path = path;
    f.n_text_tokens = s.n_text_tokens;
    f.n_units = s.n_units;
    f.n_scored = static_cast<int64_t>(s.nll.size());
    f.n_evaluated = s.n_evaluated;
    f.seconds = s.seconds;
    f.tokens_per_s = s.seconds > 0 ? double(s.n_evaluated) / s.seconds : 0;
    const mean_se nll = mean_and_se(s.nll);
    f.mean_nll = nll.mean;
    f.ppl = std::exp(nll.mean);
    f.ppl_se = f.ppl * nll.se;
    if (s.kld.empty()) return f;
    f.has_reference = true;
    const mean_se nref = mean_and_se(s.nll_ref);
    f.ref_ppl = std::exp(nref.mean);
    f.ref_ppl_se = f.ref_ppl * nref.se;
    f.ppl_ratio = f.ref_ppl > 0 ? f.ppl / f.ref_ppl : 0;
    const mean_se k = mean_and_se(s.kld, 10);
    f.kld_mean = k.mean;
    f.kld_se = k.se;
    std::vector<double> sorted = s.kld;
    std::sort(sorted.begin(), sorted.end());
    f.kld_median = percentile_sorted(sorted, 0.5);
    f.kld_p99 = percentile_sorted(sorted, 0.99);
    f.kld_max = sorted.back();
    double same = 0;
    for (uint8_t t : s.same_top) same += t;
    const double n = double(s.same_top.size());
    f.top1 = same / n;
    f.top1_se = n > 1 ? std::sqrt(f.top1 * (1 - f.top1) / (n - 1)) : 0;
    const mean_se dp = mean_and_se(s.p_diff, 10);
    f.dp_mean = dp.mean;
    f.dp_se = dp.se;
    double ss = 0;
    for (double v : s.p_diff) {
        ss += v * v;
        f.dp_max_abs = std::max(f.dp_max_abs, std::fabs(v));
    }
    f.dp_rms = std::sqrt(ss / n);
    sorted = s.p_diff;
    std::sort(sorted.begin(), sorted.end());
    f.dp_p1 = percentile_sorted(sorted, 0.01);
    f.dp_median = percentile_sorted(sorted, 0.5);
    f.dp_p99 = percentile_sorted(sorted, 0.99);
    return f;
}

run_context current_context(int n_threads) {
    run_context c;
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) c.host = host;
    std::ifstream ci("/proc/cpuinfo");
    std::string line;
    while (std::getline(ci, line))
        if (line.rfind("model name", 0) == 0) {
            const auto p = line.find(':');
            if (p != std::string::npos) c.cpu = line.substr(line.find_first_not_of(" \t", p + 1));
            break;
        }
    c.version = LOWBIT_VERSION;
    c.isa = isa_tier_name(active_isa_tier());
    if (active_isa_tier() == isa_tier::generic && dotprod_active()) c.isa += "+dotprod";  // its sdot build
    c.n_threads = n_threads;
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::tm tm{};
    localtime_r(&t, &tm);
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
    c.date = buf;
    return c;
}

uint64_t peak_rss_bytes() {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

nlohmann::json to_json(const run_report& r) {
    nlohmann::json j;
    j["context"] = {{"host", r.context.host},       {"cpu", r.context.cpu},   {"threads", r.context.n_threads},
                    {"version", r.context.version}, {"isa", r.context.isa},   {"date", r.context.date}};
    j["model"] = {{"path", r.model_path},
                  {"bytes", r.model_bytes},
                  {"params", r.model_params},
                  {"bits_per_weight", r.bits_per_weight}};
    if (!r.reference_path.empty()) j["reference"] = r.reference_path;
    j["protocol"] = r.protocol;
    j["n_ctx"] = r.n_ctx;
    j["prompt_tokens_per_s"] = r.prompt_tokens_per_s;
    j["gen_tokens_per_s"] = r.gen_tokens_per_s;
    j["gen_tokens"] = r.gen_tokens;
    j["peak_rss_bytes"] = r.peak_rss;
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : r.files) {
        nlohmann::json o = {{"path", f.path},          {"text_tokens", f.n_text_tokens}, {"units", f.n_units},
                            {"scored_tokens", f.n_scored}, {"evaluated_tokens", f.n_evaluated},
                            {"seconds", f.seconds},    {"tokens_per_s", f.tokens_per_s},
                            {"ppl", f.ppl},            {"ppl_se", f.ppl_se},             {"mean_nll", f.mean_nll}};
        if (f.has_reference) {
            o["ref_ppl"] = f.ref_ppl;
            o["ref_ppl_se"] = f.ref_ppl_se;
            o["ppl_ratio"] = f.ppl_ratio;
            o["kld"] = {{"mean", f.kld_mean}, {"se", f.kld_se}, {"median", f.kld_median},
                        {"p99", f.kld_p99},   {"max", f.kld_max}};
            o["top1"] = {{"mean", f.top1}, {"se", f.top1_se}};
            o["delta_p"] = {{"mean", f.dp_mean}, {"se", f.dp_se},         {"rms", f.dp_rms},
                            {"p1", f.dp_p1},     {"median", f.dp_median}, {"p99", f.dp_p99},
                            {"max_abs", f.dp_max_abs}};
        }
        files.push_back(std::move(o));
    }
    j["files"] = std::move(files);
    if (r.gated) {
        j["gate"] = {{"passed", r.gate_failures.empty()}, {"failures", r.gate_failures}};
    }
    return j;
}

std::string to_table(const run_report& r) {
    std::string s;
    s += fmt::format("model      {}  ({:.2f} MiB, {} params, {:.3f} bits/weight)\n", r.model_path,
                     double(r.model_bytes) / (1024.0 * 1024.0), r.model_params, r.bits_per_weight);
    if (!r.reference_path.empty()) s += fmt::format("reference  {}\n", r.reference_path);
    s += fmt::format("protocol   {}, context {}, {} threads, {} kernels, {} ({})\n", r.protocol, r.n_ctx,
                     r.context.n_threads, r.context.isa, r.context.cpu, r.context.host);
    s += "\n";
    const bool ref = !r.files.empty() && r.files.front().has_reference;
    s += fmt::format("{:<40} {:>8} {:>19}", "file", "tokens", "PPL");
    if (ref) s += fmt::format(" {:>9} {:>21} {:>9} {:>9} {:>16} {:>8}", "PPL ratio", "KLD mean", "KLD med",
                              "KLD p99", "top-1", "RMS dp");
    s += fmt::format(" {:>9}\n", "tok/s");
    for (const auto& f : r.files) {
        std::string name = f.path.size() > 40 ? "..." + f.path.substr(f.path.size() - 37) : f.path;
        s += fmt::format("{:<40} {:>8} {:>9.4f} ± {:<7.4f}", name, f.n_scored, f.ppl, f.ppl_se);
        if (f.has_reference)
            s += fmt::format(" {:>9.5f} {:>10.6f} ± {:<8.6f} {:>9.6f} {:>9.6f} {:>7.3f}% ± {:<5.3f} {:>7.3f}%",
                             f.ppl_ratio, f.kld_mean, f.kld_se, f.kld_median, f.kld_p99, 100 * f.top1,
                             100 * f.top1_se, 100 * f.dp_rms);
        s += fmt::format(" {:>9.0f}\n", f.tokens_per_s);
    }
    s += "\n";
    s += fmt::format("prompt processing {:.0f} tokens/s", r.prompt_tokens_per_s);
    if (r.gen_tokens > 0) s += fmt::format(", generation {:.1f} tokens/s ({} tokens)", r.gen_tokens_per_s, r.gen_tokens);
    s += fmt::format(", peak RSS {:.1f} MiB\n", double(r.peak_rss) / (1024.0 * 1024.0));
    if (r.gated) {
        if (r.gate_failures.empty())
            s += "gate: passed\n";
        else
            for (const auto& g : r.gate_failures) s += "gate: FAILED " + g + "\n";
    }
    return s;
}

}  // namespace lowbit::eval
