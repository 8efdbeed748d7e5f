// The VNNI micro-kernels of the integer prompt GEMM, shared by the AVX-512 VNNI (EVEX) and AVX-VNNI
// (VEX) builds: included by gemm_q_avx512vnni.cpp and gemm_q_avxvnni.cpp only, each after defining
// LOWBIT_DPBUSD as its form of vpdpbusd (_mm256_dpbusd_epi32 / _mm256_dpbusd_avx_epi32) and
// LOWBIT_VNNI_NAME(f) as the tier's name of f. Everything but those entry points has internal linkage, so the
// two builds do not collide. (Its small helpers repeat simd_tile_common.hpp's
// on purpose: this source compiles to the instruction stream that was run and tested on AVX-512 VNNI
// hardware, which CI cannot re-check; the shared helpers generate different code.)
//
// Layouts and math: gemm_q.hpp; the AVX2 versions: gemm_q_avx2.cpp. One `vpdpbusd` (unsigned x signed
// bytes, 4 products summed into each int32 lane and accumulated) replaces AVX2's maddubs + madd + add:
//   Q4_0 / Q5_0 (codes 0..15 / 0..31, unsigned): each lane starts at the block's offset correction
//     -8 (-16) x sum of the token's activations (the int16 pair of gemm_act::s widened by madd), then
//     takes the 8 groups' dpbusd of the codes with the activations broadcast: exact int32 sums, as the
//     AVX2 kernel's int16 sums widened once.
//   Q8_0 (signed x signed; IQ4_NL and the lowbit formats on this kernel run their signed codebook
//     values): dpbusd of |w| with sign(w) a, the vpsignb trick (activations are within +-127).
//   Q4_K / Q5_K / Q6_K: per sub-block the exact dpbusd sum times the row's scale (vpmulld), instead of
//     int16 pair sums widened by madd with the scale pairs (AVX2 had to split Q5_K's groups to stay
//     inside int16; dpbusd accumulates in int32, so Q5_K runs the Q4_K kernel).
// 256-bit registers (AVX-VNNI, or AVX512VL forms): the packed layout is 8 rows x 4 bytes per group. The integer sums
// are exact and the float operations are __ref's (same products, fma, order), so the results equal
// gemm_q.cpp's __ref bit for bit.
#pragma once

#if !defined(LOWBIT_DPBUSD) || !defined(LOWBIT_VNNI_NAME)
#error "define LOWBIT_DPBUSD and LOWBIT_VNNI_NAME before including gemm_q_vnni.hpp"
#endif

#include <immintrin.h>

#include <cstring>

#include "formats/ggml_blocks.hpp"
#include "kernels/gemm_q.hpp"

namespace lowbit::kernels {
namespace {

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline __m256i bcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

inline void store_rows(float* y, __m256 acc, int n_rows) {
    if (n_rows == 8) {
        _mm256_storeu_ps(y, acc);
        return;
    }
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, acc);
    for (int r = 0; r < n_rows; ++r) y[r] = tmp[r];
}

// Off: 8 (Q4_0), 16 (Q5_0) or 0 (Q8_0, signed codes).
template <int T, int Off>
void gemm_q8x8_vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q8x8*>(pw);
    const block_q8_0* x[T];
    const float* da[T];
    const int32_t* s8[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
        x[t] = reinterpret_cast<const block_q8_0*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
        da[t] = a.d + (t0 + t) * a.n_blocks;
        s8[t] = a.s + (t0 + t) * a.n_blocks;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i isum[T];
        if constexpr (Off != 0) {
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) {
                __m256i p16 = _mm256_set1_epi32(s8[t][b]);
                if constexpr (Off == 16) p16 = _mm256_slli_epi16(p16, 1);  // -16 sum: exact in int16
                isum[t] = _mm256_madd_epi16(p16, ones);
            }
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) {
                const __m256i wv = load32(w[b].q[g]);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) isum[t] = LOWBIT_DPBUSD(isum[t], wv, bcast4(x[t][b].qs + 4 * g));
            }
        } else {
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) {
                const __m256i wv = load32(w[b].q[g]);
                const __m256i aw = _mm256_abs_epi8(wv);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t)
                    isum[t] = LOWBIT_DPBUSD(isum[t], aw, _mm256_sign_epi8(bcast4(x[t][b].qs + 4 * g), wv));
            }
        }
        const __m256 dw = _mm256_loadu_ps(w[b].d);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(da[t][b]));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), scale, acc[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// Q4_K / Q5_K (gemm_block_q4_kx8, codes 0..15 / 0..31): per 32-column sub-block the dpbusd sums P_s
// (exact int32) times the row's 6-bit scale (the high int16 of the madd pair, shifted down), added into
// sumi: the same sum_s sc_s P_s as AVX2's madd of int16 pair sums with the scale pairs. Mins, float
// operations and their order as gemm_q_avx2.cpp's gemm_q4_k.
template <int T>
void gemm_q4_k_vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q4_kx8*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    const int32_t* bs[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
        x[t] = reinterpret_cast<const block_q8_k*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
        da[t] = a.d + (t0 + t) * a.n_blocks;
        bs[t] = a.s + (t0 + t) * a.n_blocks * k_q8_k_sides;
    }
    __m256 acc[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i sc = _mm256_srli_epi32(load32(w[b].sc[s]), 16);
            __m256i p[T];
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) p[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int g = 0; g < 8; ++g) {
                const __m256i wv = load32(w[b].q[8 * s + g]);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) p[t] = LOWBIT_DPBUSD(p[t], wv, bcast4(x[t][b].qs + 32 * s + 4 * g));
            }
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_mullo_epi32(p[t], sc));
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d), dminv = _mm256_loadu_ps(w[b].dmin);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
            __m256i summ = _mm256_setzero_si256();
            for (int q = 0; q < 4; ++q)
                summ = _mm256_add_epi32(summ, _mm256_madd_epi16(load32(w[b].mn[q]), _mm256_set1_epi32(bs[t][b * k_q8_k_sides + q])));
            const __m256 dab = _mm256_set1_ps(da[t][b]);
            const __m256 m = _mm256_mul_ps(_mm256_mul_ps(dab, dminv), _mm256_cvtepi32_ps(summ));
            acc[t] = _mm256_add_ps(acc[t], _mm256_fmsub_ps(_mm256_mul_ps(dab, dv), _mm256_cvtepi32_ps(sumi[t]), m));
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

// Q6_K (codes 0..63, weight = code - 32): per 16-column sub-block the -32 correction (gemm_act's int16
// pair, widened) plus 4 groups' dpbusd, times the row's signed scale (high int16 of the pair, shifted
// arithmetically).
template <int T>
void gemm_q6_k_vnni(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
    const auto* w = static_cast<const gemm_block_q6_kx8*>(pw);
    const block_q8_k* x[T];
    const float* da[T];
    const int32_t* cs[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
        x[t] = reinterpret_cast<const block_q8_k*>(a.q + static_cast<size_t>(t0 + t) * a.row_bytes);
        da[t] = a.d + (t0 + t) * a.n_blocks;
        cs[t] = a.s + (t0 + t) * a.n_blocks * k_q8_k_sides;
    }
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        __m256i sumi[T];
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) sumi[t] = _mm256_setzero_si256();
        for (int s = 0; s < 16; ++s) {
            __m256i p[T];
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) p[t] = _mm256_madd_epi16(_mm256_set1_epi32(cs[t][b * k_q8_k_sides + 4 + s]), ones);
#pragma GCC unroll 4
            for (int g = 0; g < 4; ++g) {
                const __m256i wv = load32(w[b].q[4 * s + g]);
#pragma GCC unroll 4
                for (int t = 0; t < T; ++t) p[t] = LOWBIT_DPBUSD(p[t], wv, bcast4(x[t][b].qs + 16 * s + 4 * g));
            }
            const __m256i sc = _mm256_srai_epi32(load32(w[b].sc[s]), 16);
#pragma GCC unroll 4
            for (int t = 0; t < T; ++t) sumi[t] = _mm256_add_epi32(sumi[t], _mm256_mullo_epi32(p[t], sc));
        }
        const __m256 dv = _mm256_loadu_ps(w[b].d);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t)
            acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(da[t][b]), dv), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) store_rows(y + t * ldy, acc[t], n_rows);
}

template <template <int> class K>
void dispatch_k(int n_tok, int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy,
                int n_rows) {
    switch (n_tok) {
        case 1: K<1>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        case 2: K<2>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        case 3: K<3>::run(nb, pw, a, t0, y, ldy, n_rows); break;
        default: K<4>::run(nb, pw, a, t0, y, ldy, n_rows); break;
    }
}
template <int T>
struct k_q4_k {
    static void run(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
        gemm_q4_k_vnni<T>(nb, pw, a, t0, y, ldy, n_rows);
    }
};
template <int T>
struct k_q6_k {
    static void run(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy, int n_rows) {
        gemm_q6_k_vnni<T>(nb, pw, a, t0, y, ldy, n_rows);
    }
};

template <int Off>
void dispatch(int n_tok, int64_t nb, const void* pw, const gemm_act& a, int64_t t0, float* y, int64_t ldy,
              int n_rows) {
    switch (n_tok) {
        case 1: gemm_q8x8_vnni<1, Off>(nb, pw, a, t0, y, ldy, n_rows); break;
        case 2: gemm_q8x8_vnni<2, Off>(nb, pw, a, t0, y, ldy, n_rows); break;
        case 3: gemm_q8x8_vnni<3, Off>(nb, pw, a, t0, y, ldy, n_rows); break;
        default: gemm_q8x8_vnni<4, Off>(nb, pw, a, t0, y, ldy, n_rows); break;
    }
}

}  // namespace

// The entry points, named by the including file: LOWBIT_VNNI_NAME(f) is f with its tier's suffix.
void LOWBIT_VNNI_NAME(gemm_q4_0_q8_0_8x4)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                          int64_t ldy, int n_rows) {
    dispatch<8>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void LOWBIT_VNNI_NAME(gemm_q5_0_q8_0_8x4)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                          int64_t ldy, int n_rows) {
    dispatch<16>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void LOWBIT_VNNI_NAME(gemm_q8_0_q8_0_8x4)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                          int64_t ldy, int n_rows) {
    dispatch<0>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}
void LOWBIT_VNNI_NAME(gemm_q4_k_q8_k_8x4)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                          int64_t ldy, int n_rows) {
    dispatch_k<k_q4_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);  // Q5_K too: its codes 0..31 in the same block
}
void LOWBIT_VNNI_NAME(gemm_q6_k_q8_k_8x4)(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y,
                                          int64_t ldy, int n_rows) {
    dispatch_k<k_q6_k>(n_tok, nb, pw, a, t0, y, ldy, n_rows);
}

}  // namespace lowbit::kernels
