// THE format table: one row per number format (ggml ids as stored in GGUF; lowbit's own rows come
// from lowbit_format_rows()). See include/lowbit/types.hpp for the meaning of each column.
#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "core/cpu.hpp"
#include "formats/ggml_iquants.hpp"
#include "formats/ggml_kquants.hpp"
#include "formats/ggml_legacy.hpp"
#include "formats/ggml_mxfp4.hpp"
#include "formats/lowbit_formats.hpp"
#include "lowbit/error.hpp"
#include "lowbit/types.hpp"

namespace lowbit {
namespace {

#define LOWBIT_GGML_ROW(T, BS, BYTES, Q, DOT, DESC)                                             \
    type_traits {                                                                               \
        type::T, #T, BS, BYTES, true, Q, false, 8.0 * (BYTES) / (BS), dequantize_row_##T##__ref, \
            quantize_row_##T##__ref, type::DOT, DESC                                            \
    }
// A row whose decoder also has an AVX2 variant, dequantize_row_<T>__avx2 (bit-exact with __ref).
#define LOWBIT_GGML_ROW_AVX2(T, BS, BYTES, Q, DOT, DESC)                                         \
    type_traits {                                                                               \
        type::T, #T, BS, BYTES, true, Q, false, 8.0 * (BYTES) / (BS), dequantize_row_##T##__ref, \
            quantize_row_##T##__ref, type::DOT, DESC, nullptr, dequantize_row_##T##__avx2       \
    }

const std::array k_ggml_rows = {
    LOWBIT_GGML_ROW(f32, 1, 4, false, f32, "IEEE binary32"),
    LOWBIT_GGML_ROW(f16, 1, 2, false, f16, "IEEE binary16"),
    LOWBIT_GGML_ROW(q4_0, 32, 18, true, q8_0, "4-bit, fp16 scale per 32, w = d*(q-8)"),
    LOWBIT_GGML_ROW(q4_1, 32, 20, true, q8_1, "4-bit, fp16 scale+min per 32, w = d*q+m"),
    LOWBIT_GGML_ROW(q5_0, 32, 22, true, q8_0, "5-bit, fp16 scale per 32, w = d*(q-16)"),
    LOWBIT_GGML_ROW(q5_1, 32, 24, true, q8_1, "5-bit, fp16 scale+min per 32, w = d*q+m"),
    LOWBIT_GGML_ROW(q8_0, 32, 34, true, q8_0, "8-bit, fp16 scale per 32, w = d*q"),
    LOWBIT_GGML_ROW(q8_1, 32, 36, true, q8_1, "8-bit, fp16 scale and sum per 32 (activations)"),
    LOWBIT_GGML_ROW_AVX2(q2_k, 256, 84, true, q8_k, "2-bit K-quant, 4-bit scales/mins per 16"),
    LOWBIT_GGML_ROW_AVX2(q3_k, 256, 110, true, q8_k, "3-bit K-quant, 6-bit scales per 16"),
    LOWBIT_GGML_ROW_AVX2(q4_k, 256, 144, true, q8_k, "4-bit K-quant, 6-bit scales/mins per 32"),
    LOWBIT_GGML_ROW_AVX2(q5_k, 256, 176, true, q8_k, "5-bit K-quant, 6-bit scales/mins per 32"),
    LOWBIT_GGML_ROW_AVX2(q6_k, 256, 210, true, q8_k, "6-bit K-quant, 8-bit scales per 16"),
    LOWBIT_GGML_ROW_AVX2(q8_k, 256, 292, true, q8_k, "8-bit, f32 scale per 256, sums per 16 (activations)"),
    LOWBIT_GGML_ROW_AVX2(iq3_xxs, 256, 98, true, q8_k, "3.06-bit lattice codebook (E8-based grid)"),
    LOWBIT_GGML_ROW_AVX2(iq4_nl, 32, 18, true, q8_0, "4-bit non-linear codebook, fp16 scale per 32"),
    LOWBIT_GGML_ROW_AVX2(iq3_s, 256, 110, true, q8_k, "3.44-bit lattice codebook with signs"),
    LOWBIT_GGML_ROW_AVX2(iq4_xs, 256, 136, true, q8_k, "4.25-bit non-linear codebook, 6-bit scales per 32"),
    LOWBIT_GGML_ROW(bf16, 1, 2, false, bf16, "bfloat16"),
    LOWBIT_GGML_ROW_AVX2(tq1_0, 256, 54, true, q8_k, "ternary, base-3 packed (1.69 bpw)"),
    LOWBIT_GGML_ROW_AVX2(tq2_0, 256, 66, true, q8_k, "ternary, 2 bits per weight"),
    LOWBIT_GGML_ROW(mxfp4, 32, 17, true, q8_0, "OCP MXFP4: E2M1 values, E8M0 shared exponent per 32"),
};
#undef LOWBIT_GGML_ROW
#undef LOWBIT_GGML_ROW_AVX2

struct table {
    std::vector<type_traits> rows;
    table() {
        rows.assign(k_ggml_rows.begin(), k_ggml_rows.end());
        // SIMD decoders of the legacy and float types (ggml_legacy_avx2.cpp).
        for (auto& r : rows) {
            if (!r.to_float_avx2) r.to_float_avx2 = ggml_legacy_to_float_avx2(r.id);
            if (!r.to_float_avx512) r.to_float_avx512 = ggml_legacy_to_float_avx512(r.id);
        }
        for (const auto& r : lowbit_format_rows()) rows.push_back(r);
        std::sort(rows.begin(), rows.end(), [](const type_traits& a, const type_traits& b) {
            return static_cast<uint32_t>(a.id) < static_cast<uint32_t>(b.id);
        });
        for (size_t i = 1; i < rows.size(); ++i) LOWBIT_ASSERT(rows[i - 1].id != rows[i].id);
    }
};

const table& the_table() {
    static const table t;
    return t;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

}  // namespace

std::span<const type_traits> all_types() { return the_table().rows; }

const type_traits* find_traits(uint32_t id) {
    const auto& rows = the_table().rows;
    auto it = std::lower_bound(rows.begin(), rows.end(), id, [](const type_traits& r, uint32_t v) {
        return static_cast<uint32_t>(r.id) < v;
    });
    return (it != rows.end() && static_cast<uint32_t>(it->id) == id) ? &*it : nullptr;
}

const type_traits& traits(type t) {
    const type_traits* r = find_traits(static_cast<uint32_t>(t));
    LOWBIT_REQUIRE(r != nullptr, "unknown tensor type id {}", static_cast<uint32_t>(t));
    return *r;
}

std::optional<type> type_from_name(std::string_view name) {
    for (const auto& r : all_types())
        if (iequals(r.name, name)) return r.id;
    return std::nullopt;
}

std::string type_name(type t) {
    const type_traits* r = find_traits(static_cast<uint32_t>(t));
    return r ? r->name : "type#" + std::to_string(static_cast<uint32_t>(t));
}

bool row_supported(type t, int64_t n) {
    const auto& tr = traits(t);
    if (n <= 0) return false;
    if (tr.block_size <= 1) return true;
    return tr.pads_rows || n % tr.block_size == 0;
}

size_t row_bytes(type t, int64_t n) {
    const auto& tr = traits(t);
    if (tr.row_bytes_fn) return tr.row_bytes_fn(n);
    const int64_t bs = tr.block_size > 0 ? tr.block_size : n;
    return static_cast<size_t>((n + bs - 1) / bs) * tr.block_bytes;
}

void dequantize_row(type t, const void* src, float* dst, int64_t n) {
    const auto& tr = traits(t);
    const isa_tier tier = active_isa_tier();
    if (tr.to_float_avx512 && tier >= isa_tier::avx512) return tr.to_float_avx512(src, dst, n);
    if (tr.to_float_avx2 && tier >= isa_tier::avx2) return tr.to_float_avx2(src, dst, n);
    tr.to_float(src, dst, n);
}

void quantize_row(type t, const float* src, void* dst, int64_t n, const float* importance) {
    const auto& tr = traits(t);
    LOWBIT_REQUIRE(tr.from_float != nullptr, "type {} cannot be encoded", tr.name);
    tr.from_float(src, dst, n, importance);
}

}  // namespace lowbit
