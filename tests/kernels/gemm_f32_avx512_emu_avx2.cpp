// gemm_f32__avx512 (src/kernels/gemm_f32_avx512.hpp) built a second time, for the tests only, with its
// AVX-512 intrinsics emulated by SIMDe (Debian's libsimde-dev) on AVX2: CI has no AVX-512 CPU, so the
// real build only runs where the hardware has it, while this one runs the same tiling, tails, masks and
// reductions everywhere. Entry point: gemm_f32__avx512emu, declared in kernels_test.cpp.
//
// SIMDe's native aliases map each _mm512_* call to its simde_ version. SIMDe 0.7.4 lacks aliases for
// two of the kernel's intrinsics; they are added here with the instructions' semantics:
//   _mm512_shuffle_f32x4: simde_mm512_shuffle_f32x4 exists, only its alias is missing;
//   _mm512_maskz_loadu_ps: missing; lanes whose mask bit is 0 are zero and their memory is not read
//     (the kernel's k tail relies on that: the row may end there).
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cstdint>
#include <cstring>

namespace {
inline simde__m512 lowbit_maskz_loadu_ps(uint16_t k, const void* p) {
    alignas(64) float v[16] = {};
    for (int i = 0; i < 16; ++i)
        if ((k >> i) & 1u) std::memcpy(&v[i], static_cast<const float*>(p) + i, sizeof(float));
    return simde_mm512_load_ps(v);
}
}  // namespace

#undef _mm512_shuffle_f32x4  // clang's immintrin.h defines it as a macro
#undef _mm512_maskz_loadu_ps
#define _mm512_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4(a, b, imm)
#define _mm512_maskz_loadu_ps(k, p) lowbit_maskz_loadu_ps(k, p)

namespace lowbit::kernels {
void gemm_f32__avx512emu(int64_t m, int64_t n, int64_t k, const float* x, int64_t ldx, const float* w, int64_t ldw,
                         float* y, int64_t ldy);
}  // namespace lowbit::kernels

#define LOWBIT_GEMM_F32_AVX512_NAME gemm_f32__avx512emu
#include "kernels/gemm_f32_avx512.hpp"
