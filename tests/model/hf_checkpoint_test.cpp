// A real Hugging Face checkpoint end to end: SmolLM2-135M written by transformers' save_pretrained
// (config.json in the transformers-5 layout, model.safetensors, tokenizer.json), with transformers'
// own tokenization and logits as the reference (scripts/hf_reference.sh makes both; torch and
// transformers are too large for CI, so this runs when LOWBIT_HF_REF names that directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lowbit/quantize.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

struct hf_reference {
    std::string dir;
    nlohmann::json ref;
};

bool load_reference(hf_reference& r) {
    const char* d = std::getenv("LOWBIT_HF_REF");
    if (!d || !*d || !test::file_exists(std::string(d) + "/reference.json")) return false;
    r.dir = d;
    std::ifstream f(r.dir + "/reference.json");
    r.ref = nlohmann::json::parse(f);
    return true;
}

int argmax(const float* x, int64_t n) { return static_cast<int>(std::max_element(x, x + n) - x); }

TEST(SlowHfCheckpoint, ConvertsTokenizesAndMatchesTransformersLogits) {
    hf_reference r;
    if (!load_reference(r)) GTEST_SKIP() << "set LOWBIT_HF_REF (made by scripts/hf_reference.sh)";
    const std::vector<int32_t> ids = r.ref["ids"].get<std::vector<int32_t>>();
    const std::vector<int> hf_argmax = r.ref["argmax"].get<std::vector<int>>();
    ASSERT_GE(ids.size(), 64u);

    // The directory loads as a model (safetensors + config.json + tokenizer.json).
    const model_data m = load_model(r.dir);
    EXPECT_EQ(m.get_float("llama.rope.freq_base", 0), 100000.0);
    const auto tok = tokenizer::from_model(m);
    // Tokenization equals transformers' on the same text (the reference keeps its first 256 ids).
    const auto ours = tok->encode(r.ref["text"].get<std::string>(), false);
    ASSERT_GE(ours.size(), ids.size());
    const auto mism = std::mismatch(ids.begin(), ids.end(), ours.begin());
    EXPECT_TRUE(mism.first == ids.end()) << "first difference at token " << (mism.first - ids.begin()) << ": transformers "
                                         << *mism.first << " (" << tok->token_to_piece(*mism.first) << "), lowbit "
                                         << *mism.second << " (" << tok->token_to_piece(*mism.second) << ")";

    auto model = std::make_shared<const llama_model>(load_model(r.dir));
    context_options co;
    co.n_ctx = static_cast<int64_t>(ids.size());
    co.n_threads = 2;
    llama_context ctx(model, co);
    const int64_t nv = model->config().n_vocab;
    const auto logits = ctx.decode(ids, 0);
    int agree = 0;
    for (size_t t = 0; t < ids.size(); ++t) agree += argmax(logits.data() + t * nv, nv) == hf_argmax[t];
    // F32 vs F32 with different summation orders: near-ties may flip, nothing else.
    EXPECT_GE(agree, static_cast<int>(ids.size()) - 2) << agree << " of " << ids.size();
    const auto last = r.ref["last_logits"];
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < last.size(); ++i) {
        const float* ours_row = logits.data() + (ids.size() - last.size() + i) * nv;
        for (int64_t v = 0; v < nv; ++v) {
            const double h = last[i][v].get<double>();
            max_diff = std::max(max_diff, std::abs(h - ours_row[v]));
            max_abs = std::max(max_abs, std::abs(h));
        }
    }
    std::printf("argmax agreement %d/%zu, last-4 logits max |diff| %.2e (max |logit| %.1f)\n", agree, ids.size(),
                max_diff, max_abs);
    EXPECT_LT(max_diff, 1e-3 * max_abs);

    // ... and quantizes: Q8_0 of the HF checkpoint keeps transformers' argmax almost everywhere.
    const std::string out = test::temp_dir() + "/hf-q8_0.gguf";
    quantize_options qo;
    qo.preset = "q8_0";
    quantize_model(m, out, qo);
    auto q = llama_model::load(out);
    llama_context qctx(q, co);
    const auto ql = qctx.decode(ids, 0);
    int qagree = 0;
    for (size_t t = 0; t < ids.size(); ++t) qagree += argmax(ql.data() + t * nv, nv) == hf_argmax[t];
    std::printf("Q8_0: argmax agreement %d/%zu\n", qagree, ids.size());
    EXPECT_GE(qagree, static_cast<int>(ids.size() * 9 / 10));
}

}  // namespace
}  // namespace lowbit
