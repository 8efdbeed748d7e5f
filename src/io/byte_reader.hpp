// A bounds-checked little-endian cursor over a byte span (a memory-mapped file or a buffer), for the
// parsers of hostile files (GGUF, safetensors, llama2.c). Every read checks the bytes that remain
// before touching them, with overflow-safe arithmetic; a failed check throws lowbit::error
//   `<path>: <field> at offset <pos>: needs <n> bytes, only <remaining> remain (size <size>)`
// so a truncated or lying file is reported by name, field, offset and limit, never read past.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "lowbit/error.hpp"

namespace lowbit {

static_assert(std::endian::native == std::endian::little, "lowbit's file readers assume a little-endian host");

class byte_reader {
public:
    byte_reader(const uint8_t* data, size_t size, std::string path)
        : data_(data), size_(size), path_(std::move(path)) {}
    byte_reader(std::span<const uint8_t> bytes, std::string path)
        : byte_reader(bytes.data(), bytes.size(), std::move(path)) {}

    const std::string& path() const { return path_; }
    size_t size() const { return size_; }
    size_t position() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }
    const uint8_t* data() const { return data_; }
    const uint8_t* current() const { return data_ + pos_; }

    // Moves the cursor to absolute offset `pos` (<= size).
    void seek(size_t pos, std::string_view field = "seek") {
        if (pos > size_) fail("{}: {}: offset {} is past the end (size {})", path_, field, pos, size_);
        pos_ = pos;
    }

    // Throws unless `n` more bytes exist.
    void require(size_t n, std::string_view field) const {
        if (n > remaining())
            fail("{}: {} at offset {}: needs {} bytes, only {} remain (size {})", path_, field, pos_, n,
                 remaining(), size_);
    }

    // Throws a lowbit::error `<path>: <field> at offset <pos>: <what>`.
    template <typename... Args>
    [[noreturn]] void fail_at(std::string_view field, fmt::format_string<Args...> f, Args&&... args) const {
        fail("{}: {} at offset {}: {}", path_, field, pos_, fmt::format(f, std::forward<Args>(args)...));
    }

    template <typename T>
    T read_pod(std::string_view field) {
        require(sizeof(T), field);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    uint8_t read_u8(std::string_view field) { return read_pod<uint8_t>(field); }
    int8_t read_i8(std::string_view field) { return read_pod<int8_t>(field); }
    uint16_t read_u16(std::string_view field) { return read_pod<uint16_t>(field); }
    int16_t read_i16(std::string_view field) { return read_pod<int16_t>(field); }
    uint32_t read_u32(std::string_view field) { return read_pod<uint32_t>(field); }
    int32_t read_i32(std::string_view field) { return read_pod<int32_t>(field); }
    uint64_t read_u64(std::string_view field) { return read_pod<uint64_t>(field); }
    int64_t read_i64(std::string_view field) { return read_pod<int64_t>(field); }
    float read_f32(std::string_view field) { return read_pod<float>(field); }
    double read_f64(std::string_view field) { return read_pod<double>(field); }

    // `n` bytes as a view into the underlying span (zero-copy).
    std::span<const uint8_t> read_bytes(size_t n, std::string_view field) {
        require(n, field);
        std::span<const uint8_t> s(data_ + pos_, n);
        pos_ += n;
        return s;
    }
    void skip(size_t n, std::string_view field) { read_bytes(n, field); }

    // `n` bytes as a string view / string.
    std::string_view read_string_view(size_t n, std::string_view field) {
        auto b = read_bytes(n, field);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }
    // A string prefixed by its u64 byte length (GGUF). The length is checked against the bytes that
    // remain before anything is allocated.
    std::string read_string(std::string_view field) {
        const size_t at = pos_;
        const uint64_t n = read_u64(field);
        if (n > remaining()) {
            const size_t rem = remaining();
            pos_ = at;
            fail("{}: {} at offset {}: string length {} exceeds the {} bytes that remain (size {})", path_,
                 field, at, n, rem, size_);
        }
        return std::string(read_string_view(static_cast<size_t>(n), field));
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    std::string path_;
};

}  // namespace lowbit
