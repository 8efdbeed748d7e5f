// `lowbit recipe run` and `lowbit sweep` from the command line: exit codes, one-line errors naming
// file:line and key, byte-identical reruns, gate failures, the shipped example recipes.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.hpp"

using lowbit::test::run_cli;
using lowbit::test::shared_path;

namespace {

std::string write_text(const std::string& path, const std::string& s) {
    lowbit::test::write_file(path, s.data(), s.size());
    return path;
}

std::string recipe_body(const std::string& out, const std::string& type, const std::string& gate) {
    return "model = \"" + shared_path("models/stories260K/stories260K-f32.gguf") + "\"\noutput = \"" + out +
           "\"\nthreads = 2\n[quantize]\ntype = \"" + type + "\"\n[eval]\ntexts = [\"" +
           shared_path("data/tinystories_valid_first200.txt") + "\"]\nctx = 128\nmax_units = 3\ngate = \"" + gate + "\"\n";
}

bool have_model() { return lowbit::test::file_exists(shared_path("models/stories260K/stories260K-f32.gguf")); }

}  // namespace

TEST(RecipeCli, BadRecipeFailsWithFileLineAndKey) {
    const auto dir = lowbit::test::temp_dir();
    const auto f = write_text(dir + "/bad.toml", "model = \"m.gguf\"\noutput = \"o.gguf\"\n[quantize]\ntpye = \"q4_0\"\n");
    const auto r = run_cli("recipe run " + f);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("lowbit: " + f + ":4: unknown key 'quantize.tpye'"), std::string::npos) << r.out;
    const auto g = write_text(dir + "/gptq.toml", "model = \"m.gguf\"\noutput = \"o.gguf\"\n[quantize]\nmethod = \"gptq\"\n");
    const auto r2 = run_cli("recipe run --check " + g);
    EXPECT_EQ(r2.exit_code, 1) << r2.out;
    EXPECT_NE(r2.out.find("needs calibration text"), std::string::npos) << r2.out;
    EXPECT_EQ(run_cli("recipe run " + dir + "/missing.toml").exit_code, 1);
    EXPECT_EQ(run_cli("recipe").exit_code, 2);  // usage
}

TEST(RecipeCli, ExamplesParse) {
    for (const char* e : {"stories260K-q4_k_m.toml", "stories260K-int4_g32.toml"}) {
        const auto r = run_cli(std::string("recipe run --check ") + LOWBIT_SOURCE_DIR + "/examples/" + e);
        EXPECT_EQ(r.exit_code, 0) << e << ": " << r.out;
        EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;
    }
}

TEST(RecipeCli, RerunIsByteIdenticalAndGateFailureExitsOne) {
    if (!have_model()) GTEST_SKIP() << "needs ../shared/models/stories260K";
    const auto dir = lowbit::test::temp_dir();
    const auto a = write_text(dir + "/a.toml", recipe_body(dir + "/a.gguf", "q4_k_m", "kld<=0.5"));
    const auto b = write_text(dir + "/b.toml", recipe_body(dir + "/b.gguf", "q4_k_m", "kld<=0.5"));
    const auto ra = run_cli("recipe run -q " + a);
    const auto rb = run_cli("recipe run -q " + b);
    ASSERT_EQ(ra.exit_code, 0) << ra.out;
    ASSERT_EQ(rb.exit_code, 0) << rb.out;
    const auto fa = lowbit::test::read_file(dir + "/a.gguf");
    EXPECT_GT(fa.size(), 100000u);
    EXPECT_EQ(fa, lowbit::test::read_file(dir + "/b.gguf"));
    const auto c = write_text(dir + "/c.toml", recipe_body(dir + "/c.gguf", "q2_k", "kld<=0.0000001"));
    const auto rc = run_cli("recipe run -q " + c);
    EXPECT_EQ(rc.exit_code, 1) << rc.out;
    EXPECT_NE(rc.out.find("gate: FAILED"), std::string::npos) << rc.out;
    EXPECT_NE(rc.out.find("lowbit: gate failed"), std::string::npos) << rc.out;
    // --json carries the output hash and the verdict.
    const auto rj = run_cli("recipe run --json " + a);
    EXPECT_EQ(rj.exit_code, 0);
    EXPECT_NE(rj.out.find("\"passed\": true"), std::string::npos) << rj.out;
}

TEST(SweepCli, WritesJsonAndHtml) {
    if (!have_model()) GTEST_SKIP() << "needs ../shared/models/stories260K";
    const auto dir = lowbit::test::temp_dir() + "/sw";
    const auto r = run_cli("sweep -q " + shared_path("models/stories260K/stories260K-f32.gguf") +
                           " --types q8_0,int4_g32 --text " + shared_path("data/tinystories_valid_first200.txt") +
                           " -c 128 --max-units 2 -t 2 -o " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(lowbit::test::file_exists(dir + "/report.json"));
    EXPECT_TRUE(lowbit::test::file_exists(dir + "/report.html"));
    EXPECT_TRUE(lowbit::test::file_exists(dir + "/int4_g32-rtn.gguf"));
    const auto bad = run_cli("sweep -q " + shared_path("models/stories260K/stories260K-f32.gguf") + " --types q4_0 --methods gptqq --text " +
                             shared_path("data/tinystories_valid_first200.txt") + " -o " + dir);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.out.find("unknown method 'gptqq'"), std::string::npos) << bad.out;
}
