// The sweep's HTML report: Pareto front math, escaping, a page with no external resources, and a
// real sweep on stories260K rendered by headless Chromium (DOM has the SVG plot and one point per
// type; the screenshot is a non-trivial PNG). Chromium tests skip when `chromium` is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>

#include "eval/html_report.hpp"
#include "eval/sweep.hpp"
#include "test_util.hpp"

namespace ev = lowbit::eval;
using lowbit::test::shared_path;

namespace {

size_t count_of(const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
    return n;
}

std::string chromium_path() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
        if (std::filesystem::exists(p)) return p;
    return "";
}

std::string run_capture(const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

nlohmann::json fake_point(const std::string& type, double bytes, double kld) {
    nlohmann::json f = {{"path", "t<1>.txt"}, {"scored_tokens", 100}, {"ppl", 5.0},     {"ppl_se", 0.1},
                        {"ppl_ratio", 1.01},  {"kld", {{"mean", kld}, {"median", kld / 2}, {"p99", kld * 5}}},
                        {"top1", {{"mean", 0.9}}}, {"delta_p", {{"rms", 0.01}}}};
    nlohmann::json t = nlohmann::json::array();
    for (int l = 0; l < 2; ++l)
        for (const char* k : {"attn_q", "ffn_down"})
            t.push_back({{"name", "blk." + std::to_string(l) + "." + k + ".weight"}, {"type", type}, {"shape", {64, 64}},
                         {"reason", "preset"}, {"fallback", false}});
    t.push_back({{"name", "output_norm.weight"}, {"type", "f32"}, {"shape", {64}}, {"reason", "1-D"}});
    return {{"type", type},
            {"method", "rtn"},
            {"quantize", {{"file_bytes", bytes}, {"bits_per_weight", 4.5}, {"tensors", t}}},
            {"eval", {{"files", {f}}, {"prompt_tokens_per_s", 1000.0}}}};
}

nlohmann::json fake_sweep() {
    return {{"context", {{"host", "h<ost>"}, {"cpu", "c"}, {"threads", 2}, {"commit", "abc"}}},
            {"model", "m.gguf"},
            {"reference", {{"path", "r.gguf"}, {"bytes", 1e6}}},
            {"reference_eval", {{"files", {{{"path", "t<1>.txt"}, {"ppl", 4.9}, {"scored_tokens", 100}}}}}},
            {"points",
             {fake_point("q8_0", 500e3, 0.001), fake_point("q4_k", 300e3, 0.05), fake_point("q4_0", 320e3, 0.08),
              fake_point("q2_k", 200e3, 0.4)}}};
}

}  // namespace

TEST(HtmlReport, ParetoFrontKeepsOnlyUndominatedPointsOrderedBySize) {
    // (size, kld): c is dominated by b (bigger and worse); e duplicates a (neither dominates).
    const std::vector<std::pair<double, double>> p = {{500, 0.001}, {300, 0.05}, {320, 0.08}, {200, 0.4}, {500, 0.001}};
    EXPECT_EQ(ev::pareto_front(p), (std::vector<size_t>{3, 1, 0, 4}));
    EXPECT_EQ(ev::pareto_front({}), std::vector<size_t>{});
    EXPECT_EQ(ev::pareto_front({{1, 1}}), std::vector<size_t>{0});
    // Same size, lower KLD wins.
    EXPECT_EQ(ev::pareto_front({{10, 0.2}, {10, 0.1}}), std::vector<size_t>{1});
}

TEST(HtmlReport, EscapesAndIsSelfContained) {
    EXPECT_EQ(ev::html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    const std::string h = ev::render_html_report(fake_sweep());
    EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(h.find("<svg id=\"pareto\""), std::string::npos);
    EXPECT_EQ(count_of(h, "<circle class=\"point"), 4u);
    EXPECT_EQ(count_of(h, "class=\"point on-front\""), 3u);  // q4_0 is dominated by q4_k
    EXPECT_NE(h.find("data-label=\"q4_0\""), std::string::npos);
    EXPECT_EQ(count_of(h, "<polyline class=\"front\""), 1u);
    EXPECT_EQ(count_of(h, "<table class=\"pmap\""), 4u);
    EXPECT_NE(h.find("title=\"blk.0.attn_q.weight [64x64]: "), std::string::npos);  // a cell's shape
    EXPECT_NE(h.find("h&lt;ost&gt;"), std::string::npos);
    EXPECT_EQ(h.find("h<ost>"), std::string::npos);
    EXPECT_NE(h.find("t&lt;1&gt;.txt"), std::string::npos);
    // No external resources: no src=, no <link>, no <script>, no url(...); the only URL is the SVG
    // namespace.
    EXPECT_EQ(h.find("src="), std::string::npos);
    EXPECT_EQ(h.find("<link"), std::string::npos);
    EXPECT_EQ(h.find("<script"), std::string::npos);
    EXPECT_EQ(h.find("url("), std::string::npos);
    EXPECT_EQ(count_of(h, "http"), count_of(h, "http://www.w3.org/2000/svg"));
}

// A real sweep on stories260K (3 types, 3 chunks of 128 tokens), rendered by headless Chromium.
TEST(SlowHtmlReport, SweepOnStories260KRendersInChromium) {
    const auto model = shared_path("models/stories260K/stories260K-f32.gguf");
    const auto text = shared_path("data/tinystories_valid_first200.txt");
    if (!lowbit::test::file_exists(model) || !lowbit::test::file_exists(text)) GTEST_SKIP() << "needs " << model;
    ev::sweep_options o;
    o.model = model;
    o.types = {"q8_0", "q4_k_m", "q2_k"};
    o.texts = {text};
    o.out_dir = lowbit::test::temp_dir() + "/sweep";
    o.eval.n_ctx = 128;
    o.eval.max_units = 3;
    o.threads = 2;
    const auto r = ev::run_sweep(o);
    ASSERT_EQ(r.points.size(), 3u);
    for (const auto& p : r.points) {
        ASSERT_EQ(p.eval.files.size(), 1u);
        EXPECT_EQ(p.eval.files[0].n_units, 3);
        EXPECT_GT(p.eval.files[0].kld_mean, 0.0) << p.type;
    }
    // More bits, closer to the reference.
    EXPECT_LT(r.points[0].eval.files[0].kld_mean, r.points[2].eval.files[0].kld_mean);
    EXPECT_GT(r.points[0].quantize.file_bytes, r.points[2].quantize.file_bytes);
    ev::write_sweep_report(r, o.out_dir);
    const auto json_bytes = lowbit::test::read_file(o.out_dir + "/report.json");
    const auto j = nlohmann::json::parse(json_bytes.begin(), json_bytes.end());
    EXPECT_EQ(j["points"].size(), 3u);
    EXPECT_TRUE(j["context"].contains("commit"));
    EXPECT_EQ(j["context"]["threads"], 2);

    const std::string chromium = chromium_path();
    if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it): HTML not rendered";
    const std::string html = o.out_dir + "/report.html", png = o.out_dir + "/report.png";
    const std::string flags = " --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1600 ";
    const std::string dom = run_capture(chromium + flags + "--dump-dom file://" + html + " 2>/dev/null");
    ASSERT_NE(dom.find("<svg id=\"pareto\""), std::string::npos) << dom.substr(0, 500);
    EXPECT_EQ(count_of(dom, "<circle class=\"point"), 3u);
    for (const char* t : {"q8_0", "q4_k_m", "q2_k"})
        EXPECT_NE(dom.find(std::string("data-label=\"") + t + "\""), std::string::npos) << t;
    EXPECT_NE(dom.find("<polyline class=\"front\""), std::string::npos);
    EXPECT_EQ(count_of(dom, "<table class=\"pmap\""), 3u);

    run_capture(chromium + flags + "--screenshot=" + png + " file://" + html + " 2>/dev/null");
    ASSERT_TRUE(lowbit::test::file_exists(png)) << "chromium wrote no screenshot";
    const auto img = lowbit::test::read_file(png);
    ASSERT_GT(img.size(), 20000u) << "screenshot is suspiciously small";
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    EXPECT_TRUE(std::equal(sig, sig + 8, img.begin()));
    // IHDR: width and height big-endian at bytes 16..23.
    auto be32 = [&](size_t o) { return uint32_t(img[o]) << 24 | uint32_t(img[o + 1]) << 16 | uint32_t(img[o + 2]) << 8 | img[o + 3]; };
    EXPECT_EQ(be32(16), 1200u);
    EXPECT_EQ(be32(20), 1600u);
    // A blank page compresses to almost nothing: the compressed data must vary.
    std::set<uint8_t> distinct(img.begin() + 64, img.end());
    EXPECT_GT(distinct.size(), 200u);
    if (const char* keep = std::getenv("LOWBIT_KEEP_REPORT")) std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
}
