// A small llama-shaped synthetic model for the model tests (model/synth.hpp): dim 256, ffn 512,
// 2 layers, 4 heads / 2 KV heads, vocab 300, context 64, weights of type t from `seed`.
#pragma once

#include <cstdint>

#include "lowbit/types.hpp"
#include "model/synth.hpp"

namespace lowbit::test {

inline synth_options tiny_synth(type t, uint64_t seed) {
    synth_options o;
    o.n_embd = 256;
    o.n_ff = 512;
    o.n_layer = 2;
    o.n_head = 4;
    o.n_head_kv = 2;
    o.n_vocab = 300;
    o.n_ctx = 64;
    o.t = t;
    o.seed = seed;
    o.n_threads = 2;
    return o;
}

}  // namespace lowbit::test
