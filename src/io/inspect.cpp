#include "lowbit/inspect.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

nlohmann::json value_json(const gguf_value& v, bool include_arrays) {
    switch (v.type) {
        case gguf_type::string: return v.as_string();
        case gguf_type::boolean: return v.as_bool();
        case gguf_type::f32: case gguf_type::f64: return v.as_f64();
        case gguf_type::i8: case gguf_type::i16: case gguf_type::i32: case gguf_type::i64: return v.as_i64();
        case gguf_type::array: {
            if (!include_arrays && v.array.size() > 8)
                return nlohmann::json{{"type", std::string("array[") + gguf_type_name(v.elem_type) + "]"},
                                      {"length", v.array.size()}};
            auto a = nlohmann::json::array();
            for (const auto& e : v.array) a.push_back(value_json(e, include_arrays));
            return a;
        }
        default: return v.as_u64();
    }
}

struct type_total {
    uint64_t n_tensors = 0, elements = 0, bytes = 0;
};

struct totals {
    std::map<std::string, type_total> by_type;
    uint64_t elements = 0, bytes = 0;
};

totals sum_tensors(const model_data& m) {
    totals t;
    for (const auto& x : m.tensors) {
        auto& tt = t.by_type[type_name(x.t)];
        ++tt.n_tensors;
        tt.elements += x.n_elements();
        tt.bytes += x.bytes.size();
        t.elements += x.n_elements();
        t.bytes += x.bytes.size();
    }
    return t;
}

double bpw(uint64_t bytes, uint64_t elements) { return elements ? 8.0 * bytes / elements : 0.0; }

std::vector<std::string> fallbacks_of(const model_data& m) {
    std::vector<std::string> out;
    if (const gguf_value* f = m.find("lowbit.quantize.fallbacks"); f && f->type == gguf_type::array)
        for (const auto& e : f->array)
            if (e.type == gguf_type::string) out.push_back(e.as_string());
    return out;
}

}  // namespace

std::string inspect_json(const model_data& m, bool include_arrays) {
    nlohmann::json j;
    std::error_code ec;
    auto fsz = std::filesystem::file_size(m.source_path, ec);
    j["file"] = {{"path", m.source_path}, {"format", m.source_format}, {"bytes", ec ? 0 : fsz}};
    auto& md = j["metadata"] = nlohmann::json::object();
    for (const auto& [k, v] : m.metadata) md[k] = value_json(v, include_arrays);
    auto& ts = j["tensors"] = nlohmann::json::array();
    for (const auto& t : m.tensors)
        ts.push_back({{"name", t.name}, {"type", type_name(t.t)}, {"shape", t.shape}, {"bytes", t.bytes.size()},
                      {"bits_per_weight", bpw(t.bytes.size(), t.n_elements())}});
    const totals tot = sum_tensors(m);
    auto& ty = j["types"] = nlohmann::json::object();
    for (const auto& [name, tt] : tot.by_type)
        ty[name] = {{"tensors", tt.n_tensors}, {"elements", tt.elements}, {"bytes", tt.bytes}};
    j["totals"] = {{"tensors", m.tensors.size()}, {"elements", tot.elements}, {"bytes", tot.bytes},
                   {"bits_per_weight", bpw(tot.bytes, tot.elements)}};
    j["fallbacks"] = fallbacks_of(m);
    j["requires_lowbit"] = m.find("lowbit.requires") != nullptr;
    return j.dump(2);
}

std::string inspect_text(const model_data& m, bool per_tensor) {
    std::string s = fmt::format("{} ({})\n", m.source_path, m.source_format);
    s += fmt::format("metadata: {} keys\n", m.metadata.size());
    for (const auto& [k, v] : m.metadata) s += fmt::format("  {:<44} {}\n", k, v.to_display());
    if (per_tensor) s += fmt::format("tensors: {}\n  {:<36} {:>8} {:>16} {:>8} {:>12}\n", m.tensors.size(), "name", "type", "shape", "bpw", "bytes");
    for (const auto& t : m.tensors) {
        if (!per_tensor) break;
        std::string shape;
        for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(t.shape[i]);
        s += fmt::format("  {:<36} {:>8} {:>16} {:>8.3f} {:>12}\n", t.name, type_name(t.t), shape,
                         bpw(t.bytes.size(), t.n_elements()), t.bytes.size());
    }
    const totals tot = sum_tensors(m);
    s += "by type:\n";
    for (const auto& [name, tt] : tot.by_type)
        s += fmt::format("  {:<10} {:>4} tensors {:>12} weights {:>12} bytes {:>7.3f} bpw\n", name, tt.n_tensors,
                         tt.elements, tt.bytes, bpw(tt.bytes, tt.elements));
    s += fmt::format("total: {} weights, {} bytes of tensor data, {:.3f} bits per weight\n", tot.elements,
                     tot.bytes, bpw(tot.bytes, tot.elements));
    auto fb = fallbacks_of(m);
    if (!fb.empty()) {
        s += fmt::format("shape fallbacks ({}):\n", fb.size());
        for (const auto& f : fb) s += "  " + f + "\n";
    }
    if (m.find("lowbit.requires")) s += "note: uses lowbit extension types; llama.cpp cannot load this file\n";
    return s;
}

}  // namespace lowbit
