#include "quant/mixture.hpp"

#include <algorithm>

namespace lowbit {
namespace {

bool ends_with(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}
bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// llama.cpp's use_more_bits(i_layer, n_layers)
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// llama_ftype values (llama.h)
enum ftype : int32_t {
    F_Q4_0 = 2, F_Q4_1 = 3, F_Q8_0 = 7, F_Q5_0 = 8, F_Q5_1 = 9, F_Q2_K = 10, F_Q3_K_S = 11,
    F_Q3_K_M = 12, F_Q3_K_L = 13, F_Q4_K_S = 14, F_Q4_K_M = 15, F_Q5_K_S = 16, F_Q5_K_M = 17,
    F_Q6_K = 18, F_Q2_K_S = 21, F_IQ3_XXS = 23, F_IQ4_NL = 25, F_IQ3_S = 26, F_IQ4_XS = 30,
    F_TQ1_0 = 36, F_TQ2_0 = 37,
};

}  // namespace

tensor_category categorize_tensor(const std::string& n) {
    if (n == "token_embd.weight") return tensor_category::token_embd;
    if (n == "output.weight") return tensor_category::output;
    if (contains(n, "attn_qkv.weight")) return tensor_category::attn_qkv;
    if (contains(n, "attn_q.weight")) return tensor_category::attn_q;
    if (contains(n, "attn_k.weight")) return tensor_category::attn_k;
    if (contains(n, "attn_v.weight")) return tensor_category::attn_v;
    if (contains(n, "attn_output.weight")) return tensor_category::attn_output;
    if (contains(n, "ffn_gate.weight")) return tensor_category::ffn_gate;
    if (contains(n, "ffn_up.weight")) return tensor_category::ffn_up;
    if (contains(n, "ffn_down.weight")) return tensor_category::ffn_down;
    return tensor_category::other;
}

bool is_quantizable_weight(const model_tensor& t) {
    int n_dims = static_cast<int>(t.shape.size());
    while (n_dims > 1 && t.shape[n_dims - 1] == 1) --n_dims;
    if (n_dims < 2) return false;
    if (!ends_with(t.name, "weight")) return false;
    if (contains(t.name, "_norm.weight")) return false;
    if (contains(t.name, "ffn_gate_inp.weight")) return false;
    return true;
}

mixture_rules::mixture_rules(const model_data& m, const quant_preset& p, bool has_imatrix)
    : preset_(p), has_imatrix_(has_imatrix) {
    tied_embeddings_ = m.find_tensor("output.weight") == nullptr;
    const std::string arch = m.get_string("general.architecture", "llama");
    const int64_t n_head = m.get_int(arch + ".attention.head_count", 1);
    const int64_t n_head_kv = m.get_int(arch + ".attention.head_count_kv", n_head);
    n_gqa_ = n_head_kv > 0 ? static_cast<int>(n_head / n_head_kv) : 1;
    for (const auto& t : m.tensors) {
        switch (categorize_tensor(t.name)) {
            case tensor_category::attn_v: case tensor_category::attn_qkv: ++n_attn_v_; break;
            case tensor_category::ffn_down: ++n_ffn_down_; break;
            case tensor_category::ffn_gate: ++n_ffn_gate_; break;
            case tensor_category::ffn_up: ++n_ffn_up_; break;
            default: break;
        }
    }
}

type mixture_rules::type_for(const model_tensor& t, std::string& reason) {
    type nt = preset_.base;
    const int32_t f = preset_.llama_ftype;
    auto cat = categorize_tensor(t.name);
    if (!preset_.mixture) {
        reason = "preset " + preset_.name;
        return nt;
    }
    reason = preset_.name + " mixture";
    if (cat == tensor_category::output || (tied_embeddings_ && cat == tensor_category::token_embd)) {
        const int64_t nx = t.row_len();
        const int64_t bs = traits(nt).block_size;
        if (bs > 0 && nx % bs != 0) nt = type::q8_0;
        else if (nt != type::q8_0) nt = type::q6_k;
        reason += " (output tensor)";
        return nt;
    }
    if (cat == tensor_category::token_embd) {
        if (f == F_TQ1_0 || f == F_TQ2_0) nt = type::q4_k;
        else if (f == F_IQ3_XXS) nt = type::iq3_s;
        return nt;
    }
    if (cat == tensor_category::attn_v || cat == tensor_category::attn_qkv) {
        if (cat == tensor_category::attn_qkv) {
            if (f == F_Q3_K_M || f == F_Q3_K_L) nt = type::q4_k;
            else if (f == F_Q4_K_M) nt = type::q5_k;
            else if (f == F_Q5_K_M) nt = type::q6_k;
        } else if (f == F_Q2_K) nt = n_gqa_ >= 4 ? type::q4_k : type::q3_k;
        else if (f == F_Q2_K_S && n_gqa_ >= 4) nt = type::q4_k;
        else if (f == F_IQ3_XXS) nt = n_gqa_ >= 4 ? type::q4_k : !has_imatrix_ ? type::iq3_s : type::iq3_xxs;
        else if (f == F_IQ3_S && n_gqa_ >= 4) nt = type::q4_k;
        else if (f == F_Q3_K_M) nt = i_attn_v_ < 2 ? type::q5_k : type::q4_k;
        else if (f == F_Q3_K_L) nt = type::q5_k;
        else if ((f == F_IQ4_NL || f == F_IQ4_XS) && n_gqa_ >= 4) nt = type::q5_k;
        else if ((f == F_Q4_K_M || f == F_Q5_K_M) && use_more_bits(i_attn_v_, n_attn_v_)) nt = type::q6_k;
        else if (f == F_Q4_K_S && i_attn_v_ < 4) nt = type::q5_k;
        ++i_attn_v_;
        return nt;
    }
    if (cat == tensor_category::ffn_down) {
        const int i = i_ffn_down_, n = n_ffn_down_;
        if (f == F_Q2_K) nt = type::q3_k;
        else if (f == F_Q2_K_S) { if (i < n / 8) nt = type::q4_k; }
        else if (f == F_IQ3_XXS && !has_imatrix_) nt = i < n / 8 ? type::q4_k : type::q3_k;
        else if (f == F_Q3_K_M) nt = i < n / 16 ? type::q5_k : type::q4_k;
        else if (f == F_Q3_K_L) nt = type::q5_k;
        else if (f == F_Q4_K_M) { if (use_more_bits(i, n)) nt = type::q6_k; }
        else if (i < n / 8 && (f == F_IQ4_NL || f == F_IQ4_XS) && !has_imatrix_) nt = type::q5_k;
        else if (f == F_Q5_K_M && use_more_bits(i, n)) nt = type::q6_k;
        else if (f == F_Q4_K_S && i < n / 8) nt = type::q5_k;
        else if ((f == F_Q4_0 || f == F_Q5_0) && has_imatrix_ && i < n / 8)
            nt = f == F_Q4_0 ? type::q4_1 : type::q5_1;
        ++i_ffn_down_;
        return nt;
    }
    if (cat == tensor_category::attn_output) {
        if (f == F_Q2_K) nt = type::q3_k;
        else if (f == F_IQ3_XXS) nt = type::iq3_s;
        else if (f == F_Q3_K_M) nt = type::q4_k;
        else if (f == F_Q3_K_L) nt = type::q5_k;
        return nt;
    }
    if (cat == tensor_category::ffn_gate) ++i_ffn_gate_;
    if (cat == tensor_category::ffn_up) ++i_ffn_up_;
    return nt;
}

}  // namespace lowbit
