// AVX-512 VNNI (EVEX vpdpbusd, 256-bit AVX512VL form) micro-kernels of the integer prompt GEMM (the kernels: gemm_q_vnni.hpp; layouts and math:
// gemm_q.hpp). Bit-exact with gemm_q.cpp's __ref. Tier avx512vnni.
#define LOWBIT_DPBUSD _mm256_dpbusd_epi32
#include "kernels/gemm_q_vnni.hpp"

namespace lowbit::kernels {

void gemm_q4_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    dispatch<8>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void gemm_q5_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    dispatch<16>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void gemm_q8_0_q8_0_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    dispatch<0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void gemm_q4_k_q8_k_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    dispatch_k<k_q4_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);  // Q5_K too: its codes 0..31 in the same block
}
void gemm_q6_k_q8_k_8x4__avx512vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    dispatch_k<k_q6_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

}  // namespace lowbit::kernels
