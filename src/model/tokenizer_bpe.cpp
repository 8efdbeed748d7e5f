// Byte-level BPE tokenizer ("gpt2" vocabularies). Work in progress.
#include "lowbit/error.hpp"
#include "model/tokenizer_impl.hpp"

namespace lowbit::detail {

std::unique_ptr<tokenizer> make_bpe_tokenizer(vocab_data v) {
    fail("byte-level BPE ('gpt2') tokenizers are not implemented yet");
}

}  // namespace lowbit::detail
