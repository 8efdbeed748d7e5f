// Prompt-path microbenchmarks (Google Benchmark; build with -DLOWBIT_BUILD_BENCH=ON). Counter `OPS` is
// 2 x multiply-adds per second (so 1 G/s = 1 GOPS), one thread:
//   BM_gemm_q/<type>/<tier>:      matmul of a 1024 x 4096 weight matrix with 128 tokens through the
//                                 integer GEMM (kernels/gemm_q.hpp): activation quantization, packing
//                                 and micro-kernels included.
//   BM_gemm_q_kernel/<type>/<tier>: the micro-kernel alone over one packed 8-row group (4096 columns,
//                                 L2-resident) and 128 tokens: the kernel's peak.
//   BM_gemm_f32/<type>:           the same product with the weights de-quantized to F32 beforehand, through
//                                 the F32 GEMM (the previous prompt path minus its de-quantization).
//   BM_dequant_f32/<type>/<tier>: matmul's fallback for types without an integer GEMM (scratch with
//                                 set_quantized_max_tokens(0)): de-quantize row tiles + F32 GEMM, timed
//                                 with its de-quantization, in the same run as BM_gemm_q.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/matmul.hpp"
#include "kernels/quant_act.hpp"
#include "lowbit/types.hpp"

namespace {

using namespace lowbit;

constexpr int64_t k_rows = 1024, k_cols = 4096, k_tokens = 128;

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

std::vector<float> activations(int64_t n) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = nd(rng);
    return x;
}

void set_ops(benchmark::State& state, double macs) {
    state.counters["OPS"] = benchmark::Counter(2.0 * macs * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

void BM_gemm_q(benchmark::State& state, type t, isa_tier tier, bool fallback = false) {
    if (!isa_tier_supported(tier)) {
        state.SkipWithError("tier not supported by this CPU");
        return;
    }
    const isa_tier saved = active_isa_tier();
    set_isa_tier(tier);
    const auto& w = weights(t);
    const weight_matrix wm = weight_matrix::stored_rows("w", t, k_rows, k_cols, w.data());
    const auto x = activations(k_tokens * k_cols);
    std::vector<float> y(k_tokens * k_rows);
    matmul_scratch scratch;
    if (fallback) scratch.set_quantized_max_tokens(0);  // no quantized paths: de-quantize + F32 GEMM
    for (auto _ : state) {
        matmul(wm, k_tokens, x.data(), k_cols, y.data(), k_rows, 1, scratch);
        benchmark::DoNotOptimize(y.data());
    }
    set_isa_tier(saved);
    set_ops(state, static_cast<double>(k_rows) * k_cols * k_tokens);
}

void BM_gemm_q_kernel(benchmark::State& state, type t, isa_tier tier) {
    if (!isa_tier_supported(tier)) {
        state.SkipWithError("tier not supported by this CPU");
        return;
    }
    const kernels::gemm_q_kernels kq = kernels::gemm_q_kernel(t, tier);
    const auto& w = weights(t);
    const int64_t nb = k_cols / kq.block;
    std::vector<uint8_t> pw(static_cast<size_t>(nb) * kq.packed_bytes);
    kq.pack(w.data(), row_bytes(t, k_cols), 8, k_cols, pw.data());
    const auto x = activations(k_tokens * k_cols);
    const kernels::gemm_act_layout l = kernels::gemm_act_layout_of(kq, k_cols);
    const kernels::quantize_act_fn quant = kernels::gemm_act_quantizer(kq, tier);
    std::vector<uint8_t> q(l.row_bytes * k_tokens);
    std::vector<float> d(static_cast<size_t>(k_tokens * l.n_blocks));
    std::vector<int32_t> s(static_cast<size_t>(k_tokens * l.n_blocks * l.n_sides));
    for (int64_t i = 0; i < k_tokens; ++i)
        kernels::gemm_act_token(kq, quant, x.data() + i * k_cols, k_cols, q.data() + l.row_bytes * i,
                                d.data() + i * l.n_blocks, s.data() + i * l.n_blocks * l.n_sides);
    kernels::gemm_act a{q.data(), l.row_bytes, d.data(), s.data(), l.n_blocks};
    std::vector<float> y(k_tokens * 8);
    for (auto _ : state) {
        for (int64_t t0 = 0; t0 < k_tokens; t0 += kernels::k_gemm_tokens)
            kq.gemm(nb, pw.data(), a, t0, kernels::k_gemm_tokens, y.data() + t0 * 8, 8, 8);
        benchmark::DoNotOptimize(y.data());
    }
    set_ops(state, 8.0 * k_cols * k_tokens);
}

void BM_gemm_f32(benchmark::State& state, type t) {
    const auto& w = weights(t);
    std::vector<float> wf(static_cast<size_t>(k_rows * k_cols));
    for (int64_t r = 0; r < k_rows; ++r)
        dequantize_row(t, w.data() + row_bytes(t, k_cols) * r, wf.data() + r * k_cols, k_cols);
    weight_matrix wm;
    wm.name = "w";
    wm.t = type::f32;
    wm.n_rows = k_rows;
    wm.n_cols = k_cols;
    wm.data = reinterpret_cast<const uint8_t*>(wf.data());
    wm.row_stride = k_cols * sizeof(float);
    const auto x = activations(k_tokens * k_cols);
    std::vector<float> y(k_tokens * k_rows);
    matmul_scratch scratch;
    for (auto _ : state) {
        matmul(wm, k_tokens, x.data(), k_cols, y.data(), k_rows, 1, scratch);
        benchmark::DoNotOptimize(y.data());
    }
    set_ops(state, static_cast<double>(k_rows) * k_cols * k_tokens);
}

int register_all() {
    for (type t : {type::q4_0, type::q5_0, type::q8_0, type::q2_k, type::q3_k, type::q4_k, type::q5_k, type::q6_k,
                   type::iq4_nl, type::iq4_xs}) {
        const std::string n = type_name(t);
        for (isa_tier tier : {isa_tier::ref, isa_tier::generic, isa_tier::avx2}) {
            benchmark::RegisterBenchmark(("BM_gemm_q/" + n + "/" + isa_tier_name(tier)).c_str(), BM_gemm_q, t, tier,
                                         false)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("BM_dequant_f32/" + n + "/" + isa_tier_name(tier)).c_str(), BM_gemm_q, t,
                                         tier, true)
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("BM_gemm_q_kernel/" + n + "/" + isa_tier_name(tier)).c_str(),
                                         BM_gemm_q_kernel, t, tier)
                ->Unit(benchmark::kMicrosecond);
        }
        benchmark::RegisterBenchmark(("BM_gemm_f32/" + n).c_str(), BM_gemm_f32, t)->Unit(benchmark::kMillisecond);
    }
    return 0;
}

const int k_registered = register_all();

}  // namespace
