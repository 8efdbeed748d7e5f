// Golden oracle for every GGUF tensor type: ../shared/ggml-vectors holds a model quantized by
// llama.cpp to each type, and dequant-report.json the sha256 of each tensor de-quantized by ggml's own
// to_float (float32, little-endian, row-major), its first 8 values and their sum.
//
//   Dequant/GgmlVectors.MatchesReport/<TYPE>   decoders are bit-exact (dispatched and scalar ref)
//   Encode/GgmlVectorsEncode.MatchesFileBytes/<TYPE>
//                                              encoders are byte-exact: quantizing the F32 model's
//                                              tensor gives the file's bytes (non-imatrix files of
//                                              legacy and K types, plus F16/BF16)
//
// Types whose implementation has not landed fail here by design; the failure names file, tensor,
// type and what differed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/sha256.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/types.hpp"
#include "test_util.hpp"

namespace {

using nlohmann::json;

const std::string k_dir = "ggml-vectors";
const std::string k_prefix = "synth-llama-256-";
const std::string k_f32_file = "synth-llama-256-f32.gguf";

std::string vectors_path(const std::string& file) {
    return lowbit::test::shared_path(k_dir + "/" + file);
}

const json& report() {
    static const json r = [] {
        const std::string p = vectors_path("dequant-report.json");
        if (!lowbit::test::file_exists(p)) return json::object();
        std::ifstream f(p);
        return json::parse(f);
    }();
    return r;
}

// "synth-llama-256-Q4_K_S-imat.gguf" -> "Q4_K_S_imat" (a valid gtest name, obvious to read).
std::string label_of(const std::string& file) {
    std::string s = file;
    if (s.rfind(k_prefix, 0) == 0) s = s.substr(k_prefix.size());
    if (s.size() > 5 && s.substr(s.size() - 5) == ".gguf") s.resize(s.size() - 5);
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return s;
}

// Every file in the report; one placeholder ("") when shared data is missing, which skips.
std::vector<std::string> report_files() {
    std::vector<std::string> files;
    for (auto it = report().begin(); it != report().end(); ++it) files.push_back(it.key());
    if (files.empty()) files.push_back("");
    return files;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool is_imatrix_file(const std::string& file) { return file.find("-imat") != std::string::npos; }

// Files whose bytes come from the deterministic reference encoders (no imatrix; legacy/K/float types).
std::vector<std::string> encode_files() {
    static const std::set<std::string> k_types = {"F16",  "BF16", "Q8_0",   "Q5_0",   "Q5_1",   "Q4_0",
                                                  "Q4_1", "Q6_K", "Q5_K_S", "Q4_K_S", "Q3_K_S", "Q2_K"};
    std::vector<std::string> files;
    for (const auto& f : report_files()) {
        if (f.empty() || is_imatrix_file(f)) continue;
        std::string t = f.substr(k_prefix.size());
        t.resize(t.size() - 5);
        if (k_types.count(t)) files.push_back(f);
    }
    if (files.empty()) files.push_back("");
    return files;
}

std::string param_name(const testing::TestParamInfo<std::string>& info) {
    return info.param.empty() ? std::string("no_shared_data") : label_of(info.param);
}

struct decode_result {
    std::string sha;
    std::vector<float> first8;
    double sum = 0;
};

// De-quantizes `t` row by row with `decode` and hashes the float32 values.
template <typename Decode>
decode_result decode_tensor(const lowbit::tensor_info& t, Decode decode) {
    const int64_t n = t.row_len();
    const size_t rb = lowbit::row_bytes(t.t, n);
    std::vector<float> row(static_cast<size_t>(n));
    lowbit::sha256 h;
    decode_result r;
    for (int64_t i = 0; i < t.n_rows(); ++i) {
        std::fill(row.begin(), row.end(), std::nanf("0x5e"));  // sentinel: unwritten values show
        decode(t.t, t.data + static_cast<size_t>(i) * rb, row.data(), n);
        h.update(row.data(), row.size() * sizeof(float));
        for (float v : row) {
            if (r.first8.size() < 8) r.first8.push_back(v);
            r.sum += v;
        }
    }
    r.sha = h.hex_digest();
    return r;
}

// Compares one decode against the report entry; returns "" when it matches, else what differed.
std::string compare(const decode_result& got, const json& want) {
    std::string msg;
    if (got.sha != want.at("dequant_f32_sha256").get<std::string>())
        msg += "sha256 " + got.sha + " != " + want.at("dequant_f32_sha256").get<std::string>() + "; ";
    const auto& f8 = want.at("first8");
    for (size_t i = 0; i < f8.size() && i < got.first8.size(); ++i) {
        const float w = f8[i].get<float>();
        if (std::memcmp(&w, &got.first8[i], 4) != 0 && !(w == 0 && got.first8[i] == 0)) {
            msg += "first8[" + std::to_string(i) + "] " + std::to_string(got.first8[i]) + " != " +
                   std::to_string(w) + "; ";
            break;
        }
    }
    const double ws = want.at("sum").get<double>();
    if (!(std::fabs(got.sum - ws) <= 1e-3 * (1.0 + std::fabs(ws))))
        msg += "sum " + std::to_string(got.sum) + " != " + std::to_string(ws) + "; ";
    return msg;
}

class GgmlVectors : public testing::TestWithParam<std::string> {};

TEST_P(GgmlVectors, MatchesReport) {
    const std::string file = GetParam();
    if (file.empty() || !lowbit::test::file_exists(vectors_path(file)))
        GTEST_SKIP() << "shared ggml-vectors missing under " << lowbit::test::shared_dir();
    const auto g = lowbit::gguf_file::open(vectors_path(file));
    const json& entries = report().at(file);
    int n_checked = 0;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        const std::string& name = it.key();
        const json& want = it.value();
        const lowbit::tensor_info* t = g.find_tensor(name);
        ASSERT_NE(t, nullptr) << file << ": tensor '" << name << "' in the report is missing from the file";
        const std::string tname = lowbit::type_name(t->t);
        ASSERT_EQ(upper(tname), want.at("type").get<std::string>())
            << file << " '" << name << "'";
        std::vector<int64_t> shape = want.at("shape").get<std::vector<int64_t>>();
        ASSERT_EQ(t->shape, shape) << file << " '" << name << "'";
        const std::string where = file + " tensor '" + name + "' (" + tname + ")";
        for (int pass = 0; pass < 2; ++pass) {
            const char* how = pass == 0 ? "dequantize_row (dispatched)" : "traits().to_float (scalar ref)";
            try {
                decode_result r = pass == 0 ? decode_tensor(*t,
                                                            [](lowbit::type ty, const void* s, float* d, int64_t n) {
                                                                lowbit::dequantize_row(ty, s, d, n);
                                                            })
                                            : decode_tensor(*t, [](lowbit::type ty, const void* s, float* d, int64_t n) {
                                                  lowbit::traits(ty).to_float(s, d, n);
                                              });
                const std::string diff = compare(r, want);
                EXPECT_TRUE(diff.empty()) << where << " via " << how << ": " << diff;
            } catch (const lowbit::error& e) {
                ADD_FAILURE() << where << " via " << how << " threw: " << e.what();
            }
        }
        ++n_checked;
    }
    EXPECT_GT(n_checked, 0) << file;
}

INSTANTIATE_TEST_SUITE_P(Dequant, GgmlVectors, testing::ValuesIn(report_files()), param_name);

class GgmlVectorsEncode : public testing::TestWithParam<std::string> {};

TEST_P(GgmlVectorsEncode, MatchesFileBytes) {
    const std::string file = GetParam();
    if (file.empty() || !lowbit::test::file_exists(vectors_path(file)) ||
        !lowbit::test::file_exists(vectors_path(k_f32_file)))
        GTEST_SKIP() << "shared ggml-vectors missing under " << lowbit::test::shared_dir();
    const auto g = lowbit::gguf_file::open(vectors_path(file));
    const auto src = lowbit::gguf_file::open(vectors_path(k_f32_file));
    int n_checked = 0;
    for (const auto& t : g.tensors()) {
        const lowbit::tensor_info* s = src.find_tensor(t.name);
        ASSERT_NE(s, nullptr) << k_f32_file << " lacks tensor '" << t.name << "'";
        ASSERT_EQ(s->t, lowbit::type::f32) << k_f32_file << " '" << t.name << "'";
        ASSERT_EQ(s->shape, t.shape) << file << " '" << t.name << "'";
        const std::string where = file + " tensor '" + t.name + "' (" + lowbit::type_name(t.t) + ")";
        const int64_t n = t.row_len();
        const size_t rb = lowbit::row_bytes(t.t, n);
        ASSERT_EQ(rb * static_cast<size_t>(t.n_rows()), t.n_bytes) << where;
        std::vector<uint8_t> out(rb);
        const auto* x = reinterpret_cast<const float*>(s->data);
        try {
            for (int64_t r = 0; r < t.n_rows(); ++r) {
                std::fill(out.begin(), out.end(), uint8_t{0xA5});
                lowbit::quantize_row(t.t, x + r * n, out.data(), n, nullptr);
                const uint8_t* want = t.data + static_cast<size_t>(r) * rb;
                if (std::memcmp(out.data(), want, rb) != 0) {
                    size_t b = 0;
                    while (out[b] == want[b]) ++b;
                    ADD_FAILURE() << where << ": row " << r << " byte " << b << " (block "
                                  << b / lowbit::traits(t.t).block_bytes << ") is " << int(out[b])
                                  << ", file has " << int(want[b]);
                    break;
                }
            }
        } catch (const lowbit::error& e) {
            ADD_FAILURE() << where << ": quantize_row threw: " << e.what();
        }
        ++n_checked;
    }
    EXPECT_GT(n_checked, 0) << file;
}

INSTANTIATE_TEST_SUITE_P(Encode, GgmlVectorsEncode, testing::ValuesIn(encode_files()), param_name);

}  // namespace
