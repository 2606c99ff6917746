#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tfjs_diffusers {
namespace {

// Workers poll for the next job this long before they sleep on the condition variable: longer than the gap between
// two kernels of a UNet forward (the element-wise ops the JS thread runs in between), so a kernel usually finds its
// workers awake, and short enough that idle workers stop taking a core soon after the forward.
constexpr auto kSpin = std::chrono::microseconds(2000);

class Pool {
 public:
  ~Pool() { resize(0); }

  void resize(int workers) {
    if (workers == static_cast<int>(threads_.size())) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    stop_ = false;
    // A worker starts from the generation current now, so a job posted before it first runs is not missed.
    const uint64_t start = generation_.load(std::memory_order_acquire);
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i, start] { loop(i + 1, start); });
  }

  int workers() const { return static_cast<int>(threads_.size()); }

  void run(int64_t n, int parts, const std::function<void(int64_t, int64_t)>& body) {
    body_ = &body;
    n_ = n;
    parts_ = parts;
    pending_.store(parts - 1, std::memory_order_relaxed);
    error_ = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_part(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_part(int part) {
    if (part >= parts_) return;
    const int64_t begin = n_ * part / parts_, end = n_ * (part + 1) / parts_;
    try {
      if (begin < end) (*body_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void loop(int part, uint64_t seen) {
    for (;;) {
      uint64_t now = seen;
      const auto deadline = std::chrono::steady_clock::now() + kSpin;
      for (int i = 0; now == seen; ++i) {
        now = generation_.load(std::memory_order_acquire);
        if (now != seen) break;
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::yield();
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      if (stop_) return;
      if (part < parts_) {
        run_part(part);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 0;
  std::atomic<int> pending_{0};
  std::exception_ptr error_;
};

int configured = 1;

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers are not joined at process exit
  return *p;
}

}  // namespace

void set_pool_threads(int threads) { configured = std::max(1, threads); }

int pool_threads() { return configured; }

void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& body) {
  const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({n, threads, configured})));
  if (parts == 1) {
    if (n > 0) body(0, n);
    return;
  }
  Pool& p = pool();
  if (p.workers() < configured - 1 || p.workers() > configured - 1) p.resize(configured - 1);
  p.run(n, parts, body);
}

}  // namespace tfjs_diffusers
