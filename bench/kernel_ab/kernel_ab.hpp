// Shared part of the in-process kernel A/B harnesses (bench/kernel_ab.sh builds them; they are not
// part of the CMake build). Two builds of one kernel source file are linked into one program, their
// namespaces renamed to lowbitA / lowbitB, and each type's kernel is timed in alternating calls
// (A B, B A, A B, ...). On a shared machine whose speed moves by tens of percent from one second to
// the next, two separate processes cannot resolve a few percent; alternating calls see the same
// moments. Reported per type: the fastest call, the 10th percentile and the median of each side
// (the fastest is the least disturbed; the median shows the calls slowed by whatever shares the core)
// and the ratios A time / B time (> 1: B faster), and whether both produced the same output bits.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "lowbit/types.hpp"

namespace kernel_ab {

struct options {
    int rounds = 2000;
    std::string types;  // comma-separated filter; empty: all
};

inline options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) {
            o.rounds = std::atoi(argv[++i]);
        } else if (a == "--types" && i + 1 < argc) {
            o.types = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--rounds N] [--types a,b,c]\n", argv[0]);
            std::exit(2);
        }
    }
    if (o.rounds < 2) {
        std::fprintf(stderr, "--rounds must be at least 2\n");
        std::exit(2);
    }
    return o;
}

// The test data: Gaussian values (seeded, the same for both sides and every run).
struct gaussian {
    std::mt19937 rng{42};
    std::normal_distribution<float> nd{0.0f, 1.0f};
    std::vector<float> values(int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (auto& x : v) x = nd(rng);
        return v;
    }
    // n_rows rows of n_cols Gaussian values quantized to type t, one after another.
    std::vector<uint8_t> rows(lowbit::type t, int64_t n_rows, int64_t n_cols) {
        const size_t rb = lowbit::row_bytes(t, n_cols);
        std::vector<uint8_t> w(rb * static_cast<size_t>(n_rows));
        for (int64_t r = 0; r < n_rows; ++r)
            lowbit::quantize_row(t, values(n_cols).data(), w.data() + rb * static_cast<size_t>(r), n_cols);
        return w;
    }
};

inline bool selected(const options& o, const char* name) {
    if (o.types.empty()) return true;
    const std::string list = "," + o.types + ",";
    return list.find("," + std::string(name) + ",") != std::string::npos;
}

// Times run_a() and run_b() (each one call of the kernel over the same data) in alternating order,
// prints one line, and returns whether the outputs matched (same_bits is evaluated after the runs).
template <class RunA, class RunB, class Same>
bool compare(const char* name, const options& o, double work, const char* unit, RunA run_a, RunB run_b,
             Same same_bits) {
    auto time = [](auto& run) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<double> ta, tb;
    ta.reserve(o.rounds);
    tb.reserve(o.rounds);
    for (int r = 0; r < o.rounds; ++r) {
        if (r & 1) {
            tb.push_back(time(run_b));
            ta.push_back(time(run_a));
        } else {
            ta.push_back(time(run_a));
            tb.push_back(time(run_b));
        }
    }
    std::sort(ta.begin(), ta.end());
    std::sort(tb.begin(), tb.end());
    const size_t p10 = ta.size() / 10, med = ta.size() / 2;
    const bool same = same_bits();
    std::printf(
        "%-8s A %7.1f %7.1f %7.1f | B %7.1f %7.1f %7.1f %s | B/A fastest %.3f p10 %.3f median %.3f | %s\n",
        name, work / ta[0] * 1e-9, work / ta[p10] * 1e-9, work / ta[med] * 1e-9, work / tb[0] * 1e-9,
        work / tb[p10] * 1e-9, work / tb[med] * 1e-9, unit, ta[0] / tb[0], ta[p10] / tb[p10],
        ta[med] / tb[med], same ? "same bits" : "DIFFERENT BITS");
    return same;
}

// The harness main: options, then run(entry, options) for every selected entry (entry.name). Exit
// status 0 when every output matched, 1 when one differed, 2 on bad usage, 77 on a CPU without AVX2.
template <class Entry, size_t N, class Run>
int run_all(int argc, char** argv, const Entry (&entries)[N], const char* unit, Run run) {
    const options o = parse(argc, argv);
    if (lowbit::best_isa_tier() < lowbit::isa_tier::avx2) {
        std::fprintf(stderr, "kernel_ab: this CPU has no AVX2\n");
        return 77;  // ctest's skip code (tests/CMakeLists.txt)
    }
    if (std::none_of(std::begin(entries), std::end(entries),
                     [&](const Entry& e) { return selected(o, e.name); })) {
        std::fprintf(stderr, "kernel_ab: no kernel named in --types %s\n", o.types.c_str());
        return 2;
    }
    std::printf("%-8s   %s (fastest, p10, median call) for A | for B | speed ratios B/A | outputs\n", "type",
                unit);
    bool all_same = true;
    for (const Entry& e : entries)
        if (selected(o, e.name)) all_same = run(e, o) && all_same;
    return all_same ? 0 : 1;
}

}  // namespace kernel_ab
