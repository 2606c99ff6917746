// N-API entry points of the optional native kernels (plain C N-API, node_api.h: no C++ wrapper dependency).
//
// Tensors are passed as (heap, byteOffset): `heap` is a Uint8Array over the whole wasm memory (an ArrayBuffer, or a
// SharedArrayBuffer for the threaded wasm binary) and the kernels read and write it in place. Every range is checked
// against the view's length before any pointer is formed.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "isa.h"
#include "ops.h"
#include "thread_pool.h"

#ifndef TFJSD_SOURCE_HASH
#define TFJSD_SOURCE_HASH "unknown"
#endif

namespace tfjs_diffusers {
namespace {

struct JsError : std::exception {
  std::string message;
  explicit JsError(std::string m) : message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw JsError(std::string("N-API call failed: ") + what);
}

struct Args {
  napi_value values[16];
  size_t count = 16;
  Args(napi_env env, napi_callback_info info, size_t expected, const char* fn) {
    check(env, napi_get_cb_info(env, info, &count, values, nullptr, nullptr), "napi_get_cb_info");
    if (count < expected) {
      throw JsError(std::string(fn) + ": expected " + std::to_string(expected) + " arguments, got " + std::to_string(count));
    }
  }
};

double number_arg(napi_env env, napi_value v, const char* fn, const char* name) {
  double out;
  if (napi_get_value_double(env, v, &out) != napi_ok || !std::isfinite(out)) {
    throw JsError(std::string(fn) + ": argument " + name + " must be a finite number");
  }
  return out;
}

int64_t int_arg(napi_env env, napi_value v, const char* fn, const char* name) {
  const double d = number_arg(env, v, fn, name);
  if (d != std::floor(d)) throw JsError(std::string(fn) + ": argument " + name + " must be an integer");
  return static_cast<int64_t>(d);
}

bool bool_arg(napi_env env, napi_value v, const char* fn, const char* name) {
  bool out;
  if (napi_get_value_bool(env, v, &out) != napi_ok) throw JsError(std::string(fn) + ": argument " + name + " must be a boolean");
  return out;
}

// The wasm heap: a Uint8Array over the whole memory.
struct Heap {
  uint8_t* data;
  size_t length;
};

Heap heap_arg(napi_env env, napi_value v, const char* fn) {
  bool is_typed;
  check(env, napi_is_typedarray(env, v, &is_typed), "napi_is_typedarray");
  if (!is_typed) throw JsError(std::string(fn) + ": argument heap must be a Uint8Array over the wasm memory");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t byte_offset;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &byte_offset), "napi_get_typedarray_info");
  if (type != napi_uint8_array) throw JsError(std::string(fn) + ": argument heap must be a Uint8Array");
  if (data == nullptr && length > 0) throw JsError(std::string(fn) + ": the heap view has no backing store");
  return Heap{static_cast<uint8_t*>(data), length};
}

// A float32 range of `count` elements at `byte_offset` of the heap; checked for bounds and 4-byte alignment.
float* floats_at(const Heap& heap, int64_t byte_offset, int64_t count, const char* fn, const char* name) {
  if (byte_offset < 0 || count < 0 || byte_offset % 4 != 0 ||
      static_cast<uint64_t>(byte_offset) + 4 * static_cast<uint64_t>(count) > heap.length) {
    throw JsError(std::string(fn) + ": " + name + " [offset " + std::to_string(byte_offset) + ", " +
                  std::to_string(count) + " floats] is outside the heap of " + std::to_string(heap.length) + " bytes");
  }
  return reinterpret_cast<float*>(heap.data + byte_offset);
}

Activation activation_arg(napi_env env, napi_value v, const char* fn) {
  const int64_t code = int_arg(env, v, fn, "activation");
  if (code < 0 || code > static_cast<int64_t>(Activation::kLeakyRelu)) {
    throw JsError(std::string(fn) + ": unknown activation code " + std::to_string(code));
  }
  return static_cast<Activation>(code);
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value make_number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value make_string(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

void set_prop(napi_env env, napi_value obj, const char* key, napi_value value) {
  napi_set_named_property(env, obj, key, value);
}

// Runs `body`, turning C++ exceptions into a thrown JS Error.
template <typename F>
napi_value guarded(napi_env env, const char* fn, F body) {
  try {
    return body();
  } catch (const JsError& e) {
    napi_throw_error(env, "ERR_TFJS_DIFFUSERS_NATIVE", e.what());
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_TFJS_DIFFUSERS_NATIVE", (std::string(fn) + ": " + e.what()).c_str());
  } catch (...) {
    napi_throw_error(env, "ERR_TFJS_DIFFUSERS_NATIVE", (std::string(fn) + ": unknown native error").c_str());
  }
  return nullptr;
}

// conv2d(heap, xOffset, filterOffset, biasOffset (-1: none), outOffset, weightsKey (-1: no cache),
//        dims: Int32Array/Float64Array-like array of 17 numbers, activation, alpha)
// dims = [n, inH, inW, inC, filterH, filterW, outC, strideH, strideW, dilationH, dilationW,
//         padTop, padBottom, padLeft, padRight, outH, outW]
napi_value Conv2D(napi_env env, napi_callback_info info) {
  const char* fn = "conv2d";
  return guarded(env, fn, [&]() {
    Args a(env, info, 9, fn);
    Heap heap = heap_arg(env, a.values[0], fn);
    int64_t d[17];
    for (uint32_t i = 0; i < 17; i++) {
      napi_value item;
      check(env, napi_get_element(env, a.values[6], i, &item), "napi_get_element");
      d[i] = int_arg(env, item, fn, "dims[i]");
      if (d[i] < 0) throw JsError(std::string(fn) + ": dims[" + std::to_string(i) + "] is negative");
    }
    ConvParams p{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15], d[16],
                 false, Activation::kLinear, 0.f};
    const int64_t bias_offset = int_arg(env, a.values[3], fn, "biasOffset");
    p.has_bias = bias_offset >= 0;
    p.activation = activation_arg(env, a.values[7], fn);
    p.alpha = static_cast<float>(number_arg(env, a.values[8], fn, "alpha"));
    const float* x = floats_at(heap, int_arg(env, a.values[1], fn, "xOffset"), p.n * p.in_h * p.in_w * p.in_c, fn, "x");
    const float* filter =
        floats_at(heap, int_arg(env, a.values[2], fn, "filterOffset"), p.filter_h * p.filter_w * p.in_c * p.out_c, fn, "filter");
    const float* bias = p.has_bias ? floats_at(heap, bias_offset, p.out_c, fn, "bias") : nullptr;
    float* out = floats_at(heap, int_arg(env, a.values[4], fn, "outOffset"), p.n * p.out_h * p.out_w * p.out_c, fn, "out");
    conv2d(p, x, filter, bias, out, int_arg(env, a.values[5], fn, "weightsKey"));
    return undefined(env);
  });
}

// matmul(heap, aOffset, bOffset, biasOffset (-1: none), outOffset,
//        batchA, batchB, m, k, n, transposeA, transposeB, activation, alpha[, bKey (-1 / absent: no cache)])
napi_value MatMul(napi_env env, napi_callback_info info) {
  const char* fn = "matmul";
  return guarded(env, fn, [&]() {
    Args a(env, info, 14, fn);
    Heap heap = heap_arg(env, a.values[0], fn);
    MatMulParams p{};
    p.batch_a = int_arg(env, a.values[5], fn, "batchA");
    p.batch_b = int_arg(env, a.values[6], fn, "batchB");
    p.m = int_arg(env, a.values[7], fn, "m");
    p.k = int_arg(env, a.values[8], fn, "k");
    p.n = int_arg(env, a.values[9], fn, "n");
    if (p.batch_a < 1 || p.batch_b < 1 || p.m < 1 || p.k < 1 || p.n < 1) throw JsError("matmul: every dimension must be >= 1");
    if (p.batch_a != p.batch_b && p.batch_a != 1 && p.batch_b != 1) {
      throw JsError("matmul: batchA=" + std::to_string(p.batch_a) + " and batchB=" + std::to_string(p.batch_b) +
                    " neither match nor broadcast");
    }
    p.transpose_a = bool_arg(env, a.values[10], fn, "transposeA");
    p.transpose_b = bool_arg(env, a.values[11], fn, "transposeB");
    const int64_t bias_offset = int_arg(env, a.values[3], fn, "biasOffset");
    p.has_bias = bias_offset >= 0;
    p.activation = activation_arg(env, a.values[12], fn);
    p.alpha = static_cast<float>(number_arg(env, a.values[13], fn, "alpha"));
    const int64_t batch = std::max(p.batch_a, p.batch_b);
    const float* am = floats_at(heap, int_arg(env, a.values[1], fn, "aOffset"), p.batch_a * p.m * p.k, fn, "a");
    const float* bm = floats_at(heap, int_arg(env, a.values[2], fn, "bOffset"), p.batch_b * p.k * p.n, fn, "b");
    const float* bias = p.has_bias ? floats_at(heap, bias_offset, p.n, fn, "bias") : nullptr;
    float* out = floats_at(heap, int_arg(env, a.values[4], fn, "outOffset"), batch * p.m * p.n, fn, "out");
    const int64_t b_key = a.count > 14 ? int_arg(env, a.values[14], fn, "bKey") : -1;
    matmul(p, am, bm, bias, out, b_key);
    return undefined(env);
  });
}

// groupNorm(heap, xOffset, gammaOffset, betaOffset, outOffset, n, hw, c, groups, epsilon, silu)
napi_value GroupNorm(napi_env env, napi_callback_info info) {
  const char* fn = "groupNorm";
  return guarded(env, fn, [&]() {
    Args a(env, info, 11, fn);
    Heap heap = heap_arg(env, a.values[0], fn);
    const int64_t n = int_arg(env, a.values[5], fn, "n");
    const int64_t hw = int_arg(env, a.values[6], fn, "hw");
    const int64_t c = int_arg(env, a.values[7], fn, "c");
    const int64_t groups = int_arg(env, a.values[8], fn, "groups");
    if (n < 1 || hw < 1 || c < 1 || groups < 1 || c % groups != 0) {
      throw JsError("groupNorm: groups=" + std::to_string(groups) + " must divide c=" + std::to_string(c) +
                    " (and n, hw, c must be >= 1)");
    }
    const float epsilon = static_cast<float>(number_arg(env, a.values[9], fn, "epsilon"));
    const bool silu = bool_arg(env, a.values[10], fn, "silu");
    const float* x = floats_at(heap, int_arg(env, a.values[1], fn, "xOffset"), n * hw * c, fn, "x");
    const float* gamma = floats_at(heap, int_arg(env, a.values[2], fn, "gammaOffset"), c, fn, "gamma");
    const float* beta = floats_at(heap, int_arg(env, a.values[3], fn, "betaOffset"), c, fn, "beta");
    float* out = floats_at(heap, int_arg(env, a.values[4], fn, "outOffset"), n * hw * c, fn, "out");
    group_norm(x, gamma, beta, out, n, hw, c, groups, epsilon, silu);
    return undefined(env);
  });
}

// readFloat(heap, byteOffset): one float of the heap, for tests that check the addon sees the same bytes as JS.
napi_value ReadFloat(napi_env env, napi_callback_info info) {
  const char* fn = "readFloat";
  return guarded(env, fn, [&]() {
    Args a(env, info, 2, fn);
    Heap heap = heap_arg(env, a.values[0], fn);
    const float* p = floats_at(heap, int_arg(env, a.values[1], fn, "byteOffset"), 1, fn, "value");
    return make_number(env, *p);
  });
}

napi_value EvictWeights(napi_env env, napi_callback_info info) {
  const char* fn = "evictWeights";
  return guarded(env, fn, [&]() {
    Args a(env, info, 1, fn);
    evict_weights(int_arg(env, a.values[0], fn, "weightsKey"));
    return undefined(env);
  });
}

napi_value ClearCaches(napi_env env, napi_callback_info info) {
  return guarded(env, "clearCaches", [&]() {
    clear_caches();
    return undefined(env);
  });
}

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  const char* fn = "setNumThreads";
  return guarded(env, fn, [&]() {
    Args a(env, info, 1, fn);
    const int64_t t = int_arg(env, a.values[0], fn, "threads");
    if (t < 1 || t > 1024) throw JsError("setNumThreads: threads=" + std::to_string(t) + " must be in [1, 1024]");
    set_pool_threads(static_cast<int>(t));
    return undefined(env);
  });
}

// setWinograd(enabled): whether eligible 3x3 convolutions run as Winograd F(4x4, 3x3) (ops.h).
napi_value SetWinograd(napi_env env, napi_callback_info info) {
  const char* fn = "setWinograd";
  return guarded(env, fn, [&]() {
    Args a(env, info, 1, fn);
    set_winograd(bool_arg(env, a.values[0], fn, "enabled"));
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info info) {
  return guarded(env, "info", [&]() {
    napi_value obj;
    check(env, napi_create_object(env, &obj), "napi_create_object");
    set_prop(env, obj, "kernels", make_string(env, kKernelsName));
    set_prop(env, obj, "kernelsVersion", make_number(env, kKernelsVersion));
    set_prop(env, obj, "sourceHash", make_string(env, TFJSD_SOURCE_HASH));
    set_prop(env, obj, "isa", make_string(env, active_kernels().name));
    napi_value isas;
    const std::vector<std::string> available = available_isas();
    check(env, napi_create_array_with_length(env, available.size(), &isas), "napi_create_array_with_length");
    for (size_t i = 0; i < available.size(); ++i) {
      check(env, napi_set_element(env, isas, static_cast<uint32_t>(i), make_string(env, available[i])), "napi_set_element");
    }
    set_prop(env, obj, "isas", isas);
    set_prop(env, obj, "mutation", make_string(env, mutation_name()));
    set_prop(env, obj, "threads", make_number(env, pool_threads()));
    const CacheStats s = cache_stats();
    set_prop(env, obj, "winograd", make_bool(env, winograd_enabled()));
    set_prop(env, obj, "winogradShapes", make_number(env, static_cast<double>(s.winograd_shapes)));
    set_prop(env, obj, "directShapes", make_number(env, static_cast<double>(s.direct_shapes)));
    set_prop(env, obj, "cachedWeights", make_number(env, static_cast<double>(s.cached_weights)));
    set_prop(env, obj, "cachedWeightBytes", make_number(env, static_cast<double>(s.cached_weight_bytes)));
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  // The kernels' ISA (TFJS_DIFFUSERS_NATIVE_ISA) and the test-only mutation are read once, here: a wrong value
  // fails the load with the reason.
  const std::string isa_error = select_isa_from_env();
  if (!isa_error.empty()) {
    napi_throw_error(env, "ERR_TFJS_DIFFUSERS_NATIVE_ISA", isa_error.c_str());
    return nullptr;
  }
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupNorm", nullptr, GroupNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"readFloat", nullptr, ReadFloat, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"evictWeights", nullptr, EvictWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCaches", nullptr, ClearCaches, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setNumThreads", nullptr, SetNumThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWinograd", nullptr, SetWinograd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace
}  // namespace tfjs_diffusers

NAPI_MODULE(NODE_GYP_MODULE_NAME, tfjs_diffusers::Init)
