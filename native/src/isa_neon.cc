// The NEON kernels (arm64): 128-bit vectors, a 6 x 16 GEMM micro-tile (24 q-register accumulators). NEON and FMA
// are part of every AArch64 CPU: no target flags needed.
#include <cstdint>

#include "kernel_table.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace tfjs_diffusers {
namespace isa_neon {
namespace {

struct V {
  using T = float32x4_t;
  static constexpr int W = 4;
  static T zero() { return vdupq_n_f32(0.0f); }
  static T load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, T v) { vst1q_f32(p, v); }
  static T bcast(float a) { return vdupq_n_f32(a); }
  static T fma(T a, T b, T c) { return vfmaq_f32(c, a, b); }  // c + a*b, rounded once
};
constexpr int MR = 6, NV = 4, KC = 256;
#define ISA_NAME "neon"
#include "elementwise.h"
#include "kernels_impl.h"
#undef ISA_NAME

}  // namespace
}  // namespace isa_neon
const KernelTable* neon_table() { return &isa_neon::kTable; }
}  // namespace tfjs_diffusers

#else
namespace tfjs_diffusers {
const KernelTable* neon_table() { return nullptr; }
}  // namespace tfjs_diffusers
#endif
