#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "lowbit/quantize.hpp"

namespace lowbit {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) r += (i ? " x " : "") + std::to_string(s[i]);
    return r;
}

std::string human_bytes(uint64_t b) {
    if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", b / double(1ull << 30));
    if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", b / double(1ull << 20));
    if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", b / 1024.0);
    return fmt::format("{} B", b);
}

}  // namespace

std::string format_quantize_report(const quantize_report& r, bool per_tensor) {
    std::string s;
    if (per_tensor) {
        s += fmt::format("{:<32} {:>14} {:>8} {:>10} {:>7} {:>10}  {}\n", "tensor", "shape", "from", "to", "bpw",
                         "bytes", "why");
        for (const auto& t : r.tensors) {
            int64_t n = 1;
            for (auto d : t.shape) n *= d;
            s += fmt::format("{:<32} {:>14} {:>8} {:>10} {:>7.3f} {:>10}  {}\n", t.name, shape_str(t.shape),
                             type_name(t.from), type_name(t.chosen), n ? 8.0 * t.bytes_out / n : 0.0,
                             t.bytes_out, t.reason);
        }
    }
    s += fmt::format("tensor data: {} -> {} ({:.3f} bits per weight), file {}\n", human_bytes(r.bytes_in),
                     human_bytes(r.bytes_out), r.bits_per_weight(), human_bytes(r.file_bytes));
    if (r.n_fallbacks) s += fmt::format("shape fallbacks: {} tensor(s), recorded in lowbit.quantize.fallbacks\n", r.n_fallbacks);
    if (r.seconds > 0)
        s += fmt::format("time: {:.2f} s, throughput {:.1f} MB/s of input weights\n", r.seconds, r.mb_per_s());
    return s;
}

std::string quantize_report_json(const quantize_report& r) {
    nlohmann::json j;
    j["bytes_in"] = r.bytes_in;
    j["bytes_out"] = r.bytes_out;
    j["file_bytes"] = r.file_bytes;
    j["bits_per_weight"] = r.bits_per_weight();
    j["n_fallbacks"] = r.n_fallbacks;
    j["seconds"] = r.seconds;
    j["mb_per_s"] = r.mb_per_s();
    auto& ts = j["tensors"] = nlohmann::json::array();
    for (const auto& t : r.tensors)
        ts.push_back({{"name", t.name}, {"shape", t.shape}, {"from", type_name(t.from)},
                      {"requested", type_name(t.requested)}, {"type", type_name(t.chosen)},
                      {"quantized", t.quantize}, {"fallback", t.quantize && t.chosen != t.requested},
                      {"bytes", t.bytes_out}, {"reason", t.reason}});
    return j.dump(2);
}

}  // namespace lowbit
