// STUB: to be replaced by the real implementation.
#include "formats/ggml_legacy.hpp"

#include "lowbit/error.hpp"

namespace lowbit {

void dequantize_row_f32__ref(const void*, float*, int64_t) { fail("f32: decoder not implemented"); }
void quantize_row_f32__ref(const float*, void*, int64_t, const float*) { fail("f32: encoder not implemented"); }
void dequantize_row_f16__ref(const void*, float*, int64_t) { fail("f16: decoder not implemented"); }
void quantize_row_f16__ref(const float*, void*, int64_t, const float*) { fail("f16: encoder not implemented"); }
void dequantize_row_bf16__ref(const void*, float*, int64_t) { fail("bf16: decoder not implemented"); }
void quantize_row_bf16__ref(const float*, void*, int64_t, const float*) { fail("bf16: encoder not implemented"); }
void dequantize_row_q4_0__ref(const void*, float*, int64_t) { fail("q4_0: decoder not implemented"); }
void quantize_row_q4_0__ref(const float*, void*, int64_t, const float*) { fail("q4_0: encoder not implemented"); }
void dequantize_row_q4_1__ref(const void*, float*, int64_t) { fail("q4_1: decoder not implemented"); }
void quantize_row_q4_1__ref(const float*, void*, int64_t, const float*) { fail("q4_1: encoder not implemented"); }
void dequantize_row_q5_0__ref(const void*, float*, int64_t) { fail("q5_0: decoder not implemented"); }
void quantize_row_q5_0__ref(const float*, void*, int64_t, const float*) { fail("q5_0: encoder not implemented"); }
void dequantize_row_q5_1__ref(const void*, float*, int64_t) { fail("q5_1: decoder not implemented"); }
void quantize_row_q5_1__ref(const float*, void*, int64_t, const float*) { fail("q5_1: encoder not implemented"); }
void dequantize_row_q8_0__ref(const void*, float*, int64_t) { fail("q8_0: decoder not implemented"); }
void quantize_row_q8_0__ref(const float*, void*, int64_t, const float*) { fail("q8_0: encoder not implemented"); }
void dequantize_row_q8_1__ref(const void*, float*, int64_t) { fail("q8_1: decoder not implemented"); }
void quantize_row_q8_1__ref(const float*, void*, int64_t, const float*) { fail("q8_1: encoder not implemented"); }

}  // namespace lowbit
