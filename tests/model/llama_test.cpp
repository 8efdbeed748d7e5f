// The LLaMA forward pass against a naive double-precision re-implementation written from the
// formulas, the llama2.c checkpoint against its GGUF conversion, KV-cache consistency across batch
// splits, and errors on bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "lowbit/error.hpp"
#include "model/context_options.hpp"
#include "model/llama.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

std::string gguf_path() { return test::shared_path("models/stories260K/stories260K-f32.gguf"); }
std::string llama2c_path() { return test::shared_path("models/stories260K/stories260K.bin"); }

double nmse(std::span<const float> a, const std::vector<double>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < b.size(); ++i) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return num / den;
}

std::vector<double> dequant(const weight_matrix& w) {
    std::vector<float> row(static_cast<size_t>(w.n_cols));
    std::vector<double> out;
    for (int64_t r = 0; r < w.n_rows; ++r) {
        dequantize_row(w.t, w.row(r), row.data(), w.n_cols);
        out.insert(out.end(), row.begin(), row.end());
    }
    return out;
}

// y = W x for W [rows][cols].
std::vector<double> mv(const std::vector<double>& W, const std::vector<double>& x, int64_t rows) {
    const auto cols = static_cast<int64_t>(x.size());
    std::vector<double> y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        double s = 0;
        for (int64_t i = 0; i < cols; ++i) s += W[size_t(r * cols + i)] * x[size_t(i)];
        y[size_t(r)] = s;
    }
    return y;
}

std::vector<double> rms(const std::vector<double>& x, const std::vector<float>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double s = 1.0 / std::sqrt(ss / double(x.size()) + eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * w[i];
    return y;
}

// Logits of every position of `toks`, naive: every position recomputes attention over its prefix.
std::vector<double> naive_logits(const llama_model& m, const std::vector<int32_t>& toks) {
    const auto& c = m.config();
    const int64_t E = c.n_embd, D = c.head_dim, H = c.n_head, HKV = c.n_head_kv;
    const auto emb = dequant(m.tok_embd());
    const auto out_w = dequant(m.output());
    struct lw {
        std::vector<double> q, k, v, o, g, u, d;
    };
    std::vector<lw> L;
    for (const auto& l : m.layers())
        L.push_back({dequant(l.wq), dequant(l.wk), dequant(l.wv), dequant(l.wo), dequant(l.w_gate), dequant(l.w_up),
                     dequant(l.w_down)});
    const auto n = static_cast<int64_t>(toks.size());
    std::vector<std::vector<double>> x(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) x[size_t(t)].assign(emb.begin() + toks[size_t(t)] * E, emb.begin() + (toks[size_t(t)] + 1) * E);
    auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < c.n_rot / 2; ++i) {
                const double th = double(pos) * std::pow(double(c.rope_freq_base), -2.0 * double(i) / double(c.n_rot));
                double& a = v[size_t(h * D + 2 * i)];
                double& b = v[size_t(h * D + 2 * i + 1)];
                const double a0 = a, b0 = b;
                a = a0 * std::cos(th) - b0 * std::sin(th);
                b = a0 * std::sin(th) + b0 * std::cos(th);
            }
    };
    for (size_t l = 0; l < L.size(); ++l) {
        const auto& lay = m.layers()[l];
        std::vector<std::vector<double>> q(static_cast<size_t>(n)), k(q), v(q);
        for (int64_t t = 0; t < n; ++t) {
            const auto xn = rms(x[size_t(t)], lay.attn_norm, c.rms_eps);
            q[size_t(t)] = mv(L[l].q, xn, H * D);
            k[size_t(t)] = mv(L[l].k, xn, HKV * D);
            v[size_t(t)] = mv(L[l].v, xn, HKV * D);
            rope(q[size_t(t)], H, t);
            rope(k[size_t(t)], HKV, t);
        }
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> att(size_t(H * D), 0.0);
            for (int64_t h = 0; h < H; ++h) {
                const int64_t kh = h / (H / HKV);
                std::vector<double> s(size_t(t + 1));
                double mx = -1e300;
                for (int64_t j = 0; j <= t; ++j) {
                    double d = 0;
                    for (int64_t i = 0; i < D; ++i) d += q[size_t(t)][size_t(h * D + i)] * k[size_t(j)][size_t(kh * D + i)];
                    s[size_t(j)] = d / std::sqrt(double(D));
                    mx = std::max(mx, s[size_t(j)]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - mx));
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < D; ++i)
                        att[size_t(h * D + i)] += s[size_t(j)] / sum * v[size_t(j)][size_t(kh * D + i)];
            }
            const auto o = mv(L[l].o, att, E);
            for (int64_t i = 0; i < E; ++i) x[size_t(t)][size_t(i)] += o[size_t(i)];
            const auto xn = rms(x[size_t(t)], lay.ffn_norm, c.rms_eps);
            const int64_t F = lay.w_gate.n_rows;
            auto g = mv(L[l].g, xn, F);
            const auto u = mv(L[l].u, xn, F);
            for (int64_t i = 0; i < F; ++i) g[size_t(i)] = g[size_t(i)] / (1 + std::exp(-g[size_t(i)])) * u[size_t(i)];
            const auto d = mv(L[l].d, g, E);
            for (int64_t i = 0; i < E; ++i) x[size_t(t)][size_t(i)] += d[size_t(i)];
        }
    }
    std::vector<double> logits;
    for (int64_t t = 0; t < n; ++t) {
        const auto lg = mv(out_w, rms(x[size_t(t)], m.output_norm(), c.rms_eps), c.n_vocab);
        logits.insert(logits.end(), lg.begin(), lg.end());
    }
    return logits;
}

std::vector<int32_t> some_tokens(int n, int vocab) {
    std::mt19937 rng(7);
    std::vector<int32_t> t{1};
    while (static_cast<int>(t.size()) < n) t.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
    return t;
}

TEST(LlamaModel, ConfigFromStories260KMetadata) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    const auto& c = m->config();
    EXPECT_EQ(c.arch, "llama");
    EXPECT_EQ(c.n_vocab, 512);
    EXPECT_EQ(c.n_embd, 64);
    EXPECT_EQ(c.n_ff, 172);
    EXPECT_EQ(c.n_layer, 5);
    EXPECT_EQ(c.n_head, 8);
    EXPECT_EQ(c.n_head_kv, 4);
    EXPECT_EQ(c.head_dim, 8);
    EXPECT_EQ(c.n_rot, 8);
    EXPECT_EQ(c.n_ctx_train, 512);
    EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
    EXPECT_EQ(c.rope, rope_style::normal);
    EXPECT_FALSE(c.tied_output);  // the GGUF stores output.weight
    EXPECT_EQ(m->n_params(), 292800);
    EXPECT_DOUBLE_EQ(m->bits_per_weight(), 32.0);
}

TEST(LlamaModel, ForwardMatchesNaiveDoubleReference) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    const auto toks = some_tokens(40, 512);
    const auto ref = naive_logits(*m, toks);
    for (int threads : {1, 2}) {
        llama_context ctx(m, test_context_options(64, 64, threads));
        const auto got = ctx.decode(toks, 0);
        ASSERT_EQ(got.size(), ref.size());
        EXPECT_LT(nmse(got, ref), 1e-9) << "threads " << threads;
    }
}

TEST(LlamaModel, BatchSplitsAndTokenByTokenAgree) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    const auto toks = some_tokens(37, 512);
    const int64_t V = 512;
    llama_context whole(m, test_context_options(64, 64, 1));
    const auto all = whole.decode(toks, 0);
    std::vector<double> ref(all.begin(), all.end());
    // n_batch 5: the call is split into sub-batches internally.
    llama_context split(m, test_context_options(64, 5, 1));
    EXPECT_LT(nmse(split.decode(toks, 0), ref), 1e-12);
    // One token per call, through the KV cache.
    llama_context step(m, test_context_options(64, 64, 1));
    std::vector<float> stepped;
    for (int32_t t : toks) {
        const auto l = step.decode_last(std::span<const int32_t>(&t, 1));
        stepped.insert(stepped.end(), l.begin(), l.end());
    }
    EXPECT_EQ(step.n_past(), 37);
    EXPECT_LT(nmse(stepped, ref), 1e-12);
    // Only the logits asked for, and they equal the full run's.
    llama_context tail(m, test_context_options(64, 64, 1));
    const auto last = tail.decode(toks, 30);
    ASSERT_EQ(last.size(), size_t(7 * V));
    EXPECT_LT(nmse(last, std::vector<double>(ref.begin() + 30 * V, ref.end())), 1e-12);
}

// rewind(n) forgets positions n.. (the benchmarks' -d depth reuses a filled cache this way): decoding
// the rest again gives the logits of an uninterrupted run, and rewinding past n_past is refused.
TEST(LlamaModel, RewindContinuesAsIfTheLaterTokensWereNeverSeen) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    const auto toks = some_tokens(30, 512);
    llama_context ctx(m, test_context_options(64, 64, 2));
    const auto first = ctx.decode(toks, 0);
    const std::vector<double> ref(first.begin(), first.end());
    std::vector<int32_t> other(toks.begin() + 20, toks.end());
    for (auto& t : other) t = (t + 7) % 512;
    ctx.rewind(20);
    ctx.decode(other, 0);  // overwrites positions 20..29
    ctx.rewind(20);
    EXPECT_EQ(ctx.n_past(), 20);
    const auto again = ctx.decode(std::span<const int32_t>(toks).subspan(20), 0);
    EXPECT_LT(nmse(again, std::vector<double>(ref.begin() + 20 * 512, ref.end())), 1e-12);
    EXPECT_THROW(ctx.rewind(31), error);
    EXPECT_THROW(ctx.rewind(-1), error);
}

// An F16 KV cache rounds each key and value to half precision: the logits stay close to the F32
// cache's (stories260K, 60 positions, prompt then token by token) and the greedy choice is the same
// nearly everywhere; the cache takes half the bytes.
TEST(LlamaModel, F16KvCacheStaysCloseToF32) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    const auto toks = some_tokens(60, 512);
    llama_context c32(m, test_context_options(64, 64, 2, kv_type::f32));
    llama_context c16(m, test_context_options(64, 64, 2, kv_type::f16));
    EXPECT_LT(c16.n_bytes(), c32.n_bytes());
    const auto prompt = std::span<const int32_t>(toks).first(40);
    std::vector<float> a, b;
    auto l32 = c32.decode(prompt, 0);
    a.assign(l32.begin(), l32.end());
    auto l16 = c16.decode(prompt, 0);
    b.assign(l16.begin(), l16.end());
    for (size_t i = 40; i < toks.size(); ++i) {  // the decode path (one token, long cache)
        l32 = c32.decode_last(std::span<const int32_t>(&toks[i], 1));
        a.insert(a.end(), l32.begin(), l32.end());
        l16 = c16.decode_last(std::span<const int32_t>(&toks[i], 1));
        b.insert(b.end(), l16.begin(), l16.end());
    }
    const std::vector<double> ref(a.begin(), a.end());
    const double e = nmse(b, ref);
    EXPECT_GT(e, 0.0) << "the F16 cache should round something";
    EXPECT_LT(e, 1e-5);
    int agree = 0;
    const int64_t V = 512;
    for (size_t t = 0; t < a.size() / V; ++t) {
        const auto arg = [&](const std::vector<float>& l) {
            return std::max_element(l.begin() + t * V, l.begin() + (t + 1) * V) - l.begin();
        };
        agree += arg(a) == arg(b);
    }
    EXPECT_GE(agree, 58) << "of 60 positions";
}

TEST(LlamaModel, Llama2cCheckpointGivesTheSameLogitsAsGguf) {
    if (!test::file_exists(gguf_path()) || !test::file_exists(llama2c_path())) GTEST_SKIP() << "shared model missing";
    auto g = llama_model::load(gguf_path());
    auto c = llama_model::load(llama2c_path());
    EXPECT_EQ(c->config().n_vocab, g->config().n_vocab);
    EXPECT_EQ(c->config().n_head_kv, 4);
    const auto toks = some_tokens(50, 512);
    llama_context cg(g, test_context_options(64, 512, 1));
    llama_context cc(c, test_context_options(64, 512, 1));
    const auto lg = cg.decode(toks, 0);
    const auto lc = cc.decode(toks, 0);
    ASSERT_EQ(lg.size(), lc.size());
    double max_diff = 0;
    for (size_t i = 0; i < lg.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(lg[i] - lc[i])));
    EXPECT_EQ(max_diff, 0.0) << "same weights, same kernels: the logits should be identical";
}

TEST(LlamaModel, BadInputIsRejected) {
    if (!test::file_exists(gguf_path())) GTEST_SKIP() << "shared model missing";
    auto m = llama_model::load(gguf_path());
    llama_context ctx(m, test_context_options(8, 512, 1));
    const std::vector<int32_t> nine(9, 1);
    EXPECT_THROW(ctx.decode(nine, 0), error);  // context overflow
    const std::vector<int32_t> bad{1, 512};
    EXPECT_THROW(ctx.decode(bad, 0), error);   // token id out of range
    EXPECT_EQ(ctx.n_past(), 0);
    try {
        llama_model::load(test::temp_dir() + "/missing.gguf");
        FAIL() << "no error for a missing file";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.gguf"), std::string::npos) << e.what();
    }
    // A model without a required tensor.
    model_data d = load_model(gguf_path());
    d.tensors.erase(std::remove_if(d.tensors.begin(), d.tensors.end(),
                                   [](const model_tensor& t) { return t.name == "blk.3.ffn_up.weight"; }),
                    d.tensors.end());
    try {
        llama_model bad_model(std::move(d));
        FAIL() << "no error for a missing tensor";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("blk.3.ffn_up.weight"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lowbit
