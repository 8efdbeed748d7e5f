// FP8 (OCP E4M3 and E5M2) with an fp16 scale per 32 weights (fp8_e4m3, fp8_e5m2) or one fp32 scale
// per row (fp8_e4m3_pt, fp8_e5m2_pt): scalar reference codecs. Layouts: lowbit_blocks.hpp.
//   w = scale * fp8(u); scale = absmax / fp8_max (448 or 57344), rounded up so nothing saturates;
//   weight / scale is rounded to nearest-even FP8 (saturating).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"

namespace lowbit {
namespace {

using namespace lbfmt;

enum class fp8_kind { e4m3, e5m2 };

template <fp8_kind K>
const std::array<float, 256>& fp8_lut() {
    static const std::array<float, 256> lut = [] {
        std::array<float, 256> t{};
        for (int c = 0; c < 256; ++c)
            t[c] = K == fp8_kind::e4m3 ? fp8_e4m3_to_f32(static_cast<uint8_t>(c)) : fp8_e5m2_to_f32(static_cast<uint8_t>(c));
        return t;
    }();
    return lut;
}

template <fp8_kind K>
constexpr float fp8_max() {
    return K == fp8_kind::e4m3 ? k_fp8_e4m3_max : k_fp8_e5m2_max;
}

template <fp8_kind K>
uint8_t to_fp8(float v) {
    return K == fp8_kind::e4m3 ? f32_to_fp8_e4m3(v) : f32_to_fp8_e5m2(v);
}

template <fp8_kind K>
void quantize_blocks(const float* src, void* dst, int64_t n) {
    auto* y = static_cast<block_fp8*>(dst);
    const int64_t nb = (n + k_qk_fp8 - 1) / k_qk_fp8;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float* x = src + ib * k_qk_fp8;
        const int64_t nv = std::min<int64_t>(k_qk_fp8, n - ib * k_qk_fp8);
        block_fp8 b;
        std::memset(&b, 0, sizeof(b));
        float amax = 0.0f;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(sanitize(x[i])));
        b.d = amax > 0.0f ? fp16_scale_up(amax / fp8_max<K>(), fp8_max<K>(), amax) : 0;
        const float d = fp16_to_f32(b.d);
        for (int64_t i = 0; i < nv; ++i) b.qs[i] = d > 0.0f ? to_fp8<K>(sanitize(x[i]) / d) : 0;
        std::memcpy(&y[ib], &b, sizeof(b));
    }
}

template <fp8_kind K>
void dequantize_blocks(const void* src, float* dst, int64_t n) {
    const auto& lut = fp8_lut<K>();
    const auto* x = static_cast<const block_fp8*>(src);
    const int64_t nb = (n + k_qk_fp8 - 1) / k_qk_fp8;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float d = fp16_to_f32(x[ib].d);
        const int64_t nv = std::min<int64_t>(k_qk_fp8, n - ib * k_qk_fp8);
        for (int64_t i = 0; i < nv; ++i) dst[ib * k_qk_fp8 + i] = d * lut[x[ib].qs[i]];
    }
}

template <fp8_kind K>
void quantize_pt(const float* src, void* dst, int64_t n) {
    auto* p = static_cast<uint8_t*>(dst);
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(sanitize(src[i])));
    float s = amax / fp8_max<K>();
    while (s * fp8_max<K>() < amax) s = std::nextafter(s, INFINITY);
    std::memcpy(p, &s, 4);
    for (int64_t i = 0; i < n; ++i) p[4 + i] = s > 0.0f ? to_fp8<K>(sanitize(src[i]) / s) : 0;
}

template <fp8_kind K>
void dequantize_pt(const void* src, float* dst, int64_t n) {
    const auto& lut = fp8_lut<K>();
    const auto* p = static_cast<const uint8_t*>(src);
    float s;
    std::memcpy(&s, p, 4);
    for (int64_t i = 0; i < n; ++i) dst[i] = s * lut[p[4 + i]];
}

}  // namespace

size_t row_bytes_fp8_pt(int64_t n) { return sizeof(row_header_fp8_pt) + static_cast<size_t>(n); }

void quantize_row_fp8_e4m3__ref(const float* src, void* dst, int64_t n, const float*) { quantize_blocks<fp8_kind::e4m3>(src, dst, n); }
void dequantize_row_fp8_e4m3__ref(const void* src, float* dst, int64_t n) { dequantize_blocks<fp8_kind::e4m3>(src, dst, n); }
void quantize_row_fp8_e5m2__ref(const float* src, void* dst, int64_t n, const float*) { quantize_blocks<fp8_kind::e5m2>(src, dst, n); }
void dequantize_row_fp8_e5m2__ref(const void* src, float* dst, int64_t n) { dequantize_blocks<fp8_kind::e5m2>(src, dst, n); }
void quantize_row_fp8_e4m3_pt__ref(const float* src, void* dst, int64_t n, const float*) { quantize_pt<fp8_kind::e4m3>(src, dst, n); }
void dequantize_row_fp8_e4m3_pt__ref(const void* src, float* dst, int64_t n) { dequantize_pt<fp8_kind::e4m3>(src, dst, n); }
void quantize_row_fp8_e5m2_pt__ref(const float* src, void* dst, int64_t n, const float*) { quantize_pt<fp8_kind::e5m2>(src, dst, n); }
void dequantize_row_fp8_e5m2_pt__ref(const void* src, float* dst, int64_t n) { dequantize_pt<fp8_kind::e5m2>(src, dst, n); }

int64_t find_nonfinite_fp8(type t, const uint8_t* rows, size_t row_stride, int64_t n_rows, int64_t n_cols) {
    const bool e4m3 = t == ext_type::fp8_e4m3 || t == ext_type::fp8_e4m3_pt;
    const bool pt = t == ext_type::fp8_e4m3_pt || t == ext_type::fp8_e5m2_pt;
    if (!e4m3 && t != ext_type::fp8_e5m2 && t != ext_type::fp8_e5m2_pt) return -1;
    // E4M3: S.1111.111 is NaN. E5M2: exponent 11111 is Inf (mantissa 0) or NaN.
    const uint8_t mask = e4m3 ? 0x7F : 0x7C;
    // Index of the first code in codes[0, n) with (code & mask) == mask, or -1.
    const auto first_hit = [mask](const uint8_t* codes, int64_t n) -> int64_t {
        uint8_t any = 0;
        for (int64_t i = 0; i < n; ++i) any |= static_cast<uint8_t>((codes[i] & mask) == mask);
        if (!any) return -1;
        for (int64_t i = 0; i < n; ++i)
            if ((codes[i] & mask) == mask) return i;
        return -1;
    };
    for (int64_t r = 0; r < n_rows; ++r) {
        const uint8_t* row = rows + static_cast<size_t>(r) * row_stride;
        if (pt) {
            if (const int64_t i = first_hit(row + sizeof(row_header_fp8_pt), n_cols); i >= 0) return r * n_cols + i;
            continue;
        }
        for (int64_t b = 0; b < n_cols / k_qk_fp8; ++b) {
            const auto* blk = reinterpret_cast<const block_fp8*>(row) + b;
            if (const int64_t i = first_hit(blk->qs, k_qk_fp8); i >= 0) return r * n_cols + b * k_qk_fp8 + i;
        }
    }
    return -1;
}

}  // namespace lowbit
