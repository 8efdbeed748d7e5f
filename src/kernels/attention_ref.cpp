// Scalar references for attention.hpp and the run-time dispatchers.
#include <cmath>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "kernels/attention.hpp"

namespace lowbit::kernels {

namespace {

inline float as_float(float x) { return x; }
inline float as_float(uint16_t h) { return fp16_to_f32(h); }

template <class KV>
void attn_ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
              const KV* kb, const KV* vt, int64_t ld_kv, float scale, float* out, int64_t ldo, float* scratch) {
    for (int64_t i = 0; i < n_q * n_heads; ++i) {  // the oracle: one (query, head) at a time
        const int64_t h = i % n_heads;
        const float* qi = q + (i / n_heads) * ldq + h * head_dim;
        const int64_t n = pos0 + i / n_heads + 1;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
            float s = 0.0f;
            for (int64_t d = 0; d < head_dim; ++d) s += qi[d] * as_float(kb[key_index(head_dim, d, j)]);
            scratch[j] = s * scale;
            mx = std::fmax(mx, scratch[j]);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
            scratch[j] = std::exp(scratch[j] - mx);
            sum += scratch[j];
        }
        for (int64_t d = 0; d < head_dim; ++d) {
            float acc = 0.0f;
            for (int64_t j = 0; j < n; ++j) acc += scratch[j] * as_float(vt[d * ld_kv + j]);
            out[(i / n_heads) * ldo + h * head_dim + d] = acc / sum;
        }
    }
}

}  // namespace

void attn_f32__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                   const float* kb, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                   float* scratch) {
    attn_ref(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
}
void attn_f16kv__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                     const uint16_t* kb, const uint16_t* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                     float* scratch) {
    attn_ref(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
}

void silu_mul_f32__ref(int64_t n, const float* g, const float* u, float* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

attn_f32_fn attn_f32() {
    if (active_isa_tier() >= isa_tier::avx2) return attn_f32__avx2;
    if (LOWBIT_HAVE_SIMD128 && active_isa_tier() == isa_tier::generic) return attn_f32__simd128;
    return attn_f32__ref;
}

attn_f16kv_fn attn_f16kv() {
    if (active_isa_tier() >= isa_tier::avx2) return attn_f16kv__avx2;
    if (LOWBIT_HAVE_SIMD128 && active_isa_tier() == isa_tier::generic) return attn_f16kv__simd128;
    return attn_f16kv__ref;
}

silu_mul_f32_fn silu_mul_f32() {
    if (active_isa_tier() >= isa_tier::avx2) return silu_mul_f32__avx2;
    if (LOWBIT_HAVE_SIMD128 && active_isa_tier() == isa_tier::generic) return silu_mul_f32__simd128;
    return silu_mul_f32__ref;
}

}  // namespace lowbit::kernels
