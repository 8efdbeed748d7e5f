// Causal scaled-dot-product attention of one query head against one KV head of the cache, and the
// SwiGLU activation. Cache layout (see model/kv_cache.hpp): keys and values are stored transposed,
// kt[d * ld_kv + j] and vt[d * ld_kv + j] for position j, so that the score loop and the value loop
// both run along positions (contiguous), whatever the head size.
//   q:   [n_q][head_dim], row stride ldq; query i sits at position pos0 + i and sees keys j <= pos0 + i
//   out: [n_q][head_dim], row stride ldo;  out_i = sum_j softmax_j(scale * q_i . k_j) v_j
//   scratch: at least pos0 + n_q floats
// __ref is the scalar oracle (std::exp); SIMD versions agree within float rounding.
#pragma once

#include <cstdint>

namespace lowbit::kernels {

using attn_head_f32_fn = void (*)(int64_t head_dim, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                                  const float* kt, const float* vt, int64_t ld_kv, float scale, float* out,
                                  int64_t ldo, float* scratch);

void attn_head_f32__ref(int64_t head_dim, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                        const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                        float* scratch);
void attn_head_f32__avx2(int64_t head_dim, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                         const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                         float* scratch);
attn_head_f32_fn attn_head_f32();

// SwiGLU: out[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x). out may alias g or u.
using silu_mul_f32_fn = void (*)(int64_t n, const float* g, const float* u, float* out);
void silu_mul_f32__ref(int64_t n, const float* g, const float* u, float* out);
void silu_mul_f32__avx2(int64_t n, const float* g, const float* u, float* out);
silu_mul_f32_fn silu_mul_f32();

}  // namespace lowbit::kernels
