// The AVX2 + FMA kernels (x86-64): 256-bit vectors, a 6 x 16 GEMM micro-tile (12 ymm accumulators). Compiled for
// AVX2 by the target pragma below, whatever the compiler flags; run only where the CPU has AVX2 and FMA (isa.cc).
#include <cstdint>

#include "isa_target.h"
#include "kernel_table.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

TFJSD_TARGET_BEGIN("avx2,fma")

namespace tfjs_diffusers {
namespace isa_avx2 {
namespace {

struct V {
  using T = __m256;
  static constexpr int W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T bcast(float a) { return _mm256_set1_ps(a); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
};
constexpr int MR = 6, NV = 2, KC = 256;
#define ISA_NAME "avx2"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_avx2
}  // namespace tfjs_diffusers

TFJSD_TARGET_END

namespace tfjs_diffusers {
const KernelTable* avx2_table() { return &isa_avx2::kTable; }
}  // namespace tfjs_diffusers

#else
namespace tfjs_diffusers {
const KernelTable* avx2_table() { return nullptr; }
}  // namespace tfjs_diffusers
#endif
