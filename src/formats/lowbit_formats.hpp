// lowbit's own formats (extension type ids >= 1024): INT8/4/3/2 per group or per channel, symmetric
// or asymmetric; NF4; FP8 E4M3/E5M2; FP4 E2M1; ternary. Rows come from lowbit_format_rows() and are
// merged into the one format table (src/formats/format_table.cpp). Block layouts: lowbit_blocks.hpp;
// the id table and the exact bit layouts: docs/formats.md, section "lowbit formats".
//
// Ids are stored in files: they are NEVER renumbered. Blocks of 8 ids per family leave room to grow:
//   1024..1055  INT:  1024 + 8*w + 2*g + asym
//               w: int8=0 int4=1 int3=2 int2=3;  g: g32=0 g64=1 g128=2 per-channel=3;  asym: 0/1
//   1056..1063  NF4:      nf4=1056, nf4_dq=1057
//   1064..1071  FP8:      fp8_e4m3=1064, fp8_e5m2=1065, fp8_e4m3_pt=1066, fp8_e5m2_pt=1067
//   1072..1079  FP4:      fp4_e2m1=1072
//   1080..1087  ternary:  ternary_g64=1080
#pragma once

#include <cstdint>
#include <span>

#include "core/x86_kernel.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

std::span<const type_traits> lowbit_format_rows();

// Named ids of the extension types (values of lowbit::type).
namespace ext_type {
constexpr type int_type(int width_index, int group_index, bool asym) {
    return static_cast<type>(k_lowbit_type_base + 8 * width_index + 2 * group_index + (asym ? 1 : 0));
}
#define LOWBIT_INT_IDS(W, WI)                                        \
    inline constexpr type int##W##_g32 = int_type(WI, 0, false);      \
    inline constexpr type int##W##_g32_asym = int_type(WI, 0, true);  \
    inline constexpr type int##W##_g64 = int_type(WI, 1, false);      \
    inline constexpr type int##W##_g64_asym = int_type(WI, 1, true);  \
    inline constexpr type int##W##_g128 = int_type(WI, 2, false);     \
    inline constexpr type int##W##_g128_asym = int_type(WI, 2, true); \
    inline constexpr type int##W##_pc = int_type(WI, 3, false);       \
    inline constexpr type int##W##_pc_asym = int_type(WI, 3, true);
LOWBIT_INT_IDS(8, 0)
LOWBIT_INT_IDS(4, 1)
LOWBIT_INT_IDS(3, 2)
LOWBIT_INT_IDS(2, 3)
#undef LOWBIT_INT_IDS
inline constexpr type nf4 = static_cast<type>(1056);
inline constexpr type nf4_dq = static_cast<type>(1057);
inline constexpr type fp8_e4m3 = static_cast<type>(1064);
inline constexpr type fp8_e5m2 = static_cast<type>(1065);
inline constexpr type fp8_e4m3_pt = static_cast<type>(1066);
inline constexpr type fp8_e5m2_pt = static_cast<type>(1067);
inline constexpr type fp4_e2m1 = static_cast<type>(1072);
inline constexpr type ternary_g64 = static_cast<type>(1080);
}  // namespace ext_type

// ---- scalar reference row codecs ----------------------------------------------------------------
// Every function works on one row of any length n >= 1: group formats zero-pad the last block,
// per-row formats (g = 0) store one header per row. Encoders read n floats and write exactly
// row_bytes(n) bytes; decoders write exactly n floats. Non-finite inputs are read as 0 (see
// docs/formats.md, "non-finite weights"); importance is ignored by these reference encoders.

// INT<bits>, group g (32/64/128) or per channel (g = 0), symmetric or asymmetric.
template <int Bits, int G, bool Asym>
void dequantize_row_int__ref(const void* src, float* dst, int64_t n);
template <int Bits, int G, bool Asym>
void quantize_row_int__ref(const float* src, void* dst, int64_t n, const float* importance);
template <int Bits, bool Asym>
size_t row_bytes_int_pc(int64_t n);

void dequantize_row_nf4__ref(const void* src, float* dst, int64_t n);
void quantize_row_nf4__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_nf4_dq__ref(const void* src, float* dst, int64_t n);
void quantize_row_nf4_dq__ref(const float* src, void* dst, int64_t n, const float* importance);

void dequantize_row_fp8_e4m3__ref(const void* src, float* dst, int64_t n);
void quantize_row_fp8_e4m3__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_fp8_e5m2__ref(const void* src, float* dst, int64_t n);
void quantize_row_fp8_e5m2__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_fp8_e4m3_pt__ref(const void* src, float* dst, int64_t n);
void quantize_row_fp8_e4m3_pt__ref(const float* src, void* dst, int64_t n, const float* importance);
void dequantize_row_fp8_e5m2_pt__ref(const void* src, float* dst, int64_t n);
void quantize_row_fp8_e5m2_pt__ref(const float* src, void* dst, int64_t n, const float* importance);
size_t row_bytes_fp8_pt(int64_t n);
// The flat index (row * n_cols + column) of the first weight of n_rows stored rows of FP8 type t whose
// code is not finite (E4M3 NaN 0x7F / 0xFF; E5M2 Inf / NaN, exponent 31), or -1 (also for any other
// type). The encoders never write such codes; model loading rejects files that hold them, since the
// AVX2 tile kernels decode them as finite values where the references give NaN / Inf.
int64_t find_nonfinite_fp8(type t, const uint8_t* rows, size_t row_stride, int64_t n_rows, int64_t n_cols);

void dequantize_row_fp4_e2m1__ref(const void* src, float* dst, int64_t n);
void quantize_row_fp4_e2m1__ref(const float* src, void* dst, int64_t n, const float* importance);

void dequantize_row_ternary_g64__ref(const void* src, float* dst, int64_t n);
void quantize_row_ternary_g64__ref(const float* src, void* dst, int64_t n, const float* importance);

// ---- AVX2 decoders (lowbit_formats_avx2.cpp), bit-exact with the references; call only when
// active_isa_tier() >= avx2 (the format table's dispatch does this) ---------------------------------
template <int Bits, int G, bool Asym>
LOWBIT_X86_KERNEL void dequantize_row_int__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_nf4__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_nf4_dq__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_fp8_e4m3__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_fp8_e5m2__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_fp8_e4m3_pt__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_fp8_e5m2_pt__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_fp4_e2m1__avx2(const void* src, float* dst, int64_t n);
LOWBIT_X86_KERNEL void dequantize_row_ternary_g64__avx2(const void* src, float* dst, int64_t n);

}  // namespace lowbit
