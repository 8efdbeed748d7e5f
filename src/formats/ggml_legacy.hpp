// llama.cpp legacy block types and plain floats: scalar reference decoders/encoders (bit-/byte-exact with llama.cpp).
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"
#include "lowbit/types.hpp"

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

// AVX2 + F16C decoders (ggml_legacy_avx2.cpp), bit-exact with the __ref ones. Call only when the CPU
// has AVX2/F16C (format_table.cpp's dispatch does that check).
LOWBIT_X86_KERNEL void dequantize_row_f16__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_bf16__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q4_0__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q4_1__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q5_0__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q5_1__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q8_0__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q8_1__avx2(const void* src, float* dst, int64_t n);

// The SIMD decoder of legacy/float type `t` for a tier, or null if there is none: the format table
// fills its to_float_avx2 / to_float_avx512 columns from these.
LOWBIT_X86_KERNEL to_float_fn ggml_legacy_to_float_avx2(type t);
LOWBIT_X86_KERNEL to_float_fn ggml_legacy_to_float_avx512(type t);

}  // namespace lowbit
