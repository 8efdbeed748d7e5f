// `lowbit bench MODEL [-p 512] [-n 128] [-d 0] [-r 5] [-t N] [--json]`: prompt-processing and generation
// throughput as llama-bench (tokens/s, mean ± stddev over repetitions). Logic: src/eval/throughput.cpp.
#include <cstdio>

#include <fmt/format.h>

#include "command.hpp"
#include "core/parallel.hpp"
#include "eval/report.hpp"
#include "eval/throughput.hpp"
#include "lowbit/error.hpp"

namespace {

struct args {
    std::string model, tokenizer;
    int64_t n_prompt = 512, n_gen = 128, n_batch = 512, depth = 0;
    std::string kv = "f32", repack = "all";
    int reps = 5, threads = 0;
    bool json = false;
};

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* sub = app.add_subcommand("bench", "prompt-processing and generation throughput (like llama-bench)");
    sub->add_option("model", a->model, "model file")->required();
    sub->add_option("-p,--n-prompt", a->n_prompt, "prompt tokens (0: skip)")->check(CLI::Range(0, 1 << 30));
    sub->add_option("-n,--n-gen", a->n_gen, "generated tokens (0: skip)")->check(CLI::Range(0, 1 << 30));
    sub->add_option("-b,--batch", a->n_batch, "prompt batch size")->check(CLI::Range(1, 1 << 30));
    sub->add_option("-d,--n-depth", a->depth, "tokens already in the KV cache before each test (llama-bench -d)")
        ->check(CLI::Range(0, 1 << 30));
    sub->add_option("--kv-type", a->kv, "KV cache elements: f32 (exact) or f16 (llama.cpp's default)")
        ->check(CLI::IsMember({"f32", "f16"}));
    sub->add_option("-r,--repetitions", a->reps, "repetitions")->check(CLI::Range(1, 1 << 30));
    sub->add_option("-t,--threads", a->threads, "threads (default: all)")
        ->check(lowbit::cli::threads_range());
    sub->add_option("--tokenizer", a->tokenizer, "tokenizer file for llama2.c checkpoints");
    lowbit::cli::add_repack_option(sub, a->repack);
    sub->add_flag("--json", a->json, "machine-readable output");
    sub->callback([a] {
        namespace ev = lowbit::eval;
        LOWBIT_REQUIRE(a->n_prompt > 0 || a->n_gen > 0, "bench: nothing to measure (-p and -n are both 0)");
        const int threads = a->threads > 0 ? a->threads : lowbit::default_threads();
        lowbit::load_options lo;
        lo.tokenizer_path = a->tokenizer;
        lo.repack = lowbit::cli::repack_option(a->repack);
        auto model = lowbit::llama_model::load(a->model, lo);
        struct row {
            std::string test;
            ev::throughput t;
        };
        std::vector<row> rows;
        const auto kv = lowbit::parse_kv_type(a->kv);
        const std::string at_depth = a->depth > 0 ? fmt::format(" @ d{}", a->depth) : "";  // llama-bench's naming
        if (a->n_prompt > 0)
            rows.push_back({fmt::format("pp{}{}", a->n_prompt, at_depth),
                            ev::bench_prompt(model, a->n_prompt, a->reps, threads, a->n_batch, a->depth, kv)});
        if (a->n_gen > 0)
            rows.push_back({fmt::format("tg{}{}", a->n_gen, at_depth),
                            ev::bench_generation(model, a->n_gen, a->reps, threads, a->depth, kv)});
        const auto ctx = ev::current_context(threads);
        if (a->json) {
            nlohmann::json j;
            j["context"] = {{"host", ctx.host}, {"cpu", ctx.cpu}, {"threads", threads},
                            {"version", ctx.version}, {"isa", ctx.isa}, {"date", ctx.date}};
            j["model"] = {{"path", a->model}, {"bytes", model->n_bytes()}, {"params", model->n_params()},
                          {"bits_per_weight", model->bits_per_weight()}};
            nlohmann::json rs = nlohmann::json::array();
            for (const auto& r : rows)
                rs.push_back({{"test", r.test}, {"depth", a->depth}, {"kv_type", a->kv}, {"tokens_per_s", r.t.mean}, {"stddev", r.t.stddev},
                              {"samples", r.t.samples}, {"repetitions", a->reps}});
            j["results"] = rs;
            std::printf("%s\n", j.dump(2).c_str());
            return;
        }
        std::printf("| %-40s | %10s | %10s | %7s | %14s | %20s |\n", "model", "size", "params", "threads", "test", "t/s");
        std::printf("| %-40s | %10s | %10s | %7s | %14s | %20s |\n", "---", "---", "---", "---", "---", "---");
        std::string name = a->model.size() > 40 ? "..." + a->model.substr(a->model.size() - 37) : a->model;
        for (const auto& r : rows)
            std::printf("| %-40s | %7.2f MiB | %10lld | %7d | %14s | %20s |\n", name.c_str(),
                        double(model->n_bytes()) / (1024.0 * 1024.0), static_cast<long long>(model->n_params()),
                        threads, r.test.c_str(), fmt::format("{:.2f} ± {:.2f}", r.t.mean, r.t.stddev).c_str());
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
