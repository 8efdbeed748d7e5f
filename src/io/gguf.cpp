// GGUF v2/v3 reader and writer. Layout (all little-endian; docs/gguf.md):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x { string key | u32 value type | value }          string = u64 length + bytes (no NUL)
//   n_tensors x { string name | u32 n_dims | i64 dims[n_dims] | u32 tensor type | u64 offset }
//   zero padding to `general.alignment` (default 32) | tensor data (each at an aligned offset)
// The reader checks every count, length, shape and offset against the bytes that exist before it
// allocates anything (a lying count fails fast), and hands out pointers into the memory mapping.
#include "lowbit/gguf.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/mmap.hpp"
#include "io/byte_reader.hpp"
#include "lowbit/error.hpp"

namespace lowbit {
namespace {

constexpr uint32_t k_gguf_magic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr size_t k_default_alignment = 32;
constexpr uint32_t k_max_dims = 4;               // GGML_MAX_DIMS
constexpr int k_max_array_depth = 8;             // nested arrays deeper than this are refused
constexpr uint64_t k_max_metadata_values = 1ull << 24;  // all array elements of a file together
constexpr uint64_t k_max_elements = 1ull << 56;  // elements of one tensor
constexpr const char* k_alignment_key = "general.alignment";
constexpr const char* k_requires_key = "lowbit.requires";
constexpr const char* k_requires_value = "lowbit-extension-types";

bool valid_gguf_type(uint32_t t) { return t <= static_cast<uint32_t>(gguf_type::f64); }

// Bytes of one scalar on disk (0 for string/array, whose size varies).
size_t scalar_size(gguf_type t) {
    switch (t) {
        case gguf_type::u8: case gguf_type::i8: case gguf_type::boolean: return 1;
        case gguf_type::u16: case gguf_type::i16: return 2;
        case gguf_type::u32: case gguf_type::i32: case gguf_type::f32: return 4;
        case gguf_type::u64: case gguf_type::i64: case gguf_type::f64: return 8;
        case gguf_type::string: case gguf_type::array: return 0;
    }
    return 0;
}

// The fewest bytes one value of type `t` can occupy (string: its length; array: type + count).
size_t min_value_size(gguf_type t) {
    if (t == gguf_type::string) return 8;
    if (t == gguf_type::array) return 12;
    return scalar_size(t);
}

bool is_unsigned(gguf_type t) {
    return t == gguf_type::u8 || t == gguf_type::u16 || t == gguf_type::u32 || t == gguf_type::u64;
}
bool is_signed(gguf_type t) {
    return t == gguf_type::i8 || t == gguf_type::i16 || t == gguf_type::i32 || t == gguf_type::i64;
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// ---- reading ------------------------------------------------------------------------------------

struct value_parser {
    byte_reader& r;
    uint64_t n_values = 0;  // array elements parsed so far (bounded by k_max_metadata_values)

    gguf_value parse(gguf_type t, const std::string& field, int depth) {
        gguf_value v;
        v.type = t;
        switch (t) {
            case gguf_type::u8: v.scalar = uint64_t{r.read_u8(field)}; break;
            case gguf_type::i8: v.scalar = int64_t{r.read_i8(field)}; break;
            case gguf_type::u16: v.scalar = uint64_t{r.read_u16(field)}; break;
            case gguf_type::i16: v.scalar = int64_t{r.read_i16(field)}; break;
            case gguf_type::u32: v.scalar = uint64_t{r.read_u32(field)}; break;
            case gguf_type::i32: v.scalar = int64_t{r.read_i32(field)}; break;
            case gguf_type::u64: v.scalar = r.read_u64(field); break;
            case gguf_type::i64: v.scalar = r.read_i64(field); break;
            case gguf_type::f32: v.scalar = double{r.read_f32(field)}; break;
            case gguf_type::f64: v.scalar = r.read_f64(field); break;
            case gguf_type::boolean: {
                const size_t at = r.position();
                const uint8_t b = r.read_u8(field);
                if (b > 1) fail("{}: {} at offset {}: bool value {} is not 0 or 1", r.path(), field, at, b);
                v.scalar = b != 0;
                break;
            }
            case gguf_type::string: v.scalar = r.read_string(field); break;
            case gguf_type::array: {
                const size_t at = r.position();
                if (depth >= k_max_array_depth)
                    fail("{}: {} at offset {}: arrays nested deeper than {} levels", r.path(), field, at,
                         k_max_array_depth);
                const uint32_t et = r.read_u32(field + " (array element type)");
                if (!valid_gguf_type(et))
                    fail("{}: {} at offset {}: unknown array element type {} (known: 0..12)", r.path(), field,
                         at, et);
                v.elem_type = static_cast<gguf_type>(et);
                const uint64_t n = r.read_u64(field + " (array length)");
                const size_t min = min_value_size(v.elem_type);
                if (n > r.remaining() / min)
                    fail("{}: {} at offset {}: array length {} of {} needs at least {} bytes each, only {} "
                         "remain (size {})",
                         r.path(), field, at, n, gguf_type_name(v.elem_type), min, r.remaining(), r.size());
                n_values += n;
                if (n_values > k_max_metadata_values)
                    fail("{}: {} at offset {}: metadata arrays hold more than {} values in all", r.path(),
                         field, at, k_max_metadata_values);
                v.array.reserve(static_cast<size_t>(n));
                for (uint64_t i = 0; i < n; ++i) v.array.push_back(parse(v.elem_type, field, depth + 1));
                break;
            }
        }
        return v;
    }
};

}  // namespace

// ---- gguf_value ---------------------------------------------------------------------------------

const char* gguf_type_name(gguf_type t) {
    switch (t) {
        case gguf_type::u8: return "u8";
        case gguf_type::i8: return "i8";
        case gguf_type::u16: return "u16";
        case gguf_type::i16: return "i16";
        case gguf_type::u32: return "u32";
        case gguf_type::i32: return "i32";
        case gguf_type::f32: return "f32";
        case gguf_type::boolean: return "bool";
        case gguf_type::string: return "string";
        case gguf_type::array: return "array";
        case gguf_type::u64: return "u64";
        case gguf_type::i64: return "i64";
        case gguf_type::f64: return "f64";
    }
    return "unknown";
}

namespace {
gguf_value make(gguf_type t, std::variant<uint64_t, int64_t, double, bool, std::string> s) {
    gguf_value v;
    v.type = t;
    v.scalar = std::move(s);
    return v;
}
}  // namespace

gguf_value gguf_value::u8(uint8_t v) { return make(gguf_type::u8, uint64_t{v}); }
gguf_value gguf_value::i8(int8_t v) { return make(gguf_type::i8, int64_t{v}); }
gguf_value gguf_value::u16(uint16_t v) { return make(gguf_type::u16, uint64_t{v}); }
gguf_value gguf_value::i16(int16_t v) { return make(gguf_type::i16, int64_t{v}); }
gguf_value gguf_value::u32(uint32_t v) { return make(gguf_type::u32, uint64_t{v}); }
gguf_value gguf_value::i32(int32_t v) { return make(gguf_type::i32, int64_t{v}); }
gguf_value gguf_value::u64(uint64_t v) { return make(gguf_type::u64, v); }
gguf_value gguf_value::i64(int64_t v) { return make(gguf_type::i64, v); }
gguf_value gguf_value::f32(float v) { return make(gguf_type::f32, double{v}); }
gguf_value gguf_value::f64(double v) { return make(gguf_type::f64, v); }
gguf_value gguf_value::boolean(bool v) { return make(gguf_type::boolean, v); }
gguf_value gguf_value::str(std::string v) { return make(gguf_type::string, std::move(v)); }

gguf_value gguf_value::arr(gguf_type elem, std::vector<gguf_value> items) {
    for (size_t i = 0; i < items.size(); ++i)
        LOWBIT_REQUIRE(items[i].type == elem, "gguf array of {}: element {} has type {}", gguf_type_name(elem),
                       i, gguf_type_name(items[i].type));
    gguf_value v;
    v.type = gguf_type::array;
    v.elem_type = elem;
    v.array = std::move(items);
    return v;
}

gguf_value gguf_value::str_array(const std::vector<std::string>& items) {
    std::vector<gguf_value> a;
    a.reserve(items.size());
    for (const auto& s : items) a.push_back(str(s));
    return arr(gguf_type::string, std::move(a));
}

gguf_value gguf_value::f32_array(const std::vector<float>& items) {
    std::vector<gguf_value> a;
    a.reserve(items.size());
    for (float x : items) a.push_back(f32(x));
    return arr(gguf_type::f32, std::move(a));
}

gguf_value gguf_value::i32_array(const std::vector<int32_t>& items) {
    std::vector<gguf_value> a;
    a.reserve(items.size());
    for (int32_t x : items) a.push_back(i32(x));
    return arr(gguf_type::i32, std::move(a));
}

bool gguf_value::is_integer() const { return is_unsigned(type) || is_signed(type); }
bool gguf_value::is_float() const { return type == gguf_type::f32 || type == gguf_type::f64; }

uint64_t gguf_value::as_u64() const {
    if (is_unsigned(type)) return std::get<uint64_t>(scalar);
    if (is_signed(type)) {
        const int64_t v = std::get<int64_t>(scalar);
        LOWBIT_REQUIRE(v >= 0, "gguf value {} ({}) is negative, expected an unsigned integer", v,
                       gguf_type_name(type));
        return static_cast<uint64_t>(v);
    }
    fail("gguf value of type {} is not an integer", gguf_type_name(type));
}

int64_t gguf_value::as_i64() const {
    if (is_signed(type)) return std::get<int64_t>(scalar);
    if (is_unsigned(type)) {
        const uint64_t v = std::get<uint64_t>(scalar);
        LOWBIT_REQUIRE(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                       "gguf value {} ({}) does not fit in i64", v, gguf_type_name(type));
        return static_cast<int64_t>(v);
    }
    fail("gguf value of type {} is not an integer", gguf_type_name(type));
}

double gguf_value::as_f64() const {
    if (is_float()) return std::get<double>(scalar);
    if (is_unsigned(type)) return static_cast<double>(std::get<uint64_t>(scalar));
    if (is_signed(type)) return static_cast<double>(std::get<int64_t>(scalar));
    fail("gguf value of type {} is not a number", gguf_type_name(type));
}

bool gguf_value::as_bool() const {
    LOWBIT_REQUIRE(type == gguf_type::boolean, "gguf value of type {} is not a bool", gguf_type_name(type));
    return std::get<bool>(scalar);
}

const std::string& gguf_value::as_string() const {
    LOWBIT_REQUIRE(type == gguf_type::string, "gguf value of type {} is not a string", gguf_type_name(type));
    return std::get<std::string>(scalar);
}

std::string gguf_value::to_display() const {
    switch (type) {
        case gguf_type::array:
            return fmt::format("[{} x {}]", gguf_type_name(elem_type), array.size());
        case gguf_type::string: {
            const std::string& s = std::get<std::string>(scalar);
            constexpr size_t k_max = 80;
            std::string out = "\"";
            for (size_t i = 0; i < s.size() && i < k_max; ++i) {
                const unsigned char c = static_cast<unsigned char>(s[i]);
                if (c == '"' || c == '\\') out += fmt::format("\\{}", static_cast<char>(c));
                else if (c == '\n') out += "\\n";
                else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
                else out += static_cast<char>(c);
            }
            if (s.size() > k_max) out += fmt::format("...({} bytes)", s.size());
            return out + "\"";
        }
        case gguf_type::boolean: return std::get<bool>(scalar) ? "true" : "false";
        case gguf_type::f32: return fmt::format("{}", static_cast<float>(std::get<double>(scalar)));
        case gguf_type::f64: return fmt::format("{}", std::get<double>(scalar));
        default:
            if (is_unsigned(type)) return std::to_string(std::get<uint64_t>(scalar));
            return std::to_string(std::get<int64_t>(scalar));
    }
}

bool gguf_value::operator==(const gguf_value& o) const {
    if (type != o.type) return false;
    if (type == gguf_type::array) return elem_type == o.elem_type && array == o.array;
    if (scalar.index() != o.scalar.index()) return false;
    // Floats compare by bits, so NaN payloads and -0.0 survive a round trip as "equal".
    if (is_float())
        return std::bit_cast<uint64_t>(std::get<double>(scalar)) == std::bit_cast<uint64_t>(std::get<double>(o.scalar));
    return scalar == o.scalar;
}

int64_t tensor_info::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// ---- gguf_file ----------------------------------------------------------------------------------

gguf_file gguf_file::open(const std::string& path) {
    gguf_file f;
    f.path_ = path;
    f.map_ = mapped_file::open(path);
    const size_t file_size = f.map_->size();
    byte_reader r(f.map_->data(), file_size, path);

    if (file_size < 4) fail("{}: not a GGUF file: {} bytes, too short for the magic \"GGUF\"", path, file_size);
    const uint32_t magic = r.read_u32("magic");
    if (magic != k_gguf_magic) {
        const uint8_t* m = f.map_->data();
        fail("{}: not a GGUF file: magic bytes {:02x} {:02x} {:02x} {:02x}, expected 47 47 55 46 (\"GGUF\")",
             path, m[0], m[1], m[2], m[3]);
    }
    f.version_ = r.read_u32("version");
    if (f.version_ == 1)
        fail("{}: GGUF version 1 is not supported (32-bit counts, 2023 files): re-convert the model with a "
             "current llama.cpp",
             path);
    if (f.version_ != 2 && f.version_ != 3) {
        if (__builtin_bswap32(f.version_) == 2 || __builtin_bswap32(f.version_) == 3)
            fail("{}: big-endian GGUF (version field {:#x}) is not supported", path, f.version_);
        fail("{}: unsupported GGUF version {} (lowbit reads versions 2 and 3)", path, f.version_);
    }
    const uint64_t n_tensors = r.read_u64("tensor_count");
    const uint64_t n_kv = r.read_u64("kv_count");
    // Each kv takes at least 13 bytes (key length, value type, 1-byte value) and each tensor info at
    // least 24 (name length, n_dims, type, offset): counts that cannot fit are lies, refused now.
    constexpr uint64_t k_min_kv = 13, k_min_tensor = 24;
    if (n_kv > r.remaining() / k_min_kv)
        fail("{}: kv_count {} cannot fit: {} bytes remain after the header (at least {} per key/value)", path,
             n_kv, r.remaining(), k_min_kv);
    if (n_tensors > (r.remaining() - n_kv * k_min_kv) / k_min_tensor)
        fail("{}: tensor_count {} cannot fit: {} bytes remain after the header for {} key/values and the "
             "tensor infos (at least {} bytes per tensor)",
             path, n_tensors, r.remaining(), n_kv, k_min_tensor);

    // ---- metadata ----
    f.kv_.reserve(static_cast<size_t>(n_kv));
    std::unordered_set<std::string> keys;
    value_parser vp{r};
    for (uint64_t i = 0; i < n_kv; ++i) {
        const size_t at = r.position();
        std::string key = r.read_string(fmt::format("key of kv #{}", i));
        if (key.empty()) fail("{}: kv #{} at offset {}: empty key", path, i, at);
        if (!keys.insert(key).second) fail("{}: duplicate metadata key '{}' (kv #{} at offset {})", path, key, i, at);
        const std::string field = fmt::format("value of '{}'", key);
        const size_t type_at = r.position();
        const uint32_t vt = r.read_u32(fmt::format("value type of '{}'", key));
        if (!valid_gguf_type(vt))
            fail("{}: '{}' at offset {}: unknown value type {} (known: 0..12)", path, key, type_at, vt);
        gguf_value v = vp.parse(static_cast<gguf_type>(vt), field, 0);
        f.kv_.emplace_back(std::move(key), std::move(v));
    }

    if (const gguf_value* a = f.find(k_alignment_key)) {
        if (!a->is_integer() || a->as_f64() < 1 || !std::has_single_bit(static_cast<uint64_t>(a->as_f64())) ||
            a->as_f64() > double(1u << 30))
            fail("{}: {} = {} ({}) is not a power of two between 1 and 2^30", path, k_alignment_key,
                 a->to_display(), gguf_type_name(a->type));
        f.alignment_ = static_cast<size_t>(a->as_u64());
    }

    // ---- tensor infos ----
    f.tensors_.reserve(static_cast<size_t>(n_tensors));
    std::unordered_set<std::string> names;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        const size_t at = r.position();
        tensor_info t;
        t.name = r.read_string(fmt::format("name of tensor #{}", i));
        if (t.name.empty()) fail("{}: tensor #{} at offset {}: empty name", path, i, at);
        if (!names.insert(t.name).second)
            fail("{}: duplicate tensor name '{}' (tensor #{} at offset {})", path, t.name, i, at);
        const std::string tf = fmt::format("tensor '{}'", t.name);
        const uint32_t n_dims = r.read_u32(tf + " n_dims");
        if (n_dims > k_max_dims) fail("{}: {}: n_dims {} exceeds the maximum of {}", path, tf, n_dims, k_max_dims);
        t.shape.resize(n_dims);
        uint64_t n_el = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const int64_t v = r.read_i64(fmt::format("{} dim {}", tf, d));
            if (v <= 0) fail("{}: {}: dimension {} is {} (must be > 0)", path, tf, d, v);
            t.shape[d] = v;
            if (__builtin_mul_overflow(n_el, static_cast<uint64_t>(v), &n_el) || n_el > k_max_elements)
                fail("{}: {}: shape {}... has more than 2^56 elements", path, tf,
                     shape_text({t.shape.begin(), t.shape.begin() + d + 1}));
        }
        const size_t type_at = r.position();
        const uint32_t tid = r.read_u32(tf + " type");
        const type_traits* tr = find_traits(tid);
        if (!tr) fail("{}: {} at offset {}: unknown tensor type id {}", path, tf, type_at, tid);
        t.t = tr->id;
        t.offset = r.read_u64(tf + " offset");

        const int64_t row_len = t.row_len();
        if (!row_supported(t.t, row_len))
            fail("{}: {}: row length {} of shape {} is not a multiple of the {} block size {}", path, tf, row_len,
                 shape_text(t.shape), tr->name, tr->block_size);
        // A lower bound on the bytes first (the table's nominal bits per weight), so absurd shapes are
        // refused before row_bytes() computes with them.
        if (tr->bits_per_weight > 0 &&
            static_cast<double>(n_el) * tr->bits_per_weight / 8.0 > static_cast<double>(file_size) + 64.0)
            fail("{}: {}: shape {} of type {} needs about {:.0f} bytes, more than the file size {}", path, tf,
                 shape_text(t.shape), tr->name, static_cast<double>(n_el) * tr->bits_per_weight / 8.0,
                 file_size);
        const uint64_t rb = row_bytes(t.t, row_len);
        uint64_t nb = 0;
        if (__builtin_mul_overflow(rb, static_cast<uint64_t>(t.n_rows()), &nb))
            fail("{}: {}: shape {} of type {}: byte size overflows", path, tf, shape_text(t.shape), tr->name);
        t.n_bytes = static_cast<size_t>(nb);
        f.tensors_.push_back(std::move(t));
    }

    // ---- data section ----
    const size_t header_end = r.position();
    const size_t pad = (f.alignment_ - header_end % f.alignment_) % f.alignment_;
    if (pad > file_size - header_end)
        fail("{}: the data section would start at offset {} (header end {} aligned to {}), past the file size {}",
             path, header_end + pad, header_end, f.alignment_, file_size);
    f.data_offset_ = header_end + pad;
    const uint64_t data_size = file_size - f.data_offset_;
    for (auto& t : f.tensors_) {
        if (t.offset % f.alignment_ != 0)
            fail("{}: tensor '{}': offset {} is not a multiple of the alignment {}", path, t.name, t.offset,
                 f.alignment_);
        if (t.offset > data_size || t.n_bytes > data_size - t.offset)
            fail("{}: tensor '{}': offset {} + {} bytes exceeds file size {} (data section starts at {})", path,
                 t.name, t.offset, t.n_bytes, file_size, f.data_offset_);
        t.data = f.map_->data() + f.data_offset_ + t.offset;
    }
    // Tensors must not overlap (llama.cpp lays them out back to back, in order).
    std::vector<const tensor_info*> by_offset;
    by_offset.reserve(f.tensors_.size());
    for (const auto& t : f.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const tensor_info* a, const tensor_info* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const tensor_info* a = by_offset[i - 1];
        const tensor_info* b = by_offset[i];
        if (a->offset + a->n_bytes > b->offset)
            fail("{}: tensor '{}' (offset {}, {} bytes) overlaps tensor '{}' at offset {}", path, a->name,
                 a->offset, a->n_bytes, b->name, b->offset);
    }
    return f;
}

size_t gguf_file::file_size() const { return map_ ? map_->size() : 0; }

const gguf_value* gguf_file::find(std::string_view key) const {
    for (const auto& kv : kv_)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

std::string gguf_file::get_string(std::string_view key, const std::string& fallback) const {
    const gguf_value* v = find(key);
    return v && v->type == gguf_type::string ? v->as_string() : fallback;
}

int64_t gguf_file::get_int(std::string_view key, int64_t fallback) const {
    const gguf_value* v = find(key);
    if (!v || !v->is_integer()) return fallback;
    if (is_unsigned(v->type) && v->as_u64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fallback;
    return v->as_i64();
}

double gguf_file::get_float(std::string_view key, double fallback) const {
    const gguf_value* v = find(key);
    return v && (v->is_float() || v->is_integer()) ? v->as_f64() : fallback;
}

const tensor_info* gguf_file::find_tensor(std::string_view name) const {
    for (const auto& t : tensors_)
        if (t.name == name) return &t;
    return nullptr;
}

// ---- gguf_writer --------------------------------------------------------------------------------

namespace {

struct byte_sink {
    std::vector<uint8_t> b;
    void put(const void* p, size_t n) {
        const auto* c = static_cast<const uint8_t*>(p);
        b.insert(b.end(), c, c + n);
    }
    template <typename T>
    void pod(T v) {
        put(&v, sizeof(T));
    }
    void str(const std::string& s) {
        pod<uint64_t>(s.size());
        put(s.data(), s.size());
    }
};

template <typename T>
const T& held(const gguf_value& v, const std::string& key) {
    if (!std::holds_alternative<T>(v.scalar))
        fail("gguf_writer: '{}': a {} value holds the wrong kind of scalar", key, gguf_type_name(v.type));
    return std::get<T>(v.scalar);
}

template <typename T>
void put_unsigned(byte_sink& s, const gguf_value& v, const std::string& key) {
    const uint64_t x = held<uint64_t>(v, key);
    LOWBIT_REQUIRE(x <= std::numeric_limits<T>::max(), "gguf_writer: '{}': value {} does not fit in {}", key, x,
                   gguf_type_name(v.type));
    s.pod<T>(static_cast<T>(x));
}

template <typename T>
void put_signed(byte_sink& s, const gguf_value& v, const std::string& key) {
    const int64_t x = held<int64_t>(v, key);
    LOWBIT_REQUIRE(x >= std::numeric_limits<T>::min() && x <= std::numeric_limits<T>::max(),
                   "gguf_writer: '{}': value {} does not fit in {}", key, x, gguf_type_name(v.type));
    s.pod<T>(static_cast<T>(x));
}

void put_value(byte_sink& s, const gguf_value& v, const std::string& key, int depth) {
    switch (v.type) {
        case gguf_type::u8: put_unsigned<uint8_t>(s, v, key); break;
        case gguf_type::u16: put_unsigned<uint16_t>(s, v, key); break;
        case gguf_type::u32: put_unsigned<uint32_t>(s, v, key); break;
        case gguf_type::u64: put_unsigned<uint64_t>(s, v, key); break;
        case gguf_type::i8: put_signed<int8_t>(s, v, key); break;
        case gguf_type::i16: put_signed<int16_t>(s, v, key); break;
        case gguf_type::i32: put_signed<int32_t>(s, v, key); break;
        case gguf_type::i64: put_signed<int64_t>(s, v, key); break;
        case gguf_type::f32: s.pod<float>(static_cast<float>(held<double>(v, key))); break;
        case gguf_type::f64: s.pod<double>(held<double>(v, key)); break;
        case gguf_type::boolean: s.pod<uint8_t>(held<bool>(v, key) ? 1 : 0); break;
        case gguf_type::string: s.str(held<std::string>(v, key)); break;
        case gguf_type::array:
            LOWBIT_REQUIRE(depth < k_max_array_depth, "gguf_writer: '{}': arrays nested deeper than {} levels", key,
                           k_max_array_depth);
            LOWBIT_REQUIRE(valid_gguf_type(static_cast<uint32_t>(v.elem_type)),
                           "gguf_writer: '{}': unknown array element type {}", key,
                           static_cast<uint32_t>(v.elem_type));
            s.pod<uint32_t>(static_cast<uint32_t>(v.elem_type));
            s.pod<uint64_t>(v.array.size());
            for (size_t i = 0; i < v.array.size(); ++i) {
                LOWBIT_REQUIRE(v.array[i].type == v.elem_type, "gguf_writer: '{}': element {} of an array of {} has type {}",
                               key, i, gguf_type_name(v.elem_type), gguf_type_name(v.array[i].type));
                put_value(s, v.array[i], key, depth + 1);
            }
            break;
        default: fail("gguf_writer: '{}': unknown value type {}", key, static_cast<uint32_t>(v.type));
    }
}

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// The serialized header (up to the data section, padding included), each tensor's offset and the
// total file size: shared by write() and file_size().
struct gguf_layout {
    std::vector<uint8_t> header;
    std::vector<uint64_t> offsets;
    size_t alignment = k_default_alignment;
    size_t total = 0;
};

template <typename Pending>
gguf_layout make_layout(const std::vector<gguf_kv>& kv, const std::vector<Pending>& tensors) {
    gguf_layout L;
    // Files holding a lowbit extension type are marked so other tools fail with a clear reason.
    bool needs_marker = false;
    for (const auto& t : tensors)
        if (static_cast<uint32_t>(t.t) >= k_lowbit_type_base) needs_marker = true;
    bool has_marker = false;
    for (const auto& [k, v] : kv) {
        if (k == k_requires_key) has_marker = true;
        if (k == k_alignment_key) {
            LOWBIT_REQUIRE(v.is_integer() && v.as_f64() >= 1 && v.as_f64() <= double(1u << 30) &&
                               std::has_single_bit(v.as_u64()),
                           "gguf_writer: {} = {} is not a power of two between 1 and 2^30", k_alignment_key,
                           v.to_display());
            L.alignment = static_cast<size_t>(v.as_u64());
        }
    }
    const bool add_marker = needs_marker && !has_marker;

    byte_sink s;
    s.pod<uint32_t>(k_gguf_magic);
    s.pod<uint32_t>(3);
    s.pod<uint64_t>(tensors.size());
    s.pod<uint64_t>(kv.size() + (add_marker ? 1 : 0));
    for (const auto& [k, v] : kv) {
        s.str(k);
        s.pod<uint32_t>(static_cast<uint32_t>(v.type));
        put_value(s, v, k, 0);
    }
    if (add_marker) {
        s.str(k_requires_key);
        s.pod<uint32_t>(static_cast<uint32_t>(gguf_type::string));
        s.str(k_requires_value);
    }
    uint64_t off = 0;
    for (const auto& t : tensors) {
        s.str(t.name);
        s.pod<uint32_t>(static_cast<uint32_t>(t.shape.size()));
        for (int64_t d : t.shape) s.pod<int64_t>(d);
        s.pod<uint32_t>(static_cast<uint32_t>(t.t));
        s.pod<uint64_t>(off);
        L.offsets.push_back(off);
        off += align_up(t.bytes.size(), L.alignment);
    }
    s.b.resize(align_up(s.b.size(), L.alignment), 0);
    L.header = std::move(s.b);
    L.total = L.header.size() + off;
    return L;
}

// write(2) all of `n` bytes; returns 0 or an errno.
int write_all(int fd, const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    while (n > 0) {
        const ssize_t w = ::write(fd, c, std::min<size_t>(n, size_t{1} << 30));
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        c += w;
        n -= static_cast<size_t>(w);
    }
    return 0;
}

int write_zeros(int fd, size_t n) {
    static const uint8_t k_zeros[4096] = {};
    while (n > 0) {
        const size_t k = std::min(n, sizeof(k_zeros));
        if (int e = write_all(fd, k_zeros, k)) return e;
        n -= k;
    }
    return 0;
}

}  // namespace

void gguf_writer::set(const std::string& key, gguf_value v) {
    LOWBIT_REQUIRE(!key.empty(), "gguf_writer: empty metadata key");
    for (auto& kv : kv_)
        if (kv.first == key) {
            kv.second = std::move(v);
            return;
        }
    kv_.emplace_back(key, std::move(v));
}

void gguf_writer::remove(const std::string& key) {
    std::erase_if(kv_, [&](const gguf_kv& kv) { return kv.first == key; });
}

const gguf_value* gguf_writer::find(std::string_view key) const {
    for (const auto& kv : kv_)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

void gguf_writer::add_tensor_view(const std::string& name, type t, std::vector<int64_t> shape,
                                  std::span<const uint8_t> bytes) {
    LOWBIT_REQUIRE(!name.empty(), "gguf_writer: empty tensor name");
    for (const auto& p : tensors_)
        LOWBIT_REQUIRE(p.name != name, "gguf_writer: duplicate tensor name '{}'", name);
    const type_traits* tr = find_traits(static_cast<uint32_t>(t));
    LOWBIT_REQUIRE(tr != nullptr, "gguf_writer: tensor '{}': unknown tensor type id {}", name,
                   static_cast<uint32_t>(t));
    LOWBIT_REQUIRE(shape.size() <= k_max_dims, "gguf_writer: tensor '{}': {} dimensions, at most {}", name,
                   shape.size(), k_max_dims);
    uint64_t n_el = 1;
    for (int64_t d : shape) {
        LOWBIT_REQUIRE(d > 0, "gguf_writer: tensor '{}': shape {} has a dimension <= 0", name, shape_text(shape));
        LOWBIT_REQUIRE(!__builtin_mul_overflow(n_el, static_cast<uint64_t>(d), &n_el) && n_el <= k_max_elements,
                       "gguf_writer: tensor '{}': shape {} has too many elements", name, shape_text(shape));
    }
    const int64_t row_len = shape.empty() ? 1 : shape[0];
    LOWBIT_REQUIRE(row_supported(t, row_len), "gguf_writer: tensor '{}': row length {} does not fit {} blocks of {}",
                   name, row_len, tr->name, tr->block_size);
    const uint64_t want = static_cast<uint64_t>(n_el / row_len) * row_bytes(t, row_len);
    LOWBIT_REQUIRE(bytes.size() == want, "gguf_writer: tensor '{}': {} bytes given, shape {} of {} needs {}", name,
                   bytes.size(), shape_text(shape), tr->name, want);
    tensors_.push_back(pending{name, t, std::move(shape), bytes, nullptr});
}

void gguf_writer::add_tensor(const std::string& name, type t, std::vector<int64_t> shape,
                             std::vector<uint8_t> bytes) {
    auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    add_tensor_view(name, t, std::move(shape), std::span<const uint8_t>(*owned));
    tensors_.back().owned = std::move(owned);
}

size_t gguf_writer::file_size() const { return make_layout(kv_, tensors_).total; }

void gguf_writer::write(const std::string& path) const {
    const gguf_layout L = make_layout(kv_, tensors_);
    std::string tmp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) fail("{}: cannot create temporary file {}: {}", path, tmp, std::strerror(errno));
    int err = ::fchmod(fd, 0644) != 0 ? errno : 0;
    const char* what = "set permissions on";
    if (!err) {
        what = "write";
        err = write_all(fd, L.header.data(), L.header.size());
    }
    for (size_t i = 0; i < tensors_.size() && !err; ++i) {
        const auto& t = tensors_[i];
        err = write_all(fd, t.bytes.data(), t.bytes.size());
        if (!err) err = write_zeros(fd, align_up(t.bytes.size(), L.alignment) - t.bytes.size());
    }
    if (!err && ::fsync(fd) != 0) {
        what = "flush";
        err = errno;
    }
    if (::close(fd) != 0 && !err) {
        what = "close";
        err = errno;
    }
    if (!err && ::rename(tmp.c_str(), path.c_str()) != 0) {
        what = "rename the temporary file onto";
        err = errno;
    }
    if (err) {
        ::unlink(tmp.c_str());
        fail("{}: cannot {} the output file ({} bytes, via {}): {}; the temporary file was removed", path, what,
             L.total, tmp, std::strerror(err));
    }
}

}  // namespace lowbit
