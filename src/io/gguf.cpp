// STUB: to be replaced by the real implementation.
#include "lowbit/gguf.hpp"
