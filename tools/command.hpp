// Sub-command registry of the `lowbit` CLI. Each tools/<name>.cpp defines one sub-command: it parses
// arguments with CLI11 and calls liblowbit; any logic beyond that belongs in the library.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "lowbit/model_file.hpp"

namespace lowbit::cli {

using setup_fn = void (*)(CLI::App& app);

std::vector<setup_fn>& registry();

struct registrar {
    explicit registrar(setup_fn f) { registry().push_back(f); }
};

// `--repack all|compact|none` (load_options::repack) for the sub-commands that load llama models.
inline void add_repack_option(CLI::App* sub, std::string& mode) {
    sub->add_option("--repack", mode,
                    "load-time tiles: all (default; types whose tiles take more memory keep their rows when "
                    "that would not fit), compact (only tiles no larger than the rows), none")
        ->check(CLI::IsMember({"all", "compact", "none"}));
}
inline repack_mode repack_option(const std::string& mode) { return repack_mode_from_name(mode).value(); }

// What every -t / --threads option accepts (0: all cores).
inline CLI::Validator threads_range() {
    return CLI::Range(0, 1024);
}

}  // namespace lowbit::cli

#define LOWBIT_CLI_CAT2(a, b) a##b
#define LOWBIT_CLI_CAT(a, b) LOWBIT_CLI_CAT2(a, b)
#define LOWBIT_REGISTER_COMMAND(fn) \
    static ::lowbit::cli::registrar LOWBIT_CLI_CAT(lowbit_cli_registrar_, __LINE__)(fn)
