// Perplexity of a model on text, with two protocols, optionally against a reference model in the
// same pass (KL divergence, top-1 agreement, probability shifts), streaming: no logits file.
//
// chunks (llama.cpp `llama-perplexity -c N`): tokenize the whole text once (with BOS when the
//   vocabulary asks for it), cut it into floor(n_tokens / N) chunks of N tokens, replace each chunk's
//   first token by BOS, run each chunk from an empty cache and score the tokens at positions
//   N/2+1 .. N-1 (the logits of positions N/2 .. N-2): N/2 - 1 tokens per chunk.
// documents: split the text at lines equal to the separator (`<|endoftext|>`), trim each document,
//   encode it with BOS using llama2.c's tokenizer algorithm (SPM vocabularies) or encode(), truncate
//   it to N tokens, and score every token after BOS.
// Units (chunks or documents) are independent: they run in parallel, one single-threaded context per
// worker, and their results are combined in text order (the figures do not depend on thread count).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/llama.hpp"

namespace lowbit::eval {

enum class protocol { chunks, documents };
protocol parse_protocol(const std::string& s);  // "chunks" | "documents"
const char* protocol_name(protocol p);

struct ppl_options {
    protocol proto = protocol::chunks;
    int64_t n_ctx = 0;              // 0: the model's context length
    int n_threads = 0;              // 0: default_threads()
    bool allow_long_context = false;  // allow n_ctx beyond the model's training context
    std::string separator = "<|endoftext|>";
    int64_t max_units = 0;          // 0: all chunks/documents
};

// Scored tokens of one text, in text order. Reference columns are empty without a reference model.
struct token_scores {
    std::vector<double> nll;
    std::vector<double> nll_ref, kld, p_diff;
    std::vector<uint8_t> same_top;
    int64_t n_text_tokens = 0;  // tokens of the whole text (chunks) or of all documents (documents)
    int64_t n_units = 0;        // chunks or documents evaluated
    int64_t n_evaluated = 0;    // tokens run through the model
    double seconds = 0;         // wall time of the model passes
};

// Reads a whole text file; throws lowbit::error if it is missing or empty.
std::string read_text_file(const std::string& path);

// Splits text into documents at lines equal to `separator`; each document is trimmed and empty ones
// are dropped.
std::vector<std::string> split_documents(const std::string& text, const std::string& separator);

// Tokenizes `text` with m's tokenizer and throws lowbit::error, as evaluator::score_text would, when
// it cannot fill the units of opt.proto at opt.n_ctx (0: m's context length): chunks need 2 x n_ctx
// tokens, documents one with 2 tokens. Recipes call it before quantizing, so that a text too short
// for its context fails before any output is written.
void check_text_fits(const model_data& m, const std::string& text, const std::string& name,
                     const ppl_options& opt);

class evaluator {
public:
    // `reference` may be null. Both models must share the vocabulary size.
    evaluator(std::shared_ptr<const llama_model> model, std::shared_ptr<const llama_model> reference,
              const ppl_options& opt);
    // Scores `text` (the contents of a file; `name` is used in messages).
    token_scores score_text(const std::string& text, const std::string& name) const;

    int64_t n_ctx() const { return n_ctx_; }
    const ppl_options& options() const { return opt_; }

private:
    std::shared_ptr<const llama_model> model_, ref_;
    ppl_options opt_;
    int64_t n_ctx_ = 0;
};

}  // namespace lowbit::eval
