// Helpers shared by all test binaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cpu.hpp"

namespace lowbit::test {

// ../shared (or $LOWBIT_SHARED); tests that need it GTEST_SKIP when it is missing.
std::string shared_dir();
std::string shared_path(const std::string& rel);
bool file_exists(const std::string& path);
std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, const void* data, size_t n);
// A fresh empty directory under the build's temp area, removed at process exit.
std::string temp_dir();

struct cli_result {
    int exit_code;
    std::string out;  // stdout and stderr together
};
// Runs the built `lowbit` binary with `args` (a shell-quoted string).
cli_result run_cli(const std::string& args);

// f() with the generic tier's sdot build (aarch64; core/cpu.hpp) turned on or off, the setting restored
// after: the kernels a dispatcher hands out in each build.
template <class F>
auto with_dotprod(bool on, F f) {
    const bool saved = dotprod_active();
    set_dotprod(on);
    auto r = f();
    set_dotprod(saved);
    return r;
}

}  // namespace lowbit::test
