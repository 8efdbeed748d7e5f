// Scalar reference dot products of lowbit's own formats (formats/lowbit_blocks.hpp, docs/formats.md
// "lowbit formats") with Q8_0 / Q8_1 activation rows. One activation block (32 values) is one "chunk";
// a weight group of G = 32/64/128 values (or the whole row, per channel) spans G/32 chunks, and every
// chunk contributes
//     d_w * d_a * sum_j w_code[j] * q_a[j]        (+ m_w * s_a for the asymmetric formats)
// with the integer sum exact. Codes are the LSB-first bit stream of the format (weight i of a group =
// bits [i*b, (i+1)*b) of its code bytes). The weight value per code:
//   int<b> sym:  u - 2^(b-1)          int<b> asym: u (the min enters through s_a = d_a sum q_a)
//   ternary:     u - 1                fp4 e2m1:    2 * e2m1(u), scale d / 2 (exact)
//   nf4, nf4_dq: k_nf4_i8[u] = round(127 * nf4[u]), scale d / 127 (the int8 codebook differs from
//                nf4[u] by at most 0.0037 * d per weight: dot.hpp)
//   fp8:         the float value of the code times the f32 activation, summed in float per chunk
//                (FP8 has no small-integer form; the activations are not quantized)
#include <cstring>
#include <type_traits>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "kernels/dot.hpp"

namespace lowbit::kernels {

const int8_t k_nf4_i8[16] = {-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127};

namespace {

// Chunk c of a row whose groups hold G weights (G = 0: the whole row of n) after a `header`-byte
// scale header: the start of its group and the index of its first weight within the group.
struct chunk_pos {
    const uint8_t* group;
    int64_t first;
};
inline chunk_pos locate(const uint8_t* row, int64_t n, int G, int bits, size_t header, int64_t c) {
    const int64_t g = G ? G : n;
    const int64_t i0 = 32 * c;
    return {row + (i0 / g) * static_cast<int64_t>(header + static_cast<size_t>(g * bits / 8)), i0 % g};
}

// Integer-code formats: weight = scale * (code - off), scale = d * mult.
template <int Bits, int G, bool Asym, int Off>
float dot_int_ref(int64_t n, const void* w, const void* a) {
    using act_block = std::conditional_t<Asym, block_q8_1, block_q8_0>;
    const auto* y = static_cast<const act_block*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    const size_t header = Asym ? 4 : 2;
    float sum = 0;
    for (int64_t c = 0; c < n / 32; ++c) {
        const chunk_pos p = locate(row, n, G, Bits, header, c);
        int sumi = 0;
        for (int j = 0; j < 32; ++j)
            sumi += (static_cast<int>(lbfmt::get_bits(p.group + header, p.first + j, Bits)) - Off) * y[c].qs[j];
        const float t = fp16_to_f32(lbfmt::load_u16(p.group)) * fp16_to_f32(y[c].d) * static_cast<float>(sumi);
        if constexpr (Asym)  // one add per block, as dot_q4_1_q8_1__ref (int4_g32_asym runs on Q4_1's tiles)
            sum += t + fp16_to_f32(lbfmt::load_u16(p.group + 2)) * fp16_to_f32(y[c].s);
        else
            sum += t;
    }
    return sum;
}

// 4-bit codebook formats: weight = scale * table[code].
template <int G>
float dot_table4_ref(int64_t n, const void* w, const void* a, const int8_t* table, float mult) {
    const auto* y = static_cast<const block_q8_0*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    float sum = 0;
    for (int64_t c = 0; c < n / 32; ++c) {
        const chunk_pos p = locate(row, n, G, 4, 2, c);
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += table[lbfmt::get_bits(p.group + 2, p.first + j, 4)] * y[c].qs[j];
        sum += fp16_to_f32(lbfmt::load_u16(p.group)) * mult * fp16_to_f32(y[c].d) * static_cast<float>(sumi);
    }
    return sum;
}

}  // namespace

template <int Bits, int G>
float dot_int_sym_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_int_ref<Bits, G, false, 1 << (Bits - 1)>(n, w, a);
}
template <int Bits, int G>
float dot_int_asym_q8_1__ref(int64_t n, const void* w, const void* a) {
    return dot_int_ref<Bits, G, true, 0>(n, w, a);
}
#define LOWBIT_INST(B, G)                                                                 \
    template float dot_int_sym_q8_0__ref<B, G>(int64_t n, const void* w, const void* a); \
    template float dot_int_asym_q8_1__ref<B, G>(int64_t n, const void* w, const void* a);
LOWBIT_INT_DOT_SHAPES(LOWBIT_INST)
#undef LOWBIT_INST

float dot_ternary_g64_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_int_ref<2, k_qk_ternary, false, 1>(n, w, a);
}

float dot_nf4_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_table4_ref<k_qk_nf4>(n, w, a, k_nf4_i8, 1.0f / 127.0f);
}

float dot_fp4_e2m1_q8_0__ref(int64_t n, const void* w, const void* a) {
    return dot_table4_ref<k_qk_fp4>(n, w, a, k_fp4_e2m1_x2, 0.5f);
}

// nf4_dq: sub-block j (64 weights) of a 256-block has scale D * sc[j].
float dot_nf4_dq_q8_0__ref(int64_t n, const void* w, const void* a) {
    const auto* y = static_cast<const block_q8_0*>(a);
    const auto* x = static_cast<const block_nf4_dq*>(w);
    float sum = 0;
    for (int64_t c = 0; c < n / 32; ++c) {
        const block_nf4_dq& b = x[c / 8];
        const int first = 32 * static_cast<int>(c % 8);
        int sumi = 0;
        for (int j = 0; j < 32; ++j) sumi += k_nf4_i8[lbfmt::get_bits(b.qs, first + j, 4)] * y[c].qs[j];
        const float scale = fp16_to_f32(b.d) * static_cast<float>(b.sc[first / 64]) * (1.0f / 127.0f);
        sum += scale * fp16_to_f32(y[c].d) * static_cast<float>(sumi);
    }
    return sum;
}

namespace {

// FP8 x f32 activations: per chunk of 32 the float sum of fp8(u_j) * x_j, then times the scale.
template <bool E4M3, bool PerRow>
float dot_fp8_ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const float*>(a);
    const auto* row = static_cast<const uint8_t*>(w);
    float row_scale = 0;
    if constexpr (PerRow) std::memcpy(&row_scale, row, 4);
    float sum = 0;
    for (int64_t c = 0; c < n / 32; ++c) {
        const uint8_t* codes = PerRow ? row + 4 + 32 * c : row + 34 * c + 2;
        const float d = PerRow ? row_scale : fp16_to_f32(lbfmt::load_u16(row + 34 * c));
        float s = 0;
        for (int j = 0; j < 32; ++j) s += (E4M3 ? fp8_e4m3_to_f32(codes[j]) : fp8_e5m2_to_f32(codes[j])) * x[32 * c + j];
        sum += d * s;
    }
    return sum;
}

}  // namespace

float dot_fp8_e4m3_f32__ref(int64_t n, const void* w, const void* a) { return dot_fp8_ref<true, false>(n, w, a); }
float dot_fp8_e5m2_f32__ref(int64_t n, const void* w, const void* a) { return dot_fp8_ref<false, false>(n, w, a); }
float dot_fp8_e4m3_pt_f32__ref(int64_t n, const void* w, const void* a) { return dot_fp8_ref<true, true>(n, w, a); }
float dot_fp8_e5m2_pt_f32__ref(int64_t n, const void* w, const void* a) { return dot_fp8_ref<false, true>(n, w, a); }

}  // namespace lowbit::kernels
