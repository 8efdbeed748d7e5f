// lowbit's own formats against the nearest ggml type, one-token GEMV (matmul's generation path:
// activation quantization + quantized dot), every figure from the same run:
//
//   bench_lowbit_formats_bench [--rows N] [--reps R] [--iters I] [--threads 1,2] [--only substr,...]
//
// W is N x 4096 (default 16384 rows: 4-bit formats ~35 MB, 8-bit ~70 MB, above the 32 MiB L3), rows
// replicated from 64 quantized Gaussian rows. Each repetition times every format (random order, so a
// burst of load from other jobs spreads over all of them) for I matmul calls; the best repetition is
// kept. Printed per format and thread count: ms per call, GB/s of stored weights, and
// speed = ggml time / lowbit time against the ggml type listed for it (the same pairs as
// scripts/perf_report.sh, plus int3 -> q3_k); last, the same ratio in process CPU time for the first
// thread count (less sensitive to other jobs taking the core). Not a Google Benchmark binary: it has
// its own main.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <time.h>
#include <vector>

#include "formats/lowbit_formats.hpp"
#include "kernels/dot.hpp"
#include "kernels/matmul.hpp"
#include "lowbit/types.hpp"

namespace {

using namespace lowbit;

constexpr int64_t k_cols = 4096;

struct pair_t {
    type lowbit, ggml;
};

const pair_t k_pairs[] = {
    {ext_type::int4_g32, type::q4_0},      {ext_type::int4_g32_asym, type::q4_1}, {ext_type::int4_g64, type::q4_k},
    {ext_type::int4_g64_asym, type::q4_k}, {ext_type::int4_g128, type::q4_k},     {ext_type::int4_g128_asym, type::q4_k},
    {ext_type::int4_pc, type::q4_k},       {ext_type::nf4, type::iq4_nl},         {ext_type::nf4_dq, type::iq4_nl},
    {ext_type::fp4_e2m1, type::iq4_nl},    {ext_type::int8_g32, type::q8_0},      {ext_type::int8_pc, type::q8_0},
    {ext_type::int8_g32_asym, type::q8_0}, {ext_type::int8_pc_asym, type::q8_0},
    {ext_type::fp8_e4m3, type::q8_0},      {ext_type::fp8_e5m2, type::q8_0},      {ext_type::fp8_e4m3_pt, type::q8_0},
    {ext_type::fp8_e5m2_pt, type::q8_0},   {ext_type::int3_g32, type::q3_k},      {ext_type::int3_g32_asym, type::q3_k},
    {ext_type::int3_g64, type::q3_k},      {ext_type::int3_g64_asym, type::q3_k}, {ext_type::int3_g128, type::q3_k},
    {ext_type::int3_g128_asym, type::q3_k}, {ext_type::int3_pc, type::q3_k},      {ext_type::int3_pc_asym, type::q3_k},
    {ext_type::int2_g32, type::q2_k},      {ext_type::int2_g64_asym, type::q2_k}, {ext_type::int2_g128, type::q2_k},
    {ext_type::ternary_g64, type::q2_k},
};

std::vector<uint8_t> make_weights(type t, int64_t n_rows) {
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const size_t rb = row_bytes(t, k_cols);
    std::vector<uint8_t> w(rb * static_cast<size_t>(n_rows));
    std::vector<float> row(k_cols);
    for (int64_t r = 0; r < 64; ++r) {
        for (auto& v : row) v = nd(rng);
        quantize_row(t, row.data(), w.data() + rb * r, k_cols);
    }
    for (int64_t r = 64; r < n_rows; ++r) std::memcpy(w.data() + rb * r, w.data() + rb * (r % 64), rb);
    return w;
}

// Process CPU time: on a shared machine it excludes the time this process waited for a core (the
// single-thread figure is then the kernel's own cost; with 2 threads it adds both workers).
double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> v;
    size_t b = 0;
    while (b <= s.size()) {
        const size_t e = std::min(s.find(',', b), s.size());
        if (e > b) v.push_back(s.substr(b, e - b));
        b = e + 1;
    }
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    int64_t n_rows = 16384;
    int reps = 5, iters = 5;
    std::vector<int> threads = {1, 2};
    std::vector<std::string> only;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--rows") n_rows = std::atoll(v.c_str());
        else if (k == "--reps") reps = std::atoi(v.c_str());
        else if (k == "--iters") iters = std::atoi(v.c_str());
        else if (k == "--threads") {
            threads.clear();
            for (const auto& s : split(v)) threads.push_back(std::atoi(s.c_str()));
        } else if (k == "--only") only = split(v);
        else {
            std::fprintf(stderr, "unknown option %s (see the header of bench/lowbit_formats_bench.cpp)\n", k.c_str());
            return 2;
        }
    }
    std::vector<pair_t> pairs;
    for (const auto& p : k_pairs) {
        bool keep = only.empty();
        for (const auto& s : only) keep = keep || type_name(p.lowbit).find(s) != std::string::npos;
        if (keep) pairs.push_back(p);
    }
    std::vector<type> types;
    for (const auto& p : pairs)
        for (type t : {p.lowbit, p.ggml})
            if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);

    std::map<type, std::vector<uint8_t>> w;
    for (type t : types) w[t] = make_weights(t, n_rows);
    std::vector<float> x(k_cols), y(static_cast<size_t>(n_rows));
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);

    // best[(type, threads)] = seconds per call
    std::map<std::pair<type, int>, double> best, best_cpu;  // wall and process CPU time
    std::vector<std::pair<type, int>> jobs;
    for (type t : types)
        for (int th : threads) jobs.emplace_back(t, th);
    matmul_scratch scratch;
    for (int r = 0; r < reps; ++r) {
        std::shuffle(jobs.begin(), jobs.end(), rng);
        for (const auto& [t, th] : jobs) {
            const weight_matrix m = weight_matrix::stored_rows("w", t, n_rows, k_cols, w[t].data());
            matmul(m, 1, x.data(), k_cols, y.data(), n_rows, th, scratch);  // warm-up
            const auto t0 = std::chrono::steady_clock::now();
            const double c0 = cpu_seconds();
            for (int i = 0; i < iters; ++i) matmul(m, 1, x.data(), k_cols, y.data(), n_rows, th, scratch);
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
            const double cs = (cpu_seconds() - c0) / iters;
            auto [it, fresh] = best.emplace(std::make_pair(t, th), s);
            if (!fresh) it->second = std::min(it->second, s);
            auto [ct, cfresh] = best_cpu.emplace(std::make_pair(t, th), cs);
            if (!cfresh) ct->second = std::min(ct->second, cs);
        }
    }

    std::printf("one-token GEMV, %lld x %lld, best of %d reps x %d calls; speed = ggml ms / lowbit ms\n",
                static_cast<long long>(n_rows), static_cast<long long>(k_cols), reps, iters);
    std::printf("%-15s %5s %-7s", "lowbit", "bpw", "ggml");
    for (int th : threads) std::printf(" | %dt ms   GB/s  ggml ms speed", th);
    std::printf(" | %dt cpu ms ggml  speed | dot kernel\n", threads[0]);
    for (const auto& p : pairs) {
        const double bytes = static_cast<double>(w[p.lowbit].size());
        std::printf("%-15s %5.2f %-7s", type_name(p.lowbit).c_str(), 8.0 * bytes / (double(n_rows) * k_cols),
                    type_name(p.ggml).c_str());
        for (int th : threads) {
            const double a = best[{p.lowbit, th}], g = best[{p.ggml, th}];
            std::printf(" | %6.2f %6.1f %6.2f %5.2f", 1e3 * a, bytes / a / 1e9, 1e3 * g, g / a);
        }
        const double ca = best_cpu[{p.lowbit, threads[0]}], cg = best_cpu[{p.ggml, threads[0]}];
        std::printf(" | %6.2f %6.2f %5.2f", 1e3 * ca, 1e3 * cg, cg / ca);
        std::printf(" | %s\n", kernels::dot_kernel(p.lowbit) ? "yes" : "none (de-quantize + F32)");
    }
    return 0;
}
