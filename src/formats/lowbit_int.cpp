// INT8/4/3/2 with a group of 32/64/128 weights or one group per row (per channel), symmetric or
// asymmetric: scalar reference codecs. Bit layout and math: lowbit_blocks.hpp, docs/formats.md.
//   symmetric:  w = d * q,      q in [-(2^(b-1)-1), 2^(b-1)-1], stored as u = q + 2^(b-1)
//   asymmetric: w = d * u + m,  u in [0, 2^b - 1]
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"

namespace lowbit {
namespace {

using namespace lbfmt;

// Encodes one group of g weights, of which the first nv are real (the rest are padding = 0).
// d/m: fp16 outputs (m unused when symmetric); qs: ceil(g*Bits/8) zeroed bytes.
template <int Bits, bool Asym>
void encode_group(const float* x, int64_t nv, int64_t g, uint16_t* d_out, uint16_t* m_out, uint8_t* qs) {
    if constexpr (!Asym) {
        constexpr int half = 1 << (Bits - 1);
        constexpr int qmax = half - 1;
        float amax = 0.0f;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(sanitize(x[i])));
        const uint16_t h = amax > 0.0f ? fp16_scale_up(amax / qmax, static_cast<float>(qmax), amax) : 0;
        const float d = fp16_to_f32(h);
        *d_out = h;
        for (int64_t i = 0; i < g; ++i) {
            const float v = i < nv ? sanitize(x[i]) : 0.0f;
            int q = 0;
            if (d > 0.0f) q = static_cast<int>(std::clamp(std::nearbyint(v / d), -float(qmax), float(qmax)));
            put_bits(qs, i, Bits, static_cast<uint32_t>(q + half));
        }
    } else {
        constexpr int qmax = (1 << Bits) - 1;
        float mn = 0.0f, mx = 0.0f;
        if (nv > 0) mn = mx = sanitize(x[0]);
        for (int64_t i = 1; i < nv; ++i) {
            const float v = sanitize(x[i]);
            mn = std::min(mn, v);
            mx = std::max(mx, v);
        }
        const uint16_t hm = fp16_round_down(mn);
        const float m = fp16_to_f32(hm);
        const float range = mx - m;
        const uint16_t hd = range > 0.0f ? fp16_scale_up(range / qmax, static_cast<float>(qmax), range) : 0;
        const float d = fp16_to_f32(hd);
        *d_out = hd;
        *m_out = hm;
        for (int64_t i = 0; i < g; ++i) {
            const float v = i < nv ? sanitize(x[i]) : 0.0f;
            int u = 0;
            if (d > 0.0f) u = static_cast<int>(std::clamp(std::nearbyint((v - m) / d), 0.0f, float(qmax)));
            put_bits(qs, i, Bits, static_cast<uint32_t>(u));
        }
    }
}

template <int Bits, bool Asym>
void decode_group(uint16_t hd, uint16_t hm, const uint8_t* qs, float* y, int64_t nv) {
    const float d = fp16_to_f32(hd);
    if constexpr (!Asym) {
        constexpr int half = 1 << (Bits - 1);
        for (int64_t i = 0; i < nv; ++i) y[i] = d * static_cast<float>(static_cast<int>(get_bits(qs, i, Bits)) - half);
    } else {
        const float m = fp16_to_f32(hm);
        for (int64_t i = 0; i < nv; ++i) y[i] = d * static_cast<float>(get_bits(qs, i, Bits)) + m;
    }
}

template <int Bits, int G, bool Asym>
using block_int_t = std::conditional_t<Asym, block_int_asym<Bits, G>, block_int_sym<Bits, G>>;

constexpr size_t header_bytes(bool asym) { return asym ? 4 : 2; }

}  // namespace

template <int Bits, bool Asym>
size_t row_bytes_int_pc(int64_t n) {
    return header_bytes(Asym) + static_cast<size_t>((n * Bits + 7) / 8);
}

template <int Bits, int G, bool Asym>
void quantize_row_int__ref(const float* src, void* dst, int64_t n, const float*) {
    if constexpr (G == 0) {
        auto* p = static_cast<uint8_t*>(dst);
        const size_t hb = header_bytes(Asym);
        std::memset(p, 0, row_bytes_int_pc<Bits, Asym>(n));
        uint16_t hd = 0, hm = 0;
        encode_group<Bits, Asym>(src, n, n, &hd, &hm, p + hb);
        store_u16(p, hd);
        if constexpr (Asym) store_u16(p + 2, hm);
    } else {
        using block = block_int_t<Bits, G, Asym>;
        auto* y = static_cast<block*>(dst);
        const int64_t nb = (n + G - 1) / G;
        for (int64_t ib = 0; ib < nb; ++ib) {
            block b;
            std::memset(&b, 0, sizeof(b));
            uint16_t hm = 0;
            encode_group<Bits, Asym>(src + ib * G, std::min<int64_t>(G, n - ib * G), G, &b.d, &hm, b.qs);
            if constexpr (Asym) b.m = hm;
            std::memcpy(&y[ib], &b, sizeof(b));
        }
    }
}

template <int Bits, int G, bool Asym>
void dequantize_row_int__ref(const void* src, float* dst, int64_t n) {
    if constexpr (G == 0) {
        const auto* p = static_cast<const uint8_t*>(src);
        const uint16_t hd = load_u16(p);
        const uint16_t hm = Asym ? load_u16(p + 2) : 0;
        decode_group<Bits, Asym>(hd, hm, p + header_bytes(Asym), dst, n);
    } else {
        using block = block_int_t<Bits, G, Asym>;
        const auto* x = static_cast<const block*>(src);
        const int64_t nb = (n + G - 1) / G;
        for (int64_t ib = 0; ib < nb; ++ib) {
            uint16_t hm = 0;
            if constexpr (Asym) hm = x[ib].m;
            decode_group<Bits, Asym>(x[ib].d, hm, x[ib].qs, dst + ib * G, std::min<int64_t>(G, n - ib * G));
        }
    }
}

#define LOWBIT_INSTANTIATE_INT(B, G, A)                                                                   \
    template void quantize_row_int__ref<B, G, A>(const float*, void*, int64_t, const float*);            \
    template void dequantize_row_int__ref<B, G, A>(const void*, float*, int64_t);
#define LOWBIT_INSTANTIATE_INT_W(B)                                                          \
    LOWBIT_INSTANTIATE_INT(B, 32, false) LOWBIT_INSTANTIATE_INT(B, 32, true)               \
    LOWBIT_INSTANTIATE_INT(B, 64, false) LOWBIT_INSTANTIATE_INT(B, 64, true)               \
    LOWBIT_INSTANTIATE_INT(B, 128, false) LOWBIT_INSTANTIATE_INT(B, 128, true)             \
    LOWBIT_INSTANTIATE_INT(B, 0, false) LOWBIT_INSTANTIATE_INT(B, 0, true)                 \
    template size_t row_bytes_int_pc<B, false>(int64_t);                                   \
    template size_t row_bytes_int_pc<B, true>(int64_t);
LOWBIT_INSTANTIATE_INT_W(8)
LOWBIT_INSTANTIATE_INT_W(4)
LOWBIT_INSTANTIATE_INT_W(3)
LOWBIT_INSTANTIATE_INT_W(2)
#undef LOWBIT_INSTANTIATE_INT_W
#undef LOWBIT_INSTANTIATE_INT

}  // namespace lowbit
