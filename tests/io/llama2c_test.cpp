// llama2.c checkpoints: stories260K.bin + tok512.bin must load into exactly what llama.cpp's converter
// wrote into stories260K-f32.gguf (every tensor byte-equal, every metadata key equal), and malformed
// files must fail with errors naming the file and the field.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using lowbit::test::shared_path;

const std::string k_bin = "models/stories260K/stories260K.bin";
const std::string k_tok = "models/stories260K/tok512.bin";
const std::string k_gguf = "models/stories260K/stories260K-f32.gguf";

// Keys llama.cpp's converter writes that a llama2.c checkpoint does not carry. stories260K-f32.gguf
// happens to hold none: every one of its keys is reproduced.
const std::set<std::string> k_converter_only_keys = {};

bool have_shared() {
    return lowbit::test::file_exists(shared_path(k_bin)) && lowbit::test::file_exists(shared_path(k_tok)) &&
           lowbit::test::file_exists(shared_path(k_gguf));
}

// Runs `f`, expects a lowbit::error whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "no lowbit::error thrown";
    } catch (const lowbit::error& e) {
        const std::string msg = e.what();
        for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    }
}

std::vector<uint8_t> le_i32s(std::initializer_list<int32_t> v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), std::data(v), b.size());
    return b;
}

TEST(Llama2c, Stories260KEqualsLlamaCppGguf) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const auto m = lowbit::load_llama2c_model(shared_path(k_bin));
    const auto g = lowbit::gguf_file::open(shared_path(k_gguf));
    EXPECT_EQ(m.source_format, "llama2c");

    // Tensors: same names in the same order, same type, shape and bytes.
    ASSERT_EQ(m.tensors.size(), g.tensors().size());
    for (size_t i = 0; i < m.tensors.size(); ++i) {
        const auto& a = m.tensors[i];
        const auto& b = g.tensors()[i];
        SCOPED_TRACE(b.name);
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.t, b.t);
        EXPECT_EQ(a.shape, b.shape);
        ASSERT_EQ(a.bytes.size(), b.n_bytes);
        EXPECT_EQ(0, std::memcmp(a.bytes.data(), b.data, b.n_bytes)) << "tensor bytes differ";
    }

    // Metadata: every key of the GGUF (in its order) with an equal value, and nothing else.
    std::vector<std::string> want_keys;
    for (const auto& [k, v] : g.metadata()) {
        if (k_converter_only_keys.count(k)) continue;
        want_keys.push_back(k);
        const auto* mv = m.find(k);
        ASSERT_NE(mv, nullptr) << "missing key " << k;
        EXPECT_EQ(mv->type, v.type) << k;
        EXPECT_TRUE(*mv == v) << k << ": got " << mv->to_display() << ", gguf has " << v.to_display();
    }
    std::vector<std::string> got_keys;
    for (const auto& [k, v] : m.metadata) got_keys.push_back(k);
    EXPECT_EQ(got_keys, want_keys);

    // Spot checks of what the comparison covers.
    EXPECT_EQ(m.get_int("llama.rope.dimension_count", 0), 8);
    const auto* tokens = m.find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_EQ(tokens->array.size(), 512u);
    EXPECT_EQ(tokens->array[259].as_string(), "\xe2\x96\x81t");  // " t", space escaped as U+2581
    // The tied classifier is a view of the embedding's bytes, not a copy.
    EXPECT_EQ(m.find_tensor("output.weight")->bytes.data(), m.find_tensor("token_embd.weight")->bytes.data());
}

TEST(Llama2c, LoadModelDetectsLlama2c) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const auto m = lowbit::load_model(shared_path(k_bin));
    EXPECT_EQ(m.source_format, "llama2c");
    EXPECT_EQ(m.tensors.size(), 48u);
}

TEST(Llama2c, TokenizerPathOption) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const std::string dir = lowbit::test::temp_dir();
    const std::string bin = dir + "/model.bin";
    fs::copy_file(shared_path(k_bin), bin);

    // No tokenizer beside it: weights and llama.* keys only.
    auto m = lowbit::load_llama2c_model(bin);
    EXPECT_EQ(m.find("tokenizer.ggml.tokens"), nullptr);
    EXPECT_EQ(m.get_int("llama.block_count", 0), 5);
    EXPECT_EQ(m.tensors.size(), 48u);

    lowbit::load_options opt;
    opt.tokenizer_path = shared_path(k_tok);
    m = lowbit::load_llama2c_model(bin, opt);
    ASSERT_NE(m.find("tokenizer.ggml.tokens"), nullptr);
    EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");

    // `tokenizer.bin` beside the checkpoint is found too.
    fs::copy_file(shared_path(k_tok), dir + "/tokenizer.bin");
    m = lowbit::load_llama2c_model(bin);
    EXPECT_NE(m.find("tokenizer.ggml.scores"), nullptr);

    opt.tokenizer_path = dir + "/nope.bin";
    expect_error([&] { lowbit::load_llama2c_model(bin, opt); }, {"nope.bin", "tokenizer"});
}

TEST(Llama2c, TruncatedOrPaddedCheckpointFails) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const auto bytes = lowbit::test::read_file(shared_path(k_bin));
    const std::string dir = lowbit::test::temp_dir();

    const std::string cut = dir + "/cut.bin";
    lowbit::test::write_file(cut, bytes.data(), bytes.size() - 4);
    expect_error([&] { lowbit::load_llama2c_model(cut); }, {"cut.bin", "truncated", std::to_string(bytes.size() - 4)});
    lowbit::test::write_file(cut, bytes.data(), 1000);
    expect_error([&] { lowbit::load_llama2c_model(cut); }, {"cut.bin", "the file is truncated"});

    std::vector<uint8_t> more = bytes;
    more.resize(bytes.size() + 8);
    const std::string padded = dir + "/padded.bin";
    lowbit::test::write_file(padded, more.data(), more.size());
    expect_error([&] { lowbit::load_llama2c_model(padded); }, {"padded.bin", "implies", "8 bytes too many"});

    const std::string tiny = dir + "/tiny.bin";
    lowbit::test::write_file(tiny, bytes.data(), 20);
    expect_error([&] { lowbit::load_llama2c_model(tiny); }, {"tiny.bin", "header"});
}

TEST(Llama2c, AbsurdHeaderFails) {
    const std::string dir = lowbit::test::temp_dir();
    auto check = [&](std::initializer_list<int32_t> h, std::vector<std::string> parts) {
        auto b = le_i32s(h);
        b.resize(b.size() + 64);
        const std::string p = dir + "/h.bin";
        lowbit::test::write_file(p, b.data(), b.size());
        parts.push_back("h.bin");
        expect_error([&] { lowbit::load_llama2c_model(p); }, parts);
    };
    check({-64, 172, 5, 8, 4, 512, 512}, {"dim", "-64"});
    check({64, 172, 5, 8, 4, 512, 1 << 30}, {"seq_len"});
    check({64, 172, 0, 8, 4, 512, 512}, {"n_layers"});
    check({64, 172, 5, 7, 7, 512, 512}, {"n_heads"});
    check({64, 172, 5, 8, 3, 512, 512}, {"n_kv_heads"});
    check({64, 172, 5, 8, 4, 0, 512}, {"vocab_size"});
    // Plausible dims that imply gigabytes the file does not have.
    check({4096, 11008, 32, 32, 32, 32000, 2048}, {"truncated"});
}

// A synthetic checkpoint with an unshared classifier and no freq_cis tables: every tensor must be
// the right slice of the file.
TEST(Llama2c, UnsharedClassifierLayout) {
    const int32_t D = 8, F = 12, L = 2, H = 2, KV = 1, V = 5, S = 4;
    const int64_t kv_dim = D / H * KV;
    const int64_t n = V * D + L * D + L * D * D + 2 * L * kv_dim * D + L * D * D + L * D + 3 * L * F * D + D +
                      V * D;
    std::vector<float> w(n);
    for (int64_t i = 0; i < n; ++i) w[i] = static_cast<float>(i);
    auto bytes = le_i32s({D, F, L, H, KV, -V, S});
    const size_t hdr = bytes.size();
    bytes.resize(hdr + 4 * n);
    std::memcpy(bytes.data() + hdr, w.data(), 4 * n);
    const std::string p = lowbit::test::temp_dir() + "/unshared.bin";
    lowbit::test::write_file(p, bytes.data(), bytes.size());

    const auto m = lowbit::load_llama2c_model(p);
    auto first = [&](const char* name) {
        const auto* t = m.find_tensor(name);
        EXPECT_NE(t, nullptr) << name;
        float f;
        std::memcpy(&f, t->bytes.data(), 4);
        return static_cast<int64_t>(f);
    };
    // Offsets (in floats) of each array in the file.
    const int64_t o_emb = 0, o_att = o_emb + V * D, o_q = o_att + L * D, o_k = o_q + L * D * D;
    const int64_t o_v = o_k + L * kv_dim * D, o_o = o_v + L * kv_dim * D, o_ffn = o_o + L * D * D;
    const int64_t o_w1 = o_ffn + L * D, o_w2 = o_w1 + L * F * D, o_w3 = o_w2 + L * F * D;
    const int64_t o_fin = o_w3 + L * F * D, o_cls = o_fin + D, at = o_cls + V * D;
    EXPECT_EQ(first("token_embd.weight"), o_emb);
    EXPECT_EQ(first("blk.0.attn_norm.weight"), o_att);
    EXPECT_EQ(first("blk.1.attn_norm.weight"), o_att + D);
    EXPECT_EQ(first("blk.0.attn_q.weight"), o_q);
    EXPECT_EQ(first("blk.1.attn_q.weight"), o_q + D * D);
    EXPECT_EQ(first("blk.0.attn_k.weight"), o_k);
    EXPECT_EQ(first("blk.1.attn_k.weight"), o_k + kv_dim * D);
    EXPECT_EQ(first("blk.1.attn_v.weight"), o_v + kv_dim * D);
    EXPECT_EQ(first("blk.1.attn_output.weight"), o_o + D * D);
    EXPECT_EQ(first("blk.1.ffn_norm.weight"), o_ffn + D);
    EXPECT_EQ(first("blk.1.ffn_gate.weight"), o_w1 + F * D);
    EXPECT_EQ(first("blk.1.ffn_down.weight"), o_w2 + F * D);
    EXPECT_EQ(first("blk.1.ffn_up.weight"), o_w3 + F * D);
    EXPECT_EQ(first("output_norm.weight"), o_fin);
    EXPECT_EQ(first("output.weight"), o_cls);
    EXPECT_EQ(at, n);
    EXPECT_EQ(m.find_tensor("blk.0.attn_k.weight")->shape, (std::vector<int64_t>{D, kv_dim}));
    EXPECT_EQ(m.find_tensor("blk.0.ffn_down.weight")->shape, (std::vector<int64_t>{F, D}));
    EXPECT_EQ(m.find_tensor("output.weight")->shape, (std::vector<int64_t>{D, V}));
    EXPECT_EQ(m.get_int("llama.attention.head_count_kv", 0), KV);
}

TEST(Llama2c, BadTokenizerFails) {
    if (!have_shared()) GTEST_SKIP() << "shared models missing";
    const auto tok = lowbit::test::read_file(shared_path(k_tok));
    const std::string dir = lowbit::test::temp_dir();
    lowbit::load_options opt;

    opt.tokenizer_path = dir + "/cut.bin";
    lowbit::test::write_file(opt.tokenizer_path, tok.data(), tok.size() - 3);
    expect_error([&] { lowbit::load_llama2c_model(shared_path(k_bin), opt); }, {"cut.bin", "token 511"});

    std::vector<uint8_t> more = tok;
    more.resize(tok.size() + 10);
    opt.tokenizer_path = dir + "/long.bin";
    lowbit::test::write_file(opt.tokenizer_path, more.data(), more.size());
    expect_error([&] { lowbit::load_llama2c_model(shared_path(k_bin), opt); }, {"long.bin", "10 bytes after"});

    std::vector<uint8_t> bad = tok;
    const int32_t huge = 1 << 20;
    std::memcpy(bad.data() + 4 + 4, &huge, 4);  // token 0's length
    opt.tokenizer_path = dir + "/bad.bin";
    lowbit::test::write_file(opt.tokenizer_path, bad.data(), bad.size());
    expect_error([&] { lowbit::load_llama2c_model(shared_path(k_bin), opt); }, {"bad.bin", "token 0", "length"});
}

}  // namespace
