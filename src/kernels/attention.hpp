// Causal scaled-dot-product attention of the query heads of one GQA group (n_heads heads that share
// one KV head) against that KV head of the cache, and the SwiGLU activation.
// Cache layout (see model/kv_cache.hpp), chosen so that both walks of decode attention stream memory:
//   keys, in blocks of 32 positions: element d of key j at kb[key_index(head_dim, d, j)]
//         = kb[(j / 32) * head_dim * 32 + d * 32 + j % 32]; the score loop reads one block (32 keys x
//         head_dim, contiguous) at a time. (With the keys transposed as [head_dim][n_ctx], a chunk of
//         positions touched head_dim lines a row apart, too many streams for the hardware prefetcher:
//         generation at depth 4096 ran at about two thirds of the speed.) The buffer holds whole blocks:
//         the AVX2 kernel reads the last block's 8-position groups whole and drops the positions past
//         the end (any values there, NaN included, leave the output unchanged).
//   values, transposed: element d of value j at vt[d * ld_kv + j]; the value loop reads 4 rows along
//         positions at a time (4 sequential streams).
//   q:   head h of query i at q + i * ldq + h * head_dim; query i sits at position pos0 + i and sees
//        keys j <= pos0 + i
//   out: likewise (row stride ldo);  out_{i,h} = sum_j softmax_j(scale * q_{i,h} . k_j) v_j
//   scratch: at least attn_scratch_floats(n_heads, n_q, pos0 + n_q) floats
// Fused attention: the kernels take up to k_attn_rows (query, head) pairs at once -- the whole GQA
// group, and in a prompt several queries of it -- and walk the keys block by block and the values 4
// head dimensions at a time with those pairs innermost, so each block of K and rows of V come from
// memory once for all of them and from L1/L2 for the rest (one pass per head and query read the cache
// n_heads * n_q times).
// Per head, the arithmetic is that of one head alone: a group's output equals its heads' outputs
// computed one at a time, bit for bit, in each tier.
// __ref is the scalar oracle (std::exp); SIMD versions agree within float rounding.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"

namespace lowbit::kernels {

constexpr int64_t k_key_block = 32;  // positions per block of the key cache
constexpr int64_t k_attn_rows = 16;  // (query, head) pairs a kernel call keeps in flight
inline int64_t attn_scratch_floats(int64_t n_heads, int64_t n_q, int64_t n_kv) {
    return (n_heads * n_q < k_attn_rows ? n_heads * n_q : k_attn_rows) * n_kv;
}
inline int64_t key_index(int64_t head_dim, int64_t d, int64_t j) {
    return (j / k_key_block) * head_dim * k_key_block + d * k_key_block + j % k_key_block;
}

using attn_f32_fn = void (*)(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q,
                             int64_t ldq, const float* kb, const float* vt, int64_t ld_kv, float scale, float* out,
                             int64_t ldo, float* scratch);

void attn_f32__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                   const float* kb, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                   float* scratch);
LOWBIT_X86_KERNEL void attn_f32__avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0,
                                      const float* q, int64_t ldq, const float* kb, const float* vt,
                                      int64_t ld_kv, float scale, float* out, int64_t ldo, float* scratch);
// The generic tier's (kernels/attention_simd128.cpp): attn_f32__ref bit for bit, in 128-bit vectors.
LOWBIT_SIMD128_KERNEL void attn_f32__simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0,
                                             const float* q, int64_t ldq, const float* kb, const float* vt,
                                             int64_t ld_kv, float scale, float* out, int64_t ldo,
                                             float* scratch);
attn_f32_fn attn_f32();

// The same over an F16 cache (kb, vt: fp16 bits; model/kv_cache.hpp). Each element is converted to
// float exactly, then the arithmetic is attn_f32's: the output equals attn_f32 over the converted cache.
using attn_f16kv_fn = void (*)(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q,
                               int64_t ldq, const uint16_t* kb, const uint16_t* vt, int64_t ld_kv, float scale,
                               float* out, int64_t ldo, float* scratch);
void attn_f16kv__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                     const uint16_t* kb, const uint16_t* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                     float* scratch);
LOWBIT_X86_KERNEL void attn_f16kv__avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0,
                                        const float* q, int64_t ldq, const uint16_t* kb, const uint16_t* vt,
                                        int64_t ld_kv, float scale, float* out, int64_t ldo, float* scratch);
// The generic tier's: attn_f16kv__ref bit for bit.
LOWBIT_SIMD128_KERNEL void attn_f16kv__simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0,
                                               const float* q, int64_t ldq, const uint16_t* kb,
                                               const uint16_t* vt, int64_t ld_kv, float scale, float* out,
                                               int64_t ldo, float* scratch);
attn_f16kv_fn attn_f16kv();

// SwiGLU: out[i] = silu(g[i]) * u[i], silu(x) = x / (1 + e^-x). out may alias g or u.
using silu_mul_f32_fn = void (*)(int64_t n, const float* g, const float* u, float* out);
void silu_mul_f32__ref(int64_t n, const float* g, const float* u, float* out);
LOWBIT_X86_KERNEL void silu_mul_f32__avx2(int64_t n, const float* g, const float* u, float* out);
// The generic tier's (kernels/attention_simd128.cpp; simd128.hpp's f_exp).
LOWBIT_SIMD128_KERNEL void silu_mul_f32__simd128(int64_t n, const float* g, const float* u, float* out);
silu_mul_f32_fn silu_mul_f32();

}  // namespace lowbit::kernels
