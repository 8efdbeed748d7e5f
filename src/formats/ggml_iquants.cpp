// STUB: to be replaced by the real implementation.
#include "formats/ggml_iquants.hpp"

#include "lowbit/error.hpp"

namespace lowbit {

void dequantize_row_iq4_nl__ref(const void*, float*, int64_t) { fail("iq4_nl: decoder not implemented"); }
void quantize_row_iq4_nl__ref(const float*, void*, int64_t, const float*) { fail("iq4_nl: encoder not implemented"); }
void dequantize_row_iq4_xs__ref(const void*, float*, int64_t) { fail("iq4_xs: decoder not implemented"); }
void quantize_row_iq4_xs__ref(const float*, void*, int64_t, const float*) { fail("iq4_xs: encoder not implemented"); }
void dequantize_row_iq3_s__ref(const void*, float*, int64_t) { fail("iq3_s: decoder not implemented"); }
void quantize_row_iq3_s__ref(const float*, void*, int64_t, const float*) { fail("iq3_s: encoder not implemented"); }
void dequantize_row_iq3_xxs__ref(const void*, float*, int64_t) { fail("iq3_xxs: decoder not implemented"); }
void quantize_row_iq3_xxs__ref(const float*, void*, int64_t, const float*) { fail("iq3_xxs: encoder not implemented"); }
void dequantize_row_tq1_0__ref(const void*, float*, int64_t) { fail("tq1_0: decoder not implemented"); }
void quantize_row_tq1_0__ref(const float*, void*, int64_t, const float*) { fail("tq1_0: encoder not implemented"); }
void dequantize_row_tq2_0__ref(const void*, float*, int64_t) { fail("tq2_0: decoder not implemented"); }
void quantize_row_tq2_0__ref(const float*, void*, int64_t, const float*) { fail("tq2_0: encoder not implemented"); }

}  // namespace lowbit
