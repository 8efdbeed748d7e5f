// Quantized dot products (kernels/dot.hpp) and activation quantizers (kernels/quant_act.hpp):
//  - every __avx2 kernel against its __ref on awkward sizes (1 block, odd counts, 4096+), with random
//    codes (raw random bytes, so every bit pattern and extreme scale occurs) and sane fp16 scales:
//    K-quants bit-exactly; 32-blocks within |diff| <= 1e-5 * sum_b |block term| (float lane order),
//    and bit-exactly when every scale is 1 (then all partial sums are exact small integers);
//  - __ref against de-quantize-then-dot in double, within 1e-5 * sum_i |w_i a_i|;
//  - the AVX2 activation quantizers write the same bytes as __ref;
//  - matmul's small-batch path against de-quantize + f32 dot, with a sentinel-filled output.
// Seeds are printed on failure.
#include "kernels/dot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/x86_kernel.hpp"
#include "formats/ggml_blocks.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"

namespace lowbit {
namespace {

using kernels::dot_fn;

constexpr uint32_t k_seed = 20261123;

struct case_t {
    type w;
    dot_fn ref, avx2;
};

const case_t k_cases[] = {
    {type::q4_0, kernels::dot_q4_0_q8_0__ref, kernels::dot_q4_0_q8_0__avx2},
    {type::q4_1, kernels::dot_q4_1_q8_1__ref, kernels::dot_q4_1_q8_1__avx2},
    {type::q5_0, kernels::dot_q5_0_q8_0__ref, kernels::dot_q5_0_q8_0__avx2},
    {type::q5_1, kernels::dot_q5_1_q8_1__ref, kernels::dot_q5_1_q8_1__avx2},
    {type::q8_0, kernels::dot_q8_0_q8_0__ref, kernels::dot_q8_0_q8_0__avx2},
    {type::iq4_nl, kernels::dot_iq4_nl_q8_0__ref, kernels::dot_iq4_nl_q8_0__avx2},
    {type::q2_k, kernels::dot_q2_k_q8_k__ref, kernels::dot_q2_k_q8_k__avx2},
    {type::q3_k, kernels::dot_q3_k_q8_k__ref, kernels::dot_q3_k_q8_k__avx2},
    {type::q4_k, kernels::dot_q4_k_q8_k__ref, kernels::dot_q4_k_q8_k__avx2},
    {type::q5_k, kernels::dot_q5_k_q8_k__ref, kernels::dot_q5_k_q8_k__avx2},
    {type::q6_k, kernels::dot_q6_k_q8_k__ref, kernels::dot_q6_k_q8_k__avx2},
    {type::mxfp4, kernels::dot_mxfp4_q8_0__ref, kernels::dot_mxfp4_q8_0__avx2},
    {type::tq1_0, kernels::dot_tq1_0_q8_k__ref, kernels::dot_tq1_0_q8_k__avx2},
    {type::tq2_0, kernels::dot_tq2_0_q8_k__ref, kernels::dot_tq2_0_q8_k__avx2},
};

bool is_k(type t) { return traits(t).block_size == 256; }

std::vector<int64_t> sizes(type t) {
    const int64_t bs = traits(t).block_size;
    return {bs, 3 * bs, 7 * bs, 4096, 4096 + bs, 4096 + 5 * bs, 11008};
}

std::vector<float> gaussian(size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Offsets of the fp16 scale fields of one block of `t` (d, and dmin / m where present).
std::vector<size_t> half_fields(type t) {
    switch (t) {
        case type::q4_0: case type::q5_0: case type::q8_0: case type::iq4_nl: return {0};
        case type::q4_1: case type::q5_1: return {0, 2};
        case type::q2_k: return {offsetof(block_q2_k, d), offsetof(block_q2_k, dmin)};
        case type::q3_k: return {offsetof(block_q3_k, d)};
        case type::q4_k: return {0, 2};
        case type::q5_k: return {0, 2};
        case type::q6_k: return {offsetof(block_q6_k, d)};
        case type::tq1_0: return {offsetof(block_tq1_0, d)};
        case type::tq2_0: return {offsetof(block_tq2_0, d)};
        default: return {};
    }
}

// Random bytes with the fp16 scale fields set to `unit` ? 1.0 : random values in [0.001, 0.1].
std::vector<uint8_t> random_row(type t, int64_t n, std::mt19937& rng, bool unit) {
    std::vector<uint8_t> b(row_bytes(t, n));
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> u(0.001f, 0.1f);
    const size_t bb = traits(t).block_bytes;
    for (size_t off = 0; off < b.size(); off += bb)
        for (size_t f : half_fields(t)) {
            const uint16_t h = f32_to_fp16(unit ? 1.0f : u(rng));
            std::memcpy(b.data() + off + f, &h, 2);
        }
    if (t == type::mxfp4)  // E8M0 exponent byte: 2^(e - 128) in [2^-10, 2^2] (unit: 1)
        for (size_t off = 0; off < b.size(); off += bb) b[off] = static_cast<uint8_t>(unit ? 128 : 118 + rng() % 13);
    return b;
}

std::vector<uint8_t> quantized_act(type at, const std::vector<float>& x, bool unit) {
    std::vector<uint8_t> a(row_bytes(at, static_cast<int64_t>(x.size())));
    kernels::quantize_act_kernel(at)(x.data(), a.data(), static_cast<int64_t>(x.size()));
    if (unit) {  // scale 1: d (and s for q8_1) replaced, codes unchanged
        const size_t bb = traits(at).block_bytes;
        for (size_t off = 0; off < a.size(); off += bb) {
            if (at == type::q8_k) {
                const float one = 1.0f;
                std::memcpy(a.data() + off, &one, 4);
            } else {
                const uint16_t h = f32_to_fp16(1.0f);
                std::memcpy(a.data() + off, &h, 2);
                if (at == type::q8_1) {
                    int sum = 0;
                    for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(a[off + 4 + j]);
                    const uint16_t s = f32_to_fp16(static_cast<float>(sum));
                    std::memcpy(a.data() + off + 2, &s, 2);
                }
            }
        }
    }
    return a;
}

// Exact dot of the de-quantized rows, and sum |w_i a_i| (the scale of the rounding error).
std::pair<double, double> dequant_dot(type t, type at, const uint8_t* w, const uint8_t* a, int64_t n) {
    std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
    dequantize_row(t, w, wf.data(), n);
    if (at == type::q8_1) {
        // de-quantize as Q8_0 (s is derived data)
        for (int64_t b = 0; b < n / 32; ++b) {
            uint16_t h;
            std::memcpy(&h, a + b * 36, 2);
            for (int j = 0; j < 32; ++j) af[b * 32 + j] = fp16_to_f32(h) * static_cast<int8_t>(a[b * 36 + 4 + j]);
        }
    } else {
        dequantize_row(at, a, af.data(), n);
    }
    double dot = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
        dot += double(wf[i]) * af[i];
        mag += std::fabs(double(wf[i]) * af[i]);
    }
    if (at == type::q8_1) {
        // The kernels apply the weight min m through the stored fp16 s = d_a * sum(q_a), not the
        // exact sum: add m * (s - d_a * sum(q_a)) per block (a property of the Q8_1 format).
        const size_t bb = traits(t).block_bytes;
        for (int64_t b = 0; b < n / 32; ++b) {
            uint16_t hm, hd, hs;
            std::memcpy(&hm, w + b * bb + 2, 2);
            std::memcpy(&hd, a + b * 36, 2);
            std::memcpy(&hs, a + b * 36 + 2, 2);
            double sum = 0;
            for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(a[b * 36 + 4 + j]);
            dot += double(fp16_to_f32(hm)) * (double(fp16_to_f32(hs)) - double(fp16_to_f32(hd)) * sum);
        }
    }
    return {dot, mag};
}

TEST(Dot, ReferenceMatchesDequantizedDot) {
    for (const auto& c : k_cases) {
        const type at = kernels::dot_act_type(c.w);
        for (int64_t n : sizes(c.w)) {
            std::mt19937 rng(k_seed + static_cast<uint32_t>(n));
            const auto w = random_row(c.w, n, rng, false);
            const auto a = quantized_act(at, gaussian(static_cast<size_t>(n), rng), false);
            const auto [want, mag] = dequant_dot(c.w, at, w.data(), a.data(), n);
            const float got = c.ref(n, w.data(), a.data());
            EXPECT_LE(std::fabs(got - want), 1e-5 * mag + 1e-30)
                << type_name(c.w) << " n=" << n << " seed=" << k_seed + n << " want " << want << " got " << got;
        }
    }
}

TEST(Dot, Avx2MatchesReference) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (const auto& c : k_cases) {
        if (!c.avx2) continue;
        const type at = kernels::dot_act_type(c.w);
        for (bool unit : {false, true})
            for (int64_t n : sizes(c.w)) {
                const uint32_t seed = k_seed + 7 * static_cast<uint32_t>(n) + unit;
                std::mt19937 rng(seed);
                const auto w = random_row(c.w, n, rng, unit);
                const auto a = quantized_act(at, gaussian(static_cast<size_t>(n), rng), unit);
                const float want = c.ref(n, w.data(), a.data());
                const float got = c.avx2(n, w.data(), a.data());
                if (is_k(c.w) || unit) {
                    EXPECT_EQ(want, got) << type_name(c.w) << "__avx2 n=" << n << " unit=" << unit
                                         << " seed=" << seed;
                } else {
                    const double mag = dequant_dot(c.w, at, w.data(), a.data(), n).second;
                    EXPECT_LE(std::fabs(double(got) - want), 1e-5 * mag)
                        << type_name(c.w) << "__avx2 n=" << n << " seed=" << seed << " want " << want << " got " << got;
                }
            }
    }
}

TEST(Dot, KernelSelection) {
    EXPECT_EQ(kernels::dot_act_type(type::q4_0), type::q8_0);
    EXPECT_EQ(kernels::dot_act_type(type::q6_k), type::q8_k);
    EXPECT_EQ(kernels::dot_act_type(type::f32), type::f32);
    EXPECT_EQ(kernels::dot_act_type(type::f16), type::f32);  // F16 / BF16: f32 activations, not quantized
    EXPECT_EQ(kernels::dot_kernel(type::f16, isa_tier::ref), kernels::dot_f16_f32__ref);
    EXPECT_EQ(kernels::dot_kernel(type::f32, isa_tier::avx2), nullptr);
    EXPECT_EQ(kernels::dot_kernel(type::q4_k, isa_tier::ref), kernels::dot_q4_k_q8_k__ref);
    // Without x86 tier files (LOWBIT_X86_KERNEL) every tier's table entry falls back to __ref.
    if (!LOWBIT_HAVE_X86_KERNELS) {
        EXPECT_EQ(kernels::dot_kernel(type::q4_k, isa_tier::avx2), kernels::dot_q4_k_q8_k__ref);
        GTEST_SKIP() << "not an x86 build: no AVX2 kernels to select";
    }
    EXPECT_EQ(kernels::dot_kernel(type::q4_k, isa_tier::avx2), kernels::dot_q4_k_q8_k__avx2);
    // every ggml type the runtime loads has a dot kernel at both tiers (no de-quantize per token)
    for (type t : {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::q2_k, type::q3_k, type::q4_k,
                   type::q5_k, type::q6_k, type::iq4_nl, type::iq3_xxs, type::iq3_s, type::tq1_0, type::tq2_0,
                   type::mxfp4, type::f16, type::bf16}) {
        EXPECT_NE(kernels::dot_kernel(t, isa_tier::ref), nullptr) << type_name(t);
        EXPECT_NE(kernels::dot_kernel(t, isa_tier::avx2), kernels::dot_kernel(t, isa_tier::ref)) << type_name(t);
    }
    EXPECT_EQ(kernels::dot_kernel(type::q4_1, isa_tier::avx2), kernels::dot_q4_1_q8_1__avx2);
    EXPECT_EQ(kernels::dot_kernel(type::q4_1, isa_tier::ref), kernels::dot_q4_1_q8_1__ref);
}

namespace {
// quantize_act_<at>__ref and the tier's version (__avx2, or __simd128 for generic) on x (n a multiple of
// 256): both outputs' bytes.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> quantize_act_both(type at, const std::vector<float>& x,
                                                                        isa_tier tier = isa_tier::avx2) {
    const auto n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> want(row_bytes(at, n), 0xAB), got(row_bytes(at, n), 0xCD);
    const bool g = tier == isa_tier::generic;
    if (at == type::q8_0) {
        kernels::quantize_act_q8_0__ref(x.data(), want.data(), n);
        (g ? kernels::quantize_act_q8_0__simd128 : kernels::quantize_act_q8_0__avx2)(x.data(), got.data(), n);
    } else if (at == type::q8_1) {
        kernels::quantize_act_q8_1__ref(x.data(), want.data(), n);
        (g ? kernels::quantize_act_q8_1__simd128 : kernels::quantize_act_q8_1__avx2)(x.data(), got.data(), n);
    } else {
        kernels::quantize_act_q8_k__ref(x.data(), want.data(), n);
        (g ? kernels::quantize_act_q8_k__simd128 : kernels::quantize_act_q8_k__avx2)(x.data(), got.data(), n);
    }
    return {want, got};
}

// The SIMD tiers the quantizer tests run: avx2 and the 128-bit generic tier, where the CPU has them.
std::vector<isa_tier> simd_act_tiers() {
    std::vector<isa_tier> v;
    if (LOWBIT_HAVE_SIMD128 && isa_tier_supported(isa_tier::generic)) v.push_back(isa_tier::generic);
    if (best_isa_tier() >= isa_tier::avx2) v.push_back(isa_tier::avx2);
    return v;
}

// The scale of the block holding value p: fp16 d of Q8_0 / Q8_1, float d of Q8_K.
float act_block_scale(type at, const std::vector<uint8_t>& q, int p) {
    if (at == type::q8_k) return reinterpret_cast<const block_q8_k*>(q.data())[p / 256].d;
    if (at == type::q8_1) return fp16_to_f32(reinterpret_cast<const block_q8_1*>(q.data())[p / 32].d);
    return fp16_to_f32(reinterpret_cast<const block_q8_0*>(q.data())[p / 32].d);
}
}  // namespace

TEST(QuantAct, SimdMatchesReferenceBytes) {
    if (simd_act_tiers().empty()) GTEST_SKIP() << "no SIMD tier";
    for (isa_tier tier : simd_act_tiers()) {
        std::mt19937 rng(k_seed + 99);
        for (int64_t n : {256, 512, 4096, 5632}) {
            auto x = gaussian(static_cast<size_t>(n), rng, 3.0f);
            // Awkward values: exact ties after scaling, zeros, a block of zeros, equal +/- maxima.
            for (int64_t i = 0; i < n; i += 37)
                x[static_cast<size_t>(i)] = std::round(x[static_cast<size_t>(i)]);
            for (int64_t i = 0; i < 256 && n >= 512; ++i) x[static_cast<size_t>(256 + i)] = 0.0f;
            x[3] = 9.0f;
            x[200] = -9.0f;
            for (type at : {type::q8_0, type::q8_1, type::q8_k}) {
                const auto [want, got] = quantize_act_both(at, x, tier);
                for (size_t i = 0; i < want.size(); ++i)
                    ASSERT_EQ(want[i], got[i])
                        << type_name(at) << " " << isa_tier_name(tier) << " n=" << n << " byte " << i;
            }
        }
    }
}

// Activations that are not finite or are tiny (a model with NaN or overflowing weights; found by
// scripts/fuzz.sh) give the same bytes from both versions, and a NaN does not move its block's scale:
// both versions skip NaNs when they take the largest magnitude. The AVX2 ones used to drop the maximum of
// the NaN's lane (a wrong scale) or keep the NaN as the maximum; for Q8_K that also sent the search for
// the maximum past the end of the block (a read outside the row's buffer). __ref's rounding cast NaN and
// out-of-range values to int (undefined); both now give -128 for them, as cvtps_epi32 + packs.
TEST(QuantAct, NonFiniteAndTinyActivationsMatchReferenceBytes) {
    if (simd_act_tiers().empty()) GTEST_SKIP() << "no SIMD tier";
    for (isa_tier tier : simd_act_tiers()) {
        std::mt19937 rng(k_seed + 7);
        const auto clean = gaussian(256, rng);
        const float nan = std::numeric_limits<float>::quiet_NaN(),
                    inf = std::numeric_limits<float>::infinity();
        for (type at : {type::q8_0, type::q8_1, type::q8_k}) {
            for (int p = 0; p < 256; ++p) {
                for (float v : {nan, inf, -inf}) {
                    std::vector<float> x(clean);
                    x[static_cast<size_t>(p)] = v;
                    const auto [want, got] = quantize_act_both(at, x, tier);
                    ASSERT_EQ(want, got) << type_name(at) << ": " << v << " at " << p;
                    if (std::isnan(v)) {  // NaN: the scale of the other values (the block with a 0 there)
                        x[static_cast<size_t>(p)] = 0.0f;
                        const auto zero_q = quantize_act_both(at, x, tier).first;
                        ASSERT_EQ(act_block_scale(at, got, p), act_block_scale(at, zero_q, p))
                            << type_name(at) << " " << p;
                    }
                }
            }
            // Subnormal blocks (1/d overflows), one with zeros and a NaN in it.
            for (float s : {1e-39f, 1e-44f, 1e-30f}) {
                std::vector<float> x(clean);
                for (float& v : x) v *= s;
                const auto [want, got] = quantize_act_both(at, x, tier);
                ASSERT_EQ(want, got) << type_name(at) << " scale " << s;
                for (int i = 0; i < 256; i += 3) x[static_cast<size_t>(i)] = 0.0f;
                x[100] = nan;
                const auto [want2, got2] = quantize_act_both(at, x, tier);
                ASSERT_EQ(want2, got2) << type_name(at) << " scale " << s << " with zeros and a NaN";
            }
        }
    }
}

TEST(QuantAct, Q8kMatchesFormatEncoder) {
    // The activation Q8_K quantizer is the format's reference encoder (same bytes).
    std::mt19937 rng(k_seed + 5);
    const auto x = gaussian(1024, rng);
    std::vector<uint8_t> a(row_bytes(type::q8_k, 1024)), b(a.size());
    kernels::quantize_act_q8_k__ref(x.data(), a.data(), 1024);
    quantize_row(type::q8_k, x.data(), b.data(), 1024);
    EXPECT_EQ(a, b);
}

// matmul with a small batch (the quantized path) == de-quantized weights . de-quantized activations.
TEST(MatmulQuantized, SmallBatchMatchesDequantizedDots) {
    const type types[] = {type::q4_0, type::q4_1, type::q5_1, type::q8_0, type::q5_0, type::iq4_nl, type::q2_k,
                          type::q3_k, type::q4_k, type::q5_k, type::q6_k};
    for (type t : types) {
        const type at = kernels::dot_act_type(t);
        const int64_t n_cols = 512, n_rows = 37;
        for (int64_t n_tokens : {1, 2, 4}) {
            const uint32_t seed = k_seed + static_cast<uint32_t>(t) * 10 + static_cast<uint32_t>(n_tokens);
            std::mt19937 rng(seed);
            const size_t rb = row_bytes(t, n_cols);
            std::vector<uint8_t> wq(rb * n_rows);
            const auto wf = gaussian(static_cast<size_t>(n_rows * n_cols), rng);
            for (int64_t r = 0; r < n_rows; ++r) quantize_row(t, wf.data() + r * n_cols, wq.data() + r * rb, n_cols);
            const weight_matrix w = weight_matrix::stored_rows("w", t, n_rows, n_cols, wq.data());
            const int64_t ldx = n_cols + 3, ldy = n_rows + 5;
            const auto x = gaussian(static_cast<size_t>(n_tokens * ldx), rng);
            for (int threads : {1, 2, 3}) {
                matmul_scratch scratch;
                std::vector<float> y(static_cast<size_t>(n_tokens * ldy), -12345.0f);  // sentinel
                matmul(w, n_tokens, x.data(), ldx, y.data(), ldy, threads, scratch);
                for (int64_t tk = 0; tk < n_tokens; ++tk) {
                    std::vector<uint8_t> a(row_bytes(at, n_cols));
                    kernels::quantize_act_kernel(at)(x.data() + tk * ldx, a.data(), n_cols);
                    for (int64_t r = 0; r < n_rows; ++r) {
                        const auto [want, mag] = dequant_dot(t, at, wq.data() + r * rb, a.data(), n_cols);
                        ASSERT_LE(std::fabs(y[tk * ldy + r] - want), 1e-5 * mag)
                            << type_name(t) << " tokens=" << n_tokens << " threads=" << threads << " row " << r
                            << " seed=" << seed;
                    }
                    for (int64_t r = n_rows; r < ldy; ++r) ASSERT_EQ(y[tk * ldy + r], -12345.0f) << "padding written";
                }
            }
        }
    }
}

}  // namespace
}  // namespace lowbit

namespace lowbit {
namespace {

// F16 / BF16 weights x f32 activations (the generation path of F16 / BF16 models): __ref against a
// double sum of the decoded weights, __avx2 against __ref within 1e-5 of sum |w x|, for lengths that
// exercise the 32-wide loop, the 8-wide loop and the masked tail (nothing past n is read: the row is
// the last thing in its buffer), and matmul's 1-4 token path through the kernel.
TEST(Dot, HalfWeightsF32Activations) {
    for (type t : {type::f16, type::bf16}) {
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref), avx2 = kernels::dot_kernel(t, isa_tier::avx2);
        ASSERT_NE(ref, nullptr);
        for (int64_t n : {int64_t(1), int64_t(7), int64_t(8), int64_t(31), int64_t(32), int64_t(33), int64_t(100), int64_t(4101)}) {
            std::mt19937 rng(20261124 + static_cast<uint32_t>(n));
            std::normal_distribution<float> d(0.0f, 1.0f);
            std::vector<uint16_t> w(static_cast<size_t>(n));
            std::vector<float> x(static_cast<size_t>(n));
            double exact = 0, mag = 0;
            for (int64_t i = 0; i < n; ++i) {
                w[i] = t == type::f16 ? f32_to_fp16(d(rng)) : f32_to_bf16(d(rng));
                x[i] = d(rng);
                const double wv = t == type::f16 ? fp16_to_f32(w[i]) : bf16_to_f32(w[i]);
                exact += wv * x[i];
                mag += std::fabs(wv * x[i]);
            }
            const float r = ref(n, w.data(), x.data());
            EXPECT_LE(std::fabs(r - exact), 1e-5 * mag) << type_name(t) << " __ref n " << n;
            if (best_isa_tier() >= isa_tier::avx2) {
                ASSERT_NE(avx2, ref);
                // The row at the very end of an exactly sized heap buffer: a read past n would be caught by
                // ASan / valgrind runs of this test.
                std::vector<uint16_t> tight(w);
                const float v = avx2(n, tight.data(), x.data());
                EXPECT_LE(std::fabs(double(v) - r), 1e-5 * mag) << type_name(t) << " __avx2 n " << n;
            }
        }
        // matmul with 1..4 tokens takes the dot (activations unquantized: f32).
        const int64_t rows = 19, k = 100;
        std::mt19937 rng(7);
        std::normal_distribution<float> d(0.0f, 1.0f);
        std::vector<uint16_t> w(static_cast<size_t>(rows * k));
        for (auto& v : w) v = t == type::f16 ? f32_to_fp16(d(rng)) : f32_to_bf16(d(rng));
        const weight_matrix wm = weight_matrix::stored_rows("w", t, rows, k, reinterpret_cast<const uint8_t*>(w.data()));
        std::vector<float> x(static_cast<size_t>(3 * k)), y(static_cast<size_t>(3 * rows), -1.0f);
        for (auto& v : x) v = d(rng);
        matmul_scratch sc;
        matmul(wm, 3, x.data(), k, y.data(), rows, 2, sc);
        for (int64_t tk = 0; tk < 3; ++tk)
            for (int64_t r = 0; r < rows; ++r)
                EXPECT_EQ(y[static_cast<size_t>(tk * rows + r)],
                          kernels::dot_kernel(t)(k, w.data() + r * k, x.data() + tk * k))
                    << type_name(t) << " token " << tk << " row " << r;
    }
}

}  // namespace
}  // namespace lowbit
