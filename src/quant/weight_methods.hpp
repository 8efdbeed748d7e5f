// Calibrated and optimised weight methods on top of the quantization pipeline (quantize.hpp):
//   gptq  GPTQ (quant/gptq.hpp), sequential layer by layer on calibration text: each layer's
//         Hessians come from inputs produced by the already-quantized earlier layers (and, inside a
//         layer, by its already-quantized matrices). lowbit INT formats; other chosen types RTN.
//   awq   AWQ (quant/awq.hpp): scales folded into norms / preceding matrices, optional clipping,
//         then the format's own encoder. Any format.
//   hqq   HQQ (quant/hqq.hpp): calibration-free grid fit per group. lowbit INT formats; other
//         chosen types RTN.
//   rtn   nothing extra (the pipeline's encoders).
// Only llama-family models for gptq/awq (they run the graph).
#pragma once

#include <string>

#include "lowbit/quantize.hpp"
#include "quant/awq.hpp"
#include "quant/calib_data.hpp"
#include "quant/gptq.hpp"
#include "quant/hqq.hpp"

namespace lowbit {

struct weight_method_options {
    std::string method = "rtn";  // rtn | gptq | awq | hqq
    calib_options calib;         // gptq, awq
    gptq_options gptq;
    awq_options awq;
    hqq_options hqq;
    bool verbose = false;        // per-point progress on stderr
    // gptq: a file holding the F32 model's calibration statistics (H at every point, of the output's
    // inputs, the embedding's residual gains), keyed by a SHA-256 of the model's tensors and the
    // calibration tokens. When set, GPTQ reads them from it (or measures and writes them once) and
    // quantizes every matrix from the F32 model's inputs, not sequentially: a rerun with another
    // format does no forward pass. Empty: sequential GPTQ, nothing cached.
    std::string cache_path;
};

// Whether `name` is one of the methods above.
bool is_weight_method(const std::string& name);

// Plans with `opt`, runs the method, then quantize_model. `opt.encoded` is used by the method.
quantize_report quantize_model_with_method(const model_data& in, const std::string& out_path, quantize_options opt,
                                           const weight_method_options& mo);

}  // namespace lowbit
