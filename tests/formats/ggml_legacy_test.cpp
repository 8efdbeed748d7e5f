// llama.cpp legacy types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1) and F16/BF16: layout, hand-checked
// encodings, imatrix encoders against golden bytes from llama.cpp, round-trip error bounds, and SIMD
// decoders bit-exact with the scalar references. (Byte-exactness of the plain encoders against real
// llama-quantize output lives in ggml_vectors_test.cpp.)
#include "formats/ggml_legacy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/sha256.hpp"
#include "core/x86_kernel.hpp"
#include "formats/ggml_blocks.hpp"
#include "lowbit/types.hpp"

namespace {

using lowbit::type;

const type k_block_types[] = {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::q8_1};

std::vector<uint8_t> encode(type t, const std::vector<float>& x, const float* importance = nullptr) {
    std::vector<uint8_t> out(lowbit::row_bytes(t, static_cast<int64_t>(x.size())), 0xA5);
    lowbit::traits(t).from_float(x.data(), out.data(), static_cast<int64_t>(x.size()), importance);
    return out;
}

std::vector<float> decode(type t, const std::vector<uint8_t>& q, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n), std::nanf(""));
    lowbit::traits(t).to_float(q.data(), y.data(), n);
    return y;
}

uint32_t bits(float f) { return lowbit::f32_to_bits(f); }

// ---- layout --------------------------------------------------------------------------------------

TEST(GgmlLegacy, BlockStructsMatchTheTable) {
    EXPECT_EQ(lowbit::traits(type::q4_0).block_bytes, sizeof(lowbit::block_q4_0));
    EXPECT_EQ(lowbit::traits(type::q4_1).block_bytes, sizeof(lowbit::block_q4_1));
    EXPECT_EQ(lowbit::traits(type::q5_0).block_bytes, sizeof(lowbit::block_q5_0));
    EXPECT_EQ(lowbit::traits(type::q5_1).block_bytes, sizeof(lowbit::block_q5_1));
    EXPECT_EQ(lowbit::traits(type::q8_0).block_bytes, sizeof(lowbit::block_q8_0));
    EXPECT_EQ(lowbit::traits(type::q8_1).block_bytes, sizeof(lowbit::block_q8_1));
    for (type t : k_block_types) {
        EXPECT_EQ(lowbit::traits(t).block_size, 32) << lowbit::type_name(t);
        EXPECT_NE(lowbit::traits(t).from_float, nullptr) << lowbit::type_name(t);
    }
    EXPECT_DOUBLE_EQ(lowbit::traits(type::q4_0).bits_per_weight, 4.5);
    EXPECT_DOUBLE_EQ(lowbit::traits(type::q5_1).bits_per_weight, 6.0);
    EXPECT_EQ(lowbit::row_bytes(type::q4_0, 4096), 4096u / 32 * 18);
    EXPECT_EQ(lowbit::row_bytes(type::f16, 7), 14u);
}

// ---- hand-checked encodings ----------------------------------------------------------------------

TEST(GgmlLegacy, Q4_0EncodesKnownBlock) {
    // x[j] = (j - 16) / 4 for j < 32: max magnitude -4 at j = 0 -> d = -4 / -8 = 0.5, q = x/d + 8.
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = (j - 16) / 4.0f;
    const auto q = encode(type::q4_0, x);
    lowbit::block_q4_0 b;
    std::memcpy(&b, q.data(), sizeof b);
    EXPECT_EQ(lowbit::fp16_to_f32(b.d), 0.5f);
    for (int j = 0; j < 16; ++j) {
        const int q0 = static_cast<int>(std::min(15.0f, std::floor(x[j] / 0.5f + 8.5f)));
        const int q1 = static_cast<int>(std::min(15.0f, std::floor(x[j + 16] / 0.5f + 8.5f)));
        EXPECT_EQ(b.qs[j] & 0x0F, q0) << "weight " << j;
        EXPECT_EQ(b.qs[j] >> 4, q1) << "weight " << j + 16;
    }
    const auto y = decode(type::q4_0, q, 32);
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[j], x[j], 0.25f + 1e-6f) << j;
    EXPECT_EQ(y[0], -4.0f);  // the extreme value is exact
}

TEST(GgmlLegacy, Q5_0StoresFifthBitsInQh) {
    // Negative extreme at j=0 makes d positive... d = max / -16 with max = -1 -> d = 1/16.
    std::vector<float> x(32, 0.0f);
    x[0] = -1.0f;    // q = 0
    x[5] = 15.0f / 16;  // q = 31
    x[20] = 0.5f;    // q = 24 (0b11000: 5th bit set)
    const auto q = encode(type::q5_0, x);
    lowbit::block_q5_0 b;
    std::memcpy(&b, q.data(), sizeof b);
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    EXPECT_EQ(lowbit::fp16_to_f32(b.d), 1.0f / 16);
    EXPECT_EQ(qh & 1u, 0u);
    EXPECT_EQ((qh >> 5) & 1u, 1u);
    EXPECT_EQ(b.qs[5] & 0x0F, 15);
    EXPECT_EQ((qh >> 20) & 1u, 1u);
    EXPECT_EQ(b.qs[4] >> 4, 24 & 0x0F);
    EXPECT_EQ((qh >> 1) & 1u, 1u);  // zeros encode as q = 16
    const auto y = decode(type::q5_0, q, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]) << j;
}

TEST(GgmlLegacy, Q8_0RoundsHalfAwayFromZero) {
    // amax = 127 makes d = 1 exactly, so the codes are roundf(x): ties go away from zero.
    std::vector<float> x(32, 0.0f);
    const float in[] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 0.49999997f, -126.5f, 3.4999998f};
    const int want[] = {127, 3, -3, 1, -1, 2, -2, 0, -127, 3};
    for (size_t j = 0; j < std::size(in); ++j) x[j] = in[j];
    for (type t : {type::q8_0, type::q8_1}) {
        const auto q = encode(t, x);
        const size_t off = t == type::q8_0 ? 2 : 4;
        for (size_t j = 0; j < std::size(in); ++j)
            EXPECT_EQ(static_cast<int8_t>(q[off + j]), want[j]) << lowbit::type_name(t) << " x = " << in[j];
    }
}

TEST(GgmlLegacy, ZeroBlocksDecodeToZero) {
    std::vector<float> x(64, 0.0f);
    for (type t : k_block_types) {
        const auto y = decode(t, encode(t, x), 64);
        for (int j = 0; j < 64; ++j) EXPECT_EQ(y[j], 0.0f) << lowbit::type_name(t) << " " << j;
    }
}

// A block of subnormal values (found by scripts/fuzz.sh): 1 / d overflows and the scaled values are
// +-inf or NaN. ggml's C casts turn them into INT_MIN on x86, so every code byte is 0 and the block decodes
// to zeros; lowbit gives the same bytes without the undefined C++ cast (trunc_int). The block beside it
// is unaffected.
TEST(GgmlLegacy, SubnormalBlocksDecodeToZero) {
    std::vector<float> x(64, 0.0f);
    for (int j = 0; j < 32; ++j) x[static_cast<size_t>(j)] = 0.25f * static_cast<float>(j % 7 - 3);
    for (int j = 32; j < 64; j += 3)
        x[static_cast<size_t>(j)] = (j % 2 ? -1e-40f : 3e-41f) * static_cast<float>(j % 5);
    for (type t : k_block_types) {
        const auto y = decode(t, encode(t, x), 64);
        for (int j = 32; j < 64; ++j)
            EXPECT_EQ(y[static_cast<size_t>(j)], 0.0f) << lowbit::type_name(t) << " " << j;
        for (int j = 0; j < 32; ++j)
            EXPECT_NEAR(y[static_cast<size_t>(j)], x[static_cast<size_t>(j)], 0.1f)
                << lowbit::type_name(t) << " " << j;
    }
}

TEST(GgmlLegacy, Q8_1SumFieldIsScaleTimesSumOfCodes) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(32 * 5);
    for (auto& v : x) v = nd(rng);
    const auto q = encode(type::q8_1, x);
    for (int i = 0; i < 5; ++i) {
        lowbit::block_q8_1 b;
        std::memcpy(&b, q.data() + i * sizeof b, sizeof b);
        int sum = 0;
        for (int j = 0; j < 32; ++j) sum += b.qs[j];
        // ggml multiplies by the float scale amax/127, before its rounding to fp16.
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * i + j]));
        const float d = amax / 127;
        EXPECT_EQ(b.d, lowbit::f32_to_fp16(d)) << "block " << i;
        EXPECT_EQ(b.s, lowbit::f32_to_fp16(static_cast<float>(sum) * d)) << "block " << i;
        // Q8_1 codes equal Q8_0's for the same data.
        lowbit::block_q8_0 c;
        const auto q0 = encode(type::q8_0, std::vector<float>(x.begin() + 32 * i, x.begin() + 32 * (i + 1)));
        std::memcpy(&c, q0.data(), sizeof c);
        EXPECT_EQ(c.d, b.d);
        EXPECT_EQ(std::memcmp(c.qs, b.qs, 32), 0) << "block " << i;
    }
}

TEST(GgmlLegacy, HalfAndBf16RoundTripEveryFiniteValue) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const uint16_t v = static_cast<uint16_t>(h);
        for (type t : {type::f16, type::bf16}) {
            const bool is_nan = t == type::f16 ? ((v & 0x7C00) == 0x7C00 && (v & 0x03FF))
                                               : ((v & 0x7F80) == 0x7F80 && (v & 0x007F));
            if (is_nan) continue;
            float f;
            lowbit::traits(t).to_float(&v, &f, 1);
            uint16_t back = 0;
            lowbit::traits(t).from_float(&f, &back, 1, nullptr);
            ASSERT_EQ(back, v) << lowbit::type_name(t) << " pattern 0x" << std::hex << h;
        }
    }
    // Rounding to nearest even on the fp16 tie 1 + 2^-11 (between 1 and 1 + 2^-10).
    const float tie = 1.0f + std::ldexp(1.0f, -11);
    uint16_t h = 0;
    lowbit::traits(type::f16).from_float(&tie, &h, 1, nullptr);
    EXPECT_EQ(h, 0x3C00);
}

// ---- imatrix encoders: golden bytes from llama.cpp --------------------------------------------------
// The input below was generated by the same splitmix64 recipe in C and fed to llama.cpp's
// quantize_q4_0/q4_1/q5_0/q5_1 (ggml-quants.c, quant_weights non-null, 8 rows x 256); the sha256 of
// each output is recorded here.

struct splitmix {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

constexpr int k_rows = 8, k_cols = 256;

void imatrix_case(std::vector<float>& x, std::vector<float>& w) {
    splitmix g{12345};
    x.resize(k_rows * k_cols);
    w.resize(k_cols);
    for (int i = 0; i < k_rows * k_cols; ++i) {
        const float v = (g.uniform() - 0.5f) * 2.0f;
        const float v2 = v * v;  // one rounding per step, as the C generator evaluated it
        const float v3 = v2 * v;
        const float a = v3 * 4.0f;
        const float b = v * 0.5f;
        float t = a + b;
        if (i % 37 == 5) t *= 8.0f;
        x[i] = t;
    }
    for (int j = 0; j < k_cols; ++j) {
        const float u = g.uniform();
        const float uu = u * u;
        const float a = uu * 4.0f;
        w[j] = a + 0.01f;
        if (j % 50 == 7) w[j] *= 30.0f;
    }
    for (int j = 0; j < 32; ++j) {
        x[3 * k_cols + 64 + j] = 0.0f;  // an all-zero block
        x[5 * k_cols + j] = 0.25f;      // a constant block
    }
}

TEST(GgmlLegacy, ImatrixEncodersMatchLlamaCpp) {
    std::vector<float> x, w;
    imatrix_case(x, w);
    std::vector<uint8_t> xin(x.size() * 4 + w.size() * 4);
    std::memcpy(xin.data(), x.data(), x.size() * 4);
    std::memcpy(xin.data() + x.size() * 4, w.data(), w.size() * 4);
    ASSERT_EQ(lowbit::sha256_hex(xin.data(), xin.size()),
              "cffd3c1814bad77d3dc762a1a96c27fd1c2a51d8d4aa62c8f8bd14ad87e79824")
        << "test input generator drifted";
    const struct {
        type t;
        const char* sha;
    } cases[] = {
        {type::q4_0, "76ae7056ed3d10b63152451db7982115f3451e4a0be058a4332dbea09dd78109"},
        {type::q4_1, "4196c3c63190180f5471e67b16910a60da745d23709fbd5a4e2fdaf4361d0d3c"},
        {type::q5_0, "b33994ddcaa5f2227bc1888e424efbc2a686fae66341732b4613c1b6e1dc88e5"},
        {type::q5_1, "624772027e2cd48acebadad43023b37251959864dea7f2d2697ac2cd3cabb07b"},
    };
    for (const auto& c : cases) {
        const size_t rb = lowbit::row_bytes(c.t, k_cols);
        std::vector<uint8_t> out(rb * k_rows, 0xA5);
        for (int r = 0; r < k_rows; ++r)
            lowbit::quantize_row(c.t, x.data() + r * k_cols, out.data() + r * rb, k_cols, w.data());
        EXPECT_EQ(lowbit::sha256_hex(out.data(), out.size()), c.sha) << lowbit::type_name(c.t);
        // With importance the encoding differs from the plain reference one (the imatrix is used).
        std::vector<uint8_t> plain(rb * k_rows);
        for (int r = 0; r < k_rows; ++r)
            lowbit::quantize_row(c.t, x.data() + r * k_cols, plain.data() + r * rb, k_cols, nullptr);
        EXPECT_NE(out, plain) << lowbit::type_name(c.t);
    }
}

// The imatrix encoders minimise the importance-weighted error, so summed over a matrix of random rows
// their weighted squared error is below the plain encoders'.
TEST(GgmlLegacy, ImatrixLowersWeightedError) {
    std::mt19937 rng(2024);
    std::student_t_distribution<float> td(4.0f);
    std::uniform_real_distribution<float> ud(0.0f, 1.0f);
    const int n = 1024, rows = 16;
    std::vector<float> x(static_cast<size_t>(n) * rows), imp(n);
    for (auto& v : x) v = td(rng);
    for (auto& v : imp) {
        const float u = ud(rng);
        v = u * u * u * 10.0f + 0.01f;
    }
    for (type t : {type::q4_0, type::q4_1, type::q5_0, type::q5_1}) {
        double err_plain = 0, err_imat = 0;
        for (int r = 0; r < rows; ++r) {
            const std::vector<float> row(x.begin() + r * n, x.begin() + (r + 1) * n);
            const auto yp = decode(t, encode(t, row), n);
            const auto yi = decode(t, encode(t, row, imp.data()), n);
            for (int j = 0; j < n; ++j) {
                err_plain += imp[j] * double(yp[j] - row[j]) * (yp[j] - row[j]);
                err_imat += imp[j] * double(yi[j] - row[j]) * (yi[j] - row[j]);
            }
        }
        EXPECT_LT(err_imat, 0.9 * err_plain) << lowbit::type_name(t);
    }
}

// ---- round-trip error bounds ---------------------------------------------------------------------

struct bound_case {
    type t;
    double max_rel_rmse;  // RMSE / RMS over gaussian data
};

// Per-element bound from the block's stored scale: half a step, plus the effect of rounding d and m
// to fp16 (relative 2^-11 each, times the largest code), plus one full step for the one code the
// symmetric formats clamp (q = 2^(b-1) would be needed for the value opposite the extreme).
TEST(GgmlLegacy, RoundTripErrorWithinHalfStep) {
    const bound_case cases[] = {{type::q4_0, 0.11}, {type::q4_1, 0.11}, {type::q5_0, 0.055},
                                {type::q5_1, 0.055}, {type::q8_0, 0.0075}, {type::q8_1, 0.0075}};
    for (uint32_t seed : {1u, 2u, 3u}) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        const int n = 32 * 257;
        std::vector<float> x(n);
        for (int i = 0; i < n; ++i) x[i] = nd(rng) * ((i / 32) % 7 == 3 ? 100.0f : 1.0f);
        for (const auto& c : cases) {
            const auto q = encode(c.t, x);
            const auto y = decode(c.t, q, n);
            const size_t bb = lowbit::traits(c.t).block_bytes;
            double se = 0, ss = 0;
            for (int ib = 0; ib < n / 32; ++ib) {
                uint16_t dh, mh = 0;
                std::memcpy(&dh, q.data() + ib * bb, 2);
                const bool has_min = c.t == type::q4_1 || c.t == type::q5_1;
                if (has_min) std::memcpy(&mh, q.data() + ib * bb + 2, 2);
                const double d = std::fabs(lowbit::fp16_to_f32(dh));
                const double m = std::fabs(lowbit::fp16_to_f32(mh));
                const int qmax = (c.t == type::q8_0 || c.t == type::q8_1) ? 127
                                 : (c.t == type::q5_0 || c.t == type::q5_1) ? 31 : 15;
                const double slack = (qmax + 1) * d * std::ldexp(1.0, -10) + m * std::ldexp(1.0, -10);
                const bool symmetric_4_5 = c.t == type::q4_0 || c.t == type::q5_0;
                for (int j = 0; j < 32; ++j) {
                    const int i = ib * 32 + j;
                    const double e = std::fabs(double(y[i]) - x[i]);
                    const double bound = (symmetric_4_5 ? d : 0.5 * d) + slack + 1e-30;
                    ASSERT_LE(e, bound) << lowbit::type_name(c.t) << " seed " << seed << " block " << ib
                                        << " weight " << j << " x " << x[i] << " y " << y[i] << " d " << d;
                    if ((ib % 7) != 3) {
                        se += e * e;
                        ss += double(x[i]) * x[i];
                    }
                }
            }
            EXPECT_LT(std::sqrt(se / ss), c.max_rel_rmse) << lowbit::type_name(c.t) << " seed " << seed;
        }
    }
}

TEST(GgmlLegacy, HalfFloatRelativeError) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> ud(-60000.0f, 60000.0f);
    std::vector<float> x(4099);
    for (auto& v : x) v = ud(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 12));
    for (auto [t, rel] : {std::pair{type::f16, std::ldexp(1.0, -11)}, std::pair{type::bf16, std::ldexp(1.0, -8)}}) {
        const auto y = decode(t, encode(t, x), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i)
            ASSERT_LE(std::fabs(double(y[i]) - x[i]), rel * std::fabs(x[i]) + 1e-7)
                << lowbit::type_name(t) << " index " << i << " x " << x[i];
    }
}

// ---- SIMD decoders vs scalar reference -----------------------------------------------------------

struct simd_variant {
    const char* isa;
    lowbit::isa_tier tier;
    lowbit::to_float_fn lowbit::type_traits::*field;
};

// Random block bytes whose fp16 scale/min fields are finite (the codes take every value).
std::vector<uint8_t> random_row(type t, int64_t n, std::mt19937& rng) {
    const auto& tr = lowbit::traits(t);
    std::vector<uint8_t> b(lowbit::row_bytes(t, n));
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    if (tr.block_size > 1) {
        const int n_halves = (t == type::q4_1 || t == type::q5_1 || t == type::q8_1) ? 2 : 1;
        std::uniform_real_distribution<float> ud(-2.0f, 2.0f);
        for (size_t off = 0; off < b.size(); off += tr.block_bytes)
            for (int k = 0; k < n_halves; ++k) {
                const uint16_t h = lowbit::f32_to_fp16(ud(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 20) - 14));
                std::memcpy(b.data() + off + 2 * k, &h, 2);
            }
    }
    return b;
}

TEST(GgmlLegacy, SimdDecodersBitExactWithReference) {
    const simd_variant variants[] = {
        {"avx2", lowbit::isa_tier::avx2, &lowbit::type_traits::to_float_avx2},
        {"avx512", lowbit::isa_tier::avx512, &lowbit::type_traits::to_float_avx512},
    };
    const type types[] = {type::f16, type::bf16, type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::q8_1};
    // Required coverage: AVX2 decoders for all of these exist (in x86 builds: elsewhere no tier file is
    // built).
    if (!LOWBIT_HAVE_X86_KERNELS) GTEST_SKIP() << "not an x86 build";
    for (type t : types) EXPECT_NE(lowbit::traits(t).to_float_avx2, nullptr) << lowbit::type_name(t);
    const int64_t block_counts[] = {1, 2, 3, 7, 31, 128, 129, 131};
    const int64_t float_lengths[] = {1, 7, 8, 9, 31, 257, 4096, 4099};
    const uint32_t sentinel = 0x7FC0DEADu;  // a NaN no decoder produces from these inputs
    constexpr int k_guard = 16;
    int n_runs = 0;
    for (const auto& v : variants) {
        if (lowbit::best_isa_tier() < v.tier) continue;
        for (type t : types) {
            const auto& tr = lowbit::traits(t);
            const auto fn = tr.*(v.field);
            if (!fn) continue;
            for (int k = 0; k < 8; ++k) {
                const int64_t n = tr.block_size > 1 ? block_counts[k] * tr.block_size : float_lengths[k];
                const uint32_t seed = 1000u * static_cast<uint32_t>(t) + static_cast<uint32_t>(k);
                std::mt19937 rng(seed);
                const auto src = random_row(t, n, rng);
                std::vector<float> want(static_cast<size_t>(n + k_guard)), got(static_cast<size_t>(n + k_guard));
                for (auto* buf : {&want, &got})
                    for (auto& f : *buf) f = lowbit::bits_to_f32(sentinel);
                tr.to_float(src.data(), want.data(), n);
                fn(src.data(), got.data(), n);
                for (int64_t i = 0; i < n + k_guard; ++i) {
                    const bool in_row = i < n;
                    if (in_row) {
                        ASSERT_NE(bits(want[i]), sentinel) << "reference left index " << i << " unwritten";
                    }
                    ASSERT_EQ(bits(got[i]), bits(want[i]))
                        << "dequantize_row_" << tr.name << "__" << v.isa << " n=" << n << " seed=" << seed
                        << " index " << i << (in_row ? "" : " (past the end: must stay untouched)")
                        << ": expected " << want[i] << " (0x" << std::hex << bits(want[i]) << "), got " << got[i]
                        << " (0x" << bits(got[i]) << ")";
                }
                ++n_runs;
            }
        }
    }
    if (n_runs == 0) GTEST_SKIP() << "host has no AVX2";
}

// F16/BF16 SIMD decoders on every bit pattern, NaNs and infinities included.
TEST(GgmlLegacy, SimdHalfDecodersEveryPattern) {
    if (lowbit::best_isa_tier() < lowbit::isa_tier::avx2) GTEST_SKIP() << "host has no AVX2";
    std::vector<uint16_t> all(65536 + 3);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i * 40503u);
    for (size_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
    for (type t : {type::f16, type::bf16}) {
        const auto& tr = lowbit::traits(t);
        for (auto fn : {tr.to_float_avx2, lowbit::best_isa_tier() >= lowbit::isa_tier::avx512 ? tr.to_float_avx512 : nullptr}) {
            if (!fn) continue;
            std::vector<float> want(all.size()), got(all.size());
            tr.to_float(all.data(), want.data(), static_cast<int64_t>(all.size()));
            fn(all.data(), got.data(), static_cast<int64_t>(all.size()));
            for (size_t i = 0; i < all.size(); ++i)
                ASSERT_EQ(bits(got[i]), bits(want[i])) << tr.name << " pattern 0x" << std::hex << all[i];
        }
    }
}

// The dispatcher picks the SIMD decoder and still gives the reference's bits; forcing the ref tier
// works too.
TEST(GgmlLegacy, DispatchMatchesReferenceAtEveryTier) {
    std::mt19937 rng(99);
    const int64_t n = 32 * 67;
    for (type t : {type::q4_0, type::q5_1, type::f16}) {
        const auto src = random_row(t, n, rng);
        std::vector<float> want(n), got(n);
        lowbit::traits(t).to_float(src.data(), want.data(), n);
        const auto saved = lowbit::active_isa_tier();
        for (auto tier : {lowbit::isa_tier::ref, lowbit::isa_tier::avx2, lowbit::best_isa_tier()}) {
            if (tier > lowbit::best_isa_tier()) continue;
            lowbit::set_isa_tier(tier);
            std::fill(got.begin(), got.end(), -1.0f);
            lowbit::dequantize_row(t, src.data(), got.data(), n);
            EXPECT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0)
                << lowbit::type_name(t) << " tier " << lowbit::isa_tier_name(tier);
        }
        lowbit::set_isa_tier(saved);
    }
}

}  // namespace
