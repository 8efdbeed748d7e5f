// `lowbit recipe run FILE.toml [--json]`: quantize (and evaluate, with gates) as a recipe file says.
// Format and semantics: docs/recipes.md; logic: src/recipe/recipe.hpp.
#include <cstdio>

#include "command.hpp"
#include "core/progress.hpp"
#include "lowbit/error.hpp"
#include "recipe/recipe.hpp"

namespace {

struct args {
    std::string file;
    bool json = false, quiet = false, check = false;
};

void run(const args& a) {
    namespace rc = lowbit::recipe;
    const rc::recipe r = rc::parse_recipe_file(a.file);
    if (a.check) {
        std::printf("%s: ok (model %s -> %s, type %s, method %s)\n", a.file.c_str(), r.model.c_str(),
                    r.output.c_str(), r.type.c_str(), r.method.c_str());
        return;
    }
    lowbit::progress_bar bar("recipe", !a.quiet && !a.json);
    rc::run_hooks hooks;
    hooks.on_progress = [&](const std::string& stage, double f, const std::string& d) { bar.update(f, stage + " " + d); };
    const rc::recipe_result res = rc::run_recipe(r, hooks);
    bar.finish(r.output);
    if (a.json) {
        std::printf("%s\n", rc::recipe_result_json(r, res).dump(2).c_str());
    } else if (!a.quiet) {
        std::printf("%s -> %s (%.3f bpw, %llu bytes, sha256 %s)\n", r.model.c_str(), r.output.c_str(),
                    res.quantize.bits_per_weight(), static_cast<unsigned long long>(res.quantize.file_bytes),
                    res.output_sha256.c_str());
        if (res.eval) std::printf("%s", lowbit::eval::to_table(*res.eval).c_str());
    }
    std::fflush(stdout);
    for (const auto& f : res.gate_failures) std::fprintf(stderr, "gate: FAILED %s\n", f.c_str());
    LOWBIT_REQUIRE(res.passed(), "gate failed: {} condition(s) violated (first: {})", res.gate_failures.size(),
                   res.gate_failures.empty() ? "" : res.gate_failures.front());
}

void setup(CLI::App& app) {
    auto a = std::make_shared<args>();
    auto* sub = app.add_subcommand("recipe", "reproducible quantize + eval runs described by a TOML file");
    sub->require_subcommand(1);
    auto* r = sub->add_subcommand("run", "run a recipe: quantize, evaluate, check gates (exit 1 if a gate fails)");
    r->add_option("file", a->file, "recipe file (.toml)")->required();
    r->add_flag("--json", a->json, "print the result as JSON");
    r->add_flag("-q,--quiet", a->quiet, "no progress or report");
    r->add_flag("--check", a->check, "only parse and validate the recipe");
    r->callback([a] { run(*a); });
}

LOWBIT_REGISTER_COMMAND(setup);

}  // namespace
