// W8A8: int8 weights (int8_pc: one fp16 scale per row) times int8 activations, integer dot products.
//
// Weights, int8_pc row (formats/lowbit_blocks.hpp): [fp16 d_w][n codes u], w_j = d_w * (u_j - 128),
//   |u_j - 128| <= 127 (code 0 is never written by the encoder; the kernels still handle it exactly).
// Activations, one row per token:
//   dynamic (per token):  d_x = max_j |x_j| / 127
//   static  (per tensor): d_x = the calibrated scale stored in the model file
//   q_j = clamp(round_half_even(x_j * (1 / d_x)), -127, 127)   (q = 0 when d_x = 0)
// Output:  y = (d_x * d_w) * sum_j q_j (u_j - 128), the sum in int32 (exact: |sum| < 2^31 for
//   n < 2^31 / 127^2 ~ 133K; longer rows are split in the kernel's int64 accumulation).
// The __avx2 kernels compute the same integers and the same float operations as __ref, so they
// equal __ref bit for bit.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"
#include "core/x86_kernel.hpp"

namespace lowbit {
struct weight_matrix;
class matmul_scratch;
}  // namespace lowbit

namespace lowbit::kernels {

// Quantizes x[0..n) with scale d (static); q as above.
void quantize_row_s8__ref(const float* x, int8_t* q, int64_t n, float d);
LOWBIT_X86_KERNEL void quantize_row_s8__avx2(const float* x, int8_t* q, int64_t n, float d);
// max_j |x_j| (the dynamic scale is this / 127).
float absmax_f32__ref(const float* x, int64_t n);
LOWBIT_X86_KERNEL float absmax_f32__avx2(const float* x, int64_t n);
// sum_j (u_j - 128) * q_j over n values: u the stored int8_pc codes (after the row header).
int64_t dot_u8off_s8__ref(const uint8_t* u, const int8_t* q, int64_t n);
LOWBIT_X86_KERNEL int64_t dot_u8off_s8__avx2(const uint8_t* u, const int8_t* q, int64_t n);

// The same sums for four rows u[0..3] against one activation row (out[i] = dot(u[i], q)): one load
// of q serves four rows (the prompt path's row groups).
void dot4_u8off_s8__ref(const uint8_t* const* u, const int8_t* q, int64_t n, int64_t* out);
LOWBIT_X86_KERNEL void dot4_u8off_s8__avx2(const uint8_t* const* u, const int8_t* q, int64_t n, int64_t* out);

struct w8a8_kernels {
    void (*quantize)(const float*, int8_t*, int64_t, float);
    float (*absmax)(const float*, int64_t);
    int64_t (*dot)(const uint8_t*, const int8_t*, int64_t);
    void (*dot4)(const uint8_t* const*, const int8_t*, int64_t, int64_t*);
};
// The kernels of `tier` (falls back to __ref below avx2).
w8a8_kernels w8a8_kernels_for(isa_tier tier);

// The dynamic scale of one row: absmax / 127 (as the kernels compute it).
inline float dynamic_scale(float absmax) { return absmax / 127.0f; }

}  // namespace lowbit::kernels

namespace lowbit {

// y = x W^T with int8 activations per w.act (kernels/matmul.hpp, act_quant_desc). int8_pc weights use
// the integer dot products above; any other stored type gets the same activation rounding simulated
// (x replaced by d_x * q) and then the weight-only path. Shapes as matmul(). Never throws.
void matmul_w8a8(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                 int n_threads, matmul_scratch& scratch);

// Rounds x in place through int8 with w.act's scale per row (the activation error alone); for tests
// and the calibration guard.
void fake_quantize_act(const weight_matrix& w, int64_t n_tokens, float* x, int64_t ldx);

}  // namespace lowbit
