// `lowbit types [--json]`: the format table.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "command.hpp"
#include "lowbit/types.hpp"

namespace {

void setup(CLI::App& app) {
    auto* sub = app.add_subcommand("types", "list every number format lowbit can store");
    auto json = std::make_shared<bool>(false);
    sub->add_flag("--json", *json, "machine-readable output");
    sub->callback([json] {
        if (*json) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& t : lowbit::all_types())
                a.push_back({{"id", static_cast<uint32_t>(t.id)}, {"name", t.name},
                             {"block_size", t.block_size}, {"block_bytes", t.block_bytes},
                             {"bits_per_weight", t.bits_per_weight}, {"ggml", t.is_ggml},
                             {"encodable", t.from_float != nullptr}, {"description", t.description}});
            std::printf("%s\n", a.dump(2).c_str());
            return;
        }
        std::printf("%-6s %-16s %6s %6s %7s %-5s %s\n", "id", "name", "block", "bytes", "bpw", "ggml",
                    "description");
        for (const auto& t : lowbit::all_types())
            std::printf("%-6u %-16s %6lld %6zu %7.3f %-5s %s\n", static_cast<unsigned>(t.id), t.name,
                        static_cast<long long>(t.block_size), t.block_bytes, t.bits_per_weight,
                        t.is_ggml ? "yes" : "no", t.description);
    });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
