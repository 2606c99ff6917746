#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "isa.h"
#include "thread_pool.h"

namespace tfjs_diffusers {
namespace {

// Below this many floating-point operations (~0.1 ms on one core) an op runs on the calling thread alone: waking
// the workers costs more than it saves (and on a loaded machine a descheduled worker stalls the op). Only speed
// depends on it: the values do not depend on the thread count.
constexpr double kSerialFlops = 8e6;

int threads_for(double flops) { return flops < kSerialFlops ? 1 : pool_threads(); }

// GroupNorm's work per element on the kSerialFlops scale: ~4 ns an element on one Zen 3 core (the 51 GroupNorms of a
// batch-1 forward took 10.6 ms, 16 % of it, all on one thread when they were counted at 4 flops an element), i.e.
// ~400 flops at ~100 GFLOP/s. So a GroupNorm of more than ~20,000 elements (32x32x128 at batch 1) uses the pool.
constexpr double kGroupNormWorkPerElement = 400;

// Grow-only scratch buffers, reused by every call (the ops run one at a time on the JS thread).
template <typename T>
T* scratch(std::vector<T>& buffer, size_t count) {
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}
std::vector<const float*> row_pointers_buffer;
std::vector<float> winograd_v_buffer, winograd_m_buffer, transposed_a_buffer, packed_b_buffer, zero_buffer;
std::vector<double> group_sums_buffer;
std::vector<float> group_scale_buffer;

const float* zeros(size_t count) {
  if (zero_buffer.size() < count) zero_buffer.assign(count, 0.0f);
  return zero_buffer.data();
}

// Packs B (b(k, j) = src[k * sk + j * sn], K x N) into panels of `nr` columns: dst[(p * K + k) * nr + j].
void pack_b(const float* src, int64_t K, int64_t N, int64_t sk, int64_t sn, int nr, float* dst) {
  const int64_t panels = (N + nr - 1) / nr;
  for (int64_t p = 0; p < panels; ++p) {
    float* out = dst + p * K * nr;
    for (int64_t k = 0; k < K; ++k) {
      for (int j = 0; j < nr; ++j) {
        const int64_t col = p * nr + j;
        out[k * nr + j] = col < N ? src[k * sk + col * sn] : 0.0f;
      }
    }
  }
}

int64_t packed_size(int64_t K, int64_t N, int nr) { return (N + nr - 1) / nr * K * nr; }

// Packed / transformed filters per weight tensor key; one tensor can serve several layouts (signature).
struct CachedWeights {
  std::string signature;
  std::vector<float> data;
};
std::unordered_map<int64_t, std::vector<CachedWeights>> weight_cache;
std::set<std::string> winograd_shapes, direct_shapes;

template <typename Fill>
const float* cached(int64_t key, const std::string& signature, size_t count, std::vector<float>& uncached, Fill fill) {
  if (key >= 0) {
    for (auto& c : weight_cache[key]) {
      if (c.signature == signature) return c.data.data();
    }
    weight_cache[key].push_back(CachedWeights{signature, std::vector<float>(count)});
    std::vector<float>& data = weight_cache[key].back().data;
    fill(data.data());
    return data.data();
  }
  float* data = scratch(uncached, count);
  fill(data);
  return data;
}

void run_gemm(const GemmArgs& g, double flops) {
  const KernelTable& kt = active_kernels();
  const int64_t tasks = kt.gemm_tasks(g);
  parallel_for(tasks, threads_for(flops), [&](int64_t begin, int64_t end) { kt.gemm_run(g, begin, end); });
}

bool winograd_on = [] {
  const char* env = std::getenv("TFJS_DIFFUSERS_WINOGRAD");
  return env == nullptr || (std::strcmp(env, "0") != 0 && std::strcmp(env, "off") != 0);
}();

// U[xi][c][k] (xi = row * 6 + column of the 6x6 tile) from a tfjs HWIO filter [3, 3, c, k]: U = G g G^T, computed
// in double and rounded once to float32 (double arithmetic without contraction: the same on every CPU).
void winograd_filter_transform(const float* hwio, int64_t c, int64_t k, float* u) {
  constexpr int A = WinogradGeometry::kAlpha;
  // G (6 x 3) for the points 0, 1, -1, 1/2, -2 and inf.
  static const double g[A][3] = {{1, 0, 0},
                                 {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                 {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                 {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                 {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                 {0, 0, 1}};
  for (int64_t ci = 0; ci < c; ++ci) {
    for (int64_t ki = 0; ki < k; ++ki) {
      double f[3][3], gf[A][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) f[i][j] = hwio[((i * 3 + j) * c + ci) * k + ki];
      for (int r = 0; r < A; ++r)
        for (int j = 0; j < 3; ++j) gf[r][j] = g[r][0] * f[0][j] + g[r][1] * f[1][j] + g[r][2] * f[2][j];
      for (int r = 0; r < A; ++r)
        for (int q = 0; q < A; ++q) {
          const double value = gf[r][0] * g[q][0] + gf[r][1] * g[q][1] + gf[r][2] * g[q][2];
          u[((r * A + q) * c + ci) * k + ki] = static_cast<float>(value);
        }
    }
  }
}

void winograd_conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out,
                     int64_t weights_key) {
  const KernelTable& kt = active_kernels();
  constexpr int A = WinogradGeometry::kAlpha;
  constexpr int64_t A2 = A * A;
  const WinogradGeometry s{p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.pad_top, p.pad_left};
  const int64_t C = p.in_c, K = p.out_c, T = p.n * s.tiles();
  winograd_shapes.insert(std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + ":" + std::to_string(C) + "->" +
                         std::to_string(K));
  const int64_t panel_floats = packed_size(C, K, kt.nr);
  const std::string signature = std::string("winograd/") + kt.name + "/" + std::to_string(C) + "x" + std::to_string(K);
  const float* u_packed = cached(weights_key, signature, static_cast<size_t>(A2 * panel_floats), packed_b_buffer,
                                 [&](float* dst) {
                                   std::vector<float> u(static_cast<size_t>(A2 * C * K));
                                   winograd_filter_transform(filter, C, K, u.data());
                                   for (int64_t xi = 0; xi < A2; ++xi) {
                                     pack_b(u.data() + xi * C * K, C, K, K, 1, kt.nr, dst + xi * panel_floats);
                                   }
                                 });
  // The tiles go through transform, products and inverse transform in chunks whose transformed tiles and products
  // (36 * (C + K) floats a tile) stay in cache (~4 MiB), whatever the batch. Only speed depends on the chunking:
  // every value is computed the same way in any chunk.
  const int64_t per_tile_bytes = A2 * (C + K) * static_cast<int64_t>(sizeof(float));
  const int64_t chunk = std::max<int64_t>(16, std::min<int64_t>(T, (int64_t(4) << 20) / per_tile_bytes));
  float* v = scratch(winograd_v_buffer, static_cast<size_t>(A2 * chunk * C));
  float* mm = scratch(winograd_m_buffer, static_cast<size_t>(A2 * chunk * K));
  const float** rows = scratch(row_pointers_buffer, static_cast<size_t>(A2 * chunk));
  for (int64_t first = 0; first < T; first += chunk) {
    const int64_t n_tiles = std::min(chunk, T - first);
    // Tile t of the chunk is tile first + t of the batch: the transforms index the chunk's buffers by t - first.
    const double transform_work = 2e3 * static_cast<double>(n_tiles) * static_cast<double>(C + K);
    parallel_for(n_tiles, threads_for(transform_work), [&](int64_t t0, int64_t t1) {
      kt.winograd_input(s, first, n_tiles, x, v, first + t0, first + t1);
    });
    for (int64_t i = 0; i < A2 * n_tiles; ++i) rows[i] = v + i * C;
    GemmArgs g{};
    g.batch = A2;
    g.m = n_tiles;
    g.n = K;
    g.segments = 1;
    g.seg_len = C;
    g.a_rows = rows;
    g.b_packed = u_packed;
    g.b_stride = panel_floats;
    g.c = mm;
    g.c_stride = n_tiles * K;
    g.ldc = K;
    g.bias = nullptr;
    g.activation = Activation::kLinear;
    g.reverse_k = mutate_gemm_k_order();
    run_gemm(g, 2.0 * A2 * n_tiles * C * K);
    parallel_for(n_tiles, threads_for(transform_work), [&](int64_t t0, int64_t t1) {
      kt.winograd_output(s, first, n_tiles, mm, p.has_bias ? bias : nullptr, out, first + t0, first + t1);
    });
  }
}

void direct_conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out,
                   int64_t weights_key) {
  const KernelTable& kt = active_kernels();
  const int64_t taps = p.filter_h * p.filter_w, C = p.in_c, K = taps * C, N = p.out_c;
  const int64_t M = p.n * p.out_h * p.out_w;
  direct_shapes.insert(std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + ":" + std::to_string(C) + "->" +
                       std::to_string(N) + "/" + std::to_string(p.filter_h) + "x" + std::to_string(p.filter_w) + "s" +
                       std::to_string(p.stride_h));
  const std::string signature = std::string("direct/") + kt.name + "/" + std::to_string(K) + "x" + std::to_string(N);
  const float* b_packed = cached(weights_key, signature, static_cast<size_t>(packed_size(K, N, kt.nr)), packed_b_buffer,
                                 [&](float* dst) { pack_b(filter, K, N, N, 1, kt.nr, dst); });
  // Implicit im2col: row (pixel) i, segment (tap) s is the input pixel's C channels the tap reads, or zeros.
  const float** rows = scratch(row_pointers_buffer, static_cast<size_t>(M * taps));
  const float* zero = zeros(static_cast<size_t>(C));
  int64_t i = 0;
  for (int64_t b = 0; b < p.n; ++b) {
    const float* xb = x + b * p.in_h * p.in_w * C;
    for (int64_t oy = 0; oy < p.out_h; ++oy) {
      for (int64_t ox = 0; ox < p.out_w; ++ox, ++i) {
        for (int64_t ky = 0; ky < p.filter_h; ++ky) {
          const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
          for (int64_t kx = 0; kx < p.filter_w; ++kx) {
            const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
            const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
            rows[i * taps + ky * p.filter_w + kx] = inside ? xb + (iy * p.in_w + ix) * C : zero;
          }
        }
      }
    }
  }
  GemmArgs g{};
  g.batch = 1;
  g.m = M;
  g.n = N;
  g.segments = taps;
  g.seg_len = C;
  g.a_rows = rows;
  g.b_packed = b_packed;
  g.b_stride = 0;
  g.c = out;
  g.c_stride = 0;
  g.ldc = N;
  g.bias = p.has_bias ? bias : nullptr;
  g.activation = p.activation;
  g.alpha = p.alpha;
  g.reverse_k = mutate_gemm_k_order();
  run_gemm(g, 2.0 * M * K * N);
}

}  // namespace

// Whether a convolution runs as Winograd F(4x4, 3x3) (else directly). A fixed rule of the per-sample shape, never of
// the batch, the ISA or timings: 3x3, stride 1, padding 1, no fused activation, channels multiples of 16 and >= 64,
// output at least 16x16 (at 8x8 and 4x4 one sample has only 4 or 1 tiles and the 36 transformed filters, 4x the
// filter's bytes, are read for a handful of rows). Channel counts below 64 (the tiny test model, conv_in, conv_out)
// stay direct. The same rule as the oneDNN-based kernels before (docs/performance.md).
bool use_winograd(const ConvParams& p) {
  if (!winograd_on) return false;
  if (p.filter_h != 3 || p.filter_w != 3 || p.stride_h != 1 || p.stride_w != 1 || p.dilation_h != 1 || p.dilation_w != 1) return false;
  if (p.pad_top != 1 || p.pad_bottom != 1 || p.pad_left != 1 || p.pad_right != 1 || p.activation != Activation::kLinear) return false;
  if (p.in_c % 16 != 0 || p.out_c % 16 != 0 || p.in_c < 64 || p.out_c < 64) return false;
  if (p.out_h < 16 || p.out_w < 16) return false;
  return true;
}

void conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out, int64_t weights_key) {
  if (use_winograd(p)) {
    winograd_conv2d(p, x, filter, bias, out, weights_key);
  } else {
    direct_conv2d(p, x, filter, bias, out, weights_key);
  }
}

void matmul(const MatMulParams& p, const float* a, const float* b, const float* bias, float* out, int64_t b_key) {
  const KernelTable& kt = active_kernels();
  const int64_t batch = std::max(p.batch_a, p.batch_b);
  const int64_t M = p.m, K = p.k, N = p.n;
  // A's rows must be contiguous in k: a transposed A is copied transposed first.
  const float* a_rows_base = a;
  if (p.transpose_a) {
    float* t = scratch(transposed_a_buffer, static_cast<size_t>(p.batch_a * M * K));
    for (int64_t bi = 0; bi < p.batch_a; ++bi)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t i = 0; i < M; ++i) t[(bi * M + i) * K + kk] = a[(bi * K + kk) * M + i];
    a_rows_base = t;
  }
  const float** rows = scratch(row_pointers_buffer, static_cast<size_t>(batch * M));
  for (int64_t bi = 0; bi < batch; ++bi) {
    const float* ab = a_rows_base + (p.batch_a == 1 ? 0 : bi * M * K);
    for (int64_t i = 0; i < M; ++i) rows[bi * M + i] = ab + i * K;
  }
  const int64_t panel_floats = packed_size(K, N, kt.nr);
  auto pack_all = [&](float* packed) {
    for (int64_t bi = 0; bi < p.batch_b; ++bi) {
      const float* bb = b + bi * K * N;
      if (p.transpose_b) {
        pack_b(bb, K, N, 1, K, kt.nr, packed + bi * panel_floats);
      } else {
        pack_b(bb, K, N, N, 1, kt.nr, packed + bi * panel_floats);
      }
    }
  };
  const std::string signature = std::string("matmul/") + kt.name + "/" + std::to_string(K) + "x" + std::to_string(N) +
                                (p.transpose_b ? "t" : "");
  const float* packed = cached(p.batch_b == 1 ? b_key : -1, signature, static_cast<size_t>(p.batch_b * panel_floats),
                               packed_b_buffer, pack_all);
  GemmArgs g{};
  g.batch = batch;
  g.m = M;
  g.n = N;
  g.segments = 1;
  g.seg_len = K;
  g.a_rows = rows;
  g.b_packed = packed;
  g.b_stride = p.batch_b == 1 ? 0 : panel_floats;
  g.c = out;
  g.c_stride = M * N;
  g.ldc = N;
  g.bias = p.has_bias ? bias : nullptr;
  g.activation = p.activation;
  g.alpha = p.alpha;
  g.reverse_k = mutate_gemm_k_order();
  run_gemm(g, 2.0 * batch * M * K * N);
}

void group_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t n, int64_t hw, int64_t c,
                int64_t groups, float epsilon, bool silu) {
  const KernelTable& kt = active_kernels();
  const int64_t per_group = c / groups;
  constexpr int64_t kChannelsPerTask = 64;
  const int64_t chunks = (c + kChannelsPerTask - 1) / kChannelsPerTask;
  const int threads = threads_for(kGroupNormWorkPerElement * static_cast<double>(n * hw * c));
  // Pass 1: per-channel sums of x and x^2 over the pixels, in pixel order (one task: up to 64 channels of a sample).
  double* sums = scratch(group_sums_buffer, static_cast<size_t>(2 * n * c));
  parallel_for(n * chunks, threads, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / chunks, c0 = (t % chunks) * kChannelsPerTask, c1 = std::min(c, c0 + kChannelsPerTask);
      double* sum = sums + 2 * b * c;
      kt.channel_sums(x + b * hw * c, hw, c, c0, c1, sum + c0, sum + c + c0);
    }
  });
  // The group statistics in double, over the group's channels in order. E[x^2] - E[x]^2 loses nothing that
  // matters in double: its rounding error is ~1e-16 * mean^2 / variance relative.
  float* scale = scratch(group_scale_buffer, static_cast<size_t>(2 * n * c));
  float* shift = scale + n * c;
  const double count = static_cast<double>(hw * per_group);
  for (int64_t b = 0; b < n; b++) {
    const double* sum = sums + 2 * b * c;
    const double* sq = sum + c;
    for (int64_t g = 0; g < groups; ++g) {
      double gs = 0, gq = 0;
      for (int64_t j = g * per_group; j < (g + 1) * per_group; ++j) {
        gs = gs + sum[j];
        gq = gq + sq[j];
      }
      const double mean = gs / count;
      const double variance = std::max(0.0, gq / count - mean * mean);
      const double rstd = 1.0 / std::sqrt(variance + static_cast<double>(epsilon));
      for (int64_t j = g * per_group; j < (g + 1) * per_group; ++j) {
        const double sj = static_cast<double>(gamma[j]) * rstd;
        scale[b * c + j] = static_cast<float>(sj);
        shift[b * c + j] = static_cast<float>(static_cast<double>(beta[j]) - mean * sj);
      }
    }
  }
  // Pass 2: y = x * scale + shift (+ SiLU), element-wise, split by pixels.
  parallel_for(n * hw, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / hw, end = std::min(r1, (b + 1) * hw);
      kt.scale_shift_rows(x + r * c, y + r * c, scale + b * c, shift + b * c, end - r, c, silu);
      r = end;
    }
  });
}

void set_winograd(bool enabled) { winograd_on = enabled; }

bool winograd_enabled() { return winograd_on; }

void evict_weights(int64_t weights_key) { weight_cache.erase(weights_key); }

void clear_caches() {
  weight_cache.clear();
  winograd_shapes.clear();
  direct_shapes.clear();
}

CacheStats cache_stats() {
  CacheStats s{winograd_shapes.size(), direct_shapes.size(), 0, 0};
  for (auto& kv : weight_cache) {
    for (auto& c : kv.second) {
      s.cached_weights += 1;
      s.cached_weight_bytes += c.data.size() * sizeof(float);
    }
  }
  return s;
}

}  // namespace tfjs_diffusers
