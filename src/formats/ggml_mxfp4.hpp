// OCP MXFP4 as stored by ggml: scalar reference decoders/encoders (bit-/byte-exact with llama.cpp).
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

namespace lowbit {

void dequantize_row_mxfp4__ref(const void* src, float* dst, int64_t n);
void quantize_row_mxfp4__ref(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace lowbit
