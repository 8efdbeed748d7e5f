// Element codecs shared by lowbit's float-like formats and by ggml's MXFP4: OCP FP8 (E4M3, E5M2),
// FP4 E2M1, the NF4 codebook. Encoders round to nearest, ties to even, and saturate: a finite input
// never becomes NaN or Inf (OCP "saturating" conversion). Callers pass finite inputs.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/half.hpp"

namespace lowbit {

// ---- FP8 E4M3 (OCP): s.eeee.mmm, bias 7, no infinities, S.1111.111 = NaN, max 448, min subnormal 2^-9
inline constexpr float k_fp8_e4m3_max = 448.0f;
inline float fp8_e4m3_to_f32(uint8_t c) {
    const int e = (c >> 3) & 0xF;
    const int m = c & 0x7;
    float v;
    if ((c & 0x7F) == 0x7F) return std::nanf("");
    if (e == 0) v = std::ldexp(static_cast<float>(m), -9);
    else v = std::ldexp(static_cast<float>(8 + m), e - 10);
    return (c & 0x80) ? -v : v;
}

// ---- FP8 E5M2 (OCP): s.eeeee.mm, bias 15 = the upper byte of an IEEE half; max finite 57344
inline constexpr float k_fp8_e5m2_max = 57344.0f;
inline float fp8_e5m2_to_f32(uint8_t c) { return fp16_to_f32(static_cast<uint16_t>(c << 8)); }

// Round |x| (finite) to a minifloat with `mbits` mantissa bits, minimum normal exponent `emin`
// (subnormal spacing 2^(emin - mbits)), largest finite value `vmax`: returns the rounded magnitude.
// Ties go to the even mantissa (nearbyint in the default rounding mode).
inline float minifloat_round(float a, int mbits, int emin, float vmax) {
    if (!(a > 0.0f)) return 0.0f;
    if (a >= vmax) return vmax;
    int e;
    std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1): the leading bit is 2^(e-1)
    int ex = e - 1;
    if (ex < emin) ex = emin;
    const float quantum = std::ldexp(1.0f, ex - mbits);
    const float r = std::nearbyint(a / quantum) * quantum;  // a / quantum is exact (power of two)
    return r > vmax ? vmax : r;
}

// Code of a magnitude produced by minifloat_round (exactly representable), sign bit `sign_bit`.
inline uint8_t minifloat_code(float r, bool negative, int mbits, int emin, int bias, int sign_bit) {
    uint32_t code = 0;
    if (r > 0.0f) {
        int e;
        const float f = std::frexp(r, &e);
        const int ex = e - 1;
        if (ex < emin) {
            code = static_cast<uint32_t>(std::ldexp(r, mbits - emin));  // subnormal: exponent field 0
        } else {
            const uint32_t mant = static_cast<uint32_t>(std::ldexp(f * 2.0f - 1.0f, mbits));
            code = (static_cast<uint32_t>(ex + bias) << mbits) | mant;
        }
    }
    if (negative) code |= 1u << sign_bit;
    return static_cast<uint8_t>(code);
}

inline uint8_t f32_to_fp8_e4m3(float x) {
    const float r = minifloat_round(std::fabs(x), 3, -6, k_fp8_e4m3_max);
    return minifloat_code(r, std::signbit(x), 3, -6, 7, 7);
}
inline uint8_t f32_to_fp8_e5m2(float x) {
    const float r = minifloat_round(std::fabs(x), 2, -14, k_fp8_e5m2_max);
    return minifloat_code(r, std::signbit(x), 2, -14, 15, 7);
}

// ---- FP4 E2M1 (OCP): s.ee.m, bias 1; magnitudes 0 0.5 1 1.5 2 3 4 6; code = sign<<3 | index
inline constexpr float k_fp4_e2m1_max = 6.0f;
inline constexpr float k_fp4_e2m1_values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                                -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
inline float fp4_e2m1_to_f32(uint8_t c) { return k_fp4_e2m1_values[c & 0xF]; }
inline uint8_t f32_to_fp4_e2m1(float x) {
    const float r = minifloat_round(std::fabs(x), 1, 0, k_fp4_e2m1_max);
    return minifloat_code(r, std::signbit(x), 1, 0, 1, 3);
}

// ---- NF4 (QLoRA, Dettmers et al. 2023): 16 quantiles of N(0,1) normalised to [-1, 1], exact zero at 7.
// These constants define the format (as in bitsandbytes); index = stored code.
inline constexpr float k_nf4_values[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};
// Nearest NF4 code of v (normally in [-1, 1]); a tie goes to the lower index.
inline uint8_t nf4_nearest(float v) {
    uint8_t best = 0;
    float best_err = std::fabs(v - k_nf4_values[0]);
    for (uint8_t i = 1; i < 16; ++i) {
        const float err = std::fabs(v - k_nf4_values[i]);
        if (err < best_err) {
            best_err = err;
            best = i;
        }
    }
    return best;
}

}  // namespace lowbit
