// --method mse encoders: valid bytes for the formats' decoders, never a larger weighted error than the
// reference (RTN) encoder on any group, a real gain on heavy-tailed data, importance weighting, and
// the pipeline switch (rtn stays the default and byte-identical to the reference encoders).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "formats/lowbit_formats.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "lowbit/quantize.hpp"
#include "quant/mse.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

std::vector<float> heavy_tailed(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::student_t_distribution<float> t(3.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = 0.02f * t(rng);
    return x;
}

std::vector<type> mse_types() {
    using namespace ext_type;
    return {int8_g32, int4_g32, int3_g32, int2_g32, int4_g64_asym, int3_g128, int4_pc, int2_pc_asym, int3_g32_asym,
            nf4, fp4_e2m1};
}

TEST(Mse, NeverWorseThanRtnPerRowAndBetterOverall) {
    for (type t : mse_types()) {
        for (int64_t n : {1, 31, 100, 256, 1000}) {
            const uint64_t seed = 1000 + static_cast<uint64_t>(n);
            const auto x = heavy_tailed(n, seed);
            std::vector<uint8_t> a(row_bytes(t, n)), b(row_bytes(t, n));
            quantize_row(t, x.data(), a.data(), n, nullptr);
            quantize_row_mse(t, x.data(), b.data(), n, nullptr);
            const double e_rtn = weighted_sq_error(t, x.data(), a.data(), n, nullptr);
            const double e_mse = weighted_sq_error(t, x.data(), b.data(), n, nullptr);
            // Group candidates include RTN's own grid, so the row error cannot grow (float rounding aside).
            EXPECT_LE(e_mse, e_rtn * (1 + 1e-6) + 1e-12) << type_name(t) << " n=" << n << " seed=" << seed;
        }
        const int64_t n = 4096;
        const auto x = heavy_tailed(n, 7);
        std::vector<uint8_t> a(row_bytes(t, n)), b(row_bytes(t, n));
        quantize_row(t, x.data(), a.data(), n, nullptr);
        quantize_row_mse(t, x.data(), b.data(), n, nullptr);
        const double gain = weighted_sq_error(t, x.data(), b.data(), n, nullptr) /
                            weighted_sq_error(t, x.data(), a.data(), n, nullptr);
        if (t != ext_type::int8_g32) { EXPECT_LT(gain, 0.97) << type_name(t); }  // clipping pays on Student-t(3)
    }
}

TEST(Mse, ImportanceShiftsErrorToUnimportantColumns) {
    const type t = ext_type::int3_g32;
    const int64_t n = 2048;
    const auto x = heavy_tailed(n, 11);
    std::vector<float> imp(static_cast<size_t>(n), 0.01f);
    for (int64_t i = 0; i < n; i += 4) imp[static_cast<size_t>(i)] = 100.0f;  // every 4th column matters
    std::vector<uint8_t> plain(row_bytes(t, n)), weighted(row_bytes(t, n));
    quantize_row_mse(t, x.data(), plain.data(), n, nullptr);
    quantize_row_mse(t, x.data(), weighted.data(), n, imp.data());
    EXPECT_LT(weighted_sq_error(t, x.data(), weighted.data(), n, imp.data()),
              0.9 * weighted_sq_error(t, x.data(), plain.data(), n, imp.data()));
}

TEST(Mse, ZeroAndConstantRowsDecodeExactly) {
    for (type t : mse_types()) {
        const int64_t n = 70;
        std::vector<float> z(n, 0.0f), y(n);
        std::vector<uint8_t> b(row_bytes(t, n));
        quantize_row_mse(t, z.data(), b.data(), n, nullptr);
        dequantize_row(t, b.data(), y.data(), n);
        for (float v : y) ASSERT_EQ(v, 0.0f) << type_name(t);
    }
    EXPECT_FALSE(mse_supported(type::q4_k));
    EXPECT_TRUE(mse_supported(ext_type::int2_g32));
}

TEST(Mse, PipelineMethodSwitch) {
    const std::string path = test::shared_path("ggml-vectors/synth-llama-256-f32.gguf");
    if (!test::file_exists(path)) GTEST_SKIP() << "missing " << path;
    const model_data in = load_model(path);
    const std::string d = test::temp_dir();
    quantize_options o;
    o.preset = "int3_g32";
    o.pure = true;
    o.threads = 2;
    quantize_model(in, d + "/rtn.gguf", o);
    o.method = quant_method::mse;
    quantize_model(in, d + "/mse.gguf", o);
    o.preset = "q4_k";
    quantize_model(in, d + "/q4k_mse.gguf", o);
    o.method = quant_method::rtn;
    quantize_model(in, d + "/q4k_rtn.gguf", o);
    const gguf_file rtn = gguf_file::open(d + "/rtn.gguf"), mse = gguf_file::open(d + "/mse.gguf");
    double e_rtn = 0, e_mse = 0;
    for (const auto& t : rtn.tensors()) {
        if (t.t == type::f32) continue;
        const model_tensor* src = in.find_tensor(t.name);
        const tensor_info* m = mse.find_tensor(t.name);
        ASSERT_TRUE(src && m && m->t == t.t);
        const int64_t n = t.row_len();
        const size_t rb = row_bytes(t.t, n);
        const auto* x = reinterpret_cast<const float*>(src->bytes.data());
        // rtn is the reference encoder, byte for byte.
        std::vector<uint8_t> ref(rb);
        for (int64_t r = 0; r < t.n_rows(); ++r) {
            quantize_row(t.t, x + r * n, ref.data(), n, nullptr);
            ASSERT_EQ(std::memcmp(ref.data(), t.data + r * rb, rb), 0) << t.name << " row " << r;
            e_rtn += weighted_sq_error(t.t, x + r * n, t.data + r * rb, n, nullptr);
            e_mse += weighted_sq_error(t.t, x + r * n, m->data + r * rb, n, nullptr);
        }
    }
    EXPECT_LT(e_mse, 0.95 * e_rtn);
    // ggml types: mse is the format's own encoder.
    const gguf_file km = gguf_file::open(d + "/q4k_mse.gguf"), kr = gguf_file::open(d + "/q4k_rtn.gguf");
    ASSERT_EQ(km.tensors().size(), kr.tensors().size());
    for (size_t i = 0; i < kr.tensors().size(); ++i) {
        ASSERT_EQ(km.tensors()[i].n_bytes, kr.tensors()[i].n_bytes);
        EXPECT_EQ(std::memcmp(km.tensors()[i].data, kr.tensors()[i].data, kr.tensors()[i].n_bytes), 0)
            << kr.tensors()[i].name;
    }
    EXPECT_EQ(km.get_string("lowbit.quantize.method"), "mse");  // recorded in the file
    EXPECT_EQ(kr.find("lowbit.quantize.method"), nullptr);
}

}  // namespace
}  // namespace lowbit
