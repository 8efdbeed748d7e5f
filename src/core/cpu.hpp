// CPU feature detection and the kernel tier in force. The tier is chosen once from the CPU's
// features and can be forced lower (never higher than the CPU supports) with the environment
// variable LOWBIT_ISA=ref|generic|avx2|avx512|avx512vnni or set_isa_tier(), for debugging and CI.
#pragma once

#include <string>

namespace lowbit {

struct cpu_features {
    bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avx512fp16 = false, avxvnni = false;
};

enum class isa_tier { ref = 0, generic = 1, avx2 = 2, avx512 = 3, avx512vnni = 4 };

const cpu_features& host_cpu();
// Highest tier this CPU supports.
isa_tier best_isa_tier();
// Tier in force: best_isa_tier(), lowered by LOWBIT_ISA or set_isa_tier().
isa_tier active_isa_tier();
// Forces a tier; throws lowbit::error if the CPU does not support it.
void set_isa_tier(isa_tier t);
const char* isa_tier_name(isa_tier t);
// Parses "ref", "generic", "avx2", "avx512", "avx512vnni"; throws lowbit::error otherwise.
isa_tier parse_isa_tier(const std::string& name);
// Human-readable summary, e.g. "avx2 fma f16c avx512f avx512bw ... (tier avx512vnni)".
std::string cpu_summary();

}  // namespace lowbit
