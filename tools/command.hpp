// Sub-command registry of the `lowbit` CLI. Each tools/<name>.cpp defines one sub-command: it parses
// arguments with CLI11 and calls liblowbit; any logic beyond that belongs in the library.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace lowbit::cli {

using setup_fn = void (*)(CLI::App& app);

std::vector<setup_fn>& registry();

struct registrar {
    explicit registrar(setup_fn f) { registry().push_back(f); }
};

}  // namespace lowbit::cli

#define LOWBIT_CLI_CAT2(a, b) a##b
#define LOWBIT_CLI_CAT(a, b) LOWBIT_CLI_CAT2(a, b)
#define LOWBIT_REGISTER_COMMAND(fn) \
    static ::lowbit::cli::registrar LOWBIT_CLI_CAT(lowbit_cli_registrar_, __LINE__)(fn)
