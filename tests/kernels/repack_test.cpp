// Load-time 8-row tiles (kernels/repack.hpp):
//  - every tiled GEMV kernel the host supports (__ref, __avx2) equals the per-row dot product
//    dot_<w>_<a>__ref row for row, bit for bit (same integer sums, same float products in the same
//    order), on raw random weight bytes (every code pattern, Q8_0 codes -128 included) with sane fp16
//    scales, Gaussian and saturating (all-equal) activations, row counts 1..37 (not multiples of 8)
//    and 1 .. 4096+ columns;
//  - unpacking a tile gives byte for byte the prompt GEMM's packed group of the same rows;
//  - matmul with tiles: generation (1..4 tokens) equals the per-row __ref dots bit for bit; the prompt
//    GEMM (16 tokens) equals matmul over the plain rows bit for bit; outputs are sentinel-filled;
//  - FP8 and F16 / BF16 tiles (float kernels): the tile __ref and the generic tier's GEMV equal the
//    per-row __ref dot bit for bit; the AVX2 GEMV and prompt GEMM agree with it within 1e-5 of sum |w x|;
//    every finite FP8 code in every byte position of a dword decodes exactly;
//  - release_file_pages drops pages of a read-only file mapping only, and the data stays readable.
// Seeds are printed on failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/mmap.hpp"
#include "formats/ggml_blocks.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/int_formats.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "kernels/repack.hpp"
#include "lowbit/error.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

constexpr uint32_t k_seed = 20261124;
// ggml types, and lowbit formats that run on ggml tiles (int4_g32 / g64 / g128: Q4_0's, int4_g32_asym:
// Q4_1's, int8_g32: Q8_0's, nf4: Q4_0's with its codebook) or on their own (int2, ternary: tile_int2x8;
// int3: tile_int3x8)
#define LOWBIT_TYPE(name, B, G, A, O) ext_type::name,
const type k_types[] = {type::q2_k, type::q3_k, type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::iq4_nl, type::q8_0, type::q4_k, type::q5_k,
                        type::q6_k, type::iq4_xs, type::iq3_xxs, type::iq3_s, ext_type::nf4, ext_type::nf4_dq, type::mxfp4, type::tq2_0, type::tq1_0, ext_type::fp4_e2m1,
                        LOWBIT_INT_FORMATS(LOWBIT_TYPE)};  // every integer format (kernels/int_formats.hpp)
#undef LOWBIT_TYPE

bool is_asym(type t) { return std::string_view(type_name(t)).ends_with("_asym"); }

// The per-row oracle of a type's tiles: its __ref dot (IQ4_XS: dot_iq4_xs_q8_k__ref, the integer
// GEMM's arithmetic, outside the dot table).
kernels::dot_fn row_ref(type t) {
    return t == type::iq4_xs ? kernels::dot_iq4_xs_q8_k__ref : kernels::dot_kernel(t, isa_tier::ref);
}

// Every kernel build the host can run: the tiers, and the generic tier twice where the CPU has aarch64's
// dot-product extension (its Advanced SIMD build and its sdot build, kernels/repack_simd128_dotprod.cpp).
struct tier_variant {
    isa_tier tier;
    bool dotprod;
    std::string name;
};
std::vector<tier_variant> tiers() {
    std::vector<tier_variant> v = {{isa_tier::ref, false, "ref"}};
    if (isa_tier_supported(isa_tier::generic)) {  // SSSE3 / Advanced SIMD GEMVs
        v.push_back({isa_tier::generic, false, "generic"});
        if (host_cpu().dotprod) v.push_back({isa_tier::generic, true, "generic+dotprod"});
    }
    if (best_isa_tier() >= isa_tier::avx2) v.push_back({isa_tier::avx2, false, "avx2"});
    return v;
}
// The kernels of type t in variant tv.
kernels::repack_kernels repack_kernel(type t, const tier_variant& tv) {
    return test::with_dotprod(tv.dotprod, [&] { return kernels::repack_kernel(t, tv.tier); });
}

// n_rows raw random rows of type t (every code pattern), or every byte `fill` (fill >= 0: all-equal codes,
// the largest ones for 0xFF), with fp16 scales in [0.001, 0.1].
std::vector<uint8_t> random_rows(type t, int64_t n_rows, int64_t n_cols, std::mt19937& rng, int fill = -1) {
    std::vector<uint8_t> b(row_bytes(t, n_cols) * static_cast<size_t>(n_rows));
    for (auto& v : b) v = static_cast<uint8_t>(fill >= 0 ? fill : rng());
    std::uniform_real_distribution<float> u(0.001f, 0.1f);
    const size_t bb = traits(t).block_bytes;
    const bool two = t == type::q4_k || t == type::q5_k || t == type::q4_1 || t == type::q5_1 || is_asym(t);
    const std::vector<size_t> fields = two                                ? std::vector<size_t>{0, 2}
                                       : t == type::q6_k                  ? std::vector<size_t>{208}
                                       : t == type::q2_k                  ? std::vector<size_t>{80, 82}
                                       : t == type::q3_k                  ? std::vector<size_t>{108}
                                       : t == type::tq2_0                 ? std::vector<size_t>{64}
                                       : t == type::tq1_0                 ? std::vector<size_t>{52}
                                                                          : std::vector<size_t>{0};
    if (traits(t).block_size == 0) {  // per channel: one fp16 scale (and minimum) in each row's header
        for (size_t off = 0; off < b.size(); off += row_bytes(t, n_cols))
            for (size_t f = 0; f < (is_asym(t) ? 4u : 2u); f += 2) {
                const uint16_t h = f32_to_fp16(u(rng));
                std::memcpy(b.data() + off + f, &h, 2);
            }
        return b;
    }
    if (t == type::mxfp4) {  // E8M0 exponents within the tiles' range (scales 2^-18 .. 2^2)
        for (size_t off = 0; off < b.size(); off += bb) b[off] = static_cast<uint8_t>(110 + rng() % 21);
        return b;
    }
    for (size_t off = 0; off < b.size(); off += bb)
        for (size_t f : fields) {
            const uint16_t h = f32_to_fp16(u(rng));
            std::memcpy(b.data() + off + f, &h, 2);
        }
    return b;
}

// n_tokens activation rows quantized to `at` (Gaussian, or all equal: every code +-127).
std::vector<uint8_t> act_rows(type at, int64_t n_tokens, int64_t n_cols, std::mt19937& rng, bool saturate,
                              std::vector<float>* xf = nullptr) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n_tokens * n_cols));
    for (auto& v : x) v = saturate ? -1.5f : d(rng);
    const size_t arb = row_bytes(at, n_cols);
    std::vector<uint8_t> a(arb * static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t)
        kernels::quantize_act_kernel(at)(x.data() + t * n_cols, a.data() + arb * static_cast<size_t>(t), n_cols);
    if (xf) *xf = x;
    return a;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

TEST(Repack, TiledGemvEqualsPerRowRefDotBitExact) {
    for (type t : k_types) {
        const auto kr0 = kernels::repack_kernel(t, isa_tier::ref);
        const int64_t bs = kr0.block;
        const kernels::dot_fn ref = row_ref(t);
        for (int64_t n_cols : {bs, 3 * bs, int64_t(4096), 4096 + bs}) {
            for (int64_t n_rows : {int64_t(1), int64_t(7), int64_t(8), int64_t(13), int64_t(37)}) {
                for (bool saturate : {false, true}) {
                    const uint32_t seed = k_seed + static_cast<uint32_t>(n_cols * 131 + n_rows * 7 + saturate);
                    std::mt19937 rng(seed);
                    const auto w = random_rows(t, n_rows, n_cols, rng);
                    const size_t rb = row_bytes(t, n_cols);
                    const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
                    ASSERT_EQ(p->n_tiles, (n_rows + 7) / 8);
                    const auto a = act_rows(kr0.act, 1, n_cols, rng, saturate);
                    std::vector<int32_t> side(static_cast<size_t>(kernels::repack_act_side_count(t, n_cols)) + 1);
                    kernels::repack_act_sides(t, a.data(), n_cols, side.data());
                    for (const tier_variant& tier : tiers()) {
                        const auto kr = repack_kernel(t, tier);
                        std::vector<float> y(static_cast<size_t>(p->n_tiles) * 8 + 1, -12345.0f);
                        for (int64_t i = 0; i < p->n_tiles; ++i)
                            kr.gemv(p->n_blocks, p->tile(i), a.data(), side.data(), y.data() + 8 * i,
                                    static_cast<int>(std::min<int64_t>(8, n_rows - 8 * i)));
                        for (int64_t r = 0; r < n_rows; ++r) {
                            const float e = ref(n_cols, w.data() + rb * static_cast<size_t>(r), a.data());
                            ASSERT_EQ(bits(e), bits(y[static_cast<size_t>(r)]))
                                << type_name(t) << " " << tier.name << " rows " << n_rows << " cols "
                                << n_cols << " saturate " << saturate << " row " << r << ": expected " << e
                                << " got " << y[static_cast<size_t>(r)] << " (seed " << seed << ")";
                        }
                        for (size_t r = static_cast<size_t>(n_rows); r < y.size(); ++r)
                            ASSERT_EQ(y[r], -12345.0f) << type_name(t) << " " << tier.name
                                                       << ": wrote past row " << n_rows << " at " << r;
                    }
                }
            }
        }
    }
}

// The generic tier takes its sdot build exactly where the CPU has the extension and it is not turned off,
// for the integer tiles; the float tiles (FP8) have one build. Without the extension set_dotprod(true)
// changes nothing.
TEST(Repack, GenericDotprodBuildIsTakenWhereTheCpuHasIt) {
    if (!isa_tier_supported(isa_tier::generic)) GTEST_SKIP() << "no 128-bit SIMD tier";
    const auto plain = repack_kernel(type::q4_0, tier_variant{isa_tier::generic, false, "generic"});
    const auto dot = repack_kernel(type::q4_0, tier_variant{isa_tier::generic, true, "generic+dotprod"});
    const auto ref = kernels::repack_kernel(type::q4_0, isa_tier::ref);
    EXPECT_NE(plain.gemv, ref.gemv);
    EXPECT_EQ(dot.gemv != plain.gemv, host_cpu().dotprod);
    EXPECT_EQ(LOWBIT_HAVE_SIMD128_DOTPROD != 0 || !host_cpu().dotprod, true);
    const bool saved = dotprod_active();
    set_dotprod(false);
    EXPECT_FALSE(dotprod_active());
    set_dotprod(true);
    EXPECT_EQ(dotprod_active(), host_cpu().dotprod);
    set_dotprod(saved);
}

// Every tier's tiled GEMV on rows whose code bytes are all equal (0xFF: every code at its largest, the
// int16 bounds of the pair sums reached) against saturated activations (every code -127), and on all-0x00
// and all-0x80 rows: bit-exact with the per-row __ref dot, as above.
TEST(Repack, TiledGemvExtremeCodesBitExact) {
    for (type t : k_types) {
        const auto kr0 = kernels::repack_kernel(t, isa_tier::ref);
        const int64_t n_cols = 4096, n_rows = 13;
        for (int fill : {0xFF, 0x00, 0x80}) {
            std::mt19937 rng(k_seed + static_cast<uint32_t>(fill));
            const auto w = random_rows(t, n_rows, n_cols, rng, fill);
            const size_t rb = row_bytes(t, n_cols);
            const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
            const auto a = act_rows(kr0.act, 1, n_cols, rng, true);
            std::vector<int32_t> side(static_cast<size_t>(kernels::repack_act_side_count(t, n_cols)) + 1);
            kernels::repack_act_sides(t, a.data(), n_cols, side.data());
            for (const tier_variant& tier : tiers()) {
                const auto kr = repack_kernel(t, tier);
                std::vector<float> y(static_cast<size_t>(p->n_tiles) * 8);
                for (int64_t i = 0; i < p->n_tiles; ++i)
                    kr.gemv(p->n_blocks, p->tile(i), a.data(), side.data(), y.data() + 8 * i,
                            static_cast<int>(std::min<int64_t>(8, n_rows - 8 * i)));
                for (int64_t r = 0; r < n_rows; ++r) {
                    const float e = row_ref(t)(n_cols, w.data() + rb * static_cast<size_t>(r), a.data());
                    ASSERT_EQ(bits(e), bits(y[static_cast<size_t>(r)]))
                        << type_name(t) << " " << tier.name << " fill " << fill << " row " << r
                        << ": expected " << e << " got " << y[static_cast<size_t>(r)];
                }
            }
        }
    }
}

// The two-tile GEMV (repack_kernels::gemv2, AVX2): every type with tiles but Q2_K, Q3_K, BF16 and FP8 has one, and each of its two
// tiles gets bit for bit what gemv gives it (a full tile with a partial one, both orders, and the same
// tile twice), with nothing written past either tile's rows. Integer types on quantized activations;
// F16 (float_tile_rows, declared below) on f32 ones.
std::vector<uint8_t> float_tile_rows(type t, int64_t n_rows, int64_t n_cols, std::mt19937& rng);
const type k_float_tile_types_x2[] = {type::f16};  // BF16 and FP8 have none (one stream was faster)

TEST(Repack, TwoTileGemvEqualsGemvPerTile) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    std::vector<type> types(std::begin(k_types), std::end(k_types));
    types.insert(types.end(), std::begin(k_float_tile_types_x2), std::end(k_float_tile_types_x2));
    const type one_stream[] = {ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt,
                               type::bf16, type::q2_k, type::q3_k};
    for (type t : one_stream) EXPECT_EQ(kernels::repack_kernel(t, isa_tier::avx2).gemv2, nullptr) << type_name(t);
    for (type t : types) {
        if (std::find(std::begin(one_stream), std::end(one_stream), t) != std::end(one_stream)) continue;
        const auto kr = kernels::repack_kernel(t, isa_tier::avx2);
        ASSERT_NE(kr.gemv2, nullptr) << type_name(t) << " has no two-tile GEMV";
        const int64_t n_cols = 4 * kr.block, n_rows = 13;  // tile 0: 8 rows, tile 1: 5
        const bool is_float = kr.act == type::f32;
        std::mt19937 rng(k_seed + 5);
        const auto w = is_float ? float_tile_rows(t, n_rows, n_cols, rng) : random_rows(t, n_rows, n_cols, rng);
        const auto p = repack_matrix(t, w.data(), row_bytes(t, n_cols), n_rows, n_cols, 1);
        std::vector<float> x;
        auto a = act_rows(is_float ? type::q8_0 : kr.act, 1, n_cols, rng, false, &x);
        if (is_float) {
            a.assign(sizeof(float) * static_cast<size_t>(n_cols), 0);
            if (kr.prep) kr.prep(x.data(), a.data(), n_cols);
            else std::memcpy(a.data(), x.data(), a.size());
        }
        std::vector<int32_t> side(static_cast<size_t>(kernels::repack_act_side_count(t, n_cols)) + 1);
        if (!is_float) kernels::repack_act_sides(t, a.data(), n_cols, side.data());
        std::vector<float> want(16, -1.0f);
        kr.gemv(p->n_blocks, p->tile(0), a.data(), side.data(), want.data(), 8);
        kr.gemv(p->n_blocks, p->tile(1), a.data(), side.data(), want.data() + 8, 5);
        for (auto [i, j] : {std::pair{0, 1}, std::pair{1, 0}, std::pair{0, 0}}) {
            std::vector<float> ya(9, -5.0f), yb(9, -5.0f);
            const int ra = i == 0 ? 8 : 5, rb = j == 0 ? 8 : 5;
            kr.gemv2(p->n_blocks, p->tile(i), p->tile(j), a.data(), side.data(), ya.data(), yb.data(), ra, rb);
            for (int r = 0; r < 9; ++r) {
                if (r < ra) ASSERT_EQ(bits(ya[r]), bits(want[8 * i + r])) << type_name(t) << " tile " << i << " row " << r;
                else ASSERT_EQ(ya[r], -5.0f) << type_name(t) << ": wrote past row " << ra;
                if (r < rb) ASSERT_EQ(bits(yb[r]), bits(want[8 * j + r])) << type_name(t) << " tile " << j << " row " << r;
                else ASSERT_EQ(yb[r], -5.0f) << type_name(t) << ": wrote past row " << rb;
            }
        }
    }
}

TEST(Repack, UnpackEqualsGemmPackOfRows) {
    for (type t : k_types) {
        const int64_t bs = kernels::repack_kernel(t, isa_tier::ref).block;
        const auto kq = kernels::gemm_q_kernel(t, isa_tier::ref);
        if (!kernels::repack_kernel(t, isa_tier::ref).unpack) {  // no integer GEMM to feed (Q4_1, Q5_1)
            EXPECT_EQ(kq.pack, nullptr) << type_name(t) << " has an integer GEMM but its tiles no unpack";
            continue;
        }
        ASSERT_NE(kq.pack, nullptr) << type_name(t);
        for (int64_t n_rows : {int64_t(3), int64_t(8)}) {
            const int64_t n_cols = 3 * bs;
            std::mt19937 rng(k_seed + static_cast<uint32_t>(n_rows));
            const auto w = random_rows(t, n_rows, n_cols, rng);
            const size_t rb = row_bytes(t, n_cols);
            const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
            const size_t n_packed = static_cast<size_t>(n_cols / kq.block);  // TQ2_0: 8 per tile block
            std::vector<uint8_t> want(kq.packed_bytes * n_packed), got(kq.packed_bytes * n_packed);
            kq.pack(w.data(), rb, static_cast<int>(n_rows), n_cols, want.data());
            for (const tier_variant& tier : tiers()) {
                const kernels::repack_unpack_fn unpack = repack_kernel(t, tier).unpack;
                if (!unpack) continue;  // IQ4_XS at AVX2: its row packer feeds the GEMM there
                std::fill(got.begin(), got.end(), uint8_t(0xA5));
                unpack(p->n_blocks, p->tile(0), got.data());
                if (kq.packed_bytes == sizeof(kernels::gemm_block_q8x8)) {
                    // Padding rows have scale 0 both ways, but their codes may differ: the tile's zero
                    // nibbles are codebook values (IQ4_NL, NF4, MXFP4) or code 0 + 8 - Off (int2 / int3 /
                    // ternary / TQ2_0) where the packer writes 0; only the real rows' codes must match.
                    auto* gb = reinterpret_cast<kernels::gemm_block_q8x8*>(got.data());
                    for (size_t b = 0; b < n_packed; ++b)
                        for (int g = 0; g < 8; ++g)
                            for (int64_t r = n_rows; r < 8; ++r) std::memset(gb[b].q[g][r], 0, 4);
                }
                if (t == type::iq4_xs) {  // the same for IQ4_XS's packed block
                    auto* gb = reinterpret_cast<kernels::gemm_block_iq4_xsx8*>(got.data());
                    for (size_t b = 0; b < n_packed; ++b)
                        for (int g = 0; g < 64; ++g)
                            for (int64_t r = n_rows; r < 8; ++r) std::memset(gb[b].q[g][r], 0, 4);
                }
                for (size_t i = 0; i < want.size(); ++i)
                    ASSERT_EQ(want[i], got[i]) << type_name(t) << " " << tier.name << " rows " << n_rows
                                               << ": byte " << i << " of the packed group differs";
            }
        }
    }
}

weight_matrix plain_matrix(type t, int64_t n_rows, int64_t n_cols, const std::vector<uint8_t>& w) {
    return weight_matrix::stored_rows("w", t, n_rows, n_cols, w.data());
}

TEST(Repack, MatmulWithTilesEqualsPlainRows) {
    for (type t : k_types) {
        const int64_t bs = kernels::repack_kernel(t, isa_tier::ref).block;
        const int64_t n_rows = 83, n_cols = kernels::repack_kernel(t, isa_tier::ref).block == 256 ? 512 : 320;
        std::mt19937 rng(k_seed + 99);
        const auto w = random_rows(t, n_rows, n_cols, rng);
        weight_matrix plain = plain_matrix(t, n_rows, n_cols, w);
        weight_matrix tiled = plain;
        tiled.tiles = repack_matrix(t, w.data(), plain.row_stride, n_rows, n_cols, 1);
        ASSERT_EQ(n_cols % bs, 0);
        const kernels::dot_fn ref = row_ref(t);
        const type at = kernels::repack_kernel(t, isa_tier::ref).act;
        matmul_scratch s1, s2;
        for (int64_t n_tokens : {int64_t(1), int64_t(3), int64_t(16)}) {
            std::vector<float> x;
            const auto a = act_rows(at, n_tokens, n_cols, rng, false, &x);
            const int64_t ldy = n_rows + 5;
            std::vector<float> y1(static_cast<size_t>(n_tokens * ldy), -777.0f), y2 = y1;
            for (int threads : {1, 2}) {
                matmul(tiled, n_tokens, x.data(), n_cols, y1.data(), ldy, threads, s1);
                // Plain rows take the same integer GEMM through the row packer (every type with a GEMM
                // has one at every tier), so the prompt results are the same bits.
                const kernels::gemm_q_kernels kq = kernels::gemm_q_kernel(t, active_isa_tier());
                ASSERT_TRUE(kq.gemm == nullptr || kq.pack != nullptr) << type_name(t);
                matmul(plain, n_tokens, x.data(), n_cols, y2.data(), ldy, threads, s2);
                for (int64_t tk = 0; tk < n_tokens; ++tk)
                    for (int64_t r = 0; r < ldy; ++r) {
                        const float got = y1[static_cast<size_t>(tk * ldy + r)];
                        if (r >= n_rows) {
                            ASSERT_EQ(got, -777.0f) << type_name(t) << ": wrote y[" << tk << "][" << r << "]";
                            continue;
                        }
                        // Generation: the per-row __ref dot (bit-exact); prompt GEMM: the plain rows' GEMM.
                        const float want =
                            n_tokens <= 4 ? ref(n_cols, w.data() + plain.row_stride * static_cast<size_t>(r),
                                                a.data() + row_bytes(at, n_cols) * static_cast<size_t>(tk))
                                          : y2[static_cast<size_t>(tk * ldy + r)];
                        ASSERT_EQ(bits(want), bits(got)) << type_name(t) << " tokens " << n_tokens << " threads "
                                                         << threads << " y[" << tk << "][" << r << "]: expected "
                                                         << want << " got " << got;
                    }
            }
        }
    }
}

// ---- FP8 tiles -----------------------------------------------------------------------------------

const type k_fp8_types[] = {ext_type::fp8_e4m3, ext_type::fp8_e5m2};

bool fp8_finite(type t, uint8_t u) {
    const bool e4m3 = t == ext_type::fp8_e4m3 || t == ext_type::fp8_e4m3_pt;
    return e4m3 ? (u & 0x7F) != 0x7F : ((u >> 2) & 0x1F) != 31;
}

// Random FP8 rows: every finite code, fp16 scales in [0.001, 0.1].
std::vector<uint8_t> fp8_rows(type t, int64_t n_rows, int64_t n_cols, std::mt19937& rng) {
    if (t == ext_type::fp8_e4m3_pt || t == ext_type::fp8_e5m2_pt) {  // f32 row scale, then the codes
        const size_t rb = row_bytes(t, n_cols);
        std::vector<uint8_t> b(rb * static_cast<size_t>(n_rows));
        std::uniform_real_distribution<float> u(0.001f, 0.1f);
        for (int64_t r = 0; r < n_rows; ++r) {
            uint8_t* row = b.data() + rb * static_cast<size_t>(r);
            const float s = u(rng);
            std::memcpy(row, &s, 4);
            for (size_t i = 4; i < rb; ++i)
                do row[i] = static_cast<uint8_t>(rng()); while (!fp8_finite(t, row[i]));
        }
        return b;
    }
    auto b = random_rows(t, n_rows, n_cols, rng);
    for (size_t off = 0; off < b.size(); off += 34)
        for (size_t i = off + 2; i < off + 34; ++i)
            while (!fp8_finite(t, b[i])) b[i] = static_cast<uint8_t>(rng());
    return b;
}

// The types whose tiles run float kernels: FP8 (scaled blocks) and the 16-bit floats.
const type k_float_tile_types[] = {ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt,
                                   type::f16, type::bf16};

// Random rows of a float-tile type: FP8 as fp8_rows; F16 / BF16 Gaussian values times 2^e, e in
// [-20, 4] (F16 subnormals below 2^-14 included).
std::vector<uint8_t> float_tile_rows(type t, int64_t n_rows, int64_t n_cols, std::mt19937& rng) {
    if (t != type::f16 && t != type::bf16) return fp8_rows(t, n_rows, n_cols, rng);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<uint8_t> b(row_bytes(t, n_cols) * static_cast<size_t>(n_rows));
    for (size_t i = 0; i < b.size() / 2; ++i) {
        const float v = std::ldexp(nd(rng), static_cast<int>(rng() % 25) - 20);
        const uint16_t h = t == type::f16 ? f32_to_fp16(v) : f32_to_bf16(v);
        std::memcpy(b.data() + 2 * i, &h, 2);
    }
    return b;
}

// sum_j |w_j x_j| of one row, in double.
double fp8_mag(type t, const uint8_t* row, const float* x, int64_t n) {
    std::vector<float> w(static_cast<size_t>(n));
    dequantize_row(t, row, w.data(), n);
    double m = 0;
    for (int64_t j = 0; j < n; ++j) m += std::fabs(double(w[static_cast<size_t>(j)]) * x[j]);
    return m;
}

TEST(Repack, FloatTilesMatchPerRowDot) {
    for (type t : k_float_tile_types) {
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref);
        const auto kr0 = kernels::repack_kernel(t, isa_tier::ref);
        ASSERT_EQ(kr0.prep == nullptr, t == type::f16 || t == type::bf16) << "FP8 prepares its activations";
        for (int64_t n_cols : {int64_t(32), int64_t(96), int64_t(4096 + 32)})
            for (int64_t n_rows : {int64_t(1), int64_t(7), int64_t(13), int64_t(37)})
                for (float xs : {1e-6f, 1.0f, 1e4f}) {
                    const uint32_t seed = k_seed + static_cast<uint32_t>(n_cols * 131 + n_rows * 7) + static_cast<uint32_t>(xs > 1);
                    std::mt19937 rng(seed);
                    const auto w = float_tile_rows(t, n_rows, n_cols, rng);
                    const size_t rb = row_bytes(t, n_cols);
                    const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
                    std::vector<float> x;
                    act_rows(type::f32, 1, n_cols, rng, false, &x);
                    for (auto& v : x) v *= xs;
                    std::vector<float> xp = x;
                    if (kr0.prep) kr0.prep(x.data(), xp.data(), n_cols);
                    for (const tier_variant& tier : tiers()) {
                        const auto kr = repack_kernel(t, tier);
                        std::vector<float> y(static_cast<size_t>(p->n_tiles) * 8 + 1, -12345.0f);
                        for (int64_t i = 0; i < p->n_tiles; ++i)
                            kr.gemv(p->n_blocks, p->tile(i), xp.data(), nullptr, y.data() + 8 * i,
                                    static_cast<int>(std::min<int64_t>(8, n_rows - 8 * i)));
                        for (int64_t r = 0; r < n_rows; ++r) {
                            const uint8_t* row = w.data() + rb * static_cast<size_t>(r);
                            const float e = ref(n_cols, row, x.data()), got = y[static_cast<size_t>(r)];
                            if (tier.tier !=
                                isa_tier::avx2) {  // __ref and the generic tier: the same float order
                                ASSERT_EQ(bits(e), bits(got)) << type_name(t) << " tile " << tier.name
                                                              << " row " << r << " seed " << seed;
                            } else {
                                ASSERT_LE(std::fabs(double(got) - e), 1e-5 * fp8_mag(t, row, x.data(), n_cols))
                                    << type_name(t) << " tile __avx2 row " << r << " cols " << n_cols << " x scale " << xs
                                    << " seed " << seed << ": want " << e << " got " << got;
                            }
                        }
                        for (size_t r = static_cast<size_t>(n_rows); r < y.size(); ++r)
                            ASSERT_EQ(y[r], -12345.0f) << type_name(t) << ": wrote past row " << n_rows;
                    }
                }
    }
}

// One finite code at column j of each row (row r: column (j + r) % 32 of block 1), the rest zero, against
// Gaussian activations: the GEMV gives d * fp8(u) * x exactly up to one rounding, and the prompt GEMM's
// unpack (gemm_q.hpp, "FP8 prompts") gives d[r] * q = d * fp8(u) exactly (a lone code is its block's
// largest), at both tiers (the decode of every byte position of the tile's dwords is exact, subnormals
// and signs included).
TEST(Repack, Fp8TilesDecodeEveryCodeInEveryPosition) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "no AVX2";
    for (type t : k_fp8_types) {
        const auto kr = kernels::repack_kernel(t, isa_tier::avx2);
        const auto kr0 = kernels::repack_kernel(t, isa_tier::ref);
        ASSERT_NE(kr.unpack, nullptr);
        ASSERT_NE(kr.unpack, kr0.unpack);
        const int64_t n_cols = 96, n_rows = 8, n_tok = 1;
        const size_t rb = row_bytes(t, n_cols);
        std::mt19937 rng(k_seed + static_cast<uint32_t>(t));
        std::vector<float> x;
        act_rows(type::f32, n_tok, n_cols, rng, false, &x);
        std::vector<float> xp(x.size());
        kr.prep(x.data(), xp.data(), n_cols);
        for (int u = 0; u < 256; ++u) {
            if (!fp8_finite(t, static_cast<uint8_t>(u))) continue;
            for (int j = 0; j < 32; j += 8) {
                std::vector<uint8_t> w(rb * n_rows, 0);
                for (int64_t r = 0; r < n_rows; ++r) {
                    uint8_t* row = w.data() + rb * static_cast<size_t>(r);
                    for (int b = 0; b < 3; ++b) {
                        const uint16_t h = f32_to_fp16(0.03125f);
                        std::memcpy(row + 34 * b, &h, 2);
                    }
                    row[34 + 2 + (j + r) % 32] = static_cast<uint8_t>(u);
                }
                const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
                const double v = 0.03125 * (t == ext_type::fp8_e4m3 ? fp8_e4m3_to_f32(static_cast<uint8_t>(u))
                                                                    : fp8_e5m2_to_f32(static_cast<uint8_t>(u)));
                std::vector<float> yg(8);
                kr.gemv(p->n_blocks, p->tile(0), xp.data(), nullptr, yg.data(), 8);
                std::vector<kernels::gemm_block_i16x8> ub(3), ub0(3);
                kr.unpack(p->n_blocks, p->tile(0), ub.data());
                kr0.unpack(p->n_blocks, p->tile(0), ub0.data());
                ASSERT_EQ(std::memcmp(ub.data(), ub0.data(), 3 * sizeof(ub[0])), 0) << type_name(t) << " code " << u;
                for (int64_t r = 0; r < n_rows; ++r) {
                    const int c = (j + static_cast<int>(r)) % 32;
                    const double exact = v * x[static_cast<size_t>(32 + c)];
                    ASSERT_LE(std::fabs(yg[static_cast<size_t>(r)] - exact), 0x1p-23 * std::fabs(exact))
                        << type_name(t) << " gemv code " << u << " column " << c;
                    for (int cc = 0; cc < 32; ++cc) {
                        const int16_t q = ub[1].q[cc / 2][r][cc % 2];
                        if (cc != c) {
                            ASSERT_EQ(q, 0) << type_name(t) << " code " << u << " column " << cc;
                            continue;
                        }
                        ASSERT_EQ(double(ub[1].d[r]) * q, v) << type_name(t) << " code " << u << " column " << c;
                        if (v != 0) { ASSERT_GE(std::abs(int(q)), 16384) << type_name(t) << " code " << u; }
                    }
                }
            }
        }
    }
}

// fp8_block_to_i16__ref on random blocks (random codes span the whole exponent range) and on blocks of
// one code with a large one: |q| <= 30720, the largest |q| >= 2^14, q exact where v 2^sh is an integer
// and within half a step otherwise, d_out = d 2^-sh; all-zero blocks (signed zeros) give d = 0, q = 0.
// The generic tier's FP8 GEMV decodes every code exactly in registers (Inf and NaN codes included, which
// the encoders never write): one code per row at every byte position of the tile's dwords, against
// Gaussian activations, equals the tile __ref GEMV bit for bit (NaN where it gives NaN).
TEST(Repack, Fp8GenericGemvEveryCodeEqualsRef) {
    if (!isa_tier_supported(isa_tier::generic)) GTEST_SKIP() << "no 128-bit SIMD tier";
    for (type t : k_fp8_types) {
        const auto kr = repack_kernel(t, tier_variant{isa_tier::generic, false, "generic"});
        const auto kr0 = kernels::repack_kernel(t, isa_tier::ref);
        const int64_t n_cols = 64, n_rows = 8;
        const size_t rb = row_bytes(t, n_cols);
        std::mt19937 rng(k_seed + 7 + static_cast<uint32_t>(t));
        std::vector<float> x;
        act_rows(type::f32, 1, n_cols, rng, false, &x);
        std::vector<float> xp(x.size());
        kr0.prep(x.data(), xp.data(), n_cols);
        for (int u = 0; u < 256; ++u)
            for (int j = 0; j < 8; ++j) {
                std::vector<uint8_t> w(rb * n_rows, 0);
                for (int64_t r = 0; r < n_rows; ++r) {
                    uint8_t* row = w.data() + rb * static_cast<size_t>(r);
                    for (int b = 0; b < 2; ++b) {
                        const uint16_t h = f32_to_fp16(0.03125f);
                        std::memcpy(row + 34 * b, &h, 2);
                    }
                    row[34 + 2 + (4 * j + static_cast<int>(r)) % 32] = static_cast<uint8_t>(u);
                }
                const auto p = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
                std::vector<float> y(8), y0(8);
                kr.gemv(p->n_blocks, p->tile(0), xp.data(), nullptr, y.data(), 8);
                kr0.gemv(p->n_blocks, p->tile(0), xp.data(), nullptr, y0.data(), 8);
                for (int r = 0; r < 8; ++r) {
                    if (std::isnan(y0[static_cast<size_t>(r)])) {
                        ASSERT_TRUE(std::isnan(y[static_cast<size_t>(r)])) << type_name(t) << " code " << u;
                        continue;
                    }
                    ASSERT_EQ(bits(y[static_cast<size_t>(r)]), bits(y0[static_cast<size_t>(r)]))
                        << type_name(t) << " code " << u << " row " << r << ": want "
                        << y0[static_cast<size_t>(r)] << " got " << y[static_cast<size_t>(r)];
                }
            }
    }
}

TEST(Repack, Fp8PromptBlockScaling) {
    std::mt19937 rng(k_seed + 41);
    for (bool e4m3 : {true, false}) {
        const type t = e4m3 ? ext_type::fp8_e4m3 : ext_type::fp8_e5m2;
        const auto check = [&](const uint8_t* c) {
            float d_out = -1;
            int16_t q[32];
            kernels::fp8_block_to_i16__ref(e4m3, c, 0.5f, d_out, q, 1);
            double m = 0;
            int qmax = 0;
            for (int j = 0; j < 32; ++j) {
                m = std::max(m, std::fabs(double(e4m3 ? fp8_e4m3_to_f32(c[j]) : fp8_e5m2_to_f32(c[j]))));
                qmax = std::max(qmax, std::abs(int(q[j])));
            }
            if (m == 0) {
                ASSERT_EQ(d_out, 0.0f);
                ASSERT_EQ(qmax, 0);
                return;
            }
            const int sh = 14 - std::ilogb(m);
            ASSERT_EQ(d_out, std::ldexp(0.5f, -sh));
            ASSERT_LE(qmax, 30720);
            ASSERT_GE(qmax, 16384);
            for (int j = 0; j < 32; ++j) {
                const double s = std::ldexp(double(e4m3 ? fp8_e4m3_to_f32(c[j]) : fp8_e5m2_to_f32(c[j])), sh);
                if (s == std::floor(s)) ASSERT_EQ(q[j], s) << "code " << int(c[j]);
                else ASSERT_LE(std::fabs(q[j] - s), 0.5) << "code " << int(c[j]);
            }
        };
        uint8_t c[32];
        for (int it = 0; it < 2000; ++it) {
            for (auto& v : c)
                do v = static_cast<uint8_t>(rng()); while (!fp8_finite(t, v));
            check(c);
        }
        for (int u = 0; u < 256; ++u)
            for (int big : {0x00, 0x7E, 0x3A, 0x7B, 0x18}) {  // zero, the largest codes, mid codes
                if (!fp8_finite(t, static_cast<uint8_t>(u)) || !fp8_finite(t, static_cast<uint8_t>(big))) continue;
                std::memset(c, 0, 32);
                c[3] = static_cast<uint8_t>(u);
                c[20] = static_cast<uint8_t>(big);
                check(c);
            }
        std::memset(c, 0x80, 32);  // -0
        check(c);
    }
}

// The FP8 prompt GEMM's pieces at AVX2 against __ref (gemm_q.hpp, "FP8 prompts"): row packers and
// tile unpacks write the same bytes (and the unpack equals the rows' pack), the 12-bit activation
// quantizer the same blocks (zero blocks and single large values included), and the micro-kernel the
// same floats for 1..4 tokens, 1..8 rows and a token offset, with nothing written past the rows.
// The FP8 prompt path at each SIMD tier (the AVX2 kernels; the generic tier's 128-bit row packer, tile
// unpack, activation quantizer and GEMM) against ref, byte for byte and bit for bit: 1-8 rows,
// 1-4 tokens, zero and -0 blocks, a zero activation block and a large activation, sentinels past the tile.
TEST(Repack, Fp8PromptGemmMatchesRefAtEveryTier) {
    const type types[] = {ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt};
    int n_tiers = 0;
    for (const tier_variant& tv : tiers()) {
        if (tv.tier == isa_tier::ref) continue;
        ++n_tiers;
        for (type t : types)
            for (int n_rows = 1; n_rows <= 8; ++n_rows) {
                const std::string what =
                    std::string(type_name(t)) + " " + tv.name + " rows " + std::to_string(n_rows);
                const int64_t n_cols = 160, nb = n_cols / 32;
                std::mt19937 rng(k_seed + 53 + static_cast<uint32_t>(t) + static_cast<uint32_t>(n_rows));
                auto w = fp8_rows(t, n_rows, n_cols, rng);
                const size_t rb = row_bytes(t, n_cols);
                const bool per_row = t == ext_type::fp8_e4m3_pt || t == ext_type::fp8_e5m2_pt;
                const size_t block = per_row ? 32 : sizeof(block_fp8), first = per_row ? 4 : 2;  // codes of block 0
                const auto codes = [&](int r, int b) {
                    return w.data() + rb * static_cast<size_t>(r) + first + block * b;
                };
                if (n_rows == 3) {  // a block of zeros and one of -0 in row 1 (blocks 1 and 2)
                    std::memset(codes(1, 1), 0, 32);
                    std::memset(codes(1, 2), 0x80, 32);
                }
                if (n_rows ==
                    5) {  // subnormal codes only (the largest shifts) in row 2; the smallest in row 4
                    for (int j = 0; j < 32; ++j) codes(2, 3)[j] &= 0x83;
                    for (int j = 0; j < 32; ++j)
                        codes(4, 4)[j] = static_cast<uint8_t>(j % 3 == 0 ? 0x01 : j % 3 == 1 ? 0x81 : 0);
                }
                const auto kq =
                    test::with_dotprod(tv.dotprod, [&] { return kernels::gemm_q_kernel(t, tv.tier); });
                const auto kq0 = kernels::gemm_q_kernel(t, isa_tier::ref);
                ASSERT_TRUE(kq.a16 && kq0.a16) << what;
                if (tv.tier == isa_tier::generic && LOWBIT_HAVE_SIMD128) {
                    ASSERT_NE(kq.gemm, kq0.gemm) << what;
                    ASSERT_NE(kq.pack, kq0.pack) << what;
                }
                std::vector<kernels::gemm_block_i16x8> pa(nb), pr(nb), ua(nb), ur(nb);
                std::memset(pa.data(), 0x5A, nb * sizeof(pa[0]));
                std::memset(ua.data(), 0x5A, nb * sizeof(ua[0]));
                kq.pack(w.data(), rb, n_rows, n_cols, pa.data());
                kq0.pack(w.data(), rb, n_rows, n_cols, pr.data());
                ASSERT_EQ(std::memcmp(pa.data(), pr.data(), nb * sizeof(pa[0])), 0) << what;
                const auto tiles = repack_matrix(t, w.data(), rb, n_rows, n_cols, 1);
                const auto kr = repack_kernel(t, tv), kr0 = kernels::repack_kernel(t, isa_tier::ref);
                if (tv.tier == isa_tier::generic && LOWBIT_HAVE_SIMD128) {
                    ASSERT_NE(kr.unpack, kr0.unpack) << what;
                }
                kr.unpack(tiles->n_blocks, tiles->tile(0), ua.data());
                kr0.unpack(tiles->n_blocks, tiles->tile(0), ur.data());
                ASSERT_EQ(std::memcmp(ua.data(), ur.data(), nb * sizeof(ua[0])), 0) << what;
                ASSERT_EQ(std::memcmp(ua.data(), pr.data(), nb * sizeof(ua[0])), 0) << what;

                const int64_t n_tok = 6;
                std::normal_distribution<float> nd(0.0f, 1.0f);
                std::vector<float> x(static_cast<size_t>(n_tok * n_cols));
                for (auto& v : x) v = nd(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 20) - 10);
                for (int j = 0; j < 32; ++j) x[static_cast<size_t>(n_cols + 64 + j)] = 0.0f;  // a zero block
                x[7] = 1e6f;
                std::vector<kernels::block_a16> qa(static_cast<size_t>(n_tok * nb)), qr(qa.size());
                std::vector<float> da(qa.size());
                const auto quant = kernels::gemm_act_quantizer(kq, tv.tier);
                if (tv.tier == isa_tier::generic && LOWBIT_HAVE_SIMD128) {
                    ASSERT_NE(quant, kernels::quantize_act_a16__ref);
                }
                for (int64_t tk = 0; tk < n_tok; ++tk) {
                    quant(x.data() + tk * n_cols, qa.data() + tk * nb, n_cols);
                    kernels::quantize_act_a16__ref(x.data() + tk * n_cols, qr.data() + tk * nb, n_cols);
                }
                ASSERT_EQ(std::memcmp(qa.data(), qr.data(), qa.size() * sizeof(qa[0])), 0) << what;
                for (size_t i = 0; i < qa.size(); ++i) da[i] = qa[i].d;
                kernels::gemm_act a;
                a.q = reinterpret_cast<const uint8_t*>(qa.data());
                a.row_bytes = nb * sizeof(kernels::block_a16);
                a.d = da.data();
                a.n_blocks = nb;
                for (int tok = 1; tok <= 4; ++tok) {
                    const int64_t ldy = 11;
                    std::vector<float> ya(static_cast<size_t>(4 * ldy), -12345.0f), yr(ya);
                    kq.gemm(nb, pr.data(), a, 2, tok, ya.data(), ldy, n_rows);
                    kq0.gemm(nb, pr.data(), a, 2, tok, yr.data(), ldy, n_rows);
                    for (size_t i = 0; i < ya.size(); ++i)
                        ASSERT_EQ(bits(ya[i]), bits(yr[i])) << what << " tokens " << tok << " at " << i;
                    for (int tk = 0; tk < 4; ++tk)
                        for (int64_t r = 0; r < ldy; ++r)
                            if (tk >= tok || r >= n_rows) {
                                ASSERT_EQ(ya[static_cast<size_t>(tk * ldy + r)], -12345.0f);
                            }
                }
            }
    }
    if (n_tiers == 0) GTEST_SKIP() << "no SIMD tier";
}

// The error bound of the FP8 prompt GEMM against the exact product (gemm_q.hpp, "FP8 prompts"): per
// 32-column block the activations' rounding (amax / 4094 each) times sum |w|, plus the weights' (at most
// half of 2^-sh d <= 2^-15 of the block's largest |w|, taken as 2^-14) times sum |x|, plus 1e-5 sum |w x|
// for the float steps.
double fp8_a16_bound(type t, const uint8_t* row, const float* x, int64_t n) {
    std::vector<float> w(static_cast<size_t>(n));
    dequantize_row(t, row, w.data(), n);
    double e = 1e-5 * fp8_mag(t, row, x, n);
    for (int64_t b = 0; b < n / 32; ++b) {
        double amax = 0, wmax = 0, sw = 0, sx = 0;
        for (int64_t j = 32 * b; j < 32 * b + 32; ++j) {
            amax = std::max(amax, std::fabs(double(x[j])));
            wmax = std::max(wmax, std::fabs(double(w[static_cast<size_t>(j)])));
            sw += std::fabs(double(w[static_cast<size_t>(j)]));
            sx += std::fabs(double(x[j]));
        }
        e += 1.01 * (sw * amax / 4094 + (sx + 32 * amax / 4094) * wmax * 0x1p-14);
    }
    return e;
}

// matmul over FP8 / F16 / BF16 tiles: generation (1..4 tokens) the tiled GEMV, prompts (5+) the tiled
// GEMM (F16 / BF16) or the integer one from the tiles' unpack (FP8, within fp8_a16_bound) (token blocks and a partial one; an odd last tile; one or several column slices), both within
// 1e-5 of sum |w x| of the per-row __ref dot; rows past the matrix untouched.
TEST(Repack, FloatMatmulWithTiles) {
    for (type t : k_float_tile_types)
    for (int64_t n_cols : {int64_t(320), int64_t(kernels::k_tile_gemm_kc * 2 + 32)}) {  // 1 and 3 column slices
        const int64_t n_rows = 83;
        std::mt19937 rng(k_seed + 7 + static_cast<uint32_t>(t));
        const auto w = float_tile_rows(t, n_rows, n_cols, rng);
        weight_matrix tiled = plain_matrix(t, n_rows, n_cols, w);
        tiled.tiles = repack_matrix(t, w.data(), tiled.row_stride, n_rows, n_cols, 1);
        const kernels::dot_fn ref = kernels::dot_kernel(t, isa_tier::ref);
        matmul_scratch sc;
        for (int64_t n_tokens : {int64_t(1), int64_t(4), int64_t(5), int64_t(8), int64_t(15), int64_t(19)}) {
            std::vector<float> x;
            act_rows(type::f32, n_tokens, n_cols, rng, false, &x);
            const int64_t ldy = n_rows + 5;
            for (int threads : {1, 2}) {
                std::vector<float> y(static_cast<size_t>(n_tokens * ldy), -777.0f);
                matmul(tiled, n_tokens, x.data(), n_cols, y.data(), ldy, threads, sc);
                if (n_tokens > 4 && t != type::f16 && t != type::bf16) {  // FP8 prompts: rows' pack = tiles' unpack
                    std::vector<float> yp(y.size(), -777.0f);
                    matmul(plain_matrix(t, n_rows, n_cols, w), n_tokens, x.data(), n_cols, yp.data(), ldy, threads, sc);
                    ASSERT_EQ(std::memcmp(y.data(), yp.data(), y.size() * sizeof(float)), 0) << type_name(t) << " tokens " << n_tokens;
                }
                for (int64_t tk = 0; tk < n_tokens; ++tk)
                    for (int64_t r = 0; r < ldy; ++r) {
                        const float got = y[static_cast<size_t>(tk * ldy + r)];
                        if (r >= n_rows) {
                            ASSERT_EQ(got, -777.0f) << type_name(t) << ": wrote y[" << tk << "][" << r << "]";
                            continue;
                        }
                        const uint8_t* row = w.data() + tiled.row_stride * static_cast<size_t>(r);
                        const float* xt = x.data() + tk * n_cols;
                        const float want = ref(n_cols, row, xt);
                        const bool fp8_prompt = n_tokens > 4 && t != type::f16 && t != type::bf16;
                        const double tol = fp8_prompt ? fp8_a16_bound(t, row, xt, n_cols) : 1e-5 * fp8_mag(t, row, xt, n_cols);
                        ASSERT_LE(std::fabs(double(got) - want), tol)
                            << type_name(t) << " tokens " << n_tokens << " threads " << threads << " y[" << tk << "]["
                            << r << "]: want " << want << " got " << got;
                    }
            }
        }
    }
}

TEST(Repack, Supported) {
    // MXFP4 tiles hold the scale as an exact fp16: only rows whose exponents all lie in [104, 143]
    {
        std::vector<uint8_t> rows(2 * row_bytes(type::mxfp4, 64), 0);
        const size_t rb = row_bytes(type::mxfp4, 64);
        for (uint8_t e : {uint8_t(104), uint8_t(143), uint8_t(127)}) {
            for (size_t o = 0; o < rows.size(); o += 17) rows[o] = 120;
            rows[rb + 17] = e;
            EXPECT_TRUE(kernels::repack_rows_supported(type::mxfp4, rows.data(), rb, 2, 64)) << int(e);
        }
        for (uint8_t e : {uint8_t(0), uint8_t(103), uint8_t(144), uint8_t(255)}) {
            rows[rb + 17] = e;
            EXPECT_FALSE(kernels::repack_rows_supported(type::mxfp4, rows.data(), rb, 2, 64)) << int(e);
            EXPECT_TRUE(kernels::repack_rows_supported(type::mxfp4, rows.data(), rb, 1, 64)) << "first row only";
            EXPECT_THROW(repack_matrix(type::mxfp4, rows.data(), rb, 2, 64), error);
        }
        EXPECT_TRUE(kernels::repack_rows_supported(type::q4_0, nullptr, 0, 0, 64));
    }
    EXPECT_TRUE(kernels::repack_supported(type::q4_0, 64));
    EXPECT_FALSE(kernels::repack_supported(type::q4_0, 48));
    EXPECT_TRUE(kernels::repack_supported(type::q4_k, 256));
    EXPECT_FALSE(kernels::repack_supported(type::q4_k, 128));
    EXPECT_TRUE(kernels::repack_supported(type::q5_k, 256));
    EXPECT_TRUE(kernels::repack_supported(type::q6_k, 512));
    EXPECT_FALSE(kernels::repack_supported(type::q6_k, 384));
    EXPECT_TRUE(kernels::repack_supported(type::q3_k, 256));
    EXPECT_FALSE(kernels::repack_supported(type::q3_k, 128));
    EXPECT_FALSE(kernels::repack_supported(type::f32, 256));
    EXPECT_THROW(repack_matrix(type::iq2_xs, nullptr, 74, 8, 256), lowbit::error);
}

TEST(Repack, ReleaseFilePagesOnlyForReadOnlyFileMappings) {
    std::vector<uint8_t> anon(1 << 16, 0x5A);
    EXPECT_FALSE(in_readonly_file_mapping(anon.data(), anon.size()));
    EXPECT_FALSE(release_file_pages(anon.data(), anon.size()));
    EXPECT_EQ(anon[4096], 0x5A);  // anonymous memory is never dropped
    const std::string path = test::temp_dir() + "/pages.bin";
    std::vector<uint8_t> bytes(1 << 16);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
    test::write_file(path, bytes.data(), bytes.size());
    const auto m = mapped_file::open(path);
    uint64_t before = 0;
    for (size_t i = 0; i < m->size(); ++i) before += m->data()[i];
    EXPECT_TRUE(in_readonly_file_mapping(m->data(), m->size()));
    EXPECT_FALSE(in_readonly_file_mapping(m->data(), m->size() + (size_t(1) << 30)));  // beyond the mapping
    EXPECT_TRUE(release_file_pages(m->data() + 100, m->size() - 200));
    uint64_t after = 0;
    for (size_t i = 0; i < m->size(); ++i) after += m->data()[i];
    EXPECT_EQ(before, after);  // faulted back in from the file
    EXPECT_EQ(std::memcmp(m->data(), bytes.data(), bytes.size()), 0);
}

}  // namespace
}  // namespace lowbit
