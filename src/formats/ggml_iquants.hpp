// llama.cpp i-quants (codebook/lattice) and ternary types: scalar reference decoders/encoders (bit-/byte-exact with llama.cpp)
// and AVX2 decoders.
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"

namespace lowbit {

void dequantize_row_iq4_nl__ref(const void* src, float* dst, int64_t n);
void quantize_row_iq4_nl__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_iq4_xs__ref(const void* src, float* dst, int64_t n);
void quantize_row_iq4_xs__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_iq3_s__ref(const void* src, float* dst, int64_t n);
void quantize_row_iq3_s__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_iq3_xxs__ref(const void* src, float* dst, int64_t n);
void quantize_row_iq3_xxs__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_tq1_0__ref(const void* src, float* dst, int64_t n);
void quantize_row_tq1_0__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_tq2_0__ref(const void* src, float* dst, int64_t n);
void quantize_row_tq2_0__ref(const float* src, void* dst, int64_t n, const float* importance);

// AVX2 decoders (ggml_iquants_avx2.cpp), bit-exact with the __ref versions; call only on AVX2 CPUs.
LOWBIT_X86_KERNEL void dequantize_row_iq4_nl__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_iq4_xs__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_iq3_s__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_iq3_xxs__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_tq1_0__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_tq2_0__avx2(const void* src, float* dst, int64_t n);

}  // namespace lowbit
