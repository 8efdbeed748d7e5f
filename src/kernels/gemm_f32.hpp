// F32 matrix product with the contraction dimension contiguous in both operands (the layout of
// activations x[token][k] and weight rows w[row][k]):
//   y[t * ldy + r] = sum_{i < k} x[t * ldx + i] * w[r * ldw + i]      t < m (tokens), r < n (rows)
// The scalar __ref version is the oracle; SIMD versions accumulate in a different order and agree
// with it within float rounding (tests: normalized MSE < 1e-12 on awkward shapes).
#pragma once

#include <cstdint>

namespace lowbit::kernels {

using gemm_f32_fn = void (*)(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx,
                             const float* w, int64_t ldw, float* y, int64_t ldy);

void gemm_f32__ref(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                   int64_t ldw, float* y, int64_t ldy);
void gemm_f32__avx2(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                    int64_t ldw, float* y, int64_t ldy);
void gemm_f32__avx512(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                      int64_t ldw, float* y, int64_t ldy);

// The fastest version the active ISA tier allows (core/cpu.hpp).
gemm_f32_fn gemm_f32();

}  // namespace lowbit::kernels
