// Automatic mixed precision: the allocator against brute force on synthetic sensitivity tables, and
// (slow) a stories260K model under a bits-per-weight target against llama.cpp's own Q3_K_M file.
#include "quant/mixed_precision.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "eval/perplexity.hpp"
#include "formats/lowbit_formats.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf.hpp"
#include "test_util.hpp"

namespace lowbit {
namespace {

// Exhaustive optimum: min summed cost with summed bytes <= budget.
double brute_force(const std::vector<mp_item>& items, uint64_t budget, std::vector<size_t>& best_pick) {
    double best = std::numeric_limits<double>::infinity();
    std::vector<size_t> pick(items.size(), 0);
    while (true) {
        uint64_t b = 0;
        double c = 0;
        for (size_t i = 0; i < items.size(); ++i) b += items[i].bytes[pick[i]], c += items[i].cost[pick[i]];
        if (b <= budget && c < best) best = c, best_pick = pick;
        size_t i = 0;
        while (i < items.size() && ++pick[i] == items[i].bytes.size()) pick[i++] = 0;
        if (i == items.size()) break;
    }
    return best;
}

double total_cost(const std::vector<mp_item>& items, const std::vector<size_t>& p) {
    double c = 0;
    for (size_t i = 0; i < items.size(); ++i) c += items[i].cost[p[i]];
    return c;
}
uint64_t total_bytes(const std::vector<mp_item>& items, const std::vector<size_t>& p) {
    uint64_t b = 0;
    for (size_t i = 0; i < items.size(); ++i) b += items[i].bytes[p[i]];
    return b;
}

// Formats as bits per weight; cost = sensitivity * 2^(-2 bits): convex in bytes, like RTN error.
std::vector<mp_item> convex_table(const std::vector<double>& sens, const std::vector<uint64_t>& n_weights) {
    const int bits[] = {2, 3, 4, 5, 6, 8};
    std::vector<mp_item> items;
    for (size_t i = 0; i < sens.size(); ++i) {
        mp_item it;
        for (int b : bits) {
            it.bytes.push_back(n_weights[i] * b / 8);
            it.cost.push_back(sens[i] * std::ldexp(1.0, -2 * b));
        }
        items.push_back(it);
    }
    return items;
}

TEST(MixedPrecisionAllocator, PicksTheKnownOptimumOnAConvexTable) {
    // 4 tensors of different size and sensitivity; at every budget that falls on a breakpoint of the
    // greedy path, greedy equals the exhaustive optimum.
    const auto items = convex_table({1.0, 8.0, 0.5, 3.0}, {1024, 512, 2048, 256});
    const std::vector<size_t> cheapest(items.size(), 0);
    uint64_t lo = total_bytes(items, cheapest);
    // Known optimum by hand: 640 extra bytes buy the 2->5 bit upgrades of the most sensitive tensor per
    // byte first. Check a sweep of budgets against brute force.
    int n_exact = 0;
    for (uint64_t budget = lo; budget <= lo + 4000; budget += 32) {
        const auto g = allocate_greedy(items, budget);
        std::vector<size_t> bp;
        const double opt = brute_force(items, budget, bp);
        ASSERT_LE(total_bytes(items, g), budget) << "budget " << budget;
        ASSERT_GE(total_cost(items, g), opt - 1e-12) << "budget " << budget;
        // Greedy is within the cost of one upgrade step of the optimum, and exact at breakpoints.
        if (std::abs(total_cost(items, g) - opt) < 1e-12) ++n_exact;
    }
    EXPECT_GT(n_exact, 20);
    // Infinite budget: the best option everywhere; too small: the cheapest everywhere.
    EXPECT_EQ(allocate_greedy(items, UINT64_MAX), std::vector<size_t>(items.size(), 5));
    EXPECT_EQ(allocate_greedy(items, 0), cheapest);
}

TEST(MixedPrecisionAllocator, HandTable) {
    // Two tensors of equal size; A is 10x more sensitive. With room for one upgrade, A gets it.
    std::vector<mp_item> items = {{{100, 200}, {1.0, 0.1}}, {{100, 200}, {0.1, 0.01}}};
    EXPECT_EQ(allocate_greedy(items, 300), (std::vector<size_t>{1, 0}));
    EXPECT_EQ(allocate_greedy(items, 299), (std::vector<size_t>{0, 0}));
    EXPECT_EQ(allocate_greedy(items, 400), (std::vector<size_t>{1, 1}));
    // A dominated option (more bytes, higher cost) is never chosen; options in any order.
    items = {{{300, 100, 200}, {0.5, 1.0, 0.1}}};
    EXPECT_EQ(allocate_greedy(items, 1000), (std::vector<size_t>{2}));
    // A non-convex middle point is skipped in favour of the jump when the budget allows it.
    items = {{{100, 150, 200}, {1.0, 0.95, 0.0}}, {{100, 200}, {0.5, 0.0}}};
    EXPECT_EQ(allocate_greedy(items, 300), (std::vector<size_t>{2, 0}));
}

TEST(MixedPrecisionAllocator, CostTargetGivesTheSmallestModelThatMeetsIt) {
    const auto items = convex_table({1.0, 8.0, 0.5, 3.0}, {1024, 512, 2048, 256});
    const auto all = allocate_greedy(items, UINT64_MAX);
    const double target = total_cost(items, std::vector<size_t>(items.size(), 2));  // all at 4 bits
    const auto g = allocate_greedy(items, UINT64_MAX, target);
    EXPECT_LE(total_cost(items, g), target);
    EXPECT_LT(total_bytes(items, g), total_bytes(items, all));
    // No cheaper assignment (brute force over byte budgets below the greedy's) meets the target.
    std::vector<size_t> bp;
    const double best_below = brute_force(items, total_bytes(items, g) - 1, bp);
    EXPECT_GT(best_below, target * 0.999 - 1e-15);
}

TEST(MixedPrecisionAllocator, RejectsMalformedItems) {
    std::vector<mp_item> items = {{{100, 200}, {1.0}}};
    EXPECT_THROW(allocate_greedy(items, 300), lowbit::error);
}

// stories260K: --target-bpw at the bits per weight of llama.cpp's Q3_K_M file must give a file no
// larger in bits per weight and no worse in KLD vs F32 (tinystories first200, chunks of 256).
TEST(MixedPrecision, FileTypeIsTheDominantTypesLlamaFtype) {
    quantize_report rep;
    auto add = [&](const char* name, type t, int64_t rows, bool quantize) {
        tensor_plan p;
        p.name = name;
        p.shape = {256, rows};
        p.chosen = t;
        p.quantize = quantize;
        rep.tensors.push_back(p);
    };
    add("a", type::q3_k, 4, true);
    add("b", type::q3_k, 4, true);
    add("c", type::q6_k, 16, true);  // fewer tensors but more weights: it dominates
    add("norm", type::f32, 64, false);
    EXPECT_EQ(dominant_llama_ftype(rep), 18);  // LLAMA_FTYPE_MOSTLY_Q6_K
    rep.tensors[2].chosen = type::q4_k;
    EXPECT_EQ(dominant_llama_ftype(rep), 15);  // Q4_K -> MOSTLY_Q4_K_M, as llama.cpp guesses
    rep.tensors[2].chosen = ext_type::int4_g32;
    EXPECT_EQ(dominant_llama_ftype(rep), -1);  // no llama.cpp ftype for lowbit types
}

// Quick mixed-precision options on stories260K: 2 calibration chunks of 64 tokens, anchor measurement,
// q4_k_m as the base of the output.
mp_options quick_mp_options(const std::string& text) {
    mp_options mo;
    mo.calib_text = eval::read_text_file(text).substr(0, 20000);
    mo.n_ctx = 64;
    mo.n_chunks = 2;
    mo.measure = mp_measure::anchor;
    mo.threads = 2;
    mo.output.preset = "q4_k_m";
    return mo;
}

// A file-size target holds for the file actually written, with the caller's metadata (here a key
// larger than the planner's reserve) and the keys apply_mixed_plan adds.
TEST(MixedPrecision, TargetSizeCountsTheCallersMetadata) {
    const std::string f32 = test::shared_path("models/stories260K/stories260K-f32.gguf");
    const std::string text200 = test::shared_path("data/tinystories_valid_first200.txt");
    for (const auto& p : {f32, text200})
        if (!test::file_exists(p)) GTEST_SKIP() << "missing " << p;
    const model_data in = load_model(f32);
    mp_options mo = quick_mp_options(text200);
    mo.output.metadata.emplace_back("test.padding", gguf_value::str(std::string(20000, 'x')));
    mo.target_file_bytes = 281120;
    quantize_options qo = mo.output;
    const mp_plan plan = plan_mixed_precision(in, mo);
    apply_mixed_plan(plan, in, qo);
    const std::string out = test::temp_dir() + "/mp_size.gguf";
    const quantize_report rep = quantize_model(in, out, qo);
    EXPECT_EQ(rep.file_bytes, std::filesystem::file_size(out));
    EXPECT_LE(std::filesystem::file_size(out), mo.target_file_bytes);
    EXPECT_GT(std::filesystem::file_size(out), mo.target_file_bytes - 2048);  // the slack is handed back
}

// Targets that no assignment meets are errors that say what is possible (before: the allocator returned
// the smallest or most accurate assignment and quantize wrote it, e.g. 6.7 bpw for --target-bpw 0.5,
// without a word). The size limits are checked before any calibration pass; a file-size target just
// above the smallest file is met, just below it is refused with that file's exact size.
TEST(MixedPrecision, UnreachableTargetsAreErrors) {
    const std::string f32 = test::shared_path("models/stories260K/stories260K-f32.gguf");
    const std::string text200 = test::shared_path("data/tinystories_valid_first200.txt");
    for (const auto& p : {f32, text200})
        if (!test::file_exists(p)) GTEST_SKIP() << "missing " << p;
    const model_data in = load_model(f32);
    const auto options = [&] { return quick_mp_options(text200); };
    const auto error_of = [&](const mp_options& mo) -> std::string {
        try {
            plan_mixed_precision(in, mo);
        } catch (const error& e) {
            return e.what();
        }
        return "";
    };
    mp_options mo = options();
    mo.target_bpw = 0.5;
    EXPECT_NE(error_of(mo).find("--target-bpw 0.5 cannot be met: with every tensor in its smallest candidate format "
                                "the model takes 6.7279 bits per weight"),
              std::string::npos)
        << error_of(mo);
    mo = options();
    mo.target_file_bytes = 1000;
    EXPECT_NE(error_of(mo).find("--target-size 1000 bytes cannot be met"), std::string::npos) << error_of(mo);
    mo = options();
    mo.max_kld = 1e-12;
    EXPECT_NE(error_of(mo).find("--max-kld 1e-12 cannot be met: the most accurate candidates give an estimated KLD"),
              std::string::npos)
        << error_of(mo);
    mo.target_bpw = 6.8;  // a KLD limit the most accurate candidates meet, but not within this size
    mo.max_kld = 1e-3;
    EXPECT_NE(error_of(mo).find("--max-kld 0.001 cannot be met within the size target"), std::string::npos)
        << error_of(mo);
    // The smallest file: found with a generous target, then targets 1 byte under and at it.
    mo = options();
    mo.target_bpw = 6.7279 + 1e-3;
    quantize_options qo = mo.output;
    const mp_plan small = plan_mixed_precision(in, mo);
    apply_mixed_plan(small, in, qo);
    const uint64_t smallest = plan_quantization(in, qo).file_bytes;
    mo = options();
    mo.target_file_bytes = smallest - 1;
    EXPECT_NE(error_of(mo).find(fmt::format("the smallest choice makes a file of {} bytes", smallest)),
              std::string::npos)
        << error_of(mo);
    mo.target_file_bytes = smallest;
    EXPECT_EQ(error_of(mo), "");
}

TEST(SlowMixedPrecision, Stories260KBeatsLlamaCppQ3KMAtItsSize) {
    const std::string f32 = test::shared_path("models/stories260K/stories260K-f32.gguf");
    const std::string lc = test::shared_path("models/stories260K/llama.cpp-quantized/s260k-Q3_K_M.gguf");
    const std::string text1000 = test::shared_path("data/tinystories_valid_first1000.txt");
    const std::string text200 = test::shared_path("data/tinystories_valid_first200.txt");
    for (const auto& p : {f32, lc, text1000, text200})
        if (!test::file_exists(p)) GTEST_SKIP() << "missing " << p;

    const model_data in = load_model(f32);
    // Calibrate on stories 201..1000 (disjoint from the evaluation text).
    const std::string all = eval::read_text_file(text1000);
    size_t pos = 0;
    for (int i = 0; i < 200; ++i) pos = all.find("<|endoftext|>", pos) + 13;
    mp_options mo;
    mo.calib_text = all.substr(pos);
    mo.target_bpw = llama_model::load(lc)->bits_per_weight();
    mo.threads = 2;
    const mp_plan plan = plan_mixed_precision(in, mo);
    quantize_options qo;  // preset q4_0: the file type must follow the plan, not the preset
    apply_mixed_plan(plan, in, qo);
    const std::string out = test::temp_dir() + "/mp.gguf";
    const quantize_report rep = quantize_model(in, out, qo);
    EXPECT_LE(rep.bits_per_weight(), mo.target_bpw);
    {
        const gguf_file f = gguf_file::open(out);
        EXPECT_EQ(f.get_int("general.file_type", -1), dominant_llama_ftype(rep));
        EXPECT_NE(dominant_llama_ftype(rep), 2);  // at Q3_K_M's size no Q4_0 is chosen
        ASSERT_NE(f.find("lowbit.quantize.mixed_precision"), nullptr);
    }

    auto ref = llama_model::load(f32);
    eval::ppl_options po;
    po.n_ctx = 256;
    po.allow_long_context = true;
    po.n_threads = 2;
    const std::string text = eval::read_text_file(text200);
    auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return s / double(v.size());
    };
    const double kld_mp = mean(eval::evaluator(llama_model::load(out), ref, po).score_text(text, "first200").kld);
    const double kld_lc = mean(eval::evaluator(llama_model::load(lc), ref, po).score_text(text, "first200").kld);
    std::printf("target %.4f bpw: mixed precision %.4f bpw KLD %.5f; llama.cpp Q3_K_M KLD %.5f\n", mo.target_bpw,
                rep.bits_per_weight(), kld_mp, kld_lc);
    EXPECT_LE(kld_mp, kld_lc);
}

}  // namespace
}  // namespace lowbit
