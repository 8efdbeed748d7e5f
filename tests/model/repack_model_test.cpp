// Load-time repacking in the model (kernels/repack.hpp, llama_model): a tiny synthetic GGUF in Q4_0,
// IQ4_XS, Q8_0, Q4_K, Q5_K and Q6_K and lowbit's int4_g32 / g64 / g128, int4_g32_asym, int8_g32, nf4 (on Q4_0 /
// Q4_1 / Q8_0 tiles), fp8_e4m3 / fp8_e5m2 (on Q8_0's tile, float kernels), int2_g32 / g128,
// ternary_g64 (tile_int2x8), int3_g32 / g128 (tile_int3x8), MXFP4, TQ2_0, TQ1_0 and F16 / BF16
// (tile_h16x8, float kernels)
// (vocab 300: output rows not a multiple of 8) loaded with and without repacking gives
//  - at the ref tier: the same logits bit for bit, for a 9-token prompt (integer prompt GEMM from
//    tiles vs from rows) and 3 single-token steps (tiled GEMV vs per-row dots), since the tiled
//    kernels equal the per-row __ref dots exactly;
//  - at the best tier: the same prompt logits bit for bit (FP8, F16, BF16: within 1e-3 x (1 + max
//    |logit|), the tiles' float GEMM against de-quantized rows), and generation logits within
//    1e-2 x (1 + max |logit|): the plain path's per-row __avx2 dots sum Q4_0 / Q8_0 blocks in another
//    float order than __ref (dot.hpp), which the tiled kernels follow; that ~1e-7 relative change can
//    flip the rounding of a later activation to Q8 (one code step, 1/127 of its block's range), which
//    moves the logits by up to ~1e-3 relative (measured: Q4_0 3.3e-3 at max |logit| 4.0, Q8_0 5e-7,
//    Q4_K 0 -- its __avx2 dot equals __ref);
//  - matrices repacked only when loaded from a file mapping (in-memory models are left alone);
//  - q, k, v and gate, up stacked (stack_repacked): the single-token steps run the stacked products,
//    so the bit-exact generation logits at the ref tier cover them too;
//  - types without tiles (F32, IQ3_XXS, IQ3_S): rows copied into huge-page memory, q/k/v and
//    gate/up stacked as plain rows, logits bit-equal with the mapped rows' at both tiers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <cstdlib>
#include <optional>
#include <vector>

#include "core/cpu.hpp"
#include "formats/lowbit_formats.hpp"
#include "kernels/gemm_q.hpp"
#include "formats/lowbit_blocks.hpp"
#include "kernels/repack.hpp"
#include "lowbit/error.hpp"
#include "model/llama.hpp"
#include "model/synth.hpp"
#include "test_util.hpp"
#include "tiny_synth.hpp"

namespace lowbit {
namespace {

synth_options tiny(type t) { return test::tiny_synth(t, 11); }

// Logits of a 9-token prompt (all positions) followed by 3 single-token steps.
std::vector<float> run(const std::shared_ptr<const llama_model>& m) {
    context_options co;
    co.n_ctx = 64;
    co.n_threads = 2;
    llama_context ctx(m, co);
    const std::vector<int32_t> prompt = {1, 50, 260, 7, 299, 12, 3, 100, 42};
    const auto p = ctx.decode(prompt, 0);
    std::vector<float> out(p.begin(), p.end());
    for (int32_t tok : {5, 77, 298}) {
        const std::vector<int32_t> one = {tok};
        const auto g = ctx.decode(one, 0);
        out.insert(out.end(), g.begin(), g.end());
    }
    return out;
}

class isa_scope {
public:
    explicit isa_scope(isa_tier t) : old_(active_isa_tier()) { set_isa_tier(t); }
    ~isa_scope() { set_isa_tier(old_); }

private:
    isa_tier old_;
};

TEST(RepackModel, LogitsWithTilesEqualPlainRows) {
    const std::string dir = test::temp_dir();
    for (type t : {type::q2_k, type::q3_k, type::q4_0, type::q4_1, type::q5_0, type::q5_1, type::iq4_nl, type::iq4_xs, type::iq3_xxs, type::iq3_s, type::q8_0, type::q4_k, type::q5_k, type::q6_k,
                   ext_type::int4_g32, ext_type::int4_g64, ext_type::int4_g128, ext_type::int4_g32_asym, ext_type::int8_g32,
                   ext_type::nf4, ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::int2_g32, ext_type::int2_g128,
                   ext_type::ternary_g64, type::mxfp4, type::tq2_0, type::tq1_0, type::f16, type::bf16,
                   ext_type::int3_g32, ext_type::int3_g128, ext_type::fp4_e2m1, ext_type::int2_g64_asym,
                   ext_type::int4_pc, ext_type::int8_pc, ext_type::int3_pc_asym, ext_type::int2_g32_asym,
                   ext_type::int4_g128_asym, ext_type::int8_g64, ext_type::nf4_dq, ext_type::fp8_e4m3_pt,
                   ext_type::int8_g32_asym}) {
        SCOPED_TRACE(type_name(t));
        const std::string path = dir + "/tiny-" + type_name(t) + ".gguf";
        write_synth_llama(tiny(t), path);
        load_options plain_opt, tiled_opt;
        plain_opt.repack = repack_mode::none;
        const auto plain = llama_model::load(path, plain_opt);
        const auto tiled = llama_model::load(path, tiled_opt);
        for (const auto& L : tiled->layers())
            for (const weight_matrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
                ASSERT_NE(w->tiles, nullptr) << w->name << " was not repacked";
        ASSERT_NE(tiled->output().tiles, nullptr);
        // q, k, v and gate, up stacked (generation's single-token steps below run the stacks): the
        // parts' tiles are views into the stack's buffer, in order
        for (const auto& L : tiled->layers()) {
            ASSERT_EQ(L.wqkv.n_rows, L.wq.n_rows + L.wk.n_rows + L.wv.n_rows);
            ASSERT_EQ(L.w_gate_up.n_rows, L.w_gate.n_rows + L.w_up.n_rows);
            EXPECT_EQ(L.wq.tiles->tile(0), L.wqkv.tiles->tile(0));
            EXPECT_EQ(L.wk.tiles->tile(0), L.wqkv.tiles->tile(L.wq.tiles->n_tiles));
            EXPECT_EQ(L.wv.tiles->tile(0), L.wqkv.tiles->tile(L.wq.tiles->n_tiles + L.wk.tiles->n_tiles));
            EXPECT_EQ(L.w_up.tiles->tile(0), L.w_gate_up.tiles->tile(L.w_gate.tiles->n_tiles));
        }
        EXPECT_EQ(plain->layers()[0].wqkv.n_rows, 0);
        EXPECT_EQ(plain->layers()[0].wq.tiles, nullptr);

        const size_t n_prompt_logits = 9 * 300;
        {
            isa_scope ref(isa_tier::ref);
            const auto a = run(plain), b = run(tiled);
            ASSERT_EQ(a.size(), b.size());
            for (size_t i = 0; i < a.size(); ++i)
                ASSERT_EQ(a[i], b[i]) << "ref tier, logit " << i << (i < n_prompt_logits ? " (prompt)" : " (generation)");
        }
        const auto a = run(plain), b = run(tiled);
        ASSERT_EQ(a.size(), b.size());
        float amax = 0;
        for (float v : a) amax = std::max(amax, std::fabs(v));
        // FP8, F16, BF16: tiled prompts run the float GEMM from the tiles, plain rows the panel GEMM: the
        // same products in another float order. Every other type takes the same prompt path either way
        // (the integer GEMM from tiles or from its row packer, or de-quantized rows).
        const bool float_tile_gemm = kernels::repack_kernel(t, active_isa_tier()).gemm != nullptr;
        const bool same_prompt_path = !float_tile_gemm;
        for (size_t i = 0; i < a.size(); ++i) {
            if (i < n_prompt_logits && same_prompt_path)
                ASSERT_EQ(a[i], b[i]) << isa_tier_name(active_isa_tier()) << ", prompt logit " << i;
            else if (float_tile_gemm)
                ASSERT_NEAR(a[i], b[i], 1e-3f * (1.0f + amax))
                    << isa_tier_name(active_isa_tier()) << (i < n_prompt_logits ? ", prompt" : ", generation")
                    << " logit " << i;
            else
                ASSERT_NEAR(a[i], b[i], 1e-2f * (1.0f + amax))
                    << isa_tier_name(active_isa_tier()) << (i < n_prompt_logits ? ", prompt" : ", generation")
                    << " logit " << i;
        }
    }
}

// Types without tiles: the rows are copied out of the file mapping into huge-page memory (copy_rows);
// q, k, v and gate, up share one buffer each and run as one stacked product of plain rows. The same
// per-row kernels run either way, so the logits equal the mapped rows' bit for bit at both tiers.
TEST(RepackModel, RowsWithoutTilesCopiedAndStacked) {
    const std::string dir = test::temp_dir();
    for (type t : {type::f32}) {  // since IQ3_XXS / IQ3_S got tiles, the only weight type without them
        SCOPED_TRACE(type_name(t));
        ASSERT_FALSE(kernels::repack_supported(t, 256));
        const std::string path = dir + "/tiny-rows-" + type_name(t) + ".gguf";
        write_synth_llama(tiny(t), path);
        load_options plain_opt;
        plain_opt.repack = repack_mode::none;
        const auto plain = llama_model::load(path, plain_opt);
        const auto copied = llama_model::load(path);
        for (const auto& L : copied->layers()) {
            for (const weight_matrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
                EXPECT_EQ(w->tiles, nullptr) << w->name;
                ASSERT_NE(w->rows_owner, nullptr) << w->name << " was not copied";
                EXPECT_FALSE(in_readonly_file_mapping(w->data, w->n_bytes())) << w->name;
            }
            ASSERT_EQ(L.wqkv.n_rows, L.wq.n_rows + L.wk.n_rows + L.wv.n_rows);
            ASSERT_EQ(L.w_gate_up.n_rows, L.w_gate.n_rows + L.w_up.n_rows);
            EXPECT_EQ(L.wqkv.t, t);
            EXPECT_EQ(L.wq.data, L.wqkv.data);
            EXPECT_EQ(L.wk.data, L.wqkv.data + L.wq.n_bytes());
            EXPECT_EQ(L.wv.data, L.wk.data + L.wk.n_bytes());
            EXPECT_EQ(L.w_up.data, L.w_gate_up.data + L.w_gate.n_bytes());
        }
        EXPECT_NE(copied->output().rows_owner, nullptr);
        EXPECT_EQ(plain->layers()[0].wqkv.n_rows, 0);
        EXPECT_EQ(plain->layers()[0].wq.rows_owner, nullptr);
        for (isa_tier tier : {isa_tier::ref, active_isa_tier()}) {
            isa_scope scope(tier);
            const auto a = run(plain), b = run(copied);
            ASSERT_EQ(a.size(), b.size());
            for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << isa_tier_name(tier) << ", logit " << i;
        }
    }
}

// FP8 NaN / Inf codes (never written by the encoders; the AVX2 tile kernels would read them as finite
// values where the references give NaN / Inf): found by find_nonfinite_fp8, and a model file holding
// one is refused at load with the tensor and the weight named.
TEST(RepackModel, NonFiniteFp8CodesAreRefused) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd;
    const int64_t n_rows = 3, n_cols = 96;
    std::vector<float> wf(static_cast<size_t>(n_rows * n_cols));
    for (float& v : wf) v = nd(rng);
    for (type t : {ext_type::fp8_e4m3, ext_type::fp8_e5m2, ext_type::fp8_e4m3_pt, ext_type::fp8_e5m2_pt}) {
        SCOPED_TRACE(type_name(t));
        const size_t rb = row_bytes(t, n_cols);
        std::vector<uint8_t> q(rb * n_rows);
        for (int64_t r = 0; r < n_rows; ++r) quantize_row(t, wf.data() + r * n_cols, q.data() + r * rb, n_cols);
        EXPECT_EQ(find_nonfinite_fp8(t, q.data(), rb, n_rows, n_cols), -1);
        const bool e4m3 = t == ext_type::fp8_e4m3 || t == ext_type::fp8_e4m3_pt;
        const bool pt = t == ext_type::fp8_e4m3_pt || t == ext_type::fp8_e5m2_pt;
        // weight (row 2, column 70): its byte in the row
        const size_t at = pt ? 4 + 70 : (70 / 32) * sizeof(block_fp8) + 2 + 70 % 32;
        const std::vector<uint8_t> bad_codes = e4m3 ? std::vector<uint8_t>{0x7F, 0xFF}
                                                    : std::vector<uint8_t>{0x7C, 0xFC, 0x7D, 0xFF};
        for (uint8_t c : bad_codes) {
            std::vector<uint8_t> b = q;
            b[2 * rb + at] = c;
            EXPECT_EQ(find_nonfinite_fp8(t, b.data(), rb, n_rows, n_cols), 2 * n_cols + 70) << int(c);
        }
        // the largest finite codes pass
        std::vector<uint8_t> b = q;
        b[2 * rb + at] = e4m3 ? 0x7E : 0x7B;
        EXPECT_EQ(find_nonfinite_fp8(t, b.data(), rb, n_rows, n_cols), -1);
    }
    EXPECT_EQ(find_nonfinite_fp8(type::q8_0, nullptr, 0, 5, 32), -1);  // other types: nothing to check

    // a model file with one NaN code in blk.1.ffn_up.weight
    const std::string path = test::temp_dir() + "/tiny-fp8-nan.gguf";
    write_synth_llama(tiny(ext_type::fp8_e4m3), path);
    std::vector<uint8_t> file;
    {
        const auto m = llama_model::load(path);  // loads before the change
        const weight_matrix& w = m->layers()[1].w_up;
        std::ifstream in(path, std::ios::binary);
        file.assign(std::istreambuf_iterator<char>(in), {});
        const auto* row = m->data().find_tensor("blk.1.ffn_up.weight")->bytes.data();
        const auto it = std::search(file.begin(), file.end(), row, row + 256);
        ASSERT_NE(it, file.end());
        it[static_cast<ptrdiff_t>(w.row_stride) + 2 + 5] = 0xFF;  // row 1, weight 5
    }
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
    try {
        llama_model::load(path);
        FAIL() << "a NaN FP8 code was accepted";
    } catch (const error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("blk.1.ffn_up.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("row 1, column 5"), std::string::npos) << msg;
        EXPECT_NE(msg.find("NaN/Inf FP8 code"), std::string::npos) << msg;
    }
}

// repack modes: compact keeps the rows of the types whose tiles take more memory than the rows
// (IQ3_XXS, TQ1_0, nf4_dq) and tiles the others (Q4_0, IQ4_NL); LOWBIT_REPACK overrides the option
// and a value it does not know is refused; `all` falls back to compact only past half the memory
// available.
class env_scope {
public:
    env_scope(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~env_scope() { ::unsetenv(name_); }

private:
    const char* name_;
};

TEST(RepackModel, CompactModeKeepsRowsOfGrowingTiles) {
    const std::string dir = test::temp_dir();
    for (type t : {type::iq3_xxs, type::tq1_0, ext_type::nf4_dq, type::q4_0, type::iq4_nl}) {
        SCOPED_TRACE(type_name(t));
        const bool grows = t == type::iq3_xxs || t == type::tq1_0 || t == ext_type::nf4_dq;
        EXPECT_EQ(repacked_bytes(t, 256, 256) > 256 * row_bytes(t, 256), grows);
        const std::string path = dir + "/tiny-compact-" + type_name(t) + ".gguf";
        write_synth_llama(tiny(t), path);
        load_options plain_opt, compact_opt;
        plain_opt.repack = repack_mode::none;
        compact_opt.repack = repack_mode::compact;
        const auto plain = llama_model::load(path, plain_opt);
        for (bool via_env : {false, true}) {
            std::optional<env_scope> env;
            if (via_env) env.emplace("LOWBIT_REPACK", "compact");
            const auto compact = llama_model::load(path, via_env ? load_options{} : compact_opt);
            for (const auto& L : compact->layers())
                for (const weight_matrix* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
                    EXPECT_EQ(w->tiles == nullptr, grows) << w->name;
                    if (grows) { EXPECT_NE(w->rows_owner, nullptr) << w->name << ": rows not copied"; }
                }
            if (grows) {  // the same per-row kernels as the plain rows: the same logits
                const auto a = run(plain), b = run(compact);
                ASSERT_EQ(a.size(), b.size());
                for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "logit " << i;
            }
        }
    }
    {
        env_scope env("LOWBIT_REPACK", "none");  // the environment overrides the option
        const auto m = llama_model::load(dir + "/tiny-compact-q4_0.gguf");
        EXPECT_EQ(m->layers()[0].wq.tiles, nullptr);
    }
    env_scope env("LOWBIT_REPACK", "sometimes");
    try {
        llama_model::load(dir + "/tiny-compact-q4_0.gguf");
        FAIL() << "LOWBIT_REPACK=sometimes was accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("LOWBIT_REPACK=sometimes: expected all (1), compact or none (0)"),
                  std::string::npos)
            << e.what();
    }
}

TEST(RepackModel, AllFallsBackToCompactOnlyPastHalfTheAvailableMemory) {
    EXPECT_EQ(resolve_repack_mode(repack_mode::all, 0, 100), repack_mode::all);
    EXPECT_EQ(resolve_repack_mode(repack_mode::all, 50, 100), repack_mode::all);
    EXPECT_EQ(resolve_repack_mode(repack_mode::all, 51, 100), repack_mode::compact);
    EXPECT_EQ(resolve_repack_mode(repack_mode::all, size_t(1) << 40, 0), repack_mode::all);  // unknown: no check
    EXPECT_EQ(resolve_repack_mode(repack_mode::compact, 0, 100), repack_mode::compact);
    EXPECT_EQ(resolve_repack_mode(repack_mode::none, 0, 100), repack_mode::none);
    EXPECT_GT(available_memory_bytes(), size_t(0));  // Linux: /proc/meminfo
    EXPECT_EQ(repack_mode_from_name("1"), repack_mode::all);
    EXPECT_EQ(repack_mode_from_name("0"), repack_mode::none);
    EXPECT_EQ(repack_mode_from_name("compact"), repack_mode::compact);
    EXPECT_EQ(repack_mode_from_name("Compact"), std::nullopt);
}

TEST(RepackModel, InMemoryModelsAreNotRepacked) {
    const auto m = std::make_shared<const llama_model>(synth_llama(tiny(type::q4_0)));
    EXPECT_EQ(m->layers()[0].wq.tiles, nullptr);
    EXPECT_FALSE(in_readonly_file_mapping(m->layers()[0].wq.data, m->layers()[0].wq.n_bytes()));
}

}  // namespace
}  // namespace lowbit
