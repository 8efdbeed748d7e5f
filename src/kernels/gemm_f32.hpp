// F32 matrix product with the contraction dimension contiguous in both operands (the layout of
// activations x[token][k] and weight rows w[row][k]):
//   y[t * ldy + r] = sum_{i < k} x[t * ldx + i] * w[r * ldw + i]      t < m (tokens), r < n (rows)
// The scalar __ref version is the oracle; SIMD versions accumulate in a different order and agree
// with it within float rounding (tests: normalized MSE < 1e-12 on awkward shapes).
#pragma once

#include <cstdint>

#include "core/x86_kernel.hpp"

namespace lowbit::kernels {

using gemm_f32_fn = void (*)(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx,
                             const float* w, int64_t ldw, float* y, int64_t ldy);

void gemm_f32__ref(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                   int64_t ldw, float* y, int64_t ldy);
LOWBIT_X86_KERNEL void gemm_f32__avx2(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx,
                                      const float* w, int64_t ldw, float* y, int64_t ldy);
// The generic tier's (kernels/gemm_f32_simd128.cpp): 128-bit vectors.
LOWBIT_SIMD128_KERNEL void gemm_f32__simd128(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx,
                                             const float* w, int64_t ldw, float* y, int64_t ldy);
LOWBIT_X86_KERNEL void gemm_f32__avx512(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx,
                                        const float* w, int64_t ldw, float* y, int64_t ldy);

// Panel GEMM (AVX2, the prompt path's F32 kernel): 16 weight rows as an f32 panel, panel[16 j + r]
// (j < kc, 32-byte aligned), times up to k_panel_tokens activation rows interleaved by that many tokens,
// xi[k_panel_tokens * j + t]: y[t * ldy + r] = (add ? y[t * ldy + r] : 0) + sum_j panel[16 j + r] xi[.. j + t]
// for t < n_tok (1..6), r < n_rows (1..16). A 16 x 6 register-blocked kernel: 2 panel loads and 6
// broadcasts per 12 FMAs. (GCC keeps an array of vector accumulators in registers only when the loops
// over it are fully unrolled; without the unroll pragmas every accumulator was also stored to the stack
// each step: 28% instead of 79% of the FMA peak in a standalone loop.)
constexpr int k_panel_rows = 16, k_panel_tokens = 6;
LOWBIT_X86_KERNEL void gemm_panel_f32__avx2(int64_t kc, const float* panel, const float* xi, int n_tok,
                                            float* y, int64_t ldy, int n_rows, bool add);

// The same kernel with the 16 rows read from two column-major 8-row tiles of 16-bit floats (repack.hpp's
// tile_h16x8: column j's rows at rows0_7 + 8 j and rows8_15 + 8 j) and converted in registers
// (F16: vcvtph2ps, BF16: a 16-bit shift), so no f32 panel is packed.
LOWBIT_X86_KERNEL void gemm_panel_f16x2__avx2(int64_t kc, const uint16_t* rows0_7, const uint16_t* rows8_15,
                                              const float* xi, int n_tok, float* y, int64_t ldy, int n_rows,
                                              bool add);
LOWBIT_X86_KERNEL void gemm_panel_bf16x2__avx2(int64_t kc, const uint16_t* rows0_7, const uint16_t* rows8_15,
                                               const float* xi, int n_tok, float* y, int64_t ldy, int n_rows,
                                               bool add);

// The token blocks of the panel kernels: panel_token_blocks(n) = ceil(n / k_panel_tokens) blocks of
// k_panel_tokens tokens, except that when the last block would hold 1-3 tokens, it and the block before
// share their 7-9 tokens (4 + 3, 4 + 4, 5 + 4): with n_tok < 4 the kernel has fewer than the 8
// independent FMA chains that keep both FMA pipes busy (4-cycle latency) and runs at n_tok / 4 of its
// rate (measured: 2 tokens 50 GFLOPS, 4 tokens 98, 6 tokens 99 on one Zen 3 core). Block b holds tokens
// first .. first + count - 1; the interleaved activations keep the stride k_panel_tokens for every block.
struct panel_token_block {
    int64_t first;
    int count;
};
inline int64_t panel_token_blocks(int64_t n) { return (n + k_panel_tokens - 1) / k_panel_tokens; }
inline panel_token_block panel_block(int64_t n, int64_t b) {
    constexpr int64_t T = k_panel_tokens;
    const int64_t q = n / T, r = n % T;
    if (r == 0 || r > 3 || q == 0 || b < q - 1) return {b * T, static_cast<int>(n - b * T < T ? n - b * T : T)};
    const int64_t first = (q - 1) * T, lo = (T + r + 1) / 2;
    return b == q - 1 ? panel_token_block{first, static_cast<int>(lo)}
                      : panel_token_block{first + lo, static_cast<int>(T + r - lo)};
}
// Rows r < n_rows (<= 16) of kc floats (row stride ld) -> panel[16 j + r]; rows n_rows..15 zero.
LOWBIT_X86_KERNEL void pack_panel_f32__avx2(const float* rows, int64_t ld, int n_rows, int64_t kc,
                                            float* panel);
// The same from F16 / BF16 rows (ld in elements), converted on the way.
LOWBIT_X86_KERNEL void pack_panel_f16__avx2(const void* rows, int64_t ld, int n_rows, int64_t kc,
                                            float* panel);
LOWBIT_X86_KERNEL void pack_panel_bf16__avx2(const void* rows, int64_t ld, int n_rows, int64_t kc,
                                             float* panel);

// The fastest version the active ISA tier allows (core/cpu.hpp).
gemm_f32_fn gemm_f32();

}  // namespace lowbit::kernels
