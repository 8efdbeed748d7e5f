// SIMD kernels against their scalar references on awkward shapes, with seeded random data and
// sentinels around the outputs. Float tolerance: normalized MSE sum((a-b)^2) / sum(b^2) < 1e-10 over
// an output (float accumulation in a different order gives ~1e-14); a single dot product, which may
// cancel, is checked as |a-b| <= 1e-5 * sum_i |x_i w_i| instead.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/attention.hpp"
#include "kernels/gemm_f32.hpp"
#include "kernels/matmul.hpp"
#include "lowbit/types.hpp"

#if LOWBIT_HAVE_SIMDE
namespace lowbit::kernels {  // gemm_f32_avx512_emu_avx2.cpp
void gemm_f32__avx512emu(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw,
                         float* y, int64_t ldy);
}  // namespace lowbit::kernels
#endif

namespace lowbit {
namespace {

constexpr uint32_t k_seed = 1234;
constexpr double k_nmse = 1e-10;

std::vector<float> random_vec(size_t n, std::mt19937& rng, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

double nmse(const float* a, const float* b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return den > 0 ? num / den : num;
}

struct gemm_variant {
    const char* name;
    kernels::gemm_f32_fn fn;
    isa_tier needs;
};

std::vector<gemm_variant> gemm_variants() {
    std::vector<gemm_variant> v;
#if LOWBIT_HAVE_SIMD128
    if (isa_tier_supported(isa_tier::generic))
        v.push_back({"gemm_f32__simd128", kernels::gemm_f32__simd128, isa_tier::generic});
#endif
#if defined(__x86_64__)
    if (best_isa_tier() >= isa_tier::avx2) v.push_back({"gemm_f32__avx2", kernels::gemm_f32__avx2, isa_tier::avx2});
    if (best_isa_tier() >= isa_tier::avx512)
        v.push_back({"gemm_f32__avx512", kernels::gemm_f32__avx512, isa_tier::avx512});
#if LOWBIT_HAVE_SIMDE
    // The AVX-512 kernel's source with its intrinsics emulated on AVX2 (gemm_f32_avx512_emu_avx2.cpp).
    if (best_isa_tier() >= isa_tier::avx2)
        v.push_back({"gemm_f32__avx512emu", kernels::gemm_f32__avx512emu, isa_tier::avx2});
#endif
#endif
    return v;
}

TEST(GemmF32, SimdMatchesReferenceOnAwkwardShapes) {
    const auto variants = gemm_variants();
    if (variants.empty()) GTEST_SKIP() << "no SIMD tier on this CPU";
    std::mt19937 rng(k_seed);
    const int64_t ms[] = {1, 2, 3, 4, 5, 7, 13, 50};
    const int64_t ns[] = {1, 2, 3, 4, 5, 7, 9, 64, 67};
    const int64_t ks[] = {1, 7, 8, 9, 15, 16, 17, 33, 64, 172, 257};
    for (const auto& var : variants)
        for (int64_t m : ms)
            for (int64_t n : ns)
                for (int64_t k : ks) {
                    const int64_t ldx = k + 3, ldw = k + 5, ldy = n + 2;
                    auto x = random_vec(static_cast<size_t>(m * ldx), rng);
                    auto w = random_vec(static_cast<size_t>(n * ldw), rng);
                    std::vector<float> ref(static_cast<size_t>(m * ldy), -777.0f), got(ref);
                    kernels::gemm_f32__ref(m, n, k, x.data(), ldx, w.data(), ldw, ref.data(), ldy);
                    var.fn(m, n, k, x.data(), ldx, w.data(), ldw, got.data(), ldy);
                    for (int64_t t = 0; t < m; ++t) {
                        for (int64_t r = 0; r < n; ++r) {
                            double bound = 0;
                            for (int64_t i = 0; i < k; ++i)
                                bound += std::fabs(double(x[size_t(t * ldx + i)]) * w[size_t(r * ldw + i)]);
                            ASSERT_NEAR(got[size_t(t * ldy + r)], ref[size_t(t * ldy + r)], 1e-5 * bound)
                                << var.name << " m=" << m << " n=" << n << " k=" << k << " at [" << t << "][" << r
                                << "] seed " << k_seed;
                        }
                        for (int64_t r = n; r < ldy; ++r)
                            ASSERT_EQ(got[static_cast<size_t>(t * ldy + r)], -777.0f)
                                << var.name << " wrote past n: m=" << m << " n=" << n << " k=" << k;
                    }
                }
}

TEST(GemmF32, LargeK) {
    const auto variants = gemm_variants();
    if (variants.empty()) GTEST_SKIP() << "no SIMD tier on this CPU";
    std::mt19937 rng(k_seed + 1);
    const int64_t m = 5, n = 6, k = 4099;
    auto x = random_vec(static_cast<size_t>(m * k), rng);
    auto w = random_vec(static_cast<size_t>(n * k), rng);
    std::vector<float> ref(static_cast<size_t>(m * n)), got(ref.size());
    kernels::gemm_f32__ref(m, n, k, x.data(), k, w.data(), k, ref.data(), n);
    for (const auto& var : variants) {
        var.fn(m, n, k, x.data(), k, w.data(), k, got.data(), n);
        EXPECT_LT(nmse(got.data(), ref.data(), ref.size()), k_nmse) << var.name;
    }
}

// The panel kernels' token blocks: every token once, in order, ceil(n / 6) blocks of 1..6 tokens, and
// no block under 3 tokens (under 4 only as the 3 of 4 + 3) once n >= 4.
TEST(Matmul, PanelTokenBlocks) {
    for (int64_t n = 1; n <= 200; ++n) {
        const int64_t nb = kernels::panel_token_blocks(n);
        ASSERT_EQ(nb, (n + kernels::k_panel_tokens - 1) / kernels::k_panel_tokens) << n;
        int64_t next = 0;
        for (int64_t b = 0; b < nb; ++b) {
            const kernels::panel_token_block tk = kernels::panel_block(n, b);
            ASSERT_EQ(tk.first, next) << "n=" << n << " block " << b;
            ASSERT_GE(tk.count, 1);
            ASSERT_LE(tk.count, kernels::k_panel_tokens);
            if (n >= 4) { ASSERT_GE(tk.count, 3) << "n=" << n << " block " << b; }
            next += tk.count;
        }
        ASSERT_EQ(next, n);
    }
    EXPECT_EQ(kernels::panel_block(128, 20).count, 4);
    EXPECT_EQ(kernels::panel_block(128, 21).first, 124);
}

// matmul with weights in a stored format == de-quantize everything, then the reference gemm.
TEST(Matmul, QuantizedWeightsMatchDequantizedReference) {
    std::mt19937 rng(k_seed + 2);
    struct shape {
        int64_t n_rows, n_cols, n_tokens;
    };
    // (prompts of more than 4 tokens take the panel GEMM (matmul_panels) for types without an integer
    // GEMM: 2100 columns = two 1024-column slices and a tail that is not a multiple of 8; 21 rows = a
    // full and a partial 16-row panel; 13 / 8 / 15 tokens = token blocks 6 + 4 + 3, 4 + 4, 6 + 5 + 4)
    const shape shapes[] = {{1, 32, 1},     {7, 64, 3},      {33, 256, 5},   {130, 512, 17}, {5, 172, 4},
                            {21, 2100, 13}, {21, 2304, 13}, {21, 2100, 8}, {33, 256, 15}};
    const type types[] = {type::f32, type::f16, type::bf16, type::q8_0, type::q4_0, type::q4_k, type::q6_k, type::q2_k,
                          type::q4_1, ext_type::int3_g32, ext_type::int4_pc};
    for (type t : types)
        for (const auto& s : shapes) {
            if (!row_supported(t, s.n_cols)) continue;
            if (traits(t).from_float == nullptr) continue;
            const size_t rb = row_bytes(t, s.n_cols);
            auto wf = random_vec(static_cast<size_t>(s.n_rows * s.n_cols), rng);
            std::vector<uint8_t> wq(rb * static_cast<size_t>(s.n_rows));
            std::vector<float> wd(wf.size());
            for (int64_t r = 0; r < s.n_rows; ++r) {
                quantize_row(t, wf.data() + r * s.n_cols, wq.data() + static_cast<size_t>(r) * rb, s.n_cols);
                dequantize_row(t, wq.data() + static_cast<size_t>(r) * rb, wd.data() + r * s.n_cols, s.n_cols);
            }
            weight_matrix w = weight_matrix::stored_rows("w", t, s.n_rows, s.n_cols, wq.data());
            auto x = random_vec(static_cast<size_t>(s.n_tokens * s.n_cols), rng);
            std::vector<float> ref(static_cast<size_t>(s.n_tokens * s.n_rows));
            kernels::gemm_f32__ref(s.n_tokens, s.n_rows, s.n_cols, x.data(), s.n_cols, wd.data(), s.n_cols,
                                   ref.data(), s.n_rows);
            for (int threads : {1, 2, 3}) {
                matmul_scratch scratch;
                scratch.set_quantized_max_tokens(0);  // F32 activations (quantized path: dot_test.cpp)
                std::vector<float> got(ref.size(), NAN);
                matmul(w, s.n_tokens, x.data(), s.n_cols, got.data(), s.n_rows, threads, scratch);
                EXPECT_LT(nmse(got.data(), ref.data(), ref.size()), k_nmse)
                    << type_name(t) << " rows=" << s.n_rows << " cols=" << s.n_cols << " tokens=" << s.n_tokens
                    << " threads=" << threads;
            }
        }
}

// Elements of a key cache of n positions (blocks of 32, kernels::key_index).
int64_t key_elems(int64_t head_dim, int64_t n) {
    return (n + kernels::k_key_block - 1) / kernels::k_key_block * kernels::k_key_block * head_dim;
}

TEST(Attention, SimdMatchesReference) {
#if defined(__x86_64__)
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    std::mt19937 rng(k_seed + 3);
    const int64_t dims[] = {2, 4, 6, 8, 12, 64, 128};
    struct qcase {
        int64_t n_q, pos0;
    };
    const qcase cases[] = {{1, 0}, {1, 6}, {3, 0}, {9, 0}, {17, 5}, {40, 31}, {1, 300}};
    for (int64_t n_heads : {1, 3})
        for (int64_t hd : dims)
            for (const auto& qc : cases) {
                const int64_t n_kv = qc.pos0 + qc.n_q, ld_kv = n_kv + 3;
                const int64_t ldq = n_heads * hd + 1, ldo = n_heads * hd + 2;
                auto q = random_vec(static_cast<size_t>(qc.n_q * ldq), rng, 2.0f);
                auto kt = random_vec(static_cast<size_t>(key_elems(hd, n_kv)), rng);
                auto vt = random_vec(static_cast<size_t>(hd * ld_kv), rng);
                const float scale = 1.0f / std::sqrt(float(hd));
                std::vector<float> ref(static_cast<size_t>(qc.n_q * ldo), -5.0f), got(ref);
                std::vector<float> s1(static_cast<size_t>(kernels::attn_scratch_floats(n_heads, qc.n_q, n_kv))), s2(s1);
                kernels::attn_f32__ref(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kt.data(), vt.data(), ld_kv, scale,
                                       ref.data(), ldo, s1.data());
                kernels::attn_f32__avx2(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kt.data(), vt.data(), ld_kv,
                                        scale, got.data(), ldo, s2.data());
                EXPECT_LT(nmse(got.data(), ref.data(), ref.size()), k_nmse)
                    << "attn_f32__avx2 heads=" << n_heads << " head_dim=" << hd << " n_q=" << qc.n_q
                    << " pos0=" << qc.pos0;
                for (int64_t i = 0; i < qc.n_q; ++i)
                    for (int64_t d = n_heads * hd; d < ldo; ++d) ASSERT_EQ(got[static_cast<size_t>(i * ldo + d)], -5.0f);
            }
#else
    GTEST_SKIP();
#endif
}

// The generic tier's attention (128-bit vectors, the reference's float operations in its order) equals
// attn_f32__ref (over an F16 cache attn_f16kv__ref, fp16 subnormals included) bit for bit, head dims with and
// without a multiple of 4, positions across key blocks, with NaN in the last key block's unused positions,
// and writes nothing past each head's output.
TEST(Attention, GenericEqualsReferenceBitExact) {
#if !LOWBIT_HAVE_SIMD128
    GTEST_SKIP() << "no 128-bit SIMD tier";
#else
    if (!isa_tier_supported(isa_tier::generic)) GTEST_SKIP() << "no 128-bit SIMD tier";
    std::mt19937 rng(k_seed + 5);
    struct qcase {
        int64_t n_q, pos0;
    };
    const qcase cases[] = {{1, 0}, {1, 6}, {3, 0}, {9, 0}, {17, 5}, {40, 31}, {1, 300}};
    for (int64_t n_heads : {1, 3, 4})
        for (int64_t hd : {2, 4, 6, 8, 12, 64, 128})
            for (const auto& qc : cases) {
                const int64_t n_kv = qc.pos0 + qc.n_q, ld_kv = n_kv + 3;
                const int64_t ldq = n_heads * hd + 1, ldo = n_heads * hd + 2;
                auto q = random_vec(static_cast<size_t>(qc.n_q * ldq), rng, 2.0f);
                auto kt = random_vec(static_cast<size_t>(key_elems(hd, n_kv)), rng);
                for (int64_t j = n_kv; j % kernels::k_key_block != 0; ++j)
                    for (int64_t d = 0; d < hd; ++d)
                        kt[static_cast<size_t>(kernels::key_index(hd, d, j))] = NAN;
                auto vt = random_vec(static_cast<size_t>(hd * ld_kv), rng);
                const float scale = 1.0f / std::sqrt(float(hd));
                std::vector<float> ref(static_cast<size_t>(qc.n_q * ldo), -5.0f), got(ref);
                std::vector<float> s1(
                    static_cast<size_t>(kernels::attn_scratch_floats(n_heads, qc.n_q, n_kv))),
                    s2(s1);
                kernels::attn_f32__ref(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kt.data(), vt.data(),
                                       ld_kv, scale, ref.data(), ldo, s1.data());
                kernels::attn_f32__simd128(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kt.data(), vt.data(),
                                           ld_kv, scale, got.data(), ldo, s2.data());
                for (size_t i = 0; i < ref.size(); ++i)
                    ASSERT_EQ(std::memcmp(&ref[i], &got[i], 4), 0)
                        << "heads " << n_heads << " head_dim " << hd << " n_q " << qc.n_q << " pos0 "
                        << qc.pos0 << " at " << i << ": ref " << ref[i] << " generic " << got[i];
                // The same over an F16 cache, every 7th element shrunk into fp16's subnormals.
                std::vector<uint16_t> kh(kt.size()), vh(vt.size());
                for (size_t i = 0; i < kt.size(); ++i)
                    kh[i] = f32_to_fp16(i % 7 == 3 ? kt[i] * 0x1p-18f : kt[i]);
                for (size_t i = 0; i < vt.size(); ++i)
                    vh[i] = f32_to_fp16(i % 7 == 5 ? vt[i] * 0x1p-18f : vt[i]);
                kernels::attn_f16kv__ref(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kh.data(), vh.data(),
                                         ld_kv, scale, ref.data(), ldo, s1.data());
                kernels::attn_f16kv__simd128(hd, n_heads, qc.n_q, qc.pos0, q.data(), ldq, kh.data(),
                                             vh.data(), ld_kv, scale, got.data(), ldo, s2.data());
                for (size_t i = 0; i < ref.size(); ++i)
                    ASSERT_EQ(std::memcmp(&ref[i], &got[i], 4), 0)
                        << "F16 cache, heads " << n_heads << " head_dim " << hd << " n_q " << qc.n_q
                        << " pos0 " << qc.pos0 << " at " << i << ": ref " << ref[i] << " generic " << got[i];
            }
    const isa_tier saved = active_isa_tier();
    set_isa_tier(isa_tier::generic);
    EXPECT_EQ(kernels::attn_f32(), kernels::attn_f32__simd128);
    EXPECT_EQ(kernels::attn_f16kv(), kernels::attn_f16kv__simd128);
    set_isa_tier(saved);
#endif
}

// A GQA group and several queries in one call (K/V walked once, (query, head) pairs innermost) give
// each pair exactly what it gives alone, in every tier: the fusion changes the memory traffic, not the
// arithmetic.
TEST(Attention, GroupEqualsHeadsOneAtATime) {
    std::mt19937 rng(k_seed + 4);
    const int64_t hd = 64, n_heads = 5, pos0 = 60, n_q = 7, n_kv = pos0 + n_q, ld_kv = 80;
    const int64_t ld = n_heads * hd;
    auto q = random_vec(static_cast<size_t>(n_q * ld), rng, 2.0f);
    auto kt = random_vec(static_cast<size_t>(key_elems(hd, n_kv)), rng);
    auto vt = random_vec(static_cast<size_t>(hd * ld_kv), rng);
    std::vector<kernels::attn_f32_fn> tiers = {kernels::attn_f32__ref};
#if defined(__x86_64__)
    if (best_isa_tier() >= isa_tier::avx2) tiers.push_back(kernels::attn_f32__avx2);
#endif
    for (auto fn : tiers) {
        std::vector<float> group(static_cast<size_t>(n_q * ld)), one(group.size());
        std::vector<float> s(static_cast<size_t>(kernels::attn_scratch_floats(n_heads, n_q, n_kv)));
        fn(hd, n_heads, n_q, pos0, q.data(), ld, kt.data(), vt.data(), ld_kv, 0.125f, group.data(), ld, s.data());
        for (int64_t i = 0; i < n_q; ++i)  // each query alone, each head alone
            for (int64_t h = 0; h < n_heads; ++h)
                fn(hd, 1, 1, pos0 + i, q.data() + i * ld + h * hd, ld, kt.data(), vt.data(), ld_kv, 0.125f,
                   one.data() + i * ld + h * hd, ld, s.data());
        for (size_t i = 0; i < group.size(); ++i) ASSERT_EQ(group[i], one[i]) << "element " << i;
    }
}

// Over an F16 cache the kernels convert each element exactly and then do attn_f32's arithmetic: the
// output equals attn_f32 over the converted cache bit for bit (each tier), and the AVX2 kernel stays
// within rounding of the scalar one, including the tails (positions not a multiple of 8, odd dims).
TEST(Attention, F16CacheEqualsF32OverTheConvertedCache) {
    std::mt19937 rng(k_seed + 5);
    struct shape {
        int64_t hd, n_heads, n_q, pos0;
    };
    const shape shapes[] = {{64, 4, 1, 300}, {6, 3, 5, 9}, {128, 2, 17, 40}, {8, 1, 1, 0}};
    for (const auto& sh : shapes) {
        const int64_t n_kv = sh.pos0 + sh.n_q, ld_kv = n_kv + 5, ld = sh.n_heads * sh.hd;
        auto q = random_vec(static_cast<size_t>(sh.n_q * ld), rng, 2.0f);
        std::vector<uint16_t> k16(static_cast<size_t>(std::max(key_elems(sh.hd, n_kv), sh.hd * ld_kv))), v16(k16.size());
        std::vector<float> k32(k16.size()), v32(k16.size());
        std::normal_distribution<float> nd(0.0f, 1.0f);
        for (size_t i = 0; i < k16.size(); ++i) {
            k16[i] = f32_to_fp16(nd(rng));
            v16[i] = f32_to_fp16(nd(rng));
            k32[i] = fp16_to_f32(k16[i]);
            v32[i] = fp16_to_f32(v16[i]);
        }
        struct tier {
            kernels::attn_f32_fn f32;
            kernels::attn_f16kv_fn f16;
        };
        std::vector<tier> tiers = {{kernels::attn_f32__ref, kernels::attn_f16kv__ref}};
#if defined(__x86_64__)
        if (best_isa_tier() >= isa_tier::avx2) tiers.push_back({kernels::attn_f32__avx2, kernels::attn_f16kv__avx2});
#endif
        std::vector<float> first;
        for (const auto& t : tiers) {
            std::vector<float> a(static_cast<size_t>(sh.n_q * ld)), b(a.size());
            std::vector<float> s(static_cast<size_t>(kernels::attn_scratch_floats(sh.n_heads, sh.n_q, n_kv)));
            t.f32(sh.hd, sh.n_heads, sh.n_q, sh.pos0, q.data(), ld, k32.data(), v32.data(), ld_kv, 0.2f, a.data(), ld,
                  s.data());
            t.f16(sh.hd, sh.n_heads, sh.n_q, sh.pos0, q.data(), ld, k16.data(), v16.data(), ld_kv, 0.2f, b.data(), ld,
                  s.data());
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "head_dim " << sh.hd << " element " << i;
            if (first.empty())
                first = b;
            else
                EXPECT_LT(nmse(b.data(), first.data(), first.size()), k_nmse) << "head_dim " << sh.hd;
        }
    }
}

// The kernels read keys as whole blocks of 32 positions and drop the positions past the end; values
// past the end are never read. NaN there must leave the output unchanged, bit for bit (each tier,
// F32 and F16 caches, every count of positions in the last block).
TEST(Attention, CachePastTheEndIsNotUsed) {
    std::mt19937 rng(k_seed + 6);
    const int64_t hd = 16, n_heads = 3;
    std::vector<kernels::attn_f32_fn> f32 = {kernels::attn_f32__ref};
    std::vector<kernels::attn_f16kv_fn> f16 = {kernels::attn_f16kv__ref};
#if defined(__x86_64__)
    if (best_isa_tier() >= isa_tier::avx2) {
        f32.push_back(kernels::attn_f32__avx2);
        f16.push_back(kernels::attn_f16kv__avx2);
    }
#endif
    for (int64_t n_kv = 1; n_kv <= 70; ++n_kv) {
        const int64_t n_q = n_kv > 2 ? 2 : 1, pos0 = n_kv - n_q, ld_kv = key_elems(1, n_kv) + 8, ld = n_heads * hd;
        auto q = random_vec(static_cast<size_t>(n_q * ld), rng, 2.0f);
        auto k = random_vec(static_cast<size_t>(key_elems(hd, n_kv)), rng);
        auto v = random_vec(static_cast<size_t>(hd * ld_kv), rng);
        std::vector<float> kn(k), vn(v);
        for (int64_t j = n_kv; j < key_elems(1, n_kv); ++j)
            for (int64_t d = 0; d < hd; ++d) kn[static_cast<size_t>(kernels::key_index(hd, d, j))] = NAN;
        for (int64_t d = 0; d < hd; ++d)
            for (int64_t j = n_kv; j < ld_kv; ++j) vn[static_cast<size_t>(d * ld_kv + j)] = NAN;
        std::vector<uint16_t> k16(k.size()), v16(v.size()), kn16(k.size()), vn16(v.size());
        for (size_t i = 0; i < k.size(); ++i) {
            k16[i] = f32_to_fp16(k[i]);
            kn16[i] = std::isnan(kn[i]) ? uint16_t(0x7e00) : k16[i];
        }
        for (size_t i = 0; i < v.size(); ++i) {
            v16[i] = f32_to_fp16(v[i]);
            vn16[i] = std::isnan(vn[i]) ? uint16_t(0x7e00) : v16[i];
        }
        std::vector<float> s(static_cast<size_t>(kernels::attn_scratch_floats(n_heads, n_q, n_kv)));
        std::vector<float> a(static_cast<size_t>(n_q * ld)), b(a.size());
        for (auto fn : f32) {
            fn(hd, n_heads, n_q, pos0, q.data(), ld, k.data(), v.data(), ld_kv, 0.25f, a.data(), ld, s.data());
            fn(hd, n_heads, n_q, pos0, q.data(), ld, kn.data(), vn.data(), ld_kv, 0.25f, b.data(), ld, s.data());
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "f32 n_kv=" << n_kv << " element " << i;
        }
        for (auto fn : f16) {
            fn(hd, n_heads, n_q, pos0, q.data(), ld, k16.data(), v16.data(), ld_kv, 0.25f, a.data(), ld, s.data());
            fn(hd, n_heads, n_q, pos0, q.data(), ld, kn16.data(), vn16.data(), ld_kv, 0.25f, b.data(), ld, s.data());
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "f16 n_kv=" << n_kv << " element " << i;
        }
    }
}

TEST(Attention, FirstPositionCopiesItsValue) {
    // With one key the softmax is 1: the output is that key's value exactly (up to the 1/sum).
    const int64_t hd = 8;
    std::vector<float> q(hd, 0.3f), kt(static_cast<size_t>(key_elems(hd, 1)), 1.0f), vt(hd), out(hd), s(1);
    for (int64_t d = 0; d < hd; ++d) vt[static_cast<size_t>(d)] = float(d) - 2.5f;
    kernels::attn_f32()(hd, 1, 1, 0, q.data(), hd, kt.data(), vt.data(), 1, 0.5f, out.data(), hd, s.data());
    for (int64_t d = 0; d < hd; ++d) EXPECT_FLOAT_EQ(out[static_cast<size_t>(d)], float(d) - 2.5f);
}

TEST(SiluMul, SimdMatchesReference) {
    std::vector<std::pair<const char*, kernels::silu_mul_f32_fn>> fns;
#if LOWBIT_HAVE_SIMD128
    if (isa_tier_supported(isa_tier::generic)) fns.emplace_back("simd128", kernels::silu_mul_f32__simd128);
#endif
#if defined(__x86_64__)
    if (best_isa_tier() >= isa_tier::avx2) fns.emplace_back("avx2", kernels::silu_mul_f32__avx2);
#endif
    if (fns.empty()) GTEST_SKIP() << "no SIMD tier";
    for (const auto& [name, fn] : fns) {
        std::mt19937 rng(k_seed + 4);
        for (int64_t n : {1, 7, 8, 9, 172, 1000}) {
            auto g = random_vec(static_cast<size_t>(n), rng, 6.0f);
            auto u = random_vec(static_cast<size_t>(n), rng);
            g[0] = -100.0f;  // far tails must not give NaN
            if (n > 1) g[1] = 100.0f;
            std::vector<float> ref(static_cast<size_t>(n) + 1, 9.0f), got(ref);
            kernels::silu_mul_f32__ref(n, g.data(), u.data(), ref.data());
            fn(n, g.data(), u.data(), got.data());
            EXPECT_LT(nmse(got.data(), ref.data(), static_cast<size_t>(n)), k_nmse) << name << " n=" << n;
            EXPECT_EQ(got[static_cast<size_t>(n)], 9.0f) << name;
            for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(std::isfinite(got[static_cast<size_t>(i)])) << name;
            // each value within a few float roundings of the reference
            for (int64_t i = 0; i < n; ++i)
                ASSERT_NEAR(got[size_t(i)], ref[size_t(i)], 1e-6f * std::fabs(ref[size_t(i)]) + 1e-30f)
                    << name << " n=" << n << " g=" << g[size_t(i)];
        }
    }
}

}  // namespace
}  // namespace lowbit
