// safetensors checkpoints in Hugging Face layout. The fixtures are stories260K-f32.gguf turned back into
// an HF checkpoint by tests/io/fixtures/make_hf_fixture.py (q/k rows in HF's rotary order, F32 single
// file and BF16 in two shards); loading them must give back the GGUF's tensors (bit-exact for F32,
// the BF16-rounded values for BF16) and its llama.* metadata. Malformed files must fail with errors
// naming the file and the field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/half.hpp"
#include "core/mmap.hpp"
#include "io/hf_config.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "test_util.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using lowbit::test::shared_path;

const std::string k_gguf = "models/stories260K/stories260K-f32.gguf";

// llama.* keys convert_hf_to_gguf.py writes from config.json that llama2.c's converter did not write.
const std::set<std::string> k_hf_only_keys = {"llama.rope.freq_base", "llama.vocab_size"};

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

// Runs the fixture generator; returns false (test skips) when python3 with numpy is unavailable.
bool make_fixture(const std::string& out, const std::string& args) {
    static const int have_numpy = std::system("python3 -c 'import numpy' >/dev/null 2>&1");
    if (have_numpy != 0) return false;
    const std::string cmd = std::string("python3 '") + LOWBIT_SOURCE_DIR + "/tests/io/fixtures/make_hf_fixture.py' '" +
                            shared_path(k_gguf) + "' '" + out + "' " + args;
    return std::system(cmd.c_str()) == 0;
}

void write_json(const std::string& path, const json& j) {
    std::ofstream(path) << j.dump();
}

// A safetensors file from a header object and raw data; `hlen` overrides the stored header length.
void write_st(const std::string& path, const json& header, const std::vector<uint8_t>& data,
              int64_t hlen = -1) {
    const std::string h = header.dump();
    const uint64_t n = hlen >= 0 ? static_cast<uint64_t>(hlen) : h.size();
    std::vector<uint8_t> b(8);
    std::memcpy(b.data(), &n, 8);
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), data.begin(), data.end());
    lowbit::test::write_file(path, b.data(), b.size());
}

std::vector<uint8_t> floats(int n) {
    std::vector<uint8_t> b(4 * n);
    for (int i = 0; i < n; ++i) {
        const float f = static_cast<float>(i);
        std::memcpy(b.data() + 4 * i, &f, 4);
    }
    return b;
}

void expect_llama_metadata(const lowbit::model_data& m, const lowbit::gguf_file& g) {
    for (const auto& [k, v] : g.metadata()) {
        if (k.rfind("llama.", 0) != 0 && k != "general.architecture") continue;
        const auto* mv = m.find(k);
        ASSERT_NE(mv, nullptr) << "missing key " << k;
        EXPECT_TRUE(*mv == v) << k << ": got " << mv->to_display() << ", gguf has " << v.to_display();
    }
    for (const auto& [k, v] : m.metadata) {
        if (k.rfind("llama.", 0) != 0) continue;
        EXPECT_TRUE(g.find(k) != nullptr || k_hf_only_keys.count(k)) << "unexpected key " << k;
    }
    EXPECT_EQ(m.get_float("llama.rope.freq_base", 0), 10000.0);
    EXPECT_EQ(m.get_int("llama.vocab_size", 0), 512);
}

class SafetensorsFixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (!lowbit::test::file_exists(shared_path(k_gguf))) GTEST_SKIP() << "shared models missing";
    }
};

TEST_F(SafetensorsFixture, F32SingleFileEqualsGguf) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype F32")) GTEST_SKIP() << "python3 with numpy unavailable";
    const auto g = lowbit::gguf_file::open(shared_path(k_gguf));
    for (const std::string& path : {dir, dir + "/model.safetensors"}) {
        SCOPED_TRACE(path);
        const auto m = lowbit::load_safetensors_model(path);
        EXPECT_EQ(m.source_format, "safetensors");
        // Tied embeddings: like convert_hf_to_gguf.py, no output.weight (the GGUF's is a copy of
        // token_embd, written by the llama2.c converter).
        EXPECT_EQ(m.find_tensor("output.weight"), nullptr);
        const auto* out = g.find_tensor("output.weight");
        const auto* emb = g.find_tensor("token_embd.weight");
        ASSERT_TRUE(out && emb);
        ASSERT_EQ(0, std::memcmp(out->data, emb->data, emb->n_bytes));

        ASSERT_EQ(m.tensors.size(), g.tensors().size() - 1);
        size_t i = 0;
        for (const auto& b : g.tensors()) {
            if (b.name == "output.weight") continue;
            const auto& a = m.tensors[i++];  // same order as llama.cpp's
            SCOPED_TRACE(b.name);
            EXPECT_EQ(a.name, b.name);
            EXPECT_EQ(a.t, lowbit::type::f32);
            EXPECT_EQ(a.shape, b.shape);
            ASSERT_EQ(a.bytes.size(), b.n_bytes);
            EXPECT_EQ(0, std::memcmp(a.bytes.data(), b.data, b.n_bytes)) << "tensor bytes differ";
        }
        expect_llama_metadata(m, g);
    }
    // Zero-copy: tensors other than q/k point into the mapping (8-aligned data section).
    const auto m = lowbit::load_model(dir);
    const auto* v = m.find_tensor("blk.0.attn_v.weight");
    const auto* q = m.find_tensor("blk.0.attn_q.weight");
    ASSERT_TRUE(v && q);
    ASSERT_FALSE(m.keepalive.empty());
    const auto map = std::static_pointer_cast<const lowbit::mapped_file>(m.keepalive[0]);
    auto inside = [&](const lowbit::model_tensor* t) {
        return t->bytes.data() >= map->data() && t->bytes.data() < map->data() + map->size();
    };
    EXPECT_TRUE(inside(v)) << "v_proj was copied";
    EXPECT_FALSE(inside(q)) << "q_proj must be un-permuted into an owned buffer";
}

TEST_F(SafetensorsFixture, Bf16ShardedEqualsRoundedGguf) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype BF16 --shards 2")) GTEST_SKIP() << "python3 with numpy unavailable";
    ASSERT_TRUE(fs::exists(dir + "/model-00002-of-00002.safetensors"));
    const auto g = lowbit::gguf_file::open(shared_path(k_gguf));
    for (const std::string& path : {dir, dir + "/model.safetensors.index.json"}) {
        SCOPED_TRACE(path);
        const auto m = lowbit::load_model(path);
        ASSERT_EQ(m.tensors.size(), g.tensors().size() - 1);
        for (const auto& a : m.tensors) {
            SCOPED_TRACE(a.name);
            const auto* b = g.find_tensor(a.name);
            ASSERT_NE(b, nullptr);
            EXPECT_EQ(a.t, lowbit::type::bf16);
            EXPECT_EQ(a.shape, b->shape);
            const int64_t n = b->n_elements();
            ASSERT_EQ(a.bytes.size(), static_cast<size_t>(2 * n));
            int64_t bad = 0;
            for (int64_t i = 0; i < n; ++i) {
                float f;
                uint16_t h;
                std::memcpy(&f, b->data + 4 * i, 4);
                std::memcpy(&h, a.bytes.data() + 2 * i, 2);
                bad += h != lowbit::f32_to_bf16(f);
            }
            EXPECT_EQ(bad, 0);
        }
        expect_llama_metadata(m, g);
    }
}

TEST_F(SafetensorsFixture, F16EqualsRoundedGguf) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype F16")) GTEST_SKIP() << "python3 with numpy unavailable";
    const auto g = lowbit::gguf_file::open(shared_path(k_gguf));
    const auto m = lowbit::load_model(dir + "/model.safetensors");
    ASSERT_EQ(m.tensors.size(), g.tensors().size() - 1);
    for (const auto& a : m.tensors) {
        const auto* b = g.find_tensor(a.name);
        ASSERT_NE(b, nullptr) << a.name;
        EXPECT_EQ(a.t, lowbit::type::f16);
        int64_t bad = 0;
        for (int64_t i = 0; i < b->n_elements(); ++i) {
            float f;
            uint16_t h;
            std::memcpy(&f, b->data + 4 * i, 4);
            std::memcpy(&h, a.bytes.data() + 2 * i, 2);
            bad += h != lowbit::f32_to_fp16(f);
        }
        EXPECT_EQ(bad, 0) << a.name;
    }
}

// Random byte corruption of a header must give lowbit::error or a valid load, never a crash or another
// exception type.
TEST(Safetensors, MutatedHeadersNeverCrash) {
    const std::string dir = lowbit::test::temp_dir();
    json h = {{"model.embed_tokens.weight", {{"dtype", "F32"}, {"shape", {4, 2}}, {"data_offsets", {0, 32}}}},
              {"model.norm.weight", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {32, 36}}}}};
    const std::string hs = h.dump();
    std::vector<uint8_t> base(8);
    const uint64_t n = hs.size();
    std::memcpy(base.data(), &n, 8);
    base.insert(base.end(), hs.begin(), hs.end());
    const auto data = floats(9);
    base.insert(base.end(), data.begin(), data.end());
    const std::string p = dir + "/m.safetensors";
    uint32_t seed = 12345;
    auto rnd = [&] { return seed = seed * 1664525u + 1013904223u, seed >> 8; };
    int errors = 0;
    for (int iter = 0; iter < 400; ++iter) {
        auto b = base;
        for (int k = 0; k < 1 + iter % 3; ++k) b[rnd() % (8 + hs.size())] = static_cast<uint8_t>(rnd());
        lowbit::test::write_file(p, b.data(), b.size());
        try {
            lowbit::load_safetensors_model(p);
        } catch (const lowbit::error&) {
            ++errors;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "iteration " << iter << " (seed 12345): non-lowbit exception: " << e.what();
        }
    }
    EXPECT_GT(errors, 100);
}

TEST(Safetensors, QkPermutationMatchesLlamaCpp) {
    // convert_hf_to_gguf.py: w.reshape(n_head, 2, hd/2, in).swapaxes(1, 2): GGUF row (h, i, j) is HF
    // row (h, j, i). n_head 2, hd 6, rows of 1 byte: HF rows 0..11.
    std::vector<uint8_t> hf(12), gg(12), back(12);
    for (int i = 0; i < 12; ++i) hf[i] = static_cast<uint8_t>(i);
    lowbit::io::unpermute_qk_rows(hf.data(), gg.data(), 12, 1, 2);
    EXPECT_EQ(gg, (std::vector<uint8_t>{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}));
    lowbit::io::permute_qk_rows(gg.data(), back.data(), 12, 1, 2);
    EXPECT_EQ(back, hf);
}

TEST(Safetensors, TensorNameMapping) {
    using lowbit::io::hf_to_gguf_tensor_name;
    EXPECT_EQ(hf_to_gguf_tensor_name("model.embed_tokens.weight"), "token_embd.weight");
    EXPECT_EQ(hf_to_gguf_tensor_name("lm_head.weight"), "output.weight");
    EXPECT_EQ(hf_to_gguf_tensor_name("model.norm.weight"), "output_norm.weight");
    EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.12.self_attn.o_proj.weight"), "blk.12.attn_output.weight");
    EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.0.post_attention_layernorm.weight"), "blk.0.ffn_norm.weight");
    EXPECT_EQ(hf_to_gguf_tensor_name("model.layers.3.mlp.down_proj.weight"), "blk.3.ffn_down.weight");
    EXPECT_FALSE(hf_to_gguf_tensor_name("model.layers.x.mlp.down_proj.weight"));
    EXPECT_FALSE(hf_to_gguf_tensor_name("model.layers.01.mlp.down_proj.weight"));
    EXPECT_FALSE(hf_to_gguf_tensor_name("model.layers.1.mlp.down_proj.bias"));
    EXPECT_TRUE(lowbit::io::hf_tensor_is_ignored("model.layers.0.self_attn.rotary_emb.inv_freq"));
}

TEST(Safetensors, PlainFileWithoutConfigKeepsNames) {
    const std::string dir = lowbit::test::temp_dir();
    json h = {{"a", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}},
              {"b", {{"dtype", "F16"}, {"shape", {4}}, {"data_offsets", {24, 32}}}},
              {"__metadata__", {{"format", "pt"}}}};
    auto data = floats(8);
    write_st(dir + "/x.safetensors", h, data);
    const auto m = lowbit::load_model(dir + "/x.safetensors");
    ASSERT_EQ(m.tensors.size(), 2u);
    EXPECT_EQ(m.tensors[0].name, "a");
    EXPECT_EQ(m.tensors[0].shape, (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(m.tensors[1].t, lowbit::type::f16);
    EXPECT_EQ(0, std::memcmp(m.tensors[1].bytes.data(), data.data() + 24, 8));
    EXPECT_TRUE(m.metadata.empty());
}

TEST(Safetensors, CorruptFilesFail) {
    const std::string dir = lowbit::test::temp_dir();
    const std::string p = dir + "/bad.safetensors";
    auto entry = [](const char* dt, std::vector<int64_t> shape, uint64_t b, uint64_t e) {
        return json{{"dtype", dt}, {"shape", shape}, {"data_offsets", {b, e}}};
    };
    auto data = floats(8);

    // Shorter than the length field.
    lowbit::test::write_file(p, data.data(), 5);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "8-byte header length"});
    // Header length beyond the file.
    write_st(p, json{{"w", entry("F32", {8}, 0, 32)}}, data, 1 << 20);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "header length 1048576"});
    // Not JSON.
    write_st(p, json("x"), data, 2);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "header"});
    // Offsets beyond the file.
    write_st(p, json{{"w", entry("F32", {16}, 0, 64)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); },
                 {"bad.safetensors", "tensor 'w'", "data_offsets", "[0, 64]", "32 bytes"});
    // Truncated file: same header, data cut short.
    write_st(p, json{{"w", entry("F32", {8}, 0, 32)}}, std::vector<uint8_t>(data.begin(), data.begin() + 20));
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "tensor 'w'", "data_offsets"});
    // Size does not match shape x dtype.
    write_st(p, json{{"w", entry("F32", {7}, 0, 32)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "tensor 'w'", "needs 28"});
    // Unknown dtype.
    write_st(p, json{{"w", entry("I64", {4}, 0, 32)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "tensor 'w'", "dtype 'I64'"});
    // Overlapping tensors.
    write_st(p, json{{"u", entry("F32", {4}, 0, 16)}, {"v", entry("F32", {4}, 8, 24)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "tensor 'v'", "inside tensor 'u'"});
    // begin > end, negative dims, absurd shapes.
    write_st(p, json{{"w", entry("F32", {0}, 8, 4)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "data_offsets"});
    write_st(p, json{{"w", {{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 4}}}}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "shape"});
    write_st(p, json{{"w", entry("F32", {1 << 30, 1 << 30, 1 << 30}, 0, 32)}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "shape"});
    write_st(p, json{{"w", {{"dtype", "F32"}, {"shape", {8}}}}}, data);
    expect_error([&] { lowbit::load_safetensors_model(p); }, {"bad.safetensors", "data_offsets"});
}

TEST(Safetensors, ShardIndexErrors) {
    const std::string dir = lowbit::test::temp_dir();
    write_st(dir + "/a.safetensors", json{{"x", {{"dtype", "F32"}, {"shape", {8}}, {"data_offsets", {0, 32}}}}},
             floats(8));
    const std::string idx = dir + "/model.safetensors.index.json";
    write_json(idx, {{"weight_map", {{"x", "a.safetensors"}, {"y", "b.safetensors"}}}});
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"index.json", "shard 'b.safetensors'", "missing"});
    write_json(idx, {{"weight_map", {{"x", "a.safetensors"}, {"z", "a.safetensors"}}}});
    expect_error([&] { lowbit::load_safetensors_model(idx); }, {"index.json", "weight_map['z']", "no such tensor"});
    write_json(idx, {{"weight_map", {{"x", "../a.safetensors"}}}});
    expect_error([&] { lowbit::load_safetensors_model(idx); }, {"index.json", "not a file name"});
    write_json(idx, {{"metadata", {}}});
    expect_error([&] { lowbit::load_safetensors_model(idx); }, {"index.json", "weight_map"});
    write_json(idx, {{"weight_map", {{"x", "a.safetensors"}}}});
    EXPECT_EQ(lowbit::load_safetensors_model(dir).tensors.size(), 1u);
}

TEST_F(SafetensorsFixture, ConfigErrors) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype F32")) GTEST_SKIP() << "python3 with numpy unavailable";
    const json cfg = lowbit::io::read_json_file(dir + "/config.json");

    json c = cfg;
    c["hidden_size"] = 128;
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); },
                 {"model.embed_tokens.weight", "shape [64, 512]", "[128, 512]"});
    c = cfg;
    c["model_type"] = "gpt2";
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"config.json", "model_type 'gpt2'"});
    c = cfg;
    c.erase("num_hidden_layers");
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"config.json", "num_hidden_layers"});
    c = cfg;
    c["num_hidden_layers"] = 4;
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"layer 4", "num_hidden_layers 4"});
    c = cfg;
    c["num_hidden_layers"] = 6;
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"blk.5.attn_q.weight", "missing"});
    c = cfg;
    c["tie_word_embeddings"] = false;
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"output.weight", "lm_head.weight"});
    c = cfg;
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"config.json", "rope_scaling", "llama3"});
    // transformers >= 5 writes "rope_parameters" instead of rope_theta/rope_scaling.
    c = cfg;
    c.erase("rope_theta");
    c["rope_parameters"] = {{"rope_theta", 100000.0}, {"rope_type", "default"}};
    write_json(dir + "/config.json", c);
    {
        const lowbit::model_data m = lowbit::load_safetensors_model(dir);
        EXPECT_EQ(m.get_float("llama.rope.freq_base", 0), 100000.0);
        EXPECT_EQ(m.find("llama.rope.scaling.type"), nullptr);
    }
    c["rope_parameters"] = {{"rope_theta", 500000.0}, {"rope_type", "linear"}, {"factor", 4.0}};
    write_json(dir + "/config.json", c);
    {
        const lowbit::model_data m = lowbit::load_safetensors_model(dir);
        EXPECT_EQ(m.get_float("llama.rope.freq_base", 0), 500000.0);
        EXPECT_EQ(m.get_float("llama.rope.scaling.factor", 0), 4.0);
    }
    c["rope_parameters"] = {{"rope_theta", 500000.0}, {"rope_type", "yarn"}, {"factor", 4.0}};
    write_json(dir + "/config.json", c);
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"config.json", "yarn"});
    std::ofstream(dir + "/config.json") << "{ not json";
    expect_error([&] { lowbit::load_safetensors_model(dir); }, {"config.json", "invalid JSON"});
}

TEST_F(SafetensorsFixture, ByteLevelBpeTokenizer) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype F32")) GTEST_SKIP() << "python3 with numpy unavailable";
    // 512-entry vocab: 508 base tokens with a gap at id 7, and 3 added tokens (2 special).
    json vocab = json::object();
    for (int i = 0; i < 508; ++i)
        if (i != 7) vocab[i < 256 ? fmt::format("{}{}", static_cast<char>('!' + i % 90), i) : fmt::format("t{}", i)] = i;
    json tok = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"t1 t2", json::array({"a", "b"})})}}},
                {"added_tokens", json::array({{{"id", 508}, {"content", "<|endoftext|>"}, {"special", true}},
                                              {{"id", 509}, {"content", "<|im_start|>"}, {"special", true}},
                                              {{"id", 510}, {"content", "<tool>"}, {"special", false}}})},
                {"pre_tokenizer", {{"type", "Sequence"},
                                   {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                                                  {{"type", "ByteLevel"}}})}}}};
    write_json(dir + "/tokenizer.json", tok);
    write_json(dir + "/tokenizer_config.json",
               {{"bos_token", "<|im_start|>"}, {"eos_token", {{"content", "<|endoftext|>"}}}, {"add_bos_token", false},
                {"chat_template", "{{ messages }}"}});
    const auto m = lowbit::load_safetensors_model(dir);
    EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(m.get_string("tokenizer.ggml.pre"), "smollm");
    const auto* tokens = m.find("tokenizer.ggml.tokens");
    const auto* types = m.find("tokenizer.ggml.token_type");
    const auto* merges = m.find("tokenizer.ggml.merges");
    ASSERT_TRUE(tokens && types && merges);
    ASSERT_EQ(tokens->array.size(), 512u);
    EXPECT_EQ(tokens->array[300].as_string(), "t300");
    EXPECT_EQ(tokens->array[7].as_string(), "[PAD7]");
    EXPECT_EQ(types->array[7].as_i64(), 5);    // unused
    EXPECT_EQ(types->array[300].as_i64(), 1);  // normal
    EXPECT_EQ(types->array[508].as_i64(), 3);  // control
    EXPECT_EQ(types->array[510].as_i64(), 4);  // user-defined
    EXPECT_EQ(tokens->array[511].as_string(), "[PAD511]");
    ASSERT_EQ(merges->array.size(), 2u);
    EXPECT_EQ(merges->array[1].as_string(), "a b");
    EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id", -1), 509);
    EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id", -1), 508);
    EXPECT_FALSE(m.find("tokenizer.ggml.add_bos_token")->as_bool());
    EXPECT_EQ(m.get_string("tokenizer.chat_template"), "{{ messages }}");
}

TEST_F(SafetensorsFixture, SentencePieceStyleTokenizer) {
    const std::string dir = lowbit::test::temp_dir() + "/hf";
    if (!make_fixture(dir, "--dtype F32")) GTEST_SKIP() << "python3 with numpy unavailable";
    // The tok512 layout: <unk> <s> </s>, 256 byte tokens, then merged pieces.
    json vocab = json::object();
    vocab["<unk>"] = 0, vocab["<s>"] = 1, vocab["</s>"] = 2;
    for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 3 + b;
    vocab["\xe2\x96\x81"] = 259, vocab["t"] = 260, vocab["\xe2\x96\x81t"] = 261, vocab["h"] = 262,
    vocab["\xe2\x96\x81th"] = 263;
    for (int i = 264; i < 512; ++i) vocab[fmt::format("w{}", i)] = i;  // fmt: GCC 12 -Wrestrict false positive
    json tok = {{"model", {{"type", "BPE"}, {"byte_fallback", true}, {"unk_token", "<unk>"}, {"vocab", vocab},
                           {"merges", json::array({"\xe2\x96\x81 t", "\xe2\x96\x81t h"})}}},
                {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                              {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                              {{"id", 2}, {"content", "</s>"}, {"special", true}}})}};
    write_json(dir + "/tokenizer.json", tok);
    const auto m = lowbit::load_safetensors_model(dir);
    EXPECT_EQ(m.get_string("tokenizer.ggml.model"), "llama");
    const auto* types = m.find("tokenizer.ggml.token_type");
    const auto* scores = m.find("tokenizer.ggml.scores");
    ASSERT_TRUE(types && scores);
    EXPECT_EQ(types->array[0].as_i64(), 2);   // unknown
    EXPECT_EQ(types->array[1].as_i64(), 3);   // control
    EXPECT_EQ(types->array[3 + 0x41].as_i64(), 6);  // <0x41>: byte
    EXPECT_EQ(types->array[261].as_i64(), 1);
    // Merge ranks become scores: the first merge outranks the second, both outrank unmerged pieces.
    EXPECT_EQ(scores->array[261].as_f64(), 0.0);
    EXPECT_EQ(scores->array[263].as_f64(), -1.0);
    EXPECT_LT(scores->array[300].as_f64(), -1.0);
    EXPECT_EQ(m.find("tokenizer.ggml.merges"), nullptr);
    EXPECT_EQ(m.get_int("tokenizer.ggml.unknown_token_id", -1), 0);
    EXPECT_EQ(m.get_int("tokenizer.ggml.bos_token_id", -1), 1);  // from config.json
    EXPECT_EQ(m.get_int("tokenizer.ggml.eos_token_id", -1), 2);
}

}  // namespace

namespace {
// tokenizer.ggml.pre inferred from tokenizer.json's pre_tokenizer (llama.cpp itself hashes a probe
// tokenization; lowbit reads the spec).
std::string inferred_pre(const nlohmann::json& pre_tokenizer) {
    nlohmann::json tok = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", nlohmann::json::array()}}},
                          {"added_tokens", nlohmann::json::array()}};
    if (!pre_tokenizer.is_null()) tok["pre_tokenizer"] = pre_tokenizer;
    for (const auto& [k, v] : lowbit::io::hf_tokenizer_metadata(tok, nullptr, nlohmann::json::object(), 2, "t.json"))
        if (k == "tokenizer.ggml.pre") return v.as_string();
    return "";
}
}  // namespace

TEST(HfTokenizerJson, PreTokenizerKindIsInferred) {
    // A plain GPT-2 ByteLevel split (what transformers writes for a GGUF gpt2 vocabulary).
    EXPECT_EQ(inferred_pre({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}), "gpt-2");
    // SmolLM: individual digits, then ByteLevel.
    EXPECT_EQ(inferred_pre({{"type", "Sequence"},
                            {"pretokenizers",
                             {{{"type", "Digits"}, {"individual_digits", true}},
                              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}}}),
              "smollm");
    EXPECT_EQ(inferred_pre({{"type", "ByteLevel"}, {"use_regex", false}}), "default");
}
