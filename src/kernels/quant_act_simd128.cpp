// The generic tier's activation quantizers (kernels/simd128.hpp: SSSE3 on x86, Advanced SIMD on
// aarch64), byte-exact with quant_act.cpp's __ref versions: max|x| is exact in any order (NaNs skipped,
// as std::fmax does), the scales come from the same scalar expressions, and the rounding is to nearest
// even with NaN and values outside int32 giving -128 (trunc_to_int_x86 + clamp): cvtps2dq + saturating
// packs on x86; fcvtns with those lanes set to INT_MIN, then saturating narrows, on aarch64.
#include "kernels/simd128.hpp"

#if LOWBIT_HAVE_SIMD128

#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/quant_act.hpp"

namespace lowbit::kernels {
using namespace simd128;
namespace {

#if LOWBIT_SIMD128_X86
// max(|x|, m) per lane; a NaN x leaves m (maxps returns its second operand when one is NaN).
inline vf32 abs_max(vf32 x, vf32 m) {
    return _mm_max_ps(f_abs(x), m);
}
inline float hmax(vf32 v) {
    v = _mm_max_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_max_ss(v, _mm_shuffle_ps(v, v, 1)));
}
// 16 values of x * scale, rounded to even, to 16 int8.
inline void round_pack16(const float* x, float scale, int8_t* out) {
    const __m128 s = _mm_set1_ps(scale);
    const __m128i a = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x), s));
    const __m128i b = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x + 4), s));
    const __m128i c = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x + 8), s));
    const __m128i d = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x + 12), s));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d)));
}
// 8 values of x * scale, rounded to even, to 8 int16 (the values fit: no saturation but NaN's).
inline void round_pack8_i16(const float* x, float scale, int16_t* out) {
    const __m128 s = _mm_set1_ps(scale);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                     _mm_packs_epi32(_mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x), s)),
                                     _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(x + 4), s))));
}
#else
inline vf32 abs_max(vf32 x, vf32 m) {
    return vmaxnmq_f32(f_abs(x), m);  // maxNum: a NaN x leaves m
}
inline float hmax(vf32 v) {
    return vmaxvq_f32(v);
}
inline int32x4_t round_i32(float32x4_t v) {
    const uint32x4_t in_range = vcltq_f32(vabsq_f32(v), vdupq_n_f32(2147483648.0f));  // false for NaN
    return vbslq_s32(in_range, vcvtnq_s32_f32(v), vdupq_n_s32(INT32_MIN));
}
inline void round_pack16(const float* x, float scale, int8_t* out) {
    const float32x4_t s = vdupq_n_f32(scale);
    const int16x8_t lo = vcombine_s16(vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x), s))),
                                      vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x + 4), s))));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x + 8), s))),
                                      vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x + 12), s))));
    vst1q_s8(out, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
}
inline void round_pack8_i16(const float* x, float scale, int16_t* out) {
    const float32x4_t s = vdupq_n_f32(scale);
    vst1q_s16(out, vcombine_s16(vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x), s))),
                                vqmovn_s32(round_i32(vmulq_f32(vld1q_f32(x + 4), s)))));
}
#endif

// max |x[j]| over n (a multiple of 4) values, NaNs skipped.
inline float abs_max_of(const float* x, int n) {
    vf32 m = f_zero();
    for (int j = 0; j < n; j += 4) m = abs_max(f_load(x + j), m);
    return hmax(m);
}

template <bool Sum>
void quantize_32(const float* x, void* dst, int64_t n) {
    using Block = std::conditional_t<Sum, block_q8_1, block_q8_0>;
    auto* y = static_cast<Block*>(dst);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        const float d = abs_max_of(x, 32) / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        round_pack16(x, id, y[b].qs);
        round_pack16(x + 16, id, y[b].qs + 16);
        y[b].d = f32_to_fp16(d);
        if constexpr (Sum) {
            int sum = 0;
            for (int j = 0; j < 32; ++j) sum += y[b].qs[j];
            y[b].s = f32_to_fp16(static_cast<float>(sum) * d);
        }
    }
}

}  // namespace

void quantize_act_q8_0__simd128(const float* x, void* dst, int64_t n) {
    quantize_32<false>(x, dst, n);
}
void quantize_act_q8_1__simd128(const float* x, void* dst, int64_t n) {
    quantize_32<true>(x, dst, n);
}

// The FP8 prompt GEMM's 12-bit activations, as quantize_act_a16__ref: amax in any order, the same scalar
// scale expressions, products rounded to nearest even.
void quantize_act_a16__simd128(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_a16*>(dst);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        const float amax = abs_max_of(x, 32);
        const float id = amax > 0.0f ? 2047.0f / amax : 0.0f;
        y[b].d = amax / 2047.0f;
        for (int j = 0; j < 32; j += 8) round_pack8_i16(x + j, id, y[b].q + j);
    }
}

void quantize_act_q8_k__simd128(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_k*>(dst);
    for (int64_t b = 0; b < n / k_qk_k; ++b, x += k_qk_k) {
        const float amax = abs_max_of(x, k_qk_k);
        if (amax == 0) {
            std::memset(&y[b], 0, sizeof(block_q8_k));
            continue;
        }
        int j = 0;  // the first value of largest magnitude, as __ref's strict > scan
        while (!(std::fabs(x[j]) == amax)) ++j;
        const float iscale = -127.0f / x[j];
        for (int i = 0; i < k_qk_k; i += 16) round_pack16(x + i, iscale, y[b].qs + i);
        for (int s = 0; s < k_qk_k / 16; ++s) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[b].qs[16 * s + l];
            y[b].bsums[s] = static_cast<int16_t>(sum);
        }
        y[b].d = 1 / iscale;
    }
}

}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
