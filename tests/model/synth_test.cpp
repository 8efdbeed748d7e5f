// Synthetic models: a tiny synth model in several types loads as a llama model, runs a forward pass
// with finite, non-constant logits; generation is deterministic in the seed; bad options fail.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "lowbit/error.hpp"
#include "model/llama.hpp"
#include "model/synth.hpp"
#include "test_util.hpp"
#include "tiny_synth.hpp"

namespace lowbit {
namespace {

synth_options tiny(type t) { return test::tiny_synth(t, 7); }

TEST(Synth, TinyModelRunsWithFiniteLogits) {
    for (type t : {type::q4_0, type::q8_0, type::q4_k, type::q6_k, type::f32}) {
        SCOPED_TRACE(type_name(t));
        auto model = std::make_shared<const llama_model>(synth_llama(tiny(t)));
        EXPECT_EQ(model->config().n_embd, 256);
        EXPECT_EQ(model->config().n_vocab, 300);
        EXPECT_FALSE(model->config().tied_output);
        EXPECT_EQ(model->layers()[0].wq.t, t);
        context_options co;
        co.n_ctx = 64;
        co.n_batch = 64;
        co.n_threads = 2;
        llama_context ctx(model, co);
        const std::vector<int32_t> toks = {1, 50, 260, 7, 299};
        const auto logits = ctx.decode(toks, 0);
        ASSERT_EQ(logits.size(), toks.size() * 300);
        float lo = logits[0], hi = logits[0];
        for (float v : logits) {
            ASSERT_TRUE(std::isfinite(v));
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        EXPECT_GT(hi - lo, 0.1f);   // not constant
        EXPECT_LT(hi - lo, 1000.0f);  // stays small: weights scaled by 1/sqrt(fan_in)
    }
}

TEST(Synth, DeterministicInSeedAndThreads) {
    synth_options a = tiny(type::q4_0), b = tiny(type::q4_0);
    b.n_threads = 1;
    const model_data ma = synth_llama(a), mb = synth_llama(b);
    ASSERT_EQ(ma.tensors.size(), mb.tensors.size());
    for (size_t i = 0; i < ma.tensors.size(); ++i) {
        ASSERT_EQ(ma.tensors[i].name, mb.tensors[i].name);
        ASSERT_TRUE(std::equal(ma.tensors[i].bytes.begin(), ma.tensors[i].bytes.end(), mb.tensors[i].bytes.begin(),
                               mb.tensors[i].bytes.end()))
            << ma.tensors[i].name;
    }
    b.seed = 8;
    const model_data mc = synth_llama(b);
    const auto* qa = ma.find_tensor("blk.0.attn_q.weight");
    const auto* qc = mc.find_tensor("blk.0.attn_q.weight");
    EXPECT_FALSE(std::equal(qa->bytes.begin(), qa->bytes.end(), qc->bytes.begin(), qc->bytes.end()));
}

TEST(Synth, CopiesTokenizerAndWritesGguf) {
    const std::string tok = test::shared_path("models/stories260K/stories260K-f32.gguf");
    if (!test::file_exists(tok)) GTEST_SKIP() << tok << " missing";
    synth_options o = tiny(type::q8_0);
    o.n_vocab = 512;
    o.tokenizer_from = tok;
    const std::string path = test::temp_dir() + "/synth.gguf";
    write_synth_llama(o, path);
    auto model = llama_model::load(path);
    EXPECT_EQ(model->config().n_vocab, 512);
    EXPECT_EQ(model->data().get_string("tokenizer.ggml.model"), "llama");
    o.n_vocab = 300;  // does not match the tokenizer's 512 tokens
    EXPECT_THROW(synth_llama(o), error);
}

TEST(Synth, RejectsBadShapes) {
    synth_options o = tiny(type::q4_k);
    o.n_embd = 96;  // not a multiple of 256: q4_k cannot store the rows
    o.n_head = 4;
    EXPECT_THROW(synth_llama(o), error);
    o = tiny(type::q4_0);
    o.n_head = 3;
    EXPECT_THROW(synth_llama(o), error);
    o = tiny(type::q4_0);
    o.n_vocab = 100;  // built-in vocabulary needs 259
    EXPECT_THROW(synth_llama(o), error);
}

}  // namespace
}  // namespace lowbit
