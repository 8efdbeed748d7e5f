// The `generic` tier's decode attention over an F32 or F16 cache: attn_f32__ref's (attn_f16kv__ref's)
// arithmetic, vectorized where
// that keeps every float operation in place (kernels/simd128.hpp: SSSE3 on x86, Advanced SIMD on
// aarch64), so the output equals the reference bit for bit (Attention.GenericEqualsReferenceBitExact):
//   - scores: a key block (32 positions x head_dim, element d of key j at d * 32 + j % 32) gives 8
//     vectors of 4 positions; each score still sums q[d] k[d] over d in order from 0, then times scale;
//   - max, exp and their sum: scalar, as the reference (O(positions));
//   - values (transposed, vt[d][j]): 4 dimensions at a time, 4 x 4 blocks of positions transposed so that
//     each dimension's accumulator still adds p[j] v[j] in position order; then / sum;
//   - up to k_attn_rows (query, head) pairs per pass (since session 19): each key block serves every row
//     from L1, and each transposed block of values up to 4 rows;
//   - an F16 cache: each element converted to float exactly (4 at a time, f16x4_to_f32) where it is read.
// Also SwiGLU (silu_mul_f32__simd128): simd128.hpp's f_exp, within float rounding of the reference.
#include "kernels/simd128.hpp"

#if LOWBIT_HAVE_SIMD128

#include <algorithm>
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

// Row r's value accumulators for dimensions d .. d + 3 over positions [j, j_end) (j, j_end multiples of
// 4) for the rows of one chunk at once: each 4 x 4 block of positions is loaded and transposed once and
// added to every row's accumulator, each row in position order.
template <int R, class KV>
inline void add_values(const KV* r0, int64_t ld_kv, int64_t j, int64_t j_end, const float* const* p,
                       vf32* acc) {
    const KV *r1 = r0 + ld_kv, *r2 = r1 + ld_kv, *r3 = r2 + ld_kv;
    for (; j < j_end; j += 4) {
        vf32 c0 = load4(r0 + j), c1 = load4(r1 + j), c2 = load4(r2 + j), c3 = load4(r3 + j);
        f_transpose4(c0, c1, c2, c3);  // c0 = (v[d][j], v[d+1][j], v[d+2][j], v[d+3][j]), ...
        for (int r = 0; r < R; ++r) {
            acc[r] = f_add(acc[r], f_mul(f_set(p[r][j]), c0));
            acc[r] = f_add(acc[r], f_mul(f_set(p[r][j + 1]), c1));
            acc[r] = f_add(acc[r], f_mul(f_set(p[r][j + 2]), c2));
            acc[r] = f_add(acc[r], f_mul(f_set(p[r][j + 3]), c3));
        }
    }
}

// Up to k_attn_rows (query, head) pairs per pass, as the AVX2 kernel walks them (attention.hpp: the key
// blocks and value rows are read from memory once for the pass, from L1 / L2 for the other rows); every
// row's own arithmetic is attn_ref's in its order.
template <class KV>
void attn_simd128(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                  const KV* kb, const KV* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                  float* scratch) {
    constexpr int64_t B = k_key_block, V = B / 4;
    const int64_t n_all = n_q * n_heads, stride = pos0 + n_q;  // a row's scores at scratch + r * stride
    for (int64_t i0 = 0; i0 < n_all; i0 += k_attn_rows) {
        const int64_t rows = std::min(k_attn_rows, n_all - i0);
        const auto n_of = [&](int64_t r) { return pos0 + (i0 + r) / n_heads + 1; };  // positions row r sees
        const auto q_of = [&](int64_t r) {
            return q + ((i0 + r) / n_heads) * ldq + ((i0 + r) % n_heads) * head_dim;
        };
        // scores, block by block, the block in L1 for the rows after the first
        for (int64_t j0 = 0; j0 < n_of(rows - 1); j0 += B) {
            const KV* kblk = kb + key_index(head_dim, 0, j0);
            for (int64_t r = 0; r < rows; ++r) {
                const int64_t n = n_of(r);
                if (j0 >= n) continue;
                const float* qi = q_of(r);
                vf32 s[V];
                for (auto& v : s) v = f_zero();
                for (int64_t d = 0; d < head_dim; ++d) {
                    const vf32 qd = f_set(qi[d]);
                    for (int v = 0; v < V; ++v) s[v] = f_add(s[v], f_mul(qd, load4(kblk + d * B + 4 * v)));
                }
                float t[B];
                for (int v = 0; v < V; ++v) f_store(t + 4 * v, f_mul(s[v], f_set(scale)));
                float* sr = scratch + r * stride;
                for (int64_t j = j0; j < n && j < j0 + B; ++j) sr[j] = t[j - j0];
            }
        }
        float sum[k_attn_rows];
        for (int64_t r = 0; r < rows; ++r) {
            float* sr = scratch + r * stride;
            const int64_t n = n_of(r);
            float mx = -INFINITY;
            for (int64_t j = 0; j < n; ++j) mx = std::fmax(mx, sr[j]);
            sum[r] = 0.0f;
            for (int64_t j = 0; j < n; ++j) {
                sr[j] = std::exp(sr[j] - mx);
                sum[r] += sr[j];
            }
        }
        // values: 4 dimensions at a time, rows in groups of 4 sharing each transposed block of positions
        // up to the group's shortest row (a multiple of 4), then each row's own quads and scalar tail
        int64_t d = 0;
        for (; d + 4 <= head_dim; d += 4) {
            const KV* r0 = vt + d * ld_kv;
            for (int64_t g0 = 0; g0 < rows; g0 += 4) {
                const int64_t m = std::min<int64_t>(4, rows - g0);
                const float* p[4];
                vf32 acc[4];
                for (int64_t r = 0; r < m; ++r) {
                    p[r] = scratch + (g0 + r) * stride;
                    acc[r] = f_zero();
                }
                const int64_t shared = n_of(g0) / 4 * 4;  // rows are in query order: g0 sees the fewest
                switch (m) {
                    case 4:
                        add_values<4>(r0, ld_kv, 0, shared, p, acc);
                        break;
                    case 3:
                        add_values<3>(r0, ld_kv, 0, shared, p, acc);
                        break;
                    case 2:
                        add_values<2>(r0, ld_kv, 0, shared, p, acc);
                        break;
                    default:
                        add_values<1>(r0, ld_kv, 0, shared, p, acc);
                        break;
                }
                for (int64_t r = 0; r < m; ++r) {
                    const int64_t n = n_of(g0 + r);
                    add_values<1>(r0, ld_kv, shared, n / 4 * 4, &p[r], &acc[r]);
                    for (int64_t j = n / 4 * 4; j < n; ++j)
                        acc[r] = f_add(
                            acc[r], f_mul(f_set(p[r][j]),
                                          f_set4(as_float(r0[j]), as_float(r0[ld_kv + j]),
                                                 as_float(r0[2 * ld_kv + j]), as_float(r0[3 * ld_kv + j]))));
                    const int64_t i = i0 + g0 + r;
                    f_store(out + (i / n_heads) * ldo + (i % n_heads) * head_dim + d,
                            f_div(acc[r], f_set(sum[g0 + r])));
                }
            }
        }
        for (; d < head_dim; ++d)
            for (int64_t r = 0; r < rows; ++r) {
                const float* pr = scratch + r * stride;
                float acc = 0.0f;
                for (int64_t j = 0; j < n_of(r); ++j) acc += pr[j] * as_float(vt[d * ld_kv + j]);
                const int64_t i = i0 + r;
                out[(i / n_heads) * ldo + (i % n_heads) * head_dim + d] = acc / sum[r];
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
