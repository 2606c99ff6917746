// The kernels one instruction set provides (isa_avx512.cc, isa_avx2.cc, isa_neon.cc, isa_scalar.cc), as a table of
// plain function pointers: the drivers (ops.cc) pick one table at load (isa.cc) and never run another.
//
// Determinism contract, the same for every table: each output value is one fixed sequence of float32 operations
// that depends only on the layer's shape.
//   - GEMM: C[i][j] = epilogue(acc) with acc = 0, then acc = fma(A[i][k], B[k][j], acc) for k = 0, 1, ..., K-1 in
//     that order (K-1 down to 0 under TFJS_DIFFUSERS_NATIVE_MUTATE=gemm-k-order, a test hook); vectors run across j
//     (and i), never across k; K-blocking stores and reloads acc exactly. The epilogue adds the bias, then applies
//     the activation (ops of epilogue.h, no contraction).
//   - Winograd transforms and GroupNorm: element-wise float32 / float64 operations written out in one order,
//     compiled with -ffp-contract=off, so every ISA computes the same values lane by lane.
// Nothing here depends on how many rows a call has, on the tile sizes below, or on which thread runs a task.
#pragma once

#include <cstdint>

namespace tfjs_diffusers {

// Fused activations, numbered as the JS side (lib/node/backends/native/kernels.ts) sends them.
enum class Activation : int32_t { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3, kElu = 4, kLeakyRelu = 5 };

// A batch of products C_b = epilogue(A_b · B_b), b < batch.
// A's rows are given as pointers: row i of product b, K-segment s is `seg_len` contiguous floats at
// a_rows[(b * m + i) * segments + s] (K = segments * seg_len). That serves plain matrices (one segment: the row),
// implicit im2col for convolutions (one segment per filter tap: a pixel's channels, or a zero row outside the
// image) and Winograd's 36 products alike.
// B is packed (pack_b): panels of `nr` columns (the table's nr), panel p holding B[k][p*nr + j] at
// b_packed[b * b_stride + (p * K + k) * nr + j], zero past column n.
struct GemmArgs {
  int64_t batch, m, n;
  int64_t segments, seg_len;
  const float* const* a_rows;
  const float* b_packed;
  int64_t b_stride;   // floats between the packed B of consecutive products (0: one B for all)
  float* c;
  int64_t c_stride;   // floats between consecutive products' C
  int64_t ldc;        // floats between rows of C
  const float* bias;  // [n] or null
  Activation activation;
  float alpha;        // leakyrelu slope
  bool reverse_k;     // the test hook: sum k = K-1 down to 0
};

struct WinogradGeometry {
  static constexpr int kTile = 4, kAlpha = 6;
  int64_t in_h, in_w, c;    // one sample's input [in_h, in_w, c]
  int64_t out_h, out_w, k;  // output [out_h, out_w, k]
  int64_t pad_top, pad_left;
  int64_t tiles_h() const { return (out_h + kTile - 1) / kTile; }
  int64_t tiles_w() const { return (out_w + kTile - 1) / kTile; }
  int64_t tiles() const { return tiles_h() * tiles_w(); }
};

struct KernelTable {
  const char* name;     // "avx512", "avx2", "neon", "scalar", "avx512-emulated"
  int mr, nr;           // the GEMM micro-tile: rows, columns (the packing width)
  int kc;               // K-block length (B panel block kept in L1)
  // The GEMM's work is split in tasks (one product, one panel of columns, a block of rows), run in any order.
  int64_t (*gemm_tasks)(const GemmArgs& g);
  void (*gemm_run)(const GemmArgs& g, int64_t task_begin, int64_t task_end);
  // Winograd F(4x4, 3x3), points 0, 1, -1, 1/2, -2, inf. Tiles are numbered over the whole batch:
  // t = sample * tiles + tile_row * tiles_w + tile_col; the caller runs them in chunks of `total` tiles starting at
  // tile `first` (buffers indexed by t - first).
  // V[xi][t - first][c] = (B^T d_t B)[xi] for tiles [t0, t1), computed in float64, rounded once;
  // x: [batch, in_h, in_w, c]; c a multiple of 16.
  void (*winograd_input)(const WinogradGeometry& s, int64_t first, int64_t total, const float* x, float* v, int64_t t0,
                         int64_t t1);
  // out = (A^T M_t A) + bias for tiles [t0, t1), from M[xi][t - first][k], in float64, rounded once; k a multiple
  // of 16; bias may be null.
  void (*winograd_output)(const WinogradGeometry& s, int64_t first, int64_t total, const float* mm, const float* bias,
                          float* out, int64_t t0, int64_t t1);
  // GroupNorm statistics: for channels [c0, c1) of one sample x [hw, c], sum[j - c0] and sq[j - c0] (float64) over
  // the pixels in order: sum += x, sq += x*x.
  void (*channel_sums)(const float* x, int64_t hw, int64_t c, int64_t c0, int64_t c1, double* sum, double* sq);
  // y = x * scale + shift per channel over `rows` pixels, then optionally y * sigmoid(y) as y / (1 + exp(-y)).
  void (*scale_shift_rows)(const float* x, float* y, const float* scale, const float* shift, int64_t rows, int64_t c,
                           bool silu);
};

// The tables compiled into this binary (null where the architecture has no such ISA).
const KernelTable* avx512_table();
const KernelTable* avx512_emulated_table();  // the AVX-512 kernels on AVX2 hardware (isa_avx512.cc), a test path
const KernelTable* avx2_table();
const KernelTable* neon_table();
const KernelTable* scalar_table();

}  // namespace tfjs_diffusers
