// The AVX-512F kernels (x86-64): 512-bit vectors, a 12 x 32 GEMM micro-tile (24 zmm accumulators). Compiled for
// AVX-512 by the target pragma below, whatever the compiler flags; run only where the CPU has AVX-512F (isa.cc).
//
// The same kernels once more as "avx512-emulated": the same 16-lane vectors, tile and K-block, each 512-bit operation
// done as two 256-bit AVX2 ones on the low and high 8 lanes. Every lane gets the same float32 operations in the same
// order (an FMA is lane-wise), so this gives the AVX-512 path's bits on any CPU with AVX2: a machine without AVX-512
// can check the AVX-512 tiling against the golden hashes. Slower than avx2 (48 ymm accumulators spill); a test
// path, never chosen by auto.
#include <cstdint>

#include "isa_target.h"
#include "kernel_table.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace tfjs_diffusers {
namespace {
// The AVX-512 kernels' shape, shared by the real and the emulated ones.
constexpr int kAvx512Mr = 12, kAvx512Nv = 2, kAvx512Kc = 128;
}  // namespace
}  // namespace tfjs_diffusers

TFJSD_TARGET_BEGIN("avx512f,avx2,fma")

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
constexpr int MR = kAvx512Mr, NV = kAvx512Nv, KC = kAvx512Kc;
#define ISA_NAME "avx512"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_avx512
}  // namespace tfjs_diffusers

TFJSD_TARGET_END

TFJSD_TARGET_BEGIN("avx2,fma")

namespace tfjs_diffusers {
namespace isa_avx512_emulated {
namespace {

struct V {
  struct T {
    __m256 lo, hi;  // lanes 0-7 and 8-15
  };
  static constexpr int W = 16;
  static T zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static T load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static void store(float* p, T v) {
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
  }
  static T bcast(float a) { return {_mm256_set1_ps(a), _mm256_set1_ps(a)}; }
  static T fma(T a, T b, T c) { return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)}; }
};
constexpr int MR = kAvx512Mr, NV = kAvx512Nv, KC = kAvx512Kc;
#define ISA_NAME "avx512-emulated"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_avx512_emulated
}  // namespace tfjs_diffusers

TFJSD_TARGET_END

namespace tfjs_diffusers {
const KernelTable* avx512_table() { return &isa_avx512::kTable; }
const KernelTable* avx512_emulated_table() { return &isa_avx512_emulated::kTable; }
}  // namespace tfjs_diffusers

#else
namespace tfjs_diffusers {
const KernelTable* avx512_table() { return nullptr; }
const KernelTable* avx512_emulated_table() { return nullptr; }
}  // namespace tfjs_diffusers
#endif
