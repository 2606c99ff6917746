// The kernels of kernel_table.h as templates over one ISA's vector type. Each isa_*.cc defines `V` (a struct with
// the vector type T, its width W in floats, zero/load/store/bcast and fma(a, b, c) = a*b + c rounded once) plus
// MR / NV / KC, then includes this file inside a namespace of its own: every function here gets that TU's target
// and internal linkage, so no code compiled for one ISA can be picked by the linker for another. Nothing from the
// C++ library is used here (its inline functions would be shared between TUs).

constexpr int NR = NV * V::W;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- GEMM ---------------------------------------------------------------------------------------------------------

// acc[r][v] (+)= sum over k in [k0, k1) of A[r][k] * B[k][v*W ...], in increasing k (decreasing when Rev), one fma
// each. rows[r] points at row r's segment pointers. c: R rows of NR floats at stride ldc, read when `load`.
template <int R, bool Rev>
__attribute__((always_inline)) inline void micro_tile(const float* const* const* rows, int64_t seg_len, int64_t k0,
                                                      int64_t k1, const float* panel, float* c, int64_t ldc, bool load) {
  typename V::T acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = load ? V::load(c + r * ldc + v * V::W) : V::zero();
  if (!Rev) {
    int64_t k = k0;
    while (k < k1) {
      const int64_t s = k / seg_len;
      const int64_t base = s * seg_len;
      const int64_t end = min64(k1, base + seg_len) - base;
      const float* a[R];
      for (int r = 0; r < R; ++r) a[r] = rows[r][s];
      const float* b = panel + k * NR;
      for (int64_t kk = k - base; kk < end; ++kk, b += NR) {
        typename V::T bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * V::W);
        for (int r = 0; r < R; ++r) {
          const typename V::T av = V::bcast(a[r][kk]);
          for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
        }
      }
      k = base + end;
    }
  } else {
    int64_t k = k1;  // one past the next k to add, going down
    while (k > k0) {
      const int64_t s = (k - 1) / seg_len;
      const int64_t base = s * seg_len;
      const int64_t begin = (k0 > base ? k0 : base) - base;
      const float* a[R];
      for (int r = 0; r < R; ++r) a[r] = rows[r][s];
      for (int64_t kk = k - 1 - base; kk >= begin; --kk) {
        const float* b = panel + (base + kk) * NR;
        typename V::T bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * V::W);
        for (int r = 0; r < R; ++r) {
          const typename V::T av = V::bcast(a[r][kk]);
          for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(av, bv[v], acc[r][v]);
        }
      }
      k = base + begin;
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) V::store(c + r * ldc + v * V::W, acc[r][v]);
}

template <bool Rev>
inline void micro_rows(int rows_here, const float* const* const* rows, int64_t seg_len, int64_t k0, int64_t k1,
                       const float* panel, float* c, int64_t ldc, bool load) {
  switch (rows_here) {
#define TFJSD_ROWS(R)                                                       \
  case R:                                                                   \
    if (R <= MR) micro_tile<(R <= MR ? R : 1), Rev>(rows, seg_len, k0, k1, panel, c, ldc, load); \
    break;
    TFJSD_ROWS(1) TFJSD_ROWS(2) TFJSD_ROWS(3) TFJSD_ROWS(4) TFJSD_ROWS(5) TFJSD_ROWS(6) TFJSD_ROWS(7) TFJSD_ROWS(8)
    TFJSD_ROWS(9) TFJSD_ROWS(10) TFJSD_ROWS(11) TFJSD_ROWS(12) TFJSD_ROWS(13) TFJSD_ROWS(14)
#undef TFJSD_ROWS
    default:
      break;
  }
}

// Rows per task: a block of micro-tiles that share one K-block of a B panel (kept in L1). Tasks run a row block
// across every panel before the next row block (task = (product, row block, panel), panel fastest), so the row
// block's A (kRowsPerTask x K) stays in L2 while the panels stream past, and A is read from memory once.
constexpr int64_t kRowsPerTask = MR * 4;

inline int64_t row_blocks(const GemmArgs& g) { return (g.m + kRowsPerTask - 1) / kRowsPerTask; }
inline int64_t panels(const GemmArgs& g) { return (g.n + NR - 1) / NR; }

int64_t gemm_tasks(const GemmArgs& g) { return g.batch * panels(g) * row_blocks(g); }

template <bool Rev>
void gemm_run_impl(const GemmArgs& g, int64_t task_begin, int64_t task_end) {
  const int64_t rb_count = row_blocks(g), p_count = panels(g);
  const int64_t k_total = g.segments * g.seg_len;
  const int64_t kc = Rev ? k_total : KC;  // the test hook runs one block, reversed
  alignas(64) float tmp[MR * NR];
  for (int64_t task = task_begin; task < task_end; ++task) {
    const int64_t p = task % p_count;
    const int64_t rb = (task / p_count) % rb_count;
    const int64_t b = task / (rb_count * p_count);
    const float* panel = g.b_packed + b * g.b_stride + p * k_total * NR;
    const int64_t j0 = p * NR;
    const int cols = static_cast<int>(min64(NR, g.n - j0));
    float* c_base = g.c + b * g.c_stride + j0;
    const int64_t i_begin = rb * kRowsPerTask, i_end = min64(g.m, i_begin + kRowsPerTask);
    for (int64_t k0 = 0; k0 < k_total; k0 += kc) {
      const int64_t k1 = min64(k_total, k0 + kc);
      const bool last = k1 == k_total;
      for (int64_t i = i_begin; i < i_end; i += MR) {
        const int rows_here = static_cast<int>(min64(MR, i_end - i));
        const float* const* row_ptrs[MR];
        for (int r = 0; r < rows_here; ++r) row_ptrs[r] = g.a_rows + ((b * g.m) + i + r) * g.segments;
        float* c = c_base + i * g.ldc;
        if (cols == NR) {
          micro_rows<Rev>(rows_here, row_ptrs, g.seg_len, k0, k1, panel, c, g.ldc, k0 > 0);
        } else {
          if (k0 > 0)
            for (int r = 0; r < rows_here; ++r)
              for (int j = 0; j < cols; ++j) tmp[r * NR + j] = c[r * g.ldc + j];
          micro_rows<Rev>(rows_here, row_ptrs, g.seg_len, k0, k1, panel, tmp, NR, k0 > 0);
          for (int r = 0; r < rows_here; ++r)
            for (int j = 0; j < cols; ++j) c[r * g.ldc + j] = tmp[r * NR + j];
        }
        if (last && (g.bias != nullptr || g.activation != Activation::kLinear)) {
          for (int r = 0; r < rows_here; ++r) {
            float* row = c + r * g.ldc;
            for (int j = 0; j < cols; ++j) {
              const float v = g.bias != nullptr ? row[j] + g.bias[j0 + j] : row[j];
              row[j] = activate(v, g.activation, g.alpha);
            }
          }
        }
      }
    }
  }
}

void gemm_run(const GemmArgs& g, int64_t task_begin, int64_t task_end) {
  if (g.reverse_k) {
    gemm_run_impl<true>(g, task_begin, task_end);
  } else {
    gemm_run_impl<false>(g, task_begin, task_end);
  }
}

// ---- Winograd F(4x4, 3x3) transforms (GCC vectors: element-wise, no contraction) ------------------------------

// The transforms compute in float64 (each tile value converted exactly, the 1-D transforms of rows and columns in
// double, one rounding to float32 at the end): the transforms add next to no rounding error of their own (the
// float32 products in between carry it). 4 channels at a time (one AVX2 register: a 6-vector column and its
// transform fit in the 16 registers).
typedef double f64x8 __attribute__((vector_size(32)));
typedef float f32x8 __attribute__((vector_size(16)));
typedef float f32x8u __attribute__((vector_size(16), aligned(4)));

__attribute__((always_inline)) inline f64x8 load8d(const float* p) {
  return __builtin_convertvector(*reinterpret_cast<const f32x8u*>(p), f64x8);
}
__attribute__((always_inline)) inline void store8d(float* p, f64x8 v) {
  *reinterpret_cast<f32x8u*>(p) = __builtin_convertvector(v, f32x8);
}

// B^T d for one column (or row) of a 6x6 tile, interpolation points 0, 1, -1, 1/2, -2 and inf.
__attribute__((always_inline)) inline void input_1d(const f64x8* d, f64x8* r) {
  r[0] = ((d[0] + d[4]) + (d[3] - d[1]) * 1.5) - d[2] * 2.0;
  r[1] = (d[4] - d[1]) + (d[2] * 0.5 + d[3] * 2.5);
  r[2] = (d[4] + d[1]) + (d[3] * 0.5 - d[2] * 2.5);
  r[3] = (d[4] - d[2]) + (d[3] - d[1]) * 2.0;
  r[4] = (d[4] - d[2]) + (d[1] - d[3]) * 0.5;
  r[5] = ((d[1] + d[5]) + (d[4] - d[2]) * 1.5) - d[3] * 2.0;
}

// A^T m for one column (or row) of a 6x6 tile of products.
__attribute__((always_inline)) inline void output_1d(const f64x8* m, f64x8* o) {
  const f64x8 s12 = m[1] + m[2], d12 = m[1] - m[2];
  o[0] = ((s12 + m[0]) + m[3]) + m[4];
  o[1] = (d12 + m[3] * 0.5) - m[4] * 2.0;
  o[2] = (s12 + m[3] * 0.25) + m[4] * 4.0;
  o[3] = ((d12 + m[3] * 0.125) - m[4] * 8.0) + m[5];
}

void winograd_input(const WinogradGeometry& s, int64_t first, int64_t total, const float* x, float* v, int64_t t0,
                    int64_t t1) {
  constexpr int M = WinogradGeometry::kTile, A = WinogradGeometry::kAlpha;
  const int64_t tiles = s.tiles(), tw = s.tiles_w(), c = s.c;
  const f64x8 zero = {};
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t sample = t / tiles, local = t % tiles;
    const float* xs = x + sample * s.in_h * s.in_w * c;
    const int64_t y0 = (local / tw) * M - s.pad_top, x0 = (local % tw) * M - s.pad_left;
    for (int64_t c0 = 0; c0 < c; c0 += 4) {
      f64x8 cols[A][A];  // cols[j] = B^T (column j of the tile), one column loaded at a time
      for (int j = 0; j < A; ++j) {
        const int64_t xx = x0 + j;
        f64x8 col[A];
        for (int i = 0; i < A; ++i) {
          const int64_t y = y0 + i;
          col[i] = (y >= 0 && y < s.in_h && xx >= 0 && xx < s.in_w) ? load8d(xs + (y * s.in_w + xx) * c + c0) : zero;
        }
        input_1d(col, cols[j]);
      }
      for (int i = 0; i < A; ++i) {
        f64x8 row[A], r[A];
        for (int j = 0; j < A; ++j) row[j] = cols[j][i];
        input_1d(row, r);
        for (int j = 0; j < A; ++j) store8d(v + ((i * A + j) * total + (t - first)) * c + c0, r[j]);
      }
    }
  }
}

void winograd_output(const WinogradGeometry& s, int64_t first, int64_t total, const float* mm, const float* bias,
                     float* out, int64_t t0, int64_t t1) {
  constexpr int M = WinogradGeometry::kTile, A = WinogradGeometry::kAlpha;
  const int64_t tiles = s.tiles(), tw = s.tiles_w(), k = s.k;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t sample = t / tiles, local = t % tiles;
    float* os = out + sample * s.out_h * s.out_w * k;
    const int64_t y0 = (local / tw) * M, x0 = (local % tw) * M;
    for (int64_t k0 = 0; k0 < k; k0 += 4) {
      f64x8 cols[A][M];  // cols[j] = A^T (column j of the product tile)
      for (int j = 0; j < A; ++j) {
        f64x8 col[A];
        for (int i = 0; i < A; ++i) col[i] = load8d(mm + ((i * A + j) * total + (t - first)) * k + k0);
        output_1d(col, cols[j]);
      }
      const f64x8 b = bias != nullptr ? load8d(bias + k0) : f64x8{};
      for (int r = 0; r < M; ++r) {
        const int64_t y = y0 + r;
        if (y >= s.out_h) break;
        f64x8 row[A], o[M];
        for (int j = 0; j < A; ++j) row[j] = cols[j][r];
        output_1d(row, o);
        for (int q = 0; q < M && x0 + q < s.out_w; ++q) store8d(os + (y * s.out_w + x0 + q) * k + k0, o[q] + b);
      }
    }
  }
}

typedef float f32x16u __attribute__((vector_size(64), aligned(4)));  // f32x16 (elementwise.h) at any 4-byte aligned address
typedef double f64x16 __attribute__((vector_size(128)));

__attribute__((always_inline)) inline f32x16 load16(const float* p) { return *reinterpret_cast<const f32x16u*>(p); }
__attribute__((always_inline)) inline void store16(float* p, f32x16 v) { *reinterpret_cast<f32x16u*>(p) = v; }

// ---- GroupNorm ------------------------------------------------------------------------------------------------

void channel_sums(const float* x, int64_t hw, int64_t c, int64_t c0, int64_t c1, double* __restrict sum,
                  double* __restrict sq) {
  const int64_t count = c1 - c0;
  for (int64_t j = 0; j < count; ++j) {
    sum[j] = 0.0;
    sq[j] = 0.0;
  }
  for (int64_t p = 0; p < hw; ++p) {
    const float* __restrict row = x + p * c + c0;
    for (int64_t j = 0; j < count; ++j) {  // vectorised across channels: each channel's sums stay in pixel order
      const double d = row[j];
      sum[j] = sum[j] + d;
      sq[j] = sq[j] + d * d;  // exact: a float's square fits a double
    }
  }
}

void scale_shift_rows(const float* x, float* y, const float* scale, const float* shift, int64_t rows, int64_t c,
                      bool silu) {
  const int64_t c16 = c - c % 16;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t j = 0; j < c16; j += 16) {
      f32x16 v = load16(xr + j) * load16(scale + j) + load16(shift + j);
      if (silu) v = v / (1.0f + exp16(-v));
      store16(yr + j, v);
    }
    for (int64_t j = c16; j < c; ++j) {
      float v = xr[j] * scale[j] + shift[j];
      if (silu) v = v / (1.0f + exp_fixed(-v));
      yr[j] = v;
    }
  }
}

const KernelTable kTable = {ISA_NAME, MR, NR, KC, gemm_tasks, gemm_run, winograd_input, winograd_output, channel_sums,
                            scale_shift_rows};
