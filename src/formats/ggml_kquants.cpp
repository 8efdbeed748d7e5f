// llama.cpp K-quants: scalar reference decoders and encoders, bit-/byte-exact with ggml-quants.c.
//
// Super-blocks of k_qk_k = 256 weights; bit layouts and the math of each type are in
// docs/formats.md ("ggml K-quants") and next to the block structs in ggml_blocks.hpp.
//
// Exactness. The encoders reproduce llama.cpp's float arithmetic operation by operation: every
// accumulation is a float, in the same order, with the same association (`w*x*l` is `(w*x)*l`), and
// no multiply-add is contracted into an fma (this file is compiled in ISO C++ mode, where GCC does
// not contract; clang is told so below). nearest_int() is ggml's magic-number rounding (round half to
// even for |x| < 2^22). Changing the order of any sum here changes bytes in the output.
//
// Two encoder families, selected as llama.cpp's quantize_q*_K() does:
//   importance == nullptr: quantize_row_q*_K_ref (what llama-quantize uses without an imatrix);
//   importance != nullptr: quantize_row_q*_K_impl with quant_weights (imatrix quantization).
#include "formats/ggml_kquants.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_quant_common.hpp"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace lowbit {
namespace {

using ggml_quant::make_qkx_quants;
using ggml_quant::make_qx_quants;
using ggml_quant::nearest_int;

using ggml_quant::k_group_max_eps;



// Symmetric 3-bit quantization with up to 5 rounds of coordinate descent on each L[i]
// (ggml make_q3_quants with do_rmse). L stored as l + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < k_group_max_eps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<int8_t>(l);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * static_cast<float>(l);
        suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * static_cast<float>(L[i]);
            if (slx > 0) {
                float sl2 = suml2 - w * static_cast<float>(L[i]) * static_cast<float>(L[i]);
                int new_l = nearest_int(x[i] * sl2 / slx);
                new_l = std::max(-nmax, std::min(nmax - 1, new_l));
                if (new_l != L[i]) {
                    slx += w * x[i] * static_cast<float>(new_l);
                    sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<int8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}


// Quantizes non-negative x (sub-block scales or mins) to L in [0, nmax] minimizing the weighted
// squared error: 8 candidate scales, then coordinate descent (ggml make_qp_quants).
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
    if (max < k_group_max_eps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float iscale = static_cast<float>(nmax) / max;
    for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
    const float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * static_cast<float>(L[i]);
        const float w = quant_weights[i];
        best_mse += w * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * static_cast<float>(is) + static_cast<float>(nmax)) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale_is * x[i]);
            l = std::min(nmax, l);
            const float diff = x[i] - scale_is * static_cast<float>(l);
            const float w = quant_weights[i];
            mse += w * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = std::min(nmax, l);
        L[i] = static_cast<uint8_t>(l);
        const float w = quant_weights[i];
        sumlx += w * x[i] * static_cast<float>(l);
        suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = quant_weights[i];
            const float li = static_cast<float>(L[i]);
            float slx = sumlx - w * x[i] * li;
            float sl2 = suml2 - w * li * li;
            if (slx > 0 && sl2 > 0) {
                int new_l = nearest_int(x[i] * sl2 / slx);
                new_l = std::min(nmax, new_l);
                if (new_l != L[i]) {
                    slx += w * x[i] * static_cast<float>(new_l);
                    sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<uint8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// The 6-bit scale/min pair j (0..7) of Q4_K/Q5_K from the 12 packed bytes.
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
    int sc, mn;
    scale_min_k4(j, q, sc, mn);
    *d = static_cast<uint8_t>(sc);
    *m = static_cast<uint8_t>(mn);
}

// Packs 8 six-bit scales and mins into Q4_K/Q5_K's 12 bytes (inverse of get_scale_min_k4).
inline void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* scales) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            scales[j - 0] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

// The signed 6-bit scale j (0..15) of Q3_K, minus 32.
inline int q3_k_scale(const uint8_t* scales, int j) {
    const int lo = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
    return (lo | (((scales[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// Packs 16 six-bit values (0..63) into Q3_K's 12 scale bytes.
inline void pack_q3_k_scales(const int* l6, uint8_t* scales) {
    std::memset(scales, 0, 12);
    for (int j = 0; j < 16; ++j) {
        int l = l6[j];
        if (j < 8) {
            scales[j] = static_cast<uint8_t>(l & 0xF);
        } else {
            scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        l >>= 4;
        scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
    }
}

// 2-bit fields: byte l of each 32-byte group holds L[j+l], L[j+l+32], L[j+l+64], L[j+l+96].
inline void pack_2bit(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < k_qk_k; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                                 (L[j + l + 96] << 6));
}

// Final requantization of a Q4_K/Q5_K block with its stored (rounded) scales and mins.
inline void requantize_k4(const float* x, uint16_t d16, uint16_t dmin16, const uint8_t* scales, int nmax,
                          uint8_t* L) {
    for (int j = 0; j < k_qk_k / 32; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, scales, &sc, &m);
        const float d = fp16_to_f32(d16) * static_cast<float>(sc);
        if (!(d != 0.f)) continue;
        const float dm = fp16_to_f32(dmin16) * static_cast<float>(m);
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearest_int((x[32 * j + ii] + dm) / d);
            l = std::max(0, std::min(nmax, l));
            L[32 * j + ii] = static_cast<uint8_t>(l);
        }
    }
}

inline void pack_q5_k(const uint8_t* L, block_q5_k& b) {
    uint8_t* qh = b.qh;
    uint8_t* ql = b.qs;
    std::memset(qh, 0, k_qk_k / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < k_qk_k; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                qh[j] |= m1;
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
        }
        m1 = static_cast<uint8_t>(m1 << 2);
        m2 = static_cast<uint8_t>(m2 << 2);
        ql += 32;
    }
}

inline void pack_q3_k_quants(const float* x, block_q3_k& b, int8_t* L) {
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float d = fp16_to_f32(b.d) * static_cast<float>(q3_k_scale(b.scales, j));
        if (!(d != 0.f)) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = nearest_int(x[16 * j + ii] / d);
            l = std::max(-4, std::min(3, l));
            L[16 * j + ii] = static_cast<int8_t>(l + 4);
        }
    }
    // High bit of quant j goes to bit (j / 32) of hmask[j % 32].
    std::memset(b.hmask, 0, k_qk_k / 8);
    int m = 0;
    uint8_t hm = 1;
    for (int j = 0; j < k_qk_k; ++j) {
        if (L[j] > 3) {
            b.hmask[m] |= hm;
            L[j] = static_cast<int8_t>(L[j] - 4);
        }
        if (++m == k_qk_k / 8) {
            m = 0;
            hm = static_cast<uint8_t>(hm << 1);
        }
    }
    pack_2bit(reinterpret_cast<const uint8_t*>(L), b.qs);
}

inline void pack_q6_k(const int8_t* L, block_q6_k& b) {
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < k_qk_k; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t q1 = L[j + l + 0] & 0xF;
            const uint8_t q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF;
            const uint8_t q4 = L[j + l + 96] & 0xF;
            ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
            ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
            qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                         ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

// ---- Q2_K encoders ----

void quantize_block_q2_k_ref(const float* x, block_q2_k& y) {
    uint8_t L[k_qk_k];
    uint8_t Laux[16];
    float weights[16];
    float mins[k_qk_k / 16];
    float scales[k_qk_k / 16];
    const float q4scale = 15.f;

    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < k_qk_k / 16; ++j) {
        for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
        scales[j] = make_qkx_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < k_qk_k / 16; ++j) y.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
        y.d = f32_to_fp16(max_scale / q4scale);
    } else {
        for (int j = 0; j < k_qk_k / 16; ++j) y.scales[j] = 0;
        y.d = f32_to_fp16(0.f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < k_qk_k / 16; ++j)
            y.scales[j] = static_cast<uint8_t>(y.scales[j] | (nearest_int(iscale * mins[j]) << 4));
        y.dmin = f32_to_fp16(max_min / q4scale);
    } else {
        y.dmin = f32_to_fp16(0.f);
    }
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float d = fp16_to_f32(y.d) * static_cast<float>(y.scales[j] & 0xF);
        if (!(d != 0.f)) continue;
        const float dm = fp16_to_f32(y.dmin) * static_cast<float>(y.scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            int l = nearest_int((x[16 * j + ii] + dm) / d);
            l = std::max(0, std::min(3, l));
            L[16 * j + ii] = static_cast<uint8_t>(l);
        }
    }
    pack_2bit(L, y.qs);
}

void quantize_block_q2_k_imatrix(const float* x, block_q2_k& y, const float* qw_block) {
    uint8_t L[k_qk_k];
    uint8_t Laux[16];
    float mins[k_qk_k / 16];
    float scales[k_qk_k / 16];
    float sw[k_qk_k / 16] = {};
    float weight[16];
    uint8_t Ls[k_qk_k / 16], Lm[k_qk_k / 16];

    float sumx2 = 0;
    for (int j = 0; j < k_qk_k; ++j) sumx2 += x[j] * x[j];
    const float sigma2 = sumx2 / k_qk_k;
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float* qw = qw_block + 16 * j;
        for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        for (int l = 0; l < 16; ++l) sw[j] += weight[l];
        scales[j] = make_qkx_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }
    float dm = make_qp_quants(k_qk_k / 16, 15, scales, Ls, sw);
    float mm = make_qp_quants(k_qk_k / 16, 15, mins, Lm, sw);
    y.d = f32_to_fp16(dm);
    y.dmin = f32_to_fp16(mm);
    dm = fp16_to_f32(y.d);
    mm = fp16_to_f32(y.dmin);
    for (int j = 0; j < k_qk_k / 16; ++j) y.scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float d = dm * static_cast<float>(y.scales[j] & 0xF);
        if (!(d != 0.f)) continue;
        const float m = mm * static_cast<float>(y.scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            int l = nearest_int((x[16 * j + ii] + m) / d);
            l = std::max(0, std::min(3, l));
            L[16 * j + ii] = static_cast<uint8_t>(l);
        }
    }
    pack_2bit(L, y.qs);
}

// ---- Q3_K encoders ----

void quantize_block_q3_k_ref(const float* x, block_q3_k& y) {
    int8_t L[k_qk_k];
    float scales[k_qk_k / 16];
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < k_qk_k / 16; ++j) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        const float scale = std::fabs(scales[j]);
        if (scale > amax) {
            amax = scale;
            max_scale = scales[j];
        }
    }
    if (max_scale != 0.f) {
        const float iscale = -32.f / max_scale;
        int l6[16];
        for (int j = 0; j < k_qk_k / 16; ++j) {
            // ggml stores nearest_int() into an int8_t before clamping.
            const int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
            l6[j] = std::max<int>(-32, std::min<int>(31, l)) + 32;
        }
        pack_q3_k_scales(l6, y.scales);
        y.d = f32_to_fp16(1 / iscale);
    } else {
        std::memset(y.scales, 0, 12);
        y.d = f32_to_fp16(0.f);
    }
    pack_q3_k_quants(x, y, L);
}

void quantize_block_q3_k_imatrix(const float* x, block_q3_k& y, const float* qw_block) {
    int8_t L[k_qk_k];
    float scales[k_qk_k / 16];
    float weight[16];
    float sw[k_qk_k / 16];
    int8_t Ls[k_qk_k / 16];

    float sumx2 = 0;
    for (int j = 0; j < k_qk_k; ++j) sumx2 += x[j] * x[j];
    const float sigma2 = 2 * sumx2 / k_qk_k;
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float* qw = qw_block + 16 * j;
        for (int l = 0; l < 16; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 16; ++l) sumw += weight[l];
        sw[j] = sumw;
        scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, weight);
    }
    const float d_block = make_qx_quants(k_qk_k / 16, 32, scales, Ls, sw);
    int l6[16];
    for (int j = 0; j < 16; ++j) l6[j] = Ls[j];
    pack_q3_k_scales(l6, y.scales);
    y.d = f32_to_fp16(d_block);
    pack_q3_k_quants(x, y, L);
}

// ---- Q4_K / Q5_K encoders ----

template <int nmax, class block>
void quantize_block_k4_ref(const float* x, block& y, float rmin, float rdelta, int nstep, uint8_t* L) {
    uint8_t Laux[32];
    float weights[32];
    float mins[k_qk_k / 32];
    float scales[k_qk_k / 32];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < k_qk_k / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
        scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < k_qk_k / 32; ++j) {
        ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
        lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    }
    pack_scale_min_k4(ls, lm, y.scales);
    y.d = f32_to_fp16(max_scale / 63.f);
    y.dmin = f32_to_fp16(max_min / 63.f);
    requantize_k4(x, y.d, y.dmin, y.scales, nmax, L);
}

template <int nmax, class block>
void quantize_block_k4_imatrix(const float* x, block& y, const float* qw_block, uint8_t* L) {
    uint8_t Laux[32];
    uint8_t Ls[k_qk_k / 32];
    uint8_t Lm[k_qk_k / 32];
    float weights[32];
    float sw[k_qk_k / 32];
    float mins[k_qk_k / 32];
    float scales[k_qk_k / 32];

    float sum_x2 = 0;
    for (int l = 0; l < k_qk_k; ++l) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / k_qk_k;
    for (int j = 0; j < k_qk_k / 32; ++j) {
        const float* qw = qw_block + 32 * j;
        for (int l = 0; l < 32; ++l) weights[l] = qw[l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 32; ++l) sumw += weights[l];
        sw[j] = sumw;
        scales[j] = make_qkx_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false);
    }
    const float d_block = make_qp_quants(k_qk_k / 32, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(k_qk_k / 32, 63, mins, Lm, sw);
    for (int j = 0; j < k_qk_k / 32; ++j) {
        Ls[j] = std::min<uint8_t>(63, Ls[j]);
        Lm[j] = std::min<uint8_t>(63, Lm[j]);
    }
    pack_scale_min_k4(Ls, Lm, y.scales);
    y.d = f32_to_fp16(d_block);
    y.dmin = f32_to_fp16(m_block);
    requantize_k4(x, y.d, y.dmin, y.scales, nmax, L);
}

inline void pack_q4_k(const uint8_t* L, block_q4_k& y) {
    uint8_t* q = y.qs;
    for (int j = 0; j < k_qk_k; j += 64) {
        for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
        q += 32;
    }
}

// ---- Q6_K encoder (qw == nullptr: reference weights x^2) ----

void quantize_block_q6_k(const float* x, block_q6_k& y, const float* qw_block) {
    int8_t L[k_qk_k];
    float scales[k_qk_k / 16];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < k_qk_k / 16; ++ib) {
        const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw_block ? qw_block + 16 * ib : nullptr);
        scales[ib] = scale;
        const float abs_scale = std::fabs(scale);
        if (abs_scale > max_abs_scale) {
            max_abs_scale = abs_scale;
            max_scale = scale;
        }
    }
    if (max_abs_scale < k_group_max_eps) {
        std::memset(&y, 0, sizeof(block_q6_k));
        y.d = f32_to_fp16(0.f);
        return;
    }
    const float iscale = -128.f / max_scale;
    y.d = f32_to_fp16(1 / iscale);
    for (int ib = 0; ib < k_qk_k / 16; ++ib)
        y.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < k_qk_k / 16; ++j) {
        const float d = fp16_to_f32(y.d) * static_cast<float>(y.scales[j]);
        if (!(d != 0.f)) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = nearest_int(x[16 * j + ii] / d);
            l = std::max(-32, std::min(31, l));
            L[16 * j + ii] = static_cast<int8_t>(l + 32);
        }
    }
    pack_q6_k(L, y);
}

}  // namespace

// ================================ Q2_K ================================

void dequantize_row_q2_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q2_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        for (int half = 0; half < k_qk_k; half += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * static_cast<float>(sc & 0xF);
                    const float ml = min * static_cast<float>(sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *dst++ = dl * static_cast<float>((q[l + 16 * part] >> shift) & 3) - ml;
                }
            }
            q += 32;
        }
    }
}

void quantize_row_q2_k__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q2_k*>(dst);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        if (importance)
            quantize_block_q2_k_imatrix(src + i * k_qk_k, y[i], importance + i * k_qk_k);
        else
            quantize_block_q2_k_ref(src + i * k_qk_k, y[i]);
    }
}

// ================================ Q3_K ================================

void dequantize_row_q3_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q3_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d_all = fp16_to_f32(x[i].d);
        const uint8_t* q = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int half = 0; half < k_qk_k; half += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part) {
                    const float dl = d_all * static_cast<float>(q3_k_scale(x[i].scales, is++));
                    for (int l = 0; l < 16; ++l) {
                        const int k = l + 16 * part;
                        const int v = ((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4);
                        *dst++ = dl * static_cast<float>(v);
                    }
                }
                m = static_cast<uint8_t>(m << 1);
            }
            q += 32;
        }
    }
}

void quantize_row_q3_k__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q3_k*>(dst);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        if (importance)
            quantize_block_q3_k_imatrix(src + i * k_qk_k, y[i], importance + i * k_qk_k);
        else
            quantize_block_q3_k_ref(src + i * k_qk_k, y[i]);
    }
}

// ================================ Q4_K ================================

void dequantize_row_q4_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q4_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const uint8_t* q = x[i].qs;
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        for (int is = 0; is < 8; is += 2) {
            uint8_t sc, m;
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
            q += 32;
        }
    }
}

void quantize_row_q4_k__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q4_k*>(dst);
    uint8_t L[k_qk_k];
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        if (importance)
            quantize_block_k4_imatrix<15>(src + i * k_qk_k, y[i], importance + i * k_qk_k, L);
        else
            quantize_block_k4_ref<15>(src + i * k_qk_k, y[i], -1.f, 0.1f, 20, L);
        pack_q4_k(L, y[i]);
    }
}

// ================================ Q5_K ================================

void dequantize_row_q5_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q5_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const uint8_t* ql = x[i].qs;
        const uint8_t* qh = x[i].qh;
        const float d = fp16_to_f32(x[i].d);
        const float min = fp16_to_f32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2) {
            uint8_t sc, m;
            get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * static_cast<float>(sc), m1 = min * static_cast<float>(m);
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * static_cast<float>(sc), m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l)
                *dst++ = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *dst++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            ql += 32;
            u1 = static_cast<uint8_t>(u1 << 2);
            u2 = static_cast<uint8_t>(u2 << 2);
        }
    }
}

void quantize_row_q5_k__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q5_k*>(dst);
    uint8_t L[k_qk_k];
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        if (importance)
            quantize_block_k4_imatrix<31>(src + i * k_qk_k, y[i], importance + i * k_qk_k, L);
        else
            quantize_block_k4_ref<31>(src + i * k_qk_k, y[i], -0.5f, 0.1f, 15, L);
        pack_q5_k(L, y[i]);
    }
}

// ================================ Q6_K ================================

void dequantize_row_q6_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q6_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int half = 0; half < k_qk_k; half += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // (d * sc) * q, in this order, as ggml.
                dst[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
                dst[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                dst[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                dst[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
            }
            dst += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void quantize_row_q6_k__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_q6_k*>(dst);
    for (int64_t i = 0; i < n / k_qk_k; ++i)
        quantize_block_q6_k(src + i * k_qk_k, y[i], importance ? importance + i * k_qk_k : nullptr);
}

// ================================ Q8_K ================================

void dequantize_row_q8_k__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_q8_k*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i)
        for (int j = 0; j < k_qk_k; ++j) *dst++ = x[i].d * static_cast<float>(x[i].qs[j]);
}

void quantize_row_q8_k__ref(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    auto* y = static_cast<block_q8_k*>(dst);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float* x = src + i * k_qk_k;
        float max = 0;
        float amax = 0;
        for (int j = 0; j < k_qk_k; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!(amax != 0.f)) {
            std::memset(&y[i], 0, sizeof(block_q8_k));
            continue;
        }
        // -127 (not -128) as ggml: keeps |q| <= 127 for the i-quant dot products.
        const float iscale = -127.f / max;
        for (int j = 0; j < k_qk_k; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
        for (int j = 0; j < k_qk_k / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = static_cast<int16_t>(sum);
        }
        y[i].d = 1 / iscale;
    }
}

}  // namespace lowbit
