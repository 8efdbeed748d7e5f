// The Cephes-style e^x of the SIMD tiers (avx2_math.hpp's exp256_ps, simd128.hpp's f_exp), one source for
// every vector width: range reduction x = n ln2 + r with ln2 split in two constants, a degree-6
// polynomial for e^r, 2^n built in the exponent bits. Inputs are clamped to [-87.3, 88.4] (e^-87.3 is
// the smallest normal float), so -inf gives ~0 and never NaN; relative error < 2e-7 with fused
// multiply-adds (AVX2, aarch64), ~2e-7 with the SSSE3 tier's separate roundings.
// V: the tier's operations on its vector type V::reg:
//   set(f), min(a, b), max(a, b), add(a, b), mul(a, b)
//   muladd(a, b, c) = a b + c and nmuladd(a, b, c) = c - a b (fused where the tier has an FMA)
//   floor(v); pow2i(n) = 2^n for integral n in [-126, 127]
// Include it from tier files only, after the tier's intrinsics. `static`: every instance stays in its file
// (no weak copy built for one tier that the linker could hand another).
#pragma once

namespace lowbit::kernels {

template <class V>
static inline typename V::reg exp_cephes(typename V::reg x) {
    x = V::max(V::min(x, V::set(88.3762626647949f)), V::set(-87.3365478515625f));
    const typename V::reg fx = V::floor(V::muladd(x, V::set(1.44269504088896341f), V::set(0.5f)));
    x = V::nmuladd(fx, V::set(0.693359375f), x);
    x = V::nmuladd(fx, V::set(-2.12194440e-4f), x);
    typename V::reg y = V::set(1.9875691500e-4f);
    y = V::muladd(y, x, V::set(1.3981999507e-3f));
    y = V::muladd(y, x, V::set(8.3334519073e-3f));
    y = V::muladd(y, x, V::set(4.1665795894e-2f));
    y = V::muladd(y, x, V::set(1.6666665459e-1f));
    y = V::muladd(y, x, V::set(5.0000001201e-1f));
    y = V::muladd(y, V::mul(x, x), V::add(x, V::set(1.0f)));
    return V::mul(y, V::pow2i(fx));
}

}  // namespace lowbit::kernels
