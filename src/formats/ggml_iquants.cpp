// llama.cpp's non-linear (IQ4_NL, IQ4_XS), lattice-codebook (IQ3_XXS, IQ3_S) and ternary (TQ1_0,
// TQ2_0) tensor types: scalar reference decoders and encoders.
//
// Bit layouts and the math of every type: docs/formats.md, section "ggml i-quants and ternary";
// block structs: formats/ggml_blocks.hpp; codebooks: formats/iq_grids.hpp.
//
// Decoders are bit-exact with ggml's dequantize_row_* (every multiply is done in the same order
// in float). Encoders are byte-exact with the encoders llama-quantize runs (ggml/src/ggml-quants.c;
// the i-quant algorithms are from Kawrakow's llama.cpp PRs #4773, #5676, #5747), checked against
// ../shared/ggml-vectors with and without an imatrix:
//   - TQ1_0 / TQ2_0: quantize_row_tq{1,2}_0_ref (importance is ignored, as there).
//   - IQ4_NL / IQ4_XS: quantize_iq4_nl / quantize_iq4_xs (7 scale trials per side), not the
//     trial-less quantize_row_iq4_nl_ref.
//   - IQ3_XXS / IQ3_S: quantize_row_iq3_xxs_impl / quantize_row_iq3_s_impl (signs folded into the
//     data, a 4-D lattice point per 4 weights with a neighbour search for off-grid points built as
//     iq3xs_init_impl does, a weighted least-squares scale per 32 weights). One deliberate
//     deviation: llama.cpp's IQ3_S encoder does not advance its qs/signs pointers past an all-zero
//     32-weight sub-block, which misplaces every later group of that super-block; we store them in
//     place (so rows with an all-zero sub-block inside a non-zero super-block differ, correctly).
//
// Each function handles one row of n weights; n must be a multiple of the block size (the caller
// checks with row_supported()). Kernels never throw.
#include "formats/ggml_iquants.hpp"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "core/half.hpp"
#include "formats/ggml_blocks.hpp"
#include "formats/iq_grids.hpp"

namespace lowbit {
namespace {

constexpr float k_group_max_eps = 1e-15f;
constexpr float k_group_max_eps_iq3_xxs = 1e-8f;

// Round to nearest, ties to even, via the 1.5 * 2^23 trick (as ggml's nearest_int); |x| < 2^22.
inline int nearest_int(float x) {
    const float v = x + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, sizeof(i));
    return (i & 0x007fffff) - 0x00400000;
}

// Index of the codebook entry nearest to x in the ascending table val[0..n); ties go up unless x is
// strictly closer to the lower one (as ggml's best_index_int8).
inline int best_index_int8(int n, const int8_t* val, float x) {
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    int ml = 0, mu = n - 1;
    while (mu - ml > 1) {
        const int mav = (ml + mu) / 2;
        if (x < val[mav]) mu = mav;
        else ml = mav;
    }
    return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

// ===================================== IQ4_NL / IQ4_XS =========================================

// One super-block of `sb` weights in sub-blocks of 32 (sb == 32: IQ4_NL, sb == 256: IQ4_XS).
// For each sub-block: try scales d = (itry + values[0]) / max, itry in [-ntry, ntry], keep the one
// maximising (sum w q x)^2 / (sum w q^2) (the weighted least-squares optimum). IQ4_XS then codes the
// sub-block scales as 6-bit multiples of d = -max_scale / 32 and re-picks the quants.
// x: [sb]; qw: [sb] importance or null; L: [sb] scratch; scales: [sb/32] scratch.
void quantize_iq4_superblock(int sb, const float* x, uint16_t* dh, uint8_t* q4, uint16_t* scales_h,
                             uint8_t* scales_l, float* scales, uint8_t* L, const float* qw, int ntry) {
    constexpr int bs = 32;
    const int8_t* values = k_iq4nl_values;
    float weight[bs];

    float sigma2 = 0;
    for (int j = 0; j < sb; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.f / sb;

    std::memset(q4, 0, sb / 2);
    *dh = f32_to_fp16(0.f);

    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < sb / bs; ++ib) {
        const float* xb = x + ib * bs;
        uint8_t* Lb = L + ib * bs;
        if (qw) {
            for (int j = 0; j < bs; ++j) weight[j] = qw[ib * bs + j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        } else {
            for (int j = 0; j < bs; ++j) weight[j] = xb[j] * xb[j];
        }
        float amax = 0, max = 0;
        for (int j = 0; j < bs; ++j) {
            const float ax = std::fabs(xb[j]);
            if (ax > amax) {
                amax = ax;
                max = xb[j];
            }
        }
        if (amax < k_group_max_eps) {
            scales[ib] = 0;
            continue;
        }
        float d = ntry > 0 ? -max / values[0] : max / values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < bs; ++j) {
            const float al = id * xb[j];
            const int l = best_index_int8(16, values, al);
            Lb[j] = static_cast<uint8_t>(l);
            const float q = values[l];
            const float w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; ++itry) {
            id = static_cast<float>(itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < bs; ++j) {
                const float al = id * xb[j];
                const int l = best_index_int8(16, values, al);
                const float q = values[l];
                const float w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        const float abs_d = std::fabs(d);
        if (abs_d > amax_scale) {
            amax_scale = abs_d;
            max_scale = d;
        }
    }

    if (sb / bs > 1) {
        *scales_h = 0;
        const float d = -max_scale / 32;
        *dh = f32_to_fp16(d);
        const float id = d != 0.f ? 1 / d : 0.f;
        for (int ib = 0; ib < sb / bs; ++ib) {
            int l = nearest_int(id * scales[ib]);
            l = std::max(-32, std::min(31, l));
            const float dl = d * static_cast<float>(l);
            const float idl = dl != 0.f ? 1 / dl : 0.f;
            uint8_t* Lb = L + ib * bs;
            const float* xb = x + ib * bs;
            for (int j = 0; j < bs; ++j) Lb[j] = static_cast<uint8_t>(best_index_int8(16, values, idl * xb[j]));
            l += 32;
            const uint8_t l_l = l & 0xf;
            const uint8_t l_h = static_cast<uint8_t>(l >> 4);
            if (ib % 2 == 0) scales_l[ib / 2] = l_l;
            else scales_l[ib / 2] |= static_cast<uint8_t>(l_l << 4);
            *scales_h |= static_cast<uint16_t>(l_h << 2 * (ib % 8));
        }
    } else {
        *dh = f32_to_fp16(scales[0]);
        if (ntry > 0) {
            const float id = scales[0] != 0.f ? 1 / scales[0] : 0;
            for (int j = 0; j < sb; ++j) L[j] = static_cast<uint8_t>(best_index_int8(16, values, id * x[j]));
        }
    }

    // Nibbles: byte j of each 32-weight group holds weight j (low) and weight j + 16 (high).
    for (int i = 0; i < sb / 32; ++i)
        for (int j = 0; j < 16; ++j)
            q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
}

// llama-quantize's number of extra scale trials per side for IQ4_NL / IQ4_XS.
constexpr int k_iq4_ntry = 7;

// ===================================== IQ3_XXS / IQ3_S =========================================

// Encoder-side view of a 4-D lattice codebook: every point as 4 odd levels 2*l+1 (l in 0..7), a map
// from the 12-bit code l0 | l1<<3 | l2<<6 | l3<<9 to the grid index, and for each code not on the
// grid the list of grid points at the nearest `nwant` distinct squared distances (as llama.cpp's
// iq3xs_init_impl: 2 shells for the 256-point grid, 3 for the 512-point grid).
struct iq3_codebook {
    std::vector<std::array<int8_t, 4>> points;  // [grid_size]
    std::vector<int> map;                       // [4096]: grid index, or -1 - offset into neighbours
    std::vector<uint16_t> neighbours;           // per off-grid code: count, then indices

    iq3_codebook(const uint32_t* grid, int grid_size, bool xxs) {
        points.resize(grid_size);
        map.assign(4096, -1);
        for (int k = 0; k < grid_size; ++k) {
            int code = 0;
            for (int i = 0; i < 4; ++i) {
                const uint8_t v = iq_grid_lane(grid[k], i);
                const int l = xxs ? v / 8 : (v - 1) / 2;  // xxs lanes: 4,12,..,52,62; s lanes: 1,3,..,15
                points[k][i] = static_cast<int8_t>(2 * l + 1);
                code |= l << 3 * i;
            }
            map[code] = k;
        }
        const int nwant = grid_size == 256 ? 2 : 3;
        std::vector<std::pair<int, int>> dist(grid_size);
        for (int code = 0; code < 4096; ++code) {
            if (map[code] >= 0) continue;
            int pos[4];
            for (int i = 0; i < 4; ++i) pos[i] = 2 * ((code >> 3 * i) & 7) + 1;
            for (int j = 0; j < grid_size; ++j) {
                int d2 = 0;
                for (int i = 0; i < 4; ++i) d2 += (points[j][i] - pos[i]) * (points[j][i] - pos[i]);
                dist[j] = {d2, j};
            }
            std::sort(dist.begin(), dist.end());
            map[code] = -1 - static_cast<int>(neighbours.size());
            const size_t count_at = neighbours.size();
            neighbours.push_back(0);
            int d2 = dist[0].first, nhave = 1, n = 0;
            for (int j = 0; j < grid_size; ++j) {
                if (dist[j].first > d2) {
                    if (nhave == nwant) break;
                    d2 = dist[j].first;
                    ++nhave;
                }
                neighbours.push_back(static_cast<uint16_t>(dist[j].second));
                ++n;
            }
            neighbours[count_at] = static_cast<uint16_t>(n);
        }
    }

    // Among the neighbours of an off-grid code, the grid point minimising sum w (scale*q - x)^2;
    // writes its levels to L[0..4) and returns its index.
    int best_neighbour(int code, const float* xval, const float* weight, float scale, int8_t* L) const {
        const uint16_t* nb = neighbours.data() + (-1 - map[code]);
        float best_d2 = FLT_MAX;
        int best = nb[1];
        for (int j = 1; j <= nb[0]; ++j) {
            const auto& pg = points[nb[j]];
            float d2 = 0;
            for (int i = 0; i < 4; ++i) {
                const float q = pg[i];
                const float diff = scale * q - xval[i];
                d2 += weight[i] * diff * diff;
            }
            if (d2 < best_d2) {
                best_d2 = d2;
                best = nb[j];
            }
        }
        for (int i = 0; i < 4; ++i) L[i] = static_cast<int8_t>((points[best][i] - 1) / 2);
        return best;
    }
};

const iq3_codebook& iq3xxs_codebook() {
    static const iq3_codebook cb(k_iq3xxs_grid, 256, true);
    return cb;
}
const iq3_codebook& iq3s_codebook() {
    static const iq3_codebook cb(k_iq3s_grid, 512, false);
    return cb;
}

// Result of quantizing one sub-block of 32 weights onto a lattice codebook.
struct iq3_subblock {
    float scale = 0;       // >= 0; w ~ scale * (2*L+1) * sign
    int8_t L[32] = {};     // levels 0..7, every 4 of them a grid point
    uint8_t signs[4] = {}; // 8 sign bits per 8 weights (bit i set = negative)
    int grid_index[8] = {};
};

// The sub-block search shared by IQ3_XXS and IQ3_S. xb: [32] weights; weight: [32] error weights.
// `even_signs` (IQ3_XXS): each group of 8 must have an even number of minus signs (the 8th sign is
// implied), so when it is odd the sign of the least important weight is flipped instead.
// Scales tried: id = (15 + 0.2*is) / max for is in [-n_scales, n_scales].
// Returns false (and leaves `out` zero) for an all-zero sub-block, whose bytes the caller leaves zero.
bool quantize_iq3_subblock(const iq3_codebook& cb, const float* xb, const float* weight, bool even_signs,
                           float max_eps, int n_scales, bool init_on_grid, bool requantize_all,
                           iq3_subblock& out) {
    constexpr int k_max_q = 8;
    float xval[32], waux[32];
    int8_t Laux[32];
    bool is_on_grid[8], is_on_grid_aux[8];
    for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
    for (int k = 0; k < 4; ++k) {
        int nflip = 0;
        uint8_t s = 0;
        for (int i = 0; i < 8; ++i) {
            if (xb[8 * k + i] >= 0) {
                xval[8 * k + i] = xb[8 * k + i];
            } else {
                xval[8 * k + i] = -xb[8 * k + i];
                ++nflip;
                s |= static_cast<uint8_t>(1 << i);
            }
        }
        if (even_signs && nflip % 2) {
            int imin = 0;
            float min = weight[8 * k] * xb[8 * k] * xb[8 * k];
            for (int i = 1; i < 8; ++i) {
                const float ax = weight[8 * k + i] * xb[8 * k + i] * xb[8 * k + i];
                if (ax < min) {
                    min = ax;
                    imin = i;
                }
            }
            xval[8 * k + imin] = -xval[8 * k + imin];
            s ^= static_cast<uint8_t>(1 << imin);
        }
        out.signs[k] = even_signs ? (s & 127) : s;
    }
    float max = xval[0];
    for (int i = 1; i < 32; ++i) max = std::max(max, xval[i]);
    std::memset(out.L, 0, sizeof(out.L));
    out.scale = 0;
    if (max < max_eps || max == 0.f) return false;

    float best = 0;
    float scale = max / (2 * k_max_q - 1);
    for (int k = 0; k < 8; ++k) is_on_grid[k] = init_on_grid;
    for (int is = -n_scales; is <= n_scales; ++is) {
        const float id = (2 * k_max_q - 1 + is * 0.2f) / max;
        const float this_scale = 1 / id;
        for (int k = 0; k < 8; ++k) {
            for (int i = 0; i < 4; ++i) {
                const int l = nearest_int(0.5f * (id * xval[4 * k + i] - 1));
                Laux[4 * k + i] = static_cast<int8_t>(std::max(0, std::min(k_max_q - 1, l)));
            }
            int u = 0;
            for (int i = 0; i < 4; ++i) u |= Laux[4 * k + i] << 3 * i;
            is_on_grid_aux[k] = cb.map[u] >= 0;
            if (!is_on_grid_aux[k]) cb.best_neighbour(u, xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k);
        }
        float sumqx = 0, sumq2 = 0;
        for (int i = 0; i < 32; ++i) {
            const float w = weight[i];
            const float q = 2 * Laux[i] + 1;
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            std::memcpy(out.L, Laux, 32);
            std::copy(is_on_grid_aux, is_on_grid_aux + 8, is_on_grid);
        }
    }
    int n_not_on_grid = 0;
    for (int k = 0; k < 8; ++k) n_not_on_grid += !is_on_grid[k];
    if (n_not_on_grid > 0 && scale > 0) {
        // Re-pick the off-grid groups at the final scale, then refit the scale.
        const float id = 1 / scale;
        for (int k = 0; k < 8; ++k) {
            if (!requantize_all && is_on_grid[k]) continue;
            int u = 0;
            for (int i = 0; i < 4; ++i) {
                int l = nearest_int(0.5f * (id * xval[4 * k + i] - 1));
                l = std::max(0, std::min(k_max_q - 1, l));
                u |= l << 3 * i;
            }
            int gi = cb.map[u];
            if (gi < 0) gi = cb.best_neighbour(u, xval + 4 * k, waux + 4 * k, scale, out.L + 4 * k);
            for (int i = 0; i < 4; ++i) out.L[4 * k + i] = static_cast<int8_t>((cb.points[gi][i] - 1) / 2);
        }
        float sumqx = 0, sumq2 = 0;
        for (int i = 0; i < 32; ++i) {
            const float w = weight[i];
            const float q = 2 * out.L[i] + 1;
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        if (sumq2 > 0) scale = sumqx / sumq2;
    }
    if (scale < 0) {
        // Cannot happen with non-negative weights; keep the stored (unsigned) scale valid anyway.
        scale = -scale;
        for (int k = 0; k < 4; ++k) out.signs[k] = even_signs ? (~out.signs[k] & 127) : ~out.signs[k];
    }
    for (int k = 0; k < 8; ++k) {
        int u = 0;
        for (int i = 0; i < 4; ++i) u |= out.L[4 * k + i] << 3 * i;
        out.grid_index[k] = cb.map[u];  // on the grid by construction
        if (out.grid_index[k] < 0) out.grid_index[k] = 0;  // unreachable; keep the block decodable
    }
    out.scale = scale;
    return true;
}

// Error weights of one 32-weight sub-block: importance * sqrt(sigma2 + x^2) with an imatrix,
// x^2 without (as llama.cpp's i-quant encoders).
void iq3_weights(const float* xb, const float* qw, float sigma2, float* weight) {
    if (qw) {
        for (int i = 0; i < 32; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    } else {
        for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    }
}

float superblock_sigma2(const float* xbl) {
    float sumx2 = 0;
    for (int i = 0; i < k_qk_k; ++i) sumx2 += xbl[i] * xbl[i];
    return 2 * sumx2 / k_qk_k;
}

}  // namespace

// ===================================== decoders ================================================

void dequantize_row_iq4_nl__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq4_nl*>(src);
    for (int64_t i = 0; i < n / k_qk4_nl; ++i) {
        const float d = fp16_to_f32(x[i].d);
        float* y = dst + i * k_qk4_nl;
        for (int j = 0; j < k_qk4_nl / 2; ++j) {
            y[j] = d * k_iq4nl_values[x[i].qs[j] & 0xf];
            y[j + k_qk4_nl / 2] = d * k_iq4nl_values[x[i].qs[j] >> 4];
        }
    }
}

void dequantize_row_iq4_xs__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq4_xs*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const uint8_t* qs = x[i].qs;
        float* y = dst + i * k_qk_k;
        for (int ib = 0; ib < k_qk_k / 32; ++ib) {
            const int ls = iq4_xs_scale(x[i], ib);
            const float dl = d * static_cast<float>(ls - 32);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * k_iq4nl_values[qs[j] & 0xf];
                y[j + 16] = dl * k_iq4nl_values[qs[j] >> 4];
            }
            y += 32;
            qs += 16;
        }
    }
}

void dequantize_row_iq3_xxs__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq3_xxs*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        const uint8_t* qs = x[i].qs;
        const uint8_t* scales_and_signs = x[i].qs + k_qk_k / 4;
        float* y = dst + i * k_qk_k;
        for (int ib32 = 0; ib32 < k_qk_k / 32; ++ib32) {
            uint32_t aux32;
            std::memcpy(&aux32, scales_and_signs + 4 * ib32, sizeof(aux32));
            const float db = d * (0.5f + static_cast<float>(aux32 >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l) {
                const uint8_t signs = k_iq_ksigns[(aux32 >> 7 * l) & 127];
                const uint32_t g1 = k_iq3xxs_grid[qs[2 * l + 0]];
                const uint32_t g2 = k_iq3xxs_grid[qs[2 * l + 1]];
                for (int j = 0; j < 4; ++j) {
                    y[j + 0] = db * iq_grid_lane(g1, j) * (signs & (1u << j) ? -1.f : 1.f);
                    y[j + 4] = db * iq_grid_lane(g2, j) * (signs & (1u << (j + 4)) ? -1.f : 1.f);
                }
                y += 8;
            }
            qs += 8;
        }
    }
}

void dequantize_row_iq3_s__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_iq3_s*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        float* y = dst + i * k_qk_k;
        for (int ib32 = 0; ib32 < k_qk_k / 32; ++ib32) {
            const int sc = (x[i].scales[ib32 / 2] >> 4 * (ib32 % 2)) & 0xf;
            const float db = d * static_cast<float>(1 + 2 * sc);
            const uint8_t* qs = x[i].qs + 8 * ib32;
            const uint8_t qh = x[i].qh[ib32];
            const uint8_t* signs = x[i].signs + 4 * ib32;
            for (int l = 0; l < 4; ++l) {
                // 9-bit grid index: 8 bits in qs, the 9th is bit (2l) / (2l+1) of qh.
                const uint32_t g1 = k_iq3s_grid[qs[2 * l + 0] | ((qh << (8 - 2 * l)) & 256)];
                const uint32_t g2 = k_iq3s_grid[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)];
                for (int j = 0; j < 4; ++j) {
                    y[j + 0] = db * iq_grid_lane(g1, j) * (signs[l] & (1u << j) ? -1.f : 1.f);
                    y[j + 4] = db * iq_grid_lane(g2, j) * (signs[l] & (1u << (j + 4)) ? -1.f : 1.f);
                }
                y += 8;
            }
        }
    }
}

void dequantize_row_tq1_0__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_tq1_0*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        for (int c = 0; c < k_qk_k; ++c) dst[i * k_qk_k + c] = static_cast<float>(tq1_0_code(x[i], c) - 1) * d;
    }
}

void dequantize_row_tq2_0__ref(const void* src, float* dst, int64_t n) {
    const auto* x = static_cast<const block_tq2_0*>(src);
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = fp16_to_f32(x[i].d);
        float* y = dst + i * k_qk_k;
        for (size_t j = 0; j < sizeof(block_tq2_0::qs); j += 32)
            for (int l = 0; l < 4; ++l)
                for (int m = 0; m < 32; ++m)
                    *y++ = static_cast<float>(((x[i].qs[j + m] >> (2 * l)) & 3) - 1) * d;
    }
}

// ===================================== encoders ================================================

void quantize_row_iq4_nl__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_iq4_nl*>(dst);
    uint8_t L[k_qk4_nl];
    float scale;
    uint16_t unused_h;
    for (int64_t ib = 0; ib < n / k_qk4_nl; ++ib) {
        const float* qw = importance ? importance + k_qk4_nl * ib : nullptr;
        quantize_iq4_superblock(k_qk4_nl, src + k_qk4_nl * ib, &y[ib].d, y[ib].qs, &unused_h, nullptr, &scale, L,
                                qw, k_iq4_ntry);
    }
}

void quantize_row_iq4_xs__ref(const float* src, void* dst, int64_t n, const float* importance) {
    auto* y = static_cast<block_iq4_xs*>(dst);
    uint8_t L[k_qk_k];
    float scales[k_qk_k / 32];
    for (int64_t ib = 0; ib < n / k_qk_k; ++ib) {
        const float* qw = importance ? importance + k_qk_k * ib : nullptr;
        quantize_iq4_superblock(k_qk_k, src + k_qk_k * ib, &y[ib].d, y[ib].qs, &y[ib].scales_h, y[ib].scales_l,
                                scales, L, qw, k_iq4_ntry);
    }
}

void quantize_row_iq3_xxs__ref(const float* src, void* dst, int64_t n, const float* importance) {
    const iq3_codebook& cb = iq3xxs_codebook();
    auto* y = static_cast<block_iq3_xxs*>(dst);
    float weight[32];
    float scales[k_qk_k / 32];
    iq3_subblock sub;
    for (int64_t ibl = 0; ibl < n / k_qk_k; ++ibl) {
        const float* xbl = src + k_qk_k * ibl;
        block_iq3_xxs& b = y[ibl];
        std::memset(&b, 0, sizeof(b));
        uint32_t scales_and_signs[k_qk_k / 32] = {};
        const float sigma2 = superblock_sigma2(xbl);
        float max_scale = 0;
        for (int ib = 0; ib < k_qk_k / 32; ++ib) {
            const float* xb = xbl + 32 * ib;
            iq3_weights(xb, importance ? importance + k_qk_k * ibl + 32 * ib : nullptr, sigma2, weight);
            const bool nonzero =
                quantize_iq3_subblock(cb, xb, weight, true, k_group_max_eps_iq3_xxs, 15, true, false, sub);
            scales[ib] = sub.scale;
            if (!nonzero) continue;  // grid index 0, no signs, scale code 0
            for (int k = 0; k < 8; ++k) b.qs[8 * ib + k] = static_cast<uint8_t>(sub.grid_index[k]);
            scales_and_signs[ib] = sub.signs[0] | (sub.signs[1] << 7) | (sub.signs[2] << 14) | (sub.signs[3] << 21);
            max_scale = std::max(max_scale, sub.scale);
        }
        if (max_scale == 0.f) {
            std::memset(&b, 0, sizeof(b));
            continue;
        }
        // 4-bit sub-block scales s: scale ~ d * (2s + 1) / 2 (the decoder's (0.5 + s) * 0.5 * d with
        // the grid's levels 4..62 being 4x the encoder's 1..15).
        const float d = max_scale / 31;
        b.d = f32_to_fp16(d * 1.0125f);  // llama.cpp's fudge factor (a small measured improvement)
        const float id = 1 / d;
        for (int ib = 0; ib < k_qk_k / 32; ++ib) {
            int l = nearest_int(0.5f * (id * scales[ib] - 1));
            l = std::max(0, std::min(15, l));
            scales_and_signs[ib] |= static_cast<uint32_t>(l) << 28;
        }
        std::memcpy(b.qs + k_qk_k / 4, scales_and_signs, sizeof(scales_and_signs));
    }
}

void quantize_row_iq3_s__ref(const float* src, void* dst, int64_t n, const float* importance) {
    const iq3_codebook& cb = iq3s_codebook();
    auto* y = static_cast<block_iq3_s*>(dst);
    float weight[32];
    float scales[k_qk_k / 32];
    iq3_subblock sub;
    for (int64_t ibl = 0; ibl < n / k_qk_k; ++ibl) {
        const float* xbl = src + k_qk_k * ibl;
        block_iq3_s& b = y[ibl];
        std::memset(&b, 0, sizeof(b));
        const float sigma2 = superblock_sigma2(xbl);
        float max_scale = 0;
        for (int ib = 0; ib < k_qk_k / 32; ++ib) {
            const float* xb = xbl + 32 * ib;
            iq3_weights(xb, importance ? importance + k_qk_k * ibl + 32 * ib : nullptr, sigma2, weight);
            const bool nonzero = quantize_iq3_subblock(cb, xb, weight, false, 0.f, 9, false, true, sub);
            scales[ib] = sub.scale;
            if (!nonzero) continue;
            for (int k = 0; k < 8; ++k) {
                b.qs[8 * ib + k] = static_cast<uint8_t>(sub.grid_index[k] & 255);
                b.qh[ib] |= static_cast<uint8_t>((sub.grid_index[k] >> 8) << k);
            }
            std::memcpy(b.signs + 4 * ib, sub.signs, 4);
            max_scale = std::max(max_scale, sub.scale);
        }
        if (max_scale == 0.f) continue;
        // 4-bit sub-block scales s: scale ~ d * (2s + 1).
        const float d = max_scale / 31;
        b.d = f32_to_fp16(d * 1.033f);  // llama.cpp's fudge factor
        const float id = 1 / d;
        for (int ib = 0; ib < k_qk_k / 32; ib += 2) {
            int l1 = nearest_int(0.5f * (id * scales[ib + 0] - 1));
            l1 = std::max(0, std::min(15, l1));
            int l2 = nearest_int(0.5f * (id * scales[ib + 1] - 1));
            l2 = std::max(0, std::min(15, l2));
            b.scales[ib / 2] = static_cast<uint8_t>(l1 | (l2 << 4));
        }
    }
}

namespace {

// Ternary code of one weight: round(x / amax) + 1 in {0, 1, 2} (ties away from zero, as lroundf).
inline int ternary(float x, float id) { return static_cast<int>(std::lround(x * id)) + 1; }

// Packs base-3 digits (first digit most significant) into a byte as ceil(v * 256 / 243), so that
// the decoder can read digit n as ((b * 3^n mod 256) * 3) >> 8.
inline uint8_t pack_trits(int v) { return static_cast<uint8_t>((v * 256 + (243 - 1)) / 243); }

float absmax_256(const float* x) {
    float amax = 0.0f;
    for (int j = 0; j < k_qk_k; ++j) amax = std::max(amax, std::fabs(x[j]));
    return amax;
}

}  // namespace

void quantize_row_tq1_0__ref(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    auto* y = static_cast<block_tq1_0*>(dst);
    constexpr int k_qs = sizeof(block_tq1_0::qs);
    constexpr int k_qh = sizeof(block_tq1_0::qh);
    const float* x = src;
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = absmax_256(x);
        const float id = d != 0.f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        // Bytes 0..31: 5 trits each from weights m, m+32, ..., m+128 (first = most significant).
        for (int j = 0; j < k_qs - k_qs % 32; j += 32) {
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int t = 0; t < 5; ++t) q = static_cast<uint8_t>(q * 3 + ternary(x[m + t * 32], id));
                y[i].qs[j + m] = pack_trits(q);
            }
            x += 5 * 32;
        }
        // Bytes 32..47: 5 trits each from weights m, m+16, ..., m+64 of the next 80.
        for (int j = k_qs - k_qs % 32; j < k_qs; j += 16) {
            for (int m = 0; m < 16; ++m) {
                uint8_t q = 0;
                for (int t = 0; t < 5; ++t) q = static_cast<uint8_t>(q * 3 + ternary(x[m + t * 16], id));
                y[i].qs[j + m] = pack_trits(q);
            }
            x += 5 * 16;
        }
        // qh: 4 trits each from the last 16 weights (j, j+4, j+8, j+12), then a zero 5th trit.
        for (int j = 0; j < k_qh; ++j) {
            uint8_t q = 0;
            for (int t = 0; t < 4; ++t) q = static_cast<uint8_t>(q * 3 + ternary(x[j + t * k_qh], id));
            q = static_cast<uint8_t>(q * 3);
            y[i].qh[j] = pack_trits(q);
        }
        x += 4 * k_qh;
    }
}

void quantize_row_tq2_0__ref(const float* src, void* dst, int64_t n, const float* /*importance*/) {
    auto* y = static_cast<block_tq2_0*>(dst);
    const float* x = src;
    for (int64_t i = 0; i < n / k_qk_k; ++i) {
        const float d = absmax_256(x);
        const float id = d != 0.f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        // Byte j + m of each 32-byte chunk: weights m, m+32, m+64, m+96 of the chunk's 128 in bit
        // pairs 0-1, 2-3, 4-5, 6-7.
        for (size_t j = 0; j < sizeof(block_tq2_0::qs); j += 32) {
            for (int m = 0; m < 32; ++m) {
                uint8_t q = 0;
                for (int t = 0; t < 4; ++t) q = static_cast<uint8_t>(q + ((ternary(x[m + t * 32], id) & 3) << (2 * t)));
                y[i].qs[j + m] = q;
            }
            x += 4 * 32;
        }
    }
}

}  // namespace lowbit
