// Recipes: one TOML file that says how to make and check a quantized model, so that the same
// command (`lowbit recipe run FILE.toml`) reproduces it byte for byte. Format: docs/recipes.md.
//
//   model  = "stories260K-f32.gguf"          # paths are relative to the recipe file
//   output = "out/s260k-q4_k_m.gguf"
//   [quantize]  type = "q4_k_m"  method = "rtn"  pure = false  fallback = "ggml"
//               output_tensor_type / token_embedding_type, [[quantize.override]] pattern/type
//   [budget]    target_bpw | target_size | max_kld          (mixed precision)
//   [calibration] files = [...]  tokens = 4096  seed = 1  imatrix = true
//   [eval]      texts = [...]  reference = "..."  ctx = 128  max_units = 4  gate = "kld<=0.02"
//
// Parsing checks every key (unknown keys, wrong value types and bad values fail with the key's name
// and line); fields whose feature lowbit does not have yet fail with "not supported yet" rather than
// being ignored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/report.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/types.hpp"

namespace lowbit::recipe {

struct calibration_spec {
    std::vector<std::string> files;  // absolute (resolved against the recipe's folder)
    int64_t tokens = 0;              // token budget; 0 = all tokens of the files
    uint64_t seed = 0;               // chooses which windows of the text are used
    int64_t ctx = 0;                 // tokens per calibration window; 0 = 512 or the model's context
    bool imatrix = false;            // collect an importance matrix and quantize with it
};

struct eval_spec {
    std::vector<std::string> texts;
    std::string reference;  // empty: the recipe's model (the unquantized input)
    std::string protocol = "chunks";
    int64_t ctx = 0, max_units = 0;
    int64_t gen = 0;        // generation speed figure: tokens (0 = skip; not reproducible timing)
    std::string gate;       // gate spec, eval/gate.hpp syntax; empty = report only
};

struct recipe {
    std::string path;  // the recipe file (or a name for text recipes)
    std::string model, output, tokenizer;
    std::string cache_dir;  // calibration cache; default: <output folder>/.lowbit-cache
    int threads = 0;

    // [quantize]
    std::string type = "q4_0";  // preset or type name
    std::string method = "rtn";
    bool pure = false;
    fallback_mode fallback = fallback_mode::ggml;
    std::optional<lowbit::type> output_tensor_type, token_embedding_type;
    std::vector<std::pair<std::string, lowbit::type>> overrides;  // regex -> type, first match wins

    // [budget]
    std::optional<double> target_bpw, max_kld;
    std::optional<uint64_t> target_size;  // bytes

    std::optional<calibration_spec> calibration;
    std::optional<eval_spec> eval;
};

// Parses TOML text; `name` is used in messages and `base_dir` resolves relative paths. Throws
// lowbit::error: "<name>:<line>: <key>: <problem>".
recipe parse_recipe_text(const std::string& text, const std::string& name, const std::string& base_dir);
// Reads and parses a recipe file (relative paths resolve against the file's folder).
recipe parse_recipe_file(const std::string& path);

// The quantize options a recipe asks for (without importance data).
quantize_options to_quantize_options(const recipe& r);

struct recipe_result {
    quantize_report quantize;
    std::string output_sha256;
    bool imatrix_used = false, imatrix_cache_hit = false;
    std::string imatrix_cache_file;
    double imatrix_seconds = 0;  // collecting or loading the statistics
    std::optional<eval::run_report> eval;
    std::vector<std::string> gate_failures;
    bool passed() const { return gate_failures.empty(); }
};

struct run_hooks {
    std::function<void(const std::string& stage, double fraction, const std::string& detail)> on_progress;
};

// Runs a recipe: calibration (cached), quantize, eval with gates. Gate failures are returned in the
// result (not thrown); everything else throws lowbit::error.
recipe_result run_recipe(const recipe& r, const run_hooks& hooks = {});

// JSON summary of a run (recipe, output hash, quantize and eval reports, gate result).
nlohmann::json recipe_result_json(const recipe& r, const recipe_result& res);

}  // namespace lowbit::recipe
