// Helpers shared by the GPTQ tests: encode / decode whole row-major matrices with a format's own
// codecs, and the layer-output error ||(W - Wq) X^T||^2 that GPTQ minimizes.
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/types.hpp"

namespace lowbit::test {

// rows x n weights with the format's encoder (importance `imp`, or none: plain round-to-nearest).
inline std::vector<uint8_t> encode_rows(type t, const std::vector<float>& w, int64_t rows, int64_t n,
                                        const float* imp = nullptr) {
    const size_t rb = row_bytes(t, n);
    std::vector<uint8_t> out(static_cast<size_t>(rows) * rb);
    for (int64_t r = 0; r < rows; ++r) quantize_row(t, w.data() + r * n, out.data() + r * rb, n, imp);
    return out;
}

inline std::vector<float> decode_rows(type t, const std::vector<uint8_t>& q, int64_t rows, int64_t n) {
    const size_t rb = row_bytes(t, n);
    std::vector<float> w(static_cast<size_t>(rows * n));
    for (int64_t r = 0; r < rows; ++r) dequantize_row(t, q.data() + r * rb, w.data() + r * n, n);
    return w;
}

// ||(W - Wq) X^T||^2 over T tokens, x: [T][n].
inline double output_error(const std::vector<float>& w, const std::vector<float>& wq, int64_t rows, int64_t n,
                           const std::vector<float>& x, int64_t T) {
    double e = 0.0;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t t = 0; t < T; ++t) {
            double s = 0.0;
            for (int64_t i = 0; i < n; ++i) s += (double(w[r * n + i]) - wq[r * n + i]) * x[t * n + i];
            e += s * s;
        }
    return e;
}

}  // namespace lowbit::test
