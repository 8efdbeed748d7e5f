// libFuzzer target (scripts/fuzz.sh): the input is a model file. It goes the way `lowbit` takes a
// user's file: load_model (GGUF, safetensors or llama2.c, told apart by content), the tokenizer from its
// metadata, llama_model (checks, repacking) and one two-token decode. Bad input must end in
// lowbit::error; anything else (a sanitizer report, another exception, a timeout) is a finding.
// Environment: FUZZ_TOKENIZER = a llama2.c tokenizer file for llama2.c checkpoints.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"

namespace {

std::string g_path;  // the input's bytes go here: the loaders read files (memory-mapped)
lowbit::load_options g_opt;

bool write_file(const uint8_t* data, size_t size) {
    FILE* f = std::fopen(g_path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    const char* dir = std::getenv("TMPDIR");
    g_path = std::string(dir && *dir ? dir : "/tmp") + "/lowbit-fuzz-" + std::to_string(getpid()) + ".model";
    if (const char* tok = std::getenv("FUZZ_TOKENIZER")) g_opt.tokenizer_path = tok;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (!write_file(data, size)) std::abort();  // the harness, not the input: stop loudly
    try {
        lowbit::model_data m = lowbit::load_model(g_path, g_opt);
        try {
            if (auto tok = lowbit::tokenizer::from_model(m)) tok->encode("Once upon a time", true);
        } catch (const lowbit::error&) {
        }
        auto model = std::make_shared<const lowbit::llama_model>(std::move(m), g_opt);
        lowbit::context_options co;
        co.n_ctx = 8;
        co.n_threads = 1;
        lowbit::llama_context ctx(model, co);
        const std::vector<int32_t> tokens = {1, 2};
        ctx.decode_last(tokens);
    } catch (const lowbit::error&) {
    }
    std::remove(g_path.c_str());
    return 0;
}
