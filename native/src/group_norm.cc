#include "group_norm.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace tfjs_diffusers {
namespace {

// exp(x) for x in [-87, 88] to about 2 ulp, written so that GCC vectorises it (no libm call in the loop):
// x = n ln2 + r with |r| <= ln2/2, exp(r) by its degree-7 Taylor polynomial (truncation < 6e-9 relative),
// 2^n put straight into the exponent bits.
inline float exp_vectorizable(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float t = x * 1.44269504088896341f;
  const float rounded = (t + 12582912.0f) - 12582912.0f;  // round to nearest: 1.5 * 2^23 trick, |t| < 2^22
  const float r = (x - rounded * 0.693145751953125f) - rounded * 1.42860682030941723212e-6f;  // ln2 hi + lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(rounded) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// y = x * scale + shift per channel over `rows` pixels, then optionally y * sigmoid(y). Compiled for AVX-512,
// AVX2 and the baseline; the loader picks one at run time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void apply_rows(const float* x, float* y,
                                                                             const float* scale, const float* shift,
                                                                             int64_t rows, int64_t c, bool silu) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    if (silu) {
#pragma omp simd
      for (int64_t j = 0; j < c; j++) {
        const float v = xr[j] * scale[j] + shift[j];
        yr[j] = v / (1.0f + exp_vectorizable(-v));
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < c; j++) yr[j] = xr[j] * scale[j] + shift[j];
    }
  }
}

// acc[j] += x[j] for `rows` pixels (pass 1), or acc[j] += (x[j] - mean[j])^2 (pass 2, mean != nullptr).
__attribute__((target_clones("avx512f", "avx2", "default"))) void accumulate_rows(const float* x, int64_t rows,
                                                                                  int64_t c, const float* mean,
                                                                                  double* acc) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    if (mean == nullptr) {
#pragma omp simd
      for (int64_t j = 0; j < c; j++) acc[j] += static_cast<double>(xr[j]);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < c; j++) {
        const double d = static_cast<double>(xr[j]) - static_cast<double>(mean[j]);
        acc[j] += d * d;
      }
    }
  }
}

}  // namespace

void group_norm_nhwc(const float* x, const float* gamma, const float* beta, float* y, int64_t n, int64_t hw, int64_t c,
                     int64_t groups, float epsilon, bool silu) {
  const int64_t per_group = c / groups;
  const int threads = std::max(1, omp_get_max_threads());
  // Pixels are split into `chunks` ranges per sample; each chunk accumulates its own per-channel partial sums.
  const int64_t chunks = std::min<int64_t>(hw, threads);
  std::vector<double> partial(static_cast<size_t>(n * chunks * c));
  std::vector<float> mean_c(static_cast<size_t>(n * c));  // the group mean, repeated per channel
  std::vector<float> scale(static_cast<size_t>(n * c)), shift(static_cast<size_t>(n * c));
  const double count = static_cast<double>(hw * per_group);

  auto chunk_rows = [&](int64_t chunk, int64_t* begin, int64_t* end) {
    *begin = hw * chunk / chunks;
    *end = hw * (chunk + 1) / chunks;
  };
  // Pass over x for every (sample, chunk); reduce the chunks into per-group values.
  auto accumulate = [&](const float* mean_or_null, std::vector<double>* group_out) {
    std::fill(partial.begin(), partial.end(), 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < n * chunks; task++) {
      const int64_t b = task / chunks, chunk = task % chunks;
      int64_t begin, end;
      chunk_rows(chunk, &begin, &end);
      accumulate_rows(x + (b * hw + begin) * c, end - begin, c, mean_or_null ? mean_or_null + b * c : nullptr,
                      partial.data() + task * c);
    }
    group_out->assign(static_cast<size_t>(n * groups), 0.0);
    for (int64_t b = 0; b < n; b++) {
      for (int64_t chunk = 0; chunk < chunks; chunk++) {
        const double* p = partial.data() + (b * chunks + chunk) * c;
        for (int64_t j = 0; j < c; j++) (*group_out)[b * groups + j / per_group] += p[j];
      }
    }
  };

  std::vector<double> group_sum, group_sq;
  accumulate(nullptr, &group_sum);
  for (int64_t b = 0; b < n; b++) {
    for (int64_t j = 0; j < c; j++) mean_c[b * c + j] = static_cast<float>(group_sum[b * groups + j / per_group] / count);
  }
  // The second pass measures deviations from the float mean it will subtract, so the variance is exact for it.
  accumulate(mean_c.data(), &group_sq);
  for (int64_t b = 0; b < n; b++) {
    for (int64_t j = 0; j < c; j++) {
      const int64_t g = b * groups + j / per_group;
      const double rstd = 1.0 / std::sqrt(group_sq[g] / count + static_cast<double>(epsilon));
      const double s = static_cast<double>(gamma[j]) * rstd;
      scale[b * c + j] = static_cast<float>(s);
      shift[b * c + j] = static_cast<float>(static_cast<double>(beta[j]) - static_cast<double>(mean_c[b * c + j]) * s);
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < n * chunks; task++) {
    const int64_t b = task / chunks, chunk = task % chunks;
    int64_t begin, end;
    chunk_rows(chunk, &begin, &end);
    const int64_t offset = (b * hw + begin) * c;
    apply_rows(x + offset, y + offset, scale.data() + b * c, shift.data() + b * c, end - begin, c, silu);
  }
}

}  // namespace tfjs_diffusers
