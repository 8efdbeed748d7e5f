#include "eval/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "lowbit/types.hpp"

namespace lowbit::eval {

namespace {

using json = nlohmann::json;

double num(const json& j, const char* key, double fallback = 0) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string human_bytes(double b) {
    if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
    if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
    if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
    return fmt::format("{:.0f} B", b);
}

std::string fmt_g(double v) {
    if (v == 0) return "0";
    const double a = std::fabs(v);
    if (a >= 1000) return fmt::format("{:.0f}", v);
    if (a >= 1) return fmt::format("{:.3f}", v);
    if (a >= 1e-3) return fmt::format("{:.4f}", v);
    return fmt::format("{:.2e}", v);
}

// One sweep point's figures, aggregated over files (token-weighted).
struct point_view {
    std::string label, type, method;
    double size = 0, bpw = 0, kld = 0, top1 = 0, ppl_ratio = 0;
    double q_seconds = 0, q_mbps = 0, pp_tps = 0, tg_tps = 0, rss = 0, model_bytes = 0;
    bool has_kld = false;
};

point_view view_of(const json& p, bool show_method) {
    point_view v;
    v.type = str(p, "type");
    v.method = str(p, "method");
    v.label = show_method ? v.type + "/" + v.method : v.type;
    const json& q = p.value("quantize", json::object());
    const json& e = p.value("eval", json::object());
    v.size = num(q, "file_bytes");
    v.bpw = num(q, "bits_per_weight");
    v.q_seconds = num(q, "seconds");
    v.q_mbps = num(q, "mb_per_s");
    v.pp_tps = num(e, "prompt_tokens_per_s");
    v.tg_tps = num(e, "gen_tokens_per_s");
    v.rss = num(e, "peak_rss_bytes");
    if (auto m = e.find("model"); m != e.end()) v.model_bytes = num(*m, "bytes");
    double w = 0, kld = 0, top1 = 0, ratio = 0;
    for (const auto& f : e.value("files", json::array())) {
        if (!f.contains("kld")) continue;
        const double n = std::max(1.0, num(f, "scored_tokens", 1));
        w += n;
        kld += n * num(f["kld"], "mean");
        top1 += n * num(f["top1"], "mean");
        ratio += n * num(f, "ppl_ratio");
    }
    if (w > 0) {
        v.has_kld = true;
        v.kld = kld / w;
        v.top1 = top1 / w;
        v.ppl_ratio = ratio / w;
    }
    return v;
}

// "Nice" tick values covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
    std::vector<double> t;
    if (!(hi > lo)) return {lo};
    const double raw = (hi - lo) / target;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) {
            step = m * mag;
            break;
        }
    for (double x = std::ceil(lo / step) * step; x <= hi + step * 1e-9; x += step) t.push_back(x);
    return t;
}

// Fill color for a tensor type: greys for float types, a hue from red (about 2 bits) to blue
// (8 bits and more) for quantized ones.
std::string type_color(const std::string& name) {
    const auto t = type_from_name(name);
    if (!t) return "#dddddd";
    const double bpw = traits(*t).bits_per_weight;
    if (*t == type::f32) return "#bdbdbd";
    if (*t == type::f16 || *t == type::bf16) return "#d9d9d9";
    const double f = std::clamp((bpw - 1.5) / (8.5 - 1.5), 0.0, 1.0);
    return fmt::format("hsl({:.0f},70%,72%)", f * 230.0);
}

std::string svg_pareto(const std::vector<point_view>& pts) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < pts.size(); ++i)
        if (pts[i].has_kld && pts[i].size > 0) idx.push_back(i);
    if (idx.empty()) return "<p>No KL divergence figures (no reference): nothing to plot.</p>\n";
    const double W = 760, H = 430, ml = 78, mr = 140, mt = 24, mb = 56;
    const double pw = W - ml - mr, ph = H - mt - mb;
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (size_t i : idx) {
        xmin = std::min(xmin, pts[i].size);
        xmax = std::max(xmax, pts[i].size);
        ymin = std::min(ymin, pts[i].kld);
        ymax = std::max(ymax, pts[i].kld);
    }
    const double xr = std::max(xmax - xmin, xmax * 0.05);
    xmin = std::max(0.0, xmin - 0.08 * xr);
    xmax = xmax + 0.08 * xr;
    const bool logy = ymin > 0 && ymax / ymin > 10;
    double y0, y1;
    if (logy) {
        y0 = std::floor(std::log10(ymin));
        y1 = std::ceil(std::log10(ymax));
        if (y1 <= y0) y1 = y0 + 1;
    } else {
        y0 = 0;
        y1 = ymax > 0 ? ymax * 1.12 : 1;
    }
    auto X = [&](double x) { return ml + (x - xmin) / (xmax - xmin) * pw; };
    auto Y = [&](double y) {
        const double v = logy ? std::log10(std::max(y, 1e-300)) : y;
        return mt + ph - (v - y0) / (y1 - y0) * ph;
    };
    std::string s = fmt::format(
        "<svg id=\"pareto\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
        "viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"size versus KL divergence\">\n",
        W, H, W, H);
    s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#fafafa\" "
                     "stroke=\"#888\"/>\n",
                     ml, mt, pw, ph);
    // axes and grid
    for (double x : nice_ticks(xmin, xmax)) {
        s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#e3e3e3\"/>"
                         "<text class=\"tick\" x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
                         X(x), mt, mt + ph, mt + ph + 16, html_escape(human_bytes(x)));
    }
    if (logy) {
        for (double e = y0; e <= y1 + 1e-9; e += 1)
            s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#e3e3e3\"/>"
                             "<text class=\"tick\" x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">1e{5:.0f}</text>\n",
                             ml, ml + pw, Y(std::pow(10.0, e)), ml - 6, Y(std::pow(10.0, e)) + 4, e);
    } else {
        for (double y : nice_ticks(y0, y1))
            s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#e3e3e3\"/>"
                             "<text class=\"tick\" x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                             ml, ml + pw, Y(y), ml - 6, Y(y) + 4, html_escape(fmt_g(y)));
    }
    s += fmt::format("<text class=\"axis\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">file size</text>\n",
                     ml + pw / 2, H - 12);
    s += fmt::format("<text class=\"axis\" transform=\"translate(18 {:.1f}) rotate(-90)\" text-anchor=\"middle\">"
                     "mean KL divergence vs reference{}</text>\n",
                     mt + ph / 2, logy ? " (log)" : "");
    // Pareto front
    std::vector<std::pair<double, double>> xy;
    for (size_t i : idx) xy.emplace_back(pts[i].size, pts[i].kld);
    const auto front = pareto_front(xy);
    std::set<size_t> on_front;
    std::string poly;
    for (size_t k : front) {
        on_front.insert(idx[k]);
        poly += fmt::format("{:.1f},{:.1f} ", X(pts[idx[k]].size), Y(pts[idx[k]].kld));
    }
    if (!poly.empty()) poly.pop_back();
    s += fmt::format("<polyline class=\"front\" points=\"{}\" fill=\"none\" stroke=\"#d62728\" "
                     "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
                     poly);
    // Labels right of their point, moved down/up past labels they would overlap (12 px per line,
    // ~7 px per character).
    std::vector<std::pair<double, double>> lab(pts.size());
    std::vector<size_t> placed;
    for (size_t i : idx) {
        double lx = X(pts[i].size) + 9, ly = Y(pts[i].kld) - 7;
        const double w = 7.0 * double(pts[i].label.size());
        for (int attempt = 0; attempt < 8; ++attempt) {
            bool clash = false;
            for (size_t k : placed) {
                const double kw = 7.0 * double(pts[k].label.size());
                if (std::fabs(lab[k].second - ly) < 13 && lx < lab[k].first + kw && lab[k].first < lx + w) {
                    ly = lab[k].second + 14;
                    clash = true;
                }
            }
            if (!clash) break;
        }
        lab[i] = {lx, ly};
        placed.push_back(i);
    }
    for (size_t i : idx) {
        const auto& p = pts[i];
        const bool f = on_front.count(i) > 0;
        s += fmt::format("<g class=\"pt\"><circle class=\"point{}\" data-label=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" "
                         "r=\"6\" fill=\"{}\" stroke=\"#333\"><title>{}: {} ({:.3f} bpw), KLD {}</title></circle>"
                         "<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text></g>\n",
                         f ? " on-front" : "", html_escape(p.label), X(p.size), Y(p.kld),
                         f ? "#d62728" : "#1f77b4", html_escape(p.label), html_escape(human_bytes(p.size)), p.bpw,
                         html_escape(fmt_g(p.kld)), lab[i].first, lab[i].second, html_escape(p.label));
    }
    // legend
    s += fmt::format("<g class=\"legend\"><circle cx=\"{0:.1f}\" cy=\"{1:.1f}\" r=\"6\" fill=\"#d62728\" stroke=\"#333\"/>"
                     "<text x=\"{2:.1f}\" y=\"{3:.1f}\">Pareto front</text>"
                     "<circle cx=\"{0:.1f}\" cy=\"{4:.1f}\" r=\"6\" fill=\"#1f77b4\" stroke=\"#333\"/>"
                     "<text x=\"{2:.1f}\" y=\"{5:.1f}\">dominated</text></g>\n",
                     ml + pw + 22, mt + 14, ml + pw + 34, mt + 18, mt + 36, mt + 40);
    s += "</svg>\n";
    return s;
}

std::string table_row(const std::vector<std::string>& cells, bool header = false) {
    std::string s = "<tr>";
    for (const auto& c : cells) s += (header ? "<th>" : "<td>") + c + (header ? "</th>" : "</td>");
    return s + "</tr>\n";
}

// Tensor name -> (layer or -1, kind): "blk.3.attn_q.weight" -> (3, "attn_q").
std::pair<int, std::string> split_tensor_name(const std::string& name) {
    std::string n = name;
    if (n.size() > 7 && n.compare(n.size() - 7, 7, ".weight") == 0) n.resize(n.size() - 7);
    if (n.rfind("blk.", 0) == 0) {
        const auto dot = n.find('.', 4);
        if (dot != std::string::npos) {
            try {
                return {std::stoi(n.substr(4, dot - 4)), n.substr(dot + 1)};
            } catch (...) {
            }
        }
    }
    return {-1, n};
}

std::string precision_map(const json& p, const std::string& label) {
    const json& ts = p.value("quantize", json::object()).value("tensors", json::array());
    std::vector<std::string> kinds, globals;
    std::map<std::pair<int, std::string>, const json*> cell;
    int n_layers = 0;
    std::set<std::string> types;
    for (const auto& t : ts) {
        const auto [layer, kind] = split_tensor_name(str(t, "name"));
        if (layer >= 0) {
            if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
            n_layers = std::max(n_layers, layer + 1);
        } else {
            globals.push_back(kind);
        }
        cell[{layer, kind}] = &t;
        types.insert(str(t, "type"));
    }
    auto td = [&](const json* t) {
        if (!t) return std::string("<td class=\"none\"></td>");
        const std::string ty = str(*t, "type");
        std::string shape;
        for (const auto& d : t->value("shape", json::array())) {
            if (!shape.empty()) shape += 'x';  // not ("x" + dump()): GCC 12 warns -Wrestrict there (bug 105329)
            shape += d.dump();
        }
        return fmt::format("<td style=\"background:{}\" title=\"{} [{}]: {} ({})\">{}{}</td>", type_color(ty),
                           html_escape(str(*t, "name")), shape, html_escape(ty), html_escape(str(*t, "reason")),
                           html_escape(ty), t->value("fallback", false) ? "*" : "");
    };
    std::string s = fmt::format("<div class=\"pmap-block\"><h3>{}</h3>\n<table class=\"pmap\" data-point=\"{}\">\n",
                                html_escape(label), html_escape(label));
    std::vector<std::string> head = {"layer"};
    for (const auto& k : kinds) head.push_back(html_escape(k));
    s += table_row(head, true);
    for (int l = 0; l < n_layers; ++l) {
        s += fmt::format("<tr><th>{}</th>", l);
        for (const auto& k : kinds) {
            auto it = cell.find({l, k});
            s += td(it == cell.end() ? nullptr : it->second);
        }
        s += "</tr>\n";
    }
    s += "</table>\n";
    if (!globals.empty()) {
        s += "<table class=\"pmap globals\">\n";
        std::vector<std::string> gh;
        for (const auto& g : globals) gh.push_back(html_escape(g));
        s += table_row(gh, true) + "<tr>";
        for (const auto& g : globals) s += td(cell[{-1, g}]);
        s += "</tr>\n</table>\n";
    }
    s += "<p class=\"legend\">";
    for (const auto& t : types)
        s += fmt::format("<span class=\"swatch\" style=\"background:{}\">{}</span> ", type_color(t), html_escape(t));
    s += "&nbsp; * = shape fallback</p></div>\n";
    return s;
}

constexpr const char* k_style = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
table.pmap td{text-align:center;font:12px monospace;min-width:52px}
.swatch{display:inline-block;padding:1px 6px;border:1px solid #999;font:12px monospace}
.ctx td{text-align:left}.tick{font-size:11px;fill:#555}.axis{font-size:13px;fill:#222}
.label{font-size:12px;fill:#111}.legend text{font-size:12px}.muted{color:#777}
.pmaps{display:flex;flex-wrap:wrap;gap:18px}
)";

}  // namespace

std::string html_escape(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&#39;"; break;
            default: o += c;
        }
    }
    return o;
}

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& pts) {
    std::vector<size_t> front;
    for (size_t i = 0; i < pts.size(); ++i) {
        bool dominated = false;
        for (size_t j = 0; j < pts.size() && !dominated; ++j) {
            if (j == i) continue;
            const bool le = pts[j].first <= pts[i].first && pts[j].second <= pts[i].second;
            const bool lt = pts[j].first < pts[i].first || pts[j].second < pts[i].second;
            dominated = le && lt;
        }
        if (!dominated) front.push_back(i);
    }
    std::sort(front.begin(), front.end(), [&](size_t a, size_t b) {
        return pts[a].first != pts[b].first ? pts[a].first < pts[b].first : a < b;
    });
    return front;
}

std::string render_html_report(const json& j) {
    const json& ctx = j.value("context", json::object());
    const json& points = j.value("points", json::array());
    std::set<std::string> methods;
    for (const auto& p : points) methods.insert(str(p, "method"));
    const bool show_method = methods.size() > 1;
    std::vector<point_view> pv;
    for (const auto& p : points) pv.push_back(view_of(p, show_method));
    const json& ref = j.value("reference", json::object());
    const json& ref_eval = j.value("reference_eval", json::object());

    std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    s += "<title>lowbit sweep: " + html_escape(j.value("model", std::string())) + "</title>\n";
    s += std::string("<style>") + k_style + "</style></head><body>\n";
    s += "<h1>lowbit sweep report</h1>\n";
    s += "<p>model <code>" + html_escape(j.value("model", std::string())) + "</code>, reference <code>" +
         html_escape(str(ref, "path")) + "</code> (" + html_escape(human_bytes(num(ref, "bytes"))) + ", " +
         fmt::format("{:.2f}", num(ref, "bits_per_weight")) + " bpw)</p>\n";
    s += "<table class=\"ctx\">\n";
    for (const char* k : {"host", "cpu", "threads", "version", "isa", "commit", "date"}) {
        auto it = ctx.find(k);
        std::string v = it == ctx.end() ? "" : it->is_string() ? it->get<std::string>() : it->dump();
        s += table_row({k, html_escape(v.empty() ? "-" : v)});
    }
    s += fmt::format("<tr><td>protocol</td><td>{}, n_ctx {}</td></tr>\n", html_escape(str(ref_eval, "protocol")),
                     num(ref_eval, "n_ctx"));
    s += "</table>\n";

    s += "<h2>Summary</h2>\n<table id=\"summary\">\n";
    s += table_row({"point", "file size", "bits/weight", "mean KLD", "top-1", "PPL ratio"}, true);
    for (const auto& p : pv)
        s += table_row({html_escape(p.label), html_escape(human_bytes(p.size)), fmt::format("{:.3f}", p.bpw),
                        p.has_kld ? html_escape(fmt_g(p.kld)) : "-",
                        p.has_kld ? fmt::format("{:.2f}%", 100 * p.top1) : "-",
                        p.has_kld ? fmt::format("{:.4f}", p.ppl_ratio) : "-"});
    s += "</table>\n";

    s += "<h2>Size vs KL divergence</h2>\n";
    s += svg_pareto(pv);
    s += "<p class=\"muted\">KLD: token-weighted mean over all text files, KL(reference || quantized). The dashed "
         "line joins the Pareto front: no other point is both smaller and closer to the reference.</p>\n";

    s += "<h2>Per-tensor precision</h2>\n<div class=\"pmaps\">\n";
    for (size_t i = 0; i < points.size(); ++i) s += precision_map(points[i], pv[i].label);
    s += "</div>\n";

    s += "<h2>Speed and memory</h2>\n<table id=\"speed\">\n";
    s += table_row({"point", "quantize s", "quantize MB/s", "prompt tok/s", "gen tok/s", "tensor bytes",
                    "peak RSS (process)"},
                   true);
    s += table_row({"reference", "-", "-", fmt::format("{:.0f}", num(ref_eval, "prompt_tokens_per_s")),
                    num(ref_eval, "gen_tokens_per_s") > 0 ? fmt::format("{:.0f}", num(ref_eval, "gen_tokens_per_s"))
                                                          : "-",
                    html_escape(human_bytes(num(ref, "bytes"))),
                    html_escape(human_bytes(num(ref_eval, "peak_rss_bytes")))});
    for (const auto& p : pv)
        s += table_row({html_escape(p.label), fmt::format("{:.3f}", p.q_seconds), fmt::format("{:.1f}", p.q_mbps),
                        fmt::format("{:.0f}", p.pp_tps), p.tg_tps > 0 ? fmt::format("{:.0f}", p.tg_tps) : "-",
                        html_escape(human_bytes(p.model_bytes)), html_escape(human_bytes(p.rss))});
    s += "</table>\n<p class=\"muted\">Peak RSS is the sweep process's high-water mark so far (all points run in one "
         "process), not one model's footprint.</p>\n";

    s += "<h2>Per file</h2>\n";
    std::vector<std::string> files;
    for (const auto& f : ref_eval.value("files", json::array())) files.push_back(str(f, "path"));
    for (size_t fi = 0; fi < files.size(); ++fi) {
        s += "<h3>" + html_escape(files[fi]) + "</h3>\n<table class=\"perfile\">\n";
        s += table_row({"point", "PPL", "PPL ratio", "KLD mean", "KLD median", "KLD p99", "top-1", "RMS Δp",
                        "scored tokens"},
                       true);
        const json& rf = ref_eval["files"][fi];
        s += table_row({"reference", fmt::format("{:.4f} ± {:.4f}", num(rf, "ppl"), num(rf, "ppl_se")), "1", "-",
                        "-", "-", "-", "-", fmt::format("{:.0f}", num(rf, "scored_tokens"))});
        for (size_t i = 0; i < points.size(); ++i) {
            const json& fs = points[i].value("eval", json::object()).value("files", json::array());
            if (fi >= fs.size()) continue;
            const json& f = fs[fi];
            const bool k = f.contains("kld");
            s += table_row({html_escape(pv[i].label), fmt::format("{:.4f} ± {:.4f}", num(f, "ppl"), num(f, "ppl_se")),
                            k ? fmt::format("{:.4f}", num(f, "ppl_ratio")) : "-",
                            k ? html_escape(fmt_g(num(f["kld"], "mean"))) : "-",
                            k ? html_escape(fmt_g(num(f["kld"], "median"))) : "-",
                            k ? html_escape(fmt_g(num(f["kld"], "p99"))) : "-",
                            k ? fmt::format("{:.2f}%", 100 * num(f["top1"], "mean")) : "-",
                            k ? html_escape(fmt_g(num(f["delta_p"], "rms"))) : "-",
                            fmt::format("{:.0f}", num(f, "scored_tokens"))});
        }
        s += "</table>\n";
    }
    s += "<p class=\"muted\">Generated by lowbit " + html_escape(str(ctx, "version")) + ".</p>\n</body></html>\n";
    return s;
}

}  // namespace lowbit::eval
