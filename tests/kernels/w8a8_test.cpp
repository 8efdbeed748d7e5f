// W8A8 kernels (kernels/w8a8.hpp):
//  - the AVX2 quantizer, absmax and integer dot equal __ref bit for bit on awkward sizes
//    (1, 31, 32, 33, 255, 4096+7), including the never-written code 0 and saturating inputs;
//  - __ref quantization is round-half-even with clamping, by hand on known values;
//  - matmul with act = dynamic / static on int8_pc weights equals an independent double-precision
//    reference of (d_x q) . (d_w (u-128)) within float rounding, and is identical across tiers;
//  - a non-int8 weight type with act set equals fake-quantized x through the weight-only path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/matmul.hpp"
#include "kernels/w8a8.hpp"

namespace lowbit {
namespace {

constexpr uint32_t k_seed = 8808;
const int64_t k_sizes[] = {1, 31, 32, 33, 64, 172, 255, 4103};

bool have_avx2() { return best_isa_tier() >= isa_tier::avx2; }

TEST(W8a8Kernels, QuantizeRefKnownValues) {
    const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.49f, 200.0f, -200.0f, 0.0f, 126.6f};
    int8_t q[9];
    kernels::quantize_row_s8__ref(x, q, 9, 1.0f);
    const int8_t want[] = {0, 2, 2, 0, -1, 127, -127, 0, 127};
    for (int i = 0; i < 9; ++i) EXPECT_EQ(q[i], want[i]) << "index " << i;
    kernels::quantize_row_s8__ref(x, q, 9, 0.0f);  // d = 0: all zero
    for (int i = 0; i < 9; ++i) EXPECT_EQ(q[i], 0);
    EXPECT_EQ(kernels::absmax_f32__ref(x, 9), 200.0f);
}

TEST(W8a8Kernels, Avx2EqualsRefBitExact) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    std::mt19937 rng(k_seed);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::uniform_int_distribution<int> bytes(0, 255);
    for (int64_t n : k_sizes) {
        std::vector<float> x(static_cast<size_t>(n));
        for (auto& v : x) v = nd(rng);
        x[0] = 1e6f;  // saturates to 127 at small scales
        const float amax_r = kernels::absmax_f32__ref(x.data(), n), amax_a = kernels::absmax_f32__avx2(x.data(), n);
        ASSERT_EQ(amax_r, amax_a) << "absmax n=" << n << " seed " << k_seed;
        for (float d : {kernels::dynamic_scale(amax_r), 0.05f, 0.0f}) {
            std::vector<int8_t> qr(static_cast<size_t>(n)), qa(static_cast<size_t>(n));
            kernels::quantize_row_s8__ref(x.data(), qr.data(), n, d);
            kernels::quantize_row_s8__avx2(x.data(), qa.data(), n, d);
            for (int64_t i = 0; i < n; ++i)
                ASSERT_EQ(qr[i], qa[i]) << "quantize n=" << n << " d=" << d << " index " << i << " x=" << x[i];
        }
        std::vector<uint8_t> u(static_cast<size_t>(n));
        std::vector<int8_t> q(static_cast<size_t>(n));
        for (auto& b : u) b = static_cast<uint8_t>(bytes(rng));
        for (auto& b : q) b = static_cast<int8_t>(bytes(rng) % 255 - 127);
        u[0] = 0;  // code 0 (-128) and q = -127: the extreme product
        q[0] = -127;
        ASSERT_EQ(kernels::dot_u8off_s8__ref(u.data(), q.data(), n), kernels::dot_u8off_s8__avx2(u.data(), q.data(), n))
            << "dot n=" << n << " seed " << k_seed;
        // dot4: four different rows (rotations of u) against q, equal to four single dots.
        std::vector<std::vector<uint8_t>> rs(4, u);
        for (int i = 1; i < 4; ++i) std::rotate(rs[i].begin(), rs[i].begin() + (i * 7) % n, rs[i].end());
        const uint8_t* rp[4] = {rs[0].data(), rs[1].data(), rs[2].data(), rs[3].data()};
        int64_t o_ref[4], o_avx[4];
        kernels::dot4_u8off_s8__ref(rp, q.data(), n, o_ref);
        kernels::dot4_u8off_s8__avx2(rp, q.data(), n, o_avx);
        for (int i = 0; i < 4; ++i) {
            ASSERT_EQ(o_ref[i], kernels::dot_u8off_s8__ref(rp[i], q.data(), n)) << "dot4 ref row " << i << " n=" << n;
            ASSERT_EQ(o_avx[i], o_ref[i]) << "dot4 avx2 row " << i << " n=" << n;
        }
    }
}

TEST(W8a8Kernels, DotLongRowNoOverflow) {
    // 2^20 + 5 products of (255-128) * 127 = 16129: the sum exceeds 2^31.
    const int64_t n = (int64_t(1) << 20) + 5;
    std::vector<uint8_t> u(static_cast<size_t>(n), 255);
    std::vector<int8_t> q(static_cast<size_t>(n), 127);
    const int64_t want = n * 127 * 127;
    EXPECT_EQ(kernels::dot_u8off_s8__ref(u.data(), q.data(), n), want);
    if (have_avx2()) {
        EXPECT_EQ(kernels::dot_u8off_s8__avx2(u.data(), q.data(), n), want);
        const uint8_t* rp[4] = {u.data(), u.data(), u.data(), u.data()};
        int64_t o[4];
        kernels::dot4_u8off_s8__avx2(rp, q.data(), n, o);
        for (int64_t v : o) EXPECT_EQ(v, want);
    }
}

struct w8_matrix {
    std::vector<uint8_t> bytes;
    weight_matrix w;
};

w8_matrix make_matrix(type t, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> nd(0.0f, 0.5f);
    w8_matrix m;
    const size_t rb = row_bytes(t, cols);
    m.bytes.resize(rb * static_cast<size_t>(rows));
    std::vector<float> r(static_cast<size_t>(cols));
    for (int64_t i = 0; i < rows; ++i) {
        for (auto& v : r) v = nd(rng);
        quantize_row(t, r.data(), m.bytes.data() + rb * size_t(i), cols);
    }
    m.w = weight_matrix::stored_rows("test", t, rows, cols, m.bytes.data());
    return m;
}

// y[t][r] in double from the definitions (int8_pc codes read byte by byte).
std::vector<double> reference_w8a8(const weight_matrix& w, int64_t T, const std::vector<float>& x) {
    std::vector<double> y(static_cast<size_t>(T * w.n_rows));
    const int64_t k = w.n_cols;
    for (int64_t t = 0; t < T; ++t) {
        const float* xr = x.data() + t * k;
        float d = w.act.scale;
        if (w.act.mode == act_mode::dynamic) {
            float m = 0;
            for (int64_t j = 0; j < k; ++j) m = std::max(m, std::fabs(xr[j]));
            d = m / 127.0f;
        }
        std::vector<int8_t> q(static_cast<size_t>(k));
        kernels::quantize_row_s8__ref(xr, q.data(), k, d);
        for (int64_t r = 0; r < w.n_rows; ++r) {
            const uint8_t* row = w.row(r);
            uint16_t h;
            std::memcpy(&h, row, 2);
            double s = 0;
            for (int64_t j = 0; j < k; ++j) s += (double(row[2 + j]) - 128.0) * double(q[j]);
            y[t * w.n_rows + r] = double(d) * double(fp16_to_f32(h)) * s;
        }
    }
    return y;
}

TEST(W8a8Matmul, Int8PcMatchesDefinitionAllTiers) {
    std::mt19937 rng(k_seed + 1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int64_t cols : {int64_t(33), int64_t(64), int64_t(172), int64_t(768)}) {
        for (int64_t T : {int64_t(1), int64_t(5), int64_t(40)}) {
            w8_matrix m = make_matrix(ext_type::int8_pc, 37, cols, rng);
            std::vector<float> x(static_cast<size_t>(T * cols));
            for (auto& v : x) v = nd(rng);
            for (act_mode mode : {act_mode::dynamic, act_mode::static_tensor}) {
                m.w.act = {mode, 0.02f};
                const std::vector<double> want = reference_w8a8(m.w, T, x);
                std::vector<std::vector<float>> got;
                for (isa_tier tier : {isa_tier::ref, best_isa_tier()}) {
                    set_isa_tier(tier);
                    matmul_scratch s;
                    s.reserve_workers(2);
                    std::vector<float> y(static_cast<size_t>(T * 37), -12345.0f);
                    matmul(m.w, T, x.data(), cols, y.data(), 37, 2, s);
                    for (size_t i = 0; i < y.size(); ++i)
                        ASSERT_NEAR(y[i], want[i], 1e-5 * (1.0 + std::fabs(want[i])))
                            << "tier " << isa_tier_name(tier) << " cols " << cols << " T " << T << " index " << i;
                    got.push_back(y);
                }
                set_isa_tier(best_isa_tier());
                ASSERT_EQ(0, std::memcmp(got[0].data(), got[1].data(), got[0].size() * sizeof(float)))
                    << "tiers differ, cols " << cols << " T " << T;
            }
        }
    }
}

TEST(W8a8Matmul, OtherTypesUseFakeQuantizedActivations) {
    std::mt19937 rng(k_seed + 2);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t T = 6, cols = 64, rows = 24;
    w8_matrix m = make_matrix(type::q8_0, rows, cols, rng);
    std::vector<float> x(static_cast<size_t>(T * cols));
    for (auto& v : x) v = nd(rng);
    m.w.act = {act_mode::dynamic, 0.0f};
    matmul_scratch s;
    s.reserve_workers(1);
    std::vector<float> y(static_cast<size_t>(T * rows)), y2(y.size());
    matmul(m.w, T, x.data(), cols, y.data(), rows, 1, s);
    std::vector<float> xq = x;
    fake_quantize_act(m.w, T, xq.data(), cols);
    bool changed = false;
    for (size_t i = 0; i < x.size(); ++i) changed = changed || xq[i] != x[i];
    EXPECT_TRUE(changed);
    weight_matrix plain = m.w;
    plain.act = {};
    matmul(plain, T, xq.data(), cols, y2.data(), rows, 1, s);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], y2[i]) << "index " << i;
}

}  // namespace
}  // namespace lowbit
