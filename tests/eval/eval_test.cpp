// Evaluation math and protocols on short texts: each protocol against a hand-rolled computation with
// llama_context, KL divergence of a model against itself (exactly 0, top-1 = 1), thread-count
// independence, document splitting, gate parsing and checking.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "eval/gate.hpp"
#include "eval/kld.hpp"
#include "eval/perplexity.hpp"
#include "eval/report.hpp"
#include "model/context_options.hpp"
#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"
#include "test_util.hpp"

namespace lowbit::eval {
namespace {

std::string model_path() { return test::shared_path("models/stories260K/stories260K-f32.gguf"); }
std::string q4_path() { return test::shared_path("models/stories260K/llama.cpp-quantized/s260k-Q4_K_M.gguf"); }
std::string stories_path() { return test::shared_path("data/tinystories_valid_first200.txt"); }

// The first n stories of the shared file, separators included.
std::string first_stories(int n) {
    const std::string all = read_text_file(stories_path());
    size_t pos = 0;
    for (int i = 0; i < n; ++i) pos = all.find("<|endoftext|>\n", pos) + 14;
    return all.substr(0, pos);
}

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
}

class EvalShort : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::file_exists(model_path()) || !test::file_exists(stories_path())) GTEST_SKIP() << "shared files missing";
        model = llama_model::load(model_path());
        text = first_stories(6);
    }
    std::shared_ptr<const llama_model> model;
    std::string text;
};

TEST_F(EvalShort, ChunksProtocolEqualsHandComputation) {
    const int64_t C = 64;
    ppl_options o;
    o.n_ctx = C;
    o.n_threads = 2;
    const auto s = evaluator(model, nullptr, o).score_text(text, "short");
    // By hand: tokenize with BOS, chunks of C with BOS first, score logits C/2 .. C-2.
    const auto tok = tokenizer::from_model(model->data());
    const auto ids = tok->encode(text, true);
    ASSERT_EQ(s.n_text_tokens, static_cast<int64_t>(ids.size()));
    const int64_t n_chunk = static_cast<int64_t>(ids.size()) / C;
    ASSERT_GE(n_chunk, 2);
    EXPECT_EQ(s.n_units, n_chunk);
    ASSERT_EQ(static_cast<int64_t>(s.nll.size()), n_chunk * (C / 2 - 1));
    llama_context ctx(model, test_context_options(C, C, 1));
    std::vector<double> nll;
    for (int64_t i = 0; i < n_chunk; ++i) {
        std::vector<int32_t> chunk(ids.begin() + i * C, ids.begin() + (i + 1) * C);
        chunk[0] = tok->bos_id();
        ctx.clear();
        const auto lg = ctx.decode(chunk, 0);
        for (int64_t j = C / 2; j < C - 1; ++j) {
            const float* l = lg.data() + j * 512;
            double mx = l[0], sum = 0;
            for (int v = 1; v < 512; ++v) mx = std::max(mx, double(l[v]));
            for (int v = 0; v < 512; ++v) sum += std::exp(double(l[v]) - mx);
            nll.push_back(mx + std::log(sum) - l[chunk[size_t(j + 1)]]);
        }
    }
    ASSERT_EQ(nll.size(), s.nll.size());
    for (size_t i = 0; i < nll.size(); ++i) ASSERT_NEAR(s.nll[i], nll[i], 1e-9) << "token " << i;
    const file_report r = summarize("short", s);
    EXPECT_NEAR(r.ppl, std::exp(mean(nll)), 1e-9);
    EXPECT_GT(r.ppl_se, 0.0);
    EXPECT_FALSE(r.has_reference);
}

TEST_F(EvalShort, DocumentsProtocolScoresEachStoryFromBos) {
    ppl_options o;
    o.proto = protocol::documents;
    o.n_ctx = 512;
    o.n_threads = 2;
    const auto s = evaluator(model, nullptr, o).score_text(text, "short");
    const auto docs = split_documents(text, "<|endoftext|>");
    ASSERT_EQ(docs.size(), 6u);
    EXPECT_EQ(s.n_units, 6);
    const auto tok = tokenizer::from_model(model->data());
    llama_context ctx(model, test_context_options(512, 512, 1));
    std::vector<double> nll;
    for (const auto& d : docs) {
        auto ids = tok->encode_llama2c(d, true);
        ASSERT_EQ(ids[0], tok->bos_id());
        if (ids.size() > 512) ids.resize(512);  // truncated to the context
        ctx.clear();
        const auto lg = ctx.decode(ids, 0);
        for (size_t j = 0; j + 1 < ids.size(); ++j) nll.push_back(score_token(lg.data() + j * 512, 512, ids[j + 1]).nll);
    }
    ASSERT_EQ(nll.size(), s.nll.size());
    for (size_t i = 0; i < nll.size(); ++i) ASSERT_DOUBLE_EQ(s.nll[i], nll[i]) << "token " << i;
    // Truncation: with a context of 16 each story contributes exactly 15 scored tokens.
    o.n_ctx = 16;
    const auto t = evaluator(model, nullptr, o).score_text(text, "short");
    EXPECT_EQ(t.nll.size(), 6u * 15u);
}

TEST_F(EvalShort, KldOfAModelAgainstItselfIsExactlyZero) {
    ppl_options o;
    o.n_ctx = 64;
    o.n_threads = 2;
    const auto s = evaluator(model, llama_model::load(model_path()), o).score_text(text, "self");
    ASSERT_FALSE(s.kld.empty());
    for (size_t i = 0; i < s.kld.size(); ++i) {
        ASSERT_EQ(s.kld[i], 0.0) << "token " << i;
        ASSERT_EQ(s.p_diff[i], 0.0);
        ASSERT_EQ(s.same_top[i], 1);
        ASSERT_EQ(s.nll[i], s.nll_ref[i]);
    }
    const file_report r = summarize("self", s);
    EXPECT_EQ(r.kld_mean, 0.0);
    EXPECT_EQ(r.kld_max, 0.0);
    EXPECT_EQ(r.top1, 1.0);
    EXPECT_EQ(r.ppl_ratio, 1.0);
    EXPECT_EQ(r.dp_rms, 0.0);
}

TEST_F(EvalShort, KldOfAQuantizedModelIsPositive) {
    if (!test::file_exists(q4_path())) GTEST_SKIP();
    ppl_options o;
    o.n_ctx = 64;
    o.n_threads = 2;
    const auto s = evaluator(llama_model::load(q4_path()), model, o).score_text(text, "q4");
    const file_report r = summarize("q4", s);
    EXPECT_GT(r.kld_mean, 0.0);
    EXPECT_LT(r.kld_mean, 0.1);
    EXPECT_GT(r.top1, 0.8);
    EXPECT_LT(r.top1, 1.0);
    EXPECT_GE(r.kld_max, r.kld_p99);
    EXPECT_GE(r.kld_p99, r.kld_median);
    for (double k : s.kld) ASSERT_GE(k, 0.0);
}

TEST_F(EvalShort, ResultsDoNotDependOnThreadCount) {
    ppl_options o;
    o.n_ctx = 64;
    o.n_threads = 1;
    const auto a = evaluator(model, nullptr, o).score_text(text, "t1");
    o.n_threads = 3;
    const auto b = evaluator(model, nullptr, o).score_text(text, "t3");
    EXPECT_EQ(a.nll, b.nll);
}

TEST_F(EvalShort, BadInputFailsWithClearMessages) {
    ppl_options o;
    o.n_ctx = 1024;  // the model's context is 512
    try {
        evaluator(model, nullptr, o);
        FAIL();
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("exceeds the model's context length 512"), std::string::npos) << e.what();
    }
    o.allow_long_context = true;
    EXPECT_NO_THROW(evaluator(model, nullptr, o));
    o.n_ctx = 256;
    o.allow_long_context = false;
    // Too short for two chunks.
    EXPECT_THROW(evaluator(model, nullptr, o).score_text("Once upon a time.", "tiny"), error);
    // Missing and empty files.
    EXPECT_THROW(read_text_file(test::temp_dir() + "/nope.txt"), error);
    const std::string empty = test::temp_dir() + "/empty.txt";
    std::ofstream(empty).close();
    try {
        read_text_file(empty);
        FAIL();
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
    }
    o.proto = protocol::documents;
    EXPECT_THROW(evaluator(model, nullptr, o).score_text("\n<|endoftext|>\n", "no docs"), error);
    EXPECT_THROW(parse_protocol("paragraphs"), error);
}

TEST(SplitDocuments, SeparatorLinesOnly) {
    const auto d = split_documents("a b\n<|endoftext|>\n\n c \n<|endoftext|>\nnot <|endoftext|> here\n", "<|endoftext|>");
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0], "a b");
    EXPECT_EQ(d[1], "c");
    EXPECT_EQ(d[2], "not <|endoftext|> here");
    EXPECT_EQ(split_documents("x\r\n<|endoftext|>\r\ny", "<|endoftext|>").size(), 2u);
}

TEST(Kld, TokenMath) {
    const float a[4] = {1.0f, 2.0f, 3.0f, 0.5f};
    const float b[4] = {1.5f, 2.0f, 2.5f, 0.5f};
    const token_kld r = score_token_kld(a, b, 4, 2);
    double la = 0, lb = 0;
    for (int i = 0; i < 4; ++i) {
        la += std::exp(double(a[i]));
        lb += std::exp(double(b[i]));
    }
    la = std::log(la);
    lb = std::log(lb);
    double kld = 0;
    for (int i = 0; i < 4; ++i) kld += std::exp(b[i] - lb) * ((b[i] - lb) - (a[i] - la));
    EXPECT_NEAR(r.kld, kld, 1e-12);
    EXPECT_NEAR(r.nll, la - 3.0, 1e-12);
    EXPECT_NEAR(r.nll_ref, lb - 2.5, 1e-12);
    EXPECT_NEAR(r.p_diff, std::exp(3.0 - la) - std::exp(2.5 - lb), 1e-12);
    EXPECT_TRUE(r.same_top);
    EXPECT_EQ(score_token_kld(a, a, 4, 0).kld, 0.0);
    const mean_se m = mean_and_se({1, 2, 3, 4});
    EXPECT_DOUBLE_EQ(m.mean, 2.5);
    EXPECT_NEAR(m.se, std::sqrt(1.25 / 3), 1e-12);
    EXPECT_DOUBLE_EQ(percentile_sorted({1, 2, 3, 4, 5}, 0.5), 3.0);
    EXPECT_DOUBLE_EQ(percentile_sorted({0, 10}, 0.99), 9.9);
}

TEST(Gate, ParsesAndChecks) {
    const auto g = parse_gate("kld<=0.02, top1>=0.9,ppl<7");
    ASSERT_EQ(g.size(), 3u);
    EXPECT_EQ(g[0].metric, "kld");
    EXPECT_EQ(g[0].op, gate_op::le);
    EXPECT_DOUBLE_EQ(g[0].value, 0.02);
    EXPECT_EQ(g[1].op, gate_op::ge);
    EXPECT_EQ(g[2].op, gate_op::lt);
    EXPECT_TRUE(gate_needs_reference(g[0]));
    EXPECT_FALSE(gate_needs_reference(g[2]));
    file_report f;
    f.path = "a.txt";
    f.has_reference = true;
    f.kld_mean = 0.01;
    f.top1 = 0.95;
    f.ppl = 6.5;
    EXPECT_TRUE(check_gate(g, {f}).empty());
    f.kld_mean = 0.03;
    f.ppl = 7.0;
    const auto fails = check_gate(g, {f});
    ASSERT_EQ(fails.size(), 2u);
    EXPECT_NE(fails[0].find("kld<=0.02"), std::string::npos) << fails[0];
    EXPECT_NE(fails[1].find("ppl<7"), std::string::npos) << fails[1];
    f.has_reference = false;
    EXPECT_NE(check_gate(g, {f})[0].find("needs a reference"), std::string::npos);
}

TEST(Gate, SyntaxErrors) {
    for (const char* bad : {"", "kld", "kld<<0.1", "kld=0.1", "foo<=1", "kld<=abc", "kld<=", "kld<=0.1,", "<=0.1",
                            "kld<=0.1x", "kld!=0"}) {
        try {
            parse_gate(bad);
            FAIL() << "accepted '" << bad << "'";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("gate"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace lowbit::eval
