// Integer prompt GEMM (kernels/gemm_q.hpp) and matmul's large-batch path:
//  - every __avx2 packer writes the same bytes as its __ref (1..8 rows, odd block counts, random codes);
//  - every __avx2 micro-kernel equals its __ref bit for bit (same integer sums, same float operations
//    in the same order) for 1..4 tokens, 1..8 rows, token offsets, strided output with sentinels; so
//    do the __avxvnni / __avx512vnni ones where the CPU has them (skipped elsewhere), and their code
//    with vpdpbusd emulated in AVX2 on every AVX2 machine;
//  - __ref against de-quantized weights . de-quantized activations in double (within 1e-5 sum|w a|);
//  - matmul with big batches (n_tokens not a multiple of 4, rows not a multiple of 8, 1-2 threads)
//    against de-quantize + f32 product within the activation-quantization bound, sentinels intact,
//    and bit-equal between the avx2 and ref tiers;
//  - input sharing (q/k/v): reuse only inside share_input_begin/end, identical results;
//  - IQ4_NL through matmul's prompt path against the per-row dot_iq4_nl_q8_0__ref; IQ4_XS (no per-row
//    dot) small batches through the integer GEMM.
// Seeds are printed on failure.
#include "kernels/gemm_q.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/dot.hpp"
#include "kernels/int_formats.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace kernels {
// gemm_q_vnni_emu_avx2.cpp: the VNNI kernels with vpdpbusd emulated in AVX2.
#define LOWBIT_VNNI_EMU_DECL(f)                                                                    \
    LOWBIT_X86_KERNEL void f##__vnniemu(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, \
                                        int n_tok, float* y, int64_t ldy, int n_rows);
LOWBIT_VNNI_EMU_DECL(gemm_q4_0_q8_0_8x4)
LOWBIT_VNNI_EMU_DECL(gemm_q5_0_q8_0_8x4)
LOWBIT_VNNI_EMU_DECL(gemm_q8_0_q8_0_8x4)
LOWBIT_VNNI_EMU_DECL(gemm_q4_k_q8_k_8x4)
LOWBIT_VNNI_EMU_DECL(gemm_q6_k_q8_k_8x4)
#undef LOWBIT_VNNI_EMU_DECL
}  // namespace kernels
namespace {

using namespace kernels;

constexpr uint32_t k_seed = 20261123;
constexpr float k_sentinel = -12345.5f;

struct gemm_case {
    type w;
    gemm_pack_fn pack_ref, pack_avx2;
    gemm_q_fn ref, avx2;
};

const gemm_case k_cases[] = {
    {type::q4_0, gemm_pack_q4_0__ref, gemm_pack_q4_0__avx2, gemm_q4_0_q8_0_8x4__ref, gemm_q4_0_q8_0_8x4__avx2},
    {type::q5_0, gemm_pack_q5_0__ref, gemm_pack_q5_0__avx2, gemm_q5_0_q8_0_8x4__ref, gemm_q5_0_q8_0_8x4__avx2},
    {type::q8_0, gemm_pack_q8_0__ref, gemm_pack_q8_0__avx2, gemm_q8_0_q8_0_8x4__ref, gemm_q8_0_q8_0_8x4__avx2},
    {type::q4_k, gemm_pack_q4_k__ref, gemm_pack_q4_k__avx2, gemm_q4_k_q8_k_8x4__ref, gemm_q4_k_q8_k_8x4__avx2},
    {type::q6_k, gemm_pack_q6_k__ref, gemm_pack_q6_k__avx2, gemm_q6_k_q8_k_8x4__ref, gemm_q6_k_q8_k_8x4__avx2},
    {type::q5_k, gemm_pack_q5_k__ref, gemm_pack_q5_k__avx2, gemm_q5_k_q8_k_8x4__ref, gemm_q5_k_q8_k_8x4__avx2},
    {type::q3_k, gemm_pack_q3_k__ref, gemm_pack_q3_k__avx2, gemm_q3_k_q8_k_8x4__ref, gemm_q3_k_q8_k_8x4__avx2},
    {type::q2_k, gemm_pack_q2_k__ref, gemm_pack_q2_k__avx2, gemm_q2_k_q8_k_8x4__ref, gemm_q2_k_q8_k_8x4__avx2},
    {type::iq4_nl, gemm_pack_iq4_nl__ref, gemm_pack_iq4_nl__avx2, gemm_iq4_nl_q8_0_8x4__ref,
     gemm_iq4_nl_q8_0_8x4__avx2},
    {type::iq4_xs, gemm_pack_iq4_xs__ref, gemm_pack_iq4_xs__avx2, gemm_iq4_xs_q8_k_8x4__ref,
     gemm_iq4_xs_q8_k_8x4__avx2},
    {type::mxfp4, gemm_pack_mxfp4__ref, gemm_pack_mxfp4__avx2, gemm_iq4_nl_q8_0_8x4__ref, gemm_iq4_nl_q8_0_8x4__avx2},
    {type::tq2_0, gemm_pack_tq2_0__ref, gemm_pack_tq2_0__avx2, gemm_q4_0_q8_0_8x4__ref, gemm_q4_0_q8_0_8x4__avx2},
    {type::tq1_0, gemm_pack_tq1_0__ref, gemm_pack_tq1_0__ref, gemm_q4_0_q8_0_8x4__ref, gemm_q4_0_q8_0_8x4__avx2},
    {type::iq3_xxs, gemm_pack_iq3_xxs__ref, gemm_pack_iq3_xxs__avx2, gemm_q8_0_q8_0_8x4__ref, gemm_q8_0_q8_0_8x4__avx2},
    {type::iq3_s, gemm_pack_iq3_s__ref, gemm_pack_iq3_s__avx2, gemm_q8_0_q8_0_8x4__ref, gemm_q8_0_q8_0_8x4__avx2},
    {type::q4_1, gemm_pack_q4_1__ref, gemm_pack_q4_1__avx2, gemm_q4_1_q8_1_8x4__ref, gemm_q4_1_q8_1_8x4__avx2},
    // the signed asymmetric kernel (8-bit codes u - 128 plus 128 x the activation sum)
    {ext_type::int8_g32_asym, gemm_pack_int__ref<8, 32, true, 0>, gemm_pack_int__avx2<8, 32, true, 0>,
     gemm_q8_1s_q8_1_8x4__ref, gemm_q8_1s_q8_1_8x4__avx2},
};

bool have_avx2() { return best_isa_tier() >= isa_tier::avx2; }

// Packed blocks of a k-column row (a weight block can span several: TQ2_0's 256 columns on Q8_0's
// 32-column packed blocks).
int64_t packed_blocks(type t, int64_t k) { return k / gemm_q_kernel(t, isa_tier::ref).block; }

std::vector<float> gaussian(size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// n_rows rows of k columns: random code bytes (every bit pattern) with sane fp16 scales.
std::vector<uint8_t> random_rows(type t, int64_t n_rows, int64_t k, std::mt19937& rng) {
    const size_t rb = row_bytes(t, k);
    std::vector<uint8_t> w(rb * static_cast<size_t>(n_rows));
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> sc(0.001f, 0.05f);
    for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
    const int64_t nb = k / traits(t).block_size;
    for (int64_t r = 0; r < n_rows; ++r) {
        uint8_t* row = w.data() + rb * static_cast<size_t>(r);
        for (int64_t b = 0; b < nb; ++b) {
            if (t == type::q4_k) {
                auto& blk = reinterpret_cast<block_q4_k*>(row)[b];
                blk.d = f32_to_fp16(sc(rng));
                blk.dmin = f32_to_fp16(sc(rng));
            } else if (t == type::q5_k) {
                auto& blk = reinterpret_cast<block_q5_k*>(row)[b];
                blk.d = f32_to_fp16(sc(rng));
                blk.dmin = f32_to_fp16(sc(rng));
            } else if (t == type::q2_k) {
                auto& blk = reinterpret_cast<block_q2_k*>(row)[b];
                blk.d = f32_to_fp16(sc(rng));
                blk.dmin = f32_to_fp16(sc(rng));
            } else if (t == type::q3_k) {
                reinterpret_cast<block_q3_k*>(row)[b].d = f32_to_fp16(sc(rng) / 8);
            } else if (t == type::q4_0) {
                reinterpret_cast<block_q4_0*>(row)[b].d = f32_to_fp16(sc(rng));
            } else if (t == type::q4_1) {  // minimums of either sign
                auto& blk = reinterpret_cast<block_q4_1*>(row)[b];
                blk.d = f32_to_fp16(sc(rng));
                blk.m = f32_to_fp16(sc(rng) * (byte(rng) % 2 ? -8.0f : 4.0f));
            } else if (t == ext_type::int8_g32_asym) {  // d (small: codes reach 255), m of either sign
                uint8_t* blk = row + static_cast<size_t>(b) * traits(t).block_bytes;
                const uint16_t d = f32_to_fp16(sc(rng) / 16), m = f32_to_fp16(sc(rng) * (byte(rng) % 2 ? -8.0f : 4.0f));
                std::memcpy(blk, &d, 2);
                std::memcpy(blk + 2, &m, 2);
            } else if (t == type::q6_k) {
                reinterpret_cast<block_q6_k*>(row)[b].d = f32_to_fp16(sc(rng) / 64);
            } else if (t == type::iq4_nl) {
                reinterpret_cast<block_iq4_nl*>(row)[b].d = f32_to_fp16(sc(rng) / 8);
            } else if (t == type::iq3_xxs) {
                reinterpret_cast<block_iq3_xxs*>(row)[b].d = f32_to_fp16(sc(rng) / 64);
            } else if (t == type::iq3_s) {
                reinterpret_cast<block_iq3_s*>(row)[b].d = f32_to_fp16(sc(rng) / 64);
            } else if (t == type::tq1_0) {
                reinterpret_cast<block_tq1_0*>(row)[b].d = f32_to_fp16(sc(rng));
            } else if (t == type::tq2_0) {
                reinterpret_cast<block_tq2_0*>(row)[b].d = f32_to_fp16(sc(rng));
            } else if (t == type::mxfp4) {  // E8M0: 2^(e - 128) in [2^-13, 2^-4]
                reinterpret_cast<block_mxfp4*>(row)[b].e = static_cast<uint8_t>(115 + byte(rng) % 10);
            } else if (t == type::iq4_xs) {
                reinterpret_cast<block_iq4_xs*>(row)[b].d = f32_to_fp16(sc(rng) / 64);
            } else if (t == type::q5_0) {
                reinterpret_cast<block_q5_0*>(row)[b].d = f32_to_fp16(sc(rng));
            } else {
                reinterpret_cast<block_q8_0*>(row)[b].d = f32_to_fp16(sc(rng));
            }
        }
    }
    return w;
}

// Quantized activations plus side values, owned.
struct acts {
    std::vector<uint8_t> q;
    std::vector<float> d;
    std::vector<int32_t> s;
    gemm_act a;
};

acts quantize_acts(type act, const std::vector<float>& x, int64_t n_tokens, int64_t k) {
    acts r;
    const size_t rb = row_bytes(act, k);
    const int64_t nb = k / traits(act).block_size;
    r.q.resize(rb * static_cast<size_t>(n_tokens));
    r.d.resize(static_cast<size_t>(n_tokens * nb));
    r.s.resize(static_cast<size_t>(n_tokens * nb * k_q8_k_sides));
    const quantize_act_fn quant = act == type::q8_0   ? quantize_act_q8_0__ref
                                  : act == type::q8_1 ? quantize_act_q8_1__ref
                                                      : quantize_act_q8_k__ref;
    for (int64_t t = 0; t < n_tokens; ++t) quant(x.data() + t * k, r.q.data() + rb * static_cast<size_t>(t), k);
    gemm_act_sides(act, r.q.data(), rb, n_tokens, nb, r.d.data(), r.s.data());
    r.a = {r.q.data(), rb, r.d.data(), r.s.data(), nb};
    return r;
}

TEST(GemmQ, PackAvx2MatchesRef) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    for (const auto& c : k_cases) {
        const int64_t bs = traits(c.w).block_size;
        for (int64_t nb : {1, 3, 7}) {
            for (int n_rows = 1; n_rows <= 8; ++n_rows) {
                std::mt19937 rng(k_seed + static_cast<uint32_t>(nb * 16 + n_rows));
                const int64_t k = nb * bs;
                const auto w = random_rows(c.w, n_rows, k, rng);
                const size_t packed = static_cast<size_t>(packed_blocks(c.w, k)) * gemm_q_kernel(c.w, isa_tier::ref).packed_bytes;
                std::vector<uint8_t> a(packed, 0xAB), b(packed, 0xCD);
                c.pack_ref(w.data(), row_bytes(c.w, k), n_rows, k, a.data());
                c.pack_avx2(w.data(), row_bytes(c.w, k), n_rows, k, b.data());
                ASSERT_EQ(std::memcmp(a.data(), b.data(), packed), 0)
                    << type_name(c.w) << " nb " << nb << " rows " << n_rows << " seed " << k_seed;
            }
        }
    }
}

// A SIMD micro-kernel of case c against its __ref, bit for bit, sentinels outside the tile intact.
void expect_micro_kernel_bit_exact(const gemm_case& c, gemm_q_fn simd, const char* tier) {
    const type at = gemm_q_kernel(c.w, isa_tier::ref).act;
    const int64_t bs = traits(c.w).block_size;
    for (int64_t nb : {1, 2, 5, 16}) {
        const int64_t k = nb * bs, n_tokens = 7;
        std::mt19937 rng(k_seed + static_cast<uint32_t>(nb));
        const auto w = random_rows(c.w, 8, k, rng);
        const auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
        const acts act = quantize_acts(at, x, n_tokens, k);
        const int64_t pnb = packed_blocks(c.w, k);
        for (int n_rows = 1; n_rows <= 8; ++n_rows) {
            std::vector<uint8_t> pw(static_cast<size_t>(pnb) * gemm_q_kernel(c.w, isa_tier::ref).packed_bytes);
            c.pack_ref(w.data(), row_bytes(c.w, k), n_rows, k, pw.data());
            for (int n_tok = 1; n_tok <= 4; ++n_tok) {
                for (int64_t t0 : {int64_t(0), int64_t(3)}) {
                    const int64_t ldy = 11;
                    std::vector<float> ya(static_cast<size_t>(ldy * 5), k_sentinel), yb = ya;
                    c.ref(pnb, pw.data(), act.a, t0, n_tok, ya.data(), ldy, n_rows);
                    simd(pnb, pw.data(), act.a, t0, n_tok, yb.data(), ldy, n_rows);
                    for (int64_t i = 0; i < ldy * 5; ++i) {
                        const int64_t t = i / ldy, r = i % ldy;
                        const bool inside = t < n_tok && r < n_rows;
                        ASSERT_EQ(std::memcmp(&ya[i], &yb[i], 4), 0)
                            << type_name(c.w) << " " << tier << " nb " << nb << " rows " << n_rows << " tokens "
                            << n_tok << " t0 " << t0 << " at t " << t << " r " << r << ": ref " << ya[i] << " simd "
                            << yb[i] << " seed " << k_seed;
                        if (!inside) ASSERT_EQ(yb[i], k_sentinel) << "written outside the tile at " << i;
                        else ASSERT_NE(yb[i], k_sentinel);
                    }
                }
            }
        }
    }
}

TEST(GemmQ, MicroKernelAvx2BitExactWithRef) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    for (const auto& c : k_cases) expect_micro_kernel_bit_exact(c, c.avx2, "avx2");
}

// The generic tier's 128-bit micro-kernels (SSSE3 / Advanced SIMD) where the dispatcher picks one:
// Q4_0, Q5_0, Q8_0 and the formats on their kernels.
TEST(GemmQ, MicroKernelGenericBitExactWithRef) {
    if (!isa_tier_supported(isa_tier::generic)) GTEST_SKIP() << "no 128-bit SIMD tier";
    int n = 0;
    for (const auto& c : k_cases) {
        const auto generic_gemm = [&] { return gemm_q_kernel(c.w, isa_tier::generic).gemm; };
        const gemm_q_fn g = test::with_dotprod(false, generic_gemm);  // the Advanced SIMD build on aarch64
        const gemm_q_fn gd = test::with_dotprod(true, generic_gemm);  // its sdot build, where the CPU has it
        if (g == c.ref) continue;
        expect_micro_kernel_bit_exact(c, g, "generic");
        EXPECT_EQ(gd != g, host_cpu().dotprod) << type_name(c.w);
        if (gd != g) expect_micro_kernel_bit_exact(c, gd, "generic+dotprod");
        ++n;
    }
#if LOWBIT_HAVE_SIMD128
    // Q4_0, Q5_0, Q8_0, Q2_K .. Q6_K, IQ4_XS, Q4_1, int8_g32_asym; TQ2_0, TQ1_0 (Q4_0's kernel); IQ4_NL,
    // MXFP4, IQ3_XXS, IQ3_S (Q8_0's)
    EXPECT_EQ(n, 17);
#else
    EXPECT_EQ(n, 0);
#endif
}

// The generic kernels' vector fma (x86: in doubles, rounded to odd, then to float) is std::fma bit for bit:
// random operands over the whole exponent range, products near -c (cancellation), sums near the halfway
// points between floats, zeros, subnormals and infinities.
TEST(GemmQ, GenericFmaEqualsStdFma) {
#if !LOWBIT_HAVE_SIMD128
    GTEST_SKIP() << "no 128-bit SIMD tier";
#else
    if (!isa_tier_supported(isa_tier::generic)) GTEST_SKIP() << "no 128-bit SIMD tier";
    std::mt19937 rng(k_seed);
    std::vector<float> a, b, c;
    const auto any = [&] {  // every finite float, uniform in the bits
        float f;
        uint32_t u;
        do {
            u = static_cast<uint32_t>(rng());
            std::memcpy(&f, &u, 4);
        } while (!std::isfinite(f));
        return f;
    };
    std::uniform_real_distribution<float> m(1.0f, 2.0f);
    std::uniform_int_distribution<int> e(-40, 40);
    const auto near1 = [&] { return std::ldexp(m(rng), e(rng)) * (rng() & 1 ? 1.0f : -1.0f); };
    for (int i = 0; i < 400000; ++i) {
        const float x = near1(), y = near1();
        a.push_back(x);
        b.push_back(y);
        switch (i % 5) {
            case 0:
                c.push_back(near1());
                break;
            case 1:
                c.push_back(-static_cast<float>(static_cast<double>(x) * y));
                break;  // cancellation
            case 2: {   // a float z whose sum with the product sits near a halfway point of z's ulps
                const float z = std::ldexp(m(rng), e(rng) + 24);
                c.push_back(z);
                a.back() = std::ldexp(1.0f + static_cast<float>(rng() % 8) * 0x1p-23f, 0);
                b.back() = std::ldexp(0.5f, std::ilogb(z) - 23) * (rng() & 1 ? 1.0f : -1.0f);
                break;
            }
            case 3:
                c.push_back(std::ldexp(m(rng), -140));  // subnormal / tiny
                a.back() = std::ldexp(m(rng), -70);
                break;
            default:
                a.back() = any();
                b.back() = any();
                c.push_back(any());
                break;
        }
    }
    // Double rounding: a product equal to a halfway point 1 + j 2^-24 between floats whose lower neighbour
    // is odd (j = 3 mod 4), minus a tiny c. The exact sum lies just below the halfway point, so fma rounds
    // down; the sum rounded to a double first is the halfway point itself, which rounds to even (up).
    int hard = 0;
    for (uint32_t j = 3; hard < 64; j += 4) {
        const uint32_t n = (1u << 24) + j;
        for (uint32_t f = 3; f * f <= n; f += 2)
            if (n % f == 0) {
                a.push_back(static_cast<float>(f));
                b.push_back(std::ldexp(static_cast<float>(n / f), -24));
                c.push_back(rng() & 1 ? -0x1p-60f : -0x1p-40f);
                ++hard;
                break;
            }
    }
    const float inf = std::numeric_limits<float>::infinity();
    for (float s : {0.0f, -0.0f, inf, -inf, 1e-45f, -1e-45f, 3.4e38f}) {
        a.push_back(s);
        b.push_back(2.0f);
        c.push_back(-0.0f);
        a.push_back(1.5f);
        b.push_back(s);
        c.push_back(0.0f);
        a.push_back(3.0f);
        b.push_back(0.5f);
        c.push_back(s);
    }
    std::vector<float> out(a.size());
    fma_f32__simd128(a.data(), b.data(), c.data(), out.data(), static_cast<int64_t>(a.size()));
    int bad = 0;
    for (size_t i = 0; i < a.size() && bad < 5; ++i) {
        const float want = std::fma(a[i], b[i], c[i]);
        if (std::memcmp(&want, &out[i], 4) != 0 && !(std::isnan(want) && std::isnan(out[i]))) {
            ADD_FAILURE() << "fma(" << a[i] << ", " << b[i] << ", " << c[i] << ") = " << want << ", got "
                          << out[i];
            ++bad;
        }
    }
#endif
}

// The VNNI builds' entry points, in vpdpbusd's order: tier avxvnni (VEX), avx512vnni (EVEX), and the
// tests' own build with vpdpbusd emulated in AVX2 (gemm_q_vnni_emu_avx2.cpp).
struct vnni_kernel {
    gemm_q_fn vex, evex, emulated;
};
const vnni_kernel k_vnni_kernels[] = {
    {gemm_q4_0_q8_0_8x4__avxvnni, gemm_q4_0_q8_0_8x4__avx512vnni, gemm_q4_0_q8_0_8x4__vnniemu},
    {gemm_q5_0_q8_0_8x4__avxvnni, gemm_q5_0_q8_0_8x4__avx512vnni, gemm_q5_0_q8_0_8x4__vnniemu},
    {gemm_q8_0_q8_0_8x4__avxvnni, gemm_q8_0_q8_0_8x4__avx512vnni, gemm_q8_0_q8_0_8x4__vnniemu},
    {gemm_q4_k_q8_k_8x4__avxvnni, gemm_q4_k_q8_k_8x4__avx512vnni, gemm_q4_k_q8_k_8x4__vnniemu},
    {gemm_q6_k_q8_k_8x4__avxvnni, gemm_q6_k_q8_k_8x4__avx512vnni, gemm_q6_k_q8_k_8x4__vnniemu},
};

// The VNNI kernel the dispatcher picks for case c at tier avxvnni (which must be avx512vnni's
// counterpart too), or nullptr where both tiers keep the AVX2 kernel.
const vnni_kernel* vnni_kernel_of(const gemm_case& c) {
    const gemm_q_fn vex = gemm_q_kernel(c.w, isa_tier::avxvnni).gemm;
    const gemm_q_fn evex = gemm_q_kernel(c.w, isa_tier::avx512vnni).gemm;
    if (vex == c.avx2) {
        EXPECT_EQ(evex, c.avx2) << type_name(c.w);
        return nullptr;
    }
    for (const auto& v : k_vnni_kernels)
        if (vex == v.vex) {
            EXPECT_EQ(evex, v.evex) << type_name(c.w);
            return &v;
        }
    ADD_FAILURE() << type_name(c.w) << ": a VNNI kernel without an entry in k_vnni_kernels";
    return nullptr;
}

// The VNNI kernels' code (gemm_q_vnni.hpp) with vpdpbusd emulated: every case whose kernel at the VNNI
// tiers is not the AVX2 one, bit for bit against __ref. Runs on every AVX2 machine.
TEST(GemmQ, MicroKernelVnniEmulatedBitExactWithRef) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    int n = 0;
    for (const auto& c : k_cases)
        if (const vnni_kernel* v = vnni_kernel_of(c)) {
            expect_micro_kernel_bit_exact(c, v->emulated, "vnni-emulated");
            ++n;
        }
    // Q4_0, Q5_0, Q8_0, IQ4_NL, Q4_K, Q6_K, Q5_K, and the formats on Q4_0's / Q8_0's kernels: MXFP4,
    // TQ2_0, TQ1_0, IQ3_XXS, IQ3_S.
    EXPECT_EQ(n, 12);
}

// The real VNNI builds (vpdpbusd: AVX-512 VNNI's EVEX form, AVX-VNNI's VEX form) at each tier the CPU
// supports, the same cases. CI machines without VNNI skip this test.
TEST(GemmQ, MicroKernelVnniBitExactWithRef) {
    int n = 0;
    for (isa_tier tier : {isa_tier::avxvnni, isa_tier::avx512vnni}) {
        if (!isa_tier_supported(tier)) continue;
        for (const auto& c : k_cases) {
            const gemm_q_fn vnni = gemm_q_kernel(c.w, tier).gemm;
            if (vnni == c.avx2) continue;
            expect_micro_kernel_bit_exact(c, vnni, isa_tier_name(tier));
            ++n;
        }
    }
    if (n == 0) GTEST_SKIP() << "no AVX-VNNI or AVX-512 VNNI";
    EXPECT_EQ(n % 12, 0);
}

// Exact product of de-quantized weights and de-quantized activations, in double, with sum |w a|.
void exact_dot(type wt, type at, const uint8_t* wrow, const uint8_t* arow, int64_t k, double& dot, double& mag) {
    if (wt == type::q4_1 || wt == ext_type::int8_g32_asym) {
        // d_w d_a sum u q + m s per block, s the Q8_1 block's stored fp16 d_a sum q
        using chunk = int_chunk<8, 32, true>;
        const auto* a = reinterpret_cast<const block_q8_1*>(arow);
        dot = mag = 0;
        for (int64_t b = 0; b < k / 32; ++b) {
            const auto& q41 = reinterpret_cast<const block_q4_1*>(wrow)[b];
            const bool is_q4_1 = wt == type::q4_1;
            const float dw = fp16_to_f32(is_q4_1 ? q41.d : chunk::d(wrow, b));
            const float mw = fp16_to_f32(is_q4_1 ? q41.m : chunk::m(wrow, b));
            const double dd = double(dw) * fp16_to_f32(a[b].d);
            for (int j = 0; j < 32; ++j) {
                const int u = is_q4_1 ? (j < 16 ? q41.qs[j] & 15 : q41.qs[j - 16] >> 4) : chunk::codes(wrow, b)[j];
                dot += dd * u * a[b].qs[j];
                mag += std::fabs(dd * u * a[b].qs[j]);
            }
            const double ms = double(mw) * fp16_to_f32(a[b].s);
            dot += ms;
            mag += std::fabs(ms);
        }
        return;
    }
    std::vector<float> wf(static_cast<size_t>(k)), af(static_cast<size_t>(k));
    dequantize_row(wt, wrow, wf.data(), k);
    if (at == type::q8_0) {
        const auto* b = reinterpret_cast<const block_q8_0*>(arow);
        for (int64_t i = 0; i < k; ++i) af[i] = fp16_to_f32(b[i / 32].d) * b[i / 32].qs[i % 32];
    } else if (at == type::q8_1) {  // (the asymmetric formats' min term then uses d_a sum q, not s)
        const auto* b = reinterpret_cast<const block_q8_1*>(arow);
        for (int64_t i = 0; i < k; ++i) af[i] = fp16_to_f32(b[i / 32].d) * b[i / 32].qs[i % 32];
    } else {
        const auto* b = reinterpret_cast<const block_q8_k*>(arow);
        for (int64_t i = 0; i < k; ++i) af[i] = b[i / 256].d * b[i / 256].qs[i % 256];
    }
    dot = mag = 0;
    for (int64_t i = 0; i < k; ++i) {
        dot += static_cast<double>(wf[i]) * af[i];
        mag += std::fabs(static_cast<double>(wf[i]) * af[i]);
    }
}

TEST(GemmQ, RefMatchesDequantizedProduct) {
    for (const auto& c : k_cases) {
        const type at = gemm_q_kernel(c.w, isa_tier::ref).act;
        const int64_t k = 4 * traits(c.w).block_size * (traits(c.w).block_size == 256 ? 1 : 8), n_tokens = 4;
        std::mt19937 rng(k_seed + 99);
        const auto w = random_rows(c.w, 8, k, rng);
        const auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
        const acts act = quantize_acts(at, x, n_tokens, k);
        const int64_t nb = packed_blocks(c.w, k);
        std::vector<uint8_t> pw(static_cast<size_t>(nb) * gemm_q_kernel(c.w, isa_tier::ref).packed_bytes);
        c.pack_ref(w.data(), row_bytes(c.w, k), 8, k, pw.data());
        std::vector<float> y(8 * n_tokens);
        c.ref(nb, pw.data(), act.a, 0, n_tokens, y.data(), 8, 8);
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int r = 0; r < 8; ++r) {
                double dot, mag;
                exact_dot(c.w, at, w.data() + row_bytes(c.w, k) * r, act.q.data() + act.a.row_bytes * t, k, dot, mag);
                EXPECT_NEAR(y[t * 8 + r], dot, 1e-5 * mag + 1e-6) << type_name(c.w) << " t " << t << " r " << r;
            }
    }
}

// matmul's big-batch path (n_tokens past the generation path's limit) over n_rows stored rows w8 of
// type t equals the per-row dot `ref` over the same Q8_0 (Q8_1) activations for every (row, token), within
// rel * sum |w a| + 1e-7.
void expect_matmul_equals_row_dots(type t, const std::vector<uint8_t>& w8, int64_t n_rows, int64_t k, int64_t n_tokens,
                                   dot_fn ref, double rel, std::mt19937& rng, const std::string& what) {
    const weight_matrix w = weight_matrix::stored_rows("test", t, n_rows, k, w8.data());
    const auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
    std::vector<float> y(static_cast<size_t>(n_tokens * n_rows), k_sentinel);
    matmul_scratch scratch;
    matmul(w, n_tokens, x.data(), k, y.data(), n_rows, 2, scratch);
    const type at = gemm_q_kernel(t, isa_tier::ref).act;  // the GEMM's: Q8_0, or Q8_1 for the asymmetric formats
    const acts act = quantize_acts(at, x, n_tokens, k);
    for (int64_t tk = 0; tk < n_tokens; ++tk)
        for (int64_t r = 0; r < n_rows; ++r) {
            const uint8_t* wr = w8.data() + w.row_stride * static_cast<size_t>(r);
            const uint8_t* ar = act.q.data() + act.a.row_bytes * static_cast<size_t>(tk);
            double dot, mag;
            exact_dot(t, at, wr, ar, k, dot, mag);
            ASSERT_NEAR(y[tk * n_rows + r], ref(k, wr, ar), rel * mag + 1e-7)
                << type_name(t) << " " << what << " t " << tk << " r " << r << " seed " << k_seed;
        }
}

// IQ4_NL and MXFP4 (on IQ4_NL's kernel: codes as E2M1 values doubled, scale 2^(e - 128)): the prompt
// path's products equal the generation path's per-row dot (dot_iq4_nl_q8_0__ref, dot_mxfp4_q8_0__ref)
// for every (row, token): the same integer block sums, the block scale applied with one fma instead of
// a multiply and an add (so within a few float roundings per block of the magnitude). Rows 0..12, k
// with odd block counts, tokens through matmul with n_tokens past the generation path's limit.
TEST(GemmQ, TableFormatsMatmulMatchesPerRowDot) {
    const std::pair<type, dot_fn> cases[] = {{type::iq4_nl, dot_iq4_nl_q8_0__ref}, {type::mxfp4, dot_mxfp4_q8_0__ref}};
    for (const auto& [t, ref] : cases)
        for (int64_t nb : {int64_t(1), int64_t(7), int64_t(33)}) {
            std::mt19937 rng(k_seed + 7 + static_cast<uint32_t>(nb));
            const int64_t k = nb * 32, n_rows = 13;
            const auto w8 = random_rows(t, n_rows, k, rng);
            expect_matmul_equals_row_dots(t, w8, n_rows, k, 70, ref, 4e-7, rng, type_name(t) + " nb " + std::to_string(nb));
        }
}

// TQ2_0 on Q8_0's kernel: matmul's prompt path against a per-row dot with Q8_0 activations (the codes
// q - 1 times the 256-block's d, block sums of 32 scaled by d_w d_a as the Q8_0 dots do).
float tq2_0_q8_0_row_dot(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_tq2_0*>(w);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
        const block_tq2_0& blk = x[b / 8];
        const int h = static_cast<int>(b % 8) / 4, l = static_cast<int>(b % 8) % 4;
        int sumi = 0;
        for (int c = 0; c < 32; ++c) sumi += (((blk.qs[32 * h + c] >> (2 * l)) & 3) - 1) * y[b].qs[c];
        sum += static_cast<float>(sumi) * (fp16_to_f32(blk.d) * fp16_to_f32(y[b].d));
    }
    return sum;
}

TEST(GemmQ, Tq20MatmulMatchesPerRowDot) {
    for (int64_t nb : {int64_t(1), int64_t(3)}) {
        std::mt19937 rng(k_seed + 27 + static_cast<uint32_t>(nb));
        const int64_t k = nb * k_qk_k, n_rows = 13;
        const auto w8 = random_rows(type::tq2_0, n_rows, k, rng);
        expect_matmul_equals_row_dots(type::tq2_0, w8, n_rows, k, 70, tq2_0_q8_0_row_dot, 4e-7, rng,
                                      "nb " + std::to_string(nb));
    }
}

// IQ3_XXS / IQ3_S on Q8_0's kernel: matmul's prompt path against the de-quantized weights times the
// Q8_0 activations, per 32-block d_a * sum w q in float (w = d (2 sc + 1) G sign is not exact in every
// product, hence the looser bound).
template <type T>
float dequant_q8_0_row_dot(int64_t n, const void* w, const void* a) {
    std::vector<float> wf(static_cast<size_t>(n));
    dequantize_row(T, w, wf.data(), n);
    const auto* y = static_cast<const block_q8_0*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / 32; ++b) {
        float s = 0;
        for (int c = 0; c < 32; ++c) s += wf[static_cast<size_t>(32 * b + c)] * static_cast<float>(y[b].qs[c]);
        sum += s * fp16_to_f32(y[b].d);
    }
    return sum;
}

TEST(GemmQ, Iq3MatmulMatchesDequantizedRows) {
    for (int64_t nb : {int64_t(1), int64_t(3)}) {
        std::mt19937 rng(k_seed + 37 + static_cast<uint32_t>(nb));
        const int64_t k = nb * k_qk_k, n_rows = 13;
        expect_matmul_equals_row_dots(type::iq3_xxs, random_rows(type::iq3_xxs, n_rows, k, rng), n_rows, k, 70,
                                      dequant_q8_0_row_dot<type::iq3_xxs>, 2e-6, rng, "iq3_xxs nb " + std::to_string(nb));
        expect_matmul_equals_row_dots(type::iq3_s, random_rows(type::iq3_s, n_rows, k, rng), n_rows, k, 70,
                                      dequant_q8_0_row_dot<type::iq3_s>, 2e-6, rng, "iq3_s nb " + std::to_string(nb));
    }
}

// lowbit formats with an integer prompt GEMM (nf4, fp4_e2m1 and every integer format: Q8_0's kernel for
// 8 bits and the codebooks, Q4_0's for the other symmetric ones, the asymmetric kernel for the
// asymmetric ones; kernels/int_formats.hpp): matmul's big-batch path over plain rows equals the generation
// path's per-row __ref dot (same integer block sums, scale applied in another float order) for every
// (row, token), including k that cuts the last group short, at every tier. Random code bytes (every
// code) and fp16 scales. The AVX2 row packers equal the __ref ones byte for byte.
std::vector<uint8_t> random_lowbit_rows(type t, int64_t n_rows, int64_t k, std::mt19937& rng) {
    const size_t rb = row_bytes(t, k);
    const size_t bb = traits(t).block_size == 0 ? rb : traits(t).block_bytes;  // per channel: a header per row
    std::vector<uint8_t> w8(rb * static_cast<size_t>(n_rows));
    for (auto& b : w8) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> sc(0.001f, 0.05f);
    for (int64_t r = 0; r < n_rows; ++r)
        for (size_t o = 0; o < rb; o += bb) {
            const uint16_t h = f32_to_fp16(sc(rng));
            std::memcpy(w8.data() + rb * static_cast<size_t>(r) + o, &h, 2);
            if (std::string_view(type_name(t)).ends_with("_asym")) {  // the fp16 minimum, either sign
                const uint16_t m = f32_to_fp16(-4.0f * sc(rng) + 2.0f * sc(rng));
                std::memcpy(w8.data() + rb * static_cast<size_t>(r) + o + 2, &m, 2);
            }
        }
    return w8;
}

#define LOWBIT_TYPE(name, B, G, A, O) ext_type::name,
const type k_lowbit_gemm_types[] = {ext_type::nf4, ext_type::nf4_dq, ext_type::fp4_e2m1,
                                    LOWBIT_INT_FORMATS(LOWBIT_TYPE)};  // every integer format (int_formats.hpp)
#undef LOWBIT_TYPE

TEST(GemmQ, LowbitFormatsMatmulMatchesPerRowDot) {
    const isa_tier old_tier = active_isa_tier();
    struct restore {
        isa_tier t;
        ~restore() { set_isa_tier(t); }
    } restore_tier{old_tier};
    std::vector<isa_tier> tiers = {isa_tier::ref};
    if (isa_tier_supported(isa_tier::generic)) tiers.push_back(isa_tier::generic);
    if (have_avx2()) tiers.push_back(isa_tier::avx2);
    for (isa_tier vt : {isa_tier::avxvnni, isa_tier::avx512vnni})
        if (isa_tier_supported(vt)) tiers.push_back(vt);
    for (isa_tier tier : tiers)
        for (type t : k_lowbit_gemm_types) {
            ASSERT_NE(gemm_q_kernel(t, tier).gemm, nullptr) << type_name(t);
            ASSERT_NE(gemm_q_kernel(t, tier).pack, nullptr) << type_name(t);
            set_isa_tier(tier);
            const dot_fn ref = dot_kernel(t, isa_tier::ref);
            for (int64_t k : {int64_t(32), int64_t(96), int64_t(512)}) {
                std::mt19937 rng(k_seed + static_cast<uint32_t>(k) + static_cast<uint32_t>(t));
                const int64_t n_rows = 13;
                const auto w8 = random_lowbit_rows(t, n_rows, k, rng);
                expect_matmul_equals_row_dots(t, w8, n_rows, k, 9, ref, 1e-6, rng,
                                              std::string(isa_tier_name(tier)) + " k " + std::to_string(k));
            }
            set_isa_tier(old_tier);
        }
}

TEST(GemmQ, LowbitPackAvx2MatchesRef) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    for (type t : k_lowbit_gemm_types) {
        const auto avx2 = gemm_q_kernel(t, isa_tier::avx2), ref = gemm_q_kernel(t, isa_tier::ref);
        if (!avx2.pack) continue;
        for (int n_rows : {3, 8}) {
            std::mt19937 rng(k_seed + 11 + static_cast<uint32_t>(n_rows));
            const int64_t k = 4 * std::max<int64_t>(traits(t).block_size, 32);  // per channel: 4 chunks
            const auto w8 = random_lowbit_rows(t, n_rows, k, rng);
            std::vector<uint8_t> a(static_cast<size_t>(k / 32) * ref.packed_bytes, 0xA5), b(a.size(), 0x5A);
            ref.pack(w8.data(), row_bytes(t, k), n_rows, k, a.data());
            avx2.pack(w8.data(), row_bytes(t, k), n_rows, k, b.data());
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << type_name(t) << " rows " << n_rows << " byte " << i;
        }
    }
}

// matmul's big-batch path against de-quantized weights times the f32 activations. The activations are
// rounded to 8 bits per value (error <= d_a / 2 per value, d_a = block max |x| / 127), so the bound is
// sum_j |w_j| d_a(j) / 2 plus float summation error.
void check_matmul(type t, int64_t n_rows, int64_t k, int64_t n_tokens, int threads, std::mt19937& rng,
                  std::vector<float>* out = nullptr) {
    const auto w8 = random_rows(t, n_rows, k, rng);
    const weight_matrix w = weight_matrix::stored_rows("test", t, n_rows, k, w8.data());
    const int64_t ldx = k + 3, ldy = n_rows + 5;
    const auto x = gaussian(static_cast<size_t>(n_tokens * ldx), rng);
    std::vector<float> y(static_cast<size_t>(n_tokens * ldy), k_sentinel);
    matmul_scratch scratch;
    matmul(w, n_tokens, x.data(), ldx, y.data(), ldy, threads, scratch);
    const int64_t abs_ = traits(gemm_q_kernel(t, isa_tier::ref).act).block_size;
    std::vector<float> wf(static_cast<size_t>(k));
    for (int64_t r = 0; r < n_rows; ++r) {
        dequantize_row(t, w8.data() + w.row_stride * r, wf.data(), k);
        for (int64_t tk = 0; tk < n_tokens; ++tk) {
            const float* xr = x.data() + tk * ldx;
            double dot = 0, mag = 0, bound = 0;
            for (int64_t b = 0; b < k / abs_; ++b) {
                float amax = 0;
                for (int64_t j = b * abs_; j < (b + 1) * abs_; ++j) amax = std::max(amax, std::fabs(xr[j]));
                for (int64_t j = b * abs_; j < (b + 1) * abs_; ++j) {
                    dot += static_cast<double>(wf[j]) * xr[j];
                    mag += std::fabs(static_cast<double>(wf[j]) * xr[j]);
                    bound += std::fabs(wf[j]) * (amax / 127.0) * 0.5 * 1.001;
                }
            }
            ASSERT_NEAR(y[tk * ldy + r], dot, bound + 1e-5 * mag + 1e-6)
                << type_name(t) << " rows " << n_rows << " k " << k << " tokens " << n_tokens << " threads "
                << threads << " at t " << tk << " r " << r << " seed " << k_seed;
        }
        for (int64_t tk = 0; tk < n_tokens; ++tk)
            for (int64_t j = n_rows; j < ldy; ++j) ASSERT_EQ(y[tk * ldy + j], k_sentinel) << "padding overwritten";
    }
    if (out) *out = y;
}

TEST(GemmQ, MatmulBigBatchMatchesDequantizedReference) {
    for (const auto& c : k_cases) {
        const int64_t bs = traits(c.w).block_size;
        for (int threads : {1, 2}) {
            std::mt19937 rng(k_seed + static_cast<uint32_t>(threads));
            check_matmul(c.w, 13, 3 * bs, 5, threads, rng);
            check_matmul(c.w, 37, 2 * bs, 23, threads, rng);
            check_matmul(c.w, 8, bs, 9, threads, rng);
            check_matmul(c.w, 130, 4 * bs, 34, threads, rng);
        }
    }
}

// IQ4_XS has no per-row dot product, so matmul's small batches (1..4 tokens, the generation path) also
// take the integer GEMM: the result is within the activation-rounding bound and equals the __ref
// micro-kernel over the __ref-packed rows bit for bit (the de-quantize + F32 fallback would not).
TEST(GemmQ, Iq4XsSmallBatchesTakeTheIntegerGemm) {
    for (int64_t n_tokens : {int64_t(1), int64_t(2), int64_t(4)}) {
        std::mt19937 rng(k_seed + 11 + static_cast<uint32_t>(n_tokens));
        check_matmul(type::iq4_xs, 19, 3 * k_qk_k, n_tokens, 2, rng);
        const int64_t k = 2 * k_qk_k, n_rows = 8;
        const auto w8 = random_rows(type::iq4_xs, n_rows, k, rng);
        const weight_matrix w = weight_matrix::stored_rows("test", type::iq4_xs, n_rows, k, w8.data());
        const auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
        std::vector<float> y(static_cast<size_t>(n_tokens * n_rows), k_sentinel), want = y;
        matmul_scratch scratch;
        matmul(w, n_tokens, x.data(), k, y.data(), n_rows, 1, scratch);
        const acts act = quantize_acts(type::q8_k, x, n_tokens, k);
        std::vector<uint8_t> pw(2 * sizeof(gemm_block_iq4_xsx8));
        gemm_pack_iq4_xs__ref(w8.data(), w.row_stride, n_rows, k, pw.data());
        gemm_iq4_xs_q8_k_8x4__ref(2, pw.data(), act.a, 0, static_cast<int>(n_tokens), want.data(), n_rows, n_rows);
        EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)), 0) << "tokens " << n_tokens;
        // the per-row oracle of the IQ4_XS tiles (kernels/repack.hpp) is this GEMM's arithmetic
        for (int64_t t = 0; t < n_tokens; ++t)
            for (int64_t r = 0; r < n_rows; ++r) {
                const float d = dot_iq4_xs_q8_k__ref(k, w8.data() + w.row_stride * static_cast<size_t>(r),
                                                     act.q.data() + act.a.row_bytes * static_cast<size_t>(t));
                EXPECT_EQ(std::memcmp(&d, &want[static_cast<size_t>(t * n_rows + r)], 4), 0)
                    << "dot_iq4_xs_q8_k__ref, tokens " << n_tokens << " t " << t << " r " << r;
            }
    }
}

TEST(GemmQ, MatmulRefTierEqualsAvx2Tier) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2";
    const isa_tier saved = active_isa_tier();
    std::vector<isa_tier> simd = {isa_tier::avx2};
    for (isa_tier t : {isa_tier::avxvnni, isa_tier::avx512vnni})
        if (isa_tier_supported(t)) simd.push_back(t);
    for (isa_tier tier : simd)
        for (const auto& c : k_cases) {
            const int64_t bs = traits(c.w).block_size;
            std::vector<float> ya, yb;
            std::mt19937 rng_a(k_seed), rng_b(k_seed);
            set_isa_tier(tier);
            check_matmul(c.w, 21, 2 * bs, 11, 2, rng_a, &ya);
            set_isa_tier(isa_tier::ref);
            check_matmul(c.w, 21, 2 * bs, 11, 2, rng_b, &yb);
            set_isa_tier(saved);
            ASSERT_EQ(ya.size(), yb.size());
            EXPECT_EQ(std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)), 0)
                << type_name(c.w) << " " << isa_tier_name(tier);
        }
    set_isa_tier(saved);
}

TEST(GemmQ, SharedInputIsReusedOnlyInsideScope) {
    std::mt19937 rng(k_seed + 5);
    const int64_t k = 512, n_tokens = 12, n_rows = 24;
    const auto w8a = random_rows(type::q4_0, n_rows, k, rng);
    const auto w8b = random_rows(type::q4_0, n_rows, k, rng);
    auto make = [&](const std::vector<uint8_t>& d) { return weight_matrix::stored_rows("", type::q4_0, n_rows, k, d.data()); };
    const weight_matrix wa = make(w8a), wb = make(w8b);
    auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
    const size_t ny = static_cast<size_t>(n_tokens * n_rows);
    std::vector<float> ra(ny), rb(ny), sa(ny), sb(ny);
    {
        matmul_scratch fresh;
        matmul(wa, n_tokens, x.data(), k, ra.data(), n_rows, 1, fresh);
        matmul(wb, n_tokens, x.data(), k, rb.data(), n_rows, 1, fresh);
    }
    matmul_scratch scratch;
    scratch.share_input_begin();
    matmul(wa, n_tokens, x.data(), k, sa.data(), n_rows, 2, scratch);
    matmul(wb, n_tokens, x.data(), k, sb.data(), n_rows, 2, scratch);
    scratch.share_input_end();
    EXPECT_EQ(std::memcmp(ra.data(), sa.data(), ny * 4), 0);
    EXPECT_EQ(std::memcmp(rb.data(), sb.data(), ny * 4), 0);
    // Outside the scope, a changed x at the same address is quantized afresh.
    for (auto& v : x) v = -v;
    matmul(wa, n_tokens, x.data(), k, sa.data(), n_rows, 2, scratch);
    for (size_t i = 0; i < ny; ++i) ASSERT_EQ(sa[i], -ra[i]) << i;
    // A new scope does not see the previous scope's activations either.
    for (auto& v : x) v = -v;
    scratch.share_input_begin();
    matmul(wa, n_tokens, x.data(), k, sa.data(), n_rows, 2, scratch);
    scratch.share_input_end();
    EXPECT_EQ(std::memcmp(ra.data(), sa.data(), ny * 4), 0);
}

// All K-quant types share Q8_K activations inside one scope (as attn_q Q4_K + attn_v Q6_K in Q4_K_M files,
// Q3_K / Q4_K / Q5_K in Q3_K_M files): each result equals a fresh call's bit for bit.
TEST(GemmQ, SharedInputAcrossKQuantTypes) {
    std::mt19937 rng(k_seed + 6);
    const int64_t k = 512, n_tokens = 9, n_rows = 16;
    const type types[] = {type::q4_k, type::q6_k, type::q5_k, type::q3_k, type::q2_k};
    std::vector<std::vector<uint8_t>> data;
    std::vector<weight_matrix> ws;
    for (type t : types) data.push_back(random_rows(t, n_rows, k, rng));
    for (size_t i = 0; i < data.size(); ++i) ws.push_back(weight_matrix::stored_rows("", types[i], n_rows, k, data[i].data()));
    const auto x = gaussian(static_cast<size_t>(n_tokens * k), rng);
    const size_t ny = static_cast<size_t>(n_tokens * n_rows);
    std::vector<std::vector<float>> fresh(ws.size(), std::vector<float>(ny)), shared = fresh;
    for (size_t i = 0; i < ws.size(); ++i) {
        matmul_scratch s;
        matmul(ws[i], n_tokens, x.data(), k, fresh[i].data(), n_rows, 1, s);
    }
    matmul_scratch s3;
    {
        const matmul_shared_input scope(s3);
        for (size_t i = 0; i < ws.size(); ++i) matmul(ws[i], n_tokens, x.data(), k, shared[i].data(), n_rows, 2, s3);
    }
    for (size_t i = 0; i < ws.size(); ++i)
        EXPECT_EQ(std::memcmp(fresh[i].data(), shared[i].data(), ny * 4), 0) << type_name(types[i]);
}

}  // namespace
}  // namespace lowbit
