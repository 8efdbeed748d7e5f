// Generation-path microbenchmarks (Google Benchmark; build with -DLOWBIT_BUILD_BENCH=ON):
//   BM_gemv/<type>/<tier>:     y = W x for one token with the quantized dot products (kernels/dot.hpp),
//                              activation quantization included, one thread; bytes = W's stored bytes,
//                              so bytes_per_second is the weight streaming rate.
//   BM_gemv_dequant/<type>:    the same product through de-quantize + f32 GEMM (matmul's large-batch path).
//   BM_dequant/<type>/<tier>:  dequantize_row throughput (stored bytes per second).
// W is 4096 x 4096 (larger than the last-level cache for every 4-bit+ type), rows replicated from 64
// quantized Gaussian rows (speed does not depend on the values).
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "kernels/dot.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"
#include "lowbit/types.hpp"

namespace {

using namespace lowbit;

constexpr int64_t k_rows = 4096, k_cols = 4096;

const std::vector<uint8_t>& weights(type t) {
    static std::map<type, std::vector<uint8_t>> cache;
    auto& w = cache[t];
    if (w.empty()) {
        std::mt19937 rng(42);
        std::normal_distribution<float> nd(0.0f, 1.0f);
        const size_t rb = row_bytes(t, k_cols);
        std::vector<float> row(k_cols);
        w.resize(rb * k_rows);
        for (int64_t r = 0; r < 64; ++r) {
            for (auto& v : row) v = nd(rng);
            quantize_row(t, row.data(), w.data() + rb * r, k_cols);
        }
        for (int64_t r = 64; r < k_rows; ++r) std::copy_n(w.data() + rb * (r % 64), rb, w.data() + rb * r);
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
    const weight_matrix wm{"w", t, k_rows, k_cols, w.data(), row_bytes(t, k_cols)};
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

const type k_types[] = {type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::q8_0, type::iq4_nl,
                        type::q2_k, type::q3_k, type::q4_k, type::q5_k, type::q6_k};

int register_all() {
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
