// Scalar reference dot products (see dot.hpp for the math). Block layouts: formats/ggml_blocks.hpp.
// Each kernel forms the exact integer sum of a block, then applies the block's float scales.
#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/dot.hpp"

namespace lowbit::kernels {

namespace {
template <float (*ToF32)(uint16_t)>
float dot_half_f32_ref(int64_t n, const void* w, const void* a) {
    const auto* h = static_cast<const uint16_t*>(w);
    const auto* x = static_cast<const float*>(a);
    float sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += ToF32(h[i]) * x[i];
    return sum;
}
}  // namespace

float dot_f16_f32__ref(int64_t n, const void* w, const void* a) { return dot_half_f32_ref<fp16_to_f32>(n, w, a); }
float dot_bf16_f32__ref(int64_t n, const void* w, const void* a) { return dot_half_f32_ref<bf16_to_f32>(n, w, a); }
namespace {

// Q4_0/IQ4_NL/Q5_0 nibble order: qs[j] holds weight j (low nibble) and weight j + 16 (high nibble).
inline int lo4(uint8_t b) { return b & 0x0F; }
inline int hi4(uint8_t b) { return b >> 4; }

// Q5_0/Q5_1: bit 4 of weight j is bit j of qh.
inline int q5(const uint8_t* qs, const uint8_t* qh_bytes, int j) {
    uint32_t qh;
    std::memcpy(&qh, qh_bytes, 4);
    const int low = j < 16 ? lo4(qs[j]) : hi4(qs[j - 16]);
    return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

}  // namespace

// Q3_K: 16 signed 6-bit scales (value - 32) from the packed 12 bytes: low 4 bits of scale s are in
// byte s % 8 (low nibble for s < 8, high nibble otherwise), the high 2 bits in byte 8 + s % 4 at bit
// 2 * (s / 4).
void unpack_q3_k_scales(const uint8_t* packed, int8_t* out) {
    for (int s = 0; s < 16; ++s) {
        const int low = s < 8 ? (packed[s] & 0x0F) : (packed[s - 8] >> 4);
        const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
        out[s] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
}

float dot_q4_0_q8_0__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk4_0; ++b) {
        int sumi = 0;
        for (int j = 0; j < 16; ++j)
            sumi += (lo4(x[b].qs[j]) - 8) * y[b].qs[j] + (hi4(x[b].qs[j]) - 8) * y[b].qs[j + 16];
        sum += static_cast<float>(sumi) * (fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d));
    }
    return sum;
}

float dot_q4_1_q8_1__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk4_1; ++b) {
        int sumi = 0;
        for (int j = 0; j < 16; ++j) sumi += lo4(x[b].qs[j]) * y[b].qs[j] + hi4(x[b].qs[j]) * y[b].qs[j + 16];
        sum += static_cast<float>(sumi) * (fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d)) +
               fp16_to_f32(x[b].m) * fp16_to_f32(y[b].s);
    }
    return sum;
}

float dot_q5_0_q8_0__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk5_0; ++b) {
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += (q5(x[b].qs, x[b].qh, j) - 16) * y[b].qs[j];
        sum += static_cast<float>(sumi) * (fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d));
    }
    return sum;
}

float dot_q5_1_q8_1__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_1*>(w);
    const auto* y = static_cast<const block_q8_1*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk5_1; ++b) {
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += q5(x[b].qs, x[b].qh, j) * y[b].qs[j];
        sum += static_cast<float>(sumi) * (fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d)) +
               fp16_to_f32(x[b].m) * fp16_to_f32(y[b].s);
    }
    return sum;
}

float dot_q8_0_q8_0__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q8_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk8_0; ++b) {
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += x[b].qs[j] * y[b].qs[j];
        sum += static_cast<float>(sumi) * (fp16_to_f32(x[b].d) * fp16_to_f32(y[b].d));
    }
    return sum;
}

namespace {
// 32-weight blocks of 16 nibble bytes indexing a 16-entry int8 table (IQ4_NL, MXFP4), scale(block).
template <class Block, const int8_t* Table, float (*Scale)(const Block&)>
float dot_table4_q8_0_ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const Block*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
        int sumi = 0;
        for (int j = 0; j < 16; ++j) sumi += Table[lo4(x[b].qs[j])] * y[b].qs[j] + Table[hi4(x[b].qs[j])] * y[b].qs[j + 16];
        sum += static_cast<float>(sumi) * (Scale(x[b]) * fp16_to_f32(y[b].d));
    }
    return sum;
}
inline float iq4_nl_scale(const block_iq4_nl& b) { return fp16_to_f32(b.d); }
inline float mxfp4_scale(const block_mxfp4& b) { return e8m0_to_f32_half(b.e); }
}  // namespace

float dot_iq4_nl_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_table4_q8_0_ref<block_iq4_nl, k_iq4nl_values, iq4_nl_scale>(n, w, a);
}

// IQ4_XS over Q8_K activations, the arithmetic of the integer GEMM (gemm_iq4_xs_q8_k_8x4__ref) for one
// row and token: per 256-block acc = fma(d_a * d_w, sum_s (ls_s - 32) * sum_j v_j a_j, acc). Not in the
// dot table (its small batches take the integer GEMM or the tiles); the oracle of the IQ4_XS tiles.
float dot_iq4_xs_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq4_xs*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float acc = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0;
        for (int s = 0; s < 8; ++s) {
            const int ls = iq4_xs_scale(x[b], s);
            int sub = 0;
            for (int j = 0; j < 16; ++j)
                sub += k_iq4nl_values[lo4(x[b].qs[16 * s + j])] * y[b].qs[32 * s + j] +
                       k_iq4nl_values[hi4(x[b].qs[16 * s + j])] * y[b].qs[32 * s + 16 + j];
            sumi += (ls - 32) * sub;
        }
        acc = std::fma(y[b].d * fp16_to_f32(x[b].d), static_cast<float>(sumi), acc);
    }
    return acc;
}

// Q2_K: weight i of the 256 sits in byte 32 * (i / 128) + i % 32 of qs at bits 2 * ((i % 128) / 32);
// sub-block s = i / 16 has scale scales[s] & 15 and min scales[s] >> 4.
float dot_q2_k_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q2_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 16; ++s) {
            int si = 0;
            for (int l = 0; l < 16; ++l) {
                const int i = s * 16 + l;
                const int q = (x[b].qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
                si += q * y[b].qs[i];
            }
            sumi += (x[b].scales[s] & 15) * si;
            summ += (x[b].scales[s] >> 4) * y[b].bsums[s];
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi) -
               y[b].d * fp16_to_f32(x[b].dmin) * static_cast<float>(summ);
    }
    return sum;
}

// Q3_K: low 2 bits as Q2_K; the high bit of weight i is bit i / 32 of hmask[i % 32]; a clear bit
// subtracts 4. Sub-block s = i / 16 has scale unpack_q3_k_scales()[s].
float dot_q3_k_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q3_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int8_t sc[16];
        unpack_q3_k_scales(x[b].scales, sc);
        int sumi = 0;
        for (int s = 0; s < 16; ++s) {
            int si = 0;
            for (int l = 0; l < 16; ++l) {
                const int i = s * 16 + l;
                const int low = (x[b].qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
                const int high = (x[b].hmask[i % 32] >> (i / 32)) & 1;
                si += (low - (high ? 0 : 4)) * y[b].qs[i];
            }
            sumi += sc[s] * si;
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi);
    }
    return sum;
}

// Q4_K: sub-block s (32 weights) = low nibbles (s even) or high nibbles (s odd) of qs[32 * (s / 2) ..+32].
float dot_q4_k_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q4_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 8; ++s) {
            int sc, m;
            scale_min_k4(s, x[b].scales, sc, m);
            const uint8_t* q = x[b].qs + 32 * (s / 2);
            int si = 0;
            for (int l = 0; l < 32; ++l) si += ((s & 1) ? hi4(q[l]) : lo4(q[l])) * y[b].qs[32 * s + l];
            sumi += sc * si;
            summ += m * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi) -
               y[b].d * fp16_to_f32(x[b].dmin) * static_cast<float>(summ);
    }
    return sum;
}

// Q5_K: as Q4_K plus bit 4 of weight 32 * s + l in bit s of qh[l].
float dot_q5_k_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q5_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 8; ++s) {
            int sc, m;
            scale_min_k4(s, x[b].scales, sc, m);
            const uint8_t* q = x[b].qs + 32 * (s / 2);
            int si = 0;
            for (int l = 0; l < 32; ++l) {
                const int v = ((s & 1) ? hi4(q[l]) : lo4(q[l])) | (((x[b].qh[l] >> s) & 1) << 4);
                si += v * y[b].qs[32 * s + l];
            }
            sumi += sc * si;
            summ += m * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi) -
               y[b].d * fp16_to_f32(x[b].dmin) * static_cast<float>(summ);
    }
    return sum;
}

// Q6_K: weight i = 128 * h + 32 * g + l (h 0..1, g 0..3, l 0..31): low 4 bits are the low (g < 2) or
// high (g >= 2) nibble of ql[64 h + 32 (g % 2) + l], high 2 bits are bits 2 g of qh[32 h + l];
// sub-block i / 16 has the int8 scale scales[i / 16].
float dot_q6_k_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_q6_k*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0;
        for (int s = 0; s < 16; ++s) {
            int si = 0;
            for (int l16 = 0; l16 < 16; ++l16) {
                const int i = s * 16 + l16, h = i / 128, g = (i % 128) / 32, l = i % 32;
                const uint8_t lb = x[b].ql[64 * h + 32 * (g % 2) + l];
                const int low = g < 2 ? lo4(lb) : hi4(lb);
                const int high = (x[b].qh[32 * h + l] >> (2 * g)) & 3;
                si += ((low | (high << 4)) - 32) * y[b].qs[i];
            }
            sumi += x[b].scales[s] * si;
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi);
    }
    return sum;
}

float dot_mxfp4_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_table4_q8_0_ref<block_mxfp4, k_mxfp4_kvalues, mxfp4_scale>(n, w, a);
}

namespace {
// Sum of a Q8_K block's activations (its 16 stored partial sums).
inline int q8_k_sum(const block_q8_k& y) {
    int s = 0;
    for (int16_t v : y.bsums) s += v;
    return s;
}
}  // namespace

// TQ2_0: weight 128 h + 32 l + m = bits 2l, 2l + 1 of qs[32 h + m].
float dot_tq2_0_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_tq2_0*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0;
        for (int i = 0; i < k_qk_k; ++i) sumi += ((x[b].qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3) * y[b].qs[i];
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi - q8_k_sum(y[b]));
    }
    return sum;
}

// TQ1_0: the trit codes of formats/ggml_blocks.hpp (tq1_0_code).
float dot_tq1_0_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_tq1_0*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0;
        for (int c = 0; c < k_qk_k; ++c) sumi += tq1_0_code(x[b], c) * y[b].qs[c];
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi - q8_k_sum(y[b]));
    }
    return sum;
}

}  // namespace lowbit::kernels
