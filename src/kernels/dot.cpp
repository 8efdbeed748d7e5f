// Kernel selection for the quantized dot products (dot.hpp).
#include "kernels/dot.hpp"

#include "formats/lowbit_formats.hpp"
#include "kernels/dot_iq3.hpp"

namespace lowbit::kernels {
namespace {

struct dot_row {
    type w, act;
    dot_fn ref, avx2;
};

constexpr dot_row k_dots[] = {
    {type::f16, type::f32, dot_f16_f32__ref, dot_f16_f32__avx2},
    {type::bf16, type::f32, dot_bf16_f32__ref, dot_bf16_f32__avx2},
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
    {type::mxfp4, type::q8_0, dot_mxfp4_q8_0__ref, dot_mxfp4_q8_0__avx2},
    {type::tq1_0, type::q8_k, dot_tq1_0_q8_k__ref, dot_tq1_0_q8_k__avx2},
    {type::tq2_0, type::q8_k, dot_tq2_0_q8_k__ref, dot_tq2_0_q8_k__avx2},
    {type::iq3_xxs, type::q8_k, dot_iq3_xxs_q8_k__ref, dot_iq3_xxs_q8_k__avx2},
    {type::iq3_s, type::q8_k, dot_iq3_s_q8_k__ref, dot_iq3_s_q8_k__avx2},
    // lowbit formats
    {ext_type::int8_g32, type::q8_0, dot_int_sym_q8_0__ref<8, 32>, dot_int_sym_q8_0__avx2<8, 32>},
    {ext_type::int8_g32_asym, type::q8_1, dot_int_asym_q8_1__ref<8, 32>, dot_int_asym_q8_1__avx2<8, 32>},
    {ext_type::int8_g64, type::q8_0, dot_int_sym_q8_0__ref<8, 64>, dot_int_sym_q8_0__avx2<8, 64>},
    {ext_type::int8_g64_asym, type::q8_1, dot_int_asym_q8_1__ref<8, 64>, dot_int_asym_q8_1__avx2<8, 64>},
    {ext_type::int8_g128, type::q8_0, dot_int_sym_q8_0__ref<8, 128>, dot_int_sym_q8_0__avx2<8, 128>},
    {ext_type::int8_g128_asym, type::q8_1, dot_int_asym_q8_1__ref<8, 128>, dot_int_asym_q8_1__avx2<8, 128>},
    {ext_type::int8_pc, type::q8_0, dot_int_sym_q8_0__ref<8, 0>, dot_int_sym_q8_0__avx2<8, 0>},
    {ext_type::int8_pc_asym, type::q8_1, dot_int_asym_q8_1__ref<8, 0>, dot_int_asym_q8_1__avx2<8, 0>},
    {ext_type::int4_g32, type::q8_0, dot_int_sym_q8_0__ref<4, 32>, dot_int_sym_q8_0__avx2<4, 32>},
    {ext_type::int4_g32_asym, type::q8_1, dot_int_asym_q8_1__ref<4, 32>, dot_int_asym_q8_1__avx2<4, 32>},
    {ext_type::int4_g64, type::q8_0, dot_int_sym_q8_0__ref<4, 64>, dot_int_sym_q8_0__avx2<4, 64>},
    {ext_type::int4_g64_asym, type::q8_1, dot_int_asym_q8_1__ref<4, 64>, dot_int_asym_q8_1__avx2<4, 64>},
    {ext_type::int4_g128, type::q8_0, dot_int_sym_q8_0__ref<4, 128>, dot_int_sym_q8_0__avx2<4, 128>},
    {ext_type::int4_g128_asym, type::q8_1, dot_int_asym_q8_1__ref<4, 128>, dot_int_asym_q8_1__avx2<4, 128>},
    {ext_type::int4_pc, type::q8_0, dot_int_sym_q8_0__ref<4, 0>, dot_int_sym_q8_0__avx2<4, 0>},
    {ext_type::int4_pc_asym, type::q8_1, dot_int_asym_q8_1__ref<4, 0>, dot_int_asym_q8_1__avx2<4, 0>},
    {ext_type::int3_g32, type::q8_0, dot_int_sym_q8_0__ref<3, 32>, dot_int_sym_q8_0__avx2<3, 32>},
    {ext_type::int3_g32_asym, type::q8_1, dot_int_asym_q8_1__ref<3, 32>, dot_int_asym_q8_1__avx2<3, 32>},
    {ext_type::int3_g64, type::q8_0, dot_int_sym_q8_0__ref<3, 64>, dot_int_sym_q8_0__avx2<3, 64>},
    {ext_type::int3_g64_asym, type::q8_1, dot_int_asym_q8_1__ref<3, 64>, dot_int_asym_q8_1__avx2<3, 64>},
    {ext_type::int3_g128, type::q8_0, dot_int_sym_q8_0__ref<3, 128>, dot_int_sym_q8_0__avx2<3, 128>},
    {ext_type::int3_g128_asym, type::q8_1, dot_int_asym_q8_1__ref<3, 128>, dot_int_asym_q8_1__avx2<3, 128>},
    {ext_type::int3_pc, type::q8_0, dot_int_sym_q8_0__ref<3, 0>, dot_int_sym_q8_0__avx2<3, 0>},
    {ext_type::int3_pc_asym, type::q8_1, dot_int_asym_q8_1__ref<3, 0>, dot_int_asym_q8_1__avx2<3, 0>},
    {ext_type::int2_g32, type::q8_0, dot_int_sym_q8_0__ref<2, 32>, dot_int_sym_q8_0__avx2<2, 32>},
    {ext_type::int2_g32_asym, type::q8_1, dot_int_asym_q8_1__ref<2, 32>, dot_int_asym_q8_1__avx2<2, 32>},
    {ext_type::int2_g64, type::q8_0, dot_int_sym_q8_0__ref<2, 64>, dot_int_sym_q8_0__avx2<2, 64>},
    {ext_type::int2_g64_asym, type::q8_1, dot_int_asym_q8_1__ref<2, 64>, dot_int_asym_q8_1__avx2<2, 64>},
    {ext_type::int2_g128, type::q8_0, dot_int_sym_q8_0__ref<2, 128>, dot_int_sym_q8_0__avx2<2, 128>},
    {ext_type::int2_g128_asym, type::q8_1, dot_int_asym_q8_1__ref<2, 128>, dot_int_asym_q8_1__avx2<2, 128>},
    {ext_type::int2_pc, type::q8_0, dot_int_sym_q8_0__ref<2, 0>, dot_int_sym_q8_0__avx2<2, 0>},
    {ext_type::int2_pc_asym, type::q8_1, dot_int_asym_q8_1__ref<2, 0>, dot_int_asym_q8_1__avx2<2, 0>},
    {ext_type::nf4, type::q8_0, dot_nf4_q8_0__ref, dot_nf4_q8_0__avx2},
    {ext_type::nf4_dq, type::q8_0, dot_nf4_dq_q8_0__ref, dot_nf4_dq_q8_0__avx2},
    {ext_type::fp4_e2m1, type::q8_0, dot_fp4_e2m1_q8_0__ref, dot_fp4_e2m1_q8_0__avx2},
    {ext_type::fp8_e4m3, type::f32, dot_fp8_e4m3_f32__ref, dot_fp8_e4m3_f32__avx2},
    {ext_type::fp8_e5m2, type::f32, dot_fp8_e5m2_f32__ref, dot_fp8_e5m2_f32__avx2},
    {ext_type::fp8_e4m3_pt, type::f32, dot_fp8_e4m3_pt_f32__ref, dot_fp8_e4m3_pt_f32__avx2},
    {ext_type::fp8_e5m2_pt, type::f32, dot_fp8_e5m2_pt_f32__ref, dot_fp8_e5m2_pt_f32__avx2},
    {ext_type::ternary_g64, type::q8_0, dot_ternary_g64_q8_0__ref, dot_ternary_g64_q8_0__avx2},
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
