// model_data over GGUF: load (zero-copy, the mapping kept alive by model_data::keepalive), save via
// gguf_writer, and load_model's container detection (GGUF magic, safetensors header, llama2.c header).
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/mmap.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"

namespace lowbit {

int64_t model_tensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

int64_t model_tensor::n_rows() const {
    const int64_t r = row_len();
    return r ? n_elements() / r : 0;
}

const gguf_value* model_data::find(std::string_view key) const {
    for (const auto& kv : metadata)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

std::string model_data::get_string(std::string_view key, const std::string& fallback) const {
    const gguf_value* v = find(key);
    return v && v->type == gguf_type::string ? v->as_string() : fallback;
}

int64_t model_data::get_int(std::string_view key, int64_t fallback) const {
    const gguf_value* v = find(key);
    if (!v || !v->is_integer()) return fallback;
    try {
        return v->as_i64();
    } catch (const error&) {
        return fallback;  // an unsigned value above INT64_MAX
    }
}

double model_data::get_float(std::string_view key, double fallback) const {
    const gguf_value* v = find(key);
    return v && (v->is_float() || v->is_integer()) ? v->as_f64() : fallback;
}

const model_tensor* model_data::find_tensor(std::string_view name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

void model_data::set(const std::string& key, gguf_value v) {
    for (auto& kv : metadata)
        if (kv.first == key) {
            kv.second = std::move(v);
            return;
        }
    metadata.emplace_back(key, std::move(v));
}

model_data load_gguf_model(const std::string& path) {
    const gguf_file f = gguf_file::open(path);
    model_data m;
    m.source_path = path;
    m.source_format = "gguf";
    m.metadata = f.metadata();
    m.tensors.reserve(f.tensors().size());
    for (const auto& t : f.tensors())
        m.tensors.push_back(model_tensor{t.name, t.t, t.shape, std::span<const uint8_t>(t.data, t.n_bytes)});
    m.keepalive.push_back(f.mapping());
    return m;
}

void save_gguf(const model_data& m, const std::string& path) {
    gguf_writer w;
    for (const auto& [k, v] : m.metadata) w.set(k, v);
    for (const auto& t : m.tensors) w.add_tensor_view(t.name, t.t, t.shape, t.bytes);
    w.write(path);
}

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama2.c header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: separate
// classifier), seq_len. Accepted when every value is in a range a real model could have.
bool plausible_llama2c(const int32_t h[7]) {
    const int64_t dim = h[0], hidden = h[1], n_layers = h[2], n_heads = h[3], n_kv = h[4];
    const int64_t vocab = h[5] < 0 ? -int64_t{h[5]} : h[5], seq = h[6];
    return dim > 0 && dim <= (1 << 16) && hidden > 0 && hidden <= (1 << 20) && n_layers > 0 &&
           n_layers <= 1024 && n_heads > 0 && n_heads <= 1024 && dim % n_heads == 0 && n_kv > 0 &&
           n_kv <= n_heads && n_heads % n_kv == 0 && vocab > 0 && vocab <= (1 << 22) && seq > 0 &&
           seq <= (1 << 24);
}

}  // namespace

model_data load_model(const std::string& path, const load_options& opt) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (fs::exists(fs::path(path) / "model.safetensors") ||
            fs::exists(fs::path(path) / "model.safetensors.index.json"))
            return load_safetensors_model(path);
        fail("{}: directory holds neither model.safetensors nor model.safetensors.index.json", path);
    }
    if (ends_with(path, ".safetensors") || ends_with(path, ".index.json")) return load_safetensors_model(path);

    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
    uint8_t head[28] = {};
    in.read(reinterpret_cast<char*>(head), sizeof(head));
    const size_t got = static_cast<size_t>(in.gcount());
    // Not tellg after the read: a file shorter than `head` leaves the stream failed, and tellg then
    // returned -1 (an empty file was reported as 18446744073709551615 bytes).
    const uint64_t size = fs::file_size(path, ec);
    if (ec) fail("{}: cannot read its size: {}", path, ec.message());

    if (got >= 4 && std::memcmp(head, "GGUF", 4) == 0) return load_gguf_model(path);
    if (got >= 9 && head[8] == '{') {
        uint64_t header_len = 0;
        std::memcpy(&header_len, head, 8);
        if (header_len >= 2 && header_len <= size - 8) return load_safetensors_model(path);
    }
    if (got >= 28) {
        int32_t h[7];
        std::memcpy(h, head, sizeof(h));
        if (plausible_llama2c(h)) return load_llama2c_model(path, opt);
    }
    fail("{}: unrecognized model file ({} bytes): not GGUF (magic \"GGUF\"), not safetensors (u64 header "
         "length then '{{'), not a llama2.c checkpoint (7 plausible int32 header values)",
         path, size);
}

}  // namespace lowbit
