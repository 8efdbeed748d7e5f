// Hugging Face safetensors checkpoints (single file or sharded via model.safetensors.index.json), mapped
// onto the GGUF layout of model_file.hpp.
//
// File: u64 little-endian N, then N bytes of JSON {"<name>": {"dtype", "shape", "data_offsets":
// [begin, end]}, "__metadata__": {...}}, then the data section; offsets are relative to byte 8 + N.
// Shapes are row-major (PyTorch order), so ggml's shape is the reverse with the same bytes.
// Every field is checked against the bytes that exist before use; tensors are zero-copy views into
// the mapping except q_proj/k_proj (un-permuted into owned buffers, see hf_config.hpp) and data that
// is not aligned to its element size (copied).
//
// With a config.json beside the weights the model is read as a llama model: names, shapes and
// metadata follow llama.cpp's convert_hf_to_gguf.py. Without one, tensors keep their names.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/mmap.hpp"
#include "io/hf_config.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"

namespace lowbit {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The safetensors reference implementation refuses headers above 100 MB.
constexpr uint64_t k_max_header = 100u << 20;

struct st_tensor {
    std::string name;
    type t;
    std::vector<int64_t> shape;  // as stored (row-major, outermost first)
    const uint8_t* data;
    size_t n_bytes;
    uint64_t begin;  // offset in the data section
};

struct st_file {
    std::string path;
    std::shared_ptr<const mapped_file> map;
    std::vector<st_tensor> tensors;  // in data order
};

bool dtype_of(const std::string& s, type& t, size_t& size) {
    if (s == "F32") return t = type::f32, size = 4, true;
    if (s == "F16") return t = type::f16, size = 2, true;
    if (s == "BF16") return t = type::bf16, size = 2, true;
    return false;
}

st_file open_safetensors(const std::string& path) {
    st_file f;
    f.path = path;
    f.map = mapped_file::open(path);
    const uint64_t size = f.map->size();
    LOWBIT_REQUIRE(size >= 8, "{}: safetensors file has {} bytes, less than the 8-byte header length",
                   path, size);
    uint64_t hlen;
    std::memcpy(&hlen, f.map->data(), 8);
    LOWBIT_REQUIRE(hlen <= size - 8,
                   "{}: safetensors header length {} exceeds the {} bytes after the length field "
                   "(truncated or not a safetensors file)",
                   path, hlen, size - 8);
    LOWBIT_REQUIRE(hlen >= 2 && hlen <= k_max_header,
                   "{}: safetensors header length {} is outside [2, {}]", path, hlen, k_max_header);
    const char* hp = reinterpret_cast<const char*>(f.map->data() + 8);
    json h;
    try {
        h = json::parse(hp, hp + hlen);
    } catch (const json::exception& e) {
        fail("{}: safetensors header is not valid JSON: {}", path, e.what());
    }
    LOWBIT_REQUIRE(h.is_object(), "{}: safetensors header is not a JSON object", path);
    const uint8_t* data = f.map->data() + 8 + hlen;
    const uint64_t data_size = size - 8 - hlen;

    for (auto it = h.begin(); it != h.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") continue;
        const json& e = it.value();
        LOWBIT_REQUIRE(e.is_object(), "{}: tensor '{}': header entry is not an object", path, name);
        auto dt = e.find("dtype");
        LOWBIT_REQUIRE(dt != e.end() && dt->is_string(), "{}: tensor '{}': field 'dtype' is missing", path,
                       name);
        st_tensor t;
        t.name = name;
        size_t el = 0;
        LOWBIT_REQUIRE(dtype_of(dt->get<std::string>(), t.t, el),
                       "{}: tensor '{}': dtype '{}' is not supported (F32, F16, BF16)", path, name,
                       dt->get<std::string>());
        auto sh = e.find("shape");
        LOWBIT_REQUIRE(sh != e.end() && sh->is_array() && sh->size() <= 4,
                       "{}: tensor '{}': field 'shape' must be an array of at most 4 dimensions", path,
                       name);
        uint64_t n = 1;
        bool zero = false;
        for (const auto& d : *sh) {
            LOWBIT_REQUIRE(d.is_number_unsigned() && d.get<uint64_t>() <= (uint64_t(1) << 40),
                           "{}: tensor '{}': field 'shape' has invalid dimension {}", path, name, d.dump());
            const uint64_t v = d.get<uint64_t>();
            t.shape.push_back(static_cast<int64_t>(v));
            if (v == 0) zero = true;
            if (!zero) {
                LOWBIT_REQUIRE(n <= data_size / v,
                               "{}: tensor '{}': field 'shape' {} holds more elements than the {}-byte data "
                               "section",
                               path, name, sh->dump(), data_size);
                n *= v;
            }
        }
        if (zero) n = 0;
        auto off = e.find("data_offsets");
        LOWBIT_REQUIRE(off != e.end() && off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() &&
                           (*off)[1].is_number_unsigned(),
                       "{}: tensor '{}': field 'data_offsets' must be [begin, end]", path, name);
        const uint64_t b = (*off)[0].get<uint64_t>(), en = (*off)[1].get<uint64_t>();
        LOWBIT_REQUIRE(b <= en && en <= data_size,
                       "{}: tensor '{}': field 'data_offsets' [{}, {}] is outside the data section of {} "
                       "bytes",
                       path, name, b, en, data_size);
        LOWBIT_REQUIRE(en - b == n * el,
                       "{}: tensor '{}': field 'data_offsets' spans {} bytes, but shape {} of {} needs {}",
                       path, name, en - b, sh->dump(), dt->get<std::string>(), n * el);
        t.data = data + b;
        t.n_bytes = static_cast<size_t>(en - b);
        t.begin = b;
        f.tensors.push_back(std::move(t));
    }
    std::sort(f.tensors.begin(), f.tensors.end(),
              [](const st_tensor& a, const st_tensor& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < f.tensors.size(); ++i) {
        const auto& p = f.tensors[i - 1];
        const auto& c = f.tensors[i];
        LOWBIT_REQUIRE(c.begin >= p.begin + p.n_bytes,
                       "{}: tensor '{}': field 'data_offsets' begins at {}, inside tensor '{}' [{}, {}]",
                       path, c.name, c.begin, p.name, p.begin, p.begin + p.n_bytes);
    }
    return f;
}

size_t element_size(type t) { return t == type::f32 ? 4 : 2; }

struct source {
    std::vector<st_file> files;
    std::vector<std::pair<const st_tensor*, const st_file*>> tensors;
    std::string dir;
};

// Resolves a directory, an index.json or a .safetensors file to the list of tensors to load.
source open_source(const std::string& path) {
    source s;
    std::string p = path;
    if (fs::is_directory(p)) {
        const auto idx = fs::path(p) / "model.safetensors.index.json";
        const auto one = fs::path(p) / "model.safetensors";
        if (fs::exists(idx))
            p = idx.string();
        else if (fs::exists(one))
            p = one.string();
        else
            fail("{}: directory has neither model.safetensors nor model.safetensors.index.json", path);
    }
    fs::path parent = fs::path(p).parent_path();
    if (parent.empty()) parent = fs::current_path();
    s.dir = parent.string();
    const bool is_index = p.size() >= 5 && p.compare(p.size() - 5, 5, ".json") == 0;
    if (!is_index) {
        s.files.push_back(open_safetensors(p));
        for (const auto& t : s.files[0].tensors) s.tensors.emplace_back(&t, &s.files[0]);
        return s;
    }
    const json idx = io::read_json_file(p);
    LOWBIT_REQUIRE(idx.is_object() && idx.contains("weight_map") && idx["weight_map"].is_object(),
                   "{}: field 'weight_map' is missing or not an object", p);
    const json& wm = idx["weight_map"];
    std::map<std::string, size_t> shard_of;  // shard file name -> index in s.files
    std::vector<std::pair<std::string, std::string>> wanted;
    for (auto it = wm.begin(); it != wm.end(); ++it) {
        LOWBIT_REQUIRE(it.value().is_string(), "{}: weight_map['{}'] is not a file name", p, it.key());
        const std::string shard = it.value().get<std::string>();
        LOWBIT_REQUIRE(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..",
                       "{}: weight_map['{}'] = '{}' is not a file name in the index's directory", p,
                       it.key(), shard);
        wanted.emplace_back(it.key(), shard);
        shard_of.emplace(shard, 0);
    }
    LOWBIT_REQUIRE(!wanted.empty(), "{}: weight_map is empty", p);
    s.files.reserve(shard_of.size());
    for (auto& [shard, i] : shard_of) {
        const auto sp = fs::path(s.dir) / shard;
        LOWBIT_REQUIRE(fs::exists(sp), "{}: shard '{}' named in weight_map is missing ({})", p, shard,
                       sp.string());
        i = s.files.size();
        s.files.push_back(open_safetensors(sp.string()));
    }
    for (const auto& [name, shard] : wanted) {
        const st_file& f = s.files[shard_of[shard]];
        auto it = std::find_if(f.tensors.begin(), f.tensors.end(),
                               [&want = name](const st_tensor& t) { return t.name == want; });
        LOWBIT_REQUIRE(it != f.tensors.end(), "{}: weight_map['{}'] names shard '{}', which has no such tensor",
                       p, name, shard);
        s.tensors.emplace_back(&*it, &f);
    }
    return s;
}

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

namespace {
model_data load_checked(const std::string& path);
}

model_data load_safetensors_model(const std::string& path) {
    // Field types are checked where they are read; this catches what slips through (e.g. a non-string
    // where nlohmann's value() expects one) so callers only ever see lowbit::error.
    try {
        return load_checked(path);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: unexpected JSON content in the checkpoint's header, config or tokenizer: {}", path, e.what());
    }
}

namespace {

model_data load_checked(const std::string& path) {
    source src = open_source(path);
    model_data m;
    m.source_path = path;
    m.source_format = "safetensors";
    for (const auto& f : src.files) m.keepalive.push_back(f.map);

    auto make = [&](const st_tensor& t, std::string name) {
        model_tensor mt;
        mt.name = std::move(name);
        mt.t = t.t;
        mt.shape.assign(t.shape.rbegin(), t.shape.rend());
        if (mt.shape.empty()) mt.shape.push_back(1);
        if (reinterpret_cast<uintptr_t>(t.data) % element_size(t.t) != 0) {
            auto buf = std::make_shared<std::vector<uint8_t>>(t.data, t.data + t.n_bytes);
            m.keepalive.push_back(buf);
            mt.bytes = std::span<const uint8_t>(buf->data(), buf->size());
        } else {
            mt.bytes = std::span<const uint8_t>(t.data, t.n_bytes);
        }
        return mt;
    };

    const auto cfg_path = (fs::path(src.dir) / "config.json").string();
    if (!fs::exists(cfg_path)) {
        // No config: a plain tensor file; names and data as stored.
        for (const auto& [t, f] : src.tensors) m.tensors.push_back(make(*t, t->name));
        return m;
    }

    const json cfg = io::read_json_file(cfg_path);
    const io::hf_llama_config c = io::parse_hf_llama_config(cfg, cfg_path);
    m.metadata = io::hf_config_metadata(c, cfg, cfg_path);
    const auto tok_path = (fs::path(src.dir) / "tokenizer.json").string();
    if (fs::exists(tok_path)) {
        const json tok = io::read_json_file(tok_path);
        const auto tc_path = (fs::path(src.dir) / "tokenizer_config.json").string();
        json tc;
        if (fs::exists(tc_path)) tc = io::read_json_file(tc_path);
        auto kv = io::hf_tokenizer_metadata(tok, fs::exists(tc_path) ? &tc : nullptr, cfg, c.n_vocab, tok_path);
        m.metadata.insert(m.metadata.end(), kv.begin(), kv.end());
    }

    const int64_t D = c.n_embd, F = c.n_ff, V = c.n_vocab, hd = c.head_dim;
    const int64_t q_dim = c.n_head * hd, kv_dim = c.n_head_kv * hd;
    auto expected_shape = [&](const std::string& g) -> std::vector<int64_t> {
        auto ends = [&](const char* s) {
            const size_t n = std::strlen(s);
            return g.size() >= n && g.compare(g.size() - n, n, s) == 0;
        };
        if (g == "token_embd.weight" || g == "output.weight") return {D, V};
        if (g == "output_norm.weight" || ends("_norm.weight")) return {D};
        if (ends("attn_q.weight")) return {D, q_dim};
        if (ends("attn_k.weight") || ends("attn_v.weight")) return {D, kv_dim};
        if (ends("attn_output.weight")) return {q_dim, D};
        if (ends("ffn_gate.weight") || ends("ffn_up.weight")) return {D, F};
        if (ends("ffn_down.weight")) return {F, D};
        return {};
    };

    std::set<std::string> seen;
    for (const auto& [t, f] : src.tensors) {
        if (io::hf_tensor_is_ignored(t->name)) continue;
        const auto g = io::hf_to_gguf_tensor_name(t->name);
        LOWBIT_REQUIRE(g.has_value(), "{}: tensor '{}' is not part of a llama model (no GGUF name for it)",
                       f->path, t->name);
        LOWBIT_REQUIRE(seen.insert(*g).second, "{}: tensor '{}' appears twice", f->path, t->name);
        const auto [blk, kind] = io::gguf_tensor_order(*g);
        LOWBIT_REQUIRE(blk < c.n_layer, "{}: tensor '{}': layer {} is beyond num_hidden_layers {}", f->path,
                       t->name, blk, c.n_layer);
        model_tensor mt = make(*t, *g);
        const auto want = expected_shape(*g);
        LOWBIT_REQUIRE(mt.shape == want, "{}: tensor '{}' has ggml shape {}, config.json implies {}", f->path,
                       t->name, shape_str(mt.shape), shape_str(want));
        const bool is_q = g->ends_with("attn_q.weight"), is_k = g->ends_with("attn_k.weight");
        if (is_q || is_k) {
            auto buf = std::make_shared<std::vector<uint8_t>>(t->n_bytes);
            const size_t row_bytes = static_cast<size_t>(D) * element_size(t->t);
            io::unpermute_qk_rows(t->data, buf->data(), mt.shape[1], row_bytes, is_q ? c.n_head : c.n_head_kv);
            m.keepalive.push_back(buf);
            mt.bytes = std::span<const uint8_t>(buf->data(), buf->size());
        }
        m.tensors.push_back(std::move(mt));
    }

    // Every tensor a llama model needs must be there.
    std::vector<std::string> need = {"token_embd.weight", "output_norm.weight"};
    if (!c.tie_word_embeddings) need.push_back("output.weight");
    for (int64_t i = 0; i < c.n_layer; ++i)
        for (const char* k : {"attn_q", "attn_k", "attn_v", "attn_output", "attn_norm", "ffn_gate", "ffn_down",
                              "ffn_up", "ffn_norm"})
            need.push_back(fmt::format("blk.{}.{}.weight", i, k));
    for (const auto& n : need)
        LOWBIT_REQUIRE(seen.count(n), "{}: tensor '{}' is missing (needed by config.json's llama model{})", path,
                       n, n == "output.weight" ? " with tie_word_embeddings false: lm_head.weight" : "");

    std::stable_sort(m.tensors.begin(), m.tensors.end(), [](const model_tensor& a, const model_tensor& b) {
        return io::gguf_tensor_order(a.name) < io::gguf_tensor_order(b.name);
    });
    return m;
}

}  // namespace

}  // namespace lowbit
