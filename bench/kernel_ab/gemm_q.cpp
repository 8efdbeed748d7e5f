// In-process A/B of the integer prompt GEMM micro-kernels (src/kernels/gemm_q_avx2.cpp): one packed
// 8-row group x 4096 columns against 128 tokens (4 per call, as matmul_gemm_q runs them), in L2.
// Built and run by bench/kernel_ab.sh (see kernel_ab.hpp); GOPS = 2 x multiply-adds / s.
#include "kernels/gemm_q.hpp"

#include "core/cpu.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernel_ab.hpp"
#include "kernels/quant_act.hpp"
#include "lowbit/types.hpp"

// name in the report, weight type, micro-kernel
#define LOWBIT_AB_KERNELS(X)                            \
    X(q4_0, type::q4_0, gemm_q4_0_q8_0_8x4__avx2)       \
    X(q5_0, type::q5_0, gemm_q5_0_q8_0_8x4__avx2)       \
    X(q8_0, type::q8_0, gemm_q8_0_q8_0_8x4__avx2)       \
    X(q4_1, type::q4_1, gemm_q4_1_q8_1_8x4__avx2)       \
    X(q2_k, type::q2_k, gemm_q2_k_q8_k_8x4__avx2)       \
    X(q3_k, type::q3_k, gemm_q3_k_q8_k_8x4__avx2)       \
    X(q4_k, type::q4_k, gemm_q4_k_q8_k_8x4__avx2)       \
    X(q5_k, type::q5_k, gemm_q5_k_q8_k_8x4__avx2)       \
    X(q6_k, type::q6_k, gemm_q6_k_q8_k_8x4__avx2)       \
    X(iq4_nl, type::iq4_nl, gemm_iq4_nl_q8_0_8x4__avx2) \
    X(iq4_xs, type::iq4_xs, gemm_iq4_xs_q8_k_8x4__avx2) \
    X(fp8_e4m3, ext_type::fp8_e4m3, gemm_i16_a16_8x4__avx2)

#define LOWBIT_AB_DECLARE(ns, fn)                                                                        \
    namespace ns::kernels {                                                                              \
    struct gemm_act;                                                                                     \
    void fn(int64_t nb, const void* pw, const gemm_act& a, int64_t t0, int n_tok, float* y, int64_t ldy, \
            int n_rows);                                                                                 \
    }
#define LOWBIT_AB_DECLARE_BOTH(name, t, fn) LOWBIT_AB_DECLARE(lowbitA, fn) LOWBIT_AB_DECLARE(lowbitB, fn)
LOWBIT_AB_KERNELS(LOWBIT_AB_DECLARE_BOTH)

namespace {

using namespace lowbit;
using gemm_fn = void (*)(int64_t, const void*, const kernels::gemm_act&, int64_t, int, float*, int64_t, int);

struct entry {
    const char* name;
    type t;
    gemm_fn a, b;
};

// The renamed builds take lowbitA/B::kernels::gemm_act, the same layout under another name.
#define LOWBIT_AB_ENTRY(name, t, fn)                             \
    {#name, t, reinterpret_cast<gemm_fn>(&lowbitA::kernels::fn), \
     reinterpret_cast<gemm_fn>(&lowbitB::kernels::fn)},
const entry k_entries[] = {LOWBIT_AB_KERNELS(LOWBIT_AB_ENTRY)};

bool run(const entry& e, const kernel_ab::options& o) {
    constexpr int64_t k_cols = 4096, k_tokens = 128;
    const kernels::gemm_q_kernels kq = kernels::gemm_q_kernel(e.t, isa_tier::avx2);
    kernel_ab::gaussian g;
    const std::vector<uint8_t> w = g.rows(e.t, 8, k_cols);
    const int64_t nb = k_cols / kq.block;
    std::vector<uint8_t> pw(static_cast<size_t>(nb) * kq.packed_bytes);
    kq.pack(w.data(), row_bytes(e.t, k_cols), 8, k_cols, pw.data());
    const std::vector<float> x = g.values(k_tokens * k_cols);
    // The activations as matmul_gemm_q prepares them.
    const kernels::gemm_act_layout l = kernels::gemm_act_layout_of(kq, k_cols);
    const kernels::quantize_act_fn quant = kernels::gemm_act_quantizer(kq, isa_tier::avx2);
    std::vector<uint8_t> q(l.row_bytes * k_tokens);
    std::vector<float> d(static_cast<size_t>(k_tokens * l.n_blocks));
    std::vector<int32_t> s(static_cast<size_t>(k_tokens * l.n_blocks * l.n_sides));
    for (int64_t i = 0; i < k_tokens; ++i)
        kernels::gemm_act_token(kq, quant, x.data() + i * k_cols, k_cols,
                                q.data() + l.row_bytes * static_cast<size_t>(i), d.data() + i * l.n_blocks,
                                s.data() + i * l.n_blocks * l.n_sides);
    const kernels::gemm_act a{q.data(), l.row_bytes, d.data(), s.data(), l.n_blocks};
    std::vector<float> ya(k_tokens * 8), yb(k_tokens * 8);
    auto call = [&](gemm_fn f, std::vector<float>& y) {
        for (int64_t t0 = 0; t0 < k_tokens; t0 += kernels::k_gemm_tokens)
            f(nb, pw.data(), a, t0, kernels::k_gemm_tokens, y.data() + t0 * 8, 8, 8);
    };
    return kernel_ab::compare(
        e.name, o, 2.0 * 8 * k_cols * k_tokens, "GOPS", [&] { call(e.a, ya); }, [&] { call(e.b, yb); },
        [&] { return std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0; });
}

}  // namespace

int main(int argc, char** argv) {
    return kernel_ab::run_all(argc, argv, k_entries, "GOPS", run);
}
