// Scalar reference for gemm_f32 (see gemm_f32.hpp) and the run-time dispatcher.
#include "kernels/gemm_f32.hpp"

#include "core/cpu.hpp"

namespace lowbit::kernels {

void gemm_f32__ref(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                   int64_t ldw, float* y, int64_t ldy) {
    for (int64_t t = 0; t < m; ++t)
        for (int64_t r = 0; r < n; ++r) {
            float s = 0.0f;
            for (int64_t i = 0; i < k; ++i) s += x[t * ldx + i] * w[r * ldw + i];
            y[t * ldy + r] = s;
        }
}

gemm_f32_fn gemm_f32() {
    const isa_tier tier = active_isa_tier();
    if (tier >= isa_tier::avx512) return gemm_f32__avx512;
    if (tier >= isa_tier::avx2) return gemm_f32__avx2;
    if (LOWBIT_HAVE_SIMD128 && tier == isa_tier::generic) return gemm_f32__simd128;
    return gemm_f32__ref;
}

}  // namespace lowbit::kernels
