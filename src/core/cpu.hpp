// CPU feature detection and the kernel tier in force. The tier is chosen once from the CPU's
// features and can be forced lower (never higher than the CPU supports) with the environment
// variable LOWBIT_ISA=ref|generic|avx2|avxvnni|avx512|avx512vnni or set_isa_tier(), for debugging and
// CI (LOWBIT_ISA asking for a tier the CPU lacks gets the best supported tier below it).
#pragma once

#include <string>

namespace lowbit {

struct cpu_features {
    bool ssse3 = false, sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avx512fp16 = false, avxvnni = false;
    bool dotprod = false;  // aarch64: the dot-product extension (FEAT_DotProd, sdot / udot)
};

// Ordered by what the kernels may use: generic = 128-bit SIMD kernels where a format has them (SSSE3 on
// x86, Advanced SIMD on aarch64; kernels/repack_simd128.cpp), the ref ones elsewhere; avxvnni = AVX2 +
// AVX-VNNI (the VEX vpdpbusd of Alder Lake and later client chips, also on Sapphire Rapids); avx512 = AVX-512
// F/BW/VL/DQ; avx512vnni = that + VNNI. A CPU need not support every tier below its best (Zen 4 and Skylake-X
// have no AVX-VNNI): isa_tier_supported says which it does.
enum class isa_tier { ref = 0, generic = 1, avx2 = 2, avxvnni = 3, avx512 = 4, avx512vnni = 5 };

const cpu_features& host_cpu();
// Highest tier this CPU supports.
isa_tier best_isa_tier();
// Tier in force: best_isa_tier(), lowered by LOWBIT_ISA or set_isa_tier().
isa_tier active_isa_tier();
// Whether this CPU has every instruction tier t's kernels use.
bool isa_tier_supported(isa_tier t);
// The same for a CPU with features f (avx2: AVX2, FMA, F16C and BMI2; avx512: that and AVX-512 F/BW/VL/DQ;
// the VNNI tiers: theirs on top).
bool isa_tier_supported(isa_tier t, const cpu_features& f);
// Forces a tier; throws lowbit::error if the CPU does not support it.
void set_isa_tier(isa_tier t);
const char* isa_tier_name(isa_tier t);
// Parses "ref", "generic", "avx2", "avxvnni", "avx512", "avx512vnni"; throws lowbit::error otherwise.
isa_tier parse_isa_tier(const std::string& name);
// Whether the generic tier runs its dot-product build (aarch64, kernels/repack_simd128_dotprod.cpp): where
// the CPU has the extension, unless the environment variable LOWBIT_DOTPROD=0 or set_dotprod(false) turns it
// off (for comparisons and tests; set_dotprod(true) cannot turn it on where the CPU lacks it).
bool dotprod_active();
void set_dotprod(bool on);
// Human-readable summary, e.g. "avx2 fma f16c avx512f avx512bw ... (tier avx512vnni)".
std::string cpu_summary();

}  // namespace lowbit
