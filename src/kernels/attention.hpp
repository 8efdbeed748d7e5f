// Causal scaled-dot-product attention of the query heads of one GQA group (n_heads heads that share
// one KV head) against that KV head of the cache, and the SwiGLU activation. Cache layout (see
// model/kv_cache.hpp): keys and values are stored transposed, kt[d * ld_kv + j] and vt[d * ld_kv + j]
// for position j, so that the score loop and the value loop both run along positions (contiguous),
// whatever the head size.
//   q:   head h of query i at q + i * ldq + h * head_dim; query i sits at position pos0 + i and sees
//        keys j <= pos0 + i
//   out: likewise (row stride ldo);  out_{i,h} = sum_j softmax_j(scale * q_{i,h} . k_j) v_j
//   scratch: at least n_heads * (pos0 + n_q) floats
// Fused decode attention: the kernels walk the cache in chunks of positions (scores) and of head
// dimensions (values) with the heads innermost, so each chunk of K and V comes from memory once for
// the whole group and from L1/L2 for its other heads (one pass per head read the cache n_heads times).
// Per head, the arithmetic is that of one head alone: a group's output equals its heads' outputs
// computed one at a time, bit for bit, in each tier.
// __ref is the scalar oracle (std::exp); SIMD versions agree within float rounding.
#pragma once

#include <cstdint>

namespace lowbit::kernels {

using attn_f32_fn = void (*)(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q,
                             int64_t ldq, const float* kt, const float* vt, int64_t ld_kv, float scale, float* out,
                             int64_t ldo, float* scratch);

void attn_f32__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                   const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                   float* scratch);
void attn_f32__avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                    const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                    float* scratch);
attn_f32_fn attn_f32();

// SwiGLU: out[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x). out may alias g or u.
using silu_mul_f32_fn = void (*)(int64_t n, const float* g, const float* u, float* out);
void silu_mul_f32__ref(int64_t n, const float* g, const float* u, float* out);
void silu_mul_f32__avx2(int64_t n, const float* g, const float* u, float* out);
silu_mul_f32_fn silu_mul_f32();

}  // namespace lowbit::kernels
