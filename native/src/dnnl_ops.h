// oneDNN convolution and matmul on caller-owned float32 buffers (the tfjs wasm heap), with cached primitives and
// cached reordered weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tfjs_diffusers {

// Fused activations, numbered as the JS side (lib/backends/native/activation.ts) sends them.
enum class Activation : int32_t { kLinear = 0, kRelu = 1, kRelu6 = 2, kSigmoid = 3, kElu = 4, kLeakyRelu = 5 };

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

// Runs the convolution. `weights_key` >= 0 names a weight tensor whose bytes never change while the key is live:
// its reordered copy is cached under that key until evict_weights(key). -1: no caching.
void conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out, int64_t weights_key);

void matmul(const MatMulParams& p, const float* a, const float* b, const float* bias, float* out);

// The team size of large primitives and of the GroupNorm kernel (small primitives run on the calling thread).
void set_threads(int threads);
int configured_threads();

// Whether eligible 3×3 convolutions run as Winograd F(4×4, 3×3) (default; TFJS_DIFFUSERS_WINOGRAD=off at load
// turns it off) or all convolutions as oneDNN's direct convolution. The two give different bits.
void set_winograd(bool enabled);
bool winograd_enabled();

void evict_weights(int64_t weights_key);
void clear_caches();

struct CacheStats {
  size_t conv_primitives, matmul_primitives, winograd_primitives, cached_weights, cached_weight_bytes;
};
CacheStats cache_stats();

// "2.6.3 (cpu runtime: OpenMP, isa: ...)" and friends.
std::string dnnl_version_string();
std::string dnnl_cpu_runtime();

}  // namespace tfjs_diffusers
