// Quantized dot products of lowbit's own formats (kernels/dot.hpp, dot_lowbit_*.cpp):
//  - __ref against the de-quantized rows dotted in double (tolerance 1e-5 * sum|w a|; NF4 adds the
//    documented int8-codebook error, bounded per weight by |nf4[u] - k_nf4_i8[u] / 127| * d);
//  - every __avx2 kernel against __ref on 1 group, odd counts, 4096+ (random code bytes, sane scales);
//  - the FP8 __avx2 kernels (f32-bit decode, values scaled by 2^-120 / 2^-112) on the edge cases of
//    that decode: every code alone (exact), subnormal-only rows with tiny and large activations;
//  - the NF4/FP4 int8 codebooks against the format's float levels;
//  - matmul's generation path for these types equals the kernel, sentinel-filled strided output.
// Seeds are printed on failure.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "kernels/dot.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"

namespace lowbit {
namespace {

constexpr uint32_t k_seed = 20261124;

std::vector<type> lowbit_dot_types() {
    std::vector<type> v;
    for (const auto& t : all_types())
        if (static_cast<uint32_t>(t.id) >= k_lowbit_type_base && kernels::dot_kernel(t.id, isa_tier::ref)) v.push_back(t.id);
    return v;
}

bool is_asym_int(type t) {
    const uint32_t id = static_cast<uint32_t>(t);
    return id < 1056 && (id & 1);
}
bool is_fp8(type t) { return t == ext_type::fp8_e4m3 || t == ext_type::fp8_e5m2 || t == ext_type::fp8_e4m3_pt || t == ext_type::fp8_e5m2_pt; }
bool is_e4m3(type t) { return t == ext_type::fp8_e4m3 || t == ext_type::fp8_e4m3_pt; }
bool is_nf4(type t) { return t == ext_type::nf4 || t == ext_type::nf4_dq; }

// Row lengths: multiples of lcm(block, 32).
std::vector<int64_t> sizes(type t) {
    const int64_t bs = traits(t).block_size;
    const int64_t u = bs == 0 ? 32 : std::max<int64_t>(bs, 32);
    return {u, 3 * u, 7 * u, 4096, 4096 + u, 4096 + 5 * u, 11008};
}

std::vector<float> gaussian(size_t n, std::mt19937& rng) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Random code bytes with sane scale headers: d in [0.001, 0.1], asymmetric m in [-0.1, 0.1]; FP8
// codes that are NaN/Inf (never written by the encoders) are replaced by finite ones.
std::vector<uint8_t> random_row(type t, int64_t n, std::mt19937& rng) {
    std::vector<uint8_t> b(row_bytes(t, n));
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> ud(0.001f, 0.1f), um(-0.1f, 0.1f);
    const type_traits& tr = traits(t);
    const bool per_row = tr.block_size == 0;
    const size_t header = per_row ? tr.block_bytes : (is_asym_int(t) ? 4 : 2);
    const size_t step = per_row ? b.size() : tr.block_bytes;
    for (size_t off = 0; off < b.size(); off += step) {
        if (is_fp8(t) && per_row) {
            const float s = ud(rng);
            std::memcpy(b.data() + off, &s, 4);
        } else {
            lbfmt::store_u16(b.data() + off, f32_to_fp16(ud(rng)));
            if (is_asym_int(t)) lbfmt::store_u16(b.data() + off + 2, f32_to_fp16(um(rng)));
        }
        if (is_fp8(t))
            for (size_t i = off + header; i < off + step && i < b.size(); ++i) {
                if (is_e4m3(t) && (b[i] & 0x7F) == 0x7F) b[i] ^= 1;
                if (!is_e4m3(t) && ((b[i] >> 2) & 0x1F) == 31) b[i] &= 0xBF;
            }
    }
    return b;
}

std::vector<uint8_t> quantized_act(type at, const std::vector<float>& x) {
    std::vector<uint8_t> a(row_bytes(at, static_cast<int64_t>(x.size())));
    kernels::quantize_act_kernel(at)(x.data(), a.data(), static_cast<int64_t>(x.size()));
    return a;
}

struct expect_t {
    double dot, mag, codebook_err;
};

// The de-quantized weight row dotted with the de-quantized activations in double; mag = sum |w a|;
// for asymmetric formats the kernels apply the min through Q8_1's fp16 s = d_a sum(q_a): that
// rounding is added (m * (s - d_a sum q) per chunk). NF4: codebook_err bounds the int8 codebook's
// contribution, sum_i d_i * |nf4[u_i] - k_nf4_i8[u_i] / 127| * |a_i|.
expect_t dequant_dot(type t, const uint8_t* w, const uint8_t* a, int64_t n) {
    const type at = kernels::dot_act_type(t);
    const size_t ab = at == type::q8_1 ? 36 : 34, aq = at == type::q8_1 ? 4 : 2;
    std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
    dequantize_row(t, w, wf.data(), n);
    if (at == type::f32) {
        std::memcpy(af.data(), a, static_cast<size_t>(n) * sizeof(float));
    } else {
        for (int64_t c = 0; c < n / 32; ++c) {
            const float d = fp16_to_f32(lbfmt::load_u16(a + c * ab));
            for (int j = 0; j < 32; ++j) af[c * 32 + j] = d * static_cast<int8_t>(a[c * ab + aq + j]);
        }
    }
    expect_t e{0, 0, 0};
    for (int64_t i = 0; i < n; ++i) {
        e.dot += double(wf[i]) * af[i];
        e.mag += std::fabs(double(wf[i]) * af[i]);
    }
    if (is_asym_int(t)) {
        const int64_t G = traits(t).block_size ? traits(t).block_size : n;
        constexpr int k_bits[4] = {8, 4, 3, 2};  // id = 1024 + 8 * width_index + ...
        const int bits = k_bits[(static_cast<uint32_t>(t) - k_lowbit_type_base) / 8];
        const size_t gbytes = 4 + static_cast<size_t>(G * bits / 8);
        for (int64_t c = 0; c < n / 32; ++c) {
            const double m = fp16_to_f32(lbfmt::load_u16(w + (32 * c / G) * gbytes + 2));
            double sum = 0;
            for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(a[c * ab + aq + j]);
            e.dot += m * (double(fp16_to_f32(lbfmt::load_u16(a + c * ab + 2))) -
                          double(fp16_to_f32(lbfmt::load_u16(a + c * ab))) * sum);
        }
    }
    if (is_nf4(t)) {
        double worst = 0;
        for (int u = 0; u < 16; ++u) worst = std::max(worst, std::fabs(k_nf4_values[u] - kernels::k_nf4_i8[u] / 127.0));
        for (int64_t i = 0; i < n; ++i) {
            double d;
            if (t == ext_type::nf4) {
                d = fp16_to_f32(lbfmt::load_u16(w + (i / k_qk_nf4) * sizeof(block_nf4)));
            } else {
                const auto* b = reinterpret_cast<const block_nf4_dq*>(w) + i / k_qk_nf4_dq;
                d = double(fp16_to_f32(b->d)) * b->sc[(i % k_qk_nf4_dq) / 64];
            }
            e.codebook_err += d * worst * std::fabs(double(af[i]));
        }
    }
    return e;
}

TEST(DotLowbit, EveryNamedFormatHasAKernel) {
    for (type t : {ext_type::int4_g32, ext_type::int4_g64, ext_type::int4_g128, ext_type::int4_pc, ext_type::int4_g32_asym,
                   ext_type::int8_g32, ext_type::int8_pc, ext_type::int2_g32, ext_type::int2_g128, ext_type::int2_g64_asym,
                   ext_type::nf4, ext_type::nf4_dq, ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt,
                   ext_type::fp4_e2m1, ext_type::ternary_g64, ext_type::int3_g32, ext_type::int3_g32_asym,
                   ext_type::int3_g64, ext_type::int3_g64_asym, ext_type::int3_g128, ext_type::int3_g128_asym,
                   ext_type::int3_pc, ext_type::int3_pc_asym, ext_type::int8_g32_asym, ext_type::int8_pc_asym}) {
        EXPECT_NE(kernels::dot_kernel(t, isa_tier::ref), nullptr) << type_name(t);
        if (best_isa_tier() >= isa_tier::avx2) {
            EXPECT_NE(kernels::dot_kernel(t, isa_tier::avx2), kernels::dot_kernel(t, isa_tier::ref)) << type_name(t);
        }
    }
    EXPECT_EQ(kernels::dot_act_type(ext_type::int4_g32), type::q8_0);
    EXPECT_EQ(kernels::dot_act_type(ext_type::int4_g32_asym), type::q8_1);
    EXPECT_EQ(kernels::dot_act_type(ext_type::fp8_e4m3), type::f32);  // FP8 kernels read f32 activations
    EXPECT_EQ(kernels::dot_act_type(ext_type::int3_g64), type::q8_0);
    EXPECT_EQ(kernels::dot_act_type(ext_type::int3_pc_asym), type::q8_1);
}

TEST(DotLowbit, CodebooksMatchTheFormats) {
    double worst = 0;
    for (int u = 0; u < 16; ++u) {
        EXPECT_EQ(kernels::k_nf4_i8[u], static_cast<int>(std::lround(127.0 * k_nf4_values[u]))) << u;
        worst = std::max(worst, std::fabs(k_nf4_values[u] - kernels::k_nf4_i8[u] / 127.0));
        EXPECT_EQ(kernels::k_fp4_e2m1_x2[u] * 0.5f, fp4_e2m1_to_f32(static_cast<uint8_t>(u))) << u;
    }
    EXPECT_LT(worst, 0.0037);  // the NF4 int8 codebook error documented in dot.hpp, in units of d
}

TEST(DotLowbit, ReferenceMatchesDequantizedDot) {
    for (type t : lowbit_dot_types()) {
        const type at = kernels::dot_act_type(t);
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref);
        for (int64_t n : sizes(t)) {
            const uint32_t seed = k_seed + static_cast<uint32_t>(n) + 131 * static_cast<uint32_t>(t);
            std::mt19937 rng(seed);
            const auto w = random_row(t, n, rng);
            const auto a = quantized_act(at, gaussian(static_cast<size_t>(n), rng));
            const expect_t e = dequant_dot(t, w.data(), a.data(), n);
            const float got = ref(n, w.data(), a.data());
            EXPECT_LE(std::fabs(got - e.dot), 1e-5 * e.mag + e.codebook_err + 1e-30)
                << type_name(t) << "__ref n=" << n << " seed=" << seed << " want " << e.dot << " got " << got;
        }
    }
}

TEST(DotLowbit, Avx2MatchesReference) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (type t : lowbit_dot_types()) {
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref), avx2 = kernels::dot_kernel(t, isa_tier::avx2);
        if (avx2 == ref) continue;
        const type at = kernels::dot_act_type(t);
        for (int64_t n : sizes(t)) {
            const uint32_t seed = k_seed + 7 * static_cast<uint32_t>(n) + 131 * static_cast<uint32_t>(t);
            std::mt19937 rng(seed);
            const auto w = random_row(t, n, rng);
            const auto a = quantized_act(at, gaussian(static_cast<size_t>(n), rng));
            const float want = ref(n, w.data(), a.data()), got = avx2(n, w.data(), a.data());
            const double mag = dequant_dot(t, w.data(), a.data(), n).mag;
            EXPECT_LE(std::fabs(double(got) - want), 1e-5 * mag + 1e-30)
                << type_name(t) << "__avx2 n=" << n << " seed=" << seed << " want " << want << " got " << got;
        }
    }
}

std::vector<type> fp8_types() {
    return {ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt};
}

// An FP8 row of n weights, every scale s (block fp16 or per-row f32) and code `code` at position
// `at` (zero elsewhere, or every code when at < 0).
std::vector<uint8_t> fp8_row(type t, int64_t n, float s, uint8_t code, int64_t at) {
    std::vector<uint8_t> b(row_bytes(t, n), 0);
    const bool per_row = traits(t).block_size == 0;
    if (per_row) std::memcpy(b.data(), &s, 4);
    for (int64_t i = 0; i < n; ++i) {
        const size_t pos = per_row ? 4 + static_cast<size_t>(i) : static_cast<size_t>(i / 32 * 34 + 2 + i % 32);
        if (!per_row && i % 32 == 0) lbfmt::store_u16(b.data() + pos - 2, f32_to_fp16(s));
        if (at < 0 || i == at) b[pos] = code;
    }
    return b;
}

// Every finite code alone in a row against a one-hot activation, d * fp8(u) * x: the decode is exact
// (subnormals, zeros and signs included) and the product rounds once relative (2^-24) except where
// it falls among f32 subnormals in the scaled domain (|fp8 * x| < 2^-6): an absolute 2^-30 * d then.
TEST(DotLowbit, Fp8Avx2EveryCodeAlone) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (type t : fp8_types()) {
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref), avx2 = kernels::dot_kernel(t, isa_tier::avx2);
        const int64_t n = 96, at = 45;
        std::vector<float> x(n, 0.0f);
        x[at] = -0.7f;
        for (int u = 0; u < 256; ++u) {
            if (is_e4m3(t) ? (u & 0x7F) == 0x7F : ((u >> 2) & 0x1F) == 31) continue;  // NaN / Inf
            const auto w = fp8_row(t, n, 0.03125f, static_cast<uint8_t>(u), at);
            const double exact = 0.03125 * double(is_e4m3(t) ? fp8_e4m3_to_f32(static_cast<uint8_t>(u))
                                                            : fp8_e5m2_to_f32(static_cast<uint8_t>(u))) * x[at];
            const float want = ref(n, w.data(), x.data()), got = avx2(n, w.data(), x.data());
            EXPECT_LE(std::fabs(double(want) - exact), 0x1p-23 * std::fabs(exact)) << type_name(t) << " code " << u;
            EXPECT_LE(std::fabs(double(got) - exact), 0x1p-23 * std::fabs(exact) + 0x1p-30 * 0.03125)
                << type_name(t) << " code " << u << " want " << exact << " got " << got;
            if (u == 0 || u == 0x80) {
                EXPECT_EQ(got, 0.0f) << type_name(t) << " code " << u;
            }
        }
    }
}

// Rows of subnormal codes only (random mantissa and sign) with activations of 1e-6, 1 and 1e4: within
// 1e-5 * sum|w a| plus the absolute floor of the scaled decode (dot_lowbit_avx2.cpp): 2^-30 * d per
// multiply-add whose lane result is an f32 subnormal, at most 5 per lane of each chunk of 32.
TEST(DotLowbit, Fp8Avx2SubnormalRowsAndExtremeActivations) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (type t : fp8_types()) {
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref), avx2 = kernels::dot_kernel(t, isa_tier::avx2);
        for (float xs : {1e-6f, 1.0f, 1e4f}) {
            const int64_t n = 4096 + 32;
            const uint32_t seed = k_seed + static_cast<uint32_t>(t) + static_cast<uint32_t>(std::log10(xs) + 10);
            std::mt19937 rng(seed);
            auto w = fp8_row(t, n, 0.01f, 0, -1);
            const bool per_row = traits(t).block_size == 0;
            for (int64_t i = 0; i < n; ++i) {
                const size_t pos = per_row ? 4 + static_cast<size_t>(i) : static_cast<size_t>(i / 32 * 34 + 2 + i % 32);
                w[pos] = static_cast<uint8_t>(rng() & (is_e4m3(t) ? 0x87 : 0x83));  // exponent 0
            }
            auto x = gaussian(static_cast<size_t>(n), rng);
            for (auto& v : x) v *= xs;
            const float want = ref(n, w.data(), x.data()), got = avx2(n, w.data(), x.data());
            const double mag = dequant_dot(t, w.data(), reinterpret_cast<const uint8_t*>(x.data()), n).mag;
            EXPECT_GT(mag, 0.0);
            const double floor = 0x1p-30 * 0.01 * 5 * 8 * double(n / 32);
            EXPECT_LE(std::fabs(double(got) - want), 1e-5 * mag + floor)
                << type_name(t) << " x scale " << xs << " seed=" << seed << " want " << want << " got " << got;
            if (xs >= 1.0f) {
                EXPECT_LE(std::fabs(double(got) - want), 1e-5 * mag) << type_name(t) << " x scale " << xs;
            }
        }
    }
}

// The generation path of matmul for every lowbit type with a kernel at the active tier: y equals the
// kernel's dot with the quantized activations, and nothing outside y's rows is written.
TEST(DotLowbit, MatmulUsesTheKernels) {
    for (type t : lowbit_dot_types()) {
        const kernels::dot_fn dot = kernels::dot_kernel(t);
        if (active_isa_tier() >= isa_tier::avx2 && dot == kernels::dot_kernel(t, isa_tier::ref)) continue;
        const type at = kernels::dot_act_type(t);
        const int64_t n_cols = 768, n_rows = 37;  // a multiple of every block (256)
        const uint32_t seed = k_seed + static_cast<uint32_t>(t);
        std::mt19937 rng(seed);
        const size_t rb = row_bytes(t, n_cols);
        std::vector<uint8_t> wq(rb * n_rows);
        const auto wf = gaussian(static_cast<size_t>(n_rows * n_cols), rng);
        for (int64_t r = 0; r < n_rows; ++r) quantize_row(t, wf.data() + r * n_cols, wq.data() + r * rb, n_cols);
        const weight_matrix w = weight_matrix::stored_rows("w", t, n_rows, n_cols, wq.data());
        const int64_t n_tokens = 2, ldx = n_cols + 3, ldy = n_rows + 5;
        const auto x = gaussian(static_cast<size_t>(n_tokens * ldx), rng);
        for (int threads : {1, 2}) {
            matmul_scratch scratch;
            std::vector<float> y(static_cast<size_t>(n_tokens * ldy), -12345.0f);
            matmul(w, n_tokens, x.data(), ldx, y.data(), ldy, threads, scratch);
            for (int64_t tk = 0; tk < n_tokens; ++tk) {
                std::vector<uint8_t> a(row_bytes(at, n_cols));
                kernels::quantize_act_kernel(at)(x.data() + tk * ldx, a.data(), n_cols);
                for (int64_t r = 0; r < n_rows; ++r)
                    ASSERT_EQ(y[tk * ldy + r], dot(n_cols, wq.data() + r * rb, a.data()))
                        << type_name(t) << " token " << tk << " row " << r << " threads=" << threads << " seed=" << seed;
                for (int64_t r = n_rows; r < ldy; ++r) ASSERT_EQ(y[tk * ldy + r], -12345.0f) << "padding written";
            }
        }
    }
}

}  // namespace
}  // namespace lowbit
