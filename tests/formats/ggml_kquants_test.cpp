// K-quants (Q2_K..Q6_K, Q8_K): SIMD decoders equal the scalar reference bit for bit, encoders keep
// the round-trip error within per-type bounds, degenerate blocks behave, and the imatrix encoders
// reproduce llama.cpp's imatrix-quantized golden files byte for byte.
// (Non-imatrix golden encodes and all golden decodes: ggml_vectors_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_kquants.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/types.hpp"
#include "test_util.hpp"

namespace {

using lowbit::type;

struct kquant {
    type t;
    const char* name;
    lowbit::to_float_fn ref;
    lowbit::to_float_fn avx2;
    lowbit::from_float_fn encode;
};

const std::vector<kquant>& kquants() {
    static const std::vector<kquant> v = {
        {type::q2_k, "q2_k", lowbit::dequantize_row_q2_k__ref, lowbit::dequantize_row_q2_k__avx2,
         lowbit::quantize_row_q2_k__ref},
        {type::q3_k, "q3_k", lowbit::dequantize_row_q3_k__ref, lowbit::dequantize_row_q3_k__avx2,
         lowbit::quantize_row_q3_k__ref},
        {type::q4_k, "q4_k", lowbit::dequantize_row_q4_k__ref, lowbit::dequantize_row_q4_k__avx2,
         lowbit::quantize_row_q4_k__ref},
        {type::q5_k, "q5_k", lowbit::dequantize_row_q5_k__ref, lowbit::dequantize_row_q5_k__avx2,
         lowbit::quantize_row_q5_k__ref},
        {type::q6_k, "q6_k", lowbit::dequantize_row_q6_k__ref, lowbit::dequantize_row_q6_k__avx2,
         lowbit::quantize_row_q6_k__ref},
        {type::q8_k, "q8_k", lowbit::dequantize_row_q8_k__ref, lowbit::dequantize_row_q8_k__avx2,
         lowbit::quantize_row_q8_k__ref},
    };
    return v;
}

constexpr int64_t k_qk = lowbit::k_qk_k;

bool host_has_avx2() {
    return lowbit::isa_tier_supported(lowbit::isa_tier::avx2);
}

// Random block bytes with finite super-scales: random fp16 d/dmin in +-[2^-14, 4] (sometimes 0 or
// negative), so that every quant/scale bit pattern is exercised but no NaN hides a mismatch.
std::vector<uint8_t> random_blocks(type t, int64_t n_blocks, std::mt19937& rng) {
    const size_t bb = lowbit::traits(t).block_bytes;
    std::vector<uint8_t> b(bb * static_cast<size_t>(n_blocks));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& v : b) v = static_cast<uint8_t>(byte(rng));
    std::uniform_real_distribution<float> mag(-14.f, 2.f);
    std::uniform_int_distribution<int> pick(0, 15);
    auto rnd_scale = [&]() {
        const int p = pick(rng);
        if (p == 0) return 0.f;
        const float m = std::exp2(mag(rng));
        return p < 4 ? -m : m;
    };
    auto set16 = [&](uint8_t* p) {
        const uint16_t h = lowbit::f32_to_fp16(rnd_scale());
        std::memcpy(p, &h, 2);
    };
    for (int64_t i = 0; i < n_blocks; ++i) {
        uint8_t* blk = b.data() + i * bb;
        switch (t) {
            case type::q2_k: set16(blk + offsetof(lowbit::block_q2_k, d)); set16(blk + offsetof(lowbit::block_q2_k, dmin)); break;
            case type::q3_k: set16(blk + offsetof(lowbit::block_q3_k, d)); break;
            case type::q4_k: set16(blk + offsetof(lowbit::block_q4_k, d)); set16(blk + offsetof(lowbit::block_q4_k, dmin)); break;
            case type::q5_k: set16(blk + offsetof(lowbit::block_q5_k, d)); set16(blk + offsetof(lowbit::block_q5_k, dmin)); break;
            case type::q6_k: set16(blk + offsetof(lowbit::block_q6_k, d)); break;
            case type::q8_k: {
                const float d = rnd_scale();
                std::memcpy(blk + offsetof(lowbit::block_q8_k, d), &d, 4);
                break;
            }
            default: break;
        }
    }
    return b;
}

std::vector<float> random_weights(int64_t n, std::mt19937& rng) {
    // Heavy-ish tails: mostly normal, a few outliers, as real weights.
    std::normal_distribution<float> g(0.f, 1.f);
    std::uniform_int_distribution<int> out(0, 63);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = g(rng) * (out(rng) == 0 ? 6.f : 1.f);
    return x;
}

constexpr uint32_t k_sentinel = 0x7fc0dead;  // a NaN no decoder produces

TEST(GgmlKquants, Avx2DecodersMatchReferenceBitExact) {
    if (!host_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C";
    const int64_t block_counts[] = {1, 2, 3, 7, 16, 17, 33};  // 16 blocks = 4096 weights
    for (const auto& k : kquants()) {
        for (int64_t nb : block_counts) {
            const uint32_t seed = 1000u + static_cast<uint32_t>(nb) * 31u + static_cast<uint32_t>(k.t);
            std::mt19937 rng(seed);
            const auto blocks = random_blocks(k.t, nb, rng);
            const int64_t n = nb * k_qk;
            std::vector<float> want(static_cast<size_t>(n) + 16), got(static_cast<size_t>(n) + 16);
            for (auto* v : {&want, &got})
                for (auto& f : *v) std::memcpy(&f, &k_sentinel, 4);
            k.ref(blocks.data(), want.data(), n);
            k.avx2(blocks.data(), got.data(), n);
            for (int64_t i = 0; i < n + 16; ++i) {
                uint32_t a, b;
                std::memcpy(&a, &want[i], 4);
                std::memcpy(&b, &got[i], 4);
                if (i < n) {
                    ASSERT_NE(a, k_sentinel) << k.name << " ref left index " << i << " unwritten";
                } else {
                    ASSERT_EQ(b, k_sentinel) << k.name << " avx2 wrote past the end at " << i << " (n=" << n << ")";
                }
                ASSERT_EQ(a, b) << "dequantize_row_" << k.name << "__avx2 vs __ref, n=" << n << " (" << nb
                                << " blocks), seed " << seed << ", index " << i << ": expected " << want[i]
                                << " got " << got[i];
            }
        }
    }
}

TEST(GgmlKquants, TableRowsAndDispatchMatchReference) {
    for (const auto& k : kquants()) {
        const auto& tr = lowbit::traits(k.t);
        EXPECT_EQ(tr.to_float, k.ref) << k.name;
        EXPECT_EQ(tr.from_float, k.encode) << k.name;
        EXPECT_EQ(tr.block_size, k_qk) << k.name;
        EXPECT_EQ(lowbit::row_bytes(k.t, 4096), 16 * tr.block_bytes) << k.name;
        if (host_has_avx2()) {
            EXPECT_EQ(tr.to_float_avx2, k.avx2) << k.name << ": AVX2 decoder not registered";
        }
        // The dispatched decoder (whatever tier is active) equals the reference.
        std::mt19937 rng(7);
        const auto blocks = random_blocks(k.t, 5, rng);
        std::vector<float> a(5 * k_qk), b(5 * k_qk);
        k.ref(blocks.data(), a.data(), 5 * k_qk);
        lowbit::dequantize_row(k.t, blocks.data(), b.data(), 5 * k_qk);
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << k.name << " via dequantize_row";
    }
}

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        den += static_cast<double>(x[i]) * x[i];
    }
    return std::sqrt(num / den);
}

// Round trip on heavy-tailed random rows: error relative to the signal's RMS, per type. Bounds are
// ~1.25x what the (llama.cpp-identical) encoders reach on this data.
TEST(GgmlKquants, RoundTripErrorWithinBounds) {
    struct bound {
        type t;
        double max_rel_rmse;
    };
    // Measured (seed 42, no importance): q2_k 0.345, q3_k 0.191, q4_k 0.0875, q5_k 0.0441,
    // q6_k 0.0242, q8_k 0.0164 (the 6x outliers set Q8_K's per-block scale).
    const bound bounds[] = {{type::q2_k, 0.43}, {type::q3_k, 0.24}, {type::q4_k, 0.11},
                            {type::q5_k, 0.055}, {type::q6_k, 0.03}, {type::q8_k, 0.02}};
    const uint32_t seed = 42;
    std::mt19937 rng(seed);
    const int64_t n = 64 * k_qk;
    const auto x = random_weights(n, rng);
    for (const auto& b : bounds) {
        const auto& tr = lowbit::traits(b.t);
        std::vector<uint8_t> q(lowbit::row_bytes(b.t, n));
        std::vector<float> y(static_cast<size_t>(n));
        lowbit::quantize_row(b.t, x.data(), q.data(), n);
        lowbit::dequantize_row(b.t, q.data(), y.data(), n);
        const double e = rel_rmse(x, y);
        EXPECT_LT(e, b.max_rel_rmse) << tr.name << " seed " << seed;
        EXPECT_GT(e, 0.0) << tr.name;
        // With an importance vector (the imatrix path) the error stays in the same range.
        std::vector<float> imp(static_cast<size_t>(n));
        std::mt19937 irng(seed + 1);
        std::uniform_real_distribution<float> u(0.01f, 4.f);
        for (auto& v : imp) v = u(irng);
        lowbit::quantize_row(b.t, x.data(), q.data(), n, imp.data());
        lowbit::dequantize_row(b.t, q.data(), y.data(), n);
        EXPECT_LT(rel_rmse(x, y), 1.15 * b.max_rel_rmse) << tr.name << " with importance, seed " << seed;
    }
}

// The imatrix path minimizes the importance-weighted error: with a strongly skewed importance it
// must beat the unweighted reference encoder on that weighted error.
TEST(GgmlKquants, ImportanceLowersWeightedError) {
    const uint32_t seed = 9;
    std::mt19937 rng(seed);
    const int64_t n = 32 * k_qk;
    const auto x = random_weights(n, rng);
    std::vector<float> imp(static_cast<size_t>(n));
    std::uniform_int_distribution<int> hot(0, 7);
    for (auto& v : imp) v = hot(rng) == 0 ? 50.f : 0.1f;
    for (type t : {type::q2_k, type::q3_k, type::q4_k, type::q5_k, type::q6_k}) {
        auto werr = [&](const float* importance) {
            std::vector<uint8_t> q(lowbit::row_bytes(t, n));
            std::vector<float> y(static_cast<size_t>(n));
            lowbit::quantize_row(t, x.data(), q.data(), n, importance);
            lowbit::dequantize_row(t, q.data(), y.data(), n);
            double e = 0;
            for (int64_t i = 0; i < n; ++i) e += imp[i] * (static_cast<double>(x[i]) - y[i]) * (x[i] - y[i]);
            return e;
        };
        EXPECT_LT(werr(imp.data()), werr(nullptr)) << lowbit::type_name(t) << " seed " << seed;
    }
}

TEST(GgmlKquants, DegenerateBlocks) {
    for (const auto& k : kquants()) {
        const auto& tr = lowbit::traits(k.t);
        std::vector<uint8_t> q(tr.block_bytes * 3, 0xAB);
        std::vector<float> x(3 * k_qk, 0.f), y(3 * k_qk, 1.f);
        // Block 0: all zeros. Block 1: constant. Block 2: a single spike.
        for (int i = 0; i < k_qk; ++i) x[k_qk + i] = 0.25f;
        x[2 * k_qk + 77] = -3.5f;
        for (int pass = 0; pass < 2; ++pass) {
            std::vector<float> imp(x.size(), 1.f);
            k.encode(x.data(), q.data(), 3 * k_qk, pass ? imp.data() : nullptr);
            k.ref(q.data(), y.data(), 3 * k_qk);
            for (int i = 0; i < k_qk; ++i) ASSERT_EQ(y[i], 0.f) << k.name << " zero block, index " << i;
            for (float v : y) ASSERT_TRUE(std::isfinite(v)) << k.name;
            // The spike is the largest magnitude in its block and must come back close to itself.
            EXPECT_NEAR(y[2 * k_qk + 77], -3.5f, 0.2f) << k.name << (pass ? " (importance)" : "");
            for (int i = 0; i < k_qk; ++i)
                if (i != 77) {
                    ASSERT_NEAR(y[2 * k_qk + i], 0.f, 0.25f) << k.name << " index " << i;
                }
        }
    }
}

TEST(GgmlKquants, Q8kScaleAndBlockSums) {
    std::mt19937 rng(3);
    const int64_t n = 8 * k_qk;
    const auto x = random_weights(n, rng);
    std::vector<lowbit::block_q8_k> q(8);
    lowbit::quantize_row_q8_k__ref(x.data(), q.data(), n, nullptr);
    for (int b = 0; b < 8; ++b) {
        float amax = 0, max = 0;
        for (int j = 0; j < k_qk; ++j)
            if (std::fabs(x[b * k_qk + j]) > amax) amax = std::fabs(max = x[b * k_qk + j]);
        EXPECT_EQ(q[b].d, 1 / (-127.f / max)) << "block " << b;
        for (int s = 0; s < 16; ++s) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += q[b].qs[16 * s + j];
            EXPECT_EQ(q[b].bsums[s], sum) << "block " << b << " sub-block " << s;
        }
        for (int j = 0; j < k_qk; ++j) {
            EXPECT_GE(q[b].qs[j], -127);
            EXPECT_LE(std::fabs(q[b].d * q[b].qs[j] - x[b * k_qk + j]), 0.5001f * std::fabs(q[b].d));
        }
    }
}

// llama-quantize --imatrix: importance per column = in_sum2 / counts (per expert slice), tensors
// without an entry are quantized without one. Reproduces the two imatrix golden files byte for byte.
class GgmlKquantsImatrix : public testing::TestWithParam<std::pair<const char*, type>> {};

TEST_P(GgmlKquantsImatrix, ReproducesLlamaQuantizeBytes) {
    const std::string file = GetParam().first;
    const type t = GetParam().second;
    const std::string dir = "ggml-vectors/";
    const std::string qpath = lowbit::test::shared_path(dir + file);
    const std::string fpath = lowbit::test::shared_path(dir + "synth-llama-256-f32.gguf");
    const std::string ipath = lowbit::test::shared_path(dir + "synth.imatrix.gguf");
    for (const auto& p : {qpath, fpath, ipath})
        if (!lowbit::test::file_exists(p)) GTEST_SKIP() << p << " missing";
    const auto gq = lowbit::gguf_file::open(qpath);
    const auto gf = lowbit::gguf_file::open(fpath);
    const auto gi = lowbit::gguf_file::open(ipath);
    int n_with_imatrix = 0, n_checked = 0;
    for (const auto& tq : gq.tensors()) {
        if (tq.t != t) continue;
        const lowbit::tensor_info* tf = gf.find_tensor(tq.name);
        ASSERT_NE(tf, nullptr) << tq.name;
        ASSERT_EQ(tf->t, type::f32);
        const int64_t ne0 = tf->row_len();
        std::vector<float> imp;
        const auto* sums = gi.find_tensor(tq.name + ".in_sum2");
        const auto* counts = gi.find_tensor(tq.name + ".counts");
        if (sums && counts) {
            ASSERT_EQ(sums->t, type::f32);
            ASSERT_EQ(counts->t, type::f32);
            const int64_t ncounts = counts->n_elements();
            ASSERT_EQ(sums->n_elements(), ne0 * ncounts) << tq.name;
            ASSERT_EQ(ncounts, 1) << tq.name << ": expert tensors not expected in this model";
            imp.resize(static_cast<size_t>(ne0));
            float count;
            std::memcpy(&count, counts->data, 4);
            for (int64_t i = 0; i < ne0; ++i) {
                float s;
                std::memcpy(&s, sums->data + 4 * i, 4);
                imp[i] = count > 0.f ? s / count : 1.f;
            }
            ++n_with_imatrix;
        }
        const size_t rb = lowbit::row_bytes(t, ne0);
        ASSERT_EQ(tq.n_bytes, rb * static_cast<size_t>(tf->n_rows())) << tq.name;
        std::vector<float> row(static_cast<size_t>(ne0));
        std::vector<uint8_t> out(rb);
        for (int64_t r = 0; r < tf->n_rows(); ++r) {
            std::memcpy(row.data(), tf->data + static_cast<size_t>(r) * ne0 * 4, ne0 * 4);
            lowbit::quantize_row(t, row.data(), out.data(), ne0, imp.empty() ? nullptr : imp.data());
            const uint8_t* want = tq.data + r * rb;
            if (std::memcmp(out.data(), want, rb) != 0) {
                size_t j = 0;
                while (out[j] == want[j]) ++j;
                FAIL() << file << " tensor '" << tq.name << "' row " << r << ": byte " << j << " (block "
                       << j / lowbit::traits(t).block_bytes << ") is " << int(out[j]) << ", llama.cpp wrote "
                       << int(want[j]) << (imp.empty() ? " (no imatrix entry)" : " (with imatrix)");
            }
        }
        ++n_checked;
    }
    EXPECT_GT(n_checked, 0);
    EXPECT_GT(n_with_imatrix, 0) << "no tensor had an imatrix entry: the imatrix path was not exercised";
}

INSTANTIATE_TEST_SUITE_P(Golden, GgmlKquantsImatrix,
                         testing::Values(std::make_pair("synth-llama-256-Q4_K_S-imat.gguf", type::q4_k),
                                         std::make_pair("synth-llama-256-Q2_K-imat.gguf", type::q2_k)),
                         [](const auto& info) {
                             return std::string(info.param.second == type::q4_k ? "Q4_K_S" : "Q2_K");
                         });

}  // namespace
