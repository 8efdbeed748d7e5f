// AVX2 + FMA versions of attention.hpp. Scores: 32 positions at a time in 4 registers, one broadcast
// of q[d] and 4 FMAs per head dimension. Softmax: vector max, exp256_ps, sum. Values: 4 head
// dimensions at a time, dot products of the probabilities with 4 rows of vt, reduced together. The
// heads of a GQA group are the innermost loop of both walks (see attention.hpp).
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

namespace {

// 8 cache elements as floats: F32 as stored, F16 converted exactly (F16C).
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// The first `count` (1..8) elements, zeros above; nothing past them is read.
inline __m256 load_first(const float* p, int64_t count) { return _mm256_maskload_ps(p, tail_mask(count)); }
inline __m256 load_first(const uint16_t* p, int64_t count) {
    // count / 2 whole 32-bit pairs by a masked load, an odd last element put in its lane
    alignas(16) static const uint16_t k_lane[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xffff, 0, 0, 0, 0, 0, 0, 0};
    __m128i h = _mm_maskload_epi32(reinterpret_cast<const int*>(p), _mm256_castsi256_si128(tail_mask(count / 2)));
    if (count & 1) {
        const __m128i lane = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k_lane + 9 - count));
        h = _mm_or_si128(h, _mm_and_si128(_mm_set1_epi16(static_cast<short>(p[count - 1])), lane));
    }
    return _mm256_cvtph_ps(h);
}

// The scores of NR rows (query, head pairs: query qr[r], scratch row s[r], n[r] keys) for the first
// 8 * G positions of the key block at j (a multiple of 32): NR * G accumulators, so the rows' FMA
// chains overlap; each block row of keys is loaded once for all NR rows. Lane by lane the arithmetic
// is one row's alone (acc = fma(q[d], k_d, acc) for d = 0, 1, ...; times scale), however rows are
// grouped. Keys are read as whole blocks (the cache holds whole blocks of 32 positions: positions past
// the end are computed and dropped); only positions below n[r] are stored.
template <int G, int NR, class KV>
inline void scores_rows(int64_t head_dim, const float* const* qr, const KV* kb, int64_t j, float scale,
                        float* const* s, const int64_t* n) {
    __m256 a[NR][G];
    for (int r = 0; r < NR; ++r)
        for (int g = 0; g < G; ++g) a[r][g] = _mm256_setzero_ps();
    const KV* k = kb + key_index(head_dim, 0, j);  // block row d at k + d * 32
    for (int64_t d = 0; d < head_dim; ++d, k += k_key_block) {
        __m256 kv[G];
        for (int g = 0; g < G; ++g) kv[g] = load8(k + 8 * g);
        for (int r = 0; r < NR; ++r) {
            const __m256 qd = _mm256_set1_ps(qr[r][d]);
            for (int g = 0; g < G; ++g) a[r][g] = _mm256_fmadd_ps(qd, kv[g], a[r][g]);
        }
    }
    const __m256 sc = _mm256_set1_ps(scale);
    for (int r = 0; r < NR; ++r)
        for (int g = 0; g < G; ++g) {
            const int64_t at = j + 8 * g, count = n[r] - at;
            if (count >= 8)
                _mm256_storeu_ps(s[r] + at, _mm256_mul_ps(a[r][g], sc));
            else if (count > 0)
                _mm256_maskstore_ps(s[r] + at, tail_mask(count), _mm256_mul_ps(a[r][g], sc));
        }
}

// The scores of rows [0, rows) for the first 8 * G positions of the block at j: rows in fours (G <= 2)
// or pairs (G >= 3), at most 8 accumulators.
template <int G, class KV>
inline void scores_block(int64_t head_dim, int64_t rows, const float* const* qr, const KV* kb, int64_t j,
                         float scale, float* const* s, const int64_t* n) {
    constexpr int NR = G >= 3 ? 2 : 4;
    int64_t r = 0;
    for (; r + NR <= rows; r += NR) scores_rows<G, NR>(head_dim, qr + r, kb, j, scale, s + r, n + r);
    for (; r < rows; ++r) scores_rows<G, 1>(head_dim, qr + r, kb, j, scale, s + r, n + r);
}

// s[0..n) -> exp(s - max) in place; returns 1 / sum.
inline float softmax_numerators(float* s, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + j));
    float mx = hmax(vmax);
    for (int64_t jj = j; jj < n; ++jj) mx = std::fmax(mx, s[jj]);
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 p = exp256_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
        _mm256_storeu_ps(s + j, p);
        vsum = _mm256_add_ps(vsum, p);
    }
    if (j < n) {
        const __m256i m = tail_mask(n - j);
        const __m256 p =
            _mm256_and_ps(exp256_ps(_mm256_sub_ps(_mm256_maskload_ps(s + j, m), vmx)), _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(s + j, m, p);
        vsum = _mm256_add_ps(vsum, p);
    }
    return 1.0f / hsum(vsum);
}

// For NR rows with the same end j1 (probabilities p[r], accumulators acc[r]): acc[r][0..4) (8 lanes
// each) += p[r][j] * v_k[j] over the 4 value rows v_k = v0 + k * ld_kv, positions [j0, j1), starting from
// zero when `first`. j0 is a multiple of 8; j1 is one too, or the end of the row (its last 8 masked).
// Each value row is loaded once for the NR rows. Lane l of acc[r] sums the positions j = l mod 8 in
// increasing order, however [0, n) is cut into calls and rows into groups.
template <int NR, class KV>
inline void values4_rows(const float* const* p, const KV* v0, int64_t ld_kv, int64_t j0, int64_t j1, bool first,
                         float* const* acc) {
    const KV* v[4] = {v0, v0 + ld_kv, v0 + 2 * ld_kv, v0 + 3 * ld_kv};
    __m256 a[NR][4];
    for (int r = 0; r < NR; ++r)
        for (int k = 0; k < 4; ++k) a[r][k] = first ? _mm256_setzero_ps() : _mm256_load_ps(acc[r] + 8 * k);
    int64_t j = j0;
    for (; j + 8 <= j1; j += 8) {
        __m256 vv[4];
        for (int k = 0; k < 4; ++k) vv[k] = load8(v[k] + j);
        for (int r = 0; r < NR; ++r) {
            const __m256 pj = _mm256_loadu_ps(p[r] + j);
            for (int k = 0; k < 4; ++k) a[r][k] = _mm256_fmadd_ps(pj, vv[k], a[r][k]);
        }
    }
    if (j < j1) {
        __m256 vv[4];
        for (int k = 0; k < 4; ++k) vv[k] = load_first(v[k] + j, j1 - j);
        for (int r = 0; r < NR; ++r) {
            const __m256 pj = _mm256_maskload_ps(p[r] + j, tail_mask(j1 - j));
            for (int k = 0; k < 4; ++k) a[r][k] = _mm256_fmadd_ps(pj, vv[k], a[r][k]);
        }
    }
    for (int r = 0; r < NR; ++r)
        for (int k = 0; k < 4; ++k) _mm256_store_ps(acc[r] + 8 * k, a[r][k]);
}

template <class KV>
inline float values1(const float* p, const KV* v0, int64_t n, float inv) {
    const int64_t n8 = n & ~int64_t(7);
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t j = 0; j < n8; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + j), load8(v0 + j), a0);
    if (n8 < n)
        a0 = _mm256_fmadd_ps(_mm256_maskload_ps(p + n8, tail_mask(n - n8)), load_first(v0 + n8, n - n8), a0);
    return hsum(a0) * inv;
}

template <class KV>
void attn_avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
               const KV* kb, const KV* vt, int64_t ld_kv, float scale, float* out, int64_t ldo, float* scratch) {
    const int64_t ls = pos0 + n_q;  // scratch row of one (query, head)
    constexpr int64_t R = k_attn_rows;
    constexpr int64_t k_value_chunk = 256;  // positions: 4 value rows of them take 4 KiB (F32)
    float inv[R];
    alignas(32) float vacc[R][32];
    const float* qr[R];
    float* orow[R];
    float* srow[R];
    float* arow[R];
    int64_t nr[R];
    // Rows: (query, head) pairs, up to R at once: all heads of a few queries, or R heads of one.
    const int64_t hc = n_heads < R ? n_heads : R;
    const int64_t qc = R / hc;
    for (int64_t i0 = 0; i0 < n_q; i0 += qc) {
        const int64_t i1 = i0 + qc < n_q ? i0 + qc : n_q;
        for (int64_t h0 = 0; h0 < n_heads; h0 += hc) {
            const int64_t nh = n_heads - h0 < hc ? n_heads - h0 : hc;
            int64_t rows = 0;
            for (int64_t i = i0; i < i1; ++i)
                for (int64_t h = h0; h < h0 + nh; ++h, ++rows) {
                    qr[rows] = q + i * ldq + h * head_dim;
                    orow[rows] = out + i * ldo + h * head_dim;
                    srow[rows] = scratch + rows * ls;
                    arow[rows] = vacc[rows];
                    nr[rows] = pos0 + i + 1;
                }
            const int64_t n_max = pos0 + i1;
            // scores: one block of K for every row before the next block
            for (int64_t j = 0; j < n_max; j += k_key_block) {
                const int64_t left = n_max - j;
                if (left > 24)
                    scores_block<4>(head_dim, rows, qr, kb, j, scale, srow, nr);
                else if (left > 16)
                    scores_block<3>(head_dim, rows, qr, kb, j, scale, srow, nr);
                else if (left > 8)
                    scores_block<2>(head_dim, rows, qr, kb, j, scale, srow, nr);
                else
                    scores_block<1>(head_dim, rows, qr, kb, j, scale, srow, nr);
            }
            for (int64_t r = 0; r < rows; ++r) inv[r] = softmax_numerators(scratch + r * ls, nr[r]);
            // weighted values: 4 rows of V at a time, cut into chunks of positions small enough for L1,
            // each chunk used by every (query, head) row before the next is read
            int64_t d = 0;
            for (; d + 4 <= head_dim; d += 4) {
                for (int64_t j0 = 0; j0 < n_max; j0 += k_value_chunk)
                    for (int64_t r = 0; r < rows;) {
                        const int64_t j1 = j0 + k_value_chunk < nr[r] ? j0 + k_value_chunk : nr[r];
                        if (j0 >= j1) {
                            ++r;
                        } else if (r + 1 < rows && nr[r + 1] == nr[r]) {
                            values4_rows<2>(srow + r, vt + d * ld_kv, ld_kv, j0, j1, j0 == 0, arow + r);
                            r += 2;
                        } else {
                            values4_rows<1>(srow + r, vt + d * ld_kv, ld_kv, j0, j1, j0 == 0, arow + r);
                            ++r;
                        }
                    }
                for (int64_t r = 0; r < rows; ++r)
                    _mm_storeu_ps(orow[r] + d, _mm_mul_ps(hsum4(_mm256_load_ps(vacc[r]), _mm256_load_ps(vacc[r] + 8),
                                                                _mm256_load_ps(vacc[r] + 16),
                                                                _mm256_load_ps(vacc[r] + 24)),
                                                          _mm_set1_ps(inv[r])));
            }
            for (; d < head_dim; ++d)
                for (int64_t r = 0; r < rows; ++r) orow[r][d] = values1(scratch + r * ls, vt + d * ld_kv, nr[r], inv[r]);
        }
    }
}

}  // namespace

void attn_f32__avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                    const float* kb, const float* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                    float* scratch) {
    attn_avx2(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
}
void attn_f16kv__avx2(int64_t head_dim, int64_t n_heads, int64_t n_q, int64_t pos0, const float* q, int64_t ldq,
                      const uint16_t* kb, const uint16_t* vt, int64_t ld_kv, float scale, float* out, int64_t ldo,
                      float* scratch) {
    attn_avx2(head_dim, n_heads, n_q, pos0, q, ldq, kb, vt, ld_kv, scale, out, ldo, scratch);
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
