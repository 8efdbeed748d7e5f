// Importance matrices: the accumulator against hand sums, the GGUF layout (round trip and llama.cpp's
// file), the forward-pass observer against a hand computation of the first layer's input, collection
// against llama-imatrix's own output, and --imatrix plumbing byte-exact with llama-quantize.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/tokenizer.hpp"
#include "eval/perplexity.hpp"
#include "quant/imatrix.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

#define REQUIRE_SHARED(path) \
    if (!test::file_exists(path)) GTEST_SKIP() << "missing " << (path)

std::string synth_f32() { return test::shared_path("ggml-vectors/synth-llama-256-f32.gguf"); }
std::string synth_imatrix() { return test::shared_path("ggml-vectors/synth.imatrix.gguf"); }
std::string ts200() { return test::shared_path("data/tinystories_valid_first200.txt"); }

TEST(Imatrix, CollectorSumsSquaresPerColumn) {
    imatrix_collector c(false, /*min_tokens=*/1);
    const float x1[] = {1, -2, 3, 0.5f, 0, -1};  // 2 tokens x 3 columns
    const float x2[] = {2, 2, -2};               // 1 token
    c.observe("blk.0.attn_q.weight", x1, 2, 3);
    c.observe("blk.0.attn_q.weight", x2, 1, 3);
    c.observe("output.weight", x2, 1, 3);  // not collected without include_output
    c.observe("token_embd.weight", x2, 1, 3);
    const imatrix_data m = c.result({"t.txt"}, 7, 3);
    ASSERT_EQ(m.entries.size(), 1u);
    const imatrix_entry& e = m.entries.at("blk.0.attn_q.weight");
    EXPECT_EQ(e.in_sum2, (std::vector<float>{1 + 0.25f + 4, 4 + 0 + 4, 9 + 1 + 4}));
    EXPECT_EQ(e.counts, std::vector<float>{3});
    EXPECT_EQ(m.importance("blk.0.attn_q.weight"), (std::vector<float>{5.25f / 3, 8.0f / 3, 14.0f / 3}));
    EXPECT_TRUE(m.importance("blk.9.ffn_up.weight").empty());

    imatrix_collector small;  // default: products of fewer than 16 tokens are ignored, like llama.cpp
    small.observe("blk.0.attn_q.weight", x1, 2, 3);
    EXPECT_TRUE(small.result({}, 0, 0).entries.empty());
    EXPECT_THROW(c.observe("blk.0.attn_q.weight", x1, 1, 6), error);
}

TEST(Imatrix, GgufRoundTripAndZeroCounts) {
    imatrix_data m;
    m.datasets = {"a.txt", "b.txt"};
    m.chunk_count = 5;
    m.chunk_size = 64;
    m.entries["blk.0.ffn_down.weight"] = {{1, 2, 3, 4}, {2}};
    m.entries["blk.0.attn_q.weight"] = {{9, 8}, {0}};
    const std::string p = test::temp_dir() + "/im.gguf";
    write_imatrix(m, p);
    const gguf_file f = gguf_file::open(p);
    EXPECT_EQ(f.get_string("general.type"), "imatrix");
    ASSERT_EQ(f.tensors().size(), 4u);  // name order, sums then counts
    EXPECT_EQ(f.tensors()[0].name, "blk.0.attn_q.weight.in_sum2");
    EXPECT_EQ(f.tensors()[1].name, "blk.0.attn_q.weight.counts");
    EXPECT_EQ(f.tensors()[2].shape, std::vector<int64_t>{4});
    const imatrix_data r = read_imatrix(p);
    EXPECT_EQ(r.datasets, m.datasets);
    EXPECT_EQ(r.chunk_count, 5u);
    EXPECT_EQ(r.chunk_size, 64u);
    EXPECT_EQ(r.entries.at("blk.0.ffn_down.weight").in_sum2, (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(r.importance("blk.0.ffn_down.weight"), (std::vector<float>{0.5f, 1, 1.5f, 2}));
    EXPECT_EQ(r.importance("blk.0.attn_q.weight"), (std::vector<float>{1, 1}));  // count 0 -> 1

    gguf_writer w;  // a GGUF without the imatrix keys is refused by name
    w.set("general.type", gguf_value::str("model"));
    w.write(p);
    EXPECT_THROW(read_imatrix(p), error);
}

TEST(Imatrix, ReadsLlamaCppFile) {
    REQUIRE_SHARED(synth_imatrix());
    const imatrix_data m = read_imatrix(synth_imatrix());
    EXPECT_EQ(m.datasets, std::vector<std::string>{"ts200.txt"});
    EXPECT_EQ(m.chunk_count, 20u);
    EXPECT_EQ(m.chunk_size, 128u);
    EXPECT_EQ(m.entries.size(), 14u);
    EXPECT_EQ(m.entries.at("blk.1.ffn_down.weight").in_sum2.size(), 768u);
    EXPECT_EQ(m.entries.at("blk.1.ffn_down.weight").counts, std::vector<float>{2560});
}

// The observer sees blk.0's attention input, rms(embedding) * attn_norm: compare with a hand computation.
TEST(Imatrix, ObserverMatchesHandComputedFirstLayerInput) {
    REQUIRE_SHARED(synth_f32());
    auto model = llama_model::load(synth_f32());
    const auto& c = model->config();
    const std::vector<int32_t> toks = {1, 300, 17, 42, 511, 5, 5, 260};
    imatrix_collector col(false, 1);
    context_options co;
    co.n_ctx = 16;
    co.n_threads = 1;
    int calls = 0;
    co.observer = [&](const std::string& w, const float* x, int64_t n, int64_t nc) {
        ++calls;
        col.observe(w, x, n, nc);
    };
    llama_context ctx(model, co);
    ctx.decode(toks, static_cast<int64_t>(toks.size()) - 1);
    EXPECT_EQ(calls, 7 * c.n_layer + 1);  // 7 products per layer and the output
    const imatrix_data m = col.result({}, 1, 8);
    EXPECT_EQ(m.entries.size(), static_cast<size_t>(7 * c.n_layer));

    const auto& L0 = model->layers()[0];
    std::vector<double> want(static_cast<size_t>(c.n_embd), 0.0);
    std::vector<float> e(static_cast<size_t>(c.n_embd));
    for (int32_t t : toks) {
        dequantize_row(model->tok_embd().t, model->tok_embd().row(t), e.data(), c.n_embd);
        double ss = 0;
        for (float v : e) ss += double(v) * v;
        const double s = 1.0 / std::sqrt(ss / double(c.n_embd) + double(c.rms_eps));
        for (int64_t j = 0; j < c.n_embd; ++j) {
            const double y = double(e[j]) * s * L0.attn_norm[j];
            want[j] += y * y;
        }
    }
    for (const char* w : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
        const imatrix_entry& got = m.entries.at(w);
        EXPECT_EQ(got.counts, std::vector<float>{8});
        for (int64_t j = 0; j < c.n_embd; ++j)
            ASSERT_NEAR(got.in_sum2[j], want[j], 1e-5 * want[j] + 1e-6) << w << " column " << j;
    }
    EXPECT_EQ(m.entries.at("blk.1.ffn_down.weight").in_sum2.size(), static_cast<size_t>(L0.w_down.n_cols));
}

// Same text, same protocol (-c 128, 20 chunks) as the llama-imatrix run that made synth.imatrix.gguf.
TEST(Imatrix, CollectionMatchesLlamaCpp) {
    REQUIRE_SHARED(synth_f32());
    REQUIRE_SHARED(synth_imatrix());
    REQUIRE_SHARED(ts200());
    imatrix_options o;
    o.n_ctx = 128;
    o.n_chunks = 20;
    o.n_threads = 2;
    o.dataset = "ts200.txt";
    const imatrix_data got = collect_imatrix(llama_model::load(synth_f32()), eval::read_text_file(ts200()), o);
    const imatrix_data ref = read_imatrix(synth_imatrix());
    EXPECT_EQ(got.chunk_count, ref.chunk_count);
    EXPECT_EQ(got.chunk_size, ref.chunk_size);
    ASSERT_EQ(got.entries.size(), ref.entries.size());
    for (const auto& [name, r] : ref.entries) {
        ASSERT_TRUE(got.entries.count(name)) << name;
        const imatrix_entry& g = got.entries.at(name);
        EXPECT_EQ(g.counts, r.counts) << name;
        ASSERT_EQ(g.in_sum2.size(), r.in_sum2.size()) << name;
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, max_rel = 0;
        const auto n = static_cast<double>(r.in_sum2.size());
        for (size_t j = 0; j < r.in_sum2.size(); ++j) {
            const double x = g.in_sum2[j], y = r.in_sum2[j];
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
            max_rel = std::max(max_rel, std::abs(x - y) / std::abs(y));
        }
        const double corr = (sxy - sx * sy / n) / std::sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
        EXPECT_GT(corr, 0.9999) << name;
        // Differences come from llama.cpp's F16 KV cache and summation order only (measured <= 1.5e-3).
        EXPECT_LT(max_rel, 5e-3) << name;
    }
}

// quantize with llama.cpp's imatrix reproduces llama-quantize --pure --imatrix byte for byte.
// Sums of squares that are NaN, infinite or negative are refused when the file is read, naming the
// file, entry and index (before: they reached the encoders, which wrote NaN or zero blocks, exit 0).
TEST(Imatrix, NonFiniteOrNegativeSumsAreRefused) {
    const std::string p = test::temp_dir() + "/bad-im.gguf";
    for (float bad : {std::nanf(""), -1.0f, INFINITY}) {
        imatrix_data m;
        m.datasets = {"a.txt"};
        m.entries["blk.0.ffn_down.weight"] = {{1, 2, bad, 4}, {2}};
        write_imatrix(m, p);
        try {
            read_imatrix(p);
            ADD_FAILURE() << "in_sum2 " << bad << " was accepted";
        } catch (const error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("bad-im.gguf"), std::string::npos) << msg;
            EXPECT_NE(msg.find("'blk.0.ffn_down.weight' has in_sum2[2]"), std::string::npos) << msg;
        }
    }
}

// quantize_model checks every tensor's importance, whatever its source: NaN, negative or above 1e20
// is an error naming the tensor and column, and no output is written. Zeros become 1e-6 x the mean (1
// when all are zero): llama.cpp's weighted encoders write a block whose weights are all zero as zeros,
// which erased whole tensors with an all-zero imatrix. Importance is scaled by a power of two to a mean
// near 1 (no change in bytes), so that tiny values do not underflow the same way.
TEST(Imatrix, ImportanceIsCheckedAndZeroBlocksAreStillQuantized) {
    REQUIRE_SHARED(synth_f32());
    const model_data in = load_model(synth_f32());
    const std::string out = test::temp_dir() + "/imp.gguf";
    const auto quantize_with = [&](const std::string& preset, const std::function<std::vector<float>(int64_t)>& make,
                                   const std::string& path) {
        quantize_options opt;
        opt.preset = preset;
        opt.pure = true;
        opt.threads = 2;
        std::map<std::string, std::vector<float>> imp;
        for (const auto& t : in.tensors)
            if (t.name.rfind("blk.", 0) == 0 && t.shape.size() == 2) imp[t.name] = make(t.row_len());
        opt.importance = [&](const std::string& t) -> const std::vector<float>* {
            const auto it = imp.find(t);
            return it == imp.end() ? nullptr : &it->second;
        };
        quantize_model(in, path, opt);
    };
    for (float bad : {std::nanf(""), -0.5f, 1e21f, INFINITY}) {
        std::remove(out.c_str());
        try {
            quantize_with("q4_k", [&](int64_t n) { std::vector<float> v(size_t(n), 1.0f); v[7] = bad; return v; }, out);
            ADD_FAILURE() << "importance " << bad << " was accepted";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("column 7, is"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(test::file_exists(out)) << "an output was written for importance " << bad;
    }
    for (const char* preset : {"q4_k", "q2_k", "iq4_nl", "q4_0"}) {
        // All zero: as all ones.
        const std::string ones = test::temp_dir() + "/imp-ones.gguf";
        quantize_with(preset, [](int64_t n) { return std::vector<float>(size_t(n), 0.0f); }, out);
        quantize_with(preset, [](int64_t n) { return std::vector<float>(size_t(n), 1.0f); }, ones);
        EXPECT_EQ(test::read_file(out), test::read_file(ones)) << preset;
        // Tiny (subnormal) importance is scaled back by a power of two: the same bytes as 0.75 everywhere
        // (which underflowed in the weighted sums before, like zeros).
        quantize_with(preset, [](int64_t n) { return std::vector<float>(size_t(n), std::ldexp(0.75f, -140)); }, out);
        quantize_with(preset, [](int64_t n) { return std::vector<float>(size_t(n), 0.75f); }, ones);
        EXPECT_EQ(test::read_file(out), test::read_file(ones)) << preset << ": subnormal importance";
        // Zero over the first 256 columns only: every row's first blocks still hold non-zero weights.
        quantize_with(preset, [](int64_t n) {
            std::vector<float> v(size_t(n), 2.0f);
            std::fill(v.begin(), v.begin() + std::min<int64_t>(n, 256), 0.0f);
            return v;
        }, out);
        const model_data q = load_model(out);
        for (const auto& t : q.tensors) {
            if (t.name.rfind("blk.", 0) != 0 || t.shape.size() != 2) continue;
            std::vector<float> row(static_cast<size_t>(t.row_len()));
            dequantize_row(t.t, t.bytes.data(), row.data(), t.row_len());
            float m = 0;
            for (int64_t c = 0; c < std::min<int64_t>(t.row_len(), 256); ++c) m = std::max(m, std::fabs(row[size_t(c)]));
            EXPECT_GT(m, 0.0f) << preset << " " << t.name << ": the zero-importance columns were written as zeros";
        }
    }
}

TEST(Imatrix, QuantizeWithImatrixIsByteExactWithLlamaCpp) {
    REQUIRE_SHARED(synth_f32());
    REQUIRE_SHARED(synth_imatrix());
    const model_data in = load_model(synth_f32());
    const auto imp = read_imatrix(synth_imatrix()).importance_map();
    for (const auto& [preset, file] : {std::pair<std::string, std::string>{"q4_k", "Q4_K_S-imat"}, {"q2_k", "Q2_K-imat"}}) {
        const std::string ref_path = test::shared_path("ggml-vectors/synth-llama-256-" + file + ".gguf");
        REQUIRE_SHARED(ref_path);
        quantize_options opt;
        opt.preset = preset;
        opt.pure = true;
        opt.threads = 2;
        int served = 0;
        opt.importance = [&](const std::string& t) -> const std::vector<float>* {
            const auto it = imp.find(t);
            if (it == imp.end()) return nullptr;
            ++served;
            return &it->second;
        };
        const std::string out = test::temp_dir() + "/" + preset + "-imat.gguf";
        quantize_model(in, out, opt);
        EXPECT_EQ(served, 14);
        const gguf_file got = gguf_file::open(out), ref = gguf_file::open(ref_path);
        int compared = 0;
        for (const auto& rt : ref.tensors()) {
            if (rt.t == type::f32) continue;
            const tensor_info* gt = got.find_tensor(rt.name);
            ASSERT_NE(gt, nullptr) << rt.name;
            ASSERT_EQ(gt->t, rt.t) << rt.name;
            ASSERT_EQ(gt->n_bytes, rt.n_bytes) << rt.name;
            EXPECT_EQ(std::memcmp(gt->data, rt.data, rt.n_bytes), 0) << preset << " " << rt.name;
            ++compared;
        }
        EXPECT_EQ(compared, 16) << preset;  // 14 block matrices, token_embd and output
    }
}

TEST(Imatrix, CliCollectsAndQuantizes) {
    REQUIRE_SHARED(synth_f32());
    REQUIRE_SHARED(ts200());
    const std::string d = test::temp_dir();
    auto r = test::run_cli("imatrix " + synth_f32() + " --text " + ts200() + " -o " + d + "/im.gguf -c 64 --chunks 4 -q");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const imatrix_data m = read_imatrix(d + "/im.gguf");
    EXPECT_EQ(m.chunk_count, 4u);
    EXPECT_EQ(m.chunk_size, 64u);
    EXPECT_EQ(m.datasets, std::vector<std::string>{"tinystories_valid_first200.txt"});
    EXPECT_EQ(m.entries.at("blk.0.attn_q.weight").counts, std::vector<float>{256});
    r = test::run_cli("quantize " + synth_f32() + " " + d + "/q.gguf -t q4_k --pure --imatrix " + d + "/im.gguf -q");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    {
        const gguf_file q = gguf_file::open(d + "/q.gguf");  // llama-quantize's provenance keys
        EXPECT_EQ(q.get_string("quantize.imatrix.file"), d + "/im.gguf");
        EXPECT_EQ(q.get_string("quantize.imatrix.dataset"), "tinystories_valid_first200.txt");
        EXPECT_EQ(q.get_int("quantize.imatrix.entries_count", 0), 14);
        EXPECT_EQ(q.get_int("quantize.imatrix.chunks_count", 0), 4);
    }
    // Held-out calibration: --skip-bytes drops the start of the text (fewer tokens -> fewer chunks).
    r = test::run_cli("imatrix " + synth_f32() + " --text " + ts200() + " -o " + d + "/skip.gguf -c 64 --skip-bytes 150000 -q");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const imatrix_data sk = read_imatrix(d + "/skip.gguf");
    EXPECT_GT(sk.chunk_count, 10u);
    EXPECT_LT(sk.chunk_count, 200u);
    r = test::run_cli("imatrix " + synth_f32() + " --text " + ts200() + " -o " + d + "/skip.gguf --skip-bytes 999999999 -q");
    EXPECT_NE(r.exit_code, 0);
    r = test::run_cli("imatrix " + synth_f32() + " --text " + ts200() + " -o " + d + "/x.gguf -c 100000 -q");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.out.find("tokenizes to"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lowbit
