// `lowbit inspect`: what a model file holds — metadata, tensors with types, shapes, bits per weight
// and sizes, per-type totals, and the shape fallbacks a quantization took.
#pragma once

#include <string>

#include "lowbit/model_file.hpp"

namespace lowbit {

// JSON (as text) with a `file`, `metadata`, `tensors`, `types` and `fallbacks` block.
std::string inspect_json(const model_data& m, bool include_arrays = false);
// The same for people. Arrays longer than 8 are summarized (`[string x 512]`).
std::string inspect_text(const model_data& m, bool per_tensor = true);

}  // namespace lowbit
