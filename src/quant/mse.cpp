#include "quant/mse.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "lowbit/error.hpp"
#include "quant/int_grid.hpp"

namespace lowbit {
namespace {

using lbfmt::sanitize;

constexpr int k_ratio_steps = 50;  // r = 1 - k / 100

// ---- INT ---------------------------------------------------------------------------------------

double int_error(const int_spec& s, const int_grid& g, const float* x, const float* w, int64_t nv, int* codes) {
    double e = 0;
    for (int64_t i = 0; i < nv; ++i) {
        const int q = int_code(s, g, x[i]);
        if (codes) codes[i] = q;
        const double d = double(x[i]) - double(int_value(s, g, q));
        e += (w ? double(w[i]) : 1.0) * d * d;
    }
    return e;
}

// Least-squares (d, m) for fixed codes: min sum w (x - d q - m)^2 (m = 0 when symmetric).
bool int_refit(const int_spec& s, const float* x, const float* w, const int* q, int64_t nv, float& d, float& m) {
    double sw = 0, sq = 0, sx = 0, sqq = 0, sqx = 0;
    for (int64_t i = 0; i < nv; ++i) {
        const double wi = w ? w[i] : 1.0, qi = q[i], xi = x[i];
        sw += wi, sq += wi * qi, sx += wi * xi, sqq += wi * qi * qi, sqx += wi * qi * xi;
    }
    if (!s.asym) {
        if (!(sqq > 0)) return false;
        d = static_cast<float>(sqx / sqq);
        m = 0;
        return d > 0;
    }
    const double det = sw * sqq - sq * sq;
    if (!(std::abs(det) > 1e-30)) return false;
    d = static_cast<float>((sw * sqx - sq * sx) / det);
    m = static_cast<float>((sqq * sx - sq * sqx) / det);
    return d > 0;
}

void encode_int_row(const int_spec& s, const float* x, uint8_t* dst, int64_t n, const float* imp) {
    const int64_t G = s.group_len(n);
    const int64_t nb = (n + G - 1) / G;
    std::vector<int_grid> grids(static_cast<size_t>(nb));
    std::vector<int> codes(static_cast<size_t>(n)), tmp(static_cast<size_t>(G));
    std::vector<float> xs(static_cast<size_t>(G));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t nv = std::min(G, n - ib * G);
        for (int64_t i = 0; i < nv; ++i) xs[i] = sanitize(x[ib * G + i]);
        const float* w = imp ? imp + ib * G : nullptr;
        float amax = 0;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(xs[i]));
        int_grid best = int_grid_rtn(s, xs.data(), nv);
        double best_e = int_error(s, best, xs.data(), w, nv, nullptr);
        float gmin = xs[0], gmax = xs[0];
        for (int64_t i = 0; i < nv; ++i) gmin = std::min(gmin, xs[i]), gmax = std::max(gmax, xs[i]);
        for (int k = 0; k <= k_ratio_steps && amax > 0; ++k) {
            const float r = 1.0f - 0.01f * static_cast<float>(k);
            const int_grid g = s.asym ? int_grid_round(s, r * (gmax - gmin) / float(s.qmax()), r * gmin)
                                      : int_grid_round(s, r * amax / float(s.qmax()), 0.0f);
            if (!(g.d > 0)) continue;
            const double e = int_error(s, g, xs.data(), w, nv, nullptr);
            if (e < best_e) best_e = e, best = g;
        }
        // Refit the winner's scale (and minimum) to its codes, twice at most.
        for (int it = 0; it < 2 && best.d > 0; ++it) {
            int_error(s, best, xs.data(), w, nv, tmp.data());
            float d = 0, m = 0;
            if (!int_refit(s, xs.data(), w, tmp.data(), nv, d, m)) break;
            const int_grid g = int_grid_round(s, d, m);
            const double e = g.d > 0 ? int_error(s, g, xs.data(), w, nv, nullptr) : best_e;
            if (!(e < best_e)) break;
            best_e = e, best = g;
        }
        grids[static_cast<size_t>(ib)] = best;
        int_error(s, best, xs.data(), w, nv, codes.data() + ib * G);
    }
    int_pack_row(s, grids.data(), codes.data(), n, dst);
}

// ---- codebook formats: NF4 (64 per fp16 scale) and FP4 E2M1 (32 per fp16 scale) -----------------

struct codebook {
    int64_t block;
    float vmax;             // largest |value| of the table
    const float* values;    // 16 entries
    uint8_t (*nearest)(float);
};

uint8_t nf4_code(float v) { return nf4_nearest(v); }
uint8_t fp4_code(float v) { return f32_to_fp4_e2m1(v); }

double cb_error(const codebook& cb, float d, const float* x, const float* w, int64_t nv) {
    double e = 0;
    for (int64_t i = 0; i < nv; ++i) {
        const float y = d > 0 ? d * cb.values[cb.nearest(x[i] / d)] : 0.0f;
        const double r = double(x[i]) - double(y);
        e += (w ? double(w[i]) : 1.0) * r * r;
    }
    return e;
}

void encode_codebook_row(const codebook& cb, const float* x, uint8_t* dst, int64_t n, const float* imp) {
    const int64_t B = cb.block;
    const int64_t nb = (n + B - 1) / B;
    const size_t bytes = 2 + static_cast<size_t>(B / 2);
    std::vector<float> xs(static_cast<size_t>(B));
    for (int64_t ib = 0; ib < nb; ++ib) {
        const int64_t nv = std::min(B, n - ib * B);
        for (int64_t i = 0; i < nv; ++i) xs[i] = sanitize(x[ib * B + i]);
        const float* w = imp ? imp + ib * B : nullptr;
        float amax = 0;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(xs[i]));
        // The reference encoder's scale: absmax / vmax rounded up to fp16.
        uint16_t best = amax > 0 ? lbfmt::fp16_scale_up(amax / cb.vmax, cb.vmax, amax) : 0;
        double best_e = cb_error(cb, fp16_to_f32(best), xs.data(), w, nv);
        for (int k = 1; k <= 30 && amax > 0; ++k) {
            const float r = 1.0f - 0.01f * static_cast<float>(k);
            const uint16_t h = f32_to_fp16(r * amax / cb.vmax);
            const float d = fp16_to_f32(h);
            if (!(d > 0) || !std::isfinite(d)) continue;
            const double e = cb_error(cb, d, xs.data(), w, nv);
            if (e < best_e) best_e = e, best = h;
        }
        // Least-squares refit of the scale for the winner's codes.
        if (best != 0) {
            const float d0 = fp16_to_f32(best);
            double num = 0, den = 0;
            for (int64_t i = 0; i < nv; ++i) {
                const double v = cb.values[cb.nearest(xs[i] / d0)], wi = w ? w[i] : 1.0;
                num += wi * v * xs[i], den += wi * v * v;
            }
            if (den > 0 && num > 0) {
                const uint16_t h = f32_to_fp16(static_cast<float>(num / den));
                const float d = fp16_to_f32(h);
                if (d > 0 && std::isfinite(d) && cb_error(cb, d, xs.data(), w, nv) < best_e) best = h;
            }
        }
        uint8_t* p = dst + static_cast<size_t>(ib) * bytes;
        std::memset(p, 0, bytes);
        std::memcpy(p, &best, 2);  // little-endian hosts only, as the formats' own codecs
        const float d = fp16_to_f32(best);
        const uint8_t zero = cb.nearest(0.0f);
        for (int64_t i = 0; i < B; ++i) {
            const uint8_t c = (i < nv && d > 0) ? cb.nearest(xs[i] / d) : zero;
            lbfmt::put_bits(p + 2, i, 4, c);
        }
    }
}

const codebook k_nf4{k_qk_nf4, 1.0f, k_nf4_values, nf4_code};
const codebook k_fp4{k_qk_fp4, k_fp4_e2m1_max, k_fp4_e2m1_values, fp4_code};

}  // namespace

bool mse_supported(type t) { return int_spec_of(t).has_value() || t == ext_type::nf4 || t == ext_type::fp4_e2m1; }

void quantize_row_mse(type t, const float* x, uint8_t* dst, int64_t n, const float* importance) {
    LOWBIT_REQUIRE(n >= 1, "quantize_row_mse: n = {}", n);
    if (const auto s = int_spec_of(t)) encode_int_row(*s, x, dst, n, importance);
    else if (t == ext_type::nf4) encode_codebook_row(k_nf4, x, dst, n, importance);
    else if (t == ext_type::fp4_e2m1) encode_codebook_row(k_fp4, x, dst, n, importance);
    else fail("quantize_row_mse: type {} has no mse encoder", type_name(t));
}

double weighted_sq_error(type t, const float* x, const uint8_t* row, int64_t n, const float* importance) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, row, y.data(), n);
    double e = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = double(x[i]) - double(y[i]);
        e += (importance ? double(importance[i]) : 1.0) * d * d;
    }
    return e;
}

}  // namespace lowbit
