// gemm_f32__avx512 (tier avx512): gemm_f32_avx512.hpp built for AVX-512F.
#define LOWBIT_GEMM_F32_AVX512_NAME gemm_f32__avx512
#include "kernels/gemm_f32_avx512.hpp"
