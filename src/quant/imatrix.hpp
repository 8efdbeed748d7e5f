// Importance matrices (llama.cpp's "imatrix"): for every weight matrix W of a model, the sum over
// calibration tokens of the squared input activation of each input column, sum_t x[t][j]^2, and the
// number of tokens summed. The encoders weight each column's rounding error by
// importance[j] = in_sum2[j] / count (llama.cpp tools/quantize convention).
//
// File format: llama.cpp's GGUF imatrix (tools/imatrix/imatrix.cpp, common/imatrix-loader.cpp):
//   general.type = "imatrix", imatrix.datasets = [string], imatrix.chunk_count = u32,
//   imatrix.chunk_size = u32; per weight `<name>.in_sum2` (F32, [n_cols, n_mat]) and
//   `<name>.counts` (F32, [1, n_mat]); tensors in name order. n_mat > 1 only for expert stacks.
//
// Collection (llama-imatrix protocol): tokenize the whole text (BOS first when the vocabulary asks
// for it), cut floor(n_tokens / n_ctx) chunks of n_ctx tokens (at most n_chunks), replace each
// chunk's first token by BOS, run each chunk from an empty cache, and accumulate the input of every
// product with a `blk.*` weight (the output matrix only with include_output). Like llama.cpp, inputs
// of fewer than 16 tokens in one product are ignored (they never occur with n_ctx >= 16).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/llama.hpp"

namespace lowbit {

struct imatrix_entry {
    std::vector<float> in_sum2;  // [n_mat][n_cols]
    std::vector<float> counts;   // [n_mat]
    int64_t n_cols() const { return counts.empty() ? 0 : static_cast<int64_t>(in_sum2.size() / counts.size()); }
};

struct imatrix_data {
    std::vector<std::string> datasets;
    uint32_t chunk_count = 0, chunk_size = 0;
    std::map<std::string, imatrix_entry> entries;  // by weight tensor name, e.g. "blk.0.attn_q.weight"

    // importance = in_sum2 / count per matrix (1 where a count is 0), as llama-quantize computes it;
    // empty if the tensor has no entry.
    std::vector<float> importance(const std::string& tensor) const;
    // All importance vectors at once (what quantize_options::importance serves).
    std::map<std::string, std::vector<float>> importance_map() const;
};

// The provenance keys llama-quantize writes into a model quantized with this imatrix:
// quantize.imatrix.file (as given), .dataset (the first one), .entries_count, .chunks_count.
std::vector<std::pair<std::string, gguf_value>> imatrix_quantize_metadata(const imatrix_data& m,
                                                                         const std::string& file);

// Reads a GGUF imatrix; throws lowbit::error naming the file and the bad key/tensor.
imatrix_data read_imatrix(const std::string& path);
// Writes `m` in llama.cpp's GGUF imatrix layout (atomically).
void write_imatrix(const imatrix_data& m, const std::string& path);

// Accumulates squared activations; deterministic (sums in double, in call order).
class imatrix_collector {
public:
    explicit imatrix_collector(bool include_output = false, int64_t min_tokens = 16)
        : include_output_(include_output), min_tokens_(min_tokens) {}
    // The observer: adds sum_t x[t][j]^2 and n_tokens for `weight` if it is collected.
    void observe(const std::string& weight, const float* x, int64_t n_tokens, int64_t n_cols);
    // The sums as float, in the file layout.
    imatrix_data result(const std::vector<std::string>& datasets, uint32_t chunk_count, uint32_t chunk_size) const;

private:
    struct acc {
        std::vector<double> sum2;
        int64_t count = 0;
    };
    bool include_output_;
    int64_t min_tokens_;
    std::map<std::string, acc> acc_;
};

struct imatrix_options {
    int64_t n_ctx = 512;     // tokens per chunk
    int64_t n_chunks = -1;   // -1: all chunks of the text
    int n_threads = 0;       // 0: default_threads()
    bool include_output = false;
    std::string dataset;     // recorded in imatrix.datasets (the text file name)
};

// Runs `model` over `text` by the protocol above. Throws if the text has fewer than 2 * n_ctx tokens.
imatrix_data collect_imatrix(std::shared_ptr<const llama_model> model, const std::string& text,
                             const imatrix_options& opt);

}  // namespace lowbit
