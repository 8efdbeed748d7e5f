#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace lowbit {
namespace {

constexpr int64_t k_max_workers = 4096;  // fits the job word's 16 bits

// The work position the workers of a dynamic / guided loop share, on a cache line of its own: on the
// caller's stack beside its other locals, every write the caller made nearby sent the line back and
// forth between the cores.
struct alignas(64) shared_position {  // alignas pads the size to the line too
    std::atomic<int64_t> next{0};
};

// Workers wait for a job by spinning on an atomic word for up to spin_us() microseconds, then sleep on
// a condition variable; the caller waits for the workers the same way. Generation issues one matmul
// per weight matrix (about 60 parallel regions per token): with a sleep between regions every region
// paid a futex wake-up, tens of microseconds on a VM, a tenth of a token's time on a 2-core machine.
// The job word packs (counter << 16 | active workers): a worker that reads it knows at once whether the
// job is its own, and job_ cannot change while an active worker runs (the caller waits for it).
class pool {
public:
    static pool& get() {
        static pool p;
        return p;
    }

    void run(int n_workers, function_ref<void(int)> job) {
        std::lock_guard<std::mutex> serial(run_mu_);  // one parallel region at a time
        ensure(n_workers - 1);
        job_ = &job;
        err_ = nullptr;
        pending_.store(n_workers - 1, std::memory_order_relaxed);
        bool wake;
        {
            std::lock_guard<std::mutex> lk(mu_);  // a worker deciding to sleep sees the new word or is counted
            ++counter_;
            word_.store((counter_ << 16) | static_cast<uint64_t>(n_workers - 1), std::memory_order_release);
            wake = sleepers_ > 0;
        }
        if (wake) cv_.notify_all();
        std::exception_ptr err;
        try {
            job(0);
        } catch (...) {
            err = std::current_exception();
        }
        if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; }, 0)) {
            std::unique_lock<std::mutex> lk(mu_);
            done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
        }
        job_ = nullptr;
        if (!err) err = err_;
        if (err) std::rethrow_exception(err);
    }

    ~pool() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_.store(true);
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    // LOWBIT_SPIN_US (default 200): how long a waiting thread spins before it sleeps; 0: sleep at once.
    static int64_t spin_us() {
        static const int64_t us = [] {
            const char* e = std::getenv("LOWBIT_SPIN_US");
            return e ? std::max<int64_t>(0, std::atoll(e)) : int64_t(200);
        }();
        return us;
    }

    // Spins until done() or the spin budget is spent; returns done()'s last value. Only the caller and
    // workers 1 .. hardware_concurrency - 1 spin (more spinning threads than cores would take the CPU
    // from the thread that has the work); the others, and all when LOWBIT_SPIN_US=0, sleep at once.
    // The spin yields now and then, so a thread of another process waiting for this core gets it.
    template <class F>
    static bool spin_until(F done, int idx) {
        if (done()) return true;
        static const int n_spinners = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        const int64_t budget = spin_us();
        if (budget == 0 || idx >= n_spinners) return false;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 1;; ++i) {
#if defined(__x86_64__) || defined(_M_X64)
            _mm_pause();
#elif defined(__aarch64__)
            __asm__ volatile("yield");
#endif
            if (done()) return true;
            if ((i & 63) == 0) {
                if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(budget)) return done();
                std::this_thread::yield();
            }
        }
    }

    void ensure(int n) {
        while (static_cast<int>(threads_.size()) < n) {
            const int idx = static_cast<int>(threads_.size()) + 1;
            const uint64_t seen = counter_;  // the job about to be posted is the first it must see
            threads_.emplace_back([this, idx, seen] { loop(idx, seen); });
        }
    }

    void loop(int idx, uint64_t seen) {
        for (;;) {
            uint64_t w = 0;
            const auto fresh = [&] {
                w = word_.load(std::memory_order_acquire);
                return (w >> 16) != seen || stop_.load(std::memory_order_relaxed);
            };
            if (!spin_until(fresh, idx)) {
                std::unique_lock<std::mutex> lk(mu_);
                ++sleepers_;
                cv_.wait(lk, fresh);
                --sleepers_;
            }
            if (stop_.load()) return;
            seen = w >> 16;
            if (idx > static_cast<int>(w & 0xffff)) continue;  // not one of this job's workers
            std::exception_ptr e;
            try {
                (*job_)(idx);
            } catch (...) {
                e = std::current_exception();
            }
            if (e) {
                std::lock_guard<std::mutex> lk(mu_);
                if (!err_) err_ = e;
            }
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lk(mu_);  // the caller checks pending_ under mu_ before sleeping
                done_cv_.notify_one();
            }
        }
    }

    std::mutex run_mu_, mu_;
    std::condition_variable cv_, done_cv_;
    std::vector<std::thread> threads_;
    const function_ref<void(int)>* job_ = nullptr;  // the running job, only while run() waits
    uint64_t counter_ = 0;  // under mu_
    // The words the waiting threads spin on, each on a cache line of its own: the workers read word_,
    // the caller pending_; a write to anything beside them would pull the line from the spinning core.
    alignas(64) std::atomic<uint64_t> word_{0};
    alignas(64) std::atomic<int> pending_{0};
    char pad_[64 - sizeof(std::atomic<int>)];
    int sleepers_ = 0;  // under mu_
    std::atomic<bool> stop_{false};
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

void parallel_for(int64_t n, int n_threads, function_ref<void(int64_t, int64_t, int)> fn) {
    if (n <= 0) return;
    if (n_threads <= 0) n_threads = default_threads();
    const int workers = static_cast<int>(std::min<int64_t>({n_threads, n, k_max_workers}));
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

void parallel_for_dynamic(int64_t n, int n_threads, function_ref<void(int64_t, int)> fn) {
    if (n <= 0) return;
    if (n_threads <= 0) n_threads = default_threads();
    const int workers = static_cast<int>(std::min<int64_t>(n_threads, n));
    shared_position pos;
    std::atomic<int64_t>& next = pos.next;
    parallel_for(workers, workers, [&](int64_t, int64_t, int worker) {
        for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < n; i = next.fetch_add(1, std::memory_order_relaxed))
            fn(i, worker);
    });
}

void parallel_for_guided(int64_t n, int n_threads, int64_t grain,
                         function_ref<void(int64_t, int64_t, int)> fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads <= 0) n_threads = default_threads();
    const int workers = static_cast<int>(std::min<int64_t>(n_threads, (n + grain - 1) / grain));
    if (workers <= 1) {
        fn(0, n, 0);
        return;
    }
    const int64_t div = 2 * static_cast<int64_t>(workers);
    shared_position pos;
    std::atomic<int64_t>& next = pos.next;
    parallel_for(workers, workers, [&](int64_t, int64_t, int worker) {
        int64_t b = next.load(std::memory_order_relaxed);
        for (;;) {
            if (b >= n) return;
            const int64_t e = std::min(n, b + std::max(grain, (n - b) / div / grain * grain));
            if (!next.compare_exchange_weak(b, e, std::memory_order_relaxed)) continue;  // b reloaded
            fn(b, e, worker);
            b = next.load(std::memory_order_relaxed);
        }
    });
}

}  // namespace lowbit
