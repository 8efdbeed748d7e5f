// STUB: to be replaced by the real implementation.
#include "formats/lowbit_formats.hpp"

namespace lowbit {

std::span<const type_traits> lowbit_format_rows() { return {}; }

}  // namespace lowbit
