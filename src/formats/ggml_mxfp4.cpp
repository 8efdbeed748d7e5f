// ggml's MXFP4 (OCP Microscaling FP4, as stored by llama.cpp, type id 39): scalar reference codecs,
// bit-exact with llama.cpp's dequantize_row_mxfp4 / quantize_row_mxfp4_ref.
//
// block_mxfp4 (17 bytes per 32 weights, 4.25 bpw):
//   e      uint8  E8M0 shared exponent: scale 2^(e - 127)
//   qs[16] uint8  E2M1 codes: weight j in the low nibble of qs[j], weight j+16 in the high nibble
// ggml keeps the E2M1 values doubled as integers (0 1 2 3 4 6 8 12, sign in bit 3) and halves the
// scale instead: w = kv[u] * 2^(e - 128), with 2^(e-128) computed bit-exactly (subnormal for e < 2).
// Encoder: e = floor(log2(absmax)) - 2 + 127 (0 for an all-zero block); each weight takes the code of
// smallest |kv[u] * scale - w| (first index wins ties). Divergences from llama.cpp, only where it has
// undefined behaviour: absmax < 2^-125 (its exponent would be negative) gives e = 0, and non-finite
// weights are read as 0 (lowbit's rule for every encoder).
#include <cmath>
#include <cstring>

#include "formats/ggml_mxfp4.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"

namespace lowbit {
namespace {

int best_index(float x, float d) {
    int best = 0;
    float best_err = std::fabs(k_mxfp4_kvalues[0] * d - x);
    for (int i = 1; i < 16; ++i) {
        const float err = std::fabs(k_mxfp4_kvalues[i] * d - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

inline float sanitize(float x) { return std::isfinite(x) ? x : 0.0f; }

}  // namespace

void dequantize_row_mxfp4__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_mxfp4*>(src);
    const int64_t nb = n / k_qk_mxfp4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = e8m0_to_f32_half(x[ib].e);
        for (int j = 0; j < k_qk_mxfp4 / 2; ++j) {
            dst[ib * k_qk_mxfp4 + j] = static_cast<float>(k_mxfp4_kvalues[x[ib].qs[j] & 0x0F]) * d;
            dst[ib * k_qk_mxfp4 + j + k_qk_mxfp4 / 2] = static_cast<float>(k_mxfp4_kvalues[x[ib].qs[j] >> 4]) * d;
        }
    }
}

void quantize_row_mxfp4__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_mxfp4*>(dst);
    const int64_t nb = n / k_qk_mxfp4;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_mxfp4;
        float amax = 0.0f;
        for (int j = 0; j < k_qk_mxfp4; ++j) {
            const float a = std::fabs(sanitize(x[j]));
            if (amax < a) amax = a;
        }
        uint8_t e = 0;
        if (amax > 0.0f) {
            const float t = std::floor(std::log2(amax)) - 2 + 127;
            e = t < 0.0f ? 0 : static_cast<uint8_t>(t);
        }
        const float d = e8m0_to_f32_half(e);
        block_mxfp4 b;
        b.e = e;
        for (int j = 0; j < k_qk_mxfp4 / 2; ++j) {
            const int x0 = best_index(sanitize(x[j]), d);
            const int x1 = best_index(sanitize(x[j + k_qk_mxfp4 / 2]), d);
            b.qs[j] = static_cast<uint8_t>(x0 | (x1 << 4));
        }
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

}  // namespace lowbit
