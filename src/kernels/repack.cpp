// Load-time 8-row tiles: repacking, the scalar __ref GEMV kernels, activation side values, the
// tile -> prompt-GEMM unpacking, and the kernel table (layouts and math in kernels/repack.hpp).
#include "kernels/repack.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/parallel.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/int_formats.hpp"
#include "lowbit/error.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

// lowbit's own formats are `type` values beyond the enum's enumerators (ext_type, formats/lowbit_formats.hpp);
// the switches over `type` below name them as cases, which -Wswitch would report one by one.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wswitch"
#endif

namespace lowbit {
namespace kernels {

void unpack_q3_k_scales(const uint8_t* packed, int8_t* out);  // dot_ref.cpp: 16 scales, minus 32

// IQ3 tiles' 16-entry tables (repack.hpp): the grid's 8 magnitudes, then their negatives.
const int8_t k_iq3xxs_lut16[16] = {4, 12, 20, 28, 36, 44, 52, 62, -4, -12, -20, -28, -36, -44, -52, -62};
const int8_t k_iq3s_lut16[16] = {1, 3, 5, 7, 9, 11, 13, 15, -1, -3, -5, -7, -9, -11, -13, -15};

// ---- repacking: a pure re-arrangement of the stored bytes -----------------------------------------

namespace {

// The walk every repack_tile_<t> shares: for each of the nb tile blocks, zero it (rows past n_rows stay
// zero, scales included), then fill(tile block, r, row r's block b) for each row.
template <class Tile, class Block, class Fill>
void tile_rows(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, Tile* out, Fill fill) {
    for (int64_t b = 0; b < nb; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r)
            fill(out[b], r, reinterpret_cast<const Block*>(w + row_stride * static_cast<size_t>(r))[b]);
    }
}

// Q4_K / Q5_K: d, dmin and the 6-bit sub-block scales and mins of row r (k_scales_x8).
template <class Tile, class Block>
void put_scales_mins(Tile& t, int r, const Block& blk) {
    t.d[r] = blk.d;
    t.dmin[r] = blk.dmin;
    for (int s = 0; s < 8; ++s) {
        int sc, m;
        scale_min_k4(s, blk.scales, sc, m);
        put_k_scale_min(t.s, s, r, sc, m);
    }
}

void repack_tile_q4_0(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q4_0x8* out) {
    tile_rows<tile_q4_0x8, block_q4_0>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        o.d[r] = blk.d;
        for (int c = 0; c < 4; ++c) std::memcpy(o.qs[c][r], blk.qs + 4 * c, 4);
    });
}

void repack_tile_q4_1(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q4_1x8* out) {
    tile_rows<tile_q4_1x8, block_q4_1>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        o.d[r] = blk.d;
        o.m[r] = blk.m;
        for (int c = 0; c < 4; ++c) std::memcpy(o.qs[c][r], blk.qs + 4 * c, 4);
    });
}

// Q5_0 / Q5_1: d, nibbles and the re-arranged 5th bits of row r (layout in kernels/repack.hpp).
template <class Tile, class Block>
void put_q5_row(Tile& o, int r, const Block& blk) {
    const auto bit = [&](int j) { return (blk.qh[j / 8] >> (j % 8)) & 1; };
    o.d[r] = blk.d;
    for (int c = 0; c < 4; ++c) {
        std::memcpy(o.qs[c][r], blk.qs + 4 * c, 4);
        for (int i = 0; i < 4; ++i)
            o.qh[r][i] |= static_cast<uint8_t>(bit(4 * c + i) << (2 * c) | bit(16 + 4 * c + i) << (2 * c + 1));
    }
}

void repack_tile_q5_0(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q5_0x8* out) {
    tile_rows<tile_q5_0x8, block_q5_0>(w, row_stride, n_rows, nb, out,
                                       [](auto& o, int r, const auto& blk) { put_q5_row(o, r, blk); });
}

void repack_tile_q5_1(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q5_1x8* out) {
    tile_rows<tile_q5_1x8, block_q5_1>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        put_q5_row(o, r, blk);
        o.m[r] = blk.m;
    });
}

// Code (0..31) of column j of tile row r (Q5_0 and Q5_1 tiles).
template <class Tile>
inline int q5_tile_code(const Tile& x, int r, int j) {
    const int c = (j % 16) / 4, i = j % 4, hi = j / 16;
    const int v = x.qs[c][r][i];
    return (hi ? v >> 4 : v & 15) | ((x.qh[r][i] >> (2 * c + hi)) & 1) << 4;
}

void repack_tile_q8_0(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q8_0x8* out) {
    tile_rows<tile_q8_0x8, block_q8_0>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        o.d[r] = blk.d;
        for (int g = 0; g < 8; ++g) std::memcpy(o.qs[g][r], blk.qs + 4 * g, 4);
    });
}

// lowbit's int4_g32 / int4_g32_asym / int8_g32 (docs/formats.md) are Q4_0's / Q4_1's / Q8_0's
// arithmetic in another byte order: w = d (u - 8), w = d u + m, w = d (u - 128) with codes as an
// LSB-first bit stream (weight 2k in the low nibble of byte k; int8 codes offset by 128). Their tiles
// are those types' tiles, so generation runs the same kernels.
// The 16 bytes of Q4_0 / Q4_1 nibbles (weight j < 16 in the low nibble of byte j, j + 16 in the high
// one) of a block's 32 LSB-first 4-bit codes.
inline void int4_as_ggml_nibbles(const uint8_t* qs, uint8_t* out) {
    for (int j = 0; j < 16; ++j) {
        const int lo = (qs[j / 2] >> (4 * (j & 1))) & 15, hi = (qs[8 + j / 2] >> (4 * (j & 1))) & 15;
        out[j] = static_cast<uint8_t>(lo | hi << 4);
    }
}

// The 4-bit codebook formats nf4 (groups of 64) and fp4_e2m1 (32) onto Q4_0's tile: tile block b
// (columns 32b .. 32b + 31) takes group b / (G / 32)'s scale and the 16 code bytes of its chunk
// b % (G / 32); nf4's scale is repeated per 32 columns (4.5 bits per weight in the tiles, 4.25 in the
// file). (The integer formats: repack_tile_int.)
template <class Tile, class Block, int G>
void repack_tile_4bit_groups(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, Tile* out) {
    constexpr int per = G / 32;
    for (int64_t b = 0; b < nb; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r) {
            const Block& blk = reinterpret_cast<const Block*>(w + row_stride * static_cast<size_t>(r))[b / per];
            uint8_t qs[16];
            int4_as_ggml_nibbles(blk.qs + 16 * (b % per), qs);
            out[b].d[r] = blk.d;
            for (int c = 0; c < 4; ++c) std::memcpy(out[b].qs[c][r], qs + 4 * c, 4);
        }
    }
}
// lowbit's integer formats (kernels/int_formats.hpp) onto the tile of their width: chunk b of each row
// with its group's scale (and minimum). Bits 8: Q8_0's tile, codes u ^ 0x80; 4: Q4_0's / Q4_1's, the
// nibbles in Q4_0's order; 3 / 2: tile_int3x8 / tile_int2x8 (asymmetric: the ...ax8 tiles), the low 2
// bits of the code of column 16h + 4k + i at bits 2k of qs[h][r][i] and bit 2 at bit 4h + k of hb[r][i].
template <int Bits, bool Asym>
struct int_tile_of;
template <> struct int_tile_of<8, false> { using type = tile_q8_0x8; };
template <> struct int_tile_of<8, true> { using type = tile_q8_1x8; };
template <> struct int_tile_of<4, false> { using type = tile_q4_0x8; };
template <> struct int_tile_of<4, true> { using type = tile_q4_1x8; };
template <> struct int_tile_of<3, false> { using type = tile_int3x8; };
template <> struct int_tile_of<3, true> { using type = tile_int3ax8; };
template <> struct int_tile_of<2, false> { using type = tile_int2x8; };
template <> struct int_tile_of<2, true> { using type = tile_int2ax8; };

template <int Bits, int G, bool Asym>
void repack_tile_int(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, void* dst) {
    using chunk = int_chunk<Bits, G, Asym>;
    using tile = typename int_tile_of<Bits, Asym>::type;
    auto* out = static_cast<tile*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r) {
            const uint8_t* row = w + row_stride * static_cast<size_t>(r);
            const uint8_t* codes = chunk::codes(row, b);
            out[b].d[r] = chunk::d(row, b);
            if constexpr (Asym) out[b].m[r] = chunk::m(row, b);
            if constexpr (Bits == 8) {
                for (int j = 0; j < 32; ++j) out[b].qs[j / 4][r][j % 4] = static_cast<int8_t>(codes[j] ^ 0x80);
            } else if constexpr (Bits == 4) {
                uint8_t qs[16];
                int4_as_ggml_nibbles(codes, qs);
                for (int c = 0; c < 4; ++c) std::memcpy(out[b].qs[c][r], qs + 4 * c, 4);
            } else {
                for (int j = 0; j < 32; ++j) {
                    const uint32_t u = lbfmt::get_bits(codes, j, Bits);
                    out[b].qs[j / 16][r][j % 4] |= static_cast<uint8_t>((u & 3) << (2 * ((j % 16) / 4)));
                    if constexpr (Bits == 3) out[b].hb[r][j % 4] |= static_cast<uint8_t>((u >> 2) << (j / 4));
                }
            }
        }
    }
}

void repack_tile_q2_k(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q2_kx8* out) {
    tile_rows<tile_q2_kx8, block_q2_k>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const block_q2_k& blk) {
        o.d[r] = blk.d;
        o.dmin[r] = blk.dmin;
        for (int s = 0; s < 16; ++s) o.sc[s / 2][r][s % 2] = blk.scales[s];
        for (int h = 0; h < 2; ++h)
            for (int c = 0; c < 8; ++c) std::memcpy(o.qs[h][c][r], blk.qs + 32 * h + 4 * c, 4);
    });
}

void repack_tile_q3_k(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q3_kx8* out) {
    tile_rows<tile_q3_kx8, block_q3_k>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const block_q3_k& blk) {
        o.d[r] = blk.d;
        int8_t sc[16];
        unpack_q3_k_scales(blk.scales, sc);
        for (int s = 0; s < 16; ++s) o.sc[s / 2][r][s % 2] = sc[s];
        for (int c = 0; c < 8; ++c) {
            std::memcpy(o.qs[0][c][r], blk.qs + 4 * c, 4);
            std::memcpy(o.qs[1][c][r], blk.qs + 32 + 4 * c, 4);
            std::memcpy(o.hm[c][r], blk.hmask + 4 * c, 4);
        }
    });
}

void repack_tile_iq4_xs(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_iq4_xsx8* out) {
    tile_rows<tile_iq4_xsx8, block_iq4_xs>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const block_iq4_xs& blk) {
        o.d[r] = blk.d;
        for (int s = 0; s < 8; ++s) {
            o.sc[s][r] = static_cast<int8_t>(iq4_xs_scale(blk, s) - 32);
            for (int c = 0; c < 4; ++c) std::memcpy(o.qs[s][c][r], blk.qs + 16 * s + 4 * c, 4);
        }
    });
}

// IQ3_XXS / IQ3_S on tile_iq4_xsx8 (repack.hpp): each grid byte (a magnitude the table's first 8 entries
// hold) as its level index, the weight's sign bit as bit 3; sc = the integer scale 2 sc + 1.
template <const int8_t* Lut, class Block, iq3_subblock (*Sub)(const Block&, int)>
void repack_tile_iq3(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_iq4_xsx8* out) {
    // magnitude (< 64) -> level index; read by the lambda below (GCC 12 reports it unused)
    [[maybe_unused]] static const auto level = [] {
        std::array<uint8_t, 64> t{};
        for (uint8_t k = 0; k < 8; ++k) t[static_cast<size_t>(Lut[k])] = k;
        return t;
    }();
    tile_rows<tile_iq4_xsx8, Block>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const Block& blk) {
        o.d[r] = blk.d;
        for (int s = 0; s < 8; ++s) {
            const iq3_subblock sb = Sub(blk, s);
            o.sc[s][r] = static_cast<int8_t>(sb.ls);
            uint8_t code[32];
            for (int i = 0; i < 32; ++i)
                code[i] = static_cast<uint8_t>(level[iq_grid_lane(sb.g[i / 4], i % 4) & 63] | ((sb.signs >> i) & 1u) << 3);
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 4; ++i) o.qs[s][c][r][i] = static_cast<uint8_t>(code[4 * c + i] | code[16 + 4 * c + i] << 4);
        }
    });
}

void repack_tile_q4_k(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q4_kx8* out) {
    tile_rows<tile_q4_kx8, block_q4_k>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        put_scales_mins(o, r, blk);
        for (int j = 0; j < 4; ++j)
            for (int c = 0; c < 8; ++c) std::memcpy(o.qs[j][c][r], blk.qs + 32 * j + 4 * c, 4);
    });
}

void repack_tile_q5_k(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q5_kx8* out) {
    tile_rows<tile_q5_kx8, block_q5_k>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        put_scales_mins(o, r, blk);
        // Column 64j + 32h + l: nibble h of qs[32j + l], 5th bit from qh[l] bit 2j + h.
        for (int l = 0; l < 32; ++l) {
            int e = 0;
            for (int j = 0; j < 4; ++j) {
                const int v = blk.qs[32 * j + l], hb = blk.qh[l] >> (2 * j);
                const int lo = (v & 15) | (hb & 1) << 4, hi = (v >> 4) | (hb & 2) << 3;
                o.qs[j][l / 4][r][l % 4] = static_cast<uint8_t>(lo | (hi & 7) << 5);
                e |= (hi >> 3) << (2 * j);
            }
            o.qh[l / 4][r][l % 4] = static_cast<uint8_t>(e);
        }
    });
}

void repack_tile_q6_k(const uint8_t* w, size_t row_stride, int n_rows, int64_t nb, tile_q6_kx8* out) {
    tile_rows<tile_q6_kx8, block_q6_k>(w, row_stride, n_rows, nb, out, [](auto& o, int r, const auto& blk) {
        o.d[r] = blk.d;
        for (int s = 0; s < 16; ++s) o.sc[s / 2][r][s % 2] = blk.scales[s];
        // Column 128h + 32g + l: low 4 bits from ql[64h + 32(g % 2) + l] (high nibble for g >= 2),
        // high 2 bits from qh[32h + l] bits 2g, 2g + 1.
        for (int h = 0; h < 2; ++h)
            for (int l = 0; l < 32; ++l) {
                int u[4];
                for (int g = 0; g < 4; ++g) {
                    const uint8_t lb = blk.ql[64 * h + 32 * (g % 2) + l];
                    u[g] = (g < 2 ? (lb & 15) : (lb >> 4)) | ((blk.qh[32 * h + l] >> (2 * g)) & 3) << 4;
                }
                for (int k = 0; k < 3; ++k)
                    o.q[h][k][l / 4][r][l % 4] = static_cast<uint8_t>(u[k] | ((u[3] >> (2 * k)) & 3) << 6);
            }
    });
}

// Q6_K code (0..63) of column 128h + 32g + 4c + i of tile row r.
inline int q6_k_tile_code(const tile_q6_kx8& x, int r, int col) {
    const int h = col / 128, g = (col % 128) / 32, c = (col % 32) / 4, i = col % 4;
    if (g < 3) return x.q[h][g][c][r][i] & 63;
    int u = 0;
    for (int k = 0; k < 3; ++k) u |= (x.q[h][k][c][r][i] >> 6) << (2 * k);
    return u;
}

// Q5_K code (0..31) of column 64j + 32h + 4c + i of tile row r.
inline int q5_k_tile_code(const tile_q5_kx8& x, int r, int col) {
    const int j = col / 64, h = (col % 64) / 32, c = (col % 32) / 4, i = col % 4;
    const int v = x.qs[j][c][r][i];
    return h ? (v >> 5) | ((x.qh[c][r][i] >> (2 * j)) & 3) << 3 : v & 31;
}

}  // namespace

void repack_tile(type t, const uint8_t* w, size_t row_stride, int n_rows, int64_t n_cols, void* dst) {
    switch (t) {
        case type::q4_0: repack_tile_q4_0(w, row_stride, n_rows, n_cols / k_qk4_0, static_cast<tile_q4_0x8*>(dst)); break;
        case type::iq4_nl:  // block_q4_0's bytes
            static_assert(sizeof(block_iq4_nl) == sizeof(block_q4_0), "IQ4_NL reuses the Q4_0 tile");
            repack_tile_q4_0(w, row_stride, n_rows, n_cols / k_qk4_nl, static_cast<tile_q4_0x8*>(dst));
            break;
        case type::tq2_0:  // column 128 H + 32 L + m of a block: bits 2L of qs[32 H + m]
            tile_rows<tile_tq2_0x8, block_tq2_0>(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_tq2_0x8*>(dst),
                                                 [](auto& o, int r, const block_tq2_0& blk) {
                                                     o.d[r] = blk.d;
                                                     for (int c = 0; c < k_qk_k; ++c) {
                                                         const int code = (blk.qs[32 * (c / 128) + c % 32] >> (2 * ((c % 128) / 32))) & 3;
                                                         o.qs[c / 16][r][c % 4] |= static_cast<uint8_t>(code << (2 * ((c % 16) / 4)));
                                                     }
                                                 });
            break;
        case type::tq1_0:  // the trits as 2-bit codes on TQ2_0's tile (66 B per row and block instead of 54)
            tile_rows<tile_tq2_0x8, block_tq1_0>(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_tq2_0x8*>(dst),
                                                 [](auto& o, int r, const block_tq1_0& blk) {
                                                     o.d[r] = blk.d;
                                                     for (int c = 0; c < k_qk_k; ++c)
                                                         o.qs[c / 16][r][c % 4] |=
                                                             static_cast<uint8_t>(tq1_0_code(blk, c) << (2 * ((c % 16) / 4)));
                                                 });
            break;
        case type::mxfp4:  // nibbles as Q4_0's; the E8M0 scale as the exact fp16 2^(e - 128)
            tile_rows<tile_q4_0x8, block_mxfp4>(w, row_stride, n_rows, n_cols / k_qk_mxfp4, static_cast<tile_q4_0x8*>(dst),
                                                [](auto& o, int r, const block_mxfp4& blk) {
                                                    o.d[r] = f32_to_fp16(e8m0_to_f32_half(blk.e));
                                                    for (int c = 0; c < 4; ++c) std::memcpy(o.qs[c][r], blk.qs + 4 * c, 4);
                                                });
            break;
        case type::f16:  // 16-bit floats as they are, 8 rows per column
        case type::bf16: {
            struct block_h16x32 {
                uint16_t v[32];
            };
            tile_rows<tile_h16x8, block_h16x32>(w, row_stride, n_rows, n_cols / 32, static_cast<tile_h16x8*>(dst),
                                                [](auto& o, int r, const block_h16x32& blk) {
                                                    for (int j = 0; j < 32; ++j) o.v[j][r] = blk.v[j];
                                                });
            break;
        }
        case type::q4_1: repack_tile_q4_1(w, row_stride, n_rows, n_cols / k_qk4_1, static_cast<tile_q4_1x8*>(dst)); break;
        case type::q5_1: repack_tile_q5_1(w, row_stride, n_rows, n_cols / k_qk5_1, static_cast<tile_q5_1x8*>(dst)); break;
        case type::q5_0: repack_tile_q5_0(w, row_stride, n_rows, n_cols / k_qk5_0, static_cast<tile_q5_0x8*>(dst)); break;
        case type::q8_0:
        case ext_type::fp8_e4m3:  // block_fp8 has block_q8_0's bytes (fp16 d + 32 codes)
        case ext_type::fp8_e5m2:
            static_assert(sizeof(block_fp8) == sizeof(block_q8_0) && k_qk_fp8 == k_qk8_0, "FP8 reuses the Q8_0 tile");
            repack_tile_q8_0(w, row_stride, n_rows, n_cols / k_qk8_0, static_cast<tile_q8_0x8*>(dst));
            break;
        case ext_type::fp4_e2m1:
            repack_tile_4bit_groups<tile_q4_0x8, block_fp4_e2m1, k_qk_fp4>(w, row_stride, n_rows, n_cols / 32,
                                                                          static_cast<tile_q4_0x8*>(dst));
            break;
        case ext_type::fp8_e4m3_pt:  // the row's f32 scale in every block, the codes as they are
        case ext_type::fp8_e5m2_pt: {
            auto* out = static_cast<tile_q8_0x8f*>(dst);
            for (int64_t b = 0; b < n_cols / 32; ++b) {
                std::memset(&out[b], 0, sizeof(out[b]));
                for (int r = 0; r < n_rows; ++r) {
                    const uint8_t* row = w + row_stride * static_cast<size_t>(r);
                    std::memcpy(&out[b].d[r], row, 4);
                    for (int g = 0; g < 8; ++g) std::memcpy(out[b].qs[g][r], row + 4 + 32 * b + 4 * g, 4);
                }
            }
            break;
        }
        case ext_type::nf4_dq: {  // chunk b % 8 of super-block b / 8, its sub-block's D * sc as f32
            auto* out = static_cast<tile_q4_0x8f*>(dst);
            for (int64_t b = 0; b < n_cols / 32; ++b) {
                std::memset(&out[b], 0, sizeof(out[b]));
                for (int r = 0; r < n_rows; ++r) {
                    const auto& blk = reinterpret_cast<const block_nf4_dq*>(w + row_stride * static_cast<size_t>(r))[b / 8];
                    uint8_t qs[16];
                    int4_as_ggml_nibbles(blk.qs + 16 * (b % 8), qs);
                    out[b].d[r] = fp16_to_f32(blk.d) * static_cast<float>(blk.sc[(b % 8) / 2]);
                    for (int c = 0; c < 4; ++c) std::memcpy(out[b].qs[c][r], qs + 4 * c, 4);
                }
            }
            break;
        }
        case ext_type::nf4:
            repack_tile_4bit_groups<tile_q4_0x8, block_nf4, k_qk_nf4>(w, row_stride, n_rows, n_cols / 32,
                                                         static_cast<tile_q4_0x8*>(dst));
            break;
        case type::q3_k: repack_tile_q3_k(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_q3_kx8*>(dst)); break;
        static_assert(sizeof(block_int_sym<2, 64>) == sizeof(block_ternary), "ternary_g64 is int2_g64's layout");
#define LOWBIT_CASE(name, B, G, A, O) \
        case ext_type::name: repack_tile_int<B, G, A>(w, row_stride, n_rows, n_cols / 32, dst); break;
        LOWBIT_INT_FORMATS(LOWBIT_CASE)
#undef LOWBIT_CASE
        case type::q2_k: repack_tile_q2_k(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_q2_kx8*>(dst)); break;
        case type::iq4_xs:
            repack_tile_iq4_xs(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_iq4_xsx8*>(dst));
            break;
        case type::iq3_xxs:
            repack_tile_iq3<k_iq3xxs_lut16, block_iq3_xxs, iq3_xxs_subblock>(w, row_stride, n_rows, n_cols / k_qk_k,
                                                                            static_cast<tile_iq4_xsx8*>(dst));
            break;
        case type::iq3_s:
            repack_tile_iq3<k_iq3s_lut16, block_iq3_s, iq3_s_subblock>(w, row_stride, n_rows, n_cols / k_qk_k,
                                                                      static_cast<tile_iq4_xsx8*>(dst));
            break;
        case type::q4_k: repack_tile_q4_k(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_q4_kx8*>(dst)); break;
        case type::q5_k: repack_tile_q5_k(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_q5_kx8*>(dst)); break;
        case type::q6_k: repack_tile_q6_k(w, row_stride, n_rows, n_cols / k_qk_k, static_cast<tile_q6_kx8*>(dst)); break;
        default: break;
    }
}

// ---- activation side values ---------------------------------------------------------------------

namespace {
// The activation-sum offset of the tiles on Q4_0's GEMV shape: 8 (Q4_0), 16 (Q5_0), the symmetric
// integer formats' Off below 8 bits; 0 for every other type (no side values).
int q8_0_side_offset(type t) {
    switch (t) {
        case type::q4_0: return 8;
        case type::q5_0: return 16;
#define LOWBIT_CASE(name, B, G, A, O) \
        case ext_type::name: return A || B == 8 ? 0 : O;
        LOWBIT_INT_FORMATS(LOWBIT_CASE)
#undef LOWBIT_CASE
        default: return 0;
    }
}
// The 8-bit asymmetric integer formats, whose tiles add 128 x (activation sum) per block to their signed
// code sums (Q8_1 activations).
bool int8_asym(type t) {
    switch (t) {
#define LOWBIT_CASE(name, B, G, A, O) \
        case ext_type::name: return A && B == 8;
        LOWBIT_INT_FORMATS(LOWBIT_CASE)
#undef LOWBIT_CASE
        default: return false;
    }
}
}  // namespace

int64_t repack_act_side_count(type t, int64_t n_cols) {
    if (q8_0_side_offset(t) != 0 || int8_asym(t)) return n_cols / k_qk8_0;
    if (t == type::q4_k || t == type::q5_k) return n_cols / k_qk_k * 4;
    return 0;
}

void repack_act_sides(type t, const void* a, int64_t n_cols, int32_t* side) {
    if (int8_asym(t)) {
        const auto* y = static_cast<const block_q8_1*>(a);
        for (int64_t b = 0; b < n_cols / 32; ++b) {
            int s = 0;
            for (int j = 0; j < 32; ++j) s += y[b].qs[j];
            side[b] = 128 * s;
        }
    } else if (const int off = q8_0_side_offset(t); off != 0) {
        const auto* y = static_cast<const block_q8_0*>(a);
        for (int64_t b = 0; b < n_cols / k_qk8_0; ++b) {
            int s = 0;
            for (int j = 0; j < 32; ++j) s += y[b].qs[j];
            side[b] = -off * s;
        }
    } else if (t == type::q4_k || t == type::q5_k) {
        const auto* y = static_cast<const block_q8_k*>(a);
        for (int64_t b = 0; b < n_cols / k_qk_k; ++b)
            for (int p = 0; p < 4; ++p) {
                const int lo = y[b].bsums[4 * p] + y[b].bsums[4 * p + 1];
                const int hi = y[b].bsums[4 * p + 2] + y[b].bsums[4 * p + 3];
                side[b * 4 + p] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                                       static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
            }
    }
}

// ---- scalar GEMV kernels (the math of kernels/dot_ref.cpp, per tile row) -------------------------

namespace {

// Nibble of column j (0..31) of tile row r in Q4_0's layout (low nibbles: columns 0..15).
template <class Tile>
inline int q4_0_tile_nibble(const Tile& x, int r, int j) {
    const int v = x.qs[(j % 16) / 4][r][j % 4];
    return j < 16 ? v & 15 : v >> 4;
}

// The tiled GEMVs over Q8_0 activations: sum += float(sum_j w(r, j) a[j]) * (d_w[r] * d_a), w = the
// signed weight value (code minus offset, or codebook value) of column j of tile row r.
// Div > 1 (nf4): the weight scale is d_w / Div, (d_w * (1 / Div)) * d_a.
// A tile's row scale: fp16 (most tiles) or f32 (tile_q4_0x8f).
inline float row_scale(uint16_t h) { return fp16_to_f32(h); }
inline float row_scale(float f) { return f; }

// The codes of a tile block's rows (Cols = 32 or 256 columns), minus Off, for the reference GEMVs:
// decoded for all rows before the products, so that the products' vector loads do not wait on the
// decode's byte stores (a store-forwarding stall per row), with the 32-column pieces and their columns
// unrolled, so each code's position, nibble half and shift are constants (no branch per code).
template <class T, int Cols, class Tile, int (*Code)(const Tile&, int, int), int Off = 0>
inline void decode_tile_rows(const Tile& x, int n_rows, T (&u)[8][Cols]) {
    for (int r = 0; r < n_rows; ++r)
#pragma GCC unroll 8
        for (int s = 0; s < Cols / 32; ++s)
#pragma GCC unroll 32
            for (int l = 0; l < 32; ++l) u[r][32 * s + l] = static_cast<T>(Code(x, r, 32 * s + l) - Off);
}

template <class Tile, int (*W)(const Tile&, int, int), int Div = 1>
void gemv_q8_0_act_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const block_q8_0*>(a);
    // Block-outer: each tile is read once, its codes decoded once (decode_tile_rows) and the activation
    // scale converted once per block; every row's sum still takes its blocks in order (the same floats
    // as one row at a time).
    float sum[8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        const float da = fp16_to_f32(q[b].d);
        int8_t w[8][32];
        decode_tile_rows<int8_t, 32, Tile, W>(x[b], n_rows, w);
        for (int r = 0; r < n_rows; ++r) {
            int sumi = 0;
            for (int j = 0; j < 32; ++j) sumi += w[r][j] * q[b].qs[j];
            const float dw = Div == 1 ? row_scale(x[b].d[r]) : row_scale(x[b].d[r]) * (1.0f / Div);
            sum[r] += static_cast<float>(sumi) * (dw * da);
        }
    }
    for (int r = 0; r < n_rows; ++r) y[r] = sum[r];
}

inline int q4_0_weight(const tile_q4_0x8& x, int r, int j) { return q4_0_tile_nibble(x, r, j) - 8; }
inline int iq4_nl_weight(const tile_q4_0x8& x, int r, int j) { return k_iq4nl_values[q4_0_tile_nibble(x, r, j)]; }
inline int nf4_weight(const tile_q4_0x8& x, int r, int j) { return k_nf4_i8[q4_0_tile_nibble(x, r, j)]; }
inline int nf4_dq_weight(const tile_q4_0x8f& x, int r, int j) { return k_nf4_i8[q4_0_tile_nibble(x, r, j)]; }
inline int fp4_e2m1_weight(const tile_q4_0x8& x, int r, int j) { return k_fp4_e2m1_x2[q4_0_tile_nibble(x, r, j)]; }
inline int mxfp4_weight(const tile_q4_0x8& x, int r, int j) { return k_mxfp4_kvalues[q4_0_tile_nibble(x, r, j)]; }
inline int q5_0_weight(const tile_q5_0x8& x, int r, int j) { return q5_tile_code(x, r, j) - 16; }
inline int q8_0_weight(const tile_q8_0x8& x, int r, int j) { return x.qs[j / 4][r][j % 4]; }
template <class Tile>
inline int int2_code(const Tile& x, int r, int j) {
    return (x.qs[j / 16][r][j % 4] >> (2 * ((j % 16) / 4))) & 3;
}
template <int Off>
inline int int2_weight(const tile_int2x8& x, int r, int j) { return int2_code(x, r, j) - Off; }
template <class Tile>
inline int int3_code(const Tile& x, int r, int j) {
    const int lo = (x.qs[j / 16][r][j % 4] >> (2 * ((j % 16) / 4))) & 3, hi = (x.hb[r][j % 4] >> (j / 4)) & 1;
    return lo | hi << 2;
}
inline int int3_weight(const tile_int3x8& x, int r, int j) { return int3_code(x, r, j) - 4; }

}  // namespace

void gemv_q4_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8, q4_0_weight>(nb, tiles, a, y, n_rows);
}

void gemv_iq4_nlx8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                             int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8, iq4_nl_weight>(nb, tiles, a, y, n_rows);
}

void gemv_mxfp4x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8, mxfp4_weight>(nb, tiles, a, y, n_rows);
}

void gemv_nf4x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                          int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8, nf4_weight, 127>(nb, tiles, a, y, n_rows);
}
void gemv_nf4_dqx8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                             int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8f, nf4_dq_weight, 127>(nb, tiles, a, y, n_rows);
}
void gemv_fp4_e2m1x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                               int n_rows) {
    gemv_q8_0_act_ref<tile_q4_0x8, fp4_e2m1_weight, 2>(nb, tiles, a, y, n_rows);
}

namespace {
// One 256-column block of row r of a tile_iq4_xsx8 (IQ4_XS, IQ3): sum_s sc[s][r] sum_j Lut[code_j] a_j.
template <const int8_t* Lut>
int sub8_table4_sum_ref(const tile_iq4_xsx8& x, int r, const int8_t* qa) {
    int sumi = 0;
    for (int s = 0; s < 8; ++s) {
        int sub = 0;
        for (int c = 0; c < 4; ++c)
            for (int i = 0; i < 4; ++i) {
                const uint8_t v = x.qs[s][c][r][i];
                sub += Lut[v & 15] * qa[32 * s + 4 * c + i] + Lut[v >> 4] * qa[32 * s + 16 + 4 * c + i];
            }
        sumi += x.sc[s][r] * sub;
    }
    return sumi;
}
}  // namespace

void gemv_iq4_xsx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                             int n_rows) {
    const auto* x = static_cast<const tile_iq4_xsx8*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    for (int r = 0; r < n_rows; ++r) {
        float acc = 0;
        for (int64_t b = 0; b < nb; ++b) {
            const int sumi = sub8_table4_sum_ref<k_iq4nl_values>(x[b], r, q[b].qs);
            acc = std::fma(q[b].d * fp16_to_f32(x[b].d[r]), static_cast<float>(sumi), acc);
        }
        y[r] = acc;
    }
}

// IQ3 tiles over Q8_K activations: per 256-block sum += (d_a * d_w) * float(sum_s sc sum_j v a), times
// 2^PostLog2 at the end, as dot_iq3_xxs_q8_k__ref (1/4) / dot_iq3_s_q8_k__ref (1).
template <const int8_t* Lut, int PostLog2>
void gemv_iq3x8_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const tile_iq4_xsx8*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    for (int r = 0; r < n_rows; ++r) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b)
            sum += q[b].d * fp16_to_f32(x[b].d[r]) * static_cast<float>(sub8_table4_sum_ref<Lut>(x[b], r, q[b].qs));
        y[r] = pow2f(PostLog2) * sum;
    }
}
void gemv_iq3_xxsx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                              int n_rows) {
    gemv_iq3x8_ref<k_iq3xxs_lut16, -2>(nb, tiles, a, y, n_rows);
}
void gemv_iq3_sx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    gemv_iq3x8_ref<k_iq3s_lut16, 0>(nb, tiles, a, y, n_rows);
}

void gemv_q5_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_0_act_ref<tile_q5_0x8, q5_0_weight>(nb, tiles, a, y, n_rows);
}

void gemv_q8_0x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_0_act_ref<tile_q8_0x8, q8_0_weight>(nb, tiles, a, y, n_rows);
}

// Q2_K tile: code of (row r, column i) and the raw scale byte of sub-block s, as dot_q2_k_q8_k__ref.
inline int q2_k_tile_code(const tile_q2_kx8& x, int r, int i) {
    const int h = i / 128, g = (i % 128) / 32, l = i % 32;
    return (x.qs[h][l / 4][r][l % 4] >> (2 * g)) & 3;
}

void gemv_q2_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    const auto* x = static_cast<const tile_q2_kx8*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    // Block-outer with every row's codes decoded first, as gemv_scale_min_ref: the same floats per row.
    float sum[8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t u[8][256];
        decode_tile_rows<uint8_t, 256, tile_q2_kx8, q2_k_tile_code>(x[b], n_rows, u);
        for (int r = 0; r < n_rows; ++r) {
            int sumi = 0, summ = 0;
            for (int s = 0; s < 16; ++s) {
                int si = 0;
                for (int l = 0; l < 16; ++l) si += u[r][16 * s + l] * q[b].qs[16 * s + l];
                const int raw = x[b].sc[s / 2][r][s % 2];
                sumi += (raw & 15) * si;
                summ += (raw >> 4) * q[b].bsums[s];
            }
            sum[r] += q[b].d * fp16_to_f32(x[b].d[r]) * static_cast<float>(sumi) -
                      q[b].d * fp16_to_f32(x[b].dmin[r]) * static_cast<float>(summ);
        }
    }
    for (int r = 0; r < n_rows; ++r) y[r] = sum[r];
}

// Tile -> gemm_block_q2_kx8, as gemm_pack_q2_k__ref writes from the rows.
void repack_unpack_q2_k__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q2_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q2_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < 8; ++r)
            put_q2_k_row(out[b], r, fp16_to_f32(x[b].d[r]), fp16_to_f32(x[b].dmin[r]),
                         [&](int s) { return x[b].sc[s / 2][r][s % 2]; }, [&](int c) { return q2_k_tile_code(x[b], r, c); });
    }
}

// Q3_K tile: u = low | high << 2 of (row r, column i) (weight u - 4).
inline int q3_k_tile_code(const tile_q3_kx8& x, int r, int i) {
    const int h = i / 128, g = (i % 128) / 32, l = i % 32;
    const int lo = (x.qs[h][l / 4][r][l % 4] >> (2 * g)) & 3, hi = (x.hm[l / 4][r][l % 4] >> (4 * h + g)) & 1;
    return lo | hi << 2;
}

// Tiles with one signed scale per 16-column sub-block at sc[s / 2][r][s % 2] and codes offset by Off
// (Q3_K: 4, Q6_K: 32): per sub-block the exact sum of (code - Off) a times its scale, then
// d_a * d * sumi added in block order, as dot_q3_k / dot_q6_k_q8_k__ref.
template <class Tile, int (*Code)(const Tile&, int, int), int Off>
void gemv_signed_scale_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    // Block-outer with every row's weights decoded first, as gemv_scale_min_ref: the same floats per row.
    float acc[8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        int8_t w[8][256];
        decode_tile_rows<int8_t, 256, Tile, Code, Off>(x[b], n_rows, w);
        for (int r = 0; r < n_rows; ++r) {
            int sumi = 0;
            for (int s = 0; s < 16; ++s) {
                int si = 0;
                for (int l = 0; l < 16; ++l) si += w[r][16 * s + l] * q[b].qs[16 * s + l];
                sumi += x[b].sc[s / 2][r][s % 2] * si;
            }
            acc[r] += q[b].d * fp16_to_f32(x[b].d[r]) * static_cast<float>(sumi);
        }
    }
    for (int r = 0; r < n_rows; ++r) y[r] = acc[r];
}

void gemv_q3_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_signed_scale_ref<tile_q3_kx8, q3_k_tile_code, 4>(nb, tiles, a, y, n_rows);
}

// Tile -> gemm_block_q3_kx8, as gemm_pack_q3_k__ref writes from the rows.
void repack_unpack_q3_k__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q3_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q3_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < 8; ++r)
            put_q3_k_row(out[b], r, fp16_to_f32(x[b].d[r]), [&](int s) { return x[b].sc[s / 2][r][s % 2]; },
                         [&](int c) { return q3_k_tile_code(x[b], r, c); });
    }
}

template <int Off>
void gemv_int2x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_0_act_ref<tile_int2x8, int2_weight<Off>>(nb, tiles, a, y, n_rows);
}
template void gemv_int2x8_q8_0__ref<1>(int64_t, const void*, const void*, const int32_t*, float*, int);
template void gemv_int2x8_q8_0__ref<2>(int64_t, const void*, const void*, const int32_t*, float*, int);


void gemv_int3x8_q8_0__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_0_act_ref<tile_int3x8, int3_weight>(nb, tiles, a, y, n_rows);
}

namespace {

// FP8 over prepared activations x' = x * 2^Half2 (E4M3: 60, E5M2: 56): per block the float sum of
// fp8(u) * x' in column order, times 2^-Half2 (exact), times d, as dot_fp8_ref.
template <bool E4M3, class Tile = tile_q8_0x8>
void gemv_fp8_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* xp = static_cast<const float*>(a);
    const float unscale = E4M3 ? 0x1p-60f : 0x1p-56f;
    for (int r = 0; r < n_rows; ++r) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b) {
            float s = 0;
            for (int j = 0; j < 32; ++j) {
                const auto u = static_cast<uint8_t>(x[b].qs[j / 4][r][j % 4]);
                s += (E4M3 ? fp8_e4m3_to_f32(u) : fp8_e5m2_to_f32(u)) * xp[32 * b + j];
            }
            sum += row_scale(x[b].d[r]) * (s * unscale);
        }
        y[r] = sum;
    }
}

}  // namespace

void gemv_fp8_e4m3x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                              int n_rows) {
    gemv_fp8_ref<true>(nb, tiles, a, y, n_rows);
}
void gemv_fp8_e5m2x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                              int n_rows) {
    gemv_fp8_ref<false>(nb, tiles, a, y, n_rows);
}
void gemv_fp8_e4m3_ptx8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                                 int n_rows) {
    gemv_fp8_ref<true, tile_q8_0x8f>(nb, tiles, a, y, n_rows);
}
void gemv_fp8_e5m2_ptx8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                                 int n_rows) {
    gemv_fp8_ref<false, tile_q8_0x8f>(nb, tiles, a, y, n_rows);
}
namespace {

// F16 / BF16: per row the float sum in column order, as dot_half_f32_ref.
template <float (*ToF32)(uint16_t)>
void gemv_half_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const tile_h16x8*>(tiles);
    const auto* xf = static_cast<const float*>(a);
    for (int r = 0; r < n_rows; ++r) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b)
            for (int j = 0; j < 32; ++j) sum += ToF32(x[b].v[j][r]) * xf[32 * b + j];
        y[r] = sum;
    }
}

}  // namespace

void gemv_f16x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_half_ref<fp16_to_f32>(nb, tiles, a, y, n_rows);
}
void gemv_bf16x8_f32__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y, int n_rows) {
    gemv_half_ref<bf16_to_f32>(nb, tiles, a, y, n_rows);
}
void fp8_e4m3_act_prep(const float* x, void* dst, int64_t n) {
    auto* o = static_cast<float*>(dst);
    for (int64_t i = 0; i < n; ++i) o[i] = x[i] * 0x1p60f;
}
void fp8_e5m2_act_prep(const float* x, void* dst, int64_t n) {
    auto* o = static_cast<float*>(dst);
    for (int64_t i = 0; i < n; ++i) o[i] = x[i] * 0x1p56f;
}

namespace {

// The tiled GEMVs over Q8_1 activations: sum += float(sum_j q(r, j) a[j]) * (d_w[r] * d_a) + m_w[r] * s_a.
template <class Tile, int (*Code)(const Tile&, int, int)>
void gemv_q8_1_act_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const block_q8_1*>(a);
    // Block-outer, as gemv_q8_0_act_ref below: the same floats per row, each tile read once.
    float sum[8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        const float da = fp16_to_f32(q[b].d), sa = fp16_to_f32(q[b].s);
        uint8_t u[8][32];
        decode_tile_rows<uint8_t, 32, Tile, Code>(x[b], n_rows, u);
        for (int r = 0; r < n_rows; ++r) {
            int sumi = 0;
            for (int j = 0; j < 32; ++j) sumi += u[r][j] * q[b].qs[j];
            sum[r] += static_cast<float>(sumi) * (fp16_to_f32(x[b].d[r]) * da) + fp16_to_f32(x[b].m[r]) * sa;
        }
    }
    for (int r = 0; r < n_rows; ++r) y[r] = sum[r];
}

inline int q4_1_code(const tile_q4_1x8& x, int r, int j) {
    const int v = x.qs[(j % 16) / 4][r][j % 4];
    return j < 16 ? v & 15 : v >> 4;
}

}  // namespace

namespace {
// The 2- and 3-bit tiles -> Q4_0's gemm_block_q8x8 with codes u + 8 - Off (symmetric), or the
// asymmetric gemm_block_q8x8m with codes u (repack_unpack_int*__avx2's bytes).
template <int Bits, bool Asym, int Off>
void unpack_int_tiles_ref(int64_t nb, const void* tiles, void* dst) {
    using tile = std::conditional_t<Bits == 3, std::conditional_t<Asym, tile_int3ax8, tile_int3x8>,
                                    std::conditional_t<Asym, tile_int2ax8, tile_int2x8>>;
    using out_block = std::conditional_t<Asym, gemm_block_q8x8m, gemm_block_q8x8>;
    const auto* x = static_cast<const tile*>(tiles);
    auto* out = static_cast<out_block*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            if constexpr (Asym) out[b].m[r] = fp16_to_f32(x[b].m[r]);
            for (int j = 0; j < 32; ++j) {
                int u;
                if constexpr (Bits == 3) u = int3_code(x[b], r, j);
                else u = int2_code(x[b], r, j);
                out[b].q[j / 4][r][j % 4] = static_cast<int8_t>(Asym ? u : u + 8 - Off);
            }
        }
}
}  // namespace

template <int Off>
void repack_unpack_int2__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_int_tiles_ref<2, false, Off>(nb, tiles, dst);
}
template void repack_unpack_int2__ref<1>(int64_t, const void*, void*);
template void repack_unpack_int2__ref<2>(int64_t, const void*, void*);
void repack_unpack_int2a__ref(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles_ref<2, true, 0>(nb, tiles, dst); }
void repack_unpack_int3__ref(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles_ref<3, false, 4>(nb, tiles, dst); }
void repack_unpack_int3a__ref(int64_t nb, const void* tiles, void* dst) { unpack_int_tiles_ref<3, true, 0>(nb, tiles, dst); }

void gemv_q4_1x8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_1_act_ref<tile_q4_1x8, q4_1_code>(nb, tiles, a, y, n_rows);
}

void gemv_int2ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    gemv_q8_1_act_ref<tile_int2ax8, int2_code<tile_int2ax8>>(nb, tiles, a, y, n_rows);
}

namespace {
inline int int8a_code(const tile_q8_1x8& x, int r, int j) { return static_cast<uint8_t>(x.qs[j / 4][r][j % 4]) ^ 0x80; }
}  // namespace
void gemv_int8ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    gemv_q8_1_act_ref<tile_q8_1x8, int8a_code>(nb, tiles, a, y, n_rows);
}
void repack_unpack_int8a__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q8_1x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8m*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            out[b].m[r] = fp16_to_f32(x[b].m[r]);
            for (int g = 0; g < 8; ++g) std::memcpy(out[b].q[g][r], x[b].qs[g][r], 4);
        }
}
void gemv_int3ax8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    gemv_q8_1_act_ref<tile_int3ax8, int3_code<tile_int3ax8>>(nb, tiles, a, y, n_rows);
}
void gemv_q5_1x8_q8_1__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_q8_1_act_ref<tile_q5_1x8, q5_tile_code<tile_q5_1x8>>(nb, tiles, a, y, n_rows);
}

namespace {

inline int q4_k_tile_code(const tile_q4_kx8& x, int r, int col) {
    const int s = col / 32, l = col % 32;
    const int v = x.qs[s / 2][l / 4][r][l % 4];
    return (s & 1) ? (v >> 4) : (v & 15);
}

// Q4_K and Q5_K tiles: the same per-sub-block scale and min math, codes from tile_code(tile, row, col).
template <class Tile, int (*TileCode)(const Tile&, int, int)>
void gemv_scale_min_ref(int64_t nb, const void* tiles, const void* a, float* y, int n_rows) {
    const auto* x = static_cast<const Tile*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    // Block-outer with every row's codes decoded before the products, as gemv_q8_0_act_ref: the same
    // floats per row.
    float sum[8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t u[8][256];
        decode_tile_rows<uint8_t, 256, Tile, TileCode>(x[b], n_rows, u);
        for (int r = 0; r < n_rows; ++r) {
            int sumi = 0, summ = 0;
            for (int s = 0; s < 8; ++s) {
                int si = 0;
                for (int l = 0; l < 32; ++l) si += u[r][32 * s + l] * q[b].qs[32 * s + l];
                sumi += k_scale(x[b].s, s, r) * si;
                summ += k_min(x[b].s, s, r) * (q[b].bsums[2 * s] + q[b].bsums[2 * s + 1]);
            }
            sum[r] += q[b].d * fp16_to_f32(x[b].d[r]) * static_cast<float>(sumi) -
                      q[b].d * fp16_to_f32(x[b].dmin[r]) * static_cast<float>(summ);
        }
    }
    for (int r = 0; r < n_rows; ++r) y[r] = sum[r];
}

}  // namespace

void gemv_q4_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_scale_min_ref<tile_q4_kx8, q4_k_tile_code>(nb, tiles, a, y, n_rows);
}

void gemv_q5_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_scale_min_ref<tile_q5_kx8, q5_k_tile_code>(nb, tiles, a, y, n_rows);
}

void gemv_q6_kx8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                           int n_rows) {
    gemv_signed_scale_ref<tile_q6_kx8, q6_k_tile_code, 32>(nb, tiles, a, y, n_rows);
}

// ---- tile -> prompt GEMM packed blocks -----------------------------------------------------------

// Q4_1 tiles (also int4_g32_asym's) -> gemm_block_q8x8m: the nibbles as Q4_0's, d and m as floats.
void repack_unpack_q4_1__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_1x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8m*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            out[b].m[r] = fp16_to_f32(x[b].m[r]);
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 4; ++i) {
                    out[b].q[c][r][i] = static_cast<int8_t>(x[b].qs[c][r][i] & 15);
                    out[b].q[c + 4][r][i] = static_cast<int8_t>(x[b].qs[c][r][i] >> 4);
                }
        }
}

void repack_unpack_q4_0__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 4; ++i) {
                    out[b].q[c][r][i] = static_cast<int8_t>(x[b].qs[c][r][i] & 15);
                    out[b].q[c + 4][r][i] = static_cast<int8_t>(x[b].qs[c][r][i] >> 4);
                }
        }
}

namespace {
// Q4_0-tile codebook formats (IQ4_NL, MXFP4): codes -> table values, fp16 d -> float.
template <const int8_t* Table>
void unpack_table4_ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 4; ++i) {
                    out[b].q[c][r][i] = Table[x[b].qs[c][r][i] & 15];
                    out[b].q[c + 4][r][i] = Table[x[b].qs[c][r][i] >> 4];
                }
        }
}
}  // namespace

void repack_unpack_iq4_nl__ref(int64_t nb, const void* tiles, void* dst) { unpack_table4_ref<k_iq4nl_values>(nb, tiles, dst); }
void repack_unpack_mxfp4__ref(int64_t nb, const void* tiles, void* dst) { unpack_table4_ref<k_mxfp4_kvalues>(nb, tiles, dst); }

namespace {
// nf4 / fp4_e2m1 tiles (Q4_0's) -> the codebook's int8 values, scale d / Div (gemm_pack_table4_ref).
template <const int8_t* Table, int Div, class Tile = tile_q4_0x8>
void unpack_table4_div_ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const Tile*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = row_scale(x[b].d[r]) * (1.0f / Div);
            for (int c = 0; c < 4; ++c)
                for (int i = 0; i < 4; ++i) {
                    out[b].q[c][r][i] = Table[x[b].qs[c][r][i] & 15];
                    out[b].q[c + 4][r][i] = Table[x[b].qs[c][r][i] >> 4];
                }
        }
}
}  // namespace
void repack_unpack_nf4__ref(int64_t nb, const void* tiles, void* dst) { unpack_table4_div_ref<k_nf4_i8, 127>(nb, tiles, dst); }
void repack_unpack_nf4_dq__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_table4_div_ref<k_nf4_i8, 127, tile_q4_0x8f>(nb, tiles, dst);
}
void repack_unpack_fp4_e2m1__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_table4_div_ref<k_fp4_e2m1_x2, 2>(nb, tiles, dst);
}

void repack_unpack_iq4_xs__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_iq4_xsx8*>(tiles);
    auto* out = static_cast<gemm_block_iq4_xsx8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            for (int s = 0; s < 8; ++s) {
                out[b].sc[s][2 * r] = out[b].sc[s][2 * r + 1] = x[b].sc[s][r];
                for (int c = 0; c < 4; ++c)
                    for (int i = 0; i < 4; ++i) {
                        const uint8_t v = x[b].qs[s][c][r][i];
                        out[b].q[8 * s + c][r][i] = k_iq4nl_values[v & 15];
                        out[b].q[8 * s + 4 + c][r][i] = k_iq4nl_values[v >> 4];
                    }
            }
        }
}

// IQ3 tiles -> Q8_0's packed blocks, one per 32-column sub-block: the signed values, scale d sc 2^PostLog2
// (the product gemm_pack_iq3_*'s iq3_*_subblock forms, in its order).
namespace {
template <const int8_t* Lut, int PostLog2>
void unpack_iq3_ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_iq4_xsx8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int s = 0; s < 8; ++s) {
            gemm_block_q8x8& o = out[8 * b + s];
            for (int r = 0; r < 8; ++r) {
                o.d[r] = fp16_to_f32(x[b].d[r]) * static_cast<float>(x[b].sc[s][r]) * pow2f(PostLog2);
                for (int c = 0; c < 4; ++c)
                    for (int i = 0; i < 4; ++i) {
                        o.q[c][r][i] = Lut[x[b].qs[s][c][r][i] & 15];
                        o.q[c + 4][r][i] = Lut[x[b].qs[s][c][r][i] >> 4];
                    }
            }
        }
}
}  // namespace
void repack_unpack_iq3_xxs__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_iq3_ref<k_iq3xxs_lut16, -2>(nb, tiles, dst);
}
void repack_unpack_iq3_s__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_iq3_ref<k_iq3s_lut16, 0>(nb, tiles, dst);
}

void repack_unpack_q5_0__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q5_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            for (int j = 0; j < 32; ++j) out[b].q[j / 4][r][j % 4] = static_cast<int8_t>(q5_tile_code(x[b], r, j));
        }
}

void repack_unpack_q8_0__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q8_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b) {
        for (int r = 0; r < 8; ++r) out[b].d[r] = fp16_to_f32(x[b].d[r]);
        std::memcpy(out[b].q, x[b].qs, sizeof(out[b].q));
    }
}

void repack_unpack_q4_k__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q4_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            out[b].dmin[r] = fp16_to_f32(x[b].dmin[r]);
            for (int s = 0; s < 8; ++s) {
                out[b].sc[s][2 * r] = out[b].sc[s][2 * r + 1] = static_cast<int16_t>(k_scale(x[b].s, s, r));
                out[b].mn[s / 2][2 * r + s % 2] = static_cast<int16_t>(k_min(x[b].s, s, r));
            }
            for (int j = 0; j < 4; ++j)
                for (int c = 0; c < 8; ++c)
                    for (int i = 0; i < 4; ++i) {
                        out[b].q[16 * j + c][r][i] = x[b].qs[j][c][r][i] & 15;
                        out[b].q[16 * j + 8 + c][r][i] = x[b].qs[j][c][r][i] >> 4;
                    }
        }
}

void repack_unpack_q5_k__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q5_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q4_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            out[b].dmin[r] = fp16_to_f32(x[b].dmin[r]);
            for (int s = 0; s < 8; ++s) {
                out[b].sc[s][2 * r] = out[b].sc[s][2 * r + 1] = static_cast<int16_t>(k_scale(x[b].s, s, r));
                out[b].mn[s / 2][2 * r + s % 2] = static_cast<int16_t>(k_min(x[b].s, s, r));
            }
            for (int c = 0; c < k_qk_k; ++c) out[b].q[c / 4][r][c % 4] = static_cast<uint8_t>(q5_k_tile_code(x[b], r, c));
        }
}

void repack_unpack_q6_k__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_q6_kx8*>(tiles);
    auto* out = static_cast<gemm_block_q6_kx8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            out[b].d[r] = fp16_to_f32(x[b].d[r]);
            for (int s = 0; s < 16; ++s) out[b].sc[s][2 * r] = out[b].sc[s][2 * r + 1] = x[b].sc[s / 2][r][s % 2];
            for (int c = 0; c < k_qk_k; ++c) out[b].q[c / 4][r][c % 4] = static_cast<uint8_t>(q6_k_tile_code(x[b], r, c));
        }
}

namespace {
inline int tq2_tile_code(const tile_tq2_0x8& x, int r, int c) { return (x.qs[c / 16][r][c % 4] >> (2 * ((c % 16) / 4))) & 3; }
}  // namespace

void gemv_tq2_0x8_q8_k__ref(int64_t nb, const void* tiles, const void* a, const int32_t* /*side*/, float* y,
                            int n_rows) {
    const auto* x = static_cast<const tile_tq2_0x8*>(tiles);
    const auto* q = static_cast<const block_q8_k*>(a);
    for (int r = 0; r < n_rows; ++r) {
        float sum = 0;
        for (int64_t b = 0; b < nb; ++b) {
            int sumi = 0, bs = 0;
            for (int c = 0; c < k_qk_k; ++c) sumi += tq2_tile_code(x[b], r, c) * q[b].qs[c];
            for (int16_t v : q[b].bsums) bs += v;
            sum += q[b].d * fp16_to_f32(x[b].d[r]) * static_cast<float>(sumi - bs);
        }
        y[r] = sum;
    }
}

void repack_unpack_tq2_0__ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const tile_tq2_0x8*>(tiles);
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int j = 0; j < 8; ++j)  // 32-column block j of the 256
            for (int r = 0; r < 8; ++r) {
                out[8 * b + j].d[r] = fp16_to_f32(x[b].d[r]);
                for (int c = 0; c < 32; ++c)
                    out[8 * b + j].q[c / 4][r][c % 4] = static_cast<int8_t>(tq2_tile_code(x[b], r, 32 * j + c) + 7);
            }
}

// ---- kernel table -------------------------------------------------------------------------------

namespace {
// The kernels of an integer format's tile (int_formats.hpp): Q8_0's, Q4_0's and Q4_1's for 8 and 4
// bits, the 3- and 2-bit tiles' own (the symmetric 2-bit ones with the format's offset).
template <int Bits, bool Asym, int Off>
repack_kernels int_repack_kernels(bool avx2) {
    if constexpr (Bits == 8 && !Asym)
        return {type::q8_0, 32, sizeof(tile_q8_0x8), avx2 ? gemv_q8_0x8_q8_0__avx2 : gemv_q8_0x8_q8_0__ref,
                avx2 ? repack_unpack_q8_0__avx2 : repack_unpack_q8_0__ref};
    else if constexpr (Bits == 8)
        return {type::q8_1, 32, sizeof(tile_q8_1x8), avx2 ? gemv_int8ax8_q8_1__avx2 : gemv_int8ax8_q8_1__ref,
                avx2 ? repack_unpack_int8a__avx2 : repack_unpack_int8a__ref};
    else if constexpr (Bits == 4 && !Asym)
        return {type::q8_0, 32, sizeof(tile_q4_0x8), avx2 ? gemv_q4_0x8_q8_0__avx2 : gemv_q4_0x8_q8_0__ref,
                avx2 ? repack_unpack_q4_0__avx2 : repack_unpack_q4_0__ref};
    else if constexpr (Bits == 4)
        return {type::q8_1, 32, sizeof(tile_q4_1x8), avx2 ? gemv_q4_1x8_q8_1__avx2 : gemv_q4_1x8_q8_1__ref,
                avx2 ? repack_unpack_q4_1__avx2 : repack_unpack_q4_1__ref};
    else if constexpr (Bits == 3 && !Asym)
        return {type::q8_0, 32, sizeof(tile_int3x8), avx2 ? gemv_int3x8_q8_0__avx2 : gemv_int3x8_q8_0__ref,
                avx2 ? repack_unpack_int3__avx2 : repack_unpack_int3__ref};
    else if constexpr (Bits == 3)
        return {type::q8_1, 32, sizeof(tile_int3ax8), avx2 ? gemv_int3ax8_q8_1__avx2 : gemv_int3ax8_q8_1__ref,
                avx2 ? repack_unpack_int3a__avx2 : repack_unpack_int3a__ref};
    else if constexpr (!Asym)
        return {type::q8_0, 32, sizeof(tile_int2x8), avx2 ? gemv_int2x8_q8_0__avx2 : gemv_int2x8_q8_0__ref<Off>,
                avx2 ? repack_unpack_int2__avx2<Off> : repack_unpack_int2__ref<Off>};
    else
        return {type::q8_1, 32, sizeof(tile_int2ax8), avx2 ? gemv_int2ax8_q8_1__avx2 : gemv_int2ax8_q8_1__ref,
                avx2 ? repack_unpack_int2a__avx2 : repack_unpack_int2a__ref};
}
}  // namespace

repack_kernels repack_kernel(type t, isa_tier tier) {
    const bool avx2 = tier >= isa_tier::avx2;
    repack_kernels k;
    switch (t) {
        case type::q4_0:
            k = {type::q8_0, k_qk4_0, sizeof(tile_q4_0x8), avx2 ? gemv_q4_0x8_q8_0__avx2 : gemv_q4_0x8_q8_0__ref,
                 avx2 ? repack_unpack_q4_0__avx2 : repack_unpack_q4_0__ref};
            break;
        case type::iq4_nl:
            k = {type::q8_0, k_qk4_nl, sizeof(tile_q4_0x8), avx2 ? gemv_iq4_nlx8_q8_0__avx2 : gemv_iq4_nlx8_q8_0__ref,
                 avx2 ? repack_unpack_iq4_nl__avx2 : repack_unpack_iq4_nl__ref};
            break;
        case type::q4_1:
            k = {type::q8_1, k_qk4_1, sizeof(tile_q4_1x8), avx2 ? gemv_q4_1x8_q8_1__avx2 : gemv_q4_1x8_q8_1__ref,
                 avx2 ? repack_unpack_q4_1__avx2 : repack_unpack_q4_1__ref};
            break;
        case type::mxfp4:
            k = {type::q8_0, k_qk_mxfp4, sizeof(tile_q4_0x8), avx2 ? gemv_mxfp4x8_q8_0__avx2 : gemv_mxfp4x8_q8_0__ref,
                 avx2 ? repack_unpack_mxfp4__avx2 : repack_unpack_mxfp4__ref};
            break;
        // Q2_K / Q3_K: prompts unpack the tiles at the ref tier only; at AVX2 their row packers are faster
        case type::q3_k:
            k = {type::q8_k, k_qk_k, sizeof(tile_q3_kx8), avx2 ? gemv_q3_kx8_q8_k__avx2 : gemv_q3_kx8_q8_k__ref,
                 avx2 ? nullptr : repack_unpack_q3_k__ref};
            break;
        case type::q2_k:
            k = {type::q8_k, k_qk_k, sizeof(tile_q2_kx8), avx2 ? gemv_q2_kx8_q8_k__avx2 : gemv_q2_kx8_q8_k__ref,
                 avx2 ? nullptr : repack_unpack_q2_k__ref};
            break;
        // lowbit's integer formats (int_formats.hpp) on the tile of their width
#define LOWBIT_CASE(name, B, G, A, O) \
        case ext_type::name: k = int_repack_kernels<B, A, O>(avx2); break;
        LOWBIT_INT_FORMATS(LOWBIT_CASE)
#undef LOWBIT_CASE
        case type::tq1_0:  // decoded to TQ2_0's tile at load
        case type::tq2_0:
            k = {type::q8_k, k_qk_k, sizeof(tile_tq2_0x8), avx2 ? gemv_tq2_0x8_q8_k__avx2 : gemv_tq2_0x8_q8_k__ref,
                 avx2 ? repack_unpack_tq2_0__avx2 : repack_unpack_tq2_0__ref};
            break;
        case ext_type::nf4:
            k = {type::q8_0, 32, sizeof(tile_q4_0x8), avx2 ? gemv_nf4x8_q8_0__avx2 : gemv_nf4x8_q8_0__ref,
                 avx2 ? repack_unpack_nf4__avx2 : repack_unpack_nf4__ref};
            break;
        case ext_type::nf4_dq:  // Q4_0's shape with f32 scales (tile_q4_0x8f)
            k = {type::q8_0, 32, sizeof(tile_q4_0x8f), avx2 ? gemv_nf4_dqx8_q8_0__avx2 : gemv_nf4_dqx8_q8_0__ref,
                 avx2 ? repack_unpack_nf4_dq__avx2 : repack_unpack_nf4_dq__ref};
            break;
        case ext_type::fp4_e2m1:  // Q4_0's tile, the codebook 2 e2m1(u) with d / 2, as dot_fp4_e2m1_q8_0__ref
            k = {type::q8_0, 32, sizeof(tile_q4_0x8), avx2 ? gemv_fp4_e2m1x8_q8_0__avx2 : gemv_fp4_e2m1x8_q8_0__ref,
                 avx2 ? repack_unpack_fp4_e2m1__avx2 : repack_unpack_fp4_e2m1__ref};
            break;
        // FP8 on Q8_0's tile, f32 activations times 2^60 (2^56); prompts: the int16 GEMM (gemm_q.hpp) from the unpack
        case ext_type::fp8_e4m3:
            k = {type::f32, 32, sizeof(tile_q8_0x8), avx2 ? gemv_fp8_e4m3x8_f32__avx2 : gemv_fp8_e4m3x8_f32__ref,
                 avx2 ? repack_unpack_fp8_e4m3__avx2 : repack_unpack_fp8_e4m3__ref, fp8_e4m3_act_prep, nullptr};
            break;
        case ext_type::fp8_e5m2:
            k = {type::f32, 32, sizeof(tile_q8_0x8), avx2 ? gemv_fp8_e5m2x8_f32__avx2 : gemv_fp8_e5m2x8_f32__ref,
                 avx2 ? repack_unpack_fp8_e5m2__avx2 : repack_unpack_fp8_e5m2__ref, fp8_e5m2_act_prep, nullptr};
            break;
        case ext_type::fp8_e4m3_pt:
            k = {type::f32, 32, sizeof(tile_q8_0x8f), avx2 ? gemv_fp8_e4m3_ptx8_f32__avx2 : gemv_fp8_e4m3_ptx8_f32__ref,
                 avx2 ? repack_unpack_fp8_e4m3_pt__avx2 : repack_unpack_fp8_e4m3_pt__ref, fp8_e4m3_act_prep, nullptr};
            break;
        case ext_type::fp8_e5m2_pt:
            k = {type::f32, 32, sizeof(tile_q8_0x8f), avx2 ? gemv_fp8_e5m2_ptx8_f32__avx2 : gemv_fp8_e5m2_ptx8_f32__ref,
                 avx2 ? repack_unpack_fp8_e5m2_pt__avx2 : repack_unpack_fp8_e5m2_pt__ref, fp8_e5m2_act_prep, nullptr};
            break;
        case type::q5_1:
            k = {type::q8_1, k_qk5_1, sizeof(tile_q5_1x8), avx2 ? gemv_q5_1x8_q8_1__avx2 : gemv_q5_1x8_q8_1__ref,
                 nullptr};
            break;
        // F16 / BF16: f32 activations as they are; prompts: the panel kernel straight from the tiles
        case type::f16:
            k = {type::f32, 32, sizeof(tile_h16x8), avx2 ? gemv_f16x8_f32__avx2 : gemv_f16x8_f32__ref, nullptr, nullptr,
                 avx2 ? gemm_f16x8_f32__avx2 : nullptr};
            break;
        case type::bf16:
            k = {type::f32, 32, sizeof(tile_h16x8), avx2 ? gemv_bf16x8_f32__avx2 : gemv_bf16x8_f32__ref, nullptr, nullptr,
                 avx2 ? gemm_bf16x8_f32__avx2 : nullptr};
            break;
        case type::q5_0:
            k = {type::q8_0, k_qk5_0, sizeof(tile_q5_0x8), avx2 ? gemv_q5_0x8_q8_0__avx2 : gemv_q5_0x8_q8_0__ref,
                 avx2 ? repack_unpack_q5_0__avx2 : repack_unpack_q5_0__ref};
            break;
        case type::q8_0:
            k = {type::q8_0, k_qk8_0, sizeof(tile_q8_0x8), avx2 ? gemv_q8_0x8_q8_0__avx2 : gemv_q8_0x8_q8_0__ref,
                 avx2 ? repack_unpack_q8_0__avx2 : repack_unpack_q8_0__ref};
            break;
        // IQ4_XS: the prompt GEMM unpacks tiles at the ref tier only; at AVX2 its row packer is faster
        case type::iq4_xs:
            k = {type::q8_k, k_qk_k, sizeof(tile_iq4_xsx8), avx2 ? gemv_iq4_xsx8_q8_k__avx2 : gemv_iq4_xsx8_q8_k__ref,
                 avx2 ? nullptr : repack_unpack_iq4_xs__ref};
            break;
        // IQ3: IQ4_XS's tile with their tables; prompts: Q8_0's GEMM on the unpacked sub-blocks
        case type::iq3_xxs:
            k = {type::q8_k, k_qk_k, sizeof(tile_iq4_xsx8), avx2 ? gemv_iq3_xxsx8_q8_k__avx2 : gemv_iq3_xxsx8_q8_k__ref,
                 avx2 ? repack_unpack_iq3_xxs__avx2 : repack_unpack_iq3_xxs__ref};
            break;
        case type::iq3_s:
            k = {type::q8_k, k_qk_k, sizeof(tile_iq4_xsx8), avx2 ? gemv_iq3_sx8_q8_k__avx2 : gemv_iq3_sx8_q8_k__ref,
                 avx2 ? repack_unpack_iq3_s__avx2 : repack_unpack_iq3_s__ref};
            break;
        case type::q4_k:
            k = {type::q8_k, k_qk_k, sizeof(tile_q4_kx8), avx2 ? gemv_q4_kx8_q8_k__avx2 : gemv_q4_kx8_q8_k__ref,
                 avx2 ? repack_unpack_q4_k__avx2 : repack_unpack_q4_k__ref};
            break;
        case type::q5_k:
            k = {type::q8_k, k_qk_k, sizeof(tile_q5_kx8), avx2 ? gemv_q5_kx8_q8_k__avx2 : gemv_q5_kx8_q8_k__ref,
                 avx2 ? repack_unpack_q5_k__avx2 : repack_unpack_q5_k__ref};
            break;
        case type::q6_k:
            k = {type::q8_k, k_qk_k, sizeof(tile_q6_kx8), avx2 ? gemv_q6_kx8_q8_k__avx2 : gemv_q6_kx8_q8_k__ref,
                 avx2 ? repack_unpack_q6_k__avx2 : repack_unpack_q6_k__ref};
            break;
        default: break;
    }
    if (avx2 && k.gemv) k.gemv2 = gemv2_kernel_avx2(k.gemv);
    if (tier == isa_tier::generic && LOWBIT_HAVE_SIMD128) {
#if LOWBIT_HAVE_SIMD128_DOTPROD
        if (dotprod_active()) {
            k.gemv = dot::gemv_kernel_simd128(k.gemv);
            k.unpack = dot::unpack_kernel_simd128(k.unpack);
            return k;
        }
#endif
        k.gemv = gemv_kernel_simd128(k.gemv);
        k.unpack = unpack_kernel_simd128(k.unpack);
    }
    return k;
}

bool repack_supported(type t, int64_t n_cols) {
    const repack_kernels k = repack_kernel(t, isa_tier::ref);
    return k.block > 0 && n_cols > 0 && n_cols % k.block == 0;
}

bool repack_rows_supported(type t, const uint8_t* w, size_t row_stride, int64_t n_rows, int64_t n_cols) {
    if (!repack_supported(t, n_cols)) return false;
    if (t != type::mxfp4) return true;
    for (int64_t r = 0; r < n_rows; ++r) {
        const auto* blk = reinterpret_cast<const block_mxfp4*>(w + row_stride * static_cast<size_t>(r));
        for (int64_t b = 0; b < n_cols / k_qk_mxfp4; ++b)
            if (blk[b].e < k_mxfp4_tile_e_min || blk[b].e > k_mxfp4_tile_e_max) return false;
    }
    return true;
}

}  // namespace kernels

namespace {

// n bytes (rounded up to 64) for tiles, 64-byte aligned. Buffers of 2 MiB or more are 2 MiB aligned and
// their whole 2 MiB pages are asked for transparent huge pages (Linux, advice only): fewer page faults
// while repacking and fewer TLB misses while streaming. The size is not rounded up to 2 MiB, so the
// tail stays in small pages and no memory is wasted. Free with std::free.
uint8_t* alloc_tiles(size_t n, const std::string& what) {
    constexpr size_t k_huge = size_t(2) << 20;
    const bool huge = n >= k_huge;
    const size_t bytes = (n + 63) / 64 * 64;
    void* raw = nullptr;
#if defined(__unix__) || defined(__APPLE__)
    if (posix_memalign(&raw, huge ? k_huge : 64, bytes) != 0) raw = nullptr;
#else
    raw = std::aligned_alloc(64, bytes);
#endif
    LOWBIT_REQUIRE(raw != nullptr, "repack: cannot allocate {} bytes for {}", bytes, what);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) ::madvise(raw, bytes / k_huge * k_huge, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    return static_cast<uint8_t*>(raw);
}

}  // namespace

std::shared_ptr<const repacked_matrix> stack_repacked(std::vector<std::shared_ptr<const repacked_matrix>>& parts) {
    LOWBIT_REQUIRE(!parts.empty() && parts[0], "stack_repacked: no matrices");
    auto m = std::make_shared<repacked_matrix>();
    const repacked_matrix& first = *parts[0];
    m->t = first.t;
    m->n_cols = first.n_cols;
    m->n_blocks = first.n_blocks;
    m->tile_bytes = first.tile_bytes;
    for (const auto& q : parts) {
        LOWBIT_REQUIRE(q && q->t == m->t && q->n_cols == m->n_cols && q->tile_bytes == m->tile_bytes &&
                           q->n_rows % kernels::k_tile_rows == 0,
                       "stack_repacked: matrices of different types or widths, or rows not a multiple of {}",
                       kernels::k_tile_rows);
        m->n_rows += q->n_rows;
        m->n_tiles += q->n_tiles;
    }
    uint8_t* p = alloc_tiles(m->n_bytes(), fmt::format("a stack of {} {} matrices", parts.size(), type_name(m->t)));
    m->data = std::shared_ptr<const uint8_t>(p, [](const uint8_t* q) { std::free(const_cast<uint8_t*>(q)); });
    size_t at = 0;
    for (auto& q : parts) {
        std::memcpy(p + at, q->data.get(), q->n_bytes());
        auto view = std::make_shared<repacked_matrix>();
        view->t = q->t;
        view->n_rows = q->n_rows;
        view->n_cols = q->n_cols;
        view->n_tiles = q->n_tiles;
        view->n_blocks = q->n_blocks;
        view->tile_bytes = q->tile_bytes;
        view->data = std::shared_ptr<const uint8_t>(m->data, p + at);  // shares the stack's buffer
        at += q->n_bytes();
        q = std::move(view);  // the part's own buffer is freed with its last owner
    }
    return m;
}

std::shared_ptr<const repacked_matrix> repack_matrix(type t, const uint8_t* w, size_t row_stride, int64_t n_rows,
                                                     int64_t n_cols, int n_threads) {
    LOWBIT_REQUIRE(kernels::repack_rows_supported(t, w, row_stride, n_rows, n_cols),
                   "repack: {} rows of {} weights have no tiled layout (or values it cannot hold)", type_name(t), n_cols);
    LOWBIT_REQUIRE(n_rows > 0 && n_rows <= (int64_t(1) << 31), "repack: {} rows is out of range", n_rows);
    const kernels::repack_kernels k = kernels::repack_kernel(t, isa_tier::ref);
    auto m = std::make_shared<repacked_matrix>();
    m->t = t;
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    m->n_tiles = (n_rows + kernels::k_tile_rows - 1) / kernels::k_tile_rows;
    m->n_blocks = n_cols / k.block;
    m->tile_bytes = static_cast<size_t>(m->n_blocks) * k.tile_block_bytes;
    auto* p = alloc_tiles(m->n_bytes(), fmt::format("a {} x {} {} matrix", n_rows, n_cols, type_name(t)));
    m->data = std::shared_ptr<const uint8_t>(p, [](const uint8_t* q) { std::free(const_cast<uint8_t*>(q)); });
    parallel_for(m->n_tiles, n_threads, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
            const int64_t r0 = i * kernels::k_tile_rows;
            const int rows = static_cast<int>(std::min<int64_t>(kernels::k_tile_rows, n_rows - r0));
            kernels::repack_tile(t, w + row_stride * static_cast<size_t>(r0), row_stride, rows, n_cols,
                                 p + static_cast<size_t>(i) * m->tile_bytes);
        }
    });
    return m;
}

std::shared_ptr<const uint8_t> copy_rows(const std::vector<std::pair<const uint8_t*, size_t>>& parts,
                                         const std::string& what, int n_threads) {
    size_t total = 0;
    for (const auto& [p, n] : parts) total += n;
    LOWBIT_REQUIRE(total > 0, "copy_rows: nothing to copy for {}", what);
    uint8_t* buf = alloc_tiles(total, what);
    std::shared_ptr<const uint8_t> owner(buf, [](const uint8_t* q) { std::free(const_cast<uint8_t*>(q)); });
    constexpr size_t k_chunk = size_t(1) << 20;
    size_t at = 0;
    for (const auto& part : parts) {
        const uint8_t* src = part.first;
        const size_t n = part.second;
        uint8_t* dst = buf + at;
        parallel_for(static_cast<int64_t>((n + k_chunk - 1) / k_chunk), n_threads, [&](int64_t b, int64_t e, int) {
            const size_t lo = static_cast<size_t>(b) * k_chunk, hi = std::min(n, static_cast<size_t>(e) * k_chunk);
            std::memcpy(dst + lo, src + lo, hi - lo);
        });
        at += n;
    }
    return owner;
}

size_t repacked_bytes(type t, int64_t n_rows, int64_t n_cols) {
    if (n_rows <= 0 || !kernels::repack_supported(t, n_cols)) return 0;
    const kernels::repack_kernels k = kernels::repack_kernel(t, isa_tier::ref);
    return static_cast<size_t>((n_rows + kernels::k_tile_rows - 1) / kernels::k_tile_rows) *
           static_cast<size_t>(n_cols / k.block) * k.tile_block_bytes;
}

size_t available_memory_bytes() {
#if defined(__linux__)
    FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return 0;
    size_t kib = 0;
    char line[256];
    while (std::fgets(line, sizeof(line), f))
        if (std::sscanf(line, "MemAvailable: %zu kB", &kib) == 1) break;
    std::fclose(f);
    return kib * 1024;
#else
    return 0;
#endif
}

bool in_readonly_file_mapping(const void* p, size_t n) {
#if defined(__linux__)
    if (p == nullptr || n == 0) return false;
    const auto a = reinterpret_cast<uintptr_t>(p), e = a + n;
    FILE* f = std::fopen("/proc/self/maps", "r");
    if (!f) return false;
    bool ok = false;
    char line[1024];
    while (std::fgets(line, sizeof(line), f)) {
        unsigned long lo = 0, hi = 0, off = 0, inode = 0;
        char perms[8] = {}, dev[32] = {};
        if (std::sscanf(line, "%lx-%lx %7s %lx %31s %lu", &lo, &hi, perms, &off, dev, &inode) < 6) continue;
        if (a < lo || e > hi) continue;
        // Readable, not writable, and backed by a file (inode != 0): its pages can always be re-read.
        ok = perms[0] == 'r' && perms[1] == '-' && inode != 0;
        break;
    }
    std::fclose(f);
    return ok;
#else
    (void)p;
    (void)n;
    return false;
#endif
}

bool release_file_pages(const void* p, size_t n) {
#if defined(__linux__)
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !in_readonly_file_mapping(p, n)) return false;
    const auto a = reinterpret_cast<uintptr_t>(p), e = a + n, ps = static_cast<uintptr_t>(page);
    const uintptr_t b0 = (a + ps - 1) / ps * ps, b1 = e / ps * ps;  // whole pages inside the range only
    if (b1 <= b0) return false;
    return ::madvise(reinterpret_cast<void*>(b0), b1 - b0, MADV_DONTNEED) == 0;
#else
    (void)p;
    (void)n;
    return false;
#endif
}

}  // namespace lowbit
