#include "group_norm.h"

#include "dnnl_ops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tfjs_diffusers {
namespace {

// 16 floats as one GCC vector: lowered to one AVX-512 register, two AVX2 or four SSE registers by the clone
// being compiled. Written as vectors because GCC's auto-vectoriser splits the clamped exp below into branches.
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

inline __attribute__((always_inline)) f32x16 splat(float v) { return f32x16{} + v; }

// exp(x) for x clamped to [-87, 88], to about 1 ulp: x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-7
// Taylor polynomial (truncation < 6e-9 relative), 2^n put straight into the exponent bits.
inline __attribute__((always_inline)) f32x16 exp16(f32x16 x) {
  x = x < splat(-87.0f) ? splat(-87.0f) : x;
  x = x > splat(88.0f) ? splat(88.0f) : x;
  const f32x16 t = x * 1.44269504088896341f;
  const f32x16 rounded = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick, |t| < 2^22)
  const f32x16 r = (x - rounded * 0.693145751953125f) - rounded * 1.42860682030941723212e-6f;  // ln2 = hi + lo
  f32x16 p = splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const i32x16 bits = (__builtin_convertvector(rounded, i32x16) + 127) << 23;
  return p * (f32x16)bits;  // same-size vector cast: the bits reinterpreted
}

inline __attribute__((always_inline)) f32x16 load16(const float* p) {
  f32x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline __attribute__((always_inline)) void store16(float* p, f32x16 v) { std::memcpy(p, &v, sizeof v); }

// y = x * scale + shift per channel over `rows` pixels, then optionally y * sigmoid(y) (as y / (1 + exp(-y))).
// Compiled for AVX-512, AVX2 and the baseline; the loader picks one at run time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void apply_rows(const float* x, float* y,
                                                                             const float* scale, const float* shift,
                                                                             int64_t rows, int64_t c, bool silu) {
  const int64_t c16 = c - c % 16;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t j = 0; j < c16; j += 16) {
      f32x16 v = load16(xr + j) * load16(scale + j) + load16(shift + j);
      if (silu) v = v / (1.0f + exp16(-v));
      store16(yr + j, v);
    }
    if (c16 < c) {  // channel counts that are not a multiple of 16: one padded vector
      float xs[16] = {0}, ss[16] = {0}, hs[16] = {0}, out[16];
      std::memcpy(xs, xr + c16, sizeof(float) * (c - c16));
      std::memcpy(ss, scale + c16, sizeof(float) * (c - c16));
      std::memcpy(hs, shift + c16, sizeof(float) * (c - c16));
      f32x16 v = load16(xs) * load16(ss) + load16(hs);
      if (silu) v = v / (1.0f + exp16(-v));
      store16(out, v);
      std::memcpy(yr + c16, out, sizeof(float) * (c - c16));
    }
  }
}

// sum[j] += x[j] and sq[j] += x[j]^2 over `rows` pixels, in double.
__attribute__((target_clones("avx512f", "avx2", "default"))) void accumulate_rows(const float* x, int64_t rows,
                                                                                  int64_t c, double* sum, double* sq) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
#pragma omp simd
    for (int64_t j = 0; j < c; j++) {
      const double v = static_cast<double>(xr[j]);
      sum[j] += v;
      sq[j] += v * v;
    }
  }
}

}  // namespace

void group_norm_nhwc(const float* x, const float* gamma, const float* beta, float* y, int64_t n, int64_t hw, int64_t c,
                     int64_t groups, float epsilon, bool silu) {
  const int64_t per_group = c / groups;
  // A sample's pixels are split into `chunks` ranges that accumulate their own partial sums. The split depends on
  // the sample's size alone, never on the batch: a sample's statistics, summed in the same order, are the same bits
  // alone and inside a batch. Below 256 K elements (1 MiB) a sample is one chunk: a pass over it takes tens of
  // microseconds, less than waking other threads (and far less than waiting for one that another process holds).
  const int threads = std::max(1, configured_threads());
  const int64_t chunks = hw * c >= (int64_t(1) << 18) ? std::min<int64_t>(hw, threads) : 1;
  const bool parallel = n * chunks > 1 && n * hw * c >= (int64_t(1) << 18);
  std::vector<double> partial(static_cast<size_t>(2 * n * chunks * c), 0.0);
  auto chunk_begin = [&](int64_t chunk) { return hw * chunk / chunks; };

  // Pass 1: per-channel sums of x and x^2 for every (sample, chunk).
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t task = 0; task < n * chunks; task++) {
    const int64_t b = task / chunks, chunk = task % chunks;
    const int64_t begin = chunk_begin(chunk), end = chunk_begin(chunk + 1);
    double* sum = partial.data() + 2 * task * c;
    accumulate_rows(x + (b * hw + begin) * c, end - begin, c, sum, sum + c);
  }

  // Group statistics in double. The biased variance E[x^2] - E[x]^2 loses nothing that matters in double: its
  // rounding error is ~1e-16 * mean^2 / variance relative.
  std::vector<float> scale(static_cast<size_t>(n * c)), shift(static_cast<size_t>(n * c));
  const double count = static_cast<double>(hw * per_group);
  std::vector<double> group_sum(static_cast<size_t>(groups)), group_sq(static_cast<size_t>(groups));
  for (int64_t b = 0; b < n; b++) {
    std::fill(group_sum.begin(), group_sum.end(), 0.0);
    std::fill(group_sq.begin(), group_sq.end(), 0.0);
    for (int64_t chunk = 0; chunk < chunks; chunk++) {
      const double* sum = partial.data() + 2 * (b * chunks + chunk) * c;
      for (int64_t j = 0; j < c; j++) {
        group_sum[j / per_group] += sum[j];
        group_sq[j / per_group] += sum[c + j];
      }
    }
    for (int64_t j = 0; j < c; j++) {
      const int64_t g = j / per_group;
      const double mean = group_sum[g] / count;
      const double variance = std::max(0.0, group_sq[g] / count - mean * mean);
      const double rstd = 1.0 / std::sqrt(variance + static_cast<double>(epsilon));
      const double s = static_cast<double>(gamma[j]) * rstd;
      scale[b * c + j] = static_cast<float>(s);
      shift[b * c + j] = static_cast<float>(static_cast<double>(beta[j]) - mean * s);
    }
  }

  // Pass 2: y = x * scale + shift (+ SiLU).
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t task = 0; task < n * chunks; task++) {
    const int64_t b = task / chunks, chunk = task % chunks;
    const int64_t begin = chunk_begin(chunk), end = chunk_begin(chunk + 1);
    const int64_t offset = (b * hw + begin) * c;
    apply_rows(x + offset, y + offset, scale.data() + b * c, shift.data() + b * c, end - begin, c, silu);
  }
}

}  // namespace tfjs_diffusers
