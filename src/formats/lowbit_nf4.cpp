// NF4 (QLoRA normal-float 4-bit, Dettmers et al. 2023, arXiv:2305.14314) per 64 weights with an fp16
// absmax, and nf4_dq: super-blocks of 256 = 4 x 64 whose sub-block scales are double-quantized to 8 bits
// under one fp16 super-scale. Scalar reference codecs. Layouts: lowbit_blocks.hpp, docs/formats.md.
//   nf4:    w = d * nf4[u]                      (d = fp16 absmax rounded up; 4.25 bpw)
//   nf4_dq: w = (D * sc[j]) * nf4[u]            (sub-block j of 64; 4.1875 bpw)
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"

namespace lowbit {
namespace {

using namespace lbfmt;

constexpr uint8_t k_nf4_zero_code = 7;

// Codes for weights x[0..g) (first nv real, rest padding = 0) under scale `scale`; qs zeroed.
void encode_nf4_codes(const float* x, int64_t nv, int64_t g, int64_t offset, float scale, uint8_t* qs) {
    for (int64_t i = 0; i < g; ++i) {
        const float v = i < nv ? sanitize(x[i]) : 0.0f;
        const uint8_t c = scale > 0.0f ? nf4_nearest(v / scale) : k_nf4_zero_code;
        put_bits(qs, offset + i, 4, c);
    }
}

float absmax(const float* x, int64_t nv) {
    float a = 0.0f;
    for (int64_t i = 0; i < nv; ++i) a = std::max(a, std::fabs(sanitize(x[i])));
    return a;
}

}  // namespace

void quantize_row_nf4__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_nf4*>(dst);
    const int64_t nb = (n + k_qk_nf4 - 1) / k_qk_nf4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_nf4;
        const int64_t nv = std::min<int64_t>(k_qk_nf4, n - ib * k_qk_nf4);
        block_nf4 b;
        std::memset(&b, 0, sizeof(b));
        const float amax = absmax(x, nv);
        b.d = amax > 0.0f ? fp16_scale_up(amax, 1.0f, amax) : 0;
        encode_nf4_codes(x, nv, k_qk_nf4, 0, fp16_to_f32(b.d), b.qs);
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

void dequantize_row_nf4__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_nf4*>(src);
    const int64_t nb = (n + k_qk_nf4 - 1) / k_qk_nf4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_nf4, n - ib * k_qk_nf4);
        for (int64_t i = 0; i < nv; ++i) dst[ib * k_qk_nf4 + i] = d * k_nf4_values[get_bits(x[ib].qs, i, 4)];
    }
}

void quantize_row_nf4_dq__ref(const float* src, void* dst, int64_t n, const float*) {
    constexpr int n_sub = k_qk_nf4_dq / k_qk_nf4;
    auto* y = static_cast<block_nf4_dq*>(dst);
    const int64_t nb = (n + k_qk_nf4_dq - 1) / k_qk_nf4_dq;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_nf4_dq;
        const int64_t nv = std::min<int64_t>(k_qk_nf4_dq, n - ib * k_qk_nf4_dq);
        block_nf4_dq b;
        std::memset(&b, 0, sizeof(b));
        float s[n_sub];
        float smax = 0.0f;
        for (int j = 0; j < n_sub; ++j) {
            const int64_t sub_nv = std::clamp<int64_t>(nv - j * k_qk_nf4, 0, k_qk_nf4);
            s[j] = absmax(x + j * k_qk_nf4, sub_nv);
            smax = std::max(smax, s[j]);
        }
        b.d = smax > 0.0f ? fp16_scale_up(smax / 255.0f, 255.0f, smax) : 0;
        const float D = fp16_to_f32(b.d);
        for (int j = 0; j < n_sub; ++j) {
            int sc = 0;
            if (D > 0.0f) {
                sc = static_cast<int>(std::min(255.0f, std::ceil(s[j] / D)));
                while (sc < 255 && D * static_cast<float>(sc) < s[j]) ++sc;  // never clip
            }
            b.sc[j] = static_cast<uint8_t>(sc);
            const int64_t sub_nv = std::clamp<int64_t>(nv - j * k_qk_nf4, 0, k_qk_nf4);
            encode_nf4_codes(x + j * k_qk_nf4, sub_nv, k_qk_nf4, j * k_qk_nf4, D * static_cast<float>(sc), b.qs);
        }
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

void dequantize_row_nf4_dq__ref(const void* src, float* dst, int64_t n) {
    constexpr int n_sub = k_qk_nf4_dq / k_qk_nf4;
    const auto* x = static_cast<const block_nf4_dq*>(src);
    const int64_t nb = (n + k_qk_nf4_dq - 1) / k_qk_nf4_dq;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float D = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_nf4_dq, n - ib * k_qk_nf4_dq);
        for (int j = 0; j < n_sub; ++j) {
            const float scale = D * static_cast<float>(x[ib].sc[j]);
            const int64_t sub_nv = std::clamp<int64_t>(nv - j * k_qk_nf4, 0, k_qk_nf4);
            for (int64_t i = 0; i < sub_nv; ++i)
                dst[ib * k_qk_nf4_dq + j * k_qk_nf4 + i] = scale * k_nf4_values[get_bits(x[ib].qs, j * k_qk_nf4 + i, 4)];
        }
    }
}

}  // namespace lowbit
