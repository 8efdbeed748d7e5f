// Ternary weights {-1, 0, +1} * d per 64 (BitNet b1.58, Ma et al. 2024, arXiv:2402.17764, with a
// per-group instead of per-tensor scale): scalar reference codec. Layout: lowbit_blocks.hpp.
//   gamma = mean |w| (absmean), q = clamp(round(w / gamma), -1, 1), then d = mean |w| over q != 0
//   (the least-squares scale for those q), stored fp16. w = d * (u - 1), u = q + 1 in 2 bits.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"

namespace lowbit {

using namespace lbfmt;

void quantize_row_ternary_g64__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_ternary*>(dst);
    const int64_t nb = (n + k_qk_ternary - 1) / k_qk_ternary;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_ternary;
        const int64_t nv = std::min<int64_t>(k_qk_ternary, n - ib * k_qk_ternary);
        block_ternary b;
        std::memset(&b, 0, sizeof(b));
        float sum = 0.0f;
        for (int64_t i = 0; i < nv; ++i) sum += std::fabs(sanitize(x[i]));
        const float gamma = sum / static_cast<float>(nv);
        int q[k_qk_ternary] = {};
        float sum_nz = 0.0f;
        int n_nz = 0;
        for (int64_t i = 0; i < nv; ++i) {
            const float v = sanitize(x[i]);
            if (gamma > 0.0f) q[i] = static_cast<int>(std::clamp(std::nearbyint(v / gamma), -1.0f, 1.0f));
            if (q[i] != 0) {
                sum_nz += std::fabs(v);
                ++n_nz;
            }
        }
        if (n_nz > 0) {
            uint16_t h = f32_to_fp16(sum_nz / static_cast<float>(n_nz));
            if ((h & 0x7FFF) > k_fp16_max_bits) h = k_fp16_max_bits;
            b.d = h;
        }
        for (int i = 0; i < k_qk_ternary; ++i) put_bits(b.qs, i, 2, static_cast<uint32_t>(q[i] + 1));
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

void dequantize_row_ternary_g64__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_ternary*>(src);
    const int64_t nb = (n + k_qk_ternary - 1) / k_qk_ternary;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_ternary, n - ib * k_qk_ternary);
        for (int64_t i = 0; i < nv; ++i)
            dst[ib * k_qk_ternary + i] = d * static_cast<float>(static_cast<int>(get_bits(x[ib].qs, i, 2)) - 1);
    }
}

}  // namespace lowbit
