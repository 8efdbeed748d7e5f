// `lowbit quantize` and `lowbit inspect` as a user runs them: success paths, the report, and bad input
// that must give one clear line, a non-zero exit code and no output file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace lowbit {
namespace {

std::string stories() { return test::shared_path("models/stories260K/stories260K-f32.gguf"); }

#define REQUIRE_STORIES() \
    if (!test::file_exists(stories())) GTEST_SKIP() << "missing " << stories()

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(QuantizeCli, Q4_0OnStories260KSucceeds) {
    REQUIRE_STORIES();
    const std::string out = test::temp_dir() + "/out.gguf";
    auto r = test::run_cli("quantize " + stories() + " " + out + " --type q4_0");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("bits per weight"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("MB/s"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("shape fallbacks: 6"), std::string::npos) << r.out;
    ASSERT_TRUE(std::filesystem::exists(out));

    auto j = test::run_cli("inspect " + out + " --json");
    ASSERT_EQ(j.exit_code, 0) << j.out;
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["tensors"].size(), 48u);
    EXPECT_EQ(doc["types"]["q4_0"]["tensors"], 31);
    EXPECT_EQ(doc["fallbacks"].size(), 6u);
    EXPECT_EQ(doc["metadata"]["general.file_type"], 2);
    EXPECT_FALSE(doc["requires_lowbit"].get<bool>());

    auto t = test::run_cli("inspect " + out);
    ASSERT_EQ(t.exit_code, 0);
    EXPECT_NE(t.out.find("blk.4.ffn_down.weight: q4_0 -> f16"), std::string::npos) << t.out;
}

TEST(QuantizeCli, DryRunJsonAndNoFile) {
    REQUIRE_STORIES();
    const std::string out = test::temp_dir() + "/out.gguf";
    auto r = test::run_cli("quantize " + stories() + " " + out + " --type q4_k_m --dry-run --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_GT(doc["file_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(doc["tensors"].size(), 48u);
    EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(QuantizeCli, LlamaCppInputFromLlama2cCheckpoint) {
    const std::string bin = test::shared_path("models/stories260K/stories260K.bin");
    if (!test::file_exists(bin)) GTEST_SKIP();
    const std::string out = test::temp_dir() + "/out.gguf";
    auto r = test::run_cli("quantize " + bin + " " + out + " --type q8_0 -q --tokenizer " +
                           test::shared_path("models/stories260K/tok512.bin"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto j = test::run_cli("inspect " + out + " --json");
    // 30 layer weights + token_embd + output (the output rule keeps Q8_0 for a Q8_0 preset)
    EXPECT_EQ(nlohmann::json::parse(j.out)["types"]["q8_0"]["tensors"], 32);
}

struct bad_case {
    const char* what;
    std::string args;
    const char* expect_in_message;
};

TEST(QuantizeCli, BadInputGivesOneLineAndNoOutput) {
    REQUIRE_STORIES();
    const std::string dir = test::temp_dir();
    const std::string out = dir + "/out.gguf";
    // a truncated copy and a copy with a wrong magic
    auto bytes = test::read_file(stories());
    test::write_file(dir + "/trunc.gguf", bytes.data(), bytes.size() / 3);
    bytes[0] = 'X';
    test::write_file(dir + "/magic.gguf", bytes.data(), bytes.size());
    test::write_file(dir + "/empty.gguf", "", 0);
    const std::vector<bad_case> cases = {
        {"missing input", "quantize " + dir + "/nope.gguf " + out, "nope.gguf"},
        {"truncated input", "quantize " + dir + "/trunc.gguf " + out, "trunc.gguf"},
        {"wrong magic", "quantize " + dir + "/magic.gguf " + out, "magic.gguf"},
        {"empty input", "quantize " + dir + "/empty.gguf " + out, "empty.gguf"},
        {"unknown type", "quantize " + stories() + " " + out + " --type q4_z", "q4_z"},
        {"bad override", "quantize " + stories() + " " + out + " --tensor-type attn_v", "REGEX=TYPE"},
        {"bad regex", "quantize " + stories() + " " + out + " --tensor-type '(=q8_0'", "regular expression"},
        {"unwritable output", "quantize " + stories() + " " + dir + "/no/dir/out.gguf", "no/dir/out.gguf"},
        {"output is input", "quantize " + stories() + " " + stories(), "overwrite the input"},
        {"bad fallback", "quantize " + stories() + " " + out + " --fallback nope", "--fallback"},
        {"requantize", "quantize " + test::shared_path("models/stories260K/llama.cpp-quantized/s260k-Q2_K.gguf") +
                           " " + out + " --type q8_0 --pure", "--allow-requantize"},
    };
    for (const auto& c : cases) {
        auto r = test::run_cli(c.args);
        EXPECT_EQ(r.exit_code, 1) << c.what << ": " << r.out;
        EXPECT_EQ(r.out.rfind("lowbit: ", 0), 0u) << c.what << ": " << r.out;
        EXPECT_EQ(count_lines(r.out), 1) << c.what << ": " << r.out;
        EXPECT_NE(r.out.find(c.expect_in_message), std::string::npos) << c.what << ": " << r.out;
        EXPECT_FALSE(std::filesystem::exists(out)) << c.what;
    }
    // nothing but the inputs we made is left in the directory (no temporary files)
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
    EXPECT_EQ(n, 3);
}

TEST(QuantizeCli, UsageErrorsExitTwo) {
    auto r = test::run_cli("quantize");
    EXPECT_EQ(r.exit_code, 2) << r.out;
    r = test::run_cli("no-such-command");
    EXPECT_EQ(r.exit_code, 2) << r.out;
    // Negative counts were taken silently before (bench -p -5 ran only the generation test, --threads -3
    // meant "all"): they are usage errors naming the option and its range.
    const std::string m = test::shared_path("models/stories260K/stories260K-f32.gguf");
    if (!test::file_exists(m)) GTEST_SKIP() << "missing " << m;
    for (const auto& [args, what] : std::vector<std::pair<std::string, std::string>>{
             {"bench " + m + " -p -5", "--n-prompt: Value -5 not in range 0 to"},
             {"bench " + m + " -r 0", "--repetitions: Value 0 not in range 1 to"},
             {"quantize " + m + " " + test::temp_dir() + "/o.gguf --threads -3", "--threads: Value -3 not in range"},
             {"run " + m + " -n 2 -t -1", "--threads: Value -1 not in range"}}) {
        r = test::run_cli(args);
        EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out;
        EXPECT_NE(r.out.find(what), std::string::npos) << args << "\n" << r.out;
    }
    r = test::run_cli("bench " + m + " -p 0 -n 0");  // valid options, nothing to do: an error, not an empty table
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("bench: nothing to measure"), std::string::npos) << r.out;
}

TEST(TypesCli, ListsEveryFormat) {
    auto r = test::run_cli("types --json");
    ASSERT_EQ(r.exit_code, 0);
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_GE(doc.size(), 22u);
    bool q4k = false;
    for (const auto& t : doc) q4k |= t["name"] == "q4_k";
    EXPECT_TRUE(q4k);
}

}  // namespace
}  // namespace lowbit
