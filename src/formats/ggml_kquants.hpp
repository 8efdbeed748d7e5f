// llama.cpp K-quants (super-blocks of 256): scalar reference decoders/encoders (bit-/byte-exact with llama.cpp).
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"

namespace lowbit {

void dequantize_row_q2_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q2_k__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q3_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q3_k__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q4_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q4_k__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q5_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q5_k__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q6_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q6_k__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_q8_k__ref(const void* src, float* dst, int64_t n);
void quantize_row_q8_k__ref(const float* src, void* dst, int64_t n, const float* importance);

// AVX2 decoders (ggml_kquants_avx2.cpp), bit-exact with the __ref ones; call only when the CPU has
// AVX2 + FMA + F16C (the format table's dispatch does this).
LOWBIT_X86_KERNEL void dequantize_row_q2_k__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q3_k__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q4_k__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q5_k__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q6_k__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_q8_k__avx2(const void* src, float* dst, int64_t n);

}  // namespace lowbit
