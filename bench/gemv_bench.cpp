// Generation-path microbenchmarks (Google Benchmark; build with -DLOWBIT_BUILD_BENCH=ON):
//   BM_gemv/<type>/<tier>:     y = W x for one token with the quantized dot products (kernels/dot.hpp),
//                              activation quantization included, one thread; bytes = W's stored bytes,
//                              so bytes_per_second is the weight streaming rate.
//   BM_gemv_dequant/<type>:    the same product through de-quantize + f32 GEMM (matmul's large-batch path).
//   BM_dequant/<type>/<tier>:  dequantize_row throughput (stored bytes per second).
//   BM_bandwidth/threads:<t>:  memory read bandwidth: t threads sum a 256 MiB buffer (real time).
//   BM_gemv_big/<type>/threads:<t>: matmul's generation path (activation quantization + quantized dot)
//                              for one token on a 131072 x 4096 matrix (168-570 MB, several times the
//                              last-level cache for every type), t threads, real time; bytes = W's
//                              stored bytes. scripts/perf_report.sh divides it by BM_bandwidth.
//   BM_gemv_big_tiled/<type>/threads:<t>: the same product over the matrix repacked into 8-row tiles
//                              (kernels/repack.hpp; Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q8_0, Q4_K, Q5_K, Q6_K),
//                              as llama_model does at load; bytes = the plain rows' stored bytes, so GB/s
//                              compares with BM_gemv_big.
//   BM_prompt/<type>/<plain|tiled>/threads:<t>: matmul's integer prompt GEMM for 128 tokens on the
//                              4096 x 4096 matrix, from the rows or from the tiles (items = tokens).
//   BM_gemv_tiled/<type>/<tier>: the tiled GEMV kernel alone on the 4096 x 4096 matrix, one thread (tiers
//                  ref, generic, avx2)
//                              (activation quantization included), as BM_gemv.
// W is 4096 x 4096 (larger than the last-level cache for every 4-bit+ type), rows replicated from 64
// quantized Gaussian rows (speed does not depend on the values).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <map>
#include <random>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/parallel.hpp"

#include "core/cpu.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/dot.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"
#include "kernels/repack.hpp"
#include "lowbit/types.hpp"

namespace {

using namespace lowbit;

constexpr int64_t k_rows = 4096, k_cols = 4096;

// n_rows x k_cols weights of type t; the large matrices are kept one at a time.
weight_matrix matrix(type t, int64_t n_rows, const std::vector<uint8_t>& w) {
    return weight_matrix::stored_rows("w", t, n_rows, k_cols, w.data());
}

const std::vector<uint8_t>& weights(type t, int64_t n_rows = k_rows) {
    static std::map<std::pair<type, int64_t>, std::vector<uint8_t>> cache;
    if (n_rows > k_rows)
        for (auto& [key, v] : cache)
            if (key.second > k_rows && key != std::make_pair(t, n_rows)) std::vector<uint8_t>().swap(v);
    auto& w = cache[{t, n_rows}];
    if (w.empty()) {
        std::mt19937 rng(42);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        const size_t rb = row_bytes(t, k_cols);
        std::vector<float> row(k_cols);
        w.resize(rb * static_cast<size_t>(n_rows));
        for (int64_t r = 0; r < 64; ++r) {
            for (auto& v : row) v = nd(rng);
            quantize_row(t, row.data(), w.data() + rb * r, k_cols);
        }
        for (int64_t r = 64; r < n_rows; ++r) std::memcpy(w.data() + rb * r, w.data() + rb * (r % 64), rb);
    }
    return w;
}

std::vector<float> activations() {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(k_cols);
    for (auto& v : x) v = nd(rng);
    return x;
}

void BM_gemv(benchmark::State& state, type t, isa_tier tier) {
    if (best_isa_tier() < tier) {
        state.SkipWithError("tier not supported by this CPU");
        return;
    }
    const auto& w = weights(t);
    const size_t rb = row_bytes(t, k_cols);
    const kernels::dot_fn dot = kernels::dot_kernel(t, tier);
    const type at = kernels::dot_act_type(t);
    const kernels::quantize_act_fn quant =
        tier >= isa_tier::avx2 ? kernels::quantize_act_kernel(at)
                               : (at == type::q8_k ? kernels::quantize_act_q8_k__ref
                                                   : at == type::q8_1 ? kernels::quantize_act_q8_1__ref
                                                                      : kernels::quantize_act_q8_0__ref);
    const auto x = activations();
    std::vector<uint8_t> a(row_bytes(at, k_cols));
    std::vector<float> y(k_rows);
    for (auto _ : state) {
        quant(x.data(), a.data(), k_cols);
        for (int64_t r = 0; r < k_rows; ++r) y[r] = dot(k_cols, w.data() + rb * r, a.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

void BM_gemv_dequant(benchmark::State& state, type t) {
    const auto& w = weights(t);
    const weight_matrix wm = matrix(t, k_rows, w);
    const auto x = activations();
    std::vector<float> y(k_rows);
    matmul_scratch scratch;
    scratch.set_quantized_max_tokens(0);
    for (auto _ : state) {
        matmul(wm, 1, x.data(), k_cols, y.data(), k_rows, 1, scratch);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

void BM_dequant(benchmark::State& state, type t, isa_tier tier) {
    const to_float_fn f = tier >= isa_tier::avx2 ? traits(t).to_float_avx2 : traits(t).to_float;
    if (!f || best_isa_tier() < tier) {
        state.SkipWithError("no decoder at this tier");
        return;
    }
    const auto& w = weights(t);
    const size_t rb = row_bytes(t, k_cols);
    std::vector<float> row(k_cols);
    for (auto _ : state) {
        for (int64_t r = 0; r < k_rows; ++r) {
            f(w.data() + rb * r, row.data(), k_cols);
            benchmark::DoNotOptimize(row.data());
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
}

constexpr int64_t k_big_rows = 131072;  // 168-570 MB: far beyond the 32 MiB last-level cache

// The large matrix of type t repacked into tiles (one kept at a time, as weights() does).
const std::shared_ptr<const repacked_matrix>& tiles(type t, int64_t n_rows) {
    static std::map<std::pair<type, int64_t>, std::shared_ptr<const repacked_matrix>> cache;
    for (auto& [key, v] : cache)
        if (key != std::make_pair(t, n_rows)) v.reset();
    auto& p = cache[{t, n_rows}];
    if (!p) p = repack_matrix(t, weights(t, n_rows).data(), row_bytes(t, k_cols), n_rows, k_cols);
    return p;
}

// matmul's generation path on the large matrix, over the stored rows or over its tiles.
void gemv_big(benchmark::State& state, type t, bool tiled) {
    const int threads = static_cast<int>(state.range(0));
    const auto& w = weights(t, k_big_rows);
    weight_matrix wm = matrix(t, k_big_rows, w);
    if (tiled) wm.tiles = tiles(t, k_big_rows);
    const auto x = activations();
    std::vector<float> y(k_big_rows);
    matmul_scratch scratch;
    for (auto _ : state) {
        matmul(wm, 1, x.data(), k_cols, y.data(), k_big_rows, threads, scratch);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
    state.counters["bpw"] = 8.0 * static_cast<double>(w.size()) / (double(k_big_rows) * k_cols);
}
void BM_gemv_big(benchmark::State& state, type t) { gemv_big(state, t, false); }
void BM_gemv_big_tiled(benchmark::State& state, type t) { gemv_big(state, t, true); }

void BM_gemv_tiled(benchmark::State& state, type t, isa_tier tier) {
    if (!isa_tier_supported(tier)) {
        state.SkipWithError("tier not supported by this CPU");
        return;
    }
    const isa_tier saved = active_isa_tier();
    set_isa_tier(tier);  // the tier's activation quantizer too
    const auto& w = weights(t);
    const auto p = repack_matrix(t, w.data(), row_bytes(t, k_cols), k_rows, k_cols);
    const kernels::repack_kernels kr = kernels::repack_kernel(t, tier);
    const auto quant = kr.prep ? kr.prep : kernels::quantize_act_kernel(kr.act);  // FP8: x * 2^60
    const auto x = activations();
    std::vector<uint8_t> a(row_bytes(kr.act, k_cols));
    std::vector<int32_t> side(static_cast<size_t>(kernels::repack_act_side_count(t, k_cols)) + 1);
    std::vector<float> y(k_rows);
    for (auto _ : state) {
        quant(x.data(), a.data(), k_cols);
        kernels::repack_act_sides(t, a.data(), k_cols, side.data());
        for (int64_t i = 0; i < p->n_tiles; ++i) kr.gemv(p->n_blocks, p->tile(i), a.data(), side.data(), y.data() + 8 * i, 8);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.size()));
    set_isa_tier(saved);
}

void BM_prompt(benchmark::State& state, type t, bool tiled) {
    const int threads = static_cast<int>(state.range(0));
    constexpr int64_t n_tokens = 128;
    const auto& w = weights(t);
    weight_matrix wm = matrix(t, k_rows, w);
    if (tiled) wm.tiles = repack_matrix(t, w.data(), row_bytes(t, k_cols), k_rows, k_cols);
    std::vector<float> x;
    for (int64_t i = 0; i < n_tokens; ++i) {
        const auto r = activations();
        x.insert(x.end(), r.begin(), r.end());
    }
    std::vector<float> y(static_cast<size_t>(n_tokens * k_rows));
    matmul_scratch scratch;
    for (auto _ : state) {
        matmul(wm, n_tokens, x.data(), k_cols, y.data(), k_rows, threads, scratch);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n_tokens);
}

// Read bandwidth: each thread sums its contiguous share of a 256 MiB buffer (in huge pages) as four
// quarters walked in lockstep (64-bit adds in 8 independent chains, which the compiler vectorizes; the
// loop is bound by memory, not by the adds). One stream per thread read less than the tiled GEMVs,
// which walk two tiles per thread in lockstep (repack_kernels::gemv2): without software prefetch
// 20-25% less, with a prefetch 1536 bytes ahead up to 28% less on one thread (08:29 UTC run of
// 2026-11-24), so "fraction of bandwidth" came out above 100%. Four streams without prefetch read
// about what the GEMVs read (three runs: one thread 19.9-22.6 GB/s against Q4_0 tiles 21.7-24.4, two
// threads 33.7-40.9 against 28.9-39.4; G = 2^30 bytes).
void BM_bandwidth(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    constexpr size_t k_words = (size_t(256) << 20) / sizeof(uint64_t);
    // 2 MiB aligned and advised into transparent huge pages, as the repacked tiles are
    // (repack_matrix): with 4 KiB pages this loop read less than generation streams.
    static const std::unique_ptr<uint64_t, void (*)(uint64_t*)> storage = [] {
        void* p = nullptr;
        if (posix_memalign(&p, size_t(2) << 20, k_words * sizeof(uint64_t)) != 0) std::abort();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        ::madvise(p, k_words * sizeof(uint64_t), MADV_HUGEPAGE);
#endif
        auto* w = static_cast<uint64_t*>(p);
        std::fill(w, w + k_words, uint64_t(1));
        return std::unique_ptr<uint64_t, void (*)(uint64_t*)>(w, [](uint64_t* q) { std::free(q); });
    }();
    const uint64_t* buf = storage.get();
    std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8);
    for (auto _ : state) {
        parallel_for(threads, threads, [&](int64_t b, int64_t e, int) {
            for (int64_t t = b; t < e; ++t) {
                const size_t w0 = k_words / threads * t, q = k_words / threads / 4;
                const uint64_t* p[4] = {buf + w0, buf + w0 + q, buf + w0 + 2 * q, buf + w0 + 3 * q};
                uint64_t acc[8] = {};
                for (size_t i = 0; i < q; i += 8)
                    for (int s = 0; s < 4; ++s)
                        for (int j = 0; j < 8; ++j) acc[j] += p[s][i + j];
                for (int j = 0; j < 8; ++j) sums[t * 8 + j] = acc[j];
            }
        });
        benchmark::DoNotOptimize(sums.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(k_words * 8));
}

// lowbit formats, each with the ggml type nearest in bits per weight (docs/performance.md).
const type k_lowbit_types[] = {
    ext_type::int4_g32, ext_type::int4_g32_asym, ext_type::int4_g64, ext_type::int4_g128, ext_type::int4_pc,
    ext_type::nf4,      ext_type::nf4_dq,        ext_type::fp4_e2m1, ext_type::int8_g32,  ext_type::int8_pc,
    ext_type::fp8_e4m3, ext_type::fp8_e5m2,      ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt, ext_type::int2_g32,
    ext_type::int2_g64_asym,
    ext_type::int2_g128, ext_type::ternary_g64, ext_type::int3_g32, ext_type::int3_g128, ext_type::int8_g32_asym,
};

const type k_types[] = {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0,  type::iq4_nl, type::q2_k,
                        type::q3_k, type::q4_k, type::q5_k, type::q6_k, type::mxfp4, type::tq1_0,  type::tq2_0, type::iq3_xxs, type::iq3_s,
                        type::f16,  type::bf16};

int register_all() {
    benchmark::RegisterBenchmark("BM_bandwidth", BM_bandwidth)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    for (type t : k_types)
        benchmark::RegisterBenchmark(("BM_gemv_big/" + type_name(t)).c_str(), BM_gemv_big, t)
            ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
    for (type t : {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::iq4_nl, type::q8_0, type::q2_k, type::q3_k, type::q4_k,
                   type::q5_k, type::q6_k, ext_type::fp8_e4m3, ext_type::fp8_e5m2, type::tq2_0, type::tq1_0, type::f16,
                   type::bf16, ext_type::int3_g32, type::iq4_xs, type::iq3_xxs, type::iq3_s}) {
        benchmark::RegisterBenchmark(("BM_gemv_big_tiled/" + type_name(t)).c_str(), BM_gemv_big_tiled, t)
            ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
        for (bool tiled : {false, true})
            benchmark::RegisterBenchmark(("BM_prompt/" + type_name(t) + (tiled ? "/tiled" : "/plain")).c_str(),
                                         BM_prompt, t, tiled)
                ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
        for (isa_tier tier : {isa_tier::ref, isa_tier::generic, isa_tier::avx2})
            benchmark::RegisterBenchmark(("BM_gemv_tiled/" + type_name(t) + "/" + isa_tier_name(tier)).c_str(),
                                         BM_gemv_tiled, t, tier)
                ->Unit(benchmark::kMillisecond);
    }
    for (type t : k_lowbit_types) {
        benchmark::RegisterBenchmark(("BM_gemv_big/" + type_name(t)).c_str(), BM_gemv_big, t)
            ->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_gemv/" + type_name(t) + "/avx2").c_str(), BM_gemv, t, isa_tier::avx2)
            ->Unit(benchmark::kMillisecond);
    }
    for (type t : k_types) {
        const std::string n = type_name(t);
        for (isa_tier tier : {isa_tier::ref, isa_tier::avx2})
            benchmark::RegisterBenchmark(("BM_gemv/" + n + "/" + isa_tier_name(tier)).c_str(), BM_gemv, t, tier)
                ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_gemv_dequant/" + n).c_str(), BM_gemv_dequant, t)->Unit(benchmark::kMillisecond);
        for (isa_tier tier : {isa_tier::ref, isa_tier::avx2})
            benchmark::RegisterBenchmark(("BM_dequant/" + n + "/" + isa_tier_name(tier)).c_str(), BM_dequant, t, tier)
                ->Unit(benchmark::kMillisecond);
    }
    return 0;
}

const int k_registered = register_all();

}  // namespace
