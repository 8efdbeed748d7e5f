// STUB: to be replaced by the real implementation.
#include "formats/ggml_kquants.hpp"

#include "lowbit/error.hpp"

namespace lowbit {

void dequantize_row_q2_k__ref(const void*, float*, int64_t) { fail("q2_k: decoder not implemented"); }
void quantize_row_q2_k__ref(const float*, void*, int64_t, const float*) { fail("q2_k: encoder not implemented"); }
void dequantize_row_q3_k__ref(const void*, float*, int64_t) { fail("q3_k: decoder not implemented"); }
void quantize_row_q3_k__ref(const float*, void*, int64_t, const float*) { fail("q3_k: encoder not implemented"); }
void dequantize_row_q4_k__ref(const void*, float*, int64_t) { fail("q4_k: decoder not implemented"); }
void quantize_row_q4_k__ref(const float*, void*, int64_t, const float*) { fail("q4_k: encoder not implemented"); }
void dequantize_row_q5_k__ref(const void*, float*, int64_t) { fail("q5_k: decoder not implemented"); }
void quantize_row_q5_k__ref(const float*, void*, int64_t, const float*) { fail("q5_k: encoder not implemented"); }
void dequantize_row_q6_k__ref(const void*, float*, int64_t) { fail("q6_k: decoder not implemented"); }
void quantize_row_q6_k__ref(const float*, void*, int64_t, const float*) { fail("q6_k: encoder not implemented"); }
void dequantize_row_q8_k__ref(const void*, float*, int64_t) { fail("q8_k: decoder not implemented"); }
void quantize_row_q8_k__ref(const float*, void*, int64_t, const float*) { fail("q8_k: encoder not implemented"); }

}  // namespace lowbit
