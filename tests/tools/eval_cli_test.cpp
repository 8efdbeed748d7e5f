// `lowbit eval`, `lowbit run`, `lowbit bench` end to end: JSON output, gates and exit codes, seeded
// sampling, and one-line errors for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "test_util.hpp"

namespace lowbit {
namespace {

std::string model() { return test::shared_path("models/stories260K/stories260K-f32.gguf"); }

class EvalCli : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string stories = test::shared_path("data/tinystories_valid_first200.txt");
        if (!test::file_exists(model()) || !test::file_exists(stories)) GTEST_SKIP() << "shared files missing";
        std::ifstream f(stories);
        std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        size_t pos = 0;
        for (int i = 0; i < 6; ++i) pos = all.find("<|endoftext|>\n", pos) + 14;
        dir = test::temp_dir();
        text = dir + "/short.txt";
        text2 = dir + "/short2.txt";
        test::write_file(text, all.data(), pos);
        test::write_file(text2, all.data() + pos, pos);
    }
    std::string q(const std::string& s) { return "'" + s + "'"; }
    std::string dir, text, text2;
};

// The last line of the output (errors are one line: "lowbit: ...").
std::string last_line(const std::string& out) {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
}

TEST_F(EvalCli, JsonReportWithReferenceAndPassingGate) {
    const auto r = test::run_cli("eval " + q(model()) + " " + q(text) + " " + q(text2) + " -c 64 -t 2 --gen 8 --reference " +
                                 q(model()) + " --gate 'kld<=0.02,top1>=0.9' --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["context"]["threads"], 2);
    EXPECT_FALSE(j["context"]["cpu"].get<std::string>().empty());
    EXPECT_EQ(j["model"]["params"], 292800);
    EXPECT_DOUBLE_EQ(j["model"]["bits_per_weight"].get<double>(), 32.0);
    ASSERT_EQ(j["files"].size(), 2u);
    for (const auto& f : j["files"]) {
        EXPECT_GT(f["ppl"].get<double>(), 1.0);
        EXPECT_EQ(f["kld"]["mean"].get<double>(), 0.0);
        EXPECT_EQ(f["top1"]["mean"].get<double>(), 1.0);
    }
    EXPECT_GT(j["prompt_tokens_per_s"].get<double>(), 0.0);
    EXPECT_GT(j["gen_tokens_per_s"].get<double>(), 0.0);
    EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0.0);
    EXPECT_TRUE(j["gate"]["passed"].get<bool>());
}

TEST_F(EvalCli, TableAndFailingGate) {
    const auto ok = test::run_cli("eval " + q(model()) + " " + q(text) + " -c 64 --gen 0");
    ASSERT_EQ(ok.exit_code, 0) << ok.out;
    EXPECT_NE(ok.out.find("PPL"), std::string::npos);
    EXPECT_NE(ok.out.find("short.txt"), std::string::npos);
    const auto bad = test::run_cli("eval " + q(model()) + " " + q(text) + " -c 64 --gen 0 --gate 'ppl<1.5'");
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_NE(bad.out.find("gate: FAILED"), std::string::npos) << bad.out;
    EXPECT_NE(last_line(bad.out).find("lowbit: gate failed"), std::string::npos) << bad.out;
}

TEST_F(EvalCli, DocumentsProtocol) {
    const auto r = test::run_cli("eval " + q(model()) + " " + q(text) + " --protocol documents --gen 0 --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["protocol"], "documents");
    EXPECT_EQ(j["files"][0]["units"], 6);
}

TEST_F(EvalCli, BadInputGivesOneLineErrors) {
    struct bad {
        std::string args, expect;
    };
    const std::string empty = dir + "/empty.txt";
    test::write_file(empty, "", 0);
    const std::string tiny = dir + "/tiny.txt";
    test::write_file(tiny, "Once upon a time there was a cat.\n", 34);
    const bad cases[] = {
        {"eval " + q(dir + "/missing.gguf") + " " + q(text), "missing.gguf"},
        {"eval " + q(model()) + " " + q(dir + "/missing.txt"), "missing.txt"},
        {"eval " + q(model()) + " " + q(empty), "empty"},
        {"eval " + q(model()) + " " + q(text) + " -c 1024", "exceeds the model's context length 512"},
        {"eval " + q(model()) + " " + q(text) + " --gate 'kld<<0.1'", "gate"},
        {"eval " + q(model()) + " " + q(text) + " --gate 'speed>=3'", "unknown metric 'speed'"},
        {"eval " + q(model()) + " " + q(text) + " --gate 'kld<=0.1'", "needs a reference"},
        {"eval " + q(model()) + " " + q(text) + " --protocol lines", "unknown protocol"},
        {"eval " + q(model()) + " " + q(tiny) + " -c 64", "tokenizes to"},
    };
    for (const auto& c : cases) {
        const auto r = test::run_cli(c.args);
        EXPECT_NE(r.exit_code, 0) << c.args;
        const std::string line = last_line(r.out);
        EXPECT_EQ(line.rfind("lowbit: ", 0), 0u) << c.args << "\n" << r.out;
        EXPECT_NE(line.find(c.expect), std::string::npos) << c.args << "\n" << r.out;
    }
}

TEST_F(EvalCli, RunIsDeterministicWithASeed) {
    const std::string cmd = "run " + q(model()) + " -p 'Once upon a time' -n 30 --temp 1.0 -q --seed ";
    const auto a = test::run_cli(cmd + "42");
    const auto b = test::run_cli(cmd + "42");
    const auto c = test::run_cli(cmd + "43");
    ASSERT_EQ(a.exit_code, 0) << a.out;
    EXPECT_EQ(a.out, b.out);
    EXPECT_NE(a.out, c.out);
    EXPECT_EQ(a.out.rfind("Once upon a time", 0), 0u) << a.out;
    EXPECT_GT(a.out.size(), std::string("Once upon a time").size() + 20);
    // Greedy decoding needs no seed.
    const auto g1 = test::run_cli("run " + q(model()) + " -p 'Once upon a time' -n 20 --temp 0 -q --seed 1");
    const auto g2 = test::run_cli("run " + q(model()) + " -p 'Once upon a time' -n 20 --temp 0 -q --seed 2");
    EXPECT_EQ(g1.out, g2.out);
}

TEST_F(EvalCli, BenchJson) {
    const auto r = test::run_cli("bench " + q(model()) + " -p 32 -n 8 -r 2 -t 1 --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["test"], "pp32");
    EXPECT_EQ(j["results"][1]["test"], "tg8");
    EXPECT_GT(j["results"][0]["tokens_per_s"].get<double>(), 0.0);
    EXPECT_EQ(j["results"][1]["samples"].size(), 2u);
    // -d: the same tests after 40 tokens of context, named as llama-bench names them.
    const auto d = test::run_cli("bench " + q(model()) + " -p 16 -n 4 -d 40 -r 1 -t 2 --json");
    ASSERT_EQ(d.exit_code, 0) << d.out;
    const auto jd = nlohmann::json::parse(d.out);
    ASSERT_EQ(jd["results"].size(), 2u);
    EXPECT_EQ(jd["results"][0]["test"], "pp16 @ d40");
    EXPECT_EQ(jd["results"][1]["test"], "tg4 @ d40");
    EXPECT_EQ(jd["results"][1]["depth"], 40);
    EXPECT_GT(jd["results"][1]["tokens_per_s"].get<double>(), 0.0);
    EXPECT_NE(test::run_cli("bench " + q(model()) + " -p 16 -n 4 -d -3 -r 1").exit_code, 0);
}

}  // namespace
}  // namespace lowbit
