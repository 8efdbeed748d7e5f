// Scalar activation quantizers (see quant_act.hpp) and their run-time selection.
#include "kernels/quant_act.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cpu.hpp"
#include "core/float_int.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"

namespace lowbit::kernels {
namespace {

// Round half to even (the default floating-point environment) and saturate to int8, as the AVX2 versions'
// _mm256_round_ps(.., NEAREST) + _mm256_cvtps_epi32 + packs do. cvtps_epi32 gives INT_MIN ("integer
// indefinite") for NaN and for values outside int32, which packs saturates to -128: that happens for a NaN
// activation, for inf * 0 (a block holding inf has d = inf, id = 0), and for a block of subnormals (1/d
// overflows). Casting those to int directly would be undefined behaviour.
inline int8_t round_even_i8(float v) {
    return static_cast<int8_t>(std::clamp(trunc_to_int_x86(std::nearbyint(v)), -128, 127));
}

}  // namespace

void quantize_act_q8_0__ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_0*>(dst);
    for (int64_t b = 0; b < n / k_qk8_0; ++b, x += k_qk8_0) {
        float amax = 0;
        for (int j = 0; j < k_qk8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        for (int j = 0; j < k_qk8_0; ++j) y[b].qs[j] = round_even_i8(x[j] * id);
    }
}

void quantize_act_q8_1__ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_1*>(dst);
    for (int64_t b = 0; b < n / k_qk8_1; ++b, x += k_qk8_1) {
        float amax = 0;
        for (int j = 0; j < k_qk8_1; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < k_qk8_1; ++j) {
            y[b].qs[j] = round_even_i8(x[j] * id);
            sum += y[b].qs[j];
        }
        y[b].d = f32_to_fp16(d);
        y[b].s = f32_to_fp16(static_cast<float>(sum) * d);
    }
}

void quantize_act_q8_k__ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_k*>(dst);
    for (int64_t b = 0; b < n / k_qk_k; ++b, x += k_qk_k) {
        float amax = 0, max = 0;
        for (int j = 0; j < k_qk_k; ++j)
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                max = x[j];
            }
        if (amax == 0) {
            std::memset(&y[b], 0, sizeof(block_q8_k));
            continue;
        }
        const float iscale = -127.0f / max;
        // llama.cpp: MIN(127, nearest_int(iscale * x)); |iscale * x| <= 127 up to rounding for finite x.
        for (int j = 0; j < k_qk_k; ++j) y[b].qs[j] = round_even_i8(iscale * x[j]);
        for (int s = 0; s < k_qk_k / 16; ++s) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += y[b].qs[16 * s + l];
            y[b].bsums[s] = static_cast<int16_t>(sum);
        }
        y[b].d = 1 / iscale;
    }
}

void quantize_act_f32(const float* x, void* dst, int64_t n) {
    std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
}

quantize_act_fn quantize_act_kernel(type act) {
    const bool avx2 = active_isa_tier() >= isa_tier::avx2;
    const bool simd128 = LOWBIT_HAVE_SIMD128 && active_isa_tier() == isa_tier::generic;
    switch (act) {
        case type::q8_0:
            return avx2      ? quantize_act_q8_0__avx2
                   : simd128 ? quantize_act_q8_0__simd128
                             : quantize_act_q8_0__ref;
        case type::q8_1:
            return avx2      ? quantize_act_q8_1__avx2
                   : simd128 ? quantize_act_q8_1__simd128
                             : quantize_act_q8_1__ref;
        case type::q8_k:
            return avx2      ? quantize_act_q8_k__avx2
                   : simd128 ? quantize_act_q8_k__simd128
                             : quantize_act_q8_k__ref;
        case type::f32: return quantize_act_f32;
        default: return nullptr;
    }
}

}  // namespace lowbit::kernels
