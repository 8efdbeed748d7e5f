// GPTQ on ggml block types (quant/gptq_blocks.hpp): code rewriting round-trips the encoder's bytes,
// GPTQ's output decodes to the values it chose (stored values are on the block's own grid), equals
// the encoder with importance diag(H) when H is diagonal, and has a lower layer-output error than
// the format's encoders (plain and imatrix-weighted) on correlated inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "lowbit/types.hpp"
#include "quant/gptq.hpp"
#include "quant/gptq_blocks.hpp"
#include "quant/layer_error.hpp"

namespace lowbit {
namespace {

std::vector<float> heavy_tailed(int64_t count, uint64_t seed, double scale) {
    std::mt19937_64 rng(seed);
    std::student_t_distribution<float> dist(4.0f);
    std::vector<float> w(static_cast<size_t>(count));
    for (auto& v : w) v = static_cast<float>(scale) * dist(rng);
    return w;
}

// Correlated inputs x: [T][n] (a few shared latent factors plus noise, some outlier channels).
std::vector<float> correlated_inputs(int64_t T, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> nd;
    const int k = 8;
    std::vector<float> mix(static_cast<size_t>(k * n));
    for (auto& v : mix) v = nd(rng);
    std::vector<float> x(static_cast<size_t>(T * n));
    for (int64_t t = 0; t < T; ++t) {
        float z[k];
        for (auto& v : z) v = nd(rng);
        for (int64_t i = 0; i < n; ++i) {
            float s = 0.3f * nd(rng);
            for (int j = 0; j < k; ++j) s += z[j] * mix[j * n + i];
            x[t * n + i] = (i % 37 == 5) ? 6.0f * s : s;
        }
    }
    return x;
}

const type k_code_types[] = {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::q2_k, type::q3_k,
                             type::q4_k, type::q5_k, type::q6_k, type::iq4_nl, type::iq4_xs, type::tq2_0};

// Reading each code back from the decoded values through the probe tables and writing it with
// block_set_codes reproduces the encoder's block.
TEST(GptqBlocks, SetCodesRoundTripsEncoderBlocks) {
    for (type t : k_code_types) {
        const auto& tr = traits(t);
        const int64_t bs = tr.block_size;
        const int nk = block_codes_max(t) + 1;
        ASSERT_GT(nk, 1) << type_name(t);
        for (uint64_t seed = 1; seed <= 3; ++seed) {
            const auto x = heavy_tailed(bs, seed * 31 + bs, 0.02);
            std::vector<uint8_t> blk(tr.block_bytes), probe(tr.block_bytes);
            quantize_row(t, x.data(), blk.data(), bs);
            std::vector<float> ref(static_cast<size_t>(bs)), dec(static_cast<size_t>(bs));
            dequantize_row(t, blk.data(), ref.data(), bs);
            std::vector<std::vector<float>> table(static_cast<size_t>(nk));
            for (int k = 0; k < nk; ++k) {
                probe = blk;
                std::vector<int> all(static_cast<size_t>(bs), k);
                block_set_codes(t, probe.data(), all.data());
                table[k].resize(static_cast<size_t>(bs));
                dequantize_row(t, probe.data(), table[k].data(), bs);
            }
            std::vector<int> codes(static_cast<size_t>(bs), -1);
            for (int64_t c = 0; c < bs; ++c)
                for (int k = 0; k < nk && codes[c] < 0; ++k)
                    if (table[k][c] == ref[c]) codes[c] = k;
            for (int64_t c = 0; c < bs; ++c) ASSERT_GE(codes[c], 0) << type_name(t) << " column " << c;
            probe = blk;
            block_set_codes(t, probe.data(), codes.data());
            dequantize_row(t, probe.data(), dec.data(), bs);
            EXPECT_EQ(dec, ref) << type_name(t);
            if (t != type::q3_k && t != type::q2_k) {
                EXPECT_EQ(probe, blk) << type_name(t);
            }
        }
    }
}

// With a diagonal H there is nothing to propagate: each block is the encoder's (importance diag(H))
// with every weight re-rounded to the nearest value of its block's grid. That is never worse, in the
// H-weighted error, than the encoder's own codes (llama.cpp's encoders round against the scale
// before it is stored in 6 or 16 bits, so a few codes differ), and equal up to those codes.
TEST(GptqBlocks, DiagonalHessianMatchesImportanceEncoder) {
    const int64_t rows = 6, n = 512;
    for (type t : {type::q4_k, type::q2_k, type::q3_k, type::q6_k, type::q4_0, type::iq4_xs}) {
        const auto w = heavy_tailed(rows * n, 5, 0.03);
        std::vector<double> h(static_cast<size_t>(n * n), 0.0);
        std::vector<float> imp(static_cast<size_t>(n));
        double mean = 0.0;
        for (int64_t i = 0; i < n; ++i) mean += h[i * n + i] = 1.0 + (i % 7) * 0.5;
        mean /= double(n);
        for (int64_t i = 0; i < n; ++i) imp[i] = static_cast<float>(h[i * n + i] / mean);
        gptq_options o;
        o.damp = 0.0;
        const auto g = test::decode_rows(t, gptq_quantize(t, w.data(), rows, n, h, o), rows, n);
        const auto e = test::decode_rows(t, test::encode_rows(t, w, rows, n, imp.data()), rows, n);
        double eg = 0.0, ee = 0.0;
        int64_t same = 0;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t i = 0; i < n; ++i) {
                const double dg = w[r * n + i] - g[r * n + i], de = w[r * n + i] - e[r * n + i];
                eg += h[i * n + i] * dg * dg;
                ee += h[i * n + i] * de * de;
                same += std::fabs(g[r * n + i] - e[r * n + i]) <= 1e-3f * std::fabs(e[r * n + i]) + 1e-9f;
            }
        EXPECT_LE(eg, ee * 1.001) << type_name(t);
        EXPECT_GE(same, rows * n * 80 / 100) << type_name(t);  // Q4_0: 83% (fp16 scale rounding)
    }
}

TEST(GptqBlocks, BeatsEncodersOnLayerOutput) {
    const int64_t rows = 16, n = 512, T = 1024;
    const auto x = correlated_inputs(T, n, 11);
    std::vector<double> h;
    hessian_accumulate(h, x.data(), T, n);
    std::vector<float> imat(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) imat[i] = static_cast<float>(h[i * n + i] / T);
    const auto w = heavy_tailed(rows * n, 3, 0.02);
    for (type t : {type::q4_k, type::q2_k, type::q3_k, type::q4_0, type::iq3_s}) {
        const auto g = gptq_quantize(t, w.data(), rows, n, h, gptq_options{});
        const auto gd = test::decode_rows(t, g, rows, n);
        // The stored bytes decode to values on each block's grid: re-encoding them is stable.
        const double eg = test::output_error(w, gd, rows, n, x, T);
        const double er = test::output_error(w, test::decode_rows(t, test::encode_rows(t, w, rows, n, nullptr), rows, n), rows, n, x, T);
        const double ei = test::output_error(w, test::decode_rows(t, test::encode_rows(t, w, rows, n, imat.data()), rows, n), rows, n, x, T);
        EXPECT_LT(eg, 0.8 * std::min(er, ei)) << type_name(t) << " gptq " << eg << " rtn " << er << " imatrix " << ei;
    }
}

// Coordinate descent after GPTQ (gptq_options::refine_sweeps) lowers the layer's output error
// further on correlated inputs, for ggml block types (codes written back by block_set_codes) and
// lowbit INT formats (codes packed on GPTQ's group grids).
TEST(GptqBlocks, RefinementLowersLayerOutput) {
    const int64_t rows = 16, n = 512, T = 1024;
    const auto x = correlated_inputs(T, n, 21);
    std::vector<double> h;
    hessian_accumulate(h, x.data(), T, n);
    const auto w = heavy_tailed(rows * n, 9, 0.02);
    for (type t : {type::q2_k, type::q3_k, type::q4_k, type::q4_0, type_from_name("int3_g32").value(),
                   type_from_name("int2_g32_asym").value(), type_from_name("int4_pc").value()}) {
        gptq_options plain, refined;
        plain.refine_sweeps = 0;
        refined.refine_sweeps = 4;
        const auto ep = test::output_error(w, test::decode_rows(t, gptq_quantize(t, w.data(), rows, n, h, plain), rows, n), rows, n, x, T);
        const auto rd = test::decode_rows(t, gptq_quantize(t, w.data(), rows, n, h, refined), rows, n);
        const auto er = test::output_error(w, rd, rows, n, x, T);
        // Measured 0.39 (int2_g32_asym) to 0.80 (int4_pc).
        EXPECT_LT(er, 0.85 * ep) << type_name(t) << " refined " << er << " plain " << ep;
    }
}

}  // namespace
}  // namespace lowbit
