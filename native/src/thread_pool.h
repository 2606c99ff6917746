// A small pool of std::threads for the kernels (no OpenMP: a prebuilt addon must not need libgomp). Work is split
// statically: task range [0, n) in `threads` contiguous parts, part 0 on the calling thread. The split never changes
// a value: every kernel computes each output the same way whichever thread runs it.
#pragma once

#include <cstdint>
#include <functional>

namespace tfjs_diffusers {

// Threads the kernels use (>= 1). Starting or stopping workers happens on the next parallel_for.
void set_pool_threads(int threads);
int pool_threads();

// Runs body(begin, end) over [0, n) split in min(threads, n) contiguous ranges, and waits for all of them.
// `threads` <= pool_threads(); 1 runs inline. Called from one thread at a time (the JS thread).
void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& body);

}  // namespace tfjs_diffusers
