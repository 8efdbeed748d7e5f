// Fixture of IsaIsolation.*Reported (scripts/check_isa_isolation.sh): an inline function kept out of
// line, so each object that uses it defines a weak (COMDAT) copy.
#pragma once

__attribute__((noinline)) inline void scale_all(float* x, int n, float s) {
    for (int i = 0; i < n; ++i) x[i] *= s;
}
