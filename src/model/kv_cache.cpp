#include "model/kv_cache.hpp"

#include "core/half.hpp"
#include "kernels/attention.hpp"
#include "lowbit/error.hpp"

namespace lowbit {

namespace {

inline float to_elem(float x, float*) { return x; }
inline uint16_t to_elem(float x, uint16_t*) { return f32_to_fp16(x); }

template <class E>
void store_head(E* kb, E* vt, int64_t head_dim, int64_t ld_v, int64_t pos0, int64_t n, const float* k, const float* v,
                int64_t ld) {
    for (int64_t t = 0; t < n; ++t)
        for (int64_t d = 0; d < head_dim; ++d) {
            kb[kernels::key_index(head_dim, d, pos0 + t)] = to_elem(k[t * ld + d], kb);
            vt[d * ld_v + pos0 + t] = to_elem(v[t * ld + d], vt);
        }
}

}  // namespace

void kv_cache::store(int64_t layer, int64_t head, int64_t pos0, int64_t n, const float* k, const float* v, int64_t ld) {
    if (type_ == kv_type::f16)
        store_head(kb16(layer, head), vt16(layer, head), head_dim_, ld_, pos0, n, k, v, ld);
    else
        store_head(kb(layer, head), vt(layer, head), head_dim_, ld_, pos0, n, k, v, ld);
}

kv_type parse_kv_type(std::string_view s) {
    if (s == "f32") return kv_type::f32;
    if (s == "f16") return kv_type::f16;
    fail("unknown KV cache type '{}' (expected f32 or f16)", s);
}

const char* kv_type_name(kv_type t) { return t == kv_type::f16 ? "f16" : "f32"; }

kv_cache::kv_cache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, kv_type t)
    : n_layer_(n_layer), n_head_kv_(n_head_kv), head_dim_(head_dim), n_ctx_(n_ctx), type_(t) {
    LOWBIT_REQUIRE(n_layer > 0 && n_head_kv > 0 && head_dim > 0 && n_ctx > 0,
                   "kv cache: invalid shape (layers {}, kv heads {}, head dim {}, context {})", n_layer,
                   n_head_kv, head_dim, n_ctx);
    LOWBIT_REQUIRE(n_ctx < (int64_t(1) << 36), "kv cache: context {} is too large", n_ctx);
    ld_ = (n_ctx + 31) / 32 * 32 + 16;
    const int64_t n = n_layer * n_head_kv * head_dim * ld_;
    LOWBIT_REQUIRE(n / ld_ == n_layer * n_head_kv * head_dim && n < (int64_t(1) << 36),
                   "kv cache: {} elements for context {} is too large", n, n_ctx);
    if (t == kv_type::f16) {
        k16_.assign(static_cast<size_t>(n), 0);
        v16_.assign(static_cast<size_t>(n), 0);
    } else {
        k_.assign(static_cast<size_t>(n), 0.0f);
        v_.assign(static_cast<size_t>(n), 0.0f);
    }
}

}  // namespace lowbit
