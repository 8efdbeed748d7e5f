#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "core/cpu.hpp"
#include "core/half.hpp"
#include "core/parallel.hpp"
#include "core/sha256.hpp"
#include "lowbit/error.hpp"

namespace lowbit {

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string m(1000000, 'a');
    sha256 h;
    for (size_t i = 0; i < m.size(); i += 777) h.update(m.data() + i, std::min<size_t>(777, m.size() - i));
    EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Half, RoundTripsEveryHalf) {
    for (uint32_t h = 0; h < 65536; ++h) {
        float f = fp16_to_f32(static_cast<uint16_t>(h));
        if (f != f) continue;  // NaN payloads may change
        ASSERT_EQ(f32_to_fp16(f), h) << "half 0x" << std::hex << h;
    }
    EXPECT_EQ(f32_to_fp16(1.0f), 0x3c00);
    EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);        // rounds to inf
    EXPECT_EQ(f32_to_fp16(1.0f + 1.0f / 2048), 0x3c00);  // ties to even
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

TEST(Parallel, CoversRangeOnceAndPropagatesErrors) {
    for (int threads : {1, 2, 3, 8}) {
        std::vector<std::atomic<int>> hit(1001);
        parallel_for(1001, threads, [&](int64_t b, int64_t e, int) {
            for (int64_t i = b; i < e; ++i) hit[i]++;
        });
        for (auto& h : hit) ASSERT_EQ(h.load(), 1);
    }
    EXPECT_THROW(parallel_for(10, 2, [](int64_t b, int64_t, int) {
                     if (b > 0) fail("boom");
                 }),
                 error);
}

TEST(Parallel, DynamicRunsEveryItemOnceOnAtMostNThreads) {
    for (int threads : {1, 2, 3, 8})
        for (int64_t n : {0, 1, 5, 1001}) {
            std::vector<std::atomic<int>> hit(static_cast<size_t>(n));
            std::atomic<int> max_worker{-1};
            parallel_for_dynamic(n, threads, [&](int64_t i, int worker) {
                hit[static_cast<size_t>(i)]++;
                int m = max_worker.load();
                while (worker > m && !max_worker.compare_exchange_weak(m, worker)) {
                }
            });
            for (auto& h : hit) ASSERT_EQ(h.load(), 1);
            EXPECT_LT(max_worker.load(), std::max(1, std::min<int>(threads, static_cast<int>(std::max<int64_t>(n, 1)))));
        }
    EXPECT_THROW(parallel_for_dynamic(10, 2, [](int64_t i, int) {
                     if (i == 7) fail("boom");
                 }),
                 error);
}

// Guided chunks tile [0, n) exactly once, in order of start: each is (n - start) / (2 x workers) rounded
// down to a multiple of grain, at least grain, the last cut at n; so sizes never grow and end at grain.
TEST(Parallel, GuidedChunksTileTheRangeAndShrinkToTheGrain) {
    for (int threads : {1, 2, 3, 8})
        for (int64_t grain : {1, 2, 5})
            for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
                std::mutex mu;
                std::vector<std::array<int64_t, 3>> chunks;  // begin, end, worker
                parallel_for_guided(n, threads, grain, [&](int64_t b, int64_t e, int worker) {
                    std::lock_guard<std::mutex> lk(mu);
                    chunks.push_back({b, e, worker});
                });
                std::sort(chunks.begin(), chunks.end());
                const int64_t workers = std::min<int64_t>(threads, (n + grain - 1) / grain);
                int64_t at = 0;
                for (size_t c = 0; c < chunks.size(); ++c) {
                    const auto [b, e, worker] = chunks[c];
                    ASSERT_EQ(b, at) << "n " << n << " grain " << grain << " threads " << threads;
                    ASSERT_LT(b, e);
                    EXPECT_LT(worker, std::max<int64_t>(1, workers));
                    if (workers > 1) {
                        const int64_t want = std::max(grain, (n - b) / (2 * workers) / grain * grain);
                        EXPECT_EQ(e, std::min(n, b + want)) << "chunk at " << b << " of " << n;
                    }
                    if (c > 0) { EXPECT_LE(e - b, chunks[c - 1][1] - chunks[c - 1][0]); }
                    at = e;
                }
                EXPECT_EQ(at, n);
                if (workers <= 1) { EXPECT_LE(chunks.size(), 1u); }
                if (threads == 2 && grain == 1 && n == 1001) {
                    EXPECT_EQ(chunks.front()[1], 250);  // a quarter first
                    EXPECT_EQ(chunks.back()[1] - chunks.back()[0], 1);  // single items last
                }
            }
    EXPECT_THROW(parallel_for_guided(100, 2, 1, [](int64_t b, int64_t, int) {
                     if (b > 50) fail("boom");
                 }),
                 error);
}

// The pool's workers spin between regions and sleep after a pause: many back-to-back regions (the
// spinning hand-off) and regions a few milliseconds apart (the sleeping hand-off), with the worker
// count changing, each run every chunk exactly once. A lost wake-up hangs here (ctest's timeout).
TEST(Parallel, BackToBackAndSpacedRegionsAllComplete) {
    std::atomic<int64_t> total{0};
    int64_t want = 0;
    for (int r = 0; r < 20000; ++r) {
        const int threads = 1 + r % 3;
        parallel_for(6, threads, [&](int64_t b, int64_t e, int) { total += e - b; });
        want += 6;
    }
    EXPECT_EQ(total.load(), want);
    for (int r = 0; r < 6; ++r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // longer than the spin budget
        std::atomic<int> workers_seen{0};
        parallel_for(2, 2, [&](int64_t, int64_t, int w) { workers_seen |= 1 << w; });
        EXPECT_EQ(workers_seen.load(), 3) << "both workers ran";
    }
}

TEST(Cpu, TierParsingAndLimits) {
    for (int i = 0; i <= static_cast<int>(isa_tier::avx512vnni); ++i)
        EXPECT_EQ(parse_isa_tier(isa_tier_name(static_cast<isa_tier>(i))), static_cast<isa_tier>(i));
    EXPECT_EQ(parse_isa_tier("avxvnni"), isa_tier::avxvnni);
    EXPECT_THROW(parse_isa_tier("sse9"), error);
    EXPECT_LE(static_cast<int>(active_isa_tier()), static_cast<int>(best_isa_tier()));
    EXPECT_TRUE(isa_tier_supported(best_isa_tier()));
    EXPECT_TRUE(isa_tier_supported(isa_tier::ref));
    // Forcing a tier the CPU lacks fails (AVX-VNNI on an AVX2-only or Zen 4 machine, AVX-512 on AVX2),
    // and a supported one is accepted and restored.
    const isa_tier saved = active_isa_tier();
    for (int i = 0; i <= static_cast<int>(isa_tier::avx512vnni); ++i) {
        const auto t = static_cast<isa_tier>(i);
        if (isa_tier_supported(t)) {
            EXPECT_NO_THROW(set_isa_tier(t)) << isa_tier_name(t);
            EXPECT_EQ(active_isa_tier(), t);
        } else {
            EXPECT_THROW(set_isa_tier(t), error) << isa_tier_name(t);
        }
    }
    set_isa_tier(saved);
    EXPECT_FALSE(cpu_summary().empty());
}

// A tier needs every extension its files are compiled with: the AVX2 files use BMI2 (shlx, pdep), so a
// CPU (or a VM's masked CPUID) with AVX2, FMA and F16C but not BMI2 must not get the avx2 tier.
TEST(Cpu, TiersRequireEveryExtensionTheirCodeUses) {
    cpu_features f;
    f.ssse3 = f.sse42 = f.avx = f.avx2 = f.fma = f.f16c = f.bmi2 = true;
    EXPECT_TRUE(isa_tier_supported(isa_tier::avx2, f));
    EXPECT_FALSE(isa_tier_supported(isa_tier::avx512, f));
    for (bool cpu_features::*ext :
         {&cpu_features::avx2, &cpu_features::fma, &cpu_features::f16c, &cpu_features::bmi2}) {
        cpu_features g = f;
        g.*ext = false;
        EXPECT_FALSE(isa_tier_supported(isa_tier::avx2, g));
        EXPECT_FALSE(isa_tier_supported(isa_tier::avxvnni, g));
        EXPECT_TRUE(isa_tier_supported(isa_tier::generic, g));
    }
#if defined(__x86_64__) || defined(__i386__)
    // generic: the SSSE3 kernels (kernels/repack_simd128.cpp); an x86-64 CPU may have only SSE2
    cpu_features s;
    EXPECT_FALSE(isa_tier_supported(isa_tier::generic, s));
    s.ssse3 = true;
    EXPECT_TRUE(isa_tier_supported(isa_tier::generic, s));
    EXPECT_FALSE(isa_tier_supported(isa_tier::avx2, s));
#endif
    cpu_features v = f;
    v.avxvnni = true;
    EXPECT_TRUE(isa_tier_supported(isa_tier::avxvnni, v));
    EXPECT_FALSE(isa_tier_supported(isa_tier::avx512vnni, v));
    cpu_features z = f;
    z.avx512f = z.avx512bw = z.avx512vl = z.avx512dq = true;
    EXPECT_TRUE(isa_tier_supported(isa_tier::avx512, z));
    EXPECT_FALSE(isa_tier_supported(isa_tier::avx512vnni, z));
    EXPECT_FALSE(isa_tier_supported(isa_tier::avxvnni, z));  // Zen 4: AVX-512 VNNI, no AVX-VNNI
    z.avx512vnni = true;
    EXPECT_TRUE(isa_tier_supported(isa_tier::avx512vnni, z));
    z.bmi2 = false;
    EXPECT_FALSE(isa_tier_supported(isa_tier::avx512vnni, z));
}

}  // namespace lowbit
