// Scalar references for attention.hpp and the run-time dispatchers.
#include <cmath>

#include "core/cpu.hpp"
#include "kernels/attention.hpp"

namespace lowbit::kernels {

void attn_f32__ref(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                   const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                   float* scratch) {
    for (int64_t i = 0; i < n_q * n_heads; ++i) {  // the oracle: one (query, head) at a time
        const int64_t h = i % n_heads;
        const float* qi = q + (i / n_heads) * ldq + h * head_dim;
        const int64_t n = pos0 + i / n_heads + 1;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
            float s = 0.0f;
            for (int64_t d = 0; d < head_dim; ++d) s += qi[d] * kt[d * ld_kv + j];
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
            for (int64_t j = 0; j < n; ++j) acc += scratch[j] * vt[d * ld_kv + j];
            out[(i / n_heads) * ldo + h * head_dim + d] = acc / sum;
        }
    }
}

void silu_mul_f32__ref(int64_t n, const float* g, const float* u, float* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

attn_f32_fn attn_f32() {
#if defined(__x86_64__) || defined(_M_X64)
    if (active_isa_tier() >= isa_tier::avx2) return attn_f32__avx2;
#endif
    return attn_f32__ref;
}

silu_mul_f32_fn silu_mul_f32() {
#if defined(__x86_64__) || defined(_M_X64)
    if (active_isa_tier() >= isa_tier::avx2) return silu_mul_f32__avx2;
#endif
    return silu_mul_f32__ref;
}

}  // namespace lowbit::kernels
