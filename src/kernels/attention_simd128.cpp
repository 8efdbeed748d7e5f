// The `generic` tier's decode attention over an F32 or F16 cache: attn_f32__ref's (attn_f16kv__ref's)
// arithmetic, vectorized where
// that keeps every float operation in place (kernels/simd128.hpp: SSSE3 on x86, Advanced SIMD on
// aarch64), so the output equals the reference bit for bit (Attention.GenericEqualsReferenceBitExact):
//   - scores: a key block (32 positions x head_dim, element d of key j at d * 32 + j % 32) gives 8
//     vectors of 4 positions; each score still sums q[d] k[d] over d in order from 0, then times scale;
//   - max, exp and their sum: scalar, as the reference (O(positions));
//   - values (transposed, vt[d][j]): 4 dimensions at a time, 4 x 4 blocks of positions transposed so that
//     each dimension's accumulator still adds p[j] v[j] in position order; then / sum;
//   - an F16 cache: each element converted to float exactly (4 at a time, f16x4_to_f32) where it is read.
// Also SwiGLU (silu_mul_f32__simd128): simd128.hpp's f_exp, within float rounding of the reference.
#include "kernels/simd128.hpp"

#if LOWBIT_HAVE_SIMD128

#include <cmath>

#include "core/half.hpp"
#include "kernels/attention.hpp"

namespace lowbit::kernels {
using namespace simd128;
namespace {

inline vf32 load4(const float* p) {
    return f_load(p);
}
inline vf32 load4(const uint16_t* p) {
    return f16x4_to_f32(p);
}
inline float as_float(float x) {
    return x;
}
inline float as_float(uint16_t h) {
    return fp16_to_f32(h);
}

template <class KV>
void attn_simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                  const KV* kb, const KV* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                  float* scratch) {
    constexpr int64_t B = k_key_block, V = B / 4;
    for (int64_t i = 0; i < n_q * n_heads; ++i) {
        const int64_t h = i % n_heads;
        const float* qi = q + (i / n_heads) * ldq + h * head_dim;
        const int64_t n = pos0 + i / n_heads + 1;
        for (int64_t j0 = 0; j0 < n; j0 += B) {
            const KV* kblk = kb + key_index(head_dim, 0, j0);
            vf32 s[V];
            for (auto& v : s) v = f_zero();
            for (int64_t d = 0; d < head_dim; ++d) {
                const vf32 qd = f_set(qi[d]);
                for (int v = 0; v < V; ++v) s[v] = f_add(s[v], f_mul(qd, load4(kblk + d * B + 4 * v)));
            }
            float t[B];
            for (int v = 0; v < V; ++v) f_store(t + 4 * v, f_mul(s[v], f_set(scale)));
            for (int64_t j = j0; j < n && j < j0 + B; ++j) scratch[j] = t[j - j0];
        }
        float mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) mx = std::fmax(mx, scratch[j]);
        float sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
            scratch[j] = std::exp(scratch[j] - mx);
            sum += scratch[j];
        }
        float* o = out + (i / n_heads) * ldo + h * head_dim;
        int64_t d = 0;
        for (; d + 4 <= head_dim; d += 4) {
            const KV* r0 = vt + d * ld_kv;
            const KV *r1 = r0 + ld_kv, *r2 = r1 + ld_kv, *r3 = r2 + ld_kv;
            vf32 acc = f_zero();
            int64_t j = 0;
            for (; j + 4 <= n; j += 4) {
                vf32 c0 = load4(r0 + j), c1 = load4(r1 + j), c2 = load4(r2 + j), c3 = load4(r3 + j);
                f_transpose4(c0, c1, c2, c3);  // c0 = (v[d][j], v[d+1][j], v[d+2][j], v[d+3][j]), ...
                acc = f_add(acc, f_mul(f_set(scratch[j]), c0));
                acc = f_add(acc, f_mul(f_set(scratch[j + 1]), c1));
                acc = f_add(acc, f_mul(f_set(scratch[j + 2]), c2));
                acc = f_add(acc, f_mul(f_set(scratch[j + 3]), c3));
            }
            for (; j < n; ++j)
                acc = f_add(acc, f_mul(f_set(scratch[j]), f_set4(as_float(r0[j]), as_float(r1[j]),
                                                                 as_float(r2[j]), as_float(r3[j]))));
            f_store(o + d, f_div(acc, f_set(sum)));
        }
        for (; d < head_dim; ++d) {
            float acc = 0.0f;
            for (int64_t j = 0; j < n; ++j) acc += scratch[j] * as_float(vt[d * ld_kv + j]);
            o[d] = acc / sum;
        }
    }
}

}  // namespace

void attn_f32__simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q,
                       int64_t ldq, const float* kb, const float* vt, int64_t ld_kv, float scale, float* out,
                       int64_t ldo, float* scratch) {
    attn_simd128(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
}
void attn_f16kv__simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q,
                         int64_t ldq, const uint16_t* kb, const uint16_t* vt, int64_t ld_kv, float scale,
                         float* out, int64_t ldo, float* scratch) {
    attn_simd128(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
}

void silu_mul_f32__simd128(int64_t n, const float* g, const float* u, float* out) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const vf32 gv = f_load(g + i);
        f_store(out + i, f_mul(f_div(gv, f_add(f_set(1.0f), f_exp(f_neg(gv)))), f_load(u + i)));
    }
    for (; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
