// OCP MXFP4 as stored by ggml: scalar reference decoders/encoders (bit-/byte-exact with llama.cpp).
// Each function works on one row of n weights; n is a multiple of the block size.
#pragma once

#include <cstdint>

#include "core/half.hpp"

namespace lowbit {

// E2M1 values times two (ggml's kvalues_mxfp4): the format's definition, reproduced as data.
inline constexpr int8_t k_mxfp4_kvalues[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128) = E8M0 value / 2, exactly (subnormal for e < 2): the scale of the doubled values.
inline float e8m0_to_f32_half(uint8_t e) {
    const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
    return bits_to_f32(bits);
}

void dequantize_row_mxfp4__ref(const void* src, float* dst, int64_t n);
void quantize_row_mxfp4__ref(const float* src, void* dst, int64_t n, const float* importance);

}  // namespace lowbit
