// Decode attention microbenchmarks (kernels/attention.hpp):
//   BM_attn_decode/<f32|f16>/<tier>/depth:<n>: one generated token's attention for one layer of the
//       synthetic benchmark model (4 KV heads of 4 query heads each, head_dim 128), one thread, with n
//       keys in the cache (rows laid out as kv_cache's for a
//       2048-position context); items = layers. At the depths of `lowbit bench -n 64` (0-64 keys) this is
//       time the memory bus sits idle between weight matrices; at depth 4096 it reads the cache.
//   BM_attn_decode_cold/...: the same with the KV cache evicted before each call (a 48 MiB buffer is
//       read, untimed), as in generation, where a layer's weights stream through the caches between one
//       token's attention and the next's.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "kernels/attention.hpp"

namespace {

using namespace lowbit;

constexpr int64_t k_head_dim = 128, k_kv_heads = 4, k_group = 4;

template <class KV>
void attn_decode(benchmark::State& state, isa_tier tier, bool cold) {
    if (!isa_tier_supported(tier)) {
        state.SkipWithError("tier not supported by this CPU");
        return;
    }
    const int64_t n = state.range(0);  // keys in the cache; the query is position n - 1
    const int64_t ld = (std::max<int64_t>(n, 2048) + 31) / 32 * 32 + 16;  // a context of 2048 or more, as kv_cache
    const size_t per_head = static_cast<size_t>(k_head_dim * ld);
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<KV> kb(per_head * k_kv_heads), vt(per_head * k_kv_heads);
    for (size_t i = 0; i < kb.size(); ++i) {
        if constexpr (sizeof(KV) == 2) {
            kb[i] = static_cast<KV>(0x3c00 | (rng() & 0x3ff));  // values in [1, 2)
            vt[i] = static_cast<KV>(0x3c00 | (rng() & 0x3ff));
        } else {
            kb[i] = nd(rng);
            vt[i] = nd(rng);
        }
    }
    const int64_t qd = k_kv_heads * k_group * k_head_dim;
    std::vector<float> q(static_cast<size_t>(qd)), out(static_cast<size_t>(qd));
    for (auto& v : q) v = nd(rng);
    std::vector<float> scratch(static_cast<size_t>(kernels::attn_scratch_floats(k_group, 1, n)));
    const float scale = 0.088f;
    std::vector<uint64_t> evict(cold ? (size_t(48) << 20) / 8 : 0, 1);
    uint64_t sink = 0;
    for (auto _ : state) {
        if (cold) {
            state.PauseTiming();
            for (size_t i = 0; i < evict.size(); i += 8) sink += evict[i];
            state.ResumeTiming();
        }
        for (int64_t h = 0; h < k_kv_heads; ++h) {
            const int64_t o = h * k_group * k_head_dim;
            if constexpr (sizeof(KV) == 2)
                (tier >= isa_tier::avx2      ? kernels::attn_f16kv__avx2
                 : tier == isa_tier::generic ? kernels::attn_f16kv__simd128
                                             : kernels::attn_f16kv__ref)(
                    k_head_dim, k_group, 1, n - 1, q.data() + o, qd, kb.data() + per_head * h,
                    vt.data() + per_head * h, ld, scale, out.data() + o, qd, scratch.data());
            else
                (tier >= isa_tier::avx2      ? kernels::attn_f32__avx2
                 : tier == isa_tier::generic ? kernels::attn_f32__simd128
                                             : kernels::attn_f32__ref)(
                    k_head_dim, k_group, 1, n - 1, q.data() + o, qd, kb.data() + per_head * h,
                    vt.data() + per_head * h, ld, scale, out.data() + o, qd, scratch.data());
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(sink);
    state.SetItemsProcessed(state.iterations());
}

void register_all() {
    for (isa_tier tier : {isa_tier::ref, isa_tier::generic, isa_tier::avx2}) {
        const std::string tn = isa_tier_name(tier);  // generic: the 128-bit kernels
        for (bool cold : {false, true}) {
            const std::string name = cold ? "BM_attn_decode_cold/" : "BM_attn_decode/";
            auto* f32 = benchmark::RegisterBenchmark((name + "f32/" + tn).c_str(), attn_decode<float>, tier, cold);
            auto* f16 = benchmark::RegisterBenchmark((name + "f16/" + tn).c_str(), attn_decode<uint16_t>, tier, cold);
            for (auto* b : {f32, f16}) {
                b->ArgName("depth")->Arg(8)->Arg(32)->Arg(63)->Arg(256)->Unit(benchmark::kMicrosecond);
                if (cold)
                    b->Iterations(300);
                else
                    b->Arg(4096);
            }
        }
    }
}
const int registered = (register_all(), 0);

}  // namespace
