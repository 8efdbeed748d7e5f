#include "core/cpu.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LOWBIT_CPUID 1
#else
#define LOWBIT_CPUID 0
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

#include <atomic>
#include <cstdlib>
#include <string>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

cpu_features detect() {
    cpu_features f;
#if !LOWBIT_CPUID
    // not x86: no x86 tier (their files are not built), every kernel runs its portable version; aarch64
    // Linux reports the dot-product extension in the auxiliary vector
#if defined(__aarch64__) && defined(__linux__)
    f.dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    return f;
#else
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.ssse3 = c & bit_SSSE3;
    f.sse42 = c & bit_SSE4_2;
    f.fma = c & bit_FMA;
    f.f16c = c & bit_F16C;
    f.avx = c & bit_AVX;
    const bool osxsave = c & bit_OSXSAVE;
    unsigned long long xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
    }
    const bool ymm_os = (xcr0 & 0x6) == 0x6;
    const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
    if (!ymm_os) {
        f.avx = f.fma = f.f16c = false;
        return f;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f.avx2 = b & bit_AVX2;
        f.bmi2 = b & bit_BMI2;
        if (zmm_os) {
            f.avx512f = b & bit_AVX512F;
            f.avx512bw = b & bit_AVX512BW;
            f.avx512vl = b & bit_AVX512VL;
            f.avx512dq = b & bit_AVX512DQ;
            f.avx512vnni = c & bit_AVX512VNNI;
            f.avx512fp16 = d & (1u << 23);
        }
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avxvnni = a & (1u << 4);
        if (zmm_os) f.avx512bf16 = a & (1u << 5);
    }
    return f;
#endif
}

std::atomic<int> g_forced{-1};
std::atomic<int> g_dotprod{-1};  // set_dotprod: -1 none, else 0 / 1

}  // namespace

const cpu_features& host_cpu() {
    static const cpu_features f = detect();
    return f;
}

bool isa_tier_supported(isa_tier t) {
    return isa_tier_supported(t, host_cpu());
}

bool isa_tier_supported(isa_tier t, const cpu_features& f) {
    // What the tier files are compiled with (CMakeLists.txt): *_avx2.cpp -mavx2 -mfma -mf16c -mbmi2
    // (GCC emits BMI2's shlx / shrx / pdep there), the AVX-512 files that plus F/BW/VL/DQ.
    const bool avx2 = f.avx2 && f.fma && f.f16c && f.bmi2;
    const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    switch (t) {
        case isa_tier::ref:
            return true;
        // The 128-bit kernels: SSSE3 on x86 (pshufb, pmaddubsw, psignb); Advanced SIMD is part of every
        // aarch64. Other architectures have none, and generic runs the ref kernels there.
        case isa_tier::generic:
            return LOWBIT_CPUID ? f.ssse3 || avx2 : true;
        case isa_tier::avx2: return avx2;
        case isa_tier::avxvnni: return avx2 && f.avxvnni;
        case isa_tier::avx512: return avx512;
        case isa_tier::avx512vnni: return avx512 && f.avx512vnni;
    }
    return false;
}

namespace {
// The highest supported tier at or below t.
isa_tier supported_at_most(isa_tier t) {
    for (int i = static_cast<int>(t); i > 0; --i)
        if (isa_tier_supported(static_cast<isa_tier>(i))) return static_cast<isa_tier>(i);
    return isa_tier::ref;
}
}  // namespace

isa_tier best_isa_tier() { return supported_at_most(isa_tier::avx512vnni); }

const char* isa_tier_name(isa_tier t) {
    switch (t) {
        case isa_tier::ref: return "ref";
        case isa_tier::generic: return "generic";
        case isa_tier::avx2: return "avx2";
        case isa_tier::avxvnni: return "avxvnni";
        case isa_tier::avx512: return "avx512";
        case isa_tier::avx512vnni: return "avx512vnni";
    }
    return "?";
}

isa_tier parse_isa_tier(const std::string& name) {
    for (int i = 0; i <= static_cast<int>(isa_tier::avx512vnni); ++i)
        if (name == isa_tier_name(static_cast<isa_tier>(i))) return static_cast<isa_tier>(i);
    fail("unknown ISA tier '{}' (expected ref, generic, avx2, avxvnni, avx512 or avx512vnni)", name);
}

void set_isa_tier(isa_tier t) {
    LOWBIT_REQUIRE(isa_tier_supported(t), "ISA tier '{}' is not supported by this CPU (best: '{}')", isa_tier_name(t),
                   isa_tier_name(best_isa_tier()));
    g_forced.store(static_cast<int>(t));
}

isa_tier active_isa_tier() {
    int forced = g_forced.load(std::memory_order_relaxed);
    if (forced >= 0) return static_cast<isa_tier>(forced);
    static const isa_tier from_env = [] {
        const char* e = std::getenv("LOWBIT_ISA");
        isa_tier best = best_isa_tier();
        if (!e || !*e) return best;
        const isa_tier t = parse_isa_tier(e);
        return static_cast<int>(t) < static_cast<int>(best) ? supported_at_most(t) : best;
    }();
    return from_env;
}

bool dotprod_active() {
    if (!host_cpu().dotprod) return false;
    const int forced = g_dotprod.load(std::memory_order_relaxed);
    if (forced >= 0) return forced != 0;
    static const bool from_env = [] {
        const char* e = std::getenv("LOWBIT_DOTPROD");
        return !(e && std::string(e) == "0");
    }();
    return from_env;
}

void set_dotprod(bool on) {
    g_dotprod.store(on ? 1 : 0);
}

std::string cpu_summary() {
    const auto& f = host_cpu();
    std::string s;
    auto add = [&](bool on, const char* n) {
        if (on) {
            if (!s.empty()) s += ' ';
            s += n;
        }
    };
    add(f.ssse3, "ssse3");
    add(f.sse42, "sse4.2");
    add(f.avx2, "avx2");
    add(f.fma, "fma");
    add(f.f16c, "f16c");
    add(f.avx512f, "avx512f");
    add(f.avx512bw, "avx512bw");
    add(f.avx512vl, "avx512vl");
    add(f.avx512vnni, "avx512vnni");
    add(f.avx512bf16, "avx512bf16");
    add(f.avx512fp16, "avx512fp16");
    add(f.avxvnni, "avxvnni");
    add(f.dotprod, dotprod_active() ? "dotprod" : "dotprod(off)");
    return s + " (tier " + isa_tier_name(active_isa_tier()) + ")";
}

}  // namespace lowbit
