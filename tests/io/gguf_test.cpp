// GGUF reader/writer: every shared GGUF file read and checked against dequant-report.json, round
// trips, the PyPI `gguf` package as an independent reader, and every kind of corruption.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <limits>
#include <set>
#include <filesystem>
#include <fstream>

#include "core/mmap.hpp"
#include "core/sha256.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "lowbit/model_file.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> shared_ggufs() {
    std::vector<std::string> out;
    const std::string vec = test::shared_path("ggml-vectors");
    if (fs::is_directory(vec))
        for (const auto& e : fs::directory_iterator(vec))
            if (e.path().extension() == ".gguf") out.push_back(e.path().string());
    const std::string st = test::shared_path("models/stories260K");
    if (fs::is_directory(st))
        for (const auto& e : fs::recursive_directory_iterator(st))
            if (e.path().extension() == ".gguf") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(GgufRead, EverySharedFileMatchesDequantReport) {
    const std::string report_path = test::shared_path("ggml-vectors/dequant-report.json");
    if (!test::file_exists(report_path)) GTEST_SKIP() << "missing " << report_path;
    std::ifstream in(report_path);
    const nlohmann::json report = nlohmann::json::parse(in);
    int n_files = 0, n_checked = 0;
    for (const std::string& path : shared_ggufs()) {
        SCOPED_TRACE(path);
        const gguf_file f = gguf_file::open(path);
        ++n_files;
        EXPECT_EQ(f.version(), 3u);
        EXPECT_EQ(f.alignment(), 32u);
        EXPECT_EQ(f.data_offset() % 32, 0u);
        EXPECT_FALSE(f.tensors().empty());
        for (const auto& t : f.tensors()) {
            EXPECT_EQ(t.data, f.mapping()->data() + f.data_offset() + t.offset);
            EXPECT_EQ(t.n_bytes, static_cast<size_t>(t.n_rows()) * row_bytes(t.t, t.row_len()));
            EXPECT_EQ(f.find_tensor(t.name), &t);
        }
        const std::string base = fs::path(path).filename().string();
        if (!report.contains(base)) continue;
        const auto& rep = report.at(base);
        ASSERT_EQ(f.tensors().size(), rep.size());
        for (const auto& [name, info] : rep.items()) {
            const tensor_info* t = f.find_tensor(name);
            ASSERT_NE(t, nullptr) << name;
            EXPECT_EQ(type_from_name(info.at("type").get<std::string>()), t->t) << name;
            EXPECT_EQ(info.at("shape").get<std::vector<int64_t>>(), t->shape) << name;
            ++n_checked;
        }
    }
    if (n_files == 0) GTEST_SKIP() << "no shared GGUF files";
    EXPECT_EQ(n_checked, 441);  // the report's tensor count (README)
}

TEST(GgufRead, Stories260KMetadata) {
    const std::string path = test::shared_path("models/stories260K/stories260K-f32.gguf");
    if (!test::file_exists(path)) GTEST_SKIP() << "missing " << path;
    const gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_int("llama.embedding_length", -1), 64);
    EXPECT_EQ(f.get_int("llama.feed_forward_length", -1), 172);
    EXPECT_EQ(f.get_int("llama.block_count", -1), 5);
    EXPECT_EQ(f.get_int("llama.attention.head_count", -1), 8);
    EXPECT_EQ(f.get_int("llama.attention.head_count_kv", -1), 4);
    EXPECT_EQ(f.get_int("llama.context_length", -1), 512);
    EXPECT_EQ(f.get_int("no.such.key", -7), -7);
    const gguf_value* toks = f.find("tokenizer.ggml.tokens");
    ASSERT_NE(toks, nullptr);
    EXPECT_EQ(toks->type, gguf_type::array);
    EXPECT_EQ(toks->elem_type, gguf_type::string);
    ASSERT_EQ(toks->array.size(), 512u);
    EXPECT_EQ(toks->array[0].as_string(), "<unk>");
    EXPECT_EQ(toks->array[1].as_string(), "<s>");
    EXPECT_EQ(toks->to_display(), "[string x 512]");
    const tensor_info* ffn = f.find_tensor("blk.0.ffn_gate.weight");
    ASSERT_NE(ffn, nullptr);
    EXPECT_EQ(ffn->shape, (std::vector<int64_t>{64, 172}));
    EXPECT_EQ(ffn->t, type::f32);
    EXPECT_EQ(ffn->n_bytes, 64u * 172 * 4);
}


// ---- writer ---------------------------------------------------------------------------------------

// Copies a whole file through the writer: every key and tensor, in order.
gguf_writer writer_from(const gguf_file& f) {
    gguf_writer w;
    for (const auto& [k, v] : f.metadata()) w.set(k, v);
    for (const auto& t : f.tensors()) w.add_tensor_view(t.name, t.t, t.shape, {t.data, t.n_bytes});
    return w;
}

void expect_same(const gguf_file& a, const gguf_file& b) {
    ASSERT_EQ(a.metadata().size(), b.metadata().size());
    for (size_t i = 0; i < a.metadata().size(); ++i) {
        EXPECT_EQ(a.metadata()[i].first, b.metadata()[i].first);
        EXPECT_TRUE(a.metadata()[i].second == b.metadata()[i].second) << a.metadata()[i].first;
    }
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        const auto& x = a.tensors()[i];
        const auto& y = b.tensors()[i];
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.t, y.t);
        EXPECT_EQ(x.shape, y.shape);
        ASSERT_EQ(x.n_bytes, y.n_bytes);
        EXPECT_EQ(std::memcmp(x.data, y.data, x.n_bytes), 0) << x.name;
    }
}

TEST(GgufWrite, RoundTripSharedFilesIsByteIdentical) {
    const std::vector<std::string> files = {
        "models/stories260K/stories260K-f32.gguf", "models/stories260K/llama.cpp-quantized/s260k-Q4_K_M.gguf",
        "ggml-vectors/synth-llama-256-IQ3_S.gguf", "ggml-vectors/synth-llama-256-Q8_0.gguf",
        "ggml-vectors/synth-llama-256-TQ1_0.gguf"};
    const std::string dir = test::temp_dir();
    int n = 0;
    for (const auto& rel : files) {
        const std::string path = test::shared_path(rel);
        if (!test::file_exists(path)) continue;
        SCOPED_TRACE(path);
        const gguf_file a = gguf_file::open(path);
        const gguf_writer w = writer_from(a);
        const std::string out = dir + "/rt-" + std::to_string(n++) + ".gguf";
        w.write(out);
        const gguf_file b = gguf_file::open(out);
        expect_same(a, b);
        EXPECT_EQ(w.file_size(), b.file_size());
        // llama.cpp lays out files the same way (kv, infos, aligned data): the bytes are identical.
        EXPECT_EQ(test::read_file(path), test::read_file(out));
    }
    if (n == 0) GTEST_SKIP() << "no shared GGUF files";
}

TEST(GgufWrite, EveryValueTypeRoundTrips) {
    gguf_writer w;
    w.set("a.u8", gguf_value::u8(255));
    w.set("a.i8", gguf_value::i8(-128));
    w.set("a.u16", gguf_value::u16(65535));
    w.set("a.i16", gguf_value::i16(-32768));
    w.set("a.u32", gguf_value::u32(4000000000u));
    w.set("a.i32", gguf_value::i32(-2000000000));
    w.set("a.u64", gguf_value::u64(~0ull));
    w.set("a.i64", gguf_value::i64(std::numeric_limits<int64_t>::min()));
    w.set("a.f32", gguf_value::f32(1e-5f));
    w.set("a.f32nan", gguf_value::f32(std::numeric_limits<float>::quiet_NaN()));
    w.set("a.f64", gguf_value::f64(-0.0));
    w.set("a.bool", gguf_value::boolean(true));
    w.set("a.str", gguf_value::str("h\xC3\xA9llo \"w\"\n"));
    w.set("a.empty_str", gguf_value::str(""));
    w.set("a.strs", gguf_value::str_array({"<unk>", "", "\xE2\x96\x81the"}));
    w.set("a.f32s", gguf_value::f32_array({1.5f, -2.0f}));
    w.set("a.i32s", gguf_value::i32_array({}));
    w.set("a.nested", gguf_value::arr(gguf_type::array, {gguf_value::i32_array({1, 2}), gguf_value::i32_array({3}),
                                                         gguf_value::arr(gguf_type::i32, {})}));
    w.set("a.nested_str", gguf_value::arr(gguf_type::array, {gguf_value::str_array({"x", "yz"})}));
    w.set("a.u8s", gguf_value::arr(gguf_type::u8, {gguf_value::u8(1), gguf_value::u8(2)}));
    w.set("a.replaced", gguf_value::u32(1));
    w.set("a.replaced", gguf_value::str("two"));  // keeps its position
    w.set("a.removed", gguf_value::u32(1));
    w.remove("a.removed");
    EXPECT_EQ(w.find("a.removed"), nullptr);
    const std::string path = test::temp_dir() + "/values.gguf";
    w.write(path);
    const gguf_file f = gguf_file::open(path);
    ASSERT_EQ(f.metadata().size(), 21u);
    EXPECT_EQ(f.metadata()[20].first, "a.replaced");
    EXPECT_EQ(f.get_string("a.replaced"), "two");
    for (const auto& [k, v] : f.metadata()) {
        const gguf_value* orig = w.find(k);
        ASSERT_NE(orig, nullptr) << k;
        EXPECT_TRUE(*orig == v) << k << ": " << v.to_display();
    }
    EXPECT_EQ(f.find("a.u64")->as_u64(), ~0ull);
    EXPECT_EQ(f.find("a.i64")->as_i64(), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f.find("a.f32")->as_f64(), static_cast<double>(1e-5f));
    EXPECT_EQ(f.find("a.nested")->array[0].array[1].as_i64(), 2);
    EXPECT_EQ(f.find("a.nested_str")->array[0].array[1].as_string(), "yz");
    EXPECT_EQ(f.get_int("a.u64", -1), -1);  // does not fit i64: fallback
    EXPECT_EQ(f.get_int("a.i16", 0), -32768);
    EXPECT_EQ(f.get_float("a.u8", 0), 255.0);
    EXPECT_EQ(f.get_string("a.u8", "fb"), "fb");
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(w.file_size(), f.file_size());
}

TEST(GgufValue, ConversionsAndDisplay) {
    EXPECT_EQ(gguf_value::u32(42).to_display(), "42");
    EXPECT_EQ(gguf_value::i8(-3).to_display(), "-3");
    EXPECT_EQ(gguf_value::str("llama").to_display(), "\"llama\"");
    EXPECT_EQ(gguf_value::f32(0.1f).to_display(), "0.1");
    EXPECT_EQ(gguf_value::boolean(false).to_display(), "false");
    EXPECT_EQ(gguf_value::str_array({"a", "b"}).to_display(), "[string x 2]");
    EXPECT_TRUE(gguf_value::u32(1).is_integer());
    EXPECT_TRUE(gguf_value::f64(1).is_float());
    EXPECT_FALSE(gguf_value::str("1").is_integer());
    EXPECT_THROW(gguf_value::i32(-1).as_u64(), error);
    EXPECT_THROW(gguf_value::u64(~0ull).as_i64(), error);
    EXPECT_THROW(gguf_value::str("x").as_f64(), error);
    EXPECT_THROW(gguf_value::u8(1).as_string(), error);
    EXPECT_THROW(gguf_value::u8(1).as_bool(), error);
    EXPECT_EQ(gguf_value::i64(-5).as_f64(), -5.0);
    EXPECT_FALSE(gguf_value::u32(1) == gguf_value::i32(1));
    EXPECT_FALSE(gguf_value::str_array({"a"}) == gguf_value::str_array({"b"}));
    EXPECT_TRUE(gguf_value::str_array({"a"}) == gguf_value::str_array({"a"}));
    EXPECT_THROW(gguf_value::arr(gguf_type::u8, {gguf_value::u16(1)}), error);
    try {
        gguf_value::str("x").as_u64();
        FAIL();
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("string"), std::string::npos) << e.what();
    }
}

TEST(GgufWrite, TensorsAlignedAndValidated) {
    gguf_writer w;
    w.set("general.alignment", gguf_value::u32(64));
    std::vector<uint8_t> a(4 * 3 * 4);
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i);
    w.add_tensor("t.a", type::f32, {4, 3}, a);
    w.add_tensor("t.b", type::q8_0, {64, 2}, std::vector<uint8_t>(2 * 68, 7));
    w.add_tensor("t.c", type::f16, {5}, std::vector<uint8_t>(10, 9));
    EXPECT_THROW(w.add_tensor("t.a", type::f32, {1}, std::vector<uint8_t>(4)), error);           // duplicate
    EXPECT_THROW(w.add_tensor("t.d", type::f32, {4}, std::vector<uint8_t>(15)), error);          // size
    EXPECT_THROW(w.add_tensor("t.d", type::q8_0, {48}, std::vector<uint8_t>(68)), error);        // block
    EXPECT_THROW(w.add_tensor("t.d", type::f32, {0}, {}), error);                                // dim 0
    EXPECT_THROW(w.add_tensor("t.d", type::f32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)), error);  // dims
    EXPECT_THROW(w.add_tensor("t.d", static_cast<type>(999), {1}, std::vector<uint8_t>(4)), error);
    const std::string path = test::temp_dir() + "/aligned.gguf";
    w.write(path);
    const gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.data_offset() % 64, 0u);
    ASSERT_EQ(f.tensors().size(), 3u);
    EXPECT_EQ(f.tensors()[0].offset, 0u);
    EXPECT_EQ(f.tensors()[1].offset, 64u);
    EXPECT_EQ(f.tensors()[2].offset, 64u + 192u);
    EXPECT_EQ(f.file_size(), f.data_offset() + 64 + 192 + 64);
    EXPECT_EQ(std::memcmp(f.tensors()[0].data, a.data(), a.size()), 0);
    // Padding is zeros.
    const uint8_t* end_c = f.tensors()[2].data + 10;
    for (size_t i = 0; i < 54; ++i) ASSERT_EQ(end_c[i], 0) << i;
    EXPECT_EQ(f.find("lowbit.requires"), nullptr);  // only ggml types
    EXPECT_EQ(w.file_size(), f.file_size());

    gguf_writer bad;
    bad.set("general.alignment", gguf_value::u32(24));
    EXPECT_THROW(bad.write(test::temp_dir() + "/x.gguf"), error);
}

TEST(GgufWrite, ExtensionTypesAreMarked) {
    const type_traits* ext = nullptr;
    for (const auto& tr : all_types())
        if (static_cast<uint32_t>(tr.id) >= k_lowbit_type_base && tr.block_size > 0) {
            ext = &tr;
            break;
        }
    if (!ext) GTEST_SKIP() << "no lowbit extension type in the format table yet";
    const int64_t n = ext->block_size * 2;
    gguf_writer w;
    w.add_tensor("t", ext->id, {n}, std::vector<uint8_t>(row_bytes(ext->id, n), 0));
    const std::string path = test::temp_dir() + "/ext.gguf";
    w.write(path);
    const gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.get_string("lowbit.requires"), "lowbit-extension-types");
    EXPECT_EQ(f.tensors().at(0).t, ext->id);
}

std::vector<std::string> dir_entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(GgufWrite, UnwritablePathThrowsAndLeavesNothing) {
    gguf_writer w;
    w.set("k", gguf_value::u32(1));
    const std::string dir = test::temp_dir();
    const std::string path = dir + "/no/such/dir/out.gguf";
    try {
        w.write(path);
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
    EXPECT_TRUE(dir_entries(dir).empty());
}

TEST(GgufWrite, DiskErrorRemovesTemporaryAndKeepsOldFile) {
    const std::string dir = test::temp_dir();
    const std::string path = dir + "/out.gguf";
    test::write_file(path, "old", 3);
    gguf_writer w;
    w.add_tensor("big", type::f32, {1 << 16}, std::vector<uint8_t>(4 << 16, 1));
    // A file-size limit makes write(2) fail with EFBIG part-way, as a full disk would.
    struct rlimit old {};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 100000;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    std::string msg;
    try {
        w.write(path);
    } catch (const error& e) {
        msg = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
    EXPECT_EQ(dir_entries(dir), std::vector<std::string>{"out.gguf"});
    const auto old_bytes = test::read_file(path);
    EXPECT_EQ(std::string(old_bytes.begin(), old_bytes.end()), "old");
}

// ---- model_data over GGUF -------------------------------------------------------------------------

TEST(ModelGguf, LoadSaveAndDispatch) {
    const std::string path = test::shared_path("models/stories260K/llama.cpp-quantized/s260k-Q2_K.gguf");
    if (!test::file_exists(path)) GTEST_SKIP() << "missing " << path;
    model_data m = load_model(path);
    EXPECT_EQ(m.source_format, "gguf");
    EXPECT_EQ(m.get_string("general.architecture"), "llama");
    EXPECT_EQ(m.get_int("llama.block_count", 0), 5);
    const gguf_file f = gguf_file::open(path);
    ASSERT_EQ(m.tensors.size(), f.tensors().size());
    const model_tensor* q = m.find_tensor("blk.1.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->n_elements(), 64 * 64);
    EXPECT_EQ(q->n_rows(), 64);
    m.set("general.name", gguf_value::str("renamed"));
    m.set("lowbit.test", gguf_value::u32(7));
    const std::string out = test::temp_dir() + "/saved.gguf";
    save_gguf(m, out);
    const gguf_file g = gguf_file::open(out);
    EXPECT_EQ(g.get_string("general.name"), "renamed");
    EXPECT_EQ(g.get_int("lowbit.test", 0), 7);
    ASSERT_EQ(g.tensors().size(), f.tensors().size());
    for (size_t i = 0; i < g.tensors().size(); ++i)
        EXPECT_EQ(std::memcmp(g.tensors()[i].data, f.tensors()[i].data, f.tensors()[i].n_bytes), 0);

    const std::string junk = test::temp_dir() + "/junk.bin";
    test::write_file(junk, "hello world, not a model at all", 31);
    try {
        load_model(junk);
        FAIL();
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(junk + ": unrecognized model file (31 bytes)", 0), 0u) << e.what();
    }
    // Shorter than the 28 header bytes looked at (the size came out as 2^64 - 1 before).
    for (size_t n : {size_t(0), size_t(13)}) {
        test::write_file(junk, "0123456789{ab", n);
        try {
            load_model(junk);
            ADD_FAILURE() << n << " bytes loaded";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find(fmt::format("unrecognized model file ({} bytes)", n)), std::string::npos)
                << e.what();
        }
    }
    EXPECT_THROW(load_model(test::temp_dir()), error);  // empty directory
}

TEST(ModelGguf, DispatchesLlama2cAndSafetensors) {
    const std::string bin = test::shared_path("models/stories260K/stories260K.bin");
    if (!test::file_exists(bin)) GTEST_SKIP() << "missing " << bin;
    const model_data m = load_model(bin);  // the 7-int32 header is recognized
    EXPECT_EQ(m.source_format, "llama2c");
    // A minimal safetensors header: detected by its first bytes, whatever the name.
    const std::string st = test::temp_dir() + "/weights.bin";
    const std::string hdr = "{\"__metadata__\":{}}";
    std::vector<uint8_t> b(8 + hdr.size());
    const uint64_t n = hdr.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, hdr.data(), hdr.size());
    test::write_file(st, b.data(), b.size());
    try {
        const model_data m = load_model(st);
        EXPECT_EQ(m.source_format, "safetensors");
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).find("unrecognized"), std::string::npos) << e.what();
    }
}

// ---- corruption -----------------------------------------------------------------------------------

// A small valid file holding every structure the checks look at.
std::vector<uint8_t> base_file() {
    gguf_writer w;
    w.set("general.architecture", gguf_value::str("llama"));
    w.set("general.name", gguf_value::str("test-model"));
    w.set("general.alignment", gguf_value::u32(32));
    w.set("k.aa", gguf_value::u32(1));
    w.set("k.ab", gguf_value::u32(2));
    w.set("tokenizer.ggml.tokens", gguf_value::str_array({"a", "bb", "ccc"}));
    w.set("b.flag", gguf_value::boolean(true));
    w.set("t.nested", gguf_value::arr(gguf_type::array, {gguf_value::i32_array({1, 2})}));
    w.add_tensor("t.a", type::f32, {8, 2}, std::vector<uint8_t>(64, 1));
    w.add_tensor("t.b", type::q8_0, {64, 3}, std::vector<uint8_t>(3 * 68, 2));
    w.add_tensor("t.c", type::f16, {5}, std::vector<uint8_t>(10, 3));
    const std::string path = test::temp_dir() + "/base.gguf";
    w.write(path);
    return test::read_file(path);
}

size_t find_bytes(const std::vector<uint8_t>& b, const std::string& s) {
    for (size_t i = 8; i + s.size() <= b.size(); ++i)
        if (std::memcmp(b.data() + i, s.data(), s.size()) == 0) {
            uint64_t len;
            std::memcpy(&len, b.data() + i - 8, 8);
            if (len == s.size()) return i;  // a length-prefixed string, not a substring of one
        }
    ADD_FAILURE() << "not found: " << s;
    return 0;
}

template <typename T>
std::vector<uint8_t> patched(std::vector<uint8_t> b, size_t pos, T v) {
    std::memcpy(b.data() + pos, &v, sizeof(T));
    return b;
}

// Opens `bytes` as a file; expects lowbit::error starting with the path and containing `want`.
void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& want, const std::string& label) {
    SCOPED_TRACE(label);
    static int n = 0;
    const std::string path = test::temp_dir() + "/bad-" + std::to_string(n++) + ".gguf";
    test::write_file(path, bytes.data(), bytes.size());
    try {
        const gguf_file f = gguf_file::open(path);
        ADD_FAILURE() << "accepted";
    } catch (const error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
        EXPECT_NE(msg.find(want), std::string::npos) << "want '" << want << "' in: " << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a lowbit::error: " << e.what();
    }
}

TEST(GgufCorrupt, BaseFileIsValid) {
    const auto b = base_file();
    const std::string path = test::temp_dir() + "/ok.gguf";
    test::write_file(path, b.data(), b.size());
    const gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.tensors().size(), 3u);
    EXPECT_EQ(f.metadata().size(), 8u);
}

TEST(GgufCorrupt, TruncatedAnywhere) {
    const auto b = base_file();
    const std::string path = test::temp_dir() + "/ok.gguf";
    test::write_file(path, b.data(), b.size());
    const gguf_file f = gguf_file::open(path);
    const size_t hdr = f.data_offset();
    for (size_t k = 0; k < 64; ++k) {
        const size_t cut = hdr * k / 64;
        expect_rejected({b.begin(), b.begin() + cut}, "", "cut at " + std::to_string(cut));
    }
    for (const auto& t : f.tensors())
        for (size_t cut : {hdr + t.offset + 1, hdr + t.offset + t.n_bytes - 1})
            expect_rejected({b.begin(), b.begin() + cut}, "exceeds file size", "cut in " + t.name);
}

TEST(GgufCorrupt, HeaderFields) {
    const auto b = base_file();
    expect_rejected(patched(b, 0, uint32_t{0x58554747}), "magic", "magic");
    expect_rejected(patched(b, 4, uint32_t{1}), "version 1 is not supported", "v1");
    expect_rejected(patched(b, 4, uint32_t{4}), "unsupported GGUF version 4", "v4");
    expect_rejected(patched(b, 4, uint32_t{0x03000000}), "big-endian", "swapped");
    expect_rejected(patched(b, 8, uint64_t{1} << 60), "tensor_count", "tensor count 2^60");
    expect_rejected(patched(b, 16, uint64_t{1} << 60), "kv_count", "kv count 2^60");
    expect_rejected(patched(b, 8, uint64_t{4}), "", "tensor count + 1");
    expect_rejected(patched(b, 16, uint64_t{9}), "", "kv count + 1");
    expect_rejected(patched(b, 8, ~uint64_t{0}), "tensor_count", "tensor count max");
}

TEST(GgufCorrupt, MetadataFields) {
    const auto b = base_file();
    const size_t name = find_bytes(b, "general.name");
    const size_t name_val = name + 12 + 4;
    expect_rejected(patched(b, name_val, uint64_t{1} << 62), "value of 'general.name'", "string length 2^62");
    expect_rejected(patched(b, name_val, uint64_t{b.size()}), "string length", "string length = size");
    expect_rejected(patched(b, find_bytes(b, "k.aa") - 8, uint64_t{1} << 40), "key of kv #3", "key length");
    expect_rejected(patched(b, find_bytes(b, "k.aa") + 4, uint32_t{13}), "unknown value type 13", "value type");
    expect_rejected(patched(b, find_bytes(b, "k.aa") + 4, ~uint32_t{0}), "unknown value type", "value type max");
    const size_t toks = find_bytes(b, "tokenizer.ggml.tokens") + 21;
    expect_rejected(patched(b, toks + 4, uint32_t{77}), "unknown array element type 77", "elem type");
    expect_rejected(patched(b, toks + 8, uint64_t{1} << 60), "array length", "array length 2^60");
    expect_rejected(patched(b, toks + 8, uint64_t{1000000}), "'tokenizer.ggml.tokens'", "array length 1e6");
    const size_t nested = find_bytes(b, "t.nested") + 8;
    expect_rejected(patched(b, nested + 16, uint64_t{1} << 61), "array length", "inner array length");
    expect_rejected(patched(b, find_bytes(b, "b.flag") + 6 + 4, uint8_t{2}), "bool value 2", "bool");
    // Duplicate keys (same length, so the layout is unchanged).
    auto dup = b;
    std::memcpy(dup.data() + find_bytes(b, "k.ab"), "k.aa", 4);
    expect_rejected(dup, "duplicate metadata key 'k.aa'", "duplicate key");
    const size_t align = find_bytes(b, "general.alignment") + 17 + 4;
    expect_rejected(patched(b, align, uint32_t{24}), "general.alignment", "alignment 24");
    expect_rejected(patched(b, align, uint32_t{0}), "general.alignment", "alignment 0");
    expect_rejected(patched(b, align - 4, uint32_t{8}), "general.alignment", "alignment as a string");

    // Arrays nested 100 deep: refused at a fixed depth (no recursion blow-up).
    std::vector<uint8_t> deep;
    auto put = [&](auto v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        deep.insert(deep.end(), p, p + sizeof(v));
    };
    put(uint32_t{0x46554747});
    put(uint32_t{3});
    put(uint64_t{0});
    put(uint64_t{1});
    put(uint64_t{4});
    deep.insert(deep.end(), {'d', 'e', 'e', 'p'});
    put(uint32_t{9});
    for (int i = 0; i < 100; ++i) {
        put(uint32_t{9});
        put(uint64_t{1});
    }
    put(uint32_t{0});
    put(uint64_t{0});
    expect_rejected(deep, "nested deeper", "deep arrays");
}

TEST(GgufCorrupt, TensorInfoFields) {
    const auto b = base_file();
    const size_t a = find_bytes(b, "t.a") + 3;  // n_dims of t.a, then dims, type, offset
    const size_t bb = find_bytes(b, "t.b") + 3;
    const size_t c = find_bytes(b, "t.c") + 3;  // 1 dim
    expect_rejected(patched(b, a, uint32_t{5}), "n_dims 5", "n_dims");
    expect_rejected(patched(b, a + 4, int64_t{0}), "tensor 't.a': dimension 0 is 0", "dim 0");
    expect_rejected(patched(b, a + 12, int64_t{-1}), "dimension 1 is -1", "dim -1");
    expect_rejected(patched(patched(b, a + 4, int64_t{1} << 40), a + 12, int64_t{1} << 40), "more than 2^56",
                    "product overflow");
    expect_rejected(patched(patched(b, a + 4, int64_t{1} << 28), a + 12, int64_t{1} << 20),
                    "more than the file size", "huge shape");
    expect_rejected(patched(b, bb + 4, int64_t{48}), "not a multiple of the q8_0 block size 32", "row length");
    expect_rejected(patched(b, bb + 20, uint32_t{1000}), "tensor 't.b' at offset", "type 1000");
    expect_rejected(patched(b, bb + 20, uint32_t{1000}), "unknown tensor type id 1000", "type 1000 msg");
    expect_rejected(patched(b, bb + 20, uint32_t{5}), "unknown tensor type id 5", "type 5 (removed Q4_2)");
    expect_rejected(patched(b, bb + 24, uint64_t{65}), "tensor 't.b': offset 65 is not a multiple of the alignment 32",
                    "misaligned");
    expect_rejected(patched(b, c + 16, uint64_t{1} << 62), "tensor 't.c': offset 4611686018427387904 + 10 bytes exceeds file size",
                    "offset 2^62");
    expect_rejected(patched(b, c + 16, uint64_t{4096}), "tensor 't.c': offset 4096 + 10 bytes exceeds file size", "offset past end");
    expect_rejected(patched(b, bb + 24, uint64_t{0}), "overlaps", "overlap");
    auto dup = b;
    std::memcpy(dup.data() + find_bytes(b, "t.b"), "t.a", 3);
    expect_rejected(dup, "duplicate tensor name 't.a'", "duplicate tensor");
    expect_rejected(patched(b, find_bytes(b, "t.c") - 8, uint64_t{1} << 50), "name of tensor #2", "name length");
}

TEST(GgufCorrupt, RandomByteFlipsNeverCrash) {
    const auto b = base_file();
    const std::string path = test::temp_dir() + "/ok.gguf";
    test::write_file(path, b.data(), b.size());
    const size_t hdr = gguf_file::open(path).data_offset();
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    auto next = [&] {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        return seed;
    };
    const std::string fuzz = test::temp_dir() + "/fuzz.gguf";
    int n_ok = 0, n_err = 0;
    for (int it = 0; it < 1500; ++it) {
        auto m = b;
        const int flips = 1 + static_cast<int>(next() % 3);
        for (int k = 0; k < flips; ++k) m[next() % hdr] ^= static_cast<uint8_t>(1u << (next() % 8));
        fs::remove(fuzz);  // a fresh file: truncating one in place makes ext4 flush it each time
        test::write_file(fuzz, m.data(), m.size());
        try {
            const gguf_file f = gguf_file::open(fuzz);
            for (const auto& t : f.tensors()) ASSERT_LE(t.data + t.n_bytes, f.mapping()->data() + m.size());
            ++n_ok;
        } catch (const error& e) {
            ASSERT_EQ(std::string(e.what()).rfind(fuzz + ": ", 0), 0u) << e.what();
            ++n_err;
        } catch (const std::exception& e) {
            FAIL() << "iteration " << it << ": not a lowbit::error: " << e.what();
        }
    }
    EXPECT_GT(n_err, 500);  // most flips in a header are caught
}

// ---- the PyPI `gguf` package as an independent reader ---------------------------------------------

bool have_python_gguf() { return std::system("python3 -c 'import gguf' >/dev/null 2>&1") == 0; }

nlohmann::json py_view(const std::string& path) {
    const std::string cmd = std::string("python3 '") + LOWBIT_SOURCE_DIR + "/tests/io/gguf_pycheck.py' '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << cmd;
    return nlohmann::json::parse(out);
}

std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string h;
    for (unsigned char c : s) h += d[c >> 4], h += d[c & 15];
    return h;
}

// lowbit's view in gguf_pycheck.py's canonical form (nested arrays flattened, types of the first element).
void leaves(const gguf_value& v, nlohmann::json& out) {
    if (v.type == gguf_type::array) {
        for (const auto& e : v.array) leaves(e, out);
    } else if (v.type == gguf_type::string) {
        out.push_back(hex(v.as_string()));
    } else if (v.type == gguf_type::boolean) {
        out.push_back(v.as_bool());
    } else if (v.is_float()) {
        out.push_back(v.as_f64());
    } else if (v.is_integer() && v.as_f64() < 0) {
        out.push_back(v.as_i64());
    } else {
        out.push_back(v.as_u64());
    }
}

nlohmann::json lowbit_view(const gguf_file& f) {
    nlohmann::json j;
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["metadata"] = nlohmann::json::array();
    for (const auto& [k, v] : f.metadata()) {
        nlohmann::json types = nlohmann::json::array();
        for (const gguf_value* cur = &v;;) {
            types.push_back(static_cast<uint32_t>(cur->type));
            if (cur->type != gguf_type::array || cur->array.empty()) break;
            cur = &cur->array[0];
        }
        nlohmann::json values = nlohmann::json::array();
        leaves(v, values);
        j["metadata"].push_back({k, {{"types", types}, {"values", values}}});
    }
    j["tensors"] = nlohmann::json::array();
    for (const auto& t : f.tensors())
        j["tensors"].push_back({{"name", t.name},
                                {"type", static_cast<uint32_t>(t.t)},
                                {"shape", t.shape},
                                {"n_bytes", t.n_bytes},
                                {"sha256", sha256_hex(t.data, t.n_bytes)}});
    return j;
}

TEST(GgufPython, WrittenModelReadsTheSameInGgufPy) {
    if (!have_python_gguf()) GTEST_SKIP() << "python3 -c 'import gguf' failed: install the PyPI gguf package";
    const std::string meta_src = test::shared_path("models/stories260K/llama.cpp-quantized/s260k-Q4_K_M.gguf");
    const std::string vec_dir = test::shared_path("ggml-vectors");
    if (!test::file_exists(meta_src) || !fs::is_directory(vec_dir)) GTEST_SKIP() << "missing shared files";
    // Metadata of a real model plus every value type, and one tensor of each ggml type in the vectors.
    const gguf_file src = gguf_file::open(meta_src);
    gguf_writer w = writer_from(src);
    w.set("general.alignment", gguf_value::u32(64));
    w.set("x.u8", gguf_value::u8(200));
    w.set("x.i8", gguf_value::i8(-100));
    w.set("x.u16", gguf_value::u16(60000));
    w.set("x.i16", gguf_value::i16(-30000));
    w.set("x.i64", gguf_value::i64(-(int64_t{1} << 40)));
    w.set("x.u64", gguf_value::u64(~0ull));
    w.set("x.f64", gguf_value::f64(3.141592653589793));
    w.set("x.bool", gguf_value::boolean(false));
    w.set("x.utf8", gguf_value::str("\xE2\x96\x81h\xC3\xA9"));
    w.set("x.nested", gguf_value::arr(gguf_type::array, {gguf_value::i32_array({1, -2}), gguf_value::i32_array({3})}));
    std::vector<gguf_file> keep;
    for (const std::string& path : shared_ggufs())
        if (path.find("synth-llama-256-") != std::string::npos) keep.push_back(gguf_file::open(path));
    std::set<type> seen;
    for (const auto& f : keep)
        for (const auto& t : f.tensors())
            if (seen.insert(t.t).second)
                w.add_tensor_view("v." + type_name(t.t) + "." + t.name, t.t, t.shape, {t.data, t.n_bytes});
    EXPECT_GE(seen.size(), 15u);
    const std::string out = test::temp_dir() + "/pycheck.gguf";
    w.write(out);
    const nlohmann::json py = py_view(out);
    const nlohmann::json me = lowbit_view(gguf_file::open(out));
    EXPECT_EQ(py["tensors"], me["tensors"]);
    EXPECT_EQ(py["version"], me["version"]);
    EXPECT_EQ(py["alignment"], me["alignment"]);
    ASSERT_EQ(py["metadata"].size(), me["metadata"].size());
    for (size_t i = 0; i < me["metadata"].size(); ++i)
        EXPECT_EQ(py["metadata"][i], me["metadata"][i]) << me["metadata"][i][0];
}

}  // namespace
}  // namespace lowbit
