// llama.cpp's legacy tensor types and plain floats: scalar reference decoders and encoders.
//
// Block layouts (src/formats/ggml_blocks.hpp, docs/formats.md#ggml-legacy-types), 32 weights each:
//   Q4_0  d:f16 qs[16]          w = d * (q - 8)        q in [0,15]   4.5 bpw
//   Q4_1  d:f16 m:f16 qs[16]    w = d * q + m          q in [0,15]   5.0 bpw
//   Q5_0  d:f16 qh:u32 qs[16]   w = d * (q - 16)       q in [0,31]   5.5 bpw
//   Q5_1  d:f16 m:f16 qh qs     w = d * q + m          q in [0,31]   6.0 bpw
//   Q8_0  d:f16 qs:i8[32]       w = d * q              q in [-127,127] 8.5 bpw
//   Q8_1  d:f16 s:f16 qs:i8[32] w = d * q, s = d*sum(q)                9.0 bpw
// Nibble j of qs (j < 16) holds weight j in its low half and weight j+16 in its high half; bit j of
// qh is the 5th bit of weight j.
//
// Decoders are bit-exact with ggml's dequantize_row_* (ggml/src/ggml-quants.c). Encoders are
// byte-exact with quantize_row_*_ref when `importance` is null (what llama-quantize writes without an
// imatrix), and with quantize_row_*_impl (make_qx_quants / make_qkx3_quants, weighted by
// importance * sqrt(sigma^2 + x^2)) when it is given, for Q4_0/Q4_1/Q5_0/Q5_1. Q8_0/Q8_1 and the float
// types ignore it, as llama.cpp does. Every float operation below is written in the order ggml
// performs it and without fused multiply-add, so results round identically.
//
// Rows are `n` weights; n must be a multiple of 32 for the block types (kernels never throw: a tail
// shorter than a block is left untouched).
#include "formats/ggml_legacy.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/float_int.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_quant_common.hpp"

namespace lowbit {
namespace {

using ggml_quant::make_qkx_quants;
using ggml_quant::make_qx_quants;
using ggml_quant::nearest_int;


// Writes q[0..32) (values < 32) as nibbles and, when `qh` is non-null, 5th bits.
inline void pack_nibbles(const uint8_t* q, uint8_t* qs, uint8_t* qh) {
    uint32_t h = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
        h |= ((q[j] & 0x10u) >> 4) << j;
        h |= ((q[j + 16] & 0x10u) >> 4) << (j + 16);
    }
    if (qh) std::memcpy(qh, &h, 4);
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Mean square of the row: sigma^2 in llama.cpp's imatrix weighting.
float row_sigma2(const float* x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / static_cast<float>(n);
}

using ggml_quant::k_group_max_eps;



// Per-weight error weights of llama.cpp's legacy imatrix path: importance * sqrt(sigma^2 + x^2).
inline void imatrix_weights(const float* xb, const float* qw, float sigma2, float* weight) {
    for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
}

// ---- symmetric types with imatrix (Q4_0: nmax 8, Q5_0: nmax 16) ----
template <typename Block>
void quantize_sym_imatrix(const float* x, Block* y, int64_t n, const float* importance, int nmax) {
    const float sigma2 = row_sigma2(x, n);
    float weight[32];
    int8_t L[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float* xb = x + 32 * ib;
        imatrix_weights(xb, importance + 32 * ib, sigma2, weight);
        const float d = make_qx_quants(32, nmax, xb, L, weight);
        y[ib].d = f32_to_fp16(d);
        uint8_t q[32];
        for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(L[j]);
        if constexpr (requires(Block b) { b.qh; }) {
            pack_nibbles(q, y[ib].qs, y[ib].qh);
        } else {
            pack_nibbles(q, y[ib].qs, nullptr);
        }
    }
}

// ---- asymmetric types with imatrix (Q4_1: nmax 15, Q5_1: nmax 31) ----
template <typename Block>
void quantize_asym_imatrix(const float* x, Block* y, int64_t n, const float* importance, int nmax) {
    const float sigma2 = row_sigma2(x, n);
    float weight[32];
    uint8_t L[32], Laux[32];
    for (int64_t ib = 0; ib < n / 32; ++ib) {
        const float* xb = x + 32 * ib;
        imatrix_weights(xb, importance + 32 * ib, sigma2, weight);
        float min;
        const float d = make_qkx_quants(32, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = f32_to_fp16(d);
        y[ib].m = f32_to_fp16(-min);
        if constexpr (requires(Block b) { b.qh; }) {
            pack_nibbles(L, y[ib].qs, y[ib].qh);
        } else {
            pack_nibbles(L, y[ib].qs, nullptr);
        }
    }
}

// The value of largest magnitude (the first one on ties), signed: the legacy symmetric scale source.
inline float signed_absmax(const float* x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

inline void min_max(const float* x, int n, float& min, float& max) {
    min = FLT_MAX;
    max = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
}

// ggml's MAX macro (a > b ? a : b), which differs from std::max when b is NaN.
inline float c_max(float a, float b) { return a > b ? a : b; }

// The encoders' float -> int conversions are ggml's C casts as x86 runs them (core/float_int.hpp): NaN and
// out-of-range values occur when a block's largest magnitude is subnormal and 1 / d overflows (a plain
// C++ cast of them is undefined behaviour; found by scripts/fuzz.sh).
//
// C's roundf (half away from zero) for |v| < 2^23, without a libm call: adding the largest float
// below 0.5 with v's sign and truncating rounds ties away from zero and everything else to nearest.
inline int round_half_away(float v) {
    return trunc_to_int_x86(v + std::copysign(0.49999997f, v));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// F32 / F16 / BF16
// ---------------------------------------------------------------------------------------------

void dequantize_row_f32__ref(const void* src, float* dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void quantize_row_f32__ref(const float* src, void* dst, int64_t n, const float*) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_row_f16__ref(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, h + 2 * i, 2);
        dst[i] = fp16_to_f32(v);
    }
}
void quantize_row_f16__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* h = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t v = f32_to_fp16(src[i]);
        std::memcpy(h + 2 * i, &v, 2);
    }
}

void dequantize_row_bf16__ref(const void* src, float* dst, int64_t n) {
    const auto* h = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, h + 2 * i, 2);
        dst[i] = bf16_to_f32(v);
    }
}
void quantize_row_bf16__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* h = static_cast<uint8_t*>(dst);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t v = f32_to_bf16(src[i]);
        std::memcpy(h + 2 * i, &v, 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Q4_0
// ---------------------------------------------------------------------------------------------

void dequantize_row_q4_0__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_0*>(src);
    for (int64_t i = 0; i < n / k_qk4_0; ++i) {
        const float d = fp16_to_f32(x[i].d);
        float* y = dst + i * k_qk4_0;
        for (int j = 0; j < 16; ++j) {
            const int x0 = (x[i].qs[j] & 0x0F) - 8;
            const int x1 = (x[i].qs[j] >> 4) - 8;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }
}

void quantize_row_q4_0__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q4_0*>(dst);
    if (importance) return quantize_sym_imatrix(src, y, n, importance, 8);
    for (int64_t i = 0; i < n / k_qk4_0; ++i) {
        const float* x = src + i * k_qk4_0;
        const float max = signed_absmax(x, k_qk4_0);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        uint8_t q[32];
        for (int j = 0; j < 32; ++j) {
            const float v = x[j] * id;
            q[j] = static_cast<uint8_t>(
                std::min(15, static_cast<int>(static_cast<int8_t>(trunc_to_int_x86(v + 8.5f)))));
        }
        pack_nibbles(q, y[i].qs, nullptr);
    }
}

// ---------------------------------------------------------------------------------------------
// Q4_1
// ---------------------------------------------------------------------------------------------

void dequantize_row_q4_1__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_1*>(src);
    for (int64_t i = 0; i < n / k_qk4_1; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float m = fp16_to_f32(x[i].m);
        float* y = dst + i * k_qk4_1;
        for (int j = 0; j < 16; ++j) {
            const int x0 = x[i].qs[j] & 0x0F;
            const int x1 = x[i].qs[j] >> 4;
            y[j] = x0 * d + m;
            y[j + 16] = x1 * d + m;
        }
    }
}

void quantize_row_q4_1__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q4_1*>(dst);
    if (importance) return quantize_asym_imatrix(src, y, n, importance, 15);
    for (int64_t i = 0; i < n / k_qk4_1; ++i) {
        const float* x = src + i * k_qk4_1;
        float min, max;
        min_max(x, k_qk4_1, min, max);
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        y[i].m = f32_to_fp16(min);
        uint8_t q[32];
        for (int j = 0; j < 32; ++j) {
            const float v = (x[j] - min) * id;
            q[j] = static_cast<uint8_t>(
                std::min(15, static_cast<int>(static_cast<int8_t>(trunc_to_int_x86(v + 0.5f)))));
        }
        pack_nibbles(q, y[i].qs, nullptr);
    }
}

// ---------------------------------------------------------------------------------------------
// Q5_0
// ---------------------------------------------------------------------------------------------

void dequantize_row_q5_0__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_0*>(src);
    for (int64_t i = 0; i < n / k_qk5_0; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const uint32_t qh = load_u32(x[i].qh);
        float* y = dst + i * k_qk5_0;
        for (int j = 0; j < 16; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            const int x0 = ((x[i].qs[j] & 0x0F) | h0) - 16;
            const int x1 = ((x[i].qs[j] >> 4) | h1) - 16;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }
}

void quantize_row_q5_0__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q5_0*>(dst);
    if (importance) return quantize_sym_imatrix(src, y, n, importance, 16);
    for (int64_t i = 0; i < n / k_qk5_0; ++i) {
        const float* x = src + i * k_qk5_0;
        const float max = signed_absmax(x, k_qk5_0);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        uint8_t q[32];
        for (int j = 0; j < 32; ++j) {
            const float v = x[j] * id;
            q[j] = static_cast<uint8_t>(
                std::min(31, static_cast<int>(static_cast<int8_t>(trunc_to_int_x86(v + 16.5f)))));
        }
        pack_nibbles(q, y[i].qs, y[i].qh);
    }
}

// ---------------------------------------------------------------------------------------------
// Q5_1
// ---------------------------------------------------------------------------------------------

void dequantize_row_q5_1__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_1*>(src);
    for (int64_t i = 0; i < n / k_qk5_1; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float m = fp16_to_f32(x[i].m);
        const uint32_t qh = load_u32(x[i].qh);
        float* y = dst + i * k_qk5_1;
        for (int j = 0; j < 16; ++j) {
            const int h0 = static_cast<int>(((qh >> j) << 4) & 0x10);
            const int h1 = static_cast<int>((qh >> (j + 12)) & 0x10);
            const int x0 = (x[i].qs[j] & 0x0F) | h0;
            const int x1 = (x[i].qs[j] >> 4) | h1;
            y[j] = x0 * d + m;
            y[j + 16] = x1 * d + m;
        }
    }
}

void quantize_row_q5_1__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q5_1*>(dst);
    if (importance) return quantize_asym_imatrix(src, y, n, importance, 31);
    for (int64_t i = 0; i < n / k_qk5_1; ++i) {
        const float* x = src + i * k_qk5_1;
        float min, max;
        min_max(x, k_qk5_1, min, max);
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        y[i].m = f32_to_fp16(min);
        uint8_t q[32];
        for (int j = 0; j < 32; ++j) {
            const float v = (x[j] - min) * id;
            q[j] = static_cast<uint8_t>(trunc_to_int_x86(v + 0.5f));
        }
        pack_nibbles(q, y[i].qs, y[i].qh);
    }
}

// ---------------------------------------------------------------------------------------------
// Q8_0 / Q8_1
// ---------------------------------------------------------------------------------------------

void dequantize_row_q8_0__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_0*>(src);
    for (int64_t i = 0; i < n / k_qk8_0; ++i) {
        const float d = fp16_to_f32(x[i].d);
        for (int j = 0; j < k_qk8_0; ++j) dst[i * k_qk8_0 + j] = x[i].qs[j] * d;
    }
}

void quantize_row_q8_0__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_q8_0*>(dst);
    for (int64_t i = 0; i < n / k_qk8_0; ++i) {
        const float* x = src + i * k_qk8_0;
        float amax = 0.0f;
        for (int j = 0; j < k_qk8_0; ++j) amax = c_max(amax, std::fabs(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        for (int j = 0; j < k_qk8_0; ++j) y[i].qs[j] = static_cast<int8_t>(round_half_away(x[j] * id));
    }
}

// Q8_1 stores weights like Q8_0; the decoder ignores s (llama.cpp has no Q8_1 to_float on the CPU;
// this is the obvious one, w = d * q).
void dequantize_row_q8_1__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_1*>(src);
    for (int64_t i = 0; i < n / k_qk8_1; ++i) {
        const float d = fp16_to_f32(x[i].d);
        for (int j = 0; j < k_qk8_1; ++j) dst[i * k_qk8_1 + j] = x[i].qs[j] * d;
    }
}

void quantize_row_q8_1__ref(const float* src, void* dst, int64_t n, const float*) {
    auto* y = static_cast<block_q8_1*>(dst);
    for (int64_t i = 0; i < n / k_qk8_1; ++i) {
        const float* x = src + i * k_qk8_1;
        float amax = 0.0f;
        for (int j = 0; j < k_qk8_1; ++j) amax = c_max(amax, std::fabs(x[j]));
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < k_qk8_1; ++j) {
            y[i].qs[j] = static_cast<int8_t>(round_half_away(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = f32_to_fp16(static_cast<float>(sum) * d);
    }
}

// ---------------------------------------------------------------------------------------------
// SIMD decoder lookup (the table's to_float_avx2 / to_float_avx512 columns)
// ---------------------------------------------------------------------------------------------

to_float_fn ggml_legacy_to_float_avx2(type t) {
    switch (t) {
        case type::f16: return dequantize_row_f16__avx2;
        case type::bf16: return dequantize_row_bf16__avx2;
        case type::q4_0: return dequantize_row_q4_0__avx2;
        case type::q4_1: return dequantize_row_q4_1__avx2;
        case type::q5_0: return dequantize_row_q5_0__avx2;
        case type::q5_1: return dequantize_row_q5_1__avx2;
        case type::q8_0: return dequantize_row_q8_0__avx2;
        case type::q8_1: return dequantize_row_q8_1__avx2;
        default: return nullptr;
    }
}

to_float_fn ggml_legacy_to_float_avx512(type) { return nullptr; }

}  // namespace lowbit
