// GPTQ for block formats with their encoder's scales; algorithm in gptq_blocks.hpp.
#include "quant/gptq_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

// Nibble pairs as Q4_0: qs[j] = c[j] | c[j + half] << 4, for `groups` groups of 2 * half codes.
void set_nibbles(uint8_t* qs, const int* c, int groups, int half) {
    for (int g = 0; g < groups; ++g)
        for (int j = 0; j < half; ++j)
            qs[g * half + j] = static_cast<uint8_t>((c[2 * half * g + j] & 15) | ((c[2 * half * g + half + j] & 15) << 4));
}

// 5th bits of 32 codes as a little-endian uint32 (Q5_0 / Q5_1).
void set_qh32(uint8_t* qh, const int* c) {
    uint32_t h = 0;
    for (int j = 0; j < 32; ++j) h |= static_cast<uint32_t>((c[j] >> 4) & 1) << j;
    std::memcpy(qh, &h, 4);
}

// Codes of 256 weights as 2-bit fields: element 128 n + 32 j + l -> qs[32 n + l] bits 2 j (Q2_K, Q3_K).
void set_2bit_planes(uint8_t* qs, const int* c) {
    std::memset(qs, 0, 64);
    for (int n = 0; n < 2; ++n)
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < 32; ++l) qs[32 * n + l] |= static_cast<uint8_t>((c[128 * n + 32 * j + l] & 3) << (2 * j));
}

}  // namespace

int block_codes_max(type t) {
    switch (t) {
        case type::q4_0: case type::q4_1: case type::iq4_nl: case type::iq4_xs: case type::q4_k: return 15;
        case type::q5_0: case type::q5_1: case type::q5_k: return 31;
        case type::q8_0: return 255;
        case type::q2_k: return 3;
        case type::q3_k: return 7;
        case type::q6_k: return 63;
        case type::tq2_0: return 2;
        default: return 0;
    }
}

void block_set_codes(type t, uint8_t* b, const int* c) {
    switch (t) {
        case type::q4_0: case type::iq4_nl: set_nibbles(b + 2, c, 1, 16); break;  // d | qs
        case type::q4_1: set_nibbles(b + 4, c, 1, 16); break;                       // d m | qs
        case type::q5_0: set_qh32(b + 2, c); set_nibbles(b + 6, c, 1, 16); break;  // d | qh | qs
        case type::q5_1: set_qh32(b + 4, c); set_nibbles(b + 8, c, 1, 16); break;  // d m | qh | qs
        case type::q8_0:
            for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(c[j] - 128));
            break;
        case type::iq4_xs: set_nibbles(b + 8, c, 8, 16); break;  // d, scales_h, scales_l[4] | qs
        case type::q2_k: set_2bit_planes(b + 16, c); break;       // scales[16] | qs | d dmin
        case type::q3_k: {                                       // hmask[32] | qs[64] | scales d
            set_2bit_planes(b + 32, c);
            std::memset(b, 0, 32);
            for (int n = 0; n < 2; ++n)
                for (int j = 0; j < 4; ++j)
                    for (int l = 0; l < 32; ++l)
                        b[l] |= static_cast<uint8_t>(((c[128 * n + 32 * j + l] >> 2) & 1) << (4 * n + j));
            break;
        }
        case type::q4_k: set_nibbles(b + 16, c, 4, 32); break;  // d dmin scales[12] | qs
        case type::q5_k: {                                      // d dmin scales[12] | qh[32] | qs
            set_nibbles(b + 48, c, 4, 32);
            uint8_t* qh = b + 16;
            std::memset(qh, 0, 32);
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 32; ++l) {
                    qh[l] |= static_cast<uint8_t>(((c[64 * j + l] >> 4) & 1) << (2 * j));
                    qh[l] |= static_cast<uint8_t>(((c[64 * j + 32 + l] >> 4) & 1) << (2 * j + 1));
                }
            break;
        }
        case type::q6_k: {  // ql[128] | qh[64] | scales[16] d
            uint8_t* ql = b;
            uint8_t* qh = b + 128;
            for (int n = 0; n < 2; ++n)
                for (int l = 0; l < 32; ++l) {
                    const int* q = c + 128 * n;
                    ql[64 * n + l] = static_cast<uint8_t>((q[l] & 15) | ((q[l + 64] & 15) << 4));
                    ql[64 * n + l + 32] = static_cast<uint8_t>((q[l + 32] & 15) | ((q[l + 96] & 15) << 4));
                    qh[32 * n + l] = static_cast<uint8_t>(((q[l] >> 4) & 3) | (((q[l + 32] >> 4) & 3) << 2) |
                                                          (((q[l + 64] >> 4) & 3) << 4) | (((q[l + 96] >> 4) & 3) << 6));
                }
            break;
        }
        case type::tq2_0:  // qs[64] | d: element 128 j + 32 l + m -> qs[32 j + m] bits 2 l
            std::memset(b, 0, 64);
            for (int j = 0; j < 2; ++j)
                for (int l = 0; l < 4; ++l)
                    for (int m = 0; m < 32; ++m) b[32 * j + m] |= static_cast<uint8_t>((c[128 * j + 32 * l + m] & 3) << (2 * l));
            break;
        default: fail("gptq: codes of type {} cannot be rewritten", type_name(t));
    }
}

bool gptq_blocks_supports(type t) {
    const auto* tr = find_traits(static_cast<uint32_t>(t));
    if (tr == nullptr || !tr->is_quantized || tr->from_float == nullptr || tr->block_size <= 0) return false;
    if (t == type::q8_1 || t == type::q8_k) return false;  // activation formats
    return tr->row_bytes_fn == nullptr;
}

std::vector<uint8_t> gptq_quantize_blocks(type t, const float* w, int64_t rows, int64_t n, std::span<const double> h,
                                          const gptq_options& opt) {
    LOWBIT_REQUIRE(gptq_blocks_supports(t), "gptq: type {} is not supported (no block encoder)", type_name(t));
    LOWBIT_REQUIRE(row_supported(t, n), "gptq: rows of {} weights cannot be stored in {}", n, type_name(t));
    const type_traits& tr = traits(t);
    const int64_t bs = tr.block_size, nb = (n + bs - 1) / bs;
    const size_t bb = tr.block_bytes, out_row = row_bytes(t, n);
    LOWBIT_REQUIRE(out_row == static_cast<size_t>(nb) * bb, "gptq: {} rows of {} are not whole blocks", type_name(t), n);
    const int qmax = block_codes_max(t), nk = qmax + 1;
    const int64_t B = std::max<int64_t>(1, opt.block_size);
    const gptq_prepared P = gptq_prepare(h, n, opt);

    std::vector<uint8_t> out(static_cast<size_t>(rows) * out_row);
    parallel_for(rows, opt.threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<double> wp(static_cast<size_t>(n)), err(static_cast<size_t>(B));
        std::vector<bool> have(static_cast<size_t>(nb));
        std::vector<int> codes(static_cast<size_t>(nb * bs)), all(static_cast<size_t>(bs));
        std::vector<float> table(static_cast<size_t>(n * nk)), gv(static_cast<size_t>(bs)), imp(static_cast<size_t>(bs)),
            dec(static_cast<size_t>(bs));
        std::vector<uint8_t> probe(bb);
        std::vector<double> ce, cg;
        for (int64_t r = r0; r < r1; ++r) {
            const float* wr = w + r * n;
            uint8_t* orow = out.data() + r * out_row;
            for (int64_t a = 0; a < n; ++a) wp[a] = P.dead[P.perm[a]] ? 0.0 : double(wr[P.perm[a]]);
            std::fill(have.begin(), have.end(), false);
            for (int64_t i1 = 0; i1 < n; i1 += B) {
                const int64_t i2 = std::min(n, i1 + B);
                for (int64_t a = i1; a < i2; ++a) {
                    const int64_t col = P.perm[a], bi = col / bs;
                    if (!have[bi]) {
                        // The block's current weights (later columns still owe this batch's lazy
                        // update), encoded with importance 1 / U_aa^2.
                        const int64_t c0 = bi * bs, nv = std::min(bs, n - c0);
                        std::fill(gv.begin(), gv.end(), 0.0f);
                        std::fill(imp.begin(), imp.end(), 0.0f);
                        for (int64_t c = c0; c < c0 + nv; ++c) {
                            const int64_t pa = P.inv[c];
                            double v = wp[pa];
                            if (pa >= i2)
                                for (int64_t k = i1; k < a; ++k) v -= err[k - i1] * P.u[k * n + pa];
                            gv[c - c0] = static_cast<float>(v);
                            imp[c - c0] = static_cast<float>(1.0 / (P.u[pa * n + pa] * P.u[pa * n + pa] * P.mean_diag));
                        }
                        uint8_t* blk = orow + bi * bb;
                        tr.from_float(gv.data(), blk, bs, imp.data());
                        if (qmax > 0) {
                            for (int k = 0; k < nk; ++k) {
                                std::memcpy(probe.data(), blk, bb);
                                std::fill(all.begin(), all.end(), k);
                                block_set_codes(t, probe.data(), all.data());
                                tr.to_float(probe.data(), dec.data(), bs);
                                for (int64_t c = 0; c < nv; ++c) table[(c0 + c) * nk + k] = dec[c];
                            }
                        } else {
                            tr.to_float(blk, dec.data(), bs);
                            for (int64_t c = 0; c < nv; ++c) table[(c0 + c) * nk] = dec[c];
                        }
                        have[bi] = true;
                    }
                    const float* tc = &table[col * nk];
                    int best = 0;
                    double bd = std::numeric_limits<double>::infinity();
                    for (int k = 0; k < nk; ++k) {
                        const double d = std::fabs(wp[a] - double(tc[k]));
                        if (d < bd) {
                            bd = d;
                            best = k;
                        }
                    }
                    codes[col] = best;
                    const double e = (wp[a] - double(tc[best])) / P.u[a * n + a];
                    err[a - i1] = e;
                    const double* ua = &P.u[a * n];
                    for (int64_t j = a + 1; j < i2; ++j) wp[j] -= e * ua[j];
                }
                for (int64_t k = i1; k < i2; ++k) {
                    const double e = err[k - i1];
                    const double* uk = &P.u[k * n];
                    for (int64_t j = i2; j < n; ++j) wp[j] -= e * uk[j];
                }
            }
            if (qmax > 0 && !P.h.empty())
                gptq_refine_row(P, opt.refine_sweeps, wr, codes.data(), 0, qmax,
                                [&](int64_t col, int k) { return table[col * nk + k]; }, ce, cg);
            if (qmax > 0)
                for (int64_t bi = 0; bi < nb; ++bi) {
                    // Padding columns of a short last block keep code 0 (decode is ignored there).
                    block_set_codes(t, orow + bi * bb, codes.data() + bi * bs);
                }
        }
    });
    return out;
}

}  // namespace lowbit
