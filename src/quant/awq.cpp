// AWQ scale search, folding and clipping; see awq.hpp.
#include "quant/awq.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "model/llama.hpp"
#include "quant/calib_data.hpp"
#include "quant/gptq.hpp"

namespace lowbit {
namespace {

struct consumer {
    std::string name;
    std::vector<float>* w;  // [rows][n]
    int64_t rows;
    std::optional<type> t;
    bool clip;
};

// sum_r e_r^T H e_r, e_r = Q(w_r * s) / s - w_r (Q: encode + decode in t). H: [n][n].
double scaled_loss(const consumer& c, int64_t n, const std::vector<float>& s, const std::vector<double>& h,
                   int threads) {
    std::vector<double> per_row(static_cast<size_t>(c.rows), 0.0);
    const size_t rb = row_bytes(*c.t, n);
    parallel_for(c.rows, threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
        std::vector<double> e(static_cast<size_t>(n));
        std::vector<uint8_t> q(rb);
        for (int64_t r = r0; r < r1; ++r) {
            const float* w = c.w->data() + r * n;
            for (int64_t i = 0; i < n; ++i) a[i] = w[i] * s[i];
            quantize_row(*c.t, a.data(), q.data(), n);
            dequantize_row(*c.t, q.data(), b.data(), n);
            for (int64_t i = 0; i < n; ++i) e[i] = double(b[i]) / s[i] - double(w[i]);
            double acc = 0.0;
            for (int64_t i = 0; i < n; ++i) {
                if (e[i] == 0.0) continue;
                const double* hi = &h[static_cast<size_t>(i * n)];
                double t = 0.0;
                for (int64_t j = 0; j < n; ++j) t += hi[j] * e[j];
                acc += e[i] * t;
            }
            per_row[r] = acc;
        }
    });
    double sum = 0.0;
    for (double v : per_row) sum += v;
    return sum;
}

// AWQ auto-clip of one (already scaled) matrix against H (of its scaled inputs).
void clip_search(const consumer& c, int64_t n, const std::vector<double>& h, const awq_options& o) {
    const type t = *c.t;
    const int64_t bs = traits(t).block_size;
    const int64_t G = bs > 0 ? bs : n;
    parallel_for(c.rows, o.threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<float> seg(static_cast<size_t>(G)), deq(static_cast<size_t>(G)), best(static_cast<size_t>(G));
        std::vector<uint8_t> q(row_bytes(t, G));
        std::vector<double> e(static_cast<size_t>(G));
        for (int64_t r = r0; r < r1; ++r) {
            float* w = c.w->data() + r * n;
            for (int64_t g0 = 0; g0 < n; g0 += G) {
                const int64_t len = std::min(G, n - g0);
                if (!row_supported(t, len)) continue;
                float amax = 0.0f;
                for (int64_t i = 0; i < len; ++i) amax = std::max(amax, std::fabs(w[g0 + i]));
                if (!(amax > 0.0f)) continue;
                double best_loss = -1.0;
                for (int k = 0; k <= o.n_clip; ++k) {
                    const float cmax = amax * static_cast<float>(1.0 - o.max_shrink * double(k) / o.n_clip);
                    for (int64_t i = 0; i < len; ++i) seg[i] = std::clamp(w[g0 + i], -cmax, cmax);
                    quantize_row(t, seg.data(), q.data(), len);
                    dequantize_row(t, q.data(), deq.data(), len);
                    for (int64_t i = 0; i < len; ++i) e[i] = double(deq[i]) - double(w[g0 + i]);
                    double loss = 0.0;
                    for (int64_t i = 0; i < len; ++i) {
                        double tt = 0.0;
                        const double* hi = &h[static_cast<size_t>((g0 + i) * n + g0)];
                        for (int64_t j = 0; j < len; ++j) tt += hi[j] * e[j];
                        loss += e[i] * tt;
                    }
                    if (best_loss < 0 || loss < best_loss) {
                        best_loss = loss;
                        std::copy(seg.begin(), seg.begin() + len, best.begin());
                    }
                }
                std::copy(best.begin(), best.begin() + len, w + g0);
            }
        }
    });
}

// Searches s for the consumers of X: [N][n]; `tie` maps a channel to its scale's index (identity, or
// GQA: o's input channel -> v's output channel), n_s scales. Returns s indexed by scale index.
std::vector<float> search_scales(std::vector<consumer>& cons, const float* x, int64_t N, int64_t n,
                                 const std::vector<int64_t>& tie, int64_t n_s, const awq_options& o,
                                 std::vector<double>& h) {
    std::vector<double> xm(static_cast<size_t>(n_s), 0.0), cnt(static_cast<size_t>(n_s), 0.0);
    for (int64_t t = 0; t < N; ++t)
        for (int64_t i = 0; i < n; ++i) xm[tie[i]] += std::fabs(double(x[t * n + i]));
    for (int64_t i = 0; i < n; ++i) cnt[tie[i]] += double(N);
    for (int64_t j = 0; j < n_s; ++j) xm[j] = std::max(xm[j] / std::max(cnt[j], 1.0), 1e-8);
    h.clear();
    hessian_accumulate(h, x, N, n, o.threads);

    std::vector<float> best_s(static_cast<size_t>(n_s), 1.0f), s(static_cast<size_t>(n)), sj(best_s.size());
    double best = -1.0;
    for (int k = 0; k < o.n_grid; ++k) {
        const double alpha = double(k) / o.n_grid;
        double mx = 0.0, mn = 1e300;
        for (int64_t j = 0; j < n_s; ++j) {
            sj[j] = static_cast<float>(std::max(std::pow(xm[j], alpha), 1e-4));
            mx = std::max(mx, double(sj[j]));
            mn = std::min(mn, double(sj[j]));
        }
        const double norm = std::sqrt(mx * mn);
        for (auto& v : sj) v = static_cast<float>(v / norm);
        for (int64_t i = 0; i < n; ++i) s[i] = sj[tie[i]];
        double loss = 0.0;
        for (const auto& c : cons)
            if (c.t) loss += scaled_loss(c, n, s, h, o.threads);
        if (best < 0 || loss < best) {
            best = loss;
            best_s = sj;
        }
    }
    return best_s;
}

void apply_point(std::vector<consumer> cons, const float* x, int64_t N, int64_t n, const std::vector<int64_t>& tie,
                 int64_t n_s, const awq_options& o, const std::function<void(const std::vector<float>&)>& fold_prev) {
    bool any = false;
    for (const auto& c : cons) any = any || c.t.has_value();
    if (!any) return;
    std::vector<double> h;
    const std::vector<float> sj = search_scales(cons, x, N, n, tie, n_s, o, h);
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) s[i] = sj[tie[i]];
    for (auto& c : cons)
        for (int64_t r = 0; r < c.rows; ++r)
            for (int64_t i = 0; i < n; ++i) (*c.w)[r * n + i] *= s[i];
    fold_prev(sj);
    if (!o.clip) return;
    // Inputs of the scaled matrices are x / s: H' = diag(1/s) H diag(1/s).
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) h[i * n + j] /= double(s[i]) * double(s[j]);
    for (const auto& c : cons)
        if (c.t && c.clip) clip_search(c, n, h, o);
}

}  // namespace

model_data awq_transform(const model_data& in, const std::vector<std::vector<int32_t>>& seqs, const awq_type_fn& type_of,
                         const awq_options& opt) {
    LOWBIT_REQUIRE(opt.n_grid >= 1 && opt.n_clip >= 1 && opt.max_shrink >= 0 && opt.max_shrink < 1,
                   "awq: invalid options n_grid={} n_clip={} max_shrink={}", opt.n_grid, opt.n_clip, opt.max_shrink);
    const llama_config c = llama_config::from_model(in);
    const int64_t E = c.n_embd, D = c.head_dim, QD = c.n_head * D, KD = c.n_head_kv * D, group = c.n_head / c.n_head_kv;
    std::vector<layer_f32> layers = load_layers_f32(in);
    std::vector<int64_t> id_e(static_cast<size_t>(E)), tie_o(static_cast<size_t>(QD));
    for (int64_t i = 0; i < E; ++i) id_e[i] = i;
    for (int64_t i = 0; i < QD; ++i) tie_o[i] = (i / D / group) * D + i % D;  // head h, dim d -> kv (h/group, d)

    auto visit = [&](int64_t l, calib_point p, layer_f32& L, const float* x, int64_t N, int64_t n) {
        const std::string b = "blk." + std::to_string(l) + ".";
        auto con = [&](const char* nm, std::vector<float>& w, int64_t rows, bool clip) {
            return consumer{b + nm, &w, rows, type_of(b + nm), clip};
        };
        switch (p) {
            case calib_point::attn_in:
                apply_point({con("attn_q.weight", L.wq, QD, false), con("attn_k.weight", L.wk, KD, false),
                             con("attn_v.weight", L.wv, KD, true)},
                            x, N, n, id_e, E, opt, [&](const std::vector<float>& s) {
                                for (int64_t i = 0; i < E; ++i) L.attn_norm[i] /= s[i];
                            });
                break;
            case calib_point::attn_out:
                apply_point({con("attn_output.weight", L.wo, E, true)}, x, N, n, tie_o, KD, opt,
                            [&](const std::vector<float>& s) {
                                for (int64_t r = 0; r < KD; ++r)
                                    for (int64_t i = 0; i < E; ++i) L.wv[r * E + i] /= s[r];
                            });
                break;
            case calib_point::ffn_in:
                apply_point({con("ffn_gate.weight", L.w_gate, L.n_ff, true), con("ffn_up.weight", L.w_up, L.n_ff, true)},
                            x, N, n, id_e, E, opt, [&](const std::vector<float>& s) {
                                for (int64_t i = 0; i < E; ++i) L.ffn_norm[i] /= s[i];
                            });
                break;
            case calib_point::ffn_mid: {
                std::vector<int64_t> id_f(static_cast<size_t>(L.n_ff));
                for (int64_t i = 0; i < L.n_ff; ++i) id_f[i] = i;
                apply_point({con("ffn_down.weight", L.w_down, E, true)}, x, N, n, id_f, L.n_ff, opt,
                            [&](const std::vector<float>& s) {
                                for (int64_t r = 0; r < L.n_ff; ++r)
                                    for (int64_t i = 0; i < E; ++i) L.w_up[r * E + i] /= s[r];
                            });
                break;
            }
        }
    };
    run_layerwise(in, seqs, layers, visit, opt.threads);
    return store_layers_f32(in, layers, true, "awq");
}

}  // namespace lowbit
