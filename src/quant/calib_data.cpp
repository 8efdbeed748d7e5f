// Calibration sequences and the layer-by-layer runner; see calib_data.hpp.
#include "quant/calib_data.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "core/parallel.hpp"
#include "kernels/attention.hpp"
#include "kernels/matmul.hpp"
#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"
#include "quant/gptq.hpp"

namespace lowbit {
namespace {


// y: [T][rows] = x: [T][cols] . W^T, W: [rows][cols] F32.
void mm(const std::vector<float>& w, int64_t rows, int64_t cols, const float* x, int64_t T, float* y, int threads,
        matmul_scratch& s) {
    weight_matrix wm;
    wm.t = type::f32;
    wm.n_rows = rows;
    wm.n_cols = cols;
    wm.data = reinterpret_cast<const uint8_t*>(w.data());
    wm.row_stride = static_cast<size_t>(cols) * sizeof(float);
    matmul(wm, T, x, cols, y, rows, threads, s);
}


}  // namespace

std::vector<float> tensor_f32(const model_data& m, const std::string& name, int64_t n_expected) {
    const model_tensor* t = m.find_tensor(name);
    LOWBIT_REQUIRE(t != nullptr, "{}: tensor '{}' is missing", m.source_path, name);
    LOWBIT_REQUIRE(t->n_elements() == n_expected, "{}: tensor '{}' has {} elements, expected {}", m.source_path,
                   name, t->n_elements(), n_expected);
    const int64_t n = t->row_len(), rows = t->n_rows();
    const size_t rb = row_bytes(t->t, n);
    LOWBIT_REQUIRE(t->bytes.size() >= rb * static_cast<size_t>(rows), "{}: tensor '{}' is truncated", m.source_path,
                   name);
    std::vector<float> v(static_cast<size_t>(n_expected));
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t->t, t->bytes.data() + r * rb, v.data() + r * n, n);
    return v;
}

const char* calib_point_name(calib_point p) {
    switch (p) {
        case calib_point::attn_in: return "attn_in";
        case calib_point::attn_out: return "attn_out";
        case calib_point::ffn_in: return "ffn_in";
        case calib_point::ffn_mid: return "ffn_mid";
    }
    return "?";
}

std::vector<std::vector<int32_t>> calib_sequences(const model_data& m, const calib_options& opt) {
    LOWBIT_REQUIRE(opt.n_seq > 0 && opt.seq_len > 1, "calibration: need n_seq > 0 and seq_len > 1 (got {}, {})",
                   opt.n_seq, opt.seq_len);
    std::ifstream f(opt.text_path, std::ios::binary);
    LOWBIT_REQUIRE(f.good(), "{}: cannot open the calibration text", opt.text_path);
    std::stringstream ss;
    ss << f.rdbuf();
    const auto tok = tokenizer::from_model(m);
    const std::vector<int32_t> ids = tok->encode(ss.str(), false);
    const auto T = static_cast<int64_t>(ids.size());
    LOWBIT_REQUIRE(T > opt.seq_len, "{}: {} tokens, need more than seq_len = {}", opt.text_path, T, opt.seq_len);
    std::mt19937_64 rng(opt.seed);
    std::uniform_int_distribution<int64_t> pick(0, T - opt.seq_len);
    std::vector<std::vector<int32_t>> seqs;
    for (int64_t s = 0; s < opt.n_seq; ++s) {
        const int64_t o = pick(rng);
        std::vector<int32_t> q(ids.begin() + o, ids.begin() + o + opt.seq_len);
        if (tok->bos_id() >= 0) q[0] = tok->bos_id();
        seqs.push_back(std::move(q));
    }
    return seqs;
}

std::vector<layer_f32> load_layers_f32(const model_data& m) {
    const llama_config c = llama_config::from_model(m);
    const int64_t E = c.n_embd, QD = c.n_head * c.head_dim, KD = c.n_head_kv * c.head_dim;
    std::vector<layer_f32> layers(static_cast<size_t>(c.n_layer));
    for (int64_t l = 0; l < c.n_layer; ++l) {
        auto& L = layers[static_cast<size_t>(l)];
        const std::string b = "blk." + std::to_string(l) + ".";
        const model_tensor* g = m.find_tensor(b + "ffn_gate.weight");
        LOWBIT_REQUIRE(g && g->shape.size() == 2, "{}: tensor '{}ffn_gate.weight' is missing or not 2-D",
                       m.source_path, b);
        L.n_ff = g->shape[1];
        L.attn_norm = tensor_f32(m, b + "attn_norm.weight", E);
        L.ffn_norm = tensor_f32(m, b + "ffn_norm.weight", E);
        L.wq = tensor_f32(m, b + "attn_q.weight", QD * E);
        L.wk = tensor_f32(m, b + "attn_k.weight", KD * E);
        L.wv = tensor_f32(m, b + "attn_v.weight", KD * E);
        L.wo = tensor_f32(m, b + "attn_output.weight", E * QD);
        L.w_gate = tensor_f32(m, b + "ffn_gate.weight", L.n_ff * E);
        L.w_up = tensor_f32(m, b + "ffn_up.weight", L.n_ff * E);
        L.w_down = tensor_f32(m, b + "ffn_down.weight", E * L.n_ff);
    }
    return layers;
}

model_data store_layers_f32(const model_data& in, const std::vector<layer_f32>& layers, bool with_attn_output,
                            const char* who) {
    model_data out = in;
    auto put = [&](const std::string& name, const std::vector<float>& v) {
        for (auto& t : out.tensors)
            if (t.name == name) {
                LOWBIT_ASSERT(t.n_elements() == static_cast<int64_t>(v.size()));
                auto buf = std::make_shared<std::vector<float>>(v);
                t.t = type::f32;
                t.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf->data()), v.size() * sizeof(float));
                out.keepalive.push_back(buf);
                return;
            }
        fail("{}: tensor '{}' not found", who, name);
    };
    for (size_t l = 0; l < layers.size(); ++l) {
        const auto& L = layers[l];
        const std::string b = "blk." + std::to_string(l) + ".";
        put(b + "attn_norm.weight", L.attn_norm);
        put(b + "ffn_norm.weight", L.ffn_norm);
        put(b + "attn_q.weight", L.wq);
        put(b + "attn_k.weight", L.wk);
        put(b + "attn_v.weight", L.wv);
        if (with_attn_output) put(b + "attn_output.weight", L.wo);
        put(b + "ffn_gate.weight", L.w_gate);
        put(b + "ffn_up.weight", L.w_up);
        put(b + "ffn_down.weight", L.w_down);
    }
    return out;
}

void run_layerwise(const model_data& m, const std::vector<std::vector<int32_t>>& seqs, std::vector<layer_f32>& layers,
                   const calib_visitor& visit, int threads, std::vector<float>* final_logits, std::vector<float>* final_hidden,
                   std::vector<double>* residual_gain) {
    const llama_config c = llama_config::from_model(m);
    LOWBIT_REQUIRE(static_cast<int64_t>(layers.size()) == c.n_layer, "run_layerwise: {} layers given, model has {}",
                   layers.size(), c.n_layer);
    LOWBIT_REQUIRE(!seqs.empty(), "run_layerwise: no calibration sequences");
    const int nt = threads > 0 ? threads : default_threads();
    const int64_t E = c.n_embd, H = c.n_head, HKV = c.n_head_kv, D = c.head_dim;
    const int64_t QD = H * D, KD = HKV * D, group = H / HKV;
    const auto S = static_cast<int64_t>(seqs.size());
    const auto T = static_cast<int64_t>(seqs[0].size());
    for (const auto& s : seqs) LOWBIT_REQUIRE(static_cast<int64_t>(s.size()) == T, "run_layerwise: ragged sequences");
    const int64_t N = S * T;
    int64_t F = 0;
    for (const auto& L : layers) F = std::max(F, L.n_ff);

    const rope_table rt(c, T);
    auto rope = [&](float* y, int64_t ld, int64_t n_heads) {
        for (int64_t t = 0; t < N; ++t) rt.apply(c, y + t * ld, n_heads, t % T);  // each sequence from position 0
    };

    std::vector<float> x(static_cast<size_t>(N * E)), xn(x.size()), q(static_cast<size_t>(N * QD)),
        att(q.size()), k(static_cast<size_t>(N * KD)), v(k.size()), g(static_cast<size_t>(N * F)), u(g.size());
    const model_tensor* emb = m.find_tensor("token_embd.weight");
    LOWBIT_REQUIRE(emb != nullptr, "{}: tensor 'token_embd.weight' is missing", m.source_path);
    const size_t erb = row_bytes(emb->t, E);
    for (int64_t s = 0; s < S; ++s)
        for (int64_t t = 0; t < T; ++t) {
            const int32_t id = seqs[s][t];
            LOWBIT_REQUIRE(id >= 0 && id < c.n_vocab, "run_layerwise: token id {} out of range", id);
            dequantize_row(emb->t, emb->bytes.data() + static_cast<size_t>(id) * erb, x.data() + (s * T + t) * E, E);
        }

    // residual_gain: mean over tokens of ms(x_0) / ms(x) at each norm (ms = mean square).
    std::vector<double> ms0;
    auto mean_square = [&](int64_t t) {
        double a = 0.0;
        for (int64_t i = 0; i < E; ++i) a += double(x[t * E + i]) * x[t * E + i];
        return a / double(E);
    };
    if (residual_gain) {
        residual_gain->clear();
        ms0.resize(static_cast<size_t>(N));
        for (int64_t t = 0; t < N; ++t) ms0[t] = mean_square(t);
    }
    auto note_gain = [&] {
        if (!residual_gain) return;
        double s = 0.0;
        for (int64_t t = 0; t < N; ++t) {
            const double m = mean_square(t);
            s += m > 0.0 ? ms0[t] / m : 0.0;
        }
        residual_gain->push_back(s / double(N));
    };
    matmul_scratch mms;
    mms.reserve_workers(nt);
    const auto attn = kernels::attn_f32();
    const auto silu_mul = kernels::silu_mul_f32();
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));

    for (int64_t l = 0; l < c.n_layer; ++l) {
        layer_f32& L = layers[static_cast<size_t>(l)];
        const int64_t FF = L.n_ff;
        note_gain();
        rms_norm(x.data(), L.attn_norm.data(), xn.data(), N, E, c.rms_eps);
        if (visit) {
            visit(l, calib_point::attn_in, L, xn.data(), N, E);
            rms_norm(x.data(), L.attn_norm.data(), xn.data(), N, E, c.rms_eps);
        }
        auto attention = [&] {
            mm(L.wq, QD, E, xn.data(), N, q.data(), nt, mms);
            mm(L.wk, KD, E, xn.data(), N, k.data(), nt, mms);
            mm(L.wv, KD, E, xn.data(), N, v.data(), nt, mms);
            rope(q.data(), QD, H);
            rope(k.data(), KD, HKV);
            parallel_for(S * HKV, nt, [&](int64_t b, int64_t e, int) {
                kv_cache cache(1, 1, D, T);  // one sequence's KV head at a time
                std::vector<float> scratch(static_cast<size_t>(kernels::attn_scratch_floats(group, T, T)));
                for (int64_t it = b; it < e; ++it) {
                    const int64_t s = it / HKV, hk = it % HKV;
                    cache.store(0, 0, 0, T, k.data() + s * T * KD + hk * D, v.data() + s * T * KD + hk * D, KD);
                    const int64_t h = hk * group;
                    attn(D, group, T, 0, q.data() + s * T * QD + h * D, QD, cache.kb(0, 0), cache.vt(0, 0), cache.ld(),
                         scale, att.data() + s * T * QD + h * D, QD, scratch.data());
                }
            });
        };
        attention();
        if (visit) {
            visit(l, calib_point::attn_out, L, att.data(), N, QD);
            attention();  // wv may have changed (scales folded into it)
        }
        mm(L.wo, E, QD, att.data(), N, xn.data(), nt, mms);
        for (int64_t i = 0; i < N * E; ++i) x[i] += xn[i];

        note_gain();
        rms_norm(x.data(), L.ffn_norm.data(), xn.data(), N, E, c.rms_eps);
        if (visit) {
            visit(l, calib_point::ffn_in, L, xn.data(), N, E);
            rms_norm(x.data(), L.ffn_norm.data(), xn.data(), N, E, c.rms_eps);
        }
        auto ffn_mid = [&] {
            mm(L.w_gate, FF, E, xn.data(), N, g.data(), nt, mms);
            mm(L.w_up, FF, E, xn.data(), N, u.data(), nt, mms);
            silu_mul(N * FF, g.data(), u.data(), g.data());
        };
        ffn_mid();
        if (visit) {
            visit(l, calib_point::ffn_mid, L, g.data(), N, FF);
            ffn_mid();
        }
        mm(L.w_down, E, FF, g.data(), N, xn.data(), nt, mms);
        for (int64_t i = 0; i < N * E; ++i) x[i] += xn[i];
    }
    note_gain();
    if (final_hidden) {
        const std::vector<float> on = tensor_f32(m, "output_norm.weight", E);
        final_hidden->resize(static_cast<size_t>(N * E));
        rms_norm(x.data(), on.data(), final_hidden->data(), N, E, c.rms_eps);
    }
    if (final_logits) {
        const std::vector<float> on = tensor_f32(m, "output_norm.weight", E);
        const std::string out_name = m.find_tensor("output.weight") ? "output.weight" : "token_embd.weight";
        const std::vector<float> wout = tensor_f32(m, out_name, c.n_vocab * E);
        rms_norm(x.data(), on.data(), xn.data(), N, E, c.rms_eps);
        final_logits->resize(static_cast<size_t>(N * c.n_vocab));
        mm(wout, c.n_vocab, E, xn.data(), N, final_logits->data(), nt, mms);
    }
}

std::vector<double> embedding_hessian(const model_data& m, const std::vector<layer_f32>& layers,
                                      const std::vector<double>& residual_gain, int threads) {
    const llama_config c = llama_config::from_model(m);
    const int64_t E = c.n_embd;
    LOWBIT_REQUIRE(residual_gain.size() == layers.size() * 2 + 1, "embedding_hessian: {} gains for {} layers",
                   residual_gain.size(), layers.size());
    std::vector<double> h(static_cast<size_t>(E * E), 0.0);
    std::vector<float> x;
    // Rows of W diag(g) sqrt(gain) as "tokens": their X^T X is gain diag(g) W^T W diag(g).
    auto add = [&](const std::vector<float>& g, const std::vector<float>& w, double gain) {
        if (!(gain > 0.0)) return;
        const int64_t rows = static_cast<int64_t>(w.size()) / E;
        const float s = static_cast<float>(std::sqrt(gain));
        x.resize(w.size());
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < E; ++j) x[r * E + j] = w[r * E + j] * g[j] * s;
        hessian_accumulate(h, x.data(), rows, E, threads);
    };
    for (size_t l = 0; l < layers.size(); ++l) {
        const layer_f32& L = layers[l];
        for (const auto* w : {&L.wq, &L.wk, &L.wv}) add(L.attn_norm, *w, residual_gain[2 * l]);
        for (const auto* w : {&L.w_gate, &L.w_up}) add(L.ffn_norm, *w, residual_gain[2 * l + 1]);
    }
    if (m.find_tensor("output.weight") != nullptr)
        add(tensor_f32(m, "output_norm.weight", E), tensor_f32(m, "output.weight", c.n_vocab * E), residual_gain.back());
    return h;
}

}  // namespace lowbit
