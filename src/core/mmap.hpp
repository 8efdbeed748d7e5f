// Read-only memory mapping of a whole file (zero-copy model loading).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace lowbit {

class mapped_file {
public:
    // Maps `path` read-only; throws lowbit::error ("<path>: cannot open: <reason>") on failure.
    static std::shared_ptr<const mapped_file> open(const std::string& path);
    ~mapped_file();
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    mapped_file() = default;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    std::string path_;
};

}  // namespace lowbit
