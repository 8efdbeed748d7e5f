// The quantization pipeline: plan each tensor's type (rules in include/lowbit/quantize.hpp), encode
// rows in parallel, write the GGUF atomically. Throughput is measured over the input tensor bytes.
#include "lowbit/quantize.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "quant/mixture.hpp"
#include "quant/mse.hpp"

namespace lowbit {
namespace {

// A row whose weights exceed the F16 range, once encoded (`row`): an F16 scale or value can overflow
// there, to inf in llama.cpp's encoders (NaN and inf weights in the output, without a word) or to a
// saturated 65504 in lowbit's (outliers shrunk by up to 20x). Every encoder is equivariant under powers
// of two short of that, so the row scaled by 2^-s into range, encoded, de-quantized and scaled back is
// what the type can do: the encoded row must be finite and keep (to 1%) that version's largest magnitude.
template <class Encode>
void check_encoded_row(const std::string& tensor, type t, const float* x, const uint8_t* row, int64_t n, int64_t r,
                       float amax, const Encode& encode) {
    const auto n_sz = static_cast<size_t>(n);
    std::vector<float> back(n_sz), scaled(n_sz);
    std::vector<uint8_t> q(row_bytes(t, n));
    dequantize_row(t, row, back.data(), n);
    const int s = static_cast<int>(std::ceil(std::log2(amax / 1024.0f)));
    for (size_t c = 0; c < n_sz; ++c) scaled[c] = std::ldexp(x[c], -s);
    encode(scaled.data(), q.data());
    dequantize_row(t, q.data(), scaled.data(), n);
    float dmax = 0, want = 0;
    bool finite = true;
    for (size_t c = 0; c < n_sz; ++c) {
        finite = finite && std::isfinite(back[c]);
        dmax = std::max(dmax, std::fabs(back[c]));
        want = std::max(want, std::ldexp(std::fabs(scaled[c]), s));
    }
    if (!finite || dmax < 0.99f * want)
        fail("tensor '{}': row {} has weights up to {:g}, beyond what {} can hold (its F16 scales or values "
             "overflow); keep this tensor in a wider type (e.g. --tensor-type '{}=bf16')",
             tensor, r, amax, type_name(t), tensor);
}

// A tensor's column importance (quantize_options::importance) as the encoders get it. Values must be
// finite, >= 0 and at most 1e20 (an imatrix's mean squared activations are many orders below). Zeros
// become 1e-6 x the mean (1 everywhere when all are zero): the importance-weighted encoders (llama.cpp's)
// write a block whose weights are all zero as zeros, which would erase those columns of every row.
std::vector<float> checked_importance(const std::string& tensor, const std::vector<float>& imp) {
    double sum = 0;
    for (size_t c = 0; c < imp.size(); ++c) {
        const float v = imp[c];
        if (!(std::isfinite(v) && v >= 0 && v <= 1e20f))
            fail("importance for tensor '{}', column {}, is {}: it must be finite, >= 0 and at most 1e20", tensor, c, v);
        sum += v;
    }
    // Scaled by a power of two to a mean in [0.7, 1.4): the weighted searches are invariant to the scale,
    // and a power of two changes no rounding, so the bytes stay the same; but a tensor whose importance is
    // all tiny (1e-40) would otherwise underflow in the encoders' weighted sums, as zeros do.
    std::vector<float> out(imp);
    const double mean = sum / static_cast<double>(std::max<size_t>(imp.size(), 1));
    const int k = mean > 0 ? static_cast<int>(std::lround(std::log2(mean))) : 0;
    for (float& v : out) {
        v = std::ldexp(v, -k);
        if (v == 0) v = mean > 0 ? 1e-6f : 1.0f;  // zero, or underflowed by the scaling (a 1e45 spread)
    }
    return out;
}

struct preset_row {
    const char* name;
    type base;
    int32_t ftype;
    bool mixture;
};

// llama.cpp's ftype presets (name, default type, general.file_type). Plain ggml types use the same
// rules llama-quantize applies to them (e.g. the output tensor goes to Q6_K) unless --pure.
const preset_row k_presets[] = {
    {"f32", type::f32, 0, false},         {"f16", type::f16, 1, false},
    {"bf16", type::bf16, 32, false},      {"q4_0", type::q4_0, 2, true},
    {"q4_1", type::q4_1, 3, true},        {"q5_0", type::q5_0, 8, true},
    {"q5_1", type::q5_1, 9, true},        {"q8_0", type::q8_0, 7, true},
    {"q2_k", type::q2_k, 10, true},       {"q2_k_s", type::q2_k, 21, true},
    {"q3_k_s", type::q3_k, 11, true},     {"q3_k_m", type::q3_k, 12, true},
    {"q3_k_l", type::q3_k, 13, true},     {"q4_k_s", type::q4_k, 14, true},
    {"q4_k_m", type::q4_k, 15, true},     {"q5_k_s", type::q5_k, 16, true},
    {"q5_k_m", type::q5_k, 17, true},     {"q6_k", type::q6_k, 18, true},
    {"iq3_xxs", type::iq3_xxs, 23, true}, {"iq3_s", type::iq3_s, 26, true},
    {"iq4_nl", type::iq4_nl, 25, true},   {"iq4_xs", type::iq4_xs, 30, true},
    {"tq1_0", type::tq1_0, 36, true},     {"tq2_0", type::tq2_0, 37, true},
    {"mxfp4", type::mxfp4, 38, true},
};

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// llama.cpp's shape fallback (tensor_type_fallback) for ggml types.
type ggml_fallback(type t, int64_t n) {
    type r = t;
    switch (t) {
        case type::iq3_xxs: case type::iq3_s: case type::iq4_xs: r = type::iq4_nl; break;
        case type::q2_k: case type::q3_k: case type::tq1_0: case type::tq2_0: r = type::q4_0; break;
        case type::q4_k: r = type::q5_0; break;
        case type::q5_k: r = type::q5_1; break;
        case type::q6_k: r = type::q8_0; break;
        default: break;
    }
    if (!row_supported(r, n)) r = type::f16;
    return r;
}

// The padded lowbit format closest in bits per weight (ties: the larger).
std::optional<type> lowbit_fallback(type t) {
    const double want = traits(t).bits_per_weight;
    const type_traits* best = nullptr;
    for (const auto& r : all_types()) {
        if (r.is_ggml || !r.pads_rows || !r.from_float || !r.is_quantized) continue;
        if (!best || std::abs(r.bits_per_weight - want) < std::abs(best->bits_per_weight - want) ||
            (std::abs(r.bits_per_weight - want) == std::abs(best->bits_per_weight - want) &&
             r.bits_per_weight > best->bits_per_weight))
            best = &r;
    }
    if (!best) return std::nullopt;
    return best->id;
}

uint64_t tensor_bytes(type t, const std::vector<int64_t>& shape) {
    const int64_t n = shape.empty() ? 1 : shape[0];
    int64_t rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
    return static_cast<uint64_t>(rows) * row_bytes(t, n);
}

}  // namespace

quant_preset find_preset(const std::string& name) {
    const std::string n = lower(name);
    for (const auto& p : k_presets)
        if (n == p.name) return {p.name, p.base, p.ftype, p.mixture};
    if (auto t = type_from_name(n)) {
        const auto& tr = traits(*t);
        LOWBIT_REQUIRE(tr.from_float != nullptr, "type '{}' cannot be used as a quantization target", name);
        return {tr.name, *t, -1, false};
    }
    std::string all;
    for (const auto& s : preset_names()) all += (all.empty() ? "" : ", ") + s;
    fail("unknown quantization type or preset '{}' (valid: {})", name, all);
}

std::vector<std::string> preset_names() {
    std::vector<std::string> v;
    for (const auto& p : k_presets) v.push_back(p.name);
    for (const auto& r : all_types())
        if (r.from_float && r.is_quantized && std::find(v.begin(), v.end(), r.name) == v.end())
            v.push_back(r.name);
    return v;
}

double quantize_report::bits_per_weight() const {
    uint64_t elems = 0;
    for (const auto& t : tensors) {
        int64_t n = 1;
        for (auto d : t.shape) n *= d;
        elems += static_cast<uint64_t>(n);
    }
    return elems ? 8.0 * bytes_out / elems : 0;
}

void set_output_metadata(gguf_writer& w, const model_data& in, const quantize_report& rep,
                         const quant_preset& preset);

// Every metadata key of the output: the model's, lowbit's own, and the caller's (opt.metadata last).
void set_all_metadata(gguf_writer& w, const model_data& in, const quantize_report& rep, const quant_preset& preset,
                      const quantize_options& opt) {
    set_output_metadata(w, in, rep, preset);
    if (opt.method == quant_method::mse) w.set("lowbit.quantize.method", gguf_value::str("mse"));
    for (const auto& [k, v] : opt.metadata) w.set(k, v);
}

// Size of the output file: the writer computes it from the metadata and the tensor sizes alone.
uint64_t estimate_file_bytes(const model_data& in, const quantize_report& rep, const quant_preset& preset,
                             const quantize_options& opt) {
    gguf_writer w;
    set_all_metadata(w, in, rep, preset, opt);
    for (const auto& t : rep.tensors)
        w.add_tensor_view(t.name, t.chosen, t.shape, std::span<const uint8_t>(static_cast<const uint8_t*>(nullptr), t.bytes_out));
    return w.file_size();
}

int32_t dominant_llama_ftype(const quantize_report& rep) {
    std::map<type, uint64_t> weights;
    for (const auto& t : rep.tensors) {
        if (!t.quantize) continue;
        uint64_t n = 1;
        for (auto d : t.shape) n *= static_cast<uint64_t>(d);
        weights[t.chosen] += n;
    }
    type best = type::f32;
    uint64_t most = 0;
    for (const auto& [t, n] : weights)
        if (n > most) most = n, best = t;
    // llama-model-loader.cpp's table for a guessed ftype (the K types map to their _M presets).
    switch (best) {
        case type::f32: return 0;       case type::f16: return 1;       case type::bf16: return 32;
        case type::q4_0: return 2;      case type::q4_1: return 3;      case type::q5_0: return 8;
        case type::q5_1: return 9;      case type::q8_0: return 7;      case type::q2_k: return 10;
        case type::q3_k: return 12;     case type::q4_k: return 15;     case type::q5_k: return 17;
        case type::q6_k: return 18;     case type::iq2_xxs: return 19;  case type::iq2_xs: return 20;
        case type::iq3_xxs: return 23;  case type::iq1_s: return 24;    case type::iq4_nl: return 25;
        case type::iq3_s: return 26;    case type::iq2_s: return 28;    case type::iq4_xs: return 30;
        case type::iq1_m: return 31;    case type::tq1_0: return 36;    case type::tq2_0: return 37;
        case type::mxfp4: return 38;
        default: return -1;
    }
}

quantize_report plan_quantization(const model_data& in, const quantize_options& opt) {
    const quant_preset preset = find_preset(opt.preset);
    const bool has_imatrix = static_cast<bool>(opt.importance);
    mixture_rules rules(in, preset, has_imatrix);
    std::vector<std::pair<std::regex, type>> overrides;
    for (const auto& [re, t] : opt.tensor_types) {
        try {
            overrides.emplace_back(std::regex(re), t);
        } catch (const std::regex_error& e) {
            fail("--tensor-type: invalid regular expression '{}': {}", re, e.what());
        }
    }

    quantize_report rep;
    for (const auto& t : in.tensors) {
        tensor_plan p;
        p.name = t.name;
        p.shape = t.shape;
        p.from = t.t;
        p.bytes_in = t.bytes.size();
        p.quantize = is_quantizable_weight(t);
        const auto cat = categorize_tensor(t.name);
        if (!p.quantize) {
            p.requested = p.chosen = t.t;
            p.reason = "not a quantizable weight: kept";
        } else {
            std::string why;
            bool manual = false;
            if (cat == tensor_category::token_embd && opt.token_embedding_type) {
                p.requested = *opt.token_embedding_type;
                why = "--token-embedding-type";
                manual = true;
            } else if (cat == tensor_category::output && opt.output_tensor_type) {
                p.requested = *opt.output_tensor_type;
                why = "--output-tensor-type";
                manual = true;
            } else {
                for (size_t i = 0; i < overrides.size(); ++i)
                    if (std::regex_search(t.name, overrides[i].first)) {
                        p.requested = overrides[i].second;
                        why = "--tensor-type " + opt.tensor_types[i].first;
                        manual = true;
                        break;
                    }
            }
            if (!manual) {
                if (opt.pure) {
                    p.requested = preset.base;
                    why = "--pure " + preset.name;
                } else {
                    p.requested = rules.type_for(t, why);
                }
            }
            p.chosen = p.requested;
            p.reason = why;
            const int64_t n = t.row_len();
            if (!row_supported(p.chosen, n)) {
                std::optional<type> fb;
                if (opt.fallback == fallback_mode::lowbit) fb = lowbit_fallback(p.chosen);
                p.chosen = fb ? *fb : ggml_fallback(p.chosen, n);
                p.reason += fmt::format("; row length {} is not a multiple of {}'s block of {}: fallback to {}",
                                        n, type_name(p.requested), traits(p.requested).block_size,
                                        type_name(p.chosen));
                ++rep.n_fallbacks;
            }
            if (p.chosen != p.from && traits(p.from).is_quantized && !opt.allow_requantize)
                fail("tensor '{}' is already quantized ({}); pass --allow-requantize to re-encode it as {}",
                     t.name, type_name(p.from), type_name(p.chosen));
            int64_t ne = 1;
            for (auto d : t.shape) ne *= d;
            rep.n_weights += static_cast<uint64_t>(ne);
        }
        p.bytes_out = tensor_bytes(p.chosen, p.shape);
        rep.bytes_in += p.bytes_in;
        rep.bytes_out += p.bytes_out;
        rep.tensors.push_back(std::move(p));
    }
    rep.file_bytes = estimate_file_bytes(in, rep, preset, opt);
    return rep;
}

void set_output_metadata(gguf_writer& w, const model_data& in, const quantize_report& rep,
                         const quant_preset& preset) {
    for (const auto& [k, v] : in.metadata)
        if (k.rfind("lowbit.", 0) != 0) w.set(k, v);
    if (preset.llama_ftype >= 0) w.set("general.file_type", gguf_value::u32(static_cast<uint32_t>(preset.llama_ftype)));
    w.set("general.quantization_version", gguf_value::u32(2));
    bool needs_lowbit = false;
    std::vector<std::string> fallbacks;
    for (const auto& t : rep.tensors) {
        if (!traits(t.chosen).is_ggml) needs_lowbit = true;
        if (t.quantize && t.chosen != t.requested)
            fallbacks.push_back(t.name + ": " + type_name(t.requested) + " -> " + type_name(t.chosen));
    }
    w.set("lowbit.quantize.preset", gguf_value::str(preset.name));
    if (!fallbacks.empty()) w.set("lowbit.quantize.fallbacks", gguf_value::str_array(fallbacks));
    if (needs_lowbit) w.set("lowbit.requires", gguf_value::str("lowbit-extension-types"));
}

quantize_report quantize_model(const model_data& in, const std::string& out_path, const quantize_options& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    quantize_report rep = plan_quantization(in, opt);
    const quant_preset preset = find_preset(opt.preset);
    gguf_writer w;
    set_all_metadata(w, in, rep, preset, opt);

    uint64_t done_bytes = 0;
    for (size_t ti = 0; ti < in.tensors.size(); ++ti) {
        const model_tensor& t = in.tensors[ti];
        const tensor_plan& p = rep.tensors[ti];
        if (opt.on_progress) opt.on_progress(ti, in.tensors.size(), done_bytes, rep.bytes_in, t.name);
        if (p.chosen == p.from) {
            w.add_tensor_view(t.name, t.t, t.shape, t.bytes);
        } else {
            const int64_t n = t.row_len();
            const int64_t rows = t.n_rows();
            const size_t in_row = row_bytes(t.t, n), out_row = row_bytes(p.chosen, n);
            LOWBIT_REQUIRE(t.bytes.size() >= static_cast<size_t>(rows) * in_row,
                           "tensor '{}': {} bytes, expected {}", t.name, t.bytes.size(), rows * in_row);
            const std::vector<float>* imp = opt.importance ? opt.importance(t.name) : nullptr;
            LOWBIT_REQUIRE(!imp || static_cast<int64_t>(imp->size()) == n,
                           "importance for tensor '{}' has {} values, the row has {}", t.name,
                           imp ? imp->size() : 0, n);
            std::vector<float> imp_checked;
            if (imp) {
                imp_checked = checked_importance(t.name, *imp);
                imp = &imp_checked;
            }
            if (const std::vector<uint8_t>* pre = opt.encoded ? opt.encoded(t.name, p.chosen) : nullptr) {
                LOWBIT_REQUIRE(pre->size() == static_cast<size_t>(rows) * out_row,
                               "tensor '{}': pre-encoded {} bytes, expected {}", t.name, pre->size(), rows * out_row);
                w.add_tensor(t.name, p.chosen, t.shape, std::vector<uint8_t>(*pre));
                done_bytes += p.bytes_in;
                continue;
            }
            std::vector<uint8_t> out(static_cast<size_t>(rows) * out_row);
            const bool use_mse = opt.method == quant_method::mse && mse_supported(p.chosen);
            parallel_for(rows, opt.threads, [&](int64_t r0, int64_t r1, int) {
                std::vector<float> buf(static_cast<size_t>(n));
                for (int64_t r = r0; r < r1; ++r) {
                    const uint8_t* src = t.bytes.data() + r * in_row;
                    if (t.t == type::f32) std::memcpy(buf.data(), src, n * sizeof(float));
                    else dequantize_row(t.t, src, buf.data(), n);
                    float amax = 0;
                    for (int64_t c = 0; c < n; ++c) {
                        if (!std::isfinite(buf[c]))
                            fail("tensor '{}': weight [row {}, column {}] is {}; refusing to quantize non-finite "
                                 "weights", t.name, r, c, buf[c]);
                        amax = std::max(amax, std::fabs(buf[c]));
                    }
                    const auto encode = [&](const float* xr, uint8_t* dst) {
                        if (use_mse) quantize_row_mse(p.chosen, xr, dst, n, imp ? imp->data() : nullptr);
                        else quantize_row(p.chosen, xr, dst, n, imp ? imp->data() : nullptr);
                    };
                    uint8_t* dst = out.data() + r * out_row;
                    encode(buf.data(), dst);
                    // Up to the F16 limit every format holds the row (scales are F16 or wider).
                    if (amax > 65504.0f) check_encoded_row(t.name, p.chosen, buf.data(), dst, n, r, amax, encode);
                }
            });
            w.add_tensor(t.name, p.chosen, t.shape, std::move(out));
        }
        done_bytes += p.bytes_in;
    }
    if (opt.on_progress) opt.on_progress(in.tensors.size(), in.tensors.size(), done_bytes, rep.bytes_in, "");
    rep.file_bytes = w.file_size();
    w.write(out_path);
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

}  // namespace lowbit
