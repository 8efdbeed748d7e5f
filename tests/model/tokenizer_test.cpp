// Tokenizer tests: hand-made vocabularies with known encodings, stories260K's real vocabulary
// against independent reference encoders (tests/model/llama2c_tokenize.py: run.c transliterated,
// and llama.cpp's SPM algorithm), round trips, and speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/sha256.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/tokenizer_impl.hpp"
#include "model/unicode.hpp"
#include "test_util.hpp"

#include <nlohmann/json.hpp>
#include <cstdlib>

namespace lowbit {
namespace {

using ids_t = std::vector<int32_t>;

std::string ids_sha256(const ids_t& ids) {
    // int32 little-endian, as the Python helper packs them
    return sha256_hex(ids.data(), ids.size() * sizeof(int32_t));
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The metadata of a GGUF file as a model_data (no tensors needed here).
model_data gguf_metadata(const std::string& path) {
    gguf_file f = gguf_file::open(path);
    model_data m;
    m.source_path = path;
    m.source_format = "gguf";
    m.metadata = f.metadata();
    return m;
}

// A small SPM vocabulary: <unk>, <s>, </s>, 256 byte tokens, then pieces with scores.
model_data tiny_spm(const std::vector<std::pair<std::string, float>>& pieces, bool with_types = true) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        tokens.push_back(fmt::format("<0x{:02X}>", b));
        scores.push_back(0);
        types.push_back(6);
    }
    for (const auto& [t, s] : pieces) {
        tokens.push_back(t);
        scores.push_back(s);
        types.push_back(1);
    }
    model_data m;
    m.source_path = "tiny-spm";
    m.metadata.emplace_back("tokenizer.ggml.model", gguf_value::str("llama"));
    m.metadata.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
    m.metadata.emplace_back("tokenizer.ggml.scores", gguf_value::f32_array(scores));
    if (with_types) m.metadata.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
    return m;
}

constexpr int32_t k_first_piece = 259;

TEST(TokenizerSpm, MergesByScoreWithSpacePrefix) {
    // "▁" 259, "h" 260, "e" 261, "l" 262, "o" 263, "▁h" 264, "ll" 265, "▁he" 266, "llo" 267,
    // "▁hello" 268, "el" 269 (scores decide: "el" must lose to "▁h" then "▁he").
    auto m = tiny_spm({{"\u2581", -1}, {"h", -2}, {"e", -3}, {"l", -4}, {"o", -5}, {"\u2581h", -6},
                       {"ll", -7}, {"\u2581he", -8}, {"llo", -9}, {"\u2581hello", -10}, {"el", -20}});
    auto tok = tokenizer::from_model(m);
    EXPECT_EQ(tok->kind(), "llama");
    EXPECT_EQ(tok->n_vocab(), k_first_piece + 11);
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_EQ(tok->encode("hello", true), (ids_t{1, 268}));
    EXPECT_EQ(tok->encode("hello", false), (ids_t{268}));
    // "▁he" + "llo" cannot merge further when "▁hello" is missing: check a word that stops early.
    EXPECT_EQ(tok->encode("hel", false), (ids_t{266, 262}));
    // Two spaces: the prefix and the text's own space are separate U+2581 symbols.
    EXPECT_EQ(tok->encode(" hello", false), (ids_t{259, 268}));
    // Empty text: BOS only.
    EXPECT_EQ(tok->encode("", true), (ids_t{1}));
    EXPECT_TRUE(tok->encode("", false).empty());
}

TEST(TokenizerSpm, TieBreaksLeftmostAndByteFallback) {
    // "ab" and "bc" score equally: "abc" -> "ab" "c" (leftmost first).
    auto m = tiny_spm({{"\u2581", -1}, {"a", -2}, {"b", -3}, {"c", -4}, {"ab", -5}, {"bc", -5}});
    auto tok = tokenizer::from_model(m);
    const int32_t sp = k_first_piece, a = sp + 1, c = sp + 3, ab = sp + 4;
    EXPECT_EQ(tok->encode("abc", false), (ids_t{sp, ab, c}));
    // 'é' (C3 A9) and '\n' are not pieces: byte tokens <0xC3> <0xA9> <0x0A> = byte + 3.
    EXPECT_EQ(tok->encode("a\xC3\xA9\n", false), (ids_t{sp, a, 0xC3 + 3, 0xA9 + 3, 0x0A + 3}));
    // Invalid UTF-8 survives as bytes and decodes back.
    const std::string bad = "a\xFF\xC3(b\x80";
    EXPECT_EQ(tok->decode(tok->encode(bad, true)), bad);
}

TEST(TokenizerSpm, SpecialTokensArePlainTextUnlessParsed) {
    auto m = tiny_spm({{"\u2581", -1}, {"a", -2}, {"<", -3}, {"s", -4}, {">", -5}});
    auto tok = tokenizer::from_model(m);
    const int32_t sp = k_first_piece, a = sp + 1, lt = sp + 2, s = sp + 3, gt = sp + 4;
    EXPECT_EQ(tok->encode("a<s>a", false), (ids_t{sp, a, lt, s, gt, a}));
    // parse_special: "<s>" is BOS, and the text after a special token gets the space prefix again.
    EXPECT_EQ(tok->encode("a<s>a", false, true), (ids_t{sp, a, 1, sp, a}));
    EXPECT_TRUE(tok->is_eog(2));
    EXPECT_FALSE(tok->is_eog(1));
    EXPECT_EQ(tok->token_to_piece(1), "");
    EXPECT_EQ(tok->token_to_piece(sp), " ");
    EXPECT_EQ(tok->token_to_piece(0x0A + 3), "\n");
    EXPECT_THROW(tok->token_to_piece(-1), error);
    EXPECT_THROW(tok->token_to_piece(tok->n_vocab()), error);
}

TEST(TokenizerSpm, InfersTypesWhenMissing) {
    auto m = tiny_spm({{"\u2581", -1}, {"a", -2}}, /*with_types=*/false);
    auto tok = tokenizer::from_model(m);
    EXPECT_EQ(tok->encode("a\n", true), (ids_t{1, k_first_piece, k_first_piece + 1, 13}));
    EXPECT_EQ(tok->decode(tok->encode("a\n", true)), "a\n");
}

TEST(TokenizerSpm, Llama2cEncodeDiffersOnlyWhereDocumented) {
    // "x" is no piece but "ax" is: llama.cpp merges a+x; run.c turns x into a byte token first.
    auto m = tiny_spm({{"\u2581", -1}, {"a", -2}, {"ax", -3}, {"\u2581a", -4}});
    auto tok = tokenizer::from_model(m);
    const int32_t sp = k_first_piece, a = sp + 1, ax = sp + 2, spa = sp + 3;
    EXPECT_EQ(tok->encode("ax", false), (ids_t{sp, ax}));
    EXPECT_EQ(tok->encode_llama2c("ax", false), (ids_t{spa, 'x' + 3}));
    EXPECT_EQ(tok->encode_llama2c("", true), (ids_t{1}));
    EXPECT_EQ(tok->encode_llama2c("a", true), (ids_t{1, spa}));
    (void)a;
}

TEST(TokenizerSpm, RejectsBrokenMetadata) {
    model_data m;
    m.source_path = "x.gguf";
    EXPECT_THROW(tokenizer::from_model(m), error);
    m.metadata.emplace_back("tokenizer.ggml.model", gguf_value::str("bert"));
    EXPECT_THROW(tokenizer::from_model(m), error);
    auto bad = tiny_spm({{"a", -1}});
    for (auto& [k, v] : bad.metadata)
        if (k == "tokenizer.ggml.scores") v = gguf_value::f32_array({1.0f, 2.0f});
    EXPECT_THROW(tokenizer::from_model(bad), error);
}

// ---- stories260K's real vocabulary -----------------------------------------------------------------

class Stories260K : public ::testing::Test {
protected:
    void SetUp() override {
        gguf_path_ = test::shared_path("models/stories260K/stories260K-f32.gguf");
        text_path_ = test::shared_path("data/tinystories_valid_first200.txt");
        if (!test::file_exists(gguf_path_) || !test::file_exists(text_path_))
            GTEST_SKIP() << "needs " << gguf_path_ << " and " << text_path_;
        tok_ = tokenizer::from_model(gguf_metadata(gguf_path_));
        text_ = read_text(text_path_);
    }
    std::vector<std::string> stories() const {
        std::vector<std::string> out;
        const std::string sep = "\n<|endoftext|>\n";
        size_t pos = 0;
        while (pos < text_.size()) {
            size_t hit = text_.find(sep, pos);
            if (hit == std::string::npos) hit = text_.size();
            std::string s = text_.substr(pos, hit - pos);
            if (s.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(s);
            pos = hit + sep.size();
        }
        return out;
    }
    std::string gguf_path_, text_path_, text_;
    std::unique_ptr<tokenizer> tok_;
};

TEST_F(Stories260K, FirstStoryMatchesReference) {
    // First ids of story 0 as llama2c_tokenize.py (run.c transliterated) prints them.
    const ids_t expect = {1, 301, 427, 309, 426, 301, 427, 309, 394, 265, 262, 415, 271, 422, 280, 295,
                          269, 336, 432, 313, 448, 327, 432, 410, 462, 362, 422, 432, 364, 420, 280, 295};
    const auto s = stories();
    ASSERT_EQ(s.size(), 200u);
    const ids_t a = tok_->encode_llama2c(s[0], true);
    const ids_t b = tok_->encode(s[0], true);
    ASSERT_GE(a.size(), expect.size());
    EXPECT_EQ(ids_t(a.begin(), a.begin() + expect.size()), expect);
    EXPECT_EQ(a, b);
}

TEST_F(Stories260K, PerStoryLlama2cMatchesReferenceProtocol) {
    // /work/shared/README.md: first 200 stories, BOS, llama2.c BPE, truncated at 512: 68,476
    // predicted tokens. sha256 of all ids from tests/model/llama2c_tokenize.py --per-story.
    ids_t all;
    size_t predicted = 0;
    for (const std::string& s : stories()) {
        ids_t ids = tok_->encode_llama2c(s, true);
        if (ids.size() > 512) ids.resize(512);
        predicted += ids.size() - 1;
        all.insert(all.end(), ids.begin(), ids.end());
        EXPECT_EQ(tok_->decode(ids.size() < 512 ? ids : tok_->encode_llama2c(s, true)), s);
    }
    EXPECT_EQ(predicted, 68476u);
    EXPECT_EQ(all.size(), 68676u);
    EXPECT_EQ(ids_sha256(all), "8ec0e918ff1a655b03d3647fac63cbd1ebfde86588320756bd052a6229c3cb63");
}

TEST_F(Stories260K, WholeFileMatchesLlamaCppAlgorithm) {
    // llama.cpp perplexity: the whole file in one call, BOS added, `<|endoftext|>` as plain text.
    // Reference: llama2c_tokenize.py --algo llamacpp (llm_tokenizer_spm transliterated).
    const ids_t ids = tok_->encode(text_, true);
    EXPECT_EQ(ids.size(), 77164u);
    EXPECT_EQ(ids_sha256(ids), "64c3cbe75ab7dd277e7e96706fe92ce1eba066aa8e7f1dd18daf88dc4dde7f22");
    EXPECT_EQ(tok_->decode(ids), text_);
}

TEST_F(Stories260K, Llama2cTokenizerFileGivesTheSameTokens) {
    // model-io maps tok512.bin onto the same tokenizer.ggml.* keys: same ids in both encoders.
    const std::string bin = test::shared_path("models/stories260K/stories260K.bin");
    if (!test::file_exists(bin)) GTEST_SKIP() << "needs " << bin;
    auto tok2 = tokenizer::from_model(load_llama2c_model(bin));
    EXPECT_EQ(tok2->n_vocab(), tok_->n_vocab());
    EXPECT_EQ(tok2->encode(text_, true), tok_->encode(text_, true));
    const auto s = stories();
    for (size_t i = 0; i < 20; ++i) EXPECT_EQ(tok2->encode_llama2c(s[i], true), tok_->encode_llama2c(s[i], true));
}

TEST_F(Stories260K, ThousandStoriesFastAndExact) {
    const std::string path = test::shared_path("data/tinystories_valid_first1000.txt");
    if (!test::file_exists(path)) GTEST_SKIP() << "needs " << path;
    const std::string text = read_text(path);
    const auto t0 = std::chrono::steady_clock::now();
    const ids_t ids = tok_->encode(text, true);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("encoded %zu bytes -> %zu tokens in %.3f s\n", text.size(), ids.size(), secs);
    EXPECT_EQ(ids.size(), 404019u);
    EXPECT_EQ(ids_sha256(ids), "fc66601777e3f60a3f30f8782af511599f7d05c24b6c541b0f6626b7e2b778d4");
    EXPECT_LT(secs, 1.0);
    EXPECT_EQ(tok_->decode(ids), text);
}

TEST_F(Stories260K, ArbitraryBytesRoundTrip) {
    std::string s;
    uint32_t x = 12345;
    for (int i = 0; i < 5000; ++i) {
        x = x * 1103515245u + 12345u;
        // Spaces become U+2581 before splitting; a truncated UTF-8 lead byte in front of one
        // swallows it into an invalid sequence that falls back to bytes E2 96 81 (as in
        // llama.cpp), so random bytes here contain no spaces.
        const char c = static_cast<char>(x >> 24);
        s += c == ' ' ? 'x' : c;
    }
    s += "....\n caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x99\x82 <s> </s>";
    EXPECT_EQ(tok_->decode(tok_->encode(s, true)), s);
    EXPECT_EQ(tok_->decode(tok_->encode_llama2c(s, true)), s);
    // The leading-space rule: one space is taken off, the text's own spaces stay.
    EXPECT_EQ(tok_->decode(tok_->encode("  two spaces", true)), "  two spaces");
}

// ---- byte-level BPE --------------------------------------------------------------------------------

std::string gpt2_text(std::string_view raw) {
    std::string out;
    for (char c : raw) unicode::append_utf8(out, unicode::byte_to_cp(static_cast<uint8_t>(c)));
    return out;
}

// 256 byte tokens in byte order, `<|endoftext|>` (control), then the results of `merges` (raw text
// pairs "a b" over raw bytes; ' ' inside a part is written as the GPT-2 'Ġ').
struct tiny_bpe {
    model_data m;
    std::vector<std::string> tokens;
    int32_t id(std::string_view raw) const {
        const std::string t = gpt2_text(raw);
        for (size_t i = 0; i < tokens.size(); ++i)
            if (tokens[i] == t) return static_cast<int32_t>(i);
        ADD_FAILURE() << "no token " << raw;
        return -1;
    }
};

tiny_bpe make_tiny_bpe(const std::string& pre, const std::vector<std::pair<std::string, std::string>>& merges) {
    tiny_bpe b;
    std::vector<int32_t> types;
    for (int c = 0; c < 256; ++c) {
        b.tokens.push_back(gpt2_text(std::string(1, static_cast<char>(c))));
        types.push_back(1);
    }
    b.tokens.push_back("<|endoftext|>");
    types.push_back(3);
    std::vector<std::string> mg;
    for (const auto& [l, r] : merges) {
        mg.push_back(gpt2_text(l) + " " + gpt2_text(r));
        b.tokens.push_back(gpt2_text(l + r));
        types.push_back(1);
    }
    b.m.source_path = "tiny-bpe";
    b.m.metadata.emplace_back("tokenizer.ggml.model", gguf_value::str("gpt2"));
    b.m.metadata.emplace_back("tokenizer.ggml.pre", gguf_value::str(pre));
    b.m.metadata.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(b.tokens));
    b.m.metadata.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
    b.m.metadata.emplace_back("tokenizer.ggml.merges", gguf_value::str_array(mg));
    b.m.metadata.emplace_back("tokenizer.ggml.eos_token_id", gguf_value::u32(256));
    return b;
}

std::vector<std::string> words(const std::string& pre, std::string_view text) {
    std::vector<std::string> out;
    for (auto w : detail::bpe_pre_split(pre, text)) out.emplace_back(w);
    return out;
}

using strs = std::vector<std::string>;

TEST(TokenizerBpe, PreTokenizerSplits) {
    EXPECT_EQ(words("gpt-2", "Hello world's  123 !!x\n\n"),
              (strs{"Hello", " world", "'s", " ", " 123", " !!", "x", "\n\n"}));
    EXPECT_EQ(words("gpt-2", "caf\xC3\xA9 \xD9\xA3\xD9\xA4 x  "),  // letters, Arabic-Indic digits
              (strs{"caf\xC3\xA9", " \xD9\xA3\xD9\xA4", " x", "  "}));
    EXPECT_EQ(words("smollm", "abc123 45"), (strs{"abc", "1", "2", "3", " ", "4", "5"}));
    EXPECT_EQ(words("llama3", "Hello world's  1234\n\n x"),
              (strs{"Hello", " world", "'s", " ", " ", "123", "4", "\n\n", " x"}));
    EXPECT_EQ(words("llama3", "DON'T stop!!\r\n"), (strs{"DON", "'T", " stop", "!!\r\n"}));
    EXPECT_EQ(words("qwen2", "x1234"), (strs{"x", "1", "2", "3", "4"}));
    EXPECT_EQ(words("default", "a+b=1234!"), (strs{"a", "+", "b", "=", "123", "4", "!"}));
    EXPECT_THROW(words("no-such-pre", "x"), error);
}

TEST(TokenizerBpe, RankedMergesAndRoundTrip) {
    // Ranks: "h e" < " t" < "t he" < " the" ... "e r" is ranked after "h e", so "her" -> "he" "r".
    auto b = make_tiny_bpe("gpt-2", {{"h", "e"}, {" ", "t"}, {"t", "he"}, {" t", "he"}, {"e", "r"}, {"a", "t"}});
    auto tok = tokenizer::from_model(b.m);
    EXPECT_EQ(tok->kind(), "gpt2");
    EXPECT_FALSE(tok->add_bos_default());
    EXPECT_EQ(tok->bos_id(), -1);
    EXPECT_EQ(tok->eos_id(), 256);
    EXPECT_TRUE(tok->is_eog(256));
    EXPECT_EQ(tok->encode("the", false), (ids_t{b.id("the")}));
    EXPECT_EQ(tok->encode(" the", false), (ids_t{b.id(" the")}));
    EXPECT_EQ(tok->encode("her", false), (ids_t{b.id("he"), b.id("r")}));
    EXPECT_EQ(tok->encode("ter", false), (ids_t{b.id("t"), b.id("er")}));
    EXPECT_EQ(tok->encode("the cat", false), (ids_t{b.id("the"), b.id(" "), b.id("c"), b.id("at")}));
    // Special tokens: plain text unless parsed.
    EXPECT_EQ(tok->encode("at<|endoftext|>", false, true), (ids_t{b.id("at"), 256}));
    EXPECT_EQ(tok->encode("at<|endoftext|>", false).size(), 1u + 2u + 9u + 2u);  // <| endoftext |>
    EXPECT_EQ(tok->token_to_piece(256), "");
    EXPECT_EQ(tok->token_to_piece(b.id(" the")), " the");
    // Every byte string, valid UTF-8 or not, round-trips.
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    all += "the \xF0\x9F\x99\x82 \xC3( end";
    EXPECT_EQ(tok->decode(tok->encode(all, false)), all);
}

TEST(TokenizerBpe, IgnoreMergesForLlama3) {
    // "abc" is a token, but no merge chain builds it: llama3 (ignore_merges) takes it whole.
    auto b = make_tiny_bpe("llama3", {{"a", "b"}});
    auto& toks = b.tokens;
    toks.push_back(gpt2_text("abc"));
    for (auto& [k, v] : b.m.metadata) {
        if (k == "tokenizer.ggml.tokens") v = gguf_value::str_array(toks);
        if (k == "tokenizer.ggml.token_type") {
            std::vector<int32_t> t(toks.size(), 1);
            t[256] = 3;
            v = gguf_value::i32_array(t);
        }
    }
    auto tok = tokenizer::from_model(b.m);
    EXPECT_TRUE(tok->add_bos_default());
    EXPECT_EQ(tok->encode("abc", false), (ids_t{static_cast<int32_t>(toks.size() - 1)}));
    EXPECT_EQ(tok->encode("abd", false), (ids_t{b.id("ab"), b.id("d")}));
    auto g = make_tiny_bpe("gpt-2", {{"a", "b"}});
    g.m.metadata = b.m.metadata;
    for (auto& [k, v] : g.m.metadata)
        if (k == "tokenizer.ggml.pre") v = gguf_value::str("gpt-2");
    EXPECT_EQ(tokenizer::from_model(g.m)->encode("abc", false), (ids_t{b.id("ab"), b.id("c")}));
}

// Compares with Hugging Face `tokenizers` on ~400 KB of wiki.test.raw. Needs the files of
// tests/model/bpe_reference.py in $LOWBIT_BPE_REF (skipped otherwise).
TEST(TokenizerBpe, HfReference) {
    const char* dir = std::getenv("LOWBIT_BPE_REF");
    if (!dir) GTEST_SKIP() << "set LOWBIT_BPE_REF to the output folder of tests/model/bpe_reference.py";
    const std::string d = dir;
    const auto spec = nlohmann::json::parse(read_text(d + "/vocab.json"));
    const auto tokens = spec["tokens"].get<std::vector<std::string>>();
    const auto merges = spec["merges"].get<std::vector<std::string>>();
    const std::string sample = read_text(d + "/sample.txt");
    for (const std::string pre : {"gpt-2", "smollm", "llama3"}) {
        const auto raw = test::read_file(d + "/ids_" + pre + ".bin");
        ids_t expect(raw.size() / 4);
        std::memcpy(expect.data(), raw.data(), expect.size() * 4);
        std::vector<int32_t> types(tokens.size(), 1);
        types[0] = 3;  // <|endoftext|>, HF's special token
        model_data m;
        m.source_path = d;
        m.metadata.emplace_back("tokenizer.ggml.model", gguf_value::str("gpt2"));
        m.metadata.emplace_back("tokenizer.ggml.pre", gguf_value::str(pre));
        m.metadata.emplace_back("tokenizer.ggml.tokens", gguf_value::str_array(tokens));
        m.metadata.emplace_back("tokenizer.ggml.token_type", gguf_value::i32_array(types));
        m.metadata.emplace_back("tokenizer.ggml.merges", gguf_value::str_array(merges));
        auto tok = tokenizer::from_model(m);
        const auto t0 = std::chrono::steady_clock::now();
        const ids_t got = tok->encode(sample, false, /*parse_special=*/true);
        std::printf("%s: %zu bytes -> %zu tokens in %.3f s\n", pre.c_str(), sample.size(), got.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        size_t i = 0;
        while (i < got.size() && i < expect.size() && got[i] == expect[i]) ++i;
        EXPECT_EQ(got.size(), expect.size()) << pre;
        EXPECT_EQ(i, expect.size()) << pre << ": first difference at token " << i << " got "
                                    << (i < got.size() ? got[i] : -1) << " expected "
                                    << (i < expect.size() ? expect[i] : -1) << " near '"
                                    << tok->decode(ids_t(got.begin() + (i > 5 ? i - 5 : 0),
                                                         got.begin() + std::min(got.size(), i + 5)))
                                    << "'";
        std::string plain = sample;  // the control token decodes to nothing
        for (size_t p; (p = plain.find("<|endoftext|>")) != std::string::npos;) plain.erase(p, 13);
        EXPECT_TRUE(tok->decode(got) == plain) << pre << ": decode(encode(sample)) differs";
    }
}

}  // namespace
}  // namespace lowbit
