// Key/value cache of a decoder: for each layer and KV head, keys and values of positions [0, n_ctx)
// stored transposed, [head_dim][ld] floats (ld >= n_ctx), so attention runs along positions
// (kernels/attention.hpp). ld is n_ctx rounded up to an odd multiple of 16 floats (64 bytes): rows of
// one head then start in different cache sets, so a chunk of positions across all head_dim rows stays
// in L1/L2 while the heads of a GQA group reuse it (with a power-of-two row stride every row of the
// chunk would fall in the same set).
// Memory: 2 * n_layer * n_head_kv * head_dim * ld floats, allocated once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit {

class kv_cache {
public:
    kv_cache() = default;
    kv_cache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx);

    int64_t n_ctx() const { return n_ctx_; }
    int64_t ld() const { return ld_; }  // floats between a head's rows
    int64_t n_past() const { return n_past_; }
    void set_n_past(int64_t n) { n_past_ = n; }
    void clear() { n_past_ = 0; }

    // [head_dim][ld] block of one layer's KV head.
    float* kt(int64_t layer, int64_t head) { return k_.data() + offset(layer, head); }
    float* vt(int64_t layer, int64_t head) { return v_.data() + offset(layer, head); }
    const float* kt(int64_t layer, int64_t head) const { return k_.data() + offset(layer, head); }
    const float* vt(int64_t layer, int64_t head) const { return v_.data() + offset(layer, head); }

    size_t n_bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

private:
    size_t offset(int64_t layer, int64_t head) const {
        return static_cast<size_t>((layer * n_head_kv_ + head) * head_dim_ * ld_);
    }
    int64_t n_layer_ = 0, n_head_kv_ = 0, head_dim_ = 0, n_ctx_ = 0, ld_ = 0, n_past_ = 0;
    std::vector<float> k_, v_;
};

}  // namespace lowbit
