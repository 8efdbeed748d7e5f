// gemm_f32__simd128, the generic tier's f32 GEMM (gemm_f32.hpp): gemm_f32_tiles.hpp's register tiles in
// 128-bit vectors (kernels/simd128.hpp: SSSE3 on x86, Advanced SIMD on aarch64), 3 tokens x 4 weight rows
// = 12 accumulators of 4 columns. On x86 a product and its sum are two operations (a CPU of this tier may
// have no FMA unit; the emulated f_fma would cost more than it saves); Advanced SIMD fuses them (fmla).
// The k tail (< 4) is read through a zeroed copy, so nothing past a row's end is touched. Like the other
// SIMD tiers it sums in its own order and agrees with gemm_f32__ref within float rounding.
#include "kernels/simd128.hpp"

#if LOWBIT_HAVE_SIMD128

#include <cstring>

#include "kernels/gemm_f32.hpp"
#include "kernels/gemm_f32_tiles.hpp"

namespace lowbit::kernels {
using namespace simd128;
namespace {

struct v128 {
    using reg = vf32;
    static constexpr int width = 4;
    static reg zero() { return f_zero(); }
    static reg load(const float* p) { return f_load(p); }
#if LOWBIT_SIMD128_X86
    static reg fma(reg a, reg b, reg c) {
        return f_add(f_mul(a, b), c);
    }
#else
    static reg fma(reg a, reg b, reg c) {
        return f_fma(a, b, c);
    }
#endif
    static int64_t mask(int64_t rem) {
        return rem;
    }
    static reg load_masked(const float* p, int64_t rem) {
        float t[4] = {};
        std::memcpy(t, p, sizeof(float) * static_cast<size_t>(rem));
        return f_load(t);
    }
    static float hsum(reg v) {
        float t[4];
        f_store(t, v);
        return (t[0] + t[1]) + (t[2] + t[3]);
    }
    static reg hsum4(reg a, reg b, reg c, reg d) {
        f_transpose4(a, b, c, d);
        return f_add(f_add(a, b), f_add(c, d));
    }
    static void store4(float* p, reg v) {
        f_store(p, v);
    }
};

}  // namespace

void gemm_f32__simd128(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w,
                       int64_t ldw, float* y, int64_t ldy) {
    f32_tiles::gemm<v128, 3>(m, n, k, x, ldx, w, ldw, y, ldy, 16384);
}

}  // namespace lowbit::kernels

#endif  // LOWBIT_HAVE_SIMD128
