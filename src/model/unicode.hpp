// The small piece of Unicode the tokenizers need: UTF-8 decoding that never throws, code-point
// classes for the BPE pre-tokenizers (\p{L}, \p{N}, \p{P}, \s as llama.cpp defines them) and the
// GPT-2 byte <-> code point map of byte-level BPE.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lowbit::unicode {

// Length of the UTF-8 sequence a lead byte announces (1 for ASCII, stray continuation bytes and
// invalid leads), from the high nibble as llama.cpp's unicode_len_utf8 does.
inline size_t utf8_len(uint8_t lead) {
    static constexpr uint8_t k_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return k_len[lead >> 4];
}

// Decodes one code point at s[pos]; sets `n` to the bytes consumed. Invalid or truncated sequences
// decode to U+FFFD consuming one byte (llama.cpp's unicode_cpts_from_utf8 rule).
uint32_t decode_utf8(std::string_view s, size_t pos, size_t& n);
void append_utf8(std::string& out, uint32_t cp);

enum class cp_class : uint8_t { other = 0, letter = 1, number = 2, punct = 3 };
cp_class classify(uint32_t cp);
// \s of the Unicode-aware regexes: the 25 White_Space code points.
bool is_whitespace(uint32_t cp);

// GPT-2 bytes_to_unicode: byte b -> a printable code point (identity for '!'..'~', 0xA1..0xAC,
// 0xAE..0xFF; the rest shifted to 256+n).
uint32_t byte_to_cp(uint8_t b);
// Inverse: -1 when `cp` is not one of the 256 images.
int cp_to_byte(uint32_t cp);

}  // namespace lowbit::unicode
