// Quantized dot products for the generation path (matrix-vector, a few tokens): one weight row in its
// stored format against one activation row quantized on the fly to the weight type's partner format
// (Q8_0 for the 32-blocks Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants), with
// integer multiply-adds inside each block and one float scale multiply per block. The same math as
// llama.cpp's ggml_vec_dot_<w>_<a> (ggml-cpu/ggml-cpu-quants.c), written from the formulas:
//
//   Q4_0 . Q8_0:  sum_b  d_w[b] d_a[b] * sum_j (q_w[j] - 8) q_a[j]
//   Q8_0 . Q8_0:  sum_b  d_w[b] d_a[b] * sum_j q_w[j] q_a[j]
//   Q4_1 . Q8_1:  sum_b  d_w d_a * sum_j q_w q_a  +  m_w * s_a        (s_a = d_a sum_j q_a)
//   Q4_K . Q8_K:  sum_b  d d_a * sum_s sc[s] sum_j q q_a  -  dmin d_a * sum_s m[s] sum_j q_a
//   Q6_K . Q8_K:  sum_b  d d_a * sum_s sc[s] sum_j (q - 32) q_a
//
// Every kernel is named dot_<weights>_<activations>__<tier>. The __ref versions read like the math
// (integer sum per block, then float); the SIMD versions of the K-quants compute the same per-block
// integers and apply the float operations in the same order, so they equal __ref bit for bit; the
// 32-blocks SIMD versions accumulate the scaled block sums in 8 float lanes (as ggml does), so they
// differ from __ref only by float summation order (|diff| <= 1e-5 * sum_b |block term|).
#pragma once

#include <cstdint>

#include "core/cpu.hpp"
#include "core/x86_kernel.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "lowbit/types.hpp"

namespace lowbit::kernels {

// n weights (a multiple of the weight type's block size) at `w` dotted with the activation row `a`
// (the same n values in dot_act_type(w's type)). Never throws.
using dot_fn = float (*)(int64_t n, const void* w, const void* a);

float dot_q4_0_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_q4_1_q8_1__ref(int64_t n, const void* w, const void* a);
float dot_q5_0_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_q5_1_q8_1__ref(int64_t n, const void* w, const void* a);
float dot_q8_0_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_iq4_nl_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_iq4_xs_q8_k__ref(int64_t n, const void* w, const void* a);  // not in the dot table (dot_ref.cpp)
float dot_q2_k_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_q3_k_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_q4_k_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_q5_k_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k__ref(int64_t n, const void* w, const void* a);

LOWBIT_X86_KERNEL float dot_q4_0_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q4_1_q8_1__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q5_0_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q5_1_q8_1__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q8_0_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_iq4_nl_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q2_k_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q3_k_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q4_k_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q5_k_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_q6_k_q8_k__avx2(int64_t n, const void* w, const void* a);

// MXFP4 . Q8_0:  sum_b  (2^(e_b - 128) d_a[b]) * sum_j kv[u_j] q_a[j]   (kv: E2M1 values doubled, ggml's
//                table; 32-blocks: the __avx2 lane order as for IQ4_NL)
// TQ2_0 . Q8_K:  sum_b  d_a d_w * (sum_j q_j q_a[j] - sum_j q_a[j])      (q in 0..2: w = d (q - 1))
// TQ1_0 . Q8_K:  the same with the trits of the base-3 bytes (formats/ggml_iquants.cpp)
// The ternary __avx2 kernels equal __ref bit for bit (exact integers, the same float steps).
float dot_mxfp4_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_tq1_0_q8_k__ref(int64_t n, const void* w, const void* a);
float dot_tq2_0_q8_k__ref(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_mxfp4_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_tq1_0_q8_k__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_tq2_0_q8_k__avx2(int64_t n, const void* w, const void* a);

// lowbit's own formats (formats/lowbit_blocks.hpp; math and layouts in dot_lowbit_ref.cpp). INT:
// Bits 8/4/3/2, G 32/64/128 or 0 (per channel, n a multiple of 32); symmetric with Q8_0 activations,
// asymmetric with Q8_1 (the min enters as m_w * s_a). 4-bit codebooks use int8 tables: FP4 E2M1
// exactly (2 * e2m1), NF4 as round(127 * nf4), at most 0.0037 * d from the true level per weight.
// FP8 has no small-integer form: its kernels read the f32 activations (no activation quantization)
// and multiply in float. The __avx2 versions accumulate the scaled chunk sums in 8 float
// lanes: they differ from __ref by float summation order and, FP8 only, by products taken in a
// 2^-120 (E4M3) / 2^-112 (E5M2) scaled domain (at most 2^-30 * d absolute per multiply-add where
// a lane result is an f32 subnormal; dot_lowbit_avx2.cpp).
template <int Bits, int G>
float dot_int_sym_q8_0__ref(int64_t n, const void* w, const void* a);
template <int Bits, int G>
float dot_int_asym_q8_1__ref(int64_t n, const void* w, const void* a);
template <int Bits, int G>
LOWBIT_X86_KERNEL float dot_int_sym_q8_0__avx2(int64_t n, const void* w, const void* a);
template <int Bits, int G>
LOWBIT_X86_KERNEL float dot_int_asym_q8_1__avx2(int64_t n, const void* w, const void* a);
// Every (Bits, G) the INT kernels are instantiated for: X(Bits, G) for each.
#define LOWBIT_INT_DOT_SHAPES(X) \
    X(8, 32) X(8, 64) X(8, 128) X(8, 0) X(4, 32) X(4, 64) X(4, 128) X(4, 0) \
    X(3, 32) X(3, 64) X(3, 128) X(3, 0) X(2, 32) X(2, 64) X(2, 128) X(2, 0)
float dot_ternary_g64_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_nf4_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_nf4_dq_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_fp4_e2m1_q8_0__ref(int64_t n, const void* w, const void* a);
float dot_fp8_e4m3_f32__ref(int64_t n, const void* w, const void* a);
float dot_fp8_e5m2_f32__ref(int64_t n, const void* w, const void* a);
float dot_fp8_e4m3_pt_f32__ref(int64_t n, const void* w, const void* a);
// F16 / BF16 weights x f32 activations (the generation path of F16 / BF16 models): sum_i w_i x_i in
// float, __ref in index order; __avx2 converts 8 weights per step (vcvtph2ps / a 16-bit shift), 4
// accumulators, any n (masked tail): within 1e-5 of sum |w x| of __ref.
float dot_f16_f32__ref(int64_t n, const void* w, const void* a);
float dot_bf16_f32__ref(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_f16_f32__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_bf16_f32__avx2(int64_t n, const void* w, const void* a);
float dot_fp8_e5m2_pt_f32__ref(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_ternary_g64_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_nf4_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_nf4_dq_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_fp4_e2m1_q8_0__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_fp8_e4m3_f32__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_fp8_e5m2_f32__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_fp8_e4m3_pt_f32__avx2(int64_t n, const void* w, const void* a);
LOWBIT_X86_KERNEL float dot_fp8_e5m2_pt_f32__avx2(int64_t n, const void* w, const void* a);
// The int8 codebooks: round(127 * nf4[u]) and 2 * e2m1(u) (the latter is MXFP4's table: one array).
extern const int8_t k_nf4_i8[16];
inline constexpr const auto& k_fp4_e2m1_x2 = k_mxfp4_kvalues;

// The activation format paired with weight type `t` (q8_0, q8_1, q8_k, or f32 for the FP8 kernels);
// f32 also when `t` has no kernel (dot_kernel() is null then).
type dot_act_type(type t);
// The kernel for weights of type `t` at `tier` (falls back to lower tiers, ending at __ref); null when
// `t` has no quantized dot product.
dot_fn dot_kernel(type t, isa_tier tier);
// At active_isa_tier().
dot_fn dot_kernel(type t);

}  // namespace lowbit::kernels
