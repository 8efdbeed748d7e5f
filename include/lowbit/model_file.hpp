// A model as GGUF sees it (metadata keys + named tensors in ggml dimension order), loaded from any
// container lowbit reads: GGUF, safetensors (Hugging Face layout, single or sharded) or a llama2.c
// checkpoint. Tensor bytes point into memory mappings or buffers kept alive by `keepalive`.
// Names and metadata follow llama.cpp's GGUF conventions (`token_embd.weight`, `blk.N.attn_q.weight`,
// `llama.embedding_length`, `tokenizer.ggml.tokens`, ...), so every later stage sees one layout.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/gguf.hpp"
#include "lowbit/types.hpp"

namespace lowbit {

struct model_tensor {
    std::string name;
    type t = type::f32;
    std::vector<int64_t> shape;  // ggml order: shape[0] is the row length
    std::span<const uint8_t> bytes;

    int64_t n_elements() const;
    int64_t row_len() const { return shape.empty() ? 1 : shape[0]; }
    int64_t n_rows() const;
};

struct model_data {
    std::string source_path;
    std::string source_format;  // "gguf", "safetensors", "llama2c"
    std::vector<gguf_kv> metadata;
    std::vector<model_tensor> tensors;
    std::vector<std::shared_ptr<const void>> keepalive;  // mappings and owned buffers

    const gguf_value* find(std::string_view key) const;
    std::string get_string(std::string_view key, const std::string& fallback = {}) const;
    int64_t get_int(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key, double fallback) const;
    const model_tensor* find_tensor(std::string_view name) const;
    void set(const std::string& key, gguf_value v);  // add or replace a metadata key
};

// Load-time tiles of llama models (load_options::repack).
enum class repack_mode { all, compact, none };

struct load_options {
    // llama2.c: tokenizer file; empty = `tokenizer.bin` or `tok<vocab>.bin` beside the checkpoint.
    std::string tokenizer_path;
    // Activation quantization of llama models (src/quant/act_quant.hpp): "" = as the file says,
    // "none" = weight-only, "dynamic" = per-token int8 activations for every per-layer matrix.
    std::string act_quant;
    // llama models: which weight matrices are repacked into interleaved 8-row tiles at load
    // (kernels/repack.hpp) for faster generation and prompts; the others' rows are copied into
    // huge-page memory (copy_rows). Only rows in a read-only file mapping (GGUF) are touched; their
    // pages are handed back. Most tiles take the rows' bytes; these take more:
    //   - IQ3_XXS / IQ3_S: 4-bit codes, 4.31 bits per weight against 3.06 / 3.44 (+41% / +25%);
    //   - TQ1_0: +22%, its trits become 2-bit codes;
    //   - lowbit formats whose groups are larger than 32 columns or per channel: their scale (and
    //     minimum) repeats per 32 columns, e.g. int4_g128 4.5 against 4.125 bits per weight, int4_pc
    //     4.5 against 4;
    //   - nf4_dq and fp8_*_pt: f32 scales, 5 against 4.19 and 9 against 8 bits per weight.
    // all: every matrix whose type has tiles, except that when the extra bytes of the growing ones would
    //      exceed half of the memory the system reports available, those keep their rows (a warning on
    //      stderr says so); compact: only tiles that take no more bytes than the rows; none: no tiles.
    // The environment variable LOWBIT_REPACK (all / 1, compact, none / 0) overrides this.
    repack_mode repack = repack_mode::all;
};

// "all" / "1", "compact", "none" / "0" -> the mode; nullopt for anything else.
std::optional<repack_mode> repack_mode_from_name(std::string_view s);

// Detects the container from its first bytes (GGUF magic, safetensors header, llama2.c header) or,
// for a directory, from `model.safetensors` / `model.safetensors.index.json` inside it.
model_data load_model(const std::string& path, const load_options& opt = {});
model_data load_gguf_model(const std::string& path);
model_data load_safetensors_model(const std::string& path);  // file, index.json or directory
model_data load_llama2c_model(const std::string& path, const load_options& opt = {});

// Writes `m` as GGUF (metadata and tensors unchanged) to `path` via a temporary file.
void save_gguf(const model_data& m, const std::string& path);

}  // namespace lowbit
