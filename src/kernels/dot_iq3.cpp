// Scalar reference dot products of IQ3_XXS / IQ3_S weight rows with Q8_K activation rows (math in
// dot_iq3.hpp). Each kernel forms the exact integer sum of a 256-block, then applies the float scales.
//
// Within sub-block s (32 weights), weight 8 l + 4 k + j (l 0..3, k 0..1, j 0..3) is byte j of grid
// point qs[8 s + 2 l + k] with the sign bit 4 k + j of sign byte l:
//   IQ3_XXS: sign byte l = k_iq_ksigns[(aux >> 7 l) & 127], scale 2 (aux >> 28) + 1, where aux is the
//            little-endian uint32 at qs[64 + 4 s];
//   IQ3_S:   the grid index has a 9th bit, bit 2 l + k of qh[s]; sign byte l = signs[4 s + l];
//            scale 2 sc + 1 with sc the nibble s % 2 of scales[s / 2].
#include "kernels/dot_iq3.hpp"

#include <cstring>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/iq_grids.hpp"

namespace lowbit::kernels {

namespace {

// sum_j G_j (-1)^sgn_j q_j over 4 weights: grid point `g` (4 unsigned bytes), sign bits `sgn` (bit j
// for byte j), activations q[0..3].
inline int group4(uint32_t g, unsigned sgn, const int8_t* q) {
    int s = 0;
    for (int j = 0; j < 4; ++j) {
        const int v = iq_grid_lane(g, j);
        s += ((sgn >> j) & 1u ? -v : v) * q[j];
    }
    return s;
}

}  // namespace

float dot_iq3_xxs_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq3_xxs*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        const uint8_t* qs = x[b].qs;
        int sumi = 0;
        for (int s = 0; s < 8; ++s) {
            uint32_t aux;
            std::memcpy(&aux, x[b].qs + k_qk_k / 4 + 4 * s, sizeof(aux));
            const int ls = 2 * static_cast<int>(aux >> 28) + 1;
            int sub = 0;
            for (int l = 0; l < 4; ++l) {
                const unsigned sgn = k_iq_ksigns[(aux >> (7 * l)) & 127];
                const int8_t* q = y[b].qs + 32 * s + 8 * l;
                sub += group4(k_iq3xxs_grid[qs[8 * s + 2 * l]], sgn, q);
                sub += group4(k_iq3xxs_grid[qs[8 * s + 2 * l + 1]], sgn >> 4, q + 4);
            }
            sumi += ls * sub;
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi);
    }
    return 0.25f * sum;
}

float dot_iq3_s_q8_k__ref(int64_t n, const void* w, const void* a) {
    const auto* x = static_cast<const block_iq3_s*>(w);
    const auto* y = static_cast<const block_q8_k*>(a);
    float sum = 0;
    for (int64_t b = 0; b < n / k_qk_k; ++b) {
        int sumi = 0;
        for (int s = 0; s < 8; ++s) {
            const int ls = 2 * ((x[b].scales[s / 2] >> (4 * (s % 2))) & 0xF) + 1;
            const uint8_t* qs = x[b].qs + 8 * s;
            const unsigned qh = x[b].qh[s];
            int sub = 0;
            for (int l = 0; l < 4; ++l) {
                const unsigned sgn = x[b].signs[4 * s + l];
                const int8_t* q = y[b].qs + 32 * s + 8 * l;
                const unsigned i0 = qs[2 * l] | (((qh >> (2 * l)) & 1u) << 8);
                const unsigned i1 = qs[2 * l + 1] | (((qh >> (2 * l + 1)) & 1u) << 8);
                sub += group4(k_iq3s_grid[i0], sgn, q);
                sub += group4(k_iq3s_grid[i1], sgn >> 4, q + 4);
            }
            sumi += ls * sub;
        }
        sum += y[b].d * fp16_to_f32(x[b].d) * static_cast<float>(sumi);
    }
    return sum;
}

}  // namespace lowbit::kernels
