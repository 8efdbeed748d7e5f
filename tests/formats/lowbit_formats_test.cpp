// Tests of lowbit's own formats (extension ids >= 1024) and of ggml's MXFP4. They iterate the format
// table, so a new lowbit row is covered automatically (the error-bound tests fail until the row gets
// an error model below).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "formats/lowbit_blocks.hpp"
#include "formats/lowbit_formats.hpp"
#include "formats/lowbit_minifloat.hpp"
#include "lowbit/types.hpp"

namespace lowbit {
namespace {

constexpr uint8_t k_guard_byte = 0xA5;
constexpr int64_t k_guard = 64;
const float k_sentinel = -12345.678f;
const int64_t k_awkward_lengths[] = {1, 31, 33, 172, 4097};

std::vector<const type_traits*> lowbit_rows() {
    std::vector<const type_traits*> r;
    for (const auto& t : all_types())
        if (static_cast<uint32_t>(t.id) >= k_lowbit_type_base) r.push_back(&t);
    return r;
}

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = nd(rng);
    return v;
}

// Encodes through the table row; checks that no byte past row_bytes(n) is written.
std::vector<uint8_t> encode(const type_traits& t, const std::vector<float>& x) {
    const int64_t n = static_cast<int64_t>(x.size());
    const size_t rb = row_bytes(t.id, n);
    std::vector<uint8_t> buf(rb + k_guard, k_guard_byte);
    t.from_float(x.data(), buf.data(), n, nullptr);
    for (size_t i = rb; i < buf.size(); ++i)
        EXPECT_EQ(buf[i], k_guard_byte) << t.name << " n=" << n << ": encoder wrote past row_bytes at +" << (i - rb);
    buf.resize(rb);
    return buf;
}

// Decodes through the table row into a sentinel-filled buffer; checks nothing past n is written.
std::vector<float> decode(const type_traits& t, const std::vector<uint8_t>& q, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n + k_guard), k_sentinel);
    t.to_float(q.data(), y.data(), n);
    for (int64_t i = n; i < n + k_guard; ++i)
        EXPECT_EQ(y[i], k_sentinel) << t.name << " n=" << n << ": decoder wrote past n at " << i;
    for (int64_t i = 0; i < n; ++i) EXPECT_NE(y[i], k_sentinel) << t.name << " n=" << n << ": unwritten " << i;
    y.resize(static_cast<size_t>(n));
    return y;
}

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
        den += double(x[i]) * x[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// ---- error models ----------------------------------------------------------------------------------
struct int_params {
    int bits = 0;
    int group = 0;  // 0 = per channel
    bool asym = false;
};
bool parse_int(const std::string& name, int_params& p) {
    static const std::regex re("int([2348])_(g(32|64|128)|pc)(_asym)?");
    std::smatch m;
    if (!std::regex_match(name, m, re)) return false;
    p.bits = std::stoi(m[1]);
    p.group = m[3].matched ? std::stoi(m[3]) : 0;
    p.asym = m[4].matched;
    return true;
}

constexpr float k_fp16_up = 1.0f + 1.0f / 512;  // fp16 rounding (up) of a scale, with slack
constexpr float k_tiny = 1e-30f;

// Per-weight bound on |x - decode(encode(x))|, from the data alone; false if no model is known.
bool error_bounds(const type_traits& t, const std::vector<float>& x, std::vector<float>& bound) {
    const int64_t n = static_cast<int64_t>(x.size());
    const std::string name = t.name;
    bound.assign(x.size(), 0.0f);
    auto for_groups = [&](int64_t g, auto&& fn) {
        for (int64_t s = 0; s < n; s += g) fn(s, std::min(n, s + g));
    };
    auto amax_of = [&](int64_t s, int64_t e) {
        float a = 0;
        for (int64_t i = s; i < e; ++i) a = std::max(a, std::fabs(x[i]));
        return a;
    };
    int_params ip;
    if (parse_int(name, ip)) {
        for_groups(ip.group ? ip.group : n, [&](int64_t s, int64_t e) {
            float b;
            if (!ip.asym) {
                b = 0.5f * amax_of(s, e) / float((1 << (ip.bits - 1)) - 1) * k_fp16_up;
            } else {
                float mn = x[s], mx = x[s];
                for (int64_t i = s; i < e; ++i) mn = std::min(mn, x[i]), mx = std::max(mx, x[i]);
                b = 0.5f * (mx - mn + std::fabs(mn) / 1024) / float((1 << ip.bits) - 1) * k_fp16_up +
                    std::fabs(mn) * 1e-6f;
            }
            for (int64_t i = s; i < e; ++i) bound[i] = b + k_tiny;
        });
        return true;
    }
    // Largest half-gap of the NF4 codebook (between -1 and -0.696).
    const float nf4_half_gap = 0.5f * (k_nf4_values[1] - k_nf4_values[0]);
    if (name == "nf4") {
        for_groups(k_qk_nf4, [&](int64_t s, int64_t e) {
            const float b = amax_of(s, e) * k_fp16_up * nf4_half_gap * 1.0001f;
            for (int64_t i = s; i < e; ++i) bound[i] = b + k_tiny;
        });
        return true;
    }
    if (name == "nf4_dq") {
        for_groups(k_qk_nf4_dq, [&](int64_t s, int64_t e) {
            const float D = amax_of(s, e) / 255.0f * k_fp16_up;
            for_groups(k_qk_nf4, [&](int64_t s2, int64_t e2) {
                if (s2 < s || s2 >= e) return;
                e2 = std::min(e2, e);
                const float b = (amax_of(s2, e2) + D) * nf4_half_gap * 1.0001f;
                for (int64_t i = s2; i < e2; ++i) bound[i] = b + k_tiny;
            });
        });
        return true;
    }
    if (name.rfind("fp8_", 0) == 0) {
        const bool e4m3 = name.find("e4m3") != std::string::npos;
        const float fmax = e4m3 ? k_fp8_e4m3_max : k_fp8_e5m2_max;
        const float rel = e4m3 ? 1.0f / 16 : 1.0f / 8;             // half an ulp, relative
        const float sub = e4m3 ? std::ldexp(1.0f, -10) : std::ldexp(1.0f, -17);  // half the subnormal step
        const bool per_row = name.size() > 3 && name.substr(name.size() - 3) == "_pt";
        for_groups(per_row ? n : k_qk_fp8, [&](int64_t s, int64_t e) {
            const float d = amax_of(s, e) / fmax * k_fp16_up;
            for (int64_t i = s; i < e; ++i) bound[i] = (std::fabs(x[i]) * rel + d * sub) * 1.0001f + k_tiny;
        });
        return true;
    }
    if (name == "fp4_e2m1") {
        for_groups(k_qk_fp4, [&](int64_t s, int64_t e) {
            const float d = amax_of(s, e) / 6.0f * k_fp16_up;
            for (int64_t i = s; i < e; ++i) bound[i] = std::max(0.25f * d, 0.25f * std::fabs(x[i])) * 1.0001f + k_tiny;
        });
        return true;
    }
    if (name == "ternary_g64") {
        // Weak but true: a ternary weight is 0 or +-d with d <= the group's absmax.
        for_groups(k_qk_ternary, [&](int64_t s, int64_t e) {
            const float a = amax_of(s, e);
            for (int64_t i = s; i < e; ++i) bound[i] = a * k_fp16_up + k_tiny;
        });
        return true;
    }
    return false;
}

// ---- the table ---------------------------------------------------------------------------------------

// Ids are stored in files: this list pins them (never renumber; only append).
TEST(LowbitFormats, IdsArePinned) {
    const std::map<std::string, uint32_t> pinned = {
        {"int8_g32", 1024},      {"int8_g32_asym", 1025}, {"int8_g64", 1026},      {"int8_g64_asym", 1027},
        {"int8_g128", 1028},     {"int8_g128_asym", 1029}, {"int8_pc", 1030},      {"int8_pc_asym", 1031},
        {"int4_g32", 1032},      {"int4_g32_asym", 1033}, {"int4_g64", 1034},      {"int4_g64_asym", 1035},
        {"int4_g128", 1036},     {"int4_g128_asym", 1037}, {"int4_pc", 1038},      {"int4_pc_asym", 1039},
        {"int3_g32", 1040},      {"int3_g32_asym", 1041}, {"int3_g64", 1042},      {"int3_g64_asym", 1043},
        {"int3_g128", 1044},     {"int3_g128_asym", 1045}, {"int3_pc", 1046},      {"int3_pc_asym", 1047},
        {"int2_g32", 1048},      {"int2_g32_asym", 1049}, {"int2_g64", 1050},      {"int2_g64_asym", 1051},
        {"int2_g128", 1052},     {"int2_g128_asym", 1053}, {"int2_pc", 1054},      {"int2_pc_asym", 1055},
        {"nf4", 1056},           {"nf4_dq", 1057},        {"fp8_e4m3", 1064},      {"fp8_e5m2", 1065},
        {"fp8_e4m3_pt", 1066},   {"fp8_e5m2_pt", 1067},   {"fp4_e2m1", 1072},      {"ternary_g64", 1080},
        {"mxfp4", 39},
    };
    for (const auto& [name, id] : pinned) {
        const auto t = type_from_name(name);
        ASSERT_TRUE(t.has_value()) << name;
        EXPECT_EQ(static_cast<uint32_t>(*t), id) << name;
    }
    EXPECT_EQ(static_cast<uint32_t>(ext_type::int3_g64_asym), 1043u);
    EXPECT_EQ(static_cast<uint32_t>(ext_type::ternary_g64), 1080u);
}

TEST(LowbitFormats, RowsAreWellFormed) {
    const auto rows = lowbit_rows();
    ASSERT_GE(rows.size(), 40u);
    std::set<std::string> names;
    int n_int = 0;
    for (const auto* t : rows) {
        SCOPED_TRACE(t->name);
        EXPECT_TRUE(names.insert(t->name).second) << "duplicate name";
        EXPECT_FALSE(t->is_ggml);
        EXPECT_TRUE(t->is_quantized);
        EXPECT_NE(t->to_float, nullptr);
        EXPECT_NE(t->from_float, nullptr);
        EXPECT_EQ(type_from_name(t->name), t->id);
        EXPECT_GT(t->bits_per_weight, 1.0);
        EXPECT_LE(t->bits_per_weight, 9.0);
        if (t->block_size == 0) EXPECT_NE(t->row_bytes_fn, nullptr) << "per-row formats need row_bytes_fn";
        else EXPECT_TRUE(t->pads_rows) << "lowbit group formats accept any row length";
        int_params ip;
        if (parse_int(t->name, ip)) ++n_int;
    }
    EXPECT_EQ(n_int, 32);
}

// row_bytes agrees with bits_per_weight and with the per-row header.
TEST(LowbitFormats, RowBytesMatchBitsPerWeight) {
    for (const auto* t : lowbit_rows()) {
        SCOPED_TRACE(t->name);
        for (int64_t n : {1, 2, 7, 8, 31, 32, 33, 64, 127, 128, 172, 256, 1000, 4096, 4097}) {
            ASSERT_TRUE(row_supported(t->id, n)) << "n=" << n;
            const size_t rb = row_bytes(t->id, n);
            if (t->block_size > 0) {
                EXPECT_EQ(rb, static_cast<size_t>((n + t->block_size - 1) / t->block_size) * t->block_bytes) << "n=" << n;
                if (n % t->block_size == 0) {
                    EXPECT_DOUBLE_EQ(8.0 * rb, n * t->bits_per_weight) << "n=" << n;
                }
            } else {
                // per-row header + densely packed codes
                EXPECT_EQ(rb, t->block_bytes + static_cast<size_t>(std::ceil(n * t->bits_per_weight / 8.0))) << "n=" << n;
            }
        }
    }
}

// ---- round trips ---------------------------------------------------------------------------------------

TEST(LowbitFormats, RoundTripWithinErrorBounds) {
    for (const auto* t : lowbit_rows()) {
        for (int64_t n : k_awkward_lengths) {
            const uint32_t seed = 1000u + static_cast<uint32_t>(n);
            SCOPED_TRACE(::testing::Message() << t->name << " n=" << n << " seed=" << seed);
            const auto x = gaussian(n, seed);
            std::vector<float> bound;
            ASSERT_TRUE(error_bounds(*t, x, bound)) << "no error model for " << t->name << ": add one";
            const auto y = decode(*t, encode(*t, x), n);
            int bad = 0;
            for (int64_t i = 0; i < n && bad < 5; ++i)
                if (!(std::fabs(x[i] - y[i]) <= bound[i]))
                    ++bad, ADD_FAILURE() << "i=" << i << " x=" << x[i] << " got=" << y[i] << " bound=" << bound[i];
        }
    }
}

// A row with one large outlier: every group still meets its bound, and the outlier itself (the
// group's absmax, which sets the scale) comes back to within 2^-9 relative.
TEST(LowbitFormats, SingleOutlier) {
    for (const auto* t : lowbit_rows()) {
        const int64_t n = 172;
        SCOPED_TRACE(t->name);
        auto x = gaussian(n, 7, 0.02f);
        x[77] = 25.0f;
        std::vector<float> bound;
        ASSERT_TRUE(error_bounds(*t, x, bound));
        const auto y = decode(*t, encode(*t, x), n);
        for (int64_t i = 0; i < n; ++i) EXPECT_LE(std::fabs(x[i] - y[i]), bound[i]) << "i=" << i;
        if (std::string(t->name) != "ternary_g64") {
            EXPECT_NEAR(y[77], 25.0f, 25.0f / 512) << "the outlier";
        }
    }
}

TEST(LowbitFormats, ZeroRowsDecodeToZero) {
    for (const auto* t : lowbit_rows()) {
        for (int64_t n : k_awkward_lengths) {
            SCOPED_TRACE(::testing::Message() << t->name << " n=" << n);
            const std::vector<float> x(static_cast<size_t>(n), 0.0f);
            const auto y = decode(*t, encode(*t, x), n);
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.0f) << "i=" << i;
        }
    }
}

// Relative RMSE on N(0,1) rows: below a per-family ceiling, and falling with more bits.
TEST(LowbitFormats, GaussianRmse) {
    const int64_t n = 4096;
    const auto x = gaussian(n, 42);
    std::map<std::string, double> err;
    for (const auto* t : lowbit_rows()) err[t->name] = rel_rmse(x, decode(*t, encode(*t, x), n));
    // Ceilings (measured values are well below; these catch a broken codec, not a 1% regression).
    // Symmetric INT2 has only 3 levels {-d, 0, d} (restricted range) and absmax scaling: poor by design.
    const std::map<int, double> group_ceiling = {{8, 0.008}, {4, 0.13}, {3, 0.30}, {2, 0.80}};
    const std::map<int, double> pc_ceiling = {{8, 0.012}, {4, 0.21}, {3, 0.46}, {2, 0.97}};
    for (const auto& [name, e] : err) {
        SCOPED_TRACE(::testing::Message() << name << " rel rmse " << e);
        int_params ip;
        if (parse_int(name, ip)) {
            EXPECT_LT(e, (ip.group ? group_ceiling : pc_ceiling).at(ip.bits));
        }
    }
    EXPECT_LT(err["nf4"], 0.10);
    EXPECT_LT(err["nf4_dq"], 0.10);
    EXPECT_LT(err["fp8_e4m3"], 0.03);
    EXPECT_LT(err["fp8_e5m2"], 0.06);
    EXPECT_LT(err["fp8_e4m3_pt"], 0.03);
    EXPECT_LT(err["fp8_e5m2_pt"], 0.06);
    EXPECT_LT(err["fp4_e2m1"], 0.11);
    EXPECT_LT(err["ternary_g64"], 0.5);
    EXPECT_LT(err["ternary_g64"], err["int2_g64"]) << "absmean + refit beats 3-level absmax";
    // More bits, less error; smaller groups, less error.
    for (const char* g : {"_g32", "_g64", "_g128", "_pc"})
        for (const char* a : {"", "_asym"}) {
            const std::string s = std::string(g) + a;
            SCOPED_TRACE(s);
            EXPECT_LT(err["int8" + s], err["int4" + s]);
            EXPECT_LT(err["int4" + s], err["int3" + s]);
            EXPECT_LT(err["int3" + s], err["int2" + s]);
        }
    for (const char* w : {"int8", "int4", "int3", "int2"})
        for (const char* a : {"", "_asym"}) {
            const std::string s = std::string(w);
            EXPECT_LT(err[s + "_g32" + a], err[s + "_g128" + a]) << s << a;
            EXPECT_LT(err[s + "_g128" + a], err[s + "_pc" + a]) << s << a;
        }
    EXPECT_LT(err["fp8_e4m3"], err["fp8_e5m2"]);
    EXPECT_LT(err["nf4"], err["int4_g64"]) << "NF4 suits Gaussian weights better than uniform INT4";
    for (const auto& [name, e] : err) ::testing::Test::RecordProperty(name, std::to_string(e));
}

// Non-finite weights are read as 0: the encoding equals that of the row with them zeroed, and the
// decoded row is finite.
TEST(LowbitFormats, NonFiniteInputsReadAsZero) {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (const auto& t : all_types()) {
        const bool lowbit = static_cast<uint32_t>(t.id) >= k_lowbit_type_base;
        if (!lowbit && t.id != type::mxfp4) continue;
        SCOPED_TRACE(t.name);
        const int64_t n = 256;
        auto x = gaussian(n, 3);
        auto x0 = x;
        for (int64_t i : {0, 5, 40, 100, 255}) {
            x[i] = (i % 3 == 0) ? nan : (i % 3 == 1 ? inf : -inf);
            x0[i] = 0.0f;
        }
        const auto q = encode(t, x);
        EXPECT_EQ(q, encode(t, x0));
        for (float v : decode(t, q, n)) ASSERT_TRUE(std::isfinite(v));
    }
}

// Huge and tiny finite rows: scales saturate / stay positive, nothing becomes Inf or NaN.
TEST(LowbitFormats, ExtremeMagnitudesStayFinite) {
    for (const auto* t : lowbit_rows()) {
        SCOPED_TRACE(t->name);
        for (float sigma : {1e-12f, 1e-3f, 1e4f, 1e30f}) {
            const auto x = gaussian(100, 9, sigma);
            const auto y = decode(*t, encode(*t, x), 100);
            for (int i = 0; i < 100; ++i) ASSERT_TRUE(std::isfinite(y[i])) << "sigma=" << sigma << " i=" << i;
        }
    }
}

// Encoding is a function of the input (deterministic) and dispatching entry points agree with the
// reference row functions.
TEST(LowbitFormats, DispatchMatchesReference) {
    for (const auto* t : lowbit_rows()) {
        SCOPED_TRACE(t->name);
        const int64_t n = 300;
        const auto x = gaussian(n, 11);
        const auto q = encode(*t, x);
        std::vector<uint8_t> q2(q.size());
        quantize_row(t->id, x.data(), q2.data(), n);
        EXPECT_EQ(q, q2);
        const auto y = decode(*t, q, n);
        std::vector<float> y2(static_cast<size_t>(n));
        dequantize_row(t->id, q.data(), y2.data(), n);
        EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), n * sizeof(float)));
    }
}

// ---- values already on the grid come back exactly --------------------------------------------------

TEST(LowbitFormats, IntGridValuesAreExact) {
    for (const auto* t : lowbit_rows()) {
        int_params ip;
        if (!parse_int(t->name, ip)) continue;
        SCOPED_TRACE(t->name);
        const int64_t n = 172;
        const int g = ip.group ? ip.group : static_cast<int>(n);
        std::mt19937 rng(5);
        std::vector<float> x(static_cast<size_t>(n));
        const float d = 0.0625f, m = -1.5f;
        for (int64_t s = 0; s < n; s += g) {
            const int64_t e = std::min<int64_t>(n, s + g);
            for (int64_t i = s; i < e; ++i) {
                if (!ip.asym) {
                    const int qmax = (1 << (ip.bits - 1)) - 1;
                    const int q = static_cast<int>(rng() % (2 * qmax + 1)) - qmax;
                    // both ends of the range appear in every group so the scale is exactly d
                    x[i] = d * static_cast<float>(i == s ? qmax : (i == s + 1 && e > s + 1) ? -qmax : q);
                } else {
                    const int qmax = (1 << ip.bits) - 1;
                    const int u = static_cast<int>(rng() % (qmax + 1));
                    x[i] = m + d * static_cast<float>(i == s ? qmax : (i == s + 1 && e > s + 1) ? 0 : u);
                }
            }
            if (e - s == 1 && ip.asym) x[s] = m;  // lone weight: its own min and max
        }
        const auto y = decode(*t, encode(*t, x), n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i]) << "i=" << i;
    }
}

TEST(LowbitFormats, NfFpTernaryGridValuesAreExact) {
    const float d = 0.25f;  // exact in fp16
    std::mt19937 rng(6);
    auto check = [](const char* name, const std::vector<float>& x) {
        SCOPED_TRACE(name);
        const auto& t = traits(*type_from_name(name));
        const auto y = decode(t, encode(t, x), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]) << "i=" << i;
    };
    {  // nf4 / nf4_dq: d * codebook, with +-d present in every group of 64
        std::vector<float> x(512);
        for (size_t i = 0; i < x.size(); ++i) x[i] = d * k_nf4_values[i % 64 == 0 ? 15 : rng() % 16];
        check("nf4", x);
        // nf4_dq: sub-block scales D * sc with D = 2^-8 and sc = 255 (the largest), 17, 100, 3
        const float D = std::ldexp(1.0f, -8);
        const int sc[4] = {255, 17, 100, 3};
        for (size_t i = 0; i < x.size(); ++i)
            x[i] = (D * static_cast<float>(sc[(i / 64) % 4])) * k_nf4_values[i % 64 == 0 ? 0 : rng() % 16];
        check("nf4_dq", x);
    }
    {  // fp8: every code appears, 448*d present in every block of 32
        std::vector<float> x;
        for (int c = 0; c < 256; ++c)
            if ((c & 0x7F) != 0x7F) x.push_back(d * fp8_e4m3_to_f32(static_cast<uint8_t>(c)));
        for (size_t i = 0; i < x.size(); i += 32) x[i] = d * 448.0f;
        check("fp8_e4m3", x);
        std::vector<float> x5;
        for (int c = 0; c < 256; ++c)
            if ((c & 0x7C) != 0x7C) x5.push_back(d * fp8_e5m2_to_f32(static_cast<uint8_t>(c)));
        for (size_t i = 0; i < x5.size(); i += 32) x5[i] = -d * 57344.0f;
        check("fp8_e5m2", x5);
    }
    {  // fp4: every code, 6*d in every block of 32
        std::vector<float> x(96);
        for (size_t i = 0; i < x.size(); ++i) x[i] = d * k_fp4_e2m1_values[i % 32 == 0 ? 7 : i % 16];
        check("fp4_e2m1", x);
    }
    {  // ternary: {-d, 0, d} with at least one non-zero per group
        std::vector<float> x(200);
        for (size_t i = 0; i < x.size(); ++i) x[i] = d * static_cast<float>(i % 64 == 0 ? 1 : int(rng() % 3) - 1);
        check("ternary_g64", x);
    }
}

// The per-row FP8 formats: a row of code values times a power-of-two scale is exact.
TEST(LowbitFormats, Fp8PerRowGridValuesAreExact) {
    std::vector<float> x;
    for (int c = 0; c < 256; ++c)
        if ((c & 0x7F) != 0x7F) x.push_back(0.5f * fp8_e4m3_to_f32(static_cast<uint8_t>(c)));
    const auto& t = traits(ext_type::fp8_e4m3_pt);
    const auto y = decode(t, encode(t, x), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], x[i]) << "i=" << i;
}

// ---- element codecs ------------------------------------------------------------------------------------

TEST(LowbitMinifloat, Fp8E4m3EveryCodeRoundTrips) {
    for (int c = 0; c < 256; ++c) {
        const auto u = static_cast<uint8_t>(c);
        const float v = fp8_e4m3_to_f32(u);
        if ((c & 0x7F) == 0x7F) {
            EXPECT_TRUE(std::isnan(v)) << c;
            continue;
        }
        EXPECT_EQ(f32_to_fp8_e4m3(v), u) << "code " << c << " value " << v;
    }
    EXPECT_EQ(fp8_e4m3_to_f32(0x7E), 448.0f);
    EXPECT_EQ(fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
    EXPECT_EQ(fp8_e4m3_to_f32(0x08), std::ldexp(1.0f, -6));
    EXPECT_EQ(f32_to_fp8_e4m3(1e9f), 0x7E) << "saturates, never NaN";
    EXPECT_EQ(f32_to_fp8_e4m3(-500.0f), 0xFE);
    EXPECT_EQ(f32_to_fp8_e4m3(1.0625f), 0x38) << "tie 1 | 1.125 -> even (1.0)";
    EXPECT_EQ(f32_to_fp8_e4m3(1.1875f), 0x3A) << "tie 1.125 | 1.25 -> even (1.25)";
    EXPECT_EQ(f32_to_fp8_e4m3(std::ldexp(1.0f, -10)), 0x00) << "half the smallest subnormal -> 0";
    EXPECT_EQ(f32_to_fp8_e4m3(std::ldexp(3.0f, -10)), 0x02) << "1.5 subnormal steps -> 2";
}

TEST(LowbitMinifloat, Fp8E5m2EveryCodeRoundTrips) {
    for (int c = 0; c < 256; ++c) {
        const auto u = static_cast<uint8_t>(c);
        const float v = fp8_e5m2_to_f32(u);
        if ((c & 0x7C) == 0x7C) {
            EXPECT_FALSE(std::isfinite(v)) << c;
            continue;
        }
        EXPECT_EQ(f32_to_fp8_e5m2(v), u) << "code " << c << " value " << v;
    }
    EXPECT_EQ(fp8_e5m2_to_f32(0x7B), 57344.0f);
    EXPECT_EQ(fp8_e5m2_to_f32(0x01), std::ldexp(1.0f, -16));
    EXPECT_EQ(f32_to_fp8_e5m2(1e9f), 0x7B) << "saturates, never Inf";
    EXPECT_EQ(f32_to_fp8_e5m2(1.125f), 0x3C) << "tie 1 | 1.25 -> even (1.0)";
    EXPECT_EQ(f32_to_fp8_e5m2(1.375f), 0x3E) << "tie 1.25 | 1.5 -> even (1.5)";
}

TEST(LowbitMinifloat, Fp4E2m1EveryCodeRoundTrips) {
    for (int c = 0; c < 16; ++c) EXPECT_EQ(f32_to_fp4_e2m1(fp4_e2m1_to_f32(static_cast<uint8_t>(c))), c) << c;
    // ties to the even code
    EXPECT_EQ(f32_to_fp4_e2m1(0.25f), 0);
    EXPECT_EQ(f32_to_fp4_e2m1(0.75f), 2);
    EXPECT_EQ(f32_to_fp4_e2m1(1.25f), 2);
    EXPECT_EQ(f32_to_fp4_e2m1(2.5f), 4);
    EXPECT_EQ(f32_to_fp4_e2m1(5.0f), 6);
    EXPECT_EQ(f32_to_fp4_e2m1(-5.5f), 15);
    EXPECT_EQ(f32_to_fp4_e2m1(100.0f), 7) << "saturates";
}

// ---- bit layouts pinned by hand-computed blocks ------------------------------------------------------

TEST(LowbitFormats, Int4AndInt3PackingIsLsbFirst) {
    // int4_g32 symmetric, d = 1: q = 7, -7, 1, 0, ... -> u = 15, 1, 9, 8 (+8 offset)
    std::vector<float> x(32, 0.0f);
    x[0] = 7, x[1] = -7, x[2] = 1;
    auto q = encode(traits(ext_type::int4_g32), x);
    ASSERT_EQ(q.size(), 18u);
    EXPECT_EQ(lbfmt::load_u16(q.data()), 0x3C00) << "d = 1.0 in fp16";
    EXPECT_EQ(q[2], 0x1F) << "weight 0 in the low nibble";
    EXPECT_EQ(q[3], 0x89);
    EXPECT_EQ(q[4], 0x88);
    // int3_g32: d = 1, q = 3, -3, 2, 0 ... -> u = 7, 1, 6, 4, 4, 4, 4, 4 (offset 4) in 3-bit fields
    std::vector<float> x3(32, 0.0f);
    x3[0] = 3, x3[1] = -3, x3[2] = 2;
    q = encode(traits(ext_type::int3_g32), x3);
    ASSERT_EQ(q.size(), 14u);
    uint32_t word = 0;
    const uint32_t u[8] = {7, 1, 6, 4, 4, 4, 4, 4};
    for (int i = 0; i < 8; ++i) word |= u[i] << (3 * i);
    EXPECT_EQ(q[2], word & 0xFF);
    EXPECT_EQ(q[3], (word >> 8) & 0xFF);
    EXPECT_EQ(q[4], (word >> 16) & 0xFF);
}

TEST(LowbitFormats, PaddedPositionsHoldZero) {
    // int4_g32 symmetric, n = 3: the 29 padded codes are q = 0 (u = 8)
    const std::vector<float> x = {1.0f, -2.0f, 0.5f};
    const auto q = encode(traits(ext_type::int4_g32), x);
    for (int i = 4; i < 18; ++i) EXPECT_EQ(q[i], 0x88) << i;
    // decoding a whole block gives 0 at the padded positions
    std::vector<float> y(32, k_sentinel);
    traits(ext_type::int4_g32).to_float(q.data(), y.data(), 32);
    for (int i = 3; i < 32; ++i) EXPECT_EQ(y[i], 0.0f) << i;
}

TEST(LowbitFormats, TernaryStructure) {
    const int64_t n = 4097;
    const auto x = gaussian(n, 21);
    const auto& t = traits(ext_type::ternary_g64);
    const auto y = decode(t, encode(t, x), n);
    // absmean-only reconstruction, to check the least-squares refit never makes things worse
    std::vector<float> y_absmean(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; s += 64) {
        const int64_t e = std::min<int64_t>(n, s + 64);
        float sum = 0;
        for (int64_t i = s; i < e; ++i) sum += std::fabs(x[i]);
        const float gamma = sum / static_cast<float>(e - s);
        float d = 0;
        for (int64_t i = s; i < e; ++i) {
            y_absmean[i] = gamma * std::clamp(std::nearbyint(x[i] / gamma), -1.0f, 1.0f);
            if (y[i] != 0.0f) d = std::fabs(y[i]);
        }
        for (int64_t i = s; i < e; ++i) {
            ASSERT_TRUE(y[i] == 0.0f || std::fabs(y[i]) == d) << "i=" << i << " not in {-d,0,d}";
            ASSERT_TRUE(y[i] == 0.0f || (y[i] > 0) == (x[i] > 0)) << "i=" << i << " sign flipped";
            ASSERT_EQ(y[i] == 0.0f, y_absmean[i] == 0.0f) << "i=" << i << " absmean assignment";
        }
    }
    EXPECT_LE(rel_rmse(x, y), rel_rmse(x, y_absmean) * 1.001);
}

// ---- SIMD decoders: bit-exact with the reference -------------------------------------------------

// Bitwise equal, or both NaN (NaN payloads are not part of the contract).
bool same_float(float a, float b) {
    return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b));
}

TEST(LowbitFormats, Avx2DecodersMatchReference) {
    if (best_isa_tier() < isa_tier::avx2) GTEST_SKIP() << "CPU lacks AVX2";
    int n_checked = 0;
    for (const auto* t : lowbit_rows()) {
        if (!t->to_float_avx2) continue;
        ++n_checked;
        for (int64_t n : {1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 129, 172, 255, 256, 257, 1000, 4097}) {
            for (int kind = 0; kind < 3; ++kind) {
                const uint32_t seed = 77u * static_cast<uint32_t>(n) + static_cast<uint32_t>(kind);
                SCOPED_TRACE(::testing::Message() << t->name << " avx2 n=" << n << " kind=" << kind << " seed=" << seed);
                std::vector<uint8_t> q;
                if (kind < 2) {
                    auto x = gaussian(n, seed);
                    if (kind == 1)  // heavy tails and exact zeros
                        for (int64_t i = 0; i < n; ++i) x[i] = (i % 5 == 0) ? 0.0f : x[i] * x[i] * x[i];
                    q = encode(*t, x);
                } else {  // arbitrary bytes: every code, odd scales (NaN/Inf included)
                    std::mt19937 rng(seed);
                    q.resize(row_bytes(t->id, n));
                    for (auto& b : q) b = static_cast<uint8_t>(rng());
                }
                std::vector<float> ref(static_cast<size_t>(n + k_guard), k_sentinel), got = ref;
                t->to_float(q.data(), ref.data(), n);
                t->to_float_avx2(q.data(), got.data(), n);
                for (int64_t i = 0; i < n + k_guard; ++i)
                    ASSERT_TRUE(same_float(ref[i], got[i])) << "i=" << i << " ref=" << ref[i] << " avx2=" << got[i];
            }
        }
    }
    EXPECT_GT(n_checked, 0);
}

// ---- ggml MXFP4 --------------------------------------------------------------------------------------

TEST(Mxfp4, HandComputedBlock) {
    const auto& t = traits(type::mxfp4);
    EXPECT_EQ(t.block_size, 32);
    EXPECT_EQ(t.block_bytes, 17u);
    EXPECT_FALSE(row_supported(type::mxfp4, 172));
    EXPECT_EQ(row_bytes(type::mxfp4, 64), 34u);
    // amax = 5 -> e = floor(log2 5) - 2 + 127 = 127, half-scale 2^-1: representable 0 .5 1 1.5 2 3 4 6
    std::vector<float> x(32, 0.0f);
    x[0] = 5.0f;     // tie 4 | 6: first index wins -> code 6 (4.0)
    x[1] = -1.2f;    // -> -1.0, code 8|2 = 10
    x[2] = 0.3f;     // -> 0.5, code 1
    x[3] = 2.6f;     // -> 3.0, code 5
    x[16] = 0.2f;    // -> 0.0, code 0
    x[17] = -4.9f;   // -> -4.0, code 14
    x[18] = 0.25f;   // tie 0 | 0.5: first index wins -> code 0
    x[31] = 3.6f;    // -> 4.0, code 6
    const auto q = encode(t, x);
    std::vector<uint8_t> expect(17, 0);
    expect[0] = 127;
    expect[1 + 0] = 6 | (0 << 4);
    expect[1 + 1] = 10 | (14 << 4);
    expect[1 + 2] = 1 | (0 << 4);
    expect[1 + 3] = 5;
    expect[1 + 15] = 0 | (6 << 4);
    EXPECT_EQ(q, expect);
    const auto y = decode(t, q, 32);
    const std::map<int, float> want = {{0, 4.0f}, {1, -1.0f}, {2, 0.5f}, {3, 3.0f}, {16, 0.0f}, {17, -4.0f}, {18, 0.0f}, {31, 4.0f}};
    for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], want.count(i) ? want.at(i) : 0.0f) << i;
}

TEST(Mxfp4, E8m0ScalesIncludingSubnormals) {
    const auto& t = traits(type::mxfp4);
    // code 7 (kvalue 12) in weight 0 under exponents 0, 1, 2, 127, 254: value 12 * 2^(e-128)
    for (int e : {0, 1, 2, 127, 250}) {
        std::vector<uint8_t> q(17, 0);
        q[0] = static_cast<uint8_t>(e);
        q[1] = 7 | (15 << 4);  // weight 16: code 15 = -12
        const auto y = decode(t, q, 32);
        EXPECT_EQ(y[0], std::ldexp(12.0f, e - 128)) << "e=" << e;
        EXPECT_EQ(y[16], -std::ldexp(12.0f, e - 128)) << "e=" << e;
    }
    // encoder: amax = 6 * 2^-20 -> e = floor(log2) - 2 + 127 = -18 + 125 = 107; exact round trip
    std::vector<float> x(32);
    for (int i = 0; i < 32; ++i) x[i] = std::ldexp(static_cast<float>(k_fp4_e2m1_values[i % 16]), -20);
    const auto q = encode(t, x);
    EXPECT_EQ(q[0], 107);
    const auto y = decode(t, q, 32);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], x[i]) << i;
}

TEST(Mxfp4, RandomRowsWithinHalfStep) {
    const auto& t = traits(type::mxfp4);
    const int64_t n = 4096;
    const auto x = gaussian(n, 17);
    const auto y = decode(t, encode(t, x), n);
    for (int64_t s = 0; s < n; s += 32) {
        float amax = 0;
        for (int64_t i = s; i < s + 32; ++i) amax = std::max(amax, std::fabs(x[i]));
        // scale 2^(floor(log2 amax) - 2): amax / scale in [4, 8), clipped at 6 -> error <= 2 * scale
        const float scale = std::ldexp(1.0f, static_cast<int>(std::floor(std::log2(amax))) - 2);
        for (int64_t i = s; i < s + 32; ++i) {
            const float a = std::fabs(x[i]) / scale;
            const float step = a < 2 ? 0.5f : a < 4 ? 1.0f : 2.0f;
            EXPECT_LE(std::fabs(x[i] - y[i]), std::max(step / 2 * scale, std::fabs(x[i]) - 6 * scale) * 1.0001f) << i;
        }
    }
    EXPECT_LT(rel_rmse(x, y), 0.2);
}

}  // namespace
}  // namespace lowbit
