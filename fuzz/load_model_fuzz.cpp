// libFuzzer target (scripts/fuzz.sh): the input is a model file. It goes the ways `lowbit` takes a
// user's file: load_model (GGUF, safetensors or llama2.c, told apart by content); quantize_model to
// FUZZ_QUANT (default q4_0, quick under the sanitizers; `none` skips it) and the result read back; the
// tokenizer from its metadata, llama_model (checks, repacking) and one two-token decode. Bad input must end
// in lowbit::error; anything else (a sanitizer report, another exception, a timeout) is a finding, and so
// is a quantized result that de-quantizes to NaN or inf (the input's weights are finite, or quantize
// refuses them).
// The input may instead be a file that goes with a fixed model (FUZZ_MODEL): a llama2.c tokenizer, a
// Hugging Face config.json or tokenizer.json, or an importance matrix for the quantize step.
// Environment:
//   FUZZ_TOKENIZER  a llama2.c tokenizer file, for llama2.c checkpoints; `input`: the input is that file;
//   FUZZ_BESIDE     a directory whose files (e.g. a Hugging Face config.json and tokenizer.json) are
//                   linked beside the input, which is then named FUZZ_NAME (default: model);
//   FUZZ_MODEL      the model to load when the input is another file: a path, or a file name in the
//                   input's directory (e.g. model.safetensors linked by FUZZ_BESIDE);
//   FUZZ_IMATRIX    `input`: the input is an importance matrix (llama.cpp's GGUF imatrix, read_imatrix)
//                   that quantize_model uses, as `lowbit quantize --imatrix`.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"
#include "quant/imatrix.hpp"

namespace {

std::string g_path;  // the input's bytes go here: the loaders read files (memory-mapped)
std::string g_quant_path, g_preset = "q4_0";
std::string g_model;     // the model to load; the input itself when empty
bool g_imatrix = false;  // the input is an importance matrix
lowbit::load_options g_opt;

bool write_file(const uint8_t* data, size_t size) {
    FILE* f = std::fopen(g_path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
}

// Oracle for the quantize step: quantize_model refuses non-finite weights in the tensors it converts,
// so those must de-quantize to finite values (a NaN / inf there is silent garbage: a finding). Tensors
// kept in their input type are copied as they are.
void check_finite(const lowbit::model_data& q, const lowbit::model_data& in) {
    std::vector<float> row;
    for (const auto& t : q.tensors) {
        const auto* src = in.find_tensor(t.name);
        if (src && src->t == t.t) continue;
        const int64_t n = t.row_len(), rows = t.n_rows();
        row.resize(static_cast<size_t>(n));
        for (int64_t r = 0; r < rows; ++r) {
            lowbit::dequantize_row(t.t, t.bytes.data() + lowbit::row_bytes(t.t, n) * static_cast<size_t>(r),
                                   row.data(), n);
            for (int64_t c = 0; c < n; ++c)
                if (!std::isfinite(row[static_cast<size_t>(c)])) {
                    std::fprintf(stderr, "fuzz: quantized tensor '%s' (%s) row %lld column %lld is %g\n",
                                 t.name.c_str(), lowbit::type_name(t.t).c_str(), static_cast<long long>(r),
                                 static_cast<long long>(c), static_cast<double>(row[static_cast<size_t>(c)]));
                    std::abort();
                }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    namespace fs = std::filesystem;
    const char* tmp = std::getenv("TMPDIR");
    const fs::path dir = fs::path(tmp && *tmp ? tmp : "/tmp") / ("lowbit-fuzz-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const char* name = std::getenv("FUZZ_NAME");
    g_path = (dir / (name && *name ? name : "model")).string();
    if (const char* beside = std::getenv("FUZZ_BESIDE"))
        for (const auto& e : fs::directory_iterator(beside))
            if (e.is_regular_file() && dir / e.path().filename() != fs::path(g_path))
                fs::create_symlink(fs::absolute(e.path()), dir / e.path().filename());
    if (const char* tok = std::getenv("FUZZ_TOKENIZER"))
        g_opt.tokenizer_path = std::string(tok) == "input" ? g_path : tok;
    if (const char* model = std::getenv("FUZZ_MODEL"))
        g_model = fs::path(model).has_parent_path() ? std::string(model) : (dir / model).string();
    if (const char* im = std::getenv("FUZZ_IMATRIX")) g_imatrix = std::string(im) == "input";
    if (const char* q = std::getenv("FUZZ_QUANT")) g_preset = q;
    g_quant_path = (dir / "quantized.gguf").string();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (!write_file(data, size)) std::abort();  // the harness, not the input: stop loudly
    try {
        lowbit::model_data m = lowbit::load_model(g_model.empty() ? g_path : g_model, g_opt);
        if (g_preset != "none") {
            try {
                lowbit::quantize_options qo;
                qo.preset = g_preset;
                qo.allow_requantize = true;
                qo.threads = 1;
                std::map<std::string, std::vector<float>> importance;  // as tools/quantize.cpp's --imatrix
                if (g_imatrix) {
                    const lowbit::imatrix_data im = lowbit::read_imatrix(g_path);
                    importance = im.importance_map();
                    qo.metadata = lowbit::imatrix_quantize_metadata(im, g_path);
                    qo.importance = [&importance](const std::string& t) -> const std::vector<float>* {
                        const auto it = importance.find(t);
                        return it == importance.end() ? nullptr : &it->second;
                    };
                }
                lowbit::quantize_model(m, g_quant_path, qo);
                check_finite(lowbit::load_model(g_quant_path), m);
            } catch (const lowbit::error&) {
            }
        }
        if (!g_imatrix) {  // with an imatrix input the rest sees the same fixed model every time
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
        }
    } catch (const lowbit::error&) {
    }
    std::remove(g_path.c_str());
    return 0;
}
