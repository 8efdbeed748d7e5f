// Key/value cache of a decoder, for each layer and KV head, in the layouts of kernels/attention.hpp:
// keys in blocks of 32 positions ([n_ctx / 32][head_dim][32], kernels::key_index), values transposed
// ([head_dim][ld], ld >= n_ctx), so that decode attention streams both. ld is n_ctx rounded up to an
// odd multiple of 16 elements: the value rows of one head then start in different cache sets.
// Elements: F32 (exact, the default) or F16 (IEEE half, rounded to nearest even as ggml's; half the
// memory and half the bytes attention reads per token, as llama.cpp's default cache).
// Memory: 2 * n_layer * n_head_kv * head_dim * ld elements, allocated once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lowbit {

enum class kv_type { f32, f16 };
kv_type parse_kv_type(std::string_view s);  // "f32" | "f16"; throws lowbit::error otherwise
const char* kv_type_name(kv_type t);

class kv_cache {
public:
    kv_cache() = default;
    kv_cache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, kv_type t = kv_type::f32);

    int64_t n_ctx() const { return n_ctx_; }
    int64_t ld() const { return ld_; }  // elements between a head's rows
    kv_type type() const { return type_; }
    int64_t n_past() const { return n_past_; }
    void set_n_past(int64_t n) { n_past_ = n; }
    void clear() { n_past_ = 0; }

    // One layer's KV head: keys (blocked) and values ([head_dim][ld]), float (F32 cache) or fp16 bits
    // (F16 cache). Each takes head_dim * ld elements (ld >= the 32-rounded n_ctx the keys need).
    float* kb(int64_t layer, int64_t head) { return k_.data() + offset(layer, head); }
    float* vt(int64_t layer, int64_t head) { return v_.data() + offset(layer, head); }
    uint16_t* kb16(int64_t layer, int64_t head) { return k16_.data() + offset(layer, head); }
    uint16_t* vt16(int64_t layer, int64_t head) { return v16_.data() + offset(layer, head); }

    // Writes the keys and values of positions pos0 .. pos0 + n - 1 of one layer's KV head, key/value t
    // at k + t * ld / v + t * ld (head_dim floats each), in the cache's layout and element type.
    void store(int64_t layer, int64_t head, int64_t pos0, int64_t n, const float* k, const float* v, int64_t ld);

    size_t n_bytes() const { return (k_.size() + v_.size()) * sizeof(float) + (k16_.size() + v16_.size()) * 2; }

private:
    size_t offset(int64_t layer, int64_t head) const {
        return static_cast<size_t>((layer * n_head_kv_ + head) * head_dim_ * ld_);
    }
    int64_t n_layer_ = 0, n_head_kv_ = 0, head_dim_ = 0, n_ctx_ = 0, ld_ = 0, n_past_ = 0;
    kv_type type_ = kv_type::f32;
    std::vector<float> k_, v_;        // F32 cache
    std::vector<uint16_t> k16_, v16_;  // F16 cache
};

}  // namespace lowbit
