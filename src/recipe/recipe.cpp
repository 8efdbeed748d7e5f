#include "recipe/recipe.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/parallel.hpp"
#include "eval/gate.hpp"
#include "eval/sweep.hpp"
#include "lowbit/error.hpp"
#include "model/llama.hpp"
#include "quant/imatrix.hpp"
#include "quant/mixed_precision.hpp"
#include "quant/weight_methods.hpp"
#include "recipe/calib_cache.hpp"

namespace lowbit::recipe {

namespace {

namespace fs = std::filesystem;

const char* node_type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time: return "a date/time";
        default: return "nothing";
    }
}

// Reads typed values out of one TOML table, naming "<file>:<line>: <section.key>" in every error,
// and rejects keys it was never asked about.
class reader {
public:
    reader(const std::string& file, const toml::table& t, std::string prefix)
        : file_(file), t_(t), prefix_(std::move(prefix)) {}

    [[noreturn]] void fail_at(const toml::node& n, const std::string& key, const std::string& msg) const {
        fail("{}:{}: {}: {}", file_, n.source().begin.line, full(key), msg);
    }
    std::string full(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

    const toml::node* get(const std::string& key) {
        seen_.insert(key);
        return t_.get(key);
    }
    std::optional<std::string> str(const std::string& key) {
        const auto* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_string()) fail_at(*n, key, fmt::format("expected a string, got {}", node_type_name(n->type())));
        return n->as_string()->get();
    }
    std::optional<bool> boolean(const std::string& key) {
        const auto* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_boolean()) fail_at(*n, key, fmt::format("expected true or false, got {}", node_type_name(n->type())));
        return n->as_boolean()->get();
    }
    std::optional<int64_t> integer(const std::string& key, int64_t min, int64_t max) {
        const auto* n = get(key);
        if (!n) return std::nullopt;
        if (!n->is_integer()) fail_at(*n, key, fmt::format("expected an integer, got {}", node_type_name(n->type())));
        const int64_t v = n->as_integer()->get();
        if (v < min || v > max) fail_at(*n, key, fmt::format("{} is out of range [{}, {}]", v, min, max));
        return v;
    }
    std::optional<double> number(const std::string& key, double min_exclusive) {
        const auto* n = get(key);
        if (!n) return std::nullopt;
        double v;
        if (n->is_integer()) v = double(n->as_integer()->get());
        else if (n->is_floating_point()) v = n->as_floating_point()->get();
        else fail_at(*n, key, fmt::format("expected a number, got {}", node_type_name(n->type())));
        if (!std::isfinite(v) || !(v > min_exclusive))
            fail_at(*n, key, fmt::format("{} must be a finite number > {}", v, min_exclusive));
        return v;
    }
    // A string or an array of strings.
    std::optional<std::vector<std::string>> strings(const std::string& key) {
        const auto* n = get(key);
        if (!n) return std::nullopt;
        std::vector<std::string> out;
        if (n->is_string()) {
            out.push_back(n->as_string()->get());
        } else if (const auto* a = n->as_array()) {
            for (const auto& e : *a) {
                if (!e.is_string())
                    fail_at(e, key, fmt::format("expected an array of strings, found {}", node_type_name(e.type())));
                out.push_back(e.as_string()->get());
            }
            if (out.empty()) fail_at(*n, key, "the array is empty");
        } else {
            fail_at(*n, key, fmt::format("expected a string or an array of strings, got {}", node_type_name(n->type())));
        }
        return out;
    }
    const toml::table* table(const std::string& key) {
        const auto* n = get(key);
        if (!n) return nullptr;
        if (!n->is_table()) fail_at(*n, key, fmt::format("expected a table ([{}]), got {}", full(key), node_type_name(n->type())));
        return n->as_table();
    }
    // Fails on any key not read so far, listing the valid ones.
    void finish(const std::vector<std::string>& valid) const {
        for (auto&& [k, v] : t_) {
            const std::string key(k.str());
            if (seen_.count(key)) continue;
            std::string list;
            for (const auto& x : valid) list += (list.empty() ? "" : ", ") + x;
            fail("{}:{}: unknown key '{}' (valid here: {})", file_, k.source().begin.line, full(key), list);
        }
    }
    const std::string& file() const { return file_; }

private:
    std::string file_;
    const toml::table& t_;
    std::string prefix_;
    std::set<std::string> seen_;
};

std::string resolve(const std::string& base, const std::string& p) {
    if (p.empty()) return p;
    fs::path x(p);
    if (x.is_absolute() || base.empty()) return x.lexically_normal().string();
    return (fs::path(base) / x).lexically_normal().string();
}

lowbit::type parse_type_at(reader& r, const toml::node& n, const std::string& key, const std::string& name) {
    auto t = type_from_name(name);
    if (!t) r.fail_at(n, key, fmt::format("unknown type '{}' (see `lowbit types`)", name));
    return *t;
}

// "123", "12MB", "1.5 GiB" -> bytes.
uint64_t parse_size_at(reader& r, const toml::node& n, const std::string& key) {
    if (n.is_integer()) {
        const int64_t v = n.as_integer()->get();
        if (v <= 0) r.fail_at(n, key, fmt::format("{} must be > 0 bytes", v));
        return uint64_t(v);
    }
    if (!n.is_string()) r.fail_at(n, key, "expected bytes (integer) or a size such as \"12MB\"");
    const std::string s = n.as_string()->get();
    size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(s, &pos);
    } catch (...) {
        r.fail_at(n, key, fmt::format("'{}' is not a size (e.g. 12MB, 1.5GiB, 4096)", s));
    }
    std::string unit = s.substr(pos);
    unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    static const std::pair<const char*, double> units[] = {
        {"", 1}, {"b", 1}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}};
    for (const auto& [u, m] : units)
        if (unit == u) {
            if (!(v > 0) || !std::isfinite(v)) r.fail_at(n, key, fmt::format("'{}' must be > 0", s));
            return uint64_t(std::llround(v * m));
        }
    r.fail_at(n, key, fmt::format("unknown unit in '{}' (B, kB, MB, GB, KiB, MiB, GiB)", s));
}

const std::vector<std::string> k_supported_methods = {"rtn", "mse", "gptq", "awq", "hqq"};
const std::vector<std::string> k_known_methods = {"rtn", "mse", "gptq", "awq", "hqq"};

}  // namespace

recipe parse_recipe_text(const std::string& text, const std::string& name, const std::string& base_dir) {
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        fail("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line, e.source().begin.column, e.description());
    }
    recipe rc;
    rc.path = name;
    reader top(name, root, "");
    auto req_str = [&](reader& r, const std::string& key) {
        auto v = r.str(key);
        LOWBIT_REQUIRE(v.has_value() && !v->empty(), "{}: missing required key '{}'", name, r.full(key));
        return *v;
    };
    rc.model = resolve(base_dir, req_str(top, "model"));
    rc.output = resolve(base_dir, req_str(top, "output"));
    rc.tokenizer = resolve(base_dir, top.str("tokenizer").value_or(""));
    rc.cache_dir = resolve(base_dir, top.str("cache_dir").value_or(""));
    if (rc.cache_dir.empty()) rc.cache_dir = (fs::path(rc.output).parent_path() / ".lowbit-cache").string();
    rc.threads = int(top.integer("threads", 0, 4096).value_or(0));

    if (const auto* qt = top.table("quantize")) {
        reader q(name, *qt, "quantize");
        if (auto t = q.str("type")) {
            try {
                (void)find_preset(*t);
            } catch (const lowbit::error& e) {
                q.fail_at(*q.get("type"), "type", e.what());
            }
            rc.type = *t;
        }
        if (auto m = q.str("method")) {
            const auto* n = q.get("method");
            if (std::find(k_known_methods.begin(), k_known_methods.end(), *m) == k_known_methods.end())
                q.fail_at(*n, "method", fmt::format("unknown method '{}' (rtn, mse, gptq, awq, hqq)", *m));
            if (std::find(k_supported_methods.begin(), k_supported_methods.end(), *m) == k_supported_methods.end())
                q.fail_at(*n, "method", fmt::format("method '{}' is not supported yet by lowbit quantize (supported: rtn, mse, gptq, awq, hqq)", *m));
            rc.method = *m;
        }
        rc.pure = q.boolean("pure").value_or(false);
        if (auto f = q.str("fallback")) {
            if (*f == "lowbit") rc.fallback = fallback_mode::lowbit;
            else if (*f != "ggml") q.fail_at(*q.get("fallback"), "fallback", fmt::format("expected \"ggml\" or \"lowbit\", got \"{}\"", *f));
        }
        if (auto t = q.str("output_tensor_type")) rc.output_tensor_type = parse_type_at(q, *q.get("output_tensor_type"), "output_tensor_type", *t);
        if (auto t = q.str("token_embedding_type")) rc.token_embedding_type = parse_type_at(q, *q.get("token_embedding_type"), "token_embedding_type", *t);
        if (const auto* ov = q.get("override")) {
            const auto* arr = ov->as_array();
            if (!arr) q.fail_at(*ov, "override", "expected an array of tables ([[quantize.override]] pattern = \"...\" type = \"...\")");
            for (const auto& e : *arr) {
                if (!e.is_table()) q.fail_at(e, "override", "expected a table with pattern and type");
                reader o(name, *e.as_table(), "quantize.override");
                auto pat = o.str("pattern");
                auto ty = o.str("type");
                if (!pat || pat->empty()) q.fail_at(e, "override", "missing 'pattern' (a regex on tensor names)");
                if (!ty) q.fail_at(e, "override", "missing 'type'");
                try {
                    std::regex re(*pat);
                } catch (const std::regex_error& x) {
                    o.fail_at(*o.get("pattern"), "pattern", fmt::format("bad regex '{}': {}", *pat, x.what()));
                }
                rc.overrides.emplace_back(*pat, parse_type_at(o, *o.get("type"), "type", *ty));
                o.finish({"pattern", "type"});
            }
        }
        q.finish({"type", "method", "pure", "fallback", "output_tensor_type", "token_embedding_type", "override"});
    }

    if (const auto* bt = top.table("budget")) {
        reader b(name, *bt, "budget");
        rc.target_bpw = b.number("target_bpw", 0);
        if (const auto* n = b.get("target_size")) rc.target_size = parse_size_at(b, *n, "target_size");
        rc.max_kld = b.number("max_kld", 0);
        b.finish({"target_bpw", "target_size", "max_kld"});
        const int n_set = int(rc.target_bpw.has_value()) + int(rc.target_size.has_value()) + int(rc.max_kld.has_value());
        LOWBIT_REQUIRE(n_set <= 1, "{}:{}: budget: set one of target_bpw, target_size, max_kld (got {})", name,
                       bt->source().begin.line, n_set);
    }

    if (const auto* ct = top.table("calibration")) {
        reader c(name, *ct, "calibration");
        calibration_spec cs;
        if (auto f = c.strings("files"))
            for (const auto& x : *f) cs.files.push_back(resolve(base_dir, x));
        cs.tokens = c.integer("tokens", 0, int64_t(1) << 40).value_or(0);
        cs.seed = uint64_t(c.integer("seed", 0, INT64_MAX).value_or(0));
        cs.ctx = c.integer("ctx", 0, 1 << 20).value_or(0);
        cs.imatrix = c.boolean("imatrix").value_or(false);
        c.finish({"files", "tokens", "seed", "ctx", "imatrix"});
        LOWBIT_REQUIRE(!cs.files.empty(), "{}:{}: calibration: 'files' is required (text files)", name,
                       ct->source().begin.line);
        rc.calibration = cs;
    }

    if (const auto* et = top.table("eval")) {
        reader e(name, *et, "eval");
        eval_spec es;
        if (auto t = e.strings("texts"))
            for (const auto& x : *t) es.texts.push_back(resolve(base_dir, x));
        LOWBIT_REQUIRE(!es.texts.empty(), "{}:{}: eval: 'texts' is required", name, et->source().begin.line);
        es.reference = resolve(base_dir, e.str("reference").value_or(""));
        if (auto p = e.str("protocol")) {
            if (*p != "chunks" && *p != "documents")
                e.fail_at(*e.get("protocol"), "protocol", fmt::format("expected \"chunks\" or \"documents\", got \"{}\"", *p));
            es.protocol = *p;
        }
        es.ctx = e.integer("ctx", 0, 1 << 20).value_or(0);
        es.max_units = e.integer("max_units", 0, INT64_MAX).value_or(0);
        es.gen = e.integer("gen", 0, 1 << 20).value_or(0);
        if (const auto* g = e.get("gate")) {
            std::string spec;
            if (g->is_string()) {
                spec = g->as_string()->get();
            } else if (const auto* a = g->as_array()) {
                for (const auto& x : *a) {
                    if (!x.is_string()) e.fail_at(x, "gate", "expected strings such as \"kld<=0.02\"");
                    spec += (spec.empty() ? "" : ",") + x.as_string()->get();
                }
            } else {
                e.fail_at(*g, "gate", "expected a string (\"kld<=0.02,top1>=0.9\") or an array of strings");
            }
            try {
                (void)eval::parse_gate(spec);
            } catch (const lowbit::error& x) {
                e.fail_at(*g, "gate", x.what());
            }
            es.gate = spec;
        }
        e.finish({"texts", "reference", "protocol", "ctx", "max_units", "gen", "gate"});
        rc.eval = es;
    }
    const bool needs_calib = rc.method == "gptq" || rc.method == "awq" || rc.target_bpw || rc.target_size || rc.max_kld;
    LOWBIT_REQUIRE(!needs_calib || rc.calibration.has_value(),
                   "{}: method '{}' / a [budget] needs calibration text: add [calibration] files = [...]", name, rc.method);
    top.finish({"model", "output", "tokenizer", "cache_dir", "threads", "quantize", "budget", "calibration", "eval"});
    return rc;
}

recipe parse_recipe_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    LOWBIT_REQUIRE(f.good(), "{}: cannot open recipe", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_recipe_text(ss.str(), path, fs::path(path).parent_path().string());
}

quantize_options to_quantize_options(const recipe& r) {
    quantize_options o;
    o.preset = r.type;
    o.pure = r.pure;
    o.fallback = r.fallback;
    o.output_tensor_type = r.output_tensor_type;
    o.token_embedding_type = r.token_embedding_type;
    o.tensor_types = r.overrides;
    o.threads = r.threads;
    return o;
}

recipe_result run_recipe(const recipe& r, const run_hooks& hooks) {
    auto progress = [&](const std::string& stage, double f, const std::string& d) {
        if (hooks.on_progress) hooks.on_progress(stage, f, d);
    };
    // Everything that can fail cheaply fails before any model work.
    std::vector<eval::gate_condition> gate;
    if (r.eval) {
        for (const auto& t : r.eval->texts) (void)eval::read_text_file(t);
        if (!r.eval->gate.empty()) gate = eval::parse_gate(r.eval->gate);
    }
    if (r.calibration)
        for (const auto& f : r.calibration->files) (void)eval::read_text_file(f);
    {
        std::error_code ec;
        LOWBIT_REQUIRE(!fs::equivalent(r.model, r.output, ec), "{}: output would overwrite the input model", r.output);
        const auto dir = fs::path(r.output).parent_path();
        if (!dir.empty()) fs::create_directories(dir, ec);
        LOWBIT_REQUIRE(!ec, "{}: cannot create folder: {}", dir.string(), ec.message());
    }
    load_options lo;
    lo.tokenizer_path = r.tokenizer;
    recipe_result res;
    progress("load", 0, r.model);
    const model_data input = load_model(r.model, lo);
    if (r.eval) {
        // Texts too short for the eval's context fail here, not after the output is written. The
        // context is the one the eval below uses (the reference's, the input unless another is named).
        eval::ppl_options po;
        po.proto = eval::parse_protocol(r.eval->protocol);
        po.max_units = r.eval->max_units;
        po.n_ctx = r.eval->ctx;
        if (po.n_ctx <= 0)
            po.n_ctx = llama_config::from_model(r.eval->reference.empty() ? input
                                                                          : load_model(r.eval->reference, lo))
                           .n_ctx_train;
        for (const auto& t : r.eval->texts) eval::check_text_fits(input, eval::read_text_file(t), t, po);
    }

    quantize_options qo = to_quantize_options(r);
    qo.on_progress = [&](size_t, size_t, uint64_t done, uint64_t total, const std::string& name) {
        progress("quantize", total ? double(done) / double(total) : 1.0, name);
    };
    // Calibration text: the files concatenated in order.
    std::string calib_text;
    if (r.calibration)
        for (const auto& f : r.calibration->files) calib_text += eval::read_text_file(f);

    // Importance matrix, cached by (model bytes, calibration bytes, collection settings).
    importance_map importance;
    if (r.calibration && r.calibration->imatrix) {
        const auto& c = *r.calibration;
        const auto t0 = std::chrono::steady_clock::now();
        imatrix_options io;
        io.n_ctx = c.ctx > 0 ? c.ctx : 512;
        io.n_chunks = c.tokens > 0 ? std::max<int64_t>(1, c.tokens / io.n_ctx) : -1;
        io.n_threads = r.threads;
        io.dataset = fs::path(c.files.front()).filename().string();
        const std::string settings =
            fmt::format("imatrix-v1 n_ctx={} n_chunks={} include_output=0", io.n_ctx, io.n_chunks);
        const std::string key = calibration_key(file_sha256_memo(r.model, r.cache_dir), files_sha256(c.files), settings);
        const calib_cache cache(r.cache_dir);
        auto got = cache.get_or_compute(key, [&] {
            progress("imatrix", 0, "collecting on " + io.dataset);
            auto model = llama_model::load(r.model, lo);
            return collect_imatrix(model, calib_text, io).importance_map();
        });
        importance = std::move(got.data);
        res.imatrix_used = true;
        res.imatrix_cache_hit = got.hit;
        res.imatrix_cache_file = got.file;
        res.imatrix_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        qo.importance = [&importance](const std::string& t) -> const std::vector<float>* {
            const auto it = importance.find(t);
            return it == importance.end() ? nullptr : &it->second;
        };
    }

    // Mixed precision: the plan's exact-name assignments first, the recipe's overrides after them.
    if (r.target_bpw || r.target_size || r.max_kld) {
        mp_options mo;
        mo.calib_text = calib_text;
        if (r.calibration->ctx > 0) mo.n_ctx = r.calibration->ctx;
        if (r.calibration->tokens > 0) mo.n_chunks = std::max<int64_t>(1, r.calibration->tokens / mo.n_ctx);
        mo.threads = r.threads;
        mo.fallback = r.fallback;
        mo.target_bpw = r.target_bpw.value_or(0);
        mo.target_file_bytes = r.target_size.value_or(0);
        mo.max_kld = r.max_kld.value_or(-1);
        mo.on_progress = [&](size_t done, size_t total, const std::string& t) {
            progress("sensitivity", total ? double(done) / double(total) : 1.0, t);
        };
        if (r.method == "mse") qo.method = quant_method::mse;
        mo.output = qo;
        const mp_plan plan = plan_mixed_precision(input, mo);
        apply_mixed_plan(plan, input, qo);
    }

    if (r.method == "mse") qo.method = quant_method::mse;
    if (r.method == "gptq" || r.method == "awq" || r.method == "hqq") {
        weight_method_options wm;
        wm.method = r.method;
        if (r.method != "hqq") {
            const auto& c = *r.calibration;
            LOWBIT_REQUIRE(c.files.size() == 1, "{}: calibration.files: method {} takes one text file, got {}", r.path,
                           r.method, c.files.size());
            wm.calib.text_path = c.files.front();
            if (c.ctx > 0) wm.calib.seq_len = c.ctx;
            if (c.tokens > 0) wm.calib.n_seq = std::max<int64_t>(1, c.tokens / wm.calib.seq_len);
            wm.calib.seed = c.seed;
            wm.calib.threads = r.threads;
        }
        wm.gptq.threads = wm.awq.threads = wm.hqq.threads = r.threads;
        res.quantize = quantize_model_with_method(input, r.output, qo, wm);
    } else {
        res.quantize = quantize_model(input, r.output, qo);
    }
    res.output_sha256 = file_sha256(r.output);

    if (r.eval) {
        progress("eval", 0, r.output);
        const int threads = r.threads > 0 ? r.threads : default_threads();
        eval::eval_request q;
        q.model = llama_model::load(r.output, lo);
        q.model_path = r.output;
        q.reference_path = r.eval->reference.empty() ? r.model : r.eval->reference;
        q.reference = llama_model::load(q.reference_path, lo);
        q.text_paths = r.eval->texts;
        q.options.proto = eval::parse_protocol(r.eval->protocol);
        q.options.n_ctx = r.eval->ctx > 0 ? r.eval->ctx : q.reference->config().n_ctx_train;
        q.options.max_units = r.eval->max_units;
        q.options.n_threads = threads;
        q.options.allow_long_context = true;  // scored at the reference's context (see eval docs)
        q.gen = r.eval->gen;
        q.gate = gate;
        res.eval = eval::evaluate_model(q);
        res.gate_failures = res.eval->gate_failures;
    }
    return res;
}

nlohmann::json recipe_result_json(const recipe& r, const recipe_result& res) {
    nlohmann::json j;
    j["recipe"] = r.path;
    j["model"] = r.model;
    j["output"] = r.output;
    j["output_sha256"] = res.output_sha256;
    j["type"] = r.type;
    j["method"] = r.method;
    j["quantize"] = nlohmann::json::parse(quantize_report_json(res.quantize));
    j["imatrix"] = {{"used", res.imatrix_used}, {"cache_hit", res.imatrix_cache_hit},
                    {"cache_file", res.imatrix_cache_file}, {"seconds", res.imatrix_seconds}};
    if (r.target_bpw || r.target_size || r.max_kld) {
        // The planner's budgets are estimates (and a model whose cheapest formats already exceed a
        // size budget cannot meet it): report what was achieved next to what was asked.
        nlohmann::json b;
        if (r.target_bpw) b["target_bpw"] = *r.target_bpw, b["bpw_met"] = res.quantize.bits_per_weight() <= *r.target_bpw;
        if (r.target_size) b["target_size"] = *r.target_size, b["size_met"] = res.quantize.file_bytes <= *r.target_size;
        if (r.max_kld) b["max_kld"] = *r.max_kld;
        b["achieved_bpw"] = res.quantize.bits_per_weight();
        b["achieved_size"] = res.quantize.file_bytes;
        j["budget"] = b;
    }
    if (res.eval) j["eval"] = eval::to_json(*res.eval);
    j["passed"] = res.passed();
    j["gate_failures"] = res.gate_failures;
    j["commit"] = eval::source_commit();
    return j;
}

}  // namespace lowbit::recipe
