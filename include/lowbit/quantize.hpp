// `lowbit quantize`: turn a model (any input container) into a GGUF file with quantized weights.
//
// Type selection per tensor, in order:
//   1. tensors that are not quantizable weights (1-D tensors, norms, non-`weight` tensors) keep
//      their type (F32 stays F32);
//   2. --token-embedding-type / --output-tensor-type for those two tensors;
//   3. the first --tensor-type REGEX=T whose regex matches the name (std::regex_search);
//   4. the preset's mixture rule (llama.cpp's rules for Q4_K_M, Q3_K_M, ... for llama models), or the
//      target type for a plain type;
//   5. the shape fallback (docs/quantize.md): a row length the type's block does not divide falls
//      back like llama.cpp (K/IQ types -> a 32-block type -> F16), or, with fallback_mode::lowbit, to
//      the padded lowbit format nearest in bits per weight. Every fallback is recorded in the output
//      file's `lowbit.quantize.fallbacks` array and reported.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/model_file.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

enum class fallback_mode {
    ggml,    // llama.cpp-compatible: only ggml types in the output (default)
    lowbit,  // padded lowbit formats (file then needs lowbit to load)
};

// How weights are rounded. rtn: each format's reference encoder (with importance when given: for
// ggml types these are llama.cpp's imatrix-aware encoders). mse: for lowbit's INT/NF4/FP4 group
// formats, a per-group search over clipping ratios that minimizes the (importance-weighted) squared
// error (src/quant/mse.hpp); for ggml types the same as rtn, whose encoders already search scales.
enum class quant_method { rtn, mse };

// A named mixture ("q4_k_m") or a plain type ("q4_0", "int4_g32").
struct quant_preset {
    std::string name;
    type base;                 // default type for quantizable weights
    int32_t llama_ftype = -1;  // general.file_type value, -1 if it has none
    bool mixture = false;      // apply llama.cpp's per-tensor rules
};
// Resolves a preset or type name (case-insensitive); throws lowbit::error listing valid names.
quant_preset find_preset(const std::string& name);
std::vector<std::string> preset_names();

struct quantize_options {
    std::string preset = "q4_0";
    std::vector<std::pair<std::string, type>> tensor_types;  // REGEX -> type, first match wins
    std::optional<type> output_tensor_type;
    std::optional<type> token_embedding_type;
    fallback_mode fallback = fallback_mode::ggml;
    bool pure = false;              // no mixture rules: every quantizable weight gets the base type
    bool allow_requantize = false;  // inputs already quantized are de-quantized and re-encoded
    int threads = 0;                // 0 = default_threads()
    quant_method method = quant_method::rtn;
    // Extra metadata written to the output (e.g. llama.cpp's quantize.imatrix.* provenance keys).
    std::vector<std::pair<std::string, gguf_value>> metadata;
    // Per-column importance (imatrix) for a tensor; null = none. Called once per tensor.
    std::function<const std::vector<float>*(const std::string& tensor)> importance;
    // Tensors a weight method (GPTQ, HQQ: src/quant/weight_methods.hpp) has already encoded: called
    // once per tensor to quantize with its chosen type; returns rows * row_bytes(type, row length)
    // bytes to store as they are, or null for the format's own encoder.
    std::function<const std::vector<uint8_t>*(const std::string& tensor, type chosen)> encoded;
    // Progress: (tensors done, tensors total, bytes of input done, bytes total, current tensor).
    std::function<void(size_t, size_t, uint64_t, uint64_t, const std::string&)> on_progress;
};

struct tensor_plan {
    std::string name;
    std::vector<int64_t> shape;
    type from = type::f32;
    type requested = type::f32;  // after rules 1-4
    type chosen = type::f32;     // after the shape fallback
    std::string reason;          // why `requested` (rule) and, if different, why `chosen`
    bool quantize = false;       // false: copied unchanged
    uint64_t bytes_in = 0, bytes_out = 0;
};

struct quantize_report {
    std::vector<tensor_plan> tensors;
    uint64_t bytes_in = 0, bytes_out = 0;      // tensor data only
    uint64_t file_bytes = 0;                   // the whole output file
    uint64_t n_weights = 0;                    // elements of quantizable tensors
    size_t n_fallbacks = 0;
    double seconds = 0;
    double mb_per_s() const { return seconds > 0 ? bytes_in / 1e6 / seconds : 0; }
    double bits_per_weight() const;            // all tensor data bits / all elements
};

// general.file_type for a file whose tensors do not follow one preset (automatic mixed precision):
// the llama.cpp ftype of the ggml type that holds the most quantized weights, named as llama.cpp's
// loader names a guessed ftype (Q4_K -> MOSTLY_Q4_K_M, Q3_K -> MOSTLY_Q3_K_M, ...); -1 when that type
// is a lowbit extension type (no llama.cpp ftype exists).
int32_t dominant_llama_ftype(const quantize_report& rep);


// Decides each tensor's type without encoding anything (--dry-run); validates the options.
quantize_report plan_quantization(const model_data& in, const quantize_options& opt);
// Plans, encodes (multi-threaded) and writes `out_path` atomically (temporary file + rename).
quantize_report quantize_model(const model_data& in, const std::string& out_path,
                               const quantize_options& opt);

}  // namespace lowbit

namespace lowbit {
// Renders a report for people (a per-tensor table plus a summary) or machines (JSON).
std::string format_quantize_report(const quantize_report& r, bool per_tensor);
std::string quantize_report_json(const quantize_report& r);
}  // namespace lowbit
