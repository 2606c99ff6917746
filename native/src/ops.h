// The operations the addon exposes (convolution, matrix product, GroupNorm) on caller-owned float32 buffers (the
// tfjs wasm heap), run by the kernels of the ISA chosen at load (isa.h) on the thread pool (thread_pool.h).
// Every output value is one fixed sequence of float32 operations that depends only on the layer's shape
// (kernel_table.h): not on the ISA, the batch size, the thread count, or what ran before.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_table.h"

namespace tfjs_diffusers {

// The kernels' name and version: the identity of their bits (the ISA is not part of it). Bump the version whenever
// any output value's sequence of operations changes.
constexpr const char* kKernelsName = "tfjsd-kernels";
constexpr int kKernelsVersion = 1;

// A 2-D convolution, NHWC input and output, HWIO filter (tfjs' layouts), optional bias [outChannels].
struct ConvParams {
  int64_t n, in_h, in_w, in_c;        // input [n, in_h, in_w, in_c]
  int64_t filter_h, filter_w, out_c;  // filter [filter_h, filter_w, in_c, out_c]
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;     // tfjs convention: 1 = no dilation
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t out_h, out_w;               // output [n, out_h, out_w, out_c]
  bool has_bias;
  Activation activation;
  float alpha;                        // leakyrelu slope
};

// out[b] = act(op(a[b]) x op(b[b]) + bias), row-major; a batch of 1 broadcasts against the other operand's batch.
struct MatMulParams {
  int64_t batch_a, batch_b;           // equal, or one of them 1
  int64_t m, k, n;
  bool transpose_a, transpose_b;      // a stored [batch_a, k, m] / b stored [batch_b, n, k]
  bool has_bias;                      // bias [n]
  Activation activation;
  float alpha;
};

// Runs the convolution: as Winograd F(4x4, 3x3) where use_winograd(p) says so, else directly (implicit im2col).
// `weights_key` >= 0 names a weight tensor whose bytes never change while the key is live: its packed (or
// Winograd-transformed) copy is cached under that key until evict_weights(key). -1: no caching.
void conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out, int64_t weights_key);

// `b_key` >= 0 (with batch_b == 1) names B's tensor as `weights_key` does for conv2d: its packed copy is cached.
void matmul(const MatMulParams& p, const float* a, const float* b, const float* bias, float* out, int64_t b_key);

// x, y: [n, hw, c] (y may alias x); gamma, beta: [c]; groups divides c. Statistics in float64 (per channel over the
// pixels in order, then over the group's channels in order), the biased variance as torch.nn.GroupNorm.
void group_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t n, int64_t hw, int64_t c,
                int64_t groups, float epsilon, bool silu);

// Whether a convolution runs as Winograd: a fixed rule of the layer's per-sample shape (see ops.cc).
bool use_winograd(const ConvParams& p);
void set_winograd(bool enabled);
bool winograd_enabled();

void evict_weights(int64_t weights_key);
void clear_caches();

struct CacheStats {
  size_t winograd_shapes, direct_shapes, cached_weights, cached_weight_bytes;  // shapes: since clear_caches()
};
CacheStats cache_stats();

}  // namespace tfjs_diffusers
