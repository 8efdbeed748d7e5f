// IQ3_XXS / IQ3_S . Q8_K dot products (kernels/dot_iq3.hpp):
//  - __ref against the de-quantized rows (lowbit's dequantize_row; Q8_K as d * q) dotted in double,
//    within 1e-5 * sum_i |w_i a_i|, on raw random weight bytes (every bit pattern of grid indices,
//    signs and scales, sane fp16 d) and on rows made by the IQ3 encoders;
//  - __avx2 equal to __ref bit for bit on the same rows, with real Q8_K activations from Gaussian x,
//    and with every d set to 1.0;
//  - the largest integer sums a block can reach (largest grid points, scale 15, |q| = 127, all signs
//    agreeing), exactly.
// Seeds are printed on failure.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/iq_grids.hpp"
#include "kernels/dot.hpp"
#include "kernels/dot_iq3.hpp"
#include "kernels/quant_act.hpp"

namespace lowbit {
namespace {

using kernels::dot_fn;

constexpr uint32_t k_seed = 20261201;

struct case_t {
    type w;
    dot_fn ref, avx2;
};

const case_t k_cases[] = {
    {type::iq3_xxs, kernels::dot_iq3_xxs_q8_k__ref, kernels::dot_iq3_xxs_q8_k__avx2},
    {type::iq3_s, kernels::dot_iq3_s_q8_k__ref, kernels::dot_iq3_s_q8_k__avx2},
};

const int64_t k_sizes[] = {256, 768, 1792, 4096, 4352, 11008};

size_t block_bytes(type t) { return t == type::iq3_xxs ? sizeof(block_iq3_xxs) : sizeof(block_iq3_s); }

std::vector<float> gaussian(size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Raw random bytes with each block's fp16 d (offset 0 in both formats) set to 1.0 (`unit`) or to a
// random value in [0.001, 0.1].
std::vector<uint8_t> random_row(type t, int64_t n, std::mt19937& rng, bool unit) {
    std::vector<uint8_t> b(static_cast<size_t>(n / k_qk_k) * block_bytes(t));
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> u(0.001f, 0.1f);
    for (size_t off = 0; off < b.size(); off += block_bytes(t)) {
        const uint16_t h = f32_to_fp16(unit ? 1.0f : u(rng));
        std::memcpy(b.data() + off, &h, 2);
    }
    return b;
}

// Q8_K activations of x from lowbit's activation quantizer (active tier); `unit`: every d set to 1.0.
std::vector<block_q8_k> q8_k_row(const std::vector<float>& x, bool unit) {
    std::vector<block_q8_k> a(x.size() / k_qk_k);
    kernels::quantize_act_kernel(type::q8_k)(x.data(), a.data(), static_cast<int64_t>(x.size()));
    if (unit)
        for (auto& blk : a) blk.d = 1.0f;
    return a;
}

// Exact dot of the de-quantized rows, and sum |w_i a_i| (the scale of the rounding error).
std::pair<double, double> dequant_dot(type t, const uint8_t* w, const std::vector<block_q8_k>& a, int64_t n) {
    std::vector<float> wf(static_cast<size_t>(n));
    dequantize_row(t, w, wf.data(), n);
    double dot = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
        const block_q8_k& blk = a[static_cast<size_t>(i / k_qk_k)];
        const double p = double(wf[static_cast<size_t>(i)]) * (double(blk.d) * blk.qs[i % k_qk_k]);
        dot += p;
        mag += std::fabs(p);
    }
    return {dot, mag};
}

TEST(DotIq3, ReferenceMatchesDequantizedDot) {
    for (const auto& c : k_cases)
        for (bool encoded : {false, true})
            for (int64_t n : k_sizes) {
                if (n % k_qk_k != 0) continue;
                const uint32_t seed = k_seed + static_cast<uint32_t>(n) + 100000u * encoded;
                std::mt19937 rng(seed);
                std::vector<uint8_t> w;
                if (encoded) {  // a row as the IQ3 encoder writes it
                    w.resize(row_bytes(c.w, n));
                    quantize_row(c.w, gaussian(static_cast<size_t>(n), rng, 0.02f).data(), w.data(), n);
                } else {
                    w = random_row(c.w, n, rng, false);
                }
                const auto a = q8_k_row(gaussian(static_cast<size_t>(n), rng), false);
                const auto [want, mag] = dequant_dot(c.w, w.data(), a, n);
                ASSERT_GT(mag, 0.0) << type_name(c.w) << " n=" << n << " seed=" << seed;
                const float got = c.ref(n, w.data(), a.data());
                EXPECT_LE(std::fabs(double(got) - want), 1e-5 * mag)
                    << type_name(c.w) << " n=" << n << " encoded=" << encoded << " seed=" << seed << " want "
                    << want << " got " << got;
            }
}

TEST(DotIq3, Avx2MatchesReferenceBitExact) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (const auto& c : k_cases)
        for (bool unit : {false, true})
            for (bool encoded : {false, true})
                for (int64_t n : k_sizes) {
                    if (n % k_qk_k != 0) continue;
                    const uint32_t seed = k_seed + 7 * static_cast<uint32_t>(n) + unit + 2 * encoded;
                    std::mt19937 rng(seed);
                    std::vector<uint8_t> w;
                    if (encoded) {
                        w.resize(row_bytes(c.w, n));
                        quantize_row(c.w, gaussian(static_cast<size_t>(n), rng, 0.02f).data(), w.data(), n);
                        if (unit)
                            for (size_t off = 0; off < w.size(); off += block_bytes(c.w)) {
                                const uint16_t h = f32_to_fp16(1.0f);
                                std::memcpy(w.data() + off, &h, 2);
                            }
                    } else {
                        w = random_row(c.w, n, rng, unit);
                    }
                    const auto a = q8_k_row(gaussian(static_cast<size_t>(n), rng), unit);
                    const float want = c.ref(n, w.data(), a.data());
                    const float got = c.avx2(n, w.data(), a.data());
                    EXPECT_EQ(want, got) << type_name(c.w) << "__avx2 n=" << n << " unit=" << unit
                                         << " encoded=" << encoded << " seed=" << seed;
                }
}

// The grid point with the largest sum of its 4 magnitudes.
template <size_t N>
uint32_t largest_point(const uint32_t (&grid)[N], unsigned& index) {
    int best = -1;
    for (size_t i = 0; i < N; ++i) {
        int s = 0;
        for (int j = 0; j < 4; ++j) s += iq_grid_lane(grid[i], j);
        if (s > best) best = s, index = static_cast<unsigned>(i);
    }
    return grid[index];
}

// Every weight at its largest magnitude, scale 15, all activations 127 (or -127 with all signs set):
// the block integer is the largest the format allows; d = 1, so the result is that exact integer
// (times 0.25 for IQ3_XXS).
TEST(DotIq3, LargestBlockSums) {
    const int64_t n = 4 * k_qk_k;
    for (bool negative : {false, true}) {
        std::vector<block_q8_k> a(n / k_qk_k);
        for (auto& blk : a) {
            blk.d = 1.0f;
            for (auto& q : blk.qs) q = negative ? -127 : 127;
            for (auto& s : blk.bsums) s = static_cast<int16_t>(16 * (negative ? -127 : 127));
        }
        // IQ3_XXS: sign fields 127 (7 bits set, parity bit set: all 8 negative) or 0 (none).
        unsigned ix = 0;
        const uint32_t px = largest_point(k_iq3xxs_grid, ix);
        std::vector<block_iq3_xxs> wx(n / k_qk_k);
        for (auto& blk : wx) {
            blk.d = f32_to_fp16(1.0f);
            std::memset(blk.qs, static_cast<int>(ix), k_qk_k / 4);
            const uint32_t aux = (15u << 28) | (negative ? 0x0FFFFFFFu : 0u);
            for (int s = 0; s < 8; ++s) std::memcpy(blk.qs + k_qk_k / 4 + 4 * s, &aux, 4);
        }
        // IQ3_S: index 9 bits (qs byte + qh bit), explicit signs.
        unsigned is = 0;
        const uint32_t ps = largest_point(k_iq3s_grid, is);
        std::vector<block_iq3_s> ws(n / k_qk_k);
        for (auto& blk : ws) {
            blk.d = f32_to_fp16(1.0f);
            std::memset(blk.qs, static_cast<int>(is & 0xFF), sizeof(blk.qs));
            std::memset(blk.qh, is & 0x100 ? 0xFF : 0, sizeof(blk.qh));
            std::memset(blk.signs, negative ? 0xFF : 0, sizeof(blk.signs));
            std::memset(blk.scales, 0xFF, sizeof(blk.scales));
        }
        auto lane_sum = [](uint32_t p) {
            int s = 0;
            for (int j = 0; j < 4; ++j) s += iq_grid_lane(p, j);
            return s;
        };
        // Per block: 31 * 127 * (sum over 64 groups of the point's lanes); all signs agree with q.
        const double want_x = 0.25 * (n / k_qk_k) * 31.0 * 127.0 * 64.0 * lane_sum(px);
        const double want_s = double(n / k_qk_k) * 31.0 * 127.0 * 64.0 * lane_sum(ps);
        EXPECT_EQ(double(kernels::dot_iq3_xxs_q8_k__ref(n, wx.data(), a.data())), want_x)
            << "negative=" << negative;
        EXPECT_EQ(double(kernels::dot_iq3_s_q8_k__ref(n, ws.data(), a.data())), want_s)
            << "negative=" << negative;
        if (best_isa_tier() >= isa_tier::avx2) {
            EXPECT_EQ(double(kernels::dot_iq3_xxs_q8_k__avx2(n, wx.data(), a.data())), want_x)
                << "negative=" << negative;
            EXPECT_EQ(double(kernels::dot_iq3_s_q8_k__avx2(n, ws.data(), a.data())), want_s)
                << "negative=" << negative;
        }
    }
}

}  // namespace
}  // namespace lowbit
