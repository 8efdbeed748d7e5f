// A small persistent thread pool: parallel_for splits [0, n) into contiguous chunks, one per worker,
// and runs them with the caller as worker 0. No allocation per call: the loop bodies are passed as
// function_ref (core/function_ref.hpp), not std::function.
#pragma once

#include <cstdint>

#include "core/function_ref.hpp"

namespace lowbit {

// Number of threads used when a caller passes 0: LOWBIT_THREADS or the hardware concurrency.
int default_threads();

// Runs fn(begin, end, worker) over [0, n) split into at most `n_threads` contiguous chunks
// (n_threads <= 0: default_threads()). Exceptions from fn are rethrown in the caller.
void parallel_for(int64_t n, int n_threads, function_ref<void(int64_t, int64_t, int)> fn);

// Runs fn(item, worker) for every item of [0, n) on at most `n_threads` workers that take the next
// item from a shared counter: a worker slowed by another process does not hold the others back the
// way parallel_for's fixed split would. Exceptions from fn are rethrown in the caller.
void parallel_for_dynamic(int64_t n, int n_threads, function_ref<void(int64_t, int)> fn);

// Runs fn(begin, end, worker) over [0, n) in chunks that workers take in order from a shared position
// ("guided" scheduling): each chunk is the count still untaken / (2 x workers), rounded down to a
// multiple of `grain` and at least `grain` (the last may be shorter). The first chunks are large, the
// last ones `grain`, so the workers finish within about one small chunk of each other: a fixed split
// into ~8 chunks per thread left one of two threads idle for ~14 us at the end of every one-token
// matmul (half a chunk), while the other streamed on alone at two thirds of the two-thread bandwidth.
// Chunk boundaries depend only on n, grain and the worker count, not on which worker takes them.
// Exceptions from fn are rethrown in the caller.
void parallel_for_guided(int64_t n, int n_threads, int64_t grain,
                         function_ref<void(int64_t, int64_t, int)> fn);

}  // namespace lowbit
