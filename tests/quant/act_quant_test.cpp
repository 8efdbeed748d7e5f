// Activation quantization (quant/act_observer.hpp, quant/act_quant.hpp):
//  - observers on known data: minmax of an array, percentiles of a uniform sample, the growing
//    histogram against a sorted sample, and on a heavy-tailed sample mse / entropy clip below the
//    maximum and give a lower int8 round-trip MSE than minmax;
//  - SmoothQuant folding leaves the F32 stories260K logits unchanged (1e-4) and lowers the
//    max/median ratio of per-channel activation maxima;
//  - the fallback guard keeps exactly the matrices of an artificially outlier-heavy layer weight-only;
//  - static scales go through the file metadata into the runtime's descriptors, and the load-time
//    override turns them off or to dynamic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/w8a8.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"
#include "model/llama.hpp"
#include "quant/act_observer.hpp"
#include "quant/act_quant.hpp"
#include "quant/calib_data.hpp"
#include "quant/stories_calib.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

double roundtrip_mse(const std::vector<float>& x, double clip) {
    const float d = static_cast<float>(clip / 127.0);
    std::vector<int8_t> q(x.size());
    kernels::quantize_row_s8__ref(x.data(), q.data(), static_cast<int64_t>(x.size()), d);
    double e = 0;
    for (size_t i = 0; i < x.size(); ++i) e += std::pow(double(x[i]) - double(d) * q[i], 2);
    return e / double(x.size());
}

TEST(ActObserver, MinmaxOfKnownArray) {
    const float x[] = {0.5f, -3.0f, 2.0f, 0.0f};
    abs_histogram h;
    h.add(x, 4);
    EXPECT_EQ(observe_clip(h, act_observer::minmax), 3.0);
    EXPECT_EQ(h.count(), 4.0);
    abs_histogram empty;
    EXPECT_EQ(observe_clip(empty, act_observer::entropy), 0.0);
}

TEST(ActObserver, PercentileOfUniformSample) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> x(400000);
    for (auto& v : x) v = u(rng);
    abs_histogram h;
    // Several batches with growing ranges exercise the range doubling.
    for (size_t b = 0; b < 4; ++b) {
        std::vector<float> part(x.begin() + b * 100000, x.begin() + (b + 1) * 100000);
        for (auto& v : part) v *= 1.0f / float(1 << (3 - b)) * float(1 << (3 - b));  // same values
        h.add(part.data(), static_cast<int64_t>(part.size()));
    }
    EXPECT_NEAR(observe_clip(h, act_observer::percentile, 90.0), 0.9, 2e-3);
    EXPECT_NEAR(observe_clip(h, act_observer::percentile, 50.0), 0.5, 2e-3);
    EXPECT_LE(observe_clip(h, act_observer::percentile, 99.99), h.max());
    EXPECT_THROW(observe_clip(h, act_observer::percentile, 0.0), error);
}

TEST(ActObserver, HistogramGrowsExactly) {
    std::mt19937 rng(6);
    std::exponential_distribution<float> e(1.0f);
    std::vector<float> all;
    abs_histogram h(256);
    for (int b = 0; b < 6; ++b) {  // each batch 4x larger values than the last
        std::vector<float> part(5000);
        for (auto& v : part) v = e(rng) * float(1 << (2 * b));
        h.add(part.data(), 5000);
        all.insert(all.end(), part.begin(), part.end());
    }
    EXPECT_EQ(h.count(), 30000.0);
    EXPECT_EQ(h.max(), double(*std::max_element(all.begin(), all.end())));
    double sum = 0;
    for (double c : h.bins()) sum += c;
    EXPECT_EQ(sum, 30000.0);
    std::sort(all.begin(), all.end());
    EXPECT_NEAR(observe_clip(h, act_observer::percentile, 50.0), all[15000], 2 * h.bin_width());
}

TEST(ActObserver, MseAndEntropyClipHeavyTails) {
    std::mt19937 rng(7);
    std::student_t_distribution<float> st(2.0f);
    std::vector<float> x(200000);
    for (auto& v : x) v = st(rng);
    abs_histogram h;
    h.add(x.data(), static_cast<int64_t>(x.size()));
    const double cmax = observe_clip(h, act_observer::minmax);
    const double cmse = observe_clip(h, act_observer::mse);
    const double cent = observe_clip(h, act_observer::entropy);
    const double cpct = observe_clip(h, act_observer::percentile, 99.9);
    EXPECT_LT(cmse, 0.9 * cmax);
    EXPECT_LT(cent, 0.9 * cmax);
    EXPECT_LT(cpct, cmax);
    // mse minimizes the round-trip error: better than minmax and than the other observers.
    const double e_mse = roundtrip_mse(x, cmse);
    EXPECT_LT(e_mse, roundtrip_mse(x, cmax));
    EXPECT_LT(e_mse, roundtrip_mse(x, cent));
    EXPECT_LT(e_mse, roundtrip_mse(x, cpct));
}

TEST(ActObserver, RareOutliersAreClipped) {
    // A Gaussian bulk and 5 values at 200: KL and percentile ignore the outliers, minmax does not.
    std::mt19937 rng(8);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(200000);
    for (auto& v : x) v = nd(rng);
    for (int i = 0; i < 5; ++i) x[size_t(i) * 1000] = 200.0f;
    abs_histogram h;
    h.add(x.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(observe_clip(h, act_observer::minmax), 200.0);
    EXPECT_LT(observe_clip(h, act_observer::entropy), 40.0);
    EXPECT_LT(observe_clip(h, act_observer::percentile, 99.9), 5.0);
    EXPECT_GT(observe_clip(h, act_observer::percentile, 99.9), 3.0);
}

TEST(ActObserver, Names) {
    EXPECT_EQ(parse_act_observer("kl"), act_observer::entropy);
    EXPECT_EQ(std::string(act_observer_name(parse_act_observer("mse"))), "mse");
    EXPECT_THROW(parse_act_observer("max"), error);
    EXPECT_EQ(parse_act_mode("static"), act_mode::static_tensor);
    EXPECT_THROW(parse_act_mode("int8"), error);
}


class ActQuant : public test::Stories260KCalib {
protected:
    ActQuant() : Stories260KCalib(11) {}
    // Per layer: max over channels / median over channels of max_t |X_tj| at attn_in.
    std::vector<double> attn_in_ratios(const model_data& m) {
        auto layers = load_layers_f32(m);
        std::vector<double> r;
        run_layerwise(m, seqs_, layers, [&](int64_t, calib_point p, layer_f32&, const float* x, int64_t N, int64_t n) {
            if (p != calib_point::attn_in && p != calib_point::ffn_in) return;
            std::vector<double> cm(static_cast<size_t>(n), 0.0);
            for (int64_t t = 0; t < N; ++t)
                for (int64_t j = 0; j < n; ++j) cm[j] = std::max(cm[j], double(std::fabs(x[t * n + j])));
            std::vector<double> s = cm;
            std::nth_element(s.begin(), s.begin() + n / 2, s.end());
            r.push_back(*std::max_element(cm.begin(), cm.end()) / s[n / 2]);
        }, 1);
        return r;
    }
};

// Layer 2's input channel 5 multiplied by 1000 (attn_norm), its weight column divided by 1000: the same
// F32 function, but per-token int8 activations of q/k/v then lose every other channel.
model_data with_outlier_layer(const model_data& in) {
    model_data out = in;
    auto edit = [&](const std::string& name, auto fn) {
        for (auto& t : out.tensors)
            if (t.name == name) {
                auto buf = std::make_shared<std::vector<float>>(static_cast<size_t>(t.n_elements()));
                std::memcpy(buf->data(), t.bytes.data(), buf->size() * 4);
                fn(*buf, t.shape[0]);
                t.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->data()), buf->size() * 4);
                out.keepalive.push_back(buf);
            }
    };
    edit("blk.2.attn_norm.weight", [](std::vector<float>& v, int64_t) { v[5] *= 1000.0f; });
    for (const char* w : {"blk.2.attn_q.weight", "blk.2.attn_k.weight", "blk.2.attn_v.weight"})
        edit(w, [](std::vector<float>& v, int64_t n) {
            for (size_t r = 0; r < v.size() / size_t(n); ++r) v[r * n + 5] /= 1000.0f;
        });
    return out;
}

std::vector<float> final_logits(const model_data& m, const std::vector<std::vector<int32_t>>& seqs) {
    auto layers = load_layers_f32(m);
    std::vector<float> l;
    run_layerwise(m, seqs, layers, {}, 1, &l);
    return l;
}

TEST_F(ActQuant, SmoothQuantKeepsF32FunctionAndFlattensChannels) {
    const model_data s = smoothquant_transform(m_, seqs_, 0.5, 1);
    const auto a = final_logits(m_, seqs_), b = final_logits(s, seqs_);
    ASSERT_EQ(a.size(), b.size());
    double d = 0, mx = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d = std::max(d, std::fabs(double(a[i]) - b[i]));
        mx = std::max(mx, std::fabs(double(a[i])));
    }
    EXPECT_LT(d / mx, 1e-4);
    // An outlier channel (x1000, see with_outlier_layer) is migrated into the weights: layer 2's
    // attn_in max/median channel ratio drops by orders of magnitude.
    const model_data o = with_outlier_layer(m_);
    const model_data os = smoothquant_transform(o, seqs_, 0.5, 1);
    const auto r0 = attn_in_ratios(o), r1 = attn_in_ratios(os);
    ASSERT_EQ(r0.size(), 10u);
    EXPECT_GT(r0[4], 1000.0);
    EXPECT_LT(r1[4], r0[4] / 100.0);
    // Weights changed.
    EXPECT_NE(0, std::memcmp(m_.find_tensor("blk.0.attn_q.weight")->bytes.data(),
                             s.find_tensor("blk.0.attn_q.weight")->bytes.data(), 64 * 4));
}

TEST_F(ActQuant, GuardFallsBackOnOutlierLayerOnly) {
    const model_data m = with_outlier_layer(m_);
    act_quant_options o;
    o.mode = act_mode::dynamic;
    o.fallback_bound = 0.1;
    o.threads = 1;
    const act_quant_report r = calibrate_act_quant(m, seqs_, o);
    ASSERT_EQ(r.tensors.size(), 35u);
    for (const auto& t : r.tensors) {
        const bool outlier = t.name == "blk.2.attn_q.weight" || t.name == "blk.2.attn_k.weight" ||
                             t.name == "blk.2.attn_v.weight";
        EXPECT_EQ(t.fallback, outlier) << t.name << " rel_err " << t.rel_err;
        if (!outlier) {
            EXPECT_LT(t.rel_err, 0.05) << t.name;
        }
    }
    EXPECT_EQ(r.n_fallback(), 3u);
    EXPECT_GT(r.top1_agreement, 0.9);
    // Without the guard the same model loses agreement.
    o.fallback_bound = 0;
    const act_quant_report bad = calibrate_act_quant(m, seqs_, o);
    EXPECT_EQ(bad.n_fallback(), 0u);
    EXPECT_LT(bad.top1_agreement, r.top1_agreement);
    EXPECT_GT(bad.kld, 5 * r.kld);
}

TEST_F(ActQuant, StaticScalesReachTheRuntime) {
    act_quant_options o;
    o.mode = act_mode::static_tensor;
    o.observer = act_observer::percentile;
    o.threads = 1;
    const act_quant_report r = calibrate_act_quant(m_, seqs_, o);
    for (const auto& t : r.tensors) {
        EXPECT_GT(t.scale, 0) << t.name;
        EXPECT_LE(t.clip, t.amax) << t.name;
        EXPECT_GE(t.rel_err, 0) << t.name;
    }
    EXPECT_GT(r.top1_agreement, 0.9);
    model_data m = m_;
    set_act_quant_metadata(m, r, o);
    EXPECT_EQ(m.get_string("lowbit.act_quant.mode"), "static");
    const llama_model model(m);
    const auto& L1 = model.layers()[1];
    EXPECT_EQ(L1.w_down.act.mode, act_mode::static_tensor);
    EXPECT_FLOAT_EQ(L1.w_down.act.scale, static_cast<float>(r.tensors[13].scale));  // blk.1.ffn_down
    EXPECT_EQ(r.tensors[13].name, "blk.1.ffn_down.weight");
    EXPECT_EQ(model.output().act.mode, act_mode::none);
    load_options off;
    off.act_quant = "none";
    EXPECT_EQ(llama_model(m, off).layers()[1].w_down.act.mode, act_mode::none);
    load_options dyn;
    dyn.act_quant = "dynamic";
    EXPECT_EQ(llama_model(m_, dyn).layers()[0].wq.act.mode, act_mode::dynamic);
    EXPECT_EQ(llama_model(m_).layers()[0].wq.act.mode, act_mode::none);
}

}  // namespace
}  // namespace lowbit
