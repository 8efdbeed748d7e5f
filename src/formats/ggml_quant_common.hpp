// Scale searches shared by llama.cpp's legacy and K-quant encoders (ggml-quants.c: nearest_int,
// make_qx_quants, make_qkx2_quants / make_qkx3_quants). Float operations keep llama.cpp's order, so
// the encoders that use them stay byte-exact; never let the compiler contract a*b+c into an fma here
// (the build uses ISO C++ mode, where GCC does not).
#pragma once

#include <cstdint>
#include <cstring>

namespace lowbit::ggml_quant {

// Groups whose largest magnitude is below this quantize to all zeros (ggml's GROUP_MAX_EPS).
constexpr float k_group_max_eps = 1e-15f;

// ggml's nearest_int: adding 1.5 * 2^23 puts the rounded integer in the low mantissa bits.
inline int nearest_int(float fval) {
    const float val = fval + 12582912.f;
    int i;
    std::memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

// Symmetric quantization of x[0..n) to L in [0, 2*nmax) (stored as l + nmax), weights
// w = qw[i] or x[i]^2 (rmse_type 1); returns the scale. Grid search over 19 candidate inverse scales
// maximizing (sum w x l)^2 / (sum w l^2). (ggml make_qx_quants, rmse_type 1.)
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, const float* qw);

// Asymmetric quantization x ~ scale * L - the_min, L in [0, nmax]: weighted least squares over
// nstep+1 candidate inverse scales, keeping the candidate with the lowest weighted error (|e| with
// use_mad, else e^2). This is ggml's make_qkx2_quants and also its make_qkx3_quants with weights
// given (the two differ only in the degenerate test max == min vs max <= min, which are equivalent
// once min is clamped to <= 0, and in the default weights, which we never use).
float make_qkx_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                      uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

}  // namespace lowbit::ggml_quant
