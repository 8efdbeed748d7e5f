// Explicit grids of lowbit's INT formats; see int_grid.hpp. The RTN grid reproduces
// formats/lowbit_int.cpp's encoder exactly (tests/quant/gptq_test.cpp checks the bytes).
#include "quant/int_grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "formats/lowbit_blocks.hpp"
#include "lowbit/error.hpp"

namespace lowbit {

std::optional<int_spec> int_spec_of(type t) {
    const type_traits* tr = find_traits(static_cast<uint32_t>(t));
    if (!tr || tr->is_ggml) return std::nullopt;
    const std::string n = tr->name;  // int<b>_g<G>[_asym] | int<b>_pc[_asym]
    if (n.size() < 6 || n.compare(0, 3, "int") != 0 || n[4] != '_') return std::nullopt;
    int_spec s;
    s.bits = n[3] - '0';
    if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8) return std::nullopt;
    std::string rest = n.substr(5);
    if (rest.size() > 5 && rest.compare(rest.size() - 5, 5, "_asym") == 0) {
        s.asym = true;
        rest.resize(rest.size() - 5);
    }
    if (rest == "pc") s.group = 0;
    else if (rest == "g32") s.group = 32;
    else if (rest == "g64") s.group = 64;
    else if (rest == "g128") s.group = 128;
    else return std::nullopt;
    return s;
}

int_grid int_grid_rtn(const int_spec& s, const float* x, int64_t nv) {
    using namespace lbfmt;
    int_grid g;
    if (!s.asym) {
        const int qmax = s.qmax();
        float amax = 0.0f;
        for (int64_t i = 0; i < nv; ++i) amax = std::max(amax, std::fabs(sanitize(x[i])));
        const uint16_t h = amax > 0.0f ? fp16_scale_up(amax / qmax, static_cast<float>(qmax), amax) : 0;
        g.d = fp16_to_f32(h);
    } else {
        const int qmax = s.qmax();
        float mn = 0.0f, mx = 0.0f;
        if (nv > 0) mn = mx = sanitize(x[0]);
        for (int64_t i = 1; i < nv; ++i) {
            mn = std::min(mn, sanitize(x[i]));
            mx = std::max(mx, sanitize(x[i]));
        }
        g.m = fp16_to_f32(fp16_round_down(mn));
        const float range = mx - g.m;
        const uint16_t hd = range > 0.0f ? fp16_scale_up(range / qmax, static_cast<float>(qmax), range) : 0;
        g.d = fp16_to_f32(hd);
    }
    return g;
}

int_grid int_grid_round(const int_spec& s, float d, float m) {
    int_grid g;
    g.d = std::isfinite(d) && d > 0.0f ? fp16_to_f32(f32_to_fp16(std::min(d, 65504.0f))) : 0.0f;
    g.m = s.asym && std::isfinite(m) ? fp16_to_f32(f32_to_fp16(std::clamp(m, -65504.0f, 65504.0f))) : 0.0f;
    return g;
}

int int_code(const int_spec& s, const int_grid& g, float x) {
    if (!(g.d > 0.0f)) return s.asym ? 0 : 0;
    const float v = s.asym ? (lbfmt::sanitize(x) - g.m) / g.d : lbfmt::sanitize(x) / g.d;
    return static_cast<int>(std::clamp(std::nearbyint(v), float(s.qmin()), float(s.qmax())));
}

void int_pack_row(const int_spec& s, const int_grid* grids, const int* codes, int64_t n, uint8_t* dst) {
    using namespace lbfmt;
    const int64_t G = s.group_len(n);
    const int64_t nb = (n + G - 1) / G;
    const size_t hb = s.asym ? 4 : 2;
    const size_t code_bytes = static_cast<size_t>((G * s.bits + 7) / 8);
    const int bias = s.asym ? 0 : 1 << (s.bits - 1);
    for (int64_t ib = 0; ib < nb; ++ib) {
        uint8_t* p = dst + static_cast<size_t>(ib) * (hb + code_bytes);
        std::memset(p, 0, hb + code_bytes);
        const int_grid& g = grids[ib];
        store_u16(p, f32_to_fp16(g.d));
        if (s.asym) store_u16(p + 2, f32_to_fp16(g.m));
        const int zero_code = int_code(s, g, 0.0f);
        for (int64_t i = 0; i < G; ++i) {
            const int64_t c = ib * G + i;
            const int q = c < n ? codes[c] : zero_code;
            put_bits(p + hb, i, s.bits, static_cast<uint32_t>(q + bias));
        }
    }
}

}  // namespace lowbit
