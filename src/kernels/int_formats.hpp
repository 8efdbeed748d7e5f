// lowbit's integer formats int<Bits>_g<G>[_asym] (formats/lowbit_blocks.hpp; G = 0: per channel) and
// ternary_g64, as the load-time tiles (kernels/repack.hpp) and the prompt GEMM's row packers
// (kernels/gemm_q.hpp) read them: 32-column chunk b of a row has its group's fp16 scale d (and
// minimum m when asymmetric) and 4 x Bits bytes of LSB-first codes.
//
// Which kernels run them (Off: the symmetric formats' code offset, w = d (u - Off); asymmetric
// w = d u + m):
//   Bits 8, symmetric:   Q8_0's tile and GEMM kernel, codes u ^ 0x80 (= u - 128 as int8)
//   Bits 4, symmetric:   Q4_0's tile; Q4_0's GEMM kernel with codes u + 8 - Off (= u)
//   Bits 3 / 2, symmetric: tile_int3x8 / tile_int2x8; Q4_0's GEMM kernel with codes u + 8 - Off
//   Bits 4, asymmetric:  Q4_1's tile; the asymmetric GEMM kernel (Q8_1 activations), codes u
//   Bits 3 / 2, asymmetric: tile_int3ax8 / tile_int2ax8; the asymmetric GEMM kernel
//   Bits 8, asymmetric:  tile_q8_1x8 (Q8_0's codes u ^ 0x80 = u - 128 with d and m) and the signed
//                        asymmetric GEMM kernel: sum (u - 128) a by Q8_0's sign trick, plus 128 sum a,
//                        gives sum u a exactly (unsigned 8-bit codes do not fit maddubs directly).
// Groups larger than 32 repeat their scale (and minimum) per 32 columns in the tiles and packed blocks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/lowbit_blocks.hpp"

namespace lowbit::kernels {

template <int Bits, int G, bool Asym>
struct int_chunk {
    static constexpr size_t header = Asym ? 4 : 2;  // fp16 d (+ fp16 m) before each group's codes
    static constexpr int bytes = 4 * Bits;           // code bytes of one 32-column chunk
    // The start of the group that holds chunk b.
    static const uint8_t* group(const uint8_t* row, int64_t b) {
        if constexpr (G == 0) return row;
        else return row + (b / (G / 32)) * static_cast<int64_t>(header + G * Bits / 8);
    }
    static const uint8_t* codes(const uint8_t* row, int64_t b) {
        if constexpr (G == 0) return row + header + b * bytes;
        else return group(row, b) + header + (b % (G / 32)) * bytes;
    }
    static uint16_t d(const uint8_t* row, int64_t b) { return lbfmt::load_u16(group(row, b)); }
    static uint16_t m(const uint8_t* row, int64_t b) { return lbfmt::load_u16(group(row, b) + 2); }
};

// X(name, Bits, G, Asym, Off) for every integer format with tiles and a prompt GEMM.
#define LOWBIT_INT_FORMATS(X)                                                                           \
    X(int8_g32, 8, 32, false, 128) X(int8_g64, 8, 64, false, 128) X(int8_g128, 8, 128, false, 128)      \
    X(int8_pc, 8, 0, false, 128)                                                                        \
    X(int8_g32_asym, 8, 32, true, 0) X(int8_g64_asym, 8, 64, true, 0) X(int8_g128_asym, 8, 128, true, 0) \
    X(int8_pc_asym, 8, 0, true, 0)                                                                      \
    X(int4_g32, 4, 32, false, 8) X(int4_g64, 4, 64, false, 8) X(int4_g128, 4, 128, false, 8)            \
    X(int4_pc, 4, 0, false, 8)                                                                          \
    X(int4_g32_asym, 4, 32, true, 0) X(int4_g64_asym, 4, 64, true, 0) X(int4_g128_asym, 4, 128, true, 0) \
    X(int4_pc_asym, 4, 0, true, 0)                                                                      \
    X(int3_g32, 3, 32, false, 4) X(int3_g64, 3, 64, false, 4) X(int3_g128, 3, 128, false, 4)            \
    X(int3_pc, 3, 0, false, 4)                                                                          \
    X(int3_g32_asym, 3, 32, true, 0) X(int3_g64_asym, 3, 64, true, 0) X(int3_g128_asym, 3, 128, true, 0) \
    X(int3_pc_asym, 3, 0, true, 0)                                                                      \
    X(int2_g32, 2, 32, false, 2) X(int2_g64, 2, 64, false, 2) X(int2_g128, 2, 128, false, 2)            \
    X(int2_pc, 2, 0, false, 2)                                                                          \
    X(int2_g32_asym, 2, 32, true, 0) X(int2_g64_asym, 2, 64, true, 0) X(int2_g128_asym, 2, 128, true, 0) \
    X(int2_pc_asym, 2, 0, true, 0)                                                                      \
    X(ternary_g64, 2, 64, false, 1)

}  // namespace lowbit::kernels
