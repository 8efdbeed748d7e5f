// Fixture: a tier object (compiled with -mavx2) that uses shared.hpp's inline function.
#include "shared.hpp"

void kernel_avx2(float* x, int n) { scale_all(x, n, 2.0f); }
