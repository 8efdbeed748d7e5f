// Perplexity protocols against llama.cpp's figures (../shared/README.md) and on short texts.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/kld.hpp"
#include "eval/perplexity.hpp"
#include "lowbit/error.hpp"
#include "test_util.hpp"

namespace lowbit::eval {
namespace {

std::string stories_model(const std::string& name) {
    return test::shared_path("models/stories260K/" + name);
}

struct ppl {
    double value, se;
};

ppl perplexity_of(const token_scores& s) {
    const mean_se m = mean_and_se(s.nll);
    const double p = std::exp(m.mean);
    return {p, p * m.se};
}

ppl run_ppl(const std::string& model_path, const std::string& text_path, protocol proto, int64_t n_ctx,
            bool allow_long = false) {
    auto model = llama_model::load(model_path);
    ppl_options o;
    o.proto = proto;
    o.n_ctx = n_ctx;
    o.n_threads = 2;
    o.allow_long_context = allow_long;
    evaluator ev(model, nullptr, o);
    const auto s = ev.score_text(read_text_file(text_path), text_path);
    const ppl p = perplexity_of(s);
    std::printf("%s: PPL %.4f +/- %.4f over %zu tokens (%lld units, %.2f s in the model)\n", model_path.c_str(),
                p.value, p.se, s.nll.size(), static_cast<long long>(s.n_units), s.seconds);
    return p;
}

TEST(SlowPerplexity, Stories260KChunks256MatchesLlamaCpp) {
    const auto m = stories_model("stories260K-f32.gguf");
    const auto t = test::shared_path("data/tinystories_valid_first200.txt");
    if (!test::file_exists(m) || !test::file_exists(t)) GTEST_SKIP() << "shared files missing";
    const ppl p = run_ppl(m, t, protocol::chunks, 256);
    EXPECT_NEAR(p.value, 6.5627, 0.001);
    EXPECT_NEAR(p.se, 0.1036, 0.0005);
}

TEST(SlowPerplexity, Stories260KDocumentsMatchesReference) {
    const auto m = stories_model("stories260K-f32.gguf");
    const auto t = test::shared_path("data/tinystories_valid_first200.txt");
    if (!test::file_exists(m) || !test::file_exists(t)) GTEST_SKIP() << "shared files missing";
    const ppl p = run_ppl(m, t, protocol::documents, 512);
    EXPECT_NEAR(p.value, 3.607, 0.002);
}

TEST(SlowPerplexity, Stories260KQuantizedChunks256MatchLlamaCpp) {
    const auto t = test::shared_path("data/tinystories_valid_first200.txt");
    const auto q4 = stories_model("llama.cpp-quantized/s260k-Q4_K_M.gguf");
    const auto q2 = stories_model("llama.cpp-quantized/s260k-Q2_K.gguf");
    if (!test::file_exists(q4) || !test::file_exists(q2) || !test::file_exists(t)) GTEST_SKIP();
    EXPECT_NEAR(run_ppl(q4, t, protocol::chunks, 256, true).value, 6.6923, 0.002);
    EXPECT_NEAR(run_ppl(q2, t, protocol::chunks, 256, true).value, 7.2235, 0.002);
}

}  // namespace
}  // namespace lowbit::eval
