#include "recipe/calib_cache.hpp"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/sha256.hpp"
#include "lowbit/error.hpp"

namespace lowbit::recipe {

namespace {

constexpr char k_magic[8] = {'L', 'B', 'C', 'A', 'L', '0', '0', '1'};

void hash_file_into(sha256& h, const std::string& path, bool with_length) {
    std::ifstream f(path, std::ios::binary);
    LOWBIT_REQUIRE(f.good(), "{}: cannot open for hashing", path);
    if (with_length) {
        std::error_code ec;
        const uint64_t n = std::filesystem::file_size(path, ec);
        LOWBIT_REQUIRE(!ec, "{}: cannot read size: {}", path, ec.message());
        h.update(&n, sizeof(n));
    }
    std::vector<char> buf(1 << 20);
    while (f) {
        f.read(buf.data(), std::streamsize(buf.size()));
        const auto got = f.gcount();
        if (got > 0) h.update(buf.data(), size_t(got));
    }
    LOWBIT_REQUIRE(f.eof(), "{}: read error while hashing", path);
}

template <class T>
void put(std::string& s, const T& v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

}  // namespace

std::string file_sha256(const std::string& path) {
    sha256 h;
    hash_file_into(h, path, false);
    return h.hex_digest();
}

std::string files_sha256(const std::vector<std::string>& paths) {
    sha256 h;
    for (const auto& p : paths) hash_file_into(h, p, true);
    return h.hex_digest();
}

std::string file_sha256_memo(const std::string& path, const std::string& cache_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string abs = fs::absolute(path, ec).lexically_normal().string();
    const uint64_t size = fs::file_size(path, ec);
    LOWBIT_REQUIRE(!ec, "{}: cannot read size: {}", path, ec.message());
    const auto mtime = fs::last_write_time(path, ec);
    LOWBIT_REQUIRE(!ec, "{}: cannot read modification time: {}", path, ec.message());
    const std::string stamp = fmt::format("{} {}", size, mtime.time_since_epoch().count());
    const fs::path memo = fs::path(cache_dir) / "files" / (sha256_hex(abs.data(), abs.size()) + ".txt");
    {
        std::ifstream f(memo);
        std::string line;
        if (f && std::getline(f, line) && line.size() == stamp.size() + 1 + 64 && line.compare(0, stamp.size(), stamp) == 0 &&
            line[stamp.size()] == ' ')
            return line.substr(stamp.size() + 1);
    }
    const std::string h = file_sha256(path);
    fs::create_directories(memo.parent_path(), ec);
    if (!ec) {
        const std::string tmp = memo.string() + ".tmp";
        std::ofstream f(tmp, std::ios::trunc);
        f << stamp << ' ' << h << '\n';
        f.close();
        if (f.good()) fs::rename(tmp, memo, ec);
    }
    return h;  // a memo that cannot be written only costs the next run a rehash
}

std::string calibration_key(const std::string& model_sha256, const std::string& data_sha256,
                            const std::string& settings) {
    const std::string s = "lowbit-calib-v1\n" + model_sha256 + "\n" + data_sha256 + "\n" + settings;
    return sha256_hex(s.data(), s.size());
}

std::string calib_cache::path_for(const std::string& key) const {
    return (std::filesystem::path(dir_) / (key + ".lbcal")).string();
}

std::optional<importance_map> calib_cache::load(const std::string& key) const {
    std::ifstream f(path_for(key), std::ios::binary);
    if (!f) return std::nullopt;
    std::string b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (b.size() < sizeof(k_magic) + 4 + 32 || std::memcmp(b.data(), k_magic, sizeof(k_magic)) != 0)
        return std::nullopt;
    const size_t body = b.size() - 32;
    if (sha256_hex(b.data(), body) != [&] {
            static const char* hx = "0123456789abcdef";
            std::string s;
            for (size_t i = body; i < b.size(); ++i) {
                s += hx[uint8_t(b[i]) >> 4];
                s += hx[uint8_t(b[i]) & 15];
            }
            return s;
        }())
        return std::nullopt;
    size_t pos = sizeof(k_magic);
    auto take = [&](void* dst, size_t n) {
        if (n > body - pos) return false;
        std::memcpy(dst, b.data() + pos, n);
        pos += n;
        return true;
    };
    uint32_t n_entries = 0;
    if (!take(&n_entries, 4)) return std::nullopt;
    importance_map m;
    for (uint32_t i = 0; i < n_entries; ++i) {
        uint32_t len = 0;
        uint64_t n = 0;
        if (!take(&len, 4) || len > body - pos) return std::nullopt;
        std::string name(b.data() + pos, len);
        pos += len;
        if (!take(&n, 8) || n > (body - pos) / sizeof(float)) return std::nullopt;
        std::vector<float> v(n);
        if (!take(v.data(), n * sizeof(float))) return std::nullopt;
        m.emplace(std::move(name), std::move(v));
    }
    if (pos != body) return std::nullopt;
    return m;
}

void calib_cache::store(const std::string& key, const importance_map& m) const {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    LOWBIT_REQUIRE(!ec, "{}: cannot create cache folder: {}", dir_, ec.message());
    std::string b(k_magic, sizeof(k_magic));
    put(b, uint32_t(m.size()));
    for (const auto& [name, v] : m) {
        put(b, uint32_t(name.size()));
        b += name;
        put(b, uint64_t(v.size()));
        b.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
    sha256 h;
    h.update(b.data(), b.size());
    const auto d = h.digest();
    b.append(reinterpret_cast<const char*>(d.data()), d.size());
    const std::string path = path_for(key), tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        LOWBIT_REQUIRE(f.good(), "{}: cannot write calibration cache", tmp);
        f.write(b.data(), std::streamsize(b.size()));
        LOWBIT_REQUIRE(f.good(), "{}: write failed", tmp);
    }
    std::filesystem::rename(tmp, path, ec);
    LOWBIT_REQUIRE(!ec, "{}: cannot rename to {}: {}", tmp, path, ec.message());
}

}  // namespace lowbit::recipe
