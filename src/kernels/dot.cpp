// Kernel selection for the quantized dot products (dot.hpp).
#include "kernels/dot.hpp"

namespace lowbit::kernels {
namespace {

struct dot_row {
    type w, act;
    dot_fn ref, avx2;
};

constexpr dot_row k_dots[] = {
    {type::q4_0, type::q8_0, dot_q4_0_q8_0__ref, dot_q4_0_q8_0__avx2},
    {type::q4_1, type::q8_1, dot_q4_1_q8_1__ref, dot_q4_1_q8_1__avx2},
    {type::q5_0, type::q8_0, dot_q5_0_q8_0__ref, dot_q5_0_q8_0__avx2},
    {type::q5_1, type::q8_1, dot_q5_1_q8_1__ref, dot_q5_1_q8_1__avx2},
    {type::q8_0, type::q8_0, dot_q8_0_q8_0__ref, dot_q8_0_q8_0__avx2},
    {type::iq4_nl, type::q8_0, dot_iq4_nl_q8_0__ref, dot_iq4_nl_q8_0__avx2},
    {type::q2_k, type::q8_k, dot_q2_k_q8_k__ref, dot_q2_k_q8_k__avx2},
    {type::q3_k, type::q8_k, dot_q3_k_q8_k__ref, dot_q3_k_q8_k__avx2},
    {type::q4_k, type::q8_k, dot_q4_k_q8_k__ref, dot_q4_k_q8_k__avx2},
    {type::q5_k, type::q8_k, dot_q5_k_q8_k__ref, dot_q5_k_q8_k__avx2},
    {type::q6_k, type::q8_k, dot_q6_k_q8_k__ref, dot_q6_k_q8_k__avx2},
};

const dot_row* find(type t) {
    for (const auto& r : k_dots)
        if (r.w == t) return &r;
    return nullptr;
}

}  // namespace

type dot_act_type(type t) {
    const dot_row* r = find(t);
    return r ? r->act : type::f32;
}

dot_fn dot_kernel(type t, isa_tier tier) {
    const dot_row* r = find(t);
    if (!r) return nullptr;
    if (tier >= isa_tier::avx2 && r->avx2) return r->avx2;
    return r->ref;
}

dot_fn dot_kernel(type t) { return dot_kernel(t, active_isa_tier()); }

}  // namespace lowbit::kernels
