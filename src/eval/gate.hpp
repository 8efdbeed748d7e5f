// Quality gates: `--gate 'kld<=0.02,top1>=0.9'` is a comma-separated list of `metric OP value`
// (OP one of <=, <, >=, >) checked against every file's report; any violation makes the run fail.
// Metrics: ppl, ppl_se, ppl_ratio, kld, kld_median, kld_p99, kld_max, top1, dp_rms, dp_max (the last
// six need a reference model).
#pragma once

#include <string>
#include <vector>

#include "eval/report.hpp"

namespace lowbit::eval {

enum class gate_op { le, lt, ge, gt };

struct gate_condition {
    std::string metric;
    gate_op op = gate_op::le;
    double value = 0;
    std::string text;  // normalized, e.g. "kld<=0.02"
};

// Throws lowbit::error naming the bad term for unknown metrics, operators or numbers.
std::vector<gate_condition> parse_gate(const std::string& spec);
// Whether a metric needs a reference model.
bool gate_needs_reference(const gate_condition& c);
// The metric's value in a file report (throws for an unknown metric).
double gate_metric(const file_report& f, const std::string& metric);
// One message per violated (file, condition): "<file>: kld 0.031 violates kld<=0.02".
std::vector<std::string> check_gate(const std::vector<gate_condition>& conds, const std::vector<file_report>& files);

}  // namespace lowbit::eval
