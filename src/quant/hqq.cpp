// HQQ for lowbit's INT formats; see hqq.hpp.
#include "quant/hqq.hpp"

#include <algorithm>
#include <cmath>

#include "core/parallel.hpp"
#include "lowbit/error.hpp"
#include "quant/int_grid.hpp"

namespace lowbit {
namespace {

double lp_error(const int_spec& s, const int_grid& g, const float* x, int64_t nv, double p) {
    double e = 0.0;
    for (int64_t i = 0; i < nv; ++i) e += std::pow(std::fabs(double(x[i]) - int_value(s, g, int_code(s, g, x[i]))), p);
    return e;
}

int_grid fit_group(const int_spec& s, const float* x, int64_t nv, const hqq_options& o, std::vector<double>& e,
                   std::vector<int>& u) {
    const int_grid g0 = int_grid_rtn(s, x, nv);
    if (!(g0.d > 0.0f) || nv == 0) return g0;
    int_grid best = g0;
    double best_err = lp_error(s, g0, x, nv, o.p);
    const double unit = g0.d;  // errors in units of the initial step
    double d = g0.d, m = g0.m, beta = o.beta;
    for (int it = 0; it < o.iters; ++it) {
        const int_grid cur{static_cast<float>(d), static_cast<float>(m)};
        for (int64_t i = 0; i < nv; ++i) {
            u[i] = int_code(s, cur, x[i]);
            const double r = (double(x[i]) - (d * u[i] + m)) / unit;
            const double a = std::fabs(r);
            const double shr = a > 0 ? std::max(0.0, a - std::pow(a, o.p - 1.0) / beta) : 0.0;
            e[i] = (r < 0 ? -shr : shr) * unit;
        }
        // Fit (d, m) or m (or d, symmetric) to the targets t_i = x_i - e_i.
        double su = 0, suu = 0, st = 0, sut = 0;
        for (int64_t i = 0; i < nv; ++i) {
            const double t = double(x[i]) - e[i];
            su += u[i];
            suu += double(u[i]) * u[i];
            st += t;
            sut += u[i] * t;
        }
        const double N = double(nv);
        if (!s.asym) {
            if (suu > 0) d = sut / suu;
        } else if (o.fit_scale) {
            const double det = N * suu - su * su;
            if (det > 1e-12 * N * suu) {
                const double dn = (N * sut - su * st) / det;
                if (dn > 0) {
                    d = dn;
                    m = (st - d * su) / N;
                }
            } else {
                m = (st - d * su) / N;
            }
        } else {
            m = (st - d * su) / N;
        }
        beta *= o.kappa;
        const int_grid gr = int_grid_round(s, static_cast<float>(d), static_cast<float>(m));
        if (!(gr.d > 0.0f)) break;
        const double err = lp_error(s, gr, x, nv, o.p);
        if (err < best_err) {
            best_err = err;
            best = gr;
        }
    }
    return best;
}

}  // namespace

bool hqq_supports(type t) { return int_spec_of(t).has_value(); }

std::vector<uint8_t> hqq_quantize(type t, const float* w, int64_t rows, int64_t n, const hqq_options& opt) {
    const auto spec_opt = int_spec_of(t);
    LOWBIT_REQUIRE(spec_opt.has_value(), "hqq: type {} is not supported (lowbit INT formats only: int4_g64_asym, "
                   "int3_g32, ...)", type_name(t));
    LOWBIT_REQUIRE(opt.p > 0.0f && opt.p <= 2.0f && opt.beta > 0.0f && opt.kappa >= 1.0f && opt.iters >= 0,
                   "hqq: invalid options p={} beta={} kappa={} iters={}", opt.p, opt.beta, opt.kappa, opt.iters);
    const int_spec s = *spec_opt;
    const int64_t G = s.group_len(n), ng = (n + G - 1) / G;
    const size_t out_row = row_bytes(t, n);
    std::vector<uint8_t> out(static_cast<size_t>(rows) * out_row);
    parallel_for(rows, opt.threads, [&](int64_t r0, int64_t r1, int) {
        std::vector<double> e(static_cast<size_t>(G));
        std::vector<int> u(static_cast<size_t>(G)), codes(static_cast<size_t>(n));
        std::vector<int_grid> grids(static_cast<size_t>(ng));
        for (int64_t r = r0; r < r1; ++r) {
            const float* x = w + r * n;
            for (int64_t gi = 0; gi < ng; ++gi) {
                const int64_t c0 = gi * G, nv = std::min(G, n - c0);
                grids[gi] = fit_group(s, x + c0, nv, opt, e, u);
                for (int64_t i = 0; i < nv; ++i) codes[c0 + i] = int_code(s, grids[gi], x[c0 + i]);
            }
            int_pack_row(s, grids.data(), codes.data(), n, out.data() + r * out_row);
        }
    });
    return out;
}

}  // namespace lowbit
