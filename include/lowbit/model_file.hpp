// A model as GGUF sees it (metadata keys + named tensors in ggml dimension order), loaded from any
// container lowbit reads: GGUF, safetensors (Hugging Face layout, single or sharded) or a llama2.c
// checkpoint. Tensor bytes point into memory mappings or buffers kept alive by `keepalive`.
// Names and metadata follow llama.cpp's GGUF conventions (`token_embd.weight`, `blk.N.attn_q.weight`,
// `llama.embedding_length`, `tokenizer.ggml.tokens`, ...), so every later stage sees one layout.
#pragma once

#include <memory>
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

struct load_options {
    // llama2.c: tokenizer file; empty = `tokenizer.bin` or `tok<vocab>.bin` beside the checkpoint.
    std::string tokenizer_path;
    // Activation quantization of llama models (src/quant/act_quant.hpp): "" = as the file says,
    // "none" = weight-only, "dynamic" = per-token int8 activations for every per-layer matrix.
    std::string act_quant;
    // llama models: repack weight matrices into interleaved 8-row tiles at load (kernels/repack.hpp;
    // the types with tiles) for faster generation, and copy the others' rows into huge-page memory
    // (copy_rows), where the rows lie in a read-only file mapping (GGUF) whose pages can be handed
    // back. Some tiles take more memory than the rows:
    //   - TQ1_0: +22%, its trits become 2-bit codes;
    //   - lowbit formats whose groups are larger than 32 columns or per channel: their scale (and
    //     minimum) repeats per 32 columns, e.g. int4_g128 4.5 against 4.125 bits per weight, int4_pc
    //     4.5 against 4;
    //   - nf4_dq and fp8_*_pt: f32 scales, 5 against 4.19 and 9 against 8 bits per weight.
    // Set it false, or set the environment variable LOWBIT_REPACK=0, to keep the rows' size.
    bool repack = true;
};

// Detects the container from its first bytes (GGUF magic, safetensors header, llama2.c header) or,
// for a directory, from `model.safetensors` / `model.safetensors.index.json` inside it.
model_data load_model(const std::string& path, const load_options& opt = {});
model_data load_gguf_model(const std::string& path);
model_data load_safetensors_model(const std::string& path);  // file, index.json or directory
model_data load_llama2c_model(const std::string& path, const load_options& opt = {});

// Writes `m` as GGUF (metadata and tensors unchanged) to `path` via a temporary file.
void save_gguf(const model_data& m, const std::string& path);

}  // namespace lowbit
