// context_options for tests, without designated initializers (which warn about every member left out).
#pragma once

#include "model/llama.hpp"

namespace lowbit {

inline context_options test_context_options(int64_t n_ctx, int64_t n_batch, int n_threads,
                                            kv_type kv = kv_type::f32) {
    context_options o;
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    o.n_threads = n_threads;
    o.kv = kv;
    return o;
}

}  // namespace lowbit
