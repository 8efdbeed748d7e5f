// Throughput measurements as llama-bench: prompt processing (a batch of n_prompt tokens from an empty
// cache) and generation (n_gen single-token steps), each repeated, reported as tokens/s mean ± stddev.
// One untimed warm-up run precedes the timed ones. With depth > 0 (llama-bench -d) the KV cache first
// holds `depth` tokens of context (filled once, untimed); each run starts from there, so the figures
// include attention over a long context.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/llama.hpp"

namespace lowbit::eval {

struct throughput {
    double mean = 0, stddev = 0;  // tokens/s over repetitions (sample stddev)
    std::vector<double> samples;  // tokens/s of each repetition
};

throughput bench_prompt(std::shared_ptr<const llama_model> model, int64_t n_prompt, int reps, int n_threads,
                        int64_t n_batch = 512, int64_t depth = 0, kv_type kv = kv_type::f32);
throughput bench_generation(std::shared_ptr<const llama_model> model, int64_t n_gen, int reps, int n_threads,
                            int64_t depth = 0, kv_type kv = kv_type::f32);

}  // namespace lowbit::eval
