// On-the-fly quantization of activation rows for the quantized dot products (kernels/dot.hpp).
//   Q8_0: per 32 values, d = max|x| / 127, q = round(x / d)       (ties to even, as ggml's AVX2 path)
//   Q8_1: Q8_0 plus s = d * sum(q)
//   Q8_K: per 256 values, with m the first value of largest |x|: q = min(127, round(-127 x / m)),
//         d = 1 / (-127 / m), bsums[i] = sum of q over each 16   (as ggml's quantize_row_q8_K_ref)
// The __avx2 and __simd128 versions write the same bytes as __ref.
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"
#include "lowbit/types.hpp"

namespace lowbit::kernels {

// n: a multiple of the format's block size (32 or 256).
void quantize_act_q8_0__ref(const float* x, void* dst, int64_t n);
void quantize_act_q8_1__ref(const float* x, void* dst, int64_t n);
void quantize_act_q8_k__ref(const float* x, void* dst, int64_t n);
LOWBIT_X86_KERNEL void quantize_act_q8_0__avx2(const float* x, void* dst, int64_t n);
LOWBIT_X86_KERNEL void quantize_act_q8_1__avx2(const float* x, void* dst, int64_t n);
LOWBIT_X86_KERNEL void quantize_act_q8_k__avx2(const float* x, void* dst, int64_t n);
// The generic tier's (kernels/quant_act_simd128.cpp: SSSE3 / Advanced SIMD), the same bytes as __ref.
LOWBIT_SIMD128_KERNEL void quantize_act_q8_0__simd128(const float* x, void* dst, int64_t n);
LOWBIT_SIMD128_KERNEL void quantize_act_q8_1__simd128(const float* x, void* dst, int64_t n);
LOWBIT_SIMD128_KERNEL void quantize_act_q8_k__simd128(const float* x, void* dst, int64_t n);

// F32 "activations" (the FP8 dot products read floats): a copy.
void quantize_act_f32(const float* x, void* dst, int64_t n);

using quantize_act_fn = void (*)(const float* x, void* dst, int64_t n);
// For act = q8_0, q8_1, q8_k (at the active tier) or f32; null otherwise.
quantize_act_fn quantize_act_kernel(type act);

}  // namespace lowbit::kernels
