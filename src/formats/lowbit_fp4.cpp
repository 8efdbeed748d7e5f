// FP4 E2M1 (OCP) with an fp16 scale per 32 weights: scalar reference codec. Layout: lowbit_blocks.hpp.
//   w = d * e2m1(u); d = absmax / 6 rounded UP to fp16; weight / d rounded to nearest-even E2M1.
// (ggml's MXFP4 uses the same element type with an E8M0 power-of-two scale: ggml_mxfp4.cpp.)
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"

namespace lowbit {

using namespace lbfmt;

void quantize_row_fp4_e2m1__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_fp4_e2m1*>(dst);
    const int64_t nb = (n + k_qk_fp4 - 1) / k_qk_fp4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_fp4;
        const int64_t nv = std::min<int64_t>(k_qk_fp4, n - ib * k_qk_fp4);
        block_fp4_e2m1 b;
        std::memset(&b, 0, sizeof(b));
        float amax = 0.0f;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(sanitize(x[i])));
        b.d = amax > 0.0f ? fp16_scale_up(amax / k_fp4_e2m1_max, k_fp4_e2m1_max, amax) : 0;
        const float d = fp16_to_f32(b.d);
        for (int64_t i = 0; i < nv; ++i) put_bits(b.qs, i, 4, d > 0.0f ? f32_to_fp4_e2m1(sanitize(x[i]) / d) : 0);
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

void dequantize_row_fp4_e2m1__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_fp4_e2m1*>(src);
    const int64_t nb = (n + k_qk_fp4 - 1) / k_qk_fp4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_fp4, n - ib * k_qk_fp4);
        for (int64_t i = 0; i < nv; ++i) dst[ib * k_qk_fp4 + i] = d * k_fp4_e2m1_values[get_bits(x[ib].qs, i, 4)];
    }
}

}  // namespace lowbit
