// A self-contained HTML page (no scripts, fonts, images or styles from elsewhere) for a sweep report
// (the JSON of eval/sweep.hpp's sweep_json):
//   - context (host, CPU, threads, version, commit, date) and a summary table;
//   - size vs KL divergence as an inline SVG scatter plot (<svg id="pareto">): one labelled
//     <circle class="point"> per (type, method), the Pareto front (points no other point beats on
//     both size and KLD) as <polyline class="front">; log-scaled KLD axis when it spans > 10x;
//   - a per-tensor precision map per point: a grid of layers x tensor kinds colored by the type each
//     tensor got (<table class="pmap">), with a legend;
//   - speed (quantize MB/s, prompt and generation tokens/s) and memory (model bytes, peak RSS) tables;
//   - a per-file (per-domain) breakdown: PPL, PPL ratio, KLD mean/median/p99, top-1, RMS Δp.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lowbit::eval {

std::string render_html_report(const nlohmann::json& sweep);

// Indices (into `points`) of the Pareto front over (size, kld), both minimised, ordered by size.
// A point is on the front unless another has size <= and kld <= with one strictly smaller.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& points);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& s);

}  // namespace lowbit::eval
