// The rows of lowbit's own formats (extension ids >= 1024, see lowbit_formats.hpp for the id scheme),
// merged into THE format table by format_table.cpp. Bit layouts: lowbit_blocks.hpp, docs/formats.md.
#include "formats/lowbit_formats.hpp"

#include <array>

#include "formats/lowbit_blocks.hpp"

namespace lowbit {
namespace {

// Activation partner: no integer dot kernels pair with these formats yet, so the runtime decodes
// them and multiplies in f32.
constexpr type k_dot = type::f32;

template <int Bits, int G, bool Asym>
constexpr type_traits int_row(const char* name, const char* desc) {
    type_traits r{};
    r.id = ext_type::int_type(Bits == 8 ? 0 : Bits == 4 ? 1 : Bits == 3 ? 2 : 3,
                              G == 32 ? 0 : G == 64 ? 1 : G == 128 ? 2 : 3, Asym);
    r.name = name;
    r.block_size = G;
    r.is_ggml = false;
    r.is_quantized = true;
    r.to_float = dequantize_row_int__ref<Bits, G, Asym>;
    r.from_float = quantize_row_int__ref<Bits, G, Asym>;
    r.to_float_avx2 = dequantize_row_int__avx2<Bits, G, Asym>;
    r.vec_dot_type = k_dot;
    r.description = desc;
    if constexpr (G == 0) {
        r.block_bytes = Asym ? sizeof(row_header_int_asym) : sizeof(row_header_int_sym);
        r.pads_rows = false;
        r.bits_per_weight = Bits;
        r.row_bytes_fn = row_bytes_int_pc<Bits, Asym>;
    } else {
        r.block_bytes = Asym ? sizeof(block_int_asym<Bits, G>) : sizeof(block_int_sym<Bits, G>);
        r.pads_rows = true;
        r.bits_per_weight = 8.0 * static_cast<double>(r.block_bytes) / G;
    }
    return r;
}

constexpr type_traits block_row(type id, const char* name, int64_t bs, size_t bytes, to_float_fn dec,
                                to_float_fn dec_avx2, from_float_fn enc, const char* desc) {
    type_traits r{};
    r.id = id;
    r.name = name;
    r.block_size = bs;
    r.block_bytes = bytes;
    r.is_ggml = false;
    r.is_quantized = true;
    r.pads_rows = true;
    r.bits_per_weight = 8.0 * static_cast<double>(bytes) / static_cast<double>(bs);
    r.to_float = dec;
    r.from_float = enc;
    r.vec_dot_type = k_dot;
    r.description = desc;
    r.to_float_avx2 = dec_avx2;
    return r;
}

constexpr type_traits per_row(type id, const char* name, size_t header, double bpw, to_float_fn dec,
                              to_float_fn dec_avx2, from_float_fn enc, size_t (*rb)(int64_t), const char* desc) {
    type_traits r{};
    r.id = id;
    r.name = name;
    r.block_size = 0;
    r.block_bytes = header;
    r.is_ggml = false;
    r.is_quantized = true;
    r.pads_rows = false;
    r.bits_per_weight = bpw;
    r.to_float = dec;
    r.from_float = enc;
    r.vec_dot_type = k_dot;
    r.description = desc;
    r.row_bytes_fn = rb;
    r.to_float_avx2 = dec_avx2;
    return r;
}

#define LOWBIT_INT_ROWS(B)                                                                                   \
    int_row<B, 32, false>("int" #B "_g32", #B "-bit symmetric, fp16 scale per 32, w = d*q"),                 \
    int_row<B, 32, true>("int" #B "_g32_asym", #B "-bit asymmetric, fp16 scale+min per 32, w = d*u+m"),      \
    int_row<B, 64, false>("int" #B "_g64", #B "-bit symmetric, fp16 scale per 64, w = d*q"),                 \
    int_row<B, 64, true>("int" #B "_g64_asym", #B "-bit asymmetric, fp16 scale+min per 64, w = d*u+m"),      \
    int_row<B, 128, false>("int" #B "_g128", #B "-bit symmetric, fp16 scale per 128, w = d*q"),              \
    int_row<B, 128, true>("int" #B "_g128_asym", #B "-bit asymmetric, fp16 scale+min per 128, w = d*u+m"),   \
    int_row<B, 0, false>("int" #B "_pc", #B "-bit symmetric, one fp16 scale per row, w = d*q"),              \
    int_row<B, 0, true>("int" #B "_pc_asym", #B "-bit asymmetric, one fp16 scale+min per row, w = d*u+m")

const std::array k_rows = {
    LOWBIT_INT_ROWS(8),
    LOWBIT_INT_ROWS(4),
    LOWBIT_INT_ROWS(3),
    LOWBIT_INT_ROWS(2),
    block_row(ext_type::nf4, "nf4", k_qk_nf4, sizeof(block_nf4), dequantize_row_nf4__ref, dequantize_row_nf4__avx2, quantize_row_nf4__ref,
              "QLoRA NormalFloat4 codebook, fp16 absmax per 64"),
    block_row(ext_type::nf4_dq, "nf4_dq", k_qk_nf4_dq, sizeof(block_nf4_dq), dequantize_row_nf4_dq__ref, dequantize_row_nf4_dq__avx2,
              quantize_row_nf4_dq__ref, "NF4, 8-bit scales per 64 under an fp16 super-scale per 256"),
    block_row(ext_type::fp8_e4m3, "fp8_e4m3", k_qk_fp8, sizeof(block_fp8), dequantize_row_fp8_e4m3__ref, dequantize_row_fp8_e4m3__avx2,
              quantize_row_fp8_e4m3__ref, "OCP FP8 E4M3 (max 448), fp16 scale per 32"),
    block_row(ext_type::fp8_e5m2, "fp8_e5m2", k_qk_fp8, sizeof(block_fp8), dequantize_row_fp8_e5m2__ref, dequantize_row_fp8_e5m2__avx2,
              quantize_row_fp8_e5m2__ref, "OCP FP8 E5M2 (max 57344), fp16 scale per 32"),
    per_row(ext_type::fp8_e4m3_pt, "fp8_e4m3_pt", sizeof(row_header_fp8_pt), 8.0, dequantize_row_fp8_e4m3_pt__ref, dequantize_row_fp8_e4m3_pt__avx2,
            quantize_row_fp8_e4m3_pt__ref, row_bytes_fp8_pt, "OCP FP8 E4M3, one fp32 scale per row"),
    per_row(ext_type::fp8_e5m2_pt, "fp8_e5m2_pt", sizeof(row_header_fp8_pt), 8.0, dequantize_row_fp8_e5m2_pt__ref, dequantize_row_fp8_e5m2_pt__avx2,
            quantize_row_fp8_e5m2_pt__ref, row_bytes_fp8_pt, "OCP FP8 E5M2, one fp32 scale per row"),
    block_row(ext_type::fp4_e2m1, "fp4_e2m1", k_qk_fp4, sizeof(block_fp4_e2m1), dequantize_row_fp4_e2m1__ref, dequantize_row_fp4_e2m1__avx2,
              quantize_row_fp4_e2m1__ref, "OCP FP4 E2M1, fp16 scale per 32"),
    block_row(ext_type::ternary_g64, "ternary_g64", k_qk_ternary, sizeof(block_ternary),
              dequantize_row_ternary_g64__ref, dequantize_row_ternary_g64__avx2, quantize_row_ternary_g64__ref,
              "ternary {-1,0,1}, absmean-assigned, fp16 scale per 64 (2 bits each)"),
};
#undef LOWBIT_INT_ROWS

}  // namespace

std::span<const type_traits> lowbit_format_rows() { return k_rows; }

}  // namespace lowbit
