// oneDNN convolution and matmul for the tfjs wasm heap. Sources and destinations are used in place (plain NHWC /
// row-major memory at the caller's pointers); only filters are reordered, into the blocked layout the convolution
// implementation asks for, and that copy is cached per weight tensor.
//
// oneDNN 2.x builds primitive descriptors from operation descriptors (`convolution_forward::desc`); 3.x takes the
// engine and arguments directly, and post-op eltwise lost its scale argument. DNNL_VERSION_MAJOR picks the form.
#include "dnnl_ops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include <omp.h>

#include "oneapi/dnnl/dnnl.hpp"
#include "winograd.h"

#ifndef DNNL_VERSION_MAJOR
#error "oneDNN headers without DNNL_VERSION_MAJOR (need oneDNN 2.x or 3.x)"
#endif
#if DNNL_VERSION_MAJOR < 2
#error "oneDNN 1.x is not supported (need 2.x or 3.x)"
#endif

namespace tfjs_diffusers {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

// One scratchpad shared by every primitive (they run one at a time on the JS thread), grown on demand.
class Scratchpad {
 public:
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      size_t rounded = (bytes + 4095) & ~size_t(4095);
      data_ = std::aligned_alloc(64, rounded);
      if (data_ == nullptr) throw std::bad_alloc();
      size_ = rounded;
    }
    return data_;
  }
  ~Scratchpad() { std::free(data_); }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

Scratchpad& scratchpad() {
  static Scratchpad s;
  return s;
}

// The Winograd path's transformed input tiles and tile products.
Scratchpad& winograd_tiles() {
  static Scratchpad s;
  return s;
}
Scratchpad& winograd_products() {
  static Scratchpad s;
  return s;
}

// A bounded map from a shape signature to a primitive: oldest entries go first once `capacity` is reached.
template <typename Value>
class PrimitiveCache {
 public:
  explicit PrimitiveCache(size_t capacity) : capacity_(capacity) {}
  Value* find(const std::string& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  Value& insert(const std::string& key, Value value) {
    if (map_.size() >= capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    return map_.emplace(key, std::move(value)).first->second;
  }
  size_t size() const { return map_.size(); }
  void clear() {
    map_.clear();
    order_.clear();
  }

 private:
  size_t capacity_;
  std::unordered_map<std::string, Value> map_;
  std::list<std::string> order_;
};

struct ConvEntry {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  memory::desc user_weights_md;
  bool needs_reorder;
};

struct MatMulEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

// Enough for every distinct layer shape of a UNet at a few batch sizes.
PrimitiveCache<ConvEntry>& conv_cache() {
  static PrimitiveCache<ConvEntry> cache(512);
  return cache;
}

PrimitiveCache<MatMulEntry>& matmul_cache() {
  static PrimitiveCache<MatMulEntry> cache(512);
  return cache;
}

struct WinogradEntry {
  WinogradShape shape;
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

PrimitiveCache<WinogradEntry>& winograd_cache() {
  static PrimitiveCache<WinogradEntry> cache(512);
  return cache;
}

// Reordered filters per weight tensor key; a tensor can have several layouts (one per convolution shape).
struct CachedWeights {
  memory::desc md;
  memory mem;
};
std::unordered_map<int64_t, std::vector<CachedWeights>>& weight_cache() {
  static std::unordered_map<int64_t, std::vector<CachedWeights>> cache;
  return cache;
}

// Below this many floating-point operations (~0.2 ms on one core) a primitive runs on the calling thread alone:
// waking the other OpenMP threads (futex, passive wait policy) costs more than it saves, and when other processes
// hold the cores a parallel region waits for a descheduled thread (measured: 14x slower on a small UNet).
constexpr double kSerialFlops = 32e6;

int configured_threads_value = 0;  // 0: OpenMP's default

int team_size(double flops) { return flops < kSerialFlops ? 1 : configured_threads(); }

// Sets the calling thread's OpenMP team size for one primitive's creation and execution. oneDNN sizes its work
// split from it when the primitive is created and opens its parallel regions with it when it runs.
class TeamScope {
 public:
  explicit TeamScope(int threads) : saved_(omp_get_max_threads()) {
    if (threads != saved_) omp_set_num_threads(threads);
  }
  ~TeamScope() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }

 private:
  int saved_;
};

dnnl::post_ops activation_post_ops(Activation act, float alpha) {
  dnnl::post_ops ops;
  dnnl::algorithm alg;
  float a = 0.f, b = 0.f;
  switch (act) {
    case Activation::kLinear:
      return ops;
    case Activation::kRelu:
      alg = dnnl::algorithm::eltwise_relu;
      break;
    case Activation::kLeakyRelu:
      alg = dnnl::algorithm::eltwise_relu;
      a = alpha;
      break;
    case Activation::kRelu6:
      alg = dnnl::algorithm::eltwise_clip;
      a = 0.f;
      b = 6.f;
      break;
    case Activation::kSigmoid:
      alg = dnnl::algorithm::eltwise_logistic;
      break;
    case Activation::kElu:
      alg = dnnl::algorithm::eltwise_elu;
      a = 1.f;
      break;
    default:
      throw std::invalid_argument("unknown activation code " + std::to_string(static_cast<int>(act)));
  }
#if DNNL_VERSION_MAJOR >= 3
  ops.append_eltwise(alg, a, b);
#else
  ops.append_eltwise(1.f, alg, a, b);
#endif
  return ops;
}

dnnl::primitive_attr make_attr(Activation act, float alpha) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops = activation_post_ops(act, alpha);
  if (ops.len() > 0) attr.set_post_ops(ops);
  return attr;
}

std::string conv_key(const ConvParams& p, int threads) {
  std::ostringstream s;
  s << threads << '|' << p.n << ',' << p.in_h << ',' << p.in_w << ',' << p.in_c << '|' << p.filter_h << ',' << p.filter_w << ',' << p.out_c
    << '|' << p.stride_h << ',' << p.stride_w << '|' << p.dilation_h << ',' << p.dilation_w << '|' << p.pad_top << ','
    << p.pad_bottom << ',' << p.pad_left << ',' << p.pad_right << '|' << p.out_h << ',' << p.out_w << '|' << p.has_bias
    << '|' << static_cast<int>(p.activation) << ',' << p.alpha;
  return s.str();
}

ConvEntry make_conv(const ConvParams& p) {
  memory::desc src_md({p.n, p.in_c, p.in_h, p.in_w}, dt::f32, tag::nhwc);
  memory::desc dst_md({p.n, p.out_c, p.out_h, p.out_w}, dt::f32, tag::nhwc);
  memory::desc weights_any({p.out_c, p.in_c, p.filter_h, p.filter_w}, dt::f32, tag::any);
  memory::desc user_weights_md({p.out_c, p.in_c, p.filter_h, p.filter_w}, dt::f32, tag::hwio);
  memory::desc bias_md = p.has_bias ? memory::desc({p.out_c}, dt::f32, tag::a) : memory::desc();
  memory::dims strides = {p.stride_h, p.stride_w};
  memory::dims dilates = {p.dilation_h - 1, p.dilation_w - 1};  // oneDNN counts the gaps
  memory::dims pad_l = {p.pad_top, p.pad_left};
  memory::dims pad_r = {p.pad_bottom, p.pad_right};
  dnnl::primitive_attr attr = make_attr(p.activation, p.alpha);
#if DNNL_VERSION_MAJOR >= 3
  dnnl::convolution_forward::primitive_desc pd(cpu_engine(), dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::convolution_direct, src_md, weights_any, bias_md, dst_md,
                                               strides, dilates, pad_l, pad_r, attr);
#else
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                       weights_any, bias_md, dst_md, strides, dilates, pad_l, pad_r);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
#endif
  bool needs_reorder = pd.weights_desc() != user_weights_md;
  return ConvEntry{pd, dnnl::convolution_forward(pd), user_weights_md, needs_reorder};
}

// The weights in layout `want` cached under `key` (key >= 0), else fresh memory that `fill(memory)` writes, cached
// under `key` when key >= 0. -1: never cached.
template <typename Fill>
memory cached_weights(int64_t key, const memory::desc& want, Fill fill) {
  if (key >= 0) {
    for (auto& c : weight_cache()[key]) {
      if (c.md == want) return c.mem;
    }
  }
  memory made(want, cpu_engine());
  fill(made);
  if (key >= 0) weight_cache()[key].push_back(CachedWeights{want, made});
  return made;
}

// The filter in the layout the primitive wants: the caller's bytes when they already are, else a reordered copy
// (cached under `key` when key >= 0).
memory weights_for(const ConvEntry& e, const float* filter, int64_t key) {
  memory user(e.user_weights_md, cpu_engine(), const_cast<float*>(filter));
  if (!e.needs_reorder) return user;
  return cached_weights(key, e.pd.weights_desc(), [&](memory& reordered) {
    dnnl::reorder(user, reordered).execute(cpu_stream(), user, reordered);
  });
}

memory scratch_memory(const memory::desc& md) {
  return memory(md, cpu_engine(), scratchpad().get(md.get_size() == 0 ? 1 : md.get_size()));
}

std::string matmul_key(const MatMulParams& p, int threads) {
  std::ostringstream s;
  s << threads << '|' << p.batch_a << ',' << p.batch_b << '|' << p.m << ',' << p.k << ',' << p.n << '|' << p.transpose_a << ','
    << p.transpose_b << '|' << p.has_bias << '|' << static_cast<int>(p.activation) << ',' << p.alpha;
  return s.str();
}

MatMulEntry make_matmul(const MatMulParams& p) {
  // 3-D with explicit strides: a transposed operand is the same bytes read with swapped strides.
  const int64_t batch = std::max(p.batch_a, p.batch_b);
  memory::desc a_md({p.batch_a, p.m, p.k}, dt::f32,
                    p.transpose_a ? memory::dims{p.m * p.k, 1, p.m} : memory::dims{p.m * p.k, p.k, 1});
  memory::desc b_md({p.batch_b, p.k, p.n}, dt::f32,
                    p.transpose_b ? memory::dims{p.k * p.n, 1, p.k} : memory::dims{p.k * p.n, p.n, 1});
  memory::desc out_md({batch, p.m, p.n}, dt::f32, memory::dims{p.m * p.n, p.n, 1});
  memory::desc bias_md = p.has_bias ? memory::desc({1, 1, p.n}, dt::f32, memory::dims{p.n, p.n, 1}) : memory::desc();
  dnnl::primitive_attr attr = make_attr(p.activation, p.alpha);
#if DNNL_VERSION_MAJOR >= 3
  dnnl::matmul::primitive_desc pd(cpu_engine(), a_md, b_md, bias_md, out_md, attr);
#else
  dnnl::matmul::desc desc(a_md, b_md, bias_md, out_md);
  dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
#endif
  return MatMulEntry{pd, dnnl::matmul(pd)};
}

bool winograd_enabled_value = [] {
  const char* env = std::getenv("TFJS_DIFFUSERS_WINOGRAD");
  return env == nullptr || (std::strcmp(env, "0") != 0 && std::strcmp(env, "off") != 0);
}();

// Whether a convolution runs as Winograd F(4×4, 3×3) (else oneDNN's direct convolution). A fixed rule of the
// per-sample shape, never of the batch or of timings at run time; measured on AMD EPYC Zen 4 with oneDNN 2.6's AVX-512
// and AVX2 kernels (docs/performance.md): F(4×4, 3×3) beats F(2×2, 3×3) on every 32×32 and 16×16 layer of the UNet
// (its 4× fewer multiplies outweigh 36 instead of 16 products per tile), and gains nothing over the direct
// convolution at 8×8 and 4×4 (batch 1 was slower), where one sample has only 4 or 1 tiles and the 36 transformed
// filters (4× the filter's bytes) are read for a handful of rows. Channel counts below 64 (the tiny test model,
// conv_in, conv_out) stay direct.
bool use_winograd(const ConvParams& p) {
  if (!winograd_enabled_value) return false;
  if (p.filter_h != 3 || p.filter_w != 3 || p.stride_h != 1 || p.stride_w != 1 || p.dilation_h != 1 || p.dilation_w != 1) return false;
  if (p.pad_top != 1 || p.pad_bottom != 1 || p.pad_left != 1 || p.pad_right != 1 || p.activation != Activation::kLinear) return false;
  if (p.in_c % 16 != 0 || p.out_c % 16 != 0 || p.in_c < 64 || p.out_c < 64) return false;
  if (p.out_h < 16 || p.out_w < 16) return false;
  return true;
}

WinogradEntry make_winograd(const ConvParams& p) {
  WinogradShape s{p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.pad_top, p.pad_left};
  const int64_t a2 = s.alpha() * s.alpha(), t = s.tiles();
  memory::desc v_md({a2, t, p.in_c}, dt::f32, tag::abc);
  memory::desc u_md({a2, p.in_c, p.out_c}, dt::f32, tag::any);
  memory::desc m_md({a2, t, p.out_c}, dt::f32, tag::abc);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
#if DNNL_VERSION_MAJOR >= 3
  dnnl::matmul::primitive_desc pd(cpu_engine(), v_md, u_md, m_md, attr);
#else
  dnnl::matmul::desc desc(v_md, u_md, m_md);
  dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
#endif
  return WinogradEntry{s, pd, dnnl::matmul(pd)};
}

// The transformed filter in the layout the matmul wants, cached under `key` when key >= 0.
memory winograd_weights(const WinogradEntry& e, const float* filter, int64_t key) {
  return cached_weights(key, e.pd.weights_desc(), [&](memory& out) {
    const int64_t a2 = e.shape.alpha() * e.shape.alpha();
    memory plain(memory::desc({a2, e.shape.c, e.shape.k}, dt::f32, tag::abc), cpu_engine());
    winograd_filter_transform(e.shape, filter, static_cast<float*>(plain.get_data_handle()));
    dnnl::reorder(plain, out).execute(cpu_stream(), plain, out);
    cpu_stream().wait();
  });
}

// A 3×3 stride-1 convolution as Winograd F(4×4, 3×3), one sample at a time: input tiles transformed, one batched
// matmul of α² products, output tiles transformed with the bias added. `one`, `key`, `threads`: as conv2d's.
void winograd_conv2d(const ConvParams& p, const ConvParams& one, const std::string& key, int threads, const float* x,
                     const float* filter, const float* bias, float* out, int64_t weights_key) {
  WinogradEntry* e = winograd_cache().find(key);
  if (e == nullptr) e = &winograd_cache().insert(key, make_winograd(one));
  memory weights = winograd_weights(*e, filter, weights_key);
  const WinogradShape& s = e->shape;
  const int64_t a2 = s.alpha() * s.alpha();
  float* v = static_cast<float*>(winograd_tiles().get(sizeof(float) * a2 * s.tiles() * s.c));
  float* mm = static_cast<float*>(winograd_products().get(sizeof(float) * a2 * s.tiles() * s.k));
  memory src(e->pd.src_desc(), cpu_engine(), v);
  memory dst(e->pd.dst_desc(), cpu_engine(), mm);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
      {DNNL_ARG_SCRATCHPAD, scratch_memory(e->pd.scratchpad_desc())}};
  const int64_t in_size = p.in_h * p.in_w * p.in_c;
  const int64_t out_size = p.out_h * p.out_w * p.out_c;
  for (int64_t b = 0; b < p.n; ++b) {
    winograd_input_transform(s, x + b * in_size, v, threads);
    e->prim.execute(cpu_stream(), args);
    cpu_stream().wait();
    winograd_output_transform(s, mm, p.has_bias ? bias : nullptr, out + b * out_size, threads);
  }
}

}  // namespace

// Batch invariance: every primitive is created for ONE sample (n = 1) and run once per sample, with a team size
// chosen from the per-sample work. A sample's output then comes from the same kernel, blocking and thread split
// whatever the batch, so its bits never depend on the batch it runs in (oneDNN picks its implementation and work
// split from the whole shape: with n in the shape, jit:avx2 gave other bits at batch 4 than alone).
void conv2d(const ConvParams& p, const float* x, const float* filter, const float* bias, float* out, int64_t weights_key) {
  ConvParams one = p;
  one.n = 1;
  const double flops = 2.0 * one.out_h * one.out_w * one.out_c * one.filter_h * one.filter_w * one.in_c;
  const int threads = team_size(flops);
  TeamScope team(threads);
  const std::string key = conv_key(one, threads);
  if (use_winograd(p)) {
    winograd_conv2d(p, one, key, threads, x, filter, bias, out, weights_key);
    return;
  }
  ConvEntry* e = conv_cache().find(key);
  if (e == nullptr) e = &conv_cache().insert(key, make_conv(one));
  memory weights = weights_for(*e, filter, weights_key);
  memory scratch = scratch_memory(e->pd.scratchpad_desc());
  const int64_t in_size = p.in_h * p.in_w * p.in_c;
  const int64_t out_size = p.out_h * p.out_w * p.out_c;
  memory src(e->pd.src_desc(), cpu_engine(), const_cast<float*>(x));
  memory dst(e->pd.dst_desc(), cpu_engine(), out);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, scratch}};
  if (p.has_bias) args.emplace(DNNL_ARG_BIAS, memory(e->pd.bias_desc(), cpu_engine(), const_cast<float*>(bias)));
  for (int64_t b = 0; b < p.n; ++b) {
    src.set_data_handle(const_cast<float*>(x + b * in_size));
    dst.set_data_handle(out + b * out_size);
    e->prim.execute(cpu_stream(), args);
  }
  cpu_stream().wait();
}

// Batched products run one batch entry at a time through a primitive made for batch 1 (see conv2d).
void matmul(const MatMulParams& p, const float* a, const float* b, const float* bias, float* out) {
  MatMulParams one = p;
  one.batch_a = 1;
  one.batch_b = 1;
  const double flops = 2.0 * p.m * p.n * p.k;
  const int threads = team_size(flops);
  TeamScope team(threads);
  const std::string key = matmul_key(one, threads);
  MatMulEntry* e = matmul_cache().find(key);
  if (e == nullptr) e = &matmul_cache().insert(key, make_matmul(one));
  memory src(e->pd.src_desc(), cpu_engine(), const_cast<float*>(a));
  memory weights(e->pd.weights_desc(), cpu_engine(), const_cast<float*>(b));
  memory dst(e->pd.dst_desc(), cpu_engine(), out);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst},
      {DNNL_ARG_SCRATCHPAD, scratch_memory(e->pd.scratchpad_desc())}};
  if (p.has_bias) args.emplace(DNNL_ARG_BIAS, memory(e->pd.bias_desc(), cpu_engine(), const_cast<float*>(bias)));
  const int64_t batch = std::max(p.batch_a, p.batch_b);
  for (int64_t i = 0; i < batch; ++i) {
    src.set_data_handle(const_cast<float*>(a + (p.batch_a == 1 ? 0 : i * p.m * p.k)));
    weights.set_data_handle(const_cast<float*>(b + (p.batch_b == 1 ? 0 : i * p.k * p.n)));
    dst.set_data_handle(out + i * p.m * p.n);
    e->prim.execute(cpu_stream(), args);
  }
  cpu_stream().wait();
}

void set_threads(int threads) { configured_threads_value = threads; }

int configured_threads() { return configured_threads_value > 0 ? configured_threads_value : omp_get_max_threads(); }

void set_winograd(bool enabled) { winograd_enabled_value = enabled; }

bool winograd_enabled() { return winograd_enabled_value; }

void evict_weights(int64_t weights_key) { weight_cache().erase(weights_key); }

void clear_caches() {
  conv_cache().clear();
  winograd_cache().clear();
  matmul_cache().clear();
  weight_cache().clear();
}

CacheStats cache_stats() {
  CacheStats s{conv_cache().size(), matmul_cache().size(), winograd_cache().size(), 0, 0};
  for (auto& kv : weight_cache()) {
    for (auto& c : kv.second) {
      s.cached_weights += 1;
      s.cached_weight_bytes += c.md.get_size();
    }
  }
  return s;
}

std::string dnnl_version_string() {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream s;
  s << v->major << '.' << v->minor << '.' << v->patch;
  return s.str();
}

std::string dnnl_cpu_runtime() {
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  return "omp";
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_TBB
  return "tbb";
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_SEQ
  return "sequential";
#elif defined(DNNL_RUNTIME_THREADPOOL) && DNNL_CPU_RUNTIME == DNNL_RUNTIME_THREADPOOL
  return "threadpool";
#else
  return "unknown";
#endif
}

}  // namespace tfjs_diffusers
