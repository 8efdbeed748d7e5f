// Activation quantization: calibration, guard, metadata, SmoothQuant; see act_quant.hpp.
#include "quant/act_quant.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "core/parallel.hpp"
#include "kernels/w8a8.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

constexpr const char* k_key_mode = "lowbit.act_quant.mode";
constexpr const char* k_key_tensors = "lowbit.act_quant.tensors";
constexpr const char* k_key_scales = "lowbit.act_quant.scales";
constexpr const char* k_key_fallback = "lowbit.act_quant.fallback";

const char* const k_matrices[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

// Dynamic scales need no calibration; static scales and the fallback guard do.
void require_calibration(const act_quant_options& opt, bool have_calibration) {
    LOWBIT_REQUIRE(have_calibration || (opt.mode == act_mode::dynamic && opt.fallback_bound <= 0),
                   "static activation scales and the fallback guard need calibration text (--act-calib)");
}

std::vector<weight_matrix*> layer_matrices(llama_layer& L) {
    return {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down};
}

// Runs every sequence through `model` (one context, cleared between sequences); `on_logits` gets
// each sequence's logits [T][n_vocab] when given.
void run_sequences(const std::shared_ptr<const llama_model>& model, const std::vector<std::vector<int32_t>>& seqs,
                   const matmul_observer& obs, int threads,
                   const std::function<void(size_t, std::span<const float>)>& on_logits) {
    const auto T = static_cast<int64_t>(seqs[0].size());
    context_options co;
    co.n_ctx = T;
    co.n_batch = T;
    co.n_threads = threads;
    co.observer = obs;
    llama_context ctx(model, co);
    for (size_t s = 0; s < seqs.size(); ++s) {
        ctx.clear();
        if (on_logits) on_logits(s, ctx.decode(seqs[s], 0));
        else ctx.decode(seqs[s], T);
    }
}

}  // namespace

act_mode parse_act_mode(const std::string& name) {
    if (name == "none") return act_mode::none;
    if (name == "dynamic") return act_mode::dynamic;
    if (name == "static") return act_mode::static_tensor;
    fail("activation quantization mode '{}' is unknown (expected none, dynamic or static)", name);
}

const char* act_mode_name(act_mode m) {
    switch (m) {
        case act_mode::none: return "none";
        case act_mode::dynamic: return "dynamic";
        case act_mode::static_tensor: return "static";
    }
    return "?";
}

size_t act_quant_report::n_fallback() const {
    size_t n = 0;
    for (const auto& t : tensors) n += t.fallback;
    return n;
}

std::vector<std::string> act_quant_tensor_names(const llama_config& c) {
    std::vector<std::string> names;
    for (int64_t l = 0; l < c.n_layer; ++l)
        for (const char* m : k_matrices) names.push_back("blk." + std::to_string(l) + "." + m + ".weight");
    return names;
}

act_quant_report calibrate_act_quant(const model_data& m, const std::vector<std::vector<int32_t>>& seqs,
                                     const act_quant_options& opt) {
    LOWBIT_REQUIRE(opt.mode != act_mode::none, "calibrate_act_quant: mode none has nothing to calibrate");
    const llama_config c = llama_config::from_model(m);
    act_quant_report rep;
    rep.mode = opt.mode;
    rep.observer = opt.observer;
    std::map<std::string, size_t> index;
    for (const auto& n : act_quant_tensor_names(c)) {
        const model_tensor* t = m.find_tensor(n);
        LOWBIT_REQUIRE(t != nullptr, "{}: tensor '{}' is missing", m.source_path, n);
        index[n] = rep.tensors.size();
        rep.tensors.push_back({n, t->t});
    }
    require_calibration(opt, !seqs.empty());
    if (seqs.empty()) return rep;
    const auto T = static_cast<int64_t>(seqs[0].size());
    for (const auto& s : seqs) LOWBIT_REQUIRE(static_cast<int64_t>(s.size()) == T, "act-quant: ragged sequences");
    rep.n_tokens = T * static_cast<int64_t>(seqs.size());
    load_options plain_lo;
    plain_lo.act_quant = "none";
    auto plain = std::make_shared<const llama_model>(m, plain_lo);
    std::map<std::string, const weight_matrix*> wm;
    for (const auto& L : plain->layers())
        for (const weight_matrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) wm[w->name] = w;

    // Pass 1: histograms of |x| per tensor -> static scales.
    if (opt.mode == act_mode::static_tensor) {
        std::vector<abs_histogram> hist(rep.tensors.size());
        run_sequences(plain, seqs, [&](const std::string& name, const float* x, int64_t n, int64_t k) {
            const auto it = index.find(name);
            if (it != index.end()) hist[it->second].add(x, n * k);
        }, opt.threads, {});
        for (size_t i = 0; i < rep.tensors.size(); ++i) {
            auto& t = rep.tensors[i];
            t.amax = hist[i].max();
            t.clip = observe_clip(hist[i], opt.observer, opt.percentile);
            t.scale = t.clip / 127.0;
            LOWBIT_REQUIRE(std::isfinite(t.scale), "act-quant: tensor '{}': activation scale {} is not finite", t.name,
                           t.scale);
        }
    }
    auto desc_of = [&](const act_tensor_report& t) {
        return opt.mode == act_mode::dynamic ? act_quant_desc{act_mode::dynamic, 0.0f}
                                             : act_quant_desc{act_mode::static_tensor, static_cast<float>(t.scale)};
    };

    // Pass 2: the guard. Each matrix sees the weight-only model's inputs.
    {
        std::vector<double> num(rep.tensors.size(), 0.0), den(rep.tensors.size(), 0.0);
        matmul_scratch scratch;
        scratch.reserve_workers(opt.threads > 0 ? opt.threads : default_threads());
        std::vector<float> y0, y1;
        run_sequences(plain, seqs, [&](const std::string& name, const float* x, int64_t n, int64_t k) {
            const auto it = index.find(name);
            if (it == index.end()) return;
            weight_matrix w = *wm.at(name);
            y0.resize(static_cast<size_t>(n * w.n_rows));
            y1.resize(y0.size());
            matmul(w, n, x, k, y0.data(), w.n_rows, opt.threads, scratch);
            w.act = desc_of(rep.tensors[it->second]);
            matmul(w, n, x, k, y1.data(), w.n_rows, opt.threads, scratch);
            double a = 0, b = 0;
            for (size_t i = 0; i < y0.size(); ++i) {
                const double d = double(y1[i]) - double(y0[i]);
                a += d * d;
                b += double(y0[i]) * double(y0[i]);
            }
            num[it->second] += a;
            den[it->second] += b;
        }, opt.threads, {});
        for (size_t i = 0; i < rep.tensors.size(); ++i) {
            auto& t = rep.tensors[i];
            t.rel_err = den[i] > 0 ? std::sqrt(num[i] / den[i]) : 0.0;
            t.fallback = opt.fallback_bound > 0 && t.rel_err > opt.fallback_bound;
        }
    }

    // Pass 3: the final assignment against weight-only on the calibration tokens.
    {
        model_data mq = m;
        set_act_quant_metadata(mq, rep, opt);
        auto quant = std::make_shared<const llama_model>(std::move(mq));
        std::vector<std::vector<float>> ref(seqs.size());
        run_sequences(plain, seqs, {}, opt.threads,
                      [&](size_t s, std::span<const float> l) { ref[s].assign(l.begin(), l.end()); });
        const int64_t V = c.n_vocab;
        int64_t agree = 0, total = 0;
        double kl = 0.0;
        run_sequences(quant, seqs, {}, opt.threads, [&](size_t s, std::span<const float> l) {
            for (int64_t t = 0; t < T; ++t) {
                const float* p = ref[s].data() + t * V;
                const float* q = l.data() + t * V;
                const int64_t ap = std::max_element(p, p + V) - p, aq = std::max_element(q, q + V) - q;
                agree += ap == aq;
                ++total;
                double mp = p[ap], mq2 = q[aq], zp = 0, zq = 0;
                for (int64_t v = 0; v < V; ++v) {
                    zp += std::exp(double(p[v]) - mp);
                    zq += std::exp(double(q[v]) - mq2);
                }
                const double lzp = std::log(zp) + mp, lzq = std::log(zq) + mq2;
                double k = 0;
                for (int64_t v = 0; v < V; ++v) {
                    const double lp = double(p[v]) - lzp, lq = double(q[v]) - lzq;
                    k += std::exp(lp) * (lp - lq);
                }
                kl += std::max(k, 0.0);
            }
        });
        rep.top1_agreement = total ? double(agree) / double(total) : -1;
        rep.kld = total ? kl / double(total) : -1;
    }
    return rep;
}

void set_act_quant_metadata(model_data& m, const act_quant_report& r, const act_quant_options& opt) {
    std::vector<std::string> names, fallback;
    std::vector<float> scales;
    for (const auto& t : r.tensors) {
        if (t.fallback) {
            fallback.push_back(t.name);
            continue;
        }
        names.push_back(t.name);
        scales.push_back(static_cast<float>(t.scale));
    }
    m.set(k_key_mode, gguf_value::str(act_mode_name(r.mode)));
    m.set(k_key_tensors, gguf_value::str_array(names));
    if (r.mode == act_mode::static_tensor) {
        m.set(k_key_scales, gguf_value::f32_array(scales));
        m.set("lowbit.act_quant.observer", gguf_value::str(act_observer_name(r.observer)));
        if (r.observer == act_observer::percentile)
            m.set("lowbit.act_quant.percentile", gguf_value::f32(static_cast<float>(opt.percentile)));
    }
    m.set(k_key_fallback, gguf_value::str_array(fallback));
    if (opt.fallback_bound > 0)
        m.set("lowbit.act_quant.fallback_bound", gguf_value::f32(static_cast<float>(opt.fallback_bound)));
    if (opt.smoothquant_alpha >= 0)
        m.set("lowbit.act_quant.smoothquant_alpha", gguf_value::f32(static_cast<float>(opt.smoothquant_alpha)));
    if (r.top1_agreement >= 0)
        m.set("lowbit.act_quant.top1_agreement", gguf_value::f32(static_cast<float>(r.top1_agreement)));
}

void apply_act_quant(const model_data& m, std::vector<llama_layer>& layers, const std::string& override_mode) {
    if (override_mode == "none") return;
    if (override_mode == "dynamic") {
        for (auto& L : layers)
            for (weight_matrix* w : layer_matrices(L)) w->act = {act_mode::dynamic, 0.0f};
        return;
    }
    LOWBIT_REQUIRE(override_mode.empty(), "act_quant override '{}': expected '', 'none' or 'dynamic'", override_mode);
    const gguf_value* mode_v = m.find(k_key_mode);
    if (mode_v == nullptr) return;
    const act_mode mode = parse_act_mode(mode_v->as_string());
    if (mode == act_mode::none) return;
    const gguf_value* names = m.find(k_key_tensors);
    LOWBIT_REQUIRE(names != nullptr && names->type == gguf_type::array, "{}: '{}' is missing or not an array",
                   m.source_path, k_key_tensors);
    const gguf_value* scales = m.find(k_key_scales);
    if (mode == act_mode::static_tensor)
        LOWBIT_REQUIRE(scales != nullptr && scales->type == gguf_type::array &&
                           scales->array.size() == names->array.size(),
                       "{}: '{}' must be an array of {} scales (one per entry of '{}')", m.source_path, k_key_scales,
                       names->array.size(), k_key_tensors);
    std::map<std::string, act_quant_desc> desc;
    for (size_t i = 0; i < names->array.size(); ++i) {
        act_quant_desc d{mode, 0.0f};
        if (mode == act_mode::static_tensor) {
            const double s = scales->array[i].as_f64();
            LOWBIT_REQUIRE(std::isfinite(s) && s >= 0, "{}: '{}'[{}] = {} is not a valid scale", m.source_path,
                           k_key_scales, i, s);
            d.scale = static_cast<float>(s);
        }
        desc[names->array[i].as_string()] = d;
    }
    for (auto& L : layers)
        for (weight_matrix* w : layer_matrices(L)) {
            const auto it = desc.find(w->name);
            if (it != desc.end()) w->act = it->second;
        }
}

model_data smoothquant_transform(const model_data& in, const std::vector<std::vector<int32_t>>& seqs, double alpha,
                                 int threads) {
    LOWBIT_REQUIRE(alpha >= 0 && alpha <= 1, "smoothquant: alpha {} is outside [0, 1]", alpha);
    const llama_config c = llama_config::from_model(in);
    const int64_t E = c.n_embd;
    std::vector<layer_f32> layers = load_layers_f32(in);
    // s_j for the matrices `ws` ([rows][n] each) reading X: [N][n].
    auto factors = [&](const float* x, int64_t N, int64_t n, const std::vector<std::pair<std::vector<float>*, int64_t>>& ws) {
        std::vector<double> xm(static_cast<size_t>(n), 0.0), wmax(static_cast<size_t>(n), 0.0);
        for (int64_t t = 0; t < N; ++t)
            for (int64_t j = 0; j < n; ++j) xm[j] = std::max(xm[j], double(std::fabs(x[t * n + j])));
        for (const auto& [w, rows] : ws)
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t j = 0; j < n; ++j) wmax[j] = std::max(wmax[j], double(std::fabs((*w)[r * n + j])));
        std::vector<float> s(static_cast<size_t>(n), 1.0f);
        for (int64_t j = 0; j < n; ++j)
            if (xm[j] > 0 && wmax[j] > 0)
                s[j] = static_cast<float>(std::clamp(std::pow(xm[j], alpha) / std::pow(wmax[j], 1.0 - alpha), 1e-5, 1e5));
        for (const auto& [w, rows] : ws)
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t j = 0; j < n; ++j) (*w)[r * n + j] *= s[j];
        return s;
    };
    const int64_t QD = c.n_head * c.head_dim, KD = c.n_head_kv * c.head_dim;
    auto visit = [&](int64_t, calib_point p, layer_f32& L, const float* x, int64_t N, int64_t n) {
        switch (p) {
            case calib_point::attn_in: {
                const auto s = factors(x, N, n, {{&L.wq, QD}, {&L.wk, KD}, {&L.wv, KD}});
                for (int64_t j = 0; j < E; ++j) L.attn_norm[j] /= s[j];
                break;
            }
            case calib_point::ffn_in: {
                const auto s = factors(x, N, n, {{&L.w_gate, L.n_ff}, {&L.w_up, L.n_ff}});
                for (int64_t j = 0; j < E; ++j) L.ffn_norm[j] /= s[j];
                break;
            }
            case calib_point::ffn_mid: {
                const auto s = factors(x, N, n, {{&L.w_down, E}});
                for (int64_t r = 0; r < L.n_ff; ++r)
                    for (int64_t j = 0; j < E; ++j) L.w_up[r * E + j] /= s[r];
                break;
            }
            case calib_point::attn_out: break;  // o's input comes through attention: not folded
        }
    };
    run_layerwise(in, seqs, layers, visit, threads);
    return store_layers_f32(in, layers, false, "smoothquant");  // o's input is not folded: wo keeps its format
}

std::string format_act_quant_report(const act_quant_report& r, bool per_tensor) {
    std::string s;
    char line[512];
    if (per_tensor) {
        std::snprintf(line, sizeof line, "%-28s %-9s %10s %10s %11s %9s  %s\n", "tensor", "type", "max|x|", "clip",
                      "d_x", "rel.err", "activations");
        s += line;
        for (const auto& t : r.tensors) {
            std::snprintf(line, sizeof line, "%-28s %-9s %10.4g %10.4g %11.4g %9.4g  %s\n", t.name.c_str(),
                          type_name(t.t).c_str(), t.amax, t.clip, t.scale, t.rel_err, t.fallback ? "A16 (fallback)" : "int8");
            s += line;
        }
    }
    std::snprintf(line, sizeof line, "act-quant: %s%s%s, %zu of %zu matrices int8, %zu fell back", act_mode_name(r.mode),
                  r.mode == act_mode::static_tensor ? ", observer " : "",
                  r.mode == act_mode::static_tensor ? act_observer_name(r.observer) : "", r.tensors.size() - r.n_fallback(),
                  r.tensors.size(), r.n_fallback());
    s += line;
    if (r.top1_agreement >= 0) {
        std::snprintf(line, sizeof line, "; on %lld calibration tokens vs weight-only: top-1 %.2f%%, KLD %.6f",
                      static_cast<long long>(r.n_tokens), 100.0 * r.top1_agreement, r.kld);
        s += line;
    }
    s += "\n";
    return s;
}

model_data act_quant_prepare(model_data m, const act_quant_options& opt, const calib_options& calib) {
    require_calibration(opt, !calib.text_path.empty());  // before the weights are quantized and written
    if (opt.smoothquant_alpha < 0) return m;
    LOWBIT_REQUIRE(!calib.text_path.empty(), "--smoothquant needs calibration text (--act-calib)");
    const auto seqs = calib_sequences(m, calib);
    return smoothquant_transform(m, seqs, opt.smoothquant_alpha, opt.threads);
}

act_quant_report act_quant_finish(const std::string& path, const act_quant_options& opt, const calib_options& calib) {
    model_data m = load_model(path);
    std::vector<std::vector<int32_t>> seqs;
    if (!calib.text_path.empty()) seqs = calib_sequences(m, calib);
    const act_quant_report r = calibrate_act_quant(m, seqs, opt);
    set_act_quant_metadata(m, r, opt);
    save_gguf(m, path);
    return r;
}

}  // namespace lowbit
