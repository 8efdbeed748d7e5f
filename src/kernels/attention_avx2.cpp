// AVX2 + FMA versions of attention.hpp. Scores: 32 positions at a time in 4 registers, one broadcast
// of scale*q[d] and 4 FMAs per head dimension. Softmax: vector max, exp256_ps, sum. Values: 4 head
// dimensions at a time, dot products of the probabilities with 4 rows of vt, reduced together.
// Positions past the end use masked loads (never touching memory beyond the last key).
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "kernels/attention.hpp"
#include "kernels/avx2_math.hpp"

namespace lowbit::kernels {

using avx2::exp256_ps;
using avx2::hmax;
using avx2::hsum;
using avx2::hsum4;
using avx2::tail_mask;

void attn_head_f32__avx2(int64_t head_dim, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                         const float* kt, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                         float* scratch) {
    for (int64_t i = 0; i < n_q; ++i) {
        const float* qi = q + i * ldq;
        const int64_t n = pos0 + i + 1;
        // scores
        int64_t j = 0;
        for (; j + 32 <= n; j += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t d = 0; d < head_dim; ++d) {
                const __m256 qd = _mm256_set1_ps(qi[d]);
                const float* k = kt + d * ld_kv + j;
                a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k), a0);
                a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k + 8), a1);
                a2 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k + 16), a2);
                a3 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k + 24), a3);
            }
            const __m256 sc = _mm256_set1_ps(scale);
            _mm256_storeu_ps(scratch + j, _mm256_mul_ps(a0, sc));
            _mm256_storeu_ps(scratch + j + 8, _mm256_mul_ps(a1, sc));
            _mm256_storeu_ps(scratch + j + 16, _mm256_mul_ps(a2, sc));
            _mm256_storeu_ps(scratch + j + 24, _mm256_mul_ps(a3, sc));
        }
        for (; j < n; j += 8) {
            const __m256i m = tail_mask(n - j < 8 ? n - j : 8);
            __m256 a = _mm256_setzero_ps();
            for (int64_t d = 0; d < head_dim; ++d)
                a = _mm256_fmadd_ps(_mm256_set1_ps(qi[d]), _mm256_maskload_ps(kt + d * ld_kv + j, m), a);
            _mm256_maskstore_ps(scratch + j, m, _mm256_mul_ps(a, _mm256_set1_ps(scale)));
        }
        // softmax numerators
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        j = 0;
        for (; j + 8 <= n; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(scratch + j));
        float mx = hmax(vmax);
        for (int64_t jj = j; jj < n; ++jj) mx = std::fmax(mx, scratch[jj]);
        const __m256 vmx = _mm256_set1_ps(mx);
        __m256 vsum = _mm256_setzero_ps();
        j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 p = exp256_ps(_mm256_sub_ps(_mm256_loadu_ps(scratch + j), vmx));
            _mm256_storeu_ps(scratch + j, p);
            vsum = _mm256_add_ps(vsum, p);
        }
        if (j < n) {
            const __m256i m = tail_mask(n - j);
            const __m256 p = _mm256_and_ps(exp256_ps(_mm256_sub_ps(_mm256_maskload_ps(scratch + j, m), vmx)),
                                           _mm256_castsi256_ps(m));
            _mm256_maskstore_ps(scratch + j, m, p);
            vsum = _mm256_add_ps(vsum, p);
        }
        const float inv = 1.0f / hsum(vsum);
        // weighted values
        const int64_t n8 = n & ~int64_t(7);
        const __m256i mt = tail_mask(n - n8);
        float* oi = out + i * ldo;
        int64_t d = 0;
        for (; d + 4 <= head_dim; d += 4) {
            const float* v0 = vt + d * ld_kv;
            const float* v1 = v0 + ld_kv;
            const float* v2 = v1 + ld_kv;
            const float* v3 = v2 + ld_kv;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (j = 0; j < n8; j += 8) {
                const __m256 p = _mm256_loadu_ps(scratch + j);
                a0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v0 + j), a0);
                a1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v1 + j), a1);
                a2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v2 + j), a2);
                a3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(v3 + j), a3);
            }
            if (n8 < n) {
                const __m256 p = _mm256_maskload_ps(scratch + n8, mt);
                a0 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v0 + n8, mt), a0);
                a1 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v1 + n8, mt), a1);
                a2 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v2 + n8, mt), a2);
                a3 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v3 + n8, mt), a3);
            }
            _mm_storeu_ps(oi + d, _mm_mul_ps(hsum4(a0, a1, a2, a3), _mm_set1_ps(inv)));
        }
        for (; d < head_dim; ++d) {
            const float* v0 = vt + d * ld_kv;
            __m256 a0 = _mm256_setzero_ps();
            for (j = 0; j < n8; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(scratch + j), _mm256_loadu_ps(v0 + j), a0);
            if (n8 < n)
                a0 = _mm256_fmadd_ps(_mm256_maskload_ps(scratch + n8, mt), _mm256_maskload_ps(v0 + n8, mt), a0);
            oi[d] = hsum(a0) * inv;
        }
    }
}

void silu_mul_f32__avx2(int64_t n, const float* g, const float* u, float* out) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = exp256_ps(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        const __m256 gv = _mm256_maskload_ps(g + i, m);
        const __m256 e = exp256_ps(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        _mm256_maskstore_ps(out + i, m,
                            _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_maskload_ps(u + i, m)));
    }
}

}  // namespace lowbit::kernels
#endif
