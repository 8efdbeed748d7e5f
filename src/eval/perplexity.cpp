#include "eval/perplexity.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>

#include "core/parallel.hpp"
#include "eval/kld.hpp"
#include "lowbit/error.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::eval {
namespace {

struct unit {
    std::vector<int32_t> tokens;
    int64_t first = 0;  // logits of positions first .. n-2 score tokens first+1 .. n-1
};

struct unit_result {
    std::vector<double> nll, nll_ref, kld, p_diff;
    std::vector<uint8_t> same_top;
};

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

}  // namespace

protocol parse_protocol(const std::string& s) {
    if (s == "chunks") return protocol::chunks;
    if (s == "documents" || s == "docs") return protocol::documents;
    fail("unknown protocol '{}' (expected 'chunks' or 'documents')", s);
}

const char* protocol_name(protocol p) { return p == protocol::chunks ? "chunks" : "documents"; }

std::string read_text_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    LOWBIT_REQUIRE(f.good(), "{}: cannot open text file", path);
    std::ostringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    LOWBIT_REQUIRE(!text.empty(), "{}: text file is empty", path);
    return text;
}

std::vector<std::string> split_documents(const std::string& text, const std::string& separator) {
    std::vector<std::string> docs;
    std::string cur;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == separator) {
            std::string d = trim(cur);
            if (!d.empty()) docs.push_back(std::move(d));
            cur.clear();
        } else {
            cur.append(text, pos, nl - pos);
            if (nl < text.size()) cur.push_back('\n');
        }
        pos = nl + 1;
    }
    std::string d = trim(cur);
    if (!d.empty()) docs.push_back(std::move(d));
    return docs;
}

evaluator::evaluator(std::shared_ptr<const llama_model> model, std::shared_ptr<const llama_model> reference,
                     const ppl_options& opt)
    : model_(std::move(model)), ref_(std::move(reference)), opt_(opt) {
    LOWBIT_ASSERT(model_ != nullptr);
    const auto& c = model_->config();
    n_ctx_ = opt.n_ctx > 0 ? opt.n_ctx : c.n_ctx_train;
    LOWBIT_REQUIRE(n_ctx_ > 0, "{}: the model does not state its context length; give one with -c",
                   model_->data().source_path);
    LOWBIT_REQUIRE(opt.proto == protocol::documents || n_ctx_ >= 4,
                   "context {} is too small for the chunks protocol (minimum 4)", n_ctx_);
    auto check_ctx = [&](const llama_model& m) {
        const int64_t train = m.config().n_ctx_train;
        LOWBIT_REQUIRE(opt.allow_long_context || train == 0 || n_ctx_ <= train,
                       "context {} exceeds the model's context length {} ({}); use a smaller -c or "
                       "--allow-long-context",
                       n_ctx_, train, m.data().source_path);
    };
    check_ctx(*model_);
    if (ref_) {
        check_ctx(*ref_);
        LOWBIT_REQUIRE(ref_->config().n_vocab == c.n_vocab,
                       "reference {} has {} tokens in its vocabulary, the model {} has {}",
                       ref_->data().source_path, ref_->config().n_vocab, model_->data().source_path, c.n_vocab);
    }
}

namespace {

// The units `text` is scored in under `opt` at context C (n_text_tokens set in out); throws
// lowbit::error when the text cannot fill them.
std::vector<unit> make_units(const tokenizer& tok, const std::string& text, const std::string& name,
                             const ppl_options& opt, int64_t C, token_scores& out) {
    std::vector<unit> units;
    if (opt.proto == protocol::chunks) {
        const bool add_bos = tok.add_bos_default() && tok.bos_id() >= 0;
        std::vector<int32_t> ids = tok.encode(text, add_bos);
        out.n_text_tokens = static_cast<int64_t>(ids.size());
        LOWBIT_REQUIRE(out.n_text_tokens >= 2 * C,
                       "{}: the text tokenizes to {} tokens; chunks of {} need at least {} (use a smaller -c)",
                       name, out.n_text_tokens, C, 2 * C);
        int64_t n_chunk = out.n_text_tokens / C;
        if (opt.max_units > 0) n_chunk = std::min(n_chunk, opt.max_units);
        for (int64_t i = 0; i < n_chunk; ++i) {
            unit u;
            u.tokens.assign(ids.begin() + i * C, ids.begin() + (i + 1) * C);
            if (add_bos) u.tokens[0] = tok.bos_id();
            u.first = C / 2;
            units.push_back(std::move(u));
        }
    } else {
        const auto docs = split_documents(text, opt.separator);
        for (const auto& d : docs) {
            if (opt.max_units > 0 && static_cast<int64_t>(units.size()) >= opt.max_units) break;
            unit u;
            u.tokens = tok.kind() == "llama" ? tok.encode_llama2c(d, true) : tok.encode(d, true);
            out.n_text_tokens += static_cast<int64_t>(u.tokens.size());
            if (static_cast<int64_t>(u.tokens.size()) > C) u.tokens.resize(static_cast<size_t>(C));
            if (u.tokens.size() < 2) continue;
            units.push_back(std::move(u));
        }
        LOWBIT_REQUIRE(!units.empty(), "{}: no document with at least 2 tokens (separator '{}')", name,
                       opt.separator);
    }
    return units;
}

}  // namespace

void check_text_fits(const model_data& m, const std::string& text, const std::string& name,
                     const ppl_options& opt) {
    const int64_t C = opt.n_ctx > 0 ? opt.n_ctx : llama_config::from_model(m).n_ctx_train;
    LOWBIT_REQUIRE(C > 0, "{}: the model does not state its context length; give one with -c", m.source_path);
    token_scores ignored;
    (void)make_units(*tokenizer::from_model(m), text, name, opt, C, ignored);
}

token_scores evaluator::score_text(const std::string& text, const std::string& name) const {
    const auto tok = tokenizer::from_model(model_->data());
    const int64_t C = n_ctx_;
    token_scores out;
    const std::vector<unit> units = make_units(*tok, text, name, opt_, C, out);

    const int n_threads = opt_.n_threads > 0 ? opt_.n_threads : default_threads();
    const int n_workers = static_cast<int>(std::min<int64_t>(n_threads, static_cast<int64_t>(units.size())));
    const int threads_per_ctx = n_workers > 1 ? 1 : n_threads;
    std::vector<unit_result> results(units.size());
    std::atomic<size_t> next{0};
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(n_workers, n_workers, [&](int64_t, int64_t, int) {
        context_options co;
        co.n_ctx = C;
        co.n_batch = C;
        co.n_threads = threads_per_ctx;
        llama_context ctx(model_, co);
        std::unique_ptr<llama_context> rctx;
        if (ref_) rctx = std::make_unique<llama_context>(ref_, co);
        const int64_t V = model_->config().n_vocab;
        for (size_t i = next++; i < units.size(); i = next++) {
            const unit& u = units[i];
            unit_result& r = results[i];
            const auto n = static_cast<int64_t>(u.tokens.size());
            ctx.clear();
            const auto logits = ctx.decode(u.tokens, u.first);
            if (!rctx) {
                for (int64_t j = u.first; j + 1 < n; ++j)
                    r.nll.push_back(score_token(logits.data() + (j - u.first) * V, V, u.tokens[j + 1]).nll);
                continue;
            }
            rctx->clear();
            const auto ref = rctx->decode(u.tokens, u.first);
            for (int64_t j = u.first; j + 1 < n; ++j) {
                const size_t off = static_cast<size_t>((j - u.first) * V);
                const token_kld s = score_token_kld(logits.data() + off, ref.data() + off, V, u.tokens[j + 1]);
                r.nll.push_back(s.nll);
                r.nll_ref.push_back(s.nll_ref);
                r.kld.push_back(s.kld);
                r.p_diff.push_back(s.p_diff);
                r.same_top.push_back(s.same_top ? 1 : 0);
            }
        }
    });
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.n_units = static_cast<int64_t>(units.size());
    for (size_t i = 0; i < units.size(); ++i) {
        out.n_evaluated += static_cast<int64_t>(units[i].tokens.size());
        auto& r = results[i];
        out.nll.insert(out.nll.end(), r.nll.begin(), r.nll.end());
        out.nll_ref.insert(out.nll_ref.end(), r.nll_ref.begin(), r.nll_ref.end());
        out.kld.insert(out.kld.end(), r.kld.begin(), r.kld.end());
        out.p_diff.insert(out.p_diff.end(), r.p_diff.begin(), r.p_diff.end());
        out.same_top.insert(out.same_top.end(), r.same_top.begin(), r.same_top.end());
    }
    return out;
}

}  // namespace lowbit::eval
