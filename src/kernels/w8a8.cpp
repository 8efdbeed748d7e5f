// W8A8 reference kernels, dispatch and the int8-activation matrix product; see w8a8.hpp.
#include "kernels/w8a8.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.hpp"
#include "core/parallel.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/matmul.hpp"

namespace lowbit::kernels {

void quantize_row_s8__ref(const float* x, int8_t* q, int64_t n, float d) {
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int64_t j = 0; j < n; ++j) {
        float v = std::nearbyint(x[j] * id);  // ties to even (default rounding mode)
        if (!(v >= -127.0f)) v = -127.0f;    // NaN reads as -127, as the AVX2 max/min do
        if (v > 127.0f) v = 127.0f;
        q[j] = static_cast<int8_t>(v);
    }
}

float absmax_f32__ref(const float* x, int64_t n) {
    float m = 0.0f;
    for (int64_t j = 0; j < n; ++j) m = std::max(m, std::fabs(x[j]));
    return m;
}

int64_t dot_u8off_s8__ref(const uint8_t* u, const int8_t* q, int64_t n) {
    int64_t s = 0;
    for (int64_t j = 0; j < n; ++j) s += (int64_t(u[j]) - 128) * int64_t(q[j]);
    return s;
}

void dot4_u8off_s8__ref(const uint8_t* const* u, const int8_t* q, int64_t n, int64_t* out) {
    for (int i = 0; i < 4; ++i) out[i] = dot_u8off_s8__ref(u[i], q, n);
}

w8a8_kernels w8a8_kernels_for(isa_tier tier) {
    if (tier >= isa_tier::avx2) return {quantize_row_s8__avx2, absmax_f32__avx2, dot_u8off_s8__avx2, dot4_u8off_s8__avx2};
    return {quantize_row_s8__ref, absmax_f32__ref, dot_u8off_s8__ref, dot4_u8off_s8__ref};
}

}  // namespace lowbit::kernels

namespace lowbit {
namespace {

// d_x of one activation row under `a`.
float act_scale(const act_quant_desc& a, const float* x, int64_t n, const kernels::w8a8_kernels& kk) {
    return a.mode == act_mode::static_tensor ? a.scale : kernels::dynamic_scale(kk.absmax(x, n));
}

}  // namespace

void fake_quantize_act(const weight_matrix& w, int64_t n_tokens, float* x, int64_t ldx) {
    if (w.act.mode == act_mode::none) return;
    const auto kk = kernels::w8a8_kernels_for(active_isa_tier());
    int8_t q[1024];  // the codes of one piece of a row (each value is rounded on its own)
    for (int64_t t = 0; t < n_tokens; ++t) {
        float* xr = x + t * ldx;
        const float d = act_scale(w.act, xr, w.n_cols, kk);
        for (int64_t j0 = 0; j0 < w.n_cols; j0 += int64_t(sizeof q)) {
            const int64_t m = std::min<int64_t>(int64_t(sizeof q), w.n_cols - j0);
            kk.quantize(xr + j0, q, m, d);
            for (int64_t j = 0; j < m; ++j) xr[j0 + j] = d * float(q[j]);
        }
    }
}

void matmul_w8a8(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                 int n_threads, matmul_scratch& scratch) {
    const int64_t k = w.n_cols;
    if (w.t != ext_type::int8_pc) {
        // No integer kernel for this weight type: the activation rounding is simulated.
        thread_local std::vector<float> xs;
        xs.resize(static_cast<size_t>(n_tokens * k));
        for (int64_t t = 0; t < n_tokens; ++t) std::memcpy(xs.data() + t * k, x + t * ldx, sizeof(float) * size_t(k));
        fake_quantize_act(w, n_tokens, xs.data(), k);
        matmul_weight_only(w, n_tokens, xs.data(), k, y, ldy, n_threads, scratch);
        return;
    }
    if (n_threads <= 0) n_threads = default_threads();
    if (n_tokens * w.n_rows * k < (int64_t(1) << 18)) n_threads = 1;
    const auto kk = kernels::w8a8_kernels_for(active_isa_tier());
    // scratch: [n_tokens] float scales, then [n_tokens][k] int8 codes.
    uint8_t* buf = scratch.act(sizeof(float) * size_t(n_tokens) + size_t(n_tokens * k));
    float* dx = reinterpret_cast<float*>(buf);
    int8_t* qx = reinterpret_cast<int8_t*>(buf + sizeof(float) * size_t(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
        dx[t] = act_scale(w.act, x + t * ldx, k, kk);
        kk.quantize(x + t * ldx, qx + t * k, k, dx[t]);
    }
    auto row_scale = [&](int64_t r) {
        uint16_t h;
        std::memcpy(&h, w.row(r), sizeof h);
        return fp16_to_f32(h);
    };
    // Chunks of 16 rows; inside, groups of 4 rows stay in L1 while every token's activations pass
    // once (dot4), so the activations are read n_rows / 4 times instead of n_rows times.
    const int64_t n_chunks = (w.n_rows + 15) / 16;
    parallel_for(n_chunks, n_threads, [&](int64_t b, int64_t e, int) {
        const int64_t r1 = std::min(w.n_rows, e * 16);
        int64_t r = b * 16;
        for (; r + 4 <= r1; r += 4) {
            const uint8_t* rows[4] = {w.row(r) + 2, w.row(r + 1) + 2, w.row(r + 2) + 2, w.row(r + 3) + 2};
            const float dw[4] = {row_scale(r), row_scale(r + 1), row_scale(r + 2), row_scale(r + 3)};
            int64_t s[4];
            for (int64_t t = 0; t < n_tokens; ++t) {
                kk.dot4(rows, qx + t * k, k, s);
                for (int i = 0; i < 4; ++i) y[t * ldy + r + i] = (dx[t] * dw[i]) * static_cast<float>(s[i]);
            }
        }
        for (; r < r1; ++r) {
            const float dw = row_scale(r);
            for (int64_t t = 0; t < n_tokens; ++t)
                y[t * ldy + r] = (dx[t] * dw) * static_cast<float>(kk.dot(w.row(r) + 2, qx + t * k, k));
        }
    });
}

}  // namespace lowbit
