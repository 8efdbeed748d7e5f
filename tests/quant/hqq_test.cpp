// HQQ: per group, the lp error (p = 0.7) never exceeds RTN's and is lower in total; the bytes decode
// to the grid it chose (round trip through the format's decoder).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/types.hpp"
#include "quant/hqq.hpp"
#include "quant/int_grid.hpp"

namespace lowbit {
namespace {

TEST(Hqq, LowersLpErrorPerGroupVsRtn) {
    const int64_t rows = 16, n = 256;
    std::mt19937_64 rng(17);
    std::student_t_distribution<float> dist(3.0f);
    std::vector<float> w(static_cast<size_t>(rows * n));
    for (auto& v : w) v = 0.02f * dist(rng);
    const double p = 0.7;
    for (const char* name : {"int4_g32_asym", "int3_g64_asym", "int2_g32_asym", "int4_g128_asym", "int3_g32",
                             "int2_g64", "int4_pc_asym"}) {
        const type t = type_from_name(name).value();
        const auto s = int_spec_of(t).value();
        const int64_t G = s.group_len(n);
        const size_t rb = row_bytes(t, n);
        hqq_options o;
        o.p = static_cast<float>(p);
        const auto q = hqq_quantize(t, w.data(), rows, n, o);
        ASSERT_EQ(q.size(), rows * rb);
        double tot_rtn = 0, tot_hqq = 0;
        std::vector<uint8_t> rq(rb);
        std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
        for (int64_t r = 0; r < rows; ++r) {
            quantize_row(t, w.data() + r * n, rq.data(), n);
            dequantize_row(t, rq.data(), a.data(), n);
            dequantize_row(t, q.data() + r * rb, b.data(), n);
            for (int64_t g0 = 0; g0 < n; g0 += G) {
                double er = 0, eh = 0;
                for (int64_t i = g0; i < g0 + G; ++i) {
                    er += std::pow(std::fabs(double(w[r * n + i]) - a[i]), p);
                    eh += std::pow(std::fabs(double(w[r * n + i]) - b[i]), p);
                }
                EXPECT_LE(eh, er * (1 + 1e-9)) << name << " row " << r << " group " << g0 / G;
                tot_rtn += er;
                tot_hqq += eh;
            }
        }
        EXPECT_LT(tot_hqq, 0.97 * tot_rtn) << name;
    }
}

TEST(Hqq, ZeroItersIsRtnAndBadInputThrows) {
    std::vector<float> w(96);
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * float(i));
    const type t = type_from_name("int3_g32_asym").value();
    hqq_options o;
    o.iters = 0;
    std::vector<uint8_t> ref(row_bytes(t, 96));
    quantize_row(t, w.data(), ref.data(), 96);
    EXPECT_EQ(hqq_quantize(t, w.data(), 1, 96, o), ref);
    EXPECT_ANY_THROW(hqq_quantize(type::q4_0, w.data(), 1, 96, {}));
    o.p = -1;
    EXPECT_ANY_THROW(hqq_quantize(t, w.data(), 1, 96, o));
}

}  // namespace
}  // namespace lowbit
