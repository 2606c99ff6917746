// Winograd minimal filtering F(4×4, 3×3) for 3×3, stride-1 convolutions on NHWC tensors (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): the transforms of filters, input tiles and output tiles.
// The products in between are α² = 36 independent matrix products [tiles × C] × [C × K], which the caller runs
// (dnnl_ops.cc, one batched oneDNN matmul per sample). 4× fewer multiplies than the direct convolution.
//
// Interpolation points 0, 1, -1, 1/2, -2 and ∞ rather than Lavin's 0, ±1, ±2: the same cost, and about 2.5× less
// float32 rounding error (Barabasz et al., "Error Analysis and Improving the Accuracy of Winograd Convolution for
// Deep Neural Networks", 2020; measured here: 5e-6 against 1.3e-5 of the output's scale for 256 input channels).
//
// Pure functions of their inputs: every output element comes from a fixed sequence of float32 operations (no fused
// multiply-add contraction, no sums split over threads), so the bits depend neither on the thread count nor on which
// ISA clone runs.
#pragma once

#include <cstdint>

namespace tfjs_diffusers {

// One convolution's Winograd geometry for one sample: output tiles 4 × 4, input tiles α × α with α = 6.
struct WinogradShape {
  static constexpr int kTile = 4;
  int64_t in_h, in_w, c;          // input [in_h, in_w, c] of one sample
  int64_t out_h, out_w, k;        // output [out_h, out_w, k]
  int64_t pad_top, pad_left;
  int64_t tiles_h() const { return (out_h + kTile - 1) / kTile; }
  int64_t tiles_w() const { return (out_w + kTile - 1) / kTile; }
  int64_t tiles() const { return tiles_h() * tiles_w(); }
  static constexpr int alpha() { return kTile + 2; }
};

// U[ξ][c][k] (ξ = row·6 + column of the 6×6 tile) from a tfjs HWIO filter [3, 3, c, k]: U = G g Gᵀ, computed in
// double and rounded once to float32.
void winograd_filter_transform(const WinogradShape& s, const float* hwio, float* u);

// V[ξ][t][c] = (Bᵀ d_t B)[ξ] for every input tile d_t (zero outside the input), t = tile_row · tiles_w + tile_col.
// c must be a multiple of 16.
void winograd_input_transform(const WinogradShape& s, const float* x, float* v, int threads);

// out[y][x][k] = (Aᵀ M_t A)[y mod m][x mod m] + bias[k] for the tile t holding (y, x), from M[ξ][t][k]; bias may be
// null. k must be a multiple of 16.
void winograd_output_transform(const WinogradShape& s, const float* mm, const float* bias, float* out, int threads);

}  // namespace tfjs_diffusers
