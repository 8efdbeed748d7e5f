// TEMPORARY: placeholders so the library links until src/io/safetensors.cpp and src/io/llama2c.cpp
// land. The model-io engineer deletes this file when their implementations are committed.
#include "lowbit/error.hpp"
#include "lowbit/model_file.hpp"

namespace lowbit {

model_data load_safetensors_model(const std::string& path) {
    fail("{}: safetensors loading is not implemented yet", path);
}

model_data load_llama2c_model(const std::string& path, const load_options&) {
    fail("{}: llama2.c loading is not implemented yet", path);
}

}  // namespace lowbit
