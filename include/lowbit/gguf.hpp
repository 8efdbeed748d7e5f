// GGUF v3 reader (memory-mapped, zero-copy, every length/offset/count checked against the bytes that
// exist before anything is allocated) and writer (all metadata value types, aligned tensor data,
// written to a temporary file and renamed when complete). Spec: docs/gguf.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit {

// Metadata value types, ids as stored in GGUF.
enum class gguf_type : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8,
    array = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* gguf_type_name(gguf_type t);

// One metadata value: a scalar, a string, or an array of values of one type (arrays may nest).
struct gguf_value {
    gguf_type type = gguf_type::u32;
    gguf_type elem_type = gguf_type::u8;  // element type when type == array
    std::variant<uint64_t, int64_t, double, bool, std::string> scalar;  // by kind of `type`
    std::vector<gguf_value> array;                                      // when type == array

    static gguf_value u8(uint8_t v), i8(int8_t v), u16(uint16_t v), i16(int16_t v);
    static gguf_value u32(uint32_t v), i32(int32_t v), u64(uint64_t v), i64(int64_t v);
    static gguf_value f32(float v), f64(double v), boolean(bool v), str(std::string v);
    static gguf_value arr(gguf_type elem, std::vector<gguf_value> items);
    static gguf_value str_array(const std::vector<std::string>& items);
    static gguf_value f32_array(const std::vector<float>& items);
    static gguf_value i32_array(const std::vector<int32_t>& items);

    bool is_integer() const;
    bool is_float() const;
    // Conversions; throw lowbit::error naming the actual type when they do not apply.
    uint64_t as_u64() const;
    int64_t as_i64() const;
    double as_f64() const;
    bool as_bool() const;
    const std::string& as_string() const;
    // Short text for people: `42`, `"llama"`, `[string x 512]`.
    std::string to_display() const;
    bool operator==(const gguf_value& o) const;
};

using gguf_kv = std::pair<std::string, gguf_value>;

// A tensor as stored: ggml order of dimensions (shape[0] is the row length, the fastest-varying).
struct tensor_info {
    std::string name;
    type t = type::f32;
    std::vector<int64_t> shape;
    uint64_t offset = 0;  // from the start of the data section
    size_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping (reader) or caller memory

    int64_t n_elements() const;
    int64_t row_len() const { return shape.empty() ? 1 : shape[0]; }
    int64_t n_rows() const { return row_len() ? n_elements() / row_len() : 0; }
};

class mapped_file;

class gguf_file {
public:
    // Opens and validates `path`; throws lowbit::error naming the file, the field and the limit.
    static gguf_file open(const std::string& path);

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    size_t file_size() const;
    size_t alignment() const { return alignment_; }
    size_t data_offset() const { return data_offset_; }

    const std::vector<gguf_kv>& metadata() const { return kv_; }
    const gguf_value* find(std::string_view key) const;
    // Typed getters: the value if present (and convertible), else `fallback`.
    std::string get_string(std::string_view key, const std::string& fallback = {}) const;
    int64_t get_int(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key, double fallback) const;

    const std::vector<tensor_info>& tensors() const { return tensors_; }
    const tensor_info* find_tensor(std::string_view name) const;
    // Keeps the mapping alive for tensor_info::data pointers that outlive this object.
    std::shared_ptr<const mapped_file> mapping() const { return map_; }

private:
    std::string path_;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::vector<gguf_kv> kv_;
    std::vector<tensor_info> tensors_;
    std::shared_ptr<const mapped_file> map_;
};

class gguf_writer {
public:
    // Sets (or replaces, keeping its position) a metadata key; insertion order is file order.
    void set(const std::string& key, gguf_value v);
    void remove(const std::string& key);
    const gguf_value* find(std::string_view key) const;
    // Adds a tensor whose bytes the caller keeps alive until write() returns.
    void add_tensor_view(const std::string& name, type t, std::vector<int64_t> shape,
                         std::span<const uint8_t> bytes);
    // Adds a tensor that owns its bytes.
    void add_tensor(const std::string& name, type t, std::vector<int64_t> shape,
                    std::vector<uint8_t> bytes);
    // Writes the file to `path` + ".tmp-XXXX" and renames it over `path` when complete; on any error
    // the temporary file is removed and lowbit::error thrown. Alignment: `general.alignment` or 32.
    void write(const std::string& path) const;
    // Size the file would have.
    size_t file_size() const;

private:
    struct pending {
        std::string name;
        type t;
        std::vector<int64_t> shape;
        std::span<const uint8_t> bytes;
        std::shared_ptr<std::vector<uint8_t>> owned;
    };
    std::vector<gguf_kv> kv_;
    std::vector<pending> tensors_;
};

}  // namespace lowbit
