// Drives GPTQ / AWQ / HQQ over a whole model; see weight_methods.hpp.
#include "quant/weight_methods.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>

#include "core/sha256.hpp"
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

// The matrices that read the inputs of point p in layer l, with their editable F32 weights.
std::vector<std::pair<std::string, std::vector<float>*>> consumers(int64_t l, calib_point p, layer_f32& L) {
    const std::string b = "blk." + std::to_string(l) + ".";
    switch (p) {
        case calib_point::attn_in:
            return {{b + "attn_q.weight", &L.wq}, {b + "attn_k.weight", &L.wk}, {b + "attn_v.weight", &L.wv}};
        case calib_point::attn_out: return {{b + "attn_output.weight", &L.wo}};
        case calib_point::ffn_in: return {{b + "ffn_gate.weight", &L.w_gate}, {b + "ffn_up.weight", &L.w_up}};
        case calib_point::ffn_mid: return {{b + "ffn_down.weight", &L.w_down}};
    }
    return {};
}

std::string point_key(int64_t l, calib_point p) { return "blk." + std::to_string(l) + "." + calib_point_name(p); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Encodes `w` ([rows][n], F32, overwritten with its de-quantized values so that later matrices and
// layers see them) as `t`: GPTQ with h() where the type allows, the format's encoder otherwise
// (then nothing goes into enc).
void encode_matrix(const std::string& name, type t, std::vector<float>& w, int64_t n,
                   const std::function<const std::vector<double>&()>& h, const weight_method_options& mo,
                   encoded_map& enc) {
    const int64_t rows = static_cast<int64_t>(w.size()) / n;
    const size_t rb = row_bytes(t, n);
    std::vector<uint8_t> bytes;
    const bool g = gptq_supports(t) && row_supported(t, n);
    if (g) {
        bytes = gptq_quantize(t, w.data(), rows, n, h(), mo.gptq);
    } else {
        bytes.resize(static_cast<size_t>(rows) * rb);
        for (int64_t r = 0; r < rows; ++r) quantize_row(t, w.data() + r * n, bytes.data() + r * rb, n);
    }
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t, bytes.data() + r * rb, w.data() + r * n, n);
    if (g) enc[name] = std::move(bytes);
}

// Whether the token embedding gets GPTQ of its own: planned for a GPTQ type, in an untied model (a
// tied one is the output matrix, encoded with it).
bool gptq_embedding(const model_data& in, const std::map<std::string, type>& types) {
    const auto it = types.find("token_embd.weight");
    const model_tensor* emb = in.find_tensor("token_embd.weight");
    return it != types.end() && emb != nullptr && in.find_tensor("output.weight") != nullptr &&
           gptq_supports(it->second) && row_supported(it->second, emb->row_len());
}

// GPTQ of the token embedding (gptq_embedding must hold), with embedding_hessian from the residual
// gains. Returns its de-quantized values.
std::shared_ptr<std::vector<float>> encode_embedding(const model_data& in, const std::map<std::string, type>& types,
                                                     const std::vector<layer_f32>& layers,
                                                     const std::vector<double>& gain, const weight_method_options& mo,
                                                     encoded_map& enc) {
    LOWBIT_ASSERT(gptq_embedding(in, types));
    const auto it = types.find("token_embd.weight");
    const model_tensor* emb = in.find_tensor("token_embd.weight");
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t E = emb->row_len(), V = emb->n_rows();
    const std::vector<double> h = embedding_hessian(in, layers, gain, mo.gptq.threads);
    auto w = std::make_shared<std::vector<float>>(tensor_f32(in, "token_embd.weight", V * E));
    encode_matrix("token_embd.weight", it->second, *w, E, [&]() -> const std::vector<double>& { return h; }, mo, enc);
    if (mo.verbose) std::fprintf(stderr, "gptq: token_embd.weight: %.2f s\n", seconds_since(t0));
    return w;
}

// GPTQ of the output matrix (or, when tied, the token embedding it reuses) from H of its inputs.
void encode_output(const model_data& in, const std::map<std::string, type>& types, const std::vector<double>& h,
                   const weight_method_options& mo, encoded_map& enc) {
    const std::string out_name = in.find_tensor("output.weight") ? "output.weight" : "token_embd.weight";
    const auto it = types.find(out_name);
    const model_tensor* ot = in.find_tensor(out_name);
    if (it == types.end() || ot == nullptr || !gptq_supports(it->second) || h.empty()) return;
    const int64_t n = ot->row_len();
    if (h.size() != static_cast<size_t>(n * n) || !row_supported(it->second, n)) return;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> w = tensor_f32(in, out_name, n * ot->n_rows());
    encode_matrix(out_name, it->second, w, n, [&]() -> const std::vector<double>& { return h; }, mo, enc);
    if (mo.verbose) std::fprintf(stderr, "gptq: %s: %.2f s\n", out_name.c_str(), seconds_since(t0));
}

// Sequential GPTQ: the embedding first, then each point's matrices from the inputs of the already
// quantized model, then the output matrix from the quantized model's final hidden states.
void run_gptq_sequential(const model_data& in, const std::map<std::string, type>& types,
                         const weight_method_options& mo, encoded_map& enc) {
    const auto seqs = calib_sequences(in, mo.calib);
    std::vector<layer_f32> layers = load_layers_f32(in);
    model_data run_in = in;
    if (gptq_embedding(in, types)) {  // one F32 pass for the gains, only when they are used
        std::vector<double> gain;
        run_layerwise(in, seqs, layers, nullptr, mo.calib.threads, nullptr, nullptr, &gain);
        const auto deq = encode_embedding(in, types, layers, gain, mo, enc);
        for (auto& tn : run_in.tensors)
            if (tn.name == "token_embd.weight") {
                tn.t = type::f32;
                tn.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(deq->data()), deq->size() * sizeof(float));
            }
        run_in.keepalive.push_back(deq);
    }
    auto visit = [&](int64_t l, calib_point p, layer_f32& L, const float* x, int64_t N, int64_t n) {
        std::vector<double> h;
        const auto t0 = std::chrono::steady_clock::now();
        for (auto& [name, w] : consumers(l, p, L)) {
            auto it = types.find(name);
            if (it == types.end()) continue;  // stays unquantized
            encode_matrix(name, it->second, *w, n, [&]() -> const std::vector<double>& {
                if (h.empty()) hessian_accumulate(h, x, N, n, mo.gptq.threads);
                return h;
            }, mo, enc);
        }
        if (mo.verbose)
            std::fprintf(stderr, "gptq: layer %lld %s: %.2f s\n", static_cast<long long>(l), calib_point_name(p),
                         seconds_since(t0));
    };
    std::vector<float> hidden;
    run_layerwise(run_in, seqs, layers, visit, mo.calib.threads, nullptr, &hidden);
    std::vector<double> h;
    const int64_t E = layers.empty() ? 0 : static_cast<int64_t>(layers[0].attn_norm.size());
    if (E > 0 && !hidden.empty()) hessian_accumulate(h, hidden.data(), static_cast<int64_t>(hidden.size()) / E, E, mo.gptq.threads);
    encode_output(in, types, h, mo, enc);
}

// The F32 model's calibration statistics, format-independent: H at every point, H of the output
// matrix's inputs and the embedding's residual gains (gptq_hessian_cache in weight_methods.hpp).
struct hessian_stats {
    std::map<std::string, std::vector<double>> h;  // point_key(l, p) or "output" -> [n][n]
    std::vector<double> gain;
};

std::array<uint8_t, 32> stats_key(const model_data& in, const std::vector<std::vector<int32_t>>& seqs) {
    sha256 s;
    const std::string tag = "lowbit gptq hessians v1";
    s.update(tag.data(), tag.size());
    for (const auto& q : seqs) s.update(q.data(), q.size() * sizeof(int32_t));
    for (const auto& t : in.tensors) {
        s.update(t.name.data(), t.name.size() + 1);
        const auto tt = static_cast<uint32_t>(t.t);
        s.update(&tt, sizeof tt);
        s.update(t.shape.data(), t.shape.size() * sizeof(int64_t));
        s.update(t.bytes.data(), t.bytes.size());
    }
    return s.digest();
}

constexpr char k_stats_magic[8] = {'L', 'B', 'G', 'P', 'T', 'Q', 'H', '1'};

// Reads the cache; false if it is missing, for other inputs, or unreadable.
bool load_stats(const std::string& path, const std::array<uint8_t, 32>& key, hessian_stats& st) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    char magic[8];
    std::array<uint8_t, 32> k{};
    uint64_t ng = 0, ne = 0;
    if (!f.read(magic, 8) || std::memcmp(magic, k_stats_magic, 8) != 0) return false;
    if (!f.read(reinterpret_cast<char*>(k.data()), 32) || k != key) return false;
    if (!f.read(reinterpret_cast<char*>(&ng), 8) || ng > (1u << 20)) return false;
    st.gain.resize(ng);
    if (!f.read(reinterpret_cast<char*>(st.gain.data()), static_cast<std::streamsize>(ng * 8))) return false;
    if (!f.read(reinterpret_cast<char*>(&ne), 8) || ne > (1u << 20)) return false;
    std::vector<float> tri;
    for (uint64_t e = 0; e < ne; ++e) {
        uint32_t len = 0;
        uint64_t n = 0;
        if (!f.read(reinterpret_cast<char*>(&len), 4) || len > 4096) return false;
        std::string name(len, '\0');
        if (!f.read(name.data(), len) || !f.read(reinterpret_cast<char*>(&n), 8) || n > (1u << 17)) return false;
        tri.resize(n * (n + 1) / 2);
        if (!f.read(reinterpret_cast<char*>(tri.data()), static_cast<std::streamsize>(tri.size() * 4))) return false;
        auto& h = st.h[name];
        h.assign(n * n, 0.0);
        size_t k2 = 0;
        for (uint64_t i = 0; i < n; ++i)
            for (uint64_t j = i; j < n; ++j) h[i * n + j] = h[j * n + i] = tri[k2++];
    }
    return true;
}

// Writes the cache (upper triangles as float) through a temporary file, so a crash never leaves a
// half-written cache under the real name.
void save_stats(const std::string& path, const std::array<uint8_t, 32>& key, const hessian_stats& st) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        LOWBIT_REQUIRE(f.good(), "--method-cache: cannot write '{}'", tmp);
        f.write(k_stats_magic, 8);
        f.write(reinterpret_cast<const char*>(key.data()), 32);
        const uint64_t ng = st.gain.size(), ne = st.h.size();
        f.write(reinterpret_cast<const char*>(&ng), 8);
        f.write(reinterpret_cast<const char*>(st.gain.data()), static_cast<std::streamsize>(ng * 8));
        f.write(reinterpret_cast<const char*>(&ne), 8);
        std::vector<float> tri;
        for (const auto& [name, h] : st.h) {
            const auto len = static_cast<uint32_t>(name.size());
            const auto n = static_cast<uint64_t>(std::llround(std::sqrt(double(h.size()))));
            f.write(reinterpret_cast<const char*>(&len), 4);
            f.write(name.data(), len);
            f.write(reinterpret_cast<const char*>(&n), 8);
            tri.clear();
            for (uint64_t i = 0; i < n; ++i)
                for (uint64_t j = i; j < n; ++j) tri.push_back(static_cast<float>(h[i * n + j]));
            f.write(reinterpret_cast<const char*>(tri.data()), static_cast<std::streamsize>(tri.size() * 4));
        }
        LOWBIT_REQUIRE(f.good(), "--method-cache: writing '{}' failed", tmp);
    }
    LOWBIT_REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0, "--method-cache: cannot rename '{}' to '{}'", tmp, path);
}

// GPTQ from the F32 model's statistics (read from mo.cache_path when they match this model and
// calibration, else measured in one pass and written there): every matrix sees the F32 model's
// inputs instead of the partly quantized model's (not sequential), so a rerun with another format
// needs no forward pass.
void run_gptq_cached(const model_data& in, const std::map<std::string, type>& types,
                     const weight_method_options& mo, encoded_map& enc) {
    const auto seqs = calib_sequences(in, mo.calib);
    const auto key = stats_key(in, seqs);
    std::vector<layer_f32> layers = load_layers_f32(in);
    hessian_stats st;
    const auto t0 = std::chrono::steady_clock::now();
    if (load_stats(mo.cache_path, key, st)) {
        if (mo.verbose) std::fprintf(stderr, "gptq: statistics from %s (%.2f s)\n", mo.cache_path.c_str(), seconds_since(t0));
    } else {
        auto visit = [&](int64_t l, calib_point p, layer_f32&, const float* x, int64_t N, int64_t n) {
            hessian_accumulate(st.h[point_key(l, p)], x, N, n, mo.gptq.threads);
        };
        std::vector<float> hidden;
        run_layerwise(in, seqs, layers, visit, mo.calib.threads, nullptr, &hidden, &st.gain);
        const int64_t E = layers.empty() ? 0 : static_cast<int64_t>(layers[0].attn_norm.size());
        if (E > 0 && !hidden.empty())
            hessian_accumulate(st.h["output"], hidden.data(), static_cast<int64_t>(hidden.size()) / E, E, mo.gptq.threads);
        save_stats(mo.cache_path, key, st);
        if (mo.verbose) std::fprintf(stderr, "gptq: statistics measured, written to %s (%.2f s)\n", mo.cache_path.c_str(), seconds_since(t0));
    }
    if (gptq_embedding(in, types)) encode_embedding(in, types, layers, st.gain, mo, enc);
    for (int64_t l = 0; l < static_cast<int64_t>(layers.size()); ++l)
        for (calib_point p : {calib_point::attn_in, calib_point::attn_out, calib_point::ffn_in, calib_point::ffn_mid}) {
            const auto hit = st.h.find(point_key(l, p));
            LOWBIT_REQUIRE(hit != st.h.end(), "--method-cache: no statistics for {}", point_key(l, p));
            const auto n = static_cast<int64_t>(std::llround(std::sqrt(double(hit->second.size()))));
            for (auto& [name, w] : consumers(l, p, layers[static_cast<size_t>(l)])) {
                auto it = types.find(name);
                if (it == types.end()) continue;
                encode_matrix(name, it->second, *w, n, [&]() -> const std::vector<double>& { return hit->second; }, mo, enc);
            }
        }
    const auto ho = st.h.find("output");
    if (ho != st.h.end()) encode_output(in, types, ho->second, mo, enc);
}

void run_gptq(const model_data& in, const std::map<std::string, type>& types, const weight_method_options& mo,
              encoded_map& enc) {
    if (mo.cache_path.empty())
        run_gptq_sequential(in, types, mo, enc);
    else
        run_gptq_cached(in, types, mo, enc);
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
