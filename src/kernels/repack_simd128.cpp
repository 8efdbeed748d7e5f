// The `generic` tier's tile GEMVs: 128-bit SIMD, SSSE3 on x86 (this file is compiled with -mssse3 there
// and reached only through the runtime dispatch), Advanced SIMD (NEON) on aarch64, where every CPU has
// it. One tile block (8 rows) is two 4-row halves, each a 128-bit vector of int32 row sums, then of
// float accumulators. Integer sums are exact and the float operations per row are those of the __ref
// GEMVs (repack.cpp: float(sum) * (d_w * d_a), added in block order), so the results are bit-identical
// (Repack.TiledGemvEqualsPerRowRefDotBitExact runs every tier). The file is compiled with
// -ffp-contract=off (CMakeLists.txt), so no multiply is fused into the add that follows it.
//
// Not Highway (libhwy, Debian 12: 1.0.3): it has no lane-preserving int8 dot product (u8 x s8 pairs,
// SumOfMulQuadAccumulate came in 1.2), and its ReorderWidenMulAccumulate leaves the lane order to the
// target, where these tiles need lane = row.
#include "core/x86_kernel.hpp"

#if LOWBIT_HAVE_SIMD128

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
#define LOWBIT_SIMD128_X86 1
#else
#include <arm_neon.h>
#define LOWBIT_SIMD128_X86 0
#endif

#include <cstdint>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "kernels/repack.hpp"

namespace lowbit::kernels {
namespace {

inline int32_t load_i32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---- the few vector operations the GEMVs use, per architecture ------------------------------------
#if LOWBIT_SIMD128_X86
using vi32 = __m128i;  // 4 x int32
using vf32 = __m128;   // 4 x float
inline vf32 f_zero() {
    return _mm_setzero_ps();
}
inline vf32 f_set(float v) {
    return _mm_set1_ps(v);
}
inline vf32 f_add(vf32 a, vf32 b) {
    return _mm_add_ps(a, b);
}
inline vf32 f_mul(vf32 a, vf32 b) {
    return _mm_mul_ps(a, b);
}
inline vf32 f_from_i32(vi32 v) {
    return _mm_cvtepi32_ps(v);
}
inline void f_store(float* p, vf32 v) {
    _mm_storeu_ps(p, v);
}
inline vi32 i_add(vi32 a, vi32 b) {
    return _mm_add_epi32(a, b);
}
inline vi32 i_set(int32_t v) {
    return _mm_set1_epi32(v);
}

// 4 fp16 values in the high halves of the int32 lanes of w (lane = h << 16) -> float, exactly: the
// branch-free conversion of core/half.hpp's fp16_to_f32, lane-wise (SSE2; no F16C at this tier).
inline vf32 fp16_hi_to_f32(__m128i w) {
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
inline void load_scales(const uint16_t* p, vf32& lo, vf32& hi) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    lo = fp16_hi_to_f32(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
    hi = fp16_hi_to_f32(_mm_unpackhi_epi16(_mm_setzero_si128(), h));
}

inline __m128i load16(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
inline __m128i bcast4(const int8_t* p) {
    return _mm_set1_epi32(load_i32(p));
}

// Q4_0's tile: the 32 unsigned nibbles of each row times the activations, as Q4_0's AVX2 GEMV does it
// (maddubs pairs summed in int16, <= 8 x 2 x 15 x 127, then widened); rows 0..3 -> s0, 4..7 -> s1.
inline void nibble_sums(const tile_q4_0x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m128i t0 = _mm_setzero_si128(), t1 = _mm_setzero_si128();
    for (int c = 0; c < 4; ++c) {
        const __m128i al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        const __m128i w0 = load16(x.qs[c][0]), w1 = load16(x.qs[c][4]);
        t0 =
            _mm_add_epi16(t0, _mm_add_epi16(_mm_maddubs_epi16(_mm_and_si128(w0, m4), al),
                                            _mm_maddubs_epi16(_mm_and_si128(_mm_srli_epi16(w0, 4), m4), ah)));
        t1 =
            _mm_add_epi16(t1, _mm_add_epi16(_mm_maddubs_epi16(_mm_and_si128(w1, m4), al),
                                            _mm_maddubs_epi16(_mm_and_si128(_mm_srli_epi16(w1, 4), m4), ah)));
    }
    const __m128i ones = _mm_set1_epi16(1);
    s0 = _mm_madd_epi16(t0, ones);
    s1 = _mm_madd_epi16(t1, ones);
}

// Sum of w[i] * a[i] per int32 lane over signed bytes: maddubs takes |w| unsigned and sign(w) * a
// (psignb); pairs <= 2 x 128 x 127 fit int16.
inline __m128i dot_i8_i8(__m128i w, __m128i a) {
    return _mm_madd_epi16(_mm_maddubs_epi16(_mm_sign_epi8(w, w), _mm_sign_epi8(a, w)), _mm_set1_epi16(1));
}

// Q8_0's tile: 8 groups of 4 columns, each 8 rows x 4 signed bytes.
inline void q8_sums(const tile_q8_0x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    __m128i t0 = _mm_setzero_si128(), t1 = _mm_setzero_si128();
    for (int g = 0; g < 8; ++g) {
        const __m128i a = bcast4(qa + 4 * g);
        t0 = _mm_add_epi32(t0, dot_i8_i8(load16(x.qs[g][0]), a));
        t1 = _mm_add_epi32(t1, dot_i8_i8(load16(x.qs[g][4]), a));
    }
    s0 = t0;
    s1 = t1;
}

#else  // Advanced SIMD
using vi32 = int32x4_t;
using vf32 = float32x4_t;
inline vf32 f_zero() {
    return vdupq_n_f32(0.0f);
}
inline vf32 f_set(float v) {
    return vdupq_n_f32(v);
}
inline vf32 f_add(vf32 a, vf32 b) {
    return vaddq_f32(a, b);
}
inline vf32 f_mul(vf32 a, vf32 b) {
    return vmulq_f32(a, b);
}
inline vf32 f_from_i32(vi32 v) {
    return vcvtq_f32_s32(v);
}
inline void f_store(float* p, vf32 v) {
    vst1q_f32(p, v);
}
inline vi32 i_add(vi32 a, vi32 b) {
    return vaddq_s32(a, b);
}
inline vi32 i_set(int32_t v) {
    return vdupq_n_s32(v);
}

// fcvtl: every half is exact as a float.
inline void load_scales(const uint16_t* p, vf32& lo, vf32& hi) {
    lo = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
    hi = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p + 4)));
}

inline int8x16_t bcast4(const int8_t* p) {
    return vreinterpretq_s8_s32(vdupq_n_s32(load_i32(p)));
}

// Lanes of 4 rows' int16 accumulators (rows 0, 1 in p01, rows 2, 3 in p23, 4 lanes each) -> int32 row
// sums in row order.
inline vi32 row_sums(int16x8_t p01, int16x8_t p23) {
    return vpaddq_s32(vpaddlq_s16(p01), vpaddlq_s16(p23));
}

// Q4_0's tile: products of the unsigned nibbles (as signed bytes 0..15) and the activations, each
// product lane summed in int16 (<= 8 x 15 x 127), widened and added per row at the end.
inline void nibble_sums(const tile_q4_0x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    int16x8_t p01 = vdupq_n_s16(0), p23 = p01, p45 = p01, p67 = p01;
    for (int c = 0; c < 4; ++c) {
        const int8x16_t al = bcast4(qa + 4 * c), ah = bcast4(qa + 16 + 4 * c);
        const uint8x16_t w0 = vld1q_u8(x.qs[c][0]), w1 = vld1q_u8(x.qs[c][4]);
        const int8x16_t l0 = vreinterpretq_s8_u8(vandq_u8(w0, m4)),
                        h0 = vreinterpretq_s8_u8(vshrq_n_u8(w0, 4));
        const int8x16_t l1 = vreinterpretq_s8_u8(vandq_u8(w1, m4)),
                        h1 = vreinterpretq_s8_u8(vshrq_n_u8(w1, 4));
        p01 = vmlal_s8(vmlal_s8(p01, vget_low_s8(l0), vget_low_s8(al)), vget_low_s8(h0), vget_low_s8(ah));
        p23 = vmlal_high_s8(vmlal_high_s8(p23, l0, al), h0, ah);
        p45 = vmlal_s8(vmlal_s8(p45, vget_low_s8(l1), vget_low_s8(al)), vget_low_s8(h1), vget_low_s8(ah));
        p67 = vmlal_high_s8(vmlal_high_s8(p67, l1, al), h1, ah);
    }
    s0 = row_sums(p01, p23);
    s1 = row_sums(p45, p67);
}

// Q8_0's tile: signed products (<= 128 x 127, int16), pairwise widened into int32 per group.
inline void q8_sums(const tile_q8_0x8& x, const int8_t* qa, vi32& s0, vi32& s1) {
    int32x4_t p01 = vdupq_n_s32(0), p23 = p01, p45 = p01, p67 = p01;
    for (int g = 0; g < 8; ++g) {
        const int8x16_t a = bcast4(qa + 4 * g);
        const int8x16_t w0 = vld1q_s8(x.qs[g][0]), w1 = vld1q_s8(x.qs[g][4]);
        p01 = vpadalq_s16(p01, vmull_s8(vget_low_s8(w0), vget_low_s8(a)));
        p23 = vpadalq_s16(p23, vmull_high_s8(w0, a));
        p45 = vpadalq_s16(p45, vmull_s8(vget_low_s8(w1), vget_low_s8(a)));
        p67 = vpadalq_s16(p67, vmull_high_s8(w1, a));
    }
    s0 = vpaddq_s32(p01, p23);
    s1 = vpaddq_s32(p45, p67);
}
#endif

// Software prefetch 1536 bytes ahead of the tile block being read, as the AVX2 GEMVs do.
template <size_t N>
inline void prefetch_ahead(const void* block) {
    const char* p = static_cast<const char*>(block) + 1536;
    for (size_t o = 0; o < N; o += 64) __builtin_prefetch(p + o);
}

// Q8_0 activations: acc += float(sums [+ side[b]]) * (d_w[r] * d_a), the side value being Q4_0's
// -8 x (activation sum) (repack_act_sides).
template <class Tile, void (*Sums)(const Tile&, const int8_t*, vi32&, vi32&), bool Side>
void gemv_q8_0_act(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const block_q8_0*>(a);
    vf32 acc0 = f_zero(), acc1 = f_zero();
    for (int64_t b = 0; b < nb; ++b) {
        prefetch_ahead<sizeof(Tile)>(x + b);
        vi32 s0, s1;
        Sums(x[b], q[b].qs, s0, s1);
        if constexpr (Side) {
            s0 = i_add(s0, i_set(side[b]));
            s1 = i_add(s1, i_set(side[b]));
        }
        vf32 d0, d1;
        load_scales(x[b].d, d0, d1);
        const vf32 da = f_set(fp16_to_f32(q[b].d));
        acc0 = f_add(acc0, f_mul(f_from_i32(s0), f_mul(d0, da)));
        acc1 = f_add(acc1, f_mul(f_from_i32(s1), f_mul(d1, da)));
    }
    float t[8];
    f_store(t, acc0);
    f_store(t + 4, acc1);
    std::memcpy(y, t, sizeof(float) * static_cast<size_t>(n_rows));
}

}  // namespace

void gemv_q4_0x8_q8_0__simd128(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y,
                               int n_rows) {
    gemv_q8_0_act<tile_q4_0x8, nibble_sums, true>(nb, tiles, a, side, y, n_rows);
}
void gemv_q8_0x8_q8_0__simd128(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y,
                               int n_rows) {
    gemv_q8_0_act<tile_q8_0x8, q8_sums, false>(nb, tiles, a, side, y, n_rows);
}

}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
