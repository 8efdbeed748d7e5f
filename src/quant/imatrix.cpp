#include "quant/imatrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit {
namespace {

bool strip_suffix(std::string& s, const std::string& suffix) {
    if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    s.resize(s.size() - suffix.size());
    return true;
}

std::vector<float> read_f32(const std::string& path, const tensor_info& t) {
    LOWBIT_REQUIRE(t.t == type::f32, "{}: imatrix tensor '{}' is {}, expected F32", path, t.name, type_name(t.t));
    const int64_t n = t.n_elements();
    LOWBIT_REQUIRE(n >= 0 && t.n_bytes >= static_cast<size_t>(n) * sizeof(float),
                   "{}: imatrix tensor '{}' has {} bytes for {} values", path, t.name, t.n_bytes, n);
    std::vector<float> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), t.data, static_cast<size_t>(n) * sizeof(float));
    return v;
}

}  // namespace

std::vector<float> imatrix_data::importance(const std::string& tensor) const {
    const auto it = entries.find(tensor);
    if (it == entries.end()) return {};
    const imatrix_entry& e = it->second;
    const int64_t nc = e.n_cols();
    std::vector<float> out(e.in_sum2.size());
    for (size_t m = 0; m < e.counts.size(); ++m) {
        // llama-quantize: counts are rounded to integers, then divided in float.
        const auto count = static_cast<float>(std::llround(e.counts[m]));
        for (int64_t j = 0; j < nc; ++j) {
            const size_t i = m * static_cast<size_t>(nc) + static_cast<size_t>(j);
            out[i] = count > 0.0f ? e.in_sum2[i] / count : 1.0f;
        }
    }
    return out;
}

std::map<std::string, std::vector<float>> imatrix_data::importance_map() const {
    std::map<std::string, std::vector<float>> r;
    for (const auto& [name, e] : entries) r[name] = importance(name);
    return r;
}

std::vector<std::pair<std::string, gguf_value>> imatrix_quantize_metadata(const imatrix_data& m,
                                                                         const std::string& file) {
    std::vector<std::pair<std::string, gguf_value>> kv;
    kv.emplace_back("quantize.imatrix.file", gguf_value::str(file));
    if (!m.datasets.empty()) kv.emplace_back("quantize.imatrix.dataset", gguf_value::str(m.datasets[0]));
    kv.emplace_back("quantize.imatrix.entries_count", gguf_value::u32(static_cast<uint32_t>(m.entries.size())));
    kv.emplace_back("quantize.imatrix.chunks_count", gguf_value::u32(m.chunk_count));
    return kv;
}

imatrix_data read_imatrix(const std::string& path) {
    const gguf_file f = gguf_file::open(path);
    imatrix_data m;
    const gguf_value* ds = f.find("imatrix.datasets");
    const gguf_value* cc = f.find("imatrix.chunk_count");
    const gguf_value* cs = f.find("imatrix.chunk_size");
    LOWBIT_REQUIRE(ds && cc && cs,
                   "{}: not a GGUF imatrix (needs imatrix.datasets, imatrix.chunk_count and imatrix.chunk_size; "
                   "legacy .dat imatrix files are not supported)", path);
    LOWBIT_REQUIRE(ds->type == gguf_type::array && ds->elem_type == gguf_type::string,
                   "{}: imatrix.datasets is {}, expected an array of strings", path, ds->to_display());
    for (const auto& v : ds->array) m.datasets.push_back(v.as_string());
    LOWBIT_REQUIRE(cc->is_integer() && cs->is_integer(), "{}: imatrix.chunk_count/chunk_size must be integers", path);
    m.chunk_count = static_cast<uint32_t>(cc->as_u64());
    m.chunk_size = static_cast<uint32_t>(cs->as_u64());

    std::map<std::string, std::pair<const tensor_info*, const tensor_info*>> parts;
    for (const auto& t : f.tensors()) {
        std::string name = t.name;
        if (strip_suffix(name, ".in_sum2")) parts[name].first = &t;
        else if (strip_suffix(name, ".counts")) parts[name].second = &t;
    }
    for (const auto& [name, p] : parts) {
        LOWBIT_REQUIRE(p.first && p.second, "{}: imatrix entry '{}' lacks its {} tensor", path, name,
                       p.first ? ".counts" : ".in_sum2");
        imatrix_entry e;
        e.in_sum2 = read_f32(path, *p.first);
        e.counts = read_f32(path, *p.second);
        LOWBIT_REQUIRE(!e.counts.empty() && e.in_sum2.size() % e.counts.size() == 0,
                       "{}: imatrix entry '{}': {} sums are not a multiple of {} counts", path, name,
                       e.in_sum2.size(), e.counts.size());
        for (float c : e.counts)
            LOWBIT_REQUIRE(std::isfinite(c) && c >= 0, "{}: imatrix entry '{}' has count {}", path, name, c);
        for (size_t i = 0; i < e.in_sum2.size(); ++i)  // sums of squares
            LOWBIT_REQUIRE(std::isfinite(e.in_sum2[i]) && e.in_sum2[i] >= 0,
                           "{}: imatrix entry '{}' has in_sum2[{}] = {} (a sum of squared activations: it must be "
                           "finite and >= 0)", path, name, i, e.in_sum2[i]);
        m.entries[name] = std::move(e);
    }
    return m;
}

void write_imatrix(const imatrix_data& m, const std::string& path) {
    gguf_writer w;
    w.set("general.type", gguf_value::str("imatrix"));
    w.set("imatrix.datasets", gguf_value::str_array(m.datasets));
    w.set("imatrix.chunk_count", gguf_value::u32(m.chunk_count));
    w.set("imatrix.chunk_size", gguf_value::u32(m.chunk_size));
    auto bytes = [](const std::vector<float>& v) {
        std::vector<uint8_t> b(v.size() * sizeof(float));
        if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
        return b;
    };
    for (const auto& [name, e] : m.entries) {  // std::map: name order, as llama.cpp sorts them
        const auto nm = static_cast<int64_t>(e.counts.size());
        LOWBIT_REQUIRE(nm > 0 && e.in_sum2.size() % e.counts.size() == 0, "imatrix entry '{}' is inconsistent", name);
        // ggml drops trailing dimensions of 1 when it writes a tensor.
        std::vector<int64_t> s_shape{e.n_cols()}, c_shape{1};
        if (nm > 1) {
            s_shape.push_back(nm);
            c_shape.push_back(nm);
        }
        w.add_tensor(name + ".in_sum2", type::f32, s_shape, bytes(e.in_sum2));
        w.add_tensor(name + ".counts", type::f32, c_shape, bytes(e.counts));
    }
    w.write(path);
}

void imatrix_collector::observe(const std::string& weight, const float* x, int64_t n_tokens, int64_t n_cols) {
    if (n_tokens < min_tokens_) return;
    const bool wanted = weight.rfind("blk.", 0) == 0 ||
                        (include_output_ && (weight == "output.weight" || weight == "token_embd.weight"));
    if (!wanted) return;
    acc& a = acc_[weight];
    if (a.sum2.empty()) a.sum2.assign(static_cast<size_t>(n_cols), 0.0);
    LOWBIT_REQUIRE(static_cast<int64_t>(a.sum2.size()) == n_cols, "imatrix: '{}' seen with {} columns, then {}", weight,
                   a.sum2.size(), n_cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* r = x + t * n_cols;
        for (int64_t j = 0; j < n_cols; ++j) a.sum2[static_cast<size_t>(j)] += double(r[j]) * double(r[j]);
    }
    a.count += n_tokens;
}

imatrix_data imatrix_collector::result(const std::vector<std::string>& datasets, uint32_t chunk_count,
                                       uint32_t chunk_size) const {
    imatrix_data m;
    m.datasets = datasets;
    m.chunk_count = chunk_count;
    m.chunk_size = chunk_size;
    for (const auto& [name, a] : acc_) {
        // A tied output matrix is stored as token_embd.weight.
        imatrix_entry e;
        e.in_sum2.assign(a.sum2.begin(), a.sum2.end());
        e.counts = {static_cast<float>(a.count)};
        m.entries[name] = std::move(e);
    }
    return m;
}

imatrix_data collect_imatrix(std::shared_ptr<const llama_model> model, const std::string& text,
                             const imatrix_options& opt) {
    LOWBIT_REQUIRE(model != nullptr, "collect_imatrix: no model");
    LOWBIT_REQUIRE(opt.n_ctx >= 2 && opt.n_ctx <= (int64_t(1) << 20), "imatrix: context {} outside [2, 1048576]",
                   opt.n_ctx);
    const auto tok = tokenizer::from_model(model->data());
    const bool add_bos = tok->add_bos_default() && tok->bos_id() >= 0;
    const std::vector<int32_t> ids = tok->encode(text, add_bos);
    const auto n_tok = static_cast<int64_t>(ids.size());
    LOWBIT_REQUIRE(n_tok >= 2 * opt.n_ctx,
                   "imatrix: the text tokenizes to {} tokens; a context of {} needs at least {} (use a smaller -c)",
                   n_tok, opt.n_ctx, 2 * opt.n_ctx);
    int64_t n_chunks = n_tok / opt.n_ctx;
    if (opt.n_chunks >= 0) n_chunks = std::min(n_chunks, opt.n_chunks);
    LOWBIT_REQUIRE(n_chunks > 0, "imatrix: --chunks {} leaves nothing to run", opt.n_chunks);

    imatrix_collector col(opt.include_output);
    context_options co;
    co.n_ctx = opt.n_ctx;
    co.n_batch = opt.n_ctx;
    co.n_threads = opt.n_threads > 0 ? opt.n_threads : default_threads();
    co.observer = [&col](const std::string& w, const float* x, int64_t n, int64_t nc) { col.observe(w, x, n, nc); };
    llama_context ctx(model, co);
    std::vector<int32_t> chunk(static_cast<size_t>(opt.n_ctx));
    for (int64_t c = 0; c < n_chunks; ++c) {
        std::copy(ids.begin() + c * opt.n_ctx, ids.begin() + (c + 1) * opt.n_ctx, chunk.begin());
        if (add_bos) chunk[0] = tok->bos_id();
        ctx.clear();
        // Only the products matter: one logit row keeps the output product small unless it is collected.
        ctx.decode(chunk, opt.include_output ? 0 : opt.n_ctx - 1);
    }
    std::vector<std::string> datasets;
    if (!opt.dataset.empty()) datasets.push_back(opt.dataset);
    return col.result(datasets, static_cast<uint32_t>(n_chunks), static_cast<uint32_t>(opt.n_ctx));
}

}  // namespace lowbit
