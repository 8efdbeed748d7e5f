// SHA-256 (FIPS 180-4), for checksums of de-quantized tensors and fetched files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lowbit {

class sha256 {
public:
    sha256();
    void update(const void* data, size_t n);
    std::array<uint8_t, 32> digest();
    std::string hex_digest();

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, size_t n);

}  // namespace lowbit
