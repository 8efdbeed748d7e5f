// lowbit's own formats (extension type ids >= 1024): INT8/4/3/2 per group or per channel, symmetric
// or asymmetric; NF4; FP8 E4M3/E5M2; FP4 E2M1; ternary. Rows come from lowbit_format_rows() and are
// merged into the one format table (src/formats/format_table.cpp).
#pragma once

#include <span>

#include "lowbit/types.hpp"

namespace lowbit {

std::span<const type_traits> lowbit_format_rows();

}  // namespace lowbit
