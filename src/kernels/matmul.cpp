#include "kernels/matmul.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/cpu.hpp"
#include "core/parallel.hpp"
#include "kernels/dot.hpp"
#include "kernels/gemm_f32.hpp"
#include "kernels/gemm_q.hpp"
#include "kernels/quant_act.hpp"
#include "kernels/repack.hpp"
#include "kernels/w8a8.hpp"

namespace lowbit {

void matmul_scratch::reserve_workers(int n, size_t n_floats) {
    if (static_cast<int>(buf_.size()) < n) buf_.resize(static_cast<size_t>(n));
    for (int w = 0; w < n; ++w)
        if (buf_[static_cast<size_t>(w)].size() < n_floats) buf_[static_cast<size_t>(w)].resize(n_floats);
}

float* matmul_scratch::tile(int worker, size_t n_floats) {
    auto& b = buf_[static_cast<size_t>(worker)];
    if (b.size() < n_floats) b.resize(n_floats);
    return b.data();
}

uint8_t* matmul_scratch::act(size_t n_bytes) {
    if (act_.size() < n_bytes) act_.resize(n_bytes);
    return act_.data();
}

namespace {

static_assert(kernels::k_gemm_rows == kernels::k_tile_rows, "a repacked tile must be one prompt-GEMM row group");

// The generation path over load-time repacked 8-row tiles (kernels/repack.hpp): y[t][8i .. 8i+7] =
// tile i . quantized x[t], 8 rows per kernel call with no horizontal sums. Returns false (nothing
// done) when the tiles do not match the matrix or the type has no tiled kernel.
bool matmul_tiled(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                  int n_threads, matmul_scratch& scratch) {
    const repacked_matrix& p = *w.tiles;
    const kernels::repack_kernels kr = kernels::repack_kernel(w.t, active_isa_tier());
    const kernels::quantize_act_fn quant = kr.prep ? kr.prep : kernels::quantize_act_kernel(kr.act);
    const int64_t k = w.n_cols;
    if (!kr.gemv || !quant || p.t != w.t || p.n_rows != w.n_rows || p.n_cols != k || k % kr.block != 0) return false;
    const size_t arb = row_bytes(kr.act, k);
    const int64_t n_side = kernels::repack_act_side_count(w.t, k);
    const size_t nt = static_cast<size_t>(n_tokens);
    const size_t side_at = (arb * nt + 63) / 64 * 64;
    uint8_t* qa = scratch.act(side_at + sizeof(int32_t) * static_cast<size_t>(n_side) * nt);
    auto* side = reinterpret_cast<int32_t*>(qa + side_at);
    for (int64_t t = 0; t < n_tokens; ++t) {
        uint8_t* qt = qa + arb * static_cast<size_t>(t);
        quant(x + t * ldx, qt, k);
        kernels::repack_act_sides(w.t, qt, k, side + n_side * t);
    }
    const auto rows_of = [&](int64_t i) {
        return static_cast<int>(std::min<int64_t>(kernels::k_tile_rows, w.n_rows - i * kernels::k_tile_rows));
    };
    const auto one = [&](int64_t i) {
        for (int64_t t = 0; t < n_tokens; ++t)
            kr.gemv(p.n_blocks, p.tile(i), qa + arb * static_cast<size_t>(t), side + n_side * t,
                    y + t * ldy + i * kernels::k_tile_rows, rows_of(i));
    };
    // Guided chunks (parallel_for_guided) of a multiple of 2 tiles (16 rows, as the per-row path) keep
    // each thread's writes to y apart and the threads' finishing times close.
    // LOWBIT_GEMV2=0: one tile at a time even where a two-tile kernel exists (for A/B measurements).
    static const bool no_pairs = std::getenv("LOWBIT_GEMV2") && std::getenv("LOWBIT_GEMV2")[0] == '0';
    if (!kr.gemv2 || p.n_tiles < 4 || no_pairs) {
        parallel_for_guided((p.n_tiles + 1) / 2, std::max(n_threads, 1), 1, [&](int64_t b, int64_t e, int) {
            const int64_t i1 = std::min(p.n_tiles, 2 * e);
            for (int64_t i = 2 * b; i < i1; ++i) one(i);
        });
        return true;
    }
    // Two weight streams per thread (repack_kernels::gemv2): tile i of the first half [0, h) runs in
    // lockstep with tile i + h of the second; guided chunks of an even number of first-half tiles.
    const int64_t h = (p.n_tiles + 1) / 2;
    parallel_for_guided(h, std::max(n_threads, 1), 2, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
            const int64_t j = i + h;
            if (j >= p.n_tiles) {
                one(i);
                continue;
            }
            for (int64_t t = 0; t < n_tokens; ++t)
                kr.gemv2(p.n_blocks, p.tile(i), p.tile(j), qa + arb * static_cast<size_t>(t), side + n_side * t,
                         y + t * ldy + i * kernels::k_tile_rows, y + t * ldy + j * kernels::k_tile_rows, rows_of(i),
                         rows_of(j));
        }
    });
    return true;
}

// Activation rows, each prepared by prep (or copied when null), interleaved by T = k_panel_tokens tokens
// into scratch: block i holds xi[T k i + T j + t] = x[first + t][j] for t < count (first, count =
// kernels::panel_block(n_tokens, i); the other slots zero).
float* interleave_tokens(const float* x, int64_t ldx, int64_t n_tokens, int64_t k, void (*prep)(const float*, void*, int64_t),
                         int n_threads, matmul_scratch& scratch) {
    constexpr int64_t T = kernels::k_panel_tokens;
    const int64_t n_tb = kernels::panel_token_blocks(n_tokens);
    const size_t block_floats = static_cast<size_t>(T * k);
    auto* xi = reinterpret_cast<float*>(scratch.act(sizeof(float) * block_floats * static_cast<size_t>(n_tb)));
    scratch.reserve_workers(std::max(n_threads, 1));
    parallel_for(n_tb, n_tokens * k < (int64_t(1) << 15) ? 1 : n_threads, [&](int64_t b, int64_t e, int worker) {
        float* row = scratch.tile(worker, static_cast<size_t>(k));
        for (int64_t tb = b; tb < e; ++tb) {
            float* blk = xi + block_floats * static_cast<size_t>(tb);
            const kernels::panel_token_block tk = kernels::panel_block(n_tokens, tb);
            for (int64_t t = 0; t < T; ++t) {
                const int64_t tok = tk.first + t;
                if (t >= tk.count) {
                    for (int64_t j = 0; j < k; ++j) blk[T * j + t] = 0.0f;
                    continue;
                }
                const float* src = x + tok * ldx;
                if (prep) {
                    prep(src, row, k);
                    src = row;
                }
                for (int64_t j = 0; j < k; ++j) blk[T * j + t] = src[j];
            }
        }
    });
    return xi;
}

// The prompt path of tiled formats with a float GEMM from the tiles (F16, BF16; kernels/repack.hpp): the
// activations prepared and interleaved once per call, then the kernel runs each worker's chunk of tiles
// over every token block.
// Returns false (nothing done) when the tiles do not match or the type has no such GEMM.
bool matmul_tiled_gemm(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                       int n_threads, matmul_scratch& scratch) {
    const repacked_matrix& p = *w.tiles;
    const kernels::repack_kernels kr = kernels::repack_kernel(w.t, active_isa_tier());
    const int64_t k = w.n_cols;
    if (!kr.gemm || kr.act != type::f32 || p.t != w.t || p.n_rows != w.n_rows || p.n_cols != k ||
        k % kr.block != 0)
        return false;
    const float* xi = interleave_tokens(x, ldx, n_tokens, k, kr.prep, std::max(n_threads, 1), scratch);
    // Chunks of up to k_tile_gemm_max_tiles tiles (an even number, so the 16-row panels are full), at least
    // ~4 per thread, from a shared counter.
    const int64_t per = std::clamp<int64_t>(p.n_tiles / (4 * std::max(n_threads, 1)) / 2 * 2, 2,
                                            kernels::k_tile_gemm_max_tiles);
    const int64_t n_chunks = (p.n_tiles + per - 1) / per;
    const int workers = static_cast<int>(std::min<int64_t>(std::max(n_threads, 1), n_chunks));
    parallel_for_dynamic(n_chunks, workers, [&](int64_t c, int) {
        const int64_t i0 = c * per, i1 = std::min(p.n_tiles, i0 + per);
        const int64_t r0 = i0 * kernels::k_tile_rows;
        kr.gemm(p.n_blocks, p.tile(i0), p.tile_bytes, static_cast<int>(i1 - i0), std::min(w.n_rows, i1 * kernels::k_tile_rows) - r0,
                xi, n_tokens, y + r0, ldy);
    });
    return true;
}

// The generation path: y[t][r] = dot(W[r], quantized x[t]). Returns false (nothing done) when the
// weight type has no quantized dot product or the row length is not a whole number of blocks.
bool matmul_quantized(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y,
                      int64_t ldy, int n_threads, matmul_scratch& scratch) {
    if (w.tiles && matmul_tiled(w, n_tokens, x, ldx, y, ldy, n_threads, scratch)) return true;
    const isa_tier tier = active_isa_tier();
    const kernels::dot_fn dot = kernels::dot_kernel(w.t, tier);
    // With SIMD decoders but only a scalar dot (Q4_1, Q5_1 when not repacked), de-quantize + GEMM is
    // faster.
    if (!dot || (tier >= isa_tier::avx2 && dot == kernels::dot_kernel(w.t, isa_tier::ref))) return false;
    const type at = kernels::dot_act_type(w.t);
    const kernels::quantize_act_fn quant = kernels::quantize_act_kernel(at);
    const int64_t k = w.n_cols;
    const int64_t wbs = traits(w.t).block_size;  // 0: per-channel rows (any k)
    if (!quant || (wbs != 0 && k % wbs != 0) || k % traits(at).block_size != 0) return false;
    const size_t arb = row_bytes(at, k);
    uint8_t* qa = scratch.act(arb * static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) quant(x + t * ldx, qa + arb * static_cast<size_t>(t), k);
    // Guided chunks (parallel_for_guided) of a multiple of 16 rows keep each thread's writes to y apart
    // (no false sharing) and the threads' finishing times close.
    parallel_for_guided((w.n_rows + 15) / 16, std::max(n_threads, 1), 1, [&](int64_t b, int64_t e, int) {
        const int64_t r1 = std::min(w.n_rows, e * 16);
        for (int64_t r = b * 16; r < r1; ++r) {
            const uint8_t* row = w.row(r);
            for (int64_t t = 0; t < n_tokens; ++t) y[t * ldy + r] = dot(k, row, qa + arb * static_cast<size_t>(t));
        }
    });
    return true;
}

// The prompt path: integer GEMM over packed 8-row groups (kernels/gemm_q.hpp). Returns false (nothing
// done) when the weight type has no integer GEMM or the row length is not a whole number of blocks.
bool matmul_gemm_q(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                   int n_threads, matmul_scratch& scratch) {
    const kernels::gemm_q_kernels kq = kernels::gemm_q_kernel(w.t, active_isa_tier());
    const int64_t k = w.n_cols;
    if (!kq.gemm || k % kq.block != 0 || k % traits(kq.act).block_size != 0) return false;
    // FP8's kernel takes 12-bit activations (block_a16) in place of a quantized activation type.
    const kernels::quantize_act_fn quant = kernels::gemm_act_quantizer(kq, active_isa_tier());
    if (!quant) return false;
    const kernels::gemm_act_layout layout = kernels::gemm_act_layout_of(kq, k);
    const int64_t nb = layout.n_blocks;
    // Repacked weights: each 8-row group is unpacked from its tile (kernels/repack.hpp) instead of
    // packed from the rows, which are then never read.
    // A tile block may span several packed blocks (TQ2_0: 256 columns, 8 of Q4_0's 32-column blocks).
    kernels::repack_unpack_fn unpack = nullptr;
    if (w.tiles) {
        const kernels::repack_kernels kr = kernels::repack_kernel(w.t, active_isa_tier());
        if (kr.unpack && kr.block % kq.block == 0 && w.tiles->n_blocks * (kr.block / kq.block) == nb &&
            w.tiles->n_rows == w.n_rows)
            unpack = kr.unpack;
    }
    if (!unpack && !kq.pack) return false;  // a GEMM fed by tiles only (gemm_q_kernel: none at present)
    const int n_sides = layout.n_sides;
    const size_t arb = layout.row_bytes;

    // Activations: quantized once per call, or reused from the previous call on the same shared input.
    auto& c = scratch.gact;
    const bool hit = scratch.sharing_input() && c.key_gen == c.gen && c.x == x && c.n_tokens == n_tokens &&
                     c.ldx == ldx && c.n_cols == k && c.act == kq.act && c.a16 == kq.a16;
    if (!hit) {
        const size_t nt = static_cast<size_t>(n_tokens);
        if (c.q.size() < arb * nt) c.q.resize(arb * nt);
        if (c.d.size() < nt * static_cast<size_t>(nb)) c.d.resize(nt * static_cast<size_t>(nb));
        if (c.s.size() < nt * static_cast<size_t>(nb * n_sides)) c.s.resize(nt * static_cast<size_t>(nb * n_sides));
        uint8_t* q = c.q.data();
        float* d = c.d.data();
        int32_t* s = c.s.data();
        const int q_threads = n_tokens * k < (int64_t(1) << 15) ? 1 : n_threads;
        parallel_for(n_tokens, q_threads, [&](int64_t b, int64_t e, int) {
            for (int64_t t = b; t < e; ++t)
                kernels::gemm_act_token(kq, quant, x + t * ldx, k, q + arb * static_cast<size_t>(t),
                                        d + t * nb, s + t * nb * n_sides);
        });
        c.x = x;
        c.n_tokens = n_tokens;
        c.ldx = ldx;
        c.n_cols = k;
        c.act = kq.act;
        c.a16 = kq.a16;
        c.key_gen = c.gen;
    }
    kernels::gemm_act a;
    a.q = c.q.data();
    a.row_bytes = arb;
    a.d = c.d.data();
    a.s = c.s.data();
    a.n_blocks = nb;

    // Work items are chunks of up to `per` 8-row groups whose packed copy (about 128 KiB) stays in L2 while
    // every token tile passes over it. Workers take chunks from a shared counter, so a core slowed down
    // by another process (this machine is shared) does not hold the others back as a static split would.
    constexpr int64_t R = kernels::k_gemm_rows, T = kernels::k_gemm_tokens;
    const size_t group_bytes = static_cast<size_t>(nb) * kq.packed_bytes;
    const int64_t n_groups = (w.n_rows + R - 1) / R;
    int64_t per = std::clamp<int64_t>(static_cast<int64_t>((size_t(128) << 10) / group_bytes), 1, 16);
    // At least ~4 chunks per thread for the balance to work.
    per = std::max<int64_t>(1, std::min(per, n_groups / (4 * std::max(n_threads, 1))));
    const int64_t n_chunks = (n_groups + per - 1) / per;
    const int workers = static_cast<int>(std::min<int64_t>(std::max(n_threads, 1), n_chunks));
    const size_t chunk_floats = (group_bytes * static_cast<size_t>(per) + sizeof(float) - 1) / sizeof(float);
    scratch.reserve_workers(workers, chunk_floats);
    parallel_for_dynamic(n_chunks, workers, [&](int64_t c, int worker) {
        auto* buf = reinterpret_cast<uint8_t*>(scratch.tile(worker, chunk_floats));
        const int64_t g0 = c * per, g1 = std::min(n_groups, g0 + per);
        for (int64_t g = g0; g < g1; ++g) {
            uint8_t* dst = buf + group_bytes * static_cast<size_t>(g - g0);
            if (unpack) {
                unpack(w.tiles->n_blocks, w.tiles->tile(g), dst);
                continue;
            }
            const int rows = static_cast<int>(std::min(R, w.n_rows - g * R));
            kq.pack(w.row(g * R), w.row_stride, rows, k, dst);
        }
        for (int64_t t0 = 0; t0 < n_tokens; t0 += T) {
            const int n_tok = static_cast<int>(std::min(T, n_tokens - t0));
            for (int64_t g = g0; g < g1; ++g) {
                const int rows = static_cast<int>(std::min(R, w.n_rows - g * R));
                kq.gemm(nb, buf + group_bytes * static_cast<size_t>(g - g0), a, t0, n_tok, y + t0 * ldy + g * R,
                        ldy, rows);
            }
        }
    });
    return true;
}

// Batches above this many tokens (prompts) take the panel GEMM; generation-sized ones stay on the dot
// products / gemm_f32.
constexpr int64_t k_panel_min_tokens = 5;

// The prompt path (AVX2) of F32 weights and of every type without an integer GEMM: per 1024-column
// slice and group of 16 rows, the rows de-quantized / converted (F32: read in place) and transposed into
// an f32 panel once, then every 6-token block of the interleaved activations passes over the panels of a
// work item (2 groups) with the 16 x 6 register-blocked kernel.
bool matmul_panels(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
                   int n_threads, matmul_scratch& scratch) {
    if (active_isa_tier() < isa_tier::avx2) return false;
    const int64_t k = w.n_cols;
    constexpr int64_t R = kernels::k_panel_rows, T = kernels::k_panel_tokens, KC = 1024;
    n_threads = std::max(n_threads, 1);
    const float* xi = interleave_tokens(x, ldx, n_tokens, k, nullptr, n_threads, scratch);
    const int64_t n_groups = (w.n_rows + R - 1) / R, n_tb = kernels::panel_token_blocks(n_tokens);
    const bool f32 = w.t == type::f32;
    // Slices of KC columns are de-quantized on their own where KC is a whole number of the type's blocks
    // (the rows' slice, panel and the activations' slice then stay in L2 / L1); per-row formats
    // (block_size 0) de-quantize whole rows once.
    const type_traits& tr = traits(w.t);
    const bool sliced = f32 || (tr.block_size > 0 && KC % tr.block_size == 0);
    const int64_t span = sliced ? std::min(KC, k) : k;  // columns held at once
    const size_t rows_floats = f32 ? 0 : static_cast<size_t>(R * span), panel_floats = static_cast<size_t>(R * span);
    // Work items of G = 2 groups (32 rows): each activation slice loaded into L1 serves both panels.
    // The worker buffers held the prepared activation row (interleave_tokens) and are reused here.
    constexpr int64_t G = 2;
    const size_t per_group = rows_floats + panel_floats + 8;
    scratch.reserve_workers(n_threads > 0 ? n_threads : default_threads(), G * per_group);
    parallel_for_dynamic((n_groups + G - 1) / G, n_threads, [&](int64_t item, int worker) {
        float* buf = scratch.tile(worker, G * per_group);
        float* rows_buf[G];
        float* panel[G];
        int rows[G];
        const int64_t g0 = item * G, n_g = std::min(G, n_groups - g0);
        for (int64_t i = 0; i < n_g; ++i) {
            rows_buf[i] = buf + i * per_group;
            panel[i] = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(rows_buf[i] + rows_floats) + 31) / 32 * 32);
            rows[i] = static_cast<int>(std::min(R, w.n_rows - (g0 + i) * R));
            if (!sliced) {  // whole rows, then the panel of all k columns
                for (int r = 0; r < rows[i]; ++r) dequantize_row(w.t, w.row((g0 + i) * R + r), rows_buf[i] + r * k, k);
                kernels::pack_panel_f32__avx2(rows_buf[i], k, rows[i], k, panel[i]);
            }
        }
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            const int64_t kc = std::min(KC, k - k0);
            for (int64_t i = 0; i < n_g && sliced; ++i) {
                const int64_t r0 = (g0 + i) * R;
                if (f32) {
                    kernels::pack_panel_f32__avx2(reinterpret_cast<const float*>(w.row(r0)) + k0,
                                                  static_cast<int64_t>(w.row_stride / sizeof(float)), rows[i], kc, panel[i]);
                } else if (w.t == type::f16 || w.t == type::bf16) {  // converted straight into the panel
                    const auto* h = reinterpret_cast<const uint16_t*>(w.row(r0)) + k0;
                    const int64_t ldh = static_cast<int64_t>(w.row_stride / sizeof(uint16_t));
                    if (w.t == type::f16) kernels::pack_panel_f16__avx2(h, ldh, rows[i], kc, panel[i]);
                    else kernels::pack_panel_bf16__avx2(h, ldh, rows[i], kc, panel[i]);
                } else {
                    const size_t off = static_cast<size_t>(k0 / tr.block_size) * tr.block_bytes;
                    for (int r = 0; r < rows[i]; ++r) dequantize_row(w.t, w.row(r0 + r) + off, rows_buf[i] + r * kc, kc);
                    kernels::pack_panel_f32__avx2(rows_buf[i], kc, rows[i], kc, panel[i]);
                }
            }
            for (int64_t tb = 0; tb < n_tb; ++tb) {
                const kernels::panel_token_block tk = kernels::panel_block(n_tokens, tb);
                for (int64_t i = 0; i < n_g; ++i)
                    kernels::gemm_panel_f32__avx2(kc, sliced ? panel[i] : panel[i] + R * k0, xi + T * k * tb + T * k0,
                                                  tk.count, y + tk.first * ldy + (g0 + i) * R, ldy, rows[i], k0 > 0);
            }
        }
    });
    return true;
}

}  // namespace

int64_t matmul_tile_rows(int64_t n_cols) {
    const int64_t rows = 8192 / std::max<int64_t>(n_cols, 1);
    return std::max<int64_t>(4, rows / 4 * 4);
}

void matmul(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y, int64_t ldy,
            int n_threads, matmul_scratch& scratch) {
    if (n_tokens <= 0 || w.n_rows <= 0) return;
    if (w.act.mode != act_mode::none) {  // int8 activations: kernels/w8a8.hpp (owner: act-quant)
        matmul_w8a8(w, n_tokens, x, ldx, y, ldy, n_threads, scratch);
        return;
    }
    matmul_weight_only(w, n_tokens, x, ldx, y, ldy, n_threads, scratch);
}

void matmul_weight_only(const weight_matrix& w, int64_t n_tokens, const float* x, int64_t ldx, float* y,
                        int64_t ldy, int n_threads, matmul_scratch& scratch) {
    if (n_tokens <= 0 || w.n_rows <= 0) return;
    if (n_threads <= 0) n_threads = default_threads();
    // Waking threads costs microseconds: below ~256K multiply-adds one thread is faster.
    if (n_tokens * w.n_rows * w.n_cols < (int64_t(1) << 18)) n_threads = 1;
    const kernels::gemm_f32_fn gemm = kernels::gemm_f32();
    const int64_t k = w.n_cols;
    // Prompts of F32 weights: the panel GEMM.
    if (w.t == type::f32 && n_tokens >= k_panel_min_tokens && matmul_panels(w, n_tokens, x, ldx, y, ldy, n_threads, scratch))
        return;
    if (w.t == type::f32) {
        const float* wf = reinterpret_cast<const float*>(w.data);
        const int64_t ldw = static_cast<int64_t>(w.row_stride / sizeof(float));
        const int64_t n_quads = (w.n_rows + 3) / 4;
        parallel_for(n_quads, n_threads, [&](int64_t b, int64_t e, int) {
            const int64_t r0 = b * 4, r1 = std::min(w.n_rows, e * 4);
            gemm(n_tokens, r1 - r0, k, x, ldx, wf + r0 * ldw, ldw, y + r0, ldy);
        });
        return;
    }
    if (n_tokens <= scratch.quantized_max_tokens() &&
        matmul_quantized(w, n_tokens, x, ldx, y, ldy, n_threads, scratch))
        return;
    if (scratch.quantized_max_tokens() > 0 && matmul_gemm_q(w, n_tokens, x, ldx, y, ldy, n_threads, scratch))
        return;
    if (scratch.quantized_max_tokens() > 0 && w.tiles && matmul_tiled_gemm(w, n_tokens, x, ldx, y, ldy, n_threads, scratch))
        return;
    // Everything else de-quantizes: prompts through the panel GEMM.
    if (n_tokens >= k_panel_min_tokens && matmul_panels(w, n_tokens, x, ldx, y, ldy, n_threads, scratch)) return;
    const int64_t tile_rows = matmul_tile_rows(k);
    const int64_t n_tiles = (w.n_rows + tile_rows - 1) / tile_rows;
    // Enough tiles for every thread: split finer when the matrix is small.
    const int64_t rows_per = n_tiles >= n_threads ? tile_rows
                                                  : std::max<int64_t>(4, (w.n_rows / std::max(n_threads, 1) + 3) / 4 * 4);
    const int64_t n_parts = (w.n_rows + rows_per - 1) / rows_per;
    scratch.reserve_workers(std::max(n_threads, 1));
    parallel_for(n_parts, n_threads, [&](int64_t b, int64_t e, int worker) {
        float* buf = scratch.tile(worker, static_cast<size_t>(rows_per * k));
        for (int64_t p = b; p < e; ++p) {
            const int64_t r0 = p * rows_per, r1 = std::min(w.n_rows, r0 + rows_per);
            for (int64_t r = r0; r < r1; ++r) dequantize_row(w.t, w.row(r), buf + (r - r0) * k, k);
            gemm(n_tokens, r1 - r0, k, x, ldx, buf, k, y + r0, ldy);
        }
    });
}

}  // namespace lowbit
