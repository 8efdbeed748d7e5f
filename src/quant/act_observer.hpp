// Observers for static activation quantization: from the calibration activations of one tensor, a
// clipping threshold c on |x|, giving the int8 scale d_x = c / 127 (kernels/w8a8.hpp).
//   minmax      c = max |x|
//   percentile  c = the p-th percentile of |x| (default 99.99)
//   entropy     TensorRT's KL calibration (Migacz, "8-bit Inference with TensorRT", GTC 2017): for
//               each candidate threshold bin i >= 128 of a 2048-bin histogram of |x|, P = bins[0, i)
//               with the clipped tail added to its last bin, Q = P merged into 128 levels and
//               expanded back (each level's mass spread evenly over its non-empty bins); pick the i
//               with the smallest KL(P || Q); c = (i + 0.5) * bin width.
//   mse         the c minimizing the expected squared error over the histogram: values below c
//               lose d^2 / 12 (uniform rounding noise), values above c lose (|x| - c)^2.
// The histogram keeps an exact maximum and a range that doubles (adjacent bins merged) when a
// larger value arrives, so it is built in one pass over any number of batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

enum class act_observer { minmax, percentile, entropy, mse };
// "minmax", "percentile", "entropy" (alias "kl"), "mse"; throws lowbit::error naming the choices.
act_observer parse_act_observer(const std::string& name);
const char* act_observer_name(act_observer o);

class abs_histogram {
public:
    explicit abs_histogram(int n_bins = 2048);
    void add(const float* x, int64_t n);  // non-finite values are ignored
    double max() const { return max_; }
    double bin_width() const { return width_; }
    const std::vector<double>& bins() const { return bins_; }
    double count() const { return count_; }

private:
    std::vector<double> bins_;
    double width_ = 0.0, max_ = 0.0, count_ = 0.0;
};

// The clipping threshold c (>= 0; 0 when every value was 0). percentile in (0, 100].
double observe_clip(const abs_histogram& h, act_observer o, double percentile = 99.99);

}  // namespace lowbit
