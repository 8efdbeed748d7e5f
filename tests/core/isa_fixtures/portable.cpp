// Fixture: a portable object; compiled with -mavx2 it holds AVX instructions (violation 1), and with
// shared.hpp's function it shares a weak definition with kernel_avx2.cpp (violation 2).
#include "shared.hpp"

void portable(float* x, int n) { scale_all(x, n, 0.5f); }
