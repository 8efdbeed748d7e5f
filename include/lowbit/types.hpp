// THE format table. Every number format lowbit can store is one row of it: ggml's tensor types with
// their on-disk ids (never renumbered; they are written into GGUF files) and lowbit's own formats with
// extension ids >= 1024. Tests, CLI listings and benchmarks iterate the table, so a new format is
// covered by adding one row. Bit layouts: docs/formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lowbit {

enum class type : uint32_t {
    // ---- ggml types (ids as in ggml.h / GGUF) ----
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    iq2_xxs = 16,
    iq2_xs = 17,
    iq3_xxs = 18,
    iq1_s = 19,
    iq4_nl = 20,
    iq3_s = 21,
    iq2_s = 22,
    iq4_xs = 23,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    iq1_m = 29,
    bf16 = 30,
    tq1_0 = 34,
    tq2_0 = 35,
    mxfp4 = 39,

    // ---- lowbit extension types (>= 1024; a file holding one is marked `lowbit.requires`) ----
    // ids are assigned in src/formats/lowbit_formats.hpp and documented in docs/formats.md
};

constexpr uint32_t k_lowbit_type_base = 1024;

// Decode one row: `n` weights from `src` (row_bytes(n) bytes) to `dst`.
using to_float_fn = void (*)(const void* src, float* dst, int64_t n);
// Encode one row: `n` floats to `dst` (row_bytes(n) bytes). `importance` (n values, may be null)
// weights the error of each column (imatrix); reference encoders ignore it when null.
using from_float_fn = void (*)(const float* src, void* dst, int64_t n, const float* importance);

struct type_traits {
    type id;
    const char* name;           // canonical lower-case name: "q4_0", "q4_k", "int4_g32", ...
    int64_t block_size;         // weights per block; 0 = one block per row (per-channel formats)
    size_t block_bytes;         // bytes per block (for block_size 0: bytes of the per-row header)
    bool is_ggml;               // a type llama.cpp can load
    bool is_quantized;
    bool pads_rows;             // rows whose length is not a multiple of block_size are zero-padded
    double bits_per_weight;     // nominal, at a row length that is a multiple of the block
    to_float_fn to_float;       // scalar reference decoder (never null for storable types)
    from_float_fn from_float;   // scalar reference encoder (null: cannot be encoded)
    type vec_dot_type;          // activation format the runtime pairs it with
    const char* description;
    // Bytes of a stored row of n weights; null = ceil(n / block_size) * block_bytes.
    size_t (*row_bytes_fn)(int64_t n) = nullptr;
    // Optional SIMD decoders, bit-exact with to_float; picked at run time from the CPU's features.
    to_float_fn to_float_avx2 = nullptr;
    to_float_fn to_float_avx512 = nullptr;
};

// All rows of the table, in id order.
std::span<const type_traits> all_types();
// The row for `t`; throws lowbit::error for an unknown id.
const type_traits& traits(type t);
// Null for an id that is not in the table.
const type_traits* find_traits(uint32_t id);
// Case-insensitive lookup by name ("Q4_0", "q4_k", "int4_g32"); nullopt if unknown.
std::optional<type> type_from_name(std::string_view name);
std::string type_name(type t);

// Whether a row of `n` weights can be stored in `t` (block multiple, or padding allowed).
bool row_supported(type t, int64_t n);
// Bytes of one stored row of `n` weights (requires row_supported).
size_t row_bytes(type t, int64_t n);

// Dispatching entry points: the fastest decoder/encoder this CPU supports (same results as the
// reference: decoders are bit-exact, encoders byte-exact).
void dequantize_row(type t, const void* src, float* dst, int64_t n);
void quantize_row(type t, const float* src, void* dst, int64_t n, const float* importance = nullptr);

}  // namespace lowbit
