// Byte-level BPE tokenizer ("gpt2" vocabularies: GPT-2, SmolLM, Llama 3, Qwen2 ...), following
// llama.cpp's llm_tokenizer_bpe:
//   1. special tokens are cut out of the text (user-defined always, control with parse_special);
//   2. a pre-tokenizer splits the rest into words: the regex list of tokenizer.ggml.pre, each
//      regex implemented by a hand-written scanner over code points (no std::regex);
//   3. each word is mapped byte -> GPT-2 code point and merged pairwise by the rank of the pair in
//      tokenizer.ggml.merges (lowest rank first, ties leftmost), with a priority queue;
//   4. symbols that are no token fall back to their single-byte tokens.
// All work happens on raw bytes: vocabulary texts and merges are mapped back through the GPT-2
// byte table once, at construction, so a symbol is a span of the input. Words are cached per call.
// Invalid UTF-8 keeps its raw bytes (llama.cpp substitutes U+FFFD first); splitting treats each
// invalid byte as U+FFFD, so valid text tokenizes identically.
#include <algorithm>
#include <array>
#include <cstring>
#include <queue>
#include <unordered_map>

#include "lowbit/error.hpp"
#include "model/tokenizer_impl.hpp"
#include "model/unicode.hpp"

namespace lowbit::detail {
namespace {

// Per code point flags; 0 means "outside the span" (llama.cpp's empty unicode_cpt_flags).
enum : uint8_t { f_in = 1, f_letter = 2, f_number = 4, f_punct = 8, f_space = 16 };
constexpr uint32_t k_out_of_range = 0xFFFFFFFF;

using span_list = std::vector<std::pair<uint32_t, uint32_t>>;  // [begin, end) in code points

struct cp_text {
    std::vector<uint32_t> cp;
    std::vector<uint32_t> off;  // byte offset of each code point, plus the end
    std::vector<uint8_t> flags;
};

cp_text decode_cps(std::string_view s) {
    cp_text t;
    t.cp.reserve(s.size());
    t.off.reserve(s.size() + 1);
    t.flags.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        size_t n;
        const uint32_t cp = unicode::decode_utf8(s, pos, n);
        uint8_t f = f_in;
        switch (unicode::classify(cp)) {
            case unicode::cp_class::letter: f |= f_letter; break;
            case unicode::cp_class::number: f |= f_number; break;
            case unicode::cp_class::punct: f |= f_punct; break;
            default: break;
        }
        if (unicode::is_whitespace(cp)) f |= f_space;
        t.cp.push_back(cp);
        t.off.push_back(static_cast<uint32_t>(pos));
        t.flags.push_back(f);
        pos += n;
    }
    t.off.push_back(static_cast<uint32_t>(s.size()));
    return t;
}

// Helper for the scanners: flags and code points restricted to one span, and token emission.
struct span_scan {
    const cp_text& t;
    uint32_t b, e, prev_end;
    span_list& out;
    uint8_t fl(size_t p) const { return p >= b && p < e ? t.flags[p] : 0; }
    uint32_t cpt(size_t p) const { return p >= b && p < e ? t.cp[p] : k_out_of_range; }
    size_t add(size_t end) {
        const size_t len = end - prev_end;
        if (len > 0) out.emplace_back(prev_end, static_cast<uint32_t>(end));
        prev_end = static_cast<uint32_t>(end);
        return len;
    }
};

constexpr uint8_t k_lnw = f_letter | f_number | f_space;

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void split_gpt2(const cp_text& t, uint32_t b, uint32_t e, span_list& out) {
    span_scan s{t, b, e, b, out};
    for (size_t pos = b; pos < e;) {
        const uint32_t c = s.cpt(pos);
        const uint8_t f = s.fl(pos);
        if (c == '\'' && pos + 1 < e) {
            const uint32_t n1 = s.cpt(pos + 1);
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                pos += s.add(pos + 2);
                continue;
            }
            if (pos + 2 < e) {
                const uint32_t n2 = s.cpt(pos + 2);
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                    pos += s.add(pos + 3);
                    continue;
                }
            }
        }
        uint8_t f2 = c == ' ' ? s.fl(pos + 1) : f;
        if (f2 & f_letter) {
            pos += c == ' ';
            while (f2 & f_letter) f2 = s.fl(++pos);
            s.add(pos);
            continue;
        }
        if (f2 & f_number) {
            pos += c == ' ';
            while (f2 & f_number) f2 = s.fl(++pos);
            s.add(pos);
            continue;
        }
        if (!(f2 & k_lnw) && f2) {
            pos += c == ' ';
            while (!(f2 & k_lnw) && f2) f2 = s.fl(++pos);
            s.add(pos);
            continue;
        }
        size_t n_ws = 0;
        while (s.fl(pos + n_ws) & f_space) ++n_ws;
        if (n_ws > 1 && s.cpt(pos + n_ws) != k_out_of_range) {  // \s+(?!\S)
            pos += n_ws - 1;
            s.add(pos);
            continue;
        }
        if (n_ws > 0) {
            pos += n_ws;
            s.add(pos);
            continue;
        }
        s.add(++pos);
    }
}

uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+        (Llama 3; Qwen2 has \p{N} instead of \p{N}{1,3}: max_digits 1)
void split_llama3(const cp_text& t, uint32_t b, uint32_t e, span_list& out, size_t max_digits) {
    span_scan s{t, b, e, b, out};
    for (size_t pos = b; pos < e;) {
        const uint32_t c = s.cpt(pos);
        const uint8_t f = s.fl(pos);
        if (c == '\'' && pos + 1 < e) {
            const uint32_t n1 = ascii_lower(s.cpt(pos + 1));
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                pos += s.add(pos + 2);
                continue;
            }
            if (pos + 2 < e) {
                const uint32_t n2 = ascii_lower(s.cpt(pos + 2));
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
                    pos += s.add(pos + 3);
                    continue;
                }
            }
        }
        if (!(c == '\r' || c == '\n' || (f & f_number))) {
            if ((f & f_letter) || (s.fl(pos + 1) & f_letter)) {
                ++pos;
                while (s.fl(pos) & f_letter) ++pos;
                s.add(pos);
                continue;
            }
        }
        if (f & f_number) {
            size_t ini = pos;
            while (s.fl(pos) & f_number) {
                if (++pos - ini >= max_digits) {
                    s.add(pos);
                    ini = pos;
                }
            }
            s.add(pos);
            continue;
        }
        uint8_t f2 = c == ' ' ? s.fl(pos + 1) : f;
        if (!(f2 & k_lnw) && f) {
            pos += c == ' ';
            while (!(f2 & k_lnw) && f2) f2 = s.fl(++pos);
            uint32_t c2 = s.cpt(pos);
            while (c2 == '\r' || c2 == '\n') c2 = s.cpt(++pos);
            s.add(pos);
            continue;
        }
        size_t n_ws = 0, last_rn_end = 0;
        while (s.fl(pos + n_ws) & f_space) {
            const uint32_t c2 = s.cpt(pos + n_ws);
            if (c2 == '\r' || c2 == '\n') last_rn_end = pos + n_ws + 1;
            ++n_ws;
        }
        if (last_rn_end > 0) {  // \s*[\r\n]+
            pos = last_rn_end;
            s.add(pos);
            continue;
        }
        if (n_ws > 1 && s.cpt(pos + n_ws) != k_out_of_range) {
            pos += n_ws - 1;
            s.add(pos);
            continue;
        }
        if (n_ws > 0) {
            pos += n_ws;
            s.add(pos);
            continue;
        }
        s.add(++pos);
    }
}

// A regex whose matches are isolated and whose gaps stay words (std::regex_iterator semantics):
// `run_len(p)` is the length of the match starting at p (0: none).
template <typename Match>
void split_matches(uint32_t b, uint32_t e, span_list& out, Match&& run_len) {
    uint32_t gap = b;
    for (uint32_t p = b; p < e;) {
        const uint32_t n = run_len(p);
        if (n == 0) {
            ++p;
            continue;
        }
        if (p > gap) out.emplace_back(gap, p);
        out.emplace_back(p, p + n);
        p += n;
        gap = p;
    }
    if (e > gap) out.emplace_back(gap, e);
}

enum class stage { gpt2, llama3, qwen2, each_number, punct_runs, number_runs, ascii_digits3 };

void run_stage(stage st, const cp_text& t, uint32_t b, uint32_t e, span_list& out) {
    auto is_num = [&](uint32_t p) { return (t.flags[p] & f_number) != 0; };
    switch (st) {
        case stage::gpt2: return split_gpt2(t, b, e, out);
        case stage::llama3: return split_llama3(t, b, e, out, 3);
        case stage::qwen2: return split_llama3(t, b, e, out, 1);
        case stage::each_number:  // \p{N}
            return split_matches(b, e, out, [&](uint32_t p) -> uint32_t { return is_num(p) ? 1 : 0; });
        case stage::number_runs:  // \p{N}+
            return split_matches(b, e, out, [&](uint32_t p) {
                uint32_t q = p;
                while (q < e && is_num(q)) ++q;
                return q - p;
            });
        case stage::punct_runs:  // [\p{P}\$\+<=>\^~\|]+
            return split_matches(b, e, out, [&](uint32_t p) {
                auto in = [&](uint32_t q) {
                    const uint32_t c = t.cp[q];
                    return (t.flags[q] & f_punct) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
                           c == '^' || c == '~' || c == '|';
                };
                uint32_t q = p;
                while (q < e && in(q)) ++q;
                return q - p;
            });
        case stage::ascii_digits3:  // [0-9][0-9][0-9]
            return split_matches(b, e, out, [&](uint32_t p) -> uint32_t {
                if (p + 3 > e) return 0;
                for (uint32_t q = p; q < p + 3; ++q)
                    if (t.cp[q] < '0' || t.cp[q] > '9') return 0;
                return 3;
            });
    }
}

struct pre_config {
    std::vector<stage> stages;
    bool ignore_merges = false;
};

pre_config pre_for(const std::string& pre) {
    auto is = [&](std::initializer_list<std::string_view> names) {
        return std::find(names.begin(), names.end(), pre) != names.end();
    };
    if (pre.empty() || pre == "default")
        return {{stage::punct_runs, stage::gpt2, stage::number_runs, stage::ascii_digits3}, false};
    if (is({"gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
            "mellum", "modern-bert", "mpt", "olmo"}))
        return {{stage::gpt2}, false};
    if (is({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva", "mellum2"}))
        return {{stage::each_number, stage::gpt2}, false};
    if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"}))
        return {{stage::llama3}, true};
    if (is({"qwen2", "deepseek-r1-qwen", "stablelm2"})) return {{stage::qwen2}, false};
    fail("BPE pre-tokenizer tokenizer.ggml.pre = '{}' is not supported (supported: default, gpt-2 family, "
         "smollm family, llama3 family, qwen2 family)",
         pre);
}

// Maps a vocabulary text (GPT-2 code points) back to raw bytes; false if a code point is not one of
// the 256 byte images.
bool to_raw(std::string_view text, std::string& raw) {
    raw.clear();
    for (size_t pos = 0; pos < text.size();) {
        size_t n;
        const uint32_t cp = unicode::decode_utf8(text, pos, n);
        const int b = unicode::cp_to_byte(cp);
        if (b < 0 || (cp == 0xFFFD && n == 1)) return false;
        raw += static_cast<char>(b);
        pos += n;
    }
    return true;
}

struct merge_info {
    int32_t rank;
    int32_t result;  // token id of the merged text, -1 if it is no token
};

struct symbol {
    int32_t prev, next;
    uint32_t off, n;
    int32_t id;  // token of bytes [off, off + n), -1 if none
};

struct bigram {
    int32_t rank, left, right;
    uint32_t size;
    int32_t result;
};
struct bigram_order {
    bool operator()(const bigram& l, const bigram& r) const {
        return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
    }
};

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

std::string str_key(std::string_view a, std::string_view b) {
    std::string k(4, '\0');
    const uint32_t n = static_cast<uint32_t>(a.size());
    std::memcpy(k.data(), &n, 4);
    k.append(a);
    k.append(b);
    return k;
}

span_list pre_split(const pre_config& pre, const cp_text& t);

class bpe_tokenizer final : public tokenizer {
public:
    explicit bpe_tokenizer(vocab_data v) : v_(std::move(v)), pre_(pre_for(v_.pre)) {
        n_vocab_ = static_cast<int32_t>(v_.text.size());
        bos_ = v_.bos;
        eos_ = v_.eos;
        add_bos_default_ = v_.add_bos;
        std::string raw;
        raw_to_id_.reserve(v_.text.size() * 2);
        for (size_t i = 0; i < v_.text.size(); ++i)
            if (to_raw(v_.text[i], raw)) raw_to_id_[raw] = static_cast<int32_t>(i);
        for (int b = 0; b < 256; ++b) byte_id_[b] = raw_id(std::string(1, static_cast<char>(b)));
        std::string ra, rb;
        for (size_t i = 0; i < v_.merges.size(); ++i) {
            const std::string& mg = v_.merges[i];
            const size_t sp = mg.find(' ', 1);
            LOWBIT_REQUIRE(sp != std::string::npos, "tokenizer.ggml.merges[{}] = '{}' has no space separating the pair",
                           i, mg);
            if (!to_raw(std::string_view(mg).substr(0, sp), ra) || !to_raw(std::string_view(mg).substr(sp + 1), rb))
                continue;  // can never match a symbol of raw bytes
            const merge_info info{static_cast<int32_t>(i), raw_id(ra + rb)};
            const int32_t a = raw_id(ra), b = raw_id(rb);
            if (a >= 0 && b >= 0) merges_.try_emplace(pair_key(a, b), info);
            else merges_str_.try_emplace(str_key(ra, rb), info);
        }
    }

    std::string kind() const override { return "gpt2"; }

    bool is_eog(int32_t id) const override {
        return std::find(v_.eog.begin(), v_.eog.end(), id) != v_.eog.end();
    }

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override {
        std::vector<int32_t> out;
        out.reserve(text.size() / 3 + 2);
        if (add_bos && v_.bos >= 0) out.push_back(v_.bos);
        for (const fragment& f : partition_special(v_, text, parse_special)) {
            if (f.id >= 0) out.push_back(f.id);
            else encode_text(f.text, out);
        }
        if (add_bos && v_.add_eos && v_.eos >= 0) out.push_back(v_.eos);
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
                [[fallthrough]];
            case tt_normal: {
                // GPT-2 code points back to bytes; a code point outside the map is kept as UTF-8.
                std::string out;
                for (size_t pos = 0; pos < t.size();) {
                    size_t n;
                    const uint32_t cp = unicode::decode_utf8(t, pos, n);
                    const int b = unicode::cp_to_byte(cp);
                    if (b >= 0) out += static_cast<char>(b);
                    else out.append(t, pos, n);
                    pos += n;
                }
                return out;
            }
            default:
                return {};
        }
    }

private:
    int32_t raw_id(const std::string& raw) const {
        auto it = raw_to_id_.find(raw);
        return it == raw_to_id_.end() ? -1 : it->second;
    }

    void encode_text(std::string_view text, std::vector<int32_t>& out) const {
        const cp_text t = decode_cps(text);
        const span_list spans = pre_split(pre_, t);
        std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
        std::vector<int32_t> cached, ids;
        std::vector<symbol> syms;
        for (const auto& [b, e] : spans) {
            const std::string_view word = text.substr(t.off[b], t.off[e] - t.off[b]);
            if (word.empty()) continue;
            if (auto it = cache.find(word); it != cache.end()) {
                out.insert(out.end(), cached.begin() + it->second.first,
                           cached.begin() + it->second.first + it->second.second);
                continue;
            }
            ids.clear();
            encode_word(word, syms, ids);
            out.insert(out.end(), ids.begin(), ids.end());
            cache.emplace(word, std::make_pair(static_cast<uint32_t>(cached.size()), static_cast<uint32_t>(ids.size())));
            cached.insert(cached.end(), ids.begin(), ids.end());
        }
    }

    void encode_word(std::string_view w, std::vector<symbol>& syms, std::vector<int32_t>& ids) const {
        if (pre_.ignore_merges) {
            if (auto it = raw_to_id_.find(std::string(w)); it != raw_to_id_.end()) {
                ids.push_back(it->second);
                return;
            }
        }
        const int32_t n = static_cast<int32_t>(w.size());
        syms.resize(n);
        for (int32_t i = 0; i < n; ++i)
            syms[i] = symbol{i - 1, i + 1 < n ? i + 1 : -1, static_cast<uint32_t>(i), 1, byte_id_[static_cast<uint8_t>(w[i])]};
        std::priority_queue<bigram, std::vector<bigram>, bigram_order> queue;
        auto try_add = [&](int32_t l, int32_t r) {
            if (l < 0 || r < 0) return;
            const symbol& a = syms[l];
            const symbol& b = syms[r];
            const merge_info* info = nullptr;
            if (a.id >= 0 && b.id >= 0) {
                if (auto it = merges_.find(pair_key(a.id, b.id)); it != merges_.end()) info = &it->second;
            }
            if (!info && !merges_str_.empty() && (a.id < 0 || b.id < 0)) {
                auto it = merges_str_.find(str_key(w.substr(a.off, a.n), w.substr(b.off, b.n)));
                if (it != merges_str_.end()) info = &it->second;
            }
            if (info) queue.push(bigram{info->rank, l, r, a.n + b.n, info->result});
        };
        for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);
        while (!queue.empty()) {
            const bigram bg = queue.top();
            queue.pop();
            symbol& l = syms[bg.left];
            symbol& r = syms[bg.right];
            if (l.n == 0 || r.n == 0 || l.n + r.n != bg.size) continue;  // stale
            l.n += r.n;
            l.id = bg.result;
            r.n = 0;
            l.next = r.next;
            if (r.next >= 0) syms[r.next].prev = bg.left;
            try_add(l.prev, bg.left);
            try_add(bg.left, l.next);
        }
        for (int32_t i = 0; i != -1 && n > 0; i = syms[i].next) {
            const symbol& s = syms[i];
            if (s.id >= 0) {
                ids.push_back(s.id);
                continue;
            }
            for (uint32_t j = 0; j < s.n; ++j) {  // as llama.cpp: bytes without a token are dropped
                const int32_t id = byte_id_[static_cast<uint8_t>(w[s.off + j])];
                if (id >= 0) ids.push_back(id);
                else if (v_.unk >= 0) ids.push_back(v_.unk);
            }
        }
    }

    vocab_data v_;
    pre_config pre_;
    std::unordered_map<std::string, int32_t> raw_to_id_;
    std::array<int32_t, 256> byte_id_{};
    std::unordered_map<uint64_t, merge_info> merges_;
    std::unordered_map<std::string, merge_info> merges_str_;
};

span_list pre_split(const pre_config& pre, const cp_text& t) {
    span_list spans{{0u, static_cast<uint32_t>(t.cp.size())}}, next;
    for (stage st : pre.stages) {
        next.clear();
        next.reserve(spans.size() * 2);
        for (const auto& [b, e] : spans) run_stage(st, t, b, e, next);
        spans.swap(next);
    }
    return spans;
}

}  // namespace

std::vector<std::string_view> bpe_pre_split(const std::string& pre, std::string_view text) {
    const cp_text t = decode_cps(text);
    std::vector<std::string_view> words;
    for (const auto& [b, e] : pre_split(pre_for(pre), t)) words.push_back(text.substr(t.off[b], t.off[e] - t.off[b]));
    return words;
}

std::unique_ptr<tokenizer> make_bpe_tokenizer(vocab_data v) {
    return std::make_unique<bpe_tokenizer>(std::move(v));
}

}  // namespace lowbit::detail
