#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit {
namespace {

class pool {
public:
    static pool& get() {
        static pool p;
        return p;
    }

    void run(int n_workers, const std::function<void(int)>& job) {
        std::lock_guard<std::mutex> serial(run_mu_);  // one parallel region at a time
        ensure(n_workers - 1);
        std::exception_ptr err;
        {
            std::unique_lock<std::mutex> lk(mu_);
            job_ = &job;
            n_active_ = n_workers - 1;
            pending_ = n_workers - 1;
            err_ = nullptr;
            ++generation_;
        }
        cv_.notify_all();
        try {
            job(0);
        } catch (...) {
            err = std::current_exception();
        }
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [&] { return pending_ == 0; });
        job_ = nullptr;
        if (!err) err = err_;
        if (err) std::rethrow_exception(err);
    }

    ~pool() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    void ensure(int n) {
        while (static_cast<int>(threads_.size()) < n) {
            int idx = static_cast<int>(threads_.size()) + 1;
            threads_.emplace_back([this, idx] { loop(idx); });
        }
    }

    void loop(int idx) {
        uint64_t seen = 0;
        for (;;) {
            const std::function<void(int)>* job;
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [&] { return stop_ || (generation_ != seen && idx <= n_active_); });
                if (stop_) return;
                seen = generation_;
                job = job_;
            }
            std::exception_ptr e;
            try {
                (*job)(idx);
            } catch (...) {
                e = std::current_exception();
            }
            std::lock_guard<std::mutex> lk(mu_);
            if (e && !err_) err_ = e;
            if (--pending_ == 0) done_cv_.notify_one();
        }
    }

    std::mutex run_mu_, mu_;
    std::condition_variable cv_, done_cv_;
    std::vector<std::thread> threads_;
    const std::function<void(int)>* job_ = nullptr;
    int n_active_ = 0, pending_ = 0;
    uint64_t generation_ = 0;
    bool stop_ = false;
    std::exception_ptr err_;
};

}  // namespace

int default_threads() {
    if (const char* e = std::getenv("LOWBIT_THREADS")) {
        int v = std::atoi(e);
        if (v > 0) return v;
    }
    unsigned hc = std::thread::hardware_concurrency();
    return hc ? static_cast<int>(hc) : 1;
}

void parallel_for(int64_t n, int n_threads, const std::function<void(int64_t, int64_t, int)>& fn) {
    if (n <= 0) return;
    if (n_threads <= 0) n_threads = default_threads();
    const int workers = static_cast<int>(std::min<int64_t>(n_threads, n));
    if (workers <= 1) {
        fn(0, n, 0);
        return;
    }
    const int64_t chunk = (n + workers - 1) / workers;
    pool::get().run(workers, [&](int w) {
        const int64_t b = w * chunk, e = std::min(n, b + chunk);
        if (b < e) fn(b, e, w);
    });
}

void parallel_for_dynamic(int64_t n, int n_threads, const std::function<void(int64_t, int)>& fn) {
    if (n <= 0) return;
    if (n_threads <= 0) n_threads = default_threads();
    const int workers = static_cast<int>(std::min<int64_t>(n_threads, n));
    std::atomic<int64_t> next{0};
    parallel_for(workers, workers, [&](int64_t, int64_t, int worker) {
        for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n; i = next.fetch_add(1, std::memory_order_relaxed))
            fn(i, worker);
    });
}

}  // namespace lowbit
