// SentencePiece-style tokenizer ("llama" vocabularies): llama.cpp's llm_tokenizer_spm and llama2.c's
// run.c `encode`.
//
// llama.cpp (encode): prepend ' ' when add_space_prefix and the text starts the input or follows a
// special token, replace every ' ' by U+2581, split into UTF-8 characters (length from the lead
// byte), then repeatedly merge the adjacent pair whose concatenation is the vocabulary token with
// the highest score (ties: leftmost), using a priority queue with lazy invalidation. Symbols left
// that are not tokens become byte tokens <0xXX>.
// llama2.c (encode_llama2c): the same merge rule, but characters not in the vocabulary become byte
// tokens *before* merging (so they never merge), characters are grouped by run.c's rule (a lead
// byte plus up to 3 continuation bytes), pairs scoring <= -1e10 never merge, no special tokens.
//
// Speed: when no token has U+2581 past its first byte, no merge can cross the start of a "word"
// (a U+2581 character), so words are tokenized independently and cached per call; the result is
// identical to one pass over the whole text.
#include <algorithm>
#include <array>
#include <queue>
#include <unordered_map>

#include "lowbit/error.hpp"
#include "model/tokenizer_impl.hpp"
#include "model/unicode.hpp"

namespace lowbit::detail {
namespace {

constexpr std::string_view k_space_marker = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

struct symbol {
    int32_t prev, next;
    uint32_t off, n;  // bytes [off, off + n) of the escaped text
    int32_t fixed;    // >= 0: an unmergeable token (llama2.c byte fallback)
};

struct bigram {
    float score;
    int32_t left, right;
    uint32_t size;
};
struct bigram_order {
    bool operator()(const bigram& l, const bigram& r) const {
        return l.score < r.score || (l.score == r.score && l.left > r.left);
    }
};

enum class spm_mode { llama_cpp, llama2c };

class spm_tokenizer final : public tokenizer {
public:
    explicit spm_tokenizer(vocab_data v) : v_(std::move(v)) {
        n_vocab_ = static_cast<int32_t>(v_.text.size());
        bos_ = v_.bos;
        eos_ = v_.eos;
        add_bos_default_ = v_.add_bos;
        decode_strip_space_ = v_.add_space_prefix;
        static const char* k_hex = "0123456789ABCDEF";
        for (int b = 0; b < 256; ++b) {
            const char buf[6] = {'<', '0', 'x', k_hex[b >> 4], k_hex[b & 15], '>'};
            int32_t id = v_.find(std::string_view(buf, 6));
            if (id < 0) id = v_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
            byte_id_[b] = id;
        }
        split_words_ = std::none_of(v_.text.begin(), v_.text.end(), [](const std::string& t) {
            return t.size() > 1 && t.find(k_space_marker, 1) != std::string::npos;
        });
    }

    std::string kind() const override { return "llama"; }

    bool is_eog(int32_t id) const override {
        return std::find(v_.eog.begin(), v_.eog.end(), id) != v_.eog.end();
    }

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override {
        std::vector<int32_t> out;
        out.reserve(text.size() / 3 + 2);
        if (add_bos && v_.bos >= 0) out.push_back(v_.bos);
        bool prev_special = true;  // the start of the input counts as "after a special token"
        for (const fragment& f : partition_special(v_, text, parse_special)) {
            if (f.id >= 0) {
                out.push_back(f.id);
                prev_special = true;
                continue;
            }
            encode_text(escape(f.text, v_.add_space_prefix && prev_special), spm_mode::llama_cpp, out);
            prev_special = false;
        }
        if (add_bos && v_.add_eos && v_.eos >= 0) out.push_back(v_.eos);
        return out;
    }

    std::vector<int32_t> encode_llama2c(std::string_view text, bool add_bos) const override {
        std::vector<int32_t> out;
        out.reserve(text.size() / 3 + 2);
        if (add_bos && v_.bos >= 0) out.push_back(v_.bos);
        // run.c always adds the dummy prefix (" ") when the text is not empty.
        if (!text.empty()) encode_text(escape(text, true), spm_mode::llama2c, out);
        return out;
    }

    std::string token_to_piece(int32_t id) const override {
        LOWBIT_REQUIRE(id >= 0 && id < n_vocab_, "token id {} is outside the vocabulary [0, {})", id, n_vocab_);
        const std::string& t = v_.text[id];
        switch (v_.type[id]) {
            case tt_control:
            case tt_unknown:
                return {};
            case tt_user_defined:
                return t;
            case tt_byte:
                if (t.size() == 6 && t.compare(0, 3, "<0x") == 0)
                    return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
                return t;
            case tt_normal: {
                std::string out;
                out.reserve(t.size());
                for (size_t i = 0; i < t.size();) {
                    if (t.compare(i, 3, k_space_marker) == 0) {
                        out += ' ';
                        i += 3;
                    } else {
                        out += t[i++];
                    }
                }
                return out;
            }
            default:  // unused / undefined: nothing, as llama.cpp
                return {};
        }
    }

private:
    static std::string escape(std::string_view text, bool space_prefix) {
        std::string s;
        s.reserve(text.size() + text.size() / 4 + 3);
        if (space_prefix) s += k_space_marker;
        for (char c : text) {
            if (c == ' ') s += k_space_marker;
            else s += c;
        }
        return s;
    }

    // Symbols of `s` in order, as the mode splits the text. Calls emit(symbol) for each.
    template <typename Emit>
    void scan_symbols(std::string_view s, spm_mode mode, Emit&& emit) const {
        const size_t n = s.size();
        if (mode == spm_mode::llama_cpp) {
            for (size_t off = 0; off < n;) {
                const size_t len = std::min(unicode::utf8_len(static_cast<uint8_t>(s[off])), n - off);
                emit(symbol{-1, -1, static_cast<uint32_t>(off), static_cast<uint32_t>(len), -1});
                off += len;
            }
            return;
        }
        // run.c: a buffer restarts at every non-continuation byte and is looked up when the next
        // byte is not a continuation byte or the buffer holds 4 bytes.
        auto is_cont = [&](size_t i) { return (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80; };
        size_t start = 0, len = 0;
        for (size_t i = 0; i < n; ++i) {
            if (!is_cont(i) || len == 0) {
                start = i;
                len = 0;
            }
            ++len;
            if (i + 1 < n && is_cont(i + 1) && len < 4) continue;
            if (v_.find(s.substr(start, len)) >= 0) {
                emit(symbol{-1, -1, static_cast<uint32_t>(start), static_cast<uint32_t>(len), -1});
            } else {
                for (size_t j = start; j < start + len; ++j)
                    emit(symbol{-1, -1, static_cast<uint32_t>(j), 1, byte_token(static_cast<uint8_t>(s[j]))});
            }
            len = 0;
        }
    }

    int32_t byte_token(uint8_t b) const {
        if (byte_id_[b] >= 0) return byte_id_[b];
        LOWBIT_REQUIRE(v_.unk >= 0, "SPM vocabulary has no byte token <0x{:02X}> and no unknown token", b);
        return v_.unk;
    }

    void encode_text(const std::string& s, spm_mode mode, std::vector<int32_t>& out) const {
        std::vector<symbol> seg;
        std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> ids
        std::vector<int32_t> cached_ids;
        std::vector<int32_t> ids;

        auto flush = [&]() {
            if (seg.empty()) return;
            const uint32_t b = seg.front().off, e = seg.back().off + seg.back().n;
            const std::string_view word(s.data() + b, e - b);
            if (split_words_) {
                if (auto it = cache.find(word); it != cache.end()) {
                    out.insert(out.end(), cached_ids.begin() + it->second.first,
                               cached_ids.begin() + it->second.first + it->second.second);
                    seg.clear();
                    return;
                }
            }
            ids.clear();
            merge(s, seg, mode, ids);
            out.insert(out.end(), ids.begin(), ids.end());
            if (split_words_) {
                cache.emplace(word, std::make_pair(static_cast<uint32_t>(cached_ids.size()),
                                                   static_cast<uint32_t>(ids.size())));
                cached_ids.insert(cached_ids.end(), ids.begin(), ids.end());
            }
            seg.clear();
        };

        scan_symbols(s, mode, [&](const symbol& sym) {
            if (split_words_ && !seg.empty() && s.compare(sym.off, 3, k_space_marker) == 0) flush();
            seg.push_back(sym);
        });
        flush();
    }

    // Merges the symbols of one word by score and appends the resulting ids.
    void merge(const std::string& s, std::vector<symbol>& syms, spm_mode mode, std::vector<int32_t>& ids) const {
        const int32_t n = static_cast<int32_t>(syms.size());
        for (int32_t i = 0; i < n; ++i) {
            syms[i].prev = i - 1;
            syms[i].next = i + 1 < n ? i + 1 : -1;
        }
        std::priority_queue<bigram, std::vector<bigram>, bigram_order> queue;
        auto try_add = [&](int32_t l, int32_t r) {
            if (l < 0 || r < 0 || syms[l].fixed >= 0 || syms[r].fixed >= 0) return;
            const uint32_t size = syms[l].n + syms[r].n;
            const int32_t id = v_.find(std::string_view(s.data() + syms[l].off, size));
            if (id < 0) return;
            const float score = v_.score[id];
            if (mode == spm_mode::llama2c && !(score > -1e10f)) return;  // run.c's best_score start
            queue.push(bigram{score, l, r, size});
        };
        for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);
        while (!queue.empty()) {
            const bigram b = queue.top();
            queue.pop();
            symbol& l = syms[b.left];
            symbol& r = syms[b.right];
            if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
            l.n += r.n;
            r.n = 0;
            l.next = r.next;
            if (r.next >= 0) syms[r.next].prev = b.left;
            try_add(l.prev, b.left);
            try_add(b.left, l.next);
        }
        for (int32_t i = 0; i != -1 && n > 0; i = syms[i].next) {
            const symbol& sym = syms[i];
            if (sym.fixed >= 0) {
                ids.push_back(sym.fixed);
                continue;
            }
            const int32_t id = v_.find(std::string_view(s.data() + sym.off, sym.n));
            if (id >= 0) {
                ids.push_back(id);
            } else {
                for (uint32_t j = 0; j < sym.n; ++j) ids.push_back(byte_token(static_cast<uint8_t>(s[sym.off + j])));
            }
        }
    }

    vocab_data v_;
    std::array<int32_t, 256> byte_id_{};
    bool split_words_ = false;
};

}  // namespace

std::unique_ptr<tokenizer> make_spm_tokenizer(vocab_data v) {
    return std::make_unique<spm_tokenizer>(std::move(v));
}

}  // namespace lowbit::detail
