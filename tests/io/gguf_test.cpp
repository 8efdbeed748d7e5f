// GGUF reader/writer: every shared GGUF file read and checked against dequant-report.json, round
// trips, the PyPI `gguf` package as an independent reader, and every kind of corruption.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <limits>
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

std::string sha_of(const uint8_t* p, size_t n) { return sha256_hex(p, n); }

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
        EXPECT_EQ(std::string(e.what()).rfind(junk + ": unrecognized", 0), 0u) << e.what();
    }
    EXPECT_THROW(load_model(test::temp_dir()), error);  // empty directory
}

TEST(ModelGguf, DispatchesLlama2cAndSafetensors) {
    const std::string bin = test::shared_path("models/stories260K/stories260K.bin");
    if (!test::file_exists(bin)) GTEST_SKIP() << "missing " << bin;
    try {
        const model_data m = load_model(bin);
        EXPECT_EQ(m.source_format, "llama2c");
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).find("unrecognized"), std::string::npos) << e.what();
    }
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

}  // namespace
}  // namespace lowbit
