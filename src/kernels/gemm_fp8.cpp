// FP8 prompt GEMM, reference tier (see gemm_q.hpp, "FP8 prompts"): 12-bit activations (block_a16),
// fp8 weights scaled per row and block into int16 (gemm_block_i16x8), an exact int32 sum per block.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/repack.hpp"

namespace lowbit::kernels {

void quantize_act_a16__ref(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_a16*>(dst);
    for (int64_t b = 0; b < n / 32; ++b) {
        const float* xb = x + 32 * b;
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
        const float id = amax > 0.0f ? 2047.0f / amax : 0.0f;
        y[b].d = amax / 2047.0f;
        for (int j = 0; j < 32; ++j) y[b].q[j] = static_cast<int16_t>(std::nearbyint(xb[j] * id));
    }
}

void fp8_block_to_i16__ref(bool e4m3, const uint8_t* codes, float d, float& d_out, int16_t* q_out, int q_stride) {
    float v[32], m = 0.0f;
    for (int j = 0; j < 32; ++j) {
        v[j] = e4m3 ? fp8_e4m3_to_f32(codes[j]) : fp8_e5m2_to_f32(codes[j]);
        m = std::max(m, std::fabs(v[j]));
    }
    if (m == 0.0f) {  // zero codes (signed zeros included)
        d_out = 0.0f;
        for (int j = 0; j < 32; ++j) q_out[q_stride * j] = 0;
        return;
    }
    const int sh = 14 - std::ilogb(m);
    d_out = d * std::ldexp(1.0f, -sh);
    for (int j = 0; j < 32; ++j) q_out[q_stride * j] = static_cast<int16_t>(std::nearbyint(std::ldexp(v[j], sh)));
}

namespace {

// Row r's 32 codes with scale d -> its d and codes in o (column j at q[j / 2][r][j % 2]).
void put_row(bool e4m3, const uint8_t* codes, float d, gemm_block_i16x8& o, int r) {
    int16_t q[32];
    fp8_block_to_i16__ref(e4m3, codes, d, o.d[r], q, 1);
    for (int j = 0; j < 32; ++j) o.q[j / 2][r][j % 2] = q[j];
}

template <bool E4M3, bool PerRow>
void pack_fp8_ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    for (int64_t b = 0; b < k / 32; ++b) {
        std::memset(&out[b], 0, sizeof(out[b]));
        for (int r = 0; r < n_rows; ++r) {
            const uint8_t* row = w + row_stride * static_cast<size_t>(r);
            if constexpr (PerRow) {
                float d;
                std::memcpy(&d, row, 4);
                put_row(E4M3, row + sizeof(row_header_fp8_pt) + 32 * b, d, out[b], r);
            } else {
                const auto& blk = reinterpret_cast<const block_fp8*>(row)[b];
                put_row(E4M3, blk.qs, fp16_to_f32(blk.d), out[b], r);
            }
        }
    }
}

template <bool E4M3, class Tile>
void unpack_fp8_ref(int64_t nb, const void* tiles, void* dst) {
    const auto* x = static_cast<const Tile*>(tiles);
    auto* out = static_cast<gemm_block_i16x8*>(dst);
    for (int64_t b = 0; b < nb; ++b)
        for (int r = 0; r < 8; ++r) {
            uint8_t codes[32];
            for (int j = 0; j < 32; ++j) codes[j] = static_cast<uint8_t>(x[b].qs[j / 4][r][j % 4]);
            float d;
            if constexpr (sizeof(x[b].d[0]) == 2) d = fp16_to_f32(x[b].d[r]);
            else d = x[b].d[r];
            put_row(E4M3, codes, d, out[b], r);
        }
}

}  // namespace

void gemm_pack_fp8_e4m3__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_ref<true, false>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e5m2__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_ref<false, false>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e4m3_pt__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_ref<true, true>(w, row_stride, n_rows, k, dst);
}
void gemm_pack_fp8_e5m2_pt__ref(const uint8_t* w, size_t row_stride, int n_rows, int64_t k, void* dst) {
    pack_fp8_ref<false, true>(w, row_stride, n_rows, k, dst);
}
void repack_unpack_fp8_e4m3__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_ref<true, tile_q8_0x8>(nb, tiles, dst);
}
void repack_unpack_fp8_e5m2__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_ref<false, tile_q8_0x8>(nb, tiles, dst);
}
void repack_unpack_fp8_e4m3_pt__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_ref<true, tile_q8_0x8f>(nb, tiles, dst);
}
void repack_unpack_fp8_e5m2_pt__ref(int64_t nb, const void* tiles, void* dst) {
    unpack_fp8_ref<false, tile_q8_0x8f>(nb, tiles, dst);
}

void gemm_i16_a16_8x4__ref(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                           int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_i16x8*>(pw);
    for (int t = 0; t < n_tok; ++t) {
        const auto* x = reinterpret_cast<const block_a16*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
        const float* da = a.d + (t0 + t) * a.n_blocks;
        for (int r = 0; r < n_rows; ++r) {
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; ++b) {
                int32_t sum = 0;
                for (int j = 0; j < 32; ++j) sum += int32_t(w[b].q[j / 2][r][j % 2]) * x[b].q[j];
                acc = std::fma(static_cast<float>(sum), w[b].d[r] * da[b], acc);
            }
            y[t * ldy + r] = acc;
        }
    }
}

}  // namespace lowbit::kernels
