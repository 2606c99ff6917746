// The AVX-512F kernels (x86-64): 512-bit vectors, a 12 x 32 GEMM micro-tile (24 zmm accumulators). Compiled for
// AVX-512 by the target pragma below, whatever the compiler flags; run only where the CPU has AVX-512F (isa.cc).
#include <cstdint>

#include "kernel_table.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif

namespace tfjs_diffusers {
namespace isa_avx512 {
namespace {

struct V {
  using T = __m512;
  static constexpr int W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T bcast(float a) { return _mm512_set1_ps(a); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
};
constexpr int MR = 12, NV = 2, KC = 128;
#define ISA_NAME "avx512"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_avx512
}  // namespace tfjs_diffusers

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace tfjs_diffusers {
const KernelTable* avx512_table() { return &isa_avx512::kTable; }
}  // namespace tfjs_diffusers

#else
namespace tfjs_diffusers {
const KernelTable* avx512_table() { return nullptr; }
}  // namespace tfjs_diffusers
#endif
