// Tests of the IQ4_NL, IQ4_XS, IQ3_S, IQ3_XXS, TQ1_0 and TQ2_0 decoders/encoders
// (src/formats/ggml_iquants.cpp): golden de-quantization checksums and encoder bytes from
// ../shared/ggml-vectors (made by llama.cpp; all six encoders are byte-exact), round trips on
// seeded random data, and the SIMD decoders against the scalar reference.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/sha256.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_iquants.hpp"
#include "formats/iq_grids.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/types.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

const type k_my_types[] = {type::iq4_nl, type::iq4_xs, type::iq3_s, type::iq3_xxs, type::tq1_0, type::tq2_0};

std::string vectors_path(const std::string& file) { return test::shared_path("ggml-vectors/" + file); }

// De-quantizes a whole tensor with the scalar reference decoder.
std::vector<float> decode_tensor(const tensor_info& t, bool reference = true) {
    const auto& tr = traits(t.t);
    std::vector<float> out(static_cast<size_t>(t.n_elements()));
    const size_t rb = row_bytes(t.t, t.row_len());
    for (int64_t r = 0; r < t.n_rows(); ++r) {
        const uint8_t* src = t.data + r * rb;
        float* dst = out.data() + r * t.row_len();
        if (reference) tr.to_float(src, dst, t.row_len());
        else dequantize_row(t.t, src, dst, t.row_len());
    }
    return out;
}

// Quantizes a whole F32 tensor; importance: [row_len] or null.
std::vector<uint8_t> encode_tensor(type t, const tensor_info& f32, const float* importance) {
    const size_t rb = row_bytes(t, f32.row_len());
    std::vector<uint8_t> out(rb * f32.n_rows(), 0xA5);
    const auto* x = reinterpret_cast<const float*>(f32.data);
    for (int64_t r = 0; r < f32.n_rows(); ++r)
        quantize_row(t, x + r * f32.row_len(), out.data() + r * rb, f32.row_len(), importance);
    return out;
}

// imatrix importance for a tensor: in_sum2 / counts (as llama-quantize loads a GGUF imatrix).
std::map<std::string, std::vector<float>> load_imatrix(const std::string& path) {
    std::map<std::string, std::vector<float>> out;
    const gguf_file f = gguf_file::open(path);
    for (const auto& t : f.tensors()) {
        const std::string suffix = ".in_sum2";
        if (t.name.size() <= suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const std::string name = t.name.substr(0, t.name.size() - suffix.size());
        const tensor_info* c = f.find_tensor(name + ".counts");
        if (!c || t.t != type::f32 || c->t != type::f32 || c->n_elements() != 1) continue;
        float count;
        std::memcpy(&count, c->data, 4);
        std::vector<float> e(static_cast<size_t>(t.n_elements()));
        std::memcpy(e.data(), t.data, e.size() * 4);
        for (float& v : e) v = count > 0 ? v / count : v;
        out[name] = std::move(e);
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// Golden: de-quantized sha256 of every tensor of our types equals llama.cpp's.

class iquants_golden : public ::testing::TestWithParam<const char*> {};

TEST_P(iquants_golden, DequantSha256MatchesLlamaCpp) {
    const std::string file = GetParam();
    const std::string report_path = vectors_path("dequant-report.json");
    if (!test::file_exists(vectors_path(file)) || !test::file_exists(report_path))
        GTEST_SKIP() << "shared ggml-vectors missing";
    std::ifstream in(report_path);
    const auto report = nlohmann::json::parse(in);
    ASSERT_TRUE(report.contains(file));
    const gguf_file f = gguf_file::open(vectors_path(file));
    int checked = 0;
    for (const auto& t : f.tensors()) {
        if (t.t == type::f32) continue;
        ASSERT_TRUE(report[file].contains(t.name)) << t.name;
        for (bool ref : {true, false}) {
            const std::vector<float> y = decode_tensor(t, ref);
            EXPECT_EQ(sha256_hex(y.data(), y.size() * 4), report[file][t.name]["dequant_f32_sha256"].get<std::string>())
                << file << " " << t.name << " (" << type_name(t.t) << ", " << (ref ? "scalar ref" : "dispatched") << ")";
        }
        ++checked;
    }
    EXPECT_EQ(checked, 16);
}

INSTANTIATE_TEST_SUITE_P(files, iquants_golden,
                         ::testing::Values("synth-llama-256-IQ4_NL.gguf", "synth-llama-256-IQ4_XS.gguf",
                                           "synth-llama-256-IQ3_S.gguf", "synth-llama-256-IQ3_XXS-imat.gguf",
                                           "synth-llama-256-TQ1_0.gguf", "synth-llama-256-TQ2_0.gguf"));

// ------------------------------------------------------------------------------------------------
// Encoders byte-exact with llama-quantize: quantizing the F32 model gives the file's bytes (with the
// imatrix for the -imat file, as llama-quantize used it; tensors it has no entry for went without).
// For IQ3_S / IQ3_XXS this also settles reconstruction quality: equal bytes, equal error.

struct file_case {
    const char* file;
    bool use_imatrix;
};

// importance for `name`, or null when not wanted or not in the imatrix.
const float* find_importance(const std::map<std::string, std::vector<float>>& imatrix, const std::string& name,
                             bool use_imatrix) {
    if (!use_imatrix) return nullptr;
    auto it = imatrix.find(name);
    return it == imatrix.end() ? nullptr : it->second.data();
}

class iquants_encode_exact : public ::testing::TestWithParam<file_case> {};

TEST_P(iquants_encode_exact, QuantizeF32GivesLlamaCppBytes) {
    const file_case fc = GetParam();
    const std::string file = fc.file;
    if (!test::file_exists(vectors_path(file)) || !test::file_exists(vectors_path("synth-llama-256-f32.gguf")) ||
        !test::file_exists(vectors_path("synth.imatrix.gguf")))
        GTEST_SKIP() << "shared ggml-vectors missing";
    const gguf_file ref = gguf_file::open(vectors_path(file));
    const gguf_file src = gguf_file::open(vectors_path("synth-llama-256-f32.gguf"));
    const auto imatrix = load_imatrix(vectors_path("synth.imatrix.gguf"));
    int checked = 0;
    for (const auto& t : ref.tensors()) {
        if (t.t == type::f32) continue;
        const tensor_info* s = src.find_tensor(t.name);
        ASSERT_NE(s, nullptr) << t.name;
        ASSERT_EQ(s->t, type::f32);
        const float* importance = find_importance(imatrix, t.name, fc.use_imatrix);
        if (importance) {
            ASSERT_EQ(static_cast<int64_t>(imatrix.at(t.name).size()), s->row_len());
        }
        const std::vector<uint8_t> got = encode_tensor(t.t, *s, importance);
        ASSERT_EQ(got.size(), t.n_bytes) << t.name;
        size_t first_diff = got.size();
        size_t n_diff = 0;
        for (size_t i = 0; i < got.size(); ++i)
            if (got[i] != t.data[i]) {
                if (first_diff == got.size()) first_diff = i;
                ++n_diff;
            }
        EXPECT_EQ(n_diff, 0u) << file << " " << t.name << (importance ? " (imatrix)" : "") << ": " << n_diff
                              << " bytes differ, first at " << first_diff << " (block "
                              << first_diff / traits(t.t).block_bytes << ")";
        ++checked;
    }
    EXPECT_EQ(checked, 16);
}

INSTANTIATE_TEST_SUITE_P(files, iquants_encode_exact,
                         ::testing::Values(file_case{"synth-llama-256-IQ4_NL.gguf", false},
                                           file_case{"synth-llama-256-IQ4_XS.gguf", false},
                                           file_case{"synth-llama-256-IQ3_S.gguf", false},
                                           file_case{"synth-llama-256-IQ3_XXS-imat.gguf", true},
                                           file_case{"synth-llama-256-TQ1_0.gguf", false},
                                           file_case{"synth-llama-256-TQ2_0.gguf", false}));

// ------------------------------------------------------------------------------------------------
// Round trips on seeded random data.

std::vector<float> random_weights(size_t n, uint32_t seed, float outlier_scale = 8.f) {
    std::mt19937 rng(seed);
    std::student_t_distribution<float> dist(4.f);
    std::vector<float> x(n);
    for (auto& v : x) v = 0.02f * dist(rng);
    for (size_t i = 0; i < n; i += 97) x[i] *= outlier_scale;
    return x;
}

// Relative RMSE bounds (rmse / rms(x)) on Student-t(4) data with 8x outliers, ~20% above the worst
// figures measured on these seeds (IQ4 <= 0.115, IQ3_S <= 0.233, IQ3_XXS <= 0.289 without an
// importance; ternary: amax scaling of heavy-tailed data loses most small weights).
double max_relative_rmse(type t) {
    switch (t) {
        case type::iq4_nl: return 0.14;
        case type::iq4_xs: return 0.14;
        case type::iq3_s: return 0.28;
        case type::iq3_xxs: return 0.35;
        case type::tq1_0:
        case type::tq2_0: return 1.0;
        default: return 0;
    }
}

TEST(iquants_roundtrip, RandomRowsWithAndWithoutImportance) {
    for (type t : k_my_types) {
        const auto& tr = traits(t);
        for (int64_t n : {tr.block_size, 3 * tr.block_size, 2048 + tr.block_size}) {
            const uint32_t seed = 1234u + static_cast<uint32_t>(n) + static_cast<uint32_t>(t) * 7919u;
            const std::vector<float> x = random_weights(static_cast<size_t>(n), seed);
            std::vector<float> importance(static_cast<size_t>(n));
            std::mt19937 rng(seed ^ 0x9e3779b9u);
            std::uniform_real_distribution<float> u(0.1f, 4.f);
            for (auto& v : importance) v = u(rng);
            double rms = 0;
            for (float v : x) rms += static_cast<double>(v) * v;
            rms = std::sqrt(rms / n);
            for (const float* imp : {static_cast<const float*>(nullptr), static_cast<const float*>(importance.data())}) {
                const size_t rb = row_bytes(t, n);
                std::vector<uint8_t> q(rb + 16, 0xA5);
                quantize_row(t, x.data(), q.data(), n, imp);
                for (size_t i = rb; i < q.size(); ++i) ASSERT_EQ(q[i], 0xA5) << tr.name << " wrote past the row";
                std::vector<float> y(static_cast<size_t>(n) + 8, -12345.f);
                tr.to_float(q.data(), y.data(), n);
                for (size_t i = static_cast<size_t>(n); i < y.size(); ++i) ASSERT_EQ(y[i], -12345.f);
                double e = 0;
                for (int64_t i = 0; i < n; ++i) {
                    ASSERT_TRUE(std::isfinite(y[i])) << tr.name << " n=" << n << " i=" << i;
                    e += (static_cast<double>(y[i]) - x[i]) * (static_cast<double>(y[i]) - x[i]);
                }
                const double rel = std::sqrt(e / n) / rms;
                EXPECT_LT(rel, max_relative_rmse(t))
                    << tr.name << " n=" << n << " seed=" << seed << (imp ? " with" : " without") << " importance";
                // Encoding is deterministic and decoding what we encoded re-encodes... to a valid block.
                std::vector<uint8_t> q2(rb, 0);
                quantize_row(t, x.data(), q2.data(), n, imp);
                EXPECT_EQ(0, std::memcmp(q.data(), q2.data(), rb)) << tr.name << " encoder not deterministic";
            }
        }
    }
}

TEST(iquants_roundtrip, ImportanceLowersWeightedError) {
    // Columns with high importance must be reconstructed better when the importance is given.
    for (type t : {type::iq4_nl, type::iq4_xs, type::iq3_s, type::iq3_xxs}) {
        const int64_t n = 4096;
        const std::vector<float> x = random_weights(n, 77u + static_cast<uint32_t>(t));
        std::vector<float> importance(n, 0.01f);
        for (int64_t i = 0; i < n; i += 5) importance[i] = 100.f;
        auto weighted_error = [&](const float* imp) {
            std::vector<uint8_t> q(row_bytes(t, n));
            quantize_row(t, x.data(), q.data(), n, imp);
            std::vector<float> y(n);
            dequantize_row(t, q.data(), y.data(), n);
            double e = 0;
            for (int64_t i = 0; i < n; ++i) e += importance[i] * (static_cast<double>(y[i]) - x[i]) * (y[i] - x[i]);
            return e;
        };
        EXPECT_LT(weighted_error(importance.data()), 0.9 * weighted_error(nullptr)) << type_name(t);
    }
}

TEST(iquants_roundtrip, ZeroAndConstantBlocks) {
    for (type t : k_my_types) {
        const auto& tr = traits(t);
        const int64_t n = 2 * std::max<int64_t>(tr.block_size, 256);
        std::vector<float> x(n, 0.f);
        // Second half: one non-zero value per 32 so that some sub-blocks are all zero.
        for (int64_t i = n / 2; i < n; i += 64) x[i] = (i % 128 == 0) ? 0.5f : -0.5f;
        std::vector<uint8_t> q(row_bytes(t, n));
        quantize_row(t, x.data(), q.data(), n, nullptr);
        std::vector<float> y(n, 99.f);
        tr.to_float(q.data(), y.data(), n);
        for (int64_t i = 0; i < n; ++i) {
            ASSERT_TRUE(std::isfinite(y[i])) << tr.name << " i=" << i;
            // All-zero super-blocks decode to exact zeros; sparse ones stay close (the IQ3 lattices
            // have no zero level: their smallest magnitude is the sub-block scale).
            if (i < n / 2) {
                EXPECT_EQ(y[i], 0.f) << tr.name << " i=" << i;
            }
            const bool lattice = t == type::iq3_s || t == type::iq3_xxs;
            EXPECT_NEAR(y[i], x[i], lattice ? 0.15 : 0.08) << tr.name << " i=" << i;
        }
    }
}

TEST(iquants_roundtrip, TernaryValuesAreExact) {
    // Data already in {-a, 0, a} survive TQ1_0 / TQ2_0 exactly (a representable in fp16).
    for (type t : {type::tq1_0, type::tq2_0}) {
        const int64_t n = 512;
        std::vector<float> x(n);
        std::mt19937 rng(5);
        for (auto& v : x) v = 0.75f * static_cast<float>(static_cast<int>(rng() % 3) - 1);
        x[3] = 0.75f;
        std::vector<uint8_t> q(row_bytes(t, n));
        quantize_row(t, x.data(), q.data(), n, nullptr);
        std::vector<float> y(n);
        dequantize_row(t, q.data(), y.data(), n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i]) << type_name(t) << " i=" << i;
    }
}

TEST(iquants_grids, GridsAreOnTheDocumentedLevels) {
    // IQ3_XXS lanes in {4,12,...,52,62}, IQ3_S lanes odd 1..15, all points distinct.
    std::vector<int> codes;
    for (uint32_t g : k_iq3xxs_grid) {
        int code = 0;
        for (int i = 0; i < 4; ++i) {
            const int v = iq_grid_lane(g, i);
            EXPECT_TRUE(v == 62 || (v % 8 == 4 && v <= 52)) << v;
            code |= (v / 8) << 3 * i;
        }
        codes.push_back(code);
    }
    EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
    EXPECT_EQ(std::adjacent_find(codes.begin(), codes.end()), codes.end());
    codes.clear();
    for (uint32_t g : k_iq3s_grid) {
        int code = 0;
        for (int i = 0; i < 4; ++i) {
            const int v = iq_grid_lane(g, i);
            EXPECT_TRUE(v % 2 == 1 && v <= 15) << v;
            code |= ((v - 1) / 2) << 3 * i;
        }
        codes.push_back(code);
    }
    EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
    EXPECT_EQ(std::adjacent_find(codes.begin(), codes.end()), codes.end());
    for (int i = 0; i < 128; ++i) EXPECT_EQ(k_iq_ksigns[i], i | ((__builtin_popcount(i) & 1) << 7));
}

// ------------------------------------------------------------------------------------------------
// SIMD decoders (where registered and supported) are bit-exact with the scalar reference.

TEST(iquants_simd, DecodersMatchReferenceBitExact) {
    int n_checked = 0;
    for (type t : k_my_types) {
        const auto& tr = traits(t);
        std::vector<std::pair<const char*, to_float_fn>> variants;
        if (tr.to_float_avx2 && best_isa_tier() >= isa_tier::avx2) variants.push_back({"avx2", tr.to_float_avx2});
        if (tr.to_float_avx512 && best_isa_tier() >= isa_tier::avx512) variants.push_back({"avx512", tr.to_float_avx512});
        for (const auto& [isa, fn] : variants) {
            for (int64_t nb : {1, 2, 3, 7, 17, 64}) {
                const int64_t n = nb * tr.block_size;
                const uint32_t seed = 99u + static_cast<uint32_t>(nb) * 31u + static_cast<uint32_t>(t);
                // Random bytes are valid blocks for all six types except for the fp16 scale: keep
                // it finite.
                std::mt19937 rng(seed);
                std::vector<uint8_t> q(row_bytes(t, n));
                for (auto& b : q) b = static_cast<uint8_t>(rng());
                const size_t bb = tr.block_bytes;
                for (int64_t b = 0; b < nb; ++b) {
                    const size_t d_off = (t == type::tq1_0 || t == type::tq2_0) ? bb - 2 : 0;
                    const uint16_t d = static_cast<uint16_t>(0x2000 + rng() % 0x1800) | (rng() & 1 ? 0x8000 : 0);
                    std::memcpy(q.data() + b * bb + d_off, &d, 2);
                }
                std::vector<float> want(n + 8, -7.f), got(n + 8, -7.f);
                tr.to_float(q.data(), want.data(), n);
                fn(q.data(), got.data(), n);
                for (int64_t i = 0; i < n + 8; ++i) {
                    uint32_t a, b;
                    std::memcpy(&a, &want[i], 4);
                    std::memcpy(&b, &got[i], 4);
                    ASSERT_EQ(a, b) << tr.name << " " << isa << " n=" << n << " seed=" << seed << " i=" << i
                                    << " expected " << want[i] << " got " << got[i];
                }
                ++n_checked;
            }
        }
    }
    if (n_checked == 0) GTEST_SKIP() << "no SIMD decoders registered or supported";
}

}  // namespace
}  // namespace lowbit
