// Automatic mixed precision (see mixed_precision.hpp). References: Dong et al., "HAWQ-V2: Hessian
// Aware trace-Weighted Quantization" (2019) for additive per-layer sensitivities and Pareto
// allocation; the greedy-on-convex-hull knapsack is the Lagrangian relaxation's exact solution at
// every budget that falls on a hull breakpoint.
#include "quant/mixed_precision.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>

#include "core/parallel.hpp"
#include "eval/kld.hpp"
#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"
#include "model/llama.hpp"
#include "quant/mixture.hpp"

namespace lowbit {

// ---------------------------------------------------------------------------------------------
// allocator

std::vector<size_t> allocate_greedy(const std::vector<mp_item>& items, uint64_t budget_bytes, double max_cost) {
    // Per item: the lower convex hull of (bytes, cost) over options sorted by bytes, keeping only
    // points that strictly lower the cost.
    std::vector<std::vector<size_t>> hull(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        const auto& it = items[i];
        LOWBIT_REQUIRE(!it.bytes.empty() && it.bytes.size() == it.cost.size(),
                       "mixed precision: item {} has {} byte sizes and {} costs", i, it.bytes.size(), it.cost.size());
        std::vector<size_t> order(it.bytes.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return it.bytes[a] != it.bytes[b] ? it.bytes[a] < it.bytes[b] : it.cost[a] < it.cost[b];
        });
        auto& h = hull[i];
        for (size_t k : order) {
            if (!h.empty() && it.cost[k] >= it.cost[h.back()]) continue;  // dominated
            if (!h.empty() && it.bytes[k] == it.bytes[h.back()]) continue;
            // Pop points that lie on or above the segment from their predecessor to k.
            while (h.size() >= 2) {
                const size_t a = h[h.size() - 2], b = h.back();
                const double s_ab = (it.cost[b] - it.cost[a]) / double(it.bytes[b] - it.bytes[a]);
                const double s_ak = (it.cost[k] - it.cost[a]) / double(it.bytes[k] - it.bytes[a]);
                if (s_ak <= s_ab) h.pop_back();
                else break;
            }
            h.push_back(k);
        }
    }
    std::vector<size_t> pos(items.size(), 0);
    uint64_t used = 0;
    double cost = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        used += items[i].bytes[hull[i][0]];
        cost += items[i].cost[hull[i][0]];
    }
    struct cand {
        double gain;  // cost decrease per byte
        size_t item;
        bool operator<(const cand& o) const { return gain != o.gain ? gain < o.gain : item > o.item; }
    };
    std::priority_queue<cand> pq;
    auto push = [&](size_t i) {
        const auto& h = hull[i];
        if (pos[i] + 1 >= h.size()) return;
        const size_t a = h[pos[i]], b = h[pos[i] + 1];
        pq.push({(items[i].cost[a] - items[i].cost[b]) / double(items[i].bytes[b] - items[i].bytes[a]), i});
    };
    for (size_t i = 0; i < items.size(); ++i) push(i);
    while (!pq.empty() && used <= budget_bytes) {
        if (max_cost >= 0 && cost <= max_cost) break;
        const cand c = pq.top();
        pq.pop();
        const size_t i = c.item;
        const size_t a = hull[i][pos[i]], b = hull[i][pos[i] + 1];
        const uint64_t extra = items[i].bytes[b] - items[i].bytes[a];
        if (used + extra > budget_bytes) continue;  // this item cannot grow further within the budget
        used += extra;
        cost -= items[i].cost[a] - items[i].cost[b];
        ++pos[i];
        push(i);
    }
    std::vector<size_t> out(items.size());
    for (size_t i = 0; i < items.size(); ++i) out[i] = hull[i][pos[i]];
    return out;
}

// ---------------------------------------------------------------------------------------------
// KLD probe

struct kld_probe::impl {
    std::vector<std::vector<int32_t>> chunks;
    std::vector<std::vector<float>> ref_logits;  // per chunk: [n_ctx - 1][n_vocab]
    int64_t n_vocab = 0, n_ctx = 0;
    int threads = 1;
};

namespace {

model_data shallow_copy(const model_data& m) { return m; }

// Runs every chunk through `model` (one single-threaded context per worker), calling
// fn(chunk, logits[n_ctx - 1][n_vocab]) from the worker threads.
template <class F>
void run_chunks(const model_data& m, const kld_probe::impl& p, F&& fn) {
    auto model = std::make_shared<const llama_model>(shallow_copy(m));
    const int64_t n = static_cast<int64_t>(p.chunks.size());
    const int workers = static_cast<int>(std::min<int64_t>(p.threads, n));
    parallel_for(workers, workers, [&](int64_t w0, int64_t w1, int) {
        for (int64_t w = w0; w < w1; ++w) {
            context_options co;
            co.n_ctx = p.n_ctx;
            co.n_threads = 1;
            llama_context ctx(model, co);
            for (int64_t c = w; c < n; c += workers) {
                ctx.clear();
                const auto& toks = p.chunks[static_cast<size_t>(c)];
                auto logits = ctx.decode(std::span<const int32_t>(toks.data(), toks.size() - 1), 0);
                fn(c, logits.data());
            }
        }
    });
}

}  // namespace

kld_probe::kld_probe(const model_data& reference, const std::string& text, int64_t n_ctx, int64_t n_chunks,
                     int threads)
    : impl_(std::make_shared<impl>()) {
    LOWBIT_REQUIRE(n_ctx >= 8 && n_chunks >= 1, "mixed precision: calibration needs n_ctx >= 8 (got {}) and >= 1 "
                   "chunk (got {})", n_ctx, n_chunks);
    const auto tok = tokenizer::from_model(reference);
    const bool add_bos = tok->add_bos_default() && tok->bos_id() >= 0;
    const std::vector<int32_t> ids = tok->encode(text, add_bos);
    const int64_t avail = static_cast<int64_t>(ids.size()) / n_ctx;
    LOWBIT_REQUIRE(avail >= 1, "mixed precision: the calibration text has {} tokens, a chunk needs {}", ids.size(),
                   n_ctx);
    auto& p = *impl_;
    p.n_ctx = n_ctx;
    p.threads = threads > 0 ? threads : default_threads();
    for (int64_t i = 0; i < std::min(avail, n_chunks); ++i) {
        std::vector<int32_t> c(ids.begin() + i * n_ctx, ids.begin() + (i + 1) * n_ctx);
        if (tok->bos_id() >= 0 && add_bos) c[0] = tok->bos_id();
        p.chunks.push_back(std::move(c));
    }
    p.n_vocab = llama_config::from_model(reference).n_vocab;
    p.ref_logits.resize(p.chunks.size());
    run_chunks(reference, p, [&](int64_t c, const float* logits) {
        p.ref_logits[static_cast<size_t>(c)].assign(logits, logits + (n_ctx - 1) * p.n_vocab);
    });
}

int64_t kld_probe::n_tokens_scored() const { return static_cast<int64_t>(impl_->chunks.size()) * (impl_->n_ctx - 1); }

double kld_probe::measure(const model_data& model) const {
    const auto& p = *impl_;
    std::vector<double> sums(p.chunks.size(), 0.0);
    run_chunks(model, p, [&](int64_t c, const float* logits) {
        const auto& ref = p.ref_logits[static_cast<size_t>(c)];
        const auto& toks = p.chunks[static_cast<size_t>(c)];
        double s = 0;
        for (int64_t i = 0; i + 1 < p.n_ctx; ++i)
            s += eval::score_token_kld(logits + i * p.n_vocab, ref.data() + i * p.n_vocab, p.n_vocab,
                                       toks[static_cast<size_t>(i + 1)]).kld;
        sums[static_cast<size_t>(c)] = s;
    });
    double s = 0;
    for (double x : sums) s += x;  // chunk order: independent of thread count
    return s / double(n_tokens_scored());
}

// ---------------------------------------------------------------------------------------------
// plan

namespace {

// Rows of `t` as float.
std::vector<float> to_f32(const model_tensor& t) {
    const int64_t n = t.row_len(), rows = t.n_rows();
    std::vector<float> w(static_cast<size_t>(n * rows));
    const size_t rb = row_bytes(t.t, n);
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* src = t.bytes.data() + r * rb;
        if (t.t == type::f32) std::memcpy(w.data() + r * n, src, static_cast<size_t>(n) * sizeof(float));
        else dequantize_row(t.t, src, w.data() + r * n, n);
    }
    return w;
}

// Encodes `w` ([rows][n]) as `ty`; returns the bytes and writes ||w - Q(w)||^2 / ||w||^2.
std::vector<uint8_t> encode(const std::vector<float>& w, int64_t n, int64_t rows, type ty, int threads,
                            double& rel_err) {
    const size_t rb = row_bytes(ty, n);
    std::vector<uint8_t> out(rb * static_cast<size_t>(rows));
    std::vector<std::pair<double, double>> part(static_cast<size_t>(rows));
    parallel_for(rows, threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<float> back(static_cast<size_t>(n));
        for (int64_t r = r0; r < r1; ++r) {
            quantize_row(ty, w.data() + r * n, out.data() + r * rb, n, nullptr);
            dequantize_row(ty, out.data() + r * rb, back.data(), n);
            double e = 0, s = 0;
            for (int64_t c = 0; c < n; ++c) {
                const double x = w[static_cast<size_t>(r * n + c)];
                e += (x - back[c]) * (x - back[c]);
                s += x * x;
            }
            part[static_cast<size_t>(r)] = {e, s};
        }
    });
    double e = 0, s = 0;
    for (const auto& [a, b] : part) e += a, s += b;
    rel_err = s > 0 ? e / s : 0;
    return out;
}

std::string regex_escape(const std::string& s) {
    std::string r;
    for (char c : s) {
        if (std::strchr(".^$|()[]{}*+?\\", c)) r += '\\';
        r += c;
    }
    return r;
}

}  // namespace

std::vector<std::pair<std::string, type>> mp_plan::tensor_types() const {
    std::vector<std::pair<std::string, type>> v;
    for (const auto& t : tensors) v.emplace_back("^" + regex_escape(t.name) + "$", t.candidates[t.chosen].t);
    return v;
}

void apply_mixed_plan(const mp_plan& plan, const model_data& in, quantize_options& qo) {
    auto tt = plan.tensor_types();
    tt.insert(tt.end(), qo.tensor_types.begin(), qo.tensor_types.end());
    qo.tensor_types = std::move(tt);
    qo.pure = true;
    qo.allow_requantize = true;
    const int32_t ftype = dominant_llama_ftype(plan_quantization(in, qo));
    if (ftype >= 0) qo.metadata.emplace_back("general.file_type", gguf_value::u32(static_cast<uint32_t>(ftype)));
    qo.metadata.emplace_back("lowbit.quantize.mixed_precision", gguf_value::str(plan.measure));
}

mp_plan plan_mixed_precision(const model_data& in, const mp_options& opt) {
    const auto t0 = std::chrono::steady_clock::now();
    LOWBIT_REQUIRE(opt.target_bpw > 0 || opt.target_file_bytes > 0 || opt.max_kld >= 0,
                   "mixed precision: give a budget (--target-bpw, --target-size or --max-kld)");
    LOWBIT_REQUIRE(!opt.candidates.empty(), "mixed precision: no candidate formats");
    LOWBIT_REQUIRE(!opt.calib_text.empty(), "mixed precision: the calibration text is empty (--calib FILE)");
    const int threads = opt.threads > 0 ? opt.threads : default_threads();

    // Candidate types per tensor, resolved by the pipeline's own planner (shape fallbacks included).
    std::vector<quantize_report> plans;
    for (type c : opt.candidates) {
        quantize_options qo;
        qo.preset = type_name(c);
        qo.pure = true;
        qo.allow_requantize = true;
        qo.fallback = opt.fallback;
        plans.push_back(plan_quantization(in, qo));
    }
    mp_plan plan;
    const auto& base = plans.front();
    for (size_t i = 0; i < in.tensors.size(); ++i) {
        const auto& tp = base.tensors[i];
        plan.n_elements += static_cast<uint64_t>(in.tensors[i].n_elements());
        if (!tp.quantize) {
            plan.fixed_bytes += tp.bytes_out;
            continue;
        }
        mp_tensor mt;
        mt.name = tp.name;
        mt.shape = tp.shape;
        for (const auto& p : plans) {
            const auto& q = p.tensors[i];
            if (std::none_of(mt.candidates.begin(), mt.candidates.end(), [&](const mp_candidate& c) { return c.t == q.chosen; })) {
                mp_candidate c;
                c.t = q.chosen;
                c.bytes = q.bytes_out;
                mt.candidates.push_back(c);
            }
        }
        std::sort(mt.candidates.begin(), mt.candidates.end(),
                  [](const mp_candidate& a, const mp_candidate& b) { return a.bytes < b.bytes; });
        plan.tensors.push_back(std::move(mt));
    }
    LOWBIT_REQUIRE(!plan.tensors.empty(), "mixed precision: the model has no quantizable weights");
    // A budget below every tensor's smallest candidate cannot be met: say so before measuring anything
    // (the allocator would otherwise return the smallest assignment, far over the budget, without a word).
    uint64_t min_bytes = plan.fixed_bytes;
    for (const auto& mt : plan.tensors) min_bytes += mt.candidates.front().bytes;
    const double min_bpw = 8.0 * double(min_bytes) / double(std::max<uint64_t>(plan.n_elements, 1));
    LOWBIT_REQUIRE(opt.target_bpw <= 0 || min_bpw <= opt.target_bpw,
                   "mixed precision: --target-bpw {} cannot be met: with every tensor in its smallest candidate "
                   "format the model takes {:.4f} bits per weight; raise the target or add smaller candidates "
                   "(--mp-candidates)",
                   opt.target_bpw, min_bpw);
    LOWBIT_REQUIRE(opt.target_file_bytes == 0 || min_bytes <= opt.target_file_bytes,
                   "mixed precision: --target-size {} bytes cannot be met: with every tensor in its smallest "
                   "candidate format the tensor data alone takes {} bytes; raise the target or add smaller "
                   "candidates (--mp-candidates)",
                   opt.target_file_bytes, min_bytes);

    // Measurement mode.
    size_t n_all = 0;
    for (const auto& t : plan.tensors) n_all += t.candidates.size();
    mp_measure mode = opt.measure;
    if (mode == mp_measure::automatic)
        mode = (n_all <= 4 * plan.tensors.size() || plan.n_elements <= 20'000'000)
                   ? mp_measure::all : mp_measure::anchor;
    plan.measure = mode == mp_measure::all ? "all" : "anchor";

    // Key of the cache: calibration settings, text size and a cheap text hash, and the mode.
    uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : opt.calib_text) h = (h ^ ch) * 1099511628211ull;
    const std::string key = fmt::format("lowbit-mp-cache v1 ctx={} chunks={} text={}:{:016x} mode={}", opt.n_ctx,
                                        opt.n_chunks, opt.calib_text.size(), h, plan.measure);
    if (!opt.cache_path.empty()) {
        std::ifstream f(opt.cache_path);
        std::string line;
        std::map<std::pair<std::string, std::string>, std::tuple<double, double, int>> cached;
        if (f && std::getline(f, line) && line == key) {
            while (std::getline(f, line)) {
                std::istringstream ls(line);
                std::string name, ty;
                double rel = 0, dk = 0;
                int meas = 0;
                if (ls >> name >> ty >> rel >> dk >> meas) cached[{name, ty}] = {rel, dk, meas};
            }
            bool complete = true;
            for (const auto& mt : plan.tensors)
                for (const auto& c : mt.candidates)
                    if (!cached.count({mt.name, type_name(c.t)})) complete = false;
            if (complete) {
                for (auto& mt : plan.tensors)
                    for (auto& c : mt.candidates) {
                        const auto& [rel, dk, meas] = cached[{mt.name, type_name(c.t)}];
                        c.rel_err = rel;
                        c.dkld = dk;
                        c.measured = meas != 0;
                    }
                plan.measure += " (cached)";
            }
        }
    }
    const bool from_cache = plan.measure.find("cached") != std::string::npos;

    std::unique_ptr<kld_probe> probe_ptr;
    if (!from_cache) {
        probe_ptr = std::make_unique<kld_probe>(in, opt.calib_text, opt.n_ctx, opt.n_chunks, threads);
        plan.n_calib_tokens = probe_ptr->n_tokens_scored();
    }
    size_t done = 0;
    for (auto& mt : plan.tensors) {
        if (from_cache) break;
        const kld_probe& probe = *probe_ptr;
        if (opt.on_progress) opt.on_progress(done, plan.tensors.size(), mt.name);
        const model_tensor* src = in.find_tensor(mt.name);
        const std::vector<float> w = to_f32(*src);
        const int64_t n = src->row_len(), rows = src->n_rows();
        // The anchor: the candidate nearest 3.5 bits per weight.
        size_t anchor = 0;
        for (size_t k = 0; k < mt.candidates.size(); ++k)
            if (std::abs(traits(mt.candidates[k].t).bits_per_weight - 3.5) <
                std::abs(traits(mt.candidates[anchor].t).bits_per_weight - 3.5))
                anchor = k;
        size_t ti = 0;
        while (in.tensors[ti].name != mt.name) ++ti;
        for (size_t k = 0; k < mt.candidates.size(); ++k) {
            auto& c = mt.candidates[k];
            if (c.t == src->t) {  // the input's own values: no change
                c.rel_err = 0;
                c.dkld = 0;
                c.measured = true;
                continue;
            }
            auto bytes = std::make_shared<std::vector<uint8_t>>(encode(w, n, rows, c.t, threads, c.rel_err));
            if (mode == mp_measure::all || k == anchor) {
                model_data m = in;
                m.tensors[ti].t = c.t;
                m.tensors[ti].bytes = std::span<const uint8_t>(bytes->data(), bytes->size());
                m.keepalive.push_back(bytes);
                c.dkld = std::max(0.0, probe.measure(m));
                c.measured = true;
                ++plan.n_passes;
            }
        }
        if (mode == mp_measure::anchor) {
            const auto& a = mt.candidates[anchor];
            for (auto& c : mt.candidates)
                if (!c.measured) c.dkld = a.rel_err > 0 ? a.dkld * c.rel_err / a.rel_err : 0;
        }
        ++done;
    }
    if (opt.on_progress) opt.on_progress(plan.tensors.size(), plan.tensors.size(), "");
    if (!from_cache && !opt.cache_path.empty()) {
        const std::string tmp = opt.cache_path + ".tmp";
        {
            std::ofstream f(tmp);
            LOWBIT_REQUIRE(static_cast<bool>(f), "mixed precision: cannot write the sensitivity cache '{}'", tmp);
            f << key << "\n";
            for (const auto& mt : plan.tensors)
                for (const auto& c : mt.candidates)
                    f << mt.name << ' ' << type_name(c.t) << ' ' << fmt::format("{:.9g} {:.9g}", c.rel_err, c.dkld)
                      << ' ' << (c.measured ? 1 : 0) << "\n";
        }
        std::rename(tmp.c_str(), opt.cache_path.c_str());
    }

    // Budget for the quantizable tensors' data.
    uint64_t budget = std::numeric_limits<uint64_t>::max();
    if (opt.target_bpw > 0) {
        const double total = opt.target_bpw * double(plan.n_elements) / 8.0;
        budget = total > double(plan.fixed_bytes) ? static_cast<uint64_t>(total) - plan.fixed_bytes : 0;
    }
    uint64_t overhead = 0;
    if (opt.target_file_bytes > 0) {
        // File = data + header/metadata + alignment padding; take the header from a real plan and
        // reserve the worst-case padding (32 bytes per tensor).
        overhead = base.file_bytes - base.bytes_out + 32 * in.tensors.size() + 4096;
        const uint64_t fb = opt.target_file_bytes > overhead + plan.fixed_bytes
                                ? opt.target_file_bytes - overhead - plan.fixed_bytes : 0;
        budget = std::min(budget, fb);
    }
    plan.budget_bytes = budget;

    std::vector<mp_item> items;
    for (const auto& mt : plan.tensors) {
        mp_item it;
        for (const auto& c : mt.candidates) {
            it.bytes.push_back(c.bytes);
            it.cost.push_back(c.dkld);
        }
        items.push_back(std::move(it));
    }
    std::vector<size_t> pick = allocate_greedy(items, budget, opt.max_kld);
    if (opt.target_file_bytes > 0) {
        // The overhead above is an upper bound: measure the real file size of the choice and hand
        // any slack back to the allocator (a few rounds; keep the last choice that fits).
        auto file_bytes = [&](const std::vector<size_t>& pk) {
            quantize_options qo = opt.output;
            qo.fallback = opt.fallback;
            for (size_t i = 0; i < plan.tensors.size(); ++i) plan.tensors[i].chosen = pk[i];
            apply_mixed_plan(plan, in, qo);  // with the keys it adds, as the caller will
            return plan_quantization(in, qo).file_bytes;
        };
        uint64_t b = budget;
        uint64_t fb = file_bytes(pick);  // always the size of the current pick
        // The caller's metadata may outgrow the reserve: shrink the budget by the excess until it fits.
        for (int round = 0; round < 8 && fb > opt.target_file_bytes && b > 0; ++round) {
            b = b > fb - opt.target_file_bytes ? b - (fb - opt.target_file_bytes) : 0;
            pick = allocate_greedy(items, b, opt.max_kld);
            plan.budget_bytes = b;
            fb = file_bytes(pick);
        }
        LOWBIT_REQUIRE(fb <= opt.target_file_bytes,
                       "mixed precision: --target-size {} bytes cannot be met: the smallest choice makes a file of "
                       "{} bytes; raise the target or add smaller candidates (--mp-candidates)",
                       opt.target_file_bytes, fb);
        // Hand the slack back while the larger choice still fits.
        for (int round = 0; round < 4; ++round) {
            const uint64_t slack = opt.target_file_bytes - fb;
            if (slack < 64) break;
            std::vector<size_t> next = allocate_greedy(items, b + slack, opt.max_kld);
            if (next == pick) break;
            const uint64_t fb_next = file_bytes(next);
            if (fb_next > opt.target_file_bytes) break;
            b += slack;
            pick = std::move(next);
            plan.budget_bytes = b;
            fb = fb_next;
        }
    }
    // Mark the hull: the allocator's choice among all points is what matters for the report; record
    // which candidates are undominated (a cheaper one with lower or equal ΔKLD does not exist).
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        auto& mt = plan.tensors[i];
        mt.chosen = pick[i];
        double best = std::numeric_limits<double>::infinity();
        for (auto& c : mt.candidates) {
            c.on_hull = c.dkld < best;
            best = std::min(best, c.dkld);
        }
        plan.chosen_bytes += mt.candidates[mt.chosen].bytes;
        plan.est_kld += mt.candidates[mt.chosen].dkld;
    }
    // A KLD limit the allocator could not reach: it returns the most accurate choice (within the size
    // target, if any). (Size targets cannot be missed here: the checks before measuring and on the file.)
    if (opt.max_kld >= 0 && plan.est_kld > opt.max_kld) {
        double best = 0;
        for (const auto& mt : plan.tensors) {
            double m = std::numeric_limits<double>::infinity();
            for (const auto& c : mt.candidates) m = std::min(m, c.dkld);
            best += m;
        }
        LOWBIT_REQUIRE(best <= opt.max_kld,
                       "mixed precision: --max-kld {} cannot be met: the most accurate candidates give an estimated "
                       "KLD of {:.3g}; raise the limit or add wider candidates (--mp-candidates, e.g. f16)",
                       opt.max_kld, best);
        fail("mixed precision: --max-kld {} cannot be met within the size target: the best choice within it has "
             "an estimated KLD of {:.3g}; raise the size target or the limit",
             opt.max_kld, plan.est_kld);
    }
    plan.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return plan;
}

std::string format_mp_report(const mp_plan& p) {
    std::string s;
    s += fmt::format("mixed precision: {} tensors, sensitivity mode '{}' ({} calibration passes over {} scored "
                     "tokens, {:.1f} s)\n",
                     p.tensors.size(), p.measure, p.n_passes, p.n_calib_tokens, p.seconds);
    s += fmt::format("{:<28} {:>8} {:>10} {:>12}  candidates (type bytes ΔKLD; * = measured, > = chosen)\n",
                     "tensor", "chosen", "bytes", "ΔKLD");
    for (const auto& t : p.tensors) {
        const auto& c = t.candidates[t.chosen];
        s += fmt::format("{:<28} {:>8} {:>10} {:>12.3e} ", t.name, type_name(c.t), c.bytes, c.dkld);
        for (size_t k = 0; k < t.candidates.size(); ++k) {
            const auto& x = t.candidates[k];
            s += fmt::format(" {}{}{} {} {:.2e}", k == t.chosen ? ">" : "", type_name(x.t), x.measured ? "*" : "",
                             x.bytes, x.dkld);
        }
        s += "\n";
    }
    const double bpw = p.n_elements ? 8.0 * double(p.chosen_bytes + p.fixed_bytes) / double(p.n_elements) : 0;
    s += fmt::format("chosen: {} bytes of quantized weights + {} kept = {:.4f} bits per weight; estimated KLD "
                     "(sum of ΔKLD) {:.5f}\n",
                     p.chosen_bytes, p.fixed_bytes, bpw, p.est_kld);
    return s;
}

std::string mp_report_json(const mp_plan& p) {
    std::string s = "{";
    s += fmt::format("\"measure\":\"{}\",\"passes\":{},\"calib_tokens\":{},\"seconds\":{:.3f},", p.measure, p.n_passes,
                     p.n_calib_tokens, p.seconds);
    s += fmt::format("\"budget_bytes\":{},\"fixed_bytes\":{},\"chosen_bytes\":{},\"est_kld\":{:.6g},\"tensors\":[",
                     p.budget_bytes == std::numeric_limits<uint64_t>::max() ? 0 : p.budget_bytes, p.fixed_bytes,
                     p.chosen_bytes, p.est_kld);
    for (size_t i = 0; i < p.tensors.size(); ++i) {
        const auto& t = p.tensors[i];
        s += fmt::format("{}{{\"name\":\"{}\",\"chosen\":\"{}\",\"candidates\":[", i ? "," : "", t.name,
                         type_name(t.candidates[t.chosen].t));
        for (size_t k = 0; k < t.candidates.size(); ++k) {
            const auto& c = t.candidates[k];
            s += fmt::format("{}{{\"type\":\"{}\",\"bytes\":{},\"rel_err\":{:.6g},\"dkld\":{:.6g},\"measured\":{}}}",
                             k ? "," : "", type_name(c.t), c.bytes, c.rel_err, c.dkld, c.measured ? "true" : "false");
        }
        s += "]}";
    }
    s += "]}";
    return s;
}

}  // namespace lowbit
