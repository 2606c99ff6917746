// Winograd F(4×4, 3×3) transforms (see winograd.h). The tile transforms work on 16 channels at a time as GCC
// vectors (one AVX-512 register, two AVX2 ones), compiled for AVX-512, AVX2 and the baseline. Contraction into fused
// multiply-adds is off in this file, so every clone computes the same bits.
#pragma GCC optimize("fp-contract=off")

#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace tfjs_diffusers {
namespace {

constexpr int kTile = WinogradShape::kTile;

typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x16u __attribute__((vector_size(64), aligned(4)));  // the same, at any 4-byte aligned address

inline __attribute__((always_inline)) f32x16 load16(const float* p) { return *reinterpret_cast<const f32x16u*>(p); }
inline __attribute__((always_inline)) void store16(float* p, f32x16 v) { *reinterpret_cast<f32x16u*>(p) = v; }

// Bᵀ d for one column (or row) of a 6×6 tile, interpolation points 0, 1, -1, 1/2, -2 and ∞ (see winograd.h).
inline __attribute__((always_inline)) void input_1d(const f32x16* d, f32x16* r) {
  r[0] = ((d[0] + d[4]) + (d[3] - d[1]) * 1.5f) - d[2] * 2.0f;
  r[1] = (d[4] - d[1]) + (d[2] * 0.5f + d[3] * 2.5f);
  r[2] = (d[4] + d[1]) + (d[3] * 0.5f - d[2] * 2.5f);
  r[3] = (d[4] - d[2]) + (d[3] - d[1]) * 2.0f;
  r[4] = (d[4] - d[2]) + (d[1] - d[3]) * 0.5f;
  r[5] = ((d[1] + d[5]) + (d[4] - d[2]) * 1.5f) - d[3] * 2.0f;
}

// Aᵀ m for one column (or row) of a 6×6 tile of products.
inline __attribute__((always_inline)) void output_1d(const f32x16* m, f32x16* o) {
  const f32x16 s12 = m[1] + m[2], d12 = m[1] - m[2];
  o[0] = ((s12 + m[0]) + m[3]) + m[4];
  o[1] = (d12 + m[3] * 0.5f) - m[4] * 2.0f;
  o[2] = (s12 + m[3] * 0.25f) + m[4] * 4.0f;
  o[3] = ((d12 + m[3] * 0.125f) - m[4] * 8.0f) + m[5];
}

inline __attribute__((always_inline)) void input_tiles(const WinogradShape& s, const float* x, float* v, int64_t t0, int64_t t1) {
  constexpr int M = kTile, A = kTile + 2;
  const int64_t tiles = s.tiles(), tw = s.tiles_w(), c = s.c;
  const f32x16 zero = {};
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = (t / tw) * M - s.pad_top, x0 = (t % tw) * M - s.pad_left;
    for (int64_t c0 = 0; c0 < c; c0 += 16) {
      f32x16 d[A][A];
      for (int i = 0; i < A; ++i) {
        const int64_t y = y0 + i;
        for (int j = 0; j < A; ++j) {
          const int64_t xx = x0 + j;
          d[i][j] = (y >= 0 && y < s.in_h && xx >= 0 && xx < s.in_w) ? load16(x + (y * s.in_w + xx) * c + c0) : zero;
        }
      }
      f32x16 cols[A][A];  // cols[j] = Bᵀ (column j of d)
      for (int j = 0; j < A; ++j) {
        f32x16 col[A];
        for (int i = 0; i < A; ++i) col[i] = d[i][j];
        input_1d(col, cols[j]);
      }
      for (int i = 0; i < A; ++i) {
        f32x16 row[A], r[A];
        for (int j = 0; j < A; ++j) row[j] = cols[j][i];
        input_1d(row, r);
        for (int j = 0; j < A; ++j) store16(v + ((i * A + j) * tiles + t) * c + c0, r[j]);
      }
    }
  }
}

inline __attribute__((always_inline)) void output_tiles(const WinogradShape& s, const float* mm, const float* bias, float* out, int64_t t0, int64_t t1) {
  constexpr int M = kTile, A = kTile + 2;
  const int64_t tiles = s.tiles(), tw = s.tiles_w(), k = s.k;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = (t / tw) * M, x0 = (t % tw) * M;
    for (int64_t k0 = 0; k0 < k; k0 += 16) {
      f32x16 cols[A][M];  // cols[j] = Aᵀ (column j of the product tile)
      for (int j = 0; j < A; ++j) {
        f32x16 col[A];
        for (int i = 0; i < A; ++i) col[i] = load16(mm + ((i * A + j) * tiles + t) * k + k0);
        output_1d(col, cols[j]);
      }
      const f32x16 b = bias != nullptr ? load16(bias + k0) : f32x16{};
      for (int r = 0; r < M; ++r) {
        const int64_t y = y0 + r;
        if (y >= s.out_h) break;
        f32x16 row[A], o[M];
        for (int j = 0; j < A; ++j) row[j] = cols[j][r];
        output_1d(row, o);
        for (int q = 0; q < M && x0 + q < s.out_w; ++q) store16(out + (y * s.out_w + x0 + q) * k + k0, o[q] + b);
      }
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void input_range(const WinogradShape& s, const float* x, float* v, int64_t t0, int64_t t1) {
  input_tiles(s, x, v, t0, t1);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void output_range(const WinogradShape& s, const float* mm, const float* bias, float* out, int64_t t0, int64_t t1) {
  output_tiles(s, mm, bias, out, t0, t1);
}

// Splits [0, tiles) into `threads` contiguous ranges (each tile is computed the same way whichever thread runs it).
template <typename F>
void for_tile_ranges(int64_t tiles, int threads, F f) {
  const int n = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, tiles)));
  if (n == 1) {
    f(0, tiles);
    return;
  }
#pragma omp parallel for num_threads(n) schedule(static)
  for (int i = 0; i < n; ++i) f(tiles * i / n, tiles * (i + 1) / n);
}

}  // namespace

void winograd_filter_transform(const WinogradShape& s, const float* hwio, float* u) {
  constexpr int A = kTile + 2;
  // G (6 × 3) for the points 0, 1, -1, 1/2, -2 and ∞.
  static const double g[A][3] = {{1, 0, 0},
                                 {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                 {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                 {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                 {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                 {0, 0, 1}};
  const int64_t c = s.c, k = s.k;
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

void winograd_input_transform(const WinogradShape& s, const float* x, float* v, int threads) {
  for_tile_ranges(s.tiles(), threads, [&](int64_t t0, int64_t t1) { input_range(s, x, v, t0, t1); });
}

void winograd_output_transform(const WinogradShape& s, const float* mm, const float* bias, float* out, int threads) {
  for_tile_ranges(s.tiles(), threads, [&](int64_t t0, int64_t t1) { output_range(s, mm, bias, out, t0, t1); });
}

}  // namespace tfjs_diffusers
