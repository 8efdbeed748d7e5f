// In-process A/B of the one-token tile GEMV kernels (src/kernels/repack_avx2.cpp): a 64 x 4096 matrix
// repacked into 8-row tiles (in L2, so the kernel's arithmetic is measured, not the memory), one
// token, run as matmul_tiled runs it: two tiles in lockstep where the type has that twin, else one.
// Built and run by bench/kernel_ab.sh (see kernel_ab.hpp); GB/s = the rows' stored bytes / s.
#include "core/cpu.hpp"
#include "kernel_ab.hpp"
#include "kernels/quant_act.hpp"
#include "kernels/repack.hpp"
#include "lowbit/types.hpp"

// name in the report, weight type, tile GEMV (its two-tile twin is name##_x2)
#define LOWBIT_AB_KERNELS(X)                          \
    X(q4_0, type::q4_0, gemv_q4_0x8_q8_0__avx2)       \
    X(q4_1, type::q4_1, gemv_q4_1x8_q8_1__avx2)       \
    X(q5_0, type::q5_0, gemv_q5_0x8_q8_0__avx2)       \
    X(q5_1, type::q5_1, gemv_q5_1x8_q8_1__avx2)       \
    X(q8_0, type::q8_0, gemv_q8_0x8_q8_0__avx2)       \
    X(iq4_nl, type::iq4_nl, gemv_iq4_nlx8_q8_0__avx2) \
    X(iq4_xs, type::iq4_xs, gemv_iq4_xsx8_q8_k__avx2) \
    X(q2_k, type::q2_k, gemv_q2_kx8_q8_k__avx2)       \
    X(q3_k, type::q3_k, gemv_q3_kx8_q8_k__avx2)       \
    X(q4_k, type::q4_k, gemv_q4_kx8_q8_k__avx2)       \
    X(q5_k, type::q5_k, gemv_q5_kx8_q8_k__avx2)       \
    X(q6_k, type::q6_k, gemv_q6_kx8_q8_k__avx2)

#define LOWBIT_AB_DECLARE(ns, fn)                                                                           \
    namespace ns::kernels {                                                                                 \
    void fn(int64_t nb, const void* tiles, const void* a, const int32_t* side, float* y, int n_rows);       \
    void fn##_x2(int64_t nb, const void* ta, const void* tb, const void* a, const int32_t* side, float* ya, \
                 float* yb, int ra, int rb);                                                                \
    }
#define LOWBIT_AB_DECLARE_BOTH(name, t, fn) LOWBIT_AB_DECLARE(lowbitA, fn) LOWBIT_AB_DECLARE(lowbitB, fn)
LOWBIT_AB_KERNELS(LOWBIT_AB_DECLARE_BOTH)

namespace {

using namespace lowbit;
using gemv1_fn = void (*)(int64_t, const void*, const void*, const int32_t*, float*, int);
using gemv2_fn = void (*)(int64_t, const void*, const void*, const void*, const int32_t*, float*, float*, int,
                          int);

struct side_fns {
    gemv1_fn one;
    gemv2_fn two;
};
struct entry {
    const char* name;
    type t;
    side_fns a, b;
};

#define LOWBIT_AB_ENTRY(name, t, fn)                      \
    {#name,                                               \
     t,                                                   \
     {&lowbitA::kernels::fn, &lowbitA::kernels::fn##_x2}, \
     {&lowbitB::kernels::fn, &lowbitB::kernels::fn##_x2}},
const entry k_entries[] = {LOWBIT_AB_KERNELS(LOWBIT_AB_ENTRY)};

bool run(const entry& e, const kernel_ab::options& o) {
    constexpr int64_t k_cols = 4096, k_rows = 64;
    kernel_ab::gaussian g;
    const size_t rb = row_bytes(e.t, k_cols);
    const std::vector<uint8_t> w = g.rows(e.t, k_rows, k_cols);
    const auto p = repack_matrix(e.t, w.data(), rb, k_rows, k_cols, 1);
    const kernels::repack_kernels kr = kernels::repack_kernel(e.t, isa_tier::avx2);
    const std::vector<float> x = g.values(k_cols);
    std::vector<uint8_t> act(row_bytes(kr.act, k_cols));
    std::vector<int32_t> side(static_cast<size_t>(kernels::repack_act_side_count(e.t, k_cols)) + 1);
    kernels::quantize_act_kernel(kr.act)(x.data(), act.data(), k_cols);
    kernels::repack_act_sides(e.t, act.data(), k_cols, side.data());
    const bool two = kr.gemv2 != nullptr;
    const int64_t h = p->n_tiles / 2;
    std::vector<float> ya(k_rows), yb(k_rows);
    auto call = [&](const side_fns& f, std::vector<float>& y) {
        if (two) {
            for (int64_t i = 0; i < h; ++i)
                f.two(p->n_blocks, p->tile(i), p->tile(i + h), act.data(), side.data(), y.data() + 8 * i,
                      y.data() + 8 * (i + h), 8, 8);
        } else {
            for (int64_t i = 0; i < p->n_tiles; ++i)
                f.one(p->n_blocks, p->tile(i), act.data(), side.data(), y.data() + 8 * i, 8);
        }
    };
    const std::string label = std::string(e.name) + (two ? "x2" : "");
    return kernel_ab::compare(
        label.c_str(), o, static_cast<double>(rb) * k_rows, "GB/s", [&] { call(e.a, ya); },
        [&] { call(e.b, yb); },
        [&] { return std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)) == 0; });
}

}  // namespace

int main(int argc, char** argv) {
    return kernel_ab::run_all(argc, argv, k_entries, "GB/s", run);
}
