// STUB: to be replaced by the real implementation.
#include "formats/ggml_mxfp4.hpp"

#include "lowbit/error.hpp"

namespace lowbit {

void dequantize_row_mxfp4__ref(const void*, float*, int64_t) { fail("mxfp4: decoder not implemented"); }
void quantize_row_mxfp4__ref(const float*, void*, int64_t, const float*) { fail("mxfp4: encoder not implemented"); }

}  // namespace lowbit
