// Recipe files: parsing and validation (errors name the key and the line), the calibration cache
// (key sensitivity, hit on rerun, damaged files are misses), and whole runs on stories260K:
// byte-identical output when run twice, gates pass and fail.
#include "recipe/recipe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "lowbit/error.hpp"
#include "recipe/calib_cache.hpp"
#include "test_util.hpp"

namespace rc = lowbit::recipe;
using lowbit::test::shared_path;

namespace {

std::string error_of(const std::string& text) {
    try {
        rc::parse_recipe_text(text, "r.toml", "/base");
    } catch (const lowbit::error& e) {
        return e.what();
    }
    return "(no error)";
}

const char* k_minimal = "model = \"m.gguf\"\noutput = \"out/q.gguf\"\n";

}  // namespace

TEST(Recipe, ParsesEveryFieldAndResolvesPaths) {
    const std::string text = R"(model = "models/m.gguf"
output = "/abs/out.gguf"
threads = 2
[quantize]
type = "q4_k_m"
method = "rtn"
pure = true
fallback = "lowbit"
output_tensor_type = "q8_0"
token_embedding_type = "q6_k"
[[quantize.override]]
pattern = "attn_v"
type = "q6_k"
[[quantize.override]]
pattern = "ffn_down"
type = "q5_k"
[calibration]
files = ["a.txt", "/x/b.txt"]
tokens = 4096
seed = 7
[eval]
texts = "t.txt"
ctx = 128
max_units = 3
gate = ["kld<=0.05", "top1>=0.8"]
)";
    const auto r = rc::parse_recipe_text(text, "r.toml", "/base");
    EXPECT_EQ(r.model, "/base/models/m.gguf");
    EXPECT_EQ(r.output, "/abs/out.gguf");
    EXPECT_EQ(r.cache_dir, "/abs/.lowbit-cache");
    EXPECT_EQ(r.threads, 2);
    EXPECT_EQ(r.type, "q4_k_m");
    EXPECT_TRUE(r.pure);
    EXPECT_EQ(r.fallback, lowbit::fallback_mode::lowbit);
    EXPECT_EQ(r.output_tensor_type, lowbit::type::q8_0);
    EXPECT_EQ(r.token_embedding_type, lowbit::type::q6_k);
    ASSERT_EQ(r.overrides.size(), 2u);  // order kept: first match wins
    EXPECT_EQ(r.overrides[0].first, "attn_v");
    EXPECT_EQ(r.overrides[1].second, lowbit::type::q5_k);
    ASSERT_TRUE(r.calibration.has_value());
    EXPECT_EQ(r.calibration->files, (std::vector<std::string>{"/base/a.txt", "/x/b.txt"}));
    EXPECT_EQ(r.calibration->tokens, 4096);
    EXPECT_EQ(r.calibration->seed, 7u);
    ASSERT_TRUE(r.eval.has_value());
    EXPECT_EQ(r.eval->texts, (std::vector<std::string>{"/base/t.txt"}));
    EXPECT_EQ(r.eval->ctx, 128);
    EXPECT_EQ(r.eval->max_units, 3);
    EXPECT_EQ(r.eval->gate, "kld<=0.05,top1>=0.8");
    const auto qo = rc::to_quantize_options(r);
    EXPECT_EQ(qo.preset, "q4_k_m");
    EXPECT_EQ(qo.tensor_types.size(), 2u);
    EXPECT_TRUE(qo.pure);
}

TEST(Recipe, ErrorsNameTheKeyAndTheLine) {
    struct tc {
        std::string text, expect;
    };
    const std::vector<tc> cases = {
        {"output = \"o.gguf\"\n", "missing required key 'model'"},
        {std::string(k_minimal) + "modle = 1\n", "r.toml:3: unknown key 'modle'"},
        {std::string(k_minimal) + "[quantize]\ntype = 4\n", "r.toml:4: quantize.type: expected a string, got an integer"},
        {std::string(k_minimal) + "[quantize]\n\ntype = \"q9_z\"\n", "r.toml:5: quantize.type:"},
        {std::string(k_minimal) + "[quantize]\nfallback = \"x\"\n", "r.toml:4: quantize.fallback: expected \"ggml\" or \"lowbit\""},
        {std::string(k_minimal) + "[quantize]\nmethod = \"foo\"\n", "r.toml:4: quantize.method: unknown method 'foo'"},
        {std::string(k_minimal) + "[quantize]\nmethods = \"rtn\"\n", "r.toml:4: unknown key 'quantize.methods'"},
        {std::string(k_minimal) + "[[quantize.override]]\npattern = \"(\"\ntype = \"q8_0\"\n", "r.toml:4: quantize.override.pattern: bad regex"},
        {std::string(k_minimal) + "[[quantize.override]]\npattern = \"x\"\ntype = \"zz\"\n", "r.toml:5: quantize.override.type: unknown type 'zz'"},
        {std::string(k_minimal) + "[eval]\ntexts = []\n", "r.toml:4: eval.texts: the array is empty"},
        {std::string(k_minimal) + "[eval]\ntexts = \"t\"\ngate = \"kld<<1\"\n", "r.toml:5: eval.gate:"},
        {std::string(k_minimal) + "[eval]\ntexts = \"t\"\nctx = -1\n", "r.toml:5: eval.ctx: -1 is out of range"},
        {std::string(k_minimal) + "[budget]\ntarget_bpw = 4.5\ntarget_size = \"1MB\"\n", "set one of target_bpw"},
        {std::string(k_minimal) + "[budget]\ntarget_size = \"1 parsec\"\n", "r.toml:4: budget.target_size: unknown unit"},
        {std::string(k_minimal) + "x = [\n", "r.toml:"},
        {std::string(k_minimal) + "[calibration]\ntokens = 5\n", "calibration: 'files' is required"},
    };
    for (const auto& c : cases) {
        const std::string e = error_of(c.text);
        EXPECT_NE(e.find(c.expect), std::string::npos) << "recipe:\n" << c.text << "\nerror: " << e << "\nexpected: " << c.expect;
    }
}

TEST(Recipe, MethodsBudgetsAndImatrixAreWiredAndChecked) {
    for (const char* m : {"rtn", "mse", "hqq"}) {
        const auto r = rc::parse_recipe_text(std::string(k_minimal) + "[quantize]\nmethod = \"" + m + "\"\n", "r.toml", "/b");
        EXPECT_EQ(r.method, m);
    }
    // gptq / awq and budgets need calibration text.
    for (const char* extra : {"[quantize]\nmethod = \"gptq\"\n", "[quantize]\nmethod = \"awq\"\n", "[budget]\ntarget_bpw = 4.5\n",
                              "[budget]\nmax_kld = 0.01\n"}) {
        const std::string e = error_of(std::string(k_minimal) + extra);
        EXPECT_NE(e.find("needs calibration text"), std::string::npos) << extra << ": " << e;
    }
    const auto r = rc::parse_recipe_text(std::string(k_minimal) +
                                             "[budget]\ntarget_size = \"1.5MiB\"\n[calibration]\nfiles = \"c.txt\"\nimatrix = true\n",
                                         "r.toml", "/b");
    EXPECT_EQ(r.target_size, uint64_t(1.5 * 1048576));
    ASSERT_TRUE(r.calibration.has_value());
    EXPECT_TRUE(r.calibration->imatrix);
}

TEST(CalibCache, KeyDependsOnModelDataAndSettings) {
    const auto k = rc::calibration_key("m1", "d1", "tokens=10");
    EXPECT_EQ(k.size(), 64u);
    EXPECT_EQ(k, rc::calibration_key("m1", "d1", "tokens=10"));
    EXPECT_NE(k, rc::calibration_key("m2", "d1", "tokens=10"));
    EXPECT_NE(k, rc::calibration_key("m1", "d2", "tokens=10"));
    EXPECT_NE(k, rc::calibration_key("m1", "d1", "tokens=11"));
    const auto dir = lowbit::test::temp_dir();
    const std::string a = dir + "/a", b = dir + "/b";
    lowbit::test::write_file(a, "ab", 2);
    lowbit::test::write_file(b, "c", 1);
    // Length-prefixed: "ab"+"c" differs from "a"+"bc".
    const std::string a2 = dir + "/a2", b2 = dir + "/b2";
    lowbit::test::write_file(a2, "a", 1);
    lowbit::test::write_file(b2, "bc", 2);
    EXPECT_NE(rc::files_sha256({a, b}), rc::files_sha256({a2, b2}));
    EXPECT_NE(rc::files_sha256({a, b}), rc::files_sha256({b, a}));
    // sha256("abc")
    const std::string abc = dir + "/abc";
    lowbit::test::write_file(abc, "abc", 3);
    EXPECT_EQ(rc::file_sha256(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CalibCache, FileHashMemoFollowsSizeAndMtime) {
    const auto dir = lowbit::test::temp_dir();
    const std::string f = dir + "/m.bin", cache = dir + "/cache";
    lowbit::test::write_file(f, "abc", 3);
    const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    EXPECT_EQ(rc::file_sha256_memo(f, cache), abc);
    EXPECT_EQ(rc::file_sha256_memo(f, cache), abc);  // from the memo
    EXPECT_TRUE(std::filesystem::exists(cache + "/files"));
    lowbit::test::write_file(f, "abcd", 4);  // new size: rehashed
    EXPECT_EQ(rc::file_sha256_memo(f, cache), rc::file_sha256(f));
    EXPECT_NE(rc::file_sha256_memo(f, cache), abc);
    // Same size, new content and mtime: rehashed.
    lowbit::test::write_file(f, "abce", 4);
    std::filesystem::last_write_time(f, std::filesystem::last_write_time(f) + std::chrono::seconds(5));
    EXPECT_EQ(rc::file_sha256_memo(f, cache), rc::file_sha256(f));
}

TEST(CalibCache, SecondLookupIsAHitWithTheSameDataAndDamageIsAMiss) {
    const rc::calib_cache cache(lowbit::test::temp_dir() + "/cache");
    const std::string key = rc::calibration_key("model", "data", "s");
    int computed = 0;
    auto compute = [&] {
        ++computed;
        rc::importance_map m;
        m["blk.0.attn_q.weight"] = {1.0f, 2.5f, 3.0f};
        m["output.weight"] = std::vector<float>(1000, 0.25f);
        return m;
    };
    const auto first = cache.get_or_compute(key, compute);
    EXPECT_FALSE(first.hit);
    EXPECT_EQ(computed, 1);
    const auto second = cache.get_or_compute(key, compute);
    EXPECT_TRUE(second.hit);
    EXPECT_EQ(computed, 1);
    EXPECT_EQ(second.data, first.data);
    EXPECT_EQ(second.file, cache.path_for(key));
    // Another key misses.
    EXPECT_FALSE(cache.get_or_compute(rc::calibration_key("model", "data", "t"), compute).hit);
    EXPECT_EQ(computed, 2);
    // Flip one byte: the checksum fails and the entry is recomputed.
    auto bytes = lowbit::test::read_file(cache.path_for(key));
    bytes[20] ^= 1;
    lowbit::test::write_file(cache.path_for(key), bytes.data(), bytes.size());
    EXPECT_FALSE(cache.load(key).has_value());
    EXPECT_FALSE(cache.get_or_compute(key, compute).hit);
    EXPECT_EQ(computed, 3);
    // Truncation too.
    std::filesystem::resize_file(cache.path_for(key), 30);
    EXPECT_FALSE(cache.load(key).has_value());
}

namespace {

std::string write_recipe(const std::string& dir, const std::string& name, const std::string& body) {
    const std::string p = dir + "/" + name;
    lowbit::test::write_file(p, body.data(), body.size());
    return p;
}

std::string stories_recipe(const std::string& out, const std::string& type, const std::string& gate) {
    return "model = \"" + shared_path("models/stories260K/stories260K-f32.gguf") + "\"\noutput = \"" + out +
           "\"\nthreads = 2\n[quantize]\ntype = \"" + type + "\"\n[eval]\ntexts = [\"" +
           shared_path("data/tinystories_valid_first200.txt") + "\"]\nctx = 128\nmax_units = 4\ngate = \"" + gate +
           "\"\n";
}

}  // namespace

TEST(Recipe, RunTwiceGivesByteIdenticalOutputAndGatesDecide) {
    const auto model = shared_path("models/stories260K/stories260K-f32.gguf");
    if (!lowbit::test::file_exists(model)) GTEST_SKIP() << "needs " << model;
    const auto dir = lowbit::test::temp_dir();
    const auto r1 = rc::parse_recipe_file(write_recipe(dir, "a.toml", stories_recipe(dir + "/a/out.gguf", "q4_k_m", "kld<=0.5,top1>=0.5")));
    const auto r2 = rc::parse_recipe_file(write_recipe(dir, "b.toml", stories_recipe(dir + "/b/out.gguf", "q4_k_m", "kld<=0.5,top1>=0.5")));
    const auto a = rc::run_recipe(r1);
    const auto b = rc::run_recipe(r2);
    EXPECT_TRUE(a.passed()) << (a.gate_failures.empty() ? "" : a.gate_failures[0]);
    EXPECT_EQ(a.output_sha256, b.output_sha256);
    EXPECT_EQ(lowbit::test::read_file(dir + "/a/out.gguf"), lowbit::test::read_file(dir + "/b/out.gguf"));
    ASSERT_TRUE(a.eval.has_value() && b.eval.has_value());
    ASSERT_EQ(a.eval->files.size(), 1u);
    EXPECT_EQ(a.eval->files[0].n_units, 4);
    EXPECT_GT(a.eval->files[0].kld_mean, 0.0);
    EXPECT_EQ(a.eval->files[0].kld_mean, b.eval->files[0].kld_mean);  // eval is deterministic too
    // A gate that cannot hold for a 4-bit model.
    const auto r3 = rc::parse_recipe_file(write_recipe(dir, "c.toml", stories_recipe(dir + "/c/out.gguf", "q2_k", "kld<=0.000001")));
    const auto c = rc::run_recipe(r3);
    EXPECT_FALSE(c.passed());
    ASSERT_FALSE(c.gate_failures.empty());
    EXPECT_NE(c.gate_failures[0].find("kld"), std::string::npos) << c.gate_failures[0];
}

// An eval text too short for the eval's context fails before quantizing: no output file (it used to be
// written, then the eval failed). The same text with a smaller context runs.
TEST(Recipe, EvalTextTooShortForItsContextFailsBeforeWritingOutput) {
    const auto model = shared_path("models/stories260K/stories260K-f32.gguf");
    if (!lowbit::test::file_exists(model)) GTEST_SKIP() << "needs " << model;
    const auto dir = lowbit::test::temp_dir();
    const std::string text = dir + "/short.txt";
    const std::string story =
        "Once upon a time there was a little girl named Lily. She liked to play outside.\n";
    lowbit::test::write_file(text, story.data(), story.size());  // ~20 tokens
    auto body = [&](const std::string& out, int ctx, const std::string& extra) {
        return "model = \"" + model + "\"\noutput = \"" + out +
               "\"\nthreads = 2\n[quantize]\ntype = \"q8_0\"\n" + "[eval]\ntexts = [\"" + text + "\"]\n" +
               (ctx ? "ctx = " + std::to_string(ctx) + "\n" : "") + extra;
    };
    for (const auto& [ctx, extra] : std::vector<std::pair<int, std::string>>{
             {64, ""}, {0, ""}, {0, "reference = \"" + model + "\"\n"}}) {
        SCOPED_TRACE("ctx " + std::to_string(ctx) + " " + extra);  // 0: the model's context (512)
        const std::string out = dir + "/too-short.gguf";
        try {
            rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "s.toml", body(out, ctx, extra))));
            ADD_FAILURE() << "no error";
        } catch (const lowbit::error& e) {
            EXPECT_NE(std::string(e.what()).find("short.txt: the text tokenizes to"), std::string::npos)
                << e.what();
        }
        EXPECT_FALSE(std::filesystem::exists(out));
    }
    const auto ok =
        rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "ok.toml", body(dir + "/ok.gguf", 8, ""))));
    ASSERT_TRUE(ok.eval.has_value());
    EXPECT_GE(ok.eval->files[0].n_units, 2);
    // The documents protocol needs one document of 2 tokens, whatever the context.
    const auto docs = rc::run_recipe(rc::parse_recipe_file(
        write_recipe(dir, "d.toml", body(dir + "/d.gguf", 64, "protocol = \"documents\"\n"))));
    ASSERT_TRUE(docs.eval.has_value());
    EXPECT_EQ(docs.eval->files[0].n_units, 1);
}

// The imatrix is collected once: a rerun with another output type finds it in the cache (same model,
// same text, same settings), and the cached statistics give the same file as a fresh collection.
TEST(Recipe, ImatrixIsCachedAcrossOutputTypes) {
    const auto model = shared_path("models/stories260K/stories260K-f32.gguf");
    const auto text = shared_path("data/tinystories_valid_first200.txt");
    if (!lowbit::test::file_exists(model)) GTEST_SKIP() << "needs " << model;
    const auto dir = lowbit::test::temp_dir();
    auto body = [&](const std::string& out, const std::string& type, const std::string& cache) {
        return "model = \"" + model + "\"\noutput = \"" + out + "\"\ncache_dir = \"" + cache +
               "\"\nthreads = 2\n[quantize]\ntype = \"" + type + "\"\n[calibration]\nfiles = [\"" + text +
               "\"]\nctx = 128\ntokens = 2048\nimatrix = true\n";
    };
    const auto q4 = rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "q4.toml", body(dir + "/q4.gguf", "q4_k_m", dir + "/cache"))));
    EXPECT_TRUE(q4.imatrix_used);
    EXPECT_FALSE(q4.imatrix_cache_hit);
    ASSERT_TRUE(lowbit::test::file_exists(q4.imatrix_cache_file)) << q4.imatrix_cache_file;
    const auto q2 = rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "q2.toml", body(dir + "/q2.gguf", "q2_k", dir + "/cache"))));
    EXPECT_TRUE(q2.imatrix_cache_hit);
    EXPECT_EQ(q2.imatrix_cache_file, q4.imatrix_cache_file);
    std::printf("imatrix: collected in %.3f s, loaded from cache in %.3f s\n", q4.imatrix_seconds, q2.imatrix_seconds);
    // Fresh collection in another cache folder: byte-identical output (the cache changes nothing).
    const auto q2b = rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "q2b.toml", body(dir + "/q2b.gguf", "q2_k", dir + "/cache2"))));
    EXPECT_FALSE(q2b.imatrix_cache_hit);
    EXPECT_EQ(q2.output_sha256, q2b.output_sha256);
    // The imatrix changes the encoding: a q2_k file without it differs.
    const auto plain = rc::run_recipe(rc::parse_recipe_text(
        "model = \"" + model + "\"\noutput = \"" + dir + "/plain.gguf\"\n[quantize]\ntype = \"q2_k\"\n", "p.toml", dir));
    EXPECT_NE(plain.output_sha256, q2.output_sha256);
    // Other calibration settings: a new key.
    auto other = body(dir + "/q2c.gguf", "q2_k", dir + "/cache");
    other.replace(other.find("tokens = 2048"), 13, "tokens = 1024");
    const auto q2c = rc::run_recipe(rc::parse_recipe_file(write_recipe(dir, "q2c.toml", other)));
    EXPECT_FALSE(q2c.imatrix_cache_hit);
    EXPECT_NE(q2c.imatrix_cache_file, q2.imatrix_cache_file);
}
