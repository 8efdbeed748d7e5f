#include "eval/gate.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "lowbit/error.hpp"

namespace lowbit::eval {
namespace {

struct metric_row {
    const char* name;
    bool needs_ref;
    double file_report::*field;
};

const metric_row k_metrics[] = {
    {"ppl", false, &file_report::ppl},
    {"ppl_se", false, &file_report::ppl_se},
    {"ppl_ratio", true, &file_report::ppl_ratio},
    {"kld", true, &file_report::kld_mean},
    {"kld_median", true, &file_report::kld_median},
    {"kld_p99", true, &file_report::kld_p99},
    {"kld_max", true, &file_report::kld_max},
    {"top1", true, &file_report::top1},
    {"dp_rms", true, &file_report::dp_rms},
    {"dp_max", true, &file_report::dp_max_abs},
};

const metric_row* find_metric(const std::string& name) {
    for (const auto& m : k_metrics)
        if (name == m.name) return &m;
    return nullptr;
}

std::string strip(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

const char* op_text(gate_op op) {
    switch (op) {
        case gate_op::le: return "<=";
        case gate_op::lt: return "<";
        case gate_op::ge: return ">=";
        case gate_op::gt: return ">";
    }
    return "?";
}

std::string metric_list() {
    std::string s;
    for (const auto& m : k_metrics) s += (s.empty() ? "" : ", ") + std::string(m.name);
    return s;
}

}  // namespace

std::vector<gate_condition> parse_gate(const std::string& spec) {
    std::vector<gate_condition> out;
    LOWBIT_REQUIRE(!strip(spec).empty(), "gate: empty specification (expected e.g. 'kld<=0.02,top1>=0.9')");
    size_t pos = 0;
    while (pos <= spec.size()) {
        size_t comma = spec.find(',', pos);
        if (comma == std::string::npos) comma = spec.size();
        const std::string term = strip(spec.substr(pos, comma - pos));
        pos = comma + 1;
        LOWBIT_REQUIRE(!term.empty(), "gate: empty condition in '{}'", spec);
        const size_t op_at = term.find_first_of("<>=!");
        LOWBIT_REQUIRE(op_at != std::string::npos && op_at > 0,
                       "gate: condition '{}' is not 'metric<=value', 'metric>=value', '<' or '>'", term);
        gate_condition c;
        c.metric = strip(term.substr(0, op_at));
        size_t val_at;
        if (term.compare(op_at, 2, "<=") == 0) {
            c.op = gate_op::le;
            val_at = op_at + 2;
        } else if (term.compare(op_at, 2, ">=") == 0) {
            c.op = gate_op::ge;
            val_at = op_at + 2;
        } else if (term[op_at] == '<' && term.find_first_of("<>=!", op_at + 1) != op_at + 1) {
            c.op = gate_op::lt;
            val_at = op_at + 1;
        } else if (term[op_at] == '>' && term.find_first_of("<>=!", op_at + 1) != op_at + 1) {
            c.op = gate_op::gt;
            val_at = op_at + 1;
        } else {
            fail("gate: condition '{}' has an unknown operator (use <=, <, >=, >)", term);
        }
        LOWBIT_REQUIRE(find_metric(c.metric) != nullptr, "gate: unknown metric '{}' in '{}' (known: {})", c.metric,
                       term, metric_list());
        const std::string num = strip(term.substr(val_at));
        LOWBIT_REQUIRE(!num.empty(), "gate: condition '{}' has no value", term);
        char* end = nullptr;
        errno = 0;
        c.value = std::strtod(num.c_str(), &end);
        LOWBIT_REQUIRE(end && *end == '\0' && errno == 0 && std::isfinite(c.value),
                       "gate: '{}' in condition '{}' is not a number", num, term);
        c.text = fmt::format("{}{}{}", c.metric, op_text(c.op), num);
        out.push_back(std::move(c));
    }
    return out;
}

bool gate_needs_reference(const gate_condition& c) {
    const metric_row* m = find_metric(c.metric);
    return m && m->needs_ref;
}

double gate_metric(const file_report& f, const std::string& metric) {
    const metric_row* m = find_metric(metric);
    LOWBIT_REQUIRE(m != nullptr, "gate: unknown metric '{}'", metric);
    return f.*(m->field);
}

std::vector<std::string> check_gate(const std::vector<gate_condition>& conds, const std::vector<file_report>& files) {
    std::vector<std::string> out;
    for (const auto& f : files)
        for (const auto& c : conds) {
            if (gate_needs_reference(c) && !f.has_reference) {
                out.push_back(fmt::format("{}: {} needs a reference model (--reference)", f.path, c.metric));
                continue;
            }
            const double v = gate_metric(f, c.metric);
            bool ok = false;
            switch (c.op) {
                case gate_op::le: ok = v <= c.value; break;
                case gate_op::lt: ok = v < c.value; break;
                case gate_op::ge: ok = v >= c.value; break;
                case gate_op::gt: ok = v > c.value; break;
            }
            if (!ok || std::isnan(v)) out.push_back(fmt::format("{}: {} = {:.6g} violates {}", f.path, c.metric, v, c.text));
        }
    return out;
}

}  // namespace lowbit::eval
