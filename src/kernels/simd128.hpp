// The 128-bit vector operations of the generic tier's kernels (`*_simd128.cpp`: SSSE3 on x86, Advanced
// SIMD on aarch64). Include from those files only: the functions are `static` (internal linkage), so no
// copy compiled with -mssse3 can be picked by the linker for a portable caller (check_isa_isolation.sh).
#pragma once

#include "core/x86_kernel.hpp"

#if LOWBIT_HAVE_SIMD128

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#define LOWBIT_SIMD128_X86 1
#else
#include <arm_neon.h>
#define LOWBIT_SIMD128_X86 0
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/exp_poly.hpp"

namespace lowbit::kernels::simd128 {

static inline int32_t load_i32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

#if LOWBIT_SIMD128_X86
using vi32 = __m128i;  // 4 x int32
using vf32 = __m128;   // 4 x float
static inline vf32 f_zero() {
    return _mm_setzero_ps();
}
static inline vf32 f_set(float v) {
    return _mm_set1_ps(v);
}
static inline vf32 f_add(vf32 a, vf32 b) {
    return _mm_add_ps(a, b);
}
static inline vf32 f_sub(vf32 a, vf32 b) {
    return _mm_sub_ps(a, b);
}
static inline vf32 f_mul(vf32 a, vf32 b) {
    return _mm_mul_ps(a, b);
}
static inline vf32 f_from_i32(vi32 v) {
    return _mm_cvtepi32_ps(v);
}
static inline void f_store(float* p, vf32 v) {
    _mm_storeu_ps(p, v);
}
static inline vf32 f_load(const float* p) {
    return _mm_loadu_ps(p);
}
static inline vf32 f_div(vf32 a, vf32 b) {
    return _mm_div_ps(a, b);
}
static inline vf32 f_neg(vf32 a) {
    return _mm_xor_ps(a, _mm_set1_ps(-0.0f));
}
static inline vf32 f_set4(float a, float b, float c, float d) {
    return _mm_setr_ps(a, b, c, d);
}
// a, b, c, d rows of a 4 x 4 block -> its columns.
static inline void f_transpose4(vf32& a, vf32& b, vf32& c, vf32& d) {
    _MM_TRANSPOSE4_PS(a, b, c, d);
}
static inline vf32 f_min(vf32 a, vf32 b) {
    return _mm_min_ps(a, b);
}
static inline vf32 f_max(vf32 a, vf32 b) {
    return _mm_max_ps(a, b);
}
// a * b + c in two roundings (approximations only: this tier may have no FMA unit).
static inline vf32 f_muladd(vf32 a, vf32 b, vf32 c) {
    return _mm_add_ps(_mm_mul_ps(a, b), c);
}
// floor of |v| < 2^31 (SSE4.1's roundps, from a truncation: one less where that rounded up).
static inline vf32 f_floor(vf32 v) {
    const __m128 t = _mm_cvtepi32_ps(_mm_cvttps_epi32(v));
    return _mm_sub_ps(t, _mm_and_ps(_mm_cmpgt_ps(t, v), _mm_set1_ps(1.0f)));
}
// 2^n for integral n in [-126, 127], as the float's exponent bits.
static inline vf32 f_pow2i(vf32 n) {
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23));
}
// fma of two float lanes held as doubles, rounded to odd: the product of two floats is exact in a double
// (48 <= 53 bits); the sum s = p + c is rounded to nearest and its exact error e found by TwoSum (Knuth);
// where e != 0 and s's last bit is 0, s moves one ulp towards e. Rounding that to float (to nearest)
// gives the correctly rounded fma (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
// proved algorithms using rounding to odd", IEEE TC 2008: 53 >= 24 + 2), as glibc's own fmaf does with
// a round-towards-zero sum. A NaN error (infinite operands) leaves s as it is.
static inline __m128d fma_odd_pd(__m128d a, __m128d b, __m128d c) {
    const __m128d p = _mm_mul_pd(a, b);
    const __m128d s = _mm_add_pd(p, c);
    const __m128d bb = _mm_sub_pd(s, p);
    const __m128d e = _mm_add_pd(_mm_sub_pd(p, _mm_sub_pd(s, bb)), _mm_sub_pd(c, bb));
    const __m128i sb = _mm_castpd_si128(s);
    const __m128d zero = _mm_setzero_pd();
    const __m128i inexact = _mm_castpd_si128(_mm_or_pd(_mm_cmplt_pd(e, zero), _mm_cmpgt_pd(e, zero)));
    // last bit of s is 0: a 32-bit compare on the low halves, copied to the high ones
    const __m128i even =
        _mm_shuffle_epi32(_mm_cmpeq_epi32(_mm_and_si128(sb, _mm_set_epi32(0, 1, 0, 1)), _mm_setzero_si128()),
                          _MM_SHUFFLE(2, 2, 0, 0));
    // +1 (magnitude up) where e has s's sign, -1 where not: the sign of s ^ e, spread over the lane
    const __m128i differ = _mm_shuffle_epi32(_mm_srai_epi32(_mm_xor_si128(sb, _mm_castpd_si128(e)), 31),
                                             _MM_SHUFFLE(3, 3, 1, 1));
    const __m128i step = _mm_or_si128(differ, _mm_set_epi32(0, 1, 0, 1));
    return _mm_castsi128_pd(_mm_add_epi64(sb, _mm_and_si128(step, _mm_and_si128(inexact, even))));
}
// a * b + c rounded once per lane, as the __ref GEMMs' std::fma (a CPU of this tier may have no FMA unit):
// in doubles, rounded to odd, then to float.
static inline vf32 f_fma(vf32 a, vf32 b, vf32 c) {
    const __m128d lo = fma_odd_pd(_mm_cvtps_pd(a), _mm_cvtps_pd(b), _mm_cvtps_pd(c));
    const __m128d hi = fma_odd_pd(_mm_cvtps_pd(_mm_movehl_ps(a, a)), _mm_cvtps_pd(_mm_movehl_ps(b, b)),
                                  _mm_cvtps_pd(_mm_movehl_ps(c, c)));
    return _mm_movelh_ps(_mm_cvtpd_ps(lo), _mm_cvtpd_ps(hi));
}
static inline vi32 i_add(vi32 a, vi32 b) {
    return _mm_add_epi32(a, b);
}
static inline vi32 i_set(int32_t v) {
    return _mm_set1_epi32(v);
}
static inline vi32 i_sub(vi32 a, vi32 b) {
    return _mm_sub_epi32(a, b);
}
static inline vi32 i_shl2(vi32 a) {
    return _mm_slli_epi32(a, 2);
}
static inline void i_store(void* p, vi32 v) {
    _mm_storeu_si128(static_cast<__m128i*>(p), v);
}
static inline vf32 f_abs(vf32 v) {
    return _mm_andnot_ps(_mm_set1_ps(-0.0f), v);
}
// v rounded to the nearest int32, ties to even (cvtps2dq under the default MXCSR, as std::nearbyint);
// |v| < 2^31 (NaN gives INT_MIN).
static inline vi32 i_round(vf32 v) {
    return _mm_cvtps_epi32(v);
}
// (lo, hi) as one int16 pair per int32 lane: the low 16 bits of lo, then those of hi.
static inline vi32 i_pairs16(vi32 lo, vi32 hi) {
    return _mm_or_si128(_mm_and_si128(lo, _mm_set1_epi32(0xFFFF)), _mm_slli_epi32(hi, 16));
}
// Low 32 bits of a * b per lane (SSE4.1's pmulld, from two pmuludq: the low half of a product does not
// depend on the signs).
static inline vi32 i_mul(vi32 a, vi32 b) {
    const __m128i even = _mm_mul_epu32(a, b);
    const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), _mm_srli_epi64(b, 32));
    return _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(0, 0, 2, 0)),
                              _mm_shuffle_epi32(odd, _MM_SHUFFLE(0, 0, 2, 0)));
}
// The even int16 lanes of 8 at p (a packed block's duplicated per-row values) -> 4 int32 lanes.
static inline vi32 even_i16_to_i32(const int16_t* p) {
    return _mm_srai_epi32(_mm_slli_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), 16), 16);
}
// 8 signed bytes -> int32 lanes 0..3 (lo) and 4..7 (hi).
static inline void widen_s8x8(const int8_t* p, vi32& lo, vi32& hi) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i w = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
    lo = _mm_srai_epi32(_mm_unpacklo_epi16(w, w), 16);
    hi = _mm_srai_epi32(_mm_unpackhi_epi16(w, w), 16);
}

// 4 fp16 values in the high halves of the int32 lanes of w (lane = h << 16) -> float, exactly: the
// branch-free conversion of core/half.hpp's fp16_to_f32, lane-wise (SSE2; no F16C at this tier).
static inline vf32 fp16_hi_to_f32(__m128i w) {
    const __m128i sign = _mm_and_si128(w, _mm_set1_epi32(static_cast<int>(0x80000000u)));
    const __m128i two_w = _mm_add_epi32(w, w);
    const __m128 normalized =
        _mm_mul_ps(_mm_castsi128_ps(_mm_add_epi32(_mm_srli_epi32(two_w, 4), _mm_set1_epi32(0xE0 << 23))),
                   _mm_castsi128_ps(_mm_set1_epi32(0x7800000)));
    const __m128 denormalized =
        _mm_sub_ps(_mm_castsi128_ps(_mm_or_si128(_mm_srli_epi32(two_w, 17), _mm_set1_epi32(126 << 23))),
                   _mm_set1_ps(0.5f));
    // two_w < 2^27 (unsigned): the top 5 bits are zero
    const __m128i denorm = _mm_cmpeq_epi32(_mm_srli_epi32(two_w, 27), _mm_setzero_si128());
    const __m128i mag = _mm_or_si128(_mm_and_si128(denorm, _mm_castps_si128(denormalized)),
                                     _mm_andnot_si128(denorm, _mm_castps_si128(normalized)));
    return _mm_castsi128_ps(_mm_or_si128(sign, mag));
}
// A tile's 8 fp16 row scales -> rows 0..3, 4..7.
static inline void load_scales(const uint16_t* p, vf32& lo, vf32& hi) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    lo = fp16_hi_to_f32(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
    hi = fp16_hi_to_f32(_mm_unpackhi_epi16(_mm_setzero_si128(), h));
}

// 4 fp16 values -> float, exactly.
static inline vf32 f16x4_to_f32(const uint16_t* p) {
    return fp16_hi_to_f32(
        _mm_unpacklo_epi16(_mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// f32 row scales (tile_q4_0x8f)
static inline void load_scales(const float* p, vf32& lo, vf32& hi) {
    lo = _mm_loadu_ps(p);
    hi = _mm_loadu_ps(p + 4);
}

static inline __m128i load16(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
static inline __m128i bcast4(const int8_t* p) {
    return _mm_set1_epi32(load_i32(p));
}

// Sum of w[i] * a[i] per int32 lane over signed bytes: maddubs takes |w| unsigned and sign(w) * a
// (psignb); pairs <= 2 x 128 x 127 fit int16.
static inline __m128i dot_i8_i8(__m128i w, __m128i a) {
    return _mm_madd_epi16(_mm_maddubs_epi16(_mm_sign_epi8(w, w), _mm_sign_epi8(a, w)), _mm_set1_epi16(1));
}

// 8 groups of 4 columns x 8 rows of signed bytes (q[g][r][i]: Q8_0's tile and the GEMM's packed block)
// times the activations: rows 0..3 -> s0, 4..7 -> s1, per group psignb / maddubs (pairs <= 2 x 128 x 127).
static inline void signed_group_sums(const int8_t (*q)[8][4], const int8_t* qa, vi32& s0, vi32& s1) {
    __m128i t0 = _mm_setzero_si128(), t1 = _mm_setzero_si128();
    for (int g = 0; g < 8; ++g) {
        const __m128i a = bcast4(qa + 4 * g);
        t0 = _mm_add_epi32(t0, dot_i8_i8(load16(q[g][0]), a));
        t1 = _mm_add_epi32(t1, dot_i8_i8(load16(q[g][4]), a));
    }
    s0 = t0;
    s1 = t1;
}

#else  // Advanced SIMD
using vi32 = int32x4_t;
using vf32 = float32x4_t;
static inline vf32 f_zero() {
    return vdupq_n_f32(0.0f);
}
static inline vf32 f_set(float v) {
    return vdupq_n_f32(v);
}
static inline vf32 f_add(vf32 a, vf32 b) {
    return vaddq_f32(a, b);
}
static inline vf32 f_sub(vf32 a, vf32 b) {
    return vsubq_f32(a, b);
}
static inline vf32 f_mul(vf32 a, vf32 b) {
    return vmulq_f32(a, b);
}
static inline vf32 f_from_i32(vi32 v) {
    return vcvtq_f32_s32(v);
}
static inline void f_store(float* p, vf32 v) {
    vst1q_f32(p, v);
}
static inline vf32 f_load(const float* p) {
    return vld1q_f32(p);
}
static inline vf32 f_div(vf32 a, vf32 b) {
    return vdivq_f32(a, b);
}
static inline vf32 f_neg(vf32 a) {
    return vnegq_f32(a);
}
static inline vf32 f_set4(float a, float b, float c, float d) {
    const float v[4] = {a, b, c, d};
    return vld1q_f32(v);
}
static inline void f_transpose4(vf32& a, vf32& b, vf32& c, vf32& d) {
    const float32x4x2_t ab = vtrnq_f32(a, b), cd = vtrnq_f32(c, d);  // a0 b0 a2 b2 / a1 b1 a3 b3, ...
    a = vcombine_f32(vget_low_f32(ab.val[0]), vget_low_f32(cd.val[0]));
    b = vcombine_f32(vget_low_f32(ab.val[1]), vget_low_f32(cd.val[1]));
    c = vcombine_f32(vget_high_f32(ab.val[0]), vget_high_f32(cd.val[0]));
    d = vcombine_f32(vget_high_f32(ab.val[1]), vget_high_f32(cd.val[1]));
}
static inline vf32 f_min(vf32 a, vf32 b) {
    return vminq_f32(a, b);
}
static inline vf32 f_max(vf32 a, vf32 b) {
    return vmaxq_f32(a, b);
}
static inline vf32 f_muladd(vf32 a, vf32 b, vf32 c) {
    return vfmaq_f32(c, a, b);
}
static inline vf32 f_floor(vf32 v) {
    return vrndmq_f32(v);
}
static inline vf32 f_pow2i(vf32 n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23));
}
// a * b + c rounded once per lane (fmla), as the __ref GEMMs' std::fma.
static inline vf32 f_fma(vf32 a, vf32 b, vf32 c) {
    return vfmaq_f32(c, a, b);
}
static inline vi32 i_add(vi32 a, vi32 b) {
    return vaddq_s32(a, b);
}
static inline vi32 i_set(int32_t v) {
    return vdupq_n_s32(v);
}
static inline vi32 i_sub(vi32 a, vi32 b) {
    return vsubq_s32(a, b);
}
static inline vi32 i_shl2(vi32 a) {
    return vshlq_n_s32(a, 2);
}
static inline void i_store(void* p, vi32 v) {
    vst1q_s32(static_cast<int32_t*>(p), v);
}
static inline vf32 f_abs(vf32 v) {
    return vabsq_f32(v);
}
static inline vi32 i_round(vf32 v) {
    return vcvtnq_s32_f32(v);  // nearest, ties to even
}
static inline vi32 i_pairs16(vi32 lo, vi32 hi) {
    return vreinterpretq_s32_u32(vsliq_n_u32(vreinterpretq_u32_s32(lo), vreinterpretq_u32_s32(hi), 16));
}
static inline vi32 i_mul(vi32 a, vi32 b) {
    return vmulq_s32(a, b);
}
static inline vi32 even_i16_to_i32(const int16_t* p) {
    const int16x8_t v = vld1q_s16(p);
    return vmovl_s16(vget_low_s16(vuzp1q_s16(v, v)));
}
static inline void widen_s8x8(const int8_t* p, vi32& lo, vi32& hi) {
    const int16x8_t w = vmovl_s8(vld1_s8(p));
    lo = vmovl_s16(vget_low_s16(w));
    hi = vmovl_s16(vget_high_s16(w));
}

// fcvtl: every half is exact as a float.
static inline vf32 f16x4_to_f32(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
static inline void load_scales(const uint16_t* p, vf32& lo, vf32& hi) {
    lo = f16x4_to_f32(p);
    hi = f16x4_to_f32(p + 4);
}

static inline void load_scales(const float* p, vf32& lo, vf32& hi) {
    lo = vld1q_f32(p);
    hi = vld1q_f32(p + 4);
}

static inline uint8x16_t load16(const void* p) {
    return vld1q_u8(static_cast<const uint8_t*>(p));
}
static inline int8x16_t bcast4(const int8_t* p) {
    return vreinterpretq_s8_s32(vdupq_n_s32(load_i32(p)));
}

// Lanes of 4 rows' int16 accumulators (rows 0, 1 in p01, rows 2, 3 in p23, 4 lanes each) -> int32 row
// sums in row order.
static inline vi32 row_sums(int16x8_t p01, int16x8_t p23) {
    return vpaddq_s32(vpaddlq_s16(p01), vpaddlq_s16(p23));
}

// Row sums of 4 rows: each add takes a vector holding a dword of 4 signed bytes per row (row r in lanes
// 4r .. 4r + 3, the tiles' shape) and the 4 activation bytes broadcast, and adds each row's 4 products.
#if defined(__ARM_FEATURE_DOTPROD)
// With the dot-product extension (kernels/repack_simd128_dotprod.cpp): one sdot per add, int32 lanes.
struct row_acc {
    int32x4_t v = vdupq_n_s32(0);
    void add(int8x16_t w, int8x16_t a) { v = vdotq_s32(v, w, a); }
    vi32 sums() const { return v; }
};
using row_acc16 = row_acc;
using row_acc32 = row_acc;
#else
// Products summed per lane in int16 (the caller bounds the number of adds: lanes <= 32767), reduced to row
// sums at the end.
struct row_acc16 {
    int16x8_t lo = vdupq_n_s16(0), hi = vdupq_n_s16(0);  // rows 0, 1 / rows 2, 3
    void add(int8x16_t w, int8x16_t a) {
        lo = vmlal_s8(lo, vget_low_s8(w), vget_low_s8(a));
        hi = vmlal_high_s8(hi, w, a);
    }
    vi32 sums() const { return row_sums(lo, hi); }
};
// Products of any signed bytes (<= 128 x 128), widened pairwise into int32 at every add.
struct row_acc32 {
    int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
    void add(int8x16_t w, int8x16_t a) {
        lo = vpadalq_s16(lo, vmull_s8(vget_low_s8(w), vget_low_s8(a)));
        hi = vpadalq_s16(hi, vmull_high_s8(w, a));
    }
    vi32 sums() const { return vpaddq_s32(lo, hi); }
};
#endif

// 8 groups of 4 columns x 8 rows of signed bytes (q[g][r][i]) times the activations.
static inline void signed_group_sums(const int8_t (*q)[8][4], const int8_t* qa, vi32& s0, vi32& s1) {
    row_acc32 r0, r1;
    for (int g = 0; g < 8; ++g) {
        const int8x16_t a = bcast4(qa + 4 * g);
        r0.add(vld1q_s8(q[g][0]), a);
        r1.add(vld1q_s8(q[g][4]), a);
    }
    s0 = r0.sums();
    s1 = r1.sums();
}

#endif

// Rows 0..3 (lo) and 4..7 (hi) to y[0 .. n_rows), n_rows in 1..8.
static inline void store_rows(float* y, vf32 lo, vf32 hi, int n_rows) {
    float t[8];
    f_store(t, lo);
    f_store(t + 4, hi);
    std::memcpy(y, t, sizeof(float) * static_cast<size_t>(n_rows));
}

// exp_poly.hpp's operations on vf32: products and sums rounded apart on x86 (this tier may have no FMA
// unit), fused on aarch64.
struct exp_ops128 {
    using reg = vf32;
    static vf32 set(float f) { return f_set(f); }
    static vf32 min(vf32 a, vf32 b) { return f_min(a, b); }
    static vf32 max(vf32 a, vf32 b) { return f_max(a, b); }
    static vf32 add(vf32 a, vf32 b) { return f_add(a, b); }
    static vf32 mul(vf32 a, vf32 b) { return f_mul(a, b); }
    static vf32 muladd(vf32 a, vf32 b, vf32 c) { return f_muladd(a, b, c); }
    static vf32 nmuladd(vf32 a, vf32 b, vf32 c) { return f_muladd(f_neg(a), b, c); }
    static vf32 floor(vf32 v) { return f_floor(v); }
    static vf32 pow2i(vf32 n) { return f_pow2i(n); }
};
// e^x per lane (exp_poly.hpp; as avx2_math.hpp's exp256_ps).
static inline vf32 f_exp(vf32 x) {
    return exp_cephes<exp_ops128>(x);
}

// Software prefetch 1536 bytes ahead of the tile block being read, as the AVX2 GEMVs do.
// A kernel table's entry: the __ref kernel and this tier's version of it.
template <class Fn>
struct kernel_entry {
    Fn ref, fn;
};
// The version of ref in table, or ref itself where the table has none.
template <class Fn, size_t N>
static inline Fn find_kernel(const kernel_entry<Fn> (&table)[N], Fn ref) {
    for (const kernel_entry<Fn>& e : table)
        if (e.ref == ref) return e.fn;
    return ref;
}

template <size_t N>
static inline void prefetch_ahead(const void* block) {
    const char* p = static_cast<const char*>(block) + 1536;
    for (size_t o = 0; o < N; o += 64) __builtin_prefetch(p + o);
}

}  // namespace lowbit::kernels::simd128

#endif  // LOWBIT_HAVE_SIMD128
