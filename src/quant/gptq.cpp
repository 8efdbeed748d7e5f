// GPTQ for lowbit's INT formats; algorithm and conventions in gptq.hpp.
#include "quant/gptq.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "quant/gptq_blocks.hpp"
#include "quant/int_grid.hpp"

namespace lowbit {
namespace {

// In-place lower Cholesky factor of a: [n][n] (a = L L^T; the upper triangle is left as is).
// Returns false if a is not positive definite.
bool cholesky_lower(std::vector<double>& a, int64_t n) {
    for (int64_t j = 0; j < n; ++j) {
        double s = a[j * n + j];
        for (int64_t k = 0; k < j; ++k) s -= a[j * n + k] * a[j * n + k];
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        const double ljj = std::sqrt(s);
        a[j * n + j] = ljj;
        for (int64_t i = j + 1; i < n; ++i) {
            double t = a[i * n + j];
            const double* ai = &a[i * n];
            const double* aj = &a[j * n];
            for (int64_t k = 0; k < j; ++k) t -= ai[k] * aj[k];
            a[i * n + j] = t / ljj;
        }
    }
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = 0.0;
    return true;
}

// U (upper, U^T U = H^-1) for a positive definite h: [n][n]. Returns false if h is not PD.
bool upper_cholesky_of_inverse(std::vector<double> h, int64_t n, std::vector<double>& u) {
    if (!cholesky_lower(h, n)) return false;
    // Linv = L^-1 (lower), by forward substitution column by column.
    std::vector<double> li(static_cast<size_t>(n * n), 0.0);
    for (int64_t j = 0; j < n; ++j) {
        li[j * n + j] = 1.0 / h[j * n + j];
        for (int64_t i = j + 1; i < n; ++i) {
            double s = 0.0;
            for (int64_t k = j; k < i; ++k) s -= h[i * n + k] * li[k * n + j];
            li[i * n + j] = s / h[i * n + i];
        }
    }
    // H^-1 = Linv^T Linv.
    std::vector<double> hinv(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j <= i; ++j) {
            double s = 0.0;
            for (int64_t k = i; k < n; ++k) s += li[k * n + i] * li[k * n + j];
            hinv[i * n + j] = hinv[j * n + i] = s;
        }
    if (!cholesky_lower(hinv, n)) return false;
    u.assign(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j <= i; ++j) u[j * n + i] = hinv[i * n + j];
    return true;
}

}  // namespace

bool gptq_supports(type t) { return int_spec_of(t).has_value() || gptq_blocks_supports(t); }

void hessian_accumulate(std::vector<double>& h, const float* x, int64_t n_tokens, int64_t n, int threads) {
    if (h.size() != static_cast<size_t>(n * n)) h.assign(static_cast<size_t>(n * n), 0.0);
    parallel_for(n, threads, [&](int64_t i0, int64_t i1, int) {
        std::vector<float> acc(static_cast<size_t>(n));
        for (int64_t i = i0; i < i1; ++i) {
            for (int64_t t0 = 0; t0 < n_tokens; t0 += 256) {
                std::fill(acc.begin(), acc.end(), 0.0f);
                const int64_t t1 = std::min(n_tokens, t0 + 256);
                for (int64_t t = t0; t < t1; ++t) {
                    const float* xt = x + t * n;
                    const float xi = xt[i];
                    if (xi == 0.0f) continue;
                    for (int64_t j = 0; j < n; ++j) acc[j] += xi * xt[j];
                }
                double* hi = &h[static_cast<size_t>(i * n)];
                for (int64_t j = 0; j < n; ++j) hi[j] += acc[j];
            }
        }
    });
}

gptq_prepared gptq_prepare(std::span<const double> h, int64_t n, const gptq_options& opt) {
    LOWBIT_REQUIRE(h.size() == static_cast<size_t>(n * n), "gptq: Hessian has {} values, expected {} x {}",
                   h.size(), n, n);
    gptq_prepared P;
    // Dead inputs (never active): their weights cannot matter; zero them like the reference.
    std::vector<double> hd(h.begin(), h.end());
    std::vector<bool>& dead = P.dead;
    dead.assign(static_cast<size_t>(n), false);
    for (int64_t i = 0; i < n; ++i)
        if (!(hd[i * n + i] > 0.0)) {
            dead[i] = true;
            hd[i * n + i] = 1.0;
        }
    std::vector<int64_t>& perm = P.perm;
    std::vector<int64_t>& inv = P.inv;
    perm.resize(static_cast<size_t>(n));
    inv.resize(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    if (opt.act_order)
        std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return hd[a * n + a] > hd[b * n + b]; });
    for (int64_t a = 0; a < n; ++a) inv[perm[a]] = a;
    std::vector<double> hp(static_cast<size_t>(n * n));
    double mean_diag = 0.0;
    for (int64_t a = 0; a < n; ++a) {
        for (int64_t b = 0; b < n; ++b) hp[a * n + b] = hd[perm[a] * n + perm[b]];
        mean_diag += hp[a * n + a];
    }
    mean_diag /= double(n);
    std::vector<double>& u = P.u;
    double damp = opt.damp;
    for (int attempt = 0;; ++attempt) {
        std::vector<double> hh = hp;
        for (int64_t a = 0; a < n; ++a) hh[a * n + a] += damp * mean_diag;
        if (upper_cholesky_of_inverse(std::move(hh), n, u)) break;
        LOWBIT_REQUIRE(attempt < 6, "gptq: the Hessian stays singular with dampening {}", damp);
        damp = std::max(damp * 10.0, 1e-6);
    }

    std::vector<double>& hdiag = P.hdiag;  // by permuted column, damped
    hdiag.resize(static_cast<size_t>(n));
    for (int64_t a = 0; a < n; ++a) hdiag[a] = hp[a * n + a] + damp * mean_diag;
    P.mean_diag = mean_diag + damp * mean_diag;
    if (opt.refine_sweeps > 0) {
        P.h = std::move(hp);
        for (int64_t a = 0; a < n; ++a) P.h[a * n + a] = hdiag[a];
    }
    return P;
}

std::vector<uint8_t> gptq_quantize(type t, const float* w, int64_t rows, int64_t n, std::span<const double> h,
                                   const gptq_options& opt) {
    const auto spec_opt = int_spec_of(t);
    if (!spec_opt) return gptq_quantize_blocks(t, w, rows, n, h, opt);
    const int_spec spec = *spec_opt;
    const int64_t G = spec.group_len(n), n_groups = (n + G - 1) / G;
    const int64_t B = std::max<int64_t>(1, opt.block_size);

    const gptq_prepared P = gptq_prepare(h, n, opt);
    const auto& dead = P.dead;
    const auto& perm = P.perm;
    const auto& inv = P.inv;
    const auto& u = P.u;
    const auto& hdiag = P.hdiag;
    const size_t out_row = row_bytes(t, n);
    std::vector<uint8_t> out(static_cast<size_t>(rows) * out_row);
    parallel_for(rows, opt.threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<double> wp(static_cast<size_t>(n)), err(static_cast<size_t>(B));
        std::vector<int_grid> grids(static_cast<size_t>(n_groups));
        std::vector<bool> have(static_cast<size_t>(n_groups));
        std::vector<int> codes(static_cast<size_t>(n));
        std::vector<float> gv(static_cast<size_t>(G)), gc(static_cast<size_t>(G));
        std::vector<double> ce, cg;
        for (int64_t r = r0; r < r1; ++r) {
            const float* wr = w + r * n;
            for (int64_t a = 0; a < n; ++a) wp[a] = dead[perm[a]] ? 0.0 : double(wr[perm[a]]);
            std::fill(have.begin(), have.end(), false);
            for (int64_t i1 = 0; i1 < n; i1 += B) {
                const int64_t i2 = std::min(n, i1 + B);
                for (int64_t a = i1; a < i2; ++a) {
                    const int64_t col = perm[a], gi = col / G;
                    if (!have[gi]) {
                        // The group's current weights: in-block columns are up to date, later ones
                        // still owe this block's lazy update.
                        const int64_t c0 = gi * G, nv = std::min(G, n - c0);
                        for (int64_t c = c0; c < c0 + nv; ++c) {
                            const int64_t pa = inv[c];
                            double v = wp[pa];
                            if (pa >= i2)
                                for (int64_t k = i1; k < a; ++k) v -= err[k - i1] * u[k * n + pa];
                            gv[c - c0] = static_cast<float>(v);
                        }
                        grids[gi] = int_grid_rtn(spec, gv.data(), nv);
                        if (opt.n_grid > 0) {
                            auto werr = [&](const int_grid& g) {
                                double e = 0.0;
                                for (int64_t c = 0; c < nv; ++c) {
                                    const double d = double(gv[c]) - int_value(spec, g, int_code(spec, g, gv[c]));
                                    e += hdiag[inv[c0 + c]] * d * d;
                                }
                                return e;
                            };
                            double best = werr(grids[gi]);
                            for (int k = 1; k <= opt.n_grid; ++k) {
                                const float f = static_cast<float>(1.0 - opt.max_shrink * k / opt.n_grid);
                                for (int64_t c = 0; c < nv; ++c) gc[c] = gv[c] * f;
                                const int_grid g = int_grid_rtn(spec, gc.data(), nv);
                                const double e = werr(g);
                                if (e < best) {
                                    best = e;
                                    grids[gi] = g;
                                }
                            }
                        }
                        have[gi] = true;
                    }
                    const float x = static_cast<float>(wp[a]);
                    const int q = int_code(spec, grids[gi], x);
                    codes[col] = q;
                    const double e = (wp[a] - double(int_value(spec, grids[gi], q))) / u[a * n + a];
                    err[a - i1] = e;
                    const double* ua = &u[a * n];
                    for (int64_t j = a + 1; j < i2; ++j) wp[j] -= e * ua[j];
                }
                for (int64_t k = i1; k < i2; ++k) {
                    const double e = err[k - i1];
                    const double* uk = &u[k * n];
                    for (int64_t j = i2; j < n; ++j) wp[j] -= e * uk[j];
                }
            }
            if (!P.h.empty())
                gptq_refine_row(P, opt.refine_sweeps, wr, codes.data(), spec.qmin(), spec.qmax(),
                                [&](int64_t col, int k) { return int_value(spec, grids[col / G], k); }, ce, cg);
            int_pack_row(spec, grids.data(), codes.data(), n, out.data() + r * out_row);
        }
    });
    return out;
}

}  // namespace lowbit
