// `lowbit`: the command-line front end. Errors from the library surface as one line on stderr,
// `lowbit: <message>`, and exit code 1; usage errors exit 2.
#include <cstdio>
#include <exception>

#include "command.hpp"
#include "core/cpu.hpp"
#include "lowbit/error.hpp"

namespace lowbit::cli {
std::vector<setup_fn>& registry() {
    static std::vector<setup_fn> r;
    return r;
}
}  // namespace lowbit::cli

int main(int argc, char** argv) {
    CLI::App app{"lowbit: quantize, run and evaluate neural networks"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("lowbit ") + LOWBIT_CLI_VERSION);
    std::string isa;
    app.add_option("--isa", isa, "force a kernel tier: ref, generic, avx2, avxvnni, avx512, avx512vnni");
    app.parse_complete_callback([&] {
        if (!isa.empty()) lowbit::set_isa_tier(lowbit::parse_isa_tier(isa));
    });
    for (auto setup : lowbit::cli::registry()) setup(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const lowbit::error& e) {
        std::fprintf(stderr, "lowbit: %s\n", e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "lowbit: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lowbit: %s\n", e.what());
        return 1;
    }
    return 0;
}
