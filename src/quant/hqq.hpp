// HQQ, half-quadratic quantization (Badri & Shaji 2023, "Half-Quadratic Quantization of Large
// Machine Learning Models", mobiusml.github.io/hqq_blog): calibration-free. Per group, the grid
// (zero point m and optionally the scale d) is fitted to minimise the lp norm (p < 1) of the error
// sum |w - Q(w)|^p, which ignores outliers more than a squared error does. Half-quadratic splitting
// adds an auxiliary error e:
//   repeat: u = round((w - m) / d)                          (codes on the current grid)
//           e = shrink_p(w - (d u + m), beta)                (prox of |.|^p: sign(x) max(0, |x| - |x|^(p-1) / beta))
//           m = mean(w - e - d u)      [and, with scale, (d, m) = least squares of w - e on u]
//           beta *= kappa
// Errors are measured in units of the group's initial step d so that beta is scale-free. The best
// iterate by the lp error on the fp16-rounded grid is kept, the RTN grid included: HQQ never does
// worse than RTN on its own objective. Symmetric formats have no zero point: the scale is fitted.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit {

struct hqq_options {
    float p = 0.7f;      // lp norm
    float beta = 10.0f;  // initial penalty
    float kappa = 1.01f; // penalty growth per iteration
    int iters = 20;
    bool fit_scale = true;  // asymmetric formats: also refit d (symmetric formats always do)
    int threads = 0;
};

bool hqq_supports(type t);  // the lowbit INT formats

// Quantizes w: [rows][n] to t; returns rows * row_bytes(t, n) bytes.
std::vector<uint8_t> hqq_quantize(type t, const float* w, int64_t rows, int64_t n, const hqq_options& opt);

}  // namespace lowbit
