// llama.cpp legacy block types and plain floats: scalar reference decoders/encoders (bit-/byte-exact with llama.cpp).
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

namespace lowbit {

void dequantize_row_f32__ref(const void* src, float* dst, int64_t n);
void quantize_row_f32__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_f16__ref(const void* src, float* dst, int64_t n);
void quantize_row_f16__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_bf16__ref(const void* src, float* dst, int64_t n);
void quantize_row_bf16__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q4_0__ref(const void* src, float* dst, int64_t n);
void quantize_row_q4_0__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q4_1__ref(const void* src, float* dst, int64_t n);
void quantize_row_q4_1__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q5_0__ref(const void* src, float* dst, int64_t n);
void quantize_row_q5_0__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q5_1__ref(const void* src, float* dst, int64_t n);
void quantize_row_q5_1__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q8_0__ref(const void* src, float* dst, int64_t n);
void quantize_row_q8_0__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q8_1__ref(const void* src, float* dst, int64_t n);
void quantize_row_q8_1__ref(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace lowbit
