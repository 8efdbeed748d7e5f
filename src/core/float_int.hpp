// float -> int32 the way x86's conversions (cvttss2si, cvtps2dq) behave where C++ leaves it undefined:
// truncation toward zero, and the "integer indefinite" INT_MIN for NaN and for values outside int32.
// ggml's C casts compile to that on x86, so encoders byte-exact with llama.cpp use it (ggml_legacy.cpp),
// and the scalar activation quantizers match their AVX2 versions with it (quant_act.cpp).
#pragma once

#include <limits>

namespace lowbit {

inline int trunc_to_int_x86(float v) {
    return v >= -2147483648.0f && v < 2147483648.0f ? static_cast<int>(v) : std::numeric_limits<int>::min();
}

}  // namespace lowbit
