#include "core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace lowbit {

progress_bar::progress_bar(std::string label, bool enabled, double log_interval)
    : label_(std::move(label)), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0),
      log_interval_(log_interval), start_(std::chrono::steady_clock::now()), last_(start_) {}

void progress_bar::update(double fraction, const std::string& detail) {
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    fraction = std::clamp(fraction, 0.0, 1.0);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (tty_) {
        if (since < 0.1) return;
        const int width = 30, fill = static_cast<int>(fraction * width);
        std::string bar(fill, '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %5.1f%% %6.1fs %-40.40s", label_.c_str(), bar.c_str(), 100 * fraction,
                     elapsed, detail.c_str());
        std::fflush(stderr);
    } else {
        if (since < log_interval_) return;
        std::fprintf(stderr, "%s: %5.1f%% after %.1fs %s\n", label_.c_str(), 100 * fraction, elapsed,
                     detail.c_str());
    }
    last_ = now;
}

void progress_bar::finish(const std::string& summary) {
    if (!enabled_ || finished_) return;
    finished_ = true;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (tty_) std::fprintf(stderr, "\r%-100s\r", "");
    std::fprintf(stderr, "%s: done in %.2fs%s%s\n", label_.c_str(), elapsed, summary.empty() ? "" : ", ",
                 summary.c_str());
}

}  // namespace lowbit
