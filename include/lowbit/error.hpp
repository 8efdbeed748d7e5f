// Error scheme for all of lowbit: recoverable errors are exceptions of type lowbit::error, thrown
// where the problem is found and caught at the API boundary (the CLI prints `lowbit: <message>` and
// exits non-zero). Messages name the file, the field, the value and the limit. Kernels never throw.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace lowbit {

class error : public std::runtime_error {
public:
    explicit error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
    throw error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace lowbit

// Checks input or a recoverable condition; throws lowbit::error with a formatted message.
#define LOWBIT_REQUIRE(cond, ...)                 \
    do {                                          \
        if (!(cond)) ::lowbit::fail(__VA_ARGS__); \
    } while (0)

// Always-on internal invariant (a bug in lowbit, not bad input).
#define LOWBIT_ASSERT(cond)                                                                     \
    do {                                                                                        \
        if (!(cond))                                                                            \
            ::lowbit::fail("internal error: {} ({}:{})", #cond, __FILE__, __LINE__);            \
    } while (0)
