// `lowbit convert`: llama2.c and safetensors inputs become GGUF files whose tensors equal llama.cpp's
// conversion of the same model; a bad input fails with one line and leaves no output behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "test_util.hpp"

namespace {

using lowbit::test::run_cli;
using lowbit::test::shared_path;

const std::string k_bin = "models/stories260K/stories260K.bin";
const std::string k_gguf = "models/stories260K/stories260K-f32.gguf";

bool have_shared() {
    return lowbit::test::file_exists(shared_path(k_bin)) && lowbit::test::file_exists(shared_path(k_gguf));
}

std::string q(const std::string& s) { return "'" + s + "'"; }

TEST(Convert, Llama2cToGgufEqualsLlamaCpp) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const std::string out = lowbit::test::temp_dir() + "/s260k.gguf";
    const auto r = run_cli("convert " + q(shared_path(k_bin)) + " " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("llama2c, 48 tensors"), std::string::npos) << r.out;

    const auto a = lowbit::gguf_file::open(out);
    const auto b = lowbit::gguf_file::open(shared_path(k_gguf));
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        const auto& x = a.tensors()[i];
        const auto& y = b.tensors()[i];
        SCOPED_TRACE(y.name);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.t, y.t);
        EXPECT_EQ(x.shape, y.shape);
        ASSERT_EQ(x.n_bytes, y.n_bytes);
        EXPECT_EQ(0, std::memcmp(x.data, y.data, y.n_bytes));
    }
    ASSERT_EQ(a.metadata().size(), b.metadata().size());
    for (size_t i = 0; i < a.metadata().size(); ++i) {
        EXPECT_EQ(a.metadata()[i].first, b.metadata()[i].first);
        EXPECT_TRUE(a.metadata()[i].second == b.metadata()[i].second) << b.metadata()[i].first;
    }
    // Same keys, order, tensors, alignment: the whole file equals llama.cpp's, byte for byte.
    EXPECT_TRUE(lowbit::test::read_file(out) == lowbit::test::read_file(shared_path(k_gguf)));
}

TEST(Convert, SafetensorsToGguf) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    if (std::system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with numpy unavailable";
    const std::string dir = lowbit::test::temp_dir();
    const std::string hf = dir + "/hf";
    const std::string gen = std::string("python3 ") + q(std::string(LOWBIT_SOURCE_DIR) + "/tests/io/fixtures/make_hf_fixture.py") +
                            " " + q(shared_path(k_gguf)) + " " + q(hf) + " --dtype F32";
    ASSERT_EQ(std::system(gen.c_str()), 0);
    const std::string out = dir + "/hf.gguf";
    const auto r = run_cli("convert " + q(hf) + " " + q(out));
    ASSERT_EQ(r.exit_code, 0) << r.out;

    const auto a = lowbit::gguf_file::open(out);
    const auto b = lowbit::gguf_file::open(shared_path(k_gguf));
    EXPECT_EQ(a.get_string("general.architecture"), "llama");
    EXPECT_EQ(a.get_int("llama.attention.head_count_kv", 0), 4);
    EXPECT_EQ(a.get_float("llama.rope.freq_base", 0), 10000.0);
    EXPECT_EQ(a.find_tensor("output.weight"), nullptr);  // tied, as convert_hf_to_gguf.py writes it
    ASSERT_EQ(a.tensors().size(), b.tensors().size() - 1);
    for (const auto& x : a.tensors()) {
        const auto* y = b.find_tensor(x.name);
        ASSERT_NE(y, nullptr) << x.name;
        EXPECT_EQ(x.shape, y->shape) << x.name;
        ASSERT_EQ(x.n_bytes, y->n_bytes) << x.name;
        EXPECT_EQ(0, std::memcmp(x.data, y->data, y->n_bytes)) << x.name;
    }
}

TEST(Convert, MissingInputFailsCleanly) {
    const std::string dir = lowbit::test::temp_dir();
    const std::string out = dir + "/out.gguf";
    const auto r = run_cli("convert " + q(dir + "/nope.bin") + " " + q(out));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out.rfind("lowbit: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("nope.bin"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "expected one line: " << r.out;
    EXPECT_FALSE(lowbit::test::file_exists(out));

    // A truncated checkpoint fails the same way and leaves nothing behind.
    if (!have_shared()) return;
    const auto bytes = lowbit::test::read_file(shared_path(k_bin));
    const std::string cut = dir + "/cut.bin";
    lowbit::test::write_file(cut, bytes.data(), bytes.size() / 2);
    const auto r2 = run_cli("convert " + q(cut) + " " + q(out));
    EXPECT_NE(r2.exit_code, 0);
    EXPECT_NE(r2.out.find("truncated"), std::string::npos) << r2.out;
    EXPECT_FALSE(lowbit::test::file_exists(out));
}

}  // namespace
