// Synthetic LLaMA-shaped models with random weights, for kernel tests and throughput benchmarks at
// realistic shapes (e.g. dim 2048 / ffn 5632 / 8 layers, the size class where generation is bound by
// memory bandwidth). Weights are Gaussian with standard deviation 1/sqrt(fan_in), so activations stay
// O(1) through every layer; norm weights are 1. Every 2-D tensor is stored in one type (a "pure"
// mixture); norms stay F32. The text the model produces is meaningless.
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/model_file.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

struct synth_options {
    int64_t n_embd = 2048, n_ff = 5632, n_layer = 8, n_head = 16, n_head_kv = 4, n_vocab = 512;
    int64_t n_ctx = 2048;  // llama.context_length
    type t = type::q4_0;   // storage type of every 2-D tensor
    uint64_t seed = 1;
    // GGUF whose `tokenizer.*` keys are copied (its vocabulary size must equal n_vocab); empty: a
    // minimal built-in SPM vocabulary (<unk> <s> </s>, 256 byte tokens, then ASCII pieces; needs
    // n_vocab >= 259).
    std::string tokenizer_from;
    int n_threads = 0;  // 0: default_threads()
};

// Builds the model in memory (tensors owned by the returned model_data). Throws lowbit::error for
// shapes the type cannot store or an unusable tokenizer source.
model_data synth_llama(const synth_options& opt);

// synth_llama + save_gguf.
void write_synth_llama(const synth_options& opt, const std::string& path);

}  // namespace lowbit
