// On-disk cache of calibration statistics (per-tensor importance vectors, as an imatrix holds), so a
// recipe rerun with another output type reuses them instead of running the model over the
// calibration text again.
//
// Key = sha256 over "lowbit-calib-v1", the model file's sha256, the calibration data's sha256 (every
// file's bytes, in order) and a settings string (token budget, seed, window, collector version).
// Any change to the model, the text or the settings gives a new key; the type being quantized is not
// part of it. File: <dir>/<key>.lbcal, written to a temporary name and renamed when complete:
//   "LBCAL001" | u32 n_entries | per entry: u32 name_len, name, u64 n, n x f32 | 32-byte sha256 of
//   everything before it. A file that fails its checksum or bounds is treated as a miss.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::recipe {

using importance_map = std::map<std::string, std::vector<float>>;

// sha256 (hex) of a file's bytes, streamed.
std::string file_sha256(const std::string& path);
// sha256 (hex) over several files' bytes, each prefixed by its length (order matters).
std::string files_sha256(const std::vector<std::string>& paths);

// file_sha256 remembered in <cache_dir>/files/ by (absolute path, size, mtime in ns): a large model
// is hashed once, not on every run (as ccache/make trust mtimes). A changed size or mtime rehashes.
std::string file_sha256_memo(const std::string& path, const std::string& cache_dir);

std::string calibration_key(const std::string& model_sha256, const std::string& data_sha256,
                            const std::string& settings);

class calib_cache {
public:
    explicit calib_cache(std::string dir) : dir_(std::move(dir)) {}
    std::string path_for(const std::string& key) const;
    // The cached statistics, or nullopt when absent or damaged.
    std::optional<importance_map> load(const std::string& key) const;
    void store(const std::string& key, const importance_map& m) const;

    struct lookup {
        importance_map data;
        bool hit = false;
        std::string file;
    };
    // Loads the entry or computes and stores it.
    template <class F>
    lookup get_or_compute(const std::string& key, F&& compute) const {
        lookup r;
        r.file = path_for(key);
        if (auto m = load(key)) {
            r.data = std::move(*m);
            r.hit = true;
            return r;
        }
        r.data = compute();
        store(key, r.data);
        return r;
    }

private:
    std::string dir_;
};

}  // namespace lowbit::recipe
