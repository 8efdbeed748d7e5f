// Drives GPTQ / AWQ / HQQ over a whole model; see weight_methods.hpp.
#include "quant/weight_methods.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

using encoded_map = std::map<std::string, std::vector<uint8_t>>;

// Chosen types of the tensors the plan quantizes.
std::map<std::string, type> planned_types(const model_data& in, const quantize_options& opt) {
    std::map<std::string, type> r;
    for (const auto& p : plan_quantization(in, opt).tensors)
        if (p.quantize && p.chosen != p.from) r[p.name] = p.chosen;
    return r;
}

void run_gptq(const model_data& in, const std::map<std::string, type>& types, const weight_method_options& mo,
              encoded_map& enc) {
    const auto seqs = calib_sequences(in, mo.calib);
    std::vector<layer_f32> layers = load_layers_f32(in);
    // The token embedding first (a model without output.weight reuses it as the output matrix: that
    // case is handled below): GPTQ with embedding_hessian, whose weights come from one F32 pass over
    // the calibration; the layers then see the quantized embedding.
    model_data run_in = in;
    const auto emb_type = types.find("token_embd.weight");
    const model_tensor* emb = in.find_tensor("token_embd.weight");
    if (emb_type != types.end() && emb != nullptr && in.find_tensor("output.weight") != nullptr &&
        gptq_supports(emb_type->second) && row_supported(emb_type->second, emb->row_len())) {
        const auto t0 = std::chrono::steady_clock::now();
        const type t = emb_type->second;
        const int64_t E = emb->row_len(), V = emb->n_rows();
        std::vector<double> gain;
        run_layerwise(in, seqs, layers, nullptr, mo.calib.threads, nullptr, nullptr, &gain);
        const std::vector<double> h = embedding_hessian(in, layers, gain, mo.gptq.threads);
        const std::vector<float> w = tensor_f32(in, "token_embd.weight", V * E);
        std::vector<uint8_t> bytes = gptq_quantize(t, w.data(), V, E, h, mo.gptq);
        auto deq = std::make_shared<std::vector<float>>(w.size());
        const size_t rb = row_bytes(t, E);
        for (int64_t r = 0; r < V; ++r) dequantize_row(t, bytes.data() + r * rb, deq->data() + r * E, E);
        for (auto& tn : run_in.tensors)
            if (tn.name == "token_embd.weight") {
                tn.t = type::f32;
                tn.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(deq->data()), deq->size() * sizeof(float));
            }
        run_in.keepalive.push_back(deq);
        enc["token_embd.weight"] = std::move(bytes);
        if (mo.verbose)
            std::fprintf(stderr, "gptq: token_embd.weight: %.2f s\n",
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    auto visit = [&](int64_t l, calib_point p, layer_f32& L, const float* x, int64_t N, int64_t n) {
        const std::string b = "blk." + std::to_string(l) + ".";
        std::vector<std::pair<std::string, std::vector<float>*>> cons;
        switch (p) {
            case calib_point::attn_in:
                cons = {{b + "attn_q.weight", &L.wq}, {b + "attn_k.weight", &L.wk}, {b + "attn_v.weight", &L.wv}};
                break;
            case calib_point::attn_out: cons = {{b + "attn_output.weight", &L.wo}}; break;
            case calib_point::ffn_in: cons = {{b + "ffn_gate.weight", &L.w_gate}, {b + "ffn_up.weight", &L.w_up}}; break;
            case calib_point::ffn_mid: cons = {{b + "ffn_down.weight", &L.w_down}}; break;
        }
        std::vector<double> h;
        const auto t0 = std::chrono::steady_clock::now();
        for (auto& [name, w] : cons) {
            auto it = types.find(name);
            if (it == types.end()) continue;  // stays unquantized
            const type t = it->second;
            const int64_t rows = static_cast<int64_t>(w->size()) / n;
            const size_t rb = row_bytes(t, n);
            std::vector<uint8_t> bytes;
            if (gptq_supports(t)) {
                if (h.empty()) hessian_accumulate(h, x, N, n, mo.gptq.threads);
                bytes = gptq_quantize(t, w->data(), rows, n, h, mo.gptq);
            } else {
                bytes.resize(static_cast<size_t>(rows) * rb);
                for (int64_t r = 0; r < rows; ++r) quantize_row(t, w->data() + r * n, bytes.data() + r * rb, n);
            }
            // Later matrices and layers see the quantized weights.
            for (int64_t r = 0; r < rows; ++r) dequantize_row(t, bytes.data() + r * rb, w->data() + r * n, n);
            if (gptq_supports(t)) enc[name] = std::move(bytes);
        }
        if (mo.verbose)
            std::fprintf(stderr, "gptq: layer %lld %s: %.2f s\n", static_cast<long long>(l), calib_point_name(p),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    std::vector<float> hidden;
    run_layerwise(run_in, seqs, layers, visit, mo.calib.threads, nullptr, &hidden);
    // The output matrix (or, when tied, the token embedding it reuses) sees the final normed hidden
    // states of the quantized layers.
    const std::string out_name = in.find_tensor("output.weight") ? "output.weight" : "token_embd.weight";
    auto it = types.find(out_name);
    const model_tensor* ot = in.find_tensor(out_name);
    if (it == types.end() || ot == nullptr || !gptq_supports(it->second)) return;
    const int64_t n = ot->row_len(), rows = ot->n_rows();
    if (hidden.empty() || static_cast<int64_t>(hidden.size()) % n != 0 || !row_supported(it->second, n)) return;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> w(static_cast<size_t>(n * rows));
    const size_t rb = row_bytes(ot->t, n);
    LOWBIT_REQUIRE(ot->bytes.size() >= rb * static_cast<size_t>(rows), "tensor '{}' is truncated", out_name);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(ot->t, ot->bytes.data() + r * rb, w.data() + r * n, n);
    std::vector<double> h;
    hessian_accumulate(h, hidden.data(), static_cast<int64_t>(hidden.size()) / n, n, mo.gptq.threads);
    enc[out_name] = gptq_quantize(it->second, w.data(), rows, n, h, mo.gptq);
    if (mo.verbose)
        std::fprintf(stderr, "gptq: %s: %.2f s\n", out_name.c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

bool is_weight_method(const std::string& name) {
    return name == "rtn" || name == "gptq" || name == "awq" || name == "hqq";
}

quantize_report quantize_model_with_method(const model_data& in, const std::string& out_path, quantize_options opt,
                                           const weight_method_options& mo) {
    LOWBIT_REQUIRE(is_weight_method(mo.method), "unknown weight method '{}' (valid: rtn, gptq, awq, hqq)", mo.method);
    if (mo.method == "rtn") return quantize_model(in, out_path, opt);
    const auto t0 = std::chrono::steady_clock::now();
    const auto types = planned_types(in, opt);
    auto enc = std::make_shared<encoded_map>();
    quantize_report rep;
    if (mo.method == "awq") {
        const auto seqs = calib_sequences(in, mo.calib);
        const model_data a = awq_transform(in, seqs, [&](const std::string& name) -> std::optional<type> {
            auto it = types.find(name);
            return it == types.end() ? std::nullopt : std::optional<type>(it->second);
        }, mo.awq);
        // AWQ's search covers the matrices it scales; every grid (and the tensors it does not touch:
        // the embedding, the output) is then encoded with the error-minimizing scale search.
        opt.method = quant_method::mse;
        rep = quantize_model(a, out_path, opt);
    } else {
        if (mo.method == "gptq") {
            run_gptq(in, types, mo, *enc);
        } else {  // hqq: per tensor, no calibration
            for (const auto& t : in.tensors) {
                auto it = types.find(t.name);
                if (it == types.end() || !hqq_supports(it->second)) continue;
                const int64_t n = t.row_len(), rows = t.n_rows();
                std::vector<float> w(static_cast<size_t>(n * rows));
                const size_t rb = row_bytes(t.t, n);
                LOWBIT_REQUIRE(t.bytes.size() >= rb * static_cast<size_t>(rows), "tensor '{}' is truncated", t.name);
                for (int64_t r = 0; r < rows; ++r) dequantize_row(t.t, t.bytes.data() + r * rb, w.data() + r * n, n);
                (*enc)[t.name] = hqq_quantize(it->second, w.data(), rows, n, mo.hqq);
            }
        }
        opt.encoded = [enc](const std::string& name, type) -> const std::vector<uint8_t>* {
            auto it = enc->find(name);
            return it == enc->end() ? nullptr : &it->second;
        };
        rep = quantize_model(in, out_path, opt);
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace lowbit
