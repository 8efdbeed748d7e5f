// UTF-8 decoding, code-point classes and the GPT-2 byte map. The class table is generated data
// (src/model/unicode_data.cpp, from scripts/gen_unicode_data.py).
#include "model/unicode.hpp"

#include <algorithm>

namespace lowbit::unicode {

extern const uint32_t k_class_ranges[];
extern const size_t k_n_class_ranges;

uint32_t decode_utf8(std::string_view s, size_t pos, size_t& n) {
    const auto b0 = static_cast<uint8_t>(s[pos]);
    const size_t left = s.size() - pos;
    auto cont = [&](size_t i) { return i < left && (static_cast<uint8_t>(s[pos + i]) & 0xC0) == 0x80; };
    auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[pos + i])); };
    n = 1;
    if (b0 < 0x80) return b0;
    // Same acceptance as llama.cpp: lead bits pick the length, continuation bytes must follow;
    // overlong forms and surrogates are accepted as they are there.
    if ((b0 & 0x40) == 0) return 0xFFFD;
    if ((b0 & 0x20) == 0) {
        if (!cont(1)) return 0xFFFD;
        n = 2;
        return ((b0 & 0x1Fu) << 6) | (byte(1) & 0x3F);
    }
    if ((b0 & 0x10) == 0) {
        if (!cont(1) || !cont(2)) return 0xFFFD;
        n = 3;
        return ((b0 & 0x0Fu) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    }
    if ((b0 & 0x08) == 0) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0xFFFD;
        n = 4;
        return ((b0 & 0x07u) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    }
    return 0xFFFD;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

namespace {

struct ascii_table {
    std::array<cp_class, 128> cls{};
    ascii_table() {
        for (uint32_t c = 0; c < 128; ++c) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) cls[c] = cp_class::letter;
            else if (c >= '0' && c <= '9') cls[c] = cp_class::number;
            else cls[c] = cp_class::other;
        }
        // Unicode general category P among ASCII: !"#%&'()*,-./:;?@[\]_{}
        for (char c : std::string_view("!\"#%&'()*,-./:;?@[\\]_{}")) cls[static_cast<uint8_t>(c)] = cp_class::punct;
    }
};

}  // namespace

cp_class classify(uint32_t cp) {
    static const ascii_table k_ascii;
    if (cp < 128) return k_ascii.cls[cp];
    if (cp >= 0x110000) return cp_class::other;
    const uint32_t key = (cp << 2) | 3;
    const uint32_t* end = k_class_ranges + k_n_class_ranges;
    const uint32_t* it = std::upper_bound(k_class_ranges, end, key);  // first start > cp
    return static_cast<cp_class>(it[-1] & 3);
}

bool is_whitespace(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    switch (cp) {
        case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
        case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

namespace {

struct byte_map {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 512> from_cp{};  // images are all < 512
    byte_map() {
        from_cp.fill(-1);
        uint32_t n = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            to_cp[b] = printable ? b : 256 + n++;
            from_cp[to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};
const byte_map& bytes() {
    static const byte_map k_map;
    return k_map;
}

}  // namespace

uint32_t byte_to_cp(uint8_t b) { return bytes().to_cp[b]; }

int cp_to_byte(uint32_t cp) { return cp < 512 ? bytes().from_cp[cp] : -1; }

}  // namespace lowbit::unicode
