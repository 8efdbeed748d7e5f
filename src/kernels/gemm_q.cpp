// Scalar packing and micro-kernels of the integer prompt GEMM (see gemm_q.hpp), activation side
// values, and run-time kernel selection.
#include "kernels/gemm_q.hpp"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/iq_grids.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/dot.hpp"
#include "kernels/int_formats.hpp"

// lowbit's own formats are `type` values beyond the enum's enumerators (ext_type, formats/lowbit_formats.hpp);
// the switches over `type` below name them as cases, which -Wswitch would report one by one.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wswitch"
#endif

namespace lowbit::kernels {

void unpack_q3_k_scales(const uint8_t* packed, int8_t* out);  // dot_ref.cpp: 16 scales, minus 32

namespace {

// Code of column c (0..31) of a Q4_0 block: low nibbles are columns 0..15, high nibbles 16..31.
inline int q4_0_code(const block_q4_0& b, int c) { return c < 16 ? (b.qs[c] & 0x0F) : (b.qs[c - 16] >> 4); }

// Code of column c (0..255) of a Q4_K super-block: 32-byte chunk c / 64, low nibble for the first 32.
inline int q4_k_code(const block_q4_k& b, int c) {
    const uint8_t v = b.qs[32 * (c / 64) + c % 32];
    return (c % 64) < 32 ? (v & 0x0F) : (v >> 4);
}

// Two int16 values in one int32 (lo in bits 0..15), as a broadcast int32 puts them in int16 lanes.
inline int32_t pack_i16_pair(int lo, int hi) {
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}

// Token t's quantized activation row (Block: block_q8_0 / block_q8_1 / block_q8_k).
template <class Block>
inline const Block* act_row(const gemm_act& a, int64_t t) {
    return reinterpret_cast<const Block*>(a.q + static_cast<size_t>(t) * a.row_bytes);
}

// The block-outer walk of the reference GEMMs (n_tok <= 4, n_rows <= 8): for each block, gather(block,
// codes) puts its codes into rows once for all tokens; then for each token and row
// acc = row(block, codes[r], x, d_a, side, r, acc), with x the token's activation block, d_a its scale
// and side its Sides side values for the block. Every (token, row) sums its blocks in order, so the
// floats are those of one (token, row) at a time.
template <class Act, int Cols, int Sides, class Block, class Gather, class Row>
void ref_gemm_walk(int64_t nb, const Block* w, const gemm_act& a, int64_t t0, int n_tok, float* y,
                   int64_t ldy, int n_rows, Gather&& gather, Row&& row) {
    float acc[4][8] = {};
    for (int64_t b = 0; b < nb; ++b) {
        int16_t c[8][Cols];
        gather(w[b], c);
        for (int t = 0; t < n_tok; ++t) {
            const Act& x = act_row<Act>(a, t0 + t)[b];
            const int64_t i = (t0 + t) * a.n_blocks + b;
            const int32_t* side = a.s + i * Sides;
            for (int r = 0; r < n_rows; ++r) acc[t][r] = row(w[b], c[r], x, a.d[i], side, r, acc[t][r]);
        }
    }
    for (int t = 0; t < n_tok; ++t)
        for (int r = 0; r < n_rows; ++r) y[t * ldy + r] = acc[t][r];
}

// A 32-column packed block's codes (q[group][row][i]) gathered into rows, as int (Unsigned: as uint8).
template <bool Unsigned = false, class Block>
void gather_rows_32(const Block& w, int n_rows, int16_t (&c)[8][32]) {
    for (int r = 0; r < n_rows; ++r)
#pragma GCC unroll 32
        for (int j = 0; j < 32; ++j) {
            const auto v = w.q[j / 4][r][j % 4];
            c[r][j] = static_cast<int16_t>(Unsigned ? static_cast<int>(static_cast<uint8_t>(v)) : v);
        }
}

// A 256-column packed block's codes (q[group][row][i], as every K-quant block packs them) gathered into
// rows.
template <class Block>
void gather_rows_256(const Block& w, int n_rows, int16_t (&c)[8][256]) {
    for (int r = 0; r < n_rows; ++r)
        for (int g = 0; g < 64; ++g)
#pragma GCC unroll 4
            for (int i = 0; i < 4; ++i) c[r][4 * g + i] = w.q[g][r][i];
}

// Shared by the Q4_0 and Q8_0 __ref kernels: the codes are read as unsigned (Q4_0) or signed (Q8_0).
template <bool Unsigned, int Offset = 8>
void gemm_q8x8_ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                   int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_0, 32, 1>(
        nb, static_cast<const gemm_block_q8x8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q8x8& w, int16_t(&c)[8][32]) { gather_rows_32<Unsigned>(w, n_rows, c); },
        [](const gemm_block_q8x8& w, const int16_t(&c)[32], const block_q8_0& x, float da, const int32_t* s8,
           int r, float acc) {
            int sum = 0;
            for (int j = 0; j < 32; ++j) sum += c[j] * x.qs[j];
            if (Unsigned)  // weight = code - Offset; s8 holds -8 x the activation sum as two int16 halves
                sum +=
                    Offset / 8 * (static_cast<int16_t>(s8[0] & 0xFFFF) + static_cast<int16_t>(s8[0] >> 16));
            return std::fma(static_cast<float>(sum), w.d[r] * da, acc);
        });
}

// The walk every packer shares: for each of n_blocks blocks of an 8-row group, the packed block
// is zeroed (rows past n_rows stay zero) and fill(packed, r, block r) is called for each row.
template <class Out, class Src, class Fill>
void pack_groups(const uint8_t* w, size_t row_stride, int n_rows, int64_t n_blocks, void* dst, Fill&& fill) {
    auto* out = static_cast<Out*>(dst);
    for (int64_t b = 0; b < n_blocks; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r)
            fill(out[b], r, reinterpret_cast<const Src*>(w + row_stride * static_cast<size_t>(r))[b]);
    }
}

}  // namespace

void gemm_pack_q4_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q8x8, block_q4_0>(w, row_stride, n_rows, k / k_qk4_0, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = static_cast<int8_t>(q4_0_code(blk, c));
    });
}

// The walk of the codebook formats' packers (nf4, fp4_e2m1): 32-column chunk b of row r is chunk b % (G / 32) of its group
// b / (G / 32); fill(packed block, r, group, chunk) after the block is zeroed.
template <class Block, int G, class Fill>
void pack_chunks(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst, Fill fill) {
    constexpr int per = G / 32;
    auto* out = static_cast<gemm_block_q8x8*>(dst);
    for (int64_t b = 0; b < k / 32; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r)
            fill(out[b], r, reinterpret_cast<const Block*>(w + row_stride * static_cast<size_t>(r))[b / per],
                 static_cast<int>(b % per));
    }
}

// Asymmetric rows (weight d u + m) into gemm_block_q8x8m: Q4_1 (Q4_0's nibble order) and lowbit's
// int<Bits>_g<G>_asym (LSB-first codes; G / 32 packed blocks per group).
void gemm_pack_q4_1__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q8x8m, block_q4_1>(w, row_stride, n_rows, k / k_qk4_1, dst, [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        o.m[r] = fp16_to_f32(blk.m);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = static_cast<int8_t>(c < 16 ? blk.qs[c] & 15 : blk.qs[c - 16] >> 4);
    });
}
// lowbit's integer formats (kernels/int_formats.hpp): chunk b of each row with its group's scale (and
// minimum), the codes as the kernel takes them: Bits 8 symmetric u ^ 0x80 for Q8_0's kernel; other
// symmetric u + 8 - Off for Q4_0's (whose -8 leaves u - Off; unsigned codes skip Q8_0's sign trick);
// asymmetric u for the asymmetric kernel.
template <int Bits, int G, bool Asym, int Off>
void gemm_pack_int__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    using chunk = int_chunk<Bits, G, Asym>;
    using out_block = std::conditional_t<Asym, gemm_block_q8x8m, gemm_block_q8x8>;
    auto* out = static_cast<out_block*>(dst);
    for (int64_t b = 0; b < k / 32; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r) {
            const uint8_t* row = w + row_stride * static_cast<size_t>(r);
            out[b].d[r] = fp16_to_f32(chunk::d(row, b));
            if constexpr (Asym) out[b].m[r] = fp16_to_f32(chunk::m(row, b));
            const uint8_t* codes = chunk::codes(row, b);
            for (int c = 0; c < 32; ++c) {
                const int u = static_cast<int>(lbfmt::get_bits(codes, c, Bits));
                out[b].q[c / 4][r][c % 4] = static_cast<int8_t>(Bits == 8 ? u ^ 0x80 : Asym ? u : u + 8 - Off);
            }
        }
    }
}
#define LOWBIT_INST(name, B, G, A, O) \
    template void gemm_pack_int__ref<B, G, A, O>(const uint8_t*, size_t, int, int64_t, void*);
LOWBIT_INT_FORMATS(LOWBIT_INST)
#undef LOWBIT_INST

// 4-bit codebook rows (nf4: k_nf4_i8, scale d / 127; fp4_e2m1: k_fp4_e2m1_x2, scale d / 2: the per-row
// dots' weights) as the codebook's int8 values, for Q8_0's kernel.
template <class Block, int G, const int8_t* Table, int Div>
void gemm_pack_table4_ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<Block, G>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const auto& blk, int ch) {
        const uint8_t* qs = blk.qs + 16 * ch;
        o.d[r] = fp16_to_f32(blk.d) * (1.0f / Div);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = Table[(qs[c / 2] >> (4 * (c & 1))) & 15];
    });
}
void gemm_pack_nf4__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    gemm_pack_table4_ref<block_nf4, k_qk_nf4, k_nf4_i8, 127>(w, row_stride, n_rows, k, dst);
}
// nf4_dq: chunk b % 8 of super-block b / 8 with its sub-block's scale D * sc / 127 (dot_nf4_dq_q8_0__ref's).
void gemm_pack_nf4_dq__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<block_nf4_dq, k_qk_nf4_dq>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const auto& blk, int ch) {
        const uint8_t* qs = blk.qs + 16 * ch;
        o.d[r] = fp16_to_f32(blk.d) * static_cast<float>(blk.sc[ch / 2]) * (1.0f / 127.0f);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = k_nf4_i8[(qs[c / 2] >> (4 * (c & 1))) & 15];
    });
}
void gemm_pack_fp4_e2m1__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    gemm_pack_table4_ref<block_fp4_e2m1, k_qk_fp4, k_fp4_e2m1_x2, 2>(w, row_stride, n_rows, k, dst);
}

void gemm_pack_q5_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q8x8, block_q5_0>(w, row_stride, n_rows, k / k_qk5_0, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int c = 0; c < 32; ++c) {
            const int lo = c < 16 ? (blk.qs[c] & 0x0F) : (blk.qs[c - 16] >> 4);
            const int hi = (blk.qh[c / 8] >> (c % 8)) & 1;
            o.q[c / 4][r][c % 4] = static_cast<int8_t>(lo | hi << 4);
        }
    });
}

void gemm_pack_q8_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q8x8, block_q8_0>(w, row_stride, n_rows, k / k_qk8_0, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = blk.qs[c];
    });
}

void gemm_pack_q4_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q4_kx8, block_q4_k>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        o.dmin[r] = fp16_to_f32(blk.dmin);
        for (int s = 0; s < 8; ++s) {
            int sc, m;
            scale_min_k4(s, blk.scales, sc, m);
            o.sc[s][2 * r] = o.sc[s][2 * r + 1] = static_cast<int16_t>(sc);
            o.mn[s / 2][2 * r + s % 2] = static_cast<int16_t>(m);
        }
        for (int c = 0; c < k_qk_k; ++c) o.q[c / 4][r][c % 4] = static_cast<uint8_t>(q4_k_code(blk, c));
    });
}

void gemm_q4_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    gemm_q8x8_ref<true>(nb, pw, a, t0, n_tok, y, ldy, n_rows);
}

void gemm_q5_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    gemm_q8x8_ref<true, 16>(nb, pw, a, t0, n_tok, y, ldy, n_rows);
}

void gemm_q8_0_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    gemm_q8x8_ref<false>(nb, pw, a, t0, n_tok, y, ldy, n_rows);
}

namespace {
// Signed: codes c = u - 128 and sum u a = sum c a + 128 sum a (gemm_q8_1s_q8_1_8x4).
template <bool Signed>
void gemm_q8x8m_ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy,
                    int n_rows) {
    ref_gemm_walk<block_q8_1, 32, k_q8_1_sides>(
        nb, static_cast<const gemm_block_q8x8m*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q8x8m& w, int16_t(&c)[8][32]) { gather_rows_32(w, n_rows, c); },
        [](const gemm_block_q8x8m& w, const int16_t(&c)[32], const block_q8_1& x, float da, const int32_t* sa,
           int r, float acc) {
            int sum = 0;
            for (int j = 0; j < 32; ++j) sum += c[j] * x.qs[j];
            if constexpr (Signed) sum += 128 * sa[1];
            float s;
            std::memcpy(&s, &sa[0], 4);
            acc = std::fma(static_cast<float>(sum), w.d[r] * da, acc);
            return std::fma(w.m[r], s, acc);
        });
}
}  // namespace

void gemm_q4_1_q8_1_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    gemm_q8x8m_ref<false>(nb, pw, a, t0, n_tok, y, ldy, n_rows);
}
void gemm_q8_1s_q8_1_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                              int64_t ldy, int n_rows) {
    gemm_q8x8m_ref<true>(nb, pw, a, t0, n_tok, y, ldy, n_rows);
}

// sum over the sub-blocks s of Len columns of sc[s] * sum_j code_j a_j (row r of a packed 256-column block,
// its codes c gathered by gather_rows_256; codes as stored, offsets and mins applied by the caller): Len 32
// for Q4_K / Q5_K / IQ4_XS, 16 for Q3_K / Q2_K.
namespace {
template <int Len, class Block>
int scaled_subblock_sums(const Block& w, const int16_t (&c)[256], const block_q8_k& x, int r) {
    int sumi = 0;
    for (int s = 0; s < 256 / Len; ++s) {
        int sub = 0;
        for (int j = Len * s; j < Len * s + Len; ++j) sub += c[j] * x.qs[j];
        sumi += w.sc[s][2 * r] * sub;
    }
    return sumi;
}
}  // namespace

void gemm_q4_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_k, 256, k_q8_k_sides>(
        nb, static_cast<const gemm_block_q4_kx8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q4_kx8& w, int16_t(&c)[8][256]) { gather_rows_256(w, n_rows, c); },
        [](const gemm_block_q4_kx8& w, const int16_t(&c)[256], const block_q8_k& x, float da,
           const int32_t* bs, int r, float acc) {
            const int sumi = scaled_subblock_sums<32>(w, c, x, r);
            int summ = 0;
            for (int p = 0; p < 4; ++p) {
                const int32_t pair = bs[p];
                const int lo = static_cast<int16_t>(pair & 0xFFFF), hi = static_cast<int16_t>(pair >> 16);
                summ += w.mn[p][2 * r] * lo + w.mn[p][2 * r + 1] * hi;
            }
            const float m = (da * w.dmin[r]) * static_cast<float>(summ);
            return acc + std::fma(da * w.d[r], static_cast<float>(sumi), -m);
        });
}

void gemm_pack_q6_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q6_kx8, block_q6_k>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int s = 0; s < 16; ++s) o.sc[s][2 * r] = o.sc[s][2 * r + 1] = blk.scales[s];
        // Column c = 128 h + 32 m + l: low 4 bits from ql (byte 64 h + l + 32 (m & 1), high nibble for
        // m >= 2), 2 high bits from qh[32 h + l] bits 2m, 2m+1.
        for (int c = 0; c < k_qk_k; ++c) {
            const int h = c / 128, m = (c % 128) / 32, l = c % 32;
            const uint8_t lb = blk.ql[64 * h + l + 32 * (m & 1)];
            const int lo = m < 2 ? (lb & 0x0F) : (lb >> 4);
            const int hi = (blk.qh[32 * h + l] >> (2 * m)) & 3;
            o.q[c / 4][r][c % 4] = static_cast<uint8_t>(lo | hi << 4);
        }
    });
}

void gemm_q6_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_k, 256, k_q8_k_sides>(
        nb, static_cast<const gemm_block_q6_kx8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q6_kx8& w, int16_t(&c)[8][256]) { gather_rows_256(w, n_rows, c); },
        [](const gemm_block_q6_kx8& w, const int16_t(&c)[256], const block_q8_k& x, float da,
           const int32_t* cs, int r, float acc) {
            int sumi = 0;
            for (int s = 0; s < 16; ++s) {
                // sum (q - 32) a over the sub-block: the -32 x sum(a) comes from the side value.
                const int32_t corr = cs[4 + s];
                int sub = static_cast<int16_t>(corr & 0xFFFF) + static_cast<int16_t>(corr >> 16);
                for (int j = 16 * s; j < 16 * s + 16; ++j) sub += c[j] * x.qs[j];
                sumi += w.sc[s][2 * r] * sub;
            }
            return std::fma(da * w.d[r], static_cast<float>(sumi), acc);
        });
}

void gemm_q3_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_k, 256, k_q8_k_sides>(
        nb, static_cast<const gemm_block_q3_kx8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q3_kx8& w, int16_t(&c)[8][256]) { gather_rows_256(w, n_rows, c); },
        [](const gemm_block_q3_kx8& w, const int16_t(&c)[256], const block_q8_k& x, float da, const int32_t*,
           int r, float acc) {
            const int sumi = scaled_subblock_sums<16>(w, c, x, r);
            int corr = 0;  // sum_s sc[s] bs16[s]: the -4 offset of every code
            for (int s = 0; s < 16; ++s) corr += w.sp[s / 2][2 * r + s % 2] * x.bsums[s];
            return std::fma(da * w.d[r], static_cast<float>(sumi - 4 * corr), acc);
        });
}

void gemm_q5_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    gemm_q4_k_q8_k_8x4__ref(nb, pw, a, t0, n_tok, y, ldy, n_rows);  // same packed block, exact int sums
}

void gemm_pack_q5_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q4_kx8, block_q5_k>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        o.dmin[r] = fp16_to_f32(blk.dmin);
        for (int s = 0; s < 8; ++s) {
            int sc, m;
            scale_min_k4(s, blk.scales, sc, m);
            o.sc[s][2 * r] = o.sc[s][2 * r + 1] = static_cast<int16_t>(sc);
            o.mn[s / 2][2 * r + s % 2] = static_cast<int16_t>(m);
        }
        // Column c = 64 j + 32 h + l: nibble h of qs[32 j + l], 5th bit from qh[l] bit 2 j + h.
        for (int c = 0; c < k_qk_k; ++c) {
            const int j = c / 64, h = (c % 64) / 32, l = c % 32;
            const uint8_t v = blk.qs[32 * j + l];
            const int lo = h ? (v >> 4) : (v & 0x0F);
            const int hi = (blk.qh[l] >> (2 * j + h)) & 1;
            o.q[c / 4][r][c % 4] = static_cast<uint8_t>(lo | hi << 4);
        }
    });
}

void gemm_pack_q3_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q3_kx8, block_q3_k>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        int8_t sc[16];
        unpack_q3_k_scales(blk.scales, sc);
        // Column c = 128 n + 32 j + l: bits 2 j, 2 j + 1 of qs[32 n + l], high bit hmask[l] bit 4 n + j.
        put_q3_k_row(o, r, fp16_to_f32(blk.d), [&](int s) { return sc[s]; }, [&](int c) {
            const int n = c / 128, j = (c % 128) / 32, l = c % 32;
            const int lo = (blk.qs[32 * n + l] >> (2 * j)) & 3;
            const int hi = (blk.hmask[l] >> (4 * n + j)) & 1;
            return lo | hi << 2;
        });
    });
}

void gemm_pack_q2_k__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_q2_kx8, block_q2_k>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        // Column c = 128 n + 32 j + l: bits 2 j, 2 j + 1 of qs[32 n + l].
        put_q2_k_row(o, r, fp16_to_f32(blk.d), fp16_to_f32(blk.dmin), [&](int s) { return blk.scales[s]; }, [&](int c) {
            const int n = c / 128, j = (c % 128) / 32, l = c % 32;
            return (blk.qs[32 * n + l] >> (2 * j)) & 3;
        });
    });
}

void gemm_q2_k_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                             int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_k, 256, k_q8_k_sides>(
        nb, static_cast<const gemm_block_q2_kx8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_q2_kx8& w, int16_t(&c)[8][256]) { gather_rows_256(w, n_rows, c); },
        [](const gemm_block_q2_kx8& w, const int16_t(&c)[256], const block_q8_k& x, float da, const int32_t*,
           int r, float acc) {
            const int sumi = scaled_subblock_sums<16>(w, c, x, r);
            int summ = 0;
            for (int s = 0; s < 16; ++s) summ += w.mn[s / 2][2 * r + s % 2] * x.bsums[s];
            const float m = (da * w.dmin[r]) * static_cast<float>(summ);
            return acc + std::fma(da * w.d[r], static_cast<float>(sumi), -m);
        });
}

namespace {
// 32-weight blocks of 16 nibble bytes (as Q4_0: low nibbles columns 0..15, high 16..31) indexing a
// 16-entry int8 table, scale(block) (IQ4_NL, MXFP4).
template <class Block, const int8_t* Table, class Scale>
void pack_table4(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst, Scale scale) {
    pack_groups<gemm_block_q8x8, Block>(w, row_stride, n_rows, k / 32, dst, [&](auto& o, int r, const Block& blk) {
        o.d[r] = scale(blk);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = Table[c < 16 ? (blk.qs[c] & 0x0F) : (blk.qs[c - 16] >> 4)];
    });
}
}  // namespace

void gemm_pack_iq4_nl__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_table4<block_iq4_nl, k_iq4nl_values>(w, row_stride, n_rows, k, dst,
                                              [](const block_iq4_nl& b) { return fp16_to_f32(b.d); });
}

void gemm_pack_tq2_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<block_tq2_0, k_qk_k>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const block_tq2_0& blk, int ch) {
        o.d[r] = fp16_to_f32(blk.d);
        const int h = ch / 4, l = ch % 4;  // columns 32 ch + c = 128 h + 32 l + c: bits 2l of qs[32 h + c]
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = static_cast<int8_t>(((blk.qs[32 * h + c] >> (2 * l)) & 3) + 7);
    });
}

namespace {
// One IQ3 sub-block (iq3_subblock) -> the packed block's row r: codes = signed grid values.
inline void put_grid_codes(gemm_block_q8x8& o, int r, const iq3_subblock& sb) {
    o.d[r] = sb.d;
    for (int c = 0; c < 32; ++c) {
        const int v = iq_grid_lane(sb.g[c / 4], c % 4);
        o.q[c / 4][r][c % 4] = static_cast<int8_t>((sb.signs >> c) & 1 ? -v : v);
    }
}
}  // namespace

void gemm_pack_iq3_xxs__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<block_iq3_xxs, k_qk_k>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const block_iq3_xxs& blk, int s) {
        put_grid_codes(o, r, iq3_xxs_subblock(blk, s));
    });
}

void gemm_pack_iq3_s__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<block_iq3_s, k_qk_k>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const block_iq3_s& blk, int s) {
        put_grid_codes(o, r, iq3_s_subblock(blk, s));
    });
}

void gemm_pack_tq1_0__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_chunks<block_tq1_0, k_qk_k>(w, row_stride, n_rows, k, dst, [](auto& o, int r, const block_tq1_0& blk, int ch) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int c = 0; c < 32; ++c) o.q[c / 4][r][c % 4] = static_cast<int8_t>(tq1_0_code(blk, 32 * ch + c) + 7);
    });
}

void gemm_pack_mxfp4__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_table4<block_mxfp4, k_mxfp4_kvalues>(w, row_stride, n_rows, k, dst,
                                              [](const block_mxfp4& b) { return e8m0_to_f32_half(b.e); });
}

void gemm_iq4_nl_q8_0_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    gemm_q8x8_ref<false>(nb, pw, a, t0, n_tok, y, ldy, n_rows);  // signed codes, as Q8_0
}

void gemm_pack_iq4_xs__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_groups<gemm_block_iq4_xsx8, block_iq4_xs>(w, row_stride, n_rows, k / k_qk_k, dst,
                                   [](auto& o, int r, const auto& blk) {
        o.d[r] = fp16_to_f32(blk.d);
        for (int s = 0; s < 8; ++s) {
            const int ls = iq4_xs_scale(blk, s);
            o.sc[s][2 * r] = o.sc[s][2 * r + 1] = static_cast<int16_t>(ls - 32);
        }
        // Column c = 32 s + l: sub-block s's 16 bytes qs[16 s ..], low nibble for l < 16, high for l >= 16.
        for (int c = 0; c < k_qk_k; ++c) {
            const int s = c / 32, l = c % 32;
            const uint8_t v = blk.qs[16 * s + l % 16];
            o.q[c / 4][r][c % 4] = k_iq4nl_values[l < 16 ? (v & 0x0F) : (v >> 4)];
        }
    });
}

void gemm_iq4_xs_q8_k_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                               int64_t ldy, int n_rows) {
    ref_gemm_walk<block_q8_k, 256, k_q8_k_sides>(
        nb, static_cast<const gemm_block_iq4_xsx8*>(pw), a, t0, n_tok, y, ldy, n_rows,
        [&](const gemm_block_iq4_xsx8& w, int16_t(&c)[8][256]) { gather_rows_256(w, n_rows, c); },
        [](const gemm_block_iq4_xsx8& w, const int16_t(&c)[256], const block_q8_k& x, float da,
           const int32_t*, int r, float acc) {
            return std::fma(da * w.d[r], static_cast<float>(scaled_subblock_sums<32>(w, c, x, r)), acc);
        });
}

void gemm_act_sides(type act, const uint8_t* q, size_t row_bytes, int64_t n_tokens, int64_t n_blocks, float* d,
                    int32_t* s) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* row = q + static_cast<size_t>(t) * row_bytes;
        for (int64_t b = 0; b < n_blocks; ++b) {
            const int64_t i = t * n_blocks + b;
            if (act == type::q8_1) {
                const auto& blk = reinterpret_cast<const block_q8_1*>(row)[b];
                d[i] = fp16_to_f32(blk.d);
                const float sf = fp16_to_f32(blk.s);
                std::memcpy(&s[k_q8_1_sides * i], &sf, 4);
                int sum = 0;
                for (int j = 0; j < 32; ++j) sum += blk.qs[j];
                s[k_q8_1_sides * i + 1] = sum;
            } else if (act == type::q8_0) {
                const auto& blk = reinterpret_cast<const block_q8_0*>(row)[b];
                int even = 0, odd = 0;  // columns 4g, 4g+1 and 4g+2, 4g+3
                for (int j = 0; j < k_qk8_0; ++j) (j % 4 < 2 ? even : odd) += blk.qs[j];
                d[i] = fp16_to_f32(blk.d);
                s[i] = pack_i16_pair(-8 * even, -8 * odd);
            } else {
                const auto& blk = reinterpret_cast<const block_q8_k*>(row)[b];
                d[i] = blk.d;
                for (int p = 0; p < 4; ++p) {
                    const int lo = blk.bsums[4 * p] + blk.bsums[4 * p + 1];
                    const int hi = blk.bsums[4 * p + 2] + blk.bsums[4 * p + 3];
                    s[i * k_q8_k_sides + p] = pack_i16_pair(lo, hi);
                }
                for (int sb = 0; sb < 16; ++sb) {
                    int even = 0, odd = 0;
                    for (int j = 0; j < 16; ++j) (j % 4 < 2 ? even : odd) += blk.qs[16 * sb + j];
                    s[i * k_q8_k_sides + 4 + sb] = pack_i16_pair(-32 * even, -32 * odd);
                }
            }
        }
    }
}

gemm_act_layout gemm_act_layout_of(const gemm_q_kernels& kq, int64_t k) {
    gemm_act_layout l;
    l.n_blocks = kq.block > 0 ? k / kq.block : 0;
    l.row_bytes = kq.a16 ? sizeof(block_a16) * static_cast<size_t>(l.n_blocks) : row_bytes(kq.act, k);
    l.n_sides = kq.act == type::q8_k ? k_q8_k_sides : kq.act == type::q8_1 ? k_q8_1_sides : 1;
    return l;
}

quantize_act_fn gemm_act_quantizer(const gemm_q_kernels& kq, isa_tier tier) {
    if (!kq.a16) return quantize_act_kernel(kq.act);
    if (tier >= isa_tier::avx2) return quantize_act_a16__avx2;
    return LOWBIT_HAVE_SIMD128 && tier == isa_tier::generic ? quantize_act_a16__simd128
                                                            : quantize_act_a16__ref;
}

void gemm_act_token(const gemm_q_kernels& kq, quantize_act_fn quant, const float* x, int64_t k, uint8_t* q,
                    float* d, int32_t* s) {
    const gemm_act_layout l = gemm_act_layout_of(kq, k);
    quant(x, q, k);
    if (kq.a16) {  // the kernel reads the scales from d; block_a16 has no side values
        for (int64_t b = 0; b < l.n_blocks; ++b) d[b] = reinterpret_cast<const block_a16*>(q)[b].d;
        return;
    }
    gemm_act_sides(kq.act, q, l.row_bytes, 1, l.n_blocks, d, s);
}

gemm_q_kernels gemm_q_kernel(type t, isa_tier tier) {
    const bool avx2 = tier >= isa_tier::avx2;
    // The micro-kernels by tier: AVX-512 VNNI's EVEX vpdpbusd, AVX-VNNI's VEX one at tier avxvnni (tier
    // avx512 has neither: AVX2's).
    // The generic tier's 128-bit kernel for the __ref one where there is one (gemm_kernel_simd128; on
    // aarch64 its sdot build where dotprod_active()), else ref.
    const bool vnni512 = tier >= isa_tier::avx512vnni, vnni256 = tier == isa_tier::avxvnni;
    const bool simd128 = LOWBIT_HAVE_SIMD128 && tier == isa_tier::generic;
    const auto pick = [&](gemm_q_fn ref, gemm_q_fn avx2_fn, gemm_q_fn vex, gemm_q_fn evex) {
        if (vnni512 || vnni256 || avx2) return vnni512 ? evex : vnni256 ? vex : avx2_fn;
        if (!simd128) return ref;
#if LOWBIT_HAVE_SIMD128_DOTPROD
        if (dotprod_active()) return dot::gemm_kernel_simd128(ref);
#endif
        return gemm_kernel_simd128(ref);
    };
    const gemm_q_fn q4_0_gemm = pick(gemm_q4_0_q8_0_8x4__ref, gemm_q4_0_q8_0_8x4__avx2,
                                     gemm_q4_0_q8_0_8x4__avxvnni, gemm_q4_0_q8_0_8x4__avx512vnni);
    const gemm_q_fn q5_0_gemm = pick(gemm_q5_0_q8_0_8x4__ref, gemm_q5_0_q8_0_8x4__avx2,
                                     gemm_q5_0_q8_0_8x4__avxvnni, gemm_q5_0_q8_0_8x4__avx512vnni);
    const gemm_q_fn q8_0_gemm = pick(gemm_q8_0_q8_0_8x4__ref, gemm_q8_0_q8_0_8x4__avx2,
                                     gemm_q8_0_q8_0_8x4__avxvnni, gemm_q8_0_q8_0_8x4__avx512vnni);
    const gemm_q_fn iq4_nl_gemm =
        pick(gemm_iq4_nl_q8_0_8x4__ref, gemm_iq4_nl_q8_0_8x4__avx2, gemm_q8_0_q8_0_8x4__avxvnni,
             gemm_q8_0_q8_0_8x4__avx512vnni);  // Q8_0's arithmetic
    const gemm_q_fn q4_1_gemm = pick(gemm_q4_1_q8_1_8x4__ref, gemm_q4_1_q8_1_8x4__avx2,
                                     gemm_q4_1_q8_1_8x4__avx2, gemm_q4_1_q8_1_8x4__avx2);
    const gemm_q_fn q8_1s_gemm = pick(gemm_q8_1s_q8_1_8x4__ref, gemm_q8_1s_q8_1_8x4__avx2,
                                      gemm_q8_1s_q8_1_8x4__avx2, gemm_q8_1s_q8_1_8x4__avx2);
    // TQ2_0 / TQ1_0 as unsigned codes on Q4_0's kernel
    const auto two_bit_on_q4_0 = [avx2, q4_0_gemm](gemm_pack_fn pack_ref, gemm_pack_fn pack_avx2) {
        return gemm_q_kernels{type::q8_0, 32, sizeof(gemm_block_q8x8), avx2 ? pack_avx2 : pack_ref, q4_0_gemm};
    };
    // formats on Q8_0's kernel: its packed block, their own row packers
    const auto lowbit_on_q8_0 = [avx2, q8_0_gemm](gemm_pack_fn pack_ref, gemm_pack_fn pack_avx2) {
        return gemm_q_kernels{type::q8_0, 32, sizeof(gemm_block_q8x8), avx2 ? pack_avx2 : pack_ref, q8_0_gemm};
    };
    const gemm_q_fn i16_gemm =
        pick(gemm_i16_a16_8x4__ref, gemm_i16_a16_8x4__avx2, gemm_i16_a16_8x4__avx2, gemm_i16_a16_8x4__avx2);
    const auto fp8 = [avx2, simd128, i16_gemm](gemm_pack_fn pack_ref, gemm_pack_fn pack_avx2) {
        const gemm_pack_fn pack = avx2 ? pack_avx2 : simd128 ? gemm_pack_kernel_simd128(pack_ref) : pack_ref;
        return gemm_q_kernels{type::f32, 32, sizeof(gemm_block_i16x8), pack, i16_gemm, true};
    };
    gemm_q_kernels k;
    switch (t) {
        case type::q4_0:
            k = {type::q8_0, k_qk4_0, sizeof(gemm_block_q8x8), avx2 ? gemm_pack_q4_0__avx2 : gemm_pack_q4_0__ref,
                 q4_0_gemm};
            break;
        case type::q5_0:
            k = {type::q8_0, k_qk5_0, sizeof(gemm_block_q8x8), avx2 ? gemm_pack_q5_0__avx2 : gemm_pack_q5_0__ref,
                 q5_0_gemm};
            break;
        case type::q8_0:
            k = {type::q8_0, k_qk8_0, sizeof(gemm_block_q8x8), avx2 ? gemm_pack_q8_0__avx2 : gemm_pack_q8_0__ref,
                 q8_0_gemm};
            break;
        // lowbit's integer formats (int_formats.hpp) on Q8_0's / Q4_0's / the asymmetric kernel, from their
        // load-time tiles (unpack) or their rows (gemm_pack_int)
#define LOWBIT_CASE(name, B, G, A, O)                                                                          \
        case ext_type::name:                                                                               \
            k = {A ? type::q8_1 : type::q8_0, 32, A ? sizeof(gemm_block_q8x8m) : sizeof(gemm_block_q8x8),         \
                 avx2 ? gemm_pack_int__avx2<B, G, A, O> : gemm_pack_int__ref<B, G, A, O>,                         \
                 A ? (B == 8 ? q8_1s_gemm : q4_1_gemm) : B == 8 ? q8_0_gemm : q4_0_gemm};                      \
            break;
        LOWBIT_INT_FORMATS(LOWBIT_CASE)
#undef LOWBIT_CASE
        case ext_type::nf4: k = lowbit_on_q8_0(gemm_pack_nf4__ref, gemm_pack_nf4__avx2); break;
        case ext_type::fp4_e2m1: k = lowbit_on_q8_0(gemm_pack_fp4_e2m1__ref, gemm_pack_fp4_e2m1__avx2); break;
        case ext_type::nf4_dq: k = lowbit_on_q8_0(gemm_pack_nf4_dq__ref, gemm_pack_nf4_dq__avx2); break;
        // asymmetric: d u + m with Q8_1 activations (the AVX2 kernel at every SIMD tier)
        case type::q4_1:
            k = {type::q8_1, k_qk4_1, sizeof(gemm_block_q8x8m), avx2 ? gemm_pack_q4_1__avx2 : gemm_pack_q4_1__ref, q4_1_gemm};
            break;
        case type::tq2_0: k = two_bit_on_q4_0(gemm_pack_tq2_0__ref, gemm_pack_tq2_0__avx2); break;
        case type::tq1_0: k = two_bit_on_q4_0(gemm_pack_tq1_0__ref, gemm_pack_tq1_0__ref); break;
        case type::iq3_xxs: k = lowbit_on_q8_0(gemm_pack_iq3_xxs__ref, gemm_pack_iq3_xxs__avx2); break;
        case type::iq3_s: k = lowbit_on_q8_0(gemm_pack_iq3_s__ref, gemm_pack_iq3_s__avx2); break;
        case type::q4_k:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_q4_kx8),
                 avx2 ? gemm_pack_q4_k__avx2 : gemm_pack_q4_k__ref,
                 pick(gemm_q4_k_q8_k_8x4__ref, gemm_q4_k_q8_k_8x4__avx2, gemm_q4_k_q8_k_8x4__avxvnni,
                      gemm_q4_k_q8_k_8x4__avx512vnni)};
            break;
        case type::q6_k:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_q6_kx8),
                 avx2 ? gemm_pack_q6_k__avx2 : gemm_pack_q6_k__ref,
                 pick(gemm_q6_k_q8_k_8x4__ref, gemm_q6_k_q8_k_8x4__avx2, gemm_q6_k_q8_k_8x4__avxvnni,
                      gemm_q6_k_q8_k_8x4__avx512vnni)};
            break;
        case type::q5_k:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_q4_kx8),
                 avx2 ? gemm_pack_q5_k__avx2 : gemm_pack_q5_k__ref,
                 pick(gemm_q5_k_q8_k_8x4__ref, gemm_q5_k_q8_k_8x4__avx2, gemm_q4_k_q8_k_8x4__avxvnni,
                      gemm_q4_k_q8_k_8x4__avx512vnni)};
            break;
        case type::q3_k:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_q3_kx8),
                 avx2 ? gemm_pack_q3_k__avx2 : gemm_pack_q3_k__ref,
                 pick(gemm_q3_k_q8_k_8x4__ref, gemm_q3_k_q8_k_8x4__avx2, gemm_q3_k_q8_k_8x4__avx2,
                      gemm_q3_k_q8_k_8x4__avx2)};
            break;
        case type::q2_k:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_q2_kx8),
                 avx2 ? gemm_pack_q2_k__avx2 : gemm_pack_q2_k__ref,
                 pick(gemm_q2_k_q8_k_8x4__ref, gemm_q2_k_q8_k_8x4__avx2, gemm_q2_k_q8_k_8x4__avx2,
                      gemm_q2_k_q8_k_8x4__avx2)};
            break;
        case type::iq4_nl:
            k = {type::q8_0, k_qk4_nl, sizeof(gemm_block_q8x8), avx2 ? gemm_pack_iq4_nl__avx2 : gemm_pack_iq4_nl__ref,
                 iq4_nl_gemm};
            break;
        case type::mxfp4:  // signed codebook values, as IQ4_NL
            k = {type::q8_0, k_qk_mxfp4, sizeof(gemm_block_q8x8), avx2 ? gemm_pack_mxfp4__avx2 : gemm_pack_mxfp4__ref,
                 iq4_nl_gemm};
            break;
        case type::iq4_xs:
            k = {type::q8_k, k_qk_k, sizeof(gemm_block_iq4_xsx8),
                 avx2 ? gemm_pack_iq4_xs__avx2 : gemm_pack_iq4_xs__ref,
                 pick(gemm_iq4_xs_q8_k_8x4__ref, gemm_iq4_xs_q8_k_8x4__avx2, gemm_iq4_xs_q8_k_8x4__avx2,
                      gemm_iq4_xs_q8_k_8x4__avx2)};
            break;
        // FP8: int16 codes per row and block against 12-bit activations (gemm_q.hpp, "FP8 prompts"); the
        // AVX2 kernel at every AVX2 tier, the 128-bit one at generic
        case ext_type::fp8_e4m3: k = fp8(gemm_pack_fp8_e4m3__ref, gemm_pack_fp8_e4m3__avx2); break;
        case ext_type::fp8_e5m2: k = fp8(gemm_pack_fp8_e5m2__ref, gemm_pack_fp8_e5m2__avx2); break;
        case ext_type::fp8_e4m3_pt: k = fp8(gemm_pack_fp8_e4m3_pt__ref, gemm_pack_fp8_e4m3_pt__avx2); break;
        case ext_type::fp8_e5m2_pt: k = fp8(gemm_pack_fp8_e5m2_pt__ref, gemm_pack_fp8_e5m2_pt__avx2); break;
        default: break;
    }
    return k;
}

}  // namespace lowbit::kernels
