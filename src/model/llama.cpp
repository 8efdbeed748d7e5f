#include "model/llama.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/parallel.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/attention.hpp"
#include "kernels/repack.hpp"
#include "lowbit/error.hpp"
#include "quant/act_quant.hpp"

namespace lowbit {
namespace {

// Architectures that run through this graph, and the RoPE pairing each one's GGUF tensors expect.
struct arch_row {
    const char* name;
    rope_style rope;
};
constexpr arch_row k_archs[] = {
    {"llama", rope_style::normal},
    {"mistral", rope_style::normal},
};

int64_t require_int(const model_data& m, const std::string& key) {
    const gguf_value* v = m.find(key);
    LOWBIT_REQUIRE(v != nullptr, "{}: metadata key '{}' is missing", m.source_path, key);
    LOWBIT_REQUIRE(v->is_integer(), "{}: metadata key '{}' is {}, expected an integer", m.source_path, key,
                   v->to_display());
    const int64_t x = v->as_i64();
    LOWBIT_REQUIRE(x > 0 && x <= (int64_t(1) << 24), "{}: metadata '{}' = {} is out of range [1, 2^24]",
                   m.source_path, key, x);
    return x;
}

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r;
}

weight_matrix make_matrix(const model_data& m, const std::string& name, int64_t n_cols, int64_t n_rows) {
    const model_tensor* t = m.find_tensor(name);
    LOWBIT_REQUIRE(t != nullptr, "{}: tensor '{}' is missing", m.source_path, name);
    LOWBIT_REQUIRE(t->shape.size() == 2 && t->shape[0] == n_cols && (n_rows < 0 || t->shape[1] == n_rows),
                   "{}: tensor '{}' has shape [{}], expected [{}, {}]", m.source_path, name, shape_str(t->shape),
                   n_cols, n_rows);
    const type_traits* tr = find_traits(static_cast<uint32_t>(t->t));
    LOWBIT_REQUIRE(tr != nullptr && tr->to_float != nullptr, "{}: tensor '{}' has type {} which cannot be decoded",
                   m.source_path, name, type_name(t->t));
    LOWBIT_REQUIRE(row_supported(t->t, n_cols), "{}: tensor '{}': rows of {} weights cannot be stored in {}",
                   m.source_path, name, n_cols, tr->name);
    weight_matrix w = weight_matrix::stored_rows(name, t->t, t->shape[1], n_cols, t->bytes.data());
    LOWBIT_REQUIRE(t->bytes.size() >= w.row_stride * static_cast<size_t>(w.n_rows),
                   "{}: tensor '{}': {} bytes, expected {} ({} rows of {} bytes)", m.source_path, name,
                   t->bytes.size(), w.row_stride * static_cast<size_t>(w.n_rows), w.n_rows, w.row_stride);
    if (w.t == type::f32)
        LOWBIT_REQUIRE(reinterpret_cast<uintptr_t>(w.data) % alignof(float) == 0,
                       "{}: tensor '{}': F32 data is not 4-byte aligned", m.source_path, name);
    const int64_t bad = find_nonfinite_fp8(w.t, w.data, w.row_stride, w.n_rows, n_cols);
    LOWBIT_REQUIRE(bad < 0, "{}: tensor '{}' ({}): weight {} (row {}, column {}) has a NaN/Inf FP8 code, which lowbit's "
                   "encoders never write; re-quantize the model", m.source_path, name, tr->name, bad, bad / n_cols, bad % n_cols);
    return w;
}

std::vector<float> load_vector(const model_data& m, const std::string& name, int64_t n) {
    const model_tensor* t = m.find_tensor(name);
    LOWBIT_REQUIRE(t != nullptr, "{}: tensor '{}' is missing", m.source_path, name);
    LOWBIT_REQUIRE(t->n_elements() == n, "{}: tensor '{}' has shape [{}], expected [{}]", m.source_path, name,
                   shape_str(t->shape), n);
    const type_traits* tr = find_traits(static_cast<uint32_t>(t->t));
    LOWBIT_REQUIRE(tr != nullptr && tr->to_float != nullptr && row_supported(t->t, n) &&
                       t->bytes.size() >= row_bytes(t->t, n),
                   "{}: tensor '{}' ({}) cannot be decoded", m.source_path, name, type_name(t->t));
    std::vector<float> v(static_cast<size_t>(n));
    dequantize_row(t->t, t->bytes.data(), v.data(), n);
    return v;
}


}  // namespace

// y = x / sqrt(mean(x^2) + eps) * w, row by row. The sum of squares is accumulated in double.
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
    for (int64_t t = 0; t < n_rows; ++t) {
        const float* xr = x + t * n;
        float* yr = y + t * n;
        double ss = 0.0;
        for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * double(xr[i]);
        const float scale = 1.0f / std::sqrt(static_cast<float>(ss / double(n)) + eps);
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * w[i];
    }
}

llama_config llama_config::from_model(const model_data& m) {
    llama_config c;
    c.arch = m.get_string("general.architecture");
    LOWBIT_REQUIRE(!c.arch.empty(), "{}: metadata key 'general.architecture' is missing", m.source_path);
    const arch_row* row = nullptr;
    for (const auto& a : k_archs)
        if (c.arch == a.name) row = &a;
    LOWBIT_REQUIRE(row != nullptr, "{}: architecture '{}' is not supported (supported: llama, mistral)",
                   m.source_path, c.arch);
    c.rope = row->rope;
    const std::string p = c.arch + ".";
    c.n_embd = require_int(m, p + "embedding_length");
    c.n_ff = require_int(m, p + "feed_forward_length");
    c.n_layer = require_int(m, p + "block_count");
    c.n_head = require_int(m, p + "attention.head_count");
    c.n_head_kv = m.find(p + "attention.head_count_kv") ? require_int(m, p + "attention.head_count_kv") : c.n_head;
    LOWBIT_REQUIRE(c.n_head % c.n_head_kv == 0, "{}: {} attention heads are not a multiple of {} KV heads",
                   m.source_path, c.n_head, c.n_head_kv);
    c.head_dim = m.find(p + "attention.key_length") ? require_int(m, p + "attention.key_length")
                                                     : c.n_embd / c.n_head;
    LOWBIT_REQUIRE(c.head_dim > 0 && c.head_dim % 2 == 0, "{}: head size {} must be even and positive",
                   m.source_path, c.head_dim);
    c.n_rot = m.find(p + "rope.dimension_count") ? require_int(m, p + "rope.dimension_count") : c.head_dim;
    LOWBIT_REQUIRE(c.n_rot <= c.head_dim && c.n_rot % 2 == 0, "{}: rope.dimension_count {} must be even and <= {}",
                   m.source_path, c.n_rot, c.head_dim);
    c.n_ctx_train = m.find(p + "context_length") ? require_int(m, p + "context_length") : 0;
    c.rms_eps = static_cast<float>(m.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5));
    c.rope_freq_base = static_cast<float>(m.get_float(p + "rope.freq_base", 10000.0));
    LOWBIT_REQUIRE(c.rope_freq_base > 0 && std::isfinite(c.rope_freq_base), "{}: rope.freq_base {} is invalid",
                   m.source_path, c.rope_freq_base);
    const std::string scaling = m.get_string(p + "rope.scaling.type", "none");
    if (scaling == "linear") {
        const double f = m.get_float(p + "rope.scaling.factor", 1.0);
        LOWBIT_REQUIRE(f > 0, "{}: rope.scaling.factor {} is invalid", m.source_path, f);
        c.rope_freq_scale = static_cast<float>(1.0 / f);
    } else {
        LOWBIT_REQUIRE(scaling == "none", "{}: rope.scaling.type '{}' is not supported", m.source_path, scaling);
    }
    const model_tensor* emb = m.find_tensor("token_embd.weight");
    LOWBIT_REQUIRE(emb != nullptr, "{}: tensor 'token_embd.weight' is missing", m.source_path);
    LOWBIT_REQUIRE(emb->shape.size() == 2 && emb->shape[0] == c.n_embd && emb->shape[1] > 0,
                   "{}: tensor 'token_embd.weight' has shape [{}], expected [{}, n_vocab]", m.source_path,
                   shape_str(emb->shape), c.n_embd);
    c.n_vocab = emb->shape[1];
    c.tied_output = m.find_tensor("output.weight") == nullptr;
    return c;
}

llama_model::llama_model(model_data m, const load_options& opt) : data_(std::move(m)) {
    cfg_ = llama_config::from_model(data_);
    const auto& c = cfg_;
    tok_embd_ = make_matrix(data_, "token_embd.weight", c.n_embd, c.n_vocab);
    output_ = c.tied_output ? tok_embd_ : make_matrix(data_, "output.weight", c.n_embd, c.n_vocab);
    output_norm_ = load_vector(data_, "output_norm.weight", c.n_embd);
    const int64_t qd = c.n_head * c.head_dim, kd = c.n_head_kv * c.head_dim;
    layers_.resize(static_cast<size_t>(c.n_layer));
    for (int64_t i = 0; i < c.n_layer; ++i) {
        auto& L = layers_[static_cast<size_t>(i)];
        const std::string b = "blk." + std::to_string(i) + ".";
        L.attn_norm = load_vector(data_, b + "attn_norm.weight", c.n_embd);
        L.ffn_norm = load_vector(data_, b + "ffn_norm.weight", c.n_embd);
        L.wq = make_matrix(data_, b + "attn_q.weight", c.n_embd, qd);
        L.wk = make_matrix(data_, b + "attn_k.weight", c.n_embd, kd);
        L.wv = make_matrix(data_, b + "attn_v.weight", c.n_embd, kd);
        L.wo = make_matrix(data_, b + "attn_output.weight", qd, c.n_embd);
        L.w_gate = make_matrix(data_, b + "ffn_gate.weight", c.n_embd, -1);
        L.w_up = make_matrix(data_, b + "ffn_up.weight", c.n_embd, L.w_gate.n_rows);
        L.w_down = make_matrix(data_, b + "ffn_down.weight", L.w_gate.n_rows, c.n_embd);
    }
    apply_act_quant(data_, layers_, opt.act_quant);  // int8 activations per lowbit.act_quant.* / opt
    // "blk.N.attn_q.weight" -> "blk.N.<what>"
    const auto b_name = [](const weight_matrix& w, const char* what) {
        const size_t dot = w.name.find('.', w.name.find('.') + 1);
        return (dot == std::string::npos ? std::string() : w.name.substr(0, dot + 1)) + what;
    };
    // The tiles of parts that read one input stacked into a tiles-only matrix (llama_layer::wqkv);
    // an empty matrix unless every part is tiled, of one type and width, rows a multiple of 8.
    const auto stack = [](std::string name, std::initializer_list<weight_matrix*> parts) {
        weight_matrix s;
        std::vector<std::shared_ptr<const repacked_matrix>> tiles;
        for (weight_matrix* w : parts) {
            if (!w->tiles || w->tiles->t != (*parts.begin())->t || w->n_cols != (*parts.begin())->n_cols ||
                w->n_rows % kernels::k_tile_rows != 0)
                return s;
            tiles.push_back(w->tiles);
        }
        s.tiles = stack_repacked(tiles);
        size_t i = 0;
        for (weight_matrix* w : parts) w->tiles = tiles[i++];
        s.name = std::move(name);
        s.t = s.tiles->t;
        s.n_rows = s.tiles->n_rows;
        s.n_cols = s.tiles->n_cols;
        return s;
    };
    // Load-time repacking (kernels/repack.hpp) of weight-only matrices whose rows lie in a read-only
    // file mapping (GGUF loads): the rows' pages are handed back to the kernel once the tiles exist, so
    // memory does not double. Rows in owned buffers (models built in memory) are left as they are.
    const char* env_repack = std::getenv("LOWBIT_REPACK");
    repack_mode mode = opt.repack;
    if (env_repack) {
        const auto m = repack_mode_from_name(env_repack);
        LOWBIT_REQUIRE(m.has_value(), "LOWBIT_REPACK={}: expected all (1), compact or none (0)", env_repack);
        mode = *m;
    }
    if (mode != repack_mode::none) {
        // The matrices that can be repacked, each with the bytes its tiles take beyond its rows (those
        // rows padded to whole tiles, as the tiles are); each looked at once (in_readonly_file_mapping
        // reads /proc/self/maps).
        std::vector<std::pair<weight_matrix*, size_t>> cands;
        auto consider = [&](weight_matrix& w) {
            if (w.act.mode != act_mode::none ||
                !kernels::repack_rows_supported(w.t, w.data, w.row_stride, w.n_rows, w.n_cols) ||
                !in_readonly_file_mapping(w.data, w.n_bytes()))
                return;
            const size_t tiles = repacked_bytes(w.t, w.n_rows, w.n_cols);
            const size_t rows = static_cast<size_t>((w.n_rows + kernels::k_tile_rows - 1) / kernels::k_tile_rows *
                                                    kernels::k_tile_rows) * row_bytes(w.t, w.n_cols);
            cands.emplace_back(&w, tiles > rows ? tiles - rows : 0);
        };
        for (auto& L : layers_)
            for (weight_matrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) consider(*w);
        consider(output_);
        // all: the growing tiles (load_options::repack) keep their rows when their extra bytes would
        // exceed half of the memory the system reports available.
        if (mode == repack_mode::all) {
            size_t extra = 0;
            int n_growing = 0;
            for (const auto& [w, growth] : cands)
                if (growth > 0) extra += growth, ++n_growing;
            const size_t avail = available_memory_bytes();
            mode = resolve_repack_mode(mode, extra, avail);
            if (mode == repack_mode::compact)
                std::fprintf(stderr,
                             "lowbit: %s: %d weight matrices keep their rows (repack mode compact): their "
                             "tiles would take %zu MiB more than the rows, over half of the %zu MiB available\n",
                             data_.source_path.c_str(), n_growing, extra >> 20, avail >> 20);
        }
        for (const auto& [w, growth] : cands) {
            if (mode == repack_mode::compact && growth > 0) continue;
            w->tiles = repack_matrix(w->t, w->data, w->row_stride, w->n_rows, w->n_cols);
            release_file_pages(w->data, w->n_bytes());
        }
        // Matrices left without tiles (F32 and other per-row types) whose rows lie in a
        // read-only file mapping: copied into huge-page memory (copy_rows), the file's pages handed
        // back. Parts that read one input and agree in type and width share one buffer, and then also
        // run as one stacked product of plain rows (llama_layer::wqkv / w_gate_up).
        // ws' rows one after another in one buffer, each part pointed at its place and its file pages
        // handed back; returns the buffer.
        auto copy_into_one = [](const std::string& what, const std::vector<weight_matrix*>& ws) {
            std::vector<std::pair<const uint8_t*, size_t>> src;
            for (weight_matrix* w : ws) src.emplace_back(w->data, w->n_bytes());
            auto buf = copy_rows(src, what);
            size_t at = 0;
            for (weight_matrix* w : ws) {
                release_file_pages(w->data, w->n_bytes());
                w->data = buf.get() + at;
                w->rows_owner = buf;
                at += w->n_bytes();
            }
            return buf;
        };
        auto copy = [&](std::string name, std::initializer_list<weight_matrix*> parts) {
            std::vector<weight_matrix*> todo;
            for (weight_matrix* w : parts)
                if (!w->tiles && w->act.mode == act_mode::none && w->row_stride == row_bytes(w->t, w->n_cols) &&
                    in_readonly_file_mapping(w->data, w->n_bytes()))
                    todo.push_back(w);
            const weight_matrix& f = **parts.begin();
            const bool alike = todo.size() == parts.size() && parts.size() > 1 &&
                               std::all_of(parts.begin(), parts.end(), [&](const weight_matrix* w) {
                                   return w->t == f.t && w->n_cols == f.n_cols;
                               });
            weight_matrix s;
            if (!alike) {
                for (weight_matrix* w : todo) copy_into_one(w->name, {w});
                return s;
            }
            int64_t n_rows = 0;
            for (weight_matrix* w : todo) n_rows += w->n_rows;
            auto buf = copy_into_one(name, todo);
            s = weight_matrix::stored_rows(std::move(name), f.t, n_rows, f.n_cols, buf.get());
            s.rows_owner = std::move(buf);
            return s;
        };
        for (auto& L : layers_) {
            L.wqkv = stack(b_name(L.wq, "attn_qkv"), {&L.wq, &L.wk, &L.wv});
            if (L.wqkv.n_rows == 0) L.wqkv = copy(b_name(L.wq, "attn_qkv"), {&L.wq, &L.wk, &L.wv});
            L.w_gate_up = stack(b_name(L.w_gate, "ffn_gate_up"), {&L.w_gate, &L.w_up});
            if (L.w_gate_up.n_rows == 0) L.w_gate_up = copy(b_name(L.w_gate, "ffn_gate_up"), {&L.w_gate, &L.w_up});
            copy(L.wo.name, {&L.wo});
            copy(L.w_down.name, {&L.w_down});
        }
        copy(output_.name, {&output_});
    }
    for (const auto& t : data_.tensors) {
        n_params_ += t.n_elements();
        n_bytes_ += t.bytes.size();
    }
}

repack_mode resolve_repack_mode(repack_mode requested, size_t extra_bytes, size_t available_bytes) {
    if (requested == repack_mode::all && available_bytes > 0 && extra_bytes > available_bytes / 2)
        return repack_mode::compact;
    return requested;
}

std::optional<repack_mode> repack_mode_from_name(std::string_view s) {
    if (s == "all" || s == "1") return repack_mode::all;
    if (s == "compact") return repack_mode::compact;
    if (s == "none" || s == "0") return repack_mode::none;
    return std::nullopt;
}

std::shared_ptr<const llama_model> llama_model::load(const std::string& path, const load_options& opt) {
    return std::make_shared<const llama_model>(load_model(path, opt), opt);
}

llama_context::llama_context(std::shared_ptr<const llama_model> model, const context_options& opt)
    : model_(std::move(model)) {
    LOWBIT_ASSERT(model_ != nullptr);
    const auto& c = model_->config();
    const int64_t n_ctx = opt.n_ctx > 0 ? opt.n_ctx : c.n_ctx_train;
    LOWBIT_REQUIRE(n_ctx > 0, "{}: the model does not state its context length; give one (-c)",
                   model_->data().source_path);
    LOWBIT_REQUIRE(n_ctx <= (int64_t(1) << 20), "context {} exceeds the limit 1048576", n_ctx);
    n_threads_ = opt.n_threads > 0 ? opt.n_threads : default_threads();
    n_batch_ = std::clamp<int64_t>(opt.n_batch > 0 ? opt.n_batch : 512, 1, n_ctx);
    observer_ = opt.observer;
    kv_ = kv_cache(c.n_layer, c.n_head_kv, c.head_dim, n_ctx, opt.kv);

    rope_ = rope_table(c, n_ctx);

    int64_t n_ff = 0;
    for (const auto& L : model_->layers()) n_ff = std::max(n_ff, L.w_gate.n_rows);
    const auto B = static_cast<size_t>(n_batch_);
    const auto qd = static_cast<size_t>(c.n_head * c.head_dim), kd = static_cast<size_t>(c.n_head_kv * c.head_dim);
    x_.resize(B * static_cast<size_t>(c.n_embd));
    xn_.resize(B * static_cast<size_t>(c.n_embd));
    q_.resize(B * qd);
    att_.resize(B * qd);
    k_.resize(B * kd);
    v_.resize(B * kd);
    g_.resize(B * static_cast<size_t>(n_ff));
    u_.resize(B * static_cast<size_t>(n_ff));
    stacked_.resize(std::max(qd + 2 * kd, 2 * static_cast<size_t>(n_ff)));
    attn_scratch_per_worker_ =
        static_cast<size_t>(kernels::attn_scratch_floats(c.n_head / c.n_head_kv, n_batch_, n_ctx));
    attn_scratch_.resize(static_cast<size_t>(n_threads_) * attn_scratch_per_worker_);
    mm_.reserve_workers(n_threads_);
}

size_t llama_context::n_bytes() const {
    const size_t floats = rope_.n_floats() + x_.size() + xn_.size() + q_.size() + k_.size() +
                          v_.size() + att_.size() + g_.size() + u_.size() + attn_scratch_.size() + logits_.size() +
                          stacked_.size();
    return kv_.n_bytes() + floats * sizeof(float);
}

std::span<const float> llama_context::decode(std::span<const int32_t> tokens, int64_t first_logit) {
    const auto& c = model_->config();
    const auto n = static_cast<int64_t>(tokens.size());
    LOWBIT_REQUIRE(n > 0, "decode: no tokens");
    LOWBIT_REQUIRE(first_logit >= 0 && first_logit <= n, "decode: first_logit {} outside [0, {}]", first_logit, n);
    LOWBIT_REQUIRE(kv_.n_past() + n <= kv_.n_ctx(), "context overflow: {} tokens + {} new exceed the context of {}",
                   kv_.n_past(), n, kv_.n_ctx());
    for (int64_t i = 0; i < n; ++i)
        LOWBIT_REQUIRE(tokens[i] >= 0 && tokens[i] < c.n_vocab, "token id {} at index {} is outside [0, {})",
                       tokens[i], i, c.n_vocab);
    const auto n_logits = static_cast<size_t>(n - first_logit) * static_cast<size_t>(c.n_vocab);
    if (logits_.size() < n_logits) logits_.resize(n_logits);
    for (int64_t b0 = 0; b0 < n; b0 += n_batch_) {
        const int64_t b1 = std::min(n, b0 + n_batch_);
        const int64_t out0 = std::max(b0, first_logit);
        const int64_t n_out = std::max<int64_t>(0, b1 - out0);
        forward(tokens.data() + b0, b1 - b0, n_out,
                n_out ? logits_.data() + static_cast<size_t>(out0 - first_logit) * static_cast<size_t>(c.n_vocab)
                      : nullptr);
    }
    return {logits_.data(), n_logits};
}

rope_table::rope_table(const llama_config& c, int64_t n_pos) {
    const int64_t half = c.n_rot / 2;
    cos.resize(static_cast<size_t>(n_pos * half));
    sin.resize(static_cast<size_t>(n_pos * half));
    for (int64_t pos = 0; pos < n_pos; ++pos)
        for (int64_t i = 0; i < half; ++i) {
            const double theta = double(pos) * double(c.rope_freq_scale) *
                                 std::pow(double(c.rope_freq_base), -2.0 * double(i) / double(c.n_rot));
            cos[static_cast<size_t>(pos * half + i)] = static_cast<float>(std::cos(theta));
            sin[static_cast<size_t>(pos * half + i)] = static_cast<float>(std::sin(theta));
        }
}

void rope_table::apply(const llama_config& c, float* y, int64_t n_heads, int64_t pos) const {
    const int64_t half = c.n_rot / 2;
    const float* cs = cos.data() + pos * half;
    const float* sn = sin.data() + pos * half;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* r = y + h * c.head_dim;
        if (c.rope == rope_style::normal) {
            for (int64_t i = 0; i < half; ++i) {
                const float a = r[2 * i], b = r[2 * i + 1];
                r[2 * i] = a * cs[i] - b * sn[i];
                r[2 * i + 1] = a * sn[i] + b * cs[i];
            }
        } else {
            for (int64_t i = 0; i < half; ++i) {
                const float a = r[i], b = r[i + half];
                r[i] = a * cs[i] - b * sn[i];
                r[i + half] = a * sn[i] + b * cs[i];
            }
        }
    }
}

void llama_context::rewind(int64_t n) {
    LOWBIT_REQUIRE(n >= 0 && n <= kv_.n_past(), "rewind: position {} outside [0, {}]", n, kv_.n_past());
    kv_.set_n_past(n);
}

void llama_context::forward(const int32_t* tok, int64_t n, int64_t n_out, float* logits) {
    const auto& c = model_->config();
    const int64_t E = c.n_embd, H = c.n_head, HKV = c.n_head_kv, D = c.head_dim;
    const int64_t QD = H * D, KD = HKV * D, group = H / HKV;
    const int64_t p0 = kv_.n_past();
    const int nt = n_threads_;
    float *x = x_.data(), *xn = xn_.data(), *att = att_.data();

    const weight_matrix& emb = model_->tok_embd();
    for (int64_t t = 0; t < n; ++t) dequantize_row(emb.t, emb.row(tok[t]), x + t * E, E);

    const auto attn = kernels::attn_f32();
    const auto attn16 = kernels::attn_f16kv();
    const auto silu_mul = kernels::silu_mul_f32();
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    // Every product's input is contiguous ([n_tokens][n_cols]), as the observer expects.
    auto matmul = [this](const weight_matrix& w, int64_t nr, const float* xin, int64_t ldx, float* y, int64_t ldy,
                         int threads, matmul_scratch& scratch) {
        if (observer_) observer_(w.name, xin, nr, ldx);
        lowbit::matmul(w, nr, xin, ldx, y, ldy, threads, scratch);
    };

    // One token with the quantized GEMV path: the stacked products (llama_layer::wqkv, w_gate_up) read
    // xn once, into stacked_; the observer still sees each part's input.
    const bool one_token = n == 1 && mm_.quantized_max_tokens() > 0;
    auto stacked = [&](const weight_matrix& s, std::initializer_list<const weight_matrix*> parts) {
        if (observer_)
            for (const weight_matrix* w : parts) observer_(w->name, xn, n, E);
        lowbit::matmul(s, n, xn, E, stacked_.data(), s.n_rows, nt, mm_);
    };

    auto rope = [&](float* y, int64_t ld, int64_t n_heads) {
        for (int64_t t = 0; t < n; ++t) rope_.apply(c, y + t * ld, n_heads, p0 + t);
    };

    // Attention work items: (KV head, sub-group of its query heads, block of queries). A whole GQA group
    // per item reads each KV head once (kernels/attention.hpp); groups are split, then queries blocked,
    // only when there are too few items to feed the threads.
    int64_t n_sub = 1;
    while (nt > 1 && HKV * n_sub < nt && n_sub < group) {
        ++n_sub;
        while (group % n_sub) ++n_sub;
    }
    const int64_t sub = group / n_sub;
    const int64_t q_blocks = (nt > 1 && HKV * n_sub < 2 * nt) ? std::min<int64_t>(n, 4) : 1;
    const int64_t q_per_block = (n + q_blocks - 1) / q_blocks;
    const int64_t ld_kv = kv_.ld();
    const bool kv16 = kv_.type() == kv_type::f16;

    for (int64_t l = 0; l < c.n_layer; ++l) {
        const llama_layer& L = model_->layers()[static_cast<size_t>(l)];
        rms_norm(x, L.attn_norm.data(), xn, n, E, c.rms_eps);
        float *q = q_.data(), *k = k_.data(), *v = v_.data();
        if (one_token && L.wqkv.n_rows > 0) {  // one product; q, k, v one after another in stacked_
            stacked(L.wqkv, {&L.wq, &L.wk, &L.wv});
            q = stacked_.data();
            k = q + QD;
            v = k + KD;
        } else {
            const matmul_shared_input shared(mm_);  // q, k, v read the same xn: quantize it once
            matmul(L.wq, n, xn, E, q, QD, nt, mm_);
            matmul(L.wk, n, xn, E, k, KD, nt, mm_);
            matmul(L.wv, n, xn, E, v, KD, nt, mm_);
        }
        rope(q, QD, H);
        rope(k, KD, HKV);
        for (int64_t h = 0; h < HKV; ++h) kv_.store(l, h, p0, n, k + h * D, v + h * D, KD);
        // Attention of one token at depth 64 is ~10 us per layer on one core: split across the threads
        // from a few thousand multiply-adds on (a parallel region costs ~1.5 us).
        const int attn_threads = n * (p0 + n) * D * H < (int64_t(1) << 12) ? 1 : nt;
        parallel_for(HKV * n_sub * q_blocks, attn_threads, [&](int64_t b, int64_t e, int worker) {
            float* scratch = attn_scratch_.data() + static_cast<size_t>(worker) * attn_scratch_per_worker_;
            for (int64_t it = b; it < e; ++it) {
                const int64_t h = it / q_blocks * sub, t0 = (it % q_blocks) * q_per_block;  // first query head
                const int64_t t1 = std::min(n, t0 + q_per_block);
                if (t0 >= t1) continue;
                if (kv16)
                    attn16(D, sub, t1 - t0, p0 + t0, q + t0 * QD + h * D, QD, kv_.kb16(l, h / group),
                           kv_.vt16(l, h / group), ld_kv, scale, att + t0 * QD + h * D, QD, scratch);
                else
                    attn(D, sub, t1 - t0, p0 + t0, q + t0 * QD + h * D, QD, kv_.kb(l, h / group),
                         kv_.vt(l, h / group), ld_kv, scale, att + t0 * QD + h * D, QD, scratch);
            }
        });
        matmul(L.wo, n, att, QD, xn, E, nt, mm_);
        for (int64_t i = 0; i < n * E; ++i) x[i] += xn[i];

        const int64_t F = L.w_gate.n_rows;
        rms_norm(x, L.ffn_norm.data(), xn, n, E, c.rms_eps);
        float *g = g_.data(), *u = u_.data();
        if (one_token && L.w_gate_up.n_rows > 0) {
            stacked(L.w_gate_up, {&L.w_gate, &L.w_up});
            g = stacked_.data();
            u = g + F;
        } else {
            const matmul_shared_input shared(mm_);  // gate and up read the same xn
            matmul(L.w_gate, n, xn, E, g, F, nt, mm_);
            matmul(L.w_up, n, xn, E, u, F, nt, mm_);
        }
        silu_mul(n * F, g, u, g);
        matmul(L.w_down, n, g, F, xn, E, nt, mm_);
        for (int64_t i = 0; i < n * E; ++i) x[i] += xn[i];
    }
    kv_.set_n_past(p0 + n);
    if (n_out <= 0) return;
    const float* xo = x + (n - n_out) * E;
    rms_norm(xo, model_->output_norm().data(), xn, n_out, E, c.rms_eps);
    matmul(model_->output(), n_out, xn, E, logits, c.n_vocab, nt, mm_);
}

}  // namespace lowbit
