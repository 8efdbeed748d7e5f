// A progress bar on stderr for long work. On a terminal it redraws one line; otherwise (logs, CI)
// it prints a line at most every `log_interval` seconds and at the end. Silent when disabled.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lowbit {

class progress_bar {
public:
    explicit progress_bar(std::string label, bool enabled = true, double log_interval = 5.0);
    // fraction in [0, 1]; `detail` is shown after the bar (e.g. the current tensor).
    void update(double fraction, const std::string& detail = {});
    void finish(const std::string& summary = {});

private:
    std::string label_;
    bool enabled_, tty_;
    double log_interval_;
    std::chrono::steady_clock::time_point start_, last_;
    bool finished_ = false;
};

}  // namespace lowbit
