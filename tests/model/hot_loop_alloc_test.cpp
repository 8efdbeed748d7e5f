// No heap allocation in the hot loop (issue 4): once a context has run a prompt and a few single
// tokens, further decode calls of those shapes (one token, a 9-token prompt, at 1 and 2 threads) and
// the sampler allocate nothing. This binary replaces the global operator new / delete with versions
// that count calls while a counter_scope is open (all threads: the pool's workers too).
//
// Before core/function_ref.hpp, every parallel_for / matmul bound its lambda to a std::function
// (libstdc++ keeps at most 16 bytes in place), ~16 allocations per token on this model; the
// sampler's repetition penalty built a vector per call.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "formats/lowbit_formats.hpp"
#include "kernels/matmul.hpp"
#include "lowbit/model_file.hpp"
#include "model/kv_cache.hpp"
#include "model/llama.hpp"
#include "model/sampler.hpp"
#include "model/synth.hpp"
#include "test_util.hpp"
#include "tiny_synth.hpp"

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};

void* counted_alloc(std::size_t n, std::size_t align) {
    if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
    n = n ? n : 1;
    void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                                : std::malloc(n);
    if (!p) throw std::bad_alloc();
    return p;
}

}  // namespace

void* operator new(std::size_t n) {
    return counted_alloc(n, 0);
}
void* operator new[](std::size_t n) {
    return counted_alloc(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

namespace lowbit {
namespace {

// Counts operator new calls from construction to count().
class counter_scope {
public:
    counter_scope() {
        g_allocs = 0;
        g_counting = true;
    }
    ~counter_scope() { g_counting = false; }
    long count() {
        g_counting = false;
        return g_allocs.load();
    }
};

TEST(HotLoopAlloc,
     CounterSeesAllocations) {  // the counter itself works (else the tests below pass vacuously)
    counter_scope c;
    auto* v = new std::vector<int>(100);
    delete v;
    EXPECT_GE(c.count(), 2);
}

// Allocations in: 4 single-token decodes, one 9-token decode (all logits), one decode_last, after a
// warm-up of the same calls.
long steady_state_allocs(const std::shared_ptr<const llama_model>& m, int threads, kv_type kv) {
    context_options co;
    co.n_ctx = 64;
    co.n_threads = threads;
    co.kv = kv;
    llama_context ctx(m, co);
    const std::vector<int32_t> prompt = {1, 50, 260, 7, 299, 12, 3, 100, 42};
    auto calls = [&] {
        ctx.decode(prompt, 0);
        for (int32_t tok : {5, 77, 298, 9}) ctx.decode(std::span<const int32_t>(&tok, 1), 0);
        ctx.decode_last(prompt);
    };
    calls();
    counter_scope c;
    calls();
    return c.count();
}

TEST(HotLoopAlloc, DecodeAllocatesNothingOnceWarm) {
    const std::string dir = test::temp_dir();
    // Types that take the different paths: tiles (integer and float kernels), plain rows in huge
    // pages (F32, IQ3_XXS), the TQ1_0 tile decode, lowbit formats, and (below) in-memory rows and
    // int8 activations.
    for (type t : {type::q4_0, type::q4_k, type::q8_0, type::q3_k, type::iq3_xxs, type::tq1_0, type::f32,
                   type::f16, ext_type::int3_g32, ext_type::fp8_e4m3, ext_type::nf4, ext_type::int8_pc}) {
        SCOPED_TRACE(type_name(t));
        const std::string path = dir + "/tiny-" + type_name(t) + ".gguf";
        write_synth_llama(test::tiny_synth(t, 5), path);
        const auto m = llama_model::load(path);
        for (int threads : {1, 2})
            EXPECT_EQ(steady_state_allocs(m, threads, kv_type::f32), 0) << threads << " threads";
        EXPECT_EQ(steady_state_allocs(m, 2, kv_type::f16), 0) << "F16 KV cache";
        if (t == type::q8_0 || t == ext_type::int8_pc) {  // simulated rounding; W8A8 integer kernels
            load_options o;
            o.act_quant = "dynamic";
            EXPECT_EQ(steady_state_allocs(llama_model::load(path, o), 2, kv_type::f32), 0)
                << "int8 activations";
        }
    }
    // Rows in memory, not repacked: the per-row dot products and the panel GEMM.
    const auto in_memory = std::make_shared<const llama_model>(synth_llama(test::tiny_synth(type::q4_k, 5)));
    EXPECT_EQ(steady_state_allocs(in_memory, 2, kv_type::f32), 0) << "in-memory Q4_K";
}

// The prompt matmuls hand out work items dynamically, so which worker runs an item depends on timing.
// Under qemu with two tests at once, a worker that woke late in the warm-up took no item, and grew its
// tile buffer in the counted calls (DecodeAllocatesNothingOnceWarm saw 1 allocation, int8_pc). Those
// loops now size every worker's buffer in the caller first: once reserved, tile() allocates nothing
// for any worker, and asking for more does.
TEST(HotLoopAlloc, ReservedWorkerBuffersDoNotGrowInTheRegion) {
    matmul_scratch s;
    s.reserve_workers(3, 1000);
    {
        counter_scope c;
        for (int w = 0; w < 3; ++w) EXPECT_NE(s.tile(w, 1000), nullptr);
        s.reserve_workers(3, 1000);  // already there
        s.reserve_workers(2, 500);
        EXPECT_EQ(c.count(), 0);
    }
    counter_scope c;
    s.tile(2, 1001);
    EXPECT_GE(c.count(), 1);  // the counter sees a growth (else the check above is vacuous)
}

TEST(HotLoopAlloc, SamplerAllocatesNothingOnceWarm) {
    std::vector<float> logits(300);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 37) % 101) / 10.0f;
    std::vector<int32_t> history = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233};
    sampler_params p{
        .temperature = 0.8f, .top_k = 40, .top_p = 0.9f, .min_p = 0.05f, .repeat_penalty = 1.1f, .seed = 3};
    for (bool full_sort : {false, true}) {  // top-k's partial sort, and the whole vocabulary
        p.top_k = full_sort ? 0 : 40;
        sampler s(p);
        s.sample(logits, history);
        counter_scope c;
        for (int i = 0; i < 20; ++i) s.sample(logits, history);
        EXPECT_EQ(c.count(), 0) << (full_sort ? "no top-k" : "top-k 40");
    }
}

}  // namespace
}  // namespace lowbit
