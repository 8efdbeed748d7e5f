// AWQ on stories260K: the layer-by-layer runner reproduces llama_context's logits, and folding the
// searched scales (no clipping) leaves the F32 model's output unchanged before rounding, while the
// scaled weights do differ from the originals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lowbit/model_file.hpp"
#include "model/llama.hpp"
#include "quant/awq.hpp"
#include "quant/calib_data.hpp"
#include "quant/weight_methods.hpp"
#include "model/context_options.hpp"
#include "quant/stories_calib.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {


std::vector<float> context_logits(model_data m, const std::vector<std::vector<int32_t>>& seqs) {
    auto model = std::make_shared<const llama_model>(std::move(m));
    std::vector<float> all;
    for (const auto& s : seqs) {
        llama_context ctx(model, test_context_options(static_cast<int64_t>(s.size()), 512, 1));
        const auto l = ctx.decode(s, 0);
        all.insert(all.end(), l.begin(), l.end());
    }
    return all;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0.0, mx = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        d = std::max(d, std::fabs(double(a[i]) - b[i]));
        mx = std::max(mx, std::fabs(double(b[i])));
    }
    return d / mx;
}

class Awq : public test::Stories260KCalib {
protected:
    Awq() : Stories260KCalib(7) {}
};

TEST_F(Awq, LayerwiseRunnerMatchesContextLogits) {
    ASSERT_EQ(seqs_.size(), 4u);
    ASSERT_EQ(seqs_[0].size(), 64u);
    auto layers = load_layers_f32(m_);
    std::vector<float> logits;
    int visits = 0;
    run_layerwise(m_, seqs_, layers, [&](int64_t, calib_point, layer_f32&, const float*, int64_t n_tok, int64_t) {
        EXPECT_EQ(n_tok, 4 * 64);
        ++visits;
    }, 1, &logits);
    EXPECT_EQ(visits, 5 * 4);
    const auto ref = context_logits(m_, seqs_);
    ASSERT_EQ(logits.size(), ref.size());
    EXPECT_LT(max_rel_diff(logits, ref), 1e-5);
}

TEST_F(Awq, FoldedScalesLeaveF32ModelUnchanged) {
    awq_options o;
    o.clip = false;
    o.n_grid = 10;
    o.threads = 2;
    const type t = type_from_name("int3_g32").value();
    const model_data a = awq_transform(m_, seqs_, [&](const std::string&) { return std::optional<type>(t); }, o);
    // The weights were rescaled (some alpha > 0 won the search somewhere)...
    double changed = 0.0;
    for (const char* nm : {"blk.0.attn_norm.weight", "blk.2.ffn_norm.weight", "blk.4.ffn_down.weight"}) {
        const auto* x = m_.find_tensor(nm);
        const auto* y = a.find_tensor(nm);
        ASSERT_TRUE(x && y);
        ASSERT_EQ(x->bytes.size(), y->bytes.size());
        const auto* fx = reinterpret_cast<const float*>(x->bytes.data());
        const auto* fy = reinterpret_cast<const float*>(y->bytes.data());
        for (size_t i = 0; i < x->bytes.size() / 4; ++i) changed = std::max(changed, double(std::fabs(fx[i] - fy[i])));
    }
    EXPECT_GT(changed, 1e-3);
    // ...but the F32 function is the same: logits of the whole model agree to ~1e-5 relative.
    const auto ref = context_logits(m_, seqs_);
    const auto got = context_logits(a, seqs_);
    EXPECT_LT(max_rel_diff(got, ref), 2e-5);
}

// The whole-model AWQ path encodes with the error-minimizing scale search: the embedding, which AWQ
// does not scale, comes out byte-identical to `--method mse`'s and differs from RTN's.
TEST_F(Awq, PipelineEncodesWithTheScaleSearch) {
    quantize_options qo;
    qo.preset = "int3_g32";
    qo.pure = true;
    qo.threads = 2;
    const std::string dir = test::temp_dir();
    weight_method_options wm;
    wm.method = "awq";
    wm.calib.text_path = test::shared_path(test::k_stories_text);
    wm.calib.n_seq = 2;
    wm.calib.seq_len = 64;
    wm.awq.threads = 2;
    quantize_model_with_method(m_, dir + "/awq.gguf", qo, wm);
    quantize_model(m_, dir + "/rtn.gguf", qo);
    qo.method = quant_method::mse;
    quantize_model(m_, dir + "/mse.gguf", qo);
    const model_data a = load_model(dir + "/awq.gguf"), r = load_model(dir + "/rtn.gguf"), s = load_model(dir + "/mse.gguf");
    const auto *ta = a.find_tensor("token_embd.weight"), *tr = r.find_tensor("token_embd.weight"),
               *ts = s.find_tensor("token_embd.weight");
    ASSERT_TRUE(ta && tr && ts);
    ASSERT_EQ(ta->bytes.size(), ts->bytes.size());
    EXPECT_TRUE(std::equal(ta->bytes.begin(), ta->bytes.end(), ts->bytes.begin()));
    EXPECT_FALSE(std::equal(ta->bytes.begin(), ta->bytes.end(), tr->bytes.begin()));
}

}  // namespace
}  // namespace lowbit
