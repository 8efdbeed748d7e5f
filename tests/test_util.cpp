#include "test_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lowbit::test {

std::string shared_dir() {
    if (const char* e = std::getenv("LOWBIT_SHARED"); e && *e) return e;
    return LOWBIT_SHARED_DEFAULT;
}

std::string shared_path(const std::string& rel) { return shared_dir() + "/" + rel; }

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const void* data, size_t n) {
    std::ofstream f(path, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) throw std::runtime_error("cannot write " + path);
}

namespace {
struct temp_root {
    std::string path;
    temp_root() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lowbit-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~temp_root() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};
}  // namespace

std::string temp_dir() {
    static temp_root root;
    static int counter = 0;
    std::string d = root.path + "/" + std::to_string(counter++);
    std::filesystem::create_directories(d);
    return d;
}

cli_result run_cli(const std::string& args) {
    const std::string emulator = LOWBIT_CLI_EMULATOR;  // a cross build's qemu, else empty
    std::string cmd =
        (emulator.empty() ? "" : emulator + " ") + "\"" + LOWBIT_CLI_PATH + "\" " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    std::string out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int st = pclose(p);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return {code, out};
}

}  // namespace lowbit::test
